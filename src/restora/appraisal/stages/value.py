"""Stage 5 — value: ecosystem-service value before and after, GEP, value stages, location.

ESV per site (Xie et al. 2015 equivalent factors) from its damaged cover and its planned
after-use; GEP only from the project's own zone inputs; the value-stage curve (Wang et al.
2026) and the location adjustment of each mine's value after restoration.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from restora.appraisal.project import ProjectSpec
from restora.appraisal.stages.base import (
    ASSESSED,
    NOT_ASSESSED,
    StageResult,
    not_assessed_reason,
    records,
    unique_tables,
)
from restora.appraisal.stages.diagnosis import DiagnosisResult
from restora.appraisal.stages.plan import PlanResult
from restora.appraisal.stages.revenue import RevenueResult
from restora.diagnosis.county import CountyDiagnosis


@dataclass(frozen=True)
class GepResult:
    """GEP of the project's zones before and after (``status`` not assessed without zones).

    Attributes
    ----------
    before_cny_per_yr, after_cny_per_yr : float or None
        GEP [CNY/yr at ``price_year``].
    by_indicator_before, by_indicator_after : mapping
        GEP per indicator [CNY/yr].
    """

    status: str
    reason: str | None = None
    method: str | None = None
    note: str = ""
    before_cny_per_yr: float | None = None
    after_cny_per_yr: float | None = None
    by_indicator_before: Mapping[str, float] = field(default_factory=dict)
    by_indicator_after: Mapping[str, float] = field(default_factory=dict)
    price_year: int | None = None
    price_basis: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        if self.status != ASSESSED:
            return {"status": self.status, "reason": self.reason}
        return {
            "status": ASSESSED,
            "method": self.method,
            "note": self.note,
            "before_cny_per_yr": self.before_cny_per_yr,
            "after_cny_per_yr": self.after_cny_per_yr,
            "by_indicator_before": dict(self.by_indicator_before),
            "by_indicator_after": dict(self.by_indicator_after),
            "price_year": self.price_year,
            "price_basis": dict(self.price_basis),
        }


@dataclass(frozen=True, kw_only=True)
class ValueResult(StageResult):
    """Value of the project's land before and after restoration.

    Attributes
    ----------
    price_year : int or None
        Price year of every value figure [yr]: the cost estimate's (real, constant prices);
        ``None`` when the ESV unit value's own price year is not stated (then not converted).
    source_price_year : int or None
        Price year of the ESV unit value (Xie et al. 2015) [yr], if its table states one.
    cpi_factor : float
        CPI chain from ``source_price_year`` to ``price_year`` [1] (prices/cn-cpi).
    per_site : pandas.DataFrame
        Per site: ``area_hm2`` [hm²], ``type_before``, ``type_after``, ``after_use``,
        ``esv_before_cny_per_yr``, ``esv_after_cny_per_yr`` [CNY/yr at ``price_year``; the
        after value is the mature one] (:func:`restora.valuation.esv.esv_before_after`).
    years : numpy.ndarray
        (H,) calendar years of the value paths [yr].
    esv_by_year : numpy.ndarray
        (H,) project ESV per year [CNY/yr], each site ramping from its before to its mature
        after value from the year its works finish (:func:`establishment.esv_series`).
    gep_by_year : numpy.ndarray or None
        (H,) GEP per year [CNY/yr] along the area-weighted ramp; ``None`` without GEP zones.
    works_end : mapping
        ``{site_id: calendar year its establishing works finish}`` [yr].
    esv_before_cny_per_yr, esv_after_cny_per_yr : float
        Totals [CNY/yr].
    by_service_before, by_service_after : mapping
        ESV per service [CNY/yr] (:func:`restora.valuation.esv.run`).
    gep : GepResult
    stages : mapping
        The value-stage curve (:func:`restora.valuation.stages.run`): value per year [CNY/yr].
    location_rows : tuple of mapping
        Per mine: distances [km], density [person/km²], coefficient [1], values [CNY/yr].
    """

    name = "value"

    price_year: int | None
    source_price_year: int | None
    cpi_factor: float
    per_site: pd.DataFrame
    esv_before_cny_per_yr: float
    esv_after_cny_per_yr: float
    by_service_before: Mapping[str, Any]
    by_service_after: Mapping[str, Any]
    years: np.ndarray
    esv_by_year: np.ndarray
    gep_by_year: np.ndarray | None
    works_end: Mapping[str, int]
    gep: GepResult
    stages: Mapping[str, Any]
    location_rows: tuple[Mapping[str, Any], ...]

    @property
    def gep_maturity_years(self) -> int | None:
        """Years from the start until GEP reaches its after-restoration value [yr]."""
        if self.gep_by_year is None or self.gep.after_cny_per_yr is None:
            return None
        target = float(self.gep.after_cny_per_yr)
        done = np.flatnonzero(np.isclose(self.gep_by_year, target, rtol=1e-9, atol=1e-6))
        return int(done[0]) if done.size else None

    def price_basis(self) -> dict[str, Any]:
        """The price year of the value figures and how they got there."""
        if self.source_price_year is None:
            note = (
                "the price year of the ESV unit value is not stated by its source: ESV is "
                "shown as the source gives it, not converted to the cost price year"
            )
        else:
            note = (
                f"ESV unit value of {self.source_price_year} (Xie et al. 2015) brought to "
                f"{self.price_year} prices by the CPI chain (prices/cn-cpi); GEP unit prices "
                "likewise from their own price years"
            )
        return {
            "basis": "real",
            "price_year": self.price_year,
            "source_price_year": self.source_price_year,
            "cpi_factor": self.cpi_factor,
            "note": note,
        }

    def section(self) -> dict[str, Any]:
        rows = [dict(r) for r in self.location_rows]
        gep = self.gep.to_json()
        if self.gep_by_year is not None:
            gep["by_year"] = _by_year(self.years, self.gep_by_year)
        return {
            "price_year": self.price_year,
            "price_basis": self.price_basis(),
            "esv": {
                "before_cny_per_yr": self.esv_before_cny_per_yr,
                "after_cny_per_yr": self.esv_after_cny_per_yr,
                "change_cny_per_yr": self.esv_after_cny_per_yr - self.esv_before_cny_per_yr,
                "before_source_prices_cny_per_yr": self.esv_before_cny_per_yr / self.cpi_factor,
                "after_source_prices_cny_per_yr": self.esv_after_cny_per_yr / self.cpi_factor,
                "by_service_before": dict(self.by_service_before),
                "by_service_after": dict(self.by_service_after),
                "by_year": _by_year(self.years, self.esv_by_year),
                "sites": records(self.per_site),
            },
            "establishment": {
                "works_end": dict(self.works_end),
                "method": "f(a) of valuation/establishment/ramps per after-use, a = year − the "
                "year the site's establishing works finish; value = before + (after − before)·f",
            },
            "gep": gep,
            "stages": dict(self.stages),
            "location": {
                "method": "location coefficient (distance decay to town and main road, "
                "population density within the priority radius); distance to ecological "
                "function areas not computed (neutral)",
                "rows": rows,
                "total_unadjusted_cny_per_yr": sum(r["value_unadjusted_cny_per_yr"] for r in rows),
                "total_adjusted_cny_per_yr": sum(r["value_adjusted_cny_per_yr"] for r in rows),
            },
        }


def _by_year(years: np.ndarray, values: np.ndarray) -> list[dict[str, float]]:
    return [
        {"year": int(y), "value_cny_per_yr": float(v)} for y, v in zip(years, values, strict=True)
    ]


def _gep(
    spec: ProjectSpec, price_year: int | None, on: Any, region: Any
) -> tuple[GepResult, list[Any]]:
    """GEP only from the project's zones (biophysical inputs); never guessed."""
    from restora.valuation import gep
    from restora.valuation.prices import PriceIndex

    if spec.gep is None:
        return GepResult(
            status=NOT_ASSESSED,
            reason=not_assessed_reason(
                "the project file gives no GEP zones (NPP, water balance, RUSLE factors)"
            ),
        ), []
    res = {
        when: gep.run_zones(
            pd.DataFrame(zones),
            target_price_year=price_year,
            input_price_year=spec.gep.input_price_year,
            on=on,
            region=region,
        ).to_dict()
        for when, zones in (("before", spec.gep.before), ("after", spec.gep.after))
    }
    b, a = res["before"], res["after"]
    years = {
        str(r["indicator"]): int(r["price_year"])
        for r in [*b.get("rows", []), *a.get("rows", [])]
        if r.get("price_year") is not None and not pd.isna(r["price_year"])
    }
    basis: dict[str, Any] = {"basis": "real", "price_year": price_year, "source_price_years": years}
    if price_year is not None and years:
        index = PriceIndex.load(on=on, region=region)
        basis["cpi_factors"] = {
            str(y): index.factor(y, price_year) for y in sorted(set(years.values()))
        }
    return GepResult(
        status=ASSESSED,
        method=a.get("method"),
        note=spec.gep.note,
        before_cny_per_yr=b["total_cny_per_yr"],
        after_cny_per_yr=a["total_cny_per_yr"],
        by_indicator_before=b.get("by_indicator") or {},
        by_indicator_after=a.get("by_indicator") or {},
        price_year=a.get("price_year"),
        price_basis=basis,
    ), list(a.get("tables", []))


def _location_rows(
    county: CountyDiagnosis, mines: tuple[str, ...], per_site: pd.DataFrame, on: Any, region: Any
) -> tuple[list[dict[str, Any]], list[Any]]:
    """Location adjustment of each mine's ESV after restoration."""
    from restora.diagnosis import priority
    from restora.valuation import location

    loc = county.ranking.location
    radius_km = float(priority.load_tables(on=on, region=region).population_radius_m) / 1000.0
    rows, tables = [], []
    for mid in mines:
        value = float(per_site.loc[per_site["mine_id"] == mid, "esv_after_cny_per_yr"].sum())
        r = loc[loc["mine_id"] == mid] if loc is not None else pd.DataFrame()
        town = _km(r, "distance_to_town_m")
        road = _km(r, "distance_to_road_m")
        pop = float(r["population_10km"].iloc[0]) if len(r) and "population_10km" in r else None
        density = pop / (math.pi * radius_km**2) if pop is not None else None
        res = location.run(
            location.LocationInput.model_validate(
                {
                    "value_cny_per_yr": value,
                    "town_km": town,
                    "main_road_km": road,
                    "population_per_km2": density,
                }
            ),
            on,
            region,
        )
        rows.append(
            {
                "mine_id": mid,
                "town_km": town,
                "main_road_km": road,
                "population_per_km2": density,
                "ecological_function_area_km": None,
                "value_unadjusted_cny_per_yr": res["value_unadjusted_cny_per_yr"],
                "location_coefficient": res["location_coefficient"],
                "value_adjusted_cny_per_yr": res["value_adjusted_cny_per_yr"],
            }
        )
        tables += list(res["tables"])
    return rows, tables


def _km(r: pd.DataFrame, col: str) -> float | None:
    if not len(r) or col not in r.columns or pd.isna(r[col].iloc[0]):
        return None
    return float(r[col].iloc[0]) / 1000.0


def run(
    spec: ProjectSpec,
    county: CountyDiagnosis,
    diagnosis: DiagnosisResult,
    plan: PlanResult,
    revenue: RevenueResult,
    *,
    on: dt.date | str | None = None,
    region: str | None = None,
) -> ValueResult:
    """ESV (and GEP where the project gives zones) before and after, value stages, location.

    Parameters
    ----------
    spec : ProjectSpec
        ``hazard_cost_cny_per_yr``, ``pollution_cost_cny_per_yr`` [CNY/yr], ``gep`` zones,
        ``start_year`` and ``horizon_years`` [yr].
    county : CountyDiagnosis
        Mine locations (distances [m], population within the priority radius [person]).
    diagnosis, plan, revenue
        The project's sites, their planned after-uses, the operations streams.
    on : date or str, optional
        Date whose reference tables apply.
    region : str, optional
        6-digit region code for regional tables.

    Returns
    -------
    ValueResult

    Notes
    -----
    ESV per site: :math:`A \\cdot \\sum_s VC_{t,s} \\cdot E` (Xie et al. 2015) with the site's
    ecosystem type ``t`` before (its kind) and after (after-use → GB/T 21010 class →
    type). Development value = ESV after + mature income of the operations streams.
    Population density = population within the radius / (π r²) [person/km²].

    References
    ----------
    Xie G.D. et al. (2015) J. Natural Resources 30(8): 1243-1254. Wang J. et al. (2026) Acta
    Ecologica Sinica 46(1): 184-200, DOI 10.20103/j.stxb.202507131830.
    """
    from restora.costing.lifecycle import load_assumptions
    from restora.revenue.operations import development
    from restora.valuation import establishment, esv, stages
    from restora.valuation.prices import PriceIndex

    sites = diagnosis.sites
    after_use = {s.site_id: s.after_use for p in plan.plans for s in p.sites}
    cover, cover_tables = esv.cover_after(after_use, on=on, region=region)
    # with the geometry, each site says whether its area is measured or declared (no boundary)
    frame = sites[[c for c in ("site_id", "kind", "water", "area_hm2", "geometry") if c in sites]]
    per_site = esv.esv_before_after(frame, cover, on=on, region=region)
    tables = [*per_site.attrs["tables"], *cover_tables]
    # ESV at the cost estimate's price year (CPI chain), never mixed with other price years
    source_year = per_site.attrs["price_year"]
    price_year: int | None = plan.price_year
    cpi = 1.0
    if source_year is None:
        price_year = None  # stated, never converted from an unknown year
    else:
        index = PriceIndex.load(on=on, region=region)
        cpi = index.factor(int(source_year), plan.price_year)
        if index.provenance is not None:
            tables.append(index.provenance)
    money = ["esv_before_cny_per_yr", "esv_after_cny_per_yr", "esv_change_cny_per_yr"]
    per_site[money] = per_site[money] * cpi
    per_site["mine_id"] = sites["mine_id"].to_numpy()
    per_site["after_use"] = per_site["site_id"].map(after_use).fillna("leave_as_is")

    def by_service(col: str) -> dict[str, Any]:
        areas = per_site.dropna(subset=[col]).groupby(col)["area_hm2"].sum()
        res = esv.run(
            esv.XieInput.model_validate(
                {
                    "areas_hm2": {str(k): float(v) for k, v in areas.items()},
                    "target_price_year": price_year,
                }
            ),
            on,
            region,
        )
        return res.to_dict()["by_service"]  # type: ignore[no-any-return]

    esv_before = float(per_site["esv_before_cny_per_yr"].sum())
    esv_after = float(per_site["esv_after_cny_per_yr"].sum())
    # vegetation establishes over years after each site's works (valuation/establishment/ramps)
    works_end = {str(sid): spec.start_year - 1 for sid in per_site["site_id"]}
    for pl in plan.plans:
        for sp in pl.sites:  # a site planned in several zones: the latest works decide
            y = establishment.works_end_year(pl.start_year, sp.works)
            works_end[sp.site_id] = max(y, works_end.get(sp.site_id, y))
    years = np.arange(spec.start_year, spec.start_year + spec.horizon_years)
    ramps = establishment.RampTable.load(on, region)
    tables.append(ramps.provenance)
    esv_by_year = (
        establishment.esv_series(per_site, works_end, years, table=ramps).sum(axis=1).to_numpy()
    )
    gep_result, gep_tables = _gep(spec, price_year, on, region)
    tables += gep_tables
    gep_by_year = None
    if gep_result.status == ASSESSED:
        weights = np.where(per_site["after_use"] != "leave_as_is", per_site["area_hm2"], 0.0)
        f = establishment.weighted_fraction(
            per_site["after_use"],
            [works_end[str(s)] for s in per_site["site_id"]],
            weights,
            years,
            table=ramps,
        )
        g0, g1 = float(gep_result.before_cny_per_yr or 0), float(gep_result.after_cny_per_yr or 0)
        gep_by_year = g0 + (g1 - g0) * f
    # value stages: damaged → basic restoration (the ESV path) → development (+ operations)
    works_offset = max(works_end.values()) - spec.start_year
    path = stages.basic_path(
        esv_by_year, spec.hazard_cost_cny_per_yr, spec.pollution_cost_cny_per_yr, works_offset
    )
    dev = development(revenue.streams) if revenue.assessed else None
    developed = esv_after
    dev_start = works_offset + 1
    dev_years = 0
    dev_real = None
    if dev is not None:
        # the operations income is nominal; the stage curve is in the cost price year's constant
        # prices: deflate at the costing assumptions' escalation rate (the plan's inflation)
        esc = load_assumptions(on=on, region=region).escalation_rate
        base_year = price_year if price_year is not None else dev.mature_year
        dev_real = dev.mature_income_cny_per_yr / (1.0 + esc) ** (dev.mature_year - base_year)
        developed = esv_after + dev_real
        dev_start = max(dev_start, dev.first_year - spec.start_year)
        # the operations ramp reaches its mature income in its (m + 1)-th year (share
        # (k + 1)/(m + 1), revenue.operations.ramp): the stage ramp runs over m + 1 years
        dev_years = max(0, min(dev.years_to_mature + 1, 100))
    sres = stages.run(
        stages.StagesInput.model_validate(
            dict(
                area_hm2=float(per_site["area_hm2"].sum()),
                esv_damaged_cny_per_yr=esv_before,
                hazard_cost_cny_per_yr=spec.hazard_cost_cny_per_yr,
                pollution_cost_cny_per_yr=spec.pollution_cost_cny_per_yr,
                value_basic_cny_per_yr=esv_after,
                value_developed_cny_per_yr=developed,
                value_basic_path_cny_per_yr=path.tolist(),
                horizon_years=spec.horizon_years,
                start_year=spec.start_year,
                restoration_start=0,
                restoration_years=min(works_offset + 1, 100),
                development_start=dev_start,
                development_years=dev_years,
                price_year=price_year,
                equivalent_value_cny_per_hm2=float(per_site.attrs["equivalent_value_cny_per_hm2"])
                * cpi,
            )
        ),
        on,
        region,
    )
    stage_json = {
        **sres.to_dict(),
        "development_value_source": "ESV after + mature income of the operations streams"
        if dev is not None
        else "ESV after (no operations stream in the project)",
    }
    if dev is not None:
        stage_json["development_income"] = {
            "mature_year": dev.mature_year,
            "nominal_cny_per_yr": dev.mature_income_cny_per_yr,
            "real_cny_per_yr": dev_real,
            "price_year": price_year,
            "deflator": "costing/assumptions escalation_rate",
        }
    tables += list(sres.tables)
    loc_rows, loc_tables = _location_rows(county, diagnosis.mines, per_site, on, region)
    tables += loc_tables
    return ValueResult(
        method="equivalent-factor ESV (Xie et al. 2015) of each site's damaged and planned "
        "land cover (after-use → GB/T 21010 class → ecosystem type; a site left as is keeps "
        "its cover), brought to the cost price year by the CPI; after-restoration value "
        "reached along each after-use's establishment ramp from the year its works finish",
        price_year=price_year,
        source_price_year=None if source_year is None else int(source_year),
        cpi_factor=cpi,
        per_site=per_site,
        esv_before_cny_per_yr=esv_before,
        esv_after_cny_per_yr=esv_after,
        by_service_before=by_service("type_before"),
        by_service_after=by_service("type_after"),
        years=years,
        esv_by_year=esv_by_year,
        gep_by_year=gep_by_year,
        works_end=works_end,
        gep=gep_result,
        stages=stage_json,
        location_rows=tuple(loc_rows),
        rule_codes=tuple(sres.to_dict().get("rule_codes", [])),
        tables=unique_tables(tables),
    )
