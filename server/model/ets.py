"""ETS tables: where each is made, how, by whom, and who reads and writes it.

For each ``:ets.new(name, options)`` of a document: the module that owns it and the function
that makes it, its name (an atom, ``__MODULE__``, a module attribute; None for an unnamed
table or a name computed at run time), its options (``:named_table``, the access, the type,
``read_concurrency``, ``write_concurrency``) and how its reference leaves the owner (stored in
``:persistent_term``, returned by a client function, sent, or in the state a ``handle_call``
replies with). For each access (``:ets.lookup``, ``insert``, ``update_counter``, …): the table
it names, whether it reads or writes, and whether it runs in the module's process (a callback,
or a function one reaches) or in its caller's (a client function).

``of(document)`` gives these facts with their syntax nodes, for rules; ``summary(document)``
the same without nodes, for the project index, where ``Tables`` joins them across files (a
named table read by other modules, a reference published in ``:persistent_term`` under a key
other files read).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cached_property

from tree_sitter import Node

from otp_thinking import syntax
from otp_thinking.model import calls, modules, processes
from otp_thinking.model.modules import Document, ModuleFacts

READS = frozenset(
    {
        "lookup",
        "lookup_element",
        "member",
        "match",
        "match_object",
        "select",
        "select_count",
        "select_reverse",
        "tab2list",
        "foldl",
        "foldr",
        "first",
        "next",
        "last",
        "prev",
    }
)
WRITES = frozenset(
    {
        "insert",
        "insert_new",
        "delete",
        "delete_object",
        "delete_all_objects",
        "update_element",
        "update_counter",
        "match_delete",
        "select_delete",
        "select_replace",
        "take",
        "give_away",
        "rename",
    }
)
ACCESSES = (":public", ":protected", ":private")
TYPES = (":set", ":ordered_set", ":bag", ":duplicate_bag")

PERSISTENT_TERM = "persistent_term"
RETURNED = "returned"
SENT = "sent"
STATE = "state"
"""How a table's reference leaves its owner: stored in ``:persistent_term``, returned by a
client function, sent to another process, or replied by a ``handle_call`` with the state."""


@dataclass(frozen=True, slots=True)
class Options:
    """What an ``:ets.new`` options list says; ``known`` is False when the list is held in a
    variable or built at run time (then nothing else is known)."""

    known: bool = False
    literal: bool = False
    """Written at the call (not in a module attribute)."""
    named: bool = False
    access: str = ":protected"
    type: str = ":set"
    read_concurrency: str | None = None
    """The value written (``"true"``, ``"false"``), None when the option is absent."""
    write_concurrency: str | None = None


@dataclass(frozen=True, slots=True)
class TableSummary:
    """An ``:ets.new`` call, without syntax (what the project index keeps)."""

    module: str
    """The owner module (empty outside any module)."""
    function: str
    """The function that makes the table (``init``, ``start_link``, a client function)."""
    name: str | None
    """How other code names it: ``:prices``, a module name for ``__MODULE__``; None when the
    table is unnamed or its name is computed at run time."""
    options: Options
    in_process: bool
    """Made by code that runs in the owner's process (a callback or a function one reaches)."""
    escapes: tuple[str, ...]
    persistent_key: str | None
    """The ``:persistent_term`` key the reference is stored under, as written."""


@dataclass(frozen=True, slots=True)
class AccessSummary:
    """An ``:ets`` call on a table, without syntax."""

    module: str
    function: str
    table: str | None
    """The table as named (see ``TableSummary.name``), ``pt:KEY`` for a reference read from
    ``:persistent_term.get(KEY)``; None for a reference held in a variable or a field."""
    operation: str
    read: bool
    in_process: bool
    """Runs in the module's process: a callback, or a function a callback reaches."""
    client: bool
    """Runs in a caller's process: a client function of a process module (a public function
    other than a callback, or a private function one reaches), or any function of a module
    that is no process module (whoever calls it). A helper both sides reach is both."""


@dataclass(frozen=True, slots=True)
class Table:
    """An ``:ets.new`` call of the document."""

    call: Node
    module: ModuleFacts | None
    options_node: Node | None
    """The options list (in a module attribute when not literal); None when unknown."""
    variable: str | None
    """The variable the table is bound to (``table = :ets.new(..)``)."""
    facts: TableSummary

    def refers_to(self, access: Access, sole: bool) -> bool:
        """``access`` names this table: by name, by the variable it is bound to (in the
        function that makes it), or (``sole``: the module makes no other table) through a
        reference callers can get: the table's name, or a reference the owner hands out (see
        ``TableSummary.escapes``)."""
        if access.module is not self.module:
            return False
        if access.facts.table is not None:
            return access.facts.table in (self.facts.name, _pt(self.facts.persistent_key))
        if access.written == self.variable and syntax.enclosing_definition(
            access.call
        ) == syntax.enclosing_definition(self.call):
            return True
        reachable = self.facts.options.named or bool(self.facts.escapes)
        return sole and reachable and not access.written.startswith((":", "@"))


@dataclass(frozen=True, slots=True)
class Access:
    """An ``:ets`` call on a table in the document."""

    call: Node
    module: ModuleFacts | None
    written: str
    """The table argument as written."""
    facts: AccessSummary


@dataclass
class Facts:
    tables: list[Table] = field(default_factory=list)
    accesses: list[Access] = field(default_factory=list)

    def accesses_of(self, table: Table) -> list[Access]:
        """The accesses to ``table``, in document order (only its module's can be)."""
        tables, accesses = self._by_module
        sole = tables[id(table.module)] == 1
        return [a for a in accesses.get(id(table.module), ()) if table.refers_to(a, sole)]

    @cached_property
    def _by_module(self) -> tuple[Counter[int], dict[int, list[Access]]]:
        """How many tables each module makes, and its accesses (by the module's identity,
        as `Table.refers_to` compares them), read once the facts are gathered: asked for
        each table, a scan of the whole file's tables and accesses cost their product."""
        tables = Counter(id(t.module) for t in self.tables)
        accesses: dict[int, list[Access]] = {}
        for access in self.accesses:
            accesses.setdefault(id(access.module), []).append(access)
        return tables, accesses


def of(document: Document) -> Facts:
    """The tables and accesses of the document (computed once)."""
    found = document.cache.get("ets")
    if found is None:
        found = document.cache["ets"] = _gather(document)
    return found


def summary(document: Document) -> tuple[tuple[TableSummary, ...], tuple[AccessSummary, ...]]:
    facts = of(document)
    return tuple(t.facts for t in facts.tables), tuple(a.facts for a in facts.accesses)


# -- across the project ---------------------------------------------------------------------


@dataclass(frozen=True)
class Tables:
    """Every table and access of the project, joined by name."""

    tables: tuple[TableSummary, ...] = ()
    accesses: tuple[AccessSummary, ...] = ()

    @classmethod
    def join(
        cls, files: Iterable[tuple[tuple[TableSummary, ...], tuple[AccessSummary, ...]]]
    ) -> Tables:
        tables: list[TableSummary] = []
        accesses: list[AccessSummary] = []
        for file_tables, file_accesses in files:
            tables.extend(file_tables)
            accesses.extend(file_accesses)
        return cls(tuple(tables), tuple(accesses))

    def named(self, name: str) -> list[TableSummary]:
        return [t for t in self.tables if name in (t.name, _pt(t.persistent_key))]

    def foreign_accesses(self, table: TableSummary) -> list[AccessSummary]:
        """Accesses to ``table`` from other modules than its owner, by its name or by the
        ``:persistent_term`` key its reference is stored under; none when another table shares
        the name (the tool cannot tell which one is meant)."""
        keys = {k for k in (table.name, _pt(table.persistent_key)) if k is not None}
        if not keys or any(len(self.named(key)) != 1 for key in keys):
            return []
        return [a for a in self.accesses if a.table in keys and a.module != table.module]


def names_table(use: Node) -> bool:
    """``use`` (a variable, or ``use.field``) is the table an `:ets` call works on, its first
    argument (``:ets.lookup(table, id)``, ``:ets.lookup(state.table, id)``)."""
    node = use
    parent = node.parent
    if parent is not None and parent.type == "dot" and parent.child_by_field_name("left") == node:
        node = parent.parent if parent.parent is not None else node
    arguments = node.parent
    call = arguments.parent if arguments is not None else None
    if arguments is None or call is None or arguments.type != "arguments":
        return False
    first = syntax.argument_nodes(call)[:1]
    target = syntax.remote_target(call)
    return bool(first) and first[0] == node and target is not None and target[0] == ":ets"


def _pt(key: str | None) -> str | None:
    return f"pt:{key}" if key is not None else None


# -- gathering ------------------------------------------------------------------------------


def _gather(document: Document) -> Facts:
    facts = Facts()
    where = _Where()
    for captures in document.matches(syntax.REMOTE_CALLS):
        target = captures["module"][0]
        # the length first: a file of thousands of other calls decodes none of their targets
        if target.end_byte - target.start_byte != len(":ets") or document.text(target) != ":ets":
            continue
        call = captures["call"][0]
        function = document.text(captures["function"][0])
        module = modules.at(document, call)
        if function == "new":
            table = _table(call, module, where)
            if table is not None:
                facts.tables.append(table)
        elif function in READS or function in WRITES:
            access = _access(call, function, module, where)
            if access is not None:
                facts.accesses.append(access)
    return facts


class _Where:
    """Where a call runs (see ``__call__``), with each module's sides computed once."""

    def __init__(self) -> None:
        self._sides: dict[int, tuple[frozenset[str], frozenset[str]]] = {}

    def __call__(self, module: ModuleFacts | None, node: Node) -> tuple[str, str, bool, bool]:
        """The module's name, the function around ``node``, whether that function runs in
        the module's process and whether it runs in its callers' (a helper both reach runs in
        both; any function of a module that is no process module runs in its callers')."""
        if module is None:
            return "", "", False, True
        clause = module.clause_at(node)
        function = clause.name if clause is not None else ""
        if not _process_module(module):
            return module.name, function, False, True
        key = module.node.start_byte
        if key not in self._sides:
            self._sides[key] = (
                processes.process_functions(module),
                processes.client_functions(module),
            )
        owner, client = self._sides[key]
        return module.name, function, function in owner, function in client


def _process_module(module: ModuleFacts | None) -> bool:
    return module is not None and (module.is_genserver or module.is_gen_statem)


def _table(call: Node, module: ModuleFacts | None, where: _Where) -> Table | None:
    args = calls.arguments(call)
    if len(args) != 2:
        return None
    options_node, options = _options(args[1], module)
    name = _name(args[0], module) if options.named else None
    module_name, function, in_process, _client = where(module, call)
    variable = _bound_to(call)
    escapes, key = _escapes(call, variable, module)
    facts = TableSummary(
        module=module_name,
        function=function,
        name=name,
        options=options,
        in_process=in_process,
        escapes=escapes,
        persistent_key=key,
    )
    return Table(call, module, options_node, variable, facts)


def _access(call: Node, function: str, module: ModuleFacts | None, where: _Where) -> Access | None:
    args = calls.arguments(call)
    if not args:
        return None
    first = args[0]
    module_name, function_name, in_process, client = where(module, call)
    facts = AccessSummary(
        module=module_name,
        function=function_name,
        table=_reference(first, module),
        operation=function,
        read=function in READS,
        in_process=in_process,
        client=client,
    )
    return Access(call, module, syntax.text(first), facts)


def _name(node: Node, module: ModuleFacts | None) -> str | None:
    """The table name an argument stands for: an atom, ``__MODULE__``, an alias (expanded
    through the module's aliases) or a module attribute holding one of those."""
    if node.type == "unary_operator" and module is not None:
        attribute = syntax.attribute_name(node)
        values = syntax.module_attributes(module.node).get(attribute or "", [])
        return _name(values[0], module) if len(values) == 1 else None
    if node.type == "atom":
        text = syntax.text(node)
        return None if "#{" in text else text
    if node.type == "identifier" and syntax.text(node) == "__MODULE__":
        return module.name if module is not None else None
    if node.type == "alias":
        known = modules.aliases(module.node) if module is not None else {}
        return modules.expand(syntax.text(node), known)
    return None


def _reference(node: Node, module: ModuleFacts | None) -> str | None:
    """What an access's table argument names: a table name, or ``pt:KEY`` for a reference
    read from ``:persistent_term.get(KEY)``; None for a variable, a field, a call."""
    if node.type == "call" and syntax.remote_target(node) == (":persistent_term", "get"):
        args = syntax.argument_nodes(node)
        return _pt(_key(args[0], module)) if args else None
    return _name(node, module)


def _key(node: Node, module: ModuleFacts | None) -> str:
    """A ``:persistent_term`` key as other modules would write it (``{__MODULE__, :t}`` in
    ``Shop.Cache`` is ``{Shop.Cache, :t}``)."""
    named = _name(node, module)
    if named is not None:
        return named
    text = syntax.text(node)
    return text.replace("__MODULE__", module.name) if module is not None else text


def _options(node: Node, module: ModuleFacts | None) -> tuple[Node | None, Options]:
    literal = node.type == "list"
    if not literal:
        attribute = syntax.attribute_name(node)
        values = (
            syntax.module_attributes(module.node).get(attribute, [])
            if attribute is not None and module is not None
            else []
        )
        if len(values) != 1 or values[0].type != "list":
            return None, Options()
        node = values[0]
    named, access, kind = False, ":protected", ":set"
    read: str | None = None
    write: str | None = None
    for item in option_items(node):
        if item.type == "atom":
            value = syntax.text(item)
            named = named or value == ":named_table"
            access = value if value in ACCESSES else access
            kind = value if value in TYPES else kind
            continue
        key, value_node = _option(item)
        if key == "read_concurrency":
            read = syntax.text(value_node)
        elif key == "write_concurrency":
            write = syntax.text(value_node)
    return node, Options(True, literal, named, access, kind, read, write)


def option_items(options: Node) -> list[Node]:
    """The list's elements in order, with the pairs of a trailing keyword list spread out."""
    items: list[Node] = []
    for child in options.named_children:
        if child.type == "comment":
            continue
        if child.type == "keywords":
            items.extend(c for c in child.named_children if c.type == "pair")
        else:
            items.append(child)
    return items


def _option(item: Node) -> tuple[str | None, Node | None]:
    """``("read_concurrency", value)`` for ``read_concurrency: x`` and
    ``{:read_concurrency, x}``."""
    if item.type == "pair":
        key = item.child_by_field_name("key")
        value = item.child_by_field_name("value")
        return (syntax.text(key).strip().rstrip(":") if key is not None else None), value
    if item.type == "tuple":
        elements = [c for c in item.named_children if c.type != "comment"]
        if len(elements) == 2 and elements[0].type == "atom":
            return syntax.text(elements[0]).lstrip(":"), elements[1]
    return None, None


def _bound_to(call: Node) -> str | None:
    """``table`` in ``table = :ets.new(..)`` (the pipe ``x |> :ets.new(..)`` included)."""
    site = calls.site(call)
    above = syntax.parent(site)
    if above is None or above.type != "binary_operator" or syntax.operator(above) != "=":
        return None
    left = above.child_by_field_name("left")
    if left is None or left.type != "identifier" or above.child_by_field_name("right") != site:
        return None
    return syntax.text(left)


# -- where the reference goes ---------------------------------------------------------------


def _escapes(
    call: Node, variable: str | None, module: ModuleFacts | None
) -> tuple[tuple[str, ...], str | None]:
    """How the table's reference leaves the function that makes it (see PERSISTENT_TERM…),
    and the ``:persistent_term`` key it is stored under."""
    definition = syntax.enclosing_definition(call)
    if definition is None:
        return (), None
    site = calls.site(call)

    def carries(node: Node | None) -> bool:
        if node is None:
            return False
        if variable is None:
            return syntax.holds(node, site)
        return bool(syntax.variable_uses(node, variable)) or (
            node.type == "identifier" and syntax.text(node) == variable
        )

    found: list[str] = []
    key: str | None = None
    holders = (
        [n for n in syntax.descendants(definition) if n.type == "call"]
        if variable is not None
        else [h for h in (_call_holding(site),) if h is not None]
    )
    for holder in holders:
        target = syntax.remote_target(holder)
        args = calls.arguments(holder)
        if len(args) != 2 or not carries(args[1]):
            continue
        if target == (":persistent_term", "put"):
            found.append(PERSISTENT_TERM)
            key = _key(args[0], module)
        elif target in _SENDS or (target is None and syntax.local_target(holder) == "send"):
            found.append(SENT)
    if module is not None:
        found.extend(_returned_or_replied(definition, module, carries))
    return tuple(dict.fromkeys(found)), key


_SENDS = frozenset({("Process", "send"), ("GenServer", "reply"), ("Kernel", "send")})


def _call_holding(node: Node) -> Node | None:
    """The call ``node`` is a direct argument of."""
    above = syntax.parent(node)
    if above is None or above.type != "arguments":
        return None
    holder = syntax.parent(above)
    return holder if holder is not None and holder.type == "call" else None


def _returned_or_replied(
    definition: Node, module: ModuleFacts, carries: Callable[[Node | None], bool]
) -> list[str]:
    """``returned``: a public function other than a callback returns the reference;
    ``state``: ``init/1`` puts it in the state and a ``handle_call`` replies with the state
    or a part of it."""
    clause = module.clause_at(definition)
    if clause is None:
        return []
    tails = clause.tails()
    if not any(carries(t) for t in tails):
        return []
    if clause.name == "init" and clause.arity == 1:
        return [STATE] if _replies_with_state(module) else []
    if not clause.private and clause.name in processes.client_functions(module):
        return [RETURNED]
    return []


def _replies_with_state(module: ModuleFacts) -> bool:
    """A ``handle_call/3`` clause replies with its state, or a value bound in or read from it
    (``{:reply, state.table, state}``, ``{:reply, table, %{table: table} = s}``)."""
    for clause in module.functions("handle_call", 3):
        state = clause.params[2] if len(clause.params) == 3 else None
        if state is None:
            continue
        names = set(syntax.bound_names(state))
        for tail in clause.tails():
            reply = _reply_value(tail)
            if reply is not None and _from_names(reply, names):
                return True
    return False


def _reply_value(tail: Node) -> Node | None:
    if tail.type != "tuple":
        return None
    items = [c for c in tail.named_children if c.type != "comment"]
    if len(items) >= 3 and syntax.text(items[0]) == ":reply":
        return items[1]
    return None


def _from_names(node: Node, names: set[str]) -> bool:
    if node.type == "identifier":
        return syntax.text(node) in names
    if node.type == "dot":
        left = node.child_by_field_name("left")
        return left is not None and _from_names(left, names)
    if node.type == "call" and syntax.local_target(node) is None:  # state.table, Map.get(..)
        target = node.child_by_field_name("target")
        if target is not None and target.type == "dot":
            left = target.child_by_field_name("left")
            return left is not None and left.type == "identifier" and _from_names(left, names)
    if node.type == "access_call":
        target = node.child_by_field_name("target")
        return target is not None and _from_names(target, names)
    return False
