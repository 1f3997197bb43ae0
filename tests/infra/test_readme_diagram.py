"""The README's architecture diagram names what the synthesized templates deploy (it cannot drift unnoticed)."""

from __future__ import annotations

import re

from tests.infra.conftest import REPO


def _diagram() -> str:
    [block] = re.findall(r"```mermaid\n(.*?)```", (REPO / "README.md").read_text(), flags=re.S)
    return block


def test_the_diagram_shows_every_function_state_machine_schedule_bus_and_queue_of_the_hub(template_json):
    hub = template_json("MlgovHub")["Resources"].values()
    diagram = _diagram()
    handlers = [r["Properties"]["Handler"].split(".")[-2].replace("_", "-") for r in hub
                if r["Type"] == "AWS::Lambda::Function"]  # fmt: skip
    named = [r["Properties"].get(key) for r in hub for key in ("StateMachineName", "Name", "QueueName")
             if r["Type"] in ("AWS::StepFunctions::StateMachine", "AWS::Scheduler::Schedule",
                              "AWS::Events::EventBus", "AWS::SQS::Queue")]  # fmt: skip
    missing = [name for name in handlers + [n for n in named if isinstance(n, str)] if name not in diagram]
    assert len(handlers) == 6 and missing == []


def test_the_diagram_shows_the_org_stack_set_the_spoke_rules_and_roles(template_json, spoke_template):
    org = template_json("MlgovOrg")["Resources"].values()
    diagram = _diagram()
    names = [r["Properties"]["Name"] for r in org if r["Type"] == "AWS::Organizations::Policy"]
    names += [r["Properties"]["StackSetName"] for r in org if r["Type"] == "AWS::CloudFormation::StackSet"]
    roles = spoke_template.find_resources("AWS::IAM::Role")
    names += [r["Properties"]["RoleName"] for r in roles.values() if "RoleName" in r["Properties"]]
    rules = spoke_template.find_resources("AWS::Events::Rule")
    names += [logical_id.rstrip("0123456789ABCDEF") for logical_id in rules]
    assert len(roles) >= 2 and len(rules) >= 3
    flat = diagram.replace("<br/>", " ")
    missing = [name for name in names if name not in flat]
    assert missing == []
