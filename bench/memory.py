"""Memory of the language server: resident set size with many documents open, and after the
project index is built.

    .venv/bin/python bench/memory.py /work/corpus/elixir [--documents 200]

Steps, each followed by the server's RSS (from /proc, in MB):
1. started and initialized on the corpus (the baseline);
2. the workspace indexed (the server's background indexing, followed through `$/progress`);
3. one file opened and its diagnostics received;
4. ``workspace/diagnostic`` answered, when the server offers it;
5. ``--documents`` files of the corpus open at once, each with its diagnostics received;
6. all of them closed again.
The figure to judge is the growth over the baseline; the peak (VmHWM) is shown beside it.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from _common import LspClient, elixir_files, rss_mb


def report(label: str, client: LspClient, baseline: float | None) -> float:
    time.sleep(0.3)  # let the server settle (pending analyses, garbage)
    rss, peak = rss_mb(client.pid)
    growth = f"  +{rss - baseline:6.1f} MB over the baseline" if baseline is not None else ""
    print(f"  {label:<44} RSS {rss:7.1f} MB  peak {peak:7.1f} MB{growth}")
    return rss


def open_file(client: LspClient, path: Path, pull: bool) -> str:
    uri = path.resolve().as_uri()
    text = path.read_text("utf-8", errors="replace")
    client.notify(
        "textDocument/didOpen",
        {"textDocument": {"uri": uri, "languageId": "elixir", "version": 1, "text": text}},
    )
    if pull:
        client.call("textDocument/diagnostic", {"textDocument": {"uri": uri}})
    else:
        client.diagnostics_for(uri, 1)
    return uri


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--documents", type=int, default=200)
    args = parser.parse_args()

    files = [p for p in elixir_files(args.corpus) if p.suffix == ".ex"]
    step = max(1, len(files) // args.documents)
    chosen = files[::step][: args.documents]
    size = sum(p.stat().st_size for p in chosen)
    print(
        f"corpus {args.corpus}: {len(files)} .ex files; opening {len(chosen)} ({size / 1e6:.1f} MB)"
    )

    client = LspClient()
    answer = client.initialize(args.corpus)
    capabilities = answer["result"]["capabilities"]
    baseline = report("started and initialized", client, None)
    took = client.wait_indexed()
    report(f"workspace indexed in the background ({took:.1f} s)", client, baseline)

    first = open_file(client, chosen[0], pull=False)
    report("one file open", client, baseline)
    client.notify("textDocument/didClose", {"textDocument": {"uri": first}})

    workspace = (capabilities.get("diagnosticProvider") or {}).get("workspaceDiagnostics")
    if workspace:
        started = time.perf_counter()
        client.call("workspace/diagnostic", {"previousResultIds": []}, timeout=600)
        elapsed = time.perf_counter() - started
        report(f"workspace/diagnostic answered ({elapsed:.1f} s)", client, baseline)
    else:
        print("  workspace/diagnostic                         not offered by this server")

    uris = [open_file(client, path, pull=False) for path in chosen]
    report(f"{len(uris)} documents open", client, baseline)
    for uri in uris:
        client.notify("textDocument/didClose", {"textDocument": {"uri": uri}})
    client.call("shutdown", None)  # a request: every close above has been handled
    report("all closed again", client, baseline)
    client.notify("exit", None)
    client.process.wait(timeout=10)


if __name__ == "__main__":
    main()
