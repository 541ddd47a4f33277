"""The language server: a thin adapter from LSP to the analysis core.

Each feature below is a few lines that hand off to the core and convert the answer. The server
owns document text (see `documents.py`): pygls's own document store is bypassed, since its line
splitting differs from the protocol's.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol
from pygls.protocol.language_server import lsp_method
from pygls.uris import to_fs_path

from otp_thinking import __version__, collector, config, lsp_project
from otp_thinking.documents import Document, Documents
from otp_thinking.engine import analyze
from otp_thinking.findings import Edit, Finding, Fix
from otp_thinking.fixing import fix_files, minimal_edits
from otp_thinking.hovers import construct_at
from otp_thinking.lsp_convert import (
    encoding_of,
    path_to_uri,
    to_diagnostic,
    to_offsets,
    to_range,
    to_workspace_edit,
    unknown_rule_diagnostics,
)
from otp_thinking.registry import find_rule
from otp_thinking.rule_docs import document_uri, short_document
from otp_thinking.source import Source
from otp_thinking.symbols import Symbol, outline
from otp_thinking.transport import run_stdio
from otp_thinking.workspace import Workspace, normal

log = logging.getLogger("otp_thinking.lsp")

CONFIG_SECTION = "otpThinking"
EDITOR_ONLY_KEYS = frozenset({"workspaceDiagnostics"})  # settings of the server, not the rules
FIX_ALL_KIND = "source.fixAll.otp-thinking"
PREFERRED_ENCODINGS = (types.PositionEncodingKind.Utf8, types.PositionEncodingKind.Utf32)
SETTINGS_WAIT = 3.0  # seconds a first pull waits for the client's answer to workspace/configuration


class OtpProtocol(LanguageServerProtocol):
    """Negotiates our preferred encoding and leaves document text to the server."""

    @lsp_method(types.INITIALIZE)
    def lsp_initialize(self, params: types.InitializeParams):  # type: ignore[no-untyped-def]
        general = params.capabilities.general
        offered = list(general.position_encodings or []) if general else []
        preferred = [e for e in offered if e in PREFERRED_ENCODINGS]  # in the client's order
        if general is not None and preferred:
            general.position_encodings = [*preferred, *[e for e in offered if e not in preferred]]
        return (yield from super().lsp_initialize(params))

    def handle_message(self, message: Any) -> None:
        """Consecutive didChange notifications only edit text; anything else first brings the
        workspace up to date with them, so it sees every edit as if applied one by one."""
        if getattr(message, "method", None) != types.TEXT_DOCUMENT_DID_CHANGE:
            self._server.mirror_edits()  # type: ignore[attr-defined]
        super().handle_message(message)

    def _execute_handler(
        self,
        msg_id: Any,
        handler: Any,
        callback: Any,
        args: tuple[Any, ...] | None = None,
        kwargs: dict[str, Any] | None = None,
    ) -> None:
        """pygls keeps the future of every handler it runs by id, and forgets it only when it
        answers a request: the futures of notifications and of the steps of generator handlers
        (every didOpen, didChange and didClose here) would pile up for as long as the server
        runs. Finished ones are swept before each handler runs. (Not from a done-callback:
        pygls's shutdown cancels futures while it walks this dict.)"""
        futures = self._request_futures
        for done in [key for key, future in list(futures.items()) if future.done()]:
            futures.pop(done, None)
        super()._execute_handler(msg_id, handler, callback, args, kwargs)

    def _user_handler(self, method: str, params: Any):  # type: ignore[no-untyped-def]
        if (handler := self.fm.features.get(method)) is not None:
            yield handler, (params,), None

    @lsp_method(types.TEXT_DOCUMENT_DID_OPEN)
    def lsp_text_document__did_open(self, params: types.DidOpenTextDocumentParams):  # type: ignore[no-untyped-def]
        yield from self._user_handler(types.TEXT_DOCUMENT_DID_OPEN, params)

    @lsp_method(types.TEXT_DOCUMENT_DID_CHANGE)
    def lsp_text_document__did_change(self, params: types.DidChangeTextDocumentParams):  # type: ignore[no-untyped-def]
        yield from self._user_handler(types.TEXT_DOCUMENT_DID_CHANGE, params)

    @lsp_method(types.TEXT_DOCUMENT_DID_CLOSE)
    def lsp_text_document__did_close(self, params: types.DidCloseTextDocumentParams):  # type: ignore[no-untyped-def]
        yield from self._user_handler(types.TEXT_DOCUMENT_DID_CLOSE, params)


class OtpServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__("otp-thinking", __version__, protocol_cls=OtpProtocol)
        self.editor_settings: dict[str, Any] = {}
        self.documents = Documents(
            Workspace(
                report_config_problems=self.show_problems,
                index_policy="background",
                on_new_root=lambda root: lsp_project.start_indexing(self, [root]),
            )
        )
        self.pending: dict[str, asyncio.Task[None]] = {}
        self._shown: set[str] = set()
        # Set once the settings asked for at `initialized` have arrived (or were never asked).
        self.settings_ready = asyncio.Event()
        self.workspace_diagnostics = False
        """Diagnostics for closed files too (the `workspaceDiagnostics` setting, default off)."""
        self.indexing = lsp_project.Indexing()
        self.locate = lsp_project.RelatedLocator(self)
        self.closed_published: set[str] = set()
        self._closed_task: asyncio.Task[None] | None = None
        self._closed_again = False

    # -- what the client can do -----------------------------------------------------

    @property
    def encoding(self):  # type: ignore[no-untyped-def]
        return encoding_of(self.workspace.position_encoding)

    def capability(self, *path: str) -> Any:
        node: Any = self.client_capabilities
        for name in path:
            node = getattr(node, name, None) if node is not None else None
        return node

    @property
    def client_pulls(self) -> bool:
        return self.capability("text_document", "diagnostic") is not None

    @property
    def resolves_edits(self) -> bool:
        properties = self.capability("text_document", "code_action", "resolve_support")
        return bool(properties and "edit" in (properties.properties or []))

    @property
    def document_changes(self) -> bool:
        return bool(self.capability("workspace", "workspace_edit", "document_changes"))

    # -- settings ---------------------------------------------------------------------

    def apply_settings(self, settings: Any) -> None:
        if isinstance(settings, dict) and CONFIG_SECTION in settings:
            settings = settings[CONFIG_SECTION]
        if settings is None:
            settings = {}
        if isinstance(settings, dict) and EDITOR_ONLY_KEYS & settings.keys():
            settings = dict(settings)
            self._apply_editor_settings(settings.pop("workspaceDiagnostics", False))
        base, problems = config.from_mapping(settings, where="editor settings")
        self.show_problems(problems)
        self.documents.workspace.base_config = base
        self.documents.workspace.forget_configs()
        for document in self.documents.by_uri.values():
            document._findings = None

    def _apply_editor_settings(self, workspace_diagnostics: Any) -> None:
        if not isinstance(workspace_diagnostics, bool):
            self.show_problems(["editor settings: workspaceDiagnostics must be true or false"])
            return
        if workspace_diagnostics and not self.workspace_diagnostics and not self.client_pulls:
            self.publish_closed_soon()
        self.workspace_diagnostics = workspace_diagnostics

    def show_problems(self, problems: list[str]) -> None:
        for problem in problems:
            if problem in self._shown:
                continue
            self._shown.add(problem)
            self.window_show_message(
                types.ShowMessageParams(types.MessageType.Warning, f"otp-thinking: {problem}")
            )

    async def wait_for_settings(self) -> None:
        """Until the settings asked for at `initialized` have arrived (at most SETTINGS_WAIT)."""
        if not self.settings_ready.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.settings_ready.wait(), SETTINGS_WAIT)

    # -- diagnostics --------------------------------------------------------------------

    def schedule(self, uri: str) -> None:
        """Analyse the newest version once the edits already queued have landed; while a run
        is pending, further edits join it instead of starting another."""
        if self.client_pulls:
            return
        task = self.pending.get(uri)
        if task is None or task.done():
            self.pending[uri] = asyncio.ensure_future(self._publish_when_idle(uri))

    def refresh_all(self) -> None:
        """After a settings change: push every open document again, or ask a client that pulls
        to pull again (it would otherwise keep diagnostics made under the old settings)."""
        if not self.client_pulls:
            for uri in list(self.documents.by_uri):
                self.schedule(uri)
        elif self.capability("workspace", "diagnostics", "refresh_support"):
            self.workspace_diagnostic_refresh(None)

    def mirror_edits(self) -> None:
        """Hand the edits typed since last time to the workspace and its index (see
        `Documents.changed`), re-checking other documents after a pause if the index moved."""
        with _index_watch(self, typing=True):
            self.documents.mirror_pending()

    async def _publish_when_idle(self, uri: str) -> None:
        await asyncio.sleep(0)
        await self.wait_for_settings()  # else: defaults first, then the settings (a flicker)
        self.mirror_edits()
        document = self.documents.get(uri)
        if document is None:
            return
        version = document.version
        diagnostics = self.diagnostics(document)
        if self.documents.get(uri) is document and document.version == version:
            self.text_document_publish_diagnostics(
                types.PublishDiagnosticsParams(uri, diagnostics, version)
            )

    def diagnostics(self, document: Document) -> list[types.Diagnostic]:
        findings = document.findings(self.documents.workspace)
        found = [to_diagnostic(document.source, f, self.encoding, self.locate) for f in findings]
        return found + unknown_rule_diagnostics(document.source, self.encoding)

    def publish_closed_soon(self) -> None:
        """Publish closed files' diagnostics (push clients that asked), once at a time."""
        if self._closed_task is not None and not self._closed_task.done():
            self._closed_again = True
            return
        self._closed_task = asyncio.ensure_future(self._publish_closed())

    async def _publish_closed(self) -> None:
        self._closed_again = True
        while self._closed_again:
            self._closed_again = False
            await lsp_project.publish_closed(self)

    def forget_closed(self, uri: str) -> None:
        """A closed file's published diagnostics end when it is opened or deleted."""
        if uri in self.closed_published:
            self.closed_published.discard(uri)
            self.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri, []))

    # -- fixes --------------------------------------------------------------------------

    def lookup_file(self, path: str) -> tuple[str, Source, int | None] | None:
        """An edit's other file: the open buffer when there is one, else the disk."""
        open_document = self.documents.by_path(path)
        if open_document is not None:
            return open_document.uri, open_document.source, open_document.version
        text = self.documents.workspace.read(path)
        if text is None:
            return None
        return path_to_uri(path), Source(text, path), None

    def workspace_edit(self, document: Document, fix: Fix) -> types.WorkspaceEdit | None:
        return to_workspace_edit(
            fix,
            document.uri,
            document.source,
            document.version,
            self.lookup_file,
            self.encoding,
            self.document_changes,
        )


server = OtpServer()


def _path(uri: str) -> str | None:
    return to_fs_path(uri) if uri.startswith("file:") else None


@server.feature(types.INITIALIZE)
def initialize(ls: OtpServer, params: types.InitializeParams) -> None:
    ls.apply_settings(params.initialization_options)


@server.feature(types.INITIALIZED)
async def initialized(ls: OtpServer, params: types.InitializedParams) -> None:
    try:
        if ls.capability("workspace", "configuration"):
            await refresh_configuration(ls)
    finally:
        ls.settings_ready.set()
    lsp_project.start_indexing(ls, lsp_project.workspace_roots(lsp_project.folder_paths(ls)))
    await lsp_project.watch_files(ls)


async def refresh_configuration(ls: OtpServer) -> None:
    try:
        answer = await ls.workspace_configuration_async(
            types.ConfigurationParams([types.ConfigurationItem(section=CONFIG_SECTION)])
        )
    except Exception as error:  # a client that cannot answer keeps the settings it sent
        log.warning("workspace/configuration failed: %s", error)
        return
    if answer and (isinstance(answer[0], dict) or answer[0] == []):  # [] is Lua's empty table
        ls.apply_settings(answer[0])
        ls.refresh_all()


@server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
async def did_change_configuration(
    ls: OtpServer, params: types.DidChangeConfigurationParams
) -> None:
    if ls.capability("workspace", "configuration"):
        await refresh_configuration(ls)
    elif params.settings:
        ls.apply_settings(params.settings)
        ls.refresh_all()


@server.feature(types.TEXT_DOCUMENT_DID_OPEN)
def did_open(ls: OtpServer, params: types.DidOpenTextDocumentParams) -> None:
    item = params.text_document
    ls.forget_closed(item.uri)
    with _index_watch(ls):
        ls.documents.open(item.uri, _path(item.uri), item.text, item.version)
    ls.schedule(item.uri)


@server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
def did_change(ls: OtpServer, params: types.DidChangeTextDocumentParams) -> None:
    document = ls.documents.get(params.text_document.uri)
    if document is None:
        log.warning("didChange for a document that is not open: %s", params.text_document.uri)
        return
    if (
        params.text_document.version is not None
        and params.text_document.version <= document.version
    ):
        log.warning("stale didChange (version %s) ignored", params.text_document.version)
        return
    for change in params.content_changes:
        if isinstance(change, types.TextDocumentContentChangePartial):
            start, end = to_offsets(document.source, change.range, ls.encoding)
            document.source.edit(start, end, change.text)
        else:
            document.source.replace_all(change.text)
    document.version = params.text_document.version
    with _index_watch(ls, typing=True):
        ls.documents.changed(document)
    ls.schedule(document.uri)


@server.feature(types.TEXT_DOCUMENT_DID_SAVE)
def did_save(ls: OtpServer, params: types.DidSaveTextDocumentParams) -> None:
    ls.documents.workspace.forget_configs()
    document = ls.documents.get(params.text_document.uri)
    if document is not None and document.path is not None:
        with _index_watch(ls):
            ls.documents.workspace.file_changed(
                document.path, document.source.text, document.source
            )


@server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
def did_close(ls: OtpServer, params: types.DidCloseTextDocumentParams) -> None:
    uri = params.text_document.uri
    with _index_watch(ls):
        closed = ls.documents.close(uri)
    if closed is not None and not ls.client_pulls:
        ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri, []))


@server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
def did_change_watched_files(ls: OtpServer, params: types.DidChangeWatchedFilesParams) -> None:
    with _index_watch(ls):
        for change in params.changes:
            lsp_project.watched_file_changed(ls, change)
    if any(change.uri.endswith("/mix.exs") for change in params.changes):
        lsp_project.start_indexing(ls, lsp_project.workspace_roots(lsp_project.folder_paths(ls)))


@server.feature(types.WORKSPACE_DID_CHANGE_WORKSPACE_FOLDERS)
def did_change_workspace_folders(
    ls: OtpServer, params: types.DidChangeWorkspaceFoldersParams
) -> None:
    lsp_project.start_indexing(ls, lsp_project.workspace_roots(lsp_project.folder_paths(ls)))


@contextmanager
def _index_watch(ls: OtpServer, typing: bool = False) -> Iterator[None]:
    """Refresh what depends on other files when the change inside altered the project index
    (after a pause when it comes from typing)."""
    before = ls.documents.workspace.revision
    yield
    if ls.documents.workspace.revision != before:
        (lsp_project.index_changed_soon if typing else lsp_project.index_changed)(ls)


@server.feature(
    types.TEXT_DOCUMENT_DIAGNOSTIC,
    types.DiagnosticOptions(
        identifier="otp-thinking", inter_file_dependencies=True, workspace_diagnostics=True
    ),
)
async def pull_diagnostics(
    ls: OtpServer, params: types.DocumentDiagnosticParams
) -> types.DocumentDiagnosticReport:
    # A client may pull before it answers workspace/configuration (Neovim 0.11+ does); not all
    # of them support workspace/diagnostic/refresh, so the first pull waits for the settings.
    await ls.wait_for_settings()
    document = ls.documents.get(params.text_document.uri)
    if document is None:
        return types.RelatedFullDocumentDiagnosticReport(items=[])
    workspace = ls.documents.workspace
    result_id = document.result_id(workspace)
    if params.previous_result_id == result_id and document.analysed(workspace):
        return types.RelatedUnchangedDocumentDiagnosticReport(result_id=result_id)
    return types.RelatedFullDocumentDiagnosticReport(
        items=ls.diagnostics(document), result_id=result_id
    )


@server.feature(types.WORKSPACE_DIAGNOSTIC)
async def workspace_diagnostic(
    ls: OtpServer, params: types.WorkspaceDiagnosticParams
) -> types.WorkspaceDiagnosticReport:
    return await lsp_project.workspace_diagnostic(ls, params)


@server.feature(types.TEXT_DOCUMENT_CODE_LENS, types.CodeLensOptions(resolve_provider=False))
def code_lens(ls: OtpServer, params: types.CodeLensParams) -> list[types.CodeLens]:
    return lsp_project.code_lenses(ls, params.text_document.uri)


@server.command(lsp_project.CALL_SITES_COMMAND)
def call_sites(ls: OtpServer, uri: str, position: Any, locations: list[Any]) -> list[Any]:
    """The call-site lens's command for clients that run no command of their own: the call
    sites, for the client to show."""
    return locations


@server.feature(types.TEXT_DOCUMENT_HOVER)
def hover(ls: OtpServer, params: types.HoverParams) -> types.Hover | None:
    """The docs of the rules that fired here, then the card of the OTP construct under the
    cursor (whether or not a rule fired), separated by a rule."""
    document = ls.documents.get(params.text_document.uri)
    if document is None:
        return None
    offset = to_offsets(
        document.source, types.Range(params.position, params.position), ls.encoding
    )[0]
    hits = [f for f in document.findings(ls.documents.workspace) if f.start <= offset <= f.end]
    sections = []
    for code in dict.fromkeys(f.code for f in hits):
        rule = find_rule(code)
        if rule is not None:
            sections.append(short_document(rule, document_uri(rule.code)))
    construct = construct_at(document.source, offset)
    if construct is not None:
        sections.append(construct.card)
    if hits:
        start, end = hits[0].start, hits[0].end
    elif construct is not None:
        start, end = construct.start, construct.end
    else:
        return None
    return types.Hover(
        contents=types.MarkupContent(types.MarkupKind.Markdown, "\n\n---\n\n".join(sections)),
        range=to_range(document.source, start, end, ls.encoding),
    )


@server.feature(types.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
def document_symbol(
    ls: OtpServer, params: types.DocumentSymbolParams
) -> list[types.DocumentSymbol]:
    """Modules (nested ones inside their parent) and the callbacks each implements."""
    document = ls.documents.get(params.text_document.uri)
    if document is None:
        return []
    return [_document_symbol(document.source, s, ls.encoding) for s in outline(document.source)]


def _document_symbol(source: Source, symbol: Symbol, encoding: Any) -> types.DocumentSymbol:
    module = symbol.kind == "module"
    return types.DocumentSymbol(
        name=symbol.name,
        kind=types.SymbolKind.Module if module else types.SymbolKind.Method,
        detail=None if module else "callback",
        range=to_range(source, symbol.start, symbol.end, encoding),
        selection_range=to_range(source, symbol.name_start, symbol.name_end, encoding),
        children=[_document_symbol(source, child, encoding) for child in symbol.children],
    )


@server.feature(
    types.TEXT_DOCUMENT_CODE_ACTION,
    types.CodeActionOptions(
        code_action_kinds=[types.CodeActionKind.QuickFix, FIX_ALL_KIND],
        resolve_provider=True,
    ),
)
def code_action(ls: OtpServer, params: types.CodeActionParams) -> list[types.CodeAction]:
    document = ls.documents.get(params.text_document.uri)
    if document is None:
        return []
    start, end = to_offsets(document.source, params.range, ls.encoding)
    findings = document.findings(ls.documents.workspace)
    wanted = params.context.only
    actions: list[types.CodeAction] = []
    if _wants(wanted, types.CodeActionKind.QuickFix):
        for finding in findings:
            if finding.start <= end and start <= finding.end:
                actions.extend(_quick_fixes(ls, document, finding))
    if _wants(wanted, FIX_ALL_KIND):
        fix_all = _fix_all(ls, document, findings)
        if fix_all is not None:
            actions.append(fix_all)
    return actions


def _wants(only: Sequence[types.CodeActionKind | str] | None, kind: str) -> bool:
    return only is None or any(kind == k or kind.startswith(f"{k}.") for k in only)


def _quick_fixes(ls: OtpServer, document: Document, finding: Finding) -> list[types.CodeAction]:
    diagnostic = to_diagnostic(document.source, finding, ls.encoding)
    actions = []
    if finding.fix is not None and not _edits_excluded(ls, finding.fix):
        action = types.CodeAction(
            title=finding.fix.title,
            kind=types.CodeActionKind.QuickFix,
            diagnostics=[diagnostic],
            is_preferred=finding.fix.safety == "safe",
            data=_action_data(ls, document, finding),
        )
        if not ls.resolves_edits:
            action.edit = ls.workspace_edit(document, finding.fix)
        actions.append(action)
    for scope in ("line", "file"):
        fix = _disable_fix(document, finding, scope)
        actions.append(
            types.CodeAction(
                title=fix.title,
                kind=types.CodeActionKind.QuickFix,
                diagnostics=[diagnostic],
                edit=ls.workspace_edit(document, fix),
            )
        )
    return actions


def _edits_excluded(ls: OtpServer, fix: Fix) -> bool:
    """Whether the fix edits another file that `[paths] exclude` names (fixes never do)."""
    workspace = ls.documents.workspace
    return any(e.path is not None and workspace.excluded(e.path) for e in fix.edits)


def _disable_fix(document: Document, finding: Finding, scope: str) -> Fix:
    source = document.source
    if scope == "file":
        comment = f"# otp-thinking: disable-file {finding.code}{source.newline}"
        return Fix(f"Disable {finding.code} for this file", (Edit(0, 0, comment),))
    line = source.line_of(finding.start)
    indent = source.line_indent(line)
    comment = f"{indent}# otp-thinking: disable-next-line {finding.code}{source.newline}"
    start = source.line_starts[line]
    return Fix(f"Disable {finding.code} for this line", (Edit(start, start, comment),))


def _same_findings(ls: OtpServer, document: Document, code: Any, text: Any) -> list[Finding]:
    """Findings of ``code`` over the same text: how an action finds its finding again."""
    source = document.source
    return [
        f
        for f in document.findings(ls.documents.workspace)
        if f.code == code and source.text[f.start : f.end] == text
    ]


def _action_data(ls: OtpServer, document: Document, finding: Finding) -> dict[str, Any]:
    text = document.source.text[finding.start : finding.end]
    same = _same_findings(ls, document, finding.code, text)
    return {
        "uri": document.uri,
        "version": document.version,
        "code": finding.code,
        "text": text,
        "occurrence": next((i for i, f in enumerate(same) if f.key == finding.key), 0),
    }


FIX_ALL_TITLE = "Fix all safe otp-thinking findings"


def _fix_all(ls: OtpServer, document: Document, findings: list[Finding]) -> types.CodeAction | None:
    """The fix-all action: computed on `codeAction/resolve` when the client resolves edits (a
    lightbulb request costs no fixing), else now."""
    if not any(
        f.fix is not None and f.fix.safety == "safe" and not _edits_excluded(ls, f.fix)
        for f in findings
    ):
        return None
    action = types.CodeAction(
        title=FIX_ALL_TITLE,
        kind=FIX_ALL_KIND,
        data={"uri": document.uri, "version": document.version, "fixAll": True},
    )
    if not ls.resolves_edits:
        action.edit = _fix_all_edit(ls, document)
        if action.edit is None:
            return None
    return action


def _fix_all_edit(ls: OtpServer, document: Document) -> types.WorkspaceEdit | None:
    """Every safe fix of the document, applied by the fixer `check --fix` uses to a preview of
    the workspace, as minimal edits to each file it changed (open ones at their version)."""
    preview = ls.documents.workspace.preview()
    path = document.path
    key = normal(path if path is not None else document.uri)
    preview.overlay[key] = document.source.text

    def analyse(name: str, text: str) -> list[Finding]:
        if path is None:
            return analyze(Source(text, None), config=preview.base_config)
        project = preview.project_for(name)
        return analyze(Source(text, name), config=preview.config_for(name), project=project)

    def editable(name: str) -> bool:
        return name == key if path is None else not preview.excluded(name)

    result = fix_files(preview, [key], analyse, editable=editable)
    if not result.changes:
        return None
    edits: list[Edit] = []
    for changed, change in result.changes.items():
        target = None if changed == key else changed
        edits.extend(minimal_edits(change.before, change.after, target))

    def lookup(name: str) -> tuple[str, Source, int | None] | None:
        change = result.changes[normal(name)]
        open_document = ls.documents.by_path(name)
        if open_document is not None:
            return open_document.uri, Source(change.before, name), open_document.version
        return path_to_uri(name), Source(change.before, name), None

    return to_workspace_edit(
        Fix(FIX_ALL_TITLE, tuple(edits)),
        document.uri,
        Source(result.changes[key].before, path) if key in result.changes else document.source,
        document.version,
        lookup,
        ls.encoding,
        ls.document_changes,
    )


@server.feature(types.CODE_ACTION_RESOLVE)
def resolve_code_action(ls: OtpServer, action: types.CodeAction) -> types.CodeAction:
    """Compute the edit now, against the current text: a finding from an older version is
    found again by its code, text and occurrence, or the action stays without an edit."""
    data = action.data if isinstance(action.data, dict) else {}
    document = ls.documents.get(str(data.get("uri", "")))
    if document is None:
        return action
    if data.get("fixAll"):
        action.edit = _fix_all_edit(ls, document)
        return action
    same = _same_findings(ls, document, data.get("code"), data.get("text"))
    index = data.get("occurrence", 0)
    if isinstance(index, int) and 0 <= index < len(same) and same[index].fix is not None:
        action.edit = ls.workspace_edit(document, same[index].fix)  # type: ignore[arg-type]
    return action


def serve(tcp: tuple[str, int] | None = None) -> int:
    """Serve on stdio (or TCP) until `exit`; the process's exit code."""
    logging.basicConfig(level=logging.INFO, format="otp-thinking: %(levelname)s %(message)s")
    logging.getLogger("pygls").setLevel(logging.WARNING)  # it logs every message at INFO
    collector.tune()
    if tcp is not None:
        server.start_tcp(*tcp)
        return 0
    return run_stdio(server)
