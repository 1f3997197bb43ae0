"""Where mlgov's checked-in policy files live, and reading/writing them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from mlgov.domain.scp_compiler import Compilation
from mlgov.domain.tag_schema import SchemaError, TagSchema, parse_schema

PACKAGE_ROOT = Path(__file__).resolve().parent
REPO_ROOT = PACKAGE_ROOT.parent.parent
DEFAULT_POLICIES_DIR = REPO_ROOT / "policies"


@dataclass(frozen=True)
class PolicyFiles:
    """The generated files under policies/, rendered as text exactly as they are checked in."""

    root: Path

    @property
    def schema_path(self) -> Path:
        return self.root / "tag_schema.json"

    def rendered(self, compilation: Compilation) -> dict[Path, str]:
        files = {self.root / "scp" / f"{scp.name}.json": scp.text + "\n" for scp in compilation.scps}
        files[self.root / "tag_policy.json"] = json.dumps(compilation.tag_policy, indent=2) + "\n"
        files[self.root / "governed_actions.json"] = (
            json.dumps([row.as_json() for row in compilation.actions], indent=1) + "\n"
        )
        return files

    def stale(self, compilation: Compilation) -> list[str]:
        """Paths (relative to root) whose content differs from `compilation`, plus leftover SCP files."""
        wanted = self.rendered(compilation)
        problems = [
            str(path.relative_to(self.root))
            for path, text in wanted.items()
            if not path.exists() or path.read_text() != text
        ]
        scp_dir = self.root / "scp"
        if scp_dir.exists():
            problems += [str(p.relative_to(self.root)) for p in sorted(scp_dir.glob("*.json")) if p not in wanted]
        return problems

    def write(self, compilation: Compilation) -> list[Path]:
        wanted = self.rendered(compilation)
        scp_dir = self.root / "scp"
        scp_dir.mkdir(parents=True, exist_ok=True)
        for leftover in scp_dir.glob("*.json"):
            if leftover not in wanted:
                leftover.unlink()
        for path, text in wanted.items():
            path.write_text(text)
        return sorted(wanted)


def load_schema(path: Path) -> TagSchema:
    """Read and validate a tag schema file; every failure is a one-line SchemaError."""
    try:
        raw = json.loads(path.read_text())
    except FileNotFoundError:
        raise SchemaError(f"{path}: file not found") from None
    except json.JSONDecodeError as err:
        raise SchemaError(f"{path}: not valid JSON (line {err.lineno}, column {err.colno}: {err.msg})") from None
    return parse_schema(raw, meta_schema(), source=str(path))


def meta_schema() -> dict:
    return json.loads(resources.files("mlgov").joinpath("data/tag_schema.schema.json").read_text())
