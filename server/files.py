"""Reading a workspace's files: regular files only, so a FIFO or a device named `x.ex` can never
block the server or the command line."""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

SKIPPED_DIRS = frozenset({"deps", "_build", ".git", "node_modules", ".elixir_ls", ".expert"})
"""Folders never checked or indexed: dependencies, build output, tools' own folders."""


def is_regular(path: str | Path) -> bool:
    """True for a regular file (after following links); False for anything else or an error."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except (OSError, ValueError):
        return False


def read_text(path: str | Path) -> str | None:
    """A regular file's UTF-8 text exactly as stored (no newline translation: a CRLF file stays
    CRLF, a lone CR in a string literal stays a CR), or None when it cannot be read as such."""
    if not is_regular(path):
        return None
    try:
        with open(path, encoding="utf-8", newline="") as handle:
            return handle.read()
    except (OSError, UnicodeDecodeError, ValueError):
        return None


APPS_PATH = re.compile(r"\bapps_path:\s*\"([^\"]+)\"")
"""An umbrella's `apps_path: "apps"` in its mix.exs."""


def root_of_folder(folder: str, above: str | None) -> str | None:
    """The project root of ``folder``, given the root of the folder that holds it (``above``).
    A folder with a mix.exs is a project of its own (a plugin, an example, a test app, a
    package beside the main one), with its own application and children, except an app of an
    umbrella (`apps/<name>/` under a root, or the umbrella's `apps_path`), whose apps run in
    one system: there the umbrella's root wins. Without a mix.exs a folder belongs to the
    project above it. Which files are tests or tooling is read from `repository_root`."""
    if not os.path.isfile(os.path.join(folder, "mix.exs")):
        return above
    if above is not None and os.path.dirname(folder) == os.path.join(above, _apps_folder(above)):
        return above
    return folder


def repository_root(root: str) -> str:
    """The outermost folder with a mix.exs around the project at ``root`` (``root`` itself
    when none is above it): paths are classed and shown from there, so an example or a test
    app with a mix.exs of its own is still the repository's `examples/` or `test/` code."""
    top, folder = root, os.path.dirname(root)
    while True:
        if os.path.isfile(os.path.join(folder, "mix.exs")):
            top = folder
        above = os.path.dirname(folder)
        if above == folder:
            return top
        folder = above


TOOLING_FOLDERS = frozenset(
    {
        "dev",
        "bench",
        "benchmark",
        "benchmarks",
        "test_app",
        "test_apps",
        "integration_test",
        "integration_tests",
        "examples",
        "example",
        "scratch",
    }
)
"""Folders of development tooling, benchmarks, examples, scratch code and test apps: code that
does not run in the production system."""


def _apps_folder(root: str) -> str:
    """Where ``root``'s mix.exs keeps its apps: its `apps_path`, `apps` by default."""
    found = APPS_PATH.search(read_text(os.path.join(root, "mix.exs")) or "")
    return os.path.normpath(found.group(1)) if found is not None else "apps"


_USE_APPLICATION = re.compile(r"^\s*use\s+Application\b", re.MULTILINE)


def defines_application(text: str) -> bool:
    """Whether the text may define an application module (``use Application``)."""
    # the substring test first: it runs on every keystroke and the regex costs 100x more
    return "Application" in text and _USE_APPLICATION.search(text) is not None


def walk_elixir(
    top: str,
    skip: Callable[[str], bool],
    follow_links: bool,
    unreadable: Callable[[OSError], None] = lambda error: None,
) -> Iterator[tuple[str, str]]:
    """The `.ex`/`.exs` files below the folder ``top`` with their real paths (not dot-files,
    which Mix does not compile either: `.#worker.ex` is Emacs's lock link), in the order of
    ``os.walk`` with names sorted: a folder's files, then its subfolders (not those ``skip``
    names; those that are links only when ``follow_links``; a folder reached again through a
    link is walked once). Real paths are worked out from the real path of ``top`` and resolved
    again only below a link, not looked up for every file and folder."""
    visited: set[str] = set()
    folders = [(top, os.path.realpath(top))]
    while folders:
        folder, real = folders.pop()
        if real in visited:  # a symlink loop, or the same folder by another link
            continue
        visited.add(real)
        try:
            with os.scandir(folder) as listing:
                entries = list(listing)
        except OSError as error:
            unreadable(error)
            continue
        below, found = [], []
        for entry in entries:
            try:
                is_dir = entry.is_dir()
            except OSError:
                is_dir = False
            if is_dir:
                if skip(entry.name):
                    continue
                link = entry.is_symlink()
                if link and not follow_links:
                    continue
                below.append((entry.name, link))
            elif entry.name.endswith((".ex", ".exs")) and not entry.name.startswith("."):
                found.append((entry.name, entry.is_symlink()))
        # os.path.join's result, without its cost per name: the names hold no separator
        prefix = folder if folder.endswith(os.sep) else folder + os.sep
        real_prefix = real if real.endswith(os.sep) else real + os.sep
        for name, link in sorted(found):
            path = prefix + name
            yield path, os.path.realpath(path) if link else real_prefix + name
        for name, link in sorted(below, reverse=True):
            path = prefix + name
            folders.append((path, os.path.realpath(path) if link else real_prefix + name))
