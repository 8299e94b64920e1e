"""Gradient zoning of a site: interpolate soil samples, classify cells, dissolve into zones.

The "pollution gradient treatment" approach (分级分区治理): the site polygon (projected CRS, metres)
is covered by square cells; each pollutant's concentration (and, for GB 15618, the soil pH) is
interpolated to the cell centres by inverse distance weighting or ordinary kriging; every cell is
classified against the standard (:func:`restora.diagnosis.soil.classify`) and given a treatment
zone class by the rules of ``remediation/zone-classes``; adjacent cells of the same zone class
are dissolved into zone polygons clipped to the site, zones below the minimum zone area
(``remediation/min-zone-area``) join a neighbour without ever lowering the class of polluted
ground, and each zone lists the candidate techniques of ``remediation/techniques`` for its
class, its metals above screening, the land use after and the depth. Results below detection
are honoured: a ``<DL`` result whose limit exceeds the screening value is left out of the
interpolation and flags its zone.

Every caller (``restora diagnose zones``, ``restora plan make``, the appraisal) zones a
register's sites through :func:`restora.diagnosis.site_zones.zone_sites`, which projects to
China Albers and calls :func:`zone_site`.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import shapely
from numpy.typing import ArrayLike, NDArray
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from restora import refdata
from restora.diagnosis.soil import (
    CLASSES,
    StandardValues,
    classify,
    load_standard,
    rule_code,
)
from restora.diagnosis.techniques import (
    ZONE_CLASSES,
    Catalogue,
    Technique,
    load_catalogue,
    load_zone_rules,
)
from restora.errors import InputError, RestoraError
from restora.inventory.geometry import equal_area_hm2
from restora.units import M2_PER_HM2

METHODS = ("idw", "ordinary_kriging")
DEFAULT_CELL_SIZE_M = 20.0
# Method settings of the interpolators (algorithm choices, not published coefficients):
# Shepard's (1968) inverse-distance weighting with the customary power 2; ordinary kriging
# needs enough samples to fit a variogram, below which it falls back to IDW.
IDW_POWER = 2.0
MIN_KRIGING_SAMPLES = 6
KRIGING_VARIOGRAM = "spherical"
_CHUNK = 4096
MIN_ZONE_AREA_TABLE = "remediation/min-zone-area"
# Relative tolerance of the minimum-area test: one full cell of exactly the minimum (20 m x 20 m
# against 400 m²) is not "below" it when float arithmetic gives 399.9999999999 m².
_AREA_RTOL = 1e-9
_GRID_RTOL = 1e-9  # of the number of cells across the site


def idw(
    x: ArrayLike,
    y: ArrayLike,
    z: ArrayLike,
    xq: ArrayLike,
    yq: ArrayLike,
    power: float = IDW_POWER,
) -> NDArray[np.float64]:
    """Inverse-distance-weighted interpolation (Shepard 1968).

    Parameters
    ----------
    x, y : array_like, shape (N,)
        Sample coordinates [m].
    z : array_like, shape (N,)
        Sample values [any unit].
    xq, yq : array_like, shape (K,)
        Query coordinates [m].
    power : float
        Distance exponent p [dimensionless]; 2 by default.

    Returns
    -------
    ndarray, shape (K,)
        Interpolated values [unit of z]; a query on a sample takes the sample's value.

    Notes
    -----
    .. math:: \\hat z(q) = \\frac{\\sum_i d_i^{-p} z_i}{\\sum_i d_i^{-p}},\\quad
              d_i = \\lVert q - s_i \\rVert

    References
    ----------
    Shepard D. (1968) A two-dimensional interpolation function for irregularly-spaced data.
    Proc. 23rd ACM National Conference, 517-524. doi:10.1145/800186.810616

    Examples
    --------
    >>> float(idw([0, 10, 0, 10], [0, 0, 10, 10], [1, 2, 3, 6], [5], [5])[0])  # equidistant
    3.0
    """
    xs, ys, zs = (np.asarray(a, dtype=np.float64) for a in (x, y, z))
    xq_a, yq_a = np.asarray(xq, dtype=np.float64), np.asarray(yq, dtype=np.float64)
    if xs.size == 0:
        raise ValueError("no samples to interpolate from")
    out = np.empty(xq_a.size)
    for start in range(0, xq_a.size, _CHUNK):
        sl = slice(start, start + _CHUNK)
        d2 = (xq_a[sl, None] - xs[None, :]) ** 2 + (yq_a[sl, None] - ys[None, :]) ** 2
        exact = d2 == 0.0
        with np.errstate(divide="ignore"):
            w = np.where(exact, 0.0, d2 ** (-power / 2.0))
        with np.errstate(invalid="ignore"):  # rows on a sample: set just below
            est = (w @ zs) / w.sum(axis=1)
        hit = exact.any(axis=1)
        if hit.any():
            est[hit] = zs[exact[hit].argmax(axis=1)]
        out[sl] = est
    return out


def ordinary_kriging(
    x: ArrayLike,
    y: ArrayLike,
    z: ArrayLike,
    xq: ArrayLike,
    yq: ArrayLike,
    variogram_model: str = KRIGING_VARIOGRAM,
) -> NDArray[np.float64]:
    """Ordinary kriging with a fitted variogram (pykrige).

    Parameters
    ----------
    x, y : array_like, shape (N,)
        Sample coordinates [m].
    z : array_like, shape (N,)
        Sample values [any unit].
    xq, yq : array_like, shape (K,)
        Query coordinates [m].
    variogram_model : str
        pykrige variogram model (``spherical`` by default), fitted to the samples.

    Returns
    -------
    ndarray, shape (K,)

    Raises
    ------
    ValueError
        When the variogram cannot be fitted (constant values, degenerate layout) or the
        estimates are not finite.

    References
    ----------
    Matheron G. (1963) Principles of geostatistics. Economic Geology 58(8):1246-1266.
    doi:10.2113/gsecongeo.58.8.1246. Murphy B.S. et al., PyKrige, doi:10.5281/zenodo.3738604.
    """
    from pykrige.ok import OrdinaryKriging

    xs, ys, zs = (np.asarray(a, dtype=np.float64) for a in (x, y, z))
    if np.ptp(zs) == 0:
        raise ValueError("all sample values are equal: no variogram to fit")
    ok = OrdinaryKriging(xs, ys, zs, variogram_model=variogram_model)
    params = np.asarray(ok.variogram_model_parameters, dtype=np.float64)
    if not np.all(np.isfinite(params)) or params[0] <= 0:
        raise ValueError(f"variogram fit failed (parameters {params.tolist()})")
    est, _ = ok.execute(
        "points", np.asarray(xq, dtype=np.float64), np.asarray(yq, dtype=np.float64)
    )
    out = np.asarray(est, dtype=np.float64)
    if not np.all(np.isfinite(out)):
        raise ValueError("kriging estimates are not finite")
    return out


def interpolate(
    x: ArrayLike,
    y: ArrayLike,
    z: ArrayLike,
    xq: ArrayLike,
    yq: ArrayLike,
    method: str = "idw",
    *,
    power: float = IDW_POWER,
    name: str = "value",
) -> tuple[NDArray[np.float64], str, str | None]:
    """Interpolate with ``method``, falling back from kriging to IDW when kriging cannot run.

    Coordinates are centred on the samples' mean first (large projected coordinates make the
    kriging system ill-conditioned). Returns ``(values, method_used, warning or None)``.
    """
    if method not in METHODS:
        raise InputError(f"unknown method {method!r}: use {' or '.join(METHODS)}", field="method")
    xs, ys = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    x0, y0 = float(xs.mean()), float(ys.mean())
    args = (xs - x0, ys - y0, z, np.asarray(xq) - x0, np.asarray(yq) - y0)
    if method == "ordinary_kriging":
        if xs.size < MIN_KRIGING_SAMPLES:
            return (
                idw(*args, power=power),
                "idw",
                f"{name}: {xs.size} sample(s) < {MIN_KRIGING_SAMPLES}: ordinary kriging "
                "replaced by IDW",
            )
        try:
            return ordinary_kriging(*args), "ordinary_kriging", None
        except (ValueError, np.linalg.LinAlgError) as exc:
            return (
                idw(*args, power=power),
                "idw",
                f"{name}: ordinary kriging failed ({exc}); IDW used",
            )
    return idw(*args, power=power), "idw", None


@dataclass(frozen=True)
class Zone:
    """A treatment zone: adjacent cells of one zone class dissolved, clipped to the site.

    ``rules``: the zone rule code(s) of its cells, the minimum-area rule when it took in ground
    of another class, then the standard's rule of each metal above its screening value
    somewhere in the zone (``...-INTERVENE`` if above intervention). ``reassigned_hm2`` is the
    area of that ground [hm²]; ``n_samples`` counts the samples lying in (or nearest to) the
    zone, ``below_detection`` those of each metal reported below detection, and
    ``indeterminate_metals`` the metals with a sample whose detection limit exceeds the
    screening value (left out of the interpolation: a lower detection limit is needed).
    """

    zone_id: str
    zone_class: str
    rules: tuple[str, ...]
    geometry: shapely.Geometry
    area_hm2: float
    n_cells: int
    standard_class: str
    nemerow_max: float
    max_index: dict[str, float]
    governing_metal: str | None
    exceeding_metals: tuple[str, ...]
    techniques: tuple[Technique, ...]
    reassigned_hm2: float = 0.0
    n_samples: int = 0
    below_detection: dict[str, int] = field(default_factory=dict)
    indeterminate_metals: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready zone (geometry as WKT in the site's CRS)."""
        return {
            "zone_id": self.zone_id,
            "zone_class": self.zone_class,
            "rules": list(self.rules),
            "area_hm2": self.area_hm2,
            "n_cells": self.n_cells,
            "reassigned_hm2": self.reassigned_hm2,
            "standard_class": self.standard_class,
            "nemerow_max": self.nemerow_max,
            "max_index": self.max_index,
            "governing_metal": self.governing_metal,
            "exceeding_metals": list(self.exceeding_metals),
            "n_samples": self.n_samples,
            "below_detection": self.below_detection,
            "indeterminate_metals": list(self.indeterminate_metals),
            "techniques": [t.as_dict() for t in self.techniques],
            "geometry_wkt": shapely.to_wkt(self.geometry, rounding_precision=3),
        }


@dataclass(frozen=True)
class ZoningResult:
    """Zones of a site with the method actually used, warnings and tables.

    ``merges`` lists what the minimum zone area changed: ``kind`` (``merged``: a small zone
    joined a neighbour of equal or worse class; ``enlarged``: a polluted zone with only cleaner
    neighbours took in their most polluted adjacent cells; ``joined``: a detached small part
    joined the nearest zone of equal or worse class; ``kept``: a small zone that had to stay),
    ``area_m2`` [m²] of the ground concerned, ``from_class`` and ``into_class``.
    """

    zones: tuple[Zone, ...]
    standard: str
    method_requested: str
    method_used: dict[str, str]
    cell_size_m: float
    site_area_hm2: float
    land: str
    land_use_after: str | None
    warnings: tuple[str, ...]
    tables_used: tuple[dict[str, Any], ...]
    cells: dict[str, NDArray[Any]] = field(repr=False, default_factory=dict)
    min_zone_area_m2: float = 0.0
    merges: tuple[dict[str, Any], ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready result."""
        used = set(self.method_used.values())
        return {
            "standard": self.standard,
            "method_requested": self.method_requested,
            "method": used.pop() if len(used) == 1 else "mixed",
            "method_used": self.method_used,
            "cell_size_m": self.cell_size_m,
            "min_zone_area_m2": self.min_zone_area_m2,
            "site_area_hm2": self.site_area_hm2,
            "land": self.land,
            "land_use_after": self.land_use_after,
            "zones": [z.as_dict() for z in self.zones],
            "merges": list(self.merges),
            "warnings": list(self.warnings),
            "tables_used": list(self.tables_used),
        }


@dataclass(frozen=True)
class MinZoneArea:
    """The minimum zone area in force for a standard: value [m²], rule code, land group."""

    area_m2: float
    rule_code: str
    land_group: str
    table: refdata.RefTable


def load_min_zone_area(
    standard: str, on: dt.date | str | None = None, region: str | None = None
) -> MinZoneArea:
    """The minimum area of a zone for sites zoned under ``standard``.

    Parameters
    ----------
    standard : {"gb15618", "gb36600"}
        The soil standard the site is zoned under.
    on, region
        Date and 6-digit region code of the reference table.

    Returns
    -------
    MinZoneArea
        ``area_m2`` [m²]: 400 for GB 15618 (agricultural land), 200 for GB 36600
        (construction land) in the shipped table; the rule code of merged zones; the land group.

    References
    ----------
    TD/T 1055-2019 第三次全国国土调查技术规程, minimum mapped patch (最小上图图斑面积).
    """
    table = refdata.get(MIN_ZONE_AREA_TABLE, on=on, region=region)
    group = table.data["standard_land"].get(standard)
    if group is None or group not in table.data["min_area_m2"]:
        raise RestoraError(f"{table.name}: no minimum zone area for standard {standard!r}")
    return MinZoneArea(
        float(table.data["min_area_m2"][group]), str(table.data["rule_code"]), str(group), table
    )


def grid_cells(
    site: shapely.Geometry, cell_size: float
) -> tuple[NDArray[np.object_], NDArray[np.float64], NDArray[np.float64]]:
    """Square cells over the site, clipped to it: (cells, centre x [m], centre y [m]).

    Only the polygonal part of a cell's intersection with the site is kept; where the site cuts
    a grid square into several pieces, each piece is a cell of its own (with the square's
    centre), so that every cell is one polygon and adjacency is by shared edges.
    """
    cells, cx, cy, _, _ = _grid(site, cell_size)
    return cells, cx, cy


def _grid(
    site: shapely.Geometry, cell_size: float
) -> tuple[
    NDArray[np.object_],
    NDArray[np.float64],
    NDArray[np.float64],
    NDArray[np.intp],
    NDArray[np.intp],
]:
    """:func:`grid_cells` with each cell's column and row in the grid."""
    minx, miny, maxx, maxy = site.bounds
    # an extent a hair over a whole number of cells (a polygon that went through lon/lat and
    # back) widens the last column/row instead of adding one nanometres wide
    nx = max(1, math.ceil((maxx - minx) / cell_size * (1.0 - _GRID_RTOL)))
    ny = max(1, math.ceil((maxy - miny) / cell_size * (1.0 - _GRID_RTOL)))
    ix, iy = (g.ravel() for g in np.meshgrid(np.arange(nx), np.arange(ny)))
    x0 = minx + ix * cell_size
    y0 = miny + iy * cell_size
    x1 = np.where(
        ix == nx - 1, np.maximum(maxx, minx + nx * cell_size), minx + (ix + 1) * cell_size
    )
    y1 = np.where(
        iy == ny - 1, np.maximum(maxy, miny + ny * cell_size), miny + (iy + 1) * cell_size
    )
    centre_x = minx + (ix + 0.5) * cell_size
    centre_y = miny + (iy + 0.5) * cell_size
    boxes = shapely.box(x0, y0, x1, y1)
    shapely.prepare(site)
    touching = np.flatnonzero(shapely.intersects(site, boxes))
    clipped = shapely.intersection(boxes[touching], site)
    parts, owner = shapely.get_parts(clipped, return_index=True)
    keep = (shapely.get_type_id(parts) == 3) & (shapely.area(parts) > 0)  # polygons with area
    sq = touching[owner[keep]]
    return (
        parts[keep],
        centre_x[sq],
        centre_y[sq],
        ix[sq].astype(np.intp),
        iy[sq].astype(np.intp),
    )


def cell_adjacency(
    cells: NDArray[np.object_],
    col: ArrayLike | None = None,
    row: ArrayLike | None = None,
    cell_size: float | None = None,
) -> tuple[NDArray[np.intp], NDArray[np.intp], NDArray[np.float64]]:
    """Pairs of cells sharing an edge: (i, j, shared boundary length [m]) with i < j.

    Cells touching at a corner only are not adjacent (as in a dissolve, where they make
    separate polygons). With the cells' grid ``col``, ``row`` and ``cell_size`` only
    neighbouring squares are compared and two whole squares share ``cell_size``; otherwise
    every pair of intersecting cells is measured.
    """
    if col is None or row is None or cell_size is None:
        tree = shapely.STRtree(cells)
        i, j = tree.query(cells, predicate="intersects")
        keep = i < j
        i, j = i[keep], j[keep]
    else:
        c, r = np.asarray(col, dtype=np.int64), np.asarray(row, dtype=np.int64)
        width = int(c.max()) + 2
        key = r * width + c
        order = np.argsort(key, kind="stable")
        sk = key[order]
        pairs_i, pairs_j = [], []
        for step in (1, width):  # the square to the right, the square above
            lo = np.searchsorted(sk, key + step, side="left")
            hi = np.searchsorted(sk, key + step, side="right")
            count = hi - lo
            src = np.repeat(np.arange(key.size), count)
            dst = order[np.repeat(lo, count) + _ranges(count)]
            pairs_i.append(src)
            pairs_j.append(dst)
        a, b = np.concatenate(pairs_i), np.concatenate(pairs_j)
        i, j = np.minimum(a, b), np.maximum(a, b)
    shared = np.empty(i.size)
    if cell_size is not None and col is not None:
        full = np.isclose(shapely.area(cells), cell_size**2, rtol=1e-9, atol=0.0)
        whole = full[i] & full[j]
        shared[whole] = cell_size
    else:
        whole = np.zeros(i.size, dtype=bool)
    cut = ~whole
    shared[cut] = shapely.length(
        shapely.intersection(shapely.boundary(cells[i[cut]]), shapely.boundary(cells[j[cut]]))
    )
    edge = shared > 0
    return i[edge].astype(np.intp), j[edge].astype(np.intp), shared[edge].astype(np.float64)


def _ranges(count: NDArray[np.intp]) -> NDArray[np.intp]:
    """0..count[k]-1 for each k, concatenated."""
    if not count.size or not count.sum():
        return np.zeros(0, dtype=np.intp)
    ends = np.cumsum(count)
    return np.arange(ends[-1]) - np.repeat(ends - count, count)


@dataclass(frozen=True)
class Dissolved:
    """Cells dissolved into zones: ``label`` per cell (0..K-1), ``zone_class`` per label.

    ``events``: what the minimum area changed (see :class:`ZoningResult`); ``label`` order is
    arbitrary (the caller numbers the zones).
    """

    label: NDArray[np.intp]
    zone_class: NDArray[np.intp]
    events: tuple[dict[str, Any], ...]


def _components(n: int, i: NDArray[np.intp], j: NDArray[np.intp]) -> NDArray[np.intp]:
    graph = coo_matrix((np.ones(i.size), (i, j)), shape=(n, n))
    _, label = connected_components(graph, directed=False)
    return np.asarray(label, dtype=np.intp)


def dissolve_cells(
    cell_class: ArrayLike,
    cell_area: ArrayLike,
    pairs: tuple[NDArray[np.intp], NDArray[np.intp], NDArray[np.float64]],
    *,
    min_area: float,
    priority: ArrayLike | None = None,
    cells: NDArray[np.object_] | None = None,
) -> Dissolved:
    """Dissolve classed cells into zones, none smaller than ``min_area`` but the whole site.

    Parameters
    ----------
    cell_class : array_like of int, shape (K,)
        Treatment class of each cell (index into ``ZONE_CLASSES``: higher is worse).
    cell_area : array_like, shape (K,)
        Equal-area area of each cell [m²].
    pairs : (i, j, length)
        Cells sharing an edge and the shared length [m] (:func:`cell_adjacency`).
    min_area : float
        Minimum zone area [m²] (``remediation/min-zone-area``); 0 keeps every zone.
    priority : array_like, shape (K,), optional
        Order in which a polluted zone takes in adjacent cells when it must grow (highest
        first; the Nemerow index of the cells); NaN counts as lowest.
    cells : array of shapely Polygons, optional
        The cells, to find the nearest zone of a detached small part of the site.

    Returns
    -------
    Dissolved

    Notes
    -----
    Zones are the connected components (shared edges) of cells of one class. Then, smallest
    first, each zone Z with area :math:`A_Z < A_{min}` (relative tolerance 1e-9) is resolved:

    1. Among its neighbours N of equal or worse class (:math:`c_N \\ge c_Z`), Z joins the one
       with the longest shared boundary :math:`L_{ZN}` (ties: larger, then first). The merged
       zone keeps :math:`c_N`, so no ground is ever given a cleaner class than its own.
    2. If every neighbour is cleaner, Z is a small hotspot: it takes in, one at a time, the
       adjacent cell of highest ``priority`` (the most polluted ground around it), which takes
       :math:`c_Z`, until :math:`A_Z \\ge A_{min}` or Z touches a zone of equal or worse class
       (then step 1 applies). The extra ground treated is at most one cell beyond
       :math:`A_{min} - A_Z`.
    3. A zone without neighbours that is not the whole site (a detached part of a multi-part
       site) joins the nearest zone of equal or worse class; if there is none, it is kept.

    A zone smaller than the minimum remains only when it is the whole site, or a detached part
    more polluted than every other zone (``kept`` events say which).
    """
    cls = np.asarray(cell_class, dtype=np.intp)
    area = np.asarray(cell_area, dtype=np.float64)
    n = cls.size
    pi, pj, plen = (np.asarray(a) for a in pairs)
    pi, pj = pi.astype(np.intp), pj.astype(np.intp)
    prio = (
        np.zeros(n)
        if priority is None
        else np.nan_to_num(np.asarray(priority, dtype=np.float64), nan=-np.inf)
    )
    if n == 0:
        return Dissolved(np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.intp), ())
    same = cls[pi] == cls[pj]
    label = _components(n, pi[same], pj[same])
    zcls = np.zeros(label.max() + 1, dtype=np.intp)
    zcls[label] = cls
    adj = coo_matrix((np.ones(2 * pi.size), (np.r_[pi, pj], np.r_[pj, pi])), shape=(n, n)).tocsr()
    link_i: list[int] = []  # detached parts joined to a zone across a gap
    link_j: list[int] = []
    total = float(area.sum())
    threshold = min_area * (1.0 - _AREA_RTOL)
    events: list[dict[str, Any]] = []
    for _ in range(4 * n + 4):  # each step merges zones or raises a cell's class: it ends
        nz = int(label.max()) + 1
        zarea = np.bincount(label, weights=area, minlength=nz)
        first = np.full(nz, n, dtype=np.intp)
        np.minimum.at(first, label, np.arange(n))
        small = np.flatnonzero(zarea < threshold)
        if not small.size:
            break
        li, lj = label[pi], label[pj]
        cross = li != lj
        acted = False
        for a in small[np.lexsort((first[small], zarea[small]))]:
            touch = cross & ((li == a) | (lj == a))
            other = np.where(li[touch] == a, lj[touch], li[touch])
            shared = np.bincount(other, weights=plen[touch], minlength=nz)
            nbrs = np.flatnonzero(shared > 0)
            if nbrs.size:
                ok = nbrs[zcls[nbrs] >= zcls[a]]
                if ok.size:
                    b = ok[np.lexsort((first[ok], -zarea[ok], -shared[ok]))[0]]
                    events.append(_event("merged", zarea[a], zcls[a], zcls[b]))
                    label[label == a] = b
                else:
                    grown = _grow(a, label, zcls, area, prio, adj, threshold - zarea[a])
                    events.append(_event("enlarged", grown, zcls[a], zcls[a]))
                acted = True
                break
            others = np.flatnonzero((zcls >= zcls[a]) & (np.arange(nz) != a) & (zarea > 0))
            if zarea[a] >= total * (1.0 - _AREA_RTOL) or not others.size or cells is None:
                continue  # the whole site, or more polluted than every other zone: kept
            part = shapely.union_all(cells[label == a])
            cand = np.flatnonzero(np.isin(label, others))
            dist = shapely.distance(part, cells[cand])
            k = cand[np.lexsort((cand, dist))[0]]
            events.append(_event("joined", zarea[a], zcls[a], zcls[label[k]]))
            link_i.append(int(first[a]))
            link_j.append(int(k))
            label[label == a] = label[k]
            acted = True
            break
        if not acted:
            break
        same = label[pi] == label[pj]
        li_, lj_ = np.asarray(link_i, dtype=np.intp), np.asarray(link_j, dtype=np.intp)
        kept_link = label[li_] == label[lj_]  # a link whose end another zone took is dropped
        new = _components(n, np.r_[pi[same], li_[kept_link]], np.r_[pj[same], lj_[kept_link]])
        znew = np.zeros(new.max() + 1, dtype=np.intp)
        znew[new] = zcls[label]
        label, zcls = new, znew
    nz = int(label.max()) + 1
    zarea = np.bincount(label, weights=area, minlength=nz)
    for a in np.flatnonzero(zarea < threshold):
        events.append(_event("kept", zarea[a], zcls[a], zcls[a]))
    return Dissolved(label, zcls, tuple(events))


def _event(kind: str, area_m2: float, from_class: int, into_class: int) -> dict[str, Any]:
    return {
        "kind": kind,
        "area_m2": float(area_m2),
        "from_class": ZONE_CLASSES[int(from_class)],
        "into_class": ZONE_CLASSES[int(into_class)],
    }


def _grow(
    a: int,
    label: NDArray[np.intp],
    zcls: NDArray[np.intp],
    area: NDArray[np.float64],
    prio: NDArray[np.float64],
    adj: Any,
    missing: float,
) -> float:
    """Give zone ``a`` its most polluted adjacent cells until ``missing`` m² are added."""
    members = label == a
    grown = 0.0
    while grown < missing:
        idx = np.flatnonzero(members)
        near = np.unique(adj[idx].indices)
        near = near[~members[near]]
        if not near.size or np.any(zcls[label[near]] >= zcls[a]):
            break  # nothing left to take, or a zone it may join: merged on the next pass
        c = near[np.lexsort((near, -prio[near]))[0]]
        members[c] = True
        label[c] = a
        grown += float(area[c])
    return grown


def zone_site(
    site: shapely.Geometry,
    x: ArrayLike,
    y: ArrayLike,
    concentration: ArrayLike,
    pollutants: Sequence[str],
    *,
    land: str | int,
    ph: ArrayLike | None = None,
    standard: str = "gb15618",
    cell_size: float = DEFAULT_CELL_SIZE_M,
    method: str = "idw",
    power: float = IDW_POWER,
    crs: str | None = None,
    land_use_after: str | None = None,
    depth_m: float | None = None,
    censored: ArrayLike | None = None,
    detection_limit: ArrayLike | None = None,
    sample_ids: Sequence[Any] | None = None,
    min_zone_area_m2: float | None = None,
    on: dt.date | str | None = None,
    region: str | None = None,
    values: StandardValues | None = None,
    catalogue: Catalogue | None = None,
) -> ZoningResult:
    """Zone a site by pollution gradient and attach candidate techniques.

    Parameters
    ----------
    site : shapely Polygon or MultiPolygon
        The site, in a projected CRS with coordinates in metres.
    x, y : array_like, shape (N,)
        Sample coordinates in the site's CRS [m].
    concentration : array_like, shape (N, M)
        Concentrations [mg/kg]; NaN where not measured (left out of that pollutant's
        interpolation). A result below detection holds its substitute
        (``soil/indices/non-detect``: DL/2 for ``<DL``, 0 for ``ND``).
    pollutants : sequence of str, length M
        Pollutant codes of the columns.
    land : str or int
        The site's land use (GB 15618: paddy, orchard, other) or land class (GB 36600: 1, 2).
    ph : array_like, shape (N,), optional
        Soil pH at the samples [pH units]; required for GB 15618 (interpolated like the metals).
    standard : {"gb15618", "gb36600"}
    cell_size : float
        Cell side [m]; 20 by default.
    method : {"idw", "ordinary_kriging"}
        Interpolation; kriging falls back to IDW (with a warning) with fewer than
        ``MIN_KRIGING_SAMPLES`` samples or when the variogram cannot be fitted.
    power : float
        IDW distance exponent [dimensionless].
    crs : str, optional
        The site's CRS; when given, areas are computed in the China Albers equal-area
        projection (exactly planar when ``crs`` is China Albers), otherwise planar.
    land_use_after : {"agricultural", "ecological", "construction"}, optional
        Intended land use after treatment (filters techniques).
    depth_m : float, optional
        Depth of contamination to treat [m] (filters techniques).
    censored : array_like of bool, shape (N, M), optional
        True where a result was reported below detection (``<DL`` or ``ND``).
    detection_limit : array_like, shape (N, M), optional
        The stated detection limit of each ``<DL`` result [mg/kg]; NaN elsewhere (a finite
        value marks the result censored).
    sample_ids : sequence, length N, optional
        Names of the samples for the warnings (default: 1-based row numbers).
    min_zone_area_m2 : float, optional
        Minimum zone area [m²]; default from ``remediation/min-zone-area`` for the standard;
        0 keeps every zone.
    on, region
        Date [date] and 6-digit region code of the reference tables.

    Returns
    -------
    ZoningResult
        Zones ordered from most to least severe, then by area.

    Notes
    -----
    Below detection: a ``<DL`` result with DL at or below the screening value S at the sample
    (its own pH and the site's land) is certainly below S and enters the interpolation at its
    substitute; one with :math:`DL > S` cannot be placed against S (*indeterminate*, as in
    :func:`restora.diagnosis.soil.classify`): it is left out of that metal's interpolation, as
    a metal not measured would be, and the zone it lies in lists the metal in
    ``indeterminate_metals`` with a warning. ``ND`` without a limit keeps its substitute.

    Each cell c gets :math:`\\hat C_{c,i}` (and :math:`\\widehat{pH}_c`) by the chosen
    interpolator, then the standard's class :math:`k_c` and Nemerow index :math:`P_{N,c}`
    (:func:`restora.diagnosis.soil.classify`); the zone class is the first rule of
    ``remediation/zone-classes`` matching :math:`(k_c, \\mathrm{grade}(P_{N,c}))`. Cells are
    dissolved into zones by :func:`dissolve_cells` (minimum zone area, never a cleaner class).
    Zone area :math:`A = \\lvert \\bigcup_c c \\cap \\mathrm{site} \\rvert / 10^4` [hm²].

    References
    ----------
    TD/T 1055-2019 第三次全国国土调查技术规程 (minimum mapped patch). US EPA (2006) EPA QA/G-9S
    §4.7 (non-detects).
    """
    if site is None or site.is_empty or site.area <= 0:
        raise InputError("the site polygon is empty", field="geometry")
    if not site.is_valid:
        site = shapely.make_valid(site)
    if not cell_size > 0:
        raise InputError(f"cell size {cell_size} must be positive [m]", field="cell_size")
    vals = values if values is not None else load_standard(standard, on, region)
    cat = catalogue if catalogue is not None else load_catalogue(on, region)
    minimum = load_min_zone_area(vals.standard, on, region)
    min_area = minimum.area_m2 if min_zone_area_m2 is None else float(min_zone_area_m2)
    if not min_area >= 0:
        raise InputError(
            f"minimum zone area {min_zone_area_m2} must be 0 or more [m²]", field="min_zone_area"
        )
    xs, ys = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    conc = np.atleast_2d(np.asarray(concentration, dtype=np.float64))
    names = tuple(pollutants)
    if conc.shape != (xs.size, len(names)) or ys.size != xs.size:
        raise ValueError("x, y and concentration rows must match, one column per pollutant")
    if xs.size == 0:
        raise InputError("no samples to zone the site with")
    if not (np.all(np.isfinite(xs)) and np.all(np.isfinite(ys))):
        row = int(np.flatnonzero(~(np.isfinite(xs) & np.isfinite(ys)))[0]) + 1
        raise InputError("sample coordinates are missing", row=row, field="x/y")
    dl = (
        np.full(conc.shape, np.nan)
        if detection_limit is None
        else np.asarray(detection_limit, dtype=np.float64).reshape(conc.shape)
    )
    cens = (
        np.zeros(conc.shape, dtype=bool)
        if censored is None
        else np.asarray(censored, dtype=bool).reshape(conc.shape)
    ) | np.isfinite(dl)
    ids = (
        list(sample_ids) if sample_ids is not None else [f"sample {i + 1}" for i in range(xs.size)]
    )

    cells, cx, cy, grid_col, grid_row = _grid(site, cell_size)
    warnings: list[str] = []
    used: dict[str, str] = {}
    cell_ph = sample_ph = None
    if vals.standard == "gb15618":
        if ph is None:
            raise InputError("GB 15618 zoning needs the samples' pH", field="ph")
        ph_arr = np.asarray(ph, dtype=np.float64)
        ok = ~np.isnan(ph_arr)
        if not ok.any():
            raise InputError("no sample has a pH", field="ph")
        est, used["ph"], warn = interpolate(
            xs[ok], ys[ok], ph_arr[ok], cx, cy, method, power=power, name="ph"
        )
        cell_ph = np.clip(est, 0.0, 14.0)
        if warn:
            warnings.append(warn)
        # pH at the samples (own value, else IDW of the others) for their screening values
        sample_ph = np.where(ok, ph_arr, idw(xs[ok], ys[ok], ph_arr[ok], xs, ys, power=power))
    indeterminate = _indeterminate(conc, cens, dl, names, land, sample_ph, vals, on, region)

    cell_conc = np.full((cells.size, len(names)), np.nan)
    for j, p in enumerate(names):
        ok = ~np.isnan(conc[:, j]) & ~indeterminate[:, j]
        if not ok.any():
            why = (
                "every result is below a detection limit above screening"
                if (indeterminate[:, j].any())
                else "no measured sample"
            )
            warnings.append(f"{p}: {why}: not zoned")
            continue
        est, used[p], warn = interpolate(
            xs[ok], ys[ok], conc[ok, j], cx, cy, method, power=power, name=p
        )
        cell_conc[:, j] = np.clip(est, 0.0, None)  # kriging can undershoot below zero
        if warn:
            warnings.append(warn)
    zoned = [j for j, p in enumerate(names) if p in used]
    if not zoned:
        raise InputError("no pollutant has a measured sample")
    znames = tuple(names[j] for j in zoned)
    a = classify(
        cell_conc[:, zoned],
        znames,
        np.full(cells.size, str(land), dtype=object),
        cell_ph,
        values=vals,
        on=on,
        region=region,
    )
    rules = load_zone_rules(a.nemerow_grades.names, on=on, region=region)
    cell_zone, cell_rule = rules.classify(a.sample_class, a.nemerow_grade)
    cell_zone = np.asarray(cell_zone, dtype=np.intp)

    cell_area = shapely.area(cells) if crs is None else equal_area_hm2(cells, crs) * M2_PER_HM2
    dissolved = dissolve_cells(
        cell_zone,
        cell_area,
        cell_adjacency(cells, grid_col, grid_row, cell_size),
        min_area=min_area,
        priority=a.nemerow,
        cells=cells,
    )
    label = dissolved.label
    final = dissolved.zone_class[label]
    # each sample lies in (or nearest to) one cell, hence one zone
    sample_label = label[shapely.STRtree(cells).nearest(shapely.points(xs, ys))]

    zones: list[Zone] = []
    for k in range(int(label.max()) + 1):
        members = np.flatnonzero(label == k)
        raised = cell_zone[members] != final[members]  # ground given this zone's worse class
        at = sample_label == k
        zones.append(
            _zone(
                shapely.union_all(cells[members]),
                members,
                int(dissolved.zone_class[k]),
                a,
                cell_rule,
                cat,
                land_use_after,
                depth_m,
                crs,
                raised=raised,
                reassigned_hm2=float(cell_area[members][raised].sum()) / M2_PER_HM2,
                min_area_rule=minimum.rule_code,
                n_samples=int(at.sum()),
                below_detection={
                    p: int(cens[at, j].sum()) for j, p in enumerate(names) if cens[at, j].any()
                },
                indeterminate=tuple(p for j, p in enumerate(names) if indeterminate[at, j].any()),
            )
        )
    order = sorted(
        range(len(zones)),
        key=lambda i: (
            -ZONE_CLASSES.index(zones[i].zone_class),
            -zones[i].area_hm2,
            int(np.flatnonzero(label == i)[0]),
        ),
    )
    zone_id = np.empty(len(zones), dtype=object)
    for rank, i in enumerate(order):
        zone_id[i] = f"Z{rank + 1:02d}"
    zones = [replace(zones[i], zone_id=str(zone_id[i])) for i in order]
    for r, j in zip(*np.nonzero(indeterminate), strict=True):
        warnings.append(
            f"{ids[r]}: {names[j]} below a detection limit of {dl[r, j]:g} mg/kg, above its "
            f"screening value: left out of the {names[j]} interpolation; zone "
            f"{zone_id[sample_label[r]]} needs a lower detection limit"
        )
    warnings.extend(_merge_warnings(dissolved.events, min_area))
    site_area = _area_hm2(site, crs)
    return ZoningResult(
        zones=tuple(zones),
        standard=vals.standard,
        method_requested=method,
        method_used=used,
        cell_size_m=float(cell_size),
        site_area_hm2=site_area,
        land=str(land),
        land_use_after=land_use_after,
        warnings=tuple(warnings),
        tables_used=(
            *a.tables_used(),
            rules.table.provenance(),
            cat.table.provenance(),
            minimum.table.provenance(),
        ),
        cells={
            "x": cx,
            "y": cy,
            "zone_id": zone_id[label],
            "zone_class": np.array(ZONE_CLASSES, dtype=object)[final],
            "cell_class": np.array(ZONE_CLASSES, dtype=object)[cell_zone],
            "area_m2": cell_area,
            "standard_class": a.class_names(),
            "nemerow": a.nemerow,
            "ph": cell_ph if cell_ph is not None else np.full(cells.size, np.nan),
            **{f"index_{p}": a.index[:, j] for j, p in enumerate(znames)},
        },
        min_zone_area_m2=min_area,
        merges=dissolved.events,
    )


def _indeterminate(
    conc: NDArray[np.float64],
    censored: NDArray[np.bool_],
    dl: NDArray[np.float64],
    names: tuple[str, ...],
    land: str | int,
    sample_ph: NDArray[np.float64] | None,
    vals: StandardValues,
    on: dt.date | str | None,
    region: str | None,
) -> NDArray[np.bool_]:
    """(N, M) True where a ``<DL`` result is open against the standard (DL above screening).

    The samples are classified as ``restora diagnose soil`` does (their own pH, the site's
    land): one rule decides, :attr:`restora.diagnosis.soil.SoilAssessment.indeterminate`.
    """
    if not np.isfinite(dl).any():
        return np.zeros(dl.shape, dtype=bool)
    at = classify(
        conc,
        names,
        np.full(conc.shape[0], str(land), dtype=object),
        sample_ph,
        censored=censored,
        detection_limit=dl,
        values=vals,
        on=on,
        region=region,
    )
    return np.asarray(at.indeterminate, dtype=bool)


def _merge_warnings(events: Sequence[dict[str, Any]], min_area: float) -> list[str]:
    texts = {
        "merged": "{n} zone(s) below it ({a:.1f} m² in all) joined the neighbour of equal or "
        "worse class they share the longest boundary with",
        "enlarged": "{n} polluted zone(s) below it with only cleaner neighbours took in "
        "{a:.1f} m² of the most polluted ground around them, treated with them",
        "joined": "{n} detached part(s) of the site below it ({a:.1f} m²) joined the nearest "
        "zone of equal or worse class",
        "kept": "{n} zone(s) below it kept ({a:.1f} m²): the whole site, or a detached part "
        "more polluted than every other zone",
    }
    out = []
    for kind, text in texts.items():
        ev = [e for e in events if e["kind"] == kind]
        if ev:
            total = sum(e["area_m2"] for e in ev)
            out.append(
                f"minimum zone area {min_area:g} m² (remediation/min-zone-area): "
                + text.format(n=len(ev), a=total)
            )
    return out


def _area_hm2(geom: shapely.Geometry, crs: str | None) -> float:
    if crs is None:
        return float(geom.area) / M2_PER_HM2
    return float(equal_area_hm2(np.array([geom], dtype=object), crs)[0])


def _zone(
    geometry: shapely.Geometry,
    cells: NDArray[np.intp],
    zone_class: int,
    a: Any,
    cell_rule: NDArray[np.object_],
    cat: Catalogue,
    land_use_after: str | None,
    depth_m: float | None,
    crs: str | None,
    *,
    raised: NDArray[np.bool_],
    reassigned_hm2: float,
    min_area_rule: str,
    n_samples: int,
    below_detection: dict[str, int],
    indeterminate: tuple[str, ...],
) -> Zone:
    idx = a.index[cells]
    max_index = {p: float(np.nanmax(idx[:, j])) for j, p in enumerate(a.pollutants) if idx.shape[0]}
    governing = max(max_index, key=lambda p: max_index[p]) if max_index else None
    worst = a.factor_class[cells].max(axis=0)
    above = worst >= 1
    # the standard's rules behind the zone: each metal's worst comparison in the zone
    soil_rules = [
        rule_code(a.values.standard, p, "intervene" if worst[j] == 2 else "screen")
        for j, p in enumerate(a.pollutants)
        if worst[j] >= 1
    ]
    exceeding = tuple(p for j, p in enumerate(a.pollutants) if above[j])
    zname = ZONE_CLASSES[zone_class]
    techniques = (
        tuple(cat.candidates(zname, exceeding, land_use_after=land_use_after, depth_m=depth_m))
        if zname != "clean"
        else ()
    )
    # the rule of the zone's own cells first, then (when it took in other ground) the
    # minimum-area rule and the rules that ground had on its own
    zone_rules = sorted(set(cell_rule[cells[~raised]]))
    if raised.any():
        zone_rules += [min_area_rule, *sorted(set(cell_rule[cells[raised]]) - set(zone_rules))]
    return Zone(
        zone_id="",
        zone_class=zname,
        rules=(*zone_rules, *soil_rules),
        geometry=geometry,
        area_hm2=_area_hm2(geometry, crs),
        n_cells=int(cells.size),
        standard_class=CLASSES[int(a.sample_class[cells].max())],
        nemerow_max=float(np.nanmax(a.nemerow[cells])),
        max_index=max_index,
        governing_metal=governing,
        exceeding_metals=exceeding,
        techniques=techniques,
        reassigned_hm2=reassigned_hm2,
        n_samples=n_samples,
        below_detection=below_detection,
        indeterminate_metals=indeterminate,
    )
