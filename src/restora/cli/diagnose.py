"""``restora diagnose soil|zones``: soil pollution against the standards, and gradient zoning.

JSON contracts (stable; see docs/diagnosis-soil.md):

- ``diagnose soil``: a list, per sample, of ``sample_id``, ``class`` (``indeterminate`` when a
  detection limit above the screening value leaves it open; ``class_range``, ``messages``),
  ``nemerow``, ``nemerow_grade``, ``factors`` {pollutant: {value, screening, intervention,
  index, ...}}, ``rules``, ``warnings`` (plausibility, see
  :func:`restora.diagnosis.soil_plausibility.check`) and ``tables_used``.
- ``diagnose zones``: a list, per site, of ``site_id``, ``method``, ``method_used``, ``zones``
  [{zone_id, zone_class, area_hm2, max_index, governing_metal, techniques, ...}], ``warnings``
  and ``tables_used``.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import typer
from rich.markup import escape

from restora.cli.output import Format, FormatOption, emit, err_console, handled
from restora.diagnosis import soil, soil_io, zoning
from restora.errors import InputError

app = typer.Typer(no_args_is_help=True)

StandardOption = typer.Option(
    "gb15618", "--standard", "-s", help="gb15618 (agricultural land) or gb36600 (construction)."
)
OnOption = typer.Option(None, "--on", help="Date whose reference tables apply (YYYY-MM-DD).")
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
        ..., help="Samples CSV (sample_id, ph, land_use, metals); - for stdin."
    ),
    standard: str = StandardOption,
    on: str = OnOption,
    region: str = RegionOption,
    fmt: Format = FormatOption,
) -> None:
    """Classify soil samples against GB 15618-2018 or GB 36600-2018, with Nemerow indices."""
    with handled():
        when = _date(on)
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
        emit(records, fmt, rows=rows, title=f"Soil samples against {soil.label(data.standard)}")


def _land_default(land: Any, given: str | None, what: str) -> str:
    if given is not None:
        return given
    counts = Counter(str(v) for v in land if v is not None)
    if not counts:
        raise InputError(f"give --{what}: the samples have none")
    value, _ = counts.most_common(1)[0]
    if len(counts) > 1:
        _warn(
            [f"samples have several {what} values {dict(counts)}; the site is zoned as {value!r}"]
        )
    return value


def _zone_one(
    site_id: str,
    geom: Any,
    crs: str,
    xs: np.ndarray,
    ys: np.ndarray,
    data: soil_io.SoilSamples,
    keep: np.ndarray,
    land: str | None,
    opts: dict[str, Any],
) -> dict[str, Any]:
    """Zone one site from the samples ``keep`` selects (land use or class: given, else theirs)."""
    sub = _subset(data, keep)
    land_here = _land_default(
        sub.land, land, "land-use" if data.standard == "gb15618" else "land-class"
    )
    xs, ys = xs[keep], ys[keep]
    result = zoning.zone_site(
        geom,
        xs,
        ys,
        sub.concentration,
        sub.pollutants,
        land=land_here,
        ph=sub.ph,
        standard=sub.standard,
        crs=crs,
        **opts,
    )
    _warn(f"site {site_id}: {w}" for w in result.warnings)
    return {"site_id": site_id, "crs": crs, "n_samples": int(xs.size), **result.as_dict()}


def _projected(gdf: Any, crs: str | None) -> Any:
    if crs:
        return gdf.to_crs(crs)
    if gdf.crs is None:
        raise InputError("the site file has no CRS: give --crs or write one into the file")
    if gdf.crs.is_geographic:
        utm = gdf.estimate_utm_crs()
        _warn([f"sites are in {gdf.crs.to_string()} (degrees); zoned in {utm.to_string()}"])
        return gdf.to_crs(utm)
    return gdf


def _sample_xy(data: soil_io.SoilSamples, crs: str, fname: str) -> tuple[np.ndarray, np.ndarray]:
    cols = data.columns
    if "x" in cols and "y" in cols:
        return cols["x"], cols["y"]
    if "lon" in cols and "lat" in cols:
        from restora.inventory.geometry import transformer

        lon, lat = cols["lon"], cols["lat"]
        bad = np.flatnonzero(~(np.isfinite(lon) & np.isfinite(lat)))
        if bad.size:
            raise InputError("lon/lat missing", file=fname, row=int(bad[0]) + 1, field="lon")
        x, y = transformer("EPSG:4326", crs).transform(lon, lat)
        return np.asarray(x), np.asarray(y)
    raise InputError(
        "the samples need coordinates: x, y in the site's CRS [m] or lon, lat (WGS 84)",
        file=fname,
    )


def _subset(data: soil_io.SoilSamples, keep: np.ndarray) -> soil_io.SoilSamples:
    return soil_io.SoilSamples(
        standard=data.standard,
        sample_id=data.sample_id[keep],
        pollutants=data.pollutants,
        concentration=data.concentration[keep],
        censored=data.censored[keep],
        land=data.land[keep],
        ph=data.ph[keep] if data.ph is not None else None,
        columns={k: v[keep] for k, v in data.columns.items()},
    )


@app.command("zones")
def zones_command(
    sites: Path = typer.Argument(None, help="Site polygons (GeoPackage, shapefile, GeoJSON)."),
    samples: Path = typer.Argument(None, help="Samples CSV with x, y (site CRS) or lon, lat."),
    site_id: str = typer.Option(None, "--site-id", help="The site to zone (default: all)."),
    layer: str = typer.Option(None, "--layer", help="Layer of the site file (e.g. sites)."),
    mine: str = typer.Option(None, "--mine", help="Zone the sites of this mine from the store."),
    standard: str = StandardOption,
    land_use: str = typer.Option(None, "--land-use", help="GB 15618: paddy, orchard, other."),
    land_class: str = typer.Option(None, "--land-class", help="GB 36600: 1 or 2."),
    cell_size: float = typer.Option(20.0, "--cell-size", help="Cell side [m]."),
    method: str = typer.Option("idw", "--method", help="idw or ordinary_kriging."),
    land_use_after: str = typer.Option(
        None, "--land-use-after", help="agricultural, ecological or construction."
    ),
    depth: float = typer.Option(None, "--depth", help="Depth of contamination [m]."),
    crs: str = typer.Option(None, "--crs", help="Projected CRS to zone in (default: the file's)."),
    on: str = OnOption,
    region: str = RegionOption,
    fmt: Format = FormatOption,
) -> None:
    """Zone sites by pollution gradient (IDW or kriging) and list candidate techniques."""
    with handled():
        when = _date(on)
        if method not in zoning.METHODS:
            raise InputError(
                f"unknown method {method!r}: use idw or ordinary_kriging", field="--method"
            )
        opts = {
            "cell_size": cell_size,
            "method": method,
            "land_use_after": land_use_after,
            "depth_m": depth,
            "on": when,
            "region": region,
        }
        given_land = (
            land_use
            if soil.load_standard(standard, when, region).standard == "gb15618"
            else land_class
        )
        if mine is not None:
            results = _zones_from_store(mine, site_id, standard, given_land, crs, opts)
        else:
            if sites is None or samples is None:
                raise InputError("give SITES and SAMPLES files, or --mine ID")
            results = _zones_from_files(
                sites, samples, layer, site_id, standard, given_land, crs, opts
            )
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


def _zones_from_files(
    sites: Path,
    samples: Path,
    layer: str | None,
    site_id: str | None,
    standard: str,
    land: str | None,
    crs: str | None,
    opts: dict[str, Any],
) -> list[dict[str, Any]]:
    import geopandas as gpd

    if not Path(sites).exists():
        raise InputError("no such file", file=str(sites))
    try:
        gdf = gpd.read_file(sites, layer=layer) if layer else gpd.read_file(sites)
    except Exception as exc:  # pyogrio raises its own errors for unreadable files and layers
        raise InputError(f"cannot read the site polygons: {exc}", file=str(sites)) from exc
    gdf = _projected(gdf, crs)
    site_crs = gdf.crs.to_string()
    id_col = next((c for c in ("site_id", "图斑编号", "场地编号") if c in gdf.columns), None)
    if site_id is not None:
        if id_col is None:
            raise InputError(
                "the site file has no site_id column", file=str(sites), field="site_id"
            )
        gdf = gdf[gdf[id_col].astype(str) == site_id]
        if gdf.empty:
            raise InputError(f"no site {site_id!r}", file=str(sites), field=id_col)
    data, meta = soil_io.read_samples(samples, standard, on=opts["on"], region=opts["region"])
    _warn(meta["warnings"])
    xs, ys = _sample_xy(data, site_crs, meta["file"])
    results = []
    for i, (_, feat) in enumerate(gdf.iterrows(), start=1):
        sid = str(feat[id_col]) if id_col else f"feature {i}"
        keep = np.ones(len(data), dtype=bool)
        if "site_id" in data.columns and id_col:
            keep = data.columns["site_id"] == sid
            if not keep.any():
                _warn([f"site {sid}: no sample has this site_id; skipped"])
                continue
        results.append(_zone_one(sid, feat.geometry, site_crs, xs, ys, data, keep, land, opts))
    if not results:
        raise InputError("no site could be zoned (no samples matched a site)", file=str(samples))
    return results


def _zones_from_store(
    mine: str,
    site_id: str | None,
    standard: str,
    land: str | None,
    crs: str | None,
    opts: dict[str, Any],
) -> list[dict[str, Any]]:
    import geopandas as gpd

    from restora.store import Store

    with Store() as store:
        reg = store.load_register([mine])
    if reg.mines.empty:
        raise InputError(f"no mine {mine!r} in the store", field="--mine")
    sites = reg.sites if site_id is None else reg.sites[reg.sites["site_id"] == site_id]
    if sites.empty:
        raise InputError(f"mine {mine!r} has no site {site_id or ''}".strip(), field="--site-id")
    gdf = _projected(gpd.GeoDataFrame(sites, geometry="geometry", crs="EPSG:4326"), crs)
    site_crs = gdf.crs.to_string()
    values = soil.load_standard(standard, opts["on"], opts["region"])
    smp = reg.samples
    pollutants = tuple(p for p in values.pollutants if p in smp.columns)
    if not pollutants:
        raise InputError(f"the store's samples have no {soil.label(values.standard)} pollutant")
    conc = smp[list(pollutants)].apply(lambda c: c.astype(float)).to_numpy()
    land_col = "land_use" if values.standard == "gb15618" else "land_class"
    data = soil_io.SoilSamples(
        standard=values.standard,
        sample_id=smp["sample_id"].to_numpy(dtype=object),
        pollutants=pollutants,
        concentration=conc,
        censored=np.zeros(conc.shape, dtype=bool),
        land=(
            smp[land_col] if land_col in smp.columns else smp["sample_id"].map(lambda _: None)
        ).to_numpy(dtype=object),
        ph=smp["ph"].astype(float).to_numpy() if "ph" in smp.columns else None,
        columns={
            "site_id": smp["site_id"].astype(str).to_numpy(dtype=object),
            "lon": smp["lon"].astype(float).to_numpy(),
            "lat": smp["lat"].astype(float).to_numpy(),
        },
    )
    xs, ys = _sample_xy(data, site_crs, f"store, mine {mine}")
    results = []
    for _, feat in gdf.iterrows():
        sid = str(feat["site_id"])
        keep = data.columns["site_id"] == sid
        if not keep.any():
            _warn([f"site {sid}: no sample; skipped"])
            continue
        results.append(_zone_one(sid, feat.geometry, site_crs, xs, ys, data, keep, land, opts))
    if not results:
        raise InputError(f"no site of mine {mine!r} has samples", field="--mine")
    return results


# Commands of other engineers' diagnosis modules, when present.
if importlib.util.find_spec("restora.cli.diagnose_site") is not None:
    from restora.cli import diagnose_site

    diagnose_site.add_commands(app)
