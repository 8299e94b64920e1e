"""Jobs on a real queue: Dramatiq over Redis or RabbitMQ, selected by ``RESTORA_BROKER_URL``.

The app sends one message per job (its id) to the queue ``<namespace>-jobs``; ``restora
worker`` processes (:func:`run_worker`) take the messages and run the jobs
(:func:`restora.service.jobs.runner.execute`). The job's end state is committed to the store
before the actor returns, and Dramatiq acknowledges a message only after its actor returned, so
a worker killed mid-job leaves its message unacknowledged:

- **Redis**: the message stays in the dead worker's acknowledgement set; a live worker's broker
  moves it back to the queue once the dead one has sent no heartbeat for
  ``RESTORA_BROKER_HEARTBEAT_TIMEOUT`` seconds (Dramatiq's queue maintenance, run on a share
  ``RESTORA_BROKER_MAINTENANCE`` of the broker's commands; a worker polls about once a second);
- **RabbitMQ**: the server redelivers a message whose consumer's connection closed.

The re-delivered message claims the job again (running → running, ``attempts`` + 1) and the
job re-runs from its start; its tasks are idempotent (the appraisal reuses a stored version
made from the same inputs), so a re-run never gives a different result.

==================================  ===========================================  ==========
variable                            meaning                                      default
==================================  ===========================================  ==========
RESTORA_BROKER_URL                  ``redis://host:6379/0`` or                   none (jobs
                                    ``amqp://user:password@host:5672/``          in-process)
RESTORA_BROKER_NAMESPACE            Redis key prefix and queue name prefix       restora
RESTORA_BROKER_HEARTBEAT_TIMEOUT    a Redis worker silent this long is dead [s]  60
RESTORA_BROKER_MAINTENANCE          share of broker commands that requeue the    0.01
                                    messages of dead workers [1]
RESTORA_JOB_TIME_LIMIT              a job running longer fails [s]               21600
==================================  ===========================================  ==========

References
----------
Dramatiq, "Brokers" and "Message guarantees" (dramatiq.io): at-least-once delivery, messages
acknowledged after their actor completes.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from restora.errors import InputError
from restora.service.jobs.runner import execute
from restora.store import projects as repo

log = logging.getLogger("restora.service.jobs")

BACKEND = "dramatiq"
ACTOR_NAME = "restora_job"
MAX_RETRIES = 3
"""Re-deliveries of a message whose actor raised (the store unreachable; a task's own failure
is recorded on the job and never retried)."""


def _env_float(name: str, default: float, *, low: float, high: float | None = None) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not (value >= low and (high is None or value <= high)):
        bounds = f"between {low:g} and {high:g}" if high is not None else f"≥ {low:g}"
        raise InputError(f"{raw!r} is not a number {bounds}", field=name)
    return value


@dataclass(frozen=True)
class BrokerSettings:
    """How to reach the broker and when a worker counts as dead (see the module's table)."""

    url: str
    namespace: str = "restora"
    heartbeat_timeout_s: float = 60.0
    maintenance_chance: float = 0.01
    time_limit_s: float = 6 * 3600.0

    @classmethod
    def from_env(cls, url: str) -> BrokerSettings:
        namespace = os.environ.get("RESTORA_BROKER_NAMESPACE", "").strip() or "restora"
        if not namespace.replace("-", "").replace("_", "").replace(".", "").isalnum():
            raise InputError(
                f"{namespace!r}: letters, digits, '.', '-' and '_' only",
                field="RESTORA_BROKER_NAMESPACE",
            )
        return cls(
            url=url,
            namespace=namespace,
            heartbeat_timeout_s=_env_float("RESTORA_BROKER_HEARTBEAT_TIMEOUT", 60.0, low=1.0),
            maintenance_chance=_env_float("RESTORA_BROKER_MAINTENANCE", 0.01, low=0.0, high=1.0),
            time_limit_s=_env_float("RESTORA_JOB_TIME_LIMIT", 6 * 3600.0, low=1.0),
        )

    @property
    def queue_name(self) -> str:
        return f"{self.namespace}-jobs"

    @property
    def safe_url(self) -> str:
        """The URL without its password (for messages)."""
        from urllib.parse import urlsplit, urlunsplit

        parts = urlsplit(self.url)
        if parts.password:
            host = parts.hostname or ""
            port = f":{parts.port}" if parts.port else ""
            user = f"{parts.username}:***@" if parts.username else "***@"
            parts = parts._replace(netloc=f"{user}{host}{port}")
        return urlunsplit(parts)


def make_broker(settings: BrokerSettings) -> Any:
    """A Dramatiq broker for ``settings.url`` (``redis://``, ``rediss://``, ``amqp://``, ``amqps://``)."""
    scheme = settings.url.split(":", 1)[0].lower()
    if scheme in ("redis", "rediss"):
        from dramatiq.brokers.redis import RedisBroker

        return RedisBroker(
            url=settings.url,
            namespace=settings.namespace,
            heartbeat_timeout=int(settings.heartbeat_timeout_s * 1000),
            maintenance_chance=round(settings.maintenance_chance * 1_000_000),
        )
    if scheme in ("amqp", "amqps"):
        from dramatiq.brokers.rabbitmq import RabbitmqBroker

        return RabbitmqBroker(url=settings.url)
    raise InputError(
        f"{settings.safe_url!r}: a redis:// or amqp:// URL", field="RESTORA_BROKER_URL"
    )


#: The store and data folder of a worker process (set by :func:`run_worker`).
_WORKER: dict[str, Any] = {}


def _run_job(job_id: str) -> None:
    """The actor: one attempt of a job, its end state committed before the message is acked."""
    from dramatiq.middleware import TimeLimitExceeded

    store, data_dir, limit = _WORKER["store"], _WORKER["data_dir"], _WORKER["time_limit_s"]
    try:
        execute(store, data_dir, job_id, statuses=("queued", "running"))
    except TimeLimitExceeded:
        repo.finish_job(
            store, job_id, "failed", message=f"the job ran longer than its time limit ({limit:g} s)"
        )


class DramatiqQueue:
    """Jobs sent to a Dramatiq broker (the app's side, and the worker's).

    Parameters
    ----------
    settings : BrokerSettings
    """

    backend = BACKEND
    redelivers = True

    def __init__(self, settings: BrokerSettings) -> None:
        import dramatiq

        self.settings = settings
        self.broker = make_broker(settings)
        self.actor = dramatiq.actor(
            broker=self.broker,
            actor_name=ACTOR_NAME,
            queue_name=settings.queue_name,
            max_retries=MAX_RETRIES,
            time_limit=int(settings.time_limit_s * 1000),
        )(_run_job)

    def send(self, job_id: str) -> None:
        """Put job ``job_id`` on the queue."""
        self.actor.send(job_id)

    def start(self) -> None:
        """Nothing to start in the app: workers are separate processes (``restora worker``)."""

    def stop(self, timeout: float | None = None) -> None:
        self.broker.close()


def run_worker(
    store: Any,
    data_dir: Path,
    settings: BrokerSettings,
    *,
    threads: int = 1,
    stop_timeout_s: float = 30.0,
    ready: threading.Event | None = None,
) -> None:
    """Take jobs from the broker until SIGTERM or SIGINT (``restora worker``).

    On a signal the worker stops taking messages, lets a running job finish for up to
    ``stop_timeout_s`` and exits; a job still running then is redelivered to another worker
    (as for a killed one) and re-runs.
    """
    import dramatiq

    queue = DramatiqQueue(settings)
    _WORKER.update(store=store, data_dir=Path(data_dir), time_limit_s=settings.time_limit_s)
    worker = dramatiq.Worker(
        queue.broker, queues={settings.queue_name}, worker_threads=max(1, int(threads))
    )
    stop = threading.Event()
    previous = {
        sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGTERM, signal.SIGINT)
    }
    worker.start()
    log.info(
        "worker on %s, queue %s, %d thread(s)", settings.safe_url, settings.queue_name, threads
    )
    if ready is not None:
        ready.set()
    try:
        while not stop.wait(1.0):  # woken by the signal handler
            pass
    finally:
        worker.stop(timeout=int(stop_timeout_s * 1000))
        queue.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
