"""Where a process's state is at stake: code running inside a process module (one with
`handle_*`/`mount` callbacks: GenServers, LiveViews, channels) or in a helper that takes such
a process's state. Rules about linked tasks (a crash taking the caller down) flag only there:
elsewhere the caller decides what a crash means and no process state is lost with it.

The same criteria as OTP101's; shared so the linked-task rules agree on their scope.
"""

from __future__ import annotations

import bisect

from tree_sitter import Node

from otp_thinking import syntax
from otp_thinking.context import Context

PROCESS_CALLBACKS = frozenset(
    {"handle_call", "handle_cast", "handle_info", "handle_continue", "handle_event", "mount"}
)


def state_at_stake(context: Context, node: Node) -> bool:
    """In a process module or a helper of its state, and not in a function trapping exits
    (there a linked crash arrives as a message it handles)."""
    function = syntax.enclosing(node, syntax.is_def)
    if function is not None and any(
        function.start_byte <= trap.start_byte < function.end_byte for trap in _exit_traps(context)
    ):
        return False
    return in_process_module(context, node) or (
        function is not None and takes_process_state(function)
    )


def _exit_traps(context: Context) -> list[Node]:
    """The `Process.flag(:trap_exit, …)` calls of the document."""
    traps = context.cache.get("process_state.exit_traps")
    if traps is None:
        traps = context.cache["process_state.exit_traps"] = [
            captures["call"][0]
            for captures in context.remote_calls({"Process"}, {"flag"})
            if _first_argument(captures["call"][0]) == ":trap_exit"
        ]
    return traps


def _first_argument(call: Node) -> str | None:
    args = syntax.argument_nodes(call)
    return syntax.text(args[0]) if args and args[0].type == "atom" else None


def takes_process_state(function: Node) -> bool:
    """A parameter named ``state`` or matching ``%__MODULE__{}``."""
    args = syntax.argument_nodes(function)
    head = args[0] if args else None
    if head is not None and head.type == "binary_operator":  # a guard: f(x) when ...
        head = head.child_by_field_name("left")
    if head is None or head.type != "call":
        return False
    for parameter in syntax.argument_nodes(head):
        written = syntax.text(parameter)
        if (
            written in ("state", "_state")
            or "%__MODULE__{" in written
            or written.endswith("= state")
        ):
            return True
    return False


def in_process_module(context: Context, node: Node) -> bool:
    module = syntax.enclosing_module(node)
    if module is None:
        return False
    starts = _callback_starts(context)
    first = bisect.bisect_left(starts, module.start_byte)
    return first < len(starts) and starts[first] < module.end_byte


def _callback_starts(context: Context) -> list[int]:
    """Where process callbacks are defined, in order; gathered once per analysis, since a
    file can hold thousands of calls to ask about and thousands of definitions."""
    starts = context.cache.get("process_state.callback_starts")
    if starts is None:
        starts = context.cache["process_state.callback_starts"] = sorted(
            captures["definition"][0].start_byte
            for captures in context.matches(syntax.DEF_CLAUSES)
            if context.text(captures["name"][0]) in PROCESS_CALLBACKS
        )
    return starts
