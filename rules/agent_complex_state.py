"""OTP701 agent-complex-state: an Agent whose update functions carry real logic."""

from __future__ import annotations

from collections.abc import Iterator

from tree_sitter import Node

from otp_thinking import syntax
from otp_thinking.context import Context
from otp_thinking.findings import Finding
from otp_thinking.model import modules
from otp_thinking.model.modules import Clause, ModuleFacts
from otp_thinking.parsing import compile_query, matches
from otp_thinking.rule import Rule

DOC = """\
## What it flags
`Agent.update`, `Agent.get_and_update` and `Agent.cast` calls whose function carries real
logic:
- an anonymous function with several clauses (`fn %{status: :open} = s -> ...; s -> ... end`);
- a `case`, `cond` or `with` inside the function (except the two-clause upsert
  `case map[key] do nil -> ...; found -> ... end`, which is `Map.update/4` spelled out);
- nested updates: an `update_in`/`put_in`/`get_and_update_in`/`pop_in` whose function updates
  again, or three or more such updates (`Map.update` included) in one function.

The function may also be a local one (`&apply_event(&1, event)`, `&reset/1`, or
`Agent.update(agent, __MODULE__, :apply_event, [event])`): its clauses are checked the same way.

Not flagged: small get/put Agents (`Agent.update(agent, fn s -> Map.put(s, k, v) end)`,
`&Map.update(&1, key, 1, fn n -> n + 1 end)`), `Agent.get` (reads), functions from other
modules (the rule does not look into them), tests, `.exs` scripts and Mix tasks.

## Why it matters
An Agent is a process holding a value that other processes change by sending it functions. That
fits a counter or a cache of a few keys. Once the functions branch on the state, each caller
carries a piece of the state machine: the rules of how the state may change are spread over
every call site, the functions (and whatever they capture) are copied into the Agent's process
on each call, and nothing names the operations. A GenServer keeps the transitions in one place
as named messages (`handle_call({:checkout, cart_id}, ...)`), runs them in the process that owns
the data, and can validate, log or reject them.

## Example
```elixir
Agent.update(MyApp.Carts, fn carts ->
  case Map.fetch(carts, cart_id) do
    {:ok, %{status: :open} = cart} -> Map.put(carts, cart_id, %{cart | status: :checked_out})
    {:ok, _closed} -> carts
    :error -> carts
  end
end)
```

As a GenServer, the transition has a name and a home:

```elixir
def checkout(cart_id), do: GenServer.call(__MODULE__, {:checkout, cart_id})

def handle_call({:checkout, cart_id}, _from, carts) do
  case Map.fetch(carts, cart_id) do
    {:ok, %{status: :open} = cart} ->
      {:reply, :ok, Map.put(carts, cart_id, %{cart | status: :checked_out})}

    _ ->
      {:reply, {:error, :not_open}, carts}
  end
end
```

## Fix
No automatic fix: turning an Agent into a GenServer changes its API. By hand, give each
operation a client function that sends a named message, move the logic into the matching
`handle_call`/`handle_cast` clause, and keep `Agent` for the plain get/put cases.
"""


_LOGIC = compile_query(
    """
    (call target: (identifier) @keyword
      (#any-of? @keyword "case" "cond" "with")) @branch
    (call target: (identifier) @update
      (#any-of? @update "update_in" "put_in" "get_and_update_in" "pop_in")) @nested
    (call target: (dot left: (alias) @module right: (identifier) @update)
      (#any-of? @module "Map" "Keyword")
      (#any-of? @update "update" "update!" "get_and_update" "get_and_update!")) @map_update
    """
)


def check(context: Context) -> Iterator[Finding]:
    for captures in context.remote_calls({"Agent"}, {"update", "get_and_update", "cast"}):
        call = captures["call"][0]
        module = modules.at(context, call)
        reason = _logic(call, module)
        if reason is None:
            continue
        function = context.text(captures["function"][0])
        message = (
            f"This Agent.{function} function carries real logic ({reason}) that every caller "
            "sends into the Agent; give the operation a name as a GenServer handle_call clause "
            "instead."
        )
        target = call.child_by_field_name("target") or call
        yield context.finding(RULE, target, message)


def _logic(call: Node, module: ModuleFacts | None) -> str | None:
    for function in _functions(call, module):
        reason = _complexity(function)
        if reason is not None:
            return reason
    return None


def _functions(call: Node, module: ModuleFacts | None) -> Iterator[Node | list[Clause]]:
    """What the call sends to the Agent: an ``fn``, a capture's expression, or the clauses of
    the local function it names."""
    args = syntax.argument_nodes(call)
    for arg in args:
        if arg.type == "anonymous_function":
            yield arg
        elif arg.type == "unary_operator" and syntax.operator(arg) == "&":
            operand = arg.child_by_field_name("operand")
            name = _local_name(operand)
            if name is not None and module is not None and module.defines(name):
                yield module.local_clauses(name)
            elif operand is not None:
                yield operand
    if len(args) >= 4 and syntax.text(args[-3]) == "__MODULE__" and args[-2].type == "atom":
        name = syntax.text(args[-2]).lstrip(":")
        if module is not None and module.defines(name):
            yield module.local_clauses(name)


def _local_name(operand: Node | None) -> str | None:
    """``handle`` in ``&handle/1`` or ``&handle(&1, x)``."""
    if operand is None:
        return None
    if operand.type == "binary_operator" and syntax.operator(operand) == "/":
        left = operand.child_by_field_name("left")
        return syntax.text(left) if left is not None and left.type == "identifier" else None
    if operand.type == "call":
        return syntax.local_target(operand)
    return None


def _complexity(function: Node | list[Clause]) -> str | None:
    if isinstance(function, list):
        if len(function) > 1:
            return "a multi-clause function"
        return next((r for c in function if (r := _body_logic(c.node)) is not None), None)
    if function.type == "anonymous_function":
        clauses = [c for c in function.named_children if c.type == "stab_clause"]
        if _branches([_fn_pattern(c) for c in clauses]):
            return "a multi-clause fn"
    return _body_logic(function)


def _branches(patterns: list[Node | None]) -> bool:
    """Clauses that switch on the state. Two clauses of which one matches ``nil`` give the
    initial value: `Map.update/4` with a default, spelled out."""
    if len(patterns) != 2:
        return len(patterns) > 2
    return not any(p is not None and syntax.text(p) == "nil" for p in patterns)


def _fn_pattern(clause: Node) -> Node | None:
    """The first parameter's pattern of an ``fn`` clause (None when it has a guard or no
    parameter: it then counts as a shape)."""
    left = clause.child_by_field_name("left")
    if left is None or left.type == "binary_operator":
        return None
    params = [c for c in left.named_children if c.type != "comment"]
    return params[0] if params else None


def _body_logic(node: Node) -> str | None:
    updates = 0
    for captures in matches(_LOGIC, node):
        if "branch" in captures:
            if _is_upsert(captures["branch"][0]):
                continue
            return f"a {syntax.text(captures['keyword'][0])}"
        updates += 1
        update = captures["nested"][0] if "nested" in captures else captures["map_update"][0]
        if _updates_inside(update):
            return "nested updates"
    return "nested updates" if updates >= 3 else None


_LOOKUPS = frozenset({("Map", "get"), ("Map", "fetch"), ("Keyword", "get"), ("Keyword", "fetch")})
_MISSING = frozenset({"nil", ":error"})


def _is_upsert(branch: Node) -> bool:
    """``case map[key] do nil -> [x]; list -> [x | list] end``: ``Map.update/4`` spelled out."""
    if syntax.local_target(branch) != "case":
        return False
    subject = next(iter(syntax.argument_nodes(branch)), None)
    lookup = subject is not None and (
        subject.type == "access_call"
        or (subject.type == "call" and syntax.remote_target(subject) in _LOOKUPS)
    )
    block = syntax.do_block(branch)
    clauses = [c for c in block.named_children if c.type == "stab_clause"] if block else []
    if not lookup or len(clauses) != 2:
        return False
    patterns = [syntax.text(c.child_by_field_name("left")).strip() for c in clauses]
    return any(p in _MISSING for p in patterns)


def _updates_inside(update: Node) -> bool:
    """An ``update_in(...)`` whose function updates again (``&Map.update(&1, ...)``)."""
    for arg in syntax.argument_nodes(update):
        for captures in matches(_LOGIC, arg):
            if "nested" in captures or "map_update" in captures:
                return True
    return False


RULE = Rule(
    code="OTP701",
    name="agent-complex-state",
    severity="hint",
    summary="Agent whose update functions carry real logic: it wants a GenServer",
    doc=DOC,
    check=check,
    words=("Agent",),
    production_only=True,
    preview=True,
)
