"""Milestone indicators from evidence, by hand (restora.monitoring.milestones)."""

from __future__ import annotations

import numpy as np
import pytest

from restora.errors import InputError
from restora.finance.instruments.performance_bond import Tier, Tranche
from restora.monitoring import milestones as ms


def test_share_below_screening_by_sample_and_by_zone() -> None:
    codes = [0, 0, 0, 1, 2, 3, -1]  # -1: nothing measured, left out; 3 indeterminate: not below
    r = ms.share_below_screening(codes)
    assert (r.met, r.counted) == (3, 6) and r.value == pytest.approx(0.5)  # 3 / 6
    # zones: z1 {0, 0} below; z2 {0, 1} not; z3 {2} not; z4 {3} not; the -1 sample's zone z5
    # has no counted sample and is not counted -> 1 of 4
    r = ms.share_below_screening(codes, zone=["z1", "z1", "z2", "z2", "z3", "z4", "z5"])
    assert (r.met, r.counted, r.value) == (1, 4, 0.25)
    assert ms.share_below_screening([-1, -1]).value is None


def test_area_weighted_cover() -> None:
    # (0.4 * 200 + 0.7 * 600) / 800 = (80 + 420) / 800 = 0.625; the NaN zone is left out
    assert ms.area_weighted_cover([0.4, 0.7, np.nan], [200, 600, 500]) == pytest.approx(0.625)
    assert ms.area_weighted_cover([0.4], [0]) is None


def test_displacement_rate_is_the_least_squares_slope() -> None:
    # readings at 0, 1, 2, 4 days: 10, 10.4, 10.6, 11.4 mm. t̄ = 7/4 = 1.75, d̄ = 42.4/4 = 10.6
    # Σ(t-t̄)(d-d̄) = (-1.75)(-0.6) + (-0.75)(-0.2) + (0.25)(0) + (2.25)(0.8) = 1.05+0.15+0+1.8 = 3.0
    # Σ(t-t̄)² = 3.0625 + 0.5625 + 0.0625 + 5.0625 = 8.75 -> slope 3 / 8.75 = 0.342857 mm/d
    t = np.array([0, 1, 2, 4]) * 86400.0
    d = [10.0, 10.4, 10.6, 11.4]
    assert ms.displacement_rate(t, d) == pytest.approx(3 / 8.75)
    assert ms.displacement_rate(t, d) == pytest.approx(np.polyfit(t / 86400, d, 1)[0])
    assert ms.displacement_rate([0.0], [1.0]) is None


def test_share_stabilised_counts_missing_series_as_not_stable() -> None:
    r = ms.share_stabilised([0.02, -0.05, 0.3, None], 0.05)  # |0.02|, |-0.05| <= 0.05: 2 of 4
    assert (r.met, r.counted, r.value) == (2, 4, 0.5)
    with pytest.raises(InputError):
        ms.share_stabilised([0.1], -1)


def test_survival_and_credits() -> None:
    assert ms.survival_rate(alive=[85, 45], planted=[100, 50]) == pytest.approx(130 / 150)
    assert ms.survival_rate(rates=[0.8, np.nan, 0.9]) == pytest.approx(0.85)
    assert ms.survival_rate() is None
    assert ms.credit_count({"count": 300}, 0.1) == 300
    # floor(44/12 * (72.5 - 2.5)) = floor(256.67) = 256
    assert ms.credit_count({"per_value": 44 / 12, "baseline": 2.5}, 72.5) == 256
    assert ms.credit_count({"per_value": 10}, -1.0) == 0  # never negative
    with pytest.raises(InputError) as err:
        ms.check_credits({"unit_type": "CSINK", "count": 5, "per_value": 1, "vintage": 2030})
    assert err.value.problems[0].field == "credits.count"
    with pytest.raises(InputError) as err:
        ms.check_credits({"unit_type": "XX", "count": 5, "vintage": 2030})
    assert err.value.problems[0].field == "credits.unit_type"


def test_tranche_release_follows_tier_fraction() -> None:
    # QS-M28's soil tranche: share 0.6 of 20 000 000; miss < 0.5 (0, defer), partial from 0.5
    # (0.5, interpolated to 1.0 at 0.9), met from 0.9 (1.0)
    soil = Tranche(
        name="soil", share=0.6, indicator="soil_share_below_screening", verification_year=4,
        tiers=[Tier(name="miss", lower=None, principal_fraction=0.0, defer=True),
               Tier(name="partial", lower=0.5, principal_fraction=0.5, interpolate=True),
               Tier(name="met", lower=0.9, principal_fraction=1.0)],
    )  # fmt: skip
    cases = [
        # value, tier, fraction: 0.5 + (x - 0.5)/(0.9 - 0.5) * 0.5
        (0.85, "partial", 0.5 + 0.35 / 0.4 * 0.5),  # 0.9375 -> 11 250 000
        (0.5, "partial", 0.5),  # lower_inclusive
        (0.7, "partial", 0.75),  # 0.5 + 0.2/0.4*0.5
        (0.9, "met", 1.0),
        (0.3, "miss", 0.0),
    ]
    for value, tier, fraction in cases:
        r = ms.tranche_release(soil, 20_000_000, value)
        assert r.tier == tier and r.principal_fraction == pytest.approx(fraction)
        assert r.amount == pytest.approx(20_000_000 * 0.6 * fraction)
    assert ms.tranche_release(soil, 20_000_000, 0.85).amount == pytest.approx(11_250_000)
    assert ms.tranche_release(soil, 20_000_000, 0.3).defer is True


def test_meets_and_indicator_checks() -> None:
    assert ms.meets(0.6, "ge", 0.6) and not ms.meets(0.6, "gt", 0.6)
    assert ms.meets(0.1, "le", 0.2) and not ms.meets(0.2, "lt", 0.2)
    with pytest.raises(InputError):
        ms.meets(1, "eq", 1)
    with pytest.raises(InputError):
        ms.check_indicator("happiness")


def test_digest_is_order_independent_for_keys() -> None:
    a = ms.digest({"value": 0.85, "items": [1, 2]})
    assert a == ms.digest({"items": [1, 2], "value": 0.85}) and len(a) == 64
    assert a != ms.digest({"items": [2, 1], "value": 0.85})
