"""OTP001 stateless-genserver: a GenServer whose callbacks never read or change their state."""

from __future__ import annotations

import re
from collections.abc import Iterator

from tree_sitter import Node

from otp_thinking import callbacks, syntax
from otp_thinking.context import Context
from otp_thinking.findings import Finding
from otp_thinking.model import modules
from otp_thinking.model.modules import Clause, ModuleFacts
from otp_thinking.parsing import compile_query
from otp_thinking.rule import Rule

DOC = """\
## What it flags
A `use GenServer` module whose `handle_call`/`handle_cast`/`handle_info`/`handle_continue`
clauses never look at their state: the state parameter is ignored (`_state`) or only handed
back unchanged, and no reply depends on it. The process holds nothing; it only runs functions
one caller at a time. A server with only `handle_cast` clauses is judged the same way (its casts
queue work behind one process that keeps nothing), when its casts call nothing but the standard
library and `Logger`: a cast into a dependency or a project module may reach a resource the
process serialises on purpose. So is a server with no callback at all but an `init/1` that only
returns `{:ok, state}` (computed with the standard library at most), or whose only other
callback is a `handle_info/2` that drops every message (`def handle_info(_msg, state), do:
{:noreply, state}`): its process acts on nothing and keeps nothing, and a `call` to it would
crash. That one is information, not a
warning: the process costs a child in the tree, not its callers' time. Not when its module
sends or calls anything, defines macros, or its `init/1` does more (a boot step that loads a
table before the next child starts is the rule OTP003's business).

Not flagged, because the process then exists for a reason beyond its state:
- it owns something tied to its lifetime: timers (`Process.send_after`, `:timer.*`),
  subscriptions (`PubSub.subscribe`, `Registry.register`, `:pg.join`, `:telemetry.attach`),
  monitors, `Process.flag(:trap_exit, true)`, ETS or DETS tables, ports, sockets, linked
  children started from its callbacks;
- it receives messages it did not ask for through a call: any `handle_info` clause that matches
  a specific message (timeouts, `:DOWN`, `:nodeup`, port data…);
- its callbacks (or the private functions they call) act outside the process: files, `IO`,
  `System.cmd`, ports and sockets, HTTP clients, `Repo`, `:ets`/`:persistent_term`, other
  processes (`GenServer.call`, `send`), `Process.sleep`, code loading, directly or through a
  function of another project module that does (`Accounts.update/1` writing through `Repo`,
  as the project index records it). One process in front of
  an external resource is often deliberate: it serializes access, acts as a mutex or a rate
  limiter, or gives back-pressure;
- `handle_call` uses its `from` (replies later, from elsewhere);
- `terminate/2` does work (clean-up on shutdown needs a process);
- every reply is a constant (`:pong`, `true`): a process whose being alive is the answer (a
  readiness probe placed last in a supervisor, a barrier that returns once earlier casts are
  handled);
- it is addressed across nodes (`GenServer.call({name, node}, …)`, `multi_call`, `abcast`) or
  registered cluster-wide (`{:global, name}`): an endpoint other nodes call, or a singleton;
- it `use`s something besides GenServer, or declares another `@behaviour`: a framework may need
  the process;
- its callbacks call a function value (`fun.()`), which may do anything (a process that runs the
  functions it is sent, one at a time, is a lock);
- the module stores something from a message in its state (it may be read elsewhere, e.g.
  through `:sys.get_state`), or returns in a way the rule cannot follow;
- tests, `.exs` scripts and Mix tasks: a test's GenServer usually exists to exercise process
  behaviour (crashes, shutdown, mailboxes), not to hold state; and test doubles kept in
  `lib/` (modules named `…Mock`, `Fake…`), which stand in for a real server, often under its
  name, so its callers need the process.

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


# Uses that only add compile-time conveniences; any other `use` may inject callbacks or make the
# module part of a framework that needs a process.
_HARMLESS_USES = frozenset({"GenServer", "Bitwise", "TypedStruct"})

# Addressed across nodes or cluster-wide: the process is an endpoint other nodes call.
_REMOTE_ADDRESSING = compile_query(
    """
    (call target: (dot left: (alias) @module right: (identifier) @function)
      (arguments . (tuple) @target)
      (#eq? @module "GenServer") (#any-of? @function "call" "cast")) @call
    (call target: (dot left: (alias) @module right: (identifier) @function)
      (#eq? @module "GenServer") (#any-of? @function "multi_call" "abcast")) @call
    (tuple . (atom) @scope (#eq? @scope ":global")) @call
    """
)


def check(context: Context) -> Iterator[Finding]:
    candidates = [
        m
        for m in modules.of(context)
        if m.use_of("GenServer") is not None
        and not modules.test_double(m.name)
        and (_stateless(m) or _idle(m))
        and not _acts_through_project(context, m)
    ]
    if not candidates:
        return
    endpoints = _remote_endpoints(context)
    for module in candidates:
        use = module.use_of("GenServer")
        if use is None or id(module) in endpoints:
            continue
        idle = _idle(module)
        if idle and not _listed_as_a_child(context, module):
            continue  # "remove it from the supervision tree" would be untrue
        finding = context.finding(RULE, use.node, _message(module, idle))
        # An idle process wastes a child, not every caller's time.
        yield finding.with_severity("information") if idle else finding


def _listed_as_a_child(context: Context, module: ModuleFacts) -> bool:
    """A children list of the project starts the module: the idle process is in a supervision
    tree. Not known while the project index is incomplete; a module nobody in the project
    starts (dead code, or started by its library's users) is left alone."""
    index = context.project.index
    return index.complete and bool(index.facts.started_by_supervisors(module.name)[0])


def _message(module: ModuleFacts, idle: bool) -> str:
    if idle:
        advice = "remove it from the supervision tree"
        if _api_functions(module):
            advice += " and make its functions plain ones"
        if module.defines("handle_info"):
            return (
                f"{module.name} defines no callback but init/1, which only returns a state, "
                "and a handle_info/2 that drops every message: the process it starts acts on "
                f"no message and never uses its state; {advice}."
            )
        return (
            f"{module.name} defines no callback but init/1, which only returns a state: the "
            f"process it starts receives no message and never uses its state; {advice}."
        )
    if module.functions("handle_call", 3):
        return (
            f"{module.name} never reads or changes its GenServer state, so every call queues "
            "behind one process for nothing; make these callbacks plain functions."
        )
    casts = ", ".join(_cast_names(module))
    return (
        f"{module.name} only handles casts ({casts}) and never reads or changes its GenServer "
        "state, so the work queues behind one process for nothing; call plain functions "
        "instead, or start them under a Task.Supervisor to run in the background."
    )


# What a process module defines to be started, not for its callers to use.
_PLUMBING = frozenset({"start_link", "start", "child_spec", "init"})


def _api_functions(module: ModuleFacts) -> bool:
    """Public functions besides the ones that start the process and the callbacks (``get/1``,
    ``put/2``)."""
    return any(
        not c.private and c.name not in _PLUMBING and c.name not in _OTHER_CALLBACKS
        for c in module.clauses
    )


def _cast_names(module: ModuleFacts) -> list[str]:
    """``:record`` for ``handle_cast({:record, ..}, ..)``; the pattern itself, cut short, when
    no atom names the request."""
    names: list[str] = []
    for clause in module.functions("handle_cast", 2):
        tag = modules.request_tag(clause.params[0]) if clause.params else None
        name = f":{tag}" if tag else syntax.text(clause.params[0])[:27]
        if name not in names:
            names.append(name)
    return names[:4] + (["..."] if len(names) > 4 else [])


def _acts_through_project(context: Context, module: ModuleFacts) -> bool:
    """A callback or `init/1` calls a function of another project module that acts outside the
    process (a `Repo` write in `Accounts.update/1`): the process may serialise that access on
    purpose, as it would a direct call. Without the project's index, nothing is assumed."""
    index = context.project.index
    if not index.complete:
        return False
    clauses = [*module.state_callbacks, *module.functions("init", 1)]
    return any(callbacks.project_effect(index.facts, module, c) for c in clauses)


def _remote_endpoints(context: Context) -> set[int]:
    found = set()
    for captures in context.matches(_REMOTE_ADDRESSING):
        if "target" in captures and len(_items(captures["target"][0])) != 2:
            continue  # GenServer.call({:via, ...}) and friends name a local process
        module = modules.at(context, captures["call"][0])
        if module is not None:
            found.add(id(module))
    return found


def _items(node: Node) -> list[Node]:
    return [c for c in node.named_children if c.type != "comment"]


def _plain_genserver(module: ModuleFacts) -> bool:
    """Nothing but GenServer makes the module a process: no framework that may need it."""
    return all(u.alias in _HARMLESS_USES for u in module.uses) and all(
        b in ("GenServer", ":gen_server") for b in module.behaviours
    )


# Callbacks besides init/1 through which a process does something: answer messages, clean up
# at shutdown, or change its code.
_OTHER_CALLBACKS = ("handle_call", "handle_cast", "handle_info", "handle_continue", "terminate")


def _idle(module: ModuleFacts) -> bool:
    """A GenServer whose only callback is an ``init/1`` returning ``{:ok, state}`` with no
    effect, or besides it a ``handle_info/2`` that drops every message (see `_drops_all`):
    its process never hears of anything (a call to it would crash, as no ``handle_call/3``
    is defined) and owns nothing, so it only costs a child in the tree. A module that makes
    macros, sends or calls anything, or starts the process with a ``{:global, _}`` name is
    left alone: it may be a template, or an endpoint."""
    others = [c for c in _OTHER_CALLBACKS if not (c == "handle_info" and _drops_all(module))]
    if not _plain_genserver(module) or any(module.defines(c) for c in others):
        return False
    if module.owns() or _NOT_IDLE.search(syntax.text(module.node)):
        return False
    inits = module.functions("init", 1)
    return bool(inits) and all(
        _returns_ok(init)
        and _only_local_work(module, init)
        and not callbacks.has_effects(module, init)
        for init in inits
    )


def _drops_all(module: ModuleFacts) -> bool:
    """Every ``handle_info/2`` clause ignores its message and hands back its state unchanged
    (``def handle_info(_msg, state), do: {:noreply, state}``): the module defines the
    callback only to drop whatever arrives, as if it had none."""
    clauses = [c for c in module.functions("handle_info") if c.body is not None]
    return bool(clauses) and all(_drops(clause) for clause in clauses)


def _drops(clause: Clause) -> bool:
    if clause.arity != 2 or clause.guard is not None:
        return False
    message, state = clause.params
    ignored = message.type == "identifier" and syntax.text(message).startswith("_")
    kept = syntax.text(state)
    return ignored and all(
        tail.type == "tuple" and [syntax.text(i) for i in _items(tail)] == [":noreply", kept]
        for tail in clause.tails()
    )


# A message sent or a call made anywhere in the module: a process hearing from its own client
# functions is not idle (and one without the callback to answer is another problem). A module
# that defines macros may be a template whose users add the callbacks.
_NOT_IDLE = re.compile(
    r"GenServer\.(?:call|cast|multi_call|abcast)\b|\bsend\(|Process\.send|\bdefmacro\b"
)


def _returns_ok(clause: Clause) -> bool:
    tails = clause.tails()
    return bool(tails) and all(t.type == "tuple" and _first_item_is(t, ":ok") for t in tails)


def _first_item_is(node: Node, text: str) -> bool:
    items = _items(node)
    return bool(items) and syntax.text(items[0]) == text


def _stateless(module: ModuleFacts) -> bool:
    if not _plain_genserver(module):
        return False
    clauses = module.state_callbacks
    if not any(c.name in ("handle_call", "handle_cast") for c in clauses):
        return False
    if module.owns() or _terminate_does_work(module):
        return False
    if any(c.name == "handle_info" and not callbacks.is_catch_all(c) for c in clauses):
        return False
    if any(callbacks.has_effects(module, init) for init in module.functions("init", 1)):
        return False
    if any(c.name == "handle_call" for c in clauses):
        if not _computes_a_reply(clauses):
            return False
    elif not all(_only_local_work(module, c) for c in clauses):
        return False
    return all(_ignores_state(module, clause) for clause in clauses)


def _only_local_work(module: ModuleFacts, clause: Clause) -> bool:
    """A cast clause whose calls all go to the standard library (and `Logger`): its work
    is known to need no process. A call to a dependency or a project module may reach a
    resource the process serialises on purpose, and the rule cannot see far enough to know."""
    return all(
        written in callbacks.PURE_MODULES or written == "__MODULE__"
        for written in callbacks.remote_modules(module, clause)
    )


def _computes_a_reply(clauses: list[Clause]) -> bool:
    """Some reply is computed: a server whose every reply is a constant (``:pong``, ``true``)
    exists for its own sake (a liveness probe, a sync barrier after casts), not for logic.
    A server with only casts is judged on its casts alone."""
    for clause in clauses:
        if clause.name != "handle_call":
            continue
        for answer in callbacks.state_flow(clause).returns:
            if answer.reply is not None and not syntax.is_constant(answer.reply):
                return True
    return False


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
    words=("GenServer", "gen_server"),
    production_only=True,
    preview=True,
    project_files=lambda summary: summary.has_genserver,
)
