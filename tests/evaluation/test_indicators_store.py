"""The indicators over a synthetic store (tests/evaluation/indicators_support.py), against
hand calculations, on SQLite and PostgreSQL: every figure read from where the store keeps it,
the filters, not-available reporting, the figures by region and their disparity.
"""

from __future__ import annotations

import importlib.util
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from restora.evaluation.indicators import Filters
from restora.store import Store
from restora.store import evaluation as ev


def _support() -> Any:
    path = Path(__file__).with_name("indicators_support.py")
    spec = importlib.util.spec_from_file_location("restora_tests_indicators_support_", path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.load()


S = _support()


@pytest.fixture
def store(db_url: str) -> Iterator[Any]:
    with Store(db_url) as s:
        S.build(s)
        yield s


def _values(result: dict[str, Any]) -> dict[str, Any]:
    return {i["code"]: i["value"] for i in result["indicators"]}


def _reasons(result: dict[str, Any]) -> dict[str, Any]:
    return {i["code"]: i["reason"] for i in result["indicators"]}


def test_every_indicator_by_hand(store: Any) -> None:
    before = S.counts(store)
    r = ev.evaluate(store, on=S.ON)
    v = _values(r)
    assert S.counts(store) == before  # reading writes nothing
    assert r["projects"] == ["P1", "P2", "P3", "P4"]
    assert v["EVAL-PROJ-N"] == 4 and v["EVAL-PROJ-APPRAISED"] == 3
    # damaged: 100 + 50 + 200 + 30; under projects: A, B, C once (P3 and P4 share M-C)
    assert v["EVAL-AREA-DAMAGED"] == pytest.approx(380.0)
    assert v["EVAL-AREA-PROJECTS"] == pytest.approx(350.0)
    # P1 complete (both milestones accepted): M-A's 100 hm²; 100 / 380
    assert v["EVAL-AREA-RESTORED"] == pytest.approx(100.0)
    assert v["EVAL-AREA-RESTORED-SHARE"] == pytest.approx(100 / 380)
    # P1 (latest version): public 300, social 500 + 200; P2: public 100, enterprise 400,
    # revenue 100; P1's first version (grant 1) is not counted
    assert v["EVAL-INV-TOTAL"] == pytest.approx(1600.0)
    assert v["EVAL-INV-SOCIAL"] == pytest.approx(700.0)
    assert v["EVAL-INV-PUBLIC"] == pytest.approx(400.0)
    assert v["EVAL-INV-ENTERPRISE"] == pytest.approx(400.0)
    assert v["EVAL-INV-REVENUE"] == pytest.approx(100.0)
    assert v["EVAL-INV-SOCIAL-SHARE"] == pytest.approx(700 / 1600)  # 0.4375
    assert v["EVAL-INV-PUBLIC-SHARE"] == pytest.approx(0.25)
    assert v["EVAL-LEVERAGE"] == pytest.approx(1.75)  # 700 / 400
    # quotas (CLQ, 0.01 mu a serial): 500 + 200 serials issued (the cancelled 100 not), 200
    # retired, 100 traded; credits (1 t a serial): 100 issued, 40 retired, 25 traded
    assert v["EVAL-QUOTA-ISSUED"] == pytest.approx(7.0)
    assert v["EVAL-QUOTA-USED"] == pytest.approx(2.0)
    assert v["EVAL-QUOTA-TRADED"] == pytest.approx(1.0)
    assert (v["EVAL-CREDIT-ISSUED"], v["EVAL-CREDIT-RETIRED"], v["EVAL-CREDIT-TRADED"]) == (
        100.0,
        40.0,
        25.0,
    )
    assert v["EVAL-UNITS-TRADE-VALUE"] == pytest.approx(1250.0 + 30000.0)
    # earth and stone of M-B: 1 200 sold of 1 000 approved, 24 000 CNY, one alert
    assert v["EVAL-EST-APPROVED"] == pytest.approx(1000.0)
    assert v["EVAL-EST-SOLD"] == pytest.approx(1200.0)
    assert v["EVAL-EST-UTILISATION"] == pytest.approx(1.2)
    assert v["EVAL-EST-PROCEEDS"] == pytest.approx(24000.0)
    assert v["EVAL-EST-ALERTS"] == 1
    assert v["EVAL-MODES-ADOPTED"] == 3
    # ESV: (50 + 30) / (1000 + 600); GEP: P1 only, (160 - 100) / 1000
    assert v["EVAL-ESV-PER-CNY"] == pytest.approx(0.05)
    assert v["EVAL-GEP-PER-CNY"] == pytest.approx(0.06)
    # fund of producing mines: (400 + 600) / (400 + 1000); the 2027 accrual is not due
    assert v["EVAL-FUND-SUFFICIENCY"] == pytest.approx(1000 / 1400)
    # milestones: M1 on time, M2 late, M3 overdue (its rejection is no acceptance), M4 pending
    assert v["EVAL-MILESTONES-ON-TIME"] == pytest.approx(1 / 3)
    # P1: 2024-01-01 -> 2026-01-10 = 366 + 365 + 9 days
    assert v["EVAL-CYCLE-DAYS"] == 740
    assert v["EVAL-JOBS"] is None and "jobs" in _reasons(r)["EVAL-JOBS"]


def test_cycle_per_stage(store: Any) -> None:
    cycle = {c["stage"]: c for c in ev.evaluate(store, on=S.ON)["cycle"]}
    # first appraisal: P1 2024-01-01 -> 2024-02-01 (31), P2 31, P3 1 -> median 31
    assert cycle["appraised"]["projects"] == 3 and cycle["appraised"]["median_days"] == 31
    # P1's first accepted sign-off 2025-06-20: 366 + 170 days after 2024-01-01
    assert cycle["first_signoff"]["median_days"] == 536
    assert cycle["listed"]["projects"] == 0 and cycle["listed"]["median_days"] is None
    # steps: appraised 31 (median), first sign-off 536 - 31 = 505, completed 740 - 536 = 204
    assert cycle["first_signoff"]["median_step_days"] == 505
    assert cycle["first_signoff"]["slowest_step"] is True
    assert [c["stage"] for c in cycle.values() if c["slowest_step"]] == ["first_signoff"]


def test_funding_rules_and_mode_mix(store: Any) -> None:
    r = ev.evaluate(store, on=S.ON)
    inv = {row["project_id"]: row for row in r["investment"]}
    assert set(inv) == {"P1", "P2"}  # P3 has no financing stage, P4 no appraisal
    assert inv["P1"]["rules"] == [
        "EVAL-FUND-01",
        "EVAL-FUND-06+EVAL-SPONSOR-06",
        "EVAL-FUND-07+EVAL-SPONSOR-06",
    ]
    assert inv["P2"]["enterprise_cny"] == 400.0 and inv["P2"]["project_revenue_cny"] == 100.0
    modes = {m["mode"]: m for m in r["modes"]}
    assert modes["resource_utilization"]["projects"] == 1
    assert modes["resource_utilization"]["social_capital_cny"] == 700.0
    assert modes["property_rights"]["projects"] == 0
    assert modes[None]["projects"] == 1  # P4, not appraised
    assert {t["name"] for t in r["tables"]} == {
        "evaluation/indicators",
        "evaluation/funding-sources",
    }


@pytest.mark.parametrize(
    ("filters", "projects", "damaged"),
    [
        (Filters(region="4305"), ["P1", "P2"], 180.0),  # A + B + D
        (Filters(region="430500"), ["P1", "P2"], 180.0),  # a city code stands for its prefix
        (Filters(region="44"), ["P3", "P4"], 200.0),
        (Filters(mineral="metal"), ["P2"], 50.0),
        (Filters(mode="resource_utilization"), ["P1"], 380.0),  # the mode leaves the register
        (Filters(year_from=2025), ["P2", "P3", "P4"], 380.0),
        (Filters(year_from=2024, year_to=2025), ["P1", "P2"], 380.0),
    ],
)
def test_filters(store: Any, filters: Filters, projects: list[str], damaged: float) -> None:
    r = ev.evaluate(store, filters=filters, on=S.ON)
    assert r["projects"] == projects
    assert _values(r)["EVAL-AREA-DAMAGED"] == pytest.approx(damaged)


def test_not_available_with_reasons(store: Any) -> None:
    # Guangdong: P3 has no financing stage, P4 no appraisal; no milestone, no unit, no surplus
    r = ev.evaluate(store, filters=Filters(region="44"), on=S.ON)
    v, why = _values(r), _reasons(r)
    for code in ("EVAL-INV-TOTAL", "EVAL-INV-SOCIAL-SHARE", "EVAL-LEVERAGE"):
        assert v[code] is None and "financing stage" in why[code]
    assert v["EVAL-QUOTA-ISSUED"] is None and "registered units" in why["EVAL-QUOTA-ISSUED"]
    assert v["EVAL-EST-PROCEEDS"] is None and "earth and stone" in why["EVAL-EST-PROCEEDS"]
    assert v["EVAL-MILESTONES-ON-TIME"] is None and "milestone" in why["EVAL-MILESTONES-ON-TIME"]
    assert v["EVAL-FUND-SUFFICIENCY"] is None and "producing" in why["EVAL-FUND-SUFFICIENCY"]
    # the restored area is known (0: no project complete), not "not available"
    assert v["EVAL-AREA-RESTORED"] == 0.0 and why["EVAL-AREA-RESTORED"] is None
    available = {i["code"]: i["available"] for i in r["indicators"]}
    assert all(available[c] == (v[c] is not None) for c in v)


def test_by_county_and_disparity(store: Any) -> None:
    r = ev.evaluate(store, on=S.ON, level="county")
    regions = {x["region_code"]: x for x in r["regions"]}
    assert set(regions) == {"430521", "430522", "440101"}
    assert regions["430521"]["damaged_area_hm2"] == pytest.approx(130.0)  # A + D
    assert regions["430521"]["social_capital_cny"] == pytest.approx(700.0)
    assert regions["440101"]["projects"] == 2 and regions["440101"]["project_area_hm2"] == 200.0
    d = r["disparity"]["social_capital_cny"]
    # x = (700, 0, 0), mu = 700/3: Gini = sum|xi - xj| / (2 n^2 mu) = 2800 / 4200
    assert d["gini"] == pytest.approx(2 / 3)
    # Theil T = (1/3)(3 ln 3) = ln 3; by city: 4305 holds all (s = 1, mean 350),
    # within = ln 2 (700 and 0 around 350), between = ln(350 / (700/3)) = ln 1.5
    assert d["theil"] == pytest.approx(math.log(3))
    assert d["theil_within"] == pytest.approx(math.log(2))
    assert d["theil_between"] == pytest.approx(math.log(1.5))
    assert d["group_level"] == "city"
    assert d["lorenz"]["value_share"] == pytest.approx([0, 0, 0, 1])
    # restored area by county (100, 0, 0): the same shape
    assert r["disparity"]["restored_area_hm2"]["gini"] == pytest.approx(2 / 3)


def test_by_province(store: Any) -> None:
    r = ev.evaluate(store, on=S.ON, level="province")
    regions = {x["region_code"]: x for x in r["regions"]}
    assert set(regions) == {"430000", "440000"}
    assert regions["430000"]["investment_cny"] == pytest.approx(1600.0)
    # (700, 0): Gini = 2 * 700 / (2 * 4 * 350) = 0.5; Theil = (1/2)(2 ln 2) = ln 2
    d = r["disparity"]["social_capital_cny"]
    assert d["gini"] == pytest.approx(0.5) and d["theil"] == pytest.approx(math.log(2))
