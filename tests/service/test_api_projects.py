"""Projects and appraisals over the API: the project file checked as the CLI checks it, who sees
which project, an appraisal started as a job and its stored versions and files."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import pytest
import yaml

from restora.service.security import Principal
from restora.store import projects as repo

ROOT = Path(__file__).resolve().parents[2]
PROJECT = ROOT / "examples" / "demo-projects" / "QS-M09.yaml"
ADMIN = Principal(role="admin", user_id=None, username="admin")


def _as(principal):
    async def authenticate(request):
        return principal

    return authenticate


@pytest.fixture
def as_role(client):
    before = getattr(client.app.state, "authenticate", None)

    def use(principal):
        client.app.state.authenticate = _as(principal)
        return client

    yield use
    client.app.state.authenticate = before


def _spec(**changes):
    doc = yaml.safe_load(PROJECT.read_text(encoding="utf-8"))
    doc.update(changes)
    return doc


def test_a_project_file_is_checked_and_errors_name_the_full_path(as_role):
    c = as_role(ADMIN)
    bad = _spec(project_id="API-BAD")
    bad["risk"]["drivers"][0]["low"] = "lots"
    bad["horizon_years"] = -3
    r = c.post("/api/v1/projects", json=bad)
    assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem")
    fields = {e["field"] for e in r.json()["errors"]}
    assert "risk.drivers.0.low" in fields and "horizon_years" in fields
    r = c.post("/api/v1/projects", json=_spec(project_id="API-BAD", mines=["NO-SUCH"]))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "mines.0"
    text = "project_id: [unclosed\n"
    r = c.post("/api/v1/projects", content=text, headers={"content-type": "application/yaml"})
    assert r.status_code == 422 and "not valid YAML" in r.json()["detail"]
    r = c.post("/api/v1/projects", content=b"{nope", headers={"content-type": "application/json"})
    assert r.status_code == 400


def test_a_project_as_an_uploaded_yaml_file_then_published_to_finance(as_role):
    c = as_role(ADMIN)
    data = PROJECT.read_bytes()
    r = c.post("/api/v1/projects", files={"file": ("QS-M09.yaml", data, "application/yaml")})
    assert r.status_code == 201, r.text
    p = r.json()
    assert p["project_id"] == "QS-P-M09" and p["published"] is False
    assert p["region_code"] == "430599" and p["spec"]["mines"] == ["QS-M09"]
    assert r.headers["location"].endswith("/api/v1/projects/QS-P-M09")
    assert (
        c.post(
            "/api/v1/projects", content=data, headers={"content-type": "application/yaml"}
        ).status_code
        == 409
    )

    bank = Principal(role="finance", user_id=20, username="bank")
    assert as_role(bank).get("/api/v1/projects/QS-P-M09").status_code == 404
    assert as_role(bank).get("/api/v1/projects").json()["total"] == 0
    assert as_role(ADMIN).post("/api/v1/projects/QS-P-M09/publish").json()["published"] is True
    assert as_role(bank).get("/api/v1/projects/QS-P-M09").status_code == 200
    assert as_role(bank).get("/api/v1/projects").json()["total"] == 1
    assert as_role(bank).get("/api/v1/projects", params={"published": False}).json()["total"] == 0
    assert as_role(bank).post("/api/v1/projects/QS-P-M09/unpublish").status_code == 403
    assert as_role(ADMIN).post("/api/v1/projects/QS-P-M09/unpublish").json()["published"] is False
    assert as_role(bank).get("/api/v1/projects/QS-P-M09").status_code == 404

    # a county bureau of another city neither sees it nor adds projects on that county's mines
    other = Principal(role="natural_resources", user_id=21, username="b", region="430100")
    assert as_role(other).get("/api/v1/projects/QS-P-M09").status_code == 404
    r = as_role(other).post("/api/v1/projects", json=_spec(project_id="API-OTHER"))
    assert r.status_code == 403 and r.json()["errors"][0]["field"] == "mines.0"


def test_patch_and_delete_a_project(as_role):
    c = as_role(ADMIN)
    assert c.post("/api/v1/projects", json=_spec(project_id="API-P2")).status_code == 201
    r = c.patch(
        "/api/v1/projects/API-P2", json={"spec": _spec(project_id="API-P2", horizon_years=25)}
    )
    assert r.status_code == 200 and r.json()["spec"]["horizon_years"] == 25
    r = c.patch("/api/v1/projects/API-P2", json={"spec": _spec(project_id="API-P3")})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "project_id"
    r = c.patch(
        "/api/v1/projects/API-P2", json={"spec": _spec(project_id="API-P2", discount_rate="x")}
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "discount_rate"
    assert c.delete("/api/v1/projects/API-P2").status_code == 200
    assert c.get("/api/v1/projects/API-P2").status_code == 404


def test_stored_versions_and_their_files(as_role, app):
    """The download routes over a version stored by the repository (files of known bytes)."""
    c = as_role(ADMIN)
    assert c.post("/api/v1/projects", json=_spec(project_id="API-P4")).status_code == 201
    data_dir = Path(app.state.settings.data_dir)
    made = {"html": b"<html>report</html>", "pdf": b"%PDF-1.7 test", "xlsx": b"PK\x03\x04 test"}

    def place(version):
        folder = data_dir / "appraisals" / "API-P4" / f"v{version}"
        folder.mkdir(parents=True)
        (folder / "appraisal.json").write_text('{"a": 1}')
        files = {"json": f"appraisals/API-P4/v{version}/appraisal.json", "en": {}}
        for kind, content in made.items():
            (folder / f"f.{kind}").write_bytes(content)
            files["en"][kind] = f"appraisals/API-P4/v{version}/f.{kind}"
        return files

    row, new = repo.add_appraisal(
        app.state.store,
        "API-P4",
        inputs_sha256=hashlib.sha256(b"inputs").hexdigest(),
        on_date="2026-01-01",
        document={"project": {"mines": ["QS-M09"]}, "npv_cny": 1.0},
        place=place,
    )
    assert new and row["version"] == 1
    versions = c.get("/api/v1/projects/API-P4/appraisals").json()
    assert [v["version"] for v in versions] == [1]
    assert versions[0]["inputs_sha256"] == hashlib.sha256(b"inputs").hexdigest()
    assert c.get("/api/v1/projects/API-P4/appraisals/1").json()["npv_cny"] == 1.0
    base = "/api/v1/projects/API-P4/appraisals/1"
    for route, kind, media in (
        ("report.html", "html", "text/html"),
        ("report.pdf", "pdf", "application/pdf"),
        (
            "workbook.xlsx",
            "xlsx",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
    ):
        r = c.get(f"{base}/{route}", params={"lang": "en"})
        assert r.status_code == 200 and r.content == made[kind]
        assert r.headers["content-type"].startswith(media)
        assert (
            r.headers["content-disposition"]
            == f'attachment; filename="API-P4-v1-{"workbook" if kind == "xlsx" else "report"}-en.{kind}"'
        )
        assert c.get(f"{base}/files/{kind}", params={"lang": "en"}).content == made[kind]
    assert c.get(f"{base}/report.pdf", params={"lang": "zh"}).status_code == 404  # not made
    assert c.get("/api/v1/projects/API-P4/appraisals/2").status_code == 404
    bank = Principal(role="finance", user_id=20, username="bank")
    assert as_role(bank).get(f"{base}/report.pdf", params={"lang": "en"}).status_code == 404


def test_an_appraisal_runs_as_a_job_and_is_stored_as_a_version(as_role):
    c = as_role(Principal(role="admin", user_id=None, username="admin"))
    assert c.post("/api/v1/projects", json=_spec(project_id="API-P5")).status_code == 201
    r = c.post("/api/v1/projects/API-P5/appraisals", json={"lang": "en", "pdf": False})
    assert r.status_code == 202, r.text
    job_url = r.json()["job_url"]
    assert r.headers["location"] == job_url
    deadline = time.monotonic() + 600
    while True:
        job = c.get(job_url).json()
        if job["status"] in ("succeeded", "failed", "cancelled") or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert job["status"] == "succeeded", job
    versions = c.get("/api/v1/projects/API-P5/appraisals").json()
    assert [v["version"] for v in versions] == [1] and versions[0]["job_id"] == job["id"]
    doc = c.get("/api/v1/projects/API-P5/appraisals/1").json()
    assert doc["project"]["project_id"] == "API-P5"
    r = c.get("/api/v1/projects/API-P5/appraisals/1/workbook.xlsx", params={"lang": "en"})
    assert r.status_code == 200 and r.content[:2] == b"PK"  # a zip: an Office Open XML workbook
    r = c.post("/api/v1/projects/API-P5/appraisals", json={"lang": "fr"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "lang"
