"""``restora registry`` venues from the command line: money, auctions of earth and stone within
the approved plan, the order book, offset obligations."""

from __future__ import annotations

import json
from pathlib import Path

from tests.planning.test_cli_plan import _store
from typer.testing import CliRunner

from restora.cli import app


def _run(*args: str) -> tuple[int, object]:
    r = CliRunner().invoke(app, ["registry", *args, "-f", "json"])
    try:
        return r.exit_code, json.loads(r.stdout)
    except json.JSONDecodeError:
        return r.exit_code, r.output


def _ok(*args: str) -> object:
    code, out = _run(*args)
    assert code == 0, out
    return out


def test_earth_and_stone_auction_within_the_plan(tmp_path: Path) -> None:
    db = _store(tmp_path)  # mine M1: a 4.4 hm² open pit at 35°, an 800 m³ collapse hazard
    plan = tmp_path / "M1.yaml"
    r = CliRunner().invoke(
        app,
        ["plan", "make", "M1", "--db", db, "--price-year", "2023", "--start-year", "2026",
         "--out", str(plan), "--format", "json"],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    surplus = _ok("earth-stone", "surplus", "M1", "--plan", str(plan), "--db", db)
    approved = sum(surplus["approved_m3"].values())  # type: ignore[index]
    # the plan's slope cutting: 8 800 m³ on the pit's slope + 800 m³ for the hazard
    assert approved == 8800 + 800
    county = _ok("open-account", "County bureau", "--kind", "government", "--db", db)["account"]  # type: ignore[index]
    _ok("open-account", "M1 restoration", "--kind", "restoration", "--mine", "M1", "--db", db)
    buyer = _ok("open-account", "Aggregates co", "--db", db)["account"]  # type: ignore[index]
    record = {
        "verification": "V-EST-M1", "unit_type": "EST", "project_id": "P-M1", "vintage": 2026,
        "region_code": "430521", "count": 12000, "evaluator": "E", "report_sha256": "0" * 64,
    }  # fmt: skip
    (tmp_path / "v.json").write_text(json.dumps(record))
    _ok("record-verification", str(tmp_path / "v.json"), "--db", db)
    blocks = _ok("issue", "V-EST-M1", "--account", str(county), "--amount", "12000",
                 "--attr", "grade=rock", "--attr", "mine_id=M1", "--db", db)  # fmt: skip
    serial = blocks[0]["serial"]  # type: ignore[index]
    # 10 000 m³ > the 9 600 m³ approved: refused (exit 2), naming the surplus
    code, out = _run("auction", "create", serial, "--count", "10000", "--reserve-cny", "100",
                     "--db", db)  # fmt: skip
    assert code == 2 and "approved" in str(out)
    auction = _ok("auction", "create", serial, "--count", "6000", "--reserve-cny", "3000",
                  "--hours", "0.0001", "--db", db)["auction"]  # type: ignore[index]  # fmt: skip
    _ok("money", "deposit", str(buyer), "--cny", "20000", "--db", db)
    _ok("auction", "bid", str(auction), "--account", str(buyer), "--cny", "15000.50", "--db", db)
    import time

    time.sleep(0.5)  # the auction takes bids for 0.36 s
    closed = _ok("auction", "close", str(auction), "--db", db)
    assert closed["status"] == "sold" and closed["price_fen"] == 1_500_050  # type: ignore[index]
    assert _ok("money", "balance", str(buyer), "--db", db)["balance_cny"] == 4999.50  # type: ignore[index]
    status = _ok("earth-stone", "status", "M1", "--db", db)
    assert status["sold_m3"] == 6000 and status["approved_m3"] == 9600  # type: ignore[index]
    assert _ok("verify", "--db", db)["ok"]  # type: ignore[index]


def test_order_book_and_obligation(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'r.db'}"
    seller = _ok("open-account", "Forest farm", "--db", db)["account"]  # type: ignore[index]
    buyer = _ok("open-account", "Cement plant", "--db", db)["account"]  # type: ignore[index]
    record = {
        "verification": "V-C", "unit_type": "CSINK", "project_id": "P-1", "vintage": 2026,
        "region_code": "430524", "count": 500, "evaluator": "E", "report_sha256": "0" * 64,
    }  # fmt: skip
    (tmp_path / "v.json").write_text(json.dumps(record))
    _ok("record-verification", str(tmp_path / "v.json"), "--db", db)
    serial = _ok("issue", "V-C", "--account", str(seller), "--amount", "500",
                 "--attr", "methodology=CCER-14-002", "--db", db)[0]["serial"]  # type: ignore[index]  # fmt: skip
    _ok("order", "sell", serial, "--count", "300", "--account", str(seller), "--limit-cny", "60",
        "--db", db)  # fmt: skip
    _ok("money", "deposit", str(buyer), "--cny", "10000", "--db", db)
    out = _ok("order", "buy", "2026", "--quantity", "100", "--account", str(buyer),
              "--limit-cny", "65", "--db", db)  # fmt: skip
    assert out["trades"] == [{"quantity": 100, "price_fen": 6000, "buy": 2, "sell": 1}]  # type: ignore[index]
    depth = _ok("order", "depth", "CSINK-2026", "--db", db)
    assert depth["asks"] == [{"price_fen": 6000, "quantity": 200, "orders": 1}]  # type: ignore[index]
    _ok("obligation", "OB-1", "--party", "Cement plant", "--region", "430524", "--amount", "80",
        "--due", "2030-12-31", "--db", db)  # fmt: skip
    bought = "CN-CSINK-430524-P-1-2026-1-100"
    _ok("op", "retire", bought, "--count", "80", "--beneficiary", "Cement plant",
        "--purpose", "offset", "--obligation", "OB-1", "--db", db)  # fmt: skip
    rows = _ok("obligations", "--db", db)
    assert [(r["obligation"], r["retired"], r["status"]) for r in rows] == [("OB-1", 80, "met")]  # type: ignore[union-attr]
    assert _ok("verify", "--db", db)["ok"]  # type: ignore[index]
