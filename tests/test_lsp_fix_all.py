"""The editor's fix-all, under each editor's capabilities: computed on `codeAction/resolve` when
the client resolves edits, minimal edits to each file it changes (open ones at their version,
closed ones too), the child a GenServer in `application.ex` needs added once, and files that
`[paths] exclude` names never edited."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import pytest_lsp
from lsp_client import PROFILES, SERVER, apply_text_edits, diagnostics, edits_by_uri, indexed, start
from lsprotocol import types
from pytest_lsp import LanguageClient
from test_cli_fixing import CHILD, REWRITTEN, make_project

from otp_thinking.findings import apply_edits
from otp_thinking.fixing import minimal_edits
from otp_thinking.source import Source

FIX_ALL = "source.fixAll.otp-thinking"
# Wide characters before the call: its columns differ in each encoding.
WIDE = '    _ = "🎉 é"; task = Task.async(fn -> :work end)\n'


@pytest_lsp.fixture(config=SERVER, params=list(PROFILES))
async def client(lsp_client: LanguageClient, request: pytest.FixtureRequest):
    lsp_client.profile = request.param  # type: ignore[attr-defined]
    yield
    await lsp_client.shutdown_session()


def resolves_edits(client: LanguageClient) -> bool:
    actions = client.capabilities.text_document.code_action  # type: ignore[union-attr]
    support = actions.resolve_support if actions else None
    return bool(support and "edit" in support.properties)


def versioned(client: LanguageClient) -> bool:
    edits = client.capabilities.workspace.workspace_edit  # type: ignore[union-attr]
    return bool(edits and edits.document_changes)


async def open_file(client: LanguageClient, path: Path, version: int = 1) -> str:
    uri = path.as_uri()
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            types.TextDocumentItem(uri, "elixir", version, path.read_text("utf-8"))
        )
    )
    await diagnostics(client, uri, version=version)
    return uri


async def fix_all(client: LanguageClient, uri: str) -> types.CodeAction | None:
    """The fix-all action the lightbulb offers, checked to carry its edit only when the client
    cannot resolve it, and then resolved."""
    actions = await client.text_document_code_action_async(
        types.CodeActionParams(
            types.TextDocumentIdentifier(uri),
            types.Range(types.Position(0, 0), types.Position(0, 0)),
            types.CodeActionContext(diagnostics=[], only=[FIX_ALL]),
        )
    )
    action = next((a for a in actions or [] if a.kind == FIX_ALL), None)
    if action is None:
        return None
    assert (action.edit is None) == resolves_edits(client)
    if action.edit is None:
        action = await client.code_action_resolve_async(action)
    return action


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.split("\n")) if needle in line)


def assert_minimal(text: str, edits: list[types.TextEdit], lines: set[int]) -> None:
    """Each edit stays on one of ``lines`` of ``text``: nothing like a whole-document edit."""
    for edit in edits:
        assert edit.range.start.line in lines and edit.range.end.line in lines, edit
        assert len(edit.new_text) < len(text) // 2


async def test_fix_all_edits_the_call_and_the_closed_application_minimally(
    client: LanguageClient, tmp_path: Path
) -> None:
    root = make_project(tmp_path / "shop", ["Mailer"])
    mailer = root / "lib" / "shop" / "mailer.ex"
    mailer.write_text(
        mailer.read_text("utf-8").replace("    task = Task.async(fn -> :work end)\n", WIDE),
        "utf-8",
    )
    application = root / "lib" / "shop" / "application.ex"
    result = await start(client, client.profile, root)  # type: ignore[attr-defined]
    encoding = result.capabilities.position_encoding
    await indexed(client)
    uri = await open_file(client, mailer)

    action = await fix_all(client, uri)
    assert action is not None and action.edit is not None
    edits = edits_by_uri(action.edit)
    assert set(edits) == {uri, application.as_uri()}

    text = mailer.read_text("utf-8")
    version, mine = edits[uri]
    assert version == (1 if versioned(client) else None)
    assert_minimal(text, mine, {line_of(text, "Task.async")})
    fixed = apply_text_edits(text, mine, encoding)
    assert fixed == text.replace("Task.async(fn", REWRITTEN)

    app_text = application.read_text("utf-8")
    app_version, app_edits = edits[application.as_uri()]
    assert app_version is None  # not open: no version to check against
    assert_minimal(app_text, app_edits, {line_of(app_text, "Shop.Repo")})
    fixed_app = apply_text_edits(app_text, app_edits, encoding)
    assert fixed_app.count(CHILD) == 1
    assert f"      Shop.Repo,\n      {CHILD}\n" in fixed_app  # after the Repo its tasks may use
    assert not Source(fixed).tree.root_node.has_error
    assert not Source(fixed_app).tree.root_node.has_error


async def test_a_genserver_in_the_application_file_gets_its_child_once(
    client: LanguageClient, tmp_path: Path
) -> None:
    root = make_project(tmp_path / "shop", [], in_application=True)
    application = root / "lib" / "shop" / "application.ex"
    result = await start(client, client.profile, root)  # type: ignore[attr-defined]
    encoding = result.capabilities.position_encoding
    await indexed(client)
    uri = await open_file(client, application, version=3)

    action = await fix_all(client, uri)
    assert action is not None and action.edit is not None
    edits = edits_by_uri(action.edit)
    assert list(edits) == [uri]
    text = application.read_text("utf-8")
    version, mine = edits[uri]
    assert version == (3 if versioned(client) else None)
    assert_minimal(text, mine, {line_of(text, "Task.async"), line_of(text, "Shop.Repo")})
    fixed = apply_text_edits(text, mine, encoding)
    assert fixed.count(CHILD) == 1 and fixed.count(REWRITTEN) == 1
    assert not Source(fixed).tree.root_node.has_error

    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            types.VersionedTextDocumentIdentifier(version=4, uri=uri),
            [types.TextDocumentContentChangeWholeDocument(fixed)],
        )
    )
    assert await diagnostics(client, uri, version=4) == []
    again = await fix_all(client, uri)
    assert again is None or again.edit is None


async def test_an_open_application_is_edited_at_its_version(
    client: LanguageClient, tmp_path: Path
) -> None:
    root = make_project(tmp_path / "shop", ["Mailer"])
    application = root / "lib" / "shop" / "application.ex"
    await start(client, client.profile, root)  # type: ignore[attr-defined]
    await indexed(client)
    app_uri = await open_file(client, application, version=7)
    uri = await open_file(client, root / "lib" / "shop" / "mailer.ex")

    action = await fix_all(client, uri)
    assert action is not None and action.edit is not None
    edits = edits_by_uri(action.edit)
    assert edits[app_uri][0] == (7 if versioned(client) else None)
    assert edits[uri][0] == (1 if versioned(client) else None)


async def test_an_excluded_application_is_never_edited(
    client: LanguageClient, tmp_path: Path
) -> None:
    root = make_project(tmp_path / "shop", ["Mailer"])
    (root / ".otp-thinking.toml").write_text(
        '[rules]\ntask-async = "on"\n\n[paths]\nexclude = ["lib/shop/application.ex"]\n', "utf-8"
    )
    await start(client, client.profile, root)  # type: ignore[attr-defined]
    await indexed(client)
    uri = await open_file(client, root / "lib" / "shop" / "mailer.ex")
    action = await fix_all(client, uri)
    # The rewrite needs the child it would add there: neither is offered.
    assert action is None
    found = [d for d in await diagnostics(client, uri, version=1) if d.code == "OTP101"]
    assert found
    actions = await client.text_document_code_action_async(
        types.CodeActionParams(
            types.TextDocumentIdentifier(uri), found[0].range, types.CodeActionContext(found)
        )
    )
    titles = [a.title for a in actions or []]
    assert "Disable OTP101 for this line" in titles
    assert all(title.startswith("Disable") for title in titles), titles


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("a\nb\nc\n", "a\nx\nb\nc\n"),
        ("a\r\nb\r\nc", "a\r\nb2\r\nc"),
        ("one line", "one longer line"),
        ("x = Task.async(f)\n", "x = Task.Supervisor.async_nolink(S, f)\n"),
        ("keep\n", ""),
        ("", "new\n"),
        ('s = "a\rb"\nt\n', 's = "a\rb"\nt2\n'),
    ],
)
def test_minimal_edits_turn_one_text_into_the_other(before: str, after: str) -> None:
    edits = minimal_edits(before, after)
    assert apply_edits(before, edits) == after
    replaced = sum(e.end - e.start for e in edits)
    common = len(os.path.commonprefix([before, after]))
    assert replaced <= len(before) - common


async def _quick_fix(client: LanguageClient, uri: str, version: int) -> types.WorkspaceEdit:
    """The edit of the quick fix offered for the file's OTP101 diagnostic, resolved."""
    [found] = [d for d in await diagnostics(client, uri, version=version) if d.code == "OTP101"]
    actions = await client.text_document_code_action_async(
        types.CodeActionParams(
            types.TextDocumentIdentifier(uri), found.range, types.CodeActionContext([found])
        )
    )
    action = next(a for a in actions or [] if a.kind == types.CodeActionKind.QuickFix)
    if action.edit is None:
        action = await client.code_action_resolve_async(action)
    assert action.edit is not None
    return action.edit


async def test_two_quick_fixes_applied_one_after_the_other_add_the_child_once(
    client: LanguageClient, tmp_path: Path
) -> None:
    """Each worker's fix starts the Task.Supervisor in the closed `application.ex`. An editor
    applying the first opens that file with the edit (as it reports to the server); the second
    fix, asked for then, uses the supervisor and leaves the application alone."""
    root = make_project(tmp_path / "shop", ["Mailer", "Billing"])
    application = root / "lib" / "shop" / "application.ex"
    result = await start(client, client.profile, root)  # type: ignore[attr-defined]
    encoding = result.capabilities.position_encoding
    await indexed(client)
    mailer = await open_file(client, root / "lib" / "shop" / "mailer.ex")

    first = edits_by_uri(await _quick_fix(client, mailer, 1))
    app_uri = application.as_uri()
    assert set(first) == {mailer, app_uri}
    app_text = apply_text_edits(application.read_text("utf-8"), first[app_uri][1], encoding)
    assert app_text.count(CHILD) == 1
    mailer_text = (root / "lib" / "shop" / "mailer.ex").read_text("utf-8")
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            types.VersionedTextDocumentIdentifier(version=2, uri=mailer),
            [
                types.TextDocumentContentChangeWholeDocument(
                    apply_text_edits(mailer_text, first[mailer][1], encoding)
                )
            ],
        )
    )
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(types.TextDocumentItem(app_uri, "elixir", 1, app_text))
    )
    await diagnostics(client, app_uri, version=1)

    billing = await open_file(client, root / "lib" / "shop" / "billing.ex")
    second = edits_by_uri(await _quick_fix(client, billing, 1))
    assert list(second) == [billing]
    billing_text = (root / "lib" / "shop" / "billing.ex").read_text("utf-8")
    assert REWRITTEN in apply_text_edits(billing_text, second[billing][1], encoding)
