"""Price-year conversion through the CPI table (NBS annual CPI, previous year = 100)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from restora.errors import RestoraError
from restora.valuation.prices import PriceIndex, convert

CPI = PriceIndex.load()


def test_shipped_years_match_nbs_releases():
    idx = PriceIndex.load()
    # NBS annual CPI changes (%), 2010-2024, as published
    published = {2010: 3.3, 2011: 5.4, 2012: 2.6, 2013: 2.6, 2014: 2.0, 2015: 1.4, 2016: 2.0,
                 2017: 1.6, 2018: 2.1, 2019: 2.9, 2020: 2.5, 2021: 0.9, 2022: 2.0, 2023: 0.2,
                 2024: 0.2}  # fmt: skip
    assert {y: round(v - 100, 1) for y, v in idx.index.items()} == published


def test_chain_2010_to_2015():
    # 1.054 × 1.026 × 1.026 × 1.020 × 1.014 = 1.147555 (2011…2015)
    assert PriceIndex.load().factor(2010, 2015) == pytest.approx(1.1475549, rel=1e-6)
    assert PriceIndex.load().factor(2015, 2010) == pytest.approx(1 / 1.1475549, rel=1e-6)


def test_gap_names_the_missing_year():
    with pytest.raises(RestoraError, match="2025"):
        PriceIndex.load().factor(2024, 2026)
    with pytest.raises(RestoraError, match="2009"):
        PriceIndex.load().factor(2008, 2010)


def test_user_index_and_none_years():
    assert convert(100.0, 2022, 2024, {2023: 110.0, 2024: 110.0}) == pytest.approx(121.0)
    assert convert(100.0, None, 2024) == 100.0


@settings(deadline=None)
@given(a=st.integers(2009, 2024), b=st.integers(2009, 2024), c=st.integers(2009, 2024))
def test_factors_chain_transitively(a, b, c):
    idx = CPI
    assert idx.factor(a, b) * idx.factor(b, c) == pytest.approx(idx.factor(a, c), rel=1e-12)
