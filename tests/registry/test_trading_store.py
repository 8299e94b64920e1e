"""Venues on the ledger (restora.store.trading): sealed-bid auctions of quota and earth-and-stone
lots, the carbon-sink order book, money settled with units in one event, offsets, pledges, and
the earth-and-stone boundary — values worked by hand, state checked by verify and replay."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from restora.finance.instruments.pledge_loan import rights_from_registry
from restora.registry.earthstone import BeyondApprovedSurplus
from restora.registry.ledger import LedgerError
from restora.store import Store, trading
from restora.store import registry as reg

T0 = dt.datetime(2026, 12, 1, 9, tzinfo=dt.UTC)
LATER = T0 + dt.timedelta(days=7)


@pytest.fixture
def store(tmp_path: Path) -> Any:
    with Store(f"sqlite:///{tmp_path / 'r.db'}") as s:
        yield s


def _acc(store: Any, name: str, kind: str = "holding", **kw: Any) -> int:
    return int(reg.open_account(store, kind=kind, name=name, at=T0, **kw)["account"])


def _issue(store: Any, vid: str, unit_type: str, count: int, account: int, **attrs: Any) -> dict:
    reg.record_verification(
        store, verification=vid, unit_type=unit_type, project_id="P-1", vintage=2026,
        region_code="430524", count=count, evaluator="E", report_sha256="0" * 64, at=T0,
    )  # fmt: skip
    return reg.issue(store, verification=vid, account=account, count=count, attrs=attrs, at=T0)


def _state_ok(store: Any) -> None:
    assert reg.verify(store).problem is None
    assert reg.replay_state(store).blocks == reg.stored_blocks(store)


def test_second_price_auction_settles_units_and_money(store: Any) -> None:
    county = _acc(store, "County land bank", "government")
    b1, b2, b3 = (_acc(store, f"Developer {i}") for i in (1, 2, 3))
    for acc, fen in ((b1, 5_000_000), (b2, 5_000_000), (b3, 1_000_000)):
        reg.move_money(store, "deposit", account=acc, amount_fen=fen, at=T0)
    _issue(store, "V-CLQ", "CLQ", 2000, county, grade="1")  # 20.00 mu
    # auction 12.00 mu (serials 1-1200) at a reserve of 2 400 000 fen
    out = trading.create_auction(
        store, unit_type="CLQ", start=1, end=1200, rule="second_price", reserve_fen=2_400_000,
        closes_at=LATER, at=T0,
    )  # fmt: skip
    aid = out["auction"]
    trading.place_bid(store, aid, bidder=b1, amount_fen=3_100_000, at=T0)
    trading.place_bid(store, aid, bidder=b2, amount_fen=2_800_000, at=T0)
    with pytest.raises(LedgerError, match="less than the bid"):
        trading.place_bid(store, aid, bidder=b3, amount_fen=2_500_000, at=T0)
    with pytest.raises(LedgerError, match="one sealed bid each"):
        trading.place_bid(store, aid, bidder=b1, amount_fen=3_200_000, at=T0)
    # b1's 3 100 000 is held by its sealed bid until the close: of its 5 000 000 only
    # 1 900 000 can be withdrawn or bid elsewhere
    with pytest.raises(LedgerError, match="held by sealed bids"):
        reg.move_money(store, "withdraw", account=b1, amount_fen=1_900_001, at=T0)
    other = trading.create_auction(
        store, unit_type="CLQ", start=1201, end=1300, rule="first_price", reserve_fen=1,
        closes_at=LATER, at=T0,
    )["auction"]  # fmt: skip
    with pytest.raises(LedgerError, match="less than the bid"):
        trading.place_bid(store, other, bidder=b1, amount_fen=1_900_001, at=T0)
    view = trading.auction_view(store, aid, at=T0)
    assert view["bids"] == 2 and "result" not in view  # sealed: no amounts before the close
    with pytest.raises(LedgerError, match="closes at"):
        trading.close_auction(store, aid, at=T0)
    closed = trading.close_auction(store, aid, at=LATER)["auction"]
    # Vickrey: the highest bid (b1) pays the second-highest valid bid, 2 800 000 fen
    assert (closed["winner"], closed["price_fen"], closed["status"]) == (b1, 2_800_000, "sold")
    assert reg.balance(store, b1) == 5_000_000 - 2_800_000
    assert reg.balance(store, county) == 2_800_000
    blocks = {(b["start"], b["end"]): (b["account"], b["status"]) for b in reg.list_blocks(store)}
    assert blocks == {
        (1, 1200): (b1, "held"),
        (1201, 1300): (county, "listed"),  # the second auction, still open
        (1301, 2000): (county, "held"),
    }
    # after the close b1's bid money is spent, not held: 2 200 000 is free again
    reg.move_money(store, "withdraw", account=b1, amount_fen=2_200_000, at=LATER)
    _state_ok(store)


def test_auction_without_a_bid_at_the_reserve_delists(store: Any) -> None:
    county = _acc(store, "County", "government")
    b = _acc(store, "Bidder")
    reg.move_money(store, "deposit", account=b, amount_fen=100, at=T0)
    _issue(store, "V", "FSQ", 500, county, grade="2")
    aid = trading.create_auction(
        store, unit_type="FSQ", start=1, end=500, rule="first_price", reserve_fen=1000,
        closes_at=LATER, at=T0,
    )["auction"]  # fmt: skip
    trading.place_bid(store, aid, bidder=b, amount_fen=90, at=T0)
    closed = trading.close_auction(store, aid, at=LATER)["auction"]
    assert closed["status"] == "no sale" and closed["winner"] is None
    assert [x["status"] for x in reg.list_blocks(store)] == ["held"]
    assert reg.balance(store, b) == 100
    _state_ok(store)


def test_earth_and_stone_stays_inside_the_approved_surplus(store: Any, tmp_path: Path) -> None:
    county = _acc(store, "County natural resources bureau", "government")
    restoration = _acc(store, "M-01 restoration account", "restoration", mine_id="M-01")
    buyer = _acc(store, "Aggregates company")
    reg.move_money(store, "deposit", account=buyer, amount_fen=10_000_000, at=T0)
    trading.set_surplus(store, "M-01", {2026: 30_000.0, 2027: 20_000.0}, at=T0)
    _issue(store, "V-EST", "EST", 60_000, county, grade="rock", mine_id="M-01")
    a1 = trading.create_auction(
        store, unit_type="EST", start=1, end=40_000, rule="first_price", reserve_fen=1,
        closes_at=LATER, at=T0,
    )["auction"]  # fmt: skip
    # 40 000 on offer + 12 000 more = 52 000 > 50 000 approved: refused, nothing written
    before = reg.list_blocks(store)
    with pytest.raises(BeyondApprovedSurplus):
        trading.create_auction(
            store, unit_type="EST", start=40_001, end=52_000, rule="first_price",
            reserve_fen=1, closes_at=LATER, at=T0,
        )  # fmt: skip
    assert reg.list_blocks(store) == before
    trading.place_bid(store, a1, bidder=buyer, amount_fen=1_600_000, at=T0)
    trading.close_auction(store, a1, at=LATER)
    # proceeds go to the mine's restoration account, not the county's holding
    assert reg.balance(store, restoration) == 1_600_000 and reg.balance(store, county) == 0
    # weighbridge: 3 loads, net (gross - tare) / density
    csv = tmp_path / "磅单.csv"
    csv.write_text(
        "磅单号,矿山编号,时间,车牌号,毛重(t),皮重(t),密度(t/m3),批次\n"
        "W1,M-01,2026-12-08 08:00,湘A1,45.0,15.0,2.0,EST-1-40000\n"
        "W2,M-01,2026-12-08 09:00,湘A2,47.0,15.0,2.0,EST-1-40000\n"
        "W3,M-01,2027-01-02 09:00,湘A3,44.0,14.0,2.0,EST-1-40000\n"
        "W4,M-01,2027-01-03 09:00,湘A4,44.0,14.0,2.0,EST-40001-52000\n",
        encoding="gbk",
    )
    assert trading.import_weighbridge(store, csv, at=LATER) == 4
    with pytest.raises(Exception, match="imported before"):
        trading.import_weighbridge(store, csv, at=LATER)
    es = trading.earth_and_stone(store, "M-01")
    assert es["approved_m3"] == 50_000 and es["sold_m3"] == 40_000
    assert es["hauled_m3"] == pytest.approx(15 + 16 + 15 + 15)
    # W4 hauls from a lot that was never sold (its sale was refused): an alert, with the ticket
    assert "HAUL-UNSOLD-LOT" in {a["code"] for a in es["alerts"]}
    _state_ok(store)


def test_order_book_price_time_priority_and_settlement(store: Any) -> None:
    seller1, seller2, buyer = (
        _acc(store, "Forest farm"),
        _acc(store, "Village"),
        _acc(store, "Steel"),
    )
    reg.move_money(store, "deposit", account=buyer, amount_fen=1_000_000, at=T0)
    _issue(store, "V1", "CSINK", 100, seller1, methodology="CCER-14-002")  # serials 1-100
    _issue(store, "V2", "CSINK", 100, seller2, methodology="CCER-14-002")  # 101-200
    trading.submit_order(
        store, side="sell", account=seller1, start=1, end=60, limit_fen=5500, at=T0
    )
    trading.submit_order(
        store, side="sell", account=seller2, start=101, end=150, limit_fen=5200, at=T0
    )
    # a buy of 80 at 5 600: 50 from seller2 at 5 200 (best price), then 30 from seller1 at 5 500
    out = trading.submit_order(
        store, side="buy", account=buyer, vintage=2026, quantity=80, limit_fen=5600, at=T0
    )
    assert [(t["quantity"], t["price_fen"]) for t in out["trades"]] == [(50, 5200), (30, 5500)]
    assert out["order"]["remaining"] == 0
    assert reg.balance(store, buyer) == 1_000_000 - 50 * 5200 - 30 * 5500
    assert reg.balance(store, seller2) == 50 * 5200 and reg.balance(store, seller1) == 30 * 5500
    owned = {(b["start"], b["end"]): (b["account"], b["status"]) for b in reg.list_blocks(store)}
    assert owned[(101, 150)] == (buyer, "held") and owned[(1, 30)] == (buyer, "held")
    assert owned[(31, 60)] == (seller1, "listed")  # the rest of seller1's order still rests
    depth = trading.depth(store, "CSINK-2026")
    assert depth["asks"] == [{"price_fen": 5500, "quantity": 30, "orders": 1}]
    # a resting buy of 10 at 5 000 commits 50 000 fen: the buyer cannot withdraw it
    free = reg.balance(store, buyer)
    trading.submit_order(
        store, side="buy", account=buyer, vintage=2026, quantity=10, limit_fen=5000, at=T0
    )
    with pytest.raises(LedgerError, match="committed to resting"):
        reg.move_money(store, "withdraw", account=buyer, amount_fen=free - 49_999, at=T0)
    reg.move_money(store, "withdraw", account=buyer, amount_fen=free - 50_000, at=T0)
    assert reg.balance(store, buyer) == 50_000
    # a buy the buyer's money cannot cover is refused
    with pytest.raises(LedgerError, match="needs"):
        trading.submit_order(
            store, side="buy", account=buyer, vintage=2026, quantity=100, limit_fen=6000, at=T0
        )
    _state_ok(store)


def test_offset_obligation_counts_only_eligible_retirements(store: Any) -> None:
    holder = _acc(store, "Cement plant")
    _issue(store, "V1", "CSINK", 300, holder, methodology="m")  # region 430524
    reg.record_obligation(
        store, obligation="OB-1", party="Cement plant", region_code="430524",
        unit_type="CSINK", required=250, due=dt.date(2026, 12, 31), at=T0,
    )  # fmt: skip
    reg.record_obligation(
        store, obligation="OB-2", party="Other county", region_code="430100",
        unit_type="CSINK", required=10, due=dt.date(2026, 12, 31), at=T0,
    )  # fmt: skip
    reg.operate(store, "retire", unit_type="CSINK", start=1, end=200, beneficiary="Cement plant",
                purpose="2026 offset", obligation="OB-1", at=T0)  # fmt: skip
    with pytest.raises(LedgerError, match="does not count"):
        reg.operate(store, "retire", unit_type="CSINK", start=201, end=210, beneficiary="X",
                    purpose="offset", obligation="OB-2", at=T0)  # fmt: skip
    status = {o["obligation"]: o for o in reg.obligations(store, today=dt.date(2027, 1, 5))}
    assert status["OB-1"]["retired"] == 200
    assert status["OB-1"]["status"].outstanding == 50
    assert status["OB-1"]["status"].status == "partly met, overdue"
    _state_ok(store)


def test_pledge_enforced_moves_the_block_to_the_lender(store: Any) -> None:
    holder, bank = _acc(store, "Company"), _acc(store, "Bank")
    _issue(store, "V1", "CLQ", 1000, holder, grade="1")
    reg.operate(
        store, "pledge", unit_type="CLQ", start=1, end=400, lender=bank, pledge="PL-7", at=T0
    )
    with pytest.raises(LedgerError, match="pledged"):
        reg.operate(store, "transfer", unit_type="CLQ", start=1, end=400, to=bank, at=T0)
    # the pledge as collateral: 4.00 mu pledged to the bank, 6.00 mu free; a loan's right
    # values the block at 200 000 CNY/mu in loan year 2: 800 000 CNY
    col = reg.collateral(store, "P-1")
    assert [(p["serial"], p["amount"], p["lender_name"], p["pledge"]) for p in col["pledged"]] == [
        ("CN-CLQ-430524-P-1-2026-1-400", 4.0, "Bank", "PL-7")
    ]
    assert [(f["unit_type"], f["amount"]) for f in col["free"]] == [("CLQ", 6.0)]
    rights = rights_from_registry(col["pledged"], {"CLQ": 200_000.0}, 2, 3)
    assert rights == [
        {
            "name": "CN-CLQ-430524-P-1-2026-1-400",
            "kind": "land_quota",
            "revenue": [0.0, 800_000.0, 0.0],
        }
    ]
    reg.operate(store, "enforce_pledge", unit_type="CLQ", start=1, end=400, at=T0)
    owned = {(b["start"], b["end"]): (b["account"], b["status"]) for b in reg.list_blocks(store)}
    assert owned == {(1, 400): (bank, "held"), (401, 1000): (holder, "held")}
    _state_ok(store)
