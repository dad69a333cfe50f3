"""/healthz, /readyz and /metrics on a real socket."""

from __future__ import annotations

import httpx

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
