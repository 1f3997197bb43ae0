# mlgov developer entry points. `make test` and `make demo` bootstrap everything they need.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Python 3.12 matches the Lambda runtime; fall back to any python3 >= 3.11.
PYTHON ?= $(shell for p in python3.12 $(wildcard $(HOME)/.pyenv/versions/3.12*/bin/python3.12) python3; do \
	"$$p" -c 'import sys; assert sys.version_info >= (3, 11)' >/dev/null 2>&1 && { echo "$$p"; break; }; done)
VENV := .venv
PY := $(VENV)/bin/python
CDK := node_modules/.bin/cdk

# Node 20 works with jsii but prints deprecation banners on every synth.
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 1
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION := 1
export CDK_DISABLE_VERSION_CHECK := 1
export CDK_CLI_NOTICES := false

.PHONY: help venv layers node test lint synth policies demo bench docs clean

help:
	@echo "make demo      a simulated organization on a local moto server, run end to end (report in demo-out/)"
	@echo "make test      run the whole test suite (bootstraps .venv and the pinned CDK CLI)"
	@echo "make lint      ruff + cfn-lint on the synthesized templates"
	@echo "make synth     cdk synth into cdk.out/"
	@echo "make policies  rebuild policies/scp/*.json and tag_policy.json from policies/tag_schema.json"
	@echo "make bench     run every benchmark, write bench/RESULTS.md (several minutes)"
	@echo "make docs      regenerate the README's configuration reference from stacks/config.py"

venv: $(VENV)/.installed
$(VENV)/.installed: requirements.txt requirements-dev.txt pyproject.toml
	@test -n "$(PYTHON)" || { echo "Python >= 3.11 not found; set PYTHON=/path/to/python3.12"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip 2>&1 | grep -v "^WARNING: Location" || true
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt -e . 2>&1 \
		| grep -v "^WARNING: Location" ; test "$${PIPESTATUS[0]}" -eq 0
	touch $@

# Libraries the Lambda runtime lacks (boto3 comes from the runtime, Powertools from AWS's layer), installed as a
# plain layer asset: no Docker. The pin is the one in requirements.txt.
SLACK_PIN := $(shell grep -i '^slack-sdk==' requirements.txt)
layers: venv build/layers/slack/.installed
build/layers/slack/.installed: requirements.txt $(VENV)/.installed
	rm -rf build/layers/slack && mkdir -p build/layers/slack
	$(PY) -m pip install --quiet --disable-pip-version-check --no-compile --no-deps \
		--target build/layers/slack/python "$(SLACK_PIN)" 2>&1 | grep -v "^WARNING: Location" ; test "$${PIPESTATUS[0]}" -eq 0
	find build/layers/slack -name "*.dist-info" -prune -exec rm -rf {} +
	touch $@

node: node_modules/.installed
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# pytest-xdist: one worker per core; a test module stays on one worker (its module fixtures are built once).
# The whole suite runs at the pinned instant of tests/plugins/clock.py. Then, in one session: every date-sensitive
# test (marked `clock`: it takes the test clock) once at each of its SHIFTED_INSTANTS, and every unit and moto test
# at the first of them (a test that depends on the date through the code it calls fails there too).
PYTEST_WORKERS ?= auto
PYTEST := $(PY) -m pytest -n $(PYTEST_WORKERS) --dist loadfile
SHIFTED_INSTANTS = $(shell $(PY) -c 'from tests.plugins.clock import SHIFTED_INSTANTS; print(*SHIFTED_INSTANTS)')
test: venv layers node
	$(PYTEST)
	@test -n "$(SHIFTED_INSTANTS)" || { echo "no shifted instants: tests/plugins/clock.py did not import"; exit 1; }
	$(PYTEST) -m "clock or unit or aws" $(foreach instant,$(SHIFTED_INSTANTS),--instant '$(instant)')

lint: venv synth
	$(VENV)/bin/ruff check app.py stacks lambdas tests bench
	$(VENV)/bin/cfn-lint --non-zero-exit-code error cdk.out/*.template.json

synth: venv layers node
	rm -rf cdk.out  # cdk synth never removes the templates of stacks that no longer exist
	$(CDK) synth --quiet

policies: venv
	$(VENV)/bin/mlgov policies build

demo: synth
	@echo "== the stacks are synthesized from cdk.json: the templates the demo deploys onto a local moto server"
	$(PY) -m stacks.deploy_summary cdk.out
	$(PY) -m tests.e2e.demo --cloud-assembly cdk.out --out demo-out
	@echo "== and what a data scientist meets when a tag is missing (offline SCP simulation)"
	$(VENV)/bin/mlgov policies simulate --action sagemaker:CreateEndpoint --tag ml:model=churn --expect deny

bench: venv
	$(PY) bench/report.py

docs: venv
	$(PY) -m stacks.config_reference --write README.md

clean:
	rm -rf cdk.out .pytest_cache demo-out build
