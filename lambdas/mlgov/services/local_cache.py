"""The CLI's cache files (JSON under ~/.cache/mlgov): read leniently, written atomically. A cache only saves calls, so
an unreadable file reads as empty and a concurrent run never sees half a file."""

from __future__ import annotations

import json
import os
from pathlib import Path


def read_json(path: str | Path) -> object | None:
    """The file's JSON, or None when it is missing or unreadable."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def write_json_atomically(path: str | Path, document: object) -> None:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_suffix(f".{os.getpid()}.tmp")
    temporary.write_text(json.dumps(document, sort_keys=True), encoding="utf-8")
    temporary.replace(target)
