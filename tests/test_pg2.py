"""OTP301: the text of the :pg2 → :pg fixes, and what the guard check leaves alone."""

from __future__ import annotations

from pathlib import Path

import pytest
from fix_helpers import findings, fix, module, project

from otp_thinking.config import from_mapping

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
        ("def f, do: &:pg2.join/2", "def f, do: &:pg.join/2", "safe"),
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
            "def f(g) do\n  :ok = :pg2.join(g, self())\nend",
            "unsafe",
        ),
    ],
)
def test_fix_text(tmp_path: Path, before: str, after: str, safety: str) -> None:
    fixed = fix(project(tmp_path, WITH_SCOPE), "OTP301", module(before))
    assert fixed.text == module(after)
    assert fixed.finding.fix is not None and fixed.finding.fix.safety == safety


def test_removing_a_create_says_to_move_the_other_pg2_calls_with_it(tmp_path: Path) -> None:
    """Where :pg2 still runs, a join left after its group's create is gone returns
    `{:error, {:no_such_group, _}}`: the removal alone is not safe."""
    before = "def f(g) do\n  :ok = :pg2.create(g)\n  :ok = :pg2.join(g, self())\nend"
    fixed = fix(project(tmp_path, WITH_SCOPE), "OTP301", module(before))
    assert fixed.finding.fix is not None
    assert fixed.finding.fix.title.endswith("(move the file's other :pg2 calls to :pg with it)")


def test_adds_the_default_scope_when_missing(tmp_path: Path) -> None:
    fixed = fix(project(tmp_path), "OTP301", module("def f(g), do: :pg2.join(g, self())"))
    assert fixed.application is not None
    # after the Repo: started after the infrastructure its users may need, stopped before it
    assert "      Shop.Repo,\n      %{id: :pg, start: {:pg, :start_link, []}}" in fixed.application
    assert fixed.finding.fix is not None
    assert fixed.finding.fix.title == "Use :pg.join and start the default scope in Shop.Application"


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
