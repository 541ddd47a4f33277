"""A file's summary: what the project-wide facts need from one file, without its tree.

A summary keeps no tree (the trees of a large project cost hundreds of MB): for each module its
name, `use`s, the names it registers and the public functions that `GenServer.call` a named
server; the calls to other modules; the process names the file starts (`name:` options,
`:pg` scopes); where it uses a Task.Supervisor, a Registry or a `:pg` scope by name; what its
public functions do; its ETS tables and their accesses. Summaries are plain data, so the CLI
builds them in worker processes, the cache stores them and the language server keeps them
current one file at a time; `model.project` joins them.
"""

from __future__ import annotations

import bisect
import hashlib
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from tree_sitter import Node

from otp_thinking import syntax
from otp_thinking.model import calls, clauses, ets, modules, values
from otp_thinking.model import supervision as supervision_facts
from otp_thinking.model.effects import (
    FunctionCall,
    FunctionEffect,
    Functions,
    ProjectCall,
    function_calls,
    function_effects,
    functions_of,
    local_call_at,
    words_at,
)
from otp_thinking.model.groups import GroupCall, Term
from otp_thinking.model.producers import Feed, feed
from otp_thinking.model.supervision import PG, REGISTRY, TASK_SUPERVISOR, Supervision
from otp_thinking.parsing import AnyQuery, Captures, compile_query, matches
from otp_thinking.query_pack import PACKS, DocumentMatches, document_matches
from otp_thinking.source import Source

_TASK_SUPERVISOR_USES = frozenset(
    {"async_nolink", "async", "start_child", "async_stream_nolink", "async_stream"}
)
_REGISTRY_USES = frozenset(
    {
        "register",
        "unregister",
        "lookup",
        "dispatch",
        "keys",
        "count",
        "count_match",
        "match",
        "select",
        "meta",
        "put_meta",
        "update_value",
        "values",
        "unregister_match",
    }
)
# :pg functions whose first argument is a scope only at this arity (one less uses the default).
_PG_SCOPED_ARITY = {
    "join": 3,
    "leave": 3,
    "get_members": 2,
    "get_local_members": 2,
    "which_groups": 1,
    "which_local_groups": 1,
    "monitor": 2,
    "monitor_scope": 1,
}
_GENSERVER_CALLS = frozenset({("GenServer", "call"), (":gen_server", "call")})
_GENSERVER_STARTS = frozenset(
    {("GenServer", "start_link"), ("GenServer", "start"), (":gen_server", "start_link")}
)
_SELF_STARTS = frozenset(
    (module, function)
    for module in ("GenServer", ":gen_server", ":gen_statem", "GenStateMachine")
    for function in ("start_link", "start")
)
"""Calls that start a process running a module's callbacks, ``init/1`` first, and return
only once ``init/1`` has returned."""
_PERSISTENT_READ = re.compile(r":persistent_term\.get\b")
_TASK_STARTS = re.compile(r"\bTask\.(?:async\b|start_link\b|Supervisor\.async)")


def _starts_tasks(text: str) -> bool:
    """Whether the text names a task start. The word is looked for first: a pattern that
    starts with ``\\b`` is tried at every position, forty times slower over a whole file."""
    return "Task." in text and _TASK_STARTS.search(text) is not None


_ATOM_MAKERS = ("to_atom", "Module.concat", ':"', ":'")


def _makes_atoms(text: str) -> bool:
    """Whether the text names a way to make an atom at run time (a quoted atom may be
    interpolated)."""
    return any(word in text for word in _ATOM_MAKERS)


_STARTING_FUNCTIONS = frozenset({"child_spec", "start_link", "start", "init"})
_NOT_STARTS = frozenset({"def", "defp", "if", "unless", "case", "cond", "with", "for", "fn"})


def _may_start_under_name(call: Node) -> bool:
    """A call of a function the summary does not read as a start: a local or imported
    function, or one of a module outside the standard library and the process APIs."""
    target = syntax.remote_target(call)
    if target is None:
        return syntax.local_target(call) not in _NOT_STARTS
    head = target[0].split(".", 1)[0]
    return head[:1].isupper() and head not in _SPECIAL and head not in _STDLIB


_SPECIAL = frozenset({"GenServer", ":gen_server", "Task", "Registry", ":pg"})
# Calls to these never reach a project module; leaving them out keeps summaries small.
_STDLIB = frozenset(
    (  # noqa: SIM905 (a word list reads better than a column of strings)
        "Access Agent Application Atom Base Bitwise Code Date DateTime Enum Exception File Float "
        "Function GenServer Integer IO Kernel Keyword List Logger Map MapSet Module NaiveDateTime "
        "Node Path Process Protocol Range Regex Registry Stream String Supervisor System Task "
        "Time Tuple URI Version"
    ).split()
)
_LIBRARY_IMPORTS = frozenset({"Ecto", "Phoenix", "Plug", "ExUnit", "Mix", "Bitwise"})
"""Imported modules whose functions no project function chain goes through: calls to them are
not recorded (they would only make summaries bigger)."""
_KERNEL_LOCALS = frozenset(
    (  # noqa: SIM905
        "if unless case cond with for fn try receive raise reraise throw quote unquote "
        "unquote_splicing send spawn spawn_link spawn_monitor apply exit def defp defmacro "
        "defmacrop defmodule defstruct defdelegate defimpl defprotocol defexception defguard "
        "defguardp defoverridable import alias require use super self node elem put_elem hd tl "
        "length map_size tuple_size byte_size bit_size not and or in match? to_string "
        "to_charlist inspect then tap struct struct! get_in put_in update_in pop_in "
        "get_and_update_in max min abs round trunc div rem binding dbg make_ref "
        "function_exported? macro_exported? __MODULE__ __ENV__ __CALLER__ __DIR__ __STACKTRACE__"
    ).split()
)
"""Local calls that are Kernel's whatever a module imports (an unrestricted ``import`` could
otherwise stand behind every one of them)."""


# One pass over the whole tree; module structure (aliases, attributes, defs) is read from module
# bodies directly, which is much cheaper than matching it everywhere.
# Remote calls come from `syntax.REMOTE_CALLS`, shared with the rules.
_FACTS = compile_query(
    """
    (tuple . (atom) @tuple_head (#eq? @tuple_head ":via")) @tuple
    """
)
_CALLS = compile_query("(call) @call")
"""Every call under a node, found by tree-sitter (in the order of a walk down) rather than by
visiting every node of a function in Python."""
PACKS.together((syntax.REMOTE_CALLS, _FACTS, supervision_facts.QUERY))
"""The queries every summary asks for (`facts`): one walk of each tree answers them all."""

PARENTS_RECORDED_AFTER = 0.02
"""Seconds spent asking tree-sitter for calls' parents in one file after which they are looked
up in a record of the tree (`syntax.record_parents`): each answer costs the call's depth, so
a chain of 20,000 pipes took minutes; an ordinary file never spends this much. At least
`syntax.RECORD_SECONDS_PER_NODE` times the tree's nodes, what the record costs: a large
ordinary file (a megabyte, a thousand calls whose arguments are read at a few microseconds
each) would otherwise pay a record of its whole tree to save a few milliseconds; this way no
file pays more than twice what the cheaper of the two would have cost."""


@dataclass(frozen=True, slots=True)
class NameUse:
    """A Task.Supervisor, Registry or `:pg` scope used by a name the project should start,
    from ``module`` (empty outside any module)."""

    kind: str
    name: str
    start: int
    end: int
    via: bool = False
    module: str = ""


@dataclass(frozen=True, slots=True)
class CallSite:
    """A call from ``caller`` to ``target.function``; ``function`` is empty for a
    ``GenServer.call(target, …)`` made outside any client function."""

    caller: str
    target: str
    function: str
    start: int
    end: int
    discarded: bool = False
    """The call's value is thrown away where it is made (see `model.values.discarded`)."""
    constants: tuple[int, ...] = ()
    """The positions of the arguments written as constants (a literal, a module attribute),
    counting a value piped in as the first."""


@dataclass(frozen=True, slots=True)
class ServerCall:
    """``GenServer.call`` on the named server ``target``, reached through the public
    ``functions`` of ``module`` (none: a call from private code or a callback). ``request``:
    the atom that names the request (``get`` for ``{:get, key}`` or ``:get``, as
    ``model.modules.request_tag`` reads it), empty when the request is built elsewhere."""

    module: str
    target: str
    functions: tuple[str, ...]
    start: int
    end: int
    request: str = ""


@dataclass(frozen=True, slots=True)
class ModuleSummary:
    """A module's entry in its file's summary: what other files' rules ask about it (its name,
    what it ``use``s and declares, the names it registers under), read with the model's readers
    (``model.modules.uses``, ``nested_name``) and kept without syntax nodes so the cache can
    store it. The facts a rule reads inside the document are ``model.modules.ModuleFacts``."""

    name: str
    start: int
    end: int
    uses: tuple[str, ...]
    use_start: int
    use_end: int
    registers: tuple[str, ...]
    """Names the module's own process registers under (``name: __MODULE__`` → its name)."""
    short_lived: bool = False
    """A Mix task or a module of one (`model.modules.mix_task`)."""
    behaviours: tuple[str, ...] = ()
    feed: Feed | None = None
    """For a GenStage producer that the app feeds itself: how."""
    restart: str | None = None
    """The restart type of the child its ``child_spec/1`` makes (``:temporary``), when the
    code says (see ``model.modules.child_restart``)."""
    restart_from: str = ""
    """Where that is written (``use GenServer, restart: :temporary``)."""
    takes_any_message: bool = False
    """A ``handle_info/2`` clause takes whatever message arrives (see
    ``model.modules.takes_any_message``)."""
    starts_apps: tuple[str, ...] = ()
    """For a Mix task: the applications it starts (see ``model.modules.started_apps``); a task
    without ``"app.start"`` runs the project's code without its supervision tree."""
    stops_normally: str = ""
    """Where a callback ends the process with ``{:stop, :normal, ...}`` (or ``:shutdown``), as
    ``{:stop, :normal, ...} in handle_info/2, line 81``; empty when none does, and for a module
    whose children are not ``:permanent`` (see ``model.modules.normal_stop``)."""
    unlinked_starts: tuple[str, ...] = ()
    """Its public start functions that start the process unlinked (see
    ``model.modules.unlinked_starts``)."""

    @property
    def genserver(self) -> bool:
        return "GenServer" in self.uses

    @property
    def server(self) -> bool:
        """A GenServer, a :gen_statem or a GenStage stage, by `use` or `@behaviour`."""
        return modules.server_kind(self.uses, self.behaviours) is not None


@dataclass(frozen=True, slots=True)
class FileSummary:
    path: str
    digest: str
    short_lived: bool
    modules: tuple[ModuleSummary, ...] = ()
    calls: tuple[CallSite, ...] = ()
    server_calls: tuple[ServerCall, ...] = ()
    supervision: Supervision = supervision_facts.EMPTY
    """Children lists and the process names the file starts (see `model.supervision`)."""
    uses: tuple[NameUse, ...] = ()
    handed_names: tuple[str, ...] = ()
    """Names handed to another module's function by a function that starts processes
    (``Specs.registry(:unique, @name)`` in ``child_spec/1``): that function may start a
    process under the name, in a way the tool cannot read."""
    effects: tuple[FunctionEffect, ...] = ()
    """The public functions that block (directly or through private helpers) or act outside
    the process."""
    function_calls: tuple[FunctionCall, ...] = ()
    """The calls public functions make to other modules now (see `model.effects`): the project
    follows blocking work along them, from module to module."""
    tables: tuple[ets.TableSummary, ...] = ()
    pg2_calls: tuple[GroupCall, ...] = ()
    """Its calls to `:pg2`, each with the group it names (see `model.groups`)."""
    table_accesses: tuple[ets.AccessSummary, ...] = ()
    """The file's ETS tables and every access to a table (see `model.ets`)."""
    starts_tasks: bool = False
    """The text starts a task the caller may get messages from or be linked to
    (``Task.async``, ``Task.Supervisor.async``/``async_nolink``, ``Task.start_link``)."""
    makes_atoms: bool = False
    """The text may make an atom at run time (``String.to_atom``, ``Module.concat``, an
    interpolated ``:"room_#{id}"``)."""

    def module_declared_before(self, offset: int) -> str | None:
        """The module whose ``defmodule`` comes last before ``offset``: in a half-written file,
        whose module has no ``do`` block the parser can close, the module the code at
        ``offset`` is being written in."""
        before = [module for module in self.modules if module.start <= offset]
        return max(before, key=lambda module: module.start).name if before else None

    @property
    def facts(self) -> tuple[object, ...]:
        """Everything but offsets: what other files' findings can depend on."""
        return (
            self.short_lived,
            tuple(
                (m.name, m.uses, m.registers, m.short_lived, m.behaviours, m.restart)
                + (m.stops_normally, m.takes_any_message)
                for m in self.modules
            ),
            tuple(sorted({(c.caller, c.target, c.function, c.discarded) for c in self.calls})),
            tuple(
                sorted({(s.module, s.target, s.functions, s.request) for s in self.server_calls})
            ),
            tuple(sorted({(n.kind, n.name or "", n.keys or "") for n in self.supervision.names})),
            tuple(sorted({(s.owner, s.module, s.function) for s in self.supervision.starts})),
            tuple(
                (
                    c.owner,
                    c.placement,
                    c.complete,
                    tuple((x.kind, x.module, x.name) for x in c.children),
                )
                for c in self.supervision.lists
            ),
            tuple(
                (d.how, d.owner, d.names, d.intensity) for d in self.supervision.dynamic_supervisors
            ),
            self.supervision.dynamic_names,
            tuple(
                (d.supervisor, d.module, d.restart, d.per_entity, d.owner, d.function, d.line)
                + (d.entities, d.keyed_by_all, d.restart_default, d.failure_handled, d.own_spec)
                for d in self.supervision.dynamic_starts
            ),
            tuple(sorted({(u.kind, u.name, u.module) for u in self.uses})),
            self.handed_names,
            tuple(
                sorted(
                    {
                        (e.module, e.function, e.call, e.kind, e.via, e.conditional)
                        for e in self.effects
                    }
                )
            ),
            tuple(
                sorted(
                    {
                        (c.module, c.function, c.arity, c.target, c.target_function)
                        + (c.conditional,)
                        for c in self.function_calls
                    }
                )
            ),
            tuple(
                (t.module, t.function, t.name, t.options, t.in_process, t.escapes, t.persistent_key)
                for t in self.tables
            ),
            tuple(
                sorted(
                    {
                        (a.module, a.function, a.table or "", a.operation, a.in_process, a.client)
                        for a in self.table_accesses
                    }
                )
            ),
            tuple(sorted({(c.module, c.function, repr(c.group)) for c in self.pg2_calls})),
        )

    @property
    def has_genserver(self) -> bool:
        return any(m.genserver for m in self.modules)

    @property
    def has_server(self) -> bool:
        return any(m.server for m in self.modules)


def _first_start(captures: Captures) -> int:
    return min(nodes[0].start_byte for nodes in captures.values())


def _start_of(keyed: tuple[int, Captures]) -> int:
    return keyed[0]


def digest(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).hexdigest()


# -- summarising one file ------------------------------------------------------------------


@dataclass
class _Module:
    node: Node
    name: str
    start: int
    end: int
    parent: _Module | None
    aliases: dict[str, str] = field(default_factory=dict)
    attributes: dict[str, Node] = field(default_factory=dict)
    imports: list[tuple[str, frozenset[str] | None]] = field(default_factory=list)
    """Imported modules (full names) with the functions their ``only:`` names (None: all)."""


def _half_written_body(defmodule: Node) -> Node | None:
    """In a file being typed, ``defmodule Name do`` whose ``end`` the parser cannot match
    parses as a ``defmodule Name`` call followed by an ERROR node holding the body."""
    after = defmodule.next_named_sibling
    return after if after is not None and after.type == "ERROR" else None


_LITERALS = frozenset({"string", "charlist", "integer", "float"})
_INDENTED_ALIAS = re.compile(r"\n[ \t]{4,}alias\s")
"""An ``alias`` deeper than a module's top level: in a function, or in a nested module (searched
for in the text after a newline: a pattern that starts with a literal is many times faster
than one that starts with ``^`` or ``\\b``)."""
TYPESPECS = frozenset({"spec", "type", "typep", "opaque", "callback", "macrocallback"})
"""Module attributes that hold types: the remote "calls" in them name types."""


@dataclass
class _Found:
    calls: list[CallSite] = field(default_factory=list)
    server_calls: list[ServerCall] = field(default_factory=list)
    uses: list[NameUse] = field(default_factory=list)
    registers: dict[str, list[str]] = field(default_factory=dict)
    self_starts: list[Node] = field(default_factory=list)
    pg2_calls: list[GroupCall] = field(default_factory=list)


class _Document:
    """The document being summarised, as the model's readers ask for it (`modules.Document`)."""

    def __init__(self, found: DocumentMatches, cache: dict[str, Any] | None = None) -> None:
        self.cache: dict[str, Any] = {} if cache is None else cache
        self._found = found

    def matches(self, query: AnyQuery) -> list[Captures]:
        return self._found.get(query)

    def text(self, node: Node) -> str:
        return syntax.text(node)


class _Summariser:
    def __init__(
        self, source: Source, path: str, short_lived: bool, cache: dict[str, Any] | None
    ) -> None:
        self.source = source
        self.document = _Document(document_matches(source), cache)
        self.path = path
        self.short_lived = short_lived
        self.modules: list[_Module] = []
        self._module_starts: list[int] = []
        self._typespecs: list[tuple[int, int]] = []
        """Where ``@spec``/``@type``/``@callback``... attributes lie, in document order."""
        self.defs: list[Node] = []
        self.delegates: list[Node] = []
        self._parent_time = 0.0
        self._record_after = max(
            PARENTS_RECORDED_AFTER,
            syntax.RECORD_SECONDS_PER_NODE * source.tree.root_node.descendant_count,
        )

    def arguments(self, call: Node) -> list[Node]:
        """`calls.arguments`, through recorded parents once asking gets costly."""
        if self._parent_time >= self._record_after:
            return calls.arguments(call)
        started = time.perf_counter()
        args = calls.arguments(call)
        self._parent_time += time.perf_counter() - started
        if self._parent_time >= self._record_after:
            syntax.record_parents(call)
        return args

    # -- modules, aliases and attributes

    def collect_modules(self, node: Node, parent: _Module | None = None) -> None:
        """Modules, and from their bodies: aliases, attributes and function definitions."""
        for child in node.named_children:
            if child.type != "call":
                if child.type == "unary_operator" and parent is not None:
                    self.add_attribute(child, parent)
                continue
            target = syntax.local_target(child)
            if target == "defmodule":
                self.add_module(child, parent)
            elif parent is None:
                continue
            elif target == "alias":
                self.add_alias(child, parent)
            elif target in ("def", "defp"):
                self.defs.append(child)
            elif target == "import":
                self.add_import(child, parent)
            elif target == "defdelegate":
                self.delegates.append(child)

    def definitions_of(self, module: _Module) -> list[Node]:
        """The ``def``/``defp`` clauses of ``module`` itself (not of modules nested in it)."""
        return [d for d in self.defs if self.module_at(d.start_byte) is module]

    def collect_function_aliases(self) -> None:
        """``alias Supervisor.Spec`` written as a statement of a function's body (old
        application modules do it in ``start/2``): read as the module's, unless the module
        aliases that short name itself. The alias is lexically the function's, but another
        function of the module giving the same short name another meaning is rare."""
        if not _INDENTED_ALIAS.search("\n" + self.source.text):
            return  # every alias is at a module's top level (two spaces in)
        for definition in self.defs:
            block = syntax.do_block(definition)
            if block is None:
                continue
            module = self.module_at(definition.start_byte)
            if module is None:
                continue
            for statement in block.named_children:
                if statement.type == "call" and syntax.local_target(statement) == "alias":
                    for written, written_as in modules.read_alias(statement, module.name):
                        full = self.expand(written, module)
                        module.aliases.setdefault(modules.short_name(full, written_as), full)

    def add_module(self, node: Node, parent: _Module | None) -> None:
        args = syntax.argument_nodes(node)
        body = syntax.do_block(node) or _half_written_body(node)
        if not args or args[0].type != "alias" or body is None:
            return
        depth, scope = 0, parent
        while scope is not None and depth < syntax.MAX_MODULE_NESTING:
            depth, scope = depth + 1, scope.parent
        if depth >= syntax.MAX_MODULE_NESTING:
            return
        local = syntax.text(args[0])
        name = modules.nested_name(parent.name if parent is not None else None, local)
        if parent is not None:  # a nested module is aliased by its first part in its parent
            head = local.split(".")[0]
            parent.aliases[head] = f"{parent.name}.{head}"
        module = _Module(node, name, node.start_byte, max(node.end_byte, body.end_byte), parent)
        self.modules.append(module)
        self.collect_modules(body, module)

    def add_attribute(self, node: Node, module: _Module) -> None:
        operand = node.child_by_field_name("operand")
        if not syntax.text(node).startswith("@") or operand is None or operand.type != "call":
            return
        name = syntax.local_target(operand)
        if name in TYPESPECS:
            self._typespecs.append((node.start_byte, node.end_byte))
        args = syntax.argument_nodes(operand)
        if name and len(args) == 1:
            module.attributes.setdefault(name, args[0])

    def add_import(self, call: Node, module: _Module) -> None:
        imported = modules.read_import(call)
        if imported is None:
            return
        full = self.expand(imported[0], module)
        if full.split(".", 1)[0] not in _STDLIB | _LIBRARY_IMPORTS:
            module.imports.append((full, imported[1]))

    def in_typespec(self, byte: int) -> bool:
        """``byte`` lies in a ``@spec``, ``@type``... attribute: ``Shop.Cart.t()`` there names a
        type, it calls nothing."""
        position = bisect.bisect_right(self._typespecs, (byte, 1 << 62)) - 1
        return position >= 0 and byte < self._typespecs[position][1]

    def module_at(self, byte: int) -> _Module | None:
        """The innermost module around ``byte``: the last module starting at or before it, or
        the nearest of its enclosing modules that still contains it (modules are collected in
        document order, so their starts are sorted)."""
        if len(self._module_starts) != len(self.modules):
            self._module_starts = [module.start for module in self.modules]
        position = bisect.bisect_right(self._module_starts, byte) - 1
        module = self.modules[position] if position >= 0 else None
        while module is not None and not module.start <= byte < module.end:
            module = module.parent
        return module

    def add_alias(self, call: Node, module: _Module) -> None:
        for written, written_as in modules.read_alias(call, module.name):
            full = self.expand(written, module)  # through the aliases of the modules around
            module.aliases[modules.short_name(full, written_as)] = full

    @cached_property
    def shadowed_heads(self) -> frozenset[str]:
        """Names of Elixir's own modules (``Registry``, ``Task``) that an ``alias`` of this file
        may give to a module of its own (``alias MyApp.Downloads.Registry``): the calls through
        them are asked about one by one (`modules.shadowed`)."""
        names = {name for module in self.modules for name in module.aliases}
        return frozenset(names & (_SPECIAL | _STDLIB))

    def expand(self, alias: str, module: _Module | None) -> str:
        head, _, rest = alias.partition(".")
        scope = module
        while scope is not None:
            if head in scope.aliases:
                full = scope.aliases[head]
                return f"{full}.{rest}" if rest else full
            scope = scope.parent
        return alias

    def resolve(self, node: Node | None, module: _Module | None, depth: int = 0) -> str | None:
        """The name a node stands for (an alias, an atom, ``__MODULE__``, a module attribute,
        ``Module.concat`` of those), or None when it is computed at run time."""
        if node is None or depth > 3:
            return None
        kind = node.type
        if kind == "alias":
            return self.expand(syntax.text(node), module)
        if kind == "atom":
            text = syntax.text(node)
            return None if text.startswith(':"') and "#{" in text else text
        if kind == "identifier" and syntax.text(node) == "__MODULE__":
            return module.name if module is not None else None
        if kind == "dot":
            left, right = node.child_by_field_name("left"), node.child_by_field_name("right")
            base = self.resolve(left, module, depth + 1)
            if base is None or base.startswith(":") or right is None or right.type != "alias":
                return None
            return f"{base}.{syntax.text(right)}"
        if kind == "unary_operator" and syntax.text(node).startswith("@") and module is not None:
            operand = node.child_by_field_name("operand")
            if operand is not None and operand.type == "identifier":
                value = module.attributes.get(syntax.text(operand))
                return self.resolve(value, module, depth + 1)
            return None
        if kind == "call" and syntax.remote_target(node) == ("Module", "concat"):
            return self.resolve_concat(node, module, depth)
        return None

    def resolve_server(self, node: Node | None, module: _Module | None) -> str | None:
        """The name a server is registered or called by: as `resolve` reads it, and
        ``{:global, Name}`` (or a module attribute holding it) as ``Name``: one process for
        the whole cluster, started and called by that fixed name."""
        if node is not None and node.type == "unary_operator" and module is not None:
            operand = node.child_by_field_name("operand")
            if syntax.text(node).startswith("@") and operand is not None:
                node = module.attributes.get(syntax.text(operand), node)
        if node is not None and node.type == "tuple":
            items = [c for c in node.named_children if c.type != "comment"]
            if len(items) == 2 and syntax.text(items[0]) == ":global":
                return self.resolve(items[1], module)
            return None
        return self.resolve(node, module)

    def resolve_concat(self, call: Node, module: _Module | None, depth: int) -> str | None:
        args = syntax.argument_nodes(call)
        if len(args) == 1 and args[0].type == "list":
            args = [a for a in args[0].named_children if a.type != "comment"]
        parts = [self.resolve(arg, module, depth + 1) for arg in args]
        if not parts or any(p is None or p.startswith(":") for p in parts):
            return None
        return ".".join(p for p in parts if p)

    # -- the summary

    def summary(self) -> FileSummary:
        self.collect_modules(self.source.tree.root_node)
        self.collect_function_aliases()
        tables, accesses = self.tables()
        found = _Found()
        remote: list[tuple[Node, str, str]] = []
        to_modules: list[tuple[Node, str, str]] = []
        starting: list[Node] = []
        node_text = self.source.node_text  # `syntax.text` without copying each node's bytes
        for captures in self.facts():
            if "call" in captures:
                call, target = captures["call"][0], captures["module"][0]
                texts = self.written_module(target), node_text(captures["function"][0])
                if not texts[0]:
                    continue  # `mod.Sub.f()` on a variable: no module the tool can name
                remote.append((call, *texts))
                if target.type != "atom" and texts[0].split(".", 1)[0] not in _STDLIB:
                    to_modules.append((call, *texts))
                self.remote_call(call, target, *texts, found)
                if texts[0] in supervision_facts.CALL_MODULES:
                    starting.append(call)
            elif "tuple" in captures:
                self.via_tuple(captures["tuple"][0], found)
            elif "start_node" in captures:
                starting.append(captures["start_node"][0])
        return FileSummary(
            path=self.path,
            digest=digest(self.source.text),
            short_lived=self.short_lived,
            modules=tuple(self.module_summaries(found.registers)),
            calls=tuple(found.calls),
            server_calls=tuple(self.through_public_functions(found.server_calls, self.defs)),
            supervision=supervision_facts.supervision(
                starting, self.resolve_here, self.module_name_at, self.span
            ),
            uses=tuple(found.uses),
            pg2_calls=tuple(found.pg2_calls),
            handed_names=self.handed_names(),
            effects=self.effects(remote),
            function_calls=(
                self.function_calls(to_modules, found.self_starts)
                if self.path.endswith(".ex")
                else ()
            ),
            tables=tables,
            table_accesses=accesses,
            starts_tasks=_starts_tasks(self.source.text),
            makes_atoms=_makes_atoms(self.source.text),
        )

    def tables(self) -> tuple[tuple[ets.TableSummary, ...], tuple[ets.AccessSummary, ...]]:
        """The file's ETS tables and accesses (none asked for when the text names no `:ets`)."""
        if ":ets." not in self.source.text:
            return (), ()
        return ets.summary(self.document)

    @cached_property
    def functions(self) -> Functions:
        """The file's functions, for the effects and the calls of each."""
        return functions_of(
            ((node, syntax.local_target(node) or "") for node in self.defs), self.module_name_at
        )

    def effects(self, remote: list[tuple[Node, str, str]]) -> tuple[FunctionEffect, ...]:
        return function_effects(self.functions, remote)

    def function_calls(
        self, to_modules: list[tuple[Node, str, str]], self_starts: list[Node]
    ) -> tuple[FunctionCall, ...]:
        """The calls public functions make to other modules (see `effects.function_calls`):
        remote calls to an alias, calls to imported functions, ``defdelegate``s, and a start
        of the module's own process (``GenServer.start_link(__MODULE__, ...)``), read as a
        call to its ``init/1``, which runs before the start returns. Not asked of scripts
        (`.exs`: tests, configuration), whose functions no module calls."""
        project: list[ProjectCall] = []
        for call, written, function in to_modules:
            module = self.module_at(call.start_byte)
            if module is None:
                continue
            target = self.expand(written, module)
            if target != module.name:
                project.append((call, target, function))
        project.extend(self.imported_calls())
        for call in self_starts:
            module = self.module_at(call.start_byte)
            if module is not None:
                project.append((call, module.name, "init"))
        delegations = []
        for node in self.delegates:
            found = clauses.delegate(node)
            around = self.module_at(node.start_byte)
            to = self.resolve(found.target, around) if found and around else None
            if found and around and to and not to.startswith(":"):
                delegations.append((around.name, found.name, found.arity, to, found.function))
        return function_calls(self.functions, project, delegations)

    def imported_calls(self) -> Iterator[ProjectCall]:
        """Local calls to functions a module imports from another (not defined in the module,
        and named in the import's ``only:`` when it has one)."""
        importing = [m for m in self.modules if m.imports]
        if not importing:
            return
        defined: dict[int, set[str]] = {}
        for node in [*self.defs, *self.delegates]:
            module = self.module_at(node.start_byte)
            if module is not None:
                defined.setdefault(id(module), set()).add(clauses.name(node))
        for module in importing:
            own = defined.get(id(module), set())
            for call, name in self.local_calls_in(module):
                if (
                    name in _KERNEL_LOCALS
                    or name in own
                    or self.module_at(call.start_byte) != module
                ):
                    continue
                named = [imported for imported, only in module.imports if only and name in only]
                if not named and not name.startswith(("is_", "sigil_")):
                    named = [imported for imported, only in module.imports if only is None]
                for imported in named:
                    yield call, imported, name

    def local_calls_in(self, module: _Module) -> Iterator[tuple[Node, str]]:
        """The local calls in ``module`` that may go to an imported function: every one when
        an import names no functions, else those written with a name the imports give."""
        if any(only is None for _imported, only in module.imports):
            for captures in matches(syntax.LOCAL_CALLS, module.node):
                yield captures["call"][0], syntax.text(captures["function"][0])
            return
        names = set().union(*(only or () for _imported, only in module.imports))
        data = module.node.text or b""
        root = self.source.tree.root_node
        for at, name in words_at(data, names):
            start = module.start + at
            call = local_call_at(root, start, start + len(name.encode()))
            if call is not None:
                yield call, name

    def facts(self) -> list[Captures]:
        """Remote calls, `:via`/`:pg` tuples and `name:` options in document order (the
        queries share the rules' walk of the tree)."""
        document = document_matches(self.source)
        # A remote call starts where its call does (thousands of them in a long body).
        keyed = [(c["call"][0].start_byte, c) for c in document.get(syntax.REMOTE_CALLS)]
        keyed += [
            (_first_start(c), c)
            for query in (_FACTS, supervision_facts.QUERY)
            for c in document.get(query)
        ]
        keyed.sort(key=_start_of)  # stable: equal starts keep the queries' order
        return [captures for _, captures in keyed]

    def written_module(self, target: Node) -> str:
        """The module a remote call's target names as written (``Repo``, ``:ets``), with
        ``__MODULE__.Client`` made the enclosing module's own (``MyApp.Ldap.Client``); empty
        for ``mod.Client`` on a variable."""
        text = self.source.node_text(target)
        if target.type != "dot":
            return text
        if not text.startswith("__MODULE__."):
            return ""
        module = self.module_at(target.start_byte)
        return f"{module.name}.{text.removeprefix('__MODULE__.')}" if module is not None else ""

    def resolve_here(self, node: Node | None) -> str | None:
        """`resolve` in the module around ``node``."""
        return self.resolve(node, self.module_at(node.start_byte)) if node is not None else None

    def module_name_at(self, byte: int) -> str | None:
        module = self.module_at(byte)
        return module.name if module is not None else None

    def span(self, node: Node) -> tuple[int, int]:
        return self.source.node_span(node)

    def remote_call(
        self, call: Node, target_node: Node, target_text: str, function: str, found: _Found
    ) -> None:
        if (target_text, function) in _SELF_STARTS:
            self.self_start(call, target_text, found)
        if target_text == ":pg2":
            self.group_call(call, function, found)
            return
        head = target_text.split(".", 1)[0]
        shadowed = head in self.shadowed_heads and modules.shadowed(call, head)
        if head not in _SPECIAL or shadowed:
            if target_node.type == "atom" or (head in _STDLIB and not shadowed):
                return
            module = self.module_at(call.start_byte)
            if module is None:
                return
            target = self.expand(target_text, module)
            if (
                target != module.name
                and target.split(".", 1)[0] not in _STDLIB
                and not self.in_typespec(call.start_byte)
            ):
                # Not whether a variable it is bound to is used later: that reads the rest
                # of the function for every call (a tenth of a summary's time).
                site = calls.site(call)
                dropped = values.discarded(site, unused_variables=False)
                constants = _constant_positions(call, site)
                found.calls.append(
                    CallSite(module.name, target, function, *self.span(call), dropped, constants)
                )
            return
        module = self.module_at(call.start_byte)
        key = (target_text, function)
        if key not in _GENSERVER_CALLS and key not in _GENSERVER_STARTS and not _may_use(*key):
            return  # most calls (thousands of Task.async): their arguments are not read
        args = self.arguments(call)
        if key in _GENSERVER_CALLS:
            server = self.resolve_server(args[0], module) if args else None
            if server is None and args and args[0].type == "identifier":
                server = self.resolve(self.parameter_default(call, args[0]), module)
            if server is not None and module is not None:
                request = (modules.request_tag(args[1]) if len(args) > 1 else None) or ""
                found.server_calls.append(
                    ServerCall(module.name, server, (), *self.span(call), request=request)
                )
        elif key in _GENSERVER_STARTS:
            self.registration(args, module, found)
        else:
            use_kind = _use_kind(target_text, function, len(args))
            name = self.resolve(args[0], module) if use_kind is not None and args else None
            if use_kind is not None and name is not None:
                caller = module.name if module is not None else ""
                if not (use_kind == PG and name == supervision_facts.DEFAULT_PG_SCOPE):
                    found.uses.append(NameUse(use_kind, name, *self.span(args[0]), module=caller))

    def group_call(self, call: Node, function: str, found: _Found) -> None:
        module = self.module_at(call.start_byte)
        args = self.arguments(call)
        group = self.term(args[0], module) if args and function != "which_groups" else None
        name = module.name if module is not None else ""
        found.pg2_calls.append(GroupCall(name, function, group, *self.span(call)))

    def term(self, node: Node | None, module: _Module | None, depth: int = 0) -> Term:
        """The value ``node`` stands for as far as the code says it (see `model.groups`):
        None where it is computed at run time."""
        if node is None or depth > 4:
            return None
        if node.type == "tuple":
            return tuple(
                self.term(item, module, depth + 1)
                for item in node.named_children
                if item.type != "comment"
            )
        if node.type in _LITERALS and not any(
            child.type == "interpolation" for child in node.named_children
        ):
            return syntax.text(node)
        if node.type == "unary_operator" and module is not None:
            name = syntax.attribute_name(node)
            value = module.attributes.get(name) if name else None
            if value is not None:
                return self.term(value, module, depth + 1)
        return self.resolve(node, module, depth)

    def parameter_default(self, call: Node, variable: Node) -> Node | None:
        """``def read(server \\\\ __MODULE__), do: GenServer.call(server, :read)``: the default
        a parameter the call targets takes, the server a caller reaches without naming one."""
        definition = syntax.enclosing_definition(call)
        if definition is None:
            return None
        return clauses.default_of(definition, syntax.text(variable))

    def handed_names(self) -> tuple[str, ...]:
        """Names that ``child_spec``, ``start_link``, ``start`` and ``init`` functions hand to
        a function the tool does not read as a start (``registry(:duplicate, @name)`` imported
        from a helper module, ``Specs.registry(..)``): it may start a process under the name."""
        handed: list[str] = []
        for definition in self.defs:
            if clauses.name(definition) not in _STARTING_FUNCTIONS:
                continue
            module = self.module_at(definition.start_byte)
            for captures in matches(_CALLS, definition):
                node = captures["call"][0]
                if node != definition and _may_start_under_name(node):
                    handed.extend(self.resolve(arg, module) or "" for arg in calls.arguments(node))
        return tuple(dict.fromkeys(name for name in handed if name[:1].isupper()))

    def registration(self, args: list[Node], module: _Module | None, found: _Found) -> None:
        """``GenServer.start_link(__MODULE__, arg, name: X)``: the module runs as ``X``."""
        if module is None or len(args) < 2:
            return
        server_module = self.resolve(args[0], module)
        options = _options(args[2:]) or {}
        name = self.resolve_server(options.get("name"), module)
        if server_module is not None and name is not None:
            found.registers.setdefault(server_module, []).append(name)

    def self_start(self, call: Node, target_text: str, found: _Found) -> None:
        """``GenServer.start_link(__MODULE__, arg)`` (or ``:gen_server.start_link({:local,
        name}, __MODULE__, arg, opts)``): the module starts its own process."""
        module = self.module_at(call.start_byte)
        args = self.arguments(call)
        at = 1 if target_text.startswith(":") and len(args) == 4 else 0
        if module is not None and len(args) > at and self.resolve(args[at], module) == module.name:
            found.self_starts.append(call)

    def via_tuple(self, node: Node, found: _Found) -> None:
        """``{:via, Registry, {Name, key}}`` uses a Registry."""
        items = [c for c in node.named_children if c.type != "comment"]
        module = self.module_at(node.start_byte)
        if len(items) == 3 and syntax.text(items[1]) == "Registry":
            inner = items[2]
            parts = [c for c in inner.named_children if c.type != "comment"]
            name = self.resolve(parts[0], module) if inner.type == "tuple" and parts else None
            if name is not None:
                caller = module.name if module is not None else ""
                found.uses.append(
                    NameUse(REGISTRY, name, *self.span(parts[0]), via=True, module=caller)
                )

    def through_public_functions(
        self, server_calls: list[ServerCall], defs: list[Node]
    ) -> list[ServerCall]:
        """Attach to each server call the public functions that reach it: the `def` around it,
        or the `def`s of the same module that call the private function around it. A call in a
        function that reads ETS or `:persistent_term` first is a cache miss, not the common
        path, and is left out."""
        if not server_calls:
            return server_calls
        functions = [(node, clauses.name(node)) for node in defs]
        spans = sorted((*self.span(node), index) for index, (node, _) in enumerate(functions))
        result = []
        for server_call in server_calls:
            enclosing = _innermost(functions, spans, server_call)
            names: tuple[str, ...] = ()
            if enclosing is not None:
                node, name = enclosing
                if self.reads_a_cache(node):
                    continue
                if syntax.local_target(node) == "def":
                    names = (name,)
                elif name:
                    names = self.public_callers(functions, node, name)
            result.append(
                ServerCall(
                    server_call.module,
                    server_call.target,
                    names,
                    server_call.start,
                    server_call.end,
                    server_call.request,
                )
            )
        return result

    def reads_a_cache(self, definition: Node) -> bool:
        """The function reads ETS or `:persistent_term`."""
        if _PERSISTENT_READ.search(syntax.text(definition)):
            return True
        if ":ets." not in self.source.text:
            return False
        reads = self.ets_reads
        first = bisect.bisect_left(reads, definition.start_byte)
        return first < len(reads) and reads[first] < definition.end_byte

    @cached_property
    def ets_reads(self) -> list[int]:
        """Where each ETS read starts, sorted: `reads_a_cache` looks a function's up by
        position instead of going through every access of the file for each server call."""
        return sorted(a.call.start_byte for a in ets.of(self.document).accesses if a.facts.read)

    def public_callers(
        self, functions: list[tuple[Node, str]], private: Node, name: str
    ) -> tuple[str, ...]:
        module = self.module_at(private.start_byte)
        pattern = re.compile(rf"(?<![\w.:]){re.escape(name)}[(\s]")
        found = []
        for node, public in functions:
            if syntax.local_target(node) != "def" or not public:
                continue
            if self.module_at(node.start_byte) is not module:
                continue
            body = syntax.text(node)
            head_end = body.find(public) + len(public)
            if pattern.search(body, head_end):
                found.append(public)
        return tuple(dict.fromkeys(found))

    def module_summaries(self, registers: dict[str, list[str]]) -> Iterator[ModuleSummary]:
        stopping = modules.may_stop_normally(self.source.text)
        informed = "handle_info" in self.source.text
        starting = ".start(" in self.source.text
        for module in self.modules:
            uses = [(use.node, use.alias) for use in modules.uses(module.node)]
            used = {alias for _node, alias in uses}
            use_node = next(
                (n for n, used in uses if used == "GenServer"), uses[0][0] if uses else None
            )
            name_node = syntax.argument_nodes(module.node)[0]
            task = modules.mix_task(module.name, used)
            restart, restart_from = modules.child_restart(module.node)
            start, end = self.span(name_node)
            use_start, use_end = self.span(use_node) if use_node is not None else (start, end)
            yield ModuleSummary(
                name=module.name,
                start=start,
                end=end,
                uses=tuple(used for _n, used in uses),
                use_start=use_start,
                use_end=use_end,
                registers=tuple(dict.fromkeys(registers.get(module.name, []))),
                short_lived=task,
                starts_apps=modules.started_apps(syntax.text(module.node)) if task else (),
                behaviours=tuple(syntax.behaviours(module.node)),
                feed=feed(module.node) if "GenStage" in used else None,
                restart=restart,
                restart_from=restart_from,
                stops_normally=modules.normal_stop(self.definitions_of(module))
                if stopping and restart == ":permanent"
                else "",
                takes_any_message=informed
                and modules.takes_any_message(self.definitions_of(module)),
                unlinked_starts=modules.unlinked_starts(self.definitions_of(module))
                if starting
                else (),
            )


def _options(args: list[Node]) -> dict[str, Node] | None:
    """The keyword options among ``args`` (a trailing ``keywords`` or a literal list), or None
    when they come from a variable or a call."""
    if not args:
        return {}
    last = args[-1]
    if last.type == "keywords" or last.type == "list":
        return dict(syntax.keyword_pairs(last))
    return None


def _may_use(module: str, function: str) -> bool:
    """Whether `_use_kind` can name a use for some arity of the call."""
    return (
        (module == "Task.Supervisor" and function in _TASK_SUPERVISOR_USES)
        or (module == "Registry" and function in _REGISTRY_USES)
        or (module == ":pg" and function in _PG_SCOPED_ARITY)
    )


def _use_kind(module: str, function: str, arity: int) -> str | None:
    if module == "Task.Supervisor" and function in _TASK_SUPERVISOR_USES:
        return TASK_SUPERVISOR
    if module == "Registry" and function in _REGISTRY_USES:
        return REGISTRY
    if module == ":pg" and _PG_SCOPED_ARITY.get(function) == arity:
        return PG
    return None


def _innermost(
    functions: list[tuple[Node, str]], spans: list[tuple[int, int, int]], call: ServerCall
) -> tuple[Node, str] | None:
    """The function around ``call``: definitions never nest, so it can only be the last one
    that starts before the call (``spans``: each function's start, end and index, sorted)."""
    position = bisect.bisect_right(spans, (call.start, float("inf"), 0)) - 1
    if position < 0 or spans[position][1] < call.end:
        return None
    return functions[spans[position][2]]


def _constant_positions(call: Node, site: Node) -> tuple[int, ...]:
    """Which arguments of ``call`` are written as single constants: a literal atom, string or
    number (``"default"``, ``:main``) or a module attribute (``@default_session``); a value
    piped into the call (``site`` is the pipe) is its first argument, and no constant."""
    shift = 1 if site is not call and syntax.is_pipe(site) else 0
    return tuple(
        position + shift
        for position, argument in enumerate(syntax.argument_nodes(call))
        if _single_constant(argument)
    )


def _single_constant(node: Node) -> bool:
    if node.type in _SINGLE_CONSTANTS:
        return not any(c.type == "interpolation" for c in syntax.named_children(node))
    return node.type == "unary_operator" and syntax.attribute_name(node) is not None


_SINGLE_CONSTANTS = frozenset(
    {"atom", "quoted_atom", "string", "integer", "float", "boolean", "nil", "char"}
)


def summarize(
    source: Source, path: str, short_lived: bool = False, cache: dict[str, Any] | None = None
) -> FileSummary:
    """What cross-file rules need from one file, from its tree. ``cache``: the facts the
    model has already gathered from this very source (a rule context's `Context.cache`), so
    that modules and ETS tables are not gathered a second time for the summary."""
    return _Summariser(source, path, short_lived, cache).summary()
