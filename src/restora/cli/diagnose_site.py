"""``restora diagnose hazards|suitability``: geohazard danger grades and land suitability.

The ``diagnose`` group (``restora.cli.diagnose``) calls :func:`add_commands` to add the commands.
Both read files (``HAZARDS`` a hazards CSV; ``SITES`` a sites GeoPackage/GeoJSON/CSV, with
``--samples`` a soil samples CSV) or mines of the store (``--mine ID``, repeatable, or ``--all``;
``--db``), exactly one of them (:mod:`restora.cli.source`), and an optional
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
with ``pollution_class``) or from the farmland samples (the register's, or the ``--samples``
file's) classified against GB 15618-2018 with their stated detection limits (a site takes the
worst class of its samples; a site without samples is unknown). Reference tables are those of
``--region``, else of each mine's region code (the store's, or a sites file's ``region_code``).
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np
import pandas as pd
import typer

from restora.cli.output import DbOption, Format, FormatOption, OnOption, emit, handled
from restora.cli.source import (
    AllOption,
    MineOption,
    choose_source,
    mine_regions,
    region_groups,
    unique_tables,
)
from restora.cli.source import load_register as load_selected
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
    """Sites from a GeoPackage/GeoJSON/shapefile (geometry kept, in EPSG:4326, with its area
    ``area_hm2`` [hm²] as the register computes it) or a CSV."""
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
        if "area_hm2" not in frame.columns:
            # the area the register computes on import: the polygon's, in an equal-area CRS
            from restora.inventory.geometry import equal_area_hm2

            frame["area_hm2"] = equal_area_hm2(frame["geometry"].to_numpy(dtype=object))
    if "site_id" not in frame.columns:
        raise InputError("no column 'site_id'", file=path, field="site_id")
    if "mine_id" not in frame.columns:
        frame["mine_id"] = None
    return frame


# --- commands -------------------------------------------------------------------------------


def hazards_command(
    hazards_file: str = typer.Argument(
        None, help="Hazards CSV (zh or en headers; - for stdin); or --mine / --all."
    ),
    hazards_option: str = typer.Option(None, "--hazards", hidden=True),
    mine: list[str] = MineOption,
    all_mines: bool = AllOption,
    db: str | None = DbOption,
    on: str | None = OnOption,
    region: str = typer.Option(
        None,
        "--region",
        help="6-digit GB/T 2260 code for regional tables (default: each mine's, from the store).",
    ),
    fmt: Format = FormatOption,
) -> None:
    """Grade each geohazard and each mine high / medium / low (DZ/T 0286-2015 danger matrix).

    Reads a hazards CSV (its mines are those it names), or the hazards of mines in the store
    (--mine ID, repeatable, or --all; a mine without hazards is graded none).
    """
    with handled():
        path = _one_file("HAZARDS", hazards_file, "--hazards", hazards_option)
        selection = choose_source(files={"HAZARDS": path}, mine=mine, all_mines=all_mines, db=db)
        if selection is None:
            frame = read_hazards_csv(path).reset_index(drop=True)
            mine_ids = list(dict.fromkeys(frame["mine_id"]))
            regions: list[str | None] = [None] * len(frame)
        else:
            reg = load_selected(selection)
            frame = reg.hazards.reset_index(drop=True)
            mine_ids = list(reg.mines["mine_id"])
            of_mine = mine_regions(reg)
            regions = [of_mine.get(str(m)) for m in frame["mine_id"]]
        parts: list[pd.DataFrame] = []
        provenance: list[dict[str, Any]] = []
        for place, rows in region_groups(region, regions):
            tables = hazard.load_tables(on=on, region=place)
            parts.append(hazard.grade_hazards(frame.iloc[rows], tables).set_index(rows))
            provenance += tables.provenance
        if not parts:  # no hazards at all: the tables still say how mines are graded
            tables = hazard.load_tables(on=on, region=region)
            parts.append(hazard.grade_hazards(frame, tables))
            provenance += tables.provenance
        graded = pd.concat(parts).sort_index().reset_index(drop=True)
        mines = hazard.grade_mines(graded, mine_ids)
        codes = sorted({c for cs in mines["rule_codes"] for c in cs})
        data = {
            "hazards": graded.to_dict("records"),
            "mines": mines.to_dict("records"),
            "rule_codes": codes,
            "reference_tables": unique_tables(provenance),
        }
        if fmt == Format.json:
            emit(data, fmt)
            return
        rows_out = graded.merge(
            mines[["mine_id", "grade"]].rename(columns={"grade": "mine_grade"}),
            on="mine_id",
            how="left",
        )
        emit(
            data,
            fmt,
            rows=rows_out.to_dict("records"),
            title="Geohazard danger grades (DZ/T 0286-2015)",
        )
        if fmt == Format.table:
            emit(mines.to_dict("records"), fmt, title="Mines")
            emit(
                data["reference_tables"],
                fmt,
                columns=["name", "version", "valid_from", "source"],
                title="Reference tables",
            )


def suitability_command(
    sites_file: str = typer.Argument(
        None,
        help="Sites: GeoPackage (layer 'sites'), GeoJSON or CSV; or --mine / --all.",
    ),
    sites_option: str = typer.Option(None, "--sites", hidden=True),
    samples_file: str = typer.Option(
        None,
        "--samples",
        help="With SITES: soil samples CSV (site_id, ph, land_use, metals), classified against "
        "GB 15618-2018 as the store's samples are.",
    ),
    context: str = typer.Option(
        None,
        "--context",
        help="Context GeoPackage: towns, roads, ecological_redline, permanent_basic_farmland, urban_development_boundary.",
    ),
    pollution: str = typer.Option(
        None,
        "--pollution",
        help="CSV of site_id or mine_id with pollution_class (instead of classifying samples).",
    ),
    mine: list[str] = MineOption,
    all_mines: bool = AllOption,
    db: str | None = DbOption,
    excluded: bool = typer.Option(False, "--excluded", help="Table/CSV: list excluded uses too."),
    on: str | None = OnOption,
    region: str = typer.Option(
        None,
        "--region",
        help="6-digit GB/T 2260 code for regional tables (default: each mine's region code).",
    ),
    fmt: Format = FormatOption,
) -> None:
    """Rank the after-uses of each site (farm, garden, forest, grass, water, build, leave).

    Reads a sites file (with --samples, its soil samples give the pollution classes), or the
    sites and samples of mines in the store (--mine ID, repeatable, or --all).
    """
    with handled():
        path = _one_file("SITES", sites_file, "--sites", sites_option)
        selection = choose_source(files={"SITES": path}, mine=mine, all_mines=all_mines, db=db)
        if selection is None:
            sites = read_sites_file(path)
            samples = _samples_as_register(samples_file, on) if samples_file else None
        else:
            if samples_file:
                raise InputError(
                    "--samples goes with a SITES file; from the store the register's own "
                    "samples are classified",
                    field="--samples",
                )
            reg = load_selected(selection)
            sites, samples = reg.sites, reg.samples
            of_mine = mine_regions(reg)
            sites = sites.assign(region_code=[of_mine.get(str(m)) for m in sites["mine_id"]])
        sites = sites.reset_index(drop=True)
        ctx = read_context(context)
        pol = read_pollution(pollution)
        pol_tables: list[dict[str, Any]] = []
        pol_source = f"file {pollution}" if pol is not None else "none"
        if pol is None and samples is not None:
            # classify the samples; a site takes the worst class of its samples
            by_sample, pol_source, pol_tables = classify_samples(samples, on)
            if by_sample is not None:
                pol = by_sample.drop(columns="mine_id").dropna(subset=["site_id"])
        inputs = suitability_inputs(sites, ctx, pol)
        regions = (
            [None if pd.isna(r) else str(r) for r in sites["region_code"]]
            if "region_code" in sites.columns
            else [None] * len(sites)
        )
        parts: list[pd.DataFrame] = []
        provenance: list[dict[str, Any]] = []
        for place, rows in region_groups(region, regions):
            tables = suitability.load_tables(on=on, region=place)
            parts.append(suitability.assess_sites(inputs.iloc[rows], tables))
            provenance += tables.provenance
        order = {sid: k for k, sid in enumerate(inputs["site_id"])}
        assessed = pd.concat(parts, ignore_index=True)
        assessed = assessed.iloc[
            np.argsort([order[s] for s in assessed["site_id"]], kind="stable")
        ].reset_index(drop=True)
        mine_of = dict(zip(inputs["site_id"], inputs["mine_id"], strict=True))
        assessed.insert(1, "mine_id", assessed["site_id"].map(mine_of))
        records = _site_records(assessed, inputs)
        codes = sorted({c for cs in assessed["rule_codes"] for c in cs})
        data = {
            "sites": records,
            "rule_codes": codes,
            "reference_tables": unique_tables([*provenance, *pol_tables]),
            "pollution_source": pol_source,
            "context": {layer: layer in ctx for layer in CONTEXT_LAYERS},
        }
        if fmt == Format.json:
            emit(data, fmt)
            return
        rows_out = assessed if excluded else assessed[assessed["status"] == "suitable"]
        emit(data, fmt, rows=rows_out.to_dict("records"), title="Land suitability (TD/T 1036-2013)")
        if fmt == Format.table:
            emit(
                unique_tables(provenance),
                fmt,
                columns=["name", "version", "valid_from", "source"],
                title="Reference tables",
            )


def _one_file(name: str, argument: str | None, option: str, option_value: str | None) -> Any:
    """The file of the ``name`` argument, or of its older spelling ``option`` (not both)."""
    if argument is not None and option_value is not None:
        raise InputError(f"give the file once: as {name} or as {option}, not both")
    return argument if argument is not None else option_value


def _samples_as_register(path: str, on: str | None) -> pd.DataFrame:
    """A soil samples CSV as register sample rows (stated detection limits kept)."""
    from restora.diagnosis.soil_io import read_samples
    from restora.diagnosis.soil_register import register_rows

    data, _ = read_samples(path, "gb15618", on=on)
    if "site_id" not in data.columns:
        raise InputError(
            "the samples need a site_id column to give their sites a pollution class",
            file=path,
            field="site_id",
        )
    frame = register_rows(data)
    if "mine_id" not in frame.columns:
        frame["mine_id"] = None
    return frame


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
