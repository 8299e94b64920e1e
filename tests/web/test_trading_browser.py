"""The registry's venues in a real browser (issue 15): Debian's Chromium through Playwright
against the app served by uvicorn over the demo county, its clock set by the test.

The bureau opens the accounts (its own government account, the enterprise's and the bank's,
the mine's restoration account), an evaluator records verified outcomes and the bureau issues
20 亩 of construction-land quota and 60 000 m³ of earth and stone to the government account.
At its cash desk (the trading page) the bureau records the enterprise's deposit, and offers
12 亩 by second-price auction on the "offer a lot" form. The enterprise signs in, finds 交易 in
its navigation, sees its money and places a sealed bid on the auction's form; the bank bids
through the API. The public auction page shows two sealed bids and no amount. After the
closing time the bureau opens the bids and closes the auction on its trading page; the public
page (no sign-in) shows the winner, the Vickrey price and the ranked bids by account name —
never a user's name. The bureau's earth-and-stone page shows a weighbridge upload with a bad
row refused (file, row, column named) and then the alerts in words; the offset obligations
page and the public order book are photographed too. Screens go to test-artifacts/web/.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest
from browser_support import Tab

pytestmark = pytest.mark.slow

API = "/api/v1/registry"


def _call(tab: Tab, method: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    r = tab.context.request.fetch(
        tab.base + path, method=method, data=body, headers={"X-CSRF-Token": tab.csrf()}
    )
    assert r.status in (200, 201), r.text()
    return dict(r.json())


class Clock:
    def __init__(self) -> None:
        self.now = dt.datetime.now(dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now


def test_a_company_bids_the_bureau_closes_and_the_public_sees_the_result(
    browser: Any, served: Any, artifacts: Path
) -> None:
    from restora.store import accounts
    from restora.store.tables import mines as MINES

    clock = Clock()
    served.app.state.clock = clock
    engine = served.app.state.store.engine
    orgs = {o["name"]: o["id"] for o in accounts.list_organisations(engine)}
    with engine.connect() as conn:
        import sqlalchemy as sa

        mine = str(
            conn.execute(
                sa.select(MINES.c.mine_id)
                .where(MINES.c.region_code == "430599", MINES.c.deleted_at.is_(None))
                .order_by(MINES.c.mine_id)
            ).scalar()
        )
    nr = Tab(browser, served.url, served.password, artifacts=artifacts)
    ev = Tab(browser, served.url, served.password, artifacts=artifacts)
    ent = Tab(browser, served.url, served.password, artifacts=artifacts)
    bank = Tab(browser, served.url, served.password, artifacts=artifacts)
    public = Tab(browser, served.url, served.password, artifacts=artifacts)
    tabs = (nr, ev, ent, bank, public)
    try:
        nr.sign_in("nr1")
        ev.sign_in("eval1")
        bank.sign_in("bank1")
        acc = {}
        for name, body in (
            ("county", {"kind": "government", "org_id": orgs["青山县自然资源局"]}),
            ("firm", {"kind": "holding", "org_id": orgs["青山修复工程有限公司"]}),
            ("bank", {"kind": "holding", "org_id": orgs["青山农商银行"]}),
            ("restoration", {"kind": "restoration", "name": f"{mine} 修复基金账户",
                             "mine_id": mine}),
        ):  # fmt: skip
            acc[name] = _call(nr, "POST", f"{API}/accounts", body)["account"]
        for vid, unit, amount, attrs in (
            ("V-CLQ-T", "CLQ", 20, {"grade": "水田"}),
            ("V-EST-T", "EST", 60_000, {"grade": "石料", "mine_id": mine}),
        ):
            _call(ev, "POST", f"{API}/verifications", {
                "verification": vid, "unit_type": unit, "project_id": "QS-P-M09",
                "vintage": 2026, "region_code": "430599", "amount": amount,
                "report_sha256": "ab" * 32,
            })  # fmt: skip
            _call(nr, "POST", f"{API}/issue",
                  {"verification": vid, "account": acc["county"], "amount": amount,
                   "attrs": attrs})  # fmt: skip
        _call(nr, "POST", f"{API}/accounts/{acc['bank']}/money",
              {"kind": "deposit", "amount_cny": "50000"})  # fmt: skip

        # the bureau's cash desk: the enterprise's deposit
        nr.goto("/registry/trading")
        nr.page.select_option("#cash-desk select[data-account-target]", str(acc["firm"]))
        nr.page.fill("#cash-desk input[name=amount_cny]", "40000")
        nr.page.fill("#cash-desk input[name=reference]", "湘农商-20261207-001")
        nr.submit("#cash-desk form")
        # the bureau offers 12 亩 of its 20 by second-price auction
        nr.page.select_option(
            "#offer-lot select[name=serial]", "CN-CLQ-430599-QS-P-M09-2026-1-2000"
        )
        nr.page.fill("#offer-lot input[name=count]", "1200")
        nr.page.fill("#offer-lot input[name=reserve_cny]", "24000")
        nr.shot("trading-bureau-offer")
        nr.submit("#offer-lot form")
        row = nr.page.locator("#auctions tr[data-auction]").first
        aid = int(row.get_attribute("data-auction") or 0)
        assert "12.00 亩" in row.inner_text()

        # the enterprise finds 交易, sees its money and bids
        ent.sign_in("ent1")
        ent.goto("/registry")
        link = ent.page.locator("nav.mainnav a[href='/registry/trading']")
        assert link.inner_text() == "交易"
        link.click()
        ent.page.wait_for_load_state("networkidle")
        assert "40\u2009000.00" in ent.page.inner_text(f"#money tr[data-account='{acc['firm']}']")
        form = f"#auctions tr[data-auction='{aid}'] .bid-form"
        ent.page.fill(f"{form} input[name=amount_cny]", "31000")
        ent.shot("trading-enterprise-bid-form")
        ent.submit(form)
        assert ent.page.locator(f"#my-bids tr[data-auction='{aid}']").count() == 1
        assert "31\u2009000.00" in ent.page.inner_text("#my-bids")
        ent.shot("trading-enterprise-bid-placed")
        _call(bank, "POST", f"{API}/auctions/{aid}/bids",
              {"account": acc["bank"], "amount_cny": "28000"})  # fmt: skip

        # sealed: the public sees two bids and no amount
        public.goto("/public/registry/auctions")
        public.page.click(f"#open-auctions tr[data-auction='{aid}'] a")
        public.page.wait_for_load_state("networkidle")
        assert public.page.inner_text("#auction-bids") == "2"
        assert public.page.locator("#sealed").count() == 1
        assert "31" not in public.page.inner_text("#result")
        assert "青山修复工程有限公司" not in public.page.content()
        public.shot("trading-public-auction-sealed")

        # after the closing time the bureau opens the bids and closes the auction
        clock.now += dt.timedelta(days=8)
        nr.goto("/registry/trading")
        assert nr.page.get_attribute(f"#auctions tr[data-auction='{aid}']", "data-status") == (
            "closing"
        )
        nr.shot("trading-bureau-closing")
        nr.submit(f"#auctions tr[data-auction='{aid}'] .close-form")
        assert re.search(rf"/public/registry/auctions/{aid}$", nr.page.url)

        # the public: the winner pays the second-highest bid, the bids ranked by account name
        public.goto(f"/public/registry/auctions/{aid}")
        assert public.page.get_attribute("#auction-status", "data-status") == "sold"
        assert public.page.inner_text("#result-winner") == "青山修复工程有限公司"
        assert public.page.inner_text("#result-price") == "28\u2009000.00"
        ranked = public.page.locator("#ranking tbody tr")
        assert ranked.count() == 2
        assert "青山修复工程有限公司" in ranked.nth(0).inner_text()
        assert "青山农商银行" in ranked.nth(1).inner_text()
        for secret in ("ent1", "nr1", "bank1", "eval1"):
            assert secret not in public.page.content()
        public.shot("trading-public-auction-result")
        public.goto("/public/registry/auctions")
        assert "28\u2009000.00" in public.page.inner_text(
            f"#closed-auctions tr[data-auction='{aid}']"
        )
        public.shot("trading-public-auctions")
        public.page.click(".langswitch a[hreflang=en]")
        public.page.wait_for_load_state("networkidle")
        assert "Vickrey" in public.page.inner_text("#closed-auctions")
        public.shot("trading-public-auctions-en")
        public.page.click(".langswitch a[hreflang=zh-CN]")
        public.page.wait_for_load_state("networkidle")

        # earth and stone: the approved surplus, an auction sold, a bad weighbridge file refused
        _call(nr, "PUT", f"{API}/earth-stone/{mine}/surplus",
              {"approved": {"2026": 30000, "2027": 20000}})  # fmt: skip
        clock.now -= dt.timedelta(days=8)
        est = _call(nr, "POST", f"{API}/auctions", {
            "unit_type": "EST", "start": 1, "end": 20_000, "rule": "first_price",
            "reserve_cny": "100000", "closes_at": (clock.now + dt.timedelta(days=3)).isoformat(),
        })["auction"]["id"]  # fmt: skip
        _call(nr, "POST", f"{API}/accounts/{acc['bank']}/money",
              {"kind": "deposit", "amount_cny": "200000"})  # fmt: skip
        _call(bank, "POST", f"{API}/auctions/{est}/bids",
              {"account": acc["bank"], "amount_cny": "180000"})  # fmt: skip
        clock.now += dt.timedelta(days=8)
        _call(nr, "POST", f"{API}/auctions/{est}/close", {})
        tmp = artifacts / "tmp-weighbridge"
        tmp.mkdir(exist_ok=True)
        head = "磅单号,矿山编号,时间,车牌号,毛重(t),皮重(t),密度(t/m3),批次\n"
        bad = tmp / "磅单-坏行.csv"
        bad.write_text(head + f"W1,{mine},2026-12-08 08:00,湘A1,45.0,15.0,2.0,EST-1-20000\n"
                       f"W2,{mine},2026-12-08 09:00,湘A2,四十七,15.0,2.0,EST-1-20000\n",
                       encoding="gbk")  # fmt: skip
        good = tmp / "磅单-12月.csv"
        good.write_text(head + f"W1,{mine},2026-12-08 08:00,湘A1,45.0,15.0,2.0,EST-1-20000\n"
                        f"W2,{mine},2026-12-08 09:00,湘A2,47.0,15.0,2.0,EST-20001-30000\n",
                        encoding="gbk")  # fmt: skip
        nr.goto(f"/registry/earth-stone/{mine}")
        section = f".mine-es[data-mine='{mine}']"
        nr.page.click(f"{section} details.operate summary")
        nr.page.set_input_files(f"{section} input[type=file]", str(bad))
        nr.page.click(f"{section} .upload-form button[type=submit]")
        nr.page.wait_for_selector(f"{section} .upload-errors li")
        err = nr.page.inner_text(f"{section} .upload-errors")
        assert "磅单-坏行.csv" in err and "行 2" in err and "毛重(t)" in err
        nr.shot("earthstone-upload-refused")
        nr.page.set_input_files(f"{section} input[type=file]", str(good))
        with nr.page.expect_navigation(timeout=30_000):
            nr.page.click(f"{section} .upload-form button[type=submit]")
        nr.page.wait_for_load_state("networkidle")
        alerts = nr.page.inner_text(f"{section} ul.alerts")
        assert "EST-20001-30000" in alerts and "未在平台出让" in alerts
        assert "20\u2009000" in nr.page.inner_text(f"{section} .sold")
        nr.shot("earthstone-mine")

        # offset obligations and the public order book
        _call(nr, "POST", f"{API}/obligations", {
            "obligation": "OB-430599-2026-01", "party": "青山水泥有限公司",
            "region_code": "430599", "unit_type": "CSINK", "amount": 250, "due": "2026-12-31",
        })  # fmt: skip
        nr.goto("/registry/obligations")
        assert nr.page.locator("#obligations tr[data-obligation='OB-430599-2026-01']").count() == 1
        nr.shot("obligations")
        public.goto("/public/registry/book")
        # the earth and stone sold: its price went to the mine's restoration account
        est_row = public.page.locator("#trades tr").filter(has_text="立方米")
        assert f"价款入 {mine} 修复基金账户" in est_row.inner_text()
        public.shot("trading-public-book")
        for tab in tabs:
            tab.check_clean()
    finally:
        served.app.state.clock = None
        for tab in tabs:
            tab.context.close()
