"""Where a command's rendered report goes: a file (with one line saying what was written) or stdout."""

from __future__ import annotations

from pathlib import Path


def emit(text: str, output: Path | None, written: str) -> None:
    if output:
        output.write_text(text, encoding="utf-8")
        print(f"wrote {output}: {written}")
    else:
        print(text, end="")
