"""``POST /api/v1/imports``: register files over HTTP, add / upsert / dry run, end to end.

The answer is the JSON of ``restora mines import --format json`` (the same function reads and
writes), checked here against the command run on the same files.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pyogrio
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from restora.cli import app as cli
from restora.service.security import Principal
from restora.store import Store

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "examples" / "demo-county"
FILES = ("register.gpkg", "soil_samples.csv", "hazards.csv")
ADMIN = Principal(role="admin", user_id=1, username="admin")


def _as(principal):
    async def authenticate(request):
        return principal

    return authenticate


@pytest.fixture
def empty(tmp_path):
    """The service over an empty store (the demo county is imported by the tests)."""
    from restora.service.app import create_app
    from restora.service.settings import Settings

    url = f"sqlite:///{tmp_path / 'empty.db'}"
    app = create_app(
        Settings(
            database_url=url,
            secret_key="test-secret-key",
            secret_key_from_env=True,
            data_dir=tmp_path / "data",
        )
    )
    app.state.authenticate = _as(ADMIN)
    with TestClient(app) as c:
        yield c, url


def _upload(names=FILES, folder=DEMO):
    return [("files", (n, (folder / n).read_bytes())) for n in names]


def _cli(*args: str, cwd: Path, monkeypatch) -> dict:
    monkeypatch.chdir(cwd)
    r = CliRunner().invoke(cli, ["mines", "import", *args, "--format", "json"])
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


def test_a_dry_run_answers_what_the_command_answers_and_writes_nothing(empty, monkeypatch):
    client, url = empty
    r = client.post(
        "/api/v1/imports", params={"dry_run": True, "lonlat_wgs84": True}, files=_upload()
    )
    assert r.status_code == 200, r.text
    api = r.json()
    cli_json = _cli(
        *FILES, "--db", url, "--dry-run", "--lonlat-wgs84", cwd=DEMO, monkeypatch=monkeypatch
    )
    assert api == cli_json
    # examples/demo-county/README.md: 40 mines, 133 sites, 454 samples, 66 hazards
    assert api["added"] == {"mines": 40, "sites": 133, "samples": 454, "hazards": 66}
    assert api["dry_run"] is True and api["change_id"] is None
    with Store(url) as store:
        assert store.counts() == {"mines": 0, "sites": 0, "samples": 0, "hazards": 0}


def test_add_then_upsert_over_http_with_a_diff(empty, tmp_path, monkeypatch):
    client, url = empty
    r = client.post("/api/v1/imports", params={"lonlat_wgs84": True}, files=_upload())
    assert r.status_code == 200, r.text
    first = r.json()
    assert first["change_id"] is not None and first["counts"]["samples"] == 454
    with Store(url) as store:
        assert store.counts() == {"mines": 40, "sites": 133, "samples": 454, "hazards": 66}
        trail = store.history()
    assert trail[0]["command"] == "POST /api/v1/imports" and trail[0]["user"] == "admin"
    assert [f["path"] for f in trail[0]["files"]] == list(FILES)

    # the same files again in add mode: every id is already in the store, nothing written
    r = client.post("/api/v1/imports", params={"lonlat_wgs84": True}, files=_upload(FILES[1:]))
    assert r.status_code == 422
    body = r.json()
    assert body["errors"][0]["field"] == "sample_id"
    assert "already in the store" in body["errors"][0]["message"]

    # one changed pH: upsert updates that field only, dry run first
    text = (DEMO / "hazards.csv").read_text(encoding="utf-8").splitlines()
    head, row = text[0].split(","), text[1].split(",")
    column = head.index("people_threatened") if "people_threatened" in head else None
    assert column is not None, head
    old = int(row[column])
    row[column] = str(old + 7)
    changed = tmp_path / "hazards.csv"
    changed.write_text("\n".join([text[0], ",".join(row)]) + "\n", encoding="utf-8")
    for dry in (True, False):
        r = client.post(
            "/api/v1/imports",
            params={"mode": "upsert", "dry_run": dry, "lonlat_wgs84": True},
            files=_upload(["hazards.csv"], tmp_path),
        )
        assert r.status_code == 200, r.text
        got = r.json()
        assert got["updated"] == [
            {"table": "hazards", "id": row[head.index("hazard_id")],
             "changes": {"people_threatened": [old, old + 7]}}
        ]  # fmt: skip
        assert (got["change_id"] is None) == dry
    cli_json = _cli(
        "hazards.csv", "--db", url, "--mode", "upsert", "--dry-run", "--lonlat-wgs84",
        cwd=tmp_path, monkeypatch=monkeypatch,
    )  # fmt: skip
    assert cli_json["updated"] == [] and cli_json["unchanged"] == 1  # already written above


def test_a_zipped_shapefile_and_bad_files(empty, tmp_path):
    client, url = empty
    frame = pyogrio.read_dataframe(DEMO / "register.gpkg")
    # a DBF names a field in 10 bytes: the register's shorter aliases (adcode, area_ha, 责任人)
    frame = frame.rename(
        columns={
            "region_code": "adcode",
            "declared_area_hm2": "area_ha",
            "responsible_party": "责任人",
        }
    ).drop(columns=["closure_year", "landscape_value", "water_depth_m", "soil_thickness_m"])
    shp = tmp_path / "shp" / "sites.shp"
    shp.parent.mkdir()
    pyogrio.write_dataframe(frame, shp, encoding="UTF-8")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for p in sorted(shp.parent.iterdir()):
            zf.write(p, p.name)
    r = client.post(
        "/api/v1/imports",
        params={"dry_run": True},
        files=[("files", ("sites.zip", buf.getvalue(), "application/zip"))],
    )
    assert r.status_code == 200, r.text
    assert r.json()["files"][0]["format"] == "shapefile"
    assert r.json()["added"]["sites"] == len(frame)

    bad = b"sample_id,mine_id,ph,land_use,Cd\nT1,NOPE,6.5,paddy,abc\n"
    r = client.post("/api/v1/imports", files=[("files", ("samples.csv", bad, "text/csv"))])
    assert r.status_code == 422
    errors = {e["field"]: e for e in r.json()["errors"]}
    assert errors["Cd"]["file"] == "samples.csv" and errors["Cd"]["row"] == 1
    assert errors["Cd"]["message"] == '"abc" is not a number'
    assert "NOPE" in errors["mine_id"]["message"]

    r = client.post(
        "/api/v1/imports", files=[("files", ("../../etc/passwd.txt", b"x\n", "text/plain"))]
    )
    assert r.status_code == 422 and r.json()["errors"][0]["file"] == "passwd.txt"
    r = client.post("/api/v1/imports", files=[("files", ("notes.doc", b"x", "text/plain"))])
    assert r.status_code == 422 and "unknown file type" in r.json()["detail"]
    with Store(url) as store:
        assert store.counts()["samples"] == 0


def test_a_county_bureau_imports_only_its_county(empty):
    client, _ = empty
    client.app.state.authenticate = _as(
        Principal(role="natural_resources", user_id=3, username="bureau", region="430100")
    )
    r = client.post(
        "/api/v1/imports", params={"dry_run": True, "lonlat_wgs84": True}, files=_upload()
    )
    assert r.status_code == 403 and "outside your region" in r.json()["detail"]
    client.app.state.authenticate = _as(Principal(role="finance", user_id=4, username="bank"))
    assert client.post("/api/v1/imports", files=_upload()).status_code == 403
