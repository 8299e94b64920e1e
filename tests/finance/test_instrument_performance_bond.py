"""Outcome-based performance bond: the DC Water and Atlanta EIBs reproduced from their published
terms (reference tables finance/instruments/*-eib: US EPA's DC Water EIB fact sheet, 2017; Atlanta
Department of Watershed Management, 2019),
and the general rules: partial payment, deferral, step-up/down, forfeiture."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from restora import refdata
from restora.errors import InputError
from restora.finance.instruments import run_instrument
from restora.finance.instruments.performance_bond import (
    PerformanceBondSpec,
    Tier,
    published_spec,
    run,
    tier_fraction,
)

# DC Water: USD 25 M, 3.43 %, 5-year mandatory tender. Annual coupon 25 M * 0.0343 = 857 500;
# over 5 years 4 287 500. Principal and interest only: 25 M + 4.2875 M = 29 287 500.
DC_INTEREST = 25_000_000 * 0.0343 * 5
DC_MIDDLE = 25_000_000 + DC_INTEREST


@pytest.mark.parametrize(
    ("outcome", "tier", "payment"),
    [
        (10.0, "risk share", -3_300_000),  # < 18.6 %: investors pay DC Water 3.3 M
        (18.6, "expected", 0),  # 18.6 % is inside the middle band (≤ inclusive)
        (30.0, "expected", 0),
        (41.3, "expected", 0),  # 41.3 % is still the middle band (> 41.3 for the top)
        (41.31, "outperformance", 3_300_000),  # > 41.3 %: DC Water pays investors 3.3 M
    ],
)
def test_dc_water_tiers_reproduce_published_payments(outcome, tier, payment):
    spec, prov = published_spec("dc-water", outcome)
    assert prov["name"] == "finance/instruments/dc-water-eib"
    res = run(spec)
    s = res.summary
    assert s["events"][0]["tier"] == tier
    assert s["total_outcome_payments"] == payment
    assert s["total_interest"] == pytest.approx(DC_INTEREST)  # 4 287 500
    assert s["total_principal_repaid"] == 25_000_000
    assert s["total_to_investors"] == pytest.approx(DC_MIDDLE + payment)
    # all of it at the tender date, year 5: 25 M + 857 500 + payment
    assert res.schedule[4]["investor_cash_flow"] == pytest.approx(25_857_500 + payment)


def test_dc_water_realised_outcome_is_middle_tier_with_coupon_as_return():
    table = refdata.get("finance/instruments/dc-water-eib", on="2021-04-01")
    assert table.data["realised_tier"] == "expected"
    spec, _ = published_spec("dc-water", 30.0)  # any value in [18.6, 41.3]
    s = run(spec).summary
    assert s["events"][0]["tier"] == table.data["realised_tier"]
    # no outcome payment: the investors' IRR is the coupon
    assert s["investor_irr"] == pytest.approx(0.0343, abs=1e-10)


def test_atlanta_two_tiers():
    # 14.02 M, 10 years, ~3.55 %; +1 M after ~6 years if 6.52 M gallons are captured.
    met, _ = published_spec("atlanta", 6.52)
    missed, _ = published_spec("atlanta", 6.0)
    r_met, r_missed = run(met), run(missed)
    interest = 14_020_000 * 0.0355 * 10  # 4 977 100
    assert r_missed.summary["total_to_investors"] == pytest.approx(14_020_000 + interest)
    assert r_met.summary["total_to_investors"] == pytest.approx(15_020_000 + interest)
    # the 1 M falls in year 6, the principal at maturity (year 10)
    assert r_met.schedule[5]["outcome_payment"] == 1_000_000
    assert r_met.schedule[9]["principal_repaid"] == 14_020_000
    assert r_missed.schedule[5]["outcome_payment"] == 0


def _two_tranche(outcomes, **tranche_a):
    return PerformanceBondSpec(
        principal=1000.0,
        coupon_rate=0.05,
        term_years=4,
        tranches=[
            {
                "name": "soil",
                "share": 0.6,
                "indicator": "soil_share_below_screening",
                "verification_year": 2,
                **tranche_a,
            },
            {
                "name": "cover",
                "share": 0.4,
                "indicator": "vegetation_cover",
                "verification_year": 4,
                "tiers": [{"lower": None, "principal_fraction": 0.0}, {"lower": 0.6}],
            },
        ],
        outcomes=outcomes,
    )


SOIL_TIERS = [
    {"name": "miss", "lower": None, "principal_fraction": 0.0, "defer": True},
    {"name": "partial", "lower": 0.5, "principal_fraction": 0.5, "interpolate": True},
    {"name": "met", "lower": 0.9, "principal_fraction": 1.0},
]


def test_partial_payment_interpolates_and_forfeits_the_rest():
    # soil 0.7: partial tier, fraction 0.5 + 0.5 * (0.7 - 0.5) / (0.9 - 0.5) = 0.75
    spec = _two_tranche(
        {"soil_share_below_screening": {2: 0.7}, "vegetation_cover": {4: 0.65}}, tiers=SOIL_TIERS
    )
    res = run(spec)
    ev = res.summary["events"][0]
    assert ev["action"] == "partial"
    assert ev["principal_fraction"] == pytest.approx(0.75)
    # tranche 600: 450 repaid and 150 forfeited in year 2
    assert res.schedule[1]["principal_repaid"] == pytest.approx(450.0)
    assert res.schedule[1]["principal_forfeited"] == pytest.approx(150.0)
    # interest: years 1-2 on 1000 = 50 each; years 3-4 on 400 = 20 each
    assert [r["interest"] for r in res.schedule] == pytest.approx([50, 50, 20, 20])
    assert "FIN-PBOND-PARTIAL" in res.rule_codes and "FIN-PBOND-FORFEIT" in res.rule_codes


def test_deferral_retests_next_year_then_settles():
    # year 2: 0.3 (miss, defer); year 3: 0.95 (met) -> repaid in year 3
    spec = _two_tranche(
        {"soil_share_below_screening": {2: 0.3, 3: 0.95}, "vegetation_cover": {4: 0.7}},
        tiers=SOIL_TIERS,
        max_deferrals=1,
    )
    res = run(spec)
    actions = [(e["year"], e["action"]) for e in res.summary["events"]]
    assert actions[:2] == [(2, "deferred"), (3, "repaid")]
    assert res.schedule[2]["principal_repaid"] == pytest.approx(600.0)
    # interest: 50, 50, 50 (1000 outstanding through year 3), then 20 on 400
    assert [r["interest"] for r in res.schedule] == pytest.approx([50, 50, 50, 20])
    assert "FIN-PBOND-DEFER" in res.rule_codes


def test_deferrals_exhausted_settle_with_the_tier_fraction():
    # still missing after the one deferral allowed: fraction 0, all 600 forfeited in year 3
    spec = _two_tranche(
        {"soil_share_below_screening": {2: 0.3, 3: 0.4}, "vegetation_cover": {4: 0.7}},
        tiers=SOIL_TIERS,
        max_deferrals=1,
    )
    res = run(spec)
    assert res.summary["events"][1]["action"] == "forfeited"
    assert res.schedule[2]["principal_forfeited"] == pytest.approx(600.0)
    assert res.summary["total_principal_repaid"] == pytest.approx(400.0)


def test_coupon_step_up_and_step_down():
    tiers = [
        {"name": "miss", "lower": None, "principal_fraction": 1.0, "coupon_step": 0.01},
        {"name": "met", "lower": 0.9, "principal_fraction": 1.0, "coupon_step": -0.02},
    ]
    base = {"share": 0.6, "verification_year": 2, "repayment_year": 4}
    up = run(
        _two_tranche(
            {"soil_share_below_screening": {2: 0.5}, "vegetation_cover": {4: 0.7}},
            tiers=tiers,
            **base,
        )
    )
    down = run(
        _two_tranche(
            {"soil_share_below_screening": {2: 0.95}, "vegetation_cover": {4: 0.7}},
            tiers=tiers,
            **base,
        )
    )
    # from year 3 the coupon is 6 % (step-up) or 3 % (step-down), on 1000 still outstanding
    assert [r["coupon_rate"] for r in up.schedule] == pytest.approx([0.05, 0.05, 0.06, 0.06])
    assert [r["interest"] for r in down.schedule] == pytest.approx([50, 50, 30, 30])
    assert "FIN-PBOND-STEP" in up.rule_codes


def test_missing_verified_value_is_an_input_error():
    spec = _two_tranche({"vegetation_cover": {4: 0.7}}, tiers=SOIL_TIERS)
    with pytest.raises(InputError) as e:
        run(spec)
    assert e.value.problems[0].field == "outcomes.soil_share_below_screening.2"


def test_spec_rejects_bad_structures():
    with pytest.raises(InputError) as e:
        run_instrument(
            "performance-bond",
            {
                "principal": 100,
                "coupon_rate": 0.05,
                "term_years": 3,
                "tranches": [
                    {
                        "name": "a",
                        "share": 0.5,
                        "indicator": "x",
                        "verification_year": 2,
                        "tiers": [{"lower": None}],
                    },
                ],
                "outcomes": {"x": {2: 1}},
            },
            file="bond.yaml",
        )
    assert "sum to 1" in str(e.value) and "bond.yaml" in str(e.value)
    with pytest.raises(InputError, match="rise strictly"):
        run_instrument(
            "performance-bond",
            {
                "principal": 100,
                "coupon_rate": 0.05,
                "term_years": 3,
                "tranches": [
                    {
                        "name": "a",
                        "share": 1,
                        "indicator": "x",
                        "verification_year": 2,
                        "tiers": [{"lower": None}, {"lower": 2}, {"lower": 1}],
                    }
                ],
                "outcomes": {"x": {2: 1}},
            },
        )


@settings(max_examples=60, deadline=None)
@given(st.floats(0, 100), st.floats(0, 100))
def test_a_better_outcome_never_pays_investors_less(a, b):
    # invariant of the DC Water ladder: investor payoff is non-decreasing in the outcome
    lo, hi = sorted((a, b))
    p_lo = run(published_spec("dc-water", lo)[0]).summary["total_to_investors"]
    p_hi = run(published_spec("dc-water", hi)[0]).summary["total_to_investors"]
    assert p_hi >= p_lo


@settings(max_examples=60, deadline=None)
@given(st.floats(0, 1))
def test_interpolated_fraction_is_monotone_and_bounded(x):
    tiers = [Tier(**t) for t in SOIL_TIERS]
    _, f = tier_fraction(tiers, x)
    _, f2 = tier_fraction(tiers, min(x + 0.01, 1.0))
    assert 0.0 <= f <= 1.0 and f2 >= f - 1e-12


@settings(max_examples=80, deadline=None)
@given(
    st.lists(st.floats(0, 1), min_size=4, max_size=4),
    st.lists(st.floats(0, 1), min_size=4, max_size=4),
    st.integers(0, 2),
)
def test_principal_is_conserved_whatever_the_outcomes(soil, cover, deferrals):
    # every unit of principal is either repaid or forfeited, once, by the term
    spec = _two_tranche(
        {
            "soil_share_below_screening": dict(enumerate(soil, start=1)),
            "vegetation_cover": dict(enumerate(cover, start=1)),
        },
        tiers=SOIL_TIERS,
        max_deferrals=deferrals,
    )
    res = run(spec)
    s = res.summary
    assert s["total_principal_repaid"] + s["total_principal_forfeited"] == pytest.approx(1000.0)
    assert all(r["outstanding_start"] >= -1e-9 for r in res.schedule)
    assert s["total_interest"] <= 1000.0 * 0.05 * 4 + 1e-9
