"""The public's pages (no account needed): what is disclosed of mines and projects, filing a
report or complaint with photos, and following it by its receipt number.

Every figure comes from the public API (``/api/v1/public/…``, :mod:`restora.service.api.public`)
read in process (:func:`restora.service.web.internal.api_get`): only what a bureau disclosed,
in the fields the no-leak test checks. The complaint form posts to
``POST /api/v1/public/complaints`` (``static/js/forms.js``) with a signed ``form`` challenge and
the honeypot field of :mod:`restora.service.antispam`, and comes back to the receipt's page.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response

from restora.service.permissions import page_action
from restora.service.web.i18n import LABEL_LANG, N_
from restora.service.web.internal import api_get
from restora.service.web.render import locale_of, render

router = APIRouter(prefix="/public", include_in_schema=False)
Id = Annotated[str, Path(max_length=64)]
API = "/api/v1/public"
FILE_URL = f"{API}/complaints"

#: the fields of a disclosed record, in the order the page shows them, with their names
FIELDS = (
    ("region_code", N_("Region code")),
    ("mineral", N_("Mineral")),
    ("status", N_("Status")),
    ("closure_year", N_("Closure year")),
    ("start_year", N_("Start year")),
    ("responsible_party", N_("Responsible party")),
    ("mines", N_("Mines")),
    ("sites", N_("Sites")),
    ("area_hm2", N_("Damaged area [hm²]")),
    ("area_mu", N_("Damaged area [mu]")),
    ("lon", N_("Longitude [°E]")),
    ("lat", N_("Latitude [°N]")),
    ("plan_summary", N_("Restoration plan")),
    ("progress", N_("Progress")),
    ("money_raised_cny", N_("Money raised [CNY]")),
    ("money_spent_cny", N_("Money spent [CNY]")),
    ("money_basis", N_("Basis of the money figures")),
    ("monitoring", N_("Latest monitoring")),
    ("disclosed_at", N_("Disclosed since")),
    ("updated_at", N_("Last updated")),
)
#: a complaint's states and history as the public reads them
STATUS_WORDS = {
    "received": N_("Received"),
    "assigned": N_("Being handled"),
    "answered": N_("Answered"),
    "closed": N_("Closed"),
}
EVENT_WORDS = {
    "received": N_("Received"),
    "filed": N_("Received"),
    "assigned": N_("Assigned to a bureau"),
    "answered": N_("Answered"),
    "extended": N_("Deadline extended"),
    "closed": N_("Closed"),
    "reopened": N_("Reopened"),
    "note": N_("Note"),
}


def _lang(request: Request) -> str:
    return LABEL_LANG[locale_of(request)]


def _shown(record: dict[str, Any]) -> list[tuple[str, str, Any]]:
    """``(field, name, value)`` of the record's disclosed (non-null) fields."""
    return [(k, name, record[k]) for k, name in FIELDS if record.get(k) not in (None, [], "")]


@router.get("", dependencies=[Depends(page_action("disclosure.read"))])
async def public_home(request: Request) -> Response:
    lang = _lang(request)
    _s, mines = await api_get(request, f"{API}/mines", {"limit": 500, "lang": lang})
    _s, projects = await api_get(request, f"{API}/projects", {"limit": 500, "lang": lang})
    return await render(
        request,
        "public/index.html",
        {
            "mines": (mines or {}).get("items", []),
            "projects": (projects or {}).get("items", []),
        },
    )


@router.get("/mines/{mine_id}", dependencies=[Depends(page_action("disclosure.read"))])
async def public_mine(request: Request, mine_id: Id) -> Response:
    status, mine = await api_get(request, f"{API}/mines/{mine_id}", {"lang": _lang(request)})
    if status != 200:
        return await _not_public(request)
    return await render(
        request, "public/record.html", {"record": mine, "kind": "mine", "rows": _shown(mine)}
    )


@router.get("/projects/{project_id}", dependencies=[Depends(page_action("disclosure.read"))])
async def public_project(request: Request, project_id: Id) -> Response:
    status, project = await api_get(
        request, f"{API}/projects/{project_id}", {"lang": _lang(request)}
    )
    if status != 200:
        return await _not_public(request)
    return await render(
        request,
        "public/record.html",
        {"record": project, "kind": "project", "rows": _shown(project)},
    )


@router.get("/report", dependencies=[Depends(page_action("complaint.file"))])
async def report_form(
    request: Request,
    mine: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    from restora.service import antispam

    _s, mines = await api_get(request, f"{API}/mines", {"limit": 500, "lang": _lang(request)})
    return await render(
        request,
        "public/report.html",
        {
            "mines": (mines or {}).get("items", []),
            "selected": mine or "",
            "file_url": FILE_URL,
            "challenge": antispam.issue_form_challenge(request.app.state.settings.secret_key),
            "honeypot": antispam.HONEYPOT,
        },
    )


@router.get("/track", dependencies=[Depends(page_action("complaint.track"))])
async def track(
    request: Request, receipt: Annotated[str | None, Query(max_length=64)] = None
) -> Response:
    complaint = None
    if receipt and receipt.strip():
        status, body = await api_get(request, f"{API}/complaints/{receipt.strip()}")
        complaint = body if status == 200 else None
    return await render(
        request,
        "public/track.html",
        {
            "receipt": (receipt or "").strip(),
            "complaint": complaint,
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
