"""What the code shows about a linked task (`Task.async`, `Task.async_stream`): whether it
runs in a process module (one with `handle_*`/`mount` callbacks: GenServers, LiveViews,
channels), whether the process traps exits, and whether the author handles a failed task or
never waits for it. The linked-task rules share these facts so they agree on their scope.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator
from dataclasses import dataclass

from tree_sitter import Node

from otp_thinking import syntax
from otp_thinking.context import Context
from otp_thinking.model import clauses, modules
from otp_thinking.model.processes import MESSAGE_CALLBACKS, process_functions
from otp_thinking.parsing import matches


def _exit_traps(context: Context) -> list[Node]:
    """The `Process.flag(:trap_exit, …)` calls of the document."""
    traps = context.cache.get("process_state.exit_traps")
    if traps is None:
        traps = context.cache["process_state.exit_traps"] = [
            captures["call"][0]
            for captures in context.remote_calls({"Process"}, {"flag"})
            if _first_argument(captures["call"][0]) == ":trap_exit"
        ]
    return traps


def _first_argument(call: Node) -> str | None:
    args = syntax.argument_nodes(call)
    return syntax.text(args[0]) if args and args[0].type == "atom" else None


def in_process_module(context: Context, node: Node) -> bool:
    return syntax.module_holds(_callback_starts(context), node)


def runs_in_process(context: Context, node: Node) -> bool:
    """``node`` runs in the process its module defines: its function is a process callback,
    or one that a callback reaches through local calls; not a client function, which runs in
    its caller, nor a telemetry handler (`handle_event/4` outside a `:gen_statem`). Asked
    again for the same call by a rule (its evidence, then its fix): answered once."""
    known: dict[Node, bool] = context.cache.setdefault("process_state.runs_in_process", {})
    found = known.get(node)
    if found is None:
        found = known[node] = _runs_in_process(context, node)
    return found


def _runs_in_process(context: Context, node: Node) -> bool:
    if not in_process_module(context, node):
        return False
    module = modules.at(context, node)
    if module is None:
        return False
    clause = module.clause_at(node)
    if clause is None:
        return False
    key = f"process_state.process_functions.{module.node.start_byte}"
    names = context.cache.get(key)
    if names is None:
        names = context.cache[key] = process_functions(module)
    return clause.name in names


def _callback_starts(context: Context) -> list[int]:
    """Where process callbacks are defined, in order; gathered once per analysis, since a
    file can hold thousands of calls to ask about and thousands of definitions."""
    starts = context.cache.get("process_state.callback_starts")
    if starts is None:
        starts = context.cache["process_state.callback_starts"] = sorted(
            captures["definition"][0].start_byte
            for captures in context.matches(clauses.ALL)
            if context.text(captures["name"][0]) in MESSAGE_CALLBACKS
        )
    return starts


# -- evidence that a linked task's crash was meant to be survived ----------------------------
#
# A linked task (`Task.async`, `Task.async_stream`) that crashes takes its caller down. That
# is only worth changing when the code shows the author meant otherwise: it handles a failed
# task (`{:exit, _}` from `Task.yield`/`async_stream`, `nil` from a timed-out yield, a
# `{:DOWN, …}` message), or it never waits for the task at all. Code that awaits the task with
# `Task.await`/`await_many` crashes on a failure either way: going unlinked changes nothing.

AWAITS = frozenset({("Task", "await"), ("Task", "await_many")})
YIELDS = frozenset({("Task", "yield"), ("Task", "yield_many")})
UNLINK = ("Process", "unlink")
RAISING = frozenset({"raise", "reraise", "exit", "throw"})
ASKED = AWAITS | YIELDS | {UNLINK}
"""The calls `calls_under` reports."""
_ASKED_WORDS = (b"await", b"yield", b"unlink")
_ASKED_FUNCTIONS = frozenset({"await", "await_many", "yield", "yield_many", "unlink"})


@dataclass(frozen=True, slots=True)
class Evidence:
    """What the code shows about a linked task: ``kind`` is "handled" (a clause for a failed
    task), "down" (a ``{:DOWN, …}`` clause of the module), "zip" (``zip_input_on_exit:
    true``) or "unawaited" (nothing waits for it); ``node`` is where (None for "unawaited")."""

    kind: str
    node: Node | None

    def line(self) -> int:
        return self.node.start_point[0] + 1 if self.node is not None else 0


def traps_exits(context: Context, node: Node) -> bool:
    """The enclosing function, or the process module holding it, traps exits: a linked
    crash arrives as an ``{:EXIT, …}`` message instead of killing the process. Also code that
    runs in a supervisor (which always traps exits), and a module built on a GenServer wrapper
    from a dependency, whose ``init`` may trap exits out of sight (see `may_trap_out_of_sight`)."""
    if runs_in_supervisor(node) or may_trap_out_of_sight(node):
        return True
    starts = _trap_starts(context)
    if not starts:
        return False
    function = syntax.enclosing(node, syntax.is_def)
    if function is not None and _any_within(starts, function):
        return True
    module = syntax.enclosing_module(node)
    if module is None or not _any_within(starts, module):
        return False
    return in_process_module(context, node) or (
        function is not None and clauses.name(function) == "terminate"
    )  # a server with no message callback still runs its terminate/2 in its process


SUPERVISOR_PROCESS = frozenset({"init", "start_link"})
"""A supervisor module's functions that run in a supervisor: its ``init/1`` in itself, its
``start_link`` in the parent supervisor that starts it as a child."""


def runs_in_supervisor(node: Node) -> bool:
    """``node`` is in a supervisor module's ``init/1`` or ``start_link``: code that runs in a
    supervisor's process, which traps exits (a linked task's crash reaches it as a message,
    ignored for a process that is not its child)."""
    definition = syntax.enclosing_definition(node)
    module = syntax.enclosing_module(node)
    return (
        definition is not None
        and module is not None
        and clauses.name(definition) in SUPERVISOR_PROCESS
        and modules.is_supervisor_use(modules.used(module))
    )


def may_trap_out_of_sight(node: Node) -> bool:
    """The module is built on a GenServer wrapper from a dependency (``use
    GracefulGenServer``): the wrapper's ``init`` runs the module's callbacks and may trap exits
    (a graceful shutdown needs it), which this code does not show."""
    module = syntax.enclosing_module(node)
    used = modules.used(module) if module is not None else ()
    return any(name != "GenServer" and name.endswith("GenServer") for name in used)


def _trap_starts(context: Context) -> list[int]:
    starts = context.cache.get("process_state.trap_starts")
    if starts is None:
        starts = context.cache["process_state.trap_starts"] = sorted(
            trap.start_byte for trap in _exit_traps(context)
        )
    return starts


def _any_within(starts: list[int], scope: Node) -> bool:
    """One of the sorted ``starts`` lies inside ``scope``."""
    first = bisect.bisect_left(starts, scope.start_byte)
    return first < len(starts) and starts[first] < scope.end_byte


def failure_clause(scope: Node, task: Node | None = None) -> Node | None:
    """A clause in ``scope`` that handles a failed task without re-raising: a pattern
    ``{:exit, reason}`` (a stream element or a yield result) whose reason can be a crash's.
    Clauses inside ``task`` (the task's own code) do not count. What handles a timeout is not
    failure handling: ``nil`` from ``Task.yield``, ``{:exit, :timeout}``, and ``catch :exit``
    (which catches the exit ``Task.await`` and a stream raise in the caller on a timeout)."""
    clauses, starts = _failure_clauses(scope)
    if not clauses:
        return None
    if task is None or not task.start_byte <= starts[0] < task.end_byte:
        return clauses[0]
    after = bisect.bisect_left(starts, task.end_byte)  # those inside the task come together
    return clauses[after] if after < len(clauses) else None


@syntax.remembered  # asked for every task started in the scope
def _failure_clauses(scope: Node) -> tuple[list[Node], list[int]]:
    """Every clause of `failure_clause` in ``scope``, in document order, and where each starts."""
    found = [node for node in syntax.descendants(scope) if _handles_failure(node)]
    return found, [node.start_byte for node in found]


def _handles_failure(node: Node) -> bool:
    if _matches_exit(node):
        return True
    if node.type != "stab_clause":
        return False
    patterns = node.child_by_field_name("left")
    if patterns is None or _raises(node):
        return False
    return any(_exit_tuple(p) for p in patterns.named_children)


def failure_head(definition: Node) -> bool:
    """A function clause taking a failed task (``defp collect({:exit, _}, acc)``) that does
    not re-raise."""
    head = clauses.head(definition)
    if head is None or not any(_exit_tuple(p) for p in head[1]):
        return False
    return not _raises_first(definition)


def _matches_exit(node: Node) -> bool:
    """``match?({:exit, _}, element)``: failed tasks sorted out of a stream."""
    if node.type != "call" or syntax.local_target(node) != "match?":
        return False
    args = syntax.argument_nodes(node)
    return bool(args) and _exit_tuple(args[0])


def exit_reason(clause: Node) -> Node | None:
    """The reason pattern of the ``{:exit, reason}`` a `failure_clause` matches (``{log_id,
    reason}`` in ``{:exit, {log_id, reason}} -> ...``); None when it is not written out."""
    if clause.type == "call":  # match?({:exit, _}, element)
        args = syntax.argument_nodes(clause)
        patterns = args[:1]
    else:
        left = clause.child_by_field_name("left")
        patterns = left.named_children if left is not None else []
    for pattern in patterns:
        while pattern.type == "binary_operator" and syntax.operator(pattern) in ("=", "when"):
            left = pattern.child_by_field_name("left")
            if left is None:
                break
            pattern = left
        if pattern.type == "tuple" and _exit_tuple(pattern):
            elements = pattern.named_children
            return elements[1] if syntax.text(elements[0]) == ":exit" else None
    return None


def matches_an_atom(pattern: Node) -> bool:
    """The pattern can match an atom such as ``:timeout``: a variable, ``_``, that atom."""
    if pattern.type == "binary_operator" and syntax.operator(pattern) in ("=", "when"):
        left = pattern.child_by_field_name("left")
        return left is None or matches_an_atom(left)
    if pattern.type == "identifier":
        return True
    return pattern.type == "atom" and syntax.text(pattern) == ":timeout"


def _exit_tuple(pattern: Node) -> bool:
    if pattern.type == "binary_operator" and syntax.operator(pattern) in ("=", "when"):
        left = pattern.child_by_field_name("left")
        return left is not None and _exit_tuple(left)
    if pattern.type != "tuple" or not pattern.named_children:
        return False
    elements = pattern.named_children
    if len(elements) == 2 and elements[1].type == "tuple" and syntax.text(elements[0]) != ":exit":
        return _exit_tuple(elements[1])  # {task, {:exit, _}} from yield_many
    return len(elements) == 2 and syntax.text(elements[0]) == ":exit" and _crash_reason(elements[1])


def _crash_reason(reason: Node) -> bool:
    """The reason pattern of ``{:exit, reason}`` can match a crash's reason: not a literal
    (``:timeout``, ``:normal``), nor ``{input, :timeout}`` (zip_input_on_exit)."""
    if reason.type == "binary_operator" and syntax.operator(reason) in ("=", "when"):
        left = reason.child_by_field_name("left")
        return left is None or _crash_reason(left)
    if reason.type == "tuple" and len(reason.named_children) == 2:
        return _crash_reason(reason.named_children[1])
    return not syntax.is_constant(reason)


def timeout_clause(scope: Node, after: Node | None = None) -> Node | None:
    """A clause in ``scope`` (past ``after``, the stream call, when given) that takes a
    timed-out task as a stream element: ``{:exit, :timeout}``, ``{:exit, {input, :timeout}}``
    (``zip_input_on_exit: true``), ``match?({:exit, :timeout}, ..)``. Streams give such
    elements only with ``on_timeout: :kill_task``; by default a timeout exits the caller."""
    for node in syntax.descendants(scope):
        if after is not None and node.start_byte < after.end_byte:
            continue
        if node.type == "call" and syntax.local_target(node) == "match?":
            args = syntax.argument_nodes(node)
            if args and _timeout_tuple(args[0]):
                return node
        elif node.type == "stab_clause":
            patterns = node.child_by_field_name("left")
            if patterns is not None and any(_timeout_tuple(p) for p in patterns.named_children):
                return node
    return None


def _timeout_tuple(pattern: Node) -> bool:
    elements = [c for c in pattern.named_children if c.type != "comment"]
    if pattern.type != "tuple" or len(elements) != 2 or syntax.text(elements[0]) != ":exit":
        return False
    reason = elements[1]
    if reason.type == "tuple" and len(reason.named_children) == 2:
        reason = reason.named_children[1]  # {input, :timeout}
    return syntax.text(reason) == ":timeout"


def _raises(clause: Node) -> bool:
    """The clause's body starts by raising or exiting: the failure still crashes the caller."""
    body = clause.child_by_field_name("right")
    statements = [c for c in body.named_children if c.type != "comment"] if body else []
    first = statements[0] if statements else None
    return first is not None and first.type == "call" and syntax.local_target(first) in RAISING


def down_clause(context: Context, node: Node) -> Node | None:
    """A clause of the module (``handle_info/2``, a ``:gen_statem`` event, …) that handles
    a ``{:DOWN, ref, :process, pid, reason}`` for abnormal reasons too: the author expects
    monitored work to fail and be handled, not to take the process down. In a module that
    monitors processes itself (``Process.monitor/1``, ``spawn_monitor``) or starts unlinked
    tasks (``Task.Supervisor.async_nolink``, whose ``:DOWN`` it gets), a ``:DOWN`` clause may
    be for those (components, a port, the nolink tasks): which ones a clause takes is not
    known, so none is a sign about a linked task."""
    module = syntax.enclosing_module(node)
    return None if module is None else _down_clause_in(module)


MONITORING_WORDS = ("Process.monitor", ":erlang.monitor", "spawn_monitor", "async_nolink")
"""Calls that bring a module ``:DOWN`` messages of processes other than its linked tasks."""


# Per-scope answers are remembered (nodes hash with their tree): rules ask them for every call
# in a scope, and scanning the scope each time made files of many calls quadratic.
@syntax.remembered
def _down_clause_in(module: Node) -> Node | None:
    text = syntax.text(module)
    if ":DOWN" not in text:  # a scan of the text is far cheaper than a walk
        return None
    monitors = any(word in text for word in MONITORING_WORDS)
    for definition in syntax.descendants(module):
        if not syntax.is_definition(definition):
            continue
        head = clauses.head(definition)
        if head is None:
            continue
        for param in head[1]:
            tuple_node = _down_tuple(param)
            if tuple_node is not None:
                reason = tuple_node.named_children[4]
                if reason.type == "atom":  # `:normal` only: a finished task, not a failure
                    continue
                if monitors:
                    continue
                return definition
    return None


def does_nothing(definition: Node) -> bool:
    """The clause's body only hands its last parameter back (``{:noreply, state}``)."""
    head = clauses.head(definition)
    statements = syntax.body_statements(definition)
    if head is None or not head[1] or len(statements) != 1:
        return False
    state = head[1][-1]
    if state.type == "binary_operator" and syntax.operator(state) == "=":
        sides = (state.child_by_field_name("left"), state.child_by_field_name("right"))
        names = {syntax.text(n) for n in sides if n is not None and n.type == "identifier"}
    else:
        names = {syntax.text(state)} if state.type == "identifier" else set()
    result = statements[0]
    items = [c for c in result.named_children if c.type != "comment"]
    return (
        result.type == "tuple"
        and len(items) == 2
        and syntax.text(items[0]) == ":noreply"
        and syntax.text(items[1]) in names
    )


def down_reasons(definition: Node) -> list[Node]:
    """The reason patterns of the ``{:DOWN, ref, :process, pid, reason}`` messages a clause
    takes."""
    head = clauses.head(definition)
    found = (_down_tuple(param) for param in (head[1] if head is not None else []))
    return [t.named_children[4] for t in found if t is not None]


def _down_tuple(param: Node) -> Node | None:
    if param.type == "binary_operator" and syntax.operator(param) == "=":
        for side in ("left", "right"):
            found = _down_tuple(param.child_by_field_name(side) or param)
            if found is not None and found is not param:
                return found
        return None
    if param.type == "tuple" and len(param.named_children) == 5:
        first = param.named_children[0]
        if syntax.text(first) == ":DOWN":
            return param
    return None


def awaited_in(scope: Node) -> bool:
    """``scope`` waits for a task with ``Task.await``/``await_many`` (which exit on failure)."""
    return not AWAITS.isdisjoint(calls_under(scope))


def blind_handler(scope: Node, after: Node) -> Node | None:
    """The ``rescue`` or ``catch`` of a ``try`` in ``scope`` around a ``Task.await`` or
    ``await_many`` (after ``after``) that cannot see the await's failure: it exits the caller,
    and an exit is neither an exception (``rescue``) nor a throw (``catch value``, or ``catch
    kind, value`` for a kind other than ``:exit``). The author meant to handle a failed task."""
    return next((h for start, h in _blind_awaits(scope) if start >= after.end_byte), None)


@syntax.remembered  # asked for every task started in the scope
def _blind_awaits(scope: Node) -> tuple[tuple[int, Node], ...]:
    """Where each await of ``scope`` inside such a ``try`` starts, and the try's first
    handler, in document order."""
    found = []
    for node in syntax.descendants(scope):
        if node.type != "call" or syntax.remote_target(node) not in AWAITS:
            continue
        for holder in syntax.ancestors(node):
            if holder == scope:
                break
            try_call = syntax.parent(holder) if holder.type == "do_block" else None
            if try_call is not None and _is_try(try_call):
                handlers = syntax.handler_blocks(holder)
                if handlers and not any(_catches_exits(h) for h in handlers):
                    found.append((node.start_byte, handlers[0]))
                break
    return tuple(found)


def rescued_yield(scope: Node, task: Node) -> Node | None:
    """The ``rescue`` of a ``try`` (or of the function ``scope`` itself) whose body starts
    ``task`` and reads it with ``Task.yield`` and does nothing else that could raise: only
    ``Task`` and ``Logger`` calls and branches (``case Task.yield(task, t) do``). The rescue
    can only be meant for a crashed task, which it never sees: a linked crash kills the
    caller with an exit signal, and ``Task.yield`` raises nothing."""
    for holder in syntax.ancestors(task):
        owner = syntax.parent(holder) if holder.type == "do_block" else None
        if owner is None or not (_is_try(owner) or owner == scope):
            if holder == scope:
                return None
            continue
        handlers = syntax.handler_blocks(holder)
        rescues = [h for h in handlers if h.type == "rescue_block"]
        if not rescues or len(rescues) != len(handlers) or not _only_task_work(holder, task):
            return None
        return rescues[0]
    return None


_QUIET_MODULES = frozenset({"Task", "Logger"})


def _only_task_work(block: Node, task: Node) -> bool:
    """The block (its body, not its handlers) reads the task with ``Task.yield`` and makes no
    call that could raise besides: ``Task``/``Logger`` calls and branches; the task's own
    function does not count (it runs in the task)."""
    yielded = False
    for node in syntax.descendants(block):
        if node.type != "call" or _in_handler(node, block) or syntax.in_fn_within(node, block):
            continue
        target = syntax.remote_target(node)
        if target is not None:
            if target[0] not in _QUIET_MODULES:
                return False
            yielded = yielded or target in YIELDS
        elif syntax.local_target(node) not in syntax.CONDITIONALS:
            return False
    return yielded


def _in_handler(node: Node, block: Node) -> bool:
    return any(
        a.type in ("rescue_block", "catch_block", "after_block", "else_block")
        for a in syntax.ancestors(node)
        if syntax.contains(block, a) and a != block
    )


def _is_try(node: Node) -> bool:
    return node.type == "call" and syntax.local_target(node) == "try"


def _catches_exits(handler: Node) -> bool:
    """A ``catch`` clause with two patterns whose kind is ``:exit`` or not a literal."""
    return any(
        syntax.text(kind) == ":exit" or not syntax.is_constant(kind)
        for kind in _caught_kinds(handler)
    )


def catches_everything(block: Node | None) -> bool:
    """A do block (of a ``try`` or a function) with a ``catch kind, reason`` clause, its kind
    not a literal, or whose clauses together take every kind: any exception (``rescue error
    ->``, or ``catch :error, _``), ``:exit`` and ``:throw``. Every raise, throw and exit in
    the block ends there, so the block returns a value instead of crashing. A ``rescue``
    alone lets exits and throws through."""
    handlers = syntax.handler_blocks(block) if block is not None else []
    kinds = [kind for h in handlers for kind in _caught_kinds(h)]
    if any(not syntax.is_constant(kind) for kind in kinds):
        return True
    caught = {syntax.text(kind) for kind in kinds}
    if any(h.type == "rescue_block" and _rescues_any(h) for h in handlers):
        caught.add(":error")
    return {":error", ":exit", ":throw"} <= caught


def returns_whatever_happens(helper: Node) -> bool:
    """Every raise, throw and exit in the function ends in a handler: its own ``catch kind,
    reason``, or one ``try`` that catches everything as its last statement, after nothing but
    readings of the clock (``started = System.monotonic_time()``) and logging."""
    block = syntax.do_block(helper)
    if catches_everything(block):
        return True
    statements = syntax.body_statements(helper)
    if not statements or syntax.local_target(statements[-1]) != "try":
        return False
    quiet = all(map(_cannot_raise, statements[:-1]))
    return quiet and catches_everything(syntax.do_block(statements[-1]))


QUIET_CALLS = frozenset(
    {
        ("System", "monotonic_time"),
        ("System", "system_time"),
        ("System", "os_time"),
        ("DateTime", "utc_now"),
        ("NaiveDateTime", "utc_now"),
        (":erlang", "monotonic_time"),
        (":os", "system_time"),
    }
)
"""Calls that cannot fail, read before the ``try`` that times the work."""


def _cannot_raise(statement: Node) -> bool:
    """``started = System.monotonic_time(:millisecond)``, or a ``Logger`` call."""
    if statement.type == "binary_operator" and syntax.operator(statement) == "=":
        left = statement.child_by_field_name("left")
        right = statement.child_by_field_name("right")
        return (
            left is not None
            and left.type == "identifier"
            and right is not None
            and right.type == "call"
            and syntax.remote_target(right) in QUIET_CALLS
        )
    target = syntax.remote_target(statement) if statement.type == "call" else None
    return target is not None and target[0] == "Logger"


def _rescues_any(rescue: Node) -> bool:
    """A ``rescue`` clause that takes any exception: a bare variable (``error ->``)."""
    for clause in rescue.named_children:
        left = clause.child_by_field_name("left") if clause.type == "stab_clause" else None
        patterns = left.named_children if left is not None else []
        if len(patterns) == 1 and patterns[0].type == "identifier":
            return True
    return False


def _caught_kinds(handler: Node) -> Iterator[Node]:
    """The kind pattern of each ``catch kind, value`` clause of a handler block (none for a
    ``rescue``, or a ``catch value`` clause)."""
    if handler.type != "catch_block":
        return
    for clause in handler.named_children:
        left = clause.child_by_field_name("left") if clause.type == "stab_clause" else None
        patterns = left.named_children if left is not None else []
        if len(patterns) == 2:
            yield patterns[0]


def unlinks(scope: Node) -> bool:
    return UNLINK in calls_under(scope)


@syntax.remembered
def calls_under(scope: Node) -> frozenset[tuple[str, str]]:
    """Which of the waits and unlinks in ASKED the calls under ``scope`` make (as
    `syntax.call_key`s): one search of a function answers every question asked of it about
    its calls, for every task it starts. tree-sitter finds the remote calls (the query every
    summary compiles), so a function of thousands of other calls costs no walk in Python."""
    data = scope.text or b""
    if not any(word in data for word in _ASKED_WORDS):
        return frozenset()  # not worth a walk of the tree, however short
    calls = (
        c["call"][0]
        for c in matches(syntax.REMOTE_CALLS, scope)  # compiled already: the summary's
        if c["module"][0].type == "alias" and syntax.text(c["function"][0]) in _ASKED_FUNCTIONS
    )
    keys = (syntax.call_key(call) for call in calls if call != scope)
    return frozenset(key for key in keys if key in ASKED)


def binding_of(site: Node) -> Node | None:
    """The ``=`` whose right side is ``site`` (``{:ok, pid} = Task.start(..)``), if any."""
    binding = syntax.parent(site)
    if (
        binding is None
        or binding.type != "binary_operator"
        or syntax.operator(binding) != "="
        or binding.child_by_field_name("right") != site
    ):
        return None
    return binding


def pid_kept(site: Node) -> bool:
    """The starter binds the started process's pid (``{:ok, pid} = Task.start(..)``, ``pid =
    spawn(..)``) and uses it afterwards (returns it, stores it, monitors, links or stops it):
    the process is known to its starter, which can watch it and stop it."""
    binding = binding_of(site)
    definition = syntax.enclosing_definition(binding) if binding is not None else None
    if binding is None or definition is None:
        return False
    names = syntax.bound_names(binding.child_by_field_name("left"))
    return any(syntax.last_variable_use(definition, name) > binding.end_byte for name in names)


# What a Task.async_stream's consumer does with each element: the `Enum` and `Stream`
# functions whose `fn` takes the element as its first argument.
_ELEMENT_CONSUMERS = frozenset(
    {
        "each",
        "map",
        "flat_map",
        "filter",
        "reject",
        "find",
        "reduce",
        "reduce_while",
        "map_reduce",
        "split_with",
        "group_by",
        "count",
        "any?",
        "all?",
    }
)


def error_element_clause(stream: Node) -> Node | None:
    """A clause of the stream's consumer written for an ``{:error, _}`` element, which
    ``Task.async_stream`` never yields (each element is ``{:ok, result}`` or ``{:exit,
    reason}``): an ``fn`` clause, or a head of the local function captured for it, in the
    ``Enum``/``Stream`` call the stream is piped or bound into. The author expected failures
    to arrive as elements."""
    for consumer in _consumers(stream):
        for function in syntax.argument_nodes(consumer)[-1:]:
            for pattern, raises in _element_patterns(consumer, function):
                if _tagged_pair(pattern, ":error") and not raises:
                    return pattern
    return None


def ok_only_element_clause(stream: Node) -> tuple[Node, Node] | None:
    """The first clause of the stream's consumer (as for `error_element_clause`) when every
    clause matches only ``{:ok, _}`` elements: an ``{:exit, _}`` element, which the stream
    yields for a task that times out under ``on_timeout: :kill_task`` or crashes unlinked,
    raises a ``FunctionClauseError`` in the caller. Returns the consumer call and the clause's
    pattern."""
    for consumer in _consumers(stream):
        for function in syntax.argument_nodes(consumer)[-1:]:
            patterns = _element_patterns(consumer, function)
            if patterns and all(_tagged_pair(pattern, ":ok") for pattern, _raises in patterns):
                return consumer, patterns[0][0]
    return None


def _consumers(stream: Node) -> list[Node]:
    """The `Enum`/`Stream` calls that take the stream's elements as they come: the call it is
    piped into, or one given the variable it is bound to."""
    top = stream
    parent = syntax.parent(top)
    if parent is not None and syntax.is_pipe(parent) and parent.child_by_field_name("right") == top:
        top, parent = parent, syntax.parent(parent)  # `items |> Task.async_stream(..)`
    if parent is not None and syntax.is_pipe(parent) and parent.child_by_field_name("left") == top:
        right = parent.child_by_field_name("right")
        return [right] if right is not None and _consumes(right) else []
    binding = parent
    if binding is None or binding.type != "binary_operator" or syntax.operator(binding) != "=":
        return []
    variable = binding.child_by_field_name("left")
    definition = syntax.enclosing_definition(stream)
    if variable is None or variable.type != "identifier" or definition is None:
        return []
    name = syntax.text(variable)
    found = []
    for use in syntax.variable_uses(definition, name):
        if use.start_byte <= binding.end_byte:
            continue
        holder = syntax.parent(use)
        call = syntax.parent(holder) if holder is not None else None
        if holder is not None and holder.type == "arguments" and call is not None:
            if _consumes(call) and syntax.argument_nodes(call)[:1] == [use]:
                found.append(call)
        elif holder is not None and syntax.is_pipe(holder):
            right = holder.child_by_field_name("right")
            if holder.child_by_field_name("left") == use and right is not None and _consumes(right):
                found.append(right)
    return found


def _consumes(call: Node) -> bool:
    target = syntax.remote_target(call) if call.type == "call" else None
    return (
        target is not None and target[0] in ("Enum", "Stream") and target[1] in _ELEMENT_CONSUMERS
    )


def _element_patterns(consumer: Node, function: Node) -> list[tuple[Node, bool]]:
    """The first parameter of each clause of ``function`` (an ``fn``, or ``&local/n`` of the
    consumer's module), and whether the clause raises at once (a crash then is wanted)."""
    if function.type == "anonymous_function":
        patterns = []
        for clause in function.named_children:
            left = clause.child_by_field_name("left") if clause.type == "stab_clause" else None
            if (
                left is not None
                and left.type == "binary_operator"
                and syntax.operator(left) == "when"
            ):
                left = left.child_by_field_name("left")
            parameters = left.named_children if left is not None else []
            if parameters:
                patterns.append((parameters[0], _raises(clause)))
        return patterns
    name = syntax.captured_function(function)
    module = syntax.enclosing_module(consumer)
    if name is None or module is None:
        return []
    found = []
    for definition in clauses.any_of_module(module, name):
        head = clauses.head(definition)
        if head is not None and head[1]:
            found.append((head[1][0], _raises_first(definition)))
    return found


def _raises_first(definition: Node) -> bool:
    statements = syntax.body_statements(definition)
    first = statements[0] if statements else None
    return first is not None and first.type == "call" and syntax.local_target(first) in RAISING


def _tagged_pair(pattern: Node, tag: str) -> bool:
    """``{tag, _}``, also bound (``{:ok, v} = element``, either side of the ``=``)."""
    if pattern.type == "binary_operator" and syntax.operator(pattern) == "=":
        return any(
            side is not None and _tagged_pair(side, tag)
            for side in (pattern.child_by_field_name("left"), pattern.child_by_field_name("right"))
        )
    elements = pattern.named_children if pattern.type == "tuple" else []
    return len(elements) == 2 and syntax.text(elements[0]) == tag
