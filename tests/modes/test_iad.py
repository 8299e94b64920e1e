"""IAD evaluation: the paper's dimensions as data, criteria against hand calculations."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from restora import refdata
from restora.errors import InputError
from restora.modes import iad
from restora.modes.profile import MODES

ON = "2026-06-01"

APPRAISAL: dict[str, Any] = {
    "hazard_points_total": 12,
    "hazard_points_eliminated": 9,
    "hazard_points_stabilised": 2,
    "people_threatened_before": 400,
    "people_threatened_after": 30,
    "safety_perception_before": 2.5,
    "safety_perception_after": 4.0,
    "gep_before": 1_000_000,
    "gep_after": 1_500_000,
    "gep_years": 5,
    "gep_series": [90, 100, 110],
    "transactions": [{"price": 120, "base_price": 100}, {"price": 90, "base_price": 100}],
    "cash_flows": [-1000, 300, 300, 300, 300, 300],
    "jobs_by_year": [10, 40, 50, 30],
    "benefit_shares": {"company": 0.6, "village_collective": 0.3, "government": 0.1},
}


def _values(ev: iad.IADEvaluation) -> dict[str, float | None]:
    return {c.code: c.value for c in ev.criteria}


def test_dimensions_are_the_papers_table_in_two_languages() -> None:
    table = refdata.get(iad.IAD_TABLE, on=ON)
    assert "10.20103/j.stxb.202507131830" in table.source and table.unit
    keys = [d["key"] for d in table.data["dimensions"]]
    assert len(keys) == 8
    for mode in MODES:
        ev = iad.evaluate(mode, on=ON)
        assert list(ev.dimensions) == keys
        assert all(v["en"] and v["zh"] for v in ev.dimensions.values())
    safety = iad.evaluate("safety_baseline", on=ON)
    assert safety.dimensions["external_nature"]["en"] == "unstable geology, serious geohazards"
    assert safety.name["zh"] == "矿山安全基底实现"
    assert (
        "IRR" in iad.evaluate("industry_integration", on=ON).dimensions["evaluation_criteria"]["en"]
    )


def test_safety_criteria_by_hand() -> None:
    v = _values(iad.evaluate("safety_baseline", APPRAISAL, on=ON))
    assert v["IAD-SAFETY-HAZARD-RATE"] == pytest.approx((9 + 2) / 12)  # 0.916 667
    assert v["IAD-SAFETY-RISK-REDUCTION"] == pytest.approx((400 - 30) / 400)  # 0.925
    assert v["IAD-SAFETY-PERCEPTION"] == pytest.approx(1.5)  # 4.0 − 2.5


def test_resource_criteria_by_hand() -> None:
    ev = iad.evaluate("resource_utilization", APPRAISAL, on=ON)
    v = _values(ev)
    # (1.5e6 / 1e6)^(1/5) − 1 = 1.5^0.2 − 1 = 0.084 472
    assert v["IAD-RESOURCE-GEP-GROWTH"] == pytest.approx(0.0844717712, rel=1e-9)
    # mean 100, population s.d. sqrt(200/3) = 8.164 966 → 1 − 0.081 650 = 0.918 350
    assert v["IAD-RESOURCE-SUPPLY-STABILITY"] == pytest.approx(1 - np.sqrt(200 / 3) / 100)
    adapt = next(c for c in ev.criteria if c.code == "IAD-RESOURCE-ADAPTABILITY")
    assert adapt.value is None and "qualitative" in (adapt.reason or "")


def test_property_rights_criteria_by_hand() -> None:
    v = _values(iad.evaluate("property_rights", APPRAISAL, on=ON))
    assert v["IAD-RIGHTS-PREMIUM"] == pytest.approx((210 - 200) / 200)  # 0.05
    assert v["IAD-RIGHTS-GEP-APPRECIATION"] == pytest.approx(0.5)  # 1.5e6 / 1e6 − 1
    # |0.6−0.3| + |0.6−0.1| + |0.3−0.1| = 1.0, counted twice = 2.0; 2n²x̄ = 2·9·(1/3) = 6
    assert v["IAD-RIGHTS-FAIRNESS"] == pytest.approx(2.0 / 6.0)
    assert v["IAD-RIGHTS-ALLOCATION"] is None


def test_industry_criteria_by_hand_and_from_cash_flows() -> None:
    v = _values(iad.evaluate("industry_integration", APPRAISAL, on=ON))
    # −1000 + 300·a(5, r) = 0 → r = 15.238 % (annuity factor 3.3333)
    assert v["IAD-INDUSTRY-IRR"] == pytest.approx(0.152382, abs=1e-6)
    assert v["IAD-INDUSTRY-PAYBACK"] == pytest.approx(1000 / 300)  # 3 years + 100/300
    assert v["IAD-INDUSTRY-JOBS"] == 50
    assert v["IAD-INDUSTRY-JOBS-PERSISTENCE"] == pytest.approx(30 / 50)
    # stated figures win over the cash flows
    given = iad.evaluate("industry_integration", {**APPRAISAL, "irr": 0.08, "payback_years": 7})
    assert _values(given)["IAD-INDUSTRY-IRR"] == 0.08
    assert _values(given)["IAD-INDUSTRY-PAYBACK"] == 7


def test_missing_figures_give_null_with_the_reason_never_a_number() -> None:
    for mode in MODES:
        ev = iad.evaluate(mode, {}, on=ON)
        for c in ev.criteria:
            assert c.value is None
            assert c.reason
    ev = iad.evaluate("safety_baseline", {"hazard_points_total": 5}, on=ON)
    rate = next(c for c in ev.criteria if c.code == "IAD-SAFETY-HAZARD-RATE")
    assert rate.value is None and "hazard_points_eliminated" in (rate.reason or "")
    # a payback that never comes is null, not a number
    ev = iad.evaluate("industry_integration", {"cash_flows": [-100, 10, 10]}, on=ON)
    pb = next(c for c in ev.criteria if c.code == "IAD-INDUSTRY-PAYBACK")
    assert pb.value is None and pb.reason
    # zero hazard points: the rate is undefined
    ev = iad.evaluate(
        "safety_baseline", {"hazard_points_total": 0, "hazard_points_eliminated": 0}, on=ON
    )
    assert _values(ev)["IAD-SAFETY-HAZARD-RATE"] is None


def test_by_mode_figures_override_the_common_ones() -> None:
    app = {"jobs_by_year": [5, 5], "by_mode": {"industry_integration": {"jobs_by_year": [8, 4]}}}
    ind = _values(iad.evaluate("industry_integration", app, on=ON))
    assert ind["IAD-INDUSTRY-JOBS"] == 8 and ind["IAD-INDUSTRY-JOBS-PERSISTENCE"] == 0.5
    assert iad.figures_for(app, "safety_baseline")["jobs_by_year"] == [5, 5]
    with pytest.raises(InputError) as err:
        iad.figures_for({"by_mode": {"mining": {}}}, "safety_baseline")
    assert err.value.problems[0].field == "by_mode"


@pytest.mark.parametrize(
    ("mode", "figures", "field"),
    [
        ("safety_baseline", {"hazard_points_total": "many"}, "hazard_points_total"),
        ("safety_baseline", {"hazard_points_total": -1}, "hazard_points_total"),
        (
            "safety_baseline",
            {"hazard_points_total": 3, "hazard_points_eliminated": 4},
            "hazard_points_eliminated",
        ),
        ("resource_utilization", {"gep_before": 0, "gep_after": 1, "gep_years": 2}, "gep_before"),
        ("resource_utilization", {"gep_series": [1, "x"]}, "gep_series"),
        ("property_rights", {"transactions": [{"price": 1}]}, "transactions"),
        ("property_rights", {"benefit_shares": {"only": 1}}, "benefit_shares"),
        ("industry_integration", {"jobs_by_year": []}, "jobs_by_year"),
        ("industry_integration", {"irr": True}, "irr"),
    ],
)
def test_bad_figures_name_the_field(mode: str, figures: dict[str, Any], field: str) -> None:
    with pytest.raises(InputError) as err:
        iad.evaluate(mode, figures, file="appraisal.json", on=ON)
    assert err.value.problems[0].field == field
    assert err.value.problems[0].file == "appraisal.json"


def test_unknown_mode() -> None:
    with pytest.raises(InputError):
        iad.evaluate("mining", {})


def test_compare_gives_all_four_modes() -> None:
    out = iad.compare(APPRAISAL, on=ON)
    assert list(out) == list(MODES)
    assert all(isinstance(e, iad.IADEvaluation) for e in out.values())


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(min_value=0.001, max_value=1e6), min_size=2, max_size=8))
def test_gini_bounds_and_scale_invariance(shares: list[float]) -> None:
    g = iad.gini(shares)
    n = len(shares)
    assert -1e-12 <= g <= 1 - 1 / n + 1e-12
    assert iad.gini([s * 7.5 for s in shares]) == pytest.approx(g, abs=1e-9)
    assert iad.gini([shares[0]] * n) == pytest.approx(0.0, abs=1e-12)


@settings(max_examples=200, deadline=None)
@given(
    st.floats(min_value=1.0, max_value=1e9),
    st.floats(min_value=-0.5, max_value=1.0),
    st.integers(min_value=1, max_value=30),
)
def test_growth_rate_inverts_compounding(before: float, g: float, years: int) -> None:
    after = before * (1 + g) ** years
    assert iad.annual_growth_rate(before, after, years) == pytest.approx(g, abs=1e-9)
