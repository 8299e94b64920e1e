"""``restora mines import|export|list|show``: the legacy-mine register in the store.

JSON contracts (stable)::

    import  {"counts": {"mines", "sites", "samples", "hazards"}, "rejected": int,
             "rejects_file": str | null, "repairs": [str], "files": [{"path", "format",
             "sha256", "encoding"}], "ignored_columns": [str],
             "warnings": [{"code": "SOIL-PLAUSIBILITY-MAX", "file", "row", "column",
                           "sample_id", "pollutant", "value_mg_kg", "limit_mg_kg", "basis",
                           "published_max_mg_kg", "value_if_unit_1000x_smaller_mg_kg",
                           "message"}]}

Plausibility warnings (``soil/plausible-ranges``, :func:`restora.diagnosis.county.
sample_plausibility`) never block an import; with ``--format table`` they go to stderr.
Columns an import did not use are printed on stderr too (``not used: FILE: HEADER``).
    export  {"format": str, "files": [str], "counts": {"mines", "sites", "samples", "hazards"}}
    list    [{"id", "name", "region", "mineral", "status", "party", "sites", "area_hm2",
              "area_mu"}]
    show    {"mine": {mine columns}, "sites": [{site columns, "area_hm2", "area_mu",
             "geometry": GeoJSON}], "samples": [{sample columns}], "hazards": [{...}]}

Exit codes: 0 success, 2 bad input (the message names file, row and column; nothing is
written), 1 other failures.
"""

from __future__ import annotations

import math
from enum import StrEnum
from pathlib import Path
from typing import Any

import pandas as pd
import shapely
import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from restora.cli.output import DbOption, Format, FormatOption, emit, err_console, handled
from restora.errors import InputError, RestoraError
from restora.inventory.io import read_register, write_register
from restora.inventory.model import Register
from restora.units import MU_PER_HM2

app = typer.Typer(no_args_is_help=True)


class ExportFormat(StrEnum):
    geojson = "geojson"
    gpkg = "gpkg"
    csv = "csv"
    xlsx = "xlsx"


def _store(db: str | None) -> Any:
    from restora.store import Store, default_url

    return Store(db or default_url())


def _load_register(db: str | None, mine_ids: list[str] | None = None) -> Register:
    """The register (or the given mines) of the store at ``db``, the store closed afterwards."""
    store = _store(db)
    try:
        return store.load_register(mine_ids)
    finally:
        store.close()


def _default_rejects(files: list[str]) -> Path:
    first = next((Path(f) for f in files if f != "-"), None)
    if first is None:
        return Path("rejects.csv")
    return first.with_name(first.stem + "_rejects.csv")


@app.command("import")
def import_command(
    files: list[str] = typer.Argument(
        ..., help="Register files (GeoJSON, GPKG, SHP/ZIP, CSV/TSV, XLSX, XLS; - is CSV on stdin)."
    ),
    db: str | None = DbOption,
    repair: bool = typer.Option(False, "--repair", help="Fix invalid polygons (make_valid)."),
    skip_invalid: bool = typer.Option(
        False, "--skip-invalid", help="Import the good records; write the bad ones to --rejects."
    ),
    rejects: Path | None = typer.Option(
        None, "--rejects", help="CSV of rejected records (default: <first file>_rejects.csv)."
    ),
    crs: str | None = typer.Option(None, "--crs", help="CRS of the coordinates, e.g. EPSG:4547."),
    encoding: str | None = typer.Option(
        None, "--encoding", help="Text encoding of CSV / DBF (default: UTF-8, else GB18030)."
    ),
    lonlat_wgs84: bool = typer.Option(
        False, "--lonlat-wgs84", help="lon/lat (经度/纬度) columns are WGS 84 degrees."
    ),
    area_unit: str | None = typer.Option(
        None,
        "--area-unit",
        help="Unit of an area column whose header names none (面积): mu (亩), hm2 or m2.",
    ),
    area_tolerance: float | None = typer.Option(
        None,
        "--area-tolerance",
        help="Accepted relative difference of declared and polygon areas [1], e.g. 0.05 (5 %); "
        "default: reference table inventory/declared-area-tolerance.",
    ),
    fmt: Format = FormatOption,
) -> None:
    """Import register files into the store in one transaction (all or nothing)."""
    with handled():
        with Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            console=err_console,
            transient=True,
        ) as progress:
            task = progress.add_task("reading", total=None)

            def step(name: str) -> None:
                progress.update(task, description=f"reading {name}")

            register, report = read_register(
                files,
                crs=crs,
                encoding=encoding,
                repair=repair,
                skip_invalid=skip_invalid,
                lonlat_wgs84=lonlat_wgs84,
                area_unit=area_unit,
                area_tolerance=area_tolerance,
                progress=step,
            )
            progress.update(task, description="writing to the store")
            options = {
                "repair": repair,
                "skip_invalid": skip_invalid,
                "crs": crs,
                "encoding": encoding,
                "lonlat_wgs84": lonlat_wgs84,
                "area_unit": area_unit,
                "area_tolerance": area_tolerance,
            }
            store = _store(db)
            try:
                counts = store.add_register(register, source=report.source(options))
            finally:
                store.close()
        rejects_file = None
        if skip_invalid and len(report.rejects):
            rejects_file = rejects or _default_rejects(files)
            report.rejects.to_csv(rejects_file, index=False, encoding="utf-8-sig")
        from restora.diagnosis.county import sample_plausibility

        warnings = sample_plausibility(register.samples, report.sample_origins)
        for r in report.repairs:
            err_console.print(f"repaired: {r}", highlight=False, markup=False)
        for col in report.ignored_columns:
            err_console.print(f"not used: {col}", highlight=False, markup=False, soft_wrap=True)
        for w in warnings:
            err_console.print(
                f"warning: {w['message']}", highlight=False, markup=False, soft_wrap=True
            )
        if len(report.rejects):
            err_console.print(
                f"{len(report.rejects)} record(s) rejected, written to {rejects_file}",
                highlight=False,
                markup=False,
            )
        result = {
            "counts": counts,
            "rejected": len(report.rejects),
            "rejects_file": str(rejects_file) if rejects_file else None,
            "repairs": [str(r) for r in report.repairs],
            "files": [
                {"path": f.path, "format": f.format, "sha256": f.sha256, "encoding": f.encoding}
                for f in report.files
            ],
            "ignored_columns": report.ignored_columns,
            "warnings": warnings,
        }
        emit(
            result,
            fmt,
            rows=[{**counts, "rejected": len(report.rejects), "repaired": len(report.repairs)}],
            title="Imported",
        )


@app.command("export")
def export_command(
    export_format: ExportFormat = typer.Option(
        ..., "--format", "-f", help="geojson, gpkg, csv or xlsx."
    ),
    out: Path = typer.Option(..., "--out", "-o", help="File to write (siblings for csv/geojson)."),
    db: str | None = DbOption,
) -> None:
    """Export the whole register; importing the files gives the same register back."""
    with handled():
        register = _load_register(db)
        try:
            written = write_register(register, out, export_format.value)
        except OSError as exc:
            raise RestoraError(f"cannot write {out}: {exc.strerror or exc}") from exc
        result = {
            "format": export_format.value,
            "files": [str(p) for p in written],
            "counts": {
                t: len(getattr(register, t)) for t in ("mines", "sites", "samples", "hazards")
            },
        }
        emit(result, Format.json)


def mine_rows(register: Register) -> list[dict[str, Any]]:
    """One row per mine: id, name, region, mineral, status, party, sites, area [hm², 亩]."""
    sites = register.sites
    per = (
        sites.groupby("mine_id")["area_hm2"].agg(["size", "sum"])
        if len(sites)
        else pd.DataFrame(columns=["size", "sum"])
    )
    rows = []
    for m in register.mines.to_dict("records"):
        n = int(per["size"].get(m["mine_id"], 0)) if len(per) else 0
        area = float(per["sum"].get(m["mine_id"], 0.0)) if len(per) else 0.0
        rows.append(
            {
                "id": m["mine_id"],
                "name": m["name"],
                "region": m["region_code"],
                "mineral": m["mineral"],
                "status": m["status"],
                "party": m["responsible_party"],
                "sites": n,
                "area_hm2": round(area, 4),
                "area_mu": round(area * MU_PER_HM2, 2),
            }
        )
    return rows


@app.command("list")
def list_command(db: str | None = DbOption, fmt: Format = FormatOption) -> None:
    """List the mines in the register with their site count and damaged area."""
    with handled():
        register = _load_register(db)
        emit(mine_rows(register), fmt, title="Mines")


def _record(rec: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in rec.items():
        if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
            out[k] = None
        elif k == "geometry":
            out[k] = shapely.geometry.mapping(v)
        elif hasattr(v, "isoformat"):
            out[k] = v.isoformat()
        else:
            out[k] = v
    return out


@app.command("show")
def show_command(
    mine_id: str = typer.Argument(..., help="Mine id."),
    db: str | None = DbOption,
    fmt: Format = FormatOption,
) -> None:
    """Show a mine with its sites, samples and hazards."""
    with handled():
        register = _load_register(db, [mine_id])
        if not (register.mines["mine_id"] == mine_id).any():
            raise InputError(f"mine {mine_id!r} is not in the register", field="mine_id")
        mine = _record(register.mines.iloc[0].to_dict())
        sites = []
        for rec in register.sites.to_dict("records"):
            r = _record(rec)
            r["area_mu"] = None if r["area_hm2"] is None else r["area_hm2"] * MU_PER_HM2
            sites.append(r)
        samples = [_record(r) for r in register.samples.to_dict("records")]
        hazards = [_record(r) for r in register.hazards.to_dict("records")]
        data = {"mine": mine, "sites": sites, "samples": samples, "hazards": hazards}
        if fmt == Format.json:
            emit(data, fmt)
            return
        emit(mine, fmt, rows=[mine], title=f"Mine {mine_id}")
        site_rows = [{k: v for k, v in s.items() if k != "geometry"} for s in sites]
        for title, rows in (("Sites", site_rows), ("Samples", samples), ("Hazards", hazards)):
            if not rows:
                continue
            columns = list(rows[0])
            if fmt == Format.table:  # leave out columns empty on every row (e.g. unmeasured metals)
                columns = [c for c in columns if any(r.get(c) is not None for r in rows)]
            emit(rows, fmt, columns=columns, title=title)


# Optional commands of other modules (each adds itself to this group when present).
from restora.cli import mines_rank  # noqa: E402  (its commands join this group)

mines_rank.add_commands(app)
