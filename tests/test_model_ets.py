"""The model's ETS facts: each table's name, options, owner and escapes, and each access read or
write, in the owner's process or its callers', on small snippets, half-written buffers and
across files through the project's facts."""

from __future__ import annotations

import pytest

from otp_thinking.index import ProjectIndex
from otp_thinking.model import ets
from otp_thinking.model.summary import summarize
from otp_thinking.source import Source


def summary(code: str, path: str = "/p/lib/x.ex"):  # type: ignore[no-untyped-def]
    return summarize(Source(code, path), path)


def tables(code: str) -> list[ets.TableSummary]:
    return list(summary(code).tables)


def accesses(code: str) -> list[ets.AccessSummary]:
    return list(summary(code).table_accesses)


NAMES = """
defmodule Shop.Prices do
  use GenServer
  alias Shop.Cache
  @table :prices

  def init(_) do
    :ets.new(:atom, [:named_table, :bag, :public, read_concurrency: true])
    :ets.new(__MODULE__, [:named_table, {:write_concurrency, :auto}])
    :ets.new(@table, [:named_table, :private, :ordered_set])
    :ets.new(Cache, [:named_table])
    :ets.new(:unnamed, [:set])
    :ets.new(:opts, opts())
    {:ok, nil}
  end

  def start_table, do: :ets.new(:started, [:named_table, :duplicate_bag])
end
"""


def test_table_names_in_every_spelling() -> None:
    found = tables(NAMES)
    assert [t.name for t in found] == [
        ":atom",
        "Shop.Prices",
        ":prices",
        "Shop.Cache",
        None,
        None,
        ":started",
    ]
    assert {t.module for t in found} == {"Shop.Prices"}
    assert [t.function for t in found][-1] == "start_table"


def test_table_options() -> None:
    atom, module, attribute, _alias, unnamed, opts, started = tables(NAMES)
    assert atom.options == ets.Options(True, True, True, ":public", ":bag", "true", None)
    assert module.options.write_concurrency == ":auto" and module.options.access == ":protected"
    assert attribute.options.access == ":private" and attribute.options.type == ":ordered_set"
    assert not unnamed.options.named and unnamed.options.type == ":set"
    assert not opts.options.known
    assert started.options.type == ":duplicate_bag"


def test_options_from_a_module_attribute_are_not_literal() -> None:
    code = """
defmodule A do
  @opts [:named_table, :public]
  def init(_), do: {:ok, :ets.new(:a, @opts)}
end
"""
    (table,) = tables(code)
    assert table.options.known and not table.options.literal and table.options.named


def test_the_creating_function_runs_in_the_owner_process_or_not() -> None:
    found = tables(NAMES)
    assert found[0].in_process  # init/1
    assert not found[-1].in_process  # a client function


ACCESSES = """
defmodule Shop.Cache do
  use GenServer
  @table :cache

  def get(key), do: :ets.lookup(@table, key)
  def seen?(key), do: lookup(key) != []
  def put(key, value), do: GenServer.cast(__MODULE__, {:put, key, value})
  def bump(key), do: :ets.update_counter(__MODULE__, key, 1)
  def piped(key), do: @table |> :ets.member(key)

  def init(_), do: {:ok, :ets.new(@table, [:named_table])}

  def handle_cast({:put, key, value}, state) do
    :ets.insert(@table, {key, value})
    {:noreply, state}
  end

  def handle_call({:get, key}, _from, state), do: {:reply, lookup(key), state}

  defp lookup(key), do: :ets.lookup(:cache, key)
end
"""


def test_accesses_are_reads_or_writes_by_the_owner_or_its_callers() -> None:
    found = {(a.function, a.operation): a for a in accesses(ACCESSES)}
    get = found[("get", "lookup")]
    assert get.read and get.client and not get.in_process and get.table == ":cache"
    insert = found[("handle_cast", "insert")]
    assert not insert.read and insert.in_process and not insert.client
    shared = found[("lookup", "lookup")]  # a helper both a client function and a callback call
    assert shared.in_process and shared.client
    assert found[("bump", "update_counter")].table == "Shop.Cache"
    assert found[("piped", "member")].table == ":cache"


def test_accesses_in_a_plain_module_run_in_their_callers() -> None:
    code = "defmodule Shop.Reader do\n  def get(k), do: :ets.lookup(:cache, k)\nend\n"
    (access,) = accesses(code)
    assert access.client and not access.in_process and access.module == "Shop.Reader"


def escapes(code: str) -> tuple[tuple[str, ...], str | None]:
    (table,) = tables(code)
    return table.escapes, table.persistent_key


@pytest.mark.parametrize(
    ("stored", "key"),
    [
        (
            "table = :ets.new(:quotes, [:set])\n    :persistent_term.put({__MODULE__, :q}, table)",
            "{Shop.Quotes, :q}",
        ),
        ("table = :persistent_term.put(:quotes, :ets.new(:quotes, [:set]))", ":quotes"),
    ],
)
def test_reference_stored_in_persistent_term(stored: str, key: str) -> None:
    code = f"""
defmodule Shop.Quotes do
  use GenServer
  def init(_) do
    {stored}
    {{:ok, nil}}
  end
end
"""
    assert escapes(code) == ((ets.PERSISTENT_TERM,), key)


def test_reference_in_the_state_a_call_replies_with() -> None:
    code = """
defmodule Shop.Rates do
  use GenServer
  def init(_), do: {:ok, %{rates: :ets.new(:rates, [:set])}}
  def handle_call(:table, _from, state), do: {:reply, state.rates, state}
end
"""
    assert escapes(code) == ((ets.STATE,), None)


def test_reference_kept_in_the_state_does_not_escape() -> None:
    code = """
defmodule Shop.Rates do
  use GenServer
  def init(_), do: {:ok, :ets.new(:rates, [:set])}
  def handle_call(:size, _from, table), do: {:reply, :ets.info(table, :size), table}
end
"""
    assert escapes(code) == ((), None)


def test_reference_returned_or_sent() -> None:
    returned = """
defmodule Shop.Tables do
  use GenServer
  def new_table do
    table = :ets.new(:t, [:public])
    table
  end
end
"""
    sent = """
defmodule Shop.Tables do
  use GenServer
  def init(parent) do
    table = :ets.new(:t, [:public])
    send(parent, {:table, table})
    {:ok, table}
  end
end
"""
    assert escapes(returned) == ((ets.RETURNED,), None)
    assert escapes(sent)[0] == (ets.SENT,)


def test_half_written_buffers() -> None:
    code = """
defmodule Shop.Half do
  use GenServer
  def init(_), do: {:ok, :ets.new(:half, [:named_table, :public])}
  def get(key), do: :ets.lookup(:half, key)
  def broken(x) do
    [x,
  end
end
"""
    (table,) = tables(code)
    assert table.name == ":half" and table.options.access == ":public"
    (access,) = accesses(code)
    assert access.read and access.client
    cut = "defmodule Shop.Cut do\n  def init(_), do: :ets.new(:cut, [:named_table,"
    assert [t.options.known for t in tables(cut)] in ([], [False])
    assert accesses("defmodule A do\n  def f, do: :ets.lookup(\n") == []


def test_project_join_by_name_and_persistent_term_key() -> None:
    owner = """
defmodule Shop.Quotes do
  use GenServer
  def init(_) do
    :ets.new(:symbols, [:named_table])
    table = :ets.new(:quotes, [:set])
    :persistent_term.put({__MODULE__, :quotes}, table)
    {:ok, nil}
  end
end
"""
    reader = """
defmodule Shop.Board do
  def name(s), do: :ets.lookup(:symbols, s)
  def quote(s), do: :ets.lookup(:persistent_term.get({Shop.Quotes, :quotes}), s)
  def own(s), do: :ets.lookup(:other, s)
end
"""
    index = ProjectIndex()
    index.update(summary(owner, "/p/lib/quotes.ex"))
    index.update(summary(reader, "/p/lib/board.ex"))
    joined = index.facts.tables
    symbols, quotes = joined.named(":symbols")[0], joined.named("pt:{Shop.Quotes, :quotes}")[0]
    assert [a.function for a in joined.foreign_accesses(symbols)] == ["name"]
    assert [a.function for a in joined.foreign_accesses(quotes)] == ["quote"]


def test_a_name_two_modules_create_has_no_foreign_accesses() -> None:
    one = "defmodule A do\n  use GenServer\n  def init(_), do: {:ok, :ets.new(:t, [:named_table])}\nend\n"
    two = one.replace("defmodule A", "defmodule B")
    reader = "defmodule C do\n  def get(k), do: :ets.lookup(:t, k)\nend\n"
    index = ProjectIndex()
    for path, code in (("/p/a.ex", one), ("/p/b.ex", two), ("/p/c.ex", reader)):
        index.update(summary(code, path))
    joined = index.facts.tables
    assert all(joined.foreign_accesses(t) == [] for t in joined.named(":t"))
