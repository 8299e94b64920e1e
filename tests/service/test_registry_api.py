"""The registry over HTTP (issue 15): each route, each role allowed or refused, idempotency,
409 on the ledger's rules with the rule's sentence, and proofs that verify against the signed
tree head with the published key."""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from restora.registry import merkle
from restora.registry.signing import ENV_KEY, TreeHead, generate_key, verify_head
from restora.service import credentials
from restora.store import accounts
from restora.store.audit import Change

PASSWORD = "correct horse battery staple"
API = "/api/v1/registry"


def _bearer(
    engine: Any, username: str, role: str, org_id: int | None = None, region: str | None = None
) -> dict[str, str]:
    account = credentials.new_account(
        engine,
        username=username,
        role=role,
        password=PASSWORD,
        org_id=org_id,
        region_code=region,
        display_name=f"{username} 的真名",
        change=Change("t"),
    )
    token, sha = credentials.new_token(credentials.TOKEN_PREFIX)
    accounts.create_token(
        engine, account.id, name="t", token_sha256=sha, expires_at=None, change=Change("t")
    )
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def signing_key(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    path = tmp_path_factory.mktemp("registry-key") / "registry.pem"
    generate_key(path)
    old = os.environ.get(ENV_KEY)
    os.environ[ENV_KEY] = str(path)
    try:
        yield path
    finally:
        if old is None:
            os.environ.pop(ENV_KEY, None)
        else:
            os.environ[ENV_KEY] = old


@pytest.fixture(scope="module")
def w(app: Any, signing_key: Path) -> dict[str, Any]:
    """Organisations, one user per role, and the registry's accounts, policy and a first
    issuance of 1000 t CO2e to the firm (10 % buffer, 2 % share of proceeds)."""
    engine = app.state.store.engine
    org = {
        name: accounts.create_organisation(engine, label, kind, change=Change("t"))["id"]
        for name, label, kind in (
            ("firm", "青山修复工程有限公司", "enterprise"),
            ("other", "另一家修复公司", "enterprise"),
            ("bank", "青山农商银行", "bank"),
            ("eval", "湘中第三方评估中心", "evaluator"),
        )
    }
    h = {
        "nr": _bearer(engine, "reg-nr", "natural_resources"),
        "nr_away": _bearer(engine, "reg-nr-away", "natural_resources", region="999900"),
        "firm": _bearer(engine, "reg-firm", "enterprise", org["firm"]),
        "other": _bearer(engine, "reg-other", "enterprise", org["other"]),
        "bank": _bearer(engine, "reg-bank", "finance", org["bank"]),
        "eval": _bearer(engine, "reg-eval", "evaluator", org["eval"]),
        "village": _bearer(engine, "reg-village", "village"),
        "public": {},
    }
    c = TestClient(app, raise_server_exceptions=False)
    acc = {}
    for name, kind, org_id in (
        ("firm", "holding", org["firm"]),
        ("other", "holding", org["other"]),
        ("bank", "holding", org["bank"]),
        ("buffer", "buffer", None),
        ("sop", "proceeds", None),
    ):
        body: dict[str, Any] = {"kind": kind, "org_id": org_id}
        if org_id is None:
            body["name"] = {"buffer": "缓冲池", "sop": "收益分成账户"}[name]
        r = c.post(f"{API}/accounts", json=body, headers=h["nr"])
        assert r.status_code == 201, r.text
        acc[name] = r.json()["account"]
    r = c.put(
        f"{API}/policies/CSINK",
        json={"buffer": {"account": acc["buffer"], "pct": 10}, "share": {"account": acc["sop"], "pct": 2}},
        headers=h["nr"],
    )  # fmt: skip
    assert r.status_code == 200, r.text
    verification = {
        "verification": "V-1",
        "unit_type": "CSINK",
        "project_id": "QS-P-M09",
        "vintage": 2026,
        "region_code": "430599",
        "amount": 2000,
        "report_sha256": "ab" * 32,
    }
    r = c.post(f"{API}/verifications", json=verification, headers=h["eval"])
    assert r.status_code == 201, r.text
    r = c.post(
        f"{API}/issue",
        json={"verification": "V-1", "account": acc["firm"], "amount": 1000,
              "attrs": {"methodology": "CCER-14-001-V01"}},
        headers=h["nr"],
    )  # fmt: skip
    assert r.status_code == 201, r.text
    return {"c": c, "h": h, "acc": acc, "org": org, "issue": r.json()}


def test_issuance_splits_buffer_and_share_and_the_firm_sees_its_block(w):
    blocks = {(b["account"], b["status"]): b for b in w["issue"]["blocks"]}
    firm = blocks[(w["acc"]["firm"], "held")]
    assert (firm["start"], firm["end"], firm["count"]) == (1, 880, 880)
    assert firm["serial"] == "CN-CSINK-430599-QS-P-M09-2026-1-880"
    assert firm["account_name"] == "青山修复工程有限公司"
    assert blocks[(w["acc"]["buffer"], "buffer")]["count"] == 100
    assert blocks[(w["acc"]["sop"], "held")]["count"] == 20
    assert w["issue"]["tree_size"] is not None
    c, h = w["c"], w["h"]
    mine = c.get(f"{API}/accounts", headers=h["firm"]).json()
    assert [a["id"] for a in mine] == [w["acc"]["firm"]] and mine[0]["mine"]
    assert len(c.get(f"{API}/accounts", headers=h["nr"]).json()) == 5
    blocks = c.get(f"{API}/blocks", headers=h["firm"]).json()
    assert [b["serial"] for b in blocks] == ["CN-CSINK-430599-QS-P-M09-2026-1-880"]
    assert c.get(f"{API}/blocks", headers=h["bank"]).json() == []
    assert len(c.get(f"{API}/blocks", headers=h["eval"]).json()) == 3
    assert c.get(f"{API}/accounts/{w['acc']['firm']}", headers=h["bank"]).status_code == 404
    assert c.get(f"{API}/accounts/{w['acc']['firm']}", headers=h["firm"]).status_code == 200


@pytest.mark.parametrize(
    ("method", "path", "role", "status"),
    [
        ("POST", "/accounts", "firm", 403),
        ("POST", "/accounts", "eval", 403),
        ("POST", "/accounts", "public", 401),
        ("PUT", "/policies/CSINK", "bank", 403),
        ("POST", "/verifications", "nr", 403),
        ("POST", "/verifications", "firm", 403),
        ("POST", "/issue", "eval", 403),
        ("POST", "/issue", "firm", 403),
        ("POST", "/operations", "eval", 403),
        ("POST", "/operations", "public", 401),
        ("GET", "/accounts", "public", 401),
        ("GET", "/blocks", "public", 401),
        ("GET", "/head", "public", 200),
        ("GET", "/keys", "public", 200),
        ("GET", "/unit-types", "public", 200),
        ("GET", "/public/totals", "public", 200),
        ("GET", "/public/events", "public", 200),
        ("GET", "/public/accounts", "public", 200),
    ],
)
def test_each_role_is_allowed_or_refused(w, method, path, role, status):
    r = w["c"].request(method, API + path, json={}, headers=w["h"][role])
    assert r.status_code == status, r.text


def test_a_transfer_and_a_retirement_of_parts_and_the_rules_refusals(w):
    c, h, acc = w["c"], w["h"], w["acc"]
    # a part of the block, by range in the path: the block is split first
    r = c.post(f"{API}/blocks/CSINK/101-200/transfer", json={"to": acc["bank"]}, headers=h["firm"])
    assert r.status_code == 200, r.text
    kinds = [e["kind"] for e in r.json()["events"]]
    assert kinds == ["split", "split", "transfer"]
    assert r.json()["block"]["account"] == acc["bank"]
    # the bank may not move the firm's serials, nor the firm the bank's (not theirs: 404)
    r = c.post(f"{API}/blocks/CSINK/1-10/transfer", json={"to": acc["bank"]}, headers=h["bank"])
    assert r.status_code == 404, r.text
    r = c.post(f"{API}/blocks/CSINK/101-110/transfer", json={"to": acc["firm"]}, headers=h["firm"])
    assert r.status_code == 404, r.text
    # a block serial and a count: the first 30 serials of the firm's block 1-100
    r = c.post(
        f"{API}/operations",
        json={"kind": "retire", "serial": "CN-CSINK-430599-QS-P-M09-2026-1-100", "count": 30,
              "beneficiary": "青山修复工程有限公司", "purpose": "2026 年度碳中和"},
        headers=h["firm"],
    )  # fmt: skip
    assert r.status_code == 200, r.text
    retired = r.json()["block"]
    assert (retired["start"], retired["end"], retired["status"]) == (1, 30, "retired")
    assert retired["retirement"]["beneficiary"] == "青山修复工程有限公司"
    # retired is final: 409 with the rule's sentence
    r = c.post(f"{API}/blocks/CSINK/1-30/transfer", json={"to": acc["bank"]}, headers=h["firm"])
    assert r.status_code == 409, r.text
    assert "retired" in r.json()["detail"] and "held" in r.json()["detail"]
    # a range across two blocks
    r = c.post(f"{API}/blocks/CSINK/90-120/retire",
               json={"beneficiary": "x", "purpose": "y"}, headers=h["firm"])  # fmt: skip
    assert r.status_code == 409 and "not in one block" in r.json()["detail"], r.text
    # a retirement without its purpose
    r = c.post(f"{API}/blocks/CSINK/31-40/retire", json={"beneficiary": "x"}, headers=h["firm"])
    assert r.status_code == 409 and "purpose" in r.json()["detail"], r.text
    # a count larger than the block
    r = c.post(
        f"{API}/operations",
        json={"kind": "retire", "serial": "CN-CSINK-430599-QS-P-M09-2026-31-100", "count": 71,
              "beneficiary": "x", "purpose": "y"},
        headers=h["firm"],
    )  # fmt: skip
    assert r.status_code == 409, r.text
    # more than the verification leaves
    r = c.post(f"{API}/issue", json={"verification": "V-1", "account": acc["firm"],
               "count": 1001, "attrs": {"methodology": "m"}}, headers=h["nr"])  # fmt: skip
    assert r.status_code == 409 and "leaves 1000" in r.json()["detail"], r.text
    r = c.post(f"{API}/issue", json={"verification": "V-404", "account": acc["firm"],
               "count": 1}, headers=h["nr"])  # fmt: skip
    assert r.status_code == 404, r.text
    # the statement names each event and block, with the public URL
    st = c.get(f"{API}/accounts/{acc['firm']}/statement", headers=h["firm"]).json()
    lines = {(ln["kind"], ln["start"], ln["end"]): ln for ln in st["lines"]}
    out = lines[("transfer", 101, 200)]
    assert out["direction"] == "out" and out["other_account_name"] == "青山农商银行"
    assert lines[("retire", 1, 30)]["public_url"].startswith("/public/registry/events/")
    assert c.get(f"{API}/accounts/{acc['firm']}/statement", headers=h["bank"]).status_code == 404


def test_idempotency_over_http(w):
    c, h, acc = w["c"], w["h"], w["acc"]
    key = {"Idempotency-Key": "retire-2026-0001"}
    body = {"beneficiary": "青山修复工程有限公司", "purpose": "履约"}
    first = c.post(f"{API}/blocks/CSINK/801-810/retire", json=body, headers={**h["firm"], **key})
    assert first.status_code == 200 and not first.json()["replayed"], first.text
    again = c.post(f"{API}/blocks/CSINK/801-810/retire", json=body, headers={**h["firm"], **key})
    assert again.status_code == 200 and again.json()["replayed"], again.text
    assert [e["id"] for e in again.json()["events"]] == [e["id"] for e in first.json()["events"]]
    other = c.post(f"{API}/blocks/CSINK/811-820/retire", json=body, headers={**h["firm"], **key})
    assert other.status_code == 409 and "idempotency key" in other.json()["detail"], other.text
    # another caller's same key is another request (keys are per caller)
    r = c.post(f"{API}/blocks/CSINK/821-830/transfer", json={"to": acc["other"]},
               headers={**h["nr"], **key})  # fmt: skip
    assert r.status_code == 403, r.text  # the bureau sees the block but does not hold it


def test_pending_transfer_pledge_and_the_bureaus_freeze(w):
    c, h, acc = w["c"], w["h"], w["acc"]
    r = c.post(f"{API}/blocks/CSINK/301-350/initiate_transfer", json={"to": acc["other"]},
               headers=h["firm"])  # fmt: skip
    assert r.status_code == 200 and r.json()["block"]["status"] == "pending_transfer"
    r = c.post(f"{API}/blocks/CSINK/301-350/accept_transfer", json={}, headers=h["firm"])
    assert r.status_code == 403 and "pending recipient" in r.json()["detail"], r.text
    r = c.post(f"{API}/blocks/CSINK/301-350/accept_transfer", json={}, headers=h["other"])
    assert r.status_code == 200 and r.json()["block"]["account"] == acc["other"], r.text
    # a pledge to the bank: the firm may not release it, the bank enforces it
    r = c.post(f"{API}/blocks/CSINK/401-450/pledge",
               json={"lender": acc["bank"], "pledge": "PL-1"}, headers=h["firm"])  # fmt: skip
    assert r.status_code == 200 and r.json()["block"]["status"] == "pledged", r.text
    assert any(b["start"] == 401 for b in c.get(f"{API}/blocks", headers=h["bank"]).json())
    r = c.post(f"{API}/blocks/CSINK/401-450/release_pledge", json={}, headers=h["firm"])
    assert r.status_code == 403 and "lender" in r.json()["detail"], r.text
    r = c.post(f"{API}/blocks/CSINK/401-450/enforce_pledge", json={}, headers=h["bank"])
    assert r.status_code == 200 and r.json()["block"]["account"] == acc["bank"], r.text
    pledge_event = r.json()["events"][-1]["id"]
    # the pledge's record is not public; the parties read it
    assert c.get(f"{API}/proofs/inclusion/{pledge_event}").status_code == 404
    assert c.get(f"{API}/events/{pledge_event}", headers=h["bank"]).status_code == 200
    assert c.get(f"{API}/events/{pledge_event}", headers=h["other"]).status_code == 404
    # freeze, unfreeze, cancel: the bureau's
    r = c.post(f"{API}/blocks/CSINK/501-510/freeze", json={"reason": "x"}, headers=h["firm"])
    assert r.status_code == 403, r.text
    r = c.post(f"{API}/blocks/CSINK/501-510/freeze", json={"reason": "司法冻结"}, headers=h["nr"])
    assert r.status_code == 200 and r.json()["block"]["status"] == "frozen", r.text
    r = c.post(f"{API}/blocks/CSINK/501-510/retire",
               json={"beneficiary": "x", "purpose": "y"}, headers=h["firm"])  # fmt: skip
    assert r.status_code == 409 and "frozen" in r.json()["detail"], r.text
    r = c.post(f"{API}/blocks/CSINK/501-510/unfreeze", json={}, headers=h["nr"])
    assert r.status_code == 200 and r.json()["block"]["status"] == "held", r.text
    away = w["h"]["nr_away"]
    r = c.post(f"{API}/blocks/CSINK/501-510/freeze", json={"reason": "x"}, headers=away)
    assert r.status_code == 403 and "outside your scope" in r.json()["detail"], r.text
    r = c.post(f"{API}/issue", json={"verification": "V-1", "account": acc["firm"], "count": 1,
               "attrs": {"methodology": "m"}}, headers=away)  # fmt: skip
    assert r.status_code == 403, r.text
    r = c.post(f"{API}/blocks/CSINK/511-512/cancel", json={"reason": "核查撤销"}, headers=h["nr"])
    assert r.status_code == 200 and r.json()["block"]["status"] == "cancelled", r.text


def test_proofs_verify_against_the_signed_head_and_the_published_key(w):
    c, h = w["c"], w["h"]
    head1 = c.get(f"{API}/head").json()
    r = c.post(f"{API}/blocks/CSINK/601-650/retire",
               json={"beneficiary": "青山县人民政府", "purpose": "生态补偿"}, headers=h["firm"])  # fmt: skip
    assert r.status_code == 200, r.text
    event_id = r.json()["events"][-1]["id"]
    keys = c.get(f"{API}/keys").json()
    assert len(keys) == 1 and keys[0]["algorithm"] == "Ed25519"
    public = base64.b64decode(keys[0]["public_key"])
    head = c.get(f"{API}/head").json()
    assert head["size"] == r.json()["tree_size"] and head["size"] > head1["size"]
    th = TreeHead.from_json({k: v for k, v in head.items() if k != "checkpoint"})
    assert verify_head(th, public)
    p = c.get(f"{API}/proofs/inclusion/{event_id}").json()  # the public, no sign-in
    assert p["tree_size"] == head["size"] and p["head"]["root"] == head["root"]
    leaf = merkle.leaf_hash(p["event"].encode())
    proof = [base64.b64decode(x) for x in p["proof"]]
    assert merkle.verify_inclusion(p["leaf_index"], p["tree_size"], leaf, proof, th.root)
    assert '"kind":"retire"' in p["event"] and "reg-firm" not in p["event"]
    r = c.get(f"{API}/proofs/consistency", params={"size1": head1["size"], "size2": head["size"]})
    cp = r.json()
    root1 = base64.b64decode(head1["root"])
    assert merkle.verify_consistency(
        head1["size"], head["size"], [base64.b64decode(x) for x in cp["proof"]], root1, th.root
    )
    assert c.get(f"{API}/proofs/consistency", params={"size1": 10**9}).status_code == 409
    # the public record of the retirement
    rec = c.get(f"{API}/public/events/{event_id}").json()
    assert rec["beneficiary"] == "青山县人民政府" and rec["from_account"] == "青山修复工程有限公司"
    assert rec["serial"] == "CN-CSINK-430599-QS-P-M09-2026-601-650"
    assert rec["leaf_index"] == p["leaf_index"] and rec["amount"] == 50.0
    assert c.get(f"{API}/public/events/1").status_code == 404  # open_account: not listed
    totals = c.get(f"{API}/public/totals", params={"project_id": "QS-P-M09"}).json()
    (t,) = totals
    assert t["issued"] == 1000 and t["measure"] == "t CO2e" and t["retired"] >= 90
    assert t["issued"] == t["retired"] + t["cancelled"] + t["outstanding"]


def test_a_write_is_in_the_audit_trail(app, w):
    import sqlalchemy as sa

    from restora.store.tables import changes

    c, h = w["c"], w["h"]
    r = c.post(f"{API}/blocks/CSINK/701-705/retire", json={"beneficiary": "a", "purpose": "b"},
               headers={**h["firm"], "X-Request-ID": "reg-audit-1"})  # fmt: skip
    assert r.status_code == 200, r.text
    with app.state.store.engine.connect() as conn:
        row = conn.execute(
            sa.select(changes.c.command, changes.c.user_name).where(
                changes.c.request_id == "reg-audit-1"
            )
        ).one()
    assert row.command.startswith("POST /api/v1/registry/blocks/") and row.user_name == "reg-firm"


def test_the_pages(w):
    """The registry's pages as each party sees them (the browser test walks them in Chromium)."""
    c, h, acc = w["c"], w["h"], w["acc"]
    firm = c.get("/registry", headers=h["firm"])
    assert firm.status_code == 200 and "retire-form" in firm.text and "admin-form" not in firm.text
    assert "CN-CSINK-430599-QS-P-M09-2026-" in firm.text
    nr = c.get("/registry", headers=h["nr"])
    assert nr.status_code == 200 and "admin-form" in nr.text and "retire-form" not in nr.text
    assert c.get(f"/registry/accounts/{acc['firm']}", headers=h["firm"]).status_code == 200
    assert c.get(f"/registry/accounts/{acc['firm']}", headers=h["bank"]).status_code == 404
    assert c.get("/registry", follow_redirects=False).status_code in (302, 303, 307)
    public = c.get("/public/registry", params={"project": "QS-P-M09"})
    assert public.status_code == 200 and "青山修复工程有限公司" in public.text
    assert "reg-firm" not in public.text
    assert c.get("/public/registry/events/1").status_code == 404


# ------------------------------------------------------------------------------ PostgreSQL
@pytest.mark.postgres
def test_concurrent_operations_over_http_on_postgresql(pg_schema_url, tmp_path, signing_key):
    """Twenty clients retire and transfer parts of one block at once (row locks serialise them,
    the sequencer's advisory lock lets one integrate at a time), some retrying with the same
    Idempotency-Key: every request answers 200, the log verifies, every event is in the signed
    tree and its proof verifies."""
    import threading

    from restora.service.app import create_app
    from restora.service.security import Principal
    from restora.service.settings import Settings
    from restora.store import registry

    app = create_app(
        Settings(
            database_url=pg_schema_url,
            secret_key="test-secret-key",
            secret_key_from_env=True,
            data_dir=tmp_path / "data",
        )
    )
    who = {
        "nr": Principal(role="natural_resources", user_id=1, username="nr"),
        "eval": Principal(role="evaluator", user_id=2, username="ev", org_id=None),
    }

    async def authenticate(request):
        return who[request.headers.get("x-as", "nr")]

    app.state.authenticate = authenticate
    with TestClient(app) as c:
        org = accounts.create_organisation(
            app.state.store.engine, "F", "enterprise", change=Change("t")
        )["id"]
        who["firm"] = Principal(role="enterprise", user_id=3, username="firm", org_id=org)
        firm = c.post(f"{API}/accounts", json={"kind": "holding", "org_id": org},
                      headers={"x-as": "nr"}).json()["account"]  # fmt: skip
        other = c.post(f"{API}/accounts", json={"kind": "holding", "name": "O"},
                       headers={"x-as": "nr"}).json()["account"]  # fmt: skip
        r = c.post(f"{API}/verifications", headers={"x-as": "eval"}, json={
            "verification": "V-PG", "unit_type": "PDR", "project_id": "P", "vintage": 2026,
            "region_code": "430599", "count": 400, "report_sha256": "ef" * 32})  # fmt: skip
        assert r.status_code == 201, r.text
        r = c.post(f"{API}/issue", headers={"x-as": "nr"}, json={
            "verification": "V-PG", "account": firm, "count": 400,
            "attrs": {"pollutant": "COD"}})  # fmt: skip
        assert r.status_code == 201, r.text
        results: list[Any] = []

        def work(i: int) -> None:
            with TestClient(app) as ci:
                start, end = 10 * i + 1, 10 * i + 5
                kind, body = (
                    ("retire", {"beneficiary": "F", "purpose": f"p{i}"})
                    if i % 2
                    else ("transfer", {"to": other})
                )
                h = {"x-as": "firm", "Idempotency-Key": f"k{i}"}
                url = f"{API}/blocks/PDR/{start}-{end}/{kind}"
                results.append(ci.post(url, json=body, headers=h))
                results.append(ci.post(url, json=body, headers=h))  # a retry

        threads = [threading.Thread(target=work, args=(i,)) for i in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert [r.status_code for r in results] == [200] * 40, [
            r.text for r in results if r.status_code != 200
        ]
        assert sum(r.json()["replayed"] for r in results) == 20
        registry.integrate_all(app.state.store, at=registry_now(), key=None)
        report = registry.verify(app.state.store)
        assert report.ok, report.problem
        # sign the final head (the last writer may have lost the sequencer's lock to another)
        from restora.registry.signing import configured_key

        registry.integrate(app.state.store, at=registry_now(), key=configured_key())
        head = c.get(f"{API}/head").json()
        assert head["size"] == report.events
        th = TreeHead.from_json({k: v for k, v in head.items() if k != "checkpoint"})
        for r in results[::2]:
            e = r.json()["events"][-1]["id"]
            p = c.get(f"{API}/proofs/inclusion/{e}").json()
            proof = [base64.b64decode(x) for x in p["proof"]]
            leaf = merkle.leaf_hash(p["event"].encode())
            assert merkle.verify_inclusion(p["leaf_index"], p["tree_size"], leaf, proof, th.root)
        blocks = c.get(f"{API}/blocks", params={"unit_type": "PDR"}, headers={"x-as": "nr"}).json()
        assert sum(b["count"] for b in blocks) == 400
        assert sum(b["count"] for b in blocks if b["status"] == "retired") == 50


def registry_now() -> Any:
    import datetime as dt

    return dt.datetime.now(dt.UTC)
