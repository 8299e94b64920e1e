"""A first restoration plan from the register and the diagnosis (to be edited by people).

For each site of a mine the planner applies the template of its kind (``planning/site-works``),
scaled by the site's area; adds hazard treatment per registered hazard (by kind and volume);
soil reconstruction to the target topsoil depth of the after-use less the soil already there;
revegetation by target cover in tree-shrub-grass layers with survival and replanting
(``planning/revegetation``); water works when the site holds water (a subsidence lake);
pollution treatment per diagnosed zone with the first suitable technique of the zone; care
for the post-closure years; and the mine's monitoring and verification programme
(``planning/monitoring``). The after-use is the diagnosis's first-ranked use when given, else
the template's default (water when the site holds water).

What it does not (yet) use: the hazard danger grade (every registered hazard with a volume is
treated, whatever its grade; the grade is written in the work's note), people/property
threatened, the site's geometry beyond its area (the lake's bank length is the perimeter of a
circle of the same area, a lower bound), soil samples directly (only zones passed in), and
water depth (lake excavation is per hectare).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from restora import refdata
from restora.inventory.model import Register, Site
from restora.planning.model import RestorationPlan, SitePlan, Work
from restora.units import M2_PER_HM2, MU_PER_HM2

SITE_WORKS = "planning/site-works"
REVEGETATION = "planning/revegetation"
MONITORING = "planning/monitoring"
ZONE_ORDER = ("clean", "mild", "moderate", "severe")
_USE_GROUP = {  # suitability after-use → technique land_use_after group
    "cultivated": "agricultural",
    "garden": "agricultural",
    "forest": "ecological",
    "grass": "ecological",
    "water": "ecological",
    "leave_as_is": "ecological",
    "construction": "construction",
}


class TechniqueLike(Protocol):
    """What the planner reads of a technique (``restora.diagnosis.techniques.Technique``)."""

    @property
    def code(self) -> str: ...
    @property
    def unit_cost_key(self) -> str: ...
    @property
    def land_use_after(self) -> tuple[str, ...]: ...
    @property
    def max_depth_m(self) -> float: ...


class ZoneLike(Protocol):
    """What the planner reads of a diagnosis zone (``restora.diagnosis.zoning.Zone``)."""

    @property
    def zone_id(self) -> str: ...
    @property
    def zone_class(self) -> str: ...
    @property
    def area_hm2(self) -> float: ...
    @property
    def techniques(self) -> Sequence[TechniqueLike]: ...


@dataclass(frozen=True)
class PlannerTables:
    site_works: dict[str, Any]
    revegetation: dict[str, Any]
    monitoring: dict[str, Any]
    provenance: tuple[dict[str, Any], ...]


def load_tables(on: dt.date | str | None = None, region: str | None = None) -> PlannerTables:
    """The planner's templates in force."""
    ts = [refdata.get(n, on=on, region=region) for n in (SITE_WORKS, REVEGETATION, MONITORING)]
    return PlannerTables(ts[0].data, ts[1].data, ts[2].data, tuple(t.provenance() for t in ts))


def _units(lib_units: Mapping[str, str] | None, item: str, default: str) -> str:
    return lib_units.get(item, default) if lib_units else default


def plan_site(
    site: Site,
    hazards: Sequence[Any],
    tables: PlannerTables,
    *,
    after_use: str | None = None,
    zones: Sequence[ZoneLike] = (),
    post_closure_years: int = 3,
    units: Mapping[str, str] | None = None,
    hazard_grades: Mapping[str, str] | None = None,
) -> tuple[SitePlan, list[str]]:
    """Works for one site; returns the site plan and the rule codes applied.

    Parameters
    ----------
    site : Site
        From the register (kind, area [hm²], slope [degree], water, soil thickness [m]).
    hazards : sequence of Hazard
        The register's hazards on this site (kind, volume [m³]).
    after_use : str, optional
        The diagnosis's first-ranked use; default the template's.
    zones : sequence of zones
        Pollution treatment zones of the site (zone class, area [hm²], candidate techniques).
    units : mapping, optional
        Item → unit from the cost library (so plans carry the library's unit spelling).
    """
    sw = tables.site_works
    rv = tables.revegetation
    a = site.area_hm2
    rules: list[str] = []
    works: list[Work] = []

    qr = sw.get("quantity_range", {"low": 1.0, "high": 1.0})

    def add(item: str, qty: float, unit: str, phase: str, **kw: Any) -> None:
        if qty > 0:
            works.append(
                Work(
                    item=item,
                    quantity=round(qty, 3),
                    quantity_low=round(qty * float(qr["low"]), 3),
                    quantity_high=round(qty * float(qr["high"]), 3),
                    unit=_units(units, item, unit),
                    phase=phase,  # type: ignore[arg-type]  # checked by pydantic
                    **kw,
                )
            )

    tmpl = sw.get(site.kind, {"after_use": "grass", "works": []})
    rules.append(f"PLAN-SITE-{site.kind.upper()}")
    if site.water:
        use = after_use or sw["water"]["after_use"]
        rules.append("PLAN-WATER")
        templates = list(sw["water"]["works"])
    else:
        use = after_use or tmpl["after_use"]
        templates = list(tmpl["works"])
    steep = site.slope_deg is not None and site.slope_deg > float(sw["steep_slope_deg"])
    if steep:
        rules.append("PLAN-SLOPE-STEEP")
    perimeter_m = 2.0 * math.sqrt(math.pi * a * M2_PER_HM2)
    unit_of = {"area_hm2": "hm2", "perimeter_m": "m"}
    for t in templates:
        if t.get("when") == "slope_over_25" and not steep:
            continue
        basis = {"area_hm2": a, "perimeter_m": perimeter_m}[t["basis"]]
        item = t["item"]
        phase = _phase_of(item)
        default_unit = "hm2" if item == "terrain_reshaping" else _default_unit(item, unit_of)
        add(
            item,
            basis * float(t["per"]),
            default_unit,
            phase,
            start_year=0 if phase == "closure_hazard" else 1,
        )
    for h in hazards:
        rule = sw["hazards"].get(h.kind)
        if rule is None or h.volume_m3 is None:
            continue
        grade = (hazard_grades or {}).get(h.hazard_id)
        add(
            rule["item"],
            float(h.volume_m3) * float(rule["per"]),
            _default_unit(rule["item"], {}),
            "closure_hazard",
            hazard_id=str(h.hazard_id),
            note=f"hazard {h.hazard_id} ({h.kind}" + (f", grade {grade})" if grade else ")"),
        )
        rules.append(f"PLAN-HAZARD-{h.kind.upper()}")

    # pollution zones: first technique whose land use after fits the after-use
    group = _USE_GROUP.get(use, "ecological")
    depth_cap = float(sw["pollution_treatment_depth_m"])
    for z in zones:
        if z.zone_class not in ZONE_ORDER or z.zone_class == "clean" or not z.techniques:
            continue
        tech = next((t for t in z.techniques if group in t.land_use_after), z.techniques[0])
        u = _units(units, tech.unit_cost_key, "m2")
        area_m2 = z.area_hm2 * M2_PER_HM2
        qty = area_m2 * min(depth_cap, tech.max_depth_m) if u.startswith("m3") else area_m2
        add(
            tech.unit_cost_key,
            qty,
            u,
            "pollution",
            start_year=1,
            zone_id=z.zone_id,
            zone_class=z.zone_class,
            technique=tech.code,
            note=f"zone {z.zone_id} ({z.zone_class}) {tech.code}",
        )
        rules.append(f"PLAN-POLL-{tech.code}")

    cover = dict(rv["covers"].get(use, {"tree": 0, "shrub": 0, "grass": 0, "topsoil_m": 0}))
    have = site.soil_thickness_m or 0.0
    need = max(float(cover["topsoil_m"]) - have, 0.0)
    if need > 0:
        add(
            "topsoil_cover",
            a * M2_PER_HM2 * need,
            "m3",
            "basic_restoration",
            start_year=1,
            note=f"to {cover['topsoil_m']} m; {have} m present",
        )
        rules.append("PLAN-TOPSOIL")
    dens = rv["planting_density"]
    surv = float(rv["survival_rate"])
    rounds = int(rv["replanting_rounds"])
    trees = a * float(cover["tree"]) * float(dens["trees_per_hm2"])
    shrubs = a * float(cover["shrub"]) * float(dens["shrubs_per_hm2"])
    grass_m2 = a * M2_PER_HM2 * float(cover["grass"])
    if steep and any(w.item == "hydroseeding" for w in works):
        grass_m2 = 0.0  # the steep face is hydroseeded instead
    add("tree_planting", _ceil(trees), "plant", "revegetation", start_year=1)
    add("shrub_planting", _ceil(shrubs), "plant", "revegetation", start_year=1)
    add("grass_seeding", grass_m2, "m2", "revegetation", start_year=1)
    for r in range(1, rounds + 1):
        dead = (1.0 - surv) ** r
        add(
            "tree_planting",
            _ceil(trees * dead),
            "plant",
            "revegetation",
            start_year=1 + r,
            note=f"replanting round {r}",
        )
        add(
            "shrub_planting",
            _ceil(shrubs * dead),
            "plant",
            "revegetation",
            start_year=1 + r,
            note=f"replanting round {r}",
        )
    vegetated = trees + shrubs + grass_m2 > 0 or any(w.item == "hydroseeding" for w in works)
    if vegetated and post_closure_years > 0:
        rules.append("PLAN-REVEG-CARE")
        for item in ("irrigation", "inspection"):
            add(
                item,
                a,
                "hm2*yr",
                "maintenance",
                start_year=2,
                years=post_closure_years,
                per_year=True,
            )
    sp = SitePlan(
        site_id=site.site_id,
        kind=site.kind,
        area_hm2=a,
        after_use=use,
        topsoil_m=float(cover["topsoil_m"]),
        cover={k: float(cover[k]) for k in ("tree", "shrub", "grass")},
        works=works,
    )
    return sp, rules


_PHASES = {
    "slope_cutting": "closure_hazard",
    "anchoring": "closure_hazard",
    "retaining_wall": "closure_hazard",
    "drainage_ditch": "closure_hazard",
    "pit_filling": "closure_hazard",
    "fissure_filling": "closure_hazard",
    "hydroseeding": "revegetation",
    "isolation_barrier": "pollution",
}
_UNITS = {
    "slope_cutting": "m3",
    "anchoring": "m",
    "retaining_wall": "m3",
    "drainage_ditch": "m",
    "pit_filling": "m3",
    "fissure_filling": "m3",
    "hydroseeding": "m2",
    "isolation_barrier": "m2",
    "pond_excavation": "m3",
    "bank_protection": "m",
}


def _ceil(x: float) -> int:
    """Whole plants, ignoring float noise (450.00000000000006 → 450)."""
    return math.ceil(round(x, 6))


def _phase_of(item: str) -> str:
    return _PHASES.get(item, "basic_restoration")


def _default_unit(item: str, unit_of: Mapping[str, str]) -> str:
    return _UNITS.get(item, "hm2")


def make_plan(
    register: Register,
    mine_id: str,
    *,
    price_year: int,
    start_year: int,
    post_closure_years: int = 3,
    after_uses: Mapping[str, str] | None = None,
    zones: Mapping[str, Sequence[ZoneLike]] | None = None,
    hazard_grades: Mapping[str, str] | None = None,
    units: Mapping[str, str] | None = None,
    tables: PlannerTables | None = None,
    on: dt.date | str | None = None,
) -> RestorationPlan:
    """A first restoration plan for one mine of the register.

    Parameters
    ----------
    register : Register
    mine_id : str
    price_year, start_year : int
        Price year of the estimate and calendar year of year 0 [yr].
    post_closure_years : int
        Years of care after revegetation [yr].
    after_uses : mapping site_id → use, optional
        First-ranked uses from ``restora.diagnosis.suitability.best_uses``.
    zones : mapping site_id → zones, optional
        Pollution treatment zones from ``restora.diagnosis.zoning.zone_site``.
    hazard_grades : mapping hazard_id → grade, optional
        From ``restora.diagnosis.hazard.grade_hazards`` (noted on the works, not yet used to
        select them).

    Returns
    -------
    RestorationPlan
        With ``rules`` listing the rule codes applied (PLAN-SITE-*, PLAN-SLOPE-STEEP,
        PLAN-WATER, PLAN-HAZARD-*, PLAN-POLL-*, PLAN-TOPSOIL, PLAN-REVEG-CARE, PLAN-MONITOR).
    """
    mine = register.mine(mine_id)
    tables = tables or load_tables(on=on, region=mine.region_code)
    sites = register.sites_of(mine_id)
    hazards = register.hazards_of(mine_id)
    by_site: dict[str | None, list[Any]] = {}
    for h in hazards:
        by_site.setdefault(h.site_id, []).append(h)
    plans: list[SitePlan] = []
    rules: list[str] = []
    for s in sites:
        sp, r = plan_site(
            s,
            by_site.get(s.site_id, []),
            tables,
            after_use=(after_uses or {}).get(s.site_id),
            zones=(zones or {}).get(s.site_id, ()),
            post_closure_years=post_closure_years,
            units=units,
            hazard_grades=hazard_grades,
        )
        plans.append(sp)
        rules.extend(r)
    mine_works: list[Work] = []
    notes: list[str] = [
        f"site {s.site_id} has no boundary (a point register's centre point): its works are "
        f"sized on its declared area, {s.area_hm2:.4f} hm² ({s.area_hm2 * MU_PER_HM2:.2f} 亩)"
        for s in sites
        if not s.has_boundary
    ]
    loose = by_site.get(None, [])
    if loose:
        notes.append(
            f"{len(loose)} hazard(s) without a site are not planned: "
            + ", ".join(h.hazard_id for h in loose)
        )
    mon = tables.monitoring
    total_area = sum(s.area_hm2 for s in sites)
    span = int(mon["works_years"]) + post_closure_years
    hazard_area = sum(s.area_hm2 for s in sites if by_site.get(s.site_id))

    def add(item: str, qty: float, unit: str, phase: str, **kw: Any) -> None:
        if qty > 0:
            mine_works.append(
                Work(
                    item=item,
                    quantity=round(qty, 3),
                    unit=_units(units, item, unit),
                    phase=phase,  # type: ignore[arg-type]  # checked by pydantic
                    **kw,
                )
            )

    add("topographic_survey", total_area, "hm2", "survey_design")
    add("geotech_investigation", hazard_area, "hm2", "survey_design")
    sensors = math.ceil(hazard_area / 10.0 * float(mon["sensors_per_10_hm2"])) if hazards else 0
    add("monitoring_sensor", sensors, "sensor", "monitoring")
    add("sensor_operation", sensors, "sensor*yr", "monitoring", years=span, per_year=True)
    add(
        "sampling_campaign",
        float(mon["campaigns_per_year"]),
        "campaign",
        "monitoring",
        years=span,
        per_year=True,
    )
    add("remote_sensing", 1, "mine*yr", "monitoring", years=span, per_year=True)
    add("verification", float(mon["verifications"]), "mine", "verification", start_year=span)
    rules.append("PLAN-MONITOR")
    return RestorationPlan(
        mine_id=mine_id,
        region_code=mine.region_code,
        price_year=price_year,
        start_year=start_year,
        post_closure_years=post_closure_years,
        sites=plans,
        mine_works=mine_works,
        rules=list(dict.fromkeys(rules)),
        notes=notes,
    )
