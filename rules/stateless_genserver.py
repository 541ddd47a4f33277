"""OTP001 stateless-genserver: a GenServer whose callbacks never read or change their state."""

from __future__ import annotations

from collections.abc import Iterator

from otp_thinking import callbacks, modules, syntax
from otp_thinking.context import Context
from otp_thinking.findings import Finding
from otp_thinking.modules import Clause, ModuleFacts
from otp_thinking.rule import Rule

DOC = """\
## What it flags
A `use GenServer` module whose `handle_call`/`handle_cast`/`handle_info`/`handle_continue`
clauses never look at their state: the state parameter is ignored (`_state`) or only handed
back unchanged, and no reply depends on it. The process holds nothing; it only runs functions
one caller at a time.

Not flagged, because the process then exists for a reason beyond its state:
- it owns something tied to its lifetime: timers (`Process.send_after`, `:timer.*`),
  subscriptions (`PubSub.subscribe`, `Registry.register`, `:pg.join`, `:telemetry.attach`),
  monitors, `Process.flag(:trap_exit, true)`, ETS or DETS tables, ports, sockets, linked
  children started from its callbacks;
- it receives messages it did not ask for through a call: any `handle_info` clause that matches
  a specific message (timeouts, `:DOWN`, `:nodeup`, port data…);
- its callbacks (or the private functions they call) act outside the process: files, `IO`,
  `System.cmd`, ports and sockets, HTTP clients, `Repo`, `:ets`/`:persistent_term`, other
  processes (`GenServer.call`, `send`), `Process.sleep`, code loading. One process in front of
  an external resource is often deliberate: it serializes access, acts as a mutex or a rate
  limiter, or gives back-pressure;
- `handle_call` uses its `from` (replies later, from elsewhere);
- `terminate/2` does work (clean-up on shutdown needs a process);
- the module stores something from a message in its state (it may be read elsewhere, e.g.
  through `:sys.get_state`), or returns in a way the rule cannot follow;
- tests, `.exs` scripts and Mix tasks: a test's GenServer usually exists to exercise process
  behaviour (crashes, shutdown, mailboxes), not to hold state.

## Why it matters
A GenServer handles one message at a time. Wrapping pure computation in one adds a message
copy per call, a bottleneck every caller queues behind, a `GenServer.call` timeout to handle,
and a crash that takes the registered name down for everyone, all for nothing: there is no
state to protect. Plain functions run in the caller's process, in parallel, and fail alone.

## Example
```elixir
defmodule MyApp.Pricing do
  use GenServer

  def start_link(_), do: GenServer.start_link(__MODULE__, nil, name: __MODULE__)
  def total(items), do: GenServer.call(__MODULE__, {:total, items})

  def init(nil), do: {:ok, nil}

  def handle_call({:total, items}, _from, state) do
    {:reply, Enum.sum(Enum.map(items, & &1.price)), state}
  end
end
```

The same module without a process:

```elixir
defmodule MyApp.Pricing do
  def total(items), do: Enum.sum(Enum.map(items, & &1.price))
end
```

## Fix
No automatic fix: the process is part of the module's API. By hand, move each callback's body
into a plain public function, point the client functions at it, and remove the child from the
supervision tree. For work that should run in the background, start it under a
`Task.Supervisor` instead of casting to a GenServer. If the process exists on purpose (to
serialize access to something the rule cannot see), say so with
`# otp-thinking: disable-next-line OTP001` above `use GenServer`.
"""


def check(context: Context) -> Iterator[Finding]:
    for module in modules.of(context):
        use = module.use_of("GenServer")
        if use is None or not _stateless(module):
            continue
        message = (
            f"{module.name} never reads or changes its GenServer state, so every call queues "
            "behind one process for nothing; make these callbacks plain functions."
        )
        yield context.finding(RULE, use.node, message)


def _stateless(module: ModuleFacts) -> bool:
    clauses = module.state_callbacks
    if not any(c.name in ("handle_call", "handle_cast") for c in clauses):
        return False
    if module.owns() or _terminate_does_work(module):
        return False
    if any(c.name == "handle_info" and not callbacks.is_catch_all(c) for c in clauses):
        return False
    if any(callbacks.has_effects(module, init) for init in module.functions("init", 1)):
        return False
    answering = [c for c in clauses if not _only_raises(c)]
    return bool(answering) and all(_ignores_state(module, clause) for clause in clauses)


def _ignores_state(module: ModuleFacts, clause: Clause) -> bool:
    if callbacks.uses_from(clause) or callbacks.has_effects(module, clause):
        return False
    flow = callbacks.state_flow(clause)
    if not flow.returns:
        return _only_raises(clause)
    return not flow.reads and flow.stores_nothing


def _only_raises(clause: Clause) -> bool:
    tails = clause.tails()
    return bool(tails) and all(
        t.type == "call" and syntax.local_target(t) in ("raise", "exit", "throw") for t in tails
    )


def _terminate_does_work(module: ModuleFacts) -> bool:
    for clause in module.functions("terminate", 2):
        if any(not syntax.is_constant(tail) for tail in clause.tails()):
            return True
        body = clause.body
        if body is not None and body.type == "do_block" and len(body.named_children) > 1:
            return True
    return False


RULE = Rule(
    code="OTP001",
    name="stateless-genserver",
    severity="warning",
    summary="GenServer whose callbacks never read or change their state: plain functions will do",
    doc=DOC,
    check=check,
    production_only=True,
)
