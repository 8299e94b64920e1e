"""Sensors, readings, quarantine and field campaigns in the store (docs/monitoring.md,
"Indicators and ingestion").

:func:`ingest` stores a batch of readings (MQTT, HTTP upload, campaign file) in **one
transaction**: readings of unknown mines and rejected payloads go to ``monitoring_quarantine``
with the reason and field; a new sensor of a known mine is registered (its interval: the
catalogue's shortest for the indicators it sends); a reading already stored (same sensor,
indicator and measured time: a message delivered twice) is skipped and counted, with an
insert-or-ignore (``ON CONFLICT DO NOTHING``) that holds on SQLite and PostgreSQL under
concurrent writers; a reading that arrives late is stored at its measured time; the sensors'
``last_seen_at`` / ``last_measured_at`` move forward; and the alert engine
(:func:`restora.store.alerts.evaluate_stored`) judges the new readings in the same
transaction, so a reading and the alert it raises commit together. If anything fails, nothing
of the batch is stored.

Writers are serialised as the alert engine requires (:func:`restora.store.engine.begin_write`:
SQLite's write lock, PostgreSQL's schema advisory lock).

Times returned are ISO-8601 text in UTC (``2026-05-01T00:00:00+00:00``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect

from restora.errors import InputError, Problem
from restora.monitoring import catalogue
from restora.monitoring.campaign_io import read_campaign
from restora.monitoring.payload import NO_SITE, Reading, Rejection, make_reading, sensor_id
from restora.store import alerts
from restora.store.engine import begin_write
from restora.store.monitoring_tables import monitoring_campaigns as CAMPAIGNS
from restora.store.monitoring_tables import monitoring_quarantine as QUARANTINE
from restora.store.monitoring_tables import monitoring_readings as READINGS
from restora.store.monitoring_tables import monitoring_sensors as SENSORS
from restora.store.tables import metadata

MINES = metadata.tables["mines"]
#: ``source`` of a reading.
SOURCES = ("mqtt", "http", "campaign")
#: ``attrs.kind`` of a campaign's sampling point (registered inactive: no offline alerts).
SAMPLING_POINT = "sampling_point"


@dataclass(frozen=True)
class IngestResult:
    """What :func:`ingest` did: readings stored, duplicates skipped, payloads quarantined, the
    alerts raised and the sensors registered."""

    stored: int
    duplicates: int
    quarantined: int
    alert_ids: list[int] = field(default_factory=list)
    registered: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "stored": self.stored,
            "duplicates": self.duplicates,
            "quarantined": self.quarantined,
            "alert_ids": list(self.alert_ids),
            "registered": list(self.registered),
        }


def _engine(store: Any) -> sa.Engine:
    return store if isinstance(store, sa.Engine) else store.engine  # type: ignore[no-any-return]


def _utc(t: dt.datetime | None) -> dt.datetime | None:
    # SQLite gives back naive datetimes (stored in UTC)
    if t is None:
        return None
    return t.replace(tzinfo=dt.UTC) if t.tzinfo is None else t.astimezone(dt.UTC)


def _iso(t: dt.datetime | None) -> str | None:
    u = _utc(t)
    return None if u is None else u.isoformat()


def _now(now: dt.datetime | None) -> dt.datetime:
    return dt.datetime.now(dt.UTC) if now is None else _utc(now)  # type: ignore[return-value]


def _insert(conn: sa.Connection, table: sa.Table) -> Any:
    dialect = pg_dialect if conn.dialect.name == "postgresql" else sqlite_dialect
    return dialect.insert(table)


def _live_mines(conn: sa.Connection, mine_ids: Iterable[str]) -> set[str]:
    ids = sorted(set(mine_ids))
    if not ids:
        return set()
    q = sa.select(MINES.c.mine_id).where(MINES.c.mine_id.in_(ids), MINES.c.deleted_at.is_(None))
    return set(conn.execute(q).scalars())


# ------------------------------------------------------------------------------------ sensors
def sensor_dict(row: Mapping[Any, Any]) -> dict[str, Any]:
    """A sensor as the API and ``--format json`` show it."""
    return {
        "id": row["id"],
        "mine_id": row["mine_id"],
        "site_id": row["site_id"],
        "code": row["code"],
        "name": row["name"],
        "indicators": list(row["indicators"] or []),
        "expected_interval_s": row["expected_interval_s"],
        "lon": row["lon"],
        "lat": row["lat"],
        "active": bool(row["active"]),
        "created_at": _iso(row["created_at"]),
        "last_seen_at": _iso(row["last_seen_at"]),
        "last_measured_at": _iso(row["last_measured_at"]),
        "attrs": dict(row["attrs"] or {}),
    }


def register_sensor(
    store: Any,
    *,
    mine_id: str,
    code: str,
    indicators: Sequence[str],
    site_id: str | None = None,
    name: str | None = None,
    interval_s: int | None = None,
    lon: float | None = None,
    lat: float | None = None,
    active: bool = True,
    attrs: Mapping[str, Any] | None = None,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """Register a sensor of a mine, or update it if its id (``<mine>/<site>/<code>``) exists.

    ``interval_s`` [s] defaults to the catalogue's shortest interval of its indicators.

    Raises
    ------
    InputError
        Unknown mine (field ``mine``), unknown indicator, bad interval or coordinates.
    """
    if not indicators:
        raise InputError("a sensor needs at least one indicator", field="indicators")
    inds = [catalogue.indicator(code_) for code_ in indicators]
    if interval_s is not None and interval_s <= 0:
        raise InputError(f"interval {interval_s} s is not positive", field="interval_s")
    if lon is not None and not -180 <= lon <= 180:
        raise InputError(f"longitude {lon} is not within -180..180", field="lon")
    if lat is not None and not -90 <= lat <= 90:
        raise InputError(f"latitude {lat} is not within -90..90", field="lat")
    site = None if site_id in (None, "", NO_SITE) else site_id
    sid = sensor_id(mine_id, site, code)
    values = {
        "mine_id": mine_id,
        "site_id": site,
        "code": code,
        "name": name,
        "indicators": [i.code for i in inds],
        "expected_interval_s": interval_s or min(i.interval_s for i in inds),
        "lon": lon,
        "lat": lat,
        "active": active,
        "attrs": dict(attrs or {}),
    }
    with begin_write(_engine(store)) as conn:
        if mine_id not in _live_mines(conn, [mine_id]):
            raise InputError(f"unknown mine {mine_id!r}", field="mine")
        exists = conn.execute(sa.select(SENSORS.c.id).where(SENSORS.c.id == sid)).first()
        if exists:
            conn.execute(SENSORS.update().where(SENSORS.c.id == sid).values(**values))
        else:
            conn.execute(SENSORS.insert().values(id=sid, created_at=_now(now), **values))
        row = conn.execute(sa.select(SENSORS).where(SENSORS.c.id == sid)).mappings().one()
    return sensor_dict(row)


def sensors(store: Any, mine_id: str | None = None) -> list[dict[str, Any]]:
    """The sensors (of one mine), by id."""
    q = sa.select(SENSORS).order_by(SENSORS.c.id)
    if mine_id is not None:
        q = q.where(SENSORS.c.mine_id == mine_id)
    with _engine(store).connect() as conn:
        return [sensor_dict(r) for r in conn.execute(q).mappings()]


def sensor(store: Any, sensor_id: str) -> dict[str, Any] | None:
    """One sensor by id (``<mine>/<site>/<code>``), or None."""
    with _engine(store).connect() as conn:
        row = conn.execute(sa.select(SENSORS).where(SENSORS.c.id == sensor_id)).mappings().first()
    return None if row is None else sensor_dict(row)


# ------------------------------------------------------------------------------------ ingest
def ingest(
    store: Any,
    readings: Iterable[Reading | Rejection],
    *,
    source: str,
    received_at: dt.datetime | None = None,
    origin: str | None = None,
    auto_register: bool = True,
    campaign_id: str | None = None,
    now: dt.datetime | None = None,
) -> IngestResult:
    """Store a batch of readings in one transaction (see the module's docstring).

    Parameters
    ----------
    store : Store or sqlalchemy.Engine
    readings : iterable of Reading or Rejection
        As :mod:`restora.monitoring.payload` gives them; rejections are quarantined.
    source : str
        ``mqtt``, ``http`` or ``campaign``.
    received_at : datetime, optional
        Arrival time of the readings that carry none (default: now).
    origin : str, optional
        Where they came from (a topic, a client, a file name), kept with quarantined payloads.
    auto_register : bool
        Register unknown sensors of known mines (default); else quarantine their readings.
    campaign_id : str, optional
        The field campaign the readings belong to.
    now : datetime, optional
        The time of storing (``stored_at``; the alerts' ``raised_at``); default the wall clock.
    """
    if source not in SOURCES:
        raise InputError(f"source {source!r} is not one of {', '.join(SOURCES)}", field="source")
    with begin_write(_engine(store)) as conn:
        return ingest_in(
            conn,
            list(readings),
            source=source,
            received_at=received_at,
            origin=origin,
            auto_register=auto_register,
            campaign_id=campaign_id,
            now=now,
        )


def ingest_in(
    conn: sa.Connection,
    items: list[Reading | Rejection],
    *,
    source: str,
    received_at: dt.datetime | None = None,
    origin: str | None = None,
    auto_register: bool = True,
    campaign_id: str | None = None,
    now: dt.datetime | None = None,
) -> IngestResult:
    """:func:`ingest` in the caller's transaction."""
    stored_at = _now(now)
    default_arrival = _utc(received_at) or stored_at
    good = [r for r in items if isinstance(r, Reading)]
    quarantine: list[dict[str, Any]] = [
        _quarantine_row(r, source, origin, default_arrival)
        for r in items
        if isinstance(r, Rejection)
    ]
    known = _live_mines(conn, (r.mine_id for r in good))
    kept: list[Reading] = []
    for r in good:
        if r.mine_id in known:
            kept.append(r)
        else:
            quarantine.append(
                _quarantine_row(
                    Rejection(f"unknown mine {r.mine_id!r}", "mine", _shown(r), r.mine_id),
                    source,
                    origin,
                    r.received_at or default_arrival,
                )
            )
    kept, registered, refused = _sensors_for(conn, kept, auto_register, stored_at, source)
    quarantine += [
        _quarantine_row(
            Rejection(f"unknown sensor {r.sensor_id!r}", "sensor", _shown(r), r.mine_id),
            source,
            origin,
            r.received_at or default_arrival,
        )
        for r in refused
    ]

    rows: dict[tuple[str, str, dt.datetime], dict[str, Any]] = {}
    for r in kept:
        key = (r.sensor_id, r.indicator, r.measured_at)
        if key in rows:
            continue  # twice in one batch: the first wins, the second is a duplicate
        rows[key] = {
            "sensor_id": r.sensor_id,
            "mine_id": r.mine_id,
            "site_id": r.site_id,
            "indicator": r.indicator,
            "measured_at": r.measured_at,
            "value": r.value,
            "unit": r.unit,
            "source": source,
            "campaign_id": campaign_id,
            "received_at": _utc(r.received_at) or default_arrival,
            "stored_at": stored_at,
            "attrs": _attrs(r),
        }
    inserted: list[dict[str, Any]] = []
    if rows:
        stmt = (
            _insert(conn, READINGS)
            .on_conflict_do_nothing(index_elements=["sensor_id", "indicator", "measured_at"])
            .returning(
                READINGS.c.id, READINGS.c.sensor_id, READINGS.c.indicator, READINGS.c.measured_at
            )
        )
        for ret in conn.execute(stmt, list(rows.values())):
            measured_at = _utc(ret.measured_at)
            assert measured_at is not None  # a NOT NULL column
            row = rows[(ret.sensor_id, ret.indicator, measured_at)]
            inserted.append({**row, "id": ret.id})
    if quarantine:
        conn.execute(QUARANTINE.insert(), quarantine)
    _touch_sensors(conn, kept, inserted, default_arrival)
    alert_ids = alerts.evaluate_stored(conn, inserted, stored_at) if inserted else []
    return IngestResult(
        stored=len(inserted),
        duplicates=len(kept) - len(inserted),
        quarantined=len(quarantine),
        alert_ids=list(alert_ids),
        registered=registered,
    )


def _shown(r: Reading) -> str:
    return json.dumps(
        {
            "sensor": r.sensor_id,
            "indicator": r.indicator,
            "ts": r.measured_at.isoformat(),
            "value": r.value,
            "unit": r.unit,
        },
        ensure_ascii=False,
    )


def _attrs(r: Reading) -> dict[str, Any] | None:
    attrs = dict(r.attrs)
    if r.seq is not None:
        attrs["seq"] = r.seq
    return attrs or None


def _quarantine_row(
    r: Rejection, source: str, origin: str | None, arrival: dt.datetime
) -> dict[str, Any]:
    return {
        "received_at": _utc(r.received_at) or arrival,
        "source": source,
        "origin": origin,
        "row": r.row,
        "field": r.field,
        "reason": r.reason,
        "payload": r.payload,
        "mine_id": r.mine_id,
    }


def _sensors_for(
    conn: sa.Connection,
    readings: list[Reading],
    auto_register: bool,
    now: dt.datetime,
    source: str,
) -> tuple[list[Reading], list[str], list[Reading]]:
    """The readings whose sensor exists or was registered now; the ids registered; the readings
    refused (unknown sensor, ``auto_register`` off). Known sensors learn new indicators."""
    if not readings:
        return [], [], []
    ids = sorted({r.sensor_id for r in readings})
    existing = {
        row.id: list(row.indicators or [])
        for row in conn.execute(
            sa.select(SENSORS.c.id, SENSORS.c.indicators).where(SENSORS.c.id.in_(ids))
        )
    }
    seen: dict[str, dict[str, Reading]] = {}
    for r in readings:
        seen.setdefault(r.sensor_id, {}).setdefault(r.indicator, r)
    new_rows: list[dict[str, Any]] = []
    for sid, by_indicator in seen.items():
        if sid in existing:
            missing = [i for i in by_indicator if i not in existing[sid]]
            if missing:
                conn.execute(
                    SENSORS.update()
                    .where(SENSORS.c.id == sid)
                    .values(indicators=existing[sid] + sorted(missing))
                )
        elif auto_register:
            first = next(iter(by_indicator.values()))
            codes = sorted(by_indicator)
            campaign = source == "campaign"
            new_rows.append(
                {
                    "id": sid,
                    "mine_id": first.mine_id,
                    "site_id": first.site_id,
                    "code": first.sensor_code,
                    "name": None,
                    "indicators": codes,
                    "expected_interval_s": min(catalogue.indicator(c).interval_s for c in codes),
                    "lon": None,
                    "lat": None,
                    # a campaign's sampling point reports when sampled: no offline alerts
                    "active": not campaign,
                    "created_at": now,
                    "attrs": {"kind": SAMPLING_POINT if campaign else "sensor", "auto": True},
                }
            )
    registered: list[str] = []
    if new_rows:
        stmt = _insert(conn, SENSORS).on_conflict_do_nothing(index_elements=["id"])
        conn.execute(stmt, new_rows)
        registered = [r["id"] for r in new_rows]
    allowed = set(existing) | set(registered)
    kept = [r for r in readings if r.sensor_id in allowed]
    refused = [r for r in readings if r.sensor_id not in allowed]
    return kept, registered, refused


def _touch_sensors(
    conn: sa.Connection,
    readings: list[Reading],
    inserted: list[dict[str, Any]],
    default_arrival: dt.datetime,
) -> None:
    """``last_seen_at`` (latest arrival) and ``last_measured_at`` (latest measured time of a
    stored reading) move forward only: a late reading never moves them back."""
    seen: dict[str, dt.datetime] = {}
    for r in readings:
        arrival = _utc(r.received_at) or default_arrival
        seen[r.sensor_id] = max(seen.get(r.sensor_id, arrival), arrival)
    measured: dict[str, dt.datetime] = {}
    for row in inserted:
        t = row["measured_at"]
        measured[row["sensor_id"]] = max(measured.get(row["sensor_id"], t), t)
    if not seen:
        return
    current = {
        row.id: (_utc(row.last_seen_at), _utc(row.last_measured_at))
        for row in conn.execute(
            sa.select(SENSORS.c.id, SENSORS.c.last_seen_at, SENSORS.c.last_measured_at).where(
                SENSORS.c.id.in_(sorted(seen))
            )
        )
    }
    updates = []
    for sid, arrival in seen.items():
        last_seen, last_measured = current.get(sid, (None, None))
        new_seen = max(arrival, last_seen) if last_seen else arrival
        new_measured = last_measured
        if sid in measured:
            new_measured = max(measured[sid], last_measured) if last_measured else measured[sid]
        if (new_seen, new_measured) != (last_seen, last_measured):
            updates.append({"sid": sid, "seen": new_seen, "measured": new_measured})
    if updates:
        conn.execute(
            SENSORS.update()
            .where(SENSORS.c.id == sa.bindparam("sid"))
            .values(last_seen_at=sa.bindparam("seen"), last_measured_at=sa.bindparam("measured")),
            updates,
        )


# ------------------------------------------------------------------------------------- reads
def reading_dict(row: Mapping[Any, Any]) -> dict[str, Any]:
    """A stored reading as the API and ``--format json`` show it."""
    return {
        "id": row["id"],
        "sensor_id": row["sensor_id"],
        "mine_id": row["mine_id"],
        "site_id": row["site_id"],
        "indicator": row["indicator"],
        "measured_at": _iso(row["measured_at"]),
        "value": row["value"],
        "unit": row["unit"],
        "source": row["source"],
        "campaign_id": row["campaign_id"],
        "received_at": _iso(row["received_at"]),
        "stored_at": _iso(row["stored_at"]),
    }


def latest(store: Any, mine_id: str) -> list[dict[str, Any]]:
    """The latest reading of each sensor × indicator of a mine, with its ``level`` against the
    catalogue's default levels (``ok``, ``warning``, ``alarm``; site rules may differ: see the
    open alerts), by sensor and indicator."""
    newest = (
        sa.select(
            READINGS.c.sensor_id,
            READINGS.c.indicator,
            sa.func.max(READINGS.c.measured_at).label("measured_at"),
        )
        .where(READINGS.c.mine_id == mine_id)
        .group_by(READINGS.c.sensor_id, READINGS.c.indicator)
        .subquery()
    )
    q = (
        sa.select(READINGS)
        .join(
            newest,
            sa.and_(
                READINGS.c.sensor_id == newest.c.sensor_id,
                READINGS.c.indicator == newest.c.indicator,
                READINGS.c.measured_at == newest.c.measured_at,
            ),
        )
        .order_by(READINGS.c.sensor_id, READINGS.c.indicator)
    )
    out = []
    with _engine(store).connect() as conn:
        for row in conn.execute(q).mappings():
            d = reading_dict(row)
            d["level"] = catalogue.indicator(row["indicator"]).level(row["value"])
            out.append(d)
    return out


def series(
    store: Any,
    sensor_id: str,
    indicator: str,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    *,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """A sensor's readings of one indicator in ``[since, until)``, oldest first (``limit``:
    the newest ``limit`` of them)."""
    q = sa.select(READINGS).where(
        READINGS.c.sensor_id == sensor_id, READINGS.c.indicator == indicator
    )
    if since is not None:
        q = q.where(READINGS.c.measured_at >= _utc(since))
    if until is not None:
        q = q.where(READINGS.c.measured_at < _utc(until))
    if limit is not None:
        q = q.order_by(READINGS.c.measured_at.desc()).limit(limit)
    else:
        q = q.order_by(READINGS.c.measured_at)
    with _engine(store).connect() as conn:
        rows = [reading_dict(r) for r in conn.execute(q).mappings()]
    return sorted(rows, key=lambda r: r["measured_at"]) if limit is not None else rows


def quarantine(
    store: Any,
    *,
    mine_id: str | None = None,
    mine_ids: Iterable[str] | None = None,
    source: str | None = None,
    since: dt.datetime | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """Quarantined payloads, newest first: ``received_at``, ``source``, ``origin``, ``row``,
    ``field``, ``reason``, ``payload``, ``mine_id``; of one mine, or of a set of mines
    (``mine_ids``: those of no known mine excluded)."""
    q = sa.select(QUARANTINE).order_by(QUARANTINE.c.id.desc()).limit(limit)
    if mine_id is not None:
        q = q.where(QUARANTINE.c.mine_id == mine_id)
    if mine_ids is not None:
        q = q.where(QUARANTINE.c.mine_id.in_(sorted(set(mine_ids))))
    if source is not None:
        q = q.where(QUARANTINE.c.source == source)
    if since is not None:
        q = q.where(QUARANTINE.c.received_at >= _utc(since))
    with _engine(store).connect() as conn:
        return [
            {
                "id": r["id"],
                "received_at": _iso(r["received_at"]),
                "source": r["source"],
                "origin": r["origin"],
                "row": r["row"],
                "field": r["field"],
                "reason": r["reason"],
                "payload": r["payload"],
                "mine_id": r["mine_id"],
            }
            for r in conn.execute(q).mappings()
        ]


def counts(store: Any, mine_id: str | None = None) -> dict[str, int]:
    """How many sensors, readings and quarantined payloads (of one mine)."""
    out = {}
    with _engine(store).connect() as conn:
        for name, table in (
            ("sensors", SENSORS),
            ("readings", READINGS),
            ("quarantined", QUARANTINE),
        ):
            q = sa.select(sa.func.count()).select_from(table)
            if mine_id is not None:
                q = q.where(table.c.mine_id == mine_id)
            out[name] = int(conn.execute(q).scalar_one())
    return out


# --------------------------------------------------------------------------------- campaigns
def campaign_dict(row: Mapping[Any, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "mine_id": row["mine_id"],
        "name": row["name"],
        "kind": row["kind"],
        "file_name": row["file_name"],
        "sha256": row["sha256"],
        "rows": row["rows"],
        "imported_at": _iso(row["imported_at"]),
        "imported_by": row["imported_by"],
        "attrs": dict(row["attrs"] or {}),
    }


def campaigns(store: Any, mine_id: str | None = None) -> list[dict[str, Any]]:
    """Imported field campaigns (of one mine), newest first."""
    q = sa.select(CAMPAIGNS).order_by(CAMPAIGNS.c.imported_at.desc(), CAMPAIGNS.c.id)
    if mine_id is not None:
        q = q.where(CAMPAIGNS.c.mine_id == mine_id)
    with _engine(store).connect() as conn:
        return [campaign_dict(r) for r in conn.execute(q).mappings()]


def import_campaign(
    store: Any,
    path: str | Path,
    *,
    mine_id: str,
    name: str | None = None,
    kind: str = "field",
    imported_by: str | None = None,
    quarantine_bad_rows: bool = False,
    data: bytes | None = None,
    file_name: str | None = None,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """Import a field campaign (CSV in UTF-8 or GBK, or XLSX; Chinese or English headers; see
    :func:`restora.monitoring.campaign_io.read_campaign`) as readings of ``mine_id``.

    One transaction. A bad row raises :class:`InputError` naming the file, the row and the
    column, and nothing is stored — unless ``quarantine_bad_rows``: then bad rows go to the
    quarantine (with file, row, field and reason) and the others are stored. Each sampling
    point becomes a sensor ``<mine>/<site>/<point>`` (inactive: no offline alerts). The same
    file (same SHA-256) imported again for the mine is refused.

    ``data``/``file_name`` give the file's bytes directly (an HTTP upload); else ``path`` is read.

    Returns
    -------
    dict
        The campaign (:func:`campaign_dict`) with ``stored``, ``duplicates``, ``quarantined``
        and ``alert_ids``.
    """
    raw = Path(path).read_bytes() if data is None else data
    shown = file_name or Path(path).name
    records, meta = read_campaign(raw, shown)
    sha = hashlib.sha256(raw).hexdigest()
    campaign_id = f"{mine_id}/{sha[:16]}"
    when = _now(now)
    items: list[Reading | Rejection] = []
    problems: list[Problem] = []
    for rec in records:
        try:
            items.append(
                make_reading(
                    mine_id=mine_id,
                    site_id=rec.site,
                    sensor_code=rec.point,
                    indicator=rec.indicator,
                    ts=rec.ts,
                    value=rec.value,
                    unit=rec.unit,
                    received_at=when,
                )
            )
        except InputError as exc:
            p = exc.problems[0]
            ours = {"sensor": "point"}.get(p.field or "", p.field or "")
            column = meta["columns"].get(ours, p.field)
            problems.append(Problem(p.message, file=shown, row=rec.row, field=column))
            items.append(Rejection(p.message, column or "row", rec.text, mine_id, rec.row, when))
    if problems and not quarantine_bad_rows:
        raise InputError(problems=problems)
    with begin_write(_engine(store)) as conn:
        if mine_id not in _live_mines(conn, [mine_id]):
            raise InputError(f"unknown mine {mine_id!r}", field="mine")
        if conn.execute(sa.select(CAMPAIGNS.c.id).where(CAMPAIGNS.c.id == campaign_id)).first():
            raise InputError(
                f"this file was already imported for mine {mine_id} (campaign {campaign_id})",
                file=shown,
            )
        conn.execute(
            CAMPAIGNS.insert().values(
                id=campaign_id,
                mine_id=mine_id,
                name=name or Path(shown).stem,
                kind=kind,
                file_name=shown,
                sha256=sha,
                rows=len(records),
                imported_at=when,
                imported_by=imported_by,
                attrs={k: v for k, v in meta.items() if k != "columns"},
            )
        )
        result = ingest_in(
            conn, items, source="campaign", origin=shown, campaign_id=campaign_id, now=when
        )
        row = conn.execute(sa.select(CAMPAIGNS).where(CAMPAIGNS.c.id == campaign_id)).mappings()
        out = campaign_dict(row.one())
    return {**out, **{k: v for k, v in result.as_dict().items() if k != "registered"}}
