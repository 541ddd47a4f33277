"""OTP102 task-async-stream: `Task.async_stream` links every task to the caller."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

from tree_sitter import Node

from otp_thinking import fixes, process_state, syntax
from otp_thinking.context import Context
from otp_thinking.findings import Edit, Finding, Fix
from otp_thinking.model import calls, clauses, effects, modules, reached
from otp_thinking.rule import Rule

DOC = """\
## What it flags
`Task.async_stream/2..5` in production code, in every spelling: a call
(`Task.async_stream(urls, &fetch/1, max_concurrency: 8)`), a pipe
(`urls |> Task.async_stream(&fetch/1)`), module-function-args
(`Task.async_stream(urls, Mod, :fetch, [])`) and a capture (`&Task.async_stream/2`); and
`Task.Supervisor.async_stream`, whose tasks are linked to the caller just the same (its fix is
`Task.Supervisor.async_stream_nolink` on the same supervisor, every argument kept).

Flagged only where the code expects failed tasks as `{:exit, reason}` elements, which a linked
stream never delivers for a crash (the link exits the caller first): the call passes
`zip_input_on_exit: true`, or the function handles `{:exit, _}` elements — a `case`/`fn`
clause, `match?({:exit, _}, &1)`, or a clause of a local reducer it passes (`&collect/2`) —
without simply raising again; or the function the stream is piped or bound into (an `Enum`
or `Stream` call) has a clause for `{:error, _}` elements, which a stream never yields (each
element is `{:ok, result}` or `{:exit, reason}`; the task's own `{:error, _}` comes as
`{:ok, {:error, _}}`): that clause never runs, and the message says so, with no fix, since
unlinking alone would hand the clause an `{:exit, _}` it does not match either. The caller
wanted isolation that the link defeats. When the call
sets no `on_timeout` (nor `timeout: :infinity`), the message adds that a task running past its
timeout exits the caller too (the default is `on_timeout: :exit`), which dropping the link does
not change: `on_timeout: :kill_task` makes it an `{:exit, :timeout}` element as well
(`{:exit, {input, :timeout}}` with `zip_input_on_exit: true`); where the function's clause
is written for pairs (`{:exit, {id, reason}}`) without `zip_input_on_exit`, the message says
that it does not match `{:exit, :timeout}` and needs a clause of its own.

Failures as elements nobody matches: a stream that yields `{:exit, _}` elements (its tasks are
unlinked, `Task.Supervisor.async_stream_nolink`, or `on_timeout: :kill_task` turns a task past
its timeout into `{:exit, :timeout}`), piped or bound into an `Enum`/`Stream` call whose
function matches only `{:ok, _}` in every clause (`Enum.map(fn {:ok, feed} -> feed end)`). The
author chose failures as elements, and the first one raises a `FunctionClauseError` in the
caller. A warning with no fix: what a failed element should become is the author's choice.
Not when the elements are filtered first (`Stream.filter(&match?({:ok, _}, &1))`) or under
`timeout: :infinity` for linked tasks.

Timeouts, in every such call (`Task.Supervisor.async_stream_nolink` too) that sets no
`on_timeout` nor `timeout: :infinity` (a task past its timeout then exits the caller):
- a clause for timed-out tasks as elements (`{:exit, :timeout}`, `{:exit, {input, :timeout}}`,
  `match?({:exit, :timeout}, &1)`) never runs, since they come only with `on_timeout:
  :kill_task`: a warning, whose fix adds that option (safe: only a timeout changes, from an
  exit of the caller to the element the clause handles);
- in a callback of a process module (or a function one reaches), tasks that wait on the
  database, HTTP, a remote node, a socket or a command (followed through the module's own
  functions and, with the project index, other modules'): information, with no fix, since
  the consumer must decide what a timed-out element means. A task function the tool cannot
  follow (`impl().fetch(..)`, options in a variable) is no such sign.

Not flagged:
- timeout handling a stream does deliver: `on_timeout: :kill_task` (timed-out tasks become
  `{:exit, :timeout}` elements, so an `{:exit, _}` clause or `zip_input_on_exit: true` is
  there for them; not with `timeout: :infinity`, under which no task times out and the clause
  can only be for crashes), and `catch :exit` (the default `on_timeout: :exit` exits the caller,
  catchably);
- streams whose consumer has no `{:exit, _}` handling (`Stream.run()`, `fn {:ok, v} -> v end`):
  a crash takes the caller down whether the tasks are linked or not, and nothing shows that is
  unwanted. A catch-all clause next to `{:ok, _}` (`_ -> :error`) is no such sign either: it
  is mostly there for ordinary results or out of caution, and a caller whose crash is retried
  by its own supervisor wants the crash;
- a function or process module that traps exits (`Process.flag(:trap_exit, true)`);
- `init/1`: the process has no state to lose yet, and a crash there makes its start fail,
  which its supervisor reports;
- tests, `.exs` scripts, Mix tasks (`use Mix.Task`, or named under `Mix.Tasks.`) and the `Mix.*`
  modules of build tooling (short-lived code, where a crash taking the caller down is what you
  want);
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
  |> Enum.flat_map(fn
    {:ok, items} -> items
    {:exit, _reason} -> []  # reached for a timeout, never for a crash
  end)
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
`{Task.Supervisor, name: MyApp.TaskSupervisor}` to the application's children, after the
infrastructure and before the first child that uses it. A pipe whose
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


ISOLATING_CALLS = calls.UNLINKED_TASKS | calls.UNLINKED_SPAWNS
"""A stream inside these runs in another process: its crash stays there."""

MESSAGES = {
    "handled": (
        "{stream} links every task to the caller, so a crashing task exits the caller "
        "instead of reaching the {{:exit, ...}} clause on line {line}; use "
        "Task.Supervisor.async_stream_nolink on {where} so failures arrive there."
    ),
    "error": (
        "{stream} yields {{:ok, result}} or {{:exit, reason}} for each element, never "
        "{{:error, _}}: the clause on line {line} never runs, and a crashing task exits the "
        "caller through its link; use Task.Supervisor.async_stream_nolink on {where} and match "
        "{{:exit, reason}} there."
    ),
    "zip": (
        "{stream} links every task to the caller, so a crashing task exits the caller "
        "instead of arriving as the {{:exit, {{input, reason}}}} element that "
        "zip_input_on_exit: true asks for; use Task.Supervisor.async_stream_nolink on "
        "{where}."
    ),
}
SUPERVISED = "Task.Supervisor"
"""``Task.Supervisor.async_stream`` links its tasks to the caller too: the fix only drops the
link, on the same supervisor."""

# Task.async_stream/N becomes Task.Supervisor.async_stream_nolink/N+1, which exists for N 2..5.
ARITIES = frozenset({2, 3, 4, 5})


def check(context: Context) -> Iterator[Finding]:
    streams = context.remote_calls({"Task", SUPERVISED}, {"async_stream", "async_stream_nolink"})
    for captures in streams:
        call = captures["call"][0]
        if syntax.inside_call(call, ISOLATING_CALLS) or modules.in_mix_module(call):
            continue
        site = calls.site(call)
        node = site if syntax.is_capture(site) else call
        supervised = syntax.module_text(captures["module"][0]) == SUPERVISED
        unlinked = context.text(captures["function"][0]) == "async_stream_nolink"
        evidence = None if unlinked else _evidence(context, call)
        if evidence is None:
            unmatched = _unmatched_exits(context, call, node, _stream_name(captures, context))
            if unmatched is not None:
                yield unmatched
                continue
            timed_out = _timeout_finding(context, call, node, _stream_name(captures, context))
            if timed_out is not None:
                yield timed_out
            continue
        message = MESSAGES[evidence.kind].format(
            line=evidence.line(),
            stream=f"{SUPERVISED}.async_stream" if supervised else "Task.async_stream",
            where="the same supervisor" if supervised else "a Task.Supervisor",
        )
        if evidence.kind == "error":
            fix = None  # unlinked, a crash arrives as {:exit, _}, which the clause misses too
        else:
            fix = _unlinked(context, call) if supervised else _fix(context, call)
        if _may_time_out(call):
            message += _timeout_note(evidence)
            fix = replace(fix, title=fix.title + TIMEOUT_FIX_NOTE) if fix is not None else None
        yield context.finding(RULE, node, message, fix=fix)


TIMEOUT_NOTE = (
    " A task that runs past its timeout exits the caller too (on_timeout defaults to :exit): "
    "add on_timeout: :kill_task for it to arrive{there} as {element}."
)
UNMATCHED_TIMEOUT_NOTE = (
    " A task that runs past its timeout exits the caller too (on_timeout defaults to :exit); "
    "with on_timeout: :kill_task it arrives as {{:exit, :timeout}}, which the clause on line "
    "{line} ({{:exit, {reason}}}) does not match: add on_timeout: :kill_task and a clause for it."
)


def _timeout_note(evidence: process_state.Evidence) -> str:
    """What a timed-out task becomes with ``on_timeout: :kill_task``, and whether the failure
    clause the stream's consumer has matches it (``{:exit, {id, reason}}`` written for
    ``zip_input_on_exit`` elements never matches ``{:exit, :timeout}``)."""
    if evidence.kind == "zip":
        return TIMEOUT_NOTE.format(there="", element="{:exit, {input, :timeout}}")
    if evidence.kind == "error":
        return TIMEOUT_NOTE.format(there="", element="{:exit, :timeout}")
    reason = process_state.exit_reason(evidence.node) if evidence.node is not None else None
    if reason is not None and not process_state.matches_an_atom(reason):
        return UNMATCHED_TIMEOUT_NOTE.format(line=evidence.line(), reason=syntax.text(reason))
    return TIMEOUT_NOTE.format(there=" there", element="{:exit, :timeout}")


TIMEOUT_FIX_NOTE = "; a timeout still exits the caller until on_timeout: :kill_task is added"


_WITH_OPTIONS = frozenset({3, 5})
"""Arities of ``Task.async_stream`` whose last argument is the options (one more for
``Task.Supervisor.async_stream``, which takes the supervisor first)."""


def _may_time_out(call: Node) -> bool:
    """A task can run past its timeout and the call leaves ``on_timeout`` at ``:exit``: no
    ``on_timeout`` option, and no ``timeout: :infinity``; options held in a variable or
    computed say nothing either way."""
    args = syntax.argument_nodes(call)
    last = args[-1] if args else None
    if calls.arity(call) - _supervised(call) in _WITH_OPTIONS:
        if last is None or last.type not in ("keywords", "list"):
            return False
    else:
        last = None
    options = dict(syntax.keyword_pairs(last))
    timeout = options.get("timeout")
    return "on_timeout" not in options and not (
        timeout is not None and syntax.text(timeout) == ":infinity"
    )


def _supervised(call: Node) -> bool:
    """The stream runs on a Task.Supervisor, which its first argument names."""
    target = syntax.remote_target(call)
    return target is not None and target[0] == SUPERVISED


def _stream_name(captures: dict[str, list[Node]], context: Context) -> str:
    return f"{context.text(captures['module'][0])}.{context.text(captures['function'][0])}"


# -- timeouts --------------------------------------------------------------------------------

TIMEOUT_MESSAGES = {
    "clause": (
        "{stream} exits the caller when a task runs past its timeout ({limit}): on_timeout "
        "defaults to :exit, so the {{:exit, :timeout}} clause on line {line} never runs; add "
        "on_timeout: :kill_task for timed-out tasks to arrive there."
    ),
    "slow": (
        "{stream} exits the process this runs in when a task runs past its timeout ({limit}; "
        "on_timeout defaults to :exit), and its tasks wait on {work}: one slow element ends "
        "the process, and its state with it. Add on_timeout: :kill_task, handle the "
        "{{:exit, :timeout}} elements it then gives, and set a timeout the work can afford."
    ),
}
SLOW_KINDS = frozenset({"db", "http", "rpc", "socket", "connect", "dns", "cmd"})
"""Work that waits on another machine, the database or a command: the kinds whose time a
task cannot bound (a call to another local process, a file, a sleep are left out)."""
KILL_TASK = "on_timeout: :kill_task"


def _timeout_finding(context: Context, call: Node, node: Node, stream: str) -> Finding | None:
    """A stream whose timeout exits the caller where the code shows that is unwanted: it
    expects timed-out tasks as elements (a warning, fixed by ``on_timeout: :kill_task``), or
    it runs in a process's callback and its tasks wait on slow work (information: what the
    consumer should do with a timed-out element is the author's to decide)."""
    definition = syntax.enclosing_definition(call)
    if definition is None or _in_init(call) or not _may_time_out(call) or _caught(call):
        return None
    limit = _limit(call)
    for scope in (definition, *_local_reducers(definition, call)):
        clause = process_state.timeout_clause(scope, call if scope is definition else None)
        if clause is not None:
            line = clause.start_point.row + 1
            message = TIMEOUT_MESSAGES["clause"].format(stream=stream, limit=limit, line=line)
            edit = _kill_task_edit(context, call)
            fix = Fix(f"Add {KILL_TASK}", (edit,), "safe") if edit is not None else None
            return context.finding(RULE, node, message, fix=fix)
    work = _slow_work(context, call) if process_state.runs_in_process(context, call) else None
    if work is None:
        return None
    message = TIMEOUT_MESSAGES["slow"].format(stream=stream, limit=limit, work=work)
    return context.finding(RULE, node, message).with_severity("information")


UNMATCHED_EXITS = (
    "{stream} yields {{:exit, {reason}}} for a task that {how}, but the function "
    "{consumer} is given (line {line}) matches only {{:ok, _}} elements: that element raises "
    "a FunctionClauseError in the caller; add a clause for it (or filter the elements first)."
)


def _unmatched_exits(context: Context, call: Node, node: Node, stream: str) -> Finding | None:
    """A stream that yields ``{:exit, _}`` elements (its tasks are unlinked, or a task past its
    timeout is killed) read by a function whose every clause matches ``{:ok, _}``: the author
    chose failures as elements, and the first one crashes the caller anyway."""
    unlinked = call.type == "call" and syntax.remote_target(call) == (
        SUPERVISED,
        "async_stream_nolink",
    )
    if not (unlinked or _kills_on_timeout(call)) or _in_init(call):
        return None
    found = process_state.ok_only_element_clause(call)
    if found is None:
        return None
    consumer, clause = found
    if unlinked:
        kills = _kills_on_timeout(call)
        how = "crashes or runs past its timeout (on_timeout: :kill_task)" if kills else "crashes"
        reason = "reason"
    else:
        how, reason = "runs past its timeout (on_timeout: :kill_task)", ":timeout"
    if _zips_input_on_exit(call):
        reason = f"{{input, {reason}}}"
    message = UNMATCHED_EXITS.format(
        stream=stream,
        reason=reason,
        how=how,
        consumer=_consumer_name(consumer),
        line=clause.start_point.row + 1,
    )
    return context.finding(RULE, node, message)


def _consumer_name(consumer: Node) -> str:
    target = syntax.remote_target(consumer)
    return f"{target[0]}.{target[1]}" if target is not None else "the next call"


def _caught(call: Node) -> bool:
    """The stream runs in the body of a ``try`` that catches (``catch :exit, _``)."""
    for ancestor in syntax.ancestors(call):
        if ancestor.type == "call" and syntax.local_target(ancestor) in ("try", "def", "defp"):
            block = syntax.do_block(ancestor)
            return block is not None and any(c.type == "catch_block" for c in block.named_children)
    return False


def _limit(call: Node) -> str:
    """``timeout: 30_000`` as written, or the default."""
    args = syntax.argument_nodes(call)
    options = dict(syntax.keyword_pairs(args[-1] if args else None))
    timeout = options.get("timeout")
    return f"timeout: {syntax.text(timeout)}" if timeout is not None else "5 s by default"


def _slow_work(context: Context, call: Node) -> str | None:
    """What the tasks wait on that can take any time (``Req.get! (through fetch)``), followed
    through the module's functions and, with the project index, other modules' ones; None
    when nothing the tool can see does."""
    module = syntax.enclosing_module(call)
    args = calls.arguments(call)[1 + _supervised(call) :]
    function = args[0] if args else None
    if module is None or function is None:
        return None
    index = context.project.index
    project = reached.project_lookup(index.facts if index.complete else None, module, SLOW_KINDS)
    scanner = reached.Scanner(module, _slow_name, project)
    local = syntax.captured_function(function)
    if local is not None:
        found = scanner.helper_call(local, 0)
        return f"{found[0]} (through {found[1]})" if found is not None else None
    first = scanner.first(function)
    if first is None:
        return None
    _site, name, via = first
    return f"{name} (through {via})" if via else name


def _slow_name(module: str, function: str) -> str | None:
    found = effects.blocking_call(module, function)
    return found.name if found is not None and found.kind in SLOW_KINDS else None


def _kill_task_edit(context: Context, call: Node) -> Edit | None:
    """``on_timeout: :kill_task`` added to the call's options (after the last one, on its
    line or on a line of its own as they are laid out), or as the options when it has none;
    None when the line would pass 98 columns."""
    args = syntax.argument_nodes(call)
    if not args:
        return None
    last = args[-1]
    source = context.source
    with_options = calls.arity(call) - _supervised(call) in _WITH_OPTIONS
    if with_options and last.type == "keywords":
        pairs = [c for c in last.named_children if c.type == "pair"]
        rows = {p.start_point.row for p in pairs}
        at = context.span(pairs[-1])[1]
        if len(rows) == len(pairs) > 1:  # one option a line
            indent = " " * pairs[-1].start_point.column
            return Edit(at, at, f",{source.newline}{indent}{KILL_TASK}")
    elif with_options and last.type == "list":
        at = context.span(last)[1] - 1  # before `]`
    elif with_options:
        return None
    else:
        at = context.span(last)[1]
    line = source.line_of(at)
    if len(source.line_text(line).rstrip("\r\n")) + len(KILL_TASK) + 2 > fixes.LINE_LIMIT:
        return None
    return Edit(at, at, f", {KILL_TASK}")


def _evidence(context: Context, call: Node) -> process_state.Evidence | None:
    """Where the code expects failed tasks as `{:exit, ...}` elements, which a linked stream
    never delivers for a crash: `zip_input_on_exit: true`, or a clause for them in the
    function or in the local reducer it passes (`&reduce/2`). Elsewhere a crash takes the
    caller down whichever way the tasks are started, and nothing shows that is unwanted."""
    definition = syntax.enclosing_definition(call)
    if definition is None or _in_init(call) or process_state.traps_exits(context, call):
        return None
    error = process_state.error_element_clause(call)
    if error is not None:
        return process_state.Evidence("error", error)
    if _kills_on_timeout(call):
        return None
    if _zips_input_on_exit(call):
        return process_state.Evidence("zip", call)
    for scope in (definition, *_local_reducers(definition, call)):
        handled = process_state.failure_clause(scope, task=call)
        if handled is not None:
            return process_state.Evidence("handled", handled)
        if scope is not definition and process_state.failure_head(scope):
            return process_state.Evidence("handled", scope)
    return None


def _kills_on_timeout(call: Node) -> bool:
    """``on_timeout: :kill_task``: a task that runs too long becomes an ``{:exit, :timeout}``
    element, so handling ``{:exit, _}`` elements (or zipping the input into them) serves the
    timeouts, and shows nothing about crashes. Not with ``timeout: :infinity``, under which no
    task times out: the clause is then there for crashes alone."""
    args = syntax.argument_nodes(call)
    options = dict(syntax.keyword_pairs(args[-1] if args else None))
    kills = "on_timeout" in options and syntax.text(options["on_timeout"]) == ":kill_task"
    endless = "timeout" in options and syntax.text(options["timeout"]) == ":infinity"
    return kills and not endless


def _zips_input_on_exit(call: Node) -> bool:
    args = syntax.argument_nodes(call)
    options = args[-1] if args else None
    return any(
        key == "zip_input_on_exit" and syntax.text(value) == "true"
        for key, value in syntax.keyword_pairs(options)
    )


def _local_reducers(definition: Node, call: Node) -> list[Node]:
    """The clauses of the module's functions captured in ``definition`` (``&reducer/2``), but
    not in the stream's own arguments: those run in the tasks."""
    module = syntax.enclosing_module(definition)
    if module is None:
        return []
    names = set()
    for node in syntax.descendants(definition):
        if call.start_byte <= node.start_byte < call.end_byte:
            continue
        name = syntax.captured_function(node)
        if name is not None:
            names.add(name)
    return [d for name in sorted(names) for d in clauses.any_of_module(module, name)]


def _in_init(call: Node) -> bool:
    """``init/1``: no state to lose yet, and a crash there fails the start, as it should."""
    definition = syntax.enclosing_definition(call)
    return definition is not None and clauses.name(definition) == "init"


def _unlinked(context: Context, call: Node) -> Fix | None:
    """``Task.Supervisor.async_stream`` renamed ``async_stream_nolink``, every argument kept
    (the same arities exist); unsafe for the same reasons as the fix of ``Task.async_stream``."""
    exits = fixes.exit_handling(call)
    if exits == "receives":
        return None
    target = call.child_by_field_name("target")
    name = target.child_by_field_name("right") if target is not None else None
    if name is None or context.text(name) != "async_stream":
        return None
    start, end = context.span(name)
    title = (
        "Use Task.Supervisor.async_stream_nolink on the same supervisor "
        "(failed tasks become {:exit, reason} elements)"
    )
    if exits == "traps":
        title += fixes.TRAPS_EXITS_NOTE
    return Fix(title, (Edit(start, end, "async_stream_nolink"),), "unsafe")


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
    summary="Task.async_stream whose caller handles {:exit, _} elements: a crash kills it first",
    doc=DOC,
    check=check,
    words=("Task",),
    production_only=True,
    fixable=True,
)
