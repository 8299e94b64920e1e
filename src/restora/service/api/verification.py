"""Milestones, evidence and sign-off over HTTP: ``/api/v1/monitoring/milestones`` (docs/monitoring.md,
"Milestones, sign-off, tranches and credits").

- ``GET /monitoring/milestones?project_id=`` and ``GET /monitoring/milestones/{id}``
  (``project.read``): milestones of the projects one sees;
- ``POST /monitoring/milestones`` and ``POST /monitoring/milestones/from-project/{project_id}``
  (``project.write``, the project writable: its owner or the natural-resources bureau);
- ``GET /monitoring/milestones/{id}/evidence?on=`` (``project.read``): the value, what it rests
  on, the tranche tier and the credits a sign-off would settle, the evidence digest;
- ``POST /monitoring/milestones/{id}/sign-off`` (``verification.write``: an evaluator of the
  project's region): the ledger event, the tranche release and the credits in one transaction;
  a second acceptance answers 409, missing evidence 422;
- ``GET /monitoring/milestones/{id}/sign-offs`` and ``GET /monitoring/projects/{project_id}/
  tranches`` (``project.read``): the sign-offs and the tranches released (finance reads them).

Milestone ids contain ``/`` (``<project>/<name>``): the routes take them as a path.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from restora.service.db import StoreDep
from restora.service.problems import Problem
from restora.service.security import Principal, authorize

router = APIRouter(prefix="/monitoring", tags=["monitoring"])
CanRead = Annotated[Principal, Depends(authorize("project.read"))]
CanWrite = Annotated[Principal, Depends(authorize("project.write"))]
CanSign = Annotated[Principal, Depends(authorize("verification.write"))]


class MilestoneCreate(BaseModel):
    """A new milestone (``credits``: unit_type, count or per_value [+ baseline], vintage,
    region_code, attrs)."""

    model_config = ConfigDict(extra="forbid")

    project_id: str = Field(max_length=64)
    name: str = Field(min_length=1, max_length=64)
    indicator: Literal[
        "soil_share_below_screening", "vegetation_cover", "hazards_stabilised", "plant_survival"
    ]
    target: float = Field(description="[indicator unit]")
    comparison: Literal["ge", "gt", "le", "lt"] = "ge"
    due_on: dt.date | None = None
    tranche: str | None = Field(None, description="tranche of the project's performance bond")
    credits: dict[str, Any] | None = None
    params: dict[str, Any] = Field(default_factory=dict)


class MilestonePublic(BaseModel):
    id: str
    project_id: str
    name: str
    indicator: str
    comparison: str
    target: float
    due_on: dt.date | None = None
    tranche: str | None = None
    credits: dict[str, Any] | None = None
    params: dict[str, Any]
    status: Literal["open", "accepted", "rejected"]
    created_at: dt.datetime
    created_by: str | None = None


class SignOffCreate(BaseModel):
    """The evaluator's decision; ``value`` (with a ``note``) replaces the computed one."""

    model_config = ConfigDict(extra="forbid")

    decision: Literal["accepted", "rejected"]
    report_sha256: str = Field(pattern=r"^[0-9a-fA-F]{64}$", description="SHA-256 of the report")
    value: float | None = Field(None, description="a measured value [indicator unit]")
    note: str | None = Field(None, max_length=2000)
    on: dt.date | None = Field(None, description="latest evidence date")


class SignOffPublic(BaseModel):
    id: int
    milestone_id: str
    project_id: str
    decision: str
    value: float | None = None
    evidence: dict[str, Any]
    report_sha256: str
    evaluator: str
    evaluator_org_id: int | None = None
    note: str | None = None
    signed_at: dt.datetime
    event_id: int | None = Field(None, description="the sign_off event on the registry ledger")
    verification_id: str | None = None
    issued: dict[str, Any] | None = None
    release: dict[str, Any] | None = None


class TrancheReleasePublic(BaseModel):
    id: int
    project_id: str
    instrument: str
    tranche: str
    indicator: str
    value: float
    tier: str | None = None
    principal_fraction: float = Field(description="[1]")
    amount_cny: float = Field(description="principal released [CNY]")
    signoff_id: int
    released_at: dt.datetime
    details: dict[str, Any]


def _call(fn: Callable[[], Any]) -> Any:
    from restora.errors import InputError
    from restora.registry.ledger import LedgerError

    try:
        return fn()
    except LedgerError as exc:
        errors = [{"field": exc.field, "in": "body", "message": str(exc)}] if exc.field else None
        raise Problem(409, str(exc), kind="conflict", errors=errors) from exc
    except InputError as exc:
        p = exc.problems[0]
        errors = [{"field": p.field, "in": "body", "message": p.message}] if p.field else None
        raise Problem(422, str(exc), kind="invalid-input", errors=errors) from exc


def _project(store: Any, principal: Principal, project_id: str, *, write: bool) -> dict[str, Any]:
    from restora.service.permissions import check_project
    from restora.store import projects as repo

    row = repo.get_project(store, project_id)
    if row is None:
        raise Problem(404, f"no project {project_id!r}", kind="not-found")
    check_project(principal, row, write=write)
    return row


def _milestone(store: Any, principal: Principal, milestone_id: str) -> dict[str, Any]:
    from restora.store import verification as V

    m = V.milestone(store, milestone_id)
    if m is None:
        raise Problem(404, f"no milestone {milestone_id!r}", kind="not-found")
    _project(store, principal, m["project_id"], write=False)
    return m


@router.get("/milestones", response_model=list[MilestonePublic])
def list_milestones(
    store: StoreDep,
    principal: CanRead,
    project_id: Annotated[str, Query(max_length=64, description="the project")],
) -> Any:
    """The milestones of a project, by due date."""
    from restora.store import verification as V

    _project(store, principal, project_id, write=False)
    return V.milestones(store, project_id=project_id)


@router.post("/milestones", response_model=MilestonePublic, status_code=201)
def add_milestone(body: MilestoneCreate, store: StoreDep, principal: CanWrite) -> Any:
    """Add a milestone to a project one may change."""
    from restora.store import verification as V

    _project(store, principal, body.project_id, write=True)
    return _call(lambda: V.add_milestone(store, **body.model_dump(), created_by=principal.username))


@router.post("/milestones/from-project/{project_id}", response_model=list[MilestonePublic])
def milestones_from_project(project_id: str, store: StoreDep, principal: CanWrite) -> Any:
    """Create the milestones of the project's performance-bond tranches (where missing)."""
    from restora.store import verification as V

    _project(store, principal, project_id, write=True)
    return _call(
        lambda: V.milestones_from_project(store, project_id, created_by=principal.username)
    )


@router.get("/projects/{project_id}/tranches", response_model=list[TrancheReleasePublic])
def project_tranches(project_id: str, store: StoreDep, principal: CanRead) -> Any:
    """The performance-bond tranches the project's sign-offs released."""
    from restora.store import verification as V

    _project(store, principal, project_id, write=False)
    return V.tranche_releases(store, project_id)


@router.get("/milestones/{milestone_id:path}/evidence")
def milestone_evidence(
    milestone_id: str,
    store: StoreDep,
    principal: CanRead,
    on: Annotated[dt.date | None, Query(description="latest evidence date")] = None,
) -> Any:
    """The evidence of a milestone (docs/monitoring.md: the JSON contract)."""
    from restora.store import verification as V

    _milestone(store, principal, milestone_id)
    return _call(lambda: V.evidence(store, milestone_id, on=on))


@router.get("/milestones/{milestone_id:path}/sign-offs", response_model=list[SignOffPublic])
def milestone_signoffs(milestone_id: str, store: StoreDep, principal: CanRead) -> Any:
    """The sign-offs of a milestone, oldest first."""
    from restora.store import verification as V

    _milestone(store, principal, milestone_id)
    return V.signoffs(store, milestone_id=milestone_id)


@router.post("/milestones/{milestone_id:path}/sign-off", response_model=SignOffPublic)
def sign_off(milestone_id: str, body: SignOffCreate, store: StoreDep, principal: CanSign) -> Any:
    """Sign off a milestone as the evaluator signed in. Its registry events (the sign-off, the
    verified outcome and issuance) are sequenced into the signed log at once, as every registry
    write's: their public records and inclusion proofs are served at once."""
    from restora.service.api.registry import sequence_pending
    from restora.store import verification as V

    _milestone(store, principal, milestone_id)
    row = _call(
        lambda: V.sign_off(
            store, milestone_id, evaluator=str(principal.username), decision=body.decision,
            report_sha256=body.report_sha256.lower(), value=body.value, note=body.note,
            on=body.on,
        )
    )  # fmt: skip
    sequence_pending(store, row["signed_at"])
    return row


@router.get("/milestones/{milestone_id:path}", response_model=MilestonePublic)
def get_milestone(milestone_id: str, store: StoreDep, principal: CanRead) -> Any:
    """One milestone."""
    return _milestone(store, principal, milestone_id)
