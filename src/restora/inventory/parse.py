"""Typing and checking one table of a register file (see :mod:`restora.inventory.io`).

A :class:`RawTable` (original headers, raw cells, geometries of a GIS layer) becomes a
:class:`Parsed` table: its kind (sites, samples, hazards, mines), typed columns named as in
:mod:`restora.inventory.schema`, geometries in EPSG:4326 with equal-area site areas [hm²], and
the problems found, by row.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import pandas as pd
import pyproj
import shapely

from restora.inventory import headers as hd
from restora.inventory.censored import (
    detection_limits,
    merge_qualifiers,
    reconcile_limits,
    substitute_non_detects,
)
from restora.inventory.geometry import STORAGE_CRS, equal_area_hm2, reproject, transformer
from restora.inventory.model import DETECTION_LIMIT_COLUMNS
from restora.inventory.schema import (
    HAZARD_COLUMNS,
    METALS,
    MINE_COLUMNS,
    SAMPLE_COLUMNS,
    SITE_COLUMNS,
    Column,
)
from restora.inventory.validate import (
    Issues,
    Repair,
    as_float,
    as_text,
    check_declared_area,
    check_duplicates,
    check_site_geometries,
    coerce_columns,
)
from restora.units import M2_PER_HM2, MU_PER_HM2, registry

LONLAT_NAMES = frozenset(
    {"lon", "lat", "longitude", "latitude", "经度", "纬度"}
    | {"中心点经度", "中心点纬度", "中心经度", "中心纬度"}
)
METAL_COLUMNS = tuple(Column(m, "float", unit="mg/kg") for m in METALS)
SITE_ONLY = tuple(c for c in SITE_COLUMNS if c.name != "mine_id")
ID_OF = {"mines": "mine_id", "sites": "site_id", "samples": "sample_id", "hazards": "hazard_id"}


@dataclass
class RawTable:
    """A table as read from a file: original headers, raw cells, geometries (GIS files)."""

    name: str  # file name as shown in messages (with sheet / layer)
    frame: pd.DataFrame
    gis: bool
    geometry: np.ndarray | None = None
    crs: str | None = None
    geometry_errors: dict[int, str] = field(default_factory=dict)
    header_row: int | None = None  # 1-based row (line) of the header in a sheet or text file
    header_rows: int = 1  # rows the header spans (2: a header with units or parts below)

    def label(self, pos: int) -> int | str:
        return f"feature {pos + 1}" if self.gis else pos + 1


def geos_reason(exc: Exception) -> str:
    msg = str(exc).split(":", 1)[-1].strip() if "Exception:" in str(exc) else str(exc)
    if "closed" in msg:
        return f"ring not closed ({msg})"
    if "number of points" in msg.lower():
        return f"too few points ({msg})"
    return msg


@dataclass
class Parsed:
    """One table typed and checked: its kind, typed rows, and the problems found."""

    raw: RawTable
    kind: str
    data: pd.DataFrame
    issues: Issues  # problems of the table's own records
    mine_issues: Issues  # problems of mine columns (sites and mines tables)
    mine_only: np.ndarray  # sites tables: rows carrying a mine without a site
    repairs: list[Repair] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)  # canonical name → header as written


def _resolve_crs(
    raw: RawTable,
    frame: pd.DataFrame,
    heads: dict[str, str],
    issues: Issues,
    crs: str | None,
    lonlat_wgs84: bool,
) -> str | None:
    """The CRS of a table's coordinates, or None (a problem is recorded) when unknown."""
    stated: str | None = None
    if hd.CRS in frame.columns:
        values = as_text(frame[hd.CRS]).dropna().unique()
        if len(values) > 1:
            issues.add(None, heads[hd.CRS], f"holds several CRS ({', '.join(values)}); use one")
            return None
        stated = str(values[0]) if len(values) else None
    named_lonlat = (
        not raw.gis and {hd.header_key(heads.get(c, "")) for c in ("lon", "lat")} <= LONLAT_NAMES
    )
    # --lonlat-wgs84 declares lon/lat columns; --crs is for everything else
    chosen = STORAGE_CRS if lonlat_wgs84 and named_lonlat else crs or stated or raw.crs
    if chosen is None:
        hint = (
            " (a Shapefile needs its .prj)"
            if raw.gis
            else "; lon/lat columns in WGS 84 can be declared with --lonlat-wgs84"
        )
        issues.add(
            None,
            None,
            "the coordinates have no CRS: pass --crs (e.g. EPSG:4547) or add a 'crs' column" + hint,
        )
        return None
    try:
        parsed = pyproj.CRS.from_user_input(chosen)
    except pyproj.exceptions.CRSError as exc:
        issues.add(None, heads.get(hd.CRS, "crs"), f"unknown CRS {chosen!r}: {exc}")
        return None
    return str(parsed.srs) if parsed.srs else parsed.to_wkt()


def _span(v: np.ndarray) -> str:
    return f"{np.min(v):.10g}…{np.max(v):.10g}"


@lru_cache(maxsize=64)
def _gauss_kruger_crs(zone: int) -> str | None:
    """The CGCS2000 Gauss–Krüger CRS whose eastings carry ``zone`` in front (EPSG database).

    3-degree zones are numbered 25–45 over China and 6-degree zones 13–23, so a zone number
    names one of them.
    """
    names = (
        f"CGCS2000 / 3-degree Gauss-Kruger zone {zone}",
        f"CGCS2000 / Gauss-Kruger zone {zone}",
    )
    projected = pyproj.enums.PJType.PROJECTED_CRS
    for info in pyproj.database.query_crs_info(auth_name="EPSG", pj_types=projected):
        if info.name in names and not info.deprecated:
            return f"EPSG:{info.code} ({info.name})"
    return None


def _is_transverse_mercator(crs: pyproj.CRS) -> bool:
    op = crs.coordinate_operation
    return op is not None and "transverse mercator" in op.method_name.lower()


def crs_mismatch(src: str, x: np.ndarray, y: np.ndarray) -> str | None:
    """Why coordinates cannot be in CRS ``src``, when it is obvious, else None.

    Parameters
    ----------
    src : str
        The CRS the coordinates are said to be in.
    x, y : ndarray
        Eastings/longitudes and northings/latitudes as given [unit of the CRS].

    Notes
    -----
    Judged on all finite coordinates of a table at once:

    - every |x| ≤ 180 and |y| ≤ 90 in a projected CRS (metres): they are degrees;
    - some |x| > 180 or |y| > 90 in a geographic CRS (degrees): they are metres;
    - x ≥ 10⁷ m in a Transverse Mercator CRS without that false easting: the eastings carry a
      Gauss–Krüger zone number in front (38 500 000 m is 500 000 m in zone 38);
    - in a Transverse Mercator CRS, every x above 1 000 km with every y below it: x and y are
      swapped (Chinese survey practice names the northing X and the easting Y).
    """
    ok = np.isfinite(x) & np.isfinite(y)
    if not ok.any():
        return None
    x, y = x[ok], y[ok]
    crs = pyproj.CRS.from_user_input(src)
    name = crs.name
    degrees = bool(np.all(np.abs(x) <= 180) and np.all(np.abs(y) <= 90))
    if crs.is_projected and degrees:
        return (
            f"these look like longitude/latitude degrees (x {_span(x)}, y {_span(y)}), but "
            f"{name} is a projected CRS in metres; use --crs EPSG:4326 (or --lonlat-wgs84 for "
            "经度/纬度 columns)"
        )
    if crs.is_geographic and not degrees:
        hint = ""
        zone = int(np.median(x) // 1e6) if np.median(x) >= 1e7 else None
        suggestion = _gauss_kruger_crs(zone) if zone else None
        if suggestion:
            hint = f", e.g. {suggestion} for eastings with the zone number {zone} in front"
        return (
            f"these look like projected coordinates in metres (x {_span(x)}, y {_span(y)}), "
            f"but {name} is in degrees; pass the projected CRS of the survey with --crs"
            + (hint or " (e.g. EPSG:4547, CGCS2000 3-degree Gauss–Krüger CM 114° E)")
        )
    if not (crs.is_projected and _is_transverse_mercator(crs)):
        return None
    op = crs.coordinate_operation
    params = op.params if op is not None else []
    false_easting = next((float(p.value) for p in params if p.name.lower() == "false easting"), 0.0)
    if np.all(x >= 1e7) and false_easting < 1e7:
        zone = int(np.median(x) // 1e6)
        suggestion = _gauss_kruger_crs(zone)
        return (
            f"the eastings (x {_span(x)}) carry a Gauss–Krüger zone number ({zone}) in front, "
            f"which {name} does not; use " + (suggestion or "the CRS of that zone") + " with --crs"
        )
    if np.all(x > 1e6) and np.all(np.abs(y) < 1e6) and np.all(x < 1e7):
        return (
            f"x and y look swapped (x {_span(x)} looks like a northing, y {_span(y)} like an "
            "easting): Chinese survey coordinates name the northing X and the easting Y; put "
            "the easting under x (经度/X) and the northing under y (纬度/Y)"
        )
    return None


def _crs_mismatch(src: str, x: np.ndarray, y: np.ndarray, issues: Issues, column: str) -> bool:
    """Record :func:`crs_mismatch` as a problem of the whole table; True if there was one."""
    why = crs_mismatch(src, np.asarray(x, dtype=float), np.asarray(y, dtype=float))
    if why is None:
        return False
    issues.add(None, column, why)
    return True


def _parse_wkt(values: pd.Series) -> tuple[np.ndarray, dict[int, str]]:
    """Geometries from WKT (or hex WKB) text; reasons for those that cannot be read."""
    text = as_text(values).to_numpy(dtype=object)
    present = np.array([t is not None for t in text], dtype=bool)
    is_hex = np.array(
        [t is not None and re.fullmatch(r"0[01][0-9A-Fa-f]+", t) is not None for t in text],
        dtype=bool,
    )
    geoms = np.full(len(text), None, dtype=object)
    wkt = present & ~is_hex
    if wkt.any():
        geoms[wkt] = shapely.from_wkt(text[wkt], on_invalid="ignore")
    if is_hex.any():
        geoms[is_hex] = shapely.from_wkb(text[is_hex], on_invalid="ignore")
    reasons = {}
    for pos in np.flatnonzero(present & shapely.is_missing(geoms)):
        try:
            if is_hex[pos]:
                shapely.from_wkb(text[pos])
            else:
                shapely.from_wkt(text[pos])
            reasons[int(pos)] = "the geometry cannot be read"
        except Exception as exc:  # shapely.errors.GEOSException
            reasons[int(pos)] = geos_reason(exc)
    return geoms, reasons


def _map_headers(raw: RawTable, kind: str, issues: Issues) -> tuple[pd.DataFrame, dict, list]:
    heads: dict[str, str] = {}
    ignored: list[str] = []
    cols: dict[str, pd.Series] = {}
    for h in raw.frame.columns:
        name = hd.canonical(h, kind)
        if name is None or name == hd.COMPUTED_AREA:
            if name is None:
                ignored.append(f"{raw.name}: {h}")
            continue
        if name in heads:
            issues.add(None, str(h), f'both "{heads[name]}" and "{h}" mean {name}; keep one')
            continue
        heads[name] = str(h)
        cols[name] = raw.frame[h]
    return pd.DataFrame(cols, index=raw.frame.index), heads, ignored


def _missing_columns(kind: str, heads: dict[str, str], issues: Issues, raw: RawTable) -> None:
    for col in hd.TABLE_COLUMNS[kind]:
        # a sites table without site ids gets ``<mine_id>-<n>`` (see _site_ids)
        if col.required and col.name not in heads and (kind, col.name) != ("sites", "site_id"):
            accepted = ", ".join(f'"{a}"' for a in hd.accepted_names(col.name, kind))
            issues.add(None, col.name, f"missing required column (accepted headers: {accepted})")
    if kind != "sites" or hd.GEOMETRY in heads or raw.geometry is not None:
        return
    points = {"lon", "lat"} & set(heads)
    if points == {"lon", "lat"}:
        if not hd.AREA_NAMES & set(heads):
            issues.add(
                None,
                "declared_area_hm2",
                "a site given by its centre point needs its declared area: add an area column "
                "(面积（亩）, 损毁面积（亩）, 面积（公顷）, area_hm2 …)",
            )
        return
    if points:
        other = ({"lon", "lat"} - points).pop()
        accepted = ", ".join(f'"{a}"' for a in hd.SITE_POINT_ALIASES[other])
        issues.add(None, other, f"missing required column (accepted headers: {accepted})")
        return
    accepted = ", ".join(f'"{a}"' for a in hd.GEOMETRY_ALIASES)
    issues.add(
        None,
        "geometry",
        "missing the site polygons or centre points: a GIS file, a WKT column (accepted "
        f"headers: {accepted}), or 经度/纬度 (lon/lat, X/Y) columns with the declared area",
    )


def _site_ids(frame: pd.DataFrame, heads: dict[str, str], rows: np.ndarray) -> pd.Series:
    """Site ids: the ``site_id`` column, else ``<mine_id>-<n>`` (n-th such row of the mine).

    A point register gives a mine's centre and damaged area on the mine's row but no site id;
    the generated id is stable as long as the rows of each mine keep their order.
    """
    if "site_id" in heads:
        return as_text(frame["site_id"])
    mine = as_text(frame["mine_id"]) if "mine_id" in frame else pd.Series(None, index=frame.index)
    named = mine.notna().to_numpy() & rows
    order = mine.where(named).groupby(mine.where(named)).cumcount() + 1
    ids = mine.astype(object) + "-" + order.astype("Int64").astype(str)
    return ids.where(named, None).astype(object)


def parse_table(
    raw: RawTable,
    *,
    crs: str | None,
    repair: bool,
    lonlat_wgs84: bool,
    area_unit: str | None = None,
    area_tolerance: float = 0.05,
) -> Parsed | None:
    """Type and check one table; None for a table with no rows.

    ``area_unit`` is the unit of an area column whose header names none (``面积``);
    ``area_tolerance`` [1] the largest relative difference accepted between a site's declared
    area and its polygon's area.
    """
    if len(raw.frame) == 0:
        return None
    issues = Issues(raw.name, raw.label)
    mine_issues = Issues(raw.name, raw.label)
    geoms = raw.geometry
    polygons = geoms is not None and bool(
        np.isin(shapely.get_type_id(geoms), [3, 6]).any()  # Polygon, MultiPolygon
    )
    kind = hd.detect_kind(raw.frame.columns, has_polygons=polygons)
    n = len(raw.frame)
    if kind is None:
        issues.add(
            None,
            None,
            "cannot tell what this table holds: it needs a sample_id (samples), hazard_id "
            "(hazards), site_id or geometry (sites) or mine_id (mines) column",
        )
        empty = pd.DataFrame(index=raw.frame.index)
        return Parsed(raw, "unknown", empty, issues, mine_issues, np.zeros(n, dtype=bool))
    frame, heads, ignored = _map_headers(raw, kind, issues)
    _missing_columns(kind, heads, issues, raw)
    mine_only = np.zeros(n, dtype=bool)
    point_xy: tuple[np.ndarray, np.ndarray] | None = None
    if kind == "sites":
        wkt_errors: dict[int, str] = dict(raw.geometry_errors)
        if hd.GEOMETRY in frame.columns:
            geoms, wkt_errors = _parse_wkt(frame[hd.GEOMETRY])
        if geoms is None:
            geoms = np.full(n, None, dtype=object)
        has_geom = ~shapely.is_missing(geoms) | np.isin(np.arange(n), list(wkt_errors))
        point_xy = _centre_points(frame, heads, issues, ~has_geom)
        has_point = np.isfinite(point_xy[0]) | np.isfinite(point_xy[1])
        stated_area = np.zeros(n, dtype=bool)
        for name in hd.AREA_NAMES & set(frame.columns):
            stated_area |= as_text(frame[name]).notna().to_numpy()
        site_rows = has_geom | has_point | ("site_id" not in heads) & stated_area
        ids = _site_ids(frame, heads, site_rows)
        frame = frame.assign(site_id=ids.to_numpy(dtype=object))
        mine_only = ids.isna().to_numpy() & ~has_geom & ~has_point
        if "site_id" not in heads:
            mine_only &= ~stated_area
    typed_parts = []
    if kind in ("sites", "mines"):
        typed_parts.append(coerce_columns(frame, MINE_COLUMNS, mine_issues, heads))
    if kind == "sites":
        typed_parts.append(coerce_columns(frame, SITE_ONLY, issues, heads, skip=mine_only))
    if kind == "samples":
        typed_parts.append(_samples(frame, issues, heads))
    if kind == "hazards":
        typed_parts.append(coerce_columns(frame, HAZARD_COLUMNS, issues, heads))
    data = pd.concat(typed_parts, axis=1)
    parsed = Parsed(
        raw, kind, data, issues, mine_issues, mine_only, ignored=ignored, headers=dict(heads)
    )
    if kind == "sites":
        _declared_area_units(frame, data, heads, issues, area_unit, area_tolerance)
        assert geoms is not None and point_xy is not None
        _sites_geometry(
            parsed,
            geoms,
            point_xy,
            wkt_errors,
            heads,
            crs,
            repair,
            lonlat_wgs84,
            frame,
            area_tolerance,
        )
        parsed.headers.update(heads)  # the declared area's header, the centre points'
    elif kind in ("samples", "hazards"):
        _points(parsed, geoms, heads, crs, lonlat_wgs84, frame)
    id_col = ID_OF[kind]
    if id_col in data:
        target = mine_issues if kind == "mines" else issues
        check_duplicates(data[id_col], target, heads.get(id_col, id_col), id_col)
    return parsed


def _samples(frame: pd.DataFrame, issues: Issues, heads: dict[str, str]) -> pd.DataFrame:
    """Typed sample rows, below-detection results as numbers, their limits and the lab's text.

    ``ND``, ``<LOD`` and ``<x`` cells become numbers by the non-detect rule; the lab's own text
    is kept in ``qualifiers`` (merged with a ``qualifiers`` column of the file) and each stated
    limit ``x`` in the metal's detection-limit column [mg/kg] (:mod:`restora.inventory.censored`).
    A register exported before the limits had columns carries them only in ``qualifiers``; they
    are read back from there.
    """
    present = [m for m in METALS if m in frame.columns]
    stated = detection_limits(frame, list(METALS))
    frame, written = substitute_non_detects(frame, present)
    given = (
        as_text(frame["qualifiers"])
        if "qualifiers" in frame
        else pd.Series(None, index=frame.index, dtype=object)
    )
    frame = frame.assign(qualifiers=merge_qualifiers(given, written))
    typed = coerce_columns(frame, SAMPLE_COLUMNS + METAL_COLUMNS, issues, heads)
    for metal, col in DETECTION_LIMIT_COLUMNS.items():
        typed[col] = stated[metal].to_numpy(dtype=float)
    return reconcile_limits(typed, DETECTION_LIMIT_COLUMNS)


def units_per_hm2(unit: str) -> float:
    """How many ``unit`` make one hm² (亩 → 15, m² → 10 000, hm²/公顷/ha → 1) [unit/hm²].

    Raises ``ValueError`` for a unit that is not an area (:mod:`restora.units` reads it).

    >>> units_per_hm2("亩"), units_per_hm2("m2"), units_per_hm2("公顷")
    (15.0, 10000.0, 1.0)
    """
    from restora.units import parse_quantity

    q = parse_quantity(f"1 {unit}")
    if not q.check("[length]**2"):
        raise ValueError(f"{unit!r} is not a unit of area")
    per = registry().Quantity(1.0, "hectare").to(q.units).magnitude
    return float(f"{per:.12g}")  # 15.000000000000002 → 15.0


def _declared_area_units(
    frame: pd.DataFrame,
    data: pd.DataFrame,
    heads: dict[str, str],
    issues: Issues,
    area_unit: str | None,
    tolerance: float,
) -> None:
    """Declared areas in 亩, m² or the unit of the header (or ``area_unit``) → ``declared_area_hm2``.

    A register may give the area twice (``面积`` over ``亩 | 公顷``): the first column in the
    order hm², 亩, m², other is kept, and the others must agree with it within ``tolerance``.
    """
    given: list[tuple[str, pd.Series]] = []
    if "declared_area_hm2" in heads:
        given.append((heads["declared_area_hm2"], data["declared_area_hm2"]))
    for pseudo in (hd.AREA_MU, hd.AREA_M2, hd.AREA_ANY):
        if pseudo not in frame.columns:
            continue
        if pseudo == hd.AREA_MU:
            per_hm2 = MU_PER_HM2
        elif pseudo == hd.AREA_M2:
            per_hm2 = M2_PER_HM2
        else:
            unit = hd.area_header_unit(heads[pseudo]) or area_unit
            if unit is None:
                issues.add(
                    None,
                    heads[pseudo],
                    "the area column names no unit: write it in the header (面积（亩）, "
                    "面积（公顷）, 面积（平方米）) or pass --area-unit mu|hm2|m2",
                )
                continue
            try:
                per_hm2 = units_per_hm2(unit)
            except ValueError as exc:
                issues.add(None, heads[pseudo], f"unknown area unit {unit!r} ({exc})")
                continue
        typed = coerce_columns(frame, (Column(pseudo, "float"),), issues, heads)
        given.append((heads[pseudo], typed[pseudo] / per_hm2))
    if not given:
        return
    head, first = given[0]
    a = first.to_numpy(dtype=float)
    for other_head, other in given[1:]:
        b = other.to_numpy(dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            off = np.isfinite(a) & np.isfinite(b) & (np.abs(a - b) > tolerance * np.abs(a))

        def disagree(p: int, a: np.ndarray = a, b: np.ndarray = b) -> str:
            return (
                f"the declared areas disagree: {b[p]:.4f} hm² ({b[p] * MU_PER_HM2:.2f} 亩) here, "
                f'{a[p]:.4f} hm² ({a[p] * MU_PER_HM2:.2f} 亩) under "{head}"'
            )

        issues.add_rows(off, other_head, disagree)
        a = np.where(np.isfinite(a), a, b)  # a row may state its area in one unit only
    data["declared_area_hm2"] = a
    heads["declared_area_hm2"] = head


def _centre_points(
    frame: pd.DataFrame, heads: dict[str, str], issues: Issues, rows: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """x/lon and y/lat of the centre point of each site row without a polygon [table's CRS]."""
    n = len(frame)
    xy = []
    for name in ("lon", "lat"):
        if name not in frame.columns:
            xy.append(np.full(n, np.nan))
            continue
        num, bad = as_float(frame[name])
        cells = frame[name].to_numpy(dtype=object)

        def not_a_number(p: int, cells: np.ndarray = cells) -> str:
            return f'"{cells[p]}" is not a number'

        issues.add_rows(bad & rows, heads[name], not_a_number)
        xy.append(np.where(rows, num.to_numpy(dtype=float), np.nan))
    return xy[0], xy[1]


def _sites_geometry(
    parsed: Parsed,
    geoms: np.ndarray,
    point_xy: tuple[np.ndarray, np.ndarray],
    wkt_errors: dict[int, str],
    heads: dict[str, str],
    crs: str | None,
    repair: bool,
    lonlat_wgs84: bool,
    frame: pd.DataFrame,
    area_tolerance: float,
) -> None:
    """Polygons (checked, reprojected, areas) and centre points of a sites table."""
    issues, data = parsed.issues, parsed.data
    head = heads.get(hd.GEOMETRY, "geometry")
    active = ~parsed.mine_only
    # a point geometry in a GIS layer or WKT column is a centre point too
    given_points = active & (shapely.get_type_id(geoms) == 0) & ~shapely.is_empty(geoms)
    px, py = point_xy
    if given_points.any():
        px, py = px.copy(), py.copy()
        px[given_points] = shapely.get_x(geoms[given_points])
        py[given_points] = shapely.get_y(geoms[given_points])
        geoms = geoms.copy()
        geoms[given_points] = None
    points = active & (np.isfinite(px) | np.isfinite(py))
    for pos, reason in sorted(wkt_errors.items()):
        if active[pos]:
            issues.add(pos, head, f"cannot read the polygon: {reason}")
    unreadable = np.isin(np.arange(len(geoms)), list(wkt_errors))
    src = _resolve_crs(parsed.raw, frame, heads, issues, crs, lonlat_wgs84)
    polygons = active & ~unreadable & ~points
    if src is not None:
        bounds = shapely.bounds(geoms[polygons])
        xs = np.concatenate([bounds[:, 0], bounds[:, 2], px[points]])
        ys = np.concatenate([bounds[:, 1], bounds[:, 3], py[points]])
        where = head if polygons.any() else heads.get("lon", "lon")
        if _crs_mismatch(src, xs, ys, issues, where):
            src = None
    geoms, repairs = check_site_geometries(
        geoms,
        src or STORAGE_CRS,
        issues,
        head,
        data["site_id"],
        repair=repair,
        active=polygons,
    )
    parsed.repairs = repairs
    if src is None:
        data["geometry"] = np.full(len(geoms), None, dtype=object)
        data["area_hm2"] = np.nan
        return
    lonlat = reproject(geoms, src, STORAGE_CRS)
    if points.any():
        _point_sites(parsed, lonlat, (px, py), points, src, heads)
        if "lon" in heads and "lat" in heads:
            heads.setdefault(hd.GEOMETRY, f"{heads['lon']}/{heads['lat']}")
    with np.errstate(invalid="ignore"):
        area = equal_area_hm2(lonlat)
    bounds = shapely.bounds(lonlat)
    outside = (
        ~shapely.is_missing(lonlat)
        & ~shapely.is_empty(lonlat)
        & (
            ~np.isfinite(area)
            | (np.abs(bounds[:, 0]) > 180)
            | (np.abs(bounds[:, 2]) > 180)
            | (np.abs(bounds[:, 1]) > 90)
            | (np.abs(bounds[:, 3]) > 90)
        )
    )
    issues.add_rows(
        outside & active,
        head,
        lambda p: (
            f"the polygon does not fall on the Earth in lon/lat from CRS {src} (is the CRS right?)"
        ),
    )
    declared = data["declared_area_hm2"].to_numpy(dtype=float)
    data["geometry"] = lonlat
    data["area_hm2"] = np.where(points, declared, area)
    checked = ~np.isin(np.arange(len(area)), list(issues.bad)) & polygons
    check_declared_area(
        data["declared_area_hm2"].where(checked),
        area,
        issues,
        heads.get("declared_area_hm2", "declared_area_hm2"),
        area_tolerance,
    )


def _point_sites(
    parsed: Parsed,
    lonlat: np.ndarray,
    xy: tuple[np.ndarray, np.ndarray],
    points: np.ndarray,
    src: str,
    heads: dict[str, str],
) -> None:
    """Centre points [table's CRS] of the point rows → lon/lat points in ``lonlat`` (in place).

    A site without a boundary needs its declared area: it is the site's area everywhere.
    """
    issues, data = parsed.issues, parsed.data
    x, y = xy
    lon_head = heads.get("lon", "lon")
    one = points & (np.isfinite(x) ^ np.isfinite(y))
    issues.add_rows(one, lon_head, lambda p: "give both lon and lat (x and y), or neither")
    both = points & np.isfinite(x) & np.isfinite(y)
    lon, lat = x.copy(), y.copy()
    if both.any() and pyproj.CRS.from_user_input(src) != pyproj.CRS.from_user_input(STORAGE_CRS):
        lon[both], lat[both] = transformer(src, STORAGE_CRS).transform(x[both], y[both])
    with np.errstate(invalid="ignore"):
        off = both & ((np.abs(lon) > 180) | (np.abs(lat) > 90) | ~np.isfinite(lon + lat))
    issues.add_rows(
        off,
        lon_head,
        lambda p: (
            f"({x[p]:g}, {y[p]:g}) is not a lon/lat position in CRS {src} (is the CRS right?)"
        ),
    )
    ok = both & ~off
    lonlat[ok] = shapely.points(lon[ok], lat[ok])
    if "declared_area_hm2" not in heads:
        return  # no area column, or one without a unit: said once for the table
    declared = data["declared_area_hm2"].to_numpy(dtype=float)
    area_head = heads["declared_area_hm2"]
    issues.add_rows(
        both & ~np.isfinite(declared) & ~np.isin(np.arange(len(x)), list(issues.bad)),
        area_head,
        lambda p: (
            "is empty: a site given by its centre point (no boundary) needs its declared area"
        ),
    )


def _points(
    parsed: Parsed,
    geoms: np.ndarray | None,
    heads: dict[str, str],
    crs: str | None,
    lonlat_wgs84: bool,
    frame: pd.DataFrame,
) -> None:
    """lon/lat [degree] of samples and hazards, from point geometries or lon/lat columns."""
    data, issues = parsed.data, parsed.issues
    x = data["lon"].to_numpy(dtype=float).copy()
    y = data["lat"].to_numpy(dtype=float).copy()
    if geoms is not None:
        has = ~shapely.is_missing(geoms)
        not_point = has & (shapely.get_type_id(geoms) != 0)
        issues.add_rows(not_point, "geometry", lambda p: "geometry is not a point")
        use = has & ~not_point & ~shapely.is_empty(geoms)
        if use.any():
            x[use] = shapely.get_x(geoms[use])
            y[use] = shapely.get_y(geoms[use])
    coords = np.isfinite(x) & np.isfinite(y)
    if not coords.any():
        return
    one = np.isfinite(x) ^ np.isfinite(y)
    issues.add_rows(one, heads.get("lon", "lon"), lambda p: "give both lon and lat, or neither")
    src = _resolve_crs(parsed.raw, frame, heads, issues, crs, lonlat_wgs84)
    if src is None or _crs_mismatch(src, x[coords], y[coords], issues, heads.get("lon", "lon")):
        return
    if pyproj.CRS.from_user_input(src) != pyproj.CRS.from_user_input(STORAGE_CRS):
        x[coords], y[coords] = transformer(src, STORAGE_CRS).transform(x[coords], y[coords])
    with np.errstate(invalid="ignore"):
        bad = coords & ((np.abs(x) > 180) | (np.abs(y) > 90) | ~np.isfinite(x + y))
    issues.add_rows(
        bad,
        heads.get("lon", "lon"),
        lambda p: f"({x[p]:g}, {y[p]:g}) is not a lon/lat position (is the CRS right?)",
    )
    data["lon"] = np.where(coords, x, np.nan)
    data["lat"] = np.where(coords, y, np.nan)
