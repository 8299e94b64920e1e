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

import functools
from collections.abc import Awaitable, Callable
from typing import Annotated, Any
from urllib.parse import unquote

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from restora.service.permissions import allowed, page_action, region_prefix
from restora.service.problems import Problem
from restora.service.security import Principal, current_principal
from restora.service.web import i18n
from restora.service.web.i18n import N_
from restora.service.web.internal import api_get, api_json
from restora.service.web.public import EVENT_WORDS
from restora.service.web.render import render, signin_redirect, vendored
from restora.store.tables import mines as MINES

router = APIRouter(include_in_schema=False)
#: where the bureau records its answer to a complaint (the complaints API, POST JSON {"answer"})
ANSWER_URL = "/api/v1/complaints/{id}/answer"
#: the action of the pages every role and the public may open (start, sign-in, language, about)
EVERYONE = "disclosure.read"
#: the classes of the platform's ranking (refdata priority/classes) as the map's legend says them
PRIORITY_CLASSES = (
    ("high", N_("High: restore first (near term)")),
    ("medium", N_("Medium (medium term)")),
    ("low", N_("Low (long term)")),
)
Id = Annotated[str, Path(max_length=64)]


async def guard(request: Request, action: str) -> Principal | Response:
    """The principal when it may ``action``; else the sign-in redirect or a 403 page."""
    who = await current_principal(request)
    if not who.signed_in:
        return signin_redirect(request)
    if not allowed(who.role, action):
        return await error_page(request, 403, N_("Your role may not see this page."), who)
    return who


def html_errors(page: Callable[..., Awaitable[Response]]) -> Callable[..., Awaitable[Response]]:
    """A page whose :class:`Problem` (e.g. from the API it reads) is shown as an error page."""

    @functools.wraps(page)
    async def wrapper(request: Request, *args: Any, **kwargs: Any) -> Response:
        try:
            return await page(request, *args, **kwargs)
        except Problem as exc:
            return await error_page(request, exc.status, exc.detail)

    return wrapper


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
@router.get("/", dependencies=[Depends(page_action(EVERYONE))])
async def home(request: Request) -> Response:
    return RedirectResponse(home_of(await current_principal(request)), status_code=303)


@router.get("/signin", dependencies=[Depends(page_action(EVERYONE))])
async def signin(request: Request, next: Annotated[str | None, Query()] = None) -> Response:
    who = await current_principal(request)
    target = _local(next)
    if who.signed_in and target:
        return RedirectResponse(target, status_code=303)
    return await render(request, "signin.html", {"next": target or ""}, principal=who)


@router.get("/lang/{locale}", dependencies=[Depends(page_action(EVERYONE))])
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


@router.get("/about", dependencies=[Depends(page_action(EVERYONE))])
async def about(request: Request) -> Response:
    from restora import __version__

    return await render(request, "about.html", {"version": __version__, "packages": vendored()})


# ------------------------------------------------------------------------------ the register
@router.get("/map", dependencies=[Depends(page_action("register.read"))])
@html_errors
async def register_map(request: Request) -> Response:
    who = await guard(request, "register.read")
    if isinstance(who, Response):
        return who
    from restora.service.web.geo import ranked_mines, register_view

    view = await run_in_threadpool(register_view, request)
    ranked = await run_in_threadpool(ranked_mines, request)
    with _read(request) as conn:
        rows = conn.execute(
            sa.select(MINES.c.mine_id, MINES.c.region_code).where(
                MINES.c.deleted_at.is_(None), _scoped(who, MINES.c.region_code)
            )
        ).all()
    ids = {r.mine_id for r in rows}
    mines = sorted(
        (m for k, m in ranked.items() if k in ids),
        key=lambda m: (m.get("rank") or 10**9, m.get("mine_id")),
    )
    return await render(
        request,
        "map.html",
        {"mines": mines, "ranking_error": view.error, "classes": PRIORITY_CLASSES},
        principal=who,
    )


@router.get("/mines/{mine_id}", dependencies=[Depends(page_action("register.read"))])
@html_errors
async def mine_page(request: Request, mine_id: Id) -> Response:
    who = await guard(request, "register.read")
    if isinstance(who, Response):
        return who
    from restora.service.web.minepage import mine_context

    try:
        context = await run_in_threadpool(mine_context, request, who, mine_id)
    except Problem as exc:
        return await error_page(request, exc.status, exc.detail, who)
    context["class_words"] = dict(PRIORITY_CLASSES)
    context["monitoring_link"] = allowed(who.role, "monitoring.read")
    return await render(request, "mine.html", context, principal=who)


# -------------------------------------------------------------------------------- projects
@router.get("/projects", dependencies=[Depends(page_action("project.read"))])
@html_errors
async def projects_page(request: Request) -> Response:
    who = await guard(request, "project.read")
    if isinstance(who, Response):
        return who
    from restora.service.web.projectpage import project_list

    return await render(
        request, "projects.html", {"projects": await project_list(request, who)}, principal=who
    )


@router.get("/projects/{project_id}", dependencies=[Depends(page_action("project.read"))])
@html_errors
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
        context = await project_context(request, who, project_id, version)
    except Problem as exc:
        return await error_page(request, exc.status, exc.detail, who)
    return await render(request, "project.html", context, principal=who)


# ------------------------------------------------------------------------------------ jobs
def _job(d: dict[str, Any]) -> dict[str, Any]:
    """A job of the jobs API with what its box shows."""
    d = dict(d)
    d["percent"] = round(100.0 * float(d.get("progress") or 0.0))
    d["done"] = d.get("status") in ("succeeded", "failed", "cancelled")
    params = d.get("params") or {}
    result = d.get("result") or {}
    d["project_id"] = result.get("project_id") or params.get("project_id")
    d["version"] = result.get("version")
    d["files"] = (d.get("links") or {}).get("files") or {}
    return d


@router.get("/jobs", dependencies=[Depends(page_action("job.read"))])
@html_errors
async def jobs_page(request: Request) -> Response:
    who = await guard(request, "job.read")
    if isinstance(who, Response):
        return who
    body = await api_json(request, "/api/v1/jobs", {"limit": 100})
    jobs = [_job(j) for j in body.get("items", [])]
    return await render(request, "jobs.html", {"jobs": jobs}, principal=who)


@router.get("/jobs/{job_id}/progress", dependencies=[Depends(page_action("job.read"))])
async def job_progress(request: Request, job_id: Id) -> Response:
    """One job's box (an htmx fragment: it polls itself every second until the job is done)."""
    who = await guard(request, "job.read")
    if isinstance(who, Response):
        return who
    status, body = await api_get(request, f"/api/v1/jobs/{job_id}")
    if status != 200:
        return await error_page(request, 404, N_("No such job."), who)
    return await render(request, "_job.html", {"job": _job(body)}, principal=who)


# ------------------------------------------------------------------------------ complaints
@router.get("/complaints", dependencies=[Depends(page_action("complaint.read"))])
@html_errors
async def complaints_page(
    request: Request, status: Annotated[str | None, Query(max_length=20)] = None
) -> Response:
    who = await guard(request, "complaint.read")
    if isinstance(who, Response):
        return who
    body = await api_json(
        request, "/api/v1/complaints", {"limit": 200, "status": status, "sort": "-created_at"}
    )
    return await render(
        request,
        "complaints.html",
        {"complaints": body.get("items", []), "status": status or ""},
        principal=who,
    )


@router.get("/complaints/{complaint_id}", dependencies=[Depends(page_action("complaint.read"))])
async def complaint_page(
    request: Request, complaint_id: Annotated[int, Path(ge=1, le=2**31 - 1)]
) -> Response:
    who = await guard(request, "complaint.read")
    if isinstance(who, Response):
        return who
    status, c = await api_get(request, f"/api/v1/complaints/{complaint_id}")
    if status != 200:
        return await error_page(request, 404, N_("No such complaint."), who)
    return await render(
        request,
        "complaint.html",
        {
            "c": c,
            "may_answer": allowed(who.role, "complaint.handle"),
            "answer_url": ANSWER_URL.format(id=c["id"]),
            "event_words": EVENT_WORDS,
        },
        principal=who,
    )


# ----------------------------------------------------------------------------------- audit
AUDIT_PAGE = 25
#: the audit trail's actions (store.tables.AUDIT_ACTIONS) as the page says them
AUDIT_WORDS = {
    "insert": N_("added"),
    "update": N_("changed"),
    "delete": N_("deleted"),
    "restore": N_("restored"),
    "purge": N_("purged"),
}


@router.get("/audit", dependencies=[Depends(page_action("audit.read"))])
@html_errors
async def audit_page(
    request: Request,
    table: Annotated[str | None, Query(max_length=40)] = None,
    record: Annotated[str | None, Query(max_length=64)] = None,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Response:
    who = await guard(request, "audit.read")
    if isinstance(who, Response):
        return who
    body = await api_json(
        request,
        "/api/v1/audit",
        {
            "table": table or None,
            "record_id": record or None,
            "limit": AUDIT_PAGE,
            "offset": offset,
            "sort": "-at",
        },
    )
    rows = body.get("items", [])
    for r in rows:
        r["fields"] = _diff(r.get("before"), r.get("after"))
    total = int(body.get("total", 0))
    return await render(
        request,
        "audit.html",
        {
            "rows": rows,
            "total": total,
            "tables": AUDITED_TABLES,
            "table": table or "",
            "record": record or "",
            "next_offset": offset + AUDIT_PAGE if offset + AUDIT_PAGE < total else None,
            "prev_offset": max(offset - AUDIT_PAGE, 0) if offset > 0 else None,
            "action_words": AUDIT_WORDS,
        },
        principal=who,
    )


#: the tables the audit page offers to filter on
AUDITED_TABLES = (
    "mines",
    "sites",
    "samples",
    "hazards",
    "projects",
    "appraisals",
    "users",
    "organisations",
    "disclosures",
    "complaints",
    "listings",
    "products",
    "claims",
)


def _diff(before: Any, after: Any) -> list[tuple[str, Any, Any]]:
    """The fields an audit row changed: ``(field, before, after)``."""
    b = before if isinstance(before, dict) else {}
    a = after if isinstance(after, dict) else {}
    keys = sorted(set(b) | set(a))
    return [(k, b.get(k), a.get(k)) for k in keys if b.get(k) != a.get(k)]
