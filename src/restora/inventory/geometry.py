"""Geometry helpers: areas in an equal-area projection, never in degrees.

Areas use the Albers equal-area conic projection customary for maps of China (standard
parallels 25° N and 47° N, central meridian 105° E) on the GRS 80 / CGCS2000 ellipsoid. An
equal-area projection preserves areas on the ellipsoid exactly, so the result matches the
geodesic area to rounding (tests check it against pyproj's geodesic area).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pyproj
import shapely

from restora.units import M2_PER_HM2

STORAGE_CRS = "EPSG:4326"  # lon/lat; CGCS2000 (EPSG:4490) coincides with it to centimetres
CHINA_ALBERS = (
    "+proj=aea +lat_0=0 +lon_0=105 +lat_1=25 +lat_2=47 +x_0=0 +y_0=0 +ellps=GRS80 +units=m +no_defs"
)


@lru_cache(maxsize=32)
def transformer(src: str, dst: str) -> pyproj.Transformer:
    """A cached, always-xy transformer between two CRS given as strings."""
    return pyproj.Transformer.from_crs(
        pyproj.CRS.from_user_input(src), pyproj.CRS.from_user_input(dst), always_xy=True
    )


def reproject(geoms: np.ndarray, src: str, dst: str) -> np.ndarray:
    """Reproject an array of shapely geometries from CRS ``src`` to ``dst``."""
    if pyproj.CRS.from_user_input(src) == pyproj.CRS.from_user_input(dst):
        return np.asarray(geoms, dtype=object)
    tr = transformer(src, dst)

    def _xy(coords: np.ndarray) -> np.ndarray:
        x, y = tr.transform(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(np.asarray(geoms, dtype=object), _xy)


def equal_area_hm2(geoms: np.ndarray, crs: str = STORAGE_CRS) -> np.ndarray:
    """Area of each geometry [hm²], computed in the China Albers equal-area projection.

    Parameters
    ----------
    geoms : array of shapely geometries
        Polygons or multipolygons in ``crs``.
    crs : str
        Their CRS (default lon/lat WGS 84).

    Returns
    -------
    ndarray of float
        Area in hm² (1 hm² = 10 000 m²).
    """
    projected = reproject(np.asarray(geoms, dtype=object), crs, CHINA_ALBERS)
    return shapely.area(projected) / M2_PER_HM2


def geodesic_area_hm2(geom: shapely.Geometry) -> float:
    """Area on the GRS 80 ellipsoid [hm²] of a lon/lat geometry (independent check)."""
    geod = pyproj.Geod(ellps="GRS80")
    area, _ = geod.geometry_area_perimeter(
        shapely.geometry.shape(geom) if not isinstance(geom, shapely.Geometry) else geom
    )
    return abs(area) / M2_PER_HM2
