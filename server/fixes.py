"""Pieces fixes share: which supervisor or registry to use, and adding it when missing."""

from __future__ import annotations

from dataclasses import dataclass

from tree_sitter import Node

from otp_thinking.context import Context
from otp_thinking.findings import Edit, Safety


@dataclass(frozen=True)
class Started:
    """A process name a fix can use, and the edits that start it when the app does not yet."""

    name: str
    edits: tuple[Edit, ...] = ()
    safety: Safety = "safe"
    note: str = ""


def task_supervisor(context: Context, node: Node) -> Started:
    """The app's Task.Supervisor; when it has none, add ``<App>.TaskSupervisor`` to its
    children. Without an application module the name is a guess and the fix is unsafe."""
    configured = context.config.names.get("task_supervisor")
    if configured:
        return Started(configured)
    app = context.application
    if app is not None:
        existing = app.named("task_supervisor")
        if existing:
            return Started(existing[0])
    name = f"{context.namespace_at(node)}.TaskSupervisor"
    return _start_child(context, name, f"{{Task.Supervisor, name: {name}}}")


def _start_child(context: Context, name: str, child: str) -> Started:
    app = context.application
    edit = app.add_child(child) if app is not None else None
    if edit is None:
        return Started(name, (), "unsafe", f" (start {child} in your supervision tree)")
    return Started(name, (edit,), "safe", f" and start it in {app.module}" if app else "")


def append_items(context: Context, opening: Node, items: list[Node], new: list[str]) -> Edit:
    """An edit that adds ``new`` after the last of ``items`` in the same layout: on the same
    line (``a, b, new``) or one per line with the last item's indentation. ``opening`` is the
    node the items start in (a list, the call's arguments); with no items the list is
    replaced."""
    if not items:
        start, end = context.span(opening)
        return Edit(start, end, f"[{', '.join(new)}]")
    source = context.source
    last_start, last_end = context.span(items[-1])
    previous = context.span(items[-2])[0] if len(items) > 1 else context.span(opening)[0]
    if source.line_of(previous) == source.line_of(last_start):
        return Edit(last_end, last_end, "".join(f", {item}" for item in new))
    indent = source.line_indent(source.line_of(last_start))
    newline = source.newline
    return Edit(last_end, last_end, "".join(f",{newline}{indent}{item}" for item in new))
