"""Typing and checking one table of a register file (see :mod:`restora.inventory.io`).

A :class:`RawTable` (original headers, raw cells, geometries of a GIS layer) becomes a
:class:`Parsed` table: its kind (sites, samples, hazards, mines), typed columns named as in
:mod:`restora.inventory.schema`, geometries in EPSG:4326 with equal-area site areas [hm²], and
the problems found, by row.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

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
    as_text,
    check_declared_area,
    check_duplicates,
    check_site_geometries,
    coerce_columns,
)
from restora.units import M2_PER_HM2, MU_PER_HM2

LONLAT_NAMES = frozenset({"lon", "lat", "longitude", "latitude", "经度", "纬度"})
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
        if col.required and col.name not in heads:
            accepted = ", ".join(f'"{a}"' for a in hd.accepted_names(col.name, kind))
            issues.add(None, col.name, f"missing required column (accepted headers: {accepted})")
    if kind == "sites" and hd.GEOMETRY not in heads and raw.geometry is None:
        accepted = ", ".join(f'"{a}"' for a in hd.GEOMETRY_ALIASES)
        issues.add(
            None,
            "geometry",
            f"missing the site polygons: a GIS file or a WKT column (accepted headers: {accepted})",
        )


def parse_table(
    raw: RawTable,
    *,
    crs: str | None,
    repair: bool,
    lonlat_wgs84: bool,
) -> Parsed | None:
    """Type and check one table; None for a table with no rows."""
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
    if kind == "sites":
        wkt_errors: dict[int, str] = dict(raw.geometry_errors)
        if hd.GEOMETRY in frame.columns:
            geoms, wkt_errors = _parse_wkt(frame[hd.GEOMETRY])
        if geoms is None:
            geoms = np.full(n, None, dtype=object)
        site_ids = as_text(frame["site_id"]) if "site_id" in frame else pd.Series([None] * n)
        has_geom = ~shapely.is_missing(geoms) | np.isin(np.arange(n), list(wkt_errors))
        mine_only = site_ids.isna().to_numpy() & ~has_geom
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
        _declared_area_units(frame, data, heads, issues)
        assert geoms is not None
        _sites_geometry(parsed, geoms, wkt_errors, heads, crs, repair, lonlat_wgs84, frame)
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


def _declared_area_units(
    frame: pd.DataFrame, data: pd.DataFrame, heads: dict[str, str], issues: Issues
) -> None:
    """Declared area in 亩 or m² → ``declared_area_hm2``."""
    for pseudo, per_hm2 in ((hd.AREA_MU, MU_PER_HM2), (hd.AREA_M2, M2_PER_HM2)):
        if pseudo not in frame.columns:
            continue
        if "declared_area_hm2" in heads:
            issues.add(
                None,
                heads[pseudo],
                f'the declared area is given twice ("{heads["declared_area_hm2"]}" and '
                f'"{heads[pseudo]}"); keep one',
            )
            continue
        typed = coerce_columns(frame, (Column(pseudo, "float"),), issues, heads)
        data["declared_area_hm2"] = typed[pseudo] / per_hm2
        heads["declared_area_hm2"] = heads[pseudo]


def _sites_geometry(
    parsed: Parsed,
    geoms: np.ndarray,
    wkt_errors: dict[int, str],
    heads: dict[str, str],
    crs: str | None,
    repair: bool,
    lonlat_wgs84: bool,
    frame: pd.DataFrame,
) -> None:
    issues, data = parsed.issues, parsed.data
    head = heads.get(hd.GEOMETRY, "geometry")
    active = ~parsed.mine_only
    for pos, reason in sorted(wkt_errors.items()):
        if active[pos]:
            issues.add(pos, head, f"cannot read the polygon: {reason}")
    unreadable = np.isin(np.arange(len(geoms)), list(wkt_errors))
    src = _resolve_crs(parsed.raw, frame, heads, issues, crs, lonlat_wgs84)
    geoms, repairs = check_site_geometries(
        geoms,
        src or STORAGE_CRS,
        issues,
        head,
        data["site_id"],
        repair=repair,
        active=active & ~unreadable,
    )
    parsed.repairs = repairs
    if src is None:
        data["geometry"] = np.full(len(geoms), None, dtype=object)
        data["area_hm2"] = np.nan
        return
    lonlat = reproject(geoms, src, STORAGE_CRS)
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
    data["geometry"] = lonlat
    data["area_hm2"] = area
    checked = ~np.isin(np.arange(len(area)), list(issues.bad)) & active
    check_declared_area(
        data["declared_area_hm2"].where(checked),
        area,
        issues,
        heads.get("declared_area_hm2", "declared_area_hm2"),
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
    if src is None:
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
