"""Findings and fixes as LSP types, positions in the encoding the client negotiated."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from lsprotocol import types

from otp_thinking.findings import Edit, Finding, Fix
from otp_thinking.rule_docs import document_uri
from otp_thinking.source import Encoding, Position, Source
from otp_thinking.suppression import read_suppressions

SOURCE_NAME = "otp-thinking"

SEVERITY = {
    "error": types.DiagnosticSeverity.Error,
    "warning": types.DiagnosticSeverity.Warning,
    "information": types.DiagnosticSeverity.Information,
    "hint": types.DiagnosticSeverity.Hint,
}


def encoding_of(kind: str | None) -> Encoding:
    return {"utf-8": "utf-8", "utf-32": "utf-32"}.get(str(kind or ""), "utf-16")  # type: ignore[return-value]


def to_range(source: Source, start: int, end: int, encoding: Encoding) -> types.Range:
    first = source.offset_to_position(start, encoding)
    last = source.offset_to_position(end, encoding)
    return types.Range(
        types.Position(first.line, first.character), types.Position(last.line, last.character)
    )


def to_offsets(source: Source, lsp_range: types.Range, encoding: Encoding) -> tuple[int, int]:
    start = source.position_to_offset(
        Position(lsp_range.start.line, lsp_range.start.character), encoding
    )
    end = source.position_to_offset(Position(lsp_range.end.line, lsp_range.end.character), encoding)
    return min(start, end), max(start, end)


# Where an offset range of another file is, for a finding's related locations.
Locate = Callable[[str, int, int], "types.Location | None"]


def to_diagnostic(
    source: Source, finding: Finding, encoding: Encoding, locate: Locate | None = None
) -> types.Diagnostic:
    doc = document_uri(finding.code)
    return types.Diagnostic(
        range=to_range(source, finding.start, finding.end, encoding),
        message=finding.message,
        severity=SEVERITY[finding.severity],
        code=finding.code,
        code_description=types.CodeDescription(href=doc) if doc else None,
        source=SOURCE_NAME,
        data={"key": finding.key, "name": finding.name, "fixable": finding.fix is not None},
        related_information=_related(finding, locate),
    )


def unknown_rule_diagnostics(source: Source, encoding: Encoding) -> list[types.Diagnostic]:
    """A warning on each suppression comment naming no rule: it hides nothing."""
    return [
        types.Diagnostic(
            range=to_range(source, start, end, encoding),
            message=f"{word!r} is no otp-thinking rule code or name, so this comment hides "
            "nothing (`otp-thinking rules` lists them)",
            severity=types.DiagnosticSeverity.Warning,
            source=SOURCE_NAME,
        )
        for start, end, word in read_suppressions(source).unknown
    ]


def _related(
    finding: Finding, locate: Locate | None
) -> list[types.DiagnosticRelatedInformation] | None:
    if not finding.related or locate is None:
        return None
    found = []
    for path, start, end, message in finding.related:
        location = locate(path, start, end)
        if location is not None:
            found.append(types.DiagnosticRelatedInformation(location, message))
    return found or None


# A file the edit names: its URI, its text as the analysis saw it, and its open version.
FileLookup = Callable[[str], tuple[str, Source, int | None] | None]


def to_workspace_edit(
    fix: Fix,
    uri: str,
    source: Source,
    version: int | None,
    lookup: FileLookup,
    encoding: Encoding,
    document_changes: bool,
) -> types.WorkspaceEdit | None:
    """The fix as versioned ``documentChanges`` (or plain ``changes`` for old clients)."""
    grouped: dict[str, tuple[Source, int | None, list[Edit]]] = {uri: (source, version, [])}
    for edit in fix.edits:
        if edit.path is None:
            grouped[uri][2].append(edit)
            continue
        found = lookup(edit.path)
        if found is None:
            return None  # a file the fix needs has gone: offer nothing rather than half a fix
        other_uri, other_source, other_version = found
        grouped.setdefault(other_uri, (other_source, other_version, []))[2].append(edit)
    text_edits = {
        target: [_text_edit(src, e.narrowed(src.text), encoding) for e in edits]
        for target, (src, _version, edits) in grouped.items()
        if edits
    }
    if not document_changes:
        return types.WorkspaceEdit(changes=text_edits)
    return types.WorkspaceEdit(
        document_changes=[
            types.TextDocumentEdit(
                text_document=types.OptionalVersionedTextDocumentIdentifier(
                    uri=target, version=grouped[target][1]
                ),
                edits=list(edits),
            )
            for target, edits in text_edits.items()
        ]
    )


def _text_edit(source: Source, edit: Edit, encoding: Encoding) -> types.TextEdit:
    return types.TextEdit(to_range(source, edit.start, edit.end, encoding), edit.new_text)


def path_to_uri(path: str) -> str:
    return Path(path).resolve().as_uri()
