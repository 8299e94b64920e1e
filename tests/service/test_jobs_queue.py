"""The job queue for real: Dramatiq over the Redis (and the RabbitMQ) running on this machine.

The Done-when test of issue 13: a ``restora worker`` subprocess takes an appraisal job; it is
killed (SIGKILL) in the middle of the pipeline, after it has reported a stage; a new worker
starts; the job is re-queued (Redis: the dead worker's unacknowledged message moved back by
the broker's maintenance once its heartbeat is older than RESTORA_BROKER_HEARTBEAT_TIMEOUT;
RabbitMQ: redelivered when the dead consumer's connection closed), re-runs once (attempts 2)
and completes with exactly one stored appraisal. Submitting the same inputs again gives no
second version. Each test uses its own namespace (keys and queue names), removed afterwards.

Redis at ``RESTORA_TEST_REDIS_URL`` (default redis://127.0.0.1:6379/0), RabbitMQ at
``RESTORA_TEST_AMQP_URL`` (default amqp://guest:guest@127.0.0.1:5672/): both run on the
developers' machines and in CI; a server that cannot be reached fails the test.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from types import SimpleNamespace

import pytest

from restora.appraisal.pipeline import STAGES
from restora.service import jobs
from restora.store import projects as repo

REDIS_URL = os.environ.get("RESTORA_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
AMQP_URL = os.environ.get("RESTORA_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
HEARTBEAT_TIMEOUT_S = 2.0


def _helpers():
    name = "restora_jobs_test_helpers"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            name, Path(__file__).with_name("jobs_helpers.py")
        )
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


H = _helpers()


def _reachable(url: str) -> None:
    try:
        if url.startswith("redis"):
            import redis

            redis.Redis.from_url(url, socket_connect_timeout=5).ping()
        else:
            import pika

            pika.BlockingConnection(pika.URLParameters(url)).close()
    except Exception as exc:
        pytest.fail(f"the broker at {url} cannot be reached (it runs on this machine): {exc}")


def _cleanup(url: str, namespace: str) -> None:
    if url.startswith("redis"):
        import redis

        client = redis.Redis.from_url(url)
        keys = list(client.scan_iter(f"{namespace}:*"))
        if keys:
            client.delete(*keys)
    else:
        import pika

        conn = pika.BlockingConnection(pika.URLParameters(url))
        channel = conn.channel()
        for suffix in ("", ".DQ", ".XQ"):
            channel.queue_delete(f"{namespace}-jobs{suffix}")
        conn.close()


@pytest.fixture
def broker(request, tmp_path, monkeypatch):
    """``(url, namespace)`` of a broker, the namespace private to the test."""
    url = {"redis": REDIS_URL, "amqp": AMQP_URL}[request.param]
    _reachable(url)
    namespace = f"restora-test-{uuid.uuid4().hex[:12]}"
    monkeypatch.setenv("RESTORA_BROKER_NAMESPACE", namespace)
    yield url, namespace
    _cleanup(url, namespace)


class Worker:
    """A ``restora worker`` subprocess on the test's store, broker and data folder."""

    def __init__(self, url: str, namespace: str, db: str, data_dir: Path, log: Path) -> None:
        env = {k: v for k, v in os.environ.items() if k != "RESTORA_DATABASE_URL"}
        env.update(
            RESTORA_BROKER_URL=url,
            RESTORA_BROKER_NAMESPACE=namespace,
            RESTORA_BROKER_HEARTBEAT_TIMEOUT=str(HEARTBEAT_TIMEOUT_S),
            RESTORA_BROKER_MAINTENANCE="1",  # every command checks for dead workers
            RESTORA_DATA_DIR=str(data_dir),
            RESTORA_LOG_LEVEL="INFO",
        )
        self.log = log
        with open(log, "ab") as out:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    "from restora.cli import main; main()",
                    "worker",
                    "--db",
                    db,
                ],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(30)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(60)


def _target(store, settings, url):
    from restora.service.jobs.broker import BrokerSettings, DramatiqQueue

    queue = DramatiqQueue(BrokerSettings.from_env(url))
    return SimpleNamespace(state=SimpleNamespace(store=store, settings=settings, job_queue=queue))


def _wait_for(predicate, what: str, timeout: float, log: Path):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(
        f"{what} within {timeout} s; worker log:\n{log.read_text(errors='replace')}"
    )


@pytest.mark.slow
@pytest.mark.parametrize("broker", ["redis", "amqp"], indirect=True)
def test_a_worker_killed_mid_job_the_job_re_runs_once_and_completes(broker, store_url, tmp_path):
    from restora.service.settings import Settings
    from restora.store import Store

    url, namespace = broker
    data_dir = tmp_path / "data"
    log = tmp_path / "workers.log"
    project_id = f"QS-P-M09-{url.split(':', 1)[0]}"
    with Store(store_url) as store:
        owner = H.add_user(store, 21, "enterprise")
        repo.create_project(store, H.demo_spec(project_id), created_by=owner.user_id)
        target = _target(store, Settings(database_url=store_url, data_dir=data_dir), url)
        first = Worker(url, namespace, store_url, data_dir, log)
        workers = [first]
        try:
            job_id = jobs.submit(
                target,
                "appraisal",
                {"project_id": project_id, "pdf": False, "on": H.ON},
                principal=owner,
            )
            # the first worker runs the job into the pipeline (it has reported a stage) …
            state = _wait_for(
                lambda: (s := jobs.get(target, job_id)).stage in STAGES and s,
                "the first worker did not reach the pipeline",
                180,
                log,
            )
            assert state.status == "running" and state.attempts == 1
            # … and is killed there: no clean-up, no acknowledgement
            first.kill()
            killed = jobs.get(target, job_id)
            assert killed.status == "running" and killed.attempts == 1
            assert killed.worker.endswith(f":{first.proc.pid}")
            assert repo.list_appraisals(store, project_id) == []
            # a new worker: the message comes back, the job re-runs once and completes
            second = Worker(url, namespace, store_url, data_dir, log)
            workers.append(second)
            done = H.wait_done(target, job_id, timeout=240)
            assert done.status == "succeeded", (done.message, log.read_text(errors="replace"))
            assert done.attempts == 2
            assert done.worker.endswith(f":{second.proc.pid}")
            assert done.result["version"] == 1 and done.result["reused"] is False
            versions = repo.list_appraisals(store, project_id)
            assert [(v["version"], v["job_id"]) for v in versions] == [(1, job_id)]
            folder = data_dir / "appraisals" / project_id
            assert sorted(p.name for p in folder.iterdir()) == ["v1"]
            assert (folder / "v1" / "appraisal.json").is_file()
            assert (folder / "v1" / "report-zh.html").is_file()
            # the same inputs again, through the queue: the stored version is reused
            again = H.wait_done(
                target,
                jobs.submit(
                    target,
                    "appraisal",
                    {"project_id": project_id, "pdf": False, "on": H.ON},
                    principal=owner,
                ),
                timeout=120,
            )
            assert again.status == "succeeded" and again.attempts == 1
            assert again.result["reused"] is True and again.result["version"] == 1
            assert again.result["inputs_sha256"] == done.result["inputs_sha256"]
            assert len(repo.list_appraisals(store, project_id)) == 1
            # a graceful stop
            assert second.stop() == 0
        finally:
            for w in workers:
                w.stop()
            target.state.job_queue.stop()
