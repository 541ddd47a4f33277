"""What feeds a GenStage producer (``model.producers.feed``), read from its own code."""

from __future__ import annotations

from tree_sitter import Node

from otp_thinking import syntax
from otp_thinking.model.producers import Feed, feed
from otp_thinking.source import Source


def _module(text: str) -> Node:
    source = Source(text, "lib/p.ex")
    return next(n for n in syntax.descendants(source.tree.root_node) if syntax.is_defmodule(n))


def _feed(body: str) -> Feed | None:
    return feed(_module(f"defmodule P do\n  use GenStage\n{body}\nend\n"))


def test_a_producer_polling_the_repo_is_a_persisted_feed() -> None:
    assert _feed("  def handle_demand(d, s), do: {:noreply, MyApp.Repo.all(Q), s}") == Feed(
        "it polls the app's Repo", True
    )


def test_a_producer_talking_to_a_broker_ingests_and_names_the_client() -> None:
    how = _feed("  def handle_demand(d, s), do: {:noreply, ExAws.request!(q(d)), MyApp.Repo.x()}")
    assert how is not None and how.ingests and how.why == "it calls ExAws.request!"


def test_no_sign_of_storage_and_no_genstage_say_nothing() -> None:
    assert _feed("  def handle_demand(d, s), do: {:noreply, Enum.to_list(1..d), s}") is None
    assert feed(_module("defmodule Q do\n  def f, do: MyApp.Repo.all(Q)\nend\n")) is None
