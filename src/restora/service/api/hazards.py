"""Geohazards of the register: collapses, landslides, debris flows, subsidence, ground fissures,
with their scale [m³] and what they threaten (people, property [CNY], distance to buildings [m]).

Their danger grades (DZ/T 0286-2015) are part of a mine's diagnosis
(``GET /api/v1/mines/{id}/diagnosis``). Writes go through the register import's checks
(:mod:`restora.service.records`).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from restora.inventory.schema import HAZARD_COLUMNS
from restora.service import records
from restora.service.api.mines import ID_PATTERN, describe
from restora.service.changes import ChangeDep
from restora.service.db import EngineDep, StoreDep
from restora.service.pagination import Page, Paging, sort_key
from restora.service.security import Principal, authorize
from restora.store.tables import hazards as HAZARDS

router = APIRouter(prefix="/hazards", tags=["hazards"])
CanRead = Annotated[Principal, Depends(authorize("register.read"))]
CanWrite = Annotated[Principal, Depends(authorize("register.write"))]
HazardId = Annotated[str, Path(max_length=64, description="the hazard's id")]

_DOC = {c.name: describe(c) for c in HAZARD_COLUMNS}
_DOC.update(
    hazard_id="stable hazard id",
    volume_m3="scale (volume) [m³]",
    people_threatened="people threatened [person]",
    property_threatened_cny="property threatened [CNY]",
    distance_to_buildings_m="distance to the nearest buildings [m]",
    lon="longitude, WGS 84 [degree]",
    lat="latitude, WGS 84 [degree]",
)
TABLE = "hazards"


class HazardCreate(BaseModel):
    """A new geohazard (checked as a row of an import's hazards table)."""

    model_config = ConfigDict(extra="forbid")

    hazard_id: str = Field(
        min_length=1, max_length=64, pattern=ID_PATTERN, description=_DOC["hazard_id"]
    )
    mine_id: str = Field(min_length=1, max_length=64, description="the mine")
    site_id: str | None = Field(None, max_length=64, description="the site (optional)")
    kind: str = Field(max_length=40, description=_DOC["kind"], examples=["landslide"])
    volume_m3: float | None = Field(None, description=_DOC["volume_m3"])
    people_threatened: int | None = Field(None, description=_DOC["people_threatened"])
    property_threatened_cny: float | None = Field(None, description=_DOC["property_threatened_cny"])
    distance_to_buildings_m: float | None = Field(None, description=_DOC["distance_to_buildings_m"])
    lon: float | None = Field(None, description=_DOC["lon"])
    lat: float | None = Field(None, description=_DOC["lat"])


class HazardUpdate(BaseModel):
    """Fields of a hazard to change (``null`` clears an optional field)."""

    model_config = ConfigDict(extra="forbid")

    mine_id: str | None = Field(None, min_length=1, max_length=64, description="the mine")
    site_id: str | None = Field(None, max_length=64, description="the site (null: none)")
    kind: str | None = Field(None, max_length=40, description=_DOC["kind"])
    volume_m3: float | None = Field(None, description=_DOC["volume_m3"])
    people_threatened: int | None = Field(None, description=_DOC["people_threatened"])
    property_threatened_cny: float | None = Field(None, description=_DOC["property_threatened_cny"])
    distance_to_buildings_m: float | None = Field(None, description=_DOC["distance_to_buildings_m"])
    lon: float | None = Field(None, description=_DOC["lon"])
    lat: float | None = Field(None, description=_DOC["lat"])


class HazardPublic(BaseModel):
    """A geohazard as the API shows it."""

    hazard_id: str
    mine_id: str
    region_code: str = Field(description="its mine's 6-digit GB/T 2260 code")
    site_id: str | None = None
    kind: str = Field(description=_DOC["kind"])
    volume_m3: float | None = Field(None, description=_DOC["volume_m3"])
    people_threatened: int | None = Field(None, description=_DOC["people_threatened"])
    property_threatened_cny: float | None = Field(None, description=_DOC["property_threatened_cny"])
    distance_to_buildings_m: float | None = Field(None, description=_DOC["distance_to_buildings_m"])
    lon: float | None = Field(None, description=_DOC["lon"])
    lat: float | None = Field(None, description=_DOC["lat"])


SORTABLE = ("hazard_id", "mine_id", "kind", "volume_m3", "people_threatened")


def public(row: dict[str, Any]) -> HazardPublic:
    return HazardPublic.model_validate({k: records.jsonable(v) for k, v in row.items()})


def columns(body: BaseModel) -> dict[str, Any]:
    return body.model_dump(exclude_unset=True)


@router.get("", response_model=Page[HazardPublic], summary="List the geohazards")
def list_hazards(
    engine: EngineDep,
    principal: CanRead,
    paging: Paging,
    mine_id: Annotated[str | None, Query(max_length=64, description="hazards of this mine")] = None,
    site_id: Annotated[str | None, Query(max_length=64, description="hazards of this site")] = None,
    region: Annotated[
        str | None, Query(pattern=r"^\d{2,6}$", description="region code or its prefix")
    ] = None,
    kind: Annotated[str | None, Query(max_length=40, description=_DOC["kind"])] = None,
) -> Page[HazardPublic]:
    where = []
    if mine_id is not None:
        where.append(HAZARDS.c.mine_id == mine_id)
    if site_id is not None:
        where.append(HAZARDS.c.site_id == site_id)
    if kind is not None:
        where.append(HAZARDS.c.kind == kind)
    rows, total = records.list_records(
        engine,
        principal,
        TABLE,
        where=where,
        region=region,
        sort=sort_key(paging.sort, SORTABLE, "hazard_id"),
        limit=paging.limit,
        offset=paging.offset,
    )
    return Page[HazardPublic](
        items=[public(r) for r in rows], total=total, limit=paging.limit, offset=paging.offset
    )


@router.get("/{hazard_id}", response_model=HazardPublic, summary="One geohazard")
def get_hazard(hazard_id: HazardId, engine: EngineDep, principal: CanRead) -> HazardPublic:
    return public(records.get_record(engine, principal, TABLE, hazard_id))


@router.post(
    "",
    response_model=HazardPublic,
    status_code=201,
    summary="Add a geohazard (checked as an import's hazards table)",
    responses={409: {"description": "a hazard with this id is already in the store"}},
)
def create_hazard(
    request: Request,
    response: Response,
    body: HazardCreate,
    store: StoreDep,
    principal: CanWrite,
    change: ChangeDep,
) -> HazardPublic:
    hazard_id = records.create_record(store, principal, TABLE, columns(body), change)
    response.headers["Location"] = records.located(request, hazard_id)
    return public(records.get_record(store.engine, principal, TABLE, hazard_id))


@router.patch("/{hazard_id}", response_model=HazardPublic, summary="Change fields of a hazard")
def update_hazard(
    hazard_id: HazardId,
    body: HazardUpdate,
    store: StoreDep,
    principal: CanWrite,
    change: ChangeDep,
) -> HazardPublic:
    records.update_record(store, principal, TABLE, hazard_id, columns(body), change)
    return public(records.get_record(store.engine, principal, TABLE, hazard_id))


@router.delete(
    "/{hazard_id}", response_model=records.RecordDeleted, summary="Delete a hazard (soft delete)"
)
def delete_hazard(
    hazard_id: HazardId,
    store: StoreDep,
    principal: CanWrite,
    change: ChangeDep,
    reason: records.Reason,
) -> records.RecordDeleted:
    result = records.delete_record(
        store, principal, TABLE, hazard_id, change, reason=reason, cascade=False
    )
    return records.RecordDeleted.model_validate(result)


@router.post(
    "/{hazard_id}/restore", response_model=records.RecordRestored, summary="Bring back a hazard"
)
def restore_hazard(
    hazard_id: HazardId, store: StoreDep, principal: CanWrite, change: ChangeDep
) -> records.RecordRestored:
    result = records.restore_record(store, principal, TABLE, hazard_id, change)
    return records.RecordRestored.model_validate(result)
