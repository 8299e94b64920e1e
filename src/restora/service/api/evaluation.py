"""Policy indicators over HTTP (issue 17; docs/evaluation.md, docs/api.md).

``/evaluation/indicators``: the indicators of the projects in a selection (region prefix,
start years, mineral, mode), the tables behind them, the figures by region and the disparity of
social-capital investment and restored area across regions; ``/evaluation/disparity``: the
disparity of one chosen measure; ``/evaluation/indicators.xlsx``: the same tables as a
workbook; ``/evaluation/catalogue``: the indicators' codes, units and definitions.

Who: ``evaluation.read`` (the natural-resources and ecology bureaus, finance, the evaluators).
A caller with a region scope sees its region only: without ``region`` the selection is its
scope; a ``region`` outside its scope is refused (403).
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from restora.evaluation import indicators as ind
from restora.service.db import EngineDep
from restora.service.permissions import in_scope, region_prefix
from restora.service.problems import Problem
from restora.service.security import Principal, authorize
from restora.store import evaluation as ev

router = APIRouter(prefix="/evaluation", tags=["evaluation"])
CanRead = Annotated[Principal, Depends(authorize("evaluation.read"))]

Mode = Literal["safety_baseline", "resource_utilization", "property_rights", "industry_integration"]
Level = Literal["county", "city", "province"]
Measure = Literal["social_capital_cny", "restored_area_hm2", "investment_cny", "project_area_hm2"]
RegionQuery = Annotated[
    str | None,
    Query(
        pattern=r"^\d{2,6}$",
        description="Region code or prefix: 43 a province, 4305 a city, 430599 a county.",
    ),
]
FromQuery = Annotated[
    int | None, Query(alias="from", ge=1990, le=2200, description="First start year [yr].")
]
ToQuery = Annotated[int | None, Query(alias="to", ge=1990, le=2200, description="Last start year.")]
MineralQuery = Annotated[str | None, Query(max_length=40, description="Mineral of a mine.")]
ModeQuery = Annotated[Mode | None, Query(description="Primary value-realization mode.")]
ByQuery = Annotated[Level, Query(description="Regions of the table and of the disparity.")]
OnQuery = Annotated[dt.date | None, Query(description="Date of the evaluation (default today).")]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _filters(
    principal: Principal,
    region: str | None,
    year_from: int | None,
    year_to: int | None,
    mineral: str | None,
    mode: str | None,
) -> ind.Filters:
    """The selection, narrowed to the caller's scope; a region outside it is a 403."""
    if year_from is not None and year_to is not None and year_from > year_to:
        raise Problem(
            422,
            f"from {year_from} is after to {year_to}",
            kind="invalid",
            errors=[{"field": "from", "message": "after to"}],
        )
    scope = None if principal.role == "admin" else principal.region
    if scope:
        if region is None:
            region = region_prefix(scope)
        elif not (
            in_scope(scope, region.ljust(6, "0"))
            and len(region_prefix(region)) >= len(region_prefix(scope))
        ):
            raise Problem(403, f"region {region} is outside your scope", kind="out-of-scope")
    return ind.Filters(region, year_from, year_to, mineral, mode)


def _in_force(on: dt.date | None) -> dict[str, ind.Definition]:
    """The indicator catalogue in force on ``on``; a date before any version is a 422 on ``on``
    (not a server error)."""
    from restora.errors import RestoraError

    try:
        return ind.catalogue(on)
    except RestoraError as exc:
        raise Problem(
            422, str(exc), kind="invalid", errors=[{"field": "on", "message": str(exc)}]
        ) from None


def _evaluate(engine: Any, filters: ind.Filters, on: dt.date | None, by: str) -> dict[str, Any]:
    _in_force(on)
    return ev.evaluate(
        engine,
        filters=filters,
        on=on,
        level=by,
        measures=("social_capital_cny", "restored_area_hm2"),
    )


@router.get("/indicators", summary="Policy indicators of a selection of projects")
async def indicators(
    engine: EngineDep,
    principal: CanRead,
    region: RegionQuery = None,
    year_from: FromQuery = None,
    year_to: ToQuery = None,
    mineral: MineralQuery = None,
    mode: ModeQuery = None,
    by: ByQuery = "county",
    on: OnQuery = None,
) -> dict[str, Any]:
    """Indicators (code, names, value, unit, n, or why not available), the investment,
    units, modes, cycle and earth-and-stone tables, the figures by region and the disparity
    (Gini, Theil within/between, Lorenz points) of social capital and restored area."""
    filters = _filters(principal, region, year_from, year_to, mineral, mode)
    return await run_in_threadpool(_evaluate, engine, filters, on, by)


@router.get("/disparity", summary="Disparity of a measure across regions")
async def disparity(
    engine: EngineDep,
    principal: CanRead,
    measure: Annotated[Measure, Query(description="The regions' figure compared.")] = (
        "social_capital_cny"
    ),
    region: RegionQuery = None,
    year_from: FromQuery = None,
    year_to: ToQuery = None,
    mineral: MineralQuery = None,
    mode: ModeQuery = None,
    by: ByQuery = "county",
    on: OnQuery = None,
) -> dict[str, Any]:
    """``{n, gini, theil, theil_within, theil_between, groups, lorenz, measure, level,
    group_level, regions}`` of the measure across the regions of level ``by``."""
    filters = _filters(principal, region, year_from, year_to, mineral, mode)

    def run() -> dict[str, Any]:
        projects = ev.project_inputs(engine, on=on or dt.date.today())
        mines = ev.mine_inputs(engine, on=on or dt.date.today())
        rows = ind.by_region(projects, mines, level=by, filters=filters)
        out = ind.regional_disparity(rows, measure, group_level=ind.GROUP_LEVEL[by])
        out.update(level=by, regions=[{"region_code": r["region_code"], measure: r[measure]}
                                      for r in rows])  # fmt: skip
        return out

    return await run_in_threadpool(run)


@router.get(
    "/indicators.xlsx",
    summary="The indicator tables as an XLSX workbook",
    response_class=Response,
    responses={200: {"content": {XLSX: {}}}},
)
async def indicators_xlsx(
    engine: EngineDep,
    principal: CanRead,
    region: RegionQuery = None,
    year_from: FromQuery = None,
    year_to: ToQuery = None,
    mineral: MineralQuery = None,
    mode: ModeQuery = None,
    by: ByQuery = "county",
    on: OnQuery = None,
) -> Response:
    """One sheet per table, Chinese and English headers with units, and the sources sheet."""
    from restora.evaluation.export import write_workbook

    filters = _filters(principal, region, year_from, year_to, mineral, mode)

    def run() -> bytes:
        result = _evaluate(engine, filters, on, by)
        with tempfile.TemporaryDirectory() as tmp:
            path = write_workbook(result, Path(tmp) / "indicators.xlsx")
            return path.read_bytes()

    body = await run_in_threadpool(run)
    name = f"restora-indicators-{filters.region or 'all'}-{on or dt.date.today()}.xlsx"
    return Response(
        body, media_type=XLSX, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


@router.get("/catalogue", summary="The indicators' codes, names, units and definitions")
def catalogue(principal: CanRead, on: OnQuery = None) -> list[dict[str, Any]]:
    return [
        {
            "code": d.code,
            "name_zh": d.name_zh,
            "name_en": d.name_en,
            "unit": d.unit,
            "definition": d.definition,
            "inputs": list(d.inputs),
        }
        for d in _in_force(on).values()
    ]
