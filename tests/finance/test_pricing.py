"""Pricing of ecological products: base price x bounded coefficients, floor and ceiling."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from restora.errors import InputError
from restora.finance.instruments._spec import parse
from restora.finance.pricing import PricingSpec, price


def test_cost_method_with_coefficients():
    # base 120 * (1 + 0.08) = 129.6; coefficients 1.1 * 1.2 * 0.9 = 1.188; price 153.9648
    s = PricingSpec(
        method="cost",
        unit_cost=120.0,
        profit_rate=0.08,
        coefficients=[
            {"name": "supply_demand", "value": 1.1},
            {"name": "ecological_benefit", "value": 1.2},
            {"name": "policy", "value": 0.9},
        ],
    )
    r = price(s)
    assert r.base_price == pytest.approx(129.6)
    assert r.price == pytest.approx(153.9648)
    assert r.rule_codes == ("PRICE-BASE-COST",)


def test_market_method_weighted_and_adjusted():
    # (1 * 300 000 * 1.0 + 3 * 400 000 * 0.95) / 4 = (300 000 + 1 140 000) / 4 = 360 000
    s = PricingSpec(
        method="market",
        comparables=[{"price": 300_000}, {"price": 400_000, "adjustment": 0.95, "weight": 3}],
    )
    assert price(s).price == pytest.approx(360_000)


def test_coefficients_clipped_to_their_bounds():
    # supply-demand 1.6 capped at 1.3; policy 0.5 raised to 0.8: 100 * 1.1 * 1.3 * 0.8 = 114.4
    s = PricingSpec(
        method="cost",
        unit_cost=100.0,
        profit_rate=0.1,
        coefficients=[
            {"name": "supply_demand", "value": 1.6, "lower": 0.7, "upper": 1.3},
            {"name": "policy", "value": 0.5, "lower": 0.8, "upper": 1.2},
        ],
    )
    r = price(s)
    assert r.price == pytest.approx(114.4)
    assert r.clipped == {"supply_demand": True, "policy": True}
    assert "PRICE-COEF-BOUND" in r.rule_codes


def test_ceiling_from_the_farmland_quota_table():
    # Zhoushan 2016 paddy quota ceiling 350 000 CNY/亩 (reference table); 375 000 * 1.2 is cut
    s = PricingSpec(
        method="market",
        comparables=[{"price": 375_000}],
        coefficients=[{"name": "supply_demand", "value": 1.2}],
        ceiling_table={"name": "revenue/prices/farmland-quota", "key": "paddy", "region": "330902"},
    )
    r = price(s)
    assert r.unbounded_price == pytest.approx(450_000)
    assert r.price == 350_000 and "PRICE-CEILING" in r.rule_codes
    assert r.tables_used[0]["version"] == "zhoushan-2016"


def test_floor():
    s = PricingSpec(method="cost", unit_cost=10.0, profit_rate=0.0, floor=12.0)
    r = price(s)
    assert r.price == 12.0 and "PRICE-FLOOR" in r.rule_codes


def test_method_inputs_required():
    with pytest.raises(InputError) as e:
        parse(PricingSpec, {"method": "cost", "unit_cost": 10.0}, file="price.yaml")
    assert "profit_rate" in str(e.value) and "price.yaml" in str(e.value)
    with pytest.raises(InputError, match="comparable"):
        parse(PricingSpec, {"method": "market"})


@settings(max_examples=150, deadline=None)
@given(
    st.floats(1, 1e6),
    st.floats(0.1, 5),
    st.floats(0.5, 1.0),
    st.floats(1.0, 2.0),
    st.floats(0, 5e5),
    st.floats(5e5, 2e6),
)
def test_price_always_within_bounds(cost, k, lo, hi, floor, ceiling):
    s = PricingSpec(
        method="cost",
        unit_cost=cost,
        profit_rate=0.1,
        coefficients=[{"name": "policy", "value": k, "lower": lo, "upper": hi}],
        floor=floor,
        ceiling=ceiling,
    )
    r = price(s)
    assert floor - 1e-9 <= r.price <= ceiling + 1e-9
    assert lo <= r.coefficients["policy"] <= hi
