"""OTP401 broadway-for-jobs: a Broadway pipeline the app feeds itself is a job queue without one."""

from __future__ import annotations

import re
from collections.abc import Iterator

from tree_sitter import Node

from otp_thinking import syntax
from otp_thinking.context import Context
from otp_thinking.findings import Finding
from otp_thinking.model import modules as module_model
from otp_thinking.model.effects import module_candidates, scopes
from otp_thinking.model.producers import Feed, feed
from otp_thinking.model.summary import ModuleSummary
from otp_thinking.parsing import compile_query
from otp_thinking.rule import Rule

DOC = """\
## What it flags
A Broadway pipeline whose messages come from the application itself rather than from a
message broker:

- `Broadway.DummyProducer` as the producer (`producer: [module: {Broadway.DummyProducer, []}]`)
  in production code;
- `OffBroadwayMemory.Producer`, an in-memory buffer the app pushes into;
- a producer module of the project (in the same file or another) that `use GenStage` and
  fills its demand from the app's own storage: `Repo` queries, `:ets`, `:queue`, `:dets` or
  `:mnesia`, or events the app hands it with `GenStage.cast`/`GenStage.call` (whose
  `handle_cast`/`handle_call` hands events on: one that only changes a subscription and
  returns `[]` pushes nothing); or, when its
  own code shows none of these, through a function of another project module that queries
  the database (`Shop.Jobs.claim(demand)` running `Repo.all`, as the project index records
  it), unless it also talks to a broker client. When it polls a
  database or a disk table, the message calls it what it is, a hand-rolled DB-backed queue
  (persisted, but without the retries, scheduling and uniqueness Oban gives); otherwise a
  queue that loses its jobs on restart;
- `Broadway.test_message/3`, `Broadway.test_batch/3` and `Broadway.push_messages/2` called
  from production code.

The finding sits on the producer module in the `producer:` option, or on the call.

Not flagged: producers that connect to a broker — `BroadwaySQS`, `BroadwayKafka`,
`BroadwayRabbitMQ`, `BroadwayCloudPubSub`, every `OffBroadway.*` package (Redis, Kinesis,
Pulsar, …) and any other `Broadway*` producer; an in-app producer that talks to a broker client
(`ExAws`, `AMQP`, `KafkaEx`, `:brod`, `Redix`, a `GRPC` stream, …) or that shows no sign of
reading the app's
own storage; tests, `.exs` scripts and Mix tasks, where `DummyProducer` and `test_message` are
what Broadway's own testing guide recommends, and modules under `lib/` named like test
support (`MyApp.Testing`, `MyApp.TestPipeline`, `MyApp.PipelineCase`, `…TestHelpers`).

A producer the rule cannot resolve stays silent: a variable or a config value
(`module: {producer, opts}` with `producer` read from `Application.fetch_env!/2` is the usual
way to swap in `DummyProducer` for tests), a module attribute, or a module the project does
not define. The rule prefers missing a case to guessing.

## Why it matters
Broadway is built to ingest data from an external queue: the broker keeps each message until
Broadway acknowledges it, so a crash or a deploy loses nothing, and the broker redelivers what
failed. When the app feeds the pipeline itself, nothing keeps the messages: whatever sits in a
producer's buffer or a processor's mailbox disappears when the node restarts, failed messages
are acknowledged into the void, and there is no retry with backoff, no scheduling, no
uniqueness and no record of what ran. That is a background-job queue without the parts that
make one reliable. Oban gives those parts, with jobs persisted in the database you already run.

## Example
```elixir
def start_link(_opts) do
  Broadway.start_link(__MODULE__,
    name: __MODULE__,
    producer: [module: {Broadway.DummyProducer, []}],
    processors: [default: [concurrency: 10]]
  )
end

def send_welcome(user), do: Broadway.test_message(__MODULE__, user.id)
```

The work is a background job: make it one.

```elixir
defmodule MyApp.Workers.WelcomeEmail do
  use Oban.Worker, queue: :mailers, max_attempts: 5

  @impl Oban.Worker
  def perform(%Oban.Job{args: %{"user_id" => id}}), do: MyApp.Mailer.welcome(id)
end

%{user_id: user.id} |> MyApp.Workers.WelcomeEmail.new() |> Oban.insert()
```

## Fix
No automatic fix: moving work to another library is a design change. By hand: turn each
message into an Oban job (one worker module per kind of work, `perform/1` holding what
`handle_message/3` did) and insert jobs where the app pushed messages; keep `max_attempts`,
`queue` concurrency and uniqueness as Oban options. If the data really comes from outside,
put it on a broker and use that broker's Broadway producer instead.
"""

USE_BROADWAY = compile_query(
    """
    (call target: (identifier) @use (arguments . (alias) @module)
      (#eq? @use "use") (#eq? @module "Broadway")) @call
    """
)

BROADWAY_START = compile_query(
    """
    (call target: (dot left: (alias) @module right: (identifier) @function)
      (#eq? @module "Broadway") (#eq? @function "start_link")) @call
    """
)

PRODUCER_OPTION = compile_query(
    """
    (pair key: (keyword) @producer
      value: (list (keywords (pair key: (keyword) @key value: (_) @value)))
      (#match? @producer "^producer:") (#match? @key "^module:"))
    """
)

FEEDING_CALL = compile_query(
    """
    (call target: (dot left: (alias) @module right: (identifier) @function)
      (#eq? @module "Broadway")
      (#match? @function "^(test_message|test_batch|push_messages)$")) @call
    """
)

DEFMODULE = compile_query(
    """
    (call target: (identifier) @defmodule (arguments . (alias) @name) (#eq? @defmodule "defmodule"))
    @call
    """
)

TEST_SUPPORT_SEGMENT = re.compile(r"^Test(s|ing)?$|^Test[A-Z]|Tests?$|Case$|TestHelpers?$")

APP_FED_LIBRARY_PRODUCERS = frozenset({"Broadway.DummyProducer", "OffBroadwayMemory.Producer"})

FEEDING_MESSAGE = (
    "Broadway.{function} feeds the pipeline from the app itself, so it works as a job queue "
    "that loses messages on restart and has no retries; enqueue an Oban job instead, or feed "
    "the pipeline from a message broker."
)
PRODUCER_MESSAGE = (
    "{producer} makes the app feed this Broadway pipeline itself ({why}), a job queue without "
    "persistence or retries; use Oban jobs for background work, or a broker's Broadway producer "
    "(SQS, Kafka, RabbitMQ, Pub/Sub) for ingestion."
)
DB_PRODUCER_MESSAGE = (
    "{producer} makes this Broadway pipeline a hand-rolled DB-backed job queue ({why}): "
    "Oban keeps jobs in the database too, with retries, scheduling and uniqueness; use Oban "
    "jobs for background work, or a broker's Broadway producer (SQS, Kafka, RabbitMQ, "
    "Pub/Sub) for ingestion."
)


def _producer_message(producer: str, how: Feed) -> str:
    template = DB_PRODUCER_MESSAGE if how.persisted else PRODUCER_MESSAGE
    return template.format(producer=producer, why=how.why)


def check(context: Context) -> Iterator[Finding]:
    yield from _feeding_calls(context)
    yield from _app_fed_producers(context)


def _feeding_calls(context: Context) -> Iterator[Finding]:
    for captures in context.matches(FEEDING_CALL):
        function = context.text(captures["function"][0])
        call = captures["call"][0]
        if _in_test_support(call):
            continue
        target = call.child_by_field_name("target") or call
        yield context.finding(RULE, target, FEEDING_MESSAGE.format(function=function))


def _app_fed_producers(context: Context) -> Iterator[Finding]:
    pipelines = _broadway_spans(context)
    if not pipelines:
        return
    modules = None
    for captures in context.matches(PRODUCER_OPTION):
        value = captures["value"][0]
        start = value.start_byte
        if not any(s <= start < e for s, e in pipelines):
            continue
        producer = _producer_module(value)
        if producer is None:
            continue  # a variable, a config value, an attribute: unresolved, so silent
        name = context.text(producer)
        if _in_test_support(producer):
            continue
        if name in APP_FED_LIBRARY_PRODUCERS:
            why = "an in-memory buffer" if "Memory" in name else "the dummy producer"
            message = PRODUCER_MESSAGE.format(producer=name, why=why)
            yield context.finding(RULE, producer, message)
            continue
        if modules is None:
            modules = _defined_modules(context)
        how = _feed(context, producer, modules)
        if how is not None and not how.ingests:
            yield context.finding(RULE, producer, _producer_message(name, how))


def _feed(context: Context, producer: Node, modules: dict[str, Node]) -> Feed | None:
    """How the app feeds the project's producer module ``producer`` names: from its own code,
    or, when that shows nothing, through a function of another project module it calls that
    queries the database (``Shop.Jobs.claim/1`` running ``Repo.all``)."""
    name = syntax.text(producer)
    definition = _resolve(name, producer, modules)
    if definition is not None:
        full = module_model.known_name(definition)
        how = feed(definition)
        is_stage = "GenStage" in module_model.used(definition)
    else:
        found = _summary_elsewhere(context, producer)
        if found is None:
            return None
        full, how, is_stage = found.name, found.feed, "GenStage" in found.uses
    if how is not None or not is_stage or full is None:
        return how
    return _db_through_project(context, full)


def _db_through_project(context: Context, producer: str) -> Feed | None:
    """The first call ``producer`` makes to a function of another project module that queries
    the database (the index's effects, one module away): a DB-backed feed."""
    index = context.project.index
    if not index.complete:
        return None
    for call in index.facts.calls_from(producer):
        effect = index.facts.effect(call.target, call.function, _DATABASE)
        if effect is not None:
            why = f"it polls the database through {call.target}.{call.function}"
            return Feed(f"{why}, which calls {effect.call}", True)
    return None


_DATABASE = frozenset({"db"})


def _in_test_support(node: Node) -> bool:
    """Inside a module named like test support (``MyApp.Testing``, ``MyApp.TestPipeline``,
    ``MyApp.PipelineCase``): helpers for tests that happen to live under `lib/`."""
    for module in syntax.ancestors(node):
        if syntax.is_defmodule(module) and any(
            TEST_SUPPORT_SEGMENT.search(segment)
            for segment in syntax.module_name(module).split(".")
        ):
            return True
    return False


def _broadway_spans(context: Context) -> list[tuple[int, int]]:
    """Byte ranges where a ``producer:`` option configures Broadway: modules that
    ``use Broadway`` and the arguments of ``Broadway.start_link`` calls."""
    spans = []
    for captures in context.matches(USE_BROADWAY):
        module = syntax.enclosing_module(captures["call"][0])
        if module is not None:
            spans.append((module.start_byte, module.end_byte))
    for captures in context.matches(BROADWAY_START):
        call = captures["call"][0]
        spans.append((call.start_byte, call.end_byte))
    return spans


def _producer_module(value: Node) -> Node | None:
    """The alias in ``module: {Mod, opts}`` (or a bare ``module: Mod``)."""
    if value.type == "alias":
        return value
    if value.type == "tuple":
        items = [child for child in value.named_children if child.type != "comment"]
        if items and items[0].type == "alias":
            return items[0]
    return None


def _defined_modules(context: Context) -> dict[str, Node]:
    """Every module defined in the file by its full name: a ``defmodule`` anywhere inside
    another one (its body, a function, a ``test`` block) is prefixed with the outer name."""
    found: dict[str, Node] = {}
    for captures in context.matches(DEFMODULE):
        module = captures["call"][0]
        name = module_model.known_name(module)
        if name is not None:
            found[name] = module
    return found


def _resolve(name: str, at: Node, modules: dict[str, Node]) -> Node | None:
    """The module ``name`` refers to at ``at``, when the file defines it: as written, through
    an ``alias`` of an enclosing module, or as a module nested in an enclosing one."""
    candidates = [name]
    enclosing = [m for m in syntax.ancestors(at) if syntax.is_defmodule(m)]
    for module in enclosing:
        candidates.append(module_model.expand(name, module_model.aliases(module)))
    full_names = {(node.start_byte, node.end_byte): full for full, node in modules.items()}
    for module in enclosing:
        full = full_names.get((module.start_byte, module.end_byte))
        if full:
            candidates.append(f"{full}.{name}")
    for candidate in candidates:
        if candidate in modules:
            return modules[candidate]
    return None


def _summary_elsewhere(context: Context, producer: Node) -> ModuleSummary | None:
    """The index's entry for a producer module defined in another file of the project; None
    for a library's producer or one the index does not know."""
    module = syntax.enclosing_module(producer)
    if module is None or not context.project.index.complete:
        return None
    known = context.project.index.facts.names.modules
    for candidate in module_candidates(scopes(module), syntax.text(producer)):
        if candidate in known:
            return known[candidate][1]
    return None


RULE = Rule(
    code="OTP401",
    name="broadway-for-jobs",
    severity="warning",
    summary="Broadway fed by the app itself: a job queue without persistence (use Oban)",
    doc=DOC,
    check=check,
    words=("Broadway",),
    production_only=True,
    fixable=False,
    project_files=lambda summary: (
        any("Broadway" in m.uses for m in summary.modules)
        or any(call.target == "Broadway" for call in summary.calls)
    ),
)
