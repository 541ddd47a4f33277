"""OTP201 dynamic-atom-name: process names made as atoms at run time leak the atom table."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from tree_sitter import Node

from otp_thinking import fixes, syntax
from otp_thinking.context import Context
from otp_thinking.findings import Edit, Finding, Fix
from otp_thinking.model import calls, clauses
from otp_thinking.model import modules as model_modules
from otp_thinking.model.project import ProjectFacts
from otp_thinking.parsing import compile_query
from otp_thinking.rule import Rule

DOC = """\
## What it flags
An atom made at run time — `String.to_atom/1`, `List.to_atom/1`, `:erlang.binary_to_atom/1,2`,
`:erlang.list_to_atom/1`, an interpolated atom `:"room_#{id}"`, or `Module.concat/1,2` of a
run-time value — used as a process name or to reach a process by name: the `name:` option of
`start_link`/`start`/`child_spec` calls and child specs, `Process.register/2`,
`GenServer.call/cast/stop/whereis`, `Agent.*`, `Supervisor.*`/`DynamicSupervisor.*`,
`Process.whereis/1`, `send/2`, `Process.send_after/3`, `:sys.get_state/1` and friends. Also
through a variable bound in the same function:

```elixir
name = String.to_atom("room_" <> room_id)
GenServer.start_link(__MODULE__, room_id, name: name)
```

Only where the code shows that the names are one per value, not one per configured instance
(the message names the evidence):
- the module's processes are started while the application runs: a function that is no boot
  function (`init/1` and `handle_continue/2`, `Application.start/2`, `start_link`,
  `child_spec`, `init_…`), of a module that is no Application or Mix task, calls its
  `start`/`start_link` or gives it to `DynamicSupervisor.start_child` with a run-time value (a
  request handler, a `handle_call/3`, a game loop). A supervisor's function that does so
  (`RoomSupervisor.open/1`) counts through a caller of it that is such a function:
  supervisors also start their children at boot;
- or the atom names a process the module starts itself, in a function such a function of
  another module calls (`Lobby.handle_call/3` calls `Room.open/1`).

Either way the module must name processes itself (a `name:` or `Process.register/2` with
such an atom): a module that only reaches processes named elsewhere (a trader casting to
`:"leader_#{symbol}"`, registered by the leader's module) says nothing of how many there are.

A value new on every call (`UUID.uuid4()`, `System.unique_integer()`) is not evidence enough
on its own: blind reviewers judged such names made once per Mix task run or per dev-only
backend, where the leak is bounded by how often the code runs.

Not flagged: a child spec's `id:` (any term will do there; it names no process); atoms fixed at
compile time (module attributes, module bodies outside functions, interpolations of only
literals, `@attributes`, `__MODULE__` and `unquote`); names derived from another name, where
every run-time part is a variable called `name`, `*_name`, `module`, `mod` or `*_module`, a
field or function of that name (`project.name`, `Project.name(project)`) or such an option
(`opts[:name]`, `Keyword.fetch!(opts, :name)`) — `:"#{name}_supervisor"`,
`String.to_atom("#{name}_sup")`, `Module.concat(name, "Registry")`: one atom per configured
instance, not one per request, the usual way a library names the processes under a supervisor it
is given a name for; `String.to_existing_atom/1` and `:erlang.binary_to_existing_atom/2` (they
make no atom); `Module.concat` of aliases and literals only (`Module.concat(__MODULE__,
Supervisor)`); dynamic atoms that never name a process; tests, `.exs` scripts and Mix tasks,
where the run is short and the leak dies with it; names of processes started only at boot
(listed in a supervisor's children, started from `init/1` or `Application.start/2`), or that
nothing in the project starts: how many there can be is in the configuration or in the callers,
not in this code, and an atom per shard, pin or configured queue is no leak.

## Why it matters
Atoms are never garbage-collected. Every distinct run-time name — one per room, user or
tenant — adds an atom to a table whose default limit is 1,048,576 entries; when it is full the
whole node crashes. The names also tie you to local registration: nothing lists them by key,
and a typo in one of the conversions addresses a process that does not exist.

## Example
```elixir
def start_link(room_id) do
  GenServer.start_link(__MODULE__, room_id, name: String.to_atom("room_" <> room_id))
end

def post(room_id, message) do
  GenServer.cast(String.to_atom("room_" <> room_id), {:post, message})
end
```

Register the processes in a `Registry` started by your application
(`{Registry, keys: :unique, name: MyApp.Registry}`) and name them with a via tuple:

```elixir
def start_link(room_id) do
  GenServer.start_link(__MODULE__, room_id, name: via_tuple("room_" <> room_id))
end

def post(room_id, message), do: GenServer.cast(via_tuple("room_" <> room_id), {:post, message})

defp via_tuple(key), do: {:via, Registry, {MyApp.Registry, key}}
```

## Fix
Rewrites every dynamic-atom name and address in the module at once, so that the processes
it registers and the ones it calls keep finding each other: `String.to_atom(x)` becomes
`via_tuple(x)`, `:"room_#{id}"` becomes `via_tuple("room_#{id}")`, `List.to_atom(x)` becomes
`via_tuple(List.to_string(x))` and `Module.concat(a, b)` becomes `via_tuple([a, b])`; a
variable is fixed where it is bound. `Process.whereis/1` becomes `GenServer.whereis/1`, and
`send/2`, `Process.send/3`, `Process.send_after/3,4` and `Process.monitor/1` get the pid from
`GenServer.whereis(via_tuple(...))`, since they do not accept via tuples. The fix adds
`defp via_tuple(key), do: {:via, Registry, {MyApp.Registry, key}}` at the end of the module (or
reuses the module's own `via_tuple/1`). The registry is a unique-keys Registry the application
starts, one whose namespace encloses the module (`MyApp.Registry`, or `MyApp.Rooms.Registry` for
`MyApp.Rooms.Room`); when it starts none that fits, the fix adds
`{Registry, keys: :unique, name: MyApp.Registry}` to its children, after the infrastructure and
before the first child that uses it (or, when they are no literal list, borrows one it starts).

The fix is unsafe: code in other modules that reaches these processes through the same atoms
(`GenServer.call(:"room_42", ...)`, `Process.whereis`) must move to the via tuple too, and
the registered names change in tools such as Observer. No fix is offered for a module where
some site cannot be rewritten (`Process.register/2`, a `name:` given to a module whose
`start_link` may not accept via tuples, a variable also used for something else): fix those by
hand, every site of a name together.

Configure the registry with `[names] registry = "MyApp.Registry"`.
"""

CONVERSIONS = compile_query(
    """
    (call target: (dot left: (alias) @module right: (identifier) @function)
      (#match? @module "^(String|List)$") (#eq? @function "to_atom")) @conversion
    (call target: (dot left: (atom) @module right: (identifier) @function)
      (#eq? @module ":erlang") (#match? @function "^(binary_to_atom|list_to_atom)$")) @conversion
    (call target: (dot left: (alias) @module right: (identifier) @function)
      (#eq? @module "Module") (#eq? @function "concat")) @concat
    (quoted_atom (interpolation)) @interpolated
    """
)

MESSAGE = (
    "{what} makes a new atom for every distinct {value} and uses it {use}, and {evidence}; "
    "atoms are never garbage-collected, so name the process with a via tuple on a Registry "
    "instead."
)

START_FUNCTIONS = frozenset({"start_link", "start", "start_child", "child_spec"})
# Starters whose `name:` takes `{:via, Registry, ...}` like any GenServer name.
VIA_STARTERS = frozenset(
    {"GenServer", "Agent", "Supervisor", "DynamicSupervisor", "Task.Supervisor", "GenStage"}
)
# Calls whose first argument names a process and accepts a via tuple.
ADDRESSES = frozenset(
    {
        *(("GenServer", f) for f in ("call", "cast", "stop", "whereis")),
        *((":gen_server", f) for f in ("call", "cast", "stop")),
        *((":gen_statem", f) for f in ("call", "cast", "stop")),
        *(("Agent", f) for f in ("get", "update", "get_and_update", "cast", "stop")),
        *(
            ("Supervisor", f)
            for f in (
                "which_children",
                "count_children",
                "start_child",
                "terminate_child",
                "delete_child",
                "restart_child",
                "stop",
            )
        ),
        *(
            ("DynamicSupervisor", f)
            for f in ("start_child", "which_children", "count_children", "terminate_child", "stop")
        ),
        *(
            ("Task.Supervisor", f)
            for f in ("async", "async_nolink", "start_child", "children", "terminate_child")
        ),
        *((":sys", f) for f in ("get_state", "replace_state", "get_status", "suspend", "resume")),
    }
)
# Calls whose first argument names a process but must be a pid or an atom: they get the pid.
NEEDS_PID = frozenset(
    {
        ("", "send"),
        ("Kernel", "send"),
        ("Process", "send"),
        ("Process", "send_after"),
        ("Process", "monitor"),
        (":erlang", "send"),
    }
)
WHEREIS = frozenset({("Process", "whereis"), (":erlang", "whereis")})
# Registration by atom: flagged, fixed by hand.
REGISTERS = {("Process", "register"): 1, (":erlang", "register"): 0, ("Process", "unregister"): 0}

NAMING = frozenset({"name", "register"})
"""Sites where the module gives a process its name, rather than reaching one named elsewhere:
the evidence that names are one per value is about the processes the module names."""

DERIVED_NAME = re.compile(r"^(name|\w+_name|module|mod|\w+_module|scope|\w+_scope)$")


@dataclass
class Site:
    """Where a dynamic atom is used as a name, and the edit that moves it to ``via_tuple``."""

    kind: str  # "name", "address", "needs_pid", "whereis", "register", or "id" (neutral)
    call: Node | None  # the call the name is given to (None for child-spec tuples)
    fixable: bool


@dataclass
class Use:
    """One dynamic atom expression that ends up naming a process."""

    atom: Node  # the expression that makes the atom
    sites: list[tuple[Node, Site]] = field(default_factory=list)  # (argument node, site)
    variable: str | None = None


def check(context: Context) -> Iterator[Finding]:
    uses = list(_uses(context))
    if not uses:
        return
    index = context.project.index
    facts = index.facts if index.complete else None
    by_module: dict[int, list[Use]] = {}
    modules: dict[int, Node | None] = {}
    for use in uses:
        module = syntax.enclosing_module(use.atom)
        key = module.id if module is not None else -1
        by_module.setdefault(key, []).append(use)
        modules[key] = module
    for key, module_uses in by_module.items():
        if not any(site.kind in NAMING for use in module_uses for _node, site in use.sites):
            continue  # it only reaches processes named elsewhere: whose, it does not show
        module = modules[key]
        name = (
            model_modules.full_name(module)
            if module is not None
            else context.summary.module_declared_before(context.span(module_uses[0].atom)[0])
        )
        started = _started_on_demand(facts, name) or next(
            (e for use in module_uses if (e := _starts_on_demand(facts, name, use))), None
        )
        if started is None:
            continue
        fix = _fix(context, module, module_uses)
        for use in module_uses:
            yield context.finding(RULE, use.atom, _message(use, started), fix=fix)


# -- evidence that the names are not bounded ----------------------------------------------


def _started_on_demand(facts: ProjectFacts | None, module: str | None) -> str | None:
    """The module's processes are started while the application runs, one per value."""
    if facts is None or module is None:
        return None
    starter = facts.started_on_demand(module)
    if starter is None:
        return None
    return f"{starter} starts {module} processes while the application runs, one for each value"


def _starts_on_demand(facts: ProjectFacts | None, module: str | None, use: Use) -> str | None:
    """The atom names a process that the function holding the start call starts, and another
    module calls that function while the application runs."""
    if facts is None or module is None:
        return None
    for node, site in use.sites:
        definition = syntax.enclosing_definition(node)
        if site.kind != "name" or definition is None:
            continue
        function = clauses.name(definition)
        caller = facts.called_on_demand(module, function) if function else None
        if caller is not None:
            return (
                f"{caller} calls {module}.{function}, which starts a process under such a "
                "name, while the application runs"
            )
    return None


# -- the message ------------------------------------------------------------------------


def _message(use: Use, evidence: str) -> str:
    values = [_shorten(syntax.text(leaf)) for i in _inputs(use.atom) for leaf in _runtime_leaves(i)]
    value = " and ".join(f"`{v}`" for v in dict.fromkeys(values)) or "run-time value"
    return MESSAGE.format(what=_what(use.atom), value=value, use=_use_text(use), evidence=evidence)


def _what(node: Node) -> str:
    if node.type == "quoted_atom":
        return "This interpolated atom"
    call = calls.of_site(node)
    target = call.child_by_field_name("target") if call is not None else None
    return syntax.text(target) if target is not None else "This conversion"


def _inputs(node: Node) -> list[Node]:
    """What the atom is made of: the interpolated atom itself, the data a conversion converts,
    every argument of ``Module.concat``."""
    if node.type == "quoted_atom":
        return [node]
    call = calls.of_site(node)
    left = calls.piped_into(call) if call is not None else None
    inputs = [left] if left is not None else syntax.argument_nodes(call) if call else []
    if call is None or syntax.call_key(call)[1] != "concat":
        inputs = inputs[:1]  # the data converted; Module.concat joins all its arguments
    return inputs


def _runtime_leaves(node: Node) -> list[Node]:
    """The parts of ``node`` that vary at run time: ``room_id`` in ``"room_" <> room_id``."""
    if _constant(node) or _derived_name(node) or node.type in ("alias", "comment"):
        return []
    if node.type in ("quoted_atom", "string", "charlist", "binary_operator", "block", "list"):
        return [
            leaf
            for child in node.named_children
            if child.type != "operator"
            for leaf in _runtime_leaves(child)
        ]
    if node.type == "interpolation":
        return [leaf for child in node.named_children for leaf in _runtime_leaves(child)]
    return [node]


def _use_text(use: Use) -> str:
    """How the atom names a process, from the first site that does."""
    for _node, site in use.sites:
        target = syntax.text(site.call.child_by_field_name("target")) if site.call else ""
        if site.kind == "name":
            return f"as the name: of {target}" if target else "as the name: of a child spec"
        if site.kind in ("address", "needs_pid", "whereis"):
            return f"to reach a process ({target})"
        if site.kind == "register":
            return f"to register a process ({target})"
    return "as a process name"


def _shorten(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= 40 else text[:37] + "..."


# -- finding the uses -------------------------------------------------------------------


def _uses(context: Context) -> Iterator[Use]:
    seen: set[int] = set()
    for captures in context.matches(CONVERSIONS):
        node = next(
            captures[k][0] for k in ("conversion", "concat", "interpolated") if k in captures
        )
        atom = _atom_expression(node, captures)
        if atom is None or atom.id in seen:
            continue
        seen.add(atom.id)
        if syntax.enclosing_definition(atom) is None or _in_unquote(atom):
            continue  # module bodies run at compile time
        use = _use(atom)
        if use is not None:
            yield use


def _atom_expression(node: Node, captures: dict[str, list[Node]]) -> Node | None:
    """The whole expression making a run-time atom, or None when its value is fixed."""
    if "interpolated" in captures:
        parts = [c for c in node.named_children if c.type == "interpolation"]
        return node if _runtime(parts) else None
    site = calls.site(node)
    if syntax.is_capture(site):
        return None
    args = syntax.argument_nodes(node)
    inputs = calls.arguments(node)[:1]
    if "concat" in captures:
        parts = args[0].named_children if len(args) == 1 and args[0].type == "list" else args
        runtime = [p for p in parts if not _reference(p)]
        return site if not calls.is_piped(node) and _runtime(runtime) else None
    inputs = [i for i in inputs if i is not None]
    return site if inputs and _runtime(inputs) else None


def _reference(node: Node) -> bool:
    """A variable, ``opts[:key]`` or ``state.field``: in ``Module.concat`` these hold aliases
    or names (``Module.concat(endpoint, name)``); data goes in as strings built at run time."""
    if node.type in ("identifier", "access_call"):
        return True
    target = node.child_by_field_name("target") if node.type == "call" else None
    return (
        target is not None
        and target.type == "dot"
        and syntax.arguments(node) is None
        and _reference(target.child_by_field_name("left") or target)
    )


CONSTANT_TYPES = frozenset(
    {
        "alias",
        "atom",
        "integer",
        "float",
        "boolean",
        "nil",
        "char",
        "quoted_content",
        "escape_sequence",
        "charlist",
        "sigil_name",
        "sigil_modifiers",
    }
)


def _runtime(parts: list[Node]) -> bool:
    """Whether any part carries a run-time value other than a name derived from a name."""
    return any(not _constant(p) and not _derived_name(p) for p in parts)


def _constant(node: Node) -> bool:
    kind = node.type
    if kind in CONSTANT_TYPES:
        return True
    if kind == "identifier":
        return syntax.text(node) == "__MODULE__"
    if kind == "unary_operator":
        return syntax.text(node).startswith("@")
    if kind == "call" and syntax.local_target(node) == "unquote":
        return True
    if kind in ("string", "interpolation", "list", "tuple", "binary_operator", "sigil"):
        return all(_constant(c) for c in node.named_children if c.type != "operator")
    if kind == "call" and syntax.call_key(node) in CONSTANT_PRESERVING:
        return all(_constant(a) for a in syntax.argument_nodes(node))
    return False


CONSTANT_PRESERVING = frozenset(
    {("", "inspect"), ("", "to_string"), ("Atom", "to_string"), ("Integer", "to_string")}
)


def _derived_name(node: Node) -> bool:
    """A value holding another name: a variable (``name``, ``adapter_name``, ``module``), a
    field or function of that name (``project.name``, ``Project.name(project)``), an option
    (``opts[:name]``, ``Keyword.fetch!(opts, :name)``), or a string built only of those and
    literals (``"#{name}_sup"``). One atom per configured instance or named entity, not per
    request."""
    kind = node.type
    if kind in ("interpolation", "string", "binary_operator"):
        return all(
            _derived_name(c) or _constant(c) for c in node.named_children if c.type != "operator"
        )
    if kind == "access_call":  # opts[:name]
        key = node.named_children[-1] if node.named_children else None
        return key is not None and _derived_key(key)
    if kind == "call" and syntax.call_key(node) in CONSTANT_PRESERVING:
        return all(_derived_name(a) or _constant(a) for a in syntax.argument_nodes(node))
    if kind == "call" and syntax.call_key(node) in OPTION_READERS:
        args = syntax.argument_nodes(node)
        return len(args) >= 2 and _derived_key(args[1])
    if kind == "call":
        function = syntax.call_key(node)[1]
        return bool(DERIVED_NAME.match(function)) and all(
            _reference(a) for a in syntax.argument_nodes(node)
        )
    return kind == "identifier" and bool(DERIVED_NAME.match(syntax.text(node)))


OPTION_READERS = frozenset(
    {("Keyword", "fetch!"), ("Keyword", "get"), ("Map", "fetch!"), ("Map", "get")}
)


def _derived_key(key: Node) -> bool:
    return key.type == "atom" and bool(DERIVED_NAME.match(syntax.text(key).lstrip(":")))


def _in_unquote(node: Node) -> bool:
    return any(
        p.type == "call" and syntax.local_target(p) == "unquote" for p in syntax.ancestors(node)
    )


def _use(atom: Node) -> Use | None:
    use = Use(atom)
    site = _site(atom)
    if site is not None:
        if site.kind == "id":
            return None  # a child spec's id is no process name: any term will do
        use.sites.append((atom, site))
        return use
    variable = _bound_variable(atom)
    if variable is not None:
        use.variable = syntax.text(variable)
        references = _later_uses(variable)
    else:
        references = [calls.site(c) for c in _calls_of_function_returning(atom)]
    sites = [(node, _site(node)) for node in references]
    if not any(s is not None and s.kind != "id" for _, s in sites):
        return None
    for node, found in sites:
        # a use that is no name keeps the module from being fixed automatically
        use.sites.append((node, found or Site("other", None, False)))
    return use


def _calls_of_function_returning(atom: Node) -> list[Node]:
    """When ``atom`` is what a function of the module returns (``defp name(id), do:
    :"room_#{id}"``), the local calls of that function in the module."""
    definition = syntax.enclosing_definition(atom)
    module = syntax.enclosing_module(atom)
    if definition is None or module is None or not _returned_by(atom, definition):
        return []
    name = clauses.name(definition)
    arity = clauses.arity(definition)
    return [
        node
        for node in syntax.descendants(module)
        if node.type == "call"
        and syntax.local_target(node) == name
        and calls.arity(node) == arity
        and not clauses.is_head(node)
    ]


def _returned_by(atom: Node, definition: Node) -> bool:
    parent = atom.parent
    if parent is None:
        return False
    if parent.type == "pair" and parent.parent is not None:
        holder = parent.parent.parent  # keywords -> arguments
        return holder is not None and holder.parent == definition
    if parent.type == "do_block" and parent.parent == definition:
        statements = [c for c in parent.named_children if c.type != "comment"]
        return bool(statements) and statements[-1] == atom
    return False


def _bound_variable(atom: Node) -> Node | None:
    parent = atom.parent
    if (
        parent is not None
        and parent.type == "binary_operator"
        and syntax.operator(parent) == "="
        and parent.child_by_field_name("right") == atom
    ):
        left = parent.child_by_field_name("left")
        if left is not None and left.type == "identifier":
            return left
    return None


def _later_uses(variable: Node) -> list[Node]:
    """Uses of the variable after its binding in the same function, up to a rebinding."""
    definition = syntax.enclosing_definition(variable)
    if definition is None:
        return []
    name = syntax.text(variable)
    found = []
    for node in syntax.descendants(definition):
        if node.start_byte <= variable.end_byte or node.type != "identifier":
            continue
        if syntax.text(node) != name:
            continue
        if _rebinding(node):
            break
        found.append(node)
    return found


def _rebinding(identifier: Node) -> bool:
    parent = identifier.parent
    return (
        parent is not None
        and parent.type == "binary_operator"
        and syntax.operator(parent) == "="
        and parent.child_by_field_name("left") == identifier
    )


def _site(node: Node) -> Site | None:
    """How ``node`` (an expression) is used as a process name, if it is."""
    parent = node.parent
    if parent is None:
        return None
    if parent.type == "pair":
        return _name_option(parent, node)
    call, index = _argument_of(node)
    if call is None:
        return None
    key = syntax.call_key(call)
    if key == ("", "send") and calls.arity(call) != 2:
        return None
    if index == 0 and key in ADDRESSES:
        return Site("address", call, True)
    if index == 0 and key in NEEDS_PID:
        return Site("needs_pid", call, True)
    if index == 0 and key in WHEREIS:
        return Site("whereis", call, True)
    if key in REGISTERS and REGISTERS[key] == index:
        return Site("register", call, False)
    return None


def _name_option(pair: Node, value: Node) -> Site | None:
    key = pair.child_by_field_name("key")
    if key is None or pair.child_by_field_name("value") != value:
        return None
    option = syntax.text(key).strip().rstrip(":").strip()
    if option == "id":
        return Site("id", None, True)  # a child spec id: any term will do, via tuples too
    if option != "name":
        return None
    holder = pair.parent  # keywords
    if holder is not None and holder.type == "keywords":
        holder = holder.parent
    if holder is not None and holder.type == "list":
        holder = holder.parent
    if holder is None:
        return None
    if holder.type == "tuple":  # a child spec {Module, name: ...}
        return Site("name", None, False)
    if holder.type != "arguments" or holder.parent is None:
        return None
    call = holder.parent
    function = syntax.call_key(call)[1]
    if function not in START_FUNCTIONS:
        return None
    module = syntax.call_key(call)[0]
    return Site("name", call, module in VIA_STARTERS and function in ("start_link", "start"))


def _argument_of(node: Node) -> tuple[Node | None, int]:
    """The call ``node`` is an argument of, and its position (a pipe's left side is 0)."""
    parent = node.parent
    if parent is not None and parent.type == "arguments" and parent.parent is not None:
        args = [c for c in parent.named_children if c.type != "comment"]
        call = parent.parent
        return call, args.index(node) + int(calls.is_piped(call))
    piped_to = calls.piped_to(node)
    return (piped_to, 0) if piped_to is not None else (None, -1)


# -- the fix ------------------------------------------------------------------------------


def _fix(context: Context, module: Node | None, uses: list[Use]) -> Fix | None:
    """One fix for every dynamic name of the module: a name registered through a via tuple
    must be reached through it too, so the module moves to the Registry all at once."""
    if module is None:
        return None
    edits: dict[tuple[int, int], Edit] = {}
    for use in uses:
        use_edits = _use_edits(context, use)
        if not use_edits:
            return None
        for edit in use_edits:
            known = edits.get((edit.start, edit.end))
            if known is not None and known.new_text != edit.new_text:
                return None
            edits[(edit.start, edit.end)] = edit
    title = "Name the processes with via_tuple/1 on a Registry"
    if _has_via_tuple(module):
        return Fix(f"{title} (the module's via_tuple/1)", tuple(edits.values()), "unsafe")
    registry = fixes.registry(context, module)
    definition = _via_tuple_definition(context, module, registry.name)
    if definition is None:
        return None
    return Fix(
        f"Name the processes with via_tuple/1 on {registry.name}{registry.note}",
        (*edits.values(), definition, *registry.edits),
        "unsafe",
    )


def _use_edits(context: Context, use: Use) -> list[Edit] | None:
    key = _key(context, use.atom)
    if key is None:
        return None
    via = fixes.wrapped(context, use.atom, "via_tuple", key)
    start, end = context.span(use.atom)
    edits = []
    direct = len(use.sites) == 1 and use.sites[0][0] == use.atom
    for node, site in use.sites:
        if not site.fixable:
            return None
        if site.kind == "needs_pid":
            if direct:
                via = f"GenServer.whereis({via})"
            else:
                node_start, node_end = context.span(node)
                edits.append(Edit(node_start, node_end, f"GenServer.whereis({context.text(node)})"))
        elif site.kind == "whereis" and site.call is not None:
            target = site.call.child_by_field_name("target")
            if target is None:
                return None
            target_start, target_end = context.span(target)
            edits.append(Edit(target_start, target_end, "GenServer.whereis"))
    edits.append(Edit(start, end, via))
    return edits


def _key(context: Context, atom: Node) -> str | None:
    """The Registry key that keeps the atom's value: the string it was made from."""
    if atom.type == "quoted_atom":
        text = context.text(atom)
        return text[1:] if text.startswith(':"') else None
    call = calls.of_site(atom)
    if call is None:
        return None
    args = syntax.argument_nodes(call)
    if (left := calls.piped_into(call)) is not None:
        while left is not None and left.type == "block" and left.named_child_count == 1:
            left = left.named_children[0]  # ("room_" <> id) |> String.to_atom()
        args = [left, *args] if left is not None else args
    if not args:
        return None
    module, function = syntax.call_key(call)
    if function == "concat":
        if len(args) == 1 and args[0].type == "list":
            return context.text(args[0])
        return f"[{', '.join(context.text(a) for a in args)}]"
    value = context.text(args[0])
    if function == "list_to_atom" or module == "List":
        return f"List.to_string({value})"
    return value


def _has_via_tuple(module: Node) -> bool:
    return any(clauses.arity(d) == 1 for d in clauses.any_of_module(module, "via_tuple"))


def _via_tuple_definition(context: Context, module: Node, registry: str) -> Edit | None:
    """``defp via_tuple(key)`` before the module's final ``end``, indented like its body."""
    block = syntax.do_block(module)
    if block is None or not block.children or block.children[-1].type != "end":
        return None
    source = context.source
    end_start = context.span(block.children[-1])[0]
    module_indent = source.line_indent(source.line_of(context.span(module)[0]))
    body = [c for c in block.named_children if not c.type.endswith("_block")]
    body_indent = source.line_indent(source.line_of(context.span(body[0])[0])) if body else ""
    if len(body_indent) <= len(module_indent):
        body_indent = module_indent + "  "
    definition = f"defp via_tuple(key), do: {{:via, Registry, {{{registry}, key}}}}"
    newline = source.newline
    line_start = source.line_starts[source.line_of(end_start)]
    if not source.text[line_start:end_start].strip():
        return Edit(line_start, line_start, f"{newline}{body_indent}{definition}{newline}")
    return Edit(end_start, end_start, f"{newline}{body_indent}{definition}{newline}{module_indent}")


RULE = Rule(
    code="OTP201",
    name="dynamic-atom-name",
    severity="warning",
    summary="Atom made at run time as a process name: atoms are never garbage-collected",
    doc=DOC,
    check=check,
    words=("to_atom", "concat", ':"', ":'"),
    production_only=True,
    fixable=True,
    preview=True,
    project_files=lambda summary: summary.makes_atoms,
)
