"""The register store: add, update, soft-delete, restore and load mines with their records.

Every write is one transaction that also writes the audit trail (:mod:`restora.store.audit`):
the ``changes`` row (who, when, which command and files) and one ``audit`` row per record
changed, with its fields before and after. :meth:`Store.import_register` checks the whole
register against itself and against the store before it writes a row (:mod:`restora.store.plan`),
so a bad register raises :class:`restora.errors.InputError` (naming file, row and column, or
table, id and column) and leaves the database exactly as it was.

Reads (:meth:`Store.load_register`, :meth:`Store.mine_ids`, :meth:`Store.counts`) leave out
soft-deleted records unless asked for them (``include_deleted=True``).
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import pandas as pd
import sqlalchemy as sa

from restora.errors import InputError, Problem, RestoraError
from restora.inventory.censored import reconcile_limits
from restora.inventory.model import DETECTION_LIMIT_COLUMNS, Register
from restora.store import migrate
from restora.store.audit import AuditRows, Change, history, json_values, write_change
from restora.store.bulk import chunks, insert_many, update_many
from restora.store.engine import begin_write, create_engine, default_url, sqlite_path
from restora.store.frames import Columns, to_columns, to_frame
from restora.store.plan import Origins, RegisterPlan, fetch, plan_register
from restora.store.tables import (
    ID_COLUMNS,
    MINE_DEPENDENTS,
    REGISTER,
    REGISTER_TABLES,
    frame_columns,
    imports,
)

MARKS = ("deleted_at", "deleted_by", "deleted_reason")
"""The soft-delete marks shown in the audit trail (``deleted_change_id`` is the change itself)."""


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
        with self._read() as conn:  # a reader: no write lock taken
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

    @contextmanager
    def _read(self) -> Iterator[sa.Connection]:
        """A connection for reading (a shared, deferred transaction on SQLite)."""
        with self.engine.connect() as conn:
            conn.execution_options(restora_read_only=True)
            yield conn

    def mine_ids(self, *, include_deleted: bool = False) -> list[str]:
        """Ids of the mines in the store (live ones unless ``include_deleted``), code-point order."""
        mines = REGISTER["mines"]
        query = sa.select(mines.c.mine_id)
        if not include_deleted:
            query = query.where(mines.c.deleted_at.is_(None))
        with self._read() as conn:
            return sorted(conn.execute(query).scalars())

    def site_owners(self) -> dict[str, str]:
        """``{site_id: mine_id}`` of the live sites (what new samples and hazards may name)."""
        sites = REGISTER["sites"]
        query = sa.select(sites.c.site_id, sites.c.mine_id).where(sites.c.deleted_at.is_(None))
        with self._read() as conn:
            return {site: mine for site, mine in conn.execute(query)}

    def counts(self, *, include_deleted: bool = False) -> dict[str, int]:
        """Number of records in each register table (live ones unless ``include_deleted``)."""
        out = {}
        with self._read() as conn:
            for name in REGISTER_TABLES:
                query = sa.select(sa.func.count()).select_from(REGISTER[name])
                if not include_deleted:
                    query = query.where(REGISTER[name].c.deleted_at.is_(None))
                out[name] = int(conn.execute(query).scalar_one())
        return out

    def load_register(
        self, mine_ids: Sequence[str] | None = None, *, include_deleted: bool = False
    ) -> Register:
        """The register (or the given mines with their sites, samples and hazards).

        Columns and dtypes are described in :mod:`restora.store.frames`; rows are ordered by
        id. Ids not in the store are ignored. Soft-deleted records are left out unless
        ``include_deleted`` (see :meth:`deleted_mines` for who deleted them, when and why).
        """
        frames = {}
        with self._read() as conn:
            for name in REGISTER_TABLES:
                table = REGISTER[name]
                cols = [table.c[col] for col, _ in frame_columns(name)]
                query = sa.select(*cols)
                if not include_deleted:
                    query = query.where(table.c.deleted_at.is_(None))
                if mine_ids is None:
                    rows: list[Any] = list(conn.execute(query).all())
                else:
                    ids = list(dict.fromkeys(str(m) for m in mine_ids))
                    rows = []
                    for chunk in chunks(ids, self._chunk):
                        rows += conn.execute(query.where(table.c.mine_id.in_(chunk))).all()
                frames[name] = to_frame(name, rows)
        return Register(**frames)

    def deleted_mines(self) -> list[dict[str, Any]]:
        """The soft-deleted mines: ``mine_id``, ``deleted_at`` (UTC), ``deleted_by``, ``deleted_reason``."""
        mines = REGISTER["mines"]
        query = (
            sa.select(mines.c.mine_id, *(mines.c[m] for m in MARKS))
            .where(mines.c.deleted_at.is_not(None))
            .order_by(mines.c.mine_id)
        )
        with self._read() as conn:
            rows = conn.execute(query).mappings().all()
        return [{**row, "deleted_at": _utc(row["deleted_at"])} for row in rows]

    def dependents(self, mine_id: str) -> dict[str, list[str]]:
        """The live records that depend on a mine, per table of :data:`MINE_DEPENDENTS`."""
        with self._read() as conn:
            return self._dependents(conn, mine_id)

    def _dependents(self, conn: sa.Connection, mine_id: str) -> dict[str, list[str]]:
        out = {}
        for name in MINE_DEPENDENTS:
            table = REGISTER[name]
            id_col = table.c[ID_COLUMNS[name]]
            query = (
                sa.select(id_col)
                .where(table.c.mine_id == mine_id, table.c.deleted_at.is_(None))
                .order_by(id_col)
            )
            out[name] = list(conn.execute(query).scalars())
        return out

    def imports(self) -> list[dict[str, Any]]:
        """The rows of past imports, oldest first: id, imported_at (UTC), source, counts."""
        with self._read() as conn:
            rows = conn.execute(sa.select(imports).order_by(imports.c.id)).mappings().all()
        return [{**row, "imported_at": _utc(row["imported_at"])} for row in rows]

    def history(self, mine_id: str | None = None) -> list[dict[str, Any]]:
        """The audit trail of a mine's records (or of the whole register), oldest first.

        Each row: ``change_id``, ``at`` (UTC, ISO 8601), ``user``, ``command``, ``files``
        (``[{"path", "sha256"}]``), ``table``, ``id``, ``mine_id``, ``action`` (insert,
        update, delete, restore, purge), ``before`` and ``after`` (the changed fields).
        """
        with self._read() as conn:
            return history(conn, mine_id)

    # -- writes ----------------------------------------------------------------------------

    def add_register(
        self,
        register: Register,
        *,
        source: dict[str, Any] | None = None,
        change: Change | None = None,
    ) -> dict[str, int]:
        """Add a register's new mines, sites, samples and hazards in one transaction.

        ``import_register(register, mode="add")``; returns the records added per table,
        ``{"mines": n, "sites": n, "samples": n, "hazards": n}``.
        """
        change = change or Change("Store.add_register")
        return self.import_register(register, mode="add", source=source, change=change).added

    def import_register(
        self,
        register: Register,
        *,
        mode: str = "add",
        source: dict[str, Any] | None = None,
        change: Change | None = None,
        origins: Mapping[str, pd.DataFrame] | None = None,
        dry_run: bool = False,
    ) -> RegisterPlan:
        """Add (and with ``mode="upsert"``, update) records of a register, in one transaction.

        Parameters
        ----------
        register : Register
            The tables to add (columns of :mod:`restora.inventory.schema`; optional columns
            may be missing).
        mode : {"add", "upsert"}
            ``add``: new records only (an id already in the store is an error, except a mine
            given with its stored values, the parent of new records). ``upsert``: new records
            are added, the given columns of stored records updated. See :mod:`restora.store.plan`.
        source : dict, optional
            What the register was read from (file names, SHA-256 hashes, options); recorded
            as JSON in the ``imports`` row.
        change : Change, optional
            Who, with which command and files (recorded in ``changes``); default the OS user
            and ``Store.import_register``.
        origins : mapping, optional
            :attr:`restora.inventory.io.ImportReport.origins`: messages then name the file and
            row of a record, and an update leaves alone the columns its file did not give.
        dry_run : bool
            Plan only: check everything, return what would change, write nothing.

        Returns
        -------
        RegisterPlan
            ``added`` per table, ``updated`` (each record's changed fields, old and new),
            ``unchanged``, ``change_id`` (None for a dry run or when nothing changed).

        Notes
        -----
        A sample's stated detection limits are stored both as numbers (its detection-limit
        columns) and in ``qualifiers`` (``As=<70``): a limit given one way only is written the
        other way too (:func:`restora.inventory.censored.reconcile_limits`).

        Raises
        ------
        InputError
            If a cell cannot be stored, an id repeats, a record refers to a mine or site that
            is neither in the register nor live in the store, or (mode ``add``) an id is
            already in the store. Nothing is written then.
        """
        tables = self._convert(register)
        try:
            source_json = json.loads(json.dumps(source or {}, default=str))
        except (TypeError, ValueError) as exc:
            raise InputError(f"source cannot be recorded as JSON: {exc}", field="source") from exc
        change = change or Change("Store.import_register", options={"mode": mode})
        found = Origins(dict(origins or {}))
        if dry_run:
            with self._read() as conn:
                plan, problems = plan_register(
                    conn, tables, mode=mode, origins=found, chunk=self._chunk
                )
            if problems:
                raise InputError(problems=problems)
            plan.dry_run = True
            return plan
        try:
            with begin_write(self.engine) as conn:  # queues behind other writers
                plan, problems = plan_register(
                    conn, tables, mode=mode, origins=found, chunk=self._chunk
                )
                if problems:
                    raise InputError(problems=problems)
                if not plan.empty:
                    self._write_plan(conn, plan, change, source_json)
        except sa.exc.IntegrityError as exc:
            # The checks make this rare (e.g. another program added the same id meanwhile);
            # the transaction has been rolled back.
            raise InputError(f"the database refused the register: {exc.orig}") from exc
        return plan

    def update_mine(
        self, mine_id: str, values: Mapping[str, Any], *, change: Change | None = None
    ) -> RegisterPlan:
        """Change columns of one live mine (typed values, e.g. ``{"status": "closed"}``).

        The values are checked as an import's would be (:func:`restora.store.frames.to_columns`);
        a required column cannot be emptied. Nothing is written if nothing changes.

        Raises
        ------
        InputError
            The mine is not in the store or is deleted, a column is not a mine column (or is
            ``mine_id``), or a value does not fit its column.
        """
        allowed = [key for key, _ in frame_columns("mines") if key != "mine_id"]
        unknown = sorted(set(values) - set(allowed))
        if unknown:
            raise InputError(
                f"not a mine column that can be changed: {', '.join(unknown)} "
                f"(columns: {', '.join(allowed)})",
                field=unknown[0],
            )
        change = change or Change("Store.update_mine", options={"values": dict(values)})
        with begin_write(self.engine) as conn:
            stored = fetch(conn, "mines", [mine_id], self._chunk)
            if not stored.ids:
                raise InputError(f"mine {mine_id!r} is not in the register", field="mine_id")
            if stored.deleted_at[0] is not None:
                raise InputError(
                    f"mine {mine_id!r} is deleted ({stored.deleted_reason[0]}); restore it "
                    f"first: restora mines restore {mine_id}",
                    field="mine_id",
                )
            row = {k: [v[0]] for k, v in stored.columns.items()}
            row.update({k: [v] for k, v in values.items()})
            columns, problems = to_columns("mines", pd.DataFrame(row))
            if problems:
                raise InputError(problems=problems)
            incoming = {name: _empty_columns(name) for name in REGISTER_TABLES}
            incoming["mines"] = columns
            plan, problems = plan_register(conn, incoming, mode="upsert", chunk=self._chunk)
            if problems:
                raise InputError(problems=problems)
            if not plan.empty:
                self._write_plan(conn, plan, change, None)
        return plan

    def delete_mine(
        self,
        mine_id: str,
        *,
        reason: str,
        cascade: bool = False,
        change: Change | None = None,
    ) -> dict[str, Any]:
        """Soft-delete a mine (and, with ``cascade``, the live records that depend on it).

        The rows stay, marked ``deleted_at`` (UTC), ``deleted_by``, ``deleted_reason`` and the
        change; reads leave them out. Without ``cascade`` a mine with live dependents (sites,
        samples, hazards: :data:`restora.store.tables.MINE_DEPENDENTS`) is refused, naming them.

        Returns
        -------
        dict
            ``{"mine_id", "deleted": {table: [ids]}, "reason", "at", "by", "change_id"}``.

        Raises
        ------
        InputError
            No reason given; the mine is not in the store or already deleted; it has live
            dependents and ``cascade`` is false.
        """
        reason = (reason or "").strip()
        if not reason:
            raise InputError("a reason is required to delete a mine", field="reason")
        change = change or Change("Store.delete_mine", options={"cascade": cascade})
        with begin_write(self.engine) as conn:
            mine = self._mine_marks(conn, mine_id)
            if mine["deleted_at"] is not None:
                raise InputError(
                    f"mine {mine_id!r} is already deleted (on {_utc(mine['deleted_at'])} by "
                    f"{mine['deleted_by']}: {mine['deleted_reason']})",
                    field="mine_id",
                )
            dependents = self._dependents(conn, mine_id)
            if any(dependents.values()) and not cascade:
                raise InputError(
                    f"mine {mine_id!r} has {_named(dependents)}; delete them with it "
                    "(--cascade) or move them to another mine first",
                    field="mine_id",
                )
            when = dt.datetime.now(dt.UTC)
            change_id = write_change(conn, change, when)
            marks = {"deleted_at": when, "deleted_by": change.user, "deleted_reason": reason}
            records = {**dependents, "mines": [mine_id]}
            rows = AuditRows()
            shown = dict(
                zip(MARKS, [*json_values("datetime", [when]), change.user, reason], strict=True)
            )
            for name in (*MINE_DEPENDENTS, "mines"):
                table = REGISTER[name]
                conn.execute(
                    table.update()
                    .where(table.c.mine_id == mine_id, table.c.deleted_at.is_(None))
                    .values(**marks, deleted_change_id=change_id)
                )
                ids = records[name]
                rows.add(
                    name,
                    ids,
                    [mine_id] * len(ids),
                    "delete",
                    [dict.fromkeys(MARKS)] * len(ids),
                    [shown] * len(ids),
                )
            rows.write(conn, change_id)
        return {
            "mine_id": mine_id,
            "deleted": {name: records[name] for name in REGISTER_TABLES},
            "reason": reason,
            "at": shown["deleted_at"],
            "by": change.user,
            "change_id": change_id,
        }

    def restore_mine(self, mine_id: str, *, change: Change | None = None) -> dict[str, Any]:
        """Bring back a soft-deleted mine and the records deleted with it (the same change).

        Returns
        -------
        dict
            ``{"mine_id", "restored": {table: [ids]}, "change_id"}``.

        Raises
        ------
        InputError
            The mine is not in the store, or not deleted.
        """
        change = change or Change("Store.restore_mine")
        with begin_write(self.engine) as conn:
            mine = self._mine_marks(conn, mine_id)
            if mine["deleted_at"] is None:
                raise InputError(f"mine {mine_id!r} is not deleted", field="mine_id")
            deleted_in = mine["deleted_change_id"]
            records: dict[str, list[str]] = {}
            befores: dict[str, list[dict[str, Any]]] = {}
            for name in REGISTER_TABLES:
                table = REGISTER[name]
                query = (
                    sa.select(table.c[ID_COLUMNS[name]], *(table.c[m] for m in MARKS))
                    .where(table.c.mine_id == mine_id, table.c.deleted_change_id == deleted_in)
                    .order_by(table.c[ID_COLUMNS[name]])
                )
                found = conn.execute(query).all()
                records[name] = [r[0] for r in found]
                befores[name] = [
                    dict(zip(MARKS, [*json_values("datetime", [r[1]]), r[2], r[3]], strict=True))
                    for r in found
                ]
            when = dt.datetime.now(dt.UTC)
            change_id = write_change(conn, change, when)
            rows = AuditRows()
            for name in REGISTER_TABLES:  # parents first
                table = REGISTER[name]
                conn.execute(
                    table.update()
                    .where(table.c.mine_id == mine_id, table.c.deleted_change_id == deleted_in)
                    .values(
                        deleted_at=None,
                        deleted_by=None,
                        deleted_reason=None,
                        deleted_change_id=None,
                    )
                )
                ids = records[name]
                rows.add(
                    name,
                    ids,
                    [mine_id] * len(ids),
                    "restore",
                    befores[name],
                    [dict.fromkeys(MARKS)] * len(ids),
                )
            rows.write(conn, change_id)
        return {"mine_id": mine_id, "restored": records, "change_id": change_id}

    def delete_record(
        self,
        table: str,
        record_id: str,
        *,
        reason: str,
        cascade: bool = False,
        change: Change | None = None,
    ) -> dict[str, Any]:
        """Soft-delete one site, sample or hazard (a site with, given ``cascade``, its samples
        and hazards), as :meth:`delete_mine` deletes a mine.

        Returns
        -------
        dict
            ``{"table", "id", "mine_id", "deleted": {table: [ids]}, "reason", "at", "by",
            "change_id"}``.

        Raises
        ------
        InputError
            No reason; ``table`` is not sites, samples or hazards; the record is not in the
            store or already deleted; a site has live samples or hazards and ``cascade`` is
            false.
        """
        if table not in MINE_DEPENDENTS:
            raise InputError(f"not a table of records: {table!r}", field="table")
        reason = (reason or "").strip()
        if not reason:
            raise InputError(f"a reason is required to delete a {table[:-1]}", field="reason")
        id_field = ID_COLUMNS[table]
        change = change or Change("Store.delete_record", options={"table": table})
        with begin_write(self.engine) as conn:
            rec = self._record_marks(conn, table, record_id)
            if rec["deleted_at"] is not None:
                raise InputError(
                    f"{table[:-1]} {record_id!r} is already deleted (on {_utc(rec['deleted_at'])} "
                    f"by {rec['deleted_by']}: {rec['deleted_reason']})",
                    field=id_field,
                )
            records: dict[str, list[str]] = {name: [] for name in REGISTER_TABLES}
            records[table] = [record_id]
            if table == "sites":
                for name in ("samples", "hazards"):
                    t = REGISTER[name]
                    records[name] = list(
                        conn.execute(
                            sa.select(t.c[ID_COLUMNS[name]])
                            .where(t.c.site_id == record_id, t.c.deleted_at.is_(None))
                            .order_by(t.c[ID_COLUMNS[name]])
                        ).scalars()
                    )
                below = {k: v for k, v in records.items() if k != "sites" and v}
                if below and not cascade:
                    raise InputError(
                        f"site {record_id!r} has {_named(below)}; delete them with it "
                        "(cascade) or move them to another site first",
                        field=id_field,
                    )
            when = dt.datetime.now(dt.UTC)
            change_id = write_change(conn, change, when)
            marks = {"deleted_at": when, "deleted_by": change.user, "deleted_reason": reason}
            shown = dict(
                zip(MARKS, [*json_values("datetime", [when]), change.user, reason], strict=True)
            )
            rows = AuditRows()
            for name in MINE_DEPENDENTS:
                ids = records[name]
                if not ids:
                    continue
                t = REGISTER[name]
                for chunk in chunks(ids, self._chunk):
                    conn.execute(
                        t.update()
                        .where(t.c[ID_COLUMNS[name]].in_(chunk), t.c.deleted_at.is_(None))
                        .values(**marks, deleted_change_id=change_id)
                    )
                n = len(ids)
                rows.add(
                    name,
                    ids,
                    [rec["mine_id"]] * n,
                    "delete",
                    [dict.fromkeys(MARKS)] * n,
                    [shown] * n,
                )
            rows.write(conn, change_id)
        return {
            "table": table,
            "id": record_id,
            "mine_id": rec["mine_id"],
            "deleted": records,
            "reason": reason,
            "at": shown["deleted_at"],
            "by": change.user,
            "change_id": change_id,
        }

    def restore_record(
        self, table: str, record_id: str, *, change: Change | None = None
    ) -> dict[str, Any]:
        """Bring back a soft-deleted site, sample or hazard and the records deleted with it.

        Returns
        -------
        dict
            ``{"table", "id", "mine_id", "restored": {table: [ids]}, "change_id"}``.

        Raises
        ------
        InputError
            The record is not in the store or not deleted; its mine (or, for a sample or
            hazard, its site) is deleted: restore that first.
        """
        if table not in MINE_DEPENDENTS:
            raise InputError(f"not a table of records: {table!r}", field="table")
        id_field = ID_COLUMNS[table]
        change = change or Change("Store.restore_record", options={"table": table})
        with begin_write(self.engine) as conn:
            rec = self._record_marks(conn, table, record_id)
            if rec["deleted_at"] is None:
                raise InputError(f"{table[:-1]} {record_id!r} is not deleted", field=id_field)
            parents = [("mines", "mine_id", rec["mine_id"])]
            if rec.get("site_id"):
                parents.append(("sites", "site_id", rec["site_id"]))
            for name, key, pid in parents:
                t = REGISTER[name]
                gone = conn.execute(
                    sa.select(t.c.deleted_at).where(t.c[ID_COLUMNS[name]] == pid)
                ).scalar_one_or_none()
                if gone is not None:
                    raise InputError(
                        f"{name[:-1]} {pid!r} of {table[:-1]} {record_id!r} is deleted; "
                        f"restore it first",
                        field=key,
                    )
            deleted_in = rec["deleted_change_id"]
            records: dict[str, list[str]] = {name: [] for name in REGISTER_TABLES}
            befores: dict[str, list[dict[str, Any]]] = {}
            for name in MINE_DEPENDENTS:
                t = REGISTER[name]
                query = sa.select(t.c[ID_COLUMNS[name]], *(t.c[m] for m in MARKS)).where(
                    t.c.deleted_change_id == deleted_in
                )
                if name == table:
                    query = query.where(t.c[id_field] == record_id)
                elif table == "sites":
                    query = query.where(t.c.site_id == record_id)
                else:
                    continue
                found = conn.execute(query.order_by(t.c[ID_COLUMNS[name]])).all()
                records[name] = [r[0] for r in found]
                befores[name] = [
                    dict(zip(MARKS, [*json_values("datetime", [r[1]]), r[2], r[3]], strict=True))
                    for r in found
                ]
            change_id = write_change(conn, change, dt.datetime.now(dt.UTC))
            rows = AuditRows()
            for name in MINE_DEPENDENTS:  # the site before its samples and hazards
                ids = records[name]
                if not ids:
                    continue
                t = REGISTER[name]
                for chunk in chunks(ids, self._chunk):
                    conn.execute(
                        t.update()
                        .where(t.c[ID_COLUMNS[name]].in_(chunk))
                        .values(
                            deleted_at=None,
                            deleted_by=None,
                            deleted_reason=None,
                            deleted_change_id=None,
                        )
                    )
                n = len(ids)
                rows.add(
                    name,
                    ids,
                    [rec["mine_id"]] * n,
                    "restore",
                    befores[name],
                    [dict.fromkeys(MARKS)] * n,
                )
            rows.write(conn, change_id)
        return {
            "table": table,
            "id": record_id,
            "mine_id": rec["mine_id"],
            "restored": records,
            "change_id": change_id,
        }

    def purge_mines(self, mine_ids: Iterable[str], *, change: Change | None = None) -> int:
        """Remove mines with all their records for good (live or soft-deleted), in one transaction.

        Not a command: for an administrator, e.g. before a downgrade below revision 0005. Each
        record removed is written to the audit trail (action ``purge``, ``before`` = the whole
        record), so even a purge can be traced. Returns the number of mines removed (ids not
        in the store are ignored).
        """
        ids = list(dict.fromkeys(str(m) for m in mine_ids))
        change = change or Change("Store.purge_mines")
        purged = 0
        with begin_write(self.engine) as conn:
            rows = AuditRows()
            removed: dict[str, Columns] = {}
            for name in (*MINE_DEPENDENTS, "mines"):  # children first
                table = REGISTER[name]
                keys = [k for k, _ in frame_columns(name)]
                found: list[Any] = []
                for chunk in chunks(ids, self._chunk):
                    query = sa.select(*(table.c[k] for k in keys)).where(table.c.mine_id.in_(chunk))
                    found += conn.execute(query).all()
                transposed = list(zip(*found, strict=True)) if found else [()] * len(keys)
                removed[name] = {k: list(transposed[j]) for j, k in enumerate(keys)}
            if not removed["mines"]["mine_id"]:
                return 0
            change_id = write_change(conn, change, dt.datetime.now(dt.UTC))
            for name in (*MINE_DEPENDENTS, "mines"):
                table = REGISTER[name]
                for chunk in chunks(ids, self._chunk):
                    result = conn.execute(sa.delete(table).where(table.c.mine_id.in_(chunk)))
                    if name == "mines":
                        purged += result.rowcount
                cols = removed[name]
                rows.add(
                    name,
                    cols[ID_COLUMNS[name]],
                    cols["mine_id"],
                    "purge",
                    record_json(name, cols),
                    None,
                )
            rows.write(conn, change_id)
        return purged

    # -- internals -------------------------------------------------------------------------

    def _convert(self, register: Register) -> dict[str, Columns]:
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
        return tables

    def _mine_marks(self, conn: sa.Connection, mine_id: str) -> dict[str, Any]:
        mines = REGISTER["mines"]
        row = (
            conn.execute(
                sa.select(*(mines.c[m] for m in MARKS), mines.c.deleted_change_id).where(
                    mines.c.mine_id == mine_id
                )
            )
            .mappings()
            .first()
        )
        if row is None:
            raise InputError(f"mine {mine_id!r} is not in the register", field="mine_id")
        return dict(row)

    def _record_marks(self, conn: sa.Connection, table: str, record_id: str) -> dict[str, Any]:
        """A site's, sample's or hazard's mine (and site), soft-delete marks and change."""
        t = REGISTER[table]
        cols = [t.c.mine_id, *(t.c[m] for m in MARKS), t.c.deleted_change_id]
        if "site_id" in t.c and table != "sites":
            cols.append(t.c.site_id)
        row = (
            conn.execute(sa.select(*cols).where(t.c[ID_COLUMNS[table]] == record_id))
            .mappings()
            .first()
        )
        if row is None:
            raise InputError(
                f"{table[:-1]} {record_id!r} is not in the register", field=ID_COLUMNS[table]
            )
        return dict(row)

    def _write_plan(
        self,
        conn: sa.Connection,
        plan: RegisterPlan,
        change: Change,
        source_json: Any | None,
    ) -> None:
        """Write a checked plan: the imports row (an import), the changes row, rows, audit."""
        when = dt.datetime.now(dt.UTC)
        import_id = None
        if source_json is not None:
            import_id = conn.execute(
                imports.insert()
                .values(imported_at=when, source=source_json, counts=plan.added)
                .returning(imports.c.id)
            ).scalar_one()
        change_id = write_change(conn, change, when, import_id)
        stamp = {} if import_id is None else {"import_id": import_id}
        rows = AuditRows()
        for name in REGISTER_TABLES:  # parents first
            part = plan.tables[name]
            n = part.added
            if not n:
                continue
            columns = {**part.insert, **{k: [v] * n for k, v in stamp.items()}}
            for start in range(0, n, 50_000):
                chunk = {k: v[start : start + 50_000] for k, v in columns.items()}
                insert_many(conn, REGISTER[name], chunk)
            ids = part.insert[ID_COLUMNS[name]]
            rows.add(
                name,
                ids,
                part.insert["mine_id"],
                "insert",
                None,
                # the polygon itself is in the row; its digest here (an update records both
                # polygons whole, a purge the whole record)
                record_json(name, part.insert, geometry="geometry_digest"),
            )
        for name in REGISTER_TABLES:  # after every insert: a record may move to a new parent
            part = plan.tables[name]
            n = len(part.updated_ids)
            if not n:
                continue
            columns = {**part.update, **{k: [v] * n for k, v in stamp.items()}}
            for start in range(0, n, 50_000):
                chunk = {k: v[start : start + 50_000] for k, v in columns.items()}
                update_many(conn, REGISTER[name], chunk, ID_COLUMNS[name])
            rows.add(
                name, part.updated_ids, part.update["mine_id"], "update", part.before, part.after
            )
        rows.write(conn, change_id)
        plan.change_id = change_id


def _empty_columns(name: str) -> Columns:
    return {key: [] for key, _ in frame_columns(name)}


def _utc(when: dt.datetime | None) -> dt.datetime | None:
    if when is None:
        return None
    return when.replace(tzinfo=dt.UTC) if when.tzinfo is None else when


def _named(dependents: Mapping[str, list[str]], shown: int = 5) -> str:
    """``2 sites (S1, S2) and 1 hazard (H1)``."""
    parts = []
    for name, ids in dependents.items():
        if not ids:
            continue
        noun = name if len(ids) > 1 else name[:-1]
        listed = ", ".join(ids[:shown]) + (
            f", … {len(ids) - shown} more" if len(ids) > shown else ""
        )
        parts.append(f"{len(ids)} {noun} ({listed})")
    return ", ".join(parts[:-1]) + (" and " if len(parts) > 1 else "") + parts[-1]


def record_json(name: str, columns: Columns, *, geometry: str = "geometry") -> list[dict[str, Any]]:
    """Each record of ``columns`` (database values) as a JSON object of its non-empty fields.

    ``geometry="geometry_digest"`` writes a polygon as the SHA-256 of its WKB rather than its
    WKT (see :func:`restora.store.audit.json_values`).
    """
    kinds = dict(frame_columns(name))
    keys = [k for k in kinds if k in columns]
    values = [
        json_values(geometry if kinds[k] == "geometry" else str(kinds[k]), columns[k]) for k in keys
    ]
    return [
        {k: v for k, v in zip(keys, row, strict=True) if v is not None}
        for row in zip(*values, strict=True)
    ]
