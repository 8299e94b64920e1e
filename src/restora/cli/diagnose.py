"""``restora diagnose soil|zones``: soil pollution against the standards, and gradient zoning.

JSON contracts (stable; see docs/diagnosis-soil.md):

- ``diagnose soil``: a list, per sample, of ``sample_id``, ``class`` (``indeterminate`` when a
  detection limit above the screening value leaves it open; ``class_range``, ``messages``),
  ``nemerow``, ``nemerow_grade``, ``factors`` {pollutant: {value, screening, intervention,
  index, ...}}, ``rules``, ``warnings`` (plausibility, see
  :func:`restora.diagnosis.soil_plausibility.check`) and ``tables_used``.
- ``diagnose zones``: a list, per site, of ``site_id``, ``mine_id``, ``crs`` (China Albers, the
  CRS of ``geometry_wkt``), ``n_samples``, ``method``, ``method_used``, ``cell_size_m``,
  ``min_zone_area_m2``, ``zones`` [{zone_id, zone_class, area_hm2, reassigned_hm2, max_index,
  governing_metal, n_samples, below_detection, indeterminate_metals, techniques, ...}],
  ``merges``, ``warnings`` and ``tables_used``. Computed by
  :func:`restora.diagnosis.site_zones.zone_sites`, as ``plan make`` and ``appraise`` do.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import typer
from rich.markup import escape

from restora.cli import diagnose_site
from restora.cli.output import (
    DbOption,
    Format,
    FormatOption,
    OnOption,
    emit,
    err_console,
    handled,
)
from restora.cli.source import (
    AllOption,
    MineOption,
    StoreSelection,
    choose_source,
    load_register,
    mine_regions,
    region_groups,
)
from restora.diagnosis import soil, soil_io, soil_plausibility, zoning
from restora.diagnosis.site_zones import zone_sites
from restora.diagnosis.soil_register import register_rows, soil_samples
from restora.errors import InputError
from restora.inventory.geometry import CHINA_ALBERS, STORAGE_CRS, transformer

app = typer.Typer(no_args_is_help=True)

StandardOption = typer.Option(
    "gb15618", "--standard", "-s", help="gb15618 (agricultural land) or gb36600 (construction)."
)
RegionOption = typer.Option(None, "--region", help="6-digit GB/T 2260 code for regional tables.")


def _warn(messages: Any) -> None:
    for m in messages:
        err_console.print(f"[yellow]warning:[/] {escape(str(m))}", highlight=False, soft_wrap=True)


def _date(on: str | None) -> dt.date:
    if on is None:
        return dt.date.today()
    try:
        return dt.date.fromisoformat(on)
    except ValueError as exc:
        raise InputError(f"{on!r} is not a date (YYYY-MM-DD)", field="--on") from exc


@app.command("soil")
def soil_command(
    samples: Path = typer.Argument(
        None,
        help="Samples CSV (sample_id, ph, land_use, metals in mg/kg); - for stdin. Or --mine / --all.",
    ),
    mine: list[str] = MineOption,
    all_mines: bool = AllOption,
    db: str | None = DbOption,
    standard: str = StandardOption,
    land_class: str = typer.Option(
        None,
        "--land-class",
        help="GB 36600 from the store: land class (1 or 2) of the construction-land samples.",
    ),
    on: str | None = OnOption,
    region: str = RegionOption,
    fmt: Format = FormatOption,
) -> None:
    """Classify soil samples against GB 15618-2018 or GB 36600-2018, with Nemerow indices.

    Reads a samples CSV, or the samples of mines in the store (--mine ID, repeatable, or
    --all) with their stated detection limits: GB 15618 takes the farmland samples, GB 36600
    the construction-land ones.
    """
    with handled():
        when = _date(on)
        selection = choose_source(files={"SAMPLES": samples}, mine=mine, all_mines=all_mines, db=db)
        if selection is None:
            data, meta = soil_io.read_samples(samples, standard, on=when, region=region)
            _warn(meta["warnings"])
            a = soil.classify(
                data.concentration,
                data.pollutants,
                data.land,
                data.ph,
                standard=data.standard,
                on=when,
                region=region,
                censored=data.censored,
                detection_limit=data.detection_limit,
            )
            per_row: list[list[dict[str, Any]]] = [[] for _ in range(len(data))]
            for w in meta["plausibility"]:
                per_row[w["row"] - 1].append(w)
            records = soil.to_records(a, list(data.sample_id), extra={"warnings": per_row})
            std = data.standard
        else:
            records, std = _soil_from_store(selection, standard, land_class, when, region)
        if fmt == Format.json:
            emit(records, fmt)
            return
        rows = []
        for r in records:
            idx = {p: f["index"] for p, f in r["factors"].items() if f["index"] is not None}
            governing = max(idx, key=lambda p: idx[p]) if idx else None
            row = {
                "sample_id": r["sample_id"],
                "class": r["class"],
                "nemerow": r["nemerow"],
                "nemerow_grade": r["nemerow_grade"],
                "governing": governing,
                "max_index": idx.get(governing) if governing else None,
                "note": "; ".join(r["messages"]) or None,
            }
            if fmt == Format.csv:
                for p, f in r["factors"].items():
                    row[p] = f["value"]
                    row[f"P_{p}"] = f["index"]
                row["rules"] = " ".join(r["rules"])
            rows.append(row)
        emit(records, fmt, rows=rows, title=f"Soil samples against {soil.label(std)}")


def _soil_from_store(
    selection: StoreSelection,
    standard: str,
    land_class: str | None,
    on: dt.date,
    region: str | None,
) -> tuple[list[dict[str, Any]], str]:
    """``diagnose soil`` records of the register's samples, in the register's order.

    Each sample is classified with the tables of ``region``, else of its mine's region code;
    its stated detection limits travel with it (:func:`restora.diagnosis.soil_register.
    soil_samples`), so a ``<DL`` above the screening value is indeterminate as from a file.
    """
    reg = load_register(selection)
    data, notes = soil_samples(reg.samples, standard, land_class=land_class, on=on, region=region)
    _warn(notes)
    regions = mine_regions(reg)
    records: list[dict[str, Any] | None] = [None] * len(data)
    for place, rows in region_groups(region, [regions.get(m) for m in data.columns["mine_id"]]):
        part = _take(data, rows)
        a = soil.classify(
            part.concentration,
            part.pollutants,
            part.land,
            part.ph,
            standard=part.standard,
            on=on,
            region=place,
            censored=part.censored,
            detection_limit=part.detection_limit,
        )
        warned = soil_plausibility.check(
            np.where(part.censored, np.nan, part.concentration),
            part.pollutants,
            soil_plausibility.load_ranges(on=on, region=place),
            rows=rows + 1,
            sample_ids=list(part.sample_id),
        )
        _warn(w["message"] for w in warned)
        per_row: list[list[dict[str, Any]]] = [[] for _ in range(len(part))]
        by_id = {sid: k for k, sid in enumerate(part.sample_id)}
        for w in warned:
            per_row[by_id[w["sample_id"]]].append(w)
        for k, rec in zip(
            rows, soil.to_records(a, list(part.sample_id), extra={"warnings": per_row}), strict=True
        ):
            records[k] = rec
    return [r for r in records if r is not None], data.standard


def _take(data: soil_io.SoilSamples, rows: np.ndarray) -> soil_io.SoilSamples:
    """The samples at ``rows``."""
    return soil_io.SoilSamples(
        standard=data.standard,
        sample_id=data.sample_id[rows],
        pollutants=data.pollutants,
        concentration=data.concentration[rows],
        censored=data.censored[rows],
        land=data.land[rows],
        ph=None if data.ph is None else data.ph[rows],
        columns={k: v[rows] for k, v in data.columns.items()},
        detection_limit=None if data.detection_limit is None else data.detection_limit[rows],
    )


@app.command("zones")
def zones_command(
    sites: Path = typer.Argument(
        None, help="Site polygons (GeoPackage, shapefile, GeoJSON); or --mine / --all."
    ),
    samples: Path = typer.Argument(None, help="Samples CSV with x, y (site CRS) or lon, lat."),
    site_id: str = typer.Option(None, "--site-id", help="The site to zone (default: all)."),
    layer: str = typer.Option(None, "--layer", help="Layer of the site file (e.g. sites)."),
    mine: list[str] = MineOption,
    all_mines: bool = AllOption,
    db: str | None = DbOption,
    standard: str = StandardOption,
    land_use: str = typer.Option(None, "--land-use", help="GB 15618: paddy, orchard, other."),
    land_class: str = typer.Option(None, "--land-class", help="GB 36600: 1 or 2."),
    cell_size: float = typer.Option(
        zoning.DEFAULT_CELL_SIZE_M, "--cell-size", help="Cell side [m]."
    ),
    method: str = typer.Option("idw", "--method", help="idw or ordinary_kriging."),
    min_zone_area: float = typer.Option(
        None,
        "--min-zone-area",
        help="Smallest zone [m²] (default: remediation/min-zone-area, TD/T 1055-2019; 0 keeps "
        "every zone).",
    ),
    land_use_after: str = typer.Option(
        None, "--land-use-after", help="agricultural, ecological or construction."
    ),
    depth: float = typer.Option(None, "--depth", help="Depth of contamination [m]."),
    crs: str = typer.Option(
        None,
        "--crs",
        help="CRS of the samples' x, y and of a site file that has none (default: the site "
        "file's). Zones are always computed in China Albers equal-area.",
    ),
    on: str | None = OnOption,
    region: str = RegionOption,
    fmt: Format = FormatOption,
) -> None:
    """Zone sites by pollution gradient (IDW or kriging) and list candidate techniques.

    The zones are those of restora plan make and restora appraise for the same site and
    samples: all three zone through restora.diagnosis.site_zones.zone_sites.
    """
    with handled():
        when = _date(on)
        selection = choose_source(
            files={"SITES": sites, "SAMPLES": samples}, mine=mine, all_mines=all_mines, db=db
        )
        if method not in zoning.METHODS:
            raise InputError(
                f"unknown method {method!r}: use idw or ordinary_kriging", field="--method"
            )
        values = soil.load_standard(standard, when, region)
        given_land = land_use if values.standard == "gb15618" else land_class
        if selection is not None:
            site_frame, sample_frame, site_regions = _register_from_store(selection, site_id)
        else:
            if sites is None or samples is None:
                raise InputError("give both files, SITES and SAMPLES (or --mine ID, or --all)")
            site_frame, sample_frame, site_regions = _register_from_files(
                sites, samples, layer, site_id, values.standard, crs, when, region
            )
        with_samples = set(sample_frame["site_id"].dropna().astype(str))
        _warn(
            f"site {sid}: no sample has this site_id; skipped"
            for sid in site_frame["site_id"].astype(str)
            if sid not in with_samples
        )
        zoned = []
        # each site with the tables of --region, else of its mine's region (as plan make does)
        for place, at in region_groups(region, site_regions):
            zoned += zone_sites(
                site_frame.iloc[at].reset_index(drop=True),
                sample_frame,
                standard=values.standard,
                land=given_land,
                method=method,
                cell_size=cell_size,
                min_zone_area_m2=min_zone_area,
                land_use_after=land_use_after,
                depth_m=depth,
                strict=True,
                on=when,
                region=place,
            )
        position = {sid: k for k, sid in enumerate(site_frame["site_id"].astype(str))}
        zoned.sort(key=lambda z: position[str(z.site_id)])
        if not zoned:
            raise InputError(
                f"no site of {selection.describe()} has samples"
                if selection is not None
                else "no site could be zoned (no samples matched a site)",
                file=None if selection is not None else str(samples),
            )
        for z in zoned:
            _warn(f"site {z.site_id}: {w}" for w in z.json["warnings"])
        results = [
            {
                "site_id": z.site_id,
                "mine_id": z.mine_id or None,
                "crs": CHINA_ALBERS,
                "n_samples": z.json["n_samples"],
                **z.result.as_dict(),
                "warnings": z.json["warnings"],
            }
            for z in zoned
        ]
        if fmt == Format.json:
            emit(results, fmt)
            return
        rows = [
            {
                "site_id": r["site_id"],
                "zone_id": z["zone_id"],
                "zone_class": z["zone_class"],
                "area_hm2": z["area_hm2"],
                "standard_class": z["standard_class"],
                "governing_metal": z["governing_metal"],
                "max_index": z["max_index"].get(z["governing_metal"]),
                "method": r["method"],
                "techniques": " ".join(t["code"] for t in z["techniques"]),
            }
            for r in results
            for z in r["zones"]
        ]
        emit(results, fmt, rows=rows, title="Treatment zones")


def _register_from_files(
    sites: Path,
    samples: Path,
    layer: str | None,
    site_id: str | None,
    standard: str,
    crs: str | None,
    on: dt.date,
    region: str | None,
) -> tuple[pd.DataFrame, pd.DataFrame, list[str | None]]:
    """Sites (lon/lat) and samples in the register's form, from a site file and a samples CSV,
    and each site's region code (the file's ``region_code`` column; None without one)."""
    import geopandas as gpd

    if not Path(sites).exists():
        raise InputError("no such file", file=str(sites))
    try:
        gdf = gpd.read_file(sites, layer=layer) if layer else gpd.read_file(sites)
    except Exception as exc:  # pyogrio raises its own errors for unreadable files and layers
        raise InputError(f"cannot read the site polygons: {exc}", file=str(sites)) from exc
    if gdf.crs is None:
        if not crs:
            raise InputError(
                "the site file has no CRS: give --crs or write one into the file", file=str(sites)
            )
        gdf = gdf.set_crs(crs)
    id_col = next((c for c in ("site_id", "图斑编号", "场地编号") if c in gdf.columns), None)
    if site_id is not None:
        if id_col is None:
            raise InputError(
                "the site file has no site_id column", file=str(sites), field="site_id"
            )
        gdf = gdf[gdf[id_col].astype(str) == site_id]
        if gdf.empty:
            raise InputError(f"no site {site_id!r}", file=str(sites), field=id_col)
    ids = (
        [str(v) for v in gdf[id_col]]
        if id_col
        else [f"feature {i}" for i in range(1, len(gdf) + 1)]
    )
    site_frame = pd.DataFrame(
        {
            "site_id": ids,
            "mine_id": gdf["mine_id"].to_numpy(dtype=object) if "mine_id" in gdf else None,
            "geometry": gdf.to_crs(STORAGE_CRS).geometry.to_numpy(dtype=object),
        }
    )
    regions: list[str | None] = (
        [None if pd.isna(v) else str(v) for v in gdf["region_code"]]
        if "region_code" in gdf.columns
        else [None] * len(gdf)
    )
    data, meta = soil_io.read_samples(samples, standard, on=on, region=region)
    _warn(meta["warnings"])
    lon, lat = _sample_lonlat(data, crs or gdf.crs.to_string(), meta["file"])
    # the register's form: below-detection results keep their stated limits in `qualifiers`
    frame = register_rows(data).assign(lon=lon, lat=lat)
    if "site_id" in data.columns and id_col:
        return site_frame, frame, regions
    # samples without site_id (or sites without ids): every site is zoned with all samples
    every = pd.concat([frame.assign(site_id=sid) for sid in ids], ignore_index=True)
    return site_frame, every, regions


def _sample_lonlat(
    data: soil_io.SoilSamples, crs: str, fname: str
) -> tuple[np.ndarray, np.ndarray]:
    cols = data.columns
    if "lon" in cols and "lat" in cols:
        lon, lat = cols["lon"], cols["lat"]
        bad = np.flatnonzero(~(np.isfinite(lon) & np.isfinite(lat)))
        if bad.size:
            raise InputError("lon/lat missing", file=fname, row=int(bad[0]) + 1, field="lon")
        return lon, lat
    if "x" in cols and "y" in cols:
        x, y = cols["x"], cols["y"]
        bad = np.flatnonzero(~(np.isfinite(x) & np.isfinite(y)))
        if bad.size:
            raise InputError("x/y missing", file=fname, row=int(bad[0]) + 1, field="x")
        lon, lat = transformer(crs, STORAGE_CRS).transform(x, y)
        return np.asarray(lon), np.asarray(lat)
    raise InputError(
        "the samples need coordinates: x, y in the site's CRS [m] or lon, lat (WGS 84)",
        file=fname,
    )


def _register_from_store(
    selection: StoreSelection, site_id: str | None
) -> tuple[pd.DataFrame, pd.DataFrame, list[str | None]]:
    """The selected mines' sites (or the one ``site_id``) and samples, and each site's region."""
    reg = load_register(selection)
    sites = reg.sites if site_id is None else reg.sites[reg.sites["site_id"] == site_id]
    if sites.empty:
        what = f"no site {site_id!r}" if site_id else "no site"
        raise InputError(f"{selection.describe()} has {what}", field="--site-id")
    regions = mine_regions(reg)
    site_regions = [regions.get(str(m)) for m in sites["mine_id"]]
    return sites.reset_index(drop=True), reg.samples, site_regions


# hazards and suitability live in restora.cli.diagnose_site
diagnose_site.add_commands(app)
