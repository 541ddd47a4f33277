"""Pieces fixes share: which supervisor or registry to use, and adding it when missing."""

from __future__ import annotations

import re
from dataclasses import dataclass

from tree_sitter import Node

from otp_thinking import syntax
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
    """The app's Task.Supervisor for the calling module (see `_for_caller`). Configured by
    ``[names] task_supervisor``."""
    configured = context.config.names.get("task_supervisor")
    if configured:
        return Started(configured)
    app = context.application
    existing = app.named("task_supervisor") if app is not None else []
    return _for_caller(context, node, existing, "TaskSupervisor", "{{Task.Supervisor, name: {}}}")


def _for_caller(
    context: Context, node: Node, existing: list[str], suffix: str, child: str
) -> Started:
    """One of the ``existing`` names the app starts, meant for the calling module (see
    `closest_name`); when none is, add ``<App>.<suffix>`` (``child`` with the name filled in)
    to the app's children, or when they are no literal list borrow an existing one (it works
    as it is). Without an application module the name is a guess and the fix is unsafe."""
    caller = syntax.defined_name(node) if syntax.is_defmodule(node) else syntax.module_path(node)
    fitting = closest_name(existing, caller)
    if fitting is not None:
        return Started(fitting)
    name = f"{context.namespace_at(node)}.{suffix}"
    started = _start_child(context, name, child.format(name))
    if started.safety == "unsafe" and existing:
        return Started(_app_wide(existing))
    return started


def closest_name(names: list[str], caller: str) -> str | None:
    """The process name meant for the calling module: one whose namespace encloses it
    (``Shop.Tasks`` or ``Shop.Mailer.Tasks`` for ``Shop.Mailer.Worker``, the deepest first,
    then the first started), or an atom. None when every name belongs to another part of the
    application (``Shop.Analytics.Tasks``): its limits and shutdown are not the caller's.
    Outside any module, the application-wide one (the shallowest)."""
    if not caller:
        return _app_wide(names) if names else None
    parts = caller.split(".")

    def depth(name: str) -> int | None:
        namespace = name.split(".")[:-1]
        if name.startswith(":") or namespace == parts[: len(namespace)]:
            return len(namespace)
        return None

    fitting = [(level, name) for name in names if (level := depth(name)) is not None]
    return max(fitting, key=lambda item: item[0])[1] if fitting else None  # first of the deepest


def _app_wide(names: list[str]) -> str:
    """The shallowest name (``Shop.Tasks`` before ``Shop.Mailer.Tasks``), the first on a tie."""
    return min(names, key=lambda name: name.count("."))


def _start_child(context: Context, name: str, child: str) -> Started:
    app = context.application
    edit = app.add_child(child) if app is not None else None
    if edit is None:
        return Started(name, (), "unsafe", f" (start {child} in your supervision tree)")
    return Started(name, (edit,), "safe", f" and start it in {app.module}" if app else "")


def registry(context: Context, node: Node) -> Started:
    """The app's unique-keys Registry for the calling module (see `_for_caller`). Configured
    by ``[names] registry``."""
    configured = context.config.names.get("registry")
    if configured:
        return Started(configured)
    app = context.application
    children = app.children if app is not None else []
    unique = [c.name for c in children if c.kind == "registry" and c.unique and c.name]
    return _for_caller(context, node, unique, "Registry", "{{Registry, keys: :unique, name: {}}}")


DEFAULT_PG_SCOPE = ":pg"


def pg_scope(context: Context, node: Node) -> Started:
    """The ``:pg`` scope to use: ``[names] pg_scope`` when configured, else the default scope
    ``:pg``, added to the app's children when it does not start it yet."""
    configured = context.config.names.get("pg_scope")
    if configured:
        return Started(configured)
    app = context.application
    if app is not None and DEFAULT_PG_SCOPE in app.named("pg"):
        return Started(DEFAULT_PG_SCOPE)
    return _start_child(context, DEFAULT_PG_SCOPE, "%{id: :pg, start: {:pg, :start_link, []}}")


def call_text(context: Context, call: Node, head: str, leading: list[str]) -> str | None:
    """``call`` rewritten as ``head(leading..., original arguments...)``.

    The original arguments keep their layout: when they start on a line of their own, each
    new leading argument gets its own line with the same indentation. None without arguments.
    """
    args_node = syntax.arguments(call)
    args = syntax.argument_nodes(call)
    if args_node is None or not args:
        return None
    source = context.source.text
    if not context.text(args_node).startswith("("):
        return f"{head}({', '.join([*leading, *(context.text(a) for a in args)])})"
    open_end = context.span(args_node)[0] + 1
    first_start = context.span(args[0])[0]
    between = source[open_end:first_start]
    rest = source[first_start : context.span(call)[1]]
    line_break = re.search(r"\r\n|\r|\n", between)
    if line_break is None:
        return f"{head}({', '.join(leading)}, {rest}"
    indent = context.source.line_indent(context.source.line_of(first_start))
    own_lines = "".join(f"{line_break.group(0)}{indent}{arg}," for arg in leading)
    return f"{head}({own_lines}{between}{rest}"


PIPE_VARIABLES = ("enumerable", "entries", "items", "elements", "values")


def rewrite_call(
    context: Context, call: Node, head: str, leading: list[str], arities: frozenset[int]
) -> Edit | None:
    """An edit that turns ``Mod.fun(args)`` into ``head(leading..., args)`` wherever it is:

    * a call: rewritten in place;
    * a capture ``&Mod.fun/N`` (N in ``arities``): ``&head(leading..., &1, ..., &N)``;
    * a pipe ``lhs |> Mod.fun(args)``: ``head(leading..., lhs, args)`` when ``lhs`` is one
      line and not itself a pipe; otherwise the pipe goes on through
      ``then(&head(leading..., &1, args))``, or ``then(fn enumerable -> ... end)`` when the
      arguments hold a capture (captures do not nest); both stay correct when the pipe
      continues.
    """
    site = syntax.call_site(call)
    start, end = context.span(site)
    if syntax.is_capture(site):
        arity = syntax.capture_arity(site)
        if arity is None or arity not in arities:
            return None
        placeholders = [f"&{i}" for i in range(1, arity + 1)]
        return Edit(start, end, f"&{head}({', '.join([*leading, *placeholders])})")
    if site is call:
        new = call_text(context, call, head, leading)
        return Edit(start, end, new) if new is not None else None
    left = site.child_by_field_name("left")
    if left is None:
        return None
    one_line = left.start_point.row == left.end_point.row and not syntax.is_pipe(left)
    left_text = context.text(left) if one_line else ""  # a long pipe's text is never copied
    if one_line and "\r" not in left_text:
        new = call_text(context, call, head, [*leading, left_text]) or (
            f"{head}({', '.join([*leading, left_text])})"
        )
        return Edit(start, end, new)
    call_start, call_end = context.span(call)
    if not _has_capture(call):
        inner = call_text(context, call, head, [*leading, "&1"]) or (
            f"{head}({', '.join([*leading, '&1'])})"
        )
        return Edit(call_start, call_end, f"then(&{inner})")
    variable = _fresh_variable(context.text(call))
    inner = call_text(context, call, head, [*leading, variable]) or (
        f"{head}({', '.join([*leading, variable])})"
    )
    return Edit(call_start, call_end, f"then(fn {variable} -> {inner} end)")


def _has_capture(call: Node) -> bool:
    stack = list(syntax.argument_nodes(call))
    while stack:
        node = stack.pop()
        if syntax.is_capture(node):
            return True
        stack.extend(node.named_children)
    return False


def _fresh_variable(code: str) -> str:
    for name in PIPE_VARIABLES:
        if not re.search(rf"(?<![\w@]){name}(?![\w?!])", code):
            return name
    return "enumerable_"


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
