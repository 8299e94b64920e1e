"""The coordination record: joint meetings and community consultations, as data.

Two kinds of record (docs/evaluation.md, "The coordination record"):

- a **joint meeting** of natural-resources departments and financial institutions (the 联席会议
  that market-oriented restoration policy asks bureaus and banks to hold regularly): date,
  place, convener, agenda items, participants (organisation, role, person), decisions,
  follow-ups (owner organisation and person, due date, done date), the projects and mines it
  concerns, its attachments' SHA-256; not public unless marked;
- a **community consultation or hearing** on a project (征求意见, 听证): the notice (published
  date, channel, content), attendance by group (villagers, village committee, company, bureau,
  other), the opinions raised — by group, in general terms; a speaker's name is kept for the
  record and never disclosed — with the answers and whether each was adopted; public by
  default (notices and answers are disclosed).

Pure: the input models (:class:`MeetingSpec`, :class:`ConsultationSpec`) validate a record,
:func:`follow_up_status` says whether a follow-up is open, done or overdue on a date, the search
helpers build and match the text a record is found by, and :func:`public_meeting` /
:func:`public_consultation` keep only what may be disclosed. The store keeps the records
(:mod:`restora.store.coordination`).
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from restora.errors import InputError, Problem, input_error

#: Follow-up statuses on a date: not yet due, done (on or before that date), past due.
FOLLOW_UP_STATUSES = ("open", "done", "overdue")
#: Kinds of community record.
CONSULTATION_KINDS = ("consultation", "hearing")
#: Groups of attendance and of those who raise opinions (general terms, never a person).
GROUPS = ("villagers", "village_committee", "company", "bureau", "other")

_REGION = r"^\d{6}$"
_SHA256 = r"^[0-9a-f]{64}$"


class _Spec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


class Participant(_Spec):
    """One participant of a meeting: organisation, role (at the meeting or in it), person."""

    organisation: str = Field(min_length=1, max_length=200)
    role: str | None = Field(None, max_length=200)
    person: str | None = Field(None, max_length=100, description="never disclosed")


class Attachment(_Spec):
    """A document of the record, by name and SHA-256 (the file itself stays where it is)."""

    name: str = Field(min_length=1, max_length=300)
    sha256: str = Field(pattern=_SHA256, description="hex SHA-256 of the file")


class FollowUpSpec(_Spec):
    """A follow-up a meeting decided: what, who answers for it, by when, done when."""

    action: str = Field(min_length=1, max_length=1000)
    owner_organisation: str = Field(min_length=1, max_length=200)
    owner_person: str | None = Field(None, max_length=100, description="never disclosed")
    due_on: dt.date
    done_on: dt.date | None = None
    note: str | None = Field(None, max_length=1000)


class MeetingSpec(_Spec):
    """A joint meeting of natural-resources departments and financial institutions."""

    held_on: dt.date
    title: str = Field(min_length=1, max_length=300)
    place: str | None = Field(None, max_length=300)
    convener: str = Field(min_length=1, max_length=200, description="convening organisation")
    region_code: str | None = Field(None, pattern=_REGION, description="GB/T 2260 code")
    agenda: list[str] = Field(min_length=1, description="agenda items")
    participants: list[Participant] = Field(min_length=1)
    decisions: list[str] = Field(default_factory=list)
    follow_ups: list[FollowUpSpec] = Field(default_factory=list)
    projects: list[str] = Field(default_factory=list, description="project ids it concerns")
    mines: list[str] = Field(default_factory=list, description="mine ids it concerns")
    attachments: list[Attachment] = Field(default_factory=list)
    public: bool = Field(False, description="meetings are not public unless marked")

    @model_validator(mode="after")
    def _dates(self) -> MeetingSpec:
        for i, f in enumerate(self.follow_ups):
            if f.due_on < self.held_on:
                raise ValueError(
                    f"follow_ups.{i}.due_on: {f.due_on} is before the meeting ({self.held_on})"
                )
            if f.done_on is not None and f.done_on < self.held_on:
                raise ValueError(
                    f"follow_ups.{i}.done_on: {f.done_on} is before the meeting ({self.held_on})"
                )
        for name, items in (("agenda", self.agenda), ("decisions", self.decisions)):
            for i, item in enumerate(items):
                if not item.strip():
                    raise ValueError(f"{name}.{i}: an empty item")
        return self


class Notice(_Spec):
    """The notice of a consultation or hearing."""

    published_on: dt.date
    channel: str = Field(min_length=1, max_length=200, description="where it was published")
    content: str = Field(min_length=1, max_length=20000)


class Attendance(_Spec):
    """How many attended, by group [persons]."""

    villagers: int = Field(0, ge=0)
    village_committee: int = Field(0, ge=0)
    company: int = Field(0, ge=0)
    bureau: int = Field(0, ge=0)
    other: int = Field(0, ge=0)

    @property
    def total(self) -> int:
        """[persons] everyone who attended."""
        return self.villagers + self.village_committee + self.company + self.bureau + self.other


class Opinion(_Spec):
    """An opinion raised, by a group (general terms), with its answer and whether adopted."""

    group: Literal["villagers", "village_committee", "company", "bureau", "other"]
    speaker: str | None = Field(None, max_length=100, description="never disclosed")
    opinion: str = Field(min_length=1, max_length=5000)
    answer: str | None = Field(None, max_length=5000)
    adopted: bool | None = Field(None, description="None: not decided yet")


class ConsultationSpec(_Spec):
    """A community consultation or hearing on a project."""

    kind: Literal["consultation", "hearing"]
    held_on: dt.date
    title: str = Field(min_length=1, max_length=300)
    place: str | None = Field(None, max_length=300)
    organiser: str = Field(min_length=1, max_length=200, description="organising body")
    project_id: str | None = Field(None, max_length=100)
    mine_id: str | None = Field(None, max_length=100)
    region_code: str | None = Field(None, pattern=_REGION)
    notice: Notice | None = None
    attendance: Attendance = Field(default_factory=lambda: Attendance.model_validate({}))
    opinions: list[Opinion] = Field(default_factory=list)
    attachments: list[Attachment] = Field(default_factory=list)
    public: bool = Field(True, description="notices and answers are public by default")

    @model_validator(mode="after")
    def _consistent(self) -> ConsultationSpec:
        if self.project_id is None and self.mine_id is None and self.region_code is None:
            raise ValueError("project_id: name the project (or the mine, or the region)")
        if self.kind == "hearing" and self.notice is None:
            raise ValueError("notice: a hearing is announced by a notice")
        if self.notice is not None and self.notice.published_on > self.held_on:
            raise ValueError(
                f"notice.published_on: {self.notice.published_on} is after the "
                f"{self.kind} ({self.held_on})"
            )
        return self


_TOP_FIELD = re.compile(r"^([a-z_]+): (.*)$", re.S)


def _input_error(exc: ValidationError, file: str | None) -> InputError:
    """The validation errors naming their field (a model check's ``"notice: …"`` names its
    top-level field too)."""
    problems = []
    for p in input_error(exc, file=file).problems:
        m = _TOP_FIELD.match(p.message) if p.field is None else None
        problems.append(Problem(m.group(2), p.file, p.row, m.group(1)) if m else p)
    return InputError(problems=problems)


def parse_meeting(data: Any, *, file: str | None = None) -> MeetingSpec:
    """A meeting from a mapping (a YAML/JSON file's content).

    Raises
    ------
    InputError
        Naming the file and the field path (``follow_ups.0.due_on``) of each problem.
    """
    if not isinstance(data, Mapping):
        raise InputError("expected a mapping of the meeting's fields", file=file)
    try:
        return MeetingSpec.model_validate(dict(data))
    except ValidationError as exc:
        raise _input_error(exc, file) from None


def parse_consultation(data: Any, *, file: str | None = None) -> ConsultationSpec:
    """A consultation or hearing from a mapping; InputError names the file and field."""
    if not isinstance(data, Mapping):
        raise InputError("expected a mapping of the consultation's fields", file=file)
    try:
        return ConsultationSpec.model_validate(dict(data))
    except ValidationError as exc:
        raise _input_error(exc, file) from None


# ------------------------------------------------------------------------------ follow-ups
def follow_up_status(due_on: dt.date, done_on: dt.date | None, on: dt.date) -> str:
    """A follow-up's status on the day ``on``: ``done``, ``overdue`` or ``open``.

    Done if it was done on or before ``on``; else overdue once ``on`` is past its due date (a
    follow-up due today is still open today); else open. Asked about a past day, a follow-up
    done later was not done yet then.

    Examples
    --------
    >>> d = dt.date
    >>> follow_up_status(d(2026, 3, 31), None, d(2026, 3, 31))
    'open'
    >>> follow_up_status(d(2026, 3, 31), None, d(2026, 4, 1))
    'overdue'
    >>> follow_up_status(d(2026, 3, 31), d(2026, 4, 10), d(2026, 4, 5))
    'overdue'
    >>> follow_up_status(d(2026, 3, 31), d(2026, 4, 10), d(2026, 4, 10))
    'done'
    """
    if done_on is not None and done_on <= on:
        return "done"
    return "overdue" if on > due_on else "open"


def days_overdue(due_on: dt.date, done_on: dt.date | None, on: dt.date) -> int:
    """[days] how long past due a follow-up is on ``on`` (0 unless overdue).

    Examples
    --------
    >>> days_overdue(dt.date(2026, 3, 31), None, dt.date(2026, 4, 30))
    30
    """
    if follow_up_status(due_on, done_on, on) != "overdue":
        return 0
    return (on - due_on).days


def days_late(due_on: dt.date, done_on: dt.date | None) -> int | None:
    """[days] how late a done follow-up was done (0 on time, negative never); None if not done.

    Examples
    --------
    >>> days_late(dt.date(2026, 3, 31), dt.date(2026, 4, 3)), days_late(dt.date(2026, 3, 31), None)
    (3, None)
    """
    if done_on is None:
        return None
    return max((done_on - due_on).days, 0)


# ------------------------------------------------------------------------------ search
_SPACE = re.compile(r"\s+")


def normalise(text: str) -> str:
    """Text as it is searched: NFKC (full-width letters and digits to half-width), case-folded,
    runs of white space as one space.

    Examples
    --------
    >>> normalise("  ＡＢＣ  银行\\t授信 ")
    'abc 银行 授信'
    """
    return _SPACE.sub(" ", unicodedata.normalize("NFKC", text).casefold()).strip()


def query_terms(query: str | None) -> list[str]:
    """The terms of a search: every one must occur (Chinese needs no word breaks: a term is
    matched as a substring).

    Examples
    --------
    >>> query_terms(" 授信  ＱＳ-M09 "), query_terms(None)
    (['授信', 'qs-m09'], [])
    """
    return [t for t in normalise(query or "").split(" ") if t]


def matches(search_text: str, query: str | None) -> bool:
    """Whether a record's search text holds every term of ``query``.

    Examples
    --------
    >>> matches("2026 年第一季度联席会议 授信 qs-m09", "授信 QS-M09"), matches("授信", "贷款")
    (True, False)
    """
    return all(t in search_text for t in query_terms(query))


def like_pattern(term: str) -> str:
    r"""A SQL ``LIKE`` pattern matching ``term`` anywhere, with ``\`` as the escape character.

    Examples
    --------
    >>> like_pattern("50%_x")
    '%50\\%\\_x%'
    """
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _join(parts: Iterable[str | None]) -> str:
    return normalise(" ".join(p for p in parts if p))


def meeting_search_text(spec: MeetingSpec) -> str:
    """The text a meeting is found by: title, place, convener, agenda, decisions, follow-up
    actions and owners, participants' organisations and roles, projects and mines. People's
    names are left out (a search must not reveal who attended)."""
    return _join(
        [
            spec.title,
            spec.place,
            spec.convener,
            *spec.agenda,
            *spec.decisions,
            *(f.action for f in spec.follow_ups),
            *(f.owner_organisation for f in spec.follow_ups),
            *(p.organisation for p in spec.participants),
            *(p.role for p in spec.participants),
            *spec.projects,
            *spec.mines,
        ]
    )


def consultation_search_text(spec: ConsultationSpec) -> str:
    """The text a consultation is found by: title, place, organiser, the notice, opinions and
    answers, project and mine (speakers' names left out)."""
    notice = spec.notice
    return _join(
        [
            spec.title,
            spec.place,
            spec.organiser,
            notice.channel if notice else None,
            notice.content if notice else None,
            *(o.opinion for o in spec.opinions),
            *(o.answer for o in spec.opinions),
            spec.project_id,
            spec.mine_id,
        ]
    )


def mentions(values: Iterable[str | None], organisation: str | None) -> bool:
    """Whether an organisation filter matches one of ``values`` (a normalised substring).

    Examples
    --------
    >>> mentions(["青山县自然资源局", "青山农商银行"], "农商"), mentions(["a"], None)
    (True, True)
    """
    if not organisation:
        return True
    want = normalise(organisation)
    return any(want in normalise(v) for v in values if v)


# ------------------------------------------------------------------------------ disclosure
#: What a public meeting discloses (participants: organisation and role; never a person).
PUBLIC_MEETING_FIELDS = (
    "id",
    "held_on",
    "title",
    "place",
    "convener",
    "region_code",
    "agenda",
    "participants",
    "decisions",
    "follow_ups",
    "projects",
)
#: What a public consultation or hearing discloses (opinions by group; never a speaker).
PUBLIC_CONSULTATION_FIELDS = (
    "id",
    "kind",
    "held_on",
    "title",
    "place",
    "organiser",
    "project_id",
    "mine_id",
    "region_code",
    "notice",
    "attendance",
    "opinions",
)


def public_meeting(record: Mapping[str, Any]) -> dict[str, Any]:
    """What the public sees of a meeting marked public: no person, no attachment, no note.

    ``record`` is a stored meeting (:func:`restora.store.coordination.get_meeting`): the
    participants become the organisations and roles present (each once), the follow-ups their
    action, owner organisation, due date, done date and status.
    """
    out = {k: record.get(k) for k in PUBLIC_MEETING_FIELDS if k not in ("participants",)}
    seen: list[dict[str, Any]] = []
    for p in record.get("participants") or []:
        item = {"organisation": p.get("organisation"), "role": p.get("role")}
        if item not in seen:
            seen.append(item)
    out["participants"] = seen
    out["follow_ups"] = [
        {
            "action": f.get("action"),
            "owner_organisation": f.get("owner_organisation"),
            "due_on": f.get("due_on"),
            "done_on": f.get("done_on"),
            "status": f.get("status"),
        }
        for f in record.get("follow_ups") or []
    ]
    return out


def public_consultation(record: Mapping[str, Any]) -> dict[str, Any]:
    """What the public sees of a consultation or hearing: the notice, attendance by group and
    the opinions by group with their answers — never a speaker, an attachment or who recorded
    it."""
    out = {k: record.get(k) for k in PUBLIC_CONSULTATION_FIELDS if k != "opinions"}
    out["opinions"] = [
        {
            "group": o.get("group"),
            "opinion": o.get("opinion"),
            "answer": o.get("answer"),
            "adopted": o.get("adopted"),
        }
        for o in record.get("opinions") or []
    ]
    return out
