"""Baselines: record today's findings, then report only new ones.

A finding is recorded by a fingerprint that survives edits elsewhere in its file: the rule, the
file (relative to the baseline file's folder), the text the finding covers and the text of its
line (whitespace collapsed), and which occurrence of that same text it is in the file. Line
numbers play no part, so adding a function above a recorded finding does not make it new.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from otp_thinking.output import Located
from otp_thinking.writing import NotRegularError, read_regular, write_new_file

FORMAT = "otp-thinking-baseline"
VERSION = 1

_SPACE = re.compile(r"\s+")


def fingerprints(items: list[Located], relative_to: Path) -> list[str]:
    """One fingerprint per finding, in order; paths are taken relative to ``relative_to``."""
    seen: Counter[tuple[str, str, str, str]] = Counter()
    found = []
    for item in items:
        key = _key(item, relative_to)
        found.append(_digest(*key, str(seen[key])))
        seen[key] += 1
    return found


def _key(item: Located, relative_to: Path) -> tuple[str, str, str, str]:
    finding, lines = item.finding, item.source
    line = lines.line_of(finding.start)
    end = lines.line_starts[line + 1] if line + 1 < len(lines.line_starts) else len(lines.text)
    line_text = lines.text[lines.line_starts[line] : end]
    covered = lines.text[finding.start : finding.end]
    return (
        finding.code,
        relative_path(item.path, relative_to),
        _squash(covered),
        _squash(line_text),
    )


def relative_path(path: str, base: Path) -> str:
    try:
        return Path(os.path.relpath(os.path.abspath(path), os.path.abspath(base))).as_posix()
    except ValueError:  # another drive
        return Path(os.path.abspath(path)).as_posix()


def _squash(text: str) -> str:
    return _SPACE.sub(" ", text).strip()


def _digest(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode("utf-8", "surrogatepass")).hexdigest()[:32]


@dataclass
class Baseline:
    counts: Counter[str]

    def new_findings(self, items: list[Located], relative_to: Path) -> list[Located]:
        """The findings the baseline does not hold (each recorded one absorbs one finding)."""
        left = Counter(self.counts)
        fresh = []
        for item, fingerprint in zip(items, fingerprints(items, relative_to), strict=True):
            if left[fingerprint] > 0:
                left[fingerprint] -= 1
            else:
                fresh.append(item)
        return fresh


def write_baseline(path: Path, items: list[Located]) -> None:
    base = path.resolve().parent
    entries = [
        {
            "fingerprint": fingerprint,
            "code": item.finding.code,
            "path": relative_path(item.path, base),
            "message": item.finding.message,
        }
        for item, fingerprint in zip(items, fingerprints(items, base), strict=True)
    ]
    document = {"format": FORMAT, "version": VERSION, "findings": entries}
    write_new_file(path, json.dumps(document, indent=2, ensure_ascii=False) + "\n")


class BaselineError(Exception):
    pass


MAX_SIZE = 256 * 1024 * 1024
"""A baseline bigger than this is not one `--write-baseline` wrote: refused, never loaded."""


def read_baseline(path: Path) -> Baseline:
    try:
        data, _mode = read_regular(path, MAX_SIZE)
    except NotRegularError as error:
        raise BaselineError(f"{path}: not a regular file") from error
    except OSError as error:
        reason = error.strerror or str(error)
        raise BaselineError(f"{path}: cannot be read as a baseline ({reason})") from error
    try:
        document = json.loads(data.decode("utf-8"))
    except RecursionError as error:
        raise BaselineError(f"{path}: nested too deeply to be a baseline") from error
    except (UnicodeDecodeError, ValueError) as error:
        raise BaselineError(f"{path}: cannot be read as a baseline ({error})") from error
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise BaselineError(
            f"{path}: not an otp-thinking baseline (write one with --write-baseline)"
        )
    if document.get("version") != VERSION:
        raise BaselineError(
            f"{path}: baseline version {document.get('version')!r} is not {VERSION}"
        )
    entries = document.get("findings")
    if not isinstance(entries, list) or not all(
        isinstance(e, dict) and isinstance(e.get("fingerprint"), str) for e in entries
    ):
        raise BaselineError(f"{path}: findings must be a list of objects with a fingerprint")
    return Baseline(Counter(e["fingerprint"] for e in entries))
