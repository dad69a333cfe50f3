"""`Store.retry_sources` (`monitor sources retry`): failed sources waiting for a later poll
become due now, their failure count kept; healthy, gone and disabled ones are left as they
are (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from monitor.db.sources import PollRecord, SourceSpec, record_polls
from monitor.db.store import Store

T0 = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


def _spec(name: str, enabled: bool = True) -> SourceSpec:
    return SourceSpec(
        name, f"https://example.org/{name}.xml", timedelta(minutes=10), enabled, "store_only",
        timedelta(hours=24),
    )  # fmt: skip


@pytest.mark.postgres
def test_failed_sources_become_due_now_and_keep_their_failure_count(database_url: str) -> None:
    store = Store(database_url)
    store.prepare()
    try:
        names = ["Failing", "Limited", "Healthy", "Gone", "Off", "Other"]
        store.sync_sources([_spec(n, n != "Off") for n in names], T0)
        ids = {row.name: row.id for row in store.list_sources()}
        later = T0 + timedelta(hours=2)

        def polled(name: str, ok: bool, **extra: object) -> PollRecord:
            return PollRecord(
                ids[name], T0, later, ok, 200 if ok else 404, reason=None if ok else "http_4xx",
                **extra,  # type: ignore[arg-type]
            )  # fmt: skip

        store.database.run_sync(
            lambda c: record_polls(
                c,
                [
                    polled("Failing", False),
                    polled("Limited", False),
                    polled("Healthy", True),
                    polled("Gone", False, gone=True),
                    polled("Other", False),
                ],
            )
        )
        now = T0 + timedelta(minutes=1)
        assert store.retry_sources([ids["Failing"], ids["Healthy"]], now) == ["Failing"]
        assert store.retry_sources(None, now) == ["Limited", "Other"]
        assert store.retry_sources(None, now) == []  # due already: nothing waits
        rows = {row.name: row for row in store.list_sources()}
        for name in ("Failing", "Limited", "Other"):
            assert rows[name].next_poll_at == now and rows[name].consecutive_failures == 1
        assert rows["Healthy"].next_poll_at == later and rows["Gone"].next_poll_at == later
    finally:
        store.close()
