"""The evaluator's pages (issue 16; docs/web.md, docs/monitoring.md "The evaluator's page").

- ``/projects/{project_id}/milestones`` (``project.read``): a project's milestones — indicator,
  target, due date, the tranche it settles, the credits it earns, its status and sign-off —
  and the performance-bond tranches released so far;
- ``/monitoring/milestones/{milestone_id}`` (``project.read``): the review page of one
  milestone: the evidence exactly as :func:`restora.store.verification.evidence` gives it (soil
  samples, FVC per zone, displacement series of the hazard points, plant-survival plots; a chart
  of them drawn by ``static/js/verification.js`` with the vendored ECharts; the campaign files
  with their SHA-256), the value against the target, the tranche tier, fraction and amount and
  the credits a sign-off would settle (``?value=`` previews an entered value with the pure
  functions of :mod:`restora.monitoring.milestones`, writing nothing), the sign-offs made; and
  for evaluators (``verification.write``) the sign-off form;
- ``POST /monitoring/milestones/{milestone_id}/sign-off`` (``verification.write``): the form
  (multipart, the session's CSRF token in its ``csrf_token`` field as every plain form of the
  site): the report file is hashed here (SHA-256; or the hash is typed in) and the decision is
  posted to the API (``POST /api/v1/monitoring/milestones/{id}/sign-off``, which calls
  :func:`restora.store.verification.sign_off` in one transaction) with the caller's
  credentials; a success goes back to the review page (its sign-off, ledger event, tranche
  released and serials issued); a refusal is shown on the page in the caller's language.

Everything is read from the API in process (:mod:`restora.service.api.verification`), so the
pages show exactly what the API gives the caller (the projects' record rule included).
"""

from __future__ import annotations

import hashlib
import math
import re
from typing import Annotated, Any
from urllib.parse import quote

import httpx
from fastapi import APIRouter, Depends, File, Form, Path, Query, Request, UploadFile
from fastapi.responses import RedirectResponse, Response

from restora.service.permissions import allowed, page_action
from restora.service.web.i18n import N_
from restora.service.web.internal import api_get, api_json
from restora.service.web.pages import error_page, guard, html_errors
from restora.service.web.render import csrf_token, locale_of, render

router = APIRouter(include_in_schema=False)
API = "/api/v1/monitoring"
Id = Annotated[str, Path(max_length=64)]
#: milestone ids are ``<project>/<name>``: the routes take them as a path
MilestoneId = Annotated[str, Path(max_length=200)]
#: bytes read at a time when hashing a report file
CHUNK = 1 << 20

INDICATORS = {
    "soil_share_below_screening": N_("Share of soil samples below the screening values"),
    "vegetation_cover": N_("Vegetation cover (area-weighted FVC)"),
    "hazards_stabilised": N_("Share of hazard points stabilised"),
    "plant_survival": N_("Plant survival rate"),
}
COMPARISONS = {"ge": "≥", "gt": ">", "le": "≤", "lt": "<"}
STATUS = {
    "open": N_("awaiting sign-off"),
    "accepted": N_("signed off: accepted"),
    "rejected": N_("signed off: rejected"),
}
DECISIONS = {"accepted": N_("decision: accepted"), "rejected": N_("decision: rejected")}
SOURCES = {"register": N_("register"), "campaign": N_("field campaign")}
#: a refusal of the API as the page says it: (status, field) → message; (status, None) for all
REFUSALS: dict[tuple[int, str | None], str] = {
    (409, None): N_(
        "This milestone is signed off already, or its tranche was released: nothing was written."
    ),
    (422, "evidence"): N_("The milestone has no evidence yet: there is nothing to sign off."),
    (422, "value"): N_(
        "The evidence gives no value: enter the value you measured, with a note saying how."
    ),
    (422, "note"): N_("An entered value needs a note saying how it was measured."),
    (422, "report_sha256"): N_(
        "Upload the report file or type its SHA-256 (64 hexadecimal digits)."
    ),
    (422, "decision"): N_("Choose whether the milestone is accepted or rejected."),
    (422, "evaluator"): N_("Only an active evaluator account signs off."),
    (403, None): N_("Your role may not sign off milestones."),
    (404, None): N_("No such milestone in your region."),
}


# ------------------------------------------------------------------------------ the reading
def _refusal(status: int, body: Any) -> tuple[str, str | None]:
    """The page's words for the API's refusal, and the API's own detail (English) beside."""
    fields = [
        str(e.get("field") or "").split(".")[-1]
        for e in (body.get("errors") or [] if isinstance(body, dict) else [])
        if isinstance(e, dict)
    ]
    for f in fields:
        if (status, f) in REFUSALS:
            return REFUSALS[(status, f)], _detail(body)
    if (status, None) in REFUSALS:
        return REFUSALS[(status, None)], _detail(body)
    return N_("The sign-off was refused."), _detail(body)


def _detail(body: Any) -> str | None:
    return str(body.get("detail")) if isinstance(body, dict) and body.get("detail") else None


async def _api_post(request: Request, path: str, body: dict[str, Any]) -> tuple[int, Any]:
    """``(status, JSON)`` of ``POST path`` on this app with the caller's credentials and the
    session's CSRF token (as :func:`restora.service.web.internal.api_get` does for GET)."""
    headers = {
        k: v
        for k in ("cookie", "authorization", "accept-language")
        if (v := request.headers.get(k))
    }
    token = csrf_token(request)
    if token:
        headers["x-csrf-token"] = token
    rid = getattr(request.state, "request_id", None)
    if rid:
        headers["x-request-id"] = rid
    transport = httpx.ASGITransport(app=request.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://restora.internal") as c:
        r = await c.post(path, json=body, headers=headers)
    try:
        return r.status_code, r.json()
    except ValueError:
        return r.status_code, None


def percent(value: Any) -> float | None:
    """A share [1] as percent for the charts (None stays None)."""
    if value is None:
        return None
    x = float(value)
    return None if math.isnan(x) else round(100.0 * x, 2)


def charts(ev: dict[str, Any]) -> dict[str, Any] | None:
    """The data of the review page's chart (``static/js/verification.js`` draws it).

    ``kind`` ``series`` (hazards: each point's displacement on a time axis [mm]) or ``bars``
    (soil: each sample's largest single-factor index, the screening value at 1; vegetation:
    each zone's mean FVC [%]; survival: each plot's rate [%]; the target as a line).
    """
    items = ev.get("items") or []
    ind = ev.get("indicator")
    if not items:
        return None
    if ind == "hazards_stabilised":
        lines = [
            {"name": f"{i['sensor_id']} · {i['indicator']}", "points": i.get("series") or []}
            for i in items
            if i.get("series")
        ]
        return {"kind": "series", "lines": lines, "unit": "mm"} if lines else None
    if ind == "soil_share_below_screening":
        return {
            "kind": "bars",
            "names": [i["sample_id"] for i in items],
            "values": [i.get("max_index") for i in items],
            "line": 1.0,
            "unit": "",
            "good": "below",
        }
    if ind == "vegetation_cover":
        names = [f"{i.get('mine_id', '')} {i.get('name') or i.get('zone_id')}" for i in items]
        values = [percent(i.get("fvc_mean")) for i in items]
    else:
        names = [str(i.get("sensor_id")) for i in items]
        values = [percent(i.get("value")) for i in items]
    return {
        "kind": "bars",
        "names": names,
        "values": values,
        "line": percent(ev.get("target")),
        "unit": "%",
        "good": "above" if ev.get("comparison") in ("ge", "gt") else "below",
    }


def preview(spec: dict[str, Any], m: dict[str, Any], value: float) -> dict[str, Any]:
    """What a sign-off at an entered ``value`` would settle, computed with the pure functions
    the sign-off uses (nothing is written): the tranche tier and amount, the credits."""
    from restora.errors import InputError
    from restora.monitoring import milestones as ms
    from restora.store.verification import bond_tranche

    out: dict[str, Any] = {"value": value, "tranche": None, "credits": None, "error": None}
    out["meets"] = ms.meets(value, m["comparison"], float(m["target"]))
    if m.get("tranche"):
        try:
            tranche, principal, instrument = bond_tranche(spec, m["tranche"])
        except InputError as exc:
            out["error"] = str(exc)
        else:
            r = ms.tranche_release(tranche, principal, value)
            out["tranche"] = {
                "instrument": instrument,
                "tranche": r.tranche,
                "tier": r.tier,
                "principal_fraction": r.principal_fraction,
                "tranche_principal": r.tranche_principal,
                "amount": r.amount,
                "defer": r.defer,
            }
    if m.get("credits"):
        out["credits"] = {**m["credits"], "issue_count": ms.credit_count(m["credits"], value)}
    return out


async def _public_records(request: Request, project_id: str, kind: str) -> list[dict[str, Any]]:
    """The public registry records of one kind of a project (newest first)."""
    status, rows = await api_get(
        request,
        "/api/v1/registry/public/events",
        {"project_id": project_id, "kind": kind, "limit": 500},
    )
    return rows if status == 200 and isinstance(rows, list) else []


async def _issue_records(request: Request, project_id: str) -> dict[int, dict[str, Any]]:
    """The public issuance records of a project, by first serial (to link issued blocks)."""
    rows = await _public_records(request, project_id, "issue")
    return {int(r["start"]): r for r in rows if r.get("start") is not None}


async def _signoffs(request: Request, milestone_id: str) -> list[dict[str, Any]]:
    status, rows = await api_get(request, f"{API}/milestones/{quote(milestone_id)}/sign-offs")
    return rows if status == 200 and isinstance(rows, list) else []


async def _event_links(request: Request, signoffs: list[dict[str, Any]], project_id: str) -> None:
    """The public records a sign-off links to: its ``sign_off`` event (every sign-off is a
    public record: the template links ``event_id``), the verified outcome it recorded
    (``verification_record``) and its issued blocks' (``issued_records``)."""
    issues: dict[int, dict[str, Any]] | None = None
    outcomes: dict[str, dict[str, Any]] | None = None
    for s in signoffs:
        s["verification_record"] = None
        if s.get("verification_id"):
            if outcomes is None:
                rows = await _public_records(request, project_id, "verify_outcome")
                outcomes = {str(r["verification"]): r for r in rows if r.get("verification")}
            s["verification_record"] = outcomes.get(str(s["verification_id"]))
        s["issued_records"] = []
        issued = s.get("issued") or {}
        if issued.get("blocks"):
            if issues is None:
                issues = await _issue_records(request, project_id)
            for b in issued["blocks"]:
                rec = issues.get(int(b[0]))
                s["issued_records"].append(
                    {"start": b[0], "end": b[1], "count": int(b[1]) - int(b[0]) + 1, "record": rec}
                )


def words() -> dict[str, Any]:
    return {
        "indicator": INDICATORS,
        "status": STATUS,
        "decision": DECISIONS,
        "source": SOURCES,
        "comparison": COMPARISONS,
    }


# ------------------------------------------------------------------------ milestones of a project
@router.get(
    "/projects/{project_id}/milestones", dependencies=[Depends(page_action("project.read"))]
)
@html_errors
async def milestones_page(request: Request, project_id: Id) -> Response:
    who = await guard(request, "project.read")
    if isinstance(who, Response):
        return who
    status, project = await api_get(request, f"/api/v1/projects/{quote(project_id)}")
    if status != 200:
        return await error_page(request, 404, N_("No such project in your region."), who)
    rows = await api_json(request, f"{API}/milestones", {"project_id": project_id})
    for m in rows:
        done = await _signoffs(request, m["id"])
        m["signoff"] = done[-1] if done else None
    releases = await api_json(request, f"{API}/projects/{quote(project_id)}/tranches")
    return await render(
        request,
        "verification_milestones.html",
        {
            "project": project,
            "milestones": rows,
            "releases": releases,
            "released_total": sum(float(r["amount_cny"]) for r in releases),
            "may_create": allowed(who.role, "project.write"),
            "words": words(),
        },
        principal=who,
    )


# ------------------------------------------------------------------------------ the review page
async def _review(
    request: Request,
    who: Any,
    milestone_id: str,
    *,
    value: float | None = None,
    form: dict[str, Any] | None = None,
    refusal: tuple[str, str | None] | None = None,
    status: int = 200,
) -> Response:
    code, m = await api_get(request, f"{API}/milestones/{quote(milestone_id)}")
    if code != 200 or not isinstance(m, dict):
        return await error_page(request, 404, N_("No such milestone in your region."), who)
    project = await api_json(request, f"/api/v1/projects/{quote(m['project_id'])}")
    code, ev = await api_get(request, f"{API}/milestones/{quote(milestone_id)}/evidence")
    evidence_error = None
    if code != 200 or not isinstance(ev, dict):
        evidence_error = _detail(ev) or str(code)
        ev = {"milestone": m, "items": [], "campaigns": [], "notes": [], "mines": []}
        ev |= {"value": None, "meets": None, "tranche": None, "credits": None}
    done = await _signoffs(request, milestone_id)
    await _event_links(request, done, m["project_id"])
    code, releases = await api_get(request, f"{API}/projects/{quote(m['project_id'])}/tranches")
    by_signoff = {r["signoff_id"]: r for r in releases} if code == 200 else {}
    for s in done:
        s["release"] = s.get("release") or by_signoff.get(s["id"])
    signed = request.query_params.get("signed")
    return await render(
        request,
        "verification_review.html",
        {
            "m": m,
            "project": project,
            "ev": ev,
            "evidence_error": evidence_error,
            "chart": charts(ev),
            "preview": preview(project.get("spec") or {}, m, value) if value is not None else None,
            "signoffs": done,
            "just_signed": int(signed) if signed and signed.isdigit() else None,
            "may_sign": allowed(who.role, "verification.write") and m["status"] != "accepted",
            "evaluator": allowed(who.role, "verification.write"),
            "form": form
            or dict.fromkeys(("value", "note", "report_sha256"), "") | {"decision": "accepted"},
            "refusal": refusal,
            "words": words(),
            "zh": locale_of(request) == "zh_CN",
        },
        status=status,
        principal=who,
    )


@router.get(
    "/monitoring/milestones/{milestone_id:path}",
    dependencies=[Depends(page_action("project.read"))],
)
@html_errors
async def review_page(
    request: Request,
    milestone_id: MilestoneId,
    value: Annotated[float | None, Query(description="a value to preview")] = None,
) -> Response:
    who = await guard(request, "project.read")
    if isinstance(who, Response):
        return who
    if value is not None and not math.isfinite(value):
        value = None
    return await _review(request, who, milestone_id, value=value)


async def _sha256(upload: UploadFile) -> str | None:
    """SHA-256 of an uploaded file (None when no file was chosen)."""
    if upload is None or (not upload.filename and not upload.size):
        return None
    h = hashlib.sha256()
    size = 0
    while chunk := await upload.read(CHUNK):
        h.update(chunk)
        size += len(chunk)
    return h.hexdigest() if size or upload.filename else None


@router.post(
    "/monitoring/milestones/{milestone_id:path}/sign-off",
    dependencies=[Depends(page_action("verification.write"))],
)
@html_errors
async def sign_off(
    request: Request,
    milestone_id: MilestoneId,
    decision: Annotated[str, Form(max_length=20)] = "",
    value: Annotated[str, Form(max_length=40)] = "",
    note: Annotated[str, Form(max_length=2000)] = "",
    report_sha256: Annotated[str, Form(max_length=100)] = "",
    report: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """The sign-off form: hash the report, post the decision to the API, show what happened."""
    who = await guard(request, "verification.write")
    if isinstance(who, Response):
        return who
    form = {"decision": decision, "value": value, "note": note, "report_sha256": report_sha256}
    digest = await _sha256(report) if report is not None else None
    typed = report_sha256.strip().lower()
    if digest is None and not re.fullmatch(r"[0-9a-f]{64}", typed):
        msg = REFUSALS[(422, "report_sha256")]
        return await _review(request, who, milestone_id, form=form, refusal=(msg, None), status=422)
    body: dict[str, Any] = {"decision": decision, "report_sha256": digest or typed}
    if value.strip():
        try:
            entered = float(value.replace(",", "").strip())
        except ValueError:
            entered = math.nan
        if not math.isfinite(entered):
            msg = N_("The entered value is not a number.")
            return await _review(
                request, who, milestone_id, form=form, refusal=(msg, None), status=422
            )
        body["value"] = entered
    if note.strip():
        body["note"] = note.strip()
    status, answer = await _api_post(
        request, f"{API}/milestones/{quote(milestone_id)}/sign-off", body
    )
    if status != 200:
        return await _review(
            request, who, milestone_id, form=form, refusal=_refusal(status, answer), status=status
        )
    target = f"/monitoring/milestones/{quote(milestone_id)}?signed={int(answer['id'])}#signoffs"
    return RedirectResponse(target, status_code=303)
