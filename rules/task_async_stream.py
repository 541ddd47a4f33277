"""OTP102 task-async-stream: `Task.async_stream` links every task to the caller."""

from __future__ import annotations

from collections.abc import Iterator

from tree_sitter import Node

from otp_thinking import fixes, process_state, syntax
from otp_thinking.context import Context
from otp_thinking.findings import Finding, Fix
from otp_thinking.rule import Rule

DOC = """\
## What it flags
`Task.async_stream/2..5` in production code, in every spelling: a call
(`Task.async_stream(urls, &fetch/1, max_concurrency: 8)`), a pipe
(`urls |> Task.async_stream(&fetch/1)`), module-function-args
(`Task.async_stream(urls, Mod, :fetch, [])`) and a capture (`&Task.async_stream/2`).

Flagged where a process's state is at stake, like OTP101: inside a process module — one with
`handle_call`, `handle_cast`, `handle_info`, `handle_continue`, `handle_event` or `mount`
callbacks (GenServers, LiveViews, channels) — and in helpers that take a process's state (a
parameter named `state` or matching `%__MODULE__{}`).

Not flagged:
- plain functions elsewhere: library code and fan-out helpers (`paths |> Task.async_stream(...)
  |> Stream.run()` in a storage module), where the caller decides what a crash means and no
  process state is lost with it;
- a function that traps exits (`Process.flag(:trap_exit, true)`);
- `init/1`: the process has no state to lose yet, and a crash there makes its start fail,
  which its supervisor reports;
- tests, `.exs` scripts, `use Mix.Task` modules and the `Mix.*` modules of build tooling
  (short-lived code, where a crash taking the caller down is what you want);
- streams started inside code that already runs isolated (LiveView's `start_async`/
  `assign_async`, a `Task.Supervisor.async_nolink`/`start_child` task, or an unlinked
  `spawn`/`Task.start` process): a crash then ends only that process (OTP103 reports bare
  `spawn` and `Task.start`);
- text in strings, docs and comments.

## Why it matters
`Task.async_stream` starts one task per element, each linked to the caller and outside any
supervisor. One element whose task raises takes the caller down with it: a bad row in a batch
kills the GenServer or request process that ran it, along with its state. On shutdown the
application does not wait for the tasks nor report them.

## Example
```elixir
def refresh(feeds) do
  feeds
  |> Task.async_stream(&Feeds.fetch/1, max_concurrency: 10)
  |> Enum.map(fn {:ok, items} -> items end)
end
```

Run the tasks under the application's `Task.Supervisor`, unlinked, and handle failures:

```elixir
def refresh(feeds) do
  MyApp.TaskSupervisor
  |> Task.Supervisor.async_stream_nolink(feeds, &Feeds.fetch/1, max_concurrency: 10)
  |> Enum.flat_map(fn
    {:ok, items} ->
      items

    {:exit, reason} ->
      Logger.warning("feed failed: #{inspect(reason)}")
      []
  end)
end
```

Mind the semantics: with `async_stream_nolink` a crashed task no longer crashes the caller; the
stream yields `{:exit, reason}` for it instead of `{:ok, value}`. Code that matches only
`{:ok, value}` must learn the new shape: `fn {:ok, v} -> v end` now raises a
`FunctionClauseError` in the caller, and `for {:ok, v} <- stream` silently drops the failures.
Timeouts behave as before (`on_timeout: :exit` still exits the caller; `:kill_task` yields
`{:exit, :timeout}`), and halting the stream still shuts down the tasks still running.

## Fix
Rewrites the call to `Task.Supervisor.async_stream_nolink(Sup, enumerable, ...)` (options and the
module-function-args form kept), where `Sup` is the `Task.Supervisor` your application starts (one
whose namespace encloses the calling module: `MyApp.Tasks`, or `MyApp.Mailer.Tasks` for
`MyApp.Mailer.Worker`; another part's, such as `MyApp.Analytics.Tasks`, is borrowed only when the
children are no literal list a new one could join); when it starts none that fits, the same fix adds
`{Task.Supervisor, name: MyApp.TaskSupervisor}` first in the application's children. A pipe whose
left side is one simple expression becomes a direct call; inside a longer pipeline the call becomes
`then(&Task.Supervisor.async_stream_nolink(Sup, &1, ...))` (with `fn` instead of `&` when the
arguments hold a capture) so the pipeline reads on unchanged. A capture `&Task.async_stream/N`
becomes `&Task.Supervisor.async_stream_nolink(Sup, &1, ..., &N)`.

The fix is always unsafe: failures turn from a crash into `{:exit, reason}` elements, so the
code consuming the stream has to be reviewed (see above) before you apply it. It is not offered
when the calling function, or a module that traps exits, matches `{:EXIT, ...}` messages, which
unlinked tasks never send.

Configure the supervisor's name with `[names] task_supervisor = "MyApp.TaskSupervisor"`.
"""


ISOLATING_CALLS = frozenset(
    {
        ("", "start_async"),
        ("", "assign_async"),
        ("", "stream_async"),
        ("Task.Supervisor", "async_nolink"),
        ("Task.Supervisor", "start_child"),
        # an unlinked throwaway process: the crash stays there (OTP103 reports the spawn)
        ("", "spawn"),
        ("Kernel", "spawn"),
        ("Task", "start"),
    }
)

MESSAGE = (
    "Task.async_stream links every task to the caller, so one crashing task crashes the caller; "
    "use Task.Supervisor.async_stream_nolink/4 on a Task.Supervisor and handle "
    "{:exit, reason} elements."
)

# Task.async_stream/N becomes Task.Supervisor.async_stream_nolink/N+1, which exists for N 2..5.
ARITIES = frozenset({2, 3, 4, 5})


def check(context: Context) -> Iterator[Finding]:
    for captures in context.remote_calls({"Task"}, {"async_stream"}):
        call = captures["call"][0]
        if syntax.inside_call(call, ISOLATING_CALLS) or syntax.in_mix_module(call):
            continue
        if not process_state.state_at_stake(context, call) or _in_init(call):
            continue
        site = syntax.call_site(call)
        node = site if syntax.is_capture(site) else call
        yield context.finding(RULE, node, MESSAGE, fix=_fix(context, call))


def _in_init(call: Node) -> bool:
    """``init/1``: no state to lose yet, and a crash there fails the start, as it should."""
    definition = syntax.enclosing_definition(call)
    return definition is not None and syntax.definition_name(definition) == "init"


def _fix(context: Context, call: Node) -> Fix | None:
    """Always unsafe (failed tasks become ``{:exit, reason}`` elements the consumer must
    handle); not offered when the caller waits for a task's ``{:EXIT, ...}``, which unlinked
    tasks never send."""
    exits = fixes.exit_handling(call)
    if exits == "receives":
        return None
    supervisor = fixes.task_supervisor(context, call)
    edit = fixes.rewrite_call(
        context, call, "Task.Supervisor.async_stream_nolink", [supervisor.name], ARITIES
    )
    if edit is None:
        return None
    title = (
        f"Use Task.Supervisor.async_stream_nolink on {supervisor.name}{supervisor.note} "
        "(failed tasks become {:exit, reason} elements)"
    )
    if exits == "traps":
        title += fixes.TRAPS_EXITS_NOTE
    if fixes.before_the_supervision_tree(call):
        title += fixes.BEFORE_THE_TREE_NOTE
    return Fix(title, (edit, *supervisor.edits), "unsafe")


RULE = Rule(
    code="OTP102",
    name="task-async-stream",
    severity="warning",
    summary="Task.async_stream in production code: one crashing task crashes the caller",
    doc=DOC,
    check=check,
    words=("Task",),
    production_only=True,
    fixable=True,
)
