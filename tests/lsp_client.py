"""Helpers for end-to-end tests: start the real server under an editor's capabilities, wait for
its diagnostics (pushed or pulled), and apply WorkspaceEdits the way a client would."""

from __future__ import annotations

import asyncio
import shutil
import sys
from pathlib import Path

from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
SERVER = ClientServerConfig(server_command=[sys.executable, "-m", "otp_thinking", "lsp"])

# The capability profiles pytest-lsp ships, and the encoding each should end up with.
PROFILES = {
    "visual-studio-code": "utf-16",  # sends no positionEncodings
    "neovim": "utf-8",  # 0.11: offers utf-8 first, pulls diagnostics
    "emacs": "utf-32",  # 29.1: offers utf-32 first
}


def copy_examples(tmp_path: Path) -> Path:
    root = tmp_path / "storefront"
    shutil.copytree(EXAMPLES, root, ignore=shutil.ignore_patterns(".otp-thinking-cache"))
    return root


def answer_editor_requests(client: LanguageClient) -> None:
    """Answer `client/registerCapability` (file watchers, kept) and the refresh requests as an
    editor does; pytest-lsp's client knows neither."""
    if types.CLIENT_REGISTER_CAPABILITY in client.protocol.fm.features:
        return
    client.registrations = []  # type: ignore[attr-defined]
    client.lens_refreshes = 0  # type: ignore[attr-defined]

    @client.feature(types.CLIENT_REGISTER_CAPABILITY)
    def register(_client: LanguageClient, params: types.RegistrationParams) -> None:
        client.registrations.extend(params.registrations)  # type: ignore[attr-defined]

    @client.feature(types.WORKSPACE_CODE_LENS_REFRESH)
    def refresh_lenses(_client: LanguageClient, _params: None) -> None:
        client.lens_refreshes += 1  # type: ignore[attr-defined]


async def indexed(
    client: LanguageClient, timeout: float = 30, projects: int = 1
) -> list[types.ProgressParams]:
    """Wait until the server reports ``projects`` projects indexed ($/progress end); the
    progress of the first."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        ended = [
            values
            for token, values in client.progress_reports.items()
            if str(token).startswith("otp-thinking/index")
            and any(isinstance(v, types.WorkDoneProgressEnd) for v in values)
        ]
        if len(ended) >= projects:
            return ended[0]
        await asyncio.sleep(0.02)
    raise AssertionError("the server never finished indexing")


async def start(client: LanguageClient, profile: str, root: Path | None = None, **options):
    answer_editor_requests(client)
    params = types.InitializeParams(
        capabilities=client_capabilities(profile),
        root_uri=root.as_uri() if root else None,
        workspace_folders=[types.WorkspaceFolder(root.as_uri(), root.name)] if root else None,
        initialization_options=options or None,
    )
    record_publishes(client)
    return await client.initialize_session(params)


def units(text: str, encoding: str) -> int:
    if encoding == "utf-8":
        return len(text.encode("utf-8"))
    if encoding == "utf-16":
        return len(text.encode("utf-16-le")) // 2
    return len(text)


def index_for(line: str, character: int, encoding: str) -> int:
    """String index of a client column, computed independently of the server's code."""
    for index in range(len(line) + 1):
        if units(line[:index], encoding) >= character:
            return index
    return len(line)


def pulls(client: LanguageClient) -> bool:
    return client.capabilities is not None and bool(
        client.capabilities.text_document and client.capabilities.text_document.diagnostic
    )


def record_publishes(client: LanguageClient) -> None:
    """Keep every pushed ``(version, diagnostics)`` per URI, so a test never misses a push that
    arrived in the same read as another one."""
    if hasattr(client, "published"):
        return
    client.published = {}  # type: ignore[attr-defined]
    features = client.protocol.fm.features
    original = features[types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS]

    def record(params: types.PublishDiagnosticsParams) -> None:
        client.published.setdefault(params.uri, []).append(  # type: ignore[attr-defined]
            (params.version, list(params.diagnostics))
        )
        original(params)

    features[types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS] = record


async def diagnostics(
    client: LanguageClient, uri: str, version: int | None = None
) -> list[types.Diagnostic]:
    """The server's diagnostics for ``uri``: pulled when the client pulls, else the push for
    ``version`` (``None``: the push that clears a closed document)."""
    if pulls(client):
        report = await client.text_document_diagnostic_async(
            types.DocumentDiagnosticParams(types.TextDocumentIdentifier(uri))
        )
        return list(report.items)  # type: ignore[union-attr]
    record_publishes(client)
    for _ in range(1000):
        pushes = client.published.get(uri, [])  # type: ignore[attr-defined]
        matching = [found for pushed, found in pushes if pushed == version]
        if matching:
            return matching[-1]
        await asyncio.sleep(0.01)
    raise AssertionError(f"no diagnostics for {uri} at version {version}")


def apply_text_edits(text: str, edits: list[types.TextEdit], encoding: str) -> str:
    lines = text.split("\n")
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line) + 1)

    def offset(position: types.Position) -> int:
        line = lines[position.line] if position.line < len(lines) else ""
        return offsets[min(position.line, len(lines))] + index_for(
            line, position.character, encoding
        )

    spans = sorted(
        ((offset(e.range.start), offset(e.range.end), e.new_text) for e in edits), reverse=True
    )
    for start, end, new_text in spans:
        text = text[:start] + new_text + text[end:]
    return text


def edits_by_uri(edit: types.WorkspaceEdit) -> dict[str, tuple[int | None, list[types.TextEdit]]]:
    """uri → (version the edit was made for, its text edits), from either edit shape."""
    found: dict[str, tuple[int | None, list[types.TextEdit]]] = {}
    for change in edit.document_changes or []:
        assert isinstance(change, types.TextDocumentEdit)
        found[change.text_document.uri] = (change.text_document.version, list(change.edits))  # type: ignore[arg-type]
    for uri, text_edits in (edit.changes or {}).items():
        found[uri] = (None, list(text_edits))
    return found
