"""`writing.write_fixed`: atomic, checked writes that never lose a byte."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

import pytest

from otp_thinking import writing
from otp_thinking.writing import read_exact, real_roots, write_fixed


def test_a_write_replaces_the_text_and_keeps_the_mode(tmp_path: Path) -> None:
    path = tmp_path / "a.ex"
    path.write_bytes(b"old\r\n")
    path.chmod(0o640)
    result = write_fixed(path, "old\r\n", "new\r\n", real_roots([tmp_path]))
    assert result.written
    assert path.read_bytes() == b"new\r\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["a.ex"]  # no temporary file left


def test_a_file_changed_since_it_was_read_is_not_written(tmp_path: Path) -> None:
    path = tmp_path / "a.ex"
    path.write_text("saved by an editor")
    result = write_fixed(path, "old", "new", real_roots([tmp_path]))
    assert result.status == "changed" and "changed on disk since it was read" in result.reason
    assert path.read_text() == "saved by an editor"


def test_a_deleted_file_is_not_written(tmp_path: Path) -> None:
    result = write_fixed(tmp_path / "gone.ex", "old", "new", real_roots([tmp_path]))
    assert result.status == "missing" and result.failed
    assert not (tmp_path / "gone.ex").exists()


def test_a_fifo_is_skipped_without_blocking(tmp_path: Path) -> None:
    path = tmp_path / "a.ex"
    os.mkfifo(path)
    result = write_fixed(path, "old", "new", real_roots([tmp_path]))
    assert result.status == "not_regular"
    assert stat.S_ISFIFO(path.lstat().st_mode)
    assert read_exact(path) is None


def test_a_symlink_out_of_the_tree_is_not_followed(tmp_path: Path) -> None:
    tree, outside = tmp_path / "tree", tmp_path / "outside"
    tree.mkdir()
    outside.mkdir()
    (outside / "target.ex").write_text("old")
    (tree / "link.ex").symlink_to(outside / "target.ex")
    (tree / "folder").symlink_to(outside)
    for path in (tree / "link.ex", tree / "folder" / "target.ex"):
        result = write_fixed(path, "old", "new", real_roots([tree]))
        assert result.status == "outside" and "outside the checked tree" in result.reason
    assert (outside / "target.ex").read_text() == "old"


def test_a_symlink_inside_the_tree_writes_its_target_and_stays_a_link(tmp_path: Path) -> None:
    (tmp_path / "target.ex").write_text("old")
    (tmp_path / "link.ex").symlink_to("target.ex")
    assert write_fixed(tmp_path / "link.ex", "old", "new", real_roots([tmp_path])).written
    assert (tmp_path / "link.ex").is_symlink()
    assert (tmp_path / "target.ex").read_text() == "new"


def test_a_read_only_file_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "a.ex"
    path.write_text("old")
    path.chmod(0o444)
    result = write_fixed(path, "old", "new", real_roots([tmp_path]))
    assert result.status == "error" and "read-only" in result.reason
    assert path.read_text() == "old"


def test_a_full_disk_leaves_the_original_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "a.ex"
    original = "defmodule A do\n" + "  # line\n" * 2000 + "end\n"
    path.write_text(original)
    real_fsync = os.fsync

    def full(fd: int) -> None:
        if stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_fsync(fd)

    monkeypatch.setattr(writing.os, "fsync", full)
    result = write_fixed(path, original, original + "more\n", real_roots([tmp_path]))
    assert result.status == "error" and "no space left on device" in result.reason
    assert path.read_text() == original
    assert [p.name for p in tmp_path.iterdir()] == ["a.ex"]


def test_raw_carriage_returns_are_kept(tmp_path: Path) -> None:
    path = tmp_path / "a.ex"
    path.write_bytes(b'x = "a\rb"\r\ny = 1\n')
    text = read_exact(path)
    assert text == 'x = "a\rb"\r\ny = 1\n'
    assert write_fixed(path, text, text + "z = 2\r\n", real_roots([tmp_path])).written
    assert path.read_bytes() == b'x = "a\rb"\r\ny = 1\nz = 2\r\n'
