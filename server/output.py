"""Findings printed for people (text, statistics) and for tools (json, as DESIGN §2 fixes it;
GitHub workflow commands; SARIF lives in `sarif.py`)."""

from __future__ import annotations

import bisect
import json
import os
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from otp_thinking.findings import Edit, Finding
from otp_thinking.source import line_starts


class Lines(Protocol):
    """What output needs of a document: its text and line index (a `Source` is one)."""

    text: str

    @property
    def line_starts(self) -> list[int]: ...

    def line_of(self, offset: int) -> int: ...


class TextLines:
    """A document's text and line index without a syntax tree (nothing to parse)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.line_starts = line_starts(text)

    def line_of(self, offset: int) -> int:
        return max(0, bisect.bisect_right(self.line_starts, offset) - 1)


@dataclass(frozen=True)
class Located:
    """A finding with the path it was reached by and its document."""

    path: str
    source: Lines
    finding: Finding


def shown_path(path: str) -> str:
    """A file as the command line shows it: relative to the working folder when under it (the
    project's other files are known by absolute paths), else as it is."""
    relative = os.path.relpath(path)
    return path if relative.startswith("..") else relative


def line_col(source: Lines, offset: int) -> tuple[int, int]:
    """1-based line and column, the column counted in characters (code points)."""
    line = source.line_of(offset)
    return line + 1, offset - source.line_starts[line] + 1


def as_dict(item: Located, source_of: Callable[[str], Lines | None]) -> dict[str, object]:
    finding, source = item.finding, item.source
    line, column = line_col(source, finding.start)
    end_line, end_column = line_col(source, finding.end)
    return {
        "path": item.path,
        "line": line,
        "column": column,
        "end_line": end_line,
        "end_column": end_column,
        "code": finding.code,
        "name": finding.name,
        "severity": finding.severity,
        "message": finding.message,
        "fix": _fix_dict(item, source_of),
    }


def _fix_dict(item: Located, source_of: Callable[[str], Lines | None]) -> dict | None:
    fix = item.finding.fix
    if fix is None:
        return None
    edits = [_edit_dict(item, edit, source_of) for edit in fix.edits]
    return {"title": fix.title, "safety": fix.safety, "edits": [e for e in edits if e]}


def _edit_dict(
    item: Located, edit: Edit, source_of: Callable[[str], Lines | None]
) -> dict[str, object] | None:
    source = item.source if edit.path is None else source_of(edit.path)
    if source is None:
        return None
    line, column = line_col(source, edit.start)
    end_line, end_column = line_col(source, edit.end)
    return {
        "path": item.path if edit.path is None else shown_path(edit.path),
        "line": line,
        "column": column,
        "end_line": end_line,
        "end_column": end_column,
        "new_text": edit.new_text,
    }


def render_json(items: list[Located], source_of: Callable[[str], Lines | None]) -> str:
    return json.dumps([as_dict(item, source_of) for item in items], indent=2, ensure_ascii=False)


def render_text(items: list[Located], unsafe: bool) -> str:
    lines = []
    for item in items:
        line, column = line_col(item.source, item.finding.start)
        fix = item.finding.fix
        marker = " [*]" if fix and (fix.safety == "safe" or unsafe) else ""
        finding = item.finding
        lines.append(
            f"{item.path}:{line}:{column}: {finding.severity}: {finding.code}{marker} "
            f"{finding.message}"
        )
    return "\n".join(lines)


_GITHUB_LEVELS = {"error": "error", "warning": "warning", "information": "notice", "hint": "notice"}


def render_github(items: list[Located]) -> str:
    """GitHub Actions workflow commands: each finding an annotation on its file and lines."""
    lines = []
    for item in items:
        finding = item.finding
        line, column = line_col(item.source, finding.start)
        end_line, end_column = line_col(item.source, finding.end)
        properties = {
            "file": item.path,
            "line": line,
            "col": column,
            "endLine": end_line,
            "endColumn": end_column,
            "title": finding.code,
        }
        joined = ",".join(
            f"{key}={_escape_property(str(value))}" for key, value in properties.items()
        )
        level = _GITHUB_LEVELS[finding.severity]
        lines.append(f"::{level} {joined}::{_escape_data(finding.message)}")
    return "\n".join(lines)


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def statistics(items: list[Located], unsafe: bool) -> list[dict[str, object]]:
    """Findings counted per rule, most frequent first."""
    counts = Counter((i.finding.code, i.finding.name) for i in items)
    fixable = Counter(
        i.finding.code
        for i in items
        if i.finding.fix and (i.finding.fix.safety == "safe" or unsafe)
    )
    ordered = sorted(counts.items(), key=lambda entry: (-entry[1], entry[0][0]))
    return [
        {"code": code, "name": name, "count": count, "fixable": fixable[code]}
        for (code, name), count in ordered
    ]


def render_statistics(items: list[Located], unsafe: bool) -> str:
    rows = statistics(items, unsafe)
    lines = [
        f"{row['count']:>6}  {row['code']}  {row['name']:<30}"
        + (f"  [{row['fixable']} fixable]" if row["fixable"] else "")
        for row in rows
    ]
    return "\n".join(line.rstrip() for line in lines)


def summary(items: list[Located], unsafe: bool, hidden: int = 0, shown_from: str = "hint") -> str:
    """The last line: how many findings, how many ``--fix`` can fix, how many more it could
    with ``--unsafe-fixes``, and how many are below ``--min-severity`` (``hidden``)."""
    below = f"{hidden} below --min-severity {shown_from} not shown" if hidden else ""
    if not items:
        return f"No findings ({below})." if below else "No findings."
    fixable = sum(1 for i in items if i.finding.fix and (i.finding.fix.safety == "safe" or unsafe))
    unsafe_only = sum(1 for i in items if i.finding.fix and i.finding.fix.safety == "unsafe")
    text = f"Found {len(items)} finding{'s' if len(items) != 1 else ''}"
    if fixable:
        text += f" ({fixable} fixable with --fix{' --unsafe-fixes' if unsafe else ''})"
    if unsafe_only and not unsafe:
        text += f"; {unsafe_only} more fixable with --unsafe-fixes"
    if below:
        text += f"; {below}"
    return text + "."
