"""The appraisal pipeline: a project through diagnosis, plan, cost, value, revenue, cash flows,
modes, financing and risk, into one JSON document (``appraisal.json``).

Each stage is a function that takes the previous stages' typed outputs and returns a frozen
:class:`Stage`: the objects later stages need, plus the JSON section it contributes. Every
JSON section states its ``status`` (``assessed`` or ``not assessed``, with the reason), its
``method``, the reference tables (``tables``) and rule codes it used. Nothing is estimated that
the inputs do not support: a stage without inputs says so.

The county is diagnosed once (:func:`restora.diagnosis.county.diagnose_county`) and shared by
all the projects of a run.

Conventions
-----------
Period 0 of the cash flows is the project's ``start_year``; each flow falls at the end of its
period; money is nominal CNY (costs escalated from their price year by the costing
assumptions). Financing instruments count their year 1 as period 1.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from restora import __version__, refdata
from restora.appraisal.project import ProjectSpec
from restora.diagnosis import zoning
from restora.diagnosis.county import CountyDiagnosis
from restora.errors import InputError
from restora.inventory.model import Register

AFTER_USE_TABLE = "appraisal/after-use-land-class"
HAZARD_NOTE = re.compile(r"hazard (\S+) \(")
NOT_ASSESSED = "not assessed"
ASSESSED = "assessed"


@dataclass(frozen=True)
class Stage:
    """One stage's result: ``json`` (its section of appraisal.json) and ``data`` for later stages."""

    name: str
    json: dict[str, Any]
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def assessed(self) -> bool:
        return bool(self.json.get("status") == ASSESSED)


def not_assessed(name: str, reason: str) -> Stage:
    """A stage that could not be assessed, and why (never a made-up figure)."""
    return Stage(name, {"status": NOT_ASSESSED, "reason": f"{NOT_ASSESSED}: {reason}"})


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return frame.astype(object).where(frame.notna(), None).to_dict("records")  # type: ignore[no-any-return]


def _sha(obj: Any) -> str:
    return hashlib.sha256(
        json.dumps(obj, sort_keys=True, default=str, ensure_ascii=False).encode()
    ).hexdigest()


# --- diagnosis --------------------------------------------------------------------------------


def diagnosis_stage(
    spec: ProjectSpec,
    register: Register,
    county: CountyDiagnosis,
    *,
    file: str | None = None,
    on: dt.date | str | None = None,
    region: str | None = None,
) -> Stage:
    """The project's mines as diagnosed in the county: rank, hazards, soil, suitability, zones.

    Every site of the project with soil samples is zoned by pollution gradient
    (:func:`restora.diagnosis.site_zones.zone_sites`: IDW on 20 m cells in the China Albers
    projection, GB 15618-2018 classes, zone classes and candidate techniques of the
    remediation catalogue).

    Parameters
    ----------
    spec : ProjectSpec
        The project (its ``mines``).
    register : Register
        The county's register; site areas in [hm²].
    county : CountyDiagnosis
        The whole register diagnosed once (:func:`restora.diagnosis.county.diagnose_county`).
    file : str, optional
        The project file, for error messages.
    on, region : optional
        Date and 6-digit region code of the reference tables (zoning).

    Returns
    -------
    Stage
        JSON: ``mines`` (rank, component scores [0, 1], indicators), ``sites`` (area [hm²],
        pollution class, best use, rule codes), ``hazards``, ``sample_classes``, ``zones``
        (per zoned site: method, cell size [m], zones with class, area [hm²], governing metal,
        candidate techniques and rule codes); data: the project's ``sites`` frame, ``mines``
        and ``zones`` ``{site_id: (Zone, ...)}`` for the planner.

    Raises
    ------
    InputError
        A mine of the project is not in the register (naming the project file and field).
    """
    known = set(register.mines["mine_id"])
    for i, mid in enumerate(spec.mines):
        if mid not in known:
            raise InputError(f"mine {mid!r} is not in the register", file=file, field=f"mines.{i}")
    mines = list(spec.mines)
    ranking = county.ranking.ranking
    ranked = ranking[ranking["mine_id"].isin(mines)]
    sites = register.sites[register.sites["mine_id"].isin(mines)].reset_index(drop=True)
    inputs = county.site_inputs.set_index("site_id")
    assessed = county.suitability[county.suitability["mine_id"].isin(mines)]
    site_rows = []
    for sid, mid, kind, area, water in zip(
        sites["site_id"],
        sites["mine_id"],
        sites["kind"],
        sites["area_hm2"],
        sites["water"],
        strict=True,
    ):
        g = assessed[assessed["site_id"] == sid]
        ok = g[g["status"] == "suitable"].sort_values("rank")
        row = inputs.loc[sid] if sid in inputs.index else pd.Series(dtype=object)
        site_rows.append(
            {
                "site_id": sid,
                "mine_id": mid,
                "kind": kind,
                "area_hm2": float(area),
                "water": bool(water) if pd.notna(water) else False,
                "pollution_class": _none(row.get("pollution_class")),
                "in_ecological_redline": _none(row.get("in_ecological_redline")),
                "in_permanent_basic_farmland": _none(row.get("in_permanent_basic_farmland")),
                "best_use": county.best_use.get(sid),
                "suitable_uses": list(ok["use"]),
                "rule_codes": sorted({c for cs in g["rule_codes"] for c in cs}),
            }
        )
    haz = county.ranking.graded_hazards
    haz = haz[haz["mine_id"].isin(mines)]
    hazard_rows = _records(
        haz[[c for c in ("hazard_id", "mine_id", "kind", "scale", "threat", "grade") if c in haz]]
    )
    samples = county.sample_classes
    counts: dict[str, int] = {}
    if samples is not None:
        s = samples[samples["mine_id"].isin(mines)]
        counts = {str(k): int(v) for k, v in s["pollution_class"].value_counts().items()}
    rule_codes = sorted(
        {
            *(c for r in site_rows for c in r["rule_codes"]),
            *(
                c
                for cs in county.ranking.hazard_grades.query("mine_id in @mines")["rule_codes"]
                for c in cs
            ),
            *county.ranking.method.get("rule_codes", []),
        }
    )
    from restora.diagnosis.site_zones import zone_sites

    zoned = zone_sites(sites, register.samples, on=on, region=region)
    zone_codes = {c for z in zoned for zz in z.json["zones"] for c in zz["rule_codes"]}
    rule_codes = sorted({*rule_codes, *zone_codes})
    mines_json = _records(ranked)
    for m in mines_json:
        m["n_mines_ranked"] = len(ranking)
    return Stage(
        "diagnosis",
        {
            "status": ASSESSED,
            "method": "GB 15618-2018 soil classes; DZ/T 0286-2015 danger matrix; TD/T 1036-2013 "
            "suitability; priority = weighted min-max scores of damage, risk, potential",
            "mines": mines_json,
            "sites": site_rows,
            "hazards": hazard_rows,
            "sample_classes": counts,
            "zones": [{k: v for k, v in z.json.items() if k != "tables"} for z in zoned],
            "zoning_method": "pollution gradient zoning (restora.diagnosis.zoning.zone_site) of "
            "each site with samples: sites and samples projected to China Albers, IDW to "
            f"{zoning.DEFAULT_CELL_SIZE_M:g} m cells, GB 15618-2018 classes, zone classes "
            "(remediation/zone-classes), candidate techniques (remediation/techniques)",
            "pollution_source": county.ranking.method.get("pollution_source"),
            "weights": county.ranking.method.get("weights"),
            "rule_codes": rule_codes,
            "tables": _unique_tables(
                [*county.provenance, *(t for z in zoned for t in z.json["tables"])]
            ),
        },
        {"sites": sites, "mines": mines, "zones": {z.site_id: z.result.zones for z in zoned}},
    )


def _none(v: Any) -> Any:
    if v is None:
        return None
    if isinstance(v, float) and math.isnan(v):
        return None
    if v is pd.NA:
        return None
    if isinstance(v, (np.bool_,)):
        return bool(v)
    return v


# --- plan ---------------------------------------------------------------------------------------


def plan_stage(
    spec: ProjectSpec,
    register: Register,
    county: CountyDiagnosis,
    diagnosis: Stage,
    *,
    on: dt.date | str | None = None,
) -> Stage:
    """A first restoration plan of each mine (after-use = the diagnosis's first-ranked use).

    Parameters
    ----------
    spec : ProjectSpec
        ``start_year`` [yr], ``price_year`` [yr] (default: the cost library's), and
        ``post_closure_years`` [yr] (default: the costing assumptions').
    register : Register
        The county's register.
    county : CountyDiagnosis
        Best uses per site and hazard grades.
    diagnosis : Stage
        From :func:`diagnosis_stage`.
    on : date or str, optional
        Date whose reference tables apply.

    Returns
    -------
    Stage
        JSON: per plan its sites, works (quantities in the cost items' units), rules and
        SHA-256; data: the :class:`~restora.planning.model.RestorationPlan` objects.
    """
    from restora.costing.lifecycle import load_assumptions
    from restora.costing.unitcosts import load_library
    from restora.planning.io import plan_to_dict
    from restora.planning.planner import load_tables, make_plan

    region = str(register.mines["region_code"].iloc[0]) if len(register.mines) else None
    lib = load_library(on=on, region=region)
    price_year = spec.price_year or max(u.price_year for u in lib.items.values())
    care = (
        spec.post_closure_years
        if spec.post_closure_years is not None
        else load_assumptions(on=on, region=region).post_closure_years
    )
    graded = county.ranking.graded_hazards
    grades = dict(zip(graded["hazard_id"], graded["grade"], strict=True))
    tables = load_tables(on=on, region=region)
    plans = []
    for mid in diagnosis.data["mines"]:
        plans.append(
            make_plan(
                register,
                mid,
                price_year=price_year,
                start_year=spec.start_year,
                post_closure_years=care,
                after_uses=county.best_use,
                zones=diagnosis.data.get("zones"),
                hazard_grades=grades,
                units={k: u.unit for k, u in lib.items.items()},
                tables=tables,
                on=on,
            )
        )
    plan_json = []
    for p in plans:
        doc = plan_to_dict(p)
        plan_json.append(
            {
                "mine_id": p.mine_id,
                "start_year": p.start_year,
                "end_year": p.end_year,
                "price_year": p.price_year,
                "post_closure_years": p.post_closure_years,
                "after_use_hm2": p.after_use_hm2,
                "sites": [
                    {
                        "site_id": s.site_id,
                        "kind": s.kind,
                        "area_hm2": s.area_hm2,
                        "after_use": s.after_use,
                        "works": len(s.works),
                    }
                    for s in p.sites
                ],
                "works": [
                    {
                        "site_id": sid,
                        "item": w.item,
                        "quantity": w.quantity,
                        "unit": w.unit,
                        "phase": w.phase,
                        "start_year": w.start_year,
                        "years": w.years,
                        "note": w.note,
                    }
                    for sid, w in p.works()
                ],
                "rules": list(p.rules),
                "notes": list(p.notes),
                "plan_sha256": _sha(doc),
            }
        )
    return Stage(
        "plan",
        {
            "status": ASSESSED,
            "method": "planner templates by site kind (planning/site-works), revegetation by "
            "after-use (planning/revegetation), hazard treatment per registered hazard, "
            "monitoring programme (planning/monitoring)",
            "plans": plan_json,
            "price_year": price_year,
            "rule_codes": sorted({r for p in plans for r in p.rules}),
            "tables": list(tables.provenance),
        },
        {"plans": plans},
    )


# --- cost ---------------------------------------------------------------------------------------


def cost_stage(spec: ProjectSpec, plan: Stage, *, on: dt.date | str | None = None) -> Stage:
    """Life-cycle cost with Monte Carlo P50/P90 (``spec.risk.draws`` draws, ``spec.risk.seed``).

    Parameters
    ----------
    spec : ProjectSpec
        Draws [1] and seed.
    plan : Stage
        From :func:`plan_stage`.
    on : date or str, optional
        Date whose reference tables apply.

    Returns
    -------
    Stage
        JSON: the ``cost estimate`` figures [CNY at the price year; ``by_year`` also nominal
        and present value] and a histogram of the simulated total; data: ``capex_nominal``
        ``{year: CNY}`` and ``capex_factors`` (draws,) [1] = simulated total / deterministic.

    Notes
    -----
    See :func:`restora.costing.report.cost_report`.
    """
    from restora.costing.report import cost_report

    report, _, _, draws = cost_report(
        plan.data["plans"], draws=spec.risk.draws, seed=spec.risk.seed, on=on
    )
    det = float(report["total"]["deterministic_cny"])
    total = draws.total.sum(axis=1)
    factors = total / det if det > 0 else np.ones_like(total)
    hist_counts, hist_edges = np.histogram(total, bins=30)
    out = {k: v for k, v in report.items() if k not in ("by_item",)}
    out["tornado"] = report["tornado"][:10]
    out["by_item_top"] = sorted(
        (
            {"item": k, **v}
            for k, v in report["by_item"].items()
            if v.get("deterministic_cny", 0) > 0
        ),
        key=lambda r: -float(r["deterministic_cny"]),
    )[:12]
    out["histogram"] = {"edges_cny": hist_edges.tolist(), "counts": hist_counts.tolist()}
    return Stage(
        "cost",
        {
            "status": ASSESSED,
            "method": "deterministic life-cycle estimate + Monte Carlo on unit costs and "
            "quantities (triangular/PERT, Gaussian copula within kinds), tiered indirect costs",
            **out,
            "tables": report["tables_used"],
            "rule_codes": [],
        },
        {
            "capex_nominal": {int(r["year"]): float(r["nominal_cny"]) for r in report["by_year"]},
            "capex_factors": factors,
        },
    )


# --- revenue ------------------------------------------------------------------------------------


def revenue_stage(spec: ProjectSpec, *, file: str | None = None) -> Stage:
    """The project's revenue streams by year (earmarked money apart).

    Parameters
    ----------
    spec : ProjectSpec
        ``revenue_streams`` (mappings for :func:`restora.revenue.build`).
    file : str, optional
        The project file, for error messages.

    Returns
    -------
    Stage
        JSON: each stream (by year: quantity, price, revenue [CNY]), ``by_year`` totals
        (unrestricted low/central/high and earmarked [CNY]); not assessed without streams.
    """
    from restora.revenue import build_all, combine

    if not spec.revenue_streams:
        return not_assessed("revenue", "the project file gives no revenue streams")
    streams = build_all(spec.revenue_streams, file=file)
    table = combine(streams)
    tables: dict[str, dict[str, Any]] = {}
    for s in streams:
        for t in s.tables_used:
            tables[f"{t.get('name')}@{t.get('version')}"] = dict(t)
    return Stage(
        "revenue",
        {
            "status": ASSESSED,
            "method": "stream models of restora.revenue (quotas, carbon credits, surplus earth "
            "and stone, land rights, operations, subsidies); low/high add as a bound",
            "streams": [s.to_dict() for s in streams],
            "by_year": _records(table),
            "total_unrestricted_cny": float(table["revenue"].sum()),
            "total_unrestricted_low_cny": float(table["revenue_low"].sum()),
            "total_unrestricted_high_cny": float(table["revenue_high"].sum()),
            "total_earmarked_cny": float(table["earmarked"].sum()),
            "rule_codes": sorted({c for s in streams for c in s.rule_codes}),
            "flags": [f for s in streams for f in s.flags],
            "tables": list(tables.values()),
        },
        {"streams": streams, "table": table},
    )


# --- value --------------------------------------------------------------------------------------


def value_stage(
    spec: ProjectSpec,
    county: CountyDiagnosis,
    diagnosis: Stage,
    plan: Stage,
    revenue: Stage,
    *,
    on: dt.date | str | None = None,
    region: str | None = None,
) -> Stage:
    """ESV (and GEP where the project gives zones) before and after, value stages, location.

    Parameters
    ----------
    spec : ProjectSpec
        ``hazard_cost_cny_per_yr``, ``pollution_cost_cny_per_yr`` [CNY/yr], ``gep`` zones,
        ``start_year`` and ``horizon_years`` [yr].
    county : CountyDiagnosis
        Mine locations (distances [m], population within the priority radius [person]).
    diagnosis, plan, revenue : Stage
        The project's sites, their planned after-uses, the operations streams.
    on : date or str, optional
        Date whose reference tables apply.
    region : str, optional
        6-digit region code for regional tables.

    Returns
    -------
    Stage
        JSON: ``esv`` (per site and by service, before/after [CNY/yr]), ``gep``, ``stages``
        (value per year [CNY/yr] and stage codes), ``location`` (coefficient [1], values
        [CNY/yr]).

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
    from restora.valuation import esv, gep, location, stages
    from restora.valuation.landcover import LandCoverMapping

    sites: pd.DataFrame = diagnosis.data["sites"]
    after_use = {s.site_id: s.after_use for p in plan.data["plans"] for s in p.sites}
    use_table = refdata.get(AFTER_USE_TABLE, on=on, region=region)
    mapping = LandCoverMapping.load(on, region)
    cover: dict[str, str | None] = {}
    for sid, use in after_use.items():
        code = use_table.data.get(use)
        if code is None:
            raise InputError(
                f"after-use {use!r} has no land class in {AFTER_USE_TABLE}", field="after_use"
            )
        cover[sid] = mapping.type_of("gbt21010", str(code))
    frame = sites[["site_id", "kind", "water", "area_hm2"]].copy()
    per_site = esv.esv_before_after(frame, cover, on=on, region=region)
    per_site["mine_id"] = sites["mine_id"].to_numpy()
    per_site["after_use"] = per_site["site_id"].map(after_use)

    def by_service(col: str) -> dict[str, Any]:
        areas = per_site.dropna(subset=[col]).groupby(col)["area_hm2"].sum()
        res = esv.run(
            esv.XieInput.model_validate(
                {"areas_hm2": {str(k): float(v) for k, v in areas.items()}}
            ),
            on,
            region,
        )
        return res.to_dict()

    before = by_service("type_before")
    after = by_service("type_after")
    esv_before = float(per_site["esv_before_cny_per_yr"].sum())
    esv_after = float(per_site["esv_after_cny_per_yr"].sum())
    tables = [*per_site.attrs["tables"], use_table.provenance()]
    out: dict[str, Any] = {
        "status": ASSESSED,
        "method": "equivalent-factor ESV (Xie et al. 2015) of each site's damaged and planned "
        "land cover; after-use → GB/T 21010 class → ecosystem type",
        "price_year": per_site.attrs["price_year"],
        "esv": {
            "before_cny_per_yr": esv_before,
            "after_cny_per_yr": esv_after,
            "change_cny_per_yr": esv_after - esv_before,
            "by_service_before": before["by_service"],
            "by_service_after": after["by_service"],
            "sites": _records(per_site),
        },
    }
    # GEP: only from the project's zones (biophysical inputs); never guessed
    if spec.gep is not None:
        g_before = gep.run_zones(
            pd.DataFrame(spec.gep.before),
            target_price_year=out["price_year"],
            input_price_year=spec.gep.input_price_year,
            on=on,
            region=region,
        ).to_dict()
        g_after = gep.run_zones(
            pd.DataFrame(spec.gep.after),
            target_price_year=out["price_year"],
            input_price_year=spec.gep.input_price_year,
            on=on,
            region=region,
        ).to_dict()
        out["gep"] = {
            "status": ASSESSED,
            "method": g_after.get("method"),
            "note": spec.gep.note,
            "before_cny_per_yr": g_before["total_cny_per_yr"],
            "after_cny_per_yr": g_after["total_cny_per_yr"],
            "by_indicator_before": g_before.get("by_indicator"),
            "by_indicator_after": g_after.get("by_indicator"),
            "price_year": g_after.get("price_year"),
        }
        tables += list(g_after.get("tables", []))
    else:
        out["gep"] = {
            "status": NOT_ASSESSED,
            "reason": f"{NOT_ASSESSED}: the project file gives no GEP zones (NPP, water "
            "balance, RUSLE factors)",
        }
    # value stages: damaged → basic restoration (ESV after) → development (+ operations income)
    area = float(per_site["area_hm2"].sum())
    end_works = max(p.end_year for p in plan.data["plans"]) - spec.start_year
    care = max(p.post_closure_years for p in plan.data["plans"])
    restoration_years = max(1, end_works - care)
    ops = [s for s in revenue.data["streams"] if s.kind == "operations"] if revenue.assessed else []
    developed = esv_after
    dev_start = 1 + restoration_years
    dev_years = 0
    if ops:
        mature = sum(float(np.max(s.revenue)) for s in ops)
        developed = esv_after + mature
        first = min(int(s.years.min()) for s in ops) - spec.start_year
        dev_start = max(dev_start, first)
        last_ramp = max(int(np.argmax(s.revenue)) for s in ops)
        dev_years = max(0, min(last_ramp, 100))
    sres = stages.run(
        stages.StagesInput.model_validate(
            dict(
                area_hm2=area,
                esv_damaged_cny_per_yr=esv_before,
                hazard_cost_cny_per_yr=spec.hazard_cost_cny_per_yr,
                pollution_cost_cny_per_yr=spec.pollution_cost_cny_per_yr,
                value_basic_cny_per_yr=esv_after,
                value_developed_cny_per_yr=developed,
                horizon_years=spec.horizon_years,
                start_year=spec.start_year,
                restoration_start=1,
                restoration_years=restoration_years,
                development_start=dev_start,
                development_years=dev_years,
                price_year=out["price_year"],
            )
        ),
        on,
        region,
    )
    out["stages"] = {
        **sres.to_dict(),
        "development_value_source": "ESV after + mature income of the operations streams"
        if ops
        else "ESV after (no operations stream in the project)",
    }
    tables += list(sres.tables)
    # location adjustment of each mine's after-restoration ESV
    loc = county.ranking.location
    radius_km = _population_radius_km(on, region)
    rows = []
    for mid in diagnosis.data["mines"]:
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
    out["location"] = {
        "method": "location coefficient (distance decay to town and main road, population "
        "density within the priority radius); distance to ecological function areas not "
        "computed (neutral)",
        "rows": rows,
        "total_unadjusted_cny_per_yr": sum(r["value_unadjusted_cny_per_yr"] for r in rows),
        "total_adjusted_cny_per_yr": sum(r["value_adjusted_cny_per_yr"] for r in rows),
    }
    out["rule_codes"] = list(sres.to_dict().get("rule_codes", []))
    out["tables"] = _unique_tables(tables)
    return Stage(
        "value",
        out,
        {"esv_before": esv_before, "esv_after": esv_after, "restoration_years": restoration_years},
    )


def _population_radius_km(on: Any, region: Any) -> float:
    from restora.diagnosis import priority

    return float(priority.load_tables(on=on, region=region).population_radius_m) / 1000.0


def _km(r: pd.DataFrame, col: str) -> float | None:
    if not len(r) or col not in r.columns or pd.isna(r[col].iloc[0]):
        return None
    return float(r[col].iloc[0]) / 1000.0


def _unique_tables(tables: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen: dict[tuple[str, str], dict[str, Any]] = {}
    for t in tables:
        seen.setdefault((str(t.get("name")), str(t.get("version"))), dict(t))
    return list(seen.values())


# --- cash flows ---------------------------------------------------------------------------------


def cashflow_stage(spec: ProjectSpec, cost: Stage, revenue: Stage) -> Stage:
    """Project cash flows by year (period 0 = start year), NPV, IRR, payback.

    Parameters
    ----------
    spec : ProjectSpec
        ``start_year``, ``horizon_years`` [yr], ``discount_rate`` [1/yr],
        ``opex_cny_per_yr`` [CNY/yr] (from the first revenue year).
    cost : Stage
        ``capex_nominal`` {year: CNY}.
    revenue : Stage
        ``by_year`` rows with ``revenue`` and ``earmarked`` [CNY].

    Returns
    -------
    Stage
        JSON: ``rows`` per period [CNY], ``npv_cny``, ``irr`` [1/yr], payback [yr]; data: the
        :class:`~restora.finance.cashflow.ProjectFlows` (1 scenario).

    Notes
    -----
    :math:`CF_t = R_t - O_t - C_t`, :math:`NPV = \\sum_{t=0}^{H} CF_t / (1 + r)^t`.
    """
    from restora.finance import metrics
    from restora.finance.cashflow import project_flows

    n = spec.horizon_years + 1
    years = np.arange(spec.start_year, spec.start_year + n)
    capex = np.zeros(n)
    capex_outside = 0.0
    for y, v in cost.data["capex_nominal"].items():
        if spec.start_year <= y < spec.start_year + n:
            capex[y - spec.start_year] += v
        else:
            capex_outside += v
    rev = np.zeros(n)
    earmarked = np.zeros(n)
    outside = 0.0
    if revenue.assessed:
        for row in revenue.json["by_year"]:
            y = int(row["year"])
            if spec.start_year <= y < spec.start_year + n:
                rev[y - spec.start_year] += float(row["revenue"])
                earmarked[y - spec.start_year] += float(row["earmarked"])
            else:
                outside += float(row["revenue"])
    opex = np.zeros(n)
    if spec.opex_cny_per_yr > 0:
        first = int(np.flatnonzero(rev > 0)[0]) if np.any(rev > 0) else n
        opex[first:] = spec.opex_cny_per_yr
    flows = project_flows(rev, opex, capex)
    proj = flows.project[0]
    npv = float(metrics.npv(spec.discount_rate, proj))
    irr = float(metrics.irr(proj))
    pb = float(metrics.payback(proj))
    dpb = float(metrics.discounted_payback(spec.discount_rate, proj))
    cum = np.cumsum(proj)
    rows = [
        {
            "period": int(t),
            "year": int(years[t]),
            "revenue_cny": float(rev[t]),
            "opex_cny": float(opex[t]),
            "capex_cny": float(capex[t]),
            "cfads_cny": float(flows.cfads[0, t]),
            "project_flow_cny": float(proj[t]),
            "cumulative_cny": float(cum[t]),
            "earmarked_cny": float(earmarked[t]),
        }
        for t in range(n)
    ]
    return Stage(
        "cashflow",
        {
            "status": ASSESSED,
            "method": "nominal project flows: unrestricted revenue − opex − life-cycle cost "
            "(escalated); earmarked proceeds shown apart (restoration account), tax not modelled",
            "discount_rate": spec.discount_rate,
            "hurdle_rate": spec.hurdle_rate,
            "npv_cny": npv,
            "irr": None if math.isnan(irr) else irr,
            "payback_years": None if math.isnan(pb) else pb,
            "discounted_payback_years": None if math.isnan(dpb) else dpb,
            "total_capex_cny": float(capex.sum()),
            "total_revenue_cny": float(rev.sum()),
            "revenue_outside_horizon_cny": outside,
            "capex_outside_horizon_cny": capex_outside,
            "rows": rows,
            "rule_codes": [],
            "tables": [],
        },
        {"flows": flows, "years": years},
    )


# --- financing ----------------------------------------------------------------------------------


def _aligned_rights(streams: list[Any], first_year: int, n: int) -> list[dict[str, Any]]:
    """Unrestricted revenue of each stream from ``first_year`` (instrument year 1), n years."""
    out: dict[str, np.ndarray] = {}
    for s in streams:
        if s.earmark is not None:
            continue
        v = out.setdefault(s.name, np.zeros(n))
        for y, r in zip(s.years, s.revenue, strict=True):
            if first_year <= int(y) < first_year + n:
                v[int(y) - first_year] += float(r)
    kind = {s.name: s.kind for s in streams}
    return [
        {"name": k, "kind": _right_kind(kind[k]), "revenue": v.tolist()}
        for k, v in out.items()
        if np.any(v > 0)
    ]


def _right_kind(stream_kind: str) -> str:
    if stream_kind == "carbon":
        return "carbon_sink"
    if stream_kind in ("land_quota", "farmland_quota"):
        return "land_quota"
    return "other"


def financing_stage(
    spec: ProjectSpec, revenue: Stage, cashflow: Stage, *, file: str | None = None
) -> Stage:
    """Run each financing structure of the project over its revenue and cash flows.

    Parameters
    ----------
    spec : ProjectSpec
        ``financing`` items (instrument name and inputs, money in CNY, rates in [1/yr]).
    revenue, cashflow : Stage
        The streams (pledged rights) and the CFADS [CNY] per period.
    file : str, optional
        The project file, for error messages.

    Returns
    -------
    Stage
        JSON: each instrument's summary, schedule, rule codes and flags; data: the pledge
        loan's :class:`~restora.finance.cashflow.DebtSchedule` for the risk stage.
    """
    from restora.finance.cashflow import loan_schedule
    from restora.finance.instruments import run_instrument

    if not spec.financing:
        return not_assessed("financing", "the project file names no financing structure")
    n = spec.horizon_years
    cfads = cashflow.data["flows"].cfads[0, 1:]
    results = []
    debt = None
    for item in spec.financing:
        inputs = dict(item.inputs)
        if item.instrument == "pledge-loan":
            if "rights" not in inputs:
                if not revenue.assessed:
                    raise InputError(
                        "a pledge loan needs rights or the project's revenue streams",
                        file=file,
                        field="financing.rights",
                    )
                tenor = int(inputs.get("tenor_years", n))
                inputs["rights"] = _aligned_rights(
                    revenue.data["streams"], spec.start_year + 1, tenor
                )
            if "cfads" not in inputs:
                tenor = int(inputs.get("tenor_years", n))
                c = np.zeros(tenor)
                c[: min(tenor, cfads.size)] = cfads[:tenor]
                inputs["cfads"] = np.maximum(c, 0.0).tolist()
        if item.instrument == "special-bond" and revenue.assessed:
            for p in inputs.get("projects", []):
                if isinstance(p, dict) and "revenue" not in p:
                    p["revenue"] = np.maximum(cfads, 0.0).tolist()
        res = run_instrument(item.instrument, inputs, file=file)
        d = res.to_dict()
        results.append(d)
        if item.instrument == "pledge-loan" and debt is None and res.summary.get("amount"):
            debt = loan_schedule(
                float(res.summary["amount"]),
                float(inputs["interest_rate"]),
                int(inputs["tenor_years"]),
                n + 1,
                draw_period=0,
                grace=int(inputs.get("grace_years", 0)),
                kind="level" if inputs.get("amortisation") == "level" else "annuity",
            )
    tables = _unique_tables([t for r in results for t in r["tables_used"]])
    return Stage(
        "financing",
        {
            "status": ASSESSED,
            "method": "restora.finance.instruments (each instrument's own method; year 1 = "
            "period 1 of the project)",
            "instruments": results,
            "rule_codes": sorted({c for r in results for c in r["rule_codes"]}),
            "flags": [f for r in results for f in r["flags"]],
            "tables": tables,
        },
        {"debt": debt},
    )


# --- risk ---------------------------------------------------------------------------------------


def risk_stage(spec: ProjectSpec, cost: Stage, cashflow: Stage, financing: Stage) -> Stage:
    """Monte Carlo of NPV/IRR (and the pledge loan's DSCR and lenders' loss where there is one).

    Capex in each scenario is scaled by the cost simulation's draw of the life-cycle cost
    (same draws, same seed); the project's drivers act on capex, opex, revenue and timing.
    """
    from restora.finance import risk

    drivers = [
        risk.Driver(d.name, d.target, d.low, d.mode, d.high, d.distribution)
        for d in spec.risk.drivers
    ]
    debt = financing.data.get("debt") if financing.assessed else None
    res = risk.simulate(
        cashflow.data["flows"],
        drivers,
        rate=spec.discount_rate,
        hurdle=spec.hurdle_rate,
        n=spec.risk.draws,
        seed=spec.risk.seed,
        debt=debt,
        capex_factors=cost.data["capex_factors"],
    )
    summ = risk.summary(res)
    counts, edges = np.histogram(res.npv, bins=40)
    tor = risk.tornado(cashflow.data["flows"], drivers, rate=spec.discount_rate) if drivers else []
    return Stage(
        "risk",
        {
            "status": ASSESSED,
            "method": "Monte Carlo over the drivers (triangular/PERT) with capex scaled by the "
            "life-cycle cost draws; NPV at the discount rate, IRR, DSCR and lenders' loss",
            "draws": spec.risk.draws,
            "drivers": [d.model_dump() for d in spec.risk.drivers],
            "summary": summ,
            "npv_histogram": {"edges_cny": edges.tolist(), "counts": counts.tolist()},
            "tornado": tor,
            "rule_codes": [],
            "tables": [],
        },
    )


# --- modes --------------------------------------------------------------------------------------


def modes_stage(
    spec: ProjectSpec,
    register: Register,
    county: CountyDiagnosis,
    diagnosis: Stage,
    value: Stage,
    cashflow: Stage,
    financing: Stage,
    *,
    plan: Stage | None = None,
    on: dt.date | str | None = None,
    region: str | None = None,
) -> Stage:
    """Recommended value-realization mode of each mine, and the IAD evaluation of the project.

    The IAD figures come from this appraisal: hazard points (registered hazards of the
    project's mines), hazard points with treatment works in the plan (planned, to be verified:
    noted in ``figure_notes``), the cash flows, IRR, payback and, when assessed, GEP before and
    after basic restoration; the project file's ``modes.figures`` add or override figures.
    """
    import importlib

    try:  # the modules, not the names the package may re-export
        derive = importlib.import_module("restora.modes.derive")
        iad = importlib.import_module("restora.modes.iad")
        recommend = importlib.import_module("restora.modes.recommend")
    except ImportError:  # the package has not landed
        return not_assessed("modes", "restora.modes is not available")
    user = spec.modes or {}
    rules = recommend.load_rules(on=on, region=region)
    mines = []
    tables: list[dict[str, Any]] = (
        [*rules.provenance] if isinstance(rules.provenance, list) else [rules.provenance]
    )
    codes: set[str] = set()
    for mid in diagnosis.data["mines"]:
        prof = derive.derive_from_diagnosis(
            register, mid, county, user.get("context"), on=on, region=region
        )
        rec = recommend.recommend(prof.profile, rules)
        mines.append({"mine_id": mid, **rec.as_dict(), "profile": prof.as_dict()})
        codes.update(rec.rule_codes)
        tables += list(prof.tables)
    hazards = diagnosis.json["hazards"]
    figures: dict[str, Any] = {
        "hazard_points_total": len(hazards),
        "cash_flows": [r["project_flow_cny"] for r in cashflow.json["rows"]],
    }
    figure_notes: dict[str, str] = {}
    if plan is not None:
        ids = {h["hazard_id"] for h in hazards}
        treated = {
            m.group(1)
            for p in plan.json["plans"]
            for w in p["works"]
            for m in [HAZARD_NOTE.match(w.get("note") or "")]
            if m and m.group(1) in ids
        }
        figures["hazard_points_eliminated"] = len(treated)
        figure_notes["hazard_points_eliminated"] = (
            "hazards with treatment works in the plan (planned, to be verified on completion)"
        )
    if cashflow.json["irr"] is not None:
        figures["irr"] = cashflow.json["irr"]
    if cashflow.json["payback_years"] is not None:
        figures["payback_years"] = cashflow.json["payback_years"]
    gep = value.json.get("gep", {})
    if gep.get("status") == ASSESSED:
        figures["gep_before"] = gep["before_cny_per_yr"]
        figures["gep_after"] = gep["after_cny_per_yr"]
        # GEP before = now; after = once basic restoration is complete
        figures["gep_years"] = value.data["restoration_years"]
    figures.update(user.get("figures", {}))
    evals = iad.compare(figures, on=on, region=region)
    return Stage(
        "modes",
        {
            "status": ASSESSED,
            "method": "mode rules of Wang et al. (2026) scored on each mine's derived profile "
            "(modes/rules); IAD evaluation with criteria computed from this appraisal",
            "mines": mines,
            "iad": {k: v.as_dict() for k, v in evals.items()},
            "figures": figures,
            "figure_notes": figure_notes,
            "rule_codes": sorted(codes),
            "tables": _unique_tables(tables),
        },
    )


# --- the whole project --------------------------------------------------------------------------


def appraise(
    spec: ProjectSpec,
    register: Register,
    county: CountyDiagnosis,
    *,
    project_input: dict[str, Any] | None = None,
    county_inputs: list[dict[str, Any]] | None = None,
    notes: list[str] | None = None,
    map_data: dict[str, Any] | None = None,
    on: dt.date | str | None = None,
) -> dict[str, Any]:
    """Run every stage and assemble ``appraisal.json``.

    Parameters
    ----------
    spec : ProjectSpec
        The project.
    register : Register
        The county's register (the project's mines must be in it).
    county : CountyDiagnosis
        The register diagnosed once (shared by the projects of a run).
    project_input, county_inputs : dict, list of dict, optional
        ``{"file", "sha256"}`` of the project file and of the county's files.
    notes : list of str, optional
        Caveats from reading the inputs (skipped rows …).
    map_data : dict, optional
        Geometries for the map (:func:`restora.appraisal.mapdata.map_data`).
    on : date or str, optional
        Date whose reference tables apply (default today).

    Returns
    -------
    dict
        The JSON document (see docs/appraisal.md).
    """
    file = (project_input or {}).get("file")
    region = str(register.mines["region_code"].iloc[0]) if len(register.mines) else None
    diag = diagnosis_stage(spec, register, county, file=file, on=on, region=region)
    plan = plan_stage(spec, register, county, diag, on=on)
    cost = cost_stage(spec, plan, on=on)
    rev = revenue_stage(spec, file=file)
    value = value_stage(spec, county, diag, plan, rev, on=on, region=region)
    cf = cashflow_stage(spec, cost, rev)
    fin = financing_stage(spec, rev, cf, file=file)
    rsk = risk_stage(spec, cost, cf, fin)
    modes = modes_stage(
        spec, register, county, diag, value, cf, fin, plan=plan, on=on, region=region
    )
    stages = [diag, plan, cost, value, rev, cf, fin, rsk, modes]
    tables = _unique_tables([t for s in stages for t in s.json.get("tables", [])])
    codes = sorted({c for s in stages for c in s.json.get("rule_codes", [])})
    not_done: dict[str, str] = {s.name: s.json["reason"] for s in stages if not s.assessed}
    doc: dict[str, Any] = {
        "schema": "restora.appraisal/1",
        "restora_version": __version__,
        "on": str(on or dt.date.today().isoformat()),
        "project": {
            "project_id": spec.project_id,
            "name": spec.name,
            "name_en": spec.name_en,
            "mines": list(spec.mines),
            "mine_names": {
                m: str(n)
                for m, n in zip(register.mines["mine_id"], register.mines["name"], strict=True)
                if m in spec.mines
            },
            "region_code": region,
            "start_year": spec.start_year,
            "horizon_years": spec.horizon_years,
            "note": spec.note,
            "fictional": spec.fictional,
        },
        "inputs": {
            "project": project_input,
            "county": county_inputs or [],
            "plans": [
                {"mine_id": p["mine_id"], "plan_sha256": p["plan_sha256"]}
                for p in plan.json["plans"]
            ],
            "spec_sha256": _sha(spec.model_dump(mode="json")),
        },
        "notes": list(notes or []),
        "not_assessed": not_done,
        "stages": {s.name: s.json for s in stages},
        "map": map_data,
        "rule_codes": codes,
        "reference_tables": tables,
    }
    if value.json.get("gep", {}).get("status") != ASSESSED:
        not_done["gep"] = value.json["gep"]["reason"]
    return doc
