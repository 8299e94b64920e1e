"""``restora match``: the project library matched to finance supply (issue 14).

``restora match allocate PROBLEM.json --format json`` prints the contract's document
(docs/matching.md, "The contract")::

    {"status": "optimal" | "infeasible" | "time_limit" | "feasible", "objective": float,
     "funded": [id], "allocations": [{"project", "product", "amount_cny"}],
     "unfunded": [{"project", "reasons": [str]}], "binding": [{"constraint", "name",
     "slack_cny"}], "shadow_prices": {product: float}, "money_cny", "mip_gap", "dual_bound",
     and with --greedy "greedy": {"objective", "funded", "money_cny", "allocations"}}

Exit 0 on success, 2 on a malformed file (each wrong field named by its path,
``projects[3].need_cny``). ``restora match check PROBLEM.json`` lists every pair's eligibility
with the failed requirements and the smallest change that would make each pass.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import typer

from restora.cli.output import Format, FormatOption, emit, handled, read_input_json

app = typer.Typer(no_args_is_help=True)


@contextmanager
def solver_output_to_stderr() -> Iterator[None]:
    """Send what the solver's C++ code prints on file descriptor 1 to stderr meanwhile.

    HiGHS (inside scipy) occasionally prints a diagnostic line with printf even with its
    output off; on stdout it would corrupt the JSON a program reads.
    """
    sys.stdout.flush()
    try:
        saved = os.dup(1)
    except OSError:  # no real stdout (an embedding without file descriptors)
        yield
        return
    try:
        os.dup2(2, 1)
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


@app.command("allocate")
def allocate_command(
    problem_file: str = typer.Argument(
        ..., metavar="PROBLEM.json", help="The instance; - for stdin."
    ),
    gap: float | None = typer.Option(
        None,
        "--gap",
        min=0.0,
        max=1.0,
        help="Relative MIP gap at which HiGHS may stop [1] (0.01 = 1 %). Default: the optimum "
        "for components of up to 2 000 eligible pairs, 0.1 % above, 1 % for blocks of more "
        "than 50 000 pairs; the gap proven is in the output.",
    ),
    time_limit: float | None = typer.Option(
        None, "--time-limit", min=0.1, help="Time limit for the solver [s] (default: none)."
    ),
    compare_greedy: bool = typer.Option(
        False, "--greedy", help="Also run first-come greedy on the same instance and compare."
    ),
    fmt: Format = FormatOption,
) -> None:
    """Fund the projects that give the most ecological value with the products' capacity.

    Projects are funded whole or not at all, possibly by several products; each product used
    gives between its ticket minimum and maximum; capacities and the region cap hold; ties go to
    less money. Also: binding constraints, the capacities' shadow prices, unfunded projects with
    their reasons.
    """
    from restora.matching.allocate import allocate, result_document
    from restora.matching.greedy import greedy
    from restora.matching.problem import parse_problem

    with handled():
        data, name = read_input_json(problem_file)
        problem = parse_problem(data, source=name)
        with solver_output_to_stderr():
            result = allocate(problem, gap=gap, time_limit=time_limit)
        doc = result_document(problem, result)
        if compare_greedy:
            g = greedy(problem)
            doc["greedy"] = {
                "objective": g.objective,
                "funded": list(g.funded),
                "money_cny": g.money_cny,
                "allocations": [
                    {"project": a.project, "product": a.product, "amount_cny": a.amount_cny}
                    for a in g.allocations
                ],
            }
        if fmt == Format.json:
            emit(doc, fmt)
            return
        _print_tables(doc, fmt)


def _print_tables(doc: dict[str, Any], fmt: Format) -> None:
    from restora.cli.output import console

    rows = [dict(a) for a in doc["allocations"]]
    if fmt == Format.csv:
        emit(rows, fmt, columns=["project", "product", "amount_cny"])
        return
    emit(rows or [{"project": "", "product": "", "amount_cny": None}], fmt,
         columns=["project", "product", "amount_cny"], title="Allocations")  # fmt: skip
    summary = [
        {"item": "status", "value": doc["status"]},
        {"item": "ecological value funded", "value": doc["objective"]},
        {"item": "projects funded", "value": len(doc["funded"])},
        {"item": "money allocated [CNY]", "value": doc["money_cny"]},
        {"item": "MIP gap proven", "value": f"{100 * doc['mip_gap']:.3f} %"},
    ]
    if "greedy" in doc:
        g = doc["greedy"]
        summary += [
            {"item": "greedy: ecological value", "value": g["objective"]},
            {"item": "greedy: projects funded", "value": len(g["funded"])},
            {"item": "greedy: money [CNY]", "value": g["money_cny"]},
        ]
    emit(summary, fmt, columns=["item", "value"], title="Summary")
    if doc["binding"]:
        emit(doc["binding"], fmt, title="Binding constraints")
    prices = [{"product": k, "shadow_price": v} for k, v in doc["shadow_prices"].items() if v > 0]
    if prices:
        emit(prices, fmt, title="Shadow prices (ecological value per extra yuan of capacity)")
    if doc["unfunded"]:
        emit(
            [
                {"project": u["project"], "reasons": "; ".join(u["reasons"])}
                for u in doc["unfunded"]
            ],
            fmt,
            title="Unfunded",
        )
    console.file.flush()


@app.command("check")
def check_command(
    problem_file: str = typer.Argument(
        ..., metavar="PROBLEM.json", help="The instance; - for stdin."
    ),
    only_failing: bool = typer.Option(
        False, "--failing", help="Only the pairs that are not eligible."
    ),
    fmt: Format = FormatOption,
) -> None:
    """Every (project, product) pair: eligible or not, each failed requirement, and the smallest
    change of one parameter that would make it pass."""
    from restora.matching.eligibility import check
    from restora.matching.problem import parse_problem

    with handled():
        data, name = read_input_json(problem_file)
        problem = parse_problem(data, source=name)
        verdicts = [check(p, k) for p in problem.projects for k in problem.products]
        if only_failing:
            verdicts = [v for v in verdicts if not v.eligible]
        if fmt == Format.json:
            emit([v.document() for v in verdicts], fmt)
            return
        rows = []
        for v in verdicts:
            rows.append(
                {
                    "project": v.project,
                    "product": v.product,
                    "eligible": "yes" if v.eligible else "no",
                    "failures": "; ".join(f.message for f in v.failures) or "; ".join(v.notes),
                    "smallest_changes": "; ".join(_change(f.smallest_change) for f in v.failures),
                }
            )
        emit(rows, fmt, columns=["project", "product", "eligible", "failures", "smallest_changes"],
             title="Eligibility")  # fmt: skip


def _change(change: Any) -> str:
    if "add" in change:
        return f"add {change['add']} to {change['parameter']}"
    return f"{change['parameter']}: {change['from']} → {change['to']}"
