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


def module_body(module: Node) -> Node | None:
    """The node holding a module's definitions: its ``do_block`` or, when a half-written buffer
    left the module without one, the ERROR node tree-sitter gathered them in."""
    return module if module.type == "ERROR" else do_block(module)


def module_attributes(module: Node) -> dict[str, list[Node]]:
    """Values of ``@name value`` written directly in the module's body, by name, in order."""
    found: dict[str, list[Node]] = {}
    body = module_body(module)
    if body is None:
        return found
    for child in body.named_children:
        if child.type != "unary_operator" or operator(child) != "@":
            continue
        operand = child.child_by_field_name("operand")
        if operand is None or operand.type != "call":
            continue
        name, args = local_target(operand), argument_nodes(operand)
        if name is not None and len(args) == 1:
            found.setdefault(name, []).append(args[0])
    return found


def attribute_name(node: Node) -> str | None:
    """``"timeout"`` for a read of ``@timeout``."""
    if node.type == "unary_operator" and operator(node) == "@":
        operand = node.child_by_field_name("operand")
        if operand is not None and operand.type == "identifier":
            return text(operand)
    return None


def def_head(definition: Node) -> tuple[str, list[Node]] | None:
    """Name and parameters of ``def name(params) [when guard]``."""
    args = argument_nodes(definition)
    if not args:
        return None
    head = args[0]
    if head.type == "binary_operator" and operator(head) == "when":
        head = head.child_by_field_name("left") or head
    if head.type == "call":
        name = local_target(head)
        return (name, argument_nodes(head)) if name else None
    if head.type == "identifier":
        return text(head), []
    return None


def definitions(module: Node, name: str, arity: int | None = None) -> list[Node]:
    """The ``def``/``defp`` clauses of ``name`` (of ``arity`` when given) in the module's body."""
    body = module_body(module)
    if body is None:
        return []
    found = []
    for child in body.named_children:
        if not is_def(child):
            continue
        head = def_head(child)
        if head and head[0] == name and (arity is None or len(head[1]) == arity):
            found.append(child)
    return found


def body_statements(definition: Node) -> list[Node]:
    """The statements of a ``def``'s body (``do ... end`` or ``do:``), comments left out."""
    block = do_block(definition)
    if block is not None:
        return [
            child
            for child in block.named_children
            if child.type not in ("comment",) and not child.type.endswith("_block")
        ]
    for key, value in keyword_pairs(arguments(definition)):
        if key == "do":
            return [value]
    return []


def behaviours(module: Node) -> list[str]:
    """What the module declares with ``@behaviour`` (``["GenServer"]``, ``[":gen_statem"]``)."""
    return [text(value) for value in module_attributes(module).get("behaviour", [])]
