"""``restora diagnose hazards|suitability``: geohazard danger grades and land suitability.

The ``diagnose`` group (``restora.cli.diagnose``) calls :func:`add_commands` to add the commands.
Both read the register from the store (``--db``, default :func:`restora.store.default_url`) or
from files (``--hazards hazards.csv``; ``--sites sites.gpkg|sites.csv``), and an optional
context GeoPackage (layers ``towns`` with ``population``, ``roads``, ``ecological_redline``,
``permanent_basic_farmland``, ``urban_development_boundary``; one projected CRS).

JSON contracts (stable)::

    diagnose hazards:
    {"hazards": [{"hazard_id", "mine_id", "kind", "scale", "threat", "threat_adjusted",
                  "grade", "rule_codes": [str]}],
     "mines": [{"mine_id", "grade": "high|medium|low|none", "hazards": int,
                "rule_codes": [str]}],
     "rule_codes": [str], "reference_tables": [provenance]}

    diagnose suitability:
    {"sites": [{"site_id", "mine_id", "best_use", "options": [{"use", "rank", "rule_codes"}],
                "excluded": [{"use", "rule_codes"}], "inputs": {...site inputs...}}],
     "rule_codes": [str], "reference_tables": [provenance], "pollution_source": str,
     "context": {layer: bool}}

Pollution classes for suitability come from ``--pollution`` (CSV of ``site_id`` or ``mine_id``
with ``pollution_class``) or, reading from the store, from the register's farmland samples
classified against GB 15618-2018 (a site takes the worst class of its samples; a site without
samples is unknown).
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np
import pandas as pd
import typer

from restora.cli.output import DbOption, Format, FormatOption, OnOption, emit, handled
from restora.diagnosis import hazard, suitability
from restora.diagnosis.context_io import CONTEXT_LAYERS, read_context, read_pollution
from restora.diagnosis.county import (
    ZONE_FLAGS,
    classify_samples,
    mine_location,
    site_context,
    suitability_inputs,
    worst_class,
)
from restora.errors import InputError
from restora.inventory.model import Register
from restora.inventory.schema import (
    HAZARD_COLUMNS,
    HAZARD_KIND_CHOICES,
    HAZARD_KINDS,
    SITE_COLUMNS,
    Column,
)

# Re-exported for callers of the former home of these functions.
__all__ = [
    "CONTEXT_LAYERS",
    "ZONE_FLAGS",
    "add_commands",
    "classify_samples",
    "load_register",
    "mine_location",
    "read_context",
    "read_pollution",
    "site_context",
    "worst_class",
]


def add_commands(app: typer.Typer) -> None:
    """Add ``hazards`` and ``suitability`` to the ``diagnose`` group ``app``."""
    app.command("hazards")(hazards_command)
    app.command("suitability")(suitability_command)


# --- inputs (I/O at the edge) -------------------------------------------------------------


def load_register(db: str | None, mine_ids: list[str] | None = None) -> Register:
    """The register from the store at ``db`` (default: :func:`restora.store.default_url`)."""
    from restora.store import Store, default_url

    store = Store(db or default_url())
    try:
        return store.load_register(mine_ids or None)
    finally:
        store.close()


def _rename(frame: pd.DataFrame, columns: tuple[Column, ...]) -> pd.DataFrame:
    lookup: dict[str, str] = {}
    for c in columns:
        for alias in (c.name, *c.aliases):
            lookup[alias.strip().lower()] = c.name
    return frame.rename(columns=lambda h: lookup.get(str(h).strip().lower(), str(h)))


def read_hazards_csv(path: str) -> pd.DataFrame:
    """A hazards CSV (English or Chinese headers, see the register schema); ``-`` is stdin."""
    src: Any = sys.stdin if path == "-" else path
    try:
        frame = pd.read_csv(src, dtype=str, keep_default_na=False, na_values=[""])
    except (OSError, pd.errors.ParserError) as exc:
        raise InputError(f"cannot read CSV: {exc}", file=path) from exc
    frame = _rename(frame, HAZARD_COLUMNS)
    for col in ("hazard_id", "mine_id", "kind"):
        if col not in frame.columns:
            raise InputError(f"no column {col!r}", file=path, field=col)
    kinds = frame["kind"].astype(str).str.strip().str.lower().map(HAZARD_KIND_CHOICES)
    bad = kinds.isna()
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(
            f"{frame['kind'].iloc[i]!r} is not a hazard kind ({', '.join(HAZARD_KINDS)})",
            file=path,
            row=i + 1,
            field="kind",
        )
    frame["kind"] = kinds
    return frame


def read_sites_file(path: str) -> pd.DataFrame:
    """Sites from a GeoPackage/GeoJSON/shapefile (geometry kept, in EPSG:4326) or a CSV."""
    if path == "-" or path.lower().endswith(".csv"):
        src: Any = sys.stdin if path == "-" else path
        try:
            frame = pd.read_csv(src)
        except (OSError, pd.errors.ParserError) as exc:
            raise InputError(f"cannot read CSV: {exc}", file=path) from exc
        frame = _rename(frame, SITE_COLUMNS)
    else:
        import geopandas as gpd

        try:
            gdf = (
                gpd.read_file(path, layer="sites")
                if path.endswith(".gpkg")
                else gpd.read_file(path)
            )
        except Exception as exc:  # pyogrio raises several types for unreadable files
            raise InputError(f"cannot read sites: {exc}", file=path) from exc
        if gdf.crs is None:
            raise InputError("the sites layer has no CRS", file=path)
        gdf = gdf.to_crs("EPSG:4326")
        frame = _rename(pd.DataFrame(gdf.drop(columns="geometry")), SITE_COLUMNS)
        frame["geometry"] = gdf.geometry.to_numpy()
    if "site_id" not in frame.columns:
        raise InputError("no column 'site_id'", file=path, field="site_id")
    if "mine_id" not in frame.columns:
        frame["mine_id"] = None
    return frame


# --- commands -------------------------------------------------------------------------------


def hazards_command(
    db: str | None = DbOption,
    hazards_file: str = typer.Option(
        None, "--hazards", help="Read hazards from this CSV instead of the store (- for stdin)."
    ),
    mine: list[str] = typer.Option(None, "--mine", help="Only these mines (repeatable)."),
    on: str | None = OnOption,
    region: str = typer.Option(
        None, "--region", help="6-digit GB/T 2260 code for regional tables."
    ),
    fmt: Format = FormatOption,
) -> None:
    """Grade each geohazard and each mine high / medium / low (DZ/T 0286-2015 danger matrix)."""
    with handled():
        tables = hazard.load_tables(on=on, region=region)
        if hazards_file:
            frame = read_hazards_csv(hazards_file)
            if mine:
                frame = frame[frame["mine_id"].isin(mine)]
            mine_ids = list(dict.fromkeys(frame["mine_id"]))
        else:
            reg = load_register(db, mine)
            frame = reg.hazards
            mine_ids = list(reg.mines["mine_id"])
        graded = hazard.grade_hazards(frame.reset_index(drop=True), tables)
        mines = hazard.grade_mines(graded, mine_ids)
        codes = sorted({c for cs in mines["rule_codes"] for c in cs})
        data = {
            "hazards": graded.to_dict("records"),
            "mines": mines.to_dict("records"),
            "rule_codes": codes,
            "reference_tables": list(tables.provenance),
        }
        if fmt == Format.json:
            emit(data, fmt)
            return
        rows = graded.merge(
            mines[["mine_id", "grade"]].rename(columns={"grade": "mine_grade"}),
            on="mine_id",
            how="left",
        )
        emit(
            data,
            fmt,
            rows=rows.to_dict("records"),
            title="Geohazard danger grades (DZ/T 0286-2015)",
        )
        if fmt == Format.table:
            emit(mines.to_dict("records"), fmt, title="Mines")
            emit(
                list(tables.provenance),
                fmt,
                columns=["name", "version", "valid_from", "source"],
                title="Reference tables",
            )


def suitability_command(
    db: str | None = DbOption,
    sites_file: str = typer.Option(
        None,
        "--sites",
        help="Read sites from this GeoPackage (layer 'sites'), GeoJSON or CSV instead of the store.",
    ),
    context: str = typer.Option(
        None,
        "--context",
        help="Context GeoPackage: towns, roads, ecological_redline, permanent_basic_farmland, urban_development_boundary.",
    ),
    pollution: str = typer.Option(
        None,
        "--pollution",
        help="CSV of site_id or mine_id with pollution_class (from `restora diagnose soil`).",
    ),
    mine: list[str] = typer.Option(None, "--mine", help="Only these mines (repeatable)."),
    all_options: bool = typer.Option(False, "--all", help="Table/CSV: list excluded uses too."),
    on: str | None = OnOption,
    region: str = typer.Option(
        None, "--region", help="6-digit GB/T 2260 code for regional tables."
    ),
    fmt: Format = FormatOption,
) -> None:
    """Rank the after-uses of each site (farm, garden, forest, grass, water, build, leave)."""
    with handled():
        tables = suitability.load_tables(on=on, region=region)
        if sites_file:
            sites = read_sites_file(sites_file)
            if mine:
                sites = sites[sites["mine_id"].isin(mine)]
        else:
            sites = load_register(db, mine).sites
        sites = sites.reset_index(drop=True)
        ctx = read_context(context)
        pol = read_pollution(pollution)
        pol_tables: list[dict[str, Any]] = []
        pol_source = f"file {pollution}" if pol is not None else "none"
        if pol is None and not sites_file:
            # classify the register's samples; a site takes the worst class of its samples
            by_sample, pol_source, pol_tables = classify_samples(
                load_register(db, mine).samples, on
            )
            if by_sample is not None:
                pol = by_sample.drop(columns="mine_id").dropna(subset=["site_id"])
        inputs = suitability_inputs(sites, ctx, pol)
        assessed = suitability.assess_sites(inputs, tables)
        mine_of = dict(zip(inputs["site_id"], inputs["mine_id"], strict=True))
        assessed.insert(1, "mine_id", assessed["site_id"].map(mine_of))
        records = _site_records(assessed, inputs)
        codes = sorted({c for cs in assessed["rule_codes"] for c in cs})
        data = {
            "sites": records,
            "rule_codes": codes,
            "reference_tables": [*tables.provenance, *pol_tables],
            "pollution_source": pol_source,
            "context": {layer: layer in ctx for layer in CONTEXT_LAYERS},
        }
        if fmt == Format.json:
            emit(data, fmt)
            return
        rows = assessed if all_options else assessed[assessed["status"] == "suitable"]
        emit(data, fmt, rows=rows.to_dict("records"), title="Land suitability (TD/T 1036-2013)")
        if fmt == Format.table:
            emit(
                list(tables.provenance),
                fmt,
                columns=["name", "version", "valid_from", "source"],
                title="Reference tables",
            )


def _site_records(assessed: pd.DataFrame, inputs: pd.DataFrame) -> list[dict[str, Any]]:
    keep = [
        c
        for c in (
            "kind",
            "area_hm2",
            "slope_deg",
            "soil_thickness_m",
            "water",
            "water_depth_m",
            "pollution_class",
            "in_ecological_redline",
            "in_permanent_basic_farmland",
            "in_urban_development_boundary",
            "distance_to_town_m",
            "distance_to_road_m",
        )
        if c in inputs.columns
    ]
    site_inputs = inputs.set_index("site_id")[keep]
    out = []
    for sid, group in assessed.groupby("site_id", sort=False):
        ok = group[group["status"] == "suitable"].sort_values("rank")
        no = group[group["status"] == "excluded"]
        raw = site_inputs.loc[sid]
        row = raw.iloc[0] if isinstance(raw, pd.DataFrame) else raw
        out.append(
            {
                "site_id": sid,
                "mine_id": group["mine_id"].iloc[0],
                "best_use": ok["use"].iloc[0],
                "options": [
                    {"use": u, "rank": int(r), "rule_codes": list(c)}
                    for u, r, c in zip(ok["use"], ok["rank"], ok["rule_codes"], strict=True)
                ],
                "excluded": [
                    {"use": u, "rule_codes": list(c)}
                    for u, c in zip(no["use"], no["rule_codes"], strict=True)
                ],
                "inputs": {k: (None if pd.isna(v) else v) for k, v in row.items()},
            }
        )
    return out
