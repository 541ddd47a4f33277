"""Which process a module's functions run in: its own (callbacks) or the caller's (clients).

A process module's callbacks run in the process it starts; its other public functions run in
whichever process calls them. The private functions follow the functions that call them. Rules
ask this to tell what the owner of a table, a task or a subscription does from what its
callers do.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from tree_sitter import Node

from otp_thinking import syntax
from otp_thinking.model import clauses
from otp_thinking.model.modules import GENSERVER_CALLBACKS, Clause, ModuleFacts

MESSAGE_CALLBACKS = frozenset(
    {"handle_call", "handle_cast", "handle_info", "handle_continue", "handle_event", "mount"}
)
"""Callbacks that handle a process's messages: a module that defines one is a process module
(a GenServer, a :gen_statem, a LiveView)."""

IN_PROCESS_CALLBACKS = frozenset(
    {
        "init",
        "handle_call",
        "handle_cast",
        "handle_info",
        "handle_continue",
        "handle_event",
        "handle_params",
        "handle_async",
        "handle_in",
        "mount",
        "join",
        "update",
        "terminate",
        "code_change",
    }
)
"""Callbacks of processes (GenServer, :gen_statem, LiveView, channel, LiveComponent) that run in
the process the module defines."""

STATEM_EVENT_TYPES = (":info", ":cast", ":internal", ":timeout", ":state_timeout", ":enter")


def is_callback(module: ModuleFacts, clause: Clause) -> bool:
    """The clause runs in the module's process: a process callback, or a state function of a
    :gen_statem in state_functions mode; not a telemetry handler (`handle_event/4` outside a
    :gen_statem, run by whoever emits the event)."""
    if clause.name == "handle_event" and clause.arity == 4:
        return module.is_gen_statem
    if clause.name in IN_PROCESS_CALLBACKS:
        return True
    first = syntax.text(clause.params[0]) if clause.params else ""
    return (
        module.is_gen_statem
        and clause.arity == 3
        and (first.startswith(STATEM_EVENT_TYPES) or first.startswith("{:call"))
    )


def process_functions(module: ModuleFacts) -> frozenset[str]:
    """Names of the functions that run in the module's process: its callbacks and the local
    functions they reach (directly, through each other or as captures)."""
    return _reached(module, {c.name for c in module.clauses if _public_callback(module, c)})


def client_functions(module: ModuleFacts) -> frozenset[str]:
    """Names of the functions that run in the caller's process: public functions other than
    callbacks (``handle_*``, ``init*``), and the private functions they reach."""
    public = {
        c.name
        for c in module.clauses
        if not c.private
        and c.key not in GENSERVER_CALLBACKS
        and not _public_callback(module, c)
        and not c.name.startswith(("handle_", "init"))
    }
    private = {c.name for c in module.clauses if c.private}
    return _reached(module, public, private)


def reached_from(module: ModuleFacts, names: Iterable[str]) -> frozenset[str]:
    """``names`` and every function of the module they reach (calls and captures)."""
    return _reached(module, set(names))


def _public_callback(module: ModuleFacts, clause: Clause) -> bool:
    return not clause.private and is_callback(module, clause)


def _reached(module: ModuleFacts, start: set[str], among: set[str] | None = None) -> frozenset[str]:
    """``start`` and the functions of the module they reach (only those in ``among``, when
    given)."""
    reached = set(start)
    pending = list(reached)
    while pending:
        name = pending.pop()
        for clause in module.local_clauses(name):
            for called in local_calls(clause.node):
                if called in reached or not module.defines(called):
                    continue
                if among is None or called in among:
                    reached.add(called)
                    pending.append(called)
    return frozenset(reached)


def local_calls(node: Node) -> set[str]:
    """Names of the local functions called or captured (``&helper/1``) under ``node``."""
    names = set(syntax.local_calls_in(node))
    names.update(syntax.text(n) for n in syntax.captured_names(node))
    return names


# -- what a started process does -------------------------------------------------------------

MONITOR_CALLS = frozenset({("Process", "monitor"), (":erlang", "monitor")})


def work_does(call: Node, does: Callable[[Node], bool]) -> bool:
    """Whether the anonymous function a process-starting ``call`` (``spawn(fn -> .. end)``,
    ``Task.start_link(fn -> .. end)``) runs does it (``does`` holds of it), or its one
    statement calls a local function of the same module of which ``does`` holds."""
    args = syntax.argument_nodes(call)
    fun = args[0] if args else None
    if fun is None or fun.type != "anonymous_function":
        return False
    if does(fun):
        return True
    body = [n for n in syntax.descendants(fun) if n.type == "body"][:1]
    statements = [n for n in body[0].named_children if n.type != "comment"] if body else []
    if len(statements) != 1 or statements[0].type != "call":
        return False
    helper = syntax.local_target(statements[0])
    module = syntax.enclosing_module(call)
    if helper is None or module is None:
        return False
    return any(does(d) for d in clauses.any_of_module(module, helper))


def watcher(call: Node) -> bool:
    """The process ``call`` starts monitors another one: a reaper or an enforcer that lives
    exactly as long as what it watches (``spawn(fn -> Process.monitor(pid) ... end)``), also
    through one local function of the same module; or it asks whether its starter is alive
    (``owner = self()``, then ``Process.alive?(owner)`` in its loop), and ends with it."""
    return work_does(call, monitors) or _polls_starter(call)


def _polls_starter(call: Node) -> bool:
    starters, work = _starter_names_and_work(call)
    handed = starters & set(re.findall(r"\w+", work))
    return bool(handed) and work_does(call, _asks_alive)


def _starter_names_and_work(call: Node) -> tuple[set[str], str]:
    """The names the function starting a process binds to itself (``caller = self()``), and
    the text of what the process runs (its first argument); nothing when either is missing."""
    definition = syntax.enclosing_definition(call)
    args = syntax.argument_nodes(call)
    if definition is None or not args:
        return set(), ""
    return set(re.findall(r"(\w+) = self\(\)", syntax.text(definition))), syntax.text(args[0])


def _asks_alive(node: Node) -> bool:
    return any(
        n.type == "call" and syntax.remote_target(n) == ("Process", "alive?")
        for n in syntax.descendants(node)
    )


def monitors(node: Node) -> bool:
    return any(
        n.type == "call" and syntax.remote_target(n) in MONITOR_CALLS
        for n in syntax.descendants(node)
    )


def serving_loop(call: Node) -> str | None:
    """The local function the started process runs when that function calls itself and
    serves (an accept or receive loop): `spawn(fn -> accept_loop(socket) end)`,
    `spawn(__MODULE__, :loop, [s])`, `Task.start_link(__MODULE__, :loop, [s])`."""
    args = syntax.argument_nodes(call)
    name = None
    if len(args) == 3 and syntax.text(args[0]) == "__MODULE__" and args[1].type == "atom":
        name = syntax.text(args[1]).lstrip(":")
    elif args and args[0].type == "anonymous_function":
        body = [n for n in syntax.descendants(args[0]) if n.type == "body"][:1]
        statements = [n for n in body[0].named_children if n.type != "comment"] if body else []
        if statements and statements[-1].type == "call":
            name = syntax.local_target(statements[-1])
    module = syntax.enclosing_module(call)
    if name is None or module is None:
        return None
    definitions = clauses.any_of_module(module, name)
    calls_itself = any(
        n.type == "call" and syntax.local_target(n) == name
        for definition in definitions
        for n in syntax.descendants(syntax.body_of(definition) or definition)
    )
    serves = any(SERVING.search(syntax.text(definition)) for definition in definitions)
    return name if definitions and calls_itself and serves else None


SERVING = re.compile(r"\breceive\b|\baccept\b|\brecv\b")
"""What a loop that serves its owner does: waits for messages or connections. A loop that
polls or retries with a sleep is work like any other."""


def sends_to_starter(call: Node) -> bool:
    """The started function sends to the process that starts it (``caller = self()`` in the
    starting function, ``send(caller, ...)`` inside): its starter expects its messages."""
    starters, work = _starter_names_and_work(call)
    return any(f"send({name}," in work for name in starters)


def exits_on_purpose(call: Node) -> bool:
    """The started function calls ``exit/1`` itself: it ends its linked starter on purpose
    (a fail-fast design), also through one local function of the same module."""
    return work_does(
        call,
        lambda node: any(
            n.type == "call" and syntax.local_target(n) == "exit" for n in syntax.descendants(node)
        ),
    )
