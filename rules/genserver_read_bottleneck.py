"""OTP002 genserver-read-bottleneck: a read-mostly store served through one GenServer mailbox."""

from __future__ import annotations

import re
from collections.abc import Iterator

from tree_sitter import Node

from otp_thinking import callbacks, syntax
from otp_thinking.context import Context
from otp_thinking.findings import Finding
from otp_thinking.model import ets, modules
from otp_thinking.model.callers import HOT_PATH_MODULES, Callers
from otp_thinking.model.modules import Clause, ModuleFacts
from otp_thinking.parsing import compile_query
from otp_thinking.rule import Rule

DOC = """\
## What it flags
A named GenServer used as a read-mostly store: most of its `handle_call/3` clauses only read
the state (they reply with something taken from it and hand the state back unchanged), there
are at least two of them, and they are not outnumbered by the writes (the other `handle_call`
clauses and the `handle_cast` clauses). Either one of the reads takes a key (`{:get, id}`), or
there are three reads or more. The diagnostic sits on `use GenServer`.

Also a cached value read on every request: a read clause that HOT_PATH_MODULES or more modules
of the project ask for, request handlers among them (controllers, LiveViews, channels, plugs,
GraphQL resolvers: say `:current`, reached through `Rates.current/0` from controllers and
workers), in a server whose state changes in its own `handle_info`/`handle_continue` (a timer
refresh) or through calls that one module at most makes (a manual `refresh/0`), with no more
casts than such reads. Counting clauses would let the refresh outvote a read made on every
request; the callers weigh them instead. The message names the modules that ask.

And the same store spelled with an Agent: a `use Agent` module started with `name:` (its own
name) whose public functions `Agent.get` it more often than they change it
(`Agent.update`/`get_and_update`/`cast`), with at least two such reads, one of them taking an
argument, or three. Agents reached through a pid the caller holds are left alone.

And a store whose state never changes once it has started: every `handle_call/3`,
`handle_cast/2` and `handle_info/2` clause hands the state back unchanged (a
`handle_continue/2` that only `init/1` asks for may set it), and two modules of the project or
more read it, or one that handles requests. One read is enough here: a database wrapper whose
every function first does `GenServer.call(__MODULE__, :get_ref)` queues every query in one
mailbox for a value that never changes. Likewise a named `use Agent` module that nothing in
it changes (`Agent.update`/`get_and_update`/`cast`). The advice is then `:persistent_term`,
written once when the value is set and read without any process.

And a server that owns a named ETS table callers could read, but reads it for them: a
`handle_call/3` clause whose only effect is reading the table (`:ets.lookup(:channels, id)`),
keeping the state and replying, asked for by other modules of the project. The reply may
take the table from the state (`:ets.lookup(state.table, id)`), nothing else: a status that
adds `map_size(state.monitors)` needs the process. The table is
`:protected` or `:public` and named, so the client function can do the lookup itself. Not when
a `handle_cast/2` writes the table: a read through the mailbox then sees every write the
caller cast before it, which a direct read might not. Nor when the process empties the table
and fills it again (`:ets.delete_all_objects` before a rebuild): a read through the mailbox
never sees it half-built, a direct read could.

Not flagged:
- a single status query (`:status`, `:leader?`), or two argument-less getters, unless many
  modules ask for it or the state never changes after start (above);
- processes without a name: started without `name:` and called only through a pid the caller
  holds (`GenServer.call(pid, :progress)`), usually one per job or connection with few callers;
- stores whose reads no other module of the project asks for by the store's fixed name (when
  the whole project is read): a server per room or per subscription, reached through a name
  computed at run time (`:"chat:#{room}"`, a `{:via, Registry, ..}` tuple), has no one
  mailbox every reader shares, and reads that only the store's own module makes, or that
  nobody makes while other modules only write, queue nobody;
- modules whose reads already bypass the process: any `:ets`, `:persistent_term`, `:atomics`
  or `:counters` call in the module (but see the table read for callers above);
- read clauses that act outside the process (a reply computed by a file read, an HTTP call, a
  call to another process) or that use `from`: those are not plain reads;
- catch-all clauses (`handle_call(msg, _from, state)`);
- test doubles kept in `lib/` (modules named `…Mock`, `Fake…`): their reads queue behind the
  casts a test made before them, which the tests may count on;
- tests, `.exs` scripts and Mix tasks.

Severity: information for a store few modules call; a warning when HOT_PATH_MODULES or more
modules of the project ask for its reads through `GenServer.call` (the count OTP106 reports:
a module that only writes is not among them), where the queue is sure to matter. The message
names the modules asking for the reads.

## Why it matters
A GenServer answers one message at a time. When many processes read the same data through
`GenServer.call`, every read waits in one mailbox, behind the other reads and behind every
write, and each reply copies the data to the caller. Throughput is capped by one scheduler, and
a slow write stalls every reader. Reads that do not need serializing can run in the caller's
process, in parallel, straight from an ETS table.

## Example
```elixir
defmodule MyApp.Catalog do
  use GenServer

  def get(sku), do: GenServer.call(__MODULE__, {:get, sku})
  def all, do: GenServer.call(__MODULE__, :all)
  def put(sku, item), do: GenServer.cast(__MODULE__, {:put, sku, item})

  def handle_call({:get, sku}, _from, items), do: {:reply, Map.get(items, sku), items}
  def handle_call(:all, _from, items), do: {:reply, Map.values(items), items}
  def handle_cast({:put, sku, item}, items), do: {:noreply, Map.put(items, sku, item)}
end
```

The ETS-owner shape: the GenServer owns a named, `:protected` table with
`read_concurrency: true`; writes still go through the process (so they stay serialized and the
table dies with its owner), reads call `:ets.lookup` directly:

```elixir
defmodule MyApp.Catalog do
  use GenServer

  def start_link(_), do: GenServer.start_link(__MODULE__, nil, name: __MODULE__)

  def get(sku) do
    case :ets.lookup(__MODULE__, sku) do
      [{^sku, item}] -> item
      [] -> nil
    end
  end

  def all, do: :ets.select(__MODULE__, [{{:_, :"$1"}, [], [:"$1"]}])
  def put(sku, item), do: GenServer.call(__MODULE__, {:put, sku, item})

  @impl true
  def init(nil) do
    :ets.new(__MODULE__, [:named_table, :protected, :set, read_concurrency: true])
    {:ok, nil}
  end

  @impl true
  def handle_call({:put, sku, item}, _from, state) do
    :ets.insert(__MODULE__, {sku, item})
    {:reply, :ok, state}
  end
end
```

Static data that hardly ever changes (configuration, a compiled lookup table) fits
`:persistent_term` even better: reads are free, updates are expensive.

## Fix
No automatic fix: where the data goes and which reads may see a write late are design
decisions. By hand: create the table in `init/1` as above, make each write callback also (or
only) write to the table, and turn each read function into an `:ets.lookup`/`:ets.select` in the
caller. Keep a read in the process when it must see every earlier write from the same caller
in order, or when it computes over the whole state at once.
""".replace("HOT_PATH_MODULES", str(HOT_PATH_MODULES))

_FACTS = compile_query(
    """
    (call target: (dot left: (atom) @module)
      (#any-of? @module ":persistent_term" ":atomics" ":counters")) @bypass

    (call target: (dot left: (alias) @module right: (identifier) @function)
      (#eq? @module "GenServer") (#any-of? @function "start_link" "start")) @start

    (call target: (dot left: (alias) @module right: (identifier) @function)
      (arguments . (_) @server)
      (#eq? @module "GenServer") (#any-of? @function "call" "cast")) @call
    """
)

_AGENT_CALLS = compile_query(
    """
    (call target: (dot left: (alias) @module right: (identifier) @function)
      (arguments . (_) @agent)
      (#eq? @module "Agent")) @call
    """
)
_AGENT_READS = frozenset({"get"})
_AGENT_WRITES = frozenset({"update", "get_and_update", "cast"})


def check(context: Context) -> Iterator[Finding]:
    if not any(m.use_of("GenServer") or m.is_agent for m in modules.of(context)):
        return
    bypassing, named = _process_facts(context)
    yield from _agent_stores(context, bypassing)
    yield from _table_reads_in_calls(context, named)
    for module in modules.of(context):
        use = module.use_of("GenServer")
        if (
            use is None
            or id(module) in bypassing
            or id(module) not in named
            or modules.test_double(module.name)
        ):
            continue
        reads = _read_clauses(context, module)
        callers = _callers(context, module.name)
        hot = callers is not None and callers.hot
        once = bool(reads) and callbacks.set_only_at_start(module)
        asking = _asking(callers, reads) if callers is not None else ()
        readers = _other_modules(asking, module.name)
        if callers is not None and not readers:
            continue  # no other module of the project asks for the reads: nothing queues
        if once and (len(readers) >= WRITE_ONCE_READERS or any(map(_handles_requests, readers))):
            finding = context.finding(RULE, use.node, _write_once(module, reads, readers))
            yield finding.with_severity("warning") if hot else finding
            continue
        evidence = ""
        if callers is not None and hot:
            asking = _asking(callers, reads)
            hot = len(asking or callers.modules) >= HOT_PATH_MODULES
            evidence = _asked_for(asking, callers.modules)
        if not _read_mostly(module, reads):
            reads = _hot_reads(module, reads, callers)
            if not reads or callers is None:
                continue
            evidence = _asked_by_handlers(callers, reads)
        message = (
            _write_once(module, reads, ())
            if once
            else (
                f"{module.name} answers read-only calls ({_shown(_message_names(reads))}) "
                f"one at a time through its mailbox{evidence}; keep the data in a :protected "
                "named ETS table with read_concurrency: true owned by this process and read it "
                "with :ets.lookup in the caller."
            )
        )
        finding = context.finding(RULE, use.node, message)
        yield finding.with_severity("warning") if hot else finding


WRITE_ONCE_READERS = 2
"""Other modules that must read a store whose state never changes after start (or one that
handles requests): one module reading a constant now and then is no queue."""


def _other_modules(modules: tuple[str, ...], module: str) -> tuple[str, ...]:
    return tuple(m for m in modules if m != module)


def _write_once(module: ModuleFacts, reads: list[Clause], readers: tuple[str, ...]) -> str:
    """The message for a server whose state is set at start and never changes after; the
    modules that read it when the project shows them."""
    continues = any(not c.private for c in module.functions("handle_continue", 2))
    where = "init/1 and handle_continue/2" if continues else "init/1"
    asking = f" for {_count(readers)} ({_first_three(readers)})" if readers else ""
    return (
        f"{module.name} never changes its state after it starts (every callback hands it "
        f"back unchanged; it is set in {where}), yet it answers reads through GenServer.call "
        f"({_shown(_message_names(reads))}) one at a time through its mailbox{asking}; write "
        "the value once with :persistent_term.put/2 when it is set and read it with "
        ":persistent_term.get/1 in the caller."
    )


def _count(modules: tuple[str, ...]) -> str:
    return f"{len(modules)} module" + ("s" if len(modules) != 1 else "")


def _shown(names: list[str]) -> str:
    return ", ".join(names[:4]) + (", ..." if len(names) > 4 else "")


def _table_reads_in_calls(context: Context, named: set[int]) -> Iterator[Finding]:
    """A named server that owns a named, non-private ETS table and answers calls that only
    read it (`handle_call({:lookup, id}, ..)` doing `:ets.lookup(@table, id)`), for other
    modules of the project: each read waits in the mailbox although the caller could read the
    table itself. Not when a cast writes the table (a read through the mailbox then sees every
    write the caller cast before it; a direct read might not)."""
    index = context.project.index
    if not index.complete:
        return
    facts = ets.of(context)
    for table in facts.tables:
        module, options = table.module, table.facts.options
        if module is None or not module.is_genserver or id(module) not in named:
            continue
        if table.facts.name is None or not options.known or options.access == ":private":
            continue
        accesses = facts.accesses_of(table)
        if any(not a.facts.read and _in_callback(module, a, "handle_cast") for a in accesses):
            continue
        if any(a.facts.operation == "delete_all_objects" for a in accesses):
            continue  # emptied and refilled in the process: a direct read may see it empty
        reads = _table_read_calls(module, accesses)
        readers = _other_modules(_asking(index.facts.callers(module.name), reads), module.name)
        if not reads or not readers:
            continue
        use = module.use_of("GenServer")
        message = (
            f"{module.name} answers {_shown(_message_names(reads))} by reading its named ETS "
            f"table {table.facts.name} in handle_call, one caller at a time through its "
            f"mailbox, for {_count(readers)} ({_first_three(readers)}); the table is "
            f"{options.access.lstrip(':')} and named, so callers can read it themselves "
            "(:ets.lookup in the client function) while the writes stay in the process."
        )
        yield context.finding(RULE, use.node if use is not None else module.anchor, message)


def _in_callback(module: ModuleFacts, access: ets.Access, callback: str) -> bool:
    clause = module.clause_at(access.call)
    return clause is not None and clause.name == callback


def _table_read_calls(module: ModuleFacts, accesses: list[ets.Access]) -> list[Clause]:
    """The ``handle_call/3`` clauses whose only effect is reading the table (in the clause or
    the helpers it reaches), keeping the state and replying: plain reads of shared data."""
    read_calls = {a.call.byte_range for a in accesses if a.facts.read}
    found = []
    for clause in module.functions("handle_call", 3):
        if clause.private or callbacks.is_catch_all(clause) or callbacks.uses_from(clause):
            continue
        flow = callbacks.state_flow(clause)
        if not (flow.keeps_state and all(r.tag == "reply" for r in flow.returns)):
            continue
        if flow.reads and not _state_names_the_table(clause, flow):
            continue  # the reply also takes from the state, which no caller can read
        effects = list(callbacks.effects(module, clause))
        if effects and all(node.byte_range in read_calls for node in effects):
            found.append(clause)
    return found


def _agent_stores(context: Context, bypassing: set[int]) -> Iterator[Finding]:
    """Named `use Agent` modules used as read-mostly stores: more public functions that
    ``Agent.get`` the module's own Agent than functions that change it, at least two, one of
    them keyed (or three reads). The same shape as the GenServer store, spelled with an Agent."""
    reads: dict[int, dict[str, Clause]] = {}
    writes: dict[int, set[str]] = {}
    named: set[int] = set()
    changing: set[int] = set()
    for captures in context.matches(_AGENT_CALLS):
        call = captures["call"][0]
        module = modules.at(context, call)
        if module is None or not module.is_agent or id(module) in bypassing:
            continue
        if modules.test_double(module.name):
            continue
        function = syntax.text(captures["function"][0])
        if function == "start_link":
            options = syntax.argument_nodes(call)[-1:]
            pairs = syntax.keyword_pairs(options[0] if options else None)
            if any(key == "name" and _names(module, value) for key, value in pairs):
                named.add(id(module))
            continue
        if function in _AGENT_WRITES:
            changing.add(id(module))  # private helpers and other agents too: it may change
        clause = module.clause_at(call)
        if clause is None or clause.private or not _names(module, captures["agent"][0]):
            continue
        if function in _AGENT_READS:
            reads.setdefault(id(module), {}).setdefault(f"{clause.name}/{clause.arity}", clause)
        elif function in _AGENT_WRITES:
            writes.setdefault(id(module), set()).add(f"{clause.name}/{clause.arity}")
    index = context.project.index
    for module in modules.of(context):
        found = reads.get(id(module), {})
        written = writes.get(id(module), set())
        getters = [c for c in found.values() if f"{c.name}/{c.arity}" not in written]
        if id(module) not in named or not getters:
            continue
        if id(module) not in changing and index.complete:
            asked = frozenset(c.name for c in getters)
            readers = index.facts.modules_calling(module.name, asked)
            if len(readers) >= WRITE_ONCE_READERS or any(map(_handles_requests, readers)):
                message = _write_once_agent(module, getters, readers)
                yield context.finding(RULE, module.anchor, message)
                continue
        if len(getters) < 2 or len(getters) <= len(written):
            continue
        if len(getters) < 3 and not any(c.params for c in getters):
            continue
        shown = _shown([f"{c.name}/{c.arity}" for c in getters])
        changes = (
            "changes it only in " + ", ".join(sorted(written))
            if written
            else "never changes it after start_link"
        )
        message = (
            f"{module.name} serves reads ({shown}) through one Agent, one at a time, "
            f"and {changes}; keep the data in a :protected named ETS table with "
            "read_concurrency: true owned by a process and read it with :ets.lookup in the caller."
        )
        yield context.finding(RULE, module.anchor, message)


def _write_once_agent(module: ModuleFacts, getters: list[Clause], readers: tuple[str, ...]) -> str:
    shown = _shown([f"{c.name}/{c.arity}" for c in getters])
    return (
        f"{module.name} never changes its Agent's state after start_link, yet it answers "
        f"reads through Agent.get ({shown}) one at a time for {_count(readers)} "
        f"({_first_three(readers)}); write the value once with :persistent_term.put/2 when "
        "the application starts and read it with :persistent_term.get/1 in the caller."
    )


def _names(module: ModuleFacts, agent: Node) -> bool:
    """``agent`` names the module's own Agent: ``__MODULE__`` or the module's name."""
    return syntax.text(agent) in ("__MODULE__", module.name)


def _callers(context: Context, module: str) -> Callers | None:
    """The project's production calls to the server (OTP106's count), when the index is whole."""
    index = context.project.index
    return index.facts.callers(module) if index.complete else None


def _asking(callers: Callers, reads: list[Clause]) -> tuple[str, ...]:
    """The modules whose calls ask for these reads (as OTP106 counts them)."""
    return tuple(sorted({m for c in reads for m in callers.modules_asking(_request(c))}))


def _asked_for(asking: tuple[str, ...], callers: tuple[str, ...]) -> str:
    """``, asked for by 14 modules (A, B, C, ...)``: the evidence that the queue is shared;
    the server's ``callers`` when no read names a request they can be matched by."""
    if asking:
        return f", asked for by {len(asking)} modules ({_first_three(asking)})"
    return f", a server called from {len(callers)} modules ({_first_three(callers)})"


def _asked_by_handlers(callers: Callers, reads: list[Clause]) -> str:
    """``, asked for by 14 modules, request handlers among them (AController, ...)``."""
    asking = _asking(callers, reads)
    shown = sorted(asking, key=lambda m: (not _handles_requests(m), m))
    return (
        f", asked for by {len(asking)} modules, request handlers among them "
        f"({_first_three(tuple(shown))})"
    )


def _first_three(modules: tuple[str, ...]) -> str:
    return ", ".join(modules[:3]) + (", ..." if len(modules) > 3 else "")


def _hot_reads(module: ModuleFacts, reads: list[Clause], callers: Callers | None) -> list[Clause]:
    """A cached value read on every request: read clauses that HOT_PATH_MODULES or more modules
    ask for, in a server whose writes are rare (each write call asked for by one module at
    most, say a manual refresh; no more casts than such reads). The state mostly changes in
    the server's own `handle_info`/`handle_continue` (a timer refresh), which clause counting
    cannot weigh against reads made on every request."""
    if callers is None or not callers.hot:
        return []
    hot = [
        c
        for c in reads
        if len(asking := callers.modules_asking(_request(c))) >= HOT_PATH_MODULES
        and any(_handles_requests(m) for m in asking)
    ]
    if not hot:
        return []
    writes = [
        c
        for c in module.functions("handle_call", 3)
        if not c.private and not callbacks.is_catch_all(c) and all(c is not r for r in reads)
    ]
    if any(not _request(c) or len(callers.modules_asking(_request(c))) > 1 for c in writes):
        return []
    casts = [
        c
        for c in module.functions("handle_cast", 2)
        if not c.private and not callbacks.is_catch_all(c)
    ]
    return hot if len(casts) <= len(hot) else []


_REQUEST_HANDLER = re.compile(
    r"(Controller|Live|LiveView|Component|Channel|Socket|Plug|Resolver)$"
    r"|\.(Live|Controllers|Resolvers|Plugs|Channels)\."
)


def _handles_requests(module: str) -> bool:
    """Named like code that runs on every web request or API call: a controller, a LiveView,
    a channel, a plug, a GraphQL resolver (the read is on the request path, not run now and
    then by a worker)."""
    return bool(_REQUEST_HANDLER.search(module))


def _request(clause: Clause) -> str:
    """The name of the request a ``handle_call`` clause matches (``get`` for ``{:get, id}``)."""
    return (modules.request_tag(clause.params[0]) if clause.params else None) or ""


def _process_facts(context: Context) -> tuple[set[int], set[int]]:
    """Modules (by id) whose reads bypass the process, and modules whose process has a name
    (registered at start, or called by name rather than through a pid the caller holds)."""
    bypassing: set[int] = set()
    named: set[int] = set()
    tables = ets.of(context)
    owners = [t.module for t in tables.tables] + [a.module for a in tables.accesses]
    bypassing.update(id(module) for module in owners if module is not None)
    for captures in context.matches(_FACTS):
        node = next(captures[k][0] for k in ("bypass", "start", "call") if k in captures)
        module = modules.at(context, node)
        if module is None:
            continue
        if "bypass" in captures:
            bypassing.add(id(module))
        elif "start" in captures:
            options = syntax.argument_nodes(node)[-1:]
            if any(
                key == "name" for key, _ in syntax.keyword_pairs(options[0] if options else None)
            ):
                named.add(id(module))
        elif (
            captures["server"][0].type != "identifier"
            or syntax.text(captures["server"][0]) == "__MODULE__"
        ):
            named.add(id(module))
    return bypassing, named


def _read_clauses(context: Context, module: ModuleFacts) -> list[Clause]:
    """The ``handle_call`` clauses that only read, but none for a request another clause
    answers by writing: ``{:configure, _}`` refused while ``phase: :ready`` (a read) and
    carried out otherwise (a write) is a write."""
    clauses = [c for c in module.functions("handle_call", 3) if not c.private]
    reads = [
        clause
        for clause in clauses
        if not callbacks.is_catch_all(clause)
        and callbacks.only_reads(module, clause)
        and not _acts_through_project(context, module, clause)
    ]
    written = {_tag(c) for c in clauses if c not in reads and not callbacks.is_catch_all(c)}
    return [clause for clause in reads if _tag(clause) is None or _tag(clause) not in written]


def _tag(clause: Clause) -> str | None:
    return modules.request_tag(clause.params[0]) if clause.params else None


def _acts_through_project(context: Context, module: ModuleFacts, clause: Clause) -> bool:
    """The clause calls a function of another project module that acts outside the process
    (writes ETS, calls a process, queries a database): no plain read."""
    index = context.project.index
    return index.complete and callbacks.project_effect(index.facts, module, clause) is not None


def _read_mostly(module: ModuleFacts, reads: list[Clause]) -> bool:
    if len(reads) < 2:
        return False
    calls = [
        c
        for c in module.functions("handle_call", 3)
        if not c.private and not callbacks.is_catch_all(c)
    ]
    casts = [
        c
        for c in module.functions("handle_cast", 2)
        if not c.private and not callbacks.is_catch_all(c)
    ]
    writes = len(calls) - len(reads)
    if len(reads) <= writes or len(reads) < len(casts):
        return False
    return len(reads) >= 3 or any(_keyed(clause) for clause in reads)


def _keyed(clause: Clause) -> bool:
    """The message carries an argument the clause uses: ``{:get, key}`` looks ``key`` up."""
    message = clause.params[0]
    if message.type != "tuple":
        return False
    names = syntax.bound_names(message)
    return any(syntax.variable_uses(clause.body, name) for name in names)


def _message_names(reads: list[Clause]) -> list[str]:
    names: list[str] = []
    for clause in reads:
        message = clause.params[0]
        head = message.named_children[0] if message.type == "tuple" else message
        name = syntax.text(head) if head.type == "atom" else syntax.text(message)
        if name not in names:
            names.append(name if len(name) <= 30 else name[:27] + "...")
    return names


RULE = Rule(
    code="OTP002",
    name="genserver-read-bottleneck",
    severity="information",
    summary="GenServer used as a read-mostly store: every read queues in one mailbox",
    doc=DOC,
    check=check,
    words=("GenServer", "gen_server", "Agent"),
    production_only=True,
    preview=True,
    project_files=lambda summary: (
        summary.has_genserver or any("Agent" in m.uses for m in summary.modules)
    ),
)


def _state_names_the_table(clause: Clause, flow: callbacks.StateFlow) -> bool:
    """The clause takes nothing from the state but the table it reads: the state is the table
    (``:ets.lookup(table, id)``) or holds it (``state.table``, ``%{table: table}``), as the
    first argument of each `:ets` call. A caller can read the named table as well; a reply
    that also takes from the state (``map_size(state.monitors)``) it cannot."""
    passed = {r.state.byte_range for r in flow.returns if r.state is not None}
    for name in [*flow.parts, *([flow.whole] if flow.whole else [])]:
        if clause.guard is not None and syntax.variable_uses(clause.guard, name):
            return False
        for use in syntax.variable_uses(clause.body, name):
            if use.byte_range not in passed and not ets.names_table(use):
                return False
    return True
