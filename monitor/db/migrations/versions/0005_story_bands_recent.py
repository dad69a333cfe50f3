"""story_bands_recent: the newest articles' story band rows, merged into story_bands in order

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05 08:30:00

One new table (docs/stories.md, "Persistence"): ``story_bands_recent``, the same columns as
``story_bands``. New band rows go there and move into ``story_bands`` in key order every few
hundred articles. No existing table is altered; the rows already in ``story_bands`` stay.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "story_bands_recent",
        sa.Column("band", sa.SmallInteger(), nullable=False),
        sa.Column("key", sa.BigInteger(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("story_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("fetched_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["articles.id"],
            name=op.f("fk_story_bands_recent_article_id_articles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("key", "article_id", name=op.f("pk_story_bands_recent")),
    )
    op.create_index("ix_story_bands_recent_article_id", "story_bands_recent", ["article_id"])


def downgrade() -> None:
    op.drop_index("ix_story_bands_recent_article_id", table_name="story_bands_recent")
    op.drop_table("story_bands_recent")
