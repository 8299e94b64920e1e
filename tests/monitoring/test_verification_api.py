"""Milestones, evidence and sign-off over HTTP, on SQLite and PostgreSQL: who may do what, the
evidence's figures, the sign-off's ledger event, tranche release and credits, 409 on a second
acceptance."""

from __future__ import annotations

import datetime as dt
import importlib.util
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest


def _support() -> Any:
    name = "restora_tests_verification_support"
    if name not in sys.modules:
        path = Path(__file__).with_name("verification_support.py")
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        sys.modules[name] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(sys.modules[name])
    return sys.modules[name]


S = _support()
API = "/api/v1/monitoring"


def _bearer(engine: Any, username: str, role: str, **kw: Any) -> dict[str, str]:
    from restora.service import credentials
    from restora.store import accounts
    from restora.store.audit import Change

    account = credentials.new_account(
        engine, username=username, role=role, password="correct horse battery staple",
        change=Change("t"), **kw,
    )  # fmt: skip
    token, sha = credentials.new_token(credentials.TOKEN_PREFIX)
    accounts.create_token(
        engine, account.id, name="t", token_sha256=sha, expires_at=None, change=Change("t")
    )
    return {"Authorization": f"Bearer {token}"}


def test_milestones_evidence_and_sign_off_over_http(db_url: str, tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from restora.service.app import create_app
    from restora.service.settings import Settings
    from restora.store import registry as R

    app = create_app(
        Settings(database_url=db_url, secret_key="test-secret-key", secret_key_from_env=True,
                 data_dir=tmp_path / "data")
    )  # fmt: skip
    store = app.state.store
    tag = uuid.uuid4().hex[:8]
    s = S.setup_project(store, tag)
    p, engine = s["project"], store.engine
    eva_org = S.add_org(store, f"Second evaluator {tag}", "evaluator")
    h = {
        "nr": _bearer(engine, f"nr-{tag}", "natural_resources", region_code="430599"),
        "eval": _bearer(engine, f"ev-{tag}", "evaluator", org_id=eva_org, region_code="430599"),
        "eval_away": _bearer(engine, f"ea-{tag}", "evaluator", region_code="440100"),
        "bank": _bearer(engine, f"bk-{tag}", "finance"),
        "owner": _bearer(engine, f"ow-{tag}", "enterprise", org_id=s["org"]),
        "public": {},
    }
    with TestClient(app, raise_server_exceptions=False) as c:
        # the owner creates the bond's milestones; an evaluator may not
        assert c.post(f"{API}/milestones/from-project/{p}", headers=h["eval"]).status_code == 403
        r = c.post(f"{API}/milestones/from-project/{p}", headers=h["owner"])
        assert r.status_code == 200, r.text
        assert [m["id"] for m in r.json()] == [f"{p}/soil", f"{p}/vegetation"]
        r = c.post(
            f"{API}/milestones",
            json={"project_id": p, "name": "survival", "indicator": "plant_survival",
                  "target": 0.85, "credits": {"unit_type": "CSINK", "count": 40,
                  "vintage": 2030, "attrs": {"methodology": "CCER-14-001"}}},
            headers=h["nr"],
        )  # fmt: skip
        assert r.status_code == 201, r.text
        bad = c.post(
            f"{API}/milestones",
            json={"project_id": p, "name": "x", "indicator": "soil_share_below_screening",
                  "target": 0.9, "tranche": "nope"},
            headers=h["nr"],
        )  # fmt: skip
        assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "tranche"
        # evidence: 17 of 20 samples below screening -> 0.85, tier partial, 11 250 000 CNY
        r = c.get(f"{API}/milestones/{p}/soil/evidence", headers=h["eval"])
        assert r.status_code == 200, r.text
        ev = r.json()
        assert ev["value"] == 0.85 and ev["tranche"]["tier"] == "partial"
        assert ev["tranche"]["amount"] == pytest.approx(11_250_000.0)
        # out of region: not found; the public: 401
        assert (
            c.get(f"{API}/milestones/{p}/soil/evidence", headers=h["eval_away"]).status_code == 404
        )
        assert c.get(f"{API}/milestones/{p}/soil", headers=h["public"]).status_code == 401
        # sign-off: only an evaluator; the owner is refused
        body = {"decision": "accepted", "report_sha256": S.REPORT, "note": "visited"}
        assert (
            c.post(f"{API}/milestones/{p}/soil/sign-off", json=body, headers=h["owner"]).status_code
            == 403
        )
        r = c.post(f"{API}/milestones/{p}/soil/sign-off", json=body, headers=h["eval"])
        assert r.status_code == 200, r.text
        so = r.json()
        assert so["evaluator"] == f"ev-{tag}" and so["evaluator_org_id"] == eva_org
        assert so["release"]["amount_cny"] == pytest.approx(11_250_000.0)
        assert so["evidence"]["digest"] == ev["digest"] and so["event_id"] >= 1
        again = c.post(f"{API}/milestones/{p}/soil/sign-off", json=body, headers=h["eval"])
        assert again.status_code == 409
        # the bank (finance) sees the released tranches of ... no: the project is unpublished
        assert c.get(f"{API}/projects/{p}/tranches", headers=h["bank"]).status_code == 404
        rel = c.get(f"{API}/projects/{p}/tranches", headers=h["owner"]).json()
        assert [(x["tranche"], x["tier"]) for x in rel] == [("soil", "partial")]
        # survival: no readings -> 422 naming the evidence
        r = c.post(f"{API}/milestones/{p}/survival/sign-off", json=body, headers=h["eval"])
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "evidence"
        # a measured value with its note is accepted: 40 credits into the owner's account
        r = c.post(
            f"{API}/milestones/{p}/survival/sign-off",
            json={**body, "value": 0.9, "note": "count of 3 plots, 2030-05"},
            headers=h["eval"],
        )
        assert r.status_code == 200, r.text
        assert r.json()["issued"]["count"] == 40
        assert sum(b["count"] for b in R.list_blocks(store, project_id=p)) == 40
        listed = c.get(f"{API}/milestones", params={"project_id": p}, headers=h["bank"])
        assert listed.status_code == 404  # unpublished project: finance does not see it
        listed = c.get(f"{API}/milestones", params={"project_id": p}, headers=h["eval"]).json()
        assert {m["id"]: m["status"] for m in listed} == {
            f"{p}/soil": "accepted", f"{p}/survival": "accepted", f"{p}/vegetation": "open",
        }  # fmt: skip
        r = c.get(f"{API}/milestones/{p}/soil/sign-offs", headers=h["eval"])
        assert [x["decision"] for x in r.json()] == ["accepted"]
    assert R.verify(store).ok
    due = {m["id"]: m["due_on"] for m in listed}
    assert dt.date.fromisoformat(due[f"{p}/soil"]) == dt.date(2029, 12, 31)
