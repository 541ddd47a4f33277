"""OTP402 oban-for-queue-consumption: an Oban worker that pulls from a message broker."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from tree_sitter import Node

from otp_thinking import syntax
from otp_thinking.context import Context
from otp_thinking.findings import Finding
from otp_thinking.model import clauses, modules
from otp_thinking.parsing import compile_query, matches
from otp_thinking.rule import Rule

DOC = """\
## What it flags
A module that `use Oban.Worker` (or an Oban Pro worker) whose `perform/1` (`process/1` for Pro)
receives messages from an external broker, directly or through a private function of the same
module it calls:

- SQS: `ExAws.SQS.receive_message`, `AWS.SQS.receive_message`;
- Kafka: `KafkaEx.fetch`, `KafkaEx.stream`, `:brod.fetch`, `:brod.subscribe`;
- RabbitMQ: `AMQP.Basic.get`, `AMQP.Basic.consume`;
- Google Cloud Pub/Sub: `pubsub_projects_subscriptions_pull`, `Kane.Subscription.pull`;
- Redis streams and lists: `Redix.command`/`pipeline` sending `XREAD`, `XREADGROUP`, `BLPOP`,
  `BRPOP`, `BLMOVE`, `BRPOPLPUSH`, `BLMPOP`, `BZPOPMIN` or `BZPOPMAX`.

The finding sits on the receiving call, and says when the worker also reschedules itself
(`new(..., schedule_in: ...)` / `scheduled_at:` or `{:snooze, ...}`) to poll again. Aliases
(`alias ExAws.SQS` then `SQS.receive_message`) are followed.

Not flagged: workers that call ordinary HTTP APIs or do the app's own work; workers that
*publish* to a broker (`send_message`, `AMQP.Basic.publish`, `KafkaEx.produce`, `XADD`,
`LPUSH`); non-blocking `LPOP`/`RPOP`, which are as often cache or rate-limit bookkeeping as
queue reads; broker calls in modules that are not Oban workers; tests, `.exs` scripts and Mix
tasks.

## Why it matters
Oban runs jobs that your app stored in its own database: it is the right tool when the app
decides what work to do. A worker that polls a broker turns that around: each job is a timer
that wakes up, pulls a batch, and schedules the next poll. You get one consumer at a time
with no back-pressure, latency bounded by the poll interval, a database write per poll, and
messages whose lifetime is split between two systems — a message received but not yet
deleted when the job crashes waits out the broker's visibility timeout, and retries happen
twice (Oban's and the broker's). Broadway is built for exactly this: long-lived consumers
with demand-driven back-pressure, concurrency, batching, acknowledgement to the broker and
graceful shutdown.

## Example
```elixir
defmodule MyApp.Workers.PollOrders do
  use Oban.Worker, queue: :orders

  @impl Oban.Worker
  def perform(%Oban.Job{}) do
    {:ok, %{body: %{messages: messages}}} =
      "orders" |> ExAws.SQS.receive_message(max_number_of_messages: 10) |> ExAws.request()

    Enum.each(messages, &MyApp.Orders.import/1)
    %{} |> new(schedule_in: 5) |> Oban.insert()
    :ok
  end
end
```

Consume the queue with a Broadway pipeline on the broker's producer:

```elixir
defmodule MyApp.OrdersPipeline do
  use Broadway

  def start_link(_opts) do
    Broadway.start_link(__MODULE__,
      name: __MODULE__,
      producer: [module: {BroadwaySQS.Producer, queue_url: "..."}],
      processors: [default: [concurrency: 10]]
    )
  end

  @impl Broadway
  def handle_message(_processor, message, _context) do
    MyApp.Orders.import(message.data)
    message
  end
end
```

## Fix
No automatic fix: the consumer moves to another library. By hand: add the broker's Broadway
producer (`BroadwaySQS`, `BroadwayKafka`, `BroadwayRabbitMQ`, `BroadwayCloudPubSub`, or an
`OffBroadway` package for Redis), move the message handling into `handle_message/3` (and
`handle_batch/4` for bulk writes), start the pipeline in your supervision tree, and delete the
polling worker and its self-scheduling. When a message starts app work that needs retries or
scheduling of its own, insert an Oban job from `handle_message/3`: Broadway ingests, Oban runs
jobs.
"""

USE_WORKER = compile_query(
    """
    (call target: (identifier) @use (arguments . (alias) @module)
      (#eq? @use "use")
      (#match? @module "^Oban[.](Worker|Pro[.]Worker|Pro[.]Workers[.][A-Za-z.]+)$")) @call
    """
)

CAPTURED_FUNCTION = compile_query(
    """
    (unary_operator operand: (binary_operator left: (identifier) @name operator: "/"))
    """
)

RESCHEDULE = compile_query(
    """
    (pair key: (keyword) @schedule (#match? @schedule "^(schedule_in|scheduled_at):"))

    (tuple . (atom) @snooze (#eq? @snooze ":snooze"))
    """
)

ENTRY_POINTS = ("perform", "process")

RECEIVES: dict[tuple[str, str], str] = {
    ("ExAws.SQS", "receive_message"): "SQS",
    ("AWS.SQS", "receive_message"): "SQS",
    ("KafkaEx", "fetch"): "Kafka",
    ("KafkaEx", "stream"): "Kafka",
    ("KafkaEx.API", "fetch"): "Kafka",
    (":brod", "fetch"): "Kafka",
    (":brod", "subscribe"): "Kafka",
    ("AMQP.Basic", "get"): "RabbitMQ",
    ("AMQP.Basic", "consume"): "RabbitMQ",
    ("GoogleApi.PubSub.V1.Api.Projects", "pubsub_projects_subscriptions_pull"): "Pub/Sub",
    ("Kane.Subscription", "pull"): "Pub/Sub",
}

REDIX_FUNCTIONS = frozenset({"command", "command!", "pipeline", "pipeline!", "noreply_command"})
REDIS_RECEIVES = frozenset(
    {"XREAD", "XREADGROUP", "BLPOP", "BRPOP", "BLMOVE", "BRPOPLPUSH", "BLMPOP", "BZPOPMIN"}
    | {"BZPOPMAX"}
)

PRODUCERS = {
    "SQS": "BroadwaySQS",
    "Kafka": "BroadwayKafka",
    "RabbitMQ": "BroadwayRabbitMQ",
    "Pub/Sub": "BroadwayCloudPubSub",
    "Redis": "an OffBroadway Redis producer",
}

MESSAGE = (
    "This Oban worker consumes {broker} messages with {call}{polling}, but Oban is for jobs the "
    "app stores in its own database; consume the queue with a Broadway pipeline ({producer}) "
    "and insert Oban jobs only for follow-up work."
)


@dataclass(frozen=True)
class Worker:
    module: Node
    aliases: dict[str, str]
    reachable: tuple[tuple[int, int], ...]
    """Byte ranges of the entry point and every function of the module it reaches."""
    polls: bool


def check(context: Context) -> Iterator[Finding]:
    workers = []
    for captures in context.matches(USE_WORKER):
        worker = _worker(captures["call"][0])
        if worker is not None and worker.reachable:
            workers.append(worker)
    if not workers:
        return
    # the remote calls every file's summary asks for: compiled and walked once for both
    for captures in context.matches(syntax.REMOTE_CALLS):
        call = captures["call"][0]
        target = call.child_by_field_name("target")
        if target is None:
            continue
        worker = _innermost(workers, call)
        if worker is None:
            continue
        module = modules.expand(syntax.text(captures["module"][0]), worker.aliases)
        broker = _broker(module, syntax.text(captures["function"][0]), call)
        if broker is None:
            continue
        message = MESSAGE.format(
            broker=broker,
            call=f"{module}.{syntax.text(captures['function'][0])}",
            polling=" and reschedules itself to poll" if worker.polls else "",
            producer=PRODUCERS[broker],
        )
        yield context.finding(RULE, target, message)


def _worker(use: Node) -> Worker | None:
    module = syntax.enclosing_module(use)
    body = syntax.do_block(module) if module is not None else None
    if module is None or body is None:
        return None
    functions: dict[str, list[Node]] = {}
    for child in body.named_children:
        if syntax.is_def(child):
            name = clauses.name(child)
            if name:
                functions.setdefault(name, []).append(child)
    reached = _reachable(functions)
    spans = tuple((d.start_byte, d.end_byte) for name in reached for d in functions[name])
    polls = any(True for name in reached for d in functions[name] for _ in matches(RESCHEDULE, d))
    return Worker(module, modules.aliases(module), spans, polls)


def _reachable(functions: dict[str, list[Node]]) -> set[str]:
    """The entry points and the module's functions they call, transitively (by name)."""
    pending = [name for name in ENTRY_POINTS if name in functions]
    reached = set(pending)
    while pending:
        for definition in functions[pending.pop()]:
            for name in _local_names(definition):
                if name in functions and name not in reached:
                    reached.add(name)
                    pending.append(name)
    return reached


def _local_names(definition: Node) -> Iterator[str]:
    yield from syntax.local_calls_in(definition)  # the query `syntax` compiles for others too
    for captures in matches(CAPTURED_FUNCTION, definition):
        yield syntax.text(captures["name"][0])


def _innermost(workers: list[Worker], node: Node) -> Worker | None:
    """The worker whose reachable functions hold ``node`` (the innermost module wins)."""
    best = None
    for worker in workers:
        if any(start <= node.start_byte < end for start, end in worker.reachable) and (
            best is None or worker.module.start_byte > best.module.start_byte
        ):
            best = worker
    return best


def _broker(module: str, function: str, call: Node) -> str | None:
    if (module, function) in RECEIVES:
        return RECEIVES[(module, function)]
    if module == "Redix" and function in REDIX_FUNCTIONS and _redis_receive(call):
        return "Redis"
    return None


def _redis_receive(call: Node) -> bool:
    """Whether a Redix call sends a blocking pop or a stream read: the first string of its
    command list (or of any command in a pipeline's list of lists; piped or not)."""
    commands = next((a for a in syntax.argument_nodes(call) if a.type == "list"), None)
    if commands is None:
        return False
    items = [c for c in commands.named_children if c.type != "comment"]
    if items and items[0].type == "list":
        heads = [_first(item) for item in items if item.type == "list"]
    else:
        heads = [_first(commands)]
    return any(head is not None and head.upper() in REDIS_RECEIVES for head in heads)


def _first(command: Node) -> str | None:
    items = [c for c in command.named_children if c.type != "comment"]
    if not items or items[0].type != "string":
        return None
    return syntax.text(items[0]).strip('"')


RULE = Rule(
    code="OTP402",
    name="oban-for-queue-consumption",
    severity="warning",
    summary="Oban worker receiving from an external broker: consume queues with Broadway",
    doc=DOC,
    check=check,
    words=("Oban",),
    production_only=True,
    fixable=False,
)
