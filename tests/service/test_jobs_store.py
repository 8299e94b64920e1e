"""The projects / appraisals / jobs repository (restora.store.projects) on SQLite and PostgreSQL.

Each test runs on a copy of the demo county's SQLite store and on a fresh PostgreSQL schema
holding the demo county (marked ``postgres``: run when RESTORA_TEST_PG_URL is set or CI is
true). The appraisal job runs end to end on both.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import shutil
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from restora.errors import InputError
from restora.store import projects as repo


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
DEMO = H.ROOT / "examples" / "demo-county"


@pytest.fixture(scope="module")
def demo_county():
    from restora.appraisal.io import read_county

    return read_county(
        [DEMO / f for f in ("register.gpkg", "soil_samples.csv", "hazards.csv")],
        DEMO / "context.gpkg",
    )


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store(request, demo_db, demo_county, tmp_path):
    """A store holding the demo county: a copy of the SQLite file, or a PostgreSQL schema."""
    from restora.store import Store

    if request.param == "sqlite":
        copy = tmp_path / "demo.db"
        shutil.copyfile(demo_db, copy)
        url = f"sqlite:///{copy}"
    else:
        url = request.getfixturevalue("pg_schema_url")
    with Store(url) as s:
        if request.param != "sqlite":
            s.add_register(demo_county.register, source={"files": demo_county.inputs})
        yield s


def _audit_rows(store, table):
    from restora.store.tables import audit

    with store.engine.connect() as conn:
        return conn.execute(
            sa.select(audit.c.record_id, audit.c.action, audit.c.mine_id)
            .where(audit.c.table_name == table)
            .order_by(audit.c.id)
        ).all()


def test_projects_are_created_checked_updated_and_deleted(store):
    owner = H.add_user(store, 31)
    p = repo.create_project(store, H.demo_spec(), created_by=owner.user_id, owner_org_id=None)
    assert p["project_id"] == "QS-P-M09" and p["region_code"] == "430599"
    assert p["name"] == "黄泥塘煤矿采煤塌陷区综合整治项目" and p["published"] is False
    assert p["spec"]["risk"]["draws"] == H.DRAWS and "price_year" not in p["spec"]  # as given
    assert p["created_at"].tzinfo is not None
    # bad input names the field of the body
    cases = [
        (H.demo_spec(risk={"draws": 5}), "spec.risk.draws"),
        (H.demo_spec("QS-P-X", mines=["QS-M09", "NOPE"]), "spec.mines.1"),
        (H.demo_spec(), "spec.project_id"),  # exists
        ({**H.demo_spec("QS-P-Y"), "colour": "red"}, "spec.colour"),
    ]
    for spec, field in cases:
        with pytest.raises(InputError) as err:
            repo.create_project(store, spec)
        assert err.value.problems[0].field == field
    repo.create_project(store, H.demo_spec("QS-P-M10", mines=["QS-M10"], name="B"))
    rows, total = repo.list_projects(store, region_prefix="4305", sort="name")
    assert total == 2 and [r["project_id"] for r in rows] == ["QS-P-M10", "QS-P-M09"]  # B < 黄
    assert repo.list_projects(store, region_prefix="11")[1] == 0
    with pytest.raises(InputError) as err:
        repo.list_projects(store, sort="spec")
    assert err.value.problems[0].field == "sort"
    # update: the spec is checked again, its id cannot change; publication
    u = repo.update_project(store, "QS-P-M09", spec=H.demo_spec(horizon_years=15), published=True)
    assert u["spec"]["horizon_years"] == 15 and u["published"] is True
    assert u["updated_at"] > p["updated_at"]
    with pytest.raises(InputError) as err:
        repo.update_project(store, "QS-P-M09", spec=H.demo_spec("OTHER"))
    assert err.value.problems[0].field == "spec.project_id"
    assert repo.list_projects(store, published=True)[1] == 1
    # soft delete: gone from reads, kept with include_deleted
    d = repo.delete_project(store, "QS-P-M10")
    assert d["deleted_at"] is not None and repo.get_project(store, "QS-P-M10") is None
    assert repo.get_project(store, "QS-P-M10", include_deleted=True)["name"] == "B"
    with pytest.raises(InputError):
        repo.update_project(store, "QS-P-M10", published=True)
    # every write audited, with the project's first mine
    assert _audit_rows(store, "projects") == [
        ("QS-P-M09", "insert", "QS-M09"),
        ("QS-P-M10", "insert", "QS-M10"),
        ("QS-P-M09", "update", "QS-M09"),
        ("QS-P-M10", "delete", "QS-M10"),
    ]


def test_appraisal_versions_count_per_project_one_per_inputs_hash(store, tmp_path):
    repo.create_project(store, H.demo_spec())
    placed = []

    def place(version):
        placed.append(version)
        return {"json": f"appraisals/QS-P-M09/v{version}/appraisal.json"}

    doc = {"project": {"mines": ["QS-M09"]}, "value": 1.5}
    one, created = repo.add_appraisal(
        store, "QS-P-M09", inputs_sha256="a" * 64, on_date="2026-06-01", document=doc, place=place
    )
    assert created and one["version"] == 1 and placed == [1]
    same, created = repo.add_appraisal(
        store, "QS-P-M09", inputs_sha256="a" * 64, on_date="2026-06-01", document=doc, place=place
    )
    assert not created and same["id"] == one["id"] and placed == [1]  # nothing placed
    two, created = repo.add_appraisal(
        store, "QS-P-M09", inputs_sha256="b" * 64, on_date="2026-07-01", document=doc, place=place
    )
    assert created and two["version"] == 2 and placed == [1, 2]
    # the hash is unique per project in the database too
    from restora.store.platform_tables import appraisals

    with pytest.raises(sa.exc.IntegrityError), store.engine.begin() as conn:
        conn.execute(
            appraisals.insert().values(
                project_id="QS-P-M09", version=3, inputs_sha256="a" * 64, on_date="x",
                created_at=dt.datetime.now(dt.UTC), document={}, files={},
            )
        )  # fmt: skip
    assert [a["version"] for a in repo.list_appraisals(store, "QS-P-M09")] == [2, 1]
    assert repo.get_appraisal(store, "QS-P-M09")["version"] == 2  # the latest
    assert repo.get_appraisal(store, "QS-P-M09", 1)["document"] == doc
    assert "document" not in repo.get_appraisal(store, "QS-P-M09", 1, document=False)
    assert repo.find_appraisal(store, "QS-P-M09", "b" * 64)["version"] == 2
    assert repo.find_appraisal(store, "QS-P-M09", "c" * 64) is None
    with_en = repo.add_appraisal_files(store, one["id"], "en", {"html": "x/report-en.html"})
    assert with_en["files"] == {
        "json": "appraisals/QS-P-M09/v1/appraisal.json",
        "en": {"html": "x/report-en.html"},
    }
    assert [r[:2] for r in _audit_rows(store, "appraisals")] == [
        ("QS-P-M09/v1", "insert"),
        ("QS-P-M09/v2", "insert"),
    ]


def test_the_job_state_machine(store):
    owner = H.add_user(store, 32)
    row, created = repo.insert_job(
        store, job_id="a1", kind="appraisal", params={"p": 1}, backend="thread",
        created_by=owner.user_id, idempotency_key="key",
    )  # fmt: skip
    assert created and (row["status"], row["progress"], row["attempts"]) == ("queued", 0.0, 0)
    again, created = repo.insert_job(
        store, job_id="a2", kind="appraisal", params={"p": 1}, backend="thread",
        idempotency_key="key",
    )  # fmt: skip
    assert not created and again["id"] == "a1"
    assert repo.next_queued_job(store, "thread") == "a1"
    assert repo.next_queued_job(store, "dramatiq") is None
    # claim: running, attempt 1; a second claim from "queued" finds nothing
    run = repo.claim_job(store, "a1", "w1")
    assert (run["status"], run["attempts"], run["worker"]) == ("running", 1, "w1")
    assert repo.claim_job(store, "a1", "w2") is None
    # a broker's redelivery claims it again from running: attempt 2
    run = repo.claim_job(store, "a1", "w2", statuses=("queued", "running"))
    assert (run["attempts"], run["worker"]) == (2, "w2")
    assert repo.report_progress(store, "a1", "plan", 0.25) is False
    assert repo.get_job(store, "a1")["stage"] == "plan"
    # cancellation of a running job is a flag the next stage sees
    assert repo.request_cancel(store, "a1")["status"] == "running"
    assert repo.report_progress(store, "a1", "cost", 0.3) is True
    done = repo.finish_job(store, "a1", "cancelled", message="cancelled at stage cost")
    assert done["status"] == "cancelled" and done["finished_at"] is not None
    # a finished job stays finished
    assert repo.finish_job(store, "a1", "succeeded")["status"] == "cancelled"
    assert repo.claim_job(store, "a1", "w3", statuses=("queued", "running")) is None
    with pytest.raises(ValueError):
        repo.finish_job(store, "a1", "running")
    # a queued job cancelled never runs
    repo.insert_job(store, job_id="b1", kind="appraisal", params={}, backend="thread")
    assert repo.request_cancel(store, "b1")["status"] == "cancelled"
    assert repo.claim_job(store, "b1", "w1") is None
    # a running job whose worker fell silent is queued again
    repo.insert_job(store, job_id="c1", kind="appraisal", params={}, backend="thread")
    repo.claim_job(store, "c1", "w1")
    assert repo.requeue_stale_jobs(store, "thread", dt.timedelta(seconds=60)) == []
    assert repo.requeue_stale_jobs(store, "thread", dt.timedelta(seconds=-1)) == ["c1"]
    c1 = repo.get_job(store, "c1")
    assert (c1["status"], c1["attempts"], c1["worker"]) == ("queued", 1, None)
    assert repo.finish_job(store, "c1", "succeeded", result={"ok": 1})["status"] == "queued"
    rows, total = repo.list_jobs(store, created_by=owner.user_id)
    assert total == 1 and rows[0]["id"] == "a1"
    assert repo.list_jobs(store, status="queued")[1] == 1
    assert repo.get_job(store, "nope") is None and repo.request_cancel(store, "nope") is None


def test_an_appraisal_job_runs_on_the_store(store, tmp_path):
    """The appraisal job end to end on this store (the in-process queue)."""
    from restora.service import jobs
    from restora.service.settings import Settings

    owner = H.add_user(store, 33, "enterprise")
    repo.create_project(store, H.demo_spec(), created_by=owner.user_id)
    target = SimpleNamespace(
        state=SimpleNamespace(store=store, settings=Settings(data_dir=tmp_path / "data"))
    )
    try:
        params = {"project_id": "QS-P-M09", "pdf": False, "on": H.ON}
        state = H.wait_done(target, jobs.submit(target, "appraisal", params, principal=owner))
        assert state.status == "succeeded", state.message
        again = H.wait_done(target, jobs.submit(target, "appraisal", params, principal=owner))
        assert again.result["reused"] is True
        assert again.result["inputs_sha256"] == state.result["inputs_sha256"]
    finally:
        target.state.job_queue.stop()
    rows = repo.list_appraisals(store, "QS-P-M09")
    assert [r["version"] for r in rows] == [1] and rows[0]["created_by"] == owner.user_id
    doc = repo.get_appraisal(store, "QS-P-M09")["document"]
    assert doc["on"] == H.ON and doc["stages"]["risk"]["status"] == "assessed"


def test_two_workers_never_both_claim_a_queued_job(store):
    """Two workers claim the same queued job at the same moment: one gets it (attempt 1), the
    other nothing. On PostgreSQL the second conditional update waits for the first and then
    matches no row; without the row-count check it would claim the job too."""
    import threading

    for i in range(8):
        repo.insert_job(store, job_id=f"r{i}", kind="appraisal", params={}, backend="dramatiq")
    for i in range(8):
        barrier = threading.Barrier(2)
        got = {}

        def claim(worker, job_id=f"r{i}", barrier=barrier, got=got):
            barrier.wait()
            got[worker] = repo.claim_job(store, job_id, worker)

        threads = [threading.Thread(target=claim, args=(w,)) for w in ("w1", "w2")]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        winners = [w for w, row in got.items() if row is not None]
        assert len(got) == 2 and len(winners) == 1
        job = repo.get_job(store, f"r{i}")
        assert job["attempts"] == 1 and job["worker"] == winners[0]


def test_the_register_hash_is_that_of_the_register_read(store, monkeypatch):
    """An import that lands while the appraisal reads the register (here: right after the
    first load) makes the read start again, so the register used and its hash agree. Read and
    hashed one after the other, the register was the old one and the hash the new one's."""
    from restora.service.tasks import appraisal as task

    load = store.load_register
    calls = []

    def load_then_import(ids):
        register = load(ids)
        if not calls:
            store.update_mine("QS-M02", {"status": "abandoned"})  # was closed
        calls.append(len(ids))
        return register

    monkeypatch.setattr(store, "load_register", load_then_import)
    ids, register, sha = task.read_register(store, ["QS-M09"])
    assert calls == [40, 40]  # read twice: the county's 40 mines
    status = dict(zip(register.mines["mine_id"], register.mines["status"], strict=True))
    assert status["QS-M02"] == "abandoned"
    assert sha == task.register_sha256(store, ids)
