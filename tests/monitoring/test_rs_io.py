"""Remote sensing on tiny GeoTIFFs: FVC per zone and for the scene, percentiles equal to numpy's,
nodata, scale factors, zones in another CRS, windowed reading, change between dates, water.

The scene and zones are those of tests/monitoring/rs_support.py (10 m pixels: 100 m² each).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import rasterio

from restora.errors import InputError
from restora.monitoring import fvc, raster_io
from restora.monitoring.raster_io import Scaling


def _support() -> Any:
    """tests/monitoring/rs_support.py, loaded by path (test folders are not packages)."""
    name = "restora_tests_rs_support"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            name, Path(__file__).with_name("rs_support.py")
        )
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


S = _support()
SCHEME = fvc.class_scheme()  # bare < 0.1, low < 0.3, medium < 0.6, high


@pytest.fixture
def ndvi_tif(tmp_path: Path) -> Path:
    return S.write_raster(tmp_path / "ndvi.tif", S.NDVI)


@pytest.fixture
def zones_gj(tmp_path: Path) -> Path:
    return S.write_zones(tmp_path / "zones.geojson", S.ZONES)


def _by_id(covers: list[fvc.ZoneCover]) -> dict[str, fvc.ZoneCover]:
    return {c.zone_id: c for c in covers}


def _check_hand_zones(covers: list[fvc.ZoneCover]) -> None:
    # soil 0.1, veg 0.7: FVC = (NDVI − 0.1)/0.6 clipped (values stored as float32: abs 1e-6)
    # A: 0, 1/6, 4/6, 5/6, 0, 0, 0, 0 → mean 10/48, median 0; bare 5 px, low 1, high 2
    # B: 2/6, 3/6, 1, 1 → mean 17/24, median (0.5 + 1)/2 = 0.75; medium 2, high 2
    # C: 1, 1 and two nodata → 4 px (400 m²), 2 valid (200 m²), mean 1
    z = _by_id(covers)
    a, b, c = z["A"], z["B"], z["C"]
    assert (a.pixels, a.valid_pixels, a.area_m2) == (8, 8, 800.0)
    assert a.fvc_mean == pytest.approx(10 / 48, abs=1e-6)
    assert a.fvc_median == pytest.approx(0.0, abs=1e-6)
    assert a.class_area_m2 == {"bare": 500.0, "low": 100.0, "medium": 0.0, "high": 200.0}
    assert (a.bare_area_m2, a.vegetated_area_m2) == (500.0, 200.0)
    assert b.fvc_mean == pytest.approx(17 / 24, abs=1e-6)
    assert b.fvc_median == pytest.approx(0.75, abs=1e-6)
    assert b.class_area_m2 == {"bare": 0.0, "low": 0.0, "medium": 200.0, "high": 200.0}
    assert b.class_share["high"] == pytest.approx(0.5)
    assert (c.pixels, c.valid_pixels, c.area_m2, c.valid_area_m2) == (4, 2, 400.0, 200.0)
    assert c.fvc_mean == pytest.approx(1.0)


def test_fvc_zones_given_endmembers(ndvi_tif: Path, zones_gj: Path) -> None:
    zones = raster_io.read_zones(zones_gj)
    run = raster_io.fvc_zones(ndvi_tif, zones, soil=0.1, veg=0.7, scheme=SCHEME)
    assert run.endmembers.method == "given"
    assert run.info.pixel_area_m2 == pytest.approx(100.0)
    _check_hand_zones(run.covers)
    assert [c.zone_id for c in run.covers] == ["A", "B", "C"]
    assert run.covers[0].name == "zone A"
    assert run.params["endmembers"]["ndvi_soil"] == 0.1


def test_scene_percentiles_equal_numpy(ndvi_tif: Path, zones_gj: Path) -> None:
    # 14 valid: −0.2 −0.1 0.1 0.1 0.1 0.2 0.3 0.4 0.5 0.6 0.7 0.8 0.9 0.9
    # 5 %: −0.2 + 0.65 × 0.1 = −0.135; 95 %: 0.9 (float32 values: abs 1e-6)
    run = raster_io.fvc_zones(ndvi_tif, raster_io.read_zones(zones_gj), scheme=SCHEME)
    e = run.endmembers
    assert (e.method, e.scope, e.percentiles, e.pixels) == ("percentile", "scene", (5.0, 95.0), 14)
    assert e.ndvi_soil == pytest.approx(-0.135, abs=1e-6)
    assert e.ndvi_veg == pytest.approx(0.9, abs=1e-6)
    with rasterio.open(ndvi_tif) as ds:
        values = ds.read(1, masked=True).compressed().astype(np.float64)
    assert [e.ndvi_soil, e.ndvi_veg] == np.percentile(values, [5, 95]).tolist()
    # zone A, FVC = (NDVI + 0.135) / 1.035: (0.1 + 0.135)/1.035 = 0.22705...
    z = _by_id(run.covers)["A"]
    expected = np.clip(
        (values[[0, 1, 4, 5, 8, 9, 12, 13]] - e.ndvi_soil) / (e.ndvi_veg - e.ndvi_soil), 0, 1
    )
    assert z.fvc_mean == pytest.approx(expected.mean())
    assert expected[0] == pytest.approx(0.235 / 1.035, abs=1e-6)


def test_zone_percentiles(ndvi_tif: Path) -> None:
    # zones B and C only: 0.3 0.4 0.7 0.8 0.9 0.9 → 5 %: h = 0.25 → 0.325; 95 %: h = 4.75 → 0.9
    zones = [
        z
        for z in raster_io.read_zones(S.write_zones(ndvi_tif.with_suffix(".geojson"), S.ZONES))
        if z.zone_id != "A"
    ]
    run = raster_io.fvc_zones(ndvi_tif, zones, scope="zones", scheme=SCHEME)
    assert (run.endmembers.scope, run.endmembers.pixels) == ("zones", 6)
    assert run.endmembers.ndvi_soil == pytest.approx(0.325, abs=1e-6)
    assert run.endmembers.ndvi_veg == pytest.approx(0.9, abs=1e-6)


def test_int16_scaled_equals_float(tmp_path: Path, zones_gj: Path) -> None:
    # NDVI × 10000 in int16 with nodata −32768, read with scale 1e-4
    tif = S.write_raster(tmp_path / "ndvi16.tif", S.NDVI, dtype="int16", nodata=-32768, scale=1e-4)
    zones = raster_io.read_zones(zones_gj)
    run = raster_io.fvc_zones(
        tif, zones, scaling=Scaling(scale=1e-4), soil=0.1, veg=0.7, scheme=SCHEME
    )
    _check_hand_zones(run.covers)
    scene = raster_io.fvc_zones(tif, zones, scaling=Scaling(scale=1e-4), scheme=SCHEME)
    assert scene.endmembers.ndvi_soil == pytest.approx(-0.135, abs=1e-9)


def test_nodata_override_and_nan_nodata(tmp_path: Path, zones_gj: Path) -> None:
    # the file states no nodata; --nodata −9999 says which value it is
    tif = S.write_raster(
        tmp_path / "nond.tif", np.where(np.isnan(S.NDVI), -9999, S.NDVI), nodata=None
    )
    zones = raster_io.read_zones(zones_gj)
    run = raster_io.fvc_zones(
        tif, zones, scaling=Scaling(nodata=-9999), soil=0.1, veg=0.7, scheme=SCHEME
    )
    _check_hand_zones(run.covers)
    # NaN as the file's nodata (float rasters)
    tif2 = S.write_raster(tmp_path / "nan.tif", S.NDVI, nodata=float("nan"))
    _check_hand_zones(raster_io.fvc_zones(tif2, zones, soil=0.1, veg=0.7, scheme=SCHEME).covers)


def test_zones_in_wgs84_are_reprojected(ndvi_tif: Path, tmp_path: Path) -> None:
    gj = S.write_zones(tmp_path / "wgs.geojson", S.ZONES, to_wgs84=True)
    zones = raster_io.read_zones(gj)
    assert zones[0].crs.to_epsg() == 4326
    _check_hand_zones(raster_io.fvc_zones(ndvi_tif, zones, soil=0.1, veg=0.7, scheme=SCHEME).covers)


def test_windowed_reading_same_result(
    ndvi_tif: Path, zones_gj: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    zones = raster_io.read_zones(zones_gj)
    whole = raster_io.fvc_zones(ndvi_tif, zones, scheme=SCHEME)
    monkeypatch.setattr(raster_io, "WINDOW_PIXELS", 3)  # windows of one row or less
    windowed = raster_io.fvc_zones(ndvi_tif, zones, scheme=SCHEME)
    assert windowed.covers == whole.covers
    assert windowed.endmembers == whole.endmembers


def test_scene_statistics_and_map(
    ndvi_tif: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # FVC of the 14 valid pixels: 0 ×5, 1/6, 2/6, 3/6, 4/6, 5/6, 1 ×4 → sum 15/6 + 4 = 6.5
    # mean 6.5/14; median of 14 = (x6 + x7)/2 = (2/6 + 3/6)/2 = 5/12
    monkeypatch.setattr(raster_io, "WINDOW_PIXELS", 4)
    out = tmp_path / "fvc.tif"
    run = raster_io.fvc_scene(ndvi_tif, soil=0.1, veg=0.7, scheme=SCHEME, out=out)
    (z,) = run.covers
    assert (z.zone_id, z.pixels, z.valid_pixels, z.valid_area_m2) == ("scene", 16, 14, 1400.0)
    assert z.fvc_mean == pytest.approx(6.5 / 14, abs=1e-6)
    assert z.fvc_median == pytest.approx(5 / 12, abs=1e-6)
    assert z.class_area_m2 == {"bare": 500.0, "low": 100.0, "medium": 200.0, "high": 600.0}
    with rasterio.open(out) as ds, rasterio.open(ndvi_tif) as src:
        got = ds.read(1)
        expected = fvc.dimidiate_fvc(
            src.read(1, masked=True).filled(np.nan).astype(np.float64), 0.1, 0.7
        )
        assert ds.crs == src.crs and ds.transform == src.transform
    np.testing.assert_allclose(got, expected, rtol=1e-6, equal_nan=True)


def test_scene_percentiles_streamed_equal_numpy(
    ndvi_tif: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(raster_io, "WINDOW_PIXELS", 2)
    run = raster_io.fvc_scene(ndvi_tif, scheme=SCHEME)
    with rasterio.open(ndvi_tif) as ds:
        values = ds.read(1, masked=True).compressed().astype(np.float64)
    soil, veg = np.percentile(values, [5, 95])
    assert (run.endmembers.ndvi_soil, run.endmembers.ndvi_veg) == (soil, veg)
    f = np.clip((values - soil) / (veg - soil), 0, 1)
    assert run.covers[0].fvc_median == np.median(f)


def test_geographic_raster_refused(tmp_path: Path) -> None:
    tif = S.write_raster(
        tmp_path / "deg.tif", S.NDVI, crs="EPSG:4326", origin=(110.0, 27.0), res=0.0001
    )
    with pytest.raises(InputError, match="projected") as err:
        raster_io.fvc_scene(tif, scheme=SCHEME)
    assert "deg.tif" in str(err.value)


def test_change_between_dates(ndvi_tif: Path, zones_gj: Path, tmp_path: Path) -> None:
    # after = before + 0.1, pixel (0, 0) cloudy (nodata)
    after = S.NDVI + 0.1
    after[0, 0] = np.nan
    b = S.write_raster(tmp_path / "after.tif", after)
    zones = raster_io.read_zones(zones_gj)
    run = raster_io.fvc_change(ndvi_tif, b, zones, soil=0.1, veg=0.7, scheme=SCHEME)
    z = {c.zone_id: c for c in run.changes}
    # B: before 2/6, 3/6, 1, 1; after 3/6, 4/6, 1, 1 → Δ mean (1/6 + 1/6)/4 = 1/12; vegetated +1 px
    assert z["B"].delta_fvc_mean == pytest.approx(1 / 12, abs=1e-6)
    assert z["B"].delta_vegetated_area_m2 == 100.0
    # A, 7 paired pixels: before 1/6, 4/6, 5/6, 0, 0, 0, 0; after 2/6, 5/6, 1, 1/6, 1/6, 0, 0
    # Δ mean = 5 × 1/6 / 7 = 5/42; bare 4 → 2 px (−200 m²); vegetated 2 → 2
    assert z["A"].paired_pixels == 7
    assert z["A"].delta_fvc_mean == pytest.approx(5 / 42, abs=1e-6)
    assert (z["A"].bare_area_before_m2, z["A"].bare_area_after_m2) == (400.0, 200.0)
    assert z["A"].delta_vegetated_area_m2 == 0.0


def test_scene_change_and_difference_map(
    ndvi_tif: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(raster_io, "WINDOW_PIXELS", 4)
    after = S.NDVI + 0.1
    after[0, 0] = np.nan
    b = S.write_raster(tmp_path / "after.tif", after)
    out = tmp_path / "dfvc.tif"
    run = raster_io.fvc_change(ndvi_tif, b, None, soil=0.1, veg=0.7, scheme=SCHEME, out=out)
    (c,) = run.changes
    # 13 paired pixels: A's 7 (Δ sum 5/6) + B's 4 (Δ sum 2/6) + C's 2 (1 → 1, Δ 0) → mean (7/6)/13
    assert c.paired_pixels == 13
    assert c.delta_fvc_mean == pytest.approx(7 / 6 / 13, abs=1e-6)
    with rasterio.open(out) as ds:
        d = ds.read(1)
    assert np.isnan(d[0, 0]) and np.isnan(d[3, 3])
    assert d[0, 1] == pytest.approx(1 / 6, abs=1e-6)  # 0.2 → 0.3: 1/6 → 2/6


def test_mismatched_grid_refused(ndvi_tif: Path, tmp_path: Path) -> None:
    b = S.write_raster(tmp_path / "shifted.tif", S.NDVI, origin=(S.X0 + 5, S.Y0))
    with pytest.raises(InputError, match="grid does not match") as err:
        raster_io.fvc_change(ndvi_tif, b, None, soil=0.1, veg=0.7, scheme=SCHEME)
    assert "shifted.tif" in str(err.value) and "origin differs" in str(err.value)


def test_water_area_and_change(tmp_path: Path, zones_gj: Path) -> None:
    # NDWI: water (> 0) at (3,0), (3,1) before; also at (2,0) after
    before = np.full((4, 4), -0.3)
    before[3, 0:2] = 0.4
    after = before.copy()
    after[2, 0] = 0.2
    t0 = S.write_raster(tmp_path / "ndwi0.tif", before)
    t1 = S.write_raster(tmp_path / "ndwi1.tif", after)
    zones = raster_io.read_zones(zones_gj)
    one = raster_io.water_zones(t0, zones, index="ndwi", threshold=0.0)
    assert [w.water_area_m2 for w in one] == [200.0, 0.0, 0.0]
    ch = {
        w.zone_id: w
        for w in raster_io.water_zones(t1, zones, index="ndwi", threshold=0.0, before=t0)
    }
    assert (ch["A"].water_area_before_m2, ch["A"].water_area_m2) == (200.0, 300.0)
    assert (ch["A"].delta_water_area_m2, ch["A"].gained_m2, ch["A"].lost_m2) == (100.0, 100.0, 0.0)
    (scene,) = raster_io.water_zones(t1, None, index="ndwi", threshold=0.0, before=t0)
    assert (scene.water_area_m2, scene.delta_water_area_m2) == (300.0, 100.0)


def test_water_from_ndvi_fallback(ndvi_tif: Path, zones_gj: Path) -> None:
    # NDVI < 0 at (3,0) and (3,1): 200 m² in zone A
    w = raster_io.water_zones(ndvi_tif, raster_io.read_zones(zones_gj), index="ndvi", threshold=0.0)
    assert [x.water_area_m2 for x in w] == [200.0, 0.0, 0.0]


def test_zone_file_errors(tmp_path: Path) -> None:
    import geopandas as gpd
    from shapely.geometry import Point

    with pytest.raises(InputError, match="no such file"):
        raster_io.read_zones(tmp_path / "missing.gpkg")
    p = tmp_path / "points.geojson"
    gpd.GeoDataFrame({"zone_id": ["P"]}, geometry=[Point(S.X0, S.Y0)], crs=S.CRS).to_file(p)
    with pytest.raises(InputError, match="not a polygon") as err:
        raster_io.read_zones(p)
    assert "row 1" in str(err.value)
    with pytest.raises(InputError, match="no column 'site'"):
        raster_io.read_zones(S.write_zones(tmp_path / "z.geojson", S.ZONES), id_field="site")
