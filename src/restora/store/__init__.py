"""Storage: SQLAlchemy models, repositories, Alembic migrations."""
