"""Facts about every ``defmodule`` in a document, gathered once per analysis and shared by rules.

A rule asks ``modules.of(context)`` for every module, or ``modules.at(context, node)`` for the
module around a node, and gets :class:`ModuleFacts`: the module's name, what it ``use``s and which
``@behaviour`` it declares, every function clause by name and arity (GenServer callbacks
included), the shape of ``init/1``'s return, and the calls that show the process owns resources
(timers, subscriptions, monitors, trapped exits, ETS tables, ports, sockets, linked processes).

Half-written buffers: when a module's ``do … end`` does not parse, tree-sitter leaves the
``defmodule`` call without a body and puts the rest in an ERROR node after it. Such a module
reaches up to the next ``defmodule`` (or the end of the ERROR node), so the clauses that still
parse keep belonging to it. Code inside ``quote`` belongs to whatever module the macro expands
in, so it is left out.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Protocol

from tree_sitter import Node

from otp_thinking import syntax
from otp_thinking.model import clauses
from otp_thinking.parsing import AnyQuery, Captures, compile_query

GENSERVER_CALLBACKS = frozenset(
    {
        ("init", 1),
        ("handle_call", 3),
        ("handle_cast", 2),
        ("handle_info", 2),
        ("handle_continue", 2),
        ("terminate", 2),
        ("code_change", 3),
        ("format_status", 1),
        ("format_status", 2),
    }
)
"""GenServer callbacks by name and arity."""

STATE_CALLBACKS = frozenset(
    {("handle_call", 3), ("handle_cast", 2), ("handle_info", 2), ("handle_continue", 2)}
)
"""The callbacks that receive the state last and return the next one."""

RESOURCE_KINDS = (
    "timer",
    "subscription",
    "monitor",
    "trap_exit",
    "ets",
    "port",
    "socket",
    "link",
)

# One query for every fact (each pattern names its own captures): a query costs about one walk
# of the tree, whatever it matches, so five patterns in one query are five times cheaper.
_FACTS = compile_query(
    """
    (call target: (identifier) @keyword (arguments . (alias) @alias)
      (#any-of? @keyword "defmodule" "use")) @module_or_use

    (unary_operator operator: "@"
      operand: (call target: (identifier) @attribute (arguments . [(alias) (atom)] @behaviour))
      (#eq? @attribute "behaviour")) @declaration

    (call target: (identifier) @def (arguments . [(call) (identifier) (binary_operator)] @head)
      (#any-of? @def "def" "defp")) @definition

    (call target: (dot left: [(alias) (atom)] @module right: (identifier) @function)
      (#any-of? @function
        "send_after" "start_timer" "send_interval" "apply_interval" "apply_after"
        "apply_repeatedly" "subscribe" "psubscribe" "register" "join" "attach" "attach_many"
        "monitor_nodes" "monitor" "monitor_node" "flag" "process_flag" "new" "new!" "open"
        "open_port" "open_file" "connect" "listen" "accept" "link" "spawn_link" "start_link" "track"
        "add_handler" "add_sup_handler" "add_backend")) @call

    (call target: (identifier) @function
      (#any-of? @function "spawn_link" "spawn_monitor" "send_after")) @call

    (call target: (identifier) @quote (#eq? @quote "quote")) @quoted
    """
)

# (module, function) -> kind; "*" stands for any module.
_RESOURCES: dict[tuple[str, str], str] = {
    ("Process", "send_after"): "timer",
    (":erlang", "send_after"): "timer",
    (":erlang", "start_timer"): "timer",
    (":timer", "send_after"): "timer",
    (":timer", "send_interval"): "timer",
    (":timer", "apply_after"): "timer",
    (":timer", "apply_interval"): "timer",
    (":timer", "apply_repeatedly"): "timer",
    ("", "send_after"): "timer",
    ("*", "subscribe"): "subscription",
    ("*", "psubscribe"): "subscription",
    ("Registry", "register"): "subscription",
    (":pg", "join"): "subscription",
    (":pg2", "join"): "subscription",
    (":syn", "join"): "subscription",
    (":telemetry", "attach"): "subscription",
    (":telemetry", "attach_many"): "subscription",
    (":net_kernel", "monitor_nodes"): "subscription",
    (":logger", "add_handler"): "subscription",
    ("Logger", "add_backend"): "subscription",
    (":gen_event", "add_handler"): "subscription",
    (":gen_event", "add_sup_handler"): "subscription",
    ("*", "track"): "subscription",  # Phoenix.Tracker / Presence
    ("Process", "monitor"): "monitor",
    (":erlang", "monitor"): "monitor",
    (":erlang", "monitor_node"): "monitor",
    ("Node", "monitor"): "monitor",
    ("", "spawn_monitor"): "monitor",
    ("Process", "flag"): "trap_exit",
    (":erlang", "process_flag"): "trap_exit",
    (":ets", "new"): "ets",
    (":dets", "open_file"): "ets",
    ("Port", "open"): "port",
    (":erlang", "open_port"): "port",
    (":gen_tcp", "connect"): "socket",
    (":gen_tcp", "listen"): "socket",
    (":gen_tcp", "accept"): "socket",
    (":gen_udp", "open"): "socket",
    (":ssl", "connect"): "socket",
    (":ssl", "listen"): "socket",
    (":socket", "open"): "socket",
    ("Process", "link"): "link",
    (":erlang", "link"): "link",
    ("Process", "spawn_link"): "link",
    (":erlang", "spawn_link"): "link",
    ("", "spawn_link"): "link",
    ("*", "start_link"): "link",  # only inside callbacks: the process starts and owns a child
}

_PUBSUB_LIKE = ("PubSub", "Endpoint", "Tracker", "Presence", "FileSystem", "Notifications")
_ETS_WRAPPERS = ("ETS.Set", "ETS.Bag", "ETS.KeyValueSet")
"""The `ets` package's tables: ``ETS.Set.new!(name: ..)`` creates one the caller owns."""


@dataclass(frozen=True)
class Clause:
    """One ``def``/``defp`` clause: ``def handle_call(:get, _from, state), do: ...``."""

    name: str
    arity: int
    node: Node
    """The whole ``def`` call."""
    params: tuple[Node, ...]
    guard: Node | None
    body: Node | None
    """A ``do_block``, or the value of ``do:``; None for a bodiless head."""
    private: bool

    @property
    def key(self) -> tuple[str, int]:
        return self.name, self.arity

    def tails(self) -> list[Node]:
        """The expressions this clause can return (see ``syntax.tail_expressions``)."""
        return syntax.tail_expressions(self.body)


class Document(Protocol):
    """What gathering needs of the document analysed: its query matches, the text of a node and
    a per-analysis cache (a rule's ``Context`` is one)."""

    cache: dict[str, Any]

    def matches(self, query: AnyQuery) -> list[Captures]: ...

    def text(self, node: Node) -> str: ...


@dataclass(frozen=True)
class Use:
    """``use GenServer, restart: :temporary``."""

    alias: str
    node: Node
    """The ``use`` call (diagnostics about the module's kind sit here)."""

    def option(self, key: str) -> Node | None:
        """The value of an option written after the alias (``restart:``), or None."""
        args = syntax.argument_nodes(self.node)
        options = dict(syntax.keyword_pairs(args[1])) if len(args) > 1 else {}
        return options.get(key)


def read_use(call: Node) -> Use | None:
    """The ``use Alias, opts`` a call writes; None for another call or ``use`` of a non-alias."""
    if call.type != "call" or syntax.local_target(call) != "use":
        return None
    args = syntax.argument_nodes(call)
    if not args or args[0].type != "alias":
        return None
    return Use(syntax.text(args[0]), call)


@syntax.remembered
def uses(module: Node) -> list[Use]:
    """What a module ``use``s in its own body, in order (also the body of a half-written module
    that tree-sitter gathered in an ERROR node). Remembered: rules ask for every call in it."""
    body = syntax.module_body(module)
    found = (read_use(child) for child in body.named_children) if body is not None else ()
    return [use for use in found if use is not None]


SUPERVISOR_USES = frozenset({"Supervisor", "DynamicSupervisor", "PartitionSupervisor"})
"""What a supervisor module ``use``s: its ``init/1`` runs in a supervisor, which traps exits,
and its functions may start children at boot as well as on demand."""


def is_supervisor_use(used: Iterable[str]) -> bool:
    """Whether a module that ``use``s ``used`` is a supervisor."""
    return bool(SUPERVISOR_USES.intersection(used))


RESTARTING_USES = frozenset(
    {"GenServer", "Agent", "Supervisor", "DynamicSupervisor", "GenStateMachine", "GenStage"}
)
"""Modules whose generated ``child_spec/1`` makes a ``:permanent`` child unless the ``use``
says otherwise (``use GenServer, restart: :temporary``)."""


def child_restart(module: Node) -> tuple[str | None, str]:
    """The restart type of the child a module's ``child_spec/1`` makes, and where it is
    written, as a message says it (``set by use GenServer, restart: :temporary``, ``the
    default of use GenServer``); None when the code does not say (a hand-written ``child_spec/1``
    without a literal ``restart:``, a module no known ``use`` gives a child spec)."""
    # Most modules name no child_spec: their clauses are not read by name for it.
    specs = clauses.of_module(module, "child_spec") if b"child_spec" in (module.text or b"") else []
    arity = 1 if any(clauses.arity(c) == 1 for c in specs) else 0
    own = [c for c in specs if clauses.arity(c) == arity]
    if own:  # child_spec/0 when the module has no child_spec/1: `Mod.child_spec()` starts it
        for clause in own:
            for node in syntax.descendants(clause):
                if node.type == "pair" and syntax.text(node).startswith("restart:"):
                    value = node.child_by_field_name("value")
                    if value is not None and value.type == "atom":
                        return syntax.text(value), f"set in its child_spec/{arity}"
        return None, f"its child_spec/{arity}"
    for use in uses(module):
        restart = use.option("restart")
        if restart is not None:
            if restart.type != "atom":
                return None, f"use {use.alias}"
            return syntax.text(restart), f"set by use {use.alias}, restart: {syntax.text(restart)}"
        if use.alias in RESTARTING_USES:
            return ":permanent", f"the default of use {use.alias}"
        if use.alias == "Task":
            return ":temporary", "the default of use Task"
    return None, ""


_NORMAL_STOP = re.compile(r"\{\s*:stop\s*,\s*:(normal|shutdown)\b")


def may_stop_normally(text: str) -> bool:
    """The text has a ``{:stop, :normal`` (or ``:shutdown``) tuple: `normal_stop` may find one."""
    return _NORMAL_STOP.search(text) is not None


def takes_any_message(definitions: Iterable[Node]) -> bool:
    """A ``handle_info(message, state)`` clause whose message is a bare variable
    (``_other``, ``msg``): whatever arrives unasked (a task's reply, a ``:DOWN``) is taken and
    dealt with there, not left to the default clause that logs it."""
    return catch_all_info(definitions) is not None


def catch_all_info(definitions: Iterable[Node]) -> Node | None:
    """The first such ``handle_info/2`` clause (see `takes_any_message`)."""
    for definition in definitions:
        head = clauses.head(definition)
        info = head is not None and head[0] == "handle_info" and len(head[1]) == 2
        if info and head is not None and head[1][0].type == "identifier":
            return definition
    return None


def normal_stop(definitions: list[Node]) -> str:
    """Where the server ends itself with a normal exit, ``{:stop, :normal, ...}`` or ``{:stop,
    :shutdown, ...}`` returned by a callback (``handle_info``, ``handle_call``...) or by a
    helper a callback returns (``defp stop(state), do: {:stop, :normal, state}``), as a
    message says it (``{:stop, :normal, ...} in handle_info/2, line 81``); empty when none
    does. A tuple built and dropped ends nothing. ``definitions``: the module's own ``def``
    and ``defp`` clauses (ask `may_stop_normally` of the file first: most never stop so)."""
    returning: dict[str, tuple[Node, Node]] = {}
    for definition in definitions:
        stop = _returned_stop(definition)
        if stop is not None:
            returning.setdefault(clauses.name(definition), (definition, stop))
    if not returning:
        return ""
    for definition in definitions:
        if clauses.name(definition) not in _STOPPING_CALLBACKS:
            continue
        found = returning.get(clauses.name(definition))
        if found is None:
            tails = syntax.tail_expressions(syntax.body_of(definition))
            helpers = (syntax.local_target(t) for t in tails if t.type == "call")
            found = next((returning[h] for h in helpers if h in returning), None)
        if found is not None:
            helper, stop = found
            reason = _NORMAL_STOP.match(syntax.text(stop))
            line = stop.start_point[0] + 1
            where = f"{clauses.name(helper)}/{clauses.arity(helper)}, line {line}"
            return f"{{:stop, :{reason.group(1) if reason else 'normal'}, ...}} in {where}"
    return ""


_STOPPING_CALLBACKS = frozenset({"handle_call", "handle_cast", "handle_info", "handle_continue"})


def _returned_stop(definition: Node) -> Node | None:
    """A ``{:stop, :normal, ...}`` tuple the function returns."""
    for tail in syntax.tail_expressions(syntax.body_of(definition)):
        if tail.type == "tuple" and _NORMAL_STOP.match(syntax.text(tail)):
            return tail
    return None


_UNLINKED_STARTERS = frozenset(
    {("Agent", "start"), ("GenServer", "start"), (":gen_server", "start"), ("Task", "start")}
)
"""Starts that return ``{:ok, pid}`` of a process not linked to the caller."""


def unlinked_starts(definitions: Iterable[Node]) -> tuple[str, ...]:
    """The public ``start*`` functions (not ``start_link``) whose every returned value is an
    unlinked start (``def start(key), do: Agent.start(fn -> .. end)``): a supervisor whose
    child spec starts the child with one gets a pid it is not linked to, so it never sees the
    child exit (it neither restarts it nor counts its crashes)."""
    found: dict[str, bool] = {}
    for definition in definitions:
        name = clauses.name(definition)
        if syntax.local_target(definition) != "def" or not name.startswith("start"):
            continue
        if name == "start_link":
            continue
        tails = syntax.tail_expressions(syntax.body_of(definition))
        unlinked = bool(tails) and all(
            t.type == "call" and syntax.remote_target(t) in _UNLINKED_STARTERS for t in tails
        )
        found[name] = found.get(name, True) and unlinked
    return tuple(name for name, unlinked in found.items() if unlinked)


MIX_TASKS = "Mix.Tasks."
"""Where Mix looks its tasks up by name: a module under it is a task or one of its helpers
(build tooling, whether or not it ``use``s ``Mix.Task``)."""


def mix_task(name: str, uses: Iterable[str]) -> bool:
    """A Mix task or a module of one: ``use Mix.Task``, or a name under ``Mix.Tasks.``."""
    return name.startswith(MIX_TASKS) or "Mix.Task" in uses


STARTED_APPS = re.compile(
    r"Mix\.Task\.run\(\s*\"(app\.start|run)\"|\.ensure_(?:all_)?started\(\s*:(\w+)"
)
"""What a Mix task starts: ``Mix.Task.run("app.start")`` (or ``"run"``) the project's own
application, ``Application.ensure_all_started(:req_llm)`` the one named."""


def started_apps(text: str) -> tuple[str, ...]:
    """The applications a Mix task's text starts: ``"app.start"`` for its own project's,
    else the names given to ``Application.ensure_all_started/1``."""
    found = [
        "app.start" if match.group(1) else match.group(2) for match in STARTED_APPS.finditer(text)
    ]
    return tuple(dict.fromkeys(found))


def server_kind(uses: Iterable[str], behaviours: Iterable[str]) -> str | None:
    """``"gen_server"``, ``"gen_statem"`` or ``"gen_stage"`` for a module that ``use``s or
    declares one (by the aliases it uses and the behaviours it declares), else None: the
    processes whose ``start_link`` waits for their ``init/1``."""
    used, declared = set(uses), set(behaviours)
    if "GenServer" in used or {"GenServer", ":gen_server"} & declared:
        return "gen_server"
    if "GenStateMachine" in used or ":gen_statem" in declared:
        return "gen_statem"
    if "GenStage" in used or "GenStage" in declared:
        return "gen_stage"
    return None


@syntax.remembered
def runs_in_another_process(module: Node) -> bool:
    """The module's callbacks run in a process another module defines: a LiveComponent
    (``use Phoenix.LiveComponent``, or ``use MyAppWeb, :live_component`` as phx.new writes
    it) runs in its parent LiveView's process, so the messages it causes (a task's reply, a
    ``:DOWN``) reach the parent's ``handle_info/2``, not a clause of this module."""
    for use in uses(module):
        if use.alias == "Phoenix.LiveComponent":
            return True
        args = syntax.argument_nodes(use.node)
        if len(args) > 1 and syntax.text(args[1]) == ":live_component":
            return True
    return False


def read_alias(call: Node, module_name: str = "") -> list[tuple[str, str | None]]:
    """What an ``alias`` call names, as written, each with its ``as:`` short name if given:
    ``alias MyApp.Repo, as: R`` gives ``[("MyApp.Repo", "R")]``, ``alias MyApp.{Repo,
    Accounts.User}`` gives ``[("MyApp.Repo", None), ("MyApp.Accounts.User", None)]``. Without
    ``as:`` the short name is the last part of the full name. ``__MODULE__`` stands for
    ``module_name``, the module the call is written in (``alias __MODULE__.State``)."""
    if call.type != "call" or syntax.local_target(call) != "alias":
        return []
    args = syntax.argument_nodes(call)
    if not args:
        return []
    target = args[0]
    written = _alias_written(target, module_name)
    if written is not None:
        options = dict(syntax.keyword_pairs(args[1])) if len(args) > 1 else {}
        short = syntax.text(options["as"]) if "as" in options else None
        return [(written, short)]
    if target.type == "dot":
        base, group = target.child_by_field_name("left"), target.child_by_field_name("right")
        if base is None or group is None or group.type != "tuple":
            return []
        prefix = _alias_written(base, module_name)
        if prefix is None:
            return []
        return [
            (f"{prefix}.{syntax.text(item)}", None)
            for item in group.named_children
            if item.type == "alias"
        ]
    return []


def _alias_written(node: Node, module_name: str) -> str | None:
    """The module an alias's target names: ``MyApp.Repo`` as written, ``__MODULE__`` and
    ``__MODULE__.State`` with the module's own name in place (None without it)."""
    if node.type == "alias":
        return syntax.text(node)
    if node.type == "identifier" and syntax.text(node) == "__MODULE__":
        return module_name or None
    if node.type == "dot":
        left, right = node.child_by_field_name("left"), node.child_by_field_name("right")
        if left is not None and right is not None and right.type == "alias":
            base = _alias_written(left, module_name)
            return f"{base}.{syntax.text(right)}" if base is not None else None
    return None


def read_import(call: Node) -> tuple[str, frozenset[str] | None] | None:
    """What an ``import`` call brings in, as written, with the function names its ``only:``
    list gives (None when it gives none: every function, or ``only: :functions``)."""
    if call.type != "call" or syntax.local_target(call) != "import":
        return None
    args = syntax.argument_nodes(call)
    if not args or args[0].type != "alias":
        return None
    options = dict(syntax.keyword_pairs(args[1])) if len(args) > 1 else {}
    only = options.get("only")
    if only is None or only.type != "list":
        return syntax.text(args[0]), None
    return syntax.text(args[0]), frozenset(name for name, _arity in syntax.keyword_pairs(only))


def short_name(full: str, written_as: str | None) -> str:
    """The name an alias is used by: its ``as:``, else the last part of the full name."""
    return written_as if written_as is not None else full.rsplit(".", 1)[-1]


def aliases(module: Node) -> dict[str, str]:
    """Short name to full name for the ``alias`` calls written directly in a module's body."""
    found: dict[str, str] = {}
    body = syntax.do_block(module)
    name = full_name(module) if body is not None else ""
    for child in body.named_children if body is not None else []:
        for full, written_as in read_alias(child, name):
            found[short_name(full, written_as)] = full
    return found


def shadowed(node: Node, name: str) -> bool:
    """Whether ``name`` (``Registry``, ``Task``) is, where ``node`` is written, a module of the
    project that an ``alias`` of an enclosing module names so (``alias MyApp.Downloads.Registry``),
    not the module of that name from Elixir."""
    module = syntax.enclosing_module(node)
    while module is not None:
        if name in _aliases_of(module):
            return True
        module = syntax.enclosing_module(module)
    return False


@syntax.remembered
def _aliases_of(module: Node) -> frozenset[str]:
    return frozenset(aliases(module))


def expand(name: str, known: dict[str, str]) -> str:
    """``Repo.all`` with ``{"Repo": "MyApp.Repo"}`` gives ``MyApp.Repo.all``; Erlang modules
    and unknown names come back as they are."""
    head, dot, rest = name.partition(".")
    full = known.get(head)
    if full is None:
        return name
    return f"{full}{dot}{rest}"


def nested_name(outer: str | None, local: str) -> str:
    """The full name of ``defmodule local`` written inside the module named ``outer``:
    ``Shop`` and ``Cart.Item`` give ``Shop.Cart.Item``."""
    return f"{outer}.{local}" if outer else local


def used(module: Node) -> list[str]:
    """The aliases a module ``use``s in its own body (``["GenServer"]``)."""
    return [use.alias for use in uses(module)]


def full_name(defmodule: Node) -> str:
    """The full name a ``defmodule`` defines, the names of the modules around it first."""
    return nested_name(path_at(defmodule), syntax.module_name(defmodule))


def name_at(node: Node) -> str:
    """The full name of ``node`` when it is a ``defmodule``, else of the module around it."""
    return full_name(node) if syntax.is_defmodule(node) else path_at(node)


def path_at(node: Node) -> str:
    """The full name of the module around ``node`` (``""`` outside any module)."""
    return _path_of(syntax.enclosing_module(node))


@syntax.remembered
def _path_of(module: Node | None) -> str:
    """The full name of ``module`` (remembered: asked for every call in it)."""
    parts = []
    while module is not None:
        parts.append(syntax.module_name(module))
        module = syntax.enclosing_module(module)
    return ".".join(p for p in reversed(parts) if p)


def test_double(name: str) -> bool:
    """A stand-in shipped in `lib/` for tests, by its name: `Electric.Client.Mock`,
    `MyApp.MailerMock`, `TeslaMate.Import.FakeApi`."""
    return any(
        part.endswith(("Mock", "Fake")) or part.startswith("Fake") for part in name.split(".")
    )


def known_name(defmodule: Node) -> str | None:
    """The full name, or None when it or a module around it is not named by an alias
    (``defmodule unquote(name)``)."""
    parts = [syntax.module_name(defmodule)]
    parts += [syntax.module_name(m) for m in syntax.ancestors(defmodule) if syntax.is_defmodule(m)]
    return ".".join(reversed(parts)) if all(parts) else None


def in_mix_module(node: Node) -> bool:
    """Inside ``Mix`` or a ``Mix.*`` module: build tooling, short-lived like a Mix task."""
    path = path_at(node)
    return path == "Mix" or path.startswith("Mix.")


@dataclass(frozen=True)
class Resource:
    kind: str
    """One of ``RESOURCE_KINDS``."""
    node: Node
    clause: Clause | None
    """The clause the call sits in, if any."""


@dataclass(frozen=True)
class InitReturn:
    """One way ``init/1`` can return: ``kind`` is ok, ok_continue, ignore, stop or unknown."""

    kind: str
    node: Node
    state: Node | None
    """The initial state in ``{:ok, state, ...}``."""


@dataclass
class ModuleFacts:
    node: Node
    """The ``defmodule`` call."""
    name: str
    """The full name: a module nested in ``Shop`` as ``defmodule Inner`` is ``Shop.Inner``."""
    name_node: Node
    uses: list[Use] = field(default_factory=list)
    behaviours: list[str] = field(default_factory=list)
    clauses: list[Clause] = field(default_factory=list)
    """Every ``def``/``defp`` clause, in source order (nested modules' clauses excluded)."""
    resources: list[Resource] = field(default_factory=list)

    # -- what the module is ---------------------------------------------------------------

    def use_of(self, *aliases: str) -> Use | None:
        return next((use for use in self.uses if use.alias in aliases), None)

    def uses_any(self, *aliases: str) -> bool:
        return self.use_of(*aliases) is not None

    @property
    def is_genserver(self) -> bool:
        return self.uses_any("GenServer") or any(
            b in ("GenServer", ":gen_server") for b in self.behaviours
        )

    @property
    def is_agent(self) -> bool:
        return self.uses_any("Agent")

    @property
    def is_supervisor(self) -> bool:
        return self.uses_any("Supervisor", "DynamicSupervisor") or ":supervisor" in self.behaviours

    @property
    def is_gen_statem(self) -> bool:
        return self.uses_any("GenStateMachine") or ":gen_statem" in self.behaviours

    @property
    def statem_callback_mode(self) -> str | None:
        """The callback mode a :gen_statem module declares (``:state_functions`` or
        ``:handle_event_function``): ``use GenStateMachine, callback_mode: ..`` (whose default
        is ``:handle_event_function``), or the literal its ``callback_mode/0`` returns (an
        atom, or a list such as ``[:state_functions, :state_enter]``); None when the code
        computes it or declares none."""
        use = self.use_of("GenStateMachine")
        if use is not None:
            option = use.option("callback_mode")
            return _callback_mode(option) if option is not None else ":handle_event_function"
        clauses_ = self.functions("callback_mode", 0)
        modes = {_callback_mode(tail) for clause in clauses_ for tail in clause.tails()}
        return modes.pop() if len(modes) == 1 else None

    @property
    def is_broadway(self) -> bool:
        return self.uses_any("Broadway")

    @property
    def is_oban_worker(self) -> bool:
        return self.uses_any("Oban.Worker", "Oban.Pro.Worker")

    @property
    def anchor(self) -> Node:
        """Where a diagnostic about the whole module goes: its ``use GenServer``/``use Agent``
        line when it has one, else the module's name."""
        use = self.use_of("GenServer", "Agent", "GenStateMachine")
        return use.node if use is not None else self.name_node

    # -- functions ------------------------------------------------------------------------

    def functions(self, name: str, arity: int | None = None) -> list[Clause]:
        return [c for c in self.clauses if c.name == name and (arity is None or c.arity == arity)]

    @cached_property
    def _by_name(self) -> dict[str, list[Clause]]:
        grouped: dict[str, list[Clause]] = {}
        for clause in self.clauses:
            grouped.setdefault(clause.name, []).append(clause)
        return grouped

    def clause_at(self, node: Node) -> Clause | None:
        """The clause whose ``def`` holds ``node``."""
        return _clause_around(self, node)

    def defines(self, name: str) -> bool:
        return name in self._by_name

    def local_clauses(self, name: str) -> list[Clause]:
        """Every clause named ``name``, any arity (what a local call may reach)."""
        return self._by_name.get(name, [])

    @property
    def callbacks(self) -> list[Clause]:
        """Clauses of GenServer callbacks (``init/1``, ``handle_call/3``, ...)."""
        return [c for c in self.clauses if c.key in GENSERVER_CALLBACKS and not c.private]

    @property
    def state_callbacks(self) -> list[Clause]:
        """``handle_call/3``, ``handle_cast/2``, ``handle_info/2``, ``handle_continue/2``."""
        return [c for c in self.clauses if c.key in STATE_CALLBACKS and not c.private]

    @cached_property
    def deferred_requests(self) -> frozenset[str]:
        """Tags of the requests whose ``handle_call/3`` clause may return ``{:noreply, ..}``:
        the server answers later with ``GenServer.reply/2`` (a lock granted when it is free,
        a long poll answered when data arrives, work handed to another process)."""
        tags: set[str] = set()
        for clause in self.functions("handle_call", 3):
            if clause.params and any(_replies_later(tail) for tail in clause.tails()):
                tags.update(request_tags(clause))
        return frozenset(tags)

    @cached_property
    def init_returns(self) -> list[InitReturn]:
        returns = []
        for clause in self.functions("init", 1):
            for tail in clause.tails():
                returns.append(_init_return(tail))
        return returns

    # -- resources ------------------------------------------------------------------------

    def owns(self, *kinds: str) -> bool:
        """True when the module makes a call that acquires one of ``kinds`` (all when none)."""
        wanted = set(kinds or RESOURCE_KINDS)
        return any(r.kind in wanted for r in self.resources)

    @cached_property
    def end_byte(self) -> int:
        """Where the module's code ends (see ``_region_end`` for half-written modules)."""
        return _region_end(self.node)

    def contains(self, node: Node) -> bool:
        return self.node.start_byte <= node.start_byte < self.end_byte


def request_tags(clause: Clause) -> tuple[str, ...]:
    """The request tags a ``handle_call/3`` clause answers: its message's (``:get`` for
    ``{:get, key}``), or, when the tag is a variable its guard bounds (``{op, args}`` with
    ``when op in [:write, :append]`` or ``when op == :write``), each atom the guard allows."""
    message = clause.params[0] if clause.params else None
    if message is None:
        return ()
    tag = request_tag(message)
    if tag is not None:
        return (tag,)
    head = (
        [c for c in message.named_children if c.type != "comment"]
        if message.type == "tuple"
        else []
    )
    if not head or head[0].type != "identifier" or clause.guard is None:
        return ()
    return _guarded_atoms(clause.guard, syntax.text(head[0]))


_CALLBACK_MODES = frozenset({":state_functions", ":handle_event_function"})


def _callback_mode(value: Node) -> str | None:
    """``:state_functions``, or the callback mode a literal list names first."""
    items = syntax.named_children(value) if value.type == "list" else [value]
    return next((syntax.text(i) for i in items if syntax.text(i) in _CALLBACK_MODES), None)


def _guarded_atoms(guard: Node, variable: str) -> tuple[str, ...]:
    """The atoms ``variable in [:a, :b]`` or ``variable == :a`` in ``guard`` allows."""
    if guard.type != "binary_operator":
        return ()
    operator = syntax.operator(guard)
    left, right = guard.child_by_field_name("left"), guard.child_by_field_name("right")
    if left is None or right is None:
        return ()
    if operator in ("and", "or", "when"):
        return _guarded_atoms(left, variable) + _guarded_atoms(right, variable)
    if syntax.text(left) != variable:
        return ()
    if operator in ("==", "===") and right.type == "atom":
        return (syntax.text(right).lstrip(":"),)
    if operator == "in" and right.type == "list":
        items = [c for c in right.named_children if c.type != "comment"]
        if items and all(c.type == "atom" for c in items):
            return tuple(syntax.text(c).lstrip(":") for c in items)
    return ()


def request_tag(message: Node) -> str | None:
    """``get`` for a request written ``:get`` or ``{:get, key}`` (a pattern or a value)."""
    if message.type == "binary_operator" and syntax.operator(message) == "=":
        left, right = message.child_by_field_name("left"), message.child_by_field_name("right")
        return (
            request_tag(left)
            if left is not None and left.type != "identifier"
            else (request_tag(right) if right is not None else None)
        )
    if message.type == "tuple":
        items = [c for c in message.named_children if c.type != "comment"]
        message = items[0] if items else message
    if message.type == "atom":
        return syntax.text(message).lstrip(":")
    return None


def _replies_later(tail: Node) -> bool:
    if tail.type != "tuple":
        return False
    items = [c for c in tail.named_children if c.type != "comment"]
    return bool(items) and syntax.text(items[0]) == ":noreply"


def of(context: Document) -> list[ModuleFacts]:
    """Facts about every module of the document, in source order (computed once)."""
    cached = context.cache.get("modules")
    if cached is None:
        cached = context.cache["modules"] = _gather(context)
    return cached


def at(context: Document, node: Node) -> ModuleFacts | None:
    """The innermost module around ``node``."""
    locate = context.cache.get("modules.locator")
    if locate is None:
        locate = context.cache["modules.locator"] = _Locator(of(context))
    return locate(node, itself=True)


# -- gathering ---------------------------------------------------------------------------


def _gather(context: Document) -> list[ModuleFacts]:
    found = context.matches(_FACTS)
    quoted = _Spans(c["quoted"][0] for c in found if "quoted" in c)
    defined = []
    definitions: set[int] = set()  # ids of the `defmodule` captures: they hold no `use`
    for captures in found:
        if "module_or_use" in captures and context.text(captures["keyword"][0]) == "defmodule":
            definitions.add(id(captures))
            module = captures["module_or_use"][0]
            if not quoted.holds(module):
                defined.append((module, captures["alias"][0]))
    if not defined:
        return []
    defined.sort(key=lambda pair: pair[0].start_byte)
    ends = [_region_end(module) for module, _ in defined]
    outers = _outer_indices([module.start_byte for module, _ in defined], ends)
    # Modules nested past MAX_MODULE_NESTING are left out before any fact is built for them
    # (hostile input: 20,000 nested modules would cost a ModuleFacts each for nothing).
    depths: list[int] = []
    kept: dict[int, ModuleFacts] = {}
    facts = []
    for index, (module, alias) in enumerate(defined):  # outer modules first
        outer = outers[index]
        depth = depths[outer] + 1 if outer >= 0 else 0
        depths.append(depth)
        if depth >= syntax.MAX_MODULE_NESTING:
            continue
        name = context.text(alias)
        if outer >= 0:  # `Inner` in `Shop` is `Shop.Inner`
            name = nested_name(kept[outer].name, name)
        module_facts = kept[index] = ModuleFacts(module, name, alias)
        module_facts.__dict__["end_byte"] = ends[index]  # the cached property, computed above
        facts.append(module_facts)
    locate = _Locator(facts)

    resource_calls = []
    for captures in found:
        if "call" in captures:
            resource_calls.append(captures)
            continue
        if "quoted" in captures or id(captures) in definitions:
            continue
        node = next(
            captures[k][0] for k in ("module_or_use", "declaration", "definition") if k in captures
        )
        owner = locate(node)
        if owner is None or quoted.holds(node):
            continue
        if "declaration" in captures:
            owner.behaviours.append(context.text(captures["behaviour"][0]))
        elif "definition" in captures:
            clause = _clause(node)
            if clause is not None:
                owner.clauses.append(clause)
        elif (use := read_use(node)) is not None:
            owner.uses.append(use)
    for facts_of_module in facts:
        facts_of_module.clauses.sort(key=lambda c: c.node.start_byte)

    for captures in resource_calls:
        call = captures["call"][0]
        owner = locate(call)
        if owner is None or quoted.holds(call):
            continue
        clause = _clause_around(owner, call)
        kind = _resource_kind(context, captures, call, clause)
        if kind is not None:
            owner.resources.append(Resource(kind, call, clause))
    return facts


def _outer_indices(starts: list[int], ends: list[int]) -> list[int]:
    """For regions in order of their starts (nested or disjoint), the index of the innermost
    one around each, or -1."""
    outers: list[int] = []
    open_regions: list[int] = []
    for index, start in enumerate(starts):
        while open_regions and not starts[open_regions[-1]] <= start < ends[open_regions[-1]]:
            open_regions.pop()
        outers.append(open_regions[-1] if open_regions else -1)
        open_regions.append(index)
    return outers


class _Locator:
    """Finds the innermost module whose region holds a node (regions nest or are disjoint).

    From the last module starting before the node it climbs to enclosing modules only, so a
    lookup costs the nesting depth, not the number of modules before it.
    """

    def __init__(self, modules: list[ModuleFacts]) -> None:
        self.modules = modules
        self.starts = starts = [m.node.start_byte for m in modules]
        self.ends = ends = [m.end_byte for m in modules]  # as integers: asked in every step
        self.parents = _outer_indices(starts, ends)

    def __call__(self, node: Node, itself: bool = False) -> ModuleFacts | None:
        """The innermost module holding ``node``; ``itself``: a module holds its own node."""
        byte = node.start_byte
        index = bisect.bisect_right(self.starts, byte) - 1
        while index >= 0:
            module = self.modules[index]
            holds = self.starts[index] <= byte < self.ends[index]
            if holds and (itself or module.node != node):
                return module
            if self.starts[index] < byte and not holds:
                # a sibling that ended before the node: an enclosing module, if any, is the
                # nearest earlier module that still holds it
                index = self._enclosing(index, node)
            else:
                index = self.parents[index]
        return None

    def _enclosing(self, index: int, node: Node) -> int:
        parent = self.parents[index]
        byte = node.start_byte
        while parent >= 0 and not self.starts[parent] <= byte < self.ends[parent]:
            parent = self.parents[parent]
        return parent


def _region_end(defmodule: Node) -> int:
    """Where a module's code ends: its ``end``, or for a module whose body did not parse, the
    next ``defmodule`` after it or the end of the ERROR node that holds the rest."""
    last = defmodule.child(defmodule.child_count - 1) if defmodule.child_count else None
    if (last is not None and last.type == "do_block") or syntax.do_block(defmodule) is not None:
        return defmodule.end_byte  # (the last child tried first: a node list costs more)
    sibling = defmodule.next_named_sibling
    end = defmodule.end_byte
    while sibling is not None and not syntax.is_defmodule(sibling):
        if sibling.type == "ERROR":
            nested = _first_defmodule(sibling)
            if nested is not None:
                return nested.start_byte
        end = sibling.end_byte
        sibling = sibling.next_named_sibling
    return end


def _first_defmodule(node: Node) -> Node | None:
    for child in node.named_children:
        if syntax.is_defmodule(child):
            return child
    return None


class _Spans:
    """Byte ranges (here: ``quote`` blocks) and whether a node falls inside one."""

    def __init__(self, nodes: Iterable[Node]) -> None:
        self.ranges = sorted((n.start_byte, n.end_byte) for n in nodes)

    def holds(self, node: Node) -> bool:
        if not self.ranges:  # most files quote nothing
            return False
        return any(start <= node.start_byte < end for start, end in self.ranges)


def _clause(definition: Node) -> Clause | None:
    head = clauses.head(definition)
    if head is None:
        return None
    private = syntax.local_target(definition) == "defp"
    body = syntax.body_of(definition)
    return Clause(head.name, head.arity, definition, tuple(head.params), head.guard, body, private)


def _clause_around(module: ModuleFacts, node: Node) -> Clause | None:
    for clause in module.clauses:
        if clause.node.start_byte <= node.start_byte < clause.node.end_byte:
            return clause
    return None


def _resource_kind(
    context: Document, captures: dict[str, list[Node]], call: Node, clause: Clause | None
) -> str | None:
    function = context.text(captures["function"][0])
    module = context.text(captures["module"][0]) if "module" in captures else ""
    kind = _RESOURCES.get((module, function))
    if kind is None and module.startswith(_ETS_WRAPPERS) and function in ("new", "new!"):
        kind = "ets"  # the `ets` package's `ETS.Set.new!`: a table its caller owns
    if kind is None and module:
        wildcard = _RESOURCES.get(("*", function))
        if wildcard == "subscription" and function == "track":
            kind = wildcard if module.endswith(_PUBSUB_LIKE) else None
        else:
            kind = wildcard
    if kind == "trap_exit":
        args = syntax.argument_nodes(call)
        return kind if args and syntax.text(args[0]) == ":trap_exit" else None
    if kind == "link" and function == "start_link":
        in_callback = clause is not None and clause.key in GENSERVER_CALLBACKS
        return kind if in_callback else None
    return kind


def _init_return(tail: Node) -> InitReturn:
    if tail.type == "atom" and syntax.text(tail) == ":ignore":
        return InitReturn("ignore", tail, None)
    if tail.type != "tuple":
        return InitReturn("unknown", tail, None)
    items = [c for c in tail.named_children if c.type != "comment"]
    tag = syntax.text(items[0]) if items else ""
    if tag == ":ok" and len(items) >= 2:
        continues = len(items) == 3 and "{:continue" in syntax.text(items[2]).replace(" ", "")
        return InitReturn("ok_continue" if continues else "ok", tail, items[1])
    if tag == ":stop":
        return InitReturn("stop", tail, None)
    return InitReturn("unknown", tail, None)
