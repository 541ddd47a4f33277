"""OTP301: the text of the :pg2 → :pg fixes, and what the guard check leaves alone."""

from __future__ import annotations

from pathlib import Path

import pytest
from fix_helpers import findings, fix, module, project

from otp_thinking.config import from_mapping
from otp_thinking.engine import analyze
from otp_thinking.project import scan
from otp_thinking.registry import find_rule
from otp_thinking.source import Source

PG_CHILD = "%{id: :pg, start: {:pg, :start_link, []}}"
WITH_SCOPE = "      %{id: :pg, start: {:pg, :start_link, []}},\n      Shop.Repo"


@pytest.mark.parametrize(
    ("before", "after", "safety"),
    [
        ("def f(g), do: :pg2.join(g, self())", "def f(g), do: :pg.join(g, self())", "safe"),
        ("def f(g), do: :pg2.get_members(g)", "def f(g), do: :pg.get_members(g)", "safe"),
        (
            "def f(g), do: g |> :pg2.get_local_members()",
            "def f(g), do: g |> :pg.get_local_members()",
            "safe",
        ),
        ("def f, do: :pg2.which_groups()", "def f, do: :pg.which_groups()", "safe"),
        ("def f, do: &:pg2.join/2", "def f, do: &:pg.join/2", "unsafe"),
        ("def f(g, pid), do: :pg2.join(g, pid)", "def f(g, pid), do: :pg.join(g, pid)", "unsafe"),
        ("def f(g), do: :pg2.leave(g, self())", "def f(g), do: :pg.leave(g, self())", "unsafe"),
        (
            "def f(g) do\n  :pg2.leave(g, self())\n  :ok\nend",
            "def f(g) do\n  :pg.leave(g, self())\n  :ok\nend",
            "safe",
        ),
        ("def f(g) do\n  :ok = :pg2.create(g)\n  :ok\nend", "def f(g) do\n  :ok\nend", "safe"),
        ("def f(g) do\n  :pg2.create(g)\n  join(g)\nend", "def f(g) do\n  join(g)\nend", "safe"),
        (
            "def f(g) do\n  :pg2.create(g) # first\n  join(g)\nend",
            "def f(g) do\n  # first\n  join(g)\nend",
            "safe",
        ),
        ("def f(g), do: :pg2.create(g)", "def f(g), do: :ok", "safe"),
        (
            "def f(g) do\n  result = :pg2.create(g)\n  result\nend",
            "def f(g) do\n  result = :ok\n  result\nend",
            "safe",
        ),
        ("def f(g) do\n  :pg2.delete(g)\n  :ok\nend", "def f(g) do\n  :ok\nend", "unsafe"),
        (
            "def f(g) do\n  :ok = :pg2.create(g)\n  :ok = :pg2.join(g, self())\nend",
            "def f(g) do\n  :ok = :pg.join(g, self())\nend",
            "safe",
        ),
        (
            "def init(g) do\n  :pg2.start()\n  :pg2.create(g)\n  :pg2.join(g, self())\n"
            "  {:ok, g}\nend",
            "def init(g) do\n  :pg.join(g, self())\n  {:ok, g}\nend",
            "safe",
        ),
    ],
)
def test_fix_text(tmp_path: Path, before: str, after: str, safety: str) -> None:
    fixed = fix(project(tmp_path, WITH_SCOPE), "OTP301", module(before))
    assert fixed.text == module(after)
    assert fixed.finding.fix is not None and fixed.finding.fix.safety == safety


def test_a_server_start_whose_value_is_used_stays_and_makes_the_move_unsafe(
    tmp_path: Path,
) -> None:
    before = "def f(g) do\n  {:ok, _pid} = :pg2.start_link()\n  :pg2.join(g, self())\nend"
    fixed = fix(project(tmp_path, WITH_SCOPE), "OTP301", module(before), index=1)
    assert fixed.text == module(before.replace(":pg2.join", ":pg.join"))
    assert fixed.finding.fix is not None and fixed.finding.fix.safety == "unsafe"
    assert ":pg2.start_link on line 3 has no :pg counterpart" in fixed.finding.fix.title


def test_every_call_of_the_file_moves_in_one_fix(tmp_path: Path) -> None:
    """`:pg` and `:pg2` groups do not see each other: a join moved alone, while the
    get_members beside it stays on `:pg2`, would hide the member where both modules run."""
    before = "def f(g), do: :pg2.join(g, self())\n\ndef m(g), do: :pg2.get_members(g)"
    root = project(tmp_path, WITH_SCOPE)
    for index in (0, 1):
        fixed = fix(root, "OTP301", module(before), index)
        assert fixed.text == module(before.replace(":pg2", ":pg"))
        assert fixed.finding.fix is not None and fixed.finding.fix.safety == "safe"
        assert fixed.finding.fix.title == "Move this file's 2 :pg2 calls to :pg"


def test_a_call_with_no_counterpart_makes_the_move_unsafe(tmp_path: Path) -> None:
    before = "def f(g), do: :pg2.join(g, self())\n\ndef c(g), do: :pg2.get_closest_pid(g)"
    found = findings(project(tmp_path, WITH_SCOPE), "OTP301", module(before))
    assert [f.fix is None for f in found] == [False, True]
    fix = found[0].fix
    assert fix is not None and fix.safety == "unsafe"
    line = module(before).splitlines().index("  def c(g), do: :pg2.get_closest_pid(g)") + 1
    assert f":pg2.get_closest_pid on line {line} has no :pg counterpart" in fix.title


OTHER_FILE = "defmodule Shop.Other do\n  def m, do: :pg2.get_members({group})\nend\n"


SAME = "lib/shop/other.ex calls :pg2 on the same group: move it too"
UNSURE = "lib/shop/other.ex calls :pg2 on groups the tool cannot tell apart from these: check them"


@pytest.mark.parametrize(
    ("mine", "theirs", "told"),
    [
        ("{:store, id}", "{:store, 7}", UNSURE),
        ("{:store, id}", ":rooms", None),
        ("__MODULE__", "Shop.Subject", SAME),
        ("__MODULE__", "Shop.Other", None),
        ("@group", ":chat", SAME),
        ("@group", '"chat"', None),
        ("group_of(id)", ":rooms", UNSURE),
    ],
)
def test_another_file_on_a_group_these_may_share_makes_the_move_unsafe(
    tmp_path: Path, mine: str, theirs: str, told: str | None
) -> None:
    root = project(tmp_path, WITH_SCOPE)
    (root / "lib" / "shop" / "other.ex").write_text(OTHER_FILE.format(group=theirs), "utf-8")
    body = f"@group :chat\n\ndef f(id), do: :pg2.join({mine}, self())"
    fixed = fix(root, "OTP301", module(body))
    assert fixed.finding.fix is not None
    assert fixed.finding.fix.safety == ("safe" if told is None else "unsafe")
    if told is not None:
        assert fixed.finding.fix.title == f"Use :pg.join ({told})"


@pytest.mark.parametrize(
    ("mix_exs", "told"),
    [
        (
            '  def project, do: [app: :shop, elixir: "~> 1.9", deps: deps()]\n'
            '  defp deps, do: [{:libcluster, "~> 3.0"}]\n',
            "the app runs in a cluster (libcluster): every node must move to :pg at once; "
            ":pg needs OTP 23 or later, and mix.exs admits Elixir 1.9, which runs on OTP 22",
        ),
        (
            "  def project, do: [app: :shop, deps: []]\n",
            ":pg needs OTP 23 or later, and mix.exs admits any Elixir, which runs on OTP 22",
        ),
    ],
)
def test_what_the_project_shows_the_move_cannot_settle(
    tmp_path: Path, mix_exs: str, told: str
) -> None:
    """`:pg` came with OTP 23, and Elixir 1.14 is the first to require it: an app that may
    run on OTP 22 (where `:pg2` still runs) would fail to boot; and the nodes of a cluster
    see each other's groups only on the same module."""
    root = project(tmp_path, WITH_SCOPE)
    (root / "mix.exs").write_text(f"defmodule Shop.MixProject do\n{mix_exs}end\n", "utf-8")
    fixed = fix(root, "OTP301", module("def f(g), do: :pg2.join(g, self())"))
    assert fixed.finding.fix is not None and fixed.finding.fix.safety == "unsafe"
    assert fixed.finding.fix.title == f"Use :pg.join ({told})"


def test_an_umbrella_apps_own_mix_exs_says_which_elixir_it_runs_on(tmp_path: Path) -> None:
    """The umbrella's mix.exs seldom states an Elixir; the app's own does (``~> 1.6``)."""
    umbrella = 'defmodule Umbrella.MixProject do\n  def project, do: [apps_path: "apps"]\nend\n'
    (tmp_path / "mix.exs").write_text(umbrella, "utf-8")
    app = project(tmp_path / "apps" / "shop", WITH_SCOPE)
    mix_exs = (app / "mix.exs").read_text("utf-8").replace('"~> 1.15"', '"~> 1.6"')
    (app / "mix.exs").write_text(mix_exs, "utf-8")
    path = app / "lib" / "shop" / "subject.ex"
    text = module("def f(g), do: :pg2.join(g, self())")
    path.write_text(text, "utf-8")
    rule = find_rule("OTP301")
    assert rule is not None
    found = analyze(Source(text, str(path)), project=scan(tmp_path), rules=[rule])
    assert found and found[0].fix is not None
    assert "mix.exs admits Elixir 1.6, which runs on OTP 22" in found[0].fix.title


def test_the_title_counts_the_calls_it_moves(tmp_path: Path) -> None:
    before = "def f(g), do: :pg2.join(g, self())\n\ndef m(g), do: :pg2.get_members(g)\n\n"
    before += "def c(g), do: :pg2.get_closest_pid(g)"
    found = findings(project(tmp_path, WITH_SCOPE), "OTP301", module(before))
    fix = found[0].fix
    assert fix is not None and fix.title.startswith("Move this file's 2 :pg2 calls to :pg (")


def test_no_scope_added_when_a_sibling_project_depends_on_this_one(tmp_path: Path) -> None:
    """Apps side by side under `apps/` with no umbrella project above: the web app names this
    one by path, and both run on one node."""
    root = project(tmp_path / "apps" / "data")
    web = tmp_path / "apps" / "web"
    web.mkdir()
    deps = '  defp deps, do: [{:shop_data, path: "../data"}]\n'
    (web / "mix.exs").write_text(f"defmodule ShopWeb.MixProject do\n{deps}end\n", "utf-8")
    fixed = fix(root, "OTP301", module("def f(g), do: :pg2.join(g, self())"))
    assert fixed.application is not None and ":pg, :start_link" not in fixed.application
    assert fixed.finding.fix is not None and fixed.finding.fix.safety == "unsafe"


def test_the_scope_starts_before_every_module_that_calls_pg2(tmp_path: Path) -> None:
    """Another file's :pg2 calls move to :pg with its own fix; the scope this fix adds must
    already be started when that module boots."""
    root = project(tmp_path, "      Shop.Repo,\n      Shop.Other,\n      Shop.Subject")
    (root / "lib" / "shop" / "other.ex").write_text(OTHER_FILE.format(group=":rooms"), "utf-8")
    fixed = fix(root, "OTP301", module("def f, do: :pg2.join(:chat, self())"))
    assert fixed.application is not None
    assert f"Shop.Repo,\n      {PG_CHILD},\n      Shop.Other," in fixed.application
    assert fixed.finding.fix is not None and fixed.finding.fix.safety == "safe"


@pytest.mark.parametrize(
    "dependency", ['{:shop_data, path: "../data"}', "{:shop_web, in_umbrella: true}"]
)
def test_no_scope_added_when_sibling_projects_share_the_node(
    tmp_path: Path, dependency: str
) -> None:
    """Each app of a repository of Mix projects that depend on each other by path runs on the
    same node: a second `:pg.start_link()` of the default scope fails that app's boot."""
    root = project(tmp_path)
    deps = f'  defp deps, do: [{dependency}, {{:jason, "~> 1.4"}}]\n'
    (root / "mix.exs").write_text(f"defmodule Shop.MixProject do\n{deps}end\n", "utf-8")
    fixed = fix(root, "OTP301", module("def f(g), do: :pg2.join(g, self())"))
    assert fixed.text == module("def f(g), do: :pg.join(g, self())")
    assert fixed.application is not None and ":pg, :start_link" not in fixed.application
    assert fixed.finding.fix is not None and fixed.finding.fix.safety == "unsafe"
    assert "once, in the application the others depend on" in fixed.finding.fix.title


def test_a_configured_scope_is_passed_first(tmp_path: Path) -> None:
    config, errors = from_mapping({"names": {"pg_scope": "Shop.PG"}})
    assert errors == []
    root = project(tmp_path)
    cases = {
        "def f(g), do: :pg2.join(g, self())": "def f(g), do: :pg.join(Shop.PG, g, self())",
        "def f(g), do: g |> :pg2.get_members()": "def f(g), do: :pg.get_members(Shop.PG, g)",
        "def f, do: :pg2.which_groups()": "def f, do: :pg.which_groups(Shop.PG)",
        "def f, do: &:pg2.leave/2": "def f, do: &:pg.leave(Shop.PG, &1, &2)",
    }
    for before, after in cases.items():
        fixed = fix(root, "OTP301", module(before), config=config)
        assert fixed.text == module(after)
        assert fixed.application is not None and ":pg, :start_link" not in fixed.application


def test_get_closest_pid_has_no_fix(tmp_path: Path) -> None:
    found = findings(project(tmp_path), "OTP301", module("def f(g), do: :pg2.get_closest_pid(g)"))
    assert [(f.code, f.fix) for f in found] == [("OTP301", None)]
    assert "get_closest_pid" in found[0].message


@pytest.mark.parametrize(
    "code",
    [
        "if Code.ensure_loaded?(:pg) do\n  def f(g), do: :pg.get_members(g)\nelse\n"
        "  def f(g), do: :pg2.get_members(g)\nend",
        "def f(g) do\n  cond do\n    Code.ensure_loaded?(:pg) -> :pg.join(g, self())\n"
        "    true -> :pg2.join(g, self())\n  end\nend",
        "@has_pg Code.ensure_loaded?(:pg)\n"
        "def f(g) do\n  unless @has_pg, do: :pg2.join(g, self())\nend",
        "def f(g) do\n  case function_exported?(:pg, :join, 2) do\n"
        "    true -> :pg.join(g, self())\n"
        "    false -> :pg2.join(g, self())\n  end\nend",
    ],
)
def test_guarded_fallbacks_stay_silent(tmp_path: Path, code: str) -> None:
    assert findings(project(tmp_path), "OTP301", module(code)) == []


def test_a_title_names_the_first_reasons_and_counts_the_rest(tmp_path: Path) -> None:
    root = project(tmp_path, WITH_SCOPE)
    deps = '  defp deps, do: [{:libcluster, "~> 3.0"}]\n'
    (root / "mix.exs").write_text(f"defmodule Shop.MixProject do\n{deps}end\n", "utf-8")
    fixed = fix(root, "OTP301", module("def f(g, pid), do: :pg2.join(g, pid)"))
    assert fixed.finding.fix is not None
    assert fixed.finding.fix.title == (
        "Use :pg.join (:pg.join takes local pids only; the app runs in a cluster (libcluster): "
        "every node must move to :pg at once; and 1 more reason to check)"
    )


def test_without_a_mix_project_the_move_says_what_it_cannot_know(tmp_path: Path) -> None:
    """A file outside any Mix project: nothing says which OTP it runs on, nor where the scope
    would be started."""
    path = tmp_path / "groups.ex"
    text = module("def f(g), do: :pg2.join(g, self())")
    path.write_text(text, "utf-8")
    rule = find_rule("OTP301")
    assert rule is not None
    (finding,) = analyze(Source(text, str(path)), rules=[rule])
    assert finding.fix is not None and finding.fix.safety == "unsafe"
    assert "no mix.exs says which Elixir the app runs on" in finding.fix.title
