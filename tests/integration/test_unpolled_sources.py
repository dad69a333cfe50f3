"""What `monitor once` reports as not polled: the enabled sources it did not poll, never one
it polled whose poll time could not be written (a locked or full database: an outside probe
saw "303 enabled" of 300, three sources both failed and skipped)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

from monitor.db.sources import SourceSpec
from monitor.db.store import Store


def _spec(name: str) -> SourceSpec:
    return SourceSpec(
        name=name,
        url=f"http://127.0.0.1:9/{name}.xml",
        interval=timedelta(minutes=10),
        enabled=True,
        first_run="store_only",
        first_run_window=timedelta(hours=24),
    )


def test_a_polled_source_whose_poll_time_was_not_written_is_not_unpolled(
    tmp_path: Path,
) -> None:
    store = Store(f"sqlite:///{tmp_path / 'monitor.db'}")
    try:
        store.prepare()
        started = datetime.now(UTC)
        store.start_instance([_spec("a"), _spec("b"), _spec("c")], started)
        ids = {source.name: source.id for source in store.list_sources()}
        # "a" was polled by this run but its poll time never reached the database.
        unpolled, disabled = asyncio.run(store.aunpolled_sources(started, {ids["a"]}))
        assert sorted(row.name for row in unpolled) == ["b", "c"]
        assert disabled == 0
    finally:
        store.close()
