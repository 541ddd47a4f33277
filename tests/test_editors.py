"""Neovim and Emacs (eglot), driven headless against the real server.

Each test copies `examples/` to a temporary folder, puts non-ASCII text before the `Task.async`
call (so a wrong position encoding would shift every column), and runs the editor's own test
script: it opens the file with the shipped editor setup, waits for the OTP101 diagnostic, applies
the fix through the editor's code-action menu, and checks the buffer (and that the same edit added
the Task.Supervisor child to application.ex, whose buffer the editor then reports to the server,
so that a second fix needing the supervisor uses it: `tests/test_lsp_fix_all.py`). The scripts
write what they saw to a JSON report.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
NEOVIM_TEST = ROOT / "editors" / "neovim" / "test" / "headless_test.lua"
EMACS_TEST = ROOT / "editors" / "emacs" / "test" / "otp-thinking-test.el"

PREFIX = '_ = "façade ☕ 𝄞"; '  # ç: 2 UTF-8 bytes, ☕: 3 bytes, 𝄞: two UTF-16 units
CALL = "Task.async(fn -> Storefront.Supplier.price(sku) end)"
FIXED = CALL.replace("Task.async(", "Task.Supervisor.async_nolink(Storefront.TaskSupervisor, ")
CHILD = "{Task.Supervisor, name: Storefront.TaskSupervisor},"
TIMEOUT = 150

pytestmark = pytest.mark.editor


def server_command() -> list[str]:
    """`otp-thinking lsp` from the environment running the tests (the console script when it
    was installed next to this interpreter)."""
    script = Path(sys.executable).with_name("otp-thinking")
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script), "lsp"]
    return [sys.executable, "-m", "otp_thinking", "lsp"]


def tree_digest(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(path.relative_to(folder).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


@pytest.fixture
def project(tmp_path: Path):
    """A copy of the examples app with non-ASCII text before the finding, and the text the
    file must have once the fix is applied. The original examples must stay as they were."""
    before = tree_digest(EXAMPLES)
    root = tmp_path / "storefront"
    shutil.copytree(EXAMPLES, root)
    source = root / "lib" / "storefront" / "price_cache.ex"
    text = source.read_text("utf-8")
    assert text.count(f"task = {CALL}") == 1
    text = text.replace(f"task = {CALL}", f"{PREFIX}task = {CALL}")
    source.write_text(text, "utf-8")
    expected = tmp_path / "expected.ex"
    expected.write_text(text.replace(CALL, FIXED), "utf-8")
    yield root, source, expected
    assert tree_digest(EXAMPLES) == before, "an editor test changed examples/"


def run_editor(argv: list[str], source: Path, expected: Path, tmp_path: Path) -> dict:
    report = tmp_path / "report.json"
    state = tmp_path / "editor-state"
    env = {
        **os.environ,
        "OTP_THINKING_CMD": json.dumps(server_command()),
        "OTP_THINKING_FILE": str(source),
        "OTP_THINKING_EXPECTED": str(expected),
        "OTP_THINKING_REPORT": str(report),
        # Keep the editors' logs and state out of the user's home.
        "XDG_STATE_HOME": str(state),
        "XDG_DATA_HOME": str(state),
        "XDG_CACHE_HOME": str(state),
    }
    try:
        done = subprocess.run(
            argv,
            env=env,
            cwd=tmp_path,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
        )
    except subprocess.TimeoutExpired as error:
        pytest.fail(f"{argv[0]} did not finish in {TIMEOUT}s:\n{error.stderr or ''}")
    output = done.stdout + done.stderr
    print(output)  # pytest shows it with -s or on failure
    assert done.returncode == 0, f"{argv[0]} exited {done.returncode}:\n{output}"
    assert report.is_file(), f"{argv[0]} wrote no report:\n{output}"
    result = json.loads(report.read_text("utf-8"))
    assert result["ok"] is True, result.get("error")
    return result


def check_common(result: dict, expected: Path) -> None:
    assert result["diagnostic"]["text"] == CALL
    assert result["buffer"] == expected.read_text("utf-8")
    assert PREFIX + "task = " + FIXED in result["buffer"]


def neovims() -> list[str | None]:
    """`nvim` on PATH (Debian 12's is 0.7.2), plus any listed in $OTP_THINKING_EXTRA_NVIM
    (paths separated by the OS path separator), e.g. a 0.11+ build to test lsp/otp_thinking.lua
    through vim.lsp.enable."""
    extra = [p for p in os.environ.get("OTP_THINKING_EXTRA_NVIM", "").split(os.pathsep) if p]
    return [shutil.which("nvim"), *extra]


@pytest.mark.parametrize("nvim", neovims(), ids=lambda path: "path" if path is None else path)
def test_neovim_applies_the_otp101_fix(nvim: str | None, project, tmp_path: Path) -> None:
    if nvim is None:
        pytest.skip("nvim is not on PATH (apt-get install neovim); CI installs it")
    _root, source, expected = project
    result = run_editor(
        [nvim, "--headless", "--clean", "-c", f"luafile {NEOVIM_TEST}"], source, expected, tmp_path
    )
    check_common(result, expected)
    # Byte columns in the buffer: the negotiated UTF-16 positions were converted correctly.
    line = expected.read_text("utf-8").splitlines()[result["diagnostic"]["line"] - 1]
    assert result["diagnostic"]["col"] == line.encode("utf-8").index(b"task = ") + len("task = ")
    assert any(title.startswith("Use Task.Supervisor.async_nolink") for title in result["offered"])
    assert result["application_changed"] is True
    assert result["application_attached"] is True  # the server hears of the added child
    assert (source.parent / "application.ex").read_text("utf-8").count(CHILD) == 0  # not saved


def eglot_available(emacs: str) -> bool:
    probe = subprocess.run(
        [emacs, "--batch", "--eval", "(require 'eglot)"],
        capture_output=True,
        stdin=subprocess.DEVNULL,
        timeout=60,
    )
    return probe.returncode == 0


def test_emacs_eglot_applies_the_otp101_fix(project, tmp_path: Path) -> None:
    emacs = shutil.which("emacs")
    if emacs is None:
        pytest.skip("emacs is not on PATH (apt-get install emacs-nox elpa-eglot); CI installs it")
    if not eglot_available(emacs):
        pytest.skip("eglot is not installed for this Emacs (apt-get install elpa-eglot)")
    git = shutil.which("git")
    if git is None:
        pytest.skip("git is needed to make the copy a project eglot recognises")
    root, source, expected = project
    subprocess.run([git, "init", "-q", str(root)], check=True)
    result = run_editor([emacs, "--batch", "-l", str(EMACS_TEST)], source, expected, tmp_path)
    check_common(result, expected)
    assert result["chosen"].startswith("Use Task.Supervisor.async_nolink")
    assert result["diagnostic"]["type"] == "eglot-error"  # the rule setting reached the server
    assert result["application_managed"] is True  # the server hears of the added child
    assert (root / "lib" / "storefront" / "application.ex").read_text("utf-8").count(CHILD) == 0


def test_emacs_package_byte_compiles_without_warnings(tmp_path: Path) -> None:
    emacs = shutil.which("emacs")
    if emacs is None or not eglot_available(emacs):
        pytest.skip("emacs with eglot is not installed (apt-get install emacs-nox elpa-eglot)")
    source = tmp_path / "otp-thinking.el"
    shutil.copy(ROOT / "editors" / "emacs" / "otp-thinking.el", source)
    done = subprocess.run(
        [
            emacs,
            "--batch",
            "--eval",
            "(setq byte-compile-error-on-warn t)",
            "-f",
            "batch-byte-compile",
            str(source),
        ],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert (tmp_path / "otp-thinking.elc").is_file()
