"""Cash-flow engine: loan schedules, equity flows, delays, monthly/annual conversion."""

from __future__ import annotations

import numpy as np
import numpy_financial as npf
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from restora.finance import cashflow as cf
from restora.finance import metrics


def test_project_flows_signs_and_broadcast() -> None:
    pf = cf.project_flows([0, 50, 50], opex=5.0, capex=[80, 0, 0], tax=[0, 2, 2])
    # cfads = revenue - opex - tax: 0-5-0, 50-5-2, 50-5-2
    assert pf.cfads.tolist() == [[-5.0, 43.0, 43.0]]
    # project = cfads - capex
    assert pf.project.tolist() == [[-85.0, 43.0, 43.0]]
    many = cf.project_flows(np.ones((4, 3)), capex=[1, 0, 0])
    assert many.n_scenarios == 4 and many.n_periods == 3
    with pytest.raises(ValueError, match="finite"):
        cf.project_flows([1, np.nan])


def test_annuity_schedule_hand() -> None:
    # 1000 at 8 % over 5 years: payment 1000 * 0.08 / (1 - 1.08^-5) = 250.4565
    s = cf.loan_schedule(1000.0, 0.08, 5, 7, draw_period=1)
    pay = 1000 * 0.08 / (1 - 1.08**-5)
    assert s.service[0, 2:7] == pytest.approx([pay] * 5)
    assert s.service[0, :2].tolist() == [0.0, 0.0]
    assert s.repayment.sum() == pytest.approx(1000.0)
    assert s.outstanding[0, 1] == 1000.0 and s.outstanding[0, 6] == pytest.approx(0, abs=1e-9)
    # first year's interest: 8 % of 1000
    assert s.interest[0, 2] == pytest.approx(80.0)
    # independent check: numpy-financial's ipmt / ppmt per period
    assert s.interest[0, 2:7] == pytest.approx(-npf.ipmt(0.08, np.arange(1, 6), 5, 1000))
    assert s.repayment[0, 2:7] == pytest.approx(-npf.ppmt(0.08, np.arange(1, 6), 5, 1000))
    assert s.maturity == 6


def test_level_schedule_with_grace_hand() -> None:
    # 300 at 10 %, 1 interest-only year, then 3 x 100 principal
    s = cf.loan_schedule(np.array([300.0, 600.0]), 0.1, 3, 6, grace=1, kind="level")
    assert s.repayment[0].tolist() == [0, 0, 100, 100, 100, 0]
    # interest on the opening balance: 30, 30, 20, 10
    assert s.interest[0].tolist() == pytest.approx([0, 30, 30, 20, 10, 0])
    assert s.service[1].tolist() == pytest.approx([0, 60, 260, 240, 220, 0])
    # the lender's IRR on its own flows is the loan rate
    lender = s.service - s.drawdown
    assert metrics.irr(lender) == pytest.approx([0.1, 0.1], abs=1e-12)
    with pytest.raises(ValueError):
        cf.loan_schedule(100.0, 0.1, 5, 5)


def test_equity_flows_hand() -> None:
    pf = cf.project_flows([0, 100, 100, 100], capex=[250, 0, 0, 0])
    debt = cf.loan_schedule(150.0, 0.0, 3, 4)  # no interest: 50 a year
    eq = cf.equity_flows(pf, debt)
    # -250 + 150 drawn; 100 - 50 in each later year
    assert eq.tolist() == [[-100.0, 50.0, 50.0, 50.0]]


def test_delay_whole_and_fractional() -> None:
    x = [0.0, 10, 20, 30]
    assert cf.delay(x, 0).tolist() == [x]
    assert cf.delay(x, 2).tolist() == [[0, 0, 0, 10]]  # 20 and 30 fall past the horizon
    # 1.25: 0.75 * shift(1) + 0.25 * shift(2) = 0.75*[0,0,10,20] + 0.25*[0,0,0,10]
    assert cf.delay(x, 1.25)[0] == pytest.approx([0, 0, 7.5, 17.5])
    per_row = cf.delay(x, np.array([0.0, 1.0]))
    assert per_row.tolist() == [x, [0, 0, 10, 20]]
    with pytest.raises(ValueError):
        cf.delay(x, -1)


@settings(max_examples=100, deadline=None)
@given(
    flows=st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=20),
    d=st.floats(0, 30),
)
def test_delay_never_creates_money(flows: list[float], d: float) -> None:
    pos = np.maximum(flows, 0)
    shifted = cf.delay(pos, d)
    assert shifted.sum() <= pos.sum() * (1 + 1e-12) + 1e-9
    # with enough room at the end, nothing is lost
    padded = np.concatenate([pos, np.zeros(int(np.ceil(d)) + 1)])
    assert cf.delay(padded, d).sum() == pytest.approx(pos.sum(), rel=1e-12, abs=1e-6)


def test_escalate_and_monthly_roundtrip() -> None:
    # 2 % a year: 100, 102, 104.04
    assert cf.escalate([100, 100, 100], 0.02)[0] == pytest.approx([100, 102, 104.04])
    # monthly escalation 12 periods a year: month 6 is 100 * 1.02^0.5
    assert cf.escalate(np.full(13, 100.0), 0.02, periods_per_year=12)[0, 6] == pytest.approx(
        100 * 1.02**0.5
    )
    annual = np.array([[120.0, 240.0], [12.0, 0.0]])
    monthly = cf.to_monthly(annual)
    assert monthly.shape == (2, 24) and monthly[0, :12] == pytest.approx([10.0] * 12)
    assert cf.to_annual(monthly) == pytest.approx(annual)
    # a short final year is padded: 13 months -> 2 years
    assert cf.to_annual(np.ones(13)).tolist() == [[12.0, 1.0]]
    weights = np.r_[np.zeros(11), 1.0]  # all in December
    assert cf.to_monthly([120.0], weights)[0, -1] == 120.0


def test_monthly_irr_matches_annual_on_the_same_money() -> None:
    # a loan repaid monthly: 1200 at 1 % a month for 12 months; annual effective 1.01^12 - 1
    s = cf.loan_schedule(1200.0, 0.01, 12, 13)
    lender = (s.service - s.drawdown)[0]
    assert metrics.irr(lender, periods_per_year=12) == pytest.approx(1.01**12 - 1, abs=1e-12)
    assert metrics.npv(1.01**12 - 1, lender, periods_per_year=12) == pytest.approx(0, abs=1e-9)
