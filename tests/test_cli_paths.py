"""Every way of naming the same files finds the same project, configuration and findings."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from test_cli import EXAMPLES, run

from otp_thinking import batch
from otp_thinking.index import project_files
from otp_thinking.project import ProjectContext, find_root

CONFIG = (
    '[rules]\npreview = true\nOTP004 = "off"\n\n[paths]\nexclude = ["lib/storefront/rooms.ex"]\n'
)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "storefront"
    shutil.copytree(EXAMPLES, root)
    (root / ".otp-thinking.toml").write_text(CONFIG, "utf-8")
    return root


def findings(*args: str, cwd: Path) -> set[tuple[str, int, str]]:
    done = run("check", "--format", "json", "--fail-on", "hint", *args, cwd=cwd)
    assert done.returncode == 1, done.stderr
    assert done.stderr == ""
    return {
        (str((cwd / item["path"]).resolve()), item["line"], item["code"])
        for item in json.loads(done.stdout)
    }


def test_any_folder_form_finds_the_same_findings(project: Path) -> None:
    expected = findings(".", cwd=project)
    codes = {code for _path, _line, code in expected}
    assert {"OTP105", "OTP106", "OTP101"} <= codes  # the project was found: cross-file rules
    assert "OTP004" not in codes  # the configuration was read
    assert not any(path.endswith("rooms.ex") for path, _line, _code in expected)  # excluded
    lib = project / "lib"
    assert findings(".", cwd=lib) == expected
    assert findings("..", cwd=lib / "storefront") == expected
    assert findings(".", cwd=lib / "storefront") == expected
    assert findings("storefront", cwd=lib) == expected
    assert findings(str(project), cwd=project.parent) == expected
    assert findings("storefront", cwd=project.parent) == expected


def test_a_single_file_from_a_subfolder_sees_its_project(project: Path) -> None:
    folder = project / "lib" / "storefront"
    inventory = findings("inventory.ex", cwd=folder)
    assert {code for _path, _line, code in inventory} == {"OTP106"}
    stock = findings("stock.ex", cwd=folder)
    assert "OTP004" not in {code for _path, _line, code in stock}


def test_fixes_from_a_subfolder_edit_the_same_application(project: Path) -> None:
    done = run("check", "--diff", "--select", "OTP101", ".", cwd=project / "lib" / "storefront")
    assert done.returncode == 1, done.stderr
    assert "--- a/application.ex\n+++ b/application.ex\n" in done.stdout
    assert "+      {Task.Supervisor, name: Storefront.TaskSupervisor}," in done.stdout


PLUGIN_APPLICATION = """\
defmodule Chart.Application do
  use Application

  def start(_type, _args) do
    children = [Chart.Cache]
    result = Supervisor.start_link(children, strategy: :one_for_one, name: Chart.Supervisor)
    Task.start(fn -> Chart.register() end)
    result
  end
end
"""


def test_a_mix_project_inside_another_is_a_project_of_its_own(project: Path) -> None:
    """A plugin or an example with its own mix.exs (not an umbrella's app) runs as its own
    application: its fix starts a Task.Supervisor named after it, in its own tree, not the
    outer project's."""
    plugin = project / "plugins" / "chart"
    (plugin / "lib" / "chart").mkdir(parents=True)
    (plugin / "mix.exs").write_text(
        "defmodule Chart.MixProject do\n  use Mix.Project\n\n"
        '  def project, do: [app: :chart, version: "0.1.0", elixir: "~> 1.15"]\n'
        "  def application, do: [mod: {Chart.Application, []}]\nend\n",
        "utf-8",
    )
    (plugin / "lib" / "chart" / "application.ex").write_text(PLUGIN_APPLICATION, "utf-8")
    done = run("check", "--diff", "--unsafe-fixes", "--select", "OTP103", ".", cwd=project)
    assert done.returncode == 1, done.stderr  # --diff: 1 when a fix changes a file
    plugin_diff = done.stdout.split("--- a/plugins/chart/lib/chart/application.ex")[1]
    assert "+    Task.Supervisor.start_child(Chart.TaskSupervisor, fn -> Chart.register() end)" in (
        plugin_diff
    )
    assert "{Task.Supervisor, name: Chart.TaskSupervisor}" in plugin_diff
    assert "Storefront" not in plugin_diff


ROOMS = """\
defmodule Chart.Rooms do
  use DynamicSupervisor

  def start_link(arg), do: DynamicSupervisor.start_link(__MODULE__, arg, name: __MODULE__)

  def init(_arg), do: DynamicSupervisor.init(strategy: :one_for_one)
end
"""

ROOM = """\
defmodule Chart.Room do
  use GenServer

  def open(id), do: DynamicSupervisor.start_child(Chart.Rooms, {__MODULE__, id})

  def start_link(id), do: GenServer.start_link(__MODULE__, id)

  def init(id), do: {:ok, id}
end
"""


def test_a_message_names_a_nested_project_s_file_from_the_repository_root(project: Path) -> None:
    """The plugin is a project of its own, but the user opened the repository: another file
    of the plugin is named from there, as the editor and the command line show it."""
    chart = project / "plugins" / "chart"
    (chart / "lib" / "chart").mkdir(parents=True)
    (chart / "mix.exs").write_text("defmodule Chart.MixProject do\nend\n", "utf-8")
    (chart / "lib" / "chart" / "rooms.ex").write_text(ROOMS, "utf-8")
    (chart / "lib" / "chart" / "room.ex").write_text(ROOM, "utf-8")
    done = run("check", "--format", "json", "--select", "OTP501", "plugins", cwd=project)
    [finding] = json.loads(done.stdout)
    assert "Chart.Room.open/1 (plugins/chart/lib/chart/room.ex:4)" in finding["message"]


@pytest.mark.parametrize(
    ("umbrella_mix", "app_folder"),
    [
        ('[apps_path: "apps", deps: []]', "apps/shop"),
        ('[apps_path: "services", deps: []]', "services/shop"),
        ("[deps: []]", "apps/shop"),  # apps side by side under a root that depends on them
    ],
)
def test_an_umbrella_app_belongs_to_the_umbrella_and_an_example_or_a_plugin_to_itself(
    tmp_path: Path, umbrella_mix: str, app_folder: str
) -> None:
    """The command line and the server agree on every folder's project (`find_root` and the
    batch's walk up the folders); the index of the outer project leaves the others' files out,
    and paths are classed and shown from the repository's root."""
    root = tmp_path / "umbrella"
    for folder in (root, root / app_folder, root / "examples" / "demo", root / "plugins" / "chart"):
        (folder / "lib").mkdir(parents=True)
    (root / "mix.exs").write_text(
        f"defmodule U.MixProject do\n  def project, do: {umbrella_mix}\nend\n"
    )
    (root / app_folder / "mix.exs").write_text("defmodule Shop.MixProject do\nend\n")
    (root / "examples" / "demo" / "mix.exs").write_text("defmodule Demo.MixProject do\nend\n")
    (root / "plugins" / "chart" / "mix.exs").write_text("defmodule Chart.MixProject do\nend\n")
    root_of = batch._roots()
    expected = {
        root / app_folder / "lib" / "shop.ex": root,
        root / "lib" / "u.ex": root,
        root / "examples" / "demo" / "lib" / "demo.ex": root / "examples" / "demo",
        root / "plugins" / "chart" / "lib" / "chart.ex": root / "plugins" / "chart",
    }
    for path, project_root in expected.items():
        path.write_text("defmodule X do\nend\n")
        assert find_root(path) == project_root
        assert root_of(str(path.parent)) == str(project_root)
        assert ProjectContext(project_root).base == root
    indexed = set(project_files(root))
    assert indexed == {
        root / "mix.exs",
        root / "lib" / "u.ex",
        root / app_folder / "mix.exs",
        root / app_folder / "lib" / "shop.ex",
    }


DEMO_APPLICATION = """\
defmodule Demo.Application do
  use Application

  def start(_type, _args) do
    Supervisor.start_link([], strategy: :one_for_one, name: Demo.Supervisor)
  end
end
"""

DEMO_BATCH = """\
defmodule Demo.Batch do
  def run(items) do
    items
    |> Task.async_stream(&work/1)
    |> Enum.map(fn
      {:ok, value} -> value
      {:exit, _reason} -> :failed
    end)
  end

  defp work(item), do: item * 2
end
"""


def test_an_example_project_is_fixed_in_its_own_application(project: Path) -> None:
    """An example with a mix.exs of its own runs its own application: the Task.Supervisor
    its fix needs goes there, not into the library's (synapse's examples/data_pipeline)."""
    demo = project / "examples" / "demo"
    (demo / "lib" / "demo").mkdir(parents=True)
    (demo / "mix.exs").write_text("defmodule Demo.MixProject do\nend\n", "utf-8")
    (demo / "lib" / "demo" / "application.ex").write_text(DEMO_APPLICATION, "utf-8")
    (demo / "lib" / "demo" / "batch.ex").write_text(DEMO_BATCH, "utf-8")
    done = run("check", "--format", "json", "--select", "OTP102", "examples", cwd=project)
    [finding] = json.loads(done.stdout)
    assert finding["fix"]["title"].startswith(
        "Use Task.Supervisor.async_stream_nolink on Demo.TaskSupervisor and start it in"
        " Demo.Application"
    )
    edited = {edit["path"] for edit in finding["fix"]["edits"]}
    assert edited == {"examples/demo/lib/demo/batch.ex", "examples/demo/lib/demo/application.ex"}


def test_emacs_lock_files_and_other_dot_files_are_not_sources(project: Path) -> None:
    """Mix compiles `lib/**/*.ex` without dot-files, so `.#inventory.ex` (the link Emacs makes
    while a buffer has unsaved changes, pointing nowhere) is not a source: no error, no finding."""
    expected = findings(".", cwd=project)
    folder = project / "lib" / "storefront"
    (folder / ".#inventory.ex").symlink_to("someone@host.4242")
    shutil.copy(folder / "inventory.ex", folder / ".inventory_backup.ex")
    assert findings(".", cwd=project) == expected
    assert not any(".#" in str(path) for path in project_files(project))


def test_a_library_app_of_an_umbrella_gets_no_safe_fix_in_a_sibling_s_application(
    tmp_path: Path,
) -> None:
    """An umbrella app with no application of its own (a library another app mounts) runs
    its code in its own tests and in other hosts too: a fix that starts the supervisor in the
    sibling's application is unsafe and says why (chronicle's engine). Code of the app that
    has the application still gets the safe fix."""
    root = tmp_path / "umbrella"
    (root / "apps" / "engine" / "lib" / "engine").mkdir(parents=True)
    (root / "apps" / "server" / "lib" / "server").mkdir(parents=True)
    (root / "mix.exs").write_text(
        'defmodule U.MixProject do\n  def project, do: [apps_path: "apps"]\nend\n', "utf-8"
    )
    (root / "apps" / "engine" / "mix.exs").write_text(
        "defmodule Engine.MixProject do\n  def project, do: [app: :engine]\nend\n", "utf-8"
    )
    (root / "apps" / "server" / "mix.exs").write_text(
        "defmodule Server.MixProject do\n  def project, do: [app: :server]\n"
        "  def application, do: [mod: {Server.Application, []}]\nend\n",
        "utf-8",
    )
    task = "  def {name}(id), do: Task.start(fn -> IO.puts(id) end)\n"
    (root / "apps" / "engine" / "lib" / "engine" / "cleaner.ex").write_text(
        "defmodule Engine.Cleaner do\n" + task.format(name="clean") + "end\n", "utf-8"
    )
    (root / "apps" / "server" / "lib" / "server" / "notifier.ex").write_text(
        "defmodule Server.Notifier do\n" + task.format(name="notify") + "end\n", "utf-8"
    )
    (root / "apps" / "server" / "lib" / "server" / "application.ex").write_text(
        DEMO_APPLICATION.replace("Demo", "Server"), "utf-8"
    )
    done = run("check", "--format", "json", "--select", "OTP103", ".", cwd=root)
    fixes = {item["path"]: item["fix"] for item in json.loads(done.stdout)}
    engine = fixes["apps/engine/lib/engine/cleaner.ex"]
    assert engine["safety"] == "unsafe"
    assert "another umbrella app's application (this app has none of its own" in engine["title"]
    assert fixes["apps/server/lib/server/notifier.ex"]["safety"] == "safe"
