"""Writing fixed files to disk without ever losing a byte.

Every write of the command line goes through `write_fixed`: the new text goes to a temporary
file in the same folder, is flushed to disk and renamed over the original (so a kill, a full
disk or a power cut leaves either the old file or the new one, never a truncated one), with
the original's permissions. Before replacing anything it checks that the file on disk still
holds the text the fixes were computed from (an editor may have saved it meanwhile), that it is
still a regular file (a FIFO put in its place would block the run), and that its real path lies
inside one of the checked roots (a symlink must not lead a fix out of the tree).

Texts are read and written as they are: no newline translation, so a CRLF file stays CRLF and a
lone CR inside a string literal stays a CR.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

Status = Literal["written", "unchanged", "changed", "missing", "not_regular", "outside", "error"]

MAX_READ = 256 * 1024 * 1024
"""A file bigger than this is not one the fixes read: treat it as changed, never load it."""


@dataclass(frozen=True)
class WriteResult:
    path: str
    status: Status
    reason: str = ""
    """Why the file was not written, for the user (empty when it was)."""

    @property
    def written(self) -> bool:
        return self.status == "written"

    @property
    def failed(self) -> bool:
        """Not written for a reason the user must hear about (an unchanged file is fine)."""
        return self.status not in ("written", "unchanged")

    def message(self) -> str:
        return f"{self.path}: {self.reason}"


def real_roots(paths: Iterable[str | Path]) -> list[str]:
    """The real paths (symlinks resolved) of the folders and files a run checks."""
    return [os.path.realpath(path) for path in paths]


def inside(real_path: str, roots: Iterable[str]) -> bool:
    """True when ``real_path`` is one of ``roots`` or below one of them."""
    for root in roots:
        if real_path == root or real_path.startswith(root.rstrip(os.sep) + os.sep):
            return True
    return False


def read_exact(path: str | Path) -> str | None:
    """A regular file's UTF-8 text exactly as stored (no newline translation), or None when it
    cannot be read as such; never blocks on a FIFO or a device."""
    try:
        return read_regular(os.fspath(path))[0].decode("utf-8")
    except (OSError, UnicodeDecodeError, ValueError):
        return None


def write_fixed(
    path: str | Path, read_text: str, new_text: str, roots: Iterable[str] | None = None
) -> WriteResult:
    """Replace ``path``'s text ``read_text`` by ``new_text`` atomically.

    ``roots`` (real paths, see `real_roots`): the file's real path must lie inside one of them;
    None allows any path. Nothing is written (and the result says why) when the file left the
    tree through a symlink, is gone, is not a regular file, or no longer holds ``read_text``.
    """
    shown = os.fspath(path)
    real = os.path.realpath(shown)
    if roots is not None and not inside(real, roots):
        return WriteResult(
            shown, "outside", f"links to {real}, outside the checked tree; not written"
        )
    if new_text == read_text:
        return WriteResult(shown, "unchanged")
    try:
        data, mode = read_regular(real)
    except FileNotFoundError:
        return WriteResult(shown, "missing", "deleted since it was read; not written")
    except NotRegularError:
        return WriteResult(shown, "not_regular", "no longer a regular file; not written")
    except OSError as error:
        return WriteResult(shown, "error", f"cannot be read ({error.strerror}); not written")
    if data != read_text.encode("utf-8"):
        return WriteResult(shown, "changed", "changed on disk since it was read; not written")
    if not mode & 0o222 or not os.access(real, os.W_OK):
        return WriteResult(shown, "error", "read-only; not written")
    try:
        _replace(real, new_text.encode("utf-8"), mode)
    except OSError as error:
        return WriteResult(shown, "error", f"cannot be written ({_reason(error)}); not written")
    return WriteResult(shown, "written")


class NotRegularError(OSError):
    """A FIFO, a device or a folder where a regular file was expected."""


def read_regular(path: str | Path, limit: int = MAX_READ) -> tuple[bytes, int]:
    """The bytes and permission bits of a regular file of at most ``limit`` bytes; opened
    without blocking (a FIFO opens at once and is refused)."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    fd = os.open(path, flags)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise NotRegularError(errno.EINVAL, "not a regular file", path)
        if info.st_size > limit:
            raise OSError(errno.EFBIG, "file too large", path)
        chunks, size = [], 0
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
            size += len(chunk)
            if size > limit:  # it grew while being read
                raise OSError(errno.EFBIG, "file too large", path)
        return b"".join(chunks), stat.S_IMODE(info.st_mode)
    finally:
        os.close(fd)


def _replace(path: str, data: bytes, mode: int) -> None:
    """Write ``data`` to a temporary file next to ``path``, flush it, rename it over ``path``."""
    folder, name = os.path.split(path)
    import tempfile  # only a run that writes a fix needs it

    fd, temporary = tempfile.mkstemp(prefix=f".{name}.", suffix=".otp-thinking", dir=folder)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fchmod(handle.fileno(), mode)
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    _sync_folder(folder)


def _sync_folder(folder: str) -> None:
    """Flush the rename itself (best effort: not every system can open a folder)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _reason(error: OSError) -> str:
    if error.errno == errno.ENOSPC:
        return "no space left on device"
    return error.strerror or str(error)


def write_new_file(path: str | Path, text: str) -> None:
    """Write a file the run creates (a baseline) atomically; raises OSError."""
    real = os.path.realpath(os.fspath(path))
    try:
        mode = stat.S_IMODE(os.stat(real).st_mode)
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    if os.path.isdir(real):
        raise IsADirectoryError(errno.EISDIR, "is a folder", os.fspath(path))
    _replace(real, text.encode("utf-8"), mode)
