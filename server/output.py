"""Findings printed for people (text) and for tools (json), as DESIGN §2 fixes them."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from otp_thinking.findings import Edit, Finding
from otp_thinking.source import Source


@dataclass(frozen=True)
class Located:
    """A finding with the path it was reached by and its document."""

    path: str
    source: Source
    finding: Finding


def _line_col(source: Source, offset: int) -> tuple[int, int]:
    """1-based line and column, the column counted in characters (code points)."""
    line = source.line_of(offset)
    return line + 1, offset - source.line_starts[line] + 1


def as_dict(item: Located, source_of: Callable[[str], Source | None]) -> dict[str, object]:
    finding, source = item.finding, item.source
    line, column = _line_col(source, finding.start)
    end_line, end_column = _line_col(source, finding.end)
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


def _fix_dict(item: Located, source_of: Callable[[str], Source | None]) -> dict | None:
    fix = item.finding.fix
    if fix is None:
        return None
    edits = [_edit_dict(item, edit, source_of) for edit in fix.edits]
    return {"title": fix.title, "safety": fix.safety, "edits": [e for e in edits if e]}


def _edit_dict(
    item: Located, edit: Edit, source_of: Callable[[str], Source | None]
) -> dict[str, object] | None:
    source = item.source if edit.path is None else source_of(edit.path)
    if source is None:
        return None
    line, column = _line_col(source, edit.start)
    end_line, end_column = _line_col(source, edit.end)
    return {
        "path": item.path if edit.path is None else edit.path,
        "line": line,
        "column": column,
        "end_line": end_line,
        "end_column": end_column,
        "new_text": edit.new_text,
    }


def render_json(items: list[Located], source_of: Callable[[str], Source | None]) -> str:
    return json.dumps([as_dict(item, source_of) for item in items], indent=2, ensure_ascii=False)


def render_text(items: list[Located], unsafe: bool) -> str:
    lines = []
    for item in items:
        line, column = _line_col(item.source, item.finding.start)
        fix = item.finding.fix
        marker = " [*]" if fix and (fix.safety == "safe" or unsafe) else ""
        lines.append(
            f"{item.path}:{line}:{column}: {item.finding.code}{marker} {item.finding.message}"
        )
    return "\n".join(lines)


def summary(items: list[Located], unsafe: bool) -> str:
    if not items:
        return "No findings."
    fixable = sum(1 for i in items if i.finding.fix and (i.finding.fix.safety == "safe" or unsafe))
    hidden = sum(1 for i in items if i.finding.fix and i.finding.fix.safety == "unsafe")
    text = f"Found {len(items)} finding{'s' if len(items) != 1 else ''}"
    if fixable:
        text += f" ({fixable} fixable with --fix{' --unsafe-fixes' if unsafe else ''})"
    if hidden and not unsafe:
        text += f"; {hidden} more with --unsafe-fixes"
    return text + "."
