"""OTP601 ets-read-concurrency: a table other processes read, not tuned for concurrent reads."""

from __future__ import annotations

from collections.abc import Iterator

from tree_sitter import Node

from otp_thinking import fixes, syntax
from otp_thinking.context import Context
from otp_thinking.findings import Finding, Fix
from otp_thinking.model import ets, processes
from otp_thinking.model.modules import ModuleFacts
from otp_thinking.rule import Rule

DOC = """\
## What it flags
`:ets.new(name, options)` in a GenServer (or `:gen_statem`) module for a table used the way the
ETS pattern uses one — the process owns the table and writes it, and callers read it directly
in their own processes — when the options do not mention `read_concurrency`. The evidence comes
from the project's model of its tables: a client function of the module (a public function
other than a callback, or a helper one reaches, which runs in the caller's process) reads the
table (`:ets.lookup`, `lookup_element`, `member`, `match`, `select`, `tab2list`, …), or another
module of the project reads it by its name or through the reference the owner stored in
`:persistent_term`; and no caller writes it. A client function reaches an unnamed table through
a reference the owner hands out: stored in `:persistent_term`, replied by a `handle_call` with
the state, returned or sent. The access can be `:public`, `:protected` (the default: other
processes may read) or a named table. The options are read from a literal list, or from a
module attribute holding one.

Not flagged:
- `:private` tables: only the owner reads them;
- tables no caller reads: only the owner touches them (an unnamed table whose reference stays
  in the owner's state is out of callers' reach). A public reader the owner's own callbacks
  call and no other module of the project reaches (only tests do) reads in the owner's
  process too; one the module never calls itself is an API, read by its callers;
- tables callers also write, in the module or elsewhere in the project (callers insert or
  delete on each request): written as often as they are read, where `read_concurrency` makes
  every switch dearer;
- tables made outside a process module (a plain module's functions may all run in one
  process);
- tables that set `read_concurrency` either way (`read_concurrency: false` is a decision too);
- tables that set `write_concurrency` but not `read_concurrency`: tuned for writes (counters,
  logs), where frequent switches between reads and writes make `read_concurrency` a loss;
- tables callers only walk (`:ets.first`/`next`/`last`/`prev`, `:ets.foldl`/`foldr`): a
  periodic sweep or sync, one reader now and then, where `read_concurrency` would only make
  the owner's writes dearer;
- tables the module updates with `:ets.update_counter`: counters, written at least as often
  as they are read;
- options held in a variable or built at run time (what they hold is not known);
- a table name two modules of the project create (which one a reader means is not known);
- tests, `.exs` scripts and Mix tasks (`use Mix.Task`, or named under `Mix.Tasks.`), which
  create short-lived tables.

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


def check(context: Context) -> Iterator[Finding]:
    tables = ets.of(context)
    project = _project_tables(context)
    for table in tables.tables:
        options = table.facts.options
        if not options.known or options.access == ":private":
            continue
        if options.read_concurrency is not None or options.write_concurrency is not None:
            continue
        if table.module is None or not (table.module.is_genserver or table.module.is_gen_statem):
            continue
        accesses = [a.facts for a in tables.accesses_of(table)]
        if any(a.operation == "update_counter" for a in accesses):
            continue
        foreign = project.foreign_accesses(table.facts) if project is not None else []
        if any(not a.read for a in [*(a for a in accesses if a.client), *foreign]):
            continue
        reads = [a for a in tables.accesses_of(table) if a.facts.client and a.facts.read]
        reads = _called_from_outside(context, table.module, reads)
        operations = {r.facts.operation for r in reads} | {a.operation for a in foreign}
        if operations and operations <= TRAVERSALS:
            continue  # a sweep walks it now and then: no sign of many concurrent readers
        message = _message(context, table, reads, foreign)
        if message is None:
            continue
        fix = _fix(context, table.options_node) if options.literal else None
        yield context.finding(RULE, table.call, message, fix=fix)


TRAVERSALS = frozenset({"first", "next", "last", "prev", "foldl", "foldr"})
"""Walks over the whole table, one key after another: what a periodic sweep or a sync does,
where read_concurrency buys nothing and makes the owner's writes dearer."""


def _called_from_outside(
    context: Context, module: ModuleFacts, reads: list[ets.Access]
) -> list[ets.Access]:
    """The reads in functions that may run in other processes: all but those in functions
    the owner's own callbacks call that no entry point for callers reaches (`get_app_data/2`,
    used by the owner's timer and by tests: it reads in the owner's process). Entry points are
    the public functions another production module calls, and those the module never calls
    itself: an API for callers the project may not hold (a library's users). Without the
    whole project index, every client read counts."""
    index = context.project.index
    if not reads or not index.complete:
        return reads
    own = processes.process_functions(module)
    public = processes.client_functions(module) & {c.name for c in module.clauses if not c.private}
    entries = {
        f
        for f in public
        if f not in own or index.facts.modules_calling(module.name, frozenset({f}))
    }
    outside = processes.reached_from(module, entries)
    return [r for r in reads if r.facts.function not in own or r.facts.function in outside]


def _project_tables(context: Context) -> ets.Tables | None:
    index = context.project.index
    return index.facts.tables if index.complete else None


def _message(
    context: Context,
    table: ets.Table,
    reads: list[ets.Access],
    foreign: list[ets.AccessSummary],
) -> str | None:
    """Where callers read the table (the first read in the module, else in another module);
    None when no caller reads it."""
    if reads:
        read = reads[0].call
        reader = reads[0].facts.function
        function = context.text(read.child_by_field_name("target") or read)
        where = f"{reader} calls {function}"
    elif foreign:
        first = foreign[0]
        reader = f"{first.module}.{first.function}" if first.function else first.module
        where = f"{reader} calls :ets.{first.operation}"
    else:
        return None
    to = "" if table.facts.options.literal else f" to {_attribute_text(table.call)}"
    return (
        f"This ETS table is read in callers' processes ({where}) and "
        "written only by its owner, but is not tuned for concurrent reads; add "
        f"read_concurrency: true{to}."
    )


def _attribute_text(call: Node) -> str:
    return syntax.text(syntax.argument_nodes(call)[-1])


def _fix(context: Context, options: Node | None) -> Fix | None:
    if options is None or options.has_error:
        return None
    items = ets.option_items(options)
    edit = fixes.append_items(context, options, items, ["read_concurrency: true"])
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
    project_files=lambda summary: bool(summary.tables),
)
