"""Xie et al. (2015) equivalent factors: the shipped table against the published table.

The independent source is tests/data/reference/xie2015-equivalent-factors.yaml (Table 3 of the
paper, transcribed apart from the shipped reference table); every one of the 14 × 11 cells must
equal the reference data table.
"""

from __future__ import annotations

import pytest

from restora import refdata
from restora.valuation import esv


@pytest.fixture
def reference(xie2015):
    services = list(xie2015["services"])
    table = {
        row["type"]: dict(zip(services, (float(v) for v in row["factors"]), strict=True))
        for row in xie2015["types"]
    }
    return services, table


def test_every_cell_equals_the_published_table(reference):
    services, expected = reference
    assert len(expected) == 14 and len(services) == 11
    table = esv.FactorTable.load()
    assert table.services == tuple(services)
    assert table.types == tuple(expected)
    for i, t in enumerate(table.types):
        for j, s in enumerate(table.services):
            assert table.factors[i, j] == expected[t][s], (t, s)


def test_default_standard_equivalent_is_the_papers():
    data = refdata.get("valuation/xie2015/standard_equivalent").data
    assert data["value_cny_per_hm2"] == 3406.50


def test_hand_worked_mixed_area():
    # Mixed area: dry land 10 hm², paddy 2, coniferous 5, water 3; E = 3406.50 CNY/hm²/yr.
    # Row sums of the equivalent factors (equivalents/hm²):
    #   dry land   0.85+0.40+0.02+0.67+0.36+0.10+0.27+1.03+0.12+0.13+0.06 = 4.01
    #   paddy      1.36+0.09-2.63+1.11+0.57+0.17+2.72+0.01+0.19+0.21+0.09 = 3.89
    #   coniferous 0.22+0.52+0.27+1.70+5.07+1.49+3.34+2.06+0.16+1.88+0.82 = 17.53
    #   water      0.80+0.23+8.29+0.77+2.29+5.55+102.24+0.93+0.07+2.55+1.89 = 125.61
    # equivalents = 10×4.01 + 2×3.89 + 5×17.53 + 3×125.61 = 40.1 + 7.78 + 87.65 + 376.83 = 512.36
    # total = 512.36 × 3406.5 = 1 745 354.34 CNY/yr
    # water supply = (10×0.02 + 2×(-2.63) + 5×0.27 + 3×8.29) × 3406.5 = 21.16 × 3406.5 = 72 081.54
    # hydrological regulation = (2.7 + 5.44 + 16.7 + 306.72) × 3406.5 = 331.56 × 3406.5 = 1 129 459.14
    # by type, water = 376.83 × 3406.5 = 1 283 671.395
    result = esv.run(
        esv.parse_input({"areas_hm2": {"dry_land": 10, "paddy": 2, "coniferous": 5, "water": 3}})
    )
    assert result.total_cny_per_yr == pytest.approx(1_745_354.34, abs=1e-6)
    assert result.by_service["water_supply"] == pytest.approx(72_081.54, abs=1e-6)
    assert result.by_service["hydrological_regulation"] == pytest.approx(1_129_459.14, abs=1e-6)
    assert result.by_type["water"] == pytest.approx(1_283_671.395, abs=1e-6)
    assert result.by_type["mixed_forest"] == 0.0
    assert result.by_type_service["paddy"]["water_supply"] == pytest.approx(-2 * 2.63 * 3406.5)
    assert result.method == "xie2015"
    assert result.equivalent_value_source == "default"
    names = [t["name"] for t in result.tables]
    assert names == [
        "valuation/xie2015/equivalent_factors",
        "valuation/xie2015/standard_equivalent",
    ]
