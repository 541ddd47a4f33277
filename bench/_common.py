"""Shared pieces of the benchmarks: the corpus's files, the bare tree-sitter parse every figure
is compared with, timing and memory helpers, and a small LSP client over stdio.

The benchmarks measure; they never assert. Run them from the repository root with the
project's interpreter, e.g. ``.venv/bin/python bench/cli.py /work/corpus/elixir``.
"""

from __future__ import annotations

import json
import os
import queue
import resource
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

SKIPPED_DIRS = frozenset({"deps", "_build", ".git", "node_modules", ".elixir_ls", ".expert"})
PYTHON = sys.executable


def elixir_files(root: str | Path) -> list[Path]:
    """Every `.ex`/`.exs` file below ``root``, skipping the folders `check` skips."""
    found = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS)
        found.extend(Path(folder, f) for f in sorted(files) if f.endswith((".ex", ".exs")))
    return found


def child_env() -> dict[str, str]:
    """The environment for timed child processes: bytecode caching on, as an installed
    package has it (this machine sets PYTHONDONTWRITEBYTECODE, which would make every start
    recompile the package)."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


# -- the bare parse every figure is compared with ----------------------------------------------

BARE_PARSE_SCRIPT = """
import sys, time
from pathlib import Path
import tree_sitter_elixir
from tree_sitter import Language, Parser
parser = Parser(Language(tree_sitter_elixir.language()))
for name in sys.stdin.read().splitlines():
    parser.parse(Path(name).read_bytes())
"""


class Timing:
    """Wall and CPU seconds of one measured step. This machine is shared, so CPU time (user +
    system, children included) is the steadier figure and ratios use it; wall time is shown
    beside it and is what parallel runs are judged by."""

    def __init__(self, wall: float, cpu: float) -> None:
        self.wall, self.cpu = wall, cpu

    def __str__(self) -> str:
        return f"{self.cpu * 1000:8.1f} ms cpu {self.wall * 1000:8.1f} ms wall"


def timed(step: Callable[[], object]) -> Timing:
    """Run ``step`` once; CPU time counts this process and the children it waited for."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu, wall = time.process_time(), time.perf_counter()
    step()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu += (after.ru_utime - children.ru_utime) + (after.ru_stime - children.ru_stime)
    return Timing(wall, cpu)


def fastest(timings: list[Timing]) -> Timing:
    return Timing(min(t.wall for t in timings), min(t.cpu for t in timings))


def interleaved(steps: dict[str, Callable[[], object]], runs: int) -> dict[str, Timing]:
    """Each step ``runs`` times, taking turns, and the fastest of each: a burst of load from
    elsewhere then hits every step alike instead of one."""
    seen: dict[str, list[Timing]] = {name: [] for name in steps}
    for _ in range(max(1, runs)):
        for name, step in steps.items():
            seen[name].append(timed(step))
    return {name: fastest(found) for name, found in seen.items()}


def bare_parse(paths: Iterable[Path]) -> None:
    """Read and parse ``paths`` with tree-sitter in this process."""
    import tree_sitter_elixir
    from tree_sitter import Language, Parser

    parser = Parser(Language(tree_sitter_elixir.language()))
    for path in paths:
        parser.parse(path.read_bytes())


def bare_parse_process(paths: list[Path]) -> None:
    """A fresh interpreter that imports tree-sitter, reads and parses ``paths``: the floor a
    whole `otp-thinking check` run is measured against."""
    names = "\n".join(str(p) for p in paths)
    subprocess.run(
        [PYTHON, "-c", BARE_PARSE_SCRIPT], input=names, text=True, check=True, env=child_env()
    )


def parse_once(data: bytes) -> float:
    import tree_sitter_elixir
    from tree_sitter import Language, Parser

    parser = Parser(Language(tree_sitter_elixir.language()))
    started = time.perf_counter()
    parser.parse(data)
    return time.perf_counter() - started


def best(measure: Callable[[], float], runs: int) -> float:
    """The fastest of ``runs`` measurements: the least disturbed by the rest of the machine."""
    return min(measure() for _ in range(max(1, runs)))


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def ratio(value: float | Timing, floor: float | Timing) -> str:
    if isinstance(value, Timing) and isinstance(floor, Timing):
        value, floor = value.cpu, floor.cpu
    assert isinstance(value, float) and isinstance(floor, float)
    return f"{value / floor:.2f}x" if floor > 0 else "n/a"


def rss_mb(pid: int) -> tuple[float, float]:
    """(current RSS, peak RSS) of a process in MB, from /proc."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.strip()

    def mb(key: str) -> float:
        return int(fields.get(key, "0 kB").split()[0]) / 1024

    return mb("VmRSS"), mb("VmHWM")


# -- a small LSP client ---------------------------------------------------------------------------


class LspClient:
    """Talks JSON-RPC to ``otp-thinking lsp`` over pipes; a reader thread queues what the
    server sends and answers the server's own requests (configuration, registrations)."""

    def __init__(self, command: list[str] | None = None, stderr: Any = subprocess.DEVNULL) -> None:
        self.started = time.perf_counter()
        self.process = subprocess.Popen(
            command or [PYTHON, "-m", "otp_thinking", "lsp"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
            env=child_env(),
        )
        self.messages: queue.Queue[dict[str, Any]] = queue.Queue()
        self.published: dict[str, int] = {}  # publishDiagnostics seen per URI
        self._next_id = 0
        self._write_lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    @property
    def pid(self) -> int:
        return self.process.pid

    def _read(self) -> None:
        stream = self.process.stdout
        assert stream is not None
        while True:
            length = None
            while True:
                line = stream.readline()
                if not line:
                    return
                if line.strip() == b"":
                    break
                name, _, value = line.decode("ascii").partition(":")
                if name.lower() == "content-length":
                    length = int(value)
            if length is None:
                continue
            message = json.loads(stream.read(length))
            message["_received"] = time.perf_counter()
            if "method" in message and "id" in message:
                self._answer_server_request(message)
            if message.get("method") == "textDocument/publishDiagnostics":
                uri = message["params"]["uri"]
                self.published[uri] = self.published.get(uri, 0) + 1
            self.messages.put(message)

    def _answer_server_request(self, message: dict[str, Any]) -> None:
        result: Any = None
        if message["method"] == "workspace/configuration":
            result = [{} for _ in message.get("params", {}).get("items", [])]
        self.send({"jsonrpc": "2.0", "id": message["id"], "result": result})

    def send(self, message: dict[str, Any]) -> float:
        body = json.dumps(message).encode("utf-8")
        with self._write_lock:
            sent = time.perf_counter()
            assert self.process.stdin is not None
            self.process.stdin.write(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
            self.process.stdin.flush()
        return sent

    def notify(self, method: str, params: Any) -> float:
        return self.send({"jsonrpc": "2.0", "method": method, "params": params})

    def request(self, method: str, params: Any) -> int:
        self._next_id += 1
        self.send({"jsonrpc": "2.0", "id": self._next_id, "method": method, "params": params})
        return self._next_id

    def wait(self, accept: Callable[[dict[str, Any]], bool], timeout: float = 120) -> dict:
        deadline = time.perf_counter() + timeout
        while True:
            left = deadline - time.perf_counter()
            if left <= 0:
                raise TimeoutError("no matching message from the server")
            message = self.messages.get(timeout=left)
            if accept(message):
                return message

    def call(self, method: str, params: Any, timeout: float = 120) -> dict:
        msg_id = self.request(method, params)
        return self.wait(lambda m: m.get("id") == msg_id and "method" not in m, timeout)

    def initialize(self, root: Path | None = None, pull: bool = False) -> dict:
        text_document: dict[str, Any] = {
            "synchronization": {"didSave": True},
            "publishDiagnostics": {"versionSupport": True},
        }
        if pull:
            text_document["diagnostic"] = {"dynamicRegistration": False}
        params = {
            "processId": os.getpid(),
            "rootUri": root.resolve().as_uri() if root else None,
            "workspaceFolders": [{"uri": root.resolve().as_uri(), "name": root.name}]
            if root
            else None,
            "capabilities": {
                "general": {"positionEncodings": ["utf-16"]},
                "textDocument": text_document,
                "workspace": {"configuration": True, "workspaceFolders": True},
                "window": {"workDoneProgress": True},
            },
        }
        answer = self.call("initialize", params)
        self.notify("initialized", {})
        return answer

    def wait_indexed(self, timeout: float = 600) -> float:
        """Wait until the server's background indexing (reported with `$/progress`) is over;
        the seconds it took from now. Returns if none starts within five seconds."""
        started = time.perf_counter()
        ended = 0.0
        running: set[Any] = set()
        deadline = started + 5.0
        while True:
            try:
                message = self.messages.get(timeout=max(0.01, deadline - time.perf_counter()))
            except queue.Empty:
                if not running:
                    return (ended if ended else time.perf_counter()) - started
                raise TimeoutError("indexing did not finish") from None
            if message.get("method") != "$/progress":
                continue
            kind = message["params"]["value"].get("kind")
            token = message["params"]["token"]
            if kind == "begin":
                running.add(token)
                deadline = started + timeout
            elif kind == "end":
                running.discard(token)
                if not running:  # another root may begin next: give it a second
                    ended = time.perf_counter()
                    deadline = ended + 1.0

    def diagnostics_for(self, uri: str, version: int, timeout: float = 120) -> dict:
        return self.wait(
            lambda m: (
                m.get("method") == "textDocument/publishDiagnostics"
                and m["params"]["uri"] == uri
                and m["params"].get("version") == version
            ),
            timeout,
        )

    def close(self) -> None:
        try:
            self.call("shutdown", None, timeout=30)
            self.notify("exit", None)
            self.process.wait(timeout=10)
        except Exception:
            self.process.kill()
            self.process.wait()
