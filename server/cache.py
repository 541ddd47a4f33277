"""A cache on disk of each file's summary (its part of the project index) and of the findings of
the rules that read only the file itself, so that checking an unchanged tree again skips parsing.

One cache file per project and run key: the tool's version, a digest of the package's own source
files (an edited rule invalidates everything), the rules chosen (``--select``/``--ignore``) and
the base configuration. In it, each file's entry is valid for one text and one configuration
(which decides whether the file is short-lived); its findings also for one set of application
modules (rules read the children ``start/2`` starts). The findings of the rules that read the
project index are reused only while every file's summary in the project is unchanged too;
otherwise they run again from the summaries.

The cache lives in ``.otp-thinking-cache/`` at the project root (a ``.gitignore`` inside keeps
it out of version control), or in the user's cache folder when the project cannot be written.
Writes go to a temporary file renamed into place, so a concurrent run never reads half a file;
a file that cannot be read back as this format (corrupt, truncated, another version, foreign) is
ignored and rebuilt. Loading accepts only plain data and this package's own data classes.
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import hashlib
import io
import os
import pickle
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from otp_thinking import __version__
from otp_thinking.config import Config
from otp_thinking.findings import Finding
from otp_thinking.model.summary import FileSummary
from otp_thinking.project import ProjectContext

FOLDER = ".otp-thinking-cache"
FORMAT = 4
_MAGIC = b"otp-thinking-cache\n"


@dataclass(frozen=True)
class Entry:
    summary_key: str
    summary: FileSummary
    findings_key: str | None = None
    findings: tuple[Finding, ...] | None = None
    project_key: str | None = None
    """The findings of the rules that read the project index are valid for this key: the file's
    findings key and every file's summary key in the project."""
    project_findings: tuple[Finding, ...] | None = None
    notes: tuple[str, ...] = ()
    """Messages about the file's own text (rule names in comments that name no rule)."""
    shown: str = ""
    """The path as the run that stored the findings named it: findings name other files (a fix's
    edits, related locations) by paths spelled the same way, so they are reused only by a run
    that names the file alike. The summary is reused by any run (the server's too)."""


@dataclass
class Cache:
    """The entries of one project for one run key, as loaded, plus what this run adds.

    Entries are keyed by the file's path relative to the project root, so that runs from
    another folder and the language server (absolute paths) share them."""

    file: Path | None
    entries: dict[str, Entry] = field(default_factory=dict)
    added: dict[str, Entry] = field(default_factory=dict)
    root: str = ""
    """The project root, absolute."""

    _keys: dict[str, str] = field(default_factory=dict)

    def key(self, path: str) -> str:
        found = self._keys.get(path)
        if found is None:
            found = self._keys[path] = self._key(path)
        return found

    def _key(self, path: str) -> str:
        absolute = os.path.abspath(path)
        prefix = os.path.join(self.root, "")
        if not self.root or not absolute.startswith(prefix):
            return absolute
        return absolute[len(prefix) :].replace(os.sep, "/")

    def summary(self, path: str, key: str) -> FileSummary | None:
        entry = self.entries.get(self.key(path))
        if entry is None or entry.summary_key != key:
            return None
        summary = entry.summary
        return summary if summary.path == path else dataclasses.replace(summary, path=path)

    def findings(self, path: str, key: str) -> tuple[tuple[Finding, ...], tuple[str, ...]] | None:
        """The file-local findings and the notes (unknown rule names in its comments)."""
        entry = self.entries.get(self.key(path))
        if entry is None or entry.findings_key != key or entry.findings is None:
            return None
        if entry.shown != path:
            return None
        return entry.findings, entry.notes

    def store(self, path: str, entry: Entry) -> None:
        self.added[self.key(path)] = dataclasses.replace(entry, shown=path)

    def current(self, path: str) -> Entry | None:
        """The entry of ``path`` as this run left it (valid for a file it found or computed)."""
        key = self.key(path)
        return self.added.get(key) or self.entries.get(key)

    def index_key(self, paths: Iterable[str]) -> str | None:
        """A key of the whole project's summaries (None when a file has none)."""
        keys = []
        for key in sorted(self.key(path) for path in paths):
            entry = self.added.get(key) or self.entries.get(key)
            if entry is None:
                return None
            keys.append(f"{key}\0{entry.summary_key}")
        return _hash(*keys)

    def project_key(self, path: str, index_key: str | None) -> str | None:
        entry = self.current(path)
        if index_key is None or entry is None or entry.findings_key is None:
            return None
        return _hash(index_key, entry.findings_key)

    def project_findings(self, path: str, key: str | None) -> tuple[Finding, ...] | None:
        entry = self.current(path)
        if key is None or entry is None or entry.project_key != key or entry.shown != path:
            return None
        return entry.project_findings

    def store_project_findings(
        self, path: str, key: str | None, findings: tuple[Finding, ...]
    ) -> None:
        entry = self.current(path)
        if key is not None and entry is not None:
            self.added[self.key(path)] = dataclasses.replace(
                entry, project_key=key, project_findings=findings, shown=path
            )

    def save(self, paths: set[str]) -> None:
        """Write back the entries of ``paths`` (the project's files this run saw, so files gone
        drop out) when anything changed (atomically; failures ignored)."""
        if self.file is None:
            return
        merged = {
            key: entry
            for key in map(self.key, paths)
            if (entry := self.added.get(key) or self.entries.get(key)) is not None
        }
        if not self.added and merged.keys() == self.entries.keys():
            return
        with contextlib.suppress(OSError):
            _write(self.file, merged)
        _prune(self.file)


def open_cache(root: Path, run_key: str) -> Cache:
    """The cache of the project at ``root`` (empty when none can be read or written)."""
    folder = _folder(root)
    if folder is None:
        return Cache(None)
    file = folder / f"{run_key[:32]}.pickle"
    return Cache(file, _load(file), root=os.path.abspath(root))


def run_key(base_config: Config, select: tuple[str, ...], ignore: tuple[str, ...]) -> str:
    parts = (FORMAT, __version__, package_digest(), sorted(select), sorted(ignore))
    return _hash(repr(parts), repr(base_config))


def text_digest(text: str) -> str:
    return _hash(text)


def summary_key(text: str, config: Config) -> str:
    """Valid for one text under one configuration (whose test globs make a file short-lived)."""
    return _hash(text_digest(text), _memo(config, repr))


def findings_key(summary: str, project: ProjectContext) -> str:
    """Valid for one summary key and one set of application modules (path and text)."""
    return _hash(summary, _memo(project, _project_digest))


def _project_digest(project: ProjectContext) -> str:
    apps = [(str(app.path), app.module, app.source.text) for app in project.applications]
    return _hash(repr(project.root), repr(apps))


_memos: dict[int, tuple[object, str]] = {}


def _memo(value: Any, compute: Any) -> str:
    """``compute(value)`` once per object (configurations and projects are few and kept)."""
    found = _memos.get(id(value))
    if found is None or found[0] is not value:
        found = _memos[id(value)] = (value, compute(value))
    return found[1]


def _hash(*parts: str) -> str:
    h = hashlib.blake2b(digest_size=20)
    for part in parts:
        h.update(part.encode("utf-8", "surrogatepass"))
        h.update(b"\0")
    return h.hexdigest()


_package_digest: str | None = None


def package_digest() -> str:
    """A digest of every source file of the package and its rules (an edit invalidates)."""
    global _package_digest
    if _package_digest is None:
        h = hashlib.blake2b(digest_size=20)
        here = Path(__file__).resolve().parent
        import otp_thinking.rules as rules

        folders = {here, *(Path(p).resolve() for p in rules.__path__)}
        for folder in sorted(folders):
            for file in sorted(folder.rglob("*")):
                if file.suffix in {".py", ".scm"} and "__pycache__" not in file.parts:
                    h.update(str(file.relative_to(folder)).encode())
                    h.update(file.read_bytes())
        _package_digest = h.hexdigest()
    return _package_digest


# -- the folder ---------------------------------------------------------------------------


def _folder(root: Path) -> Path | None:
    """``.otp-thinking-cache`` in the project, else a folder for it in the user's cache."""
    local = root / FOLDER
    if _usable(local):
        return local
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    name = hashlib.blake2b(str(root.resolve()).encode(), digest_size=10).hexdigest()
    user = Path(base) / "otp-thinking" / name
    return user if _usable(user) else None


def _usable(folder: Path) -> bool:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        ignore = folder / ".gitignore"
        if not ignore.exists():
            _atomic(folder, ignore, b"*\n")
        return os.access(folder, os.W_OK)
    except OSError:
        return False


def _atomic(folder: Path, file: Path, data: bytes) -> None:
    fd, temporary = tempfile.mkstemp(dir=folder, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(temporary, file)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


KEPT_RUNS = 8
"""Cache files kept per project: one per run key (tool version, rules chosen, settings); the
least recently written beyond these are deleted when a run writes its own."""


def _prune(current: Path) -> None:
    """Delete the cache files of other run keys beyond the `KEPT_RUNS` most recently written
    (an older version's, a `--select` run long ago): a project's cache does not grow forever."""
    with contextlib.suppress(OSError):
        others = [p for p in current.parent.glob("*.pickle") if p != current]
        others.sort(key=lambda p: p.stat().st_mtime, reverse=True)
        for stale in others[KEPT_RUNS - 1 :]:
            with contextlib.suppress(OSError):
                stale.unlink()


def _write(file: Path, entries: dict[str, Entry]) -> None:
    body = pickle.dumps((FORMAT, __version__, entries), protocol=pickle.HIGHEST_PROTOCOL)
    _atomic(file.parent, file, _MAGIC + body)


def _load(file: Path) -> dict[str, Entry]:
    """The entries of ``file``, or none when it is missing or not a cache of this version."""
    try:
        data = file.read_bytes()
    except OSError:
        return {}
    if not data.startswith(_MAGIC):
        return {}
    try:
        loaded = _SafeUnpickler(io.BytesIO(data[len(_MAGIC) :])).load()
    except Exception:  # anything a damaged or foreign file can raise: rebuilt instead
        return {}
    if not (isinstance(loaded, tuple) and len(loaded) == 3):
        return {}
    version, tool, entries = loaded
    if version != FORMAT or tool != __version__ or not isinstance(entries, dict):
        return {}
    return {
        path: entry for path, entry in entries.items() if isinstance(path, str) and _valid(entry)
    }


def _valid(entry: object) -> bool:
    if not isinstance(entry, Entry) or not isinstance(entry.summary, FileSummary):
        return False
    if entry.findings is None:
        return True
    return isinstance(entry.findings, tuple) and all(isinstance(f, Finding) for f in entry.findings)


class _SafeUnpickler(pickle.Unpickler):
    """Builds only this package's data classes and enums: nothing else a file names (functions,
    other modules' classes) is ever looked up, so loading runs no code from the file."""

    def find_class(self, module: str, name: str) -> Any:
        if module == "otp_thinking" or module.startswith("otp_thinking."):
            found = super().find_class(module, name)
            if isinstance(found, type) and (
                dataclasses.is_dataclass(found) or issubclass(found, enum.Enum)
            ):
                return found
        raise pickle.UnpicklingError(f"not allowed in a cache: {module}.{name}")
