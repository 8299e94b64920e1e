"""The live monitoring page of a mine in a real browser (issue 16): Debian's Chromium through
Playwright against the app served by uvicorn over the demo county.

The ecology-environment bureau's clerk uploads readings through the API (two slope GNSS
points, one rising past the catalogue's warning level of 30 mm, a water-quality point above the
cadmium alarm level of 0.01 mg/L, and a dust sensor that last reported 40 minutes ago), opens
the mine's page, follows its "实时监测" link, and sees: the latest values coloured by status,
a chart canvas per indicator, the open alerts, the dust sensor offline and the quarantine
count. It acknowledges the cadmium alarm and resolves it on the page (no reload), and a new
breach uploaded meanwhile appears by itself at the next refresh. An evaluator sees the page
without the buttons; a village collective is refused. Screens (中文 and English) go to
test-artifacts/web/.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from browser_support import Tab as SharedTab

pytestmark = pytest.mark.slow

API = "/api/v1/monitoring"


class Tab(SharedTab):
    """The shared tab, which also uploads readings through the API."""

    def upload(self, readings: list[dict[str, Any]]) -> dict[str, Any]:
        token = self.context.request.get(self.base + "/auth/session").json()["csrf_token"]
        r = self.context.request.post(
            self.base + f"{API}/readings",
            data={"readings": readings},
            headers={"X-CSRF-Token": token},
        )
        assert r.status == 200, r.text()
        return dict(r.json())


def _mine(engine: Any) -> str:
    from restora.store.tables import mines as MINES

    with engine.connect() as conn:
        return str(
            conn.execute(
                sa.select(MINES.c.mine_id)
                .where(MINES.c.region_code == "430599", MINES.c.deleted_at.is_(None))
                .order_by(MINES.c.mine_id)
            ).scalar()
        )


def _iso(t: dt.datetime) -> str:
    return t.isoformat(timespec="seconds")


def test_the_live_page_shows_values_charts_alerts_and_takes_an_acknowledgement(
    browser: Any, served: Any, artifacts: Path
) -> None:
    engine = served.app.state.store.engine
    mine = _mine(engine)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    ee = Tab(browser, served.url, served.password)
    ee.sign_in("ee1")

    # the dust sensor's last message arrived 40 minutes ago (its interval: 15 minutes)
    served.app.state.clock = lambda: now - dt.timedelta(minutes=40)
    try:
        ee.upload([{"mine_id": mine, "sensor": "DUST-1", "indicator": "pm10",
                    "ts": _iso(now - dt.timedelta(minutes=41)), "value": 88.0}])  # fmt: skip
    finally:
        del served.app.state.clock
    # two hours of slope readings every 10 min: GNSS-1 rising 5 → 35 mm (past the warning
    # level 30 mm at the last reading), GNSS-2 steady at 8 mm; cadmium in the seepage water
    # 0.012 mg/L (alarm level 0.01 mg/L, GB 3838-2002 class III)
    readings = []
    for i in range(13):
        t = _iso(now - dt.timedelta(minutes=10 * (12 - i)))
        readings.append({"mine_id": mine, "sensor": "GNSS-1", "indicator": "slope_displacement",
                         "ts": t, "value": 5.0 + 2.5 * i})  # fmt: skip
        readings.append({"mine_id": mine, "sensor": "GNSS-2", "indicator": "slope_displacement",
                         "ts": t, "value": 8.0})  # fmt: skip
    readings.append({"mine_id": mine, "sensor": "W1", "indicator": "sw_cd",
                     "ts": _iso(now - dt.timedelta(minutes=5)), "value": 12, "unit": "ug/L"})  # fmt: skip
    done = ee.upload(readings)
    assert done["stored"] == 27 and len(done["alert_ids"]) == 2
    # and one the gateway sent wrong, quarantined
    token = ee.context.request.get(served.url + "/auth/session").json()["csrf_token"]
    r = ee.context.request.post(
        served.url + f"{API}/readings?on_error=quarantine",
        data={
            "readings": [
                {
                    "mine_id": mine,
                    "sensor": "W1",
                    "indicator": "sw_cd",
                    "ts": _iso(now),
                    "value": -3,
                }
            ]
        },
        headers={"X-CSRF-Token": token},
    )
    assert r.status == 200 and r.json()["quarantined"] == 1

    # from the mine's page to its live monitoring
    ee.goto(f"/mines/{mine}")
    ee.page.click("a[data-monitoring-link]")
    ee.page.wait_for_load_state("networkidle")
    assert ee.page.url.endswith(f"/mines/{mine}/monitoring")
    page = ee.page
    page.wait_for_selector("#mon-charts[data-state=drawn] canvas")
    rows = page.locator("table.mon-latest tbody tr")
    status = {
        (rows.nth(i).get_attribute("data-sensor") or "").split("/")[-1]: rows.nth(i).get_attribute(
            "data-status"
        )
        for i in range(rows.count())
    }
    assert status == {"DUST-1": "ok", "GNSS-1": "warning", "GNSS-2": "ok", "W1": "alarm"}
    w1 = page.locator(f"table.mon-latest tr[data-sensor='{mine}/-/W1']")
    assert "0.012" in w1.inner_text() and "报警" in w1.inner_text()
    assert page.locator("#mon-charts .mon-chart").count() == 3  # pm10, slope, cadmium
    assert page.locator("#mon-charts canvas").count() >= 3
    assert page.locator(f"table.mon-offline tr[data-sensor='{mine}/-/DUST-1']").count() == 1
    assert page.locator("[data-count=offline]").inner_text() == "1"
    assert page.locator("[data-count=quarantined]").inner_text() == "1"
    assert page.locator("[data-count=alerts]").inner_text() == "2"
    page.screenshot(path=str(artifacts / "monitoring-zh.png"), full_page=True)

    # acknowledge, then resolve, the cadmium alarm on the page
    alarm = page.locator("table.mon-alerts tr.mon-alarm")
    alert_id = alarm.get_attribute("data-alert")
    alarm.locator("button", has_text="确认").click()
    page.wait_for_selector(f"tr[data-alert='{alert_id}'][data-state=acknowledged]")
    page.screenshot(path=str(artifacts / "monitoring-acknowledged-zh.png"), full_page=True)
    page.locator(f"tr[data-alert='{alert_id}'] button", has_text="关闭").click()
    page.wait_for_selector(f"tr[data-alert='{alert_id}']", state="detached")
    assert page.locator("[data-count=alerts]").inner_text() == "1"
    r = ee.context.request.get(served.url + f"{API}/alerts/{alert_id}")
    assert [e["state"] for e in r.json()["events"]] == ["raised", "acknowledged", "resolved"]
    assert r.json()["acknowledged_by"] == "ee1" and r.json()["resolved_by"] == "ee1"

    # a new breach arrives while the page is open: it appears without a reload
    marker = page.evaluate("() => { window.__notReloaded = true; return true; }")
    ee.upload([{"mine_id": mine, "sensor": "GNSS-2", "indicator": "slope_displacement",
                "ts": _iso(now + dt.timedelta(seconds=1)), "value": 61.0}])  # fmt: skip
    page.wait_for_selector(
        f"table.mon-latest tr[data-sensor='{mine}/-/GNSS-2'][data-status=alarm]", timeout=30_000
    )
    assert marker and page.evaluate("() => window.__notReloaded === true")
    assert page.locator("[data-count=alerts]").inner_text() == "2"
    assert not [e for e in ee.errors if "GL Driver" not in e], ee.errors

    # the overview of the mines under monitoring, from the navigation: this mine with its open
    # alarm (GNSS-2 at 61 mm > 50 mm) and warning (GNSS-1 at 35 mm > 30 mm), the dust sensor
    # offline, four sensors
    page.click("nav.mainnav a[href='/monitoring']")
    page.wait_for_load_state("networkidle")
    row = page.locator(f"#mon-overview tr[data-mine='{mine}']")
    counts = {k: row.locator(f"[data-count={k}]").inner_text()
              for k in ("sensors", "offline", "alarm", "warning")}  # fmt: skip
    assert counts == {"sensors": "4", "offline": "1", "alarm": "1", "warning": "1"}
    assert "mon-row-alarm" in (row.get_attribute("class") or "")
    assert "报警" in row.inner_text() and "边坡位移" in row.inner_text()
    page.screenshot(path=str(artifacts / "monitoring-overview-zh.png"), full_page=True)
    row.locator("a").first.click()
    page.wait_for_load_state("networkidle")
    assert page.url.endswith(f"/mines/{mine}/monitoring")

    # in English
    en = Tab(browser, served.url, served.password, locale="en")
    en.sign_in("ee1")
    en.goto(f"/mines/{mine}/monitoring")
    en.page.wait_for_selector("#mon-charts[data-state=drawn] canvas")
    assert en.page.locator("h1").inner_text().startswith("Live monitoring")
    assert "alarm" in en.page.locator("table.mon-latest").inner_text()
    en.page.screenshot(path=str(artifacts / "monitoring-en.png"), full_page=True)

    # an evaluator reads it without the buttons; a village collective may not
    ev = Tab(browser, served.url, served.password)
    ev.sign_in("eval1")
    ev.goto(f"/mines/{mine}/monitoring")
    assert ev.page.locator("table.mon-latest tbody tr").count() == 4
    assert ev.page.locator("[data-alert-action]").count() == 0
    vil = Tab(browser, served.url, served.password)
    vil.sign_in("village1")
    assert vil.goto(f"/mines/{mine}/monitoring").status == 403
    assert vil.goto("/monitoring").status == 403
    assert vil.page.locator("nav.mainnav a[href='/monitoring']").count() == 0
    for tab in (ee, en, ev, vil):
        tab.context.close()
