"""Carbon-sink credits: baseline, buffer pool, crediting period, verification, price path."""

from __future__ import annotations

import pytest

from restora.revenue.carbon import (
    CarbonCreditSpec,
    carbon_stream,
    credit_schedule,
    increment_from_stock_change,
)


def _spec(**kw):
    base = {
        "start_year": 2026,
        "sequestration": [100.0] * 12,
        "baseline": [10.0],
        "buffer_share": 0.2,
        "crediting_years": 10,
        "verification_interval_years": 5,
        "issuance_lag_years": 1,
        "price_on": "2026-06-01",
    }
    base.update(kw)
    return CarbonCreditSpec(**base)


def test_credits_by_hand():
    # net 100 - 10 = 90 a year in 2026-2035 (crediting 10 years), buffer 20 % = 18;
    # verifications 2030 and 2035 each issue 5 * 72 = 360 t
    sch = credit_schedule(_spec())
    assert sch["net"].tolist() == [90.0] * 10 + [0.0, 0.0]
    assert sch["buffer"].sum() == pytest.approx(180.0)
    assert sch["verification_years"].tolist() == [2030, 2035]
    assert sch["issued"].tolist() == pytest.approx([360.0, 360.0])


def test_ccer_price_and_range():
    # sold in 2031 and 2036 at the CCER 2025 average 70.76: 360 * 70.76 = 25 473.6 each;
    # low 60 -> 21 600, high 80 -> 28 800
    s = carbon_stream(_spec())
    assert s.years.tolist() == [2031, 2036]
    assert s.revenue.tolist() == pytest.approx([25_473.6, 25_473.6])
    assert s.revenue_low.tolist() == pytest.approx([21_600.0, 21_600.0])
    assert s.revenue_high.tolist() == pytest.approx([28_800.0, 28_800.0])
    assert any("indicative" in f for f in s.flags)
    assert s.tables_used[0]["name"] == "revenue/prices/ccer"


def test_cea_price_path_with_escalation():
    # CEA 2024 average 95.96 (version in force 2025), 3 %/yr from 2031: 2036 = 95.96 * 1.03^5
    s = carbon_stream(_spec(market="cea", price_on="2025-06-01", price_escalation=0.03))
    assert s.price.tolist() == pytest.approx([95.96, 95.96 * 1.03**5])
    assert any("compliance" in f for f in s.flags)


def test_final_partial_verification_and_late_crediting_start():
    # crediting from 2028 for 7 years (2028-2034), verified every 3: 2030, 2033, and 2034
    sch = credit_schedule(
        _spec(crediting_start_year=2028, crediting_years=7, verification_interval_years=3)
    )
    assert sch["verification_years"].tolist() == [2030, 2033, 2034]
    assert sch["issued"].tolist() == pytest.approx([3 * 72.0, 3 * 72.0, 72.0])


def test_baseline_above_sequestration_earns_nothing():
    sch = credit_schedule(_spec(baseline=[150.0]))
    assert sch["issued"].sum() == 0.0


def test_increment_from_the_valuations_stock_change():
    # 300 Mg C over 15 years: 300 * 44 / 12 / 15 = 73.333 t CO2e a year
    q = increment_from_stock_change(300.0, 15)
    assert q.size == 15 and q[0] == pytest.approx(300 * 44 / 12 / 15)


def test_custom_market_needs_a_price():
    with pytest.raises(ValueError, match="custom"):
        _spec(market="custom")
