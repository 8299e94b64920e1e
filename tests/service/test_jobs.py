"""Background jobs on the in-process queue (no broker): the appraisal job, cancellation,
failures, idempotency, the jobs API.

The app of these tests has no ``RESTORA_BROKER_URL``: jobs run in its worker thread
(restora.service.jobs.threads). The appraisal is the demo's QS-M09 project with 200 draws.
The queue over the real Redis and RabbitMQ is tested in test_jobs_queue.py.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import sqlite3
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from restora.errors import InputError
from restora.service import jobs
from restora.store import projects as repo
from restora.store.platform_tables import appraisals as APPRAISALS


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


@pytest.fixture(scope="module")
def store(app):
    return app.state.store


@pytest.fixture(scope="module")
def owner(store):
    return H.add_user(store, 11, "natural_resources", "430000")


@pytest.fixture(scope="module")
def project(store, owner):
    return repo.create_project(store, H.demo_spec(), created_by=owner.user_id)


def _versions(store, project_id):
    with store.engine.connect() as conn:
        return conn.execute(
            sa.select(APPRAISALS.c.version, APPRAISALS.c.inputs_sha256)
            .where(APPRAISALS.c.project_id == project_id)
            .order_by(APPRAISALS.c.version)
        ).all()


def test_an_appraisal_job_reports_its_stages_in_order_and_stores_one_version(
    app, store, owner, project, monkeypatch
):
    from restora.appraisal.pipeline import STAGES
    from restora.service.tasks import appraisal as task

    seen = []
    report = repo.report_progress

    def spy(store_, job_id, stage, progress):
        seen.append((stage, progress))
        return report(store_, job_id, stage, progress)

    monkeypatch.setattr(repo, "report_progress", spy)
    job_id = jobs.submit(
        app, "appraisal", {"project_id": "QS-P-M09", "pdf": False, "on": H.ON}, principal=owner
    )
    state = H.wait_done(app, job_id)
    assert state.status == "succeeded", state.message
    # every stage once, in the pipeline's order, between reading the register and storing
    assert [s for s, _ in seen] == [
        "register", "inputs", "county", *STAGES, "workbook", "report", "store"
    ]  # fmt: skip
    assert ("register", "inputs", "county", *STAGES, "workbook", "report", "store") == task.STEPS
    # progress: the stage's index over the 15 stages, rising; 1 at the end
    assert [p for _, p in seen] == pytest.approx([i / 15 for i in range(15)])
    assert state.progress == 1.0 and state.attempts == 1 and state.stage == "store"
    assert state.created_by == owner.user_id and state.backend == "thread"
    assert state.params == {"project_id": "QS-P-M09", "lang": "zh", "pdf": False, "on": H.ON}
    result = state.result
    assert result["version"] == 1 and result["reused"] is False and result["on"] == H.ON
    # the stored version: its document is appraisal.json on disk, its files under v1/
    row = repo.get_appraisal(store, "QS-P-M09", 1)
    assert row["inputs_sha256"] == result["inputs_sha256"] and row["job_id"] == job_id
    data_dir = app.state.settings.data_dir
    assert row["files"] == {
        "json": "appraisals/QS-P-M09/v1/appraisal.json",
        "zh": {
            "xlsx": "appraisals/QS-P-M09/v1/appraisal-zh.xlsx",
            "html": "appraisals/QS-P-M09/v1/report-zh.html",
        },
    }
    on_disk = json.loads((data_dir / row["files"]["json"]).read_text(encoding="utf-8"))
    assert on_disk == row["document"]
    assert row["document"]["on"] == H.ON and row["document"]["project"]["mines"] == ["QS-M09"]
    # the document names the stored inputs it was made from: the project's spec and the
    # register rows (their hashes), and the hash of the inputs is the row's
    doc_inputs = row["document"]["inputs"]
    assert doc_inputs["project"]["sha256"] == task.sha256_json(project["spec"])
    ids = task.county_mines(store, ["QS-M09"])
    assert len(ids) == 40  # examples/demo-county/README.md: 40 mines, one county
    assert doc_inputs["county"][0]["sha256"] == task.register_sha256(store, ids)
    inputs = task.appraisal_inputs(
        project["spec"], ids, task.register_sha256(store, ids), on=H.ON, region="430599"
    )
    assert task.sha256_json(inputs) == row["inputs_sha256"]
    assert (
        task.stored_file(data_dir, row, "html", "zh")
        .read_text(encoding="utf-8")
        .startswith("<!DOCTYPE html>")
    )
    assert task.stored_file(data_dir, row, "pdf", "zh") is None  # not asked for
    assert _versions(store, "QS-P-M09") == [(1, row["inputs_sha256"])]
    # the scratch folder of the attempt is gone
    assert [p.name for p in (data_dir / "appraisals" / "QS-P-M09").iterdir()] == ["v1"]


def test_the_same_inputs_never_make_a_second_version(app, store, owner, project):
    """Re-running the appraisal of unchanged inputs reuses version 1 (one row per hash); a
    language not made yet is rendered from its stored document into the same version; a
    changed register record gives version 2 with another hash."""
    before = _versions(store, "QS-P-M09")
    assert len(before) == 1
    params = {"project_id": "QS-P-M09", "pdf": False, "on": H.ON}
    again = H.wait_done(app, jobs.submit(app, "appraisal", params, principal=owner))
    assert again.status == "succeeded" and again.result["reused"] is True
    assert again.result["version"] == 1 and again.stage == "inputs"  # nothing recomputed
    en = H.wait_done(app, jobs.submit(app, "appraisal", {**params, "lang": "en"}, principal=owner))
    assert en.status == "succeeded" and en.result["reused"] is True and en.result["version"] == 1
    assert en.result["files"]["html"] == "appraisals/QS-P-M09/v1/report-en.html"
    row = repo.get_appraisal(store, "QS-P-M09", 1)
    assert set(row["files"]) == {"json", "zh", "en"}
    assert _versions(store, "QS-P-M09") == before
    # another mine of the county changes (the ranking compares the project's mine with it):
    # new inputs, version 2
    store.update_mine("QS-M01", {"status": "abandoned"})  # was closed
    changed = H.wait_done(app, jobs.submit(app, "appraisal", params, principal=owner))
    assert changed.status == "succeeded" and changed.result["reused"] is False
    versions = _versions(store, "QS-P-M09")
    assert [v for v, _ in versions] == [1, 2] and versions[0][1] != versions[1][1]


def test_two_runs_of_the_same_inputs_give_the_same_document(app, store, owner, tmp_path):
    """Determinism behind the reuse: the job run on a copy of the store (same spec, register,
    tables, date) gives the same inputs hash and the same document."""
    from restora.service.settings import Settings
    from restora.store import Store
    from restora.store.engine import sqlite_path

    copy = tmp_path / "copy.db"
    with sqlite3.connect(sqlite_path(store.url)) as src, sqlite3.connect(copy) as dst:
        src.backup(dst)  # a consistent copy of the SQLite file
    latest = repo.get_appraisal(store, "QS-P-M09")
    with Store(f"sqlite:///{copy}") as other:
        with other.engine.begin() as conn:
            conn.execute(sa.delete(APPRAISALS))
        target = SimpleNamespace(
            state=SimpleNamespace(store=other, settings=Settings(data_dir=tmp_path / "data"))
        )
        state = H.wait_done(
            target,
            jobs.submit(
                target,
                "appraisal",
                {"project_id": "QS-P-M09", "pdf": False, "on": H.ON},
                principal=owner,
            ),
        )
        target.state.job_queue.stop()
        assert state.status == "succeeded", state.message
        rerun = repo.get_appraisal(other, "QS-P-M09")
    assert rerun["version"] == 1
    assert rerun["inputs_sha256"] == latest["inputs_sha256"]
    assert rerun["document"] == latest["document"]


def test_a_job_can_be_cancelled_running_or_queued(app, store, owner, monkeypatch):
    gate = H.GateTask()
    kind = gate.install(monkeypatch)
    running = jobs.submit(app, kind, {}, principal=owner)
    assert gate.started.wait(30)
    queued = jobs.submit(app, kind, {"n": 2}, principal=owner)  # waits behind the first
    assert jobs.get(app, queued).status == "queued"
    q = jobs.cancel(app, queued)
    assert q.status == "cancelled" and q.attempts == 0 and q.message == "cancelled before it ran"
    r = jobs.cancel(app, running)
    assert r.status == "running" and r.cancel_requested  # stops at its next stage
    gate.gate.set()
    r = H.wait_done(app, running)
    assert (r.status, r.stage, r.message) == ("cancelled", "two", "cancelled at stage two")
    assert r.result is None and r.finished_at is not None
    assert jobs.get(app, queued).attempts == 0  # never ran


def test_a_failure_is_visible_with_its_message(app, store, owner):
    """A project whose financing names an unknown instrument fails at the financing stage;
    the job says so, naming the field; no version is stored."""
    spec = H.demo_spec("QS-P-BAD", financing=[{"instrument": "no-such-instrument"}])
    repo.create_project(store, spec, created_by=owner.user_id)
    state = H.wait_done(
        app,
        jobs.submit(app, "appraisal", {"project_id": "QS-P-BAD", "pdf": False}, principal=owner),
    )
    assert state.status == "failed" and state.stage == "financing"
    assert "unknown instrument 'no-such-instrument'" in state.message
    assert [e["field"] for e in state.result["errors"]] == ["instrument"]
    assert repo.list_appraisals(store, "QS-P-BAD") == []
    assert not (app.state.settings.data_dir / "appraisals" / "QS-P-BAD").exists() or not any(
        (app.state.settings.data_dir / "appraisals" / "QS-P-BAD").iterdir()
    )


def test_an_internal_error_is_a_failure_with_its_message(app, owner, monkeypatch):
    gate = H.GateTask()
    kind = gate.install(monkeypatch)
    gate.gate.set()
    state = H.wait_done(app, jobs.submit(app, kind, {"fail": "the disk is full"}, principal=owner))
    assert (state.status, state.message, state.stage) == ("failed", "the disk is full", "one")


def test_submit_checks_its_parameters(app, owner):
    cases = [
        (("nope", {}), "kind"),
        (("appraisal", {}), "project_id"),
        (("appraisal", {"project_id": "NO-SUCH"}), "project_id"),
        (("appraisal", {"project_id": "QS-P-M09", "lang": "fr"}), "lang"),
        (("appraisal", {"project_id": "QS-P-M09", "on": "2026-13-01"}), "on"),
        (("appraisal", {"project_id": "QS-P-M09", "pdf": "yes"}), "pdf"),
        (("appraisal", {"project_id": "QS-P-M09", "draws": 5}), "draws"),
    ]
    for (kind, params), field in cases:
        with pytest.raises(InputError) as err:
            jobs.submit(app, kind, params, principal=owner)
        assert err.value.problems[0].field == field, (kind, params)
    # the date defaults to the day of submission, fixed in the job's parameters
    clean = jobs.runner.task("appraisal").prepare(app.state.store, {"project_id": "QS-P-M09"})
    assert clean == {
        "project_id": "QS-P-M09",
        "lang": "zh",
        "pdf": True,
        "on": dt.date.today().isoformat(),
    }


def test_an_idempotency_key_queues_one_job(app, owner, monkeypatch):
    gate = H.GateTask()
    kind = gate.install(monkeypatch)
    gate.gate.set()
    first = jobs.submit(app, kind, {"x": 1}, principal=owner, idempotency_key="k-1")
    assert jobs.submit(app, kind, {"x": 1}, principal=owner, idempotency_key="k-1") == first
    with pytest.raises(InputError) as err:
        jobs.submit(app, kind, {"x": 2}, principal=owner, idempotency_key="k-1")
    assert err.value.problems[0].field == "idempotency_key"
    H.wait_done(app, first)
    assert len([s for s in jobs.list(app)[0] if s.id == first]) == 1


def test_a_job_orphaned_by_a_dead_process_runs_again(app, store, owner, monkeypatch):
    """The in-process queue's restart: a job left running by a process that died (its heartbeat
    older than STALE_AFTER_S) is queued again and re-run as attempt 2."""
    from restora.service.jobs import threads

    gate = H.GateTask()
    kind = gate.install(monkeypatch)
    gate.gate.set()
    row, _ = repo.insert_job(
        store, job_id="deadbeef" * 4, kind=kind, params={}, backend="thread", created_by=11
    )
    claimed = repo.claim_job(store, row["id"], "gone-host:1")
    assert claimed["status"] == "running" and claimed["attempts"] == 1
    old = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=threads.STALE_AFTER_S + 5)
    from restora.store.platform_tables import jobs as JOBS

    with store.engine.begin() as conn:
        conn.execute(sa.update(JOBS).where(JOBS.c.id == row["id"]).values(heartbeat_at=old))
    jobs.queue_for(app).send("wake")  # what the thread does every POLL_S
    state = H.wait_done(app, row["id"])
    assert state.status == "succeeded" and state.attempts == 2
    assert state.result == {"done": True, "attempt": 2}
    assert state.worker != "gone-host:1"


def test_an_unreachable_broker_fails_the_job_with_its_message(store, owner, tmp_path, monkeypatch):
    from restora.service.settings import Settings

    monkeypatch.setenv("RESTORA_BROKER_NAMESPACE", "restora-test-unreachable")
    target = SimpleNamespace(
        state=SimpleNamespace(
            store=store,
            settings=Settings(broker_url="redis://127.0.0.1:9/0", data_dir=tmp_path),
        )
    )
    job_id = jobs.submit(target, "appraisal", {"project_id": "QS-P-M09"}, principal=owner)
    state = jobs.get(target, job_id)
    assert state.status == "failed" and state.backend == "dramatiq" and state.attempts == 0
    assert state.message.startswith("could not queue the job on redis://127.0.0.1:9/0: ")


# ------------------------------------------------------------------------------------- API


def test_the_jobs_api_shows_a_job_to_its_owner_only(app, client, store, owner, monkeypatch):
    other = H.add_user(store, 12, "enterprise")
    admin = H.add_user(store, 13, "admin")
    gate = H.GateTask()
    kind = gate.install(monkeypatch)
    gate.gate.set()
    mine = H.wait_done(app, jobs.submit(app, kind, {"who": "owner"}, principal=owner))
    theirs = H.wait_done(app, jobs.submit(app, kind, {"who": "other"}, principal=other))
    appraisal = next(
        s for s in jobs.list(app, principal=owner, kind="appraisal", status="succeeded")[0]
        if s.result["version"] == 1 and s.result["lang"] == "zh"
    )  # fmt: skip
    try:
        client.app.state.authenticate = H.as_principal(owner)
        page = client.get("/api/v1/jobs", params={"limit": 500}).json()
        ids = {j["id"] for j in page["items"]}
        assert mine.id in ids and theirs.id not in ids and page["total"] == len(ids)
        body = client.get(f"/api/v1/jobs/{mine.id}").json()
        assert body["status"] == "succeeded" and body["progress"] == 1.0
        assert body["steps"] == ["one", "two", "three"] and body["stage"] == "three"
        assert body["attempts"] == 1 and body["message"] is None
        assert body["links"] == {
            "self": f"/api/v1/jobs/{mine.id}", "cancel": None, "appraisal": None, "files": {}
        }  # fmt: skip
        assert "worker" not in body and "backend" not in body  # the machine's names stay inside
        r = client.get(f"/api/v1/jobs/{theirs.id}")
        assert r.status_code == 404 and r.json()["type"] == "/problems/not-found"
        assert client.post(f"/api/v1/jobs/{theirs.id}/cancel").status_code == 404
        r = client.post(f"/api/v1/jobs/{mine.id}/cancel")
        assert r.status_code == 409 and r.json()["detail"] == "the job has already succeeded"
        # an appraisal job links to its version and files
        links = client.get(f"/api/v1/jobs/{appraisal.id}").json()["links"]
        base = "/api/v1/projects/QS-P-M09/appraisals/1"
        assert links["appraisal"] == base
        assert links["files"] == {
            "json": f"{base}/files/json",
            "xlsx": f"{base}/files/xlsx?lang=zh",
            "html": f"{base}/files/html?lang=zh",
        }
        assert client.get("/api/v1/jobs", params={"status": "nope"}).status_code == 422
        r = client.get("/api/v1/jobs", params={"sort": "kind"})
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "sort"
        # the admin sees every job
        client.app.state.authenticate = H.as_principal(admin)
        ids = {j["id"] for j in client.get("/api/v1/jobs", params={"limit": 500}).json()["items"]}
        assert {mine.id, theirs.id} <= ids
        assert client.get(f"/api/v1/jobs/{theirs.id}").status_code == 200
        # the public may not list jobs; finance may not follow them
        client.app.state.authenticate = None
        assert client.get("/api/v1/jobs").status_code == 401
        client.app.state.authenticate = H.as_principal(H.add_user(store, 14, "finance"))
        assert client.get(f"/api/v1/jobs/{mine.id}").status_code == 403
    finally:
        client.app.state.authenticate = None


def test_cancel_through_the_api(app, client, owner, monkeypatch):
    gate = H.GateTask()
    kind = gate.install(monkeypatch)
    job_id = jobs.submit(app, kind, {}, principal=owner)
    assert gate.started.wait(30)
    try:
        client.app.state.authenticate = H.as_principal(owner)
        body = client.post(f"/api/v1/jobs/{job_id}/cancel").json()
        assert body["status"] == "running" and body["cancel_requested"] is True
        assert body["links"]["cancel"] == f"/api/v1/jobs/{job_id}/cancel"
        gate.gate.set()
        H.wait_done(app, job_id)
        deadline = time.monotonic() + 10
        while (body := client.get(f"/api/v1/jobs/{job_id}").json())["status"] == "running":
            assert time.monotonic() < deadline
        assert body["status"] == "cancelled" and body["message"] == "cancelled at stage two"
        # cancelling a cancelled job again is harmless
        assert client.post(f"/api/v1/jobs/{job_id}/cancel").json()["status"] == "cancelled"
    finally:
        client.app.state.authenticate = None
