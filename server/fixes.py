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
