"""Fractional vegetation cover (dimidiate pixel model), zone statistics, change and water area:
the pure functions of restora.monitoring.fvc against hand-worked values and numpy."""

from __future__ import annotations

import doctest
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from restora.errors import InputError
from restora.monitoring import fvc

NAN = math.nan
SCHEME = fvc.class_scheme(limits=[0.1, 0.3, 0.6])


def test_doctests() -> None:
    res = doctest.testmod(fvc)
    assert res.attempted >= 7 and res.failed == 0


def test_dimidiate_hand_values() -> None:
    # soil 0.1, veg 0.7: FVC = (NDVI − 0.1) / 0.6, clipped
    # 0.4 → 0.3/0.6 = 0.5; 0.25 → 0.15/0.6 = 0.25; −0.2 → clipped to 0; 0.95 → clipped to 1
    got = fvc.dimidiate_fvc([0.4, 0.25, -0.2, 0.95, NAN], 0.1, 0.7)
    assert got[:4] == pytest.approx([0.5, 0.25, 0.0, 1.0], abs=1e-12)
    assert math.isnan(got[4])


def test_dimidiate_refuses_veg_not_above_soil() -> None:
    with pytest.raises(InputError, match="NDVI_veg"):
        fvc.dimidiate_fvc([0.3], 0.5, 0.5)


def test_to_ndvi_scale_and_nodata() -> None:
    # int16 × 10000 (MODIS MOD13): 4500 → 0.45, −1200 → −0.12, −3000 nodata → NaN
    got = fvc.to_ndvi(np.array([4500, -1200, -3000], dtype=np.int16), scale=1e-4, nodata=-3000)
    assert got[:2] == pytest.approx([0.45, -0.12])
    assert math.isnan(got[2])


def test_percentile_endmembers_hand_and_numpy() -> None:
    # 14 valid values sorted: −0.2 −0.1 0.1 0.1 0.1 0.2 0.3 0.4 0.5 0.6 0.7 0.8 0.9 0.9
    # 5 %: h = 13 × 0.05 = 0.65 → −0.2 + 0.65 × (−0.1 − (−0.2)) = −0.135
    # 95 %: h = 13 × 0.95 = 12.35 → 0.9 + 0.35 × (0.9 − 0.9) = 0.9
    values = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.1, 0.1, 0.9, 0.9, -0.2, -0.1, NAN, NAN]
    e = fvc.percentile_endmembers(values)
    assert e.ndvi_soil == pytest.approx(-0.135, abs=1e-12)
    assert e.ndvi_veg == pytest.approx(0.9, abs=1e-12)
    assert (e.method, e.scope, e.pixels) == ("percentile", "scene", 14)
    valid = np.array(values)[~np.isnan(values)]
    assert (e.ndvi_soil, e.ndvi_veg) == tuple(np.percentile(valid, [5, 95]))


def test_default_percentiles_are_li_2004() -> None:
    assert fvc.default_percentiles() == (5.0, 95.0)


def _blocks(x: np.ndarray, size: int):  # type: ignore[no-untyped-def]
    return lambda: (x[i : i + size] for i in range(0, x.size, size))


@settings(max_examples=150, deadline=None)
@given(
    values=st.lists(
        st.one_of(
            st.floats(-1, 1, allow_nan=False),
            st.sampled_from([0.25, 0.5, -0.1]),  # ties
            st.just(NAN),
        ),
        min_size=1,
        max_size=300,
    ),
    q=st.lists(st.floats(0, 100), min_size=1, max_size=4),
    block=st.integers(1, 50),
    bins=st.integers(2, 64),
    max_collect=st.integers(1, 40),
)
def test_exact_percentiles_equal_numpy(
    values: list[float], q: list[float], block: int, bins: int, max_collect: int
) -> None:
    x = np.array(values)
    valid = x[np.isfinite(x)]
    if valid.size == 0:
        with pytest.raises(InputError):
            fvc.exact_percentiles(_blocks(x, block), q)
        return
    got, n = fvc.exact_percentiles(_blocks(x, block), q, bins=bins, max_collect=max_collect)
    assert n == valid.size
    # the same floats, not approximately: the issue asks that the percentiles match numpy's
    assert got.tolist() == np.percentile(valid, q).tolist()


def test_exact_percentiles_int16_scaled_ties() -> None:
    # int16 NDVI × 10000 has few distinct values: many ties; narrowing must stop on them
    rng = np.random.default_rng(16)
    x = rng.integers(-2000, 9000, 20_000).astype(np.float64) * 1e-4
    x[:5000] = 0.3
    got, _ = fvc.exact_percentiles(_blocks(x, 997), [5, 50, 95], bins=16, max_collect=100)
    assert got.tolist() == np.percentile(x, [5, 50, 95]).tolist()


def test_zone_cover_hand_values() -> None:
    # pixels of 100 m² (10 m): FVC 0, 1/6, 4/6, 5/6, 0, 0, 0, 0 and one invalid
    # mean = (1/6 + 4/6 + 5/6) / 8 = 10/48; median of 0,0,0,0,0,1/6,4/6,5/6 = (0 + 0)/2 = 0
    # classes [0,0.1) [0.1,0.3) [0.3,0.6) [0.6,1]: 5, 1, 0, 2 pixels → 500, 100, 0, 200 m²
    z = fvc.zone_cover("A", [0, 1 / 6, 4 / 6, 5 / 6, 0, 0, 0, 0, NAN], 100.0, SCHEME, name="pit")
    assert (z.pixels, z.valid_pixels, z.area_m2, z.valid_area_m2) == (9, 8, 900.0, 800.0)
    assert z.fvc_mean == pytest.approx(10 / 48)
    assert z.fvc_median == 0.0
    assert z.class_area_m2 == {"c1": 500.0, "c2": 100.0, "c3": 0.0, "c4": 200.0}
    assert z.class_share["c1"] == pytest.approx(500 / 800)
    assert (z.bare_area_m2, z.vegetated_area_m2) == (500.0, 200.0)
    assert z.as_dict()["name"] == "pit"


def test_class_limits_half_open_and_fvc_one_in_last_class() -> None:
    # 0.1 is "low" (not bare), 0.6 is "high", 1.0 is "high"
    z = fvc.zone_cover("A", [0.0999, 0.1, 0.5999, 0.6, 1.0], 1.0, SCHEME)
    assert z.class_area_m2 == {"c1": 1.0, "c2": 1.0, "c3": 1.0, "c4": 2.0}


def test_zone_cover_no_valid_pixels() -> None:
    z = fvc.zone_cover("A", [NAN, NAN], 100.0, SCHEME)
    assert (z.valid_pixels, z.fvc_mean, z.fvc_median, z.class_share["c1"]) == (0, None, None, None)


def test_class_scheme_from_refdata() -> None:
    s = fvc.class_scheme()
    assert s.codes == ("bare", "low", "medium", "high")
    assert (s.bare_below, s.vegetated_from) == (0.1, 0.6)
    assert s.edges.tolist() == [0.1, 0.3, 0.6]
    with pytest.raises(InputError, match="strictly increasing"):
        fvc.class_scheme(limits=[0.3, 0.1])


def test_zone_change_hand_values() -> None:
    # before 1/3, 1/2, 1, 1, 0.05, NaN; after 1/2, 4/6, 1, 1, NaN, 0.9 (100 m² pixels)
    # paired: the first four; Δ = 1/6, 1/6, 0, 0 → mean 1/12; improved 2 px = 200 m²
    # vegetated (≥ 0.6): before 2, after 3 → +100 m²; bare: none paired
    c = fvc.zone_change(
        "B", [1 / 3, 1 / 2, 1, 1, 0.05, NAN], [1 / 2, 4 / 6, 1, 1, NAN, 0.9], 100.0, SCHEME
    )
    assert (c.paired_pixels, c.paired_area_m2) == (4, 400.0)
    assert c.delta_fvc_mean == pytest.approx(1 / 12)
    assert c.fvc_mean_before == pytest.approx((1 / 3 + 1 / 2 + 2) / 4)
    assert (c.improved_area_m2, c.degraded_area_m2) == (200.0, 0.0)
    assert (c.vegetated_area_before_m2, c.vegetated_area_after_m2) == (200.0, 300.0)
    assert c.delta_vegetated_area_m2 == 100.0
    assert c.delta_bare_area_m2 == 0.0


def test_zone_change_bare_soil_and_min_change() -> None:
    # bare (< 0.1): before 0.0, 0.05, 0.2 → 2 px; after 0.12, 0.02, 0.18 → 1 px: −100 m²
    # Δ = 0.12, −0.03, −0.02; with min_change 0.05 only the first counts (improved 100 m²)
    c = fvc.zone_change("A", [0.0, 0.05, 0.2], [0.12, 0.02, 0.18], 100.0, SCHEME, min_change=0.05)
    assert (c.bare_area_before_m2, c.bare_area_after_m2, c.delta_bare_area_m2) == (
        200.0,
        100.0,
        -100.0,
    )
    assert (c.improved_area_m2, c.degraded_area_m2) == (100.0, 0.0)


def test_fvc_difference_shapes() -> None:
    assert fvc.fvc_difference([0.2, 0.5], [0.5, 0.4]).tolist() == pytest.approx([0.3, -0.1])
    with pytest.raises(InputError, match="shape"):
        fvc.fvc_difference([0.2], [0.5, 0.4])


def test_water_mask_and_change() -> None:
    # MNDWI > 0 is water (Xu 2006); 0 itself is not; NaN never
    assert fvc.water_mask([0.01, 0.0, -0.3, NAN], "mndwi", 0.0).tolist() == [
        True,
        False,
        False,
        False,
    ]
    # NDVI fallback: water where NDVI < 0
    assert fvc.water_mask([-0.01, 0.0, 0.5], "ndvi", 0.0).tolist() == [True, False, False]
    with pytest.raises(InputError, match="water index"):
        fvc.water_mask([0.1], "ndbi", 0.0)
    # 400 m² pixels; before water: px 1, 2; after: px 2, 3 (px 4 invalid after → unpaired)
    w = fvc.zone_water(
        "P", [-0.1, 0.2, 0.3, NAN], 400.0, index="ndwi", threshold=0.0, before=[0.1, 0.2, -0.5, 0.4]
    )
    assert (w.valid_pixels, w.water_area_m2, w.water_area_before_m2) == (3, 800.0, 800.0)
    assert (w.delta_water_area_m2, w.gained_m2, w.lost_m2) == (0.0, 400.0, 400.0)
    one = fvc.zone_water("P", [-0.1, 0.2, 0.3, NAN], 400.0, index="ndwi", threshold=0.0)
    assert (one.water_area_m2, one.water_area_before_m2) == (800.0, None)


def test_area_weighted_mean() -> None:
    # (0.5 × 300 + 0.9 × 100) / 400 = 0.6; a zone without valid pixels is left out
    covers = [
        {"fvc_mean": 0.5, "valid_area_m2": 300.0},
        {"fvc_mean": 0.9, "valid_area_m2": 100.0},
        {"fvc_mean": None, "valid_area_m2": 0.0},
    ]
    assert fvc.area_weighted_mean(covers) == pytest.approx(0.6)
    assert fvc.area_weighted_mean([]) is None
