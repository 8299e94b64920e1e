"""The basis of an issuance in the public registry, on SQLite and PostgreSQL: an evaluator's
sign-off of a milestone and the verified outcome it records are public records — their fields,
the evaluator's organisation and never the person, listed with the other public events, and
proved against the signed tree head with the published key."""

from __future__ import annotations

import base64
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
MON = "/api/v1/monitoring"
REG = "/api/v1/registry"
PERSON = "评估员钱七（湘中评估中心土壤组）"


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


def _proves(c: Any, event_id: int) -> dict[str, Any]:
    """The public inclusion proof of ``event_id``, checked against the signed tree head and the
    published key; returns the proof."""
    from restora.registry import merkle
    from restora.registry.signing import TreeHead, verify_head

    head = c.get(f"{REG}/head").json()
    (key,) = c.get(f"{REG}/keys").json()
    th = TreeHead.from_json({k: v for k, v in head.items() if k != "checkpoint"})
    assert verify_head(th, base64.b64decode(key["public_key"]))
    p = c.get(f"{REG}/proofs/inclusion/{event_id}").json()
    assert p["tree_size"] == head["size"]
    leaf = merkle.leaf_hash(p["event"].encode())
    proof = [base64.b64decode(x) for x in p["proof"]]
    assert merkle.verify_inclusion(p["leaf_index"], p["tree_size"], leaf, proof, th.root)
    return dict(p)


def test_sign_off_and_verified_outcome_are_public_and_proved(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fastapi.testclient import TestClient

    from restora.registry.signing import ENV_KEY, generate_key
    from restora.service.app import create_app
    from restora.service.settings import Settings
    from restora.store import registry as R

    generate_key(tmp_path / "registry.pem")
    monkeypatch.setenv(ENV_KEY, str(tmp_path / "registry.pem"))
    app = create_app(
        Settings(database_url=db_url, secret_key="test-secret-key", secret_key_from_env=True,
                 data_dir=tmp_path / "data")
    )  # fmt: skip
    store = app.state.store
    tag = uuid.uuid4().hex[:8]
    s = S.setup_project(store, tag)
    p, engine = s["project"], store.engine
    org_name = f"湘中第三方评估中心 {tag}"
    eva_org = S.add_org(store, org_name, "evaluator")
    username = f"qian-{tag}"
    ev = _bearer(engine, username, "evaluator", org_id=eva_org, display_name=PERSON)
    owner = _bearer(engine, f"ow-{tag}", "enterprise", org_id=s["org"])
    with TestClient(app, raise_server_exceptions=False) as c:
        assert c.post(f"{MON}/milestones/from-project/{p}", headers=owner).status_code == 200
        r = c.post(
            f"{MON}/milestones",
            json={"project_id": p, "name": "survival", "indicator": "plant_survival",
                  "target": 0.85, "credits": {"unit_type": "CSINK", "count": 40,
                  "vintage": 2030, "attrs": {"methodology": "CCER-14-001"}}},
            headers=owner,
        )  # fmt: skip
        assert r.status_code == 201, r.text
        body = {"decision": "accepted", "report_sha256": S.REPORT, "value": 0.9,
                "note": "count of 3 plots, 2030-05"}  # fmt: skip
        r = c.post(f"{MON}/milestones/{p}/survival/sign-off", json=body, headers=ev)
        assert r.status_code == 200, r.text
        so = r.json()
        assert so["evaluator"] == username  # the evaluators' own record keeps who signed
        digest = so["evidence"]["digest"]

        # the sign-off's public record: no sign-in
        rec = c.get(f"{REG}/public/events/{so['event_id']}").json()
        assert rec["kind"] == "sign_off" and rec["project_id"] == p
        assert rec["milestone"] == f"{p}/survival" and rec["indicator"] == "plant_survival"
        assert (rec["value"], rec["target"], rec["decision"]) == (0.9, 0.85, "accepted")
        assert rec["evaluator_organisation"] == org_name
        assert rec["report_sha256"] == S.REPORT and rec["evidence_sha256"] == digest
        assert rec["verification"] == f"MS:{p}/survival" and rec["leaf_index"] is not None
        assert rec["proof_url"] == f"{REG}/proofs/inclusion/{so['event_id']}"

        # the verified outcome it recorded: 40 serials of CSINK (1 t CO2e each), vintage 2030,
        # the project's region
        outcomes = c.get(
            f"{REG}/public/events", params={"project_id": p, "kind": "verify_outcome"}
        ).json()
        (vo,) = outcomes
        assert vo["verification"] == f"MS:{p}/survival" and vo["unit_type"] == "CSINK"
        assert (vo["vintage"], vo["region_code"], vo["count"]) == (2030, "430599", 40)
        assert vo["amount"] == 40.0 and vo["measure"] == "t CO2e"
        assert vo["report_sha256"] == S.REPORT and vo["evaluator_organisation"] is None
        assert c.get(f"{REG}/public/events/{vo['id']}").json() == vo

        # listed newest first with the issuance they are the basis of
        kinds = [x["kind"] for x in c.get(f"{REG}/public/events", params={"project_id": p}).json()]
        assert kinds[-2:] == ["verify_outcome", "sign_off"] and "issue" in kinds
        assert c.get(f"{REG}/public/events", params={"kind": "open_account"}).status_code == 422

        # proved against the signed tree head; the log names the organisation, not the person
        for event_id in (so["event_id"], vo["id"]):
            proof = _proves(c, event_id)
            assert username not in proof["event"] and PERSON not in proof["event"]
        sign_off_bytes = _proves(c, so["event_id"])["event"]
        assert f'"evaluator":"{org_name}"' in sign_off_bytes
        assert f'"actor":"org:{eva_org}"' in sign_off_bytes

        # nothing public carries the person: JSON, page, list page
        for url in (
            f"{REG}/public/events?project_id={p}",
            f"/public/registry/events/{so['event_id']}",
            f"/public/registry/events/{vo['id']}",
            f"/public/registry?project={p}",
        ):
            text = c.get(url).text
            assert username not in text and PERSON not in text, url
        c.cookies.set("restora_lang", "en")
        page = c.get(f"/public/registry/events/{so['event_id']}")
        assert page.status_code == 200 and org_name in page.text
        assert "signed off milestone" in page.text and "90.0" in page.text
        c.cookies.set("restora_lang", "zh_CN")
        zh = c.get(f"/public/registry/events/{vo['id']}")
        assert zh.status_code == 200 and "项目 " + p + " 的核证成果" in zh.text
    assert R.verify(store).ok
