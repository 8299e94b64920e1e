"""One attempt of a job, the same on every queue: claim it, run its task, record how it ended.

:func:`execute` is what a worker does with a job id it takes from the queue (a Dramatiq message
or the in-process queue). It claims the job (:func:`restora.store.projects.claim_job`: running,
``attempts`` + 1), runs the job's task (:mod:`restora.service.tasks`) with a
:class:`JobContext`, and commits the end state — succeeded with the task's result, failed with
the message, or cancelled — *before* it returns, so a queue that acknowledges the message after
the call never loses a state. A job found finished (a message delivered twice) is left alone.

While the task runs, a heartbeat thread writes ``heartbeat_at`` every
:data:`HEARTBEAT_INTERVAL_S`; the task reports each stage through :meth:`JobContext.stage`,
which also checks whether cancellation was asked for (cooperative: the task stops at its next
stage, :class:`JobCancelled`).
"""

from __future__ import annotations

import importlib
import logging
import os
import socket
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from restora.errors import InputError, RestoraError, StoreBusyError
from restora.store import projects as repo

log = logging.getLogger("restora.service.jobs")

HEARTBEAT_INTERVAL_S = 10.0
"""How often a worker running a job writes ``heartbeat_at`` [s]."""


class JobCancelled(Exception):
    """Raised at a stage of a job whose cancellation was asked for."""


def worker_name() -> str:
    """This process as the ``worker`` of the jobs it runs: ``host:pid``."""
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass
class JobContext:
    """What a task gets besides its parameters.

    Attributes
    ----------
    store : restora.store.Store
        The store (the system of record).
    data_dir : Path
        The folder of stored files (``RESTORA_DATA_DIR``).
    job_id : str
    attempt : int
        1 for the first run, 2 for a re-run after a worker died …
    created_by : int or None
        The account that submitted the job.
    steps : sequence of str
        The task's stages in order (progress is the index of the current one over their
        number).
    """

    store: Any
    data_dir: Path
    job_id: str
    attempt: int
    created_by: int | None
    steps: Sequence[str]
    reached: list[str] = field(default_factory=list)

    def stage(self, name: str) -> None:
        """Report that stage ``name`` starts; raise :class:`JobCancelled` if asked to stop."""
        index = self.steps.index(name) if name in self.steps else len(self.reached)
        progress = min(index / max(len(self.steps), 1), 0.99)
        self.reached.append(name)
        try:
            stop = repo.report_progress(self.store, self.job_id, name, progress)
        except StoreBusyError:  # progress is best effort: a long import holds the lock
            log.warning("job %s: stage %s not recorded (store busy)", self.job_id, name)
            return
        if stop:
            raise JobCancelled(name)

    def check(self) -> None:
        """Raise :class:`JobCancelled` if cancellation was asked for (between stages)."""
        job = repo.get_job(self.store, self.job_id)
        if job is None or job["cancel_requested"] or job["status"] != "running":
            raise JobCancelled(self.reached[-1] if self.reached else None)


@dataclass(frozen=True)
class Task:
    """A kind of job: its stages and the functions that check its parameters and run it."""

    kind: str
    steps: tuple[str, ...]
    module: Any

    def prepare(self, store: Any, params: dict[str, Any]) -> dict[str, Any]:
        """The parameters checked and completed at submission (``InputError`` naming a field)."""
        return self.module.prepare(store, params)  # type: ignore[no-any-return]

    def run(self, ctx: JobContext, params: dict[str, Any]) -> dict[str, Any]:
        return self.module.run(ctx, params)  # type: ignore[no-any-return]


def task(kind: str) -> Task:
    """The task of a kind of job (:data:`restora.service.tasks.TASKS`)."""
    from restora.service.tasks import TASKS

    if kind not in TASKS:
        raise InputError(f"no kind of job {kind!r} (kinds: {', '.join(TASKS)})", field="kind")
    module = importlib.import_module(TASKS[kind])
    return Task(kind=kind, steps=tuple(module.STEPS), module=module)


def _failure(exc: BaseException) -> tuple[str, dict[str, Any] | None]:
    """The message a caller sees, and the field errors of bad input."""
    if isinstance(exc, InputError):
        errors = [{"field": p.field, "message": p.message} for p in exc.problems]
        return str(exc), {"errors": errors}
    if isinstance(exc, RestoraError):
        return str(exc), None
    return f"internal error ({type(exc).__name__}: {exc}); see the worker's log", None


class _Heartbeat(threading.Thread):
    def __init__(self, store: Any, job_id: str, worker: str, interval: float) -> None:
        super().__init__(name=f"restora-heartbeat-{job_id}", daemon=True)
        self.store, self.job_id, self.worker, self.interval = store, job_id, worker, interval
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(self.interval):
            try:
                repo.heartbeat(self.store, self.job_id, self.worker)
            except Exception:  # a busy store: the next beat will do
                log.warning("heartbeat of job %s failed", self.job_id, exc_info=True)


def execute(
    store: Any,
    data_dir: Path,
    job_id: str,
    *,
    worker: str | None = None,
    statuses: Sequence[str] = ("queued",),
    heartbeat_s: float = HEARTBEAT_INTERVAL_S,
) -> dict[str, Any] | None:
    """Run one attempt of job ``job_id``; its row after the attempt (None: nothing to run).

    Parameters
    ----------
    store : restora.store.Store
    data_dir : Path
        Folder of stored files.
    job_id : str
    worker : str, optional
        Name of this worker (default :func:`worker_name`).
    statuses : sequence of str
        States a job may be claimed from: ``("queued",)`` for the in-process queue,
        ``("queued", "running")`` for a broker that redelivers the message of a dead worker.
    heartbeat_s : float
        Interval of the heartbeat [s].
    """
    worker = worker or worker_name()
    job = repo.claim_job(store, job_id, worker, statuses=statuses)
    if job is None:
        return repo.get_job(store, job_id)
    log.info(
        "job %s (%s) attempt %d on %s", job_id, job["kind"], job["attempts"], worker,
        extra={"job_id": job_id},
    )  # fmt: skip
    beat = _Heartbeat(store, job_id, worker, heartbeat_s)
    beat.start()
    try:
        t = task(job["kind"])
        ctx = JobContext(
            store=store,
            data_dir=Path(data_dir),
            job_id=job_id,
            attempt=int(job["attempts"]),
            created_by=job["created_by"],
            steps=t.steps,
        )
        result = t.run(ctx, dict(job["params"]))
    except JobCancelled as exc:
        where = f" at stage {exc.args[0]}" if exc.args and exc.args[0] else ""
        return repo.finish_job(store, job_id, "cancelled", message=f"cancelled{where}")
    except Exception as exc:
        message, detail = _failure(exc)
        if not isinstance(exc, RestoraError):
            log.exception("job %s failed", job_id, extra={"job_id": job_id})
        return repo.finish_job(store, job_id, "failed", message=message, result=detail)
    finally:
        beat.stopped.set()
    return repo.finish_job(store, job_id, "succeeded", result=result)
