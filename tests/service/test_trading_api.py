"""The registry's venues over HTTP (issue 15): money at the cash desk, sealed-bid auctions (bids
sealed until the bureau closes the auction, then the Vickrey price and the ranked bids by
account name), the order book (money committed to resting buys not withdrawable), offset
obligations, and earth and stone (a lot beyond the approved surplus refused naming the surplus,
a weighbridge upload with a bad row refused naming file, row and column with nothing stored);
each route with the roles allowed and refused."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from restora.service import credentials
from restora.store import accounts
from restora.store.audit import Change
from restora.store.tables import mines as MINES

PASSWORD = "correct horse battery staple"
API = "/api/v1/registry"
COUNTY = "430599"
T0 = dt.datetime(2026, 12, 1, 9, tzinfo=dt.UTC)
CLOSES = T0 + dt.timedelta(days=7)


def _bearer(
    engine: Any, username: str, role: str, org_id: int | None = None, region: str | None = None
) -> dict[str, str]:
    account = credentials.new_account(
        engine, username=username, role=role, password=PASSWORD, org_id=org_id,
        display_name=f"{username} 的真名", region_code=region, change=Change("t"),
    )  # fmt: skip
    token, sha = credentials.new_token(credentials.TOKEN_PREFIX)
    accounts.create_token(
        engine, account.id, name="t", token_sha256=sha, expires_at=None, change=Change("t")
    )
    return {"Authorization": f"Bearer {token}"}


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture(scope="module")
def w(app: Any) -> dict[str, Any]:
    """Organisations and users; the bureau's government account holds 20 亩 of
    construction-land quota and 60 000 m³ of earth and stone of the demo county's first mine
    (its restoration account opened); the firm holds 1 000 t CO2e of carbon-sink credits."""
    engine = app.state.store.engine
    clock = Clock()
    app.state.clock = clock
    with engine.connect() as conn:
        mine = str(
            conn.execute(
                sa.select(MINES.c.mine_id)
                .where(MINES.c.region_code == COUNTY, MINES.c.deleted_at.is_(None))
                .order_by(MINES.c.mine_id)
            ).scalar()
        )
    org = {
        name: accounts.create_organisation(engine, label, kind, change=Change("t"))["id"]
        for name, label, kind in (
            ("bureau", "青山县自然资源局", "natural_resources_bureau"),
            ("firm", "青山修复工程有限公司", "enterprise"),
            ("dev1", "湘江置业有限公司", "enterprise"),
            ("dev2", "青山建材有限公司", "enterprise"),
            ("bank", "青山农商银行", "bank"),
            ("eval", "湘中第三方评估中心", "evaluator"),
        )
    }
    h = {
        "nr": _bearer(engine, "tr-nr", "natural_resources", org["bureau"], COUNTY),
        "eco": _bearer(engine, "tr-eco", "ecology_environment", None, COUNTY),
        "firm": _bearer(engine, "tr-firm", "enterprise", org["firm"]),
        "dev1": _bearer(engine, "tr-dev1", "enterprise", org["dev1"]),
        "dev2": _bearer(engine, "tr-dev2", "enterprise", org["dev2"]),
        "bank": _bearer(engine, "tr-bank", "finance", org["bank"]),
        "eval": _bearer(engine, "tr-eval", "evaluator", org["eval"]),
        "village": _bearer(engine, "tr-village", "village"),
        "nr_away": _bearer(engine, "tr-nr-away", "natural_resources", None, "999900"),
        "public": {},
    }
    c = TestClient(app, raise_server_exceptions=False)
    acc = {}
    for name, kind, org_id, extra in (
        ("county", "government", org["bureau"], {}),
        ("firm", "holding", org["firm"], {}),
        ("dev1", "holding", org["dev1"], {}),
        ("dev2", "holding", org["dev2"], {}),
        ("restoration", "restoration", None, {"name": f"{mine} 修复基金账户", "mine_id": mine}),
    ):
        r = c.post(f"{API}/accounts", json={"kind": kind, "org_id": org_id, **extra},
                   headers=h["nr"])  # fmt: skip
        assert r.status_code == 201, r.text
        acc[name] = r.json()["account"]
    for vid, unit, amount, to, attrs in (
        ("V-CLQ", "CLQ", 20, "county", {"grade": "水田"}),
        ("V-EST", "EST", 60_000, "county", {"grade": "rock", "mine_id": mine}),
        ("V-CS", "CSINK", 1000, "firm", {"methodology": "CCER-14-001-V01"}),
    ):
        r = c.post(f"{API}/verifications", headers=h["eval"], json={
            "verification": vid, "unit_type": unit, "project_id": "QS-P-M09", "vintage": 2026,
            "region_code": COUNTY, "amount": amount, "report_sha256": "ab" * 32,
        })  # fmt: skip
        assert r.status_code == 201, r.text
        r = c.post(f"{API}/issue", headers=h["nr"],
                   json={"verification": vid, "account": acc[to], "amount": amount, "attrs": attrs})  # fmt: skip
        assert r.status_code == 201, r.text
    yield {"c": c, "h": h, "acc": acc, "org": org, "mine": mine, "clock": clock}
    app.state.clock = None


def test_money_at_the_cash_desk_and_the_balance_of_ones_own_accounts(w: dict[str, Any]) -> None:
    c, h, acc = w["c"], w["h"], w["acc"]
    for who in ("firm", "dev1", "eval", "public", "eco"):
        r = c.post(f"{API}/accounts/{acc['dev1']}/money", headers=h[who],
                   json={"kind": "deposit", "amount_cny": "1"})  # fmt: skip
        assert r.status_code == (401 if who == "public" else 403), (who, r.text)
    for name, cny in (("dev1", "50000.00"), ("dev2", "30000"), ("firm", "100000")):
        r = c.post(f"{API}/accounts/{acc[name]}/money", headers=h["nr"],
                   json={"kind": "deposit", "amount_cny": cny, "reference": "BANK-1"})  # fmt: skip
        assert r.status_code == 200, r.text
        assert r.json()["money"]["balance_fen"] == int(float(cny) * 100)
        assert r.json()["events"][0]["kind"] == "deposit"
    r = c.post(f"{API}/accounts/{acc['dev1']}/money", headers=h["nr"],
               json={"kind": "deposit", "amount_cny": "1.005"})  # fmt: skip
    assert r.status_code == 422 and "to the fen" in r.json()["detail"]
    # an organisation reads its own account's money; another's is not found
    assert (
        c.get(f"{API}/accounts/{acc['dev1']}/money", headers=h["dev1"]).json()["balance_fen"]
        == 5_000_000
    )
    assert c.get(f"{API}/accounts/{acc['dev1']}/money", headers=h["dev2"]).status_code == 404
    assert c.get(f"{API}/accounts/{acc['dev1']}/money", headers=h["eval"]).status_code == 200
    assert c.get(f"{API}/accounts/{acc['dev1']}/money").status_code == 401
    mine = c.get(f"{API}/trading/mine", headers=h["dev1"]).json()
    assert [a["account"] for a in mine["accounts"]] == [acc["dev1"]]


def test_a_sealed_bid_auction_closed_by_the_bureau_settles_at_the_vickrey_price(
    w: dict[str, Any],
) -> None:
    c, h, acc, clock = w["c"], w["h"], w["acc"], w["clock"]
    lot = {"unit_type": "CLQ", "start": 1, "end": 1200, "rule": "second_price",
           "reserve_cny": "24000", "closes_at": CLOSES.isoformat()}  # fmt: skip
    # only the lot's holder offers it: the firm holds no such block (404), finance as a role
    # may trade but not this lot, the evaluator and the public may not trade at all
    assert c.post(f"{API}/auctions", json=lot, headers=h["firm"]).status_code == 404
    assert c.post(f"{API}/auctions", json=lot, headers=h["eval"]).status_code == 403
    assert c.post(f"{API}/auctions", json=lot).status_code == 401
    r = c.post(f"{API}/auctions", json=lot, headers=h["nr"])
    assert r.status_code == 201, r.text
    aid = r.json()["auction"]["id"]
    assert r.json()["auction"]["amount"] == 12 and r.json()["auction"]["measure"] == "mu"
    # bids for one's own account only
    bid = {"account": acc["dev1"], "amount_cny": "31000"}
    assert c.post(f"{API}/auctions/{aid}/bids", json=bid, headers=h["dev2"]).status_code == 404
    assert c.post(f"{API}/auctions/{aid}/bids", json=bid, headers=h["eval"]).status_code == 403
    assert c.post(f"{API}/auctions/{aid}/bids", json=bid, headers=h["dev1"]).status_code == 201
    r = c.post(f"{API}/auctions/{aid}/bids", json=bid, headers=h["dev1"])
    assert r.status_code == 409 and "one sealed bid each" in r.json()["detail"]
    # the bid's money is held until the close: not withdrawable, not bid again elsewhere
    money = c.get(f"{API}/accounts/{acc['dev1']}/money", headers=h["dev1"]).json()
    assert (money["bids_fen"], money["free_fen"]) == (3_100_000, 5_000_000 - 3_100_000)
    r = c.post(f"{API}/accounts/{acc['dev1']}/money", headers=h["nr"],
               json={"kind": "withdraw", "amount_cny": "20000"})  # fmt: skip
    assert r.status_code == 409 and "held by sealed bids" in r.json()["detail"]
    r = c.post(f"{API}/auctions/{aid}/bids", headers=h["dev2"],
               json={"account": acc["dev2"], "amount_cny": "28000"})  # fmt: skip
    assert r.status_code == 201, r.text
    # sealed: anyone sees the lot and the number of bids, never an amount or a bidder
    for who in ("public", "dev2", "nr"):
        view = c.get(f"{API}/auctions/{aid}", headers=h[who]).json()
        assert view["bids"] == 2 and view["result"] is None and view["status"] == "open"
        assert "3100000" not in c.get(f"{API}/auctions", headers=h[who]).text
        assert "湘江置业" not in c.get(f"{API}/auctions", headers=h[who]).text
    # the bidder sees its own bid
    mine = c.get(f"{API}/trading/mine", headers=h["dev1"]).json()
    assert mine["bids"] == [
        {
            "auction": aid,
            "account": acc["dev1"],
            "amount_fen": 3_100_000,
            "at": mine["bids"][0]["at"],
        }
    ]
    # not before its time; only the bureau closes it; reading a past-due auction does not
    r = c.post(f"{API}/auctions/{aid}/close", headers=h["nr"])
    assert r.status_code == 409 and "closes at" in r.json()["detail"]
    clock.now = CLOSES
    assert c.get(f"{API}/auctions/{aid}").json()["status"] == "closing"
    assert c.get(f"{API}/auctions/{aid}").json()["result"] is None
    r = c.post(f"{API}/auctions/{aid}/bids", headers=h["dev2"],
               json={"account": acc["dev2"], "amount_cny": "29000"})  # fmt: skip
    assert r.status_code == 409
    assert c.post(f"{API}/auctions/{aid}/close", headers=h["dev1"]).status_code == 403
    r = c.post(f"{API}/auctions/{aid}/close", headers=h["nr"])
    assert r.status_code == 200, r.text
    # Vickrey: the highest bid wins and pays the second-highest, 28 000 CNY
    view = c.get(f"{API}/auctions/{aid}").json()
    assert view["status"] == "sold"
    assert view["result"]["price_fen"] == 2_800_000
    assert view["result"]["winner"] == "湘江置业有限公司"
    assert [(b["rank"], b["account"], b["amount_fen"]) for b in view["result"]["ranking"]] == [
        (1, "湘江置业有限公司", 3_100_000), (2, "青山建材有限公司", 2_800_000)
    ]  # fmt: skip
    money = c.get(f"{API}/accounts/{acc['dev1']}/money", headers=h["dev1"]).json()
    assert money["balance_fen"] == 5_000_000 - 2_800_000 and money["bids_fen"] == 0
    assert c.get(f"{API}/auctions?status=closed").json()[0]["id"] == aid
    trades = c.get(f"{API}/trades").json()
    assert trades[0]["price_fen"] == 2_800_000 and trades[0]["buyer"] == "湘江置业有限公司"
    r = c.post(f"{API}/auctions/{aid}/close", headers=h["nr"])
    assert r.status_code == 409 and "already sold" in r.json()["detail"]
    clock.now = T0


def test_earth_and_stone_beyond_the_approved_surplus_is_refused(w: dict[str, Any]) -> None:
    c, h, mine = w["c"], w["h"], w["mine"]
    es = f"{API}/earth-stone/{mine}"
    body = {"approved": {"2026": 30000, "2027": 20000}}
    assert c.put(f"{es}/surplus", json=body, headers=h["eco"]).status_code == 403
    assert c.put(f"{es}/surplus", json=body, headers=h["firm"]).status_code == 403
    # out of the bureau's scope: not its mine to see (404, as the register answers)
    assert c.put(f"{es}/surplus", json=body, headers=h["nr_away"]).status_code == 404
    assert c.put(f"{API}/earth-stone/NO-SUCH-MINE/surplus", json=body,
                 headers=h["nr"]).status_code == 404  # fmt: skip
    r = c.put(f"{es}/surplus", json=body, headers=h["nr"])
    assert r.status_code == 200 and r.json()["approved_m3"] == 50_000, r.text
    lot = {"unit_type": "EST", "start": 1, "end": 40_000, "rule": "first_price",
           "reserve_cny": "0.01", "closes_at": CLOSES.isoformat()}  # fmt: skip
    r = c.post(f"{API}/auctions", json=lot, headers=h["nr"])
    assert r.status_code == 201, r.text
    w["est_auction"] = r.json()["auction"]["id"]
    # 40 000 on offer + 12 000 = 52 000 > 50 000 approved: refused, naming the surplus
    r = c.post(f"{API}/auctions", headers=h["nr"], json={**lot, "start": 40_001, "end": 52_000})
    assert r.status_code == 409, r.text
    problem = r.json()
    assert problem["type"] == "/problems/beyond-approved-surplus"
    assert "approved surplus of 50,000.0 m³" in problem["detail"]
    assert "approved surplus 50,000.0 m³" in problem["errors"][0]["message"]
    # status: the bureaus and the evaluator; not the enterprise, nor out of scope
    for who, status in (("nr", 200), ("eco", 200), ("eval", 200), ("firm", 403),
                        ("public", 401), ("nr_away", 404)):  # fmt: skip
        assert c.get(es, headers=h[who]).status_code == status, who
    st = c.get(es, headers=h["eco"]).json()
    assert st["offered_m3"] == 40_000 and st["approved_by_year"] == {"2026": 30000, "2027": 20000}
    assert [y["year"] for y in st["years"]] == [2026, 2027]
    assert [m["mine_id"] for m in c.get(f"{API}/earth-stone", headers=h["eval"]).json()] == [mine]


def test_a_weighbridge_upload_with_a_bad_row_is_refused_and_nothing_stored(
    w: dict[str, Any],
) -> None:
    c, h, mine = w["c"], w["h"], w["mine"]
    es = f"{API}/earth-stone/{mine}"
    head = "磅单号,矿山编号,时间,车牌号,毛重(t),皮重(t),密度(t/m3),批次\n"
    bad = (head + f"W1,{mine},2026-12-08 08:00,湘A1,45.0,15.0,2.0,EST-1-40000\n"
           f"W2,{mine},2026-12-08 09:00,湘A2,四十七,15.0,2.0,EST-1-40000\n")  # fmt: skip
    files = {"file": ("磅单-12月.csv", bad.encode("gbk"), "text/csv")}
    assert c.post(f"{es}/weighbridge", files=files, headers=h["eco"]).status_code == 403
    r = c.post(f"{es}/weighbridge", files=files, headers=h["nr"])
    assert r.status_code == 422, r.text
    err = r.json()["errors"][0]
    assert (err["file"], err["row"], err["field"]) == ("磅单-12月.csv", 2, "毛重(t)")
    assert "磅单-12月.csv" in r.json()["detail"] and "nothing was imported" in r.json()["detail"]
    assert c.get(es, headers=h["nr"]).json()["hauled_m3"] == 0
    # a ticket of another mine is refused too
    other = head + "W9,OTHER-MINE,2026-12-08 08:00,湘A9,45.0,15.0,2.0,EST-1-40000\n"
    r = c.post(f"{es}/weighbridge", headers=h["nr"],
               files={"file": ("other.csv", other.encode("gbk"), "text/csv")})  # fmt: skip
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "mine_id"
    good = (head + f"W1,{mine},2026-12-08 08:00,湘A1,45.0,15.0,2.0,EST-1-40000\n"
            f"W2,{mine},2027-01-08 09:00,湘A2,47.0,15.0,2.0,EST-40001-52000\n")  # fmt: skip
    files = {"file": ("磅单.csv", good.encode("gbk"), "text/csv")}
    r = c.post(f"{es}/weighbridge", files=files, headers=h["nr"])
    assert r.status_code == 201, r.text
    assert r.json()["tickets"] == 2 and r.json()["status"]["hauled_m3"] == pytest.approx(31)
    codes = {a["code"] for a in r.json()["status"]["alerts"]}
    assert "HAUL-UNSOLD-LOT" in codes
    r = c.post(f"{es}/weighbridge", files=files, headers=h["nr"])
    assert r.status_code == 409 and "imported before" in r.json()["detail"]
    assert c.get(es, headers=h["nr"]).json()["hauled_m3"] == pytest.approx(31)


def test_the_order_book_and_money_committed_to_resting_buys(w: dict[str, Any]) -> None:
    c, h, acc = w["c"], w["h"], w["acc"]
    serial = "CN-CSINK-430599-QS-P-M09-2026-1-1000"
    sell = {"side": "sell", "account": acc["firm"], "serial": serial, "count": 100,
            "limit_cny": "55"}  # fmt: skip
    assert c.post(f"{API}/orders", json=sell, headers=h["dev2"]).status_code == 404
    assert c.post(f"{API}/orders", json=sell, headers=h["eval"]).status_code == 403
    r = c.post(f"{API}/orders", json=sell, headers=h["firm"])
    assert r.status_code == 201, r.text
    sell_id = r.json()["order"]["id"]
    depth = c.get(f"{API}/books/CSINK-2026/depth").json()
    assert depth["asks"] == [{"price_fen": 5500, "quantity": 100, "orders": 1}]
    # dev2 buys 40 at up to 60 CNY: fills at the resting 55
    buy = {"side": "buy", "account": acc["dev2"], "vintage": 2026, "quantity": 40,
           "limit_cny": "60"}  # fmt: skip
    r = c.post(f"{API}/orders", json=buy, headers=h["dev2"])
    assert r.status_code == 201, r.text
    assert r.json()["trades"] == [
        {"quantity": 40, "price_fen": 5500, "buy": r.json()["order"]["id"], "sell": sell_id}
    ]
    money = c.get(f"{API}/accounts/{acc['dev2']}/money", headers=h["dev2"]).json()
    assert money["balance_fen"] == 3_000_000 - 40 * 5500
    # a resting buy of 100 at 50 CNY commits 500 000 fen: not withdrawable
    r = c.post(f"{API}/orders", headers=h["dev2"],
               json={**buy, "quantity": 100, "limit_cny": "50"})  # fmt: skip
    assert r.status_code == 201 and r.json()["order"]["remaining"] == 100
    buy_id = r.json()["order"]["id"]
    money = c.get(f"{API}/accounts/{acc['dev2']}/money", headers=h["dev2"]).json()
    assert money["committed_fen"] == 500_000
    assert money["free_fen"] == money["balance_fen"] - 500_000
    r = c.post(f"{API}/accounts/{acc['dev2']}/money", headers=h["nr"],
               json={"kind": "withdraw", "amount_fen": money["free_fen"] + 1})  # fmt: skip
    assert r.status_code == 409 and "committed to resting buy orders" in r.json()["detail"]
    r = c.post(f"{API}/accounts/{acc['dev2']}/money", headers=h["nr"],
               json={"kind": "withdraw", "amount_fen": money["free_fen"]})  # fmt: skip
    assert r.status_code == 200 and r.json()["money"]["free_fen"] == 0
    # the depth is public and names no account; the orders are the organisation's
    depth = c.get(f"{API}/books/CSINK-2026/depth").json()
    assert depth["bids"] == [{"price_fen": 5000, "quantity": 100, "orders": 1}]
    assert [b["book"] for b in c.get(f"{API}/books").json()] == ["CSINK-2026"]
    assert {o["id"] for o in c.get(f"{API}/orders", headers=h["dev2"]).json()} >= {buy_id}
    assert sell_id not in {o["id"] for o in c.get(f"{API}/orders", headers=h["dev2"]).json()}
    # cancel: one's own only
    assert c.post(f"{API}/orders/{buy_id}/cancel", headers=h["firm"]).status_code == 404
    r = c.post(f"{API}/orders/{buy_id}/cancel", headers=h["dev2"])
    assert r.status_code == 200, r.text
    assert (
        c.get(f"{API}/accounts/{acc['dev2']}/money", headers=h["dev2"]).json()["committed_fen"] == 0
    )
    r = c.post(f"{API}/orders/{sell_id}/cancel", headers=h["firm"])
    assert r.status_code == 200 and r.json()["events"][0]["kind"] == "delist"
    assert c.get(f"{API}/books/CSINK-2026/depth").json()["asks"] == []
    trades = c.get(f"{API}/trades?venue=book").json()
    assert trades[0]["buyer"] == "青山建材有限公司" and trades[0]["amount"] == 40


def test_offset_obligations_recorded_by_the_bureaus_and_listed_to_the_staff(
    w: dict[str, Any],
) -> None:
    c, h, acc, clock = w["c"], w["h"], w["acc"], w["clock"]
    body = {"obligation": "OB-1", "party": "青山水泥有限公司", "region_code": COUNTY,
            "unit_type": "CSINK", "amount": 250, "due": "2026-12-31"}  # fmt: skip
    for who, status in (("firm", 403), ("eval", 403), ("public", 401), ("nr_away", 403)):
        assert c.post(f"{API}/obligations", json=body, headers=h[who]).status_code == status, who
    r = c.post(f"{API}/obligations", json=body, headers=h["eco"])
    assert r.status_code == 201 and r.json()["events"][0]["kind"] == "obligation", r.text
    assert c.post(f"{API}/obligations", json=body, headers=h["nr"]).status_code == 409
    # the firm retires 200 t against it
    r = c.post(f"{API}/operations", headers=h["firm"], json={
        "kind": "retire", "serial": "CN-CSINK-430599-QS-P-M09-2026-101-1000", "count": 200,
        "beneficiary": "青山水泥有限公司", "purpose": "2026 offset", "obligation": "OB-1",
    })  # fmt: skip
    assert r.status_code == 200, r.text
    for who, status in (("village", 403), ("public", 401), ("bank", 200), ("firm", 200)):
        assert c.get(f"{API}/obligations", headers=h[who]).status_code == status, who
    (ob,) = c.get(f"{API}/obligations", headers=h["eval"]).json()
    assert (ob["retired"], ob["outstanding"], ob["status"]) == (200, 50, "open")
    assert c.get(f"{API}/obligations", headers=h["nr_away"]).json() == []
    clock.now = dt.datetime(2027, 1, 5, tzinfo=dt.UTC)
    (ob,) = c.get(f"{API}/obligations", headers=h["eval"]).json()
    assert ob["status"] == "partly met, overdue"
    clock.now = T0
    _ = acc


def test_the_approved_surplus_from_the_mines_restoration_plan(app: Any, w: dict[str, Any]) -> None:
    """The plan document the plans API gives, sent back as the approved surplus: its
    slope-cutting volumes by year, equal to restora.store.trading.surplus_from_plan's."""
    from restora.planning.io import plan_from_dict
    from restora.store import trading

    c, h = w["c"], w["h"]
    with app.state.store.engine.connect() as conn:
        other = str(
            conn.execute(
                sa.select(MINES.c.mine_id)
                .where(MINES.c.region_code == COUNTY, MINES.c.deleted_at.is_(None),
                       MINES.c.mine_id != w["mine"])
                .order_by(MINES.c.mine_id)
            ).scalar()
        )  # fmt: skip
    r = c.get(f"/api/v1/mines/{other}/plan", headers=h["nr"])
    assert r.status_code == 200, r.text
    plan = r.json()
    expected = trading.surplus_from_plan(plan_from_dict(plan))
    assert expected and all(v > 0 for v in expected.values())  # slope cutting to sell
    r = c.put(f"{API}/earth-stone/{other}/surplus", json={"plan": plan}, headers=h["nr"])
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["has_plan"] and got["plan_sha256"] and len(got["plan_sha256"]) == 64
    assert {int(k): v for k, v in got["approved_by_year"].items()} == pytest.approx(expected)
    # a plan of another mine is refused
    r = c.put(f"{API}/earth-stone/{w['mine']}/surplus", json={"plan": plan}, headers=h["nr"])
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "plan.mine_id"
    # neither or both
    r = c.put(f"{API}/earth-stone/{other}/surplus", json={}, headers=h["nr"])
    assert r.status_code == 422
