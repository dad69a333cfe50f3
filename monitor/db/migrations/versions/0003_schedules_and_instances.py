"""schedules and instances: adaptive intervals, moved and gone feeds, running services

Revision ID: 0003
Revises: 0002
Create Date: 2027-02-01 09:00:00

Sources gain their schedule (pinned or adaptive, the interval in use and why, the smoothed
rate of new entries, the feed's hint), a permanent redirect target and a "gone" mark. The
``instances`` table records each `monitor run` for `monitor status` and `monitor reload`.
Existing sources count as not pinned until the next start syncs them with the config.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_SOURCE_COLUMNS = (
    ("interval_pinned", sa.Boolean(), False),
    ("current_interval_seconds", sa.Integer(), True),
    ("schedule_reason", sa.String(length=32), True),
    ("entry_rate_per_hour", sa.Float(), True),
    ("hint_seconds", sa.Integer(), True),
    ("moved_to", sa.Text(), True),
    ("gone_at", sa.DateTime(), True),
)


def upgrade() -> None:
    # Plain ALTER TABLE, never a batch copy: on SQLite a batch drops and re-creates the
    # table, and with foreign keys on that would cascade-delete every article.
    for name, kind, nullable in _SOURCE_COLUMNS:
        op.add_column(
            "sources",
            sa.Column(
                name, kind, nullable=nullable, server_default=None if nullable else sa.false()
            ),
        )
    op.create_table(
        "instances",
        sa.Column("owner", sa.String(length=128), nullable=False),
        sa.Column("hostname", sa.String(length=255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("config_path", sa.Text(), nullable=True),
        sa.Column("config_generation", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(), nullable=False),
        sa.Column("reloaded_at", sa.DateTime(), nullable=True),
        sa.Column("reload_failed_at", sa.DateTime(), nullable=True),
        sa.Column("reload_error", sa.Text(), nullable=True),
        sa.Column("stopped_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("owner", name=op.f("pk_instances")),
    )
    with op.batch_alter_table("instances", schema=None) as batch_op:
        batch_op.create_index("ix_instances_heartbeat_at", ["heartbeat_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("instances", schema=None) as batch_op:
        batch_op.drop_index("ix_instances_heartbeat_at")
    op.drop_table("instances")
    for name, _, _ in reversed(_SOURCE_COLUMNS):
        op.drop_column("sources", name)  # native on SQLite 3.35+, no table copy
