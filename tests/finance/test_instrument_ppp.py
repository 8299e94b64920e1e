"""PPP / concession: availability and usage payments by the MoF formula (财金〔2015〕21号)."""

from __future__ import annotations

import pytest

from restora.finance.instruments.ppp import PPPSpec, availability_payment, run


def _spec(**kw):
    base = {
        "capex": [500.0, 500.0],
        "operation_years": 10,
        "om_cost": [50.0],
        "user_fees": [20.0],
        "profit_rate": 0.06,
        "discount_rate": 0.05,
    }
    base.update(kw)
    return PPPSpec(**base)


def test_availability_and_usage_payments_by_hand():
    res = run(_spec())
    rows = res.schedule
    assert [r["phase"] for r in rows[:3]] == ["construction", "construction", "operation"]
    assert rows[-1]["phase"] == "transfer"
    # operation year 1: A = 1000 * 1.06 * 1.05 / 10 = 111.3
    assert rows[2]["availability_payment"] == pytest.approx(111.3)
    # year 2: 1000 * 1.06 * 1.05^2 / 10 = 116.865
    assert rows[3]["availability_payment"] == pytest.approx(116.865)
    # usage subsidy: 50 * 1.06 - 20 = 33
    assert rows[2]["usage_subsidy"] == pytest.approx(33.0)
    # company: 111.3 + 33 + 20 - 50 = 114.3; government: 111.3 + 33 = 144.3; users 20
    assert rows[2]["company_net"] == pytest.approx(114.3)
    assert rows[2]["government_pays"] == pytest.approx(144.3)
    assert rows[0]["company_net"] == -500.0
    # total availability 1060 * sum(1.05^n, n=1..10) / 10 = 106 * 13.206787 = 1399.9194
    assert res.summary["government_total"] == pytest.approx(1399.9194392 + 330.0, rel=1e-9)


def test_government_capex_and_performance_deductions():
    # government pays 40 % of capex; availability on the company's 600 only
    res = run(_spec(government_capex_share=0.4, performance=[0.9] + [1.0] * 9))
    rows = res.schedule
    assert rows[0]["government_capex"] == pytest.approx(200.0)
    full = availability_payment(600.0, 0.06, 0.05, 1, 10)  # 600 * 1.06 * 1.05 / 10 = 66.78
    assert full == pytest.approx(66.78)
    assert rows[2]["availability_payment"] == pytest.approx(0.9 * 66.78)
    assert rows[2]["availability_deduction"] == pytest.approx(6.678)
    assert any(f.startswith("FIN-PPP-AVAIL") for f in res.flags)


def test_user_fees_above_cost_plus_profit_need_no_subsidy():
    res = run(_spec(user_fees=[80.0]))
    assert res.schedule[2]["usage_subsidy"] == 0.0
    assert any(f.startswith("FIN-PPP-USAGE") for f in res.flags)


def test_company_irr_matches_its_flows():
    from restora.finance import metrics

    res = run(_spec())
    flows = [r["company_net"] for r in res.schedule]
    assert metrics.npv(res.summary["company_irr"], [0.0, *flows]) == pytest.approx(0.0, abs=1e-6)
    # 1399.9194 availability + 330 subsidy + 200 fees - 500 O&M - 1000 capex = 429.9194
    assert res.summary["company_net_total"] == pytest.approx(429.9194392, rel=1e-9)


def test_spec_lengths_checked():
    with pytest.raises(ValueError, match="om_cost"):
        _spec(om_cost=[1.0, 2.0])
