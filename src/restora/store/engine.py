"""Database URLs and engines: the embedded SQLite default and PostgreSQL.

SQLite is opened so that every transaction is a real one (``BEGIN IMMEDIATE`` is emitted by
SQLAlchemy, not left to the driver, which would commit DDL statement by statement) and, for
normal use, with foreign keys enforced. Migrations open SQLite with foreign keys off, because
Alembic's batch mode rebuilds a table by copying it and dropping the original, and a drop with
foreign keys on would cascade into the child tables.

Concurrent writers queue rather than fail (docs/store.md, "Locking and concurrent writers"):

- SQLite: every transaction begins ``IMMEDIATE``, taking the database's write lock before its
  first read, and a connection waits up to the busy timeout (``PRAGMA busy_timeout``) for a lock
  held by another process. A deferred transaction that read and then tried to write would fail
  at once when another writer held the lock (SQLite does not wait then: waiting could deadlock);
  an immediate one waits its turn before it has read anything. ``restora_read_only=True`` in a
  connection's execution options begins a deferred (shared) transaction for long reads.
- PostgreSQL: :func:`begin_write` takes a transaction-scoped advisory lock of the schema first,
  so writers that check the store before they write (ids already there?) see each other's
  committed rows; every lock wait is bounded by ``lock_timeout``, set to the busy timeout.

A lock still held when the busy timeout runs out raises :class:`restora.errors.StoreBusyError`;
a write to a read-only database :class:`restora.errors.StoreReadOnlyError` (both name the store,
and the transaction has been rolled back).
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import platformdirs
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from restora.errors import InputError, RestoraError, StoreBusyError, StoreReadOnlyError

ENV_URL = "RESTORA_DATABASE_URL"
#: Environment variable: how long a connection waits for a lock held by another writer [s].
ENV_BUSY_TIMEOUT = "RESTORA_DB_BUSY_TIMEOUT"
#: Default busy timeout [s]: long enough for another import of 100 000 sites to finish.
DEFAULT_BUSY_TIMEOUT_S = 60.0
#: First key of the PostgreSQL advisory lock of :func:`begin_write` (the second is the schema's).
ADVISORY_LOCK_CLASS = 0x52455354  # "REST"


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


def busy_timeout_s() -> float:
    """The busy timeout [s]: ``RESTORA_DB_BUSY_TIMEOUT`` if set, else 60.

    Raises
    ------
    InputError
        The variable is not a number of seconds ≥ 0.

    Examples
    --------
    >>> import os
    >>> os.environ.pop("RESTORA_DB_BUSY_TIMEOUT", None) and None
    >>> busy_timeout_s()
    60.0
    """
    raw = os.environ.get(ENV_BUSY_TIMEOUT, "").strip()
    if not raw:
        return DEFAULT_BUSY_TIMEOUT_S
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value >= 0):
        raise InputError(f"{raw!r} is not a number of seconds ≥ 0", field=ENV_BUSY_TIMEOUT)
    return value


def create_engine(
    url: str | sa.URL,
    *,
    foreign_keys: bool = True,
    busy_timeout: float | None = None,
    **kwargs: Any,
) -> sa.Engine:
    """An engine for ``url``; for a SQLite file, creates its folder and sets up transactions.

    Parameters
    ----------
    url : str or sqlalchemy.URL
        Database URL (``sqlite:///path`` or ``postgresql+psycopg://...``).
    foreign_keys : bool
        SQLite only: enforce foreign keys (off while migrating, see module docstring).
    busy_timeout : float, optional
        How long a statement waits for a lock held by another connection [s]; default
        :func:`busy_timeout_s`. SQLite: ``PRAGMA busy_timeout``; PostgreSQL: ``lock_timeout``.
    **kwargs
        Passed to :func:`sqlalchemy.create_engine`.
    """
    timeout = busy_timeout_s() if busy_timeout is None else float(busy_timeout)
    path = sqlite_path(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        _sqlite_transactions(engine, foreign_keys=foreign_keys, timeout=timeout)
    elif engine.dialect.name == "postgresql":
        _postgresql_lock_timeout(engine, timeout=timeout)
    _lock_errors(engine, timeout=timeout)
    return engine


@contextmanager
def begin_write(engine: sa.Engine) -> Iterator[sa.Connection]:
    """A transaction for a writer that first checks the store: it queues behind other writers.

    SQLite: the transaction begins ``IMMEDIATE`` (as every transaction of
    :func:`create_engine`'s engines does). PostgreSQL: the transaction first takes the advisory
    lock (:data:`ADVISORY_LOCK_CLASS`, hash of the current schema), held to its end, so two
    imports into one schema run one after the other and the second sees the first's rows
    ("already in the store") instead of failing on a unique key. Waits are bounded by the busy
    timeout (:class:`restora.errors.StoreBusyError` after it).

    Examples
    --------
    >>> import sqlalchemy as sa
    >>> engine = create_engine("sqlite://", poolclass=sa.StaticPool)
    >>> with begin_write(engine) as conn:
    ...     _ = conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
    ...     _ = conn.exec_driver_sql("INSERT INTO t VALUES (1)")
    >>> with engine.connect() as conn:
    ...     conn.exec_driver_sql("SELECT x FROM t").scalar_one()
    1
    """
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(
                sa.text(
                    "SELECT pg_advisory_xact_lock(:cls, hashtext(coalesce(current_schema(), '')))"
                ),
                {"cls": ADVISORY_LOCK_CLASS},
            )
        yield conn


def _sqlite_transactions(engine: sa.Engine, *, foreign_keys: bool, timeout: float) -> None:
    # The recipe of SQLAlchemy's SQLite dialect documentation ("Serializable isolation /
    # Savepoints / Transactional DDL"): switch off the driver's own BEGIN handling, emit ours.
    pragmas = (
        f"PRAGMA foreign_keys={'ON' if foreign_keys else 'OFF'}",
        f"PRAGMA busy_timeout={round(timeout * 1000)}",
    )

    @sa.event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in pragmas:
            cursor.execute(pragma)
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _begin(connection: sa.Connection) -> None:
        # IMMEDIATE: take the write lock now (waiting up to busy_timeout), not at the first
        # write, when SQLite would give up at once rather than risk a deadlock.
        read_only = connection.get_execution_options().get("restora_read_only", False)
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def _postgresql_lock_timeout(engine: sa.Engine, *, timeout: float) -> None:
    setting = f"SET SESSION lock_timeout = {round(timeout * 1000)}"

    @sa.event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        # outside a transaction, as in SQLAlchemy's search_path recipe
        autocommit = dbapi_connection.autocommit
        dbapi_connection.autocommit = True
        with dbapi_connection.cursor() as cursor:
            cursor.execute(setting)
        dbapi_connection.autocommit = autocommit


# SQLite result codes (primary, extended) and PostgreSQL SQLSTATEs of the two lock failures
_BUSY_SQLITE = ("SQLITE_BUSY", "SQLITE_LOCKED")
_BUSY_PG = ("55P03",)  # lock_not_available: lock_timeout ran out
_READ_ONLY_SQLITE = ("SQLITE_READONLY",)
_READ_ONLY_PG = ("25006",)  # read_only_sql_transaction


def lock_error(orig: BaseException, url: str | sa.URL, timeout: float) -> RestoraError | None:
    """The error that says what to do about a driver's "locked" or "read-only" error, else None.

    Parameters
    ----------
    orig : BaseException
        The driver's exception (``sqlite3.OperationalError``, ``psycopg.Error``).
    url : str or sqlalchemy.URL
        The store's URL (its password is masked in the message).
    timeout : float
        The busy timeout that ran out [s].

    Returns
    -------
    StoreBusyError, StoreReadOnlyError or None
        Busy: SQLite ``SQLITE_BUSY``/``SQLITE_LOCKED``, PostgreSQL SQLSTATE 55P03 (lock_timeout).
        Read-only: SQLite ``SQLITE_READONLY*``, PostgreSQL 25006.

    Examples
    --------
    >>> import sqlite3
    >>> print(lock_error(sqlite3.OperationalError("database is locked"), "sqlite:///r.db", 60))
    the store sqlite:///r.db is locked by another writer (an import, an update or a migration) \
and stayed locked for the 60 s this command waits (RESTORA_DB_BUSY_TIMEOUT); nothing was \
written: try again when it has finished (database is locked)
    """
    where = make_url(url).render_as_string(hide_password=True)
    name = str(getattr(orig, "sqlite_errorname", "") or "")
    state = str(getattr(orig, "sqlstate", "") or "")
    lines = str(orig).strip().splitlines()
    text = lines[0] if lines else type(orig).__name__
    if name.startswith(_BUSY_SQLITE) or state in _BUSY_PG or "is locked" in text:
        return StoreBusyError(
            f"the store {where} is locked by another writer (an import, an update or a "
            f"migration) and stayed locked for the {timeout:g} s this command waits "
            f"({ENV_BUSY_TIMEOUT}); nothing was written: try again when it has finished ({text})"
        )
    if name.startswith(_READ_ONLY_SQLITE) or state in _READ_ONLY_PG or "readonly" in text:
        return StoreReadOnlyError(
            f"the store {where} is read-only for this user (the database file or its folder "
            f"cannot be written); nothing was written ({text})"
        )
    return None


def _lock_errors(engine: sa.Engine, *, timeout: float) -> None:
    """Turn "locked" and "read-only" driver errors into errors that say what to do."""

    @sa.event.listens_for(engine, "handle_error")
    def _handle(context: Any) -> None:
        error = lock_error(context.original_exception, engine.url, timeout)
        if error is not None:
            raise error from context.sqlalchemy_exception
