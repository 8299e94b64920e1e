"""Monte Carlo risk: drivers, lenders' losses, guarantee, VaR/ES, P(IRR < hurdle), tornado."""

from __future__ import annotations

import math
import re

import numpy as np
import numpy_financial as npf
import pytest

from restora.costing.montecarlo import triangular_ppf
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


# ------------------------------------------------- revenue by stream, contingent payments, capex


def _streamed() -> tuple[cf.ProjectFlows, dict[str, list[float]]]:
    # three streams over periods 0..5; total revenue = their sum
    streams = {
        "carbon": [0, 1, 2, 3, 4, 5],
        "subsidy": [0, 16, 0, 0, 0, 0],  # 20 at p = 0.8 in period 1, expected 16
        "operations": [0, 10, 20, 20, 20, 20],
    }
    total = np.sum(list(streams.values()), axis=0)
    return cf.project_flows(total, opex=[0, 5, 5, 5, 5, 5], capex=[100, 0, 0, 0, 0, 0]), streams


def _pv(x: list[float], rate: float) -> float:
    return sum(v / (1 + rate) ** t for t, v in enumerate(x))


def test_tornado_swing_of_a_stream_driver_is_that_streams_pv_times_the_swing() -> None:
    """Issue 11 item 3. A 'carbon price' driver scaled ALL revenue (subsidy included): its
    tornado swing was 2 x 10 % x PV(total revenue). Now it scales the carbon stream only:
    swing = 2 x 10 % x PV(carbon), in the tornado and in the simulation alike."""
    base, streams = _streamed()
    carbon = risk.Driver("carbon price", "revenue", 0.5, 1.0, 1.5, streams=("carbon",))
    rows = risk.tornado(base, [carbon], rate=0.06, swing=0.1, revenue_streams=streams)
    # PV(carbon) = 1/1.06 + 2/1.06^2 + 3/1.06^3 + 4/1.06^4 + 5/1.06^5
    #            = 0.943396 + 1.779993 + 2.518858 + 3.168375 + 3.736291 = 12.146913
    pv_carbon = _pv(streams["carbon"], 0.06)
    assert pv_carbon == pytest.approx(12.146913, abs=1e-6)
    assert rows[0]["npv_swing"] == pytest.approx(2 * 0.1 * pv_carbon, rel=1e-12)  # 2.429383
    assert rows[0]["streams"] == ["carbon"]
    # the old whole-revenue scaling would give 2 x 10 % x PV(all revenue), about 11 times more
    pv_all = _pv(list(base.revenue[0]), 0.06)
    assert abs(rows[0]["npv_swing"] - 2 * 0.1 * pv_all) > 10.0
    # the simulation uses the same scope: NPV moves by (v - 1) PV(carbon), nothing else
    res = risk.simulate(
        base, [carbon], rate=0.06, hurdle=0.08, n=200, seed=4, revenue_streams=streams
    )
    npv_base = npf.npv(0.06, base.project[0])
    assert res.npv == pytest.approx(npv_base + (res.values[:, 0] - 1) * pv_carbon, rel=1e-10)


def test_a_stream_driver_on_some_periods_only() -> None:
    base, streams = _streamed()
    d = risk.Driver("ops ramp", "revenue", 0, 0.5, 1, periods=(1, 2), streams=("operations",))
    f = risk.apply_drivers(base, [d], np.array([[0.5]]), revenue_streams=streams)
    # periods 1, 2: operations halved (10 -> 5, 20 -> 10); carbon and subsidy untouched
    assert f.revenue[0].tolist() == pytest.approx([0, 1 + 16 + 5, 2 + 10, 23, 24, 25])


@pytest.mark.parametrize(
    ("driver", "message"),
    [
        (risk.Driver("p", "revenue", 0.5, 1, 1.5), "must name the streams"),
        (
            risk.Driver("p", "revenue", 0.5, 1, 1.5, streams=("carbn",)),
            "unknown revenue stream 'carbn' (streams: 'carbon', 'subsidy', 'operations')",
        ),
    ],
)
def test_stream_names_are_checked(driver: risk.Driver, message: str) -> None:
    base, streams = _streamed()
    with pytest.raises(ValueError, match=re.escape(message)):
        risk.simulate(base, [driver], rate=0.06, hurdle=0.08, n=10, revenue_streams=streams)
    with pytest.raises(ValueError, match=re.escape(message)):
        risk.tornado(base, [driver], rate=0.06, revenue_streams=streams)


def test_without_streams_a_revenue_driver_scales_all_revenue_and_may_not_name_one() -> None:
    base, _ = _streamed()
    everything = risk.Driver("price", "revenue", 0.5, 1, 1.5)
    f = risk.apply_drivers(base, [everything], np.array([[0.5]]))
    assert f.revenue[0] == pytest.approx(0.5 * base.revenue[0])
    named = risk.Driver("carbon", "revenue", 0.5, 1, 1.5, streams=("carbon",))
    with pytest.raises(ValueError, match="only total revenue"):
        risk.simulate(base, [named], rate=0.06, hurdle=0.08, n=10)
    with pytest.raises(ValueError, match="only a revenue driver names streams"):
        risk.Driver("o", "opex", 0.5, 1, 1.5, streams=("carbon",))


def test_streams_must_add_up_to_revenue() -> None:
    base, streams = _streamed()
    short = {k: v for k, v in streams.items() if k != "subsidy"}
    with pytest.raises(
        ValueError, match=re.escape("add up to 11.00 in period 1, but revenue is 27.00")
    ):
        risk.simulate(base, [], rate=0.06, hurdle=0.08, n=10, revenue_streams=short)


def test_contingent_payments_are_bernoulli_draws() -> None:
    """Issue 11 items 1 and 3: a payment a with probability p is paid in full or not at all,
    frequency p (binomial tolerance), and each scenario's NPV moves by (B - p) a / 1.06^t."""
    base, streams = _streamed()
    pay = risk.ContingentFlow("subsidy 2027", "subsidy", 1, 20.0, 0.8)
    late = risk.ContingentFlow("outcome 2030", "operations", 4, 10.0, 0.3)  # 3 of the 20 in t=4
    n = 40_000
    res = risk.simulate(
        base, [], rate=0.06, hurdle=0.08, n=n, seed=9, revenue_streams=streams,
        contingent=[pay, late],
    )  # fmt: skip
    for k, p in enumerate((0.8, 0.3)):
        share = res.paid[:, k].mean()
        assert abs(share - p) < 4 * math.sqrt(p * (1 - p) / n)  # 4 binomial standard errors
    npv_base = npf.npv(0.06, base.project[0])
    expected = npv_base + (res.paid[:, 0] - 0.8) * 20 / 1.06 + (res.paid[:, 1] - 0.3) * 10 / 1.06**4
    assert res.npv == pytest.approx(expected, rel=1e-12, abs=1e-9)
    # four outcomes only (paid / not paid twice): a fixed p a would give one NPV
    assert len(np.unique(np.round(res.npv, 9))) == 4
    s = risk.summary(res)
    assert [c["share_paid"] for c in s["contingent_payments"]] == pytest.approx(
        res.paid.mean(axis=0).tolist()
    )
    assert s["contingent_payments"][0]["expected"] == pytest.approx(16.0)


def test_contingent_draws_do_not_depend_on_the_drivers() -> None:
    base, streams = _streamed()
    pay = [risk.ContingentFlow("s", "subsidy", 1, 20.0, 0.8)]
    a = risk.Driver("carbon", "revenue", 0.5, 1, 1.5, streams=("carbon",))
    b = risk.Driver("opex", "opex", 0.9, 1, 1.4)
    c = risk.Driver("late", "delay", 0, 0, 1)
    kw: dict = dict(rate=0.06, hurdle=0.08, n=2_000, revenue_streams=streams, contingent=pay)
    r1 = risk.simulate(base, [a], seed=3, **kw)
    r2 = risk.simulate(base, [c, b, a], seed=3, **kw)
    r3 = risk.simulate(base, [c, b, a], seed=3, **kw)
    r4 = risk.simulate(base, [a], seed=4, **kw)
    assert np.array_equal(r1.paid, r2.paid)  # same seed, other drivers: same draws
    assert np.array_equal(r2.npv, r3.npv)  # same seed: same result
    assert not np.array_equal(r1.paid, r4.paid)


def test_a_contingent_payment_must_be_in_the_base_case_at_its_expected_value() -> None:
    base, streams = _streamed()
    too_big = [risk.ContingentFlow("s", "subsidy", 1, 30.0, 0.8)]  # expects 24, stream has 16
    with pytest.raises(ValueError, match=re.escape("less than the expected value 24.00")):
        risk.simulate(base, [], rate=0.06, hurdle=0.08, n=10, revenue_streams=streams,
                      contingent=too_big)  # fmt: skip
    elsewhere = [risk.ContingentFlow("s", "grants", 1, 20.0, 0.8)]
    with pytest.raises(ValueError, match="unknown revenue stream 'grants'"):
        risk.simulate(base, [], rate=0.06, hurdle=0.08, n=10, revenue_streams=streams,
                      contingent=elsewhere)  # fmt: skip


def test_revenue_by_stream_from_revenue_streams_qs_m28() -> None:
    from restora.revenue import build_all, combine

    streams = build_all(
        [
            {"stream": "subsidy", "name": "补助", "payments": [
                {"year": 2027, "amount": 15_000_000, "probability": 0.8},
                {"year": 2031, "amount": 5_000_000, "kind": "outcome_payment",
                 "probability": 0.7},
                {"year": 2060, "amount": 1_000_000, "probability": 0.5},  # past the horizon
            ]},
            {"stream": "materials", "name": "废石", "mine_id": "QS-M28", "start_year": 2027,
             "volume_m3": [40000], "price": 35, "platform_fee_share": 0.05},
            {"stream": "land_rights", "name": "租赁", "mode": "lease", "area_mu": 10,
             "start_year": 2028, "lease_years": 3, "price": 1000},
        ]
    )  # fmt: skip
    by, contingent = risk.revenue_by_stream(streams, 2026, 21)
    assert set(by) == {"补助", "租赁"}  # the earmarked materials stream is not revenue
    assert by["补助"][1] == pytest.approx(12_000_000) and by["补助"][5] == pytest.approx(3_500_000)
    assert by["租赁"][2:5].tolist() == pytest.approx([10_000] * 3)
    total = combine(streams)
    inside = total[(total.year >= 2026) & (total.year < 2047)]
    assert sum(v.sum() for v in by.values()) == pytest.approx(inside.revenue.sum())
    assert [(c.stream, c.period, c.amount, c.probability) for c in contingent] == [
        ("补助", 1, 15_000_000, 0.8),
        ("补助", 5, 5_000_000, 0.7),
    ]


def test_a_capex_driver_that_repeats_the_costing_uncertainty_is_refused() -> None:
    """Issue 11 item 2. With capex scaled by the costing Monte Carlo (capex_factors), a capex
    driver over the same range (0.95 / 1.0 / 1.3, unit costs and quantities again) multiplied
    capex a second time; the old code accepted it. Now it is refused unless it says what it
    adds that costing does not model."""
    base = _base()
    n = 1_000
    rng = np.random.default_rng(1)
    factors = np.asarray(triangular_ppf(rng.random(n), 0.95, 1.0, 1.3))  # costing's draws
    same = risk.Driver("remediation overrun", "capex", 0.95, 1.0, 1.3)
    with pytest.raises(ValueError, match="already draws unit_cost and quantity") as err:
        risk.simulate(base, [same], rate=0.06, hurdle=0.08, n=n, capex_factors=factors)
    assert "scope_change" in str(err.value) and "force_majeure" in str(err.value)
    claims_costing = risk.Driver("overrun", "capex", 0.95, 1.0, 1.3, covers=("unit_cost",))
    with pytest.raises(ValueError, match="count it twice"):
        risk.simulate(base, [claims_costing], rate=0.06, hurdle=0.08, n=n, capex_factors=factors)
    unknown = risk.Driver("overrun", "capex", 1.0, 1.0, 1.3, covers=("inflation",))
    with pytest.raises(ValueError, match="unknown source of capex uncertainty 'inflation'"):
        risk.simulate(base, [unknown], rate=0.06, hurdle=0.08, n=n, capex_factors=factors)
    # a driver for works outside the plan is accepted; both multiply capex
    scope = risk.Driver("unplanned works", "capex", 1.0, 1.0, 1.2, covers=("scope_change",))
    res = risk.simulate(base, [scope], rate=0.0, hurdle=0.0, n=n, seed=2, capex_factors=factors)
    # at 0 %: NPV = 5 x 25 - 100 x factor x driver value
    assert res.npv == pytest.approx(125 - 100 * factors * res.values[:, 0])
    src = risk.summary(res)["capex_uncertainty"]
    assert [(x["source"], x["driver"], x["covers"]) for x in src] == [
        ("costing_monte_carlo", None, ["unit_cost", "quantity"]),
        ("driver", "unplanned works", ["scope_change"]),
    ]
    assert src[1]["covers_zh"][0].startswith("范围变更") and src[1]["covers_en"][0]
    assert risk.summary(res)["tables"][0]["name"] == "finance/risk/capex-uncertainty-sources"


def test_without_costing_a_capex_driver_carries_all_capex_uncertainty() -> None:
    d = risk.Driver("overrun", "capex", 0.95, 1.0, 1.3)
    res = risk.simulate(_base(), [d], rate=0.06, hurdle=0.08, n=10, seed=1)
    (only,) = risk.summary(res)["capex_uncertainty"]
    assert only["driver"] == "overrun"
    assert {"unit_cost", "quantity", "scope_change"} <= set(only["covers"])
