"""What a function does beyond computing a value: blocks its caller, acts outside the process.

Two questions, one place:

* ``blocking_call(module, function)``: does a remote call make the caller wait on something
  slow — a database, an HTTP request, a file, another process, a sleep, a command — and of
  which kind (``db``, ``http``, ``file``, ``rpc``, ``call``, ``await``, ``sleep``, ``cmd``,
  ``socket``, ``connect``, ``dns``)? Rules choose the kinds they care about.
* ``acts_outside(module, function)``: does it touch the world outside the calling process at
  all (files, sockets, other processes, stores, code loading)? Used where a process may exist
  on purpose to serialise such access.

Per file, ``function_effects`` summarises which public functions block or act outside the
process, directly or through private helpers of the same module (the chain is kept, so a rule
can say "init/1 calls Accounts.load/1, which blocks on Repo.all via fetch/1"), and
``function_calls`` which functions of other modules each public function calls
(``defdelegate``s and imported functions included); the project index keeps these summaries,
and ``ProjectFacts.reach`` follows the calls from module to module, so that the answer crosses
files. Calls inside an ``fn`` that
runs later or in another process (``Task.start``, ``spawn``, a handler attached for later) do
not count; an ``fn`` that runs before the call returns does (``Enum.map``,
``Task.async_stream``, ``Task.async`` awaited in the same function).
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache

from tree_sitter import Node

from otp_thinking import syntax
from otp_thinking.model import clauses, modules
from otp_thinking.parsing import matches

# -- what blocks ----------------------------------------------------------------------------

REPO_FUNCTIONS = frozenset(
    {
        "aggregate",
        "all",
        "all_by",
        "checkout",
        "delete",
        "delete!",
        "delete_all",
        "exists?",
        "get",
        "get!",
        "get_by",
        "get_by!",
        "insert",
        "insert!",
        "insert_all",
        "insert_or_update",
        "insert_or_update!",
        "one",
        "one!",
        "preload",
        "query",
        "query!",
        "reload",
        "reload!",
        "stream",
        "transact",
        "transaction",
        "update",
        "update!",
        "update_all",
    }
)

_HTTP_VERBS = frozenset(
    {"get", "post", "put", "patch", "delete", "head", "options", "request", "run"}
)
_HTTP_VERBS = _HTTP_VERBS | {f"{verb}!" for verb in _HTTP_VERBS}

# module -> (kind, functions)
_BLOCKING: dict[str, tuple[str, frozenset[str]]] = {
    "Req": ("http", _HTTP_VERBS),
    "HTTPoison": ("http", _HTTP_VERBS),
    "HTTPotion": ("http", _HTTP_VERBS),
    "Tesla": ("http", _HTTP_VERBS),
    "Finch": ("http", frozenset({"request", "request!", "stream", "stream_while"})),
    "ExAws": ("http", frozenset({"request", "request!"})),
    ":hackney": ("http", frozenset({"request", "get", "post", "put", "delete", "head"})),
    ":httpc": ("http", frozenset({"request"})),
    "Mint.HTTP": ("connect", frozenset({"connect"})),
    "Mint.HTTP1": ("connect", frozenset({"connect"})),
    "Mint.HTTP2": ("connect", frozenset({"connect"})),
    "File": (
        "file",
        frozenset({"read", "read!", "open", "open!", "ls", "ls!", "cp", "cp!", "cp_r", "cp_r!"}),
    ),
    ":file": ("file", frozenset({"read_file", "open", "consult"})),
    ":rpc": ("rpc", frozenset({"call", "block_call", "multicall"})),
    ":erpc": ("rpc", frozenset({"call", "multicall"})),
    "GenServer": ("call", frozenset({"call", "multi_call"})),
    ":gen_server": ("call", frozenset({"call", "multi_call"})),
    ":gen_statem": ("call", frozenset({"call"})),
    "Agent": ("call", frozenset({"get", "update", "get_and_update"})),
    "Task": ("await", frozenset({"await", "await_many", "yield", "yield_many"})),
    "Process": ("sleep", frozenset({"sleep"})),
    ":timer": ("sleep", frozenset({"sleep"})),
    "System": ("cmd", frozenset({"cmd", "shell"})),
    ":os": ("cmd", frozenset({"cmd"})),
    ":dets": ("file", frozenset({"open_file"})),
    ":ets": ("file", frozenset({"file2tab"})),
    ":mnesia": ("db", frozenset({"wait_for_tables", "transaction", "sync_transaction"})),
    ":gen_tcp": ("socket", frozenset({"accept", "recv"})),
    ":ssl": ("socket", frozenset({"handshake", "recv"})),
    "Ecto.Adapters.SQL": ("db", frozenset({"query", "query!"})),
    "Postgrex": ("db", frozenset({"query", "query!", "prepare_execute"})),
    "Redix": ("db", frozenset({"command", "command!", "pipeline", "pipeline!"})),
}
_CONNECTS: dict[str, frozenset[str]] = {
    ":gen_tcp": frozenset({"connect"}),
    ":ssl": frozenset({"connect"}),
    "Node": frozenset({"connect", "ping"}),
    ":net_kernel": frozenset({"connect_node"}),
    "Socket.TCP": frozenset({"connect", "connect!"}),  # the `socket` package
    "Socket.SSL": frozenset({"connect", "connect!"}),
    ":gun": frozenset({"await_up"}),  # `:gun.open` returns at once; this waits for the connection
    ":net_adm": frozenset({"ping", "world", "world_list"}),  # the world pings every host listed
    "GRPC.Stub": frozenset({"connect"}),
    "AMQP.Connection": frozenset({"open"}),
}
_LOOKUPS: dict[str, frozenset[str]] = {
    ":inet_res": frozenset({"lookup", "getbyname", "gethostbyname", "resolve", "nslookup"}),
    ":inet": frozenset({"gethostbyname", "gethostbyaddr", "getaddr", "getaddrs"}),
}

KINDS = ("db", "http", "file", "rpc", "call", "await", "sleep", "cmd", "socket", "connect", "dns")
"""Every kind of blocking effect (``connect``: opening a network connection or connecting a
node; ``dns``: a name lookup)."""


@dataclass(frozen=True, slots=True)
class Blocking:
    """A blocking call: ``name`` as written (``Repo.all``), ``kind`` one of :data:`KINDS`."""

    name: str
    kind: str


def blocking_call(module: str, function: str) -> Blocking | None:
    """Whether ``module.function(...)`` (as written: ``"Repo"``, ``":gen_tcp"``) blocks."""
    name = f"{module}.{function}"
    entry = _BLOCKING.get(module)
    if entry is not None and function in entry[1]:
        return Blocking(name, entry[0])
    if function in _CONNECTS.get(module, ()):
        return Blocking(name, "connect")
    if function in _LOOKUPS.get(module, ()):
        return Blocking(name, "dns")
    if function in REPO_FUNCTIONS and module.rpartition(".")[2].endswith("Repo"):
        return Blocking(name, "db")
    return None


# -- what acts outside the process ----------------------------------------------------------

# A remote call whose module talks to the world outside the process (files, sockets, other
# processes, databases, code loading). Matched exactly or by the prefix before a dot.
_OUTSIDE_MODULES = frozenset(
    (  # noqa: SIM905 (a word list reads better than a column of strings)
        "File IO System Port Process Node Code GenServer GenStage Agent Task Registry "
        "Supervisor DynamicSupervisor PartitionSupervisor Mix Phoenix.PubSub Phoenix.Tracker "
        "Ecto Ecto.Adapters.SQL Postgrex MyXQL Exqlite Redix HTTPoison HTTPotion Req Finch Tesla "
        "Mint Socket "
        "Swoosh Bamboo ExAws Oban Broadway NimblePool Poolboy :os :file :prim_file :filelib "
        ":gen_tcp :gen_udp :gen_sctp :ssl :socket :inet :httpc :hackney :gun :ets :dets "
        ":mnesia :persistent_term :counters :atomics :global :pg :pg2 :rpc :erpc :gen_server "
        ":gen_statem :gen_event :proc_lib :sys :code :application :net_kernel :net_adm :timer "
        ":poolboy :telemetry :logger :disk_log :peer :slave :exec :eldap"
    ).split()
)

# App modules named like these front something outside the process (another process, a store,
# the network), so a call to them counts too.
_OUTSIDE_SUFFIXES = (
    "Repo",
    "Endpoint",
    "PubSub",
    "Client",
    "Api",
    "API",
    "Socket",
    "Port",
    "HTTP",
    "Http",
    "Mailer",
    "Storage",
    "Store",
    "Cache",
    "Queue",
    "Pool",
    "Producer",
    "Consumer",
    "Notifier",
    "Adapter",
    "Gateway",
    "Connection",
    "Conn",
    "Server",
    "Supervisor",
    "Registry",
    "Worker",
    "Tracker",
    "Presence",
)

# Functions of :erlang / Kernel that act on other processes or the process itself.
_ERLANG_OUTSIDE = frozenset(
    (  # noqa: SIM905
        "send send_after spawn spawn_link spawn_monitor exit link unlink monitor demonitor "
        "process_flag register whereis put erase halt garbage_collect open_port port_command "
        "port_control load_nif group_leader"
    ).split()
)

LOCAL_OUTSIDE = frozenset(
    {"send", "spawn", "spawn_link", "spawn_monitor", "receive", "apply", "exit"}
)
"""Local (Kernel) calls that act outside the process."""

_PURE = frozenset({("Application", "get_env"), ("Application", "fetch_env!")})


PURE_ERLANG = frozenset(
    (  # noqa: SIM905 (a word list reads better than a column of strings)
        ":lists :maps :string :binary :math :unicode :proplists :queue :sets :ordsets :gb_trees "
        ":gb_sets :dict :orddict :array :calendar :base64 :uri_string :crypto :zlib :re :io_lib "
        ":rand :erl_scan :erl_parse :uuid :json :filename"
    ).split()
)
"""Erlang modules that compute values and touch nothing outside the calling process (`:rand`
keeps its seed in the process dictionary). Any other Erlang module may: a library such as
`:avro_schema_store` creates ETS tables its caller then owns."""


def acts_outside(module: str, function: str) -> bool:
    """Whether ``module.function(...)`` acts outside the calling process, or may (an Erlang
    module the tool does not know counts as one that may)."""
    if (module, function) in _PURE:
        return False
    if module in (":erlang", "Kernel"):
        return function in _ERLANG_OUTSIDE
    if module.startswith(":") and module not in PURE_ERLANG:
        return True
    if module == "Application":
        return function.startswith(("put_", "delete_", "ensure_", "start", "stop", "load"))
    head = module
    while head:
        if head in _OUTSIDE_MODULES:
            return True
        head = head.rpartition(".")[0]
    return module.endswith(_OUTSIDE_SUFFIXES)


# -- when an fn runs -------------------------------------------------------------------------

_EAGER_CONSUMERS = frozenset({"Enum", "Stream"})
"""Modules each of whose functions given an ``fn`` runs it before the caller goes on (or, for
a ``Stream``, when the caller runs the stream, mostly in the same function)."""
_FN_TAKING = frozenset(
    {"new", "filter", "reject", "map", "split_with", "get_lazy", "put_new_lazy", "pop_lazy"}
    | {"update", "update!", "get_and_update", "get_and_update!", "merge", "replace_lazy"}
)
_RUNS_FN: dict[str, frozenset[str]] = {
    "Map": _FN_TAKING | {"intersect", "filter_map"},
    "Keyword": _FN_TAKING,
    "MapSet": frozenset({"new", "filter", "reject", "map", "split_with"}),
    "List": frozenset({"foldl", "foldr", "update_at"}),
    "Agent": frozenset({"start_link", "start"}),
    ":telemetry": frozenset({"span"}),
}
"""Functions of the collection modules that run an ``fn`` they are given; their others take
it as a value (``Keyword.get(opts, :fetch, &Remote.fetch/1)`` keeps a function to call
later). An Agent's start runs its ``fn`` in the new process as its `init`, and returns only
once it has; ``:telemetry.span`` runs its ``fn`` between the start and stop events."""
_EAGER_LOCAL = frozenset({"then", "tap"})
# Run the function in other processes, but the caller waits for the results.
_AWAITED_STREAMS = frozenset(
    {
        ("Task", "async_stream"),
        ("Task.Supervisor", "async_stream"),
        ("Task.Supervisor", "async_stream_nolink"),
    }
)
_TASK_STARTS = frozenset(
    {("Task", "async"), ("Task.Supervisor", "async"), ("Task.Supervisor", "async_nolink")}
)
_AWAITS = re.compile(r"\bTask\.(await|await_many|yield|yield_many)\b")


def deferred(call: Node, scope: Node) -> bool:
    """Whether ``call`` sits in an ``fn`` or a capture that runs later or elsewhere, without
    ``scope`` (the function being summarised) waiting for it."""
    for parent in syntax.ancestors(call):
        if parent == scope:
            return False
        is_fn = parent.type == "anonymous_function"
        is_capture = parent.type == "unary_operator" and syntax.operator(parent) == "&"
        if (is_fn or is_capture) and not _runs_now(parent, scope):
            return True
    return False


def waited_in_task(call: Node, scope: Node) -> bool:
    """``call`` runs in a task whose result ``scope`` waits for (``Task.async_stream``, or
    ``Task.async`` awaited in the same function)."""
    for parent in syntax.ancestors(call):
        if parent == scope:
            return False
        holder = _holder(parent)
        if holder is not None and syntax.remote_target(holder) in (_AWAITED_STREAMS | _TASK_STARTS):
            return True
    return False


BRANCHING = frozenset({"if", "unless", "case", "cond"})


def in_branch(call: Node, scope: Node) -> bool:
    """``call`` runs in one branch of an ``if``/``unless``/``case``/``cond`` of ``scope``, so
    only in some runs (what a ``case`` matches on runs every time)."""
    for parent in syntax.ancestors(call):
        if parent == scope:
            return False
        holder = _branch_holder(parent)
        if holder is not None and holder != scope and syntax.local_target(holder) in BRANCHING:
            return True
    return False


def _branch_holder(node: Node) -> Node | None:
    """The call whose branch ``node`` is: a ``do``/``else`` block, or a ``do:``/``else:``
    keyword of the one-line form (``if ok?, do: a(), else: b()``)."""
    if node.type in ("do_block", "else_block"):
        return syntax.parent(node)
    if node.type == "pair" and _keyword_text(node).startswith(("do:", "else:")):
        keywords = syntax.parent(node)
        arguments = syntax.parent(keywords) if keywords is not None else None
        return syntax.parent(arguments) if arguments is not None else None
    return None


def _keyword_text(pair: Node) -> str:
    """The text a ``pair`` starts with: its key's (``do: ``), not the whole of it, which may be
    a long one-line body."""
    key = pair.child_by_field_name("key")
    return syntax.text(key if key is not None and key.start_byte == pair.start_byte else pair)


def _holder(function: Node) -> Node | None:
    """The call an ``fn`` or capture is passed to, when it is a direct argument."""
    if function.type != "anonymous_function" and not (
        function.type == "unary_operator" and syntax.operator(function) == "&"
    ):
        return None
    holder = function.parent
    if holder is not None and holder.type == "arguments":
        holder = holder.parent
    return holder if holder is not None and holder.type == "call" else None


def _runs_now(function: Node, scope: Node) -> bool:
    if _called_where_bound(function, scope):
        return True
    holder = _holder(function)
    if holder is None:
        return False
    remote = syntax.remote_target(holder)
    if remote is None:
        return syntax.local_target(holder) in _EAGER_LOCAL or _helper_runs_it(holder, function)
    if remote[0] in _EAGER_CONSUMERS or remote in _AWAITED_STREAMS:
        return True
    if remote[1] in _RUNS_FN.get(remote[0], ()):
        return True
    return remote in _TASK_STARTS and _AWAITS.search(syntax.text(scope)) is not None


_DEFAULTS = frozenset({("Keyword", "get"), ("Map", "get"), ("Access", "get")})
"""Look-ups whose last argument is the value to use when the key is missing."""


def _called_where_bound(function: Node, scope: Node) -> bool:
    """An ``fn`` or capture bound to a variable that ``scope`` then calls, outside any ``fn``
    that runs later: ``resolver = Keyword.get(config, :resolver, &:inet_res.getbyname(&1,
    :a))`` and then ``resolver.(host)``. The option may replace it, but by default it runs
    before ``scope`` goes on."""
    return _bound_call(function, scope) is not None


def where_it_runs(call: Node, scope: Node) -> Node:
    """Where ``scope`` runs ``call``: the call itself, or, when it sits in an ``fn`` or capture
    bound to a variable, the first call of that variable (``resolver.(host)``)."""
    for parent in syntax.ancestors(call):
        if parent == scope:
            break
        if parent.type == "anonymous_function" or syntax.is_capture(parent):
            site = _bound_call(parent, scope)
            if site is not None:
                return site
    return call


def _bound_call(function: Node, scope: Node) -> Node | None:
    """The first call of the variable ``function`` is bound to, when ``scope`` makes one."""
    value = function
    holder = _holder(function)
    if holder is not None and syntax.remote_target(holder) in _DEFAULTS:
        arguments = syntax.argument_nodes(holder)
        if not arguments or arguments[-1] != function:
            return None
        value = holder
    binding = syntax.parent(value)
    if binding is None or binding.type != "binary_operator" or syntax.operator(binding) != "=":
        return None
    variable = binding.child_by_field_name("left")
    if (
        variable is None
        or variable.type != "identifier"
        or binding.child_by_field_name("right") != value
    ):
        return None
    name = syntax.text(variable)
    return next(
        (
            node
            for node in syntax.descendants(scope)
            if node.start_byte > binding.end_byte
            and _calls_variable(node, name)
            and not deferred(node, scope)
        ),
        None,
    )


def _calls_variable(node: Node, name: str) -> bool:
    """``node`` is ``name.(...)``, a call of the function a variable holds."""
    if node.type != "call":
        return False
    target = node.child_by_field_name("target")
    return (
        target is not None
        and target.type == "dot"
        and target.child_by_field_name("right") is None
        and syntax.text(target).removesuffix(".") == name
    )


def _helper_runs_it(holder: Node, function: Node) -> bool:
    """``holder`` is a call of a function of the module that calls the ``fn`` it is given
    there and then (``safe_db(fn -> Repo.aggregate(..) end, 0)``, where ``safe_db(fun,
    default)`` runs ``fun.()`` in a ``try``): not inside an ``fn`` of its own."""
    name = syntax.local_target(holder)
    module = syntax.enclosing_module(holder)
    arguments = syntax.argument_nodes(holder)
    if name is None or module is None or function not in arguments:
        return False
    position = arguments.index(function)
    return any(
        _calls_parameter(definition, position)
        for definition in clauses.of_module(module, name)
        if clauses.accepts(definition, len(arguments))
    )


@syntax.remembered
def _calls_parameter(definition: Node, position: int) -> bool:
    """The clause calls its parameter at ``position`` (``fun.()``), outside any ``fn``."""
    head = clauses.head(definition)
    if head is None or position >= len(head.params) or head.params[position].type != "identifier":
        return False
    parameter = syntax.text(head.params[position])
    return any(
        _calls_variable(node, parameter)
        and not any(a.type == "anonymous_function" for a in _between(node, definition))
        for node in syntax.descendants(definition)
    )


def _between(node: Node, outer: Node) -> Iterator[Node]:
    for parent in syntax.ancestors(node):
        if parent == outer:
            return
        yield parent


Scopes = tuple[tuple[str, dict[str, str]], ...]
"""The modules around a place, innermost first: full name and ``alias``es of each."""


def scopes(module: Node) -> Scopes:
    """The scopes of a ``defmodule`` node: itself, then the modules around it."""
    return tuple(
        (modules.full_name(outer), modules.aliases(outer))
        for outer in (module, *syntax.ancestors(module))
        if syntax.is_defmodule(outer)
    )


def module_candidates(around: Scopes, written: str) -> list[str]:
    """The full names an alias written in a module may stand for, most likely first: through
    the ``alias`` calls of the module and those around it, as a module nested in one of them,
    and as written; ``__MODULE__.Client`` is the module's own ``Client``. Erlang modules and
    ``__MODULE__`` give none."""
    if written.startswith(":") or written == "__MODULE__":
        return []
    if written.startswith("__MODULE__."):
        return [f"{around[0][0]}.{written.removeprefix('__MODULE__.')}"] if around else []
    candidates = []
    for name, aliases in around:
        candidates.append(modules.expand(written, aliases))
        candidates.append(f"{name}.{written}")
    candidates.append(written)
    return list(dict.fromkeys(candidates))


# -- per-file summary: which public functions block ---------------------------------------------

HELPER_DEPTH = 3
"""How many private helpers deep a chain is followed inside one module."""


@dataclass(frozen=True, slots=True)
class FunctionEffect:
    """``module.function/arity`` blocks on ``call`` (of ``kind``), reached through the helpers
    in ``via`` (local function names, outermost first; empty when the call is in its body)."""

    module: str
    function: str
    arity: int
    call: str
    kind: str
    via: tuple[str, ...] = ()
    conditional: bool = False
    """Every such call the function makes (on the way named) is in a branch of an ``if``,
    ``case``…, or the name has clauses of several arities (see `_Function.several_arities`):
    it blocks in some runs only, maybe not for the arguments a caller gives."""

    @property
    def label(self) -> str:
        return f"{self.module}.{self.function}/{self.arity}"


@dataclass
class _Function:
    module: str
    name: str
    public: bool
    nodes: list[Node]

    @property
    def arity(self) -> int:
        head = clauses.head(self.nodes[0])
        return len(head[1]) if head is not None else 0

    @property
    def several_arities(self) -> bool:
        """Clauses of more than one arity share the name (``get!/1`` and ``get!/2``): what
        one of them does says nothing of the others, and the summary is per name."""
        heads = (clauses.head(node) for node in self.nodes)
        return len({len(head[1]) for head in heads if head is not None}) > 1

    @property
    def texts(self) -> list[str]:
        return [syntax.text(body) for node in self.nodes if (body := syntax.body_of(node))]


Reaching = tuple[Blocking, tuple[str, ...], bool]
"""How a function blocks: its first blocking call, the helpers on the way there, and whether
every such call it makes is in a branch (see `FunctionEffect.conditional`)."""

OUTSIDE = "outside"
"""The kind of a function that acts outside the process without blocking on it."""


def function_effects(
    functions: Functions, remote_calls: Iterable[tuple[Node, str, str]]
) -> tuple[FunctionEffect, ...]:
    """The public functions of a file that block or act outside the process (directly or
    through private helpers of their module), from the file's functions (see
    `functions_of`) and its remote calls (the call, its module and function as written). A
    function that does both is reported as blocking."""
    blocking: list[tuple[Node, Blocking]] = []
    outside: list[tuple[Node, Blocking]] = []
    for call, module, function in remote_calls:
        found = _classify(module, function)
        if found is not None:
            (outside if found.kind == OUTSIDE else blocking).append((call, found))
    if not blocking and not outside or not functions:
        return ()
    spans = sorted(
        (node.start_byte, node.end_byte, key) for key, f in functions.items() for node in f.nodes
    )
    effects: dict[tuple[str, str], Reaching] = {}
    _direct(blocking, functions, spans, effects)
    readings = _Readings()
    if effects:
        _through_helpers(functions, effects, readings)
    by_kind = _by_kind(blocking, functions, spans, effects, readings)
    if outside:
        acting: dict[tuple[str, str], Reaching] = {}
        _direct(outside, functions, spans, acting)
        _through_helpers(functions, acting, readings)
        for key, reaching in acting.items():
            effects.setdefault(key, reaching)  # blocking comes first
    found_effects = []
    for key, f in functions.items():
        if not f.public or key not in effects:
            continue
        first, first_via, first_branch = effects[key]
        some = f.several_arities  # then it may block only for the other arity's callers
        found_effects.append(
            FunctionEffect(
                f.module, f.name, f.arity, first.name, first.kind, first_via, first_branch or some
            )
        )
        for kind, (other, via, branch) in by_kind.get(key, {}).items():
            if kind != first.kind:
                found_effects.append(
                    FunctionEffect(f.module, f.name, f.arity, other.name, kind, via, branch or some)
                )
    return tuple(found_effects)


def _by_kind(
    blocking: list[tuple[Node, Blocking]],
    functions: Functions,
    spans: list[tuple[int, int, tuple[str, str]]],
    first: dict[tuple[str, str], Reaching],
    readings: _Readings,
) -> dict[tuple[str, str], dict[str, Reaching]]:
    """For each function, the first blocking call of each kind it makes (directly or through
    helpers): a rule that cares about one kind (a request) can name it even when a quick file
    read comes first. Only computed when a file blocks in more than one way."""
    kinds = {found.kind for _, found in blocking}
    if len(kinds) < 2:
        return {}
    found: dict[tuple[str, str], dict[str, Reaching]] = {}
    for kind in sorted(kinds):
        of_kind: dict[tuple[str, str], Reaching] = {}
        _direct([c for c in blocking if c[1].kind == kind], functions, spans, of_kind)
        if of_kind:
            _through_helpers(functions, of_kind, readings)
        for key, effect in of_kind.items():
            if key in first:
                found.setdefault(key, {})[kind] = effect
    return found


@lru_cache(maxsize=8192)
def _classify(module: str, function: str) -> Blocking | None:
    found = blocking_call(module, function)
    if found is None and acts_outside(module, function):
        return Blocking(f"{module}.{function}", OUTSIDE)
    return found


def _direct(
    calls: list[tuple[Node, Blocking]],
    functions: Functions,
    spans: list[tuple[int, int, tuple[str, str]]],
    effects: dict[tuple[str, str], Reaching],
) -> None:
    """Record the first of ``calls`` in each function that has no effect yet, conditional
    while every one of them the function makes is in a branch."""
    starts = [start for start, _end, _key in spans]
    recorded = set(effects)
    for call, found in calls:
        index = bisect.bisect_right(starts, call.start_byte) - 1
        if index < 0 or spans[index][1] < call.end_byte:
            continue
        start, _end, key = spans[index]
        if key in recorded or (key in effects and not effects[key][2]):
            continue
        definition = next(n for n in functions[key].nodes if n.start_byte == start)
        if deferred(call, definition):
            continue
        branch = in_branch(call, definition)
        if key in effects:  # the first was in a branch: this one may not be
            if not branch:
                effects[key] = (effects[key][0], (), False)
        else:
            effects[key] = (found, (), branch)


Functions = dict[tuple[str, str], "_Function"]
"""A file's functions by module and name."""


def functions_of(
    definitions: Iterable[tuple[Node, str]], module_of: Callable[[int], str | None]
) -> Functions:
    """A file's functions, from its ``def``/``defp`` nodes (with their keyword);
    ``module_of(byte)`` names the module around a position."""
    found: Functions = {}
    for node, keyword in definitions:
        name = clauses.name(node)
        module = module_of(node.start_byte)
        if not name or module is None:
            continue
        key = (module, name)
        entry = found.get(key)
        if entry is None:
            entry = found[key] = _Function(module, name, keyword == "def", [])
        entry.nodes.append(node)
    return found


_NAMES = re.compile(r"(?<![\w.:@])([a-z_][\w]*[?!]?)[(\s]")
"""Words followed by a parenthesis or a space: what may be a local call."""


class _Readings:
    """What `_through_helpers` reads of each function (the words of its text, the local
    calls it makes now), read once for all its calls: the first blocking call, then one
    more call per kind of blocking."""

    def __init__(self) -> None:
        self.words: dict[tuple[str, str], set[str]] = {}
        self.local_calls: dict[tuple[str, str], set[str]] = {}


def _through_helpers(
    functions: Functions,
    blocks: dict[tuple[str, str], Reaching],
    readings: _Readings,
) -> None:
    """Add the functions that block because they call a blocking function of their module
    (``HELPER_DEPTH`` rounds). Names found in the text are confirmed on the tree."""
    words, local_calls = readings.words, readings.local_calls
    for _round in range(HELPER_DEPTH):
        by_module: dict[str, set[str]] = {}
        for module, name in blocks:
            by_module.setdefault(module, set()).add(name)
        added = {}
        for key, function in functions.items():
            if key in blocks or key[0] not in by_module:
                continue
            if key not in words:
                words[key] = set().union(*map(_NAMES.findall, function.texts))
            if not words[key] & by_module[key[0]]:
                continue
            if key not in local_calls:
                local_calls[key] = _local_calls(function.nodes)
            for name in sorted(local_calls[key] & by_module[key[0]]):
                found, via, branch = blocks[(key[0], name)]
                branch = branch or _called_in_branches_only(function.nodes, name)
                added[key] = (found, (name, *via), branch)
                break
        if not added:
            return
        blocks.update(added)


def _called_in_branches_only(nodes: list[Node], name: str) -> bool:
    """Every call the clauses make now to the local function ``name`` is in a branch."""
    for node in nodes:
        body = syntax.body_of(node)
        for captures in matches(syntax.LOCAL_CALLS, body) if body is not None else []:
            call = captures["call"][0]
            if syntax.text(captures["function"][0]) != name or deferred(call, node):
                continue
            if not in_branch(call, node):
                return False
    return True


def _local_calls(nodes: list[Node]) -> set[str]:
    """Names of the local functions the clauses call, now (not in an ``fn`` run later)."""
    names = set()
    for node in nodes:
        body = syntax.body_of(node)
        for captures in matches(syntax.LOCAL_CALLS, body) if body is not None else []:
            if not deferred(captures["call"][0], node):
                names.add(syntax.text(captures["function"][0]))
    return names


# -- per-file summary: which project functions each public function calls -------------------

CALLS_KEPT = 24
"""At most this many distinct calls to other modules are kept per public function: enough to
follow a chain, few enough to keep summaries small."""


@dataclass(frozen=True, slots=True)
class FunctionCall:
    """``module.function/arity`` calls ``target.target_function`` (a module written as an
    alias that is not the standard library's: one of the project's, or a dependency's), now,
    through the functions of its module in ``via`` (outermost first; empty when the call is
    in its body)."""

    module: str
    function: str
    arity: int
    target: str
    target_function: str
    via: tuple[str, ...] = ()
    conditional: bool = False
    """Every such call (in the function at the end of ``via``) is in a branch of an ``if``,
    ``case``…: made in some runs only."""

    @property
    def label(self) -> str:
        return f"{self.module}.{self.function}/{self.arity}"


ProjectCall = tuple[Node, str, str]
"""A call to another module: the call, the module's full name, the function."""
Delegation = tuple[str, str, int, str, str]
"""``defdelegate``: the module, the function, its arity, the target module and function."""


def function_calls(
    functions: Functions,
    project_calls: Iterable[ProjectCall],
    delegations: Iterable[Delegation],
) -> tuple[FunctionCall, ...]:
    """The calls each public function of a file makes to other modules now (not in an ``fn``
    run later or elsewhere), directly or through other functions of its module
    (``HELPER_DEPTH`` deep), first the direct ones in source order; and each ``defdelegate``'s
    call to its target. The project index follows these from module to module."""
    found = [
        FunctionCall(module, name, arity, target, function)
        for module, name, arity, target, function in delegations
    ]
    calls = sorted(project_calls, key=lambda c: c[0].start_byte)
    if not calls or not functions:
        return tuple(found)
    where = _Where(functions)
    direct: dict[tuple[str, str], list[tuple[str, str]]] = {}
    always: set[tuple[tuple[str, str], str, str]] = set()
    for call, target, function in calls:
        inside = where(call)
        if inside is None:
            continue
        if (target, function) not in direct.get(inside, []):
            direct.setdefault(inside, []).append((target, function))
        if (inside, target, function) not in always and not in_branch(call, where.node(call)):
            always.add((inside, target, function))
    if not direct:
        return tuple(found)
    callees = _callees(functions, where, set(direct))
    hops: dict[tuple[tuple[str, str], str], bool] = {}
    for key, f in functions.items():
        if not f.public:
            continue
        kept: dict[tuple[str, str], FunctionCall] = {}
        for target, function, via in _collect(key, direct, callees, 0):
            if len(kept) >= CALLS_KEPT:
                break
            if (target, function) not in kept:
                caller = (key[0], via[-1]) if via else key
                branch = (caller, target, function) not in always or _hop_in_branch(
                    functions, key, via, hops
                )
                kept[(target, function)] = FunctionCall(
                    f.module, f.name, f.arity, target, function, via, branch
                )
        found.extend(kept.values())
    return tuple(found)


def _hop_in_branch(
    functions: Functions,
    key: tuple[str, str],
    via: tuple[str, ...],
    known: dict[tuple[tuple[str, str], str], bool],
) -> bool:
    """A step of the way ``key`` reaches a call through helpers of its module (``via``) is
    made in branches only (each step's answer kept in ``known``)."""
    names = (key[1], *via)
    for caller, callee in zip(names, names[1:], strict=False):
        step = ((key[0], caller), callee)
        if step not in known:
            function = functions.get(step[0])
            known[step] = function is not None and _called_in_branches_only(function.nodes, callee)
        if known[step]:
            return True
    return False


class _Where:
    """The function a call is made in, now (None when it is in no function or in an ``fn``
    that runs later)."""

    def __init__(self, functions: Functions) -> None:
        self.functions = functions
        self.spans = sorted(
            (node.start_byte, node.end_byte, key)
            for key, f in functions.items()
            for node in f.nodes
        )
        self.starts = [start for start, _end, _key in self.spans]
        self.plain: dict[int, bool] = {}

    def holder(self, at: int) -> tuple[str, str] | None:
        """The function whose text holds byte ``at``."""
        index = bisect.bisect_right(self.starts, at) - 1
        return self.spans[index][2] if index >= 0 and at < self.spans[index][1] else None

    def node(self, call: Node) -> Node:
        """The clause (``def`` node) holding ``call`` (one `__call__` found)."""
        start, _end, key = self.spans[bisect.bisect_right(self.starts, call.start_byte) - 1]
        return next(n for n in self.functions[key].nodes if n.start_byte == start)

    def __call__(self, call: Node) -> tuple[str, str] | None:
        index = bisect.bisect_right(self.starts, call.start_byte) - 1
        if index < 0 or self.spans[index][1] < call.end_byte:
            return None
        start, _end, key = self.spans[index]
        definition = next(n for n in self.functions[key].nodes if n.start_byte == start)
        if start not in self.plain:  # no fn and no capture: nothing in it runs later
            text = syntax.text(definition)
            self.plain[start] = "fn" not in text and "&" not in text
        return key if self.plain[start] or not deferred(call, definition) else None


def _callees(
    functions: Functions, where: _Where, reaching: set[tuple[str, str]]
) -> dict[tuple[str, str], list[str]]:
    """For each function that may reach one of ``reaching`` through functions of its module
    (``HELPER_DEPTH`` calls deep), those functions it calls now, in the order it first calls
    them. A name is looked for in the file's bytes, then confirmed on the tree."""
    root = next(iter(functions.values())).nodes[0]
    while root.parent is not None:
        root = root.parent
    data = root.text or b""
    found: dict[tuple[str, str], list[str]] = {}
    reached = set(reaching)
    searched: set[str] = set()
    for _round in range(HELPER_DEPTH):
        names = {name for _module, name in reached} - searched
        if not names:
            break
        searched |= names
        added = set()
        for at, name in words_at(data, names):
            call = local_call_at(root, at, at + len(name.encode()))
            key = where(call) if call is not None else None
            if key is None or name == key[1] or (key[0], name) not in reached:
                continue
            if key not in reached:
                added.add(key)
            known = found.setdefault(key, [])
            if name not in known:
                known.append(name)
        reached |= added
    return found


_WORD = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_?!.:@")


def words_at(data: bytes, names: set[str]) -> list[tuple[int, str]]:
    """Where each of ``names`` is written as a word followed by a parenthesis or a space
    (what may be a local call), in source order."""
    found = []
    for name in names:
        word = name.encode()
        at = data.find(word)
        while at >= 0:
            end = at + len(word)
            before = data[at - 1] if at > 0 else 0
            if before not in _WORD and data[end : end + 1] in (b"(", b" "):
                found.append((at, name))
            at = data.find(word, end)
    return sorted(found)


def local_call_at(root: Node, start: int, end: int) -> Node | None:
    """The local call whose name is written at ``start``-``end``, if it is one (and not a
    function's head)."""
    name = root.descendant_for_byte_range(start, end)
    call = name.parent if name is not None and name.type == "identifier" else None
    if call is None or call.type != "call" or call.child_by_field_name("target") != name:
        return None
    return None if clauses.is_head(call) else call


def _collect(
    key: tuple[str, str],
    direct: dict[tuple[str, str], list[tuple[str, str]]],
    callees: dict[tuple[str, str], list[str]],
    depth: int,
) -> Iterator[tuple[str, str, tuple[str, ...]]]:
    for target, function in direct.get(key, []):
        yield target, function, ()
    if depth >= HELPER_DEPTH:
        return
    for callee in callees.get(key, []):
        for target, function, via in _collect((key[0], callee), direct, callees, depth + 1):
            yield target, function, (callee, *via)
