"""``restora monitor integrity``: the enterprise integrity archive (docs/monitoring.md,
"Integrity records").

- ``obligations add|list|settle``: what a company owed (fund accruals, reports,
  rectifications, listings recorded by a bureau; milestones and monitoring gaps derived);
- ``sync``: derive the milestone, monitoring-gap and rectification obligations;
- ``score ORG [--on]``: score a company (its derived obligations synced first) and keep it;
- ``show ORG``: its record; ``grades``: the latest grade of every company scored.

ORG is an organisation's id or its exact name.
"""

from __future__ import annotations

from typing import Any

import typer

from restora.cli.output import DbOption, Format, FormatOption, OnOption, emit, handled
from restora.errors import InputError

app = typer.Typer(no_args_is_help=True, help="The enterprise integrity archive.")
obligations_app = typer.Typer(no_args_is_help=True, help="A company's obligations.")
app.add_typer(obligations_app, name="obligations")

OBLIGATION_COLUMNS = (
    "id",
    "org_id",
    "kind",
    "ref",
    "description",
    "due_on",
    "amount",
    "done_on",
    "done_amount",
    "outcome",
    "source",
)


def register(parent: typer.Typer) -> None:
    """Add ``integrity`` to ``restora monitor``."""
    parent.add_typer(app, name="integrity")


def _store(db: str | None) -> Any:
    from restora.store import Store, default_url

    return Store(db or default_url())


def _org_id(store: Any, org: str) -> int:
    from restora.store import accounts

    found = (
        accounts.organisation(store.engine, org_id=int(org))
        if org.isdigit()
        else accounts.organisation(store.engine, name=org)
    )
    if found is None:
        raise InputError(f"no organisation {org!r} (give its id or exact name)", field="ORG")
    return int(found["id"])


@obligations_app.command("add")
def obligations_add(
    org: str = typer.Option(..., "--org", help="Organisation id or exact name."),
    kind: str = typer.Option(..., "--kind", help="fund_accrual, report, rectification, listing."),
    due: str = typer.Option(..., "--due", help="Due date (a listing: listed on), YYYY-MM-DD."),
    description: str = typer.Option(..., "--description", help="What was owed."),
    amount: float | None = typer.Option(None, "--amount", help="Amount due [CNY]."),
    done: str | None = typer.Option(None, "--done", help="Done (paid, lifted) on, YYYY-MM-DD."),
    done_amount: float | None = typer.Option(None, "--done-amount", help="Paid [CNY]."),
    listing: str | None = typer.Option(None, "--list", help="For a listing: abnormal|serious."),
    mine: str | None = typer.Option(None, "--mine", help="Mine id it concerns."),
    project: str | None = typer.Option(None, "--project", help="Project id it concerns."),
    db: str | None = DbOption,
    fmt: Format = FormatOption,
) -> None:
    """Record an obligation of a company (a bureau's record)."""
    from restora.store import integrity

    with handled(), _store(db) as store:
        row = integrity.add_obligation(
            store,
            org_id=_org_id(store, org),
            kind=kind,
            due_on=due,
            description=description,
            amount=amount,
            done_on=done,
            done_amount=done_amount,
            listing=listing,
            mine_id=mine,
            project_id=project,
            recorded_by="cli",
        )
    emit(row, fmt, columns=OBLIGATION_COLUMNS)


@obligations_app.command("settle")
def obligations_settle(
    obligation_id: int = typer.Argument(..., help="Obligation id."),
    done: str = typer.Option(..., "--done", help="Done (paid, submitted, lifted) on."),
    done_amount: float | None = typer.Option(None, "--amount", help="Paid this time [CNY]."),
    db: str | None = DbOption,
    fmt: Format = FormatOption,
) -> None:
    """Record that a recorded obligation was done (payments of a fund accrual add up)."""
    from restora.store import integrity

    with handled(), _store(db) as store:
        row = integrity.settle_obligation(
            store, obligation_id, done_on=done, done_amount=done_amount, by="cli"
        )
    emit(row, fmt, columns=OBLIGATION_COLUMNS)


@obligations_app.command("list")
def obligations_list(
    org: str | None = typer.Option(None, "--org", help="Organisation id or exact name."),
    kind: str | None = typer.Option(None, "--kind", help="Only this kind."),
    on: str | None = OnOption,
    db: str | None = DbOption,
    fmt: Format = FormatOption,
) -> None:
    """Obligations with their outcome (met, late, missed, pending; listed, lifted) on a date."""
    from restora.store import integrity

    with handled(), _store(db) as store:
        org_id = _org_id(store, org) if org else None
        rows = integrity.obligations(store, org_id, kind=kind, on=on)
    emit(rows, fmt, columns=OBLIGATION_COLUMNS)


@app.command("sync")
def sync_command(
    on: str | None = OnOption,
    db: str | None = DbOption,
    fmt: Format = FormatOption,
) -> None:
    """Derive milestone, monitoring-gap and rectification obligations (idempotent)."""
    from restora.store import integrity

    with handled(), _store(db) as store:
        counts = integrity.sync_obligations(store, on)
    emit(counts, fmt)


def _score_row(s: dict[str, Any]) -> dict[str, Any]:
    b = s["breakdown"]
    return {
        "org_id": s["org_id"],
        "name": s.get("name"),
        "as_of": s["as_of"],
        "score": s["score"],
        "grade": s["grade"],
        "label_zh": b.get("grade_label_zh"),
        "capped_by": ",".join(b.get("capped_by") or []),
        "measures": ",".join(m["code"] for m in s["measures"]),
        "rules": s["rules"],
    }


@app.command("score")
def score_command(
    org: str = typer.Argument(..., help="Organisation id or exact name."),
    on: str | None = OnOption,
    db: str | None = DbOption,
    fmt: Format = FormatOption,
) -> None:
    """Score a company on a date (default today) and keep the scoring.

    JSON: the stored scoring (score, grade, measures, breakdown by rule code with each
    obligation's points and decay, the rules' tables and versions).
    """
    from restora.store import integrity

    with handled(), _store(db) as store:
        result = integrity.score_org(store, _org_id(store, org), on)
    if fmt == Format.json:
        emit(result, fmt)
        return
    emit(
        result,
        fmt,
        rows=result["breakdown"]["breakdown"],
        title=f"{result['name']}: {result['score']:.2f} → {result['grade']} "
        f"({result['breakdown']['grade_label_zh']})",
    )


@app.command("show")
def show_command(
    org: str = typer.Argument(..., help="Organisation id or exact name."),
    on: str | None = OnOption,
    db: str | None = DbOption,
    fmt: Format = FormatOption,
) -> None:
    """A company's integrity record: obligations and their outcome, latest grade, history."""
    from restora.store import integrity

    with handled(), _store(db) as store:
        rec = integrity.record(store, _org_id(store, org), on)
    latest = rec["latest"]
    title = f"{rec['organisation']['name']}" + (
        f": {latest['grade']} ({latest['as_of']})" if latest else ": not scored yet"
    )
    emit(rec, fmt, rows=rec["obligations"], columns=OBLIGATION_COLUMNS, title=title)


@app.command("grades")
def grades_command(
    public: bool = typer.Option(False, "--public", help="Only what the public list shows."),
    db: str | None = DbOption,
    fmt: Format = FormatOption,
) -> None:
    """The latest grade of every company scored (best first)."""
    from restora.store import integrity

    with handled(), _store(db) as store:
        rows = integrity.scores(store, public_only=public)
    if public:
        emit([integrity.public_grade(r) for r in rows], fmt)
    else:
        emit([_score_row(r) for r in rows], fmt)
