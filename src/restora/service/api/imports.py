"""File import: ``POST /api/v1/imports`` with one or more register files, ``restora mines import``
over HTTP.

The files (GeoJSON, GeoPackage, a zipped Shapefile, CSV/TSV, XLSX, XLS; multipart field
``files``) are saved under a temporary folder with their own names and imported by the
command's own function (:func:`restora.store.importing.import_files`): ``mode=add`` adds new
records only, ``mode=upsert`` also updates the changed fields of stored ones, ``dry_run=true``
checks everything and says what would change without writing. The answer is the JSON of
``restora mines import --format json`` (``rejects_file`` is always null: the rejected records of
``skip_invalid=true`` are counted in ``rejected``). Bad files are 422 problem details naming the
file, row and column of every problem.

A caller with a region scope may only import records of mines in its region (403 naming them).
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Annotated, Any, Literal

import sqlalchemy as sa
from fastapi import APIRouter, Depends, File, Query, UploadFile
from pydantic import BaseModel, Field

from restora.errors import InputError
from restora.service import records
from restora.service.changes import ChangeDep
from restora.service.db import StoreDep
from restora.service.permissions import in_scope
from restora.service.problems import Problem
from restora.service.security import Principal, authorize
from restora.store.tables import mines as MINES

router = APIRouter(prefix="/imports", tags=["imports"])
CanImport = Annotated[Principal, Depends(authorize("register.import"))]

#: Largest upload of one request [byte] (all files together).
MAX_UPLOAD_BYTES = 512 * 1024 * 1024
_UNSAFE = re.compile(r"[^\w.\-()\u4e00-\u9fff ]+")


class Counts(BaseModel):
    mines: int = Field(description="[1]")
    sites: int = Field(description="[1]")
    samples: int = Field(description="[1]")
    hazards: int = Field(description="[1]")


class FileRead(BaseModel):
    path: str = Field(description="the file's name as uploaded")
    format: str = Field(description="geojson, gpkg, shapefile, csv, xlsx or xls")
    sha256: str = Field(description="SHA-256 of its bytes")
    encoding: str | None = Field(None, description="text encoding used (CSV, DBF)")


class Updated(BaseModel):
    table: str
    id: str
    changes: dict[str, list[Any]] = Field(description="each changed field: [old, new]")


class ImportResult(BaseModel):
    """What the import did (or, for a dry run, would do): the JSON of ``restora mines import
    --format json``."""

    counts: Counts = Field(description="records added per table (equals added)")
    rejected: int = Field(description="records rejected (skip_invalid) [1]")
    rejects_file: str | None = Field(None, description="always null over the API")
    repairs: list[str] = Field(description="polygons repaired (repair=true), with areas [hm²]")
    files: list[FileRead]
    ignored_columns: list[str] = Field(description="FILE: HEADER of the columns not used")
    warnings: list[dict[str, Any]] = Field(
        description="plausibility warnings (SOIL-PLAUSIBILITY-MAX …): never block an import"
    )
    mode: Literal["add", "upsert"]
    dry_run: bool
    added: Counts
    updated: list[Updated]
    unchanged: int = Field(description="records equal to the stored ones [1]")
    change_id: int | None = Field(
        None, description="the audit trail's change (null for a dry run or when nothing changed)"
    )


def safe_name(name: str | None, index: int) -> str:
    """An uploaded file's name safe to save (no folders, no control or shell characters)."""
    base = Path((name or "").replace("\\", "/")).name
    base = _UNSAFE.sub("_", base).strip(" .")
    return base[:120] or f"file-{index + 1}"


def _save(uploads: list[UploadFile], folder: Path) -> tuple[list[Path], list[str]]:
    """Write the uploads under ``folder`` (one subfolder each: names may repeat)."""
    paths, names, total = [], [], 0
    for i, up in enumerate(uploads):
        name = safe_name(up.filename, i)
        target = folder / str(i) / name
        target.parent.mkdir()
        with target.open("wb") as out:
            while chunk := up.file.read(1 << 20):
                total += len(chunk)
                if total > MAX_UPLOAD_BYTES:
                    raise Problem(
                        413,
                        f"the upload is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MiB",
                        kind="too-large",
                        errors=[{"field": "files", "in": "body", "message": "too large"}],
                    )
                out.write(chunk)
        paths.append(target)
        names.append(name)
    return paths, names


def _scope_check(store: Any, principal: Principal) -> Any:
    """A check that every mine the files touch lies in the principal's region (403 if not)."""

    def check(register: Any) -> None:
        if principal.role == "admin" or not principal.region:
            return
        ids = set()
        for name in ("mines", "sites", "samples", "hazards"):
            frame = getattr(register, name)
            if len(frame):
                ids |= {str(m) for m in frame["mine_id"].dropna()}
        regions: dict[str, set[str]] = {m: set() for m in ids}
        for m, r in zip(register.mines["mine_id"], register.mines["region_code"], strict=True):
            regions.setdefault(str(m), set()).add(str(r))
        with records.read_connection(store.engine) as conn:
            for m, r in conn.execute(
                sa.select(MINES.c.mine_id, MINES.c.region_code).where(MINES.c.mine_id.in_(ids))
            ):
                regions[str(m)].add(str(r))
        outside = sorted(
            m for m, rs in regions.items() if any(not in_scope(principal.region, r) for r in rs)
        )
        if outside:
            shown = ", ".join(outside[:10]) + (
                f", … {len(outside) - 10} more" if len(outside) > 10 else ""
            )
            raise Problem(
                403,
                f"the files hold mines outside your region {principal.region}: {shown}",
                kind="out-of-scope",
                errors=[
                    {
                        "field": "files",
                        "in": "body",
                        "message": f"mines outside {principal.region}: {shown}",
                    }
                ],
            )

    return check


@router.post(
    "",
    response_model=ImportResult,
    summary="Import register files (restora mines import): add, upsert or dry run",
    responses={
        403: {"description": "a mine of the files lies outside the caller's region"},
        413: {"description": "the upload is too large"},
    },
)
def import_files(
    store: StoreDep,
    principal: CanImport,
    change: ChangeDep,
    files: Annotated[
        list[UploadFile],
        File(description="register files: GeoJSON, GPKG, zipped Shapefile, CSV/TSV, XLSX, XLS"),
    ],
    mode: Annotated[
        Literal["add", "upsert"],
        Query(description="add: new records only; upsert: also update changed fields"),
    ] = "add",
    dry_run: Annotated[
        bool, Query(description="check and say what would change; write nothing")
    ] = False,
    repair: Annotated[bool, Query(description="fix invalid polygons (make_valid)")] = False,
    skip_invalid: Annotated[
        bool, Query(description="import the good records; count the bad ones in rejected")
    ] = False,
    crs: Annotated[
        str | None, Query(max_length=200, description="CRS of the coordinates, e.g. EPSG:4547")
    ] = None,
    encoding: Annotated[
        str | None,
        Query(max_length=40, description="text encoding of CSV / DBF (default: detected)"),
    ] = None,
    lonlat_wgs84: Annotated[
        bool, Query(description="lon/lat (经度/纬度) columns are WGS 84 degrees")
    ] = False,
    area_unit: Annotated[
        str | None,
        Query(max_length=20, description="unit of an area column that names none: mu, hm2, m2"),
    ] = None,
    area_tolerance: Annotated[
        float | None,
        Query(
            ge=0,
            le=1000,
            description="accepted relative difference of declared and polygon areas [1] "
            "(default: inventory/declared-area-tolerance)",
        ),
    ] = None,
) -> Any:
    from restora.store.importing import ImportOptions
    from restora.store.importing import import_files as run_import

    if not files:
        raise Problem(
            422,
            "no file uploaded",
            kind="invalid-input",
            errors=[{"field": "files", "in": "body", "message": "required"}],
        )
    options = ImportOptions(
        mode=mode,
        dry_run=dry_run,
        repair=repair,
        skip_invalid=skip_invalid,
        crs=crs,
        encoding=encoding,
        lonlat_wgs84=lonlat_wgs84,
        area_unit=area_unit,
        area_tolerance=area_tolerance,
    )
    with tempfile.TemporaryDirectory(prefix="restora-upload-") as tmp:
        paths, names = _save(files, Path(tmp))
        try:
            outcome = run_import(
                store,
                paths,
                options,
                change,
                names=names,
                before_write=_scope_check(store, principal),
            )
        except InputError as exc:
            raise file_problem(exc) from exc
    return records.jsonable(outcome.to_json())


def file_problem(exc: InputError) -> Problem:
    """The problems of uploaded files: one entry per problem with its file, row and column."""
    errors = []
    for p in exc.problems:
        item: dict[str, Any] = {"field": p.field, "in": "body", "message": p.message}
        if p.file:
            item["file"] = p.file
        if p.row is not None:
            item["row"] = p.row
        errors.append(item)
    return Problem(422, str(exc.problems[0]), kind="invalid-input", errors=errors)
