"""Every rule that has a fix, fixed from the editor: the code action the server offers (resolved
when the client resolves) edits the buffer exactly as the core's fix does, under each profile."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import pytest_lsp
from lsp_client import (
    PROFILES,
    SERVER,
    apply_text_edits,
    diagnostics,
    edits_by_uri,
    indexed,
    start,
)
from lsprotocol import types
from pytest_lsp import LanguageClient

from conftest import FIXTURES, fixture_files
from otp_thinking.engine import analyze
from otp_thinking.findings import Finding, apply_edits
from otp_thinking.registry import all_rules
from otp_thinking.source import Source
from otp_thinking.workspace import Workspace


def _first_fixable(code: str, root: Path) -> tuple[Path, Finding]:
    workspace = Workspace()
    for fixture in fixture_files():
        if fixture.code != code:
            continue
        path = root / fixture.path.relative_to(FIXTURES)
        text = path.read_text("utf-8")
        if "\r" in text:
            continue  # the test client below splits lines on \n only
        source = Source(text, str(path))
        findings = analyze(
            source, config=workspace.config_for(path), project=workspace.project_for(path)
        )
        for finding in findings:
            if finding.code == code and finding.fix is not None:
                return path, finding
    raise AssertionError(f"no fixture of {code} offers a fix")


FIXABLE = [rule.code for rule in all_rules() if rule.fixable and not rule.preview]  # on by default


@pytest_lsp.fixture(config=SERVER, params=list(PROFILES))
async def client(lsp_client: LanguageClient, request: pytest.FixtureRequest):
    lsp_client.profile = request.param  # type: ignore[attr-defined]
    yield
    await lsp_client.shutdown_session()


async def test_every_fix_works_from_the_editor(client: LanguageClient, tmp_path: Path) -> None:
    root = tmp_path / "fixtures"
    shutil.copytree(FIXTURES, root)
    result = await start(client, client.profile, root)  # type: ignore[attr-defined]
    # Cross-file rules (OTP105) speak once each fixture project is indexed.
    await indexed(client, projects=len(list(root.glob("*/mix.exs"))))
    encoding = result.capabilities.position_encoding
    for version, code in enumerate(FIXABLE, start=1):
        path, finding = _first_fixable(code, root)
        text = path.read_text("utf-8")
        uri = path.as_uri()
        client.text_document_did_open(
            types.DidOpenTextDocumentParams(types.TextDocumentItem(uri, "elixir", version, text))
        )
        line = Source(text).line_of(finding.start)
        found = [
            d
            for d in await diagnostics(client, uri, version=version)
            if d.code == code and d.range.start.line == line
        ]
        assert found, f"{code}: no diagnostic on line {line + 1} of {path.name}"
        actions = await client.text_document_code_action_async(
            types.CodeActionParams(
                types.TextDocumentIdentifier(uri), found[0].range, types.CodeActionContext(found)
            )
        )
        assert finding.fix is not None
        action = next(a for a in actions if a.title == finding.fix.title)
        if action.edit is None:
            action = await client.code_action_resolve_async(action)
        assert action.edit is not None, f"{code}: the action has no edit"
        in_buffer = edits_by_uri(action.edit).get(uri, (None, []))[1]  # OTP105 edits another file
        edited = apply_text_edits(text, in_buffer, encoding)
        assert edited == apply_edits(text, finding.fix.edits_for(None)), code
        client.text_document_did_close(
            types.DidCloseTextDocumentParams(types.TextDocumentIdentifier(uri))
        )
