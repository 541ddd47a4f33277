"""The project view end to end: background indexing with progress and cancellation, cross-file
diagnostics kept current, related information, workspace diagnostics and the call-site lens."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import pytest_lsp
from lsp_client import (
    SERVER,
    answer_editor_requests,
    copy_examples,
    diagnostics,
    edits_by_uri,
    pulls,
)
from lsprotocol import types
from pytest_lsp import LanguageClient, client_capabilities
from test_cli import run

from otp_thinking import cache as disk_cache
from otp_thinking.lsp_project import CALL_SITES_COMMAND, SHOW_CALL_SITES_COMMAND


@pytest_lsp.fixture(config=SERVER)
async def client(lsp_client: LanguageClient):
    yield
    await lsp_client.shutdown_session()


async def _start(
    client: LanguageClient,
    profile: str,
    folders: list[Path],
    options: dict | None = None,
    experimental: object = None,
) -> types.InitializeResult:
    answer_editor_requests(client)
    capabilities = client_capabilities(profile)
    if experimental is not None:
        capabilities.experimental = experimental
    return await client.initialize_session(
        types.InitializeParams(
            capabilities=capabilities,
            root_uri=folders[0].as_uri(),
            workspace_folders=[types.WorkspaceFolder(f.as_uri(), f.name) for f in folders],
            initialization_options=options,
        )
    )


async def _indexing_ends(client: LanguageClient, count: int = 1, timeout: float = 30) -> list:
    """The progress of each finished indexing run (begin, reports, end), once ``count`` ended."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        runs = [
            values
            for token, values in client.progress_reports.items()
            if str(token).startswith("otp-thinking/index")
            and any(isinstance(v, types.WorkDoneProgressEnd) for v in values)
        ]
        if len(runs) >= count:
            return runs
        await asyncio.sleep(0.02)
    raise AssertionError(f"{count} indexing runs did not end")


def _open(client: LanguageClient, path: Path, version: int = 1) -> str:
    uri = path.as_uri()
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            types.TextDocumentItem(uri, "elixir", version, path.read_text("utf-8"))
        )
    )
    return uri


async def _published(client: LanguageClient, uri: str, accept, timeout: float = 15):
    """The next diagnostics published for ``uri`` that ``accept`` takes."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        params = await asyncio.wait_for(
            client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS),
            timeout=max(0.1, deadline - loop.time()),
        )
        if params.uri == uri and accept(params.diagnostics):
            return list(params.diagnostics)
    raise AssertionError(f"no accepted diagnostics for {uri}")


def _codes(found) -> list[str]:
    return [str(d.code) for d in found]


# -- indexing ------------------------------------------------------------------------------


async def test_indexing_reports_progress_and_enables_cross_file_rules(
    client: LanguageClient, tmp_path: Path
) -> None:
    root = copy_examples(tmp_path)
    await _start(client, "visual-studio-code", [root])
    [progress] = await _indexing_ends(client)
    begin, *reports, end = progress
    assert isinstance(begin, types.WorkDoneProgressBegin)
    assert begin.title == "otp-thinking: indexing" and begin.cancellable
    assert all(isinstance(r, types.WorkDoneProgressReport) for r in reports)
    assert reports[-1].percentage == 100
    files = len(list(root.rglob("*.ex*")))
    assert end.message == f"{files} files indexed"
    [watch] = client.registrations  # type: ignore[attr-defined]
    assert watch.method == types.WORKSPACE_DID_CHANGE_WATCHED_FILES
    assert watch.register_options["watchers"][0]["globPattern"] == "**/*.{ex,exs}"

    uri = _open(client, root / "lib" / "storefront" / "checkout.ex")
    found = await diagnostics(client, uri, version=1)
    assert "OTP105" in _codes(found)


REPORT = """defmodule Storefront.Report do
  def stock(sku), do: Storefront.Inventory.level(sku)
end
"""


def _cache_entries(root: Path) -> dict:
    [file] = (root / ".otp-thinking-cache").glob("*.cache")
    loaded = disk_cache.open_cache(root, file.stem)
    loaded.load_summaries()
    return loaded.entries


async def test_indexing_shares_the_cache_on_disk_with_the_command_line(
    client: LanguageClient, tmp_path: Path
) -> None:
    root = copy_examples(tmp_path)
    cold = run("check", "--jobs", "1", ".", cwd=root)  # writes the cache
    written = _cache_entries(root)
    (root / "lib" / "storefront" / "report.ex").write_text(REPORT, "utf-8")
    await _start(client, "visual-studio-code", [root])
    await _indexing_ends(client)
    entries = _cache_entries(root)
    files = sorted(p.relative_to(root).as_posix() for p in root.rglob("*.ex*"))
    assert sorted(entries) == files  # by path in the project, whoever wrote them
    for key, entry in written.items():  # what the command line stored is read, not redone
        assert entries[key] == entry
    assert entries["lib/storefront/report.ex"].summary.path == str(
        root / "lib/storefront/report.ex"
    )

    uri = _open(client, root / "lib" / "storefront" / "checkout.ex")
    assert "OTP105" in _codes(await diagnostics(client, uri, version=1))
    warm = run("check", "--jobs", "1", ".", cwd=root)
    assert warm.stdout == run("check", "--jobs", "1", "--no-cache", ".", cwd=root).stdout
    assert warm.stdout != cold.stdout  # the new module calls Storefront.Inventory: OTP106 says 4


async def test_cancelling_indexing_leaves_cross_file_rules_silent(
    client: LanguageClient, tmp_path: Path
) -> None:
    root = copy_examples(tmp_path)
    bulk = root / "lib" / "bulk"
    bulk.mkdir()
    for number in range(1500):
        (bulk / f"m{number}.ex").write_text(
            f"defmodule Storefront.Bulk{number} do\n  def f(x), do: Enum.map(x, & &1)\nend\n",
            "utf-8",
        )
    await _start(client, "visual-studio-code", [root])
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 20
    token = None
    while token is None and loop.time() < deadline:
        token = next(
            (t for t in client.progress_reports if str(t).startswith("otp-thinking/index")), None
        )
        await asyncio.sleep(0.005)
    assert token is not None
    client.window_work_done_progress_cancel(types.WorkDoneProgressCancelParams(token))
    [progress] = await _indexing_ends(client)
    assert progress[-1].message == "indexing cancelled: cross-file checks are off"

    uri = _open(client, root / "lib" / "storefront" / "checkout.ex")
    found = await diagnostics(client, uri, version=1)
    assert "OTP105" not in _codes(found)


# -- kept current -----------------------------------------------------------------------


@pytest.mark.parametrize("profile", ["visual-studio-code", "neovim"])
async def test_an_edit_in_another_buffer_updates_cross_file_findings(
    client: LanguageClient, tmp_path: Path, profile: str
) -> None:
    root = copy_examples(tmp_path)
    await _start(client, profile, [root])
    await _indexing_ends(client)
    checkout = _open(client, root / "lib" / "storefront" / "checkout.ex")
    assert "OTP105" in _codes(await diagnostics(client, checkout, version=1))

    application = root / "lib" / "storefront" / "application.ex"
    app_uri = _open(client, application)
    text = application.read_text("utf-8")
    started = text.replace(
        "children = [",
        "children = [\n      {Registry, keys: :unique, name: Storefront.CartRegistry},",
    )
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            types.VersionedTextDocumentIdentifier(version=2, uri=app_uri),
            [types.TextDocumentContentChangeWholeDocument(started)],
        )
    )
    if pulls(client):
        await asyncio.sleep(0.3)
        assert "OTP105" not in _codes(await diagnostics(client, checkout))
    else:
        await _published(client, checkout, lambda found: "OTP105" not in _codes(found))


async def test_a_file_deleted_on_disk_leaves_the_index(
    client: LanguageClient, tmp_path: Path
) -> None:
    root = copy_examples(tmp_path)
    await _start(client, "neovim", [root])
    await _indexing_ends(client)
    inventory = _open(client, root / "lib" / "storefront" / "inventory.ex")
    assert "OTP106" in _codes(await diagnostics(client, inventory))
    supplier = root / "lib" / "storefront" / "supplier.ex"
    supplier.unlink()
    client.workspace_did_change_watched_files(
        types.DidChangeWatchedFilesParams(
            [types.FileEvent(supplier.as_uri(), types.FileChangeType.Deleted)]
        )
    )
    await asyncio.sleep(0.3)
    assert "OTP106" not in _codes(await diagnostics(client, inventory))  # two callers left


# -- related information and the lens -----------------------------------------------------


async def test_hot_path_lists_call_sites_as_related_information(
    client: LanguageClient, tmp_path: Path
) -> None:
    root = copy_examples(tmp_path)
    await _start(client, "neovim", [root])
    await _indexing_ends(client)
    uri = _open(client, root / "lib" / "storefront" / "inventory.ex")
    [hot] = [d for d in await diagnostics(client, uri) if d.code == "OTP106"]
    related = hot.related_information or []
    assert sorted(Path(r.location.uri).name for r in related) == [
        "checkout.ex",
        "price_cache.ex",
        "supplier.ex",
    ]
    supplier = next(r for r in related if r.location.uri.endswith("supplier.ex"))
    line = (root / "lib" / "storefront" / "supplier.ex").read_text("utf-8").splitlines()
    at = supplier.location.range
    assert line[at.start.line][at.start.character : at.end.character] == (
        "Storefront.Inventory.level(sku)"
    )
    assert supplier.message == "Storefront.Supplier calls Storefront.Inventory.level"


@pytest.mark.parametrize(
    ("experimental", "command"),
    [
        (None, CALL_SITES_COMMAND),
        ({"commands": [SHOW_CALL_SITES_COMMAND]}, SHOW_CALL_SITES_COMMAND),
    ],
)
async def test_call_site_lens(
    client: LanguageClient, tmp_path: Path, experimental: object, command: str
) -> None:
    root = copy_examples(tmp_path)
    await _start(client, "neovim", [root], experimental=experimental)
    await _indexing_ends(client)
    uri = _open(client, root / "lib" / "storefront" / "inventory.ex")
    [lens] = await client.text_document_code_lens_async(
        types.CodeLensParams(types.TextDocumentIdentifier(uri))
    )
    assert lens.range.start == types.Position(5, 2)  # `use GenServer`
    assert lens.command is not None
    assert lens.command.title == "4 call sites from 3 modules"  # Checkout calls it twice
    assert lens.command.command == command
    lens_uri, position, locations = lens.command.arguments  # type: ignore[misc]
    assert lens_uri == uri and position == {"line": 5, "character": 2}
    assert len(locations) == 4
    if command == CALL_SITES_COMMAND:
        answer = await client.workspace_execute_command_async(
            types.ExecuteCommandParams(command, lens.command.arguments)
        )
        assert answer == locations


# -- workspace diagnostics ----------------------------------------------------------------


async def test_workspace_diagnostics_for_pulling_clients(
    client: LanguageClient, tmp_path: Path
) -> None:
    root = copy_examples(tmp_path)
    result = await _start(client, "neovim", [root], {"workspaceDiagnostics": True})
    assert result.capabilities.diagnostic_provider.workspace_diagnostics  # type: ignore[union-attr]
    await _indexing_ends(client)
    _open(client, root / "lib" / "storefront" / "price_cache.ex")
    report = await client.workspace_diagnostic_async(types.WorkspaceDiagnosticParams([]))
    by_file = {Path(item.uri).name: item for item in report.items}
    assert "price_cache.ex" not in by_file  # open: it comes through textDocument/diagnostic
    assert _codes(by_file["checkout.ex"].items) == ["OTP105"]  # type: ignore[union-attr]
    assert list(by_file["application.ex"].items) == []  # type: ignore[union-attr]

    previous = [types.PreviousResultId(i.uri, i.result_id) for i in report.items]  # type: ignore[arg-type]
    again = await client.workspace_diagnostic_async(types.WorkspaceDiagnosticParams(previous))
    assert all(isinstance(i, types.WorkspaceUnchangedDocumentDiagnosticReport) for i in again.items)


async def test_workspace_diagnostics_are_off_by_default(
    client: LanguageClient, tmp_path: Path
) -> None:
    root = copy_examples(tmp_path)
    await _start(client, "neovim", [root])
    await _indexing_ends(client)
    report = await client.workspace_diagnostic_async(types.WorkspaceDiagnosticParams([]))
    assert list(report.items) == []


async def test_closed_files_are_published_only_when_asked(
    client: LanguageClient, tmp_path: Path
) -> None:
    root = copy_examples(tmp_path)
    await _start(client, "visual-studio-code", [root], {"workspaceDiagnostics": True})
    checkout = (root / "lib" / "storefront" / "checkout.ex").as_uri()
    found = await _published(client, checkout, lambda found: bool(found))
    assert _codes(found) == ["OTP105"]


async def test_closed_files_stay_quiet_by_default(client: LanguageClient, tmp_path: Path) -> None:
    root = copy_examples(tmp_path)
    await _start(client, "visual-studio-code", [root])
    await _indexing_ends(client)
    await asyncio.sleep(0.5)
    assert client.diagnostics == {}


# -- umbrellas and several folders -------------------------------------------------------


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, "utf-8")
    return path


def _mix(path: Path, app: str) -> None:
    name = app.capitalize()
    _write(path / "mix.exs", f"defmodule {name}.MixProject do\n  use Mix.Project\nend\n")


async def test_umbrella_apps_and_a_second_folder(client: LanguageClient, tmp_path: Path) -> None:
    umbrella = tmp_path / "umbrella"
    _mix(umbrella, "umbrella")
    _mix(umbrella / "apps" / "core", "core")
    _mix(umbrella / "apps" / "web", "web")
    _write(
        umbrella / "apps" / "core" / "lib" / "core" / "application.ex",
        """defmodule Core.Application do
  use Application

  def start(_type, _args) do
    children = [{Task.Supervisor, name: Core.Tasks}]
    Supervisor.start_link(children, strategy: :one_for_one)
  end
end
""",
    )
    web = _write(
        umbrella / "apps" / "web" / "lib" / "web" / "page.ex",
        """defmodule Web.Page do
  def render(x) do
    Task.Supervisor.start_child(Core.Tasks, fn -> x end)
    Task.Supervisor.start_child(Web.Tasks, fn -> x end)
  end
end
""",
    )
    other = tmp_path / "other"
    _mix(other, "other")
    tool = _write(
        other / "lib" / "tool.ex",
        "defmodule Other.Tool do\n  def go, do: :pg.join(:other_scope, :g, self())\nend\n",
    )
    await _start(client, "neovim", [umbrella, other], {"rules": {"OTP105": "on"}})
    await _indexing_ends(client, count=2)
    page = await diagnostics(client, _open(client, web))
    assert [(d.code, d.range.start.line) for d in page] == [("OTP105", 3)]
    assert "Web.Tasks" in page[0].message
    assert _codes(await diagnostics(client, _open(client, tool))) == ["OTP105"]


async def test_quick_fix_starts_the_missing_child_in_the_application(
    client: LanguageClient, tmp_path: Path
) -> None:
    root = copy_examples(tmp_path)
    await _start(client, "neovim", [root])
    await _indexing_ends(client)
    uri = _open(client, root / "lib" / "storefront" / "checkout.ex")
    [missing] = [d for d in await diagnostics(client, uri) if d.code == "OTP105"]
    actions = await client.text_document_code_action_async(
        types.CodeActionParams(
            types.TextDocumentIdentifier(uri),
            missing.range,
            types.CodeActionContext(diagnostics=[missing]),
        )
    )
    title = (
        "Start {Registry, keys: :unique, name: Storefront.CartRegistry} in Storefront.Application"
    )
    [fix] = [a for a in actions if a.title == title]
    if fix.edit is None:
        fix = await client.code_action_resolve_async(fix)
    assert fix.edit is not None
    edits = edits_by_uri(fix.edit)
    assert list(edits) == [(root / "lib" / "storefront" / "application.ex").as_uri()]
    [edit] = next(iter(edits.values()))[1]
    assert "{Registry, keys: :unique, name: Storefront.CartRegistry}" in edit.new_text
    # Previewing "fix all" did not teach the server's index about the preview's texts.
    assert "OTP105" in _codes(await diagnostics(client, uri))
