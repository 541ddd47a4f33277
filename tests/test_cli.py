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
    shutil.copytree(EXAMPLES, root, ignore=shutil.ignore_patterns(".otp-thinking-cache"))
    return root


EXAMPLE_FINDINGS = {
    ("lib/storefront/checkout.ex", 12, "OTP105"),
    ("lib/storefront/inventory.ex", 1, "OTP106"),
    ("lib/storefront/supplier.ex", 9, "OTP105"),
    ("lib/storefront/price_cache.ex", 15, "OTP101"),
    ("lib/storefront/presence.ex", 4, "OTP301"),
    ("lib/storefront/presence.ex", 6, "OTP301"),
    ("lib/storefront/rooms.ex", 7, "OTP201"),
    ("lib/storefront/rooms.ex", 11, "OTP201"),
    ("lib/storefront/stock.ex", 14, "OTP004"),
    ("lib/storefront/stock.ex", 18, "OTP601"),
}


def test_examples_report_as_text(project: Path) -> None:
    done = run("check", ".", cwd=project)
    assert done.returncode == 1, done.stderr
    lines = done.stdout.splitlines()
    assert (
        "lib/storefront/price_cache.ex:15:12: warning: OTP101 [*] Task.async links the task"
        in done.stdout
    )
    reported = {
        (p, int(line), code)
        for p, line, _col, code in (
            (*row.split(":", 3)[:3], row.split(": ", 2)[2].split()[0]) for row in lines[:-1]
        )
    }
    assert reported == EXAMPLE_FINDINGS
    assert lines[-1].startswith(f"Found {len(EXAMPLE_FINDINGS)} findings (")


def test_json_has_the_contract_fields(project: Path) -> None:
    source = project / "lib" / "storefront" / "lookup.ex"
    line = '  def handle_info("日本", s), do: (Task.async(fn -> 1 end); {:noreply, s})'
    source.write_text(f"defmodule L do\n{line}\nend\n", "utf-8")
    done = run("check", "lib/storefront/lookup.ex", "--format", "json", cwd=project)
    assert done.returncode == 1, done.stderr
    [finding] = json.loads(done.stdout)
    assert list(finding) == FIELDS
    assert finding["path"] == "lib/storefront/lookup.ex"
    start = line.index("Task.async") + 1  # code points, 1-based
    assert (finding["line"], finding["column"]) == (2, start)
    assert (finding["end_line"], finding["end_column"]) == (2, line.index("; {") + 1)
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
    # Skipping a binary or Latin-1 file is no error; a file that cannot be read is one (2).
    assert done.returncode == (1 if os.geteuid() == 0 else 2)
    assert "lib/latin1.ex: not UTF-8 text" in done.stderr
    assert "lib/binary.ex: binary file" in done.stderr
    if os.geteuid() != 0:  # root reads anything
        assert "lib/secret.ex: cannot be read" in done.stderr
    assert "price_cache.ex:15:12: warning: OTP101" in done.stdout


def test_deps_and_build_are_skipped(project: Path) -> None:
    for folder in ("deps/x/lib", "_build/dev/lib"):
        (project / folder).mkdir(parents=True)
        (project / folder / "a.ex").write_text(
            "defmodule A do\n  def handle_info(_, s), do: (Task.async(fn -> s end); {:noreply, s})\nend\n",
            "utf-8",
        )
    done = run("check", "--format", "json", cwd=project)
    paths = {f["path"] for f in json.loads(done.stdout)}
    assert paths == {path for path, _line, _code in EXAMPLE_FINDINGS}


def test_bad_config_is_reported_on_stderr_and_defaults_apply(project: Path) -> None:
    (project / ".otp-thinking.toml").write_text('[rules]\nOTP301 = "loud"\n', "utf-8")
    done = run("check", ".", cwd=project)
    assert done.returncode == 1
    assert "rules.OTP301 = 'loud'" in done.stderr
    assert "OTP301" in done.stdout


def test_config_turns_a_rule_off(project: Path) -> None:
    (project / ".otp-thinking.toml").write_text('[rules]\ntask-async = "off"\n', "utf-8")
    assert run("check", ".", "--select", "OTP101", cwd=project).returncode == 0


def test_fix_rewrites_and_adds_the_supervisor(project: Path) -> None:
    done = run("check", "--fix", "--select", "OTP101", ".", cwd=project)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Fixed 1 finding in lib/storefront/price_cache.ex" in done.stderr
    cache = (project / "lib" / "storefront" / "price_cache.ex").read_text("utf-8")
    assert "Task.Supervisor.async_nolink(Storefront.TaskSupervisor, fn ->" in cache
    app = (project / "lib" / "storefront" / "application.ex").read_text("utf-8")
    assert (
        "      {Task.Supervisor, name: Storefront.TaskSupervisor},\n      Storefront.PriceCache"
        in app
    )
    again = run("check", "--fix", "--select", "OTP101", ".", cwd=project)
    assert again.returncode == 0 and "Fixed" not in again.stderr


def test_diff_shows_changes_without_writing(project: Path) -> None:
    before = (project / "lib" / "storefront" / "application.ex").read_text("utf-8")
    done = run("check", "--diff", "--select", "OTP101", ".", cwd=project)
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


def test_fixing_the_whole_example_app_keeps_valid_elixir(project: Path, elixir: None) -> None:
    from conftest import elixir_accepts

    done = run("check", "--fix", "--unsafe-fixes", ".", cwd=project)
    assert "Fixed" in done.stderr
    remaining = {line.split(": ")[1].split()[0] for line in done.stdout.splitlines()[:-1]}
    assert "OTP101" not in remaining and "OTP301" not in remaining
    ok, said = elixir_accepts(sorted(project.rglob("*.ex")))
    assert ok, said
    again = run("check", "--fix", "--unsafe-fixes", ".", cwd=project)
    assert "Fixed" not in again.stderr


def _write_mailer(root: Path) -> None:
    """A module that starts an unsupervised task (OTP103)."""
    (root / "lib" / "shop" / "mailer.ex").write_text(
        "defmodule Shop.Mailer do\n  def deliver(mail) do\n"
        "    Task.start(fn -> send_now(mail) end)\n    :ok\n  end\n\n"
        "  defp send_now(mail), do: mail\nend\n",
        "utf-8",
    )


def test_reported_fix_uses_partitioned_task_supervisors_of_a_computed_list(
    tmp_path: Path,
) -> None:
    """The application's children go through a function of the project before they are
    started, so the fix cannot add a Task.Supervisor to them: the first pass found none to
    use, and the second pass, with the whole project, finds the PartitionSupervisor of
    Task.Supervisors the list holds and starts the task on the caller's partition (unsafe:
    the function may leave it out)."""
    root = tmp_path / "shop"
    (root / "lib" / "shop").mkdir(parents=True)
    (root / "mix.exs").write_text("defmodule Shop.MixProject do\nend\n", "utf-8")
    (root / "lib" / "shop" / "application.ex").write_text(
        "defmodule Shop.Application do\n  use Application\n\n  def start(_type, _args) do\n"
        "    children = [\n"
        "      {PartitionSupervisor, child_spec: Task.Supervisor, name: Shop.TaskSupervisors},\n"
        "      Shop.Repo\n    ]\n\n"
        "    Supervisor.start_link(Shop.Config.enabled(children), strategy: :one_for_one)\n"
        "  end\nend\n",
        "utf-8",
    )
    _write_mailer(root)
    done = run("check", "--no-cache", "--jobs", "1", "--format", "json", ".", cwd=root)
    [finding] = json.loads(done.stdout)
    assert finding["code"] == "OTP103"
    via = "{:via, PartitionSupervisor, {Shop.TaskSupervisors, self()}}"
    assert finding["fix"]["title"].startswith(
        f"Use Task.Supervisor.start_child on {via} (the application's children are built at"
        " run time, so whether they start Shop.TaskSupervisors is not known"
    )
    assert finding["fix"]["safety"] == "unsafe"
    [edit] = finding["fix"]["edits"]
    assert edit["path"] == "lib/shop/mailer.ex" and via in edit["new_text"]


def test_reported_fix_knows_names_started_outside_the_application(tmp_path: Path) -> None:
    """The fix `check` reports is chosen with the whole project, as `--fix` chooses it: a
    Task.Supervisor another supervisor starts is used, not started a second time, and the fix
    is unsafe: that supervisor may not run where the caller does."""
    root = tmp_path / "shop"
    (root / "lib" / "shop").mkdir(parents=True)
    (root / "mix.exs").write_text("defmodule Shop.MixProject do\nend\n", "utf-8")
    (root / ".otp-thinking.toml").write_text('[rules]\nOTP103 = "on"\n', "utf-8")
    (root / "lib" / "shop" / "application.ex").write_text(
        "defmodule Shop.Application do\n  use Application\n\n  def start(_type, _args) do\n"
        "    Supervisor.start_link([Shop.Repo, Shop.Core], strategy: :one_for_one)\n  end\nend\n",
        "utf-8",
    )
    (root / "lib" / "shop" / "core.ex").write_text(
        "defmodule Shop.Core do\n  use Supervisor\n\n"
        "  def start_link(arg), do: Supervisor.start_link(__MODULE__, arg, name: __MODULE__)\n\n"
        "  def init(arg) do\n    if arg == :test do\n      :ignore\n    else\n"
        "      children = [{Task.Supervisor, name: Shop.TaskSupervisor}]\n"
        "      Supervisor.init(children, strategy: :one_for_one)\n    end\n  end\nend\n",
        "utf-8",
    )
    _write_mailer(root)
    for jobs in ("1", "2"):
        done = run("check", "--no-cache", "--jobs", jobs, "--format", "json", ".", cwd=root)
        [finding] = json.loads(done.stdout)
        assert finding["code"] == "OTP103"
        assert finding["fix"]["title"].startswith(
            "Use Task.Supervisor.start_child on Shop.TaskSupervisor (the application's own"
            " children do not start Shop.TaskSupervisor"
        )
        assert finding["fix"]["safety"] == "unsafe"  # Shop.Core may start it or not
        assert [edit["path"] for edit in finding["fix"]["edits"]] == ["lib/shop/mailer.ex"]
    fixed = run("check", "--fix", "--unsafe-fixes", ".", cwd=root)
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert "Task.Supervisor" not in (root / "lib" / "shop" / "application.ex").read_text()
