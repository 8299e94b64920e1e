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
from restora.inventory.model import Register
from restora.store import migrate
from restora.store.engine import create_engine, default_url
from restora.store.frames import to_frame, to_rows
from restora.store.tables import ID_COLUMNS, REGISTER, REGISTER_TABLES, frame_columns, imports


def _chunks(values: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


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
        self.engine: sa.Engine = create_engine(self.url)
        if migrate_to_head and not self.at_head():
            migrate.upgrade(self.url, "head")

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
        self.engine.dispose()
        migrate.upgrade(self.url, revision)

    def downgrade(self, revision: str) -> None:
        """Migrate the database down to ``revision``."""
        self.engine.dispose()
        migrate.downgrade(self.url, revision)

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
                    rows: list[Any] = list(conn.execute(sa.select(*cols)))
                else:
                    ids = list(dict.fromkeys(str(m) for m in mine_ids))
                    rows = []
                    for chunk in _chunks(ids, self._chunk):
                        rows += conn.execute(sa.select(*cols).where(table.c.mine_id.in_(chunk)))
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

        Raises
        ------
        InputError
            If a cell cannot be stored, an id repeats or is already in the store, or a row
            refers to a mine or site that is neither in the store nor in the register. Nothing
            is written then.
        """
        rows: dict[str, list[dict[str, Any]]] = {}
        problems: list[Problem] = []
        for name in REGISTER_TABLES:
            rows[name], found = to_rows(name, getattr(register, name))
            problems += found
        if problems:
            raise InputError(problems=problems)
        counts = {name: len(rows[name]) for name in REGISTER_TABLES}
        try:
            source_json = json.loads(json.dumps(source or {}, default=str))
        except (TypeError, ValueError) as exc:
            raise InputError(f"source cannot be recorded as JSON: {exc}", field="source") from exc

        try:
            self._write(rows, counts, source_json)
        except sa.exc.IntegrityError as exc:
            # The checks above make this rare (e.g. another writer added the same id meanwhile);
            # the transaction has been rolled back.
            raise InputError(f"the database refused the register: {exc.orig}") from exc
        return counts

    def _write(
        self,
        rows: dict[str, list[dict[str, Any]]],
        counts: dict[str, int],
        source_json: Any,
    ) -> None:
        with self.engine.begin() as conn:
            problems = self._check_against_store(conn, rows)
            if problems:
                raise InputError(problems=problems)
            import_id = conn.execute(
                imports.insert()
                .values(imported_at=dt.datetime.now(dt.UTC), source=source_json, counts=counts)
                .returning(imports.c.id)
            ).scalar_one()
            for name in REGISTER_TABLES:
                table_rows = rows[name]
                for row in table_rows:
                    row["import_id"] = import_id
                for chunk in _chunks(table_rows, 50_000):
                    conn.execute(REGISTER[name].insert(), list(chunk))

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
        for chunk in _chunks(wanted, self._chunk):
            query = sa.select(table.c[column], table.c.mine_id).where(table.c[column].in_(chunk))
            found.update({key: mine for key, mine in conn.execute(query)})
        return found

    def _check_against_store(
        self, conn: sa.Connection, rows: dict[str, list[dict[str, Any]]]
    ) -> list[Problem]:
        problems: list[Problem] = []
        # 1. ids already in the store
        for name in REGISTER_TABLES:
            id_col = ID_COLUMNS[name]
            taken = self._existing(conn, name, id_col, (r[id_col] for r in rows[name]))
            for row in rows[name]:
                if row[id_col] in taken:
                    problems.append(
                        Problem("already in the store", name, f"id {row[id_col]!r}", id_col)
                    )
        # 2. mines referred to: in the register or in the store
        new_mines = {r["mine_id"] for r in rows["mines"]}
        wanted = {r["mine_id"] for name in ("sites", "samples", "hazards") for r in rows[name]}
        stored_mines = set(self._existing(conn, "mines", "mine_id", wanted - new_mines))
        for name in ("sites", "samples", "hazards"):
            id_col = ID_COLUMNS[name]
            for row in rows[name]:
                if row["mine_id"] not in new_mines and row["mine_id"] not in stored_mines:
                    problems.append(
                        Problem(
                            f"mine {row['mine_id']!r} is neither in the register nor in the store",
                            name,
                            f"id {row[id_col]!r}",
                            "mine_id",
                        )
                    )
        # 3. sites referred to: in the register or in the store, and of the same mine
        site_mine = {r["site_id"]: r["mine_id"] for r in rows["sites"]}
        wanted_sites = {
            r["site_id"]
            for name in ("samples", "hazards")
            for r in rows[name]
            if r["site_id"] is not None
        }
        site_mine.update(self._existing(conn, "sites", "site_id", wanted_sites - set(site_mine)))
        for name in ("samples", "hazards"):
            id_col = ID_COLUMNS[name]
            for row in rows[name]:
                site = row["site_id"]
                if site is None:
                    continue
                where = f"id {row[id_col]!r}"
                if site not in site_mine:
                    problems.append(
                        Problem(
                            f"site {site!r} is neither in the register nor in the store",
                            name,
                            where,
                            "site_id",
                        )
                    )
                elif site_mine[site] != row["mine_id"]:
                    problems.append(
                        Problem(
                            f"site {site!r} belongs to mine {site_mine[site]!r}, not {row['mine_id']!r}",
                            name,
                            where,
                            "site_id",
                        )
                    )
        return problems
