"""Open documents: each keeps its own Source (text, line index, tree) and its analysis."""

from __future__ import annotations

from dataclasses import dataclass, field

from otp_thinking.config import Config
from otp_thinking.engine import analyze
from otp_thinking.findings import Finding
from otp_thinking.source import Source
from otp_thinking.workspace import Workspace, normal


@dataclass
class Document:
    uri: str
    path: str | None
    source: Source
    version: int
    _findings: tuple[tuple[int, int], list[Finding]] | None = None

    def findings(self, workspace: Workspace) -> list[Finding]:
        """The analysis of the current version, computed at most once per version and state
        of the project index (another file's change can alter cross-file findings)."""
        key = (self.version, workspace.revision)
        if self._findings is None or self._findings[0] != key:
            self._findings = (key, analyze_document(self, workspace))
        return self._findings[1]

    @property
    def analysed_version(self) -> int | None:
        return self._findings[0][0] if self._findings else None

    def result_id(self, workspace: Workspace) -> str:
        """Names this version's diagnostics under the current state of the project index."""
        return f"{self.version}.{workspace.revision}"

    def analysed(self, workspace: Workspace) -> bool:
        return self._findings is not None and self._findings[0] == (
            self.version,
            workspace.revision,
        )


def analyze_document(document: Document, workspace: Workspace) -> list[Finding]:
    config: Config = workspace.base_config
    project = None
    if document.path is not None:
        config = workspace.config_for(document.path)
        project = workspace.project_for(document.path)
    if project is None:
        return analyze(document.source, config=config)
    return analyze(document.source, config=config, project=project)


KEEP_TREES = 16
"""Open documents whose syntax tree stays in memory: the ones edited or opened last. A tree
costs some twenty times its text; another document's is rebuilt (one parse) when next needed."""


@dataclass
class Documents:
    """Open documents by URI, and the workspace that reads their text first."""

    workspace: Workspace
    by_uri: dict[str, Document] = field(default_factory=dict)
    _recent: dict[str, None] = field(default_factory=dict)  # URIs, least recent first
    _pending: set[str] = field(default_factory=set)  # changed, not yet mirrored

    def open(self, uri: str, path: str | None, text: str, version: int) -> Document:
        document = Document(uri, path, Source(text, path), version)
        self.by_uri[uri] = document
        self._mirror(document)
        self._touch(uri)
        return document

    def _touch(self, uri: str) -> None:
        self._recent.pop(uri, None)
        self._recent[uri] = None
        if len(self._recent) > KEEP_TREES:
            for old in list(self._recent)[: len(self._recent) - KEEP_TREES]:
                del self._recent[old]
        if len(self.by_uri) > KEEP_TREES:
            for other, document in self.by_uri.items():
                if other not in self._recent:
                    document.source.release_tree()

    def close(self, uri: str) -> Document | None:
        self._recent.pop(uri, None)
        self._pending.discard(uri)
        document = self.by_uri.pop(uri, None)
        if document is not None and document.path is not None:
            self.workspace.overlay.pop(normal(document.path), None)
            self.workspace.file_changed(document.path, self.workspace.read(document.path))
        return document

    def get(self, uri: str) -> Document | None:
        return self.by_uri.get(uri)

    def by_path(self, path: str) -> Document | None:
        wanted = normal(path)
        for document in self.by_uri.values():
            if document.path is not None and normal(document.path) == wanted:
                return document
        return None

    def changed(self, document: Document) -> None:
        """A document's text changed. The workspace (overlay, project index) hears of it at the
        next `mirror_pending`: once per burst of keystrokes, not once per keystroke."""
        self._pending.add(document.uri)
        self._touch(document.uri)

    def mirror_pending(self) -> None:
        """Bring the workspace up to date with every document changed since last time."""
        while self._pending:
            document = self.by_uri.get(self._pending.pop())
            if document is not None:
                self._mirror(document)

    def _mirror(self, document: Document) -> None:
        """Open buffers win over the disk for the project index (fixes see unsaved text)."""
        if document.path is not None:
            self.workspace.overlay[normal(document.path)] = document.source.text
            self.workspace.file_changed(document.path, document.source.text, document.source)
