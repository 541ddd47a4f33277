"""OTP004 call-timeout-infinity: a synchronous call that may wait forever."""

from __future__ import annotations

from collections.abc import Iterator

from tree_sitter import Node

from otp_thinking import syntax
from otp_thinking.context import Context
from otp_thinking.findings import Finding
from otp_thinking.rule import Rule

DOC = """\
## What it flags
`GenServer.call/3`, `:gen_server.call/3` and `:gen_statem.call/3` whose timeout is `:infinity`,
written literally (also in a pipe: `pid |> GenServer.call(msg, :infinity)`) or through a module
attribute of the same module whose every definition is `:infinity` (`@timeout :infinity`).

Not flagged: explicit finite timeouts (`GenServer.call(pid, msg, 30_000)`), the default
(no third argument: 5 seconds), timeouts held in variables or read from configuration (the
value is not known from the code); tests, `.exs` scripts and `use Mix.Task` modules, where
waiting as long as it takes is usually what you want.

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


MESSAGE = (
    "{callee} with an :infinity timeout waits forever when the server is stuck; "
    "give the call a finite timeout the caller can afford."
)


def check(context: Context) -> Iterator[Finding]:
    for captures in context.remote_calls({"GenServer", ":gen_server", ":gen_statem"}, {"call"}):
        call = captures["call"][0]
        timeout = _timeout_argument(call)
        if timeout is None or not _is_infinity(timeout):
            continue
        callee = f"{context.text(captures['module'][0])}.call"
        yield context.finding(RULE, call, MESSAGE.format(callee=callee))


def _timeout_argument(call: Node) -> Node | None:
    args = syntax.argument_nodes(call)
    parent = call.parent
    piped = (
        syntax.is_pipe(parent)
        and parent is not None
        and parent.child_by_field_name("right") == call
    )
    index = 1 if piped else 2
    return args[index] if len(args) == index + 1 else None


def _is_infinity(node: Node) -> bool:
    if node.type == "atom":
        return syntax.text(node) == ":infinity"
    name = syntax.attribute_name(node)
    if name is None:
        return False
    module = syntax.enclosing_module(node)
    values = syntax.module_attributes(module).get(name, []) if module is not None else []
    return bool(values) and all(syntax.text(value) == ":infinity" for value in values)


RULE = Rule(
    code="OTP004",
    name="call-timeout-infinity",
    severity="information",
    summary="GenServer.call / :gen_server.call / :gen_statem.call with an :infinity timeout",
    doc=DOC,
    check=check,
    words=("infinity",),
    production_only=True,
)
