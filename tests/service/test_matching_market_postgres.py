"""The market flow on PostgreSQL (runs when RESTORA_TEST_PG_URL is set or CI is true): the demo
county imported over HTTP, the demo project appraised as a job, a listing published from it, a
bank's product, a claim, the owner's choice, the lapse at the injected clock, a second choice
accepted; the steps audited and the history append-only (revision 0009's triggers)."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml
from fastapi.testclient import TestClient

from restora.service import credentials
from restora.service.security import Principal
from restora.store import accounts, projects
from restora.store.audit import Change
from restora.store.platform_tables import market_events
from restora.store.tables import audit

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "examples" / "demo-county"
FILES = ("register.gpkg", "soil_samples.csv", "hazards.csv")


@pytest.mark.postgres
def test_the_market_flow_on_postgresql(pg_schema_url, tmp_path):
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
    now = [dt.datetime(2027, 3, 1, 8, 0, tzinfo=dt.UTC)]
    app.state.clock = lambda: now[0]
    who = {"p": Principal(role="admin", user_id=None, username="admin")}

    async def authenticate(request):
        return who["p"]

    app.state.authenticate = authenticate
    with TestClient(app) as c:
        files = [("files", (n, (DEMO / n).read_bytes())) for n in FILES]
        r = c.post("/api/v1/imports", params={"lonlat_wgs84": True}, files=files)
        assert r.status_code == 200, r.text
        engine, t = app.state.store.engine, Change("tests")
        firm = accounts.create_organisation(engine, "青山修复有限公司", "enterprise", change=t)[
            "id"
        ]
        banks = [
            accounts.create_organisation(engine, n, "bank", change=t)["id"]
            for n in ("青山农商银行", "湘中绿色银行")
        ]

        def account(name, role, org):
            a = credentials.new_account(
                engine, username=name, role=role, password=None, org_id=org, change=t
            )
            return Principal(role=role, user_id=a.id, org_id=org, username=name)

        ent = account("firm", "enterprise", firm)
        b1, b2 = account("b1", "finance", banks[0]), account("b2", "finance", banks[1])
        spec = yaml.safe_load((ROOT / "examples/demo-projects/QS-M09.yaml").read_text("utf-8"))
        projects.create_project(app.state.store, spec, owner_org_id=firm, change=t)
        who["p"] = ent
        r = c.post("/api/v1/projects/QS-P-M09/appraisals", json={"lang": "en", "pdf": False})
        assert r.status_code == 202, r.text
        deadline = time.monotonic() + 600
        while (job := c.get(r.json()["job_url"]).json())["status"] not in (
            "succeeded", "failed", "cancelled",
        ) and time.monotonic() < deadline:  # fmt: skip
            time.sleep(0.5)
        assert job["status"] == "succeeded", job

        product = {
            "name": "质押贷", "instrument": "pledge_loan", "capacity_cny": 1e8,
            "ticket_min_cny": 1e6, "ticket_max_cny": 3e7,
            "requirements": {"collateral_any": ["land_use_rights"]},
        }  # fmt: skip
        ids = []
        for bank in (b1, b2):
            who["p"] = bank
            r = c.post("/api/v1/market/products", json=product)
            assert r.status_code == 201, r.text
            ids.append(r.json()["id"])
        who["p"] = ent
        need = {
            "project_id": "QS-P-M09", "amount_cny": 1.2e7, "instrument": "pledge_loan",
            "tenor_years": 10, "stage": "preparation", "collateral": ["land_use_rights"],
            "settings": {"answer_hours": 48},
        }  # fmt: skip
        r = c.post("/api/v1/market/listings", json={**need, "amount_cny": -1})
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "amount_cny"
        r = c.post("/api/v1/market/listings", json=need)
        assert r.status_code == 201, r.text
        listing = r.json()
        assert listing["figures"]["cost_p50_cny"] > 0 and listing["mineral"] == "coal"
        claims = []
        for bank, pid in zip((b1, b2), ids, strict=True):
            who["p"] = bank
            assert (
                c.get("/api/v1/market/notifications").json()["items"][0]["kind"]
                == "eligible_listing"
            )
            r = c.post(f"/api/v1/market/listings/{listing['id']}/claims", json={"product_id": pid})
            assert r.status_code == 201, r.text
            claims.append(r.json()["id"])
        who["p"] = ent
        assert c.post(f"/api/v1/market/claims/{claims[0]}/choose").status_code == 200
        now[0] += dt.timedelta(hours=49)
        who["p"] = b1
        assert c.get(f"/api/v1/market/claims/{claims[0]}").json()["state"] == "lapsed"
        r = c.post(f"/api/v1/market/claims/{claims[0]}/answer", json={"answer": "decline"})
        assert r.status_code == 409
        who["p"] = ent
        assert c.post(f"/api/v1/market/claims/{claims[1]}/choose").status_code == 200
        who["p"] = b2
        body = {"answer": "accept", "terms": {"amount_cny": 1.2e7, "rate": 0.04}}
        r = c.post(f"/api/v1/market/claims/{claims[1]}/answer", json=body)
        assert r.status_code == 200 and r.json()["state"] == "accepted"
        who["p"] = ent
        seen = c.get(f"/api/v1/market/listings/{listing['id']}").json()
        assert seen["state"] == "matched"
        assert [x["state"] for x in seen["claims"]] == ["lapsed", "accepted"]

    with engine.connect() as conn:
        logged = conn.execute(
            sa.select(audit.c.table_name, audit.c.action).where(
                audit.c.table_name.in_(["listings", "claims", "products"])
            )
        ).all()
    assert sorted(logged) == sorted(
        [("products", "insert")] * 2 + [("listings", "insert")]
        + [("claims", "insert")] * 2 + [("claims", "update")] * 3
    )  # fmt: skip
    with pytest.raises(sa.exc.DBAPIError), engine.begin() as conn:
        conn.execute(sa.delete(market_events))
