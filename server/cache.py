"""A cache on disk of each file's summary (its part of the project index) and of the findings of
the rules that read only the file itself, so that checking an unchanged tree again skips parsing.

One cache file per project and run key: the tool's version, a digest of the package's own source
files (an edited rule invalidates everything), the rules chosen (``--select``/``--ignore``) and
the base configuration. In it, each file's entry is valid for one text and one configuration
(which decides whether the file is short-lived); its findings also for one set of application
modules (rules read the children ``start/2`` starts). The findings of the rules that read the
project index are reused only while every file's summary in the project is unchanged too (a
file whose text changed but whose summary did not, such as a new comment at its end, changes
no other file's key); otherwise they run again from the summaries.

A file is known unchanged without reading it when its size, modification and status-change
times, inode and device equal those stored with its entry, and those times were already in the
past when the entry was stored (a file changed later within the same clock tick is read); any
other file is read and known by a digest of its text, so a file touched but unchanged still
hits.

The cache lives in ``.otp-thinking-cache/`` at the project root (a ``.gitignore`` inside keeps
it out of version control), or in the user's cache folder when the project cannot be written.
Writes go to a temporary file renamed into place, so a concurrent run never reads half a file;
a file that cannot be read back as this format (corrupt, truncated, another version, foreign) is
ignored and rebuilt. The entries and their findings are plain tuples in `marshal`'s format,
loaded with no class at all; each file's summary is a pickle of its own inside it, loaded only
when a run needs it (a file changed), accepting only plain data and this package's own data
classes. Beside them, the rules' codes, names and words (`registry.manifest`), so that a run
can choose the rules of a changed file and skip them by their words without importing them.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import marshal
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from otp_thinking import __version__
from otp_thinking.findings import Edit, Finding, Fix

try:  # blake2b without loading OpenSSL, which hashlib imports first
    from _blake2 import blake2b
except ImportError:  # another Python implementation
    from hashlib import blake2b

if TYPE_CHECKING:  # the summaries' module is imported only when a summary is loaded or made
    from otp_thinking.config import Config
    from otp_thinking.model.summary import FileSummary
    from otp_thinking.registry import Manifest

FOLDER = ".otp-thinking-cache"
FORMAT = 5
_MAGIC = b"otp-thinking-cache\n"

Stamp = tuple[int, int, int, int, int]
"""A file's size, modification and status-change times (ns), inode and device."""

SETTLED_NS = 2_000_000_000
"""A file's stamp is stored only when its times are older than this: a file written again
within the same clock tick as the run that read it keeps its times, so it would look
unchanged."""


def stamp(path: str) -> Stamp | None:
    """The stat of a regular file that says it is unchanged (None: not a regular file)."""
    try:
        found = os.stat(path)
    except (OSError, ValueError):
        return None
    if (found.st_mode & 0o170000) != 0o100000:
        return None
    return (found.st_size, found.st_mtime_ns, found.st_ctime_ns, found.st_ino, found.st_dev)


def settled(found: Stamp | None) -> Stamp | None:
    """``found`` when both its times are far enough in the past to be trusted later."""
    if found is None:
        return None
    now = time.time_ns()
    return found if max(found[1], found[2]) < now - SETTLED_NS else None


@dataclass(frozen=True)
class Entry:
    summary_key: str
    summary: FileSummary | None
    """None in an entry loaded from disk until a run asks for it (see `Cache.summary`)."""
    findings_key: str | None = None
    findings: tuple[Finding, ...] | None = None
    project_key: str | None = None
    """The findings of the rules that read the project index are valid for this key: the file's
    findings key and every file's index key in the project."""
    project_findings: tuple[Finding, ...] | None = None
    notes: tuple[str, ...] = ()
    """Messages about the file's own text (rule names in comments that name no rule)."""
    shown: str = ""
    """The path as the run that stored the findings named it: findings name other files (a fix's
    edits, related locations) by paths spelled the same way, so they are reused only by a run
    that names the file alike. The summary is reused by any run (the server's too)."""
    text_digest: str = ""
    stamp: Stamp | None = None
    """The file's stat when its text had ``text_digest`` (see `settled`)."""
    application: bool = False
    """Whether the text may define an application module (see `applications_key`)."""
    index_part: str = ""
    """What the file adds to the project's index key: the summary key of the first text that
    gave this summary (a text that changes nothing in it keeps it)."""


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
    summaries: dict[str, bytes] = field(default_factory=dict)
    """The stored summaries, each file's pickled apart, loaded when first asked for."""
    rules: Manifest | None = None
    """The rules as the run that wrote the cache knew them (see `registry.manifest`); valid
    for the run key, which holds a digest of the rules' source."""
    _stored_rules: Manifest | None = None

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

    def unchanged(self, path: str, found: Stamp | None) -> Entry | None:
        """The stored entry of ``path`` when its stat says the file was not written since."""
        entry = self.entries.get(self.key(path))
        if entry is None or found is None or entry.stamp != found:
            return None
        return entry

    def has_summary(self, path: str, key: str) -> bool:
        """Whether the cache holds the summary of ``path`` for ``key`` (without loading it)."""
        entry = self.entries.get(self.key(path))
        return entry is not None and entry.summary_key == key

    def summary(self, path: str, key: str) -> FileSummary | None:
        entry = self.entries.get(self.key(path))
        if entry is None or entry.summary_key != key:
            return None
        summary = self._stored_summary(self.key(path))
        if summary is None:
            return None
        return summary if summary.path == path else dataclasses.replace(summary, path=path)

    def _stored_summary(self, key: str) -> FileSummary | None:
        """The summary of the stored entry ``key``, unpickled now if it was not yet (None when
        it cannot be: that entry is dropped)."""
        entry = self.entries.get(key)
        if entry is None or entry.summary is not None:
            return entry.summary if entry is not None else None
        summary = _load_summary(self.summaries.get(key, b""))
        if summary is None:
            del self.entries[key]
            return None
        self.entries[key] = dataclasses.replace(entry, summary=summary)
        return summary

    def load_summaries(self) -> None:
        """Unpickle every stored summary (entries whose summary cannot be read are dropped)."""
        for key in list(self.entries):
            self._stored_summary(key)

    def findings(self, path: str, key: str) -> tuple[tuple[Finding, ...], tuple[str, ...]] | None:
        """The file-local findings and the notes (unknown rule names in its comments)."""
        entry = self.entries.get(self.key(path))
        if entry is None or entry.findings_key != key or entry.findings is None:
            return None
        if entry.shown != path:
            return None
        return entry.findings, entry.notes

    def store(self, path: str, entry: Entry) -> None:
        """Store what this run computed for ``path``; its index key part stays the old one when
        the summary is the same as the stored one (only the text moved, not what it says)."""
        part = entry.index_part or entry.summary_key
        old = self.entries.get(self.key(path))
        if (
            old is not None
            and old.index_part
            and entry.summary is not None
            and _same_summary(self._stored_summary(self.key(path)), entry.summary)
        ):
            part = old.index_part
        self.added[self.key(path)] = dataclasses.replace(entry, shown=path, index_part=part)

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
            keys.append(f"{key}\0{entry.index_part or entry.summary_key}")
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
        wanted = set(map(self.key, paths))
        if not self.added and wanted == self.entries.keys() and self.rules == self._stored_rules:
            return
        import pickle

        merged = {}
        for key in sorted(wanted):
            entry = self.added.get(key) or self.entries.get(key)
            if entry is None:
                continue
            stored = self.entries.get(key)
            blob = self.summaries.get(key)
            # a summary this run made is pickled; a stored one is written back as it was read
            made = entry.summary
            if made is not None and (stored is None or stored.summary is not made):
                blob = pickle.dumps(made, protocol=pickle.HIGHEST_PROTOCOL)
            if blob is not None:
                merged[key] = (entry, blob)
        with contextlib.suppress(OSError):
            _write(self.file, merged, self.rules)
        _prune(self.file)


def _same_summary(old: FileSummary | None, new: FileSummary) -> bool:
    """Whether two summaries say the same (their texts' digests and paths aside)."""
    if old is None:
        return False
    return dataclasses.replace(old, path="", digest="") == dataclasses.replace(
        new, path="", digest=""
    )


def open_cache(root: Path, run_key: str) -> Cache:
    """The cache of the project at ``root`` (empty when none can be read or written)."""
    folder = _folder(root)
    if folder is None:
        return Cache(None)
    file = folder / f"{run_key[:32]}.cache"
    entries, summaries, rules = _load(file)
    found = Cache(file, entries, root=os.path.abspath(root), summaries=summaries, rules=rules)
    found._stored_rules = rules
    return found


def run_key(base_config: Config, select: tuple[str, ...], ignore: tuple[str, ...]) -> str:
    parts = (FORMAT, __version__, package_digest(), sorted(select), sorted(ignore))
    return _hash(repr(parts), repr(base_config))


def text_digest(text: str) -> str:
    return _hash(text)


def summary_key(text: str, config: Config) -> str:
    """Valid for one text under one configuration (whose test globs make a file short-lived)."""
    return summary_key_of(text_digest(text), config)


def summary_key_of(digest: str, config: Config) -> str:
    """`summary_key` of the text whose `text_digest` is ``digest``."""
    return _hash(digest, _memo(config, repr))


def findings_key(summary: str, applications: str) -> str:
    """Valid for one summary key and one set of application modules (see `applications_key`)."""
    return _hash(summary, applications)


def applications_key(root: str, texts: Iterable[tuple[str, str]]) -> str:
    """A key of the project's application modules: each file that may define one (see
    `project.defines_application`), by its path in the project and its text's digest. It
    changes whenever the applications the rules read (path, module, children) can."""
    return _hash(root, *(f"{path}\0{digest}" for path, digest in sorted(texts)))


_memos: dict[int, tuple[object, str]] = {}


def _memo(value: Any, compute: Any) -> str:
    """``compute(value)`` once per object (configurations and projects are few and kept)."""
    found = _memos.get(id(value))
    if found is None or found[0] is not value:
        found = _memos[id(value)] = (value, compute(value))
    return found[1]


def _hash(*parts: str) -> str:
    h = blake2b(digest_size=20)
    for part in parts:
        h.update(part.encode("utf-8", "surrogatepass"))
        h.update(b"\0")
    return h.hexdigest()


_package_digest: str | None = None


def package_digest() -> str:
    """A digest of every source file of the package and its rules, by their names and stats
    (size, modification and status-change times): an edit changes the status-change time
    whatever else it keeps, so it invalidates, without reading the sources at every run."""
    global _package_digest
    if _package_digest is None:
        h = blake2b(digest_size=20)
        here = os.path.dirname(os.path.realpath(__file__))
        import otp_thinking.rules as rules

        folders = {here, *(os.path.realpath(p) for p in rules.__path__)}
        for folder in sorted(folders):
            for name, found in sorted(_sources(folder, "")):
                h.update(
                    f"{name}\0{found.st_size}\0{found.st_mtime_ns}\0{found.st_ctime_ns}\0".encode()
                )
        _package_digest = h.hexdigest()
    return _package_digest


def _sources(folder: str, prefix: str) -> Iterable[tuple[str, os.stat_result]]:
    """The `.py` and `.scm` files below ``folder`` (names relative to it) with their stats."""
    with os.scandir(folder) as listing:
        entries = list(listing)
    for entry in entries:
        if entry.is_dir():
            if entry.name != "__pycache__":
                yield from _sources(entry.path, f"{prefix}{entry.name}/")
        elif entry.name.endswith((".py", ".scm")):
            yield f"{prefix}{entry.name}", entry.stat()


# -- the folder ---------------------------------------------------------------------------


def _folder(root: Path) -> Path | None:
    """``.otp-thinking-cache`` in the project, else a folder for it in the user's cache."""
    local = root / FOLDER
    if _usable(local):
        return local
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    name = blake2b(str(root.resolve()).encode(), digest_size=10).hexdigest()
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
    # A name of our own rather than `tempfile.mkstemp`: tempfile imports shutil, random and
    # hashlib, a tenth of a run that rewrites the cache after one file changed.
    temporary = folder / f".tmp-{os.getpid()}-{os.urandom(6).hex()}"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
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
        for older in current.parent.glob("*.pickle"):  # the layout before this one
            with contextlib.suppress(OSError):
                older.unlink()
        others = [p for p in current.parent.glob("*.cache") if p != current]
        others.sort(key=lambda p: p.stat().st_mtime, reverse=True)
        for stale in others[KEPT_RUNS - 1 :]:
            with contextlib.suppress(OSError):
                stale.unlink()


def _write(
    file: Path, entries: dict[str, tuple[Entry, bytes]], rules: Manifest | None = None
) -> None:
    records = {key: _record(entry) for key, (entry, _blob) in entries.items()}
    summaries = {key: blob for key, (_entry, blob) in entries.items()}
    layout = (FORMAT, __version__, records, summaries)
    try:
        body = marshal.dumps(layout if rules is None else (*layout, rules))
    except ValueError:  # a finding holding data that is not plain: not cached
        return
    _atomic(file.parent, file, _MAGIC + body)


def _load(file: Path) -> tuple[dict[str, Entry], dict[str, bytes], Manifest | None]:
    """The entries of ``file`` (their summaries not loaded yet), the stored summaries and the
    rules' manifest, or none when it is missing or not a cache of this version."""
    try:
        data = file.read_bytes()
    except OSError:
        return {}, {}, None
    if not data.startswith(_MAGIC):
        return {}, {}, None
    try:
        loaded = marshal.loads(memoryview(data)[len(_MAGIC) :])
    except Exception:  # anything a damaged or foreign file can raise: rebuilt instead
        return {}, {}, None
    if not (isinstance(loaded, tuple) and len(loaded) in (4, 5)):
        return {}, {}, None
    version, tool, records, summaries = loaded[:4]
    if version != FORMAT or tool != __version__:
        return {}, {}, None
    if not isinstance(records, dict) or not isinstance(summaries, dict):
        return {}, {}, None
    rules = _manifest(loaded[4]) if len(loaded) == 5 else None
    entries = {}
    for key, record in records.items():
        with contextlib.suppress(Exception):  # a record of another shape: that file is redone
            if isinstance(key, str) and isinstance(summaries.get(key), bytes):
                entries[key] = _entry(record)
    return entries, summaries, rules


def _manifest(value: Any) -> Manifest | None:
    """``value`` when it is a `registry.Manifest`, else None (the rules are imported then)."""
    if not isinstance(value, tuple):
        return None
    for item in value:
        if not (isinstance(item, tuple) and len(item) == 6):
            return None
        code, name, preview, project_wide, words, module = item
        if not all(isinstance(text, str) for text in (code, name, module)):
            return None
        if not isinstance(words, tuple):
            return None
        if type(preview) is not bool or type(project_wide) is not bool:
            return None
        if not all(isinstance(word, str) for word in words):
            return None
    return value


def _load_summary(blob: bytes) -> FileSummary | None:
    from otp_thinking.model.summary import FileSummary

    try:
        loaded = _summaries_unpickler(blob).load()
    except Exception:  # a damaged entry: that file is summarised again
        return None
    return loaded if isinstance(loaded, FileSummary) else None


# -- entries as plain data: loading them builds no class at all ----------------------------


def _record(entry: Entry) -> tuple[object, ...]:
    return (
        entry.summary_key,
        entry.findings_key,
        _plain_findings(entry.findings),
        entry.project_key,
        _plain_findings(entry.project_findings),
        entry.notes,
        entry.shown,
        entry.text_digest,
        entry.stamp,
        entry.application,
        entry.index_part,
    )


def _entry(record: Any) -> Entry:
    """The entry a `_record` stored; raises on anything else."""
    (summary_key, findings_key, found, project_key, project, notes, shown) = record[:7]
    (digest, stat, app, part) = record[7:]
    texts = (summary_key, shown, digest, part)
    if not all(isinstance(text, str) for text in texts):
        raise ValueError("not an entry")
    if stat is not None and not (
        isinstance(stat, tuple) and len(stat) == 5 and all(type(n) is int for n in stat)
    ):
        raise ValueError("not a stamp")
    if not (isinstance(notes, tuple) and all(isinstance(note, str) for note in notes)):
        raise ValueError("not notes")
    return Entry(
        summary_key,
        None,
        _optional_text(findings_key),
        _findings(found),
        _optional_text(project_key),
        _findings(project),
        notes,
        shown,
        digest,
        stat,
        app is True,
        part,
    )


def _optional_text(value: object) -> str | None:
    if value is not None and not isinstance(value, str):
        raise ValueError("not a key")
    return value


def _plain_findings(findings: tuple[Finding, ...] | None) -> tuple[object, ...] | None:
    if findings is None:
        return None
    return tuple(
        (
            f.code,
            f.name,
            f.severity,
            f.message,
            f.start,
            f.end,
            _plain_fix(f.fix),
            f.data,
            f.related,
        )
        for f in findings
    )


def _plain_fix(fix: Fix | None) -> tuple[object, ...] | None:
    if fix is None:
        return None
    return (fix.title, tuple((e.start, e.end, e.new_text, e.path) for e in fix.edits), fix.safety)


def _findings(plain: Any) -> tuple[Finding, ...] | None:
    """The findings `_plain_findings` stored (types as the output reads them, else raises)."""
    if plain is None:
        return None
    found = []
    for code, name, severity, message, start, end, fix, data, related in plain:
        if not (type(start) is int and type(end) is int and isinstance(data, dict)):
            raise ValueError("not a finding")
        if not all(isinstance(text, str) for text in (code, name, severity, message)):
            raise ValueError("not a finding")
        found.append(
            Finding(code, name, severity, message, start, end, _fix(fix), data, _related(related))
        )
    return tuple(found)


def _fix(plain: Any) -> Fix | None:
    if plain is None:
        return None
    title, edits, safety = plain
    if not (isinstance(title, str) and isinstance(safety, str)):
        raise ValueError("not a fix")
    made = []
    for start, end, new_text, path in edits:
        if not (type(start) is int and type(end) is int and isinstance(new_text, str)):
            raise ValueError("not an edit")
        made.append(Edit(start, end, new_text, _optional_text(path)))
    return Fix(title, tuple(made), safety)  # type: ignore[arg-type]


def _related(plain: Any) -> tuple[tuple[str, int, int, str], ...]:
    if not isinstance(plain, tuple):
        raise ValueError("not related locations")
    for path, start, end, text in plain:
        if not (isinstance(path, str) and type(start) is int and type(end) is int):
            raise ValueError("not a related location")
        if not isinstance(text, str):
            raise ValueError("not a related location")
    return plain


def _summaries_unpickler(blob: bytes) -> Any:
    """An unpickler that builds only this package's data classes and enums: nothing else a file
    names (functions, other modules' classes) is ever looked up, so loading runs no code from
    the file."""
    import pickle

    class SafeUnpickler(pickle.Unpickler):
        def find_class(self, module: str, name: str) -> Any:
            return _allowed(module, name)

    return SafeUnpickler(io.BytesIO(blob))


def _allowed(module: str, name: str) -> Any:
    import enum
    import importlib
    import pickle

    if module == "otp_thinking" or module.startswith("otp_thinking."):
        found = getattr(importlib.import_module(module), name, None)
        if isinstance(found, type) and (
            dataclasses.is_dataclass(found) or issubclass(found, enum.Enum)
        ):
            return found
    raise pickle.UnpicklingError(f"not allowed in a cache: {module}.{name}")
