"""Small real Mix apps (``tests/apps/<name>/``, no dependencies) compiled, booted and checked with
Elixir's own tools before and after ``otp-thinking check --fix``: a safe fix must leave an app
that still compiles, boots, stays ``mix format``-clean and behaves the same.

Every helper runs one ``mix`` command in a copy of the app under ``tmp_path``; ``MIX_HOME`` and
``HEX_HOME`` point into that copy so nothing outside it is read or written.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

APPS = Path(__file__).parent / "apps"
MIX_TIMEOUT = 180

needs_mix = pytest.mark.skipif(
    shutil.which("mix") is None, reason="mix (Elixir) is not on PATH: the apps cannot be booted"
)


def copy_app(name: str, tmp_path: Path) -> Path:
    """A fresh copy of ``tests/apps/<name>`` to build and fix."""
    target = tmp_path / name
    shutil.copytree(APPS / name, target, ignore=shutil.ignore_patterns("_build", "deps"))
    return target


def mix(app: Path, *args: str, timeout: int = MIX_TIMEOUT) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, MIX_HOME=str(app / ".mix"), HEX_HOME=str(app / ".hex"), MIX_ENV="dev")
    env.pop("MIX_EXS", None)
    return subprocess.run(
        ["mix", *args], cwd=app, env=env, capture_output=True, text=True, timeout=timeout
    )


def boot(app: Path, expression: str) -> subprocess.CompletedProcess[str]:
    """Compile, start the app (and, in an umbrella, every app) and evaluate ``expression``:
    `mix run -e`, whose exit status says whether the app booted and the expression ran."""
    return mix(app, "run", "-e", expression)


def which_children(supervisor: str) -> str:
    """An expression printing ``supervisor``'s children's ids, one a line, for ``boot``."""
    return (
        f"for {{id, _, _, _}} <- Supervisor.which_children({supervisor}), "
        'do: IO.puts("child: " <> inspect(id))'
    )


def children_in(output: str) -> list[str]:
    return [
        line.removeprefix("child: ") for line in output.splitlines() if line.startswith("child: ")
    ]


def fix(app: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``otp-thinking check --fix --unsafe-fixes .`` in the app, as a user runs it (each app's
    `.otp-thinking.toml` turns the preview rules on: their fixes must keep it booting too)."""
    return subprocess.run(
        [sys.executable, "-m", "otp_thinking", "check", "--fix", "--unsafe-fixes", ".", *args],
        cwd=app,
        capture_output=True,
        text=True,
        timeout=MIX_TIMEOUT,
    )


def formatted(app: Path) -> subprocess.CompletedProcess[str]:
    return mix(app, "format", "--check-formatted")
