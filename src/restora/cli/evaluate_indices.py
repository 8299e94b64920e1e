"""``restora evaluate disparity | lorenz | did | before-after``: regional disparity (Gini, Theil
and its within/between decomposition, the Lorenz curve) and the policy effect (before/after,
difference-in-differences) of a table of units (docs/evaluation.md, "Regional disparity" and
"Policy effect").

Input: CSV (UTF-8 or GBK), tab-separated text or XLSX, Chinese or English headers, ``-`` for
CSV on standard input (:mod:`restora.evaluation.tables`). Exit 0 on success, 2 on bad input
(a missing column, a negative value, a cell that is not a number: the message names the file,
row and column), 1 on other failures.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from restora.cli.output import Format, FormatOption, emit, handled
from restora.errors import InputError

if TYPE_CHECKING:
    from restora.evaluation.policy import Estimate, PolicyEffect
    from restora.evaluation.tables import UnitsTable

_FILE_HELP = "Table of units: CSV (UTF-8 or GBK), XLSX, or - for CSV on standard input."
EncodingOption = typer.Option(
    None, "--encoding", help="Encoding of a CSV file (default: told from the bytes)."
)


def _read(file: str, encoding: str | None) -> UnitsTable:
    from restora.evaluation.tables import read_units

    if file == "-":
        return read_units(sys.stdin.buffer.read(), "<stdin>", encoding)
    path = Path(file)
    if not path.is_file():
        raise InputError("no such file", file=file)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", file=file) from exc
    return read_units(raw, file, encoding)


def disparity_command(
    file: str = typer.Argument(..., help=_FILE_HELP),
    value: str = typer.Option(
        ..., "--value", help="Column of the value of each unit (>= 0), e.g. social_capital."
    ),
    group: str = typer.Option(
        ...,
        "--group",
        help="Column of the group of each unit (e.g. province) for the Theil "
        "within/between decomposition.",
    ),
    weight: str | None = typer.Option(
        None,
        "--weight",
        help="Column of each unit's weight (population, damaged area): population-weighted "
        "indices of the value per unit of weight. Default: unweighted.",
    ),
    encoding: str | None = EncodingOption,
    fmt: Format = FormatOption,
) -> None:
    """Gini and Theil T of a value across units, with Theil's within/between-group parts.

    JSON: {"n", "gini", "theil", "theil_within", "theil_between", "groups": [{"group", "n",
    "mean", "theil", "share"}]}. Gini from the mean absolute difference (population Gini),
    Theil T with 0·ln 0 = 0; theil_within + theil_between = theil.
    """
    from restora.evaluation.disparity import disparity

    with handled():
        table = _read(file, encoding)
        x = table.numbers(value, nonnegative=True)
        groups = table.labels(group)
        w = table.numbers(weight, nonnegative=True) if weight else None
        result = disparity(x, groups, w)
    if fmt == Format.json:
        emit(result.as_json(), fmt)
        return
    total = {
        "group": "(all)",
        "n": result.n,
        "mean": None,
        "theil": result.theil,
        "share": 1.0,
        "gini": result.gini,
        "theil_within": result.theil_within,
        "theil_between": result.theil_between,
    }
    import numpy as np

    weights = np.ones_like(x) if w is None else w
    total["mean"] = float(np.dot(weights, x) / weights.sum()) if weights.sum() > 0 else 0.0
    rows = [total, *(g.as_json() for g in result.groups)]
    emit(rows, fmt, title=f"Disparity of {value} across {result.n} units by {group}")


def lorenz_command(
    file: str = typer.Argument(..., help=_FILE_HELP),
    value: str = typer.Option(..., "--value", help="Column of the value of each unit (>= 0)."),
    weight: str | None = typer.Option(
        None, "--weight", help="Column of each unit's weight (population, damaged area)."
    ),
    encoding: str | None = EncodingOption,
    fmt: Format = FormatOption,
) -> None:
    """Points of the Lorenz curve of a value across units, from (0, 0) to (1, 1).

    JSON: {"n", "gini", "points": [{"population_share", "value_share"}]}.
    """
    from restora.evaluation.disparity import gini, lorenz

    with handled():
        table = _read(file, encoding)
        x = table.numbers(value, nonnegative=True)
        w = table.numbers(weight, nonnegative=True) if weight else None
        curve = lorenz(x, w)
        g = gini(x, w)
    points = [
        {"population_share": float(p), "value_share": float(s)}
        for p, s in zip(curve.population_share, curve.value_share, strict=True)
    ]
    if fmt == Format.json:
        emit({"n": int(x.size), "gini": g, "points": points}, fmt)
    else:
        emit(points, fmt, title=f"Lorenz curve of {value} (Gini {g:.4f})")


def _panel(
    file: str,
    encoding: str | None,
    outcome: str,
    region: str,
    period: str,
    treated: str | None,
) -> tuple[Any, str]:
    from restora.evaluation.policy import Panel

    table = _read(file, encoding)
    panel = Panel.build(
        outcome=table.numbers(outcome),
        region=table.labels(region),
        period=table.years(period),
        treated=table.flags(treated) if treated else None,
        source=table.name,
    )
    return panel, table.name


def _estimate_rows(effect: PolicyEffect) -> list[dict[str, Any]]:
    def row(name: str, e: Estimate) -> dict[str, Any]:
        return {"estimate": name, **e.as_json()}

    rows = [row(effect.method, effect.estimate)]
    rows += [row(name, e) for name, e in effect.other_estimates().items()]
    return rows


def _show(effect: PolicyEffect, fmt: Format) -> None:
    if fmt == Format.json:
        emit(effect.as_json(), fmt)
        return
    emit(_estimate_rows(effect), fmt, title=effect.title())
    if fmt == Format.table:
        if effect.leads:
            joint = effect.pretrend_test or {}
            title = "Pre-trend: event-study leads (year before the start = reference)"
            if joint:
                title += (
                    f"; joint test F({joint['df_num']:.0f}, {joint['df_den']:.0f}) = "
                    f"{joint['statistic']:.3g}, p = {joint['p_value']:.3g}"
                )
            emit([lead.as_json() for lead in effect.leads], fmt, title=title)
        emit(
            [w.as_json() for w in effect.warnings]
            + [
                {"code": a.code, "level": "assumption", "message": a.text}
                for a in effect.assumptions
            ],
            fmt,
            title="Warnings and assumptions",
        )


def did_command(
    file: str = typer.Argument(..., help="Region × year panel: " + _FILE_HELP),
    outcome: str = typer.Option(
        ..., "--outcome", help="Column of the outcome, e.g. the social-capital share [1]."
    ),
    region: str = typer.Option(..., "--region", help="Column of the region (the cluster)."),
    period: str = typer.Option(..., "--period", help="Column of the year."),
    treated: str = typer.Option(
        ..., "--treated", help="Column saying whether the region adopted the policy (1/0, 是/否)."
    ),
    start: int = typer.Option(..., "--start", help="First year under the policy."),
    level: float = typer.Option(
        0.95, "--level", min=0.5, max=0.999, help="Confidence level of the intervals [1]."
    ),
    bootstrap: int = typer.Option(
        0,
        "--bootstrap",
        min=0,
        help="Wild-cluster bootstrap replications (e.g. 9999) for the p-value and interval of "
        "the effect; advised with fewer than about 30 regions. 0: none.",
    ),
    seed: int = typer.Option(20240601, "--seed", help="Seed of the bootstrap's draws."),
    encoding: str | None = EncodingOption,
    fmt: Format = FormatOption,
) -> None:
    """Difference-in-differences of an outcome around a policy's start year.

    Two-way fixed effects y = α_region + λ_year + δ·D + ε with standard errors clustered by
    region (statsmodels), the 2×2 DiD of means, event-study leads as a pre-trend check, and
    the assumptions and warnings (codes DID-…) the estimate rests on.
    """
    from restora.evaluation.policy import did

    with handled():
        panel, _ = _panel(file, encoding, outcome, region, period, treated)
        effect = did(panel, start, level=level, bootstrap=bootstrap, seed=seed, outcome=outcome)
    _show(effect, fmt)


def before_after_command(
    file: str = typer.Argument(..., help="Region × year panel: " + _FILE_HELP),
    outcome: str = typer.Option(..., "--outcome", help="Column of the outcome."),
    region: str = typer.Option(..., "--region", help="Column of the region (the cluster)."),
    period: str = typer.Option(..., "--period", help="Column of the year."),
    start: int = typer.Option(..., "--start", help="First year under the policy."),
    treated: str | None = typer.Option(
        None,
        "--treated",
        help="Column saying whether the region adopted the policy: only adopting regions are "
        "compared. Default: every row.",
    ),
    level: float = typer.Option(
        0.95, "--level", min=0.5, max=0.999, help="Confidence level of the intervals [1]."
    ),
    encoding: str | None = EncodingOption,
    fmt: Format = FormatOption,
) -> None:
    """Before/after comparison of an outcome around a policy's start year, within regions.

    y = α_region + β·after + ε, standard errors clustered by region; it attributes any change
    over time to the policy (warning BA-NO-CONTROL): prefer "did" where non-adopting regions
    exist.
    """
    from restora.evaluation.policy import before_after

    with handled():
        panel, _ = _panel(file, encoding, outcome, region, period, treated)
        effect = before_after(panel, start, level=level, outcome=outcome)
    _show(effect, fmt)


def register(app: typer.Typer) -> None:
    """Add the disparity and policy-effect commands to ``restora evaluate``."""
    app.command("disparity")(disparity_command)
    app.command("lorenz")(lorenz_command)
    app.command("did")(did_command)
    app.command("before-after")(before_after_command)
