"""``restora monitor fvc | fvc-change | water | rs-results | zone-cover``: remote sensing
(docs/monitoring.md, "Remote sensing").

- ``fvc NDVI.tif``: fractional vegetation cover by the dimidiate pixel model, per zone (``--zones
  FILE`` or the sites of ``--mine``) or for the whole scene; ``--save`` keeps it for the mine;
- ``fvc-change BEFORE.tif AFTER.tif``: ΔFVC, bare-soil and vegetated area change per zone;
- ``water INDEX.tif [--before EARLIER.tif]``: open-water area (NDWI/MNDWI > 0, or NDVI < 0) and
  its change;
- ``rs-results --mine M``: the stored results; ``zone-cover --mine M [--on DATE]``: the latest
  FVC of each zone (the evidence of a vegetation-cover milestone).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer

from restora.cli.output import (
    DbOption,
    Format,
    FormatOption,
    OnOption,
    emit,
    err_console,
    handled,
    progress_wanted,
)
from restora.errors import InputError

COVER_COLUMNS = (
    "zone_id",
    "name",
    "pixels",
    "valid_area_m2",
    "fvc_mean",
    "fvc_median",
    "bare_area_m2",
    "vegetated_area_m2",
)
CHANGE_COLUMNS = (
    "zone_id",
    "name",
    "paired_area_m2",
    "fvc_mean_before",
    "fvc_mean_after",
    "delta_fvc_mean",
    "improved_area_m2",
    "degraded_area_m2",
    "delta_bare_area_m2",
    "delta_vegetated_area_m2",
)
WATER_COLUMNS = (
    "zone_id",
    "name",
    "valid_area_m2",
    "water_area_m2",
    "water_area_before_m2",
    "delta_water_area_m2",
    "gained_m2",
    "lost_m2",
)

# ------------------------------------------------------------------------------ options
ZonesOption = typer.Option(
    None, "--zones", help="Zone layer (GeoPackage, GeoJSON, Shapefile …), any CRS."
)
LayerOption = typer.Option(None, "--layer", help="Layer of a multi-layer zone file.")
ZoneIdOption = typer.Option(
    None, "--zone-id", help="Column of the zone id (default zone_id, site_id, id or name)."
)
MineOption = typer.Option(
    None, "--mine", help="Mine: its sites are the zones (unless --zones), and --save keeps it."
)
SoilOption = typer.Option(None, "--soil", help="NDVI of bare soil [1] (with --veg).")
VegOption = typer.Option(None, "--veg", help="NDVI of full vegetation [1] (with --soil).")
ScopeOption = typer.Option(
    "scene",
    "--scope",
    help="Pixels the 5 %/95 % percentiles come from: scene (all valid pixels) or zones.",
)
ScaleOption = typer.Option(
    1.0, "--scale", help="Scale factor [1]: NDVI = stored × scale + offset (1e-4 for × 10000)."
)
OffsetOption = typer.Option(0.0, "--offset", help="Offset added after the scale factor [1].")
NodataOption = typer.Option(
    None, "--nodata", help="Stored nodata value [stored units] (overrides the file's)."
)
ClassesOption = typer.Option(
    None,
    "--classes",
    help="Inner FVC class limits, e.g. 0.1,0.3,0.6 (default: the reference table).",
)
DateOption = typer.Option(
    None, "--date", help="Acquisition date of the image (YYYY-MM-DD); required with --save."
)


def register(parent: typer.Typer) -> None:
    """Add the remote-sensing commands to ``restora monitor``."""
    parent.command("fvc")(fvc_command)
    parent.command("fvc-change")(fvc_change_command)
    parent.command("water")(water_command)
    parent.command("rs-results")(rs_results_command)
    parent.command("zone-cover")(zone_cover_command)


def _store(db: str | None) -> Any:
    from restora.store import Store, default_url

    return Store(db or default_url())


def _change(command: str, by: str | None, path: Path, sha256: str, mine: str) -> Any:
    """The audit trail's record of a --save: who, which command, which file."""
    from restora.store.audit import Change, current_user

    return Change(
        command,
        user=by or current_user(),
        files=[{"path": str(path), "sha256": sha256}],
        options={"mine": mine},
    )


def _date(value: str | None, option: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise InputError(f"{value!r} is not a date (YYYY-MM-DD)", field=option) from None


def _scheme(classes: str | None, on: dt.date | None) -> Any:
    from restora.monitoring import fvc

    if classes is None:
        return fvc.class_scheme(on)
    try:
        limits = [float(x) for x in classes.split(",") if x.strip()]
    except ValueError:
        raise InputError(f"{classes!r} is not a list of numbers", field="--classes") from None
    return fvc.class_scheme(limits=limits)


def _zones(
    zones: Path | None, layer: str | None, zone_id: str | None, mine: str | None, db: str | None
) -> Any:
    from restora.monitoring import raster_io

    if zones is not None:
        return raster_io.read_zones(zones, layer=layer, id_field=zone_id)
    if mine is not None:
        from restora.store import remote_sensing as rs

        with _store(db) as store:
            return raster_io.zones_from_wkb(rs.mine_zones(store, mine))
    return None


@contextmanager
def _progress(enabled: bool, total: int, label: str) -> Iterator[Callable[[int], None]]:
    """A pixel-count progress bar on stderr (only for people watching)."""
    if not enabled:
        yield lambda n: None
        return
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn(label),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    ) as bar:
        task = bar.add_task(label, total=total)
        yield lambda n: bar.advance(task, n)


def _cover_rows(covers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for c in covers:
        row = {k: c.get(k) for k in COVER_COLUMNS}
        row.update({f"share_{k}": v for k, v in (c.get("class_share") or {}).items()})
        rows.append(row)
    return rows


# ------------------------------------------------------------------------------ commands
def fvc_command(
    ndvi: Path = typer.Argument(..., help="NDVI raster (GeoTIFF, projected CRS)."),
    zones: Path | None = ZonesOption,
    layer: str | None = LayerOption,
    zone_id: str | None = ZoneIdOption,
    mine: str | None = MineOption,
    soil: float | None = SoilOption,
    veg: float | None = VegOption,
    scope: str = ScopeOption,
    scale: float = ScaleOption,
    offset: float = OffsetOption,
    nodata: float | None = NodataOption,
    classes: str | None = ClassesOption,
    date: str | None = DateOption,
    save: bool = typer.Option(False, "--save", help="Keep the result for --mine (needs --date)."),
    by: str | None = typer.Option(None, "--by", help="Who stores it (with --save)."),
    out: Path | None = typer.Option(
        None, "--out", "-o", help="Write the FVC map (float32 GeoTIFF; scene only)."
    ),
    db: str | None = DbOption,
    fmt: Format = FormatOption,
) -> None:
    """Fractional vegetation cover by the dimidiate pixel model, per zone or for the scene.

    FVC = (NDVI − NDVI_soil) / (NDVI_veg − NDVI_soil), clipped to 0–1. NDVI_soil and NDVI_veg
    are --soil/--veg, or the 5 % and 95 % percentiles of the valid pixels of the scene (or of
    the zones with --scope zones), as numpy.percentile computes them.
    """
    from restora.monitoring import raster_io
    from restora.monitoring.raster_io import Scaling

    with handled():
        acquired = _date(date, "--date")
        if save and (mine is None or acquired is None):
            raise InputError("--save needs --mine and --date", field="--save")
        if out is not None and (zones is not None or mine is not None):
            raise InputError("--out writes the scene's FVC map: leave out --zones and --mine")
        scheme = _scheme(classes, acquired)
        scaling = Scaling(scale, offset, nodata)
        zone_list = _zones(zones, layer, zone_id, mine, db)
        if zone_list:
            run = raster_io.fvc_zones(
                ndvi, zone_list, scaling=scaling, soil=soil, veg=veg, scope=scope, scheme=scheme
            )
        else:
            info = raster_io.raster_info(ndvi)
            with _progress(progress_wanted(fmt), info.pixels, "FVC") as step:
                run = raster_io.fvc_scene(
                    ndvi,
                    scaling=scaling,
                    soil=soil,
                    veg=veg,
                    scheme=scheme,
                    out=out,
                    progress=step,
                )
        sha = raster_io.sha256_file(ndvi)
        covers = [c.as_dict() for c in run.covers]
        result: dict[str, Any] = {
            "file": str(ndvi),
            "sha256": sha,
            "acquired_on": acquired.isoformat() if acquired else None,
            "mine_id": mine,
            "params": run.params,
            "zones": covers,
            "saved_id": None,
        }
        if save and mine is not None and acquired is not None:
            from restora.store import remote_sensing as rs

            change = _change("monitor fvc", by, ndvi, sha, mine)
            with _store(db) as store:
                saved = rs.save_result(
                    store,
                    mine_id=mine,
                    kind="fvc",
                    acquired_on=acquired,
                    sha256=sha,
                    params=run.params,
                    zones=covers,
                    file_name=Path(ndvi).name,
                    created_by=change.user,
                    change=change,
                )
            result["saved_id"] = saved["id"]
    e = run.endmembers
    title = f"FVC — NDVI_soil {e.ndvi_soil:.4f}, NDVI_veg {e.ndvi_veg:.4f} ({e.method})"
    emit(result, fmt, rows=_cover_rows(covers), title=title)


def fvc_change_command(
    before: Path = typer.Argument(..., help="NDVI raster of the earlier date."),
    after: Path = typer.Argument(..., help="NDVI raster of the later date, on the same grid."),
    zones: Path | None = ZonesOption,
    layer: str | None = LayerOption,
    zone_id: str | None = ZoneIdOption,
    mine: str | None = MineOption,
    soil: float | None = SoilOption,
    veg: float | None = VegOption,
    scope: str = ScopeOption,
    scale: float = ScaleOption,
    offset: float = OffsetOption,
    nodata: float | None = NodataOption,
    classes: str | None = ClassesOption,
    min_change: float = typer.Option(
        0.0, "--min-change", help="ΔFVC a pixel must exceed to count as improved / degraded [1]."
    ),
    out: Path | None = typer.Option(
        None, "--out", "-o", help="Write the ΔFVC map (after − before, float32 GeoTIFF)."
    ),
    db: str | None = DbOption,
    fmt: Format = FormatOption,
) -> None:
    """Change of FVC, bare-soil and vegetated area between two dates, pixel by pixel.

    The rasters must share one grid (CRS, pixel size, origin, size): resample explicitly
    first. Each date takes its own percentile end-members unless --soil/--veg are given.
    """
    from restora.monitoring import raster_io
    from restora.monitoring.raster_io import Scaling

    with handled():
        scheme = _scheme(classes, None)
        run = raster_io.fvc_change(
            before,
            after,
            _zones(zones, layer, zone_id, mine, db),
            scaling=Scaling(scale, offset, nodata),
            soil=soil,
            veg=veg,
            scope=scope,
            scheme=scheme,
            min_change=min_change,
            out=out,
        )
        changes = [c.as_dict() for c in run.changes]
        result = {
            "before": {"file": str(before), "sha256": raster_io.sha256_file(before)},
            "after": {"file": str(after), "sha256": raster_io.sha256_file(after)},
            "mine_id": mine,
            "params": run.params,
            "zones": changes,
        }
    emit(result, fmt, rows=changes, columns=CHANGE_COLUMNS, title="ΔFVC")


def water_command(
    index_raster: Path = typer.Argument(..., help="Water index raster (NDWI, MNDWI) or NDVI."),
    before: Path | None = typer.Option(
        None, "--before", help="The same index on an earlier date (same grid): the change."
    ),
    index: str = typer.Option("mndwi", "--index", help="ndwi, mndwi, or ndvi (fallback)."),
    threshold: float | None = typer.Option(
        None, "--threshold", help="Water threshold [index units] (default: the reference table, 0)."
    ),
    zones: Path | None = ZonesOption,
    layer: str | None = LayerOption,
    zone_id: str | None = ZoneIdOption,
    mine: str | None = MineOption,
    scale: float = ScaleOption,
    offset: float = OffsetOption,
    nodata: float | None = NodataOption,
    date: str | None = DateOption,
    save: bool = typer.Option(False, "--save", help="Keep the result for --mine (needs --date)."),
    by: str | None = typer.Option(None, "--by", help="Who stores it (with --save)."),
    db: str | None = DbOption,
    fmt: Format = FormatOption,
) -> None:
    """Open-water area per zone and its change since --before.

    Water where NDWI or MNDWI > 0 (McFeeters 1996; Xu 2006), or NDVI < 0 as a fallback; the
    threshold is the reference table's unless --threshold is given.
    """
    from restora.monitoring import fvc, raster_io
    from restora.monitoring.raster_io import Scaling

    with handled():
        acquired = _date(date, "--date")
        if save and (mine is None or acquired is None):
            raise InputError("--save needs --mine and --date", field="--save")
        if index not in fvc.WATER_INDICES:
            raise InputError(
                f"unknown water index {index!r} (one of {', '.join(fvc.WATER_INDICES)})",
                field="--index",
            )
        above, below = fvc.water_thresholds(acquired)
        if threshold is None:
            threshold = below if index == "ndvi" else above
        waters = raster_io.water_zones(
            index_raster,
            _zones(zones, layer, zone_id, mine, db),
            index=index,
            threshold=threshold,
            scaling=Scaling(scale, offset, nodata),
            before=before,
        )
        sha = raster_io.sha256_file(index_raster)
        zone_rows = [w.as_dict() for w in waters]
        params = {
            "index": index,
            "threshold": threshold,
            "rule": "water where NDVI < threshold"
            if index == "ndvi"
            else f"water where {index.upper()} > threshold",
            "reference": fvc.WATER_TABLE,
            "before": {"file": str(before), "sha256": raster_io.sha256_file(before)}
            if before
            else None,
            "scale": scale,
            "offset": offset,
        }
        result: dict[str, Any] = {
            "file": str(index_raster),
            "sha256": sha,
            "acquired_on": acquired.isoformat() if acquired else None,
            "mine_id": mine,
            "params": params,
            "zones": zone_rows,
            "saved_id": None,
        }
        if save and mine is not None and acquired is not None:
            from restora.store import remote_sensing as rs

            change = _change("monitor water", by, index_raster, sha, mine)
            with _store(db) as store:
                saved = rs.save_result(
                    store,
                    mine_id=mine,
                    kind="water",
                    acquired_on=acquired,
                    sha256=sha,
                    params=params,
                    zones=zone_rows,
                    file_name=Path(index_raster).name,
                    created_by=change.user,
                    change=change,
                )
            result["saved_id"] = saved["id"]
    emit(result, fmt, rows=zone_rows, columns=WATER_COLUMNS, title="water area")


def rs_results_command(
    mine: str = typer.Option(..., "--mine", help="The mine."),
    kind: str | None = typer.Option(None, "--kind", help="fvc or water (default both)."),
    db: str | None = DbOption,
    fmt: Format = FormatOption,
) -> None:
    """The mine's stored remote-sensing results, newest image first."""
    from restora.store import remote_sensing as rs

    with handled(), _store(db) as store:
        results = rs.rs_results(store, mine, kind=kind)
    rows = [
        {k: r[k] for k in ("id", "kind", "acquired_on", "file_name", "sha256", "created_at")}
        | {"zones": len(r["zones"])}
        for r in results
    ]
    emit(results, fmt, rows=rows)


def zone_cover_command(
    mine: str = typer.Option(..., "--mine", help="The mine."),
    on: str | None = OnOption,
    db: str | None = DbOption,
    fmt: Format = FormatOption,
) -> None:
    """The latest FVC of each zone of a mine, and their area-weighted mean.

    Images acquired on or before --on count: the evidence of a "vegetation cover ≥ 60 %"
    milestone.
    """
    from restora.monitoring.fvc import area_weighted_mean
    from restora.store import remote_sensing as rs

    with handled(), _store(db) as store:
        covers = rs.zone_cover(store, mine, _date(on, "--on"))
    result = {
        "mine_id": mine,
        "on": on,
        "fvc_area_weighted_mean": area_weighted_mean(covers),
        "zones": covers,
    }
    cols = (
        "zone_id",
        "name",
        "fvc_mean",
        "valid_area_m2",
        "vegetated_area_m2",
        "acquired_on",
        "result_id",
    )
    emit(result, fmt, rows=covers, columns=cols, title=f"FVC by zone, {mine}")
