"""``restora fund project``: the mine restoration fund account, year by year.

``--format xlsx --out FILE`` writes the schedule and a summary sheet.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from restora.cells import Sheet
from restora.cli.output import (
    DbOption,
    Format,
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
from restora.cli.plan import load_plan_or_mine

app = typer.Typer(no_args_is_help=True)


@app.command("project")
def project_command(
    ref: str = typer.Argument(..., help="Mine id (planned from the store) or plan file."),
    production: str = typer.Option(
        ..., "--production", help="CSV: year, output_t [, draw_cny, revenue_cny]; - for stdin."
    ),
    reserves: float = typer.Option(
        None, "--reserves", help="Reserves at the start [t] (default: the plan's total output)."
    ),
    balance: float = typer.Option(0.0, "--balance", help="Account balance at the start [CNY]."),
    spent: float = typer.Option(0.0, "--spent", help="Restoration already paid [CNY]."),
    basis: str = typer.Option("p50", "--basis", help="Accrue on the p50 or p90 liability."),
    draws_from_plan: bool = typer.Option(
        False,
        "--draws-from-plan",
        help="Draw the plan's yearly cost (scaled to the basis liability) in production years.",
    ),
    liability_p50: float = typer.Option(
        None, "--liability-p50", help="P50 liability [CNY] (default: the cost estimate's)."
    ),
    liability_p90: float = typer.Option(
        None, "--liability-p90", help="P90 liability [CNY] (default: the cost estimate's)."
    ),
    draws: int = typer.Option(10_000, "--draws", min=1, help="Monte Carlo draws for P50/P90."),
    seed: int = typer.Option(1, "--seed", help="Random seed (same seed, same result)."),
    on: str | None = OnOption,
    db: str | None = DbOption,
    fmt: SendFormat = SendFormatOption,
    out: Path | None = WorkbookOption,
) -> None:
    """Project accruals, draws, balance and sufficiency (P50 and P90) over the production plan.

    xlsx (--out FILE): the schedule year by year and a summary sheet.
    """
    from restora.costing.fund import load_rule, plan_draws, project_fund
    from restora.costing.io import read_production
    from restora.costing.report import cost_report
    from restora.errors import InputError

    with handled():
        book = workbook_target(fmt, out)
        prod = read_production(production)
        plan, where = load_plan_or_mine(ref, db=db, price_year=None, start_year=None, on=on)
        if liability_p50 is None or liability_p90 is None:
            report, *_ = cost_report([plan], draws=draws, seed=seed, on=on, where=[where])
            l50 = liability_p50 if liability_p50 is not None else report["total_p50_cny"]
            l90 = liability_p90 if liability_p90 is not None else report["total_p90_cny"]
        else:
            l50, l90 = liability_p50, liability_p90
        rule = load_rule(on=on, region=plan.region_code)
        years = prod["year"].astype(int).to_numpy()
        planned = prod["draw_cny"].to_numpy() if "draw_cny" in prod else None
        if draws_from_plan:
            if planned is not None:
                raise InputError(
                    "give draw_cny in the production file or --draws-from-plan, not both",
                    file=production,
                    field="draw_cny",
                )
            report, *_ = cost_report([plan], draws=1, seed=seed, on=on, where=[where])
            profile = {int(r["year"]): r["real_cny"] for r in report["by_year"]}
            planned = plan_draws(years, profile, l90 if basis == "p90" else l50)
        res = project_fund(
            years=years,
            output_t=prod["output_t"].to_numpy(),
            reserves_t=float(prod["output_t"].sum()) if reserves is None else reserves,
            liability_p50=l50,
            liability_p90=l90,
            opening_balance=balance,
            spent_to_date=spent,
            draws=planned,
            revenue=prod["revenue_cny"].to_numpy() if "revenue_cny" in prod else None,
            basis=basis,
            rule=rule,
        )
        for w in res.warnings:
            err_console.print(f"[bold yellow]warning:[/] {w}", highlight=False)
        rows = res.schedule.to_dict("records")
        if fmt == Format.json:
            emit(
                {
                    "mine_id": plan.mine_id,
                    "price_year": plan.price_year,
                    "liability_p50_cny": l50,
                    "liability_p90_cny": l90,
                    "basis": basis,
                    "rule": {"method": rule.method, "rule_code": rule.rule_code, "rate": rule.rate},
                    "schedule": rows,
                    "final_sufficiency_p50": res.final_sufficiency_p50,
                    "final_sufficiency_p90": res.final_sufficiency_p90,
                    "warnings": res.warnings,
                    "tables_used": [rule.provenance],
                },
                fmt,
            )
            return
        if book is not None:
            summary: list[dict[str, Any]] = [
                {"item": "mine", "value": plan.mine_id, "unit": ""},
                {"item": "price year", "value": plan.price_year, "unit": "year"},
                {"item": "liability P50", "value": round(l50, 2), "unit": "CNY"},
                {"item": "liability P90", "value": round(l90, 2), "unit": "CNY"},
                {"item": "accrual basis", "value": basis, "unit": ""},
                {"item": "rule", "value": f"{rule.rule_code} ({rule.method})", "unit": ""},
                {"item": "final sufficiency P50", "value": res.final_sufficiency_p50, "unit": "1"},
                {"item": "final sufficiency P90", "value": res.final_sufficiency_p90, "unit": "1"},
                *({"item": "warning", "value": w, "unit": ""} for w in res.warnings),
            ]
            sheets = [Sheet("schedule", rows), Sheet("summary", summary, ["item", "value", "unit"])]
            write_workbook(book, sheets)
            return
        emit(rows, fmt, title=f"Restoration fund {plan.mine_id} (rule {rule.rule_code})")
