"""``GET /api/v1/mines/{mine_id}/valuation``: ecosystem-service value of the mine's sites before
(damaged) and after restoration [CNY/yr] (Xie et al. 2015 equivalent factors).

Each site's ecosystem type before comes from its kind (and water); after, from the after-use of
the mine's plan (``GET …/plan``), mapped through GB/T 21010 classes
(:func:`restora.valuation.esv.cover_after`), as the appraisal's value stage maps it. Areas are the
polygons' (``area_source`` geometry) or, for a site without boundary, the declared ones. Amounts
are at the ESV table's price year (``price_year``). The JSON is that of ``restora value sites``
plus each site's ``after_use``.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from restora.service import computed
from restora.service.api.diagnosis import OnDate
from restora.service.api.mines import MineId
from restora.service.api.plans import CareYears, PriceYear, StartYear, mine_plan
from restora.service.db import StoreDep
from restora.service.security import Principal, authorize

router = APIRouter(prefix="/mines", tags=["valuations"])
CanRead = Annotated[Principal, Depends(authorize("valuation.read"))]


class SiteValue(BaseModel):
    site_id: str
    kind: str
    water: bool
    area_hm2: float | None = Field(description="[hm²]")
    area_source: str | None = Field(description="geometry (the polygon's) or declared")
    type_before: str | None = None
    type_after: str | None = None
    after_planned: bool | None = None
    after_use: str | None = Field(None, description="the plan's after-use")
    esv_before_cny_per_yr: float | None = Field(None, description="[CNY/yr]")
    esv_after_cny_per_yr: float | None = Field(None, description="[CNY/yr]")
    esv_change_cny_per_yr: float | None = Field(None, description="[CNY/yr]")


class Valuation(BaseModel):
    """ESV before and after of a mine's sites."""

    mine_id: str
    method: str
    price_year: int | None = Field(description="price year of the amounts [yr]")
    total_before_cny_per_yr: float = Field(description="[CNY/yr]")
    total_after_cny_per_yr: float = Field(description="[CNY/yr]")
    area_sources: dict[str, int] = Field(description="sites valued on each kind of area [1]")
    sites: list[SiteValue]
    tables: list[dict[str, Any]] = Field(description="reference tables used")


@router.get(
    "/{mine_id}/valuation",
    response_model=Valuation,
    summary="Ecosystem-service value of a mine's sites before and after (value sites)",
)
def get_valuation(
    request: Request,
    mine_id: MineId,
    store: StoreDep,
    principal: CanRead,
    on: OnDate = None,
    price_year: PriceYear = None,
    start_year: StartYear = None,
    post_closure_years: CareYears = None,
) -> Any:
    plan = mine_plan(
        request, store, principal, mine_id, on, price_year, start_year, post_closure_years
    )
    register = computed.mine_register(store, principal, mine_id)
    day = on or dt.date.today()
    return computed.cached(
        request,
        ("valuation", mine_id, day, price_year, start_year, post_closure_years),
        lambda: computed.valuation(register, plan, mine_id, on=day),
    )
