"""ESV of a land-cover raster through the raster engine, against a hand calculation."""

from __future__ import annotations

import json

import numpy as np
import pytest
import rasterio
from affine import Affine
from typer.testing import CliRunner

from restora.cli import app
from restora.errors import InputError
from restora.valuation.esv_raster import esv_of_raster

runner = CliRunner()
# 4 × 4 pixels of 100 m × 100 m = 1 hm² each, ESA WorldCover codes
GRID = np.array(
    [
        [10, 10, 10, 10],
        [10, 10, 10, 10],
        [80, 80, 80, 80],
        [50, 50, 255, 255],
    ],
    dtype=np.uint8,
)


def _write(path, data, nodata=255):
    with rasterio.open(
        path, "w", driver="GTiff", width=4, height=4, count=1, dtype=data.dtype,
        crs="EPSG:32650", transform=Affine(100, 0, 500_000, 0, -100, 3_000_000), nodata=nodata,
    ) as ds:  # fmt: skip
        ds.write(data, 1)
    return path


def test_hand_worked_esv_and_map(tmp_path):
    lulc = _write(tmp_path / "lc.tif", GRID)
    r = esv_of_raster(lulc, "esa_worldcover", out_dir=tmp_path / "out", on="2025-06-01")
    # tree cover (10) → mixed_forest: Σ factors = 0.31+0.71+0.37+2.35+7.03+1.99+3.51+2.86
    #   +0.22+2.60+1.14 = 23.09; water (80): 0.80+0.23+8.29+0.77+2.29+5.55+102.24+0.93+0.07
    #   +2.55+1.89 = 125.61; built-up (50) has no type; 255 is nodata.
    # ESV = (8 hm² × 23.09 + 4 hm² × 125.61) × 3406.5 = 687.16 × 3406.5 = 2 340 810.54 CNY/yr
    assert r.esv.total_cny_per_yr == pytest.approx(2_340_810.54, rel=1e-12)
    assert r.pixel_area_hm2 == pytest.approx(1.0)
    assert r.pixels_by_code == {10: 8, 50: 2, 80: 4}
    assert r.esv.by_type["mixed_forest"] == pytest.approx(8 * 23.09 * 3406.5)
    with rasterio.open(r.outputs["esv"]) as ds:
        m = ds.read(1)
        assert ds.nodata == -1.0
    # per pixel: forest 23.09 × 3406.5 = 78 656.085; water 125.61 × 3406.5 = 427 890.465
    assert m[0, 0] == pytest.approx(78_656.085, rel=1e-6)
    assert m[2, 3] == pytest.approx(427_890.465, rel=1e-6)
    assert m[3, 0] == 0.0 and m[3, 3] == -1.0
    # the map adds up to the total (float32 per pixel)
    assert m[m >= 0].sum(dtype=np.float64) == pytest.approx(r.esv.total_cny_per_yr, rel=1e-6)


def test_code_missing_from_mapping_is_an_error_and_writes_nothing(tmp_path):
    bad = GRID.copy()
    bad[0, 0] = 33
    lulc = _write(tmp_path / "lc.tif", bad)
    with pytest.raises(InputError, match=r"33 \(1 pixels\)") as ei:
        esv_of_raster(lulc, "esa_worldcover", out_dir=tmp_path / "out")
    assert ei.value.problems[0].file == str(lulc)
    assert not (tmp_path / "out").exists()


def test_cli_json(tmp_path):
    lulc = _write(tmp_path / "lc.tif", GRID)
    res = runner.invoke(
        app, ["value", "esv-raster", str(lulc), "--scheme", "esa_worldcover", "-f", "json"]
    )
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["total_cny_per_yr"] == pytest.approx(2_340_810.54, rel=1e-12)
    assert set(data["by_service"]) >= {"hydrological_regulation", "biodiversity"}
    res = runner.invoke(app, ["value", "esv-raster", str(lulc), "--scheme", "corine"])
    assert res.exit_code == 2 and "corine" in res.output


def test_dask_path_equals_file_path(tmp_path):
    from restora.valuation import raster
    from restora.valuation.esv_raster import esv_of_dask

    lulc = _write(tmp_path / "lc.tif", GRID)
    on_file = esv_of_raster(lulc, "esa_worldcover", on="2025-06-01")
    arr = raster.open_dask(lulc, chunks=2)  # four 2 × 2 chunks
    on_dask = esv_of_dask(arr, "esa_worldcover", pixel_area_hm2=1.0, nodata=255, on="2025-06-01")
    assert on_dask.esv.total_cny_per_yr == on_file.esv.total_cny_per_yr
    assert on_dask.pixels_by_code == on_file.pixels_by_code


def test_location_adjusted_raster(tmp_path):
    import math

    from restora import refdata

    lulc = _write(tmp_path / "lc.tif", GRID)
    # distance to town [km]: 0 on the top row, 10 (the neutral distance) elsewhere, one nodata
    town = np.full((4, 4), 10.0, dtype=np.float32)
    town[0, :] = 0.0
    town[1, 0] = -9999.0
    town_tif = _write(tmp_path / "town.tif", town, nodata=-9999.0)
    r = esv_of_raster(
        lulc, "esa_worldcover", on="2025-06-01", location_rasters={"town": town_tif},
        out_dir=tmp_path / "out",
    )  # fmt: skip
    p = refdata.get("valuation/location/coefficients", on="2025-06-01").data["factors"]["town"]
    # at the town: k = 1 + w (e^0 − e^(−d0/L)) = 1 + 0.5 (1 − e^(−10/5)) = 1.432332...
    k0 = 1 + p["weight"] * (1 - math.exp(-p["neutral_km"] / p["decay_km"]))
    forest = 23.09 * 3406.5  # CNY/yr per 1-hm² forest pixel (hand-worked above)
    # top row: 4 forest pixels × k0; every other valued pixel (incl. the nodata distance) × 1
    expected = r.esv.total_cny_per_yr + 4 * forest * (k0 - 1)
    assert r.location_adjusted_total_cny_per_yr == pytest.approx(expected, rel=1e-9)
    assert r.esv.total_cny_per_yr == pytest.approx(2_340_810.54, rel=1e-12)  # unadjusted beside
    with rasterio.open(r.outputs["esv_location_adjusted"]) as ds:
        m = ds.read(1)
    assert m[0, 0] == pytest.approx(forest * k0, rel=1e-6)
    assert m[1, 0] == pytest.approx(forest, rel=1e-6)


def test_location_raster_on_another_grid_is_refused(tmp_path):
    lulc = _write(tmp_path / "lc.tif", GRID)
    other = tmp_path / "town.tif"
    with rasterio.open(
        other, "w", driver="GTiff", width=4, height=4, count=1, dtype="float32",
        crs="EPSG:32650", transform=Affine(50, 0, 500_000, 0, -50, 3_000_000),
    ) as ds:  # fmt: skip
        ds.write(np.zeros((4, 4), dtype=np.float32), 1)
    with pytest.raises(InputError) as ei:
        esv_of_raster(lulc, "esa_worldcover", location_rasters={"town": other})
    assert ei.value.problems[0].file == str(other)


def test_cli_location(tmp_path):
    lulc = _write(tmp_path / "lc.tif", GRID)
    town = _write(tmp_path / "town.tif", np.full((4, 4), 10.0, dtype=np.float32), nodata=-1.0)
    args = ["value", "esv-raster", str(lulc), "--scheme", "esa_worldcover", "-f", "json"]
    res = runner.invoke(app, [*args, "--location", f"town={town}"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    # every pixel at the neutral distance: k = 1, adjusted = unadjusted
    assert data["location_adjusted_total_cny_per_yr"] == pytest.approx(data["total_cny_per_yr"])
    res = runner.invoke(app, [*args, "--location", f"airport={town}"])
    assert res.exit_code == 2 and "airport" in res.output
