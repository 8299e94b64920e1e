"""``restora finance``: cash-flow metrics (and, from finance_structure, financing structures).

``restora finance metrics FLOWS.json --rate 0.06 --format json`` reads ``{"flows": [-100, 20,
...]}`` (``flows[0]`` now, ``flows[t]`` at the end of year t) or ``{"dated_flows": [["2026-01-01",
-100], ...]}`` and prints the stable JSON contract::

    {"npv": float, "irr": float | null, "irr_all": [float, ...],
     "irr_status": "none" | "unique" | "multiple" | "undetermined", "mirr": float | null,
     "payback_years": float | null, "discounted_payback_years": float | null}

``irr`` is null when the flow has no IRR or several (then ``irr_all`` lists them all and MIRR is
the figure to use). ``irr_status`` says which: ``none`` (there is none), ``unique``, ``multiple``,
or ``undetermined`` (the NPV curve has an extremum within rounding of zero: a double root, two
roots too close to separate, or none; ``irr_all`` holds the candidate rate). For dated flows NPV
is XNPV (actual/365) and IRR is XIRR.

``finance metrics`` and ``finance risk`` also write a workbook (``--format xlsx --out FILE``):
metrics and the flows; the risk summary and the tornado.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path
from typing import Any

import typer

from restora.cells import Sheet
from restora.cli.output import (
    Format,
    SendFormat,
    SendFormatOption,
    WorkbookOption,
    emit,
    handled,
    read_input_json,
    workbook_target,
    write_workbook,
)
from restora.errors import InputError, input_error

app = typer.Typer(no_args_is_help=True)

KEYS = (
    "npv",
    "irr",
    "irr_all",
    "irr_status",
    "mirr",
    "payback_years",
    "discounted_payback_years",
)


def _number(v: Any, file: str, row: str, field: str) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise InputError(f"{json.dumps(v)} is not a number", file=file, row=row, field=field)
    x = float(v)
    if not math.isfinite(x):
        raise InputError(f"{v} is not a finite number", file=file, row=row, field=field)
    return x


def parse_flows(data: Any, file: str) -> tuple[list[float], list[dt.date] | None]:
    """Flows (and dates, for dated flows) from the parsed JSON; InputError names the entry."""
    if not isinstance(data, dict) or ("flows" in data) == ("dated_flows" in data):
        raise InputError(
            'expected an object with either "flows" or "dated_flows"', file=file, field="flows"
        )
    if "flows" in data:
        raw = data["flows"]
        if not isinstance(raw, list) or not raw:
            raise InputError("must be a non-empty list of numbers", file=file, field="flows")
        return [_number(v, file, f"flows[{i}]", "flows") for i, v in enumerate(raw)], None
    raw = data["dated_flows"]
    if not isinstance(raw, list) or not raw:
        raise InputError(
            'must be a non-empty list of ["YYYY-MM-DD", amount]', file=file, field="dated_flows"
        )
    dates: list[dt.date] = []
    amounts: list[float] = []
    for i, item in enumerate(raw):
        row = f"dated_flows[{i}]"
        if not isinstance(item, list) or len(item) != 2:
            raise InputError(
                f'{json.dumps(item)} is not a ["YYYY-MM-DD", amount] pair',
                file=file,
                row=row,
                field="dated_flows",
            )
        try:
            dates.append(dt.date.fromisoformat(str(item[0])))
        except ValueError as exc:
            raise InputError(
                f"{json.dumps(item[0])} is not a date (use YYYY-MM-DD)",
                file=file,
                row=row,
                field="date",
            ) from exc
        amounts.append(_number(item[1], file, row, "amount"))
    return amounts, dates


def _opt(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def compute_metrics(
    flows: list[float],
    dates: list[dt.date] | None,
    *,
    rate: float,
    finance_rate: float,
    reinvest_rate: float,
    periods_per_year: int = 1,
) -> dict[str, Any]:
    """The metrics contract for one flow (see the module docstring)."""
    from restora.finance import metrics as m

    if dates is None:
        det = m.irr_detail(flows, periods_per_year=periods_per_year)
        return {
            "npv": float(m.npv(rate, flows, periods_per_year=periods_per_year)),
            "irr": _opt(det.irr[0]),
            "irr_all": list(det.all[0]),
            "irr_status": det.status[0],
            "mirr": _opt(
                m.mirr(flows, finance_rate, reinvest_rate, periods_per_year=periods_per_year)
            ),
            "payback_years": _opt(m.payback(flows, periods_per_year=periods_per_year)),
            "discounted_payback_years": _opt(
                m.discounted_payback(rate, flows, periods_per_year=periods_per_year)
            ),
        }
    xdet = m.xirr_detail(dates, flows)
    return {
        "npv": float(m.xnpv(rate, dates, flows)),
        "irr": _opt(xdet.irr[0]),
        "irr_all": list(xdet.all[0]),
        "irr_status": xdet.status[0],
        "mirr": _opt(m.xmirr(dates, flows, finance_rate, reinvest_rate)),
        "payback_years": _opt(m.xpayback(dates, flows)),
        "discounted_payback_years": _opt(m.xpayback(dates, flows, rate=rate)),
    }


def _check_rate(value: float, option: str) -> None:
    if not math.isfinite(value) or value <= -1:
        raise InputError(f"{value} is not a rate above -1", field=option)


@app.command("metrics")
def metrics_command(
    flows_file: str = typer.Argument(..., help='JSON with "flows" or "dated_flows"; - for stdin.'),
    rate: float = typer.Option(..., "--rate", help="Discount rate [1/yr], e.g. 0.06."),
    finance_rate: float = typer.Option(
        None, "--finance-rate", help="MIRR finance rate for outlays [1/yr] (default --rate)."
    ),
    reinvest_rate: float = typer.Option(
        None, "--reinvest-rate", help="MIRR reinvestment rate for inflows [1/yr] (default --rate)."
    ),
    periods_per_year: int = typer.Option(
        1, "--periods-per-year", min=1, help="Periods per year of flows (12 = monthly)."
    ),
    fmt: SendFormat = SendFormatOption,
    out: Path | None = WorkbookOption,
) -> None:
    """NPV, IRR (all of them), MIRR, payback and discounted payback of one cash flow.

    xlsx (--out FILE): a metrics sheet (value and unit of each) and the flows.
    """
    with handled():
        book = workbook_target(fmt, out)
        fr = rate if finance_rate is None else finance_rate
        rr = rate if reinvest_rate is None else reinvest_rate
        for value, option in ((rate, "--rate"), (fr, "--finance-rate"), (rr, "--reinvest-rate")):
            _check_rate(value, option)
        data, name = read_input_json(flows_file)
        flows, dates = parse_flows(data, name)
        if dates is not None and periods_per_year != 1:
            raise InputError(
                "dated flows take no --periods-per-year", file=name, field="dated_flows"
            )
        result = compute_metrics(
            flows,
            dates,
            rate=rate,
            finance_rate=fr,
            reinvest_rate=rr,
            periods_per_year=periods_per_year,
        )
        if book is not None:
            write_workbook(book, metrics_sheets(result, flows, dates, periods_per_year))
            return
        emit(result, fmt, columns=KEYS, title="Cash-flow metrics")


#: Units of the metrics; money is in the flows' own currency.
METRIC_UNITS = {
    "npv": "currency of the flows",
    "irr": "1/yr",
    "mirr": "1/yr",
    "payback_years": "yr",
    "discounted_payback_years": "yr",
}


def metrics_sheets(
    result: dict[str, Any], flows: list[float], dates: list[dt.date] | None, per_year: int
) -> list[Sheet]:
    """The workbook of ``finance metrics``: the metrics (value, unit) and the flows."""
    rows = [
        {
            "metric": k,
            "value": ", ".join(f"{x:.6g}" for x in v) if isinstance(v, list) else v,
            "unit": METRIC_UNITS.get(k, ""),
        }
        for k, v in result.items()
    ]
    flow_rows: list[dict[str, Any]]
    if dates is None:
        flow_rows = [{"period": i, "year": i / per_year, "flow": f} for i, f in enumerate(flows)]
    else:
        flow_rows = [{"date": d.isoformat(), "flow": f} for d, f in zip(dates, flows, strict=True)]
    return [
        Sheet("metrics", rows, ["metric", "value", "unit"]),
        Sheet("flows", flow_rows, headers={"flow": "flow [currency of the flows]"}),
    ]


def _flatten(d: dict[str, Any], prefix: str = "") -> list[dict[str, Any]]:
    """``metric, value`` rows; nested mappings and lists of mappings by dotted key (``a.0.b``)."""
    rows: list[dict[str, Any]] = []
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            rows.extend(_flatten(v, key + "."))
        elif isinstance(v, list) and v and all(isinstance(x, dict) for x in v):
            for i, x in enumerate(v):
                rows.extend(_flatten(x, f"{key}.{i}."))
        else:
            rows.append({"metric": key, "value": v})
    return rows


@app.command("risk")
def risk_command(
    spec_file: str = typer.Argument(..., help="JSON risk spec (see docs/finance-metrics.md); -."),
    scenarios: int = typer.Option(10_000, "--scenarios", min=1, help="Monte Carlo scenarios."),
    seed: int = typer.Option(1, "--seed", help="Random seed (same seed, same result)."),
    swing: float = typer.Option(
        0.10,
        "--swing",
        min=0.0,
        help="Tornado swing [fraction of each driver's base value], e.g. 0.10 for ±10 %.",
    ),
    fmt: SendFormat = SendFormatOption,
    out: Path | None = WorkbookOption,
) -> None:
    """Monte Carlo of a project: NPV/IRR percentiles, P(IRR < hurdle), losses, tornado.

    xlsx (--out FILE): the summary (metric, value) and the tornado.
    """
    from pydantic import ValidationError

    from restora.finance import risk

    with handled():
        book = workbook_target(fmt, out)
        data, name = read_input_json(spec_file)
        try:
            spec = risk.RiskSpec.model_validate(data)
        except ValidationError as exc:
            raise input_error(exc, file=name) from exc
        res = risk.run(spec, n=scenarios, seed=seed, swing=swing, progress=fmt == Format.table)
        if fmt == Format.json:
            emit(res, fmt)
            return
        if book is not None:
            sheets = [Sheet("summary", _flatten(res["summary"]), ["metric", "value"])]
            if res["tornado"]:
                sheets.append(Sheet("tornado", res["tornado"]))
            write_workbook(book, sheets)
            return
        emit(_flatten(res["summary"]), fmt, columns=("metric", "value"), title="Project risk")
        if fmt == Format.table and res["tornado"]:
            cols = (
                "driver",
                "target",
                "streams",
                "minus",
                "plus",
                "npv_minus",
                "npv_plus",
                "npv_swing",
            )
            emit(res["tornado"], fmt, columns=cols, title=f"Tornado (NPV, ±{swing:.0%})")


from restora.cli import finance_structure  # noqa: E402  (its commands join this group)

finance_structure.add_commands(app)
