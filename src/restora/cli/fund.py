"""``restora fund project``: the mine restoration fund account, year by year."""

from __future__ import annotations

import typer

from restora.cli.output import DbOption, Format, FormatOption, OnOption, emit, err_console, handled
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
    liability_p50: float = typer.Option(None, "--liability-p50", help="Override [CNY]."),
    liability_p90: float = typer.Option(None, "--liability-p90", help="Override [CNY]."),
    draws: int = typer.Option(10_000, "--draws", min=1, help="Monte Carlo draws for P50/P90."),
    seed: int = typer.Option(1, "--seed"),
    on: str | None = OnOption,
    db: str | None = DbOption,
    fmt: Format = FormatOption,
) -> None:
    """Project accruals, draws, balance and sufficiency (P50 and P90) over the production plan."""
    from restora.costing.fund import load_rule, plan_draws, project_fund
    from restora.costing.io import read_production
    from restora.costing.report import cost_report
    from restora.errors import InputError

    with handled():
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
        emit(rows, fmt, title=f"Restoration fund {plan.mine_id} (rule {rule.rule_code})")
