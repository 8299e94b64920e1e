"""Geometries of the report's map, as plain JSON (projected coordinates, simplified)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import shapely


def _coords(geom: Any, tolerance_m: float) -> Any:
    g = shapely.simplify(geom, tolerance_m, preserve_topology=True)
    return shapely.geometry.mapping(g)


def map_data(
    sites: pd.DataFrame,
    context: dict[str, Any],
    mine_ids: Sequence[str],
    *,
    tolerance_m: float = 20.0,
) -> dict[str, Any] | None:
    """Site polygons of the project's mines, the county boundary and towns, in the context CRS.

    Parameters
    ----------
    sites : pandas.DataFrame
        The register's sites (``site_id, mine_id, kind, geometry`` in lon/lat).
    context : dict
        Context layers (:func:`restora.diagnosis.context_io.read_context`), with ``crs``.
    mine_ids : sequence of str
        The project's mines (other mines are drawn as grey dots).
    tolerance_m : float
        Simplification tolerance [m] (Douglas-Peucker, topology kept).

    Returns
    -------
    dict or None
        GeoJSON-like geometries ``{"crs", "sites", "sites_without_boundary",
        "other_mines", "county_boundary", "towns"}``; None without a projected context CRS.
        A site of a point register has no boundary: its geometry is its centre point,
        ``"boundary": false``, and its id is listed in ``sites_without_boundary``.
    """
    if "crs" not in context or "geometry" not in sites.columns:
        return None
    from restora.inventory.geometry import STORAGE_CRS, has_boundary, reproject

    geoms = reproject(sites["geometry"].to_numpy(dtype=object), STORAGE_CRS, context["crs"])
    bounded = has_boundary(geoms)
    mine = sites["mine_id"].to_numpy(dtype=object)
    mask = np.isin(mine, list(mine_ids))
    out: dict[str, Any] = {
        "crs": context["crs"],
        "sites": [
            {
                "site_id": sid,
                "mine_id": mid,
                "kind": kind,
                "geometry": _coords(g, tolerance_m),
                "boundary": bool(b),
            }
            for sid, mid, kind, g, b in zip(
                sites["site_id"][mask],
                mine[mask],
                sites["kind"][mask],
                geoms[mask],
                bounded[mask],
                strict=True,
            )
        ],
        "sites_without_boundary": [
            str(sid) for sid, b in zip(sites["site_id"][mask], bounded[mask], strict=True) if not b
        ],
        "other_mines": [],
        "county_boundary": None,
        "towns": [],
    }
    others = pd.DataFrame({"mine_id": mine[~mask], "c": shapely.centroid(geoms[~mask])})
    for mid, grp in others.groupby("mine_id"):
        c = shapely.centroid(shapely.union_all(grp["c"].to_numpy()))
        out["other_mines"].append({"mine_id": mid, "x": float(c.x), "y": float(c.y)})
    if "county_boundary" in context:
        b = shapely.union_all(context["county_boundary"].geometry.to_numpy())
        out["county_boundary"] = _coords(b, tolerance_m * 10)
    if "towns" in context:
        t = context["towns"]
        names = t["name"] if "name" in t.columns else pd.Series([""] * len(t))
        out["towns"] = [
            {"name": str(n), "x": float(g.x), "y": float(g.y)}
            for n, g in zip(names, t.geometry, strict=True)
        ]
    return out
