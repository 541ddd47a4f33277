"""What the analysis produces: findings, and fixes made of text edits (possibly across files)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any, Literal

Severity = Literal["error", "warning", "information", "hint"]
SEVERITIES: tuple[Severity, ...] = ("error", "warning", "information", "hint")
Safety = Literal["safe", "unsafe"]


@dataclass(frozen=True, slots=True)
class Edit:
    """Replace ``[start, end)`` (string offsets) of a file with ``new_text``.

    ``path`` None means the document being analysed; otherwise the file's path, whose offsets
    refer to that file's current text.
    """

    start: int
    end: int
    new_text: str
    path: str | None = None

    def narrowed(self, text: str) -> Edit:
        """The same change to ``text`` (the file this edit is for) with the characters it
        would write back unchanged at either end left out: what a reader of a fix, or an
        editor moving its cursor, sees as the change."""
        old = text[self.start : self.end]
        new = self.new_text
        prefix = _common_prefix(old, new)
        suffix = _common_prefix(old[prefix:][::-1], new[prefix:][::-1])
        return Edit(
            self.start + prefix, self.end - suffix, new[prefix : len(new) - suffix], self.path
        )


def _common_prefix(a: str, b: str) -> int:
    limit = min(len(a), len(b))
    index = 0
    while index < limit and a[index] == b[index]:
        index += 1
    return index


@dataclass(frozen=True, slots=True)
class Fix:
    title: str
    edits: tuple[Edit, ...]
    safety: Safety = "safe"

    def edits_for(self, path: str | None) -> list[Edit]:
        return [edit for edit in self.edits if edit.path == path]


@dataclass(frozen=True, slots=True)
class Finding:
    """One piece of advice at ``[start, end)`` (string offsets) of the analysed document."""

    code: str
    name: str
    severity: Severity
    message: str
    start: int
    end: int
    fix: Fix | None = None
    data: dict[str, Any] = field(default_factory=dict)
    related: tuple[tuple[str, int, int, str], ...] = ()

    def with_severity(self, severity: Severity) -> Finding:
        return replace(self, severity=severity)

    @property
    def key(self) -> str:
        """Identifies a finding within one version of a document (code actions carry it)."""
        return f"{self.code}:{self.start}:{self.end}"


def apply_edits(text: str, edits: Iterable[Edit]) -> str:
    """Apply non-overlapping edits to one text; later edits first so offsets stay valid."""
    result = text
    last_start = len(text) + 1
    for edit in sorted(edits, key=lambda e: (e.start, e.end), reverse=True):
        if edit.end > last_start:
            continue  # overlaps an edit already applied: skip rather than corrupt the text
        result = result[: edit.start] + edit.new_text + result[edit.end :]
        last_start = edit.start
    return result
