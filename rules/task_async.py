"""OTP101 task-async: `Task.async` in production code links the task's fate to the caller's."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from tree_sitter import Node

from otp_thinking import fixes, process_state, syntax
from otp_thinking.context import Context
from otp_thinking.findings import Edit, Finding, Fix
from otp_thinking.model import calls, clauses, modules, processes, values
from otp_thinking.rule import Rule

DOC = """\
## What it flags
`Task.async/1` and `Task.async/3` in production code, in every spelling: a call
(`Task.async(fn -> ... end)`), a pipe (`fn -> ... end |> Task.async()`), module-function-args
(`Task.async(Mod, :fun, args)`) and a capture (`&Task.async/1`); and `Task.Supervisor.async`,
whose task is linked to the caller just the same (its fix is `async_nolink` or `start_child` on
the same supervisor, every argument kept). `Elixir.Task.async` is the same call, written so
where an `alias` gives `Task` to a module of the project (the fix keeps the prefix); a plain
`Task.async` there calls that module, and is left alone.

Flagged only where the code shows the link is unwanted:
- the caller handles a failed task: a `{:exit, reason}` clause after `Task.yield/2` or
  `Task.yield_many/2` (one that does not simply raise again) — the link kills the caller
  before that clause can run. A `nil` clause or one matching only `{:exit, :timeout}`
  handles a timeout, not a crash, and is no such sign;
- the task is started by code that runs in the process (a callback, or a function a
  callback calls; not a client function of the module nor a `:telemetry` handler), the
  module reads tasks' replies (`{ref, result}`) as messages and handles
  `{:DOWN, ref, :process, pid, reason}` for failures (not only `:normal`) — the author
  expects the failure as a message. A `:DOWN` clause that ignores the reason, does what the
  reply clause for the same state does (`done?: true` in both) while that reply clause leaves
  the monitor on, only marks the end of the task: no such sign. Nor is a `:DOWN` clause that
  does nothing (`{:noreply, state}`: a sink for the `:DOWN` after each reply, where
  `async_nolink` would only hide a crash), nor any `:DOWN` clause of a module that monitors
  processes itself (`Process.monitor/1`, `spawn_monitor`) or starts `async_nolink` tasks: it
  may be for those, and which ones it takes is not known;
- the caller reads the task with `Task.yield/2` inside a `try` (or a function) that only
  rescues, and does nothing else there that could raise (only `Task` and `Logger` calls and
  branches): the rescue can only be meant for a crashed task, which kills the caller with
  an exit signal no rescue catches;
- the caller awaits the task inside a `try` whose handlers cannot see a failed task:
  `Task.await`/`await_many` exit the caller, and an exit is neither an exception
  (`rescue`) nor a throw (`catch value`, `catch :timeout, _`); the `rescue` or `catch` the
  author wrote for it never runs. No fix: unlinked, the await still exits past the handler,
  so the message says to catch `:exit` or read the task with `Task.yield/2` as well;
- nothing awaits the task: its value is thrown away (a statement before the last, `_task =`,
  or the last of a `case`/`if`/`with` branch whose value is thrown away in turn), or it is
  what a helper returns to callers that throw it away (the module's own calls, and for a
  public function every call other modules of the project make to it) — fire-and-forget work
  still linked to the caller, in any production module. A task whose reply the process reads
  as a message (a `handle_info/2` clause for any `{ref, result}`, or one taking any message
  and using it) is awaited that way.

Not flagged:
- tasks awaited with `Task.await/2` or `Task.await_many/2` in the same function, outside a
  `try` that only rescues (or in every
  caller of the helper that starts them, or maps them out of a list): a failed task exits the
  caller through the await whether it is linked or not, so `async_nolink` would change
  nothing;
- tasks stored or returned with no sign of the above (the caller decides what a crash means);
- a task whose function is one `try` that rescues or catches, or one call to a function of
  the module whose every clause ends in `catch kind, reason` (every raise, throw and exit):
  it cannot crash; a task `Process.unlink/1`ed right away, a function or process module that
  traps exits (`Process.flag(:trap_exit, true)`: the link's exit arrives as a message);
- a task nothing awaits, started by a clause that then stops the process (`{:stop, :normal,
  state}`): the caller is gone before the task can fail, so no crash reaches it;
- tests, `.exs` scripts and Mix tasks (`use Mix.Task`, or named under `Mix.Tasks.`) (short-lived
  code, where a crash taking the caller down is what you want);
- `Task.async` in a LiveComponent (`use Phoenix.LiveComponent`, `use MyAppWeb,
  :live_component`), other than the `{:exit, reason}` case above: it runs in its parent
  LiveView's process, whose `handle_info/2` gets the reply and the `:DOWN`, out of sight here;
- `Task.async` inside a function that already runs isolated (LiveView's
  `start_async`/`assign_async`, `Task.Supervisor.async_nolink`);
- text in strings, docs and comments.

Also `Task.Supervisor.async_nolink` whose task nobody awaits, by the same test (dropped where
it starts, or returned to callers that all drop it, in a module that reads no task's
messages): the task is supervised and unlinked, but when it ends it sends its caller a reply
and a `:DOWN` message that nothing reads. In a GenServer they reach `handle_info/2` (a crash
without a catch-all clause, an error logged with the default one): a warning there,
information elsewhere (a request process). The fix is `Task.Supervisor.start_child` on the
same supervisor, every argument kept, which sends nothing; safe, but unsafe when a public
function returns the task (code outside the project may keep it).

Also `Task.start_link/1,3` whose pid nobody keeps (a statement before the last, the last of
an `Enum.each` function, `{:ok, _pid} = ...`, or what a helper returns to callers that drop it),
outside a child's start function: `Task.start_link` exists to start a task under a supervisor,
which keeps the pid it returns. Started anywhere else it is fire-and-forget work still linked to
its caller, as an unawaited `Task.async` is: a crash in the task crashes a GenServer, a
LiveView or a request halfway through. Not flagged: a helper started in `init/1`, which lives and
dies with the server by design, or in `terminate/2`; a kept pid; a task whose life belongs to
its caller: one that monitors another process (a watcher that reports how it ended), one that
runs a loop serving its owner (a local function that calls itself and receives, accepts or
reads a socket), one that sends to its starter (`parent = self()`, `send(parent, ...)`: the
caller waits for its messages, and a task that died unlinked would leave it waiting), one that
calls `exit/1` to end its caller on purpose (a fail-fast design); test doubles kept in `lib/`
(modules named `…Mock`, `Fake…`); and the cases above that apply (a caller that traps exits, a
task that cannot crash, an isolated caller).

## Why it matters
`Task.async` links the task to the caller. When the task crashes, the link takes the caller
down with it: a failing HTTP request inside a task kills the GenServer or the LiveView that
started it, along with its state. The task also lives outside any supervisor: nothing can
list it, and it lives or dies with its caller alone.

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
Runs the task under the `Task.Supervisor` your application starts (one whose namespace encloses
the calling module: `MyApp.Tasks`, or `MyApp.Mailer.Tasks` for `MyApp.Mailer.Worker`; another
part's, such as `MyApp.Analytics.Tasks`, is borrowed only when the children are no literal list a
new one could join); when it starts none that fits, the same fix adds `{Task.Supervisor, name:
MyApp.TaskSupervisor}` to the application's children after the infrastructure and before the first
child that uses it. What the call becomes depends on what becomes of the task:

- never awaited (its value dropped, and no `handle_info` clause reads a task's `{ref, result}`
  or `:DOWN`): `Task.Supervisor.start_child(Sup, fun)`, which sends the caller nothing. Safe when
  the supervisor exists or is added;
- `Task.start_link` whose pid nobody keeps: `Task.Supervisor.start_child(Sup, fun)` (or `Sup,
  Mod, :fun, args`), every argument kept; both return `{:ok, pid}`. Safe when the supervisor
  exists or is added: the task no longer dies with its caller, which is what the rule is about;
- bound to a variable only passed to `Task.yield/2` and `Task.shutdown/2`: `async_nolink`. Safe
  when the function matches `{:exit, reason}`, which a failed task now reaches; unsafe otherwise;
- bound to a variable that is only passed to `Task.await/1,2`: `async_nolink`, and each await
  becomes `case Task.yield(task, timeout) || Task.shutdown(task) do` giving the result, or
  `{:error, reason}` when the task failed or timed out (computed into a variable just before the
  statement that awaited it). Unsafe: review what the caller does with `{:error, reason}`;
- anything else (awaited inline, kept in the state, returned, captured): `async_nolink` alone.
  Unsafe: the task's crash now arrives as a `:DOWN` message, and a `Task.await` on it still
  exits the caller.

No fix when the calling function, or a module that traps exits, matches `{:EXIT, ...}`
messages: a supervised task never sends its caller one, so a caller waiting for it would hang.
In a module that traps exits otherwise, or in the application's `start/2` (which runs before the
supervisor is started), the fix is unsafe and its title says so. Pipes, captures and
module-function-args calls are rewritten alike; comments and arguments on lines of their own keep
their layout, and a line the rewrite takes past 98 columns is broken the way `mix format` does.

Configure the supervisor's name with `[names] task_supervisor = "MyApp.TaskSupervisor"`.
"""


ISOLATING_CALLS = calls.UNLINKED_TASKS

MESSAGES = {
    "handled": (
        "{call} links the task to the caller, so a crash in the task exits the caller "
        "before the failure clause on line {line} can handle it; {nolink} so the failure "
        "reaches that clause."
    ),
    "rescued": (
        "{call} links the task to the caller, so a crash in the task kills the caller with "
        "an exit signal, which no rescue catches: the rescue on line {line} never runs for "
        "it (Task.yield/2 raises nothing); {nolink} and handle the {{:exit, reason}} "
        "Task.yield/2 then gives."
    ),
    "down": (
        "{call} links the task to this process, so a crash in the task kills the process "
        "instead of reaching the {{:DOWN, ...}} clause of {function} on line {line}; {nolink}."
    ),
    "blind": (
        "Task.await and Task.await_many exit the caller when a task crashes or runs past its "
        "timeout, and an exit is neither an exception nor a throw: the {handler} on line {line} "
        "never sees it. "
        "{nolink_cap} and catch the exit (catch :exit, reason ->), or read it with Task.yield/2 "
        "(linked, a crash in the task exits the caller whatever it catches)."
    ),
    "blind_trapped": (
        "Task.await and Task.await_many exit the caller when a task crashes or runs past its "
        "timeout, and an exit is neither an exception nor a throw: the {handler} on line {line} "
        "never sees it; catch the exit (catch :exit, reason ->), or read the task with "
        "Task.yield/2."
    ),
    "unawaited": (
        "This {call} is not awaited where it starts, yet its link still makes a crash in "
        "the task crash the caller; {unawaited}."
    ),
}
REMEDIES = {
    False: {
        "nolink": "start it with Task.Supervisor.async_nolink/2 on a Task.Supervisor",
        "nolink_cap": "Start it with Task.Supervisor.async_nolink/2 on a Task.Supervisor",
        "unawaited": (
            "start it under a Task.Supervisor (start_child/2 when no result is needed, "
            "async_nolink/2 otherwise)"
        ),
    },
    True: {
        "nolink": "use Task.Supervisor.async_nolink on the same supervisor",
        "nolink_cap": "Use Task.Supervisor.async_nolink on the same supervisor",
        "unawaited": (
            "use Task.Supervisor.start_child on the same supervisor (async_nolink when a result "
            "is needed)"
        ),
    },
}
"""What the messages advise, by whether the task is already started on a Task.Supervisor."""
SUPERVISED = "Task.Supervisor"
"""``Task.Supervisor.async`` links its task to the caller as ``Task.async`` does: the fix only
renames it (``async_nolink``, ``start_child``) on the same supervisor, every argument kept."""


def check(context: Context) -> Iterator[Finding]:
    may_be_isolated = any(function in context.source.text for _, function in ISOLATING_CALLS)
    for captures in context.remote_calls({"Task", SUPERVISED}, {"async"}):
        call = captures["call"][0]
        if may_be_isolated and _runs_isolated(call):  # a text naming none holds none
            continue
        evidence = _evidence(context, call)
        if evidence is None:
            continue
        site = _site(call)
        supervised = syntax.module_text(captures["module"][0]) == SUPERVISED
        blind = evidence.kind.startswith("blind")  # unlinked, the await still exits past it
        fix = None if blind else _fix(context, call, site, evidence.kind == "unawaited", supervised)
        yield context.finding(RULE, site, _message(evidence, supervised), fix=fix)
    for captures in context.remote_calls({SUPERVISED}, {"async_nolink"}):
        finding = _unread_nolink(context, captures["call"][0])
        if finding is not None:
            yield finding
    for captures in context.remote_calls({"Task"}, {"start_link"}):
        call = captures["call"][0]
        if (not may_be_isolated or not _runs_isolated(call)) and _linked_and_dropped(context, call):
            site = _site(call)
            message = LINKED_START_MESSAGE.format(caller=_caller(call))
            yield context.finding(RULE, site, message, fix=_linked_start_fix(context, call))


def _message(evidence: process_state.Evidence, supervised: bool) -> str:
    function = ""
    if evidence.node is not None and syntax.is_definition(evidence.node):
        function = f"{clauses.name(evidence.node)}"
    call = f"{SUPERVISED}.async" if supervised else "Task.async"
    handler = (
        "catch" if evidence.node is not None and evidence.node.type == "catch_block" else "rescue"
    )
    return MESSAGES[evidence.kind].format(
        line=evidence.line(),
        function=function,
        call=call,
        handler=handler,
        **REMEDIES[supervised],
    )


def _evidence(context: Context, call: Node) -> process_state.Evidence | None:
    """What shows that the link is unwanted here, or None when nothing does: an awaited task
    crashes its caller through `Task.await` whether it is linked or not."""
    definition = syntax.enclosing_definition(call)
    if definition is None or _shows_nothing(call, definition):
        return None
    blind = process_state.blind_handler(definition, call)
    if blind is not None:  # the await exits past the handler, trapping or not
        trapped = process_state.traps_exits(context, call)
        return process_state.Evidence("blind_trapped" if trapped else "blind", blind)
    if (
        process_state.traps_exits(context, call)
        or _cannot_crash(call)
        or process_state.unlinks(definition)
    ):
        return None
    if _yields(definition):
        handled = process_state.failure_clause(definition, task=call)
        if handled is not None:
            return process_state.Evidence("handled", handled)
        rescued = process_state.rescued_yield(definition, call)
        if rescued is not None:
            return process_state.Evidence("rescued", rescued)
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
    module = syntax.enclosing_module(call)
    if module is None or modules.runs_in_another_process(module):
        return None  # its reply and :DOWN reach a handle_info/2 this module does not show
    in_process = process_state.runs_in_process(context, call)
    replies = _reply_clauses(call) if in_process else []
    reads_any = any(any_task for _, any_task in replies) or (in_process and _reads_every(module))
    if not reads_any and _never_kept(context, definition, site, callers):
        if _stops_after(module, definition, site):
            return None  # the caller is gone before the task can fail: no link to crash it
        return process_state.Evidence("unawaited", None)
    down = process_state.down_clause(context, call)
    if down is not None and replies and _handles_failure(down, module):
        return process_state.Evidence("down", down)
    return None


# -- Task.Supervisor.async_nolink whose task nobody awaits --------------------------------

NOLINK_MESSAGE = (
    "Task.Supervisor.async_nolink starts a task that nobody awaits: when it ends it sends the "
    "process {caller} a reply and a :DOWN message that {unread}{where}; start it "
    "with Task.Supervisor.start_child on the same supervisor, which sends nothing."
)


def _unread_nolink(context: Context, call: Node) -> Finding | None:
    """`Task.Supervisor.async_nolink` whose task is dropped where it starts, or returned to
    callers that all drop it, in a module that reads no task's messages: fire-and-forget work
    started with the call meant for a result. A warning where the caller is a process of the
    module (its `handle_info/2` gets messages it does not expect), else information."""
    definition = syntax.enclosing_definition(call)
    module = syntax.enclosing_module(call)
    if definition is None or module is None or modules.runs_in_another_process(module):
        return None
    if _reply_clauses(call) or _reads_task_messages(module) or _reads_every(module):
        return None
    if ":DOWN" in syntax.text(_outermost(module)):
        return None  # it handles a task's messages somewhere (`handle_info/3`, a macro's)
    site = _site(call)
    if not _never_kept(context, definition, site, _helper_callers(definition, site)):
        return None
    if not values.discarded(site) and _a_caller_takes_any_message(context, module, definition):
        return None
    kind = modules.server_kind(modules.used(module), syntax.behaviours(module))
    in_process = kind is not None and process_state.runs_in_process(context, call)
    if _stops_after(module, definition, site):
        return None  # the messages reach no live process
    where = f" (its {_info_callback(kind)} gets them)" if in_process else ""
    caller = f"running {_caller(call)}"
    if not values.discarded(site):
        caller = f"calling {_caller(call)} (every caller drops the task it returns)"
    dropped = modules.catch_all_info(clauses.public_definitions(module))
    unread = "nothing reads"
    if dropped is not None:
        where = ""
        unread = f"the catch-all handle_info/2 on line {dropped.start_point.row + 1} only drops"
    message = NOLINK_MESSAGE.format(caller=caller, unread=unread, where=where)
    finding = context.finding(RULE, site, message, fix=_nolink_fix(context, call, site))
    return finding if in_process else finding.with_severity("information")


def _a_caller_takes_any_message(context: Context, module: Node, definition: Node) -> bool:
    """A module that calls the function returning the task takes whatever message arrives
    (a catch-all `handle_info/2`): the task's reply and `:DOWN` are read there, and nothing
    here says they do harm. (In the module's own process the message says its
    `handle_info/2` gets them: blind reviewers judged that true and worth the change.)"""
    index = context.project.index
    name = clauses.name(definition)
    return (
        index.complete
        and bool(name)
        and index.facts.a_caller_takes_any_message(modules.full_name(module), name or "")
    )


def _outermost(module: Node) -> Node:
    """The module ``module`` is nested in, at the top (itself when it is not nested): a nested
    module's functions may run in the process of the module around it."""
    while (outer := syntax.enclosing_module(module.parent) if module.parent else None) is not None:
        module = outer
    return module


def _stops_after(module: Node, definition: Node, site: Node) -> bool:
    """The process stops right after starting the task: the block holding ``site`` ends in a
    stop (``:stop``, ``{:stop, reason, state}``, `init/1`'s ``:ignore``), or every local call
    of the function holding it is followed by one (``notify_error(error, data)`` then
    ``:stop``)."""
    if _ends_in_stop(site):
        return True
    name = clauses.name(definition)
    sites = [
        calls.site(node)
        for node in _calls_by_name(module).get(name or "", ())
        if node.type == "call" and not clauses.is_head(node)
    ]
    return bool(sites) and all(_ends_in_stop(s) for s in sites)


BLOCKS = frozenset({"body", "do_block", "block", "else_block"})


def _ends_in_stop(site: Node) -> bool:
    statement = site
    while statement.parent is not None and statement.parent.type not in BLOCKS:
        if syntax.is_definition(statement.parent):
            return False
        statement = statement.parent
    block = statement.parent
    last = syntax.last_statement(block) if block is not None else None
    if last is None or last == statement:
        return False
    if last.type == "tuple":
        items = [c for c in last.named_children if c.type != "comment"]
        return bool(items) and syntax.text(items[0]) == ":stop"
    return syntax.text(last) in (":stop", ":ignore")


def _info_callback(kind: str | None) -> str:
    """Where a process of the kind gets messages it did not ask for."""
    return "handle_event/4, as :info events," if kind == "gen_statem" else "handle_info/2"


def _nolink_fix(context: Context, call: Node, site: Node) -> Fix | None:
    """The same call as `start_child`, every argument kept: the task still runs unlinked
    under the same supervisor, and its value, which nobody keeps, becomes `{:ok, pid}`. Unsafe
    when a public function returns it (code outside the project may keep it)."""
    edit = _rewritten(context, call, "start_child", "", True)
    if edit is None:
        return None
    title = "Use Task.Supervisor.start_child on the same supervisor (the task is never awaited)"
    if not values.discarded(site) and not _in_private_function(call):
        title += ": the public function now returns {:ok, pid}, not a Task"
        return Fix(title=title, edits=(edit,), safety="unsafe")
    return Fix(title=title, edits=(edit,), safety="safe")


# -- Task.start_link whose pid nobody keeps ---------------------------------------------

LINKED_START_MESSAGE = (
    "Task.start_link links this task to the process running {caller}, which keeps no pid of "
    "it: a crash in the task crashes that process, and no supervisor knows the task; start it "
    "with Task.Supervisor.start_child/2."
)
LINKED_ON_PURPOSE = frozenset({"init", "terminate"})
"""Where a linked helper is no mistake: one `init/1` starts lives and dies with the server,
and `terminate/2` runs on the process's way out."""


def _linked_and_dropped(context: Context, call: Node) -> bool:
    """`Task.start_link` outside a child's start function (whose supervisor keeps the pid it
    returns), its pid dropped where it starts or by every caller of the helper returning it:
    fire-and-forget work still linked to its caller, the shape of an unawaited `Task.async`."""
    if calls.arity(call) not in ARITIES:
        return False
    definition = syntax.enclosing_definition(call)
    if definition is None or clauses.name(definition) in LINKED_ON_PURPOSE:
        return False
    if (
        process_state.traps_exits(context, call)
        or _cannot_crash(call)
        or process_state.unlinks(definition)
        or processes.watcher(call)
        or processes.serving_loop(call) is not None
        or processes.sends_to_starter(call)
        or processes.exits_on_purpose(call)
        or modules.test_double(modules.path_at(call))
    ):
        return False
    site = _site(call)
    if _pid_dropped(site):
        return True
    callers = _helper_callers(definition, site)
    return bool(callers) and all(_pid_dropped(caller_site) for caller_site, _ in callers)


def _pid_dropped(site: Node) -> bool:
    """The value of ``site`` goes nowhere: `values.discarded`, or bound by a statement
    whose variables are never used (``{:ok, _pid} = Task.start_link(...)``)."""
    if values.discarded(site):
        return True
    binding = process_state.binding_of(site)
    return binding is not None and values.discarded(binding) and not process_state.pid_kept(site)


def _caller(call: Node) -> str:
    definition = syntax.enclosing_definition(call)
    if definition is None:
        return "the caller"
    return f"{clauses.name(definition)}/{clauses.arity(definition)}"


def _linked_start_fix(context: Context, call: Node) -> Fix | None:
    """`Task.Supervisor.start_child(Sup, ...)` with every argument kept: both return `{:ok,
    pid}`, here dropped. Safe when the supervisor exists or is added, as for an unawaited
    `Task.async`; no fix for a caller waiting for the task's `{:EXIT, ...}`."""
    if fixes.exit_handling(call) == "receives":
        return None
    supervisor = fixes.task_supervisor(context, call)
    edit = _rewritten(context, call, "start_child", supervisor.name, supervised=False)
    if edit is None:
        return None
    title = (
        f"Use Task.Supervisor.start_child on {supervisor.name}{supervisor.note} "
        "(nothing keeps the task's pid)"
    )
    safety = supervisor.safety
    if fixes.before_the_supervision_tree(call):
        title += fixes.BEFORE_THE_TREE_NOTE
        safety = "unsafe"
    edits = fixes.joined_edits(context, [edit])
    return Fix(title, (*edits, *supervisor.edits), safety)


def _shows_nothing(call: Node, definition: Node) -> bool:
    """None of the signs `_evidence` looks for can hold, read from what is known per function
    and per module: no yield in the function, the task neither dropped nor returned to a
    caller, and no clause of the module reads a task's reply. Asked first, so a task that
    shows nothing (a pipe of thousands of them) is not asked the other questions."""
    if _yields(definition) or process_state.blind_handler(definition, call) is not None:
        return False
    site = _site(call)
    if values.discarded(site) or _helper_callers(definition, site):
        return False
    if syntax.local_target(definition) == "def" and _returned(definition, site):
        return False  # other modules may drop what it returns
    module = syntax.enclosing_module(call)
    return module is None or not _replies_in(module)


def _never_kept(
    context: Context, definition: Node, site: Node, callers: list[tuple[Node, Node]]
) -> bool:
    """Nobody keeps the task: its value is dropped where it starts, or it is what the function
    returns and every caller drops it (the module's own calls, and for a public function the
    calls other modules of the project make)."""
    if values.discarded(site):
        return True
    if callers and not all(values.discarded(c[0]) for c in callers):
        return False
    if syntax.local_target(definition) == "defp":
        return bool(callers)
    return bool(callers) or _dropped_by_other_modules(context, definition, site)


def _dropped_by_other_modules(context: Context, definition: Node, site: Node) -> bool:
    """``site`` is what the public function returns, and every call other modules of the
    project make to it drops the value."""
    module = syntax.enclosing_module(definition)
    name = clauses.name(definition)
    index = context.project.index
    if module is None or not name or not index.complete or not _returned(definition, site):
        return False
    return index.facts.dropped_by_every_caller(modules.full_name(module), name)


@syntax.remembered
def _reads_every(module: Node) -> bool:
    """A ``handle_info(message, state)`` clause takes any message and uses it (forwards it,
    matches on it in its body): a task's reply may be read there."""
    body = syntax.module_body(module)
    for definition in body.named_children if body is not None else []:
        head = clauses.head(definition) if syntax.is_def(definition) else None
        if head is None or head[0] != "handle_info" or len(head[1]) != 2:
            continue
        message = head[1][0]
        name = syntax.text(message)
        reads = message.type == "identifier" and not name.startswith("_")
        if reads and syntax.variable_uses(definition, name)[1:]:
            return True
    return False


def _handles_failure(down: Node, module: Node) -> bool:
    """The ``:DOWN`` clause is there for a failed task, not only for the end of one. Not so
    when it ignores the reason, the reply clauses leave the monitor on (no
    ``Process.demonitor(ref, [:flush])``, so the normal ``:DOWN`` arrives after every reply),
    and it does what a reply clause does (``done?: true`` in both): it treats every end
    alike, and a crash ending the work quietly there would be no better than the crash the
    link gives. Nor when it does nothing (``{:noreply, state}``): a sink for the ``:DOWN``
    that follows each reply, where `async_nolink` would only make a crash go unnoticed."""
    if process_state.does_nothing(down):
        return False
    for reason in process_state.down_reasons(down):
        name = syntax.text(reason)
        if reason.type != "identifier":
            return True
        if not name.startswith("_") and syntax.variable_uses(down, name)[1:]:
            return True
    replies = [definition for definition, _ in _replies_in(module)]
    # Clauses for the same task match the same state (`%{stream_ref: ref} = state`).
    paired = [r for r in replies if _state_pattern(r) == _state_pattern(down)]
    replies = paired or replies
    if any(_flushes(definition) for definition in replies):
        return True
    return _outcome(down) not in {_outcome(definition) for definition in replies}


def _state_pattern(definition: Node) -> str:
    """The last parameter of a clause (the state it matches), as text."""
    head = clauses.head(definition)
    return syntax.text(head[1][-1]) if head is not None and head[1] else ""


def _outcome(definition: Node) -> str:
    """What a clause does, as text with its layout left out."""
    return " ".join(" ".join(syntax.text(s).split()) for s in syntax.body_statements(definition))


def _flushes(definition: Node) -> bool:
    return any(
        n.type == "call"
        and syntax.remote_target(n) == ("Process", "demonitor")
        and ":flush" in syntax.text(n)
        for n in syntax.descendants(definition)
    )


# -- where the task's messages go ------------------------------------------------------
#
# A task started by code that runs in the process (a callback, or a function a callback
# calls) sends its reply and `:DOWN` to that process; one started by a client function of the
# same module, or by a telemetry or logger handler defined there, sends them to whichever
# process called it, which the module's `handle_info/2` never sees.


def _reply_clauses(call: Node) -> list[tuple[Node, bool]]:
    """The module's clauses that read a task's reply ``{ref, result}`` as a message
    (``handle_info/2``, or a `:gen_statem` ``handle_event(:info, ...)``), each with whether it
    takes any task's reply (its ref is not matched against the state)."""
    module = syntax.enclosing_module(call)
    return _replies_in(module) if module is not None else []


@syntax.remembered
def _replies_in(module: Node) -> list[tuple[Node, bool]]:
    found = []
    for message in _messages_in(module):
        if message.function not in (("handle_info", 2), ("handle_event", 4)):
            continue
        elements = message.elements
        if len(elements) != 2 or elements[0].type != "identifier":
            continue
        ref = syntax.text(elements[0])
        matched = not ref.startswith("_") and any(
            syntax.variable_uses(p, ref) for p in message.after
        )
        found.append((message.definition, not matched))
    return found


@dataclass(frozen=True)
class _Message:
    """A clause that receives process messages, matching a tuple message."""

    definition: Node
    function: tuple[str, int]
    elements: list[Node]
    """The tuple's elements (comments left out)."""
    after: list[Node]
    """The clause's parameters after the message (the state)."""


@syntax.remembered  # asked for every task started in the module
def _messages_in(module: Node) -> list[_Message]:
    """Every ``handle_info/2`` clause, `:gen_statem` ``handle_event(:info, message, ..)``
    or state function ``state(:info, message, data)`` whose message is a tuple."""
    found = []
    body = syntax.module_body(module)
    for definition in body.named_children if body is not None else []:
        head = clauses.head(definition) if syntax.is_def(definition) else None
        if head is None:
            continue
        name, params = head[0], head[1]
        if name == "handle_info" and len(params) == 2:
            index = 0
        elif len(params) in (3, 4) and syntax.text(params[0]) == ":info":
            index = 1
        else:
            continue
        message = params[index]
        if message.type == "binary_operator":  # {ref, r} = message
            message = message.child_by_field_name("left") or message
        if message.type != "tuple":
            continue
        elements = [c for c in message.named_children if c.type != "comment"]
        found.append(_Message(definition, (name, len(params)), elements, params[index + 1 :]))
    return found


def _yields(scope: Node) -> bool:
    return not process_state.YIELDS.isdisjoint(process_state.calls_under(scope))


def _cannot_crash(call: Node) -> bool:
    """The task's function is one `try` that rescues or catches, or one call to a function of
    the module whose every clause catches everything (``catch kind, reason`` at its end): it
    returns a value instead of crashing, so the link never fires."""
    args = syntax.argument_nodes(call)
    if syntax.remote_target(call) == (SUPERVISED, "async"):
        args = calls.arguments(call)[1:]  # the supervisor first, piped or not
    statements = syntax.fn_statements(args[0] if args else None)
    if len(statements) != 1 or statements[0].type != "call":
        return False
    statement = statements[0]
    name = syntax.local_target(statement)
    if name == "try":
        return _handles(syntax.do_block(statement))
    module = syntax.enclosing_module(call)
    if not name or module is None:
        return False
    helpers = clauses.of_module(module, name, calls.arity_at(statement))
    return bool(helpers) and all(map(process_state.returns_whatever_happens, helpers))


def _handles(block: Node | None) -> bool:
    """A do block with a ``rescue`` or ``catch``."""
    return block is not None and bool(syntax.handler_blocks(block))


def _helper_callers(definition: Node, site: Node) -> list[tuple[Node, Node]]:
    """When the task is what a function of the module returns, the local calls of that
    function (the call's site and its enclosing definition); else nothing."""
    if not _returned(definition, site):
        return []
    module = syntax.enclosing_module(definition)
    name = clauses.name(definition)
    if module is None or not name:
        return []
    found = []
    for node in _calls_by_name(module).get(name, ()):  # name(...) and &name/1
        if node.type == "call" and clauses.is_head(node):
            continue
        arity = calls.arity(node) if node.type == "call" else calls.capture_arity(node)
        if arity is not None and not clauses.accepts(definition, arity):
            continue  # `async(node, func)`, not the `async(node, mod, fun, args)` it asks of
        site = calls.site(node) if node.type == "call" else node
        caller = syntax.enclosing_definition(node)
        if caller is not None and caller != definition:
            found.append((site, caller))
    return found


MAPPING = frozenset({("Enum", "map"), ("Enum", "flat_map"), ("Stream", "map")})


def _returned(definition: Node, site: Node) -> bool:
    """The task is what the function returns, alone or as an element of a list it maps out
    (``Enum.map(items, fn item -> Task.async(...) end)`` as the last expression)."""
    tails = _tails(definition)
    node = site
    while node not in tails:
        holder = _mapping_holder(node)
        if holder is None:
            return False
        node = calls.site(holder)
    return True


def _mapping_holder(node: Node) -> Node | None:
    """The ``Enum.map`` call whose function returns ``node``: ``fn x -> node end`` (as its
    last expression) or ``&node`` passed to it."""
    parent = syntax.parent(node)
    function: Node | None = None
    if parent is not None and parent.type == "unary_operator" and syntax.is_capture(parent):
        function = parent
    elif parent is not None and parent.type == "body":
        clause = syntax.parent(parent)
        function = syntax.parent(clause) if clause is not None else None
        if (
            syntax.last_non_comment(parent) != node
            or function is None
            or function.type != "anonymous_function"
        ):
            return None
    if function is None:
        return None
    arguments = syntax.parent(function)
    holder = (
        syntax.parent(arguments)
        if arguments is not None and arguments.type == "arguments"
        else None
    )
    if holder is None or syntax.remote_target(holder) not in MAPPING:
        return None
    return holder


@syntax.remembered  # asked for every task a function starts
def _tails(definition: Node) -> frozenset[Node]:
    return frozenset(syntax.tail_expressions(syntax.body_of(definition)))


@syntax.remembered  # asked for every function returning a task
def _calls_by_name(module: Node) -> dict[str, list[Node]]:
    """The local calls (``name(...)``) and captures (``&name/1``) in ``module`` by name, in
    document order."""
    found: dict[str, list[Node]] = {}
    for node in syntax.descendants(module):
        if node.type == "call":
            name = syntax.local_target(node)
        elif syntax.is_capture(node):
            name = syntax.captured_function(node)
        else:
            continue
        if name:
            found.setdefault(name, []).append(node)
    return found


def _runs_isolated(call: Node) -> bool:
    return syntax.inside_call(call, ISOLATING_CALLS)


def _site(call: Node) -> Node:
    """The node the finding covers: the whole pipe, the whole capture, or the call itself."""
    return calls.site(call)


# -- the fix ---------------------------------------------------------------------------

ARITIES = frozenset({1, 3})
AWAIT = ("Task", "await")
DEFAULT_AWAIT_TIMEOUT = "5000"
RESULT_VARIABLES = ("result", "task_result", "reply", "value")


def _fix(
    context: Context, call: Node, site: Node, unawaited: bool = False, supervised: bool = False
) -> Fix | None:
    """By what becomes of the task: never awaited, `Task.Supervisor.start_child` (safe: no
    reply nor `:DOWN` message to handle); awaited through a variable, `async_nolink` plus each
    `Task.await` turned into `Task.yield || Task.shutdown` with the failure as a value
    (unsafe); otherwise `async_nolink` alone (unsafe: the caller must handle the crash's
    `:DOWN` message, and `Task.await` still exits it). A task a private helper returns to
    callers that all drop it is never awaited too. No fix for a caller that waits for the
    task's `{:EXIT, ...}`: a supervised task never sends one."""
    exits = fixes.exit_handling(call)
    if exits == "receives":
        return None
    if supervised:
        supervisor = fixes.Started("the same supervisor")
    else:
        supervisor = fixes.task_supervisor(context, call)
    name, note = supervisor.name, supervisor.note
    use = _task_use(context, call, site)
    returned = unawaited and not values.discarded(site)
    if returned:
        use = "discarded"  # returned to callers that all drop it
    if use == "discarded" and _expects_task_messages(context, call):
        use = "other"  # the reply is read in handle_info: a started child would send none
    if use == "discarded":
        edit = _rewritten(context, call, "start_child", name, supervised)
        title = f"Use Task.Supervisor.start_child on {name}{note} (the task is never awaited)"
        safety = supervisor.safety
        if returned and not _in_private_function(call):
            title += ": the public function now returns {:ok, pid}, not a Task"
            safety = "unsafe"  # code outside the project may call it and keep the task
        edits = [edit] if edit is not None else []
    else:
        edit = _rewritten(context, call, "async_nolink", name, supervised)
        if edit is None:
            return None
        edits = [edit]
        if use == "yielded":
            handled = _handles_exit(call)
            title = f"Use Task.Supervisor.async_nolink on {name}{note}" + (
                ": a failed task now reaches the {:exit, reason} clause"
                if handled
                else ": review what handles the {:exit, reason} Task.yield now gives for a crash"
            )
        elif isinstance(use, list):
            edits.extend(e for await_call in use for e in _await_edits(context, await_call))
            title = (
                f"Use Task.Supervisor.async_nolink on {name}{note}, and Task.yield/"
                "Task.shutdown instead of Task.await: review what the caller does with "
                "{:error, reason} when the task fails"
            )
        else:
            awaits = " (Task.await still exits it)" if "Task.await" in context.source.text else ""
            title = (
                f"Use Task.Supervisor.async_nolink on {name}{note}: review the caller, which "
                f"now gets the task's crash as a :DOWN message{awaits}"
            )
        safety = supervisor.safety if use == "yielded" and _handles_exit(call) else "unsafe"
    if not edits:
        return None
    if exits == "traps":
        title += fixes.TRAPS_EXITS_NOTE
        safety = "unsafe"
    if fixes.before_the_supervision_tree(call):
        title += fixes.BEFORE_THE_TREE_NOTE
        safety = "unsafe"
    edits = fixes.joined_edits(context, edits)
    return Fix(title, (*edits, *supervisor.edits), safety)


def _rewritten(
    context: Context, call: Node, function: str, supervisor: str, supervised: bool
) -> Edit | None:
    """The call as ``Task.Supervisor.<function>`` on ``supervisor``; a call already on a
    Task.Supervisor keeps its own, and every argument, and changes only the function's name
    (``Task.Supervisor.async/2..5`` has the same arities as ``async_nolink`` and
    ``start_child``)."""
    if not supervised:
        return fixes.rewrite_call(
            context, call, f"Task.Supervisor.{function}", [supervisor], ARITIES
        )
    target = call.child_by_field_name("target")
    name = target.child_by_field_name("right") if target is not None else None
    if name is None or context.text(name) not in ("async", "async_nolink"):
        return None
    start, end = context.span(name)
    return Edit(start, end, function)


def _in_private_function(call: Node) -> bool:
    definition = syntax.enclosing_definition(call)
    return definition is not None and syntax.local_target(definition) == "defp"


def _expects_task_messages(context: Context, call: Node) -> bool:
    """The call runs in the process, and the module handles a task's messages: a clause for
    ``{ref, result}`` (a two-element tuple not starting with a literal) or ``{:DOWN, ...}`` as
    a message — in ``handle_info/2``, or a `:gen_statem`'s ``handle_event(:info, message,
    state, data)`` or state function ``state(:info, message, data)``."""
    module = syntax.enclosing_module(call)
    if module is None or not process_state.runs_in_process(context, call):
        return False
    return bool(_reply_clauses(call)) or _reads_task_messages(module)


def _reads_task_messages(module: Node) -> bool:
    for message in _messages_in(module):
        first = syntax.text(message.elements[0]) if message.elements else ""
        if first == ":DOWN" or (len(message.elements) == 2 and not first.startswith((":", '"'))):
            return True
    return False


def _task_use(context: Context, call: Node, site: Node) -> str | list[Node]:
    """``"discarded"`` when the task's value is dropped; ``"yielded"`` when it is bound to a
    variable only passed to `Task.yield`/`Task.shutdown`; the ``Task.await`` calls when it is
    bound to a variable only ever awaited; else ``"other"``."""
    if syntax.is_capture(site):
        return "other"
    parent = syntax.parent(site)
    if parent is None:
        return "other"
    if parent.type in fixes.STATEMENT_CONTAINERS:
        last = syntax.last_non_comment(parent)
        returned = last is None or last == site
        # the value of a branch (`with ... do task end`) whose own value is dropped goes nowhere
        dropped = not returned or values.each_drops(parent) or values.discarded(site)
        return "discarded" if dropped else "other"
    if (
        parent.type == "binary_operator"
        and syntax.operator(parent) == "="
        and parent.child_by_field_name("right") == site
        and (holder := syntax.parent(parent)) is not None
        and holder.type in fixes.STATEMENT_CONTAINERS
    ):
        left = parent.child_by_field_name("left")
        if left is None or left.type != "identifier":
            return "other"
        variable = syntax.text(left)
        if variable.startswith("_"):
            return "discarded"
        return _awaits_of(parent, variable)
    return "other"


def _awaits_of(binding: Node, variable: str) -> str | list[Node]:
    """The ``Task.await(variable[, timeout])`` calls after ``binding`` in its function, when
    they are the variable's only uses and each can be rewritten in place."""
    definition = syntax.enclosing_definition(binding)
    if definition is None:
        return "other"
    uses = [
        use
        for use in syntax.variable_uses(definition, variable)
        if use.start_byte >= binding.end_byte
    ]
    if any(_rebinds(definition, variable, binding)):
        return "other"
    if not uses:
        return "discarded"
    if all(_yielded(use) for use in uses):
        return "yielded"
    awaits = []
    for use in uses:
        await_call = _await_of(use)
        if await_call is None or _await_statement(await_call) is None:
            return "other"
        awaits.append(await_call)
    return awaits


def _rebinds(definition: Node, variable: str, binding: Node) -> list[Node]:
    return [n for n in _bindings(definition).get(variable, ()) if n.start_byte > binding.end_byte]


@syntax.remembered  # asked for every task bound to a variable in the function
def _bindings(definition: Node) -> dict[str, list[Node]]:
    """The identifiers in ``definition`` that sit where they get bound (`syntax.in_pattern`
    below it), by name, in document order: one walk down, which knows whether each node is
    on the left of an ``=``, a ``<-`` or a clause's ``->``."""
    found: dict[str, list[Node]] = {}
    stack: list[tuple[Node, bool]] = [(definition, False)]
    while stack:
        node, bound = stack.pop()
        if node.type == "identifier" and bound:
            found.setdefault(syntax.text(node), []).append(node)
        left = node.child_by_field_name("left") if _binds_left(node) else None
        stack.extend((c, bound or c == left) for c in reversed(node.named_children))
    return found


def _binds_left(node: Node) -> bool:
    if node.type == "binary_operator":
        return syntax.operator(node) in ("=", "<-")
    return node.type == "stab_clause"


YIELDING = frozenset({("Task", "yield"), ("Task", "shutdown")})


def _yielded(use: Node) -> bool:
    """``use`` is the task of ``Task.yield(use, ...)`` or ``Task.shutdown(use, ...)``."""
    holder = syntax.parent(use)
    call = syntax.parent(holder) if holder is not None and holder.type == "arguments" else None
    args = syntax.argument_nodes(call) if call is not None else []
    return call is not None and syntax.remote_target(call) in YIELDING and args[:1] == [use]


def _handles_exit(call: Node) -> bool:
    """The calling function matches ``{:exit, reason}``: what `Task.yield` gives for a failed
    unlinked task."""
    definition = syntax.enclosing_definition(call)
    return definition is not None and _matches_exit_tuple(definition)


@syntax.remembered  # asked for every task started in the function
def _matches_exit_tuple(definition: Node) -> bool:
    return any(
        n.type == "tuple" and n.named_children and syntax.text(n.named_children[0]) == ":exit"
        for n in syntax.descendants(definition)
    )


def _await_of(use: Node) -> Node | None:
    """The ``Task.await(use)`` / ``Task.await(use, timeout)`` call ``use`` is the task of."""
    holder = syntax.parent(use)
    if holder is None or holder.type != "arguments":
        return None
    await_call = syntax.parent(holder)
    args = syntax.argument_nodes(await_call) if await_call is not None else []
    if (
        await_call is None
        or syntax.remote_target(await_call) != AWAIT
        or not args
        or args[0] != use
        or len(args) > 2
    ):
        return None
    return await_call


BRANCHING = frozenset({"if", "unless", "case", "cond", "with", "for", "receive", "try", "fn"})
SHORT_CIRCUIT = frozenset({"&&", "||", "and", "or", "when", "|>", "=", "<-", "::"})


HOISTABLE_THROUGH = frozenset(
    {
        "arguments",
        "tuple",
        "list",
        "map",
        "map_content",
        "keywords",
        "pair",
        "dot",
        "binary_operator",
    }
)


def _await_statement(await_call: Node) -> Node | None:
    """The statement the await's value can be computed before: the await itself or the
    assignment it is the right side of (rewritten in place), or a statement holding it
    only in arguments, tuples, lists and maps with no call evaluated before it. None when
    moving it would change what runs (a branch, a short-circuit, an earlier call)."""
    statement = fixes.statement_of(await_call)
    if statement is not None:
        return statement
    node = await_call
    while (parent := syntax.parent(node)) is not None and (
        parent.type not in fixes.STATEMENT_CONTAINERS
    ):
        if parent.type == "call":
            if syntax.local_target(parent) in BRANCHING or syntax.do_block(parent) is not None:
                return None
        elif parent.type not in HOISTABLE_THROUGH or (
            parent.type == "binary_operator" and syntax.operator(parent) in SHORT_CIRCUIT
        ):
            return None
        node = parent
    if parent is None:
        return None
    earlier_calls = [
        n
        for n in syntax.descendants(node)
        if n.type == "call" and n.end_byte <= await_call.start_byte
    ]
    return None if earlier_calls else node


def _await_edits(context: Context, await_call: Node) -> list[Edit]:
    """``Task.await(task, t)`` turned into a ``case`` over ``Task.yield(task, t) ||
    Task.shutdown(task)`` that gives the result, or ``{:error, reason}`` when the task failed
    or timed out: in place for a statement or an assignment's right side, else computed
    into a fresh variable just before the statement that holds the await."""
    args = syntax.argument_nodes(await_call)
    task = context.text(args[0])
    timeout = context.text(args[1]) if len(args) > 1 else DEFAULT_AWAIT_TIMEOUT
    statement = _await_statement(await_call)
    assert statement is not None
    source = context.source
    newline = source.newline
    indent = source.line_indent(source.line_of(context.span(statement)[0]))

    def case_text(base: str) -> str:
        inner = base + "  "
        return newline.join(
            [
                f"case Task.yield({task}, {timeout}) || Task.shutdown({task}) do",
                f"{inner}{{:ok, result}} -> result",
                f"{inner}{{:exit, reason}} -> {{:error, reason}}",
                f"{inner}nil -> {{:error, :timeout}}",
                f"{base}end",
            ]
        )

    line_start = source.line_starts[source.line_of(context.span(statement)[0])]
    if statement == await_call:
        end = context.span(statement)[1]
        new = f"{indent}{case_text(indent)}"
        return [fixes.spaced_edit(context, statement, line_start, end, new)]
    if fixes.statement_of(await_call) == statement:  # var = Task.await(...)
        operator = statement.child_by_field_name("operator")
        assert operator is not None
        lhs = source.text[line_start : context.span(operator)[1]]
        end = context.span(await_call)[1]
        inner = indent + "  "
        new = f"{lhs}{newline}{inner}{case_text(inner)}"
        return [fixes.spaced_edit(context, statement, line_start, end, new)]
    definition = syntax.enclosing_definition(await_call)
    taken = syntax.identifier_names(definition) if definition is not None else set()
    variable = next((n for n in RESULT_VARIABLES if n not in taken), "task_result_")
    inner = indent + "  "
    hoisted = f"{indent}{variable} ={newline}{inner}{case_text(inner)}"
    start, end = context.span(await_call)
    return [fixes.spaced_insert(context, statement, hoisted), Edit(start, end, variable)]


RULE = Rule(
    code="OTP101",
    name="task-async",
    severity="warning",
    summary=(
        "Task.async whose caller handles a failed task or never awaits it, or Task.start_link "
        "whose pid nobody keeps: the link crashes the caller (and async_nolink nobody awaits)"
    ),
    doc=DOC,
    check=check,
    words=("Task",),
    project_files=lambda summary: summary.starts_tasks,
    production_only=True,
    fixable=True,
)
