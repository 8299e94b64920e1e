"""The coordination record (docs/evaluation.md, "The coordination record").

- Staff (``coordination.read``: the bureaus, finance, evaluators; record rule
  :func:`restora.service.permissions.coordination_visible`): joint meetings with their
  follow-ups, the follow-ups open, done or overdue on a date, community consultations and
  hearings; searchable (``q``: every term in the record's text) and filtered by date, region,
  project and organisation.
- Bureaus (``coordination.write``): record a meeting or a consultation, record a follow-up
  done; audited in the write's transaction.
- Public (``disclosure.read``): consultations and hearings marked public (the default) and
  meetings marked public, with :data:`restora.service.permissions.PUBLIC_FIELDS`
  ``coordination`` only — never a person's name.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from restora.evaluation import coordination as C
from restora.service.changes import ChangeDep
from restora.service.db import EngineDep
from restora.service.permissions import coordination_visible
from restora.service.problems import Problem
from restora.service.security import Principal, authorize
from restora.store import coordination as coord

router = APIRouter(prefix="/coordination", tags=["coordination"])
Public = Annotated[Principal, Depends(authorize("disclosure.read"))]
CanRead = Annotated[Principal, Depends(authorize("coordination.read"))]
CanWrite = Annotated[Principal, Depends(authorize("coordination.write"))]
RecordId = Annotated[int, Path(ge=1, le=2**31 - 1)]
Q = Annotated[
    str | None,
    Query(max_length=200, description="Search terms (every one must occur; Chinese as is)."),
]
From = Annotated[dt.date | None, Query(alias="from", description="Held on or after.")]
To = Annotated[dt.date | None, Query(alias="to", description="Held on or before.")]
Region = Annotated[
    str | None, Query(pattern=r"^\d{2,6}$", description="Region code prefix (43, 4305, 430599).")
]
Project = Annotated[str | None, Query(max_length=100, description="Concerning this project.")]
Org = Annotated[str | None, Query(max_length=200, description="Organisation (part of its name).")]
On = Annotated[dt.date | None, Query(description="Follow-up statuses as of (default today).")]


# ------------------------------------------------------------------------------ schemas
class FollowUpPublic(BaseModel):
    id: int
    meeting_id: int
    seq: int
    action: str
    owner_organisation: str
    owner_person: str | None = None
    due_on: str
    done_on: str | None = None
    note: str | None = None
    status: str = Field(description="open, done or overdue on the day asked")
    days_overdue: int = Field(description="[days] past due (0 unless overdue)")
    days_late: int | None = Field(None, description="[days] done after the due date")
    updated_at: dt.datetime


class FollowUpListed(FollowUpPublic):
    meeting_held_on: str
    meeting_title: str
    regions: list[str]
    public: bool


class MeetingPublic(BaseModel):
    """A meeting as staff see it."""

    id: int
    held_on: str
    title: str
    place: str | None = None
    convener: str
    region_code: str | None = None
    regions: list[str]
    agenda: list[str]
    participants: list[dict[str, Any]]
    decisions: list[str]
    projects: list[str]
    mines: list[str]
    attachments: list[dict[str, Any]]
    public: bool
    recorded_at: dt.datetime
    recorded_by: str | None = None
    follow_ups: list[FollowUpPublic]
    follow_up_counts: dict[str, int]


class ConsultationPublic(BaseModel):
    """A consultation or hearing as staff see it."""

    id: int
    kind: str
    held_on: str
    title: str
    place: str | None = None
    organiser: str
    project_id: str | None = None
    mine_id: str | None = None
    region_code: str | None = None
    notice: dict[str, Any] | None = None
    attendance: dict[str, int]
    opinions: list[dict[str, Any]]
    opinion_counts: dict[str, int]
    attachments: list[dict[str, Any]]
    public: bool
    recorded_at: dt.datetime
    recorded_by: str | None = None


class FollowUpDone(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"done_on": "2026-04-28", "note": "报告已提交"}]},
    )

    done_on: dt.date
    note: str | None = Field(None, max_length=1000)


# -- what the public sees (PUBLIC_FIELDS["coordination"]) --------------------------------------
class ParticipantDisclosed(BaseModel):
    organisation: str
    role: str | None = None


class FollowUpDisclosed(BaseModel):
    action: str
    owner_organisation: str
    due_on: str
    done_on: str | None = None
    status: str


class MeetingDisclosed(BaseModel):
    id: int
    held_on: str
    title: str
    place: str | None = None
    convener: str
    region_code: str | None = None
    agenda: list[str]
    participants: list[ParticipantDisclosed]
    decisions: list[str]
    follow_ups: list[FollowUpDisclosed]
    projects: list[str]


class NoticeDisclosed(BaseModel):
    published_on: str
    channel: str
    content: str


class AttendanceDisclosed(BaseModel):
    villagers: int = 0
    village_committee: int = 0
    company: int = 0
    bureau: int = 0
    other: int = 0
    total: int = 0


class OpinionDisclosed(BaseModel):
    group: str
    opinion: str
    answer: str | None = None
    adopted: bool | None = None


class ConsultationDisclosed(BaseModel):
    id: int
    kind: str
    held_on: str
    title: str
    place: str | None = None
    organiser: str
    project_id: str | None = None
    mine_id: str | None = None
    region_code: str | None = None
    notice: NoticeDisclosed | None = None
    attendance: AttendanceDisclosed
    opinions: list[OpinionDisclosed]


# ------------------------------------------------------------------------------ helpers
def _visible(principal: Principal, regions: list[str | None]) -> bool:
    return coordination_visible(principal, regions=regions)


def _check_write(engine: Any, principal: Principal, regions: list[str | None]) -> None:
    """A bureau records what concerns its region (403 outside it)."""
    if not _visible(principal, regions):
        raise Problem(403, "this record concerns a region outside your scope", kind="out-of-scope")


def _meeting_or_404(engine: Any, principal: Principal, meeting_id: int) -> dict[str, Any]:
    found = coord.get_meeting(engine, meeting_id)
    if found is None or not _visible(principal, found["regions"]):
        raise Problem(404, f"no meeting {meeting_id}", kind="not-found")
    return found


def _consultation_regions(found: dict[str, Any]) -> list[str | None]:
    return [found.get("region_code")]


# ------------------------------------------------------------------------------ meetings
@router.get("/meetings", response_model=list[MeetingPublic], summary="Search joint meetings")
def list_meetings(
    engine: EngineDep,
    principal: CanRead,
    q: Q = None,
    since: From = None,
    until: To = None,
    region: Region = None,
    project: Project = None,
    organisation: Org = None,
    on: On = None,
) -> list[MeetingPublic]:
    rows = coord.meetings(
        engine,
        q=q,
        since=since,
        until=until,
        region=region,
        project=project,
        organisation=organisation,
        on=on,
    )
    return [MeetingPublic.model_validate(r) for r in rows if _visible(principal, r["regions"])]


@router.post(
    "/meetings", response_model=MeetingPublic, status_code=201, summary="Record a joint meeting"
)
async def create_meeting(
    body: C.MeetingSpec, engine: EngineDep, principal: CanWrite, change: ChangeDep
) -> MeetingPublic:
    regions = coord.record_regions(engine, body.region_code, body.projects, body.mines)
    _check_write(engine, principal, regions)
    made = await run_in_threadpool(
        lambda: coord.add_meeting(engine, body, recorded_by=principal.username, change=change)
    )
    return MeetingPublic.model_validate(made)


@router.get("/meetings/{meeting_id}", response_model=MeetingPublic, summary="A joint meeting")
def read_meeting(
    meeting_id: RecordId, engine: EngineDep, principal: CanRead, on: On = None
) -> MeetingPublic:
    _meeting_or_404(engine, principal, meeting_id)
    return MeetingPublic.model_validate(coord.get_meeting(engine, meeting_id, on=on))


@router.get(
    "/follow-ups",
    response_model=list[FollowUpListed],
    summary="Follow-ups of the meetings and their status on a date (overdue ones to chase)",
)
def list_follow_ups(
    engine: EngineDep,
    principal: CanRead,
    status: Annotated[
        str | None, Query(description="open, done, overdue, or pending (open or overdue).")
    ] = None,
    on: On = None,
    organisation: Org = None,
    region: Region = None,
) -> list[FollowUpListed]:
    rows = coord.follow_ups(engine, status=status, on=on, organisation=organisation, region=region)
    return [FollowUpListed.model_validate(r) for r in rows if _visible(principal, r["regions"])]


@router.post(
    "/follow-ups/{follow_up_id}/done",
    response_model=FollowUpPublic,
    summary="Record that a follow-up was done",
)
async def follow_up_done(
    follow_up_id: RecordId,
    body: FollowUpDone,
    engine: EngineDep,
    principal: CanWrite,
    change: ChangeDep,
) -> FollowUpPublic:
    found = coord.get_follow_up(engine, follow_up_id)
    if found is None or not _visible(principal, found["regions"]):
        raise Problem(404, f"no follow-up {follow_up_id}", kind="not-found")
    done = await run_in_threadpool(
        lambda: coord.complete_follow_up(
            engine, follow_up_id, done_on=body.done_on, note=body.note, change=change
        )
    )
    return FollowUpPublic.model_validate(done)


# ------------------------------------------------------------------------------ consultations
@router.get(
    "/consultations",
    response_model=list[ConsultationPublic],
    summary="Search community consultations and hearings",
)
def list_consultations(
    engine: EngineDep,
    principal: CanRead,
    q: Q = None,
    since: From = None,
    until: To = None,
    region: Region = None,
    project: Project = None,
    kind: Annotated[str | None, Query(description="consultation or hearing")] = None,
    organisation: Org = None,
) -> list[ConsultationPublic]:
    rows = coord.consultations(
        engine,
        q=q,
        since=since,
        until=until,
        region=region,
        project=project,
        kind=kind,
        organisation=organisation,
    )
    return [
        ConsultationPublic.model_validate(r)
        for r in rows
        if _visible(principal, _consultation_regions(r))
    ]


@router.post(
    "/consultations",
    response_model=ConsultationPublic,
    status_code=201,
    summary="Record a community consultation or hearing",
)
async def create_consultation(
    body: C.ConsultationSpec, engine: EngineDep, principal: CanWrite, change: ChangeDep
) -> ConsultationPublic:
    projects = [body.project_id] if body.project_id else []
    mines = [body.mine_id] if body.mine_id else []
    regions = coord.record_regions(engine, body.region_code, projects, mines)
    _check_write(engine, principal, regions)
    made = await run_in_threadpool(
        lambda: coord.add_consultation(engine, body, recorded_by=principal.username, change=change)
    )
    return ConsultationPublic.model_validate(made)


@router.get(
    "/consultations/{consultation_id}",
    response_model=ConsultationPublic,
    summary="A community consultation or hearing",
)
def read_consultation(
    consultation_id: RecordId, engine: EngineDep, principal: CanRead
) -> ConsultationPublic:
    found = coord.get_consultation(engine, consultation_id)
    if found is None or not _visible(principal, _consultation_regions(found)):
        raise Problem(404, f"no consultation {consultation_id}", kind="not-found")
    return ConsultationPublic.model_validate(found)


# ------------------------------------------------------------------------------ public
@router.get(
    "/public/consultations",
    response_model=list[ConsultationDisclosed],
    summary="Public consultations and hearings: notices, attendance, opinions and answers",
)
def public_consultations(
    engine: EngineDep,
    principal: Public,
    q: Q = None,
    region: Region = None,
    project: Project = None,
) -> list[ConsultationDisclosed]:
    rows = coord.consultations(engine, q=q, region=region, project=project, public_only=True)
    return [ConsultationDisclosed.model_validate(C.public_consultation(r)) for r in rows]


@router.get(
    "/public/consultations/{consultation_id}",
    response_model=ConsultationDisclosed,
    summary="A public consultation or hearing",
)
def public_consultation(
    consultation_id: RecordId, engine: EngineDep, principal: Public
) -> ConsultationDisclosed:
    found = coord.get_consultation(engine, consultation_id)
    if found is None or not found["public"]:
        raise Problem(404, f"no public consultation {consultation_id}", kind="not-found")
    return ConsultationDisclosed.model_validate(C.public_consultation(found))


@router.get(
    "/public/meetings",
    response_model=list[MeetingDisclosed],
    summary="Joint meetings marked public: agenda, organisations present, decisions, follow-ups",
)
def public_meetings(
    engine: EngineDep, principal: Public, q: Q = None, region: Region = None
) -> list[MeetingDisclosed]:
    rows = coord.meetings(engine, q=q, region=region, public_only=True)
    return [MeetingDisclosed.model_validate(C.public_meeting(r)) for r in rows]


@router.get(
    "/public/meetings/{meeting_id}",
    response_model=MeetingDisclosed,
    summary="A joint meeting marked public",
)
def public_meeting(meeting_id: RecordId, engine: EngineDep, principal: Public) -> MeetingDisclosed:
    found = coord.get_meeting(engine, meeting_id)
    if found is None or not found["public"]:
        raise Problem(404, f"no public meeting {meeting_id}", kind="not-found")
    return MeetingDisclosed.model_validate(C.public_meeting(found))
