"""Sites of the register (the damaged land of a mine: open pits, dumps, tailings ponds …).

A site is a polygon (GeoJSON, lon/lat WGS 84) whose area [hm²] the store computes in the China
Albers equal-area projection (:func:`restora.inventory.geometry.equal_area_hm2`), or — a site
without boundary, as a point register gives it — a centre point (``lon``, ``lat``) with its
declared area. A declared area given with a polygon is checked against the polygon's area
(tolerance ``inventory/declared-area-tolerance``), as the import checks it. Writes go through
the register import's checks (:mod:`restora.service.records`).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import shapely
from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from restora.inventory.schema import SITE_COLUMNS
from restora.service import records
from restora.service.api.mines import ID_PATTERN, describe
from restora.service.changes import ChangeDep
from restora.service.db import EngineDep, StoreDep
from restora.service.pagination import Page, Paging, sort_key
from restora.service.problems import Problem
from restora.service.security import Principal, authorize
from restora.store.tables import sites as SITES

router = APIRouter(prefix="/sites", tags=["sites"])
CanRead = Annotated[Principal, Depends(authorize("register.read"))]
CanWrite = Annotated[Principal, Depends(authorize("register.write"))]
SiteId = Annotated[str, Path(max_length=64, description="the site's id")]

_DOC = {c.name: describe(c) for c in SITE_COLUMNS}
TABLE = "sites"


class Geometry(BaseModel):
    """A GeoJSON polygon in lon/lat (WGS 84, EPSG:4326) [degree] (a site without boundary
    gives its centre point as ``lon``, ``lat`` instead)."""

    type: Literal["Polygon", "MultiPolygon"]
    coordinates: list[Any] = Field(description="GeoJSON coordinates, lon/lat [degree]")


class SiteCreate(BaseModel):
    """A new site: a polygon, or a centre point with its declared area (no boundary)."""

    model_config = ConfigDict(extra="forbid")

    site_id: str = Field(
        min_length=1, max_length=64, pattern=ID_PATTERN, description=_DOC["site_id"]
    )
    mine_id: str = Field(min_length=1, max_length=64, description=_DOC["mine_id"])
    kind: str = Field(max_length=40, description=_DOC["kind"], examples=["open_pit"])
    geometry: Geometry | None = Field(
        None, description="the site's polygon (Polygon or MultiPolygon), lon/lat WGS 84"
    )
    lon: float | None = Field(
        None, description="centre point of a site without boundary, longitude [degree]"
    )
    lat: float | None = Field(
        None, description="centre point of a site without boundary, latitude [degree]"
    )
    declared_area_hm2: float | None = Field(None, description=_DOC["declared_area_hm2"])
    slope_deg: float | None = Field(None, description=_DOC["slope_deg"] + "; 0–90")
    water: bool | None = Field(None, description=_DOC["water"])
    water_depth_m: float | None = Field(None, description=_DOC["water_depth_m"])
    soil_thickness_m: float | None = Field(None, description=_DOC["soil_thickness_m"])


class SiteUpdate(BaseModel):
    """Fields of a site to change (``null`` clears an optional field)."""

    model_config = ConfigDict(extra="forbid")

    mine_id: str | None = Field(None, min_length=1, max_length=64, description=_DOC["mine_id"])
    kind: str | None = Field(None, max_length=40, description=_DOC["kind"])
    geometry: Geometry | None = Field(None, description="the site's polygon, lon/lat WGS 84")
    lon: float | None = Field(None, description="centre point (no boundary), longitude [degree]")
    lat: float | None = Field(None, description="centre point (no boundary), latitude [degree]")
    declared_area_hm2: float | None = Field(None, description=_DOC["declared_area_hm2"])
    slope_deg: float | None = Field(None, description=_DOC["slope_deg"])
    water: bool | None = Field(None, description=_DOC["water"])
    water_depth_m: float | None = Field(None, description=_DOC["water_depth_m"])
    soil_thickness_m: float | None = Field(None, description=_DOC["soil_thickness_m"])


class SitePublic(BaseModel):
    """A site as the API shows it."""

    site_id: str
    mine_id: str
    region_code: str = Field(description="its mine's 6-digit GB/T 2260 code")
    kind: str = Field(description=_DOC["kind"])
    declared_area_hm2: float | None = Field(None, description=_DOC["declared_area_hm2"])
    slope_deg: float | None = Field(None, description=_DOC["slope_deg"])
    water: bool | None = Field(None, description=_DOC["water"])
    water_depth_m: float | None = Field(None, description=_DOC["water_depth_m"])
    soil_thickness_m: float | None = Field(None, description=_DOC["soil_thickness_m"])
    area_hm2: float | None = Field(
        None,
        description="the polygon's area in the China Albers equal-area projection, or the "
        "declared one for a site without boundary [hm²]",
    )
    area_mu: float | None = Field(None, description="the same in 亩 [mu] (1 hm² = 15 亩)")
    area_source: Literal["geometry", "declared"] | None = Field(
        None, description="geometry: the polygon's area; declared: the source's (no boundary)"
    )
    geometry: dict[str, Any] | None = Field(
        None, description="GeoJSON geometry, lon/lat WGS 84 (a Point: no boundary)"
    )


SORTABLE = ("site_id", "mine_id", "kind", "area_hm2", "slope_deg", "declared_area_hm2")


def public(row: dict[str, Any]) -> SitePublic:
    """A stored site (register columns and its mine's region) as the API shows it."""
    out = {k: records.jsonable(v) for k, v in row.items() if k != "geometry"}
    out.update(
        records.site_area_fields(
            row.get("area_hm2"), row.get("geometry"), row.get("declared_area_hm2")
        )
    )
    out["geometry"] = records.geojson(row.get("geometry"))
    return SitePublic.model_validate(out)


def columns(body: BaseModel) -> dict[str, Any]:
    """The request's fields as register columns (the GeoJSON geometry as a shapely one)."""
    given = body.model_dump(exclude_unset=True)
    if "geometry" in given and given["geometry"] is not None:
        try:
            given["geometry"] = shapely.geometry.shape(given["geometry"])
        except Exception as exc:  # shapely's GEOSException, ValueError, TypeError, IndexError
            from restora.inventory.parse import geos_reason

            raise Problem(
                422,
                f"geometry: not a valid GeoJSON geometry ({geos_reason(exc)})",
                kind="invalid-input",
                errors=[{"field": "geometry", "in": "body", "message": geos_reason(exc)}],
            ) from exc
    return given


@router.get("", response_model=Page[SitePublic], summary="List the sites of the register")
def list_sites(
    engine: EngineDep,
    principal: CanRead,
    paging: Paging,
    mine_id: Annotated[str | None, Query(max_length=64, description="sites of this mine")] = None,
    region: Annotated[
        str | None, Query(pattern=r"^\d{2,6}$", description="region code or its prefix")
    ] = None,
    kind: Annotated[str | None, Query(max_length=40, description=_DOC["kind"])] = None,
) -> Page[SitePublic]:
    where = []
    if mine_id is not None:
        where.append(SITES.c.mine_id == mine_id)
    if kind is not None:
        where.append(SITES.c.kind == kind)
    rows, total = records.list_records(
        engine,
        principal,
        TABLE,
        where=where,
        region=region,
        sort=sort_key(paging.sort, SORTABLE, "site_id"),
        limit=paging.limit,
        offset=paging.offset,
    )
    return Page[SitePublic](
        items=[public(r) for r in rows], total=total, limit=paging.limit, offset=paging.offset
    )


@router.get("/{site_id}", response_model=SitePublic, summary="One site")
def get_site(site_id: SiteId, engine: EngineDep, principal: CanRead) -> SitePublic:
    return public(records.get_record(engine, principal, TABLE, site_id))


@router.post(
    "",
    response_model=SitePublic,
    status_code=201,
    summary="Add a site (checked as an import's sites table)",
    responses={409: {"description": "a site with this id is already in the store"}},
)
def create_site(
    request: Request,
    response: Response,
    body: SiteCreate,
    store: StoreDep,
    principal: CanWrite,
    change: ChangeDep,
) -> SitePublic:
    site_id = records.create_record(store, principal, TABLE, columns(body), change)
    response.headers["Location"] = records.located(request, site_id)
    return public(records.get_record(store.engine, principal, TABLE, site_id))


@router.patch("/{site_id}", response_model=SitePublic, summary="Change fields of a site")
def update_site(
    site_id: SiteId, body: SiteUpdate, store: StoreDep, principal: CanWrite, change: ChangeDep
) -> SitePublic:
    records.update_record(store, principal, TABLE, site_id, columns(body), change)
    return public(records.get_record(store.engine, principal, TABLE, site_id))


@router.delete(
    "/{site_id}", response_model=records.RecordDeleted, summary="Delete a site (soft delete)"
)
def delete_site(
    site_id: SiteId,
    store: StoreDep,
    principal: CanWrite,
    change: ChangeDep,
    reason: records.Reason,
    cascade: records.Cascade = False,
) -> records.RecordDeleted:
    result = records.delete_record(
        store, principal, TABLE, site_id, change, reason=reason, cascade=cascade
    )
    return records.RecordDeleted.model_validate(result)


@router.post(
    "/{site_id}/restore", response_model=records.RecordRestored, summary="Bring back a site"
)
def restore_site(
    site_id: SiteId, store: StoreDep, principal: CanWrite, change: ChangeDep
) -> records.RecordRestored:
    result = records.restore_record(store, principal, TABLE, site_id, change)
    return records.RecordRestored.model_validate(result)
