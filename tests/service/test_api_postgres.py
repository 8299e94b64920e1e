"""The register API on PostgreSQL: the demo county imported over HTTP, then read, written and
diagnosed as on SQLite (runs when RESTORA_TEST_PG_URL is set or CI is true)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from restora.service.security import Principal
from restora.store import Store

DEMO = Path(__file__).resolve().parents[2] / "examples" / "demo-county"
FILES = ("register.gpkg", "soil_samples.csv", "hazards.csv")


@pytest.fixture
def pg_client(pg_schema_url, tmp_path):
    from restora.service.app import create_app
    from restora.service.settings import Settings

    app = create_app(
        Settings(
            database_url=pg_schema_url,
            secret_key="test-secret-key",
            secret_key_from_env=True,
            data_dir=tmp_path / "data",
        )
    )

    async def admin(request):
        return Principal(role="admin", user_id=None, username="admin")

    app.state.authenticate = admin
    with TestClient(app) as c:
        yield c, pg_schema_url


@pytest.mark.postgres
def test_the_register_api_on_postgresql(pg_client):
    c, url = pg_client
    files = [("files", (n, (DEMO / n).read_bytes())) for n in FILES]
    r = c.post("/api/v1/imports", params={"lonlat_wgs84": True}, files=files)
    assert r.status_code == 200, r.text
    assert r.json()["added"] == {"mines": 40, "sites": 133, "samples": 454, "hazards": 66}

    page = c.get("/api/v1/mines", params={"sort": "priority_rank", "limit": 3}).json()
    assert page["total"] == 40 and [m["priority_rank"] for m in page["items"]] == [1, 2, 3]
    assert c.get("/api/v1/mines", params={"priority_class": "high"}).json()["total"] == 13
    assert c.get("/api/v1/mines", params={"region": "4305", "mineral": "coal"}).status_code == 200

    square = {"type": "Polygon",
              "coordinates": [[[112.0, 27.0], [112.01, 27.0], [112.01, 27.01], [112.0, 27.01], [112.0, 27.0]]]}  # fmt: skip
    r = c.post(
        "/api/v1/sites",
        json={"site_id": "PG-S1", "mine_id": "QS-M01", "kind": "open_pit", "geometry": square},
    )
    assert r.status_code == 201, r.text
    assert r.json()["area_hm2"] == pytest.approx(109.96, rel=1e-3)
    r = c.post(
        "/api/v1/samples",
        json={"sample_id": "PG-T1", "mine_id": "QS-M01", "site_id": "PG-S1", "ph": 6.1,
              "land_use": "paddy", "metals_mg_per_kg": {"Cd": "<0.05"}},
    )  # fmt: skip
    assert r.status_code == 201 and r.json()["detection_limits_mg_per_kg"]["Cd"] == 0.05
    assert c.patch("/api/v1/sites/PG-S1", json={"slope_deg": 22}).json()["slope_deg"] == 22.0
    r = c.delete("/api/v1/sites/PG-S1", params={"reason": "test", "cascade": True})
    assert r.status_code == 200 and r.json()["deleted"]["samples"] == ["PG-T1"]
    assert c.post("/api/v1/sites/PG-S1/restore").status_code == 200
    with Store(url) as store:
        actions = [h["action"] for h in store.history("QS-M01") if h["id"] in ("PG-S1", "PG-T1")]
    assert actions == ["insert", "insert", "update", "delete", "delete", "restore", "restore"]

    d = c.get("/api/v1/mines/QS-M30/diagnosis")
    assert d.status_code == 200 and d.json()["hazards"]["grade"]
    assert c.get("/api/v1/mines/QS-M30/cost", params={"draws": 200}).status_code == 200
