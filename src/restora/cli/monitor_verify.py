"""``restora monitor milestones | evidence | sign-off | tranches``: milestones, the evidence an
evaluator reviews, and the sign-off that records the outcome on the registry ledger, releases
the performance-bond tranche and issues the credits (docs/monitoring.md, "Milestones, sign-off,
tranches and credits").

- ``milestones add PROJECT --name --indicator --target [--tranche] [--credits JSON]``,
  ``milestones list [--project]``, ``milestones from-project PROJECT``;
- ``evidence MILESTONE [--on DATE]``: the value, what it rests on, what a sign-off settles;
- ``sign-off MILESTONE --evaluator USER --decision accepted|rejected --report FILE``;
- ``tranches PROJECT``: the tranches released.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

import typer

from restora.cli.output import DbOption, Format, FormatOption, emit, handled
from restora.errors import InputError

MILESTONE_COLUMNS = (
    "id", "project_id", "indicator", "comparison", "target", "due_on", "tranche", "status",
)  # fmt: skip
RELEASE_COLUMNS = (
    "tranche", "indicator", "value", "tier", "principal_fraction", "amount_cny", "released_at",
)  # fmt: skip

milestones_app = typer.Typer(no_args_is_help=True, help="A project's milestones.")


def register(parent: typer.Typer) -> None:
    """Add the verification commands to ``restora monitor``."""
    parent.add_typer(milestones_app, name="milestones")
    parent.command("evidence")(evidence_command)
    parent.command("sign-off")(sign_off_command)
    parent.command("tranches")(tranches_command)


def _store(db: str | None) -> Any:
    from restora.store import Store, default_url

    return Store(db or default_url())


def _date(value: str | None, option: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise InputError(f"{value!r} is not a date (YYYY-MM-DD)", field=option) from None


def _json(value: str | None, option: str) -> Any:
    if value is None:
        return None
    try:
        return json.loads(value)
    except json.JSONDecodeError as exc:
        raise InputError(f"{option} is not JSON: {exc}", field=option) from None


@milestones_app.command("add")
def milestones_add_command(
    project: str = typer.Argument(..., help="Project id."),
    name: str = typer.Option(..., "--name", help="Milestone name (the id is PROJECT/NAME)."),
    indicator: str = typer.Option(
        ...,
        "--indicator",
        help="soil_share_below_screening, vegetation_cover, hazards_stabilised, plant_survival.",
    ),
    target: float = typer.Option(..., "--target", help="Target value [indicator unit]."),
    comparison: str = typer.Option("ge", "--comparison", help="ge, gt, le or lt."),
    due: str | None = typer.Option(None, "--due", help="Due date (YYYY-MM-DD)."),
    tranche: str | None = typer.Option(
        None, "--tranche", help="Tranche of the project's performance bond it settles."
    ),
    credits: str | None = typer.Option(
        None,
        "--credits",
        help='Credits it earns (JSON): {"unit_type": "CSINK", "count": 120 | "per_value": k, '
        '"baseline": b, "vintage": 2030, "attrs": {...}}.',
    ),
    params: str | None = typer.Option(
        None,
        "--params",
        help='Indicator parameters (JSON), e.g. {"window_days": 30, "rate_limit_mm_per_day": 0.1}.',
    ),
    db: str | None = DbOption,
    fmt: Format = FormatOption,
) -> None:
    """Add a milestone to a project."""
    from restora.store import verification as V

    with handled(), _store(db) as store:
        m = V.add_milestone(
            store, project_id=project, name=name, indicator=indicator, target=target,
            comparison=comparison, due_on=_date(due, "--due"), tranche=tranche,
            credits=_json(credits, "--credits"), params=_json(params, "--params"),
        )  # fmt: skip
    emit(m, fmt, columns=MILESTONE_COLUMNS)


@milestones_app.command("list")
def milestones_list_command(
    project: str | None = typer.Option(None, "--project", help="Only this project's."),
    db: str | None = DbOption,
    fmt: Format = FormatOption,
) -> None:
    """List milestones."""
    from restora.store import verification as V

    with handled(), _store(db) as store:
        rows = V.milestones(store, project_id=project)
    emit(rows, fmt, columns=MILESTONE_COLUMNS)


@milestones_app.command("from-project")
def milestones_from_project_command(
    project: str = typer.Argument(..., help="Project id."),
    db: str | None = DbOption,
    fmt: Format = FormatOption,
) -> None:
    """Create the milestones of the project's performance-bond tranches (where missing)."""
    from restora.store import verification as V

    with handled(), _store(db) as store:
        rows = V.milestones_from_project(store, project)
    emit(rows, fmt, columns=MILESTONE_COLUMNS)


def evidence_command(
    milestone: str = typer.Argument(..., help="Milestone id."),
    on: str | None = typer.Option(None, "--on", help="Latest evidence date (YYYY-MM-DD)."),
    db: str | None = DbOption,
    fmt: Format = FormatOption,
) -> None:
    """The evidence of a milestone: its value, what it rests on, what a sign-off settles."""
    from restora.store import verification as V

    with handled(), _store(db) as store:
        ev = V.evidence(store, milestone, on=_date(on, "--on"))
    if fmt == Format.json:
        emit(ev, fmt)
        return
    t = ev.get("tranche") or {}
    c = ev.get("credits") or {}
    summary = {
        "milestone": milestone,
        "indicator": ev["indicator"],
        "value": ev["value"],
        "comparison": ev["comparison"],
        "target": ev["target"],
        "meets": ev["meets"],
        "items": len(ev["items"]),
        "tranche": t.get("tranche"),
        "tier": t.get("tier"),
        "principal_fraction": t.get("principal_fraction"),
        "amount_cny": t.get("amount"),
        "credits": c.get("issue_count"),
        "digest": ev["digest"],
    }
    emit(summary, fmt)


def sign_off_command(
    milestone: str = typer.Argument(..., help="Milestone id."),
    evaluator: str = typer.Option(..., "--evaluator", help="Username of the evaluator."),
    decision: str = typer.Option(..., "--decision", help="accepted or rejected."),
    report: str = typer.Option(
        ..., "--report", help="The evaluator's report (its SHA-256 is kept)."
    ),
    value: float | None = typer.Option(
        None,
        "--value",
        help="A measured value [the indicator's unit] (default: computed from the evidence).",
    ),
    note: str | None = typer.Option(None, "--note", help="Note (required with --value)."),
    on: str | None = typer.Option(None, "--on", help="Latest evidence date (YYYY-MM-DD)."),
    db: str | None = DbOption,
    fmt: Format = FormatOption,
) -> None:
    """Sign off a milestone: the ledger event, the tranche release and the credits, at once."""
    from pathlib import Path

    from restora.store import verification as V

    with handled():
        path = Path(report)
        try:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
        except OSError as exc:
            raise InputError(f"{report}: cannot be read ({exc.strerror})", file=report) from None
        with _store(db) as store:
            row = V.sign_off(
                store, milestone, evaluator=evaluator, decision=decision, report_sha256=digest,
                value=value, note=note, on=_date(on, "--on"),
            )  # fmt: skip
    if fmt == Format.json:
        emit(row, fmt)
        return
    rel = row.get("release") or {}
    emit(
        {
            "milestone": milestone,
            "signoff": row["id"],
            "decision": row["decision"],
            "value": row["value"],
            "event_id": row["event_id"],
            "tranche": rel.get("tranche"),
            "tier": rel.get("tier"),
            "amount_cny": rel.get("amount_cny"),
            "verification": row["verification_id"],
            "credits": (row.get("issued") or {}).get("count"),
        },
        fmt,
    )


def tranches_command(
    project: str = typer.Argument(..., help="Project id."),
    db: str | None = DbOption,
    fmt: Format = FormatOption,
) -> None:
    """The performance-bond tranches the project's sign-offs released."""
    from restora.store import verification as V

    with handled(), _store(db) as store:
        rows = V.tranche_releases(store, project)
    emit(rows, fmt, columns=RELEASE_COLUMNS)
