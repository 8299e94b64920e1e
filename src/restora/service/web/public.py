"""The public's pages (no account needed): what is disclosed of mines and projects, filing a
report or complaint with photos, and following it by its receipt number.

A mine or project is public while it has a live ``disclosures`` row; its page shows the fields
that row lists and nothing else. Filing goes to the complaints API (``static/js/forms.js``
posts the form, photos included, and comes back to the receipt's page).
"""

from __future__ import annotations

from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from restora.service.web.i18n import N_
from restora.service.web.render import render
from restora.store import platform_tables as PT
from restora.store.tables import mines as MINES

router = APIRouter(prefix="/public", include_in_schema=False)
Id = Annotated[str, Path(max_length=64)]
D, C, E = PT.disclosures, PT.complaints, PT.complaint_events

#: where the form files a complaint (POST, multipart) and where its receipt is followed (GET)
FILE_URL = "/api/v1/public/complaints"

#: the history of a complaint as the public reads it (action code → words)
EVENT_WORDS = {
    "received": N_("Received"),
    "assigned": N_("Assigned to a bureau"),
    "answered": N_("Answered"),
    "closed": N_("Closed"),
    "reopened": N_("Reopened"),
    "note": N_("Note"),
}
#: the names of a record's fields on its public page
FIELD_WORDS = {
    "mine_id": N_("Mine number"),
    "project_id": N_("Project number"),
    "name_en": N_("English name"),
    "region_code": N_("Region code"),
    "mineral": N_("Mineral"),
    "status": N_("Status"),
    "responsible_party": N_("Responsible party"),
    "closure_year": N_("Closure year"),
    "landscape_value": N_("Landscape value"),
    "mines": N_("Mines"),
    "start_year": N_("Start year"),
    "horizon_years": N_("Horizon [years]"),
    "note": N_("Note"),
}
STATUS_WORDS = {
    "received": N_("Received"),
    "assigned": N_("Being handled"),
    "answered": N_("Answered"),
    "closed": N_("Closed"),
}


def _conn(request: Request) -> sa.Connection:
    conn = request.app.state.store.engine.connect()
    conn.execution_options(restora_read_only=True)
    return conn  # type: ignore[no-any-return]


def _disclosed(conn: sa.Connection, subject: str) -> dict[str, list[str]]:
    rows = conn.execute(
        sa.select(D.c.subject_id, D.c.fields)
        .where(D.c.subject == subject, D.c.withdrawn_at.is_(None))
        .order_by(D.c.disclosed_at)
    ).all()
    return {r.subject_id: list(r.fields or []) for r in rows}


@router.get("")
async def public_home(request: Request) -> Response:
    with _conn(request) as conn:
        mines_public = _disclosed(conn, "mine")
        projects_public = _disclosed(conn, "project")
        mines = conn.execute(
            sa.select(MINES.c.mine_id, MINES.c.name, MINES.c.status).where(
                MINES.c.mine_id.in_(list(mines_public)), MINES.c.deleted_at.is_(None)
            )
        ).all()
        projects = conn.execute(
            sa.select(PT.projects.c.project_id, PT.projects.c.name).where(
                PT.projects.c.project_id.in_(list(projects_public)),
                PT.projects.c.deleted_at.is_(None),
            )
        ).all()
    return await render(
        request,
        "public/index.html",
        {
            "mines": [dict(m._mapping) for m in mines],
            "projects": [dict(p._mapping) for p in projects],
        },
    )


@router.get("/mines/{mine_id}")
async def public_mine(request: Request, mine_id: Id) -> Response:
    with _conn(request) as conn:
        fields = _disclosed(conn, "mine").get(mine_id)
        row = (
            conn.execute(
                sa.select(MINES).where(MINES.c.mine_id == mine_id, MINES.c.deleted_at.is_(None))
            ).first()
            if fields is not None
            else None
        )
    if row is None or fields is None:
        return await _not_public(request)
    record = dict(row._mapping)
    shown = {k: record.get(k) for k in ("mine_id", "name", *fields) if k in record}
    return await render(
        request,
        "public/mine.html",
        {"mine": shown, "fields": fields, "file_url": FILE_URL, "field_words": FIELD_WORDS},
    )


@router.get("/projects/{project_id}")
async def public_project(request: Request, project_id: Id) -> Response:
    P = PT.projects
    with _conn(request) as conn:
        fields = _disclosed(conn, "project").get(project_id)
        row = (
            conn.execute(
                sa.select(P.c.project_id, P.c.name, P.c.name_en, P.c.region_code, P.c.spec).where(
                    P.c.project_id == project_id, P.c.deleted_at.is_(None)
                )
            ).first()
            if fields is not None
            else None
        )
    if row is None or fields is None:
        return await _not_public(request)
    spec = row.spec or {}
    shown: dict[str, Any] = {"project_id": row.project_id, "name": row.name}
    for k in fields:
        if k in spec:
            shown[k] = spec[k]
    return await render(
        request,
        "public/project.html",
        {"project": shown, "fields": fields, "field_words": FIELD_WORDS},
    )


@router.get("/report")
async def report_form(
    request: Request,
    mine: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    with _conn(request) as conn:
        ids = list(_disclosed(conn, "mine"))
        mines = conn.execute(
            sa.select(MINES.c.mine_id, MINES.c.name)
            .where(MINES.c.mine_id.in_(ids), MINES.c.deleted_at.is_(None))
            .order_by(MINES.c.mine_id)
        ).all()
    return await render(
        request,
        "public/report.html",
        {
            "mines": [dict(m._mapping) for m in mines],
            "selected": mine or "",
            "file_url": FILE_URL,
        },
    )


@router.get("/track")
async def track(
    request: Request, receipt: Annotated[str | None, Query(max_length=64)] = None
) -> Response:
    complaint = None
    events: list[dict[str, Any]] = []
    if receipt:
        with _conn(request) as conn:
            row = conn.execute(
                sa.select(
                    C.c.id,
                    C.c.receipt,
                    C.c.status,
                    C.c.text,
                    C.c.answer,
                    C.c.answered_at,
                    C.c.due_at,
                    C.c.created_at,
                ).where(C.c.receipt == receipt.strip())
            ).first()
            if row is not None:
                complaint = dict(row._mapping)
                events = [
                    {"action": e.action, "at": e.at}
                    for e in conn.execute(
                        sa.select(E.c.action, E.c.at)
                        .where(E.c.complaint_id == row.id)
                        .order_by(E.c.at, E.c.id)
                    ).all()
                ]
    return await render(
        request,
        "public/track.html",
        {
            "receipt": receipt or "",
            "complaint": complaint,
            "events": events,
            "event_words": EVENT_WORDS,
            "status_words": STATUS_WORDS,
        },
    )


async def _not_public(request: Request) -> Response:
    return await render(
        request,
        "error.html",
        {"status": 404, "message": N_("This record is not disclosed to the public.")},
        status=404,
    )
