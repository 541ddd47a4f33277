"""Where a piece of text is, as the CLI prints it: computed from the file, never written out."""

from __future__ import annotations

from pathlib import Path

from otp_thinking.source import Source


def line_column(path: Path, needle: str) -> str:
    """``line:column`` (both from 1, the column in characters) of ``needle`` in ``path``."""
    source = Source(path.read_text("utf-8"))
    offset = source.text.index(needle)
    return f"{source.line_of(offset) + 1}:{source.column_of(offset) + 1}"
