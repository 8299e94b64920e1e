"""Remote-sensing results in the store: fractional vegetation cover and water area per zone.

One row of ``monitoring_rs_results`` is one raster analysed for one mine: its ``kind``
(``"fvc"`` or ``"water"``), the date the image was acquired, the file's name and SHA-256, the
parameters (``params``: NDVI_soil / NDVI_veg and how they were chosen, scale, class limits …)
and the per-zone statistics (``zones``: a list of objects, one per zone, as
:func:`restora.monitoring.fvc.zone_statistics` computes them and docs/monitoring.md, "Remote
sensing", documents them).

:func:`zone_cover` is the contract the verification of a "vegetation cover ≥ 60 %" milestone
relies on: the latest FVC of each zone of a mine on a date. Keep it stable.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from restora.errors import InputError
from restora.store.audit import Change, log_change
from restora.store.engine import begin_write
from restora.store.monitoring_tables import monitoring_rs_results as RESULTS
from restora.store.tables import mines as MINES
from restora.store.tables import sites as SITES

#: Kinds of result: fractional vegetation cover, water area.
KINDS = ("fvc", "water")


def _engine(store: Any) -> sa.Engine:
    return store if isinstance(store, sa.Engine) else store.engine  # type: ignore[no-any-return]


def _record(row: Mapping[Any, Any]) -> dict[str, Any]:
    out = dict(row)
    out["acquired_on"] = row["acquired_on"].isoformat()
    created = row["created_at"]
    if created is not None and created.tzinfo is None:  # SQLite returns naive UTC
        created = created.replace(tzinfo=dt.UTC)
    out["created_at"] = created.isoformat() if created is not None else None
    return out


def save_result(
    store: Any,
    *,
    mine_id: str,
    kind: str,
    acquired_on: dt.date,
    sha256: str,
    params: Mapping[str, Any],
    zones: Sequence[Mapping[str, Any]],
    file_name: str | None = None,
    created_by: str | None = None,
    at: dt.datetime | None = None,
    change: Change | None = None,
) -> dict[str, Any]:
    """Store one analysed raster of a mine; returns the stored record (with its ``id``).

    With ``change``, the audit trail records the insert in the same transaction (the file, its
    hash, the date, the end-members and the number of zones).

    Parameters
    ----------
    store : Store or sqlalchemy.Engine
        The store.
    mine_id : str
        A live mine of the register.
    kind : {"fvc", "water"}
        What was computed.
    acquired_on : datetime.date
        The image's acquisition date.
    sha256 : str
        SHA-256 of the raster file (hex).
    params : mapping
        The method's parameters (JSON-serialisable).
    zones : sequence of mapping
        Per-zone statistics (JSON-serialisable), each with ``zone_id``.
    file_name : str, optional
        The raster's file name.
    created_by : str, optional
        Who stored it.
    at : datetime, optional
        When (UTC); now by default.
    change : Change, optional
        Who stores it, from which command or request (the audit trail).

    Raises
    ------
    InputError
        Unknown kind, or no live mine ``mine_id``.
    """
    if kind not in KINDS:
        raise InputError(f"unknown kind {kind!r} (one of {', '.join(KINDS)})", field="kind")
    values: dict[str, Any] = {
        "mine_id": mine_id,
        "kind": kind,
        "acquired_on": acquired_on,
        "file_name": file_name,
        "sha256": sha256,
        "params": dict(params),
        "zones": [dict(z) for z in zones],
        "created_at": at or dt.datetime.now(dt.UTC),
        "created_by": created_by,
    }
    with begin_write(_engine(store)) as conn:
        live = conn.execute(
            sa.select(MINES.c.mine_id).where(
                MINES.c.mine_id == mine_id, MINES.c.deleted_at.is_(None)
            )
        ).first()
        if live is None:
            raise InputError(f"no mine {mine_id!r} in the register", field="mine_id")
        new_id = conn.execute(sa.insert(RESULTS).values(**values).returning(RESULTS.c.id))
        values["id"] = new_id.scalar_one()
        if change is not None:
            trail = {
                "kind": kind,
                "acquired_on": acquired_on.isoformat(),
                "file_name": file_name,
                "sha256": sha256,
                "endmembers": dict(params).get("endmembers"),
                "zones": len(values["zones"]),
            }
            log_change(
                conn, change, table="monitoring_rs_results", record_id=values["id"],
                action="insert", after=trail, mine_id=mine_id, when=values["created_at"],
            )  # fmt: skip
    return _record(values)


def rs_results(
    store: Any, mine_id: str, *, kind: str | None = None, limit: int = 1000
) -> list[dict[str, Any]]:
    """A mine's stored results, newest image first (then newest stored first).

    Each record: ``id``, ``mine_id``, ``kind``, ``acquired_on`` (ISO date), ``file_name``,
    ``sha256``, ``params``, ``zones``, ``created_at`` (ISO, UTC), ``created_by``.
    """
    q = sa.select(RESULTS).where(RESULTS.c.mine_id == mine_id)
    if kind is not None:
        q = q.where(RESULTS.c.kind == kind)
    q = q.order_by(RESULTS.c.acquired_on.desc(), RESULTS.c.id.desc()).limit(limit)
    with _engine(store).connect() as conn:
        return [_record(r._mapping) for r in conn.execute(q)]


def rs_result(store: Any, result_id: int) -> dict[str, Any] | None:
    """One stored result by id, or None."""
    with _engine(store).connect() as conn:
        row = conn.execute(sa.select(RESULTS).where(RESULTS.c.id == result_id)).first()
    return None if row is None else _record(row._mapping)


def zone_cover(store: Any, mine_id: str, on: dt.date | None = None) -> list[dict[str, Any]]:
    """The latest fractional vegetation cover of each zone of a mine, as of a date.

    For every zone that appears in the mine's ``fvc`` results acquired on or before ``on``
    (any date if None), the statistics of the most recent such result (the latest
    ``acquired_on``; on a tie, the result stored last). Zones without valid pixels
    (``fvc_mean`` None) are included: the caller decides what missing evidence means.

    Parameters
    ----------
    store : Store or sqlalchemy.Engine
        The store.
    mine_id : str
        The mine.
    on : datetime.date, optional
        Latest acquisition date to consider.

    Returns
    -------
    list of dict
        Sorted by ``zone_id``; each with

        - ``zone_id`` (str), ``name`` (str or None)
        - ``fvc_mean`` [fraction 0–1] mean FVC of the zone's valid pixels, or None
        - ``fvc_median`` [fraction 0–1] or None
        - ``valid_area_m2`` [m²] area of the zone's valid pixels (the weight of an
          area-weighted mean), ``area_m2`` [m²] area of all its pixels
        - ``vegetated_area_m2`` [m²] area with FVC ≥ the "high" class limit
        - ``acquired_on`` (ISO date), ``result_id`` (int), ``file_name``, ``sha256``: the
          evidence the figure rests on.
    """
    q = sa.select(RESULTS).where(RESULTS.c.mine_id == mine_id, RESULTS.c.kind == "fvc")
    if on is not None:
        q = q.where(RESULTS.c.acquired_on <= on)
    q = q.order_by(RESULTS.c.acquired_on.desc(), RESULTS.c.id.desc())
    latest: dict[str, dict[str, Any]] = {}
    with _engine(store).connect() as conn:
        for row in conn.execute(q):
            r = row._mapping
            for z in r["zones"] or []:
                zone_id = str(z.get("zone_id"))
                if zone_id in latest:
                    continue
                latest[zone_id] = {
                    "zone_id": zone_id,
                    "name": z.get("name"),
                    "fvc_mean": z.get("fvc_mean"),
                    "fvc_median": z.get("fvc_median"),
                    "valid_area_m2": z.get("valid_area_m2"),
                    "area_m2": z.get("area_m2"),
                    "vegetated_area_m2": z.get("vegetated_area_m2"),
                    "acquired_on": r["acquired_on"].isoformat(),
                    "result_id": r["id"],
                    "file_name": r["file_name"],
                    "sha256": r["sha256"],
                }
    return [latest[k] for k in sorted(latest)]


def mine_zones(store: Any, mine_id: str) -> list[dict[str, Any]]:
    """The live sites of a mine that have a geometry, as zones.

    Returns
    -------
    list of dict
        ``zone_id`` (the site id), ``name`` (the site's kind) and ``wkb`` (geometry as WKB,
        EPSG:4326), sorted by ``zone_id``.

    Raises
    ------
    InputError
        No live mine ``mine_id``, or none of its sites has a geometry.
    """
    with _engine(store).connect() as conn:
        live = conn.execute(
            sa.select(MINES.c.mine_id).where(
                MINES.c.mine_id == mine_id, MINES.c.deleted_at.is_(None)
            )
        ).first()
        if live is None:
            raise InputError(f"no mine {mine_id!r} in the register", field="mine_id")
        rows = conn.execute(
            sa.select(SITES.c.site_id, SITES.c.kind, SITES.c.geometry)
            .where(
                SITES.c.mine_id == mine_id,
                SITES.c.deleted_at.is_(None),
                SITES.c.geometry.is_not(None),
            )
            .order_by(SITES.c.site_id)
        ).all()
    if not rows:
        raise InputError(
            f"mine {mine_id!r} has no site with a geometry to use as a zone (import its sites "
            "from a GIS file, or give the zones with --zones)",
            field="mine_id",
        )
    return [{"zone_id": r.site_id, "name": r.kind, "wkb": bytes(r.geometry)} for r in rows]
