"""`monitor.db.engine.insert_with_ids`: new ids in the order of the rows given, from one
statement per batch (not one per row, as SQLAlchemy's ordered RETURNING runs on SQLite), on
SQLite and PostgreSQL; and what storing a feed costs in statements."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime

import pytest
from sqlalchemy import event, select

from monitor.db.engine import insert_with_ids
from monitor.db.schema import stories
from monitor.db.store import Store

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


def _story(first_article_id: int) -> dict[str, object]:
    return {
        "first_article_id": first_article_id,
        "title": f"story {first_article_id}",
        "first_seen_at": NOW,
        "last_seen_at": NOW,
        "article_count": 1,
    }


def _insert_stories(store: Store, firsts: list[int]) -> list[int]:
    """Insert a story per first article id; the first article id of each id returned."""

    def work(conn):  # type: ignore[no-untyped-def]
        ids = insert_with_ids(conn, stories, [_story(f) for f in firsts], key=("first_article_id",))
        stored = dict(conn.execute(select(stories.c.id, stories.c.first_article_id)).all())
        assert len(set(ids)) == len(firsts)
        return [stored[i] for i in ids]

    return store.database.run_sync(work)


def test_ids_come_back_in_the_order_of_the_rows_from_one_statement(database_url: str) -> None:
    store = Store(database_url)
    store.prepare()
    firsts = random.Random(3).sample(range(1, 10**6), 300)  # not in any order
    inserts: Counter[str] = Counter()

    def count(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("INSERT"):
            inserts[statement.split("(")[0].strip()] += 1

    event.listen(store.database.engine, "before_cursor_execute", count)
    try:
        assert _insert_stories(store, firsts) == firsts
    finally:
        store.close()
    assert sum(inserts.values()) == 1, inserts


def test_rows_that_share_their_key_are_refused(database_url: str) -> None:
    store = Store(database_url)
    store.prepare()
    try:
        with pytest.raises(
            ValueError, match="stories: rows inserted with the same first_article_id"
        ):
            store.database.run_sync(
                lambda conn: insert_with_ids(
                    conn, stories, [_story(5), _story(5)], key=("first_article_id",)
                )
            )
    finally:
        store.close()


def test_more_rows_than_one_statement_takes_all_come_back_in_order(database_url: str) -> None:
    # SQLAlchemy splits a long insert into batches (1,000 rows, and SQLite's limit on bound
    # values): the ids of every batch are matched to their rows.
    store = Store(database_url)
    store.prepare()
    firsts = random.Random(5).sample(range(1, 10**7), 2500)
    try:
        assert _insert_stories(store, firsts) == firsts
    finally:
        store.close()
