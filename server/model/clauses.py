"""Function definitions: what a ``def``/``defp``/``defmacro``/``defmacrop`` head says.

One decoder of a head for the whole tool: its name, its parameters (so its arity) and its
guard, in every spelling Elixir accepts (``def f(x)``, ``def f(x) when is_integer(x)``,
``def f, do: ...``, ``def f(x), do: ...``) and in a half-written buffer (a head with no body
yet, or no head at all, which gives None). Rules, fixes and the index ask here rather than
reading the arguments of a ``def`` call themselves.
"""

from __future__ import annotations

from typing import NamedTuple

from tree_sitter import Node

from otp_thinking import syntax
from otp_thinking.parsing import compile_query

ALL = compile_query(
    """
    (call target: (identifier) @def
      (arguments [
        (call target: (identifier) @name)
        (binary_operator left: (call target: (identifier) @name) operator: "when")])
      (#any-of? @def "def" "defp")) @definition
    """
)
"""Every ``def``/``defp`` clause with its name (``@def`` is the keyword): one walk finds them all,
for rules that look for a few names among thousands of definitions."""


class Head(NamedTuple):
    """``def handle_call(:get, _from, state) when ...``: the name, the parameters, the guard."""

    name: str
    params: list[Node]
    guard: Node | None
    node: Node
    """The head as written, guard left out: ``handle_call(:get, _from, state)``."""

    @property
    def arity(self) -> int:
        return len(self.params)


@syntax.remembered  # asked again by every rule, and for every call in the function
def head(definition: Node) -> Head | None:
    """The head of a ``def``-like call; None when it has none that names a function (a
    half-written ``def``, ``def unquote(name)(x)``, an operator definition). Its ``params``
    are shared between askers: not to be changed."""
    args = syntax.argument_nodes(definition)
    if not args:
        return None
    written, guard = args[0], None
    if written.type == "binary_operator" and syntax.operator(written) == "when":
        guard = written.child_by_field_name("right")
        written = written.child_by_field_name("left") or written
    if written.type == "call":
        name = syntax.local_target(written)
        return Head(name, syntax.argument_nodes(written), guard, written) if name else None
    if written.type == "identifier":
        return Head(syntax.text(written), [], guard, written)
    return None


def is_head(call: Node) -> bool:
    """``run(x)`` in ``defp run(x) when ... do``: the head of a definition, not a call."""
    above = syntax.parent(call)
    if above is not None and above.type == "binary_operator" and syntax.operator(above) == "when":
        above = syntax.parent(above)
    holder = syntax.parent(above) if above is not None and above.type == "arguments" else None
    return holder is not None and syntax.is_definition(holder)


def name(definition: Node) -> str:
    """``"start_link"`` for ``def start_link(opts) when ... do``; ``""`` when it names none."""
    found = head(definition)
    return found.name if found is not None else ""


def arity(definition: Node) -> int:
    """How many parameters the head takes (0 when it names no function)."""
    found = head(definition)
    return found.arity if found is not None else 0


def of_module(module: Node, wanted: str, arity: int | None = None) -> list[Node]:
    """The ``def``/``defp`` clauses of ``wanted`` (of ``arity`` when given) in the module's body."""
    found = _defs_by_name(module).get(wanted, ())
    return [clause for clause, taken in found if arity is None or taken == arity]


@syntax.remembered  # asked for each local function a module's callbacks call, and more
def _defs_by_name(module: Node) -> dict[str, list[tuple[Node, int]]]:
    """The ``def``/``defp`` clauses in the module's body by name, each with its arity, in
    source order: read once per module rather than through its body for every name asked."""
    body = syntax.module_body(module)
    found: dict[str, list[tuple[Node, int]]] = {}
    for child in syntax.named_children(body) if body is not None else []:
        clause = head(child) if syntax.is_def(child) else None
        if clause is not None:
            found.setdefault(clause.name, []).append((child, clause.arity))
    return found


def public_definitions(module: Node) -> list[Node]:
    """The module's ``def`` clauses (not ``defp``), in source order."""
    return [
        clause
        for clauses in _defs_by_name(module).values()
        for clause, _arity in clauses
        if syntax.local_target(clause) == "def"
    ]


def any_of_module(module: Node, wanted: str) -> list[Node]:
    """Every definition of ``wanted`` in the module's body, macros included, any arity."""
    body = syntax.do_block(module)
    if body is None:
        return []
    return [c for c in body.named_children if syntax.is_definition(c) and name(c) == wanted]


def default_of(definition: Node, variable: str) -> Node | None:
    """The default value of the parameter ``variable`` (``server \\\\ __MODULE__``), written in
    this clause's head or in a head of the same function just above it (a bodiless
    ``def read(server \\\\ __MODULE__)`` before its clauses); None when it has none."""
    for param in _defaults(definition):
        left = param.child_by_field_name("left")
        if left is not None and syntax.text(left) == variable:
            return param.child_by_field_name("right")
    return None


def accepts(definition: Node, arity: int) -> bool:
    """A call with ``arity`` arguments reaches this clause's function: its arity, or fewer by
    as many default arguments as its heads declare (``def async(node, func \\\\ nil)``)."""
    found = head(definition)
    if found is None:
        return False
    return found.arity - len(_defaults(definition)) <= arity <= found.arity


def _defaults(definition: Node) -> list[Node]:
    """The ``param \\\\ default`` parameters of this clause's head, or of a head of the same
    function just above it (comments and attributes between clauses skipped)."""
    found = head(definition)
    if found is None:
        return []
    clause: Node | None = definition
    while clause is not None:
        if clause.type == "comment" or (
            clause.type == "unary_operator" and syntax.operator(clause) == "@"
        ):
            clause = clause.prev_named_sibling  # `@doc`, `@spec`, `@impl` between clauses
            continue
        clause_head = head(clause) if syntax.is_definition(clause) else None
        if clause_head is None or clause_head.name != found.name:
            return []
        if len(clause_head.params) == found.arity:
            defaults = [
                p
                for p in clause_head.params
                if p.type == "binary_operator" and syntax.operator(p) == "\\\\"
            ]
            if defaults:
                return defaults
        clause = clause.prev_named_sibling
    return []


class Delegate(NamedTuple):
    """``defdelegate fetch(id), to: Shop.Store, as: :get``: a public function that calls
    ``target`` (as written, to resolve) by the name ``function``."""

    name: str
    arity: int
    target: Node
    function: str


def delegate(call: Node) -> Delegate | None:
    """What a ``defdelegate`` defines; None when its head or its ``to:`` is missing."""
    if syntax.local_target(call) != "defdelegate":
        return None
    found = head(call)
    args = syntax.argument_nodes(call)
    options = dict(syntax.keyword_pairs(args[-1])) if len(args) > 1 else {}
    target = options.get("to")
    if found is None or target is None:
        return None
    renamed = options.get("as")
    function = syntax.text(renamed).lstrip(":") if renamed is not None else found.name
    return Delegate(found.name, found.arity, target, function)
