"""The language server's stdio transport: JSON-RPC messages framed by `Content-Length`.

Two reasons not to use pygls's own stdio loop:

* Batching. pygls reads stdin a line at a time through a thread pool, so every message costs
  several thread hops and a burst of edits is handled one message per turn of the event loop,
  with the analysis scheduled after each. Here stdin is an asyncio pipe: every message already
  received is handled before the loop turns, so an analysis scheduled with `asyncio.sleep(0)`
  runs once per burst, on the newest text, without any timer.
* Errors. pygls drops silently what it cannot decode; a client waiting for an answer then waits
  forever. Here a body that is not JSON gets a parse error, JSON that is not a message an
  invalid-request error, a request whose params do not fit its method an invalid-params error,
  and a request after `shutdown` an invalid-request error, as the protocol asks.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import sys
import threading
from typing import Any, BinaryIO, Protocol

from pygls.io_ import StdinAsyncReader, StdoutWriter
from pygls.protocol import JsonRPCProtocol
from pygls.server import JsonRPCServer

log = logging.getLogger("otp_thinking.lsp")

PARSE_ERROR, INVALID_REQUEST, INVALID_PARAMS = -32700, -32600, -32602


class Reader(Protocol):
    async def readline(self) -> bytes: ...

    async def readexactly(self, n: int) -> bytes: ...


def run_stdio(
    server: JsonRPCServer, stdin: BinaryIO | None = None, stdout: BinaryIO | None = None
) -> int:
    """Serve until `exit` or end of input; the process's exit code (1 for `exit` without
    `shutdown`, as the protocol asks)."""
    stdin = stdin or sys.stdin.buffer
    server._stop_event = threading.Event()
    server.protocol.set_writer(StdoutWriter(stdout or sys.stdout.buffer))
    try:
        asyncio.run(_serve_stdin(server, stdin))
    except SystemExit as leaving:  # pygls's `exit` handler leaves this way
        return leaving.code if isinstance(leaving.code, int) else 0
    except BrokenPipeError:
        log.error("the client closed the connection")
    finally:
        server.shutdown()
    return 0


async def _serve_stdin(server: JsonRPCServer, stdin: BinaryIO) -> None:
    loop = asyncio.get_running_loop()
    reader: Reader
    try:
        stream = asyncio.StreamReader(limit=1 << 20)
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stream), stdin)
        reader = stream
    except (OSError, ValueError):  # stdin is a regular file: read it the slow way
        reader = _Blocking(StdinAsyncReader(stdin, server.thread_pool))
    stop = server._stop_event
    assert stop is not None
    while not stop.is_set():
        body = await read_message(reader)
        if body is None:
            return
        handle(server.protocol, body)


class _Blocking:
    """pygls's thread-pool reader, shaped like a StreamReader."""

    def __init__(self, inner: StdinAsyncReader) -> None:
        self.inner = inner

    async def readline(self) -> bytes:
        return bytes(await self.inner.readline())

    async def readexactly(self, n: int) -> bytes:
        data = bytes(await self.inner.readexactly(n))
        if len(data) < n:
            raise asyncio.IncompleteReadError(data, n)
        return data


MAX_CONTENT_LENGTH = 128 * 1024 * 1024
"""A bigger message is read past and dropped, never held in memory."""

_CONTENT_LENGTH = re.compile(rb"content-length[ \t]*:[ \t]*(\d+)[ \t]*\r?\n?$", re.IGNORECASE)


async def read_message(reader: Reader) -> bytes | None:
    """The next message body; None at the end of input.

    Header lines other than Content-Length are ignored, and so is anything before a usable
    header: a message sent without Content-Length (its body then runs into the next message's
    header line) is dropped with a warning, and reading resumes at the next Content-Length, so
    one bad message cannot put the reader out of step for good. A message longer than
    MAX_CONTENT_LENGTH is skipped the same way."""
    while True:
        length = await _read_header(reader)
        if length is None:
            return None
        if length <= MAX_CONTENT_LENGTH:
            break
        log.error("a message of %d bytes is over the limit; skipped", length)
        if not await _skip(reader, length):
            return None
    try:
        return await reader.readexactly(length)
    except asyncio.IncompleteReadError:
        return None


async def _read_header(reader: Reader) -> int | None:
    """The Content-Length of the next header block; None at the end of input."""
    length: int | None = None
    skipped = False
    while True:
        try:
            line = await reader.readline()
        except ValueError:  # a line longer than the buffer: not a header
            skipped = True
            continue
        if not line:
            return None
        if line.strip():
            found = _CONTENT_LENGTH.search(line)
            if found is not None:
                if found.start() > 0 and line[: found.start()].strip():
                    skipped = True  # a body without a header ran into this header line
                length = int(found.group(1))
            elif b":" not in line or line.lstrip().startswith((b"{", b"[")):
                skipped = True
            continue
        if length is not None:
            if skipped:
                log.warning("dropped input that was not a message with a Content-Length header")
            return length
        skipped = True


async def _skip(reader: Reader, length: int) -> bool:
    """Read past ``length`` bytes; False when the input ends first."""
    while length > 0:
        chunk = min(length, 1 << 20)
        try:
            await reader.readexactly(chunk)
        except asyncio.IncompleteReadError:
            return False
        length -= chunk
    return True


def handle(protocol: JsonRPCProtocol, body: bytes) -> None:
    try:
        data = json.loads(body)
    except ValueError as error:  # not UTF-8, or not JSON
        send_error(protocol, None, PARSE_ERROR, f"the message is not JSON: {error}")
        return
    if not _is_message(data):
        msg_id = data.get("id") if isinstance(data, dict) else None
        send_error(protocol, _valid_id(msg_id), INVALID_REQUEST, "not a JSON-RPC 2.0 message")
        return
    method = data.get("method")
    is_request = method is not None and "id" in data
    if is_request and getattr(protocol, "_shutdown", False) and method != "exit":
        send_error(protocol, data["id"], INVALID_REQUEST, "the server is shutting down")
        return
    try:
        message = protocol.structure_message(data)
    except Exception as error:  # pygls raises its own errors for params that do not fit
        log.warning("cannot read %s: %s", method or "a response", error.__cause__ or error)
        if is_request:
            send_error(protocol, data["id"], INVALID_PARAMS, f"invalid params for {method}")
        return
    try:
        protocol.handle_message(message)
    except SystemExit:
        raise
    except Exception:  # a bug in a handler must not take the server down
        log.exception("failed to handle %s", method or "a response")
        if is_request:
            send_error(protocol, data["id"], -32603, f"internal error in {method}")


def _is_message(data: Any) -> bool:
    if not isinstance(data, dict) or data.get("jsonrpc") != "2.0":
        return False
    if "method" in data:
        return isinstance(data["method"], str) and _valid_id(data.get("id")) == data.get("id")
    return "id" in data and ("result" in data or "error" in data)


def _valid_id(msg_id: Any) -> int | str | None:
    return msg_id if isinstance(msg_id, (int, str)) and not isinstance(msg_id, bool) else None


def send_error(protocol: JsonRPCProtocol, msg_id: int | str | None, code: int, text: str) -> None:
    # written as a plain dict: pygls's converter would drop "id": null, which parse errors need
    protocol._send_data({"jsonrpc": "2.0", "id": msg_id, "error": {"code": code, "message": text}})
