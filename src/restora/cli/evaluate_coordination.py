"""``restora evaluate meetings|consultations``: the coordination record (docs/evaluation.md,
"The coordination record").

- ``meetings add FILE.yaml``: record a joint meeting of natural-resources departments and
  financial institutions (agenda, participants, decisions, follow-ups, projects, attachments);
  ``meetings list [-q TERMS --from --to --region --project --org --public]``, ``meetings show
  ID``, ``meetings follow-ups [--status open|done|overdue|pending --on --org --region]``,
  ``meetings done FOLLOW_UP --on DATE``;
- ``consultations add FILE.yaml``: record a community consultation or hearing (notice,
  attendance by group, opinions with answers); ``consultations list``, ``consultations show``.

Every write is audited (who: ``--user``, default the operating-system user; the file's
SHA-256). The YAML files' fields: :class:`restora.evaluation.coordination.MeetingSpec` and
:class:`~restora.evaluation.coordination.ConsultationSpec`.
"""

from __future__ import annotations

import hashlib
from typing import Any

import typer

from restora.cli.output import DbOption, Format, FormatOption, OnOption, emit, handled

meetings_app = typer.Typer(no_args_is_help=True, help="Joint meetings and their follow-ups.")
consultations_app = typer.Typer(
    no_args_is_help=True, help="Community consultations and hearings on projects."
)

MEETING_COLUMNS = (
    "id",
    "held_on",
    "title",
    "convener",
    "region_code",
    "public",
    "open",
    "overdue",
    "done",
)
FOLLOW_UP_COLUMNS = (
    "id",
    "meeting_id",
    "seq",
    "action",
    "owner_organisation",
    "due_on",
    "done_on",
    "status",
    "days_overdue",
    "days_late",
)
CONSULTATION_COLUMNS = (
    "id",
    "kind",
    "held_on",
    "title",
    "project_id",
    "region_code",
    "attendance",
    "opinions",
    "adopted",
    "public",
)
OPINION_COLUMNS = ("group", "opinion", "answer", "adopted")

QOption = typer.Option(None, "-q", "--query", help="Search terms (every one must occur).")
FromOption = typer.Option(None, "--from", help="Held on or after (YYYY-MM-DD).")
ToOption = typer.Option(None, "--to", help="Held on or before (YYYY-MM-DD).")
RegionOption = typer.Option(None, "--region", help="Region code prefix (43, 4305, 430599).")
ProjectOption = typer.Option(None, "--project", help="Concerning this project id.")
OrgOption = typer.Option(None, "--org", help="Organisation (a part of its name).")
UserOption = typer.Option(None, "--user", help="Who records it (default: the OS user).")


def register(parent: typer.Typer) -> None:
    """Add ``meetings`` and ``consultations`` to ``restora evaluate``."""
    parent.add_typer(meetings_app, name="meetings")
    parent.add_typer(consultations_app, name="consultations")


def _store(db: str | None) -> Any:
    from restora.store import Store, default_url

    return Store(db or default_url())


def _read(path: str) -> tuple[Any, str, str]:
    """The YAML (or JSON) file's content, its display name and SHA-256."""
    import yaml

    from restora.cli.output import read_input_text
    from restora.errors import InputError

    text, name = read_input_text(path)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        row = f"line {mark.line + 1}" if mark is not None else None
        raise InputError(f"not valid YAML/JSON: {exc}", file=name, row=row) from exc
    return data, name, hashlib.sha256(text.encode("utf-8")).hexdigest()


def _change(command: str, name: str, sha: str, user: str | None) -> Any:
    from restora.store.audit import Change

    files = [{"path": name, "sha256": sha}]
    return Change(command, files=files) if user is None else Change(command, user, files)


def _meeting_row(m: dict[str, Any]) -> dict[str, Any]:
    return {k: m.get(k) for k in MEETING_COLUMNS[:6]} | m["follow_up_counts"]


def _consultation_row(c: dict[str, Any]) -> dict[str, Any]:
    counts = c["opinion_counts"]
    return {k: c.get(k) for k in CONSULTATION_COLUMNS[:6]} | {
        "attendance": c["attendance"]["total"],
        "opinions": counts["raised"],
        "adopted": counts["adopted"],
        "public": c["public"],
    }


# ------------------------------------------------------------------------------ meetings
@meetings_app.command("add")
def meetings_add(
    file: str = typer.Argument(..., help="The meeting as YAML or JSON ('-': stdin)."),
    user: str | None = UserOption,
    db: str | None = DbOption,
    fmt: Format = FormatOption,
) -> None:
    """Record a joint meeting with its follow-ups (audited with the file's SHA-256).

    JSON: the stored meeting (id, held_on, title, convener, regions, agenda, participants,
    decisions, follow_ups with their status, …).
    """
    from restora.store import coordination

    with handled():
        data, name, sha = _read(file)
        with _store(db) as store:
            made = coordination.add_meeting(
                store,
                data,
                file=name,
                recorded_by=user,
                change=_change("evaluate meetings add", name, sha, user),
            )
    emit(made, fmt, rows=made["follow_ups"], columns=FOLLOW_UP_COLUMNS, title=_title(made))


def _title(m: dict[str, Any]) -> str:
    return f"meeting {m['id']}: {m['held_on']} {m['title']} ({m['convener']})"


@meetings_app.command("list")
def meetings_list(
    query: str | None = QOption,
    since: str | None = FromOption,
    until: str | None = ToOption,
    region: str | None = RegionOption,
    project: str | None = ProjectOption,
    org: str | None = OrgOption,
    public: bool = typer.Option(False, "--public", help="Only those marked public."),
    on: str | None = OnOption,
    db: str | None = DbOption,
    fmt: Format = FormatOption,
) -> None:
    """Search the meetings (latest first), with their follow-ups open, overdue and done."""
    from restora.store import coordination

    with handled(), _store(db) as store:
        rows = coordination.meetings(
            store,
            q=query,
            since=since,
            until=until,
            region=region,
            project=project,
            organisation=org,
            public_only=public,
            on=on,
        )
    emit(rows, fmt, rows=[_meeting_row(m) for m in rows], columns=MEETING_COLUMNS)


@meetings_app.command("show")
def meetings_show(
    meeting_id: int = typer.Argument(..., help="Meeting id."),
    on: str | None = OnOption,
    db: str | None = DbOption,
    fmt: Format = FormatOption,
) -> None:
    """One meeting: its fields and its follow-ups with their status on a date."""
    from restora.errors import InputError
    from restora.store import coordination

    with handled(), _store(db) as store:
        found = coordination.get_meeting(store, meeting_id, on=on)
        if found is None:
            raise InputError(f"no meeting {meeting_id}", field="ID")
    emit(found, fmt, rows=found["follow_ups"], columns=FOLLOW_UP_COLUMNS, title=_title(found))


@meetings_app.command("follow-ups")
def meetings_follow_ups(
    status: str | None = typer.Option(
        None, "--status", help="open, done, overdue, or pending (open or overdue)."
    ),
    on: str | None = OnOption,
    org: str | None = OrgOption,
    region: str | None = RegionOption,
    db: str | None = DbOption,
    fmt: Format = FormatOption,
) -> None:
    """The meetings' follow-ups by due date with their status on a date (--status overdue:
    those to chase, with the days past due)."""
    from restora.store import coordination

    with handled(), _store(db) as store:
        rows = coordination.follow_ups(store, status=status, on=on, organisation=org, region=region)
    emit(rows, fmt, columns=(*FOLLOW_UP_COLUMNS, "meeting_title"))


@meetings_app.command("done")
def meetings_done(
    follow_up_id: int = typer.Argument(..., help="Follow-up id."),
    on: str = typer.Option(..., "--on", help="Done on (YYYY-MM-DD)."),
    note: str | None = typer.Option(None, "--note", help="What was done."),
    user: str | None = UserOption,
    db: str | None = DbOption,
    fmt: Format = FormatOption,
) -> None:
    """Record that a follow-up was done (audited)."""
    from restora.store import coordination
    from restora.store.audit import Change

    change = (
        Change("evaluate meetings done") if user is None else Change("evaluate meetings done", user)
    )
    with handled(), _store(db) as store:
        row = coordination.complete_follow_up(
            store, follow_up_id, done_on=on, note=note, change=change
        )
    emit(row, fmt, columns=FOLLOW_UP_COLUMNS)


# ------------------------------------------------------------------------------ consultations
@consultations_app.command("add")
def consultations_add(
    file: str = typer.Argument(..., help="The consultation or hearing as YAML or JSON."),
    user: str | None = UserOption,
    db: str | None = DbOption,
    fmt: Format = FormatOption,
) -> None:
    """Record a community consultation or hearing (audited with the file's SHA-256).

    JSON: the stored record (kind, held_on, notice, attendance with its total, opinions,
    opinion_counts, public, …).
    """
    from restora.store import coordination

    with handled():
        data, name, sha = _read(file)
        with _store(db) as store:
            made = coordination.add_consultation(
                store,
                data,
                file=name,
                recorded_by=user,
                change=_change("evaluate consultations add", name, sha, user),
            )
    emit(made, fmt, rows=[_consultation_row(made)], columns=CONSULTATION_COLUMNS)


@consultations_app.command("list")
def consultations_list(
    query: str | None = QOption,
    since: str | None = FromOption,
    until: str | None = ToOption,
    region: str | None = RegionOption,
    project: str | None = ProjectOption,
    kind: str | None = typer.Option(None, "--kind", help="consultation or hearing."),
    org: str | None = OrgOption,
    public: bool = typer.Option(False, "--public", help="Only public ones, as disclosed."),
    db: str | None = DbOption,
    fmt: Format = FormatOption,
) -> None:
    """Search the consultations and hearings (latest first). With --public: what the public
    sees (no speaker's name)."""
    from restora.evaluation.coordination import public_consultation
    from restora.store import coordination

    with handled(), _store(db) as store:
        rows = coordination.consultations(
            store,
            q=query,
            since=since,
            until=until,
            region=region,
            project=project,
            kind=kind,
            organisation=org,
            public_only=public,
        )
    if public and fmt == Format.json:
        emit([public_consultation(r) for r in rows], fmt)
        return
    emit(rows, fmt, rows=[_consultation_row(r) for r in rows], columns=CONSULTATION_COLUMNS)


@consultations_app.command("show")
def consultations_show(
    consultation_id: int = typer.Argument(..., help="Consultation id."),
    db: str | None = DbOption,
    fmt: Format = FormatOption,
) -> None:
    """One consultation or hearing: the notice, attendance, opinions and answers."""
    from restora.errors import InputError
    from restora.store import coordination

    with handled(), _store(db) as store:
        found = coordination.get_consultation(store, consultation_id)
        if found is None:
            raise InputError(f"no consultation {consultation_id}", field="ID")
    title = f"{found['kind']} {found['id']}: {found['held_on']} {found['title']}"
    emit(found, fmt, rows=found["opinions"], columns=OPINION_COLUMNS, title=title)
