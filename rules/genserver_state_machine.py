"""OTP702 genserver-state-machine: a GenServer switching on a status field through 3+ states."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from tree_sitter import Node

from otp_thinking import syntax
from otp_thinking.context import Context
from otp_thinking.findings import Finding
from otp_thinking.model import modules
from otp_thinking.model.modules import STATE_CALLBACKS, Clause, ModuleFacts
from otp_thinking.parsing import compile_query
from otp_thinking.rule import Rule

DOC = """\
## What it flags
A GenServer whose callbacks switch on one field of the state holding an atom, handling at least
two of its values differently, through three or more distinct values in all, and change that
field as they go. The field is switched on when a
callback head matches it (`def handle_call(:pay, _from, %{status: :open} = state)`), or when a
`case state.status do` branches on its atoms; it changes when a callback returns
`%{state | status: :paid}`, `%State{state | status: :paid}`, `Map.put(state, :status, :paid)` or
`put_in(state.status, :paid)`. The values counted are all the atoms seen in those places, plus
the initial one (the map `init/1` returns, the module's `defstruct` default). The
diagnostic sits on `use GenServer` and names the field and the states it saw ("at least":
private helpers and other modules may set or match more).

Not flagged:
- two states (`:connected`/`:disconnected` is a boolean with better names);
- a status field only reported (`{:reply, state.status, state}`) or only set, never switched on;
- a field switched on but never changed by the module (a mode chosen at start);
- message patterns (`handle_info(%{type: :a}, state)`): only the state parameter counts;
- modules that already are `:gen_statem` / `GenStateMachine`;
- tests, `.exs` scripts and Mix tasks.

## Why it matters
When what a message means depends on the state the process is in, a GenServer spreads the
state machine over every callback: each `handle_*` re-checks the status, the valid transitions
are implicit, and a message arriving in the wrong state falls through to a catch-all or
crashes. `:gen_statem` (or the `GenStateMachine` wrapper) makes the states first-class: one
function or clause group per state, transitions as return values, postponing messages that the
current state cannot handle yet, and state timeouts that are cancelled on transition instead of
hand-managed timer references.

## Example
```elixir
def handle_call(:connect, _from, %{status: :disconnected} = state),
  do: {:reply, :ok, %{state | status: :connecting}}

def handle_info(:connected, %{status: :connecting} = state),
  do: {:noreply, %{state | status: :connected}}

def handle_call({:send, msg}, _from, %{status: :connected} = state), do: ...
def handle_call({:send, _msg}, _from, state), do: {:reply, {:error, state.status}, state}
```

With `:gen_statem` in `handle_event_function` mode the state is the status itself:

```elixir
def callback_mode, do: :handle_event_function

def handle_event({:call, from}, :connect, :disconnected, data),
  do: {:next_state, :connecting, data, [{:reply, from, :ok}]}

def handle_event(:info, :connected, :connecting, data), do: {:next_state, :connected, data}

def handle_event({:call, _from}, {:send, _msg}, :connecting, _data),
  do: {:keep_state_and_data, :postpone}
```

## Fix
No automatic fix: rewriting callbacks into state functions changes the module's shape. By
hand: pick `callback_mode/0` (`:state_functions` for one function per state, or
`:handle_event_function`), move the status out of the data into the gen_statem state, turn each
`handle_call`/`handle_info` clause into an event clause for the states it accepts, and use
`:postpone` or state timeouts where the GenServer kept queues or timer references by hand.
"""

_FACTS = compile_query(
    """
    (pair key: (keyword) @key value: (atom) @value) @pair

    (call target: (identifier) @case
      (arguments . (call target: (dot left: (identifier) @var right: (identifier) @field)) .)
      (do_block) @block
      (#eq? @case "case")) @switch

    (call target: (dot left: (alias) @module right: (identifier) @function)
      (arguments . (identifier) . (atom) @field . (atom) @value .)
      (#eq? @module "Map") (#any-of? @function "put" "replace" "replace!")) @put

    (call target: (identifier) @function
      (arguments
        . (call target: (dot left: (identifier) right: (identifier) @field))
        . (atom) @value .)
      (#eq? @function "put_in")) @put
    """
)

_STATE_NAMES = ("state", "data")


@dataclass
class _Field:
    switched: set[str] = field(default_factory=set)
    changed: set[str] = field(default_factory=set)
    initial: set[str] = field(default_factory=set)

    @property
    def states(self) -> set[str]:
        return self.switched | self.changed | self.initial


def check(context: Context) -> Iterator[Finding]:
    if not any(m.is_genserver for m in modules.of(context)):
        return
    fields = _fields(context)
    for module in modules.of(context):
        use = module.use_of("GenServer")
        if use is None or module.is_gen_statem:
            continue
        found = fields.get(id(module), {})
        for name, facts in sorted(found.items()):
            if len(facts.switched) >= 2 and facts.changed and len(facts.states) >= 3:
                shown = ", ".join(sorted(facts.states))
                message = (
                    f"{module.name} switches on its state's :{name} field through at least "
                    f"{len(facts.states)} states ({shown}); a :gen_statem (or GenStateMachine) "
                    "makes those states and their transitions explicit."
                )
                yield context.finding(RULE, use.node, message)
                break


def _fields(context: Context) -> dict[int, dict[str, _Field]]:
    """Per module (by id), per field name: the atoms it is switched on, set to, started with."""
    found: dict[int, dict[str, _Field]] = {}

    def record(node: Node, name: str) -> tuple[ModuleFacts, _Field] | None:
        module = modules.at(context, node)
        if module is None or not module.is_genserver:
            return None
        return module, found.setdefault(id(module), {}).setdefault(name, _Field())

    found_matches = context.matches(_FACTS)
    for captures in found_matches:
        if "pair" not in captures:
            continue
        pair = captures["pair"][0]
        name = context.text(captures["key"][0]).strip().rstrip(":")
        value = context.text(captures["value"][0])
        place = record(pair, name)
        if place is None:
            continue
        module, facts = place
        role = _pair_role(module, pair)
        if role == "switched":
            facts.switched.add(value)
        elif role == "changed":
            facts.changed.add(value)
        elif role == "initial":
            facts.initial.add(value)

    for captures in found_matches:
        if "switch" not in captures:
            continue
        case = captures["switch"][0]
        variable = context.text(captures["var"][0])
        place = record(case, context.text(captures["field"][0]))
        if place is None:
            continue
        module, facts = place
        clause = module.clause_at(case)
        if clause is None or variable not in _state_variables(clause):
            continue
        facts.switched.update(_branch_atoms(captures["block"][0]))

    for captures in found_matches:
        if "put" not in captures:
            continue
        put = captures["put"][0]
        name = context.text(captures["field"][0]).lstrip(":")
        place = record(put, name)
        if place is not None:
            place[1].changed.add(context.text(captures["value"][0]))
    return found


def _pair_role(module: ModuleFacts, pair: Node) -> str | None:
    """switched: matched in a state parameter; changed: ``%{state | f: :a}``; initial: the map
    ``init/1`` returns."""
    clause = module.clause_at(pair)
    if clause is None:
        return "initial" if _in_defstruct(pair) else None
    if _is_update(pair):
        return "changed"
    state_param = _state_param(clause)
    if state_param is not None and syntax.contains(state_param, pair):
        return "switched"
    if clause.key == ("init", 1) and any(
        r.state is not None and syntax.contains(r.state, pair) for r in module.init_returns
    ):
        return "initial"
    return None


def _in_defstruct(pair: Node) -> bool:
    """A default in ``defstruct status: :idle`` (the module's own struct)."""
    for parent in syntax.ancestors(pair):
        if parent.type == "call":
            return syntax.local_target(parent) == "defstruct"
    return False


def _is_update(pair: Node) -> bool:
    keywords = pair.parent
    update = keywords.parent if keywords is not None else None
    return (
        keywords is not None
        and keywords.type == "keywords"
        and update is not None
        and update.type == "binary_operator"
        and syntax.operator(update) == "|"
        and update.child_by_field_name("right") == keywords
        and update.parent is not None
        and update.parent.type == "map_content"
    )


def _state_param(clause: Clause) -> Node | None:
    """The parameter holding the state: the last one of a ``handle_*`` callback, or one bound
    to a variable called ``state``/``data`` in a helper."""
    if not clause.params:
        return None
    last = clause.params[-1]
    if clause.key in STATE_CALLBACKS and not clause.private:
        return last
    for param in clause.params:
        if param.type == "binary_operator" and set(syntax.bound_names(param)) & set(_STATE_NAMES):
            return param
    return None


def _state_variables(clause: Clause) -> set[str]:
    names = set(_STATE_NAMES)
    param = _state_param(clause)
    if param is not None:
        names.update(
            syntax.text(side)
            for side in (
                param,
                param.child_by_field_name("left"),
                param.child_by_field_name("right"),
            )
            if side is not None and side.type == "identifier"
        )
    return names


def _branch_atoms(block: Node) -> set[str]:
    atoms = set()
    for clause in block.named_children:
        if clause.type != "stab_clause":
            continue
        left = clause.child_by_field_name("left")
        patterns = left.named_children if left is not None else []
        for pattern in patterns:
            if pattern.type == "binary_operator" and syntax.operator(pattern) == "when":
                pattern = pattern.child_by_field_name("left") or pattern
            if pattern.type == "atom":
                atoms.add(syntax.text(pattern))
    return atoms


RULE = Rule(
    code="OTP702",
    name="genserver-state-machine",
    severity="hint",
    summary="GenServer switching on a status field through three or more states: use :gen_statem",
    doc=DOC,
    check=check,
    words=("GenServer", "gen_server"),
    production_only=True,
    preview=True,
)
