"""OTP603 config-in-hot-path: application config read on every message a process handles."""

from __future__ import annotations

from collections.abc import Iterator

from otp_thinking import modules
from otp_thinking.context import Context
from otp_thinking.findings import Finding
from otp_thinking.modules import STATE_CALLBACKS
from otp_thinking.rule import Rule

DOC = """\
## What it flags
`Application.get_env/2,3`, `Application.fetch_env/2`, `Application.fetch_env!/2`,
`Application.get_all_env/1` (and `:application.get_env`) called inside a `handle_call/3`,
`handle_cast/2`, `handle_info/2` or `handle_continue/2` clause: the config is looked up again
for every message the process handles.

Not flagged: reads in `init/1`, `start/2`, `start_link`, `child_spec` or any other function
(they run once per process, not per message); module attributes and `Application.compile_env`
(resolved at compile time); private helpers called from a callback (the rule does not follow
calls); tests, `.exs` scripts and Mix tasks.

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


def check(context: Context) -> Iterator[Finding]:
    for captures in context.remote_calls(
        {"Application", ":application"}, {"get_env", "fetch_env", "fetch_env!", "get_all_env"}
    ):
        call = captures["call"][0]
        module = modules.at(context, call)
        if module is None:
            continue
        clause = module.clause_at(call)
        if clause is None or clause.private or clause.key not in STATE_CALLBACKS:
            continue
        target = context.text(captures["module"][0]) + "." + context.text(captures["function"][0])
        message = (
            f"{target} runs again for every message {clause.name}/{clause.arity} handles; "
            "read the setting once in init/1 and keep it in the state, or in :persistent_term."
        )
        yield context.finding(RULE, call, message)


RULE = Rule(
    code="OTP603",
    name="config-in-hot-path",
    severity="information",
    summary="Application.get_env/fetch_env inside handle_* callbacks: config read per message",
    doc=DOC,
    check=check,
    words=("env",),
    production_only=True,
)
