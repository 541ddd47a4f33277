"""The queries of one analysis, run together and only when they can match.

Every query run walks the whole tree, and a rule pack asks for dozens of queries per document:
run one by one they cost several parses. Two remedies, invisible to rules (which still call
`context.matches(QUERY)`):

* A query whose predicates name words missing from the text cannot match (`query_text.py`):
  it is answered with no matches without running, or even compiling.
* Queries asked for over whole documents are learned as rules ask for them and compiled into
  packs: one walk of the tree answers every query of a pack. Queries are packed by the words
  they need, so a document walks only the packs whose words it contains. A query that is not
  packed yet runs alone, and joins a pack before the next analysis.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Iterable

from tree_sitter import Node, Query, QueryError, Tree

from otp_thinking.parsing import (
    LANGUAGE,
    AnyQuery,
    Captures,
    LazyQuery,
    compiled,
    log,
    pattern_matches,
)
from otp_thinking.source import Source


class Pack:
    """Queries compiled into one; `run` answers all of them with one walk of the tree."""

    def __init__(self, members: Iterable[LazyQuery]) -> None:
        self.members = tuple(members)
        self.index = frozenset(self.members)
        source, starts, offset = [], [], 0
        for member in self.members:
            starts.append(offset)
            source.append(member.source)
            offset += len(member.source.encode("utf-8")) + 1
        self.query = Query(LANGUAGE, "\n".join(source))
        self.owners: list[LazyQuery] = []
        counts = dict.fromkeys(self.members, 0)
        for pattern in range(self.query.pattern_count):
            start = self.query.start_byte_for_pattern(pattern)
            owner = self.members[bisect.bisect_right(starts, start) - 1]
            self.owners.append(owner)
            counts[owner] += 1
        for member, count in counts.items():
            member.check_pattern_count(count)

    def run(self, root: Node) -> dict[LazyQuery, list[Captures]]:
        found: dict[LazyQuery, list[Captures]] = {member: [] for member in self.members}
        owners = self.owners
        for pattern, captures in pattern_matches(self.query, root):
            found[owners[pattern]].append(captures)
        return found


class Packs:
    """The whole-document queries seen so far, and the pack of those asked for together.

    A query joins the pack when most analyses since it was first seen asked for it (and their
    text had its words); it leaves when few do. So the pack holds what nearly every document
    needs — module facts, definitions — and a query that only GenServer modules or only texts
    naming `Task` need runs alone, in the few documents that need it. Membership is reviewed
    after 2, 4, 8, … analyses, so the pack is recompiled a handful of times per process; but
    not before MIN_TEXT characters have been analysed: compiling a pack costs about as much as
    walking a megabyte of code once per member, so a short run (a pre-commit hook, a small
    project) is better off running each query alone.

    A pack's member asked of a text in which no other member can match walks the tree alone
    (`DocumentMatches.get`): faster, but it costs a compile of its own, so only once it has
    one or ALONE_TEXT characters have been analysed (a walk by the remote calls alone saves
    about 16 ms a megabyte over the summary's pack, whose compile alone costs about 10 ms).
    """

    JOIN, LEAVE = 0.5, 0.25
    MIN_TEXT = 1_000_000
    ALONE_TEXT = 500_000

    def __init__(self, min_text: int | None = None, alone_text: int | None = None) -> None:
        self.min_text = self.MIN_TEXT if min_text is None else min_text
        self.alone_text = self.ALONE_TEXT if alone_text is None else alone_text
        self._lock = threading.Lock()
        self._groups: dict[LazyQuery, tuple[LazyQuery, ...]] = {}
        self._group_packs: dict[tuple[LazyQuery, ...], Pack | None] = {}
        self.analyses = 0
        self.analysed_text = 0
        self._asked: dict[LazyQuery, int] = {}  # analyses that asked for it and could match
        self._first_seen: dict[LazyQuery, int] = {}
        self.pack: Pack | None = None

    def learn(self, query: LazyQuery) -> None:
        if query not in self._first_seen:
            with self._lock:
                self._first_seen.setdefault(query, self.analyses)
                self._asked.setdefault(query, 0)

    def asked(self, query: LazyQuery) -> None:
        self._asked[query] += 1

    def together(self, queries: Iterable[LazyQuery]) -> None:
        """Declare queries that are asked together of nearly every document (the project
        index's summary): they form a pack from the first analysis, whatever the text seen so
        far, since one walk by all of them costs well under one walk each and compiling them
        together costs less than compiling each alone."""
        group = tuple(sorted(set(queries), key=lambda query: query.source))
        for query in group:
            self._groups[query] = group

    def packed(self, query: LazyQuery) -> Pack | None:
        pack = self.pack
        if pack is not None and query in pack.index:
            return pack
        group = self._groups.get(query)
        if group is None:
            return None
        if group not in self._group_packs:
            with self._lock:
                if group not in self._group_packs:
                    self._group_packs[group] = _compile_pack(set(group))
        return self._group_packs[group]

    def start_analysis(self, size: int) -> None:
        """Count one more analysis of ``size`` characters; on a power of two, review which
        queries share the pack."""
        self.analyses += 1
        self.analysed_text += size
        count = self.analyses
        if count < 2 or count & (count - 1) or self.analysed_text < self.min_text:
            return
        with self._lock:
            current = set(self.pack.members) if self.pack is not None else set()
            wanted = set()
            for query, asked in self._asked.items():
                share = asked / max(1, count - 1 - self._first_seen[query])
                if share >= self.JOIN or (query in current and share >= self.LEAVE):
                    wanted.add(query)
            if wanted != current:
                self.pack = _compile_pack(wanted)


def _compile_pack(members: set[LazyQuery]) -> Pack | None:
    if len(members) < 2:
        return None
    ordered = sorted(members, key=lambda query: query.source)  # the same pack in every process
    try:
        return Pack(ordered)
    except QueryError as error:  # a member has a typo: every query runs alone
        log.warning("queries %s cannot be packed: %s", ordered, error)
        return None


PACKS = Packs()


def document_matches(source: Source) -> DocumentMatches:
    """The matches over ``source``'s current tree, shared by everything that queries it (the
    rules, the project index's summary) until its text changes."""
    tree = source.tree
    found = source.tree_cache
    if not isinstance(found, DocumentMatches) or found.tree is not tree:
        found = source.tree_cache = DocumentMatches(source.text, tree.root_node, tree=tree)
    return found


class DocumentMatches:
    """Matches of queries over one document's tree, each computed at most once."""

    def __init__(
        self, text: str, root: Node, packs: Packs | None = None, tree: Tree | None = None
    ) -> None:
        self.text, self.root, self.tree = text, root, tree
        self.packs = packs = PACKS if packs is None else packs
        self._found: dict[AnyQuery, list[Captures]] = {}
        self._asked: set[AnyQuery] = set()
        self._candidates: list[LazyQuery] = []  # asked for, and the text has their words
        self._words: dict[str, bool] = {}
        self._analysis = False

    def count_as_analysis(self) -> None:
        """Rules analyse this tree: what it asks for counts towards what shares the pack (a
        tree only summarised for the project index does not: it asks for one query)."""
        if not self._analysis:
            self._analysis = True
            self.packs.start_analysis(len(self.text))
            for query in self._candidates:
                self.packs.asked(query)

    def has_word(self, word: str) -> bool:
        present = self._words.get(word)
        if present is None:
            present = self._words[word] = word in self.text
        return present

    def get(self, query: AnyQuery) -> list[Captures]:
        if query not in self._asked:
            self._asked.add(query)
            if isinstance(query, LazyQuery):
                self.packs.learn(query)
                if query.may_match(self.has_word):
                    self._candidates.append(query)
                    if self._analysis:
                        self.packs.asked(query)
                else:
                    self._found[query] = []
        found = self._found.get(query)
        if found is not None:
            return found
        if not isinstance(query, LazyQuery):
            found = self._found[query] = list(_run(compiled(query), self.root))
            return found
        pack = self.packs.packed(query)
        if pack is None or self._alone(pack, query):
            found = self._found[query] = list(_run(query.query, self.root))
            return found
        for member, member_found in pack.run(self.root).items():
            self._found.setdefault(member, member_found)
        return self._found[query]

    def _alone(self, pack: Pack, query: LazyQuery) -> bool:
        """Whether ``query`` walks the tree alone rather than with ``pack``: when no other
        member not answered yet can match this text (every pattern of a pack costs time at
        every node; most files name none of what the summary's supervision and `:via`
        patterns need, and a walk by the remote calls alone costs two thirds of the pack's),
        and the process has compiled it alone or analysed enough text to (`Packs`)."""
        if not query.compiled and self.packs.analysed_text < self.packs.alone_text:
            return False
        return not any(
            member is not query and member not in self._found and member.may_match(self.has_word)
            for member in pack.members
        )


def _run(query: Query, root: Node) -> Iterable[Captures]:
    for _pattern, captures in pattern_matches(query, root):
        yield captures
