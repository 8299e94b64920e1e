"""``restora value carbon``: carbon storage on land-cover rasters, comparable with InVEST.

The ``value`` group (``restora.cli.value``) calls :func:`add_commands` to add the command.

JSON contract (stable)::

    {"total_mg_c": float, "alt_total_mg_c": float | null, "delta_mg_c": float | null,
     ...}                               # with --price also "npv_cny",
                                        # "valuation_constant_cny_per_mg_c", the inputs;
                                        # always "pixel_area_ha", "classes", "outputs", "method"
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer

from restora.cli.output import Format, FormatOption, emit, err_console, handled
from restora.errors import InputError


def add_commands(app: typer.Typer) -> None:
    """Add ``carbon`` to the ``value`` group ``app``."""
    app.command("carbon")(carbon)


def carbon(
    lulc: Path = typer.Option(..., "--lulc", help="Baseline land-cover GeoTIFF (integer codes, projected CRS)."),
    pools: str = typer.Option(..., "--pools", help="Carbon pools CSV: lucode, c_above, c_below, c_soil, c_dead [Mg C/ha]; - for stdin."),
    lulc_alt: Path | None = typer.Option(None, "--lulc-alt", help="Alternate land cover on the same grid."),
    out: Path | None = typer.Option(None, "--out", help="Write per-pixel maps (float32 GeoTIFF, Mg C/pixel) to this folder."),
    compress: str = typer.Option("zstd", "--compress", help="Compression of the --out maps: zstd (fast, GDAL ≥ 2.3), deflate (any TIFF reader) or lzw."),
    price: float | None = typer.Option(None, "--price", help="Carbon price [CNY/Mg C] in the base year; turns on valuation."),
    price_unit: str = typer.Option("CNY/MgC", "--price-unit", help="Unit of --price: CNY/MgC, or CNY/tCO2 (converted by 44/12, IPCC 2006)."),
    discount_rate: float = typer.Option(0.0, "--discount-rate", help="Discount rate [% per year], as in InVEST (7 = 7 %)."),
    rate_change: float = typer.Option(0.0, "--rate-change", help="Annual change of the carbon price [% per year]."),
    base_year: int | None = typer.Option(None, "--base-year", help="Year of the baseline land cover."),
    alt_year: int | None = typer.Option(None, "--alt-year", help="Year of the alternate land cover."),
    workers: int = typer.Option(2, "--workers", min=1, help="Threads reading and computing blocks."),
    progress: bool | None = typer.Option(None, "--progress/--no-progress", help="Progress bar (default: when stderr is a terminal)."),
    fmt: Format = FormatOption,
) -> None:  # fmt: skip
    """Carbon storage (Mg C) of a land cover, an alternate, their difference and its value.

    Same definitions as the InVEST Carbon Storage and Sequestration model; sums in float64.
    """
    from restora.valuation import carbon as cm
    from restora.valuation.io import read_pools

    with handled():
        valuation = None
        conversion = None
        if price is not None:
            missing = [
                n for n, v in (("--base-year", base_year), ("--alt-year", alt_year)) if v is None
            ]
            if missing:
                raise InputError(
                    "valuation (--price) needs " + " and ".join(missing), field=missing[0]
                )
            if lulc_alt is None:
                raise InputError("valuation (--price) needs --lulc-alt", field="--lulc-alt")
            assert base_year is not None and alt_year is not None
            unit = price_unit.replace(" ", "").lower()
            if unit in ("cny/mgc", "cny/tc"):
                per_c = price
            elif unit in ("cny/tco2", "cny/tco2e"):
                per_c, conversion = cm.price_per_mg_c(price)
            else:
                raise InputError(
                    f"unknown price unit {price_unit!r}; use CNY/MgC or CNY/tCO2",
                    field="--price-unit",
                )
            valuation = cm.Valuation(per_c, discount_rate, rate_change, base_year, alt_year)
        elif base_year is not None or alt_year is not None:
            raise InputError(
                "--base-year/--alt-year are for valuation; give --price too", field="--price"
            )
        table = read_pools(pools)
        show = sys.stderr.isatty() if progress is None else progress
        try:
            result = _run(cm, lulc, table, lulc_alt, valuation, out, workers, show, compress)
        except KeyboardInterrupt:
            err_console.print("interrupted: stopped cleanly, no partial maps left")
            raise typer.Exit(130) from None
        data = result.to_dict()
        if conversion is not None:
            data["price_input"] = {
                "value": price,
                "unit": price_unit,
                "co2_per_c_table": conversion,
            }
        if fmt == Format.json:
            emit(data, fmt)
            return
        summary = {k: v for k, v in data.items() if k not in ("classes", "outputs")}
        if fmt == Format.table:
            emit(
                summary,
                fmt,
                rows=[{"key": k, "value": v} for k, v in summary.items()],
                title="Carbon storage",
            )
            if data["outputs"]:
                emit(
                    data["outputs"],
                    fmt,
                    rows=[{"map": k, "file": v} for k, v in data["outputs"].items()],
                )
        emit(data["classes"], fmt, title="By land-cover class" if fmt == Format.table else None)  # fmt: skip


def _run(
    cm: Any,
    lulc: Path,
    table: Any,
    lulc_alt: Path | None,
    valuation: Any,
    out: Path | None,
    workers: int,
    show: bool,
    compress: str = "zstd",
) -> Any:
    kwargs = dict(
        lulc_alt=lulc_alt, valuation=valuation, out_dir=out, workers=workers, compress=compress
    )
    if not show:
        return cm.carbon_storage(lulc, table, **kwargs)
    from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

    labels = {"count": "counting classes", "maps": "counting classes and writing maps"}
    with Progress(
        TextColumn("{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(), console=err_console, transient=True,
    ) as bar:  # fmt: skip
        tasks: dict[str, TaskID] = {}

        def cb(phase: str, done: int, total: int) -> None:
            if phase not in tasks:
                tasks[phase] = bar.add_task(labels.get(phase, phase), total=total)
            bar.update(tasks[phase], completed=done)

        return cm.carbon_storage(lulc, table, progress=cb, **kwargs)
