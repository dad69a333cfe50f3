"""A real webhook receiver for tests: an HTTP server on 127.0.0.1 that records every request and
answers from a script.

Usage::

    from tests.support.webhook_receiver import Reply, WebhookReceiver

    with WebhookReceiver(script=[500, Reply(503, retry_after=7), 200]) as receiver:
        ...  # POST to receiver.url (any path under it works too)
        requests = receiver.wait_for(3, timeout=5)      # blocks; for sync code
        requests = await receiver.wait_for_async(3)     # polls; for async tests
        requests[0].headers["webhook-id"], requests[0].body, requests[0].json

API:

- ``WebhookReceiver(script=(), default=Reply(200))``: the replies in ``script`` (an ``int`` is a
  status) answer the first requests in order, then ``default`` answers every later one.
  ``Reply(status=200, body=b"", headers={}, delay=0.0, retry_after=None)``: ``delay`` holds the
  answer back (to trip a client timeout; closing the receiver cuts it short), ``retry_after``
  sets the ``Retry-After`` header (an int is seconds, a str is sent as is).
- ``.url``: ``http://127.0.0.1:<port>/hook``; ``.base_url``: without the path.
- ``.requests``: a snapshot list of ``ReceivedRequest(method, path, headers, body, json,
  reply_status)``; ``headers`` has lower-case names; ``json`` is the parsed body or None.
- ``.enqueue(*replies)``: appends replies to the script while running.
- ``.wait_for(count, timeout=5.0)`` / ``await .wait_for_async(count, timeout=5.0)``: the
  requests once at least ``count`` have arrived; ``AssertionError`` at the deadline.
- Context manager (or ``start()``/``close()``); the server runs in a daemon thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType

__all__ = ["ReceivedRequest", "Reply", "WebhookReceiver"]


@dataclass(frozen=True)
class Reply:
    """One scripted answer."""

    status: int = 200
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    delay: float = 0.0
    retry_after: int | str | None = None


@dataclass(frozen=True)
class ReceivedRequest:
    """One request as the receiver saw it."""

    method: str
    path: str
    headers: Mapping[str, str]
    body: bytes
    json: object | None
    reply_status: int


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    receiver: WebhookReceiver

    def handle_error(self, request: object, client_address: object) -> None:
        # A client that gave up (timeout test) resets the socket; that is expected, not a failure.
        pass


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = bytearray()
            while True:
                size_line = self.rfile.readline()
                size = int(size_line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return bytes(chunks)
                chunks += self.rfile.read(size)
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _handle(self) -> None:
        body = self._read_body()
        headers: dict[str, str] = {}
        for name, value in self.headers.items():
            key = name.lower()
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
        try:
            parsed: object | None = json.loads(body) if body else None
        except ValueError:
            parsed = None
        receiver = self.server.receiver
        reply = receiver._next_reply()
        receiver._record(
            ReceivedRequest(self.command, self.path, headers, body, parsed, reply.status)
        )
        # In flight from its arrival until its answer is written: counted before the answer
        # goes out, so a client's next request (sent once it has this answer) never meets
        # this thread still counting it (a loaded CI saw 2 "at once" from one sequential
        # sender).
        with receiver._answering():
            if reply.delay and receiver._closing.wait(reply.delay):
                return
        self._reply(reply)

    def _reply(self, reply: Reply) -> None:
        try:
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            if reply.retry_after is not None:
                self.send_header("Retry-After", str(reply.retry_after))
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            if reply.body:
                self.wfile.write(reply.body)
        except (BrokenPipeError, ConnectionResetError):
            pass

    do_POST = _handle
    do_PUT = _handle
    do_GET = _handle


class WebhookReceiver:
    """Records requests on 127.0.0.1 and answers from a script (see the module docstring)."""

    def __init__(self, script: Iterable[int | Reply] = (), default: int | Reply = 200) -> None:
        self._script: deque[Reply] = deque(self._as_reply(item) for item in script)
        self._default = self._as_reply(default)
        self._requests: list[ReceivedRequest] = []
        self._condition = threading.Condition()
        self._closing = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._in_flight = 0
        self.most_in_flight = 0
        """The most requests it was answering at one moment (1: one at a time)."""

    @staticmethod
    def _as_reply(item: int | Reply) -> Reply:
        return Reply(status=item) if isinstance(item, int) else item

    def start(self) -> WebhookReceiver:
        server = _Server(("127.0.0.1", 0), _Handler)
        server.receiver = self
        self._server = server
        # A short poll interval makes close() (shutdown) return quickly.
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.02},
            name="webhook-receiver",
            daemon=True,
        )
        self._thread.start()
        return self

    def close(self) -> None:
        self._closing.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> WebhookReceiver:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("WebhookReceiver is not running")
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"{self.base_url}/hook"

    @property
    def requests(self) -> list[ReceivedRequest]:
        with self._condition:
            return list(self._requests)

    def enqueue(self, *replies: int | Reply) -> None:
        with self._condition:
            self._script.extend(self._as_reply(reply) for reply in replies)

    def _next_reply(self) -> Reply:
        with self._condition:
            return self._script.popleft() if self._script else self._default

    @contextlib.contextmanager
    def _answering(self) -> Iterator[None]:
        with self._condition:
            self._in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self._in_flight)
        try:
            yield
        finally:
            with self._condition:
                self._in_flight -= 1

    def _record(self, request: ReceivedRequest) -> None:
        with self._condition:
            self._requests.append(request)
            self._condition.notify_all()

    def wait_for(self, count: int, timeout: float = 5.0) -> list[ReceivedRequest]:
        """Blocks until ``count`` requests arrived; AssertionError after ``timeout`` seconds."""
        with self._condition:
            if not self._condition.wait_for(lambda: len(self._requests) >= count, timeout):
                raise AssertionError(
                    f"expected {count} webhook request(s) within {timeout}s, "
                    f"got {len(self._requests)}"
                )
            return list(self._requests)

    # Same signature as wait_for on purpose, so the two read alike in tests.
    async def wait_for_async(
        self,
        count: int,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> list[ReceivedRequest]:
        """Like ``wait_for`` but yields to the event loop while polling (for async tests)."""
        deadline = time.monotonic() + timeout
        while True:
            current = self.requests
            if len(current) >= count:
                return current
            if time.monotonic() >= deadline:
                raise AssertionError(
                    f"expected {count} webhook request(s) within {timeout}s, got {len(current)}"
                )
            await asyncio.sleep(0.01)
