"""Disclosure and public supervision in the store: what of a mine or project is public, and the
public's complaints with their receipt numbers, photos, deadlines and append-only history.

Every write is one transaction (:func:`restora.store.engine.begin_write`) that also writes its
``changes`` row and ``audit`` rows (:mod:`restora.store.audit`), as every change of the
register does.

Disclosure
    A bureau discloses a mine or a project with the *field groups* it makes public
    (:data:`MINE_GROUPS`, :data:`PROJECT_GROUPS`); the identity (id, name, region) of a
    disclosed subject is always public. Changing the groups withdraws the live disclosure and
    adds a new one, so the store keeps what was public when.
Complaints
    Filed by anyone with a text, a place (a mine, or lon/lat) and up to five photos; followed by
    a receipt number (:func:`new_receipt`): 15 random Crockford base-32 characters (75 bits)
    and a Luhn mod 32 check character, written ``XXXX-XXXX-XXXX-XXXC``. The answer is due
    :func:`answer_deadline` after filing (refdata ``complaints/answer-deadline``: 信访工作条例
    (2022) art. 34, 60 days, one extension of at most 30 days). Status: ``received`` →
    ``assigned`` → ``answered`` → ``closed``; each step is a ``complaint_events`` row (who, when,
    what), and that table is append-only (triggers of revision 0008).
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from restora.errors import InputError
from restora.store.audit import Change, as_utc, log_change
from restora.store.engine import begin_write
from restora.store.platform_tables import (
    complaint_events,
    complaint_photos,
    complaints,
    disclosures,
    organisations,
    projects,
    users,
)
from restora.store.tables import mines

SUBJECTS = ("mine", "project")
MINE_GROUPS = (
    "status",
    "location",
    "responsible_party",
    "area",
    "plan",
    "money",
    "progress",
    "monitoring",
)
"""What a mine's disclosure may make public, by group (restora.service.api.public names the
fields of each): ``status`` (mineral, status, closure year), ``location`` (centre and bounding
box), ``responsible_party``, ``area`` (sites, damaged area), ``plan`` (plan summary), ``money``
(raised and spent), ``progress``, ``monitoring`` (latest monitoring summary)."""
PROJECT_GROUPS = ("mines", "status", "responsible_party", "plan", "money", "progress", "monitoring")
"""What a project's disclosure may make public (as :data:`MINE_GROUPS`; ``mines`` its mines,
``status`` its state and start year, ``responsible_party`` the organisation that owns it)."""
GROUPS = {"mine": MINE_GROUPS, "project": PROJECT_GROUPS}

STATUSES = ("received", "assigned", "answered", "closed")
EVENT_ACTIONS = ("filed", "assigned", "answered", "extended", "closed")
APPEND_ONLY = ("complaint_events",)
"""Tables of this module whose rows are never updated or deleted (triggers of revision 0008)."""

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
RECEIPT_DATA_CHARS = 15
_DECODE = {c: i for i, c in enumerate(CROCKFORD)} | {"O": 0, "I": 1, "L": 1}


class RateLimited(Exception):
    """A client filed as many complaints as it may this hour; ``retry_after`` [s]."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many complaints from this address; retry after {retry_after} s")
        self.retry_after = retry_after


class TokenUsed(Exception):
    """The anti-spam token was already used for a complaint."""


# ---------------------------------------------------------------------------- receipt numbers
def _luhn32_check(digits: Sequence[int]) -> int:
    """The Luhn mod N check value (N = 32) of ``digits`` (values 0…31), as appended last.

    Notes
    -----
    From the rightmost digit leftwards, every second digit (starting with the rightmost) is
    doubled and reduced as ``d // N + d % N``; the check value ``c`` makes the sum of the
    reduced digits ``s`` a multiple of N: ``c = (N - s mod N) mod N``. It catches every single
    wrong character and every swap of two adjacent different characters but ``0 ↔ V`` (0 and
    31; Luhn's one blind spot, N - 1).

    References
    ----------
    H. P. Luhn, Computer for verifying numbers, US patent 2 950 048 (1960); the mod-N
    generalisation as in ISO/IEC 7812-1 Annex B for N = 10.
    """
    n = len(CROCKFORD)
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2 == 0:
            d *= 2
            d = d // n + d % n
        total += d
    return (n - total % n) % n


def new_receipt() -> str:
    """A new receipt number: 75 random bits in Crockford base 32 and a check character.

    Examples
    --------
    >>> r = new_receipt()
    >>> len(r), r.count("-"), normalise_receipt(r.lower()) == r
    (19, 3, True)
    """
    digits = [secrets.randbelow(32) for _ in range(RECEIPT_DATA_CHARS)]
    digits.append(_luhn32_check(digits))
    text = "".join(CROCKFORD[d] for d in digits)
    return "-".join(text[i : i + 4] for i in range(0, len(text), 4))


def normalise_receipt(text: str) -> str:
    """A receipt number as typed (any case, spaces or hyphens, O for 0, I or L for 1) in its
    canonical form; ``ValueError`` naming the problem if it is not one.

    Examples
    --------
    >>> normalise_receipt("0000 0000 0000 0000")
    '0000-0000-0000-0000'
    >>> normalise_receipt("oooo-oooo-oooo-oool")
    Traceback (most recent call last):
    ...
    ValueError: the receipt number has a typo: its last character does not match the others
    """
    raw = "".join(ch for ch in text.upper() if ch not in " -\t")
    if len(raw) != RECEIPT_DATA_CHARS + 1:
        raise ValueError(f"a receipt number has {RECEIPT_DATA_CHARS + 1} characters")
    bad = sorted({ch for ch in raw if ch not in _DECODE})
    if bad:
        raise ValueError(f"a receipt number has no {', '.join(bad)}")
    digits = [_DECODE[ch] for ch in raw]
    if _luhn32_check(digits[:-1]) != digits[-1]:
        raise ValueError(
            "the receipt number has a typo: its last character does not match the others"
        )
    canon = "".join(CROCKFORD[d] for d in digits)
    return "-".join(canon[i : i + 4] for i in range(0, len(canon), 4))


# ------------------------------------------------------------------------------------ deadline
@dataclass(frozen=True)
class Deadline:
    """The answer deadline in force on a date (refdata ``complaints/answer-deadline``)."""

    answer_days: int
    extension_days: int
    extensions_allowed: int
    article: str
    source: str
    version: str

    def due(self, filed_at: dt.datetime) -> dt.datetime:
        """The answer's deadline for a complaint filed at ``filed_at`` (UTC)."""
        return filed_at + dt.timedelta(days=self.answer_days)


def answer_deadline(on: dt.date | dt.datetime, region: str | None = None) -> Deadline:
    """The answer deadline in force ``on`` a date, for a region (6-digit code) if it has one.

    Examples
    --------
    >>> d = answer_deadline(dt.date(2026, 1, 1))
    >>> d.answer_days, d.extension_days, d.article
    (60, 30, '信访工作条例 (2022) 第三十四条')
    """
    from restora import refdata

    day = on.date() if isinstance(on, dt.datetime) else on
    table = refdata.get("complaints/answer-deadline", on=day, region=region)
    data = table.data
    return Deadline(
        answer_days=int(data["answer_days"]),
        extension_days=int(data["extension_days"]),
        extensions_allowed=int(data["extensions_allowed"]),
        article=str(data["article"]),
        source=table.source,
        version=table.version,
    )


# ---------------------------------------------------------------------------------- disclosure
def check_groups(subject: str, fields: Iterable[str] | None) -> list[str]:
    """The field groups of a disclosure in their canonical order (all of them if ``None``);
    :class:`InputError` naming an unknown group."""
    if subject not in GROUPS:
        raise InputError(f"subject must be one of {', '.join(SUBJECTS)}", field="subject")
    known = GROUPS[subject]
    if fields is None:
        return list(known)
    given = list(fields)
    unknown = [f for f in given if f not in known]
    if unknown:
        raise InputError(
            f"no field group {', '.join(map(repr, unknown))} for a {subject}; "
            f"one of {', '.join(known)}",
            field="fields",
        )
    return [f for f in known if f in given]


def subject_region(conn: sa.Connection, subject: str, subject_id: str) -> str | None:
    """The region code of a live mine or project; :class:`LookupError` if there is none."""
    if subject == "mine":
        row = conn.execute(
            sa.select(mines.c.region_code).where(
                mines.c.mine_id == subject_id, mines.c.deleted_at.is_(None)
            )
        ).first()
    else:
        row = conn.execute(
            sa.select(projects.c.region_code).where(
                projects.c.project_id == subject_id, projects.c.deleted_at.is_(None)
            )
        ).first()
    if row is None:
        raise LookupError(f"no {subject} {subject_id!r}")
    return row[0]  # type: ignore[no-any-return]


def _disclosure_dict(row: Any) -> dict[str, Any]:
    m = row._mapping
    return {
        "id": m["id"],
        "subject": m["subject"],
        "subject_id": m["subject_id"],
        "fields": list(m["fields"]),
        "disclosed_by": m["disclosed_by"],
        "disclosed_at": as_utc(m["disclosed_at"]),
        "withdrawn_at": as_utc(m["withdrawn_at"]) if m["withdrawn_at"] else None,
        "withdrawn_by": m["withdrawn_by"],
    }


def _audit(
    conn: sa.Connection,
    change: Change,
    when: dt.datetime,
    table: str,
    record_id: Any,
    mine_id: str | None,
    action: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> None:
    log_change(
        conn,
        change,
        table=table,
        record_id=record_id,
        action=action,
        before=before,
        after=after,
        mine_id=mine_id,
        when=when,
    )


def _jsonable(d: dict[str, Any] | None) -> dict[str, Any] | None:
    if d is None:
        return None
    return {k: (v.isoformat() if isinstance(v, dt.datetime) else v) for k, v in d.items()}


def disclose(
    engine: sa.Engine,
    subject: str,
    subject_id: str,
    fields: Iterable[str] | None,
    *,
    user_id: int | None,
    change: Change,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """Disclose a live mine or project with these field groups (all if ``None``); a live
    disclosure of the same subject is withdrawn in the same transaction. The new disclosure."""
    groups = check_groups(subject, fields)
    when = now or dt.datetime.now(dt.UTC)
    with begin_write(engine) as conn:
        region = subject_region(conn, subject, subject_id)
        for old in conn.execute(
            sa.select(disclosures).where(
                disclosures.c.subject == subject,
                disclosures.c.subject_id == subject_id,
                disclosures.c.withdrawn_at.is_(None),
            )
        ).all():
            conn.execute(
                disclosures.update()
                .where(disclosures.c.id == old.id)
                .values(withdrawn_at=when, withdrawn_by=user_id)
            )
        new_id = conn.execute(
            disclosures.insert()
            .values(
                subject=subject,
                subject_id=subject_id,
                fields=groups,
                disclosed_by=user_id,
                disclosed_at=when,
            )
            .returning(disclosures.c.id)
        ).scalar_one()
        row = conn.execute(sa.select(disclosures).where(disclosures.c.id == new_id)).one()
        out = _disclosure_dict(row)
        _audit(
            conn,
            change,
            when,
            "disclosures",
            new_id,
            subject_id if subject == "mine" else None,
            "insert",
            None,
            _jsonable({k: v for k, v in out.items() if k != "id"}),
        )
    out["region_code"] = region
    return out


def withdraw(
    engine: sa.Engine,
    disclosure_id: int,
    *,
    user_id: int | None,
    change: Change,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """Withdraw a live disclosure; :class:`LookupError` if there is no such live one."""
    when = now or dt.datetime.now(dt.UTC)
    with begin_write(engine) as conn:
        row = conn.execute(
            sa.select(disclosures).where(
                disclosures.c.id == disclosure_id, disclosures.c.withdrawn_at.is_(None)
            )
        ).first()
        if row is None:
            raise LookupError(f"no live disclosure {disclosure_id}")
        conn.execute(
            disclosures.update()
            .where(disclosures.c.id == disclosure_id)
            .values(withdrawn_at=when, withdrawn_by=user_id)
        )
        _audit(
            conn,
            change,
            when,
            "disclosures",
            disclosure_id,
            row.subject_id if row.subject == "mine" else None,
            "update",
            {"withdrawn_at": None},
            {"withdrawn_at": when.isoformat(), "withdrawn_by": user_id},
        )
        out = _disclosure_dict(
            conn.execute(sa.select(disclosures).where(disclosures.c.id == disclosure_id)).one()
        )
    return out


def get_disclosure(conn: sa.Connection, disclosure_id: int) -> dict[str, Any] | None:
    """One disclosure (live or withdrawn), or None."""
    row = conn.execute(sa.select(disclosures).where(disclosures.c.id == disclosure_id)).first()
    return None if row is None else _disclosure_dict(row)


def live_disclosures(
    conn: sa.Connection, subject: str, ids: Iterable[str] | None = None
) -> dict[str, dict[str, Any]]:
    """The live disclosures of a subject kind, by subject id (the newest if several)."""
    q = (
        sa.select(disclosures)
        .where(disclosures.c.subject == subject, disclosures.c.withdrawn_at.is_(None))
        .order_by(disclosures.c.id)
    )
    if ids is not None:
        q = q.where(disclosures.c.subject_id.in_(list(ids)))
    return {r.subject_id: _disclosure_dict(r) for r in conn.execute(q)}


def list_disclosures(
    conn: sa.Connection, subject: str | None = None, *, include_withdrawn: bool = False
) -> list[dict[str, Any]]:
    """Disclosures, newest first (live ones unless ``include_withdrawn``)."""
    q = sa.select(disclosures).order_by(disclosures.c.id.desc())
    if subject:
        q = q.where(disclosures.c.subject == subject)
    if not include_withdrawn:
        q = q.where(disclosures.c.withdrawn_at.is_(None))
    return [_disclosure_dict(r) for r in conn.execute(q)]


# ---------------------------------------------------------------------------------- complaints
@dataclass(frozen=True)
class StoredPhoto:
    """A photo already written under the data folder (``path`` relative to it)."""

    content_type: str
    size_bytes: int
    width: int
    height: int
    sha256: str
    path: str


def recent_filings(
    conn: sa.Connection, client_sha256: str, since: dt.datetime
) -> list[dt.datetime]:
    """When the client (keyed hash of its address) filed complaints since ``since``, oldest
    first."""
    rows = conn.execute(
        sa.select(complaints.c.created_at)
        .where(complaints.c.client_sha256 == client_sha256, complaints.c.created_at >= since)
        .order_by(complaints.c.created_at)
    ).all()
    return [as_utc(r[0]) for r in rows]


def retry_after(
    filed: Sequence[dt.datetime], limit: int, window: dt.timedelta, now: dt.datetime
) -> int:
    """Seconds until a client that filed at ``filed`` (oldest first, within the window) may file
    again; 0 if it may now.

    Examples
    --------
    >>> t = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.UTC)
    >>> hour = dt.timedelta(hours=1)
    >>> retry_after([t - dt.timedelta(minutes=50), t - dt.timedelta(minutes=5)], 2, hour, t)
    600
    >>> retry_after([t - dt.timedelta(minutes=5)], 2, hour, t)
    0
    """
    if len(filed) < limit:
        return 0
    # the oldest filing that must leave the window before one more fits
    frees_at = filed[len(filed) - limit] + window
    return max(1, int((frees_at - now).total_seconds() + 0.999))


def file_complaint(
    engine: sa.Engine,
    *,
    text: str,
    lon: float | None,
    lat: float | None,
    mine_id: str | None,
    region_code: str | None,
    client_sha256: str,
    token_sha256: str | None,
    photos: Sequence[StoredPhoto],
    limit_per_hour: int,
    change: Change,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """Record a complaint, its photos and its ``filed`` event in one transaction.

    The rate limit is checked again inside the write transaction (writers queue one after the
    other), so two requests at once cannot both take the last place. Raises
    :class:`RateLimited` or :class:`TokenUsed`. Returns the complaint as
    :func:`complaint_by_id`.
    """
    when = now or dt.datetime.now(dt.UTC)
    deadline = answer_deadline(when, region_code)
    with begin_write(engine) as conn:
        filed = recent_filings(conn, client_sha256, when - dt.timedelta(hours=1))
        wait = retry_after(filed, limit_per_hour, dt.timedelta(hours=1), when)
        if wait:
            raise RateLimited(wait)
        if (
            token_sha256 is not None
            and conn.execute(
                sa.select(complaints.c.id).where(complaints.c.token_sha256 == token_sha256)
            ).first()
        ):
            raise TokenUsed("this form or challenge was already used for a complaint")
        receipt = new_receipt()
        while conn.execute(
            sa.select(complaints.c.id).where(complaints.c.receipt == receipt)
        ).first():
            receipt = new_receipt()  # 2^-75 per complaint: never in practice
        due_at = deadline.due(when)
        values: dict[str, Any] = {
            "receipt": receipt,
            "text": text,
            "lon": lon,
            "lat": lat,
            "mine_id": mine_id,
            "project_id": None,
            "region_code": region_code,
            "status": "received",
            "due_at": due_at,
            "created_at": when,
            "client_sha256": client_sha256,
            "token_sha256": token_sha256,
        }
        cid = conn.execute(
            complaints.insert().values(**values).returning(complaints.c.id)
        ).scalar_one()
        for p in photos:
            conn.execute(
                complaint_photos.insert().values(
                    complaint_id=cid,
                    content_type=p.content_type,
                    size_bytes=p.size_bytes,
                    width=p.width,
                    height=p.height,
                    sha256=p.sha256,
                    path=p.path,
                )
            )
        conn.execute(
            complaint_events.insert().values(
                complaint_id=cid,
                at=when,
                action="filed",
                user_id=None,
                note=None,
                details={"photos": len(photos), "deadline": deadline.version},
            )
        )
        _audit(
            conn,
            change,
            when,
            "complaints",
            cid,
            mine_id,
            "insert",
            None,
            {
                "receipt": receipt,
                "status": "received",
                "mine_id": mine_id,
                "region_code": region_code,
                "due_at": due_at.isoformat(),
                "photos": len(photos),
            },
        )
        out = _complaint(conn, cid)
    return out


def _complaint(conn: sa.Connection, complaint_id: int) -> dict[str, Any]:
    row = conn.execute(sa.select(complaints).where(complaints.c.id == complaint_id)).one()
    d = dict(row._mapping)
    for k in ("assigned_at", "answered_at", "due_at", "closed_at", "created_at"):
        if d[k] is not None:
            d[k] = as_utc(d[k])
    return d


def complaint_by_id(conn: sa.Connection, complaint_id: int) -> dict[str, Any] | None:
    """A complaint's row as a dict (UTC timestamps), or None."""
    if not conn.execute(sa.select(complaints.c.id).where(complaints.c.id == complaint_id)).first():
        return None
    return _complaint(conn, complaint_id)


def complaint_by_receipt(conn: sa.Connection, receipt: str) -> dict[str, Any] | None:
    """A complaint by its canonical receipt number (:func:`normalise_receipt`), or None."""
    row = conn.execute(sa.select(complaints.c.id).where(complaints.c.receipt == receipt)).first()
    return None if row is None else _complaint(conn, row[0])


def complaint_events_of(conn: sa.Connection, complaint_id: int) -> list[dict[str, Any]]:
    """A complaint's events, oldest first, with the username of who acted."""
    q = (
        sa.select(
            complaint_events.c.id,
            complaint_events.c.at,
            complaint_events.c.action,
            complaint_events.c.user_id,
            users.c.username,
            complaint_events.c.note,
            complaint_events.c.details,
        )
        .select_from(complaint_events.outerjoin(users, users.c.id == complaint_events.c.user_id))
        .where(complaint_events.c.complaint_id == complaint_id)
        .order_by(complaint_events.c.id)
    )
    return [dict(r._mapping) | {"at": as_utc(r.at)} for r in conn.execute(q)]


def complaint_photos_of(conn: sa.Connection, complaint_id: int) -> list[dict[str, Any]]:
    """A complaint's photos (rows), in the order filed."""
    q = (
        sa.select(complaint_photos)
        .where(complaint_photos.c.complaint_id == complaint_id)
        .order_by(complaint_photos.c.id)
    )
    return [dict(r._mapping) for r in conn.execute(q)]


def overdue(complaint: dict[str, Any], now: dt.datetime) -> bool:
    """Whether a complaint is past its deadline without an answer."""
    return (
        complaint["answered_at"] is None
        and complaint["status"] != "closed"
        and now > complaint["due_at"]
    )


def _step(
    engine: sa.Engine,
    complaint_id: int,
    action: str,
    *,
    user_id: int | None,
    change: Change,
    now: dt.datetime | None,
    values: dict[str, Any],
    note: str | None = None,
    details: dict[str, Any] | None = None,
    check: Any = None,
) -> dict[str, Any]:
    """One step of a complaint: update its row, append its event, audit both."""
    when = now or dt.datetime.now(dt.UTC)
    with begin_write(engine) as conn:
        before = complaint_by_id(conn, complaint_id)
        if before is None:
            raise LookupError(f"no complaint {complaint_id}")
        if check is not None:
            check(before)
        vals: dict[str, Any] = {k: (when if v is _NOW else v) for k, v in values.items()}
        if callable(vals.get("due_at")):
            vals["due_at"] = vals["due_at"](before)  # computed from the row before the step
        conn.execute(complaints.update().where(complaints.c.id == complaint_id).values(**vals))
        conn.execute(
            complaint_events.insert().values(
                complaint_id=complaint_id,
                at=when,
                action=action,
                user_id=user_id,
                note=note,
                details=details,
            )
        )
        _audit(
            conn,
            change,
            when,
            "complaints",
            complaint_id,
            before["mine_id"],
            "update",
            _jsonable({k: before[k] for k in vals}),
            _jsonable(vals),
        )
        return _complaint(conn, complaint_id)


_NOW = object()


def _open(c: dict[str, Any]) -> None:
    if c["status"] == "closed":
        raise InputError("the complaint is closed", field="status")


def assign(
    engine: sa.Engine,
    complaint_id: int,
    *,
    org_id: int | None,
    assignee_id: int | None,
    user_id: int | None,
    note: str | None,
    change: Change,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """Assign a complaint to an organisation and/or one of its users (both must exist; a user
    must belong to the organisation named with it)."""
    if org_id is None and assignee_id is None:
        raise InputError("name an organisation or a user to assign it to", field="org_id")
    with engine.connect() as conn:
        conn.execution_options(restora_read_only=True)
        if (
            org_id is not None
            and not conn.execute(
                sa.select(organisations.c.id).where(organisations.c.id == org_id)
            ).first()
        ):
            raise InputError(f"no organisation {org_id}", field="org_id")
        if assignee_id is not None:
            u = conn.execute(
                sa.select(users.c.org_id, users.c.active).where(users.c.id == assignee_id)
            ).first()
            if u is None or not u.active:
                raise InputError(f"no active user {assignee_id}", field="user_id")
            if org_id is None:
                org_id = u.org_id
            elif u.org_id != org_id:
                raise InputError(
                    f"user {assignee_id} is not of organisation {org_id}", field="user_id"
                )

    def check(c: dict[str, Any]) -> None:
        _open(c)

    return _step(
        engine,
        complaint_id,
        "assigned",
        user_id=user_id,
        change=change,
        now=now,
        values={
            "assigned_org_id": org_id,
            "assigned_user_id": assignee_id,
            "assigned_at": _NOW,
            "status": "assigned",
        },
        note=note,
        details={"org_id": org_id, "user_id": assignee_id},
        check=check,
    )


def answer(
    engine: sa.Engine,
    complaint_id: int,
    text: str,
    *,
    user_id: int | None,
    change: Change,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """Record the answer (who and when); a later answer replaces the shown one, and every
    answer stays in the events."""
    return _step(
        engine,
        complaint_id,
        "answered",
        user_id=user_id,
        change=change,
        now=now,
        values={"answer": text, "answered_at": _NOW, "answered_by": user_id, "status": "answered"},
        note=text,
        check=_open,
    )


def extend(
    engine: sa.Engine,
    complaint_id: int,
    reason: str,
    *,
    user_id: int | None,
    change: Change,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """Extend the deadline once by the extension of the deadline table in force when the
    complaint was filed, with the reason the complainant is told."""

    def check(c: dict[str, Any]) -> None:
        _open(c)
        if c["answered_at"] is not None:
            raise InputError("the complaint is answered already", field="status")
        if c["extension_reason"] is not None:
            raise InputError("the deadline was extended already (once only)", field="reason")

    def new_due(c: dict[str, Any]) -> dt.datetime:
        rule = answer_deadline(c["created_at"], c["region_code"])
        return c["due_at"] + dt.timedelta(days=rule.extension_days)  # type: ignore[no-any-return]

    return _step(
        engine,
        complaint_id,
        "extended",
        user_id=user_id,
        change=change,
        now=now,
        values={"due_at": new_due, "extension_reason": reason},
        note=reason,
        check=check,
    )


def close(
    engine: sa.Engine,
    complaint_id: int,
    note: str | None,
    *,
    user_id: int | None,
    change: Change,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """Close an answered complaint."""

    def check(c: dict[str, Any]) -> None:
        _open(c)
        if c["answered_at"] is None:
            raise InputError("answer the complaint before closing it", field="status")

    return _step(
        engine,
        complaint_id,
        "closed",
        user_id=user_id,
        change=change,
        now=now,
        values={"closed_at": _NOW, "status": "closed"},
        note=note,
        check=check,
    )


# ------------------------------------------------------------------- appraisals, in summary
@dataclass(frozen=True)
class AppraisalFacts:
    """What the public may learn of a project's latest stored appraisal (planned figures).

    Attributes
    ----------
    project_id : str
    version : int
    appraised_at : datetime
        When the appraisal was stored (UTC).
    mines : tuple of str
    after_use_hm2 : dict
        Mine id → {after-use code: area [hm²]} of its plan.
    works : dict
        Mine id → number of works items of its plan [1].
    works_first_year, works_last_year : int or None
        Calendar years of the construction period (cost in a works phase).
    sources_cny : float or None
        Funds planned to be raised: loans, grants, sponsor equity [CNY, nominal].
    uses_cny : float or None
        Uses of funds over construction [CNY, nominal].
    """

    project_id: str
    version: int
    appraised_at: dt.datetime
    mines: tuple[str, ...]
    after_use_hm2: dict[str, dict[str, float]]
    works: dict[str, int]
    works_first_year: int | None
    works_last_year: int | None
    sources_cny: float | None
    uses_cny: float | None


def appraisal_facts(
    document: dict[str, Any], *, project_id: str, version: int, appraised_at: dt.datetime
) -> AppraisalFacts:
    """The public facts of an appraisal document (``appraisal.json``, docs/appraisal.md)."""
    stages = document.get("stages") or {}
    plans = (stages.get("plan") or {}).get("plans") or []
    after: dict[str, dict[str, float]] = {}
    works: dict[str, int] = {}
    for p in plans:
        mid = str(p.get("mine_id"))
        after[mid] = {str(k): float(v) for k, v in (p.get("after_use_hm2") or {}).items()}
        works[mid] = len(p.get("works") or [])
    structure = (stages.get("financing") or {}).get("structure") or {}
    construction = structure.get("construction") or {}
    su = structure.get("sources_uses") or {}
    proj = document.get("project") or {}

    def num(x: Any) -> float | None:
        return None if x is None else float(x)

    return AppraisalFacts(
        project_id=project_id,
        version=version,
        appraised_at=appraised_at,
        mines=tuple(str(m) for m in proj.get("mines") or after),
        after_use_hm2=after,
        works=works,
        works_first_year=construction.get("first_year") or proj.get("start_year"),
        works_last_year=construction.get("last_year"),
        sources_cny=num(su.get("total_sources_cny")),
        uses_cny=num(su.get("total_uses_cny")),
    )


_FACTS: dict[tuple[str, int, str, int], AppraisalFacts] = {}


def latest_facts(conn: sa.Connection, project_ids: Iterable[str]) -> dict[str, AppraisalFacts]:
    """The facts of each live project's latest appraisal (projects without one left out).

    Appraisals are never changed once stored, so each document is read and summarised once per
    process (a stored appraisal.json is a few hundred kB).
    """
    from restora.store.platform_tables import appraisals

    ids = list(project_ids)
    if not ids:
        return {}
    latest = (
        sa.select(appraisals.c.project_id, sa.func.max(appraisals.c.version).label("version"))
        .where(appraisals.c.project_id.in_(ids))
        .group_by(appraisals.c.project_id)
        .subquery()
    )
    rows = conn.execute(
        sa.select(
            appraisals.c.id, appraisals.c.project_id, appraisals.c.version, appraisals.c.created_at
        ).join(
            latest,
            sa.and_(
                latest.c.project_id == appraisals.c.project_id,
                latest.c.version == appraisals.c.version,
            ),
        )
    ).all()
    url = conn.engine.url.render_as_string(hide_password=True)
    out: dict[str, AppraisalFacts] = {}
    for r in rows:
        key = (url, int(r.id), str(r.project_id), int(r.version))
        facts = _FACTS.get(key)
        if facts is None:
            doc = conn.execute(
                sa.select(appraisals.c.document).where(appraisals.c.id == r.id)
            ).scalar_one()
            facts = appraisal_facts(
                doc, project_id=r.project_id, version=r.version, appraised_at=as_utc(r.created_at)
            )
            if len(_FACTS) > 10_000:
                _FACTS.clear()
            _FACTS[key] = facts
        out[r.project_id] = facts
    return out


def live_projects(conn: sa.Connection) -> dict[str, dict[str, Any]]:
    """Live projects: id → ``{"name", "name_en", "region_code", "owner_org_id", "mines"}``."""
    rows = conn.execute(
        sa.select(
            projects.c.project_id,
            projects.c.name,
            projects.c.name_en,
            projects.c.region_code,
            projects.c.owner_org_id,
            projects.c.spec,
        ).where(projects.c.deleted_at.is_(None))
    ).all()
    return {
        r.project_id: {
            "name": r.name,
            "name_en": r.name_en,
            "region_code": r.region_code,
            "owner_org_id": r.owner_org_id,
            "mines": [str(m) for m in (r.spec or {}).get("mines") or []],
        }
        for r in rows
    }
