"""Shared test helpers: fixture discovery, applying fixes, and Elixir's own parser."""

from __future__ import annotations

import atexit
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
EXPECT = re.compile(r"#\s*expect:\s*([A-Z0-9 ,]+)")


@dataclass(frozen=True)
class FixtureFile:
    code: str
    root: Path
    path: Path

    @property
    def id(self) -> str:
        return f"{self.code}/{self.path.relative_to(self.root).as_posix()}"

    def expected(self) -> set[tuple[int, str]]:
        """(1-based line, code) for every `# expect: CODE` marker in the file."""
        found = set()
        for number, line in enumerate(self.path.read_text("utf-8").splitlines(), start=1):
            match = EXPECT.search(line)
            if match:
                found |= {(number, c.strip()) for c in match.group(1).split(",") if c.strip()}
        return found


def fixture_files() -> Iterator[FixtureFile]:
    for rule_dir in sorted(p for p in FIXTURES.iterdir() if p.is_dir()):
        for path in sorted(rule_dir.rglob("*")):
            if path.suffix in (".ex", ".exs") and path.is_file():
                yield FixtureFile(rule_dir.name, rule_dir, path)


# One `elixir` per test process answers every parse check: it reads a path a line and replies
# "ok" or "error <message>" on one line. Starting Elixir costs about a second; there are hundreds
# of checks (one per fix), so starting it once per process is most of the fixes' test time.
_PARSER_SCRIPT = """
reply = fn path ->
  try do
    Code.string_to_quoted!(File.read!(path), file: path)
    "ok"
  rescue
    e -> "error " <> String.replace(Exception.message(e), "\\n", " ")
  end
end

loop = fn loop ->
  case IO.gets("") do
    :eof -> :ok
    {:error, _} -> :ok
    line ->
      IO.puts(reply.(String.trim_trailing(line, "\\n")))
      loop.(loop)
  end
end

loop.(loop)
"""


class _ElixirParser:
    def __init__(self) -> None:
        self.process: subprocess.Popen[str] | None = None

    def check(self, path: Path) -> str:
        """``ok`` or ``error <what Elixir said>`` for one file."""
        for attempt in range(2):  # a parser that died is started again once
            process = self._running()
            try:
                assert process.stdin is not None and process.stdout is not None
                process.stdin.write(f"{os.path.abspath(path)}\n")
                process.stdin.flush()
                answer = process.stdout.readline()
            except (BrokenPipeError, OSError):
                answer = ""
            if answer:
                return answer.rstrip("\n")
            self.process = None
            if attempt:
                raise RuntimeError("elixir stopped answering parse checks")
        raise AssertionError("unreachable")

    def _running(self) -> subprocess.Popen[str]:
        if self.process is None or self.process.poll() is not None:
            self.process = subprocess.Popen(
                ["elixir", "-e", _PARSER_SCRIPT],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
                encoding="utf-8",
            )
            atexit.register(self.process.kill)
        return self.process


_parser = _ElixirParser()


def elixir_accepts(paths: list[Path]) -> tuple[bool, str]:
    """Ask Elixir's own parser about each file; (ok, what it said about the ones it rejected)."""
    said = []
    for path in paths:
        answer = _parser.check(path)
        if answer != "ok":
            said.append(f"{path}: {answer.removeprefix('error ')}")
    return not said, "\n".join(said)


def mix_formatted(text: str) -> str:
    """``text`` as Elixir's formatter writes it (default options)."""
    done = subprocess.run(
        ["elixir", "-e", "IO.write(Code.format_string!(IO.read(:eof)) ++ [?\\n])"],
        input=text,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture
def elixir() -> None:
    if shutil.which("elixir") is None:
        pytest.skip("elixir is not on PATH: Elixir's own parser cannot check fixed files here")
