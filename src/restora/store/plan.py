"""What a change of the register would do: records to insert, fields to update, problems.

:func:`plan_register` compares incoming records with the store column by column: the stored
rows of the incoming ids are read in a few queries, aligned with the incoming rows by id
(``pandas.Index.get_indexer``), merged and compared as whole arrays (floats bit for bit, NULL
equal to NULL; text, integers, yes/no, dates and geometries — as WKB — by value). Only the cells
that differ are visited one by one, to write the diff. The plan is then written in bulk
(:mod:`restora.store.bulk`) or, for a dry run, only shown.

Modes:

- ``add``: new records only. A site, sample or hazard whose id is in the store is an error. A
  mine whose id is in the store is the parent of the incoming records if the columns given for
  it equal the stored ones (a sites file carries its mine's columns on every row), an error
  if they differ.
- ``upsert``: new records are added; a record whose id is in the store takes the incoming
  values of the columns its file gave (an empty cell clears an optional value); the columns
  its file did not give keep their stored values.

In both modes a record soft-deleted in the store cannot be added again or changed (its mine
must be restored first), every site, sample and hazard must end in a live mine (in the
incoming records or in the store), a sample or hazard with a site must name a live site of its
own mine, and a site moved to another mine may not leave samples or hazards of the store behind.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa

from restora.errors import Problem
from restora.inventory.censored import merge_qualifiers, qualifier_entries, reconcile_limits
from restora.inventory.model import DETECTION_LIMIT_COLUMNS
from restora.inventory.schema import METALS
from restora.store.audit import json_values
from restora.store.bulk import chunks
from restora.store.frames import Columns
from restora.store.tables import ID_COLUMNS, REGISTER, REGISTER_TABLES, frame_columns

MODES = ("add", "upsert")
_SINGULAR = {"mines": "mine", "sites": "site", "samples": "sample", "hazards": "hazard"}


@dataclass
class TablePlan:
    """What a change does to one table."""

    table: str
    insert: Columns
    update: Columns
    before: list[dict[str, Any]] = field(default_factory=list)
    after: list[dict[str, Any]] = field(default_factory=list)
    unchanged: int = 0

    @property
    def added(self) -> int:
        """Records inserted."""
        return len(self.insert[ID_COLUMNS[self.table]])

    @property
    def updated_ids(self) -> list[str]:
        """Ids of the records updated, in incoming order."""
        return list(self.update[ID_COLUMNS[self.table]])


@dataclass
class RegisterPlan:
    """What a change of the register does (or, in a dry run, would do).

    JSON (:meth:`to_json`): ``{"mode", "dry_run", "added": {"mines", "sites", "samples",
    "hazards"}, "updated": [{"table", "id", "changes": {field: [old, new]}}], "unchanged": n,
    "change_id": int | null}``.
    """

    mode: str
    tables: dict[str, TablePlan]
    dry_run: bool = False
    change_id: int | None = None

    @property
    def added(self) -> dict[str, int]:
        """Records inserted per table."""
        return {name: self.tables[name].added for name in REGISTER_TABLES}

    @property
    def updated(self) -> list[dict[str, Any]]:
        """Each updated record: ``{"table", "id", "changes": {field: [old, new]}}``."""
        return [
            {
                "table": name,
                "id": rid,
                "changes": {k: [before[k], after[k]] for k in after},
            }
            for name in REGISTER_TABLES
            for rid, before, after in zip(
                self.tables[name].updated_ids,
                self.tables[name].before,
                self.tables[name].after,
                strict=True,
            )
        ]

    @property
    def unchanged(self) -> int:
        """Incoming records equal to the stored ones (all tables)."""
        return sum(t.unchanged for t in self.tables.values())

    @property
    def empty(self) -> bool:
        """True if the change writes nothing."""
        return not any(t.added or t.updated_ids for t in self.tables.values())

    def to_json(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "dry_run": self.dry_run,
            "added": self.added,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "change_id": self.change_id,
        }


# -- where a record came from ---------------------------------------------------------------


@dataclass(frozen=True)
class Origins:
    """Where each incoming record came from (file, row) and which columns its file gave.

    ``records[table]`` is a DataFrame with ``id``, ``file``, ``row`` and ``given`` (a frozenset
    of register column names), as :attr:`restora.inventory.io.ImportReport.origins`. A table
    missing here (or a record missing from it) is named by table and id, and all its columns
    count as given.
    """

    records: dict[str, pd.DataFrame]

    def where(self, table: str, ids: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """File and row of each id (the table name and ``id '…'`` where unknown)."""
        files = np.full(len(ids), table, dtype=object)
        rows = np.array([f"id {i!r}" for i in ids], dtype=object)
        frame = self.records.get(table)
        if frame is None or frame.empty:
            return files, rows
        pos = _index(frame["id"].to_numpy(dtype=object)).get_indexer(_objects(ids))
        known = pos >= 0
        files[known] = frame["file"].to_numpy(dtype=object)[pos[known]]
        rows[known] = frame["row"].to_numpy(dtype=object)[pos[known]]
        return files, rows

    def given(self, table: str, ids: Sequence[str]) -> dict[str, np.ndarray] | None:
        """Per column key, which incoming rows' files gave it; None if all give everything."""
        frame = self.records.get(table)
        if frame is None or frame.empty:
            return None
        pos = _index(frame["id"].to_numpy(dtype=object)).get_indexer(_objects(ids))
        sets = frame["given"].to_numpy(dtype=object)
        codes, uniques = pd.factorize(pd.Series(sets, dtype=object))
        codes = np.where(pos >= 0, codes[np.maximum(pos, 0)] if len(codes) else -1, -1)
        out = {}
        for key, _ in frame_columns(table):
            name = _given_name(table, key)
            has = np.array([_gives(u, table, name) for u in uniques] + [True], dtype=bool)
            out[key] = has[codes]  # code -1 (unknown record): the last entry, True
        return out


def _given_name(table: str, key: str) -> str:
    for metal, column in DETECTION_LIMIT_COLUMNS.items():
        if key == column:
            return metal  # a limit is given with its metal's column
    return key


def _gives(given: frozenset[str], table: str, name: str) -> bool:
    if table == "sites" and name in ("geometry", "area_hm2"):
        return True  # a sites table always has polygons; the area is computed from them
    if table in ("samples", "hazards") and name in ("lon", "lat"):
        return "lon" in given or "lat" in given or "geometry" in given  # GIS points
    return name in given


# -- reading the store ----------------------------------------------------------------------


@dataclass
class Stored:
    """The stored rows of some ids of one table, column by column (object arrays)."""

    ids: list[str]
    columns: dict[str, np.ndarray]
    deleted_at: np.ndarray
    deleted_reason: np.ndarray


def _objects(values: Sequence[Any] | np.ndarray) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:] = list(values)
    return out


def _index(ids: Sequence[Any] | np.ndarray) -> pd.Index:
    """An index of ids as Python objects (not pandas' string dtype: no conversion, quicker)."""
    return pd.Index(_objects(ids) if not isinstance(ids, np.ndarray) else ids, dtype=object)


def _raw_select(
    conn: sa.Connection, table: sa.Table, cols: list[sa.Column], key: str | None, ids: Sequence[str]
) -> list[tuple[Any, ...]]:
    """Columns ``cols`` (where ``key`` is among ``ids``, if ``key``), typed as SQLAlchemy would.

    Rows read from the driver's cursor, in the connection's transaction, and on SQLite each
    column converted at once by its type's result processor (bool, date, datetime); psycopg
    returns PostgreSQL's values as these Python types itself. The values SQLAlchemy would
    return, without its per-row work, which costs more than the database's for 100 000 rows.
    Other databases go through SQLAlchemy.
    """
    sqlite = conn.dialect.name == "sqlite"
    if not (sqlite or (conn.dialect.name == "postgresql" and conn.dialect.driver == "psycopg")):
        query = sa.select(*cols)
        if key is not None:
            query = query.where(table.c[key].in_(list(ids)))
        found = [tuple(row) for row in conn.execute(query)]
        return list(zip(*found, strict=True)) if found else [()] * len(cols)
    preparer = conn.dialect.identifier_preparer
    names = ", ".join(preparer.quote(c.name) for c in cols)
    sql = f"SELECT {names} FROM {preparer.format_table(table)}"
    params: list[Any] = []
    if key is not None:
        marker = "?" if conn.dialect.paramstyle == "qmark" else "%s"
        sql += f" WHERE {preparer.quote(table.c[key].name)} IN ({', '.join([marker] * len(ids))})"
        params = list(ids)
    # executed by SQLAlchemy (its transaction, its error handling: a locked store is a
    # StoreBusyError), the rows taken from the driver's cursor as the driver gives them
    result = conn.exec_driver_sql(sql, tuple(params))
    try:
        rows: list[tuple[Any, ...]] = list(result.cursor.fetchall())  # type: ignore[union-attr]
    finally:
        result.close()
    columns: list[tuple[Any, ...]] = list(zip(*rows, strict=True)) if rows else [()] * len(cols)
    if sqlite:
        for j, c in enumerate(cols):
            process = c.type.dialect_impl(conn.dialect).result_processor(conn.dialect, None)
            if process is not None:
                columns[j] = tuple(process(v) for v in columns[j])
    return columns


def fetch(conn: sa.Connection, table: str, ids: Sequence[str], chunk: int) -> Stored:
    """The stored rows (live and deleted) of ``table`` whose id is in ``ids``, in any order."""
    t = REGISTER[table]
    id_col = ID_COLUMNS[table]
    keys = [key for key, _ in frame_columns(table)]
    cols = [t.c[k] for k in keys] + [t.c.deleted_at, t.c.deleted_reason]
    wanted = list(dict.fromkeys(ids))
    transposed: list[tuple[Any, ...]] = [()] * len(cols)
    whole = False
    if wanted:
        stored_n = conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
        whole = stored_n <= 4 * len(wanted)
        if whole:
            # cheaper to read the whole (small) table than to send the ids in many IN lists
            transposed = _raw_select(conn, t, cols, None, [])
        else:
            parts = [_raw_select(conn, t, cols, id_col, part) for part in chunks(wanted, chunk)]
            transposed = [tuple(v for p in parts for v in p[j]) for j in range(len(cols))]
    arrays = {k: _objects(transposed[j]) for j, k in enumerate(keys)}
    if "geometry" in arrays:
        arrays["geometry"] = _objects([None if g is None else bytes(g) for g in arrays["geometry"]])
    deleted_at = _objects(transposed[len(keys)])
    deleted_reason = _objects(transposed[len(keys) + 1])
    if whole:  # keep the wanted ids
        keep = _index(arrays[id_col]).isin(_objects(wanted))
        arrays = {k: v[keep] for k, v in arrays.items()}
        deleted_at, deleted_reason = deleted_at[keep], deleted_reason[keep]
    return Stored(list(arrays[id_col]), arrays, deleted_at, deleted_reason)


def lookup(
    conn: sa.Connection, table: str, ids: Sequence[str], chunk: int
) -> dict[str, tuple[str, bool]]:
    """``{id: (its mine_id, deleted?)}`` of the stored rows of ``table`` among ``ids``."""
    t = REGISTER[table]
    id_col = ID_COLUMNS[table]
    wanted = sorted(set(ids))
    out: dict[str, tuple[str, bool]] = {}
    if not wanted:
        return out
    query = sa.select(t.c[id_col], t.c.mine_id, t.c.deleted_at.is_not(None))
    stored_n = conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
    if stored_n <= 4 * len(wanted):
        wanted_set = set(wanted)
        return {k: (m, bool(d)) for k, m, d in conn.execute(query) if k in wanted_set}
    for part in chunks(wanted, chunk):
        out.update(
            {k: (m, bool(d)) for k, m, d in conn.execute(query.where(t.c[id_col].in_(part)))}
        )
    return out


# -- comparing ------------------------------------------------------------------------------


def _equal(kind: str, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Elementwise equality of two object arrays of database values (NULL equals NULL)."""
    if kind == "float":
        x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
        with np.errstate(invalid="ignore"):
            same = x == y
        return same | (np.isnan(x) & np.isnan(y))
    if len(a) == 0:
        return np.zeros(0, dtype=bool)
    return np.asarray(a == b, dtype=bool)


def _merge_sample_texts(
    merged: dict[str, np.ndarray],
    stored: dict[str, np.ndarray],
    given: dict[str, np.ndarray] | None,
) -> None:
    """Samples: keep ``qualifiers`` and the detection limits in step after a partial update.

    Where a file gave metal columns but no ``qualifiers`` column, the stored entries of the
    metals it did not give are kept beside the incoming ones; then each stated limit is written
    both as a number and in the text (:func:`restora.inventory.censored.reconcile_limits`).
    """
    n = len(merged["sample_id"])
    if n == 0:
        return
    if given is not None:
        metal_given = np.column_stack([given[m] for m in METALS])
        partial = ~given["qualifiers"] & metal_given.any(axis=1) & (stored["qualifiers"] != None)  # noqa: E711
        for i in np.flatnonzero(partial):
            names = {m.lower() for m, g in zip(METALS, metal_given[i], strict=True) if g}
            kept = [
                part.strip()
                for part in str(stored["qualifiers"][i]).split(";")
                if part.strip() and next(iter(qualifier_entries(part)), "") not in names
            ]
            text = pd.Series(["; ".join(kept) or None], dtype=object)
            incoming = pd.Series([merged["qualifiers"][i]], dtype=object)
            merged["qualifiers"][i] = merge_qualifiers(text, incoming).iloc[0]
    limits = list(DETECTION_LIMIT_COLUMNS.values())
    frame = pd.DataFrame({k: merged[k] for k in ["qualifiers", *limits]})
    frame = reconcile_limits(frame, DETECTION_LIMIT_COLUMNS)
    merged["qualifiers"] = _objects(frame["qualifiers"].tolist())
    for k in limits:
        values = frame[k].to_numpy(dtype=float)
        merged[k] = _objects([None if np.isnan(v) else float(v) for v in values])


@dataclass
class _Compared:
    """One table's incoming rows aligned with the store."""

    ids: list[str]
    incoming: dict[str, np.ndarray]
    existing: np.ndarray  # bool, per incoming row
    deleted: np.ndarray  # bool, per incoming row
    deleted_reason: np.ndarray
    rows: np.ndarray  # indices of incoming rows that exist (live or deleted)
    stored: dict[str, np.ndarray]  # stored values of `rows`
    merged: dict[str, np.ndarray]  # merged values of `rows`
    changed: dict[str, np.ndarray]  # per column, bool per row of `rows`

    @property
    def row_changed(self) -> np.ndarray:
        if not self.changed:
            return np.zeros(len(self.rows), dtype=bool)
        return np.logical_or.reduce(list(self.changed.values()))

    def final(self, key: str) -> np.ndarray:
        """The value of column ``key`` each incoming row ends with."""
        out = self.incoming[key].copy()
        out[self.rows] = self.merged[key]
        return out


def _compare(
    conn: sa.Connection,
    table: str,
    incoming: Columns,
    given: dict[str, np.ndarray] | None,
    chunk: int,
) -> _Compared:
    id_col = ID_COLUMNS[table]
    kinds = dict(frame_columns(table))
    ids = list(incoming[id_col])
    inc = {k: _objects(incoming[k]) for k in kinds}
    stored = fetch(conn, table, ids, chunk)
    pos = _index(stored.ids).get_indexer(_objects(ids)) if stored.ids else np.full(len(ids), -1)
    existing = pos >= 0
    rows = np.flatnonzero(existing)
    at = pos[rows]
    st = {k: v[at] for k, v in stored.columns.items()}
    merged = {}
    for k in kinds:
        take = given[k][rows] if given is not None else np.ones(len(rows), dtype=bool)
        merged[k] = np.where(take, inc[k][rows], st[k]) if len(rows) else inc[k][rows]
    if table == "samples" and len(rows):
        _merge_sample_texts(
            merged, st, None if given is None else {k: v[rows] for k, v in given.items()}
        )
    changed = {k: ~_equal(kind, merged[k], st[k]) for k, kind in kinds.items() if k != id_col}
    deleted = np.zeros(len(ids), dtype=bool)
    deleted[rows] = np.array([d is not None for d in stored.deleted_at[at]], dtype=bool)
    reason = np.full(len(ids), None, dtype=object)
    reason[rows] = stored.deleted_reason[at]
    return _Compared(ids, inc, existing, deleted, reason, rows, st, merged, changed)


def _diffs(
    table: str, c: _Compared, which: np.ndarray
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Before and after (JSON) of the changed fields of rows ``which`` (indices into c.rows)."""
    kinds = dict(frame_columns(table))
    before: list[dict[str, Any]] = [{} for _ in which]
    after: list[dict[str, Any]] = [{} for _ in which]
    for k, mask in c.changed.items():
        cells = np.flatnonzero(mask[which])
        if not len(cells):
            continue
        rows = which[cells]
        old = json_values(kinds[k], c.stored[k][rows].tolist())
        new = json_values(kinds[k], c.merged[k][rows].tolist())
        for j, o, n in zip(cells.tolist(), old, new, strict=True):
            before[j][k] = o
            after[j][k] = n
    return before, after


def _column_slice(arrays: dict[str, np.ndarray], index: np.ndarray) -> Columns:
    return {k: v[index].tolist() for k, v in arrays.items()}


def plan_register(
    conn: sa.Connection,
    incoming: dict[str, Columns],
    *,
    mode: str,
    origins: Origins | None = None,
    chunk: int = 10_000,
) -> tuple[RegisterPlan, list[Problem]]:
    """Compare incoming records with the store; the plan and the problems that forbid it.

    Parameters
    ----------
    conn : sqlalchemy.Connection
        The store, inside the transaction that will write the plan (or a read-only one).
    incoming : dict of str to Columns
        Each register table as database values (:func:`restora.store.frames.to_columns`).
    mode : {"add", "upsert"}
        See the module docstring.
    origins : Origins, optional
        Files and rows of the incoming records, for messages, and the columns each gave.
    chunk : int
        Ids per ``IN`` list.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
    origins = origins or Origins({})
    problems: list[Problem] = []
    compared: dict[str, _Compared] = {}
    plans: dict[str, TablePlan] = {}
    for table in REGISTER_TABLES:
        id_col = ID_COLUMNS[table]
        ids = list(incoming[table][id_col])
        c = _compare(conn, table, incoming[table], origins.given(table, ids), chunk)
        compared[table] = c
        files, rows = origins.where(table, ids)
        live = ~c.deleted[c.rows]
        changed = c.row_changed
        refused = np.zeros(len(c.rows), dtype=bool)
        for j in np.flatnonzero(~live):
            i = c.rows[j]
            mine = c.stored["mine_id"][j]
            problems.append(
                Problem(
                    f"{_SINGULAR[table]} {ids[i]!r} was deleted from the store "
                    f"({c.deleted_reason[i]}); restore its mine first: "
                    f"restora mines restore {mine}",
                    files[i],
                    rows[i],
                    id_col,
                )
            )
        if mode == "add":
            clash = live & (changed if table == "mines" else np.ones(len(c.rows), dtype=bool))
            refused |= clash
            before, after = _diffs(table, c, np.flatnonzero(clash))
            for j, b, a in zip(np.flatnonzero(clash), before, after, strict=True):
                i = c.rows[j]
                if table == "mines":
                    what = "; ".join(f"{k}: {b[k]!r} in the store, {a[k]!r} here" for k in a)
                    message = (
                        f"mine {ids[i]!r} is already in the store with other values ({what}); "
                        "use --mode upsert to change it"
                    )
                else:
                    message = (
                        f"{_SINGULAR[table]} {ids[i]!r} is already in the store "
                        "(use --mode upsert to update it)"
                    )
                problems.append(Problem(message, files[i], rows[i], id_col))
        update = np.flatnonzero(live & changed & ~refused)
        before, after = _diffs(table, c, update)
        new = np.flatnonzero(~c.existing)
        plans[table] = TablePlan(
            table,
            insert=_column_slice(c.incoming, new),
            update={k: v[update].tolist() for k, v in c.merged.items()},
            before=before,
            after=after,
            unchanged=int((live & ~changed).sum()),
        )
    problems += _references(conn, compared, origins, chunk)
    if mode == "upsert":  # an add changes no stored record
        problems += _moved_sites(conn, compared, origins, chunk)
    return RegisterPlan(mode, plans), problems


def _references(
    conn: sa.Connection, compared: dict[str, _Compared], origins: Origins, chunk: int
) -> list[Problem]:
    """Every site, sample and hazard ends in a live mine, and in a live site of that mine."""
    problems: list[Problem] = []
    mines_in = set(compared["mines"].ids)
    final_mine = {t: compared[t].final("mine_id") for t in ("sites", "samples", "hazards")}
    wanted = {m for t in final_mine for m in final_mine[t]} - mines_in
    stored_mines = lookup(conn, "mines", list(wanted), chunk)
    live_mines = mines_in | {m for m, (_, deleted) in stored_mines.items() if not deleted}
    for table in ("sites", "samples", "hazards"):
        c = compared[table]
        bad = ~_index(final_mine[table]).isin(_objects(list(live_mines)))
        if not bad.any():
            continue
        files, rows = origins.where(table, c.ids)
        for i in np.flatnonzero(bad):
            mine = final_mine[table][i]
            if mine in stored_mines:
                message = f"mine {mine!r} is deleted in the store (restora mines restore {mine})"
            else:
                message = f"mine {mine!r} is neither in the register nor in the store"
            problems.append(Problem(message, files[i], rows[i], "mine_id"))
    # sites named by samples and hazards: in the incoming sites or live in the store, same mine
    owner = dict(zip(compared["sites"].ids, final_mine["sites"], strict=True))
    named = {
        s for t in ("samples", "hazards") for s in compared[t].final("site_id") if s is not None
    }
    stored_sites = lookup(conn, "sites", list(named - set(owner)), chunk)
    owner.update({s: m for s, (m, deleted) in stored_sites.items() if not deleted})
    for table in ("samples", "hazards"):
        c = compared[table]
        site = pd.Series(c.final("site_id"), dtype=object)
        site_owner = site.map(owner).to_numpy(dtype=object)
        bad = site.notna().to_numpy() & (pd.isna(site_owner) | (site_owner != final_mine[table]))
        if not bad.any():
            continue
        files, rows = origins.where(table, c.ids)
        for i in np.flatnonzero(bad):
            s, mine = site.iloc[i], final_mine[table][i]
            if s in stored_sites and stored_sites[s][1]:
                message = f"site {s!r} is deleted in the store"
            elif site_owner[i] is None or pd.isna(site_owner[i]):
                message = f"site {s!r} is neither in the register nor in the store"
            else:
                message = f"site {s!r} belongs to mine {site_owner[i]!r}, not {mine!r}"
            problems.append(Problem(message, files[i], rows[i], "site_id"))
    return problems


def _moved_sites(
    conn: sa.Connection, compared: dict[str, _Compared], origins: Origins, chunk: int
) -> list[Problem]:
    """A site moved to another mine may not leave stored samples or hazards with the old one."""
    c = compared["sites"]
    if not len(c.rows):
        return []
    moved_rows = c.rows[c.changed["mine_id"]]
    if not len(moved_rows):
        return []
    new_mine = dict(
        zip(
            np.asarray(c.ids, dtype=object)[moved_rows], c.final("mine_id")[moved_rows], strict=True
        )
    )
    files, rows = origins.where("sites", c.ids)
    position = {c.ids[i]: i for i in moved_rows}
    left: dict[str, list[str]] = {}
    for table in ("samples", "hazards"):
        t = REGISTER[table]
        id_col = ID_COLUMNS[table]
        coming = set(compared[table].ids)  # their final state is checked with the incoming
        for part in chunks(sorted(new_mine), chunk):
            query = (
                sa.select(t.c[id_col], t.c.site_id, t.c.mine_id)
                .where(t.c.site_id.in_(part), t.c.deleted_at.is_(None))
                .order_by(t.c[id_col])
            )
            for rid, site, mine in conn.execute(query):
                if rid not in coming and mine != new_mine[site]:
                    left.setdefault(site, []).append(f"{_SINGULAR[table]} {rid!r}")
    return [
        Problem(
            f"site {site!r} moves to mine {new_mine[site]!r}, but "
            f"{', '.join(records[:5])}{' …' if len(records) > 5 else ''} of the store "
            "stay with its old mine; move them in the same import",
            files[position[site]],
            rows[position[site]],
            "mine_id",
        )
        for site, records in sorted(left.items())
    ]
