"""`check --fix` and `--diff` as one fixer over the whole project: a fix that edits its own file
twice, fixes in several files that add the same child, files edited while the run goes on,
excluded files, and work that grows with the number of files, not its square."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from fix_helpers import MIX_EXS
from test_cli import run

from conftest import elixir_accepts
from otp_thinking.source import Source

APPLICATION = """\
defmodule Shop.Application do
  use Application

  def start(_type, _args) do
    children = [
      Shop.Repo
    ]

    Supervisor.start_link(children, strategy: :one_for_one)
  end
end
"""

WORKER = """\
defmodule Shop.{name} do
  use GenServer

  def start_link(arg), do: GenServer.start_link(__MODULE__, arg, name: __MODULE__)

  def init(arg), do: {{:ok, arg}}

  def handle_call(:go, _from, state) do
    task = Task.async(fn -> :work end)

    case Task.yield(task, 1_000) do
      {{:ok, result}} -> {{:reply, result, state}}
      {{:exit, _reason}} -> {{:reply, :error, state}}
      nil -> {{:reply, :timeout, state}}
    end
  end
end
"""

CHILD = "{Task.Supervisor, name: Shop.TaskSupervisor}"
REWRITTEN = "Task.Supervisor.async_nolink(Shop.TaskSupervisor, fn"


def make_project(root: Path, workers: list[str], in_application: bool = False) -> Path:
    """A Mix project: the application (holding a GenServer when ``in_application``) and one
    file per worker; OTP101 (a preview rule) on."""
    lib = root / "lib" / "shop"
    lib.mkdir(parents=True)
    (root / "mix.exs").write_text("defmodule Shop.MixProject do\nend\n", "utf-8")
    (root / ".otp-thinking.toml").write_text('[rules]\ntask-async = "on"\n', "utf-8")
    application = APPLICATION + ("\n" + WORKER.format(name="Worker") if in_application else "")
    (lib / "application.ex").write_text(application, "utf-8")
    for name in workers:
        (lib / f"{name.lower()}.ex").write_text(WORKER.format(name=name), "utf-8")
    return root


def error_free(text: str) -> bool:
    return not Source(text).tree.root_node.has_error


def test_a_genserver_in_the_application_file_gets_its_child_once(tmp_path: Path) -> None:
    root = make_project(tmp_path / "shop", [], in_application=True)
    application = root / "lib" / "shop" / "application.ex"
    diff = run("check", "--diff", ".", cwd=root)
    added = [line for line in diff.stdout.splitlines() if line.startswith("+") and CHILD in line]
    assert len(added) == 1, diff.stdout
    for _ in range(3):
        done = run("check", "--fix", ".", cwd=root)
        assert done.returncode == 0, done.stdout + done.stderr
        text = application.read_text("utf-8")
        assert text.count(CHILD) == 1 and text.count(REWRITTEN) == 1
        assert error_free(text)
    assert f"      Shop.Repo,\n      {CHILD}\n" in text  # after the Repo its tasks may use


def test_the_fixed_application_parses_in_elixir(tmp_path: Path, elixir: None) -> None:
    root = make_project(tmp_path / "shop", ["Mailer"], in_application=True)
    assert run("check", "--fix", ".", cwd=root).returncode == 0
    ok, said = elixir_accepts(sorted(root.rglob("*.ex")))
    assert ok, said


def test_fixes_in_several_files_add_one_child_whatever_the_order(tmp_path: Path) -> None:
    workers = ["Mailer", "Billing", "Search"]
    results = []
    for order in (workers, workers[::-1]):
        root = make_project(tmp_path / "-".join(order), workers)
        files = [f"lib/shop/{name.lower()}.ex" for name in order]
        done = run("check", "--fix", *files, cwd=root)
        assert done.returncode == 0, done.stdout + done.stderr
        texts = {p.name: p.read_text("utf-8") for p in sorted(root.rglob("*.ex"))}
        assert texts["application.ex"].count(CHILD) == 1
        assert all(texts[f"{name.lower()}.ex"].count(REWRITTEN) == 1 for name in workers)
        assert all(error_free(text) for text in texts.values())
        results.append(texts)
    assert results[0] == results[1]


def test_an_excluded_application_file_is_never_edited(tmp_path: Path) -> None:
    root = make_project(tmp_path / "shop", ["Mailer"])
    (root / ".otp-thinking.toml").write_text(
        '[rules]\ntask-async = "on"\n\n[paths]\nexclude = ["lib/shop/application.ex"]\n', "utf-8"
    )
    application = root / "lib" / "shop" / "application.ex"
    mailer = root / "lib" / "shop" / "mailer.ex"
    before = application.read_text("utf-8"), mailer.read_text("utf-8")
    diff = run("check", "--diff", ".", cwd=root)
    assert diff.stdout == "" or "application.ex" not in diff.stdout
    done = run("check", "--fix", ".", cwd=root)
    assert (application.read_text("utf-8"), mailer.read_text("utf-8")) == before
    assert "lib/shop/mailer.ex: OTP101 not fixed" in done.stderr
    assert "lib/shop/application.ex" in done.stderr and "exclude" in done.stderr
    assert "Fixed" not in done.stderr


def test_an_excluded_file_with_findings_of_its_own_is_left_alone(tmp_path: Path) -> None:
    root = make_project(tmp_path / "shop", ["Mailer", "Legacy"])
    (root / ".otp-thinking.toml").write_text(
        '[rules]\ntask-async = "on"\n\n[paths]\nexclude = ["lib/shop/legacy.ex"]\n', "utf-8"
    )
    legacy = root / "lib" / "shop" / "legacy.ex"
    before = legacy.read_text("utf-8")
    done = run("check", "--fix", ".", cwd=root)
    assert done.returncode == 0, done.stdout + done.stderr
    assert legacy.read_text("utf-8") == before
    assert REWRITTEN in (root / "lib" / "shop" / "mailer.ex").read_text("utf-8")


# The real command, with every analysis of each named file editing it on disk once its text
# has been read (whichever pass reads the text the fix is made of), as a user's editor would
# while the run goes on.
EDIT_DURING_RUN = """
import sys
from pathlib import Path
from otp_thinking import cli, engine

analyze = engine.analyze

def analyze_then_edit(source, **options):
    if str(source.path) in sys.argv[2:]:
        path = Path(source.path)
        path.write_text(path.read_text("utf-8") + "# edited meanwhile\\n", "utf-8")
    return analyze(source, **options)

engine.analyze = analyze_then_edit  # the CLI imports it when it first analyses
sys.exit(cli.main(["check", "--fix", sys.argv[1]]))
"""


def run_editing(root: Path, *edited: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", EDIT_DURING_RUN, ".", *edited],
        capture_output=True,
        text=True,
        cwd=root,
        timeout=120,
    )


def test_a_file_edited_during_fix_is_not_overwritten(tmp_path: Path) -> None:
    root = make_project(tmp_path / "shop", ["Mailer", "Billing"])
    done = run_editing(root, "lib/shop/billing.ex")
    billing = (root / "lib" / "shop" / "billing.ex").read_text("utf-8")
    assert billing.endswith("# edited meanwhile\n") and REWRITTEN not in billing
    assert "lib/shop/billing.ex: changed on disk since it was read; not written" in done.stderr
    mailer = (root / "lib" / "shop" / "mailer.ex").read_text("utf-8")
    application = (root / "lib" / "shop" / "application.ex").read_text("utf-8")
    assert REWRITTEN in mailer and application.count(CHILD) == 1
    assert "Fixed 1 finding in lib/shop/mailer.ex" in done.stderr
    assert "billing.ex" not in done.stderr.replace("lib/shop/billing.ex: changed", "")


def test_an_application_edited_during_fix_holds_back_the_calls_that_need_its_child(
    tmp_path: Path,
) -> None:
    root = make_project(tmp_path / "shop", ["Mailer"])
    done = run_editing(root, "lib/shop/application.ex")
    mailer = (root / "lib" / "shop" / "mailer.ex").read_text("utf-8")
    application = (root / "lib" / "shop" / "application.ex").read_text("utf-8")
    assert REWRITTEN not in mailer, "a call to a supervisor nobody starts"
    assert CHILD not in application and application.endswith("# edited meanwhile\n")
    assert "lib/shop/application.ex: changed on disk since it was read" in done.stderr
    assert "lib/shop/mailer.ex: not written (its fixes need lib/shop/application.ex)" in (
        done.stderr
    )
    assert "Fixed" not in done.stderr


# The real command on a project of ``count`` files, counting the walks of the whole project.
COUNT_SCANS = """
import sys
from otp_thinking import cli, project

scan, walks = project.scan, []

def counting_scan(root, read_text=None, candidates=None, index=None, **more):
    if candidates is None:
        walks.append(root)
    return scan(root, read_text, candidates, index, **more)

project.scan = counting_scan  # the workspace imports it when it first walks
code = cli.main(["check", "--fix", "."])
print("walks", len(walks), file=sys.stderr)
sys.exit(code)
"""


@pytest.mark.parametrize("count", [3, 30])
def test_fix_walks_the_project_a_fixed_number_of_times_however_many_files_are_fixed(
    tmp_path: Path, count: int
) -> None:
    workers = [f"Worker{i}" for i in range(count)]
    root = make_project(tmp_path / "shop", workers)
    done = subprocess.run(
        [sys.executable, "-c", COUNT_SCANS], capture_output=True, text=True, cwd=root, timeout=300
    )
    assert done.returncode == 0, done.stdout + done.stderr
    # the check that counts what is found (its two passes share one walk in one process),
    # then the fixer: never once per file
    assert "walks 2" in done.stderr.splitlines()
    assert done.stderr.count("Fixed 1 finding") == count
    application = (root / "lib" / "shop" / "application.ex").read_text("utf-8")
    assert application.count(CHILD) == 1


def test_diff_shows_the_text_read_against_the_fixed_one(tmp_path: Path) -> None:
    root = make_project(tmp_path / "shop", ["Mailer"])
    done = run("check", "--diff", ".", cwd=root)
    assert done.returncode == 1
    patch = textwrap.dedent(done.stdout)
    assert patch.count("+++ b/lib/shop/") == 2
    assert f"+      {CHILD}" in patch and "-    task = Task.async(fn -> :work end)" in patch


PG2_USER = """\
defmodule Shop.{name} do
  use GenServer

  def start_link(arg), do: GenServer.start_link(__MODULE__, arg, name: __MODULE__)

  def init(arg) do
    :ok = :pg2.join(:{group}, self())
    {{:ok, arg}}
  end
end
"""


def shop_with_children(tmp_path: Path, children: str, after_start: str = "") -> tuple[Path, Path]:
    """A Mix project ``shop`` whose application starts ``children`` (and runs ``after_start``
    once its tree is up): its root and its `lib/shop`."""
    root = tmp_path / "shop"
    lib = root / "lib" / "shop"
    lib.mkdir(parents=True)
    (root / "mix.exs").write_text(MIX_EXS, "utf-8")
    application = APPLICATION.replace("      Shop.Repo\n", f"      {children}\n")
    if after_start:
        application = application.replace(
            "    Supervisor.start_link(children, strategy: :one_for_one)\n",
            "    result = Supervisor.start_link(children, strategy: :one_for_one)\n"
            f"{after_start}    result\n",
        )
    (lib / "application.ex").write_text(application, "utf-8")
    return root, lib


def test_fixes_that_add_one_child_before_different_users_add_it_once(tmp_path: Path) -> None:
    """Each :pg2 fix adds the :pg scope before its own module's place among the children;
    taken in one pass, two such fixes added it twice, and the app would not boot (a duplicate
    child id). The second waits for the next pass, where the scope is started already."""
    root, lib = shop_with_children(
        tmp_path,
        "Shop.Repo,\n      Shop.Alpha,\n      {Registry, keys: :unique, name: Shop.Names},\n"
        "      Shop.Beta",
    )
    for name, group in (("Alpha", "alphas"), ("Beta", "betas")):
        (lib / f"{name.lower()}.ex").write_text(PG2_USER.format(name=name, group=group), "utf-8")
    done = run("check", "--fix", ".", cwd=root)
    assert done.returncode == 0, done.stdout + done.stderr
    fixed = (lib / "application.ex").read_text("utf-8")
    assert fixed.count("%{id: :pg, start: {:pg, :start_link, []}}") == 1, fixed
    assert fixed.index(":pg, :start_link") < fixed.index("Shop.Alpha")
    assert ":pg.join(:alphas, self())" in (lib / "alpha.ex").read_text("utf-8")
    assert ":pg.join(:betas, self())" in (lib / "beta.ex").read_text("utf-8")


WARMER = """\
defmodule Shop.Warmer do
  use GenServer

  def start_link(arg), do: GenServer.start_link(__MODULE__, arg, name: __MODULE__)

  def init(arg) do
    Task.start(fn -> Shop.Repo.all(:prices) end)
    {:ok, arg}
  end
end
"""


def test_a_child_added_for_the_application_and_for_a_child_goes_before_the_child(
    tmp_path: Path,
) -> None:
    """The application's own task (after `Supervisor.start_link`) would put the Task.Supervisor
    after the infrastructure (the PubSub, after the warmer); the warmer's fix puts it before
    the warmer, whose `init/1` uses it. Fixed together, the child is added once, before the
    warmer: after it, the warmer's start would fail and the app with it."""
    root, lib = shop_with_children(
        tmp_path,
        "Shop.Repo,\n      Shop.Warmer,\n      {Phoenix.PubSub, name: Shop.PubSub}",
        after_start='    Task.start(fn -> :logger.info("started") end)\n',
    )
    (lib / "warmer.ex").write_text(WARMER, "utf-8")
    done = run("check", "--fix", "--select", "OTP103", ".", cwd=root)
    assert done.returncode == 0, done.stdout + done.stderr
    fixed = (lib / "application.ex").read_text("utf-8")
    assert fixed.count(CHILD) == 1, fixed
    assert fixed.index(CHILD) < fixed.index("Shop.Warmer"), fixed
    assert "Task.Supervisor.start_child(Shop.TaskSupervisor" in fixed
    assert "Task.Supervisor.start_child(Shop.TaskSupervisor" in (lib / "warmer.ex").read_text()


def test_check_labels_a_fix_as_fix_would_apply_it(tmp_path: Path) -> None:
    """``Shop.Admin.init/1`` reaches ``Shop.Utils.run_async/1`` (through a helper), and the
    app starts ``Shop.Admin`` before the Task.Supervisor the fix would reuse: only the
    project index shows it, so the report must not call the fix safe where ``--fix`` would
    hold it back."""
    lib = tmp_path / "lib" / "shop"
    lib.mkdir(parents=True)
    (tmp_path / "mix.exs").write_text(MIX_EXS, "utf-8")
    children = "Shop.Repo,\n      Shop.Admin,\n      {Task.Supervisor, name: Shop.TaskSupervisor}"
    (lib / "application.ex").write_text(APPLICATION.replace("Shop.Repo", children), "utf-8")
    (lib / "admin.ex").write_text(
        "defmodule Shop.Admin do\n  use GenServer\n\n"
        "  def init(arg) do\n    warm()\n    {:ok, arg}\n  end\n\n"
        "  defp warm, do: Shop.Utils.run_async(fn -> Shop.Cache.fill() end)\nend\n",
        "utf-8",
    )
    utils = "defmodule Shop.Utils do\n  def run_async(fun), do: Task.start(fun)\nend\n"
    (lib / "utils.ex").write_text(utils, "utf-8")
    report = run("check", "--no-cache", "--select", "OTP103", "--format", "json", ".", cwd=tmp_path)
    [finding] = json.loads(report.stdout)
    assert finding["fix"]["safety"] == "unsafe", finding["fix"]
    fixed = run("check", "--no-cache", "--select", "OTP103", "--fix", ".", cwd=tmp_path)
    assert fixed.returncode in (0, 1), fixed.stderr
    assert (lib / "utils.ex").read_text("utf-8") == utils
