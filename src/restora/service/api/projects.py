"""Projects and their appraisals: the project library, appraisal runs as background jobs,
the stored versions and their files.

- ``POST /projects``: a project file (``PROJECT.yaml`` of ``restora appraise``) as JSON, as a
  YAML or JSON body (``application/yaml``), or uploaded (multipart field ``file``); checked by
  :func:`restora.appraisal.io.parse_project` (the CLI's check: errors name the full field
  path, ``risk.drivers.0.low``) and every mine must be live in the register
  (:mod:`restora.store.projects`). ``GET``, ``PATCH`` (a new spec, whole, or the owner),
  ``DELETE`` (soft), ``POST …/publish`` and ``…/unpublish`` (finance sees published projects
  only).
- ``POST /projects/{id}/appraisals`` queues an appraisal (:func:`restora.service.jobs.submit`)
  and answers 202 with the job's URL (``Location``); ``GET /jobs/{id}`` follows it. The same
  inputs (spec, register rows, reference tables, date) never make a second version.
- ``GET /projects/{id}/appraisals``: the versions (``version``, ``inputs_sha256``,
  ``created_at``, ``job_id``, the files made); ``…/appraisals/{version}``: the appraisal JSON;
  ``…/appraisals/{version}/report.html``, ``report.pdf``, ``workbook.xlsx`` (``?lang=zh|en``)
  and ``…/files/{kind}``: the stored files with their media types and a safe file name.

Who sees and changes which project is the matrix's record rule
(:func:`restora.service.permissions.check_project`): finance the published ones, an enterprise
its organisation's, the bureaus their region's.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path as FilePath
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict, Field

from restora.errors import InputError
from restora.service import cache
from restora.service.changes import ChangeDep
from restora.service.db import StoreDep
from restora.service.pagination import Page, Paging, sort_key
from restora.service.permissions import check_project, region_prefix
from restora.service.problems import Problem
from restora.service.records import jsonable, noted
from restora.service.security import Principal, authorize

router = APIRouter(prefix="/projects", tags=["projects"])
CanRead = Annotated[Principal, Depends(authorize("project.read"))]
CanWrite = Annotated[Principal, Depends(authorize("project.write"))]
CanPublish = Annotated[Principal, Depends(authorize("project.publish"))]
CanRun = Annotated[Principal, Depends(authorize("appraisal.run"))]
CanReadAppraisal = Annotated[Principal, Depends(authorize("appraisal.read"))]
ProjectId = Annotated[str, Path(max_length=100, description="the project's id")]
Version = Annotated[int, Path(ge=1, le=1_000_000, description="appraisal version (1, 2, …)")]
Lang = Annotated[Literal["zh", "en"], Query(description="report language")]

#: Largest project file accepted [byte].
MAX_PROJECT_BYTES = 2 * 1024 * 1024
MEDIA = {
    "html": "text/html; charset=utf-8",
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "json": "application/json",
}
_FILE_NAMES = {"html": "report", "pdf": "report", "xlsx": "workbook", "json": "appraisal"}
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


class ProjectPublic(BaseModel):
    """A stored project: its file's content (``spec``) and who may see it."""

    project_id: str
    name: str
    name_en: str | None = None
    region_code: str | None = Field(None, description="6-digit GB/T 2260 code of its first mine")
    owner_org_id: int | None = Field(None, description="the organisation that owns it")
    published: bool = Field(description="finance (banks, investors) sees published projects")
    created_at: dt.datetime
    updated_at: dt.datetime
    spec: dict[str, Any] = Field(
        description="the project file as stored (restora.appraisal.project.ProjectSpec)"
    )


class ProjectUpdate(BaseModel):
    """What to change: the spec (whole, checked again; its ``project_id`` cannot change) or
    the owning organisation."""

    model_config = ConfigDict(extra="forbid")

    spec: dict[str, Any] | None = Field(None, description="the new project file content")
    owner_org_id: int | None = Field(None, ge=1, description="the owning organisation's id")


class AppraisalRequest(BaseModel):
    """How to appraise (all optional)."""

    model_config = ConfigDict(extra="forbid")

    lang: Literal["zh", "en"] = Field("zh", description="language of the report")
    pdf: bool = Field(True, description="also make the PDF report")
    on: dt.date | None = Field(
        None, description="date whose reference tables apply (default: today, fixed now)"
    )


class JobStarted(BaseModel):
    """An appraisal queued: follow the job at ``job_url``."""

    job_id: str
    job_url: str = Field(description="GET it for status, progress and stage")
    project_id: str


class AppraisalVersion(BaseModel):
    """One stored appraisal of a project (without its document)."""

    version: int
    inputs_sha256: str = Field(description="SHA-256 of everything it was made from")
    on_date: str = Field(description="date of the reference tables (ISO 8601)")
    created_at: dt.datetime
    job_id: str | None = None
    files: dict[str, Any] = Field(description="stored files: json, and per language html/pdf/xlsx")
    links: dict[str, str] = Field(description="API paths of the document and its files")


def _problem(exc: InputError, status: int = 422) -> Problem:
    """Problems of a project file: the full field path (``spec.`` of the store's check off)."""
    errors = []
    for p in exc.problems:
        field = p.field
        if field and field.startswith("spec."):
            field = field[len("spec.") :]
        elif field == "spec":
            field = None
        item: dict[str, Any] = {"field": field, "in": "body", "message": p.message}
        if p.row is not None:
            item["row"] = p.row
        errors.append(item)
    first = errors[0]
    detail = f"{first['field']}: {first['message']}" if first["field"] else first["message"]
    return Problem(status, detail, kind="invalid-input", errors=errors)


def _public(row: dict[str, Any]) -> ProjectPublic:
    return ProjectPublic.model_validate({k: row.get(k) for k in ProjectPublic.model_fields})


def _project(store: Any, principal: Principal, project_id: str, *, write: bool) -> dict[str, Any]:
    from restora.store import projects as repo

    row = repo.get_project(store, project_id)
    if row is None:
        raise Problem(404, f"no project {project_id!r}", kind="not-found")
    check_project(principal, row, write=write)
    return row


async def _project_document(request: Request) -> tuple[dict[str, Any], str]:
    """The project file of a request: a JSON body, a YAML/JSON body, or a multipart ``file``."""
    from restora.appraisal.io import parse_project, parse_project_bytes

    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "multipart/form-data":
        form = await request.form(max_files=1, max_fields=5)
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise Problem(
                422,
                "file: required (the project file, YAML or JSON)",
                kind="invalid-input",
                errors=[{"field": "file", "in": "body", "message": "required"}],
            )
        data = await upload.read(MAX_PROJECT_BYTES + 1)
        name = FilePath(str(upload.filename or "project.yaml")).name
    else:
        data = await request.body()
        name = "request body"
    if len(data) > MAX_PROJECT_BYTES:
        raise Problem(413, "the project file is larger than 2 MiB", kind="too-large")
    try:
        if kind == "application/json":
            try:
                doc = json.loads(data)
            except ValueError as exc:
                raise Problem(400, f"the body is not valid JSON: {exc}", kind="bad-json") from exc
            spec = parse_project(doc, name)
            return spec.model_dump(mode="json", exclude_unset=True), name
        spec, _ = parse_project_bytes(data, name)
    except InputError as exc:
        raise _problem(exc) from exc
    return spec.model_dump(mode="json", exclude_unset=True), name


_BODY = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {"type": "object", "description": "the project file's fields"}
        },
        "application/yaml": {"schema": {"type": "string", "description": "PROJECT.yaml"}},
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "properties": {"file": {"type": "string", "format": "binary"}},
                "required": ["file"],
            }
        },
    },
}


@router.post(
    "",
    response_model=ProjectPublic,
    status_code=201,
    summary="Add a project from its file (JSON, YAML or an uploaded file)",
    openapi_extra={"requestBody": _BODY},
    responses={409: {"description": "a project with this id exists"}},
)
async def create_project(
    request: Request,
    response: Response,
    store: StoreDep,
    principal: CanWrite,
    change: ChangeDep,
) -> ProjectPublic:
    from starlette.concurrency import run_in_threadpool

    from restora.store import projects as repo

    spec, name = await _project_document(request)

    def create() -> dict[str, Any]:
        if repo.get_project(store, spec["project_id"], include_deleted=True) is not None:
            raise Problem(
                409,
                f"a project {spec['project_id']!r} exists already",
                kind="conflict",
                errors=[{"field": "project_id", "in": "body", "message": "exists already"}],
            )
        _check_mines_in_scope(store, principal, spec.get("mines") or [])
        try:
            return repo.create_project(
                store,
                spec,
                owner_org_id=principal.org_id,
                created_by=principal.user_id,
                change=noted(change, file=name),
            )
        except InputError as exc:
            raise _problem(exc) from exc

    row = await run_in_threadpool(create)
    response.headers["Location"] = f"{request.url.path}/{row['project_id']}"
    return _public(row)


def _check_mines_in_scope(store: Any, principal: Principal, mines: list[Any]) -> None:
    """A project's mines must lie in the region the principal may write (403 naming them)."""
    from restora.service.permissions import in_scope
    from restora.service.records import mine_region, read_connection

    if principal.role == "admin" or not principal.region:
        return
    with read_connection(store.engine) as conn:
        for i, m in enumerate(mines):
            region = mine_region(conn, str(m))
            if region is not None and not in_scope(principal.region, region):
                raise Problem(
                    403,
                    f"mine {m!r} lies outside your region {principal.region}",
                    kind="out-of-scope",
                    errors=[
                        {"field": f"mines.{i}", "in": "body", "message": "outside your region"}
                    ],
                )


@router.get("", response_model=Page[ProjectPublic], summary="List the projects you may see")
def list_projects(
    store: StoreDep,
    principal: CanRead,
    paging: Paging,
    region: Annotated[
        str | None, Query(pattern=r"^\d{2,6}$", description="region code or its prefix")
    ] = None,
    published: Annotated[bool | None, Query(description="only (un)published projects")] = None,
) -> Page[ProjectPublic]:
    from restora.store import projects as repo

    col, desc = sort_key(paging.sort, repo.PROJECT_SORTABLE, "project_id")
    empty = Page[ProjectPublic](items=[], total=0, limit=paging.limit, offset=paging.offset)
    wanted = region_prefix(region.ljust(6, "0")) if region else ""
    # the record rule of check_project as filters: finance the published projects of its
    # scope, an enterprise its organisation's, the other roles their region's
    scope = region_prefix(principal.region) if principal.role != "admin" else ""
    owner = None
    if principal.role == "enterprise":
        if principal.org_id is None:
            return empty
        owner, scope = principal.org_id, ""
    if principal.role == "finance":
        if published is False:
            return empty
        published = True
    if scope and wanted and not (wanted.startswith(scope) or scope.startswith(wanted)):
        return empty
    narrowest = max(scope, wanted, key=len)
    rows, total = repo.list_projects(
        store,
        region_prefix=narrowest or None,
        owner_org_id=owner,
        published=published,
        sort=col,
        descending=desc,
        limit=paging.limit,
        offset=paging.offset,
    )
    return Page[ProjectPublic](
        items=[_public(r) for r in rows], total=total, limit=paging.limit, offset=paging.offset
    )


@router.get("/{project_id}", response_model=ProjectPublic, summary="One project")
def get_project(project_id: ProjectId, store: StoreDep, principal: CanRead) -> ProjectPublic:
    return _public(_project(store, principal, project_id, write=False))


@router.patch("/{project_id}", response_model=ProjectPublic, summary="Change a project")
def update_project(
    project_id: ProjectId,
    body: ProjectUpdate,
    store: StoreDep,
    principal: CanWrite,
    change: ChangeDep,
) -> ProjectPublic:
    from restora.appraisal.io import parse_project
    from restora.store import projects as repo

    _project(store, principal, project_id, write=True)
    spec = None
    if body.spec is not None:
        try:
            spec = parse_project(body.spec, "spec").model_dump(mode="json", exclude_unset=True)
        except InputError as exc:
            raise _problem(exc) from exc
        _check_mines_in_scope(store, principal, spec.get("mines") or [])
    if body.owner_org_id is not None and principal.role != "admin":
        raise Problem(
            403,
            "only an admin gives a project to another organisation",
            kind="forbidden",
            errors=[{"field": "owner_org_id", "in": "body", "message": "admins only"}],
        )
    try:
        row = repo.update_project(
            store, project_id, spec=spec, owner_org_id=body.owner_org_id, change=change
        )
    except InputError as exc:
        raise _problem(exc) from exc
    return _public(row)


@router.delete("/{project_id}", response_model=ProjectPublic, summary="Delete a project (soft)")
def delete_project(
    project_id: ProjectId, store: StoreDep, principal: CanWrite, change: ChangeDep
) -> ProjectPublic:
    from restora.store import projects as repo

    _project(store, principal, project_id, write=True)
    try:
        return _public(repo.delete_project(store, project_id, change=change))
    except InputError as exc:
        raise _problem(exc, 409) from exc


def _publish(store: Any, principal: Principal, project_id: str, flag: bool, change: Any) -> Any:
    from restora.store import projects as repo

    _project(store, principal, project_id, write=True)
    return _public(repo.update_project(store, project_id, published=flag, change=change))


@router.post(
    "/{project_id}/publish",
    response_model=ProjectPublic,
    summary="Publish a project to finance (banks, investors read its appraisals)",
)
def publish_project(
    project_id: ProjectId, store: StoreDep, principal: CanPublish, change: ChangeDep
) -> ProjectPublic:
    return _publish(store, principal, project_id, True, change)  # type: ignore[no-any-return]


@router.post(
    "/{project_id}/unpublish", response_model=ProjectPublic, summary="Withdraw a publication"
)
def unpublish_project(
    project_id: ProjectId, store: StoreDep, principal: CanPublish, change: ChangeDep
) -> ProjectPublic:
    return _publish(store, principal, project_id, False, change)  # type: ignore[no-any-return]


# -- appraisals -------------------------------------------------------------------------------


@router.post(
    "/{project_id}/appraisals",
    response_model=JobStarted,
    status_code=202,
    summary="Start an appraisal of the project (a background job)",
)
def start_appraisal(
    request: Request,
    response: Response,
    project_id: ProjectId,
    store: StoreDep,
    principal: CanRun,
    body: AppraisalRequest | None = None,
    idempotency_key: Annotated[
        str | None,
        Header(
            max_length=200,
            pattern=r"^[\x21-\x7e]+$",
            description="a key of yours: the same key again returns the first job",
        ),
    ] = None,
) -> JobStarted:
    from restora.service import jobs

    _project(store, principal, project_id, write=True)
    wanted = body or AppraisalRequest.model_validate({})
    params: dict[str, Any] = {"project_id": project_id, "lang": wanted.lang, "pdf": wanted.pdf}
    if wanted.on is not None:
        params["on"] = wanted.on.isoformat()
    try:
        job_id = jobs.submit(
            request.app,
            "appraisal",
            params,
            principal=principal,
            idempotency_key=idempotency_key,
        )
    except InputError as exc:
        raise _problem(exc, 409 if "key" in str(exc) else 422) from exc
    url = f"/api/v1/jobs/{job_id}"
    response.headers["Location"] = url
    return JobStarted(job_id=job_id, job_url=url, project_id=project_id)


def _links(project_id: str, row: dict[str, Any]) -> dict[str, str]:
    base = f"/api/v1/projects/{project_id}/appraisals/{row['version']}"
    out = {"self": base}
    files = row.get("files") or {}
    for lang in ("zh", "en"):
        made = files.get(lang) or {}
        for kind, route in (
            ("html", "report.html"),
            ("pdf", "report.pdf"),
            ("xlsx", "workbook.xlsx"),
        ):
            if made.get(kind):
                out[f"{kind}_{lang}"] = f"{base}/{route}?lang={lang}"
    return out


@router.get(
    "/{project_id}/appraisals",
    response_model=list[AppraisalVersion],
    summary="The project's appraisal versions, newest first",
)
def list_appraisals(
    project_id: ProjectId, store: StoreDep, principal: CanReadAppraisal
) -> list[AppraisalVersion]:
    from restora.store import projects as repo

    _project(store, principal, project_id, write=False)
    return [
        AppraisalVersion.model_validate({**row, "links": _links(project_id, row)})
        for row in repo.list_appraisals(store, project_id)
    ]


def _appraisal(
    store: Any, principal: Principal, project_id: str, version: int, *, document: bool
) -> dict[str, Any]:
    from restora.store import projects as repo

    _project(store, principal, project_id, write=False)
    row = repo.get_appraisal(store, project_id, version, document=document)
    if row is None:
        raise Problem(404, f"no version {version} of project {project_id!r}", kind="not-found")
    return row


@router.get(
    "/{project_id}/appraisals/{version}",
    response_model=dict[str, Any],
    summary="One appraisal version: the appraisal JSON document",
)
async def get_appraisal(
    project_id: ProjectId,
    version: Version,
    request: Request,
    store: StoreDep,
    principal: CanReadAppraisal,
) -> Any:
    # a stored version never changes: its JSON is kept per store revision and caller
    # (restora.service.cache), so a hit skips the 200 kB document's read and validation
    return await cache.cached_json_async(
        request,
        ("appraisal", cache.caller(principal), project_id, version),
        lambda: jsonable(
            _appraisal(store, principal, project_id, version, document=True)["document"]
        ),
        dump=cache.json_bytes,
    )


def _download(
    request: Request,
    store: Any,
    principal: Principal,
    project_id: str,
    version: int,
    kind: str,
    lang: str,
) -> FileResponse:
    from restora.service.tasks.appraisal import stored_file

    row = _appraisal(store, principal, project_id, version, document=False)
    path = stored_file(request.app.state.settings.data_dir, row, kind, lang)
    if path is None:
        what = "the appraisal JSON" if kind == "json" else f"the {lang} {kind} file"
        raise Problem(
            404,
            f"{what} of version {version} was not made (start an appraisal with lang={lang})",
            kind="not-found",
        )
    stem = _UNSAFE.sub("-", f"{project_id}-v{version}-{_FILE_NAMES[kind]}").strip("-.")
    suffix = "" if kind == "json" else f"-{lang}"
    filename = f"{stem or 'appraisal'}{suffix}.{kind}"
    return FileResponse(
        path,
        media_type=MEDIA[kind],
        filename=filename,
        content_disposition_type="attachment",
    )


_FILE: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {
            m.split(";")[0]: {"schema": {"type": "string", "format": "binary"}}
            for m in MEDIA.values()
        },
        "description": "the stored file (Content-Disposition: attachment)",
    }
}


@router.get(
    "/{project_id}/appraisals/{version}/report.html",
    response_class=FileResponse,
    responses=_FILE,
    summary="The appraisal report (HTML)",
)
def report_html(
    request: Request,
    project_id: ProjectId,
    version: Version,
    store: StoreDep,
    principal: CanReadAppraisal,
    lang: Lang = "zh",
) -> FileResponse:
    return _download(request, store, principal, project_id, version, "html", lang)


@router.get(
    "/{project_id}/appraisals/{version}/report.pdf",
    response_class=FileResponse,
    responses=_FILE,
    summary="The appraisal report (PDF)",
)
def report_pdf(
    request: Request,
    project_id: ProjectId,
    version: Version,
    store: StoreDep,
    principal: CanReadAppraisal,
    lang: Lang = "zh",
) -> FileResponse:
    return _download(request, store, principal, project_id, version, "pdf", lang)


@router.get(
    "/{project_id}/appraisals/{version}/workbook.xlsx",
    response_class=FileResponse,
    responses=_FILE,
    summary="The appraisal workbook (XLSX)",
)
def workbook_xlsx(
    request: Request,
    project_id: ProjectId,
    version: Version,
    store: StoreDep,
    principal: CanReadAppraisal,
    lang: Lang = "zh",
) -> FileResponse:
    return _download(request, store, principal, project_id, version, "xlsx", lang)


@router.get(
    "/{project_id}/appraisals/{version}/files/{kind}",
    response_class=FileResponse,
    responses=_FILE,
    summary="A stored file of the version by kind: json, html, pdf or xlsx (the jobs' links)",
)
def appraisal_file(
    request: Request,
    project_id: ProjectId,
    version: Version,
    kind: Literal["json", "html", "pdf", "xlsx"],
    store: StoreDep,
    principal: CanReadAppraisal,
    lang: Lang = "zh",
) -> FileResponse:
    return _download(request, store, principal, project_id, version, kind, lang)
