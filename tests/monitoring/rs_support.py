"""Tiny synthetic rasters and zone layers for the remote-sensing tests (loaded by path).

The NDVI scene (EPSG:32649, UTM 49N, 10 m pixels, upper-left corner x = 500 000, y = 3 000 000;
NaN = nodata)::

    row 0:  0.1   0.2   0.3   0.4
    row 1:  0.5   0.6   0.7   0.8
    row 2:  0.1   0.1   0.9   0.9
    row 3: -0.2  -0.1   nd    nd

Zones: A = columns 0–1 (8 pixels), B = rows 0–1 × columns 2–3 (4), C = rows 2–3 × columns 2–3
(4, two without data).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

X0, Y0, RES = 500_000.0, 3_000_000.0, 10.0
CRS = "EPSG:32649"
NAN = np.nan

NDVI = np.array(
    [
        [0.1, 0.2, 0.3, 0.4],
        [0.5, 0.6, 0.7, 0.8],
        [0.1, 0.1, 0.9, 0.9],
        [-0.2, -0.1, NAN, NAN],
    ]
)


def box(col0: int, row0: int, col1: int, row1: int) -> list[tuple[float, float]]:
    """Ring of the pixels [col0, col1) × [row0, row1) in the scene's CRS."""
    x0, x1 = X0 + col0 * RES, X0 + col1 * RES
    y0, y1 = Y0 - row0 * RES, Y0 - row1 * RES
    return [(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]


ZONES = {"A": box(0, 0, 2, 4), "B": box(2, 0, 4, 2), "C": box(2, 2, 4, 4)}


def write_raster(
    path: Path,
    values: np.ndarray,
    *,
    dtype: str = "float32",
    nodata: float | None = -9999.0,
    scale: float = 1.0,
    crs: str = CRS,
    origin: tuple[float, float] = (X0, Y0),
    res: float = RES,
) -> Path:
    """A one-band GeoTIFF of ``values / scale`` (NaN → nodata)."""
    import rasterio
    from rasterio.transform import from_origin

    data = np.asarray(values, dtype=np.float64) / scale
    if nodata is not None:
        data = np.where(np.isnan(data), nodata, data)
    if np.issubdtype(np.dtype(dtype), np.integer):
        data = np.round(data)
    profile: dict[str, Any] = {
        "driver": "GTiff",
        "width": data.shape[1],
        "height": data.shape[0],
        "count": 1,
        "dtype": dtype,
        "crs": crs,
        "transform": from_origin(origin[0], origin[1], res, res),
        "nodata": nodata,
    }
    with rasterio.open(path, "w", **profile) as ds:
        ds.write(data.astype(dtype), 1)
    return path


def write_zones(
    path: Path, zones: dict[str, list[tuple[float, float]]], *, to_wgs84: bool = False
) -> Path:
    """A GeoJSON of the zones (property ``zone_id`` and ``name``), in EPSG:32649 or WGS 84."""
    import geopandas as gpd
    from shapely.geometry import Polygon

    gdf = gpd.GeoDataFrame(
        {"zone_id": list(zones), "name": [f"zone {k}" for k in zones]},
        geometry=[Polygon(r) for r in zones.values()],
        crs=CRS,
    )
    if to_wgs84:
        gdf = gdf.to_crs(4326)
    gdf.to_file(path, driver="GeoJSON")
    return path


def wgs84_wkb(ring: list[tuple[float, float]]) -> bytes:
    """WKB (EPSG:4326) of a ring given in the scene's CRS, as the register stores sites."""
    import shapely
    from pyproj import Transformer
    from shapely.geometry import Polygon

    t = Transformer.from_crs(CRS, 4326, always_xy=True)
    poly = shapely.transform(
        Polygon(ring), lambda xy: np.column_stack(t.transform(xy[:, 0], xy[:, 1]))
    )
    return bytes(shapely.to_wkb(poly))
