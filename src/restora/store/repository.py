"""The register store: add, load, count and delete mines with their sites, samples and hazards.

Every write is one transaction. :meth:`Store.add_register` checks the whole register against
itself and against the store before it writes a row, so a bad register raises
:class:`restora.errors.InputError` (naming table, id and column) and leaves the database exactly
as it was; the ``imports`` audit row is written in the same transaction as the rows.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import sqlalchemy as sa

from restora.errors import InputError, Problem, RestoraError
from restora.inventory.censored import reconcile_limits
from restora.inventory.model import DETECTION_LIMIT_COLUMNS, Register
from restora.store import migrate
from restora.store.engine import create_engine, default_url, sqlite_path
from restora.store.frames import Columns, to_columns, to_frame
from restora.store.tables import ID_COLUMNS, REGISTER, REGISTER_TABLES, frame_columns, imports


def _chunks(values: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _insert_many(conn: sa.Connection, table: sa.Table, columns: Columns) -> None:
    """INSERT the rows given column by column (lists of equal length) with one executemany.

    On SQLite the statement is compiled once and the rows go to the driver as tuples, each value
    through its type's bind processor: the same values SQLAlchemy's own executemany would send,
    without its per-row bookkeeping (which costs more than SQLite itself for 100 000 rows).
    PostgreSQL with psycopg gets a COPY; other databases SQLAlchemy's executemany.
    """
    keys = list(columns)
    if not keys or not columns[keys[0]]:
        return
    if conn.dialect.name == "postgresql" and conn.dialect.driver == "psycopg":
        _copy_rows(conn, table, columns)
        return
    if conn.dialect.name != "sqlite":
        rows = [
            dict(zip(keys, values, strict=True)) for values in zip(*columns.values(), strict=True)
        ]
        conn.execute(table.insert(), rows)
        return
    dialect = conn.dialect
    compiled = table.insert().compile(dialect=dialect, column_keys=keys)
    assert compiled.positional and compiled.positiontup is not None
    ordered = []
    for key in compiled.positiontup:
        sql_type = table.c[key].type
        # sqlite3 takes bytes as they are; SQLAlchemy would wrap each in a memoryview.
        process = (
            None
            if isinstance(sql_type, sa.LargeBinary)
            else sql_type.dialect_impl(dialect).bind_processor(dialect)
        )
        values = columns[key]
        ordered.append([process(v) for v in values] if process is not None else values)
    conn.exec_driver_sql(compiled.string, list(zip(*ordered, strict=True)))


def _copy_rows(conn: sa.Connection, table: sa.Table, columns: Columns) -> None:
    """PostgreSQL with psycopg: send the rows with ``COPY ... FROM STDIN`` in the transaction.

    COPY is PostgreSQL's bulk path; psycopg adapts each value as it would for a query (str,
    int, float including ±inf, bool, date, bytes for bytea, None for NULL).
    """
    preparer = conn.dialect.identifier_preparer
    names = ", ".join(preparer.quote(table.c[key].name) for key in columns)
    sql = f"COPY {preparer.format_table(table)} ({names}) FROM STDIN"
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


class Store:
    """The legacy-mine register in a SQLite file or a PostgreSQL database.

    Parameters
    ----------
    url : str, optional
        SQLAlchemy URL; default :func:`restora.store.default_url` (``RESTORA_DATABASE_URL`` or
        the embedded SQLite file). A SQLite file and its folder are created if needed.
    migrate_to_head : bool
        Bring the database to the latest migration if it is behind (default). A database
        already at the latest migration is only read, never written.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> with Store(f"sqlite:///{pathlib.Path(tempfile.mkdtemp()) / 'r.db'}") as store:
    ...     store.counts()
    {'mines': 0, 'sites': 0, 'samples': 0, 'hazards': 0}
    """

    def __init__(self, url: str | None = None, *, migrate_to_head: bool = True) -> None:
        self.url: str = url or default_url()
        self._memory = self.url.startswith("sqlite") and sqlite_path(self.url) is None
        if self._memory:
            # One shared connection, or every connection would see its own empty database.
            self.engine: sa.Engine = create_engine(self.url, poolclass=sa.StaticPool)
        else:
            self.engine = create_engine(self.url)
        try:
            if migrate_to_head and not self.at_head():
                self.upgrade()
        except sa.exc.OperationalError as exc:
            self.engine.dispose()
            raise RestoraError(f"cannot open the store {self!r}: {exc.orig}") from exc

    # -- lifecycle -------------------------------------------------------------------------

    def close(self) -> None:
        """Close the store's connections."""
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({self.engine.url.render_as_string(hide_password=True)!r})"

    def revision(self) -> tuple[str, ...]:
        """The migration revision(s) the database is at (empty if never migrated)."""
        with self.engine.connect() as conn:
            return migrate.current_revisions(conn)

    def at_head(self) -> bool:
        """True if the database is at the latest migration (checked without writing)."""
        current = set(self.revision())
        if current == set(migrate.head_revisions()):
            return True
        unknown = sorted(current - migrate.known_revisions())
        if unknown:
            raise RestoraError(
                f"the database is at migration {', '.join(unknown)}, which this version of "
                "Restora does not know; upgrade Restora"
            )
        return False

    def upgrade(self, revision: str = "head") -> None:
        """Migrate the database up to ``revision``."""
        self._migrate("upgrade", revision)

    def downgrade(self, revision: str) -> None:
        """Migrate the database down to ``revision``."""
        self._migrate("downgrade", revision)

    def _migrate(self, action: str, revision: str) -> None:
        if self._memory:
            # In-memory SQLite lives in the one shared connection: migrate on it, with foreign
            # keys off meanwhile (see restora.store.engine), set outside any transaction.
            raw = self.engine.raw_connection()
            try:
                raw.driver_connection.execute("PRAGMA foreign_keys=OFF")  # type: ignore[union-attr]
                with self.engine.begin() as conn:
                    migrate.run_on(conn, action, revision)
            finally:
                raw.driver_connection.execute("PRAGMA foreign_keys=ON")  # type: ignore[union-attr]
                raw.close()
            return
        self.engine.dispose()
        getattr(migrate, action)(self.url, revision)

    # -- reads -----------------------------------------------------------------------------

    @property
    def _chunk(self) -> int:
        # Bound parameters per statement: SQLite before 3.32 allows 999.
        if self.engine.dialect.name == "sqlite" and sqlite3.sqlite_version_info < (3, 32, 0):
            return 900
        return 10_000

    def mine_ids(self) -> list[str]:
        """Ids of the mines in the store, in code-point order."""
        with self.engine.connect() as conn:
            return sorted(conn.execute(sa.select(REGISTER["mines"].c.mine_id)).scalars())

    def counts(self) -> dict[str, int]:
        """Number of rows in each register table."""
        with self.engine.connect() as conn:
            return {
                name: int(
                    conn.execute(
                        sa.select(sa.func.count()).select_from(REGISTER[name])
                    ).scalar_one()
                )
                for name in REGISTER_TABLES
            }

    def load_register(self, mine_ids: Sequence[str] | None = None) -> Register:
        """The register (or the given mines with their sites, samples and hazards).

        Columns and dtypes are described in :mod:`restora.store.frames`; rows are ordered by
        id. Ids not in the store are ignored.
        """
        frames = {}
        with self.engine.connect() as conn:
            for name in REGISTER_TABLES:
                table = REGISTER[name]
                cols = [table.c[col] for col, _ in frame_columns(name)]
                if mine_ids is None:
                    rows: list[Any] = list(conn.execute(sa.select(*cols)).all())
                else:
                    ids = list(dict.fromkeys(str(m) for m in mine_ids))
                    rows = []
                    for chunk in _chunks(ids, self._chunk):
                        rows += conn.execute(
                            sa.select(*cols).where(table.c.mine_id.in_(chunk))
                        ).all()
                frames[name] = to_frame(name, rows)
        return Register(**frames)

    def imports(self) -> list[dict[str, Any]]:
        """The audit rows of past imports, oldest first: id, imported_at (UTC), source, counts."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(imports).order_by(imports.c.id)).mappings().all()
        out = []
        for row in rows:
            rec = dict(row)
            when = rec["imported_at"]
            if when.tzinfo is None:  # SQLite keeps no zone; we always write UTC
                rec["imported_at"] = when.replace(tzinfo=dt.UTC)
            out.append(rec)
        return out

    # -- writes ----------------------------------------------------------------------------

    def add_register(
        self, register: Register, *, source: dict[str, Any] | None = None
    ) -> dict[str, int]:
        """Add a register's mines, sites, samples and hazards in one transaction.

        Parameters
        ----------
        register : Register
            The tables to add (columns of :mod:`restora.inventory.schema`).
        source : dict, optional
            What the register was read from (file names, SHA-256 hashes, options); recorded
            as JSON in the ``imports`` audit row.

        Returns
        -------
        dict
            Rows written per table: ``{"mines": n, "sites": n, "samples": n, "hazards": n}``.

        Notes
        -----
        A sample's stated detection limits are stored both as numbers (its detection-limit
        columns) and in ``qualifiers`` (``As=<70``): a limit given one way only is written the
        other way too (:func:`restora.inventory.censored.reconcile_limits`).

        Raises
        ------
        InputError
            If a cell cannot be stored, an id repeats or is already in the store, or a row
            refers to a mine or site that is neither in the store nor in the register. Nothing
            is written then.
        """
        tables: dict[str, Columns] = {}
        problems: list[Problem] = []
        for name in REGISTER_TABLES:
            frame = getattr(register, name)
            if name == "samples" and len(frame):
                # each stated detection limit as a number and in `qualifiers` (zoning reads
                # the text, the classification the numbers): the same limits for both
                frame = reconcile_limits(frame, DETECTION_LIMIT_COLUMNS)
            tables[name], found = to_columns(name, frame)
            problems += found
        if problems:
            raise InputError(problems=problems)
        counts = {name: len(tables[name][ID_COLUMNS[name]]) for name in REGISTER_TABLES}
        try:
            source_json = json.loads(json.dumps(source or {}, default=str))
        except (TypeError, ValueError) as exc:
            raise InputError(f"source cannot be recorded as JSON: {exc}", field="source") from exc

        try:
            self._write(tables, counts, source_json)
        except sa.exc.IntegrityError as exc:
            # The checks above make this rare (e.g. another writer added the same id meanwhile);
            # the transaction has been rolled back.
            raise InputError(f"the database refused the register: {exc.orig}") from exc
        return counts

    def _write(self, tables: dict[str, Columns], counts: dict[str, int], source_json: Any) -> None:
        with self.engine.begin() as conn:
            problems = self._check_against_store(conn, tables)
            if problems:
                raise InputError(problems=problems)
            import_id = conn.execute(
                imports.insert()
                .values(imported_at=dt.datetime.now(dt.UTC), source=source_json, counts=counts)
                .returning(imports.c.id)
            ).scalar_one()
            for name in REGISTER_TABLES:
                n = counts[name]
                columns = {**tables[name], "import_id": [import_id] * n}
                for start in range(0, n, 50_000):
                    chunk = {k: v[start : start + 50_000] for k, v in columns.items()}
                    _insert_many(conn, REGISTER[name], chunk)

    def delete_mines(self, mine_ids: Iterable[str]) -> int:
        """Delete mines with their sites, samples and hazards, in one transaction.

        Returns the number of mines deleted (ids not in the store are ignored).
        """
        ids = list(dict.fromkeys(str(m) for m in mine_ids))
        deleted = 0
        with self.engine.begin() as conn:
            for chunk in _chunks(ids, self._chunk):
                # Children first: the same result whether or not the database cascades.
                for name in ("samples", "hazards", "sites"):
                    table = REGISTER[name]
                    conn.execute(sa.delete(table).where(table.c.mine_id.in_(chunk)))
                mines = REGISTER["mines"]
                result = conn.execute(sa.delete(mines).where(mines.c.mine_id.in_(chunk)))
                deleted += result.rowcount
        return deleted

    # -- checks ----------------------------------------------------------------------------

    def _existing(
        self, conn: sa.Connection, name: str, column: str, values: Iterable[str]
    ) -> dict[str, str]:
        """Of ``values``, those in ``name.column``, mapped to their row's mine_id."""
        table = REGISTER[name]
        wanted = sorted(set(values))
        found: dict[str, str] = {}
        if not wanted:
            return found
        stored = conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
        if stored <= 4 * len(wanted):
            # Cheaper to read the whole (small) column than to send the ids in many IN lists.
            wanted_set = set(wanted)
            query = sa.select(table.c[column], table.c.mine_id)
            return {key: mine for key, mine in conn.execute(query) if key in wanted_set}
        for chunk in _chunks(wanted, self._chunk):
            query = sa.select(table.c[column], table.c.mine_id).where(table.c[column].in_(chunk))
            found.update({key: mine for key, mine in conn.execute(query)})
        return found

    def _check_against_store(
        self, conn: sa.Connection, tables: dict[str, Columns]
    ) -> list[Problem]:
        problems: list[Problem] = []
        children = ("sites", "samples", "hazards")
        # 1. ids already in the store
        for name in REGISTER_TABLES:
            id_col = ID_COLUMNS[name]
            taken = self._existing(conn, name, id_col, tables[name][id_col])
            problems += [
                Problem("already in the store", name, f"id {key!r}", id_col)
                for key in tables[name][id_col]
                if key in taken
            ]
        # 2. mines referred to: in the register or in the store
        new_mines = set(tables["mines"]["mine_id"])
        wanted = {m for name in children for m in tables[name]["mine_id"]} - new_mines
        known_mines = new_mines | set(self._existing(conn, "mines", "mine_id", wanted))
        for name in children:
            ids, mines = tables[name][ID_COLUMNS[name]], tables[name]["mine_id"]
            problems += [
                Problem(
                    f"mine {mine!r} is neither in the register nor in the store",
                    name,
                    f"id {key!r}",
                    "mine_id",
                )
                for key, mine in zip(ids, mines, strict=True)
                if mine not in known_mines
            ]
        # 3. sites referred to: in the register or in the store, and of the same mine
        site_mine = dict(zip(tables["sites"]["site_id"], tables["sites"]["mine_id"], strict=True))
        wanted_sites = {
            s for name in ("samples", "hazards") for s in tables[name]["site_id"] if s is not None
        }
        site_mine.update(self._existing(conn, "sites", "site_id", wanted_sites - set(site_mine)))
        for name in ("samples", "hazards"):
            ids, mines = tables[name][ID_COLUMNS[name]], tables[name]["mine_id"]
            for key, mine, site in zip(ids, mines, tables[name]["site_id"], strict=True):
                if site is None:
                    continue
                if site not in site_mine:
                    message = f"site {site!r} is neither in the register nor in the store"
                elif site_mine[site] != mine:
                    message = f"site {site!r} belongs to mine {site_mine[site]!r}, not {mine!r}"
                else:
                    continue
                problems.append(Problem(message, name, f"id {key!r}", "site_id"))
        return problems
