"""The planner turns register sites and hazards into works, with quantities worked by hand."""

from __future__ import annotations

import pandas as pd
import pytest
import shapely

from restora.costing.lifecycle import estimate
from restora.inventory.model import Register, empty_table
from restora.planning.planner import make_plan


def _register() -> Register:
    mines = pd.DataFrame(
        [
            {
                "mine_id": "M1",
                "name": "test quarry",
                "region_code": "430521",
                "mineral": "building_stone",
                "status": "abandoned",
                "responsible_party": "absent",
            }
        ]
    )
    box = shapely.box(111.0, 27.0, 111.001, 27.001)
    sites = pd.DataFrame(
        [
            {"site_id": "P", "mine_id": "M1", "kind": "open_pit", "area_hm2": 2.0,
             "slope_deg": 40.0, "water": False, "soil_thickness_m": 0.1, "geometry": box},
            {"site_id": "L", "mine_id": "M1", "kind": "subsidence_area", "area_hm2": 4.0,
             "slope_deg": 2.0, "water": True, "soil_thickness_m": None, "geometry": box},
        ]
    )  # fmt: skip
    hazards = pd.DataFrame(
        [
            {"hazard_id": "H1", "mine_id": "M1", "site_id": "P", "kind": "collapse",
             "volume_m3": 500.0},
            {"hazard_id": "H2", "mine_id": "M1", "site_id": None, "kind": "landslide",
             "volume_m3": 100.0},
        ]
    )  # fmt: skip
    return Register(mines, sites, empty_table("samples"), hazards)


def _q(site, item, start=None):
    return [
        w.quantity
        for w in site.works
        if w.item == item and (start is None or w.start_year == start)
    ]


def test_quarry_and_lake_quantities():
    plan = make_plan(_register(), "M1", price_year=2023, start_year=2025, on="2024-01-01")
    p, lake = plan.sites
    assert p.after_use == "forest" and lake.after_use == "water"
    # steep (40° > 25°) open pit of 2 hm²: slope cutting 2000 m³/hm² + hazard H1 500 m³ × 1
    assert _q(p, "slope_cutting") == [4000, 500]
    assert _q(p, "drainage_ditch") == [300]  # 150 m/hm²
    assert _q(p, "pit_filling") == [6000]  # 3000 m³/hm²
    assert _q(p, "hydroseeding") == [4000]  # 2000 m²/hm² on the steep face
    # forest topsoil 0.3 m, 0.1 m present: 2 hm² × 10 000 × 0.2 m = 4000 m³
    assert _q(p, "topsoil_cover") == [pytest.approx(4000)]
    # trees 2 × 0.6 × 2500 = 3000; shrubs 2 × 0.3 × 4444 = 2666.4 → 2667
    assert _q(p, "tree_planting", 1) == [3000] and _q(p, "shrub_planting", 1) == [2667]
    # replanting 15 % dead: 3000 × 0.15 = 450 trees, ceil(2666.4 × 0.15 = 399.96) = 400 shrubs
    assert _q(p, "tree_planting", 2) == [450] and _q(p, "shrub_planting", 2) == [400]
    assert _q(p, "grass_seeding") == []  # hydroseeded instead on a steep face
    assert _q(p, "irrigation") == [2] and p.works[-1].years == 3
    # lake: excavation 5000 m³/hm² × 4; bank = circle perimeter 2·√(π·40 000 m²) = 708.98 m
    assert _q(lake, "pond_excavation") == [20000]
    assert _q(lake, "bank_protection") == [pytest.approx(708.982, abs=1e-3)]
    assert _q(lake, "topsoil_cover") == [] and _q(lake, "tree_planting") == []
    mw = {w.item: w for w in plan.mine_works}
    assert mw["topographic_survey"].quantity == 6  # 2 + 4 hm²
    assert mw["geotech_investigation"].quantity == 2  # the site with a hazard
    assert mw["monitoring_sensor"].quantity == 1  # ceil(2 / 10)
    assert mw["sampling_campaign"].years == 5  # 2 works years + 3 care years
    assert mw["verification"].start_year == 5
    assert "H2" in plan.notes[0]  # hazard without a site is reported, not planned
    assert {"PLAN-SLOPE-STEEP", "PLAN-WATER", "PLAN-HAZARD-COLLAPSE", "PLAN-TOPSOIL"} <= set(
        plan.rules
    )
    assert plan.after_use_hm2() == {"forest": 2.0, "water": 4.0}
    # every planned item is in the cost library (on a date when the CPI up to 2023 is out)
    e = estimate(plan, on="2024-06-01")
    assert e.total > e.direct_total > 0


def test_diagnosis_after_use_and_zones_drive_the_plan():
    from restora.diagnosis.techniques import load_catalogue

    cat = load_catalogue(on="2024-01-01")
    by_code = {t.code: t for t in cat.techniques}

    class Z:
        zone_id = "P-z1"
        zone_class = "moderate"
        area_hm2 = 0.5
        techniques = (by_code["TECH-PHYTO-SEDUM"], by_code["TECH-STAB-AMENDMENT"])

    plan = make_plan(
        _register(),
        "M1",
        price_year=2023,
        start_year=2025,
        after_uses={"P": "cultivated"},
        zones={"P": [Z()]},
        on="2024-01-01",
    )
    p = plan.sites[0]
    assert p.after_use == "cultivated"
    # phytoextraction (agricultural fits) on 0.5 hm² = 5000 m²
    assert _q(p, "phytoextraction") == [5000]
    # cultivated: topsoil 0.4 m − 0.1 m on 2 hm² = 6000 m³; no trees
    assert _q(p, "topsoil_cover") == [pytest.approx(6000)] and _q(p, "tree_planting") == []
    assert "PLAN-POLL-TECH-PHYTO-SEDUM" in plan.rules
    estimate(plan, on="2024-06-01")
