"""How a GenServer callback clause uses its state: does it read it, what does it return, does it
touch the world outside the process.

Shared by the GenServer rules (OTP001 stateless servers, OTP002 read-mostly stores). The analysis
is syntactic and errs towards "uses the state" / "has effects" whenever it cannot tell: a
conservative answer keeps the rules quiet.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property

from tree_sitter import Node

from otp_thinking import syntax
from otp_thinking.model.effects import (
    LOCAL_OUTSIDE,
    PURE_ERLANG,
    Scopes,
    acts_outside,
    module_candidates,
    scopes,
)
from otp_thinking.model.modules import Clause, ModuleFacts
from otp_thinking.model.project import ProjectFacts
from otp_thinking.parsing import Captures, compile_query, matches

_CALLS = compile_query(
    """
    (call target: (dot left: [(alias) (atom) (dot left: (identifier) right: (alias))] @module
      right: (identifier) @function)) @remote
    (call target: (identifier) @local) @call
    (call target: (dot left: [(identifier) (unary_operator) (call)]) (arguments)) @dynamic
    """
)

_DIVERGING = frozenset({"raise", "reraise", "exit", "throw"})


@dataclass(frozen=True)
class Return:
    """One way a callback returns: ``tag`` is reply, noreply, stop, or unknown."""

    tag: str
    node: Node
    reply: Node | None = None
    state: Node | None = None


@dataclass
class StateFlow:
    """How one ``handle_*`` clause treats the state it receives (its last parameter)."""

    clause: Clause
    whole: str | None
    """The variable holding the whole state (``state`` in ``%{a: a} = state``), if any."""
    parts: tuple[str, ...]
    """Variables a head pattern binds from inside the state."""
    matches_fields: bool
    """The head pattern looks inside the state (``%{status: :idle}``, ``%{items: items}``)."""
    returns: tuple[Return, ...]

    @property
    def returns_known(self) -> bool:
        """Every return is a recognised ``{:reply, …}``/``{:noreply, …}``/``{:stop, …}``."""
        return bool(self.returns) and all(r.tag != "unknown" for r in self.returns)

    @cached_property
    def reads(self) -> bool:
        """The received state informs the clause's result: matched in the head, or its variable
        used anywhere except as the unchanged state of a return."""
        if self.matches_fields:
            return True
        scopes = (self.clause.body, self.clause.guard)
        for name in self.parts:
            if any(syntax.variable_uses(scope, name) for scope in scopes):
                return True
        if self.whole is None:
            return False
        passed_through = {(r.state.start_byte, r.state.end_byte) for r in self.returns if r.state}
        for scope in scopes:
            for use in syntax.variable_uses(scope, self.whole):
                if (use.start_byte, use.end_byte) not in passed_through:
                    return True
        return False

    @cached_property
    def rebinds(self) -> bool:
        """The body binds the state's variable again (``state = update(state)``), so a return
        of ``state`` may not be the state received."""
        if self.whole is None:
            return False
        body = self.clause.body
        return any(syntax.in_pattern(use, body) for use in syntax.variable_uses(body, self.whole))

    @property
    def keeps_state(self) -> bool:
        """Every return hands back the state it received, unchanged."""
        return (
            self.returns_known
            and not self.rebinds
            and all(r.state is not None and self._is_whole(r.state) for r in self.returns)
        )

    @property
    def stores_nothing(self) -> bool:
        """Every return hands back the received state or a constant (``nil``, ``%{}``): nothing
        from the message ends up in the state."""
        return (
            self.returns_known
            and not self.rebinds
            and all(
                r.state is not None and (self._is_whole(r.state) or syntax.is_constant(r.state))
                for r in self.returns
            )
        )

    def _is_whole(self, node: Node) -> bool:
        return (
            self.whole is not None and node.type == "identifier" and syntax.text(node) == self.whole
        )


def state_flow(clause: Clause) -> StateFlow:
    param = clause.params[-1] if clause.params else None
    whole, parts, matches_fields = _state_param(param)
    returns = tuple(_return(tail) for tail in clause.tails() if not _diverges(tail))
    return StateFlow(clause, whole, tuple(parts), matches_fields, returns)


def uses_from(clause: Clause) -> bool:
    """A ``handle_call/3`` clause that names its ``from`` (to reply later or elsewhere)."""
    if clause.name != "handle_call" or len(clause.params) != 3:
        return False
    names = syntax.bound_names(clause.params[1])
    return any(syntax.variable_uses(clause.body, name) for name in names)


def is_catch_all(clause: Clause) -> bool:
    """The clause's first parameter (the message) is a bare variable: it takes anything."""
    return bool(clause.params) and clause.params[0].type == "identifier" and clause.guard is None


def _reached_calls(module: ModuleFacts, clause: Clause) -> Iterator[Captures]:
    """Every call (`_CALLS` captures) in ``clause`` and in the local functions it reaches,
    each function read once."""
    seen: set[int] = set()
    pending = [clause]
    while pending:
        current = pending.pop()
        if current.body is None or current.node.start_byte in seen:
            continue
        seen.add(current.node.start_byte)
        for captures in matches(_CALLS, current.body):
            yield captures
            if "local" in captures:
                name = syntax.text(captures["local"][0])
                if name not in ("def", "defp") and module.defines(name):
                    pending.extend(c for c in module.local_clauses(name) if c is not current)


def effects(module: ModuleFacts, clause: Clause) -> Iterator[Node]:
    """Calls in ``clause`` (and the local functions it reaches) that act outside the process,
    or might: calls of a function value (``fun.()``) or of a module held in a variable, a
    module attribute (``@i2c.write(bus, ..)``) or a field (``state.adapter.get(key)``)."""
    for captures in _reached_calls(module, clause):
        if "dynamic" in captures:  # fun.(x), mod.fun(x): could do anything
            yield captures["dynamic"][0]
        elif "remote" in captures:
            module_name = syntax.text(captures["module"][0])
            function = syntax.text(captures["function"][0])
            if acts_outside(module_name, function):
                yield captures["remote"][0]
        elif syntax.text(captures["local"][0]) in LOCAL_OUTSIDE:
            yield captures["call"][0]


def has_effects(module: ModuleFacts, clause: Clause) -> bool:
    return next(effects(module, clause), None) is not None


_STDLIB = frozenset({"Enum", "Map", "Keyword", "List", "MapSet", "String", "Kernel", "Access"})


def remote_modules(module: ModuleFacts, clause: Clause) -> Iterator[str]:
    """The modules, as written, of the remote calls in ``clause`` and the local functions it
    reaches (``Enum``, ``Shop.Prices``, ``:crypto``)."""
    for captures in _reached_calls(module, clause):
        if "remote" in captures:
            yield syntax.text(captures["module"][0])


def project_effect(facts: ProjectFacts, module: ModuleFacts, clause: Clause) -> str | None:
    """A call in ``clause`` (or the local functions it reaches) to a public function of another
    project module that blocks or acts outside the process (writes ETS, calls a process,
    queries a database), as written (``Accounts.update``); None when there is none."""
    around: Scopes | None = None
    for captures in _reached_calls(module, clause):
        if "remote" not in captures:
            continue
        written = syntax.text(captures["module"][0])
        if written.startswith(":") or written.split(".")[0] in _STDLIB:
            continue
        function = syntax.text(captures["function"][0])
        around = around or scopes(module.node)
        for candidate in module_candidates(around, written):
            if candidate != module.name and facts.effect(candidate, function) is not None:
                return f"{written}.{function}"
    return None


def _state_param(param: Node | None) -> tuple[str | None, list[str], bool]:
    """(whole-state variable, variables bound from inside it, whether the head matches fields)."""
    if param is None:
        return None, [], False
    sides = _match_sides(param)
    whole = None
    parts: list[str] = []
    matches_fields = False
    for side in sides:
        if side.type == "identifier":
            name = syntax.text(side)
            if not name.startswith("_") and whole is None:
                whole = name
            continue
        if _is_bare_struct(side):
            continue
        matches_fields = True
        parts.extend(syntax.bound_names(side))
    return whole, parts, matches_fields


def _nested(module: ModuleFacts, written: str) -> bool:
    return f"defmodule {written} do" in syntax.text(module.node)


def _names_in(node: Node) -> frozenset[str]:
    """The identifiers in ``node``, itself included."""
    if node.type == "identifier":
        return frozenset({syntax.text(node)})
    return syntax.identifier_names(node)


def _match_sides(param: Node) -> list[Node]:
    """``%S{} = state = other`` gives ``[%S{}, state, other]``."""
    if param.type == "binary_operator" and syntax.operator(param) == "=":
        left, right = param.child_by_field_name("left"), param.child_by_field_name("right")
        return [*(_match_sides(left) if left else []), *(_match_sides(right) if right else [])]
    return [param]


def _is_bare_struct(node: Node) -> bool:
    """``%State{}`` or ``%{}``: a type check, nothing read from inside."""
    return node.type == "map" and all(c.type == "struct" for c in node.named_children)


def _diverges(tail: Node) -> bool:
    return tail.type == "call" and syntax.local_target(tail) in _DIVERGING


def _return(tail: Node) -> Return:
    if tail.type != "tuple":
        return Return("unknown", tail)
    items = [c for c in tail.named_children if c.type != "comment"]
    tag = syntax.text(items[0]) if items else ""
    if tag == ":reply" and len(items) in (3, 4):
        return Return("reply", tail, items[1], items[2])
    if tag == ":noreply" and len(items) in (2, 3):
        return Return("noreply", tail, None, items[1])
    if tag == ":stop" and len(items) == 3:
        return Return("stop", tail, None, items[2])
    if tag == ":stop" and len(items) == 4:
        return Return("stop", tail, items[2], items[3])
    return Return("unknown", tail)


_STATE_CALLBACKS = (("handle_call", 3), ("handle_cast", 2), ("handle_info", 2))


def set_only_at_start(module: ModuleFacts) -> bool:
    """Nothing changes the server's state once it has started: every ``handle_call/3``,
    ``handle_cast/2`` and ``handle_info/2`` clause hands back the state it received, in a
    return the tool reads, and a ``handle_continue/2`` that changes it (loading what ``init/1``
    left for later) is asked for by ``init/1`` alone. A callback defined by a macro or
    returning through a helper is not known to keep the state: no."""
    asks_to_continue = False
    for name, arity in _STATE_CALLBACKS:
        for clause in module.functions(name, arity):
            flow = state_flow(clause)
            if not clause.private and not flow.keeps_state:
                return False
            asks_to_continue = asks_to_continue or any(_continues(r) for r in flow.returns)
    if not asks_to_continue:
        return True
    return all(state_flow(clause).keeps_state for clause in module.functions("handle_continue", 2))


def _continues(returned: Return) -> bool:
    """``{:noreply, state, {:continue, term}}`` (or the ``:reply`` form)."""
    items = [c for c in returned.node.named_children if c.type != "comment"]
    last = items[-1] if len(items) >= 3 else None
    if last is None or last.type != "tuple" or not last.named_children:
        return False
    return syntax.text(last.named_children[0]) == ":continue"


def only_reads(module: ModuleFacts, clause: Clause) -> bool:
    """A ``handle_call`` clause that replies from the state and changes nothing: it keeps the
    state, touches nothing outside the process, does not use ``from``, and hands nothing the
    state holds to a module outside the standard library (``CubDB.put(cub_pid, ..)``,
    ``Engine.subscribe(state.engine, ..)``: a pid or a handle kept in the state is another
    process or resource, which such a call may change; a pure ``Core.status(state)`` of another
    module of the project is taken for such a call too, as the tool cannot tell it from one)."""
    if uses_from(clause) or has_effects(module, clause):
        return False
    flow = state_flow(clause)
    if not (flow.keeps_state and flow.reads and all(r.tag == "reply" for r in flow.returns)):
        return False
    return not _hands_state_out(module, clause, flow)


# Modules whose functions compute in the caller and touch nothing outside it (what they are
# given from the state stays a value).
PURE_MODULES = (
    frozenset(
        (  # noqa: SIM905 (a word list reads better than a column of strings)
            "Enum Map Keyword List MapSet String Kernel Access Stream Integer Float Tuple Atom "
            "Regex Range Date DateTime NaiveDateTime Time Calendar URI Base Bitwise Logger "
            "Inspect :erlang"
        ).split()
    )
    | PURE_ERLANG
)


def _hands_state_out(module: ModuleFacts, clause: Clause, flow: StateFlow) -> bool:
    """A call to a module outside the standard library takes the state or something read from
    it as an argument; not one to a module nested in this one (``State.lookup(state, key)``:
    its helpers, which the reader sees next to the callbacks)."""
    held = {name for name in (flow.whole, *flow.parts) if name}
    if not held or clause.body is None:
        return False
    for captures in matches(_CALLS, clause.body):
        written = syntax.text(captures["module"][0]) if "remote" in captures else None
        if written is None or written in PURE_MODULES or _nested(module, written):
            continue
        arguments = syntax.argument_nodes(captures["remote"][0])
        if any(_names_in(arg) & held for arg in arguments):
            return True
    return False
