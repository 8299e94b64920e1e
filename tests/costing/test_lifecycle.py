"""The deterministic life-cycle cost reproduces hand-worked plans and the Colorado filing."""

from __future__ import annotations

import numpy as np
import pytest

from restora.costing.indirect import apply_tiers, indirect_table, load_tiers, parse_tiers
from restora.costing.lifecycle import Assumptions, estimate
from restora.costing.unitcosts import price_factor
from restora.errors import InputError
from restora.planning.model import RestorationPlan


def test_colorado_drms_worked_example():
    # Colorado DRMS M1977410 (2021), reference finance-instruments.md:
    # direct 234,415 → ED&C 8 % 18,753 (18,753.2); contingency 10 % 23,442 (23,441.5);
    # insurance 1,350; bond 3 % 7,032 (7,032.45); profit 10 % 23,442; contract admin 10 %
    # 23,442; government indirect 21 % of 23,442 = 4,922.82 → 4,923; grand total 336,799.
    rows = indirect_table(234_415, load_tiers("colorado-drms-m1977410", on="2021-06-01"))
    got = {r["code"]: r["amount"] for r in rows}
    assert got == {
        "edc": 18_753,
        "contingency": 23_442,
        "insurance": 1_350,
        "performance_bond": 7_032,
        "contractor_profit": 23_442,
        "contract_admin": 23_442,
        "government_indirect": 4_923,
    }
    indirect = sum(got.values())
    assert indirect == 102_384
    assert 234_415 + indirect == 336_799
    assert round(indirect / 234_415, 2) == 0.44  # "total indirect ≈ 44 % of direct"


def test_srce_bands_are_marginal_brackets():
    """Issue 11 item 7: SRCE's whole-base band rates made the total fall at a band limit.

    Before: 1,000,000 → 80,000 + 80,000 (8 % band) = 1,160,000, but 1,000,001 → ED&C 6 % of
    all = 60,000 and contingency 8 % = 80,000 → 1,140,001. Now each rate applies to the slice
    of the direct cost inside its band.
    """
    t = load_tiers("srce-nevada")
    # ED&C 8 % of the first 1 M, 6 % of the next 24 M, 4 % above
    assert apply_tiers(1_000_000, t)["edc"] == 80_000
    # 2 M: 0.08 × 1 M + 0.06 × 1 M = 80,000 + 60,000 = 140,000 (was 6 % × 2 M = 120,000)
    assert apply_tiers(2_000_000, t)["edc"] == 140_000
    # 30 M: 80,000 + 0.06 × 24 M (1,440,000) + 0.04 × 5 M (200,000) = 1,720,000
    assert apply_tiers(30_000_000, t)["edc"] == 1_720_000
    # contingency: 10 % of the first 0.5 M, 8 % to 5 M, 6 % to 50 M, 4 % above
    got = apply_tiers(np.array([400_000, 600_000, 6_000_000, 60_000_000]), t)["contingency"]
    assert got.tolist() == [
        40_000,  # 0.10 × 400,000
        58_000,  # 50,000 + 0.08 × 100,000 = 50,000 + 8,000
        470_000,  # 50,000 + 0.08 × 4.5 M (360,000) + 0.06 × 1 M (60,000)
        3_510_000,  # 50,000 + 360,000 + 0.06 × 45 M (2,700,000) + 0.04 × 10 M (400,000)
    ]
    # the pair: 1,000,000 → ED&C 80,000 + contingency 50,000 + 0.08 × 500,000 (40,000)
    # = 90,000 → total 1,170,000; 1,000,001 → 80,000.06 → 80,000 and 90,000.08 → 90,000
    # (rounded half-up to whole dollars) → 1,170,001: one dollar more work, one dollar more
    totals = [d + sum(float(v) for v in apply_tiers(d, t).values()) for d in (1e6, 1e6 + 1)]
    assert totals == [1_170_000, 1_170_001]


def test_band_method_is_refused():
    with pytest.raises(InputError, match="fall just above a band limit"):
        parse_tiers({"method": "band", "lines": []}, "old.yaml", {})
    with pytest.raises(InputError, match="negative"):
        parse_tiers({"lines": [{"code": "x", "base": "direct", "rate": -0.1}]}, "t.yaml", {})


def test_marginal_method_is_tax_brackets():
    t = parse_tiers(
        {
            "method": "marginal",
            "lines": [
                {
                    "code": "edc",
                    "base": "direct",
                    "bands": [
                        {"up_to": 1_000_000, "rate": 0.08},
                        {"up_to": 25_000_000, "rate": 0.06},
                        {"up_to": None, "rate": 0.04},
                    ],
                }
            ],
        },
        "test",
        {},
    )
    # 8 % of the first 1 M + 6 % of the next 1 M = 80,000 + 60,000
    assert float(apply_tiers(2_000_000, t)["edc"]) == pytest.approx(140_000)
    # 80,000 + 0.06 × 24 M + 0.04 × 5 M = 80,000 + 1,440,000 + 200,000
    assert float(apply_tiers(30_000_000, t)["edc"]) == pytest.approx(1_720_000)


def test_tier_base_must_be_known():
    with pytest.raises(InputError, match="base"):
        parse_tiers({"lines": [{"code": "x", "base": "nothing", "rate": 0.1}]}, "t.yaml", {})


def test_hand_worked_quarry_and_subsidence(hand_plan):
    # on a date after NBS published the 2023 CPI (January 2024): the 2020 rows need it
    e = estimate(hand_plan, on="2024-06-01")
    amounts = [(ln.site_id, ln.item, ln.amount) for ln in e.lines]
    # quantity × likely unit cost (costing/unit-costs 2023). Rows at price year 2023 = plan
    # year → factor 1. The five rows sourced from the Wengniute 2021 plan (topsoil, trees,
    # shrubs, grass, pit filling) are at 2020 prices → moved to 2023 by NBS CPI 2021 100.9,
    # 2022 102.0, 2023 100.2: f = 1.009 × 1.020 × 1.002 = 1.02918 × 1.002 = 1.03123836
    f = 1.03123836
    assert amounts == [
        ("Q1", "slope_cutting", 4000 * 25),  # 100,000
        ("Q1", "anchoring", 200 * 250),  # 50,000
        ("Q1", "retaining_wall", 120 * 450),  # 54,000
        ("Q1", "drainage_ditch", 300 * 200),  # 60,000
        ("Q1", "terrain_reshaping", 2 * 8000),  # 16,000
        # 2 hm² × 0.3 m = 6000 m³ × 18.47 = 110,820 × f = 114,281.835
        ("Q1", "topsoil_cover", pytest.approx(6000 * 18.47 * f)),
        # 3000 × 71.13 = 213,390 × f = 220,055.954
        ("Q1", "tree_planting", pytest.approx(3000 * 71.13 * f)),
        # 2666 × 15.92 = 42,442.72 × f = 43,768.561
        ("Q1", "shrub_planting", pytest.approx(2666 * 15.92 * f)),
        # 20,000 m² × 0.215876 (2158.76 CNY/hm²) = 4,317.52 × f = 4,452.392
        ("Q1", "grass_seeding", pytest.approx(20000 * 0.215876 * f)),
        # replanting 450 × 71.13 = 32,008.5 × f = 33,008.393
        ("Q1", "tree_planting", pytest.approx(450 * 71.13 * f)),
        ("Q1", "irrigation", 2 * 3 * 3000),  # 2 hm² × 3 yr → 18,000
        ("S1", "fissure_filling", 1000 * 40),  # 40,000
        # pit filling: 覆土(0-0.5km) 12.36 + 压实 3.38 = 15.74 CNY/m³ (2020);
        # 5000 × 15.74 = 78,700 × f = 81,158.459
        ("S1", "pit_filling", pytest.approx(5000 * 15.74 * f)),
        ("S1", "terrain_reshaping", 10 * 8000),  # 80,000
        ("S1", "pond_excavation", 20000 * 18),  # 360,000
        ("S1", "bank_protection", 400 * 600),  # 240,000
        ("S1", "soil_amendment", 8 * 6000),  # 48,000
        (None, "topographic_survey", 12 * 1500),  # 18,000
        (None, "sampling_campaign", 4 * 50000),  # 200,000
        (None, "remote_sensing", 4 * 8000),  # 32,000
        (None, "verification", 80000),
    ]
    # Q1: 298,000 at factor 1 + (110,820 + 213,390 + 42,442.72 + 4,317.52 + 32,008.5 =
    # 402,978.74) × f = 298,000 + 415,567.135 = 713,567.135; S1 768,000 at factor 1 +
    # 81,158.459 = 849,158.459; mine 330,000 → direct 1,892,725.594
    assert e.direct_total == pytest.approx(1_892_725.594, abs=0.001)
    ind = {r["code"]: r["amount"] for r in e.indirect}
    # cn-default tiers: 1.89 M is in the first bands (ED&C ≤ 7 M: 8 %; contingency ≤ 3.5 M: 10 %)
    assert ind == {
        "edc": 151_418,  # 0.08 × 1,892,725.594 = 151,418.05
        "contingency": 189_273,  # 0.10 × 1,892,725.594 = 189,272.56
        "management": 189_273,  # 0.10
        "insurance_bond": 56_782,  # 0.03 × 1,892,725.594 = 56,781.77
        "contractor_margin": 189_273,  # 0.10
    }
    # 151,418 + 3 × 189,273 + 56,782 = 776,019
    assert e.indirect_total == 776_019
    assert e.total == pytest.approx(1_892_725.594 + 776_019, abs=0.001)  # 2,668,744.594
    topsoil, trees, shrubs, grass, replant = (a for _, _, a in amounts[5:10])
    assert e.by_phase == {
        "survey_design": 18_000 + 151_418,
        # 100,000 + 50,000 + 54,000 + 60,000 + 40,000 + 81,158.459 = 385,158.459
        "closure_hazard": pytest.approx(100_000 + 50_000 + 54_000 + 60_000 + 40_000 + 78_700 * f),
        # 16,000 + 114,281.835 + 80,000 + 360,000 + 240,000 + 48,000 = 858,281.835
        "basic_restoration": pytest.approx(
            16_000 + 110_820 * f + 80_000 + 360_000 + 240_000 + 48_000
        ),
        "pollution": 0.0,
        # (213,390 + 42,442.72 + 4,317.52 + 32,008.5 = 292,158.74) × f = 301,285.300
        "revegetation": pytest.approx(292_158.74 * f),
        "maintenance": 18_000,
        "monitoring": 232_000,
        "verification": 80_000,
        "contingency": 189_273,
        "management": 189_273 + 56_782 + 189_273,
    }
    assert e.by_phase["basic_restoration"] == pytest.approx(858_281.835, abs=0.001)
    assert e.by_phase["revegetation"] == pytest.approx(trees + shrubs + grass + replant)
    assert topsoil == pytest.approx(114_281.835, abs=0.001)
    assert sum(e.by_phase.values()) == pytest.approx(e.total)
    assert e.by_year["real_cny"].sum() == pytest.approx(e.total)
    names = {t["name"] for t in e.tables_used}
    assert {"costing/unit-costs", "costing/indirect/cn-default", "prices/cn-cpi"} <= names
    assert hand_plan.after_use_hm2() == {"forest": 2.0, "water": 10.0}
    # provenance: the lines at factor 1 are exactly the engineering-judgement rows —
    # Q1 298,000 + S1 768,000 + mine 330,000 = 1,396,000; the six sourced lines are the rest
    assert e.unsourced_direct == pytest.approx(1_396_000)
    sourced = {ln.item for ln in e.lines if ln.sourced}
    assert sourced == {"topsoil_cover", "tree_planting", "shrub_planting", "grass_seeding"} | {
        "pit_filling"
    }
    assert all(ln.source_price_year == (2020 if ln.sourced else 2023) for ln in e.lines)


def test_yearly_nominal_and_present_value():
    plan = RestorationPlan.model_validate(
        {
            "mine_id": "Y",
            "price_year": 2023,
            "start_year": 2024,
            "mine_works": [
                {"item": "verification", "quantity": 1, "unit": "mine", "phase": "verification"},
                {
                    "item": "remote_sensing",
                    "quantity": 1,
                    "unit": "mine*yr",
                    "phase": "monitoring",
                    "start_year": 1,
                    "years": 2,
                    "per_year": True,
                },
            ],
        }
    )
    a = Assumptions(0.10, 0.05, 0.0, 0.0, "triangular", 3)
    none = parse_tiers({"lines": []}, "none", {})
    e = estimate(plan, tiers=none, assumptions=a, on="2024-01-01")
    # year 0 (2024): 80,000; years 1 and 2: 8,000 each
    assert e.by_year["real_cny"].tolist() == [80_000, 8_000, 8_000]
    # nominal: × 1.05^(2024+t-2023): 84,000; 8,000 × 1.1025 = 8,820; 8,000 × 1.157625 = 9,261
    assert e.by_year["nominal_cny"].tolist() == pytest.approx([84_000, 8_820, 9_261])
    # PV at 10 %: 84,000 + 8,820/1.1 + 9,261/1.21 = 84,000 + 8,018.18 + 7,653.72
    assert e.pv_total == pytest.approx(84_000 + 8_820 / 1.1 + 9_261 / 1.21)


def test_price_index_moves_prices_between_years():
    idx = {2022: 102.0, 2023: 100.2, 2024: 100.2}
    assert price_factor(2022, 2024, idx) == pytest.approx(1.002 * 1.002)
    assert price_factor(2024, 2022, idx) == pytest.approx(1 / (1.002 * 1.002))
    assert price_factor(2023, 2023, idx) == 1.0


def test_plan_in_another_price_year_is_reindexed(hand_plan):
    p = hand_plan.model_copy(update={"price_year": 2024})
    e = estimate(p, on="2025-06-01")
    # NBS CPI 2024 = 100.2 (published January 2025) → every row × one more 1.002 (the 2023 rows
    # × 1.002, the 2020 rows × f × 1.002): 1,892,725.594 × 1.002 = 1,896,511.045
    assert e.direct_total == pytest.approx(1_896_511.045, abs=0.001)


def test_unit_mismatch_names_the_work(hand_plan):
    doc = hand_plan.model_dump()
    doc["sites"][0]["works"][1]["unit"] = "m3"
    with pytest.raises(InputError) as ei:
        estimate(RestorationPlan.model_validate(doc), where="plan.yaml")
    p = ei.value.problems[0]
    assert (p.file, p.row, p.field) == ("plan.yaml", "sites.0.works.1", "unit")
