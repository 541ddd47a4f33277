"""Every query compiles; skipping a query for missing words never loses a match; running
queries packed together gives what running each alone gives."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import otp_thinking
from otp_thinking.parsing import QUERIES, LazyQuery, compile_query, matches
from otp_thinking.query_pack import DocumentMatches, Pack, Packs
from otp_thinking.query_text import query_needs
from otp_thinking.registry import all_rules
from otp_thinking.source import Source

for _module in pkgutil.walk_packages(otp_thinking.__path__, "otp_thinking."):
    if _module.name not in ("otp_thinking.__main__", "otp_thinking.lsp"):
        importlib.import_module(_module.name)
all_rules()

ROOT = Path(__file__).resolve().parent.parent
TEXTS = [
    p.read_text("utf-8")
    for folder in (ROOT / "examples", ROOT / "tests" / "fixtures")
    for p in sorted(folder.rglob("*.ex*"))
]
PIECES = st.sampled_from(
    [
        "defmodule A do\n", "end\n", "def f(x) do\n", "use GenServer\n", "Task.async(fn -> 1 end)",
        "Task.start(f)", "spawn(f)", ":pg2.join(g, p)", ":ets.new(:t, [])", "Agent.update(a, f)",
        "GenServer.call(p, m, :infinity)", "String.to_atom(s)", "Application.get_env(:a, :k)",
        "Supervisor.init(c, strategy: :one_for_one)", "@behaviour GenServer\n", "Process.flag(",
        ":trap_exit, true)", "use Broadway\n", "use Oban.Worker\n", "status: :idle", "\n", "(",
        ")", ", ", "quote do\n", "# otp-thinking: disable-line\n", "Map.put(state, :k, v)",
    ]
)  # fmt: skip


def test_every_query_compiles_and_is_read_as_tree_sitter_reads_it() -> None:
    assert len(QUERIES) > 20
    for query in QUERIES:
        compiled = query.query  # a typo raises here, naming the query
        needs = query_needs(query.source)
        assert needs is not None, f"{query.origin}: the needs reader gave up on {query}"
        assert len(needs) == compiled.pattern_count, query


@pytest.mark.parametrize(
    ("source", "needs"),
    [
        ('(call (identifier) @f (#eq? @f "spawn"))', [[{"spawn"}]]),
        ('(call (identifier) @f (#any-of? @f "a" "b"))', [[{"a", "b"}]]),
        ('(call [(identifier) (atom)] @f (#eq? @f "spawn"))', [[{"spawn"}]]),  # on the whole
        ('(call [(identifier) @f (atom)] (#eq? @f "spawn"))', [[]]),  # in one branch: unbound
        ('(call (identifier)? @f (#eq? @f "spawn"))', [[]]),  # optional: unbound
        ('(call (identifier)* @f (#eq? @f "spawn"))', [[]]),
        ('(call (identifier)+ @f (#eq? @f "spawn"))', [[{"spawn"}]]),
        ('(call (identifier) @f (#not-eq? @f "spawn"))', [[]]),
        ('(call (identifier) @f (#match? @f "^spawn$"))', [[{"spawn"}]]),
        ('(pair (keyword) @k (#match? @k "^name:"))', [[{"name:"}]]),
        ('(call (identifier) @f (#match? @f "^defp?$"))', [[{"def"}]]),  # `p` may be absent
        ('(call (atom) @a (#match? @a "^:start(_link)?$"))', [[{":start"}]]),
        ('(call (alias) @a (#match? @a "^(String|List)$"))', [[{"String", "List"}]]),
        ('(call (alias) @a (#match? @a "^Oban[.](Worker|Pro)$"))', [[{"Oban"}]]),
        ('(call (alias) @a (#match? @a "^(String|List)?$"))', [[]]),  # the group may match nothing
        ('(call (alias) @a (#match? @a "^(A|B)c|d"))', [[]]),  # `d` alone matches
        ('(call (alias) @a (#match? @a "^a|b"))', [[]]),
        ('(call (alias) @a (#match? @a "^(?i)task"))', [[]]),
        ('(call (alias) @a (#match? @a "^.ask"))', [[]]),
        ('(call (alias) @a (#match? @a "^a{2}"))', [[]]),
        ('(call (alias) @a (#not-match? @a "^Task"))', [[]]),
        ('(call (identifier)? @f (#match? @f "^spawn$"))', [[]]),  # optional: unbound
        ('(call (identifier) @f (#eq? @f "sp\\"awn"))', [[]]),  # escapes: left out
        ('[(call (identifier) @f (#eq? @f "a")) (atom) @b]', [[]]),  # top-level alternation
        ('(a) @x (b (c) @y (#eq? @y "w"))', [[], [{"w"}]]),
        ("; a comment\n(comment) @c", [[]]),
    ],
)
def test_needs_are_read_only_where_certain(source: str, needs: list) -> None:
    assert query_needs(source) == tuple(tuple(frozenset(w) for w in p) for p in needs)


def _key(found: list) -> list:
    return [
        sorted((k, [(n.start_byte, n.end_byte, n.type) for n in v]) for k, v in c.items())
        for c in found
    ]


EVERYTHING = Pack(QUERIES)
TOGETHER = Packs(alone_text=0)
TOGETHER.together(QUERIES)
"""Every query in one group: each document walks the pack, or a query alone when the text has
the words of no other member."""


def _agree(text: str) -> None:
    source = Source(text)
    root = source.tree.root_node
    packed = EVERYTHING.run(root)
    document = DocumentMatches(text, root, Packs())
    grouped = DocumentMatches(text, root, TOGETHER)
    for query in QUERIES:
        alone = _key(list(matches(query, root)))
        if not query.may_match(document.has_word):
            assert alone == [], f"skipped {query} but it matches"
        assert _key(packed[query]) == alone, query
        assert _key(document.get(query)) == alone, query
        assert _key(grouped.get(query)) == alone, query


def test_skipping_and_packing_agree_with_running_alone_on_real_files() -> None:
    for text in TEXTS:
        _agree(text)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(PIECES, max_size=40).map("".join))
def test_skipping_and_packing_agree_with_running_alone_on_random_text(text: str) -> None:
    _agree(text)


def test_the_pack_follows_what_analyses_ask_for() -> None:
    common = compile_query('(call target: (identifier) @f (#eq? @f "def")) @c')
    rare = compile_query('(call target: (identifier) @f (#eq? @f "spawn")) @c')
    other = compile_query("(alias) @a")
    packs = Packs(min_text=0)
    text = "defmodule A do\n  def f, do: spawn(fn -> 1 end)\nend\n"
    root = Source(text).tree.root_node
    for round_ in range(8):
        document = DocumentMatches(text, root, packs)
        document.count_as_analysis()
        document.get(common)
        document.get(other)
        if round_ == 0:
            document.get(rare)
    assert packs.pack is not None
    assert set(packs.pack.members) == {common, other}  # asked every time; `rare` once
    assert isinstance(common, LazyQuery) and common in packs.pack.index


def test_a_short_run_runs_each_query_alone() -> None:
    """Compiling a pack costs more than the walks it saves over a few small files."""
    common = compile_query('(call target: (identifier) @f (#eq? @f "def")) @c')
    other = compile_query("(alias) @a")
    packs = Packs()
    text = "defmodule A do\n  def f, do: :ok\nend\n"
    root = Source(text).tree.root_node
    for _round in range(64):
        document = DocumentMatches(text, root, packs)
        document.count_as_analysis()
        document.get(common)
        document.get(other)
    assert packs.pack is None
    assert packs.analysed_text == 64 * len(text)


def test_queries_declared_together_share_one_walk_from_the_first_document() -> None:
    calls = compile_query("(call target: (identifier) @f) @c")
    aliases = compile_query("(alias) @a")
    alone = compile_query("(atom) @atom")
    packs = Packs()  # a short run: no learned pack
    packs.together((calls, aliases))
    text = "defmodule A do\n  def f, do: B.g(:x)\nend\n"
    root = Source(text).tree.root_node
    document = DocumentMatches(text, root, packs)
    assert _key(document.get(calls)) == _key(list(matches(calls, root)))
    pack = packs.packed(aliases)
    assert pack is not None and pack.index == {calls, aliases}
    assert packs.packed(calls) is pack and packs.packed(alone) is None
    assert _key(document.get(aliases)) == _key(list(matches(aliases, root)))
    assert _key(document.get(alone)) == _key(list(matches(alone, root)))


def test_a_query_walks_alone_where_no_other_of_its_pack_can_match() -> None:
    calls = compile_query("(call target: (identifier) @f) @c")
    spawns = compile_query('(call target: (identifier) @f (#match? @f "^spawn$")) @c')
    packs = Packs(alone_text=100)
    packs.together((calls, spawns))
    short = "defmodule A do\n  def f, do: g(1)\nend\n"
    for text, walks in [
        (short, {calls, spawns}),  # a short run: the pack, not a compile of `calls` alone
        ("defmodule A do\n  def f, do: spawn(g)\nend\n" + "#" * 100, {calls, spawns}),
        (short, {calls}),  # `spawns` cannot match: `calls` walks alone
    ]:
        root = Source(text).tree.root_node
        document = DocumentMatches(text, root, packs)
        document.count_as_analysis()
        expected = Pack([calls, spawns]).run(root)  # `calls` itself stays uncompiled
        assert _key(document.get(calls)) == _key(expected[calls])
        assert set(document._found) == walks  # by the pack, or by `calls` alone
        assert _key(document.get(spawns)) == _key(expected[spawns])
    assert calls.compiled
