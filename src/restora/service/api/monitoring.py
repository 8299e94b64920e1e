"""Monitoring over HTTP (issue 16; docs/monitoring.md "API and pages", docs/api.md).

The readings and their checks live in :mod:`restora.monitoring` (catalogue, payloads, rules)
and the store's writes in :mod:`restora.store.monitoring` (sensors, ingestion, quarantine,
campaigns), :mod:`restora.store.alerts` (rules, alerts and their lifecycle) and
:mod:`restora.store.hooks` (notification hooks); this module decides **who** may ask for what:

- ``monitoring.read`` (the bureaus, evaluators, and enterprises for their own mines): sensors,
  the latest value of each sensor and indicator with its status against the thresholds in
  force, series, alerts, rules, the quarantine. A mine is visible by
  :func:`restora.service.permissions.mine_monitoring_visible`: the mines of one's region
  scope, an enterprise's the mines of its organisation's projects; another mine answers 404.
- ``monitoring.write`` (the ecology-environment bureau of the mine's region): register
  sensors, upload readings (a JSON batch; a field campaign's CSV/XLSX file), acknowledge and
  resolve alerts, add and switch off rules and notification hooks. Out of scope is 403.

An upload is **all or nothing** by default: a reading that cannot be stored (malformed, out of
the indicator's valid range, of a mine the register does not know) answers 422 naming it
(``readings.3.value``) and nothing is stored. ``on_error=quarantine`` (a gateway forwarding
what its sensors sent) stores the good readings and puts the others in the quarantine with
their reason, as the MQTT ingester does. Duplicates (same sensor, indicator and time) are
counted, never stored twice. Every write leaves a change in the audit trail.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable
from typing import Annotated, Any, Literal

import sqlalchemy as sa
from fastapi import APIRouter, Depends, File, Form, Path, Query, Request, UploadFile
from pydantic import BaseModel, ConfigDict, Field

from restora.errors import InputError
from restora.service.changes import ChangeDep
from restora.service.db import StoreDep
from restora.service.permissions import in_scope, mine_monitoring_visible, region_prefix
from restora.service.problems import Problem
from restora.service.security import Principal, authorize
from restora.store.audit import Change
from restora.store.platform_tables import projects as PROJECTS
from restora.store.tables import mines as MINES

log = logging.getLogger(__name__)

router = APIRouter(prefix="/monitoring", tags=["monitoring"])
CanRead = Annotated[Principal, Depends(authorize("monitoring.read"))]
CanWrite = Annotated[Principal, Depends(authorize("monitoring.write"))]
MineId = Annotated[str, Path(max_length=64, description="the mine's id")]
BigId = Annotated[int, Path(ge=1, le=2**62, description="an id")]
Level = Literal["warning", "alarm"]
State = Literal["open", "raised", "acknowledged", "resolved"]
RuleKind = Literal["threshold", "rate", "trend", "offline"]
#: the most readings one upload may carry (a bigger campaign goes as a file)
MAX_BATCH = 10_000
MAX_CAMPAIGN_BYTES = 20 * 1024 * 1024
#: default span of the series of a mine [h]
SERIES_HOURS = 24


def clock(request: Request) -> dt.datetime:
    """The app's time: ``app.state.clock()`` when set (tests), else now (UTC)."""
    fn: Callable[[], dt.datetime] | None = getattr(request.app.state, "clock", None)
    return fn() if fn is not None else dt.datetime.now(dt.UTC)


def _utc(t: dt.datetime | str | None) -> dt.datetime | None:
    """A time of the store (a datetime, or ISO 8601 text as its dicts give it) in UTC."""
    if t is None or t == "":
        return None
    if isinstance(t, str):
        t = dt.datetime.fromisoformat(t.replace("Z", "+00:00"))
    return t.replace(tzinfo=dt.UTC) if t.tzinfo is None else t.astimezone(dt.UTC)


# ------------------------------------------------------------------------------------ schemas
class SensorCreate(BaseModel):
    """A sensor of a mine (and site); its id is ``<mine>/<site>/<code>`` (site ``-``)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "mine_id": "QS-M01",
                    "code": "GNSS-1",
                    "indicators": ["slope_displacement"],
                    "name": "坡顶 GNSS 监测点 1",
                }
            ]
        },
    )

    mine_id: str = Field(min_length=1, max_length=64)
    site_id: str | None = Field(None, max_length=64, description="none: the mine as a whole")
    code: str = Field(min_length=1, max_length=64, pattern=r"^[^/+#\s]+$")
    indicators: list[str] = Field(min_length=1, max_length=50, description="catalogue codes")
    name: str | None = Field(None, max_length=200)
    expected_interval_s: int | None = Field(
        None, ge=1, le=366 * 86400, description="[s] default: the catalogue's interval"
    )
    lon: float | None = Field(None, ge=-180, le=180, description="[°] WGS 84")
    lat: float | None = Field(None, ge=-90, le=90, description="[°] WGS 84")


class SensorPublic(BaseModel):
    id: str = Field(description="<mine>/<site>/<code> (site '-' when none)")
    mine_id: str
    site_id: str | None = None
    code: str
    name: str | None = None
    indicators: list[str]
    expected_interval_s: int = Field(description="[s]")
    lon: float | None = None
    lat: float | None = None
    active: bool
    created_at: dt.datetime | None = None
    last_seen_at: dt.datetime | None = Field(None, description="its last message arrived (UTC)")
    last_measured_at: dt.datetime | None = None
    offline: bool = Field(
        False, description="silent for longer than its expected interval (at the time asked)"
    )
    silent_s: float | None = Field(None, description="since its last message (or creation) [s]")


class ReadingIn(BaseModel):
    """One reading, as a sensor's MQTT message says it (docs/monitoring.md)."""

    model_config = ConfigDict(extra="forbid")

    mine_id: str = Field(min_length=1, max_length=64)
    site_id: str | None = Field(None, max_length=64, description="'-' or none: no site")
    sensor: str = Field(min_length=1, max_length=64, description="the sensor's code")
    indicator: str = Field(min_length=1, max_length=64, description="a catalogue code")
    ts: str | float = Field(
        description="ISO 8601 (no offset: China Standard Time) or epoch seconds"
    )
    value: float
    unit: str | None = Field(None, max_length=32, description="default: the catalogue's unit")
    seq: int | None = Field(None, ge=0, description="the sensor's message counter")


class ReadingsUpload(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "readings": [
                        {
                            "mine_id": "QS-M01",
                            "sensor": "GNSS-1",
                            "indicator": "slope_displacement",
                            "ts": "2026-05-01T08:00:00+08:00",
                            "value": 3.2,
                            "unit": "mm",
                        }
                    ]
                }
            ]
        },
    )

    readings: list[ReadingIn] = Field(min_length=1, max_length=MAX_BATCH)


class IngestPublic(BaseModel):
    """What an upload did."""

    stored: int = Field(description="readings stored")
    duplicates: int = Field(description="readings already stored (same sensor, indicator, time)")
    quarantined: int = Field(description="readings put in the quarantine with their reason")
    alert_ids: list[int] = Field(default_factory=list, description="alerts raised or escalated")
    campaign_id: str | None = None


class ReadingPublic(BaseModel):
    sensor_id: str
    indicator: str
    measured_at: dt.datetime
    value: float
    unit: str
    source: str = Field(description="mqtt, http or campaign")
    received_at: dt.datetime | None = None


class Thresholds(BaseModel):
    """The threshold rule in force for a sensor and indicator (a rule of the store, else the
    catalogue's default levels)."""

    rule: str | None = Field(None, description="its code (ALERT-THRESHOLD-…)")
    direction: str | None = Field(
        None, description="above, below or outside (both, as for pH): which side is bad"
    )
    warning: float | None = Field(None, description="[indicator unit] (upper, unless below)")
    alarm: float | None = Field(None, description="[indicator unit] (upper, unless below)")
    warning_low: float | None = Field(None, description="[indicator unit] (outside only)")
    alarm_low: float | None = Field(None, description="[indicator unit] (outside only)")


class LatestPublic(BaseModel):
    """The latest value of one sensor and indicator, with its status."""

    sensor_id: str
    site_id: str | None = None
    indicator: str
    name_zh: str | None = None
    name_en: str | None = None
    value: float
    unit: str
    measured_at: dt.datetime
    received_at: dt.datetime | None = None
    status: Literal["ok", "warning", "alarm", "none"] = Field(
        description="against the thresholds in force; none: no threshold"
    )
    thresholds: Thresholds
    offline: bool = False


class AlertPublic(BaseModel):
    id: int
    rule_id: int | None = None
    rule: str | None = Field(None, description="the code of the rule that raised it")
    kind: str
    level: str
    mine_id: str
    site_id: str | None = None
    sensor_id: str | None = None
    indicator: str | None = None
    state: str
    value: float | None = None
    threshold: float | None = None
    message: str
    measured_at: dt.datetime | None = None
    received_at: dt.datetime | None = None
    raised_at: dt.datetime
    acknowledged_at: dt.datetime | None = None
    acknowledged_by: str | None = None
    resolved_at: dt.datetime | None = None
    resolved_by: str | None = None
    latency_s: float | None = Field(None, description="raised_at − received_at [s]")
    events: list[dict[str, Any]] | None = None


class AlertNote(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"note": "已派人现场核查"}]}
    )

    note: str | None = Field(None, max_length=2000)


class QuarantinePublic(BaseModel):
    id: int
    received_at: dt.datetime
    source: str
    origin: str | None = None
    row: int | None = None
    field: str | None = None
    reason: str
    payload: str
    mine_id: str | None = None


class MineOverview(BaseModel):
    """Everything the live monitoring page of a mine shows."""

    mine_id: str
    name: str
    region_code: str
    as_of: dt.datetime
    sensors: list[SensorPublic]
    latest: list[LatestPublic]
    alerts: list[AlertPublic] = Field(description="open alerts, newest first")
    quarantined: int = Field(description="readings of this mine in the quarantine")
    counts: dict[str, int]


class SeriesSensor(BaseModel):
    sensor_id: str
    points: list[tuple[dt.datetime, float]]


class SeriesPublic(BaseModel):
    """The readings of one indicator at a mine, per sensor, with its thresholds."""

    indicator: str
    name_zh: str | None = None
    name_en: str | None = None
    unit: str
    thresholds: Thresholds
    sensors: list[SeriesSensor]


class RuleCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "kind": "threshold",
                    "level": "warning",
                    "indicator": "slope_displacement",
                    "mine_id": "QS-M01",
                    "params": {"direction": "above", "warning": 20, "alarm": 50},
                }
            ]
        },
    )

    kind: RuleKind
    level: Level
    indicator: str | None = Field(None, max_length=64, description="none: offline rules only")
    params: dict[str, Any] = Field(default_factory=dict, description="see docs/monitoring.md")
    name: str | None = Field(None, max_length=200)
    mine_id: str | None = Field(None, max_length=64, description="none: every mine")
    site_id: str | None = Field(None, max_length=64)
    sensor_id: str | None = Field(None, max_length=200, description="<mine>/<site>/<sensor>")


class RulePublic(BaseModel):
    id: int
    code: str
    name: str
    kind: str
    indicator: str | None = None
    level: str
    mine_id: str | None = None
    site_id: str | None = None
    sensor_id: str | None = None
    params: dict[str, Any]
    active: bool
    created_at: dt.datetime | None = None
    created_by: str | None = None


class HookCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "kind": "webhook",
                    "target": "https://alerts.example.org/restora",
                    "levels": ["alarm"],
                    "mine_id": "QS-M01",
                }
            ]
        },
    )

    kind: Literal["webhook", "email"]
    target: str = Field(min_length=3, max_length=500, description="an http(s) URL or an address")
    levels: list[Level] = Field(["warning", "alarm"], min_length=1)
    mine_id: str | None = Field(None, max_length=64, description="none: every mine")
    secret: str | None = Field(
        None, min_length=16, max_length=200, description="signs webhooks (HMAC-SHA256)"
    )


class HookPublic(BaseModel):
    id: int
    kind: str
    target: str
    levels: list[str]
    mine_id: str | None = None
    has_secret: bool
    active: bool
    created_at: dt.datetime | None = None
    created_by: str | None = None


# ---------------------------------------------------------------------------------- scope
def _engine(store: Any) -> sa.Engine:
    return store.engine  # type: ignore[no-any-return]


def _owners(conn: sa.Connection, mine_ids: Iterable[str] | None) -> dict[str, set[int | None]]:
    """Mine → the organisations owning the live projects it is part of."""
    wanted = None if mine_ids is None else set(mine_ids)
    out: dict[str, set[int | None]] = {}
    rows = conn.execute(
        sa.select(PROJECTS.c.spec, PROJECTS.c.owner_org_id).where(PROJECTS.c.deleted_at.is_(None))
    )
    for spec, owner in rows:
        for mine in (spec or {}).get("mines") or []:
            if wanted is None or mine in wanted:
                out.setdefault(str(mine), set()).add(owner)
    return out


def _mine(conn: sa.Connection, mine_id: str) -> dict[str, Any] | None:
    row = conn.execute(
        sa.select(MINES.c.mine_id, MINES.c.name, MINES.c.region_code).where(
            MINES.c.mine_id == mine_id, MINES.c.deleted_at.is_(None)
        )
    ).first()
    return None if row is None else dict(row._mapping)


def check_mine(store: Any, principal: Principal, mine_id: str, *, write: bool) -> dict[str, Any]:
    """The mine's ``mine_id``, ``name``, ``region_code`` if ``principal`` may read (or, with
    ``write``, change) its monitoring; else 404 (not theirs to see) or 403 (a write out of the
    region scope)."""
    with _engine(store).connect() as conn:
        mine = _mine(conn, mine_id)
        if mine is None:
            raise Problem(404, f"no mine {mine_id!r}", kind="not-found")
        owners = (
            _owners(conn, [mine_id]).get(mine_id, set()) if principal.role == "enterprise" else ()
        )
    region = mine["region_code"]
    if write and principal.role != "admin" and not in_scope(principal.region, region):
        raise Problem(403, f"region {region} is outside your scope", kind="out-of-scope")
    if not mine_monitoring_visible(principal, region_code=region, owner_org_ids=owners):
        raise Problem(404, f"no mine {mine_id!r}", kind="not-found")
    return mine


def visible_mines(store: Any, principal: Principal) -> list[str] | None:
    """The mines whose monitoring ``principal`` reads (None: every mine, those the register
    does not know included)."""
    if principal.role == "admin" or (
        principal.role != "enterprise" and not region_prefix(principal.region)
    ):
        return None
    with _engine(store).connect() as conn:
        if principal.role == "enterprise":
            owners = _owners(conn, None)
            mine_ids = [m for m, orgs in owners.items() if principal.org_id in orgs]
            q = sa.select(MINES.c.mine_id, MINES.c.region_code).where(
                MINES.c.mine_id.in_(mine_ids), MINES.c.deleted_at.is_(None)
            )
        else:
            q = sa.select(MINES.c.mine_id, MINES.c.region_code).where(
                MINES.c.region_code.startswith(region_prefix(principal.region)),
                MINES.c.deleted_at.is_(None),
            )
        return sorted(str(m) for m, _r in conn.execute(q))


def _log(
    store: Any,
    change: Change,
    *,
    table: str,
    record_id: str | int,
    action: str,
    after: dict[str, Any],
    at: dt.datetime,
    mine_id: str | None = None,
) -> None:
    """The audit trail's record of a monitoring write (the store's monitoring functions keep
    no trail of their own: ingestion must stay fast for the MQTT path)."""
    from restora.store.audit import log_change

    with _engine(store).begin() as conn:
        log_change(
            conn, change, table=table, record_id=record_id, action=action, after=after,
            mine_id=mine_id, when=at,
        )  # fmt: skip


def _input_problem(exc: InputError, *, prefix: str = "", status: int = 422) -> Problem:
    """An :class:`InputError` of the store as a problem naming its fields."""
    errors = []
    for p in exc.problems:
        name = ".".join(x for x in (prefix, p.field or "") if x)
        item: dict[str, Any] = {"field": name or "body", "in": "body", "message": p.message}
        if p.file:
            item["file"] = p.file
        if p.row is not None:
            item["row"] = p.row
        errors.append(item)
    kind = {404: "not-found", 409: "conflict"}.get(status, "invalid-input")
    return Problem(status, str(exc), kind=kind, errors=errors)


def _by(principal: Principal) -> str:
    return principal.username or principal.role


# -------------------------------------------------------------------------------- sensors
def _sensor_public(row: dict[str, Any], now: dt.datetime) -> SensorPublic:
    last = _utc(row.get("last_seen_at")) or _utc(row.get("created_at"))
    silent = None if last is None else max((now - last).total_seconds(), 0.0)
    interval = int(row.get("expected_interval_s") or 900)
    return SensorPublic(
        **{k: v for k, v in row.items() if k in SensorPublic.model_fields},
        offline=bool(row.get("active", True)) and silent is not None and silent > interval,
        silent_s=silent,
    )


def _sensors(store: Any, mine_ids: list[str] | None, mine_id: str | None) -> list[dict[str, Any]]:
    from restora.store import monitoring

    rows = monitoring.sensors(store, mine_id)
    return [r for r in rows if mine_ids is None or r["mine_id"] in mine_ids]


@router.get("/sensors", response_model=list[SensorPublic], summary="Sensors")
def list_sensors(
    request: Request,
    store: StoreDep,
    principal: CanRead,
    mine_id: Annotated[str | None, Query(max_length=64)] = None,
    offline: Annotated[bool | None, Query(description="only those offline (or online)")] = None,
) -> list[SensorPublic]:
    """The sensors of the mines one may see, with whether each is offline now."""
    if mine_id is not None:
        check_mine(store, principal, mine_id, write=False)
    now = clock(request)
    out = [
        _sensor_public(r, now) for r in _sensors(store, visible_mines(store, principal), mine_id)
    ]
    return [s for s in out if offline is None or s.offline == offline]


@router.post("/sensors", response_model=SensorPublic, status_code=201, summary="Register a sensor")
def add_sensor(
    request: Request, body: SensorCreate, store: StoreDep, principal: CanWrite, change: ChangeDep
) -> SensorPublic:
    from restora.store import monitoring

    check_mine(store, principal, body.mine_id, write=True)
    at = clock(request)
    try:
        sensor = monitoring.register_sensor(
            store,
            mine_id=body.mine_id,
            site_id=body.site_id,
            code=body.code,
            indicators=body.indicators,
            name=body.name,
            interval_s=body.expected_interval_s,
            lon=body.lon,
            lat=body.lat,
            now=at,
        )
    except InputError as exc:
        raise _input_problem(exc) from exc
    record = dict(sensor)
    _log(store, change, table="monitoring_sensors", record_id=record["id"], action="insert",
         after={k: record.get(k) for k in ("id", "indicators", "expected_interval_s")}, at=at,
         mine_id=body.mine_id)  # fmt: skip
    return _sensor_public(record, at)


# ------------------------------------------------------------------------------- readings
def _rejection_problem(rejections: list[tuple[int, Any]]) -> Problem:
    """Rejected readings of an upload as a 422 naming each (``readings.<i>.<field>``)."""
    errors = [
        {"field": f"readings.{i}.{_field_name(r.field)}", "in": "body", "message": r.reason}
        for i, r in rejections
    ]
    first = errors[0]
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return Problem(
        422,
        f"{first['field']}: {first['message']}{more}; nothing was stored",
        kind="invalid-input",
        errors=errors,
    )


def _field_name(field: str | None) -> str:
    # the payload parser names the parts of a flat record as the MQTT topic does
    return {"mine": "mine_id", "site": "site_id", None: "payload"}.get(field, field or "payload")


@router.post(
    "/readings",
    response_model=IngestPublic,
    summary="Upload readings (JSON batch): all or nothing, or quarantine the bad ones",
)
def upload_readings(
    request: Request,
    body: ReadingsUpload,
    store: StoreDep,
    principal: CanWrite,
    change: ChangeDep,
    on_error: Annotated[
        Literal["refuse", "quarantine"],
        Query(
            description="refuse: a bad reading is a 422 and nothing is stored; quarantine: "
            "the bad ones go to the quarantine, the good ones are stored"
        ),
    ] = "refuse",
) -> IngestPublic:
    """Readings of the mines of one's region. Sensors not yet registered are registered with
    the catalogue's interval; duplicates are counted, not stored twice; thresholds and the
    other rules in force are evaluated in the same transaction (``alert_ids``)."""
    from restora.monitoring.payload import Rejection, parse_record
    from restora.store import monitoring

    at = clock(request)
    parsed: list[Any] = []
    rejected: list[tuple[int, Any]] = []
    known: dict[str, bool] = {}
    for i, item in enumerate(body.readings):
        record = item.model_dump()
        result = parse_record(record, received_at=at, row=i + 1)
        if isinstance(result, Rejection):
            rejected.append((i, result))
            continue
        if result.mine_id not in known:
            try:
                check_mine(store, principal, result.mine_id, write=True)
                known[result.mine_id] = True
            except Problem as exc:
                if exc.status == 403:
                    raise
                known[result.mine_id] = False
        if not known[result.mine_id]:
            # refused here, or quarantined by the store as of an unknown mine
            rejected.append((i, Rejection(f"unknown mine {result.mine_id!r}", "mine", "")))
        parsed.append(result)
    if rejected and on_error == "refuse":
        raise _rejection_problem(rejected)
    items = [*parsed, *(r for _i, r in rejected if r.field != "mine")]
    try:
        done = monitoring.ingest(
            store, items, source="http", received_at=at, origin=f"http:{_by(principal)}", now=at
        )
    except InputError as exc:
        raise _input_problem(exc, prefix="readings") from exc
    out = IngestPublic(
        stored=done.stored,
        duplicates=done.duplicates,
        quarantined=done.quarantined,
        alert_ids=list(done.alert_ids),
    )
    # (even a batch of duplicates moves the sensors' last_seen_at: always on the record)
    mines = sorted({r.mine_id for r in parsed})
    _log(store, change, table="monitoring_readings", record_id=",".join(mines) or "-",
         action="insert", after=out.model_dump(), at=at,
         mine_id=mines[0] if len(mines) == 1 else None)  # fmt: skip
    return out


@router.post(
    "/mines/{mine_id}/campaigns",
    response_model=IngestPublic,
    status_code=201,
    summary="Upload a field campaign (CSV in UTF-8 or GBK, or XLSX): all or nothing",
    responses={413: {"description": "the upload is too large"}},
)
def upload_campaign(
    request: Request,
    mine_id: MineId,
    store: StoreDep,
    principal: CanWrite,
    change: ChangeDep,
    file: Annotated[UploadFile | None, File(description="the campaign's file")] = None,
    name: Annotated[str | None, Form(max_length=200, description="the campaign's name")] = None,
    on_error: Annotated[
        Literal["refuse", "quarantine"],
        Query(
            description="refuse: a bad row is a 422 and nothing is stored; quarantine: bad "
            "rows go to the quarantine, the others are stored"
        ),
    ] = "refuse",
) -> IngestPublic:
    """A field campaign's samples of this mine (columns in Chinese or English: 采样点/点位,
    指标, 数值, 单位, 采样时间 …). A bad row is refused naming the file, row and column, and
    nothing of the file is stored."""
    from restora.service.api.imports import safe_name
    from restora.store import monitoring

    check_mine(store, principal, mine_id, write=True)
    if file is None:
        raise Problem(
            422, "no file uploaded", kind="invalid-input",
            errors=[{"field": "file", "in": "body", "message": "required"}],
        )  # fmt: skip
    fname = safe_name(file.filename, 0)
    data = file.file.read(MAX_CAMPAIGN_BYTES + 1)
    if len(data) > MAX_CAMPAIGN_BYTES:
        raise Problem(413, "the upload is larger than 20 MiB", kind="too-large")
    at = clock(request)
    try:
        result = monitoring.import_campaign(
            store, fname, mine_id=mine_id, name=name, imported_by=_by(principal),
            quarantine_bad_rows=on_error == "quarantine", data=data, file_name=fname, now=at,
        )  # fmt: skip
    except InputError as exc:
        raise _input_problem(exc) from exc
    out = IngestPublic(
        stored=result["stored"],
        duplicates=result["duplicates"],
        quarantined=result["quarantined"],
        alert_ids=list(result["alert_ids"]),
        campaign_id=result["id"],
    )
    _log(store, change, table="monitoring_campaigns", record_id=out.campaign_id or fname,
         action="insert", after={"file": fname, **out.model_dump()}, at=at,
         mine_id=mine_id)  # fmt: skip
    return out


def _thresholds(
    store: Any, keys: Iterable[tuple[str, str | None, str, str]]
) -> dict[Any, Thresholds]:
    """The threshold rule in force per (sensor, site, mine, indicator), as the alert engine
    applies it (restora.store.alerts: the most specific stored rule, else the catalogue)."""
    from restora.store import alerts

    out: dict[Any, Thresholds] = {}
    for key, rules in alerts.threshold_rules_in_force(store, keys).items():
        if not rules:
            out[key] = NO_THRESHOLDS
            continue
        # several rules of the same scope: show the first (by id), as the alerts name it
        p = rules[0].rule.params
        out[key] = Thresholds(
            rule=rules[0].rule.code,
            direction=p.direction,
            warning=p.warning,
            alarm=p.alarm,
            warning_low=p.warning_low,
            alarm_low=p.alarm_low,
        )
    return out


NO_THRESHOLDS = Thresholds(
    rule=None, direction=None, warning=None, alarm=None, warning_low=None, alarm_low=None
)


def _status(value: float, t: Thresholds) -> Literal["ok", "warning", "alarm", "none"]:
    from restora.monitoring.rules import threshold_level

    if all(x is None for x in (t.warning, t.alarm, t.warning_low, t.alarm_low)):
        return "none"
    level = int(
        threshold_level(
            [value],
            warning=t.warning,
            alarm=t.alarm,
            direction=t.direction or "above",
            warning_low=t.warning_low,
            alarm_low=t.alarm_low,
        )[0]
    )
    return ("ok", "warning", "alarm")[level]  # type: ignore[return-value]


def _names(indicator: str) -> tuple[str | None, str | None]:
    from restora.monitoring import catalogue

    try:
        ind = catalogue.indicator(indicator)
    except InputError:
        return None, None
    return ind.name_zh, ind.name_en


def _latest(store: Any, mine_id: str, sensors: dict[str, SensorPublic]) -> list[LatestPublic]:
    from restora.store import monitoring

    rows = [dict(r) for r in monitoring.latest(store, mine_id)]
    keys = {(r["sensor_id"], r.get("site_id"), mine_id, r["indicator"]) for r in rows}
    limits = _thresholds(store, keys)
    out = []
    for r in rows:
        t = limits[(r["sensor_id"], r.get("site_id"), mine_id, r["indicator"])]
        zh, en = _names(r["indicator"])
        sensor = sensors.get(r["sensor_id"])
        out.append(
            LatestPublic(
                sensor_id=r["sensor_id"],
                site_id=r.get("site_id"),
                indicator=r["indicator"],
                name_zh=zh,
                name_en=en,
                value=r["value"],
                unit=r["unit"],
                measured_at=r["measured_at"],
                received_at=r.get("received_at"),
                status=_status(float(r["value"]), t),
                thresholds=t,
                offline=bool(sensor and sensor.offline),
            )
        )
    return out


@router.get(
    "/mines/{mine_id}/latest",
    response_model=list[LatestPublic],
    summary="The latest value of each sensor and indicator of a mine, with its status",
)
def mine_latest(
    request: Request, mine_id: MineId, store: StoreDep, principal: CanRead
) -> list[LatestPublic]:
    check_mine(store, principal, mine_id, write=False)
    now = clock(request)
    sensors = {s["id"]: _sensor_public(s, now) for s in _sensors(store, None, mine_id)}
    return _latest(store, mine_id, sensors)


@router.get(
    "/mines/{mine_id}",
    response_model=MineOverview,
    summary="A mine's monitoring now: sensors, latest values, open alerts, quarantine",
)
def mine_overview(
    request: Request, mine_id: MineId, store: StoreDep, principal: CanRead
) -> MineOverview:
    """What the live page shows: each sensor (offline or not), the latest value of each sensor
    and indicator with its status against the thresholds in force, the open alerts and the
    number of this mine's readings in the quarantine."""
    from restora.store import alerts, monitoring

    mine = check_mine(store, principal, mine_id, write=False)
    now = clock(request)
    sensors = [_sensor_public(s, now) for s in _sensors(store, None, mine_id)]
    by_id = {s.id: s for s in sensors}
    latest = _latest(store, mine_id, by_id)
    open_alerts = [_alert_public(a) for a in alerts.alerts(store, mine_id=mine_id, state="open")]
    quarantined = int(monitoring.counts(store, mine_id)["quarantined"])
    counts = {
        "sensors": len(sensors),
        "offline": sum(s.offline for s in sensors),
        "alerts_open": len(open_alerts),
        "alarm": sum(a.level == "alarm" for a in open_alerts),
        "warning": sum(a.level == "warning" for a in open_alerts),
        "quarantined": quarantined,
    }
    return MineOverview(
        mine_id=mine["mine_id"],
        name=mine["name"],
        region_code=mine["region_code"],
        as_of=now,
        sensors=sensors,
        latest=latest,
        alerts=open_alerts,
        quarantined=quarantined,
        counts=counts,
    )


@router.get(
    "/mines/{mine_id}/series",
    response_model=list[SeriesPublic],
    summary="Series of a mine's indicators, per sensor, with their thresholds (for charts)",
)
def mine_series(
    request: Request,
    mine_id: MineId,
    store: StoreDep,
    principal: CanRead,
    indicator: Annotated[str | None, Query(max_length=64)] = None,
    hours: Annotated[
        float, Query(gt=0, le=24 * 366, description="[h] back from now")
    ] = SERIES_HOURS,
) -> list[SeriesPublic]:
    from restora.store import monitoring

    check_mine(store, principal, mine_id, write=False)
    until = clock(request)
    since = until - dt.timedelta(hours=hours)
    pairs = sorted(
        {(r["sensor_id"], r.get("site_id"), r["indicator"], r["unit"])
         for r in map(dict, monitoring.latest(store, mine_id))
         if indicator is None or r["indicator"] == indicator}
    )  # fmt: skip
    limits = _thresholds(store, [(s, site, mine_id, ind) for s, site, ind, _u in pairs])
    out: dict[str, SeriesPublic] = {}
    for sensor_id, site_id, ind, unit in pairs:
        rows = monitoring.series(store, sensor_id, ind, since=since, until=until)
        points = [(_utc(r["measured_at"]), float(r["value"])) for r in map(dict, rows)]
        if ind not in out:
            zh, en = _names(ind)
            out[ind] = SeriesPublic(
                indicator=ind, name_zh=zh, name_en=en, unit=unit,
                thresholds=limits[(sensor_id, site_id, mine_id, ind)], sensors=[],
            )  # fmt: skip
        out[ind].sensors.append(SeriesSensor(sensor_id=sensor_id, points=points))  # type: ignore[arg-type]
    return list(out.values())


@router.get(
    "/mines/{mine_id}/readings",
    response_model=list[ReadingPublic],
    summary="The readings of one sensor and indicator of a mine (a series)",
)
def mine_readings(
    request: Request,
    mine_id: MineId,
    store: StoreDep,
    principal: CanRead,
    sensor: Annotated[
        str, Query(max_length=200, description="its code or id <mine>/<site>/<code>")
    ],
    indicator: Annotated[str, Query(max_length=64)],
    since: Annotated[dt.datetime | None, Query(description="default: 24 h before until")] = None,
    until: Annotated[dt.datetime | None, Query(description="default: now")] = None,
) -> list[ReadingPublic]:
    from restora.store import monitoring

    check_mine(store, principal, mine_id, write=False)
    until = _utc(until) or clock(request)
    since = _utc(since) or until - dt.timedelta(hours=SERIES_HOURS)
    if "/" in sensor:
        sensor_id = sensor
        if sensor_id.split("/")[0] != mine_id:
            raise Problem(404, f"no sensor {sensor!r} at mine {mine_id}", kind="not-found")
    else:
        ids = [s["id"] for s in _sensors(store, None, mine_id) if s["code"] == sensor]
        if not ids:
            raise Problem(404, f"no sensor {sensor!r} at mine {mine_id}", kind="not-found")
        sensor_id = ids[0]
    rows = monitoring.series(store, sensor_id, indicator, since=since, until=until)
    return [
        ReadingPublic(**{k: v for k, v in r.items() if k in ReadingPublic.model_fields})
        for r in rows
    ]


@router.get("/quarantine", response_model=list[QuarantinePublic], summary="The quarantine")
def list_quarantine(
    store: StoreDep,
    principal: CanRead,
    mine_id: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[QuarantinePublic]:
    """What could not be stored (malformed, out of range, unknown mine) with the reason and
    the field at fault, newest first. Entries of no known mine are shown to accounts without
    a region scope only."""
    from restora.store import monitoring

    if mine_id is not None:
        check_mine(store, principal, mine_id, write=False)
    seen = visible_mines(store, principal)
    rows = monitoring.quarantine(
        store, mine_id=mine_id, mine_ids=None if mine_id is not None else seen, limit=limit
    )
    return [QuarantinePublic(**r) for r in rows]


# --------------------------------------------------------------------------------- alerts
def _alert_public(a: dict[str, Any]) -> AlertPublic:
    details = a.get("details") or {}
    return AlertPublic(
        **{k: v for k, v in a.items() if k in AlertPublic.model_fields and k != "rule"},
        rule=details.get("rule"),
    )


def _alert_of(store: Any, principal: Principal, alert_id: int, *, write: bool) -> dict[str, Any]:
    from restora.store import alerts

    try:
        a = alerts.alert(store, alert_id)
    except InputError as exc:
        raise Problem(404, f"no alert {alert_id}", kind="not-found") from exc
    try:  # an alert of a mine one may not see is not there (404), to writes too
        check_mine(store, principal, a["mine_id"], write=False)
    except Problem as exc:
        raise Problem(404, f"no alert {alert_id}", kind="not-found") from exc
    if write:
        check_mine(store, principal, a["mine_id"], write=True)
    return a


@router.get("/alerts", response_model=list[AlertPublic], summary="Alerts")
def list_alerts(
    store: StoreDep,
    principal: CanRead,
    mine_id: Annotated[str | None, Query(max_length=64)] = None,
    state: State | None = None,
    level: Level | None = None,
    kind: RuleKind | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[AlertPublic]:
    """Alerts of the mines one may see, newest first; ``state=open``: raised or acknowledged."""
    from restora.store import alerts

    if mine_id is not None:
        check_mine(store, principal, mine_id, write=False)
    rows = alerts.alerts(
        store, mine_id=mine_id, mine_ids=visible_mines(store, principal), state=state,
        level=level, kind=kind, limit=limit,
    )  # fmt: skip
    return [_alert_public(a) for a in rows]


@router.get("/alerts/{alert_id}", response_model=AlertPublic, summary="One alert and its lifecycle")
def get_alert(alert_id: BigId, store: StoreDep, principal: CanRead) -> AlertPublic:
    return _alert_public(_alert_of(store, principal, alert_id, write=False))


def _transition(
    request: Request,
    alert_id: int,
    body: AlertNote | None,
    store: Any,
    principal: Principal,
    change: Change,
    verb: Literal["acknowledge", "resolve"],
) -> AlertPublic:
    from restora.store import alerts

    _alert_of(store, principal, alert_id, write=True)
    at = clock(request)
    note = body.note if body is not None else None
    try:
        a = getattr(alerts, verb)(store, alert_id, _by(principal), note, now=at)
    except InputError as exc:
        raise Problem(409, str(exc), kind="conflict") from exc
    _log(store, change, table="monitoring_alerts", record_id=alert_id, action="update",
         after={"state": a["state"], "note": note}, at=at, mine_id=a["mine_id"])  # fmt: skip
    return _alert_public(alerts.alert(store, alert_id))


@router.post(
    "/alerts/{alert_id}/acknowledge",
    response_model=AlertPublic,
    summary="Acknowledge a raised alert (someone is on it)",
    responses={409: {"description": "the alert is not raised"}},
)
def acknowledge_alert(
    request: Request,
    alert_id: BigId,
    store: StoreDep,
    principal: CanWrite,
    change: ChangeDep,
    body: AlertNote | None = None,
) -> AlertPublic:
    return _transition(request, alert_id, body, store, principal, change, "acknowledge")


@router.post(
    "/alerts/{alert_id}/resolve",
    response_model=AlertPublic,
    summary="Resolve an open alert",
    responses={409: {"description": "the alert is already resolved"}},
)
def resolve_alert(
    request: Request,
    alert_id: BigId,
    store: StoreDep,
    principal: CanWrite,
    change: ChangeDep,
    body: AlertNote | None = None,
) -> AlertPublic:
    return _transition(request, alert_id, body, store, principal, change, "resolve")


# ---------------------------------------------------------------------------------- rules
def _scope_mine(
    store: Any, principal: Principal, mine_id: str | None, sensor_id: str | None
) -> str | None:
    """The mine a rule or hook is scoped to (checked for a write), or None for every mine —
    which only an account without a region scope may set."""
    mine = mine_id or (sensor_id.split("/")[0] if sensor_id else None)
    if mine is None:
        if principal.role != "admin" and region_prefix(principal.region):
            raise Problem(
                403, "a rule or hook for every mine needs an account without a region scope",
                kind="out-of-scope",
            )  # fmt: skip
        return None
    check_mine(store, principal, mine, write=True)
    return mine


@router.get("/rules", response_model=list[RulePublic], summary="Alert rules")
def list_rules(
    store: StoreDep,
    principal: CanRead,
    mine_id: Annotated[str | None, Query(max_length=64)] = None,
    indicator: Annotated[str | None, Query(max_length=64)] = None,
    active: Annotated[bool | None, Query(description="none: all")] = True,
) -> list[RulePublic]:
    """Stored rules (with ``mine_id``: that mine's and the global ones); the catalogue's
    default levels apply where no threshold rule does (GET /monitoring/indicators)."""
    from restora.store import alerts

    if mine_id is not None:
        check_mine(store, principal, mine_id, write=False)
    seen = visible_mines(store, principal)
    rows = alerts.rules(store, mine_id=mine_id, indicator=indicator, active=active)
    return [
        RulePublic(**r)
        for r in rows
        if r["mine_id"] is None or seen is None or r["mine_id"] in seen
    ]


@router.post("/rules", response_model=RulePublic, status_code=201, summary="Add an alert rule")
def add_rule(
    request: Request, body: RuleCreate, store: StoreDep, principal: CanWrite, change: ChangeDep
) -> RulePublic:
    from restora.store import alerts

    mine = _scope_mine(store, principal, body.mine_id, body.sensor_id)
    at = clock(request)
    try:
        rule = alerts.add_rule(
            store, kind=body.kind, level=body.level, params=body.params,
            indicator=body.indicator, name=body.name, mine_id=body.mine_id,
            site_id=body.site_id, sensor_id=body.sensor_id, by=_by(principal), now=at,
        )  # fmt: skip
    except InputError as exc:
        raise _input_problem(exc) from exc
    _log(store, change, table="monitoring_rules", record_id=rule["id"], action="insert",
         after={k: rule[k] for k in ("code", "kind", "indicator", "level", "params")}, at=at,
         mine_id=mine)  # fmt: skip
    return RulePublic(**rule)


@router.delete("/rules/{rule_id}", response_model=RulePublic, summary="Switch a rule off")
def delete_rule(
    request: Request, rule_id: BigId, store: StoreDep, principal: CanWrite, change: ChangeDep
) -> RulePublic:
    """The rule stays on record (its alerts name it); its open alerts stay open."""
    from restora.store import alerts

    found = [r for r in alerts.rules(store, active=None) if r["id"] == rule_id]
    if not found:
        raise Problem(404, f"no rule {rule_id}", kind="not-found")
    try:
        mine = _scope_mine(store, principal, found[0]["mine_id"], found[0]["sensor_id"])
    except Problem as exc:
        if exc.status == 404:
            raise Problem(404, f"no rule {rule_id}", kind="not-found") from exc
        raise
    at = clock(request)
    rule = alerts.deactivate_rule(store, rule_id)
    _log(store, change, table="monitoring_rules", record_id=rule_id, action="update",
         after={"active": False}, at=at, mine_id=mine)  # fmt: skip
    return RulePublic(**rule)


# ---------------------------------------------------------------------------------- hooks
@router.get("/hooks", response_model=list[HookPublic], summary="Notification hooks")
def list_hooks(store: StoreDep, principal: CanWrite) -> list[HookPublic]:
    """The hooks of the mines one writes and the global ones (their targets are contacts:
    the bureau's own configuration, not shown to readers)."""
    from restora.store import hooks

    seen = visible_mines(store, principal)
    return [
        HookPublic(**h)
        for h in hooks.hooks(store, active=None)
        if h["mine_id"] is None or seen is None or h["mine_id"] in seen
    ]


@router.post("/hooks", response_model=HookPublic, status_code=201, summary="Add a hook")
def add_hook(
    request: Request, body: HookCreate, store: StoreDep, principal: CanWrite, change: ChangeDep
) -> HookPublic:
    """A webhook (an HTTP POST of each alert transition, signed with the secret) or an e-mail
    address, for the levels given, of one mine or every mine."""
    from restora.store import hooks

    mine = _scope_mine(store, principal, body.mine_id, None)
    at = clock(request)
    try:
        hook = hooks.add_hook(
            store, kind=body.kind, target=body.target, levels=body.levels, mine_id=mine,
            secret=body.secret, by=_by(principal), now=at,
        )  # fmt: skip
    except InputError as exc:
        raise _input_problem(exc) from exc
    _log(store, change, table="monitoring_hooks", record_id=hook["id"], action="insert",
         after={"kind": hook["kind"], "levels": hook["levels"], "mine_id": mine}, at=at,
         mine_id=mine)  # fmt: skip
    return HookPublic(**hook)


@router.delete("/hooks/{hook_id}", response_model=HookPublic, summary="Switch a hook off")
def delete_hook(
    request: Request, hook_id: BigId, store: StoreDep, principal: CanWrite, change: ChangeDep
) -> HookPublic:
    from restora.store import hooks

    found = [h for h in hooks.hooks(store, active=None) if h["id"] == hook_id]
    if not found:
        raise Problem(404, f"no hook {hook_id}", kind="not-found")
    try:
        mine = _scope_mine(store, principal, found[0]["mine_id"], None)
    except Problem as exc:
        if exc.status == 404:
            raise Problem(404, f"no hook {hook_id}", kind="not-found") from exc
        raise
    at = clock(request)
    hook = hooks.deactivate_hook(store, hook_id)
    _log(store, change, table="monitoring_hooks", record_id=hook_id, action="update",
         after={"active": False}, at=at, mine_id=mine)  # fmt: skip
    return HookPublic(**hook)


# ----------------------------------------------------------------------------- catalogue
@router.get("/indicators", summary="The indicator catalogue (units, ranges, default levels)")
def list_indicators(principal: CanRead) -> list[dict[str, Any]]:
    from restora.monitoring import catalogue

    return [i.as_dict() for i in catalogue.indicators()]


__all__ = ["router"]
