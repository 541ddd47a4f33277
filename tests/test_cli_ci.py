"""The command line as CI runs it: SARIF, GitHub annotations, baselines, --jobs, --statistics."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from pathlib import Path

import pytest
from test_cli import EXAMPLE_FINDINGS, EXAMPLES, run

from otp_thinking.registry import all_rules
from otp_thinking.sarif import SCHEMA as SCHEMA_URI

DATA = Path(__file__).parent / "data"
SARIF_SCHEMA = DATA / "sarif-schema-2.1.0.json"
EXPECTED = sorted(EXAMPLE_FINDINGS)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "storefront"
    shutil.copytree(EXAMPLES, root)
    return root


def _sarif(project: Path, *args: str) -> dict:
    done = run("check", "--format", "sarif", *args, cwd=project)
    assert done.returncode == 1, done.stderr
    return json.loads(done.stdout)


# -- SARIF ---------------------------------------------------------------------------------


def test_sarif_is_valid_against_the_official_schema(project: Path) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    log = _sarif(project, ".")
    official = (
        "c3b4bb2d6093897483348925aaa73af03b3e3f4bd4ca38cef26dcb4212a2682e"  # tests/data/README.md
    )
    assert hashlib.sha256(SARIF_SCHEMA.read_bytes()).hexdigest() == official
    schema = json.loads(SARIF_SCHEMA.read_text("utf-8"))
    jsonschema.Draft4Validator.check_schema(schema)
    errors = sorted(jsonschema.Draft4Validator(schema).iter_errors(log), key=str)
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:5])


def test_sarif_rules_and_results(project: Path) -> None:
    run_ = _sarif(project, ".")["runs"][0]
    rules = run_["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == [r.code for r in all_rules()]
    for descriptor, rule in zip(rules, all_rules(), strict=True):
        assert descriptor["shortDescription"]["text"] == rule.summary
        assert descriptor["fullDescription"]["text"] in rule.doc
        assert descriptor["help"]["markdown"] == rule.doc.strip()
        assert "helpUri" not in descriptor  # the doc is published at no address: it is here
    assert "informationUri" not in run_["tool"]["driver"]
    addresses = re.findall(r"https?://[^\s\"]+", json.dumps(_sarif(project, ".")))
    assert addresses == [SCHEMA_URI]  # no address that nobody checked
    assert run_["columnKind"] == "unicodeCodePoints"
    results = run_["results"]
    found = [
        (
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            r["locations"][0]["physicalLocation"]["region"]["startLine"],
            r["ruleId"],
        )
        for r in results
    ]
    assert found == EXPECTED
    for result in results:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        assert len(result["partialFingerprints"]["otpThinking/v1"]) == 32
    hot = next(r for r in results if r["ruleId"] == "OTP106")
    assert hot["level"] == "note"
    callers = {
        loc["physicalLocation"]["artifactLocation"]["uri"] for loc in hot["relatedLocations"]
    }
    assert callers == {
        "lib/storefront/checkout.ex",
        "lib/storefront/price_cache.ex",
        "lib/storefront/supplier.ex",
    }


def test_sarif_fixes_are_artifact_changes(project: Path) -> None:
    results = _sarif(project, ".")["runs"][0]["results"]
    task_async = next(r for r in results if r["ruleId"] == "OTP101")
    [fix] = task_async["fixes"]
    changes = {c["artifactLocation"]["uri"]: c["replacements"] for c in fix["artifactChanges"]}
    assert set(changes) == {"lib/storefront/price_cache.ex", "lib/storefront/application.ex"}
    [call] = changes["lib/storefront/price_cache.ex"]
    source = (project / "lib/storefront/price_cache.ex").read_text("utf-8")
    line = next(n for n, text in enumerate(source.splitlines(), 1) if "Task.async(" in text)
    region = call["deletedRegion"]
    assert region["startLine"] == region["endLine"] == line  # not the comment above it
    fixed = _replaced(source, region, call["insertedContent"]["text"])
    assert "Task.async(" not in fixed
    assert "Task.Supervisor.async_nolink(Storefront.TaskSupervisor, fn ->" in fixed
    [child] = changes["lib/storefront/application.ex"]
    region = child["deletedRegion"]
    assert (region["startLine"], region["startColumn"]) == (region["endLine"], region["endColumn"])
    assert child["insertedContent"]["text"].lstrip().startswith("{Task.Supervisor, name:")


def _replaced(text: str, region: dict[str, int], new: str) -> str:
    """``text`` with a SARIF region (1-based lines and columns, end exclusive) replaced."""
    starts = [0, *(i + 1 for i, char in enumerate(text) if char == "\n")]
    start = starts[region["startLine"] - 1] + region["startColumn"] - 1
    end = starts[region["endLine"] - 1] + region["endColumn"] - 1
    return text[:start] + new + text[end:]


def test_sarif_with_no_findings_is_still_a_log(project: Path) -> None:
    done = run("check", "--format", "sarif", "lib/storefront/application.ex", cwd=project)
    assert done.returncode == 0
    assert json.loads(done.stdout)["runs"][0]["results"] == []


# -- GitHub annotations ------------------------------------------------------------------


def test_github_annotations(project: Path) -> None:
    done = run("check", "--format", "github", ".", cwd=project)
    assert done.returncode == 1, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == len(EXAMPLE_FINDINGS)
    assert (
        "::warning file=lib/storefront/price_cache.ex,line=15,col=12,endLine=15,endColumn=64,"
        "title=OTP101::Task.async links the task"
    ) in done.stdout
    assert "::notice file=lib/storefront/inventory.ex,line=1,col=11," in done.stdout


def test_github_escapes_message_data(project: Path) -> None:
    from otp_thinking.output import _escape_data, _escape_property

    assert _escape_data("50%\nnext") == "50%25%0Anext"
    assert _escape_property("a:b,c") == "a%3Ab%2Cc"


# -- baselines ---------------------------------------------------------------------------


def test_baseline_reports_only_new_findings(project: Path) -> None:
    baseline = project / ".otp-thinking-baseline.json"
    written = run("check", "--write-baseline", str(baseline), ".", cwd=project)
    assert written.returncode == 0, written.stderr
    assert f"Recorded {len(EXPECTED)} findings" in written.stderr
    recorded = json.loads(baseline.read_text("utf-8"))
    assert [(f["path"], f["code"]) for f in recorded["findings"]] == [
        (path, code) for path, _line, code in EXPECTED
    ]
    assert all("line" not in f for f in recorded["findings"])

    clean = run("check", "--baseline", str(baseline), ".", cwd=project)
    assert clean.returncode == 0, clean.stdout
    assert clean.stdout.strip() == "No findings."

    # Edits elsewhere in the file move the finding down: still known.
    cache = project / "lib" / "storefront" / "price_cache.ex"
    text = cache.read_text("utf-8")
    text = text.replace(
        "  use GenServer\n", "  use GenServer\n\n  @doc false\n  def noop, do: :ok\n"
    )
    # A second Task.async is new.
    text = text.replace(
        "  def price_if_stocked",
        "  def warm(sku), do: (Task.async(fn -> sku end); :ok)\n\n  def price_if_stocked",
    )
    cache.write_text(text, "utf-8")
    moved = run("check", "--baseline", str(baseline), "--format", "json", ".", cwd=project)
    assert moved.returncode == 1
    [new] = json.loads(moved.stdout)
    assert (new["path"], new["code"]) == ("lib/storefront/price_cache.ex", "OTP101")
    assert "def warm" in text.splitlines()[new["line"] - 1]


def test_baseline_from_another_folder_matches(project: Path, tmp_path: Path) -> None:
    baseline = project / "baseline.json"
    assert run("check", "--write-baseline", "baseline.json", ".", cwd=project).returncode == 0
    elsewhere = run("check", "--baseline", str(baseline), str(project), cwd=tmp_path)
    assert elsewhere.returncode == 0, elsewhere.stdout


def test_bad_baseline_is_a_usage_error(project: Path) -> None:
    (project / "bad.json").write_text('{"findings": 3}', "utf-8")
    done = run("check", "--baseline", "bad.json", ".", cwd=project)
    assert done.returncode == 2 and "not an otp-thinking baseline" in done.stderr
    missing = run("check", "--baseline", "nowhere.json", ".", cwd=project)
    assert missing.returncode == 2 and "cannot be read" in missing.stderr
    both = run("check", "--baseline", "a", "--write-baseline", "b", cwd=project)
    assert both.returncode == 2


# -- jobs, statistics, progress --------------------------------------------------------


def _grow(project: Path, copies: int) -> None:
    """More modules calling the cache and using unstarted names, to spread over processes."""
    for number in range(copies):
        (project / "lib" / "storefront" / f"shelf_{number}.ex").write_text(
            f"""defmodule Storefront.Shelf{number} do
  def level(sku), do: Storefront.Inventory.level(sku)
  def name(id), do: {{:via, Registry, {{Storefront.ShelfRegistry{number % 3}, id}}}}
end
""",
            "utf-8",
        )


def test_jobs_give_identical_output(project: Path) -> None:
    """Every format renders the same list of findings, so JSON (all of them, in order) for 1, 2
    and 3 processes, and SARIF (related locations, fingerprints) for 1 and 3, cover them."""
    _grow(project, 24)
    outputs = {}
    for format_, jobs in [
        ("json", "1"),
        ("json", "2"),
        ("json", "3"),
        ("sarif", "1"),
        ("sarif", "3"),
    ]:
        done = run("check", "--jobs", jobs, "--format", format_, ".", cwd=project)
        assert done.returncode == 1, done.stderr
        outputs[format_, jobs] = done.stdout
    assert outputs["json", "1"] == outputs["json", "2"] == outputs["json", "3"]
    assert outputs["sarif", "1"] == outputs["sarif", "3"]
    codes = [f["code"] for f in json.loads(outputs["json", "1"])]
    assert codes.count("OTP105") == 26


def test_jobs_zero_means_one_per_cpu_and_bad_values_are_usage_errors(project: Path) -> None:
    assert run("check", "--jobs", "0", ".", cwd=project).returncode == 1
    done = run("check", "--jobs", "many", ".", cwd=project)
    assert done.returncode == 2 and "--jobs" in done.stderr


def test_without_jobs_large_trees_use_every_cpu_and_small_ones_one_process(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from otp_thinking import batch

    monkeypatch.setattr(batch, "default_jobs", lambda: 4)
    per = batch.FILES_PER_PROCESS
    assert [batch.automatic_jobs(n) for n in (0, 12, per * 2 - 1, per * 2, per * 100)] == [
        1,
        1,
        1,
        2,
        4,
    ]


def test_statistics(project: Path) -> None:
    done = run("check", "--statistics", ".", cwd=project)
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    assert "     2  OTP105  supervisor-not-started          [2 fixable]" in lines
    assert "     1  OTP106  genserver-hot-path" in lines
    counts = [int(line.split()[0]) for line in lines[:-1]]
    assert counts == sorted(counts, reverse=True) and sum(counts) == len(EXPECTED)
    assert lines[-1].startswith(f"Found {len(EXPECTED)} findings")
    as_json = json.loads(run("check", "--statistics", "--format", "json", ".", cwd=project).stdout)
    assert {
        "code": "OTP105",
        "name": "supervisor-not-started",
        "count": 2,
        "fixable": 2,
    } in as_json
    assert run("check", "--statistics", "--format", "sarif", cwd=project).returncode == 2


def test_no_progress_bar_when_stderr_is_not_a_terminal(project: Path) -> None:
    _grow(project, 10)
    done = run("check", "--jobs", "2", ".", cwd=project)
    assert done.stderr == ""


def test_progress_bar_on_a_terminal(project: Path) -> None:
    """Under a pseudo-terminal a long run draws a bar on stderr (and clears it)."""
    pty = pytest.importorskip("pty")
    _grow(project, 5)
    script = (
        "import sys, otp_thinking.cli as c; c.PROGRESS_AFTER = 0; "
        "sys.exit(c.main(['check', '--format', 'json', '.']))"
    )
    import subprocess
    import sys

    leader, follower = pty.openpty()
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=project,
        stdout=subprocess.PIPE,
        stderr=follower,
        timeout=120,
    )
    os.close(follower)
    drawn = b""
    try:
        while chunk := os.read(leader, 65536):
            drawn += chunk
            if len(chunk) < 65536:
                break
    except OSError:
        pass
    os.close(leader)
    assert done.returncode == 1
    assert b"files" in drawn and b"[" in drawn
    assert json.loads(done.stdout)  # stdout stays clean JSON


# -- docs/ci.md and the pre-commit hook ----------------------------------------------------

REPO = Path(__file__).resolve().parent.parent


def test_ci_docs_use_options_the_command_line_takes() -> None:
    import shlex

    from otp_thinking.cli import _parser

    docs = (REPO / "docs" / "ci.md").read_text("utf-8")
    commands = [
        line.split("run:", 1)[-1].split(">")[0].strip()
        for line in docs.splitlines()
        if "otp-thinking check" in line and "`" not in line
    ]
    assert len(commands) >= 3
    for command in commands:
        words = shlex.split(command)
        assert words[:2] == ["otp-thinking", "check"], command
        _parser().parse_args(words[1:])  # exits on an unknown option


def test_pre_commit_hook_definition() -> None:
    yaml = pytest.importorskip("yaml")
    [hook] = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text("utf-8"))
    assert hook["id"] == "otp-thinking"
    assert hook["entry"] == "otp-thinking check"
    assert hook["language"] == "python"
    assert hook["types_or"] == ["elixir"]


def test_pre_commit_runs_the_hook_pinned_by_commit(tmp_path: Path) -> None:
    """The `.pre-commit-config.yaml` of docs/ci.md, with this clone as `repo` and its commit as
    `rev`: pre-commit installs the hook and it fails the commit on a warning."""
    import subprocess
    import sys

    pre_commit = Path(sys.executable).parent / "pre-commit"
    if not pre_commit.exists() or shutil.which("git") is None:
        pytest.skip("pre-commit (in the test extras) or git is missing")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.org"]
    head = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True
    )
    if head.returncode != 0:
        pytest.skip("not a git clone")
    docs = (REPO / "docs" / "ci.md").read_text("utf-8")
    config = re.search(r"```yaml\n(repos:\n.*?)```", docs, re.DOTALL)
    assert config is not None, "docs/ci.md has no .pre-commit-config.yaml"
    text = re.sub(r"(repo: )\S+", rf"\g<1>{REPO}", config.group(1))
    text = re.sub(r"(rev: )\S+", rf"\g<1>{head.stdout.strip()}", text)
    project = tmp_path / "shop"
    shutil.copytree(EXAMPLES, project)
    (project / ".pre-commit-config.yaml").write_text(text, "utf-8")
    subprocess.run([*git, "init", "-q"], cwd=project, check=True)
    subprocess.run([*git, "add", "."], cwd=project, check=True)
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "cache")}
    done = subprocess.run(
        [str(pre_commit), "run", "--files", "lib/storefront/price_cache.ex"],
        cwd=project,
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "price_cache.ex:15:12: warning: OTP101" in done.stdout
