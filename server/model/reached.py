"""Calls of one kind reached from a node: in it, through the module's own functions (a few
helpers deep), and through functions of other project modules the index knows block. Rules
say which calls count (`Scanner.classify`); the model finds them and the chain that leads
there, so that a message can say "init/1 calls load, which calls Accounts.fetch/1, which
blocks on Repo.all"."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from tree_sitter import Node

from otp_thinking import syntax
from otp_thinking.model import calls, clauses, modules
from otp_thinking.model.effects import (
    deferred,
    in_branch,
    module_candidates,
    scopes,
    waited_in_task,
    where_it_runs,
)
from otp_thinking.model.project import ProjectFacts
from otp_thinking.parsing import compile_query, matches

SELF_CALLS = compile_query(
    "(call target: (dot left: (identifier) @module right: (identifier) @function)) @call"
)
LOCAL_CAPTURES = compile_query(
    """(unary_operator operator: "&"
      operand: (binary_operator left: (identifier) @function right: (integer))) @capture"""
)
"""``&fill/1`` given to a function that runs it now (``Enum.each(items, &fill/1)``)."""

"""``__MODULE__.load(state)``: a call to a function of the module itself."""
HELPER_DEPTH = 3
"""How many of the module's own functions deep a chain is followed."""


Project = Callable[[Node, str, str], tuple[str, str] | None]
"""``(call, module as written, function)`` to (the blocking call, the chain to it) when the
call goes to a function of another project module that blocks."""


@dataclass
class Scanner:
    """Finds calls of one kind (blocking, must stay in `init/1`, ...) under a node, following
    local functions of the module and, when ``project`` is given, functions of other
    modules."""

    module: Node
    classify: Callable[[str, str], str | None]
    """``(module, function)`` to a display name when the call is of the kind, else None."""
    project: Project | None = None
    skip: Callable[[Node], bool] | None = None
    """Call sites at depth 0 that do not count (in `init/1`: work the caller's options
    choose)."""
    unfollowed: Callable[[str], bool] = lambda _function: False
    """Functions not followed into helpers or other modules when ``project`` is given (a
    rule's own notion: OTP003's set-up calls, which belong where they are whatever they
    wait on)."""
    captured: bool = False
    """Whether a local function captured for a call that runs it now (``Enum.each(items,
    &fill/1)``) is followed like a call."""
    branches: bool = True
    """Whether calls in a branch of an ``if``, ``case``… count (in the scanned node and in
    the helpers followed); calls of other modules count only when unconditional anyway."""
    cache: dict[str, tuple[str, str | None] | None] = field(default_factory=dict)

    def first(self, node: Node, depth: int = 0) -> tuple[Node, str, str | None] | None:
        """The first such call under ``node``: (call site, its name, the chain of functions
        on the way, e.g. ``load, which calls Accounts.fetch/1``, or None). A call whose
        ``fn`` holds another found call gives way to it (``Task.async_stream(fn -> Repo.all
        ...)`` names ``Repo.all``); at depth 0, calls ``skip`` rules out are left out."""
        candidates: list[tuple[Node, str, str | None]] = []
        for captures in matches(syntax.REMOTE_CALLS, node):
            call = captures["call"][0]
            if deferred(call, node):
                continue
            module, function = (syntax.text(captures[k][0]) for k in ("module", "function"))
            call = where_it_runs(call, node)
            in_task = " (in a task it waits for)" if waited_in_task(call, node) else ""
            name = self.classify(module, function)
            if name is not None:
                candidates.append((call, f"{name}{in_task}", None))
            elif self.project is not None and not self.unfollowed(function):
                reached = self.project(call, module, function)
                if reached is not None:
                    chain = f"{reached[1]}{in_task}"
                    candidates.append((call, reached[0], chain))
        for captures in matches(syntax.LOCAL_CALLS, node):
            call = captures["call"][0]
            function = syntax.text(captures["function"][0])
            if function == "init" or clauses.is_head(call) or deferred(call, node):
                continue
            if function == "receive":
                # Only in init/1 itself: in helpers, `receive` is mostly the flush after
                # `Process.cancel_timer/1`, where the message is already there.
                name = self.classify("", "receive") if depth == 0 else None
                if name is not None and not polls(call):
                    candidates.append((call, name, None))
            else:
                found = self.helper_call(function, depth, calls.arity_at(call))
                if found is not None:
                    candidates.append((call, *found))
        for captures in matches(SELF_CALLS, node):
            call = captures["call"][0]
            if syntax.text(captures["module"][0]) != "__MODULE__" or deferred(call, node):
                continue
            function = syntax.text(captures["function"][0])
            found = self.helper_call(function, depth, calls.arity_at(call))
            if found is not None:
                candidates.append((call, *found))
        if self.captured:
            candidates.extend(self.through_captures(node, depth))
        if depth == 0 and self.skip is not None:
            candidates = [c for c in candidates if not self.skip(c[0])]
        if not self.branches:
            candidates = [c for c in candidates if not in_branch(c[0], node)]
        return innermost_first(candidates)

    def through_captures(self, node: Node, depth: int) -> list[tuple[Node, str, str | None]]:
        found: list[tuple[Node, str, str | None]] = []
        for captures in matches(LOCAL_CAPTURES, node):
            capture, name = captures["capture"][0], captures["function"][0]
            if deferred(name, node):  # inside the capture: runs now only for an eager call
                continue
            reached = self.helper_call(syntax.text(name), depth, calls.capture_arity(capture))
            if reached is not None:
                found.append((capture, *reached))
        return found

    def helper_call(
        self, function: str, depth: int, arity: int | None = None
    ) -> tuple[str, str] | None:
        """(the blocking call, the chain) when a function of the module blocks (its clauses
        that take ``arity`` arguments, when known: ``info/2`` is not ``info/1``)."""
        if depth >= HELPER_DEPTH or (self.project is not None and self.unfollowed(function)):
            return None
        found = self.through_helper(function, depth + 1, arity)
        if found is None:
            return None
        name, via = found
        return name, function if via is None else f"{function}, which calls {via}"

    def through_helper(
        self, function: str, depth: int, arity: int | None = None
    ) -> tuple[str, str | None] | None:
        key = function if arity is None else f"{function}/{arity}"
        if key in self.cache:
            return self.cache[key]
        self.cache[key] = None  # recursion guard
        result = None
        for definition in clauses.of_module(self.module, function):
            if arity is not None and not clauses.accepts(definition, arity):
                continue
            found = self.first(definition, depth)
            if found is not None:
                result = (found[1], found[2])
                break
        self.cache[key] = result
        return result


def innermost_first(
    candidates: list[tuple[Node, str, str | None]],
) -> tuple[Node, str, str | None] | None:
    """The first candidate in source order, or the first one inside it when there is one."""
    chosen = min(candidates, key=lambda c: c[0].start_byte, default=None)
    while chosen is not None:
        outer = chosen[0]
        inside = [
            c
            for c in candidates
            if c[0] != outer
            and syntax.contains(outer, c[0])
            and c[0].start_byte >= outer.start_byte
        ]
        if not inside:
            break
        chosen = min(inside, key=lambda c: c[0].start_byte)
    return chosen


def polls(receive: Node) -> bool:
    """A `receive` with `after 0`: it takes what is in the mailbox and never waits."""
    block = syntax.do_block(receive)
    for child in block.named_children if block is not None else []:
        if child.type == "after_block":
            clauses = [c for c in child.named_children if c.type == "stab_clause"]
            left = clauses[0].child_by_field_name("left") if clauses else None
            return left is not None and syntax.text(left).strip() == "0"
    return False


def project_lookup(
    facts: ProjectFacts | None, module: Node, kinds: frozenset[str]
) -> Project | None:
    """Functions of other project modules that block on a call of ``kinds``, from the
    project's facts (None when the index is incomplete: then nothing is followed)."""
    if facts is None or not syntax.is_defmodule(module):
        return None
    own = modules.full_name(module)
    around = scopes(module)

    def lookup(call: Node, written: str, function: str) -> tuple[str, str] | None:
        for candidate in module_candidates(around, written):
            if facts.reach(candidate, function) is None:
                continue
            reached = facts.reach(candidate, function, kinds)
            if candidate == own or reached is None or reached.conditional:
                return None  # blocking only in some branches: maybe not for these arguments
            arity = calls.arity_at(call)
            target = f"{written}.{function}" + (f"/{arity}" if arity is not None else "")
            inside = f" (through {', '.join(reached.through)})" if reached.through else ""
            return f"{reached.call}{inside}", target
        return None

    return lookup
