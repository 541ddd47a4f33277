"""Files as the analysis sees them: open buffers or pending fixes first, then the disk.

Shared by the CLI (an overlay of fixed texts that `--fix` writes and `--diff` shows) and the
language server (open documents); caches each project's applications, its index of summaries
(built once, then kept current file by file) and configuration.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from otp_thinking.config import CONFIG_FILE, DEFAULT, Config, read_config_file
from otp_thinking.files import defines_application, read_text, repository_root

if TYPE_CHECKING:  # imported when first used: a run that finds everything in its cache never is
    from otp_thinking.index import ProjectIndex
    from otp_thinking.model.summary import FileSummary
    from otp_thinking.project import ProjectContext
    from otp_thinking.source import Source

IndexPolicy = Literal["eager", "background", "off"]


def normal(path: str | Path) -> str:
    """The key of a file or folder: absolute, so that every way of naming it is one key."""
    return os.path.abspath(path)


def _folder_key(path: str | Path) -> str:
    """An Elixir file's folder (files in one folder share root and config); else the path."""
    text = os.fspath(path)
    if not text.endswith((".ex", ".exs")):
        return normal(text)
    folder = os.path.dirname(text)
    key = folder if os.path.isabs(folder) else (os.getcwd(), folder)
    found = _ABSOLUTE_FOLDERS.get(key)
    if found is None:
        found = _ABSOLUTE_FOLDERS[key] = normal(folder)
    return found


_ABSOLUTE_FOLDERS: dict[str | tuple[str, str], str] = {}
"""Folder as named (with the working folder when relative) → `normal` of it: asked for every
file, and each folder's files share it."""


@dataclass
class Workspace:
    """Texts by normalised path, with project and config caches keyed by folder."""

    base_config: Config = DEFAULT
    overlay: dict[str, str] = field(default_factory=dict)
    report_config_problems: Callable[[list[str]], None] = lambda problems: None
    index_policy: IndexPolicy = "eager"
    """How a project's index comes to be: built on first use (the CLI, tests), started in the
    background by ``on_new_root`` while rules see it incomplete (the language server), or
    never (the CLI's workers before the index exists)."""
    on_new_root: Callable[[Path], None] = lambda root: None
    revision: int = 0
    """Grows whenever an index changes in a way that can alter findings in other files."""
    _projects: dict[str, ProjectContext] = field(default_factory=dict)
    _configs: dict[str, tuple[float, Config]] = field(default_factory=dict)
    _indexes: dict[str, ProjectIndex] = field(default_factory=dict)
    # Folder → project root / nearest config file: looked up once, not on every keystroke.
    _roots: dict[str, Path | None] = field(default_factory=dict)
    _config_files: dict[str, Path | None] = field(default_factory=dict)
    _nearest: dict[str, Path | None] = field(default_factory=dict)
    _resolved_roots: dict[str, Path] = field(default_factory=dict)  # symlinks followed
    _real_folders: dict[str, str] = field(default_factory=dict)  # folder as named → real path
    not_applications: frozenset[str] = frozenset()
    """Files (absolute paths) known not to define an application, by the cache on disk: a
    project's applications are looked for in the others only."""

    def read(self, path: str | Path) -> str | None:
        key = normal(path)
        if key in self.overlay:
            return self.overlay[key]
        return read_text(path)

    def hold(self, path: str | Path, text: str | None = None) -> str | None:
        """Keep a file's text in the overlay, so it is held in one place: ``text`` (a fix's
        result), or else the text read now. The project (index, applications) is redone from
        it when it changed, or when the index summarised another text (the disk moved)."""
        key = normal(path)
        if text is None:
            text = self.read(path)
            if text is None:
                return None
            self.overlay[key] = text
            if self._summarised_otherwise(path, text):
                self.file_changed(path, text)
            return text
        self.overlay[key] = text
        self.file_changed(path, text)
        return text

    def _summarised_otherwise(self, path: str | Path, text: str) -> bool:
        root = self.root_for(path)
        index = self._indexes.get(normal(root)) if root is not None else None
        summary = index.summary(path) if index is not None else None
        from otp_thinking.model.summary import digest

        return summary is not None and summary.digest != digest(text)

    def excluded(self, path: str | Path) -> bool:
        """Whether ``[paths] exclude`` of the file's configuration names it (relative to its
        project root): such files are not checked and never edited by fixes."""
        config = self.config_for(path)
        if not config.exclude:
            return False
        root = self.root_for(path)  # the root only: no index is built for this
        resolved = Path(path).resolve()
        if root is not None:
            with contextlib.suppress(ValueError):
                resolved = resolved.relative_to(root.resolve())
        from otp_thinking.context import matches_any

        return matches_any(resolved.as_posix(), config.exclude)

    def file_changed(
        self, path: str | Path, text: str | None, source: Source | None = None
    ) -> None:
        """Keep the project current when one file's text changes (None: it is gone), without
        walking the project again: its summary is redone and only application modules are
        re-read."""
        self.update_index(path, text, source)
        text = text or ""
        root = self.root_for(path)
        if root is None or normal(root) not in self._projects:
            return
        project = self._projects[normal(root)]
        known = {normal(app.path): app.path for app in project.applications}
        if normal(path) not in known and not defines_application(text):
            return
        candidates = {**known, normal(path): Path(path)}
        from otp_thinking.project import scan

        self._projects[normal(root)] = scan(root, self.read, candidates.values(), project.index)

    def root_for(self, path: str | Path) -> Path | None:
        """The project root above ``path`` (see `project.find_root`), cached by folder."""
        key = _folder_key(path)
        if key not in self._roots:
            from otp_thinking.project import find_root

            self._roots[key] = find_root(Path(path))
        return self._roots[key]

    def project_for(self, path: str | Path) -> ProjectContext:
        from otp_thinking.project import EMPTY, scan

        root = self.root_for(path)
        if root is None:
            return EMPTY
        key = normal(root)
        if key not in self._projects:
            self._projects[key] = scan(
                root,
                read_text=self.read,
                index=self.index_for(root),
                plain=self._known_plain if self.not_applications else None,
            )
        return self._projects[key]

    def _known_plain(self, path: Path) -> bool:
        return normal(path) in self.not_applications and normal(path) not in self.overlay

    def preview(self) -> Workspace:
        """A copy to try fixes in: same texts, settings, applications and indexes (copied, so
        the fixed texts it summarises stay out of this workspace's index; never rebuilt from
        disk, and no project walked again)."""
        copy = Workspace(base_config=self.base_config, index_policy="off")
        copy.overlay = dict(self.overlay)
        for index in self._indexes.values():
            copy.set_index(index.copy())
        for key, project in self._projects.items():
            index = copy._indexes.get(key) or project.index.copy()
            copy._projects[key] = replace(
                project, applications=list(project.applications), index=index
            )
        copy._roots = dict(self._roots)
        copy._config_files = dict(self._config_files)
        copy._nearest = dict(self._nearest)
        copy._configs = dict(self._configs)
        copy._resolved_roots = dict(self._resolved_roots)
        copy._real_folders = dict(self._real_folders)
        copy.not_applications = self.not_applications
        copy.revision = 0
        return copy

    # -- the project index ------------------------------------------------------------------

    def index_for(self, root: Path) -> ProjectIndex:
        from otp_thinking.index import ProjectIndex, build_index

        key = normal(root)
        index = self._indexes.get(key)
        if index is None:
            if self.index_policy == "eager":
                index = build_index(root, self.read, self.short_lived_for(root))
            else:
                index = ProjectIndex(root)
            self._indexes[key] = index
            if self.index_policy == "background":
                self.on_new_root(root)
        return index

    def set_index(self, index: ProjectIndex) -> None:
        """Install an index built elsewhere (worker processes, a background task)."""
        assert index.root is not None
        self._indexes[normal(index.root)] = index
        project = self._projects.get(normal(index.root))
        if project is not None:
            project.index = index
        self.revision += 1

    @property
    def indexes(self) -> list[ProjectIndex]:
        return list(self._indexes.values())

    def short_lived_for(self, root: Path) -> Callable[[Path], bool]:
        """Tests and scripts of the project at ``root``, by each file's `[paths] test` globs."""
        key = normal(root)
        resolved_root = self._resolved_roots.get(key)
        if resolved_root is None:  # tests and tooling are classed from the repository's root
            resolved_root = Path(repository_root(str(root.resolve())))
            self._resolved_roots[key] = resolved_root

        from otp_thinking.context import matches_any

        root_text = str(resolved_root)
        prefix = root_text if root_text.endswith(os.sep) else root_text + os.sep

        def short_lived(path: Path) -> bool:
            real = self.real_path(path)
            if real.startswith(prefix):
                relative = real[len(prefix) :].replace(os.sep, "/")
            else:
                relative = Path(path).as_posix()
            return matches_any(relative, self.config_for(path).test)

        return short_lived

    def real_path(self, path: str | Path) -> str:
        """``os.path.realpath(path)``, with the real path of each folder worked out once: only
        the file itself is looked at again (one `lstat`: is it a link?)."""
        text = os.fspath(path)
        folder, name = os.path.split(text)
        if name in ("", ".", ".."):
            return os.path.realpath(text)
        real_folder = self._real_folders.get(folder)
        if real_folder is None:
            real_folder = self._real_folders[folder] = os.path.realpath(folder or ".")
        full = os.path.join(real_folder, name)
        return os.path.realpath(full) if os.path.islink(full) else full

    def summarize(
        self, root: Path, path: str | Path, text: str, source: Source | None = None
    ) -> FileSummary:
        from otp_thinking.model.summary import summarize
        from otp_thinking.source import Source

        source = source if source is not None else Source(text, str(path))
        return summarize(source, str(path), self.short_lived_for(root)(Path(path)))

    def update_index(
        self, path: str | Path, text: str | None, source: Source | None = None
    ) -> None:
        """Redo one file's summary in the index of its project, if that index exists."""
        root = self.root_for(path)
        index = self._indexes.get(normal(root)) if root is not None else None
        if index is None or root is None:
            return
        if text is None:
            changed = index.remove(path)
        else:
            changed = index.update(self.summarize(root, path, text, source))
        if changed:
            self.revision += 1

    def config_for(self, path: str | Path) -> Config:
        """The editor's or command line's settings under the nearest `.otp-thinking.toml`."""
        key = _folder_key(path)
        if key not in self._config_files:
            self._config_files[key] = self._nearest_config(os.path.dirname(normal(path)))
        config_path = self._config_files[key]
        if config_path is None:
            return self.base_config
        key = normal(config_path)
        try:
            stamp = config_path.stat().st_mtime
        except OSError:
            return self.base_config
        cached = self._configs.get(key)
        if cached is None or cached[0] != stamp:
            config, problems = read_config_file(config_path, self.base_config)
            if problems:
                self.report_config_problems(problems)
            self._configs[key] = (stamp, config)
        return self._configs[key][1]

    def _nearest_config(self, folder: str) -> Path | None:
        """`config.find_config_file` of ``folder``, each folder looked at once: its own file,
        else its parent's nearest."""
        if folder not in self._nearest:
            # `config.find_config_file(Path(folder), above=False)`, without a Path per folder
            candidate = os.path.join(folder, CONFIG_FILE)
            own = Path(candidate) if os.path.isfile(candidate) else None
            parent = os.path.dirname(folder)
            if own is None and parent != folder:
                own = self._nearest_config(parent)
            self._nearest[folder] = own
        return self._nearest[folder]

    def forget_configs(self) -> None:
        """Forget configuration and project roots: a file was saved, settings changed."""
        self._configs.clear()
        self._config_files.clear()
        self._nearest.clear()
        self._roots.clear()
        self._resolved_roots.clear()
        self._real_folders.clear()
