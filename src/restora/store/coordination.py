"""The coordination record in the store: joint meetings, their follow-ups, consultations.

- :func:`add_meeting` / :func:`add_consultation` keep a record validated by
  :mod:`restora.evaluation.coordination` (its projects and mines must be in the store; their
  regions are kept with the record for the region scope);
- :func:`complete_follow_up` records that a follow-up was done;
- :func:`meetings`, :func:`consultations` search (every term in the record's text, filters by
  date, region prefix, project, organisation, public only), :func:`follow_ups` lists the
  follow-ups with their status on a date (``overdue`` ones first to chase);
- :func:`get_meeting`, :func:`get_consultation`: one record.

Every write is one transaction that writes the record and its audit rows (``changes`` and one
``audit`` row per record inserted or updated); without a ``change`` the operating-system user
and the function's name are recorded.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from restora.errors import InputError
from restora.evaluation import coordination as C
from restora.store.audit import AuditRows, Change, as_utc, write_change
from restora.store.coordination_tables import coordination_consultations as CONSULTATIONS
from restora.store.coordination_tables import coordination_followups as FOLLOWUPS
from restora.store.coordination_tables import coordination_meetings as MEETINGS
from restora.store.engine import begin_write
from restora.store.platform_tables import projects as PROJECTS
from restora.store.tables import mines as MINES

_ESCAPE = "\\"


def _engine(store: Any) -> sa.Engine:
    return store if isinstance(store, sa.Engine) else store.engine  # type: ignore[no-any-return]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _date(value: Any, name: str) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise InputError(f"{value!r} is not a date (YYYY-MM-DD)", field=name) from None


def _iso(value: dt.date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _json(value: Any) -> Any:
    """A value as JSON (dates as ISO text), for the audit rows."""

    def default(v: Any) -> Any:
        if isinstance(v, dt.datetime):
            return as_utc(v).isoformat()
        if isinstance(v, dt.date):
            return v.isoformat()
        return str(v)

    return json.loads(json.dumps(value, default=default, ensure_ascii=False))


def _linked_regions(
    conn: sa.Connection,
    projects: Sequence[str],
    mines: Sequence[str],
    *,
    file: str | None,
    single: bool = False,
) -> list[str | None]:
    """The regions of the linked projects and mines; InputError names one not in the store
    (field ``projects.<i>``, or ``project_id`` for a record of one project)."""
    regions: list[str | None] = []
    if projects:
        found = dict(
            conn.execute(
                sa.select(PROJECTS.c.project_id, PROJECTS.c.region_code).where(
                    PROJECTS.c.project_id.in_(list(projects)), PROJECTS.c.deleted_at.is_(None)
                )
            ).all()
        )
        for i, p in enumerate(projects):
            if p not in found:
                name = "project_id" if single else f"projects.{i}"
                raise InputError(f"no project {p!r} in the store", file=file, field=name)
            regions.append(found[p])
    if mines:
        found = dict(
            conn.execute(
                sa.select(MINES.c.mine_id, MINES.c.region_code).where(
                    MINES.c.mine_id.in_(list(mines)), MINES.c.deleted_at.is_(None)
                )
            ).all()
        )
        for i, m in enumerate(mines):
            if m not in found:
                name = "mine_id" if single else f"mines.{i}"
                raise InputError(f"no mine {m!r} in the register", file=file, field=name)
            regions.append(found[m])
    return regions


def record_regions(
    store: Any, own: str | None, projects: Sequence[str], mines: Sequence[str]
) -> list[str | None]:
    """The regions a record would concern: its own and its projects' and mines' (for the
    scope check before a write); InputError names a project or mine not in the store."""
    with _engine(store).connect() as conn:
        return [own, *_linked_regions(conn, projects, mines, file=None)]


def _regions(own: str | None, linked: Iterable[str | None]) -> list[str]:
    return sorted({r for r in (own, *linked) if r})


def _in_region(regions: Iterable[str], prefix: str | None) -> bool:
    return not prefix or any(str(r).startswith(prefix) for r in regions)


def _text_filter(column: sa.ColumnElement[Any], query: str | None) -> list[Any]:
    return [column.like(C.like_pattern(t), escape=_ESCAPE) for t in C.query_terms(query)]


# ------------------------------------------------------------------------------ meetings
def _follow_up(row: Mapping[Any, Any], on: dt.date) -> dict[str, Any]:
    return {
        "id": row["id"],
        "meeting_id": row["meeting_id"],
        "seq": row["seq"],
        "action": row["action"],
        "owner_organisation": row["owner_organisation"],
        "owner_person": row["owner_person"],
        "due_on": _iso(row["due_on"]),
        "done_on": _iso(row["done_on"]),
        "note": row["note"],
        "status": C.follow_up_status(row["due_on"], row["done_on"], on),
        "days_overdue": C.days_overdue(row["due_on"], row["done_on"], on),
        "days_late": C.days_late(row["due_on"], row["done_on"]),
        "updated_at": as_utc(row["updated_at"]),
    }


def _meeting(row: Mapping[Any, Any], follow_ups: list[dict[str, Any]]) -> dict[str, Any]:
    counts = {s: 0 for s in C.FOLLOW_UP_STATUSES}
    for f in follow_ups:
        counts[f["status"]] += 1
    return {
        "id": row["id"],
        "held_on": _iso(row["held_on"]),
        "title": row["title"],
        "place": row["place"],
        "convener": row["convener"],
        "region_code": row["region_code"],
        "regions": list(row["regions"] or []),
        "agenda": list(row["agenda"] or []),
        "participants": list(row["participants"] or []),
        "decisions": list(row["decisions"] or []),
        "projects": list(row["projects"] or []),
        "mines": list(row["mines"] or []),
        "attachments": list(row["attachments"] or []),
        "public": bool(row["public"]),
        "recorded_at": as_utc(row["recorded_at"]),
        "recorded_by": row["recorded_by"],
        "follow_ups": follow_ups,
        "follow_up_counts": counts,
    }


def _follow_ups_of(
    conn: sa.Connection, meeting_ids: Sequence[int], on: dt.date
) -> dict[int, list[dict[str, Any]]]:
    out: dict[int, list[dict[str, Any]]] = {int(i): [] for i in meeting_ids}
    if not meeting_ids:
        return out
    q = (
        sa.select(FOLLOWUPS)
        .where(FOLLOWUPS.c.meeting_id.in_(list(meeting_ids)))
        .order_by(FOLLOWUPS.c.meeting_id, FOLLOWUPS.c.seq)
    )
    for row in conn.execute(q).mappings():
        out[int(row["meeting_id"])].append(_follow_up(row, on))
    return out


def add_meeting(
    store: Any,
    data: Mapping[str, Any] | C.MeetingSpec,
    *,
    file: str | None = None,
    recorded_by: str | None = None,
    at: dt.datetime | None = None,
    change: Change | None = None,
) -> dict[str, Any]:
    """Record a joint meeting with its follow-ups; the stored record (statuses as of today).

    Parameters
    ----------
    data : mapping or MeetingSpec
        The meeting (:class:`restora.evaluation.coordination.MeetingSpec`: ``held_on``,
        ``title``, ``convener``, ``agenda``, ``participants``, ``decisions``, ``follow_ups``,
        ``projects``, ``mines``, ``attachments``, ``public``).
    file : str, optional
        Where ``data`` came from (named in errors).

    Raises
    ------
    InputError
        A field is missing or wrong, or a project or mine is not in the store (the field path
        is named: ``projects.1``).
    """
    spec = data if isinstance(data, C.MeetingSpec) else C.parse_meeting(data, file=file)
    now = at or _now()
    change = change or Change("store.coordination.add_meeting")
    with begin_write(_engine(store)) as conn:
        linked = _linked_regions(conn, spec.projects, spec.mines, file=file)
        values = {
            "held_on": spec.held_on,
            "title": spec.title,
            "place": spec.place,
            "convener": spec.convener,
            "region_code": spec.region_code,
            "regions": _regions(spec.region_code, linked),
            "agenda": list(spec.agenda),
            "participants": [p.model_dump() for p in spec.participants],
            "decisions": list(spec.decisions),
            "projects": list(spec.projects),
            "mines": list(spec.mines),
            "attachments": [a.model_dump() for a in spec.attachments],
            "public": spec.public,
            "search_text": C.meeting_search_text(spec),
            "recorded_at": now,
            "recorded_by": recorded_by,
        }
        meeting_id = int(
            conn.execute(MEETINGS.insert().values(**values).returning(MEETINGS.c.id)).scalar_one()
        )
        rows = AuditRows()
        mine = spec.mines[0] if spec.mines else None
        after = {k: v for k, v in values.items() if k != "search_text"}
        rows.add("coordination_meetings", [str(meeting_id)], [mine], "insert", None, [_json(after)])
        for seq, f in enumerate(spec.follow_ups, start=1):
            fvalues = {
                "meeting_id": meeting_id,
                "seq": seq,
                **f.model_dump(),
                "updated_at": now,
            }
            fid = conn.execute(
                FOLLOWUPS.insert().values(**fvalues).returning(FOLLOWUPS.c.id)
            ).scalar_one()
            rows.add("coordination_followups", [str(fid)], [mine], "insert", None, [_json(fvalues)])
        rows.write(conn, write_change(conn, change, now))
        row = conn.execute(sa.select(MEETINGS).where(MEETINGS.c.id == meeting_id)).mappings().one()
        return _meeting(row, _follow_ups_of(conn, [meeting_id], now.date())[meeting_id])


def get_meeting(
    store: Any, meeting_id: int, *, on: dt.date | str | None = None
) -> dict[str, Any] | None:
    """One meeting with its follow-ups and their status on ``on`` (default today), or None."""
    when = _date(on, "on") or _now().date()
    with _engine(store).connect() as conn:
        row = conn.execute(sa.select(MEETINGS).where(MEETINGS.c.id == meeting_id)).mappings()
        found = row.first()
        if found is None:
            return None
        return _meeting(found, _follow_ups_of(conn, [meeting_id], when)[meeting_id])


def meetings(
    store: Any,
    *,
    q: str | None = None,
    since: dt.date | str | None = None,
    until: dt.date | str | None = None,
    region: str | None = None,
    project: str | None = None,
    organisation: str | None = None,
    public_only: bool = False,
    on: dt.date | str | None = None,
) -> list[dict[str, Any]]:
    """Meetings, latest first, that hold every term of ``q`` (title, agenda, decisions,
    follow-ups, organisations and roles present; not people's names), held between ``since``
    and ``until`` (inclusive), concerning a region whose code starts with ``region``, the
    project ``project``, or the organisation ``organisation`` (convener, participant or
    follow-up owner; a part of its name). Follow-up statuses as of ``on`` (default today)."""
    when = _date(on, "on") or _now().date()
    start, end = _date(since, "from"), _date(until, "to")
    query = sa.select(MEETINGS).order_by(MEETINGS.c.held_on.desc(), MEETINGS.c.id.desc())
    conds = _text_filter(MEETINGS.c.search_text, q)
    if start is not None:
        conds.append(MEETINGS.c.held_on >= start)
    if end is not None:
        conds.append(MEETINGS.c.held_on <= end)
    if public_only:
        conds.append(MEETINGS.c.public.is_(True))
    if conds:
        query = query.where(*conds)
    with _engine(store).connect() as conn:
        rows = [
            r
            for r in conn.execute(query).mappings()
            if _in_region(r["regions"] or [], region)
            and (project is None or project in (r["projects"] or []))
        ]
        fus = _follow_ups_of(conn, [r["id"] for r in rows], when)
    out = [_meeting(r, fus[int(r["id"])]) for r in rows]
    if organisation:
        out = [
            m
            for m in out
            if C.mentions(
                [
                    m["convener"],
                    *(p.get("organisation") for p in m["participants"]),
                    *(f["owner_organisation"] for f in m["follow_ups"]),
                ],
                organisation,
            )
        ]
    return out


def follow_ups(
    store: Any,
    *,
    status: str | None = None,
    on: dt.date | str | None = None,
    organisation: str | None = None,
    region: str | None = None,
    meeting_id: int | None = None,
) -> list[dict[str, Any]]:
    """Follow-ups with their status on ``on`` (default today), the meeting's date and title,
    by due date; ``status`` one of open, done, overdue, or ``pending`` (open or overdue).

    Raises
    ------
    InputError
        An unknown status (field ``status``).
    """
    if status is not None and status not in (*C.FOLLOW_UP_STATUSES, "pending"):
        raise InputError(
            f"{status!r} is not a status (open, done, overdue or pending)", field="status"
        )
    when = _date(on, "on") or _now().date()
    query = (
        sa.select(
            FOLLOWUPS,
            MEETINGS.c.held_on,
            MEETINGS.c.title,
            MEETINGS.c.regions,
            MEETINGS.c.public,
        )
        .join(MEETINGS, FOLLOWUPS.c.meeting_id == MEETINGS.c.id)
        .order_by(FOLLOWUPS.c.due_on, FOLLOWUPS.c.id)
    )
    if meeting_id is not None:
        query = query.where(FOLLOWUPS.c.meeting_id == meeting_id)
    out = []
    with _engine(store).connect() as conn:
        for row in conn.execute(query).mappings():
            if not _in_region(row["regions"] or [], region):
                continue
            item = _follow_up(row, when)
            if status == "pending" and item["status"] == "done":
                continue
            if status not in (None, "pending") and item["status"] != status:
                continue
            if not C.mentions([item["owner_organisation"]], organisation):
                continue
            item |= {
                "meeting_held_on": _iso(row["held_on"]),
                "meeting_title": row["title"],
                "regions": list(row["regions"] or []),
                "public": bool(row["public"]),
            }
            out.append(item)
    return out


def get_follow_up(store: Any, follow_up_id: int) -> dict[str, Any] | None:
    """One follow-up (status as of today) with its meeting's regions, or None."""
    found = [f for f in follow_ups(store) if f["id"] == follow_up_id]
    return found[0] if found else None


def complete_follow_up(
    store: Any,
    follow_up_id: int,
    *,
    done_on: dt.date | str,
    note: str | None = None,
    at: dt.datetime | None = None,
    change: Change | None = None,
) -> dict[str, Any]:
    """Record that a follow-up was done on ``done_on``; the follow-up (status as of ``at``).

    Raises
    ------
    InputError
        No such follow-up, already done, or done before its meeting.
    """
    done = _date(done_on, "done_on")
    if done is None:
        raise InputError("the date it was done is required", field="done_on")
    now = at or _now()
    change = change or Change("store.coordination.complete_follow_up")
    with begin_write(_engine(store)) as conn:
        row = (
            conn.execute(
                sa.select(FOLLOWUPS, MEETINGS.c.held_on, MEETINGS.c.mines)
                .join(MEETINGS, FOLLOWUPS.c.meeting_id == MEETINGS.c.id)
                .where(FOLLOWUPS.c.id == follow_up_id)
            )
            .mappings()
            .first()
        )
        if row is None:
            raise InputError(f"no follow-up {follow_up_id}", field="id")
        if row["done_on"] is not None:
            raise InputError(
                f"follow-up {follow_up_id} was already done on {row['done_on']}", field="id"
            )
        if done < row["held_on"]:
            raise InputError(
                f"{done} is before the meeting that decided it ({row['held_on']})",
                field="done_on",
            )
        before = {k: row[k] for k in FOLLOWUPS.c.keys()}  # noqa: SIM118
        note_value = note if note is not None else row["note"]
        conn.execute(
            FOLLOWUPS.update()
            .where(FOLLOWUPS.c.id == follow_up_id)
            .values(done_on=done, note=note_value, updated_at=now)
        )
        after = before | {"done_on": done, "note": note_value, "updated_at": now}
        rows = AuditRows()
        mine = (row["mines"] or [None])[0]
        rows.add(
            "coordination_followups",
            [str(follow_up_id)],
            [mine],
            "update",
            [_json(before)],
            [_json(after)],
        )
        rows.write(conn, write_change(conn, change, now))
        fresh = conn.execute(sa.select(FOLLOWUPS).where(FOLLOWUPS.c.id == follow_up_id))
        return _follow_up(fresh.mappings().one(), now.date())


# ------------------------------------------------------------------------------ consultations
def _consultation(row: Mapping[Any, Any]) -> dict[str, Any]:
    attendance = dict(row["attendance"] or {})
    attendance["total"] = sum(int(attendance.get(g, 0) or 0) for g in C.GROUPS)
    opinions = list(row["opinions"] or [])
    return {
        "id": row["id"],
        "kind": row["kind"],
        "held_on": _iso(row["held_on"]),
        "title": row["title"],
        "place": row["place"],
        "organiser": row["organiser"],
        "project_id": row["project_id"],
        "mine_id": row["mine_id"],
        "region_code": row["region_code"],
        "notice": row["notice"] or None,
        "attendance": attendance,
        "opinions": opinions,
        "opinion_counts": {
            "raised": len(opinions),
            "answered": sum(1 for o in opinions if o.get("answer")),
            "adopted": sum(1 for o in opinions if o.get("adopted") is True),
        },
        "attachments": list(row["attachments"] or []),
        "public": bool(row["public"]),
        "recorded_at": as_utc(row["recorded_at"]),
        "recorded_by": row["recorded_by"],
    }


def add_consultation(
    store: Any,
    data: Mapping[str, Any] | C.ConsultationSpec,
    *,
    file: str | None = None,
    recorded_by: str | None = None,
    at: dt.datetime | None = None,
    change: Change | None = None,
) -> dict[str, Any]:
    """Record a community consultation or hearing on a project; the stored record.

    The region is the one given, else the project's, else the mine's.

    Raises
    ------
    InputError
        A field is missing or wrong, or the project or mine is not in the store.
    """
    spec = data if isinstance(data, C.ConsultationSpec) else C.parse_consultation(data, file=file)
    now = at or _now()
    change = change or Change("store.coordination.add_consultation")
    with begin_write(_engine(store)) as conn:
        projects = [spec.project_id] if spec.project_id else []
        mines = [spec.mine_id] if spec.mine_id else []
        linked = _linked_regions(conn, projects, mines, file=file, single=True)
        region = spec.region_code or next((r for r in linked if r), None)
        values = {
            "kind": spec.kind,
            "held_on": spec.held_on,
            "title": spec.title,
            "place": spec.place,
            "organiser": spec.organiser,
            "project_id": spec.project_id,
            "mine_id": spec.mine_id,
            "region_code": region,
            "notice": _json(spec.notice.model_dump()) if spec.notice else {},
            "attendance": spec.attendance.model_dump(),
            "opinions": [o.model_dump() for o in spec.opinions],
            "attachments": [a.model_dump() for a in spec.attachments],
            "public": spec.public,
            "search_text": C.consultation_search_text(spec),
            "recorded_at": now,
            "recorded_by": recorded_by,
        }
        new_id = int(
            conn.execute(
                CONSULTATIONS.insert().values(**values).returning(CONSULTATIONS.c.id)
            ).scalar_one()
        )
        rows = AuditRows()
        after = {k: v for k, v in values.items() if k != "search_text"}
        rows.add(
            "coordination_consultations",
            [str(new_id)],
            [spec.mine_id],
            "insert",
            None,
            [_json(after)],
        )
        rows.write(conn, write_change(conn, change, now))
        row = conn.execute(sa.select(CONSULTATIONS).where(CONSULTATIONS.c.id == new_id))
        return _consultation(row.mappings().one())


def get_consultation(store: Any, consultation_id: int) -> dict[str, Any] | None:
    """One consultation or hearing, or None."""
    with _engine(store).connect() as conn:
        row = conn.execute(
            sa.select(CONSULTATIONS).where(CONSULTATIONS.c.id == consultation_id)
        ).mappings()
        found = row.first()
    return None if found is None else _consultation(found)


def consultations(
    store: Any,
    *,
    q: str | None = None,
    since: dt.date | str | None = None,
    until: dt.date | str | None = None,
    region: str | None = None,
    project: str | None = None,
    kind: str | None = None,
    organisation: str | None = None,
    public_only: bool = False,
) -> list[dict[str, Any]]:
    """Consultations and hearings, latest first, holding every term of ``q`` (title, notice,
    opinions and answers; not speakers' names), held between ``since`` and ``until``, of a
    region whose code starts with ``region``, of ``project``, of a ``kind``, organised by
    ``organisation`` (a part of its name)."""
    if kind is not None and kind not in C.CONSULTATION_KINDS:
        raise InputError(f"{kind!r} is not a kind (consultation or hearing)", field="kind")
    start, end = _date(since, "from"), _date(until, "to")
    query = sa.select(CONSULTATIONS).order_by(
        CONSULTATIONS.c.held_on.desc(), CONSULTATIONS.c.id.desc()
    )
    conds = _text_filter(CONSULTATIONS.c.search_text, q)
    if start is not None:
        conds.append(CONSULTATIONS.c.held_on >= start)
    if end is not None:
        conds.append(CONSULTATIONS.c.held_on <= end)
    if region:
        conds.append(CONSULTATIONS.c.region_code.like(C.like_pattern(region)[1:], escape=_ESCAPE))
    if project is not None:
        conds.append(CONSULTATIONS.c.project_id == project)
    if kind is not None:
        conds.append(CONSULTATIONS.c.kind == kind)
    if public_only:
        conds.append(CONSULTATIONS.c.public.is_(True))
    if conds:
        query = query.where(*conds)
    with _engine(store).connect() as conn:
        rows = [_consultation(r) for r in conn.execute(query).mappings()]
    return [r for r in rows if C.mentions([r["organiser"]], organisation)]
