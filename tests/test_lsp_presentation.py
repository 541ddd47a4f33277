"""What the editor shows, end to end: no diagnostics before the settings arrive, a short hover
with the whole document a click away, lenses only where there are call sites, an outline."""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

import pytest_lsp
from lsp_client import answer_editor_requests, copy_examples, indexed, record_publishes
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities


def _server(tmp: Path) -> ClientServerConfig:
    env = {"XDG_CACHE_HOME": str(tmp), "PATH": "/usr/bin:/bin", "HOME": str(tmp)}
    return ClientServerConfig([sys.executable, "-m", "otp_thinking", "lsp"], server_env=env)


CACHE_HOME = Path(tempfile.mkdtemp(prefix="otp-thinking-cache-"))  # the server's own cache


@pytest_lsp.fixture(config=_server(CACHE_HOME))
async def client(lsp_client: LanguageClient):
    yield
    await lsp_client.shutdown_session()


async def _start(client: LanguageClient, profile: str, root: Path) -> None:
    answer_editor_requests(client)
    record_publishes(client)
    await client.initialize_session(
        types.InitializeParams(
            capabilities=client_capabilities(profile),
            root_uri=root.as_uri(),
            workspace_folders=[types.WorkspaceFolder(root.as_uri(), root.name)],
        )
    )


def _open(client: LanguageClient, path: Path) -> str:
    uri = path.as_uri()
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            types.TextDocumentItem(uri, "elixir", 1, path.read_text("utf-8"))
        )
    )
    return uri


async def _until(condition, timeout: float = 20) -> None:  # type: ignore[no-untyped-def]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        assert loop.time() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def test_no_diagnostics_under_defaults_before_the_settings_arrive(
    client: LanguageClient, tmp_path: Path
) -> None:
    release = asyncio.Event()

    async def late_configuration(params: types.ConfigurationParams) -> list[object]:
        await release.wait()
        return [{"rules": {"OTP101": "off"}} for _ in params.items]

    client.protocol.fm.features[types.WORKSPACE_CONFIGURATION] = late_configuration
    root = copy_examples(tmp_path)
    await _start(client, "emacs", root)  # pushes diagnostics, answers workspace/configuration
    uri = _open(client, root / "lib" / "storefront" / "price_cache.ex")
    await asyncio.sleep(0.5)
    assert uri not in client.published, "published before the settings arrived"  # type: ignore[attr-defined]
    release.set()
    await _until(lambda: uri in client.published)  # type: ignore[attr-defined]
    await indexed(client)
    await asyncio.sleep(0.3)
    for _version, diagnostics in client.published[uri]:  # type: ignore[attr-defined]
        assert "OTP101" not in {d.code for d in diagnostics}, "a rule turned off flickered"


async def test_short_hover_and_the_whole_document_a_click_away(
    client: LanguageClient, tmp_path: Path
) -> None:
    root = copy_examples(tmp_path)
    await _start(client, "visual-studio-code", root)
    uri = _open(client, root / "lib" / "storefront" / "price_cache.ex")
    await _until(lambda: any(d for _v, d in client.published.get(uri, [])))  # type: ignore[attr-defined]
    [task] = [d for d in client.published[uri][-1][1] if d.code == "OTP101"]  # type: ignore[attr-defined]
    assert task.code_description is not None
    document = Path(task.code_description.href.removeprefix("file://"))
    assert document.is_relative_to(CACHE_HOME)
    assert document.read_text("utf-8").startswith("# OTP101 task-async\n")
    assert "## Why it matters" in document.read_text("utf-8")
    hover = await client.text_document_hover_async(
        types.HoverParams(types.TextDocumentIdentifier(uri), task.range.start)
    )
    assert hover is not None
    text = hover.contents.value  # type: ignore[union-attr]
    assert text.startswith("**OTP101 task-async** (warning): ")
    assert "links the task to the caller" in text  # why
    assert "```elixir" in text  # the example
    assert "## " not in text  # not the whole document
    assert f"]({task.code_description.href})" in text
    assert "`otp-thinking explain OTP101`" in text


async def test_lenses_only_where_there_are_call_sites(
    client: LanguageClient, tmp_path: Path
) -> None:
    root = copy_examples(tmp_path)
    await _start(client, "neovim", root)
    await indexed(client)
    folder = root / "lib" / "storefront"
    for name, titles in (("inventory.ex", ["4 call sites from 3 modules"]), ("stock.ex", [])):
        uri = _open(client, folder / name)
        lenses = await client.text_document_code_lens_async(
            types.CodeLensParams(types.TextDocumentIdentifier(uri))
        )
        assert [lens.command.title for lens in lenses if lens.command] == titles, name


OUTLINE = """defmodule Shop.Cart do
  use GenServer

  def start_link(opts), do: GenServer.start_link(__MODULE__, opts)

  @impl true
  def init(opts), do: {:ok, opts}

  @impl true
  def handle_call(:get, _from, state), do: {:reply, state, state}
  def handle_call({:put, item}, _from, state), do: {:reply, :ok, [item | state]}

  defp helper(x), do: x

  defmodule Item do
    @behaviour Shop.Priced
    @impl Shop.Priced
    def price(item), do: item.price
  end
end
"""


async def test_document_symbols_are_modules_and_their_callbacks(
    client: LanguageClient, tmp_path: Path
) -> None:
    path = tmp_path / "cart.ex"
    path.write_text(OUTLINE, "utf-8")
    await _start(client, "neovim", tmp_path)
    uri = _open(client, path)
    symbols = await client.text_document_document_symbol_async(
        types.DocumentSymbolParams(types.TextDocumentIdentifier(uri))
    )
    [cart] = symbols
    assert isinstance(cart, types.DocumentSymbol)
    assert (cart.name, cart.kind) == ("Shop.Cart", types.SymbolKind.Module)
    assert cart.selection_range.start == types.Position(0, 10)
    children = [(c.name, c.kind) for c in cart.children or []]
    assert children == [
        ("init/1", types.SymbolKind.Method),
        ("handle_call/3", types.SymbolKind.Method),
        ("Shop.Cart.Item", types.SymbolKind.Module),
    ]
    handle_call = (cart.children or [])[1]
    assert (handle_call.range.start.line, handle_call.range.end.line) == (9, 10)  # both clauses
    item = (cart.children or [])[2]
    assert [c.name for c in item.children or []] == ["price/1"]
