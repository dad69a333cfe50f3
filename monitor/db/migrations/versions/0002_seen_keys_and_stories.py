"""seen keys and stories: what each feed has shown, outliving its articles

Revision ID: 0002
Revises: 0001
Create Date: 2027-01-04 09:00:00

Every stored article's key and story are remembered as seen at the upgrade (not at their
fetch): a feed that still shows them re-dates them at its next polls, long before retention
could forget them.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql, sqlite

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_PAGE = 5000

_articles = sa.table(
    "articles",
    sa.column("id", sa.Integer()),
    sa.column("source_id", sa.Integer()),
    sa.column("entry_key", sa.String()),
    sa.column("canonical_url", sa.Text()),
    sa.column("content_hash", sa.String()),
)


def upgrade() -> None:
    for table, column, length in (
        ("seen_keys", "entry_key", 512),
        ("seen_stories", "fingerprint", 64),
    ):
        op.create_table(
            table,
            sa.Column("source_id", sa.Integer(), nullable=False),
            sa.Column(column, sa.String(length=length), nullable=False),
            sa.Column("last_seen_at", sa.DateTime(), nullable=False),
            sa.ForeignKeyConstraint(
                ["source_id"],
                ["sources.id"],
                name=op.f(f"fk_{table}_source_id_sources"),
                ondelete="CASCADE",
            ),
            sa.PrimaryKeyConstraint("source_id", column, name=op.f(f"pk_{table}")),
        )
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(f"ix_{table}_last_seen_at", ["last_seen_at"], unique=False)
    _remember_stored_articles(datetime.now(UTC).replace(tzinfo=None))


def _remember_stored_articles(now: datetime) -> None:
    """A seen_keys row per article, and a seen_stories row per distinct (source, story), both
    seen ``now`` (naive UTC, as the monitor stores times)."""
    bind = op.get_bind()
    seen_keys = sa.table(
        "seen_keys",
        sa.column("source_id", sa.Integer()),
        sa.column("entry_key", sa.String()),
        sa.column("last_seen_at", sa.DateTime()),
    )
    bind.execute(
        seen_keys.insert().from_select(
            ["source_id", "entry_key", "last_seen_at"],
            sa.select(
                _articles.c.source_id,
                _articles.c.entry_key,
                sa.literal(now, sa.DateTime()),
            ),
        )
    )
    seen_stories = sa.table(
        "seen_stories",
        sa.column("source_id", sa.Integer()),
        sa.column("fingerprint", sa.String()),
        sa.column("last_seen_at", sa.DateTime()),
    )
    insert = postgresql.insert if bind.dialect.name == "postgresql" else sqlite.insert
    add_story = insert(seen_stories).on_conflict_do_nothing(
        index_elements=["source_id", "fingerprint"]
    )
    after = 0
    while True:
        page = bind.execute(
            sa.select(
                _articles.c.id,
                _articles.c.source_id,
                _articles.c.canonical_url,
                _articles.c.content_hash,
            )
            .where(_articles.c.id > after)
            .order_by(_articles.c.id)
            .limit(_PAGE)
        ).all()
        if not page:
            return
        after = page[-1].id
        stories = {
            (row.source_id, _fingerprint(row.canonical_url, row.content_hash)) for row in page
        }
        bind.execute(
            add_story,
            [
                {"source_id": source_id, "fingerprint": fingerprint, "last_seen_at": now}
                for source_id, fingerprint in sorted(stories)
            ],
        )


def _fingerprint(url: str | None, content_hash: str) -> str:
    """monitor.parse.story_fingerprint as of this revision (a test keeps them equal)."""
    return hashlib.sha256(f"{url or ''}\x1f{content_hash}".encode()).hexdigest()


def downgrade() -> None:
    for table in ("seen_stories", "seen_keys"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(f"ix_{table}_last_seen_at")
        op.drop_table(table)
