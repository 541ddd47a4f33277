"""OTP004 call-timeout-infinity: a synchronous call that may wait forever."""

from __future__ import annotations

from collections.abc import Iterator

from tree_sitter import Node

from otp_thinking import syntax
from otp_thinking.context import Context
from otp_thinking.findings import Finding
from otp_thinking.model import calls, clauses, modules
from otp_thinking.rule import Rule

DOC = """\
## What it flags
Waits with no end, in production code:
- `GenServer.call/3`, `:gen_server.call/3` and `:gen_statem.call/3` whose timeout is `:infinity`,
  written literally (also in a pipe: `pid |> GenServer.call(msg, :infinity)`) or through a module
  attribute of the same module whose every definition is `:infinity` (`@timeout :infinity`);
- `Task.await_many/2` and `Task.yield_many/2` with `:infinity`;
- `:rpc.call/4`, which has no timeout at all, and `:rpc.call/5` with `:infinity`.

Not flagged: explicit finite timeouts (`GenServer.call(pid, msg, 30_000)`), the default (no
third argument: 5 seconds), timeouts held in variables or read from configuration (the value is
not known from the code); tests, `.exs` scripts and Mix tasks (`use Mix.Task`, or named under
`Mix.Tasks.`), where waiting as long as it takes is usually what you want. Also silent where the
code shows the wait is meant or bounded elsewhere:
- the request carries the caller's own bound (`{:wait_until, level, timeout}`, a `deadline`),
  which the server enforces;
- requests shaped like a supervisor's (`{:start_child, spec}`, a `supervisor` argument, a
  `start_child` function): OTP's own supervisor API calls with `:infinity`, and the child's
  start is bounded by the child;
- requests that stop the server (`:stop`, `{:shutdown, reason}`, a `stop` function):
  `GenServer.stop/1` itself waits with `:infinity`, as long as shutting down takes;
- requests the module's own `handle_call/3` answers later (`{:noreply, ..}` and a
  `GenServer.reply/2` when a lock is free or data arrives): waiting is the point of the call;
- `:rpc.call` of a lookup that answers at once on the remote node (`Process.whereis`,
  `Code.ensure_loaded?`, `:erlang.system_info`, `:mnesia.system_info`, `Application.get_env`),
  or of a function bounded by its own timeout (`:mnesia.wait_for_tables(tables, 15_000)`);
- `Task.await_many`/`Task.yield_many` in a function whose tasks' work is itself written
  without a bound (`Repo.all(query, timeout: :infinity)`): a long computation that is meant;
- a comment in the function, or a comment or `@doc` right above it, that speaks of the wait
  (`infinite`, `timeout`, `forever`, `how long`);
- test doubles kept in `lib/` (modules named `…Mock`, `Fake…`);
- modules that drive `Mix` at run time (build tooling, which waits as long as a build takes),
  and files under development, benchmark, example or test-app folders (`dev/`, `bench/`,
  `examples/`).

## Why it matters
A call is the caller's back-pressure: it waits for the reply, and its timeout says how long the
caller accepts to wait. With `:infinity` the caller never gives up. If the server is stuck
(a slow query, a deadlock where it calls back into the caller, a full mailbox) every caller
piles up behind it, and nothing ever crashes to tell a supervisor something is wrong: the
system hangs instead of failing. A finite timeout turns the hang into an exit the caller (or its
supervisor) can handle, and into a log line that says where.

`:infinity` is sometimes right: the callee enforces its own deadline, or the work is a
long-running batch the caller must wait for. Then keep it, and say so where the call is.

## Example
```elixir
def fetch(key), do: GenServer.call(__MODULE__, {:fetch, key}, :infinity)
```

Pick the longest wait the caller can afford, and handle the timeout where it matters:

```elixir
def fetch(key), do: GenServer.call(__MODULE__, {:fetch, key}, 15_000)
```

## Fix
No automatic fix: only you know how long the caller may wait. Replace `:infinity` with a
finite timeout in milliseconds, or keep it and suppress the finding with a comment saying why
(`# otp-thinking: disable-next-line OTP004`).
"""


CALL_MESSAGE = (
    "{callee} with an :infinity timeout waits forever when the server is stuck; "
    "give the call a finite timeout the caller can afford."
)
TASKS_MESSAGE = (
    "Task.{function} with an :infinity timeout waits forever if one task hangs; "
    "give it a finite timeout and decide what happens to the tasks that miss it."
)
RPC_DEFAULT_MESSAGE = (
    ":rpc.call/4 has no timeout: if the remote function hangs, the caller waits forever; "
    "pass a finite timeout as the fifth argument."
)
RPC_INFINITY_MESSAGE = (
    ":rpc.call with an :infinity timeout waits forever if the remote function hangs; "
    "give it a finite timeout the caller can afford."
)

SUPERVISOR_REQUESTS = frozenset(
    {
        "start_child",
        "terminate_child",
        "restart_child",
        "delete_child",
        "which_children",
        "count_children",
    }
)
"""Requests shaped like OTP's supervisor API, which itself calls with `:infinity`: starting a
child waits for its `init/1`, and the child's own start timeout bounds that."""

STOP_REQUESTS = frozenset({"stop", "shutdown", "terminate"})
"""Requests that stop the server: `GenServer.stop/1` itself waits with `:infinity`, for as long
as the server's `terminate/2` and its children's shutdown take."""

SUPERVISOR_WORDS = ("supervisor", "sup")
BOUND_WORDS = ("timeout", "deadline")
"""A request carrying one of these (`{:wait_until, level, timeout}`) brings the caller's own
bound; the server enforces it, and the outer `:infinity` only keeps the call from racing it."""

EXPLAINED_WORDS = (
    "infinit",
    "timeout",
    "time out",
    "forever",
    "how long",
    "max time",
    "long time",
    "upper bound",
)
"""Words in a comment or `@doc` next to the call that show the wait was thought about."""


def check(context: Context) -> Iterator[Finding]:
    for call, message in _unbounded_waits(context):
        if not _deliberate(context, call):
            yield context.finding(RULE, call, message)


def _unbounded_waits(context: Context) -> Iterator[tuple[Node, str]]:
    for captures in context.remote_calls({"GenServer", ":gen_server", ":gen_statem"}, {"call"}):
        call = captures["call"][0]
        timeout = _argument(call, 2, of=3)
        if timeout is not None and _is_infinity(timeout):
            callee = f"{context.text(captures['module'][0])}.call"
            yield call, CALL_MESSAGE.format(callee=callee)
    for captures in context.remote_calls({"Task"}, {"await_many", "yield_many"}):
        call = captures["call"][0]
        timeout = _argument(call, 1, of=2)
        if timeout is not None and _is_infinity(timeout):
            yield call, TASKS_MESSAGE.format(function=context.text(captures["function"][0]))
    for captures in context.remote_calls({":rpc"}, {"call"}):
        call = captures["call"][0]
        if syntax.is_capture(call.parent) or _instant_remote(call):
            continue
        if calls.arity(call) == 4:
            yield call, RPC_DEFAULT_MESSAGE
        else:
            timeout = _argument(call, 4, of=5)
            if timeout is not None and _is_infinity(timeout):
                yield call, RPC_INFINITY_MESSAGE


# Remote functions that answer at once, whatever the node does: lookups in its own tables.
INSTANT_REMOTE = frozenset(
    {
        ("Process", "whereis"),
        (":erlang", "whereis"),
        ("Code", "ensure_loaded?"),
        (":code", "is_loaded"),
        ("Node", "self"),
        (":erlang", "node"),
        (":erlang", "system_info"),
        ("System", "otp_release"),
        ("System", "version"),
        ("Application", "get_env"),
        ("Application", "spec"),
        (":application", "get_env"),
        ("Kernel", "function_exported?"),
        (":erlang", "function_exported"),
        (":erlang", "statistics"),
        (":mnesia", "system_info"),
    }
)
BOUNDED_REMOTE = frozenset({(":mnesia", "wait_for_tables")})
"""Remote functions whose last argument is their own timeout: `:rpc.call(node, :mnesia,
:wait_for_tables, [tables, 15_000])` returns `{:timeout, tables}` when it runs out."""


def _instant_remote(call: Node) -> bool:
    """``:rpc.call(node, Process, :whereis, [name])``: the remote function is a lookup that
    answers at once (a node that does not answer at all makes `:rpc` return
    ``{:badrpc, :nodedown}``); waiting without a bound cannot hang on it."""
    args = syntax.argument_nodes(call)
    if calls.is_piped(call) or len(args) < 3 or args[2].type != "atom":
        return False
    remote = (syntax.text(args[1]), syntax.text(args[2]).lstrip(":"))
    if remote in INSTANT_REMOTE:
        return True
    listed = args[3] if len(args) > 3 and args[3].type == "list" else None
    own = listed.named_children[-1] if listed is not None and listed.named_children else None
    return remote in BOUNDED_REMOTE and own is not None and not _is_infinity(own)


def _argument(call: Node, index: int, *, of: int) -> Node | None:
    """The argument at ``index`` (0-based, counting a piped-in first one) when the call has
    exactly ``of`` arguments."""
    if calls.arity(call) != of:
        return None
    args = syntax.argument_nodes(call)
    return args[index - 1] if calls.is_piped(call) else args[index]


def _is_infinity(node: Node) -> bool:
    if node.type == "atom":
        return syntax.text(node) == ":infinity"
    name = syntax.attribute_name(node)
    if name is None:
        return False
    module = syntax.enclosing_module(node)
    values = syntax.module_attributes(module).get(name, []) if module is not None else []
    return bool(values) and all(syntax.text(value) == ":infinity" for value in values)


def _deliberate(context: Context, call: Node) -> bool:
    """The code shows the unbounded wait is meant or bounded elsewhere (see the doc)."""
    return (
        context.tooling_file
        or _carries_a_bound_or_supervisor(call)
        or _answered_later(context, call)
        or _work_unbounded_too(call)
        or _explained(call)
        or modules.test_double(modules.path_at(call))
        or _in_module_driving_mix(context, call)
    )


def _answered_later(context: Context, call: Node) -> bool:
    """A request to the module's own server whose ``handle_call/3`` clause returns
    ``{:noreply, ..}``: the reply waits for an event (a lock freed, data arriving), and a
    timeout would cut off a wait that is the point of the call."""
    if syntax.remote_target(call) == (":rpc", "call"):
        return False
    module = modules.at(context, call)
    requests = _request_arguments(call)
    if module is None or not requests or not module.is_genserver:
        return False
    tag = modules.request_tag(requests[0])
    return tag is not None and tag in module.deferred_requests


def _work_unbounded_too(call: Node) -> bool:
    """``Task.await_many(tasks, :infinity)`` in a function whose tasks' own work is written
    without a bound (``Repo.all(query, timeout: :infinity)``): the long computation is meant,
    and a finite wait on top of it would only abandon it."""
    if syntax.remote_target(call) not in (("Task", "await_many"), ("Task", "yield_many")):
        return False
    definition = syntax.enclosing_definition(call)
    if definition is None:
        return False
    return any(
        node.type == "atom"
        and syntax.text(node) == ":infinity"
        and node.parent is not None
        and node.parent.type == "pair"
        and not (call.start_byte <= node.start_byte < call.end_byte)
        for node in syntax.descendants(definition)
    )


def _carries_a_bound_or_supervisor(call: Node) -> bool:
    definition = syntax.enclosing_definition(call)
    function = clauses.name(definition) if definition is not None else ""
    if function in SUPERVISOR_REQUESTS or function in STOP_REQUESTS:
        return True
    for argument in _request_arguments(call):
        tag = argument
        if argument.type == "tuple":
            tag = next(iter(argument.named_children), argument)
        if tag.type == "atom":
            name = syntax.text(tag).lstrip(":")
            if name in SUPERVISOR_REQUESTS or name in STOP_REQUESTS:
                return True
        for node in [argument, *syntax.descendants(argument)]:
            if node.type != "identifier":
                continue
            name = syntax.text(node).lower().lstrip("_")
            if name in SUPERVISOR_WORDS or any(word in name for word in BOUND_WORDS):
                return True
    return False


def _request_arguments(call: Node) -> list[Node]:
    """What the call sends: every argument but the target and the timeout."""
    args = syntax.argument_nodes(call)
    target, remote = syntax.remote_target(call) or ("", "")
    first = 0 if calls.is_piped(call) else 1
    if target == ":rpc":
        first = 2 if calls.is_piped(call) else 3
    elif target == "Task":
        return []
    return args[first : first + 1]


def _explained(call: Node) -> bool:
    """A comment in the function around the call, or a comment or `@doc` written above it
    (over the function's earlier clauses and its other attributes), speaks of the wait."""
    definition = syntax.enclosing_definition(call)
    if definition is None:
        return False
    texts = [syntax.text(n) for n in syntax.descendants(definition) if n.type == "comment"]
    texts.extend(_leading_notes(definition))
    return any(word in text.lower() for text in texts for word in EXPLAINED_WORDS)


def _leading_notes(definition: Node) -> list[str]:
    name = clauses.name(definition)
    notes: list[str] = []
    sibling = definition.prev_named_sibling
    while sibling is not None:
        if sibling.type == "comment":
            notes.append(syntax.text(sibling))
        elif sibling.type == "unary_operator" and syntax.operator(sibling) == "@":
            operand = sibling.child_by_field_name("operand")
            attribute = syntax.local_target(operand) if operand is not None else None
            if attribute not in ("doc", "spec", "impl", "decorate"):
                break
            if attribute == "doc":
                notes.append(syntax.text(sibling))
        elif not (syntax.is_definition(sibling) and clauses.name(sibling) == name):
            break
        sibling = sibling.prev_named_sibling
    return notes


def _in_module_driving_mix(context: Context, call: Node) -> bool:
    """Build tooling (a language server's build runner, a release helper) calls `Mix.*` at run
    time and waits on it as long as a build takes."""
    return syntax.module_holds(_mix_call_starts(context), call)


def _mix_call_starts(context: Context) -> list[int]:
    """Where the file's `Mix.*` calls start, in order: found once per file, since the rule asks
    for every `:infinity` call of it."""
    starts = context.cache.get(MIX_CALLS)
    if starts is None:
        starts = context.cache[MIX_CALLS] = sorted(
            captures["call"][0].start_byte
            for captures in context.matches(syntax.REMOTE_CALLS)
            if _is_mix(context.text(captures["module"][0]))
        )
    return starts


MIX_CALLS = "OTP004 Mix call starts"


def _is_mix(name: str) -> bool:
    return name == "Mix" or name.startswith("Mix.")


RULE = Rule(
    code="OTP004",
    name="call-timeout-infinity",
    severity="information",
    summary="GenServer.call, Task.await_many/yield_many or :rpc.call that can wait forever",
    doc=DOC,
    check=check,
    words=("infinity", "rpc.call"),
    production_only=True,
    preview=True,
)
