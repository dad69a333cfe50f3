"""/healthz, /readyz and /metrics on a real socket."""

from __future__ import annotations

import httpx
import pytest

from monitor import metrics
from monitor.health import serve_health


async def test_health_ready_and_metrics() -> None:
    state = {"ready": True}

    async def ready() -> bool:
        return state["ready"]

    metrics.polls.labels("ok").inc()
    async with serve_health("127.0.0.1", 0, ready) as port:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            assert (await client.get("/healthz")).text == "ok\n"
            assert (await client.get("/readyz")).status_code == 200
            state["ready"] = False
            assert (await client.get("/readyz")).status_code == 503
            body = (await client.get("/metrics")).text
            assert 'monitor_polls_total{status="ok"}' in body
            assert (await client.get("/nope")).status_code == 404


async def test_a_header_line_past_the_limit_is_refused_quietly(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Any local client could make the port log an ERROR with a traceback per request.
    import asyncio
    import logging

    async def ready() -> bool:
        return True

    async with serve_health("127.0.0.1", 0, ready) as port:
        with caplog.at_level(logging.WARNING):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"GET /healthz HTTP/1.1\r\nX-Big: " + b"a" * 100_000 + b"\r\n\r\n")
            await writer.drain()
            answer = await reader.read()
            writer.close()
        assert answer.startswith(b"HTTP/1.1 431 "), answer[:80]
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            assert (await client.get("/healthz")).text == "ok\n"
    assert "Unhandled exception" not in caplog.text and "Traceback" not in caplog.text
