"""story_band_keys: the story band index as bare (key, article_id) pairs

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05 13:00:00

The band index's two levels (docs/stories.md, "In the database") move from ``story_bands``
and ``story_bands_recent`` (six columns, a foreign key and an index on ``article_id``: three
B-trees and a parent lookup per row, 42 rows per article) to ``story_band_keys`` and
``story_band_keys_recent``: the primary key (key, article_id) and nothing else, on SQLite a table
``WITHOUT ROWID`` (one B-tree). A lookup takes the article's time and story from
``story_signatures``. The rows are copied; the old tables are dropped.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

LEVELS = (("story_bands", "story_band_keys"), ("story_bands_recent", "story_band_keys_recent"))


def upgrade() -> None:
    for old, new in LEVELS:
        op.create_table(
            new,
            sa.Column("key", sa.BigInteger(), nullable=False),
            sa.Column("article_id", sa.Integer(), nullable=False),
            sa.PrimaryKeyConstraint("key", "article_id", name=op.f(f"pk_{new}")),
            sqlite_with_rowid=False,
        )
        op.execute(
            f"INSERT INTO {new} (key, article_id) "  # noqa: S608 (constant names)
            f"SELECT key, article_id FROM {old} ORDER BY key, article_id"
        )
        op.drop_index(f"ix_{old}_article_id", table_name=old)
        op.drop_table(old)


def downgrade() -> None:
    """The old tables again, their extra columns taken from each article's signature (the
    band number, which nothing reads, as 0)."""
    for old, new in LEVELS:
        op.create_table(
            old,
            sa.Column("band", sa.SmallInteger(), nullable=False),
            sa.Column("key", sa.BigInteger(), nullable=False),
            sa.Column("article_id", sa.Integer(), nullable=False),
            sa.Column("story_id", sa.Integer(), nullable=False),
            sa.Column("at", sa.DateTime(), nullable=False),
            sa.Column("fetched_at", sa.DateTime(), nullable=False),
            sa.ForeignKeyConstraint(
                ["article_id"],
                ["articles.id"],
                name=op.f(f"fk_{old}_article_id_articles"),
                ondelete="CASCADE",
            ),
            sa.PrimaryKeyConstraint("key", "article_id", name=op.f(f"pk_{old}")),
        )
        op.create_index(f"ix_{old}_article_id", old, ["article_id"])
        op.execute(
            f"INSERT INTO {old} (band, key, article_id, story_id, at, fetched_at) "  # noqa: S608
            f"SELECT 0, k.key, k.article_id, s.story_id, s.at, s.fetched_at FROM {new} k "
            "JOIN story_signatures s ON s.article_id = k.article_id"
        )
        op.drop_table(new)
