"""Plan one mine from its diagnosis: suitability with pollution, hazard grades, treatment zones.

The same diagnosis the appraisal uses (:func:`restora.diagnosis.county.diagnose_county`) decides
each site's after-use — soil samples classed against GB 15618-2018 enter the suitability rules,
so a polluted site is not planned as farmland — and grades the hazards (DZ/T 0286-2015); sites
with soil samples are zoned by pollution gradient
(:func:`restora.diagnosis.site_zones.zone_sites`) so that the plan carries the gradient
techniques. :func:`restora.planning.planner.make_plan` then turns these into works.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from restora.diagnosis.county import diagnose_county
from restora.diagnosis.site_zones import zone_sites
from restora.errors import InputError
from restora.inventory.model import Register
from restora.planning.model import RestorationPlan
from restora.planning.planner import ZoneLike, make_plan


def plan_mine(
    register: Register,
    mine_id: str,
    *,
    price_year: int,
    start_year: int,
    post_closure_years: int,
    context: dict[str, Any] | None = None,
    zones: Mapping[str, Sequence[ZoneLike]] | None = None,
    units: Mapping[str, str] | None = None,
    on: dt.date | str | None = None,
) -> RestorationPlan:
    """Diagnose one mine of ``register`` and make its first restoration plan.

    Parameters
    ----------
    register : Register
        A register holding the mine (other mines are ignored).
    mine_id : str
    price_year, start_year, post_closure_years : int
        Price year [yr], calendar year of year 0 [yr], years of care [yr].
    context : dict, optional
        Context layers (:func:`restora.diagnosis.context_io.read_context`) for suitability.
    zones : mapping site_id → zones, optional
        Treatment zones to use instead of zoning the register's samples (e.g. edited ones).
    units : mapping item → unit, optional
        Units of the cost items (from the unit-cost library).
    on : date or str, optional
        Date whose reference tables apply.
    """
    if mine_id not in set(register.mines["mine_id"].astype(str)):
        raise InputError(f"mine {mine_id!r} is not in the register", field="mine_id")
    region = register.mine(mine_id).region_code
    one = Register(
        *(
            t[t["mine_id"].astype(str) == mine_id].reset_index(drop=True)
            for t in (register.mines, register.sites, register.samples, register.hazards)
        )
    )
    county = diagnose_county(one, context or {}, on=on, region=region)
    graded = county.ranking.graded_hazards
    grades = dict(zip(graded["hazard_id"].astype(str), graded["grade"], strict=True))
    if zones is None:
        zones = {
            z.site_id: z.result.zones
            for z in zone_sites(one.sites, one.samples, on=on, region=region)
        }
    return make_plan(
        one,
        mine_id,
        price_year=price_year,
        start_year=start_year,
        post_closure_years=post_closure_years,
        after_uses=county.best_use,
        zones=zones,
        hazard_grades=grades,
        units=units,
        on=on,
    )
