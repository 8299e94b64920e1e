"""``restora cost estimate|library|template|tiers``: life-cycle cost with uncertainty.

``cost estimate --format xlsx --out FILE`` writes the workbook people send on: sheets summary,
by phase, by item, by year, indirect (one mine) and tornado, English headers with units.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from restora.cells import Sheet
from restora.cli.output import (
    DbOption,
    Format,
    FormatOption,
    OnOption,
    SendFormat,
    SendFormatOption,
    WorkbookOption,
    emit,
    err_console,
    handled,
    workbook_target,
    write_workbook,
)
from restora.cli.plan import plans_from_store, read_plans
from restora.cli.source import AllOption, MineOption, choose_source

app = typer.Typer(no_args_is_help=True)


@app.command("estimate")
def estimate_command(
    plans: list[str] = typer.Argument(
        None,
        help="Plan files (.yaml/.json from plan make --out; - for stdin); or --mine / --all.",
    ),
    mine: list[str] = MineOption,
    all_mines: bool = AllOption,
    draws: int = typer.Option(10_000, "--draws", min=1, help="Monte Carlo draws."),
    seed: int = typer.Option(1, "--seed", help="Random seed (same seed, same result)."),
    tiers: str = typer.Option("cn-default", "--tiers", help="Indirect-cost tier set."),
    distribution: str = typer.Option(None, "--distribution", help="triangular or pert."),
    price_year: int = typer.Option(None, "--price-year", help="Price year for mines planned now."),
    start_year: int = typer.Option(None, "--start-year", help="Year 0 for mines planned now."),
    chart: Path = typer.Option(None, "--chart", help="Write a tornado chart (PNG) here."),
    on: str | None = OnOption,
    db: str | None = DbOption,
    fmt: SendFormat = SendFormatOption,
    out: Path | None = WorkbookOption,
) -> None:
    """Estimate the life-cycle cost of one or more plans or mines (P10/P50/P80/P90).

    Costs plan files, or mines of the store planned as plan make plans them (--mine ID,
    repeatable, or --all); several are summed.

    Table and CSV: cost by phase [CNY]. JSON: total_p50_cny, total_p90_cny, total, pv,
    by_phase, by_item (with each unit cost's source), unsourced_direct_share, unsourced_items,
    indirect, tornado, price_year, draws, seed, tables_used. xlsx (--out FILE): summary, by
    phase, by item, by year, indirect and tornado sheets.
    """
    from restora.charts.cost import tornado_chart
    from restora.costing.report import cost_report
    from restora.errors import InputError

    with handled():
        if distribution not in (None, "triangular", "pert"):
            raise InputError("must be triangular or pert", field="--distribution")
        book = workbook_target(fmt, out)
        selection = choose_source(files={"PLANS": plans}, mine=mine, all_mines=all_mines, db=db)
        loaded = (
            read_plans(plans)
            if selection is None
            else plans_from_store(selection, price_year=price_year, start_year=start_year, on=on)
        )
        try:
            report, *_ = cost_report(
                [p for p, _ in loaded],
                draws=draws,
                seed=seed,
                tiers=tiers,
                distribution=distribution,
                on=on,
                where=[w for _, w in loaded],
            )
        except ValueError as exc:
            raise InputError(str(exc)) from exc
        if chart:
            tornado_chart(report["tornado"], str(chart), title=", ".join(report["mines"]))
            err_console.print(f"tornado chart written to {chart}")
        if fmt == Format.json:
            emit(report, fmt)
            return
        rows = phase_rows(report)
        if book is not None:
            write_workbook(book, estimate_sheets(report))
        else:
            emit(rows, fmt, title=f"Life-cycle cost [CNY, price year {report['price_year']}]")
        if report["unsourced_items"]:
            err_console.print(
                f"{report['unsourced_direct_share']:.0%} of the direct cost is priced with unit "
                "costs marked engineering judgement (no published source): "
                f"{', '.join(report['unsourced_items'])}. Replace them with the province's "
                "quota by a regional costing/unit-costs table (docs/costing.md)."
            )


def phase_rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Cost by phase and a TOTAL row: phase, deterministic_cny, p10_cny … p90_cny [CNY]."""
    rows = [{"phase": ph, **vals} for ph, vals in report["by_phase"].items()]
    rows.append({"phase": "TOTAL", **report["total"]})
    return rows


def estimate_sheets(report: dict[str, Any]) -> list[Sheet]:
    """The workbook of a cost estimate: summary, by phase, by item, by year, indirect, tornado.

    Money in CNY of the price year (``by year``: real, nominal and present value); the
    summary's figures are rounded to the fen, the tables keep full precision.
    """
    money = [
        ("total P50", report["total_p50_cny"]),
        ("total P90", report["total_p90_cny"]),
        ("deterministic total", report["total"]["deterministic_cny"]),
        ("present value, deterministic", report["pv"]["deterministic_cny"]),
    ]
    summary = [
        {"item": "mines", "value": ", ".join(report["mines"]), "unit": ""},
        {"item": "price year", "value": report["price_year"], "unit": "year"},
        *({"item": k, "value": round(v, 2), "unit": "CNY"} for k, v in money),
        {
            "item": "share of the direct cost priced with judgement",
            "value": round(report["unsourced_direct_share"], 4),
            "unit": "1",
        },
        {"item": "Monte Carlo draws", "value": report["draws"], "unit": ""},
        {"item": "seed", "value": report["seed"], "unit": ""},
        {"item": "distribution", "value": report["distribution"], "unit": ""},
    ]
    items = [{"item": k, **v} for k, v in report["by_item"].items()]
    cny = {"total_low", "total_base", "total_high", "swing", "base_amount", "amount"}
    headers = {k: f"{k.replace('_', ' ')} [CNY]" for k in cny}
    precision = dict.fromkeys(cny, 0)
    sheets = [
        Sheet("summary", summary, ["item", "value", "unit"]),
        Sheet("by phase", phase_rows(report)),
        Sheet("by item", items),
        Sheet("by year", report["by_year"]),
    ]
    if report.get("indirect"):
        sheets.append(Sheet("indirect", report["indirect"], headers=headers, precision=precision))
    if report.get("tornado"):
        sheets.append(Sheet("tornado", report["tornado"], headers=headers, precision=precision))
    return sheets


@app.command("library")
def library_command(
    region: str = typer.Option(None, "--region", help="6-digit region code (GB/T 2260)."),
    on: str | None = OnOption,
    fmt: Format = FormatOption,
) -> None:
    """The unit costs in force for a region: national rows overridden by regional tables.

    Shows which table each item comes from and whether its figures are published (sourced)
    or engineering judgement.
    """
    from restora.costing.unitcosts import library_frame, load_library

    with handled():
        lib = load_library(on=on, region=region)
        df = library_frame(lib)
        cols = ["item", "unit", "low", "likely", "high", "price_year", "region", "sourced"]
        if fmt == Format.json:
            emit({"items": df.to_dict("records"), "tables_used": list(lib.tables)}, fmt)
            return
        if fmt == Format.csv:
            emit(df.to_dict("records"), fmt)
            return
        emit(df[cols].to_dict("records"), fmt, columns=cols, title="Unit costs [CNY/unit]")
        n = int((~df["sourced"]).sum())
        err_console.print(
            f"{n} of {len(df)} items are engineering judgement (sourced = False); "
            "`restora cost template --region …` writes a table to replace them."
        )


@app.command("template")
def template_command(
    region: str = typer.Option(..., "--region", help="6-digit region code, e.g. 430000."),
    out: Path = typer.Option(
        ..., "--out", help="Folder to write (put it on RESTORA_REFDATA_PATH)."
    ),
    items: str = typer.Option("all", "--items", help="all, or unsourced (judgement rows only)."),
    excel: bool = typer.Option(False, "--excel", help="Write .xlsx instead of a UTF-8 CSV."),
    valid_from: str = typer.Option(None, "--valid-from", help="First day the table applies."),
) -> None:
    """Write a provincial unit-cost table to fill from the local quota (定额) and 信息价.

    Writes OUT/costing/unit-costs.yaml and the table beside it; never overwrites. Fill
    low / likely / high / price_year / source for each row (the national figures are in the
    national_* columns for comparison), delete the rows you have no quota for, then set
    RESTORA_REFDATA_PATH=OUT. Rows left empty are refused with their row and column named.
    """
    import datetime as dt

    import yaml

    from restora.costing.unitcosts import load_library, template_frame, template_meta
    from restora.errors import InputError

    with handled():
        if not (len(region) == 6 and region.isdigit()):
            raise InputError(f"{region!r} is not a 6-digit region code", field="--region")
        start = valid_from or dt.date.today().isoformat()
        try:
            dt.date.fromisoformat(start)
        except ValueError as exc:
            raise InputError(f"{start!r} is not a date (YYYY-MM-DD)", field="--valid-from") from exc
        folder = out / "costing"
        name = f"unit-costs-{region}.{'xlsx' if excel else 'csv'}"
        targets = [folder / "unit-costs.yaml", folder / name]
        existing = [str(p) for p in targets if p.exists()]
        if existing:
            raise InputError(
                "already exists; not overwritten (choose another --out)", file=existing[0]
            )
        df = template_frame(load_library(on=start), items)
        folder.mkdir(parents=True, exist_ok=True)
        if excel:
            df.to_excel(targets[1], index=False, sheet_name="unit-costs")
        else:
            df.to_csv(targets[1], index=False, encoding="utf-8-sig")  # BOM: Excel reads 中文
        meta = template_meta(region, start, name)
        targets[0].write_text(
            yaml.safe_dump(meta, allow_unicode=True, sort_keys=False), encoding="utf-8"
        )
        err_console.print(
            f"wrote {targets[0]} and {targets[1]} ({len(df)} items to fill); "
            f"then: RESTORA_REFDATA_PATH={out} restora cost library --region {region}"
        )


@app.command("tiers")
def tiers_command(
    direct: float = typer.Argument(..., help="Total direct cost [currency of the tier set]."),
    tiers: str = typer.Option("cn-default", "--tiers", help="Tier set under costing/indirect/."),
    on: str | None = OnOption,
    fmt: Format = FormatOption,
) -> None:
    """Indirect costs, line by line, for a direct cost (e.g. the Colorado DRMS example)."""
    from restora.costing.indirect import indirect_table, load_tiers

    with handled():
        t = load_tiers(tiers, on=on)
        rows = indirect_table(direct, t)
        total = direct + sum(r["amount"] for r in rows)
        if fmt == Format.json:
            emit(
                {"direct": direct, "lines": rows, "grand_total": total, "table": t.provenance}, fmt
            )
            return
        rows.append({"code": "GRAND TOTAL", "amount": total})
        emit(rows, fmt, title=t.provenance.get("name", tiers))
