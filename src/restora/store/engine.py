"""Database URLs and engines: the embedded SQLite default and PostgreSQL.

SQLite is opened so that every transaction is a real one (``BEGIN`` is emitted by SQLAlchemy,
not left to the driver, which would commit DDL statement by statement) and, for normal use,
with foreign keys enforced. Migrations open SQLite with foreign keys off, because Alembic's
batch mode rebuilds a table by copying it and dropping the original, and a drop with foreign
keys on would cascade into the child tables.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import platformdirs
import sqlalchemy as sa
from sqlalchemy.engine import make_url

ENV_URL = "RESTORA_DATABASE_URL"


def default_url() -> str:
    """The store's URL: ``RESTORA_DATABASE_URL`` if set, else the embedded SQLite file.

    The SQLite file is ``restora.db`` in ``platformdirs.user_data_dir("restora")``
    (``~/.local/share/restora/restora.db`` on Linux).
    """
    env = os.environ.get(ENV_URL, "").strip()
    if env:
        return env
    return f"sqlite:///{Path(platformdirs.user_data_dir('restora')) / 'restora.db'}"


def sqlite_path(url: str | sa.URL) -> Path | None:
    """The file of a SQLite URL, or None for other databases and in-memory SQLite."""
    u = make_url(url)
    if u.get_backend_name() != "sqlite":
        return None
    db = u.database
    if not db or db == ":memory:" or db.startswith("file:"):
        return None
    return Path(db)


def create_engine(url: str | sa.URL, *, foreign_keys: bool = True, **kwargs: Any) -> sa.Engine:
    """An engine for ``url``; for a SQLite file, creates its folder and sets up transactions.

    Parameters
    ----------
    url : str or sqlalchemy.URL
        Database URL (``sqlite:///path`` or ``postgresql+psycopg://...``).
    foreign_keys : bool
        SQLite only: enforce foreign keys (off while migrating, see module docstring).
    **kwargs
        Passed to :func:`sqlalchemy.create_engine`.
    """
    path = sqlite_path(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        _sqlite_transactions(engine, foreign_keys=foreign_keys)
    return engine


def _sqlite_transactions(engine: sa.Engine, *, foreign_keys: bool) -> None:
    # The recipe of SQLAlchemy's SQLite dialect documentation ("Serializable isolation /
    # Savepoints / Transactional DDL"): switch off the driver's own BEGIN handling, emit ours.
    pragma = f"PRAGMA foreign_keys={'ON' if foreign_keys else 'OFF'}"

    @sa.event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(pragma)
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _begin(connection: sa.Connection) -> None:
        connection.exec_driver_sql("BEGIN")
