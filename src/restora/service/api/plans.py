"""``GET /api/v1/mines/{mine_id}/plan``: the mine's first restoration plan (``plan make``).

The diagnosis decides each site's after-use and the hazard and pollution works
(:func:`restora.planning.diagnosed.plan_mine`); quantities are in the unit-cost library's units
for the mine's region. The document is :class:`restora.planning.model.RestorationPlan`, the same
YAML/JSON that ``plan make --out`` writes and ``cost estimate PLAN`` reads.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from restora.planning.model import RestorationPlan
from restora.service import computed
from restora.service.api.diagnosis import OnDate
from restora.service.api.mines import MineId
from restora.service.db import StoreDep
from restora.service.security import Principal, authorize

router = APIRouter(prefix="/mines", tags=["plans"])
CanRead = Annotated[Principal, Depends(authorize("plan.read"))]

PriceYear = Annotated[
    int | None,
    Query(ge=1990, le=2100, description="price year [yr] (default: the unit-cost library's)"),
]
StartYear = Annotated[
    int | None, Query(ge=1990, le=2100, description="calendar year of year 0 [yr] (default: next)")
]
CareYears = Annotated[
    int | None,
    Query(
        ge=0,
        le=100,
        description="years of care after the works [yr] (default: costing/assumptions)",
    ),
]


def mine_plan(
    request: Request,
    store: Any,
    principal: Principal,
    mine_id: str,
    on: dt.date | None,
    price_year: int | None,
    start_year: int | None,
    post_closure_years: int | None,
) -> Any:
    """The plan of a mine the principal may read, computed once per store revision."""
    register = computed.mine_register(store, principal, mine_id)
    day = on or dt.date.today()
    return computed.cached(
        request,
        ("plan", mine_id, day, price_year, start_year, post_closure_years),
        lambda: computed.plan(
            register,
            mine_id,
            on=day,
            price_year=price_year,
            start_year=start_year,
            post_closure_years=post_closure_years,
        ),
    )


@router.get(
    "/{mine_id}/plan",
    response_model=RestorationPlan,
    response_model_exclude_none=True,
    summary="A mine's first restoration plan (plan make)",
)
def get_plan(
    request: Request,
    mine_id: MineId,
    store: StoreDep,
    principal: CanRead,
    on: OnDate = None,
    price_year: PriceYear = None,
    start_year: StartYear = None,
    post_closure_years: CareYears = None,
) -> Any:
    return mine_plan(
        request, store, principal, mine_id, on, price_year, start_year, post_closure_years
    )
