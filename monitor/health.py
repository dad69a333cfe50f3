"""A tiny HTTP endpoint for operators: /healthz (alive), /readyz (database reachable) and
/metrics (Prometheus). Served by the service when ``http:`` is configured."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
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


@contextlib.asynccontextmanager
async def serve_health(host: str, port: int, ready: Ready) -> AsyncIterator[int]:
    """Serve the endpoints while the block runs; yields the bound port. A port that cannot
    be had (in use, not allowed) is a `ConfigError` naming ``http``."""
    try:
        server = await asyncio.start_server(lambda r, w: _handle(r, w, ready), host, port)
    except OSError as error:
        reason = os.strerror(error.errno) if error.errno else str(error)
        raise ConfigError(
            f"http: cannot listen on {host}:{port} for the health and metrics endpoints: "
            f"{reason.lower()} (another program, or another monitor, may be using it): "
            "set http.port to a free port, or remove http"
        ) from None
    bound = server.sockets[0].getsockname()[1]
    log.info("health and metrics on http://%s:%d/{healthz,readyz,metrics}", host, bound)
    try:
        yield int(bound)
    finally:
        server.close()
        await server.wait_closed()
