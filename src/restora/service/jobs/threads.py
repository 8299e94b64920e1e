"""The in-process queue: jobs run in a worker thread of the app (no broker configured).

The queue is the ``jobs`` table itself: a submitted job is a queued row; the worker thread
claims the oldest queued row of this backend (``backend = 'thread'``), runs it
(:func:`restora.service.jobs.runner.execute`) and looks for the next. A submission in this
process wakes the thread at once; rows queued by another process of the same app (``restora
serve --workers N``) are found within :data:`POLL_S`. Claims are atomic, so several processes
share the queue without running a job twice.

A job whose process died mid-run (its ``heartbeat_at`` older than :data:`STALE_AFTER_S`) is
put back in the queue when a worker thread starts and then every :data:`POLL_S`, and runs
again as a new attempt.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from pathlib import Path
from typing import Any

from restora.service.jobs.runner import HEARTBEAT_INTERVAL_S, execute, worker_name
from restora.store import projects as repo

log = logging.getLogger("restora.service.jobs")

BACKEND = "thread"
POLL_S = 2.0
"""How often an idle worker thread looks for jobs queued by another process [s]."""
STALE_AFTER_S = 6 * HEARTBEAT_INTERVAL_S
"""A running job whose worker has been silent this long lost its worker [s]."""


class ThreadQueue:
    """Jobs of one store run by ``threads`` daemon threads of this process.

    Parameters
    ----------
    store : restora.store.Store
    data_dir : Path
        Folder of stored files.
    threads : int
        Worker threads (jobs run at once in this process).
    """

    backend = BACKEND
    redelivers = False

    def __init__(self, store: Any, data_dir: Path, *, threads: int = 1) -> None:
        self.store = store
        self.data_dir = Path(data_dir)
        self.n_threads = max(1, int(threads))
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    def start(self) -> None:
        """Start the worker threads (once; later calls do nothing)."""
        with self._lock:
            if self._threads and any(t.is_alive() for t in self._threads):
                return
            self._stop.clear()
            self._threads = [
                threading.Thread(target=self._loop, name=f"restora-jobs-{i}", daemon=True)
                for i in range(self.n_threads)
            ]
            for t in self._threads:
                t.start()

    def stop(self, timeout: float | None = 5.0) -> None:
        """Ask the threads to stop after their current job; wait up to ``timeout`` [s]."""
        self._stop.set()
        self._wake.set()
        for t in self._threads:
            t.join(timeout)

    def send(self, job_id: str) -> None:
        """A job was queued: wake a worker thread (started if need be)."""
        self.start()
        self._wake.set()

    def _loop(self) -> None:
        worker = f"{worker_name()}/{threading.current_thread().name}"
        stale = dt.timedelta(seconds=STALE_AFTER_S)
        failures = 0
        while not self._stop.is_set():
            self._wake.clear()  # a job sent from now on wakes the wait below
            try:
                repo.requeue_stale_jobs(self.store, BACKEND, stale)
                job_id = repo.next_queued_job(self.store, BACKEND)
                failures = 0
                if job_id is not None:
                    execute(self.store, self.data_dir, job_id, worker=worker)
                    continue
            except Exception:
                failures += 1
                log.exception("the in-process job queue failed (%d in a row)", failures)
            # an unreachable store is tried again less and less often (up to once a minute)
            self._wake.wait(min(POLL_S * 2 ** min(failures, 5), 60.0))
