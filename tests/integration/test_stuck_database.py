"""A database call that does not return (a network path that keeps the connection open and
swallows what is sent, so that no timeout fires; here a SQLite write lock another process
holds) is said out loud: an outside probe's service froze with /readyz answering 200 and
nothing in the log. Now, once a transaction has been in progress `STUCK_AFTER_SECONDS`,
/readyz answers 503, the log says so once, /metrics shows the wait, and the log says when
the database answers again."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from prometheus_client import generate_latest

from monitor import metrics
from monitor import service as service_module
from tests.integration.test_reload_service import make_config, service_of


async def until(condition: Callable[[], bool], within: float = 20.0) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "the condition did not hold in time"
        await asyncio.sleep(0.05)


def wait_shown() -> float:
    for line in generate_latest(metrics.registry).decode().splitlines():
        if line.startswith("monitor_database_wait_seconds "):
            return float(line.split()[1])
    raise AssertionError("no monitor_database_wait_seconds on /metrics")


async def test_a_transaction_that_does_not_end_makes_the_service_unready_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(service_module, "STUCK_AFTER_SECONDS", 1.0)
    monkeypatch.setattr(service_module, "WATCH_EVERY_SECONDS", 0.1)
    caplog.set_level(logging.INFO)
    config = make_config(tmp_path)
    async with service_of(config) as service:
        running = asyncio.create_task(service.run_forever())
        database = service.runtime.store.database
        await until(lambda: "monitor running" in caplog.text)
        assert await service.ready()
        holder = sqlite3.connect(tmp_path / "monitor.db", isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")  # another process's write lock: writes wait
        try:
            write = asyncio.create_task(
                database.run(lambda c: c.exec_driver_sql("UPDATE sources SET enabled = enabled"))
            )
            await until(lambda: "has not ended in" in caplog.text)
            assert not write.done()
            assert database.longest_wait() >= 1.0 and wait_shown() >= 1.0
            assert not await service.ready()
            await asyncio.sleep(0.5)  # five more watches: said once
            assert caplog.text.count("polling and delivery wait") == 1
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        await asyncio.wait_for(write, 30)
        await until(lambda: "the database answers again" in caplog.text)
        assert database.longest_wait() < 1.0
        assert await service.ready()
        service.stopping.set()
        await running
