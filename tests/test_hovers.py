"""Hover cards on OTP constructs: each construct gets its card at a position on it; text that
only looks like one (strings, comments, other aliases, whitespace, typespecs) gets none."""

from __future__ import annotations

import re

import pytest

from conftest import elixir_accepts
from otp_thinking.hovers import CARDS, construct_at, construct_card
from otp_thinking.source import Source

DOCUMENT = """\
defmodule Shop.Cart do
  @moduledoc "A GenServer that calls Task.async and :ets.new, in prose only."
  use GenServer

  # GenServer.call(pid, :ignored) sits in a comment
  alias Shop.GenServerHelpers
  @behaviour :gen_statem
  @spec start_link(term) :: GenServer.on_start()

  def start_link(id),
    do: GenServer.start_link(__MODULE__, id, name: {:via, Registry, {Shop.Registry, id}})
  def get(pid), do: GenServer.call(pid, :get, 5_000)
  def poke(pid), do: GenServer.cast(pid, :poke)

  @impl true
  def init(id) do
    table = :ets.new(:cart_lines, [:set, :protected, read_concurrency: true])
    :persistent_term.put({__MODULE__, :limits}, %{max: 10})
    {:ok, {id, table}, {:continue, :load}}
  end

  @impl true
  def handle_continue(:load, state), do: {:noreply, state}

  def price(items) do
    task = Task.async(fn -> Shop.Prices.fetch(items) end)
    nolink = Task.Supervisor.async_nolink(Shop.TaskSupervisor, fn -> :ok end)
    {Task.await(task), nolink, GenServerHelpers.label(), "GenServer.call"}
  end

  def counters, do: Agent.start_link(fn -> 0 end)
  def groups(room), do: :pg.join(Shop.PG, room, self())
  def old_groups(room), do: :pg2.join(room, self())
  def disk, do: :dets.open_file(:carts, file: ~c"carts.dets")
  def tx, do: :mnesia.transaction(fn -> :ok end)
  def statem(pid), do: :gen_statem.call(pid, :go)
  def lookup(key), do: Registry.lookup(Shop.Registry, key)
  def spawn_cart(id), do: DynamicSupervisor.start_child(Shop.CartSupervisor, {Shop.Cart, id})
  def run_later(fun), do: Task.Supervisor.start_child(Shop.TaskSupervisor, fun)
  def route(id), do: {:via, PartitionSupervisor, {Shop.Carts, id}}
  def table_lookup(key), do: :ets.lookup(:cart_lines, key)
  def tuple, do: {:ok, :continue}
end

defmodule Shop.Application do
  use Application

  def start(_type, _args) do
    children = [
      {Task.Supervisor, name: Shop.TaskSupervisor},
      {Registry, keys: :unique, name: Shop.Registry},
      {DynamicSupervisor, name: Shop.CartSupervisor, strategy: :one_for_one},
      {PartitionSupervisor, child_spec: DynamicSupervisor, name: Shop.Carts},
      %{id: :pg, start: {:pg, :start_link, [Shop.PG]}}
    ]

    Supervisor.start_link(children, strategy: :rest_for_one, max_restarts: 3, max_seconds: 5)
  end
end

defmodule Shop.Ingest do
  use Broadway
end

defmodule Shop.Workers.Mail do
  use Oban.Worker, queue: :mailers
end

defmodule Shop.Sup do
  use Supervisor
  def init(children), do: Supervisor.init(children, strategy: :one_for_all, extra: :one_for_one)
end
"""

SOURCE = Source(DOCUMENT)


def at(needle: str, inside: int = 1, occurrence: int = 0) -> int:
    """Offset ``inside`` characters into the ``occurrence``-th ``needle`` of the document."""
    index = -1
    for _ in range(occurrence + 1):
        index = DOCUMENT.index(needle, index + 1)
    return index + inside


ON_CONSTRUCTS = [
    ("use GenServer", 1, "**GenServer**"),
    ("use GenServer", 6, "**GenServer**"),
    ("GenServer.start_link", 3, "**GenServer**"),
    ("GenServer.call(pid, :get", 11, "**GenServer**"),
    ("GenServer.cast", 0, "**GenServer**"),
    ("@behaviour :gen_statem", 14, "**:gen_statem**"),
    (":gen_statem.call", 2, "**:gen_statem**"),
    ("{:via, Registry", 3, "**Registry and via tuples**"),
    ("{:via, Registry", 9, "**Registry and via tuples**"),
    ("Registry.lookup", 1, "**Registry and via tuples**"),
    ("{Registry, keys", 2, "**Registry and via tuples**"),
    (":ets.new(:cart", 2, "**:ets.new**"),
    ("read_concurrency: true", 3, "**:ets.new**"),
    (":persistent_term.put", 5, "**:persistent_term**"),
    ("{:continue, :load}", 3, "**handle_continue/2**"),
    ("def handle_continue", 6, "**handle_continue/2**"),
    ("Task.async(", 6, "**Task.async vs Task.Supervisor.async_nolink**"),
    ("Task.Supervisor.async_nolink", 20, "**Task.async vs Task.Supervisor.async_nolink**"),
    ("Task.Supervisor.start_child", 20, "**Task.Supervisor**"),
    ("{Task.Supervisor, name", 3, "**Task.Supervisor**"),
    ("Agent.start_link", 2, "**Agent**"),
    (":pg.join", 1, "**:pg**"),
    ("{:pg, :start_link", 2, "**:pg**"),
    (":pg2.join", 3, "**:pg2**"),
    (":dets.open_file", 8, "**:dets**"),
    (":mnesia.transaction", 4, "**:mnesia**"),
    ("DynamicSupervisor.start_child", 2, "**DynamicSupervisor**"),
    ("{DynamicSupervisor, name", 4, "**DynamicSupervisor**"),
    ("{PartitionSupervisor, child_spec", 3, "**PartitionSupervisor**"),
    ("{:via, PartitionSupervisor", 12, "**PartitionSupervisor**"),
    ("strategy: :one_for_one", 12, "**Supervisor strategy `:one_for_one`**"),
    ("strategy: :rest_for_one", 2, "**Supervisor strategy `:rest_for_one`**"),
    ("strategy: :one_for_all", 15, "**Supervisor strategy `:one_for_all`**"),
    ("max_restarts: 3", 4, "**Restart intensity**"),
    ("max_seconds: 5", 13, "**Restart intensity**"),
    ("Supervisor.start_link(children", 3, "**Supervisor**"),
    ("use Supervisor", 5, "**Supervisor**"),
    ("use Broadway", 8, "**Broadway**"),
    ("use Oban.Worker", 10, "**Oban.Worker**"),
]


@pytest.mark.parametrize(("needle", "inside", "title"), ON_CONSTRUCTS)
def test_card_on_construct(needle: str, inside: int, title: str) -> None:
    card = construct_card(SOURCE, at(needle, inside))
    assert card is not None, f"no card at {needle!r}+{inside}"
    assert card.startswith(title)


NEAR_MISSES = [
    ('"A GenServer that calls', 3),  # a string mentioning GenServer
    ("Task.async and :ets.new, in prose", 2),  # a string mentioning constructs
    ('"GenServer.call"', 4),
    ("# GenServer.call", 4),  # a comment
    ("alias Shop.GenServerHelpers", 12),  # an unrelated alias
    ("GenServerHelpers.label", 3),
    ("  use GenServer", 0),  # indentation before a construct
    ("\n\n  # GenServer", 1),  # a blank line
    ("GenServer.on_start()", 3),  # a type, not a call
    ("GenServer.call(pid, :get, 5_000)", 17),  # an argument of the call, not the call
    (":ets.lookup", 2),  # only :ets.new carries the options card
    ("{:ok, :continue}", 2),  # :continue that is no continue instruction
    ("extra: :one_for_one", 9),  # not under a strategy: key
    ("use Application", 5),
    ("Task.await(task)", 2),
]


@pytest.mark.parametrize(("needle", "inside"), NEAR_MISSES)
def test_no_card_off_constructs(needle: str, inside: int) -> None:
    offset = at(needle, inside)
    assert construct_card(SOURCE, offset) is None, DOCUMENT[offset : offset + 20]


def test_no_card_outside_the_document() -> None:
    assert construct_card(SOURCE, -1) is None
    assert construct_card(SOURCE, len(DOCUMENT)) is None
    assert construct_card(Source(""), 0) is None


def test_every_card_is_reachable() -> None:
    kinds = {construct_at(SOURCE, at(needle, inside)).kind for needle, inside, _ in ON_CONSTRUCTS}  # type: ignore[union-attr]
    assert kinds == set(CARDS)


def test_range_is_the_construct() -> None:
    construct = construct_at(SOURCE, at("GenServer.cast", 3))
    assert construct is not None
    assert DOCUMENT[construct.start : construct.end] == "GenServer.cast"


def test_offsets_are_code_points_after_non_ascii_text() -> None:
    text = 'defmodule A do\n  @x "héllo 👋 世界"; def f, do: GenServer.call(:a, :b)\nend\n'
    source = Source(text)
    offset = text.index("GenServer.call") + 2
    card = construct_card(source, offset)
    assert card is not None and card.startswith("**GenServer**")
    assert construct_card(source, text.index("👋")) is None


def test_half_written_buffer_still_gets_cards() -> None:
    text = (
        "defmodule A do\n  use GenServer\n  def f(x) do\n    x |>\n  end\n\n"
        "  def g, do: :ets.new(:t, [])\n"
    )
    source = Source(text)
    assert source.has_errors()
    assert construct_card(source, text.index("use GenServer") + 5) is not None
    assert construct_card(source, text.index(":ets.new") + 1) is not None


def test_hovers_answer_all_over_a_large_file() -> None:
    """Correctness on a large file; its speed is measured by bench/editor.py, not asserted."""
    body = "\n".join(
        f"  def f{i}(pid), do: GenServer.call(pid, {{:get, {i}}}) # GenServer {i}"
        for i in range(5_000)
    )
    text = f"defmodule Big do\n  use GenServer\n{body}\nend\n"
    source = Source(text)
    offsets = [text.index(f"f{i}(pid)") + 25 for i in range(0, 5_000, 50)]
    cards = [construct_card(source, offset) for offset in offsets]
    assert all(cards)


CODE_BLOCK = re.compile(r"```elixir\n(.*?)```", re.DOTALL)


@pytest.mark.parametrize("kind", sorted(CARDS))
def test_card_shape_is_a_title_advice_and_valid_code(kind: str) -> None:
    card = CARDS[kind]
    assert card.startswith("**")
    assert len(card.splitlines()) <= 30
    blocks = CODE_BLOCK.findall(card)
    assert len(blocks) == 1
    assert not Source(blocks[0]).has_errors(), blocks[0]


def test_card_code_parses_in_elixir(tmp_path, elixir: None) -> None:
    paths = []
    for kind, card in sorted(CARDS.items()):
        path = tmp_path / f"{kind}.exs"
        path.write_text(CODE_BLOCK.findall(card)[0], "utf-8")
        paths.append(path)
    ok, said = elixir_accepts(paths)
    assert ok, said
