"""What becomes of an expression's value where it is written: thrown away, or used.

A task or a pid that nobody keeps is the evidence several rules need (an unawaited task, a
`Task.start_link` whose pid is dropped), and the project's facts need it of calls across
files (every caller of a helper drops what it returns), so the answer lives here.
"""

from __future__ import annotations

from tree_sitter import Node

from otp_thinking import syntax
from otp_thinking.model import calls


def discarded(site: Node, unused_variables: bool = True) -> bool:
    """The expression's value is thrown away: a statement before the last of its block, or
    bound to an underscored variable or (with ``unused_variables``, which reads the rest of
    the function) to one the function never uses again."""
    parent = syntax.parent(site)
    if parent is None:
        return False
    if (
        parent.type == "binary_operator"
        and syntax.operator(parent) == "="
        and parent.child_by_field_name("right") == site
    ):
        left = parent.child_by_field_name("left")
        if left is None or left.type != "identifier":
            return False
        name = syntax.text(left)
        if name.startswith("_") or not unused_variables:
            return name.startswith("_")
        definition = syntax.enclosing_definition(parent)
        return (
            definition is not None and syntax.last_variable_use(definition, name) <= parent.end_byte
        )
    if parent.type in ("body", "do_block", "else_block", "block", "source"):
        if not syntax.is_statement(site):
            return False
        if site != syntax.last_statement(parent):
            return True
        if each_drops(parent):
            return True
        branching = branching_call(parent)
        return branching is not None and discarded(calls.site(branching), unused_variables)
    return False


DROPPING_EACH = frozenset({("Enum", "each"), (":lists", "foreach")})
"""Calls that run an ``fn`` for its effects and drop what it returns."""


def each_drops(body: Node) -> bool:
    """``body`` is the clause of an ``fn`` given straight to ``Enum.each`` (piped or not):
    the value of its last statement goes nowhere."""
    clause = syntax.parent(body) if body.type == "body" else None
    in_fn = clause is not None and clause.type == "stab_clause"
    function = syntax.parent(clause) if in_fn and clause is not None else None
    if function is None or function.type != "anonymous_function":
        return False
    arguments = syntax.parent(function)
    call = syntax.parent(arguments) if arguments is not None else None
    return (
        arguments is not None
        and arguments.type == "arguments"
        and call is not None
        and call.type == "call"
        and syntax.call_key(call) in DROPPING_EACH
    )


BRANCHING = frozenset({"case", "cond", "if", "unless", "with", "receive", "try"})


def branching_call(block: Node) -> Node | None:
    """The ``case``/``if``/``with``/… call whose value is the value of ``block``'s last
    statement (a clause's body, or the ``do``/``else`` of an ``if``); None for any other
    block, such as a function's body or an ``fn``'s clause."""
    node: Node | None = block
    if node is not None and node.type == "body":
        clause = syntax.parent(node)
        node = (
            syntax.parent(clause) if clause is not None and clause.type == "stab_clause" else None
        )
    if node is not None and node.type in ("else_block", "rescue_block", "catch_block"):
        node = syntax.parent(node)
    if node is None or node.type != "do_block":
        return None
    call = syntax.parent(node)
    if call is None or call.type != "call" or syntax.local_target(call) not in BRANCHING:
        return None
    return call
