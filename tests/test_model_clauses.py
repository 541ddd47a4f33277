"""The model's function heads: name, parameters and guard of every ``def`` spelling, and what a
half-written buffer gives."""

from __future__ import annotations

import pytest
from tree_sitter import Node

from otp_thinking import syntax
from otp_thinking.model import clauses
from otp_thinking.parsing import matches, parse


def definitions(code: str) -> list[Node]:
    root = parse(code.encode()).root_node
    return [n for n in [root, *syntax.descendants(root)] if syntax.is_definition(n)]


def only(code: str) -> Node:
    (found,) = definitions(code)
    return found


@pytest.mark.parametrize(
    ("code", "name", "params"),
    [
        ("def start_link(opts) do\n  :ok\nend\n", "start_link", ["opts"]),
        ("def start_link(opts), do: :ok\n", "start_link", ["opts"]),
        ("defp run, do: :ok\n", "run", []),
        ("def run do\n  :ok\nend\n", "run", []),
        ("def init(arg) when is_list(arg) do\n  :ok\nend\n", "init", ["arg"]),
        ("def f(x, y) when x > y, do: x\n", "f", ["x", "y"]),
        ("def zero when true, do: 0\n", "zero", []),
        ("defmacro using(opts) do\n  opts\nend\n", "using", ["opts"]),
        ("def handle_call(:get, _from, %{a: 1} = s), do: s\n", "handle_call", None),
    ],
)
def test_head_of_every_spelling(code: str, name: str, params: list[str] | None) -> None:
    head = clauses.head(only(code))
    assert head is not None
    assert head.name == name
    assert clauses.name(only(code)) == name
    if params is not None:
        assert [syntax.text(p) for p in head.params] == params
    assert clauses.arity(only(code)) == len(head.params)


def test_guard_and_written_head() -> None:
    head = clauses.head(only("def f(x) when is_integer(x), do: x\n"))
    assert head is not None
    assert syntax.text(head.guard) == "is_integer(x)"
    assert syntax.text(head.node) == "f(x)"
    unguarded = clauses.head(only("def f(x), do: x\n"))
    assert unguarded is not None and unguarded.guard is None


@pytest.mark.parametrize(
    "code",
    [
        "def unquote(name)(x), do: x\n",  # a name computed by a macro
        "def left <~> right, do: {left, right}\n",  # an operator
        "def\n",  # a half-written buffer: no head yet
    ],
)
def test_no_function_named(code: str) -> None:
    for definition in definitions(code):
        assert clauses.head(definition) is None
        assert clauses.name(definition) == ""
        assert clauses.arity(definition) == 0


def test_half_written_buffers() -> None:
    unclosed = "defmodule Shop do\n  def handle_info(msg, state) do\n    :ok\n  end\n"
    heads = [clauses.head(d) for d in definitions(unclosed)]
    assert [(h.name, h.arity) for h in heads if h is not None] == [("handle_info", 2)]
    broken = "defmodule Shop do\n  def handle_info(msg, st\n  def init(x), do: x\nend\n"
    assert [clauses.head(d) for d in definitions(broken)] == []  # nothing read as a head


MODULE = """
defmodule Shop do
  def get(key), do: key
  def get(key, default), do: key || default
  defp get(_), do: nil
  defmacro get(a, b, c), do: {a, b, c}

  defmodule Inner do
    def get(x), do: x
  end
end
"""


def test_of_module_by_name_and_arity() -> None:
    module = parse(MODULE.encode()).root_node.named_children[0]
    assert len(clauses.of_module(module, "get")) == 3  # def and defp, not the macro
    assert len(clauses.of_module(module, "get", 1)) == 2
    assert len(clauses.any_of_module(module, "get")) == 4  # the macro too, not Inner's


def test_all_finds_clauses_with_their_names() -> None:
    root = parse((MODULE + "def a <~> b, do: a\ndef f(x) when x, do: x\n").encode()).root_node
    names = sorted(syntax.text(c["name"][0]) for c in matches(clauses.ALL, root))
    assert names == ["f", "get", "get", "get", "get"]


def test_is_head_tells_a_head_from_a_call() -> None:
    code = "defp run(x) when is_integer(x), do: run(x - 1)\ndef go(y) do\n  run(y)\nend\n"
    root = parse(code.encode()).root_node
    runs = [
        n for n in syntax.descendants(root) if n.type == "call" and syntax.local_target(n) == "run"
    ]
    assert [clauses.is_head(n) for n in runs] == [True, False, False]


DEFAULTS = """\
defmodule Shop.Settings do
  def read(server \\\\ __MODULE__), do: GenServer.call(server, :read)

  @doc "Saves."
  @spec save(GenServer.server(), map()) :: :ok
  def save(server \\\\ __MODULE__, params)
  def save(server, %{} = params), do: GenServer.call(server, {:save, params})
  def save(server, params), do: GenServer.call(server, {:save, Map.new(params)})

  def other(server), do: GenServer.call(server, :other)
end
"""


def test_default_of_a_parameter_in_the_head_or_a_bodiless_head_above() -> None:
    module = parse(DEFAULTS.encode()).root_node.named_children[0]
    [read] = clauses.of_module(module, "read")
    assert syntax.text(clauses.default_of(read, "server")) == "__MODULE__"
    *_, last_save = clauses.of_module(module, "save")
    assert syntax.text(clauses.default_of(last_save, "server")) == "__MODULE__"
    [other] = clauses.of_module(module, "other")
    assert clauses.default_of(other, "server") is None
    assert clauses.default_of(read, "params") is None


def test_a_clause_accepts_its_arity_and_fewer_by_its_defaults() -> None:
    module = parse(DEFAULTS.encode()).root_node.named_children[0]
    *_, last_save = clauses.of_module(module, "save")
    assert [n for n in range(4) if clauses.accepts(last_save, n)] == [1, 2]
    [other] = clauses.of_module(module, "other")
    assert [n for n in range(4) if clauses.accepts(other, n)] == [1]
