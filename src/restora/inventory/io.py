"""Reading and writing the register: GeoJSON, GeoPackage, Shapefile, CSV and XLSX.

:func:`read_register` reads any mix of files into one :class:`~restora.inventory.model.Register`
plus an :class:`ImportReport`; :func:`write_register` writes a register in one of four formats
that :func:`read_register` reads back to an equal register. Rules (headers, encodings, CRS,
validation) are described in ``docs/register.md``.

Geometries are stored in lon/lat (EPSG:4326); site areas [hm²] are computed from them in an
equal-area projection (:func:`restora.inventory.geometry.equal_area_hm2`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import sys
import warnings
import zipfile
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyogrio
import shapely

from restora.cells import csv_untext
from restora.errors import InputError, Problem
from restora.inventory.export import FORMATS, export_tables, normalize_table, write_register
from restora.inventory.model import Register, empty_table
from restora.inventory.parse import (
    ID_OF,
    Parsed,
    RawTable,
    geos_reason,
    parse_table,
    units_per_hm2,
)
from restora.inventory.schema import METALS, MINE_COLUMNS
from restora.inventory.sheets import Sheet, read_text_table, read_xls, read_xlsx, workbook_kind
from restora.inventory.validate import Repair
from restora.inventory.validate import area_tolerance as area_tolerance_in_force
from restora.textio import decode_text

__all__ = [
    "FORMATS",
    "ImportReport",
    "SourceFile",
    "export_tables",
    "read_register",
    "read_tables",
    "register_from_tables",
    "write_register",
]

GIS_SUFFIXES = {".geojson": "geojson", ".json": "geojson", ".gpkg": "gpkg", ".shp": "shapefile"}
TABLE_SUFFIXES = {
    ".csv": "csv",
    ".txt": "csv",
    ".tsv": "csv",
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
    ".xls": "xls",
}


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
    import was asked to skip invalid records). ``sample_origins`` says where each imported
    sample was read: ``sample_id``, ``file`` (with sheet or layer), ``row`` (1-based data row;
    the feature number in a GIS layer) and ``columns`` (``{metal: header as written}``), for
    messages about its
    values (e.g. :func:`restora.diagnosis.county.sample_plausibility`). ``origins`` does the
    same for every kept record, per table (``mines``, ``sites``, ``samples``, ``hazards``):
    ``id``, ``file``, ``row`` (first row stating a mine) and ``given`` (the register columns
    the record's table gave, a frozenset; for a mine, those of every table stating it), so a
    store can name the file and row of a record and leave alone the columns a file did not give.
    """

    files: list[SourceFile] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    repairs: list[Repair] = field(default_factory=list)
    rejects: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=["file", "row", "table", "id", "reason"])
    )
    ignored_columns: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    sample_origins: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=["sample_id", "file", "row", "columns"])
    )
    origins: dict[str, pd.DataFrame] = field(default_factory=dict)

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


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _raw(sheet: Sheet) -> RawTable:
    header = sheet.header
    return RawTable(
        sheet.name,
        sheet.frame,
        gis=False,
        header_row=None if header is None else header.row + 1,
        header_rows=1 if header is None else header.rows,
    )


def _read_csv(data: bytes, name: str, encoding: str | None) -> tuple[list[RawTable], str]:
    """A CSV or tab-separated text (UTF-8, UTF-16 with BOM, GBK …; title rows allowed)."""
    text, used = decode_text(data, name, encoding)
    table = _raw(read_text_table(text, name))
    # exports escape formula-like text with a leading quote (OWASP): read it back as written
    frame = table.frame.apply(lambda c: c.map(csv_untext) if c.dtype == object else c)
    return [dataclasses.replace(table, frame=frame)], used


def _read_workbook(data: bytes, name: str, fmt: str) -> list[RawTable]:
    """Every sheet with cells of an ``.xlsx`` or ``.xls`` (told by its bytes, not its name)."""
    kind = workbook_kind(data) or fmt
    sheets = read_xls(data, name) if kind == "xls" else read_xlsx(data, name)
    return [_raw(sh) for sh in sheets if sh.header is not None]


def _dbf_encoding(dbf: bytes) -> str:
    """UTF-8 if the DBF's records decode as UTF-8, else GB18030 (a superset of GBK)."""
    header_len = int.from_bytes(dbf[8:10], "little") if len(dbf) >= 10 else 0
    try:
        dbf[header_len:].decode("utf-8")
    except UnicodeDecodeError:
        return "GB18030"
    return "UTF-8"


def _shapefile_source(
    path: Path, encoding: str | None, name: str | None = None
) -> tuple[str, str | None]:
    """GDAL path of a (zipped) Shapefile and the encoding to read its DBF with (``name``: the
    file as messages show it, default its path)."""
    shown = name or str(path)
    if path.suffix.lower() == ".zip":
        try:
            zf = zipfile.ZipFile(path)
        except zipfile.BadZipFile as exc:
            raise InputError(f"not a readable zip file ({exc})", file=shown) from exc
        with zf:
            names = zf.namelist()
            shps = [n for n in names if n.lower().endswith(".shp")]
            if not shps:
                raise InputError("the zip file holds no .shp", file=shown)
            if len(shps) > 1:
                raise InputError(
                    f"the zip file holds several shapefiles ({', '.join(shps)}); zip one",
                    file=shown,
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
            out[pos] = geos_reason(exc)
    return out


def _read_gis(
    path: Path, fmt: str, data: bytes, encoding: str | None, name: str | None = None
) -> list[RawTable]:
    name = name or str(path)
    if fmt == "shapefile":
        source, encoding = _shapefile_source(path, encoding, name)
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
        except pyogrio.errors.CRSError as exc:
            where = "the .prj file" if fmt == "shapefile" else "the file's CRS"
            raise InputError(
                f"unknown CRS: {where} cannot be parsed ({exc}); fix it, or remove it and pass --crs",
                file=name,
                field="crs",
            ) from exc
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
    source: str | Path, encoding: str | None = None, *, name: str | None = None
) -> tuple[list[RawTable], SourceFile]:
    """Raw tables of one file (``-`` reads CSV from standard input) and its description.

    ``name`` is the file as messages and the report name it (default its path as given), e.g.
    the name of an uploaded file saved under a temporary folder.
    """
    if str(source) == "-":
        data = sys.stdin.buffer.read()
        tables, stdin_encoding = _read_csv(data, "<stdin>", encoding)
        _no_records(tables, "<stdin>")
        return tables, SourceFile("<stdin>", "csv", _sha256(data), stdin_encoding)
    path = Path(source)
    name = name or str(source)
    fmt = _file_format(path)
    if fmt is None:
        raise InputError(
            f"unknown file type {path.suffix!r} (accepted: .geojson, .json, .gpkg, .shp, "
            ".zip with a Shapefile, .csv, .tsv, .txt, .xlsx, .xls)",
            file=name,
        )
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", file=name) from exc
    used: str | None = encoding
    if fmt == "csv":
        tables, used = _read_csv(data, name, encoding)
    elif fmt in ("xlsx", "xls"):
        tables = _read_workbook(data, name, fmt)
    else:
        if fmt == "shapefile" and path.suffix.lower() == ".shp":
            data = b"".join(
                p.read_bytes() for p in sorted(path.parent.glob(path.stem + ".*")) if p.is_file()
            )
        tables = _read_gis(path, fmt, data, encoding, name)
        if fmt == "shapefile":
            used = encoding or _shapefile_source(path, None, name)[1] or "from .cpg"
    _no_records(tables, name)
    return tables, SourceFile(name, fmt, _sha256(data), used)


def _no_records(tables: list[RawTable], name: str) -> None:
    """A file with a header but no data rows (or no table at all) is an error, not 0 records."""
    if any(len(t.frame) for t in tables):
        return
    heads = next((t.frame.columns for t in tables if len(t.frame.columns)), None)
    if heads is not None:
        shown = ", ".join(str(h) for h in list(heads)[:6]) + (", …" if len(heads) > 6 else "")
        raise InputError(f"has a header ({shown}) but no data rows: nothing to import", file=name)
    raise InputError("is empty: no table with a header and data rows", file=name)


# --- the register ----------------------------------------------------------------------------


def read_register(
    paths: Sequence[str | Path],
    *,
    crs: str | None = None,
    encoding: str | None = None,
    repair: bool = False,
    skip_invalid: bool = False,
    lonlat_wgs84: bool = False,
    area_unit: str | None = None,
    area_tolerance: float | None = None,
    progress: Callable[[str], None] | None = None,
    store_mines: Collection[str] | None = None,
    store_sites: Mapping[str, str] | None = None,
    names: Sequence[str] | None = None,
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
    area_unit : str, optional
        Unit of an area column whose header names none (``面积``): ``mu`` (亩), ``hm2``,
        ``m2`` … (:mod:`restora.units`).
    area_tolerance : float, optional
        Largest relative difference accepted between a site's declared area and its polygon's
        area [1]; default the reference table ``inventory/declared-area-tolerance``.
    progress : callable, optional
        Called with each file name as it is read.
    store_mines, store_sites : optional
        Mines (ids) and sites (site id → its mine id) already in the store: samples, hazards
        and sites may refer to them as well as to the files' own.
    names : sequence of str, optional
        Each file as messages and the report name it (default its path), e.g. an uploaded
        file's own name when it was saved under a temporary folder.

    Returns
    -------
    (Register, ImportReport)
        Geometries in EPSG:4326, site areas [hm²] from the equal-area projection.

    Raises
    ------
    InputError
        With every problem found (file, row or feature, column), unless ``skip_invalid``.
    """
    if names is not None and len(names) != len(paths):
        raise ValueError("names must name every path")
    area_tolerance = _checked_area_options(area_unit, area_tolerance)
    sources = []
    for i, source in enumerate(paths):
        shown = names[i] if names is not None else None
        if progress is not None:
            progress(shown or str(source))
        sources.append(read_tables(source, encoding, name=shown))
    return register_from_tables(
        sources,
        crs=crs,
        repair=repair,
        skip_invalid=skip_invalid,
        lonlat_wgs84=lonlat_wgs84,
        area_unit=area_unit,
        area_tolerance=area_tolerance,
        store_mines=store_mines,
        store_sites=store_sites,
    )


def _checked_area_options(area_unit: str | None, area_tolerance: float | None) -> float:
    """The area tolerance to use [1] (the reference table's by default); bad options raise."""
    if area_unit is not None:
        try:
            units_per_hm2(area_unit)
        except ValueError as exc:
            raise InputError(
                f"unknown area unit {area_unit!r}: {exc}", field="--area-unit"
            ) from exc
    if area_tolerance is None:
        return area_tolerance_in_force()
    if not area_tolerance >= 0:
        raise InputError(
            f"the area tolerance must be a fraction ≥ 0 (0.05 = 5 %), not {area_tolerance!r}",
            field="--area-tolerance",
        )
    return area_tolerance


def register_from_tables(
    sources: Sequence[tuple[Sequence[RawTable], SourceFile]],
    *,
    crs: str | None = None,
    repair: bool = False,
    skip_invalid: bool = False,
    lonlat_wgs84: bool = False,
    area_unit: str | None = None,
    area_tolerance: float | None = None,
    store_mines: Collection[str] | None = None,
    store_sites: Mapping[str, str] | None = None,
) -> tuple[Register, ImportReport]:
    """A :class:`Register` and its :class:`ImportReport` from tables already read.

    The checks and typing of :func:`read_register` (which reads files and calls this), for
    tables that come from elsewhere, e.g. the records of an API request as a
    :class:`~restora.inventory.parse.RawTable` of canonical column names. ``sources`` pairs
    each file's raw tables with its :class:`SourceFile`; the other parameters are those of
    :func:`read_register`.
    """
    area_tolerance = _checked_area_options(area_unit, area_tolerance)
    report = ImportReport()
    parsed: list[Parsed] = []
    for tables, info in sources:
        kinds = []
        for raw in tables:
            p = parse_table(
                raw,
                crs=crs,
                repair=repair,
                lonlat_wgs84=lonlat_wgs84,
                area_unit=area_unit,
                area_tolerance=area_tolerance,
            )
            if p is not None:
                parsed.append(p)
                report.ignored_columns += p.ignored
                report.repairs += p.repairs
                kinds.append(
                    {
                        "table": raw.name,
                        "kind": p.kind,
                        "rows": len(raw.frame),
                        "columns": sorted(p.headers),
                        **_header_place(raw),
                    }
                )
        report.files.append(
            SourceFile(info.path, info.format, info.sha256, info.encoding, tuple(kinds))
        )
    store = (set(store_mines or ()), dict(store_sites or {}))
    return _assemble(parsed, report, skip_invalid, store if store_mines is not None else None)


def _header_place(raw: RawTable) -> dict[str, int]:
    """Where a sheet's or text file's header was found (1-based row, rows it spans)."""
    if raw.header_row is None:
        return {}
    return {"header_row": raw.header_row, "header_rows": raw.header_rows}


def _tag(p: Parsed, index: int) -> pd.DataFrame:
    d = p.data.copy()
    d["_t"] = index
    d["_pos"] = np.arange(len(d))
    return d


StoreIds = tuple[set[str], dict[str, str]]  # mines, site → mine already in the store


def _assemble(
    parsed: list[Parsed], report: ImportReport, skip_invalid: bool, store: StoreIds | None = None
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
    _references(tables, mine_rows, parsed, store)

    problems = [pr for p in parsed for pr in (*p.mine_issues.problems, *p.issues.problems)]
    report.problems = problems
    if problems and not skip_invalid:
        raise InputError(problems=problems)
    return _keep_good(parsed, tables, mine_rows, report, store)


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
    tables: dict[str, pd.DataFrame | None],
    mine_rows: pd.DataFrame,
    parsed: list[Parsed],
    store: StoreIds | None = None,
) -> None:
    """Samples and hazards must name a mine (and site, if any) of the files or the store."""
    mines = set(mine_rows["mine_id"].dropna()) | (store[0] if store else set())
    where = (
        "is neither in the imported files nor in the store"
        if store
        else "is not in the imported files"
    )
    sites = tables["sites"]
    site_mine: dict[str, str] = dict(store[1]) if store else {}
    if sites is not None:
        s = sites[sites["site_id"].notna()]
        site_mine.update(zip(s["site_id"], s["mine_id"], strict=True))
    for kind in ("samples", "hazards"):
        t = tables[kind]
        if t is None:
            continue
        unknown = t["mine_id"].notna() & ~t["mine_id"].isin(mines)
        for _, r in t[unknown].iterrows():
            parsed[int(r["_t"])].issues.add(
                int(r["_pos"]),
                "mine_id",
                f"mine {r['mine_id']!r} {where}",
            )
        for _, r in t[t["site_id"].notna()].iterrows():
            owner = site_mine.get(r["site_id"])
            if owner is None:
                msg = f"site {r['site_id']!r} {where}"
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
    store: StoreIds | None = None,
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
    kept_site_ids |= set(store[1]) if store else set()
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
    report.sample_origins = _origins(kept["samples"], parsed)
    report.origins = {
        "mines": _record_origins(
            mine_rows[mine_rows["mine_id"].isin(register.mines["mine_id"])], "mines", parsed
        ),
        "sites": _record_origins(kept_sites, "sites", parsed),
        "samples": _record_origins(kept["samples"], "samples", parsed),
        "hazards": _record_origins(kept["hazards"], "hazards", parsed),
    }
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


def _origins(samples: pd.DataFrame | None, parsed: list[Parsed]) -> pd.DataFrame:
    """Where each kept sample was read: file, row label and its metal columns' headers."""
    if samples is None or samples.empty:
        return pd.DataFrame(columns=["sample_id", "file", "row", "columns"])
    rows = []
    for sid, t, pos in zip(samples["sample_id"], samples["_t"], samples["_pos"], strict=True):
        p = parsed[int(t)]
        heads = {m: p.headers[m] for m in METALS if m in p.headers}
        rows.append({"sample_id": sid, "file": p.raw.name, "row": int(pos) + 1, "columns": heads})
    return pd.DataFrame(rows, columns=["sample_id", "file", "row", "columns"])


def _record_origins(rows: pd.DataFrame | None, kind: str, parsed: list[Parsed]) -> pd.DataFrame:
    """``id``, ``file``, ``row`` and ``given`` columns of each record (see ImportReport)."""
    columns = ["id", "file", "row", "given"]
    if rows is None or rows.empty:
        return pd.DataFrame(columns=columns)
    id_col = ID_OF[kind]
    mine_cols = {c.name for c in MINE_COLUMNS}
    given = np.empty(len(parsed), dtype=object)
    given[:] = [
        frozenset(p.headers) & mine_cols
        if kind == "mines"
        # a GIS layer's geometry gives the points (lon/lat) of samples and hazards
        else frozenset(p.headers) | ({"geometry"} if p.raw.geometry is not None else set())
        for p in parsed
    ]
    rows = rows[rows[id_col].notna()]
    t = rows["_t"].to_numpy(dtype=int)
    first = ~rows[id_col].duplicated().to_numpy()
    out = pd.DataFrame(
        {
            "id": rows[id_col].to_numpy(dtype=object)[first],
            "file": np.array([p.raw.name for p in parsed], dtype=object)[t[first]],
            "row": [
                parsed[int(i)].raw.label(int(pos))
                for i, pos in zip(t[first], rows["_pos"].to_numpy()[first], strict=True)
            ],
            "given": given[t[first]],
        }
    )
    if kind == "mines" and len(np.unique(t)) > 1:
        # a mine stated by several tables: the columns of each of them
        pairs = pd.DataFrame({"id": rows[id_col].to_numpy(dtype=object), "t": t})
        tables = pairs.drop_duplicates().groupby("id", sort=False)["t"].agg(tuple)
        union = {ts: frozenset().union(*given[list(ts)]) for ts in set(tables)}
        out["given"] = out["id"].map(tables).map(union)
    return out


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
