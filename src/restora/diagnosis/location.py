"""Location of each mine from context layers: distance to towns and roads, people nearby.

A mine is located at the area-weighted centroid of its sites. Context layers are plain shapely
arrays in one projected CRS (metres), e.g. the demo county's EPSG:4547: towns as points with a
``population``, roads as lines, planning zones as polygons. Reading the layers from files is the
caller's job (the CLI); the functions here are pure.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely

from restora.inventory.geometry import STORAGE_CRS, reproject


def mine_points(sites: pd.DataFrame, crs: str, sites_crs: str = STORAGE_CRS) -> pd.DataFrame:
    """Area-weighted centroid of each mine's sites, in ``crs``.

    Parameters
    ----------
    sites : DataFrame
        The register's ``sites`` table with ``mine_id`` and ``geometry`` (shapely polygons).
    crs : str
        The projected CRS of the result (metres), e.g. ``"EPSG:4547"``.
    sites_crs : str
        The CRS of the sites' geometries (the register stores lon/lat, EPSG:4326).

    Returns
    -------
    DataFrame
        ``mine_id``, ``x`` [m], ``y`` [m], ``geometry`` (shapely Point), one row per mine that
        has at least one site with a non-empty geometry.

    Notes
    -----
    x̄ = Σ Aᵢ xᵢ / Σ Aᵢ over the mine's sites, with Aᵢ the site's area and xᵢ its centroid in
    ``crs`` (the centroid of the union of non-overlapping polygons). A mine whose sites all have
    zero area falls back to the plain mean of the centroids.
    """
    geoms = np.asarray(sites["geometry"].to_numpy(dtype=object), dtype=object)
    ok = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    geoms = reproject(geoms[ok], sites_crs, crs)
    cent = shapely.centroid(geoms)
    frame = pd.DataFrame(
        {
            "mine_id": sites["mine_id"].to_numpy(dtype=object)[ok],
            "a": shapely.area(geoms),
            "x": shapely.get_x(cent),
            "y": shapely.get_y(cent),
        }
    )
    zero = frame.groupby("mine_id")["a"].transform("sum") <= 0
    frame.loc[zero, "a"] = 1.0
    frame["ax"] = frame["a"] * frame["x"]
    frame["ay"] = frame["a"] * frame["y"]
    g = frame.groupby("mine_id", sort=False)[["a", "ax", "ay"]].sum()
    out = pd.DataFrame(
        {"mine_id": g.index.to_numpy(dtype=object), "x": g["ax"] / g["a"], "y": g["ay"] / g["a"]}
    ).reset_index(drop=True)
    out["geometry"] = shapely.points(out["x"].to_numpy(), out["y"].to_numpy())
    return out


def nearest_distance_m(points: np.ndarray, features: np.ndarray) -> np.ndarray:
    """Distance [m] from each point to the nearest feature (NaN when there are no features).

    Parameters
    ----------
    points : array of shapely Point
        In a projected CRS [m].
    features : array of shapely geometries
        Points, lines or polygons in the same CRS.
    """
    pts = np.asarray(points, dtype=object)
    feats = np.asarray(features, dtype=object)
    feats = feats[~(shapely.is_missing(feats) | shapely.is_empty(feats))] if len(feats) else feats
    out = np.full(len(pts), np.nan)
    if len(pts) == 0 or len(feats) == 0:
        return out
    tree = shapely.STRtree(feats)
    (ip, _), dist = tree.query_nearest(pts, return_distance=True, all_matches=False)
    out[ip] = dist
    return out


def population_within_m(
    points: np.ndarray, towns: np.ndarray, population: np.ndarray, radius_m: float
) -> np.ndarray:
    """People [person] living in the towns within ``radius_m`` [m] of each point.

    Notes
    -----
    P(p) = Σ population(t) over towns t with distance(p, t) ≤ radius_m.
    """
    pts = np.asarray(points, dtype=object)
    tw = np.asarray(towns, dtype=object)
    pop = np.nan_to_num(np.asarray(population, dtype=float), nan=0.0)
    out = np.zeros(len(pts))
    if len(pts) == 0 or len(tw) == 0:
        return out
    tree = shapely.STRtree(tw)
    ip, it = tree.query(pts, predicate="dwithin", distance=float(radius_m))
    np.add.at(out, ip, pop[it])
    return out


def overlap_share(geoms: np.ndarray, zones: np.ndarray) -> np.ndarray:
    """Share (0–1) of each polygon's area that lies inside the union of ``zones``.

    Both arrays in the same projected CRS. A point or a zero-area geometry scores 1 when it
    intersects a zone, else 0.
    """
    g = np.asarray(geoms, dtype=object)
    z = np.asarray(zones, dtype=object)
    out = np.zeros(len(g))
    if len(g) == 0 or len(z) == 0:
        return out
    tree = shapely.STRtree(z)
    ig, iz = tree.query(g, predicate="intersects")
    for i in np.unique(ig):
        zone = shapely.union_all(z[iz[ig == i]])
        area = shapely.area(g[i])
        out[i] = shapely.area(shapely.intersection(g[i], zone)) / area if area > 0 else 1.0
    return out
