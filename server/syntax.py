"""Small helpers over tree-sitter-elixir shapes, shared by rules, fixes and the project index.

Shapes (tree-sitter-elixir 0.3): a remote call is ``(call target: (dot left: (alias) right:
(identifier)) (arguments …))``; an Erlang module is ``(atom ":ets")``; a keyword key keeps its
trailing space (``"name: "``); a body is a ``do_block`` or a ``do:`` pair in ``arguments``.
"""

from __future__ import annotations

import bisect
import functools
import time
from collections.abc import Callable, Iterator
from typing import ParamSpec, TypeVar, cast

from tree_sitter import Node, Tree

from otp_thinking.parsing import compile_query, matches, on_forget, recent_trees

REMOTE_CALLS = compile_query(
    "(call target: (dot left: [(alias) (atom) (dot left: (identifier) right: (alias))] @module"
    " right: (identifier) @function)) @call"
)
"""Every `Module.function` call (piped and captured ones too: `&Task.async/1`), `__MODULE__.Sub`
ones included (`@module` is then the `dot`), one query shared by the rules and the project
index: compiled once, and one walk finds them all. Rules take the calls they want by name
through `Context.remote_calls`."""

LOCAL_CALLS = compile_query("(call target: (identifier) @function) @call")
"""Every call of a bare name (`load(state)`, `def`, `case`): one query for the model and the
rules that follow a module's own functions, compiled once."""


FEW_CHILDREN = 8
"""Up to this many children, `named_children` reads them one by one."""


def named_children(node: Node) -> list[Node]:
    """``node.named_children``, without py-tree-sitter keeping the list of all its children on
    the node for as long as the node lives: the analysis keeps tens of thousands of nodes
    (query matches, remembered answers), and a list on each doubled what the garbage collector
    walks in every full collection (a third of a large file's analysis). A node with many
    children (a long body) gets its list: read one by one, each would cost its index."""
    if node.child_count > FEW_CHILDREN:
        return node.named_children
    return [node.named_child(index) for index in range(node.named_child_count)]


def text(node: Node | None) -> str:
    data = node.text if node is not None else None  # each read of .text copies the bytes
    return data.decode("utf-8", "replace") if data is not None else ""


def module_text(node: Node) -> str:
    """The module an alias names, as Elixir's own modules are spelled: ``Elixir.Task`` is
    ``Task`` (the spelling a file needs once an ``alias`` gives ``Task`` to a module of its
    own)."""
    written = text(node)
    return written.removeprefix("Elixir.") if node.type == "alias" else written


def explicitly_elixir(call: Node) -> bool:
    """``Elixir.Task.async(...)``: the call names Elixir's module past any ``alias``, and so
    must whatever replaces it."""
    target = call.child_by_field_name("target")
    left = target.child_by_field_name("left") if target is not None else None
    return left is not None and left.type == "alias" and text(left).startswith("Elixir.")


def remote_target(call: Node) -> tuple[str, str] | None:
    """``("Task", "async")`` for ``Task.async(...)`` and ``Elixir.Task.async(...)``,
    ``(":ets", "new")`` for ``:ets.new``."""
    target = call.child_by_field_name("target")
    if target is None or target.type != "dot":
        return None
    left, right = target.child_by_field_name("left"), target.child_by_field_name("right")
    if left is None or right is None or right.type != "identifier":
        return None
    return module_text(left), text(right)


def local_target(call: Node) -> str | None:
    """``"def"`` for ``def f ...``, ``"use"`` for ``use GenServer``."""
    target = call.child_by_field_name("target")
    if target is not None and target.type == "identifier":
        return text(target)
    return None


def arguments(call: Node) -> Node | None:
    if call.child_count > FEW_CHILDREN:
        return next((c for c in named_children(call) if c.type == "arguments"), None)
    for index in range(call.named_child_count):  # no list: the arguments come second
        child = call.named_child(index)
        if child is not None and child.type == "arguments":
            return child
    return None


def argument_nodes(call: Node) -> list[Node]:
    """The call's arguments in order, comments left out (a trailing keyword list is one)."""
    args = arguments(call)
    if args is None:
        return []
    return [child for child in named_children(args) if child.type != "comment"]


def keyword_pairs(node: Node | None) -> Iterator[tuple[str, Node]]:
    """``(key, value)`` of a ``keywords`` node or a list literal of ``key: value`` pairs."""
    if node is None:
        return
    for child in named_children(node):
        if child.type == "keywords":
            yield from keyword_pairs(child)
        elif child.type == "pair":
            key, value = child.child_by_field_name("key"), child.child_by_field_name("value")
            if key is not None and value is not None:
                yield text(key).strip().rstrip(":").strip('"'), value


# -- walking up ----------------------------------------------------------------------------
#
# tree-sitter finds a node's parent by walking down from the root, so ``node.parent`` costs time
# in proportion to the node's depth, and a walk to the root the square of it: hours on a file of
# 20,000 piped calls. Shallow walks use ``.parent`` as is; once a walk goes deeper than DEEP, the
# whole tree's parents are recorded in one walk down (`_Parents`) and looked up from then on,
# and `enclosing` remembers its answers, so a rule asking for every call's module or function
# costs time in proportion to the file, not to the file times its depth. Width costs too: on the
# way down tree-sitter scans each ancestor's children up to the one that holds the node, so
# the parents of 20,000 statements of one body cost the square of 20,000; the children of the
# parents found are counted (`_climb`), and past WIDE of them per node of the tree, the tree's
# parents are recorded as well. So is the time spent in ``.parent`` (`_climb`): many short walks
# up from deep nodes (the module around each of 2,000 nested ``defmodule``s) each stay under
# DEEP, yet together cost the square of the depth; once their time reaches what recording the
# tree's parents would cost, the parents are recorded.

DEEP = 40
"""Ancestors walked with ``.parent`` before the tree's parents are recorded."""
SLOW_CLIMB = 0.001
"""Seconds of ``.parent`` steps in one walk up after which the parents are recorded before
DEEP steps: each step costs the node's depth, so 40 steps at 20,000 levels take about as
long as a parse of the file; at ordinary depths 40 steps take tens of microseconds. The
step that crosses it is timed again, and the faster time counts: a step that a garbage
collection or the operating system held up (a few milliseconds, more in a large analysis)
recorded a 1 MB file's parents for no deep node (a parse's worth); a deep node's step is as
slow the second time."""


def _timed_parent(node: Node) -> float:
    started = time.perf_counter()
    node.parent  # noqa: B018 (timed, not used)
    return time.perf_counter() - started


WIDE = 100
"""Children scanned by ``.parent`` lookups, per node of the tree, before its parents are
recorded (a lookup scans a child in nanoseconds; recording costs about a microsecond a node,
so an ordinary file never gets there)."""
FIRST_WIDTH_CHECK = 1_000_000
RECORD_SECONDS_PER_NODE = 1e-6
"""About what recording a tree's parents costs, per node of the tree."""
_scanned = [0, FIRST_WIDTH_CHECK]
"""Children scanned by ``.parent`` lookups since the last record, and when to check next."""
FIRST_TIME_CHECK = 0.002
_climbing = [0.0, FIRST_TIME_CHECK]
"""Seconds spent in ``.parent`` lookups since the last record, and when to check next."""


class _Parents:
    """Every node's parent in one tree, recorded by one walk down, and `enclosing`'s answers."""

    def __init__(self, tree: Tree) -> None:
        self.tree = tree
        self.parent: dict[Node, Node | None] = {}
        self.enclosing: dict[Callable[[Node], bool], dict[Node, Node | None]] = {}
        cursor = tree.walk()
        above: list[Node | None] = [None]
        while True:
            node = cursor.node
            assert node is not None
            self.parent[node] = above[-1]
            if cursor.goto_first_child():
                above.append(node)
                continue
            while not cursor.goto_next_sibling():
                if not cursor.goto_parent():
                    return
                above.pop()


_maps: dict[int, _Parents] = {}


def _known(node: Node) -> dict[Node, Node | None] | None:
    recorded = _recorded_of(node)
    return recorded.parent if recorded is not None else None


def _recorded_of(node: Node) -> _Parents | None:
    """The recorded parents holding ``node``, the last tree found first (one lookup in the
    usual case: every question of an analysis is about the same tree)."""
    last = _last[0]
    if last is not None and node in last.parent:
        return last
    for recorded in list(_maps.values()):  # list(): atomic, other threads may record
        if node in recorded.parent:
            _last[0] = recorded
            return recorded
    return None


_last: list[_Parents | None] = [None]
_UNKNOWN = object()
"""What a lookup gives for a node it has no answer for (None is an answer: no parent)."""
"""The recorded parents `_recorded_of` found last."""


def _record(node: Node) -> _Parents | None:
    """The recorded parents of ``node``'s tree, recording them now if it is a recent one."""
    recorded = _recorded_of(node)
    if recorded is not None:
        return recorded
    _restart_counts()
    for tree in recent_trees():
        if id(tree) not in _maps and _belongs(node, tree):
            recent = {id(t) for t in recent_trees()}
            for stale in [key for key in list(_maps) if key not in recent]:
                _maps.pop(stale, None)
            _last[0] = None
            recorded = _maps[id(tree)] = _Parents(tree)
            return recorded
    return None


def _belongs(node: Node, tree: Tree) -> bool:
    found = tree.root_node.descendant_for_byte_range(node.start_byte, node.end_byte)
    while found is not None and found.byte_range == node.byte_range:
        if found == node:
            return True
        found = found.parent
    return False


def record_parents(node: Node) -> None:
    """Record the parents of ``node``'s tree now (a caller about to ask for many parents)."""
    _record(node)


def parent(node: Node) -> Node | None:
    """``node.parent``, looked up instead of searched for when the tree is deep or wide."""
    last = _last[0]
    if last is not None:  # the usual case once recorded: one lookup
        above = last.parent.get(node, _UNKNOWN)
        if above is not _UNKNOWN:
            return above  # type: ignore[return-value]
    parents = _known(node) if _maps else None
    if parents is not None:
        return parents[node]
    above, _recorded = _climb(node)
    return above


def _climb(node: Node) -> tuple[Node | None, _Parents | None]:
    """``node.parent``, counting the children tree-sitter scans for it and the time it takes;
    when the children add up to WIDE per node of the tree, or the time to what recording the
    tree's parents costs, the parents are recorded (and returned)."""
    started = time.perf_counter()
    above = node.parent
    _climbing[0] += time.perf_counter() - started
    if above is None:
        return None, None
    _scanned[0] += above.child_count
    if _scanned[0] < _scanned[1] and _climbing[0] < _climbing[1]:
        return above, None
    tree = _tree_of(node)
    if tree is None:
        _scanned[1] = _scanned[0] + FIRST_WIDTH_CHECK
        _climbing[1] = _climbing[0] + FIRST_TIME_CHECK
        return above, None
    nodes = tree.root_node.descendant_count
    if _scanned[0] < WIDE * nodes and _climbing[0] < RECORD_SECONDS_PER_NODE * nodes:
        _scanned[1] = max(WIDE * nodes, _scanned[0] + FIRST_WIDTH_CHECK)
        _climbing[1] = max(RECORD_SECONDS_PER_NODE * nodes, _climbing[0] + FIRST_TIME_CHECK)
        return above, None
    return above, _record(node)


def _tree_of(node: Node) -> Tree | None:
    return next((tree for tree in recent_trees() if _belongs(node, tree)), None)


def _restart_counts() -> None:
    _scanned[:] = [0, FIRST_WIDTH_CHECK]
    _climbing[:] = [0.0, FIRST_TIME_CHECK]


def _forget_scanned() -> None:
    _restart_counts()
    last = _last[0]
    if last is not None and id(last.tree) not in {id(tree) for tree in recent_trees()}:
        _last[0] = None  # the tree leaves the recent ones: do not keep it alive


on_forget(_forget_scanned)


def ancestors(node: Node) -> Iterator[Node]:
    """The nodes above ``node``, nearest first."""
    parents = _known(node) if _maps else None
    current: Node | None = node
    steps = 0
    climbing = 0.0  # seconds in `.parent`, not in what the caller does between steps
    while parents is None:
        assert current is not None
        below = current
        started = time.perf_counter()
        current, recorded = _climb(current)
        step = time.perf_counter() - started
        climbing += step
        if current is None:
            return
        if climbing > SLOW_CLIMB and recorded is None:  # the step that crossed: timed again
            climbing -= step - min(step, _timed_parent(below))
        yield current
        steps += 1
        if recorded is not None:
            parents = recorded.parent
        elif steps == DEEP or climbing > SLOW_CLIMB:
            recorded = _record(current)
            parents = recorded.parent if recorded is not None else {}
    while current is not None:
        above = parents.get(current, current)
        current = above if above is not current else current.parent  # .parent: not recorded
        if current is not None:
            yield current


_P = ParamSpec("_P")
_T = TypeVar("_T")


def remembered(function: Callable[_P, _T]) -> Callable[_P, _T]:
    """``function`` of nodes (and other hashable arguments) with its answers remembered until
    a tree leaves the recent ones (`parsing.on_forget`). For facts about a scope (a function,
    a module, a block) that rules ask again for every call in it: computing them afresh each
    time makes a file of many calls cost the square of its size. Answers must not be mutated."""
    cached = functools.lru_cache(maxsize=None)(function)
    on_forget(cached.cache_clear)
    return cast(Callable[_P, _T], cached)


_answers: dict[Callable[[Node], bool], dict[Node, Node | None]] = {}
"""`enclosing`'s answers by predicate, for the node asked (rules ask the module or function
around a call many times over); dropped when a tree leaves the recent ones."""
on_forget(_answers.clear)


def enclosing(node: Node, predicate: Callable[[Node], bool]) -> Node | None:
    """The nearest node above ``node`` for which ``predicate`` holds; in a deep tree each
    answer is remembered for every node on the way, so asking for many nodes stays linear."""
    answers = _answers.get(predicate)
    if answers is None:
        if len(_answers) > 64:  # predicates made afresh on each call: do not hoard them
            _answers.clear()
        answers = _answers[predicate] = {}
    found = answers.get(node, _UNKNOWN)
    if found is _UNKNOWN:
        found = answers[node] = _enclosing(node, predicate)
    return found  # type: ignore[return-value]


def _enclosing(node: Node, predicate: Callable[[Node], bool]) -> Node | None:
    recorded = _recorded_of(node) if _maps else None
    if recorded is None:
        for walked, above in enumerate(ancestors(node), 1):
            if predicate(above):
                return above
            if walked == DEEP:
                recorded = _record(above)
                break
        else:
            return None
        if recorded is None:
            return next((a for a in ancestors(node) if predicate(a)), None)
    return _enclosing_recorded(recorded, node, predicate)


def _enclosing_recorded(
    recorded: _Parents, node: Node, predicate: Callable[[Node], bool]
) -> Node | None:
    answers = recorded.enclosing.get(predicate)
    if answers is None:
        if len(recorded.enclosing) > 64:  # predicates made afresh on each call: do not hoard
            recorded.enclosing.clear()
        answers = recorded.enclosing[predicate] = {}
    parents = recorded.parent
    path = []
    current: Node | None = node
    found: Node | None = None
    while current is not None:
        known = answers.get(current, _UNKNOWN)
        if known is not _UNKNOWN:
            found = known  # type: ignore[assignment]
            break
        path.append(current)
        above = parents.get(current)
        if above is not None and predicate(above):
            found = above
            break
        current = above
    for visited in path:
        answers[visited] = found
    return found


def is_defmodule(node: Node) -> bool:
    return node.type == "call" and local_target(node) == "defmodule"


def is_def(node: Node) -> bool:
    return node.type == "call" and local_target(node) in ("def", "defp")


MAX_MODULE_NESTING = 64
"""``defmodule``s nested deeper than this are not analysed as modules: a module's full name
grows with its depth, and all of them together with the square of it (hostile input only)."""


def module_name(defmodule: Node) -> str:
    args = argument_nodes(defmodule)
    return text(args[0]) if args and args[0].type == "alias" else ""


def enclosing_module(node: Node) -> Node | None:
    answers = _answers.get(is_defmodule)  # `enclosing`'s first steps: asked for every call
    found = answers.get(node, _UNKNOWN) if answers is not None else _UNKNOWN
    return enclosing(node, is_defmodule) if found is _UNKNOWN else found  # type: ignore[return-value]


def do_block(call: Node) -> Node | None:
    for child in named_children(call):
        if child.type == "do_block":
            return child
    return None


def is_pipe(node: Node | None) -> bool:
    return node is not None and node.type == "binary_operator" and operator(node) == "|>"


def operator(node: Node) -> str:
    op = node.child_by_field_name("operator")
    return text(op) if op is not None else ""


def is_capture(node: Node | None) -> bool:
    return node is not None and node.type == "unary_operator" and text(node).startswith("&")


def captured_function(node: Node) -> str | None:
    """``helper`` for ``&helper/1``: the local function a capture names; None for any other
    node (``&helper(&1)`` is a call inside a capture, found as a call)."""
    if not is_capture(node) or not node.named_children:
        return None
    operand = node.named_children[0]
    left = operand.child_by_field_name("left") if operand.type == "binary_operator" else None
    return text(left) if left is not None and left.type == "identifier" else None


def call_key(call: Node) -> tuple[str, str]:
    """``("Task", "async")`` for a remote call, ``("", "spawn")`` for a local one."""
    return remote_target(call) or ("", local_target(call) or "")


def inside_call(node: Node, keys: frozenset[tuple[str, str]]) -> bool:
    """Whether ``node`` sits (at any depth) inside the arguments or block of such a call."""
    return enclosing(node, _call_among(keys)) is not None


@functools.lru_cache(maxsize=64)
def _call_among(keys: frozenset[tuple[str, str]]) -> Callable[[Node], bool]:
    """One predicate per set of keys, so `enclosing` can remember its answers."""
    return lambda node: node.type == "call" and call_key(node) in keys


DEFINITIONS = frozenset({"def", "defp", "defmacro", "defmacrop"})


def is_definition(node: Node) -> bool:
    return node.type == "call" and local_target(node) in DEFINITIONS


def enclosing_definition(node: Node) -> Node | None:
    """The ``def``/``defp``/``defmacro``/``defmacrop`` whose body holds ``node``."""
    answers = _answers.get(is_definition)
    found = answers.get(node, _UNKNOWN) if answers is not None else _UNKNOWN
    return enclosing(node, is_definition) if found is _UNKNOWN else found  # type: ignore[return-value]


def removal_span(source_text: str, start: int, end: int) -> tuple[int, int] | None:
    """What to delete to remove the statement at ``[start, end)``: its whole line(s) with the
    line break when nothing else shares them; up to a trailing comment (which stays, at the
    statement's indentation) when only a comment follows; else None."""
    whole = line_is_only(source_text, start, end)
    if whole is not None:
        return whole
    line_start = max(source_text.rfind("\n", 0, start), source_text.rfind("\r", 0, start)) + 1
    rest = source_text[end:]
    stripped = rest.lstrip(" \t")
    if source_text[line_start:start].strip() or not stripped.startswith("#"):
        return None
    return start, end + len(rest) - len(stripped)


def line_is_only(source_text: str, start: int, end: int) -> tuple[int, int] | None:
    """The span of the whole line(s) holding ``[start, end)`` with its line break, when
    nothing but whitespace shares those lines; else None."""
    line_start = source_text.rfind("\n", 0, start) + 1
    cr = source_text.rfind("\r", 0, start) + 1
    line_start = max(line_start, cr)
    line_end = len(source_text)
    for index in range(end, len(source_text)):
        if source_text[index] in "\r\n":
            line_end = index
            break
    if source_text[line_start:start].strip() or source_text[end:line_end].strip():
        return None
    if source_text.startswith("\r\n", line_end):
        return line_start, line_end + 2
    return line_start, min(line_end + 1, len(source_text))


def descendants(node: Node) -> Iterator[Node]:
    """Every named node under ``node``, depth first, in source order."""
    stack = list(reversed(named_children(node)))
    while stack:
        child = stack.pop()
        yield child
        stack.extend(reversed(named_children(child)))


_CAPTURED_NAMES = compile_query(
    '(unary_operator operator: "&" operand: (_ (identifier) @name)) @capture'
)


def local_calls_in(scope: Node) -> list[str]:
    """The names of the local calls under ``scope`` (not ``scope`` itself: ``def``), in
    source order: found by tree-sitter, without a walk in Python over every node of a long or
    deep function."""
    return [text(c["function"][0]) for c in matches(LOCAL_CALLS, scope) if c["call"][0] != scope]


def captured_names(scope: Node) -> list[Node]:
    """The identifiers under ``scope`` whose grandparent is a capture: ``helper`` in
    ``&helper/1`` and in ``&helper(&1)``."""
    return [c["name"][0] for c in matches(_CAPTURED_NAMES, scope) if c["capture"][0] != scope]


def local_binding(node: Node, name: str) -> Node | None:
    """The value last bound to the variable ``name`` (``name = value``) before ``node`` in the
    same function body, or None. Approximate: a binding in an earlier branch counts too."""
    definition = enclosing_definition(node)
    if definition is None:
        return None
    found = None
    for candidate in descendants(definition):
        if candidate.start_byte >= node.start_byte:
            break
        if candidate.type == "binary_operator" and operator(candidate) == "=":
            left = candidate.child_by_field_name("left")
            right = candidate.child_by_field_name("right")
            if (
                left is not None
                and left.type == "identifier"
                and text(left) == name
                and right is not None
                and right.end_byte <= node.start_byte
            ):
                found = right
    return found


def in_fn_within(node: Node, outer: Node) -> bool:
    """``node`` sits in an ``fn`` written inside ``outer``: code that may run later, or in
    another process."""
    for above in ancestors(node):
        if above == outer or not contains(outer, above):
            return False
        if above.type == "anonymous_function":
            return True
    return False


def contains(outer: Node, inner: Node) -> bool:
    """``inner`` lies within ``outer``'s bytes (``outer`` itself included)."""
    return outer.start_byte <= inner.start_byte and inner.end_byte <= outer.end_byte


@remembered  # asked for every await rewritten in a function, every :DOWN clause of a module
def identifier_names(node: Node) -> frozenset[str]:
    """The names of every identifier under ``node`` (variables, and local calls' names)."""
    return frozenset(text(n) for n in descendants(node) if n.type == "identifier")


def is_statement(node: Node) -> bool:
    """A child of a block that is a statement: not a comment, nor an else/rescue/… block."""
    return node.type != "comment" and not node.type.endswith("_block")


@remembered  # asked for every statement of a body, which can be thousands of lines long
def last_statement(block: Node) -> Node | None:
    """The last statement of ``block`` (see `is_statement`)."""
    return next((c for c in reversed(named_children(block)) if is_statement(c)), None)


@remembered
def last_non_comment(block: Node) -> Node | None:
    """The last named child of ``block`` that is not a comment."""
    return next((c for c in reversed(named_children(block)) if c.type != "comment"), None)


CONDITIONALS = frozenset({"case", "cond", "if", "unless", "with"})
"""The calls that choose between branches of code (not `receive` or `try`)."""
_BRANCHING = CONDITIONALS | {"receive", "try"}
_TRAILING_BLOCKS = frozenset({"else_block", "rescue_block", "catch_block", "after_block"})


def body_of(definition: Node) -> Node | None:
    """The body of a ``def``/``defp``/``fn``-less call: its ``do_block`` or its ``do:`` value."""
    block = do_block(definition)
    if block is not None:
        return block
    args = arguments(definition)
    last = named_children(args)[-1:] if args is not None else []
    for key, value in keyword_pairs(last[0] if last else None):
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
    piped = _piped_into(body)
    if piped is not None and local_target(piped) in _BRANCHING:
        return _tails_of_branching(piped)  # ``load() |> case do ... end``
    return [body]


def _piped_into(node: Node) -> Node | None:
    """The call on the right of ``left |> call``."""
    if node.type != "binary_operator" or operator(node) != "|>":
        return None
    right = node.child_by_field_name("right")
    return right if right is not None and right.type == "call" else None


def rescued(node: Node) -> bool:
    """``node`` is in the body of a ``try``, or of a function, that rescues or catches
    (``def f do ... rescue _ -> 0 end``): what it raises or exits with is handled there."""
    for block in ancestors(node):
        if block.type != "do_block":
            continue
        holder = parent(block)
        if holder is None or local_target(holder) not in ("try", *DEFINITIONS):
            continue
        handlers = handler_blocks(block)
        if handlers and node.start_byte < handlers[0].start_byte:
            return True
    return False


def handler_blocks(block: Node) -> list[Node]:
    """The ``rescue`` and ``catch`` blocks of a ``do`` block (of a ``try``, or of a function
    body that rescues), in order."""
    return [c for c in named_children(block) if c.type in ("rescue_block", "catch_block")]


def _tails_of_block(block: Node) -> list[Node]:
    expressions = [
        c for c in named_children(block) if c.type != "comment" and c.type not in _TRAILING_BLOCKS
    ]
    tails = tail_expressions(expressions[-1]) if expressions else []
    for child in named_children(block):
        if child.type in ("rescue_block", "catch_block", "else_block"):
            tails.extend(_tails_of_clauses(child))
    return tails


def _tails_of_clauses(block: Node) -> list[Node]:
    clauses = [c for c in named_children(block) if c.type == "stab_clause"]
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
        has_else = any(c.type == "else_block" for c in named_children(block))
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
    return list(_variables(node).get(name, ()))


def last_variable_use(node: Node, name: str) -> int:
    """Where the last use of the variable ``name`` under ``node`` starts; -1 when none."""
    uses = _variables(node).get(name)
    return max(use.start_byte for use in uses) if uses else -1


@remembered  # asked for every binding in a function
def _variables(node: Node) -> dict[str, list[Node]]:
    """The variables under ``node`` by name: one walk, parents known on the way down."""
    found: dict[str, list[Node]] = {}
    stack: list[tuple[Node, Node | None]] = [(node, parent(node))]
    while stack:
        current, above = stack.pop()
        if current.type == "identifier":
            if _names_variable(current, above):
                found.setdefault(text(current), []).append(current)
            continue
        stack.extend((child, current) for child in named_children(current))
    return found


def is_variable(identifier: Node) -> bool:
    """An identifier that names a variable: not a call's name, a field, or a module attribute."""
    return _names_variable(identifier, parent(identifier))


def _names_variable(identifier: Node, parent: Node | None) -> bool:
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
            if not name.startswith("_") and is_variable(current):
                names.append(name)
            continue
        if current.type == "unary_operator" and operator(current) in ("^", "@"):
            continue
        stack.extend(named_children(current))
    return names


_CONSTANT_TYPES = frozenset(
    {"atom", "quoted_atom", "boolean", "nil", "integer", "float", "string", "charlist"}
)


def is_constant(node: Node | None) -> bool:
    """A literal that carries no run-time information: ``nil``, ``:ok``, ``0``, ``%{}``, ``[]``."""
    if node is None:
        return False
    if node.type in _CONSTANT_TYPES:
        return not any(c.type == "interpolation" for c in named_children(node))
    if node.type in ("map", "list", "tuple"):
        return all(is_constant(c) for c in named_children(node) if c.type != "comment")
    if node.type in ("map_content", "keywords"):
        return all(is_constant(c) for c in named_children(node))
    if node.type == "pair":
        return is_constant(node.child_by_field_name("value"))
    return node.type == "struct"


def in_pattern(node: Node, within: Node | None = None) -> bool:
    """``node`` sits where it gets bound: the left of ``=`` or ``<-``, or a clause head
    (``x -> …``), below ``within`` (the search stops there)."""
    path = _path_down(within, node) if within is not None else None
    child = node
    for parent in reversed(path) if path is not None else ancestors(node):
        if parent.type == "binary_operator" and operator(parent) in ("=", "<-"):
            if parent.child_by_field_name("left") == child:
                return True
        elif parent.type == "stab_clause" and parent.child_by_field_name("left") == child:
            return True
        if within is not None and parent == within:
            return False
        child = parent
    return False


def holds(node: Node, inner: Node) -> bool:
    """``inner`` is ``node`` or sits below it: a check of offsets, then a walk down the path
    between them, where `descendants` would walk all of ``node``."""
    return node == inner or _path_down(node, inner) is not None


def _path_down(top: Node, node: Node) -> list[Node] | None:
    """The nodes from ``top`` down to ``node``'s parent, or None when ``top`` does not hold
    ``node``. Found from ``top`` down, as tree-sitter finds a parent from the root down: a
    walk up with ``.parent`` would search from the root once per step (in a file of a
    thousand modules, through the root's thousand children every time)."""
    if not (top.start_byte <= node.start_byte and node.end_byte <= top.end_byte) or top == node:
        return None
    path = []
    current: Node | None = top
    while current is not None and current != node:
        path.append(current)
        current = current.child_with_descendant(node)
    return path if current is not None else None


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
    for child in named_children(body):
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


def fn_statements(function: Node | None) -> list[Node]:
    """The statements of an ``fn`` with one clause (``fn -> a; b end``), comments left out;
    empty for anything else (an ``fn`` of several clauses, a capture, a variable)."""
    if function is None or function.type != "anonymous_function":
        return []
    clauses = [c for c in named_children(function) if c.type == "stab_clause"]
    body = clauses[0].child_by_field_name("right") if len(clauses) == 1 else None
    return [c for c in named_children(body) if c.type != "comment"] if body is not None else []


def body_statements(definition: Node) -> list[Node]:
    """The statements of a ``def``'s body (``do ... end`` or ``do:``), comments left out."""
    block = do_block(definition)
    if block is not None:
        return [
            child
            for child in named_children(block)
            if child.type not in ("comment",) and not child.type.endswith("_block")
        ]
    for key, value in keyword_pairs(arguments(definition)):
        if key == "do":
            return [value]
    return []


def behaviours(module: Node) -> list[str]:
    """What the module declares with ``@behaviour`` (``["GenServer"]``, ``[":gen_statem"]``)."""
    return [text(value) for value in module_attributes(module).get("behaviour", [])]


def error_count(root: Node) -> int:
    """ERROR and MISSING nodes under ``root``: a fixed text must not have more than before."""
    count, stack = 0, [root]
    while stack:
        node = stack.pop()
        if node.is_error or node.is_missing:
            count += 1
        if node.has_error:
            stack.extend(node.children)
    return count


def module_holds(starts: list[int], node: Node) -> bool:
    """Whether the module around ``node`` holds one of ``starts`` (sorted byte offsets of
    what a rule found once per file): a bisection, not a walk per question."""
    module = enclosing_module(node)
    if module is None:
        return False
    first = bisect.bisect_left(starts, module.start_byte)
    return first < len(starts) and starts[first] < module.end_byte
