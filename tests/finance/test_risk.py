"""Monte Carlo risk: drivers, lenders' losses, guarantee, VaR/ES, P(IRR < hurdle), tornado."""

from __future__ import annotations

import math

import numpy as np
import numpy_financial as npf
import pytest

from restora.finance import cashflow as cf
from restora.finance import risk


def _base() -> cf.ProjectFlows:
    # capex 100 now; revenue 30 a year for 5 years; opex 5 a year
    return cf.project_flows(
        [0, 30, 30, 30, 30, 30], opex=[0, 5, 5, 5, 5, 5], capex=[100, 0, 0, 0, 0, 0]
    )


def test_driver_validation() -> None:
    with pytest.raises(ValueError):
        risk.Driver("x", "revenue", 1.2, 1.0, 1.5)
    with pytest.raises(ValueError):
        risk.Driver("x", "price", 0.8, 1.0, 1.2)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        risk.Driver("x", "delay", -1, 0, 1)
    d = risk.Driver("x", "revenue", 0.5, 1.0, 2.0, "pert")
    assert d.ppf(np.array([0.0, 1.0])).tolist() == [0.5, 2.0]


def test_apply_drivers_hand() -> None:
    drivers = [
        risk.Driver("price", "revenue", 0.5, 1.0, 1.5),
        risk.Driver("overrun", "capex", 1.0, 1.0, 2.0),
        risk.Driver("late", "delay", 0, 0, 3),
    ]
    flows = risk.apply_drivers(_base(), drivers, np.array([[0.8, 1.5, 1.0], [1.0, 1.0, 0.0]]))
    # scenario 0: revenue 24 a year, one year later; opex one year later; capex 150
    assert flows.revenue[0].tolist() == pytest.approx([0, 0, 24, 24, 24, 24])
    assert flows.opex[0].tolist() == pytest.approx([0, 0, 5, 5, 5, 5])
    assert flows.capex[0, 0] == 150
    assert flows.project[1].tolist() == _base().project[0].tolist()
    only_year_1 = [risk.Driver("y1", "revenue", 0, 2, 2, periods=(1,))]
    f1 = risk.apply_drivers(_base(), only_year_1, np.array([[2.0]]))
    assert f1.revenue[0].tolist() == [0, 60, 30, 30, 30, 30]


def test_lender_loss_hand() -> None:
    debt = cf.DebtSchedule(
        drawdown=np.array([[100.0, 0, 0]]),
        interest=np.zeros((1, 3)),
        repayment=np.array([[0.0, 50, 50]]),
        outstanding=np.array([[100.0, 50, 0]]),
        rate=0.1,
        maturity=2,
    )
    cfads = np.array([[0.0, 30, 100], [0.0, 30, 40], [0.0, -10, 200]])
    loss = risk.lender_loss(cfads, debt)
    # row 0: 20 in arrears, 50 + 22 due in year 2, paid: no loss
    # row 1: arrears 20 -> 72 due, 40 paid -> 32 lost in year 2 -> 32 / 1.21 = 26.446
    #        = PV scheduled (50/1.1 + 50/1.21) - PV paid (30/1.1 + 40/1.21)
    # row 2: negative CFADS pays nothing; 50*1.1 + 50 = 105 due, 200 available: no loss
    assert loss == pytest.approx([0.0, 32 / 1.21, 0.0])
    assert loss[1] == pytest.approx((50 / 1.1 + 50 / 1.21) - (30 / 1.1 + 40 / 1.21))


def test_lender_loss_at_maturity_or_after_a_recovery_tail() -> None:
    debt = cf.DebtSchedule(
        drawdown=np.array([[100.0, 0, 0, 0]]),
        interest=np.zeros((1, 4)),
        repayment=np.array([[0.0, 50, 50, 0]]),
        outstanding=np.array([[100.0, 50, 0, 0]]),
        rate=0.0,
        maturity=2,
    )
    cfads = np.array([[0.0, 30, 40, 100]])  # 30 short at maturity, plenty a year later
    assert risk.lender_loss(cfads, debt) == pytest.approx([30.0])
    assert risk.lender_loss(cfads, debt, tail=1) == pytest.approx([0.0])
    assert risk.lender_loss(cfads, debt, tail=5) == pytest.approx([0.0])  # capped by horizon
    with pytest.raises(ValueError):
        risk.lender_loss(cfads, debt, tail=-1)


def test_var_and_es() -> None:
    x = np.arange(1, 101, dtype=float)  # 1..100
    # 95 % quantile (inverted CDF): the 95th value = 95; ES = mean(96..100) = 98
    assert risk.value_at_risk(x, 0.95) == 95.0
    assert risk.expected_shortfall(x, 0.95) == 98.0
    assert risk.value_at_risk(x, 0.99) == 99.0


def test_fixed_drivers_reproduce_the_base_case() -> None:
    fixed = [risk.Driver("p", "revenue", 1, 1, 1), risk.Driver("d", "delay", 0, 0, 0)]
    res = risk.simulate(_base(), fixed, rate=0.06, hurdle=0.08, n=50, seed=1)
    base_flow = _base().project[0]
    assert res.npv == pytest.approx(np.full(50, npf.npv(0.06, base_flow)))
    assert np.all(np.isnan(res.lender_loss))
    s = risk.summary(res)
    assert s["npv"]["p50"] == pytest.approx(npf.npv(0.06, base_flow))
    assert "lender" not in s


def test_seed_reproducible_and_blocks_do_not_matter() -> None:
    drivers = [risk.Driver("p", "revenue", 0.6, 1.0, 1.3), risk.Driver("d", "delay", 0, 0.5, 2)]
    a = risk.simulate(_base(), drivers, rate=0.06, hurdle=0.08, n=1000, seed=7, block=1000)
    b = risk.simulate(_base(), drivers, rate=0.06, hurdle=0.08, n=1000, seed=7, block=137)
    assert np.array_equal(a.npv, b.npv) and np.array_equal(a.irr, b.irr, equal_nan=True)
    c = risk.simulate(_base(), drivers, rate=0.06, hurdle=0.08, n=1000, seed=8)
    assert not np.array_equal(a.npv, c.npv)


def test_simulated_npv_matches_an_independent_loop() -> None:
    drivers = [
        risk.Driver("p", "revenue", 0.6, 1.0, 1.3, "pert"),
        risk.Driver("o", "opex", 0.9, 1.0, 1.5),
        risk.Driver("c", "capex", 0.9, 1.1, 1.6),
    ]
    res = risk.simulate(_base(), drivers, rate=0.06, hurdle=0.08, n=200, seed=3)
    base = _base()
    for v, npv, irr in zip(res.values, res.npv, res.irr, strict=True):
        flow = base.revenue[0] * v[0] - base.opex[0] * v[1] - base.capex[0] * v[2]
        assert npv == pytest.approx(npf.npv(0.06, flow), rel=1e-12)
        assert irr == pytest.approx(npf.irr(flow), abs=1e-8)


def test_probability_irr_below_hurdle_matches_the_triangular_cdf() -> None:
    # flow: -100 now, 30 m a year for 5 years; IRR < 8 % <=> m < m* = 100 / (30 a5(8 %))
    base = cf.project_flows([0, 30, 30, 30, 30, 30], capex=[100, 0, 0, 0, 0, 0])
    annuity = (1 - 1.08**-5) / 0.08  # 3.99271
    m_star = 100 / (30 * annuity)  # 0.83486
    lo, mode, hi = 0.5, 1.0, 1.5
    # triangular CDF left of the mode: (m - a)^2 / ((b - a)(c - a)) = 0.11190
    p = (m_star - lo) ** 2 / ((hi - lo) * (mode - lo))
    res = risk.simulate(
        base, [risk.Driver("m", "revenue", lo, mode, hi)], rate=0.06, hurdle=0.08, n=40_000, seed=5
    )
    s = risk.summary(res)
    sigma = math.sqrt(p * (1 - p) / 40_000)
    assert abs(s["p_irr_below_hurdle"] - p) < 4 * sigma
    assert s["share_no_unique_irr"] == 0.0
    # the NPV is linear in m, so its median is the NPV at the triangular median (m = 1);
    # SE of a sample median: 1 / (2 f sqrt(n)) = 1 / (2 * 2 * 200) = 0.00125 in m, times the
    # slope 30 a5(6 %) = 126.37 -> 0.158; allow 4 SE
    slope = 30 * (1 - 1.06**-5) / 0.06
    assert s["npv"]["p50"] == pytest.approx(-100 + slope, abs=4 * slope * 0.00125)


def test_losses_guarantee_split_and_summary() -> None:
    base = _base()
    debt = cf.loan_schedule(70.0, 0.05, 5, 6)
    drivers = [risk.Driver("p", "revenue", 0.2, 1.0, 1.2), risk.Driver("d", "delay", 0, 0, 2)]
    g = risk.Guarantee(share=0.6, cap=10.0)
    res = risk.simulate(
        base, drivers, rate=0.06, hurdle=0.08, n=5_000, seed=2, debt=debt, guarantee=g
    )
    gross = risk.lender_loss(risk.apply_drivers(base, drivers, res.values).cfads, debt)
    assert res.guarantee_loss == pytest.approx(np.minimum(0.6 * gross, 10.0))
    assert res.lender_loss + res.guarantee_loss == pytest.approx(gross)
    assert np.all(res.lender_loss >= 0) and res.guarantee_loss.max() <= 10.0
    s = risk.summary(res)
    assert s["lender"]["expected_loss"] == pytest.approx(res.lender_loss.mean())
    assert s["guarantee_fund"]["var"]["0.99"] <= 10.0
    assert 0 < s["lender"]["p_loss"] < 1
    assert s["lender"]["var"]["0.95"] <= s["lender"]["es"]["0.95"]
    # more stress never lowers the expected loss: a harsher revenue range
    worse = [risk.Driver("p", "revenue", 0.1, 0.8, 1.0), drivers[1]]
    res2 = risk.simulate(base, worse, rate=0.06, hurdle=0.08, n=5_000, seed=2, debt=debt)
    assert res2.lender_loss.mean() > (res.lender_loss + res.guarantee_loss).mean()
    # min DSCR: annuity 70*0.05/(1-1.05^-5) = 16.168; best case revenue x1.2, no delay:
    # (36 - 5) / 16.168 = 1.917; the mode (x1, no delay) gives 25 / 16.168 = 1.546
    service = 70 * 0.05 / (1 - 1.05**-5)
    assert np.nanmax(res.min_dscr) <= (36 - 5) / service + 1e-9
    assert s["min_dscr"]["p50"] < (30 - 5) / service + 1e-9


def test_capex_factors_from_a_cost_simulation() -> None:
    base = _base()
    factors = np.array([1.0, 1.5])
    res = risk.simulate(base, [], rate=0.0, hurdle=0.0, n=2, seed=1, capex_factors=factors)
    # at 0 %: NPV = 5 * 25 - 100 * factor = 25 and -25
    assert res.npv == pytest.approx([25.0, -25.0])
    with pytest.raises(ValueError):
        risk.simulate(base, [], rate=0.0, hurdle=0.0, n=3, capex_factors=factors)


def test_tornado_hand() -> None:
    base = _base()
    drivers = [
        risk.Driver("price", "revenue", 0.5, 1.0, 1.5),
        risk.Driver("opex", "opex", 0.8, 1.0, 1.4),
        risk.Driver("late", "delay", 0, 0, 2),
    ]
    rows = risk.tornado(base, drivers, rate=0.06, swing=0.1)
    by = {r["driver"]: r for r in rows}
    a5 = (1 - 1.06**-5) / 0.06  # 4.21236
    # revenue ±10 %: NPV ± 0.1 * 30 * a5 -> swing 6 * a5 = 25.274
    assert by["price"]["npv_swing"] == pytest.approx(6 * a5)
    assert by["opex"]["npv_swing"] == pytest.approx(2 * 0.1 * 5 * a5)
    # delay mode 0: ± 10 % of its 2-year range = 0 (floored) and 0.2 years
    assert by["late"]["minus"] == 0.0 and by["late"]["plus"] == pytest.approx(0.2)
    assert rows[0]["driver"] == "price"  # largest swing first
    assert by["price"]["npv_low"] == pytest.approx(-100 + 25 * a5 - 15 * a5)
