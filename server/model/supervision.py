"""Supervision facts of one file: every supervisor's children, and the process names it starts.

Children are read in every spelling Elixir accepts: a module, ``{Mod, arg}``,
``Mod.child_spec(..)``, ``Supervisor.child_spec(.., id: .., restart: ..)``, a map
``%{id:, start: {M, :start_link, args}}`` (positional ``Registry.start_link(:unique, Name)``
arguments included), lists built by a local function or joined with ``++``, lists chosen in an
``if``/``case``. What cannot be read statically is said so (``Child.kind == UNKNOWN``,
``ChildrenList.complete`` False, a ``NameStart`` whose ``name`` is None), so that a rule can
stay silent and a fix can decline rather than guess.

Names started are collected from the whole file, not only from children lists: any ``name:``
option (a wrapper's ``child_spec/1`` giving ``name: __MODULE__``, a ``start_link`` helper, a
test's ``start_supervised!``), positional ``Registry.start_link(:unique, Name)``, ``:pg``
scopes. Each is tagged with the kind of process it names when the surrounding code says so
(``{Task.Supervisor, name: X}``, ``Registry.child_spec(keys: :duplicate, name: X)``).

Facts are plain data (offsets, strings) so the project index can keep them for closed files.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace

from tree_sitter import Node

from otp_thinking import syntax
from otp_thinking.model import calls, clauses
from otp_thinking.parsing import compile_query

TASK_SUPERVISOR, REGISTRY, PG = "task_supervisor", "registry", "pg"
TASK_PARTITIONS = "task_partitions"
"""A PartitionSupervisor of Task.Supervisors (``{PartitionSupervisor, child_spec:
Task.Supervisor, name: X}``): tasks go to ``{:via, PartitionSupervisor, {X, key}}``, never to
``X`` itself."""
OTHER, UNKNOWN = "other", "unknown"
"""A child or name of another kind of process; an entry that cannot be read statically."""

KIND_OF_MODULE = {"Task.Supervisor": TASK_SUPERVISOR, "Registry": REGISTRY, ":pg": PG}
DEFAULT_PG_SCOPE = ":pg"

LITERAL, CONDITIONAL, COMPUTED = "literal", "conditional", "computed"
"""Where a children list sits: a list every start uses, one chosen by a branch, or no list
literal at all (built at run time)."""

_Span = Callable[[Node], "tuple[int, int]"]
Resolve = Callable[[Node | None], "str | None"]
"""The name a node stands for in its module (alias expanded, ``__MODULE__``, an attribute),
or None when it is computed at run time."""


@dataclass(frozen=True, slots=True)
class Child:
    """One entry of a children list."""

    kind: str
    """TASK_SUPERVISOR, REGISTRY, PG, OTHER, or UNKNOWN (a variable, a call we cannot read)."""
    module: str | None
    """The module started (``Task.Supervisor``, ``Shop.Repo``, ``:pg``), None when unknown."""
    name: str | None = None
    """The process name it registers, when given and readable."""
    child_id: str | None = None
    """Its child id (explicit ``id:``, else the default its child_spec gives), when known."""
    restart: str | None = None
    keys: str | None = None
    """For a Registry: ``:unique`` or ``:duplicate``."""
    start: int = 0
    end: int = 0


@dataclass(frozen=True, slots=True)
class ChildrenList:
    """The children a supervisor (or an application) starts, from one call site."""

    owner: str
    """The module whose code holds the list."""
    function: str
    """The function that starts them (``start``, ``init``)."""
    placement: str
    """LITERAL, CONDITIONAL or COMPUTED (see the constants)."""
    children: tuple[Child, ...] = ()
    complete: bool = True
    """False when more children come from something unreadable (``++ extra()``, a variable)."""
    start: int = 0
    end: int = 0
    """The span of the list literal (both 0 for COMPUTED)."""
    leading: bool = True
    """Written out where the children are put together (not a list another function returns
    and another list is joined to): where a reader looks for them, and new ones go."""
    then_calls: tuple[str, ...] = ()
    """The modules whose functions the function starting the list calls right after the start
    (``Supervisor.start_link([Cache], ..)`` then ``Cache.overview()`` in a server's
    ``init/1``): that function waits for those children's work whatever it is done in."""

    @property
    def insertable(self) -> bool:
        """A list every start of the supervisor uses, written out where a new child goes."""
        return self.placement == LITERAL and self.leading and self.end > self.start


@dataclass(frozen=True, slots=True)
class NameStart:
    """A process name the file may start. ``name`` None: one of ``kind`` whose name cannot be
    read (``name: Config.tasks()``, ``unquote(name)`` in a macro)."""

    kind: str
    name: str | None
    keys: str | None = None
    start: int = 0
    end: int = 0
    guessed: bool = False
    """A literal found inside a computed name (``Keyword.get(opts, :name, Shop.Tasks)``,
    ``Registry.via({site, TaskSupervisor})``): it may be the name, or only a part of it. Enough
    to stay silent about a name that may be started; never a name a fix may call."""
    bounded: bool = False
    """Started with ``max_children:`` (a Task.Supervisor kept as a pool of its own size):
    its ``start_child`` can return ``{:error, :max_children}``, which a bare ``Task.start``
    never does, and other work would take its places."""


@dataclass(frozen=True, slots=True)
class ModuleStart:
    """Code of ``owner`` starts a process running ``module``'s callbacks:
    ``GenServer.start_link(Mod, ..)``, ``Supervisor.start_link(Mod, ..)``. A child ``owner``
    thus runs ``module``'s ``init/1`` while it starts."""

    owner: str
    module: str
    function: str = ""
    """The function of ``owner`` whose code starts it (``start_link`` for a wrapper whose
    own start starts another module's process)."""


@dataclass(frozen=True, slots=True)
class DynamicSupervisorDef:
    """A DynamicSupervisor the file defines, or a PartitionSupervisor of DynamicSupervisors:
    where its options are written and whether they set its restart intensity."""

    how: str
    """INIT (``DynamicSupervisor.init/1`` in a module's ``init/1``), START_LINK
    (``DynamicSupervisor.start_link(opts)``), SPEC (``{DynamicSupervisor, opts}``) or
    PARTITION (``{PartitionSupervisor, child_spec: DynamicSupervisor, name: ..}``)."""
    owner: str
    """The module whose code holds it (for INIT, the supervisor's own module)."""
    names: tuple[str, ...]
    """The names it is reached by, as written (``name:``); for INIT, its module's name (the
    names the module registers under are in the project index)."""
    intensity: bool
    """Its options set ``max_restarts`` or ``max_seconds``."""
    start: int = 0
    end: int = 0


@dataclass(frozen=True, slots=True)
class DynamicStart:
    """``DynamicSupervisor.start_child(supervisor, spec)``: a child started at run time."""

    supervisor: str | None
    """The supervisor's name (for ``{:via, PartitionSupervisor, {name, key}}``, the
    partition supervisor's), None when it is computed (a parameter, a call)."""
    module: str | None
    """The module the spec starts, None when the spec cannot be read."""
    restart: str | None
    """A restart type the spec itself sets (``%{restart: ..}``, ``Supervisor.child_spec(..,
    restart: ..)``); None: the module's ``child_spec`` decides."""
    per_entity: bool
    """The spec carries a run-time value (``{Worker, tenant_id}``): one child per entity."""
    owner: str
    function: str
    """The module and function making the call (``start_tenant/1``)."""
    line: int
    """1-based line of the call, for messages in other files."""
    start: int = 0
    end: int = 0
    entities: tuple[str, ...] = ()
    """The run-time values the spec carries, as written (``tenant_id``; ``ifname``,
    ``address``), the first three: each start can make a different child."""
    keyed_by_all: bool = False
    """The values are the spec's argument itself, a tuple of variables (``{Responder,
    {ifname, address}}``): one child for each combination, not for the first value."""
    restart_default: bool = False
    """``restart`` is the default of a spec map that sets none (see `MAP_DEFAULT_RESTART`)."""
    own_spec: bool = False
    """The spec is what a hand-written ``Mod.child_spec`` of another arity than 1 returns
    (``Downloader.child_spec(id, uri, fun, retry)``): its restart type is that function's, not
    the one ``use GenServer`` gives ``child_spec/1``."""
    start_function: str | None = None
    """The function a child spec map's ``start: {Mod, :start, args}`` names (``start``); None
    for other specs (``start_link`` by convention)."""
    failure_handled: bool = False
    """The call is the subject of a ``case`` with an ``{:error, reason}`` clause (not only
    ``{:error, {:already_started, pid}}``): the code starting the child hands a failed start on
    as a value, so it relies on the child's ``init/1`` failing when its work fails."""
    entity_parameters: tuple[int, ...] = ()
    """For each of ``entities``, its position among the parameters of ``function`` (-1 when
    it is no parameter): where the callers of that function choose the value."""
    called_locally: bool = False
    """``function`` is also called from its own module, where no call site is recorded."""


@dataclass(frozen=True, slots=True)
class Supervision:
    lists: tuple[ChildrenList, ...] = ()
    names: tuple[NameStart, ...] = ()
    starts: tuple[ModuleStart, ...] = ()
    dynamic_supervisors: tuple[DynamicSupervisorDef, ...] = ()
    dynamic_starts: tuple[DynamicStart, ...] = ()
    dynamic_names: tuple[tuple[str, str], ...] = ()
    """``(module, name)`` for ``DynamicSupervisor.start_link(Module, arg, name: name)``: the
    module's supervisor runs under that name."""


EMPTY = Supervision()

QUERY = compile_query(
    """
    (pair key: (keyword) @name_key (#match? @name_key "^name:")) @start_node
    (tuple . (atom) @pg_head . (_) . (#eq? @pg_head ":pg")) @start_node
    (tuple . (_) . (atom) @start_function . (list) .
      (#match? @start_function "^:start(_link)?$")) @start_node
    (tuple . (alias) @dynamic_head . (_) .
      (#match? @dynamic_head "^(DynamicSupervisor|PartitionSupervisor)$")) @start_node
    (call target: (identifier) @spec_helper (arguments . (alias) @spec_module . (list))
      (#any-of? @spec_helper "supervisor" "worker") (#eq? @spec_module "Registry")) @start_node
    (call target: (identifier) @supervise (arguments . (_) . (_)? .)
      (#eq? @supervise "supervise")) @start_node
    """
)
"""The ``name:`` pairs and start tuples `supervision` reads (remote calls come from the
rules' shared query), and the old ``Supervisor.Spec`` helpers: ``supervise(children, opts)``
and ``supervisor(Registry, [:unique, Name])``."""

CALL_MODULES = frozenset(
    {"Supervisor", "Registry", ":pg", "GenServer", "DynamicSupervisor", "PartitionSupervisor"}
)
"""The modules whose calls `supervision` reads (by their text: the caller filters)."""

_SUPERVISOR_STARTS = frozenset({("Supervisor", "start_link"), ("Supervisor", "init")})
_MODULE_STARTS = frozenset(
    {
        ("GenServer", "start_link"),
        ("GenServer", "start"),
        ("Supervisor", "start_link"),
        ("Supervisor", "start"),
    }
)
_READ_FUNCTIONS = frozenset({"start_link", "start", "init", "start_child"})
INIT, START_LINK, SPEC, PARTITION = "init", "start_link", "spec", "partition"
INTENSITY_KEYS = frozenset({"max_restarts", "max_seconds"})
_START_FUNCTIONS = frozenset({"start_link", "child_spec", "start"})
_NIL_DROPS = {
    ("Enum", "reject"): frozenset({"&is_nil/1", "&(&1 == nil)", "&is_nil(&1)", "&(is_nil(&1))"}),
    ("Enum", "filter"): frozenset({"& &1", "&(&1)"}),
}
"""``Enum.reject(children, &is_nil/1)``: the list without the ``nil``s that stand for
children an option leaves out; every child of the list is still started."""


def supervision(
    nodes: Iterable[Node], resolve: Resolve, module_at: Callable[[int], str | None], span: _Span
) -> Supervision:
    """The children lists and names started, from the file's remote calls, ``name:`` pairs
    and start tuples (see `QUERY`), in document order."""
    reader = _Reader(resolve, module_at, span)
    for node in nodes:
        if node.type == "call":
            reader.call(node)
        elif node.type == "pair":
            reader.pair(node)
        elif node.type == "tuple":
            reader.start_tuple(node)
    return Supervision(
        tuple(reader.lists),
        tuple(dict.fromkeys(reader.names)),
        tuple(dict.fromkeys(reader.starts)),
        tuple(dict.fromkeys(reader.dynamic_supervisors)),
        tuple(reader.dynamic_starts),
        tuple(dict.fromkeys(reader.dynamic_names)),
    )


class _Reader:
    def __init__(self, resolve: Resolve, module_at: Callable[[int], str | None], span: _Span):
        self.resolve = resolve
        self.module_at = module_at
        self.span = span
        self.lists: list[ChildrenList] = []
        self.names: list[NameStart] = []
        self.starts: list[ModuleStart] = []
        self.dynamic_supervisors: list[DynamicSupervisorDef] = []
        self.dynamic_starts: list[DynamicStart] = []
        self.dynamic_names: list[tuple[str, str]] = []

    # -- names started

    def pair(self, node: Node) -> None:
        key = node.child_by_field_name("key")
        value = node.child_by_field_name("value")
        if key is None or value is None or not syntax.text(key).startswith("name:"):
            return
        if value.type == "tuple" and _items(value) and syntax.text(_items(value)[0]) == ":via":
            return  # registers in a Registry (a use of it, not a start)
        kind, keys = _context_kind(node, self.resolve)
        name = self.resolve(value)
        if name is not None:
            self.add_name(kind, name, keys, value, bounded=_beside_max_children(node))
            return
        literals = _literal_names(value, self.resolve)
        for literal in literals:  # `Keyword.get(opts, :name, Shop.Tasks)`: any may be it
            self.add_name(kind, literal, keys, value, guessed=True)
        if not literals and kind != OTHER:
            self.add_name(kind, None, keys, value)

    def add_name(
        self,
        kind: str,
        name: str | None,
        keys: str | None,
        node: Node,
        guessed: bool = False,
        bounded: bool = False,
    ) -> None:
        self.names.append(NameStart(kind, name, keys, *self.span(node), guessed, bounded))

    def start_tuple(self, node: Node) -> None:
        """``{:pg, scope}`` and ``{:pg, :start_link, [scope]}`` / ``{Registry, :start_link,
        [:unique, Name]}`` start tuples."""
        items = _items(node)
        if not items:
            return
        head = self.resolve(items[0])
        if head in ("DynamicSupervisor", "PartitionSupervisor") and len(items) == 2:
            self.dynamic_spec(node, head, items[1])
        elif head == ":pg" and len(items) == 2:
            scope = self.resolve(items[1])
            self.add_name(PG, scope, None, items[1])
        elif len(items) == 3 and syntax.text(items[1]) in (":start_link", ":start"):
            self.positional_start(head, _items(items[2]) if items[2].type == "list" else None, node)

    def positional_start(self, module: str | None, args: list[Node] | None, at: Node) -> None:
        """``:pg.start_link(scope)`` (no argument: the default scope) and
        ``Registry.start_link(:unique, Name)``; None ``args``: built at run time."""
        if module == ":pg":
            if args is None:
                self.add_name(PG, None, None, at)
            else:
                scope = self.resolve(args[0]) if args else DEFAULT_PG_SCOPE
                self.add_name(PG, scope, None, args[0] if args else at)
        elif module == "Registry" and args is not None and len(args) >= 2:
            name = self.resolve(args[1])
            keys = syntax.text(args[0])
            if args[0].type != "atom":
                return
            if name is not None:
                self.add_name(REGISTRY, name, keys, args[1])
            elif not _literal_names(args[1], self.resolve):
                self.add_name(REGISTRY, None, keys, args[1])

    def call(self, node: Node) -> None:
        target = syntax.remote_target(node)
        if target is None:
            self.spec_helper(node)
            return
        if target[1] not in _READ_FUNCTIONS:
            return
        module = self.resolve_alias(node)
        args = calls.arguments(node)
        if module == "DynamicSupervisor":
            self.dynamic_call(node, target[1], args)
            return
        if module == "PartitionSupervisor":
            if target[1] == "start_link" and len(args) == 1:
                self.partition(node, args[0])
            return
        if module in ("Registry", ":pg") and target[1] in ("start_link", "start"):
            self.positional_start(module, args if _all_plain(args) else None, node)
        if target in _SUPERVISOR_STARTS and 1 <= len(args) <= 2 and not _module(args[0]):
            self.children_list(node, args[0])
        elif target in _MODULE_STARTS and args and _module(args[0]):
            self.module_start(node, args[0])

    def spec_helper(self, call: Node) -> None:
        """``supervise(children, opts)`` of the old ``Supervisor.Spec`` (its children list),
        and ``supervisor(Registry, [:unique, Name])`` (a Registry started by name)."""
        helper = syntax.local_target(call)
        args = calls.arguments(call)
        if helper == "supervise" and 1 <= len(args) <= 2:
            self.children_list(call, args[0], insertable=False)
        elif helper in _SPEC_HELPERS and len(args) >= 2 and self.resolve(args[0]) == "Registry":
            self.positional_start(
                "Registry", _items(args[1]) if args[1].type == "list" else None, call
            )

    def module_start(self, call: Node, started: Node) -> None:
        """``GenServer.start_link(Other, ..)`` in ``Owner``: starting ``Owner`` runs
        ``Other.init/1`` (a module starting itself says nothing new)."""
        owner = self.module_at(call.start_byte)
        module = self.resolve(started)
        if owner and module and module != owner:
            definition = syntax.enclosing_definition(call)
            function = clauses.name(definition) if definition is not None else ""
            self.starts.append(ModuleStart(owner, module, function))

    def resolve_alias(self, call: Node) -> str | None:
        function = call.child_by_field_name("target")
        left = function.child_by_field_name("left") if function is not None else None
        return self.resolve(left) if left is not None else None

    # -- dynamic supervisors and the children they start at run time

    def dynamic_call(self, call: Node, function: str, args: list[Node]) -> None:
        """``DynamicSupervisor.init(opts)`` in a module's ``init/1``,
        ``DynamicSupervisor.start_link(opts)`` and ``DynamicSupervisor.start_child(sup, spec)``."""
        owner = self.module_at(call.start_byte) or ""
        if function == "start_child" and len(args) == 2:
            self.dynamic_start(call, owner, args[0], args[1])
        elif function == "init" and len(args) == 1 and owner and not calls.in_pipeline(call):
            options = _literal_options(args[0])
            if options is not None:
                self.add_dynamic(INIT, owner, (owner,), options, call)
        elif function == "start_link" and len(args) == 1 and not calls.in_pipeline(call):
            options = _literal_options(args[0])
            if options is not None:
                self.add_dynamic(START_LINK, owner, self.names_in(options), options, call)
        elif function == "start_link" and len(args) == 3 and _module(args[0]):
            module, options = self.resolve(args[0]), _literal_options(args[2])
            if module is not None and options is not None:
                self.dynamic_names.extend((module, name) for name in self.names_in(options))

    def dynamic_spec(self, node: Node, head: str, options_node: Node) -> None:
        """``{DynamicSupervisor, opts}`` and ``{PartitionSupervisor, opts}``."""
        options = _literal_options(options_node)
        owner = self.module_at(node.start_byte) or ""
        if options is None:
            return
        if head == "DynamicSupervisor":
            self.add_dynamic(SPEC, owner, self.names_in(options), options, node)
        else:
            self.partition(node, options_node)

    def partition(self, at: Node, options_node: Node) -> None:
        """A PartitionSupervisor whose partitions are DynamicSupervisors (``child_spec:
        DynamicSupervisor`` or ``{DynamicSupervisor, opts}``)."""
        options = _literal_options(options_node)
        if options is None or "child_spec" not in options:
            return
        head, spec_options = _partition_spec(options["child_spec"])
        inner = _literal_options(spec_options) if spec_options is not None else {}
        if self.resolve(head) != "DynamicSupervisor" or inner is None:
            return
        owner = self.module_at(at.start_byte) or ""
        names = self.names_in(options)
        self.add_dynamic(PARTITION, owner, names, inner, at)

    def names_in(self, options: dict[str, Node]) -> tuple[str, ...]:
        name = self.resolve(options.get("name")) if "name" in options else None
        return (name,) if name is not None else ()

    def add_dynamic(
        self, how: str, owner: str, names: tuple[str, ...], options: dict[str, Node], at: Node
    ) -> None:
        intensity = bool(INTENSITY_KEYS & options.keys())
        self.dynamic_supervisors.append(
            DynamicSupervisorDef(how, owner, names, intensity, *self.span(at))
        )

    def dynamic_start(self, call: Node, owner: str, supervisor: Node, spec: Node) -> None:
        if spec.type == "identifier":
            spec = syntax.local_binding(call, syntax.text(spec)) or spec
        child = self.child(spec) if spec.type != "identifier" else None
        explicit = spec.type == "map" or (
            spec.type == "call" and syntax.remote_target(spec) == ("Supervisor", "child_spec")
        )
        definition = syntax.enclosing_definition(call)
        head = clauses.head(definition) if definition is not None else None
        entities = _run_time_values(spec) if child is not None else ()
        argument = _items(spec)[1] if spec.type == "tuple" and len(_items(spec)) == 2 else None
        keyed_by_all = (
            argument is not None
            and argument.type == "tuple"
            and 1 < len(entities) == len(_items(argument))
            and all(item.type == "identifier" for item in _items(argument))
        )
        self.dynamic_starts.append(
            DynamicStart(
                supervisor=self.supervisor_name(supervisor),
                module=child.module if child is not None else None,
                restart=_spec_restart(spec, child) if child is not None and explicit else None,
                per_entity=child is not None and bool(entities),
                entities=entities,
                keyed_by_all=keyed_by_all,
                restart_default=spec.type == "map" and child is not None and child.restart is None,
                own_spec=_own_spec(spec),
                start_function=_start_function(spec),
                failure_handled=_failure_handled(call),
                entity_parameters=_parameter_positions(head.params if head else [], entities),
                called_locally=head is not None and _called_locally(call, head.name),
                owner=owner,
                function=f"{head.name}/{head.arity}" if head is not None else "",
                line=call.start_point.row + 1,
                start=self.span(call)[0],
                end=self.span(call)[1],
            )
        )

    def supervisor_name(self, node: Node) -> str | None:
        """The name ``node`` reaches a supervisor by; for ``{:via, PartitionSupervisor, {name,
        key}}`` the partition supervisor's name."""
        items = _items(node) if node.type == "tuple" else []
        if len(items) == 3 and syntax.text(items[0]) == ":via":
            if self.resolve(items[1]) != "PartitionSupervisor" or items[2].type != "tuple":
                return None
            inner = _items(items[2])
            return self.resolve(inner[0]) if inner else None
        return self.resolve(node)

    # -- children lists

    def children_list(self, call: Node, children: Node, insertable: bool = True) -> None:
        """The children lists ``call`` starts; ``insertable`` False: a list no fix may add a
        child to (``supervise/2`` of ``Supervisor.Spec`` takes only the old six-element
        specs, and would reject ``{Task.Supervisor, name: ..}``)."""
        definition = syntax.enclosing_definition(call)
        owner = self.module_at(call.start_byte) or ""
        function = clauses.name(definition) if definition is not None else ""
        branched = definition is not None and _one_of_branched_starts(call, definition)
        found = list(self.lists_of(children, definition, owner, branched, 0))
        if not found:
            found = [ChildrenList(owner, function, COMPUTED, complete=False)]
        spans: set[tuple[int, int]] = set()
        then = self.called_after(call, definition)
        for part in found:  # `children = if .., do: children ++ [..], else: children`
            if part.end == 0 or (part.start, part.end) not in spans:
                spans.add((part.start, part.end))
                part = part if insertable else _not_insertable(part)
                self.lists.append(replace(part, function=function, then_calls=then))

    def called_after(self, call: Node, definition: Node | None) -> tuple[str, ...]:
        """The modules the statements of ``definition`` after the one holding ``call`` call
        (not in an ``fn``: that may run later)."""
        statements = syntax.body_statements(definition) if definition is not None else []
        later = [s for s in statements if s.start_byte >= call.end_byte]
        found: set[str] = set()
        for statement in later:
            for node in syntax.descendants(statement):
                if node.type != "call" or syntax.in_fn_within(node, statement):
                    continue
                target = node.child_by_field_name("target")
                left = target.child_by_field_name("left") if target is not None else None
                if target is not None and target.type == "dot" and left is not None:
                    module = self.resolve(left) if left.type == "alias" else None
                    if module is not None:
                        found.add(module)
        return tuple(sorted(found))

    def lists_of(
        self, node: Node, definition: Node | None, owner: str, branched: bool, depth: int
    ) -> Iterator[ChildrenList]:
        """The children lists an expression stands for: a list literal, ``list ++ more``, a
        variable assigned in the same function, a call to a local function of the module,
        the branches of an ``if``/``case``."""
        if depth > 4:
            return
        placement = CONDITIONAL if branched else LITERAL
        if node.type == "list":
            children = tuple(self.child(item) for item in _items(node))
            complete = all(c.kind != UNKNOWN for c in children)
            yield ChildrenList(owner, "", placement, children, complete, *self.span(node))
        elif node.type == "binary_operator" and syntax.operator(node) == "++":
            left, right = node.child_by_field_name("left"), node.child_by_field_name("right")
            for side, is_left in ((left, True), (right, False)):
                if side is None:
                    continue
                parts = list(self.lists_of(side, definition, owner, branched, depth + 1))
                if not parts:
                    yield ChildrenList(owner, "", COMPUTED, complete=False)
                for part in parts:  # only a leading list written here takes new children
                    written = side.type == "list" or side.type == "binary_operator"
                    yield part if is_left and written else _not_insertable(part)
        elif node.type == "identifier" and definition is not None:
            yield from self.assigned(node, definition, owner, branched, depth)
        elif (kept := _nils_dropped_from(node)) is not None:
            yield from self.lists_of(kept, definition, owner, branched, depth + 1)
        elif (piped := _piped_into_local(node)) is not None:
            yield from self.piped_into(*piped, definition, owner, branched, depth)
        elif node.type == "call" and syntax.local_target(node) in syntax.CONDITIONALS:
            for tail in syntax.tail_expressions(node):
                if tail is not node:
                    yield from self.lists_of(tail, definition, owner, True, depth + 1)
        elif node.type == "call" and syntax.remote_target(node) is None:
            yield from self.local_function(node, owner, branched, depth)
        else:
            yield ChildrenList(owner, "", COMPUTED, complete=False)

    def assigned(
        self, variable: Node, definition: Node, owner: str, branched: bool, depth: int
    ) -> Iterator[ChildrenList]:
        """The values assigned to ``variable`` in ``definition`` before it is used; an
        assignment inside a branch (or the value of a branch) is conditional."""
        name = syntax.text(variable)
        found = False
        for node in syntax.descendants(definition):
            if node.start_byte >= variable.start_byte:
                break
            if node.type != "binary_operator" or syntax.operator(node) != "=":
                continue
            left, right = node.child_by_field_name("left"), node.child_by_field_name("right")
            if left is None or right is None or syntax.text(left) != name:
                continue
            found = True
            inside = branched or _inside_branch(node, definition)
            for part in self.lists_of(right, definition, owner, inside, depth + 1):
                if part.placement == COMPUTED and _refers_to(right, name):
                    continue  # `children = children ++ [...]`: the earlier value, read already
                yield part
        if not found:
            yield ChildrenList(owner, "", COMPUTED, complete=False)

    def piped_into(
        self,
        given: Node,
        call: Node,
        definition: Node | None,
        owner: str,
        branched: bool,
        depth: int,
    ) -> Iterator[ChildrenList]:
        """``children |> add_web(config)``: a local function whose every clause returns the
        list it is given, alone or with more joined after it (``children ++ [Web]``). The
        given list starts on every boot that starts any, and stays where new children go;
        the joined ones start in some."""
        name = syntax.local_target(call)
        module = syntax.enclosing_module(call)
        arity = len(syntax.argument_nodes(call)) + 1
        defined = clauses.of_module(module, name, arity) if module is not None and name else []
        joined = [_joined_after_given(clause) for clause in defined]
        if not defined or any(extra is None for extra in joined):
            yield ChildrenList(owner, "", COMPUTED, complete=False)
            return
        yield from self.lists_of(given, definition, owner, branched, depth + 1)
        for clause, extras in zip(defined, joined, strict=True):
            for extra in extras or ():
                for part in self.lists_of(extra, clause, owner, True, depth + 1):
                    yield _not_insertable(part)

    def local_function(
        self, call: Node, owner: str, branched: bool, depth: int
    ) -> Iterator[ChildrenList]:
        name = syntax.local_target(call)
        module = syntax.enclosing_module(call)
        defined = clauses.of_module(module, name) if module is not None and name else []
        if not defined:
            yield ChildrenList(owner, "", COMPUTED, complete=False)
            return
        several = len(defined) > 1
        for clause in defined:
            tails = syntax.tail_expressions(syntax.body_of(clause))
            for tail in tails:
                conditional = branched or several or len(tails) > 1
                yield from self.lists_of(tail, clause, owner, conditional, depth + 1)

    # -- one child

    def child(self, item: Node) -> Child:
        span = self.span(item)
        if item.type == "alias":
            module = self.resolve(item)
            return _child_of(module, {}, span)
        if item.type == "tuple":
            return self.tuple_child(item, span)
        if item.type == "map":
            return self.map_child(item, span)
        if item.type == "call":
            return self.call_child(item, span)
        return Child(UNKNOWN, None, start=span[0], end=span[1])

    def tuple_child(self, item: Node, span: tuple[int, int]) -> Child:
        items = _items(item)
        if not items:
            return Child(UNKNOWN, None, start=span[0], end=span[1])
        module = self.resolve(items[0])
        if module == ":pg" and len(items) == 2:
            scope = self.resolve(items[1])
            return Child(PG, ":pg", scope, scope, start=span[0], end=span[1])
        options = self.options(item)
        if len(items) == 2 and items[1].type == "list":
            options.update(self.options(items[1]))
        if module == "PartitionSupervisor" and _partitions_tasks(items[1:], self.resolve):
            name = options.get("name")
            return Child(TASK_PARTITIONS, module, name, name or module, start=span[0], end=span[1])
        return _child_of(module, options, span)

    def spec_options(self, args: list[Node]) -> dict[str, str | None]:
        """The options of ``worker(Mod, [opts], spec_opts)``: its arguments' first element,
        when that is a keyword list (``keys:`` and ``name:`` of ``supervisor(Registry, [:unique,
        Name])``, the positional form), then the ``id:`` and ``restart:`` the spec sets."""
        started_with = _items(args[1]) if len(args) > 1 and args[1].type == "list" else []
        first = started_with[0] if started_with else None
        options: dict[str, str | None] = {}
        if first is not None and first.type == "list":
            options = self.options(first)
        elif self.resolve(args[0]) == "Registry" and len(started_with) >= 2 and _is_atom(first):
            options = {"keys": syntax.text(first), "name": self.resolve(started_with[1])}
        spec = self.options(args[2]) if len(args) > 2 else {}
        options.update((key, spec[key]) for key in ("id", "restart") if key in spec)
        return options

    def options(self, node: Node | None) -> dict[str, str | None]:
        return {key: self.resolve(value) for key, value in syntax.keyword_pairs(node)}

    def map_child(self, item: Node, span: tuple[int, int]) -> Child:
        content = next((c for c in item.named_children if c.type == "map_content"), None)
        pairs = dict(syntax.keyword_pairs(content))
        start = pairs.get("start")
        start_items = _items(start) if start is not None and start.type == "tuple" else []
        child_id = self.resolve(pairs.get("id"))
        restart = self.resolve(pairs.get("restart"))
        if len(start_items) != 3:
            return Child(UNKNOWN, None, None, child_id, restart, start=span[0], end=span[1])
        module = self.resolve(start_items[0])
        args = _items(start_items[2]) if start_items[2].type == "list" else None
        options: dict[str, str | None] = {}
        kind = KIND_OF_MODULE.get(module or "", OTHER if module else UNKNOWN)
        name: str | None = None
        if kind == PG and args is not None:
            name = self.resolve(args[0]) if args else DEFAULT_PG_SCOPE
        elif kind == REGISTRY and args and args[0].type == "atom" and len(args) >= 2:
            name, options["keys"] = self.resolve(args[1]), syntax.text(args[0])
        elif args and args[0].type in ("list", "keywords"):
            options = self.options(args[0])
            name = options.get("name")
        return Child(kind, module, name, child_id, restart, options.get("keys"), span[0], span[1])

    def call_child(self, item: Node, span: tuple[int, int]) -> Child:
        """``Supervisor.child_spec(inner, id: .., restart: ..)``, ``Mod.child_spec(arg)``, and
        ``worker(Mod, args)``/``supervisor(Mod, args)`` of the old ``Supervisor.Spec``."""
        target = syntax.remote_target(item)
        args = syntax.argument_nodes(item)
        if target == ("Supervisor", "child_spec") and args:
            inner = self.child(args[0])
            overrides = self.options(args[1]) if len(args) > 1 else {}
            return Child(
                inner.kind,
                inner.module,
                inner.name,
                overrides.get("id", inner.child_id),
                overrides.get("restart", inner.restart),
                inner.keys,
                *span,
            )
        if target is not None and target[1] == "child_spec":
            module = self.resolve_alias(item)
            options = self.options(args[0]) if args else {}
            return _child_of(module, options, span)
        if args and _spec_helper(target, item, self.resolve_alias):
            return _child_of(self.resolve(args[0]), self.spec_options(args), span)
        return Child(UNKNOWN, None, start=span[0], end=span[1])


_SPEC_HELPERS = frozenset({"worker", "supervisor"})
"""``worker(Mod, args)``/``supervisor(Mod, args)`` of the old ``Supervisor.Spec``: ``Mod``
is started with ``args`` (``supervisor(Task.Supervisor, [[name: X]])``)."""


def _start_function(spec: Node) -> str | None:
    """``start`` of a spec map's ``start: {Mod, :start, [..]}``."""
    if spec.type != "map":
        return None
    content = next((c for c in spec.named_children if c.type == "map_content"), None)
    start = dict(syntax.keyword_pairs(content)).get("start")
    items = _items(start) if start is not None and start.type == "tuple" else []
    if len(items) != 3 or items[1].type != "atom":
        return None
    return syntax.text(items[1]).lstrip(":")


def _own_spec(spec: Node) -> bool:
    """``Mod.child_spec(a, b, ..)``: a child spec function of the module's own, of another
    arity than the ``child_spec/1`` every ``use GenServer`` defines."""
    target = syntax.remote_target(spec) if spec.type == "call" else None
    return (
        target is not None
        and target[1] == "child_spec"
        and target[0] != "Supervisor"
        and len(syntax.argument_nodes(spec)) != 1
    )


def _spec_helper(
    target: tuple[str, str] | None, call: Node, resolve_alias: Callable[[Node], str | None]
) -> bool:
    """``worker(..)`` imported from ``Supervisor.Spec``, or called on it by its full name or an
    alias (``Spec.worker(..)`` after ``alias Supervisor.Spec``)."""
    if target is None:
        return syntax.local_target(call) in _SPEC_HELPERS
    return target[1] in _SPEC_HELPERS and resolve_alias(call) == "Supervisor.Spec"


def _beside_max_children(pair: Node) -> bool:
    """``name: ..`` written next to ``max_children: ..`` in the same options."""
    options = syntax.parent(pair)
    return options is not None and any(
        key == "max_children" for key, _value in syntax.keyword_pairs(options)
    )


def _child_of(module: str | None, options: dict[str, str | None], span: tuple[int, int]) -> Child:
    """A child started by ``module`` with these options: the id its own ``child_spec`` gives
    (Task.Supervisor and Registry use their name)."""
    if module is None:
        return Child(UNKNOWN, None, start=span[0], end=span[1])
    kind = KIND_OF_MODULE.get(module, OTHER)
    name = options.get("name")
    child_id = options.get("id") or (name if kind in (TASK_SUPERVISOR, REGISTRY) else None)
    return Child(
        kind,
        module,
        name,
        child_id or module,
        options.get("restart"),
        options.get("keys"),
        span[0],
        span[1],
    )


def _literal_options(node: Node) -> dict[str, Node] | None:
    """The pairs of bare keywords or a keyword-list literal (``[]`` gives none); None for
    options held in a variable or built at run time."""
    if node.type == "keywords":
        return dict(syntax.keyword_pairs(node))
    if node.type == "list":
        items = _items(node)
        if not items:
            return {}
        if len(items) == 1 and items[0].type == "keywords":
            return dict(syntax.keyword_pairs(items[0]))
    return None


MAP_DEFAULT_RESTART = ":permanent"
"""The restart type of a child spec map without ``:restart`` (the module's own
``child_spec/1`` is not asked then)."""


def _spec_restart(spec: Node, child: Child) -> str | None:
    """The restart type a spec given to ``start_child`` sets itself: its ``:restart``, or for
    a map without one the default every child spec map gets."""
    if child.restart is None and spec.type == "map":
        return MAP_DEFAULT_RESTART
    return child.restart


def _parameter_positions(params: list[Node], values: tuple[str, ...]) -> tuple[int, ...]:
    """Where each value is among the parameters (``id`` of ``start(id, opts \\\\ [])`` is 0),
    -1 for a value that is no parameter."""
    names = []
    for param in params:
        if param.type == "binary_operator" and syntax.operator(param) == "\\\\":
            param = param.child_by_field_name("left") or param
        names.append(syntax.text(param) if param.type == "identifier" else None)
    return tuple(names.index(value) if value in names else -1 for value in values)


def _called_locally(call: Node, function: str) -> bool:
    """The module holding ``call`` calls ``function`` itself (``start_room(id)`` or
    ``__MODULE__.start_room(id)``)."""
    module = syntax.enclosing_module(call)
    if module is None:
        return False
    if f"__MODULE__.{function}(" in syntax.text(module):
        return True
    return any(
        syntax.text(found["function"][0]) == function and not _defines(found["call"][0])
        for found in syntax.matches(syntax.LOCAL_CALLS, module)
    )


def _defines(call: Node) -> bool:
    """``call`` is the head of a ``def`` (``def start_room(id)``, also before ``when``)."""
    definition = syntax.enclosing_definition(call)
    heads = syntax.argument_nodes(definition)[:1] if definition is not None else []
    head = heads[0] if heads else None
    if head is not None and head.type == "binary_operator" and syntax.operator(head) == "when":
        head = head.child_by_field_name("left")
    return head == call


def _run_time_values(spec: Node) -> tuple[str, ...]:
    """The variables and calls' results the spec holds, as written (``tenant`` in ``{Worker,
    tenant}``, ``id`` in ``{Worker, id: id}``, ``ifname`` and ``address`` in ``{Responder,
    {ifname, address}}``), the first three: each start can make a different child, one for
    each value; none when the spec holds none."""
    values: list[str] = []
    taken_until = -1  # a call's arguments belong to the call's result, taken whole
    for node in (spec, *syntax.descendants(spec)):
        if node.start_byte < taken_until or node.type != "identifier":
            continue
        parent = node.parent
        if syntax.text(node) == "__MODULE__" or (parent is not None and parent.type == "dot"):
            continue  # `Mod.fun` target
        if (
            parent is not None
            and parent.type == "call"
            and parent.child_by_field_name("target") == node
        ):
            value, taken_until = syntax.text(parent), parent.end_byte
        else:
            value = syntax.text(node)
        if value not in values:
            values.append(value)
    return tuple(values[:3])


def _nils_dropped_from(node: Node) -> Node | None:
    """The list ``Enum.reject(list, &is_nil/1)`` (or ``list |> Enum.reject(&is_nil/1)``,
    ``Enum.filter(list, & &1)``) leaves the ``nil``s out of."""
    if syntax.is_pipe(node):
        right = node.child_by_field_name("right")
        args = syntax.argument_nodes(right) if right is not None and right.type == "call" else []
        if right is None or right.type != "call" or len(args) != 1:
            return None
        target, listed, test = right, node.child_by_field_name("left"), args[0]
    elif node.type == "call":
        args = syntax.argument_nodes(node)
        if len(args) != 2:
            return None
        target, listed, test = node, args[0], args[1]
    else:
        return None
    tests = _NIL_DROPS.get(syntax.remote_target(target) or ("", ""))
    if tests is None or " ".join(syntax.text(test).split()) not in tests:
        return None
    return listed


def _piped_into_local(node: Node) -> tuple[Node, Node] | None:
    """``given |> helper(..)``: the value piped into a local function (not a branch)."""
    if node.type != "binary_operator" or syntax.operator(node) != "|>":
        return None
    given, call = node.child_by_field_name("left"), node.child_by_field_name("right")
    if given is None or call is None or call.type != "call":
        return None
    name = syntax.local_target(call)
    local = syntax.remote_target(call) is None and name and name not in syntax.CONDITIONALS
    return (given, call) if local else None


def _joined_after_given(clause: Node) -> list[Node] | None:
    """What the clause joins after the list it is given (its first parameter): ``[]`` when
    it returns that list as it is, ``[more]`` for ``given ++ more``; None when any value it
    returns is something else (a list built anew, ``[child | given]``)."""
    head = clauses.head(clause)
    given = head[1][0] if head is not None and head[1] else None
    if given is None or given.type != "identifier":
        return None
    name = syntax.text(given)
    joined = []
    for tail in syntax.tail_expressions(syntax.body_of(clause)):
        if tail.type == "identifier" and syntax.text(tail) == name:
            continue
        left = tail.child_by_field_name("left") if tail.type == "binary_operator" else None
        right = tail.child_by_field_name("right") if left is not None else None
        if syntax.operator(tail) != "++" or right is None or syntax.text(left) != name:
            return None
        joined.append(right)
    return joined


def _not_insertable(part: ChildrenList) -> ChildrenList:
    """A list after ``++``, or one a function returns before ``++``: its children start, but a
    new child goes into a leading list written out."""
    return replace(part, leading=False)


def _is_atom(node: Node | None) -> bool:
    return node is not None and node.type == "atom"


def _failure_handled(call: Node) -> bool:
    """``case DynamicSupervisor.start_child(..) do`` with a clause for ``{:error, reason}``
    other than ``{:error, {:already_started, _}}``."""
    site = calls.site(call)
    arguments = site.parent
    case = arguments.parent if arguments is not None else None
    if case is None or case.type != "call" or syntax.local_target(case) != "case":
        return False
    if syntax.argument_nodes(case)[:1] != [site]:
        return False
    block = syntax.do_block(case)
    for clause in block.named_children if block is not None else []:
        left = clause.child_by_field_name("left") if clause.type == "stab_clause" else None
        for pattern in left.named_children if left is not None else []:
            items = _items(pattern) if pattern.type == "tuple" else []
            if len(items) == 2 and syntax.text(items[0]) == ":error":
                reason = _items(items[1]) if items[1].type == "tuple" else []
                if not reason or syntax.text(reason[0]) != ":already_started":
                    return True
    return False


def _items(node: Node) -> list[Node]:
    return [child for child in node.named_children if child.type != "comment"]


def _module(node: Node) -> bool:
    """``Supervisor.start_link(__MODULE__, arg)``: a module-based supervisor, not a list."""
    return node.type == "alias" or syntax.text(node) == "__MODULE__"


def _all_plain(args: list[Node]) -> bool:
    """Arguments written out: not a single variable or call standing for all of them."""
    return not (len(args) == 1 and args[0].type in ("identifier", "call"))


def _literal_names(value: Node, resolve: Resolve) -> list[str]:
    """Literal names inside a computed ``name:`` value."""
    found, stack = [], [value]
    while stack:
        node = stack.pop()
        if node.type in ("alias", "atom") or (
            node.type == "identifier" and syntax.text(node) == "__MODULE__"
        ):
            if node.parent is not None and node.parent.type == "dot":
                continue  # `Config.tasks()`: a module whose function gives the name
            literal = resolve(node)
            if literal is not None and literal not in (":name", ":via", ":global"):
                found.append(literal)
        else:
            stack.extend(node.named_children)
    return found


def _context_kind(pair: Node, resolve: Resolve) -> tuple[str, str | None]:
    """The kind of process a ``name:`` option names, from the code around it:
    ``{Task.Supervisor, name: X}``, ``Registry.start_link(keys: .., name: X)``,
    ``Registry.child_spec(..)``, ``{Registry, :start_link, [[name: X]]}``. Its ``keys:``
    sibling for a Registry."""
    options = pair.parent
    keys_node = dict(syntax.keyword_pairs(options)).get("keys") if options is not None else None
    keys = syntax.text(keys_node) if keys_node is not None else None
    node: Node | None = pair
    for _ in range(5):
        node = node.parent if node is not None else None
        if node is None:
            break
        if node.type == "tuple":
            items = _items(node)
            module = resolve(items[0]) if items else None
            if module in KIND_OF_MODULE:
                return KIND_OF_MODULE[module], keys
            if module == "PartitionSupervisor" and _partitions_tasks(items[1:], resolve):
                return TASK_PARTITIONS, None
        if node.type == "call" and syntax.local_target(node) in _SPEC_HELPERS:
            started = calls.arguments(node)
            module = resolve(started[0]) if started else None
            return KIND_OF_MODULE.get(module or "", OTHER), keys
        if node.type == "call":
            function = node.child_by_field_name("target")
            left = function.child_by_field_name("left") if function is not None else None
            target = syntax.remote_target(node)
            module = resolve(left) if left is not None else None
            if module in KIND_OF_MODULE and target and target[1] in _START_FUNCTIONS:
                return KIND_OF_MODULE[module], keys
            partitions = module == "PartitionSupervisor" and target and target[1] == "start_link"
            if partitions and _partitions_tasks(calls.arguments(node), resolve):
                return TASK_PARTITIONS, None
            return OTHER, keys
    return OTHER, keys


def _partitions_tasks(arguments: list[Node], resolve: Resolve) -> bool:
    """The options of a PartitionSupervisor (``child_spec: Task.Supervisor`` or
    ``child_spec: {Task.Supervisor, opts}``) make its partitions Task.Supervisors."""
    options = _literal_options(arguments[0]) if len(arguments) == 1 else None
    spec = options.get("child_spec") if options is not None else None
    return spec is not None and resolve(_partition_spec(spec)[0]) == "Task.Supervisor"


def _partition_spec(spec: Node) -> tuple[Node, Node | None]:
    """A PartitionSupervisor's ``child_spec:`` (``Mod`` or ``{Mod, opts}``): the module's node
    and its options' node."""
    items = _items(spec) if spec.type == "tuple" else []
    return (items[0], items[1]) if len(items) == 2 else (spec, None)


def _one_of_branched_starts(call: Node, definition: Node) -> bool:
    """``call`` runs on some starts only: it sits in a branch, and the function makes the
    same call elsewhere (``if media_only?, do: start_link([Media], ..), else: start_link([Repo,
    ..], ..)``). A lone start in a branch (``with :ok <- migrate(), do: start_link(..)``) is
    the start of every boot that succeeds."""
    target = syntax.remote_target(call)
    others = (
        node
        for node in syntax.descendants(definition)
        if node.type == "call" and node != call and syntax.remote_target(node) == target
    )
    return next(others, None) is not None and _inside_branch(call, definition)


def _inside_branch(node: Node, definition: Node) -> bool:
    for ancestor in syntax.ancestors(node):
        if ancestor == definition:
            return False
        if ancestor.type == "call" and syntax.local_target(ancestor) in syntax.CONDITIONALS:
            return True
        if ancestor.type == "anonymous_function":
            return True
    return False


def _refers_to(node: Node, name: str) -> bool:
    return bool(syntax.variable_uses(node, name))


# -- reading the facts -------------------------------------------------------------------------


def insertion_index(children: tuple[Child, ...], users: frozenset[str]) -> int:
    """Where a new child goes among ``children``: after the infrastructure it may need (a Repo,
    PubSub, Finch, Telemetry, other registries and supervisors of tasks: started before it,
    stopped after it) and before the first child that uses it (a module in ``users``, or a
    Phoenix Endpoint, whose requests may reach any module of the application: started after
    the new child, it is stopped before it, so no request still being served finds it gone).
    A child the model cannot read counts as a user: it may be one. With no infrastructure,
    first."""
    first_user = next((i for i, child in enumerate(children) if _uses(child, users)), len(children))
    after_infrastructure = max(
        (i + 1 for i, child in enumerate(children) if is_infrastructure(child)), default=0
    )
    return min(first_user, after_infrastructure)


def booting_users(users: frozenset[str], starts: Iterable[tuple[str, str]]) -> frozenset[str]:
    """``users`` and every module whose start runs one of them: ``(owner, module)`` in
    ``starts`` says starting ``owner`` starts ``module`` (its ``start_link`` calls
    ``GenServer.start_link(module, ..)`` or ``module.start_link``, or it supervises
    ``module``). A child among them starts a user while it boots, so what the users call must
    be started before it."""
    starters: dict[str, set[str]] = {}
    for owner, module in starts:
        if owner != module:
            starters.setdefault(module, set()).add(owner)
    found, pending = set(users), list(users)
    while pending:
        for owner in starters.get(pending.pop(), ()):
            if owner not in found:
                found.add(owner)
                pending.append(owner)
    return frozenset(found)


def module_starts(facts: Supervision) -> Iterator[tuple[str, str]]:
    """``(owner, module)``: starting ``owner`` starts ``module`` (see `booting_users`), from one
    file's facts: its ``GenServer.start_link(Mod, ..)`` calls and the children its supervisors
    list."""
    for start in facts.starts:
        yield start.owner, start.module
    for found in facts.lists:
        for child in found.children:
            if found.owner and child.module:
                yield found.owner, child.module


def _uses(child: Child, users: frozenset[str]) -> bool:
    module = child.module or ""
    return child.kind == UNKNOWN or module in users or module.endswith(".Endpoint")


_INFRASTRUCTURE_MODULES = frozenset(
    {
        "Phoenix.PubSub",
        "Finch",
        "DNSCluster",
        "Cluster.Supervisor",
        "Task.Supervisor",
        "Registry",
        ":pg",
        "Redix",
        "Goth",
        "Vault",
    }
)
_INFRASTRUCTURE_SUFFIXES = (".Repo", "Repo", ".Telemetry", ".PubSub", ".Vault", ".Finch", ".Cache")


def is_infrastructure(child: Child) -> bool:
    """A child other processes of the application lean on: a database repo, PubSub, an HTTP
    pool, telemetry, a registry, a cluster."""
    module = child.module or ""
    return (
        child.kind in (TASK_SUPERVISOR, REGISTRY, PG)
        or module in _INFRASTRUCTURE_MODULES
        or module.endswith(_INFRASTRUCTURE_SUFFIXES)
    )


RESTARTED = frozenset({":permanent", ":transient"})
"""Restart types a supervisor acts on (a ``:transient`` child after an abnormal exit): each
restart counts against its intensity."""


@dataclass(frozen=True, slots=True)
class RestartedChild:
    """A child started per entity under a dynamic supervisor that restarts it when it crashes."""

    path: str
    """The file of the ``start_child`` call."""
    start: DynamicStart
    restart: str
    declared: str
    """Where the restart type comes from (``the default of use GenServer``)."""


def supervisor_names(
    definition: DynamicSupervisorDef, facts: Iterable[Supervision]
) -> frozenset[str]:
    """The names a dynamic supervisor is reached by: those written where it is started, and for
    a ``use DynamicSupervisor`` module its own name and the names any file starts it under."""
    names = set(definition.names)
    if definition.how == INIT:
        names.add(definition.owner)
        names.update(
            name
            for file in facts
            for module, name in file.dynamic_names
            if module == definition.owner
        )
    return frozenset(names)


def single_instance(
    module: str,
    registers: Callable[[str], Iterable[str]],
    lists: Iterable[ChildrenList],
    depth: int = 3,
) -> bool:
    """Whether at most one process tree of ``module`` can run at a time: its process registers
    under a fixed name, or, for a supervisor, a child of its literal children list does (its own
    ``name:`` or its module's registration), down to ``depth`` levels. A second start of such a
    tree fails with ``already_started``, so it is never started once per entity."""
    by_owner: dict[str, list[ChildrenList]] = {}
    for children in lists:
        by_owner.setdefault(children.owner, []).append(children)

    def fixed(name: str, left: int, seen: frozenset[str]) -> bool:
        if any(registers(name)):
            return True
        if left == 0 or name in seen:
            return False
        return any(
            child.name is not None
            or (child.module is not None and fixed(child.module, left - 1, seen | {name}))
            for children in by_owner.get(name, ())
            if children.placement == LITERAL
            for child in children.children
        )

    return fixed(module, depth, frozenset())


def restarted_children(
    names: frozenset[str],
    starts: Iterable[tuple[str, DynamicStart]],
    restart_of: Callable[[str], tuple[str | None, str]],
) -> list[RestartedChild]:
    """The per-entity children the project starts under a supervisor named in ``names`` whose
    restart type is known to be ``:permanent`` or ``:transient`` (the spec's own, else the
    child module's ``child_spec/1``); children of unknown restart type are left out."""
    found = []
    for path, start in starts:
        if start.supervisor not in names or not start.per_entity or start.module is None:
            continue
        restart: str | None = start.restart
        declared = "set by the spec given to start_child"
        if restart == MAP_DEFAULT_RESTART and start.restart_default:
            declared = "the default of a child spec map without :restart"
        if restart is None and start.own_spec:
            continue  # the module's own child_spec/N decides, which is not read
        if restart is None:
            restart, declared = restart_of(start.module)
        if restart is not None and restart in RESTARTED:
            found.append(RestartedChild(path, start, restart, declared))
    return found
