"""Surplus earth and stone (earmarked), land rights, after-use operations, subsidies, combine."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from restora.errors import InputError
from restora.revenue import build, build_all, combine
from restora.revenue.operations import ramp


def test_surplus_earth_and_stone_is_earmarked_for_the_mine():
    # 10 000 m3 at 25 CNY/m3 less 8 % platform fees and taxes: 10 000 * 25 * 0.92 = 230 000
    s = build(
        {
            "stream": "materials",
            "mine_id": "HN-0042",
            "start_year": 2026,
            "volume_m3": [10_000],
            "price": 25.0,
            "platform_fee_share": 0.08,
        }
    )
    assert s.revenue.tolist() == pytest.approx([230_000])
    assert s.earmark == "restoration account of mine HN-0042"
    assert s.rule_codes == ("REV-MATERIALS-EARMARK",)


def test_proceeds_can_never_go_to_the_general_budget():
    with pytest.raises(InputError) as e:
        build(
            {
                "stream": "materials",
                "mine_id": "M",
                "start_year": 2026,
                "volume_m3": [1],
                "price": 1.0,
                "destination": "general_budget",
            },
            file="p.yaml",
            row=2,
        )
    assert e.value.problems[0].field == "destination"


def test_lease_and_transfer():
    # lease 50 亩 at 800 CNY/亩/yr, +3 %/yr, 3 years: 40 000, 41 200, 42 436
    lease = build(
        {
            "stream": "land_rights",
            "mode": "lease",
            "area_mu": 50,
            "start_year": 2028,
            "price": 800,
            "lease_years": 3,
            "rent_escalation": 0.03,
        }
    )
    assert lease.revenue.tolist() == pytest.approx([40_000, 41_200, 42_436])
    transfer = build(
        {
            "stream": "land_rights",
            "mode": "transfer",
            "area_mu": 50,
            "start_year": 2028,
            "price": 120_000,
        }
    )
    assert transfer.revenue.tolist() == pytest.approx([6_000_000])
    with pytest.raises(InputError, match="lease_years"):
        build(
            {"stream": "land_rights", "mode": "lease", "area_mu": 5, "start_year": 2028, "price": 1}
        )


def test_operations_ramp_up():
    # photovoltaics, mature 1 M/yr after 3 ramp-up years: 0.25, 0.5, 0.75, 1, 1 M
    s = build(
        {
            "stream": "operations",
            "after_use": "photovoltaics",
            "start_year": 2027,
            "years": 5,
            "mature_income": 1e6,
            "ramp_years": 3,
        }
    )
    assert s.revenue.tolist() == pytest.approx([250_000, 500_000, 750_000, 1e6, 1e6])
    shares = build(
        {
            "stream": "operations",
            "after_use": "tourism",
            "start_year": 2027,
            "years": 3,
            "mature_income": 100,
            "ramp_shares": [0.2],
        }
    )
    assert shares.revenue.tolist() == pytest.approx([20, 100, 100])


def test_subsidy_and_outcome_payment():
    # subsidy 500 000 certain; outcome payment 200 000 at 60 %: central 120 000, low 0, high 200 000
    s = build(
        {
            "stream": "subsidy",
            "payments": [
                {"year": 2026, "amount": 500_000, "kind": "subsidy"},
                {
                    "year": 2028,
                    "amount": 200_000,
                    "kind": "outcome_payment",
                    "probability": 0.6,
                    "condition": "vegetation cover >= 60 %",
                },
            ],
        }
    )
    assert s.revenue.tolist() == pytest.approx([500_000, 120_000])
    assert s.revenue_low.tolist() == pytest.approx([500_000, 0])
    assert s.revenue_high.tolist() == pytest.approx([500_000, 200_000])
    assert s.rule_codes == ("REV-SUBSIDY-CERTAIN", "REV-SUBSIDY-CONTINGENT")


def _qs_m28_subsidies():
    # QS-M28's subsidy stream (examples/demo-projects/QS-M28.yaml)
    return build(
        {
            "stream": "subsidy",
            "name": "中央土壤污染防治资金与生态补偿",
            "payments": [
                {"year": 2027, "amount": 15_000_000, "kind": "subsidy", "probability": 0.8},
                {
                    "year": 2031,
                    "amount": 5_000_000,
                    "kind": "outcome_payment",
                    "probability": 0.7,
                    "condition": "土壤安全利用率达标",
                },
            ],
        }
    )


def test_a_subsidy_with_a_probability_is_contingent_qs_m28():
    """Issue 11 item 1. The 15 000 000 CNY subsidy of 2027 at p = 0.8 entered in full in the
    central and the low case (only outcome payments used p): old central 15 000 000 + 3 500 000,
    old low 15 000 000. Now every payment with p < 1 is contingent."""
    s = _qs_m28_subsidies()
    assert s.years.tolist() == [2027, 2031]
    # central = p a: 0.8 x 15 000 000 = 12 000 000; 0.7 x 5 000 000 = 3 500 000
    assert s.revenue.tolist() == pytest.approx([12_000_000, 3_500_000])
    # low: a contingent payment is not made -> 0 and 0
    assert s.revenue_low.tolist() == [0.0, 0.0]
    # high: paid in full
    assert s.revenue_high.tolist() == pytest.approx([15_000_000, 5_000_000])
    assert s.rule_codes == ("REV-SUBSIDY-CONTINGENT",)
    # the contingent payments as typed data, for the risk run's Bernoulli draws
    assert [(c.year, c.amount, c.probability, c.stream) for c in s.contingent] == [
        (2027, 15_000_000, 0.8, "中央土壤污染防治资金与生态补偿"),
        (2031, 5_000_000, 0.7, "中央土壤污染防治资金与生态补偿"),
    ]
    assert [c.expected for c in s.contingent] == pytest.approx([12_000_000, 3_500_000])
    assert s.contingent[1].condition == "土壤安全利用率达标"
    d = s.to_dict()
    assert d["total_revenue"] == pytest.approx(15_500_000)  # was 18 500 000
    assert d["total_revenue_low"] == 0.0  # was 15 000 000
    assert [c["probability"] for c in d["contingent_payments"]] == [0.8, 0.7]


def test_certain_payments_stay_certain_in_every_case():
    # p = 1 (given or, for a subsidy, by default): full value in central, low and high
    s = build(
        {
            "stream": "subsidy",
            "payments": [
                {"year": 2026, "amount": 6_000_000, "probability": 1.0},
                {"year": 2026, "amount": 1_000_000, "kind": "ecological_compensation"},
                {"year": 2027, "amount": 2_000_000, "kind": "outcome_payment", "probability": 1},
            ],
        }
    )
    assert s.revenue.tolist() == s.revenue_low.tolist() == s.revenue_high.tolist()
    assert s.revenue.tolist() == pytest.approx([7_000_000, 2_000_000])
    assert s.contingent == () and s.rule_codes == ("REV-SUBSIDY-CERTAIN",)


def test_an_outcome_payment_must_state_its_probability():
    with pytest.raises(InputError) as err:
        build(
            {
                "stream": "subsidy",
                "payments": [{"year": 2027, "amount": 1, "kind": "outcome_payment"}],
            },
            file="PROJECT.yaml",
            row=2,
        )
    assert "probability" in str(err.value) and "PROJECT.yaml" in str(err.value)


def test_combine_keeps_earmarked_money_apart():
    streams = build_all(
        [
            {
                "stream": "materials",
                "mine_id": "M1",
                "start_year": 2026,
                "volume_m3": [1000, 2000],
                "price": 30,
            },
            {
                "stream": "land_rights",
                "mode": "lease",
                "area_mu": 10,
                "start_year": 2027,
                "price": 800,
                "lease_years": 2,
            },
        ]
    )
    t = combine(streams)
    # 2026: materials 30 000 earmarked, no free revenue; 2027: 60 000 earmarked, lease 8 000
    assert t["year"].tolist() == [2026, 2027, 2028]
    assert t["revenue"].tolist() == pytest.approx([0, 8000, 8000])
    assert t["earmarked"].tolist() == pytest.approx([30_000, 60_000, 0])


def test_unknown_stream_names_row_and_field():
    with pytest.raises(InputError) as e:
        build_all(
            [
                {
                    "stream": "quota",
                    "kind": "construction_land",
                    "area_mu": 1,
                    "acceptance_year": 2026,
                    "price": 1,
                },
                {"stream": "lottery"},
            ],
            file="proj.yaml",
        )
    p = e.value.problems[0]
    assert (p.file, p.row, p.field) == ("proj.yaml", 2, "stream")


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 40), st.integers(0, 20))
def test_ramp_is_monotone_and_reaches_maturity(n, m):
    r = ramp(n, m)
    assert all(0 < x <= 1 for x in r)
    assert all(np.diff(r) >= 0)
    if n > m:
        assert r[m] == 1.0
