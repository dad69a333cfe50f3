"""A real HTTP/1.1 server on 127.0.0.1 for tests: scripted replies per path, every request
recorded. Feeds, redirects, slow or dripping servers, webhook receivers.

Use it as a context manager::

    from tests.support.feed_server import FeedServer, Reply

    with FeedServer() as server:
        server.route("/feed.xml", Reply(body=b"<rss/>", headers={"ETag": '"v1"'}, conditional=True))
        url = server.url("/feed.xml")          # "http://127.0.0.1:<port>/feed.xml"
        ...                                    # make requests with any client
        seen = server.requests_for("/feed.xml")
        assert seen[0].headers["user-agent"].startswith("news-monitor/")

or from a pytest fixture (in a conftest.py or the test module)::

    @pytest.fixture
    def feed_server() -> Iterator[FeedServer]:
        with FeedServer() as server:
            yield server

It runs in its own threads, so it can be used from sync and async tests alike.

API
---
``FeedServer(host="127.0.0.1")``
    ``start()`` / ``stop()`` or ``with``. The port is a free one chosen by the OS (``port``).
    ``stop()`` aborts pending delays and drips, closes open connections and joins threads.
``base_url``: ``"http://127.0.0.1:<port>"``; ``url(path="/")``: ``base_url + path``.
``route(path, *replies)``
    Script the answers for ``path`` (which may include a query: a route for
    ``"/feed?page=2"`` wins over one for ``"/feed"``). The replies are served in order and
    the last one again for every later request. A reply is a `Reply`, or a callable that
    takes the `RecordedRequest` and returns a `Reply`. Routing a path again replaces its
    script. Paths without a route answer 404.
``requests`` (a snapshot list of `RecordedRequest`, in arrival order),
``requests_for(path)`` (those whose path, without query, equals ``path``; or with query
when ``path`` has one), ``clear_requests()``, and
``wait_for_requests(count, path=None, within=5.0)``: poll until at least ``count``
requests (to ``path``) arrived, else AssertionError after ``within`` seconds;
``await_requests(...)``: the same for async tests, without blocking the event loop.

``RecordedRequest``: ``method``, ``path`` (with query), ``headers`` (lower-cased names; the
last value when repeated), ``header_items`` (every header as sent), ``body`` (bytes; chunked
request bodies are decoded).

``Reply(status=200, body=b"", headers={}, content_length=AUTO, chunked=False, gzip=False,
delay=0.0, drip_interval=None, drip_bytes=1, conditional=False)``
    ``content_length``: ``AUTO`` sends the real length; an int is sent as it is (to lie;
    the whole body is still sent and the connection closed afterwards); ``None`` sends no
    Content-Length and ends the body by closing the connection.
    ``chunked``: use Transfer-Encoding: chunked (no Content-Length).
    ``gzip``: compress the body and send Content-Encoding: gzip (lengths are then those of
    the compressed bytes).
    ``delay``: seconds to wait before the status line.
    ``drip_interval``: send the body ``drip_bytes`` at a time with this pause in between.
    ``conditional``: answer 304 without a body when If-None-Match matches this reply's
    ETag header, or (without If-None-Match) If-Modified-Since is not older than its
    Last-Modified header.
    ``Reply.redirect(location, status=302)`` builds a redirect.
"""

from __future__ import annotations

import asyncio
import email.utils
import gzip as gzip_module
import socket
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import MappingProxyType, TracebackType
from typing import Final
from urllib.parse import urlsplit

__all__ = ["AUTO", "FeedServer", "RecordedRequest", "Reply", "ReplySource"]


class _Auto(Enum):
    AUTO = "auto"


AUTO: Final = _Auto.AUTO


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server received it."""

    method: str
    path: str
    headers: Mapping[str, str]
    header_items: tuple[tuple[str, str], ...]
    body: bytes


@dataclass(frozen=True)
class Reply:
    """One scripted answer (see the module docstring for each field)."""

    status: int = 200
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    content_length: int | None | _Auto = AUTO
    chunked: bool = False
    gzip: bool = False
    delay: float = 0.0
    drip_interval: float | None = None
    drip_bytes: int = 1
    conditional: bool = False

    @classmethod
    def redirect(cls, location: str, status: int = 302) -> Reply:
        return cls(status=status, headers={"Location": location})

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        for key, value in self.headers.items():
            if key.lower() == wanted:
                return value
        return None


ReplySource = Reply | Callable[[RecordedRequest], Reply]


def _etag_matches(if_none_match: str, etag: str | None) -> bool:
    if etag is None:
        return False
    tags = [tag.strip() for tag in if_none_match.split(",")]
    if "*" in tags:
        return True

    def opaque(tag: str) -> str:  # weak comparison, as If-None-Match asks
        return tag[2:] if tag.startswith("W/") else tag

    return opaque(etag) in {opaque(tag) for tag in tags}


def _not_modified(reply: Reply, request: RecordedRequest) -> bool:
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None:
        return _etag_matches(if_none_match, reply.header("ETag"))
    if_modified_since = request.headers.get("if-modified-since")
    last_modified = reply.header("Last-Modified")
    if if_modified_since is None or last_modified is None:
        return False
    try:
        since = email.utils.parsedate_to_datetime(if_modified_since)
        modified = email.utils.parsedate_to_datetime(last_modified)
    except (TypeError, ValueError):
        return False
    return modified <= since


class _Stopped(Exception):
    """The server is stopping: abandon the reply in progress."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: tests read `FeedServer.requests` instead."""

    def setup(self) -> None:
        super().setup()
        self.server.track_connection(self.connection, opened=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.track_connection(self.connection, opened=False)

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            parts: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _wait(self, seconds: float) -> None:
        if seconds > 0 and self.server.stopping.wait(seconds):
            raise _Stopped

    def _handle(self) -> None:
        items = tuple((name, value) for name, value in self.headers.items())
        request = RecordedRequest(
            method=self.command,
            path=self.path,
            headers=MappingProxyType({name.lower(): value for name, value in items}),
            header_items=items,
            body=self._read_body(),
        )
        reply = self.server.owner.next_reply(request)
        try:
            self._wait(reply.delay)
            self._send(reply, request)
        except _Stopped:
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _handle

    def _send(self, reply: Reply, request: RecordedRequest) -> None:
        if reply.conditional and _not_modified(reply, request):
            self.send_response(304)
            for name in ("ETag", "Last-Modified"):
                value = reply.header(name)
                if value is not None:
                    self.send_header(name, value)
            self.end_headers()
            return
        body = gzip_module.compress(reply.body) if reply.gzip else reply.body
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        if reply.gzip:
            self.send_header("Content-Encoding", "gzip")
        if reply.chunked:
            self.send_header("Transfer-Encoding", "chunked")
        elif reply.content_length is AUTO:
            self.send_header("Content-Length", str(len(body)))
        elif reply.content_length is None:
            self.send_header("Connection", "close")
            self.close_connection = True
        else:
            self.send_header("Content-Length", str(reply.content_length))
            if reply.content_length != len(body):
                self.send_header("Connection", "close")
                self.close_connection = True
        self.end_headers()
        if self.command == "HEAD" or reply.status in (204, 304):
            return
        step = max(1, reply.drip_bytes) if reply.drip_interval is not None else max(1, len(body))
        for offset in range(0, len(body), step):
            if offset and reply.drip_interval is not None:
                self._wait(reply.drip_interval)
            piece = body[offset : offset + step]
            if reply.chunked:
                piece = b"%x\r\n%s\r\n" % (len(piece), piece)
            self.wfile.write(piece)
            self.wfile.flush()
        if reply.chunked:
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], owner: FeedServer) -> None:
        self.owner = owner
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._connections: set[socket.socket] = set()
        self.threads: list[threading.Thread] = []
        super().__init__(address, _Handler)

    def track_connection(self, connection: socket.socket, *, opened: bool) -> None:
        with self._lock:
            if opened:
                self._connections.add(connection)
            else:
                self._connections.discard(connection)

    def close_connections(self) -> None:
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def process_request(self, request: socket.socket, client_address: object) -> None:  # type: ignore[override]
        thread = threading.Thread(
            target=self.process_request_thread,
            args=(request, client_address),
            name="feed-server-connection",
            daemon=True,
        )
        with self._lock:
            self.threads = [alive for alive in self.threads if alive.is_alive()]
            self.threads.append(thread)
        thread.start()

    def handle_error(self, request: object, client_address: object) -> None:
        # A client that hangs up mid-reply (a test that stopped reading on purpose) is normal.
        error = sys.exc_info()[1]
        if isinstance(error, OSError) or self.stopping.is_set():
            return
        super().handle_error(request, client_address)  # type: ignore[arg-type]


class FeedServer:
    """A scripted HTTP server on a free loopback port (see the module docstring)."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self._host = host
        # RLock: the Condition below shares it, and `requests` takes it inside wait_for.
        self._lock = threading.RLock()
        self._arrival = threading.Condition(self._lock)
        self._waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = []
        self._routes: dict[str, list[ReplySource]] = {}
        self._served: dict[str, int] = {}
        self._requests: list[RecordedRequest] = []
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> FeedServer:
        if self._server is not None:
            raise RuntimeError("FeedServer is already running")
        self._server = _Server((self._host, 0), self)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="feed-server",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        server.stopping.set()
        server.shutdown()
        thread.join(timeout)
        server.server_close()
        server.close_connections()
        deadline = time.monotonic() + timeout
        for handler_thread in list(server.threads):
            handler_thread.join(max(0.0, deadline - time.monotonic()))
        self._server = None
        self._thread = None

    def __enter__(self) -> FeedServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # -- addresses ----------------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("FeedServer is not running")
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://{self._host}:{self.port}"

    def url(self, path: str = "/") -> str:
        return self.base_url + (path if path.startswith("/") else "/" + path)

    # -- script -------------------------------------------------------------------------------

    def route(self, path: str, *replies: ReplySource) -> None:
        if not replies:
            raise ValueError("route() needs at least one reply")
        with self._lock:
            self._routes[path] = list(replies)
            self._served[path] = 0

    def next_reply(self, request: RecordedRequest) -> Reply:
        """Record ``request`` and pick its reply (called by the server's threads)."""
        bare_path = urlsplit(request.path).path
        with self._lock:
            self._requests.append(request)
            self._notify_arrival()
            key = request.path if request.path in self._routes else bare_path
            script = self._routes.get(key)
            if script is None:
                return Reply(status=404, body=b"no route for this path in the test server\n")
            index = min(self._served[key], len(script) - 1)
            self._served[key] += 1
            source = script[index]
        return source if isinstance(source, Reply) else source(request)

    # -- what arrived -------------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def requests_for(self, path: str) -> list[RecordedRequest]:
        with_query = "?" in path
        return [
            request
            for request in self.requests
            if (request.path if with_query else urlsplit(request.path).path) == path
        ]

    def clear_requests(self) -> None:
        with self._lock:
            self._requests.clear()

    def _matching(self, path: str | None) -> list[RecordedRequest]:
        return self.requests if path is None else self.requests_for(path)

    def _timed_out(self, count: int, path: str | None, within: float) -> AssertionError:
        seen = len(self._matching(path))
        return AssertionError(
            f"expected {count} request(s) to {path or 'any path'} within {within} s, got {seen}"
        )

    def wait_for_requests(
        self, count: int, path: str | None = None, within: float = 5.0
    ) -> list[RecordedRequest]:
        """Block until ``count`` requests (to ``path``) arrived. In async tests whose own
        event loop makes the requests, use `await_requests` instead."""
        with self._arrival:
            if not self._arrival.wait_for(lambda: len(self._matching(path)) >= count, within):
                raise self._timed_out(count, path, within)
        return self._matching(path)

    async def await_requests(
        self, count: int, path: str | None = None, within: float = 5.0
    ) -> list[RecordedRequest]:
        """Like `wait_for_requests`, without blocking the event loop."""
        loop = asyncio.get_running_loop()
        arrived = asyncio.Event()
        waiter = (loop, arrived)
        with self._lock:
            self._waiters.append(waiter)
        try:
            async with asyncio.timeout(within):
                while True:
                    arrived.clear()
                    seen = self._matching(path)
                    if len(seen) >= count:
                        return seen
                    await arrived.wait()
        except TimeoutError:
            raise self._timed_out(count, path, within) from None
        finally:
            with self._lock:
                self._waiters.remove(waiter)

    def _notify_arrival(self) -> None:
        """Wake the waiters after a request was recorded (call with ``self._lock`` held)."""
        self._arrival.notify_all()
        for loop, event in self._waiters:
            try:
                loop.call_soon_threadsafe(event.set)
            except RuntimeError:  # that test's event loop is already closed
                pass
