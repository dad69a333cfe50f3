"""Storage: tables, queries and migrations (SQLAlchemy 2, SQLite or PostgreSQL)."""
