"""Reads computed on demand for one mine: diagnosis, plan, cost estimate, valuation.

Each is what the command line computes for a mine of the store, by the same functions:

- diagnosis — :func:`restora.diagnosis.county.diagnose_county` on the mine (hazard grades,
  soil classes with their detection limits, suitability; as ``plan make`` and the appraisal
  diagnose it), :func:`restora.diagnosis.site_zones.zone_sites` (``diagnose zones``) and the
  per-sample classification of ``diagnose soil --mine``
  (:func:`restora.diagnosis.soil_register.soil_samples`, :func:`restora.diagnosis.soil.classify`);
- plan — :func:`restora.planning.diagnosed.plan_mine` with the unit-cost library of the mine's
  region (``plan make``);
- cost — :func:`restora.costing.report.cost_report` over that plan (``cost estimate --mine``);
- valuation — ESV before and after of the mine's sites, the after-cover from the plan's
  after-uses (:func:`restora.valuation.esv.cover_after`, :func:`~restora.valuation.esv.
  esv_before_after`; ``value sites --mine`` with the plan's after-uses, as the appraisal's value
  stage takes them).

They are bounded in time: one mine at a time, the Monte Carlo draws capped
(:data:`MAX_DRAWS`), and each result kept per store revision (:mod:`restora.service.ranking`)
and parameters in a small per-process cache (:data:`CACHE_SIZE` entries), so repeated reads of a
page cost nothing and any write of the register makes them stale.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

import numpy as np
import pandas as pd

from restora.service.problems import Problem
from restora.service.records import jsonable
from restora.service.security import Principal, check_region

#: Largest Monte Carlo sample of a cost estimate over the API [draw].
MAX_DRAWS = 20_000
#: Results kept per process.
CACHE_SIZE = 64


class ResultCache:
    """Results keyed by (what, store revision, parameters); least recently used dropped."""

    def __init__(self, size: int = CACHE_SIZE) -> None:
        self.size = size
        self.items: OrderedDict[Hashable, Any] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        with self.lock:
            if key in self.items:
                self.items.move_to_end(key)
                return self.items[key]
        value = compute()
        with self.lock:
            self.items[key] = value
            while len(self.items) > self.size:
                self.items.popitem(last=False)
        return value


def cached(request: Any, key: tuple[Hashable, ...], compute: Callable[[], Any]) -> Any:
    """``compute()`` once per store revision and key (the cache lives on the app)."""
    from restora.service.ranking import revision

    app = request.app
    cache = getattr(app.state, "result_cache", None)
    if cache is None:
        cache = app.state.result_cache = ResultCache()
    return cache.get((revision(app.state.store.engine), *key), compute)


def mine_register(store: Any, principal: Principal, mine_id: str) -> Any:
    """The register of one live mine the principal may read (404 otherwise)."""
    register = store.load_register([mine_id])
    if not len(register.mines):
        raise Problem(404, f"no mine {mine_id!r}", kind="not-found")
    check_region(principal, str(register.mines["region_code"].iloc[0]), write=False)
    return register


def _day(on: dt.date | None) -> dt.date:
    return on or dt.date.today()


# -- diagnosis -----------------------------------------------------------------------------


def diagnosis(register: Any, mine_id: str, on: dt.date) -> dict[str, Any]:
    """Soil classes (with detection limits), treatment zones, hazard grades, suitability."""
    from restora.diagnosis import soil
    from restora.diagnosis.county import diagnose_county
    from restora.diagnosis.site_zones import zone_sites

    region = str(register.mine(mine_id).region_code)
    county = diagnose_county(register, {}, on=on, region=region)
    ranking = county.ranking
    grades = ranking.hazard_grades
    mine_grade = grades[grades["mine_id"].astype(str) == mine_id]
    zoned = zone_sites(register.sites, register.samples, on=on, region=region)
    soil_records, soil_tables, notes = _soil_records(register, on, region)
    classes = county.sample_classes
    zones = [_zones(z) for z in zoned]
    return jsonable(
        {
            "mine_id": mine_id,
            "region_code": region,
            "on": on.isoformat(),
            "soil": {
                "standard": "gb15618",
                "label": soil.label("gb15618"),
                "samples": soil_records,
                "classes": [] if classes is None else classes.to_dict("records"),
                "notes": notes,
            },
            "zones": zones,
            "hazards": {
                "grade": mine_grade["grade"].iloc[0] if len(mine_grade) else "none",
                "hazards": ranking.graded_hazards.to_dict("records"),
                "rule_codes": list(mine_grade["rule_codes"].iloc[0]) if len(mine_grade) else [],
            },
            "suitability": _suitability(county),
            "rule_codes": county.rule_codes,
            "reference_tables": [*county.provenance, *soil_tables],
        }
    )


def _soil_records(
    register: Any, on: dt.date, region: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[str]]:
    """``diagnose soil --mine`` records of the mine's farmland samples (GB 15618-2018)."""
    from restora.diagnosis import soil, soil_plausibility
    from restora.diagnosis.soil_register import soil_samples

    data, notes = soil_samples(register.samples, "gb15618", on=on, region=region)
    if not len(data):
        return [], [], list(notes)
    result = soil.classify(
        data.concentration,
        data.pollutants,
        data.land,
        data.ph,
        standard=data.standard,
        on=on,
        region=region,
        censored=data.censored,
        detection_limit=data.detection_limit,
    )
    warned = soil_plausibility.check(
        np.where(data.censored, np.nan, data.concentration),
        data.pollutants,
        soil_plausibility.load_ranges(on=on, region=region),
        rows=np.arange(len(data)) + 1,
        sample_ids=list(data.sample_id),
    )
    per_row: list[list[dict[str, Any]]] = [[] for _ in range(len(data))]
    at = {sid: k for k, sid in enumerate(data.sample_id)}
    for w in warned:
        per_row[at[w["sample_id"]]].append(w)
    records = soil.to_records(result, list(data.sample_id), extra={"warnings": per_row})
    return records, list(result.tables_used()), list(notes)


def _zones(z: Any) -> dict[str, Any]:
    """A site's zoning as ``diagnose zones`` gives it, each zone's polygon as GeoJSON lon/lat."""
    import shapely

    from restora.inventory.geometry import CHINA_ALBERS, STORAGE_CRS, reproject

    result = z.result.as_dict()
    for zone, obj in zip(result["zones"], z.result.zones, strict=True):
        zone.pop("geometry_wkt", None)
        geom = getattr(obj, "geometry", None)
        if geom is None or shapely.is_empty(geom):
            zone["geometry"] = None
        else:
            lonlat = reproject(np.array([geom], dtype=object), CHINA_ALBERS, STORAGE_CRS)[0]
            zone["geometry"] = shapely.geometry.mapping(lonlat)
    return {
        "site_id": z.site_id,
        "mine_id": z.mine_id or None,
        "n_samples": z.json["n_samples"],
        **result,
        "warnings": z.json["warnings"],
    }


def _suitability(county: Any) -> list[dict[str, Any]]:
    """Each site's after-uses: the best, the suitable ones ranked, the excluded with why."""
    assessed: pd.DataFrame = county.suitability
    inputs = county.site_inputs.set_index("site_id")
    out = []
    for sid, group in assessed.groupby("site_id", sort=False):
        ok = group[group["status"] == "suitable"].sort_values("rank")
        no = group[group["status"] == "excluded"]
        raw = inputs.loc[sid]
        row = raw.iloc[0] if isinstance(raw, pd.DataFrame) else raw
        out.append(
            {
                "site_id": sid,
                "best_use": county.best_use.get(sid),
                "options": [
                    {"use": u, "rank": int(r), "rule_codes": list(c)}
                    for u, r, c in zip(ok["use"], ok["rank"], ok["rule_codes"], strict=True)
                ],
                "excluded": [
                    {"use": u, "rule_codes": list(c)}
                    for u, c in zip(no["use"], no["rule_codes"], strict=True)
                ],
                "pollution_class": row.get("pollution_class"),
            }
        )
    return out


# -- plan, cost, valuation -----------------------------------------------------------------


def plan(
    register: Any,
    mine_id: str,
    *,
    on: dt.date,
    price_year: int | None,
    start_year: int | None,
    post_closure_years: int | None,
) -> Any:
    """The mine's first restoration plan (``plan make``): a :class:`RestorationPlan`."""
    from restora.costing.lifecycle import load_assumptions
    from restora.costing.unitcosts import load_library
    from restora.planning.diagnosed import plan_mine

    region = str(register.mine(mine_id).region_code)
    lib = load_library(on=on, region=region)
    return plan_mine(
        register,
        mine_id,
        price_year=price_year or load_library(on=on).newest_price_year,
        start_year=start_year or on.year + 1,
        post_closure_years=(
            load_assumptions(on=on).post_closure_years
            if post_closure_years is None
            else post_closure_years
        ),
        units={k: u.unit for k, u in lib.items.items()},
        on=on,
    )


def cost(
    the_plan: Any,
    mine_id: str,
    *,
    on: dt.date,
    draws: int,
    seed: int,
    tiers: str,
    distribution: str | None,
) -> dict[str, Any]:
    """``cost estimate --mine``: the report of :func:`restora.costing.report.cost_report`."""
    from restora.costing.report import cost_report
    from restora.errors import InputError

    try:
        report, *_ = cost_report(
            [the_plan],
            draws=draws,
            seed=seed,
            tiers=tiers,
            distribution=distribution,
            on=on,
            where=[f"mine {mine_id}"],
        )
    except ValueError as exc:
        raise InputError(str(exc)) from exc
    return jsonable(report)  # type: ignore[no-any-return]


def valuation(register: Any, the_plan: Any, mine_id: str, *, on: dt.date) -> dict[str, Any]:
    """ESV before and after of the mine's sites, the after-cover from the plan's after-uses."""
    from restora.inventory.site_area import site_area_hm2
    from restora.valuation import esv

    region = str(register.mine(mine_id).region_code)
    sites = register.sites.reset_index(drop=True)
    after_use = {s.site_id: s.after_use for s in the_plan.sites}
    cover, cover_tables = esv.cover_after(after_use, on=on, region=region)
    area, source = site_area_hm2(sites)
    table = pd.DataFrame(
        {
            "site_id": sites["site_id"].astype(str).to_numpy(),
            "kind": sites["kind"].to_numpy(dtype=object),
            "water": sites["water"].astype("boolean").fillna(False).to_numpy(dtype=bool),
            "area_hm2": area,
        }
    )
    per_site = esv.esv_before_after(table, cover, on=on, region=region)
    per_site.insert(per_site.columns.get_loc("area_hm2") + 1, "area_source", source)
    per_site["after_use"] = per_site["site_id"].map(after_use)
    return jsonable(  # type: ignore[no-any-return]
        {
            "mine_id": mine_id,
            "method": per_site.attrs["method"],
            "price_year": per_site.attrs["price_year"],
            "total_before_cny_per_yr": float(per_site["esv_before_cny_per_yr"].sum()),
            "total_after_cny_per_yr": float(per_site["esv_after_cny_per_yr"].sum()),
            "area_sources": {s: int((source == s).sum()) for s in ("geometry", "declared")},
            "sites": per_site.to_dict("records"),
            "tables": [*per_site.attrs["tables"], *cover_tables],
        }
    )
