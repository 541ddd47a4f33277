"""OTP601 ets-read-concurrency: a table other processes read, not tuned for concurrent reads."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from tree_sitter import Node

from otp_thinking import fixes, syntax
from otp_thinking.context import Context
from otp_thinking.findings import Finding, Fix
from otp_thinking.model import calls, clauses, modules
from otp_thinking.parsing import compile_query
from otp_thinking.rule import Rule

DOC = """\
## What it flags
`:ets.new(name, options)` in a GenServer (or `:gen_statem`) module for a table used the way the
ETS pattern uses one — the process owns the table and writes it, and the module's client
functions (public functions other than callbacks, which run in the caller's process) read it
directly — when the options do not mention `read_concurrency`. The evidence is in the module:
a client function reads the table (`:ets.lookup`, `lookup_element`, `member`, `match`,
`select`, `tab2list`, …) by its name, its attribute or, when the module makes only this table,
through a reference handed to callers; and no client function writes it. The access can be
`:public`, `:protected` (the default: other processes may read) or a named table. The options
are read from a literal list, or from a module attribute holding one.

Not flagged:
- `:private` tables: only the owner reads them;
- tables no client function of the module reads: only the owner touches them, or the readers
  are elsewhere and the rule cannot weigh their reads against the writes;
- tables client functions also write (callers insert or delete on each request): written as
  often as they are read, where `read_concurrency` makes every switch dearer;
- tables made outside a process module (a plain module's functions may all run in one
  process);
- tables that set `read_concurrency` either way (`read_concurrency: false` is a decision too);
- tables that set `write_concurrency` but not `read_concurrency`: tuned for writes (counters,
  logs), where frequent switches between reads and writes make `read_concurrency` a loss;
- tables the same file updates with `:ets.update_counter`: counters, written at least as often
  as they are read;
- options held in a variable or built at run time (what they hold is not known);
- tests, `.exs` scripts and `use Mix.Task` modules, which create short-lived tables.

## Why it matters
The usual way around a GenServer bottleneck is to let the process own an ETS table, serialize
writes through it and let callers read the table directly. Those reads happen in many processes
at once. `read_concurrency: true` sets the table's locks up for that: concurrent readers stop
contending on one lock, and reads scale with the number of schedulers. Without it, a table read
from everywhere behaves much like the single process it was meant to replace.

The option has a cost: switching between reads and writes is more expensive. It fits tables that
are read far more often than written, which is what a shared cache or lookup table is.

## Example
```elixir
def init(_) do
  :ets.new(:prices, [:set, :named_table, :protected])
  {:ok, %{}}
end

def price(sku), do: :ets.lookup(:prices, sku)  # runs in the caller's process
```

```elixir
:ets.new(:prices, [:set, :named_table, :protected, read_concurrency: true])
```

## Fix
Adds `read_concurrency: true` to the options list, in its layout (same line, or one option per
line). Safe: the option only changes how the table's locks behave, not what the table holds.
No fix when the options come from a module attribute or a variable; add the option there by
hand, or write `read_concurrency: false` when the table is written as often as it is read.
"""


COUNTER_UPDATES = compile_query(
    """
    (call target: (dot left: (atom) @module right: (identifier) @function)
      (#eq? @module ":ets") (#eq? @function "update_counter")
      (arguments . (_) @table)) @call
    """
)

ACCESS = (":public", ":protected", ":private")


@dataclass(frozen=True)
class Options:
    access: str
    named: bool
    tuned: bool
    """Sets read_concurrency, or write_concurrency without read_concurrency."""


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
    }
)


@dataclass(frozen=True)
class ClientAccess:
    """How the module's client functions (public functions that run in the caller's process,
    not the owner's) use a table: the first read, and how many read and write sites."""

    first_read: Node | None
    reads: int
    writes: int


def check(context: Context) -> Iterator[Finding]:
    for captures in context.remote_calls({":ets"}, {"new"}):
        call = captures["call"][0]
        found = _options_node(call)
        if found is None:
            continue
        options_list, literal = found
        options = _read_options(options_list)
        if options.tuned or options.access == ":private":
            continue
        names = _table_names(context, call, named=options.named)
        if names & _counter_tables(context):
            continue
        access = _client_access(context, call, names)
        if access is None or access.first_read is None or access.writes:
            continue
        read = access.first_read
        reader = clauses.name(syntax.enclosing_definition(read) or read)
        function = context.text(read.child_by_field_name("target") or read)
        where = "" if literal else f" to {_attribute_text(call)}"
        message = (
            f"This ETS table is read in callers' processes ({reader} calls {function}) and "
            "written only by its owner, but is not tuned for concurrent reads; add "
            f"read_concurrency: true{where}."
        )
        fix = _fix(context, options_list) if literal else None
        yield context.finding(RULE, call, message, fix=fix)


def _client_access(context: Context, call: Node, names: set[str]) -> ClientAccess | None:
    """Reads and writes of the new table in the client functions of the process module around
    ``call``; None outside a process module (whose functions may all run in one process)."""
    module = modules.at(context, call)
    if module is None or not (module.is_genserver or module.is_gen_statem):
        return None
    own_tables = [
        c
        for c in context.remote_calls({":ets"}, {"new"})
        if module.contains(c["call"][0]) and modules.at(context, c["call"][0]) is module
    ]
    client = _client_functions(module)
    first_read, reads, writes = None, 0, 0
    for captures in context.remote_calls({":ets"}, READS | WRITES):
        site = captures["call"][0]
        if modules.at(context, site) is not module:
            continue
        clause = module.clause_at(site)
        if clause is None or clause.name not in client:
            continue
        if not _refers_to(site, names, sole_table=len(own_tables) == 1):
            continue
        if context.text(captures["function"][0]) in READS:
            reads += 1
            first_read = first_read or site
        else:
            writes += 1
    return ClientAccess(first_read, reads, writes)


def _client_functions(module: modules.ModuleFacts) -> set[str]:
    """Names of the functions that run in the caller's process: public functions other than
    callbacks, and the private functions they call (directly or through each other)."""
    client = {
        c.name
        for c in module.clauses
        if not c.private
        and c.key not in modules.GENSERVER_CALLBACKS
        and not c.name.startswith(("handle_", "init"))
    }
    private = {c.name for c in module.clauses if c.private}
    calls: dict[str, set[str]] = {}
    for clause in module.clauses:
        body = clause.body
        called = calls.setdefault(clause.name, set())
        if body is not None:
            called.update(
                name
                for n in [body, *syntax.descendants(body)]
                if n.type == "call" and (name := syntax.local_target(n)) in private
            )
    frontier = list(client)
    while frontier:
        for name in calls.get(frontier.pop(), ()):
            if name not in client:
                client.add(name)
                frontier.append(name)
    return client


def _refers_to(site: Node, names: set[str], *, sole_table: bool) -> bool:
    """The access names the table (its name, attribute or variable), or, when the module makes
    only this table, reaches it through a reference handed to the client (a parameter, a
    lookup of where the owner published it)."""
    first = _first_argument(site)
    if first is None:
        return False
    if syntax.text(first) in names:
        return True
    return sole_table and first.type != "atom" and syntax.attribute_name(first) is None


def _attribute_text(call: Node) -> str:
    return syntax.text(syntax.argument_nodes(call)[-1])


def _options_node(call: Node) -> tuple[Node, bool] | None:
    """The options list and whether it is written at the call (not in an attribute)."""
    args = syntax.argument_nodes(call)
    if len(args) != (1 if calls.is_piped(call) else 2):
        return None
    options = args[-1]
    if options.type == "list":
        return options, True
    name = syntax.attribute_name(options)
    module = syntax.enclosing_module(call)
    if name is None or module is None:
        return None
    values = syntax.module_attributes(module).get(name, [])
    if len(values) == 1 and values[0].type == "list":
        return values[0], False
    return None


def _table_names(context: Context, call: Node, *, named: bool) -> set[str]:
    """How the file refers to the new table: its name (for a named table) and the variable
    bound to it."""
    names = set()
    first = _first_argument(call)
    if first is not None and named:
        names.add(context.text(first))
    parent = call.parent
    if parent is not None and parent.type == "binary_operator" and syntax.operator(parent) == "=":
        left = parent.child_by_field_name("left")
        if left is not None and left.type == "identifier":
            names.add(context.text(left))
    return names


def _first_argument(call: Node) -> Node | None:
    """The first argument, also when it is piped in (`:prices |> :ets.lookup(key)`)."""
    args = calls.arguments(call)
    return args[0] if args else None


def _counter_tables(context: Context) -> set[str]:
    """Tables the file updates with `:ets.update_counter`: counters, written more than read."""
    return {context.text(captures["table"][0]) for captures in context.matches(COUNTER_UPDATES)}


def _read_options(options: Node) -> Options:
    access, named, read, write = ":protected", False, False, False
    for item in _items(options):
        if item.type == "atom":
            value = syntax.text(item)
            if value in ACCESS:
                access = value
            named = named or value == ":named_table"
            continue
        key = _option_key(item)
        read = read or key == "read_concurrency"
        write = write or key == "write_concurrency"
    return Options(access, named, read or write)


def _option_key(item: Node) -> str | None:
    """``read_concurrency`` for ``read_concurrency: x`` and ``{:read_concurrency, x}``."""
    if item.type == "pair":
        key = item.child_by_field_name("key")
        return syntax.text(key).strip().rstrip(":") if key is not None else None
    if item.type == "tuple":
        elements = [c for c in item.named_children if c.type != "comment"]
        if len(elements) == 2 and elements[0].type == "atom":
            return syntax.text(elements[0]).lstrip(":")
    return None


def _items(options: Node) -> list[Node]:
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


def _fix(context: Context, options: Node) -> Fix | None:
    if options.has_error:
        return None
    edit = fixes.append_items(context, options, _items(options), ["read_concurrency: true"])
    return Fix("Add read_concurrency: true", (edit,), "safe")


RULE = Rule(
    code="OTP601",
    name="ets-read-concurrency",
    severity="information",
    summary=":ets.new of a table its module's callers read directly, without read_concurrency",
    doc=DOC,
    check=check,
    words=("ets",),
    production_only=True,
    fixable=True,
    preview=True,
)
