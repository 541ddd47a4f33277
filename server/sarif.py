"""Findings as a SARIF 2.1.0 log, for code scanning services (GitHub code scanning and others).

The rules come with their one-line summary, the "What it flags" section as full description and
the whole doc as help; results carry locations, related locations, a partial fingerprint (the
baseline's, which survives edits elsewhere in the file) and fixes as `artifactChanges`. Columns
count code points, as the JSON output does (`columnKind: unicodeCodePoints`).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from urllib.parse import quote

from otp_thinking import __version__
from otp_thinking.baseline import fingerprints
from otp_thinking.findings import Edit
from otp_thinking.output import Lines, Located, line_col, shown_path
from otp_thinking.rule import Rule

SCHEMA = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
SRCROOT = "%SRCROOT%"
FINGERPRINT = "otpThinking/v1"

LEVELS = {"error": "error", "warning": "warning", "information": "note", "hint": "note"}


def render_sarif(
    items: list[Located],
    rules: Sequence[Rule],
    source_of: Callable[[str], Lines | None],
    root: Path | None = None,
) -> str:
    root = root or Path(os.getcwd())
    index = {rule.code: position for position, rule in enumerate(rules)}
    prints = fingerprints(items, root)
    results = [
        _result(item, index, fingerprint, source_of, root)
        for item, fingerprint in zip(items, prints, strict=True)
    ]
    log = {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "otp-thinking",
                        "version": __version__,
                        "semanticVersion": __version__,
                        "rules": [_rule(rule) for rule in rules],
                    }
                },
                "originalUriBaseIds": {SRCROOT: {"uri": root.as_uri() + "/"}},
                "columnKind": "unicodeCodePoints",
                "results": results,
            }
        ],
    }
    return json.dumps(log, indent=2, ensure_ascii=False)


def _rule(rule: Rule) -> dict[str, object]:
    return {
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": _section(rule.doc, "What it flags").split("\n\n")[0]},
        "help": {"text": rule.doc.strip(), "markdown": rule.doc.strip()},
        "defaultConfiguration": {"level": LEVELS[rule.severity]},
        "properties": {"fixable": rule.fixable},
    }


def _section(doc: str, heading: str) -> str:
    match = re.search(rf"^## {re.escape(heading)}\n(.*?)(?=^## |\Z)", doc, re.MULTILINE | re.DOTALL)
    return (match.group(1) if match else doc).strip()


def _result(
    item: Located,
    index: dict[str, int],
    fingerprint: str,
    source_of: Callable[[str], Lines | None],
    root: Path,
) -> dict[str, object]:
    finding = item.finding
    result: dict[str, object] = {
        "ruleId": finding.code,
        "level": LEVELS[finding.severity],
        "message": {"text": finding.message},
        "locations": [_location(item.path, item.source, finding.start, finding.end, root)],
        "partialFingerprints": {FINGERPRINT: fingerprint},
    }
    if finding.code in index:
        result["ruleIndex"] = index[finding.code]
    related = []
    for number, (path, start, end, message) in enumerate(finding.related, start=1):
        lines = source_of(path)
        if lines is not None:
            location = _location(shown_path(path), lines, start, end, root)
            related.append({"id": number, **location, "message": {"text": message}})
    if related:
        result["relatedLocations"] = related
    if finding.fix is not None:
        changes = _artifact_changes(item, finding.fix.edits, source_of, root)
        if changes:
            result["fixes"] = [
                {
                    "description": {"text": finding.fix.title},
                    "artifactChanges": changes,
                    "properties": {"safety": finding.fix.safety},
                }
            ]
    return result


def _artifact_changes(
    item: Located,
    edits: Sequence[Edit],
    source_of: Callable[[str], Lines | None],
    root: Path,
) -> list[dict[str, object]]:
    by_path: dict[str, list[dict[str, object]]] = {}
    for edit in edits:
        path = item.path if edit.path is None else shown_path(edit.path)
        lines = item.source if edit.path is None else source_of(edit.path)
        if lines is None:
            return []  # a file the fix needs is gone: no half fix
        edit = edit.narrowed(lines.text)
        by_path.setdefault(path, []).append(
            {
                "deletedRegion": _region(lines, edit.start, edit.end),
                "insertedContent": {"text": edit.new_text},
            }
        )
    return [
        {"artifactLocation": _artifact(path, root), "replacements": replacements}
        for path, replacements in by_path.items()
    ]


def _location(path: str, lines: Lines, start: int, end: int, root: Path) -> dict[str, object]:
    return {
        "physicalLocation": {
            "artifactLocation": _artifact(path, root),
            "region": _region(lines, start, end),
        }
    }


def _region(lines: Lines, start: int, end: int) -> dict[str, int]:
    start_line, start_column = line_col(lines, start)
    end_line, end_column = line_col(lines, end)
    return {
        "startLine": start_line,
        "startColumn": start_column,
        "endLine": end_line,
        "endColumn": end_column,
    }


def _artifact(path: str, root: Path) -> dict[str, str]:
    """A path under the root as a relative URI on %SRCROOT%; anything else as a file URI."""
    absolute = Path(os.path.abspath(path))
    try:
        relative = absolute.relative_to(root)
    except ValueError:
        return {"uri": absolute.as_uri()}
    return {"uri": quote(relative.as_posix()), "uriBaseId": SRCROOT}
