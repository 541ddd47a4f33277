"""The project index: every file's summary, kept current as files change.

The index holds one summary per Elixir file of a project (`model.summary`), by absolute path,
and the facts joined from them (`model.project.ProjectFacts`), rebuilt after any change that
can alter another file's findings. It is built once for the CLI and kept current one file at a
time by the language server (``generation`` tells readers when to look again).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from otp_thinking.files import SKIPPED_DIRS, repository_root, root_of_folder
from otp_thinking.model.project import ProjectFacts
from otp_thinking.model.summary import FileSummary, digest, summarize
from otp_thinking.source import Source


def summary_for(
    index: ProjectIndex, source: Source, cache: dict[str, Any] | None = None
) -> FileSummary:
    """The index's summary of ``source`` when it was made from this very text, else a new one
    (``cache``: see `summarize`)."""
    stored = index.summary(source.path)
    if stored is not None and stored.digest == digest(source.text):
        return stored
    short_lived = stored.short_lived if stored is not None else False
    return summarize(source, source.path or "", short_lived, cache)


@dataclass
class ProjectIndex:
    """Summaries of every Elixir file of one project (umbrella apps included), by absolute
    path (a file checked as `lib/x.ex` and found by walking the root are one entry).

    ``complete`` is False while the index is being built (or when it never was): cross-file
    rules stay silent then rather than report a name as never started. ``generation`` grows
    whenever a change can alter another file's findings.
    """

    root: Path | None = None
    files: dict[str, FileSummary] = field(default_factory=dict)
    complete: bool = False
    generation: int = 0
    _facts: ProjectFacts | None = field(default=None, repr=False)

    def update(self, summary: FileSummary) -> bool:
        """Store a file's summary; True when the change can alter other files' findings."""
        key = os.path.abspath(summary.path)
        before = self.files.get(key)
        self.files[key] = summary
        if before is not None and before.facts == summary.facts:
            return False
        self._changed()
        return True

    def copy(self) -> ProjectIndex:
        """An index to change without changing this one (summaries are immutable)."""
        return ProjectIndex(self.root, dict(self.files), self.complete, self.generation)

    def remove(self, path: str | Path) -> bool:
        if self.files.pop(os.path.abspath(path), None) is None:
            return False
        self._changed()
        return True

    def summary(self, path: str | Path | None) -> FileSummary | None:
        return self.files.get(os.path.abspath(path)) if path is not None else None

    @property
    def facts(self) -> ProjectFacts:
        """What the files say about each other, joined from the current summaries."""
        if self._facts is None:
            self._facts = ProjectFacts(self.files)
        return self._facts

    def _changed(self) -> None:
        self.generation += 1
        self._facts = None


EMPTY_INDEX = ProjectIndex()


# -- building the index of a project ---------------------------------------------------------

ShortLived = Callable[[Path], bool]


def project_files(root: Path) -> Iterator[Path]:
    """Every `.ex`/`.exs` file of the project under ``root``, skipping deps, _build… and the
    Mix projects inside it that are projects of their own (see `files.root_of_folder`)."""
    top = os.fspath(root)
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(
            d
            for d in dirs
            if d not in SKIPPED_DIRS
            and not d.startswith(".")
            and root_of_folder(os.path.join(folder, d), top) == top
        )
        for name in sorted(files):
            if name.endswith((".ex", ".exs")) and not name.startswith("."):
                yield Path(folder) / name


def short_lived_by_globs(root: Path, globs: tuple[str, ...] | None = None) -> ShortLived:
    """Tests and scripts by the `[paths] test` globs, relative to the project root."""
    from otp_thinking.config import DEFAULT_TEST_GLOBS
    from otp_thinking.context import matches_any  # the context imports the project, and so this

    patterns = DEFAULT_TEST_GLOBS if globs is None else globs
    resolved_root = Path(repository_root(str(root.resolve())))

    def short_lived(path: Path) -> bool:
        try:
            relative = path.resolve().relative_to(resolved_root).as_posix()
        except ValueError:
            relative = path.as_posix()
        return matches_any(relative, patterns)

    return short_lived


def build_index(
    root: Path,
    read_text: Callable[[Path], str | None],
    short_lived: ShortLived,
    paths: Iterable[Path] | None = None,
) -> ProjectIndex:
    """Summarise every file of the project, one after the other."""
    index = ProjectIndex(root)
    for path in project_files(root) if paths is None else paths:
        text = read_text(path)
        if text is not None:
            index.update(summarize(Source(text, str(path)), str(path), short_lived(path)))
    index.complete = True
    return index
