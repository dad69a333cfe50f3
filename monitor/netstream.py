"""httpcore network streams on asyncio's own streams: the per-request cost of the HTTP client
without anyio's cancel scopes and attribute lookups on every read, write and pool check."""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Iterable
from typing import Any

import httpcore

__all__ = ["IN_TLS_HANDSHAKE", "AsyncioBackend", "AsyncioStream"]

IN_TLS_HANDSHAKE = "cancelled in the TLS handshake"
"""The note a cancellation (a caller's deadline) carries when it came in the TLS handshake:
the classifier then says the server never answered it (a plain-HTTP port, say)."""

_READ_LIMIT = 256 * 1024  # bytes asyncio buffers before it stops reading the socket


class AsyncioStream(httpcore.AsyncNetworkStream):
    """One TCP (or TLS) connection, as httpcore's HTTP/1.1 code drives it."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        max_read_per_request: int | None = None,
    ) -> None:
        self._reader = reader
        self._writer = writer
        # Bytes read since the last request was written: a server that answers one request
        # with endless "103 Early Hints", headers or chunk extensions (none of them body
        # bytes, which the transport caps) kept the event loop parsing for the whole
        # deadline (an outside probe: 27 s of CPU for one feed).
        self._max_read = max_read_per_request
        self._read_since_write = 0

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:  # noqa: ASYNC109
        try:
            async with asyncio.timeout(timeout):
                data = await self._reader.read(max_bytes)
        except TimeoutError as error:
            raise httpcore.ReadTimeout("timed out reading from the server") from error
        except (OSError, asyncio.IncompleteReadError) as error:
            raise httpcore.ReadError(str(error) or type(error).__name__) from error
        self._read_since_write += len(data)
        if self._max_read is not None and self._read_since_write > self._max_read:
            raise httpcore.ReadError(
                f"the server sent over {self._max_read:,} bytes in answer to one request "
                "(endless informational answers, headers or chunk extensions?)"
            )
        return data

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:  # noqa: ASYNC109
        if not buffer:
            return
        self._read_since_write = 0  # a new request
        try:
            async with asyncio.timeout(timeout):
                self._writer.write(buffer)
                await self._writer.drain()
        except TimeoutError as error:
            raise httpcore.WriteTimeout("timed out writing to the server") from error
        except OSError as error:
            raise httpcore.WriteError(str(error) or type(error).__name__) from error

    async def aclose(self) -> None:
        # As anyio does: a polite close, one turn of the loop for it to start, then abort.
        # Waiting for the close to finish (wait_closed) can hang on a TLS peer that never
        # answers it, and leaving the close to a later turn leaks the socket if the loop
        # stops first.
        transport = self._writer.transport
        if not transport.is_closing():
            transport.close()
            await asyncio.sleep(0)
        transport.abort()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> httpcore.AsyncNetworkStream:
        try:
            async with asyncio.timeout(timeout):
                await self._writer.start_tls(ssl_context, server_hostname=server_hostname)
        except TimeoutError as error:
            await self.aclose()
            raise httpcore.ConnectTimeout("timed out in the TLS handshake") from error
        except asyncio.CancelledError as cancelled:
            cancelled.add_note(IN_TLS_HANDSHAKE)
            raise
        except (OSError, ssl.SSLError) as error:
            # A failed handshake leaves the plain connection open: nobody else will close it.
            await self.aclose()
            raise httpcore.ConnectError(str(error) or type(error).__name__) from error
        return self

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":
            # Asked of an idle pooled connection: has the server closed it (or sent bytes
            # nobody asked for)? asyncio reads the socket as data arrives, so the answer is
            # in the stream's state, with no system call.
            return (
                self._reader.at_eof()
                or self._writer.transport.is_closing()
                or bool(getattr(self._reader, "_buffer", b""))
            )
        if info == "ssl_object":
            return self._writer.get_extra_info("ssl_object")
        if info == "client_addr":
            return self._writer.get_extra_info("sockname")
        if info == "server_addr":
            return self._writer.get_extra_info("peername")
        if info == "socket":
            return self._writer.get_extra_info("socket")
        return None


class AsyncioBackend(httpcore.AsyncNetworkBackend):
    """Opens `AsyncioStream` connections to numeric addresses (name resolution and the
    address check happen before, in the guard), each reading at most
    ``max_read_per_request`` bytes in answer to one request."""

    def __init__(self, max_read_per_request: int | None = None) -> None:
        self._max_read = max_read_per_request

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore calls it with this signature
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        options = list(socket_options or ())
        try:
            async with asyncio.timeout(timeout):
                if not options:
                    reader, writer = await asyncio.open_connection(
                        host,
                        port,
                        local_addr=(local_address, 0) if local_address else None,
                        limit=_READ_LIMIT,
                    )
                else:
                    sock = await _connected_socket(host, port, local_address, options)
                    reader, writer = await asyncio.open_connection(sock=sock, limit=_READ_LIMIT)
        except TimeoutError as error:
            raise httpcore.ConnectTimeout(f"connecting to {host}:{port} timed out") from error
        except OSError as error:
            raise httpcore.ConnectError(str(error) or type(error).__name__) from error
        return AsyncioStream(reader, writer, self._max_read)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("Unix sockets are not used for feeds or webhooks")

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


async def _connected_socket(
    host: str, port: int, local_address: str | None, options: list[httpcore.SOCKET_OPTION]
) -> socket.socket:
    """A non-blocking socket with ``options`` set, connected to ``host`` (numeric)."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    family, type_, proto, _name, address = infos[0]
    sock = socket.socket(family, type_, proto)
    try:
        for option in options:
            sock.setsockopt(*option)
        sock.setblocking(False)
        if local_address:
            sock.bind((local_address, 0))
        await loop.sock_connect(sock, address)
    except BaseException:
        sock.close()
        raise
    return sock
