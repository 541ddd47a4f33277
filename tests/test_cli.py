"""The `otp-thinking` command, run as a user runs it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
FIELDS = [
    "path",
    "line",
    "column",
    "end_line",
    "end_column",
    "code",
    "name",
    "severity",
    "message",
    "fix",
]


def command() -> list[str]:
    beside = Path(sys.executable).parent / "otp-thinking"
    found = str(beside) if beside.exists() else shutil.which("otp-thinking")
    assert found, "the otp-thinking console script is not installed"
    return [found]


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*command(), *args], capture_output=True, text=True, cwd=cwd, timeout=120)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "storefront"
    shutil.copytree(EXAMPLES, root)
    return root


def test_examples_report_their_findings_as_text(project: Path) -> None:
    done = run("check", ".", cwd=project)
    assert done.returncode == 1, done.stderr
    lines = done.stdout.splitlines()
    assert [line.split(" ")[:2] for line in lines[:-1]] == [
        ["lib/storefront/checkout.ex:12:44:", "OTP105"],
        ["lib/storefront/price_cache.ex:15:12:", "OTP101"],
        ["lib/storefront/stock.ex:1:11:", "OTP106"],
        ["lib/storefront/supplier.ex:9:47:", "OTP105"],
    ]
    assert lines[1].startswith("lib/storefront/price_cache.ex:15:12: OTP101 [*] Task.async links")
    assert lines[-1] == "Found 4 findings (3 fixable with --fix)."


def test_json_has_the_contract_fields(project: Path) -> None:
    source = project / "lib" / "storefront" / "lookup.ex"
    line = '  def handle_info(:go, s), do: {:noreply, {"日本", Task.async(fn -> 1 end)}}'
    source.write_text(f"defmodule L do\n{line}\nend\n", "utf-8")
    done = run("check", "lib/storefront/lookup.ex", "--format", "json", cwd=project)
    assert done.returncode == 1, done.stderr
    [finding] = json.loads(done.stdout)
    assert list(finding) == FIELDS
    assert finding["path"] == "lib/storefront/lookup.ex"
    start = line.index("Task.async") + 1  # code points, 1-based
    assert (finding["line"], finding["column"]) == (2, start)
    assert (finding["end_line"], finding["end_column"]) == (2, line.index("}}") + 1)
    assert finding["code"] == "OTP101" and finding["severity"] == "warning"
    assert finding["fix"]["safety"] == "safe"
    paths = [edit["path"] for edit in finding["fix"]["edits"]]
    assert paths == ["lib/storefront/lookup.ex", "lib/storefront/application.ex"]
    assert set(finding["fix"]["edits"][0]) == {
        "path",
        "line",
        "column",
        "end_line",
        "end_column",
        "new_text",
    }


def test_clean_tree_exits_zero(project: Path) -> None:
    done = run("check", "test", "lib/storefront/application.ex", cwd=project)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip() == "No findings."
    assert run("check", "--format", "json", "test", cwd=project).stdout.strip() == "[]"


def test_missing_path_exits_two_with_a_message(project: Path) -> None:
    done = run("check", "nowhere", cwd=project)
    assert done.returncode == 2
    assert "nowhere: no such file or directory" in done.stderr


def test_unknown_rule_in_select_is_a_usage_error(project: Path) -> None:
    done = run("check", "--select", "OTP999", cwd=project)
    assert done.returncode == 2 and "OTP999" in done.stderr


def test_bad_files_are_reported_and_the_rest_checked(project: Path) -> None:
    (project / "lib" / "latin1.ex").write_bytes(b"# caf\xe9\ndefmodule X do end\n")
    (project / "lib" / "binary.ex").write_bytes(b"\x00\x01\x02ELF")
    unreadable = project / "lib" / "secret.ex"
    unreadable.write_text("defmodule S do end\n", "utf-8")
    unreadable.chmod(0)
    done = run("check", ".", cwd=project)
    assert done.returncode == 1
    assert "lib/latin1.ex: not UTF-8 text" in done.stderr
    assert "lib/binary.ex: binary file" in done.stderr
    if os.geteuid() != 0:  # root reads anything
        assert "lib/secret.ex: cannot be read" in done.stderr
    assert "price_cache.ex:15:12: OTP101" in done.stdout


def test_deps_and_build_are_skipped(project: Path) -> None:
    for folder in ("deps/x/lib", "_build/dev/lib"):
        (project / folder).mkdir(parents=True)
        (project / folder / "a.ex").write_text(
            "defmodule A do\n  def handle_info(_, s), do: {:noreply, Task.async(fn -> s end)}\nend\n",
            "utf-8",
        )
    done = run("check", "--format", "json", cwd=project)
    assert {f["path"] for f in json.loads(done.stdout)} == {
        "lib/storefront/checkout.ex",
        "lib/storefront/price_cache.ex",
        "lib/storefront/stock.ex",
        "lib/storefront/supplier.ex",
    }


def test_bad_config_is_reported_on_stderr_and_defaults_apply(project: Path) -> None:
    (project / ".otp-thinking.toml").write_text('[rules]\nOTP101 = "loud"\n', "utf-8")
    done = run("check", ".", cwd=project)
    assert done.returncode == 1
    assert "rules.OTP101 = 'loud'" in done.stderr
    assert "OTP101" in done.stdout


def test_config_turns_a_rule_off(project: Path) -> None:
    (project / ".otp-thinking.toml").write_text('[rules]\ntask-async = "off"\n', "utf-8")
    assert run("check", ".", "--select", "OTP101", cwd=project).returncode == 0


def test_fix_rewrites_and_adds_the_supervisor(project: Path) -> None:
    done = run("check", "--fix", ".", cwd=project)
    assert done.returncode == 1, done.stdout + done.stderr  # OTP106 has no fix
    assert "Fixed 1 finding in lib/storefront/price_cache.ex" in done.stderr
    assert "Fixed 1 finding in lib/storefront/checkout.ex" in done.stderr
    assert [line.split(" ")[1] for line in done.stdout.splitlines()[:-1]] == ["OTP106"]
    cache = (project / "lib" / "storefront" / "price_cache.ex").read_text("utf-8")
    assert "Task.Supervisor.async_nolink(Storefront.TaskSupervisor, fn ->" in cache
    app = (project / "lib" / "storefront" / "application.ex").read_text("utf-8")
    assert "      {Task.Supervisor, name: Storefront.TaskSupervisor},\n" in app
    assert "      {Registry, keys: :unique, name: Storefront.CartRegistry},\n" in app
    assert app.index("CartRegistry") < app.index("Storefront.PriceCache")
    again = run("check", "--fix", ".", cwd=project)
    assert again.returncode == 1 and "Fixed" not in again.stderr


def test_diff_shows_changes_without_writing(project: Path) -> None:
    before = (project / "lib" / "storefront" / "application.ex").read_text("utf-8")
    done = run("check", "--diff", ".", cwd=project)
    assert done.returncode == 1
    assert "+      {Task.Supervisor, name: Storefront.TaskSupervisor}," in done.stdout
    assert "-    task = Task.async(" in done.stdout
    assert (project / "lib" / "storefront" / "application.ex").read_text("utf-8") == before


def test_rules_and_explain() -> None:
    listing = run("rules")
    assert listing.returncode == 0
    assert any(line.startswith("OTP101  task-async") for line in listing.stdout.splitlines())
    for key in ("OTP101", "task-async", "otp101"):
        explained = run("explain", key)
        assert explained.returncode == 0
        assert explained.stdout.startswith("# OTP101 task-async")
        for heading in ("What it flags", "Why it matters", "Example", "Fix"):
            assert f"## {heading}" in explained.stdout
    missing = run("explain", "OTP999")
    assert missing.returncode == 2 and "no rule" in missing.stderr
