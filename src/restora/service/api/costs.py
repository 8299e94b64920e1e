"""``GET /api/v1/mines/{mine_id}/cost``: the life-cycle cost of the mine's plan, with Monte Carlo
percentiles (``cost estimate --mine``).

The plan is that of ``GET …/plan`` (same parameters); the report is
:func:`restora.costing.report.cost_report`'s: ``total_p50_cny``, ``total_p90_cny``, ``total``
(P10/P50/P80/P90 and deterministic) [CNY, price year], ``pv``, ``by_phase``, ``by_item`` with each
unit cost's source, ``by_year``, ``indirect``, ``tornado``, ``draws``, ``seed``, ``tables_used``.
``draws`` is bounded (:data:`restora.service.computed.MAX_DRAWS`) so that a read stays short;
the same seed gives the same figures.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from restora.service import computed
from restora.service.api.diagnosis import OnDate
from restora.service.api.mines import MineId
from restora.service.api.plans import CareYears, PriceYear, StartYear, mine_plan
from restora.service.db import StoreDep
from restora.service.security import Principal, authorize

router = APIRouter(prefix="/mines", tags=["costs"])
CanRead = Annotated[Principal, Depends(authorize("cost.read"))]


class CostEstimate(BaseModel):
    """The cost report of ``restora cost estimate --format json``."""

    model_config = ConfigDict(extra="allow")

    mines: list[str]
    price_year: int = Field(description="price year of every amount [yr]")
    draws: int = Field(description="Monte Carlo draws [1]")
    seed: int | None = None
    total_p50_cny: float = Field(description="median life-cycle cost [CNY]")
    total_p90_cny: float = Field(description="90th percentile [CNY]")
    total: dict[str, Any] = Field(description="deterministic and P10/P50/P80/P90 [CNY]")
    by_phase: dict[str, dict[str, Any]] = Field(
        description="per life-cycle phase: deterministic_cny, p10_cny … p90_cny [CNY]"
    )
    by_item: dict[str, dict[str, Any]] = Field(
        description="per cost item: deterministic_cny, p10_cny … p90_cny [CNY], unit_cost_source"
    )


@router.get(
    "/{mine_id}/cost",
    response_model=CostEstimate,
    summary="Life-cycle cost of a mine's plan (cost estimate), P10–P90",
)
def get_cost(
    request: Request,
    mine_id: MineId,
    store: StoreDep,
    principal: CanRead,
    draws: Annotated[
        int, Query(ge=100, le=computed.MAX_DRAWS, description="Monte Carlo draws [1]")
    ] = 10_000,
    seed: Annotated[int, Query(ge=0, le=2**32 - 1, description="random seed")] = 1,
    tiers: Annotated[
        str, Query(max_length=80, pattern=r"^[\w.\-]+$", description="indirect-cost tier set")
    ] = "cn-default",
    distribution: Annotated[
        Literal["triangular", "pert"] | None,
        Query(description="unit-cost distribution (default: costing/assumptions)"),
    ] = None,
    on: OnDate = None,
    price_year: PriceYear = None,
    start_year: StartYear = None,
    post_closure_years: CareYears = None,
) -> Any:
    plan = mine_plan(
        request, store, principal, mine_id, on, price_year, start_year, post_closure_years
    )
    day = on or dt.date.today()
    return computed.cached(
        request,
        (
            "cost",
            mine_id,
            day,
            price_year,
            start_year,
            post_closure_years,
            draws,
            seed,
            tiers,
            distribution,
        ),
        lambda: computed.cost(
            plan, mine_id, on=day, draws=draws, seed=seed, tiers=tiers, distribution=distribution
        ),
    )
