"""OTP105 supervisor-not-started: a Task.Supervisor, Registry or `:pg` scope used by a name that
no file of the project starts."""

from __future__ import annotations

from collections.abc import Iterator

from otp_thinking import syntax
from otp_thinking.context import Context
from otp_thinking.findings import Finding, Fix, Safety
from otp_thinking.fixes import child_edit, users_of
from otp_thinking.model.summary import NameUse
from otp_thinking.model.supervision import DEFAULT_PG_SCOPE, PG, REGISTRY, TASK_SUPERVISOR
from otp_thinking.rule import Rule

DOC = """\
## What it flags
A process used by name that nothing in the project starts, found by reading the whole project
(umbrella apps included):

- the supervisor of `Task.Supervisor.async_nolink/start_child/async_stream_nolink` (and
  `async`, `async_stream`);
- the Registry of a `{:via, Registry, {Name, key}}` tuple, or of a `Registry.register/lookup/
  dispatch/…` call;
- the scope of a `:pg` call that names one (`:pg.join(scope, group, pid)`, `:pg.get_members(
  scope, group)`, …).

A name counts as started when any file of the project starts it, in any spelling: a `name:`
option (a child spec, a wrapper's `child_spec`, a `start_link`, a `start_supervised!` in a test
helper), a positional `Registry.start_link(:unique, Name)` or its `%{start: {Registry,
:start_link, [:unique, Name]}}` child, a `:pg` scope; or when it is a module of the project (a
wrapper that starts itself).

A `name:` option computed at run time counts for every literal name inside it
(`name: Keyword.get(opts, :name, MyApp.Tasks)` starts `MyApp.Tasks` as far as this rule knows).

Not flagged: a use in the body of a `try` or a function that rescues or catches
(`Registry.count(Name)` rescued to a counter of its own): the code expects the process may be
missing; any name of a kind the project also starts under a name the tool cannot read
(`{Task.Supervisor, name: Config.tasks()}`, `Registry.start_link(:unique, name)`, a child spec in
a `__using__` macro with `name: unquote(..)`): that may be the very name used; names computed at
run time at the use site (`Task.Supervisor.async_nolink(sup, …)`,
a via tuple built from a variable); names outside the project's namespaces (a dependency starts
them); the default `:pg` scope (the kernel can start it from configuration); tests, `.exs` scripts
and Mix tasks. Nor in a project whose mix.exs depends on another Mix project by `path:` (a tool
or a demo built on the library beside it), or that one depends on: that application, which the
tool does not index with this one, may start the name. While the project index is still being
built, nothing is reported.

## Why it matters
A named process that is never started makes every call on it exit with `:noproc` (or raise
`ArgumentError: unknown registry`). The code compiles, unit tests that start the process
themselves pass, and the failure shows up in production on the first request that takes the
path. It usually happens when the call is written in one file and the child spec is forgotten in
the application module, or lost in a refactoring.

## Example
```elixir
# lib/shop/prices.ex
Task.Supervisor.async_nolink(Shop.TaskSupervisor, fn -> fetch(sku) end)

# lib/shop/application.ex: no {Task.Supervisor, name: Shop.TaskSupervisor} among the children
children = [Shop.Repo, ShopWeb.Endpoint]
```

Start it with the rest of the application:

```elixir
children = [
  {Task.Supervisor, name: Shop.TaskSupervisor},
  Shop.Repo,
  ShopWeb.Endpoint
]
```

## Fix
Adds the child to the application's children list after the infrastructure its users may need
(Repo, PubSub, Finch, Telemetry) and before the first child that uses it, so it starts before
(and stops after) the processes that use it: `{Task.Supervisor, name: Name}`,
`{Registry, keys: :unique, name: Name}` (for a Registry used only through `dispatch` you may want
`keys: :duplicate`: the fix is then marked unsafe) or
`%{id: scope, start: {:pg, :start_link, [scope]}}`. No fix when the project has no application
module, or its children are chosen in a branch or built at run time: start the process in your
own supervision tree.
"""

MESSAGES = {
    TASK_SUPERVISOR: (
        "No supervision tree in the project starts the Task.Supervisor {name}, so this call "
        "exits with :noproc; add {child} to the application's children."
    ),
    REGISTRY: (
        "No supervision tree in the project starts the Registry {name}, so using it fails "
        "with :noproc or an unknown-registry error; add {child} to the application's children."
    ),
    PG: (
        "No supervision tree in the project starts the :pg scope {name}, so this call exits "
        "with :noproc; add {child} to the application's children."
    ),
}


def check(context: Context) -> Iterator[Finding]:
    index = context.project.index
    if not index.complete or context.project.path_dependencies:
        return  # still indexing, or applications outside the tool's view run beside this one
    here = {start.name for start in context.summary.supervision.names}
    for use in context.summary.uses:
        if use.name == DEFAULT_PG_SCOPE or use.name in here:
            continue  # the default scope (the kernel may start it), or started in this file
        if index.facts.names.is_started(use.kind, use.name) is not False:
            continue  # started, or the tool cannot tell
        if _handled(context, use):
            continue
        child = child_spec(use)
        message = MESSAGES[use.kind].format(name=use.name, child=child)
        yield Finding(
            RULE.code,
            RULE.name,
            RULE.severity,
            message,
            use.start,
            use.end,
            _fix(context, use, child),
            {"name": use.name, "kind": use.kind},
        )


def _handled(context: Context, use: NameUse) -> bool:
    """The use is in the body of a ``try`` that rescues or catches: the code expects the
    process may be missing and falls back (``Registry.count(Name)`` rescued to a counter)."""
    source = context.source
    start, end = source.offset_to_byte(use.start), source.offset_to_byte(use.end)
    node = context.root.descendant_for_byte_range(start, end)
    return node is not None and syntax.rescued(node)


def child_spec(use: NameUse) -> str:
    if use.kind == TASK_SUPERVISOR:
        return f"{{Task.Supervisor, name: {use.name}}}"
    if use.kind == REGISTRY:
        return f"{{Registry, keys: :unique, name: {use.name}}}"
    return f"%{{id: {use.name}, start: {{:pg, :start_link, [{use.name}]}}}}"


def _fix(context: Context, use: NameUse, child: str) -> Fix | None:
    app = context.application
    if app is None:
        return None
    edit = child_edit(context, app, child, users_of(context, use.name, use.module))
    if edit is None:
        return None
    safety: Safety = "unsafe" if use.kind == REGISTRY and not use.via else "safe"
    return Fix(f"Start {child} in {app.module}", (edit,), safety)


RULE = Rule(
    code="OTP105",
    name="supervisor-not-started",
    severity="warning",
    summary="a Task.Supervisor, Registry or :pg scope used by a name no supervision tree starts",
    doc=DOC,
    check=check,
    words=("Supervisor", "Registry", "pg"),
    production_only=True,
    fixable=True,
    project_files=lambda summary: bool(summary.uses),
)
