"""What the public sees: a bureau discloses a mine or project of its region with the field
groups it makes public, changes them, or withdraws the disclosure (``disclosure.publish``).

The groups are those of :data:`restora.store.disclosure.MINE_GROUPS` and
:data:`~restora.store.disclosure.PROJECT_GROUPS` (restora.service.api.public lists the fields
of each). Every act is kept: changing the groups withdraws the live disclosure and adds a new
one; each is audited.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Query, Request
from fastapi import Path as PathParam
from pydantic import BaseModel, ConfigDict, Field

from restora.service.db import EngineDep
from restora.service.pagination import Page, Paging
from restora.service.permissions import in_scope
from restora.service.problems import Problem
from restora.service.security import Principal, authorize, check_region
from restora.store import disclosure as D
from restora.store.audit import Change

router = APIRouter(prefix="/disclosures", tags=["disclosures"])
CanPublish = Annotated[Principal, Depends(authorize("disclosure.publish"))]


class DisclosureCreate(BaseModel):
    """Disclose a mine or project; ``fields`` the groups made public (default: all)."""

    model_config = ConfigDict(extra="forbid")

    subject: Literal["mine", "project"]
    subject_id: str = Field(min_length=1, max_length=64)
    fields: list[str] | None = Field(
        None,
        max_length=16,
        description="mine: "
        + ", ".join(D.MINE_GROUPS)
        + "; project: "
        + ", ".join(D.PROJECT_GROUPS),
    )


class DisclosurePublic(BaseModel):
    id: int
    subject: str
    subject_id: str
    region_code: str | None = None
    fields: list[str]
    disclosed_by: int | None = None
    disclosed_at: dt.datetime
    withdrawn_at: dt.datetime | None = None
    withdrawn_by: int | None = None


def _region(conn: sa.Connection, subject: str, subject_id: str) -> str | None:
    try:
        return D.subject_region(conn, subject, subject_id)
    except LookupError:
        return None


@router.get("", response_model=Page[DisclosurePublic], summary="Disclosures of your region")
def list_disclosures(
    engine: EngineDep,
    principal: CanPublish,
    paging: Paging,
    subject: Annotated[Literal["mine", "project"] | None, Query()] = None,
    include_withdrawn: bool = False,
) -> Page[DisclosurePublic]:
    with engine.connect() as conn:
        conn.execution_options(restora_read_only=True)
        rows = D.list_disclosures(conn, subject, include_withdrawn=include_withdrawn)
        for r in rows:
            r["region_code"] = _region(conn, r["subject"], r["subject_id"])
    if principal.role != "admin":
        rows = [r for r in rows if in_scope(principal.region, r["region_code"])]
    page = rows[paging.offset : paging.offset + paging.limit]
    return Page[DisclosurePublic](
        items=[DisclosurePublic.model_validate(r) for r in page],
        total=len(rows),
        limit=paging.limit,
        offset=paging.offset,
    )


def _change(request: Request, principal: Principal, command: str, options: dict) -> Change:  # type: ignore[type-arg]
    return Change(
        command=command,
        user=principal.username or principal.role,
        user_id=principal.user_id,
        request_id=getattr(request.state, "request_id", None),
        options=options | {"action": "disclosure.publish", "role": principal.role},
    )


@router.post(
    "", response_model=DisclosurePublic, status_code=201, summary="Disclose a mine or project"
)
def create_disclosure(
    body: DisclosureCreate, request: Request, engine: EngineDep, principal: CanPublish
) -> DisclosurePublic:
    with engine.connect() as conn:
        conn.execution_options(restora_read_only=True)
        try:
            region = D.subject_region(conn, body.subject, body.subject_id)
        except LookupError as exc:
            raise Problem(
                422,
                str(exc),
                kind="invalid-input",
                errors=[{"field": "subject_id", "message": str(exc)}],
            ) from None
    check_region(principal, region, write=True)
    out = D.disclose(
        engine,
        body.subject,
        body.subject_id,
        body.fields,
        user_id=principal.user_id,
        change=_change(
            request,
            principal,
            "POST /api/v1/disclosures",
            {"subject": body.subject, "subject_id": body.subject_id, "fields": body.fields},
        ),
    )
    return DisclosurePublic.model_validate(out)


@router.post(
    "/{disclosure_id}/withdraw", response_model=DisclosurePublic, summary="Withdraw a disclosure"
)
def withdraw_disclosure(
    disclosure_id: Annotated[int, PathParam(ge=1, le=2**31 - 1)],
    request: Request,
    engine: EngineDep,
    principal: CanPublish,
) -> DisclosurePublic:
    with engine.connect() as conn:
        conn.execution_options(restora_read_only=True)
        d = D.get_disclosure(conn, disclosure_id)
        region = _region(conn, d["subject"], d["subject_id"]) if d else None
    if d is None:
        raise Problem(404, f"no disclosure {disclosure_id}", kind="not-found")
    check_region(principal, region, write=False)
    check_region(principal, region, write=True)
    if d["withdrawn_at"] is not None:
        raise Problem(409, f"disclosure {disclosure_id} is withdrawn already", kind="conflict")
    out = D.withdraw(
        engine,
        disclosure_id,
        user_id=principal.user_id,
        change=_change(
            request,
            principal,
            "POST /api/v1/disclosures/{disclosure_id}/withdraw",
            {"disclosure_id": disclosure_id},
        ),
    )
    return DisclosurePublic.model_validate(out | {"region_code": region})
