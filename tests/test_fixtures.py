"""Every file in tests/fixtures/<CODE>/ is analysed and compared with its `# expect:` markers.

Adding a case is adding a file: a line that must fire ends with `# expect: OTP101`; every line
without a marker must stay silent for that rule. The folder is the project root, so a fixture can
hold `lib/<app>/application.ex`, `test/…` or `.exs` files to exercise paths.
"""

from __future__ import annotations

import pytest

from conftest import FixtureFile, fixture_files
from otp_thinking.engine import analyze
from otp_thinking.project import scan
from otp_thinking.registry import find_rule
from otp_thinking.source import Source

FILES = list(fixture_files())


@pytest.mark.parametrize("fixture", FILES, ids=[f.id for f in FILES])
def test_fixture_matches_markers(fixture: FixtureFile) -> None:
    rule = find_rule(fixture.code)
    assert rule is not None, f"no rule {fixture.code} for fixture folder"
    source = Source(fixture.path.read_text("utf-8"), str(fixture.path))
    findings = analyze(source, project=scan(fixture.root), rules=[rule])
    found = {(source.line_of(f.start) + 1, f.code) for f in findings}
    assert found == fixture.expected()


def test_every_rule_has_fixtures_that_fire_and_stay_silent() -> None:
    from otp_thinking.registry import all_rules

    for rule in all_rules():
        files = [f for f in FILES if f.code == rule.code]
        if rule.code in ("OTP105", "OTP106"):
            continue  # cross-file rules are tested on whole projects
        firing = sum(len(f.expected()) for f in files)
        assert firing >= 3, f"{rule.code} needs at least three firing shapes in its fixtures"
        assert files, f"{rule.code} has no fixtures"
