"""Gradient zoning of a site: interpolate soil samples, classify cells, dissolve into zones.

The "pollution gradient treatment" approach (分级分区治理): the site polygon (projected CRS, metres)
is covered by square cells; each pollutant's concentration (and, for GB 15618, the soil pH) is
interpolated to the cell centres by inverse distance weighting or ordinary kriging; every cell is
classified against the standard (:func:`restora.diagnosis.soil.classify`) and given a treatment
zone class by the rules of ``remediation/zone-classes``; adjacent cells of the same zone class
are dissolved into zone polygons clipped to the site, and each zone lists the candidate
techniques of ``remediation/techniques`` for its class, its metals above screening, the land use
after and the depth.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from numpy.typing import ArrayLike, NDArray

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
from restora.errors import InputError
from restora.inventory.geometry import equal_area_hm2

METHODS = ("idw", "ordinary_kriging")
DEFAULT_CELL_SIZE_M = 20.0
# Method settings of the interpolators (algorithm choices, not published coefficients):
# Shepard's (1968) inverse-distance weighting with the customary power 2; ordinary kriging
# needs enough samples to fit a variogram, below which it falls back to IDW.
IDW_POWER = 2.0
MIN_KRIGING_SAMPLES = 6
KRIGING_VARIOGRAM = "spherical"
_CHUNK = 4096


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
    """A treatment zone: cells of one zone class dissolved, clipped to the site.

    ``rules``: the zone rule code(s) of its cells, then the standard's rule of each metal above
    its screening value somewhere in the zone (``...-INTERVENE`` if above intervention).
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

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready zone (geometry as WKT in the site's CRS)."""
        return {
            "zone_id": self.zone_id,
            "zone_class": self.zone_class,
            "rules": list(self.rules),
            "area_hm2": self.area_hm2,
            "n_cells": self.n_cells,
            "standard_class": self.standard_class,
            "nemerow_max": self.nemerow_max,
            "max_index": self.max_index,
            "governing_metal": self.governing_metal,
            "exceeding_metals": list(self.exceeding_metals),
            "techniques": [t.as_dict() for t in self.techniques],
            "geometry_wkt": shapely.to_wkt(self.geometry, rounding_precision=3),
        }


@dataclass(frozen=True)
class ZoningResult:
    """Zones of a site with the method actually used, warnings and tables."""

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

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready result."""
        used = set(self.method_used.values())
        return {
            "standard": self.standard,
            "method_requested": self.method_requested,
            "method": used.pop() if len(used) == 1 else "mixed",
            "method_used": self.method_used,
            "cell_size_m": self.cell_size_m,
            "site_area_hm2": self.site_area_hm2,
            "land": self.land,
            "land_use_after": self.land_use_after,
            "zones": [z.as_dict() for z in self.zones],
            "warnings": list(self.warnings),
            "tables_used": list(self.tables_used),
        }


def grid_cells(
    site: shapely.Geometry, cell_size: float
) -> tuple[NDArray[np.object_], NDArray[np.float64], NDArray[np.float64]]:
    """Square cells over the site, clipped to it: (clipped cells, centre x [m], centre y [m]).

    Cells whose intersection with the site has no area are dropped; only the polygonal part of
    an intersection is kept.
    """
    minx, miny, maxx, maxy = site.bounds
    nx = max(1, math.ceil((maxx - minx) / cell_size))
    ny = max(1, math.ceil((maxy - miny) / cell_size))
    ix, iy = np.meshgrid(np.arange(nx), np.arange(ny))
    x0 = minx + ix.ravel() * cell_size
    y0 = miny + iy.ravel() * cell_size
    x1 = minx + (ix.ravel() + 1) * cell_size
    y1 = miny + (iy.ravel() + 1) * cell_size
    boxes = shapely.box(x0, y0, x1, y1)
    shapely.prepare(site)
    touching = shapely.intersects(site, boxes)
    clipped = shapely.intersection(boxes[touching], site)
    collections = np.flatnonzero(shapely.get_type_id(clipped) == 7)
    for i in collections:  # keep only the polygonal parts of mixed intersections
        parts = [p for p in shapely.get_parts(clipped[i]) if p.geom_type.endswith("Polygon")]
        clipped[i] = shapely.union_all(parts) if parts else shapely.Polygon()
    keep = shapely.area(clipped) > 0
    cx = ((x0 + x1) / 2.0)[touching][keep]
    cy = ((y0 + y1) / 2.0)[touching][keep]
    return clipped[keep], cx, cy


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
        interpolation).
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
        The site's CRS; when given, zone areas are computed in the China Albers equal-area
        projection, otherwise planar in the site's CRS.
    land_use_after : {"agricultural", "ecological", "construction"}, optional
        Intended land use after treatment (filters techniques).
    depth_m : float, optional
        Depth of contamination to treat [m] (filters techniques).
    on, region
        Date [date] and 6-digit region code of the reference tables.

    Returns
    -------
    ZoningResult
        Zones ordered from most to least severe, then by area.

    Notes
    -----
    Each cell c gets :math:`\\hat C_{c,i}` (and :math:`\\widehat{pH}_c`) by the chosen
    interpolator, then the standard's class :math:`k_c` and Nemerow index :math:`P_{N,c}`
    (:func:`restora.diagnosis.soil.classify`); the zone class is the first rule of
    ``remediation/zone-classes`` matching :math:`(k_c, \\mathrm{grade}(P_{N,c}))`. Zone area
    :math:`A = \\lvert \\bigcup_c c \\cap \\mathrm{site} \\rvert / 10^4` [hm²].
    """
    if site is None or site.is_empty or site.area <= 0:
        raise InputError("the site polygon is empty", field="geometry")
    if not site.is_valid:
        site = shapely.make_valid(site)
    if not cell_size > 0:
        raise InputError(f"cell size {cell_size} must be positive [m]", field="cell_size")
    vals = values if values is not None else load_standard(standard, on, region)
    cat = catalogue if catalogue is not None else load_catalogue(on, region)
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

    cells, cx, cy = grid_cells(site, cell_size)
    warnings: list[str] = []
    used: dict[str, str] = {}
    cell_conc = np.full((cells.size, len(names)), np.nan)
    for j, p in enumerate(names):
        ok = ~np.isnan(conc[:, j])
        if not ok.any():
            warnings.append(f"{p}: no measured sample: not zoned")
            continue
        est, used[p], warn = interpolate(
            xs[ok], ys[ok], conc[ok, j], cx, cy, method, power=power, name=p
        )
        cell_conc[:, j] = np.clip(est, 0.0, None)  # kriging can undershoot below zero
        if warn:
            warnings.append(warn)
    cell_ph = None
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

    zones: list[Zone] = []
    for zc in np.unique(cell_zone):
        members = np.flatnonzero(cell_zone == zc)
        merged = shapely.union_all(cells[members])
        parts = np.array(
            [g for g in shapely.get_parts(merged) if g.geom_type == "Polygon"], dtype=object
        )
        tree = shapely.STRtree(parts)
        cell_idx, part_idx = tree.query(shapely.point_on_surface(cells[members]), "within")
        for k, part in enumerate(parts):
            in_part = members[cell_idx[part_idx == k]]
            zones.append(
                _zone(part, in_part, int(zc), a, cell_rule, cat, land_use_after, depth_m, crs)
            )
    order = sorted(zones, key=lambda z: (-ZONE_CLASSES.index(z.zone_class), -z.area_hm2))
    zones = [Zone(**{**z.__dict__, "zone_id": f"Z{i + 1:02d}"}) for i, z in enumerate(order)]
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
        ),
        cells={
            "x": cx,
            "y": cy,
            "zone_class": np.array(ZONE_CLASSES, dtype=object)[cell_zone],
            "standard_class": a.class_names(),
            "nemerow": a.nemerow,
            "ph": cell_ph if cell_ph is not None else np.full(cells.size, np.nan),
            **{f"index_{p}": a.index[:, j] for j, p in enumerate(znames)},
        },
    )


def _area_hm2(geom: shapely.Geometry, crs: str | None) -> float:
    if crs is None:
        return float(geom.area) / 10_000.0
    return float(equal_area_hm2(np.array([geom], dtype=object), crs)[0])


def _zone(
    part: shapely.Geometry,
    cells: NDArray[np.intp],
    zone_class: int,
    a: Any,
    cell_rule: NDArray[np.object_],
    cat: Catalogue,
    land_use_after: str | None,
    depth_m: float | None,
    crs: str | None,
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
    return Zone(
        zone_id="",
        zone_class=zname,
        rules=(*sorted(set(cell_rule[cells])), *soil_rules),
        geometry=part,
        area_hm2=_area_hm2(part, crs),
        n_cells=int(cells.size),
        standard_class=CLASSES[int(a.sample_class[cells].max())],
        nemerow_max=float(np.nanmax(a.nemerow[cells])),
        max_index=max_index,
        governing_metal=governing,
        exceeding_metals=exceeding,
        techniques=techniques,
    )
