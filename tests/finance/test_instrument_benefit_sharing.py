"""Benefit-sharing waterfall: a hand-worked three-year example and conservation of income."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from restora.finance.instruments import run_instrument
from restora.finance.instruments.benefit_sharing import waterfall_year

AGREEMENT = {
    "distributable_income": [100.0, 10.0, 200.0],
    "company_capital": 500.0,
    "priority_rate": 0.06,  # 30 a year
    "village_minimum": 20.0,
    "village_land_share": 0.2,
    "village_labour_share": 0.1,
    "taxes": [15.0],
    "ecological_benefit": [40.0],
}


def test_three_year_waterfall_by_hand():
    res = run_instrument("benefit-sharing", AGREEMENT)
    y1, y2, y3 = res.schedule
    # year 1: 100 -> village minimum 20, priority 30, residual 50;
    # village 20 + 0.2 * 50 + 0.1 * 50 = 35; company 30 + 0.7 * 50 = 65
    assert (y1["village_total"], y1["company_total"]) == pytest.approx((35.0, 65.0))
    # year 2: 10 < 20 -> the company tops up 10; priority 30 unpaid (arrears 30)
    assert y2["company_topup"] == pytest.approx(10.0)
    assert y2["priority_unpaid"] == pytest.approx(30.0)
    assert (y2["village_total"], y2["company_total"]) == pytest.approx((20.0, -10.0))
    # year 3: 200 -> 20; priority due 30 + 30 arrears = 60; residual 120;
    # village 20 + 24 + 12 = 56; company 60 + 84 = 144
    assert y3["priority_due"] == pytest.approx(60.0)
    assert (y3["village_total"], y3["company_total"]) == pytest.approx((56.0, 144.0))
    s = res.summary
    assert s["village_total"] == pytest.approx(111.0) and s["company_total"] == pytest.approx(199.0)
    # the government takes taxes and ecological benefit, never dividends
    assert s["government_taxes"] == 45.0 and s["government_ecological_benefit"] == 120.0
    assert s["government_dividends"] == 0.0
    assert s["priority_arrears_end"] == 0.0


def test_non_cumulative_priority_forgets_arrears():
    res = run_instrument("benefit-sharing", {**AGREEMENT, "cumulative_priority": False})
    # year 3: priority due 30 only; residual 150; village 20 + 45 = 65; company 30 + 105 = 135
    assert res.schedule[2]["priority_due"] == pytest.approx(30.0)
    assert res.schedule[2]["village_total"] == pytest.approx(65.0)


def test_shares_above_one_rejected():
    from restora.errors import InputError

    with pytest.raises(InputError, match="exceed 1"):
        run_instrument(
            "benefit-sharing", {**AGREEMENT, "village_land_share": 0.8, "village_labour_share": 0.3}
        )


@settings(max_examples=200, deadline=None)
@given(
    st.floats(-1e6, 1e7),
    st.floats(0, 1e5),
    st.floats(0, 1e5),
    st.floats(0, 0.5),
    st.floats(0, 0.5),
)
def test_waterfall_conserves_income(y, minimum, due, land, labour):
    w = waterfall_year(y, minimum=minimum, priority_due=due, land_share=land, labour_share=labour)
    # the village and the company share exactly the year's income (top-up moves money between)
    assert w["village_total"] + w["company_total"] == pytest.approx(y, abs=1e-6 * (1 + abs(y)))
    assert w["village_total"] >= minimum - 1e-9  # the minimum is guaranteed
    assert 0 <= w["priority_paid"] <= due + 1e-9
