"""The package's layering, read from the code (ast): pure domain, adapters over it, use cases over both, thin
entry points on top — and nothing of the Lambda package reaches into the checkout (`stacks`, `tests`)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

PACKAGE = Path(__file__).resolve().parents[2] / "lambdas" / "mlgov"
SUPPORT = {"settings", "price_files", "repo_files", "packaged_schema", "report_render", "report_html",
           "deployment_context", "service_catalog"}  # fmt: skip
STACKS = PACKAGE.parents[1] / "stacks"
# What the CDK app may take from the package: shared names and policy compilation (domain), the files and models
# shipped with it — never an adapter, a use case or an entry point.
STACKS_ALLOWED = {"domain", "repo_files", "deployment_context", "service_catalog"}
ALLOWED = {  # layer -> the mlgov layers its modules may import
    "domain": {"domain"},
    "aws": {"domain", "aws"},
    "services": {"domain", "aws", "services"},
    "handlers": {"handlers", "services", "domain", "aws"} | SUPPORT,
    "cli": {"cli", "services", "domain", "aws"} | SUPPORT,
    "(root)": {"domain", "aws"} | SUPPORT,
}


def layer_of(path: Path, package: Path = PACKAGE) -> str:
    parts = path.relative_to(package).parts
    return parts[0] if len(parts) > 1 else "(root)"


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports, at any depth (function-level imports count: they run too)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            if node.module == "mlgov":
                found.update(f"mlgov.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def violations(package: Path = PACKAGE) -> list[str]:
    problems = []
    for path in sorted(package.rglob("*.py")):
        layer = layer_of(path, package)
        if path.name == "__main__.py":
            continue
        for module in sorted(imported_modules(path)):
            top = module.split(".")[0]
            if top in ("stacks", "tests"):
                problems.append(
                    f"{path.relative_to(package)} imports {module}: the Lambda package never reaches the checkout"
                )
            elif top == "mlgov" and "." in module:
                target = module.split(".")[1]
                if target not in ALLOWED[layer]:
                    problems.append(f"{path.relative_to(package)} ({layer}) imports {module}")
    return problems


def test_every_module_respects_its_layer():
    assert violations() == []


def test_the_cdk_app_takes_only_domain_names_and_shipped_files_from_the_package():
    problems = [
        f"{path.relative_to(STACKS.parent)} imports {module}"
        for path in sorted([*STACKS.rglob("*.py"), STACKS.parent / "app.py"])
        for module in sorted(imported_modules(path))
        if module.startswith("mlgov.") and module.split(".")[1] not in STACKS_ALLOWED
    ]
    assert problems == []


def test_the_rules_catch_what_they_forbid(tmp_path):
    """The checker itself: a domain module importing an adapter, and a handler importing tests, are reported."""
    package = tmp_path / "mlgov"
    (package / "domain").mkdir(parents=True)
    (package / "handlers").mkdir()
    (package / "domain" / "bad.py").write_text("def f():\n    from mlgov.aws.sessions import AccountSessions\n")
    (package / "handlers" / "worse.py").write_text("from tests.e2e.demo import main\nfrom mlgov import cli\n")
    assert violations(package) == [
        "domain/bad.py (domain) imports mlgov.aws.sessions",
        "handlers/worse.py (handlers) imports mlgov.cli",
        "handlers/worse.py imports tests.e2e.demo: the Lambda package never reaches the checkout",
    ]


def test_every_layer_exists():
    """A layer renamed or emptied would make its rule vacuous."""
    layers = {layer_of(path) for path in PACKAGE.rglob("*.py")}
    assert set(ALLOWED) <= layers
