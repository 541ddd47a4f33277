"""Shared test helpers: fixture discovery, applying fixes, and Elixir's own parser."""

from __future__ import annotations

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


def elixir_accepts(paths: list[Path]) -> tuple[bool, str]:
    """Ask Elixir's own parser about each file in one run; (ok, what it said)."""
    script = (
        "Enum.each(System.argv(), fn p -> "
        "try do Code.string_to_quoted!(File.read!(p), file: p) "
        'rescue e -> IO.puts(:stderr, p <> ": " <> Exception.message(e)); System.halt(1) end '
        "end)"
    )
    run = subprocess.run(
        ["elixir", "-e", script, *map(str, paths)], capture_output=True, text=True, timeout=120
    )
    return run.returncode == 0, run.stderr


@pytest.fixture
def elixir() -> None:
    if shutil.which("elixir") is None:
        pytest.skip("elixir is not on PATH: Elixir's own parser cannot check fixed files here")
