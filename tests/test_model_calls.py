"""The model's calls: the pipe undone (arguments, arity, piped or not), the expression a call
stands for where it is written, captures, and half-written buffers."""

from __future__ import annotations

import pytest
from tree_sitter import Node

from otp_thinking import syntax
from otp_thinking.model import calls
from otp_thinking.parsing import parse


def call_to(code: str, target: str) -> Node:
    root = parse(code.encode()).root_node
    for node in [root, *syntax.descendants(root)]:
        if node.type != "call":
            continue
        written = node.child_by_field_name("target")
        if written is not None and syntax.text(written) == target:
            return node
    raise AssertionError(f"no call to {target} in {code!r}")


@pytest.mark.parametrize(
    ("code", "piped", "arity", "arguments"),
    [
        ("GenServer.call(server, :get)", False, 2, ["server", ":get"]),
        ("server |> GenServer.call(:get)", True, 2, ["server", ":get"]),
        ("server |> GenServer.call(:get, 5_000)", True, 3, ["server", ":get", "5_000"]),
        ("x |> f() |> GenServer.call(:get)", True, 2, ["x |> f()", ":get"]),
        ("GenServer.call(server, :get) |> elem(1)", False, 2, ["server", ":get"]),
        ("&GenServer.call/2", False, 0, []),
    ],
)
def test_the_pipe_undone(code: str, piped: bool, arity: int, arguments: list[str]) -> None:
    call = call_to(code, "GenServer.call")
    assert calls.is_piped(call) is piped
    assert (calls.piped_into(call) is not None) is piped
    assert calls.arity(call) == arity
    assert [syntax.text(a) for a in calls.arguments(call)] == arguments


def test_in_pipeline_either_side() -> None:
    assert calls.in_pipeline(call_to("Supervisor.init(c, o) |> wrap()", "Supervisor.init"))
    assert calls.in_pipeline(call_to("c |> Supervisor.init(o)", "Supervisor.init"))
    assert not calls.in_pipeline(call_to("Supervisor.init(c, o)", "Supervisor.init"))


def test_piped_to() -> None:
    root = parse(b":name |> String.to_atom()").root_node
    pipe = root.named_children[0]
    left = pipe.child_by_field_name("left")
    assert left is not None
    target = calls.piped_to(left)
    assert target is not None and syntax.text(target) == "String.to_atom()"
    assert calls.piped_to(pipe) is None
    assert calls.of_site(pipe) == target


@pytest.mark.parametrize(
    ("code", "site", "arity"),
    [
        ("Task.async(fun)", "Task.async(fun)", 1),
        ("fun |> Task.async()", "fun |> Task.async()", 1),
        ("Enum.map(xs, &Task.async/1)", "&Task.async/1", 1),
        ("Enum.map(xs, &Task.async(&1))", "Task.async(&1)", 1),
    ],
)
def test_site_and_written_arity(code: str, site: str, arity: int) -> None:
    call = call_to(code, "Task.async")
    assert syntax.text(calls.site(call)) == site
    assert calls.arity_at(call) == arity


def test_capture_arity() -> None:
    capture = calls.site(call_to("&Task.async/1_0", "Task.async"))
    assert calls.capture_arity(capture) == 10
    odd = parse(b"&(&1 + 1)").root_node.named_children[0]
    assert calls.capture_arity(odd) is None


def test_half_written_pipe() -> None:
    # the right side of the pipe is still being typed: the call before it is not piped into
    call = call_to("def f(x) do\n  GenServer.call(x, :get) |>\n", "GenServer.call")
    assert not calls.is_piped(call)
    assert calls.arity(call) == 2
    unclosed = call_to("def f(x) do\n  x |> GenServer.call(:get)\n", "GenServer.call")
    assert calls.is_piped(unclosed)  # the `end` not typed yet
    assert calls.arity(unclosed) == 2
