"""A rule's `words` only skip work: the findings are the same with and without them.

The engine skips a rule whose words are all missing from the text. A word list that is too
narrow would silently drop findings, so every fixture, the examples and the whole fixture tree
through the CLI (project index and cross-file rules included) are checked both ways.
"""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import pytest

from conftest import fixture_files
from otp_thinking.cli import main
from otp_thinking.engine import analyze
from otp_thinking.project import scan
from otp_thinking.registry import all_rules
from otp_thinking.rule import Rule
from otp_thinking.source import Source

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"


def _every_fixture_and_example() -> list[tuple[Path, Path]]:
    files = [(f.path, f.root) for f in fixture_files()]
    files += [(p, ROOT / "examples") for p in sorted((ROOT / "examples").rglob("*.ex*"))]
    return files


def _findings(path: Path, root: Path) -> list[tuple[str, int, int, str]]:
    source = Source(path.read_text("utf-8"), str(path))
    found = analyze(source, project=scan(root), rules=all_rules())
    return [(f.code, f.start, f.end, f.message) for f in found]


def _cli_json(target: Path) -> list[dict[str, object]]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        # --no-cache: a cached run would hand back the first run's findings, whatever the
        # patched rules do (and would write a cache into the repository's folders)
        main(["check", str(target), "--format", "json", "--jobs", "1", "--no-cache"])
    return json.loads(out.getvalue())  # type: ignore[no-any-return]


def test_every_rule_names_its_words() -> None:
    for rule in all_rules():
        assert rule.words, f"{rule.code} should say which words it needs"
        assert all(w and w == w.strip() for w in rule.words), rule.code


def test_a_rule_is_skipped_only_when_none_of_its_words_is_in_the_text() -> None:
    rule = next(r for r in all_rules() if r.code == "OTP301")
    assert rule.may_fire("x = :pg2.join(g, self())".__contains__)
    assert not rule.may_fire("x = :pg.join(g, self())".__contains__)


def test_skipping_by_words_changes_no_finding(monkeypatch: pytest.MonkeyPatch) -> None:
    files = _every_fixture_and_example()
    skipping = [_findings(path, root) for path, root in files]
    monkeypatch.setattr(Rule, "may_fire", lambda self, has_word: True)
    for (path, root), expected in zip(files, skipping, strict=True):
        assert _findings(path, root) == expected, path
    assert any(skipping), "the fixtures should produce findings"


def test_skipping_by_words_changes_no_finding_of_the_cli(monkeypatch: pytest.MonkeyPatch) -> None:
    for target in (FIXTURES, ROOT / "examples"):
        skipping = _cli_json(target)
        with monkeypatch.context() as patched:
            patched.setattr(Rule, "may_fire", lambda self, has_word: True)
            assert _cli_json(target) == skipping, target
        assert skipping, target
