"""The policy-evaluation dashboard and the coordination record's pages (docs/web.md,
docs/evaluation.md "Dashboard" and "The coordination record").

Signed in:

- ``/evaluation`` (``evaluation.read``: the bureaus, finance, evaluators): the indicators of the
  projects in a selection (region, start years, mineral, mode), investment by source per
  region, the disparity of social-capital investment and restored area across regions (Gini,
  Theil and its within/between parts) with a Lorenz curve (ECharts), a map of social-capital
  investment by county (MapLibre, offline), the mode mix and the management cycle; the tables
  as an XLSX workbook;
- ``/coordination`` (``coordination.read``): search the joint meetings and the consultations
  and hearings; the follow-ups overdue today; ``/coordination/meetings/{id}``,
  ``/coordination/consultations/{id}``: one record.

Public (``disclosure.read``): ``/public/coordination`` — the consultations and hearings (and
meetings marked public) as disclosed, with no person's name; one record each at
``/public/coordination/consultations/{id}`` and ``/public/coordination/meetings/{id}``.

Everything is read from the evaluation and coordination APIs in process, with the caller's
credentials (so the region scope applies as it does to the API).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response

from restora.service.permissions import page_action
from restora.service.security import Principal
from restora.service.web.i18n import N_
from restora.service.web.internal import api_get, api_json
from restora.service.web.pages import error_page, guard, html_errors
from restora.service.web.render import render

router = APIRouter(include_in_schema=False)
EVAL_API = "/api/v1/evaluation"
COORD_API = "/api/v1/coordination"
RecordId = Annotated[int, Path(ge=1, le=2**31 - 1)]

#: The indicators shown as headline cards (codes of restora.evaluation.indicators).
HEADLINE = (
    "EVAL-INV-TOTAL",
    "EVAL-INV-SOCIAL",
    "EVAL-INV-SOCIAL-SHARE",
    "EVAL-LEVERAGE",
    "EVAL-AREA-RESTORED-SHARE",
    "EVAL-MILESTONES-ON-TIME",
)
MODES = {
    "safety_baseline": N_("Safety baseline"),
    "resource_utilization": N_("Resource utilization"),
    "property_rights": N_("Property rights"),
    "industry_integration": N_("Industry integration (restoration +)"),
}
LEVELS = {"county": N_("County"), "city": N_("City"), "province": N_("Province")}
MEASURES = {
    "social_capital_cny": N_("Social-capital investment"),
    "restored_area_hm2": N_("Restored area"),
}
STAGES = {
    "appraised": N_("Appraised"),
    "listed": N_("Listed in the project library"),
    "financed": N_("Financed"),
    "first_signoff": N_("First milestone signed off"),
    "completed": N_("Completed"),
}
STATUSES = {"open": N_("open"), "done": N_("done"), "overdue": N_("overdue")}
KINDS = {"consultation": N_("Consultation"), "hearing": N_("Hearing")}
GROUPS = {
    "villagers": N_("Villagers"),
    "village_committee": N_("Village committee"),
    "company": N_("Company"),
    "bureau": N_("Bureau"),
    "other": N_("Other"),
}
FILTERS = ("region", "from", "to", "mineral", "mode", "by")


def words() -> dict[str, dict[str, str]]:
    return {
        "mode": MODES,
        "level": LEVELS,
        "measure": MEASURES,
        "stage": STAGES,
        "status": STATUSES,
        "kind": KINDS,
        "group": GROUPS,
    }


def _params(request: Request, names: tuple[str, ...]) -> dict[str, str]:
    return {k: v for k in names if (v := request.query_params.get(k, "").strip())}


def _county_points(request: Request, principal: Principal, regions: list[dict[str, Any]]) -> Any:
    """GeoJSON points of the counties of the table: the centroid of their mines' sites, with
    their social-capital investment [CNY] and its share of their investment."""
    import shapely
    import sqlalchemy as sa

    from restora.service.web.geo import sites_features
    from restora.store.tables import mines as MINES

    wanted = {r["region_code"]: r for r in regions if r.get("region_code")}
    if not wanted:
        return {"type": "FeatureCollection", "features": []}
    engine = request.app.state.store.engine
    with engine.connect() as conn:
        county_of = dict(conn.execute(sa.select(MINES.c.mine_id, MINES.c.region_code)).all())
    geoms: dict[str, list[Any]] = defaultdict(list)
    for f in sites_features(request, principal):
        county = county_of.get(f["properties"]["mine_id"])
        if county is not None and county in wanted:
            geoms[str(county)].append(shapely.geometry.shape(f["geometry"]))
    features = []
    for county, shapes in sorted(geoms.items()):
        row = wanted[county]
        features.append(
            {
                "type": "Feature",
                "id": county,
                "geometry": shapely.geometry.mapping(shapely.union_all(shapes).centroid),
                "properties": {
                    "region_code": county,
                    "social_capital_cny": row.get("social_capital_cny") or 0.0,
                    "social_capital_share": row.get("social_capital_share"),
                    "projects": row.get("projects"),
                },
            }
        )
    return {"type": "FeatureCollection", "features": features}


# ------------------------------------------------------------------------------ dashboard
@router.get("/evaluation", dependencies=[Depends(page_action("evaluation.read"))])
@html_errors
async def dashboard(request: Request) -> Response:
    who = await guard(request, "evaluation.read")
    if isinstance(who, Response):
        return who
    params = _params(request, FILTERS)
    if params.get("by") not in LEVELS:
        params["by"] = "county"
    status, result = await api_get(request, f"{EVAL_API}/indicators", params)
    if status != 200:
        detail = result.get("detail") if isinstance(result, dict) else None
        return await error_page(request, status, str(detail or N_("No indicators.")), who)
    by_code = {i["code"]: i for i in result["indicators"]}
    headline = [by_code[c] for c in HEADLINE if c in by_code]
    disparity = result.get("disparity") or {}
    charts = {
        "lorenz": {
            m: d.get("lorenz")
            for m, d in disparity.items()
            if d.get("available") and d.get("lorenz")
        },
        "modes": [
            {"mode": m["mode"], "projects": m["projects"]} for m in result.get("modes") or []
        ],
    }
    county_points = (
        _county_points(request, who, result.get("regions") or [])
        if params["by"] == "county"
        else {"type": "FeatureCollection", "features": []}
    )
    ctx = {
        "result": result,
        "headline": headline,
        "disparity": disparity,
        "charts": charts,
        "county_points": county_points,
        "filters": params,
        "xlsx": f"{EVAL_API}/indicators.xlsx?{urlencode(params)}",
        "words": words(),
        "can_coordinate": who.role in ("admin", "natural_resources", "ecology_environment",
                                       "finance", "evaluator"),
    }  # fmt: skip
    return await render(request, "evaluation.html", ctx, principal=who)


# ------------------------------------------------------------------------------ coordination
@router.get("/coordination", dependencies=[Depends(page_action("coordination.read"))])
@html_errors
async def coordination_page(request: Request) -> Response:
    who = await guard(request, "coordination.read")
    if isinstance(who, Response):
        return who
    params = _params(request, ("q", "from", "to", "region", "project", "organisation"))
    meetings = await api_json(request, f"{COORD_API}/meetings", params)
    consult_params = {k: v for k, v in params.items()}
    consultations = await api_json(request, f"{COORD_API}/consultations", consult_params)
    overdue = await api_json(request, f"{COORD_API}/follow-ups", {"status": "overdue"})
    ctx = {
        "meetings": meetings,
        "consultations": consultations,
        "overdue": overdue,
        "filters": params,
        "words": words(),
    }
    return await render(request, "coordination.html", ctx, principal=who)


@router.get(
    "/coordination/meetings/{meeting_id}",
    dependencies=[Depends(page_action("coordination.read"))],
)
@html_errors
async def meeting_page(request: Request, meeting_id: RecordId) -> Response:
    who = await guard(request, "coordination.read")
    if isinstance(who, Response):
        return who
    status, meeting = await api_get(request, f"{COORD_API}/meetings/{meeting_id}")
    if status != 200:
        return await error_page(request, 404, N_("No such meeting in your scope."), who)
    ctx = {"m": meeting, "words": words(), "public_view": False}
    return await render(request, "coordination_meeting.html", ctx, principal=who)


@router.get(
    "/coordination/consultations/{consultation_id}",
    dependencies=[Depends(page_action("coordination.read"))],
)
@html_errors
async def consultation_page(request: Request, consultation_id: RecordId) -> Response:
    who = await guard(request, "coordination.read")
    if isinstance(who, Response):
        return who
    status, record = await api_get(request, f"{COORD_API}/consultations/{consultation_id}")
    if status != 200:
        return await error_page(request, 404, N_("No such consultation in your scope."), who)
    ctx = {"c": record, "words": words(), "public_view": False}
    return await render(request, "coordination_consultation.html", ctx, principal=who)


# ------------------------------------------------------------------------------ public
@router.get("/public/coordination", dependencies=[Depends(page_action("disclosure.read"))])
async def public_coordination(request: Request) -> Response:
    params = _params(request, ("q", "region", "project"))
    _s, consultations = await api_get(request, f"{COORD_API}/public/consultations", params)
    meeting_params = {k: v for k, v in params.items() if k != "project"}
    _s, meetings = await api_get(request, f"{COORD_API}/public/meetings", meeting_params)
    ctx = {
        "consultations": consultations if isinstance(consultations, list) else [],
        "meetings": meetings if isinstance(meetings, list) else [],
        "filters": params,
        "words": words(),
    }
    return await render(request, "public/coordination.html", ctx)


@router.get(
    "/public/coordination/consultations/{consultation_id}",
    dependencies=[Depends(page_action("disclosure.read"))],
)
async def public_consultation_page(request: Request, consultation_id: RecordId) -> Response:
    status, record = await api_get(request, f"{COORD_API}/public/consultations/{consultation_id}")
    if status != 200:
        return await error_page(request, 404, N_("No such public consultation."))
    ctx = {"c": record, "words": words(), "public_view": True}
    return await render(request, "public/coordination_consultation.html", ctx)


@router.get(
    "/public/coordination/meetings/{meeting_id}",
    dependencies=[Depends(page_action("disclosure.read"))],
)
async def public_meeting_page(request: Request, meeting_id: RecordId) -> Response:
    status, meeting = await api_get(request, f"{COORD_API}/public/meetings/{meeting_id}")
    if status != 200:
        return await error_page(request, 404, N_("No such public meeting."))
    ctx = {"m": meeting, "words": words(), "public_view": True}
    return await render(request, "public/coordination_meeting.html", ctx)
