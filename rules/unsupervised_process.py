"""OTP103 unsupervised-process: `Task.start` and `spawn` start processes no supervisor knows."""

from __future__ import annotations

from collections.abc import Iterator

from tree_sitter import Node

from otp_thinking import fixes, process_state, syntax
from otp_thinking.context import Context
from otp_thinking.findings import Finding, Fix
from otp_thinking.model import calls, clauses, modules, processes
from otp_thinking.parsing import compile_query
from otp_thinking.rule import Rule

DOC = """\
## What it flags
Processes started outside any supervisor in production code: `Task.start/1,3` (call, pipe,
capture; `Elixir.Task.start` too, while a plain `Task.start` under an `alias` that names a
module of the project `Task` calls that module), Kernel's `spawn/1,3` (`spawn(fn -> ... end)`,
`Kernel.spawn`, `spawn(Mod, :fun, args)`), `:erlang.spawn/1,3` and `Process.spawn/2,4`.

Not flagged: tests, `.exs` scripts, Mix tasks (`use Mix.Task`, or named under `Mix.Tasks.`) and
`Mix.*` modules (short-lived code); `spawn_link` and `Process.spawn(..., [:link])`, whose process
lives and dies with its parent (linking inside OTP special processes is out of this rule's scope);
a local `spawn` in a module that defines its own `spawn` function; the body of a function that is
itself named `spawn`/`spawn_*`, a `start*` function returning `{:ok, spawn(...)}`, or a public
`start*` returning what `Task.start` returns (a wrapper, such as an instrumented drop-in for
`Task`: the process really starts where it is called); watcher processes whose function monitors
another process (`spawn(fn -> Process.monitor(pid) ... end)`, directly or through one local
function) or asks whether its starter is alive (`owner = self()`, then `Process.alive?(owner)` in
its loop): reapers, enforcers and progress tickers that live exactly as long as what they watch;
remote spawns on another node (`:erlang.spawn/2,4`, `Node.spawn`); stoppers, processes started only
to stop another one without blocking the caller (`spawn(fn -> GenServer.stop(pid, :normal, 5_000)
end)`, `Task.start(Mod, :shutdown, args)`), and processes that shut down or reboot the node
(`:init.stop/0`, `System.stop/1`, `Nerves.Runtime.reboot/0`, directly or through one local
function, or `spawn(mod, fun, args)` whose `{module, :function, args}` tuples all name a stop):
they must run outside the supervision tree they stop; a `spawn` the same function then waits for in
`receive` (a helper of a synchronous step), or whose function sends its result to its starter
(`caller = self()` before, `send(caller, ...)` inside) while the starter then waits in `receive`,
itself or in a local function it calls (waiters it collects); a start in a function that also
starts work under a `Task.Supervisor` (the fallback for when none runs); a process whose `fn` only
returns a constant (`spawn(fn -> :ok end)`, started for its pid alone: a placeholder that ends at
once); anything started in `terminate/2`, on the way out of a stopping process (a drain, a
hand-over); files under development, benchmark, example or test-app folders (`dev/`, `bench/`,
`examples/`, `test_app/`).

A process whose pid its starter keeps (binds and uses, or gets back from a private helper in
a module that monitors processes and handles their `:DOWN`) is still reported, but the message
says that only the code keeping its pid knows of it, not that nothing can list it.

A `spawn` of a local function that calls itself and serves (an accept or receive loop) gets
its own message: the advice there is a link to its owner, not a Task.Supervisor. A loop that
polls or retries with a sleep is work like any other.

## Why it matters
A process nobody supervises is invisible to the application. When the application stops, the
process is not part of the orderly shutdown: it is not stopped before the processes it uses
(the Repo, a connection pool), so it may fail halfway through writing a file or sending an
email when they go away, or run on until the node halts. When it crashes, the error is logged,
but nothing restarts it, and nothing can list it or wait for it. An unlinked loop is
worse: when the process that started it dies, the loop goes on, serving or spinning for
nobody. Use `Task.Supervisor.start_child/2` for fire-and-forget work: the supervisor stops its
tasks in the application's shutdown order, before the processes started ahead of it (a task
that traps exits gets the `:shutdown` time, 5 seconds by default, to finish), its tasks can be
listed and waited for, and `max_children` bounds how many run at once. Tasks are never
restarted: a process that must be restarted belongs in the tree as a supervised child.

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
infrastructure and before the first child that uses it. Both return `{:ok, pid}` and neither links
the task to the caller, so the fix is safe; it is unsafe when no application module was found to
start the supervisor in, and in the application's `start/2`, which runs before the supervisor is
started.

No automatic fix for `spawn`: decide what the process is. A loop that belongs to its starter
becomes `spawn_link` (or monitors its owner and stops on `:DOWN`). Fire-and-forget work becomes
`Task.Supervisor.start_child(MyApp.TaskSupervisor, fun)`; a long-lived process that holds state
or receives messages becomes a `GenServer` (or a `Task` child) in a supervision tree, started
with `DynamicSupervisor.start_child/2` when there are many.

Configure the supervisor's name with `[names] task_supervisor = "MyApp.TaskSupervisor"`.
"""

QUERY = compile_query(
    """
    (call target: (identifier) @function (#eq? @function "spawn")) @spawn
    (call target: (dot left: (_) @module right: (identifier) @function)
      (#match? @module "^(Kernel|:erlang)$") (#eq? @function "spawn")) @spawn
    (call target: (dot left: (alias) @module right: (identifier) @function)
      (#eq? @module "Process") (#eq? @function "spawn")) @process_spawn
    """
)

TASK_START_MESSAGE = (
    "Task.start runs the task outside any supervisor: {unknown}, and "
    "the application's shutdown does not stop it in order (it may run on after the processes "
    "it uses have stopped); start it with Task.Supervisor.start_child/2 instead."
)
SPAWN_MESSAGE = (
    "{what} starts a process outside any supervisor: {unknown}, and "
    "the application's shutdown does not stop it in order; run it with "
    "Task.Supervisor.start_child/2, or as a supervised child if it must be restarted."
)
NOBODY_KNOWS = "nothing can list it or wait for it"
KEPT = "only the code that keeps its pid knows of it"
"""When the starter binds the pid and uses it (`process_state.pid_kept`): it can watch or stop the
process, so "nothing can list it" would be false."""
LOOP_MESSAGE = (
    "{what} starts {loop}, a loop that calls itself, with no link to the process that started "
    "it: if that process dies, the loop keeps running; use spawn_link, or have the loop monitor "
    "its owner, so it stops with it."
)

ARITIES = {"task_start": frozenset({1, 3}), "spawn": frozenset({1, 3})}
PROCESS_SPAWN_ARITIES = frozenset({2, 4})


def check(context: Context) -> Iterator[Finding]:
    task_starts = [{"task_start": c["call"]} for c in context.remote_calls({"Task"}, {"start"})]
    for captures in [*task_starts, *context.matches(QUERY)]:
        kind, call = next((k, captures[k][0]) for k in KINDS if k in captures)
        site = calls.site(call)
        if not _flagged(context, kind, call, site):
            continue
        node = site if syntax.is_capture(site) else call
        kept = process_state.pid_kept(site) or (
            _returned_to_caller(call) and _monitors_processes(call)
        )
        unknown = KEPT if kept else NOBODY_KNOWS
        if kind == "task_start":
            message = TASK_START_MESSAGE.format(unknown=unknown)
            yield context.finding(RULE, node, message, fix=_fix(context, call))
            continue
        what = syntax.text(call.child_by_field_name("target"))
        loop = processes.serving_loop(call)
        if loop is not None:
            yield context.finding(
                RULE, node, LOOP_MESSAGE.format(what=what, loop=f"{loop}/{_loop_arity(call, loop)}")
            )
        else:
            yield context.finding(RULE, node, SPAWN_MESSAGE.format(what=what, unknown=unknown))


KINDS = ("task_start", "spawn", "process_spawn")


def _flagged(context: Context, kind: str, call: Node, site: Node) -> bool:
    arity = calls.arity_at(call)
    if kind == "process_spawn":
        if arity not in PROCESS_SPAWN_ARITIES or _links(call):
            return False
    elif arity not in ARITIES[kind]:
        return False
    if (
        context.tooling_file
        or modules.in_mix_module(call)
        or _inside_wrapper(call)
        or _in_terminate(call)
    ):
        return False
    if _stopper(call) or _fallback(call) or _does_nothing(call):
        return False
    if kind != "task_start" and (processes.watcher(call) or _awaited(call) or _reports_back(call)):
        return False
    return not (kind == "spawn" and syntax.local_target(call) and _defines_spawn(call))


def _in_terminate(call: Node) -> bool:
    """Inside ``terminate/2``: the process is stopping, and what it starts on the way out
    (a hand-over, a drain) is past the point where it could be supervised from here."""
    definition = syntax.enclosing_definition(call)
    head = clauses.head(definition) if definition is not None else None
    return head is not None and head[0] == "terminate" and len(head[1]) == 2


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
    name = clauses.name(definition)
    if name == "spawn" or name.startswith("spawn_"):
        return True
    if not (name == "start" or name.startswith("start_")):
        return False
    parent = call.parent
    returns_on_start = (
        parent is not None
        and parent.type == "tuple"
        and syntax.text(parent.named_children[0]) == ":ok"
    )
    return returns_on_start or _returned_by_public_start(definition, call)


def _returned_by_public_start(definition: Node, call: Node) -> bool:
    """``def start(fun), do: Task.start(wrap(fun))``: a public ``start`` returning what
    ``Task.start`` returns is a drop-in for it (an instrumented ``Task``), and its callers
    choose how their tasks run."""
    return syntax.local_target(definition) == "def" and _returns(definition, call)


def _returns(definition: Node, node: Node) -> bool:
    """``node`` is what ``definition`` returns (one of its tail expressions)."""
    return any(tail.id == node.id for tail in syntax.tail_expressions(syntax.body_of(definition)))


STOP_CALLS = frozenset(
    {
        ("GenServer", "stop"),
        (":gen_server", "stop"),
        (":gen_statem", "stop"),
        ("Supervisor", "stop"),
        ("DynamicSupervisor", "stop"),
        ("DynamicSupervisor", "terminate_child"),
        ("Supervisor", "terminate_child"),
        ("Agent", "stop"),
        ("Process", "exit"),
    }
)
STOP_WORDS = ("stop", "shutdown", "terminate", "reboot", "halt", "poweroff")
NODE_STOP_CALLS = frozenset(
    {
        (":init", "stop"),
        (":init", "reboot"),
        (":init", "restart"),
        (":erlang", "halt"),
        ("System", "stop"),
        ("System", "halt"),
        ("System", "restart"),
        ("Nerves.Runtime", "reboot"),
        ("Nerves.Runtime", "poweroff"),
        ("Nerves.Runtime", "halt"),
    }
)


def _stopper(call: Node) -> bool:
    """A process started to stop something without blocking the caller, which ends when the
    stop does; there is nothing to supervise: another process stopped with a timeout, errors
    caught (`spawn(fn -> GenServer.stop(pid, :normal, 5_000) end)`, `Task.start(Mod,
    :shutdown, args)`), or the node itself shut down or rebooted, which must run outside the
    supervision tree it stops (a supervised task would be killed halfway)."""
    args = syntax.argument_nodes(call)
    if len(args) == 3 and args[1].type == "atom":
        return _stop_word(args[1])
    if len(args) == 3 and args[1].type == "identifier":
        return _stop_functions_named(call)
    return processes.work_does(call, _stops_something)


def _stop_word(atom: Node) -> bool:
    return any(word in syntax.text(atom) for word in STOP_WORDS)


def _stops_something(node: Node) -> bool:
    return any(
        n.type == "call" and syntax.remote_target(n) in STOP_CALLS | NODE_STOP_CALLS
        for n in syntax.descendants(node)
    )


def _stop_functions_named(call: Node) -> bool:
    """``spawn(mod, fun, args)`` in a function whose ``{module, :function, args}`` tuples all
    name a stop (``{Nerves.Runtime, :reboot, []}``): the variables come from them."""
    definition = syntax.enclosing_definition(call)
    if definition is None:
        return False
    named = [
        n.named_children[1]
        for n in syntax.descendants(definition)
        if n.type == "tuple" and len(n.named_children) == 3 and n.named_children[1].type == "atom"
    ]
    return bool(named) and all(_stop_word(atom) for atom in named)


def _does_nothing(call: Node) -> bool:
    """The process runs an ``fn`` that only returns a constant (``spawn(fn -> :ok end)``): it
    is started for its pid alone (a placeholder), ends at once and does no work to supervise."""
    args = calls.arguments(call)
    statements = syntax.fn_statements(args[0] if args else None)
    return bool(statements) and all(syntax.is_constant(s) for s in statements)


def _fallback(call: Node) -> bool:
    """The function also starts work under a Task.Supervisor: the unsupervised start is the
    fallback for when none runs (`if pid = Process.whereis(sup), do:
    Task.Supervisor.start_child(sup, fun), else: spawn(fun)`, or a clause of its own for a
    `nil` supervisor, `defp run(fun, nil)` beside `defp run(fun, sup)` starting the work on
    `sup`), and the advice is already taken wherever it can be."""
    definition = syntax.enclosing_definition(call)
    if definition is None:
        return False
    return "Task.Supervisor." in syntax.text(definition) or _nil_supervisor_clause(definition)


def _nil_supervisor_clause(definition: Node) -> bool:
    """``definition`` takes ``nil`` where another clause of its function takes the
    Task.Supervisor it starts the work on."""
    module = syntax.enclosing_module(definition)
    head = clauses.head(definition)
    if module is None or head is None:
        return False
    name, params = head[0], head[1]
    nils = {i for i, param in enumerate(params) if syntax.text(param) == "nil"}
    for sibling in clauses.of_module(module, name, len(params)):
        sibling_head = clauses.head(sibling)
        names = [syntax.text(p) for p in sibling_head[1]] if sibling_head else []
        for start in syntax.descendants(sibling):
            target = syntax.remote_target(start) if start.type == "call" else None
            if target is None or target[0] != "Task.Supervisor":
                continue
            first = syntax.argument_nodes(start)[:1]
            written = syntax.text(first[0]).removeprefix("unquote(").rstrip(")") if first else ""
            if written in names and names.index(written) in nils:
                return True
    return False


def _reports_back(call: Node) -> bool:
    """A waiter its starter collects: the spawned function sends its result to the starter
    (``caller = self()`` before, ``send(caller, ...)`` inside), and the starter then waits in
    ``receive``, in its own body or in a local function it calls (``collect_all/3``)."""
    definition = syntax.enclosing_definition(call)
    module = syntax.enclosing_module(call)
    if definition is None or module is None or not processes.sends_to_starter(call):
        return False
    after = [name for name in syntax.local_calls_in(definition) if name != "receive"]
    helpers = (d for name in set(after) for d in clauses.any_of_module(module, name))
    return _awaited(call) or any("receive do" in syntax.text(d) for d in helpers)


def _returned_to_caller(call: Node) -> bool:
    """The start is what a private helper returns (``defp async_reply(fun), do:
    Task.start(..)``): the pid goes to the module's own code that called it."""
    definition = syntax.enclosing_definition(call)
    if definition is None or syntax.local_target(definition) != "defp":
        return False
    return _returns(definition, calls.site(call))


def _monitors_processes(call: Node) -> bool:
    """The module monitors processes and handles their ``:DOWN``: a helper's callers that get
    the pid of what it starts then keep it, to watch it end."""
    module = syntax.enclosing_module(call)
    if module is None:
        return False
    text = syntax.text(module)
    return ":DOWN" in text and any(f"{m}.{f}(" in text for m, f in processes.MONITOR_CALLS)


def _awaited(call: Node) -> bool:
    """The function that spawns then waits in `receive` (for the helper's reply): the helper
    is part of a synchronous step, and lives no longer than the caller waits."""
    definition = syntax.enclosing_definition(call)
    if definition is None:
        return False
    return any(
        n.type == "call" and syntax.local_target(n) == "receive" and n.start_byte > call.end_byte
        for n in syntax.descendants(definition)
    )


def _loop_arity(call: Node, name: str) -> int:
    module = syntax.enclosing_module(call)
    definitions = clauses.any_of_module(module, name) if module is not None else []
    head = clauses.head(definitions[0]) if definitions else None
    return len(head[1]) if head is not None else 0


def _defines_spawn(call: Node) -> bool:
    """Whether the module around ``call`` defines (or imports over) its own ``spawn``."""
    module = syntax.enclosing_module(call)
    body = syntax.do_block(module) if module is not None else None
    if body is None:
        return False
    return any(
        syntax.is_definition(child) and clauses.name(child) == "spawn"
        for child in body.named_children
    )


def _fix(context: Context, call: Node) -> Fix | None:
    supervisor = fixes.task_supervisor(context, call)
    edit = fixes.rewrite_call(
        context, call, "Task.Supervisor.start_child", [supervisor.name], ARITIES["task_start"]
    )
    if edit is None:
        return None
    title = f"Use Task.Supervisor.start_child on {supervisor.name}{supervisor.note}"
    safety = supervisor.safety
    if fixes.before_the_supervision_tree(call):
        title += fixes.BEFORE_THE_TREE_NOTE
        safety = "unsafe"
    return Fix(title, (edit, *supervisor.edits), safety)


RULE = Rule(
    code="OTP103",
    name="unsupervised-process",
    severity="information",
    summary="Task.start or spawn in production code: a process no supervisor knows",
    doc=DOC,
    check=check,
    words=("Task", "spawn"),
    production_only=True,
    fixable=True,
)
