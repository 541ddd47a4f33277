"""OTP003 blocking-init: `init/1` of a GenServer, `:gen_statem` or GenStage doing slow, blocking
work."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from tree_sitter import Node

from otp_thinking import fixes, syntax
from otp_thinking.context import Context
from otp_thinking.findings import Edit, Finding, Fix
from otp_thinking.model import clauses, ets, modules
from otp_thinking.model.effects import blocking_call
from otp_thinking.model.reached import HELPER_DEPTH, Project, Scanner, project_lookup
from otp_thinking.model.summary import FileSummary
from otp_thinking.model.supervision import ModuleStart
from otp_thinking.parsing import matches
from otp_thinking.rule import Rule

DOC = """\
## What it flags
`init/1` of a module that is a GenServer (`use GenServer`, `@behaviour GenServer`), a
`:gen_statem` (`@behaviour :gen_statem`, `use GenStateMachine`) or a GenStage stage
(`use GenStage`: its `start_link` waits for `init/1` just the same) when it does blocking work.

As a warning, work that waits on another machine:
- HTTP requests: `Req`, `Finch`, `HTTPoison`, `HTTPotion`, `Tesla`, `:httpc`, `:hackney`,
  `ExAws.request`;
- remote calls: `:rpc.call` (which waits forever by default), `:erpc.call`.

As information, the rest: at boot it is usually bounded, often load-bearing for the processes
started after it, and whether it is is not in this code:
- database calls: `Repo.all/get/one/insert/update/delete/query/transaction/preload/…` on any
  alias ending in `Repo` (`MyApp.Repo`, `MyApp.ReadRepo`), `Ecto.Adapters.SQL.query`,
  `Postgrex.query`, `Redix.command`, `:mnesia.wait_for_tables`, `:mnesia.transaction`;
- network set-up: socket connects and reads (`:gen_tcp.connect/accept/recv`, `:ssl.connect`,
  `Mint.HTTP.connect`, `:gun.await_up`, the `socket` package's `Socket.TCP.connect`,
  `GRPC.Stub.connect`, `AMQP.Connection.open`), node connects (`Node.connect/ping`,
  `:net_kernel.connect_node`, `:net_adm.ping/world/world_list`), DNS lookups
  (`:inet_res.lookup/getbyname`, `:inet.gethostbyname/getaddr`);
- waiting: `Task.await/yield` (and `await_many`/`yield_many`), `receive` written in `init/1`
  itself (unless it has `after 0`), `Process.sleep`, `:timer.sleep`;
- external commands: `System.cmd`, `System.shell`, `:os.cmd`.

Local file work (`File.read/open/ls/cp`, `:file.read_file/open/consult`, `:dets.open_file`,
`:ets.file2tab`) is not blocking work here: opening a device or reading the application's own
files is quick, and when it fails the start should fail.

The call may sit in `init/1` itself, in a function of the same module that `init/1` calls
(`load(state)` or `__MODULE__.load(state)`, followed three calls deep), or in a public
function of another module of the project, reached directly or through up to three more
modules (their public functions, `defdelegate`s and imported functions, and the functions of
each module they call): the message names the chain, as in "init/1 calls load, which calls
do_poll, which blocks on :inet_res.lookup" or "init/1 calls Accounts.load/1, which blocks on
Repo.all (through fetch, Accounts.Store.read/1)". Starting another process of the project
counts as calling its `init/1`, since `start_link` returns only once that has returned:
"init/1 calls Client.start_link/1, which blocks on :gen_tcp.connect (through
MyApp.Client.init/1)". Work inside an `fn` counts when `init/1`
waits for it: an `fn` given to `Enum`/`Stream`, to the `Map`/`Keyword` functions that run it
(`Map.new/2`, `Keyword.update/4`; not `Keyword.get(opts, :fetch, &fetch/1)`, which keeps it),
to `:telemetry.span`,
to `Task.async_stream`, or to `Task.async` when `init/1` also awaits; the message names the
call inside the `fn`, not the `Task.async_stream` around it (an `Agent.start_link(fn -> ...)`
in `init/1` counts too: the `fn` is the new Agent's `init`), and so does an `fn` or capture
bound to a variable the same function then calls, the default of an option included
(`resolver = Keyword.get(config, :resolver, &:inet_res.getbyname(&1, :a))`, then
`resolver.(host)`): the finding sits on that call. One finding per `init/1` clause,
on the first blocking call in source order (or on the call that leads to it). Fixing that one
is the point: the rest of the slow work usually moves with it. A warning names the first
remote call, and information the first wait on a store, the network, a command or a sleep.

Also, at information, `Application.start/2` when it waits on another machine (an HTTP
request, `:rpc`) after its supervision tree has started (in the statements after
`Supervisor.start_link`, or in the clauses of the `case` on its result): the application,
and every application that needs it, has not started until the request returns, though the
running tree could do the work. Not work before the tree starts (the tree may need it), nor
a start that returns `{:error, _}` when the work fails.

Also the `start_link` of a module that a supervisor of the project lists as a child, when it
does such work on every call: `start_link` runs in the supervisor's process, before the new
process even starts, so the supervisor and every child after it wait ("start_link/1 runs in
the process that starts this one (its supervisor) and calls Stats.total/1, which blocks on
Repo.one ..."). The `fn` given to `Agent.start_link` runs as the new Agent's `init`, and the
start waits for it just the same. Left out there: work in a branch (in `start_link` or in
the helpers it calls: a browser opened when configured), a `receive` (waiting for the new
process to acknowledge its start), another process's start it calls (that process's
`init/1` is reported where it is written), a module no supervisor of the project lists
(whoever calls its `start_link` chose to wait), and the exceptions below. No automatic fix:
the advice is `handle_continue/2` of the process it starts, or for an Agent a cheap initial
value loaded with `Agent.cast/2` right after the start.

Not flagged:
- work another module of the project does only in some branches (every call on the way, or
  the blocking call itself, in a branch of an `if`, `unless`, `case` or `cond`: a fetch made
  when an option asks for it, a retry's sleep after a failure): whether `init/1` waits
  depends on arguments and data the tool does not follow;
- `init/1` of other modules: Supervisors, Plugs (`@behaviour Plug`, `use Plug.Builder`),
  Broadway, LiveView `mount`;
- what must stay in `init/1` because it has to be in place before the first message:
  `Phoenix.PubSub.subscribe`, `Registry.register`, `:pg.join`, `:telemetry.attach`,
  `Process.flag`, `Process.monitor`, `:ets.new`, and any function named for what it sets
  up (`subscribe…`, `register…`, `attach…`, `monitor…`, `join…`, `sub`) whatever it waits
  on: a subscription made in `init/1` exists when `start_link` returns, so no message is
  missed;
- calls to another local process (`GenServer.call`, `:gen_statem.call`, `Agent.get`): they
  answer from the other process's state, and in `init/1` they are mostly a registration or a
  look-up of configuration that has to come first;
- work the caller chose: a call in a branch taken on an option of `init/1`'s argument
  (`if Keyword.get(opts, :sync_connect) do`, `if opts[:preload]`, `if mode == :sync` after
  `mode = opts[:mode]`), where the caller asked `start_link` to return only once the work is
  done (a branch on what a call returns, `case store.saved(opts) do`, is not one); also a
  helper an option switches off, one of whose clauses does nothing when the option is
  `false` (`defp sync_start(%{sync_start: false} = state), do: state`);
- a start that fails on purpose: an `init/1` that returns `{:stop, _}` or `{:error, _}` (a
  `start_link`, also `{:shutdown, _}`) on a path at or after the blocking work, or raises
  in the statement that does it (`nil -> raise "not configured"`, a pool raising when a
  worker does not start); or one that returns what a helper returns whose blocking clause
  can return such a tuple (`set_up(state)`, whose `with` hands back `connection/1`'s
  `{:stop, :no_connection}` when its retries run out; a clause that only refuses to start,
  `do_init(:test)`, does not count). Whoever calls `start_link` learns of the failure there
  (a connection's supervisor that retries later, a boot that must not go on), a contract
  that moving the work would break;
- work already in `handle_continue/2`, `handle_info/2` or any other callback;
- boot steps, whose work has to be done before `start_link` returns: an `init/1` that returns
  `:ignore` (an upgrade gate, a one-off check or seed), a `restart: :temporary` server (by
  its `use GenServer` options, or where a supervisor of the project starts it:
  `Supervisor.child_spec({Seed, []}, restart: :temporary)`; not a server the project starts
  only at run time with `DynamicSupervisor.start_child`, one per stream or game, whose
  `init/1` every other start on that supervisor waits for), and an `init/1` that fills
  `:persistent_term` or an ETS table that the module's public functions read directly, or
  through a helper the process shares (callers would find it empty), or that creates Mnesia
  tables or waits for them (`:mnesia.create_table`, `:mnesia.wait_for_tables`: any process
  reads them directly). A request to another machine is still reported there, as a warning:
  the table can be filled from what is at hand and refreshed once `init/1` has returned; not
  the copy of a Mnesia table asked of the node that holds it (`:rpc.call(source, :mnesia,
  :add_table_copy, ..)`), which is part of setting the table up;
- a server whose every start is in a children list whose starting function calls it right
  after (`Supervisor.start_link([VpnCache], ..)` then `VpnCache.overview()` in another
  server's `init/1`): that function waits for the work wherever the server does it, and in
  `handle_continue/2` the call would also meet its timeout;
- a server the project starts with `DynamicSupervisor.start_child` in a `case` that hands a
  failed start on (`{:error, reason} -> {:error, reason}`, not only `:already_started`), when
  its blocking work is local: the caller learns of a failed load when it starts the server,
  and moving the work would turn that into a crash of the running server;
- boot writes: an `init/1` whose only blocking work is database writes whose result it drops
  (deleting stale rows, resetting stuck jobs, writing a heartbeat, a `Redix` command, scripts
  loaded into a store), in `init/1` or in functions of other modules it calls, with at most
  local file reads to feed them. The processes started after it may rely on the write being
  done, and nothing in this code says whether they do;
- servers under development, benchmark, example or test-app folders (`dev/`, `bench/`,
  `examples/`, `test_app/`);
- calls inside a function that runs later or elsewhere: an `fn` handed to `Task.start`,
  `spawn`, `:telemetry.attach` and the like;
- tests, `.exs` scripts and Mix tasks (`use Mix.Task`, or named under `Mix.Tasks.`) (test
  servers often block on purpose).

## Why it matters
`GenServer.start_link/3` does not return until `init/1` has returned, and a supervisor starts
its children one at a time, in order. A slow `init/1` delays every sibling after it and, at
boot, the whole application. A failing one (the database is down, the API times out) fails the
start itself: at boot the application does not come up, and on a restart every failed attempt
counts against the supervisor's restart intensity. A call from `init/1` to a process that is
waiting on this one, or on its supervisor, deadlocks.

`init/1` should do only what must be in place before the first message arrives and return.
`handle_continue/2` runs right after `init/1` returns, before any other message is handled:
start-up stays fast, and the work still happens before the server serves anyone.

## Example
```elixir
def init(opts) do
  Phoenix.PubSub.subscribe(MyApp.PubSub, "prices")
  prices = MyApp.Repo.all(MyApp.Price)
  {:ok, %{prices: prices}}
end
```

```elixir
def init(opts) do
  Phoenix.PubSub.subscribe(MyApp.PubSub, "prices")
  {:ok, %{prices: []}, {:continue, :load}}
end

def handle_continue(:load, state) do
  {:noreply, %{state | prices: MyApp.Repo.all(MyApp.Price)}}
end
```

For a `:gen_statem`, which has no `handle_continue/2`, return a
`{:next_event, :internal, :load}` action from `init/1` and do the work in that event. A GenStage
stage has none either: `send(self(), :init)` from `init/1` and do the work in `handle_info/2`
(the message is the first in the stage's mailbox, before any subscription or demand).

## Fix
Moves the blocking part of a GenServer's `init/1` into a new `handle_continue/2` clause:

- `init/1` keeps the statements that must stay there (the list above) and those that do not
  depend on the blocking work, and returns `{:ok, state, {:continue, :init}}`; a timer
  (`Process.send_after`, `:timer.send_interval`) started from what the work computes moves
  with it, since its message waits until `handle_continue/2` is done anyway;
- the new `handle_continue(:init, state)` clause, placed right after `init/1` (or before the
  module's first `handle_continue/2` clause, to keep clauses together), does the rest and
  returns `{:noreply, state}`; it gets `@impl true` when the module uses `@impl`;
- variables of `init/1` that the moved statements need travel in the continue term
  (`{:continue, {:init, opts}}`); the continue tag avoids any the module already handles.

When the state is built from the blocking work (`prices = Repo.all(Price)` then
`{:ok, %{prices: prices}}`), the state moves too: `init/1` keeps what must stay there and returns
`{:ok, nil, {:continue, {:init, ...}}}`, carrying the variables the rest still needs, and the new
clause ends with the state `init/1` used to build: `{:noreply, %{prices: prices}}`.

The fix is offered only when it can keep the meaning: a single `init/1` clause whose last
expression is literally `{:ok, state}` (so no `{:stop, reason}` or `:ignore` path is lost),
statements on lines of their own, and no call that must stay in `init/1` depending on the moved
work (the message says which condition failed). Otherwise move the work by hand.

When an `@spec init(..)` sits above `init/1`, the title asks to update it: it still names
the old return, where `init/1` now also hands on a `{:continue, _}`.

Unsafe: the work now happens after `start_link` has returned, so callers may reach the process
before it is done (their messages wait in the mailbox until `handle_continue/2` returns), the
processes its supervisor starts after it no longer wait for the work (one that reads what the
work sets up elsewhere, such as a token put in the application's environment, may find it
missing), and a failure in it crashes the running process instead of failing its start.
`handle_continue/2` needs Erlang/OTP 21: when the project's mix.exs admits an Elixir older than
1.10 (the first to require OTP 21), the title says so.
"""

INIT_KINDS = frozenset({"db", "http", "rpc", "await", "sleep", "cmd", "socket", "connect", "dns"})
"""What counts as blocking work in `init/1`. A call to another local process
(`GenServer.call`, `Agent.get`) is not: it answers from its state, and in `init/1` it is
mostly a registration or a look-up of configuration that has to come first. Nor is a local
file (`file`): opening a device or reading the application's own files is quick, and a start
that cannot do it should fail (blind reviewers judged every file-only finding DEB or FP)."""
REMOTE_KINDS = frozenset({"http", "rpc"})
"""What waits on another machine with no bound the code shows: an HTTP request, a remote
call (`:rpc.call/4` waits forever by default). Reported as a warning; the rest (a query of
the application's own database, a DNS lookup, a node connect, a file, a sleep, a command)
is reported as information: at boot that work is usually bounded and often load-bearing
for the processes started after it, and whether it is is not in this code."""

FILLS: dict[str, frozenset[str]] = {
    ":ets": frozenset({"insert", "insert_new"}),
    ":persistent_term": frozenset({"put"}),
    ":mnesia": frozenset({"create_table", "wait_for_tables", "add_table_copy"}),
}
"""Boot work whose result callers read directly, bypassing the process: it has to be done
before `start_link` returns. Mnesia tables are read by any process (`:mnesia.dirty_read`, a
transaction), so a server that creates them or waits for them is a step the processes
started after it count on."""
SHARED_FILLS = (":persistent_term", ":mnesia")
"""Fills any process reads, not only the module's own client functions."""

MUST_STAY: dict[str, frozenset[str]] = {
    "Registry": frozenset({"register"}),
    ":pg": frozenset({"join"}),
    ":telemetry": frozenset({"attach", "attach_many"}),
    "Process": frozenset({"flag", "monitor", "link", "register"}),
    ":ets": frozenset({"new"}),
    ":net_kernel": frozenset({"monitor_nodes"}),
    ":global": frozenset({"register_name"}),
}
"""What must happen before `start_link` returns: a subscription, a registration, a monitor
or a table made later misses what arrives in between. A timer need not (`Process.send_after`,
`:timer.send_interval`): its message waits until `handle_continue/2` is done, so it moves with
the work that computes its arguments."""

MUST_STAY_PREFIXES = ("subscribe", "register", "attach", "monitor", "join")
MUST_STAY_NAMES = frozenset({"sub"})
"""`Gnat.sub/3` and the like: a subscription by its short name."""
CALLBACKS = frozenset(
    {"init", "handle_call", "handle_cast", "handle_info", "handle_continue", "terminate"}
)
CONTINUE_TAGS = ("init", "load", "setup", "boot", "init_work")


def check(context: Context) -> Iterator[Finding]:
    for captures in context.matches(clauses.ALL):
        name = context.text(captures["name"][0])
        if context.text(captures["def"][0]) != "def" or name not in ("init", "start_link", "start"):
            continue
        definition = captures["definition"][0]
        head = clauses.head(definition)
        module = _module_of(definition)
        if head is None or module is None:
            continue
        if name == "start":
            finding = _check_application_start(context, module, definition, len(head[1]))
        elif name == "start_link":
            finding = _check_start_link(context, module, definition, len(head[1]))
        elif len(head[1]) != 1 or (kind := _server_kind(module)) is None:
            continue
        else:
            finding = _check_init(context, module, definition, kind)
        if finding is not None:
            yield finding


def _check_application_start(
    context: Context, module: Node, definition: Node, arity: int
) -> Finding | None:
    """`Application.start/2` that, once its supervision tree has started, waits on another
    machine (an HTTP request, `:rpc`): the application, and every application that needs
    it, has not started until the request returns. The tree's processes are running by
    then, so the work can run in one of them."""
    if arity != 2 or context.tooling_file or not _is_application(module):
        return None
    statements = syntax.body_statements(definition)
    tree = next((i for i, s in enumerate(statements) if _starts_the_tree(s)), None)
    if tree is None:
        return None
    remote_project = _project_lookup(context, module, REMOTE_KINDS)
    scanner = Scanner(module, remote_name, remote_project, unfollowed=_sets_up)
    branches = syntax.do_block(statements[tree]) if statements[tree].type == "call" else None
    after = [branches] if branches is not None else []  # case Supervisor.start_link(..) do
    for statement in after + statements[tree + 1 :]:
        found = scanner.first(statement)
        if found is None:
            continue
        if _fails_its_start(definition, found[0], module):
            return None
        site, name, via = found
        what = f"calls {via}, which waits on {name}," if via else f"waits on {name}"
        finding = context.finding(RULE, site, APPLICATION_MESSAGE.format(what=what))
        return finding.with_severity("information")
    return None


APPLICATION_MESSAGE = (
    "Application.start/2 {what} after its supervision tree has started: the application, and "
    "every application that needs it, has not started until that request returns; run the "
    "work in a process of the tree (a Task child added last with restart: :temporary, or a "
    "server's handle_continue/2)."
)


def _is_application(module: Node) -> bool:
    return "Application" in modules.used(module) or "Application" in syntax.behaviours(module)


def _starts_the_tree(statement: Node) -> bool:
    """The statement starts the application's supervisor (``Supervisor.start_link(children,
    opts)``, bound or matched, or ``MyApp.Supervisor.start_link(..)``)."""
    return any(
        node.type == "call"
        and (target := syntax.remote_target(node)) is not None
        and target[1] == "start_link"
        and (target[0] == "Supervisor" or target[0].endswith(".Supervisor"))
        for node in syntax.descendants(statement)
    )


def _module_of(definition: Node) -> Node | None:
    """The module a clause is written in directly (the ERROR node standing for a half-written
    module's body counts)."""
    container = definition.parent
    if container is None:
        return None
    if container.type == "ERROR":
        return container
    module = container.parent
    if container.type == "do_block" and module is not None and syntax.is_defmodule(module):
        return module
    return None


def _server_kind(module: Node) -> str | None:
    return modules.server_kind(modules.used(module), syntax.behaviours(module))


# -- finding the blocking call ---------------------------------------------------------


@dataclass
class Blocking:
    site: Node
    """The call in `init/1`: the blocking call itself or the local call that leads to it."""
    name: str
    """The blocking call, e.g. ``Repo.all``."""
    via: str | None = None
    """The local function `init/1` calls on the way, e.g. ``load_prices``."""


def blocking_name(module: str, function: str) -> str | None:
    """Blocking work of the kinds that do not belong in `init/1` (see INIT_KINDS)."""
    if (module, function) == ("", "receive"):
        return "receive"
    found = blocking_call(module, function)
    return found.name if found is not None and found.kind in INIT_KINDS else None


def remote_name(module: str, function: str) -> str | None:
    """Work that waits on another machine (see REMOTE_KINDS)."""
    found = blocking_call(module, function)
    return found.name if found is not None and found.kind in REMOTE_KINDS else None


def must_stay_name(module: str, function: str) -> str | None:
    """Calls that set up how the process hears about the world: they belong in `init/1`."""
    if function in MUST_STAY.get(module, ()) or _sets_up(function):
        return f"{module}.{function}"
    return None


def _sets_up(function: str) -> bool:
    """A function named for what it sets up (a subscription, a registration, a monitor):
    whatever it waits on, it has to be done before `start_link` returns."""
    return function.startswith(MUST_STAY_PREFIXES) or function in MUST_STAY_NAMES


def fills_name(module: str, function: str) -> str | None:
    """Writes that callers read back directly (ETS, `:persistent_term`, Mnesia tables)."""
    return f"{module}.{function}" if function in FILLS.get(module, ()) else None


def _project_lookup(
    context: Context, module: Node, kinds: frozenset[str] = INIT_KINDS
) -> Project | None:
    """Blocking functions of other project modules, from the project index."""
    index = context.project.index
    return project_lookup(index.facts if index.complete else None, module, kinds)


# -- the finding -----------------------------------------------------------------------


def _check_init(context: Context, module: Node, definition: Node, kind: str) -> Finding | None:
    if context.tooling_file:
        return None  # a development or test-app server: not part of the production boot
    chosen = _chosen_or_switched_off(definition, module)
    project = _project_lookup(context, module)
    scanner = Scanner(module, blocking_name, project, chosen, unfollowed=_sets_up)
    found = scanner.first(definition)
    if found is None or _boot_step(context, definition, module):
        return None
    if _boot_write(context, module, definition, chosen) or _fails_its_start(
        definition, found[0], module
    ):
        return None
    if _needed_at_once(context, module):
        return None
    remote_project = _project_lookup(context, module, REMOTE_KINDS)

    def unasked(call: Node) -> bool:
        return chosen(call) or _replicates_mnesia(call)

    remote = Scanner(module, remote_name, remote_project, unasked, unfollowed=_sets_up).first(
        definition
    )
    if remote is None and (
        _fills_for_callers(context, module, definition) or _starter_handles_failure(context, module)
    ):
        return None
    if remote is None:
        finding = _blocking_finding(context, module, definition, kind, scanner, found)
        return finding.with_severity("information")
    # The warning names the remote wait (a request), not a wait on a store before it.
    return _blocking_finding(context, module, definition, kind, scanner, remote)


# -- start_link: work done before the process starts ---------------------------------------

OTHER_STARTS = frozenset({"start_link", "start", "child_spec", "init"})
"""Functions of another module that start a process: its own start is reported where it is
written (when a supervisor lists it), not in every module that starts it."""


def _check_start_link(
    context: Context, module: Node, definition: Node, arity: int
) -> Finding | None:
    """`start_link` of a module a supervisor of the project lists, doing blocking work in the
    process that calls it (the supervisor) before or after starting its own, or in the `fn`
    an `Agent.start_link` runs as the Agent's `init`. Only work done on every call counts:
    nothing in a branch, nothing reached through another process's start."""
    starter = _starter(context, module)
    if context.tooling_file or starter is None:
        return None
    chosen = _chosen_or_switched_off(definition, module)
    found = _start_scanner(context, module, chosen, INIT_KINDS).first(definition)
    if found is None or _start_is_a_boot_step(context, module, definition, found, chosen):
        return None
    remote = _start_scanner(context, module, chosen, REMOTE_KINDS).first(definition)
    if remote is None and _fills_for_callers(context, module, definition):
        return None
    site = (remote or found)[0]
    message = _start_message(module, definition, arity, remote or found, starter)
    finding = context.finding(RULE, site, message)
    return finding if remote is not None else finding.with_severity("information")


@dataclass(frozen=True)
class Starter:
    """The supervisor that runs a module's `start_link`, as messages name it: ``who`` runs it
    and ``waiting`` says who waits with it."""

    who: str
    waiting: str


def _starter(context: Context, module: Node) -> Starter | None:
    """Who calls the module's `start_link` in its own process: a supervisor that lists it as a
    child (at boot, every child after it waits), else a DynamicSupervisor it is started on
    (every other start on it waits, and so does the caller of `start_child`); None when no
    supervisor of the project starts it (whoever calls `start_link` chose to wait)."""
    index = context.project.index
    if not index.complete or not syntax.is_defmodule(module):
        return None
    name = modules.full_name(module)
    listed, dynamic = index.facts.started_by_supervisors(name)
    if listed:
        after = "" if index.facts.listed_last(name) else ", and so does every child listed after it"
        return Starter("its supervisor", f"the supervisor waits for it{after}")
    if dynamic:
        caller = f"{dynamic[0].owner}.{dynamic[0].function}"
        return Starter(
            "its DynamicSupervisor",
            f"the DynamicSupervisor waits for it, and so does every other start on it and the "
            f"process calling {caller}",
        )
    return None


PROCESS_STARTS = frozenset(
    (module, function)
    for module in (
        "GenServer",
        "Agent",
        "Supervisor",
        "DynamicSupervisor",
        "GenStage",
        "Broadway",
        "GenStateMachine",
        ":gen_server",
        ":gen_statem",
        ":supervisor",
    )
    for function in ("start_link", "start")
)


def _process_start(definition: Node) -> Node | None:
    """The call in ``definition`` that starts the module's process (``GenServer.start_link``,
    ``Agent.start_link``, ``Supervisor.start_link``...), the first when there are several."""
    for captures in matches(syntax.REMOTE_CALLS, definition):
        written = (syntax.text(captures["module"][0]), syntax.text(captures["function"][0]))
        if written in PROCESS_STARTS:
            return captures["call"][0]
    return None


def _start_scanner(
    context: Context, module: Node, chosen: Callable[[Node], bool], kinds: frozenset[str]
) -> Scanner:
    """Blocking calls of ``kinds`` made on every run (none in a branch, no `receive`: a start
    waiting for the new process's acknowledgement), not through another process's start."""
    project = _project_lookup(context, module, kinds)

    def classify(module_name: str, function: str) -> str | None:
        found = blocking_call(module_name, function)
        return found.name if found is not None and found.kind in kinds else None

    def not_a_start(call: Node, written: str, function: str) -> tuple[str, str] | None:
        reached = project(call, written, function) if project is not None else None
        if function in OTHER_STARTS or reached is None or ".init/1" in reached[0]:
            return None
        return reached

    return Scanner(module, classify, not_a_start, chosen, unfollowed=_sets_up, branches=False)


def _start_is_a_boot_step(
    context: Context,
    module: Node,
    definition: Node,
    found: tuple[Node, str, str | None],
    chosen: Callable[[Node], bool],
) -> bool:
    """The exceptions `init/1` has (see `_check_init`), asked of `start_link`'s own body."""
    return (
        _boot_step(context, definition, module)
        or _boot_write(context, module, definition, chosen)
        or _fails_its_start(definition, found[0], module)
    )


START_ADVICE = {
    "gen_server": "move the work into handle_continue/2 of the process it starts",
    "gen_statem": (
        "move the work into the process: return a {:next_event, :internal, ...} action from "
        "init/1 and do it in that event"
    ),
    "gen_stage": (
        "move the work into the process: send(self(), :init) from init/1 and do it in handle_info/2"
    ),
}
ELSEWHERE = (
    "move it out of the start, into a child placed after the processes it needs (a Task "
    "child, or handle_continue/2 of a GenServer child)"
)
AGENT_ADVICE = (
    "start the Agent with a cheap value and do the work with Agent.cast/2 right after "
    "start_link returns (calls wait in the Agent's mailbox until it is done), or make it a "
    "GenServer that does it in handle_continue/2"
)


def _agent_fn(start: Node) -> tuple[Node, str] | None:
    """The ``fn`` an ``Agent.start_link``/``Agent.start`` runs as the new Agent's `init`, and
    the function called."""
    target = syntax.remote_target(start)
    arguments = syntax.argument_nodes(start)
    if target is None or target[0] != "Agent" or not arguments:
        return None
    return (arguments[0], target[1]) if arguments[0].type == "anonymous_function" else None


def _start_message(
    module: Node,
    definition: Node,
    arity: int,
    found: tuple[Node, str, str | None],
    starter: Starter,
) -> str:
    """What the start does, when (before or after the process starts, or in an Agent's
    `fn`), who waits, and where the work can go."""
    site, name, via = found
    what = f"calls {via}, which blocks on {name}" if via else f"blocks on {name}"
    start = _process_start(definition)
    initial = _agent_fn(start) if start is not None else None
    if initial is not None and syntax.contains(initial[0], site):
        return (
            f"The fn start_link/{arity} gives to Agent.{initial[1]} runs as the Agent's init "
            f"and {what}: {starter.waiting}; {AGENT_ADVICE}."
        )
    when = ""
    if start is not None:
        # The arguments of the start are computed before it, in the same process.
        before = site.start_byte < start.start_byte or syntax.contains(start, site)
        when = " before it starts the process" if before else " after it starts the process"
    advice = START_ADVICE.get(_server_kind(module) or "", ELSEWHERE)
    return (
        f"start_link/{arity} runs in the process that starts this one ({starter.who}) and "
        f"{what}{when}: {starter.waiting}; {advice}."
    )


RAISING = frozenset({"raise", "reraise", "exit", "throw"})
FAILED_STARTS = (":stop", ":error", ":shutdown")
BRANCHES = frozenset({"if", "unless", "case", "cond"})
OPTION_READERS = frozenset(
    {
        ("Keyword", "get"),
        ("Keyword", "fetch"),
        ("Keyword", "fetch!"),
        ("Keyword", "get_lazy"),
        ("Map", "get"),
        ("Map", "fetch"),
        ("Map", "fetch!"),
        ("Map", "get_lazy"),
        ("Access", "get"),
    }
)


def _fails_its_start(definition: Node, site: Node, module: Node | None = None) -> bool:
    """`init/1` returns `{:stop, _}` or `{:error, _}` on a path at or after the blocking work,
    or raises in the statement that does it (`nil -> raise "not configured"`): the start
    fails on purpose when the work does, and whoever calls `start_link` learns of it there (a
    connection's supervisor retrying later, a pool failing the boot). Moving the work would
    break that contract, and whether callers rely on it is not in this code: not reported.
    Also when `init/1` returns what a helper of the module returns (``setup_topology(state)``
    as its last expression) and that helper can return such a tuple."""
    blocking = Scanner(module, blocking_name) if module is not None else None
    for tail in syntax.tail_expressions(syntax.body_of(definition)):
        if _failed_start(tail) and tail.start_byte > site.start_byte:
            return True
        if blocking is None or module is None or tail.end_byte <= site.start_byte:
            continue
        if _helper_fails(module, tail, blocking):
            return True
    statement = _statement_holding(definition, site)
    return statement is not None and any(
        n.type == "call" and syntax.local_target(n) in RAISING
        for n in syntax.descendants(statement)
    )


def _failed_start(node: Node) -> bool:
    items = [c for c in node.named_children if c.type != "comment"]
    return node.type == "tuple" and bool(items) and syntax.text(items[0]) in FAILED_STARTS


def _helper_fails(module: Node, call: Node, blocking: Scanner, depth: int = 1) -> bool:
    """``call`` is a call of a function of the module with a clause that blocks and can
    return ``{:stop, _}`` (or ``{:error, _}``) when that work fails: from one of its tails,
    from a helper it returns the value of, or from a helper on the right of a ``<-`` of a
    ``with`` it ends in, whose failures that ``with`` hands back as they are (``with {:ok,
    conn} <- connection(state) do``, no ``else``). A clause that only refuses to start
    (``do_init(:test), do: {:stop, :disabled}``) is no failure of the work."""
    name = syntax.local_target(call) if call.type == "call" else None
    if name is None or name in BRANCHES or depth > HELPER_DEPTH:
        return False
    arity = len(syntax.argument_nodes(call))
    for definition in clauses.of_module(module, name):
        if not clauses.accepts(definition, arity):
            continue
        tails = syntax.tail_expressions(syntax.body_of(definition))
        if any(map(_failed_start, tails)) and blocking.first(definition) is not None:
            return True
        passed = [c for w in _with_calls(definition) for c in _passed_through(w)]
        if any(_helper_fails(module, c, blocking, depth + 1) for c in tails + passed):
            return True
    return False


def _with_calls(definition: Node) -> list[Node]:
    """The ``with`` a function's body ends in, when it ends in one."""
    statements = syntax.body_statements(definition)
    last = statements[-1] if statements else None
    return [last] if last is not None and syntax.local_target(last) == "with" else []


def _passed_through(with_call: Node) -> list[Node]:
    """The calls on the right of the ``<-`` clauses of a ``with`` without ``else``: a value
    that does not match comes back from the ``with`` as it is."""
    block = syntax.do_block(with_call)
    if block is None or any(c.type == "else_block" for c in block.named_children):
        return []
    found = []
    for argument in syntax.argument_nodes(with_call):
        if argument.type == "binary_operator" and syntax.operator(argument) == "<-":
            right = argument.child_by_field_name("right")
            if right is not None and right.type == "call":
                found.append(right)
    return found


def _chosen_or_switched_off(definition: Node, module: Node) -> Callable[[Node], bool]:
    """A call of `init/1` the caller chose (`_chosen_by_the_caller`), or a call of a helper
    that an option switches off (`_switched_off`)."""
    chosen = _chosen_by_the_caller(definition)
    return lambda call: chosen(call) or _switched_off(module, call)


def _switched_off(module: Node, call: Node) -> bool:
    """``call`` runs a function of the module one of whose clauses does nothing when an
    option says so: ``defp sync_start(%{sync_start: false} = state), do: state``. Whoever
    starts the process chose whether `start_link` waits for the work."""
    name = syntax.local_target(call) if call.type == "call" else None
    if name is None or name in BRANCHES:
        return False
    arity = len(syntax.argument_nodes(call))
    return any(
        clauses.accepts(definition, arity) and _does_nothing_when_off(definition)
        for definition in clauses.of_module(module, name)
    )


def _does_nothing_when_off(definition: Node) -> bool:
    """A clause whose head matches an option key set to ``false`` or ``nil`` in a map and
    whose body only hands back one of its parameters or an atom (``:ok``)."""
    head = clauses.head(definition)
    statements = syntax.body_statements(definition)
    if head is None or len(statements) != 1:
        return False
    names = set().union(*(_variables(p, pinned=False) for p in head.params))
    result = statements[0]
    trivial = result.type == "atom" or (
        result.type == "identifier" and syntax.text(result) in names
    )
    return trivial and any(_matches_off(p) for p in head.params)


def _matches_off(param: Node) -> bool:
    """``%{sync_start: false}`` (or ``= state`` after it): a map pattern with a key bound to
    ``false`` or ``nil``."""
    if param.type == "binary_operator" and syntax.operator(param) == "=":
        param = param.child_by_field_name("left") or param
    if param.type != "map":
        return False
    return any(
        value is not None and value.type in ("boolean", "nil") and syntax.text(value) != "true"
        for pairs in param.named_children
        if pairs.type == "map_content"
        for keywords in pairs.named_children
        for _key, value in syntax.keyword_pairs(keywords)
    )


def _chosen_by_the_caller(definition: Node) -> Callable[[Node], bool]:
    """Whether a call of `init/1` sits in a branch taken on an option the caller passed
    (``if Keyword.get(opts, :sync_connect) do``, ``if opts[:preload]``, ``case mode do``
    after ``mode = opts[:mode]``): the caller asked `start_link` to wait for that work. A
    branch on what a call returns (``case store.saved(opts) do``) is not one: the option is
    only an argument there."""
    head = clauses.head(definition)
    whole = set().union(*(_variables(p, pinned=False) for p in head[1])) if head else set()
    options = Options(whole, set())
    for statement in syntax.body_statements(definition):
        if statement.type == "binary_operator" and syntax.operator(statement) == "=":
            right = statement.child_by_field_name("right")
            if right is not None and _option_value(right, options):
                bound = options.whole if right.type == "identifier" else options.keys
                bound |= _bound(statement)

    def chosen(call: Node) -> bool:
        for branch in syntax.ancestors(call):
            if branch == definition:
                return False
            if branch.type != "call" or syntax.local_target(branch) not in BRANCHES:
                continue
            arguments = syntax.argument_nodes(branch)
            if arguments and syntax.contains(arguments[0], call):
                continue  # the call is the condition itself
            if arguments and _option_value(arguments[0], options):
                return True
        return False

    return chosen


@dataclass
class Options:
    """The variables holding what the caller passed to `init/1`: ``whole`` arguments, and
    ``keys`` read from them (``mode = opts[:mode]``)."""

    whole: set[str]
    keys: set[str]


CONDITION_OPERATORS = frozenset(
    {"==", "!=", "===", "!==", "and", "or", "&&", "||", "in", "not in", "<", ">", "<=", ">="}
)


def _option_value(node: Node, options: Options, tested: bool = False) -> bool:
    """``node`` is the value of one of ``options`` or of one of its keys (``opts``,
    ``opts[:key]``, ``opts.key``, ``Keyword.get(opts, :key)``), or a test of a key (``not
    opts[:lazy]``, ``opts[:mode] == :sync``; a test of a whole argument, ``tenant == nil``,
    checks what was passed rather than choosing a behaviour)."""
    while node.type == "block" and len(node.named_children) == 1:
        node = node.named_children[0]
    if node.type == "unary_operator" and syntax.operator(node) in ("not", "!"):
        operand = node.child_by_field_name("operand")
        return operand is not None and _option_value(operand, options, tested=True)
    if node.type == "binary_operator" and syntax.operator(node) in CONDITION_OPERATORS:
        sides = (node.child_by_field_name("left"), node.child_by_field_name("right"))
        return any(s is not None and _option_value(s, options, tested=True) for s in sides)
    if node.type == "identifier":
        name = syntax.text(node)
        return name in options.keys or (not tested and name in options.whole)
    if node.type == "access_call" or (node.type == "call" and _field_read(node)):
        target = node.named_children[0] if node.named_children else None
        if target is not None and target.type == "dot":
            target = target.child_by_field_name("left")
        return target is not None and _option_value(target, options)
    if node.type == "call" and syntax.remote_target(node) in OPTION_READERS:
        arguments = syntax.argument_nodes(node)
        return bool(arguments) and _option_value(arguments[0], options)
    return False


def _field_read(call: Node) -> bool:
    """``opts.key``: a dot call on a variable, without parentheses or arguments."""
    target = call.child_by_field_name("target")
    left = target.child_by_field_name("left") if target is not None else None
    return (
        target is not None
        and target.type == "dot"
        and left is not None
        and left.type in ("identifier", "call", "access_call")
        and syntax.arguments(call) is None
    )


WRITES = frozenset(
    {
        "insert",
        "insert!",
        "insert_all",
        "insert_or_update",
        "insert_or_update!",
        "update",
        "update!",
        "update_all",
        "delete",
        "delete!",
        "delete_all",
        "transaction",
        "transact",
        "sync_transaction",
    }
)


COMMANDS = ("Redix.",)
"""Stores driven by commands (`Redix.command(conn, ["PSETEX", ...])`): which commands write is
in their arguments, so one whose result `init/1` drops counts as a write (a heartbeat, a
script load), done for its effect."""


def _is_write(name: str) -> bool:
    """``Repo.insert!`` in a display name such as ``Repo.insert! (through save)``, or a
    store command (see COMMANDS)."""
    call = name.split(" ", 1)[0]
    return call.rpartition(".")[2] in WRITES or call.startswith(COMMANDS)


def _boot_write(
    context: Context, module: Node, definition: Node, chosen: Callable[[Node], bool]
) -> bool:
    """All the blocking work of `init/1` is writes whose result it drops (a cleanup, a
    heartbeat, a reset of stuck rows, scripts loaded into a store): done once, before the
    processes started after this one, which may rely on it. Whether they do is not in this
    code, so it is not reported."""
    project = _project_lookup(context, module)
    first = Scanner(module, blocking_name, project, chosen, unfollowed=_sets_up).first(definition)
    if first is None or not _is_write(first[1]) or _result_used(definition, first[0]):
        return False

    def not_writes(call: Node, written: str, function: str) -> tuple[str, str] | None:
        reached = project(call, written, function) if project is not None else None
        return None if reached is None or _is_write(reached[0]) else reached

    def reads(module_name: str, function: str) -> str | None:
        found_name = blocking_name(module_name, function)
        return None if found_name is None or _is_write(found_name) else found_name

    return Scanner(module, reads, not_writes, unfollowed=_sets_up).first(definition) is None


def _statement_holding(definition: Node, node: Node) -> Node | None:
    return next(
        (
            s
            for s in syntax.body_statements(definition)
            if s.start_byte <= node.start_byte < s.end_byte
        ),
        None,
    )


def _result_used(definition: Node, site: Node) -> bool:
    """The value of the statement holding ``site`` reaches what `init/1` returns: it is the
    last statement, or binds variables a later statement uses."""
    statements = syntax.body_statements(definition)
    statement = _statement_holding(definition, site)
    if statement is None or statement == statements[-1]:
        return True
    bound = {n for n in _bound(statement) if not n.startswith("_")}
    later = statements[statements.index(statement) + 1 :]
    return bool(bound & _used_in(later))


WITHOUT_CONTINUE = {
    "gen_statem": (
        "return a {:next_event, :internal, ...} action and do the work in that event instead "
        "(no automatic fix: :gen_statem has no handle_continue/2)."
    ),
    "gen_stage": (
        "send the stage a message from init/1 (send(self(), :init)) and do the work in "
        "handle_info/2 instead (no automatic fix: GenStage has no handle_continue/2)."
    ),
}
"""The advice, by kind, for servers without ``handle_continue/2``."""


def _blocking_finding(
    context: Context,
    module: Node,
    definition: Node,
    kind: str,
    scanner: Scanner,
    found: tuple[Node, str, str | None],
) -> Finding:
    site, name, via = found
    what = f"calls {via}, which blocks on {name}," if via else f"blocks on {name},"
    waits = _who_waits(context, module)
    if kind in WITHOUT_CONTINUE:
        return context.finding(RULE, site, f"init/1 {what} {waits}; {WITHOUT_CONTINUE[kind]}")
    plan = _plan(context, module, definition, site, scanner)
    message = f"init/1 {what} {waits}; move the work into handle_continue/2"
    if isinstance(plan, str):
        return context.finding(RULE, site, f"{message} (no automatic fix: {plan}).")
    return context.finding(RULE, site, f"{message}.", fix=plan)


def _who_waits(context: Context, module: Node) -> str:
    """Who waits for `init/1`, as the project shows it: a supervisor when one starts the
    module, the modules whose code starts it with `GenServer.start`/`start_link` when no
    supervisor does (a matchmaker starting a game), else whoever starts it."""
    index = context.project.index
    unknown = "so whoever starts this process waits for it"
    if not index.complete or not syntax.is_defmodule(module):
        return unknown
    name = modules.full_name(module)
    files = index.files.values()
    listed, dynamic = index.facts.started_by_supervisors(name)
    if listed:
        return "so whoever starts this process (its supervisor) waits for it"
    if dynamic:
        supervisor = next((start.supervisor for start in dynamic if start.supervisor), None)
        which = f"the DynamicSupervisor {supervisor}" if supervisor else "its DynamicSupervisor"
        caller = f"{dynamic[0].owner}.{dynamic[0].function}"
        return (
            f"so {which} waits for it, and with it every other start on that supervisor and "
            f"the process calling {caller}"
        )
    starts = [s for f in files for s in f.supervision.starts if s.module == name]
    starters = sorted({s.owner for s in starts})
    if not starters:
        return unknown
    if all(_wrapper_start(context, s) for s in starts):  # its start runs in the supervisor
        return (
            f"so whoever starts this process (the supervisor that starts {starters[0]}) "
            "waits for it"
        )
    named = ", ".join(starters[:2]) + (", ..." if len(starters) > 2 else "")
    return f"so the process that starts it ({named}) waits for it"


def _wrapper_start(context: Context, start: ModuleStart) -> bool:
    """The start is made by the `start_link` (or `start`) of a module a supervisor lists: a
    wrapper whose own start starts this process, in the supervisor's process."""
    listed, _dynamic = context.project.index.facts.started_by_supervisors(start.owner)
    return start.function in ("start_link", "start") and bool(listed)


def _boot_step(context: Context, definition: Node, module: Node) -> bool:
    """`init/1` of a step of the boot that does its work and goes away (`init/1` returns
    `:ignore`, or the server is `restart: :temporary`): its work has to be done before
    `start_link` returns."""
    tails = syntax.tail_expressions(syntax.body_of(definition))
    return any(syntax.text(tail) == ":ignore" for tail in tails) or _temporary(context, module)


RPC_CALLS = frozenset({(":rpc", "call"), (":rpc", "block_call"), (":erpc", "call")})


def _replicates_mnesia(call: Node) -> bool:
    """``:rpc.call(source, :mnesia, :add_table_copy, [table, node(), :ram_copies])``: a step of
    setting up a Mnesia table here, asked of the node that holds it; part of the boot step the
    processes started after this one count on (see FILLS), not a request for data."""
    if syntax.remote_target(call) not in RPC_CALLS:
        return False
    args = syntax.argument_nodes(call)
    return (
        len(args) >= 3
        and syntax.text(args[1]) == ":mnesia"
        and syntax.text(args[2]).lstrip(":") in FILLS[":mnesia"]
    )


def _fills_for_callers(context: Context, module: Node, definition: Node) -> bool:
    """`init/1` fills `:persistent_term`, Mnesia tables or an ETS table that callers read
    directly, without asking the process: callers would find it empty if the work came
    later. Not an excuse for waiting on another machine (the table can be filled from what is
    at hand first and refreshed later), so only asked when the blocking work is local."""
    fill = Scanner(module, fills_name, captured=True).first(definition)
    if fill is None:
        return False
    return fill[1].startswith(SHARED_FILLS) or _reads_table_directly(context, module)


def _needed_at_once(context: Context, module: Node) -> bool:
    """Every start of the server is in a children list whose starting function then calls
    the server (``Supervisor.start_link([Cache], ..)`` and then ``Cache.overview()`` in
    another server's ``init/1``): that function waits for the work wherever the server does
    it, and moved to ``handle_continue/2`` it would also meet the call's timeout."""
    index = context.project.index
    if not index.complete or not syntax.is_defmodule(module):
        return False
    name = modules.full_name(module)
    _listed, dynamic = index.facts.started_by_supervisors(name)
    lists = index.facts.lists_holding(name)
    return bool(lists) and not dynamic and all(name in c.then_calls for c in lists)


def _starter_handles_failure(context: Context, module: Node) -> bool:
    """The project starts the server with `DynamicSupervisor.start_child` and hands a failed
    start on as a value (`{:error, reason} -> {:error, reason}`): its caller learns of a failed
    load when it starts the server (a page that shows "could not be loaded"), which moving
    the work after `init/1` would turn into a crash of the running server. Only asked when
    the blocking work is local."""
    index = context.project.index
    if not index.complete or not syntax.is_defmodule(module):
        return False
    _listed, dynamic = index.facts.started_by_supervisors(modules.full_name(module))
    return any(start.failure_handled for start in dynamic)


def _reads_table_directly(context: Context, module: Node) -> bool:
    """A function of the module that runs in its callers' processes reads ETS (a client
    function, or a helper one reaches, even one the process uses too): callers get the data
    without a message to the process."""
    return any(
        access.facts.read and access.facts.client
        for access in ets.of(context).accesses
        if access.module is not None and access.module.node == module
    )


def _temporary(context: Context, module: Node) -> bool:
    """The server is a `restart: :temporary` step of the boot: where a supervisor of the
    project starts it (`Supervisor.child_spec({Mod, arg}, restart: :temporary)`, a map spec
    with `restart: :temporary`), or by its `use` options unless the project starts it only
    at run time (`DynamicSupervisor.start_child`: one server per stream or game, whose start
    every other start on that supervisor waits for)."""
    restarts = (use.option("restart") for use in modules.uses(module))
    temporary = any(syntax.text(restart) == ":temporary" for restart in restarts if restart)
    index = context.project.index
    if not index.complete or not syntax.is_defmodule(module):
        return temporary
    listed, dynamic = index.facts.started_by_supervisors(modules.full_name(module))
    if any(child.restart == ":temporary" for child in listed):
        return True
    return temporary and (bool(listed) or not dynamic)


# -- the fix ---------------------------------------------------------------------------


def _plan(
    context: Context, module: Node, definition: Node, site: Node, scanner: Scanner
) -> Fix | str:
    """The fix, or why there is none."""
    inits = clauses.of_module(module, "init", 1)
    if len(inits) != 1:
        return "init/1 has several clauses"
    block = syntax.do_block(definition)
    if block is None or any(c.type.endswith("_block") for c in block.named_children):
        return "init/1 is not a plain do ... end body"
    statements = syntax.body_statements(definition)
    if not statements:
        return "init/1 is empty"
    result = statements[-1]
    state = _ok_state(result)
    if state is None:
        continued = _continued(result)
        if continued is not None:
            return (
                f"init/1 already ends with {{:continue, {continued}}}: move the work to the start "
                "of that handle_continue/2"
            )
        return f"init/1 ends {_ending(result)}, not with one {{:ok, state}} the work can follow"
    if not _own_lines(context, [block.children[0], *statements]):
        return "init/1 puts several statements on one line"

    params = set()
    head = clauses.head(definition)
    for param in head[1] if head else []:
        params |= _variables(param, pinned=False)
    plan = Plan(context, module, definition, statements, state, params)
    if syntax.contains(result, site):
        return plan.moving_the_state(scanner)

    split = _split(statements[:-1], scanner, Scanner(module, must_stay_name))
    if isinstance(split, str):
        return split
    kept, moved = split
    rebinding = _rebinds_what_moves(kept, moved) or _links_tasks(moved)
    if rebinding:
        return rebinding
    moved_vars = set().union(*(_bound(s) for s in moved))

    kept_vars = params.union(*(_bound(s) for s in kept))
    state_name = syntax.text(state) if state.type == "identifier" else None
    if state_name is not None:
        if state_name not in kept_vars or (_used(state) & moved_vars) - {state_name}:
            return plan.moving_the_state(scanner)
    elif _used(state) & moved_vars:
        return plan.moving_the_state(scanner)

    moved_uses = _ordered_uses(moved)
    parameter = state_name or next(
        (n for n in ("state", "new_state") if n not in moved_uses and n not in moved_vars), None
    )
    if parameter is None:
        return "no free name for the state in handle_continue/2"
    carried = [n for n in moved_uses if n in kept_vars and n != parameter]
    tag = _free_tag(module)
    if tag is None:
        return "the module already handles every continue tag this fix would use"
    term = f":{tag}" if not carried else "{" + ", ".join([f":{tag}", *carried]) + "}"
    return _build(context, module, definition, statements, kept, moved, state, term, parameter)


def _rebinds_what_moves(kept: list[Node], moved: list[Node]) -> str | None:
    for statement in moved:
        later = set().union(*(_bound(s) for s in kept if s.start_byte > statement.start_byte))
        if later & _used(statement):
            return "a statement after the blocking work rebinds a variable the work uses"
    return None


LINKED_TASKS = frozenset({("Task", "async"), ("Task", "async_stream")})


def _links_tasks(moved: list[Node]) -> str | None:
    """Linked tasks in the work to move: in `init/1` a crash fails the start, as it should;
    in `handle_continue/2` it would take the running server down (OTP101/OTP102)."""
    for statement in moved:
        if any(
            n.type == "call" and syntax.remote_target(n) in LINKED_TASKS
            for n in [statement, *syntax.descendants(statement)]
        ):
            return "the blocking work starts linked tasks, which would crash the running server"
    return None


@dataclass
class Plan:
    """What a fix of `init/1` works from."""

    context: Context
    module: Node
    definition: Node
    statements: list[Node]
    state: Node
    params: set[str]

    def moving_the_state(self, scanner: Scanner) -> Fix | str:
        """The fix when the state is built from the blocking work: `init/1` keeps what must
        stay there and returns a placeholder state (nil) with the variables the rest needs in
        the continue term; `handle_continue/2` does the rest and returns
        ``{:noreply, state}`` with the state `init/1` used to build."""
        body = self.statements[:-1]
        split = _split(body, scanner, Scanner(self.module, must_stay_name))
        if split == NO_BLOCKING_STATEMENT:
            split = (body, [])
        if isinstance(split, str):
            return split
        kept, moved = split
        rebinding = _rebinds_what_moves(kept, moved) or _links_tasks([*moved, self.state])
        if rebinding:
            return rebinding
        kept_vars = self.params.union(*(_bound(s) for s in kept))
        uses = _ordered_uses([*moved, self.state])
        carried = [n for n in uses if n in kept_vars]
        tag = _free_tag(self.module)
        if tag is None:
            return "the module already handles every continue tag this fix would use"
        term = f":{tag}" if not carried else "{" + ", ".join([f":{tag}", *carried]) + "}"
        taken = set(uses) | kept_vars
        parameter = next(n for n in ("_state", "_placeholder", "_nil") if n not in taken)
        return _build(
            self.context,
            self.module,
            self.definition,
            self.statements,
            kept,
            moved,
            self.state,
            term,
            parameter,
            moves_state=True,
        )


NO_BLOCKING_STATEMENT = "the blocking call is not a statement of init/1"


def _split(
    statements: list[Node], scanner: Scanner, staying: Scanner
) -> tuple[list[Node], list[Node]] | str:
    """Which statements stay in `init/1` and which move, in order, or why none can.

    Everything before the first blocking statement stays. After it, a statement moves when it
    blocks or uses what moved statements bind; of the others, the ones that must stay in
    `init/1` stay (hoisted above the moved work), and so do the bindings a staying statement
    needs; the rest moves too, so side effects keep their order. A binding only the state
    needs moves (and the state with it): kept, it would run before the blocking work it
    follows (ex_wire's pings, moved ahead of the sleep meant to come before them).
    """
    blocking = [scanner.first(s) is not None for s in statements]
    if not any(blocking):
        return NO_BLOCKING_STATEMENT
    first = blocking.index(True)
    tainted: set[int] = set()
    tainted_vars: set[str] = set()
    for index in range(first, len(statements)):
        statement = statements[index]
        if blocking[index] or _used(statement) & tainted_vars:
            if staying.first(statement) is not None:
                return "the blocking work is mixed with calls that must stay in init/1"
            tainted.add(index)
            tainted_vars |= _bound(statement)
    untainted = {i for i in range(first, len(statements)) if i not in tainted}
    stays = {i for i in untainted if staying.first(statements[i]) is not None}
    needed: set[str] = set().union(*(_used(statements[i]) for i in stays))
    for index in sorted(untainted - stays, reverse=True):
        if _bound(statements[index]) & needed:
            stays.add(index)
            needed |= _used(statements[index])
    kept = [s for i, s in enumerate(statements) if i < first or i in stays]
    moved = [s for i, s in enumerate(statements) if i >= first and i not in stays]
    return kept, moved


def _continued(result: Node) -> str | None:
    """``:load`` in ``{:ok, state, {:continue, :load}}``."""
    elements = [c for c in result.named_children if c.type != "comment"]
    if result.type != "tuple" or len(elements) != 3 or syntax.text(elements[0]) != ":ok":
        return None
    last = [c for c in elements[2].named_children if c.type != "comment"]
    if elements[2].type == "tuple" and len(last) == 2 and syntax.text(last[0]) == ":continue":
        return syntax.text(last[1])
    return None


def _ending(result: Node) -> str:
    """How ``init/1``'s last expression reads in a message: ``in a case`` for a branch, else
    ``with`` the expression when it is short."""
    branch = syntax.local_target(result) if result.type == "call" else None
    if branch in ("case", "if", "cond", "with", "unless", "receive", "try"):
        return f"in a {branch}"
    text = " ".join(syntax.text(result).split())
    return f"with {text}" if len(text) <= 40 else "with another expression"


def _ok_state(result: Node) -> Node | None:
    """``state`` in a literal ``{:ok, state}``."""
    if result.type != "tuple":
        return None
    elements = [c for c in result.named_children if c.type != "comment"]
    if len(elements) == 2 and syntax.text(elements[0]) == ":ok":
        return elements[1]
    return None


def _own_lines(context: Context, nodes: list[Node]) -> bool:
    """Each node ends on a line before the next one starts."""
    return all(
        previous.end_point.row < current.start_point.row
        for previous, current in zip(nodes, nodes[1:], strict=False)
    )


def _variables(node: Node, *, pinned: bool) -> set[str]:
    """Identifiers in ``node`` that can be variables; ``pinned`` keeps ``^x`` ones."""
    names = set()
    stack = [node]
    while stack:
        current = stack.pop()
        if current.type == "identifier":
            if _is_variable(current, pinned):
                names.add(syntax.text(current))
            continue
        stack.extend(current.named_children)
    return names


def _is_variable(identifier: Node, pinned: bool) -> bool:
    """A variable not named `_…`; a pinned one (`^x`) only when ``pinned``."""
    if syntax.text(identifier).startswith("_") or not syntax.is_variable(identifier):
        return False
    parent = identifier.parent
    pin = parent is not None and parent.type == "unary_operator" and syntax.operator(parent) == "^"
    return pinned or not pin


def _used(node: Node) -> set[str]:
    return _variables(node, pinned=True)


def _used_in(statements: list[Node]) -> set[str]:
    return set().union(*(_used(statement) for statement in statements))


def _ordered_uses(statements: list[Node]) -> list[str]:
    seen: list[str] = []
    for statement in statements:
        identifiers = []
        stack = [statement]
        while stack:
            current = stack.pop()
            if current.type == "identifier" and _is_variable(current, True):
                identifiers.append(current)
            else:
                stack.extend(current.named_children)
        for identifier in sorted(identifiers, key=lambda n: n.start_byte):
            name = syntax.text(identifier)
            if name not in seen:
                seen.append(name)
    return seen


def _bound(statement: Node) -> set[str]:
    """Variables a statement binds: the patterns of its top-level ``=`` chain."""
    names: set[str] = set()
    node = statement
    while node.type == "binary_operator" and syntax.operator(node) == "=":
        left, right = node.child_by_field_name("left"), node.child_by_field_name("right")
        if left is not None:
            names |= _variables(left, pinned=False)
        if right is None:
            break
        node = right
    return names


def _free_tag(module: Node) -> str | None:
    patterns = [
        syntax.text(head[1][0])
        for definition in clauses.of_module(module, "handle_continue", 2)
        if (head := clauses.head(definition)) is not None
    ]
    for tag in CONTINUE_TAGS:
        if not any(f":{tag}" in pattern for pattern in patterns):
            return tag
    return None


def _term_items(term: str) -> str | fixes.Tuple:
    """The continue term (``:init`` or ``{:init, var, ...}``, variables only) as a tuple."""
    if not term.startswith("{"):
        return term
    items: fixes.Tuple = [*term[1:-1].split(", ")]
    return items


def _fitted_result(
    context: Context, result: Node, state: Node, term: str, moves_state: bool
) -> str | None:
    """``init/1``'s new result, from the start of its line, laid out as `mix format` lays it
    out when writing it in place of the old one would not do: the line grows past the limit (a
    continue term carrying many variables), or the state that spread the result over several
    lines is replaced by ``nil``. None when the edit in place is right, or when the result is
    not a tuple whose other elements are each on one line."""
    source = context.source
    start, end = context.span(result)
    if result.type != "tuple":
        return None
    items: fixes.Tuple = []
    for child in result.named_children:
        if child == state and moves_state:
            items.extend(["nil", [":continue", _term_items(term)]])
            continue
        child_start, child_end = context.span(child)
        if child.type == "comment" or source.line_of(child_start) != source.line_of(child_end):
            return None
        items.append(context.text(child))
        if child == state:
            items.append([":continue", _term_items(term)])
    line_start = source.line_starts[source.line_of(start)]
    line_end = source.line_starts[source.line_of(end)] + len(source.line_text(source.line_of(end)))
    prefix, suffix = source.text[line_start:start], source.text[end:line_end]
    flat = fixes.flat_tuple(items)
    if len(prefix) + len(flat) + len(suffix) <= fixes.LINE_LIMIT:
        one_line = source.line_of(start) == source.line_of(end)
        return None if one_line else prefix + flat
    return prefix + fixes.fitted_tuple(items, len(prefix), len(suffix), source.newline)


def _continue_head(indent: str, pattern: str, parameter: str, newline: str) -> str:
    """``def handle_continue(pattern, parameter) do``, its arguments a line each as `mix
    format` writes them when the head is longer than a line allows."""
    head = f"{indent}def handle_continue({pattern}, {parameter}) do"
    if len(head) <= fixes.LINE_LIMIT:
        return head + newline
    column = len(indent) + 6
    items = _term_items(pattern)
    first = pattern if isinstance(items, str) else fixes.fitted_tuple(items, column, 1, newline)
    return (
        f"{indent}def handle_continue({newline}"
        f"{' ' * column}{first},{newline}"
        f"{' ' * column}{parameter}{newline}"
        f"{indent}    ) do{newline}"
    )


def _build(
    context: Context,
    module: Node,
    definition: Node,
    statements: list[Node],
    kept: list[Node],
    moved: list[Node],
    state: Node,
    term: str,
    parameter: str,
    moves_state: bool = False,
) -> Fix:
    source = context.source
    text = source.text
    newline = source.newline
    block = syntax.do_block(definition)
    assert block is not None
    do_end = context.span(block.children[0])[1]

    def line_after(offset: int) -> int:
        line = source.line_of(offset) + 1
        return source.line_starts[line] if line < len(source.line_starts) else len(text)

    chunks: dict[int, str] = {}
    previous_end = do_end
    for statement in statements:
        start = line_after(previous_end)
        end = line_after(context.span(statement)[1])
        chunks[statement.id] = text[start:end]
        previous_end = context.span(statement)[1]
    body_start = line_after(do_end)
    result = statements[-1]
    result_start = (
        line_after(context.span(statements[-2])[1]) if len(statements) > 1 else body_start
    )
    result_end = line_after(context.span(result)[1])

    state_start, state_end = context.span(state)
    if moves_state:
        result_chunk = (
            text[result_start:state_start]
            + f"nil, {{:continue, {term}}}"
            + text[state_end:result_end]
        )
    else:
        result_chunk = (
            text[result_start:state_end] + f", {{:continue, {term}}}" + text[state_end:result_end]
        )
    long_result = _fitted_result(context, result, state, term, moves_state)
    if long_result is not None:
        line_start = source.line_starts[source.line_of(context.span(result)[0])]
        result_chunk = (
            text[result_start:line_start] + long_result + text[context.span(result)[1] : result_end]
        )
    kept_text = "".join(chunks[s.id] for s in kept)
    if not kept_text.strip():
        result_chunk = _strip_blank_lines(result_chunk, newline)
    else:
        kept_text = _strip_blank_lines(kept_text, newline)
        if kept[-1].start_point.row != kept[-1].end_point.row and not result_chunk.startswith(
            newline
        ):  # `mix format` puts a blank line after a statement of several lines
            result_chunk = newline + result_chunk
    new_body = kept_text + result_chunk
    init_edit = Edit(body_start, result_end, new_body)

    def_start = context.span(definition)[0]
    indent = source.line_indent(source.line_of(def_start))
    body_indent = source.line_indent(source.line_of(context.span(result)[0]))
    moved_text = _strip_blank_lines("".join(chunks[s.id] for s in moved), newline)
    pattern = term
    lines = []
    if _uses_impl(module):
        lines.append(f"{indent}@impl true{newline}")
    lines.append(_continue_head(indent, pattern, parameter, newline))
    lines.append(moved_text)
    if moves_state:
        tag_start, tag_end = context.span(result.named_children[0])
        result_start_offset, result_end_offset = context.span(result)
        last = text[result_start_offset:tag_start] + ":noreply" + text[tag_end:result_end_offset]
        lines.append(f"{newline if moved_text.strip() else ''}{body_indent}{last}{newline}")
    else:
        lines.append(f"{newline}{body_indent}{{:noreply, {parameter}}}{newline}")
    lines.append(f"{indent}end")
    clause = "".join(lines)

    existing = clauses.of_module(module, "handle_continue", 2)
    if existing:
        anchor = _leading_attributes_start(context, existing[0])
        new_edit = Edit(anchor, anchor, f"{clause.removeprefix(indent)}{newline}{newline}{indent}")
    else:
        def_end = context.span(definition)[1]
        new_edit = Edit(def_end, def_end, f"{newline}{newline}{clause}")
    title = (
        "Move the blocking work and the state it builds into handle_continue/2 (review: "
        "init/1 now returns a nil state, the processes started after this one no longer wait "
        "for the work, and a failure crashes the running server)"
        if moves_state
        else "Move the blocking work into handle_continue/2 (review: the processes started "
        "after this one no longer wait for the work, and a failure now crashes the running "
        "server instead of failing its start)"
    )
    note = _older_otp_note(context) + _spec_note(context, definition)
    return Fix(title + note, (init_edit, new_edit), "unsafe")


_INIT_SPEC = re.compile(r"@spec\s+init\s*\(")


def _spec_note(context: Context, definition: Node) -> str:
    """What the title adds when an ``@spec init(..)`` sits above `init/1`: it still names the
    old return, `{:ok, state}`, where init/1 now also hands on a `{:continue, _}` (Dialyzer
    would say so)."""
    above = context.source.text[
        _leading_attributes_start(context, definition) : context.span(definition)[0]
    ]
    return (
        "; update the @spec of init/1 for the {:continue, _} it now returns"
        if _INIT_SPEC.search(above)
        else ""
    )


FIRST_ELIXIR_ON_OTP_21 = (1, 10)
"""Elixir 1.10 is the first to require Erlang/OTP 21, the first with `handle_continue/2`."""


def _older_otp_note(context: Context) -> str:
    """What the title adds when mix.exs admits an Elixir that runs on an OTP without
    `handle_continue/2` (there the server would crash on init/1's `{:continue, _}`)."""
    lowest = context.project.lowest_elixir_for(context.path)
    if lowest is None or lowest >= FIRST_ELIXIR_ON_OTP_21:
        return ""
    return (
        f"; handle_continue/2 needs Erlang/OTP 21, and mix.exs admits Elixir "
        f"{lowest[0]}.{lowest[1]}, which runs on older releases"
    )


def _strip_blank_lines(chunk: str, newline: str) -> str:
    lines = chunk.split(newline)
    while lines and not lines[0].strip():
        lines.pop(0)
    return newline.join(lines)


def _uses_impl(module: Node) -> bool:
    return "impl" in syntax.module_attributes(module)


def _leading_attributes_start(context: Context, definition: Node) -> int:
    """Where a clause's block starts, counting the `@impl`/`@doc`/`@spec` lines above it."""
    start = definition
    sibling = definition.prev_named_sibling
    while (
        sibling is not None
        and sibling.type == "unary_operator"
        and syntax.operator(sibling) == "@"
        and sibling.end_point.row + 1 >= start.start_point.row
    ):
        start = sibling
        sibling = sibling.prev_named_sibling
    return context.span(start)[0]


def _init_may_block(summary: FileSummary) -> bool:
    """The file's summary records an ``init/1`` that blocks or calls another module (what
    the project may show to block): no other file can give this rule a finding."""
    return any(e.function == "init" for e in summary.effects) or any(
        c.function == "init" for c in summary.function_calls
    )


def _start_may_block(summary: FileSummary) -> bool:
    """The file's summary records a ``start_link`` that blocks, or calls another module's
    function that is not a start (what the project may show to block)."""
    return any(e.function == "start_link" and e.kind in INIT_KINDS for e in summary.effects) or any(
        c.function == "start_link" and c.target_function not in OTHER_STARTS
        for c in summary.function_calls
    )


def _application_start_may_block(summary: FileSummary) -> bool:
    """The file's summary records a ``start`` that blocks or calls another module's function
    (an ``Application.start/2`` the project may show to wait on another machine)."""
    return any(e.function == "start" for e in summary.effects) or any(
        c.function == "start" for c in summary.function_calls
    )


RULE = Rule(
    code="OTP003",
    name="blocking-init",
    severity="warning",
    summary=(
        "init/1 of a GenServer, :gen_statem or GenStage, or a child's start_link, doing "
        "blocking work (DB, HTTP, :rpc); Application.start/2 waiting on a request after its tree"
    ),
    doc=DOC,
    check=check,
    words=("GenServer", "gen_server", "gen_statem", "GenStateMachine", "GenStage", "start_link"),
    production_only=True,
    fixable=True,
    project_files=lambda summary: (
        (summary.has_server and _init_may_block(summary))
        or _start_may_block(summary)
        or _application_start_may_block(summary)
    ),
)
