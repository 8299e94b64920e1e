"""``restora value esv|gep|stages|location|sites``: ecosystem-service value and GEP.

JSON contracts (stable; see docs/valuation-esv-gep.md):

- ``value esv``: ``{"total_cny_per_yr", "by_service" {service: CNY/yr}, "by_type"
  {type: CNY/yr}, "by_type_service" {type: {service: CNY/yr}}, "method", "area_hm2",
  "equivalent_value_cny_per_hm2", "equivalent_value_source", "price_year", "regional_ratios",
  "tables"}`` with the 14 type and 11 service keys of Xie et al. 2015.
- ``value gep``: ``{"method", "price_year", "total_cny_per_yr", "by_category",
  "by_indicator", "by_zone", "rows" [...], "tables"}``.
- ``value stages``: ``{"method", "price_year", "damaged_cny_per_yr", "basic_cny_per_yr",
  "developed_cny_per_yr", "zero_band_cny_per_yr", "multiplication_threshold_cny_per_yr",
  "rule_codes", "years" [{project_year, year, value_cny_per_yr, stage, stage_code}], "tables"}``.
- ``value location``: ``{"method", "rows" [... value_unadjusted_cny_per_yr, location_coefficient,
  value_adjusted_cny_per_yr], "tables"}``.
- ``value sites``: ``{"sites" [{site_id, kind, water, area_hm2, area_source ("geometry": the
  polygon's area; "declared": the source's), type_before, type_after, after_planned,
  esv_before_cny_per_yr, esv_after_cny_per_yr, esv_change_cny_per_yr}],
  "total_before_cny_per_yr", "total_after_cny_per_yr", "area_sources" {"geometry": n,
  "declared": n}, "method", "price_year", "tables"}``; the same from files and from the
  store (``--mine`` / ``--all``).
"""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import typer

from restora.cli.output import DbOption, Format, FormatOption, OnOption, emit, err_console, handled
from restora.cli.source import (
    AllOption,
    MineOption,
    choose_source,
    load_register,
    mine_regions,
    region_groups,
    unique_tables,
)
from restora.errors import InputError, input_error

app = typer.Typer(no_args_is_help=True)

RegionOption = typer.Option(None, "--region", help="6-digit GB/T 2260 code for regional tables.")


def _read_text(path: str) -> tuple[str, str]:
    if path == "-":
        return sys.stdin.read(), "<stdin>"
    p = Path(path)
    if not p.is_file():
        raise InputError("no such file", file=path)
    return p.read_text(encoding="utf-8-sig"), path


def _read_json(path: str) -> tuple[Any, str]:
    text, name = _read_text(path)
    try:
        return json.loads(text), name
    except json.JSONDecodeError as exc:
        raise InputError(f"not valid JSON: {exc.msg}", file=name, row=exc.lineno) from exc


def _read_table(path: str) -> tuple[pd.DataFrame, str]:
    """A CSV or JSON (list of objects, or {"zones"|"rows"|"sites": [...]}) table."""
    text, name = _read_text(path)
    stripped = text.lstrip()
    if name.lower().endswith(".json") or stripped.startswith(("[", "{")):
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(f"not valid JSON: {exc.msg}", file=name, row=exc.lineno) from exc
        if isinstance(doc, dict):
            for key in ("zones", "rows", "sites"):
                if isinstance(doc.get(key), list):
                    doc = doc[key]
                    break
        if not isinstance(doc, list) or not all(isinstance(r, dict) for r in doc):
            raise InputError("expected a list of objects (one per row)", file=name)
        return pd.DataFrame(doc), name
    try:
        return pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False), name
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InputError(f"not a readable CSV: {exc}", file=name) from exc


@app.command("esv")
def esv_cmd(
    areas: str = typer.Argument(..., help="AREAS.json: {\"areas_hm2\": {type: hm²}, ...}; - for stdin."),
    method: str = typer.Option("xie2015", "--method", help="Equivalent-factor method (xie2015)."),
    on: str | None = OnOption,
    region: str = RegionOption,
    fmt: Format = FormatOption,
) -> None:  # fmt: skip
    """Equivalent-factor ecosystem-service value of areas per ecosystem type [CNY/yr].

    Optional keys: equivalent_value_cny_per_hm2 (default 3406.50, Xie 2015), grain [{crop,
    sown_area_hm2, price_cny_per_kg, yield_kg_per_hm2}] (local standard equivalent), price_year,
    target_price_year (CPI conversion), regional_ratios {npp, precipitation, soil_conservation}.
    """
    from restora.valuation import esv

    with handled():
        if method != "xie2015":
            raise InputError(f"unknown method {method!r}; use xie2015", field="--method")
        doc, name = _read_json(areas)
        result = esv.run(esv.parse_input(doc, file=name, on=on, region=region), on, region)
        data = result.to_dict()
        if fmt == Format.json:
            emit(data, fmt)
            return
        rows = [
            {"type": t, **result.by_type_service[t], "total": result.by_type[t]}
            for t in result.by_type
            if t in (doc.get("areas_hm2") or {})
        ]
        rows.append({"type": "TOTAL", **result.by_service, "total": result.total_cny_per_yr})
        emit(data, fmt, rows=rows, title=f"ESV [CNY/yr], price year {result.price_year}")


@app.command("esv-raster")
def esv_raster_cmd(
    lulc: str = typer.Argument(..., help="Land-cover GeoTIFF (integer codes, projected CRS)."),
    scheme: str = typer.Option(..., "--scheme", help="Codes of: esa_worldcover, clcd or gbt21010."),
    equivalent_value: float = typer.Option(None, "--equivalent-value", help="[CNY/hm²/yr] one standard equivalent; default the paper's."),
    price_year: int = typer.Option(None, "--price-year", help="Price year of --equivalent-value."),
    out: str = typer.Option(None, "--out", help="Write esv.tif [CNY/yr per pixel] into this folder."),
    workers: int = typer.Option(2, "--workers", min=1, help="Threads."),
    location: list[str] = typer.Option(None, "--location", help="KEY=RASTER on the same grid for the location adjustment: town, ecological_function_area, main_road (distance km), population_per_km2; repeatable."),
    on: str | None = OnOption,
    region: str = RegionOption,
    fmt: Format = FormatOption,
) -> None:  # fmt: skip
    """Equivalent-factor ESV of a land-cover raster, block by block (bounded memory, both cores).

    JSON: the value esv contract (total_cny_per_yr, by_service, by_type, by_type_service) plus
    scheme, pixel_area_hm2, pixels_by_code, outputs and location_adjusted_total_cny_per_yr
    (null without --location; the unadjusted total is always shown beside it).
    """
    from restora.valuation.esv_raster import esv_of_raster

    with handled():
        rasters = {}
        for item in location or []:
            key, sep, path = item.partition("=")
            if not sep or not path:
                raise InputError(f"--location {item!r}: write KEY=RASTER", field="--location")
            rasters[key.strip()] = path.strip()
        result = esv_of_raster(
            lulc, scheme, equivalent_value_cny_per_hm2=equivalent_value, price_year=price_year,
            out_dir=out, workers=workers, on=on, region=region, location_rasters=rasters,
        )  # fmt: skip
        data = result.to_dict()
        rows = [{"type": t, "value_cny_per_yr": v} for t, v in result.esv.by_type.items() if v]
        rows.append({"type": "TOTAL", "value_cny_per_yr": result.esv.total_cny_per_yr})
        if result.location_adjusted_total_cny_per_yr is not None:
            rows.append(
                {
                    "type": "TOTAL, location-adjusted",
                    "value_cny_per_yr": result.location_adjusted_total_cny_per_yr,
                }
            )
        emit(data, fmt, rows=rows, title="ESV of the raster [CNY/yr]")


@app.command("gep")
def gep_cmd(
    zones: str = typer.Argument(..., help="ZONES.csv or .json, one row per zone; - for stdin."),
    target_price_year: int | None = typer.Option(None, "--target-price-year", help="Convert values to CNY of this year (CPI table)."),
    input_price_year: int | None = typer.Option(None, "--input-price-year", help="Price year of spend_cny_per_visitor and material_value_cny."),
    on: str | None = OnOption,
    region: str = RegionOption,
    fmt: Format = FormatOption,
) -> None:  # fmt: skip
    """Functional-value GEP per zone: carbon, oxygen, water, soil, air, flood, recreation.

    Columns (units): zone_id; area_hm2 [hm²]; npp_t_dm_per_hm2 [t/hm²/yr];
    carbon_stock_change_t_c [t C], stock_change_years [yr]; precipitation_mm, runoff_mm,
    evapotranspiration_mm [mm/yr]; rusle_r, rusle_k, rusle_ls, rusle_c, rusle_p;
    bulk_density_t_per_m3 [t/m³]; soil_n_fraction, soil_p_fraction [t/t]; so2_t_per_hm2,
    nox_t_per_hm2, dust_t_per_hm2 [t/hm²/yr]; lake_area_km2 [km²], lake_t [-];
    reservoir_storage_m3 [m³]; marsh_area_hm2 [hm²], marsh_depth_m [m]; visitors_per_yr;
    spend_cny_per_visitor [CNY]; material_value_cny [CNY/yr]. Blank = indicator not computed.
    """
    from restora.valuation import gep

    with handled():
        frame, name = _read_table(zones)
        result = gep.run_zones(
            frame,
            target_price_year=target_price_year,
            input_price_year=input_price_year,
            on=on,
            region=region,
            file=name,
        )
        data = result.to_dict()
        if fmt == Format.json:
            emit(data, fmt)
            return
        cols = (
            ["zone_id", "indicator", "quantity", "quantity_unit", "unit_price", "value_cny_per_yr"]
            if fmt == Format.table
            else None
        )
        emit(
            data,
            fmt,
            rows=data["rows"],
            columns=cols,
            title=f"GEP [CNY/yr], price year {result.price_year}",
        )


@app.command("stages")
def stages_cmd(
    project: str = typer.Argument(..., help="PROJECT.json (fields of StagesInput); - for stdin."),
    chart: Path | None = typer.Option(None, "--chart", help="Write a chart (PNG, SVG or PDF)."),
    on: str | None = OnOption,
    region: str = RegionOption,
    fmt: Format = FormatOption,
) -> None:  # fmt: skip
    """Value per year (damaged → basic restoration → development) and its value stage."""
    from pydantic import ValidationError

    from restora.valuation import stages

    with handled():
        doc, name = _read_json(project)
        try:
            inputs = stages.StagesInput.model_validate(doc)
        except ValidationError as exc:
            raise input_error(exc, file=name) from exc
        result = stages.run(inputs, on, region)
        if chart is not None:
            from restora.charts.stages import plot_stages

            plot_stages(result, chart)
        data = result.to_dict()
        if fmt == Format.json:
            emit(data, fmt)
            return
        emit(data, fmt, rows=data["years"], title="Value stages")


@app.command("location")
def location_cmd(
    table: str = typer.Argument(..., help="CSV/JSON: value_cny_per_yr, town_km, ecological_function_area_km, main_road_km, population_per_km2."),
    on: str | None = OnOption,
    region: str = RegionOption,
    fmt: Format = FormatOption,
) -> None:  # fmt: skip
    """Location-adjusted value beside the unadjusted value, per row."""
    from restora.valuation import location

    with handled():
        frame, name = _read_table(table)
        out, prov = location.adjust_table(frame, file=name, on=on, region=region)
        rows = out.to_dict("records")
        if fmt == Format.json:
            emit({"method": "location-coefficient", "rows": rows, "tables": [prov]}, fmt)
            return
        emit(rows, fmt, title="Location adjustment")


@app.command("sites")
def sites_cmd(
    sites: str = typer.Argument(None, help="Sites: a table (CSV/JSON: site_id, kind, water, an area) or register files (GeoPackage, GeoJSON, XLSX as mines export writes them); or --mine / --all."),
    after: str = typer.Option(..., "--after", help="JSON {site_id: ecosystem type or null}."),
    mine: list[str] = MineOption,
    all_mines: bool = AllOption,
    db: str | None = DbOption,
    crs: str | None = typer.Option(None, "--crs", help="CRS of a register file's coordinates when it has none, e.g. EPSG:4547."),
    equivalent_value: float | None = typer.Option(None, "--equivalent-value", help="[CNY/hm²/yr] value of one standard equivalent."),
    price_year: int | None = typer.Option(None, "--price-year", help="Price year of --equivalent-value."),
    on: str | None = OnOption,
    region: str = typer.Option(None, "--region", help="6-digit GB/T 2260 code for regional tables (default: each mine's region code)."),
    fmt: Format = FormatOption,
) -> None:  # fmt: skip
    """ESV of register sites before (damaged) and after (planned land cover).

    Each site's area is its polygon's (area_source "geometry"), else the area its source
    declared (area_source "declared": declared_area_hm2, area_hm2, 面积（公顷）, 面积（亩）, area_m2 …
    in a table); a table's geometry_area_hm2 (written by mines export) is the polygon's.
    """
    from restora.inventory.site_area import site_area_hm2
    from restora.valuation import esv

    with handled():
        selection = choose_source(files={"SITES": sites}, mine=mine, all_mines=all_mines, db=db)
        if selection is None:
            frame, regions, name = _read_sites(sites, crs)
        else:
            reg = load_register(selection)
            frame, name = reg.sites, selection.describe()
            of_mine = mine_regions(reg)
            regions = [of_mine.get(str(m)) for m in frame["mine_id"]]
        frame = frame.reset_index(drop=True)
        if frame.empty:
            raise InputError("no site to value", file=name)
        cover_doc, cover_name = _read_json(after)
        if not isinstance(cover_doc, dict):
            raise InputError("expected an object {site_id: ecosystem type}", file=cover_name)
        cover = {str(k): v for k, v in cover_doc.items()}
        ids = frame["site_id"].astype(str).tolist()
        unknown = sorted(set(cover) - set(ids))
        if unknown:
            raise InputError(f"names site(s) not among the sites: {unknown}", file=cover_name)
        area, source = site_area_hm2(frame)
        bad = np.flatnonzero(~np.isfinite(area) | (area < 0))
        if bad.size:
            i = int(bad[0])
            why = "no polygon and no declared area" if source[i] is None else "a negative area"
            raise InputError(
                f"site {ids[i]!r} has {why}",
                file=name,
                row=i + 1 if selection is None else None,
                field="declared_area_hm2",
            )
        water = (
            frame["water"].astype("boolean").fillna(False).to_numpy(dtype=bool)
            if "water" in frame.columns
            else np.zeros(len(frame), dtype=bool)
        )
        table = pd.DataFrame(
            {
                "site_id": ids,
                "kind": frame["kind"].to_numpy(dtype=object),
                "water": water,
                "area_hm2": area,
            }
        )
        parts, tables = [], []
        for place, at in region_groups(region, regions):
            part = esv.esv_before_after(
                table.iloc[at].reset_index(drop=True),
                {k: v for k, v in cover.items() if k in set(table["site_id"].iloc[at])},
                equivalent_value_cny_per_hm2=equivalent_value,
                price_year=price_year,
                on=on,
                region=place,
            )
            parts.append(part.set_axis(at))
            tables += part.attrs["tables"]
        years = {p.attrs["price_year"] for p in parts}
        if len(years) > 1:
            raise InputError(
                f"the sites' regions value at different price years ({sorted(years)}): give "
                "--region, or --equivalent-value with --price-year",
                field="--region",
            )
        out = pd.concat(parts).sort_index()
        out.insert(out.columns.get_loc("area_hm2") + 1, "area_source", source)
        data = {
            "method": parts[0].attrs["method"],
            "price_year": parts[0].attrs["price_year"],
            "total_before_cny_per_yr": float(out["esv_before_cny_per_yr"].sum()),
            "total_after_cny_per_yr": float(out["esv_after_cny_per_yr"].sum()),
            "area_sources": {s: int((source == s).sum()) for s in ("geometry", "declared")},
            "sites": out.to_dict("records"),
            "tables": unique_tables(tables),
        }
        if fmt == Format.json:
            emit(data, fmt)
            return
        emit(data, fmt, rows=data["sites"], title="ESV before / after [CNY/yr]")
        err_console.print(
            f"areas: {data['area_sources']['geometry']} site(s) from their polygons, "
            f"{data['area_sources']['declared']} declared (no polygon)"
        )


#: File types read as register files (what `mines import` reads), not as a plain table.
_REGISTER_SUFFIXES = (".gpkg", ".geojson", ".shp", ".zip", ".xlsx")


def _read_sites(path: str, crs: str | None) -> tuple[pd.DataFrame, list[str | None], str]:
    """Sites in the register's form and each site's region code, from a file.

    GIS and Excel files, JSON feature collections and tables with a geometry column are read
    as register files (:func:`restora.inventory.io.read_register`, as ``mines import`` reads
    them: the polygon's area, the declared area, the mine's region). Other CSV/JSON tables
    are read as site tables: headers as the register names them (Chinese or English), the
    declared area in hm², 亩 or m², ``geometry_area_hm2`` as the polygon's area.
    """
    from restora.inventory import headers as hd

    is_register = path != "-" and Path(path).suffix.lower() in _REGISTER_SUFFIXES
    if not is_register:
        text, name = _read_text(path)
        if text.lstrip().startswith("{") and '"FeatureCollection"' in text[:2000]:
            is_register = True
        else:
            frame, name = _read_table(path)
            canon = {h: hd.canonical(h, "sites") for h in frame.columns}
            is_register = hd.GEOMETRY in canon.values()
    if is_register:
        from restora.inventory.io import read_register

        reg, _ = read_register([path], crs=crs)
        of_mine = {
            str(m): str(r)
            for m, r in zip(reg.mines["mine_id"], reg.mines["region_code"], strict=True)
        }
        return reg.sites, [of_mine.get(str(m)) for m in reg.sites["mine_id"]], str(path)
    return _site_table(frame, canon, name)


def _site_table(
    frame: pd.DataFrame, canon: dict[str, str | None], name: str
) -> tuple[pd.DataFrame, list[str | None], str]:
    """A plain site table in the register's form: typed columns, areas in hm²."""
    from restora.inventory import headers as hd
    from restora.inventory.schema import SITE_KIND_CHOICES
    from restora.units import M2_PER_HM2, MU_PER_HM2

    renamed: dict[str, str] = {}
    for header, col in canon.items():
        col = "area_hm2" if col == hd.COMPUTED_AREA else col
        if col is None:
            continue
        if col in renamed.values():
            first = next(h for h, c in renamed.items() if c == col)
            raise InputError(f"{first!r} and {header!r} both give {col}", file=name, field=header)
        renamed[header] = col
    out = frame.rename(columns=renamed)
    for col in ("site_id", "kind"):
        if col not in out.columns:
            raise InputError(
                f"no column {col!r} (accepted: {', '.join(hd.accepted_names(col, 'sites'))})",
                file=name,
                field=col,
            )
    per_hm2 = {
        "area_hm2": 1.0,
        "declared_area_hm2": 1.0,
        hd.AREA_MU: MU_PER_HM2,
        hd.AREA_M2: M2_PER_HM2,
    }
    for col, factor in per_hm2.items():
        if col not in out.columns:
            continue
        cells = out[col].astype(object).where(out[col].notna(), "")
        number = pd.to_numeric(cells.astype(str).str.strip().replace("", np.nan), errors="coerce")
        bad = number.isna() & (cells.astype(str).str.strip() != "")
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            header = next((h for h, c in renamed.items() if c == col), col)
            raise InputError(
                f"{cells.iloc[i]!r} is not a number", file=name, row=i + 1, field=header
            )
        out[col] = number.astype(float) / factor
    for pseudo in (hd.AREA_MU, hd.AREA_M2):
        if pseudo in out.columns:
            if "declared_area_hm2" in out.columns:
                raise InputError("the declared area is given twice", file=name, field=pseudo)
            out = out.rename(columns={pseudo: "declared_area_hm2"})
    kinds = out["kind"].astype(str).str.strip()
    out["kind"] = kinds.str.lower().map(SITE_KIND_CHOICES).fillna(kinds)
    out["site_id"] = out["site_id"].astype(str).str.strip()
    if "water" in out.columns:
        out["water"] = out["water"].map(_truthy)
    codes = out["region_code"] if "region_code" in out.columns else pd.Series([None] * len(out))
    regions: list[str | None] = [
        None if pd.isna(r) or str(r).strip() == "" else str(r).strip() for r in codes
    ]
    return out, regions, name


def _truthy(v: Any) -> bool:
    if isinstance(v, bool):
        return v
    return str(v).strip().lower() in {"1", "true", "yes", "y", "是", "t"}


from restora.cli import value_carbon  # noqa: E402  (its commands join this group)

value_carbon.add_commands(app)
