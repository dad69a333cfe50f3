"""Leases on sources and deliveries: a claim holds until it is released or expires, so a
dead instance's work is taken over, and a live one's is never taken twice."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from monitor.db import deliveries as delivery_queries
from monitor.db import sources as source_queries
from monitor.db.articles import ArticleRecord, MatchRecord, store_articles
from monitor.db.engine import Database
from monitor.db.sources import SourceSpec

T0 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
LEASE = timedelta(minutes=5)


@pytest.mark.postgres
def test_source_and_delivery_leases(database_url: str) -> None:
    db = Database(database_url)
    db.prepare()
    try:
        spec = SourceSpec(
            "Wire",
            "https://example.org/rss",
            timedelta(minutes=10),
            True,
            "store_only",
            timedelta(hours=24),
        )
        db.run_sync(lambda c: source_queries.sync_sources(c, [spec], T0))

        def claim(owner: str, at: datetime) -> list[source_queries.SourceRow]:
            return db.run_sync(
                lambda c: source_queries.claim_due(c, owner=owner, now=at, lease=LEASE, limit=10)
            )

        (claimed,) = claim("a", T0)
        assert claim("b", T0 + timedelta(minutes=1)) == []  # held by a
        (taken,) = claim("b", T0 + LEASE + timedelta(seconds=1))  # a died: b takes over
        assert taken.id == claimed.id

        record = ArticleRecord(
            entry_key="k1",
            canonical_url=None,
            title="Haftar",
            summary="",
            content="",
            published_at=None,
            content_hash="h",
            matches=(MatchRecord("libya", ("haftar",), {"matches": [], "excerpts": []}),),
            alert_sinks={"libya": ("ops",)},
        )
        counts = db.run_sync(lambda c: store_articles(c, taken.id, [record], T0))
        assert (counts.articles, counts.matches, counts.deliveries) == (1, 1, 1)

        def claim_deliveries(owner: str, at: datetime) -> list[delivery_queries.DueDelivery]:
            return db.run_sync(
                lambda c: delivery_queries.claim_due(c, owner=owner, now=at, lease=LEASE, limit=10)
            )

        (due,) = claim_deliveries("a", T0)
        assert claim_deliveries("b", T0 + timedelta(minutes=1)) == []
        db.run_sync(
            lambda c: delivery_queries.mark_failed(
                c,
                due.id,
                now=T0,
                next_attempt_at=T0 + timedelta(minutes=2),
                reason="http_5xx",
                error="500",
                status=500,
            )
        )
        assert claim_deliveries("b", T0 + timedelta(minutes=1)) == []  # not due yet
        (again,) = claim_deliveries("b", T0 + timedelta(minutes=2))
        assert again.id == due.id and again.attempts == 1  # same delivery, same webhook-id
    finally:
        db.close()
