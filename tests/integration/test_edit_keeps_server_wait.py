"""A config edit that changes a source's interval makes it due now, except while a 429 or a
503 holds it: the server's wait outlives the edit, on a reload as at a start (SQLite and
PostgreSQL). An outside probe saw a feed that had answered 429 with Retry-After: 600
polled a second after `monitor reload`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from monitor.db.sources import PollRecord, SourceSpec, record_polls
from monitor.db.store import Store

T0 = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


def _spec(name: str, minutes: int) -> SourceSpec:
    return SourceSpec(
        name, f"https://example.org/{name}.xml", timedelta(minutes=minutes), True, "store_only",
        timedelta(hours=24),
    )  # fmt: skip


@pytest.mark.postgres
def test_an_interval_edit_waits_out_a_429_or_503_but_not_other_failures(
    database_url: str,
) -> None:
    store = Store(database_url)
    store.prepare()
    try:
        names = {"Limited": 429, "Unavailable": 503, "Broken": 500, "Missing": 404}
        store.sync_sources([_spec(n, 1) for n in names], T0)
        ids = {row.name: row.id for row in store.list_sources()}
        held = T0 + timedelta(minutes=10)
        store.database.run_sync(
            lambda c: record_polls(
                c,
                [
                    PollRecord(ids[n], T0, held, False, status, reason="http_error")
                    for n, status in names.items()
                ],
            )
        )
        edited = T0 + timedelta(minutes=5)
        store.sync_sources([_spec(n, 2) for n in names], edited)
        rows = {row.name: row for row in store.list_sources()}
        assert rows["Limited"].next_poll_at == held
        assert rows["Unavailable"].next_poll_at == held
        assert rows["Broken"].next_poll_at == edited
        assert rows["Missing"].next_poll_at == edited
        assert all(r.interval == timedelta(minutes=2) for r in rows.values())
        # Once the wait is over, an edit makes the source due at once again.
        after = held + timedelta(seconds=1)
        store.sync_sources([_spec(n, 3) for n in names], after)
        assert store.list_sources()[0].next_poll_at == after
    finally:
        store.close()
