"""The cache on disk, through the real command: a warm run prints exactly what a cold one does."""

from __future__ import annotations

import marshal
import os
import pickle
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_cli import EXAMPLES, command, run

from otp_thinking import cache, registry
from otp_thinking.config import read_config_file

FOLDER = ".otp-thinking-cache"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "storefront"
    shutil.copytree(EXAMPLES, root, ignore=shutil.ignore_patterns(".otp-thinking-cache"))
    return root


def outputs(project: Path, *args: str) -> list[tuple[int, str]]:
    """Exit code and output of a check in text and in JSON."""
    found = []
    for format in ("text", "json"):
        result = run("check", "--jobs", "1", "--format", format, *args, ".", cwd=project)
        assert result.stderr == ""
        found.append((result.returncode, result.stdout))
    return found


def wait_until_settled(project: Path) -> None:
    """Sleep until every file's stat is old enough for the cache to trust it (see
    `cache.settled`): the files were just copied."""
    newest = max(max(p.stat().st_mtime_ns, p.stat().st_ctime_ns) for p in project.rglob("*"))
    remaining = newest + cache.SETTLED_NS - time.time_ns()
    if remaining > 0:
        time.sleep(remaining / 1e9 + 0.05)


def cache_files(project: Path) -> list[Path]:
    return sorted((project / FOLDER).glob("*.cache"))


def test_a_warm_run_prints_what_a_cold_one_does(project: Path) -> None:
    cold = outputs(project, "--no-cache")
    assert cold[0][0] == 1 and "OTP105" in cold[0][1]
    assert not (project / FOLDER).exists()
    wait_until_settled(project)  # else a later run stores the stamps once they settle
    assert outputs(project) == cold  # writes the cache
    assert (project / FOLDER / ".gitignore").read_text() == "*\n"
    [file] = cache_files(project)
    written = file.stat().st_mtime_ns
    assert outputs(project) == cold  # reads it
    assert file.stat().st_mtime_ns == written  # nothing new: not written again


def test_runs_from_other_folders_share_summaries_not_findings(project: Path) -> None:
    outputs(project)
    [file] = cache_files(project)
    entries = records(file.read_bytes())
    files = sorted(p.relative_to(project).as_posix() for p in project.rglob("*.ex*"))
    assert sorted(entries) == files  # keyed by the path in the project, however it was named
    parent = project.parent
    cold = run("check", "--jobs", "1", "--no-cache", "storefront", cwd=parent)
    assert "storefront/lib/storefront/checkout.ex" in cold.stdout
    for _ in range(2):  # the findings name paths as this run does: never another run's
        warm = run("check", "--jobs", "1", "storefront", cwd=parent)
        assert (warm.returncode, warm.stdout) == (cold.returncode, cold.stdout)
    entries = records(file.read_bytes())
    assert sorted(entries) == files
    assert outputs(project) == outputs(project, "--no-cache")


def test_no_cache_writes_nothing(project: Path) -> None:
    outputs(project, "--no-cache")
    shipped = [p.name for p in EXAMPLES.iterdir() if p.name != ".otp-thinking-cache"]
    assert sorted(p.name for p in project.iterdir()) == sorted(shipped)


@pytest.mark.parametrize(
    ("name", "old", "new"),
    [
        # a file-local rule's finding goes away
        ("lib/storefront/stock.ex", "", "\n# a comment shifts every offset\n"),
        # the application starts the Task.Supervisor now: another file's cross-file finding goes
        (
            "lib/storefront/application.ex",
            "Storefront.PriceCache",
            "Storefront.PriceCache,\n      {Task.Supervisor, name: Storefront.TaskSupervisor}",
        ),
        # a new module calls the server: the cross-file finding in the server's file changes
        (
            "lib/storefront/report.ex",
            None,
            "defmodule Storefront.Report do\n"
            "  def stock(sku), do: Storefront.Inventory.level(sku)\nend\n",
        ),
    ],
)
def test_a_changed_file_gives_what_a_cold_run_gives(
    project: Path, name: str, old: str | None, new: str
) -> None:
    before = outputs(project)
    file = project / name
    text = file.read_text() if old is not None else ""
    file.write_text(text.replace(old, new, 1) if old else new + text)
    warm = outputs(project)
    assert warm != before
    assert warm == outputs(project, "--no-cache")
    assert warm == outputs(project)


def test_a_changed_configuration_gives_what_a_cold_run_gives(project: Path) -> None:
    outputs(project)
    (project / ".otp-thinking.toml").write_text('[rules]\nOTP601 = "off"\n')
    warm = outputs(project)
    assert "OTP601" not in warm[0][1]
    assert warm == outputs(project, "--no-cache")


def test_the_rules_chosen_are_part_of_the_key(project: Path) -> None:
    outputs(project)
    selected = outputs(project, "--select", "OTP601")
    assert selected == outputs(project, "--no-cache", "--select", "OTP601")
    assert "OTP105" not in selected[0][1]
    assert outputs(project) == outputs(project, "--no-cache")


def records(data: bytes) -> dict[str, object]:
    """The entries of a cache file's bytes, without their summaries."""
    return marshal.loads(data.split(b"\n", 1)[1])[2]  # type: ignore[no-any-return]


class Payload:
    """Creates a file when unpickled by a loader that runs what a file names."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return (open, (str(self.path), "w"))


@pytest.mark.parametrize(
    "damage",
    ["truncated", "garbage", "empty", "foreign", "wrong-version", "code"],
)
def test_a_damaged_cache_file_is_ignored_and_rebuilt(project: Path, damage: str) -> None:
    cold = outputs(project, "--no-cache")
    outputs(project)
    [file] = cache_files(project)
    data = file.read_bytes()
    executed = project / "EXECUTED"
    pickle.loads(pickle.dumps(Payload(executed)))  # what the payload does, unguarded
    assert executed.exists()
    executed.unlink()
    magic = b"otp-thinking-cache\n"
    file.write_bytes(
        {
            "truncated": data[: len(data) // 2],
            "garbage": magic + b"\x80\x05not a pickle at all",
            "empty": b"",
            "foreign": magic + pickle.dumps({"some": ["other", "data"]}),
            "wrong-version": magic + marshal.dumps((999, "0", {}, b"")),
            "code": magic + pickle.dumps((cache.FORMAT, "0", {"x": Payload(executed)}, b"")),
        }[damage]
    )
    assert outputs(project) == cold
    assert not executed.exists()
    assert outputs(project) == cold
    assert cache.open_cache(project, file.stem).entries  # rebuilt


def test_a_cache_whose_entries_changed_meaning_is_ignored(project: Path) -> None:
    """An entry that is not this package's data (an old layout, a hand-edited file)."""
    cold = outputs(project, "--no-cache")
    outputs(project)
    [file] = cache_files(project)
    loaded = cache.open_cache(project, file.stem)
    bad = {path: "not an entry" for path in loaded.entries}
    layout = (cache.FORMAT, cache.__version__, bad, b"")
    file.write_bytes(b"otp-thinking-cache\n" + marshal.dumps(layout))
    assert cache.open_cache(project, file.stem).entries == {}
    assert outputs(project) == cold


def test_two_concurrent_runs_print_what_a_cold_run_does(project: Path) -> None:
    cold = outputs(project, "--no-cache")
    for _round in range(2):
        runs = [
            subprocess.Popen(
                [*command(), "check", "--jobs", "1", "--format", "json", "."],
                cwd=project,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(2)
        ]
        for process in runs:
            stdout, stderr = process.communicate(timeout=120)
            assert (process.returncode, stdout, stderr) == (*cold[1], "")
    assert not list((project / FOLDER).glob(".tmp-*"))
    assert outputs(project) == cold


def test_without_a_writable_project_the_user_cache_is_used(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (project / FOLDER).write_text("a file where the folder would be")
    user = tmp_path / "user-cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(user))
    cold = outputs(project, "--no-cache")
    assert outputs(project) == cold
    assert list((user / "otp-thinking").glob("*/*.cache"))
    assert outputs(project) == cold


def test_several_jobs_share_the_cache(project: Path) -> None:
    cold = outputs(project, "--no-cache")
    two = [run("check", "--jobs", "2", "--format", f, ".", cwd=project) for f in ("text", "json")]
    assert [(r.returncode, r.stdout) for r in two] == cold
    assert outputs(project) == cold


def test_messages_about_a_file_are_repeated_from_the_cache(project: Path) -> None:
    """A suppression comment naming no rule is reported on stderr by warm runs too."""
    stock = project / "lib/storefront/stock.ex"
    stock.write_text("# otp-thinking: disable-file NO_SUCH_RULE\n" + stock.read_text())
    args = ("check", "--jobs", "1", "--format", "json", ".")
    cold = run(*args, "--no-cache", cwd=project)
    assert "no_such_rule" in cold.stderr
    for _round in range(2):
        warm = run(*args, cwd=project)
        assert (warm.returncode, warm.stdout, warm.stderr) == (
            cold.returncode,
            cold.stdout,
            cold.stderr,
        )


def test_old_cache_files_of_other_runs_are_deleted(project: Path) -> None:
    outputs(project)  # this run's file
    [own] = cache_files(project)
    folder = project / FOLDER
    for number in range(cache.KEPT_RUNS + 3):  # files of other run keys, oldest first
        stale = folder / f"{number:032x}.cache"
        stale.write_bytes(b"")
        os.utime(stale, (1_000_000 + number, 1_000_000 + number))
    (project / "lib" / "storefront" / "stock.ex").write_text("# changed\n", "utf-8")
    outputs(project)  # writes its file again, and prunes
    kept = cache_files(project)
    assert own in kept and len(kept) == cache.KEPT_RUNS
    newest = {folder / f"{n:032x}.cache" for n in range(4, cache.KEPT_RUNS + 3)}
    assert set(kept) == {own} | newest


def stamps(project: Path) -> dict[str, object]:
    [file] = cache_files(project)
    return {path: record[8] for path, record in records(file.read_bytes()).items()}  # type: ignore[index]


def settle() -> None:
    """Wait until the files' times are old enough for their stat to be stored."""
    time.sleep(cache.SETTLED_NS / 1e9 + 0.2)


def test_a_file_changed_with_its_size_and_time_kept_is_read_again(project: Path) -> None:
    """The stat stored includes the status-change time, which no write or utime keeps."""
    settle()
    outputs(project)
    stock = project / "lib/storefront/stock.ex"
    assert stamps(project)["lib/storefront/stock.ex"] is not None
    before = stock.stat()
    text = stock.read_text()
    changed = text.replace("defmodule", "defmodulx", 1).replace("def ", "de  ", 1)
    assert len(changed) == len(text) and changed != text
    unchanged = outputs(project, "--no-cache")
    stock.write_text(changed)
    os.utime(stock, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert (stock.stat().st_size, stock.stat().st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    warm = outputs(project)
    assert warm == outputs(project, "--no-cache") != unchanged


def test_a_touched_file_is_not_analysed_again_and_its_new_stat_is_kept(project: Path) -> None:
    cold = outputs(project, "--no-cache")
    outputs(project)
    settle()
    assert outputs(project) == cold  # the files' times are old now: their stats are stored
    stock = project / "lib/storefront/stock.ex"
    kept = stamps(project)["lib/storefront/stock.ex"]
    assert kept is not None
    os.utime(stock, ns=(stock.stat().st_atime_ns, stock.stat().st_mtime_ns - 10**9))
    settle()
    assert outputs(project) == cold
    assert stamps(project)["lib/storefront/stock.ex"] not in (None, kept)


def test_a_change_that_leaves_the_summary_alone_keeps_other_files_cross_file_findings(
    project: Path,
) -> None:
    outputs(project)
    [file] = cache_files(project)
    before = records(file.read_bytes())
    name = "lib/storefront/stock.ex"
    stock = project / name
    stock.write_text(stock.read_text() + "\n# a comment at the end changes no offset\n")
    warm = outputs(project)
    assert warm == outputs(project, "--no-cache")
    after = records(file.read_bytes())
    project_keys = {path: record[3] for path, record in after.items()}  # type: ignore[index]
    assert project_keys[name] != before[name][3]  # type: ignore[index]
    others = [path for path, key in project_keys.items() if key is not None and path != name]
    assert others and all(project_keys[p] == before[p][3] for p in others)  # type: ignore[index]


@pytest.mark.parametrize("damage", ["garbage", "code"])
def test_damaged_summaries_are_made_again_when_a_file_changed(project: Path, damage: str) -> None:
    """The summaries are read only when a file changed: each damaged one is made again."""
    outputs(project)
    [file] = cache_files(project)
    entries = records(file.read_bytes())
    executed = project / "EXECUTED"
    blob = b"\x80\x05not a pickle" if damage == "garbage" else pickle.dumps(Payload(executed))
    layout = (cache.FORMAT, cache.__version__, entries, dict.fromkeys(entries, blob))
    file.write_bytes(b"otp-thinking-cache\n" + marshal.dumps(layout))
    server = project / "lib/storefront/inventory.ex"
    server.write_text(server.read_text().replace("def ", "\n  def ", 1))
    assert outputs(project) == outputs(project, "--no-cache")
    assert not executed.exists()


def test_a_file_changed_where_no_cross_file_rule_can_fire_loads_no_other_summary(
    project: Path,
) -> None:
    """The project's summaries are loaded for the rules that read them, and only when the
    changed file's own summary says one of them can fire there."""
    outputs(project)
    [file] = cache_files(project)
    layout = marshal.loads(file.read_bytes().split(b"\n", 1)[1])
    name = "test/test_helper.exs"
    garbage = b"\x80\x05not a pickle"
    blobs = {path: (blob if path == name else garbage) for path, blob in layout[3].items()}
    file.write_bytes(b"otp-thinking-cache\n" + marshal.dumps((*layout[:3], blobs)))
    helper = project / name
    helper.write_text(helper.read_text() + "\n# a comment\n")
    assert outputs(project) == outputs(project, "--no-cache")
    kept = marshal.loads(file.read_bytes().split(b"\n", 1)[1])[3]
    assert all(kept[path] == garbage for path in blobs if path != name)  # never loaded


RULES_IMPORTED = """\
import sys
from otp_thinking.cli import main
main(sys.argv[1:])
print(sorted(m for m in sys.modules if m.startswith("otp_thinking.rules.")), file=sys.stderr)
"""


def json_and_rules_imported(project: Path) -> tuple[str, str]:
    """The JSON output of a cached check, and the rule modules the run imported."""
    done = subprocess.run(
        [sys.executable, "-c", RULES_IMPORTED, "check", "--jobs", "1", "--format", "json", "."],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return done.stdout, done.stderr.strip().splitlines()[-1]


def test_a_file_changed_where_no_rule_has_its_words_imports_no_rule(project: Path) -> None:
    """The cache keeps the rules' codes, names and words: a changed file that has none of any
    rule's words is known to have no finding without importing the rules."""
    outputs(project)
    [file] = cache_files(project)
    layout = marshal.loads(file.read_bytes().split(b"\n", 1)[1])
    assert layout[4] == registry.manifest()
    helper = project / "test/test_helper.exs"  # `ExUnit.start()`: no rule's word
    helper.write_text(helper.read_text() + "\n# a comment\n")
    found, imported = json_and_rules_imported(project)
    assert imported == "[]"
    assert found == outputs(project, "--no-cache")[1][1]
    stock = project / "lib/storefront/stock.ex"
    stock.write_text(stock.read_text() + "\n# a comment\n")
    found, imported = json_and_rules_imported(project)
    assert "otp_thinking.rules.ets_read_concurrency" in imported
    assert found == outputs(project, "--no-cache")[1][1]


def test_a_changed_file_imports_only_the_rules_whose_words_it_has(project: Path) -> None:
    name = "test/supplier_test.exs"
    test = project / name
    # `spawn` and `infinity`: words of file-local rules only (`Task` is OTP101's, which reads
    # the project index)
    text = (
        test.read_text()
        .replace("Task.async(", "spawn(")
        .replace("Task.await(task)", "receive(do: (x -> x), after: (:infinity -> :ok))")
    )
    assert "Task" not in text
    test.write_text(text)
    outputs(project)
    text += "\n# a comment\n"
    test.write_text(text)
    config, _problems = read_config_file(project / ".otp-thinking.toml")
    enabled = {rule.code for rule in registry.enabled_rules(config)}
    expected = sorted(
        module
        for module, rule in registry._discovered()
        if rule.code in enabled and rule.project_files is None and rule.may_fire(text.__contains__)
    )
    found, imported = json_and_rules_imported(project)
    assert expected and imported == str(expected)
    assert found == outputs(project, "--no-cache")[1][1]


@pytest.mark.parametrize("manifest", [("not", "rules"), None, b"\x00"])
def test_a_damaged_manifest_of_the_rules_is_ignored(project: Path, manifest: object) -> None:
    outputs(project)
    [file] = cache_files(project)
    layout = marshal.loads(file.read_bytes().split(b"\n", 1)[1])
    file.write_bytes(b"otp-thinking-cache\n" + marshal.dumps((*layout[:4], manifest)))
    helper = project / "test/test_helper.exs"
    helper.write_text(helper.read_text() + "\n# a comment\n")
    found, imported = json_and_rules_imported(project)
    assert imported != "[]"
    assert found == outputs(project, "--no-cache")[1][1]


def test_one_file_edited_adds_and_removes_a_cross_file_finding(project: Path) -> None:
    """A file with no rule's words gains a call of a Registry no supervision tree starts (a
    cross-file finding in that file), then loses it: each run as a cold one."""
    money = project / "lib/storefront/money.ex"
    plain = "defmodule Storefront.Money do\n  def add(a, b), do: a + b\nend\n"
    money.write_text(plain)
    outputs(project)
    lookup = "  def find(id), do: Registry.lookup(Storefront.Wallets, id)\n"
    seen = []
    for text in (plain + "# a comment\n", plain.replace("end\n", lookup + "end\n"), plain):
        money.write_text(text)
        warm = outputs(project)
        assert warm == outputs(project, "--no-cache")
        seen.append("lib/storefront/money.ex:3:" in warm[0][1] and "OTP105" in warm[0][1])
    assert seen == [False, True, False]
