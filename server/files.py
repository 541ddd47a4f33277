"""Reading a workspace's files: regular files only, so a FIFO or a device named `x.ex` can never
block the server or the command line."""

from __future__ import annotations

import os
import stat
from pathlib import Path


def is_regular(path: str | Path) -> bool:
    """True for a regular file (after following links); False for anything else or an error."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except (OSError, ValueError):
        return False


def read_text(path: str | Path) -> str | None:
    """A regular file's UTF-8 text exactly as stored (no newline translation: a CRLF file stays
    CRLF, a lone CR in a string literal stays a CR), or None when it cannot be read as such."""
    if not is_regular(path):
        return None
    try:
        with open(path, encoding="utf-8", newline="") as handle:
            return handle.read()
    except (OSError, UnicodeDecodeError, ValueError):
        return None
