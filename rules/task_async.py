"""OTP101 task-async: `Task.async` in production code links the task's fate to the caller's."""

from __future__ import annotations

from collections.abc import Iterator

from tree_sitter import Node

from otp_thinking import fixes, syntax
from otp_thinking.context import Context
from otp_thinking.findings import Finding, Fix
from otp_thinking.process_state import state_at_stake
from otp_thinking.rule import Rule

DOC = """\
## What it flags
`Task.async/1` and `Task.async/3` in production code, in every spelling: a call
(`Task.async(fn -> ... end)`), a pipe (`fn -> ... end |> Task.async()`), module-function-args
(`Task.async(Mod, :fun, args)`) and a capture (`&Task.async/1`).

Flagged where a process's state is at stake: inside a process module — one with
`handle_call`, `handle_cast`, `handle_info`, `handle_continue`, `handle_event` or `mount`
callbacks (GenServers, LiveViews, channels) — and in helpers that take a process's state (a
parameter named `state` or matching `%__MODULE__{}`), such as the state module behind a
GenServer.

Not flagged:
- plain functions elsewhere: library code and fan-out helpers such as
  `Enum.map(items, &Task.async(...)) |> Task.await_many()`, where the caller decides what a crash
  means and no process state is lost with it;
- a function that traps exits (`Process.flag(:trap_exit, true)`): the link's exit arrives as a
  message it handles;
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
  {:reply, Task.await(task), state}
end
```

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
MyApp.TaskSupervisor}` at the top of the application's children list, so it starts before (and stops
after) the processes that use it. Safe when the supervisor exists or is added; unsafe when no
application module was found, since you must start the supervisor yourself. Calls to `Task.await/2`
on the task are left as they are: review them.

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

MESSAGE = (
    "Task.async links the task to the caller, so a crash in the task crashes the caller too; "
    "use Task.Supervisor.async_nolink/2 on a Task.Supervisor instead."
)


def check(context: Context) -> Iterator[Finding]:
    for captures in context.remote_calls({"Task"}, {"async"}):
        call = captures["call"][0]
        if _runs_isolated(call) or not state_at_stake(context, call):
            continue
        site = syntax.call_site(call)
        yield context.finding(RULE, site, MESSAGE, fix=_fix(context, call))


def _runs_isolated(call: Node) -> bool:
    return syntax.inside_call(call, ISOLATING_CALLS)


def _fix(context: Context, call: Node) -> Fix | None:
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
    summary="Task.async in production code: a crash in the task crashes the caller",
    doc=DOC,
    check=check,
    words=("Task",),
    production_only=True,
    fixable=True,
)
