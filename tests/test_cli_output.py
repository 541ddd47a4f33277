"""What `otp-thinking check` prints and how it exits: severities, --fail-on and --min-severity,
counts and wording, clear errors for bad paths and unknown rule codes, preview rules."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from positions import line_column
from test_cli import EXAMPLES, run

from otp_thinking import cli, engine, registry
from otp_thinking.batch import Progress, check_files
from otp_thinking.config import DEFAULT, from_mapping
from otp_thinking.findings import Finding
from otp_thinking.rule import Rule
from otp_thinking.source import Source
from otp_thinking.suppression import read_suppressions

LINE = re.compile(r"^\S+:\d+:\d+: (error|warning|information|hint): OTP\d{3}( \[\*\])? \S")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "storefront"
    shutil.copytree(EXAMPLES, root)
    return root


def test_every_text_line_names_its_severity(project: Path) -> None:
    done = run("check", ".", cwd=project)
    lines = done.stdout.splitlines()
    assert all(LINE.match(line) for line in lines[:-1]), lines
    presence = "lib/storefront/presence.ex"
    where = line_column(project / presence, ":pg2.join")
    assert f"{presence}:{where}: error: OTP301 [*] " in done.stdout
    assert "lib/storefront/inventory.ex:1:11: information: OTP106 " in done.stdout


def test_fail_on_decides_the_exit_status(project: Path) -> None:
    # stock.ex holds information findings (OTP004, OTP601); price_cache.ex a warning (OTP101)
    assert run("check", "--select", "OTP004", ".", cwd=project).returncode == 0
    assert run("check", "--select", "OTP101", ".", cwd=project).returncode == 1
    informational = run("check", "--select", "OTP004", "--fail-on", "information", ".", cwd=project)
    assert informational.returncode == 1
    assert (
        run("check", "--fail-on", "error", "--select", "OTP101", ".", cwd=project).returncode == 0
    )
    assert (
        run("check", "--fail-on", "error", "--select", "OTP301", ".", cwd=project).returncode == 1
    )
    assert run("check", "--fail-on", "loud", ".", cwd=project).returncode == 2


def test_min_severity_filters_what_is_printed(project: Path) -> None:
    done = run("check", "--min-severity", "warning", ".", cwd=project)
    assert done.returncode == 1
    assert "information:" not in done.stdout and "warning: OTP101" in done.stdout
    assert done.stdout.splitlines()[-1].endswith("; 3 below --min-severity warning not shown.")
    as_json = run("check", "--min-severity", "error", "--format", "json", ".", cwd=project)
    assert {item["code"] for item in json.loads(as_json.stdout)} == {"OTP301"}
    quiet = run("check", "--min-severity", "error", "--select", "OTP004", ".", cwd=project)
    assert quiet.stdout == "No findings (1 below --min-severity error not shown).\n"


def test_help_documents_the_severity_options() -> None:
    done = run("check", "--help")
    assert "--fail-on SEVERITY" in done.stdout and "--min-severity SEVERITY" in done.stdout


def test_a_missing_path_is_an_error_and_nothing_else(project: Path) -> None:
    done = run("check", "/nonexistent", cwd=project)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr == "otp-thinking: /nonexistent: no such file or directory\n"


def test_diff_never_mixes_with_json(project: Path) -> None:
    for format in ("json", "sarif", "github"):
        done = run("check", "--diff", "--format", format, ".", cwd=project)
        assert done.returncode == 2 and done.stdout == ""
        assert "--diff" in done.stderr


def test_codes_and_names_in_any_case(project: Path) -> None:
    for selector in ("otp101", "Task-Async", "otp1"):
        done = run("check", "--format", "json", "--select", selector, ".", cwd=project)
        codes = {item["code"] for item in json.loads(done.stdout)}
        assert "OTP101" in codes and codes <= {"OTP101", "OTP102", "OTP103", "OTP105", "OTP106"}
    ignored = run("check", "--format", "json", "--ignore", "TASK-ASYNC", ".", cwd=project)
    assert "OTP101" not in {item["code"] for item in json.loads(ignored.stdout)}
    (project / ".otp-thinking.toml").write_text('[rules]\notp101 = "off"\n', "utf-8")
    off = run("check", "--format", "json", ".", cwd=project)
    assert off.stderr == ""
    assert "OTP101" not in {item["code"] for item in json.loads(off.stdout)}


def test_fixed_counts_add_up_to_the_findings_that_went_away(project: Path) -> None:
    before = len(json.loads(run("check", "--format", "json", ".", cwd=project).stdout))
    done = run("check", "--fix", "--unsafe-fixes", ".", cwd=project)
    after = len(json.loads(run("check", "--format", "json", ".", cwd=project).stdout))
    fixed = [int(n) for n in re.findall(r"^Fixed (\d+) findings? in ", done.stderr, re.M)]
    assert after < before
    assert sum(fixed) == before - after, done.stderr


def test_the_summary_says_more_fixes_not_more_findings(project: Path) -> None:
    last = run("check", ".", cwd=project).stdout.splitlines()[-1]
    assert last == "Found 10 findings (6 fixable with --fix); 2 more fixable with --unsafe-fixes."


def test_unknown_codes_in_config_and_comments_are_reported(project: Path) -> None:
    (project / ".otp-thinking.toml").write_text(
        '[rules]\npreview = true\nOTP999 = "off"\n\n[names]\nregistry = "my registry"\n', "utf-8"
    )
    cache = project / "lib" / "storefront" / "price_cache.ex"
    text = cache.read_text("utf-8")
    cache.write_text(text.replace("    task = Task.async(", "    # otp-thinking: disable-next-line OTP10\n    task = Task.async("), "utf-8")  # fmt: skip
    done = run("check", ".", cwd=project)
    assert "rules.OTP999: no such rule code or name" in done.stderr
    assert "names.registry = 'my registry' is not an Elixir module name" in done.stderr
    assert "price_cache.ex:15: 'OTP10' in this otp-thinking comment is no rule" in done.stderr
    assert "OTP101" in done.stdout  # a code that names nothing hides nothing


def test_settings_validate_rule_codes_and_names() -> None:
    config, problems = from_mapping(
        {"rules": {"Task-Async": "error", "OTP101": "hint", "nope": "off"}}, where="editor"
    )
    assert config.rules == {"OTP101": "hint"}  # a code wins over its rule's name
    assert problems == ["editor: rules.nope: no such rule code or name (see `otp-thinking rules`)"]
    names, problems = from_mapping(
        {"names": {"task_supervisor": "MyApp.Tasks", "registry": "x; System.halt()",
                   "pg_scope": ":chat"}}
    )  # fmt: skip
    assert names.names == {"task_supervisor": "MyApp.Tasks", "pg_scope": ":chat"}
    assert len(problems) == 1 and "names.registry" in problems[0]


def test_suppression_comments_record_words_that_name_no_rule() -> None:
    text = "# otp-thinking: disable-file otp101, bogus-rule\nx = 1 # otp-thinking: disable-line\n"
    found = read_suppressions(Source(text, "a.ex"))
    assert found.file == {"OTP101", "bogus-rule"}
    assert [word for _start, _end, word in found.unknown] == ["bogus-rule"]


# -- preview rules ---------------------------------------------------------------------------


def _fires(context: object) -> list[Finding]:
    return []


PREVIEW = Rule(
    code="OTP990",
    name="trial-rule",
    severity="warning",
    summary="a rule on trial",
    doc="## What it flags\n\nNothing.\n",
    check=_fires,
    preview=True,
)
STABLE = Rule(
    code="OTP991", name="stable-rule", severity="hint", summary="a rule", doc="", check=_fires
)


@pytest.fixture
def two_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    # read by `enabled_rules` (the engine's and the CLI's) and by the CLI's listing
    monkeypatch.setattr(registry, "all_rules", lambda: (PREVIEW, STABLE))


def _enabled(settings: dict, select: list[str] | None = None) -> set[str]:
    config, problems = from_mapping(settings) if settings else (DEFAULT, [])
    return {rule.code for rule in engine.enabled_rules(config, select)}


@pytest.mark.usefixtures("two_rules")
def test_preview_rules_are_off_unless_asked_for(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _enabled({}) == {"OTP991"}
    assert _enabled({}, ["OTP99"]) == {"OTP991"}  # a prefix does not name it
    assert _enabled({}, ["otp990"]) == {"OTP990"}
    assert _enabled({}, ["trial-rule"]) == {"OTP990"}
    assert _enabled({"rules": {"preview": True}}) == {"OTP990", "OTP991"}
    registry_rules = (PREVIEW, STABLE)
    monkeypatch.setattr("otp_thinking.registry.all_rules", lambda: registry_rules)
    assert _enabled({"rules": {"OTP990": "hint"}}) == {"OTP990", "OTP991"}
    assert _enabled({"rules": {"preview": True, "trial-rule": "off"}}) == {"OTP991"}


@pytest.mark.usefixtures("two_rules")
def test_the_catalog_marks_preview_rules(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["rules"]) == 0
    listed = capsys.readouterr().out
    assert "OTP990  trial-rule" in listed and "(preview) a rule on trial" in listed
    assert "OTP991  stable-rule" in listed and "(preview) a rule\n" not in listed
    assert "preview: off unless `[rules] preview = true`" in listed


def test_preview_is_read_from_the_rules_table() -> None:
    config, problems = from_mapping({"rules": {"preview": True}})
    assert config.preview and problems == []
    _config, problems = from_mapping({"rules": {"preview": "yes"}})
    assert problems == ["configuration: rules.preview must be true or false; false applies"]


# -- progress ---------------------------------------------------------------------------------


def test_progress_counts_each_pass_to_its_own_total(project: Path) -> None:
    seen: list[tuple[int, int, str]] = []
    files = sorted(str(p) for p in (project / "lib").rglob("*.ex"))
    check_files(files, read=lambda p: Path(p).read_text("utf-8"), base_config=DEFAULT, jobs=1,
                progress=Progress(lambda done, total, what: seen.append((done, total, what))))  # fmt: skip
    for what in ("indexed", "checked"):
        steps = [(done, total) for done, total, kind in seen if kind == what]
        assert steps, what
        total = steps[0][1]
        assert steps == [(n, total) for n in range(1, total + 1)], what
