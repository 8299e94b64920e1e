"""The project library, finance supply and the market flow over the API (issue 14, items 1, 2,
5; docs/market.md): a listing published from a stored appraisal of the demo project QS-M09
(run once as a job), products of three banks, eligibility in words, notifications, claims in a
window with the first N seeing the full appraisal, the owner's choice, the chosen bank's answer
before its deadline or the lapse — every step at an injected clock, audited, bad input refused
naming the field with the store unchanged.
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml

from restora.service import credentials
from restora.service.security import Principal
from restora.store import accounts, projects
from restora.store import market as repo
from restora.store.audit import Change
from restora.store.platform_tables import claims, listings, market_events, notifications, products
from restora.store.tables import audit, changes

ROOT = Path(__file__).resolve().parents[2]
COUNTY = "430599"
T0 = dt.datetime(2027, 1, 4, 9, 0, tzinfo=dt.UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **kw: float) -> None:
        self.now = self.now + dt.timedelta(**kw)


def _as(principal: Principal) -> Any:
    async def authenticate(request: Any) -> Principal:
        return principal

    return authenticate


@pytest.fixture(scope="module")
def world(app: Any, client: Any) -> dict[str, Any]:
    """Organisations and accounts, the demo project QS-P-M09 owned by the firm, appraised once."""
    engine = app.state.store.engine
    t = Change("tests")

    def org(name: str, kind: str) -> int:
        return int(accounts.create_organisation(engine, name, kind, change=t)["id"])

    def who(name: str, role: str, org_id: int | None, region: str | None = COUNTY) -> Principal:
        a = credentials.new_account(
            engine, username=name, role=role, password=None, org_id=org_id, region_code=region,
            change=t,
        )  # fmt: skip
        return Principal(role=role, user_id=a.id, org_id=org_id, username=name, region=region)

    firm, other_firm = org("青山修复有限公司", "enterprise"), org("别家修复公司", "enterprise")
    banks = [org(n, "bank") for n in ("青山农商银行", "湘中绿色银行", "洞庭信托", "远方银行")]
    w = {
        "firm": who("firm", "enterprise", firm),
        "other_firm": who("other-firm", "enterprise", other_firm),
        "bureau": who("bureau", "natural_resources", None),
        "bureau_away": who("bureau-away", "natural_resources", None, "430100"),
        "banks": [who(f"bank{i}", "finance", b, None) for i, b in enumerate(banks[:3])],
        "bank_away": who("bank-away", "finance", banks[3], "430100"),
        "admin": Principal(role="admin", username="admin"),
        "evaluator": who("eval", "evaluator", None),
    }
    spec = yaml.safe_load((ROOT / "examples/demo-projects/QS-M09.yaml").read_text("utf-8"))
    projects.create_project(app.state.store, spec, owner_org_id=firm, change=t)
    clock = Clock()
    app.state.clock = clock
    w["clock"] = clock
    client.app.state.authenticate = _as(w["firm"])
    r = client.post("/api/v1/projects/QS-P-M09/appraisals", json={"lang": "en", "pdf": False})
    assert r.status_code == 202, r.text
    deadline = time.monotonic() + 600
    while True:
        job = client.get(r.json()["job_url"]).json()
        if job["status"] in ("succeeded", "failed", "cancelled") or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert job["status"] == "succeeded", job
    w["document"] = client.get("/api/v1/projects/QS-P-M09/appraisals/1").json()
    return w


@pytest.fixture
def call(client: Any, world: dict[str, Any]) -> Any:
    def as_(principal: Principal) -> Any:
        client.app.state.authenticate = _as(principal)
        return client

    return as_


NEED = {
    "project_id": "QS-P-M09",
    "amount_cny": 12_000_000,
    "needed_by": "2027-06-30",
    "schedule": [{"year": 2027, "amount_cny": 8_000_000}, {"year": 2028, "amount_cny": 4_000_000}],
    "instrument": "pledge_loan",
    "tenor_years": 10,
    "stage": "preparation",
    "collateral": ["land_use_rights", "carbon_sink_rights"],
}
LOAN = {
    "name": "绿色修复质押贷",
    "instrument": "pledge_loan",
    "capacity_cny": 200_000_000,
    "ticket_min_cny": 5_000_000,
    "ticket_max_cny": 50_000_000,
    "tenor_min_years": 3,
    "tenor_max_years": 15,
    "rate": 0.039,
    "fee_rate": 0.005,
    "requirements": {"collateral_any": ["land_use_rights"], "regions": ["430000"]},
    "preferences": {"min_esv_gain_per_mcny": 10_000},
}


def _count(app: Any, table: sa.Table) -> int:
    with app.state.store.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def _digest(app: Any) -> tuple[int, ...]:
    return tuple(
        _count(app, t) for t in (listings, products, claims, market_events, notifications, changes)
    )


def _stage(doc: dict[str, Any], *path: str) -> Any:
    cur: Any = doc["stages"]
    for p in path:
        cur = cur[p]
    return cur


def test_products_of_three_banks_and_bad_input_named(call, world, app):
    banks = world["banks"]
    r = call(banks[0]).post("/api/v1/market/products", json=LOAN)
    assert r.status_code == 201, r.text
    assert r.headers["location"].endswith(f"/market/products/{r.json()['id']}")
    p = r.json()
    assert p["org_name"] == "青山农商银行" and p["requirements"]["regions"] == ["430000"]
    assert call(banks[1]).post("/api/v1/market/products", json=LOAN).status_code == 201
    strict = {**LOAN, "name": "严格贷款", "requirements": {"min_dscr": 1.2, "min_irr": 0.08}}
    assert call(banks[2]).post("/api/v1/market/products", json=strict).status_code == 201
    assert call(banks[2]).post("/api/v1/market/products", json=LOAN).status_code == 201

    before = _digest(app)
    for body, field in (
        ({**LOAN, "ticket_min_cny": 60_000_000}, "ticket_min_cny"),
        ({**LOAN, "instrument": "gift"}, "instrument"),
        ({**LOAN, "capacity_cny": -1}, "capacity_cny"),
        ({**LOAN, "requirements": {"collateral_any": ["house"]}}, "requirements.collateral_any.0"),
        ({**LOAN, "requirements": {"regions": ["43"]}}, "requirements.regions.0"),
        ({**LOAN, "tenor_min_years": 20}, "tenor_min_years"),
        ({**LOAN, "price": 1}, "price"),
    ):
        r = call(banks[0]).post("/api/v1/market/products", json=body)
        assert r.status_code == 422, (field, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        assert field in {e["field"] for e in r.json()["errors"]}, (field, r.json())
    assert _digest(app) == before
    # a bank sees its own products only; the enterprise sees the supply
    mine = call(banks[0]).get("/api/v1/market/products").json()["items"]
    assert [x["org_name"] for x in mine] == ["青山农商银行"]
    assert call(banks[1]).get(f"/api/v1/market/products/{p['id']}").status_code == 404
    assert len(call(world["firm"]).get("/api/v1/market/products").json()["items"]) == 4
    r = call(banks[1]).patch(f"/api/v1/market/products/{p['id']}", json={"rate": 0.03})
    assert r.status_code == 404
    r = call(banks[0]).patch(f"/api/v1/market/products/{p['id']}", json={"rate": 0.037})
    assert r.status_code == 200 and r.json()["rate"] == 0.037
    r = call(banks[0]).patch(f"/api/v1/market/products/{p['id']}", json={"ticket_max_cny": 1})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "ticket_min_cny"
    # the enterprise may not publish products
    assert call(world["firm"]).post("/api/v1/market/products", json=LOAN).status_code == 403


def test_a_listing_from_the_stored_appraisal_its_figures_read_not_typed(call, world, app):
    firm, doc = world["firm"], world["document"]
    before = _digest(app)
    for body, field in (
        ({**NEED, "amount_cny": -5}, "amount_cny"),
        ({**NEED, "instrument": "gift"}, "instrument"),
        ({**NEED, "collateral": ["house"]}, "collateral.0"),
        ({**NEED, "stage": "dreaming"}, "stage"),
        ({**NEED, "figures": {"npv_cny": 1e12}}, "figures"),  # never typed in
        ({**NEED, "appraisal_version": 9}, "appraisal_version"),
        ({**NEED, "schedule": [{"year": 2027, "amount_cny": 1}]}, "schedule"),
        ({**NEED, "settings": {"access_claims": 0}}, "settings.access_claims"),
    ):
        r = call(firm).post("/api/v1/market/listings", json=body)
        assert r.status_code == 422, (field, r.text)
        assert field in {e["field"] for e in r.json()["errors"]}, (field, r.json())
    assert _digest(app) == before
    # a finance account may not publish; another firm does not see the project
    assert call(world["banks"][0]).post("/api/v1/market/listings", json=NEED).status_code == 403
    assert call(world["other_firm"]).post("/api/v1/market/listings", json=NEED).status_code == 404

    body = {**NEED, "settings": {"access_claims": 2, "claim_window_hours": 48, "answer_hours": 24}}
    r = call(firm).post("/api/v1/market/listings", json=body)
    assert r.status_code == 201, r.text
    listing = r.json()
    world["listing"] = listing
    f = listing["figures"]
    assert listing["appraisal_version"] == 1 and listing["version"] == 1
    assert listing["state"] == "open" and listing["closes_at"].startswith("2027-01-06T09:00")
    assert listing["region_code"] == COUNTY and listing["mineral"] == "coal"
    assert f["cost_p50_cny"] == _stage(doc, "cost", "total_p50_cny")
    assert f["cost_p90_cny"] == _stage(doc, "cost", "total_p90_cny")
    assert f["p90_overrun"] == pytest.approx(f["cost_p90_cny"] / f["cost_p50_cny"] - 1)
    covenants = _stage(doc, "financing", "structure", "covenants")
    assert f["min_dscr"] == min(c["min_dscr"] for c in covenants)
    assert f["npv_cny"] == _stage(doc, "cashflow", "npv_cny")
    assert f["irr"] == _stage(doc, "cashflow", "irr")
    assert f["npv_p50_cny"] == _stage(doc, "risk", "summary", "npv", "p50")
    assert f["p_npv_negative"] == _stage(doc, "risk", "summary", "p_npv_negative")
    assert f["esv_gain_cny_per_yr"] == _stage(doc, "value", "esv", "change_cny_per_yr")
    assert f["mode"] == _stage(doc, "modes", "mines")[0]["primary_mode"] == listing["mode"]
    assert {s["kind"] for s in f["revenue_streams"]} == {
        s["kind"] for s in _stage(doc, "revenue", "streams")
    }
    assert f["jobs"] is None and "jobs" in f["missing"]  # the project file gives no jobs
    # the banks whose products are eligible were told; the strict product's bank was not
    with app.state.store.engine.connect() as conn:
        told = {
            r.org_id
            for r in conn.execute(
                sa.select(notifications.c.org_id).where(
                    notifications.c.listing_id == listing["id"],
                    notifications.c.kind == "eligible_listing",
                )
            )
        }
    banks = world["banks"]
    assert told == {banks[0].org_id, banks[1].org_id, banks[2].org_id}
    inbox = call(banks[0]).get("/api/v1/market/notifications").json()["items"]
    assert inbox[0]["kind"] == "eligible_listing" and inbox[0]["project_id"] == "QS-P-M09"


def test_eligibility_in_words(call, world):
    listing = world["listing"]
    verdicts = (
        call(world["firm"]).get(f"/api/v1/market/listings/{listing['id']}/eligibility").json()
    )
    assert len(verdicts) == 4
    strict = next(v for v in verdicts if v["product_name"] == "严格贷款")
    assert not strict["eligible"]
    codes = {f["code"] for f in strict["failures"]}
    assert "MATCH-DSCR" in codes
    dscr = next(f for f in strict["failures"] if f["code"] == "MATCH-DSCR")
    assert "below the product's 1.20" in dscr["message"] and "偿债备付率" in dscr["message_zh"]
    assert dscr["smallest_change"] == {
        "parameter": "min_dscr", "from": listing["figures"]["min_dscr"], "to": 1.2,
    }  # fmt: skip
    assert sum(v["eligible"] for v in verdicts) == 3
    # a bank sees its own products only
    mine = (
        call(world["banks"][2]).get(f"/api/v1/market/listings/{listing['id']}/eligibility").json()
    )
    assert {v["org_name"] for v in mine} == {"洞庭信托"}
    # a bank of another city does not see the county's listing
    away = world["bank_away"]
    assert call(away).get(f"/api/v1/market/listings/{listing['id']}").status_code == 404
    assert call(away).get("/api/v1/market/listings").json()["items"] == []
    assert call(world["other_firm"]).get("/api/v1/market/listings").json()["items"] == []


def _product_of(call: Any, bank: Principal, name: str = "绿色修复质押贷") -> int:
    items = call(bank).get("/api/v1/market/products").json()["items"]
    return int(next(p["id"] for p in items if p["name"] == name))


def test_claims_first_n_see_the_full_appraisal(call, world, app):
    listing, banks = world["listing"], world["banks"]
    lid = listing["id"]
    url = f"/api/v1/market/listings/{lid}"
    assert call(banks[0]).get(f"{url}/appraisal").status_code == 403  # not claimed yet
    before = _digest(app)
    strict = _product_of(call, banks[2], "严格贷款")
    r = call(banks[2]).post(f"{url}/claims", json={"product_id": strict})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "product_id"
    assert "DSCR" in r.json()["detail"]
    other = _product_of(call, banks[0])
    r = call(banks[1]).post(f"{url}/claims", json={"product_id": other})  # not its product
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "product_id"
    r = call(banks[0]).post(f"{url}/claims", json={"product_id": other, "amount_cny": 1})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "amount_cny"
    assert _digest(app) == before

    made = []
    for i, bank in enumerate(banks):
        world["clock"].advance(hours=1)
        body = {"product_id": _product_of(call, bank), "amount_cny": 12_000_000}
        r = call(bank).post(f"{url}/claims", json=body)
        assert r.status_code == 201, r.text
        c = r.json()
        assert c["seq"] == i + 1 and c["state"] == "claimed"
        assert c["access"] is (i < 2)  # access_claims = 2
        made.append(c)
    world["claims"] = made
    r = call(banks[0]).post(f"{url}/claims", json={"product_id": _product_of(call, banks[0])})
    assert r.status_code == 409  # one claim per organisation
    for i, bank in enumerate(banks):
        r = call(bank).get(f"{url}/appraisal")
        assert r.status_code == (200 if i < 2 else 403), (i, r.text)
    full = call(banks[0]).get(f"{url}/appraisal").json()
    assert full["project"]["project_id"] == "QS-P-M09" and "stages" in full
    assert call(world["firm"]).get(f"{url}/appraisal").status_code == 200
    # each bank sees its own claim only; the owner sees them all
    seen = call(banks[1]).get(url).json()
    assert [c["org_name"] for c in seen["claims"]] == ["湘中绿色银行"]
    assert seen["claims_count"] == 3 and seen["my_claim"] == made[1]["id"]
    assert [c["seq"] for c in call(world["firm"]).get(url).json()["claims"]] == [1, 2, 3]
    owner_inbox = call(world["firm"]).get("/api/v1/market/notifications").json()["items"]
    assert [n["kind"] for n in owner_inbox[:3]] == ["claimed"] * 3


def test_the_window_closes_claims_by_the_clock(call, world, app):
    """After the 48 h window no bank may claim; the listing reads as closed, nothing written."""
    listing = world["listing"]
    url = f"/api/v1/market/listings/{listing['id']}"
    saved = world["clock"].now
    world["clock"].now = T0 + dt.timedelta(hours=48)
    try:
        assert call(world["firm"]).get(url).json()["state"] == "closed"
        spare = {**LOAN, "name": "备用贷款"}
        call(world["admin"]).post(
            "/api/v1/market/products", json={**spare, "org_id": world["bank_away"].org_id}
        )
        before = _digest(app)
        # a bank with scope over the county (none) claims too late
        bank = Principal(
            role="finance", user_id=None, org_id=world["bank_away"].org_id, username="late"
        )
        r = call(bank).post(
            f"{url}/claims", json={"product_id": _product_of(call, bank, "备用贷款")}
        )
        assert r.status_code == 409 and "window closed" in r.json()["detail"]
        assert _digest(app) == before
    finally:
        world["clock"].now = saved
    assert call(world["firm"]).get(url).json()["state"] == "open"


def test_only_the_owner_chooses_and_the_chosen_bank_answers_by_its_deadline(call, world, app):
    listing, banks, made = world["listing"], world["banks"], world["claims"]
    first, second, third = (c["id"] for c in made)
    # a bank may not choose (no library.publish); another firm does not see it; a bureau of
    # another city does not either
    assert call(banks[0]).post(f"/api/v1/market/claims/{first}/choose").status_code == 403
    assert (
        call(world["other_firm"]).post(f"/api/v1/market/claims/{first}/choose").status_code == 404
    )
    r = call(world["bureau_away"]).post(f"/api/v1/market/claims/{first}/choose")
    assert r.status_code == 404
    # an unchosen claim cannot be answered
    r = call(banks[0]).post(f"/api/v1/market/claims/{first}/answer", json={"answer": "decline"})
    assert r.status_code == 409

    world["clock"].advance(hours=2)
    chosen_at = world["clock"].now
    r = call(world["firm"]).post(f"/api/v1/market/claims/{first}/choose")
    assert r.status_code == 200, r.text
    c = r.json()
    assert c["state"] == "chosen"
    assert dt.datetime.fromisoformat(c["answer_due_at"]) == chosen_at + dt.timedelta(hours=24)
    r = call(world["firm"]).post(f"/api/v1/market/claims/{second}/choose")
    assert r.status_code == 409 and "may answer until" in r.json()["detail"]
    assert call(banks[0]).get("/api/v1/market/notifications").json()["items"][0]["kind"] == "chosen"

    # the deadline passes unanswered: the claim lapsed (read from the clock, nothing written)
    world["clock"].now = chosen_at + dt.timedelta(hours=24, seconds=1)
    before = _digest(app)
    assert call(banks[0]).get(f"/api/v1/market/claims/{first}").json()["state"] == "lapsed"
    body = {"answer": "accept", "terms": {"amount_cny": 12_000_000, "rate": 0.039}}
    r = call(banks[0]).post(f"/api/v1/market/claims/{first}/answer", json=body)
    assert r.status_code == 409 and "lapsed" in r.json()["detail"]
    assert _digest(app) == before

    # the owner (here the county bureau, which may act for the project) chooses the second
    r = call(world["bureau"]).post(f"/api/v1/market/claims/{second}/choose")
    assert r.status_code == 200 and r.json()["state"] == "chosen"
    r = call(banks[2]).post(f"/api/v1/market/claims/{second}/answer", json=body)
    assert r.status_code == 404  # not its claim
    r = call(banks[1]).post(f"/api/v1/market/claims/{second}/answer", json={"answer": "accept"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "terms.amount_cny"
    world["clock"].advance(hours=3)
    r = call(banks[1]).post(f"/api/v1/market/claims/{second}/answer", json=body)
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "accepted" and r.json()["terms"]["rate"] == 0.039
    seen = call(world["firm"]).get(f"/api/v1/market/listings/{listing['id']}").json()
    assert seen["state"] == "matched"
    assert [c["state"] for c in seen["claims"]] == ["lapsed", "accepted", "not_chosen"]
    r = call(world["firm"]).post(f"/api/v1/market/claims/{third}/choose")
    assert r.status_code == 409
    # both sides see the steps
    steps = call(world["firm"]).get(f"/api/v1/market/listings/{listing['id']}/events").json()
    assert [e["action"] for e in steps] == [
        "published", "notified", "claimed", "claimed", "claimed", "chosen", "chosen", "accepted",
    ]  # fmt: skip
    theirs = call(banks[1]).get(f"/api/v1/market/listings/{listing['id']}/events").json()
    assert [e["action"] for e in theirs] == [
        "published",
        "notified",
        "claimed",
        "chosen",
        "accepted",
    ]
    mine = call(banks[1]).get("/api/v1/market/claims").json()["items"]
    assert [c["state"] for c in mine] == ["accepted"]


def test_every_step_is_audited_and_the_history_append_only(app, world):
    with app.state.store.engine.connect() as conn:
        rows = conn.execute(
            sa.select(audit.c.table_name, audit.c.action, changes.c.command, changes.c.user_id)
            .join(changes, changes.c.id == audit.c.change_id)
            .where(audit.c.table_name.in_(["listings", "claims", "products"]))
            .order_by(audit.c.id)
        ).all()
    kinds = [(r.table_name, r.action) for r in rows]
    assert kinds.count(("products", "insert")) == 5
    assert kinds.count(("claims", "insert")) == 3
    assert kinds.count(("claims", "update")) == 3  # chosen, chosen, answered
    assert ("listings", "insert") in kinds
    commands = {r.command for r in rows if r.table_name == "claims"}
    assert "POST /api/v1/market/claims/{claim_id}/choose" in commands
    assert all(r.user_id is not None for r in rows if r.table_name == "claims")
    with pytest.raises(sa.exc.DBAPIError), app.state.store.engine.begin() as conn:
        conn.execute(sa.update(market_events).values(action="forged"))
    with pytest.raises(sa.exc.DBAPIError), app.state.store.engine.begin() as conn:
        conn.execute(sa.delete(notifications))


def test_a_new_appraisal_makes_a_new_listing_version(call, world, app):
    """Version 2 of the appraisal (stored by the repository from a copy of version 1 with a
    higher cost) published: listing version 2 with the new figures; version 1 superseded, its
    claims still on it."""
    doc = dict(world["document"])
    stages = dict(doc["stages"])
    cost = dict(stages["cost"])
    cost["total_p90_cny"] = cost["total_p90_cny"] * 1.5
    stages["cost"] = cost
    doc["stages"] = stages
    row, new = projects.add_appraisal(
        app.state.store, "QS-P-M09", inputs_sha256="f" * 64, on_date="2026-06-01",
        document=doc, place=lambda v: {},
    )  # fmt: skip
    assert new and row["version"] == 2
    r = call(world["firm"]).post("/api/v1/market/listings", json=NEED)
    assert r.status_code == 201, r.text
    v2 = r.json()
    assert v2["version"] == 2 and v2["appraisal_version"] == 2
    assert v2["figures"]["cost_p90_cny"] == cost["total_p90_cny"]
    assert v2["figures"]["p90_overrun"] > world["listing"]["figures"]["p90_overrun"]
    old = repo.get_listing(app.state.store, world["listing"]["id"], now=world["clock"]())
    # version 1 was matched already: it stays matched (only an open listing is superseded)
    assert old["state"] == "matched" and len(old["claims"]) == 3
    r = call(world["firm"]).post(
        "/api/v1/market/listings", json={**NEED, "amount_cny": 9e6, "schedule": []}
    )
    v3 = r.json()
    assert v3["version"] == 3
    assert call(world["firm"]).get(f"/api/v1/market/listings/{v2['id']}").json()["state"] == (
        "superseded"
    )
    current = call(world["firm"]).get("/api/v1/market/listings").json()["items"]
    page = (
        call(world["firm"])
        .get("/api/v1/market/listings", params={"limit": 1, "offset": 1, "sort": "amount_cny"})
        .json()
    )
    assert page["total"] == 2 and [x["amount_cny"] for x in page["items"]] == [12_000_000]
    r = call(world["firm"]).get("/api/v1/market/listings", params={"sort": "npv"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "sort"
    assert [(x["version"], x["state"]) for x in current] == [(3, "open"), (1, "matched")]
    r = call(world["firm"]).post(f"/api/v1/market/listings/{v3['id']}/withdraw")
    assert r.status_code == 200 and r.json()["state"] == "withdrawn"
    assert (
        call(world["firm"]).post(f"/api/v1/market/listings/{v3['id']}/withdraw").status_code == 409
    )


def test_a_withdrawn_listing_closes_its_chosen_claim(call, world, app):
    """Withdrawn while a chosen claim waits: the claim is closed, its answer refused."""
    r = call(world["firm"]).post("/api/v1/market/listings", json={**NEED, "schedule": []})
    assert r.status_code == 201, r.text
    lid = r.json()["id"]
    bank = world["banks"][0]
    body = {"product_id": _product_of(call, bank)}
    claim = call(bank).post(f"/api/v1/market/listings/{lid}/claims", json=body).json()
    assert (
        call(world["firm"]).post(f"/api/v1/market/claims/{claim['id']}/choose").status_code == 200
    )
    assert call(world["firm"]).post(f"/api/v1/market/listings/{lid}/withdraw").status_code == 200
    assert call(bank).get(f"/api/v1/market/claims/{claim['id']}").json()["state"] == "closed"
    answer = {"answer": "accept", "terms": {"amount_cny": 1.2e7}}
    r = call(bank).post(f"/api/v1/market/claims/{claim['id']}/answer", json=answer)
    assert r.status_code == 409 and "closed" in r.json()["detail"]
    kinds = [n["kind"] for n in call(bank).get("/api/v1/market/notifications").json()["items"][:3]]
    assert kinds[0] == "withdrawn"


def test_a_pledge_on_the_registry_shows_on_the_listing(call, world, app):
    """Issue 15 item 5: a quota block pledged to a lender is visible to the library."""
    from restora.store import registry as reg

    store, now = app.state.store, world["clock"].now
    firm_acc = reg.open_account(store, kind="holding", name="青山修复 holding", at=now)["account"]
    bank_acc = reg.open_account(store, kind="holding", name="青山农商银行 pledges", at=now)[
        "account"
    ]
    reg.record_verification(
        store, verification="V-QS-CLQ", unit_type="CLQ", project_id="QS-P-M09", vintage=2026,
        region_code=COUNTY, count=1500, evaluator="eval", report_sha256="0" * 64, at=now,
    )  # fmt: skip
    reg.issue(store, verification="V-QS-CLQ", account=firm_acc, count=1500, attrs={"grade": "2"},
              at=now)  # fmt: skip
    reg.operate(store, "pledge", unit_type="CLQ", start=1, end=1000, lender=bank_acc,
                pledge="PL-2026-03", at=now)  # fmt: skip
    r = call(world["firm"]).post("/api/v1/market/listings", json=NEED)
    assert r.status_code == 201, r.text
    listing = call(world["firm"]).get(f"/api/v1/market/listings/{r.json()['id']}").json()
    assert [
        (p["serial"], p["amount"], p["lender_name"]) for p in listing["registry"]["pledged"]
    ] == [(f"CN-CLQ-{COUNTY}-QS-P-M09-2026-1-1000", 10.0, "青山农商银行 pledges")]
    assert [(f["unit_type"], f["amount"]) for f in listing["registry"]["free"]] == [("CLQ", 5.0)]
    page = call(world["firm"]).get(
        f"/library/{r.json()['id']}", headers={"Accept-Language": "zh-CN"}
    )
    assert page.status_code == 200
    assert "已质押给 青山农商银行 pledges" in page.text
