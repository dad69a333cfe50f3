"""`monitor.db.engine.in_list`: a list of integers bound as one value (a JSON array on SQLite,
an array on PostgreSQL) selects exactly the rows an expanding IN would, for the whole signed
64-bit range the story band keys use."""

from __future__ import annotations

import random

from sqlalchemy import select

from monitor.db.engine import in_list, list_value
from monitor.db.schema import story_band_keys
from monitor.db.store import Store


def test_in_list_selects_the_rows_an_expanding_in_selects(database_url: str) -> None:
    store = Store(database_url)
    store.prepare()
    rng = random.Random(7)
    keys = {-(2**63), 2**63 - 1, 0, -1, 1} | {rng.randint(-(2**63), 2**63 - 1) for _ in range(3000)}
    rows = [{"key": key, "article_id": i % 50} for i, key in enumerate(sorted(keys))]
    wanted = set(rng.sample(sorted(keys), 1500)) | {-(2**63), 2**63 - 1}
    absent = {rng.randint(-(2**63), 2**63 - 1) for _ in range(200)} - keys

    def work(conn):  # type: ignore[no-untyped-def]
        conn.execute(story_band_keys.insert(), rows)
        dialect = conn.dialect.name
        query = select(story_band_keys.c.key).where(in_list(story_band_keys.c.key, "k", dialect))
        found = {k for (k,) in conn.execute(query, {"k": list_value(wanted | absent, dialect)})}
        expanding = select(story_band_keys.c.key).where(story_band_keys.c.key.in_(wanted))
        return found, {k for (k,) in conn.execute(expanding)}

    try:
        found, expected = store.database.run_sync(work)
    finally:
        store.close()
    assert found == expected == wanted
