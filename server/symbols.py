"""The outline of a document: its modules (nested ones inside their parent) and, in each, the
callbacks it implements — what an editor lists as document symbols."""

from __future__ import annotations

from dataclasses import dataclass, field

from tree_sitter import Node

from otp_thinking.context import Context
from otp_thinking.model import modules
from otp_thinking.model.modules import GENSERVER_CALLBACKS, Clause, ModuleFacts
from otp_thinking.source import Source

# Callbacks by name and arity besides GenServer's, for modules that do not mark them `@impl`.
OTHER_CALLBACKS = frozenset(
    {
        ("child_spec", 1),
        ("callback_mode", 0),
        ("handle_event", 4),
        ("handle_event", 3),
        ("mount", 3),
        ("render", 1),
        ("handle_params", 3),
        ("handle_in", 3),
        ("join", 3),
        ("handle_message", 3),
        ("handle_batch", 4),
        ("handle_demand", 2),
        ("handle_events", 3),
        ("perform", 1),
    }
)


@dataclass
class Symbol:
    name: str
    kind: str
    """``module`` or ``callback``."""
    start: int
    end: int
    name_start: int
    name_end: int
    children: list[Symbol] = field(default_factory=list)


def outline(source: Source) -> list[Symbol]:
    """Top-level modules, each with its callbacks and the modules nested in it, in order."""
    context = Context(source)
    found = modules.of(context)
    by_node: dict[int, Symbol] = {}
    top: list[Symbol] = []
    for facts in found:  # outer modules first
        symbol = _module_symbol(context, facts)
        by_node[facts.node.id] = symbol
        parent = _parent(facts.node, by_node)
        (parent.children if parent is not None else top).append(symbol)
    for symbols in [top, *(s.children for s in by_node.values())]:
        symbols.sort(key=lambda s: s.start)
    return top


def _parent(node: Node, by_node: dict[int, Symbol]) -> Symbol | None:
    ancestor = node.parent
    while ancestor is not None:
        if ancestor.id in by_node:
            return by_node[ancestor.id]
        ancestor = ancestor.parent
    return None


def _module_symbol(context: Context, facts: ModuleFacts) -> Symbol:
    start, end = context.span(facts.node)
    name_start, name_end = context.span(facts.name_node)
    symbol = Symbol(facts.name, "module", start, end, name_start, name_end)
    groups: dict[tuple[str, int], list[Clause]] = {}
    for clause in facts.clauses:
        if not clause.private and _is_callback(context, clause):
            groups.setdefault(clause.key, []).append(clause)
    for (name, arity), clauses in groups.items():
        first_start, first_end = context.span(clauses[0].node)
        last_end = context.span(clauses[-1].node)[1]
        symbol.children.append(
            Symbol(f"{name}/{arity}", "callback", first_start, last_end, first_start, first_end)
        )
    return symbol


def _is_callback(context: Context, clause: Clause) -> bool:
    if clause.key in GENSERVER_CALLBACKS or clause.key in OTHER_CALLBACKS:
        return True
    before = clause.node.prev_named_sibling
    while before is not None and before.type == "comment":
        before = before.prev_named_sibling
    return before is not None and context.text(before).startswith("@impl")
