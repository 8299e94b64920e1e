"""Public disclosure and supervision, without signing in: disclosed mines and projects, and the
complaint form with its receipt number.

Only what a bureau disclosed leaves (restora.store.disclosure): a disclosed mine or project
always shows its identity (id, name, region code, which field groups are public, since when);
every other field is null unless its group is disclosed. The schemas are explicit and forbid
extra keys; their fields are those of ``permissions.PUBLIC_FIELDS`` (the no-leak test walks every
route here against it).

Field groups → fields:

==================  =========================================================================
group               fields
==================  =========================================================================
status              mineral, status, closure_year (mine); status, start_year (project)
location            lon, lat (centre of its sites' boundaries) and bbox [°, EPSG:4326]
responsible_party   responsible_party (the mine's; a project's owning organisation)
area                sites, area_hm2, area_mu (live sites)
plan                plan_summary: the after-use areas and works of the latest appraisal's plan
money               money_raised_cny (funds the latest appraisal plans to raise), money_spent_cny
                    (payments recorded: none until the ledger records them), money_basis
progress            progress: appraisal date and version, planned works years
monitoring          monitoring: latest monitoring summary ("no monitoring yet" until monitoring
                    data is stored)
mines (project)     mines: the project's mine ids
==================  =========================================================================
"""

from __future__ import annotations

import contextlib
import datetime as dt
import math
from pathlib import Path
from typing import Annotated, Any, Literal

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Query, Request
from fastapi import Path as PathParam
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from restora.labels import label
from restora.service import antispam, photos, ratelimit
from restora.service.db import EngineDep
from restora.service.pagination import Page, Paging, sort_key
from restora.service.permissions import region_prefix
from restora.service.problems import Problem
from restora.service.security import Principal, authorize
from restora.store import disclosure as D
from restora.store.audit import Change
from restora.store.platform_tables import disclosures as DISCLOSURES
from restora.store.platform_tables import organisations as ORGS
from restora.store.tables import mines as MINES
from restora.store.tables import sites as SITES
from restora.units import MU_PER_HM2

router = APIRouter(prefix="/public", tags=["public"])
CanRead = Annotated[Principal, Depends(authorize("disclosure.read"))]
CanFile = Annotated[Principal, Depends(authorize("complaint.file"))]
CanTrack = Annotated[Principal, Depends(authorize("complaint.track"))]
Lang = Annotated[Literal["zh", "en"], Query(description="language of the summaries")]

MAX_TEXT = 5000
MAX_BODY = photos.MAX_TOTAL_BYTES + 1024 * 1024
"""Largest complaint request [byte]: the photos and 1 MiB for the text and multipart framing."""
NEAREST_MINE_KM = 20.0
"""A complaint given by lon/lat only goes to the region of the nearest mine within this
distance [km] (else to the bureaus without a region scope)."""
EARTH_RADIUS_KM = 6371.0088  # IUGG mean radius


# -------------------------------------------------------------------------------- schemas
class MonitoringSummary(BaseModel):
    """The latest monitoring summary of a disclosed mine or project."""

    model_config = ConfigDict(extra="forbid")

    status: str = Field(description="'none' until monitoring data is stored")
    summary: str
    count: int = Field(description="monitoring records [1]")
    latest: str | None = Field(None, description="date of the latest record")


NO_MONITORING = {
    "zh": MonitoringSummary(status="none", summary="暂无监测数据", count=0, latest=None),
    "en": MonitoringSummary(status="none", summary="no monitoring yet", count=0, latest=None),
}


class PublicMine(BaseModel):
    """A disclosed mine: its identity, and the fields of its disclosed groups (else null)."""

    model_config = ConfigDict(extra="forbid")

    mine_id: str
    name: str
    region_code: str = Field(description="6-digit GB/T 2260 code")
    fields: list[str] = Field(description="the disclosed field groups")
    disclosed_at: dt.datetime
    updated_at: dt.datetime = Field(description="latest of the disclosure and its appraisal")
    mineral: str | None = None
    status: str | None = None
    closure_year: int | None = None
    lon: float | None = Field(None, description="centre of its sites [°E, EPSG:4326]")
    lat: float | None = Field(None, description="centre of its sites [°N, EPSG:4326]")
    bbox: list[float] | None = Field(None, description="[west, south, east, north] [°]")
    responsible_party: str | None = None
    sites: int | None = Field(None, description="live sites [1]")
    area_hm2: float | None = Field(None, description="damaged area [hm²]")
    area_mu: float | None = Field(None, description="the same in 亩 [mu]")
    plan_summary: str | None = None
    progress: str | None = None
    money_raised_cny: float | None = Field(None, description="funds planned to be raised [CNY]")
    money_spent_cny: float | None = Field(None, description="payments recorded [CNY]")
    money_basis: str | None = None
    monitoring: MonitoringSummary | None = None


class PublicProject(BaseModel):
    """A disclosed project: its identity, and the fields of its disclosed groups (else null)."""

    model_config = ConfigDict(extra="forbid")

    project_id: str
    name: str
    name_en: str | None = None
    region_code: str | None = None
    fields: list[str]
    disclosed_at: dt.datetime
    updated_at: dt.datetime
    mines: list[str] | None = None
    status: str | None = Field(None, description="'registered' or 'appraised'")
    start_year: int | None = None
    responsible_party: str | None = None
    plan_summary: str | None = None
    progress: str | None = None
    money_raised_cny: float | None = None
    money_spent_cny: float | None = None
    money_basis: str | None = None
    monitoring: MonitoringSummary | None = None


class Challenge(BaseModel):
    """A proof-of-work challenge for filing one complaint through the API."""

    model_config = ConfigDict(extra="forbid")

    challenge: str
    kind: str
    bits: int = Field(description="leading zero bits SHA-256(challenge + ':' + nonce) must have")
    algorithm: str
    expires_at: dt.datetime
    honeypot: str = Field(description="a form field to send empty (or leave out)")


class ComplaintEventPublic(BaseModel):
    model_config = ConfigDict(extra="forbid")

    at: dt.datetime
    action: str


class ComplaintStatus(BaseModel):
    """A complaint as its receipt number shows it: its state, dates and answer (never who filed
    it, what it said, nor who handles it by name)."""

    model_config = ConfigDict(extra="forbid")

    receipt: str
    status: str = Field(description="received, assigned, answered or closed")
    created_at: dt.datetime
    due_at: dt.datetime = Field(description="the answer's deadline (UTC)")
    deadline_basis: str
    overdue: bool
    extension_reason: str | None = None
    answered_at: dt.datetime | None = None
    answer: str | None = None
    mine_id: str | None = None
    photos: int
    events: list[ComplaintEventPublic]


# ------------------------------------------------------------------- disclosed mines, projects
def _site_totals() -> sa.Subquery:
    return (
        sa.select(
            SITES.c.mine_id,
            sa.func.count().label("sites"),
            sa.func.coalesce(sa.func.sum(SITES.c.area_hm2), 0.0).label("area_hm2"),
        )
        .where(SITES.c.deleted_at.is_(None))
        .group_by(SITES.c.mine_id)
        .subquery()
    )


def _mine_query() -> sa.Select:  # type: ignore[type-arg]
    totals = _site_totals()
    return (
        sa.select(
            MINES.c.mine_id,
            MINES.c.name,
            MINES.c.region_code,
            MINES.c.mineral,
            MINES.c.status,
            MINES.c.closure_year,
            MINES.c.responsible_party,
            sa.func.coalesce(totals.c.sites, 0).label("sites"),
            sa.func.coalesce(totals.c.area_hm2, 0.0).label("area_hm2"),
            DISCLOSURES.c.fields,
            DISCLOSURES.c.disclosed_at,
        )
        .select_from(
            DISCLOSURES.join(MINES, MINES.c.mine_id == DISCLOSURES.c.subject_id).outerjoin(
                totals, totals.c.mine_id == MINES.c.mine_id
            )
        )
        .where(
            DISCLOSURES.c.subject == "mine",
            DISCLOSURES.c.withdrawn_at.is_(None),
            MINES.c.deleted_at.is_(None),
        )
    )


def mine_locations(conn: sa.Connection, mine_ids: list[str]) -> dict[str, tuple[float, ...]]:
    """Mine id → (lon, lat, west, south, east, north) of its live sites' boundaries [°]."""
    import numpy as np
    import shapely

    if not mine_ids:
        return {}
    rows = conn.execute(
        sa.select(SITES.c.mine_id, SITES.c.geometry).where(
            SITES.c.mine_id.in_(mine_ids),
            SITES.c.deleted_at.is_(None),
            SITES.c.geometry.is_not(None),
        )
    ).all()
    by_mine: dict[str, list[bytes]] = {}
    for mid, wkb in rows:
        by_mine.setdefault(mid, []).append(bytes(wkb))
    out: dict[str, tuple[float, ...]] = {}
    for mid, wkbs in by_mine.items():
        geoms = shapely.from_wkb(np.array(wkbs, dtype=object))
        union = shapely.union_all(geoms)
        if union.is_empty:
            continue
        c = union.centroid
        w, s, e, n = union.bounds
        out[mid] = (round(c.x, 6), round(c.y, 6), *(round(v, 6) for v in (w, s, e, n)))
    return out


def _num(x: float, lang: str, digits: int = 1) -> str:
    return f"{x:,.{digits}f}" if lang == "en" else f"{x:.{digits}f}"


def plan_summary(facts: D.AppraisalFacts, lang: str, mine_id: str | None = None) -> str:
    """One sentence of a plan: after-use areas, works items, works years."""
    mines = [mine_id] if mine_id else list(facts.after_use_hm2)
    areas: dict[str, float] = {}
    works = 0
    for m in mines:
        for use, a in facts.after_use_hm2.get(m, {}).items():
            areas[use] = areas.get(use, 0.0) + a
        works += facts.works.get(m, 0)
    total = sum(areas.values())
    parts = [
        f"{label(u, lang, 'after_use') or u} {_num(a, lang)} hm²"
        for u, a in sorted(areas.items(), key=lambda kv: -kv[1])
    ]
    years = _years(facts)
    if lang == "zh":
        text = f"修复 {_num(total, lang)} hm²（{'，'.join(parts)}），工程 {works} 项"
        return text + (f"，{years} 年实施" if years else "")
    text = f"restore {_num(total, lang)} hm² ({', '.join(parts)}), {works} works items"
    return text + (f", works {years}" if years else "")


def _years(facts: D.AppraisalFacts) -> str:
    a, b = facts.works_first_year, facts.works_last_year
    if a and b and a != b:
        return f"{a}–{b}"
    return str(a or b or "")


def progress_text(facts: D.AppraisalFacts | None, lang: str) -> str:
    """Where the project stands, from what the store knows."""
    if facts is None:
        return "尚未评估" if lang == "zh" else "not appraised yet"
    day = facts.appraised_at.date().isoformat()
    years = _years(facts)
    if lang == "zh":
        text = f"{day} 完成评估（第 {facts.version} 版）"
        text += f"；计划 {years} 年施工" if years else ""
        return text + "；尚无进度报告"
    text = f"appraised {day} (version {facts.version})"
    text += f"; works planned {years}" if years else ""
    return text + "; no progress reports recorded yet"


def money_basis(facts: D.AppraisalFacts | None, lang: str) -> str:
    if facts is None:
        return "尚无评估，暂无资金数据" if lang == "zh" else "no appraisal yet: no figures"
    day = facts.appraised_at.date().isoformat()
    if lang == "zh":
        return (
            f"筹资额为项目 {facts.project_id} 评估（{day}，第 {facts.version} 版）计划筹集的"
            "资金（贷款、补助、自有资金），非实际到账；尚无支出记录"
        )
    return (
        f"raised: funds planned (loans, grants, sponsor equity) in the appraisal of project "
        f"{facts.project_id} ({day}, version {facts.version}), not money received; spent: no "
        "payments recorded yet"
    )


def _facts_by_mine(conn: sa.Connection) -> dict[str, D.AppraisalFacts]:
    """Each mine's most recently appraised live project's latest appraisal."""
    projects = D.live_projects(conn)
    facts = D.latest_facts(conn, projects)
    out: dict[str, D.AppraisalFacts] = {}
    for pid, f in sorted(facts.items(), key=lambda kv: kv[1].appraised_at):
        for m in projects[pid]["mines"] or f.mines:
            out[m] = f
    return out


def _public_mine(
    row: Any,
    lang: str,
    location: tuple[float, ...] | None,
    facts: D.AppraisalFacts | None,
) -> PublicMine:
    groups = set(row.fields)
    disclosed_at = D.as_utc(row.disclosed_at)
    out: dict[str, Any] = {
        "mine_id": row.mine_id,
        "name": row.name,
        "region_code": row.region_code,
        "fields": list(row.fields),
        "disclosed_at": disclosed_at,
        "updated_at": disclosed_at,
    }
    if "status" in groups:
        out |= {"mineral": row.mineral, "status": row.status, "closure_year": row.closure_year}
    if "location" in groups and location:
        out |= {"lon": location[0], "lat": location[1], "bbox": list(location[2:])}
    if "responsible_party" in groups:
        out["responsible_party"] = row.responsible_party
    if "area" in groups:
        area = float(row.area_hm2)
        out |= {"sites": int(row.sites), "area_hm2": area, "area_mu": area * MU_PER_HM2}
    _appraisal_fields(out, groups, facts, lang, mine_id=row.mine_id)
    return PublicMine.model_validate(out)


def _appraisal_fields(
    out: dict[str, Any],
    groups: set[str],
    facts: D.AppraisalFacts | None,
    lang: str,
    *,
    mine_id: str | None = None,
) -> None:
    used = False
    if "plan" in groups and facts is not None:
        out["plan_summary"] = plan_summary(facts, lang, mine_id)
        used = True
    if "money" in groups:
        out["money_raised_cny"] = facts.sources_cny if facts is not None else None
        out["money_spent_cny"] = None
        out["money_basis"] = money_basis(facts, lang)
        used = used or facts is not None
    if "progress" in groups:
        out["progress"] = progress_text(facts, lang)
        used = used or facts is not None
    if "monitoring" in groups:
        out["monitoring"] = NO_MONITORING[lang]
    if used and facts is not None:
        out["updated_at"] = max(out["updated_at"], facts.appraised_at)


MINE_SORTABLE = ("mine_id", "name", "region_code")


@router.get("/mines", response_model=Page[PublicMine], summary="Disclosed mines")
def list_public_mines(
    engine: EngineDep,
    principal: CanRead,
    paging: Paging,
    lang: Lang = "zh",
    region: Annotated[
        str | None, Query(pattern=r"^\d{2,6}$", description="region code or its prefix")
    ] = None,
) -> Page[PublicMine]:
    q = _mine_query()
    if region:
        q = q.where(MINES.c.region_code.startswith(region_prefix(region.ljust(6, "0"))))
    col, desc = sort_key(paging.sort, MINE_SORTABLE, "mine_id")
    order = q.selected_columns[col]
    q = q.order_by(order.desc() if desc else order.asc(), MINES.c.mine_id)
    with engine.connect() as conn:
        conn.execution_options(restora_read_only=True)
        total = conn.execute(sa.select(sa.func.count()).select_from(q.subquery())).scalar_one()
        rows = conn.execute(q.limit(paging.limit).offset(paging.offset)).all()
        located = [r.mine_id for r in rows if "location" in r.fields]
        locations = mine_locations(conn, located)
        wants = any({"plan", "money", "progress"} & set(r.fields) for r in rows)
        facts = _facts_by_mine(conn) if wants else {}
    items = [_public_mine(r, lang, locations.get(r.mine_id), facts.get(r.mine_id)) for r in rows]
    return Page[PublicMine](items=items, total=total, limit=paging.limit, offset=paging.offset)


@router.get("/mines/{mine_id}", response_model=PublicMine, summary="One disclosed mine")
def get_public_mine(
    mine_id: Annotated[str, PathParam(max_length=64)],
    engine: EngineDep,
    principal: CanRead,
    lang: Lang = "zh",
) -> PublicMine:
    with engine.connect() as conn:
        conn.execution_options(restora_read_only=True)
        row = conn.execute(_mine_query().where(MINES.c.mine_id == mine_id)).first()
        if row is None:
            raise Problem(404, f"no disclosed mine {mine_id!r}", kind="not-found")
        locations = mine_locations(conn, [mine_id]) if "location" in row.fields else {}
        facts = _facts_by_mine(conn) if {"plan", "money", "progress"} & set(row.fields) else {}
    return _public_mine(row, lang, locations.get(mine_id), facts.get(mine_id))


def _public_projects(
    conn: sa.Connection, lang: str, project_id: str | None = None
) -> list[PublicProject]:
    live = D.live_disclosures(conn, "project", None if project_id is None else [project_id])
    projects = D.live_projects(conn)
    shown = [pid for pid in live if pid in projects]
    facts = D.latest_facts(conn, shown)
    owners = {p["owner_org_id"] for pid, p in projects.items() if pid in shown} - {None}
    org_names = (
        dict(conn.execute(sa.select(ORGS.c.id, ORGS.c.name).where(ORGS.c.id.in_(owners))).all())
        if owners
        else {}
    )
    out = []
    for pid in shown:
        d, p, f = live[pid], projects[pid], facts.get(pid)
        groups = set(d["fields"])
        item: dict[str, Any] = {
            "project_id": pid,
            "name": p["name"],
            "name_en": p["name_en"],
            "region_code": p["region_code"],
            "fields": d["fields"],
            "disclosed_at": d["disclosed_at"],
            "updated_at": d["disclosed_at"],
        }
        if "mines" in groups:
            item["mines"] = p["mines"]
        if "status" in groups:
            item["status"] = "appraised" if f is not None else "registered"
            item["start_year"] = f.works_first_year if f is not None else None
        if "responsible_party" in groups:
            item["responsible_party"] = org_names.get(p["owner_org_id"])
        _appraisal_fields(item, groups, f, lang)
        out.append(PublicProject.model_validate(item))
    return out


@router.get("/projects", response_model=Page[PublicProject], summary="Disclosed projects")
def list_public_projects(
    engine: EngineDep,
    principal: CanRead,
    paging: Paging,
    lang: Lang = "zh",
    region: Annotated[str | None, Query(pattern=r"^\d{2,6}$")] = None,
) -> Page[PublicProject]:
    col, desc = sort_key(paging.sort, ("project_id", "name", "region_code"), "project_id")
    with engine.connect() as conn:
        conn.execution_options(restora_read_only=True)
        items = _public_projects(conn, lang)
    if region:
        prefix = region_prefix(region.ljust(6, "0"))
        items = [i for i in items if (i.region_code or "").startswith(prefix)]
    items.sort(key=lambda i: (getattr(i, col) or "", i.project_id), reverse=desc)
    page = items[paging.offset : paging.offset + paging.limit]
    return Page[PublicProject](
        items=page, total=len(items), limit=paging.limit, offset=paging.offset
    )


@router.get("/projects/{project_id}", response_model=PublicProject, summary="One project")
def get_public_project(
    project_id: Annotated[str, PathParam(max_length=64)],
    engine: EngineDep,
    principal: CanRead,
    lang: Lang = "zh",
) -> PublicProject:
    with engine.connect() as conn:
        conn.execution_options(restora_read_only=True)
        items = _public_projects(conn, lang, project_id)
    if not items:
        raise Problem(404, f"no disclosed project {project_id!r}", kind="not-found")
    return items[0]


# ---------------------------------------------------------------------------------- complaints
@router.get("/complaints/challenge", response_model=Challenge, summary="A proof-of-work challenge")
def complaint_challenge(request: Request, principal: CanFile) -> Challenge:
    """What an API client solves before filing one complaint (restora.service.antispam)."""
    settings = request.app.state.settings
    bits = int(getattr(settings, "public_pow_bits", antispam.DEFAULT_POW_BITS))
    now = dt.datetime.now(dt.UTC)
    return Challenge(
        challenge=antispam.issue(settings.secret_key, "pow", bits=bits, now=now.timestamp()),
        kind="pow",
        bits=bits,
        algorithm="find a nonce (decimal text) with SHA-256(challenge + ':' + nonce) starting "
        f"with {bits} zero bits; send challenge and nonce with the complaint",
        expires_at=now + dt.timedelta(seconds=antispam.CHALLENGE_TTL),
        honeypot=antispam.HONEYPOT,
    )


def _field_problem(field: str, message: str, status: int = 422) -> Problem:
    return Problem(
        status,
        f"{field}: {message}",
        kind="invalid-input",
        errors=[{"field": field, "message": message}],
    )


async def _read_form(request: Request) -> Any:
    """The multipart form, its size bounded before it is parsed (413 past :data:`MAX_BODY`)."""
    ctype = request.headers.get("content-type", "")
    if not ctype.startswith(("multipart/form-data", "application/x-www-form-urlencoded")):
        raise Problem(
            415, "send the complaint as multipart/form-data", kind="unsupported-media-type"
        )
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        raise Problem(413, f"the request is larger than {MAX_BODY // 2**20} MiB", kind="too-large")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            raise Problem(
                413, f"the request is larger than {MAX_BODY // 2**20} MiB", kind="too-large"
            )
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": bytes(body), "more_body": False}

    replay = Request(request.scope, receive)
    try:
        return await replay.form(
            max_files=photos.MAX_PHOTOS + 1, max_fields=20, max_part_size=MAX_TEXT * 4 + 1024
        )
    except Exception as exc:  # multipart framing errors of any kind are the client's
        raise Problem(400, f"the form cannot be read: {exc}", kind="bad-form") from None


def _text_field(form: Any, name: str, *, max_len: int, required: bool = False) -> str | None:
    value = form.get(name)
    if isinstance(value, UploadFile):
        raise _field_problem(name, "must be text, not a file")
    text = (value or "").strip()
    if not text:
        if required:
            raise _field_problem(name, "required")
        return None
    if len(text) > max_len:
        raise _field_problem(name, f"at most {max_len} characters")
    return text


def _coordinate(form: Any, name: str, low: float, high: float) -> float | None:
    text = _text_field(form, name, max_len=32)
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        raise _field_problem(name, f"{text!r} is not a number") from None
    if not math.isfinite(value) or not low <= value <= high:
        raise _field_problem(name, f"must be between {low:g} and {high:g} [°]")
    return value


def _nearest_region(conn: sa.Connection, lon: float, lat: float) -> str | None:
    """The region code of the live mine whose sites' centre is nearest (within
    :data:`NEAREST_MINE_KM`)."""
    ids = [
        r[0] for r in conn.execute(sa.select(MINES.c.mine_id).where(MINES.c.deleted_at.is_(None)))
    ]
    regions = dict(conn.execute(sa.select(MINES.c.mine_id, MINES.c.region_code)).all())
    best, where = NEAREST_MINE_KM, None
    for mid, loc in mine_locations(conn, ids).items():
        # equirectangular distance: exact enough within tens of kilometres
        x = math.radians(loc[0] - lon) * math.cos(math.radians((loc[1] + lat) / 2))
        y = math.radians(loc[1] - lat)
        km = EARTH_RADIUS_KM * math.hypot(x, y)
        if km <= best:
            best, where = km, regions.get(mid)
    return where


async def submit_complaint(request: Request, principal: Principal) -> ComplaintStatus:
    """File a complaint from a request's multipart form (the API route and the web page's form
    both call this): spam checks, rate limit, photos, store. Fields: ``text`` (required),
    ``mine_id`` or ``lon`` and ``lat``, ``photos`` (up to 5 files), ``challenge``, ``nonce``
    (proof-of-work challenges) and the honeypot ``website`` (empty)."""
    settings = request.app.state.settings
    store = request.app.state.store
    form = await _read_form(request)
    passed = antispam.check(
        settings.secret_key,
        _text_field(form, "challenge", max_len=200),
        nonce=_text_field(form, "nonce", max_len=40),
        honeypot=_text_field(form, antispam.HONEYPOT, max_len=200),
    )
    text = _text_field(form, "text", max_len=MAX_TEXT, required=True)
    mine_id = _text_field(form, "mine_id", max_len=64)
    lon = _coordinate(form, "lon", -180.0, 180.0)
    lat = _coordinate(form, "lat", -90.0, 90.0)
    if (lon is None) != (lat is None):
        raise _field_problem("lat" if lat is None else "lon", "give both lon and lat, or neither")
    uploads = [f for f in form.getlist("photos") if isinstance(f, UploadFile)]
    if any(not isinstance(f, UploadFile) for f in form.getlist("photos")):
        raise _field_problem("photos", "must be files")

    address = request.client.host if request.client else None
    key = ratelimit.client_key(settings.secret_key, address)
    ratelimit.check(store.engine, key, settings.public_rate_per_hour)

    def region() -> str | None:
        with store.engine.connect() as conn:
            conn.execution_options(restora_read_only=True)
            if mine_id is not None:
                row = conn.execute(
                    sa.select(MINES.c.region_code).where(
                        MINES.c.mine_id == mine_id, MINES.c.deleted_at.is_(None)
                    )
                ).first()
                if row is None:
                    raise _field_problem("mine_id", f"no mine {mine_id!r}")
                return row[0]  # type: ignore[no-any-return]
            if lon is not None and lat is not None:
                return _nearest_region(conn, lon, lat)
            return None

    region_code = await run_in_threadpool(region)
    raw = [await f.read(photos.MAX_PHOTO_BYTES + 1) for f in uploads]
    clean = await run_in_threadpool(photos.clean_all, raw)
    folder = f"{dt.datetime.now(dt.UTC):%Y%m}/{passed.sha256[:16]}"
    data_dir = Path(settings.data_dir)
    written: list[Path] = []

    def save() -> dict[str, Any]:
        stored = []
        for p in clean:
            rel = photos.store(p, data_dir, folder)
            written.append(data_dir / rel)
            stored.append(
                D.StoredPhoto(p.content_type, len(p.data), p.width, p.height, p.sha256, rel)
            )
        return D.file_complaint(
            store.engine,
            text=text or "",
            lon=lon,
            lat=lat,
            mine_id=mine_id,
            region_code=region_code,
            client_sha256=key,
            token_sha256=passed.sha256,
            photos=stored,
            limit_per_hour=settings.public_rate_per_hour,
            change=Change(
                command="POST /api/v1/public/complaints",
                user=principal.username or "public",
                user_id=principal.user_id,
                request_id=getattr(request.state, "request_id", None),
                options={"action": "complaint.file", "role": principal.role},
            ),
        )

    try:
        row = await run_in_threadpool(save)
    except BaseException as exc:
        for path in written:
            with contextlib.suppress(OSError):
                path.unlink()
        if isinstance(exc, D.RateLimited):
            raise ratelimit.too_many(exc.retry_after) from None
        if isinstance(exc, D.TokenUsed):
            raise Problem(
                409,
                "this form was sent already: reload it (or ask for a new challenge)",
                kind="challenge-used",
                errors=[{"field": "challenge", "message": "used already"}],
            ) from None
        raise
    return await run_in_threadpool(_status_of, store.engine, row["receipt"])


def _status_of(engine: sa.Engine, receipt: str) -> ComplaintStatus:
    now = dt.datetime.now(dt.UTC)
    with engine.connect() as conn:
        conn.execution_options(restora_read_only=True)
        c = D.complaint_by_receipt(conn, receipt)
        if c is None:
            raise Problem(404, "no complaint with this receipt number", kind="not-found")
        events = D.complaint_events_of(conn, c["id"])
        n_photos = len(D.complaint_photos_of(conn, c["id"]))
    rule = D.answer_deadline(c["created_at"], c["region_code"])
    return ComplaintStatus(
        receipt=c["receipt"],
        status=c["status"],
        created_at=c["created_at"],
        due_at=c["due_at"],
        deadline_basis=f"{rule.article}: {rule.answer_days} d"
        + (f" + {rule.extension_days} d" if c["extension_reason"] else ""),
        overdue=D.overdue(c, now),
        extension_reason=c["extension_reason"],
        answered_at=c["answered_at"],
        answer=c["answer"],
        mine_id=c["mine_id"],
        photos=n_photos,
        events=[ComplaintEventPublic(at=e["at"], action=e["action"]) for e in events],
    )


_FORM_SCHEMA = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["text", "challenge"],
                    "properties": {
                        "text": {"type": "string", "minLength": 1, "maxLength": MAX_TEXT},
                        "mine_id": {"type": "string", "maxLength": 64},
                        "lon": {"type": "number", "minimum": -180, "maximum": 180},
                        "lat": {"type": "number", "minimum": -90, "maximum": 90},
                        "photos": {
                            "type": "array",
                            "maxItems": photos.MAX_PHOTOS,
                            "items": {"type": "string", "format": "binary"},
                        },
                        "challenge": {"type": "string", "maxLength": 200},
                        "nonce": {"type": "string", "maxLength": 40},
                        antispam.HONEYPOT: {"type": "string", "maxLength": 0},
                    },
                }
            }
        },
    }
}


@router.post(
    "/complaints",
    response_model=ComplaintStatus,
    status_code=201,
    summary="File a report or complaint",
    openapi_extra=_FORM_SCHEMA,
    responses={
        409: {"description": "the challenge was used already"},
        413: {"description": "too large"},
        415: {"description": "not a JPEG, PNG or WebP photo"},
        429: {"description": "too many complaints from this address (Retry-After)"},
    },
)
async def file_complaint(request: Request, principal: CanFile) -> ComplaintStatus:
    """Multipart form: ``text``; ``mine_id`` or ``lon``/``lat``; up to 5 ``photos`` (JPEG, PNG
    or WebP, 5 MiB each, 15 MiB together; stored without EXIF or any metadata); ``challenge``
    and ``nonce`` (``GET /public/complaints/challenge``). Answers the receipt number to follow
    it with."""
    return await submit_complaint(request, principal)


@router.get("/complaints/{receipt}", response_model=ComplaintStatus, summary="Follow a complaint")
def track_complaint(
    receipt: Annotated[str, PathParam(max_length=40)],
    engine: EngineDep,
    principal: CanTrack,
) -> ComplaintStatus:
    try:
        canon = D.normalise_receipt(receipt)
    except ValueError as exc:
        raise _field_problem("receipt", str(exc)) from None
    return _status_of(engine, canon)
