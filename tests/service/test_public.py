"""Public disclosure: only disclosed mines and projects, only their disclosed field groups, on
the public routes (no sign-in); disclosing and withdrawing by the bureau of the region."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from restora.service.permissions import NEVER_PUBLIC, PUBLIC_FIELDS
from restora.service.security import Principal
from restora.store import disclosure as D
from restora.store.platform_tables import appraisals, disclosures, organisations, projects

NR = Principal(role="natural_resources", user_id=None, username="qs-nr", region="430599")
OTHER_COUNTY = Principal(role="natural_resources", user_id=None, username="x-nr", region="430521")
ADMIN = Principal(role="admin", user_id=None, username="root")


def _as(principal: Principal | None) -> Any:
    if principal is None:
        return None

    async def authenticate(request: Any) -> Principal:
        return principal

    return authenticate


@pytest.fixture
def as_role(client: TestClient) -> Iterator[Any]:
    def set_role(principal: Principal | None) -> None:
        client.app.state.authenticate = _as(principal)  # type: ignore[attr-defined]

    yield set_role
    client.app.state.authenticate = None  # type: ignore[attr-defined]


# A synthetic appraisal.json with the parts the public summary reads (docs/appraisal.md):
# the plan of QS-M09 (two after-uses, three works items), the construction years and the
# sources and uses of funds.
DOCUMENT = {
    "project": {"project_id": "QS-P-TEST", "mines": ["QS-M09"], "start_year": 2026},
    "stages": {
        "plan": {
            "plans": [
                {
                    "mine_id": "QS-M09",
                    "after_use_hm2": {"cultivated": 10.0, "forest": 2.5},
                    "works": [{"item": "a"}, {"item": "b"}, {"item": "c"}],
                }
            ]
        },
        "financing": {
            "structure": {
                "construction": {"first_year": 2026, "last_year": 2028},
                "sources_uses": {"total_sources_cny": 1_500_000.0, "total_uses_cny": 1_400_000.0},
            }
        },
        "cashflow": {"npv_cny": 123.0, "irr": 0.07},
    },
}


def _insert(conn: sa.Connection, table: sa.Table, values: dict[str, Any]) -> None:
    cols = set(table.c.keys())
    conn.execute(table.insert().values(**{k: v for k, v in values.items() if k in cols}))


@pytest.fixture(scope="module")
def stored_project(app: Any) -> str:
    """A project of QS-M09 owned by a company, with one stored appraisal (version 1)."""
    now = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    with app.state.store.engine.begin() as conn:
        org = conn.execute(
            organisations.insert()
            .values(
                name="青山修复有限公司", kind="enterprise", region_code="430599", created_at=now
            )
            .returning(organisations.c.id)
        ).scalar_one()
        _insert(
            conn,
            projects,
            {
                "project_id": "QS-P-TEST",
                "name": "黄泥塘测试项目",
                "name_en": "Huangnitang test project",
                "region_code": "430599",
                "spec": {"project_id": "QS-P-TEST", "mines": ["QS-M09"]},
                "owner_org_id": org,
                "created_at": now,
                "updated_at": now,
                "published": False,
            },
        )
        _insert(
            conn,
            appraisals,
            {
                "project_id": "QS-P-TEST",
                "version": 1,
                "inputs_sha256": "0" * 64,
                "on_date": "2026-12-01",
                "lang": "zh",
                "created_at": now,
                "document": DOCUMENT,
                "files": {},
            },
        )
    return "QS-P-TEST"


def _keys(obj: Any) -> set[str]:
    """Every key of a JSON value, nested ones included."""
    if isinstance(obj, dict):
        return set(obj) | set().union(*(_keys(v) for v in obj.values()))
    if isinstance(obj, list):
        return set().union(*(_keys(v) for v in obj)) if obj else set()
    return set()


def test_nothing_is_public_until_disclosed(client, as_role):
    as_role(None)
    assert client.get("/api/v1/public/mines").json()["total"] == 0
    r = client.get("/api/v1/public/mines/QS-M09")
    assert r.status_code == 404 and r.json()["type"] == "/problems/not-found"
    assert client.get("/api/v1/public/projects").json()["total"] == 0


def test_a_mine_disclosed_with_some_groups_shows_only_those(client, as_role, stored_project):
    as_role(NR)
    r = client.post(
        "/api/v1/disclosures",
        json={"subject": "mine", "subject_id": "QS-M10", "fields": ["status", "location"]},
    )
    assert r.status_code == 201, r.text
    assert r.json()["fields"] == ["status", "location"] and r.json()["region_code"] == "430599"
    as_role(None)  # the public
    m = client.get("/api/v1/public/mines/QS-M10").json()
    assert m["mineral"] == "coal" and m["status"] is not None
    assert -180 <= m["lon"] <= 180 and m["bbox"][0] <= m["lon"] <= m["bbox"][2]
    assert m["bbox"][1] <= m["lat"] <= m["bbox"][3]
    # not disclosed: null, whatever the register holds
    for field in ("responsible_party", "sites", "area_hm2", "plan_summary", "money_raised_cny"):
        assert m[field] is None, field
    assert m["monitoring"] is None


def test_every_public_key_is_in_the_agreed_field_sets(client, as_role, stored_project):
    as_role(NR)
    assert (
        client.post(
            "/api/v1/disclosures", json={"subject": "mine", "subject_id": "QS-M09"}
        ).status_code
        == 201
    )
    assert (
        client.post(
            "/api/v1/disclosures", json={"subject": "project", "subject_id": stored_project}
        ).status_code
        == 201
    )
    as_role(None)
    allowed_mine = PUBLIC_FIELDS["mine"] | PUBLIC_FIELDS["monitoring"] | PUBLIC_FIELDS["envelope"]
    allowed_project = (
        PUBLIC_FIELDS["project"] | PUBLIC_FIELDS["monitoring"] | PUBLIC_FIELDS["envelope"]
    )
    for url, allowed in [
        ("/api/v1/public/mines", allowed_mine),
        ("/api/v1/public/mines/QS-M09", allowed_mine),
        ("/api/v1/public/projects", allowed_project),
        (f"/api/v1/public/projects/{stored_project}", allowed_project),
    ]:
        body = client.get(url, params={"lang": "en"}).json()
        keys = _keys(body)
        assert keys <= allowed, (url, keys - allowed)
        assert not keys & NEVER_PUBLIC, url
    text = client.get(f"/api/v1/public/projects/{stored_project}").text
    assert "npv" not in text and "0.07" not in text  # the appraisal itself never leaves


def test_the_plan_money_and_progress_come_from_the_latest_appraisal(
    client, as_role, stored_project
):
    as_role(NR)
    client.post("/api/v1/disclosures", json={"subject": "mine", "subject_id": "QS-M09"})
    as_role(None)
    m = client.get("/api/v1/public/mines/QS-M09", params={"lang": "en"}).json()
    # DOCUMENT: 10.0 + 2.5 = 12.5 hm², three works items, construction 2026-2028
    assert m["plan_summary"] == (
        "restore 12.5 hm² (cultivated land 10.0 hm², forest 2.5 hm²), 3 works items, "
        "works 2026–2028"
    )
    assert m["money_raised_cny"] == 1_500_000.0  # total_sources_cny
    assert m["money_spent_cny"] is None  # no payment recorded
    assert "not money received" in m["money_basis"] and "QS-P-TEST" in m["money_basis"]
    assert m["progress"].startswith("appraised 2026-12-01 (version 1); works planned 2026–2028")
    assert m["monitoring"] == {
        "status": "none",
        "summary": "no monitoring yet",
        "count": 0,
        "latest": None,
    }
    zh = client.get("/api/v1/public/mines/QS-M09").json()
    assert zh["plan_summary"].startswith("修复 12.5 hm²（耕地 10.0 hm²，林地 2.5 hm²）")
    assert zh["monitoring"]["summary"] == "暂无监测数据"
    p = client.get(f"/api/v1/public/projects/{stored_project}", params={"lang": "en"}).json()
    assert p["mines"] == ["QS-M09"] and p["status"] == "appraised" and p["start_year"] == 2026
    assert p["responsible_party"] == "青山修复有限公司"
    assert p["money_raised_cny"] == 1_500_000.0


def test_changing_and_withdrawing_keep_the_history(client, as_role, app):
    as_role(NR)
    first = client.post(
        "/api/v1/disclosures", json={"subject": "mine", "subject_id": "QS-M28"}
    ).json()
    second = client.post(
        "/api/v1/disclosures",
        json={"subject": "mine", "subject_id": "QS-M28", "fields": ["area"]},
    ).json()
    as_role(None)
    assert client.get("/api/v1/public/mines/QS-M28").json()["fields"] == ["area"]
    as_role(NR)
    r = client.post(f"/api/v1/disclosures/{second['id']}/withdraw")
    assert r.status_code == 200 and r.json()["withdrawn_at"] is not None
    assert client.post(f"/api/v1/disclosures/{second['id']}/withdraw").status_code == 409
    as_role(None)
    assert client.get("/api/v1/public/mines/QS-M28").status_code == 404
    with app.state.store.engine.connect() as conn:
        rows = conn.execute(
            sa.select(disclosures.c.id, disclosures.c.withdrawn_at)
            .where(disclosures.c.subject_id == "QS-M28")
            .order_by(disclosures.c.id)
        ).all()
        audited = conn.execute(
            sa.text(
                "SELECT action FROM audit WHERE table_name = 'disclosures' AND mine_id = 'QS-M28' "
                "ORDER BY id"
            )
        ).all()
    # the first was withdrawn by the second, the second by hand: both kept
    assert [r.id for r in rows] == [first["id"], second["id"]]
    assert all(r.withdrawn_at is not None for r in rows)
    assert [a[0] for a in audited] == ["insert", "insert", "update"]


def test_only_the_bureau_of_the_region_discloses(client, as_role):
    as_role(None)
    r = client.post("/api/v1/disclosures", json={"subject": "mine", "subject_id": "QS-M01"})
    assert r.status_code == 401
    as_role(OTHER_COUNTY)
    r = client.post("/api/v1/disclosures", json={"subject": "mine", "subject_id": "QS-M01"})
    assert r.status_code == 403 and r.json()["type"] == "/problems/out-of-scope"
    as_role(Principal(role="finance", user_id=99, username="bank"))
    r = client.post("/api/v1/disclosures", json={"subject": "mine", "subject_id": "QS-M01"})
    assert r.status_code == 403
    as_role(NR)
    r = client.post(
        "/api/v1/disclosures",
        json={"subject": "mine", "subject_id": "QS-M01", "fields": ["salary"]},
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "fields"
    r = client.post("/api/v1/disclosures", json={"subject": "mine", "subject_id": "NOPE"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "subject_id"


def test_a_deleted_mine_leaves_the_public_pages(client, as_role, app):
    as_role(NR)
    client.post("/api/v1/disclosures", json={"subject": "mine", "subject_id": "QS-M02"})
    as_role(None)
    assert client.get("/api/v1/public/mines/QS-M02").status_code == 200
    app.state.store.delete_mine("QS-M02", cascade=True, reason="test")
    assert client.get("/api/v1/public/mines/QS-M02").status_code == 404
    ids = [m["mine_id"] for m in client.get("/api/v1/public/mines").json()["items"]]
    assert "QS-M02" not in ids


def test_groups_are_checked_against_the_subject():
    assert D.check_groups("mine", None) == list(D.MINE_GROUPS)
    assert D.check_groups("project", ["money", "mines"]) == ["mines", "money"]
    with pytest.raises(Exception, match="no field group 'area' for a project"):
        D.check_groups("project", ["area"])
