"""Organisations: the bureaus, banks, companies, evaluators and village collectives accounts
belong to (admins: ``users.read`` to list, ``users.manage`` to add). An enterprise's projects
are those its organisation owns (:func:`restora.service.permissions.project_visible`)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from restora.service.changes import ChangeDep
from restora.service.db import EngineDep
from restora.service.problems import Problem
from restora.service.security import Principal, authorize
from restora.store import accounts

router = APIRouter(prefix="/organisations", tags=["users"])
CanRead = Annotated[Principal, Depends(authorize("users.read"))]
CanManage = Annotated[Principal, Depends(authorize("users.manage"))]


class OrganisationPublic(BaseModel):
    id: int
    name: str
    kind: str
    region_code: str | None = None
    created_at: dt.datetime


class OrganisationCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "青山县自然资源局",
                    "kind": "natural_resources_bureau",
                    "region_code": "430599",
                }
            ]
        },
    )

    name: str = Field(min_length=1, max_length=200)
    kind: str = Field(description=f"one of {', '.join(accounts.ORG_KINDS)}")
    region_code: str | None = Field(None, pattern=r"^\d{6}$", description="6-digit GB/T 2260 code")


@router.get("", response_model=list[OrganisationPublic], summary="List the organisations")
def list_organisations(engine: EngineDep, principal: CanRead) -> list[OrganisationPublic]:
    return [OrganisationPublic.model_validate(o) for o in accounts.list_organisations(engine)]


@router.post("", response_model=OrganisationPublic, status_code=201, summary="Add an organisation")
async def create_organisation(
    body: OrganisationCreate, engine: EngineDep, principal: CanManage, change: ChangeDep
) -> OrganisationPublic:
    made = await run_in_threadpool(
        lambda: accounts.create_organisation(
            engine, body.name, body.kind, body.region_code, change=change
        )
    )
    return OrganisationPublic.model_validate(made)


@router.get("/{org_id}", response_model=OrganisationPublic, summary="One organisation")
def read_organisation(
    org_id: Annotated[int, Path(ge=1, le=2**31 - 1)], engine: EngineDep, principal: CanRead
) -> OrganisationPublic:
    found = accounts.organisation(engine, org_id=org_id)
    if found is None:
        raise Problem(404, f"no organisation {org_id}", kind="not-found")
    return OrganisationPublic.model_validate(found)
