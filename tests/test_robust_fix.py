"""`check --fix` and `--diff` never lose a byte: atomic writes under kill -9 and a full disk,
line endings kept, symlinks out of the tree left alone, errors reported per file with exit 2,
patches `git apply` accepts."""

from __future__ import annotations

import contextlib
import errno
import io
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from otp_thinking import cli, writing

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
PRESENCE = "lib/storefront/presence.ex"
APPLICATION = "lib/storefront/application.ex"
FIXABLE = [PRESENCE, APPLICATION, "lib/storefront/price_cache.ex", "lib/storefront/stock.ex"]


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "otp_thinking", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
    )


def snapshot(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
        and not p.is_symlink()
        and ".git" not in p.parts
        and ".otp-thinking-cache" not in p.parts  # the tool's own cache, not the user's code
    }


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "storefront"
    shutil.copytree(EXAMPLES, root)
    return root


def crlf(root: Path) -> None:
    for path in root.rglob("*.ex"):
        path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))


def test_crlf_files_and_raw_carriage_returns_survive_fix(project: Path) -> None:
    crlf(project)
    raw = project / "lib" / "storefront" / "raw.ex"
    raw.write_bytes(
        b'defmodule Raw do\n  def s, do: "a\rb"\n  def j, do: :pg2.join(:raw, self())\nend\n'
    )
    done = run("check", "--fix", ".", cwd=project)
    assert done.returncode == 1, done.stderr
    for name in FIXABLE:
        data = (project / name).read_bytes()
        assert data.count(b"\n") == data.count(b"\r\n"), name  # every line still ends in CRLF
    assert b":pg.join" in (project / PRESENCE).read_bytes()
    assert b"{:pg, :start_link" in (project / APPLICATION).read_bytes()
    assert raw.read_bytes() == (
        b'defmodule Raw do\n  def s, do: "a\rb"\n  def j, do: :pg.join(:raw, self())\nend\n'
    )


def test_diff_is_a_patch_git_applies_to_exactly_the_changed_files(project: Path) -> None:
    crlf(project)
    (project / "lib" / "storefront" / "last.ex").write_bytes(
        b"defmodule Last do\n  def j, do: :pg2.join(:last, self())\nend"  # no final newline
    )
    subprocess.run(["git", "init", "-q", "."], cwd=project, check=True)
    fixed = project.parent / "fixed"
    shutil.copytree(project, fixed)
    run("check", "--fix", ".", cwd=fixed)

    patch = subprocess.run(  # bytes: text mode would turn the CRLF lines into LF
        [sys.executable, "-m", "otp_thinking", "check", "--diff", "."],
        capture_output=True,
        cwd=project,
        timeout=300,
    ).stdout.decode("utf-8")
    patched = {line[6:] for line in patch.splitlines() if line.startswith("+++ b/")}
    assert patched == {*FIXABLE, "lib/storefront/last.ex"}
    assert "\\ No newline at end of file" in patch
    (project.parent / "fix.patch").write_text(patch, "utf-8", newline="")
    check = subprocess.run(
        ["git", "apply", "--check", "../fix.patch"], cwd=project, capture_output=True, text=True
    )
    assert check.returncode == 0, check.stderr
    subprocess.run(["git", "apply", "../fix.patch"], cwd=project, check=True)
    assert snapshot(project) == snapshot(fixed)


def test_symlinks_out_of_the_tree_are_reported_not_rewritten(project: Path) -> None:
    outside = project.parent / "shared"
    outside.mkdir()
    (project / PRESENCE).rename(outside / "presence.ex")
    (project / PRESENCE).symlink_to(outside / "presence.ex")
    (outside / "tasks").mkdir()
    (outside / "tasks" / "pg.ex").write_text(
        "defmodule Pg do\n  def j, do: :pg2.join(:linked, self())\nend\n"
    )
    (project / "lib" / "linked").symlink_to(outside / "tasks", target_is_directory=True)
    before = snapshot(outside)

    done = run("check", "--fix", ".", cwd=project)

    assert snapshot(outside) == before
    for name in (PRESENCE, "lib/linked/pg.ex"):
        told = (
            f"{name}: OTP301 not fixed: the fix edits {name}, which links outside the checked tree"
        )
        assert told in done.stderr, done.stderr
    assert "OTP" in done.stdout  # their findings are still reported
    assert done.returncode == 1, done.stderr
    assert b"async_nolink" in (project / "lib/storefront/price_cache.ex").read_bytes()


def test_a_read_only_file_is_an_error_and_the_rest_is_written(project: Path) -> None:
    (project / PRESENCE).chmod(0o444)
    done = run("check", "--fix", ".", cwd=project)
    assert done.returncode == 2
    assert f"{PRESENCE}: read-only; not written" in done.stderr
    assert "Traceback" not in done.stderr
    assert f"Fixed 2 findings in {PRESENCE}" not in done.stderr
    assert b":pg2" in (project / PRESENCE).read_bytes()
    assert "not written" in done.stderr.splitlines()[-1]
    assert b"async_nolink" in (project / "lib/storefront/price_cache.ex").read_bytes()


def fix_in_process(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str]:
    monkeypatch.chdir(project)
    code = cli.main(["check", "--fix", "--no-cache", "."])  # only the fixed files write
    return code, capsys.readouterr().err


def assert_whole_after_a_full_disk(
    before: dict[str, bytes], after: dict[str, bytes], err: str, fixable: list[str]
) -> None:
    assert "no space left on device" in err and "Traceback" not in err
    assert set(after) == set(before)  # no temporary file left over
    for name, data in after.items():
        assert data == before[name] or name in fixable, name  # nothing truncated
    failed = [name for name in fixable if f"{name}: cannot be written" in err]
    assert failed and all(after[name] == before[name] for name in failed)


def test_a_full_disk_leaves_every_file_whole(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Writes fail once 600 bytes are written (the first fixed file fits, the rest do not)."""
    before = snapshot(project)
    real_fdopen = os.fdopen
    spent = [0]

    class SmallDisk:
        def __init__(self, handle: io.BufferedWriter) -> None:
            self.handle = handle

        def __enter__(self) -> SmallDisk:
            return self

        def __exit__(self, *exc: object) -> None:
            self.handle.close()

        def write(self, data: bytes) -> int:
            spent[0] += len(data)
            if spent[0] > 600:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            return self.handle.write(data)

        def __getattr__(self, name: str) -> object:
            return getattr(self.handle, name)

    monkeypatch.setattr(writing.os, "fdopen", lambda fd, mode: SmallDisk(real_fdopen(fd, mode)))
    code, err = fix_in_process(project, monkeypatch, capsys)
    assert code == 2
    after = snapshot(project)
    assert_whole_after_a_full_disk(before, after, err, FIXABLE)
    assert any(after[name] != before[name] for name in FIXABLE)


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=False)


def test_a_really_full_disk_leaves_every_file_whole(tmpfs: Path) -> None:
    project = tmpfs / "storefront"
    shutil.copytree(EXAMPLES, project)
    big = project / "lib" / "storefront" / "big.ex"
    body = "".join(f"  def j{i}, do: :pg2.join(:big, self())\n" for i in range(600))
    big.write_text(f"defmodule Big do\n{body}end\n")
    filler = tmpfs / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
    with contextlib.suppress(OSError):  # fill the disk, then give back a little room
        while True:
            os.write(fd, b"x" * 4096)
    os.close(fd)
    os.truncate(filler, filler.stat().st_size - 12 * 1024)
    before = snapshot(project)
    done = run("check", "--fix", ".", cwd=project)
    after = snapshot(project)
    assert done.returncode == 2, done.stderr
    big_name = big.relative_to(project).as_posix()
    assert_whole_after_a_full_disk(before, after, done.stderr, [*FIXABLE, big_name])
    assert f"{big_name}: cannot be written (no space left on device)" in done.stderr


def test_a_file_deleted_or_replaced_before_the_write_is_not_fixed(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    changed_files = cli._changed_files

    def meanwhile(run: cli.CheckRun) -> dict[str, tuple[str, str]]:
        changed = changed_files(run)
        (project / PRESENCE).unlink()
        (project / APPLICATION).unlink()
        os.mkfifo(project / APPLICATION)  # a write would block on it
        return changed

    monkeypatch.setattr(cli, "_changed_files", meanwhile)
    code, err = fix_in_process(project, monkeypatch, capsys)
    assert code == 2
    assert f"{PRESENCE}: deleted since it was read; not written" in err
    assert f"{APPLICATION}: no longer a regular file; not written" in err
    assert f"in {PRESENCE}" not in err
    assert not (project / PRESENCE).exists()


def writing_started(folder: Path, since: float) -> bool:
    try:
        return any(
            p.name.endswith(".otp-thinking") or p.stat().st_mtime > since for p in folder.iterdir()
        )
    except OSError:  # a temporary file renamed while we looked
        return True


def test_the_application_other_fixes_rely_on_is_written_first(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Fixes that call a supervisor or `:pg` scope added to the application rely on it: it is
    written before them, so a run stopped half-way never leaves calls to a child nobody
    starts, and the next run ends where an uninterrupted one does (the children in the same
    order). Files a name sorts before `lib/storefront/` rely on it too."""
    generated = project / "lib" / "gen"
    generated.mkdir()
    (generated / "g0.ex").write_text("defmodule Gen0 do\n  def j, do: :pg2.join(:g, self())\nend\n")
    written: list[str] = []
    real = writing.write_fixed

    def recorded(path: str, *args: object, **kwargs: object) -> writing.WriteResult:
        written.append(os.path.relpath(path, project))
        return real(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(writing, "write_fixed", recorded)
    code, _err = fix_in_process(project, monkeypatch, capsys)
    assert code in (0, 1)
    assert APPLICATION in written and "lib/gen/g0.ex" in written
    assert written[0] == APPLICATION, written


def test_kill_during_a_large_fix_never_leaves_a_cut_file(project: Path) -> None:
    generated = project / "lib" / "gen"
    generated.mkdir()
    for n in range(60):
        body = "".join(f"  def j{i}, do: :pg2.join(:gen{n}, self())\n" for i in range(5))
        (generated / f"g{n}.ex").write_text(f"defmodule Gen{n} do\n{body}end\n")
    filler = "".join(f"  # line {i} of a long file, kept as it is\n" for i in range(50_000))
    (generated / "big.ex").write_text(  # 2.3 MB
        f"defmodule Big do\n{filler}  def j, do: :pg2.join(:big, self())\nend\n"
    )
    original = snapshot(project)
    fixed_copy = project.parent / "fixed"
    shutil.copytree(project, fixed_copy)
    run("check", "--fix", ".", cwd=fixed_copy)
    fixed = snapshot(fixed_copy)
    assert fixed != original

    chance = random.Random(16)
    for _ in range(3):  # killed while it writes: wait for the first write, then a little
        since = max(p.stat().st_mtime for p in generated.iterdir())
        process = subprocess.Popen(
            [sys.executable, "-m", "otp_thinking", "check", "--fix", "."],
            cwd=project,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 240
        while not writing_started(generated, since) and process.poll() is None:
            assert time.monotonic() < deadline
            time.sleep(0.002)
        time.sleep(chance.uniform(0, 0.03))
        process.send_signal(signal.SIGKILL)
        process.wait()
        for name, data in snapshot(project).items():
            if name.endswith((".ex", ".exs")):
                assert data in (original[name], fixed[name]), name
    run("check", "--fix", ".", cwd=project)
    left = {k: v for k, v in snapshot(project).items() if not k.endswith(".otp-thinking")}
    assert left == fixed


def test_write_errors_and_bad_arguments_exit_two_without_a_traceback(project: Path) -> None:
    (project / "baseline").mkdir()
    done = run("check", "--write-baseline", "baseline", ".", cwd=project)
    assert done.returncode == 2 and "baseline: cannot be written" in done.stderr
    done = run("check", "--baseline", "/dev/zero", ".", cwd=project)
    assert done.returncode == 2 and "/dev/zero: not a regular file" in done.stderr
    os.mkfifo(project / "fifo")
    done = run("check", "--baseline", "fifo", ".", cwd=project)
    assert done.returncode == 2 and "fifo: not a regular file" in done.stderr
    (project / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    done = run("check", "--baseline", "deep.json", ".", cwd=project)
    assert done.returncode == 2 and "nested too deeply" in done.stderr
    with open("/dev/full", "w") as full:
        done = subprocess.run(
            [sys.executable, "-m", "otp_thinking", "check", "."],
            cwd=project,
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
        )
    assert done.returncode == 2 and "cannot write the output" in done.stderr
    assert "Traceback" not in done.stderr


def test_closed_stdout_exits_two(project: Path) -> None:
    done = subprocess.run(
        f"{sys.executable} -m otp_thinking check . >&-",
        shell=True,
        cwd=project,
        capture_output=False,
        stderr=subprocess.PIPE,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2 and "standard output is closed" in done.stderr


def test_jobs_are_capped_at_the_cpu_count(project: Path) -> None:
    done = run("check", "--jobs", "99999999999", ".", cwd=project)
    assert done.returncode == 1
    assert "--jobs 99999999999 is more than the" in done.stderr


def test_lsp_tcp_on_a_bad_port_says_so(project: Path) -> None:
    done = run("lsp", "--tcp", "127.0.0.1:99999", cwd=project)
    assert done.returncode == 2 and "--tcp takes HOST:PORT" in done.stderr
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = run("lsp", "--tcp", f"127.0.0.1:{port}", cwd=project)
    assert done.returncode == 2, done.stderr
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr
    assert "Traceback" not in done.stderr


def test_an_unreadable_file_exits_two(project: Path) -> None:
    (project / "lib" / "dangling.ex").symlink_to(project / "lib" / "nowhere.ex")
    done = run("check", ".", cwd=project)
    assert done.returncode == 2
    assert "lib/dangling.ex: cannot be read" in done.stderr


def test_writing_a_baseline_is_atomic(tmp_path: Path) -> None:
    target = tmp_path / "baseline.json"
    writing.write_new_file(target, "{}\n")
    assert target.read_text() == "{}\n"
