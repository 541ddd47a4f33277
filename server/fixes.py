"""Pieces fixes share: which supervisor or registry to use, and adding it when missing."""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from tree_sitter import Node

from otp_thinking import syntax
from otp_thinking.context import Context
from otp_thinking.findings import Edit, Safety
from otp_thinking.model import calls, clauses, modules
from otp_thinking.model.on_demand import BOOT_FUNCTIONS
from otp_thinking.model.supervision import (
    COMPUTED,
    DEFAULT_PG_SCOPE,
    LITERAL,
    PG,
    REGISTRY,
    TASK_PARTITIONS,
    TASK_SUPERVISOR,
    NameStart,
    booting_users,
    module_starts,
)
from otp_thinking.project import Application
from otp_thinking.project import app_root as _app_root
from otp_thinking.source import Source

if TYPE_CHECKING:
    from otp_thinking.model.summary import FileSummary


@dataclass(frozen=True)
class Started:
    """A process name a fix can use, and the edits that start it when the app does not yet."""

    name: str
    edits: tuple[Edit, ...] = ()
    safety: Safety = "safe"
    note: str = ""


def task_supervisor(context: Context, node: Node) -> Started:
    """The app's Task.Supervisor for the calling module (see `_for_caller`). Configured by
    ``[names] task_supervisor``."""
    configured = context.config.names.get("task_supervisor")
    if configured:
        return Started(configured)
    existing = started_names(context, TASK_SUPERVISOR)
    child = "{{Task.Supervisor, name: {}}}"
    started = _for_caller(context, node, TASK_SUPERVISOR, None, existing, _TASK_NAMES, child)
    if not (started.name in existing and started.safety == "safe"):
        started = _partitioned_task_supervisor(context, node) or started
    return _outside_the_app(context, node, started)


def _outside_the_app(context: Context, node: Node, started: Started) -> Started:
    """``started``, unsafe and saying why when a Mix task of the project runs this code
    without starting the application (see `ProjectFacts.task_running_without_the_app`):
    there the supervisor the fix calls is not running, and every call exits with
    ``:noproc``."""
    index = context.project.index
    caller = modules.name_at(node)
    if started.safety != "safe" or not caller or not index.complete:
        return started
    functions = _entry_functions(node)
    if not functions:
        return started
    task = index.facts.task_running_without_the_app(caller, functions, context.project.app_name)
    if task is None:
        return started
    note = f"{started.note} ({task} may run this code without starting the application)"
    return Started(started.name, started.edits, "unsafe", note)


def _entry_functions(node: Node) -> set[str]:
    """The function holding ``node`` and, when it is private, the public functions of its
    module that call it: where other modules come in."""
    definition = syntax.enclosing_definition(node)
    module = syntax.enclosing_module(node)
    if definition is None or module is None:
        return set()
    name = clauses.name(definition)
    if syntax.local_target(definition) == "def":
        return {name}
    return {
        clauses.name(public)
        for public in clauses.public_definitions(module)
        if name in syntax.local_calls_in(public)
    }


def _partitioned_task_supervisor(context: Context, node: Node) -> Started | None:
    """The app's PartitionSupervisor of Task.Supervisors (``{PartitionSupervisor,
    child_spec: Task.Supervisor, name: Shop.Tasks}``), as the via tuple a task is started
    on: ``{:via, PartitionSupervisor, {Shop.Tasks, self()}}``, the caller's partition. Taken
    when no plain Task.Supervisor the app starts can be reused safely."""
    names = started_names(context, TASK_PARTITIONS)
    caller = modules.name_at(node)
    name = closest_name(names, caller) or (_app_wide(names) if names else None)
    if name is None:
        return None
    found = _in_boot_order(context, node, caller, _reused(context, TASK_PARTITIONS, None, name))
    via = f"{{:via, PartitionSupervisor, {{{name}, self()}}}}"
    return Started(via, found.edits, found.safety, found.note)


_TASK_NAMES = ("TaskSupervisor", "Tasks")
"""Names a new Task.Supervisor gets under the app's namespace, the first one free."""


def registry(context: Context, node: Node) -> Started:
    """The app's unique-keys Registry for the calling module (see `_for_caller`). Configured
    by ``[names] registry``."""
    configured = context.config.names.get("registry")
    if configured:
        return Started(configured)
    unique = started_names(context, REGISTRY, ":unique")
    return _for_caller(
        context,
        node,
        REGISTRY,
        ":unique",
        unique,
        ("Registry", "ProcessRegistry"),
        "{{Registry, keys: :unique, name: {}}}",
    )


def started_names(context: Context, kind: str, keys: str | None = None) -> list[str]:
    """The names of ``kind`` (Registries with these ``keys``) that the caller's application
    starts, in any spelling: its children, and any `name:` of that kind in a production file
    of the application (a wrapper's ``child_spec``, ``Registry.start_link(:unique, Name)``).
    In path order, then document order, so the choice does not depend on what ran first."""
    cache_key = f"started names {kind} {keys}"
    if cache_key not in context.cache:
        context.cache[cache_key] = _started_names(context, kind, keys)
    return list(context.cache[cache_key])


def _started_names(context: Context, kind: str, keys: str | None) -> list[str]:
    app = context.application
    names = app.named(kind, keys, unconditional=True) if app is not None else []
    app_root = _app_root(app.path) if app is not None else None
    for path, summary in context.summaries():
        if summary.short_lived or (app_root is not None and not _under(path, app_root)):
            continue
        branches = [(c.start, c.end) for c in summary.supervision.lists if c.placement != LITERAL]
        names.extend(
            name
            for name, at in _callable_names(summary, kind, keys)
            if not any(s <= at < e for s, e in branches)
        )
    if kind == TASK_SUPERVISOR:  # a pool of its own size: its places are not ours to take
        pools = {start.name for _p, summary in context.summaries() for start in _pools(summary)}
        names = [name for name in names if name not in pools]
    return list(dict.fromkeys(names))


def _pools(summary: FileSummary) -> Iterator[NameStart]:
    return (s for s in summary.supervision.names if s.kind == TASK_SUPERVISOR and s.bounded)


def _callable_names(summary: FileSummary, kind: str, keys: str | None) -> Iterator[tuple[str, int]]:
    """The names (and where) the file starts processes of ``kind`` under (Registries with these
    ``keys``) that a fix can call: read exactly, not guessed from inside a computed name."""
    for start in summary.supervision.names:
        if (
            start.kind == kind
            and start.name
            and not start.guessed
            and (keys is None or start.keys == keys)
        ):
            yield start.name, start.start


@functools.lru_cache(maxsize=1 << 16)
def _under(path: str, folder: Path) -> bool:
    """The file ``path`` (resolved) is in ``folder``. Remembered: a fix asks it of every file
    of the project (which application holds it), and each file of a run may ask again."""
    try:
        return Path(path).resolve().is_relative_to(folder)
    except OSError:
        return False


def _for_caller(
    context: Context,
    node: Node,
    kind: str,
    keys: str | None,
    existing: list[str],
    suffixes: tuple[str, ...],
    child: str,
) -> Started:
    """One of the ``existing`` names the app starts, meant for the calling module (see
    `closest_name`; a Phoenix ``ShopWeb.*`` module is part of ``Shop``). Else
    ``<App>.<suffix>``: used when the project already starts it as this kind, added to the
    app's children (``child`` with the name filled in) when nothing starts that name; when it
    cannot be added safely, an existing one (it works as it is), else the fix is unsafe."""
    caller = modules.name_at(node)
    namespace = context.namespace_at(node)
    chosen: dict[tuple[object, ...], tuple[Started, bool]]
    chosen = context.cache.setdefault("fixes.for_caller", {})
    key = (kind, keys, caller, namespace, tuple(existing), suffixes, child)
    if key not in chosen:  # the same answer for every call in a module
        chosen[key] = _choose(context, kind, keys, existing, suffixes, child, caller, namespace)
    started, reused = chosen[key]
    return _in_boot_order(context, node, caller, started) if reused else started


def _choose(
    context: Context,
    kind: str,
    keys: str | None,
    existing: list[str],
    suffixes: tuple[str, ...],
    child: str,
    caller: str,
    namespace: str,
) -> tuple[Started, bool]:
    """The name for a caller, and whether it is one the app already starts (whose place
    among the children is then checked against each call, see `_in_boot_order`)."""
    fitting = closest_name(existing, caller) or closest_name(
        existing, _web_to_app(caller, namespace)
    )
    if fitting is not None:
        return _reused(context, kind, keys, fitting), True
    unsure: str | None = None
    for suffix in suffixes:
        name = f"{namespace}.{suffix}"
        if name in _started_as(context, kind, keys):
            return _reused(context, kind, keys, name), True
        if _clashes(context, name):
            continue  # another process or a module has that name
        if kind in context.project.index.facts.names.unreadable_kinds:
            unsure = unsure or name  # one of those the tool cannot read may be it
            continue
        started = _start_child(context, name, child.format(name), caller)
        if started.safety == "unsafe" and existing:
            return _reused(context, kind, keys, _app_wide(existing)), False
        return started, False
    if existing:
        return _reused(context, kind, keys, _app_wide(existing)), False
    if unsure is not None:
        return _start_unsure(context, kind, unsure, child.format(unsure), caller), False
    name = f"{namespace}.{suffixes[0]}"
    return Started(name, (), "unsafe", f" (check that {name} is started as one)"), False


def _start_unsure(context: Context, kind: str, name: str, child: str, caller: str) -> Started:
    """``name``, which nothing the tool can read starts, though the project starts processes
    of ``kind`` under names it computes. Added to the application's children unless its own
    list starts one of ``kind`` under a computed name (a second child of the kind there could
    clash with it); unsafe either way, saying why. Not adding it at all would leave a fix
    that calls a supervisor nothing starts: every call would exit with ``:noproc``."""
    note = f"the project starts others under names it computes: check that none is {name}"
    app = context.application
    computed_here = app is not None and any(c.kind == kind and c.name is None for c in app.children)
    if computed_here:
        return Started(name, (), "unsafe", f" (start {child} in your supervision tree; {note})")
    started = _start_child(context, name, child, caller)
    if started.note.endswith(")"):  # " (start ... in your supervision tree)": one parenthesis
        return Started(name, started.edits, "unsafe", f"{started.note[:-1]}; {note})")
    return Started(name, started.edits, "unsafe", f"{started.note} ({note})")


def _reused(context: Context, kind: str, keys: str | None, name: str) -> Started:
    """A name the project already starts: safe when the application's own children start it
    whatever the configuration (or a child module of its own, ``Shop.Jobs`` whose
    ``child_spec/1`` starts a Task.Supervisor under ``__MODULE__``); started elsewhere (a
    subsystem's supervisor, one chosen by a branch or only in some environments), the fix
    cannot know that it runs wherever the calling code does, so it is unsafe and says where
    to look."""
    app = context.application
    if app is not None and (
        name in app.named(kind, keys, unconditional=True)
        or name in app.child_modules(unconditional=True)  # `Shop.Jobs.child_spec([])`
    ):
        return Started(name)
    if app is not None and name in app.named(kind, keys):
        note = (
            f" (the application starts {name} in a children list a branch chooses: check that"
            " it runs wherever this code does)"
        )
    elif (owner := _child_starting(context, kind, name)) is not None:
        note = (
            f" ({owner}, one of the application's children, starts {name}: check that it"
            " starts before the code that calls it)"
        )
    elif app is not None and any(found.placement == COMPUTED for found in app.lists):
        # `Supervisor.start_link(Config.enabled(children), ..)`: a list the tool cannot read
        said = f"the application's children are built at run time, so whether they start {name}"
        note = f" ({said} is not known: check that it runs wherever this code does)"
    else:
        note = (
            f" (the application's own children do not start {name}: check that it runs"
            " wherever this code does)"
        )
    return Started(name, (), "unsafe", note)


def _child_starting(context: Context, kind: str, name: str) -> str | None:
    """The application's child whose own children list, the same on every start, starts
    ``name`` as ``kind`` (a subsystem's supervisor, ``Shop.Backend`` starting
    ``Shop.TaskSupervisor`` first), or None."""
    app = context.application
    if app is None:
        return None
    children = app.child_modules()
    for _path, summary in context.summaries():
        for found in summary.supervision.lists:
            if (
                found.owner in children
                and found.placement == LITERAL
                and any(child.kind == kind and child.name == name for child in found.children)
            ):
                return found.owner
    return None


def _in_boot_order(context: Context, node: Node, caller: str, started: Started) -> Started:
    """``started``, unsafe with where to move it when the call runs as the caller starts
    (``init/1``, ``start_link``) and the app starts the caller, or a child that starts it,
    before the process it now calls: the app would fail to boot with ``:noproc``."""
    app = context.application
    target = app.children_list if app is not None else None
    booting = _booting_callers(context, node, caller) if target is not None else frozenset()
    if target is None or not booting:
        return started
    children = target.children
    provider = next(
        (i for i, c in enumerate(children) if started.name in (c.name, c.child_id)), None
    )
    users = booting_users(booting, _starts(context))
    user = next((i for i, c in enumerate(children) if c.module in users), None)
    if provider is None or user is None or user > provider:
        return started
    module = children[user].module
    note = f" (start {started.name} before {module}, which calls it as it starts)"
    return Started(started.name, started.edits, "unsafe", started.note + note)


def _booting_callers(context: Context, node: Node, caller: str) -> frozenset[str]:
    """The modules that run the code at ``node`` as they start: ``caller`` when it sits in
    one of its ``BOOT_FUNCTIONS`` (or a private helper one calls; ``handle_continue/2`` too,
    which races the next child's start), and every module whose
    start reaches the function holding it through other modules (`booted_through`)."""
    definition = syntax.enclosing_definition(node)
    if definition is None or not caller:
        return frozenset()
    entries = _entry_functions(node)
    own = {caller} if entries & BOOT_FUNCTIONS else set()
    index = context.project.index
    if not index.complete or not entries:
        return frozenset(own)
    return frozenset(own) | index.facts.booted_through(caller, entries)


def _started_as(context: Context, kind: str, keys: str | None) -> set[str]:
    """Names started as ``kind`` by the application's children or by production code anywhere
    in the project (another application of an umbrella included)."""
    app = context.application
    found = set(app.named(kind, keys)) if app is not None else set()
    found.update(
        name
        for _path, summary in context.summaries()
        if not summary.short_lived
        for name, _at in _callable_names(summary, kind, keys)
    )
    return found


def _taken(context: Context, kind: str, name: str) -> bool:
    """Whether adding a child named ``name`` could clash with a process already started under
    it or a module of that name (see `_clashes`), or the tool cannot tell (a process of
    ``kind`` started under a name it cannot read)."""
    return _clashes(context, name) or kind in context.project.index.facts.names.unreadable_kinds


def _clashes(context: Context, name: str) -> bool:
    """A process is already started under ``name`` (of any kind, tests included), or a
    project module has that name."""
    names = context.project.index.facts.names
    app = context.application
    in_app = app is not None and any(c.name == name or c.child_id == name for c in app.children)
    return in_app or name in names.started or name in names.modules


def _web_to_app(caller: str, namespace: str) -> str:
    """``ShopWeb.PageLive`` → ``Shop.PageLive``: a Phoenix web module uses its app's processes."""
    head, _, rest = caller.partition(".")
    return f"{namespace}.{rest}" if head == f"{namespace}Web" and rest else caller


def closest_name(names: list[str], caller: str) -> str | None:
    """The process name meant for the calling module: one whose namespace encloses it
    (``Shop.Tasks`` or ``Shop.Mailer.Tasks`` for ``Shop.Mailer.Worker``, the deepest first,
    then the first started), or an atom. None when every name belongs to another part of the
    application (``Shop.Analytics.Tasks``): its limits and shutdown are not the caller's.
    Outside any module, the application-wide one (the shallowest)."""
    if not caller:
        return _app_wide(names) if names else None
    parts = caller.split(".")

    def depth(name: str) -> int | None:
        namespace = name.split(".")[:-1]
        if name.startswith(":") or namespace == parts[: len(namespace)]:
            return len(namespace)
        return None

    fitting = [(level, name) for name in names if (level := depth(name)) is not None]
    return max(fitting, key=lambda item: item[0])[1] if fitting else None  # first of the deepest


def _app_wide(names: list[str]) -> str:
    """The shallowest name (``Shop.Tasks`` before ``Shop.Mailer.Tasks``), the first on a tie."""
    return min(names, key=lambda name: name.count("."))


def users_of(context: Context, name: str, *callers: str) -> frozenset[str]:
    """The modules that use ``name`` (by the project index) and the calling modules, and the
    modules whose start starts one of them (see `supervision.booting_users`): a child among
    them may call ``name`` while it boots."""
    users = {
        use.module
        for _path, summary in context.summaries()
        for use in summary.uses
        if use.name == name and use.module
    }
    return booting_users(frozenset(users | {c for c in callers if c}), _starts(context))


_START_FUNCTIONS = frozenset({"start_link", "start", "child_spec"})


def _starts(context: Context) -> list[tuple[str, str]]:
    """Every ``(owner, module)`` of the project where starting ``owner`` starts ``module``:
    the model's starts and children lists, and ``Module.start_link(..)`` calls."""
    if "module starts" not in context.cache:
        found: list[tuple[str, str]] = []
        for _path, summary in context.summaries():
            if summary.short_lived:
                continue
            found.extend(module_starts(summary.supervision))
            found.extend(
                (call.caller, call.target)
                for call in summary.calls
                if call.function in _START_FUNCTIONS
            )
        context.cache["module starts"] = found
    return list(context.cache["module starts"])


def child_edit(
    context: Context, app: Application, child: str, users: frozenset[str]
) -> Edit | None:
    """The edit adding ``child`` to ``app``'s children for these ``users``; in the document
    itself when the application module is in the file being fixed."""
    edit = app.add_child(child, users)
    if edit is not None and context.path is not None and _same_file(app.path, context.path):
        return Edit(edit.start, edit.end, edit.new_text)
    return edit


def _same_file(first: Path | str, second: Path | str) -> bool:
    return os.path.realpath(first) == os.path.realpath(second)


def _start_child(context: Context, name: str, child: str, *callers: str) -> Started:
    """Start ``child`` in the application's children, after the infrastructure and before its
    first user; unsafe, with where to add it, when the app has no children list written out
    for every start (one chosen by a branch, or built at run time)."""
    app = context.application
    if app is None:
        return Started(name, (), "unsafe", f" (start {child} in your supervision tree)")
    edit = child_edit(context, app, child, users_of(context, name, *callers))
    if edit is None:
        where = f"{app.module}.start/2"
        return Started(name, (), "unsafe", f" (add {child} to the children started by {where})")
    if _in_another_app(context, app):
        note = (
            f" and start it in {app.module}, another umbrella app's application (this app has "
            "none of its own: its own tests, and any other host, run this code without it)"
        )
        return Started(name, (edit,), "unsafe", note)
    elsewhere = _started_outside(context, app.module, callers)
    if elsewhere:
        note = (
            f" and start it in {app.module} (also start it where {_listed(elsewhere)} "
            f"runs: {'they start' if len(elsewhere) > 1 else 'it starts'} "
            f"{_listed(callers)} outside that application's tree)"
        )
        return Started(name, (edit,), "unsafe", note)
    return Started(name, (edit,), "safe", f" and start it in {app.module}")


def _started_outside(context: Context, application: str, callers: tuple[str, ...]) -> list[str]:
    """The supervisors that list one of ``callers`` among their children and that nothing
    ``application`` starts ever starts: a second tree (an SDK's supervisor an embedding host
    starts) where a child added to the application is not running."""
    starts = _starts(context)
    reached, pending = {application}, [application]
    while pending:
        owner = pending.pop()
        for starter, module in starts:
            if starter == owner and module not in reached:
                reached.add(module)
                pending.append(module)
    if not reached.intersection(callers):
        return []  # the application does not start them: not this question
    supervising = {
        found.owner
        for _path, summary in context.summaries()
        if not summary.short_lived
        for found in summary.supervision.lists
        if any(child.module in callers for child in found.children)
    }
    return sorted(owner for owner in supervising if owner and owner not in reached)


def _listed(names: list[str] | tuple[str, ...]) -> str:
    return ", ".join(names[:-1]) + " and " + names[-1] if len(names) > 1 else names[0]


def _in_another_app(context: Context, app: Application) -> bool:
    """The file being fixed lies outside the folder of the application the fix adds to: an
    umbrella app with no application of its own (a library the others mount), whose code
    also runs where that application is not started."""
    root = context.project.root
    if context.path is None or root is None:
        return False
    path = Path(os.path.abspath(context.path)).resolve()
    return path.is_relative_to(root.resolve()) and not _under(str(path), _app_root(app.path))


def pg_scope(context: Context, *nodes: Node) -> Started:
    """The ``:pg`` scope to use: ``[names] pg_scope`` when configured, else the default scope
    ``:pg``, added to the app's children when nothing in the project starts it yet. The
    default scope is one per node: in an umbrella, or a project that depends on sibling Mix
    projects by path (which may start it too), it must be started by one application that the
    others depend on, which is a decision, so the fix is unsafe and adds nothing there."""
    configured = context.config.names.get("pg_scope")
    if configured:
        return Started(configured)
    if DEFAULT_PG_SCOPE in _started_as(context, PG, None):
        return Started(DEFAULT_PG_SCOPE)
    child = PG_CHILD
    if len(context.project.applications) > 1 or context.project.path_dependencies:
        return Started(
            DEFAULT_PG_SCOPE,
            (),
            "unsafe",
            f" (start {child} once, in the application the others depend on)",
        )
    if _taken(context, PG, DEFAULT_PG_SCOPE):
        return Started(DEFAULT_PG_SCOPE, (), "unsafe", f" (check that {child} is started)")
    return _start_child(context, DEFAULT_PG_SCOPE, child, *_group_users(context, nodes))


def _group_users(context: Context, nodes: tuple[Node, ...]) -> set[str]:
    """The modules of ``nodes`` and every module that calls `:pg2`: moved to `:pg`, each
    needs the scope started before it."""
    users = {modules.path_at(node) for node in nodes}
    users.update(
        call.module for _path, summary in context.summaries() for call in summary.pg2_calls
    )
    return users


PG_CHILD = "%{id: :pg, start: {:pg, :start_link, []}}"


# -- what a caller of a linked task or process relies on ------------------------------------

TRAPS_EXITS_NOTE = "; the caller traps exits and no longer gets the task's {:EXIT, ...}"
BEFORE_THE_TREE_NOTE = (
    "; this runs in the application's start/2, before the supervision tree (and the "
    "Task.Supervisor in it) is started: move it after Supervisor.start_link"
)
TRAP_CALLS = frozenset({("Process", "flag"), (":erlang", "process_flag")})


def exit_handling(call: Node) -> str | None:
    """How the code around a linked ``call`` deals with exit signals, which a task under a
    Task.Supervisor never sends its caller: ``"receives"`` when the calling function, or a
    module that traps exits, matches ``{:EXIT, ...}`` (what it waits for would never come,
    so no rewrite is right); ``"traps"`` when the module traps exits; else None."""
    function = syntax.enclosing_definition(call)
    if function is not None and _matches_exit(function):
        return "receives"
    module = syntax.enclosing_module(call)
    if module is None or not _traps_exits(module):
        return None
    return "receives" if _matches_exit(module) else "traps"


@syntax.remembered  # asked for every linked call in the function or module
def _matches_exit(node: Node) -> bool:
    """A ``{:EXIT, ...}`` tuple under ``node``: a `receive` or `case` clause, a function head
    (`handle_info({:EXIT, pid, reason}, state)`); code rarely builds one for another use."""
    if ":EXIT" not in syntax.text(node):  # a scan of the text is far cheaper than a walk
        return False
    return any(
        n.type == "tuple" and n.named_children and syntax.text(n.named_children[0]) == ":EXIT"
        for n in syntax.descendants(node)
    )


@syntax.remembered
def _traps_exits(module: Node) -> bool:
    if ":trap_exit" not in syntax.text(module):  # a scan of the text is far cheaper than a walk
        return False
    for n in syntax.descendants(module):
        if n.type == "call" and syntax.remote_target(n) in TRAP_CALLS:
            args = syntax.argument_nodes(n)
            if args and syntax.text(args[0]) == ":trap_exit":
                return True
    return False


def before_the_supervision_tree(call: Node) -> bool:
    """In the ``start/2`` of a ``use Application`` module, before its ``Supervisor.start_link``
    has run: the supervision tree, and any Task.Supervisor in it, is not running yet."""
    definition = syntax.enclosing_definition(call)
    module = syntax.enclosing_module(call)
    return (
        definition is not None
        and module is not None
        and clauses.name(definition) == "start"
        and "Application" in modules.used(module)
        and not _after_the_tree_starts(call, definition)
    )


BRANCHES = frozenset({"stab_clause", "else_block", "rescue_block", "catch_block", "after_block"})
"""Nodes whose earlier siblings are other branches, not code run before them."""


def _after_the_tree_starts(call: Node, definition: Node) -> bool:
    """A ``Supervisor.start_link`` runs before ``call`` on the way to it: in an earlier statement
    of a block holding it (`result = Supervisor.start_link(children, opts)`), or in the subject
    of the `case`/`with` whose clause holds it."""
    node = call
    while node.parent is not None and node != definition:
        if node.type not in BRANCHES:
            for earlier in node.parent.named_children:
                if earlier.end_byte > node.start_byte:
                    break
                if _starts_a_supervisor(earlier):
                    return True
        node = node.parent
    return False


def _starts_a_supervisor(node: Node) -> bool:
    if "start_link" not in syntax.text(node):  # a scan of the text is far cheaper than a walk
        return False
    return any(
        n.type == "call" and syntax.remote_target(n) == ("Supervisor", "start_link")
        for n in syntax.descendants(node)
    )


def call_text(context: Context, call: Node, head: str, leading: list[str]) -> str | None:
    """``call`` rewritten as ``head(leading..., original arguments...)``.

    The original arguments keep their layout: when they start on a line of their own, each
    new leading argument gets its own line with the same indentation. None without arguments.
    """
    args_node = syntax.arguments(call)
    args = syntax.argument_nodes(call)
    if args_node is None or not args:
        return None
    source = context.source.text
    if not context.text(args_node).startswith("("):
        return f"{head}({', '.join([*leading, *(context.text(a) for a in args)])})"
    open_end = context.span(args_node)[0] + 1
    first_start = context.span(args[0])[0]
    between = source[open_end:first_start]
    rest = source[first_start : context.span(call)[1]]
    line_break = re.search(r"\r\n|\r|\n", between)
    if line_break is None:
        return f"{head}({', '.join(leading)}, {rest}"
    indent = context.source.line_indent(context.source.line_of(first_start))
    own_lines = "".join(f"{line_break.group(0)}{indent}{arg}," for arg in leading)
    return f"{head}({own_lines}{between}{rest}"


def _first_line_fits(context: Context, call: Node, new: str) -> bool:
    """The first line of ``new``, written where ``call`` starts, stays within 98 columns."""
    first_line = re.split(r"\r\n|\r|\n", new, maxsplit=1)[0]
    return context.source.column_of(context.span(call)[0]) + len(first_line) <= LINE_LIMIT


def _one_argument_a_line(
    context: Context, call: Node, head: str, leading: list[str], args: list[Node]
) -> str | None:
    """``head(`` then each argument on a line of its own and ``)`` on the last, as `mix format`
    lays out a call whose first line does not fit: the last argument (an ``fn ... end``) may
    span lines, and moves two columns right. None when that would change the program or when
    `mix format` would lay it out otherwise: the call does not start its line, another
    argument spans lines, or a string, charlist or sigil spans lines (moving its lines would
    change its text)."""
    source = context.source
    start = context.span(call)[0]
    line = source.line_of(start)
    if source.text[source.line_starts[line] : start].strip():
        return None  # after `x =` or inside another call: laid out otherwise
    if any(a.start_point.row != a.end_point.row for a in args[:-1]):
        return None
    if _spans_lines_inside_text(args[-1]):
        return None
    newline, indent = source.newline, source.line_indent(line)
    inner = indent + "  "
    texts = [*leading, *(context.text(a) for a in args)]
    moved = [
        re.sub(r"(\r\n|\r|\n)(?=[^\r\n])", lambda m: m.group(1) + "  ", text) for text in texts
    ]
    lines = f",{newline}".join(f"{inner}{text}" for text in moved)
    return f"{head}({newline}{lines}{newline}{indent})"


# -- keeping the file `mix format`-clean -------------------------------------------------

LINE_LIMIT = 98
"""`mix format`'s default line length."""

STATEMENT_CONTAINERS = frozenset(
    {"do_block", "body", "block", "source", "else_block", "after_block"}
)


@dataclass(frozen=True)
class CallParts:
    """A call written on one line: ``head(args...)``, with the pieces `mix format` breaks it
    into when it does not fit (the last argument's ``fn ... ->`` and body when it is a
    one-clause ``fn``)."""

    head: str
    args: tuple[str, ...]
    fn_head: str | None = None
    fn_body: str | None = None
    list_items: tuple[str, ...] = ()
    """The items of the last argument when it is a list (``[a, b]``)."""

    def one_line(self) -> str:
        return f"{self.head}({', '.join(self.args)})"

    def broken(self, indent: str, newline: str) -> list[str]:
        """The ways `mix format` accepts the call on several lines, the first line not
        indented and the others under ``indent``: the last ``fn`` opened, then one argument
        a line."""
        layouts = []
        inner = indent + "  "
        if self.list_items:
            opening = ", ".join([*self.args[:-1], "["])
            items = f",{newline}".join(f"{inner}{item}" for item in self.list_items)
            layouts.append(f"{self.head}({opening}{newline}{items}{newline}{indent}])")
        if self.fn_head is not None and self.fn_body is not None:
            opening = ", ".join([*self.args[:-1], self.fn_head])
            layouts.append(
                f"{self.head}({opening}{newline}{inner}{self.fn_body}{newline}{indent}end)"
            )
        lines = f",{newline}".join(f"{inner}{arg}" for arg in self.args)
        layouts.append(f"{self.head}({newline}{lines}{newline}{indent})")
        return layouts


def call_parts(
    context: Context, call: Node, head: str, leading: list[str], relaid: bool = False
) -> CallParts | None:
    """``call`` as ``head(leading..., its arguments...)`` in pieces, or None when the
    arguments span several lines (their layout is kept as written: see `call_text`).
    ``relaid``: arguments each on one line, without comments, may be laid out anew (where
    the call moves inside another one, `mix format` lays them out again anyway)."""
    args_node = syntax.arguments(call)
    args = (
        [child for child in args_node.named_children if child.type != "comment"]
        if args_node is not None
        else []
    )  # `syntax.argument_nodes`, with the arguments node found once
    if (
        args_node is not None
        and _has_line_break(context.text(args_node))
        and not (relaid and _each_on_one_line(args_node, args))
    ):
        return None
    texts = list(leading)
    for arg in args:
        if arg.type == "keywords":
            texts.extend(context.text(pair) for pair in arg.named_children)
        else:
            texts.append(context.text(arg))
    if any("\n" in text or "\r" in text for text in leading):
        return None
    fn_head = fn_body = None
    last = args[-1] if args else None
    if last is not None and last.type == "anonymous_function":
        clauses = [c for c in last.named_children if c.type == "stab_clause"]
        body = clauses[0].child_by_field_name("right") if len(clauses) == 1 else None
        if body is not None:
            last_text = texts[-1]  # the text of `last`, read above
            fn_head = last_text[: context.span(body)[0] - context.span(last)[0]].rstrip()
            fn_body = context.text(body)
    return CallParts(head, tuple(texts), fn_head, fn_body)


def _has_line_break(text: str) -> bool:
    return "\n" in text or "\r" in text


def _each_on_one_line(args_node: Node, args: list[Node]) -> bool:
    """Every argument (every pair of a keyword list) on one line, and no comment among them."""
    pieces = [p for a in args for p in (a.named_children if a.type == "keywords" else [a])]
    if any(p.start_point.row != p.end_point.row for p in pieces):
        return False
    return not any(n.type == "comment" for n in syntax.descendants(args_node))


def fitted_edit(context: Context, site: Node, parts: CallParts) -> Edit:
    """An edit replacing ``site`` with the call ``parts``: on one line when the line stays
    within `mix format`'s limit; otherwise broken the way `mix format` does where it can be
    told how — a statement (with the blank lines `mix format` puts around a statement of
    several lines), the right side of an assignment, an element on a line of its own (a
    list's, a call's) and the body of a one-line ``def ..., do:``. Elsewhere the one-line
    text is kept."""
    start, end = context.span(site)
    one = parts.one_line()
    source = context.source
    text = source.text
    line_start = source.line_starts[source.line_of(start)]
    line_end = _line_end(source, source.line_of(end))
    if _fits_in_line(text, line_start, start, one, end, line_end):
        return Edit(start, end, one)  # measured, not copied: a line can hold thousands of calls
    if not _BLANK_OR_COMMA.fullmatch(text, end, line_end):
        return _fitted_fn_body(context, site, parts) or Edit(start, end, one)
    prefix, suffix = text[line_start:start], text[end:line_end]
    indent = source.line_indent(source.line_of(start))
    newline = source.newline
    statement = statement_of(site)
    if statement is None or suffix.strip():
        do_body = _fitted_do_body(context, site, parts) if not suffix.strip() else None
        if do_body is not None:
            return do_body
        if prefix.strip() or not _own_line_element(site):
            return Edit(start, end, one)
        return Edit(start, end, _first_fitting(parts.broken(indent, newline), indent))
    if statement == site and not prefix.strip():
        new = indent + _first_fitting(parts.broken(indent, newline), indent)
    elif statement != site and syntax.parent(site) == statement:
        operator = statement.child_by_field_name("operator")
        if operator is None or source.line_of(context.span(operator)[1]) != source.line_of(start):
            return Edit(start, end, one)
        inner = indent + "  "
        body = one if _fits(inner + one) else _first_fitting(parts.broken(inner, newline), inner)
        statement_start = context.span(statement)[0]
        if text[line_start:statement_start].strip():
            return Edit(start, end, one)
        lhs = text[line_start : context.span(operator)[1]]
        new = f"{lhs}{newline}{inner}{body}"
    else:
        return Edit(start, end, one)
    return spaced_edit(context, statement, line_start, end, new)


ELEMENT_HOLDERS = frozenset({"list", "arguments"})


def _own_line_element(site: Node) -> bool:
    """An element of a list or of a call's arguments, or the head of a pipeline (``site
    |> next()``): `mix format` breaks a call there as it would a statement."""
    parent = site.parent
    if parent is None:
        return False
    if syntax.is_pipe(parent):
        return parent.child_by_field_name("left") == site
    return parent.type in ELEMENT_HOLDERS


def _fitted_do_body(context: Context, site: Node, parts: CallParts) -> Edit | None:
    """The body of ``def f(x), do: call(...)`` or ``if x, do: call(...)``: `mix format` moves
    ``do:`` to a line of its own under the head, and the call under ``do:`` when it still does
    not fit. The ``do:`` may be on the head's line or, already moved there, on a line of its
    own."""
    definition = _do_body_holder(context, site)
    if definition is None:
        return None
    source, newline = context.source, context.source.newline
    head_line = source.line_of(context.span(definition)[0])
    site_line = source.line_of(context.span(site)[0])
    if source.line_of(context.span(site)[1]) != site_line:
        return None
    end = context.span(site)[1]
    pair_start = context.span(site.parent)[0] if site.parent is not None else end
    one = parts.one_line()
    if site_line == head_line:
        inner = source.line_indent(head_line) + "  "
        if _fits(f"{inner}do: {one}"):
            body = f"{inner}do: {one}"
        else:
            body = _do_then_call(parts, inner, newline)
        head_end = context.span(syntax.argument_nodes(definition)[0])[1]
        line_start = source.line_starts[head_line]
        head = source.text[line_start:head_end]
        return spaced_edit(context, definition, line_start, end, f"{head},{newline}{body}")
    line_start = source.line_starts[site_line]
    inner = source.line_indent(site_line)
    if site_line != head_line + 1 or source.text[line_start:pair_start] != inner:
        return None  # a head of several lines, or more than the body on the line
    return Edit(line_start, end, _do_then_call(parts, inner, newline))


def _fitted_fn_body(context: Context, site: Node, parts: CallParts) -> Edit | None:
    """The only expression of a one-line ``fn args -> call(...) end`` closing the arguments
    of a call that ends a statement (``Enum.each(xs, fn x -> call(x) end)``, the right side of
    ``=``, the last step of a pipeline written a step a line): `mix format` opens the ``fn``
    after ``->``, puts the body on a line of its own and ``end)`` under the line, with blank
    lines around the statement."""
    fn = _one_line_fn_holding(site)
    holder = fn.parent if fn is not None else None
    call = holder.parent if holder is not None else None
    if fn is None or holder is None or holder.type != "arguments" or call is None:
        return None
    if [c for c in holder.named_children if c.type != "comment"][-1] != fn:
        return None
    source, newline = context.source, context.source.newline
    line = source.line_of(context.span(fn)[0])
    line_start, line_end = source.line_starts[line], _line_end(source, line)
    top = _last_step_of(context, call, line_start)
    statement = statement_of(top) if top is not None else None
    if statement is None or (top != call and statement != top):
        return None
    statement_start, statement_end = context.span(statement)
    first_line_start = source.line_starts[source.line_of(statement_start)]
    fn_end = context.span(fn)[1]
    if source.text[first_line_start:statement_start].strip():
        return None  # the statement does not start its line
    if source.text[statement_end:line_end] or source.text[fn_end:statement_end] != ")":
        return None  # more than `)` after the fn
    arrow = next((c for c in fn.named_children[0].children if c.type == "->"), None)
    if arrow is None:
        return None
    indent = source.line_indent(line)
    opened = source.text[line_start : context.span(arrow)[1]]
    operator = statement.child_by_field_name("operator") if statement != top else None
    if operator is not None:  # `x = Enum.map(..., fn ->`: the call goes under `x =`
        operator_end = context.span(operator)[1]
        lhs = source.text[line_start:operator_end]
        indent += "  "
        call_head = source.text[context.span(call)[0] : context.span(arrow)[1]]
        opened = f"{lhs}{newline}{indent}{call_head}"
    if not _fits(opened):
        return None
    inner = indent + "  "
    one = parts.one_line()
    body = one if _fits(inner + one) else _first_fitting(parts.broken(inner, newline), inner)
    closed = source.text[fn_end - len("end") : line_end]
    new = f"{source.text[first_line_start:line_start]}{opened}{newline}{inner}{body}"
    return spaced_edit(
        context, statement, first_line_start, line_end, f"{new}{newline}{indent}{closed}"
    )


def _last_step_of(context: Context, call: Node, line_start: int) -> Node | None:
    """``call`` itself, or the pipeline it ends when it starts its line with ``|>``
    (``xs\n|> Enum.each(fn ...)``); None for a step of a pipeline written on one line."""
    top = call
    while (parent := top.parent) is not None and syntax.is_pipe(parent):
        if parent.child_by_field_name("right") != top:
            return None
        operator = parent.child_by_field_name("operator")
        if top == call and (
            operator is None or context.source.text[line_start : context.span(operator)[0]].strip()
        ):
            return None
        top = parent
    return top


def _one_line_fn_holding(site: Node) -> Node | None:
    """The ``fn`` of one clause, written on one line, whose body is ``site`` alone."""
    chain = _parents_typed(site, "body", "stab_clause", "anonymous_function")
    if chain is None:
        return None
    body, stab, fn = chain
    if fn.start_point.row != fn.end_point.row:
        return None
    if [c for c in body.named_children if c.type != "comment"] != [site]:
        return None
    if [c for c in fn.named_children if c.type != "comment"] != [stab]:
        return None
    return fn


def _parents_typed(node: Node, *types: str | None) -> list[Node] | None:
    """The parents of ``node`` one above the other, each of its type in ``types`` (None: any
    type); None when the chain is shorter or a type differs."""
    chain: list[Node] = []
    for wanted in types:
        parent = (chain[-1] if chain else node).parent
        if parent is None or (wanted is not None and parent.type != wanted):
            return None
        chain.append(parent)
    return chain


def _do_then_call(parts: CallParts, inner: str, newline: str) -> str:
    """``do:`` at ``inner`` and the call on the lines under it, indented once more."""
    deeper = inner + "  "
    return f"{inner}do:{newline}{deeper}{_first_fitting(parts.broken(deeper, newline), deeper)}"


DO_BODY_CALLS = frozenset({"if", "unless"})


def _do_body_holder(context: Context, site: Node) -> Node | None:
    """The ``def``/``defp``, ``if`` or ``unless`` whose only keyword, ``do:``, holds
    ``site``, as a statement."""
    chain = _parents_typed(site, "pair", "keywords", None, None)
    if chain is None:
        return None
    pair, keywords, _holder, definition = chain
    if (
        len(keywords.named_children) != 1
        or not (
            syntax.is_definition(definition) or syntax.local_target(definition) in DO_BODY_CALLS
        )
        or definition.parent is None
        or definition.parent.type not in STATEMENT_CONTAINERS
    ):
        return None
    args = syntax.argument_nodes(definition)
    if len(args) != 2 or args[1] != keywords or not context.text(pair).startswith("do:"):
        return None
    return definition


_BLANK_OR_COMMA = re.compile(r"\s*,?\s*")


def _line_end(source: Source, line: int) -> int:
    """Where ``line`` ends, before its line break (``len(source.line_text(line))`` on)."""
    start = source.line_starts[line]
    end = source.line_starts[line + 1] if line + 1 < len(source.line_starts) else len(source.text)
    while end > start and source.text[end - 1] in "\r\n":
        end -= 1
    return end


def _fits_in_line(
    text: str, line_start: int, start: int, one: str, end: int, line_end: int
) -> bool:
    """``_fits`` of the line with ``[start, end)`` replaced by ``one``."""
    if "\n" in one or "\r" in one:
        return _fits(text[line_start:start] + one + text[end:line_end])
    return (start - line_start) + len(one) + (line_end - end) <= LINE_LIMIT


def _fits(text: str) -> bool:
    return all(len(line) <= LINE_LIMIT for line in re.split(r"\r\n|\r|\n", text))


Tuple = list["str | Tuple"]
"""A tuple to lay out: its elements, each one-line text or a nested tuple."""


def flat_tuple(items: Tuple) -> str:
    return "{" + ", ".join(i if isinstance(i, str) else flat_tuple(i) for i in items) + "}"


def fitted_tuple(items: Tuple, column: int, trailing: int, newline: str = "\n") -> str:
    """The tuple laid out as `mix format` lays it out with its ``{`` at ``column`` and
    ``trailing`` characters after its ``}`` on the same line: on one line when that fits,
    else elements filled onto lines one column inside the brace, and an element that does not
    fit on a line of its own laid out the same way where it starts."""
    text, current = "{", column + 1
    for index, item in enumerate(items):
        last = index == len(items) - 1
        tail = 1 + trailing if last else 1  # "}" and what follows it, or ","
        flat = item if isinstance(item, str) else flat_tuple(item)
        gap = " " if index else ""
        if current + len(gap) + len(flat) + tail > LINE_LIMIT and index:
            text += newline + " " * (column + 1)
            current, gap = column + 1, ""
        if current + len(gap) + len(flat) + tail > LINE_LIMIT and not isinstance(item, str):
            flat = fitted_tuple(item, current + len(gap), tail - 1, newline)
        piece = gap + flat + ("}" if last else ",")
        text += piece
        current = len(piece) - piece.rfind("\n") - 1 if "\n" in piece else current + len(piece)
    return text


def _first_fitting(layouts: list[str], indent: str) -> str:
    for layout in layouts:
        if _fits(indent + layout):
            return layout
    return layouts[-1]


def statement_of(site: Node) -> Node | None:
    """The statement ``site`` is, or the assignment statement whose right side it is."""
    parent = syntax.parent(site)
    if parent is None:
        return None
    if parent.type in STATEMENT_CONTAINERS:
        return site
    if (
        parent.type == "binary_operator"
        and syntax.operator(parent) == "="
        and parent.child_by_field_name("right") == site
        and (holder := syntax.parent(parent)) is not None
        and holder.type in STATEMENT_CONTAINERS
    ):
        return parent
    return None


def blank_lines_around(context: Context, statement: Node) -> tuple[int, str, str]:
    """Where ``statement`` starts with the comments right above it (a line start), and the
    line breaks to write before and after it once it spans several lines: `mix format`
    separates such a statement from its neighbours in a block with a blank line."""
    source = context.source
    newline = source.newline
    first = statement
    sibling = statement.prev_named_sibling
    while sibling is not None and sibling.type == "comment" and _own_line(sibling):
        if sibling.end_point.row + 1 != first.start_point.row:
            break
        first = sibling
        sibling = sibling.prev_named_sibling
    before = ""
    if sibling is not None and sibling.end_point.row + 1 >= first.start_point.row:
        before = newline
    following = statement.next_named_sibling
    while following is not None and following.type == "comment" and not _own_line(following):
        following = following.next_named_sibling
    after = ""
    if (
        following is not None
        and not following.type.endswith("_block")
        and following.start_point.row <= statement.end_point.row + 1
    ):
        after = newline
    start = source.line_starts[source.line_of(context.span(first)[0])]
    return start, before, after


def _own_line(comment: Node) -> bool:
    previous = comment.prev_sibling
    return previous is None or previous.end_point.row < comment.start_point.row


def spaced_edit(context: Context, statement: Node, start: int, end: int, new: str) -> Edit:
    """Replace ``[start, end)`` — ``statement`` from the start of its line to the end of its
    last line — with ``new``, a statement of several lines, and the blank lines `mix format`
    wants around it. A blank line it adds takes the line break it follows into the edit, so
    two fixes spacing neighbouring statements overlap and are not applied in the same pass
    (the second then sees the blank line) and, within one fix, `joined_edits` merges them."""
    source = context.source
    text, newline = source.text, source.newline
    anchor, before, after = blank_lines_around(context, statement)
    new_text = text[anchor:start] + new
    if before and text[anchor - len(newline) : anchor] == newline:
        anchor -= len(newline)
        new_text = newline + newline + new_text
    elif before:
        new_text = newline + new_text
    if after and text[end : end + len(newline)] == newline:
        end += len(newline)
        new_text += newline + newline
    elif after:
        new_text += newline
    return Edit(anchor, end, new_text)


def spaced_insert(context: Context, statement: Node, new: str) -> Edit:
    """Insert ``new``, a statement of several lines, before ``statement`` (and the comments
    right above it), with the blank lines `mix format` wants around it (see `spaced_edit`)."""
    source = context.source
    text, newline = source.text, source.newline
    anchor, before, _after = blank_lines_around(context, statement)
    tail = f"{new}{newline}{newline}"
    if text[anchor - len(newline) : anchor] == newline:
        return Edit(anchor - len(newline), anchor, newline + before + tail)
    return Edit(anchor, anchor, before + tail)


def joined_edits(context: Context, edits: list[Edit]) -> list[Edit]:
    """One fix's edits with the line break two of them both took (see `spaced_edit`)
    merged into one edit, keeping a single blank line there."""
    newline = context.source.newline
    result: list[Edit] = []
    for edit in sorted(edits, key=lambda e: (e.start, e.end)):
        previous = result[-1] if result else None
        if previous is not None and previous.path == edit.path and previous.end > edit.start:
            rest = edit.new_text[len(newline) :]
            if previous.new_text.endswith(newline + newline) and rest.startswith(newline):
                rest = rest[len(newline) :]
            result[-1] = Edit(previous.start, edit.end, previous.new_text + rest, edit.path)
            continue
        result.append(edit)
    return result


PIPE_VARIABLES = ("enumerable", "entries", "items", "elements", "values")


def rewrite_call(
    context: Context, call: Node, head: str, leading: list[str], arities: frozenset[int]
) -> Edit | None:
    """An edit that turns ``Mod.fun(args)`` into ``head(leading..., args)`` wherever it is:

    * a call: rewritten in place;
    * a capture ``&Mod.fun/N`` (N in ``arities``): ``&head(leading..., &1, ..., &N)``;
    * a pipe ``lhs |> Mod.fun(args)``: ``head(leading..., lhs, args)`` when ``lhs`` is one
      line and not itself a pipe; otherwise the pipe goes on through
      ``then(&head(leading..., &1, args))``, or ``then(fn enumerable -> ... end)`` when the
      arguments hold a capture (captures do not nest); both stay correct when the pipe
      continues.
    """
    if syntax.explicitly_elixir(call) and head[:1].isupper():
        head = f"Elixir.{head}"  # `alias MyApp.Task` in the file: `Task.` would name it
    site = calls.site(call)
    start, end = context.span(site)
    if syntax.is_capture(site):
        arity = calls.capture_arity(site)
        if arity is None or arity not in arities:
            return None
        placeholders = [f"&{i}" for i in range(1, arity + 1)]
        return Edit(start, end, f"&{head}({', '.join([*leading, *placeholders])})")
    if site is call:
        parts = call_parts(context, call, head, leading)
        if parts is not None and parts.args:
            return fitted_edit(context, site, parts)
        new = call_text(context, call, head, leading)
        if new is not None and not _first_line_fits(context, call, new):
            args = syntax.argument_nodes(call)
            new = _one_argument_a_line(context, call, head, leading, args) or new
        return Edit(start, end, new) if new is not None else None
    left = site.child_by_field_name("left")
    if left is None:
        return None
    one_line = left.start_point.row == left.end_point.row and not syntax.is_pipe(left)
    left_text = context.text(left) if one_line else ""  # a long pipe's text is never copied
    if one_line and "\r" not in left_text:
        parts = call_parts(context, call, head, [*leading, left_text])
        if parts is not None:
            return fitted_edit(context, site, parts)
        new = call_text(context, call, head, [*leading, left_text]) or (
            f"{head}({', '.join([*leading, left_text])})"
        )
        return Edit(start, end, new)
    call_start, call_end = context.span(call)
    if not _has_capture(call):
        inner = call_text(context, call, head, [*leading, "&1"]) or (
            f"{head}({', '.join([*leading, '&1'])})"
        )
        parts = call_parts(context, call, head, [*leading, "&1"], relaid=True)
        if parts is None:
            relaid = _then_broken(context, call, head, [*leading, "&1"])
            if relaid is not None:
                return relaid
        return _fitted_then(context, call, f"then(&{inner})", parts, None)
    variable = _fresh_variable(context.text(call))
    inner = call_text(context, call, head, [*leading, variable]) or (
        f"{head}({', '.join([*leading, variable])})"
    )
    parts = call_parts(context, call, head, [*leading, variable], relaid=True)
    return _fitted_then(context, call, f"then(fn {variable} -> {inner} end)", parts, variable)


def _fitted_then(
    context: Context, call: Node, one: str, parts: CallParts | None, variable: str | None
) -> Edit:
    """``call``, a step of a pipeline, replaced by ``one`` (``then(&head(...))`` or
    ``then(fn variable -> head(...) end)``, its arguments as written); when it is the whole
    ``|> step``, laid out as `mix format` does: on one line when it fits in 98 columns, else
    broken."""
    source = context.source
    start, end = context.span(call)
    line, end_line = source.line_of(start), source.line_of(end)
    before = source.line_text(line)[: start - source.line_starts[line]]
    after = source.line_text(end_line)[end - source.line_starts[end_line] :]
    if parts is None or after.strip() or before.strip() != "|>":
        return Edit(start, end, one)
    if variable is None:
        flat = f"then(&{parts.one_line()})"
    else:
        flat = f"then(fn {variable} -> {parts.one_line()} end)"
    if _fits(before + flat + after):
        return Edit(start, end, flat)
    indent, newline = source.line_indent(line), source.newline
    inner = indent + "  "
    if variable is None:
        body = _first_fitting(parts.broken(inner, newline), inner)
        return Edit(start, end, f"then({newline}{inner}&{body}{newline}{indent})")
    body = _first_fitting([parts.one_line(), *parts.broken(inner, newline)], inner)
    return Edit(start, end, f"then(fn {variable} ->{newline}{inner}{body}{newline}{indent}end)")


def _then_broken(context: Context, call: Node, head: str, leading: list[str]) -> Edit | None:
    """``|> Mod.fun(`` with arguments over several lines, each starting a line of its own,
    turned into ``|> then(&head(leading..., args...))`` laid out as `mix format` does: ``then(``
    and ``&head(`` each open a line, the arguments one a line two columns further right (every
    line of each argument moved by the same amount), and each closes on a line of its own.
    None where that cannot be done without changing what the code says (a comment among the
    arguments, text spanning lines, which moving would change) or the step is not alone on
    its lines."""
    source = context.source
    args_node = syntax.arguments(call)
    args = syntax.argument_nodes(call)
    if args_node is None or not args or any(c.type == "comment" for c in args_node.children):
        return None
    rows = [arg.start_point.row for arg in args]
    if rows[0] == call.start_point.row or len(set(rows)) != len(rows):
        return None
    if any(_spans_lines_inside_text(arg) for arg in args):
        return None
    start, end = context.span(call)
    line, end_line = source.line_of(start), source.line_of(end)
    before = source.line_text(line)[: start - source.line_starts[line]]
    after = source.line_text(end_line)[end - source.line_starts[end_line] :]
    if before.strip() != "|>" or after.strip():
        return None
    indent, newline = source.line_indent(line), source.newline
    column = len(indent) + 4
    shift = column - args[0].start_point.column
    if any(arg.start_point.column != args[0].start_point.column for arg in args):
        return None
    texts = [*leading, *(_shifted(context.text(arg), shift, newline) for arg in args)]
    pad = " " * column
    lines = f",{newline}".join(f"{pad}{text}" for text in texts)
    return Edit(
        start,
        end,
        f"then({newline}{indent}  &{head}({newline}{lines}{newline}{indent}  ){newline}{indent})",
    )


def wrapped(context: Context, node: Node, name: str, text: str) -> str:
    """``name(text)`` to put in place of ``node``. When ``text`` spans lines and ``node``
    starts its line, laid out as `mix format` does: ``name(`` ends the line, ``text`` follows
    two columns further right (every line of it moved alike), and ``)`` closes on a line of
    its own. On one line as given otherwise, or where moving lines would change a string's
    content."""
    source = context.source
    newline = source.newline
    start = context.span(node)[0]
    line = source.line_of(start)
    before = source.line_text(line)[: start - source.line_starts[line]]
    if newline not in text or before.strip() or _spans_lines_inside_text(node):
        return f"{name}({text})"
    moved = _shifted(text, 2, newline)
    return f"{name}({newline}{before}  {moved}{newline}{before})"


def _shifted(text: str, shift: int, newline: str) -> str:
    """``text`` with every line after its first moved ``shift`` columns (left only over
    spaces)."""
    lines = text.split(newline)
    moved = [lines[0]]
    for line in lines[1:]:
        if shift >= 0:
            moved.append(" " * shift + line if line.strip() else line)
        else:
            cut = min(-shift, len(line) - len(line.lstrip(" ")))
            moved.append(line[cut:])
    return newline.join(moved)


_TEXT_NODES = frozenset({"string", "charlist", "sigil"})


def _spans_lines_inside_text(node: Node) -> bool:
    """A string, charlist or sigil under ``node`` spans lines: moving its lines would change
    its content."""
    stack = [node]
    while stack:
        current = stack.pop()
        if current.type in _TEXT_NODES and current.start_point.row != current.end_point.row:
            return True
        stack.extend(current.named_children)
    return False


def _has_capture(call: Node) -> bool:
    stack = list(syntax.argument_nodes(call))
    while stack:
        node = stack.pop()
        if syntax.is_capture(node):
            return True
        stack.extend(node.named_children)
    return False


def _fresh_variable(code: str) -> str:
    for name in PIPE_VARIABLES:
        if not re.search(rf"(?<![\w@]){name}(?![\w?!])", code):
            return name
    return "enumerable_"


def append_items(context: Context, opening: Node, items: list[Node], new: list[str]) -> Edit:
    """An edit that adds ``new`` after the last of ``items`` in the same layout: on the same
    line (``a, b, new``) or one per line with the last item's indentation. ``opening`` is the
    node the items start in (a list, the call's arguments); with no items the list is
    replaced."""
    if not items:
        start, end = context.span(opening)
        return Edit(start, end, f"[{', '.join(new)}]")
    source = context.source
    last_start, last_end = context.span(items[-1])
    previous = context.span(items[-2])[0] if len(items) > 1 else context.span(opening)[0]
    if source.line_of(previous) == source.line_of(last_start):
        appended = Edit(last_end, last_end, "".join(f", {item}" for item in new))
        return _fitted_list(context, opening, items, new) or appended
    indent = source.line_indent(source.line_of(last_start))
    newline = source.newline
    return Edit(last_end, last_end, "".join(f",{newline}{indent}{item}" for item in new))


def _fitted_list(context: Context, opening: Node, items: list[Node], new: list[str]) -> Edit | None:
    """When ``opening`` is a one-line list ending a call's arguments and the items added
    would take its line past `mix format`'s limit, the call laid out the way `mix format`
    does (``call(a, [`` then one item a line); None otherwise."""
    source = context.source
    start, end = context.span(opening)
    line = source.line_of(start)
    if source.line_of(end) != line or opening.type != "list":
        return None
    added = sum(len(f", {item}") for item in new)
    if len(source.line_text(line)) + added <= LINE_LIMIT:
        return None
    holder = opening.parent
    call = holder.parent if holder is not None and holder.type == "arguments" else None
    args = syntax.argument_nodes(call) if call is not None else []
    target = call.child_by_field_name("target") if call is not None else None
    if holder is None or call is None or target is None or not args or args[-1] != opening:
        return None
    if not context.text(holder).startswith("("):
        return None
    texts = [*(context.text(item) for item in items), *new]
    parts = CallParts(
        context.text(target),
        (*(context.text(a) for a in args[:-1]), f"[{', '.join(texts)}]"),
        list_items=tuple(texts),
    )
    edit = fitted_edit(context, call, parts)
    return edit if "\n" in edit.new_text or "\r" in edit.new_text else None
