"""Calls as Elixir runs them: what a call receives once the pipe is undone, how many arguments
that makes, and the expression that stands for the call where it is written.

``x |> Mod.f(y)`` is ``Mod.f(x, y)``: its first argument sits outside its ``arguments`` node, on
the left of the pipe; ``&Mod.f/2`` names the function without calling it. One answer here for
"is this call piped?", "what is its arity?" and "what does a rewrite replace?", so rules and
fixes never look at a call's parent for these questions themselves.
"""

from __future__ import annotations

from tree_sitter import Node

from otp_thinking import syntax

UNLINKED_TASKS = frozenset(
    {
        ("", "start_async"),
        ("", "assign_async"),
        ("", "stream_async"),
        ("Task.Supervisor", "async_nolink"),
        ("Task.Supervisor", "start_child"),
    }
)
"""Calls whose function runs as a task not linked to the caller (LiveView's async assigns,
Task.Supervisor's nolink calls): a crash in what that function starts stays out of the caller."""

UNLINKED_SPAWNS = frozenset({("", "spawn"), ("Kernel", "spawn"), ("Task", "start")})
"""Unlinked throwaway processes (unsupervised: OTP103 reports them)."""


def piped_into(call: Node) -> Node | None:
    """``x`` in ``x |> call(...)``: what the pipe gives the call as its first argument; None
    when the call is not on the right of a pipe."""
    above = syntax.parent(call)
    if syntax.is_pipe(above) and above is not None and above.child_by_field_name("right") == call:
        return above.child_by_field_name("left")
    return None


def is_piped(call: Node) -> bool:
    """The call is on the right of a pipe (``x |> call(...)``): it takes one argument more than
    it writes."""
    return piped_into(call) is not None


def in_pipeline(call: Node) -> bool:
    """The call is either side of a pipe: piped into, or its value piped on."""
    return syntax.is_pipe(syntax.parent(call))


def piped_to(node: Node) -> Node | None:
    """The call ``node`` is piped into (``node |> call(...)``), or None."""
    above = syntax.parent(node)
    if syntax.is_pipe(above) and above is not None and above.child_by_field_name("left") == node:
        right = above.child_by_field_name("right")
        if right is not None and right.type == "call":
            return right
    return None


def of_site(site: Node) -> Node | None:
    """The call an expression stands for: the right side of a pipe, else the node itself."""
    return site.child_by_field_name("right") if syntax.is_pipe(site) else site


def arguments(call: Node) -> list[Node]:
    """Arguments in order, the left side of a pipe first (``x |> M.f(y)`` is ``M.f(x, y)``)."""
    args = syntax.argument_nodes(call)
    left = piped_into(call)
    return [left, *args] if left is not None else args


def arity(call: Node) -> int:
    """How many arguments the call passes, the piped one included."""
    return len(syntax.argument_nodes(call)) + (1 if is_piped(call) else 0)


def site(call: Node) -> Node:
    """The expression a rewrite of ``call`` replaces: the pipe ``lhs |> call(...)`` when the
    call is piped into, the capture ``&Mod.fun/N`` when captured, else the call itself."""
    above = syntax.parent(call)
    if syntax.is_pipe(above) and above is not None and above.child_by_field_name("right") == call:
        return above
    if (
        above is not None
        and above.type == "binary_operator"
        and syntax.operator(above) == "/"
        and above.child_by_field_name("left") == call
        and syntax.is_capture(outer := syntax.parent(above))
    ):
        return outer  # type: ignore[return-value]
    return call


def capture_arity(capture: Node) -> int | None:
    """``2`` for ``&Mod.fun/2``; None when the capture is not of that shape."""
    operand = capture.child_by_field_name("operand")
    if operand is None or operand.type != "binary_operator" or syntax.operator(operand) != "/":
        return None
    right = operand.child_by_field_name("right")
    if right is None or right.type != "integer":
        return None
    return int(syntax.text(right).replace("_", ""))


def arity_at(call: Node) -> int | None:
    """The arity the call is written with: a capture's ``/N``, else its arguments with the
    piped one (None for a capture of another shape)."""
    written = site(call)
    if syntax.is_capture(written):
        return capture_arity(written)
    return arity(call)
