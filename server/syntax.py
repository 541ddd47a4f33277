"""Small helpers over tree-sitter-elixir shapes, shared by rules, fixes and the project index.

Shapes (tree-sitter-elixir 0.3): a remote call is ``(call target: (dot left: (alias) right:
(identifier)) (arguments …))``; an Erlang module is ``(atom ":ets")``; a keyword key keeps its
trailing space (``"name: "``); a body is a ``do_block`` or a ``do:`` pair in ``arguments``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from tree_sitter import Node


def text(node: Node | None) -> str:
    if node is None or node.text is None:
        return ""
    return node.text.decode("utf-8", "replace")


def remote_target(call: Node) -> tuple[str, str] | None:
    """``("Task", "async")`` for ``Task.async(...)``, ``(":ets", "new")`` for ``:ets.new``."""
    target = call.child_by_field_name("target")
    if target is None or target.type != "dot":
        return None
    left, right = target.child_by_field_name("left"), target.child_by_field_name("right")
    if left is None or right is None or right.type != "identifier":
        return None
    return text(left), text(right)


def local_target(call: Node) -> str | None:
    """``"def"`` for ``def f ...``, ``"use"`` for ``use GenServer``."""
    target = call.child_by_field_name("target")
    if target is not None and target.type == "identifier":
        return text(target)
    return None


def arguments(call: Node) -> Node | None:
    for child in call.named_children:
        if child.type == "arguments":
            return child
    return None


def argument_nodes(call: Node) -> list[Node]:
    """The call's arguments in order, comments left out (a trailing keyword list is one)."""
    args = arguments(call)
    if args is None:
        return []
    return [child for child in args.named_children if child.type != "comment"]


def keyword_pairs(node: Node | None) -> Iterator[tuple[str, Node]]:
    """``(key, value)`` of a ``keywords`` node or a list literal of ``key: value`` pairs."""
    if node is None:
        return
    for child in node.named_children:
        if child.type == "keywords":
            yield from keyword_pairs(child)
        elif child.type == "pair":
            key, value = child.child_by_field_name("key"), child.child_by_field_name("value")
            if key is not None and value is not None:
                yield text(key).strip().rstrip(":").strip('"'), value


def ancestors(node: Node) -> Iterator[Node]:
    parent = node.parent
    while parent is not None:
        yield parent
        parent = parent.parent


def enclosing(node: Node, predicate: Callable[[Node], bool]) -> Node | None:
    return next((parent for parent in ancestors(node) if predicate(parent)), None)


def is_defmodule(node: Node) -> bool:
    return node.type == "call" and local_target(node) == "defmodule"


def is_def(node: Node) -> bool:
    return node.type == "call" and local_target(node) in ("def", "defp")


def module_name(defmodule: Node) -> str:
    args = argument_nodes(defmodule)
    return text(args[0]) if args and args[0].type == "alias" else ""


def enclosing_module(node: Node) -> Node | None:
    return enclosing(node, is_defmodule)


def do_block(call: Node) -> Node | None:
    for child in call.named_children:
        if child.type == "do_block":
            return child
    return None


def uses(module: Node) -> list[str]:
    """Aliases this module ``use``s directly in its body (``["GenServer"]``)."""
    body = do_block(module)
    if body is None:
        return []
    found = []
    for child in body.named_children:
        if child.type == "call" and local_target(child) == "use":
            args = argument_nodes(child)
            if args and args[0].type == "alias":
                found.append(text(args[0]))
    return found


def module_aliases(module: Node) -> dict[str, str]:
    """Short name to full name for the ``alias`` calls written directly in a module's body:
    ``alias MyApp.Repo``, ``alias MyApp.Repo, as: R`` and ``alias MyApp.{Repo, Accounts.User}``."""
    found: dict[str, str] = {}
    body = do_block(module)
    for child in body.named_children if body is not None else []:
        if child.type != "call" or local_target(child) != "alias":
            continue
        args = argument_nodes(child)
        if not args:
            continue
        if args[0].type == "alias":
            full = text(args[0])
            options = dict(keyword_pairs(args[1])) if len(args) > 1 else {}
            short = text(options["as"]) if "as" in options else full.rsplit(".", 1)[-1]
            found[short] = full
        elif args[0].type == "dot":
            base, group = args[0].child_by_field_name("left"), args[0].child_by_field_name("right")
            for item in group.named_children if group is not None else []:
                if item.type == "alias":
                    found[text(item).rsplit(".", 1)[-1]] = f"{text(base)}.{text(item)}"
    return found


def expand_alias(name: str, aliases: dict[str, str]) -> str:
    """``Repo.all`` with ``{"Repo": "MyApp.Repo"}`` gives ``MyApp.Repo.all``; Erlang modules
    and unknown names come back as they are."""
    head, dot, rest = name.partition(".")
    full = aliases.get(head)
    if full is None:
        return name
    return f"{full}{dot}{rest}"


def is_pipe(node: Node | None) -> bool:
    return node is not None and node.type == "binary_operator" and operator(node) == "|>"


def operator(node: Node) -> str:
    op = node.child_by_field_name("operator")
    return text(op) if op is not None else ""


_BRANCHING = frozenset({"case", "cond", "if", "unless", "with", "receive", "try"})
_TRAILING_BLOCKS = frozenset({"else_block", "rescue_block", "catch_block", "after_block"})


def body_of(definition: Node) -> Node | None:
    """The body of a ``def``/``defp``/``fn``-less call: its ``do_block`` or its ``do:`` value."""
    block = do_block(definition)
    if block is not None:
        return block
    args = arguments(definition)
    for key, value in keyword_pairs(
        args.named_children[-1] if args and args.named_children else None
    ):
        if key == "do":
            return value
    return None


def tail_expressions(body: Node | None) -> list[Node]:
    """The expressions whose value a body can return, through case/cond/if/with/receive/try.

    ``def f, do: (case x do a -> {:ok, a}; _ -> :error end)`` gives ``[{:ok, a}, :error]``. An
    ``if`` without ``else`` can also return nil: the ``if`` call itself is then one of the tails,
    so callers that look for a specific shape see something they do not recognise.
    """
    if body is None:
        return []
    if body.type in ("do_block", "body", "block", "else_block", "after_block"):
        return _tails_of_block(body)
    if body.type == "call" and local_target(body) in _BRANCHING:
        return _tails_of_branching(body)
    return [body]


def _tails_of_block(block: Node) -> list[Node]:
    expressions = [
        c for c in block.named_children if c.type != "comment" and c.type not in _TRAILING_BLOCKS
    ]
    tails = tail_expressions(expressions[-1]) if expressions else []
    for child in block.named_children:
        if child.type in ("rescue_block", "catch_block", "else_block"):
            tails.extend(_tails_of_clauses(child))
    return tails


def _tails_of_clauses(block: Node) -> list[Node]:
    clauses = [c for c in block.named_children if c.type == "stab_clause"]
    if not clauses:
        return _tails_of_block(block)
    tails = []
    for clause in clauses:
        tails.extend(tail_expressions(clause.child_by_field_name("right")))
    return tails


def _tails_of_branching(call: Node) -> list[Node]:
    kind = local_target(call)
    block = do_block(call)
    if block is None:  # if x, do: a, else: b
        pairs = dict(keyword_pairs(_last_argument(call)))
        if "do" not in pairs:
            return [call]
        tails = tail_expressions(pairs["do"])
        return tails + (tail_expressions(pairs["else"]) if "else" in pairs else [call])
    if kind in ("if", "unless"):
        tails = _tails_of_block(block)
        has_else = any(c.type == "else_block" for c in block.named_children)
        return tails if has_else else [*tails, call]
    if kind in ("case", "cond", "receive"):
        return _tails_of_clauses(block)
    return _tails_of_block(block)  # with / try: the do body plus else/rescue/catch clauses


def _last_argument(call: Node) -> Node | None:
    args = argument_nodes(call)
    return args[-1] if args else None


def variable_uses(node: Node | None, name: str) -> list[Node]:
    """``identifier`` nodes under ``node`` that name the variable ``name`` (not calls, fields
    or module attributes)."""
    if node is None:
        return []
    found = []
    stack = [node]
    while stack:
        current = stack.pop()
        if current.type == "identifier":
            if text(current) == name and _is_variable(current):
                found.append(current)
            continue
        stack.extend(current.named_children)
    return found


def _is_variable(identifier: Node) -> bool:
    parent = identifier.parent
    if parent is None:
        return True
    if parent.type == "call" and parent.child_by_field_name("target") == identifier:
        return False
    if parent.type == "dot" and parent.child_by_field_name("right") == identifier:
        return False
    return not (parent.type == "unary_operator" and operator(parent) == "@")


def bound_names(pattern: Node | None) -> list[str]:
    """Variables a pattern binds (``%{a: a} = state`` gives ``["a", "state"]``), skipping
    underscored names, pinned variables and module attributes."""
    if pattern is None:
        return []
    names = []
    stack = [pattern]
    while stack:
        current = stack.pop()
        if current.type == "identifier":
            name = text(current)
            if not name.startswith("_") and _is_variable(current):
                names.append(name)
            continue
        if current.type == "unary_operator" and operator(current) in ("^", "@"):
            continue
        stack.extend(current.named_children)
    return names


_CONSTANT_TYPES = frozenset(
    {"atom", "quoted_atom", "boolean", "nil", "integer", "float", "string", "charlist"}
)


def is_constant(node: Node | None) -> bool:
    """A literal that carries no run-time information: ``nil``, ``:ok``, ``0``, ``%{}``, ``[]``."""
    if node is None:
        return False
    if node.type in _CONSTANT_TYPES:
        return not any(c.type == "interpolation" for c in node.named_children)
    if node.type in ("map", "list", "tuple"):
        return all(is_constant(c) for c in node.named_children if c.type != "comment")
    if node.type in ("map_content", "keywords"):
        return all(is_constant(c) for c in node.named_children)
    if node.type == "pair":
        return is_constant(node.child_by_field_name("value"))
    return node.type == "struct"


def in_pattern(node: Node, within: Node | None = None) -> bool:
    """``node`` sits where it gets bound: the left of ``=`` or ``<-``, or a clause head
    (``x -> …``), below ``within`` (the search stops there)."""
    child = node
    for parent in ancestors(node):
        if parent.type == "binary_operator" and operator(parent) in ("=", "<-"):
            if parent.child_by_field_name("left") == child:
                return True
        elif parent.type == "stab_clause" and parent.child_by_field_name("left") == child:
            return True
        if within is not None and parent == within:
            return False
        child = parent
    return False
