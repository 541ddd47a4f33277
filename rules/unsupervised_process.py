"""OTP103 unsupervised-process: `Task.start` and `spawn` start processes no supervisor knows."""

from __future__ import annotations

from collections.abc import Iterator

from tree_sitter import Node

from otp_thinking import fixes, syntax
from otp_thinking.context import Context
from otp_thinking.findings import Finding, Fix
from otp_thinking.parsing import compile_query
from otp_thinking.rule import Rule

DOC = """\
## What it flags
Processes started outside any supervisor in production code: `Task.start/1,3` (call, pipe,
capture), Kernel's `spawn/1,3` (`spawn(fn -> ... end)`, `Kernel.spawn`, `spawn(Mod, :fun,
args)`), `:erlang.spawn/1,3` and `Process.spawn/2,4`.

Not flagged: tests, `.exs` scripts, `use Mix.Task` modules and `Mix.*` modules (short-lived
code); `spawn_link` and `Process.spawn(..., [:link])`, whose process lives and dies with its
parent (linking inside OTP special processes is out of this rule's scope); a local `spawn` in a
module that defines its own `spawn` function; the body of a function that is itself named
`spawn`/`spawn_*` or a `start*` function returning `{:ok, spawn(...)}` (a wrapper: the process
really starts where it is called); watcher processes whose function monitors another
process (`spawn(fn -> Process.monitor(pid) ... end)`, directly or through one local function):
reapers and enforcers that live exactly as long as what they watch; remote spawns on
another node (`:erlang.spawn/2,4`, `Node.spawn`).

## Why it matters
A process nobody supervises is invisible to the application. When the application stops, the
process is not part of the orderly shutdown: it is killed wherever it is, halfway through
writing a file or sending an email. When it crashes, no supervisor logs a report or restarts
it, and nothing can list or wait for it. Use `Task.Supervisor.start_child/2` for
fire-and-forget work: the supervisor gives each task time to finish on shutdown (5 seconds by
default, `:shutdown` option) and reports its crashes.

## Example
```elixir
def handle_cast({:welcome, user}, state) do
  Task.start(fn -> Mailer.deliver(user) end)
  {:noreply, state}
end
```

Start it under the application's `Task.Supervisor`:

```elixir
def handle_cast({:welcome, user}, state) do
  Task.Supervisor.start_child(MyApp.TaskSupervisor, fn -> Mailer.deliver(user) end)
  {:noreply, state}
end
```

## Fix
For `Task.start`: rewrites `Task.start(fun)` to `Task.Supervisor.start_child(Sup, fun)` and
`Task.start(Mod, :fun, args)` to `Task.Supervisor.start_child(Sup, Mod, :fun, args)` (pipes and
captures included), where `Sup` is the `Task.Supervisor` your application starts (one whose
namespace encloses the calling module: `MyApp.Tasks`, or `MyApp.Mailer.Tasks` for
`MyApp.Mailer.Worker`; another part's, such as `MyApp.Analytics.Tasks`, is borrowed only when the
children are no literal list a new one could join). When it starts none that fits, the same fix adds
`{Task.Supervisor, name: MyApp.TaskSupervisor}` to the application's children, after the
infrastructure and before the first child that uses it. Both return
`{:ok, pid}` and neither links the task to the caller, so the fix is safe; it is unsafe only when no
application module was found to start the supervisor in.

No automatic fix for `spawn`: decide what the process is. Fire-and-forget work becomes
`Task.Supervisor.start_child(MyApp.TaskSupervisor, fun)`; a long-lived process that holds state
or receives messages becomes a `GenServer` (or a `Task` child) in a supervision tree, started
with `DynamicSupervisor.start_child/2` when there are many.

Configure the supervisor's name with `[names] task_supervisor = "MyApp.TaskSupervisor"`.
"""

QUERY = compile_query(
    """
    (call target: (dot left: (alias) @module right: (identifier) @function)
      (#eq? @module "Task") (#eq? @function "start")) @task_start
    (call target: (identifier) @function (#eq? @function "spawn")) @spawn
    (call target: (dot left: (_) @module right: (identifier) @function)
      (#match? @module "^(Kernel|:erlang)$") (#eq? @function "spawn")) @spawn
    (call target: (dot left: (alias) @module right: (identifier) @function)
      (#eq? @module "Process") (#eq? @function "spawn")) @process_spawn
    """
)

TASK_START_MESSAGE = (
    "Task.start runs the task outside any supervisor, so shutdown kills it mid-work and its "
    "crash goes unreported; start it with Task.Supervisor.start_child/2 instead."
)
SPAWN_MESSAGE = (
    "spawn starts a process outside any supervisor, so shutdown kills it mid-work and its crash "
    "goes unreported; run it with Task.Supervisor.start_child/2 or as a supervised child instead."
)

ARITIES = {"task_start": frozenset({1, 3}), "spawn": frozenset({1, 3})}
PROCESS_SPAWN_ARITIES = frozenset({2, 4})


def check(context: Context) -> Iterator[Finding]:
    for captures in context.matches(QUERY):
        kind, call = next((k, captures[k][0]) for k in KINDS if k in captures)
        site = syntax.call_site(call)
        if not _flagged(context, kind, call, site):
            continue
        node = site if syntax.is_capture(site) else call
        if kind == "task_start":
            yield context.finding(RULE, node, TASK_START_MESSAGE, fix=_fix(context, call))
        else:
            yield context.finding(RULE, node, SPAWN_MESSAGE)


KINDS = ("task_start", "spawn", "process_spawn")


def _flagged(context: Context, kind: str, call: Node, site: Node) -> bool:
    arity = _arity(call, site)
    if kind == "process_spawn":
        if arity not in PROCESS_SPAWN_ARITIES or _links(call):
            return False
    elif arity not in ARITIES[kind]:
        return False
    if syntax.in_mix_module(call) or _inside_wrapper(call):
        return False
    if kind != "task_start" and _watcher(call):
        return False
    return not (kind == "spawn" and syntax.local_target(call) and _defines_spawn(call))


def _arity(call: Node, site: Node) -> int | None:
    if syntax.is_capture(site):
        return syntax.capture_arity(site)
    piped = 1 if syntax.is_pipe(site) else 0
    return len(syntax.argument_nodes(call)) + piped


def _links(call: Node) -> bool:
    """``Process.spawn(fun, [:link, ...])``: linked to its parent like ``spawn_link``."""
    args = syntax.argument_nodes(call)
    options = args[-1] if args else None
    if options is not None and options.type == "identifier":
        options = syntax.local_binding(call, syntax.text(options))
    return (
        options is not None
        and options.type == "list"
        and any(syntax.text(item) == ":link" for item in options.named_children)
    )


def _inside_wrapper(call: Node) -> bool:
    """Inside ``def spawn...``, or a start function returning ``{:ok, spawn(...)}``: the
    process really starts where the wrapper is called."""
    definition = syntax.enclosing_definition(call)
    if definition is None:
        return False
    name = syntax.definition_name(definition)
    if name == "spawn" or name.startswith("spawn_"):
        return True
    parent = call.parent
    returns_on_start = (
        parent is not None
        and parent.type == "tuple"
        and syntax.text(parent.named_children[0]) == ":ok"
    )
    return returns_on_start and (name == "start" or name.startswith("start_"))


MONITOR_CALLS = frozenset({("Process", "monitor"), (":erlang", "monitor")})


def _watcher(call: Node) -> bool:
    """A process that monitors another one (a reaper or an enforcer that lives exactly as
    long as what it watches): ``spawn(fn -> Process.monitor(pid) ... end)``,
    also through one local function of the same module."""
    args = syntax.argument_nodes(call)
    fun = args[0] if args else None
    if fun is None or fun.type != "anonymous_function":
        return False
    if _monitors(fun):
        return True
    body = [n for n in syntax.descendants(fun) if n.type == "body"][:1]
    statements = [n for n in body[0].named_children if n.type != "comment"] if body else []
    if len(statements) != 1 or statements[0].type != "call":
        return False
    helper = syntax.local_target(statements[0])
    module = syntax.enclosing_module(call)
    if helper is None or module is None:
        return False
    return any(_monitors(d) for d in syntax.module_definitions(module, helper))


def _monitors(node: Node) -> bool:
    return any(
        n.type == "call" and syntax.remote_target(n) in MONITOR_CALLS
        for n in syntax.descendants(node)
    )


def _defines_spawn(call: Node) -> bool:
    """Whether the module around ``call`` defines (or imports over) its own ``spawn``."""
    module = syntax.enclosing_module(call)
    body = syntax.do_block(module) if module is not None else None
    if body is None:
        return False
    return any(
        syntax.is_definition(child) and syntax.definition_name(child) == "spawn"
        for child in body.named_children
    )


def _fix(context: Context, call: Node) -> Fix | None:
    supervisor = fixes.task_supervisor(context, call)
    edit = fixes.rewrite_call(
        context, call, "Task.Supervisor.start_child", [supervisor.name], ARITIES["task_start"]
    )
    if edit is None:
        return None
    return Fix(
        f"Use Task.Supervisor.start_child on {supervisor.name}{supervisor.note}",
        (edit, *supervisor.edits),
        supervisor.safety,
    )


RULE = Rule(
    code="OTP103",
    name="unsupervised-process",
    severity="information",
    summary="Task.start or spawn in production code: no supervisor, killed mid-work on shutdown",
    doc=DOC,
    check=check,
    words=("Task", "spawn"),
    production_only=True,
    fixable=True,
)
