"""The integrity pages in a real browser (issue 16 item 6): Debian's Chromium through Playwright
against the app served over the demo county.

The county's natural-resources bureau records a late fund accrual for the demo enterprise
(青山修复工程有限公司) and lists another company (远山矿业有限公司) as a serious-dishonesty
subject; both are scored. The public list of grades — no sign-in — shows the two companies with
their grades in Chinese (环保良好企业 blue; 环保不良企业 red, on the list of serious dishonesty,
with its disclosed restrictions) and never a score. The enterprise signs in and reads its own
record (grade, score, points by rule, its obligation late); the other company's record answers
404. Pages are photographed into test-artifacts/web/.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

pytestmark = pytest.mark.slow

VIEWPORT = {"width": 1400, "height": 900}


def test_public_grades_and_own_record(served: Any, browser: Any, artifacts: Any) -> None:
    from restora.store import accounts
    from restora.store import integrity as integ
    from restora.store.audit import Change

    engine = served.app.state.store.engine
    firm = accounts.organisation(engine, name="青山修复工程有限公司")
    assert firm is not None
    other = accounts.create_organisation(
        engine, "远山矿业有限公司", "enterprise", "430599", change=Change("t")
    )
    today = dt.date.today()
    ob = integ.add_obligation(
        engine,
        org_id=firm["id"],
        kind="fund_accrual",
        due_on=today - dt.timedelta(days=40),
        amount=120_000.0,
        description="上年度矿山地质环境治理恢复基金计提",
    )
    integ.settle_obligation(
        engine, ob["id"], done_on=today - dt.timedelta(days=10), done_amount=120_000.0
    )
    integ.add_obligation(
        engine,
        org_id=other["id"],
        kind="listing",
        listing="serious",
        due_on=today - dt.timedelta(days=5),
        description="列入严重失信主体名单",
    )
    mine = integ.score_org(engine, firm["id"], today)
    # 85 - 5 * 0.5 ** (10 / 365) = 85 - 4.906 = 80.09 -> blue
    assert mine["grade"] == "blue" and mine["score"] == pytest.approx(85 - 5 * 0.5 ** (10 / 365))
    assert integ.score_org(engine, other["id"], today)["grade"] == "red"

    context = browser.new_context(viewport=VIEWPORT, locale="zh-CN")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(served.url + "/public/integrity")
        page.wait_for_load_state("networkidle")
        rows = page.locator("#grades tbody tr")
        assert rows.count() == 2
        blue = page.locator("#grades tr[data-grade=blue]")
        red = page.locator("#grades tr[data-grade=red]")
        assert "青山修复工程有限公司" in blue.inner_text() and "环保良好企业" in blue.inner_text()
        assert "远山矿业有限公司" in red.inner_text() and "环保不良企业" in red.inner_text()
        assert "严重失信主体名单" in red.inner_text() and "列为失信主体并公开" in red.inner_text()
        body = page.locator("main").inner_text() if page.locator("main").count() else ""
        assert "80.09" not in page.content() and "绿色信贷利率优惠" not in body
        page.screenshot(path=str(artifacts / "integrity-public.png"), full_page=True)

        page.goto(served.url + "/signin")
        page.fill("input[name=username]", served.usernames["enterprise"])
        page.fill("input[name=password]", served.password)
        page.click("#signin-form button[type=submit]")
        page.wait_for_function("() => !location.pathname.startsWith('/signin')")
        page.goto(served.url + f"/integrity/orgs/{firm['id']}")
        page.wait_for_load_state("networkidle")
        assert page.locator("#grade [data-grade=blue]").inner_text() == "环保良好企业"
        assert page.locator("#score").inner_text() == "80.09"
        assert page.locator("#breakdown tr[data-rule=INT-FUND-LATE]").count() == 1
        late = page.locator(f"#obligations tr[data-id='{ob['id']}']")
        assert "逾期履行" in late.inner_text() and "治理恢复基金计提" in late.inner_text()
        page.screenshot(path=str(artifacts / "integrity-record.png"), full_page=True)
        response = page.goto(served.url + f"/integrity/orgs/{other['id']}")
        assert response is not None and response.status == 404
        page.goto(served.url + "/integrity")
        assert page.locator("#scores tbody tr").count() == 1  # its own only
    finally:
        context.close()
    assert not errors, errors
