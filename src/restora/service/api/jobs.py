"""Background jobs: list one's jobs, follow one's progress, cancel it.

A job is started by the resource it works for (``POST /api/v1/projects/{id}/appraisals``
queues an appraisal, restora.service.jobs.submit); here the caller follows it: ``GET
/jobs/{id}`` gives the status, the progress (0…1), the stage running and the stages to come,
the failure's message, and when it succeeded the links to what it made. Poll it (the web page
does every second) until ``status`` is ``succeeded``, ``failed`` or ``cancelled``.

Every account sees and cancels the jobs it submitted; an admin sees and cancels all. Another
account's job is 404 (not 403: its existence is not the caller's to know).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, Field

from restora.service import jobs
from restora.service.pagination import Page, Paging
from restora.service.problems import Problem
from restora.service.security import Principal, authorize

router = APIRouter(prefix="/jobs", tags=["jobs"])
CanRead = Annotated[Principal, Depends(authorize("job.read"))]
CanCancel = Annotated[Principal, Depends(authorize("job.cancel"))]
JobId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[0-9a-f]+$")]
Status = Literal["queued", "running", "succeeded", "failed", "cancelled"]


class JobLinks(BaseModel):
    """Where to follow the job and what it made (API paths)."""

    self: str
    cancel: str | None = Field(None, description="POST here to cancel (while not finished)")
    appraisal: str | None = Field(None, description="the stored appraisal version it made")
    files: dict[str, str] = Field(
        default_factory=dict, description="downloads of its files: json, xlsx, html, pdf"
    )


class JobPublic(BaseModel):
    """A job as its caller follows it."""

    id: str
    kind: str = Field(description="e.g. appraisal")
    status: Status
    progress: float = Field(ge=0, le=1, description="share of the stages begun [1]")
    stage: str | None = Field(None, description="the stage running, or where it stopped")
    steps: list[str] = Field(description="the kind's stages in order")
    message: str | None = Field(None, description="why it failed or was cancelled")
    attempts: int = Field(description="runs begun (2 after a re-run on another worker)")
    cancel_requested: bool
    params: dict[str, Any]
    result: dict[str, Any] | None = None
    created_at: dt.datetime
    started_at: dt.datetime | None = None
    heartbeat_at: dt.datetime | None = Field(None, description="the worker's last sign of life")
    finished_at: dt.datetime | None = None
    links: JobLinks


def appraisal_links(result: dict[str, Any]) -> tuple[str | None, dict[str, str]]:
    """API paths of the appraisal version a job made and of its files."""
    pid, version = result.get("project_id"), result.get("version")
    if pid is None or version is None:
        return None, {}
    base = f"/api/v1/projects/{pid}/appraisals/{version}"
    lang = result.get("lang", "zh")
    files = {
        kind: f"{base}/files/{kind}" + ("" if kind == "json" else f"?lang={lang}")
        for kind, rel in (result.get("files") or {}).items()
        if rel
    }
    return base, files


def public(state: jobs.JobState) -> JobPublic:
    """The API's view of a job's state."""
    appraisal: str | None = None
    files: dict[str, str] = {}
    if state.status == "succeeded" and state.kind == "appraisal" and state.result:
        appraisal, files = appraisal_links(state.result)
    links = JobLinks(
        self=f"/api/v1/jobs/{state.id}",
        cancel=None if state.done else f"/api/v1/jobs/{state.id}/cancel",
        appraisal=appraisal,
        files=files,
    )
    return JobPublic(
        id=state.id,
        kind=state.kind,
        status=state.status,  # type: ignore[arg-type]
        progress=state.progress,
        stage=state.stage,
        steps=list(state.steps),
        message=state.message,
        attempts=state.attempts,
        cancel_requested=state.cancel_requested,
        params=state.params,
        result=state.result,
        created_at=state.created_at,
        started_at=state.started_at,
        heartbeat_at=state.heartbeat_at,
        finished_at=state.finished_at,
        links=links,
    )


def _own(principal: Principal, state: jobs.JobState | None, job_id: str) -> jobs.JobState:
    if state is None or (
        principal.role != "admin"
        and (principal.user_id is None or state.created_by != principal.user_id)
    ):
        raise Problem(404, f"no job {job_id!r}", kind="not-found")
    return state


@router.get("", response_model=Page[JobPublic], summary="List your jobs (admins: all)")
def list_jobs(
    request: Request,
    principal: CanRead,
    paging: Paging,
    status: Annotated[Status | None, Query(description="only jobs in this state")] = None,
    kind: Annotated[str | None, Query(max_length=40, description="only jobs of this kind")] = None,
) -> Page[JobPublic]:
    if paging.sort not in (None, "-created_at"):
        raise Problem(
            422,
            f"cannot sort by {paging.sort!r}",
            kind="invalid-input",
            errors=[{"field": "sort", "message": "jobs are listed newest first (-created_at)"}],
        )
    states, total = jobs.list(
        request.app,
        principal=principal,
        status=status,
        kind=kind,
        limit=paging.limit,
        offset=paging.offset,
    )
    return Page[JobPublic](
        items=[public(s) for s in states], total=total, limit=paging.limit, offset=paging.offset
    )


@router.get("/{job_id}", response_model=JobPublic, summary="One job: status, progress, stage")
def get_job(job_id: JobId, request: Request, principal: CanRead) -> JobPublic:
    return public(_own(principal, jobs.get(request.app, job_id), job_id))


@router.post(
    "/{job_id}/cancel",
    response_model=JobPublic,
    summary="Cancel a job (a running one stops at its next stage)",
    responses={409: {"description": "the job has already succeeded or failed"}},
)
def cancel_job(job_id: JobId, request: Request, principal: CanCancel) -> JobPublic:
    _own(principal, jobs.get(request.app, job_id), job_id)
    state = jobs.cancel(request.app, job_id)
    assert state is not None  # it existed a moment ago; jobs are never deleted
    if state.status in ("succeeded", "failed"):
        raise Problem(409, f"the job has already {state.status}", kind="job-finished")
    return public(state)
