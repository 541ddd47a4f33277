"""OTP005 callback-wrong-arity: a behaviour callback defined with the wrong number of arguments,
which the behaviour never calls."""

from __future__ import annotations

import re
from collections.abc import Iterator

from tree_sitter import Node

from otp_thinking import syntax
from otp_thinking.context import Context
from otp_thinking.findings import Finding
from otp_thinking.model import calls, clauses, modules
from otp_thinking.model.modules import Clause, ModuleFacts
from otp_thinking.rule import Rule

DOC = """\
## What it flags
A module that declares a behaviour and defines one of its callbacks with the wrong number of
arguments, and no clause with the right one:

- `GenServer` (`use GenServer`, `@behaviour GenServer` or `:gen_server`): `init/1`,
  `handle_call/3`, `handle_cast/2`, `handle_info/2`, `handle_continue/2`, `terminate/2`,
  `code_change/3`;
- `Supervisor` and `DynamicSupervisor` (`use`, or `@behaviour :supervisor`): `init/1`;
- `:gen_statem` (`@behaviour :gen_statem`, `use GenStateMachine`): `init/1`, `handle_event/4`,
  `terminate/3`, `code_change/4`;
- `Application` (`use Application`, `@behaviour Application`): `start/2`, `stop/1`,
  `prep_stop/1`, `config_change/3`, `start_phase/3`.

And a GenServer callback (`handle_info/2`, `handle_call/3`, `handle_cast/2`,
`handle_continue/2`, `terminate/2`, `code_change/3`) in a module that is a Supervisor or a
DynamicSupervisor and nothing else: the supervisor's process runs OTP's own code, which never
calls them (a `handle_info(:stop_all, state)` there never runs). Not when the module starts
itself with `GenServer.start_link`.

And `handle_event/4` in a `:gen_statem` whose callback mode is `:state_functions`
(`callback_mode/0` returns it, alone or first in a list, or `use GenStateMachine,
callback_mode: :state_functions`): the behaviour calls the function named after the current
state for every event and never `handle_event/4`. Not when the module calls it itself (a state
function handing events to it) or the mode is computed.

Not flagged: a name that also has a clause with the right arity (or default arguments that
cover it); a function the module calls itself (a helper that shares the name, such as
`init/0` called from `init/1`); a client function that calls the module's own process, or
the one its caller hands it, and waits (`def terminate, do: GenServer.call(__MODULE__,
:terminate)`, `def terminate(pid), do: GenServer.call(pid, :terminate)`); `defdelegate`d
callbacks; `handle_call/2` and `handle_info/2` in a module that is also a `:gen_event` handler
(it defines `handle_event/2`, as a module installed with
`:alarm_handler.add_alarm_handler(__MODULE__)` does); `start/0` and `stop/0` in an
Application module (public helpers, not callbacks); modules that declare none of these
behaviours — an `init/0` in a plain module is just a function.

In development tooling (`dev/`, `bench/`, `examples/`, `scratch/`, test apps), which is not
part of the running system, the finding is information rather than a warning.

## Why it matters
A behaviour calls its callbacks by name and arity. `def handle_info(message)` is a different
function from `handle_info/2`: the process never calls it, and the message goes to the default
`handle_info/2` that `use GenServer` injects, which logs it and drops it. `def handle_call(request,
state)` leaves `handle_call/3` to the injected default, which raises on every call. The
compiler's warning about `@impl` is easy to miss, and without `@impl` there is none.

## Example
```elixir
defmodule MyApp.Poller do
  use GenServer

  def init(interval), do: {:ok, schedule(interval)}

  def handle_info(:poll) do
    fetch()
    {:noreply, schedule(@interval)}
  end
end
```

## Fix
Give the callback the arguments the behaviour passes (`def handle_info(:poll, state)`), and
mark it `@impl true` so the compiler checks the next change. No automatic fix: the body has
to learn about the state it now receives.
"""

GENSERVER = {
    "init": 1,
    "handle_call": 3,
    "handle_cast": 2,
    "handle_info": 2,
    "handle_continue": 2,
    "terminate": 2,
    "code_change": 3,
}
SUPERVISOR = {"init": 1}
GEN_STATEM = {"init": 1, "handle_event": 4, "terminate": 3, "code_change": 4}
APPLICATION = {"start": 2, "stop": 1, "prep_stop": 1, "config_change": 3, "start_phase": 3}

# (how the behaviour is declared: `use` aliases, `@behaviour` names) -> its callbacks
BEHAVIOURS: tuple[tuple[str, frozenset[str], frozenset[str], dict[str, int]], ...] = (
    ("GenServer", frozenset({"GenServer"}), frozenset({"GenServer", ":gen_server"}), GENSERVER),
    (
        "Supervisor",
        frozenset({"Supervisor", "DynamicSupervisor"}),
        frozenset({"Supervisor", "DynamicSupervisor", ":supervisor"}),
        SUPERVISOR,
    ),
    ("gen_statem", frozenset({"GenStateMachine"}), frozenset({":gen_statem"}), GEN_STATEM),
    (
        "Application",
        frozenset({"Application"}),
        frozenset({"Application", ":application"}),
        APPLICATION,
    ),
)
APPLICATION_HELPERS = frozenset({("start", 0), ("stop", 0)})

MESSAGE = (
    "{name}/{arity} is not a {behaviour} callback: {behaviour} calls {name}/{expected}, so this "
    "function never runs{instead}; give it the {expected} arguments the callback receives."
)
INSTEAD = {
    (
        "GenServer",
        "handle_info",
    ): " (use GenServer's default handle_info/2 logs the message and drops it)",
    ("GenServer", "handle_call"): " (use GenServer's default handle_call/3 raises on every call)",
    ("GenServer", "handle_cast"): " (use GenServer's default handle_cast/2 raises on every cast)",
}


def _declaration_patterns() -> tuple[re.Pattern[str], re.Pattern[str]]:
    """Text that a `use` or `@behaviour` of one of `BEHAVIOURS` needs: the keyword, then spaces,
    parentheses or comments, then the name exactly as the model compares it. Looser than the
    model (a `use` in a string or a quote also passes), never stricter. Two patterns, each
    starting with its keyword: Python's `re` scans for a literal start far faster than it
    tries an alternation (or a word boundary) at every character of the file."""
    names = {name.lstrip(":") for _b, uses, declared, _c in BEHAVIOURS for name in uses | declared}
    between = r"(?:[\s(]|#[^\n]*)+"
    alternatives = "|".join(sorted(map(re.escape, names)))
    declared = rf"{between}:?(?:{alternatives})\b"
    return re.compile("use" + declared), re.compile("@behaviour" + declared)


_USE, _BEHAVIOUR = _declaration_patterns()


def _may_declare(text: str) -> bool:
    """A `use` (at the start of a word) or an `@behaviour` of one of `BEHAVIOURS` is in ``text``."""
    for found in _USE.finditer(text):
        before = text[found.start() - 1] if found.start() else " "
        if not (before.isalnum() or before == "_"):
            return True
    return _BEHAVIOUR.search(text) is not None


def check(context: Context) -> Iterator[Finding]:
    # The module facts query costs a compile of its own: not for a text (a test naming
    # `Application.put_env`, say) where no module can declare one of these behaviours.
    if not _may_declare(context.source.text):
        return
    for finding in _findings(context):
        # Development tooling is not part of the running system: true, but no warning.
        yield finding.with_severity("information") if context.tooling_file else finding


def _findings(context: Context) -> Iterator[Finding]:
    for module in modules.of(context):
        declared = dict(_declared(module))
        for behaviour, callbacks in declared.items():
            yield from _wrong_arities(context, module, behaviour, callbacks)
        if set(declared) == {"Supervisor"}:
            yield from _process_callbacks_of_a_supervisor(context, module)
        if "gen_statem" in declared:
            yield from _handle_event_in_state_functions_mode(context, module)


def _declared(module: ModuleFacts) -> Iterator[tuple[str, dict[str, int]]]:
    for behaviour, uses, declared, callbacks in BEHAVIOURS:
        if module.uses_any(*uses) or any(b in declared for b in module.behaviours):
            yield behaviour, callbacks


def _wrong_arities(
    context: Context, module: ModuleFacts, behaviour: str, callbacks: dict[str, int]
) -> Iterator[Finding]:
    for name, expected in callbacks.items():
        clauses = [c for c in module.functions(name) if not c.private]
        if not clauses or any(_accepts(c, expected) for c in clauses):
            continue
        if _delegated(module, name) or _event_handler_callback(module, name, clauses):
            continue
        reported: set[int] = set()
        for clause in clauses:
            if clause.arity in reported or _called_locally(module, name, clause.arity):
                continue
            if _asks_own_process(module, clause):
                continue
            if behaviour == "Application" and (name, clause.arity) in APPLICATION_HELPERS:
                continue
            reported.add(clause.arity)
            message = MESSAGE.format(
                name=name,
                arity=clause.arity,
                behaviour=behaviour,
                expected=expected,
                instead=INSTEAD.get((behaviour, name), ""),
            )
            yield context.finding(RULE, _head(clause), message)


STATE_FUNCTIONS_MESSAGE = (
    "handle_event/4 never runs: {declared} :state_functions, so :gen_statem calls the "
    "function named after the current state for every event (state_name(event_type, "
    "content, data)) and never handle_event/4; move these clauses into the state functions, "
    "or declare :handle_event_function and handle every state here."
)


def _handle_event_in_state_functions_mode(
    context: Context, module: ModuleFacts
) -> Iterator[Finding]:
    """``handle_event/4`` in a :gen_statem whose callback mode is ``:state_functions``: the
    behaviour calls one function per state (``idle/3``) and never it."""
    if module.statem_callback_mode != ":state_functions":
        return
    handlers = [c for c in module.functions("handle_event", 4) if not c.private]
    if not handlers or _called_locally(module, "handle_event", 4):
        return
    declared = (
        "use GenStateMachine sets callback_mode:"
        if module.uses_any("GenStateMachine")
        else "callback_mode/0 returns"
    )
    message = STATE_FUNCTIONS_MESSAGE.format(declared=declared)
    yield context.finding(RULE, _head(handlers[0]), message)


SUPERVISOR_MESSAGE = (
    "{name}/{arity} never runs: a supervisor's process runs OTP's supervisor code, which "
    "handles its own messages and never calls the module's {name}/{arity}{instead}; move this "
    "work into a process the supervisor starts."
)
SUPERVISOR_INSTEAD = {"handle_info": " (a message sent to it is logged as unexpected)"}
PROCESS_CALLBACKS = {name: arity for name, arity in GENSERVER.items() if name != "init"}


def _process_callbacks_of_a_supervisor(context: Context, module: ModuleFacts) -> Iterator[Finding]:
    """GenServer callbacks (``handle_info/2``, ``handle_call/3``...) in a module that is only a
    Supervisor or DynamicSupervisor: its process never calls them. Not when the module starts
    itself as a GenServer, names itself a `:gen_event` handler, calls the function itself or
    delegates it."""
    if ":gen_event" in module.behaviours or _started_as_a_server(context, module):
        return
    for name, expected in PROCESS_CALLBACKS.items():
        for clause in module.functions(name):
            if clause.private or not _accepts(clause, expected) or _delegated(module, name):
                continue
            if _called_locally(module, name, clause.arity):
                continue
            instead = SUPERVISOR_INSTEAD.get(name, "")
            message = SUPERVISOR_MESSAGE.format(name=name, arity=expected, instead=instead)
            yield context.finding(RULE, _head(clause), message)
            break


def _started_as_a_server(context: Context, module: ModuleFacts) -> bool:
    """The module starts itself with ``GenServer.start_link``/``start``: a GenServer after all."""
    node = module.node
    return any(
        node.start_byte <= c["call"][0].start_byte < node.end_byte
        for c in context.remote_calls({"GenServer", ":gen_server"}, {"start_link", "start"})
    )


GEN_EVENT_CALLBACKS = {"handle_call": 2, "handle_info": 2}
"""Callbacks of `:gen_event` handlers that share a name with GenServer's, with their arity."""


def _event_handler_callback(module: ModuleFacts, name: str, clauses: list[Clause]) -> bool:
    """``handle_call/2`` in a module that is also a `:gen_event` handler (it defines
    ``handle_event/2`` or declares the behaviour; ``:alarm_handler.add_alarm_handler(
    __MODULE__)`` installs such a module): the event manager calls it."""
    arity = GEN_EVENT_CALLBACKS.get(name)
    if arity is None or not any(_accepts(c, arity) for c in clauses):
        return False
    return ":gen_event" in module.behaviours or any(
        _accepts(c, 2) for c in module.functions("handle_event") if not c.private
    )


def _accepts(clause: Clause, arity: int) -> bool:
    """``clause`` can be called with ``arity`` arguments (default arguments count)."""
    defaults = sum(
        1 for p in clause.params if p.type == "binary_operator" and syntax.operator(p) == "\\\\"
    )
    return clause.arity - defaults <= arity <= clause.arity


def _delegated(module: ModuleFacts, name: str) -> bool:
    body = syntax.do_block(module.node)
    return body is not None and any(
        c.type == "call"
        and syntax.local_target(c) == "defdelegate"
        and syntax.text(c).removeprefix("defdelegate").lstrip().startswith(name)
        for c in body.named_children
    )


def _called_locally(module: ModuleFacts, name: str, arity: int) -> bool:
    """The module calls ``name/arity`` itself (``init()`` from ``init/1``, ``&init/0``): a
    helper that shares the callback's name, not a misspelt callback."""
    for clause in module.clauses:
        for node in syntax.descendants(clause.node):
            if node.type == "call" and syntax.local_target(node) == name:
                if calls.arity(node) == arity and not _is_head(clause, node):
                    return True
            elif (
                syntax.is_capture(node) and syntax.text(node).replace(" ", "") == f"&{name}/{arity}"
            ):
                return True
    return False


_OWN_PROCESS_REQUESTS = frozenset(
    {("GenServer", "call"), ("GenServer", "stop"), (":gen_server", "call"), (":gen_server", "stop")}
)
"""Requests a process cannot make of itself (it would wait for its own answer): a function
making one of its module's process is a client's. A cast can be a callback's (a retry that
casts the work back to its own process)."""


def _asks_own_process(module: ModuleFacts, clause: Clause) -> bool:
    """The function asks its module's own process, or the process its caller hands it, and
    waits for the answer (``def terminate, do: GenServer.call(__MODULE__, :terminate)``,
    ``def terminate(pid), do: GenServer.call(pid, :terminate)``): a client function other
    code calls, named like the callback that answers it. A callback doing so would wait on
    itself."""
    parameters = {syntax.text(p) for p in clause.params if p.type == "identifier"}
    for node in syntax.descendants(clause.node):
        if node.type != "call" or syntax.remote_target(node) not in _OWN_PROCESS_REQUESTS:
            continue
        args = calls.arguments(node)
        if args and syntax.text(args[0]) in ("__MODULE__", module.name, *parameters):
            return True
    return False


def _is_head(clause: Clause, node: Node) -> bool:
    head = _head(clause)
    return head.start_byte <= node.start_byte < head.end_byte


def _head(clause: Clause) -> Node:
    """``handle_info(message)`` in ``def handle_info(message) do``."""
    head = clauses.head(clause.node)
    return head.node if head is not None else clause.node


RULE = Rule(
    code="OTP005",
    name="callback-wrong-arity",
    severity="warning",
    summary="a behaviour callback defined with the wrong arity: the behaviour never calls it",
    doc=DOC,
    check=check,
    words=(
        "GenServer",
        "gen_server",
        "Supervisor",
        "supervisor",
        "gen_statem",
        "GenStateMachine",
        "Application",
        "application",
    ),
)
