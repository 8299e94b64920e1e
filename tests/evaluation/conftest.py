"""Fixtures for the monitoring tests: one database per test, on SQLite and on PostgreSQL.

PostgreSQL runs in a fresh schema of its own (``pg_schema_url`` of tests/conftest.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """URL of an empty database: a SQLite file, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store' / 'restora.db'}"
    return str(request.getfixturevalue("pg_schema_url"))
