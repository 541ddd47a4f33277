"""Pieces fixes share: which supervisor or registry to use, and adding it when missing."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from tree_sitter import Node

from otp_thinking import syntax
from otp_thinking.context import Context
from otp_thinking.findings import Edit, Safety
from otp_thinking.model.supervision import (
    DEFAULT_PG_SCOPE,
    LITERAL,
    PG,
    REGISTRY,
    TASK_SUPERVISOR,
)
from otp_thinking.project import Application
from otp_thinking.project import app_root as _app_root


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
    existing = started_names(context, TASK_SUPERVISOR)
    child = "{{Task.Supervisor, name: {}}}"
    return _for_caller(context, node, TASK_SUPERVISOR, None, existing, _TASK_NAMES, child)


_TASK_NAMES = ("TaskSupervisor", "Tasks")
"""Names a new Task.Supervisor gets under the app's namespace, the first one free."""


def registry(context: Context, node: Node) -> Started:
    """The app's unique-keys Registry for the calling module (see `_for_caller`). Configured
    by ``[names] registry``."""
    configured = context.config.names.get("registry")
    if configured:
        return Started(configured)
    unique = started_names(context, REGISTRY, ":unique")
    return _for_caller(
        context,
        node,
        REGISTRY,
        ":unique",
        unique,
        ("Registry", "ProcessRegistry"),
        "{{Registry, keys: :unique, name: {}}}",
    )


def started_names(context: Context, kind: str, keys: str | None = None) -> list[str]:
    """The names of ``kind`` (Registries with these ``keys``) that the caller's application
    starts, in any spelling: its children, and any `name:` of that kind in a production file
    of the application (a wrapper's ``child_spec``, ``Registry.start_link(:unique, Name)``).
    In path order, then document order, so the choice does not depend on what ran first."""
    cache_key = f"started names {kind} {keys}"
    if cache_key not in context.cache:
        context.cache[cache_key] = _started_names(context, kind, keys)
    return list(context.cache[cache_key])


def _started_names(context: Context, kind: str, keys: str | None) -> list[str]:
    app = context.application
    names = app.named(kind, keys, unconditional=True) if app is not None else []
    app_root = _app_root(app.path) if app is not None else None
    for path, summary in context.summaries():
        if summary.short_lived or (app_root is not None and not _under(path, app_root)):
            continue
        branches = [(c.start, c.end) for c in summary.supervision.lists if c.placement != LITERAL]
        names.extend(
            start.name
            for start in summary.supervision.names
            if start.kind == kind
            and start.name
            and (keys is None or start.keys == keys)
            and not any(s <= start.start < e for s, e in branches)
        )
    return list(dict.fromkeys(names))


def _under(path: str, folder: Path) -> bool:
    try:
        return Path(path).resolve().is_relative_to(folder)
    except OSError:
        return False


def _for_caller(
    context: Context,
    node: Node,
    kind: str,
    keys: str | None,
    existing: list[str],
    suffixes: tuple[str, ...],
    child: str,
) -> Started:
    """One of the ``existing`` names the app starts, meant for the calling module (see
    `closest_name`; a Phoenix ``ShopWeb.*`` module is part of ``Shop``). Else
    ``<App>.<suffix>``: used when the project already starts it as this kind, added to the
    app's children (``child`` with the name filled in) when nothing starts that name; when it
    cannot be added safely, an existing one (it works as it is), else the fix is unsafe."""
    caller = syntax.defined_name(node) if syntax.is_defmodule(node) else syntax.module_path(node)
    namespace = context.namespace_at(node)
    fitting = closest_name(existing, caller) or closest_name(
        existing, _web_to_app(caller, namespace)
    )
    if fitting is not None:
        return Started(fitting)
    for suffix in suffixes:
        name = f"{namespace}.{suffix}"
        if name in _started_as(context, kind, keys):
            return Started(name)
        if _taken(context, kind, name):
            continue  # another process has that name, or the tool cannot tell
        started = _start_child(context, name, child.format(name), caller)
        if started.safety == "unsafe" and existing:
            return Started(_app_wide(existing))
        return started
    if existing:
        return Started(_app_wide(existing))
    name = f"{namespace}.{suffixes[0]}"
    return Started(name, (), "unsafe", f" (check that {name} is started as one)")


def _started_as(context: Context, kind: str, keys: str | None) -> set[str]:
    """Names started as ``kind`` by the application's children or by production code anywhere
    in the project (another application of an umbrella included)."""
    app = context.application
    found = set(app.named(kind, keys)) if app is not None else set()
    found.update(
        start.name
        for _path, summary in context.summaries()
        if not summary.short_lived
        for start in summary.supervision.names
        if start.kind == kind and start.name and (keys is None or start.keys == keys)
    )
    return found


def _taken(context: Context, kind: str, name: str) -> bool:
    """Whether adding a child named ``name`` could clash with a process already started under
    it (of any kind, tests included) or with a project module of that name, or the tool cannot
    tell (a process of ``kind`` started under a name it cannot read)."""
    index = context.project.index
    app = context.application
    in_app = app is not None and any(c.name == name or c.child_id == name for c in app.children)
    return (
        in_app or name in index.started or name in index.modules or kind in index.unreadable_kinds
    )


def _web_to_app(caller: str, namespace: str) -> str:
    """``ShopWeb.PageLive`` → ``Shop.PageLive``: a Phoenix web module uses its app's processes."""
    head, _, rest = caller.partition(".")
    return f"{namespace}.{rest}" if head == f"{namespace}Web" and rest else caller


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


def users_of(context: Context, name: str, caller: str) -> frozenset[str]:
    """The modules that use ``name`` (by the project index) and the calling module."""
    users = {
        use.module
        for _path, summary in context.summaries()
        for use in summary.uses
        if use.name == name and use.module
    }
    return frozenset(users | ({caller} if caller else set()))


def child_edit(
    context: Context, app: Application, child: str, users: frozenset[str]
) -> Edit | None:
    """The edit adding ``child`` to ``app``'s children for these ``users`` (a Phoenix app's
    web modules are served by its Endpoint); in the document itself when the application
    module is in the file being fixed."""
    web = any(user.startswith(f"{app.namespace}Web.") for user in users)
    edit = app.add_child(child, users, web)
    if edit is not None and context.path is not None and _same_file(app.path, context.path):
        return Edit(edit.start, edit.end, edit.new_text)
    return edit


def _same_file(first: Path | str, second: Path | str) -> bool:
    return os.path.realpath(first) == os.path.realpath(second)


def _start_child(context: Context, name: str, child: str, caller: str) -> Started:
    """Start ``child`` in the application's children, after the infrastructure and before its
    first user; unsafe, with where to add it, when the app has no children list written out
    for every start (one chosen by a branch, or built at run time)."""
    app = context.application
    if app is None:
        return Started(name, (), "unsafe", f" (start {child} in your supervision tree)")
    edit = child_edit(context, app, child, users_of(context, name, caller))
    if edit is None:
        where = f"{app.module}.start/2"
        return Started(name, (), "unsafe", f" (add {child} to the children started by {where})")
    return Started(name, (edit,), "safe", f" and start it in {app.module}")


def pg_scope(context: Context, node: Node) -> Started:
    """The ``:pg`` scope to use: ``[names] pg_scope`` when configured, else the default scope
    ``:pg``, added to the app's children when nothing in the project starts it yet. The
    default scope is one per node: in an umbrella it must be started by one application that
    the others depend on, which is a decision, so the fix is unsafe and adds nothing there."""
    configured = context.config.names.get("pg_scope")
    if configured:
        return Started(configured)
    if DEFAULT_PG_SCOPE in _started_as(context, PG, None):
        return Started(DEFAULT_PG_SCOPE)
    child = PG_CHILD
    if len(context.project.applications) > 1:
        return Started(
            DEFAULT_PG_SCOPE,
            (),
            "unsafe",
            f" (start {child} once, in the application the others depend on)",
        )
    if _taken(context, PG, DEFAULT_PG_SCOPE):
        return Started(DEFAULT_PG_SCOPE, (), "unsafe", f" (check that {child} is started)")
    return _start_child(context, DEFAULT_PG_SCOPE, child, syntax.module_path(node))


PG_CHILD = "%{id: :pg, start: {:pg, :start_link, []}}"


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
