"""Server start-up: process spawn → `initialize` answered, and → first diagnostics of a file.

    .venv/bin/python bench/startup.py [--runs 10]

Each run starts a fresh `otp-thinking lsp`, sends `initialize` at once and times the answer;
then opens one small file and times its first diagnostics (rules load lazily, so this is where
their cost shows). Compared with the interpreter's own start (`python -c pass`) and with the
floor of any pygls server: importing pygls and lsprotocol. Target: initialize answered within
0.5 s.
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
import time
from pathlib import Path

from _common import PYTHON, LspClient, child_env, median

# The floor under any pygls server: lsprotocol.types defines ~1000 attrs classes at import.
LIBRARIES = "import lsprotocol.types, pygls.lsp.server"

SMALL = """defmodule Small.Worker do
  use GenServer

  def start_link(arg), do: GenServer.start_link(__MODULE__, arg, name: __MODULE__)
  def init(arg), do: {:ok, arg}
  def handle_call(:get, _from, state), do: {:reply, state, state}
end
"""


def one_run(root: Path) -> tuple[float, float]:
    client = LspClient()
    answered = client.initialize(root)["_received"]
    path = root / "lib" / "small.ex"
    uri = path.as_uri()
    client.notify(
        "textDocument/didOpen",
        {"textDocument": {"uri": uri, "languageId": "elixir", "version": 1, "text": SMALL}},
    )
    diagnosed = client.diagnostics_for(uri, 1)["_received"]
    client.close()
    return answered - client.started, diagnosed - client.started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()

    python, libraries = [], []
    for _ in range(args.runs):
        started = time.perf_counter()
        subprocess.run([PYTHON, "-c", "pass"], check=True, env=child_env())
        python.append(time.perf_counter() - started)
        started = time.perf_counter()
        subprocess.run([PYTHON, "-c", LIBRARIES], check=True, env=child_env())
        libraries.append(time.perf_counter() - started)

    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "lib").mkdir()
        (root / "mix.exs").write_text("defmodule Small.MixProject do\nend\n", "utf-8")
        (root / "lib" / "small.ex").write_text(SMALL, "utf-8")
        one_run(root)  # warm the bytecode cache
        runs = [one_run(root) for _ in range(args.runs)]
    initialize = [r[0] for r in runs]
    first = [r[1] for r in runs]
    print(f"interpreter start (python -c pass)     median {median(python) * 1000:6.0f} ms")
    print(f"  + import pygls and lsprotocol          median {median(libraries) * 1000:6.0f} ms")
    print(
        f"spawn → initialize answered            median {median(initialize) * 1000:6.0f} ms"
        f"  min {min(initialize) * 1000:6.0f} ms  ({args.runs} runs)"
    )
    print(
        f"spawn → first diagnostics (small file) median {median(first) * 1000:6.0f} ms"
        f"  min {min(first) * 1000:6.0f} ms"
    )


if __name__ == "__main__":
    main()
