"""Alembic migrations of the news-monitor schema."""
