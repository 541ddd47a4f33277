"""Process groups named in `:pg2` calls, and which files may name the same group.

A group is read as a term: a name the tool can resolve (an atom, an alias, ``__MODULE__``, a
module attribute holding one), a string or number literal, a tuple of terms, or ``None`` for
anything computed at run time. Two terms may name the same group unless their literal parts
differ: ``{:store, id}`` may be ``{:store, 7}``, never ``:rooms``. ``which_groups/0`` reads
every group, so it is ``None`` too.

The `:pg2` fix moves one file's calls to `:pg`, whose groups `:pg2` does not see: another file
still calling `:pg2` on a group the file may share would lose sight of its members.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TypeAlias

Term: TypeAlias = "str | tuple[Term, ...] | None"


@dataclass(frozen=True, slots=True)
class GroupCall:
    """A call to ``:pg2.function`` in ``module`` on ``group``, at ``[start, end)``."""

    module: str
    function: str
    group: Term
    start: int
    end: int


def may_be_equal(first: Term, second: Term) -> bool:
    """Whether the two terms can stand for the same value at run time."""
    if first is None or second is None:
        return True
    if isinstance(first, str) or isinstance(second, str):
        return first == second
    return len(first) == len(second) and all(map(may_be_equal, first, second))


@dataclass(frozen=True, slots=True)
class Sharing:
    """Another file whose `:pg2` calls may name a group the file's calls name: ``certain``
    when both name it by the same literal term, else the tool cannot tell (one of them is
    computed at run time)."""

    path: str
    certain: bool


def sharing_file(
    own: str | None, calls: Iterable[GroupCall], files: Iterable[tuple[str, Iterable[GroupCall]]]
) -> Sharing | None:
    """The first other file among ``files`` whose `:pg2` calls may name a group one of
    ``calls`` (the calls of the file at path ``own``) names, preferring one that certainly
    does; None when there is none."""
    mine = [call.group for call in calls]
    maybe: Sharing | None = None
    for path, others in files:
        if path == own:
            continue
        for other in others:
            if any(_known(group) and group == other.group for group in mine):
                return Sharing(path, certain=True)
            if maybe is None and any(may_be_equal(group, other.group) for group in mine):
                maybe = Sharing(path, certain=False)
    return maybe


def _known(term: Term) -> bool:
    """Nothing in the term is computed at run time."""
    if term is None:
        return False
    return isinstance(term, str) or all(map(_known, term))
