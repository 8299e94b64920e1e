"""Establishment ramps: curve shapes, the reference rows, ESV / GEP / carbon series.

These tests fail on the code before issue 11 item 4 (no ramp existed: the appraisal credited
the full after-restoration ESV from year 1).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from restora import refdata
from restora.diagnosis.suitability import USES
from restora.errors import InputError
from restora.planning.model import Work
from restora.revenue.carbon import increment_from_stock_change
from restora.valuation import esv
from restora.valuation.establishment import (
    RAMP_TABLE,
    SHAPES,
    RampTable,
    curve_fraction,
    esv_series,
    fraction,
    ramp_series,
    stock_increments,
    weighted_fraction,
    works_end_year,
)

E = 3406.5  # CNY/hm²/yr, valuation/xie2015/standard_equivalent


# --- curve shapes, by hand ----------------------------------------------------------------------


def test_immediate_and_linear():
    # immediate: nothing in the works year (a = 0), everything from the first season (a = 1)
    assert curve_fraction("immediate", [-1, 0, 0.5, 1, 5], 0).tolist() == [0, 0, 0, 1, 1]
    # linear T = 4: a/4, clipped to [0, 1]
    assert curve_fraction("linear", [-1, 0, 1, 2, 3, 4, 7], 4).tolist() == [
        0,
        0,
        0.25,
        0.5,
        0.75,
        1,
        1,
    ]
    # T = 0 makes any shape immediate
    assert curve_fraction("monomolecular", [0, 1], 0, rate_per_yr=0.5).tolist() == [0, 1]


def test_monomolecular_and_chapman_richards():
    # k = 0.5, T = 4: 1 - e^-2 = 0.864665
    # f(1) = (1 - e^-0.5)/0.864665 = 0.393469/0.864665 = 0.455054
    # f(2) = (1 - e^-1)/0.864665 = 0.632121/0.864665 = 0.731059
    f = curve_fraction("monomolecular", [1, 2, 4, 9], 4, rate_per_yr=0.5)
    assert f == pytest.approx([0.455054, 0.731059, 1.0, 1.0], rel=1e-5)
    # Chapman-Richards p = 2: the squares, 0.455054² = 0.207074, 0.731059² = 0.534447
    f = curve_fraction("chapman_richards", [1, 2], 4, rate_per_yr=0.5, exponent=2)
    assert f == pytest.approx([0.207074, 0.534447], rel=1e-5)


def test_logistic():
    # k = 1, m = 2, T = 4: L(0) = 1/(1+e²) = 0.119203, L(4) = 0.880797, L(1) = 0.268941
    # f(1) = (0.268941 - 0.119203)/(0.880797 - 0.119203) = 0.149738/0.761594 = 0.196612
    # f(2) = (0.5 - 0.119203)/0.761594 = 0.5 (symmetric about the midpoint)
    f = curve_fraction("logistic", [0, 1, 2, 4], 4, rate_per_yr=1.0, midpoint_years=2.0)
    assert f == pytest.approx([0.0, 0.196612, 0.5, 1.0], rel=1e-5)


def test_bad_parameters_are_named():
    with pytest.raises(InputError, match="rate_per_yr"):
        curve_fraction("monomolecular", 1, 10)
    with pytest.raises(InputError, match="unknown shape"):
        curve_fraction("sigmoid", 1, 10)
    with pytest.raises(InputError) as exc:
        RampTable.from_rows(
            [
                {
                    "after_use": "forest",
                    "shape": "chapman_richards",
                    "maturity_years": 25,
                    "rate_per_yr": 0.18,
                },
                {"after_use": "forest", "shape": "linear", "maturity_years": 5},
            ],
            file="my-ramps.yaml",
        )
    text = str(exc.value)
    assert "row 1" in text and "exponent" in text and "listed twice" in text


@settings(deadline=None, max_examples=60)
@given(
    shape=st.sampled_from(SHAPES),
    t=st.floats(0.5, 40),
    k=st.floats(0.01, 2),
    p=st.floats(0.5, 5),
    a=st.floats(-5, 60),
    b=st.floats(-5, 60),
)
def test_fraction_is_monotone_and_bounded(shape, t, k, p, a, b):
    f = curve_fraction(shape, sorted((a, b)), t, rate_per_yr=k, exponent=p, midpoint_years=t / 2)
    assert 0.0 <= f[0] <= f[1] <= 1.0 + 1e-12


# --- the reference table ------------------------------------------------------------------------


def test_every_after_use_has_a_ramp_with_a_source():
    table = RampTable.load()
    assert set(table.ramps) == set(USES)
    for ramp in table.ramps.values():
        assert ramp.basis in ("fit", "judgement")
        assert ramp.reference and ramp.fitted_to
    prov = refdata.get(RAMP_TABLE).provenance()
    assert "10.3390/f11121310" in prov["source"]


def test_shipped_rows_by_hand():
    # forest: Chapman-Richards k = 0.182, p = 3, T = 25, fitted to SOC 9.11 of 41.37 Mg C/ha at
    # 5 years: ((1 - e^-0.91)/(1 - e^-4.55))³ = (0.597476/0.989433)³ = 0.603857³ = 0.220192
    assert float(fraction("forest", 5)) == pytest.approx(0.220192, rel=1e-5)
    assert float(fraction("forest", 5)) == pytest.approx(9.11 / 41.37, abs=1e-3)  # the study
    # garden: the forest curve compressed to 10 years: f(2) = f_forest(5)
    assert float(fraction("garden", 2)) == pytest.approx(0.220192, rel=1e-5)
    # grass: monomolecular k = 0.3, T = 10: (1 - e^-0.3)/(1 - e^-3) = 0.259182/0.950213
    assert fraction("grass", [1, 5]) == pytest.approx([0.272762, 0.817574], rel=1e-5)
    # cultivated: k = 0.2, T = 15: f(13) = (1 - e^-2.6)/(1 - e^-3) = 0.925726/0.950213
    assert float(fraction("cultivated", 13)) == pytest.approx(0.974231, rel=1e-5)
    # water, construction, leave_as_is: complete in the first year after the works
    for use in ("water", "construction", "leave_as_is"):
        assert fraction(use, [0, 1]).tolist() == [0.0, 1.0]
    # vectorised over after-uses (n, 1) × ages (1, m)
    f = fraction(np.array([["grass"], ["water"]], dtype=object), np.array([[0, 1]]))
    assert f.shape == (2, 2) and f[1].tolist() == [0.0, 1.0]
    with pytest.raises(InputError, match="no establishment ramp"):
        fraction("orchard", 1)


# --- series -------------------------------------------------------------------------------------


def test_two_site_esv_series_by_hand():
    sites = pd.DataFrame(
        {
            "site_id": ["A", "B"],
            "kind": ["waste_rock_dump", "tailings_pond"],
            "water": [False, False],
            "area_hm2": [10.0, 5.0],
        }
    )
    cover, _ = esv.cover_after({"A": "forest", "B": "grass"})
    per_site = esv.esv_before_after(sites, cover)
    per_site["after_use"] = ["forest", "grass"]
    out = esv_series(per_site, {"A": 2027, "B": 2026}, range(2026, 2030))
    # A: bare land 10 × 0.20 × 3406.5 = 6813 → mixed forest 10 × 23.09 × 3406.5 = 786 560.85,
    # works end 2027: 2026, 2027 keep 6813; 2028 (a = 1) f = 0.0047566 → 6813 + 779 747.85 ×
    # 0.0047566 = 10 521.90; 2029 (a = 2) f = 0.029323 → 29 677.38
    assert out["A"].tolist() == pytest.approx([6813.0, 6813.0, 10_521.897, 29_677.384], rel=1e-6)
    # B: 5 × 0.20 × 3406.5 = 3406.5 → shrub-grass 5 × 19.69 × 3406.5 = 335 369.925, works end
    # 2026: 2027 (a = 1) 3406.5 + 331 963.425 × 0.272762 = 93 953.44; a = 2: × 0.474829;
    # a = 3: × 0.624523
    assert out["B"].tolist() == pytest.approx(
        [3406.5, 93_953.438, 161_032.259, 210_725.472], rel=1e-6
    )
    assert out.index.name == "year" and out.attrs["tables"][0]["name"] == RAMP_TABLE
    # the old pipeline credited 786 560.85 + 335 369.925 = 1 121 930.775 from the first year
    assert out.sum(axis=1).iloc[1] < 0.1 * (786_560.85 + 335_369.925)
    with pytest.raises(InputError, match="works-end"):
        esv_series(per_site, {"A": 2027}, range(2026, 2030))


def test_gep_total_with_a_weighted_ramp():
    # 10 hm² pond + 30 hm² grass, works end 2026; 2027: (10 × 1 + 30 × 0.272762)/40 = 0.454571
    f = weighted_fraction(["water", "grass"], [2026, 2026], [10.0, 30.0], [2026, 2027, 2036])
    assert f == pytest.approx([0.0, 0.454571, 1.0], rel=1e-5)
    # GEP 2 M → 6 M CNY/yr: 2027 = 2e6 + 4e6 × 0.454571 = 3 818 285
    gep = ramp_series([2e6], [6e6], ["grass"], [2026], [2027])  # one-row form also works
    assert float(gep[0, 0]) == pytest.approx(2e6 + 4e6 * 0.272762, rel=1e-5)
    assert float(2e6 + 4e6 * f[1]) == pytest.approx(3_818_285, rel=1e-5)
    assert weighted_fraction(["grass"], [2026], [0.0], [2027]).tolist() == [0.0]


def test_carbon_stock_accrual_matches_the_linear_revenue_helper():
    # Independent implementation: revenue.carbon.increment_from_stock_change spreads ΔC · 44/12
    # evenly over n years; a linear ramp over n years accrues ΔC/n a year.
    linear = RampTable.from_rows([{"after_use": "forest", "shape": "linear", "maturity_years": 10}])
    q = stock_increments([120.0], ["forest"], [2026], range(2027, 2039), table=linear)[0]
    ref = increment_from_stock_change(120.0, 10)  # 120 × 44/12 / 10 = 44 t CO2/yr
    assert q[:10] * 44 / 12 == pytest.approx(ref)
    assert q[10:].tolist() == [0.0, 0.0]
    # the sequestration *rate* form: a mature 44 t CO2/yr rate scaled by f
    rate = ramp_series([0.0], [44.0], ["grass"], [2026], [2027])[0, 0]
    assert rate == pytest.approx(44 * 0.272762, rel=1e-5)


@pytest.mark.parametrize("use", USES)
def test_stock_accrual_sums_to_the_stock_change(use):
    q = stock_increments([100.0], [use], [2026], range(2020, 2060))
    assert q.sum() == pytest.approx(100.0)
    assert (q >= -1e-12).all()


def test_works_end_year_ignores_care():
    works = [
        Work(item="earthworks", quantity=1, unit="m3", phase="basic_restoration", years=2),
        Work(item="planting", quantity=1, unit="hm2", phase="revegetation", start_year=2),
        Work(
            item="irrigation",
            quantity=1,
            unit="hm2",
            phase="maintenance",
            start_year=3,
            years=3,
            per_year=True,
        ),
    ]
    # basic restoration 2026-2027, planting 2028, care 2029-2031: works end 2028
    assert works_end_year(2026, works) == 2028
    assert works_end_year(2026, works[2:]) == 2025  # care only: nothing to wait for
    assert not math.isnan(works_end_year(2026, []))
