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
- ``value sites``: ``{"sites" [...], "total_before_cny_per_yr", "total_after_cny_per_yr",
  "method", "price_year", "tables"}``.
"""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import typer

from restora.cli.output import Format, FormatOption, OnOption, emit, handled
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
    sites: str = typer.Argument(..., help="Sites CSV/JSON: site_id, kind, water, area_hm2."),
    after: str = typer.Option(..., "--after", help="JSON {site_id: ecosystem type or null}."),
    equivalent_value: float | None = typer.Option(None, "--equivalent-value", help="[CNY/hm²/yr] value of one standard equivalent."),
    price_year: int | None = typer.Option(None, "--price-year", help="Price year of --equivalent-value."),
    on: str | None = OnOption,
    region: str = RegionOption,
    fmt: Format = FormatOption,
) -> None:  # fmt: skip
    """ESV of register sites before (damaged) and after (planned land cover)."""
    from restora.valuation import esv

    with handled():
        frame, _ = _read_table(sites)
        cover, cover_name = _read_json(after)
        if not isinstance(cover, dict):
            raise InputError("expected an object {site_id: ecosystem type}", file=cover_name)
        if "water" in frame.columns:
            frame["water"] = frame["water"].map(_truthy)
        out = esv.esv_before_after(
            frame,
            {str(k): v for k, v in cover.items()},
            equivalent_value_cny_per_hm2=equivalent_value,
            price_year=price_year,
            on=on,
            region=region,
        )
        data = {
            "method": out.attrs["method"],
            "price_year": out.attrs["price_year"],
            "total_before_cny_per_yr": float(out["esv_before_cny_per_yr"].sum()),
            "total_after_cny_per_yr": float(out["esv_after_cny_per_yr"].sum()),
            "sites": out.to_dict("records"),
            "tables": out.attrs["tables"],
        }
        if fmt == Format.json:
            emit(data, fmt)
            return
        emit(data, fmt, rows=data["sites"], title="ESV before / after [CNY/yr]")


def _truthy(v: Any) -> bool:
    if isinstance(v, bool):
        return v
    return str(v).strip().lower() in {"1", "true", "yes", "y", "是", "t"}


from restora.cli import value_carbon  # noqa: E402  (its commands join this group)

value_carbon.add_commands(app)
