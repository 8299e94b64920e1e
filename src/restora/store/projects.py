"""Projects, their versioned appraisals and the state of background jobs (revision 0007).

Functions take the :class:`~restora.store.Store` (or anything with its ``engine``) and return
plain dicts (JSON-ready, timestamps as UTC ``datetime``). Writes are one transaction each. The
project writes and every new appraisal queue behind the store's other writers
(:func:`restora.store.engine.begin_write`) and are audited (:mod:`restora.store.audit`: a
``changes`` row and one ``audit`` row, whose ``mine_id`` is the project's first mine). A job's
state changes are single-row updates that do not wait for the register's writers on
PostgreSQL (no advisory lock); a claim is a conditional update, so two workers never both
claim a queued job.

- **projects** (:func:`create_project`, :func:`get_project`, :func:`list_projects`,
  :func:`update_project`, :func:`delete_project`): the validated project file
  (:class:`restora.appraisal.project.ProjectSpec`) as JSON in ``spec``; its id, names and
  region (of its first mine in the register) as columns; soft delete.
- **appraisals** (:func:`list_appraisals`, :func:`get_appraisal`, :func:`find_appraisal`,
  :func:`add_appraisal`, :func:`add_appraisal_files`): ``version`` 1, 2, … per project, at
  most one per ``inputs_sha256`` (a unique key): the same inputs never make a second version.
- **jobs** (:func:`insert_job`, :func:`get_job`, :func:`list_jobs`, :func:`claim_job`,
  :func:`report_progress`, :func:`heartbeat`, :func:`finish_job`, :func:`request_cancel`,
  :func:`next_queued_job`, :func:`requeue_stale_jobs`): the state machine
  queued → running → succeeded | failed | cancelled of :mod:`restora.service.jobs`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from restora.errors import InputError
from restora.store.audit import Change, as_utc, log_change
from restora.store.engine import begin_write
from restora.store.platform_tables import appraisals as APPRAISALS
from restora.store.platform_tables import jobs as JOBS
from restora.store.platform_tables import projects as PROJECTS
from restora.store.tables import mines as MINES

JOB_STATUSES = ("queued", "running", "succeeded", "failed", "cancelled")
"""The states of a job, in the order they are reached."""
TERMINAL = ("succeeded", "failed", "cancelled")
"""States a job never leaves."""

_TIMESTAMPS = (
    "created_at",
    "updated_at",
    "deleted_at",
    "started_at",
    "heartbeat_at",
    "finished_at",
)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _engine(store: Any) -> sa.Engine:
    return store if isinstance(store, sa.Engine) else store.engine  # type: ignore[no-any-return]


def _row(row: Any) -> dict[str, Any]:
    d = dict(row._mapping)
    for k in _TIMESTAMPS:
        if d.get(k) is not None:
            d[k] = as_utc(d[k])
    return d


def _read(store: Any) -> Any:
    conn = _engine(store).connect()
    conn.execution_options(restora_read_only=True)
    return conn


# ---------------------------------------------------------------------------------- projects


def parse_spec(spec: Any, *, prefix: str = "spec") -> dict[str, Any]:
    """A project file's content checked against :class:`ProjectSpec`, as stored (JSON).

    Only the fields given are kept (``exclude_unset``): a default of the library is applied
    when the project is appraised, and the appraisal's inputs hash names the Restora version.

    Raises
    ------
    InputError
        Naming the field under ``prefix`` (``spec.mines.0``, ``spec.risk.draws`` …).
    """
    from pydantic import ValidationError

    from restora.appraisal.project import ProjectSpec
    from restora.errors import input_error

    if not isinstance(spec, Mapping):
        raise InputError("expected a mapping (the project's fields)", field=prefix or None)
    try:
        model = ProjectSpec.model_validate(dict(spec))
    except ValidationError as exc:
        raise input_error(exc, prefix=prefix) from exc
    return model.model_dump(mode="json", exclude_unset=True)


def _mine_regions(conn: sa.Connection, mine_ids: Sequence[str]) -> dict[str, str]:
    rows = conn.execute(
        sa.select(MINES.c.mine_id, MINES.c.region_code).where(
            MINES.c.mine_id.in_(list(mine_ids)), MINES.c.deleted_at.is_(None)
        )
    )
    return {str(m): str(r) for m, r in rows}


def _check_mines(conn: sa.Connection, mine_ids: Sequence[str]) -> str | None:
    """The region of the project's first mine; every mine must be live in the register."""
    regions = _mine_regions(conn, mine_ids)
    for i, mid in enumerate(mine_ids):
        if mid not in regions:
            raise InputError(
                f"mine {mid!r} is not in the register (or is deleted)", field=f"spec.mines.{i}"
            )
    return regions[mine_ids[0]] if mine_ids else None


def _first_mine(spec: Mapping[str, Any]) -> str | None:
    mines = spec.get("mines") or []
    return str(mines[0]) if mines else None


def create_project(
    store: Any,
    spec: Mapping[str, Any],
    *,
    owner_org_id: int | None = None,
    created_by: int | None = None,
    published: bool = False,
    change: Change | None = None,
) -> dict[str, Any]:
    """Store a new project from its file's content (``PROJECT.yaml`` as a mapping).

    Raises
    ------
    InputError
        The spec is invalid (the field named as ``spec.<path>``), a mine is not live in the
        register, or a project with this ``project_id`` exists (also a deleted one).
    """
    clean = parse_spec(spec)
    pid = clean["project_id"]
    change = change or Change("projects create", options={"project_id": pid})
    with begin_write(_engine(store)) as conn:
        exists = conn.execute(
            sa.select(PROJECTS.c.project_id).where(PROJECTS.c.project_id == pid)
        ).first()
        if exists is not None:
            raise InputError(f"a project {pid!r} exists already", field="spec.project_id")
        region = _check_mines(conn, clean["mines"])
        now = _now()
        row = {
            "project_id": pid,
            "name": clean["name"],
            "name_en": clean.get("name_en"),
            "region_code": region,
            "spec": clean,
            "owner_org_id": owner_org_id,
            "created_by": created_by,
            "created_at": now,
            "updated_at": now,
            "published": bool(published),
            "deleted_at": None,
        }
        conn.execute(PROJECTS.insert().values(**row))
        log_change(
            conn,
            change,
            table="projects",
            record_id=pid,
            action="insert",
            after=_audited(row),
            mine_id=_first_mine(clean),
        )
    return get_project(store, pid)  # type: ignore[return-value]


def _audited(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        k: (v.isoformat() if isinstance(v, dt.datetime) else v)
        for k, v in row.items()
        if k not in ("created_at", "updated_at")
    }


def get_project(
    store: Any, project_id: str, *, include_deleted: bool = False
) -> dict[str, Any] | None:
    """One project (None if there is none, or it is deleted and not ``include_deleted``)."""
    q = sa.select(PROJECTS).where(PROJECTS.c.project_id == project_id)
    if not include_deleted:
        q = q.where(PROJECTS.c.deleted_at.is_(None))
    with _read(store) as conn:
        row = conn.execute(q).first()
    return None if row is None else _row(row)


PROJECT_SORTABLE = ("project_id", "name", "region_code", "created_at", "updated_at")


def list_projects(
    store: Any,
    *,
    region_prefix: str | None = None,
    owner_org_id: int | None = None,
    published: bool | None = None,
    sort: str = "project_id",
    descending: bool = False,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[dict[str, Any]], int]:
    """Live projects matching the filters: ``(page of rows, total)``.

    ``region_prefix`` keeps projects whose region code starts with it (a scope,
    :func:`restora.service.permissions.region_prefix`); ``sort`` one of
    :data:`PROJECT_SORTABLE`.
    """
    if sort not in PROJECT_SORTABLE:
        raise InputError(f"one of {', '.join(PROJECT_SORTABLE)}", field="sort")
    q = sa.select(PROJECTS).where(PROJECTS.c.deleted_at.is_(None))
    if region_prefix:
        q = q.where(PROJECTS.c.region_code.startswith(region_prefix))
    if owner_org_id is not None:
        q = q.where(PROJECTS.c.owner_org_id == owner_org_id)
    if published is not None:
        q = q.where(PROJECTS.c.published.is_(published))
    col = PROJECTS.c[sort]
    with _read(store) as conn:
        total = conn.execute(sa.select(sa.func.count()).select_from(q.subquery())).scalar_one()
        rows = conn.execute(
            q.order_by(col.desc() if descending else col.asc(), PROJECTS.c.project_id)
            .limit(limit)
            .offset(offset)
        ).all()
    return [_row(r) for r in rows], int(total)


def update_project(
    store: Any,
    project_id: str,
    *,
    spec: Mapping[str, Any] | None = None,
    published: bool | None = None,
    owner_org_id: int | None = None,
    change: Change | None = None,
) -> dict[str, Any]:
    """Change a live project's spec (whole, re-validated), publication or owner.

    The spec's ``project_id`` cannot change. Earlier appraisals keep the spec they were made
    from (in their document); the next appraisal hashes the new one.

    Raises
    ------
    InputError
        No such live project, an invalid spec, a mine not in the register, a changed id.
    """
    change = change or Change("projects update", options={"project_id": project_id})
    values: dict[str, Any] = {}
    if spec is not None:
        clean = parse_spec(spec)
        if clean["project_id"] != project_id:
            raise InputError(
                f"the project's id cannot change ({project_id!r} → {clean['project_id']!r})",
                field="spec.project_id",
            )
        values.update(spec=clean, name=clean["name"], name_en=clean.get("name_en"))
    if published is not None:
        values["published"] = bool(published)
    if owner_org_id is not None:
        values["owner_org_id"] = owner_org_id
    with begin_write(_engine(store)) as conn:
        before = conn.execute(
            sa.select(PROJECTS).where(
                PROJECTS.c.project_id == project_id, PROJECTS.c.deleted_at.is_(None)
            )
        ).first()
        if before is None:
            raise InputError(f"no project {project_id!r}", field="project_id")
        old = dict(before._mapping)
        if "spec" in values:
            values["region_code"] = _check_mines(conn, values["spec"]["mines"])
        changed = {k: v for k, v in values.items() if old.get(k) != v}
        if changed:
            changed["updated_at"] = _now()
            conn.execute(
                PROJECTS.update().where(PROJECTS.c.project_id == project_id).values(**changed)
            )
            log_change(
                conn,
                change,
                table="projects",
                record_id=project_id,
                action="update",
                before=_audited({k: old.get(k) for k in changed}),
                after=_audited(changed),
                mine_id=_first_mine(changed.get("spec", old["spec"])),
            )
    return get_project(store, project_id)  # type: ignore[return-value]


def delete_project(store: Any, project_id: str, *, change: Change | None = None) -> dict[str, Any]:
    """Soft-delete a live project (its appraisals stay, as records of what was appraised)."""
    change = change or Change("projects delete", options={"project_id": project_id})
    with begin_write(_engine(store)) as conn:
        row = conn.execute(
            sa.select(PROJECTS).where(
                PROJECTS.c.project_id == project_id, PROJECTS.c.deleted_at.is_(None)
            )
        ).first()
        if row is None:
            raise InputError(f"no project {project_id!r}", field="project_id")
        now = _now()
        conn.execute(
            PROJECTS.update()
            .where(PROJECTS.c.project_id == project_id)
            .values(deleted_at=now, updated_at=now)
        )
        log_change(
            conn,
            change,
            table="projects",
            record_id=project_id,
            action="delete",
            before={"deleted_at": None},
            after={"deleted_at": now},
            mine_id=_first_mine(row.spec),
        )
    return get_project(store, project_id, include_deleted=True)  # type: ignore[return-value]


# -------------------------------------------------------------------------------- appraisals

_SUMMARY = [c for c in APPRAISALS.c if c.name != "document"]


def list_appraisals(store: Any, project_id: str) -> list[dict[str, Any]]:
    """The project's appraisal versions, newest first, without their documents."""
    q = (
        sa.select(*_SUMMARY)
        .where(APPRAISALS.c.project_id == project_id)
        .order_by(APPRAISALS.c.version.desc())
    )
    with _read(store) as conn:
        return [_row(r) for r in conn.execute(q)]


def get_appraisal(
    store: Any, project_id: str, version: int | None = None, *, document: bool = True
) -> dict[str, Any] | None:
    """One version of a project's appraisal (the latest when ``version`` is None)."""
    cols = list(APPRAISALS.c) if document else _SUMMARY
    q = sa.select(*cols).where(APPRAISALS.c.project_id == project_id)
    if version is None:
        q = q.order_by(APPRAISALS.c.version.desc()).limit(1)
    else:
        q = q.where(APPRAISALS.c.version == int(version))
    with _read(store) as conn:
        row = conn.execute(q).first()
    return None if row is None else _row(row)


def find_appraisal(store: Any, project_id: str, inputs_sha256: str) -> dict[str, Any] | None:
    """The version made from these inputs, if there is one (without its document)."""
    q = sa.select(*_SUMMARY).where(
        APPRAISALS.c.project_id == project_id, APPRAISALS.c.inputs_sha256 == inputs_sha256
    )
    with _read(store) as conn:
        row = conn.execute(q).first()
    return None if row is None else _row(row)


def add_appraisal(
    store: Any,
    project_id: str,
    *,
    inputs_sha256: str,
    on_date: str,
    document: dict[str, Any],
    place: Callable[[int], dict[str, Any]],
    created_by: int | None = None,
    job_id: str | None = None,
    change: Change | None = None,
) -> tuple[dict[str, Any], bool]:
    """Store a new version of a project's appraisal, unless these inputs have one.

    In one write transaction: if a version with ``inputs_sha256`` exists it is returned with
    ``False``; else the next version number is taken, ``place(version)`` is called (it moves
    the files into the version's folder and returns the ``files`` mapping), the row is
    inserted (audited) and returned with ``True``. Writers queue behind one another, so two
    runs of the same inputs store one version, and two runs of different inputs get 1 and 2.
    """
    change = change or Change("appraisal", options={"project_id": project_id, "job_id": job_id})
    with begin_write(_engine(store)) as conn:
        found = conn.execute(
            sa.select(*_SUMMARY).where(
                APPRAISALS.c.project_id == project_id,
                APPRAISALS.c.inputs_sha256 == inputs_sha256,
            )
        ).first()
        if found is not None:
            return _row(found), False
        last = conn.execute(
            sa.select(sa.func.max(APPRAISALS.c.version)).where(
                APPRAISALS.c.project_id == project_id
            )
        ).scalar_one()
        version = int(last or 0) + 1
        files = place(version)
        row = {
            "project_id": project_id,
            "version": version,
            "inputs_sha256": inputs_sha256,
            "on_date": on_date,
            "created_at": _now(),
            "created_by": created_by,
            "job_id": job_id,
            "document": document,
            "files": files,
        }
        new_id = conn.execute(
            APPRAISALS.insert().values(**row).returning(APPRAISALS.c.id)
        ).scalar_one()
        mines = document.get("project", {}).get("mines") or []
        after = {"id": new_id, "version": version, "inputs_sha256": inputs_sha256}
        after.update(on=on_date, job_id=job_id, files=files)
        log_change(
            conn,
            change,
            table="appraisals",
            record_id=f"{project_id}/v{version}",
            action="insert",
            after=after,
            mine_id=str(mines[0]) if mines else None,
        )
    return get_appraisal(store, project_id, version, document=False), True  # type: ignore[return-value]


def add_appraisal_files(
    store: Any, appraisal_id: int, lang: str, files: Mapping[str, str]
) -> dict[str, Any]:
    """Record a language's report files of a stored version (made from its document later).

    Only the ``files`` mapping changes, never the document or its hash; files already recorded
    for the language are kept unless given anew. Returns the version (without its document).
    """
    with begin_write(_engine(store)) as conn:
        row = conn.execute(sa.select(*_SUMMARY).where(APPRAISALS.c.id == appraisal_id)).first()
        if row is None:
            raise InputError(f"no appraisal {appraisal_id}", field="appraisal_id")
        merged = dict(row.files or {})
        merged[lang] = {**dict(merged.get(lang) or {}), **dict(files)}
        conn.execute(
            APPRAISALS.update().where(APPRAISALS.c.id == appraisal_id).values(files=merged)
        )
        out = conn.execute(sa.select(*_SUMMARY).where(APPRAISALS.c.id == appraisal_id)).one()
    return _row(out)


# -------------------------------------------------------------------------------------- jobs


def insert_job(
    store: Any,
    *,
    job_id: str,
    kind: str,
    params: Mapping[str, Any],
    backend: str,
    created_by: int | None = None,
    idempotency_key: str | None = None,
) -> tuple[dict[str, Any], bool]:
    """Queue a job: ``(row, True)``; with an ``idempotency_key`` already used, ``(that, False)``."""
    row = {
        "id": job_id,
        "kind": kind,
        "params": dict(params),
        "idempotency_key": idempotency_key,
        "backend": backend,
        "status": "queued",
        "progress": 0.0,
        "stage": None,
        "message": None,
        "attempts": 0,
        "cancel_requested": False,
        "result": None,
        "worker": None,
        "created_by": created_by,
        "created_at": _now(),
    }
    with _engine(store).begin() as conn:
        if idempotency_key is not None:
            found = conn.execute(
                sa.select(JOBS).where(JOBS.c.idempotency_key == idempotency_key)
            ).first()
            if found is not None:
                return _row(found), False
        try:
            with conn.begin_nested():
                conn.execute(JOBS.insert().values(**row))
        except sa.exc.IntegrityError:
            if idempotency_key is None:
                raise
            found = conn.execute(
                sa.select(JOBS).where(JOBS.c.idempotency_key == idempotency_key)
            ).one()  # another submission with this key won the race
            return _row(found), False
    return get_job(store, job_id), True  # type: ignore[return-value]


def get_job(store: Any, job_id: str) -> dict[str, Any] | None:
    """One job's row (None if there is none)."""
    with _read(store) as conn:
        row = conn.execute(sa.select(JOBS).where(JOBS.c.id == job_id)).first()
    return None if row is None else _row(row)


def list_jobs(
    store: Any,
    *,
    created_by: int | None = None,
    status: str | None = None,
    kind: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[dict[str, Any]], int]:
    """Jobs, newest first, filtered by creator, status and kind: ``(page of rows, total)``."""
    q = sa.select(JOBS)
    if created_by is not None:
        q = q.where(JOBS.c.created_by == created_by)
    if status is not None:
        q = q.where(JOBS.c.status == status)
    if kind is not None:
        q = q.where(JOBS.c.kind == kind)
    with _read(store) as conn:
        total = conn.execute(sa.select(sa.func.count()).select_from(q.subquery())).scalar_one()
        rows = conn.execute(
            q.order_by(JOBS.c.created_at.desc(), JOBS.c.id).limit(limit).offset(offset)
        ).all()
    return [_row(r) for r in rows], int(total)


def claim_job(
    store: Any, job_id: str, worker: str, *, statuses: Sequence[str] = ("queued",)
) -> dict[str, Any] | None:
    """Start an attempt of a job: running, ``attempts`` + 1, ``worker`` set; the row, or None.

    Only a job in one of ``statuses`` is claimed (``("queued", "running")`` for a queue that
    redelivers the message of a worker that died mid-job). A queued job whose cancellation was
    asked for becomes cancelled instead; a finished one is left as it is (None).
    """
    now = _now()
    with _engine(store).begin() as conn:
        row = conn.execute(sa.select(JOBS).where(JOBS.c.id == job_id)).first()
        if row is None or row.status not in statuses:
            return None
        if row.cancel_requested:
            conn.execute(
                JOBS.update()
                .where(JOBS.c.id == job_id)
                .values(status="cancelled", finished_at=now, message="cancelled before it ran")
            )
            return None
        claimed = conn.execute(
            JOBS.update()
            .where(JOBS.c.id == job_id, JOBS.c.status == row.status)
            .values(
                status="running",
                attempts=JOBS.c.attempts + 1,
                worker=worker,
                started_at=sa.func.coalesce(JOBS.c.started_at, now),
                heartbeat_at=now,
                progress=0.0,
                stage=None,
                message=None,
            )
        )
        if claimed.rowcount != 1:  # another worker claimed it first
            return None
        out = conn.execute(sa.select(JOBS).where(JOBS.c.id == job_id)).one()
    return _row(out)


def report_progress(store: Any, job_id: str, stage: str, progress: float) -> bool:
    """Record the stage a running job starts and its progress [0, 1]; True if it is to stop.

    The job is to stop when its cancellation was asked for (or it is no longer running).
    """
    with _engine(store).begin() as conn:
        conn.execute(
            JOBS.update()
            .where(JOBS.c.id == job_id, JOBS.c.status == "running")
            .values(stage=stage, progress=float(progress), heartbeat_at=_now())
        )
        row = conn.execute(
            sa.select(JOBS.c.status, JOBS.c.cancel_requested).where(JOBS.c.id == job_id)
        ).one()
    return bool(row.cancel_requested) or row.status != "running"


def heartbeat(store: Any, job_id: str, worker: str) -> None:
    """The worker running a job says it is alive (``heartbeat_at``)."""
    with _engine(store).begin() as conn:
        conn.execute(
            JOBS.update()
            .where(JOBS.c.id == job_id, JOBS.c.status == "running", JOBS.c.worker == worker)
            .values(heartbeat_at=_now())
        )


def finish_job(
    store: Any,
    job_id: str,
    status: str,
    *,
    result: Mapping[str, Any] | None = None,
    message: str | None = None,
    statuses: Sequence[str] = ("running",),
) -> dict[str, Any] | None:
    """End a job in one of ``statuses`` as ``succeeded``, ``failed`` or ``cancelled``.

    Committed on return. A job in another state (finished already) is left as it is.
    """
    if status not in TERMINAL:
        raise ValueError(f"not a final state: {status!r}")
    values: dict[str, Any] = {"status": status, "finished_at": _now(), "message": message}
    if result is not None:
        values["result"] = dict(result)
    if status == "succeeded":
        values["progress"] = 1.0
    with _engine(store).begin() as conn:
        conn.execute(
            JOBS.update()
            .where(JOBS.c.id == job_id, JOBS.c.status.in_(list(statuses)))
            .values(**values)
        )
    return get_job(store, job_id)


def request_cancel(store: Any, job_id: str) -> dict[str, Any] | None:
    """Ask a job to stop: a queued job is cancelled at once, a running one at its next stage.

    A finished job is left as it is. Returns the row after the change (None: no such job).
    """
    now = _now()
    with _engine(store).begin() as conn:
        row = conn.execute(sa.select(JOBS.c.status).where(JOBS.c.id == job_id)).first()
        if row is None:
            return None
        if row.status == "queued":
            conn.execute(
                JOBS.update()
                .where(JOBS.c.id == job_id)
                .values(
                    status="cancelled",
                    cancel_requested=True,
                    finished_at=now,
                    message="cancelled before it ran",
                )
            )
        elif row.status == "running":
            conn.execute(JOBS.update().where(JOBS.c.id == job_id).values(cancel_requested=True))
    return get_job(store, job_id)


def next_queued_job(store: Any, backend: str) -> str | None:
    """The oldest queued job of ``backend`` (its id), or None."""
    q = (
        sa.select(JOBS.c.id)
        .where(JOBS.c.status == "queued", JOBS.c.backend == backend)
        .order_by(JOBS.c.created_at, JOBS.c.id)
        .limit(1)
    )
    with _read(store) as conn:
        return conn.execute(q).scalar_one_or_none()


def requeue_stale_jobs(store: Any, backend: str, older_than: dt.timedelta) -> list[str]:
    """Put back in the queue the running jobs of ``backend`` whose worker fell silent.

    A job whose ``heartbeat_at`` is older than ``older_than`` lost its worker (the process was
    killed or the machine stopped); it becomes queued again, its attempts kept, so that the
    next claim counts the new attempt. Returns their ids.
    """
    limit = _now() - older_than
    stale = sa.and_(
        JOBS.c.status == "running",
        JOBS.c.backend == backend,
        sa.or_(JOBS.c.heartbeat_at.is_(None), JOBS.c.heartbeat_at < limit),
    )
    with _read(store) as conn:  # most of the time there are none: no write transaction
        if conn.execute(sa.select(JOBS.c.id).where(stale).limit(1)).first() is None:
            return []
    with _engine(store).begin() as conn:
        ids = list(conn.execute(sa.select(JOBS.c.id).where(stale)).scalars())
        if ids:
            conn.execute(
                JOBS.update().where(JOBS.c.id.in_(ids), stale).values(status="queued", worker=None)
            )
    return ids
