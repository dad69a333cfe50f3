"""repair_schema_drift: what three migrations gained after databases were stamped with them

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 09:00:00

Three migrations were edited in place after a version that ran them had been released, so a
database made by that version carries the revision but not what the edited migration creates
now, and no later migration adds it (docs/operations.md, "Upgrading"):

* 0004 as of f10fb57 lacked ``deliveries.update_of``, ``deliveries.changes`` and
  ``deliveries.digest_id`` and the tables ``story_alerts``, ``digests`` and ``digest_items``
  (added to 0004 by 34661c7): every delivery query failed on ``deliveries.update_of``.
* 0003 as of 971fa33 lacked ``instances.reload_failed_at`` and ``instances.reload_error``
  (added to 0003 by 46072d0): `monitor status` and `monitor reload` failed.
* 0001 as of 277d462 made URLs and HTTP validators ``varchar(N)`` (``text`` since 3eca134):
  on PostgreSQL a longer link made its whole feed fail on every poll.

Each item is looked up and only what is missing is added, with the definitions the current
0003 and 0004 use; on PostgreSQL a ``varchar`` column that the schema declares ``Text``
becomes ``text`` (no rewrite of the table: the two types share their storage). A database
that already matches is only read. SQLite ignores ``varchar`` lengths, so its declared types
are left as they are (changing one would mean copying the table, which on SQLite can
cascade-delete rows of the tables that refer to it).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

from monitor.db.schema import metadata

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# As the current 0004 adds them: nullable, no default, no foreign key (plain ADD COLUMN).
_DELIVERY_COLUMNS = (
    ("update_of", sa.String(length=36)),
    ("changes", sa.JSON()),
    ("digest_id", sa.String(length=36)),
)
# As the current 0003 creates them in ``instances``: nullable, no default.
_INSTANCE_COLUMNS = (
    ("reload_failed_at", sa.DateTime()),
    ("reload_error", sa.Text()),
)


def upgrade() -> None:
    bind = op.get_bind()
    inspector = sa.inspect(bind)
    tables = set(inspector.get_table_names())
    _add_missing_columns(inspector, "deliveries", _DELIVERY_COLUMNS)
    _add_missing_columns(inspector, "instances", _INSTANCE_COLUMNS)
    _create_missing_alert_tables(inspector, tables)
    if bind.dialect.name == "postgresql":
        _unbound_text_columns(inspector, tables)


def _add_missing_columns(
    inspector: sa.Inspector, table: str, columns: tuple[tuple[str, sa.types.TypeEngine[Any]], ...]
) -> None:
    present = {c["name"] for c in inspector.get_columns(table)}
    for name, kind in columns:
        if name not in present:
            # Nullable without a default: SQLite's ALTER TABLE ADD COLUMN takes it as is.
            op.add_column(table, sa.Column(name, kind, nullable=True))


def _create_missing_alert_tables(inspector: sa.Inspector, tables: set[str]) -> None:
    """``story_alerts``, ``digests`` and ``digest_items`` with their indexes, exactly as the
    current 0004 creates them; an index is added to a table that exists but lacks it."""
    if "story_alerts" not in tables:
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
    if "digests" not in tables:
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
    if "digest_items" not in tables:
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
    indexes = (
        ("ix_story_alerts_story_id_sink", "story_alerts", ["story_id", "sink", "watchlist"]),
        ("ix_story_alerts_delivery_id", "story_alerts", ["delivery_id"]),
        ("ix_digest_items_sink_digest_id", "digest_items", ["sink", "digest_id"]),
    )
    for name, table, columns in indexes:
        present = {ix["name"] for ix in inspector.get_indexes(table)} if table in tables else set()
        if name not in present:
            op.create_index(name, table, columns)


def _unbound_text_columns(inspector: sa.Inspector, tables: set[str]) -> None:
    """PostgreSQL: ``ALTER COLUMN ... TYPE TEXT`` for each column that is ``varchar`` in the
    database and ``Text`` in the schema; no other type is touched."""
    names = [t.name for t in metadata.sorted_tables if t.name in tables]
    found = inspector.get_multi_columns(filter_names=names)
    for (_, table_name), columns in sorted(found.items()):
        table = metadata.tables[table_name]
        for column in columns:
            wanted = table.c.get(column["name"])
            if wanted is None or not isinstance(wanted.type, sa.Text):
                continue
            current = column["type"]
            if isinstance(current, sa.String) and not isinstance(current, sa.Text):
                op.alter_column(
                    table_name,
                    column["name"],
                    type_=sa.Text(),
                    existing_type=current,
                    existing_nullable=column["nullable"],
                )


def downgrade() -> None:
    # Nothing to undo: 0007 only adds what revisions 0001, 0003 and 0004 already promise
    # (their current files create it all), so a database at 0006 is meant to have it too.
    # Removing it would break 0006's code and make a database 0007 never touched unlike
    # one it repaired.
    pass
