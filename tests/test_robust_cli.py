"""The command line on hostile trees and hostile configuration, and proof that nothing from a
workspace is ever run."""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from positions import line_column

from otp_thinking import cli

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
FINDING = "lib/storefront/checkout.ex:12:44: warning: OTP105"
PRESENCE = "lib/storefront/presence.ex"
DEFAULT_SET_FINDING = f"{PRESENCE}:{line_column(EXAMPLES / PRESENCE, ':pg2.join')}: error: OTP301"


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "otp_thinking", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "storefront"
    shutil.copytree(EXAMPLES, root)
    return root


def test_hostile_files_are_reported_and_the_rest_checked(project: Path) -> None:
    lib = project / "lib"
    (lib / "loop").mkdir()
    (lib / "loop" / "again").symlink_to(lib, target_is_directory=True)  # a folder loop
    (lib / "self.ex").symlink_to(lib / "self.ex")  # a link to itself
    (lib / "dangling.ex").symlink_to(lib / "nowhere.ex")
    (lib / "empty.ex").write_bytes(b"")
    (lib / "latin1.ex").write_bytes(b"# caf\xe9\ndefmodule X do end\n")
    (lib / "elf.ex").write_bytes(b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)) * 8)
    (lib / "bom.ex").write_bytes(b"\xef\xbb\xbfdefmodule Bom do end\n")
    (lib / "folder.ex").mkdir()  # a folder with an Elixir name
    (lib / "folder.ex" / "inner.ex").write_text("defmodule Inner do end\n", "utf-8")
    os.mkfifo(lib / "pipe.ex")  # reading it would block forever

    done = run("check", ".", cwd=project)

    # Findings, and files that cannot be read (the dangling and looping links): an I/O error.
    assert done.returncode == 2, done.stderr
    assert FINDING in done.stdout
    assert done.stdout.count(FINDING) == 1  # the folder loop does not check files twice
    for name, reason in [
        ("self.ex", "cannot be read"),
        ("dangling.ex", "cannot be read"),
        ("latin1.ex", "not UTF-8"),
        ("elf.ex", "binary file"),
        ("pipe.ex", "not a regular file"),
    ]:
        assert f"lib/{name}: {reason}" in done.stderr, done.stderr
    for quiet in ("empty.ex", "bom.ex", "inner.ex"):
        assert quiet not in done.stderr


def test_an_unreadable_folder_is_reported(project: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root reads every folder")
    secret = project / "lib" / "secret"
    secret.mkdir()
    (secret / "a.ex").write_text("defmodule A do end\n", "utf-8")
    secret.chmod(0)
    try:
        done = run("check", ".", cwd=project)
    finally:
        secret.chmod(0o755)
    assert done.returncode == 1
    assert "lib/secret" in done.stderr and FINDING in done.stdout


def test_usage_errors_exit_two(project: Path) -> None:
    assert run("check", "--format", "yaml", cwd=project).returncode == 2
    assert run("check", "--select", "NOPE", cwd=project).returncode == 2
    assert run("frobnicate", cwd=project).returncode == 2


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"x = " + b"[" * 50_000 + b"]" * 50_000 + b"\n", "cannot be read as TOML"),
        (b"[rules\nOTP101 = ", "cannot be read as TOML"),
        (b"\xff\xfe[rules]", "cannot be read as TOML"),
        (b"# " + b"x" * (2 << 20) + b"\n", "larger than"),
        (b'rules = 3\npaths = "x"\nnames = 1\n', "must be a table"),
        (b"[rules]\nOTP101 = 5\n", "rules.OTP101 = 5"),
        (b'[paths]\nexclude = "lib/**"\n', "paths.exclude must be a list"),
        (b"[paths]\ntest = [1, 2]\n", "paths.test must be a list"),
        (b"[names]\ntask_supervisor = []\n", "names.task_supervisor = [] is not an Elixir module name"),
        (b'import os\nos.system("touch pwned")\n', "cannot be read as TOML"),
    ],
    ids=[
        "deeply-nested", "malformed", "not-utf8", "huge", "wrong-tables", "wrong-severity",
        "exclude-string", "test-numbers", "name-list", "python",
    ],
)  # fmt: skip
def test_bad_config_gives_a_message_and_the_defaults(
    project: Path, content: bytes, message: str
) -> None:
    (project / ".otp-thinking.toml").write_bytes(content)
    done = run("check", ".", cwd=project)
    assert done.returncode == 1, done.stderr
    assert message in done.stderr
    assert "Traceback" not in done.stderr
    assert DEFAULT_SET_FINDING in done.stdout  # the default rule set still runs
    assert not (project / "pwned").exists()


PLANTED = """
File.write!("{marker}", "ran")
System.cmd("touch", ["{marker}"])
:os.cmd(~c"touch {marker}")
"""


def test_nothing_from_the_workspace_is_run(project: Path, monkeypatch: pytest.MonkeyPatch):
    """Code in mix.exs, scripts, config and sources that would leave a marker if evaluated;
    and the process may start no program at all while checking."""
    marker = project / "ran"
    planted = PLANTED.format(marker=marker)
    (project / "mix.exs").write_text((project / "mix.exs").read_text("utf-8") + planted, "utf-8")
    (project / "config").mkdir(exist_ok=True)
    (project / "config" / "config.exs").write_text(f"import Config\n{planted}", "utf-8")
    (project / "lib" / "boom.ex").write_text(f"defmodule Boom do\n{planted}\nend\n", "utf-8")
    (project / ".otp-thinking.toml").write_text(f'[names]\nregistry = """{planted}"""\n', "utf-8")

    started: list[object] = []

    def refuse(*args: object, **kwargs: object) -> None:
        started.append(args)
        raise AssertionError(f"tried to start a program: {args}")

    for name in ("system", "popen", "execv", "execve", "execvp", "posix_spawn", "fork"):
        if hasattr(os, name):
            monkeypatch.setattr(os, name, refuse)
    monkeypatch.setattr(subprocess.Popen, "__init__", refuse)
    monkeypatch.chdir(project)
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        assert cli.main(["check", "."]) == 1
        cli.main(["check", "--fix", "--unsafe-fixes", "."])
    assert started == []
    assert not marker.exists()
