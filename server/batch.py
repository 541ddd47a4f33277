"""Checking many files at once: each project's index built once, files analysed in this process
or in several, and the results in the order the files were given, whatever the number of jobs.

Two passes over the files. The first parses each file once: it summarises every file of the
projects involved (for the index) and runs the rules that read only the file itself on the
files being checked. Then each project's index is assembled, and the second pass runs the rules
that read it (`Rule.project_files`) on the checked files whose summary says they can fire.
"""

from __future__ import annotations

import dataclasses
import io
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import redirect_stderr
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from otp_thinking import cache as disk_cache
from otp_thinking import collector
from otp_thinking.config import Config
from otp_thinking.files import (
    SKIPPED_DIRS,
    defines_application,
    read_text,
    root_of_folder,
    walk_elixir,
)
from otp_thinking.findings import Finding
from otp_thinking.workspace import Workspace

if TYPE_CHECKING:  # the analysis is imported only when a file has to be analysed
    from otp_thinking.index import ProjectIndex
    from otp_thinking.model.summary import FileSummary
    from otp_thinking.registry import Manifest
    from otp_thinking.rule import Rule
    from otp_thinking.source import Source

ReadFile = Callable[[str], "str | None"]
"""Reads a file for checking; says on stderr why it cannot (captured and reported in order)."""


@dataclass(frozen=True)
class FileResult:
    path: str
    text: str | None
    """None when the file could not be read (``messages`` say why), or when the cache knew it
    unchanged by its stat and it has no finding to show (not read at all)."""
    findings: tuple[Finding, ...] = ()
    messages: tuple[str, ...] = ()
    unread: bool = False
    """The cache knew the file unchanged by its stat: its text was not read."""


@dataclass(frozen=True)
class _Task:
    path: str
    root: str | None
    check: bool
    """Analyse it (a file being checked), or only summarise it (another file of the project)."""
    stamp: disk_cache.Stamp | None = None
    """The file's stat before it is read (cached projects only)."""
    applications: str = ""
    """The key of its project's application modules (cached projects only)."""


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
    _chosen: dict[int, tuple[Config, list[Rule]]] = field(default_factory=dict)
    """The enabled rules of each configuration seen (by identity: the workspace keeps one
    object per configuration file), chosen once instead of for every file."""
    _described: dict[tuple[int, bool], tuple[Config, list[Rule]]] = field(default_factory=dict)
    """The same from the cache's manifest of the rules (stand-ins, their modules not
    imported), those that read the project index or those that do not."""
    in_process: bool = False
    """Both passes run in this process, one after the other (one job)."""
    kept: dict[str, Source] = field(default_factory=dict)
    """In process, the first pass's source (text, tree and query matches) of each checked
    file that the second pass may analyse again, by path: not parsed and walked twice."""

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
        known = self._chosen.get(id(config))
        if known is None or known[0] is not config:
            from otp_thinking.engine import enabled_rules

            configure_logging()
            known = self._chosen[id(config)] = (
                config,
                enabled_rules(config, self.select, self.ignore),
            )
        chosen = known[1]
        if project_wide is None:
            return config, chosen
        return config, [r for r in chosen if (r.project_files is not None) == project_wide]

    def described(
        self, path: str, manifest: Manifest, project_wide: bool
    ) -> tuple[Config, list[Rule]]:
        """`rules` as the cache's ``manifest`` describes them: stand-ins, to choose and skip by
        words without importing a rule module."""
        config = self.workspace.config_for(path)
        known = self._described.get((id(config), project_wide))
        if known is None or known[0] is not config:
            from otp_thinking.registry import enabled_rules, stand_ins

            chosen = enabled_rules(config, self.select, self.ignore, stand_ins(manifest))
            known = self._described[(id(config), project_wide)] = (
                config,
                [rule for rule in chosen if (rule.project_files is not None) == project_wide],
            )
        return known

    def firing_rules(
        self, path: str, text: str, manifest: Manifest | None
    ) -> tuple[Config, list[Rule]] | None:
        """By the cache's ``manifest`` of the rules: the rules of the file that read only the
        file itself and whose words ``text`` has (the others cannot fire), each rule module
        imported alone; none imported when none can fire. None without a manifest (or when
        a module does not hold the rule it describes): then every rule is imported."""
        if manifest is None:
            return None
        from otp_thinking.registry import load

        config, described = self.described(path, manifest, project_wide=False)
        modules = {item[0]: item[5] for item in manifest}
        firing = []
        for stand_in in described:
            if stand_in.may_fire(text.__contains__):
                rule = load(modules[stand_in.code], stand_in.code)
                if rule is None:
                    return None
                firing.append(rule)
        return config, firing


_worker: _Worker | None = None


def configure_logging() -> None:
    """Warnings of the analysis (a rule that failed) on stderr as the command's own messages;
    done when a file is first analysed, so a run that finds everything in its cache never
    imports logging."""
    import logging

    logging.basicConfig(level=logging.WARNING, format="otp-thinking: %(message)s")


def _start_worker(
    read: ReadFile,
    base_config: Config,
    select: tuple[str, ...],
    ignore: tuple[str, ...],
    caches: dict[str, disk_cache.Cache] | None = None,
    indexes: Sequence[ProjectIndex] = (),
    plain: frozenset[str] = frozenset(),
) -> None:
    global _worker
    collector.tune()
    _worker = _Worker(read, base_config, select, ignore, caches or {})
    _given(_worker, indexes, plain)


def _resume_worker(
    read: ReadFile,
    base_config: Config,
    select: tuple[str, ...],
    ignore: tuple[str, ...],
    caches: dict[str, disk_cache.Cache] | None = None,
    indexes: Sequence[ProjectIndex] = (),
    plain: frozenset[str] = frozenset(),
) -> None:
    """`_start_worker` for the second pass of a one-process run, keeping the first pass's
    worker of the same run: its workspace has found each project's applications already
    (reading every file of `lib/` again and parsing the application's), and they do not
    depend on the index it is now given."""
    assert _worker is not None
    _worker.caches = caches or {}
    _given(_worker, indexes, plain)


def _given(worker: _Worker, indexes: Sequence[ProjectIndex], plain: frozenset[str]) -> None:
    """The worker's workspace takes the projects' indexes and the files known to define no
    application."""
    worker.workspace.not_applications = plain
    for index in indexes:
        worker.workspace.set_index(index)


_Cached = tuple[str, disk_cache.Entry] | None
"""A new cache entry for a file (its path and what was computed), for the parent to store."""


@dataclass(frozen=True)
class _First:
    """What the first pass found for one file."""

    summary: FileSummary | None
    result: FileResult | None
    entry: _Cached = None
    cached: str | None = None
    """The summary key of the cache's entry, when the summary is the cache's (loaded only if
    the index is needed)."""
    fires: bool | None = None
    """Whether a rule that reads the index can fire in the file by its summary, when the
    worker has found out (in process: `_keep`); None when the parent must."""


def _first_pass(task: _Task) -> _First:
    """Summarise the file for the index and, when it is being checked, run the rules that read
    only the file itself — one parse for both (none when the cache on disk has both)."""
    worker = _worker
    assert worker is not None
    worker.problems.clear()
    cache = worker.caches.get(task.root) if task.root is not None else None
    if cache is not None:
        unchanged = _unchanged(worker, cache, task)
        if unchanged is not None:
            return unchanged
    captured = io.StringIO()
    if task.check:
        with redirect_stderr(captured):
            text = worker.read(task.path)
    else:
        text = worker.workspace.read(task.path)
    if text is None:
        messages = (*worker.problems, *captured.getvalue().splitlines())
        return _First(None, FileResult(task.path, None, (), messages) if task.check else None)
    keys = _cache_keys(worker, task, text) if cache is not None else None
    if cache is not None and keys is not None:
        known = keys.summary if cache.has_summary(task.path, keys.summary) else None
        entry = cache.findings(task.path, keys.findings) if task.check else None
        if known is not None and (entry is not None or not task.check):
            update = _restamped(cache, task, keys)
            if entry is None:
                return _First(None, None, update, known)
            found, notes = entry
            messages = (*worker.problems, *captured.getvalue().splitlines(), *notes)
            return _First(None, FileResult(task.path, text, found, messages), update, known)
    from otp_thinking.source import Source

    source = Source(text, task.path)
    summary = None
    if task.root is not None:
        summary = worker.workspace.summarize(Path(task.root), task.path, text, source)
    if not task.check:
        return _First(summary, None, _entry(task, keys, summary, None))
    from otp_thinking.suppression import unknown_rule_messages

    manifest = cache.rules if cache is not None else None
    firing = worker.firing_rules(task.path, text, manifest)
    findings = _analysed(task, source, firing) if firing is None or firing[1] else []
    notes = tuple(unknown_rule_messages(source))
    messages = (*worker.problems, *captured.getvalue().splitlines(), *notes)
    result = FileResult(task.path, text, tuple(findings), messages)
    stored = _entry(task, keys, summary, result.findings, notes)
    if not worker.in_process or firing is not None:
        return _First(summary, result, stored)
    return _First(summary, result, stored, fires=_keep(worker, task, source, summary, result))


def _keep(
    worker: _Worker, task: _Task, source: Source, summary: FileSummary | None, result: FileResult
) -> bool | None:
    """Keep the source for the second pass when it may analyse the file again (as
    `check_files` chooses: a rule that reads the index can fire there by its summary, or a fix
    must be chosen again); and say whether such a rule can (None outside any project)."""
    if task.root is None or summary is None:
        return None
    fires = _could_fire(worker.rules(task.path, project_wide=True)[1], summary)
    if fires or _fixes_chosen_without_the_index(result):
        worker.kept[task.path] = source
    return fires


def _analysed(
    task: _Task, source: Source, chosen: tuple[Config, list[Rule]] | None = None
) -> list[Finding]:
    """The findings of the ``chosen`` rules, else of every rule that reads only the file itself
    (every rule, for a file outside any project: it has no index and no second pass)."""
    from otp_thinking.engine import analyze

    worker = _worker
    assert worker is not None
    if chosen is None:
        chosen = worker.rules(task.path, project_wide=False if task.root else None)
    config, rules = chosen
    if not rules:
        return []
    configure_logging()
    project = worker.workspace.project_for(task.path)
    return analyze(source, config=config, project=project, rules=rules)


def _unchanged(worker: _Worker, cache: disk_cache.Cache, task: _Task) -> _First | None:
    """What the cache holds for a file its stat says is unchanged, without reading it."""
    entry = cache.unchanged(task.path, task.stamp)
    if entry is None:
        return None
    config = worker.workspace.config_for(task.path)
    summary_key = disk_cache.summary_key_of(entry.text_digest, config)
    if summary_key != entry.summary_key:
        return None
    if not task.check:
        return _First(None, None, None, summary_key)
    found = cache.findings(task.path, disk_cache.findings_key(summary_key, task.applications))
    if found is None:
        return None
    findings, notes = found
    result = FileResult(task.path, None, findings, (*worker.problems, *notes), unread=True)
    return _First(None, result, None, summary_key)


@dataclass(frozen=True)
class _Keys:
    """A text's digest and the keys under which its summary and its file-local findings are
    valid."""

    digest: str
    summary: str
    findings: str
    application: bool


def _cache_keys(worker: _Worker, task: _Task, text: str) -> _Keys:
    digest = disk_cache.text_digest(text)
    summary_key = disk_cache.summary_key_of(digest, worker.workspace.config_for(task.path))
    findings_key = disk_cache.findings_key(summary_key, task.applications)
    return _Keys(digest, summary_key, findings_key, defines_application(text))


def _restamped(cache: disk_cache.Cache, task: _Task, keys: _Keys) -> _Cached:
    """The cache's entry with the file's stat of now, when the text is the one it holds but
    its stat is not (a file touched, or copied): the next run need not read it."""
    entry = cache.current(task.path)
    stamp = disk_cache.settled(task.stamp)
    if entry is None or entry.text_digest != keys.digest or stamp is None or entry.stamp == stamp:
        return None
    return task.path, dataclasses.replace(entry, stamp=stamp)


def _entry(
    task: _Task,
    keys: _Keys | None,
    summary: FileSummary | None,
    findings: tuple[Finding, ...] | None,
    notes: tuple[str, ...] = (),
) -> _Cached:
    if keys is None or summary is None:
        return None
    findings_key = keys.findings if findings is not None else None
    return task.path, disk_cache.Entry(
        keys.summary,
        summary,
        findings_key,
        findings,
        notes=notes,
        text_digest=keys.digest,
        stamp=disk_cache.settled(task.stamp),
        application=keys.application,
    )


def _second_pass(item: tuple[str, str, frozenset[str]]) -> tuple[Finding, ...]:
    """The rules that read the project index, on a file whose summary says they can fire, and
    the rules (``again``, by code) whose first-pass fixes were chosen without the index."""
    from otp_thinking.engine import analyze

    worker = _worker
    assert worker is not None
    path, text, again = item
    config, rules = worker.rules(path, project_wide=None)
    project = worker.workspace.project_for(path)
    summary = project.index.summary(path)
    chosen = [
        r
        for r in rules
        if r.code in again
        or (r.project_files is not None and summary is not None and r.project_files(summary))
    ]
    if not chosen:
        return ()
    return tuple(analyze(_source(worker, path, text), config=config, project=project, rules=chosen))


def _source(worker: _Worker, path: str, text: str) -> Source:
    """The first pass's source of the file when this process kept it for the same text, else
    a new one."""
    from otp_thinking.source import Source

    kept = worker.kept.pop(path, None)
    if kept is None or kept.text != text:
        return Source(text, path)
    from otp_thinking.parsing import recall

    recall(kept.tree)
    return kept


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
    real_paths: Mapping[str, str] | None = None,
) -> list[FileResult]:
    """Check ``paths`` (in that order) with every enabled rule, cross-file rules included, in
    ``jobs`` processes (None: `automatic_jobs`); with ``cache``, what the cache on disk of each
    project holds for an unchanged file is reused and what is new is written back.
    ``real_paths``: the real path of each of ``paths`` when the caller knows it (a listing of
    the folders), so that it is not looked up again."""
    progress = progress or Progress()
    tasks = _first_pass_tasks(paths, real_paths or {})
    if jobs is None:
        jobs = automatic_jobs(len(tasks))
    progress.begin(len(tasks))
    caches = _open_caches(tasks, base_config, select, ignore) if cache else {}
    tasks, plain = _stamped(tasks, caches)
    start_args = (read, base_config, tuple(select), tuple(ignore))
    with _Runner(jobs, (*start_args, caches, (), plain)) as runner:
        first = list(_stepping(runner.map(_first_pass, tasks), progress, "indexed"))
    _store_entries(tasks, caches, [found.entry for found in first])
    results = {found.result.path: found.result for found in first if found.result is not None}
    checked = [
        task.path
        for task, found in zip(tasks, first, strict=True)
        if task.check
        and task.root is not None
        and found.result is not None
        and (found.result.text is not None or found.result.unread)
        and (found.summary is not None or found.cached is not None)
    ]
    keys = _project_keys(tasks, caches, checked)
    extra = {
        path: found
        for path, key in keys.items()
        if (found := key[0].project_findings(path, key[1])) is not None
    }
    needed = [path for path in checked if path not in extra]
    # Each file's own configuration says which cross-file rules run there (a project's
    # `[rules] preview = true` turns on preview ones the command line did not name).
    chooser = _Worker(*start_args)
    again = {path: _fixes_chosen_without_the_index(results[path]) for path in checked}
    for path in needed:
        if not again[path] and _no_project_rule_has_words(keys, path, results[path], chooser):
            extra[path] = ()
    if any(path not in extra for path in needed):
        firsts = {task.path: (task, found) for task, found in zip(tasks, first, strict=True)}
        todo = []
        for path in (path for path in needed if path not in extra):
            fires = firsts[path][1].fires
            if fires is None:
                summary = _summary(*firsts[path], caches, start_args)
                fires = _could_fire(chooser.rules(path, project_wide=True)[1], summary)
            if again[path] or fires:
                todo.append((path, _text(results[path], read), again[path]))
            else:
                extra[path] = ()
        todo = [(path, text, codes) for path, text, codes in todo if text is not None]
        if todo:
            # Every summary of the project, only now that a file needs them (a file changed
            # where no cross-file rule can fire loads none).
            indexes = _indexes(tasks, first, caches, start_args)
            progress.begin(len(todo))
            second = (*start_args, None, indexes, plain)
            with _Runner(jobs, second, resume=True) as runner:
                done = _stepping(runner.map(_second_pass, todo), progress, "checked")
                for (path, _text_read, _again), found in zip(todo, done, strict=True):
                    extra[path] = found
        for path in needed:
            if path in keys and path in extra:
                keys[path][0].store_project_findings(path, keys[path][1], extra[path])
    if _worker is not None:
        _worker.kept.clear()  # sources the second pass did not ask for
    for root, disk in caches.items():
        if disk.rules is None and (disk.added or _rules_imported()):
            from otp_thinking.registry import manifest

            disk.rules = manifest()
        disk.save({task.path for task in tasks if task.root == root})
    merged = [
        _merged(result, extra.get(result.path, ()), again.get(result.path, frozenset()))
        for result in results.values()
    ]
    return [_shown(result, read) for result in merged]


def _no_project_rule_has_words(
    keys: dict[str, tuple[disk_cache.Cache, str | None]],
    path: str,
    result: FileResult,
    chooser: _Worker,
) -> bool:
    """Whether, by its cache's manifest of the rules, none of the file's rules that read the
    project index (as its configuration chooses them) can fire in its text, which lacks all
    their words: its cross-file findings are none, known without importing the rules."""
    manifest = keys[path][0].rules if path in keys else None
    text = result.text
    if manifest is None or text is None:
        return False
    rules = chooser.described(path, manifest, project_wide=True)[1]
    return not any(rule.may_fire(text.__contains__) for rule in rules)


def _rules_imported() -> bool:
    """Whether this process has imported the rules (so their manifest costs nothing)."""
    registry = sys.modules.get("otp_thinking.registry")
    return registry is not None and registry.all_rules.cache_info().currsize > 0


def _text(result: FileResult, read: ReadFile) -> str | None:
    """The text of a checked file (read now when the cache knew it unchanged)."""
    if not result.unread:
        return result.text
    with redirect_stderr(io.StringIO()):
        return read(result.path)


def _shown(result: FileResult, read: ReadFile) -> FileResult:
    """A result whose findings can be shown: with its text (read now if it was not)."""
    if not result.unread or not result.findings:
        return result
    return dataclasses.replace(result, text=_text(result, read), unread=False)


def _open_caches(
    tasks: list[_Task], base_config: Config, select: Sequence[str], ignore: Sequence[str]
) -> dict[str, disk_cache.Cache]:
    key = disk_cache.run_key(base_config, tuple(select), tuple(ignore))
    roots = dict.fromkeys(task.root for task in tasks if task.root is not None)
    return {root: disk_cache.open_cache(Path(root), key) for root in roots}


def _stamped(
    tasks: list[_Task], caches: dict[str, disk_cache.Cache]
) -> tuple[list[_Task], frozenset[str]]:
    """The tasks of cached projects with each file's stat and its project's applications key:
    a file whose stat the cache holds is known by the digest stored with it, any other is read
    here to learn its digest and whether it may define an application. And the files known
    not to define one (absolute paths): the project's applications are looked for in the
    others only."""
    stamps: dict[str, disk_cache.Stamp | None] = {}
    texts: dict[str, list[tuple[str, str]]] = {root: [] for root in caches}
    plain: set[str] = set()
    for task in tasks:
        if task.root not in caches:
            continue
        cache = caches[task.root]
        stamps[task.path] = found = disk_cache.stamp(task.path)
        entry = cache.unchanged(task.path, found)
        if entry is not None:
            digest, application = entry.text_digest, entry.application
        else:
            text = read_text(task.path)
            if text is None:
                continue
            digest, application = disk_cache.text_digest(text), defines_application(text)
        if application:
            texts[task.root].append((cache.key(task.path), digest))
        else:
            plain.add(os.path.abspath(task.path))
    keys = {root: disk_cache.applications_key(root, found) for root, found in texts.items()}
    stamped = [
        # not `dataclasses.replace`, which looks the fields up again for every file
        _Task(task.path, task.root, task.check, stamps[task.path], keys[task.root])
        if task.root is not None and task.root in caches
        else task
        for task in tasks
    ]
    return stamped, frozenset(plain)


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


def _could_fire(rules: list[Rule], summary: FileSummary | None) -> bool:
    """Whether a project-wide rule can fire in the file, by its summary (read here, so a file
    where none can costs the workers nothing)."""
    if summary is None:
        return False
    return any(rule.project_files(summary) for rule in rules)  # type: ignore[misc]


def _fixes_chosen_without_the_index(result: FileResult) -> frozenset[str]:
    """The codes of first-pass findings with a fix. The first pass chose it before the
    project index existed: a name started elsewhere in the project would make it start a
    second supervisor, or pick one the project does not use, and what the index alone shows
    makes a fix unsafe (a child that calls the supervisor it reuses while it boots, a Mix task
    that runs the code without the application). The second pass runs those rules again with
    the index, as ``--fix`` does, and their findings replace these."""
    return frozenset(finding.code for finding in result.findings if finding.fix is not None)


def _merged(result: FileResult, more: tuple[Finding, ...], again: frozenset[str]) -> FileResult:
    """The first pass's findings, those of the rules run ``again`` replaced, with ``more``."""
    if not more and not again:
        return result
    kept = [f for f in result.findings if f.code not in again]
    findings = sorted((*kept, *more), key=lambda f: (f.start, f.end, f.code))
    return dataclasses.replace(result, findings=tuple(findings))


def _first_pass_tasks(paths: Sequence[str], real_paths: Mapping[str, str]) -> list[_Task]:
    """The files to check, in order, then the other files of their projects (summaries)."""
    root_of = _roots()
    real_folders: dict[str, str] = {}
    tasks, seen = [], set()
    for path in paths:
        folder = os.path.dirname(os.path.abspath(path))
        tasks.append(_Task(path, root_of(folder), True))
        known = real_paths.get(path)
        if known is not None:
            seen.add(known)
            continue
        if folder not in real_folders:
            real_folders[folder] = os.path.realpath(folder)
        name = os.path.basename(path)
        linked = os.path.islink(path)
        seen.add(os.path.realpath(path) if linked else os.path.join(real_folders[folder], name))
    for project in dict.fromkeys(task.root for task in tasks if task.root is not None):
        for other, real in walk_elixir(project, _skipped_in_project, follow_links=False):
            if real not in seen:
                seen.add(real)
                tasks.append(_Task(other, project, False))
    return tasks


def _skipped_in_project(name: str) -> bool:
    """Folders `index.project_files` leaves out: deps, _build… and hidden ones."""
    return name in SKIPPED_DIRS or name.startswith(".")


def _roots() -> Callable[[str], str | None]:
    """The project root of a folder (see `project.find_root`), each folder looked at once."""
    found: dict[str, str | None] = {}

    def root_of(folder: str) -> str | None:
        if folder not in found:
            parent = os.path.dirname(folder)
            above = root_of(parent) if parent != folder else None
            found[folder] = root_of_folder(folder, above)
        return found[folder]

    return root_of


def _indexes(
    tasks: list[_Task],
    first: list[_First],
    caches: dict[str, disk_cache.Cache],
    start_args: tuple[Any, ...],
) -> list[ProjectIndex]:
    """Each project's index, from the summaries made in the first pass and the cache's."""
    from otp_thinking.index import ProjectIndex

    by_root: dict[str, ProjectIndex] = {}
    for task, found in zip(tasks, first, strict=True):
        summary = _summary(task, found, caches, start_args)
        if summary is None or task.root is None:
            continue
        index = by_root.setdefault(task.root, ProjectIndex(Path(task.root)))
        index.files[os.path.abspath(summary.path)] = summary
    for index in by_root.values():
        index.complete = True
    return list(by_root.values())


def _summary(
    task: _Task,
    found: _First,
    caches: dict[str, disk_cache.Cache],
    start_args: tuple[Any, ...],
) -> FileSummary | None:
    """The file's summary for its project's index: made in the first pass, else the cache's
    (loaded now), else made now; None outside any project."""
    if task.root is None:
        return None
    summary = found.summary
    if summary is None and found.cached is not None and task.root in caches:
        summary = caches[task.root].summary(task.path, found.cached)
        if summary is None:  # the cache's summaries could not be read after all
            summary = _summarized(task, start_args)
    return summary


def _summarized(task: _Task, start_args: tuple[Any, ...]) -> FileSummary | None:
    """The file's summary made now, in this process."""
    if _worker is None:
        _start_worker(*start_args)
    assert _worker is not None
    text = read_text(task.path)
    if text is None or task.root is None:
        return None
    return _worker.workspace.summarize(Path(task.root), task.path, text)


def _stepping(items: Iterable[Any], progress: Progress, what: str) -> Iterator[Any]:
    for item in items:
        progress.step(what)
        yield item


class _Runner:
    """``map`` in this process (one job) or over a pool of processes, always in order."""

    def __init__(self, jobs: int, start_args: tuple[Any, ...], resume: bool = False) -> None:
        self.jobs = jobs
        self.start_args = start_args
        self.resume = resume
        """In one process, go on with the worker of the first pass (see `_resume_worker`)."""
        self.pool: Any = None

    def __enter__(self) -> _Runner:
        if self.jobs > 1:
            import multiprocessing  # only here: a one-process run does without it

            context = multiprocessing.get_context(_start_method())
            self.pool = context.Pool(self.jobs, _start_worker, self.start_args)
        elif self.resume and _worker is not None:
            _resume_worker(*self.start_args)
        else:
            _start_worker(*self.start_args)
        if _worker is not None and self.pool is None:
            _worker.in_process = True
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
