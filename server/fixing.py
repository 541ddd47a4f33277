"""Applying fixes to a document until none is left, the way `check --fix` and fix-all do.

Fixes are applied in passes: each pass takes non-overlapping fixes, applies their edits and
analyses again, so a fix never works on offsets another fix has moved.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from otp_thinking.findings import Edit, Finding, Fix, apply_edits

MAX_PASSES = 10


@dataclass
class FixResult:
    text: str
    applied: list[Finding] = field(default_factory=list)
    other_files: list[Edit] = field(default_factory=list)


def applicable(finding: Finding, unsafe: bool) -> Fix | None:
    fix = finding.fix
    if fix is None or (fix.safety == "unsafe" and not unsafe):
        return None
    return fix


def non_overlapping(findings: list[Finding], unsafe: bool) -> list[Finding]:
    """Fixable findings whose edits in this document touch no edit already taken."""
    taken: list[tuple[int, int]] = []
    chosen = []
    for finding in findings:
        fix = applicable(finding, unsafe)
        if fix is None:
            continue
        spans = [(e.start, e.end) for e in fix.edits_for(None)]
        if any(s < te and ts < e or s == e == ts for s, e in spans for ts, te in taken):
            continue
        taken.extend(spans)
        chosen.append(finding)
    return chosen


def merged_edits(findings: list[Finding], path: str | None) -> list[Edit]:
    """The edits of these fixes for one file; identical edits (two fixes adding the same
    supervisor child) count once."""
    seen: dict[tuple[int, int, str], Edit] = {}
    for finding in findings:
        assert finding.fix is not None
        for edit in finding.fix.edits_for(path):
            seen.setdefault((edit.start, edit.end, edit.new_text), edit)
    return list(seen.values())


def fix_document(
    text: str,
    analyze: Callable[[str], list[Finding]],
    *,
    unsafe: bool = False,
    apply_other_files: Callable[[list[Edit]], None] | None = None,
) -> FixResult:
    """Apply fixes until none applies; edits to other files go to ``apply_other_files``
    between passes (so the next analysis sees, say, the supervisor child just added)."""
    result = FixResult(text)
    for _ in range(MAX_PASSES):
        chosen = non_overlapping(analyze(result.text), unsafe)
        if not chosen:
            break
        result.text = apply_edits(result.text, merged_edits(chosen, None))
        result.applied.extend(chosen)
        other = _other_file_edits(chosen)
        if other:
            result.other_files.extend(other)
            if apply_other_files is not None:
                apply_other_files(other)
    return result


def _other_file_edits(findings: list[Finding]) -> list[Edit]:
    paths = {e.path for f in findings if f.fix for e in f.fix.edits if e.path is not None}
    return [edit for path in sorted(paths) for edit in merged_edits(findings, path)]
