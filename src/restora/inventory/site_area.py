"""Which area of a register site to use: its polygon's, else the area its source declared.

A site in the register has two areas [hm²]: ``area_hm2``, computed from its polygon in an
equal-area projection (:func:`restora.inventory.geometry.equal_area_hm2`), and
``declared_area_hm2``, what the source file stated (checked against the polygon on import;
the only area of a site known by a point or a table without polygons). A figure computed from
a site's area uses the polygon's where there is one and says which it used.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: ``area_source`` of an area computed from the site's polygon.
FROM_GEOMETRY = "geometry"
#: ``area_source`` of the area the source declared (no polygon).
DECLARED = "declared"


def site_area_hm2(sites: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Each site's area [hm²] and its source: the polygon's, else the declared one.

    Parameters
    ----------
    sites : pandas.DataFrame
        Register sites: ``area_hm2`` (from the polygon; NaN without one) and/or
        ``declared_area_hm2`` [hm²]; either column may be absent.

    Returns
    -------
    area : ndarray of float
        :math:`A = A_{geom}` where finite, else :math:`A_{declared}`; NaN where neither is
        known [hm²].
    source : ndarray of object
        :data:`FROM_GEOMETRY`, :data:`DECLARED`, or None where neither is known.

    Examples
    --------
    >>> frame = pd.DataFrame({"area_hm2": [2.0, np.nan, np.nan],
    ...                       "declared_area_hm2": [2.1, 3.0, np.nan]})
    >>> area, source = site_area_hm2(frame)
    >>> area.tolist()[:2], source.tolist()
    ([2.0, 3.0], ['geometry', 'declared', None])
    """
    n = len(sites)

    def column(name: str) -> np.ndarray:
        if name not in sites.columns:
            return np.full(n, np.nan)
        return pd.to_numeric(sites[name], errors="coerce").to_numpy(dtype=float)

    geometry, declared = column("area_hm2"), column("declared_area_hm2")
    has_geometry, has_declared = np.isfinite(geometry), np.isfinite(declared)
    area = np.where(has_geometry, geometry, declared)
    if "geometry" in sites.columns:
        # a site without boundary (a point register's centre point) carries its declared area
        # in area_hm2 too: it is the declared one (restora.inventory.geometry.area_basis)
        from restora.inventory.geometry import has_boundary

        has_geometry &= has_boundary(sites["geometry"].to_numpy(dtype=object))
        area = np.where(has_geometry, geometry, np.where(has_declared, declared, geometry))
    source = np.full(n, None, dtype=object)
    source[has_declared] = DECLARED
    source[has_geometry] = FROM_GEOMETRY
    return area, source
