"""The project view in the language server: the workspace indexed in the background (with
`$/progress` and cancellation), kept current, and what it feeds: workspace diagnostics, call-site
code lenses and the related locations of cross-file diagnostics.

Functions here take the server (`lsp.OtpServer`) and are called by the thin handlers in
`lsp.py`; rules never see any of it.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsprotocol import types
from pygls.uris import to_fs_path

from otp_thinking import cache as disk_cache
from otp_thinking.engine import analyze
from otp_thinking.files import SKIPPED_DIRS
from otp_thinking.index import ProjectIndex, project_files, summary_for
from otp_thinking.lsp_convert import path_to_uri, to_diagnostic, to_range
from otp_thinking.model.summary import FileSummary, digest
from otp_thinking.project import find_root
from otp_thinking.source import Source

if TYPE_CHECKING:
    from otp_thinking.lsp import OtpServer

log = logging.getLogger("otp_thinking.lsp")

CALL_SITES_COMMAND = "otp-thinking.callSites"
"""Server command behind the call-site lens: answers the call sites as a list of Locations."""
SHOW_CALL_SITES_COMMAND = "otp-thinking.showCallSites"
"""Client command the lens uses instead when the client declares it (in
``experimental.commands``): arguments are the document URI, the lens position and the call
sites, as for VS Code's ``editor.action.showReferences``."""
YIELD_EVERY = 8  # files summarised between two returns to the event loop
REFRESH_DELAY = 0.25  # seconds other documents wait after an edit that changed the index
PROGRESS_WAIT = 5.0  # seconds to wait for the client to accept a progress token


# -- which projects a workspace holds ---------------------------------------------------------


def workspace_roots(folders: Iterable[str]) -> list[Path]:
    """Project roots (see `project.find_root`: an umbrella's root for its apps) in or above each
    workspace folder; a folder holding several projects side by side gives each of them."""
    roots: dict[str, Path] = {}
    for folder in folders:
        path = Path(folder)
        root = find_root(path / "mix.exs") if (path / "mix.exs").is_file() else find_root(path)
        if root is not None:
            roots.setdefault(os.path.normpath(root), root)
            continue
        for mix in _nested_mix_files(path, depth=2):
            nested = find_root(mix)
            if nested is not None:
                roots.setdefault(os.path.normpath(nested), nested)
    return list(roots.values())


def _nested_mix_files(folder: Path, depth: int) -> Iterable[Path]:
    if depth == 0 or not folder.is_dir():
        return
    try:
        children = sorted(folder.iterdir())
    except OSError:
        return
    for child in children:
        if child.name in SKIPPED_DIRS or child.name.startswith(".") or not child.is_dir():
            continue
        if (child / "mix.exs").is_file():
            yield child / "mix.exs"
        else:
            yield from _nested_mix_files(child, depth - 1)


def folder_paths(ls: OtpServer) -> list[str]:
    folders = [to_fs_path(uri) for uri in ls.workspace.folders]
    if not folders and ls.workspace.root_path:
        folders = [ls.workspace.root_path]
    return [f for f in folders if f]


# -- indexing in the background -----------------------------------------------------------------


class Indexing:
    """Background indexing: one task per project root; the pending refresh after edits."""

    def __init__(self) -> None:
        self.tasks: dict[str, asyncio.Task[None]] = {}
        self.counter = 0
        self.refresh: asyncio.Task[None] | None = None


def start_indexing(ls: OtpServer, roots: Iterable[Path]) -> None:
    """Index each root not indexed yet (a cancelled one again), in the background."""
    for root in roots:
        key = os.path.normpath(root)
        task = ls.indexing.tasks.get(key)
        if task is not None and not task.done():
            continue
        if task is not None and ls.documents.workspace.index_for(root).complete:
            continue
        ls.indexing.tasks[key] = asyncio.ensure_future(index_root(ls, root))


async def index_root(ls: OtpServer, root: Path) -> None:
    workspace = ls.documents.workspace
    index = workspace.index_for(root)  # the (incomplete) index buffer edits already update
    paths = list(project_files(root))
    progress = await _begin_progress(ls, root, len(paths))
    disk = disk_cache.open_cache(root, disk_cache.run_key(workspace.base_config, (), ()))
    cancelled = False
    for done, path in enumerate(paths, start=1):
        if progress is not None and _cancelled(ls, progress):
            cancelled = True
            break
        document = ls.documents.by_path(str(path))
        text = document.source.text if document is not None else workspace.read(path)
        if text is not None and (document is not None or index.summary(path) is None):
            index.update(_summary(ls, disk, root, path, text))
        if progress is not None and (done % 25 == 0 or done == len(paths)):
            _report(ls, progress, done, len(paths))
        if done % YIELD_EVERY == 0:
            await asyncio.sleep(0)
    if cancelled:
        _end_progress(ls, progress, "indexing cancelled: cross-file checks are off")
        log.info("indexing of %s cancelled", root)
        return
    disk.save({str(path) for path in paths})
    index.complete = True
    workspace.revision += 1
    index_changed(ls)  # before the progress ends: a client that saw the end has the refresh
    _end_progress(ls, progress, f"{len(index.files)} files indexed")
    log.info("indexed %s files under %s", len(index.files), root)


def _summary(
    ls: OtpServer, disk: disk_cache.Cache, root: Path, path: Path, text: str
) -> FileSummary:
    """The file's part of the index: from the cache on disk (the command line's and earlier
    sessions') when it holds this text under this configuration, else made and stored."""
    workspace = ls.documents.workspace
    key = disk_cache.summary_key(text, workspace.config_for(path))
    found = disk.summary(str(path), key)
    if found is not None:
        return found
    document = ls.documents.by_path(str(path))
    source = document.source if document is not None else Source(text, str(path))
    summary = workspace.summarize(root, path, text, source)
    disk.store(str(path), disk_cache.Entry(key, summary))
    return summary


async def _begin_progress(ls: OtpServer, root: Path, total: int) -> str | None:
    if not ls.capability("window", "work_done_progress"):
        return None
    ls.indexing.counter += 1
    token = f"otp-thinking/index/{ls.indexing.counter}"
    try:
        await asyncio.wait_for(ls.work_done_progress.create_async(token), PROGRESS_WAIT)
    except Exception as error:  # refused, or no answer: index without progress
        log.warning("window/workDoneProgress/create failed: %r", error)
        return None
    ls.work_done_progress.begin(
        token,
        types.WorkDoneProgressBegin(
            title="otp-thinking: indexing",
            message=f"{root.name}: 0/{total} files",
            percentage=0,
            cancellable=True,
        ),
    )
    return token


def _cancelled(ls: OtpServer, token: str) -> bool:
    future = ls.work_done_progress.tokens.get(token)
    return future is not None and future.cancelled()


def _report(ls: OtpServer, token: str, done: int, total: int) -> None:
    ls.work_done_progress.report(
        token,
        types.WorkDoneProgressReport(
            message=f"{done}/{total} files", percentage=done * 100 // max(total, 1)
        ),
    )


def _end_progress(ls: OtpServer, token: str | None, message: str) -> None:
    if token is not None:
        ls.work_done_progress.end(token, types.WorkDoneProgressEnd(message=message))
        ls.work_done_progress.tokens.pop(token, None)


async def wait_for_index(ls: OtpServer, roots: Iterable[Path]) -> None:
    tasks = [ls.indexing.tasks.get(os.path.normpath(root)) for root in roots]
    pending = [task for task in tasks if task is not None and not task.done()]
    if pending:
        await asyncio.wait(pending)


# -- keeping it current ------------------------------------------------------------------------


def index_changed(ls: OtpServer) -> None:
    """Another file's change can alter any open document's cross-file findings: re-publish
    (push), or ask pulling clients to pull again; refresh lenses; closed files if asked."""
    for uri in list(ls.documents.by_uri):
        ls.schedule(uri)
    if ls.client_pulls and ls.capability("workspace", "diagnostics", "refresh_support"):
        ls.workspace_diagnostic_refresh(None)
    if ls.capability("workspace", "code_lens", "refresh_support"):
        ls.workspace_code_lens_refresh(None)
    if ls.workspace_diagnostics and not ls.client_pulls:
        ls.publish_closed_soon()


def index_changed_soon(ls: OtpServer) -> None:
    """`index_changed` once typing pauses: an edit that changes what a file calls or starts
    would otherwise make every keystroke re-check every open document."""
    if ls.indexing.refresh is not None and not ls.indexing.refresh.done():
        return

    async def later() -> None:
        await asyncio.sleep(REFRESH_DELAY)
        index_changed(ls)

    ls.indexing.refresh = asyncio.ensure_future(later())


def watched_file_changed(ls: OtpServer, event: types.FileEvent) -> None:
    """A file changed on disk: open buffers win; others are read again (or dropped)."""
    path = to_fs_path(event.uri) if event.uri.startswith("file:") else None
    if path is None:
        return
    workspace = ls.documents.workspace
    if path.endswith(".otp-thinking.toml"):
        workspace.forget_configs()
        return
    if not path.endswith((".ex", ".exs")) or ls.documents.by_path(path) is not None:
        return
    if event.type == types.FileChangeType.Deleted:
        workspace.file_changed(path, None)
        ls.forget_closed(path_to_uri(path))
    else:
        workspace.file_changed(path, workspace.read(path))


async def watch_files(ls: OtpServer) -> None:
    """Ask the client to report Elixir sources and configuration changing on disk."""
    if not ls.capability("workspace", "did_change_watched_files", "dynamic_registration"):
        return
    watchers = [
        types.FileSystemWatcher(glob_pattern="**/*.{ex,exs}"),
        types.FileSystemWatcher(glob_pattern="**/.otp-thinking.toml"),
    ]
    registration = types.Registration(
        id="otp-thinking/watched-files",
        method=types.WORKSPACE_DID_CHANGE_WATCHED_FILES,
        register_options=types.DidChangeWatchedFilesRegistrationOptions(watchers=watchers),
    )
    try:
        await ls.client_register_capability_async(types.RegistrationParams([registration]))
    except Exception as error:
        log.warning("could not register file watchers: %s", error)


# -- closed files: workspace diagnostics ----------------------------------------------------


def closed_files(ls: OtpServer) -> list[tuple[ProjectIndex, str]]:
    """Every indexed file no buffer holds, by project."""
    found = []
    for index in ls.documents.workspace.indexes:
        for path in sorted(index.files):
            if ls.documents.by_path(path) is None:
                found.append((index, path))
    return found


def closed_file_diagnostics(ls: OtpServer, path: str) -> tuple[str, list[types.Diagnostic]] | None:
    """A closed file's diagnostics and the id naming them (its text and the index state)."""
    workspace = ls.documents.workspace
    text = workspace.read(path)
    if text is None:
        return None
    source = Source(text, path)
    findings = analyze(
        source, config=workspace.config_for(path), project=workspace.project_for(path)
    )
    diagnostics = [to_diagnostic(source, f, ls.encoding, ls.locate) for f in findings]
    return closed_result_id(ls, text), diagnostics


def closed_result_id(ls: OtpServer, text: str) -> str:
    return f"{digest(text)}.{ls.documents.workspace.revision}"


async def workspace_diagnostic(
    ls: OtpServer, params: types.WorkspaceDiagnosticParams
) -> types.WorkspaceDiagnosticReport:
    """Closed files' diagnostics, when the client's settings ask for them (open files come
    through `textDocument/diagnostic`); files unchanged since ``previous_result_ids`` are
    reported as such without being analysed again."""
    if not ls.workspace_diagnostics:
        return types.WorkspaceDiagnosticReport(items=[])
    await wait_for_index(ls, [Path(i.root) for i in ls.documents.workspace.indexes if i.root])
    previous = {p.uri: p.value for p in params.previous_result_ids}
    items: list[types.WorkspaceDocumentDiagnosticReport] = []
    for count, (_index, path) in enumerate(closed_files(ls), start=1):
        uri = path_to_uri(path)
        text = ls.documents.workspace.read(path)
        if text is None:
            continue
        result_id = closed_result_id(ls, text)
        if previous.get(uri) == result_id:
            items.append(
                types.WorkspaceUnchangedDocumentDiagnosticReport(
                    uri=uri, result_id=result_id, version=None
                )
            )
        else:
            found = closed_file_diagnostics(ls, path)
            if found is not None:
                items.append(
                    types.WorkspaceFullDocumentDiagnosticReport(
                        uri=uri, items=found[1], version=None, result_id=found[0]
                    )
                )
        if count % YIELD_EVERY == 0:
            await asyncio.sleep(0)
    return types.WorkspaceDiagnosticReport(items=items)


async def publish_closed(ls: OtpServer) -> None:
    """Push clients that asked for workspace diagnostics: publish every closed file's."""
    for count, (_index, path) in enumerate(closed_files(ls), start=1):
        uri = path_to_uri(path)
        found = closed_file_diagnostics(ls, path)
        if found is not None and (found[1] or uri in ls.closed_published):
            ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri, found[1]))
            if found[1]:
                ls.closed_published.add(uri)
            else:
                ls.closed_published.discard(uri)
        if count % YIELD_EVERY == 0:
            await asyncio.sleep(0)


# -- related locations and the call-site lens --------------------------------------------------


class RelatedLocator:
    """Client locations for offsets in other files (related information). Each file's text is
    read once (its open buffer first) and its Source kept until the text changes."""

    def __init__(self, ls: OtpServer) -> None:
        self.ls = ls
        self.sources: dict[str, Source] = {}

    def __call__(self, path: str, start: int, end: int) -> types.Location | None:
        source = self._source(path)
        if source is None:
            return None
        return types.Location(path_to_uri(path), to_range(source, start, end, self.ls.encoding))

    def _source(self, path: str) -> Source | None:
        document = self.ls.documents.by_path(path)
        if document is not None:
            return document.source
        text = self.ls.documents.workspace.read(path)
        if text is None:
            self.sources.pop(path, None)
            return None
        cached = self.sources.get(path)
        if cached is None or cached.text != text:
            cached = self.sources[path] = Source(text, path)
        return cached


def code_lenses(ls: OtpServer, uri: str) -> list[types.CodeLens]:
    """ "N call sites" over each `use GenServer` that other code calls, once the index is
    complete (a GenServer nothing calls gets no lens: "0 call sites" says nothing)."""
    document = ls.documents.get(uri)
    if document is None or document.path is None:
        return []
    project = ls.documents.workspace.project_for(document.path)
    if not project.index.complete:
        return []
    summary = summary_for(project.index, document.source)
    lenses = []
    for module in summary.modules:
        if not module.genserver:
            continue
        callers = project.index.facts.callers(module.name)
        count = len(callers.sites)
        if not count:
            continue
        modules = len(callers.modules)
        title = f"{count} call site{'s' if count != 1 else ''}"
        title += f" from {modules} module{'s' if modules != 1 else ''}"
        lens_range = to_range(document.source, module.use_start, module.use_end, ls.encoding)
        locations = [loc for p, s in callers.sites if (loc := ls.locate(p, s.start, s.end))]
        command = _lens_command(ls, uri, lens_range, title, locations)
        lenses.append(types.CodeLens(range=lens_range, command=command))
    return lenses


def _lens_command(
    ls: OtpServer, uri: str, lens_range: types.Range, title: str, locations: list[types.Location]
) -> types.Command:
    arguments: list[Any] = [uri, lens_range.start, locations]
    if SHOW_CALL_SITES_COMMAND in client_commands(ls):
        return types.Command(title=title, command=SHOW_CALL_SITES_COMMAND, arguments=arguments)
    return types.Command(title=title, command=CALL_SITES_COMMAND, arguments=arguments)


def client_commands(ls: OtpServer) -> list[str]:
    """Commands the client says it runs itself (``experimental.commands``, as rust-analyzer's
    clients declare them)."""
    experimental = ls.capability("experimental")
    if isinstance(experimental, dict):
        commands = experimental.get("commands")
        if isinstance(commands, dict):
            commands = commands.get("commands")
        if isinstance(commands, list):
            return [c for c in commands if isinstance(c, str)]
    return []
