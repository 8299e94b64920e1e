"""Bulk writes: many rows in one statement, inside the caller's transaction.

Rows are given column by column (:data:`restora.store.frames.Columns`: one list of database
values per column key). SQLite gets one ``executemany`` of a statement compiled once, each value
through its type's bind processor (the values SQLAlchemy's own executemany would send, without
its per-row bookkeeping, which costs more than SQLite itself for 100 000 rows); PostgreSQL with
psycopg gets ``COPY ... FROM STDIN`` (updates: COPY into a temporary table, then one ``UPDATE
... FROM``); other databases SQLAlchemy's executemany.

JSON columns take their values as JSON text (already serialised, so that one ``json.dumps`` per
row is all the work), or None for SQL NULL.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

import sqlalchemy as sa

from restora.store.frames import Columns


def chunks(values: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    """``values`` in slices of at most ``size``."""
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _is_psycopg(conn: sa.Connection) -> bool:
    return conn.dialect.name == "postgresql" and conn.dialect.driver == "psycopg"


def _row_dicts(table: sa.Table, columns: Columns, keys: list[str]) -> list[dict[str, Any]]:
    decoded = {
        key: (
            [None if v is None else json.loads(v) for v in columns[key]]
            if isinstance(table.c[key].type, sa.JSON)
            else columns[key]
        )
        for key in keys
    }
    return [dict(zip(keys, values, strict=True)) for values in zip(*decoded.values(), strict=True)]


def _sqlite_params(
    conn: sa.Connection, table: sa.Table, columns: Columns, order: Sequence[str], names: dict
) -> list[tuple[Any, ...]]:
    """Positional parameters in ``order`` (bind names), each column through its bind processor."""
    dialect = conn.dialect
    ordered = []
    for name in order:
        key = names[name]
        sql_type = table.c[key].type
        # sqlite3 takes bytes as they are (SQLAlchemy would wrap each in a memoryview); JSON
        # values arrive as JSON text already.
        process = (
            None
            if isinstance(sql_type, sa.LargeBinary | sa.JSON)
            else sql_type.dialect_impl(dialect).bind_processor(dialect)
        )
        values = columns[key]
        ordered.append([process(v) for v in values] if process is not None else values)
    return list(zip(*ordered, strict=True))


def insert_many(conn: sa.Connection, table: sa.Table, columns: Columns) -> None:
    """INSERT the rows given column by column (lists of equal length)."""
    keys = list(columns)
    if not keys or not columns[keys[0]]:
        return
    if _is_psycopg(conn):
        _copy_rows(conn, table, table.name, columns)
        return
    if conn.dialect.name != "sqlite":
        conn.execute(table.insert(), _row_dicts(table, columns, keys))
        return
    compiled = table.insert().compile(dialect=conn.dialect, column_keys=keys)
    assert compiled.positional and compiled.positiontup is not None
    names = {key: key for key in keys}
    params = _sqlite_params(conn, table, columns, compiled.positiontup, names)
    conn.exec_driver_sql(compiled.string, params)


def update_many(conn: sa.Connection, table: sa.Table, columns: Columns, key: str) -> None:
    """UPDATE the rows whose ``key`` (the primary key) is given, setting every other column given.

    Parameters
    ----------
    conn : sqlalchemy.Connection
        In the caller's transaction.
    table : sqlalchemy.Table
        The table to update.
    columns : Columns
        The new values, column by column, with the key column among them.
    key : str
        The primary-key column that selects each row.
    """
    keys = list(columns)
    if not columns[key]:
        return
    setting = [k for k in keys if k != key]
    if _is_psycopg(conn):
        _copy_update(conn, table, columns, key, setting)
        return
    names = {f"new_{k}": k for k in setting} | {"old_key": key}
    statement = (
        table.update()
        .where(table.c[key] == sa.bindparam("old_key"))
        .values({table.c[k]: sa.bindparam(f"new_{k}") for k in setting})
    )
    if conn.dialect.name != "sqlite":
        rows = _row_dicts(table, columns, keys)
        conn.execute(statement, [{name: row[k] for name, k in names.items()} for row in rows])
        return
    compiled = statement.compile(dialect=conn.dialect)
    assert compiled.positional and compiled.positiontup is not None
    params = _sqlite_params(conn, table, columns, compiled.positiontup, names)
    conn.exec_driver_sql(compiled.string, params)


def _copy_rows(conn: sa.Connection, table: sa.Table, target: str, columns: Columns) -> None:
    """PostgreSQL with psycopg: send the rows with ``COPY target FROM STDIN``.

    COPY is PostgreSQL's bulk path; psycopg adapts each value as it would for a query (str,
    int, float including ±inf, bool, date, bytes for bytea, None for NULL; JSON as its text).
    """
    preparer = conn.dialect.identifier_preparer
    names = ", ".join(preparer.quote(table.c[key].name) for key in columns)
    into = preparer.format_table(table) if target == table.name else preparer.quote(target)
    sql = f"COPY {into} ({names}) FROM STDIN"
    driver_connection: Any = conn.connection.driver_connection
    dbapi: Any = conn.dialect.dbapi
    try:
        with driver_connection.cursor() as cursor, cursor.copy(sql) as copy:
            for row in zip(*columns.values(), strict=True):
                copy.write_row(row)
    except dbapi.IntegrityError as exc:  # wrapped as SQLAlchemy wraps driver errors
        raise sa.exc.IntegrityError(sql, None, exc) from exc
    except dbapi.Error as exc:
        raise sa.exc.DBAPIError(sql, None, exc) from exc


def _copy_update(
    conn: sa.Connection, table: sa.Table, columns: Columns, key: str, setting: list[str]
) -> None:
    """PostgreSQL: COPY the new rows into a temporary table, then one UPDATE ... FROM it."""
    preparer = conn.dialect.identifier_preparer
    temp = f"restora_update_{table.name}"
    conn.exec_driver_sql(
        f"CREATE TEMPORARY TABLE {preparer.quote(temp)} "
        f"(LIKE {preparer.format_table(table)}) ON COMMIT DROP"
    )
    _copy_rows(conn, table, temp, columns)
    assignments = ", ".join(
        f"{preparer.quote(table.c[k].name)} = u.{preparer.quote(table.c[k].name)}" for k in setting
    )
    pk = preparer.quote(table.c[key].name)
    conn.exec_driver_sql(
        f"UPDATE {preparer.format_table(table)} AS t SET {assignments} "
        f"FROM {preparer.quote(temp)} AS u WHERE t.{pk} = u.{pk}"
    )
    conn.exec_driver_sql(f"DROP TABLE {preparer.quote(temp)}")
