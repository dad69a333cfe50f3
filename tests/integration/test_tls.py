"""HTTPS through the guarded transport: TLS on asyncio's streams verifies the certificate and
the name, and keeps the connection for the next request (a real TLS server on loopback)."""

from __future__ import annotations

import http.server
import shutil
import ssl
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from monitor.egress import GuardedTransport

pytestmark = pytest.mark.skipif(
    shutil.which("openssl") is None, reason="needs the openssl command to make a certificate"
)

FEED = b"<rss version='2.0'><channel><title>TLS</title></channel></rss>"


def _certificate(folder: Path, names: str) -> tuple[Path, Path]:
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
        + ["-subj", "/CN=monitor-test", "-addext", f"subjectAltName={names}"]
        + ["-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )
    return cert, key


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    connections: list[tuple[str, int]] = []

    def setup(self) -> None:
        super().setup()
        type(self).connections.append(self.client_address)

    def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
        self.send_response(200)
        self.send_header("Content-Type", "application/rss+xml")
        self.send_header("Content-Length", str(len(FEED)))
        self.end_headers()
        self.wfile.write(FEED)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@pytest.fixture
def tls_server(
    tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[tuple[str, Path, list[tuple[str, int]]]]:
    names = getattr(request, "param", "IP:127.0.0.1")
    cert, key = _certificate(tmp_path, names)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    connections: list[tuple[str, int]] = []
    handler = type("Handler", (_Handler,), {"connections": connections})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}/feed.xml", cert, connections
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def _client(cert: Path) -> httpx.AsyncClient:
    context = ssl.create_default_context(cafile=str(cert))
    transport = GuardedTransport(allow_private_networks=True, ssl_context=context)
    return httpx.AsyncClient(transport=transport, timeout=10)


async def test_https_feed_is_read_and_its_connection_reused(
    tls_server: tuple[str, Path, list[tuple[str, int]]],
) -> None:
    url, cert, connections = tls_server
    async with _client(cert) as client:
        first = await client.get(url)
        second = await client.get(url)
    assert first.status_code == second.status_code == 200
    assert first.content == second.content == FEED
    assert first.extensions["network_stream"].get_extra_info("ssl_object") is not None
    assert len(connections) == 1, "the second request should reuse the TLS connection"


@pytest.mark.parametrize("tls_server", ["DNS:other.example"], indirect=True)
async def test_a_certificate_for_another_name_is_refused(
    tls_server: tuple[str, Path, list[tuple[str, int]]],
) -> None:
    url, cert, _ = tls_server
    async with _client(cert) as client:
        with pytest.raises(httpx.ConnectError, match="(?i)certificate|hostname|match"):
            await client.get(url)


async def test_an_untrusted_certificate_is_refused(
    tls_server: tuple[str, Path, list[tuple[str, int]]],
) -> None:
    url, _cert, _ = tls_server
    transport = GuardedTransport(allow_private_networks=True)  # the system's CAs only
    async with httpx.AsyncClient(transport=transport, timeout=10) as client:
        with pytest.raises(httpx.ConnectError, match="(?i)certificate"):
            await client.get(url)
