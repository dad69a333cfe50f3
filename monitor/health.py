"""A tiny HTTP endpoint for operators: /healthz (alive), /readyz (database reachable) and
/metrics (Prometheus). Served by the service when ``http:`` is configured."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import socket
from collections.abc import AsyncIterator, Awaitable, Callable

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from monitor.errors import ConfigError
from monitor.metrics import registry

log = logging.getLogger(__name__)

Ready = Callable[[], Awaitable[bool]]


def _response(status: str, body: bytes, content_type: str = "text/plain; charset=utf-8") -> bytes:
    head = (
        f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode("ascii") + body


async def _handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, ready: Ready) -> None:
    try:
        request_line = await asyncio.wait_for(reader.readline(), timeout=5)
        while (await asyncio.wait_for(reader.readline(), timeout=5)) not in (b"\r\n", b"\n", b""):
            pass
        parts = request_line.decode("latin-1").split()
        path = parts[1].split("?")[0] if len(parts) >= 2 else ""
        if path == "/healthz":
            writer.write(_response("200 OK", b"ok\n"))
        elif path == "/readyz":
            ok = await ready()
            writer.write(
                _response("200 OK", b"ready\n")
                if ok
                else _response("503 Service Unavailable", b"database unavailable\n")
            )
        elif path == "/metrics":
            writer.write(_response("200 OK", generate_latest(registry), CONTENT_TYPE_LATEST))
        else:
            writer.write(_response("404 Not Found", b"not found\n"))
        await writer.drain()
    except (TimeoutError, ConnectionError):
        pass
    except ValueError:  # a line longer than the reader's limit (64 KiB): no request of ours
        with contextlib.suppress(ConnectionError):
            writer.write(_response("431 Request Header Fields Too Large", b"too large\n"))
            await writer.drain()
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


def listen_problem(host: str, error: OSError) -> str:
    """Why a listening socket on ``host`` could not be had, and the setting to change: the
    host when it is no name or address of this machine (probe85: a wrong http.host was
    told to change the port), else the port."""
    if isinstance(error, socket.gaierror):
        return (
            f"the name {host!r} does not resolve ({error.strerror or error}): set http.host "
            "to 127.0.0.1 (this machine only), 0.0.0.0 (every interface) or an address of "
            "this machine"
        )
    reason = (os.strerror(error.errno) if error.errno else str(error)).lower()
    if error.errno == errno.EADDRNOTAVAIL:
        return (
            f"{reason}: {host!r} is no address of this machine; set http.host to 127.0.0.1 "
            "(this machine only), 0.0.0.0 (every interface) or an address of this machine"
        )
    if error.errno == errno.EACCES:
        return f"{reason}: a port below 1024 needs privileges; set http.port to 1024 or above"
    return (
        f"{reason} (another program, or another monitor, may be using it): set http.port to "
        "a free port, or remove http"
    )


def host_problem(host: str) -> str | None:
    """What keeps a server from listening on ``host`` (it does not resolve, or is no address
    of this machine), found by binding a free port of each of its addresses; None when one
    binds. `monitor check` asks, so that `run` refuses nothing `check` passed."""
    try:
        addresses = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except socket.gaierror as error:
        return listen_problem(host, error)
    last: OSError | None = None
    for family, kind, proto, _, address in addresses:
        with socket.socket(family, kind, proto) as probe:
            try:
                probe.bind((address[0], 0))
            except OSError as error:
                last = error
                continue
        return None
    return listen_problem(host, last) if last is not None else None


@contextlib.asynccontextmanager
async def serve_health(host: str, port: int, ready: Ready) -> AsyncIterator[int]:
    """Serve the endpoints while the block runs; yields the bound port. A port that cannot
    be had (in use, not allowed) is a `ConfigError` naming ``http``."""
    try:
        server = await asyncio.start_server(lambda r, w: _handle(r, w, ready), host, port)
    except OSError as error:
        raise ConfigError(
            f"http: cannot listen on {host}:{port} for the health and metrics endpoints: "
            f"{listen_problem(host, error)}"
        ) from None
    bound = server.sockets[0].getsockname()[1]
    log.info("health and metrics on http://%s:%d/{healthz,readyz,metrics}", host, bound)
    try:
        yield int(bound)
    finally:
        server.close()
        await server.wait_closed()
