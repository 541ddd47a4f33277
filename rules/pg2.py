"""OTP301 pg2: `:pg2` was removed in OTP 24; `:pg` replaces it."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass

from tree_sitter import Node

from otp_thinking import fixes, syntax
from otp_thinking.context import Context
from otp_thinking.findings import Edit, Finding, Fix, Safety
from otp_thinking.model import calls, groups
from otp_thinking.rule import Rule

DOC = """\
## What it flags
Every call to the `:pg2` module (`:pg2.create/1`, `join/2`, `leave/2`, `get_members/1`,
`get_closest_pid/1`, ...), piped and captured ones included.

Not flagged: calls inside a branch that checks for `:pg` first: an `if`, `unless`, `case` or
`cond` whose condition mentions `Code.ensure_loaded?(:pg)` (or `function_exported?(:pg, ...)`),
directly or through a module attribute set from it. Libraries that still support OTP 22 keep
`:pg2` as the fallback there on purpose. Text in strings, docs and comments.

## Why it matters
`:pg2` was deprecated in OTP 23 and removed in OTP 24: on a current Erlang/OTP the module does
not exist and every call raises `UndefinedFunctionError`. Its replacement, `:pg`, is faster and
simpler (no global locks, groups need no creating), but it needs a scope process started in
your supervision tree: the default scope is a process registered as `:pg`. `:pg` and `:pg2` do
not see each other's groups, so in a cluster upgrade every node must switch together.

## Example
```elixir
def subscribe(topic) do
  :ok = :pg2.create({:chat, topic})
  :ok = :pg2.join({:chat, topic}, self())
end

def members(topic), do: :pg2.get_members({:chat, topic})
```

With `:pg`, start the default scope in the application's children,
`%{id: :pg, start: {:pg, :start_link, []}}`, then:

```elixir
def subscribe(topic), do: :pg.join({:chat, topic}, self())

def members(topic), do: :pg.get_members({:chat, topic})
```

## Fix
One fix moves every `:pg2` call of the file to `:pg` at once, offered on each of them: `:pg`
and `:pg2` groups do not see each other, so a join moved alone would hide its member from the
`get_members` beside it while both modules exist (OTP 23). It rewrites `join/2`, `leave/2`,
`get_members/1`, `get_local_members/1` and `which_groups/0` to the same functions of `:pg`
(same arguments: they act on the default scope). `:pg2.create/1` has no counterpart (groups
exist while they have members): a `create` statement is removed, and when its value is used it
becomes `:ok`. A `:pg2.start()` or `:pg2.start_link()` statement is removed too (the scope
starts in the supervision tree instead); one whose value is used has no counterpart. When
the application does not start the default scope yet, the same fix adds
`%{id: :pg, start: {:pg, :start_link, []}}` to its children, after the infrastructure and
before the first child that calls `:pg2` or starts a module that does (in an umbrella, or a
project that depends on sibling Mix projects by `path:` or that one depends on, and runs on a
node with them, the default scope must be started once per node: the fix is unsafe and leaves
that to you). With `[names] pg_scope = "MyApp.PG"` the fix uses that scope instead
(`:pg.join(MyApp.PG, group, pid)`), which you start yourself.

Unsafe, with the reason in its title, when the move changes more than the module:
- a `join/2` or `leave/2` whose pid is not `self()` (or a captured one): `:pg` takes local
  pids only, where `:pg2` took remote ones;
- another file of the project calls `:pg2` on a group this file names too (the same atom,
  alias or literal: move it with this one), or on groups the tool cannot tell apart from
  this file's (computed at run time: check them);
- Mix projects beside this one (it depends on them by `path:`, or they on it) may use the
  same groups through `:pg2`;
- the app runs in a cluster (`libcluster`, `peerage`, `swarm`, `horde` or `partisan` in
  mix.exs): the nodes see each other's members only on the same module, so every node must
  move at once;
- mix.exs admits an Elixir older than 1.14 (or states none): that Elixir runs on OTP 22,
  which has no `:pg` (it came with OTP 23), so check which OTP the app runs on;
- a call with no counterpart stays (`get_closest_pid/1`, which `:pg` lacks: pick a member of
  `:pg.get_members/1` yourself, for example a local one from `get_local_members/1` first);
- `:pg2.delete/1` (removed the same way, but `:pg` keeps the members joined until they leave
  or exit), a `leave/2` whose result is used (`:pg.leave/2` returns `:not_joined` where
  `:pg2` returned `:ok`), and no application module found to start the scope in.
"""


MESSAGE = (
    ":pg2 was removed in OTP 24, so this call fails on current Erlang/OTP; use :pg with a :pg "
    "scope started in your supervision tree instead."
)
CLOSEST_MESSAGE = (
    ":pg2 was removed in OTP 24 and :pg has no get_closest_pid; pick a pid from "
    ":pg.get_local_members/1 or :pg.get_members/1 instead."
)

RENAMED = {"join": 2, "leave": 2, "get_members": 1, "get_local_members": 1, "which_groups": 0}
DROPPED = {"create": 1, "delete": 1}
SERVER_STARTS = {"start": 0, "start_link": 0}
"""Starts of the `:pg2` server itself: the `:pg` scope starts in the supervision tree
instead, so a start whose value nobody uses is removed (left, it would still fail)."""
GUARDS = frozenset({"if", "unless", "case", "cond"})
PG_CHECK = re.compile(r"(ensure_loaded\?|ensure_compiled\??|function_exported\?)\(\s*:pg\s*[,)]")


@dataclass(frozen=True)
class _Call:
    call: Node
    site: Node
    """The call, or the capture or pipe it is written in."""
    function: str


def check(context: Context) -> Iterator[Finding]:
    found = list(_unguarded_calls(context))
    if not found:
        return
    moved = _move(context, found)
    for item in found:
        node = item.site if syntax.is_capture(item.site) else item.call
        closest = item.function == "get_closest_pid"
        message = CLOSEST_MESSAGE if closest else MESSAGE
        fix = moved.get(item.call)
        yield context.finding(RULE, node, message, fix=fix)


def _unguarded_calls(context: Context) -> Iterator[_Call]:
    guarded_attributes = None
    for captures in context.remote_calls({":pg2"}):
        call = captures["call"][0]
        if guarded_attributes is None:
            guarded_attributes = _attributes_checking_pg(context)
        if not _guarded(call, guarded_attributes):
            function = syntax.text(captures["function"][0])
            yield _Call(call, calls.site(call), function)


def _attributes_checking_pg(context: Context) -> frozenset[str]:
    """Module attributes set from a `:pg` check (``@has_pg Code.ensure_loaded?(:pg)``)."""
    names = re.findall(r"^[ \t]*@(\w+)[ \t]+([^\n]*)", context.source.text, re.MULTILINE)
    return frozenset(name for name, value in names if PG_CHECK.search(value))


def _guarded(call: Node, attributes: frozenset[str]) -> bool:
    for parent in syntax.ancestors(call):
        if parent.type != "call" or syntax.local_target(parent) not in GUARDS:
            continue
        block = syntax.do_block(parent)
        conditions: list[Node | None]
        if syntax.local_target(parent) == "cond" and block is not None:
            conditions = [
                clause.child_by_field_name("left")
                for clause in block.named_children
                if clause.type == "stab_clause"
            ]
        else:
            conditions = [*syntax.argument_nodes(parent)[:1]]
        if any(_checks_pg(syntax.text(c), attributes) for c in conditions if c is not None):
            return True
    return False


def _checks_pg(condition: str, attributes: frozenset[str]) -> bool:
    return bool(PG_CHECK.search(condition)) or any(
        re.search(rf"@{name}\b", condition) for name in attributes
    )


# -- the fix: every :pg2 call of the file at once ------------------------------------------


def _move(context: Context, found: list[_Call]) -> dict[Node, Fix]:
    """One fix for the whole file, offered on each call it rewrites. `:pg` and `:pg2` groups
    do not see each other, so moving calls one at a time would split a group between them
    while both modules run (OTP 23): the file moves together, and the fix is unsafe when the
    move cannot be whole (a call with no `:pg` counterpart, another file naming a group these
    may share) or changes what a call does (see `_concerns`)."""
    scope = fixes.pg_scope(context, *(item.call for item in found))
    edits: dict[Node, Edit] = {}
    concerns: list[str] = []
    for item in found:
        edit = _edit(context, item, scope.name)
        if edit is None:
            line = context.source.line_of(context.span(item.site)[0]) + 1
            concerns.append(f":pg2.{item.function} on line {line} has no :pg counterpart")
        else:
            edits[item.call] = edit
            concerns.extend(_concerns(item))
    if not edits:
        return {}
    concerns.extend(_project_concerns(context))
    safety: Safety = "unsafe" if concerns or scope.safety == "unsafe" else "safe"
    app = context.application
    started_in = f" and start the default scope in {app.module}" if app is not None else ""
    note = started_in if scope.edits else scope.note
    title = _with_concerns(_title(found, edits) + note, list(dict.fromkeys(concerns)))
    fix = Fix(title, (*edits.values(), *scope.edits), safety)
    if len(edits) > MOVE_SHOWN_ON_EACH:
        return {next(iter(edits)): fix}
    return dict.fromkeys(edits, fix)


MOVE_SHOWN_ON_EACH = 50
"""Up to this many calls, each carries the file's move (one keystroke on any of them); past
it, only the first: every finding printing every edit would grow with the square of the calls."""


def _title(found: list[_Call], edits: dict[Node, Edit]) -> str:
    if len(found) > 1:
        return f"Move this file's {_calls(len(edits))} to :pg"
    function = found[0].function
    if function in DROPPED:
        action = "Replace" if next(iter(edits.values())).new_text else "Remove"
        return f"{action} :pg2.{function} (:pg groups need no {function})"
    return f"Use :pg.{function}"


CONCERNS_SHOWN = 2
"""A code action's title is read in a menu: the first reasons, and how many more there are."""


def _with_concerns(title: str, concerns: list[str]) -> str:
    """``title`` with the reasons the fix is unsafe (the first `CONCERNS_SHOWN`), in its
    closing parenthesis if it has one."""
    if not concerns:
        return title
    said = "; ".join(concerns[:CONCERNS_SHOWN])
    more = len(concerns) - CONCERNS_SHOWN
    if more > 0:
        said += f"; and {more} more reason{'s' if more > 1 else ''} to check"
    return f"{title[:-1]}; {said})" if title.endswith(")") else f"{title} ({said})"


def _edit(context: Context, item: _Call, scope: str) -> Edit | None:
    """The call rewritten for `:pg`; None when `:pg` has no counterpart."""
    arity = calls.arity_at(item.call)
    if item.function in RENAMED and RENAMED[item.function] == arity:
        return _rename(context, item.call, item.function, scope)
    if item.function in DROPPED and DROPPED[item.function] == arity:
        return None if syntax.is_capture(item.site) else _drop(context, item.site)
    if SERVER_STARTS.get(item.function) == arity and _is_statement(item.site):
        return _drop(context, item.site)
    return None


def _concerns(item: _Call) -> Iterator[str]:
    """What the rewritten call does differently from the `:pg2` one."""
    if item.function in ("join", "leave"):
        args = calls.arguments(item.call)
        pid = args[1] if len(args) == 2 and not syntax.is_capture(item.site) else None
        if pid is None or syntax.text(pid) != "self()":
            yield f":pg.{item.function} takes local pids only"
    if item.function == "leave" and not _is_statement(item.site):
        yield ":pg.leave returns :not_joined where :pg2 returned :ok"
    if item.function == "delete":
        yield ":pg keeps a deleted group's members until they leave"


def _calls(count: int) -> str:
    return f"{count} :pg2 call" + ("" if count == 1 else "s")


FIRST_ELIXIR_ON_OTP_23 = (1, 14)
"""Elixir 1.14 is the first to require Erlang/OTP 23, the first release with `:pg`."""


def _project_concerns(context: Context) -> Iterator[str]:
    """What the project shows that a move of this one file cannot settle."""
    project = context.project
    shared = _shared_with(context)
    if shared is not None:
        yield shared
    if project.path_dependencies:
        yield "Mix projects beside this one may use these groups through :pg2: move them too"
    if project.cluster_dependency is not None:
        yield (
            f"the app runs in a cluster ({project.cluster_dependency}): every node must move "
            "to :pg at once"
        )
    lowest = project.lowest_elixir_for(context.path)
    if project.mix_text is None:
        yield ":pg needs OTP 23 or later, and no mix.exs says which Elixir the app runs on"
    elif lowest is None or lowest < FIRST_ELIXIR_ON_OTP_23:
        allowed = f"Elixir {lowest[0]}.{lowest[1]}" if lowest else "any Elixir"
        yield f":pg needs OTP 23 or later, and mix.exs admits {allowed}, which runs on OTP 22"


def _shared_with(context: Context) -> str | None:
    """Another file of the project that calls `:pg2` on a group this file's calls name (or
    may name: the tool cannot tell), by its path from the project's root."""
    own = os.path.abspath(context.path) if context.path is not None else None
    others = ((path, summary.pg2_calls) for path, summary in context.summaries())
    sharing = groups.sharing_file(own, context.summary.pg2_calls, others)
    if sharing is None:
        return None
    path = context.shown_path(sharing.path)
    if sharing.certain:
        return f"{path} calls :pg2 on the same group: move it too"
    return f"{path} calls :pg2 on groups the tool cannot tell apart from these: check them"


def _rename(context: Context, call: Node, function: str, scope: str) -> Edit | None:
    if scope == fixes.DEFAULT_PG_SCOPE:
        target = call.child_by_field_name("target")
        module = target.child_by_field_name("left") if target is not None else None
        if module is None:
            return None
        start, end = context.span(module)
        return Edit(start, end, ":pg")
    arities = frozenset({RENAMED[function]})
    edit = fixes.rewrite_call(context, call, f":pg.{function}", [scope], arities)
    if edit is None and not syntax.argument_nodes(call) and not calls.is_piped(call):
        start, end = context.span(call)
        edit = Edit(start, end, f":pg.{function}({scope})")
    return edit


def _drop(context: Context, site: Node) -> Edit:
    """Remove the statement, or make its value ``:ok`` where the value is used."""
    statement = site
    parent = site.parent
    if (
        parent is not None
        and parent.type == "binary_operator"
        and syntax.operator(parent) == "="
        and parent.child_by_field_name("right") == site
        and _ignores_value(parent.child_by_field_name("left"))
    ):
        statement = parent
    if _is_statement(statement):
        start, end = context.span(statement)
        removal = syntax.removal_span(context.source.text, start, end)
        if removal is not None:
            return Edit(removal[0], removal[1], "")
    start, end = context.span(site)
    return Edit(start, end, ":ok")


def _ignores_value(pattern: Node | None) -> bool:
    """``:ok = ...`` or ``_ = ...``: a match that binds nothing."""
    if pattern is None:
        return False
    value = syntax.text(pattern)
    return value == ":ok" or (pattern.type == "identifier" and value.startswith("_"))


BODIES = frozenset({"do_block", "body", "block", "source"})


def _is_statement(node: Node) -> bool:
    """An expression whose value nobody uses: in a body, and not its last expression."""
    parent = node.parent
    if parent is None or parent.type not in BODIES:
        return False
    if parent.type == "source":
        return True
    last = syntax.last_statement(parent)
    return last is not None and last != node


RULE = Rule(
    code="OTP301",
    name="pg2",
    severity="error",
    summary=":pg2 call: the module was removed in OTP 24; use :pg",
    doc=DOC,
    check=check,
    words=("pg2",),
    fixable=True,
)
