"""The alembic migrations build exactly the tables the code uses, on SQLite and PostgreSQL,
and what real feeds send (long URLs, long validators) fits in them."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import select

from monitor.db.engine import SCHEMA_REVISION, Database, head_revision
from monitor.db.schema import articles, metadata
from monitor.runtime import Runtime
from monitor.service import run_once
from monitor.settings import load_settings
from tests.integration.helpers import rss, write_config
from tests.support.feed_server import FeedServer, Reply


def test_start_up_knows_the_newest_migration() -> None:
    # prepare() checks the schema against SCHEMA_REVISION without loading alembic.
    assert SCHEMA_REVISION == head_revision()


@pytest.mark.postgres
def test_migrations_match_the_tables(database_url: str) -> None:
    db = Database(database_url)
    try:
        db.prepare()
        with db.engine.connect() as conn:
            differences = compare_metadata(MigrationContext.configure(conn), metadata)
        assert differences == []
    finally:
        db.close()


@pytest.mark.postgres
def test_long_urls_and_validators_are_stored(tmp_path: Path, database_url: str) -> None:
    long_path = "a" * 3000
    entry = (f"x/{long_path}", "Haftar in Tripoli", "<p>Haftar spoke in Tripoli.</p>")
    with FeedServer() as feeds:
        feeds.route("/f.xml", Reply(body=rss([entry]), headers={"ETag": '"' + "e" * 3000 + '"'}))
        config = write_config(
            tmp_path,
            database_url=database_url,
            sources=[("Wire", feeds.url("/f.xml"))],
            sink_url=None,
        )
        runtime = Runtime.build(load_settings(config), need_sinks=True)
        runtime.db.prepare()
        try:
            (poll,), _ = asyncio.run(run_once(runtime))
            assert poll.status == "ok" and poll.new_articles == 1
            url = runtime.db.run_sync(
                lambda c: c.execute(select(articles.c.canonical_url)).scalar_one()
            )
            assert url is not None and long_path in url
        finally:
            runtime.db.close()
