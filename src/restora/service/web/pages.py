"""The signed-in pages: sign-in, the register map, a mine, projects, jobs, complaints, audit;
the language switch and the about page (versions and licences of the vendored libraries).

Each page checks the same permission matrix as the API (:mod:`restora.service.permissions`):
the anonymous are sent to the sign-in page, a role that may not see a page gets a 403 page, and
a record outside the caller's region scope is a 404 page (as the API does). Pages read the
store through SQLAlchemy Core; writes go through the API (``static/js/forms.js`` posts a form
to its ``/api/v1`` or ``/auth`` endpoint with the CSRF token, so every write has one path,
audited by the API).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any
from urllib.parse import unquote

import sqlalchemy as sa
from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from restora.service.permissions import allowed, in_scope, region_prefix
from restora.service.problems import Problem
from restora.service.security import Principal, current_principal
from restora.service.web import i18n
from restora.service.web.i18n import N_
from restora.service.web.render import render, signin_redirect, vendored
from restora.store import platform_tables as PT
from restora.store.tables import audit as AUDIT
from restora.store.tables import changes as CHANGES
from restora.store.tables import mines as MINES

router = APIRouter(include_in_schema=False)
#: where the bureau records its answer to a complaint (the complaints API, POST JSON {"answer"})
ANSWER_URL = "/api/v1/complaints/{receipt}/answer"
Id = Annotated[str, Path(max_length=64)]


async def guard(request: Request, action: str) -> Principal | Response:
    """The principal when it may ``action``; else the sign-in redirect or a 403 page."""
    who = await current_principal(request)
    if not who.signed_in:
        return signin_redirect(request)
    if not allowed(who.role, action):
        return await error_page(request, 403, N_("Your role may not see this page."), who)
    return who


async def error_page(
    request: Request, status: int, message: str, principal: Principal | None = None
) -> HTMLResponse:
    return await render(
        request,
        "error.html",
        {"status": status, "message": message},
        status=status,
        principal=principal,
    )


def _read(request: Request) -> sa.Connection:
    conn = request.app.state.store.engine.connect()
    conn.execution_options(restora_read_only=True)
    return conn  # type: ignore[no-any-return]


def _scoped(principal: Principal, column: Any) -> Any:
    prefix = region_prefix(principal.region) if principal.role != "admin" else ""
    return column.startswith(prefix) if prefix else sa.true()


def home_of(principal: Principal) -> str:
    """Where a role lands after signing in."""
    if not principal.signed_in:
        return "/public"
    for path, action in (
        ("/map", "register.read"),
        ("/projects", "project.read"),
        ("/complaints", "complaint.read"),
    ):
        if allowed(principal.role, action):
            return path
    return "/public"


def _local(next_url: str | None) -> str | None:
    """``next_url`` if it is a path of this site (never another host)."""
    if not next_url:
        return None
    url = unquote(next_url)
    if url.startswith("/") and not url.startswith("//") and "\\" not in url:
        return url
    return None


# ----------------------------------------------------------------------------- frame pages
@router.get("/")
async def home(request: Request) -> Response:
    return RedirectResponse(home_of(await current_principal(request)), status_code=303)


@router.get("/signin")
async def signin(request: Request, next: Annotated[str | None, Query()] = None) -> Response:
    who = await current_principal(request)
    target = _local(next)
    if who.signed_in and target:
        return RedirectResponse(target, status_code=303)
    return await render(request, "signin.html", {"next": target or ""}, principal=who)


@router.get("/lang/{locale}")
async def switch_language(
    request: Request,
    locale: Annotated[str, Path(max_length=8)],
    next: Annotated[str | None, Query()] = None,
) -> Response:
    """The 中文 / English switch: remember the language, go back to the page."""
    if locale not in i18n.LOCALES:
        return await error_page(request, 404, N_("No such language."))
    response = RedirectResponse(_local(next) or "/", status_code=303)
    response.set_cookie(
        i18n.COOKIE,
        locale,
        max_age=365 * 24 * 3600,
        httponly=True,
        samesite="lax",
        secure=bool(request.app.state.settings.behind_tls),
    )
    return response


@router.get("/about")
async def about(request: Request) -> Response:
    from restora import __version__

    return await render(request, "about.html", {"version": __version__, "packages": vendored()})


# ------------------------------------------------------------------------------ the register
@router.get("/map")
async def register_map(request: Request) -> Response:
    who = await guard(request, "register.read")
    if isinstance(who, Response):
        return who
    from restora.service.web.geo import register_view

    view = register_view(request)
    with _read(request) as conn:
        rows = conn.execute(
            sa.select(MINES.c.mine_id, MINES.c.region_code).where(
                MINES.c.deleted_at.is_(None), _scoped(who, MINES.c.region_code)
            )
        ).all()
    ids = {r.mine_id for r in rows}
    mines = sorted(
        (m for k, m in view.mines.items() if k in ids),
        key=lambda m: (m.get("rank") or 10**9, m.get("mine_id")),
    )
    return await render(
        request,
        "map.html",
        {"mines": mines, "ranking_error": view.error, "method": view.method},
        principal=who,
    )


@router.get("/mines/{mine_id}")
async def mine_page(request: Request, mine_id: Id) -> Response:
    who = await guard(request, "register.read")
    if isinstance(who, Response):
        return who
    from restora.service.web.minepage import mine_context

    try:
        context = mine_context(request, who, mine_id)
    except Problem as exc:
        return await error_page(request, exc.status, exc.detail, who)
    return await render(request, "mine.html", context, principal=who)


# -------------------------------------------------------------------------------- projects
@router.get("/projects")
async def projects_page(request: Request) -> Response:
    who = await guard(request, "project.read")
    if isinstance(who, Response):
        return who
    from restora.service.web.projectpage import project_list

    return await render(
        request, "projects.html", {"projects": project_list(request, who)}, principal=who
    )


@router.get("/projects/{project_id}")
async def project_page(
    request: Request,
    project_id: Id,
    version: Annotated[int | None, Query(ge=1)] = None,
) -> Response:
    who = await guard(request, "project.read")
    if isinstance(who, Response):
        return who
    from restora.service.web.projectpage import project_context

    try:
        context = project_context(request, who, project_id, version)
    except Problem as exc:
        return await error_page(request, exc.status, exc.detail, who)
    return await render(request, "project.html", context, principal=who)


# ------------------------------------------------------------------------------------ jobs
def _job_rows(request: Request, who: Principal, job_id: str | None = None) -> list[Any]:
    J = PT.jobs
    q = sa.select(J).order_by(J.c.created_at.desc(), J.c.id).limit(100)
    if job_id is not None:
        q = sa.select(J).where(J.c.id == job_id)
    if who.role != "admin":
        # the jobs a role sees: its own, and those of its organisation's people
        org_users = sa.select(PT.users.c.id).where(PT.users.c.org_id == who.org_id)
        q = q.where(
            sa.or_(J.c.created_by == who.user_id, J.c.created_by.in_(org_users))
            if who.org_id is not None
            else J.c.created_by == who.user_id
        )
    with _read(request) as conn:
        return list(conn.execute(q).all())


def _job(row: Any) -> dict[str, Any]:
    d = dict(row._mapping)
    d["percent"] = round(100.0 * float(d.get("progress") or 0.0))
    d["done"] = d.get("status") in ("succeeded", "failed", "cancelled")
    params = d.get("params") or {}
    d["project_id"] = params.get("project_id") if isinstance(params, dict) else None
    result = d.get("result") or {}
    d["version"] = result.get("version") if isinstance(result, dict) else None
    return d


@router.get("/jobs")
async def jobs_page(request: Request) -> Response:
    who = await guard(request, "job.read")
    if isinstance(who, Response):
        return who
    jobs = [_job(r) for r in _job_rows(request, who)]
    return await render(request, "jobs.html", {"jobs": jobs}, principal=who)


@router.get("/jobs/{job_id}/progress")
async def job_progress(request: Request, job_id: Id) -> Response:
    """One job's progress bar (an htmx fragment, polled every second until the job is done)."""
    who = await guard(request, "job.read")
    if isinstance(who, Response):
        return who
    rows = _job_rows(request, who, job_id)
    if not rows:
        return await error_page(request, 404, N_("No such job."), who)
    return await render(request, "_job.html", {"job": _job(rows[0])}, principal=who)


# ------------------------------------------------------------------------------ complaints
@router.get("/complaints")
async def complaints_page(
    request: Request, status: Annotated[str | None, Query(max_length=20)] = None
) -> Response:
    who = await guard(request, "complaint.read")
    if isinstance(who, Response):
        return who
    C = PT.complaints
    q = (
        sa.select(C)
        .where(_scoped(who, sa.func.coalesce(C.c.region_code, "")))
        .order_by(C.c.created_at.desc())
        .limit(200)
    )
    if status:
        q = q.where(C.c.status == status)
    with _read(request) as conn:
        rows = [dict(r._mapping) for r in conn.execute(q).all()]
    now = dt.datetime.now(dt.UTC)
    for r in rows:
        due = r["due_at"]
        if due is not None and due.tzinfo is None:
            due = due.replace(tzinfo=dt.UTC)
        r["overdue"] = bool(due and due < now and r["status"] not in ("answered", "closed"))
    return await render(
        request, "complaints.html", {"complaints": rows, "status": status or ""}, principal=who
    )


@router.get("/complaints/{receipt}")
async def complaint_page(request: Request, receipt: Id) -> Response:
    who = await guard(request, "complaint.read")
    if isinstance(who, Response):
        return who
    C, E, P = PT.complaints, PT.complaint_events, PT.complaint_photos
    with _read(request) as conn:
        row = conn.execute(sa.select(C).where(C.c.receipt == receipt)).first()
        if row is None or (who.role != "admin" and not in_scope(who.region, row.region_code or "")):
            return await error_page(request, 404, N_("No such complaint."), who)
        events = conn.execute(
            sa.select(E).where(E.c.complaint_id == row.id).order_by(E.c.at, E.c.id)
        ).all()
        photos = conn.execute(sa.select(P).where(P.c.complaint_id == row.id)).all()
    return await render(
        request,
        "complaint.html",
        {
            "c": dict(row._mapping),
            "events": [dict(e._mapping) for e in events],
            "photos": [dict(p._mapping) for p in photos],
            "may_answer": allowed(who.role, "complaint.handle"),
            "answer_url": ANSWER_URL.format(receipt=row.receipt),
        },
        principal=who,
    )


# ----------------------------------------------------------------------------------- audit
@router.get("/audit")
async def audit_page(
    request: Request,
    table: Annotated[str | None, Query(max_length=40)] = None,
    record: Annotated[str | None, Query(max_length=64)] = None,
    before: Annotated[int | None, Query(ge=1)] = None,
) -> Response:
    who = await guard(request, "audit.read")
    if isinstance(who, Response):
        return who
    page = 50
    q = (
        sa.select(
            AUDIT.c.id,
            AUDIT.c.table_name,
            AUDIT.c.record_id,
            AUDIT.c.action,
            AUDIT.c.before,
            AUDIT.c.after,
            AUDIT.c.mine_id,
            CHANGES.c.changed_at,
            CHANGES.c.user_name,
            CHANGES.c.command,
            CHANGES.c.request_id,
        )
        .select_from(AUDIT.join(CHANGES, CHANGES.c.id == AUDIT.c.change_id))
        .order_by(AUDIT.c.id.desc())
        .limit(page + 1)
    )
    if table:
        q = q.where(AUDIT.c.table_name == table)
    if record:
        q = q.where(AUDIT.c.record_id == record)
    if before:
        q = q.where(AUDIT.c.id < before)
    with _read(request) as conn:
        rows = [dict(r._mapping) for r in conn.execute(q).all()]
        tables = sorted(t for (t,) in conn.execute(sa.select(AUDIT.c.table_name).distinct()).all())
    more = len(rows) > page
    rows = rows[:page]
    for r in rows:
        r["fields"] = _diff(r.get("before"), r.get("after"))
    return await render(
        request,
        "audit.html",
        {
            "rows": rows,
            "tables": tables,
            "table": table or "",
            "record": record or "",
            "next_before": rows[-1]["id"] if more and rows else None,
        },
        principal=who,
    )


def _diff(before: Any, after: Any) -> list[tuple[str, Any, Any]]:
    """The fields an audit row changed: ``(field, before, after)``."""
    b = before if isinstance(before, dict) else {}
    a = after if isinstance(after, dict) else {}
    keys = sorted(set(b) | set(a))
    return [(k, b.get(k), a.get(k)) for k in keys if b.get(k) != a.get(k)]
