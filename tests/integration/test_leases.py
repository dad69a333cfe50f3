"""Leases on sources and deliveries: a claim holds until it is released or expires, so a
dead instance's work is taken over, and a live one's is never taken twice."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from monitor.db.articles import ArticleRecord
from monitor.db.sources import PollRecord, SourceSpec
from monitor.db.store import Store
from monitor.match import WatchlistMatch

T0 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
LEASE = timedelta(minutes=5)


@pytest.mark.postgres
def test_source_and_delivery_leases(database_url: str) -> None:
    store = Store(database_url)
    store.prepare()
    try:
        spec = SourceSpec(
            "Wire",
            "https://example.org/rss",
            timedelta(minutes=10),
            True,
            "store_only",
            timedelta(hours=24),
        )
        store.sync_sources([spec], T0)

        def claim(owner: str, at: datetime) -> list[object]:
            return asyncio.run(store.claim_sources(owner=owner, now=at, lease=LEASE, limit=10))

        (claimed,) = claim("a", T0)
        assert claim("b", T0 + timedelta(minutes=1)) == []  # held by a
        (taken,) = claim("b", T0 + LEASE + timedelta(seconds=1))  # a died: b takes over
        assert taken.id == claimed.id  # type: ignore[attr-defined]

        match = WatchlistMatch("libya", ("haftar",), (), (), None)
        record = ArticleRecord(
            entry_key="k1",
            canonical_url=None,
            title="Haftar",
            summary="",
            content="",
            published_at=None,
            content_hash="h",
            fingerprint="f",
            matches=(match,),
            alert_sinks={"libya": ("ops",)},
        )
        poll = PollRecord(taken.id, T0, T0 + timedelta(minutes=10), True, 200)  # type: ignore[attr-defined]
        counts = asyncio.run(store.store_feed(taken.id, [record], poll, T0))  # type: ignore[attr-defined]
        assert (counts.articles, counts.matches, counts.deliveries) == (1, 1, 1)

        def claim_deliveries(owner: str, at: datetime) -> list[object]:
            return asyncio.run(store.claim_deliveries(owner=owner, now=at, lease=LEASE, limit=10))

        (due,) = claim_deliveries("a", T0)
        assert claim_deliveries("b", T0 + timedelta(minutes=1)) == []
        asyncio.run(
            store.mark_failed(
                due.id,  # type: ignore[attr-defined]
                now=T0,
                next_attempt_at=T0 + timedelta(minutes=2),
                reason="http_5xx",
                error="500",
                status=500,
            )
        )
        assert claim_deliveries("b", T0 + timedelta(minutes=1)) == []  # not due yet
        (again,) = claim_deliveries("b", T0 + timedelta(minutes=2))
        assert again.id == due.id and again.attempts == 1  # type: ignore[attr-defined]
    finally:
        store.close()
