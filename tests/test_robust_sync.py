"""Incremental sync soak through the real server: thousands of random edits (inserts, deletes
and replacements anywhere, multi-byte characters, `\\r\\n`, several changes per notification),
and after every batch the server agrees with the client's model of the text.

The server has no request that returns a document's text, so agreement is checked twice over:
the diagnostics equal those of a fresh open of the model's text, and so does "fix all", whose
edit replaces the whole document (its range ends where the server's text ends, and its new text
is the server's text with the fixes applied).
"""

from __future__ import annotations

import bisect
import random
import re
import shutil
from pathlib import Path

import pytest
from raw_lsp import RawClient

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
FIX_ALL = "source.fixAll.otp-thinking"
PLANTED = """defmodule Storefront.Planted do
  def handle_info(_message, state), do: (Task.async(fn -> state end); {:noreply, state})
end
"""
TAIL = """defmodule Storefront.Soak do
  use GenServer

  def init(state), do: {:ok, state}

  def handle_call({:get, key}, _from, state) do
    task = Task.async(fn -> Map.get(state, key) end)
    {:reply, Map.get(state, key), state}
  end

  def name(user), do: String.to_atom("user_" <> user)
end
"""
PIECES = [
    "a", "x", " ", "  ", "é", "👋", "世界", "e\u0301", "\n", "\r\n", "\r", "\t", "do", "end",
    "Task.async(", ")", "(", '"', "#", "fn -> ", ",", "|>", ":pg2.join(g, p)", "\u2028", "\x0c",
]  # fmt: skip
BREAK = re.compile(r"\r\n|\r|\n")
BATCHES, EDITS_PER_BATCH = 20, 70


def units(text: str, encoding: str) -> int:
    if encoding == "utf-8":
        return len(text.encode("utf-8"))
    if encoding == "utf-16":
        return len(text.encode("utf-16-le")) // 2
    return len(text)


class Model:
    """The client's copy of the document, with positions computed as the protocol defines
    them (lines end at \\r\\n, \\r or \\n), independently of the server's code."""

    def __init__(self, text: str, encoding: str) -> None:
        self.text, self.encoding = text, encoding

    def position(self, offset: int) -> dict[str, int]:
        starts = [0] + [m.end() for m in BREAK.finditer(self.text)]
        line = bisect.bisect_right(starts, offset) - 1
        return {"line": line, "character": units(self.text[starts[line] : offset], self.encoding)}

    def offset(self, rng: random.Random, low: int) -> int:
        """A random offset at or after ``low``, never between the \\r and \\n of a break."""
        offset = rng.randint(low, len(self.text))
        if 0 < offset < len(self.text) and self.text[offset - 1 : offset + 1] == "\r\n":
            offset -= 1
        return max(offset, low)

    def change(self, start: int, end: int, new_text: str) -> dict:
        change = {
            "range": {"start": self.position(start), "end": self.position(end)},
            "text": new_text,
        }
        self.text = self.text[:start] + new_text + self.text[end:]
        return change


@pytest.fixture
def root(tmp_path: Path) -> Path:
    project = tmp_path / "storefront"
    shutil.copytree(EXAMPLES, project)
    return project


def fix_all(client: RawClient, uri: str) -> tuple | None:
    """(range, new text) of each "fix all" edit to ``uri``, or None when none is offered."""
    everything = {"start": {"line": 0, "character": 0}, "end": {"line": 10**6, "character": 0}}
    actions = client.call(
        "textDocument/codeAction",
        {
            "textDocument": {"uri": uri},
            "range": everything,
            "context": {"diagnostics": [], "only": [FIX_ALL]},
        },
    )["result"]
    for action in actions:
        if "edit" not in action:  # computed on resolve
            action = client.call("codeAction/resolve", action)["result"]
        for change in action.get("edit", {}).get("documentChanges", []):
            if change["textDocument"]["uri"] == uri:
                return tuple((edit["range"], edit["newText"]) for edit in change["edits"])
    return None


def comparable(diagnostics: list[dict]) -> list[tuple]:
    return [(d["range"], d["code"], d["severity"], d["message"]) for d in diagnostics]


@pytest.mark.parametrize("encoding", ["utf-16", "utf-8", "utf-32"])
def test_random_edits_keep_server_and_client_in_step(root: Path, encoding: str) -> None:
    rng = random.Random(f"soak-{encoding}")
    client = RawClient(cwd=root)
    try:
        answer = client.initialize(root, encodings=None if encoding == "utf-16" else [encoding])
        assert answer["result"]["capabilities"].get("positionEncoding", "utf-16") == encoding
        folder = root / "lib" / "storefront"
        uri, fresh_uri = (folder / "soak.ex").as_uri(), (folder / "fresh.ex").as_uri()
        model = Model(PLANTED + TAIL, encoding)
        client.open(uri, model.text)
        client.diagnostics(uri, 1)
        version, checked_fix_all = 1, 0

        for _batch in range(BATCHES):
            for _ in range(EDITS_PER_BATCH):
                changes = []
                for _ in range(1 if rng.random() < 0.8 else rng.randint(2, 4)):
                    start = model.offset(rng, len(PLANTED))
                    end = start if rng.random() < 0.5 else model.offset(rng, start)
                    end = min(end, start + rng.randint(0, 12))
                    if end > start and model.text[end - 1 : end + 1] == "\r\n":
                        end -= 1
                    pieces = rng.choices(PIECES, k=rng.randint(0, 3))
                    changes.append(model.change(start, end, "".join(pieces)))
                version += 1
                client.notify(
                    "textDocument/didChange",
                    {"textDocument": {"uri": uri, "version": version}, "contentChanges": changes},
                )
            edited = client.diagnostics(uri, version)

            client.open(fresh_uri, model.text)
            fresh = client.diagnostics(fresh_uri, 1)
            assert comparable(edited) == comparable(fresh), f"batch {_batch}: {model.text!r}"
            fixed_edited, fixed_fresh = fix_all(client, uri), fix_all(client, fresh_uri)
            assert fixed_edited == fixed_fresh, f"batch {_batch}: {model.text!r}"
            checked_fix_all += fixed_edited is not None
            client.notify("textDocument/didClose", {"textDocument": {"uri": fresh_uri}})
            client.diagnostics(fresh_uri)  # cleared on close

        assert checked_fix_all >= BATCHES // 2, "fix-all rarely offered: the text check was weak"
        assert client.alive()
    finally:
        client.close()
