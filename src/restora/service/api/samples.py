"""Soil samples of the register: point, depth, pH, land use and metals [mg/kg].

A metal's result is a number [mg/kg] or what the lab wrote for a result below detection:
``"<0.05"`` (the stated detection limit) or ``"ND"`` (none stated). As in an import
(:mod:`restora.inventory.censored`), such a result is stored as a number by the non-detect rule
(``soil/indices/non-detect``), the stated limit as a number beside it
(``detection_limits_mg_per_kg``) and the lab's text in ``qualifiers`` (``"Cd=<0.05"``); a limit
above the screening value leaves the sample's class open (``GET /mines/{id}/diagnosis``).
An update of a metal replaces its value and what the lab wrote for it.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from restora.inventory.model import DETECTION_LIMIT_COLUMNS
from restora.inventory.schema import METALS, SAMPLE_COLUMNS
from restora.service import records
from restora.service.api.mines import ID_PATTERN, describe
from restora.service.changes import ChangeDep
from restora.service.db import EngineDep, StoreDep
from restora.service.pagination import Page, Paging, sort_key
from restora.service.security import Principal, authorize
from restora.store.tables import samples as SAMPLES

router = APIRouter(prefix="/samples", tags=["samples"])
CanRead = Annotated[Principal, Depends(authorize("pollution.read"))]
CanWrite = Annotated[Principal, Depends(authorize("pollution.write"))]
SampleId = Annotated[str, Path(max_length=64, description="the sample's id")]

_DOC = {c.name: describe(c) for c in SAMPLE_COLUMNS}
_DOC.update(
    sample_id="stable sample id",
    lon="longitude, WGS 84 [degree]",
    lat="latitude, WGS 84 [degree]",
    depth_m="sampling depth [m]",
    ph="soil pH [pH units], 0–14",
    lab="the laboratory",
    sampled_on="date sampled (YYYY-MM-DD, or as written: 2024年9月10日, 2024/9/10)",
)
TABLE = "samples"
Metal = Literal["Cd", "Hg", "As", "Pb", "Cr", "Cu", "Ni", "Zn"]
assert set(Metal.__args__) == set(METALS)  # type: ignore[attr-defined]
MetalResults = dict[Metal, float | str | None]
METALS_DOC = (
    "results per metal (Cd, Hg, As, Pb, Cr, Cu, Ni, Zn) [mg/kg]: a number, or the lab's text for "
    'a result below detection ("<0.05": the stated limit; "ND": none stated)'
)


class SampleCreate(BaseModel):
    """A new soil sample (checked as a row of an import's samples table)."""

    model_config = ConfigDict(extra="forbid")

    sample_id: str = Field(
        min_length=1, max_length=64, pattern=ID_PATTERN, description=_DOC["sample_id"]
    )
    mine_id: str = Field(min_length=1, max_length=64, description="the mine sampled")
    site_id: str | None = Field(None, max_length=64, description="the site sampled (optional)")
    lon: float | None = Field(None, description=_DOC["lon"])
    lat: float | None = Field(None, description=_DOC["lat"])
    depth_m: float | None = Field(None, description=_DOC["depth_m"])
    ph: float = Field(description=_DOC["ph"])
    land_use: str = Field(max_length=40, description=_DOC["land_use"], examples=["paddy"])
    lab: str | None = Field(None, max_length=200, description=_DOC["lab"])
    sampled_on: str | None = Field(None, max_length=40, description=_DOC["sampled_on"])
    qualifiers: str | None = Field(None, max_length=500, description=_DOC["qualifiers"])
    metals_mg_per_kg: MetalResults = Field(default_factory=dict, description=METALS_DOC)


class SampleUpdate(BaseModel):
    """Fields of a sample to change; ``metals_mg_per_kg`` changes only the metals it names."""

    model_config = ConfigDict(extra="forbid")

    mine_id: str | None = Field(None, min_length=1, max_length=64, description="the mine")
    site_id: str | None = Field(None, max_length=64, description="the site (null: none)")
    lon: float | None = Field(None, description=_DOC["lon"])
    lat: float | None = Field(None, description=_DOC["lat"])
    depth_m: float | None = Field(None, description=_DOC["depth_m"])
    ph: float | None = Field(None, description=_DOC["ph"])
    land_use: str | None = Field(None, max_length=40, description=_DOC["land_use"])
    lab: str | None = Field(None, max_length=200, description=_DOC["lab"])
    sampled_on: str | None = Field(None, max_length=40, description=_DOC["sampled_on"])
    qualifiers: str | None = Field(None, max_length=500, description=_DOC["qualifiers"])
    metals_mg_per_kg: MetalResults | None = Field(None, description=METALS_DOC)


class SamplePublic(BaseModel):
    """A soil sample as the API shows it."""

    sample_id: str
    mine_id: str
    region_code: str = Field(description="its mine's 6-digit GB/T 2260 code")
    site_id: str | None = None
    lon: float | None = Field(None, description=_DOC["lon"])
    lat: float | None = Field(None, description=_DOC["lat"])
    depth_m: float | None = Field(None, description=_DOC["depth_m"])
    ph: float = Field(description=_DOC["ph"])
    land_use: str = Field(description=_DOC["land_use"])
    lab: str | None = None
    sampled_on: str | None = Field(None, description="date sampled (ISO 8601)")
    qualifiers: str | None = Field(None, description=_DOC["qualifiers"])
    metals_mg_per_kg: dict[str, float | None] = Field(
        description="result per metal [mg/kg] (a result below detection: its substitute)"
    )
    detection_limits_mg_per_kg: dict[str, float | None] = Field(
        description="stated detection limit of each '<x' result [mg/kg] (null: measured, or "
        "none stated)"
    )


SORTABLE = ("sample_id", "mine_id", "site_id", "ph", "depth_m", "sampled_on", "land_use")


def public(row: dict[str, Any]) -> SamplePublic:
    """A stored sample (register columns and its mine's region) as the API shows it."""
    out = {
        k: records.jsonable(v)
        for k, v in row.items()
        if k not in METALS and k not in DETECTION_LIMIT_COLUMNS.values()
    }
    out["metals_mg_per_kg"] = {m: records.jsonable(row.get(m)) for m in METALS}
    out["detection_limits_mg_per_kg"] = {
        m: records.jsonable(row.get(c)) for m, c in DETECTION_LIMIT_COLUMNS.items()
    }
    return SamplePublic.model_validate(out)


def columns(body: BaseModel) -> dict[str, Any]:
    """The request's fields as register columns (one per metal)."""
    given = body.model_dump(exclude_unset=True)
    metals = given.pop("metals_mg_per_kg", None) or {}
    return {**given, **{m: metals[m] for m in METALS if m in metals}}


@router.get("", response_model=Page[SamplePublic], summary="List the soil samples")
def list_samples(
    engine: EngineDep,
    principal: CanRead,
    paging: Paging,
    mine_id: Annotated[str | None, Query(max_length=64, description="samples of this mine")] = None,
    site_id: Annotated[str | None, Query(max_length=64, description="samples of this site")] = None,
    region: Annotated[
        str | None, Query(pattern=r"^\d{2,6}$", description="region code or its prefix")
    ] = None,
    land_use: Annotated[str | None, Query(max_length=40, description=_DOC["land_use"])] = None,
) -> Page[SamplePublic]:
    where = []
    if mine_id is not None:
        where.append(SAMPLES.c.mine_id == mine_id)
    if site_id is not None:
        where.append(SAMPLES.c.site_id == site_id)
    if land_use is not None:
        where.append(SAMPLES.c.land_use == land_use)
    rows, total = records.list_records(
        engine,
        principal,
        TABLE,
        where=where,
        region=region,
        sort=sort_key(paging.sort, SORTABLE, "sample_id"),
        limit=paging.limit,
        offset=paging.offset,
    )
    return Page[SamplePublic](
        items=[public(r) for r in rows], total=total, limit=paging.limit, offset=paging.offset
    )


@router.get("/{sample_id}", response_model=SamplePublic, summary="One soil sample")
def get_sample(sample_id: SampleId, engine: EngineDep, principal: CanRead) -> SamplePublic:
    return public(records.get_record(engine, principal, TABLE, sample_id))


@router.post(
    "",
    response_model=SamplePublic,
    status_code=201,
    summary="Add a soil sample (checked as an import's samples table)",
    responses={409: {"description": "a sample with this id is already in the store"}},
)
def create_sample(
    request: Request,
    response: Response,
    body: SampleCreate,
    store: StoreDep,
    principal: CanWrite,
    change: ChangeDep,
) -> SamplePublic:
    sample_id = records.create_record(store, principal, TABLE, columns(body), change)
    response.headers["Location"] = records.located(request, sample_id)
    return public(records.get_record(store.engine, principal, TABLE, sample_id))


@router.patch("/{sample_id}", response_model=SamplePublic, summary="Change fields of a sample")
def update_sample(
    sample_id: SampleId,
    body: SampleUpdate,
    store: StoreDep,
    principal: CanWrite,
    change: ChangeDep,
) -> SamplePublic:
    records.update_record(store, principal, TABLE, sample_id, columns(body), change)
    return public(records.get_record(store.engine, principal, TABLE, sample_id))


@router.delete(
    "/{sample_id}", response_model=records.RecordDeleted, summary="Delete a sample (soft delete)"
)
def delete_sample(
    sample_id: SampleId,
    store: StoreDep,
    principal: CanWrite,
    change: ChangeDep,
    reason: records.Reason,
) -> records.RecordDeleted:
    result = records.delete_record(
        store, principal, TABLE, sample_id, change, reason=reason, cascade=False
    )
    return records.RecordDeleted.model_validate(result)


@router.post(
    "/{sample_id}/restore", response_model=records.RecordRestored, summary="Bring back a sample"
)
def restore_sample(
    sample_id: SampleId, store: StoreDep, principal: CanWrite, change: ChangeDep
) -> records.RecordRestored:
    result = records.restore_record(store, principal, TABLE, sample_id, change)
    return records.RecordRestored.model_validate(result)
