"""Where a piece of text is, as the CLI prints it: computed from the file, never written out."""

from __future__ import annotations

from pathlib import Path


def line_column(path: Path, needle: str) -> str:
    """``line:column`` (both from 1, the column in characters) of ``needle`` in ``path``."""
    text = path.read_text("utf-8")
    offset = text.index(needle)
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return f"{line}:{column}"
