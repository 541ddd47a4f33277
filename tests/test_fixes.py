"""Every fix offered on the fixtures, applied and re-parsed: no new syntax errors, the finding
gone, nothing new, idempotent, and Elixir's own parser accepts the result."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import pytest

from conftest import FixtureFile, elixir_accepts, fixture_files
from otp_thinking import syntax
from otp_thinking.engine import analyze
from otp_thinking.findings import Finding, apply_edits
from otp_thinking.fixing import fix_files
from otp_thinking.project import scan
from otp_thinking.source import Source
from otp_thinking.workspace import Workspace

FILES = list(fixture_files())


def _error_count(text: str) -> int:
    return syntax.error_count(Source(text).tree.root_node)


def _findings(root: Path, path: Path, text: str) -> list[Finding]:
    return analyze(Source(text, str(path)), project=scan(root))


def _copy(fixture: FixtureFile, tmp_path: Path) -> tuple[Path, Path]:
    root = tmp_path / fixture.code
    shutil.copytree(fixture.root, root)
    return root, root / fixture.path.relative_to(fixture.root)


def _apply(fix_findings: list[Finding], path: Path, text: str) -> str:
    for finding in fix_findings:
        assert finding.fix is not None
        for other in {e.path for e in finding.fix.edits if e.path is not None}:
            target = Path(other)
            edits = finding.fix.edits_for(other)
            target.write_text(apply_edits(target.read_text("utf-8"), edits), "utf-8")
    edits = [e for f in fix_findings if f.fix for e in f.fix.edits_for(None)]
    return apply_edits(text, edits)


FIXABLE = [
    (fixture, index)
    for fixture in FILES
    for index, finding in enumerate(
        _findings(fixture.root, fixture.path, fixture.path.read_text("utf-8"))
    )
    if finding.fix is not None and finding.code == fixture.code
]


@pytest.mark.parametrize(("fixture", "index"), FIXABLE, ids=[f"{f.id}#{i}" for f, i in FIXABLE])
def test_each_fix_reparses_and_removes_its_finding(
    fixture: FixtureFile, index: int, tmp_path: Path, elixir: None
) -> None:
    root, path = _copy(fixture, tmp_path)
    text = path.read_text("utf-8")
    before = _findings(root, path, text)
    finding = before[index]
    fixed = _apply([finding], path, text)
    path.write_text(fixed, "utf-8")
    after = _findings(root, path, fixed)

    assert _error_count(fixed) <= _error_count(text)
    counts_before, counts_after = Counter(f.code for f in before), Counter(f.code for f in after)
    assert counts_after[finding.code] < counts_before[finding.code], "the finding is still there"
    assert counts_after - counts_before == Counter(), "the fix made a new finding appear"
    changed = [path] + [Path(e.path) for e in finding.fix.edits if e.path]  # type: ignore[union-attr]
    if _error_count(text) and not elixir_accepts([fixture.path])[0]:
        changed = changed[1:]  # a half-written buffer: Elixir rejected it before the fix too
    ok, said = elixir_accepts(changed)
    assert ok, said


def fix_and_write(path: Path, unsafe: bool = True) -> str:
    """Run the fixer on one file as `check --fix` does and write what it changed."""
    workspace = Workspace()

    def analyse(name: str, text: str) -> list[Finding]:
        project = workspace.project_for(name)
        return analyze(Source(text, name), config=workspace.config_for(name), project=project)

    result = fix_files(workspace, [str(path)], analyse, unsafe=unsafe)
    for change in result.changes.values():
        assert _error_count(change.after) <= _error_count(change.before), change.path
        Path(change.path).write_text(change.after, "utf-8")
    return path.read_text("utf-8")


@pytest.mark.parametrize("fixture", FILES, ids=[f.id for f in FILES])
def test_fixing_everything_is_idempotent(fixture: FixtureFile, tmp_path: Path) -> None:
    root, path = _copy(fixture, tmp_path)
    once = fix_and_write(path)
    snapshot = {p: p.read_text("utf-8") for p in root.rglob("*.ex*")}
    assert fix_and_write(path) == once
    assert {p: p.read_text("utf-8") for p in root.rglob("*.ex*")} == snapshot
