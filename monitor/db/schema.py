"""The database tables (SQLAlchemy Core), one schema for SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores them naive, in UTC)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use an aware UTC datetime")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

sources = Table(
    "sources",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("url", String(2048), nullable=False, unique=True),
    Column("name", String(512), nullable=False),
    Column("enabled", Boolean, nullable=False, default=True),
    Column("interval_seconds", Integer, nullable=False),
    Column("first_run", String(32), nullable=False, default="store_only"),
    Column("first_run_window_seconds", Integer, nullable=False, default=86400),
    Column("next_poll_at", UTCDateTime, nullable=False),
    Column("etag", Text),
    Column("last_modified", Text),
    Column("final_url", Text),
    Column("consecutive_failures", Integer, nullable=False, default=0),
    Column("last_status", Integer),
    Column("last_error", Text),
    Column("last_error_reason", String(64)),
    Column("last_polled_at", UTCDateTime),
    Column("last_success_at", UTCDateTime),
    Column("first_polled_at", UTCDateTime),
    Column("entries_seen", Integer, nullable=False, default=0),
    Column("articles_stored", Integer, nullable=False, default=0),
    # The schedule (docs/operations.md, "Schedules"): whether the config pins the interval,
    # the interval in use and why, the smoothed rate of new entries, and the feed's own hint.
    Column("interval_pinned", Boolean, nullable=False, default=False),
    Column("current_interval_seconds", Integer),
    Column("schedule_reason", String(32)),
    Column("entry_rate_per_hour", Float),
    Column("hint_seconds", Integer),
    # A permanent redirect (301/308): the URL polled instead of ``url`` until the config
    # follows. ``gone_at``: the feed answered 410 Gone; it is not polled until its entry changes.
    Column("moved_to", Text),
    Column("gone_at", UTCDateTime),
    Column("lease_owner", String(128)),
    Column("lease_expires_at", UTCDateTime),
    Column("created_at", UTCDateTime, nullable=False),
)

articles = Table(
    "articles",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("source_id", Integer, ForeignKey("sources.id", ondelete="CASCADE"), nullable=False),
    Column("entry_key", String(512), nullable=False),
    Column("canonical_url", Text),
    Column("title", Text, nullable=False, default=""),
    Column("summary", Text, nullable=False, default=""),
    Column("content", Text, nullable=False, default=""),
    Column("published_at", UTCDateTime),
    Column("fetched_at", UTCDateTime, nullable=False),
    Column("content_hash", String(64), nullable=False),
    UniqueConstraint("source_id", "entry_key"),
    Index("ix_articles_fetched_at", "fetched_at"),
)

# What each source's feed has shown, outliving the articles (see docs/operations.md, "Never
# sent twice"): every entry key, and every story (`monitor.parse.story_fingerprint`), with
# when it was last seen in the feed. Retention forgets a row once it has not been seen for
# `retention` and no stored article has its key.
seen_keys = Table(
    "seen_keys",
    metadata,
    Column("source_id", Integer, ForeignKey("sources.id", ondelete="CASCADE"), nullable=False),
    Column("entry_key", String(512), nullable=False),
    Column("last_seen_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("source_id", "entry_key"),
    Index("ix_seen_keys_last_seen_at", "last_seen_at"),
)

seen_stories = Table(
    "seen_stories",
    metadata,
    Column("source_id", Integer, ForeignKey("sources.id", ondelete="CASCADE"), nullable=False),
    Column("fingerprint", String(64), nullable=False),
    Column("last_seen_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("source_id", "fingerprint"),
    Index("ix_seen_stories_last_seen_at", "last_seen_at"),
)

matches = Table(
    "matches",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("article_id", Integer, ForeignKey("articles.id", ondelete="CASCADE"), nullable=False),
    Column("watchlist", String(256), nullable=False),
    Column("entities", JSON, nullable=False),
    Column("detail", JSON, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("article_id", "watchlist"),
)

deliveries = Table(
    "deliveries",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("match_id", Integer, ForeignKey("matches.id", ondelete="CASCADE"), nullable=False),
    Column("sink", String(256), nullable=False),
    Column("status", String(16), nullable=False, default="pending"),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("last_error", Text),
    Column("last_error_reason", String(64)),
    Column("last_status", Integer),
    Column("created_at", UTCDateTime, nullable=False),
    Column("delivered_at", UTCDateTime),
    Column("lease_owner", String(128)),
    Column("lease_expires_at", UTCDateTime),
    # A story follow-up (docs/stories.md): the first alert it follows and what changed.
    Column("update_of", String(36)),
    Column("changes", JSON),
    # A digest's delivery: ``match_id`` is its first item's match, the rest in digest_items.
    Column("digest_id", String(36)),
    UniqueConstraint("match_id", "sink"),
    Index("ix_deliveries_status_next_attempt_at", "status", "next_attempt_at"),
)

instances = Table(
    "instances",
    metadata,
    # A running (or stopped) `monitor run`: what `monitor status` and `monitor reload` read.
    Column("owner", String(128), primary_key=True),
    Column("hostname", String(255), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("version", String(64), nullable=False),
    Column("config_path", Text),
    Column("config_generation", Integer, nullable=False, default=1),
    Column("started_at", UTCDateTime, nullable=False),
    Column("heartbeat_at", UTCDateTime, nullable=False),
    Column("reloaded_at", UTCDateTime),
    # The last reload the service refused (an invalid config) and why, for `monitor reload`.
    Column("reload_failed_at", UTCDateTime),
    Column("reload_error", Text),
    Column("stopped_at", UTCDateTime),
    Index("ix_instances_heartbeat_at", "heartbeat_at"),
)

# Stories (docs/stories.md): near-identical articles from any source within a time window.
# ``stories``: one row per story, its first article's title and time, when an article last
# joined it and how many ever did (pruned ones included). ``story_signatures``: one row per
# stored article, its story, the stored article it matched and its MinHash signature (gone
# with the article). ``story_band_keys``: the LSH index, one row per (band key, article), deleted
# once older than twice the window (it can no longer match a new article).
stories = Table(
    "stories",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("first_article_id", Integer, nullable=False),
    Column("title", Text, nullable=False, default=""),
    Column("first_seen_at", UTCDateTime, nullable=False),
    Column("last_seen_at", UTCDateTime, nullable=False),
    Column("article_count", Integer, nullable=False, default=1),
    Index("ix_stories_last_seen_at", "last_seen_at"),
)

story_signatures = Table(
    "story_signatures",
    metadata,
    Column(
        "article_id",
        Integer,
        ForeignKey("articles.id", ondelete="CASCADE"),
        primary_key=True,
        autoincrement=False,
    ),
    Column("story_id", Integer, ForeignKey("stories.id", ondelete="CASCADE"), nullable=False),
    Column("matched_id", Integer),
    Column("jaccard", Float, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("fetched_at", UTCDateTime, nullable=False),
    Column("scheme", SmallInteger, nullable=False),
    Column("minhash", LargeBinary, nullable=False),
    Column("shingles", Integer, nullable=False),
    Column("names", Text, nullable=False),
    Column("lead_names", Text, nullable=False),
    Index("ix_story_signatures_story_id", "story_id"),
    Index("ix_story_signatures_at", "at"),
    Index("ix_story_signatures_fetched_at", "fetched_at"),
)


def _band_table(name: str) -> Table:
    # The primary key and nothing else (migration 0006): 42 rows per article, so every
    # column, index and foreign key was paid 42 times per article at ingest. A lookup takes
    # the article's time and story from ``story_signatures``; no foreign key: a deleted
    # article's rows match no signature, and the retention job's prune removes them.
    return Table(
        name,
        metadata,
        Column("key", BigInteger, nullable=False),
        Column("article_id", Integer, nullable=False),
        PrimaryKeyConstraint("key", "article_id"),  # a key names its band: looked up by key
        sqlite_with_rowid=False,  # one B-tree on SQLite: the rows are the primary key
    )


# The band index in two levels (docs/stories.md, "In the database"): an article's 42 rows go
# into the small ``story_band_keys_recent``, whose pages stay in the cache; every
# `monitor.db.stories.MERGE_ARTICLES` articles its rows move into ``story_band_keys`` in key
# order, so each page of the large table is written once per merge rather than once per
# feed. A lookup reads both.
story_band_keys = _band_table("story_band_keys")
story_band_keys_recent = _band_table("story_band_keys_recent")

# What each sink was told about each story, per watchlist (docs/stories.md, "Alert policy"):
# one row per alert (``first``, ``update``, ``all``) or digest item (``digest``), with the
# watched entities and the story's sources it told of. Written in the storing transaction.
story_alerts = Table(
    "story_alerts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("story_id", Integer, ForeignKey("stories.id", ondelete="CASCADE"), nullable=False),
    Column("watchlist", String(256), nullable=False),
    Column("sink", String(256), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("delivery_id", String(36)),
    Column("article_id", Integer, nullable=False),
    Column("entities", JSON, nullable=False),
    Column("sources", JSON, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_story_alerts_story_id_sink", "story_id", "sink", "watchlist"),
    Index("ix_story_alerts_delivery_id", "delivery_id"),
)

# Digest sinks: each match a digest sink should hear of waits in ``digest_items`` until the
# digest of its period takes it (``digest_id``); ``digests`` says which periods were made.
digests = Table(
    "digests",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("sink", String(256), nullable=False),
    Column("period_start", UTCDateTime, nullable=False),
    Column("period_end", UTCDateTime, nullable=False),
    Column("items", Integer, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("sink", "period_end"),
)

digest_items = Table(
    "digest_items",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("sink", String(256), nullable=False),
    Column("match_id", Integer, ForeignKey("matches.id", ondelete="CASCADE"), nullable=False),
    Column("story_id", Integer),
    Column("watchlist", String(256), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("digest_id", String(36)),
    Index("ix_digest_items_sink_digest_id", "sink", "digest_id"),
)
