"""The bureau's side of public complaints: list those of its region, read one with its photos
and history, assign it, answer it, extend its deadline once, close it.

Reading needs ``complaint.read``, every step ``complaint.handle`` (permission matrix); a
complaint outside the principal's region scope is 404 to read and 403 to handle. A complaint
filed with only a position and no mine within reach has no region: only principals without a
region scope see it. Each step is recorded with who and when in ``complaint_events``
(append-only) and in the audit trail. The deadline (``due_at``) comes from the refdata table
``complaints/answer-deadline`` (信访工作条例 (2022) art. 34: 60 days, one extension of at most
30 days); a complaint past it without an answer is ``overdue``.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any, Literal

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict, Field

from restora.service.db import EngineDep
from restora.service.pagination import Page, Paging, sort_key
from restora.service.permissions import region_prefix
from restora.service.problems import Problem
from restora.service.security import Principal, authorize, check_region
from restora.store import disclosure as D
from restora.store.audit import Change
from restora.store.platform_tables import complaints as COMPLAINTS

router = APIRouter(prefix="/complaints", tags=["complaints"])
CanRead = Annotated[Principal, Depends(authorize("complaint.read"))]
CanHandle = Annotated[Principal, Depends(authorize("complaint.handle"))]
ComplaintId = Annotated[int, PathParam(ge=1, le=2**31 - 1)]


class ComplaintEvent(BaseModel):
    at: dt.datetime
    action: str
    user_id: int | None = None
    username: str | None = None
    note: str | None = None
    details: dict[str, Any] | None = None


class ComplaintPhoto(BaseModel):
    id: int
    content_type: str
    size_bytes: int
    width: int
    height: int
    sha256: str
    url: str


class ComplaintPublic(BaseModel):
    """A complaint as the bureau sees it (never the client's address or its hash)."""

    id: int
    receipt: str
    status: str
    text: str
    lon: float | None = None
    lat: float | None = None
    mine_id: str | None = None
    region_code: str | None = None
    assigned_org_id: int | None = None
    assigned_user_id: int | None = None
    assigned_at: dt.datetime | None = None
    answer: str | None = None
    answered_at: dt.datetime | None = None
    answered_by: int | None = None
    created_at: dt.datetime
    due_at: dt.datetime
    extension_reason: str | None = None
    closed_at: dt.datetime | None = None
    overdue: bool
    days_left: float = Field(description="days to the deadline, negative when overdue [d]")


class ComplaintDetail(ComplaintPublic):
    photos: list[ComplaintPhoto]
    events: list[ComplaintEvent]


class ComplaintAssign(BaseModel):
    model_config = ConfigDict(extra="forbid")

    org_id: int | None = Field(None, ge=1, description="the organisation that handles it")
    user_id: int | None = Field(None, ge=1, description="the person who handles it")
    note: str | None = Field(None, max_length=2000)


class ComplaintAnswer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    answer: str = Field(min_length=1, max_length=10_000)


class ComplaintExtend(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=2000, description="told to the complainant")


class ComplaintClose(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: str | None = Field(None, max_length=2000)


def _public(c: dict[str, Any], now: dt.datetime) -> dict[str, Any]:
    out = {k: c[k] for k in ComplaintPublic.model_fields if k in c}
    out["overdue"] = D.overdue(c, now)
    out["days_left"] = round((c["due_at"] - now).total_seconds() / 86400.0, 2)
    return out


SORTABLE = ("id", "created_at", "due_at", "status")


@router.get("", response_model=Page[ComplaintPublic], summary="Complaints of your region")
def list_complaints(
    engine: EngineDep,
    principal: CanRead,
    paging: Paging,
    status: Annotated[Literal["received", "assigned", "answered", "closed"] | None, Query()] = None,
    overdue: Annotated[bool | None, Query(description="only overdue (or only not overdue)")] = None,
    mine_id: Annotated[str | None, Query(max_length=64)] = None,
) -> Page[ComplaintPublic]:
    now = dt.datetime.now(dt.UTC)
    q = sa.select(COMPLAINTS.c.id)
    scope = region_prefix(principal.region) if principal.role != "admin" else ""
    if scope:
        q = q.where(COMPLAINTS.c.region_code.startswith(scope))
    if status:
        q = q.where(COMPLAINTS.c.status == status)
    if mine_id:
        q = q.where(COMPLAINTS.c.mine_id == mine_id)
    late = sa.and_(
        COMPLAINTS.c.answered_at.is_(None),
        COMPLAINTS.c.status != "closed",
        COMPLAINTS.c.due_at < now,
    )
    if overdue is True:
        q = q.where(late)
    elif overdue is False:
        q = q.where(sa.not_(late))
    col, desc = sort_key(paging.sort, SORTABLE, "-created_at")
    order = COMPLAINTS.c[col]
    q = q.order_by(order.desc() if desc else order.asc(), COMPLAINTS.c.id)
    with engine.connect() as conn:
        conn.execution_options(restora_read_only=True)
        total = conn.execute(sa.select(sa.func.count()).select_from(q.subquery())).scalar_one()
        ids = [r[0] for r in conn.execute(q.limit(paging.limit).offset(paging.offset))]
        rows = [D.complaint_by_id(conn, i) for i in ids]
    items = [ComplaintPublic.model_validate(_public(c, now)) for c in rows if c is not None]
    return Page[ComplaintPublic](items=items, total=total, limit=paging.limit, offset=paging.offset)


def _load(
    engine: sa.Engine, principal: Principal, complaint_id: int, *, write: bool
) -> dict[str, Any]:
    with engine.connect() as conn:
        conn.execution_options(restora_read_only=True)
        c = D.complaint_by_id(conn, complaint_id)
    if c is None:
        raise Problem(404, f"no complaint {complaint_id}", kind="not-found")
    if c["region_code"] is None and principal.role != "admin" and region_prefix(principal.region):
        raise Problem(404, f"no complaint {complaint_id}", kind="not-found")
    check_region(principal, c["region_code"], write=False)
    if write:
        check_region(principal, c["region_code"], write=True)
    return c


def _detail(request: Request, engine: sa.Engine, complaint_id: int) -> ComplaintDetail:
    now = dt.datetime.now(dt.UTC)
    with engine.connect() as conn:
        conn.execution_options(restora_read_only=True)
        c = D.complaint_by_id(conn, complaint_id)
        assert c is not None
        events = D.complaint_events_of(conn, complaint_id)
        pics = D.complaint_photos_of(conn, complaint_id)
    base = str(request.url_for("complaint_photo", complaint_id=complaint_id, photo_id=0))[:-1]
    return ComplaintDetail.model_validate(
        _public(c, now)
        | {
            "events": [{k: e[k] for k in ComplaintEvent.model_fields} for e in events],
            "photos": [
                {k: p[k] for k in ComplaintPhoto.model_fields if k != "url"}
                | {"url": f"{base}{p['id']}"}
                for p in pics
            ],
        }
    )


@router.get("/{complaint_id}", response_model=ComplaintDetail, summary="One complaint")
def get_complaint(
    complaint_id: ComplaintId, request: Request, engine: EngineDep, principal: CanRead
) -> ComplaintDetail:
    _load(engine, principal, complaint_id, write=False)
    return _detail(request, engine, complaint_id)


@router.get(
    "/{complaint_id}/photos/{photo_id}",
    name="complaint_photo",
    summary="A complaint's photo (as stored: without metadata)",
    response_class=FileResponse,
)
def complaint_photo(
    complaint_id: ComplaintId,
    photo_id: Annotated[int, PathParam(ge=0, le=2**31 - 1)],
    request: Request,
    engine: EngineDep,
    principal: CanRead,
) -> FileResponse:
    _load(engine, principal, complaint_id, write=False)
    with engine.connect() as conn:
        conn.execution_options(restora_read_only=True)
        pics = {p["id"]: p for p in D.complaint_photos_of(conn, complaint_id)}
    p = pics.get(photo_id)
    if p is None:
        raise Problem(404, f"no photo {photo_id} of complaint {complaint_id}", kind="not-found")
    data_dir = Path(request.app.state.settings.data_dir).resolve()
    path = (data_dir / p["path"]).resolve()
    if not path.is_relative_to(data_dir) or not path.is_file():
        raise Problem(404, "the photo's file is missing from the data folder", kind="not-found")
    return FileResponse(path, media_type=p["content_type"], headers={"Cache-Control": "private"})


def _change(request: Request, principal: Principal, command: str, complaint_id: int) -> Change:
    return Change(
        command=f"POST /api/v1/complaints/{{complaint_id}}/{command}",
        user=principal.username or principal.role,
        user_id=principal.user_id,
        request_id=getattr(request.state, "request_id", None),
        options={
            "action": "complaint.handle",
            "role": principal.role,
            "complaint_id": complaint_id,
        },
    )


def _step(
    request: Request, engine: sa.Engine, principal: Principal, complaint_id: int, fn: Any, **kw: Any
) -> ComplaintDetail:
    _load(engine, principal, complaint_id, write=True)
    try:
        fn(
            engine,
            complaint_id,
            user_id=principal.user_id,
            change=_change(request, principal, fn.__name__, complaint_id),
            **kw,
        )
    except LookupError as exc:
        raise Problem(404, str(exc), kind="not-found") from None
    return _detail(request, engine, complaint_id)


@router.post("/{complaint_id}/assign", response_model=ComplaintDetail, summary="Assign it")
def assign_complaint(
    complaint_id: ComplaintId,
    body: ComplaintAssign,
    request: Request,
    engine: EngineDep,
    principal: CanHandle,
) -> ComplaintDetail:
    return _step(
        request,
        engine,
        principal,
        complaint_id,
        D.assign,
        org_id=body.org_id,
        assignee_id=body.user_id,
        note=body.note,
    )


@router.post("/{complaint_id}/answer", response_model=ComplaintDetail, summary="Answer it")
def answer_complaint(
    complaint_id: ComplaintId,
    body: ComplaintAnswer,
    request: Request,
    engine: EngineDep,
    principal: CanHandle,
) -> ComplaintDetail:
    return _step(request, engine, principal, complaint_id, _answer, text=body.answer)


def _answer(engine: sa.Engine, complaint_id: int, *, text: str, **kw: Any) -> Any:
    return D.answer(engine, complaint_id, text, **kw)


_answer.__name__ = "answer"


@router.post(
    "/{complaint_id}/extend", response_model=ComplaintDetail, summary="Extend its deadline once"
)
def extend_complaint(
    complaint_id: ComplaintId,
    body: ComplaintExtend,
    request: Request,
    engine: EngineDep,
    principal: CanHandle,
) -> ComplaintDetail:
    return _step(request, engine, principal, complaint_id, _extend, reason=body.reason)


def _extend(engine: sa.Engine, complaint_id: int, *, reason: str, **kw: Any) -> Any:
    return D.extend(engine, complaint_id, reason, **kw)


_extend.__name__ = "extend"


@router.post("/{complaint_id}/close", response_model=ComplaintDetail, summary="Close it")
def close_complaint(
    complaint_id: ComplaintId,
    body: ComplaintClose,
    request: Request,
    engine: EngineDep,
    principal: CanHandle,
) -> ComplaintDetail:
    return _step(request, engine, principal, complaint_id, _close, note=body.note)


def _close(engine: sa.Engine, complaint_id: int, *, note: str | None, **kw: Any) -> Any:
    return D.close(engine, complaint_id, note, **kw)


_close.__name__ = "close"
