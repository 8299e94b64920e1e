"""The register's records over the API: JSON in and out, checked as an import checks a file.

A create or update of a mine, site, sample or hazard is one row of a register table: the
request's fields, named as the register names its columns (:mod:`restora.inventory.schema`),
become a :class:`~restora.inventory.parse.RawTable` that goes through the register import's
own checks and typing (:func:`restora.inventory.io.register_from_tables`: coded values in
Chinese or English, 6-digit region codes, ranges, ``<0.05`` and ``ND`` results, polygons and
their equal-area areas, the declared area against the polygon, references to mines and sites
of the store), then into the store in one audited transaction
(:meth:`restora.store.Store.import_register`, ``add`` for a create, ``upsert`` for an update).
So the API accepts exactly what an import accepts, and says what is wrong in the same words,
with the field's path (``metals_mg_per_kg.Cd``) in RFC 9457 problem details.

An update (PATCH) takes the stored record, lays the given fields over it and sends the whole
row: the fields not given compare equal to the stored ones, so only the given ones change (the
diff and the audit trail show only those).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Annotated, Any

import numpy as np
import pandas as pd
import shapely
import sqlalchemy as sa
from fastapi import Query, Request
from pydantic import BaseModel, Field

from restora.errors import InputError
from restora.inventory.model import DETECTION_LIMIT_COLUMNS
from restora.inventory.schema import METALS, TABLES
from restora.service.problems import Problem
from restora.service.security import Principal, check_region
from restora.store.audit import Change
from restora.store.tables import ID_COLUMNS, REGISTER, frame_columns
from restora.units import MU_PER_HM2

#: The file name of a request's records in messages and in the audit trail.
BODY = "request body"
#: Request fields that hold several register columns: ``{field: {column: key}}``.
NESTED = {
    "metals_mg_per_kg": {m: m for m in METALS},
    "detection_limits_mg_per_kg": {c: m for m, c in DETECTION_LIMIT_COLUMNS.items()},
}
SINGULAR = {"mines": "mine", "sites": "site", "samples": "sample", "hazards": "hazard"}


# -- JSON ----------------------------------------------------------------------------------


def jsonable(value: Any) -> Any:
    """A value as JSON: NaN and ±inf → null, numpy scalars → Python, dates → ISO text."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return [jsonable(v) for v in value.tolist()]
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return value


def geojson(geometry: Any) -> dict[str, Any] | None:
    """A shapely geometry (or its WKB) as a GeoJSON geometry object, lon/lat (EPSG:4326)."""
    if geometry is None:
        return None
    if isinstance(geometry, (bytes, bytearray, memoryview)):
        geometry = shapely.from_wkb(bytes(geometry))
    return shapely.geometry.mapping(geometry)  # type: ignore[no-any-return]


# -- who changes what ----------------------------------------------------------------------


def noted(change: Change, **options: Any) -> Change:
    """The request's audited change (:data:`restora.service.changes.ChangeDep`: account,
    request id, route) with the route's own options added."""
    return dataclasses.replace(change, options={**change.options, **jsonable(options)})


# -- reads ---------------------------------------------------------------------------------


def columns_of(table: str) -> list[sa.Label[Any]]:
    """The register columns of ``table``, labelled as the register names them (``Cd``)."""
    t = REGISTER[table]
    return [t.c[key].label(key) for key, _ in frame_columns(table)]


def stored_record(
    conn: sa.Connection, table: str, record_id: str, *, include_deleted: bool = False
) -> dict[str, Any] | None:
    """One record of the register as a dict of its columns (None if not there or deleted)."""
    t = REGISTER[table]
    query = sa.select(*columns_of(table)).where(t.c[ID_COLUMNS[table]] == record_id)
    if not include_deleted:
        query = query.where(t.c.deleted_at.is_(None))
    row = conn.execute(query).mappings().first()
    return None if row is None else dict(row)


def mine_region(conn: sa.Connection, mine_id: str) -> str | None:
    """The region code of a live mine (None if no such live mine)."""
    mines = REGISTER["mines"]
    found = conn.execute(
        sa.select(mines.c.region_code).where(
            mines.c.mine_id == mine_id, mines.c.deleted_at.is_(None)
        )
    ).scalar_one_or_none()
    return None if found is None else str(found)


def read_connection(engine: sa.Engine) -> Any:
    """A read-only connection to the store (no write lock on SQLite)."""
    conn = engine.connect()
    conn.execution_options(restora_read_only=True)
    return conn


def not_found(table: str, record_id: str) -> Problem:
    return Problem(404, f"no {SINGULAR[table]} {record_id!r}", kind="not-found")


# -- the request's row through the import's checks -----------------------------------------


def flatten(table: str, body: Mapping[str, Any]) -> dict[str, Any]:
    """A request's fields as register columns (nested metals spread out, GeoJSON as shapely)."""
    out: dict[str, Any] = {}
    for key, value in body.items():
        if key in NESTED:
            for column, inner in NESTED[key].items():
                if isinstance(value, Mapping) and inner in value:
                    out[column] = value[inner]
            continue
        out[key] = value
    return out


def _field_path(table: str, column: str | None) -> str | None:
    """The request field of a register column (``Cd`` → ``metals_mg_per_kg.Cd``)."""
    if column is None:
        return None
    for field, members in NESTED.items():
        if column in members:
            return f"{field}.{members[column]}"
    if table == "sites" and column in ("lon", "lat", "geometry"):
        return column
    return column


def body_problem(exc: InputError, table: str, status: int = 422, where: str = "body") -> Problem:
    """The problems of a request's records as one problem document naming each field."""
    errors = []
    for p in exc.problems:
        item: dict[str, Any] = {
            "field": _field_path(table, p.field),
            "in": where,
            "message": p.message,
        }
        if p.file not in (None, BODY, table):
            item["file"] = p.file  # a stored record named by the store's check
        errors.append(item)
    first = exc.problems[0]
    path = _field_path(table, first.field)
    detail = f"{path}: {first.message}" if path else first.message
    return Problem(status, detail, kind="invalid-input", errors=errors)


def raw_table(table: str, rows: Sequence[Mapping[str, Any]]) -> Any:
    """A :class:`RawTable` of register columns from records (a polygon as its geometry)."""
    from restora.inventory.parse import RawTable

    frame = pd.DataFrame(
        [{k: v for k, v in r.items() if k != "geometry"} for r in rows], dtype=object
    )
    frame = frame.astype(object).where(frame.notna(), None)
    geometry = None
    if table == "sites" and any(r.get("geometry") is not None for r in rows):
        geometry = np.array([r.get("geometry") for r in rows], dtype=object)
    return RawTable(
        BODY,
        frame.reset_index(drop=True),
        gis=geometry is not None,
        geometry=geometry,
        crs="EPSG:4326",
    )


def read_records(store: Any, table: str, rows: Sequence[Mapping[str, Any]]) -> tuple[Any, Any, str]:
    """Type and check records of one register table as the import does.

    Parameters
    ----------
    store : restora.store.Store
    table : {"mines", "sites", "samples", "hazards"}
    rows : sequence of mapping
        Register columns (:func:`flatten`); a site's ``geometry`` a shapely geometry in lon/lat.

    Returns
    -------
    (Register, ImportReport, str)
        The register, the import report and the SHA-256 of the records' JSON.

    Raises
    ------
    Problem
        422 naming each field that is wrong.
    """
    from restora.inventory.io import SourceFile, register_from_tables

    raw = raw_table(table, rows)
    text = json.dumps(
        [{k: (geojson(v) if k == "geometry" else v) for k, v in r.items()} for r in rows],
        default=str,
        sort_keys=True,
        ensure_ascii=False,
    )
    digest = hashlib.sha256(text.encode()).hexdigest()
    try:
        register, report = register_from_tables(
            [([raw], SourceFile(BODY, "json", digest))],
            lonlat_wgs84=True,
            store_mines=store.mine_ids(),
            store_sites=store.site_owners(),
        )
    except InputError as exc:
        raise body_problem(exc, table) from exc
    kinds = {p.get("kind") for f in report.files for p in f.tables}
    if kinds - {table}:
        # e.g. a site without geometry or centre point reads as a mines table
        raise Problem(
            422,
            f"the fields do not make a {SINGULAR[table]}",
            kind="invalid-input",
            errors=[
                {"field": None, "in": "body", "message": f"read as {sorted(str(k) for k in kinds)}"}
            ],
        )
    return register, report, digest


def write_records(
    store: Any,
    table: str,
    rows: Sequence[Mapping[str, Any]],
    *,
    mode: str,
    change: Change,
) -> Any:
    """Check records and write them in one audited transaction; the store's plan.

    ``mode`` ``add`` (a create: an id already in the store is a 409 naming it) or ``upsert``.
    A site's row carries its (stored) mine's columns, as a sites table of an import does.
    """
    if table == "sites":
        rows = [_with_mine(store, r) for r in rows]
    register, report, digest = read_records(store, table, rows)
    change = dataclasses.replace(change, files=[{"path": BODY, "sha256": digest}])
    try:
        return store.import_register(
            register,
            mode=mode,
            source=report.source({"mode": mode, "via": "api"}),
            change=change,
            origins=report.origins,
        )
    except InputError as exc:
        already = any("already in the store" in p.message for p in exc.problems)
        raise body_problem(exc, table, 409 if already else 422) from exc


def _with_mine(store: Any, row: Mapping[str, Any]) -> dict[str, Any]:
    """A site's row with its mine's stored columns (equal to the store's: the mine is unchanged)."""
    with read_connection(store.engine) as conn:
        mine = stored_record(conn, "mines", str(row.get("mine_id")))
    if mine is None:
        return dict(row)
    return {**as_row("mines", mine), **row}


# -- stored records as request rows (for updates) ------------------------------------------


def as_row(table: str, stored: Mapping[str, Any]) -> dict[str, Any]:
    """A stored record as the row a request would give (what an update lays its fields over).

    A site keeps its polygon, or — without boundary — its centre point and declared area; a
    sample its metals as numbers with the lab's ``qualifiers`` (the stated limits are read back
    from them, as from an export).
    """
    names = {c.name for c in TABLES[table]}
    row = {k: v for k, v in stored.items() if k in names}
    if table == "samples":
        row.update({m: stored.get(m) for m in METALS})
    if table == "sites":
        geom = stored.get("geometry")
        shape = shapely.from_wkb(bytes(geom)) if geom is not None else None
        if shape is not None and shapely.get_type_id(shape) in (3, 6):
            row["geometry"] = shape
        elif shape is not None:  # a site without boundary: its centre point, declared area
            row["lon"], row["lat"] = shape.x, shape.y
    return {k: jsonable(v) if k != "geometry" else v for k, v in row.items()}


def without_qualifiers(text: str | None, metals: Iterable[str]) -> str | None:
    """``qualifiers`` text without the entries of ``metals`` (their new values replace them)."""
    from restora.inventory.censored import qualifier_entries

    if not text:
        return text
    drop = {m.lower() for m in metals}
    kept = [
        f"{name}={entry}"
        for name, entry in _entries(text, qualifier_entries)
        if name.lower() not in drop
    ]
    return "; ".join(kept) or None


def _entries(text: str, parse: Any) -> list[tuple[str, str]]:
    entries = parse(text)  # keyed by the name in lower case
    canon = {m.lower(): m for m in METALS}
    return [(canon.get(k, k), v) for k, v in entries.items()]


def site_area_fields(area_hm2: Any, geometry: Any, declared: Any) -> dict[str, Any]:
    """``area_hm2``, ``area_mu`` and ``area_source`` of a stored site (polygon or declared)."""
    shape = geometry
    if isinstance(geometry, (bytes, bytearray, memoryview)):
        shape = shapely.from_wkb(bytes(geometry))
    boundary = shape is not None and shapely.get_type_id(shape) in (3, 6)
    area = jsonable(area_hm2)
    if not boundary and area is None:
        area = jsonable(declared)
    return {
        "area_hm2": area,
        "area_mu": None if area is None else area * MU_PER_HM2,
        "area_source": "geometry" if boundary else ("declared" if area is not None else None),
    }


#: ``?reason=…`` of a delete (kept in the audit trail).
Reason = Annotated[
    str,
    Query(
        min_length=1,
        max_length=500,
        pattern=r"\S",
        description="why the record is deleted (kept with it and in the audit trail)",
    ),
]


def store_call(call: Callable[[], Any], table: str) -> Any:
    """A store write whose refusals (already deleted, has dependents, not deleted …) are 409s
    naming the field."""
    try:
        return call()
    except InputError as exc:
        problem = body_problem(exc, table, 409, where="path")
        problem.kind = "conflict"
        raise problem from exc


def checked_mine(conn: sa.Connection, principal: Principal, mine_id: Any) -> str:
    """The region of the live mine a request's record names, which the principal may write.

    A mine that is not live, or that the principal may not see, is not in the register for it
    (422 naming ``mine_id``); one it may see but not write is a 403.
    """
    from restora.service.permissions import in_scope

    region = mine_region(conn, str(mine_id)) if mine_id is not None else None
    if region is None or (
        principal.role not in ("admin", "public") and not in_scope(principal.region, region)
    ):
        raise Problem(
            422,
            f"mine_id: mine {mine_id!r} is not in the register",
            kind="invalid-input",
            errors=[
                {"field": "mine_id", "in": "body", "message": "not a live mine of the register"}
            ],
        )
    check_region(principal, region, write=True)
    return region


def scope_filter(principal: Principal, region_column: Any, region: str | None) -> list[Any]:
    """WHERE clauses of a list: the principal's region scope and a ``region`` filter."""
    from restora.service.permissions import region_prefix

    out = []
    scope = region_prefix(principal.region) if principal.role != "admin" else ""
    if scope:
        out.append(region_column.startswith(scope))
    if region:
        out.append(region_column.startswith(region_prefix(region.ljust(6, "0"))))
    return out


# -- the routes of sites, samples and hazards ---------------------------------------------


def list_records(
    engine: sa.Engine,
    principal: Principal,
    table: str,
    *,
    where: Sequence[Any],
    region: str | None,
    sort: tuple[str, bool],
    limit: int,
    offset: int,
) -> tuple[list[dict[str, Any]], int]:
    """A page of live records of ``table`` in the principal's scope: ``(rows, total)``.

    Each row holds the register columns and ``region_code`` (of the record's mine).
    """
    t, mines = REGISTER[table], REGISTER["mines"]
    q = (
        sa.select(*columns_of(table), mines.c.region_code)
        .select_from(t.join(mines, mines.c.mine_id == t.c.mine_id))
        .where(t.c.deleted_at.is_(None), mines.c.deleted_at.is_(None), *where)
    )
    q = q.where(*scope_filter(principal, mines.c.region_code, region))
    col, desc = sort
    key = t.c[col]
    id_col = t.c[ID_COLUMNS[table]]
    q = q.order_by(key.desc() if desc else key.asc(), id_col)
    with read_connection(engine) as conn:
        total = int(conn.execute(sa.select(sa.func.count()).select_from(q.subquery())).scalar_one())
        rows = [dict(r) for r in conn.execute(q.limit(limit).offset(offset)).mappings()]
    return rows, total


def get_record(
    engine: sa.Engine, principal: Principal, table: str, record_id: str
) -> dict[str, Any]:
    """One live record in the principal's scope (404 otherwise), with its mine's region."""
    with read_connection(engine) as conn:
        stored = stored_record(conn, table, record_id)
        region = mine_region(conn, str(stored["mine_id"])) if stored is not None else None
    if stored is None or region is None:
        raise not_found(table, record_id)
    check_region(principal, region, write=False)
    return {**stored, "region_code": region}


def create_record(
    store: Any, principal: Principal, table: str, row: dict[str, Any], change: Change
) -> str:
    """Add one record (a create): its id. 409 if the id is in the store (live or deleted)."""
    record_id = str(row[ID_COLUMNS[table]])
    with read_connection(store.engine) as conn:
        if stored_record(conn, table, record_id, include_deleted=True) is not None:
            raise Problem(
                409,
                f"{SINGULAR[table]} {record_id!r} is already in the store",
                kind="conflict",
                errors=[
                    {"field": ID_COLUMNS[table], "in": "body", "message": "already in the store"}
                ],
            )
        checked_mine(conn, principal, row.get("mine_id"))
    write_records(store, table, [row], mode="add", change=change)
    return record_id


def update_record(
    store: Any,
    principal: Principal,
    table: str,
    record_id: str,
    given: dict[str, Any],
    change: Change,
) -> None:
    """Lay the given register columns over a stored record and write the change (an upsert)."""
    with read_connection(store.engine) as conn:
        stored = stored_record(conn, table, record_id)
        region = mine_region(conn, str(stored["mine_id"])) if stored is not None else None
        if stored is None or region is None:
            raise not_found(table, record_id)
        check_region(principal, region, write=False)  # a record they may not see: 404
        check_region(principal, region, write=True)
        if "mine_id" in given and given["mine_id"] != stored["mine_id"]:
            checked_mine(conn, principal, given["mine_id"])
    if not given:
        return
    row = as_row(table, stored)
    if table == "samples" and "qualifiers" not in given:
        # a new value of a metal replaces what the lab wrote for it
        row["qualifiers"] = without_qualifiers(row.get("qualifiers"), set(given) & set(METALS))
    row.update(given)
    shown = {k: v for k, v in given.items() if k != "geometry"}
    write_records(store, table, [row], mode="upsert", change=noted(change, values=shown))


def delete_record(
    store: Any,
    principal: Principal,
    table: str,
    record_id: str,
    change: Change,
    *,
    reason: str,
    cascade: bool,
) -> dict[str, Any]:
    """Soft-delete one record (:meth:`restora.store.Store.delete_record`)."""
    stored = get_record(store.engine, principal, table, record_id)
    check_region(principal, stored["region_code"], write=True)
    change = noted(change, cascade=cascade)
    result = store_call(
        lambda: store.delete_record(
            table, record_id, reason=reason, cascade=cascade, change=change
        ),
        table,
    )
    return jsonable(result)  # type: ignore[no-any-return]


def restore_record(
    store: Any, principal: Principal, table: str, record_id: str, change: Change
) -> dict[str, Any]:
    """Bring back a soft-deleted record (:meth:`restora.store.Store.restore_record`)."""
    with read_connection(store.engine) as conn:
        stored = stored_record(conn, table, record_id, include_deleted=True)
        mines = REGISTER["mines"]
        region = (
            conn.execute(
                sa.select(mines.c.region_code).where(mines.c.mine_id == stored["mine_id"])
            ).scalar_one_or_none()
            if stored is not None
            else None
        )
    if stored is None:
        raise not_found(table, record_id)
    check_region(principal, region, write=False)
    check_region(principal, region, write=True)
    result = store_call(lambda: store.restore_record(table, record_id, change=change), table)
    return jsonable(result)  # type: ignore[no-any-return]


class RecordDeleted(BaseModel):
    """What a soft delete of a site, sample or hazard did."""

    table: str
    id: str
    mine_id: str
    deleted: dict[str, list[str]] = Field(description="ids deleted per table")
    reason: str
    at: str = Field(description="when (UTC, ISO 8601)")
    by: str
    change_id: int


class RecordRestored(BaseModel):
    """What a restore of a site, sample or hazard did."""

    table: str
    id: str
    mine_id: str
    restored: dict[str, list[str]] = Field(description="ids restored per table")
    change_id: int


#: ``?cascade=true`` of a site's delete.
Cascade = Annotated[bool, Query(description="also delete the records that depend on it")]


def located(request: Request, record_id: str) -> str:
    """The URL of a created record (for the Location header)."""
    return f"{request.url.path.rstrip('/')}/{record_id}"
