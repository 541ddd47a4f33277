"""Files as the analysis sees them: open buffers or pending fixes first, then the disk.

Shared by the CLI (an overlay of fixed texts that `--fix` writes and `--diff` shows) and the
language server (open documents); caches each project's index and configuration.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from otp_thinking.config import DEFAULT, Config, find_config_file, read_config_file
from otp_thinking.files import read_text
from otp_thinking.findings import Edit, apply_edits
from otp_thinking.project import EMPTY, ProjectContext, defines_application, find_root, scan


def normal(path: str | Path) -> str:
    return os.path.normpath(str(path))


def _folder_key(path: str | Path) -> str:
    """An Elixir file's folder (files in one folder share root and config); else the path."""
    key = normal(path)
    return os.path.dirname(key) if key.endswith((".ex", ".exs")) else key


@dataclass
class Workspace:
    """Texts by normalised path, with project and config caches keyed by folder."""

    base_config: Config = DEFAULT
    overlay: dict[str, str] = field(default_factory=dict)
    report_config_problems: Callable[[list[str]], None] = lambda problems: None
    _projects: dict[str, ProjectContext] = field(default_factory=dict)
    _configs: dict[str, tuple[float, Config]] = field(default_factory=dict)
    # Folder → project root / nearest config file: looked up once, not on every keystroke.
    _roots: dict[str, Path | None] = field(default_factory=dict)
    _config_files: dict[str, Path | None] = field(default_factory=dict)

    def read(self, path: str | Path) -> str | None:
        key = normal(path)
        if key in self.overlay:
            return self.overlay[key]
        return read_text(path)

    def apply(self, edits: list[Edit]) -> None:
        """Apply edits that name their file to the overlay (fixes touching other files)."""
        for path in {e.path for e in edits if e.path is not None}:
            assert path is not None
            text = self.read(path)
            if text is not None:
                self.overlay[normal(path)] = apply_edits(text, [e for e in edits if e.path == path])
        self.forget_projects()

    def forget_projects(self) -> None:
        self._projects.clear()

    def file_changed(self, path: str | Path, text: str) -> None:
        """Keep the project index current when one file's text changes, without walking the
        project again: only application modules are re-read."""
        root = self.root_for(path)
        if root is None or normal(root) not in self._projects:
            return
        project = self._projects[normal(root)]
        known = {normal(app.path): app.path for app in project.applications}
        if normal(path) not in known and not defines_application(text):
            return
        candidates = {**known, normal(path): Path(path)}
        self._projects[normal(root)] = scan(root, self.read, candidates.values())

    def root_for(self, path: str | Path) -> Path | None:
        """The project root above ``path`` (see `project.find_root`), cached by folder."""
        key = _folder_key(path)
        if key not in self._roots:
            self._roots[key] = find_root(Path(path))
        return self._roots[key]

    def project_for(self, path: str | Path) -> ProjectContext:
        root = self.root_for(path)
        if root is None:
            return EMPTY
        key = normal(root)
        if key not in self._projects:
            self._projects[key] = scan(root, read_text=self.read)
        return self._projects[key]

    def config_for(self, path: str | Path) -> Config:
        """The editor's or command line's settings under the nearest `.otp-thinking.toml`."""
        key = _folder_key(path)
        if key not in self._config_files:
            self._config_files[key] = find_config_file(Path(path).parent)
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

    def forget_configs(self) -> None:
        """Forget configuration and project roots: a file was saved, settings changed."""
        self._configs.clear()
        self._config_files.clear()
        self._roots.clear()
