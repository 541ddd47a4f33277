"""Protocol abuse through the real server: it answers with proper JSON-RPC errors, stays up,
and its memory stays flat."""

from __future__ import annotations

import shutil
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from raw_lsp import RawClient

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
TEXT = """defmodule Storefront.Lookup do
  def handle_call(sku, _from, state) do
    task = Task.async(fn -> sku end)
    {:reply, :ok, state}
  end
end
"""
LATE = "defmodule Late do\n  def handle_info(_, s), do: (Task.async(fn -> s end); {:noreply, s})\nend\n"
PARSE_ERROR, INVALID_REQUEST, METHOD_NOT_FOUND, INVALID_PARAMS = -32700, -32600, -32601, -32602


@pytest.fixture
def root(tmp_path: Path) -> Path:
    project = tmp_path / "storefront"
    shutil.copytree(EXAMPLES, project)
    return project


@pytest.fixture
def server(root: Path):  # type: ignore[no-untyped-def]
    client = RawClient(cwd=root)
    client.initialize(root)
    yield client
    if client.alive():
        client.process.kill()
        client.process.wait()


def document(root: Path, text: str = TEXT) -> tuple[str, Path]:
    path = root / "lib" / "storefront" / "lookup.ex"
    path.write_text(text, "utf-8")
    return path.as_uri(), path


def hover(client: RawClient, uri: str, line: int, character: int) -> dict:
    return client.call(
        "textDocument/hover",
        {"textDocument": {"uri": uri}, "position": {"line": line, "character": character}},
    )


def still_serving(client: RawClient, uri: str) -> None:
    assert client.alive()
    answer = hover(client, uri, 2, 12)
    assert "result" in answer, answer


def test_malformed_json_gets_a_parse_error(server: RawClient, root: Path) -> None:
    uri, _ = document(root)
    server.open(uri, TEXT)
    for body in (b"{not json", b'{"jsonrpc": "2.0", "id": 1, "method":', b"\xff\xfe", b""):
        server.write(body)
        error = server.response(None)["error"]
        assert error["code"] == PARSE_ERROR
    still_serving(server, uri)


def test_json_that_is_not_a_message_gets_invalid_request(server: RawClient, root: Path) -> None:
    uri, _ = document(root)
    server.open(uri, TEXT)
    for body in (b"[1, 2]", b'"hello"', b"42", b"null", b'{"id": 7}', b'{"jsonrpc": "2.0"}'):
        server.write(body)
        answer = server.wait(lambda m: "error" in m)
        assert answer["error"]["code"] == INVALID_REQUEST, (body, answer)
    still_serving(server, uri)


def test_params_of_the_wrong_shape_get_invalid_params(server: RawClient, root: Path) -> None:
    uri, _ = document(root)
    server.open(uri, TEXT)
    for params in (
        {"position": {"line": 0, "character": 0}},
        {"textDocument": {"uri": uri}, "position": {"line": "two", "character": 0}},
        {"textDocument": {"uri": uri}, "position": {"line": -1, "character": -5}},
        [1, 2, 3],
    ):
        answer = server.call("textDocument/hover", params)
        assert answer.get("error", {}).get("code") in (INVALID_PARAMS, INVALID_REQUEST), answer
    server.notify("textDocument/didChange", {"contentChanges": "nope"})
    server.notify("textDocument/didOpen", {"textDocument": 3})
    still_serving(server, uri)


def test_unknown_methods(server: RawClient, root: Path) -> None:
    uri, _ = document(root)
    server.open(uri, TEXT)
    assert server.call("otp/doesNotExist", {})["error"]["code"] == METHOD_NOT_FOUND
    server.notify("otp/doesNotExistEither", {"x": 1})
    server.notify("$/someClientExtension", {})
    still_serving(server, uri)


def test_requests_for_documents_that_are_not_open(server: RawClient, root: Path) -> None:
    uri = (root / "lib" / "nowhere.ex").as_uri()
    whole = {"start": {"line": 0, "character": 0}, "end": {"line": 5, "character": 0}}
    assert hover(server, uri, 0, 0)["result"] is None
    actions = server.call(
        "textDocument/codeAction",
        {"textDocument": {"uri": uri}, "range": whole, "context": {"diagnostics": []}},
    )
    assert actions["result"] == []
    report = server.call("textDocument/diagnostic", {"textDocument": {"uri": uri}})
    assert report["result"]["items"] == []
    resolved = server.call(
        "codeAction/resolve", {"title": "x", "data": {"uri": uri, "code": "OTP101", "text": "x"}}
    )
    assert resolved["result"]["title"] == "x"
    server.notify(
        "textDocument/didChange",
        {"textDocument": {"uri": uri, "version": 2}, "contentChanges": [{"text": "x"}]},
    )
    server.notify("textDocument/didClose", {"textDocument": {"uri": uri}})
    server.notify("textDocument/didSave", {"textDocument": {"uri": uri}})
    assert server.alive() and hover(server, uri, 0, 0)["result"] is None


def test_positions_and_ranges_out_of_bounds(server: RawClient, root: Path) -> None:
    uri, _ = document(root)
    server.open(uri, TEXT)
    assert server.diagnostics(uri, 1)
    for line, character in ((10**6, 0), (0, 10**6), (2, 10**9), (2**31 - 1, 2**31 - 1)):
        assert "result" in hover(server, uri, line, character)
    far = {"start": {"line": 10**6, "character": 5}, "end": {"line": 0, "character": 10**6}}
    answer = server.call(
        "textDocument/codeAction",
        {"textDocument": {"uri": uri}, "range": far, "context": {"diagnostics": []}},
    )
    assert isinstance(answer["result"], list)
    # an insertion past the end lands at the end, as if the client had clamped it
    server.notify(
        "textDocument/didChange",
        {
            "textDocument": {"uri": uri, "version": 2},
            "contentChanges": [
                {"range": {"start": {"line": 99, "character": 99},
                           "end": {"line": 99, "character": 99}},
                 "text": LATE}
            ],
        },
    )  # fmt: skip
    found = server.diagnostics(uri, 2)
    assert sorted(d["range"]["start"]["line"] for d in found) == [2, TEXT.count("\n") + 1]


def test_a_stale_didchange_is_ignored(server: RawClient, root: Path) -> None:
    uri, _ = document(root)
    server.open(uri, TEXT, version=5)
    assert len(server.diagnostics(uri, 5)) == 1
    clean = TEXT.replace("Task.async", "Task.Supervisor.async_nolink(Sup, ")
    for version in (5, 3, -1):
        server.notify(
            "textDocument/didChange",
            {"textDocument": {"uri": uri, "version": version}, "contentChanges": [{"text": clean}]},
        )
    server.notify(  # the newer version still applies afterwards
        "textDocument/didChange",
        {"textDocument": {"uri": uri, "version": 6}, "contentChanges": [{"text": TEXT * 2}]},
    )
    assert len(server.diagnostics(uri, 6)) == 2


def test_code_actions_for_a_diagnostic_of_an_older_version(server: RawClient, root: Path) -> None:
    uri, _ = document(root)
    server.open(uri, TEXT)
    [old] = server.diagnostics(uri, 1)
    server.notify(
        "textDocument/didChange",
        {
            "textDocument": {"uri": uri, "version": 2},
            "contentChanges": [
                {"range": {"start": {"line": 0, "character": 0},
                           "end": {"line": 0, "character": 0}},
                 "text": "# moved down\n# and again\n"}
            ],
        },
    )  # fmt: skip
    [new] = server.diagnostics(uri, 2)
    assert new["range"]["start"]["line"] == old["range"]["start"]["line"] + 2

    stale = server.call(
        "textDocument/codeAction",
        {"textDocument": {"uri": uri}, "range": old["range"], "context": {"diagnostics": [old]}},
    )["result"]
    current = server.call(
        "textDocument/codeAction",
        {"textDocument": {"uri": uri}, "range": new["range"], "context": {"diagnostics": [new]}},
    )["result"]
    fix = next(a for a in current if a["title"].startswith("Use Task.Supervisor"))
    for action in [*stale, fix]:
        if "edit" in action or "data" not in action:
            continue
        old_data = {**action["data"], "version": 1}
        resolved = server.call("codeAction/resolve", {**action, "data": old_data})["result"]
        for change in resolved.get("edit", {}).get("documentChanges", []):
            if change["textDocument"]["uri"] == uri:
                assert change["textDocument"]["version"] == 2  # made against the current text
                assert change["edits"][0]["range"]["start"]["line"] == new["range"]["start"]["line"]
    assert fix["data"]["version"] == 2


def test_shutdown_then_more_requests(root: Path) -> None:
    client = RawClient(cwd=root)
    client.initialize(root)
    uri, _ = document(root)
    client.open(uri, TEXT)
    assert client.call("shutdown")["result"] is None
    answer = hover(client, uri, 2, 12)
    assert answer["error"]["code"] == INVALID_REQUEST
    assert client.call("shutdown")["error"]["code"] == INVALID_REQUEST
    client.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": 9}})
    client.notify("exit")
    assert client.process.wait(timeout=10) == 0


def test_exit_without_shutdown_exits_with_an_error_code(root: Path) -> None:
    client = RawClient(cwd=root)
    client.initialize(root)
    client.notify("exit")
    assert client.process.wait(timeout=10) == 1


def test_a_client_that_stops_reading_for_a_while(server: RawClient, root: Path) -> None:
    """Hovers carry whole rule docs: their answers fill the pipe while the client reads
    nothing. Every answer arrives once it reads again, and memory stays flat."""
    uri, _ = document(root)
    server.open(uri, TEXT)
    server.diagnostics(uri, 1)

    def abuse(rounds: int) -> None:
        server.reading.clear()
        threading.Timer(1.0, server.reading.set).start()
        ids = [
            server.request(
                "textDocument/hover",
                {"textDocument": {"uri": uri}, "position": {"line": 2, "character": 12}},
            )
            for _ in range(rounds)
        ]
        for msg_id in ids:
            assert "contents" in server.response(msg_id, timeout=60)["result"]

    abuse(300)
    settled = server.rss_kb()
    for _ in range(3):
        abuse(300)
    time.sleep(0.2)
    assert server.alive()
    growth_mb = (server.rss_kb() - settled) / 1024
    assert growth_mb < 20, f"memory grew by {growth_mb:.1f} MB over 900 requests"


BOOM_RULE = """
from otp_thinking.rule import Rule


def check(context):
    raise RuntimeError("this rule always fails")


RULE = Rule(
    code="OTP999", name="always-fails", severity="warning", summary="fails",
    doc="## What it flags\\nNothing.\\n", check=check,
)
"""

RUN_WITH_BOOM = textwrap.dedent(
    """
    import sys
    import otp_thinking.rules as rules
    rules.__path__.append(sys.argv[1])
    from otp_thinking.cli import main
    sys.exit(main(["lsp"]))
    """
)


def test_a_rule_that_raises_is_logged_and_the_others_still_report(
    root: Path, tmp_path: Path
) -> None:
    extra = tmp_path / "extra_rules"
    extra.mkdir()
    (extra / "boom.py").write_text(BOOM_RULE, "utf-8")
    client = RawClient([sys.executable, "-c", RUN_WITH_BOOM, str(extra)], cwd=root)
    try:
        client.initialize(root)
        uri, path = document(root)
        client.open(uri, TEXT)
        assert [d["code"] for d in client.diagnostics(uri, 1)] == ["OTP101"]
        still_serving(client, uri)
    finally:
        client.close()
    log = "".join(client.stderr)
    assert "OTP999" in log and str(path) in log, log


def test_a_message_without_content_length_does_not_put_the_reader_out_of_step(
    server: RawClient, root: Path
) -> None:
    uri, _ = document(root)
    server.open(uri, TEXT)
    assert server.process.stdin is not None
    hover_body = b'{"jsonrpc": "2.0", "id": 900, "method": "textDocument/hover", "params": {}}'
    server.process.stdin.write(b"Content-Type: application/json\r\n\r\n" + hover_body)
    server.process.stdin.flush()
    for _ in range(3):  # every later message is read as sent
        still_serving(server, uri)
    assert any("dropped input" in line for line in server.stderr)


def test_read_message_resynchronises_and_caps_the_length(monkeypatch: pytest.MonkeyPatch) -> None:
    import asyncio

    from otp_thinking import transport

    async def read_all(data: bytes) -> list[bytes]:
        stream = asyncio.StreamReader()
        stream.feed_data(data)
        stream.feed_eof()
        bodies = []
        while (body := await transport.read_message(stream)) is not None:
            bodies.append(body)
        return bodies

    framed = [b"Content-Length: %d\r\n\r\n%s" % (len(b), b) for b in (b'{"a":1}', b'{"b":2}')]
    assert asyncio.run(read_all(b"\r\n\r\n{garbage}" + framed[0] + framed[1])) == [
        b'{"a":1}',
        b'{"b":2}',
    ]
    monkeypatch.setattr(transport, "MAX_CONTENT_LENGTH", 1000)
    skipped = b"Content-Length: 3000000\r\n\r\n" + b"x" * 3_000_000
    assert asyncio.run(read_all(skipped + framed[1])) == [b'{"b":2}']


def test_memory_stays_flat_over_an_edit_soak(server: RawClient, root: Path) -> None:
    """Every open, change and close once left ~1.9 KB behind (the future pygls kept for each
    notification). 5,000 edits and 1,000 open/close cycles after a warm-up: growth stays far
    below what that would add (~13 MB). bench/soak.py runs the long version."""
    uri, _ = document(root)
    server.open(uri, TEXT)
    server.diagnostics(uri, 1)
    version = [1]

    def edits(count: int) -> None:
        for _ in range(count):
            version[0] += 1
            change = (
                {"range": _at(1, 0), "text": " "}
                if version[0] % 2
                else {"range": _span(1, 0, 1, 1), "text": ""}
            )
            server.notify(
                "textDocument/didChange",
                {"textDocument": {"uri": uri, "version": version[0]}, "contentChanges": [change]},
            )
        still_serving(server, uri)

    def cycles(count: int) -> None:
        other = uri.replace("lookup.ex", "other.ex")
        for n in range(count):
            server.open(other, TEXT, version=n)
            server.notify("textDocument/didClose", {"textDocument": {"uri": other}})
        still_serving(server, uri)

    edits(1000)
    cycles(300)
    time.sleep(0.5)
    settled = server.rss_kb()
    for _ in range(2):
        edits(2500)
        cycles(500)
    time.sleep(0.5)
    growth_mb = (server.rss_kb() - settled) / 1024
    assert growth_mb < 5, f"memory grew by {growth_mb:.1f} MB over 5,000 edits and 1,000 cycles"


def _at(line: int, character: int) -> dict:
    return _span(line, character, line, character)


def _span(line: int, character: int, end_line: int, end_character: int) -> dict:
    return {
        "start": {"line": line, "character": character},
        "end": {"line": end_line, "character": end_character},
    }


def _apply_lsp_edits(text: str, edits: list[dict]) -> str:
    """Text edits applied with lines split at CRLF, CR or LF (positions in UTF-16 = ASCII here)."""
    import re

    starts = [0] + [m.end() for m in re.finditer(r"\r\n|\r|\n", text)]

    def offset(position: dict) -> int:
        return starts[position["line"]] + position["character"]

    spans = [(offset(e["range"]["start"]), offset(e["range"]["end"]), e["newText"]) for e in edits]
    for start, end, new in sorted(spans, reverse=True):
        text = text[:start] + new + text[end:]
    return text


def test_fixes_keep_crlf_in_the_open_file_and_the_application_file(root: Path) -> None:
    for path in root.rglob("*.ex"):
        path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    application = root / "lib" / "storefront" / "application.ex"
    application.write_bytes(application.read_bytes().replace(b"@moduledoc false", b'@x "a\rb"'))
    client = RawClient(cwd=root)
    client.initialize(root)
    try:
        path = root / "lib" / "storefront" / "price_cache.ex"
        uri, text = path.as_uri(), path.read_bytes().decode("utf-8")
        client.open(uri, text)
        diagnostics = client.diagnostics(uri, 1)
        finding = next(d for d in diagnostics if d["code"] == "OTP101")
        actions = client.call(
            "textDocument/codeAction",
            {"textDocument": {"uri": uri}, "range": finding["range"],
             "context": {"diagnostics": [finding]}},
        )["result"]  # fmt: skip
        action = next(a for a in actions if a["title"].startswith("Use Task.Supervisor"))
        if "edit" not in action:
            action = client.call("codeAction/resolve", action)["result"]
        changes = {c["textDocument"]["uri"]: c["edits"] for c in action["edit"]["documentChanges"]}
        fixed = _apply_lsp_edits(
            application.read_bytes().decode("utf-8"), changes[application.as_uri()]
        )
        assert "{Task.Supervisor, name: Storefront.TaskSupervisor},\r\n" in fixed
        assert fixed.count("\n") == fixed.count("\r\n")
        assert '@x "a\rb"' in fixed
        edited = _apply_lsp_edits(text, changes[uri])
        assert edited.count("\n") == edited.count("\r\n") and "async_nolink" in edited
    finally:
        client.close()
