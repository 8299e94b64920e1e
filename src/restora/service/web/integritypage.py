"""The integrity archive's pages (docs/monitoring.md "Integrity records", docs/web.md).

Signed in (``integrity.read``):

- ``/integrity``: the latest grade and score of each company one may see (a company: its own);
- ``/integrity/orgs/{org_id}``: a company's record — grade, score, the breakdown by rule code,
  the measures the grade triggers, every obligation with its outcome, the history of scorings.

Public (``disclosure.read``): ``/public/integrity``, the list of grades, lists and disclosed
measures (the 2013 environmental-credit measures disclose the grades; scores and obligations
are not public).

Everything is read from the integrity API in process with the caller's credentials.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response

from restora.service.permissions import page_action
from restora.service.web.i18n import N_
from restora.service.web.internal import api_get, api_json
from restora.service.web.pages import error_page, guard, html_errors
from restora.service.web.render import render

router = APIRouter(include_in_schema=False)
API = "/api/v1/integrity"
OrgId = Annotated[int, Path(ge=1, le=2**31 - 1)]

OUTCOMES = {
    "met": N_("met on time"),
    "late": N_("late"),
    "missed": N_("missed"),
    "pending": N_("not yet due"),
    "listed": N_("listed"),
    "lifted": N_("lifted"),
}
KINDS = {
    "milestone": N_("restoration milestone"),
    "fund_accrual": N_("restoration fund accrual"),
    "report": N_("periodic report"),
    "monitoring_gap": N_("monitoring gap"),
    "rectification": N_("rectification"),
    "listing": N_("listing"),
}
LISTS = {
    "serious": N_("list of serious dishonesty"),
    "abnormal": N_("abnormal list"),
}


def words() -> dict[str, dict[str, str]]:
    return {"outcome": OUTCOMES, "kind": KINDS, "list": LISTS}


@router.get("/integrity", dependencies=[Depends(page_action("integrity.read"))])
@html_errors
async def integrity_page(request: Request) -> Response:
    who = await guard(request, "integrity.read")
    if isinstance(who, Response):
        return who
    scores = await api_json(request, f"{API}/scores")
    return await render(
        request, "integrity.html", {"scores": scores, "words": words()}, principal=who
    )


@router.get("/integrity/orgs/{org_id}", dependencies=[Depends(page_action("integrity.read"))])
@html_errors
async def record_page(request: Request, org_id: OrgId) -> Response:
    who = await guard(request, "integrity.read")
    if isinstance(who, Response):
        return who
    status, rec = await api_get(request, f"{API}/orgs/{org_id}")
    if status != 200:
        return await error_page(request, 404, N_("No such company in your scope."), who)
    return await render(
        request, "integrity_record.html", {"rec": rec, "words": words()}, principal=who
    )


@router.get("/public/integrity", dependencies=[Depends(page_action("disclosure.read"))])
async def public_integrity(request: Request) -> Response:
    _status, grades = await api_get(request, f"{API}/grades")
    return await render(
        request, "public/integrity.html", {"grades": grades or [], "words": words()}
    )
