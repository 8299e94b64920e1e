"""The enterprise integrity archive (docs/monitoring.md, "Integrity records").

- Public (``disclosure.read``): ``GET /integrity/grades`` — each scored company's latest grade,
  the lists it is on and the measures disclosed with the grade (企业环境信用评价办法（试行）
  discloses the grades); never its score, breakdown or obligations.
- Staff and the company itself (``integrity.read``, record rule
  :func:`restora.service.permissions.integrity_visible`): a company's record, its obligations,
  the latest scores of the companies one may see.
- Bureaus (``integrity.write``): record an obligation, settle it, derive the obligations from
  milestones and alerts, score a company.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from restora.service.changes import ChangeDep
from restora.service.db import EngineDep
from restora.service.permissions import integrity_visible
from restora.service.problems import Problem
from restora.service.security import Principal, authorize
from restora.store import accounts
from restora.store import integrity as integ

router = APIRouter(prefix="/integrity", tags=["integrity"])
Public = Annotated[Principal, Depends(authorize("disclosure.read"))]
CanRead = Annotated[Principal, Depends(authorize("integrity.read"))]
CanWrite = Annotated[Principal, Depends(authorize("integrity.write"))]
OrgId = Annotated[int, Path(ge=1, le=2**31 - 1)]
OnQuery = Annotated[dt.date | None, Query(description="Date of the outcomes (default today).")]


# ------------------------------------------------------------------------------ schemas
class MeasurePublic(BaseModel):
    code: str
    kind: str
    name_zh: str
    name_en: str


class GradePublic(BaseModel):
    """A company's grade as the public sees it."""

    name: str
    region_code: str | None = None
    grade: str
    label_zh: str | None = None
    label_en: str | None = None
    colour: str | None = None
    as_of: str
    listed: list[str]
    measures: list[MeasurePublic]


class ObligationPublic(BaseModel):
    id: int
    org_id: int
    kind: str
    ref: str | None = None
    mine_id: str | None = None
    project_id: str | None = None
    description: str
    due_on: str
    amount: float | None = Field(None, description="[CNY] due")
    done_on: str | None = None
    done_amount: float | None = Field(None, description="[CNY] paid")
    status: str
    outcome: str = Field(description="met, late, missed, pending (listing: listed, lifted)")
    source: str
    recorded_at: dt.datetime
    recorded_by: str | None = None
    details: dict[str, Any]


class ObligationCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "org_id": 1,
                    "kind": "fund_accrual",
                    "due_on": "2024-12-31",
                    "amount": 200000.0,
                    "description": "2024 年度矿山地质环境治理恢复基金计提",
                }
            ]
        },
    )

    org_id: int = Field(ge=1, le=2**31 - 1)
    kind: str = Field(description="fund_accrual, report, rectification or listing")
    due_on: dt.date
    description: str = Field(min_length=1, max_length=500)
    amount: float | None = Field(None, ge=0, description="[CNY] due (fund accruals)")
    done_on: dt.date | None = None
    done_amount: float | None = Field(None, ge=0, description="[CNY] paid")
    list: str | None = Field(None, description="for a listing: abnormal or serious")
    mine_id: str | None = Field(None, max_length=100)
    project_id: str | None = Field(None, max_length=100)


class ObligationSettle(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"done_on": "2025-01-20", "done_amount": 200000.0}]},
    )

    done_on: dt.date
    done_amount: float | None = Field(None, ge=0, description="[CNY] paid this time")


class ScoreRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{}]})

    on: dt.date | None = Field(None, description="Scoring date (default today).")


class SyncResult(BaseModel):
    created: int
    updated: int
    deleted: int
    unchanged: int


class ScorePublic(BaseModel):
    """A stored scoring (staff and the company)."""

    id: int
    org_id: int
    name: str | None = None
    region_code: str | None = None
    as_of: str
    score: float = Field(description="[points] 0-100")
    grade: str
    measures: list[dict[str, Any]]
    breakdown: dict[str, Any]
    rules: str
    public: bool
    computed_at: dt.datetime


class RecordPublic(BaseModel):
    organisation: dict[str, Any]
    on: str
    obligations: list[ObligationPublic]
    summary: dict[str, dict[str, int]]
    latest: ScorePublic | None = None
    history: list[dict[str, Any]]


# ------------------------------------------------------------------------------ helpers
def _check_org(engine: Any, principal: Principal, org_id: int, *, write: bool) -> dict[str, Any]:
    """The organisation, if ``principal`` may see its record (404) and, on writes, is in its
    region scope (403)."""
    org = accounts.organisation(engine, org_id=org_id)
    if org is None:
        raise Problem(404, f"no organisation {org_id}", kind="not-found")
    regions = integ.org_regions(engine, org_id)
    if not integrity_visible(principal, org_id=org_id, region_codes=regions):
        if write and principal.role != "enterprise":
            raise Problem(403, "this organisation is outside your scope", kind="out-of-scope")
        raise Problem(404, f"no organisation {org_id}", kind="not-found")
    return org


# ------------------------------------------------------------------------------ public
@router.get(
    "/grades", response_model=list[GradePublic], summary="The public list of integrity grades"
)
def public_grades(engine: EngineDep, principal: Public) -> list[GradePublic]:
    rows = integ.scores(engine, public_only=True)
    return [GradePublic.model_validate(integ.public_grade(r)) for r in rows]


# ------------------------------------------------------------------------------ staff
@router.get("/scores", response_model=list[ScorePublic], summary="Latest scores one may see")
def latest_scores(engine: EngineDep, principal: CanRead) -> list[ScorePublic]:
    rows = integ.scores(engine)
    return [
        ScorePublic.model_validate(r)
        for r in rows
        if integrity_visible(
            principal, org_id=r["org_id"], region_codes=integ.org_regions(engine, r["org_id"])
        )
    ]


@router.get("/orgs/{org_id}", response_model=RecordPublic, summary="A company's integrity record")
def read_record(
    org_id: OrgId, engine: EngineDep, principal: CanRead, on: OnQuery = None
) -> RecordPublic:
    _check_org(engine, principal, org_id, write=False)
    return RecordPublic.model_validate(integ.record(engine, org_id, on))


@router.get(
    "/orgs/{org_id}/obligations",
    response_model=list[ObligationPublic],
    summary="A company's obligations and their outcome",
)
def list_obligations(
    org_id: OrgId,
    engine: EngineDep,
    principal: CanRead,
    on: OnQuery = None,
    kind: Annotated[str | None, Query(description="Only this kind.")] = None,
) -> list[ObligationPublic]:
    _check_org(engine, principal, org_id, write=False)
    rows = integ.obligations(engine, org_id, kind=kind, on=on)
    return [ObligationPublic.model_validate(r) for r in rows]


@router.post(
    "/obligations",
    response_model=ObligationPublic,
    status_code=201,
    summary="Record an obligation",
)
async def create_obligation(
    body: ObligationCreate, engine: EngineDep, principal: CanWrite, change: ChangeDep
) -> ObligationPublic:
    _check_org(engine, principal, body.org_id, write=True)
    made = await run_in_threadpool(
        lambda: integ.add_obligation(
            engine,
            org_id=body.org_id,
            kind=body.kind,
            due_on=body.due_on,
            description=body.description,
            amount=body.amount,
            done_on=body.done_on,
            done_amount=body.done_amount,
            listing=body.list,
            mine_id=body.mine_id,
            project_id=body.project_id,
            recorded_by=principal.username,
            change=change,
        )
    )
    return ObligationPublic.model_validate(made)


@router.post(
    "/obligations/{obligation_id}/settle",
    response_model=ObligationPublic,
    summary="Record that an obligation was done (paid, submitted, lifted)",
)
async def settle_obligation(
    obligation_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    body: ObligationSettle,
    engine: EngineDep,
    principal: CanWrite,
    change: ChangeDep,
) -> ObligationPublic:
    found = integ.obligation(engine, obligation_id)
    if found is None:
        raise Problem(404, f"no obligation {obligation_id}", kind="not-found")
    _check_org(engine, principal, found["org_id"], write=True)
    done = await run_in_threadpool(
        lambda: integ.settle_obligation(
            engine,
            obligation_id,
            done_on=body.done_on,
            done_amount=body.done_amount,
            by=principal.username,
            change=change,
        )
    )
    return ObligationPublic.model_validate(done)


@router.post(
    "/orgs/{org_id}/score",
    response_model=ScorePublic,
    status_code=201,
    summary="Score a company (its derived obligations synced first)",
)
async def score_org(
    org_id: OrgId, body: ScoreRequest, engine: EngineDep, principal: CanWrite, change: ChangeDep
) -> ScorePublic:
    _check_org(engine, principal, org_id, write=True)
    made = await run_in_threadpool(lambda: integ.score_org(engine, org_id, body.on, change=change))
    return ScorePublic.model_validate(made)


@router.post(
    "/orgs/{org_id}/sync",
    response_model=SyncResult,
    summary="Derive a company's milestone, monitoring-gap and rectification obligations",
)
async def sync_org(
    org_id: OrgId, body: ScoreRequest, engine: EngineDep, principal: CanWrite, change: ChangeDep
) -> SyncResult:
    _check_org(engine, principal, org_id, write=True)
    counts = await run_in_threadpool(
        lambda: integ.sync_obligations(engine, body.on, org_id=org_id, change=change)
    )
    return SyncResult.model_validate(counts)
