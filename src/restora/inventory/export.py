"""Writing the register: GeoJSON, GeoPackage, CSV and XLSX that read back to an equal register.

See :func:`write_register`; :func:`restora.inventory.io.read_register` reads the files back.
Text a spreadsheet would run as a formula (a site name ``=HYPERLINK(...)``) is never written as
one: quoted in CSV, a text cell in XLSX (:mod:`restora.cells`, docs/register.md).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyogrio
import shapely

from restora.cells import escape_frame, protect_sheet
from restora.errors import InputError
from restora.inventory import headers as hd
from restora.inventory.censored import limit_text, number_text
from restora.inventory.geometry import STORAGE_CRS
from restora.inventory.model import DETECTION_LIMIT_COLUMNS, Register
from restora.inventory.schema import (
    HAZARD_COLUMNS,
    METALS,
    MINE_COLUMNS,
    SAMPLE_COLUMNS,
    SITE_COLUMNS,
)

FORMATS = ("geojson", "gpkg", "csv", "xlsx")
SITE_ONLY = tuple(c for c in SITE_COLUMNS if c.name != "mine_id")


_KIND_OF: dict[str, dict[str, str]] = {
    "mines": {c.name: c.kind for c in MINE_COLUMNS},
    "sites": {**{c.name: c.kind for c in SITE_COLUMNS}, "area_hm2": "float"},
    "samples": {
        **{c.name: c.kind for c in SAMPLE_COLUMNS},
        **dict.fromkeys(METALS, "float"),
        **dict.fromkeys(DETECTION_LIMIT_COLUMNS.values(), "float"),
    },
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
            obj = s.astype(object)
            out[col] = obj.where(obj.notna(), None)
        else:
            out[col] = s.astype(object)
    return pd.DataFrame(out, columns=frame.columns).reset_index(drop=True)


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
    samples = censored_as_written(normalize_table(register.samples, "samples"))
    samples["sampled_on"] = samples["sampled_on"].map(
        lambda d: None if d is None else d.isoformat()
    )
    hazards = normalize_table(register.hazards, "hazards")
    return out, samples, hazards


def censored_as_written(samples: pd.DataFrame) -> pd.DataFrame:
    """Samples as a lab writes them: a result with a stated detection limit x is the text ``<x``.

    The detection-limit columns are dropped: the reader takes each limit back from its ``<x``
    cell (:mod:`restora.inventory.censored`), so an export read back keeps the limit and the
    substitute. A metal column holding such a result holds numbers and ``<x`` texts.
    """
    out = samples.drop(columns=[c for c in DETECTION_LIMIT_COLUMNS.values() if c in samples])
    for metal, col in DETECTION_LIMIT_COLUMNS.items():
        if col not in samples.columns or metal not in samples.columns:
            continue
        limit = pd.to_numeric(samples[col], errors="coerce").to_numpy(dtype=float)
        stated = np.isfinite(limit)
        if not stated.any():
            continue
        cells = out[metal].astype(object).where(out[metal].notna(), None).to_numpy(copy=True)
        cells[stated] = [limit_text(x) for x in limit[stated]]
        out[metal] = pd.Series(cells, index=out.index, dtype=object)
    return out


def _uniform_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Columns mixing numbers and text (``12.5`` and ``<70``) written as text throughout.

    GeoJSON readers type a property from all its values; a mix is read as JSON text with a
    warning. Numbers become their shortest exact text, so they read back bit for bit.
    """
    out = frame.copy()
    for col in out.columns:
        values = out[col].to_numpy(dtype=object)
        has_text = any(isinstance(v, str) for v in values)
        has_number = any(isinstance(v, float | int | np.floating) for v in values)
        if has_text and has_number:
            out[col] = [
                _shortest(v) if isinstance(v, float | int | np.floating) else v for v in values
            ]
    return out


def _shortest(v: Any) -> str | None:
    return None if pd.isna(v) else number_text(float(v))


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
        Coordinates keep full double precision (shortest round-trip text). Text cells that
        begin with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return (OWASP's formula
        triggers) are written with a leading ``'`` in CSV and as text cells with Excel's
        quote prefix in XLSX (the text unchanged); numbers, negative ones too, stay numbers.

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
                        _geojson(_uniform_text(t.drop(columns=["lon", "lat"])), _points_of(t)),
                        ensure_ascii=False,
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
        escape_frame(_with_wkt(sites)).to_csv(path, index=False, encoding="utf-8-sig")
        for name, t in (("samples", samples), ("hazards", hazards)):
            if len(t):
                target = sibling(path, name)
                escape_frame(_with_crs(t)).to_csv(target, index=False, encoding="utf-8-sig")
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
            for sheet in xw.sheets.values():
                protect_sheet(sheet)
    return written
