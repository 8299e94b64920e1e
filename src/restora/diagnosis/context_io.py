"""Reading the diagnosis's side inputs: the context GeoPackage and a pollution-class CSV.

The context GeoPackage holds the layers ``towns`` (points with ``population``), ``roads``,
``ecological_redline``, ``permanent_basic_farmland``, ``urban_development_boundary`` and,
for maps, ``county_boundary``, all in one projected CRS (metres). The pure functions of
:mod:`restora.diagnosis.county` and :mod:`restora.diagnosis.location` take what these return.
"""

from __future__ import annotations

import sys
from typing import Any

import pandas as pd

from restora.diagnosis import suitability
from restora.errors import InputError

CONTEXT_LAYERS = (
    "towns",
    "roads",
    "ecological_redline",
    "permanent_basic_farmland",
    "urban_development_boundary",
)
MAP_LAYERS = ("county_boundary",)


def read_context(path: str | None, *, extra_layers: tuple[str, ...] = ()) -> dict[str, Any]:
    """Context layers from a GeoPackage: ``{layer: GeoDataFrame}`` (absent layers omitted).

    Parameters
    ----------
    path : str or None
        The GeoPackage; None or empty gives ``{}``.
    extra_layers : tuple of str
        Further layers to read when present (e.g. :data:`MAP_LAYERS` for maps).

    Returns
    -------
    dict
        One GeoDataFrame per layer found, all in the first layer's projected CRS [m];
        the ``"crs"`` key holds that CRS as a string.

    Raises
    ------
    InputError
        The file cannot be read, or a layer is not in a projected CRS.
    """
    if not path:
        return {}
    import geopandas as gpd
    import pyogrio

    try:
        available = {str(row[0]) for row in pyogrio.list_layers(path)}
    except Exception as exc:
        raise InputError(f"cannot read context GeoPackage: {exc}", file=path) from exc
    out: dict[str, Any] = {}
    crs = None
    for layer in (*CONTEXT_LAYERS, *extra_layers):
        if layer not in available:
            continue
        gdf = gpd.read_file(path, layer=layer)
        if gdf.crs is None or not gdf.crs.is_projected:
            raise InputError(
                f"layer {layer!r} must be in a projected CRS in metres (e.g. EPSG:4547)",
                file=path,
            )
        if crs is None:
            crs = gdf.crs
        elif gdf.crs != crs:
            gdf = gdf.to_crs(crs)
        out[layer] = gdf
    if crs is not None:
        out["crs"] = crs.to_string()
    return out


def read_pollution(path: str | None) -> pd.DataFrame | None:
    """A CSV of ``site_id`` or ``mine_id`` with ``pollution_class`` (``-`` is stdin).

    Raises
    ------
    InputError
        Unreadable file, missing columns, or a class not in
        :data:`restora.diagnosis.suitability.POLLUTION_CLASSES` (naming the row).
    """
    if not path:
        return None
    src: Any = sys.stdin if path == "-" else path
    try:
        frame = pd.read_csv(src, dtype=str)
    except (OSError, pd.errors.ParserError) as exc:
        raise InputError(f"cannot read CSV: {exc}", file=path) from exc
    if "pollution_class" not in frame.columns:
        raise InputError("no column 'pollution_class'", file=path, field="pollution_class")
    if "site_id" not in frame.columns and "mine_id" not in frame.columns:
        raise InputError("needs a column 'site_id' or 'mine_id'", file=path, field="site_id")
    for i, v in enumerate(frame["pollution_class"]):
        if isinstance(v, str) and v not in suitability.POLLUTION_CLASSES:
            raise InputError(
                f"{v!r} is not one of {', '.join(suitability.POLLUTION_CLASSES)}",
                file=path,
                row=i + 1,
                field="pollution_class",
            )
    return frame
