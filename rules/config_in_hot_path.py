"""OTP603 config-in-hot-path: application config read on every message a process handles."""

from __future__ import annotations

from collections.abc import Iterator

from tree_sitter import Node

from otp_thinking import callbacks, syntax
from otp_thinking.context import Context
from otp_thinking.findings import Finding
from otp_thinking.model import modules
from otp_thinking.model.modules import Clause
from otp_thinking.rule import Rule

DOC = """\
## What it flags
`Application.get_env/2,3`, `Application.fetch_env/2`, `Application.fetch_env!/2`,
`Application.get_all_env/1` (and `:application.get_env`) called inside a `handle_call/3` or
`handle_cast/2` clause, or a `handle_info/2` clause for messages other processes send (a
`{:tcp, …}` or `{:event, …}` tuple): the config is looked up again for every such request.

Not flagged: reads in `init/1`, `start/2`, `start_link`, `child_spec` or any other function
(they run once per process, not per message); `handle_continue/2` (it runs when the process
asks for it, typically once after `init/1`); `handle_info/2` clauses for a bare atom (`:tick`,
`:init_with_delay`: messages a process sends itself, once or on a timer, where one lookup per
tick costs nothing), for tuples the same file schedules with a timer
(`Process.send_after(self(), {:poll, id}, 5_000)`), and for `{:DOWN, …}`, `{:EXIT, …}`,
`{:nodeup, …}`, `{:nodedown, …}` (rare events); a clause that always stops the process
(`{:stop, :normal, state}`: it runs once, as `init/1` does); module attributes and
`Application.compile_env` (resolved at compile time); private helpers called from a callback
(the rule does not follow calls); tests, `.exs` scripts and Mix tasks.

## Why it matters
Configuration that does not change while the process runs is a constant, but
`Application.get_env` is a lookup in the application controller's ETS table, copying the value
into the caller each time. On a process that handles many messages it is steady work for
nothing, and it hides the process's real inputs: its behaviour can change between two messages
when someone calls `Application.put_env`. Read once, the value is fixed for the process's life
and visible in its state.

## Example
```elixir
def handle_call({:charge, amount}, _from, state) do
  url = Application.fetch_env!(:shop, :payment_url)
  {:reply, Payments.charge(url, amount), state}
end
```

Read it once when the process starts:

```elixir
def init(_) do
  {:ok, %{payment_url: Application.fetch_env!(:shop, :payment_url)}}
end

def handle_call({:charge, amount}, _from, state) do
  {:reply, Payments.charge(state.payment_url, amount), state}
end
```

For a value many processes read, store it once at application start with
`:persistent_term.put({MyApp, :payment_url}, url)` and read it with `:persistent_term.get/1`.

## Fix
No automatic fix: where the value lives (the state, `:persistent_term`) is a choice. By hand,
move the lookup into `init/1` and keep the value in the state, or put it in `:persistent_term`
from your application's `start/2`. Keep the per-message read when the setting must really
change at run time, and say so with `# otp-thinking: disable-next-line OTP603`.
"""


PER_REQUEST_CALLBACKS = frozenset({("handle_call", 3), ("handle_cast", 2), ("handle_info", 2)})

RARE_MESSAGE_TAGS = frozenset({":DOWN", ":EXIT", ":nodeup", ":nodedown"})
"""Tags of `handle_info/2` messages the runtime sends on rare events (a monitor, a link, a node)."""


def check(context: Context) -> Iterator[Finding]:
    for captures in context.remote_calls(
        {"Application", ":application"}, {"get_env", "fetch_env", "fetch_env!", "get_all_env"}
    ):
        call = captures["call"][0]
        module = modules.at(context, call)
        if module is None:
            continue
        clause = module.clause_at(call)
        if clause is None or clause.private or clause.key not in PER_REQUEST_CALLBACKS:
            continue
        if _always_stops(clause):
            continue  # the message that ends the process: it reads the config once, as init does
        tag = _message_tag(clause.params[0])
        if clause.name == "handle_info" and (
            tag is None or tag in RARE_MESSAGE_TAGS or tag in _timer_tags(context)
        ):
            continue
        target = context.text(captures["module"][0]) + "." + context.text(captures["function"][0])
        message = (
            f"{target} runs every time {clause.name}/{clause.arity} handles "
            f"{_describe(clause.params[0], tag)}; read the setting once in init/1 and keep it "
            "in the state, or in :persistent_term."
        )
        yield context.finding(RULE, call, message)


def _always_stops(clause: Clause) -> bool:
    """Every way the clause returns stops the process (``{:stop, :normal, state}``)."""
    returns = callbacks.state_flow(clause).returns
    return bool(returns) and all(r.tag == "stop" for r in returns)


TIMER_CALLS = {
    ("Process", "send_after"): 1,
    (":erlang", "send_after"): 2,
    (":erlang", "start_timer"): 2,
    (":timer", "send_after"): 2,
    (":timer", "send_interval"): 2,
}
"""Timer functions and the index of the message they deliver later."""


def _timer_tags(context: Context) -> set[str]:
    """Tags of tuple messages this file schedules with a timer (`Process.send_after(self(),
    {:poll, id}, 5_000)`): they arrive on the process's own schedule, not per request."""
    cached = context.cache.get("OTP603 timer tags")
    if cached is None:
        modules_ = {module for module, _ in TIMER_CALLS}
        functions = {function for _, function in TIMER_CALLS}
        cached = set()
        for captures in context.remote_calls(modules_, functions):
            call = captures["call"][0]
            index = TIMER_CALLS.get(syntax.remote_target(call) or ("", ""))
            args = syntax.argument_nodes(call)
            if index is not None and len(args) > index:
                tag = _message_tag(args[index])
                if tag is not None:
                    cached.add(tag)
        context.cache["OTP603 timer tags"] = cached
    return cached


def _message_tag(pattern: Node) -> str | None:
    """The leading atom of a tuple pattern (`{:event, data}` → `:event`); None for anything else.

    A bare atom is a message the process sends itself (once, or on a timer); a variable or a
    map says nothing about who sends it. Only a tagged tuple reads as another process's request.
    """
    if pattern.type == "binary_operator" and syntax.operator(pattern) == "=":
        left, right = pattern.child_by_field_name("left"), pattern.child_by_field_name("right")
        tuples = [side for side in (left, right) if side is not None and side.type == "tuple"]
        if not tuples:
            return None
        pattern = tuples[0]
    if pattern.type != "tuple":
        return None
    elements = pattern.named_children
    first = next((e for e in elements if e.type != "comment"), None)
    return syntax.text(first) if first is not None and first.type == "atom" else None


def _describe(pattern: Node, tag: str | None) -> str:
    if tag is not None:
        return f"a {{{tag}, …}} message"
    if pattern.type == "atom":
        return f"a {syntax.text(pattern)} message"
    return "a message"


RULE = Rule(
    code="OTP603",
    name="config-in-hot-path",
    severity="information",
    summary="Application.get_env/fetch_env in handle_call/cast/info: config read per request",
    doc=DOC,
    check=check,
    words=("env",),
    production_only=True,
    preview=True,
)
