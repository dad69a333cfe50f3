"""stories: near-identical articles from any source grouped into stories

Revision ID: 0004
Revises: 0003
Create Date: 2027-03-01 09:00:00

Three new tables (docs/stories.md, "Persistence"): ``stories``, ``story_signatures`` (one
row per stored article: its story and MinHash signature) and ``story_bands`` (the LSH index
of the recent articles). Existing articles get no story: only articles stored from now on
are assigned. No existing table is altered.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # New tables only, never a batch copy of ``articles`` or ``sources``: on SQLite a batch
    # drops and re-creates the table, and with foreign keys on that cascade-deletes articles.
    op.create_table(
        "stories",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("first_article_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(), nullable=False),
        sa.Column("article_count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stories")),
    )
    op.create_index("ix_stories_last_seen_at", "stories", ["last_seen_at"], unique=False)
    op.create_table(
        "story_signatures",
        sa.Column("article_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("story_id", sa.Integer(), nullable=False),
        sa.Column("matched_id", sa.Integer(), nullable=True),
        sa.Column("jaccard", sa.Float(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("fetched_at", sa.DateTime(), nullable=False),
        sa.Column("scheme", sa.SmallInteger(), nullable=False),
        sa.Column("minhash", sa.LargeBinary(), nullable=False),
        sa.Column("shingles", sa.Integer(), nullable=False),
        sa.Column("names", sa.Text(), nullable=False),
        sa.Column("lead_names", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["articles.id"],
            name=op.f("fk_story_signatures_article_id_articles"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["story_id"],
            ["stories.id"],
            name=op.f("fk_story_signatures_story_id_stories"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("article_id", name=op.f("pk_story_signatures")),
    )
    op.create_index("ix_story_signatures_story_id", "story_signatures", ["story_id"])
    op.create_index("ix_story_signatures_at", "story_signatures", ["at"])
    op.create_index("ix_story_signatures_fetched_at", "story_signatures", ["fetched_at"])
    op.create_table(
        "story_bands",
        sa.Column("band", sa.SmallInteger(), nullable=False),
        sa.Column("key", sa.BigInteger(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("story_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("fetched_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["articles.id"],
            name=op.f("fk_story_bands_article_id_articles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("key", "article_id", name=op.f("pk_story_bands")),
    )
    op.create_index("ix_story_bands_article_id", "story_bands", ["article_id"])
    # Alert policy per sink and digests (docs/stories.md). Plain ADD COLUMN on deliveries.
    op.add_column("deliveries", sa.Column("update_of", sa.String(length=36), nullable=True))
    op.add_column("deliveries", sa.Column("changes", sa.JSON(), nullable=True))
    op.add_column("deliveries", sa.Column("digest_id", sa.String(length=36), nullable=True))
    op.create_table(
        "story_alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("story_id", sa.Integer(), nullable=False),
        sa.Column("watchlist", sa.String(length=256), nullable=False),
        sa.Column("sink", sa.String(length=256), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("delivery_id", sa.String(length=36), nullable=True),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("entities", sa.JSON(), nullable=False),
        sa.Column("sources", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["story_id"],
            ["stories.id"],
            name=op.f("fk_story_alerts_story_id_stories"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_story_alerts")),
    )
    op.create_index(
        "ix_story_alerts_story_id_sink", "story_alerts", ["story_id", "sink", "watchlist"]
    )
    op.create_index("ix_story_alerts_delivery_id", "story_alerts", ["delivery_id"])
    op.create_table(
        "digests",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("sink", sa.String(length=256), nullable=False),
        sa.Column("period_start", sa.DateTime(), nullable=False),
        sa.Column("period_end", sa.DateTime(), nullable=False),
        sa.Column("items", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_digests")),
        sa.UniqueConstraint("sink", "period_end", name=op.f("uq_digests_sink_period_end")),
    )
    op.create_table(
        "digest_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sink", sa.String(length=256), nullable=False),
        sa.Column("match_id", sa.Integer(), nullable=False),
        sa.Column("story_id", sa.Integer(), nullable=True),
        sa.Column("watchlist", sa.String(length=256), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("digest_id", sa.String(length=36), nullable=True),
        sa.ForeignKeyConstraint(
            ["match_id"],
            ["matches.id"],
            name=op.f("fk_digest_items_match_id_matches"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_digest_items")),
    )
    op.create_index("ix_digest_items_sink_digest_id", "digest_items", ["sink", "digest_id"])


def downgrade() -> None:
    op.drop_index("ix_digest_items_sink_digest_id", table_name="digest_items")
    op.drop_table("digest_items")
    op.drop_table("digests")
    op.drop_index("ix_story_alerts_delivery_id", table_name="story_alerts")
    op.drop_index("ix_story_alerts_story_id_sink", table_name="story_alerts")
    op.drop_table("story_alerts")
    # SQLite drops a column by copying the table: only the deliveries table, no cascade.
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("digest_id")
        batch.drop_column("changes")
        batch.drop_column("update_of")
    op.drop_index("ix_story_bands_article_id", table_name="story_bands")
    op.drop_table("story_bands")
    op.drop_index("ix_story_signatures_fetched_at", table_name="story_signatures")
    op.drop_index("ix_story_signatures_at", table_name="story_signatures")
    op.drop_index("ix_story_signatures_story_id", table_name="story_signatures")
    op.drop_table("story_signatures")
    op.drop_index("ix_stories_last_seen_at", table_name="stories")
    op.drop_table("stories")
