"""OTP301 pg2: `:pg2` was removed in OTP 24; `:pg` replaces it."""

from __future__ import annotations

import re
from collections.abc import Iterator

from tree_sitter import Node

from otp_thinking import fixes, syntax
from otp_thinking.context import Context
from otp_thinking.findings import Edit, Finding, Fix, Safety
from otp_thinking.model import calls
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
Rewrites `:pg2.join/2`, `leave/2`, `get_members/1`, `get_local_members/1` and `which_groups/0`
to the same functions of `:pg` (same arguments: they act on the default scope). `:pg2.create/1`
has no counterpart (groups exist while they have members): a `create` statement is removed, and
when its value is used it becomes `:ok`. When the application does not start the default scope
yet, the same fix adds `%{id: :pg, start: {:pg, :start_link, []}}` to its children, after the
infrastructure and before the first child that uses it (in an umbrella, or a project that
depends on sibling Mix projects by `path:` and runs on a node with them, the default scope
must be started once per node: the fix is unsafe and leaves that to you). With
`[names] pg_scope = "MyApp.PG"` the fix uses that scope instead (`:pg.join(MyApp.PG, group,
pid)`), which you start yourself.

Unsafe: removing a `create` from a file that makes other `:pg2` calls (each call is its own
fix; a `:pg2.join/2` left after its group's `create` is gone fails where `:pg2` still runs),
`:pg2.delete/1` (removed the same way, but `:pg` keeps the members joined until they
leave or exit), `leave/2` whose result is used (`:pg.leave/2` returns `:not_joined` where `:pg2`
returned `:ok`), and any rewrite when no application module was found to start the scope in.
No automatic fix for `get_closest_pid/1`, which `:pg` lacks: pick a member of
`:pg.get_members/1` yourself (for example a local one from `get_local_members/1` first).
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
GUARDS = frozenset({"if", "unless", "case", "cond"})
PG_CHECK = re.compile(r"(ensure_loaded\?|ensure_compiled\??|function_exported\?)\(\s*:pg\s*[,)]")


def check(context: Context) -> Iterator[Finding]:
    guarded_attributes = None
    for captures in context.remote_calls({":pg2"}):
        call = captures["call"][0]
        if guarded_attributes is None:
            guarded_attributes = _attributes_checking_pg(context)
        if _guarded(call, guarded_attributes):
            continue
        site = calls.site(call)
        node = site if syntax.is_capture(site) else call
        function = syntax.text(captures["function"][0])
        message = CLOSEST_MESSAGE if function == "get_closest_pid" else MESSAGE
        yield context.finding(RULE, node, message, fix=_fix(context, call, site, function))


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


def _fix(context: Context, call: Node, site: Node, function: str) -> Fix | None:
    arity = calls.arity_at(call)
    if function in RENAMED and RENAMED[function] == arity:
        return _rename(context, call, site, function)
    if function in DROPPED and DROPPED[function] == arity and not syntax.is_capture(site):
        safety: Safety = "unsafe" if function == "delete" else "safe"
        edit = _drop(context, site)
        action = "Replace" if edit.new_text else "Remove"
        title = f"{action} :pg2.{function} (:pg groups need no {function})"
        if _other_pg2_calls(context, call):
            # `:pg2.join` after it fails where :pg2 still exists: `{:error, {:no_such_group, _}}`
            safety = "unsafe"
            title += " (move the file's other :pg2 calls to :pg with it)"
        return Fix(title, (edit,), safety)
    return None


def _other_pg2_calls(context: Context, call: Node) -> bool:
    """Another ``:pg2`` call in the file: removing a ``create`` alone would break it where
    ``:pg2`` still runs, so the removal is only safe with the whole file moved to ``:pg``."""
    return any(c["call"][0] != call for c in context.remote_calls({":pg2"}))


def _rename(context: Context, call: Node, site: Node, function: str) -> Fix | None:
    scope = fixes.pg_scope(context, call)
    if scope.name == fixes.DEFAULT_PG_SCOPE:
        target = call.child_by_field_name("target")
        module = target.child_by_field_name("left") if target is not None else None
        if module is None:
            return None
        start, end = context.span(module)
        edit: Edit | None = Edit(start, end, ":pg")
    else:
        arities = frozenset({RENAMED[function]})
        edit = fixes.rewrite_call(context, call, f":pg.{function}", [scope.name], arities)
        if edit is None and not syntax.argument_nodes(call) and not calls.is_piped(call):
            start, end = context.span(call)
            edit = Edit(start, end, f":pg.{function}({scope.name})")
    if edit is None:
        return None
    safety = scope.safety
    if function == "leave" and not _is_statement(site):
        safety = "unsafe"
    if scope.edits:
        note = f" and start the default scope in {context.application.module}"  # type: ignore[union-attr]
    else:
        note = scope.note
    return Fix(f"Use :pg.{function}{note}", (edit, *scope.edits), safety)


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
    siblings = [
        c for c in parent.named_children if c.type != "comment" and not c.type.endswith("_block")
    ]
    return bool(siblings) and siblings[-1] != node


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
