"""The integrity API (/api/v1/integrity): who sees what.

A company (enterprise) reads its own record and not another's (404); a county bureau records
obligations and scores companies of its county, not of another county (403); the public reads
the list of grades only — no score, breakdown, obligation or organisation id — and nothing
else (401). Every write is in the audit trail. Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from restora.service import credentials
from restora.service.permissions import NEVER_PUBLIC, public_fields
from restora.store import Store, accounts
from restora.store.audit import Change
from restora.store.tables import changes

COUNTY, OTHER = "430599", "430521"


def _token(engine: Any, account: accounts.Account) -> dict[str, str]:
    token, sha = credentials.new_token(credentials.TOKEN_PREFIX)
    accounts.create_token(
        engine, account.id, name="t", token_sha256=sha, expires_at=None, change=Change("t")
    )
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def env(db_url: str, tmp_path: Path) -> Iterator[dict[str, Any]]:
    from restora.service.app import create_app
    from restora.service.settings import Settings

    with Store(db_url) as store:
        engine = store.engine
        t = Change("t")
        firm = accounts.create_organisation(
            engine, "青山矿业有限公司", "enterprise", COUNTY, change=t
        )
        rival = accounts.create_organisation(
            engine, "远山矿业有限公司", "enterprise", OTHER, change=t
        )
        bureau = accounts.create_organisation(
            engine, "青山县自然资源局", "natural_resources_bureau", COUNTY, change=t
        )

        def account(name: str, role: str, org: int | None, region: str | None) -> Any:
            made = credentials.new_account(
                engine, username=name, role=role, password=None, org_id=org,
                region_code=region, change=t,
            )  # fmt: skip
            return _token(engine, made)

        heads = {
            "firm": account("firm", "enterprise", firm["id"], COUNTY),
            "rival": account("rival", "enterprise", rival["id"], OTHER),
            "clerk": account("clerk", "natural_resources", bureau["id"], COUNTY),
            "bank": account("bank", "finance", None, None),
        }
        settings = Settings(
            database_url=db_url,
            secret_key="test-secret-key",
            secret_key_from_env=True,
            data_dir=tmp_path / "data",
        )
        with TestClient(create_app(settings)) as client:
            yield {
                "client": client,
                "h": heads,
                "firm": firm["id"],
                "rival": rival["id"],
                "engine": engine,
            }


def test_who_sees_what(env: dict[str, Any]) -> None:
    c, h, firm, rival = env["client"], env["h"], env["firm"], env["rival"]
    api = "/api/v1/integrity"
    body = {
        "org_id": firm,
        "kind": "fund_accrual",
        "due_on": "2024-12-31",
        "amount": 100000.0,
        "description": "2024 年度基金计提",
    }
    # the bureau records, for its county only; a company cannot record
    r = c.post(f"{api}/obligations", json=body, headers=h["clerk"])
    assert r.status_code == 201, r.text
    ob = r.json()
    assert ob["outcome"] == "missed" and ob["recorded_by"] == "clerk"
    assert c.post(f"{api}/obligations", json=body, headers=h["firm"]).status_code == 403
    assert (
        c.post(f"{api}/obligations", json={**body, "org_id": rival}, headers=h["clerk"])
    ).status_code == 403
    bad = c.post(f"{api}/obligations", json={**body, "kind": "milestone"}, headers=h["clerk"])
    assert bad.status_code in (400, 422) and "kind" in bad.text
    # paid late in full: 2025-01-31
    r = c.post(
        f"{api}/obligations/{ob['id']}/settle",
        json={"done_on": "2025-01-31", "done_amount": 100000.0},
        headers=h["clerk"],
    )
    assert r.status_code == 200 and r.json()["outcome"] == "late"
    # scored on 2025-01-31: 85 - 5 (fund late, decay 1) = 80 -> blue
    r = c.post(f"{api}/orgs/{firm}/score", json={"on": "2025-01-31"}, headers=h["clerk"])
    assert r.status_code == 201, r.text
    assert (r.json()["score"], r.json()["grade"]) == (80.0, "blue")
    assert c.post(f"{api}/orgs/{rival}/score", json={}, headers=h["clerk"]).status_code == 403

    # the company reads its own record; not its rival's; the rival not the company's
    r = c.get(f"{api}/orgs/{firm}", params={"on": "2025-02-01"}, headers=h["firm"])
    assert r.status_code == 200
    rec = r.json()
    assert rec["summary"] == {"fund_accrual": {"late": 1}}
    assert rec["latest"]["breakdown"]["breakdown"][0]["rule_code"] == "INT-FUND-LATE"
    assert c.get(f"{api}/orgs/{rival}", headers=h["firm"]).status_code == 404
    assert c.get(f"{api}/orgs/{firm}", headers=h["rival"]).status_code == 404
    assert c.get(f"{api}/orgs/{firm}/obligations", headers=h["rival"]).status_code == 404
    assert [s["org_id"] for s in c.get(f"{api}/scores", headers=h["firm"]).json()] == [firm]
    assert c.get(f"{api}/scores", headers=h["rival"]).json() == []
    # a bank has no access to records (the grades are public)
    assert c.get(f"{api}/orgs/{firm}", headers=h["bank"]).status_code == 403

    # the public: the grades only
    r = c.get(f"{api}/grades")
    assert r.status_code == 200
    assert r.json() == [
        {
            "name": "青山矿业有限公司",
            "region_code": COUNTY,
            "grade": "blue",
            "label_zh": "环保良好企业",
            "label_en": "good",
            "colour": "blue",
            "as_of": "2025-01-31",
            "listed": [],
            "measures": [],
        }
    ]
    allowed = public_fields("integrity") | public_fields("envelope")
    keys = set(r.json()[0]) | {k for m in r.json()[0]["measures"] for k in m}
    assert keys <= allowed and not keys & NEVER_PUBLIC
    for path in (f"/orgs/{firm}", f"/orgs/{firm}/obligations", "/scores"):
        assert c.get(api + path).status_code == 401

    # every write is in the audit trail, naming the clerk's account
    with env["engine"].connect() as conn:
        commands = [
            row.command
            for row in conn.execute(
                sa.select(changes.c.command).where(changes.c.command.like("%/integrity/%"))
            )
        ]
    assert "POST /api/v1/integrity/obligations" in commands
    assert "POST /api/v1/integrity/orgs/{org_id}/score" in commands


def test_listing_shows_publicly_with_its_measures(env: dict[str, Any]) -> None:
    c, h, firm = env["client"], env["h"], env["firm"]
    api = "/api/v1/integrity"
    r = c.post(
        f"{api}/obligations",
        json={
            "org_id": firm,
            "kind": "listing",
            "list": "serious",
            "due_on": (dt.date.today() - dt.timedelta(days=10)).isoformat(),
            "description": "列入严重失信主体名单",
        },
        headers=h["clerk"],
    )
    assert r.status_code == 201, r.text
    assert c.post(f"{api}/orgs/{firm}/score", json={}, headers=h["clerk"]).status_code == 201
    (row,) = c.get(f"{api}/grades").json()
    assert row["grade"] == "red" and row["listed"] == ["serious"]
    codes = {m["code"] for m in row["measures"]}
    assert {"MEAS-UNTRUSTWORTHY", "MEAS-CREDIT-RESTRICT"} <= codes
    # what is not disclosed stays out: the bank-only incentive, the score
    assert "MEAS-GREEN-CREDIT" not in codes and "score" not in row
