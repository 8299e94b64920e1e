"""Every appraisal stage pinned on a small project against numbers worked by hand (issue 11 item 18).

OpenFisca style: each expected value is written as the arithmetic that gives it, read from the
reference tables in force on ``ON`` (the comment names the table and its row) and from the
method of docs/appraisal.md, never from the code under test. A change of a table, a method or
a convention therefore shows here as a deliberate change of an expected value.

The project (built in code below)
---------------------------------
Mine T1 (metal, abandoned, no responsible party, region 430599), two sites drawn as rectangles
in the China Albers equal-area projection near 112.9°E 27.6°N and stored in WGS 84 like the
register:

    site   kind             size         slope  soil   samples (pH 6.0, land use other)
    T1-S1  open_pit         200 × 100 m   5°    0.5 m  P1 Cd 0.9 Pb 45, P2 Cd 1.0 Pb 45 mg/kg
    T1-S2  waste_rock_dump  100 × 100 m  20°    0.2 m  P3 Cd 0.2 Pb 40 mg/kg

One hazard T1-H1 on T1-S2: landslide of 200 000 m³ threatening 150 people and 2 000 000 CNY,
150 m from the nearest building. No context layers (no towns, roads, red line).

Project: start 2026, horizon 10 years (periods 0 … 10 = 2026 … 2036), discount rate 6 %,
hurdle 8 %, opex 100 000 CNY/yr from the first revenue year, damaged-state costs 200 000 (hazard)
+ 300 000 (pollution) CNY/yr; streams: a subsidy of 3 000 000 CNY in 2027 with probability 0.8,
carbon credits (CCER) from 2028, tourism operations from 2028; one pledge loan; two risk drivers
(carbon price ±10 % on the carbon stream, scope change 1.0–1.1 on capex); 500 draws, seed 18.

Reference tables in force on 2026-12-07 (the rows are quoted where they are used): GB 15618-2018
screening/intervention, hazard scale/threat/matrix, suitability rules/limits, remediation
zone-classes/techniques, planning site-works/revegetation/monitoring, costing unit-costs
(2023-indicative, unit-costs-2023.csv), costing/assumptions (2023-indicative), indirect
cn-default (indicative-1, marginal brackets), prices/cn-cpi (nbs-2024), valuation/xie2015
(table 3 and standard equivalent xie2015-2010), ecosystem types, after-use-land-class 2026.1,
establishment ramps 2026.1, stages thresholds 2026.1, revenue/prices/ccer 2025, modes/rules
restora-fit-1.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pyproj
import pytest
import shapely

from restora.appraisal.io import parse_project
from restora.appraisal.pipeline import AppraisalResult, run_appraisal
from restora.appraisal.stages import cost as cost_stage
from restora.costing.lifecycle import estimate
from restora.diagnosis.county import diagnose_county
from restora.inventory.geometry import CHINA_ALBERS, equal_area_hm2
from restora.inventory.model import Register

ON = "2026-12-07"
X0, Y0 = 773_680.0, 2_933_880.0  # China Albers [m] ≈ 112.90°E 27.60°N
TO_LONLAT = pyproj.Transformer.from_crs(CHINA_ALBERS, "EPSG:4326", always_xy=True)

# CPI chains of prices/cn-cpi (nbs-2024; previous year = 100)
CPI_2020_2023 = 1.009 * 1.020 * 1.002  # 2021 100.9, 2022 102.0, 2023 100.2 = 1.0312384
CPI_2010_2023 = (
    1.054 * 1.026 * 1.026 * 1.020 * 1.014 * 1.020 * 1.016 * 1.021 * 1.029 * 1.025 * 1.009
    * 1.020 * 1.002
)  # fmt: skip  # 2011 … 2023 = 1.3206611
ESC = 1.018  # costing/assumptions escalation_rate 0.018 [1/yr], price year 2023 → nominal


def _lonlat(x: float, y: float) -> tuple[float, float]:
    lon, lat = TO_LONLAT.transform(X0 + x, Y0 + y)
    return float(lon), float(lat)


def _rect(x: float, y: float, w: float, h: float) -> shapely.Polygon:
    """A w × h m rectangle at (x, y) m from the origin, Albers-aligned, in lon/lat."""
    return shapely.Polygon(
        [_lonlat(x, y), _lonlat(x + w, y), _lonlat(x + w, y + h), _lonlat(x, y + h)]
    )


def _frame(name: str, rows: list[dict[str, Any]]) -> pd.DataFrame:
    empty = getattr(Register.empty(), name)
    return pd.DataFrame([{c: r.get(c) for c in empty.columns} for r in rows], columns=empty.columns)


def register() -> Register:
    """Mine T1 with an open pit, a waste-rock dump, three samples and a landslide."""
    pit, dump = _rect(0, 0, 200, 100), _rect(300, 0, 100, 100)
    area = equal_area_hm2(np.array([pit, dump], dtype=object))  # as the register import does
    mines = _frame(
        "mines",
        [{"mine_id": "T1", "name": "测试铅锌矿", "region_code": "430599", "mineral": "metal",
          "status": "abandoned", "responsible_party": "absent"}],
    )  # fmt: skip
    sites = _frame(
        "sites",
        [
            {"site_id": "T1-S1", "mine_id": "T1", "kind": "open_pit", "slope_deg": 5.0,
             "water": False, "soil_thickness_m": 0.5, "geometry": pit, "area_hm2": area[0]},
            {"site_id": "T1-S2", "mine_id": "T1", "kind": "waste_rock_dump", "slope_deg": 20.0,
             "water": False, "soil_thickness_m": 0.2, "geometry": dump, "area_hm2": area[1]},
        ],
    )  # fmt: skip
    # samples at cell centres of the 20 m zoning grid laid from each site's corner
    rows = []
    for sid, site, x, y, cd, pb in (
        ("P1", "T1-S1", 50, 50, 0.9, 45.0),
        ("P2", "T1-S1", 150, 50, 1.0, 45.0),
        ("P3", "T1-S2", 350, 50, 0.2, 40.0),
    ):
        lon, lat = _lonlat(x, y)
        rows.append({"sample_id": sid, "mine_id": "T1", "site_id": site, "lon": lon, "lat": lat,
                     "depth_m": 0.2, "ph": 6.0, "land_use": "other", "Cd": cd, "Pb": pb})  # fmt: skip
    samples = _frame("samples", rows)
    hlon, hlat = _lonlat(350, 50)
    hazards = _frame(
        "hazards",
        [{"hazard_id": "T1-H1", "mine_id": "T1", "site_id": "T1-S2", "kind": "landslide",
          "volume_m3": 200_000.0, "people_threatened": 150, "property_threatened_cny": 2.0e6,
          "distance_to_buildings_m": 150.0, "lon": hlon, "lat": hlat}],
    )  # fmt: skip
    for frame, cols in (
        (sites, ["slope_deg", "soil_thickness_m", "area_hm2"]),
        (samples, ["lon", "lat", "depth_m", "ph", "Cd", "Hg", "As", "Pb", "Cr", "Cu", "Ni", "Zn"]),
        (
            hazards,
            ["volume_m3", "property_threatened_cny", "distance_to_buildings_m", "lon", "lat"],
        ),
    ):
        for c in cols:
            frame[c] = pd.to_numeric(frame[c]).astype(float)
    sites["water"] = sites["water"].astype("boolean")
    hazards["people_threatened"] = hazards["people_threatened"].astype("Int64")
    return Register(mines=mines, sites=sites, samples=samples, hazards=hazards)


PROJECT: dict[str, Any] = {
    "project_id": "T-P1",
    "name": "测试项目",
    "mines": ["T1"],
    "start_year": 2026,
    "horizon_years": 10,
    "discount_rate": 0.06,
    "hurdle_rate": 0.08,
    "opex_cny_per_yr": 100_000,
    "hazard_cost_cny_per_yr": 200_000,
    "pollution_cost_cny_per_yr": 300_000,
    "revenue_streams": [
        {"stream": "subsidy", "name": "修复补助", "payments": [
            {"year": 2027, "amount": 3_000_000, "kind": "subsidy", "probability": 0.8}]},
        {"stream": "carbon", "name": "碳汇", "start_year": 2028,
         "sequestration": [200, 400, 600, 600, 600, 600], "baseline": [50], "buffer_share": 0.1,
         "crediting_years": 6, "verification_interval_years": 3, "issuance_lag_years": 1,
         "market": "ccer"},
        {"stream": "operations", "name": "生态旅游", "after_use": "tourism", "start_year": 2028,
         "years": 9, "mature_income": 1_300_000, "ramp_years": 1, "low": 0.6, "high": 1.2},
    ],
    "financing": [
        {"instrument": "pledge-loan", "inputs": {
            "valuation_rate": 0.06, "ltv": 0.5, "interest_rate": 0.045, "tenor_years": 8,
            "grace_years": 2, "min_dscr": 1.2}},
    ],
    "risk": {"draws": 500, "seed": 18, "drivers": [
        {"name": "carbon price", "target": "revenue", "streams": ["碳汇"],
         "low": 0.9, "mode": 1.0, "high": 1.1},
        {"name": "scope change", "target": "capex", "covers": ["scope_change"],
         "low": 1.0, "mode": 1.0, "high": 1.1},
    ]},
}  # fmt: skip


@pytest.fixture(scope="module")
def reg() -> Register:
    return register()


@pytest.fixture(scope="module")
def res(reg: Register) -> AppraisalResult:
    county = diagnose_county(reg, {}, on=ON)
    return run_appraisal(parse_project(PROJECT, "<test>"), reg, county, on=ON)


# ------------------------------------------------------------------------------ the hand tables
# The works of the plan and their direct cost, one row per work (planner templates × site, then
# priced with costing/unit-costs 2023-indicative, CPI-indexed to the price year 2023):
#   site, item, quantity, unit, phase, start (offset), years, per_year,
#   unit cost low / likely / high [CNY/unit at the row's price year], CPI factor to 2023,
#   quantity range 0.8–1.3 (planning/site-works quantity_range) or fixed (mine works)
CR = CPI_2020_2023
WORKS: list[tuple[Any, ...]] = [
    # T1-S1 open pit, 2.0 hm², after-use cultivated; site-works open_pit (slope 5° ≤ 25: no
    # slope_cutting, no hydroseeding); revegetation cultivated: no plants, topsoil 0.4 ≤ 0.5 m
    ("T1-S1", "drainage_ditch", 300.0, "m", "closure_hazard", 0, 1, False, 120, 200, 350, 1, True),  # 2.0 hm² × 150 m/hm²
    ("T1-S1", "pit_filling", 6000.0, "m3", "closure_hazard", 0, 1, False, 15.74, 15.74, 21.85, CR, True),  # 2.0 × 3000 m³/hm²; unit cost 2020
    ("T1-S1", "terrain_reshaping", 2.0, "hm2", "basic_restoration", 1, 1, False, 4000, 8000, 15000, 1, True),  # 2.0 × 1
    ("T1-S1", "phytoextraction", 20000.0, "m2", "pollution", 1, 1, False, 30, 46.96, 80, 1, True),  # zone Z01 2.0 hm² × 10⁴ m²
    # T1-S2 waste-rock dump, 1.0 hm², after-use forest; site-works waste_rock_dump
    ("T1-S2", "retaining_wall", 60.0, "m3", "closure_hazard", 0, 1, False, 350, 450, 600, 1, True),  # 1.0 × 60 m³/hm²
    ("T1-S2", "drainage_ditch", 150.0, "m", "closure_hazard", 0, 1, False, 120, 200, 350, 1, True),  # 1.0 × 150 m/hm²
    ("T1-S2", "terrain_reshaping", 1.0, "hm2", "basic_restoration", 1, 1, False, 4000, 8000, 15000, 1, True),  # 1.0 × 1
    ("T1-S2", "retaining_wall", 10000.0, "m3", "closure_hazard", 0, 1, False, 350, 450, 600, 1, True),  # hazards.landslide: 200 000 m³ × 0.05
    ("T1-S2", "topsoil_cover", 1000.0, "m3", "basic_restoration", 1, 1, False, 12.36, 18.47, 60, CR, True),  # 10⁴ m² × (0.3 forest − 0.2 present) m
    ("T1-S2", "tree_planting", 1500.0, "plant", "revegetation", 1, 1, False, 15, 71.13, 150, CR, True),  # 1.0 × 0.6 × 2500 /hm²
    ("T1-S2", "shrub_planting", 1334.0, "plant", "revegetation", 1, 1, False, 5, 15.92, 20, CR, True),  # ⌈1.0 × 0.3 × 4444⌉ = ⌈1333.2⌉
    ("T1-S2", "grass_seeding", 10000.0, "m2", "revegetation", 1, 1, False, 0.162398, 0.215876, 0.276919, CR, True),  # 10⁴ m² × 1.0
    ("T1-S2", "tree_planting", 225.0, "plant", "revegetation", 2, 1, False, 15, 71.13, 150, CR, True),  # ⌈1500 × (1 − 0.85)⌉ replanting round 1
    ("T1-S2", "shrub_planting", 200.0, "plant", "revegetation", 2, 1, False, 5, 15.92, 20, CR, True),  # ⌈1333.2 × 0.15 = 199.98⌉
    ("T1-S2", "irrigation", 1.0, "hm2*yr", "maintenance", 2, 3, True, 1500, 3000, 6000, 1, True),  # 1.0 hm² a year × 3 care years
    ("T1-S2", "inspection", 1.0, "hm2*yr", "maintenance", 2, 3, True, 300, 600, 1200, 1, True),
    # the mine's works (planning/monitoring; span = works_years 2 + care 3 = 5 years)
    (None, "topographic_survey", 3.0, "hm2", "survey_design", 0, 1, False, 800, 1500, 3000, 1, False),  # 2.0 + 1.0 hm²
    (None, "geotech_investigation", 1.0, "hm2", "survey_design", 0, 1, False, 2000, 5000, 10000, 1, False),  # hazard sites: T1-S2 1.0 hm²
    (None, "monitoring_sensor", 1.0, "sensor", "monitoring", 0, 1, False, 5000, 23076.92, 40000, CR, False),  # ⌈1.0 / 10 × 1⌉
    (None, "sensor_operation", 1.0, "sensor*yr", "monitoring", 0, 5, True, 1000, 3000, 6000, 1, False),
    (None, "sampling_campaign", 1.0, "campaign", "monitoring", 0, 5, True, 20000, 50000, 100000, 1, False),  # 1 /yr
    (None, "remote_sensing", 1.0, "mine*yr", "monitoring", 0, 5, True, 2000, 8000, 20000, 1, False),
    (None, "verification", 1.0, "mine", "verification", 5, 1, False, 30000, 80000, 200000, 1, False),  # after 2 + 3 years
]  # fmt: skip

# Direct cost of each work [CNY at 2023 prices] = quantity (× years if per year) × likely × CPI
DIRECT = [
    60_000.0,  # 300 m × 200
    97_390.1507184,  # 6000 m³ × 15.74 × 1.0312384 (2020 → 2023)
    16_000.0,  # 2 hm² × 8000
    939_200.0,  # 20 000 m² × 46.96
    27_000.0,  # 60 m³ × 450
    30_000.0,  # 150 m × 200
    8_000.0,  # 1 hm² × 8000
    4_500_000.0,  # 10 000 m³ × 450
    19_046.9725092,  # 1000 m³ × 18.47 × 1.0312384
    110_027.9768202,  # 1500 × 71.13 × 1.0312384
    21_900.6977980608,  # 1334 × 15.92 × 1.0312384
    2_226.1961220336,  # 10 000 m² × 0.215876 × 1.0312384
    16_504.196523030,  # 225 × 71.13 × 1.0312384
    3_283.46293824,  # 200 × 15.92 × 1.0312384
    9_000.0,  # 3 hm²·yr × 3000
    1_800.0,  # 3 hm²·yr × 600
    4_500.0,  # 3 hm² × 1500
    5_000.0,  # 1 hm² × 5000
    23_797.8051346512,  # 1 × 23 076.92 × 1.0312384
    15_000.0,  # 5 sensor·yr × 3000
    250_000.0,  # 5 campaigns × 50 000
    40_000.0,  # 5 mine·yr × 8000
    80_000.0,  # 1 × 80 000
]
DIRECT_TOTAL = 6_279_677.458563816  # Σ of the 23 lines above
# costing/indirect/cn-default indicative-1, marginal brackets on the direct cost D, rounded to 1 CNY
EDC = 502_374.0  # 8 % × D (first band up to 7 000 000) = 502 374.2
CONTINGENCY = 572_374.0  # 10 % × 3 500 000 + 8 % × (D − 3 500 000) = 350 000 + 222 374.2
MANAGEMENT = 627_968.0  # 10 % × D = 627 967.7
INSURANCE = 188_390.0  # 3 % × D = 188 390.3
MARGIN = 627_968.0  # 10 % × D
INDIRECT_TOTAL = 2_519_074.0  # 502 374 + 572 374 + 627 968 + 188 390 + 627 968
TOTAL = 8_798_751.458563816  # D + indirect
# direct cost by year offset (each work spread evenly over its years)
DIRECT_BY_OFFSET = {
    0: 4_808_687.955853052,  # S1 60 000 + 97 390.15; S2 27 000 + 30 000 + 4 500 000; survey 4500 + 5000;
    # sensor 23 797.81; per-year works 15 000/5 + 250 000/5 + 40 000/5 = 61 000
    1: 1_177_401.8432494942,  # 16 000 + 939 200 + 8000 + 19 046.97 + 110 027.98 + 21 900.70 + 2226.20 + 61 000
    2: 84_387.65946127,  # 16 504.20 + 3283.46 + 9000/3 + 1800/3 + 61 000
    3: 64_600.0,  # 3000 + 600 + 61 000
    4: 64_600.0,
    5: 80_000.0,  # verification
}
# the indirect lines other than ED&C (paid in year 0) follow the direct cost's yearly profile:
# real_t = D_t × (1 + (2 519 074 − 502 374) / D) + [t = 0] × 502 374
SPREAD = (INDIRECT_TOTAL - EDC) / DIRECT_TOTAL  # = 2 016 700 / 6 279 677.46 = 0.3211466


def _real(t: int) -> float:
    return DIRECT_BY_OFFSET[t] * (1 + SPREAD) + (EDC if t == 0 else 0.0)


# nominal [CNY of the year] = real × 1.018^(year − 2023)
CAPEX_NOMINAL = {2026 + t: _real(t) * ESC ** (2026 + t - 2023) for t in DIRECT_BY_OFFSET}
# = {2026: 7 232 250.71, 2027: 1 670 578.89, 2028: 121 890.26, 2029: 94 988.35,
#    2030: 96 698.14, 2031: 121 905.52}


# ---------------------------------------------------------------------------------- diagnosis
def test_diagnosis_areas_samples_hazard_zones_and_uses(res, reg):
    d = res.diagnosis
    sites = {s.site_id: s for s in d.site_diagnoses}
    # equal-area site areas: the rectangles are 200 m × 100 m and 100 m × 100 m in Albers
    assert sites["T1-S1"].area_hm2 == pytest.approx(2.0, rel=1e-9)  # 200 × 100 m² / 10⁴
    assert sites["T1-S2"].area_hm2 == pytest.approx(1.0, rel=1e-9)  # 100 × 100 m² / 10⁴
    # independent check: the geodesic area of the lon/lat polygon on GRS 80 (an equal-area
    # projection keeps it): 2.0 and 1.0 hm² to 1e-5
    geod = pyproj.Geod(ellps="GRS80")
    for sid, want in (("T1-S1", 2.0), ("T1-S2", 1.0)):
        geom = reg.sites.set_index("site_id").loc[sid, "geometry"]
        assert abs(geod.geometry_area_perimeter(geom)[0]) / 1e4 == pytest.approx(want, rel=1e-5)

    # each sample against GB 15618-2018, land use other, pH 6.0 (band 5.5 < pH ≤ 6.5):
    # screening Cd 0.3, Pb 90; intervention Cd 2.0, Pb 500 [mg/kg]
    #   P1 Cd 0.9 > 0.3, ≤ 2.0 → safe_utilization;  P2 Cd 1.0 → safe_utilization
    #   P3 Cd 0.2 ≤ 0.3, Pb 40 ≤ 90 → priority_protection
    assert dict(d.sample_classes) == {"safe_utilization": 2, "priority_protection": 1}
    assert sites["T1-S1"].pollution_class == "safe_utilization"
    assert sites["T1-S2"].pollution_class == "priority_protection"

    # hazard: landslide 200 000 m³ → hazard/scale-classes row (landslide, medium, 1e5 ≤ V < 1e6);
    # 150 people → hazard/threat-classes medium (≥ 100 people; 2 000 000 CNY < 5e6 is small, the
    # higher class counts); 150 m to buildings lies between near 50 m and far 500 m
    # (hazard/distance-modifier): unchanged; hazard/danger-matrix row {scale: medium, threat:
    # medium, grade: medium, code: HAZ-M-S2-T2}
    (h,) = d.hazards.to_dict("records")
    assert (h["scale"], h["threat"], h["grade"]) == ("medium", "medium", "medium")
    assert "HAZ-M-S2-T2" in h["rule_codes"] and d.hazard_grades["T1-H1"] == "medium"

    # pollution zones (20 m cells, IDW): in T1-S1 both samples are moderate by the Nemerow
    # index P_N = √((P̄² + P_max²)/2) with P_Cd = Cd/0.3, P_Pb = Pb/90:
    #   P1: P = (3.0, 0.5), P̄ = 1.75,   P_N = √((3.0625 + 9)/2)     = 2.456
    #   P2: P = (3.333, 0.5), P̄ = 1.917, P_N = √((3.674 + 11.111)/2) = 2.719
    # IDW mixes the two (Cd 0.9 … 1.0, Pb 45), P_N rises with each P: every cell has 2 < P_N ≤ 3,
    # remediation/zone-classes row ZONE-MODERATE (safe_utilization × moderate) → one zone of
    # the whole site; governing Cd index 1.0 / 0.3 (cell centred on P2). T1-S2: ZONE-CLEAN.
    zones = {z.site_id: z.json for z in d.zonings}
    (z1,) = zones["T1-S1"]["zones"]
    assert zones["T1-S1"]["site_area_hm2"] == pytest.approx(2.0, rel=1e-9)
    assert (z1["zone_id"], z1["zone_class"], z1["standard_class"]) == (
        "Z01",
        "moderate",
        "safe_utilization",
    )
    assert z1["area_hm2"] == pytest.approx(2.0, rel=1e-9)
    assert (z1["governing_metal"], z1["governing_index"]) == ("Cd", pytest.approx(1.0 / 0.3))
    assert z1["rule_codes"][0] == "ZONE-MODERATE"
    # remediation/techniques: moderate-zone rows treating Cd — TECH-PHYTO-SEDUM (Cd, Zn) and
    # TECH-STAB-AMENDMENT (any); TECH-PHYTO-PTERIS treats As only
    assert [t["code"] for t in z1["techniques"]] == ["TECH-PHYTO-SEDUM", "TECH-STAB-AMENDMENT"]
    (z2,) = zones["T1-S2"]["zones"]
    assert (z2["zone_class"], z2["area_hm2"]) == ("clean", pytest.approx(1.0, rel=1e-9))

    # after-use (suitability/limits, suitability/rules base order cultivated, garden, forest …):
    # T1-S1 slope 5 ≤ 15 and soil 0.5 ≥ 0.5 m fit cultivated; safe_utilization is no bar to food
    # uses (only strict_control is) → cultivated (SUIT-FIT-CULT, SUIT-POLL-SAFE)
    s1 = sites["T1-S1"]
    assert s1.best_use == "cultivated"
    assert s1.suitable_uses == ("cultivated", "garden", "forest", "grass", "leave_as_is")
    assert {"SUIT-FIT-CULT", "SUIT-POLL-SAFE", "SUIT-WATER-NONE", "SUIT-CONS-REMOTE"} <= set(
        s1.rule_codes
    )
    # T1-S2 slope 20°, soil 0.2 m: cultivated (0.5 m, hard) and garden (0.4 m, hard) excluded
    # (SUIT-SOIL-CULT, SUIT-SOIL-GARD); construction slope 20 > 15 (SUIT-SLOPE-CONS); forest
    # (≤ 35°, 0.3 m by cover soil: SUIT-SOIL-COVER-FOR) is the first suitable use
    s2 = sites["T1-S2"]
    assert s2.best_use == "forest"
    assert s2.suitable_uses == ("forest", "grass", "leave_as_is")
    assert set(s2.rule_codes) == {
        "SUIT-BASE-ORDER", "SUIT-CONS-REMOTE", "SUIT-LEAVE", "SUIT-POLL-CLEAN",
        "SUIT-SLOPE-CONS", "SUIT-SOIL-COVER-FOR", "SUIT-SOIL-COVER-GRASS", "SUIT-SOIL-CULT",
        "SUIT-SOIL-GARD", "SUIT-TERRACE-CULT", "SUIT-TERRACE-GARD", "SUIT-TERRACE-GRASS",
        "SUIT-WATER-NONE",
    }  # fmt: skip


# --------------------------------------------------------------------------------------- plan
def test_plan_works_from_the_planner_templates(res):
    (p,) = res.plan.plans
    assert (res.plan.price_year, p.start_year, p.post_closure_years) == (2023, 2026, 3)
    assert {s.site_id: s.after_use for s in p.sites} == {"T1-S1": "cultivated", "T1-S2": "forest"}
    got = [
        (sid, w.item, w.quantity, w.unit, w.phase, w.start_year, w.years) for sid, w in p.works()
    ]
    want = [(w[0], w[1], w[2], w[3], w[4], w[5], w[6]) for w in WORKS]
    assert sorted(got, key=str) == sorted(want, key=str)
    # the works carry what they treat as typed fields
    by_item = {(sid, w.item, w.quantity): w for sid, w in p.works()}
    wall = by_item[("T1-S2", "retaining_wall", 10000.0)]
    assert (wall.hazard_id, wall.phase) == ("T1-H1", "closure_hazard")
    phyto = by_item[("T1-S1", "phytoextraction", 20000.0)]
    assert (phyto.zone_id, phyto.zone_class, phyto.technique) == (
        "Z01",
        "moderate",
        "TECH-PHYTO-SEDUM",  # first candidate whose land use after includes agricultural
    )
    assert set(p.rules) == {
        "PLAN-SITE-OPEN_PIT", "PLAN-SITE-WASTE_ROCK_DUMP", "PLAN-POLL-TECH-PHYTO-SEDUM",
        "PLAN-HAZARD-LANDSLIDE", "PLAN-TOPSOIL", "PLAN-REVEG-CARE", "PLAN-MONITOR",
    }  # fmt: skip


# --------------------------------------------------------------------------------------- cost
def test_cost_deterministic_line_by_line(res):
    (p,) = res.plan.plans
    lines = estimate(p, on=ON).line_rows()
    got = sorted((r["site_id"] or "", r["item"], r["quantity"], r["amount_cny"]) for r in lines)
    want = sorted(
        (w[0] or "", w[1], w[2] * (w[6] if w[7] else 1), amt)
        for w, amt in zip(WORKS, DIRECT, strict=True)
    )
    assert [g[:3] for g in got] == [w[:3] for w in want]
    np.testing.assert_allclose([g[3] for g in got], [w[3] for w in want], rtol=1e-12)
    # every direct amount is quantity × likely × CPI factor of its table row
    for w, amt in zip(WORKS, DIRECT, strict=True):
        assert w[2] * (w[6] if w[7] else 1) * w[9] * w[11] == pytest.approx(amt, rel=1e-12)

    rep = res.cost.report
    assert rep["price_year"] == 2023
    assert rep["direct_deterministic_cny"] == pytest.approx(DIRECT_TOTAL, rel=1e-12)
    ind = {r["code"]: r["amount"] for r in rep["indirect"]}
    assert ind == {
        "edc": EDC,
        "contingency": CONTINGENCY,
        "management": MANAGEMENT,
        "insurance_bond": INSURANCE,
        "contractor_margin": MARGIN,
    }
    assert rep["indirect_deterministic_cny"] == INDIRECT_TOTAL
    assert res.cost.deterministic_cny == pytest.approx(TOTAL, rel=1e-12)
    # by phase: closure and hazard = 60 000 + 97 390.15 + 27 000 + 30 000 + 4 500 000
    assert rep["by_phase"]["closure_hazard"]["deterministic_cny"] == pytest.approx(
        4_714_390.1507184, rel=1e-12
    )
    # survey and design = 4500 + 5000 + ED&C 502 374; contingency its own line
    assert rep["by_phase"]["survey_design"]["deterministic_cny"] == pytest.approx(511_874.0)
    assert rep["by_phase"]["contingency"]["deterministic_cny"] == pytest.approx(CONTINGENCY)
    # by year: constant 2023 prices and nominal at 1.8 %/yr from the price year
    rows = {r["year"]: r for r in rep["by_year"]}
    assert sorted(rows) == list(range(2026, 2032))
    for t in DIRECT_BY_OFFSET:
        assert rows[2026 + t]["real_cny"] == pytest.approx(_real(t), rel=1e-12)
        assert rows[2026 + t]["nominal_cny"] == pytest.approx(CAPEX_NOMINAL[2026 + t], rel=1e-12)
    # 2026: (4 808 687.96 × 1.3211466 + 502 374) × 1.018³ = 6 855 357.99 × 1.0549778 = 7 232 250.71
    assert res.cost.capex_nominal[2026] == pytest.approx(7_232_250.710812647, rel=1e-12)
    assert sum(res.cost.capex_nominal.values()) == pytest.approx(9_338_311.870875336, rel=1e-12)


def _tri_mean(a: float, c: float, b: float) -> float:
    return (a + c + b) / 3.0


def _tri_var(a: float, c: float, b: float) -> float:
    return (a * a + b * b + c * c - a * b - a * c - b * c) / 18.0


def _brackets(d: float, bands: list[tuple[float | None, float]]) -> float:
    """Marginal brackets: each rate on the slice of ``d`` inside its band."""
    out, lo = 0.0, 0.0
    for up, rate in bands:
        hi = d if up is None else min(d, up)
        out += max(hi - lo, 0.0) * rate
        if up is None or d <= up:
            break
        lo = up
    return out


def _total_for_direct(d: float) -> float:
    """cn-default indicative-1: ED&C and contingency brackets, 23 % flat (10 + 3 + 10)."""
    edc = _brackets(d, [(7e6, 0.08), (175e6, 0.06), (None, 0.04)])
    cont = _brackets(d, [(3.5e6, 0.10), (35e6, 0.08), (350e6, 0.06), (None, 0.04)])
    return d + edc + cont + 0.23 * d


def _mc_moments() -> tuple[float, float, float]:
    """Expected direct cost, expected total, and an upper bound on the total's sd [CNY].

    Triangular draws on (low, likely, high) of each unit cost and of each site work's quantity
    (0.8, 1, 1.3) × q, independent of each other: E[q c] = E[q] E[c],
    Var(q c) = (σq² + μq²)(σc² + μc²) − μq² μc². The sd of a sum is at most the sum of the sds
    (correlations ≤ 1), and the total moves with the direct cost at most at 1 + 0.08 + 0.10 +
    0.23 = 1.41 (largest marginal indirect rates).
    """
    e_direct, sd_sum = 0.0, 0.0
    for _, _, q, _, _, _, years, per_year, lo, li, hi, f, qrange in WORKS:
        qq = q * (years if per_year else 1)
        mq = qq * _tri_mean(0.8, 1.0, 1.3) if qrange else qq
        vq = qq * qq * _tri_var(0.8, 1.0, 1.3) if qrange else 0.0
        mc, vc = _tri_mean(lo, li, hi) * f, _tri_var(lo, li, hi) * f * f
        e_direct += mq * mc
        sd_sum += math.sqrt((vq + mq * mq) * (vc + mc * mc) - (mq * mc) ** 2)
    # E[D] = 6 880 135.46, Σσ = 1 236 252.8; the indirect brackets are concave in D, so
    # E[T] ≤ T(E[D]) = 9 633 388.29, lower by at most 2 % × E[(D − 7e6)⁺] ≤ 2 % × σ_D / 2
    return e_direct, _total_for_direct(e_direct), 1.41 * sd_sum


def test_cost_monte_carlo_invariants(res):
    c = res.cost
    e_direct, e_total, sd_bound = _mc_moments()
    assert e_direct == pytest.approx(6_880_135.459825163, rel=1e-9)
    assert e_total == pytest.approx(9_633_388.289156977, rel=1e-9)
    totals = c.capex_factors * c.deterministic_cny  # the simulated totals [CNY, 2023 prices]
    assert totals.size == 500
    # the sample mean within 4 standard errors of E[T], plus the bracket bias (≤ 1 % of Σσ,
    # here allowed 1 % of 1.41 Σσ)
    se = totals.std(ddof=1) / math.sqrt(totals.size)
    assert abs(totals.mean() - e_total) < 4 * se + 0.01 * sd_bound
    # P50: |median − mean| ≤ σ for any distribution, σ ≤ 1.41 Σσ = 1 743 116
    assert e_total - sd_bound < c.p50_cny < e_total + sd_bound
    assert c.p90_cny >= c.p50_cny >= float(np.percentile(totals, 10))
    assert c.p50_cny == pytest.approx(float(np.percentile(totals, 50)))
    # same seed, same draws; another seed, other draws
    again = cost_stage.run(res.spec, res.plan, on=ON)
    np.testing.assert_array_equal(again.capex_factors, c.capex_factors)
    assert again.p50_cny == c.p50_cny
    other = cost_stage.run(
        res.spec.model_copy(update={"risk": res.spec.risk.model_copy(update={"seed": 19})}),
        res.plan,
        on=ON,
    )
    assert other.p50_cny != c.p50_cny
    assert other.deterministic_cny == c.deterministic_cny


# ------------------------------------------------------------------------------------ revenue
def test_revenue_streams_by_year(res):
    streams = {s.name: s for s in res.revenue.streams}

    def by_year(name: str) -> dict[int, tuple[float, float, float]]:
        s = streams[name]
        return {
            int(y): (float(r), float(lo), float(hi))
            for y, r, lo, hi in zip(s.years, s.revenue, s.revenue_low, s.revenue_high, strict=True)
        }

    # subsidy 3 000 000 with p = 0.8: central p·a = 2 400 000, low 0, high a
    assert by_year("修复补助") == {2027: (2_400_000.0, 0.0, 3_000_000.0)}
    assert streams["修复补助"].rule_codes == ("REV-SUBSIDY-CONTINGENT",)
    # carbon: net = sequestration − baseline 50 = 150, 350, 550, 550, 550, 550 (2028 … 2033);
    # buffer 10 %: creditable 135, 315, 495, 495, 495, 495; verifications every 3 years from
    # 2028: 2030 (135 + 315 + 495 = 945 t) and 2033 (3 × 495 = 1485 t), sold a year later at
    # revenue/prices/ccer 2025: price 70.76, low 60, high 80 CNY/tCO2e
    carbon = by_year("碳汇")
    assert list(carbon) == [2031, 2034]
    np.testing.assert_allclose(carbon[2031], (945 * 70.76, 945 * 60, 945 * 80))  # 66 868.2
    np.testing.assert_allclose(carbon[2034], (1485 * 70.76, 1485 * 60, 1485 * 80))  # 105 078.6
    np.testing.assert_allclose(streams["碳汇"].quantity, [945.0, 1485.0])
    # operations: ramp 1 year, s_k = min((k + 1)/2, 1): 0.5 in 2028, then 1 to 2036; low 0.6,
    # high 1.2 of central
    ops = by_year("生态旅游")
    assert list(ops) == list(range(2028, 2037))
    np.testing.assert_allclose(ops[2028], (650_000.0, 390_000.0, 780_000.0))  # 0.5 × 1 300 000
    for y in range(2029, 2037):
        np.testing.assert_allclose(ops[y], (1_300_000.0, 780_000.0, 1_560_000.0))
    doc = res.revenue.to_json()
    # 2 400 000 + 66 868.2 + 105 078.6 + 650 000 + 8 × 1 300 000 = 13 621 946.8
    assert doc["total_unrestricted_cny"] == pytest.approx(13_621_946.8)
    # low 0 + 945·60 + 1485·60 + 0.6 × 11 050 000 = 145 800 + 6 630 000
    assert doc["total_unrestricted_low_cny"] == pytest.approx(6_775_800.0)
    assert doc["total_earmarked_cny"] == 0.0


# -------------------------------------------------------------------------------------- value
# ESV per site [CNY/yr at 2023 prices] = A × Σ_s VC × 3406.50 CNY/hm² (standard equivalent
# xie2015-2010, CNY of 2010) × CPI 2010 → 2023 (1.3206611). Xie 2015 table 3 row sums:
#   bare_land (open_pit dry, waste_rock_dump: ecosystem_types site_kind rows)
#     0.02 + 0.10 + 0.03 + 0.02 + 0.02 + 0.01 = 0.20
#   dry_land (cultivated → GB/T 21010 0103 → dry_land)
#     0.85 + 0.40 + 0.02 + 0.67 + 0.36 + 0.10 + 0.27 + 1.03 + 0.12 + 0.13 + 0.06 = 4.01
#   mixed_forest (forest → 0301 → mixed_forest)
#     0.31 + 0.71 + 0.37 + 2.35 + 7.03 + 1.99 + 3.51 + 2.86 + 0.22 + 2.60 + 1.14 = 23.09
E_STD = 3406.50
S1_BEFORE = 2.0 * 0.20 * E_STD * CPI_2010_2023  # = 1 799.53
S1_AFTER = 2.0 * 4.01 * E_STD * CPI_2010_2023  # = 36 080.63
S2_BEFORE = 1.0 * 0.20 * E_STD * CPI_2010_2023  # = 899.77
S2_AFTER = 1.0 * 23.09 * E_STD * CPI_2010_2023  # = 103 878.03


def _f_cultivated(a: int) -> float:
    # valuation/establishment/ramps 2026.1 row cultivated: monomolecular, k 0.2, T 15
    return 0.0 if a <= 0 else min(1.0, (1 - math.exp(-0.2 * a)) / (1 - math.exp(-0.2 * 15)))


def _f_forest(a: int) -> float:
    # row forest: Chapman-Richards, k 0.182, p 3, T 25
    return 0.0 if a <= 0 else min(1.0, ((1 - math.exp(-0.182 * a)) / (1 - math.exp(-4.55))) ** 3)


def _esv(year: int) -> float:
    # works end: T1-S1 2027 (terrain reshaping and phytoextraction in offset 1), T1-S2 2028
    # (replanting in offset 2); care, monitoring and verification do not count
    return (
        S1_BEFORE
        + (S1_AFTER - S1_BEFORE) * _f_cultivated(year - 2027)
        + S2_BEFORE
        + (S2_AFTER - S2_BEFORE) * _f_forest(year - 2028)
    )


def test_value_esv_ramps_price_year_and_stages(res):
    v = res.value
    assert math.isclose(CPI_2010_2023, 1.3206611, rel_tol=1e-7)  # 1.054 × 1.026 × … × 1.002
    assert (v.price_year, v.source_price_year) == (2023, 2010)
    assert v.cpi_factor == pytest.approx(CPI_2010_2023, rel=1e-12)
    ps = v.per_site.set_index("site_id")
    assert tuple(ps.loc["T1-S1", ["type_before", "type_after", "after_use"]]) == (
        "bare_land",
        "dry_land",
        "cultivated",
    )
    assert tuple(ps.loc["T1-S2", ["type_before", "type_after", "after_use"]]) == (
        "bare_land",
        "mixed_forest",
        "forest",
    )
    np.testing.assert_allclose(
        ps.loc[["T1-S1", "T1-S2"], ["esv_before_cny_per_yr", "esv_after_cny_per_yr"]].to_numpy(),
        [[S1_BEFORE, S1_AFTER], [S2_BEFORE, S2_AFTER]],
        rtol=1e-9,
    )
    # totals: 1799.53 + 899.77 = 2699.30 and 36 080.63 + 103 878.03 = 139 958.66
    assert v.esv_before_cny_per_yr == pytest.approx(2_699.2991897, rel=1e-9)
    assert v.esv_after_cny_per_yr == pytest.approx(139_958.6629868, rel=1e-9)
    doc = v.to_json()
    # the 2010 figures are kept beside: 3.0 hm² × … → 2.0 × 0.20 × 3406.50 + 1.0 × 0.20 × 3406.50
    assert doc["esv"]["before_source_prices_cny_per_yr"] == pytest.approx(2_043.9)
    # establishment
    assert dict(v.works_end) == {"T1-S1": 2027, "T1-S2": 2028}
    path = dict(zip(v.years.tolist(), v.esv_by_year.tolist(), strict=True))
    assert path[2026] == path[2027] == pytest.approx(S1_BEFORE + S2_BEFORE)
    # 2028: S1 a = 1, f = (1 − e^−0.2)/(1 − e^−3) = 0.181269/0.950213 = 0.190767; S2 a = 0
    #   1799.53 + 34 281.10 × 0.190767 + 899.77 = 9 239.00
    assert path[2028] == pytest.approx(9_239.000893531576, rel=1e-9)
    assert _f_cultivated(1) == pytest.approx(0.190767, abs=1e-6)
    # 2031: S1 a = 4, f = (1 − e^−0.8)/0.950213 = 0.579524; S2 a = 3,
    #   f = ((1 − e^−0.546)/(1 − e^−4.55))³ = (0.420727/0.989438)³ = 0.076891
    #   1799.53 + 34 281.10 × 0.579524 + 899.77 + 102 978.26 × 0.076891 = 30 484.12
    assert path[2031] == pytest.approx(30_484.116584752268, rel=1e-9)
    assert _f_forest(3) == pytest.approx(0.076891, abs=1e-6)
    for y in range(2026, 2036):
        assert path[y] == pytest.approx(_esv(y), rel=1e-9)
    # GEP: the project gives no zones
    assert v.gep.status == "not assessed" and "no GEP zones" in str(v.gep.reason)
    # value stages (valuation/stages/thresholds 2026.1: zero band 0.5 eq/hm², multiplication 2×)
    st = v.stages
    # damaged V₀ = 2 699.30 − 200 000 − 300 000 = −497 300.70 until the works end (2028)
    assert st["damaged_cny_per_yr"] == pytest.approx(2_699.2991897 - 500_000.0)
    # zero band = 0.5 × 3.0 hm² × 3406.50 × 1.3206611 = 6 748.25
    assert st["zero_band_cny_per_yr"] == pytest.approx(0.5 * 3.0 * E_STD * CPI_2010_2023)
    # developed = ESV after + mature operations income, nominal 1 300 000 in 2029 (the first
    # year of the full share) brought to 2023 prices at the costing escalation rate 1.8 %/yr
    # (costing/assumptions): 1 300 000 / 1.018⁶ = 1 168 037.23
    ops_real = 1_300_000.0 / 1.018**6
    assert st["developed_cny_per_yr"] == pytest.approx(139_958.6629868 + ops_real)
    assert st["development_income"]["mature_year"] == 2029
    assert st["multiplication_threshold_cny_per_yr"] == pytest.approx(2 * 139_958.6629868)
    years = {r["year"]: r for r in st["years"]}
    # 2028: ESV 9 239.00 − 500 000 (costs until the last works year) = −490 761.00: net loss
    assert years[2028]["value_cny_per_yr"] == pytest.approx(_esv(2028) - 500_000.0)
    assert years[2028]["stage"] == "net_loss"
    # 2031: ESV 30 484.12 + operations at maturity 1 168 037.23 ≥ 2 × 139 958.66: multiplication
    assert years[2031]["value_cny_per_yr"] == pytest.approx(_esv(2031) + ops_real)
    assert years[2031]["stage"] == "multiplication"
    # location: no context layers → coefficient falls back to 1.0
    (row,) = v.location_rows
    assert row["location_coefficient"] == 1.0
    assert row["value_adjusted_cny_per_yr"] == pytest.approx(139_958.6629868)


# ----------------------------------------------------------------------------------- cashflow
REVENUE = {2027: 2_400_000.0, 2028: 650_000.0, 2031: 945 * 70.76, 2034: 1485 * 70.76}
for _y in range(2029, 2037):
    REVENUE[_y] = REVENUE.get(_y, 0.0) + 1_300_000.0
# CF_t = R_t − O_t − C_t; opex 100 000 from 2028, the first year of the after-use's own income
# (the 2027 grant pays for the works; it does not start operations)
FLOWS = [
    REVENUE.get(y, 0.0) - (100_000.0 if y >= 2028 else 0.0) - CAPEX_NOMINAL.get(y, 0.0)
    for y in range(2026, 2037)
]
# = [−7 232 250.71, 729 421.11, 428 109.74, 1 105 011.65, 1 103 301.86, 1 144 962.68,
#    1 200 000, 1 200 000, 1 305 078.60, 1 200 000, 1 200 000]
NPV_BASE = 337_384.3110602178  # Σ CF_t / 1.06^t
PAYBACK = 7 + 321_443.6708753379 / 1_305_078.6  # [yr]


def test_cashflow_every_period_npv_irr_payback(res):
    cf = res.cashflow
    rows = cf.to_json()["rows"]
    assert [r["year"] for r in rows] == list(range(2026, 2037))
    np.testing.assert_allclose(
        [r["revenue_cny"] for r in rows], [REVENUE.get(y, 0.0) for y in range(2026, 2037)]
    )
    assert [r["opex_cny"] for r in rows] == [0.0, 0.0] + [100_000.0] * 9
    np.testing.assert_allclose(
        [r["capex_cny"] for r in rows],
        [CAPEX_NOMINAL.get(y, 0.0) for y in range(2026, 2037)],
        rtol=1e-12,
    )
    np.testing.assert_allclose([r["project_flow_cny"] for r in rows], FLOWS, rtol=1e-12)
    assert FLOWS[1] == pytest.approx(729_421.1129015749)  # 2 400 000 − 0 − 1 670 578.89
    # NPV = Σ CF_t / 1.06^t = 337 384.31
    npv = sum(f / 1.06**t for t, f in enumerate(FLOWS))
    assert npv == pytest.approx(NPV_BASE, rel=1e-12)
    assert cf.npv_cny == pytest.approx(NPV_BASE, rel=1e-9)
    # one sign change: a unique IRR, between 6 % (NPV > 0) and 7 % (NPV = −47 338.55 < 0)
    assert sum(f / 1.07**t for t, f in enumerate(FLOWS)) == pytest.approx(-47_338.54633044137)
    assert cf.irr is not None and 0.06 < cf.irr < 0.07
    assert abs(sum(f / (1 + cf.irr) ** t for t, f in enumerate(FLOWS))) < 1e-3  # NPV(IRR) = 0
    # payback: cumulative after period 7 = −321 443.67; + 1 305 078.60 in period 8
    #   → 7 + 321 443.67 / 1 305 078.60 = 7.24630
    assert cf.payback_years == pytest.approx(PAYBACK, rel=1e-9)
    assert cf.revenue_outside_horizon_cny == 0.0 and cf.capex_outside_horizon_cny == 0.0


# ---------------------------------------------------------------------------------- financing
# Rights pledged: the unrestricted income of 2027 … 2034 (loan years 1 … 8), the subsidy left
# out (fiscal funds granted for the works cannot be pledged)
RIGHTS = [REVENUE.get(y, 0.0) - (2_400_000.0 if y == 2027 else 0.0) for y in range(2027, 2035)]
# = [0, 650 000, 1 300 000, 1 300 000, 1 366 868.2, 1 300 000, 1 300 000, 1 405 078.6]
RIGHTS_PV = 6_383_714.596469661  # Σ R_k / 1.06^k, k = 1 … 8
LOAN = 0.5 * RIGHTS_PV  # LTV 0.5 → 3 191 857.30


def test_financing_pledge_loan(res):
    assert sum(r / 1.06 ** (k + 1) for k, r in enumerate(RIGHTS)) == pytest.approx(RIGHTS_PV)
    (loan,) = res.financing.instruments
    s = loan.summary
    assert s["rights_value"] == pytest.approx(RIGHTS_PV, rel=1e-12)
    assert s["amount"] == pytest.approx(LOAN, rel=1e-12)
    y1 = loan.schedule[0]
    # grace 2 years: year 1 pays interest only, 3 191 857.30 × 4.5 % = 143 633.58
    assert (y1["principal"], y1["interest"]) == (0.0, pytest.approx(LOAN * 0.045, rel=1e-12))
    # from year 3 an annuity over the 6 remaining years: L × 0.045 / (1 − 1.045^−6) = 618 833.49
    y3 = loan.schedule[2]
    assert y3["debt_service"] == pytest.approx(LOAN * 0.045 / (1 - 1.045**-6), rel=1e-9)
    # DSCR = CFADS / debt service with the structure's CFADS (docs/finance-instruments.md):
    # construction ends in 2028 (last works cost: the replanting of offset 2), so
    #   year 1 (2027): R − O − grant = 2 400 000 − 0 − 2 400 000 = 0 (the expected subsidy is a
    #     source of the works; no operations yet), DSCR = 0 / 143 633.58 = 0
    #   year 3 (2029): R − O − aftercare = 1 300 000 − 100 000 − 94 988.35 = 1 105 011.65,
    #     DSCR = 1 105 011.65 / 618 833.49 = 1.78564
    assert y1["cfads"] == pytest.approx(0.0, abs=1e-6)
    assert y1["dscr"] == pytest.approx(0.0, abs=1e-9)
    assert y3["cfads"] == pytest.approx(1_200_000.0 - CAPEX_NOMINAL[2029], rel=1e-12)
    assert y3["dscr"] == pytest.approx(
        (1_200_000.0 - CAPEX_NOMINAL[2029]) / (LOAN * 0.045 / (1 - 1.045**-6)), rel=1e-9
    )
    assert s["dscr_breach_years"] == [1]  # 0 < 1.2; 3.83 (550 000 / 143 633.58), 1.79 … ≥ 1.2


# --------------------------------------------------------------------------------------- risk
PV_CAPEX = 9_164_193.358884396  # Σ_t C_t / 1.06^t of CAPEX_NOMINAL
PV_CARBON = 115_895.42255812134  # 66 868.2 / 1.06⁵ + 105 078.6 / 1.06⁸ = 49 967.8 + 65 927.6


def test_risk_tornado_sources_and_contingent_payments(res):
    r = res.risk
    assert sum(c / 1.06 ** (y - 2026) for y, c in CAPEX_NOMINAL.items()) == pytest.approx(PV_CAPEX)
    tor = {t["driver"]: t for t in r.tornado}
    # the carbon driver moves only the carbon stream: swing = 2 × 0.1 × PV(carbon) = 23 179.08
    assert tor["carbon price"]["npv_swing"] == pytest.approx(2 * 0.1 * PV_CARBON, rel=1e-9)
    assert tor["carbon price"]["streams"] == ["碳汇"]
    # the capex driver +10 % of its mode only: its range 1.0 – 1.1 excludes 0.9, so
    # swing = NPV(1.0) − NPV(1.1) = 0.1 × PV(capex) = 916 419.34
    assert tor["scope change"]["minus"] == 1.0 and tor["scope change"]["plus"] == 1.1
    assert tor["scope change"]["npv_swing"] == pytest.approx(0.1 * PV_CAPEX, rel=1e-9)
    assert [t["driver"] for t in r.tornado] == ["scope change", "carbon price"]  # largest first
    # capex uncertainty: the costing Monte Carlo (unit costs, quantities) and the driver with
    # what it adds
    src = [(u["source"], u["driver"], tuple(u["covers"])) for u in r.uncertainty_sources]
    assert src == [
        ("costing_monte_carlo", None, ("unit_cost", "quantity")),
        ("driver", "scope change", ("scope_change",)),
    ]
    assert [dict(c) for c in r.contingent] == [
        {
            "name": "修复补助 2027 (subsidy)",
            "stream": "修复补助",
            "year": 2027,
            "amount_cny": 3_000_000.0,
            "probability": 0.8,
        }
    ]


def test_risk_monte_carlo_mean_npv(res):
    r = res.risk
    assert r.draws == 500 and r.npv.size == 500
    # E[NPV] = NPV_base − (E[f] E[d] − 1) PV(capex): capex scaled by the costing factor f
    # (E[f] = E[T] / T_det = 9 633 388.29 / 8 798 751.46 = 1.094858) and by the scope driver d
    # (triangular 1.0, 1.0, 1.1: mean 3.1/3); the carbon driver (mean 1) and the Bernoulli
    # subsidy (mean p·a, the base case) leave the mean unchanged
    _, e_total, sd_bound = _mc_moments()
    e_f = e_total / TOTAL
    e_npv = NPV_BASE - (e_f * 3.1 / 3 - 1) * PV_CAPEX  # = −866 367.7
    assert e_npv == pytest.approx(NPV_BASE - 1_203_752.0, abs=1.0)
    # tolerance: 4 standard errors of the sample mean, plus the bracket bias of E[T] (≤ 1 % Σσ)
    se = r.npv.std(ddof=1) / math.sqrt(r.npv.size)
    bias = 0.01 * sd_bound / TOTAL * (3.1 / 3) * PV_CAPEX
    assert abs(r.npv.mean() - e_npv) < 4 * se + bias
    assert r.summary["npv"]["mean"] == pytest.approx(r.npv.mean())
    # the subsidy is paid in about 80 % of the draws (4 sd of a binomial share: 0.072)
    (paid,) = r.summary["contingent_payments"]
    assert abs(paid["share_paid"] - 0.8) < 4 * math.sqrt(0.8 * 0.2 / 500)


# -------------------------------------------------------------------------------------- modes
def test_modes_primary_mode_and_iad_figures(res):
    m = res.modes
    (mine,) = m.mines
    prof = mine["profile"]["profile"]
    # modes/profile-derivation restora-1: safe_utilization → pollution moderate; worst hazard
    # grade medium; defaults: market_maturity low, rights not clear
    assert (prof["pollution"], prof["geohazard_risk"], prof["market_maturity"]) == (
        "moderate",
        "medium",
        "low",
    )
    # modes/rules restora-fit-1 (softmax): z = bias + Σ weights of the rules that hold
    #   safety   −1.51 + 3.48 (SAFETY-02 medium geohazards) + 0.09 (SAFETY-05 moderate pollution)
    #            + 0.91 (SAFETY-06 metal mine, polluted) + 1.0 (SAFETY-08 weak market) = 3.97
    #   resource  0.52 + 1.0 (RESOURCE-07 weak market) = 1.52
    #   rights   −0.37 + 1.32 (RIGHTS-08 ownerless mine) = 0.95
    #   industry  1.36
    z = {
        "safety_baseline": -1.51 + 3.48 + 0.09 + 0.91 + 1.0,
        "resource_utilization": 0.52 + 1.0,
        "property_rights": -0.37 + 1.32,
        "industry_integration": 1.36,
    }
    total = sum(math.exp(v) for v in z.values())
    for mode, v in z.items():  # safety e^3.97 / Σ = 52.98 / 64.03 = 0.8274
        assert mine["scores"][mode] == pytest.approx(math.exp(v) / total, abs=1e-6)
    assert mine["primary_mode"] == "safety_baseline"
    assert mine["sequence"] == ["safety_baseline"]  # the others are below 0.25
    assert {
        "MODE-SAFETY-02", "MODE-SAFETY-05", "MODE-SAFETY-06", "MODE-SAFETY-08",
        "MODE-RESOURCE-07", "MODE-RIGHTS-08", "MODE-GATE-SAFETY",
    } == set(mine["rule_codes"])  # fmt: skip
    # IAD figures from this appraisal: one registered hazard, treated by the plan's retaining
    # wall (hazard_id T1-H1); the cash flows, IRR and payback of the cash-flow stage
    f = m.figures
    assert (f["hazard_points_total"], f["hazard_points_eliminated"]) == (1, 1)
    np.testing.assert_allclose(f["cash_flows"], FLOWS, rtol=1e-12)
    assert f["irr"] == res.cashflow.irr and f["payback_years"] == res.cashflow.payback_years
    assert "gep_before" not in f  # GEP not assessed
    crit = {c["code"]: c for e in m.iad.values() for c in e["criteria"]}
    assert crit["IAD-SAFETY-HAZARD-RATE"]["value"] == 1.0  # 1 eliminated / 1 registered
    assert crit["IAD-INDUSTRY-IRR"]["value"] == pytest.approx(res.cashflow.irr)
    assert crit["IAD-INDUSTRY-PAYBACK"]["value"] == pytest.approx(PAYBACK)
    assert crit["IAD-RESOURCE-GEP-GROWTH"]["value"] is None
    assert "gep_before" in crit["IAD-RESOURCE-GEP-GROWTH"]["reason"]
