"""Background jobs: one interface over a real queue or an in-process worker thread.

::

    from restora.service import jobs

    job_id = jobs.submit(app, "appraisal", {"project_id": "QS-P-M09", "lang": "zh"},
                         principal=principal)
    state = jobs.get(app, job_id)        # JobState: status, progress, stage, message, result
    jobs.cancel(app, job_id)             # cooperative: the job stops at its next stage
    page, total = jobs.list(app, principal=principal, status="running")

``app_or_store`` is the FastAPI app (its store, settings and queue) or a
:class:`restora.store.Store` (settings from the environment). The queue is chosen by
``RESTORA_BROKER_URL``: Dramatiq over Redis or RabbitMQ (:mod:`~restora.service.jobs.broker`,
workers started with ``restora worker``), or with no broker the app's own worker thread
(:mod:`~restora.service.jobs.threads`), so that ``restora serve`` alone runs jobs.

A job's state lives in the ``jobs`` table (:mod:`restora.store.projects`): queued → running →
succeeded | failed | cancelled, ``progress`` 0…1 and the current ``stage``, the failure's
``message`` (and ``result.errors`` naming the fields of bad input), ``attempts`` (a re-run after
a worker died is attempt 2) and the ``result``. The kinds of job are the tasks of
:mod:`restora.service.tasks`. See docs/jobs.md.
"""

from __future__ import annotations

import builtins
import datetime as dt
import uuid
import weakref
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from restora.errors import InputError
from restora.service.jobs.runner import JobCancelled, JobContext, task
from restora.store import projects as repo
from restora.store.projects import JOB_STATUSES, TERMINAL

__all__ = [
    "JOB_STATUSES",
    "TERMINAL",
    "JobCancelled",
    "JobContext",
    "JobState",
    "cancel",
    "get",
    "install",
    "list",
    "queue_for",
    "submit",
]


@dataclass(frozen=True)
class JobState:
    """A job as its caller sees it.

    Attributes
    ----------
    id, kind : str
    status : str
        One of :data:`JOB_STATUSES`.
    progress : float
        Share of the job's stages begun [0, 1]; 1 when it succeeded.
    stage : str or None
        The stage running (or where it stopped); one of ``steps``.
    steps : tuple of str
        The kind's stages in order.
    message : str or None
        Why it failed or was cancelled.
    attempts : int
        Runs begun (2 after a re-run on another worker).
    cancel_requested : bool
    params, result : dict
        What it was asked to do and what it made (``result.errors`` for bad input).
    created_by : int or None
    created_at, started_at, heartbeat_at, finished_at : datetime or None
        UTC.
    backend, worker : str or None
        The queue (``thread`` or ``dramatiq``) and the process of the latest attempt.
    """

    id: str
    kind: str
    status: str
    progress: float
    stage: str | None
    steps: tuple[str, ...]
    message: str | None
    attempts: int
    cancel_requested: bool
    params: dict[str, Any]
    result: dict[str, Any] | None
    created_by: int | None
    created_at: dt.datetime
    started_at: dt.datetime | None
    heartbeat_at: dt.datetime | None
    finished_at: dt.datetime | None
    backend: str
    worker: str | None

    @property
    def done(self) -> bool:
        """True once the job is succeeded, failed or cancelled."""
        return self.status in TERMINAL

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> JobState:
        try:
            steps = task(row["kind"]).steps
        except InputError:  # a kind of an older version
            steps = ()
        return cls(
            id=row["id"],
            kind=row["kind"],
            status=row["status"],
            progress=float(row["progress"]),
            stage=row["stage"],
            steps=tuple(steps),
            message=row["message"],
            attempts=int(row["attempts"]),
            cancel_requested=bool(row["cancel_requested"]),
            params=dict(row["params"] or {}),
            result=row["result"],
            created_by=row["created_by"],
            created_at=row["created_at"],
            started_at=row["started_at"],
            heartbeat_at=row["heartbeat_at"],
            finished_at=row["finished_at"],
            backend=row["backend"],
            worker=row["worker"],
        )


# ------------------------------------------------------------------------------------ queues

_STORE_QUEUES: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()


def _parts(target: Any) -> tuple[Any, Any]:
    """``(store, settings)`` of an app or a store."""
    state = getattr(target, "state", None)
    if state is not None and hasattr(state, "store"):
        return state.store, state.settings
    from restora.service.settings import Settings

    return target, Settings.from_env()


def make_queue(store: Any, settings: Any) -> Any:
    """The queue the settings select: Dramatiq on ``broker_url``, else the worker thread."""
    if settings.broker_url:
        from restora.service.jobs.broker import BrokerSettings, DramatiqQueue

        return DramatiqQueue(BrokerSettings.from_env(settings.broker_url))
    from restora.service.jobs.threads import ThreadQueue

    return ThreadQueue(store, settings.data_dir)


def queue_for(target: Any) -> Any:
    """The queue of an app (made by :func:`install`, or now) or of a store (one per store)."""
    state = getattr(target, "state", None)
    if state is not None and hasattr(state, "store"):
        queue = getattr(state, "job_queue", None)
        if queue is None:
            queue = state.job_queue = make_queue(state.store, state.settings)
        return queue
    if target not in _STORE_QUEUES:
        store, settings = _parts(target)
        _STORE_QUEUES[target] = make_queue(store, settings)
    return _STORE_QUEUES[target]


# --------------------------------------------------------------------------------- interface


def submit(
    app_or_store: Any,
    kind: str,
    params: dict[str, Any],
    *,
    principal: Any,
    idempotency_key: str | None = None,
) -> str:
    """Queue a job; its id.

    Parameters
    ----------
    app_or_store : FastAPI or restora.store.Store
    kind : str
        A kind of :data:`restora.service.tasks.TASKS` (``"appraisal"``).
    params : dict
        The task's parameters, checked and completed now (the appraisal's date is fixed at
        submission, so a re-run appraises the same date).
    principal : restora.service.security.Principal
        Who asks (``user_id`` becomes the job's ``created_by``; None for none).
    idempotency_key : str, optional
        A key of the caller's: a second submission with the same key returns the first job's
        id and queues nothing (the same kind and parameters are required).

    Raises
    ------
    InputError
        An unknown kind, bad parameters (naming the field), a key reused for another job.

    Notes
    -----
    A job that cannot be put on the queue (the broker unreachable) is recorded as failed with
    the broker's message; its id is returned all the same.
    """
    store, _ = _parts(app_or_store)
    t = task(kind)
    clean = t.prepare(store, dict(params))
    queue = queue_for(app_or_store)
    row, created = repo.insert_job(
        store,
        job_id=uuid.uuid4().hex,
        kind=kind,
        params=clean,
        backend=queue.backend,
        created_by=getattr(principal, "user_id", None),
        idempotency_key=idempotency_key,
    )
    if not created:
        if row["kind"] != kind or row["params"] != clean:
            raise InputError(
                "this idempotency key was used for another job", field="idempotency_key"
            )
        return str(row["id"])
    try:
        queue.send(row["id"])
    except Exception as exc:
        where = getattr(getattr(queue, "settings", None), "safe_url", "the queue")
        repo.finish_job(
            store,
            row["id"],
            "failed",
            message=f"could not queue the job on {where}: {exc}",
            statuses=("queued",),
        )
    return str(row["id"])


def get(app_or_store: Any, job_id: str) -> JobState | None:
    """A job's state (None if there is no such job)."""
    store, _ = _parts(app_or_store)
    row = repo.get_job(store, job_id)
    return None if row is None else JobState.from_row(row)


def cancel(app_or_store: Any, job_id: str) -> JobState | None:
    """Ask a job to stop; its state after the request (None if there is no such job).

    A queued job is cancelled at once; a running one stops at its next stage (``status``
    becomes ``cancelled`` then; ``cancel_requested`` is true meanwhile); a finished job is
    left as it is (check ``status``).
    """
    store, _ = _parts(app_or_store)
    row = repo.request_cancel(store, job_id)
    return None if row is None else JobState.from_row(row)


def list_jobs(
    app_or_store: Any,
    *,
    principal: Any = None,
    created_by: int | None = None,
    status: str | None = None,
    kind: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[builtins.list[JobState], int]:
    """Jobs, newest first: ``(page, total)``.

    A ``principal`` other than an admin sees only the jobs it submitted; ``created_by``
    filters further (an admin's view of one account).
    """
    store, _ = _parts(app_or_store)
    if principal is not None and getattr(principal, "role", None) != "admin":
        own = getattr(principal, "user_id", None)
        if own is None or (created_by is not None and created_by != own):
            return [], 0
        created_by = own
    rows, total = repo.list_jobs(
        store, created_by=created_by, status=status, kind=kind, limit=limit, offset=offset
    )
    return [JobState.from_row(r) for r in rows], total


list = list_jobs  # the interface's name: jobs.list(...)


def install(app: Any) -> None:
    """Give the app its queue (``app.state.job_queue``), started and stopped with the app.

    The in-process queue's threads start with the app (and pick up jobs left queued or
    orphaned by a previous run); a broker's queue has nothing to start in the app.
    """
    queue = queue_for(app)
    previous = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(a: Any) -> Any:
        async with previous(a) as state:
            queue.start()
            try:
                yield state
            finally:
                queue.stop()

    app.router.lifespan_context = lifespan
