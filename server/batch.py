"""Checking many files at once: each project's index built once, files analysed in this process
or in several, and the results in the order the files were given, whatever the number of jobs.

Two passes over the files. The first parses each file once: it summarises every file of the
projects involved (for the index) and runs the rules that read only the file itself on the
files being checked. Then each project's index is assembled, and the second pass runs the rules
that read it (`Rule.project_files`) on the checked files whose summary says they can fire.
"""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import redirect_stderr
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from otp_thinking import cache as disk_cache
from otp_thinking.config import Config
from otp_thinking.engine import analyze, enabled_rules
from otp_thinking.findings import Finding
from otp_thinking.index import ProjectIndex, project_files
from otp_thinking.model.summary import FileSummary
from otp_thinking.project import find_root
from otp_thinking.rule import Rule
from otp_thinking.source import Source
from otp_thinking.suppression import unknown_rule_messages
from otp_thinking.workspace import Workspace

ReadFile = Callable[[str], "str | None"]
"""Reads a file for checking; says on stderr why it cannot (captured and reported in order)."""


@dataclass(frozen=True)
class FileResult:
    path: str
    text: str | None
    """None when the file could not be read (``messages`` say why)."""
    findings: tuple[Finding, ...] = ()
    messages: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Task:
    path: str
    root: str | None
    check: bool
    """Analyse it (a file being checked), or only summarise it (another file of the project)."""


@dataclass
class _Worker:
    """Per-process state: one workspace (configs and applications cached), the rules chosen."""

    read: ReadFile
    base_config: Config
    select: tuple[str, ...]
    ignore: tuple[str, ...]
    caches: dict[str, disk_cache.Cache] = field(default_factory=dict)
    """The cache on disk of each project root (none: ``--no-cache``)."""
    workspace: Workspace = field(init=False)
    problems: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.workspace = Workspace(
            base_config=self.base_config,
            report_config_problems=self.problems.extend,
            index_policy="off",
        )

    def rules(self, path: str, project_wide: bool | None) -> tuple[Config, list[Rule]]:
        """The enabled rules that read the project index (``project_wide``), those that do
        not, or (None) all of them."""
        config = self.workspace.config_for(path)
        chosen = enabled_rules(config, self.select, self.ignore)
        if project_wide is None:
            return config, chosen
        return config, [r for r in chosen if (r.project_files is not None) == project_wide]


_worker: _Worker | None = None


def _start_worker(
    read: ReadFile,
    base_config: Config,
    select: tuple[str, ...],
    ignore: tuple[str, ...],
    caches: dict[str, disk_cache.Cache] | None = None,
    indexes: Sequence[ProjectIndex] = (),
) -> None:
    global _worker
    _worker = _Worker(read, base_config, select, ignore, caches or {})
    for index in indexes:
        _worker.workspace.set_index(index)


_Cached = tuple[str, disk_cache.Entry] | None
"""A new cache entry for a file (its path and what was computed), for the parent to store."""


def _first_pass(task: _Task) -> tuple[FileSummary | None, FileResult | None, _Cached]:
    """Summarise the file for the index and, when it is being checked, run the rules that read
    only the file itself — one parse for both (none when the cache on disk has both)."""
    worker = _worker
    assert worker is not None
    worker.problems.clear()
    captured = io.StringIO()
    if task.check:
        with redirect_stderr(captured):
            text = worker.read(task.path)
    else:
        text = worker.workspace.read(task.path)
    if text is None:
        messages = (*worker.problems, *captured.getvalue().splitlines())
        return None, FileResult(task.path, None, (), messages) if task.check else None, None
    cache = worker.caches.get(task.root) if task.root is not None else None
    keys = _cache_keys(worker, task, text) if cache is not None else None
    if cache is not None and keys is not None:
        summary = cache.summary(task.path, keys[0])
        entry = cache.findings(task.path, keys[1]) if task.check else None
        if summary is not None and (entry is not None or not task.check):
            if entry is None:
                return summary, None, None
            found, notes = entry
            messages = (*worker.problems, *captured.getvalue().splitlines(), *notes)
            return summary, FileResult(task.path, text, found, messages), None
    source = Source(text, task.path)
    summary = None
    if task.root is not None:
        summary = worker.workspace.summarize(Path(task.root), task.path, text, source)
    if not task.check:
        return summary, None, _entry(task, keys, summary, None)
    # A file outside any project has no index and no second pass: every rule runs now.
    config, rules = worker.rules(task.path, project_wide=False if task.root else None)
    project = worker.workspace.project_for(task.path)
    findings = analyze(source, config=config, project=project, rules=rules) if rules else []
    notes = tuple(unknown_rule_messages(source))
    messages = (*worker.problems, *captured.getvalue().splitlines(), *notes)
    result = FileResult(task.path, text, tuple(findings), messages)
    return summary, result, _entry(task, keys, summary, result.findings, notes)


def _cache_keys(worker: _Worker, task: _Task, text: str) -> tuple[str, str]:
    """The keys under which the file's summary and its file-local findings are valid."""
    summary_key = disk_cache.summary_key(text, worker.workspace.config_for(task.path))
    project = worker.workspace.project_for(task.path)
    return summary_key, disk_cache.findings_key(summary_key, project)


def _entry(
    task: _Task,
    keys: tuple[str, str] | None,
    summary: FileSummary | None,
    findings: tuple[Finding, ...] | None,
    notes: tuple[str, ...] = (),
) -> _Cached:
    if keys is None or summary is None:
        return None
    findings_key = keys[1] if findings is not None else None
    return task.path, disk_cache.Entry(keys[0], summary, findings_key, findings, notes=notes)


def _second_pass(item: tuple[str, str]) -> tuple[Finding, ...]:
    """The rules that read the project index, on a file whose summary says they can fire."""
    worker = _worker
    assert worker is not None
    path, text = item
    config, rules = worker.rules(path, project_wide=True)
    project = worker.workspace.project_for(path)
    summary = project.index.summary(path)
    chosen = [r for r in rules if summary is not None and r.project_files(summary)]  # type: ignore[misc]
    if not chosen:
        return ()
    return tuple(analyze(Source(text, path), config=config, project=project, rules=chosen))


# -- the run ------------------------------------------------------------------------------


@dataclass
class Progress:
    """Counts work done, one pass at a time (files indexed, then files checked, each counted
    from zero to its own total); ``show`` receives (done, total, what) when something moves."""

    show: Callable[[int, int, str], None] = lambda done, total, what: None
    total: int = 0
    done: int = 0

    def begin(self, total: int) -> None:
        self.total, self.done = total, 0

    def step(self, what: str) -> None:
        self.done += 1
        self.show(self.done, self.total, what)


def check_files(
    paths: Sequence[str],
    *,
    read: ReadFile,
    base_config: Config,
    select: Sequence[str] = (),
    ignore: Sequence[str] = (),
    jobs: int | None = None,
    progress: Progress | None = None,
    cache: bool = False,
) -> list[FileResult]:
    """Check ``paths`` (in that order) with every enabled rule, cross-file rules included, in
    ``jobs`` processes (None: `automatic_jobs`); with ``cache``, what the cache on disk of each
    project holds for an unchanged file is reused and what is new is written back."""
    progress = progress or Progress()
    tasks = _first_pass_tasks(paths)
    if jobs is None:
        jobs = automatic_jobs(len(tasks))
    progress.begin(len(tasks))
    caches = _open_caches(tasks, base_config, select, ignore) if cache else {}
    start_args = (read, base_config, tuple(select), tuple(ignore))
    with _Runner(jobs, (*start_args, caches)) as runner:
        first = list(_stepping(runner.map(_first_pass, tasks), progress, "indexed"))
    _store_entries(tasks, caches, [entry for _summary, _result, entry in first])
    results = [result for _summary, result, _entry in first if result is not None]
    indexes = _indexes(tasks, [summary for summary, _result, _entry in first])
    second = [
        (result.path, result.text)
        for task, (summary, result, _entry) in zip(tasks, first, strict=True)
        if task.check and summary is not None and result is not None and result.text is not None
    ]
    project_rules = [r for r in enabled_rules(base_config, select, ignore) if r.project_files]
    second = [(path, text) for path, text in second if _could_fire(project_rules, indexes, path)]
    keys = _project_keys(tasks, caches, [path for path, _text in second])
    extra = {
        path: found
        for path, key in keys.items()
        if (found := key[0].project_findings(path, key[1])) is not None
    }
    todo = [(path, text) for path, text in second if path not in extra]
    if todo:
        progress.begin(len(todo))
        with _Runner(jobs, (*start_args, None, indexes)) as runner:
            done = _stepping(runner.map(_second_pass, todo), progress, "checked")
            for (path, _text), found in zip(todo, done, strict=True):
                extra[path] = found
                if path in keys:
                    keys[path][0].store_project_findings(path, keys[path][1], found)
    for root, disk in caches.items():
        disk.save({task.path for task in tasks if task.root == root})
    return [_merged(result, extra.get(result.path, ())) for result in results]


def _open_caches(
    tasks: list[_Task], base_config: Config, select: Sequence[str], ignore: Sequence[str]
) -> dict[str, disk_cache.Cache]:
    key = disk_cache.run_key(base_config, tuple(select), tuple(ignore))
    roots = dict.fromkeys(task.root for task in tasks if task.root is not None)
    return {root: disk_cache.open_cache(Path(root), key) for root in roots}


def _store_entries(
    tasks: list[_Task], caches: dict[str, disk_cache.Cache], entries: list[_Cached]
) -> None:
    for task, entry in zip(tasks, entries, strict=True):
        if entry is not None and task.root in caches:
            caches[task.root].store(*entry)


def _project_keys(
    tasks: list[_Task], caches: dict[str, disk_cache.Cache], paths: list[str]
) -> dict[str, tuple[disk_cache.Cache, str | None]]:
    """For each file of ``paths`` in a cached project: its cache, and the key under which the
    findings of the rules that read the index are valid (every summary of its project)."""
    roots = {task.path: task.root for task in tasks}
    index_keys = {
        root: cache.index_key(task.path for task in tasks if task.root == root)
        for root, cache in caches.items()
    }
    found = {}
    for path in paths:
        root = roots.get(path)
        if root is not None and root in caches:
            found[path] = (caches[root], caches[root].project_key(path, index_keys[root]))
    return found


def _could_fire(rules: list[Rule], indexes: list[ProjectIndex], path: str) -> bool:
    """Whether a project-wide rule can fire in the file, by its summary (read here, so a file
    where none can costs the workers nothing)."""
    for index in indexes:
        summary = index.summary(path)
        if summary is not None:
            return any(rule.project_files(summary) for rule in rules)  # type: ignore[misc]
    return False


def _merged(result: FileResult, more: tuple[Finding, ...]) -> FileResult:
    if not more:
        return result
    findings = sorted((*result.findings, *more), key=lambda f: (f.start, f.end, f.code))
    return FileResult(result.path, result.text, tuple(findings), result.messages)


def _first_pass_tasks(paths: Sequence[str]) -> list[_Task]:
    """The files to check, in order, then the other files of their projects (summaries)."""
    roots: dict[str, str | None] = {}
    tasks, seen = [], set()
    for path in paths:
        folder = os.path.dirname(os.path.abspath(path))
        if folder not in roots:
            found = find_root(Path(path))
            roots[folder] = str(found) if found is not None else None
        tasks.append(_Task(path, roots[folder], True))
        seen.add(os.path.realpath(path))
    for project in dict.fromkeys(r for r in roots.values() if r is not None):
        for other in project_files(Path(project)):
            real = os.path.realpath(other)
            if real not in seen:
                seen.add(real)
                tasks.append(_Task(str(other), project, False))
    return tasks


def _indexes(tasks: list[_Task], summaries: list[FileSummary | None]) -> list[ProjectIndex]:
    by_root: dict[str, ProjectIndex] = {}
    for task, summary in zip(tasks, summaries, strict=True):
        if task.root is None or summary is None:
            continue
        index = by_root.setdefault(task.root, ProjectIndex(Path(task.root)))
        index.files[os.path.abspath(summary.path)] = summary
    for index in by_root.values():
        index.complete = True
    return list(by_root.values())


def _stepping(items: Iterable[Any], progress: Progress, what: str) -> Iterator[Any]:
    for item in items:
        progress.step(what)
        yield item


class _Runner:
    """``map`` in this process (one job) or over a pool of processes, always in order."""

    def __init__(self, jobs: int, start_args: tuple[Any, ...]) -> None:
        self.jobs = jobs
        self.start_args = start_args
        self.pool: Any = None

    def __enter__(self) -> _Runner:
        if self.jobs > 1:
            import multiprocessing  # only here: a one-process run does without it

            context = multiprocessing.get_context(_start_method())
            self.pool = context.Pool(self.jobs, _start_worker, self.start_args)
        else:
            _start_worker(*self.start_args)
        return self

    def map(self, function: Callable[[Any], Any], items: Sequence[Any]) -> Iterator[Any]:
        if self.pool is None:
            return map(function, items)
        chunk = max(1, min(32, len(items) // (self.jobs * 8)))
        return self.pool.imap(function, items, chunk)  # type: ignore[no-any-return]

    def __exit__(self, kind: object, *exc: object) -> None:
        if self.pool is not None:
            if kind is None:
                self.pool.close()
            else:
                self.pool.terminate()
            self.pool.join()


def _start_method() -> str:
    """fork where it is safe and fast (Linux: the CLI runs no threads); spawn elsewhere."""
    return "fork" if sys.platform.startswith("linux") else "spawn"


FILES_PER_PROCESS = 64
"""With fewer files than this per process, starting processes (each imports the package and
compiles its queries, about half a second) costs more than it saves."""


def default_jobs() -> int:
    """One process per CPU this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1


def automatic_jobs(files: int) -> int:
    """Processes for ``files`` files when ``--jobs`` is not given: one per CPU, but none that
    would get fewer than FILES_PER_PROCESS files."""
    return max(1, min(default_jobs(), files // FILES_PER_PROCESS))
