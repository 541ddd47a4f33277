"""The language server end to end, under the VS Code, Neovim and Emacs capability profiles."""

from __future__ import annotations

import pytest
import pytest_lsp
from lsp_client import (
    PROFILES,
    SERVER,
    apply_text_edits,
    copy_examples,
    diagnostics,
    edits_by_uri,
    indexed,
    pulls,
    start,
    units,
)
from lsprotocol import types
from pytest_lsp import LanguageClient

from otp_thinking.source import Source

PREFIX = '    _ = "héllo 👋 世界 é"; task = '  # é here is e + combining accent
CALL = "Task.async(fn -> fetch(sku) end)"
DOCUMENT = f"""defmodule Storefront.Lookup do
  def handle_call(sku, _from, state) do
{PREFIX}{CALL}
    {{:reply, :ok, state}}
  end

  defp fetch(sku), do: sku
end
"""


@pytest_lsp.fixture(config=SERVER, params=list(PROFILES))
async def client(lsp_client: LanguageClient, request: pytest.FixtureRequest):
    lsp_client.profile = request.param  # type: ignore[attr-defined]
    yield
    await lsp_client.shutdown_session()


async def _open(client: LanguageClient, tmp_path, text: str = DOCUMENT):
    root = copy_examples(tmp_path)
    result = await start(client, client.profile, root)  # type: ignore[attr-defined]
    await indexed(client)
    path = root / "lib" / "storefront" / "lookup.ex"
    path.write_text(text, "utf-8")
    uri = path.as_uri()
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(types.TextDocumentItem(uri, "elixir", 1, text))
    )
    return result, root, uri


async def test_negotiates_the_expected_encoding(client: LanguageClient, tmp_path) -> None:
    result, _root, _uri = await _open(client, tmp_path)
    assert result.capabilities.position_encoding == PROFILES[client.profile]  # type: ignore[attr-defined]


async def test_diagnostic_range_counts_the_negotiated_units(client: LanguageClient, tmp_path):
    result, _root, uri = await _open(client, tmp_path)
    encoding = result.capabilities.position_encoding
    found = await diagnostics(client, uri, version=1)

    assert [d.code for d in found] == ["OTP101"]
    diagnostic = found[0]
    assert diagnostic.source == "otp-thinking"
    assert diagnostic.severity == types.DiagnosticSeverity.Warning
    start = units(PREFIX, encoding)
    assert diagnostic.range == types.Range(
        types.Position(2, start), types.Position(2, start + units(CALL, encoding))
    )


async def test_code_action_rewrites_the_call_and_starts_the_supervisor(
    client: LanguageClient, tmp_path
) -> None:
    result, root, uri = await _open(client, tmp_path)
    encoding = result.capabilities.position_encoding
    found = await diagnostics(client, uri, version=1)
    actions = await client.text_document_code_action_async(
        types.CodeActionParams(
            types.TextDocumentIdentifier(uri),
            found[0].range,
            types.CodeActionContext(diagnostics=found),
        )
    )
    fix = next(a for a in actions if a.title.startswith("Use Task.Supervisor.start_child"))
    if fix.edit is None:
        fix = await client.code_action_resolve_async(fix)
    assert fix.edit is not None

    edits = edits_by_uri(fix.edit)
    version, document_edits = edits[uri]
    if fix.edit.document_changes is not None:
        assert version == 1
    fixed = apply_text_edits(DOCUMENT, document_edits, encoding)
    assert "Task.Supervisor.start_child(Storefront.TaskSupervisor, fn -> fetch(sku) end)" in fixed
    assert not Source(fixed).has_errors()

    application = root / "lib" / "storefront" / "application.ex"
    app_text = application.read_text("utf-8")
    new_app = apply_text_edits(app_text, edits[application.as_uri()][1], encoding)
    assert "{Task.Supervisor, name: Storefront.TaskSupervisor}," in new_app
    assert not Source(new_app).has_errors()

    # The client applies the edit to the closed application file on disk and reports it.
    application.write_text(new_app, "utf-8")
    client.workspace_did_change_watched_files(
        types.DidChangeWatchedFilesParams(
            [types.FileEvent(application.as_uri(), types.FileChangeType.Changed)]
        )
    )
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            types.VersionedTextDocumentIdentifier(version=2, uri=uri),
            [types.TextDocumentContentChangeWholeDocument(fixed)],
        )
    )
    assert await diagnostics(client, uri, version=2) == []


async def test_incremental_change_and_close(client: LanguageClient, tmp_path) -> None:
    result, _root, uri = await _open(client, tmp_path)
    encoding = result.capabilities.position_encoding
    assert len(await diagnostics(client, uri, version=1)) == 1

    start = units(PREFIX, encoding)
    replace_call = types.TextDocumentContentChangePartial(
        range=types.Range(
            types.Position(2, start), types.Position(2, start + units("Task.async", encoding))
        ),
        text="Task.Supervisor.async_nolink(Storefront.TaskSupervisor, ",
    )
    drop_paren = types.TextDocumentContentChangePartial(
        range=types.Range(
            types.Position(
                2,
                start + units("Task.Supervisor.async_nolink(Storefront.TaskSupervisor, ", encoding),
            ),
            types.Position(
                2,
                start
                + units("Task.Supervisor.async_nolink(Storefront.TaskSupervisor, (", encoding),
            ),
        ),
        text="",
    )
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            types.VersionedTextDocumentIdentifier(version=2, uri=uri), [replace_call, drop_paren]
        )
    )
    # Task.async is gone; the nolink task bound to a variable nobody reads is never awaited
    # (OTP101), and the application does not start the supervisor named instead (OTP105).
    assert [d.code for d in await diagnostics(client, uri, version=2)] == ["OTP101", "OTP105"]

    client.text_document_did_close(
        types.DidCloseTextDocumentParams(types.TextDocumentIdentifier(uri))
    )
    if not pulls(client):
        cleared = await diagnostics(client, uri)
        assert cleared == []


async def test_hover_on_a_diagnostic_shows_the_rule_doc(client: LanguageClient, tmp_path):
    result, _root, uri = await _open(client, tmp_path)
    encoding = result.capabilities.position_encoding
    await diagnostics(client, uri, version=1)
    hover = await client.text_document_hover_async(
        types.HoverParams(
            types.TextDocumentIdentifier(uri), types.Position(2, units(PREFIX, encoding) + 3)
        )
    )
    assert hover is not None
    assert "OTP101 task-async" in hover.contents.value  # type: ignore[union-attr]
    assert "(warning): " in hover.contents.value  # type: ignore[union-attr]


async def test_hover_shows_the_rule_doc_then_the_construct_card(client: LanguageClient, tmp_path):
    result, _root, uri = await _open(client, tmp_path)
    encoding = result.capabilities.position_encoding
    await diagnostics(client, uri, version=1)
    hover = await client.text_document_hover_async(
        types.HoverParams(
            types.TextDocumentIdentifier(uri), types.Position(2, units(PREFIX, encoding) + 6)
        )
    )
    assert hover is not None
    doc, card = hover.contents.value.split("\n\n---\n\n")  # type: ignore[union-attr]
    assert doc.startswith("**OTP101 task-async**")
    assert card.startswith("**Task.async vs Task.Supervisor.async_nolink**")


COUNTER_PREFIX = '  @moduledoc "Counts 👋 visits, é by é"; '
COUNTER = f"""defmodule Storefront.Counter do
{COUNTER_PREFIX}use GenServer

  def init(count), do: {{:ok, count}}
  def handle_cast(:visit, count), do: {{:noreply, count + 1}}
end
"""


async def test_hover_shows_a_card_on_use_genserver(client: LanguageClient, tmp_path) -> None:
    result, _root, uri = await _open(client, tmp_path, COUNTER)
    encoding = result.capabilities.position_encoding
    assert await diagnostics(client, uri, version=1) == []
    start = units(COUNTER_PREFIX, encoding)
    hover = await client.text_document_hover_async(
        types.HoverParams(types.TextDocumentIdentifier(uri), types.Position(1, start + 6))
    )
    assert hover is not None
    assert hover.contents.value.startswith("**GenServer**")  # type: ignore[union-attr]
    assert "---" not in hover.contents.value  # type: ignore[union-attr]
    assert hover.range == types.Range(
        types.Position(1, start), types.Position(1, start + units("use GenServer", encoding))
    )
    on_the_string = await client.text_document_hover_async(
        types.HoverParams(types.TextDocumentIdentifier(uri), types.Position(1, start - 8))
    )
    assert on_the_string is None


async def test_disable_for_this_line_action(client: LanguageClient, tmp_path) -> None:
    result, _root, uri = await _open(client, tmp_path)
    encoding = result.capabilities.position_encoding
    found = await diagnostics(client, uri, version=1)
    actions = await client.text_document_code_action_async(
        types.CodeActionParams(
            types.TextDocumentIdentifier(uri),
            found[0].range,
            types.CodeActionContext(diagnostics=found),
        )
    )
    whole_file = next(a for a in actions if a.title == "Disable OTP101 for this file")
    file_edit = edits_by_uri(whole_file.edit)[uri][1]  # type: ignore[arg-type]
    assert apply_text_edits(DOCUMENT, file_edit, encoding).startswith(
        "# otp-thinking: disable-file OTP101\ndefmodule"
    )
    disable = next(a for a in actions if a.title == "Disable OTP101 for this line")
    fixed = apply_text_edits(DOCUMENT, edits_by_uri(disable.edit)[uri][1], encoding)  # type: ignore[arg-type]
    assert "    # otp-thinking: disable-next-line OTP101\n" + PREFIX in fixed
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            types.VersionedTextDocumentIdentifier(version=2, uri=uri),
            [types.TextDocumentContentChangeWholeDocument(fixed)],
        )
    )
    assert await diagnostics(client, uri, version=2) == []


TWO_CALLS = """defmodule Storefront.Pair do
  def handle_call(:both, _from, state) do
    a = Task.async(fn -> 1 end)
    b = Task.async(fn -> 2 end)
    {:reply, :ok, state}
  end
end
"""


async def test_fix_all_applies_every_safe_fix_once(client: LanguageClient, tmp_path) -> None:
    result, root, uri = await _open(client, tmp_path, TWO_CALLS)
    encoding = result.capabilities.position_encoding
    found = await diagnostics(client, uri, version=1)
    assert len(found) == 2
    actions = await client.text_document_code_action_async(
        types.CodeActionParams(
            types.TextDocumentIdentifier(uri),
            types.Range(types.Position(0, 0), types.Position(0, 0)),
            types.CodeActionContext(diagnostics=[], only=["source.fixAll.otp-thinking"]),
        )
    )
    [fix_all] = actions
    assert fix_all.kind == "source.fixAll.otp-thinking"
    if fix_all.edit is None:  # computed on resolve
        fix_all = await client.code_action_resolve_async(fix_all)
    edits = edits_by_uri(fix_all.edit)  # type: ignore[arg-type]
    fixed = apply_text_edits(TWO_CALLS, edits[uri][1], encoding)
    assert fixed.count("Task.Supervisor.start_child(Storefront.TaskSupervisor, fn ->") == 2
    application = root / "lib" / "storefront" / "application.ex"
    new_app = apply_text_edits(
        application.read_text("utf-8"), edits[application.as_uri()][1], encoding
    )
    assert new_app.count("Task.Supervisor") == 1


async def test_resolve_recomputes_against_the_current_text(client: LanguageClient, tmp_path):
    result, _root, uri = await _open(client, tmp_path)
    encoding = result.capabilities.position_encoding
    found = await diagnostics(client, uri, version=1)
    actions = await client.text_document_code_action_async(
        types.CodeActionParams(
            types.TextDocumentIdentifier(uri), found[0].range, types.CodeActionContext(found)
        )
    )
    fix = next(a for a in actions if a.title.startswith("Use Task.Supervisor"))
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            types.VersionedTextDocumentIdentifier(version=2, uri=uri),
            [
                types.TextDocumentContentChangePartial(
                    range=types.Range(types.Position(0, 0), types.Position(0, 0)),
                    text="# a new first line\n",
                )
            ],
        )
    )
    current = "# a new first line\n" + DOCUMENT
    await diagnostics(client, uri, version=2)
    if fix.edit is not None:
        # No resolve support: the edit was computed for version 1 and says so, so the
        # client refuses it on version 2 instead of corrupting the text.
        version, _ = edits_by_uri(fix.edit)[uri]
        if fix.edit.document_changes is not None:
            assert version == 1
        return
    resolved = await client.code_action_resolve_async(fix)
    version, text_edits = edits_by_uri(resolved.edit)[uri]  # type: ignore[arg-type]
    if resolved.edit.document_changes is not None:  # type: ignore[union-attr]
        assert version == 2
    fixed = apply_text_edits(current, text_edits, encoding)
    assert fixed.startswith("# a new first line\ndefmodule Storefront.Lookup do\n")
    assert (
        "task = Task.Supervisor.start_child(Storefront.TaskSupervisor, fn -> fetch(sku) end)"
        in fixed
    )
