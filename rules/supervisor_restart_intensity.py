"""OTP501 supervisor-restart-intensity: one default restart budget shared by per-entity children."""

from __future__ import annotations

from collections.abc import Iterator

from otp_thinking.context import Context
from otp_thinking.findings import Finding
from otp_thinking.model import supervision
from otp_thinking.model.modules import is_supervisor_use
from otp_thinking.model.summary import FileSummary, ModuleSummary
from otp_thinking.model.supervision import DynamicStart, DynamicSupervisorDef, RestartedChild
from otp_thinking.rule import Rule

DOC = """\
## What it flags
A `DynamicSupervisor` left at the default restart intensity (no `max_restarts` or
`max_seconds` in its options) whose children are started at run time, one per entity (a
tenant, a source, a device), and are restarted when they crash:

- the supervisor is a `use DynamicSupervisor` module whose `DynamicSupervisor.init/1` sets no
  intensity, a `{DynamicSupervisor, name: ...}` child spec, `DynamicSupervisor.start_link(name:
  ...)`, or a `PartitionSupervisor` whose partitions are such DynamicSupervisors
  (`child_spec: DynamicSupervisor`);
- somewhere in the project, `DynamicSupervisor.start_child/2` starts a child under that name
  (also `{:via, PartitionSupervisor, {name, key}}`) from a spec that carries a run-time value
  (`{MyApp.TenantWorker, tenant_id}`);
- the child is `:permanent` or `:transient`: set by the spec (`%{restart: ...}`,
  `Supervisor.child_spec(.., restart: ...)`) or by the child module, in any file
  (`use GenServer` makes `:permanent` children, `use GenServer, restart: :transient`).

The message names the `start_child` call, the child module and where its restart type is written.

As a warning, on the child's `use GenServer`: a `:permanent` server the project starts with
`DynamicSupervisor.start_child` that ends itself with a normal exit, `{:stop, :normal, ...}`
or `{:stop, :shutdown, ...}` returned by a callback (or by a helper a callback returns).
`:permanent` restarts a child whatever its exit reason, so the supervisor starts it again every
time it stops, each restart counting against its budget however it is set; once spent, the
supervisor gives up and stops every other child. `restart: :transient` is what it wants.

Not flagged:
- supervisors whose options set `max_restarts` or `max_seconds`, or are built at run time;
- children started `restart: :temporary` (never restarted, they cannot use up the budget),
  `:transient` supervisors (one that gives up exits with `:shutdown`, which `:transient` does
  not restart), and
  children whose restart type the code does not show (a hand-written `child_spec/1` without a
  literal `restart:`, a spec held in a parameter): the tool stays silent when it cannot know;
- children a spec map starts with a function of their own module that starts them unlinked
  (`start: {Counter.Digit, :start, [..]}` where `start/3` returns `Agent.start(..)`): the
  supervisor never sees them exit, so it neither restarts them nor counts their crashes;
- static supervisors (`Supervisor.init(children, ...)`): a fixed set of children at the default
  intensity is the usual, deliberate choice;
- children keyed by values every caller passes as constants: the function that starts them
  is called only from other modules of the project, each call passing a constant (a
  literal, a module attribute) for every value that names a child
  (`start_session(@default_session, uri: uri)`), so there are at most as many children as
  such calls;
- children of which only one can run at a time: the child, or a child of its supervisor,
  registers under a fixed name (`name: __MODULE__`), so a second start fails with
  `already_started` and the children are not one per entity;
- tests, `.exs` scripts and Mix tasks (`use Mix.Task`, or named under `Mix.Tasks.`).

The budget finding is a hint: it asks for a decision, not a change.

## Why it matters
A supervisor restarts crashed children only so often: more than `max_restarts` restarts within
`max_seconds` (by default 3 in 5 seconds) and it gives up, terminates every child and exits. For
a DynamicSupervisor that budget is shared by all its children: with one child per tenant, a
single tenant whose process crashes four times in five seconds (a bad credential, a remote
that refuses connections) takes down every other tenant's process too, and the failure climbs
to the parent supervisor.

Size the budget for the number of children (`max_restarts` grows with them), or make the
children `:temporary` and restart them yourself with a backoff, or isolate flapping entities
(a supervisor per entity, a circuit breaker).

## Example
```elixir
defmodule MyApp.TenantSupervisor do
  use DynamicSupervisor

  def start_tenant(id), do: DynamicSupervisor.start_child(__MODULE__, {MyApp.Tenant, id})

  def init(_arg), do: DynamicSupervisor.init(strategy: :one_for_one)
end
```

```elixir
def init(_arg),
  do: DynamicSupervisor.init(strategy: :one_for_one, max_restarts: 100, max_seconds: 5)
```

## Fix
No automatic fix: the right budget depends on how many children there are and how they fail.
Decide how many restarts in how many seconds the supervisor absorbs, and add `max_restarts:`
and `max_seconds:` to its options (or make the children `restart: :temporary`).
"""

WHAT = {
    supervision.INIT: "This DynamicSupervisor",
    supervision.START_LINK: "This DynamicSupervisor",
    supervision.SPEC: "This DynamicSupervisor",
    supervision.PARTITION: "Each DynamicSupervisor of this PartitionSupervisor",
}

MESSAGE = (
    "{what} keeps the default restart intensity (3 restarts in 5 seconds) for all its children "
    "together, and {evidence}: 4 crashes among them in 5 seconds, of one child or of several, "
    "make it give up, stopping all the others with it (however many it holds then); set "
    "max_restarts and max_seconds for the number of children it can hold, or start them "
    "restart: :temporary when a restarted child could not work anyway (its socket or its "
    "caller gone)."
)


def check(context: Context) -> Iterator[Finding]:
    definitions = [d for d in context.summary.supervision.dynamic_supervisors if not d.intensity]
    stopping = [m for m in context.summary.modules if _stops_but_restarted(m)]
    if not definitions and not stopping:
        return
    summaries = list(context.summaries())
    if stopping:
        yield from _restarted_after_stopping(context, stopping, summaries)
    if not definitions:
        return
    modules: dict[str, ModuleSummary] = {m.name: m for _p, s in summaries for m in s.modules}
    starts = [
        (path, start)
        for path, s in summaries
        if not s.short_lived
        for start in s.supervision.dynamic_starts
        if not (start.owner in modules and modules[start.owner].short_lived)
    ]

    def restart_of(name: str) -> tuple[str | None, str]:
        module = modules.get(name)
        return (module.restart, module.restart_from) if module is not None else (None, "")

    def registers(name: str) -> tuple[str, ...]:
        module = modules.get(name)
        return module.registers if module is not None else ()

    lists = [children for _p, s in summaries for children in s.supervision.lists]
    for definition in definitions:
        names = supervision.supervisor_names(definition, (s.supervision for _p, s in summaries))
        children = [
            child
            for child in supervision.restarted_children(names, starts, restart_of)
            if not supervision.single_instance(child.start.module or "", registers, lists)
            and not _gives_up_quietly(child, modules)
            and not _told_apart(child, modules)
            and not _started_unlinked(child, modules)
            and not _keyed_by_constants(child.start, summaries)
        ]
        if children:
            yield _finding(context, definition, children)


def _gives_up_quietly(child: RestartedChild, modules: dict[str, ModuleSummary]) -> bool:
    """A `:transient` supervisor: when its own children use up its budget it exits with
    `:shutdown`, which `:transient` does not restart, so it never counts against this one."""
    module = modules.get(child.start.module or "")
    return child.restart == ":transient" and module is not None and is_supervisor_use(module.uses)


def _started_unlinked(child: RestartedChild, modules: dict[str, ModuleSummary]) -> bool:
    """The spec starts the child with a function of its module that starts it unlinked
    (``{Digit, :start, [..]}`` where ``start`` is an ``Agent.start``): the supervisor never
    sees the child exit, so it neither restarts it nor counts its crashes."""
    module = modules.get(child.start.module or "")
    function = child.start.start_function
    return module is not None and function is not None and function in module.unlinked_starts


def _keyed_by_constants(start: DynamicStart, summaries: list[tuple[str, FileSummary]]) -> bool:
    """The function that starts the children is called only from other modules of the
    project, each call passing a constant for every value that names a child
    (``start_session(@default_session, uri: uri)``): there are at most as many children as
    such calls, not one per entity."""
    named = [
        position
        for value, position in zip(start.entities, start.entity_parameters, strict=False)
        if not _generic(value)
    ]
    if not named or -1 in named or start.called_locally or not start.function:
        return False
    function = start.function.split("/", 1)[0]
    sites = [
        call
        for _path, summary in summaries
        if not summary.short_lived
        for call in summary.calls
        if call.target == start.owner and call.function == function
    ]
    return bool(sites) and all(set(named) <= set(call.constants) for call in sites)


def _told_apart(child: RestartedChild, modules: dict[str, ModuleSummary]) -> bool:
    """The child gets the warning of its own (`_restarted_after_stopping`): it spends the
    budget every time it stops, crash or not."""
    module = modules.get(child.start.module or "")
    return (
        module is not None
        and _stops_but_restarted(module)
        and bool(_permanent_by_default(child.start, module))
    )


def _stops_but_restarted(module: ModuleSummary | None) -> bool:
    return module is not None and module.restart == ":permanent" and bool(module.stops_normally)


STOP_MESSAGE = (
    "{module} ends itself with a normal exit ({stop}) but is :permanent ({declared}), and "
    "{caller} ({where}) starts it under a DynamicSupervisor: the supervisor starts it again "
    "every time it stops, each restart counting against {budget}, and once the budget is "
    "spent it gives up, stopping every other child with it; make it restart: :transient, "
    "which restarts it only when it crashes."
)


def _restarted_after_stopping(
    context: Context,
    stopping: list[ModuleSummary],
    summaries: list[tuple[str, FileSummary]],
) -> Iterator[Finding]:
    """Servers of this file that stop themselves normally, `:permanent`, and that the project
    starts with `DynamicSupervisor.start_child`: each normal stop is a restart."""
    for module in stopping:
        started = next(
            (
                (path, start, declared)
                for path, summary in summaries
                if not summary.short_lived
                for start in summary.supervision.dynamic_starts
                if start.module == module.name
                and start.start_function not in module.unlinked_starts
                for declared in [_permanent_by_default(start, module)]
                if declared
            ),
            None,
        )
        if started is None:
            continue
        path, start, declared = started
        caller = f"{start.owner}.{start.function}" if start.function else start.owner
        message = STOP_MESSAGE.format(
            module=module.name,
            stop=module.stops_normally,
            declared=declared,
            caller=caller,
            where=f"{context.shown_path(path)}:{start.line}",
            budget=_budget(start, summaries),
        )
        related = ((path, start.start, start.end, f"starts {module.name}"),)
        yield Finding(
            RULE.code,
            RULE.name,
            "warning",
            message,
            module.use_start,
            module.use_end,
            None,
            {},
            related,
        )


def _budget(start: DynamicStart, summaries: list[tuple[str, FileSummary]]) -> str:
    """The restart budget of the supervisor ``start`` starts its child under, as far as the
    project shows it."""
    supervisions = [summary.supervision for _path, summary in summaries]
    for facts in supervisions:
        for definition in facts.dynamic_supervisors:
            if start.supervisor in supervision.supervisor_names(definition, supervisions):
                if definition.intensity:
                    return "the budget its options set"
                return "its budget (3 restarts in 5 seconds, the default)"
    return "its budget (3 restarts in 5 seconds by default)"


def _permanent_by_default(start: DynamicStart, module: ModuleSummary) -> str:
    """Where the child's `:permanent` comes from when nobody chose it (``the default of use
    GenServer``, of a spec map without `:restart`); empty when the spec or the module sets a
    restart type itself: a server that stops itself to be started again (a reconnect) may be
    `:permanent` on purpose."""
    if start.restart is not None:
        default = start.restart == ":permanent" and start.restart_default
        return "the default of a child spec map without :restart" if default else ""
    if start.own_spec:
        return ""  # the module's own child_spec/N (`child_spec(id, uri)`) chose
    return module.restart_from if module.restart_from.startswith("the default") else ""


def _finding(
    context: Context, definition: DynamicSupervisorDef, children: list[RestartedChild]
) -> Finding:
    first = children[0]
    evidence = _evidence(context, first)
    others = len({(c.path, c.start.start) for c in children}) - 1
    if others:
        evidence += f" (and {others} more start_child call{'s' if others > 1 else ''})"
    message = MESSAGE.format(what=WHAT[definition.how], evidence=evidence)
    related = tuple(
        (c.path, c.start.start, c.start.end, f"starts {c.start.module} ({c.restart})")
        for c in children
    )
    return Finding(
        RULE.code,
        RULE.name,
        RULE.severity,
        message,
        definition.start,
        definition.end,
        None,
        {},
        related,
    )


def _evidence(context: Context, child: RestartedChild) -> str:
    start: DynamicStart = child.start
    where = f"{context.shown_path(child.path)}:{start.line}"
    caller = f"{start.owner}.{start.function}" if start.function else start.owner
    named = [value for value in start.entities if not _generic(value)]
    if start.keyed_by_all and len(named) == len(start.entities):
        each = f"for each {{{', '.join(named)}}} it is given"  # `{ifname, address}`
    else:  # the first value names the child; the others are what it is started with
        each = f"for each {named[0]} it is given" if named else "per call"
    return (
        f"{caller} ({where}) starts one {start.module} {each} with "
        f"DynamicSupervisor.start_child, restarted when it crashes ({child.restart}, "
        f"{child.declared})"
    )


_GENERIC_VALUES = ("opts", "options", "args", "arg", "arguments", "params", "config")
"""Values too generic to name what a child stands for ("for each opts", "for each
server_args": `Keyword.put_new(server_args, :person_uuid, person_uuid)` is one per person)."""


def _generic(value: str) -> bool:
    return value in _GENERIC_VALUES or value.endswith(tuple("_" + g for g in _GENERIC_VALUES))


RULE = Rule(
    code="OTP501",
    name="supervisor-restart-intensity",
    severity="hint",
    summary="A DynamicSupervisor at the default restart intensity restarting per-entity children",
    doc=DOC,
    check=check,
    words=("DynamicSupervisor", ":stop"),
    production_only=True,
    project_files=lambda summary: (
        any(not d.intensity for d in summary.supervision.dynamic_supervisors)
        or any(_stops_but_restarted(module) for module in summary.modules)
    ),
)
