"""The coordination record's API (/api/v1/coordination): who records and sees what.

A county natural-resources bureau records a joint meeting and a hearing of its county and
records a follow-up done; it may not record for another county (403). A bank (finance, no
scope) reads and searches them but may not write (403); a bureau of another county does not
see them (empty lists, 404). The public reads the hearing — notice, attendance by group,
opinions by group with answers — with only PUBLIC_FIELDS["coordination"] and no person's name;
the meeting is not public until marked; staff routes answer the public 401. Every write is in
the audit trail. Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml
from fastapi.testclient import TestClient

from restora.service import credentials
from restora.service.permissions import NEVER_PUBLIC, public_fields
from restora.store import Store, accounts
from restora.store.audit import Change
from restora.store.platform_tables import projects
from restora.store.tables import audit, changes

COUNTY, OTHER = "430599", "430521"
DATA = Path(__file__).resolve().parents[1] / "data" / "coordination"
API = "/api/v1/coordination"
PEOPLE = ("张三丰", "李红", "王明", "赵大牛")


def _load(name: str) -> dict[str, Any]:
    """The example file as the JSON a client sends (dates as text)."""
    return dict(
        json.loads(json.dumps(yaml.safe_load((DATA / name).read_text("utf-8")), default=str))
    )


def _keys(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set(value).union(*(_keys(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(_keys(v) for v in value))
    return set()


@pytest.fixture
def env(db_url: str, tmp_path: Path) -> Iterator[dict[str, Any]]:
    import datetime as dt

    from restora.service.app import create_app
    from restora.service.settings import Settings

    with Store(db_url) as store:
        engine = store.engine
        t = Change("t")
        now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
        with engine.begin() as conn:
            conn.execute(
                projects.insert().values(
                    project_id="QS-P-M09", name="QS-P-M09", region_code=COUNTY, spec={},
                    created_at=now, updated_at=now, published=True,
                )
            )  # fmt: skip

        def head(name: str, role: str, region: str | None) -> dict[str, str]:
            made = credentials.new_account(
                engine, username=name, role=role, password=None, region_code=region, change=t
            )
            token, sha = credentials.new_token(credentials.TOKEN_PREFIX)
            accounts.create_token(
                engine, made.id, name="t", token_sha256=sha, expires_at=None, change=t
            )
            return {"Authorization": f"Bearer {token}"}

        heads = {
            "clerk": head("clerk", "natural_resources", COUNTY),
            "other": head("other", "natural_resources", OTHER),
            "bank": head("bank", "finance", None),
            "firm": head("firm", "enterprise", COUNTY),
        }
        settings = Settings(
            database_url=db_url,
            secret_key="test-secret-key",
            secret_key_from_env=True,
            data_dir=tmp_path / "data",
        )
        with TestClient(create_app(settings)) as client:
            yield {"c": client, "h": heads, "engine": engine}


def _count(engine: Any, table: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def test_record_search_and_scope(env: dict[str, Any]) -> None:
    c, h, engine = env["c"], env["h"], env["engine"]
    meeting = _load("meeting.yaml")
    # the bank may not record; a bureau of another county may not record for this one
    assert c.post(f"{API}/meetings", json=meeting, headers=h["bank"]).status_code == 403
    assert c.post(f"{API}/meetings", json=meeting, headers=h["other"]).status_code == 403
    assert c.post(f"{API}/meetings", json=meeting).status_code == 401
    bad = meeting | {"follow_ups": [{"action": "x", "owner_organisation": "y"}]}
    r = c.post(f"{API}/meetings", json=bad, headers=h["clerk"])
    assert r.status_code == 422 and "follow_ups.0.due_on" in r.text
    audits = _count(engine, audit)
    r = c.post(f"{API}/meetings", json=meeting, headers=h["clerk"])
    assert r.status_code == 201, r.text
    made = r.json()
    assert made["recorded_by"] == "clerk" and len(made["follow_ups"]) == 3
    assert _count(engine, audit) == audits + 4  # the meeting and its three follow-ups
    with engine.connect() as conn:
        last = conn.execute(sa.select(changes).order_by(changes.c.id.desc())).mappings().first()
    assert last is not None and last["user_name"] == "clerk"
    assert last["command"] == "POST /api/v1/coordination/meetings"

    # the bank reads and searches; the other county sees nothing; an enterprise may not read
    found = c.get(f"{API}/meetings", params={"q": "授信"}, headers=h["bank"]).json()
    assert [m["id"] for m in found] == [made["id"]]
    assert c.get(f"{API}/meetings", params={"q": "贴息"}, headers=h["bank"]).json() == []
    assert c.get(f"{API}/meetings", headers=h["other"]).json() == []
    assert c.get(f"{API}/meetings/{made['id']}", headers=h["other"]).status_code == 404
    assert c.get(f"{API}/meetings", headers=h["firm"]).status_code == 403
    # on 15 May 2026 the bank's report (due 30 April) is 15 days overdue
    overdue = c.get(
        f"{API}/follow-ups", params={"status": "overdue", "on": "2026-05-15"}, headers=h["bank"]
    ).json()
    assert [(f["owner_organisation"], f["days_overdue"]) for f in overdue] == [("青山农商银行", 15)]
    fid = overdue[0]["id"]
    r = c.post(f"{API}/follow-ups/{fid}/done", json={"done_on": "2026-05-20"}, headers=h["bank"])
    assert r.status_code == 403
    r = c.post(f"{API}/follow-ups/{fid}/done", json={"done_on": "2026-05-20"}, headers=h["other"])
    assert r.status_code == 404
    r = c.post(f"{API}/follow-ups/{fid}/done", json={"done_on": "2026-05-20"}, headers=h["clerk"])
    assert r.status_code == 200 and r.json()["days_late"] == 20  # 20 May - 30 April
    r = c.post(f"{API}/follow-ups/{fid}/done", json={"done_on": "2026-05-21"}, headers=h["clerk"])
    assert r.status_code == 422 and "already done" in r.text

    # the meeting is not public: the public sees no meeting
    assert c.get(f"{API}/public/meetings").json() == []
    assert c.get(f"{API}/public/meetings/{made['id']}").status_code == 404


def test_public_disclosure_of_a_hearing(env: dict[str, Any]) -> None:
    c, h = env["c"], env["h"]
    r = c.post(f"{API}/consultations", json=_load("hearing.yaml"), headers=h["clerk"])
    assert r.status_code == 201, r.text
    hearing = r.json()
    assert hearing["region_code"] == COUNTY and hearing["opinions"][0]["speaker"] == "赵大牛"
    closed = _load("hearing.yaml") | {
        "kind": "consultation",
        "title": "内部征求意见",
        "public": False,
    }
    assert c.post(f"{API}/consultations", json=closed, headers=h["clerk"]).status_code == 201
    public_meeting = _load("meeting.yaml") | {"public": True}
    r = c.post(f"{API}/meetings", json=public_meeting, headers=h["clerk"])
    assert r.status_code == 201
    meeting_id = r.json()["id"]
    assert len(c.get(f"{API}/consultations", headers=h["bank"]).json()) == 2

    allowed = public_fields("coordination") | public_fields("envelope")
    listed = c.get(f"{API}/public/consultations")
    assert listed.status_code == 200
    assert [x["title"] for x in listed.json()] == [hearing["title"]]  # not the closed one
    one = c.get(f"{API}/public/consultations/{hearing['id']}")
    meeting = c.get(f"{API}/public/meetings/{meeting_id}")
    meetings = c.get(f"{API}/public/meetings", params={"q": "授信"})
    for r in (listed, one, meeting, meetings):
        assert r.status_code == 200
        assert _keys(r.json()) <= allowed and not _keys(r.json()) & NEVER_PUBLIC
        for person in (*PEOPLE, "clerk"):
            assert person not in r.text
    doc = one.json()
    # 46 + 5 + 3 + 4 + 0 = 58
    assert doc["attendance"]["total"] == 58 and doc["notice"]["published_on"] == "2026-03-25"
    assert doc["opinions"][2] == {
        "group": "villagers",
        "opinion": "希望增加光伏用地补偿标准",
        "answer": "按县现行标准执行，不作调整",
        "adopted": False,
    }
    assert {"organisation": "青山农商银行", "role": "信贷部"} in meeting.json()["participants"]
    assert meetings.json()[0]["id"] == meeting_id
    # the closed consultation is not public; staff routes are not the public's
    closed_id = hearing["id"] + 1
    assert c.get(f"{API}/public/consultations/{closed_id}").status_code == 404
    assert c.get(f"{API}/consultations").status_code == 401
    # the public search does not find people (their names are not in the searched text)
    assert c.get(f"{API}/public/consultations", params={"q": "赵大牛"}).json() == []
