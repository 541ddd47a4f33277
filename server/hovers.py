"""Hover cards for OTP constructs: a few lines of advice and the shape to reach for, shown
whether or not a rule fired. Pure: a Source and an offset in, markdown out; no LSP types.

One compiled query finds every construct; it runs over the few nodes that hold the offset
(the cursor is restricted to that byte), so a hover costs a tree descent, not a file walk.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from tree_sitter import Node

from otp_thinking import parsing, syntax
from otp_thinking.parsing import Captures, compile_query
from otp_thinking.source import Source

# Each pattern names its hover range after the kind of construct it finds; ``@key`` (and
# ``@function``) say which card. A construct is hovered when the offset is inside its range:
# a call's ``Module.function`` (not its arguments), except ``:ets.new``, whose options are
# what its card is about.
CONSTRUCTS = compile_query(
    """
    (call target: (identifier) @_use (arguments . (alias) @key) (#eq? @_use "use")) @use

    (call target: (dot left: [(alias) (atom)] @key right: (identifier) @function) @remote)

    (call target: (dot left: (atom) @_ets right: (identifier) @_new)
      (#eq? @_ets ":ets") (#eq? @_new "new")) @ets_new

    (tuple . (atom) @_via . (alias) @key (#eq? @_via ":via")) @via

    (tuple . [(alias) (atom)] @key @child)

    (pair key: (keyword) @_strategy value: (atom) @key (#match? @_strategy "^strategy:"))
    @strategy

    (pair key: (keyword) @key (#match? @key "^(max_restarts|max_seconds):")) @intensity

    (call target: (identifier) @_def
      (arguments . (call target: (identifier) @key) @continue)
      (#match? @_def "^defp?$") (#eq? @key "handle_continue"))

    (tuple . (atom) @key . (_) . (#eq? @key ":continue")) @continue

    (unary_operator
      operand: (call target: (identifier) @_behaviour (arguments . [(alias) (atom)] @key))
      (#eq? @_behaviour "behaviour")) @behaviour
    """
)

_NOT_CODE = frozenset({"comment", "quoted_content", "escape_sequence"})
_TYPESPECS = frozenset({"spec", "type", "typep", "opaque", "callback", "macrocallback"})


@dataclass(frozen=True, slots=True)
class Construct:
    """An OTP construct under the cursor: its card and the range (string offsets) it covers."""

    kind: str
    start: int
    end: int
    card: str


def construct_card(source: Source, offset: int) -> str | None:
    """The markdown card for the OTP construct at ``offset``, or None when there is none."""
    construct = construct_at(source, offset)
    return construct.card if construct is not None else None


def construct_at(source: Source, offset: int) -> Construct | None:
    """The smallest OTP construct whose hover range holds ``offset``."""
    if not 0 <= offset < len(source.text):
        return None
    byte = source.offset_to_byte(offset)
    root = source.tree.root_node
    smallest = root.descendant_for_byte_range(byte, byte + 1)
    if smallest is None or smallest.type in _NOT_CODE:
        return None
    best: tuple[Node, str] | None = None
    query = parsing.compiled(CONSTRUCTS)
    for _pattern, captures in parsing.pattern_matches(query, root, (byte, byte + 1)):
        found = _classify(captures)
        if found is None:
            continue
        node, kind = found
        if node.start_byte <= byte < node.end_byte and (
            best is None or node.end_byte - node.start_byte < best[0].end_byte - best[0].start_byte
        ):
            best = (node, kind)
    if best is None or _in_typespec(best[0]):
        return None
    node, kind = best
    start, end = source.node_span(node)
    return Construct(kind, start, end, _card(kind, node))


def _in_typespec(node: Node) -> bool:
    """Inside ``@spec``/``@type``/``@callback``…: ``GenServer.on_start()`` there names a type."""
    for parent in syntax.ancestors(node):
        if parent.type == "unary_operator" and syntax.operator(parent) == "@":
            operand = parent.child_by_field_name("operand")
            return operand is not None and syntax.local_target(operand) in _TYPESPECS
    return False


def _classify(captures: Captures) -> tuple[Node, str] | None:
    """The hover range and card kind of one match, or None when the match is no construct."""
    key = syntax.text(captures["key"][0]).strip() if "key" in captures else ""
    for name, resolve in _RESOLVERS.items():
        if name in captures:
            kind = resolve(key, captures)
            return (captures[name][0], kind) if kind is not None else None
    return None


def _remote_kind(module: str, captures: Captures) -> str | None:
    function = syntax.text(captures["function"][0])
    return REMOTE_FUNCTIONS.get((module, function), REMOTE_MODULES.get(module))


def _strategy_kind(value: str, _captures: Captures) -> str | None:
    return "strategy" if value in STRATEGIES else None


USES = {
    "GenServer": "genserver",
    "Agent": "agent",
    "Supervisor": "supervisor",
    "DynamicSupervisor": "dynamic_supervisor",
    "Broadway": "broadway",
    "Oban.Worker": "oban_worker",
    "Oban.Pro.Worker": "oban_worker",
    "GenStateMachine": "gen_statem",
}

REMOTE_MODULES = {
    "GenServer": "genserver",
    ":gen_server": "genserver",
    "Agent": "agent",
    "Task.Supervisor": "task_supervisor",
    "Registry": "registry",
    "DynamicSupervisor": "dynamic_supervisor",
    "PartitionSupervisor": "partition_supervisor",
    "Supervisor": "supervisor",
    ":pg": "pg",
    ":pg2": "pg2",
    "Broadway": "broadway",
    ":persistent_term": "persistent_term",
    ":dets": "dets",
    ":mnesia": "mnesia",
    ":gen_statem": "gen_statem",
    "GenStateMachine": "gen_statem",
}

REMOTE_FUNCTIONS = {
    ("Task", "async"): "task_async",
    ("Task", "async_stream"): "task_async",
    ("Task.Supervisor", "async"): "task_async",
    ("Task.Supervisor", "async_nolink"): "task_async",
    ("Task.Supervisor", "async_stream_nolink"): "task_async",
    (":ets", "new"): "ets_new",
}

VIA = {"Registry": "registry", "PartitionSupervisor": "partition_supervisor"}

CHILDREN = {
    "Task.Supervisor": "task_supervisor",
    "Registry": "registry",
    "DynamicSupervisor": "dynamic_supervisor",
    "PartitionSupervisor": "partition_supervisor",
    ":pg": "pg",
    ":pg2": "pg2",
}

BEHAVIOURS = {
    "GenServer": "genserver",
    ":gen_server": "genserver",
    ":gen_statem": "gen_statem",
    "Supervisor": "supervisor",
}

STRATEGIES = {
    ":one_for_one": "children are independent: only the child that crashed restarts.",
    ":one_for_all": "children depend on each other: one crash restarts every child.",
    ":rest_for_one": (
        "each child depends on the ones listed before it: a crash restarts that child and "
        "every child after it."
    ),
    ":simple_one_for_one": (
        "deprecated in Elixir: use a `DynamicSupervisor` for children started on demand."
    ),
}


_RESOLVERS: dict[str, Callable[[str, Captures], str | None]] = {
    "use": lambda key, _: USES.get(key),
    "remote": _remote_kind,
    "ets_new": lambda _key, _: "ets_new",
    "via": lambda key, _: VIA.get(key),
    "child": lambda key, _: CHILDREN.get(key),
    "strategy": _strategy_kind,
    "intensity": lambda _key, _: "intensity",
    "continue": lambda _key, _: "handle_continue",
    "behaviour": lambda key, _: BEHAVIOURS.get(key),
}


def _card(kind: str, node: Node) -> str:
    if kind == "strategy":
        value = syntax.text(node.child_by_field_name("value")).strip()
        return CARDS["strategy"].format(value=value, meaning=STRATEGIES[value])
    return CARDS[kind]


CARDS = {
    "genserver": """\
**GenServer** · one process, one message at a time

- Every `call` and `cast` waits in a single mailbox: the process serialises its callers.
  Make sure you need that; stateless logic belongs in plain functions.
- Many readers? Let the GenServer own an ETS table and serialise only the writes; readers go
  to the table without touching the mailbox.
- Keep `init/1` quick (slow setup goes to `handle_continue/2`) and give `call/3` a finite
  timeout so back-pressure shows up as an error, not a hang.

```elixir
def init(_), do: {:ok, :ets.new(__MODULE__, [:named_table, read_concurrency: true])}
def put(key, value), do: GenServer.call(__MODULE__, {:put, key, value})

def get(key) do
  case :ets.lookup(__MODULE__, key) do
    [{^key, value}] -> {:ok, value}
    [] -> :error
  end
end
```""",
    "agent": """\
**Agent** · a process that only holds a value

- Good for a small piece of state read and replaced whole with short functions. The function
  runs inside the Agent: slow work there blocks every other caller.
- Once updates grow branches, messages, timers or monitors, write a GenServer; when many
  processes read at once, use ETS. No state at all? A plain module.

```elixir
{:ok, _} = Agent.start_link(fn -> %{} end, name: MyApp.Flags)
Agent.update(MyApp.Flags, &Map.put(&1, :beta, true))
Agent.get(MyApp.Flags, &Map.get(&1, :beta, false))
```""",
    "task_async": """\
**Task.async vs Task.Supervisor.async_nolink**

- `Task.async` links the task to its caller: if the task crashes, the caller crashes too.
  Fine in scripts and tests, or when failing together is the point.
- In production run it on a `Task.Supervisor` with `async_nolink`: the caller survives a
  failed task, shutdown waits for it, and it shows up in the supervision tree. Turn the
  outcome into a value with `Task.yield/2` + `Task.shutdown/2`.

```elixir
task = Task.Supervisor.async_nolink(MyApp.TaskSupervisor, fn -> fetch(url) end)

case Task.yield(task, 5_000) || Task.shutdown(task) do
  {:ok, result} -> {:ok, result}
  {:exit, reason} -> {:error, reason}
  nil -> {:error, :timeout}
end
```""",
    "task_supervisor": """\
**Task.Supervisor** · where production tasks run

- Start one in the application's children (before the processes that use it) and run tasks
  under it: `async_nolink` when you want the result, `start_child` for fire-and-forget work.
- Supervised tasks are stopped in order on shutdown and visible in the tree, unlike
  `Task.start` or `spawn`.

```elixir
children = [{Task.Supervisor, name: MyApp.TaskSupervisor}, MyApp.Endpoint]

Task.Supervisor.start_child(MyApp.TaskSupervisor, fn -> deliver(email) end)
```""",
    "registry": """\
**Registry and via tuples** · names for dynamic processes

- Address processes by a key in a `Registry` instead of building atoms at run time: atoms are
  never garbage-collected, so names from `String.to_atom/1` slowly fill the atom table.
- A via tuple goes wherever a name does: `name:` in `start_link`, `GenServer.call/cast`.
- A Registry is local to one node; for groups across a cluster use `:pg`.

```elixir
children = [{Registry, keys: :unique, name: MyApp.Registry}]

defp via_tuple(id), do: {:via, Registry, {MyApp.Registry, id}}

GenServer.start_link(__MODULE__, id, name: via_tuple(id))
GenServer.call(via_tuple(id), :state)
```""",
    "dynamic_supervisor": """\
**DynamicSupervisor** · children started at run time

- One child per user, room or device, started on demand; find them by key through a
  Registry rather than by pid or a generated atom.
- Only `:one_for_one`. Decide `max_children` and the restart intensity; when starting
  children through one supervisor becomes the bottleneck, partition it with
  `PartitionSupervisor`.

```elixir
children = [
  {Registry, keys: :unique, name: MyApp.Registry},
  {DynamicSupervisor, name: MyApp.RoomSupervisor, strategy: :one_for_one}
]

DynamicSupervisor.start_child(
  MyApp.RoomSupervisor,
  {MyApp.Room, name: {:via, Registry, {MyApp.Registry, room_id}}}
)
```""",
    "partition_supervisor": """\
**PartitionSupervisor** · many supervisors instead of one

- Starts several copies of a child (one per scheduler by default) and routes each call by
  a key, so a single DynamicSupervisor, or any single process, stops being the choke point.

```elixir
children = [{PartitionSupervisor, child_spec: DynamicSupervisor, name: MyApp.Rooms}]

DynamicSupervisor.start_child(
  {:via, PartitionSupervisor, {MyApp.Rooms, room_id}},
  {MyApp.Room, room_id}
)
```""",
    "pg": """\
**:pg** · process groups across the cluster

- Processes join named groups and every connected node sees the members: the tool for
  cluster-wide fan-out and pub/sub. It replaces `:pg2`, removed in OTP 24.
- For one unique name per process on a single node, use a Registry.

```elixir
children = [%{id: :pg, start: {:pg, :start_link, [MyApp.PG]}}]

:pg.join(MyApp.PG, {:room, id}, self())
for pid <- :pg.get_members(MyApp.PG, {:room, id}), do: send(pid, message)
```""",
    "pg2": """\
**:pg2** · removed in OTP 24

- Code calling `:pg2` does not run on current OTP. Move to `:pg`: `join`, `leave`,
  `get_members`, `get_local_members` and `which_groups` keep their meaning; groups need no
  `create`/`delete` (they exist while they have members); `get_closest_pid` has no
  counterpart.

```elixir
children = [%{id: :pg, start: {:pg, :start_link, []}}]

:pg.join(:workers, self())
:pg.get_members(:workers)
```""",
    "broadway": """\
**Broadway** · ingest data from external queues

- Made for brokers (SQS, Kafka, RabbitMQ, Pub/Sub): demand-driven back-pressure,
  concurrency, batching, and acknowledgement back to the broker, which keeps each message
  until it is processed.
- Not a job queue: when the app feeds the pipeline itself (`DummyProducer`, an in-app
  producer, `test_message` from app code), messages vanish on restart and nothing retries
  them. Background jobs belong in Oban.

```elixir
Broadway.start_link(__MODULE__,
  name: __MODULE__,
  producer: [module: {BroadwaySQS.Producer, queue_url: url}],
  processors: [default: [concurrency: 10]],
  batchers: [default: [batch_size: 100, batch_timeout: 1_000]]
)
```""",
    "oban_worker": """\
**Oban.Worker** · background jobs kept in your database

- Jobs survive restarts and deploys, retry with backoff, and can be scheduled, made unique
  and inspected.
- Not for consuming external queues: a worker that polls SQS, Kafka or RabbitMQ and
  reschedules itself is a slow single consumer. Use Broadway with the broker's producer and
  insert Oban jobs for follow-up work.

```elixir
use Oban.Worker, queue: :mailers, max_attempts: 5

@impl Oban.Worker
def perform(%Oban.Job{args: %{"user_id" => id}}), do: MyApp.Mailer.welcome(id)

# where the work arises
%{user_id: user.id} |> MyApp.Workers.Welcome.new() |> Oban.insert()
```""",
    "supervisor": """\
**Supervisor** · strategy and restart intensity are decisions

- `:one_for_one` for independent children, `:one_for_all` when they depend on each other,
  `:rest_for_one` when each depends on those started before it. List children in start
  order: what others need comes first.
- Set `max_restarts` and `max_seconds` on purpose (defaults: 3 in 5 seconds): past them
  the supervisor gives up and the failure moves up the tree instead of looping.

```elixir
Supervisor.init(children, strategy: :one_for_one, max_restarts: 3, max_seconds: 5)
```""",
    "strategy": """\
**Supervisor strategy `{value}`**: {meaning}

- `:one_for_one`: independent children. `:one_for_all`: interdependent, all restart
  together. `:rest_for_one`: sequential dependency, the crashed child and those after it
  restart.
- Children start in list order and stop in reverse: put what others depend on first.
  Set `max_restarts`/`max_seconds` explicitly to stop restart loops.

```elixir
Supervisor.init(children, strategy: :rest_for_one, max_restarts: 3, max_seconds: 5)
```""",
    "intensity": """\
**Restart intensity** · `max_restarts` within `max_seconds`

- When children restart more than `max_restarts` times inside `max_seconds`, the
  supervisor exits and its own supervisor deals with the failure. The defaults are 3
  restarts in 5 seconds.
- Choose the numbers: how many crashes in what window mean restarting will not heal it?
  Too generous hides restart loops and hammers whatever the child talks to; too strict
  takes the application down on a short burst.

```elixir
Supervisor.init(children, strategy: :one_for_one, max_restarts: 3, max_seconds: 5)
```""",
    "ets_new": """\
**:ets.new** · options decide who reads and who writes

- Access: `:protected` (the default) lets any process read and only the owner write;
  `:public` lets anyone write; `:private` keeps it to the owner.
- `read_concurrency: true` when many processes read at once; `write_concurrency: true`
  when many write to different keys.
- The table dies with the process that created it: have a long-lived GenServer own it
  (writes serialised there) and let readers use the table directly.

```elixir
:ets.new(__MODULE__, [:set, :named_table, :protected, read_concurrency: true])
```""",
    "persistent_term": """\
**:persistent_term** · static configuration, read everywhere

- Reads are constant-time and copy nothing, from any process. Updating or erasing a term
  is expensive: processes holding it are scanned and a global garbage collection may run.
- Write once (at boot), read often. Not a cache for values that change: that is ETS.

```elixir
# Application.start/2
:persistent_term.put({MyApp, :settings}, Application.fetch_env!(:my_app, :settings))

# anywhere
:persistent_term.get({MyApp, :settings})
```""",
    "dets": """\
**:dets** · small tables on disk

- One file per table, at most 2 GB; after an unclean stop the file is repaired when it is
  next opened, which can take long on big tables.
- For larger or transactional data use a database (or Mnesia with disc copies); for an
  in-memory cache, ETS.

```elixir
{:ok, table} = :dets.open_file(:sessions, file: ~c"priv/sessions.dets", type: :set)
:ok = :dets.close(table)
```""",
    "mnesia": """\
**:mnesia** · transactions and distribution

- Reach for it when you need transactions across tables or tables replicated across nodes;
  schema management and netsplit recovery come with it.
- A node-local cache is simpler in ETS, static config in `:persistent_term`, and most
  application data in your database.

```elixir
{:atomic, :ok} = :mnesia.transaction(fn -> :mnesia.write({Account, id, balance}) end)
```""",
    "handle_continue": """\
**handle_continue/2** · finish starting without blocking the start

- `start_link` waits for `init/1`, and so does the supervisor before it starts the next
  child. Return `{:ok, state, {:continue, term}}` and do the slow part (DB, HTTP, cache
  warm-up) in `handle_continue/2`: it runs before any other message.
- What others rely on as soon as the process exists stays in `init/1`: registering,
  subscribing, monitoring, `:ets.new`.

```elixir
def init(opts), do: {:ok, %{opts: opts, data: nil}, {:continue, :load}}

def handle_continue(:load, state), do: {:noreply, %{state | data: load(state.opts)}}
```""",
    "gen_statem": """\
**:gen_statem** · explicit states and transitions

- When what a process does depends on where it is (connecting, connected, backing off), a
  state machine keeps each state's events apart and brings state timeouts and postponed
  events, instead of a GenServer switching on a `status` field.
- In Elixir use `@behaviour :gen_statem` directly or the `GenStateMachine` wrapper.

```elixir
@behaviour :gen_statem
def callback_mode, do: :state_functions

def idle({:call, from}, :connect, data),
  do: {:next_state, :connected, data, [{:reply, from, :ok}]}

def connected(:info, {:tcp_closed, _}, data), do: {:next_state, :idle, data}
```""",
}
