"""OTP101 task-async: `Task.async` in production code links the task's fate to the caller's."""

from __future__ import annotations

import functools
from collections.abc import Iterator

from tree_sitter import Node

from otp_thinking import fixes, process_state, syntax
from otp_thinking.context import Context
from otp_thinking.findings import Finding, Fix
from otp_thinking.rule import Rule

DOC = """\
## What it flags
`Task.async/1` and `Task.async/3` in production code, in every spelling: a call
(`Task.async(fn -> ... end)`), a pipe (`fn -> ... end |> Task.async()`), module-function-args
(`Task.async(Mod, :fun, args)`) and a capture (`&Task.async/1`).

Flagged only where the code shows the link is unwanted:
- the caller handles a failed task: a `{:exit, reason}` or `nil` clause after `Task.yield/2`
  or `Task.yield_many/2` (one that does not simply raise again) — the link kills the caller
  before that clause can run;
- the module handles `{:DOWN, ref, :process, pid, reason}` for failures (not only `:normal`)
  and the task is not awaited where it starts — the author expects the failure as a message;
- nothing awaits the task: its value is thrown away (a statement before the last, `_task =`),
  or it is what a helper returns to callers that throw it away — fire-and-forget work still
  linked to the caller, in any production module.

Not flagged:
- tasks awaited with `Task.await/2` or `Task.await_many/2` in the same function (or in every
  caller of the helper that starts them): a failed task exits the caller through the await
  whether it is linked or not, so `async_nolink` would change nothing;
- tasks stored or returned with no sign of the above (the caller decides what a crash means);
- a task whose function is one `try` that rescues or catches (it cannot crash), a task
  `Process.unlink/1`ed right away, a function or process module that traps exits
  (`Process.flag(:trap_exit, true)`: the link's exit arrives as a message);
- tests, `.exs` scripts and `use Mix.Task` modules (short-lived code, where a crash taking the
  caller down is what you want);
- `Task.async` inside a function that already runs isolated (LiveView's
  `start_async`/`assign_async`, `Task.Supervisor.async_nolink`);
- text in strings, docs and comments.

## Why it matters
`Task.async` links the task to the caller. When the task crashes, the link takes the caller
down with it: a failing HTTP request inside a task kills the GenServer or the LiveView that
started it, along with its state. The task also lives outside any supervisor, so a shutdown
does not wait for it and nothing reports it.

## Example
```elixir
def handle_call({:fetch, url}, _from, state) do
  task = Task.async(fn -> HTTP.get(url) end)

  case Task.yield(task, 5_000) || Task.shutdown(task) do
    {:ok, body} -> {:reply, {:ok, body}, state}
    {:exit, reason} -> {:reply, {:error, reason}, state}  # never runs for a crash
    nil -> {:reply, {:error, :timeout}, state}
  end
end
```

The `{:exit, reason}` clause is there for a crash, but the link exits the GenServer first.
Use a `Task.Supervisor` started in your application and `async_nolink`:

```elixir
task = Task.Supervisor.async_nolink(MyApp.TaskSupervisor, fn -> HTTP.get(url) end)

case Task.yield(task, 5_000) || Task.shutdown(task) do
  {:ok, body} -> {:reply, {:ok, body}, state}
  {:exit, reason} -> {:reply, {:error, reason}, state}
  nil -> {:reply, {:error, :timeout}, state}
end
```

Mind the semantics: a nolink task's crash reaches the caller as a `{:DOWN, ref, :process, pid,
reason}` message (in `handle_info/2` for a GenServer) instead of an exit signal. `Task.await/2`
on a nolink task still exits the caller when the task fails — use `Task.yield/2` followed by
`Task.shutdown/2`, as above, to turn a failure into a value.

## Fix
Rewrites the call to `Task.Supervisor.async_nolink(Sup, ...)` (pipes and captures included), where
`Sup` is the `Task.Supervisor` your application starts (one whose namespace encloses the calling
module: `MyApp.Tasks`, or `MyApp.Mailer.Tasks` for `MyApp.Mailer.Worker`; another part's, such as
`MyApp.Analytics.Tasks`, is borrowed only when the children are no literal list a new one could
join). When it starts none that fits, the same fix adds `{Task.Supervisor, name:
MyApp.TaskSupervisor}` to the application's children after the infrastructure and before the first
child that uses it, so it starts before (and stops after) the processes that use it. Safe when
the supervisor exists or is added; unsafe when no application module was found, since you must
start the supervisor yourself. Calls to `Task.await/2` on the task are left as they are: review
them.

Configure the supervisor's name with `[names] task_supervisor = "MyApp.TaskSupervisor"`.
"""


ISOLATING_CALLS = frozenset(
    {
        ("", "start_async"),
        ("", "assign_async"),
        ("", "stream_async"),
        ("Task.Supervisor", "async_nolink"),
        ("Task.Supervisor", "start_child"),
    }
)

MESSAGES = {
    "handled": (
        "Task.async links the task to the caller, so a crash in the task exits the caller "
        "before the failure clause on line {line} can handle it; start it with "
        "Task.Supervisor.async_nolink/2 on a Task.Supervisor so the failure reaches that clause."
    ),
    "down": (
        "Task.async links the task to this process, so a crash in the task kills the process "
        "instead of reaching the {{:DOWN, ...}} clause of {function} on line {line}; start it "
        "with Task.Supervisor.async_nolink/2 on a Task.Supervisor."
    ),
    "unawaited": (
        "This Task.async is not awaited where it starts, yet its link still makes a crash in "
        "the task crash the caller; start it under a Task.Supervisor (start_child/2 when no "
        "result is needed, async_nolink/2 otherwise)."
    ),
}


def check(context: Context) -> Iterator[Finding]:
    for captures in context.remote_calls({"Task"}, {"async"}):
        call = captures["call"][0]
        if _runs_isolated(call):
            continue
        evidence = _evidence(context, call)
        if evidence is None:
            continue
        site = _site(call)
        yield context.finding(RULE, site, _message(evidence), fix=_fix(context, call, site))


def _message(evidence: process_state.Evidence) -> str:
    function = ""
    if evidence.node is not None and syntax.is_definition(evidence.node):
        function = f"{syntax.definition_name(evidence.node)}"
    return MESSAGES[evidence.kind].format(line=evidence.line(), function=function)


def _evidence(context: Context, call: Node) -> process_state.Evidence | None:
    """What shows that the link is unwanted here, or None when nothing does: an awaited task
    crashes its caller through `Task.await` whether it is linked or not."""
    definition = syntax.enclosing_definition(call)
    if (
        definition is None
        or process_state.traps_exits(context, call)
        or _cannot_crash(call)
        or process_state.unlinks(definition)
    ):
        return None
    if _yields(definition):
        handled = process_state.failure_clause(definition, task=call)
        if handled is not None:
            return process_state.Evidence("handled", handled)
    if process_state.awaited_in(definition):
        return None
    site = _site(call)
    callers = _helper_callers(definition, site)
    for _site_of_call, caller in callers:
        if _yields(caller):
            handled = process_state.failure_clause(caller)
            return process_state.Evidence("handled", handled) if handled is not None else None
        if process_state.awaited_in(caller):
            return None
    if process_state.discarded(site) or (
        callers and all(process_state.discarded(c[0]) for c in callers)
    ):
        return process_state.Evidence("unawaited", None)
    down = process_state.down_clause(context, call)
    if down is not None and process_state.in_process_module(context, call):
        return process_state.Evidence("down", down)
    return None


@functools.lru_cache(maxsize=1024)  # asked for every call in the scope
def _yields(scope: Node) -> bool:
    return any(syntax.call_key(n) in process_state.YIELDS for n in _calls(scope))


def _calls(scope: Node) -> Iterator[Node]:
    return (n for n in syntax.descendants(scope) if n.type == "call")


def _cannot_crash(call: Node) -> bool:
    """The task's function is one `try` that rescues or catches: it returns a value instead
    of crashing, so the link never fires."""
    args = syntax.argument_nodes(call)
    function = args[0] if args else None
    if function is None or function.type != "anonymous_function":
        return False
    clauses = [c for c in function.named_children if c.type == "stab_clause"]
    body = clauses[0].child_by_field_name("right") if len(clauses) == 1 else None
    statements = [c for c in body.named_children if c.type != "comment"] if body else []
    if len(statements) != 1 or syntax.local_target(statements[0]) != "try":
        return False
    block = syntax.do_block(statements[0])
    return block is not None and any(
        c.type in ("rescue_block", "catch_block") for c in block.named_children
    )


def _helper_callers(definition: Node, site: Node) -> list[tuple[Node, Node]]:
    """When the task is what a function of the module returns, the local calls of that
    function (the call's site and its enclosing definition); else nothing."""
    if site not in syntax.tail_expressions(syntax.body_of(definition)):
        return []
    module = syntax.enclosing_module(definition)
    name = syntax.definition_name(definition)
    if module is None or not name:
        return []
    found = []
    for node in syntax.descendants(module):
        if node.type == "call":
            if syntax.local_target(node) != name or _definition_head(node):
                continue
            site = syntax.call_site(node)
        elif syntax.is_capture(node):  # &name/1
            named = node.named_children[0] if node.named_children else None
            left = named.child_by_field_name("left") if named is not None else None
            if left is None or left.type != "identifier" or syntax.text(left) != name:
                continue
            site = node
        else:
            continue
        caller = syntax.enclosing_definition(node)
        if caller is not None and caller != definition:
            found.append((site, caller))
    return found


def _runs_isolated(call: Node) -> bool:
    return syntax.inside_call(call, ISOLATING_CALLS)


def _site(call: Node) -> Node:
    """The node the finding covers: the whole pipe, the whole capture, or the call itself."""
    return syntax.call_site(call)


def _definition_head(call: Node) -> bool:
    """``run(x)`` in ``defp run(x) when ... do``: the head of a definition, not a call."""
    parent = call.parent
    if (
        parent is not None
        and parent.type == "binary_operator"
        and syntax.operator(parent) == "when"
    ):
        parent = parent.parent
    holder = parent.parent if parent is not None and parent.type == "arguments" else None
    return holder is not None and syntax.is_definition(holder)


def _fix(context: Context, call: Node, site: Node) -> Fix | None:
    """The call rewritten by `fixes.rewrite_call`: a long pipe goes on through ``then/1``
    rather than being copied into the call (on a chain of thousands of pipes, each fix would
    copy the whole chain before it)."""
    supervisor = fixes.task_supervisor(context, call)
    head = "Task.Supervisor.async_nolink"
    edit = fixes.rewrite_call(context, call, head, [supervisor.name], frozenset({1, 3}))
    if edit is None:
        return None
    return Fix(
        f"Use Task.Supervisor.async_nolink on {supervisor.name}{supervisor.note}",
        (edit, *supervisor.edits),
        supervisor.safety,
    )


RULE = Rule(
    code="OTP101",
    name="task-async",
    severity="warning",
    summary="Task.async whose caller handles a failed task or never awaits it: the link crashes it",
    doc=DOC,
    check=check,
    words=("Task",),
    production_only=True,
    fixable=True,
)
