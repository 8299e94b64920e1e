"""Reading and writing the register: GeoJSON, GeoPackage, Shapefile, CSV and XLSX.

:func:`read_register` reads any mix of files into one :class:`~restora.inventory.model.Register`
plus an :class:`ImportReport`; :func:`write_register` writes a register in one of four formats
that :func:`read_register` reads back to an equal register. Rules (headers, encodings, CRS,
validation) are described in ``docs/register.md``.

Geometries are stored in lon/lat (EPSG:4326); site areas [hm²] are computed from them in an
equal-area projection (:func:`restora.inventory.geometry.equal_area_hm2`).
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import sys
import warnings
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyogrio
import pyproj
import shapely

from restora.errors import InputError, Problem
from restora.inventory import headers as hd
from restora.inventory.geometry import STORAGE_CRS, equal_area_hm2, reproject, transformer
from restora.inventory.model import Register, empty_table
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

GIS_SUFFIXES = {".geojson": "geojson", ".json": "geojson", ".gpkg": "gpkg", ".shp": "shapefile"}
TABLE_SUFFIXES = {".csv": "csv", ".txt": "csv", ".xlsx": "xlsx", ".xlsm": "xlsx"}
FORMATS = ("geojson", "gpkg", "csv", "xlsx")
LONLAT_NAMES = frozenset({"lon", "lat", "longitude", "latitude", "经度", "纬度"})
METAL_COLUMNS = tuple(Column(m, "float", unit="mg/kg") for m in METALS)
SITE_ONLY = tuple(c for c in SITE_COLUMNS if c.name != "mine_id")
ID_OF = {"mines": "mine_id", "sites": "site_id", "samples": "sample_id", "hazards": "hazard_id"}


@dataclass(frozen=True)
class SourceFile:
    """One file read: its path, format, SHA-256, encoding and the tables found in it."""

    path: str
    format: str
    sha256: str
    encoding: str | None = None
    tables: tuple[dict[str, Any], ...] = ()


@dataclass
class ImportReport:
    """What an import read, repaired and rejected.

    ``rejects`` has one row per rejected record: ``file``, ``row``, ``table``, ``id``,
    ``reason``. ``problems`` lists every problem found (all of them were errors unless the
    import was asked to skip invalid records).
    """

    files: list[SourceFile] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    repairs: list[Repair] = field(default_factory=list)
    rejects: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=["file", "row", "table", "id", "reason"])
    )
    ignored_columns: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    def source(self, options: dict[str, Any] | None = None) -> dict[str, Any]:
        """What to record with the import: files, hashes and options."""
        return {
            "files": [f.path for f in self.files],
            "sha256": [f.sha256 for f in self.files],
            "formats": [f.format for f in self.files],
            "encodings": [f.encoding for f in self.files],
            "options": options or {},
            "repairs": [str(r) for r in self.repairs],
            "rejected": len(self.rejects),
        }


# --- raw tables ------------------------------------------------------------------------------


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


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def decode_text(data: bytes, name: str, encoding: str | None = None) -> tuple[str, str]:
    """Text of a CSV file and the encoding used: ``encoding``, else UTF-8 (BOM or not), else GB18030."""
    if encoding:
        try:
            return data.decode(encoding), encoding
        except (UnicodeDecodeError, LookupError) as exc:
            raise InputError(f"cannot decode as {encoding}: {exc}", file=name) from exc
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030"), "gb18030"
    except UnicodeDecodeError as exc:
        raise InputError(
            f"is neither UTF-8 nor GBK/GB18030 text ({exc}); pass --encoding", file=name
        ) from exc


def _read_csv(data: bytes, name: str, encoding: str | None) -> tuple[list[RawTable], str]:
    text, used = decode_text(data, name, encoding)
    try:
        frame = pd.read_csv(
            io.StringIO(text), dtype=str, keep_default_na=False, na_values=[], skipinitialspace=True
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InputError(f"cannot read CSV: {exc}", file=name) from exc
    return [RawTable(name, frame, gis=False)], used


def _read_xlsx(data: bytes, name: str) -> list[RawTable]:
    try:
        sheets = pd.read_excel(io.BytesIO(data), sheet_name=None, dtype=object)
    except Exception as exc:  # openpyxl raises assorted errors on broken files
        raise InputError(f"cannot read the workbook: {exc}", file=name) from exc
    out = []
    for sheet, frame in sheets.items():
        frame = frame.dropna(how="all")
        if frame.shape[1] == 0:
            continue
        out.append(RawTable(f"{name} (sheet {sheet})", frame.reset_index(drop=True), gis=False))
    return out


def _dbf_encoding(dbf: bytes) -> str:
    """UTF-8 if the DBF's records decode as UTF-8, else GB18030 (a superset of GBK)."""
    header_len = int.from_bytes(dbf[8:10], "little") if len(dbf) >= 10 else 0
    try:
        dbf[header_len:].decode("utf-8")
    except UnicodeDecodeError:
        return "GB18030"
    return "UTF-8"


def _shapefile_source(path: Path, encoding: str | None) -> tuple[str, str | None]:
    """GDAL path of a (zipped) Shapefile and the encoding to read its DBF with."""
    if path.suffix.lower() == ".zip":
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
            shps = [n for n in names if n.lower().endswith(".shp")]
            if not shps:
                raise InputError("the zip file holds no .shp", file=str(path))
            if len(shps) > 1:
                raise InputError(
                    f"the zip file holds several shapefiles ({', '.join(shps)}); zip one",
                    file=str(path),
                )
            stem = shps[0][:-4]
            lower = {n.lower(): n for n in names}
            cpg = lower.get(stem.lower() + ".cpg")
            dbf = lower.get(stem.lower() + ".dbf")
            if encoding is None and cpg is None and dbf is not None:
                encoding = _dbf_encoding(zf.read(dbf))
        return f"/vsizip/{path.resolve()}/{shps[0]}", encoding
    if encoding is None:
        sib = {p.suffix.lower(): p for p in path.parent.glob(path.stem + ".*")}
        if ".cpg" not in sib and ".dbf" in sib:
            encoding = _dbf_encoding(sib[".dbf"].read_bytes())
    return str(path), encoding


def _geojson_reasons(data: bytes, failed: list[int]) -> dict[int, str]:
    """Why GDAL could not read some GeoJSON geometries (unclosed ring, too few points ...)."""
    try:
        features = json.loads(data)["features"]
    except (ValueError, KeyError, TypeError):
        return {}
    out = {}
    for pos in failed:
        geom = features[pos].get("geometry") if pos < len(features) else None
        if geom is None:
            continue
        try:
            shapely.from_geojson(json.dumps(geom))
        except Exception as exc:  # shapely raises GEOSException / ValueError
            out[pos] = _geos_reason(exc)
    return out


def _geos_reason(exc: Exception) -> str:
    msg = str(exc).split(":", 1)[-1].strip() if "Exception:" in str(exc) else str(exc)
    if "closed" in msg:
        return f"ring not closed ({msg})"
    if "number of points" in msg.lower():
        return f"too few points ({msg})"
    return msg


def _read_gis(path: Path, fmt: str, data: bytes, encoding: str | None) -> list[RawTable]:
    name = str(path)
    if fmt == "shapefile":
        source, encoding = _shapefile_source(path, encoding)
    else:
        source = str(path)
    try:
        layers = [str(row[0]) for row in pyogrio.list_layers(source)]
    except Exception as exc:  # pyogrio.errors.DataSourceError and friends
        raise InputError(f"cannot open: {exc}", file=name) from exc
    out = []
    for layer in layers:
        label = f"{name} (layer {layer})" if len(layers) > 1 else name
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                pyogrio.set_gdal_config_options({"OGR_GEOMETRY_ACCEPT_UNCLOSED_RING": "NO"})
                try:
                    gdf = pyogrio.read_dataframe(
                        source, layer=layer, encoding=encoding, on_invalid="ignore"
                    )
                finally:
                    pyogrio.set_gdal_config_options({"OGR_GEOMETRY_ACCEPT_UNCLOSED_RING": None})
        except Exception as exc:
            raise InputError(f"cannot read layer {layer!r}: {exc}", file=name) from exc
        crs = gdf.crs.to_string() if gdf.crs is not None else None
        geoms = None
        if "geometry" in gdf.columns:
            geoms = np.asarray(gdf.geometry.array, dtype=object)
            geoms = np.array([None if g is None else g for g in geoms], dtype=object)
        frame = pd.DataFrame(gdf.drop(columns="geometry", errors="ignore"))
        raw = RawTable(label, frame.reset_index(drop=True), gis=True, geometry=geoms, crs=crs)
        if geoms is not None and fmt == "geojson":
            lost = shapely.is_missing(geoms) | shapely.is_empty(geoms)
            failed = [int(p) for p in np.flatnonzero(lost)]
            if failed:
                raw.geometry_errors = _geojson_reasons(data, failed)
        out.append(raw)
    return out


def _file_format(path: Path) -> str | None:
    suffix = path.suffix.lower()
    if suffix == ".zip":
        return "shapefile"
    return GIS_SUFFIXES.get(suffix) or TABLE_SUFFIXES.get(suffix)


def read_tables(
    source: str | Path, encoding: str | None = None
) -> tuple[list[RawTable], SourceFile]:
    """Raw tables of one file (``-`` reads CSV from standard input) and its description."""
    if str(source) == "-":
        data = sys.stdin.buffer.read()
        tables, stdin_encoding = _read_csv(data, "<stdin>", encoding)
        return tables, SourceFile("<stdin>", "csv", _sha256(data), stdin_encoding)
    path = Path(source)
    name = str(source)
    fmt = _file_format(path)
    if fmt is None:
        raise InputError(
            f"unknown file type {path.suffix!r} (accepted: .geojson, .json, .gpkg, .shp, "
            ".zip with a Shapefile, .csv, .xlsx)",
            file=name,
        )
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", file=name) from exc
    used: str | None = encoding
    if fmt == "csv":
        tables, used = _read_csv(data, name, encoding)
    elif fmt == "xlsx":
        tables = _read_xlsx(data, name)
    else:
        if fmt == "shapefile" and path.suffix.lower() == ".shp":
            data = b"".join(
                p.read_bytes() for p in sorted(path.parent.glob(path.stem + ".*")) if p.is_file()
            )
        tables = _read_gis(path, fmt, data, encoding)
        if fmt == "shapefile":
            used = encoding or _shapefile_source(path, None)[1] or "from .cpg"
    return tables, SourceFile(name, fmt, _sha256(data), used)


# --- one table -------------------------------------------------------------------------------


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
            reasons[int(pos)] = _geos_reason(exc)
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
        typed_parts.append(coerce_columns(frame, SAMPLE_COLUMNS + METAL_COLUMNS, issues, heads))
    if kind == "hazards":
        typed_parts.append(coerce_columns(frame, HAZARD_COLUMNS, issues, heads))
    data = pd.concat(typed_parts, axis=1)
    parsed = Parsed(raw, kind, data, issues, mine_issues, mine_only, ignored=ignored)
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


# --- the register ----------------------------------------------------------------------------


def read_register(
    paths: Sequence[str | Path],
    *,
    crs: str | None = None,
    encoding: str | None = None,
    repair: bool = False,
    skip_invalid: bool = False,
    lonlat_wgs84: bool = False,
    progress: Callable[[str], None] | None = None,
) -> tuple[Register, ImportReport]:
    """Read register files into one :class:`Register` and an :class:`ImportReport`.

    Parameters
    ----------
    paths : sequence of str or Path
        GeoJSON, GeoPackage, Shapefile (``.shp`` or a ``.zip``), CSV or XLSX files, in any
        mix; ``-`` reads CSV from standard input. Each table is a sites, samples, hazards or
        mines table, told apart by its columns.
    crs : str, optional
        CRS of the coordinates (overrides the files' own), e.g. ``EPSG:4547``.
    encoding : str, optional
        Text encoding of CSV files and Shapefile DBFs (default: detected).
    repair : bool
        Fix invalid polygons with ``shapely.make_valid`` (keeping polygonal parts).
    skip_invalid : bool
        Drop bad records (reported in ``report.rejects``) instead of raising.
    lonlat_wgs84 : bool
        Take lon/lat columns of tables without a CRS as WGS 84 degrees.
    progress : callable, optional
        Called with each file name as it is read.

    Returns
    -------
    (Register, ImportReport)
        Geometries in EPSG:4326, site areas [hm²] from the equal-area projection.

    Raises
    ------
    InputError
        With every problem found (file, row or feature, column), unless ``skip_invalid``.
    """
    report = ImportReport()
    parsed: list[Parsed] = []
    for source in paths:
        if progress is not None:
            progress(str(source))
        tables, info = read_tables(source, encoding)
        kinds = []
        for raw in tables:
            p = parse_table(raw, crs=crs, repair=repair, lonlat_wgs84=lonlat_wgs84)
            if p is not None:
                parsed.append(p)
                report.ignored_columns += p.ignored
                report.repairs += p.repairs
                kinds.append({"table": raw.name, "kind": p.kind, "rows": len(raw.frame)})
        report.files.append(
            SourceFile(info.path, info.format, info.sha256, info.encoding, tuple(kinds))
        )
    return _assemble(parsed, report, skip_invalid)


def _tag(p: Parsed, index: int) -> pd.DataFrame:
    d = p.data.copy()
    d["_t"] = index
    d["_pos"] = np.arange(len(d))
    return d


def _assemble(
    parsed: list[Parsed], report: ImportReport, skip_invalid: bool
) -> tuple[Register, ImportReport]:
    by_kind: dict[str, list[pd.DataFrame]] = {k: [] for k in ID_OF}
    for i, p in enumerate(parsed):
        if p.kind in by_kind:
            by_kind[p.kind].append(_tag(p, i))
    mine_cols = [c.name for c in MINE_COLUMNS]
    mine_rows = pd.concat(
        [
            d[[*mine_cols, "_t", "_pos"]]
            for k in ("mines", "sites")
            for d in by_kind[k]
            if "mine_id" in d
        ]
        or [pd.DataFrame(columns=[*mine_cols, "_t", "_pos"])],
        ignore_index=True,
    )
    tables = {
        k: pd.concat(by_kind[k], ignore_index=True) if by_kind[k] else None
        for k in ("sites", "samples", "hazards")
    }
    _mine_conflicts(mine_rows, parsed)
    for kind in ("sites", "samples", "hazards"):
        _across_files(tables[kind], kind, parsed)
    _references(tables, mine_rows, parsed)

    problems = [pr for p in parsed for pr in (*p.mine_issues.problems, *p.issues.problems)]
    report.problems = problems
    if problems and not skip_invalid:
        raise InputError(problems=problems)
    return _keep_good(parsed, tables, mine_rows, report)


def _mine_conflicts(mine_rows: pd.DataFrame, parsed: list[Parsed]) -> None:
    """A mine's attributes must agree on every row (and file) that states them."""
    rows = mine_rows[mine_rows["mine_id"].notna()]
    if rows.empty:
        return
    counts = rows.groupby("mine_id")["mine_id"].transform("size")
    multi = rows[counts > 1]
    if multi.empty:
        return
    for col in [c.name for c in MINE_COLUMNS if c.name != "mine_id"]:
        keyed = multi[col].astype(object).where(multi[col].notna(), "\x00none")
        distinct = keyed.groupby(multi["mine_id"]).nunique()
        for mine_id in distinct.index[distinct > 1]:
            sel = multi[multi["mine_id"] == mine_id]
            firsts = sel.assign(_k=keyed[sel.index]).drop_duplicates("_k")
            where = []
            for _, r in firsts.iterrows():
                raw = parsed[int(r["_t"])].raw
                val = None if r["_k"] == "\x00none" else r[col]
                where.append(f"{val!r} ({raw.name}, {_where(raw.label(int(r['_pos'])))})")
            first = firsts.iloc[1]
            parsed[int(first["_t"])].mine_issues.add(
                int(first["_pos"]),
                col,
                f"mine {mine_id!r} has conflicting {col}: " + "; ".join(where),
            )


def _where(label: int | str) -> str:
    return f"row {label}" if isinstance(label, int) else str(label)


def _across_files(table: pd.DataFrame | None, kind: str, parsed: list[Parsed]) -> None:
    """An id used in two files (or sheets/layers) is a duplicate."""
    id_col = ID_OF[kind]
    if table is None or id_col not in table:
        return
    t = table[table[id_col].notna()]
    spread = t.groupby(id_col)["_t"].nunique()
    dup = spread.index[spread > 1]
    if len(dup) == 0:
        return
    for _, r in t[t[id_col].isin(dup)].iterrows():
        others = sorted(
            {parsed[int(o)].raw.name for o in t.loc[t[id_col] == r[id_col], "_t"]}
            - {parsed[int(r["_t"])].raw.name}
        )
        parsed[int(r["_t"])].issues.add(
            int(r["_pos"]), id_col, f"{id_col} {r[id_col]!r} is also in {', '.join(others)}"
        )


def _references(
    tables: dict[str, pd.DataFrame | None], mine_rows: pd.DataFrame, parsed: list[Parsed]
) -> None:
    """Samples and hazards must name a mine (and site, if any) of the imported files."""
    mines = set(mine_rows["mine_id"].dropna())
    sites = tables["sites"]
    site_mine: dict[str, str] = {}
    if sites is not None:
        s = sites[sites["site_id"].notna()]
        site_mine = dict(zip(s["site_id"], s["mine_id"], strict=True))
    for kind in ("samples", "hazards"):
        t = tables[kind]
        if t is None:
            continue
        unknown = t["mine_id"].notna() & ~t["mine_id"].isin(mines)
        for _, r in t[unknown].iterrows():
            parsed[int(r["_t"])].issues.add(
                int(r["_pos"]),
                "mine_id",
                f"mine {r['mine_id']!r} is not in the imported files",
            )
        for _, r in t[t["site_id"].notna()].iterrows():
            owner = site_mine.get(r["site_id"])
            if owner is None:
                msg = f"site {r['site_id']!r} is not in the imported files"
            elif owner != r["mine_id"]:
                msg = f"site {r['site_id']!r} belongs to mine {owner!r}, not {r['mine_id']!r}"
            else:
                continue
            parsed[int(r["_t"])].issues.add(int(r["_pos"]), "site_id", msg)


def _bad_positions(p: Parsed) -> dict[int, list[str]]:
    if p.issues.fatal or p.mine_issues.fatal:
        reasons = p.issues.fatal + p.mine_issues.fatal
        return {i: list(reasons) for i in range(len(p.raw.frame))}
    out: dict[int, list[str]] = {}
    for src in (p.mine_issues.bad, p.issues.bad):
        for pos, r in src.items():
            out.setdefault(pos, []).extend(r)
    return out


def _keep_good(
    parsed: list[Parsed],
    tables: dict[str, pd.DataFrame | None],
    mine_rows: pd.DataFrame,
    report: ImportReport,
) -> tuple[Register, ImportReport]:
    rejects: list[dict[str, Any]] = []
    bad = [_bad_positions(p) for p in parsed]
    # mines: bad if any row stating them has a mine-column problem or the table is unusable
    bad_mines: dict[str, str] = {}
    for t, p in enumerate(parsed):
        if p.kind not in ("sites", "mines") or "mine_id" not in p.data:
            continue
        ids = p.data["mine_id"].to_numpy(dtype=object)
        positions = (
            range(len(ids)) if (p.issues.fatal or p.mine_issues.fatal) else p.mine_issues.bad
        )
        for pos in positions:
            if ids[pos] is not None and ids[pos] not in bad_mines:
                bad_mines[ids[pos]] = "; ".join(bad[t].get(pos, ["rejected"]))

    def reject(t: int, pos: int, kind: str, rid: Any, reason: str) -> None:
        rejects.append(
            {
                "file": parsed[t].raw.name,
                "row": parsed[t].raw.label(pos),
                "table": kind,
                "id": rid,
                "reason": reason,
            }
        )

    # sites: drop bad rows and rows of bad mines; mines losing every site are dropped
    kept_sites = None
    sites = tables["sites"]
    if sites is not None:
        geo_rows = sites[~_mine_only(sites, parsed)]
        t_arr = geo_rows["_t"].to_numpy()
        pos_arr = geo_rows["_pos"].to_numpy()
        mine_arr = geo_rows["mine_id"].to_numpy(dtype=object)
        ok = np.ones(len(geo_rows), dtype=bool)
        for i in range(len(geo_rows)):
            t, pos = int(t_arr[i]), int(pos_arr[i])
            if pos in bad[t]:
                ok[i] = False
                reject(t, pos, "sites", geo_rows.iloc[i]["site_id"], "; ".join(bad[t][pos]))
            elif mine_arr[i] in bad_mines:
                ok[i] = False
                reject(
                    t, pos, "sites", geo_rows.iloc[i]["site_id"], f"mine {mine_arr[i]!r} rejected"
                )
        had_sites = set(geo_rows["mine_id"].dropna())
        kept_sites = geo_rows[ok]
        for m in had_sites - set(kept_sites["mine_id"]) - set(bad_mines):
            bad_mines[m] = "all its sites were rejected"
    # mines
    good_mines = mine_rows[mine_rows["mine_id"].notna() & ~mine_rows["mine_id"].isin(bad_mines)]
    rejected_mine_rows = mine_rows[mine_rows["mine_id"].isin(bad_mines)].drop_duplicates("mine_id")
    for _, r in rejected_mine_rows.iterrows():
        reject(int(r["_t"]), int(r["_pos"]), "mines", r["mine_id"], bad_mines[r["mine_id"]])
    kept_site_ids = set(kept_sites["site_id"]) if kept_sites is not None else set()
    kept: dict[str, pd.DataFrame | None] = {}
    for kind in ("samples", "hazards"):
        t_df = tables[kind]
        if t_df is None:
            kept[kind] = None
            continue
        ok = np.ones(len(t_df), dtype=bool)
        for i, (t, pos, mine, site, rid) in enumerate(
            zip(
                t_df["_t"],
                t_df["_pos"],
                t_df["mine_id"],
                t_df["site_id"],
                t_df[ID_OF[kind]],
                strict=True,
            )
        ):
            reason = None
            if pos in bad[t]:
                reason = "; ".join(bad[t][pos])
            elif mine in bad_mines:
                reason = f"mine {mine!r} rejected"
            elif site is not None and site not in kept_site_ids:
                reason = f"site {site!r} rejected"
            if reason:
                ok[i] = False
                reject(int(t), int(pos), kind, rid, reason)
        kept[kind] = t_df[ok]
    # rows of tables whose kind could not be told
    for t, p in enumerate(parsed):
        if p.kind == "unknown":
            for pos in range(len(p.raw.frame)):
                reject(t, pos, p.kind, None, "; ".join(bad[t][pos]))
    register = build_register(good_mines, kept_sites, kept["samples"], kept["hazards"])
    report.rejects = pd.DataFrame(rejects, columns=["file", "row", "table", "id", "reason"])
    report.counts = {
        "mines": len(register.mines),
        "sites": len(register.sites),
        "samples": len(register.samples),
        "hazards": len(register.hazards),
        "rejected": len(report.rejects),
        "repaired": len(report.repairs),
    }
    return register, report


def _mine_only(sites: pd.DataFrame, parsed: list[Parsed]) -> np.ndarray:
    return np.array(
        [
            parsed[int(t)].mine_only[int(pos)]
            for t, pos in zip(sites["_t"], sites["_pos"], strict=True)
        ],
        dtype=bool,
    )


def _frame(rows: pd.DataFrame | None, table: str) -> pd.DataFrame:
    template = empty_table(table)
    if rows is None or rows.empty:
        return normalize_table(template, table)
    return normalize_table(rows.reindex(columns=template.columns), table)


def build_register(
    mines: pd.DataFrame,
    sites: pd.DataFrame | None,
    samples: pd.DataFrame | None,
    hazards: pd.DataFrame | None,
) -> Register:
    """A :class:`Register` from typed rows (one mine row per mine is kept)."""
    m = mines.drop_duplicates("mine_id") if len(mines) else None
    return Register(
        _frame(m, "mines"),
        _frame(sites, "sites"),
        _frame(samples, "samples"),
        _frame(hazards, "hazards"),
    )


_KIND_OF: dict[str, dict[str, str]] = {
    "mines": {c.name: c.kind for c in MINE_COLUMNS},
    "sites": {**{c.name: c.kind for c in SITE_COLUMNS}, "area_hm2": "float"},
    "samples": {**{c.name: c.kind for c in SAMPLE_COLUMNS}, **dict.fromkeys(METALS, "float")},
    "hazards": {c.name: c.kind for c in HAZARD_COLUMNS},
}


def normalize_table(frame: pd.DataFrame, table: str) -> pd.DataFrame:
    """One dtype per column: str → object (None), float → float64, int → Int64, bool → bool,
    date → object of ``datetime.date`` (None); geometry stays object. Index reset."""
    out = {}
    for col in frame.columns:
        kind = _KIND_OF[table].get(col)
        s = frame[col]
        if kind == "float":
            out[col] = pd.to_numeric(s, errors="coerce").astype(float)
        elif kind == "int":
            out[col] = pd.to_numeric(s, errors="coerce").astype("Int64")
        elif kind == "bool":
            out[col] = s.map(lambda v: bool(v) if v is not None and not pd.isna(v) else False)
            out[col] = out[col].astype(bool)
        elif kind in ("str", "date"):
            vals = [
                None if v is None or (not hasattr(v, "__len__") and pd.isna(v)) else v for v in s
            ]
            out[col] = pd.Series(vals, index=s.index, dtype=object)
        else:
            out[col] = s.astype(object)
    return pd.DataFrame(out, columns=frame.columns).reset_index(drop=True)


# --- writing ---------------------------------------------------------------------------------


def export_tables(register: Register) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The three tables the exporters write: sites carrying their mine's columns (a mine with
    no site gets one row without site and geometry), samples and hazards. Dates as ISO text."""
    mines = normalize_table(register.mines, "mines")
    sites = normalize_table(register.sites, "sites")
    site_cols = [c.name for c in SITE_ONLY]
    merged = sites.drop(columns=["area_hm2"]).merge(mines, on="mine_id", how="left")
    merged[hd.COMPUTED_AREA] = sites["area_hm2"].to_numpy()
    lonely = mines[~mines["mine_id"].isin(sites["mine_id"])]
    out = pd.concat([merged, lonely], ignore_index=True) if len(lonely) else merged
    out = out.reindex(
        columns=[c.name for c in MINE_COLUMNS] + site_cols + [hd.COMPUTED_AREA, "geometry"]
    )
    out["water"] = out["water"].astype(object).where(out["site_id"].notna(), None)
    out["geometry"] = [g if isinstance(g, shapely.Geometry) else None for g in out["geometry"]]
    samples = normalize_table(register.samples, "samples")
    samples["sampled_on"] = samples["sampled_on"].map(
        lambda d: None if d is None else d.isoformat()
    )
    hazards = normalize_table(register.hazards, "hazards")
    return out, samples, hazards


def _points_of(frame: pd.DataFrame) -> np.ndarray:
    x = frame["lon"].to_numpy(dtype=float)
    y = frame["lat"].to_numpy(dtype=float)
    pts = shapely.points(x, y)
    out = np.asarray(pts, dtype=object)
    out[~(np.isfinite(x) & np.isfinite(y))] = None
    return out


def _json_value(v: Any) -> Any:
    if v is None or v is pd.NA:
        return None
    if isinstance(v, (np.bool_, bool)):
        return bool(v)
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        return None if np.isnan(v) else float(v)
    return v


def _geojson(frame: pd.DataFrame, geoms: np.ndarray) -> dict[str, Any]:
    cols = list(frame.columns)
    features = []
    for values, geom in zip(frame.itertuples(index=False, name=None), geoms, strict=True):
        features.append(
            {
                "type": "Feature",
                "properties": {c: _json_value(v) for c, v in zip(cols, values, strict=True)},
                "geometry": None if geom is None else shapely.geometry.mapping(geom),
            }
        )
    return {"type": "FeatureCollection", "features": features}


def _with_wkt(sites: pd.DataFrame) -> pd.DataFrame:
    out = sites.drop(columns="geometry")
    geoms = sites["geometry"].to_numpy(dtype=object)
    out["wkt"] = shapely.to_wkt(geoms, rounding_precision=-1)
    out["crs"] = [None if g is None else STORAGE_CRS for g in geoms]
    return out


def _with_crs(points: pd.DataFrame) -> pd.DataFrame:
    out = points.copy()
    has = out["lon"].notna() & out["lat"].notna()
    out["crs"] = [STORAGE_CRS if h else None for h in has]
    return out


def sibling(path: Path, table: str) -> Path:
    """``<stem>_<table><suffix>`` beside ``path`` (where samples and hazards go)."""
    return path.with_name(f"{path.stem}_{table}{path.suffix}")


def write_register(register: Register, path: str | Path, fmt: str) -> list[Path]:
    """Write a register; :func:`read_register` reads the files back to an equal register.

    Parameters
    ----------
    register : Register
        The register (geometries in EPSG:4326).
    path : str or Path
        The file to write (sites, with their mine's columns).
    fmt : {"geojson", "gpkg", "csv", "xlsx"}
        ``gpkg``: layers sites, samples and hazards in one file. ``xlsx``: sheets sites,
        samples and hazards. ``csv`` and ``geojson``: samples and hazards go to
        ``<stem>_samples`` and ``<stem>_hazards`` beside ``path`` (only when there are any).
        Coordinates keep full double precision (shortest round-trip text).

    Returns
    -------
    list of Path
        The files written.
    """
    path = Path(path)
    if fmt not in FORMATS:
        raise InputError(f"unknown export format {fmt!r} (accepted: {', '.join(FORMATS)})")
    sites, samples, hazards = export_tables(register)
    written = [path]
    if fmt == "geojson":
        path.write_text(
            json.dumps(
                _geojson(sites.drop(columns="geometry"), sites["geometry"].to_numpy()),
                ensure_ascii=False,
            ),
            encoding="utf-8",
        )
        for name, t in (("samples", samples), ("hazards", hazards)):
            if len(t):
                target = sibling(path, name)
                target.write_text(
                    json.dumps(
                        _geojson(t.drop(columns=["lon", "lat"]), _points_of(t)), ensure_ascii=False
                    ),
                    encoding="utf-8",
                )
                written.append(target)
    elif fmt == "gpkg":
        import geopandas as gpd

        if path.exists():
            path.unlink()
        layers = (
            ("sites", sites.drop(columns="geometry"), sites["geometry"].to_numpy()),
            ("samples", samples.drop(columns=["lon", "lat"]), _points_of(samples)),
            ("hazards", hazards.drop(columns=["lon", "lat"]), _points_of(hazards)),
        )
        for layer, frame, geoms in layers:
            gdf = gpd.GeoDataFrame(frame, geometry=list(geoms), crs=STORAGE_CRS)
            for c in gdf.columns:
                if gdf[c].dtype == object and c != "geometry":
                    gdf[c] = gdf[c].astype(object)
            pyogrio.write_dataframe(
                gdf,
                path,
                layer=layer,
                driver="GPKG",
                promote_to_multi=False,
                geometry_type="Unknown",
            )
    elif fmt == "csv":
        _with_wkt(sites).to_csv(path, index=False, encoding="utf-8-sig")
        for name, t in (("samples", samples), ("hazards", hazards)):
            if len(t):
                target = sibling(path, name)
                _with_crs(t).to_csv(target, index=False, encoding="utf-8-sig")
                written.append(target)
    else:
        wkt = _with_wkt(sites)
        too_long = wkt["wkt"].str.len() > 32_767
        if too_long.any():
            raise InputError(
                f"{int(too_long.sum())} polygon(s) are too detailed for an Excel cell "
                "(32 767 characters); export to gpkg or geojson",
                file=str(path),
            )
        with pd.ExcelWriter(path, engine="openpyxl") as xw:
            wkt.to_excel(xw, sheet_name="sites", index=False)
            _with_crs(samples).to_excel(xw, sheet_name="samples", index=False)
            _with_crs(hazards).to_excel(xw, sheet_name="hazards", index=False)
    return written
