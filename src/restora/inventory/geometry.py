"""Geometry helpers: areas in an equal-area projection, never in degrees; sites without boundary.

A site is a polygon, or — read from a point register, which gives a mine's centre point and its
damaged area but no outline — a point with its declared area. :func:`has_boundary` tells them
apart from the geometry's type (no store column records it); wherever a boundary matters
(zoning, overlays, maps) a site without one is said to have "no boundary", and its area
(``area_hm2``) is the declared one (:func:`area_basis`).

Areas use the Albers equal-area conic projection customary for maps of China (standard
parallels 25° N and 47° N, central meridian 105° E) on the GRS 80 / CGCS2000 ellipsoid. An
equal-area projection preserves areas on the ellipsoid exactly, so the result matches the
geodesic area to rounding (tests check it against pyproj's geodesic area).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd
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


#: What is said of a site without a polygon wherever its boundary would matter.
NO_BOUNDARY = "no boundary"
#: :func:`area_basis` values: the area of the polygon, or the area the register declares.
AREA_FROM_GEOMETRY = "geometry"
AREA_DECLARED = "declared"


def has_boundary(geoms: Any) -> np.ndarray:
    """True for each site whose geometry is a non-empty polygon or multipolygon.

    A point (a site of a point register: a centre point with a declared area), a missing or an
    empty geometry has no boundary.

    >>> has_boundary([shapely.box(0, 0, 1, 1), shapely.Point(114, 30), None]).tolist()
    [True, False, False]
    """
    g = np.asarray(geoms, dtype=object)
    if g.ndim == 0:
        g = g.reshape(1)
    types = shapely.get_type_id(g)  # -1 for None
    return np.isin(types, [3, 6]) & ~shapely.is_empty(g)


def area_basis(sites: pd.DataFrame) -> np.ndarray:
    """Where each site's ``area_hm2`` comes from: ``"geometry"`` or ``"declared"``.

    The register computes a polygon's area in the equal-area projection; a site without a
    boundary (:func:`has_boundary`) carries the area its register declares.
    """
    if "geometry" not in sites.columns:
        return np.full(len(sites), AREA_DECLARED, dtype=object)
    bounded = has_boundary(sites["geometry"].to_numpy(dtype=object))
    return np.where(bounded, AREA_FROM_GEOMETRY, AREA_DECLARED).astype(object)
