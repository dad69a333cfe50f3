"""The one way out: the HTTP client factory for every outbound request (feeds and webhooks).

It sets the User-Agent, timeouts and connection limits, and guards every connection against
private and special-purpose addresses (SSRF) at the moment of connecting, after DNS.
"""

from __future__ import annotations

import asyncio
import functools
import http.cookiejar
import ipaddress
import re
import socket
import ssl
import zlib
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from types import TracebackType
from typing import Final

import httpcore
import httpx

from monitor.netstream import IN_TLS_HANDSHAKE, AsyncioBackend
from monitor.redact import redact_url

__all__ = [
    "AddressCheck",
    "DEFAULT_USER_AGENT",
    "BlockedAddressError",
    "BodyCutError",
    "DeadlineExceededError",
    "EgressFailure",
    "GuardedNetworkBackend",
    "GuardedTransport",
    "HttpOptions",
    "IPAddress",
    "NameResolutionError",
    "ResponseTooLargeError",
    "address_policy",
    "blocked_address_reason",
    "classify_error",
    "connection_target",
    "describe_http_error",
    "guarded_addresses",
    "make_client",
    "reason_phrase",
    "read_limited",
    "resolve_host",
    "status_reason",
]

DEFAULT_USER_AGENT: Final = "news-monitor/0.1 (+https://github.com/news-monitor/news-monitor)"

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class HttpOptions:
    """Limits and identity for outbound HTTP. Times are seconds; sizes are bytes."""

    user_agent: str = DEFAULT_USER_AGENT
    connect_timeout: float = 10.0
    read_timeout: float = 20.0
    # Per request, enforced by us: a server dripping one byte at a time never trips httpx's
    # per-read timeout, so only a deadline over the whole exchange bounds it.
    total_timeout: float = 60.0
    # On the decoded body, enforced while streaming: Content-Length may lie or be absent.
    max_body_bytes: int = 10 * 1024 * 1024
    max_redirects: int = 5
    allow_private_networks: bool = False
    # Connections to one origin (scheme, host, port) at once, busy or kept alive.
    connections_per_origin: int = 20

    def __post_init__(self) -> None:
        for name in ("connect_timeout", "read_timeout", "total_timeout"):
            if not getattr(self, name) > 0:
                raise ValueError(f"HttpOptions.{name} must be more than 0 seconds")
        if self.max_body_bytes < 1 or self.connections_per_origin < 1:
            raise ValueError(
                "HttpOptions.max_body_bytes and connections_per_origin must be at least 1"
            )
        if self.max_redirects < 0:
            raise ValueError("HttpOptions.max_redirects must be 0 or more")


# --- errors raised by the guarded client --------------------------------------------------
# They subclass httpx's own errors, so code that handles httpx.HTTPError handles them too;
# `describe_http_error` turns any of them into a stable reason code.


class BlockedAddressError(httpx.ConnectError):
    """The host resolved to an address that outbound requests may not reach."""

    def __init__(self, host: str, address: IPAddress, category: str) -> None:
        self.host = host
        self.address = address
        self.category = category
        target = host if host == str(address) else f"{host}: it resolves to {address}"
        article = "an" if category[:1] in "aeiou" else "a"
        super().__init__(
            f"refused to connect to {target}, {article} {category}"
            if ALWAYS_REFUSED in category  # allow_private_networks does not change it
            else f"refused to connect to {target}, {article} {category} address "
            "(private networks are not allowed; see allow_private_networks)"
        )


class NameResolutionError(httpx.ConnectError):
    """The host name could not be resolved to any address."""

    def __init__(self, host: str, detail: str) -> None:
        self.host = host
        super().__init__(f"could not resolve host name {host!r}: {detail}")


class ResponseTooLargeError(httpx.RequestError):
    """The (decoded) response body is larger than the configured limit."""

    def __init__(self, limit: int, *, request: httpx.Request | None = None) -> None:
        self.limit = limit
        super().__init__(
            f"the response body is larger than the limit of {limit:,} bytes", request=request
        )


class BodyCutError(httpx.ReadError):
    """The connection broke while the body of an answer was being read (a reset after the
    headers): told apart from a connection refused or reset before any answer."""

    def __init__(
        self,
        status: int,
        received: int,
        declared: str,
        cause: BaseException,
        *,
        request: httpx.Request | None = None,
    ) -> None:
        promised = f" of the {int(declared):,} promised" if declared.isdigit() else ""
        super().__init__(
            f"the server answered {status} and the connection broke in the middle of the "
            f"body, after {received:,} bytes{promised}: {cause}",
            request=request,
        )


class DeadlineExceededError(httpx.TimeoutException):
    """The whole exchange took longer than the total time allowed for one request."""

    def __init__(self, seconds: float, *, request: httpx.Request | None = None) -> None:
        self.seconds = seconds
        super().__init__(
            f"no complete answer within {seconds:g} s (total time limit)", request=request
        )


# --- address policy ------------------------------------------------------------------------

_CGNAT: Final = ipaddress.IPv4Network("100.64.0.0/10")
# IETF protocol assignments: not globally reachable (Python counts only parts of it as
# private), and 192.0.0.192 in it is Oracle Cloud Classic's metadata service.
_IETF_PROTOCOL: Final = ipaddress.IPv4Network("192.0.0.0/24")
_IETF_GLOBAL: Final = frozenset(ipaddress.ip_address(a) for a in ("192.0.0.9", "192.0.0.10"))
_UNIQUE_LOCAL: Final = ipaddress.IPv6Network("fc00::/7")
_NAT64_WELL_KNOWN: Final = ipaddress.IPv6Network("64:ff9b::/96")
_IPV4_COMPATIBLE: Final = ipaddress.IPv6Network("::/96")


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address that an IPv6 address carries and that a connection would reach."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64_WELL_KNOWN:
        return ipaddress.IPv4Address(address.packed[-4:])
    if address.sixtofour is not None:
        return address.sixtofour
    return None


def blocked_address_reason(address: IPAddress) -> str | None:
    """Why outbound requests may not connect to ``address`` (a category in plain words), or
    None when it is a public, globally reachable unicast address.

    IPv6 forms that carry an IPv4 address (IPv4-mapped ``::ffff:a.b.c.d``, NAT64
    ``64:ff9b::/96``, 6to4 ``2002::/16``) are judged by the IPv4 address they reach.
    """
    if isinstance(address, ipaddress.IPv6Address):
        if address.scope_id is not None:
            address = ipaddress.IPv6Address(address.compressed.split("%", 1)[0])
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            inner = blocked_address_reason(embedded)
            return None if inner is None else f"{inner} (IPv4 inside IPv6)"
        if address in _IPV4_COMPATIBLE and not (address.is_loopback or address.is_unspecified):
            return "deprecated IPv4-compatible"
    if address.is_unspecified:
        return "unspecified"
    if address.is_loopback:
        return "loopback"
    if address.is_link_local:
        # 169.254.0.0/16 holds the cloud metadata services (169.254.169.254).
        return "link-local"
    if address.is_multicast:
        return "multicast"
    if isinstance(address, ipaddress.IPv4Address) and address in _CGNAT:
        return "shared (carrier-grade NAT)"
    if isinstance(address, ipaddress.IPv6Address):
        if address in _UNIQUE_LOCAL:
            return "unique local"
        if address.is_site_local:
            return "site-local"
    if address.is_reserved:
        return "reserved"
    if address.is_private:
        return "private"
    if address in _IETF_PROTOCOL and address not in _IETF_GLOBAL:
        return "IETF protocol assignment"
    if not address.is_global:
        return "not globally reachable"
    return None


# --- the guarded connection ----------------------------------------------------------------

AddressCheck = Callable[[str, IPAddress, int], str | None]
"""(host, resolved address, port) -> why the connection is refused, or None to allow it."""

_Origin = tuple[bytes, bytes, int | None]  # scheme, host, port


def _public_addresses_only(host: str, address: IPAddress, port: int) -> str | None:
    # A metadata address is refused whatever allow_private_networks says: say so, rather
    # than point at a setting that cannot help.
    return _no_metadata_service(host, address, port) or blocked_address_reason(address)


# Cloud metadata services outside the link-local range (AWS over IPv6, Alibaba Cloud,
# Oracle Cloud Classic).
_METADATA_ADDRESSES: Final = frozenset(
    {
        ipaddress.ip_address("fd00:ec2::254"),
        ipaddress.ip_address("100.100.100.200"),
        ipaddress.ip_address("192.0.0.192"),
    }
)


ALWAYS_REFUSED: Final = "refused even with allow_private_networks"


def _no_metadata_service(host: str, address: IPAddress, port: int) -> str | None:
    """What ``allow_private_networks`` still refuses: link-local addresses (169.254.0.0/16,
    fe80::/10, where the cloud metadata services answer, with credentials of the machine)
    and the metadata addresses of other ranges. No feed or receiver lives there."""
    reason = blocked_address_reason(address)
    if reason is not None and reason.startswith("link-local"):
        return f"{reason} address, where cloud metadata services answer: {ALWAYS_REFUSED}"
    # Also inside IPv6 ("::ffff:100.100.100.200", NAT64, 6to4): it reaches the same service.
    embedded = _embedded_ipv4(address) if isinstance(address, ipaddress.IPv6Address) else None
    if address in _METADATA_ADDRESSES or embedded in _METADATA_ADDRESSES:
        return f"cloud metadata service address: {ALWAYS_REFUSED}"
    return None


def address_policy(allow_private_networks: bool) -> AddressCheck:
    """The check every outbound connection makes: public addresses only, or, with
    ``allow_private_networks``, any but link-local and cloud metadata addresses."""
    return _no_metadata_service if allow_private_networks else _public_addresses_only


def connection_target(url: str) -> tuple[str, int]:
    """The host and port that a request to ``url`` connects to, as the transport passes
    them to `guarded_addresses` (httpx.InvalidURL for a URL that httpx refuses)."""
    parsed = httpx.URL(url)
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    return parsed.raw_host.decode("ascii"), port


# Threads that wait for the system resolver, per client (`GuardedNetworkBackend`). Lookups
# of names whose DNS servers do not answer each hold a thread for the resolver's whole
# timeout (5 s and more); on the event loop's default threads they would queue the
# database's transactions, which run there, behind them. More lookups at once wait for a
# free thread, within their fetch's deadline.
RESOLVER_THREADS: Final = 8


def _getaddrinfo(host: str, port: int) -> list[str]:
    """The addresses getaddrinfo gives for a TCP connection to ``host`` (blocking)."""
    name = host
    if not host.isascii():  # looked up as IDNA 2008 says (as anyio does); rare: import here
        import idna

        name = idna.encode(host, uts46=True).decode("ascii")
    found = socket.getaddrinfo(name, port, type=socket.SOCK_STREAM)
    # An IPv6 answer in a Python built without IPv6 has an int address: not usable.
    return [str(sockaddr[0]) for *_, sockaddr in found if not isinstance(sockaddr[0], int)]


async def resolve_host(
    host: str,
    port: int,
    *,
    numeric_only: bool = False,
    resolver: ThreadPoolExecutor | None = None,
) -> list[IPAddress]:
    """The addresses a connection to ``host`` tries, in the resolver's order: an address as
    it is written, any other spelling of one (``127.1``, ``0x7f.1``, ``2130706433``) and
    names through the system resolver (getaddrinfo), in a thread of ``resolver`` (else the
    event loop's default threads). `NameResolutionError` when there is none; with
    ``numeric_only`` a name is not looked up and raises it too."""
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        if numeric_only:  # parsing only: it never waits, so no worker thread is needed
            found = socket.getaddrinfo(
                host.encode("ascii"), port, type=socket.SOCK_STREAM, flags=socket.AI_NUMERICHOST
            )
            hosts = [str(sockaddr[0]) for *_, sockaddr in found]
        else:
            loop = asyncio.get_running_loop()
            hosts = await loop.run_in_executor(resolver, _getaddrinfo, host, port)
    except (OSError, UnicodeError) as error:
        raise NameResolutionError(host, str(error) or type(error).__name__) from error
    addresses: list[IPAddress] = []
    for text in hosts:
        address = ipaddress.ip_address(text.split("%", 1)[0])
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise NameResolutionError(host, "no addresses")
    return addresses


async def guarded_addresses(
    host: str,
    port: int,
    address_check: AddressCheck | None,
    *,
    numeric_only: bool = False,
    resolver: ThreadPoolExecutor | None = None,
) -> list[IPAddress]:
    """The SSRF guard: the addresses of ``host`` (`resolve_host`) once ``address_check``
    allowed every one, else `BlockedAddressError` for the first refused. A name with any
    refused address is refused as a whole, so the outcome does not depend on the
    resolver's order. Every outbound connection goes through it, and ``monitor check``."""
    addresses = await resolve_host(host, port, numeric_only=numeric_only, resolver=resolver)
    if address_check is not None:
        for address in addresses:
            category = address_check(host, address, port)
            if category is not None:
                raise BlockedAddressError(host, address, category)
    return addresses


class GuardedNetworkBackend(httpcore.AsyncNetworkBackend):
    """An httpcore network backend that resolves the host itself, checks every address it
    resolves to, and connects only to a checked numeric address.

    TLS is layered on the returned stream by httpcore with the original host name, so SNI
    and certificate verification still use the name from the URL.

    The check is ``address_check`` when given, else public addresses only
    (`blocked_address_reason`), else, with ``allow_private_networks=True``, any address
    but link-local and cloud metadata ones (`address_policy`).
    """

    def __init__(
        self,
        *,
        allow_private_networks: bool,
        address_check: AddressCheck | None = None,
        inner: httpcore.AsyncNetworkBackend | None = None,
    ) -> None:
        if address_check is None:
            address_check = address_policy(allow_private_networks)
        self._address_check = address_check
        self._inner = inner if inner is not None else AsyncioBackend()
        # Its own threads for DNS (`RESOLVER_THREADS`): made as lookups need them.
        self._resolver = ThreadPoolExecutor(RESOLVER_THREADS, thread_name_prefix="monitor-dns")

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore calls it with this signature
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        try:
            async with asyncio.timeout_at(deadline):
                # The SSRF guard. It runs here, on the addresses this connection will use,
                # after DNS and for every new connection (so on every redirect hop), because
                # a check on the URL beforehand is bypassed by DNS rebinding (the name
                # resolves to a public address for the check and to 127.0.0.1 or the
                # metadata service for the connection). `monitor check` calls it too, but
                # can only warn in advance.
                addresses = await guarded_addresses(
                    host, port, self._address_check, resolver=self._resolver
                )
        except TimeoutError:
            raise httpcore.ConnectTimeout(
                f"resolving {host} took more than {timeout:g} s"
            ) from None
        last_error: Exception | None = None
        for address in addresses:
            remaining = None if deadline is None else max(0.0, deadline - loop.time())
            try:
                return await self._inner.connect_tcp(
                    str(address),
                    port,
                    timeout=remaining,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as error:
                last_error = error
        assert last_error is not None  # resolve_host never returns an empty list
        if isinstance(last_error, httpcore.ConnectTimeout):
            raise httpcore.ConnectTimeout(
                f"connecting to {host}:{port} took more than {timeout:g} s"
            ) from last_error
        raise last_error

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)

    def close(self) -> None:
        """Let the DNS threads end (a lookup in progress still runs to its end)."""
        self._resolver.shutdown(wait=False, cancel_futures=True)


# --- the transport and the client factory --------------------------------------------------

# Most specific first: the first match wins.
_HTTPCORE_TO_HTTPX: Final[tuple[tuple[type[Exception], type[httpx.TransportError]], ...]] = (
    (httpcore.ConnectTimeout, httpx.ConnectTimeout),
    (httpcore.ReadTimeout, httpx.ReadTimeout),
    (httpcore.WriteTimeout, httpx.WriteTimeout),
    (httpcore.PoolTimeout, httpx.PoolTimeout),
    (httpcore.TimeoutException, httpx.TimeoutException),
    (httpcore.ConnectError, httpx.ConnectError),
    (httpcore.ReadError, httpx.ReadError),
    (httpcore.WriteError, httpx.WriteError),
    (httpcore.NetworkError, httpx.NetworkError),
    (httpcore.UnsupportedProtocol, httpx.UnsupportedProtocol),
    (httpcore.LocalProtocolError, httpx.LocalProtocolError),
    (httpcore.RemoteProtocolError, httpx.RemoteProtocolError),
    (httpcore.ProtocolError, httpx.ProtocolError),
)


def _as_httpx_error(error: Exception, request: httpx.Request) -> Exception:
    """The httpx error for an httpcore error; any other error unchanged."""
    for core_type, httpx_type in _HTTPCORE_TO_HTTPX:
        if isinstance(error, core_type):
            return httpx_type(str(error) or type(error).__name__, request=request)
    return error


class _ResponseStream(httpx.AsyncByteStream):
    """An httpcore response body seen as an httpx stream, with httpcore errors translated
    and at most ``limit`` bytes on the wire."""

    def __init__(
        self,
        stream: AsyncIterable[bytes],
        request: httpx.Request,
        limit: int | None,
        on_close: Callable[[], None] | None = None,
    ) -> None:
        self._stream = stream
        self._request = request
        self._limit = limit
        self._on_close = on_close

    async def __aiter__(self) -> AsyncIterator[bytes]:
        received = 0
        try:
            async for part in self._stream:
                received += len(part)
                if self._limit is not None and received > self._limit:
                    raise ResponseTooLargeError(self._limit, request=self._request)
                yield part
        except Exception as error:
            translated = _as_httpx_error(error, self._request)
            if translated is error:
                raise
            raise translated from error

    async def aclose(self) -> None:
        try:
            closer = getattr(self._stream, "aclose", None)
            if closer is not None:
                await closer()
        finally:
            on_close, self._on_close = self._on_close, None
            if on_close is not None:
                on_close()


@functools.cache
def _default_ssl_context() -> ssl.SSLContext:
    """The verifying TLS context every client shares: loading the CA bundle takes ~60 ms, and
    a context is only read once made (it may wrap sockets for many connections at once)."""
    return httpx.create_ssl_context()


class GuardedTransport(httpx.AsyncBaseTransport):
    """An httpx transport over httpcore connection pools, one per origin (scheme, host,
    port), whose every connection goes through `GuardedNetworkBackend` (HTTP/1.1, no
    proxies, no Unix sockets).

    One small pool per origin, not one shared pool: httpcore scans every connection of a
    pool on each request, so one pool large enough to keep connections to many hosts alive
    made a pass over 1,000 feeds on 50 hosts twice as slow, and one as small as the number of
    polls at once closed a connection on nearly every request (the next feed is on another
    host). Here a feed's connection stays open for the next feed of its host, and each
    lookup sees at most ``connections_per_origin`` connections. At most ``MAX_POOLS`` pools
    stay open: beyond that the least recently used idle ones are closed.

    ``max_body_bytes`` caps the bytes on the wire of every response body, however it is read
    (``response.aread()`` included): a backstop. `read_limited` caps the decoded body.
    ``keep_alive`` False closes every connection after its response (`make_client`).
    """

    MAX_POOLS: Final = 64

    def __init__(
        self,
        *,
        allow_private_networks: bool,
        address_check: AddressCheck | None = None,
        max_body_bytes: int | None = None,
        connections_per_origin: int = 20,
        keepalive_expiry: float = 5.0,
        ssl_context: ssl.SSLContext | None = None,
        keep_alive: bool = True,
    ) -> None:
        self._max_body_bytes = max_body_bytes
        self._per_origin = connections_per_origin
        self._keep_alive = keep_alive
        self._keepalive_expiry = keepalive_expiry
        self._ssl_context = ssl_context
        # Everything on the wire for one request (status lines, headers, chunk framing and
        # the body): twice the body's cap and 1 MiB more, so that only a server sending
        # what no response needs is cut.
        per_request = None if max_body_bytes is None else 2 * max_body_bytes + 2**20
        self._backend = GuardedNetworkBackend(
            allow_private_networks=allow_private_networks,
            address_check=address_check,
            inner=AsyncioBackend(max_read_per_request=per_request),
        )
        # Least recently used first; the number of requests each pool is serving.
        self._pools: dict[_Origin, httpcore.AsyncConnectionPool] = {}
        self._busy: dict[_Origin, int] = {}

    async def _acquire(self, origin: _Origin) -> httpcore.AsyncConnectionPool:
        """The pool of ``origin`` (made if new, marked most recently used), counted busy
        until `_done`."""
        pool = self._pools.pop(origin, None)
        if pool is None:
            await self._close_idle_pools(self.MAX_POOLS - 1)
            pool = self._pools.pop(origin, None)  # made by another request meanwhile
        if pool is None:
            tls = origin[0] == b"https"
            pool = httpcore.AsyncConnectionPool(
                # Made on the first https origin: loading the CA bundle takes a while.
                ssl_context=(self._ssl_context or _default_ssl_context()) if tls else None,
                max_connections=self._per_origin,
                max_keepalive_connections=self._per_origin if self._keep_alive else 0,
                keepalive_expiry=self._keepalive_expiry,
                http1=True,
                http2=False,
                network_backend=self._backend,
            )
        self._pools[origin] = pool
        self._busy[origin] = self._busy.get(origin, 0) + 1
        return pool

    async def _close_idle_pools(self, keep: int) -> None:
        """Close the least recently used pools that serve no request, down to ``keep``."""
        for origin in list(self._pools):
            if len(self._pools) <= keep:
                return
            if origin in self._pools and not self._busy.get(origin):
                await self._pools.pop(origin).aclose()

    def _done(self, origin: _Origin) -> None:
        left = self._busy[origin] - 1
        if left:
            self._busy[origin] = left
        else:
            del self._busy[origin]

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if not isinstance(request.stream, httpx.AsyncByteStream):
            raise TypeError("GuardedTransport needs an async request body")
        url = request.url
        origin = (url.raw_scheme, url.raw_host, url.port)
        core_request = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=url.raw_scheme, host=url.raw_host, port=url.port, target=url.raw_path
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        pool = await self._acquire(origin)
        try:
            core_response = await pool.handle_async_request(core_request)
            if not isinstance(core_response.stream, AsyncIterable):
                raise TypeError("httpcore returned a synchronous body to an async transport")
        except BaseException as error:
            self._done(origin)  # no response stream will release the pool
            if isinstance(error, httpx.RequestError):
                # Raised by the guard inside the pool: give it the request, as httpx does.
                error.request = request
                raise
            translated = _as_httpx_error(error, request) if isinstance(error, Exception) else error
            if translated is error:
                raise
            raise translated from error
        return httpx.Response(
            status_code=core_response.status,
            headers=core_response.headers,
            stream=_ResponseStream(
                core_response.stream,
                request,
                self._max_body_bytes,
                on_close=functools.partial(self._done, origin),
            ),
            extensions=core_response.extensions,
        )

    async def __aenter__(self) -> GuardedTransport:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc_value: BaseException | None = None,
        traceback: TracebackType | None = None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            await pool.aclose()
        self._backend.close()


class _KeepNoCookies(http.cookiejar.CookieJar):
    """The client's cookie jar, which keeps none.

    httpx copies the client's jar into every request it builds and walks all of its domains
    for the Cookie header, so a jar shared by every publisher costs each request time in
    proportion to the cookies all of them ever set (15 ms a request once 1,000 publishers
    have set one). A fetch keeps the cookies of its own redirects (`fetch_feed`); nothing
    is carried from one poll, publisher or webhook to another.
    """

    def set_cookie(self, cookie: http.cookiejar.Cookie) -> None:
        return None

    def extract_cookies(self, response: object, request: object) -> None:
        return None


class _NoCookies(httpx.Cookies):
    """The cookies of a client that keeps none: always empty, and a response's Set-Cookie
    is not even looked at (httpx wraps every response and its request in `urllib` objects
    for the jar first: 8 % of a 304's cost)."""

    def extract_cookies(self, response: httpx.Response) -> None:
        return None


class _CookielessClient(httpx.AsyncClient):
    """An `httpx.AsyncClient` whose ``cookies`` are always `_NoCookies`."""

    _no_cookies = _NoCookies(_KeepNoCookies())

    @property
    def cookies(self) -> httpx.Cookies:
        return self._no_cookies

    @cookies.setter
    def cookies(self, cookies: object) -> None:
        return None


def make_client(
    options: HttpOptions, *, follow_redirects: bool = True, keep_alive: bool = True
) -> httpx.AsyncClient:
    """The HTTP client for every outbound request. Feeds use the default; webhook senders
    pass ``follow_redirects=False`` and ``keep_alive=False``: each alert goes on a
    connection of its own, closed after its answer, so an answer can only be to the alert
    it was read for (a receiver or proxy that wrote one answer too many made httpcore read
    it, left in the reused connection's buffer, as the next alert's answer: an alert the
    receiver never read was marked delivered; an outside probe). Close it with
    ``await client.aclose()`` or ``async with``. It keeps no cookies (`_CookielessClient`).
    """
    return _CookielessClient(
        transport=GuardedTransport(
            allow_private_networks=options.allow_private_networks,
            max_body_bytes=options.max_body_bytes,
            connections_per_origin=options.connections_per_origin,
            keep_alive=keep_alive,
        ),
        # Without keep-alive the request says so: httpx wrote "Connection: keep-alive" on
        # every alert, though each connection is closed after its answer (probe69).
        headers={"User-Agent": options.user_agent}
        | ({} if keep_alive else {"Connection": "close"}),
        timeout=httpx.Timeout(
            connect=options.connect_timeout,
            read=options.read_timeout,
            write=options.read_timeout,
            # Waiting for a free connection is bounded by the total deadline, not the
            # connect timeout: many feeds at once on a small pool is normal, not a failure.
            pool=options.total_timeout,
        ),
        follow_redirects=follow_redirects,
        max_redirects=options.max_redirects,
        # No proxies, .netrc or other settings from the environment: a proxy taken from
        # HTTP(S)_PROXY would get its own transport, outside the guard, and the guard would
        # then see the proxy's address rather than the one the request reaches.
        trust_env=False,
    )


# Decoded output is produced at most this many bytes at a time, so a small compressed chunk
# that inflates a thousandfold (a "zip bomb") never sits in memory beyond the size cap.
_DECODED_PIECE: Final = 64 * 1024


class _BoundedInflater:
    """One gzip or deflate layer of a body, inflated in pieces of at most `_DECODED_PIECE`."""

    def __init__(self, encoding: str) -> None:
        # Like httpx: "deflate" is meant to be zlib-wrapped, but some servers send it raw, so
        # a zlib header error before any output switches to raw deflate once.
        self._may_be_raw = encoding == "deflate"
        wbits = zlib.MAX_WBITS if self._may_be_raw else zlib.MAX_WBITS | 16
        self._inflater = zlib.decompressobj(wbits)
        self._produced = False
        self._fed = False

    def feed(self, data: bytes) -> Iterator[bytes]:
        original = data
        self._fed = self._fed or bool(data)
        try:
            while not self._inflater.eof:
                piece = self._inflater.decompress(data, _DECODED_PIECE)
                data = self._inflater.unconsumed_tail
                if piece:
                    self._produced = True
                    yield piece
                # A full piece may leave output pending inside zlib: go on until one is short.
                if not data and len(piece) < _DECODED_PIECE:
                    return
        except zlib.error:
            if not self._may_be_raw or self._produced:
                raise
            self._may_be_raw = False
            self._inflater = zlib.decompressobj(-zlib.MAX_WBITS)
            yield from self.feed(original)

    def flush(self) -> bytes:
        """The rest of the output; `zlib.error` when the compressed data stopped before its
        end (a body cut short, which the HTTP framing did not show, e.g. a Content-Length that
        counts only what was sent), so half a feed is never taken for all of it."""
        rest = self._inflater.flush()
        if self._fed and not self._inflater.eof:
            raise zlib.error("it ends before the compressed data does (the body was cut short)")
        return rest


def _inflate(layers: list[_BoundedInflater], data: bytes) -> Iterator[bytes]:
    if not layers:
        if data:
            yield data
        return
    for piece in layers[0].feed(data):
        yield from _inflate(layers[1:], piece)


def _inflate_rest(layers: list[_BoundedInflater]) -> Iterator[bytes]:
    for index, layer in enumerate(layers):
        yield from _inflate(layers[index + 1 :], layer.flush())


def _decoded_pieces(response: httpx.Response) -> AsyncIterator[bytes] | None:
    """The decoded body in bounded pieces, when every content coding is gzip or deflate
    (those httpx asks for); None otherwise, and httpx decodes the others it asked for (br
    where brotli is installed). A coding it did not ask for (br, zstd, compress) is an
    `httpx.DecodingError` that names it: httpx would hand its bytes on undecoded, to be
    misread as a malformed feed."""
    codings = [
        coding.strip().lower()
        for coding in response.headers.get("content-encoding", "").split(",")
        if coding.strip().lower() not in ("", "identity")
    ]
    if not all(coding in ("gzip", "x-gzip", "deflate") for coding in codings):
        asked = response.request.headers.get("accept-encoding", "").lower()
        tokens = {token.split(";")[0].strip() for token in asked.split(",")}
        for coding in codings:
            if coding not in tokens:  # httpx would pass it on as it came, undecoded
                raise httpx.DecodingError(
                    f"the server sent the body as Content-Encoding: {coding}, which was not "
                    f"asked for (Accept-Encoding: {asked or 'none'}) and cannot be read",
                    request=response.request,
                )
        return None
    # Codings are listed in the order they were applied: undo the last one first.
    layers = [_BoundedInflater(coding) for coding in reversed(codings)]

    async def pieces() -> AsyncIterator[bytes]:
        try:
            async for raw in response.aiter_raw():
                for piece in _inflate(layers, raw):
                    yield piece
            for piece in _inflate_rest(layers):
                yield piece
        except zlib.error as error:
            message = f"the {'/'.join(codings)} body is corrupt: {error}"
            raise httpx.DecodingError(message, request=response.request) from error

    return pieces()


async def read_limited(response: httpx.Response, options: HttpOptions) -> bytes:
    """The decoded body of a streamed response (``client.stream(...)``), refused with
    `ResponseTooLargeError` past ``options.max_body_bytes`` and with `DeadlineExceededError`
    past ``options.total_timeout`` seconds, however the server paces or labels it.
    """
    limit = options.max_body_bytes
    declared = response.headers.get("content-length", "").strip()
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    if encoding in ("", "identity") and declared.isdigit() and int(declared) > limit:
        raise ResponseTooLargeError(limit, request=response.request)
    pieces = _decoded_pieces(response)
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(options.total_timeout):
            async for chunk in pieces if pieces is not None else response.aiter_bytes():
                size += len(chunk)
                if size > limit:
                    raise ResponseTooLargeError(limit, request=response.request)
                chunks.append(chunk)
    except TimeoutError as error:
        raise DeadlineExceededError(options.total_timeout, request=response.request) from error
    except httpx.ReadError as error:
        raise BodyCutError(
            response.status_code, size, declared, error, request=response.request
        ) from error
    return b"".join(chunks)


# --- reason codes ----------------------------------------------------------------------------


@dataclass(frozen=True)
class EgressFailure:
    """A failed request as a stable reason code and a sentence in plain words."""

    reason: str
    message: str


def status_reason(status: int) -> str:
    """The stable reason code for an HTTP status that is not a success."""
    if status == 429:
        return "rate_limited"
    if 400 <= status < 500:
        return "http_4xx"
    if 500 <= status < 600:
        return "http_5xx"
    return "http_error"


def _request_of(error: httpx.HTTPError) -> httpx.Request | None:
    try:
        return error.request
    except RuntimeError:  # httpx raises it when the error was not tied to a request
        return None


def _default_port(url: httpx.URL) -> int:
    return 443 if url.scheme == "https" else 80


def _in_tls_handshake(error: BaseException) -> bool:
    """Whether the deadline behind ``error`` came in a TLS handshake (`IN_TLS_HANDSHAKE`)."""
    cause = error.__cause__ or error.__context__
    return cause is not None and IN_TLS_HANDSHAKE in getattr(cause, "__notes__", ())


# What OpenSSL says when the server answered the handshake in plain HTTP ("HTTP/1.1 400").
_PLAIN_HTTP_ANSWERS = ("WRONG_VERSION_NUMBER", "HTTP_REQUEST", "RECORD_LAYER_FAILURE")


def _tls_error_in(error: BaseException) -> ssl.SSLError | None:
    """The TLS error behind ``error`` (its causes and contexts), if any: httpx reports a
    refused certificate as a `httpx.ConnectError` raised from it."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, ssl.SSLError):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


_BYTES_REPR = re.compile(r"bytearray\(b'(.*?)'\)|(?<!\w)b'(.*?)'")


_PHRASE_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def reason_phrase(response: httpx.Response) -> str:
    """A response's reason phrase as the server wrote it: UTF-8, else Latin-1 (httpx reads
    it as ASCII and drops every other byte: "500 Ërreur ñ" became "rreur  "), control
    characters as spaces, at most 100 characters."""
    raw = response.extensions.get("reason_phrase")
    if not isinstance(raw, bytes):
        return response.reason_phrase
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    return " ".join(_PHRASE_CONTROL.sub(" ", text).split())[:100]


def describe_http_error(error: httpx.HTTPError) -> EgressFailure:
    """The stable reason code and a plain-words message for an error from the client."""
    if isinstance(error, BlockedAddressError):
        return EgressFailure("blocked_address", str(error))
    if isinstance(error, NameResolutionError):
        return EgressFailure("dns_error", str(error))
    if isinstance(error, ResponseTooLargeError):
        return EgressFailure("too_large", str(error))
    if isinstance(error, DeadlineExceededError):
        return EgressFailure("timeout", str(error))
    if isinstance(error, httpx.HTTPStatusError):
        status = error.response.status_code
        phrase = reason_phrase(error.response)
        return EgressFailure(status_reason(status), f"the server answered {status} {phrase}")
    if isinstance(error, httpx.ConnectTimeout):
        return EgressFailure("timeout", "timed out while connecting to the server")
    if isinstance(error, httpx.ReadTimeout):
        # Raised before the answer's first byte as well as in the middle of its body.
        return EgressFailure(
            "timeout",
            "no data from the server within the read timeout (it did not answer, or stopped "
            "in the middle)",
        )
    if isinstance(error, httpx.WriteTimeout):
        return EgressFailure("timeout", "timed out while sending the request")
    if isinstance(error, httpx.PoolTimeout):
        return EgressFailure("timeout", "no free connection in time (too many requests at once)")
    if isinstance(error, httpx.TimeoutException):
        return EgressFailure("timeout", f"timed out: {error}")
    request = _request_of(error)
    if isinstance(error, httpx.TooManyRedirects):
        return EgressFailure(
            "too_many_redirects", "too many redirects (a redirect loop, or a chain too long)"
        )
    if isinstance(error, httpx.UnsupportedProtocol):
        where = f" ({redact_url(str(request.url))})" if request is not None else ""
        return EgressFailure("bad_url", f"only http and https URLs can be fetched{where}")
    if isinstance(error, httpx.ConnectError):
        where = ""
        if request is not None:
            where = f" to {request.url.host}:{request.url.port or _default_port(request.url)}"
        tls = _tls_error_in(error)
        if tls is not None:
            detail = (
                getattr(tls, "verify_message", None) or getattr(tls, "reason", None) or str(tls)
            )
            if str(getattr(tls, "reason", "")) in _PLAIN_HTTP_ANSWERS:
                detail += (
                    ": the server answered in plain HTTP, not TLS; use http:// in the URL, or "
                    "the server's TLS port"
                )
            return EgressFailure("tls_error", f"the TLS handshake{where} failed: {detail}")
        return EgressFailure("connect_error", f"could not connect{where}: {error}")
    if isinstance(error, httpx.ProtocolError):
        # h11 shows the offending bytes as Python reprs: "illegal status line:
        # bytearray(b'HTTP/1.1 2OO OK')" reads "illegal status line: 'HTTP/1.1 2OO OK'".
        detail = _BYTES_REPR.sub(lambda m: f"'{m[1] if m[1] is not None else m[2]}'", str(error))
        return EgressFailure("protocol_error", f"the server broke the HTTP protocol: {detail}")
    if isinstance(error, BodyCutError):
        return EgressFailure("network_error", str(error))
    if isinstance(error, httpx.NetworkError):
        return EgressFailure("network_error", f"the connection failed: {error}")
    if isinstance(error, httpx.DecodingError):
        return EgressFailure("decoding_error", f"the body could not be decoded: {error}")
    return EgressFailure("http_error", f"the request failed: {error}")


def classify_error(error: BaseException, *, deadline: float | None = None) -> EgressFailure | None:
    """THE classifier of a failed outbound request, for feeds and webhook sinks alike: the
    stable reason code (``blocked_address``, ``dns_error``, ``connect_error``, ``tls_error``,
    ``timeout``, ``too_many_redirects``, ``too_large``, ``protocol_error``, ``network_error``,
    ...) and a plain-words message. ``TimeoutError`` is the caller's ``deadline`` (seconds)
    over the whole exchange. None for an error that is not about the request (a bug: the
    caller lets it through)."""
    if isinstance(error, TimeoutError):
        within = f" within {deadline:g} s" if deadline is not None else " in time"
        if _in_tls_handshake(error):
            return EgressFailure(
                "timeout",
                f"no answer to the TLS handshake{within} (total time limit): a server that "
                "speaks plain HTTP on that port waits so; if so, use http:// or its TLS port",
            )
        return EgressFailure("timeout", f"no complete answer{within} (total time limit)")
    if isinstance(error, httpx.InvalidURL):
        return EgressFailure("bad_url", f"the URL cannot be requested: {error}")
    if isinstance(error, httpx.HTTPError):
        return describe_http_error(error)
    return None
