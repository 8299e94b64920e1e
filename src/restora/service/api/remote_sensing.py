"""Remote sensing over HTTP: ``/api/v1/monitoring/rs`` (docs/monitoring.md, "Remote sensing").

- ``POST /monitoring/rs/mines/{mine_id}/fvc`` (``monitoring.write``): upload an NDVI GeoTIFF
  (multipart field ``file``) with its acquisition date; the fractional vegetation cover of each
  site of the mine (the dimidiate pixel model, :mod:`restora.monitoring.fvc`) is computed and,
  unless ``save=false``, stored. The answer is the stored result.
- ``GET /monitoring/rs/mines/{mine_id}/results`` and ``GET /monitoring/rs/results/{id}``
  (``monitoring.read``): the stored results.
- ``GET /monitoring/rs/mines/{mine_id}/zone-cover?on=DATE`` (``monitoring.read``): the latest
  FVC of each zone and their area-weighted mean (:func:`restora.store.remote_sensing.zone_cover`).

Who sees a mine is the monitoring's rule (:func:`restora.service.api.monitoring.check_mine`):
another mine answers 404; a write outside one's region 403.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path as FsPath
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, Form, Path, Query, UploadFile
from pydantic import BaseModel, Field

from restora.service.api.imports import safe_name
from restora.service.api.monitoring import check_mine
from restora.service.changes import ChangeDep
from restora.service.db import StoreDep
from restora.service.problems import Problem
from restora.service.security import Principal, authorize

router = APIRouter(prefix="/monitoring/rs", tags=["monitoring"])
CanRead = Annotated[Principal, Depends(authorize("monitoring.read"))]
CanWrite = Annotated[Principal, Depends(authorize("monitoring.write"))]
MineId = Annotated[str, Path(max_length=64, description="the mine's id")]
#: Largest NDVI upload [byte].
MAX_RASTER_BYTES = 256 * 1024 * 1024


class ZoneCoverPublic(BaseModel):
    """The latest FVC of one zone (the fields of ``restora.store.remote_sensing.zone_cover``)."""

    zone_id: str
    name: str | None = None
    fvc_mean: float | None = Field(None, description="mean FVC of the valid pixels [0–1]")
    fvc_median: float | None = Field(None, description="[0–1]")
    valid_area_m2: float | None = Field(None, description="area of the valid pixels [m²]")
    area_m2: float | None = Field(None, description="area of all the zone's pixels [m²]")
    vegetated_area_m2: float | None = Field(None, description="FVC ≥ the high class [m²]")
    acquired_on: dt.date
    result_id: int
    file_name: str | None = None
    sha256: str


class MineCoverPublic(BaseModel):
    mine_id: str
    on: dt.date | None = None
    fvc_area_weighted_mean: float | None = Field(
        None, description="Σ fvc_mean × valid_area / Σ valid_area over the zones [0–1]"
    )
    zones: list[ZoneCoverPublic]


class RsResultPublic(BaseModel):
    """One stored remote-sensing result."""

    id: int
    mine_id: str
    kind: Literal["fvc", "water"]
    acquired_on: dt.date
    file_name: str | None = None
    sha256: str
    params: dict[str, Any] = Field(description="end-members and how chosen, scale, classes …")
    zones: list[dict[str, Any]] = Field(description="per-zone statistics (docs/monitoring.md)")
    created_at: dt.datetime
    created_by: str | None = None


@router.get("/mines/{mine_id}/results", response_model=list[RsResultPublic])
def list_results(
    mine_id: MineId,
    store: StoreDep,
    principal: CanRead,
    kind: Annotated[Literal["fvc", "water"] | None, Query()] = None,
) -> Any:
    """The mine's stored results, newest image first."""
    from restora.store import remote_sensing as rs

    check_mine(store, principal, mine_id, write=False)
    return rs.rs_results(store, mine_id, kind=kind)


@router.get("/results/{result_id}", response_model=RsResultPublic)
def get_result(
    result_id: Annotated[int, Path(ge=1, le=2**31 - 1)], store: StoreDep, principal: CanRead
) -> Any:
    """One stored result."""
    from restora.store import remote_sensing as rs

    found = rs.rs_result(store, result_id)
    if found is None:
        raise Problem(404, f"no result {result_id}", kind="not-found")
    check_mine(store, principal, found["mine_id"], write=False)
    return found


@router.get("/mines/{mine_id}/zone-cover", response_model=MineCoverPublic)
def mine_zone_cover(
    mine_id: MineId,
    store: StoreDep,
    principal: CanRead,
    on: Annotated[dt.date | None, Query(description="latest acquisition date counted")] = None,
) -> Any:
    """The latest FVC of each zone of the mine, and their area-weighted mean."""
    from restora.monitoring.fvc import area_weighted_mean
    from restora.store import remote_sensing as rs

    check_mine(store, principal, mine_id, write=False)
    covers = rs.zone_cover(store, mine_id, on)
    return {
        "mine_id": mine_id,
        "on": on,
        "fvc_area_weighted_mean": area_weighted_mean(covers),
        "zones": covers,
    }


def _save_upload(upload: UploadFile, folder: FsPath) -> FsPath:
    target = folder / safe_name(upload.filename, 0)
    total = 0
    with target.open("wb") as out:
        while chunk := upload.file.read(1 << 20):
            total += len(chunk)
            if total > MAX_RASTER_BYTES:
                raise Problem(
                    413,
                    f"the raster is larger than {MAX_RASTER_BYTES // (1024 * 1024)} MiB",
                    kind="too-large",
                    errors=[{"field": "file", "in": "body", "message": "too large"}],
                )
            out.write(chunk)
    return target


@router.post("/mines/{mine_id}/fvc", response_model=RsResultPublic)
def upload_fvc(
    mine_id: MineId,
    store: StoreDep,
    principal: CanWrite,
    change: ChangeDep,
    file: Annotated[UploadFile | None, File(description="NDVI GeoTIFF (projected CRS)")] = None,
    acquired_on: Annotated[
        dt.date | None, Form(description="acquisition date of the image (required)")
    ] = None,
    soil: Annotated[float | None, Form(description="NDVI of bare soil (with veg)")] = None,
    veg: Annotated[float | None, Form(description="NDVI of full vegetation (with soil)")] = None,
    scope: Annotated[Literal["scene", "zones"], Form()] = "scene",
    scale: Annotated[float, Form(description="NDVI = stored × scale + offset")] = 1.0,
    offset: Annotated[float, Form()] = 0.0,
    nodata: Annotated[float | None, Form(description="stored nodata value")] = None,
    save: Annotated[bool, Form(description="store the result (false: compute only)")] = True,
) -> Any:
    """FVC of each site of the mine from an NDVI raster; stored unless ``save=false``.

    Without ``soil``/``veg``, NDVI_soil and NDVI_veg are the 5 % and 95 % percentiles of the
    valid pixels of the scene (or of the sites with ``scope=zones``).
    """
    from restora.monitoring import fvc, raster_io
    from restora.store import remote_sensing as rs

    check_mine(store, principal, mine_id, write=True)
    # required, but checked after the scope (a caller out of scope learns nothing more)
    missing = [
        {"field": name, "in": "body", "message": "required"}
        for name, value in (("file", file), ("acquired_on", acquired_on))
        if value is None
    ]
    if file is None or acquired_on is None:
        raise Problem(
            422,
            "an NDVI file and its acquisition date are required",
            kind="invalid-input",
            errors=missing,
        )
    zones = raster_io.zones_from_wkb(rs.mine_zones(store, mine_id))
    with tempfile.TemporaryDirectory(prefix="restora-rs-") as tmp:
        path = _save_upload(file, FsPath(tmp))
        run = raster_io.fvc_zones(
            path,
            zones,
            scaling=raster_io.Scaling(scale, offset, nodata),
            soil=soil,
            veg=veg,
            scope=scope,
            scheme=fvc.class_scheme(acquired_on),
        )
        sha = raster_io.sha256_file(path)
    covers = [c.as_dict() for c in run.covers]
    if not save:
        now = dt.datetime.now(dt.UTC)
        return {
            "id": 0, "mine_id": mine_id, "kind": "fvc", "acquired_on": acquired_on,
            "file_name": path.name, "sha256": sha, "params": run.params, "zones": covers,
            "created_at": now, "created_by": principal.username,
        }  # fmt: skip
    return rs.save_result(
        store,
        mine_id=mine_id,
        kind="fvc",
        acquired_on=acquired_on,
        sha256=sha,
        params=run.params,
        zones=covers,
        file_name=path.name,
        created_by=principal.username,
        change=change,
    )
