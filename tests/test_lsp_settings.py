"""Settings that reach the server after the first diagnostics, as real clients send them.

Neovim 0.11+ pulls diagnostics, and its settings reach the server (through
`workspace/configuration`) after it has opened and pulled the first buffer: the server must then
ask it to pull again (`workspace/diagnostic/refresh`), or the buffer keeps diagnostics made under
the old settings until the next edit. Found with the real Neovim 0.12 in tests/test_editors.py.
"""

from __future__ import annotations

import asyncio

import pytest_lsp
from lsp_client import SERVER, copy_examples, indexed
from lsprotocol import types
from pytest_lsp import LanguageClient, client_capabilities

TEXT = """defmodule Storefront.Lookup do
  use GenServer

  def handle_call({:lookup, sku}, _from, state) do
    task = Task.async(fn -> sku end)
    {:reply, :ok, state}
  end
end
"""


@pytest_lsp.fixture(config=SERVER)
async def client(lsp_client: LanguageClient):
    yield
    await lsp_client.shutdown_session()


async def test_new_settings_make_a_pulling_client_pull_again(client: LanguageClient, tmp_path):
    capabilities = client_capabilities("neovim")  # pulls diagnostics, answers configuration
    assert capabilities.workspace is not None
    capabilities.workspace.diagnostics = types.DiagnosticWorkspaceClientCapabilities(
        refresh_support=True
    )
    root = copy_examples(tmp_path)
    await client.initialize_session(
        types.InitializeParams(capabilities=capabilities, root_uri=root.as_uri())
    )
    await indexed(client)  # the finished index asks for a pull too: let that one pass first
    path = root / "lib" / "storefront" / "lookup.ex"
    path.write_text(TEXT, "utf-8")
    uri = path.as_uri()
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(types.TextDocumentItem(uri, "elixir", 1, TEXT))
    )

    async def pull() -> list[tuple[object, object]]:
        report = await client.text_document_diagnostic_async(
            types.DocumentDiagnosticParams(types.TextDocumentIdentifier(uri))
        )
        return [(d.code, d.severity) for d in report.items]  # type: ignore[union-attr]

    assert await pull() == [("OTP101", types.DiagnosticSeverity.Warning)]
    refreshes = client.diagnostic_refresh_count  # a new file in the index asks for one too

    # The settings arrive after the first pull (Neovim answers workspace/configuration late).
    client.set_configuration({"rules": {"OTP101": "error"}}, section="otpThinking")
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings=None))
    for _ in range(200):
        if client.diagnostic_refresh_count > refreshes:
            break
        await asyncio.sleep(0.05)
    assert client.diagnostic_refresh_count == refreshes + 1, (
        "the server did not ask the client to pull again"
    )
    assert await pull() == [("OTP101", types.DiagnosticSeverity.Error)]


async def test_first_pull_waits_for_settings_answered_late(client: LanguageClient, tmp_path):
    capabilities = client_capabilities("neovim")  # pulls, answers configuration, no refresh
    release = asyncio.Event()

    async def late_configuration(params: types.ConfigurationParams) -> list[object]:
        await release.wait()
        return [{"rules": {"OTP101": "error"}} for _ in params.items]

    # Replace pytest-lsp's immediate answer with one that comes after the first pull is sent.
    client.protocol.fm.features[types.WORKSPACE_CONFIGURATION] = late_configuration
    root = copy_examples(tmp_path)
    await client.initialize_session(
        types.InitializeParams(capabilities=capabilities, root_uri=root.as_uri())
    )
    path = root / "lib" / "storefront" / "lookup.ex"
    path.write_text(TEXT, "utf-8")
    uri = path.as_uri()
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(types.TextDocumentItem(uri, "elixir", 1, TEXT))
    )
    pull = asyncio.ensure_future(
        client.text_document_diagnostic_async(
            types.DocumentDiagnosticParams(types.TextDocumentIdentifier(uri))
        )
    )
    await asyncio.sleep(0.5)
    assert not pull.done(), "the first pull was answered before the settings arrived"
    release.set()
    report = await asyncio.wait_for(pull, timeout=10)
    assert [(d.code, d.severity) for d in report.items] == [  # type: ignore[union-attr]
        ("OTP101", types.DiagnosticSeverity.Error)
    ]
