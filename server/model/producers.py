"""What feeds a GenStage producer: a message broker, or the application itself.

A Broadway pipeline whose producer is fed by the app is a job queue in disguise. The producer
may live in another file than the pipeline, so the per-file summary of the project index keeps
each producer's answer (see ``feed``), and rules compare it across files.
"""

from __future__ import annotations

from dataclasses import dataclass

from tree_sitter import Node

from otp_thinking import syntax
from otp_thinking.model import clauses, modules
from otp_thinking.parsing import matches

IN_MEMORY = frozenset({":ets", ":queue"})
"""Stores that die with the node: a producer reading them serves what the app put there."""

PERSISTED = frozenset({":dets", ":mnesia", "Ecto.Adapters.SQL", "Postgrex"})
"""Stores on disk or in a database that the app fills itself."""

PUSHED_BY_APP = frozenset({("GenStage", "cast"), ("GenStage", "call")})

BROKER_CLIENTS = (
    "ExAws",
    "AWS",
    "AMQP",
    "KafkaEx",
    "Kaffe",
    ":brod",
    "Redix",
    ":eredis",
    "GoogleApi.PubSub",
    "Kane",
    "Gnat",
    "Tortoise",
    "Tortoise311",
    ":emqtt",
    "Pulsar",
    "GRPC",
)
"""Prefixes of client modules that talk to a broker or a remote stream (a gRPC subscription):
a producer calling them ingests data."""


@dataclass(frozen=True, slots=True)
class Feed:
    """How the app feeds a producer: ``why`` in words (``it polls the app's Repo``), and
    whether what it serves is ``persisted`` (a database or a disk table: a hand-rolled
    DB-backed queue) or lives in memory (lost on restart)."""

    why: str
    persisted: bool
    ingests: bool = False
    """The producer talks to a broker client (``ExAws``, ``AMQP``…): the data comes from
    outside, and the app does not feed it (``why`` names the client)."""


def feed(module: Node) -> Feed | None:
    """How the app itself feeds the GenStage producer ``module`` (a ``defmodule``); a Feed
    that ``ingests`` when it talks to a broker; None when it is no GenStage or shows no sign
    of the app's own storage in its own code."""
    if "GenStage" not in modules.used(module):
        return None
    found: list[Feed] = []
    for captures in matches(syntax.REMOTE_CALLS, module):  # compiled for the summaries
        if captures["module"][0].type not in ("alias", "atom"):
            continue  # `__MODULE__.Sub.f()`
        target = syntax.text(captures["module"][0])
        function = syntax.text(captures["function"][0])
        if any(target == p or target.startswith(p + ".") for p in BROKER_CLIENTS):
            return Feed(f"it calls {target}.{function}", False, ingests=True)
        if target == "Repo" or target.endswith(".Repo"):
            found.append(Feed("it polls the app's Repo", True))
        elif target in PERSISTED or target.startswith("Ecto."):
            found.append(Feed(f"it reads {target}", True))
        elif target in IN_MEMORY:
            found.append(Feed(f"it reads {target}", False))
        elif (target, function) in PUSHED_BY_APP and _emits_on_request(module, function):
            found.append(Feed(f"the app pushes events with GenStage.{function}", False))
    return found[0] if found else None


def _emits_on_request(module: Node, function: str) -> bool:
    """A ``handle_cast``/``handle_call`` clause of the producer hands events on (its events
    list is not ``[]``): a cast that only changes the subscription pushes nothing."""
    callback = "handle_cast" if function == "cast" else "handle_call"
    # {:noreply, events, state} from a cast, {:reply, reply, events, state} from a call
    position = 2 if callback == "handle_call" else 1
    for definition in clauses.of_module(module, callback):
        tails = syntax.tail_expressions(syntax.body_of(definition))
        for tail in tails or [definition]:  # no body the tool can read: it may hand events on
            items = [c for c in tail.named_children if c.type != "comment"]
            if tail.type != "tuple" or len(items) <= position:
                return True
            if syntax.text(items[position]) != "[]":
                return True
    return False
