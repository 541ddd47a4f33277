"""Every way of naming the same files finds the same project, configuration and findings."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from test_cli import EXAMPLES, run

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
