"""``restora cost estimate|tiers``: life-cycle cost with uncertainty."""

from __future__ import annotations

from pathlib import Path

import typer

from restora.cli.output import Format, FormatOption, emit, err_console, handled
from restora.cli.plan import DbOption, load_plan_or_mine

app = typer.Typer(no_args_is_help=True)


@app.command("estimate")
def estimate_command(
    refs: list[str] = typer.Argument(..., help="Mine ids (planned from the store) or plan files."),
    draws: int = typer.Option(10_000, "--draws", min=1, help="Monte Carlo draws."),
    seed: int = typer.Option(1, "--seed", help="Random seed (same seed, same result)."),
    tiers: str = typer.Option("cn-default", "--tiers", help="Indirect-cost tier set."),
    distribution: str = typer.Option(None, "--distribution", help="triangular or pert."),
    price_year: int = typer.Option(None, "--price-year", help="Price year for mines planned now."),
    start_year: int = typer.Option(None, "--start-year", help="Year 0 for mines planned now."),
    chart: Path = typer.Option(None, "--chart", help="Write a tornado chart (PNG) here."),
    on: str = typer.Option(None, "--on", help="Date whose reference tables apply."),
    db: str = DbOption,
    fmt: Format = FormatOption,
) -> None:
    """Estimate the life-cycle cost of one or more mines or plans (P10/P50/P80/P90).

    JSON: ``total_p50_cny``, ``total_p90_cny``, ``total``, ``pv``, ``by_phase``, ``by_item``
    (with each unit cost's source), ``unsourced_direct_share``, ``unsourced_items``,
    ``indirect``, ``tornado``, ``price_year``, ``draws``, ``seed``, ``tables_used``.
    """
    from restora.costing.montecarlo import tornado_chart
    from restora.costing.report import cost_report
    from restora.errors import InputError

    with handled():
        if distribution not in (None, "triangular", "pert"):
            raise InputError("must be triangular or pert", field="--distribution")
        loaded = [
            load_plan_or_mine(r, db=db, price_year=price_year, start_year=start_year, on=on)
            for r in refs
        ]
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
        rows = [
            {"phase": ph, **{k.replace("_cny", ""): v for k, v in vals.items()}}
            for ph, vals in report["by_phase"].items()
        ]
        rows.append(
            {"phase": "TOTAL", **{k.replace("_cny", ""): v for k, v in report["total"].items()}}
        )
        emit(rows, fmt, title=f"Life-cycle cost [CNY, price year {report['price_year']}]")
        if report["unsourced_items"]:
            err_console.print(
                f"{report['unsourced_direct_share']:.0%} of the direct cost is priced with unit "
                "costs marked engineering judgement (no published source): "
                f"{', '.join(report['unsourced_items'])}. Replace them with the province's "
                "quota by a regional costing/unit-costs table (docs/costing.md)."
            )


@app.command("tiers")
def tiers_command(
    direct: float = typer.Argument(..., help="Total direct cost [currency of the tier set]."),
    tiers: str = typer.Option("cn-default", "--tiers", help="Tier set under costing/indirect/."),
    on: str = typer.Option(None, "--on", help="Date whose reference tables apply."),
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
