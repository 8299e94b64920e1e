"""The web UI in a real browser (Debian's Chromium through Playwright) against the app served by
uvicorn over the demo county: sign in as each role, the county on the map, a mine, the language
switch, a public complaint answered by the bureau. Every page is checked for script errors and
CSP violations (an inline script or style would show here), and photographed into
``test-artifacts/web/``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from browser_support import Tab

pytestmark = pytest.mark.slow


@pytest.fixture
def tab(browser: Any, served: Any, artifacts: Path) -> Iterator[Tab]:
    t = Tab(browser, served.url, served.password, artifacts=artifacts, wait=False, ignore_4xx=False)
    yield t
    t.close()


def _home_of(role: str) -> str:
    from restora.service.security import Principal
    from restora.service.web.pages import home_of

    return home_of(Principal(role=role, user_id=1))


ROLE_USERS = {
    "admin": "admin1",
    "natural_resources": "nr1",
    "ecology_environment": "ee1",
    "finance": "bank1",
    "enterprise": "ent1",
    "evaluator": "eval1",
    "village": "village1",
}


@pytest.mark.parametrize("role", list(ROLE_USERS))
def test_sign_in_as_each_role(tab: Tab, role: str) -> None:
    username = ROLE_USERS[role]
    tab.sign_in(username)
    assert tab.page.url == tab.base + _home_of(role)
    assert username in tab.page.inner_text("header .who")
    tab.shot(f"signin-{role}")
    tab.page.click("form.signout button")
    tab.page.wait_for_url(re.compile(r"/signin"))
    # signed out: a staff page sends to the sign-in page again
    tab.goto("/jobs")
    assert "/signin" in tab.page.url
    tab.check_clean()


def test_wrong_password_is_said_on_the_page(tab: Tab) -> None:
    tab.goto("/signin")
    tab.page.fill("input[name=username]", "nr1")
    tab.page.fill("input[name=password]", "not the password of nr1 at all")
    tab.page.click("#signin-form button[type=submit]")
    tab.page.wait_for_selector("#signin-form .form-error:not([hidden])")
    assert "/signin" in tab.page.url
    tab.shot("signin-wrong-password")


def _live_sites_with_geometry(served: Any) -> int:
    from restora.store.tables import mines, sites

    with served.app.state.store.engine.connect() as conn:
        return int(
            conn.execute(
                sa.select(sa.func.count())
                .select_from(sites.join(mines, mines.c.mine_id == sites.c.mine_id))
                .where(
                    sites.c.deleted_at.is_(None),
                    mines.c.deleted_at.is_(None),
                    sites.c.geometry.is_not(None),
                )
            ).scalar_one()
        )


def test_the_demo_county_on_the_map(tab: Tab, served: Any) -> None:
    expected = _live_sites_with_geometry(served)
    assert expected > 100  # the demo county: 40 mines, 133 sites
    tab.sign_in("nr1")
    tab.goto("/map")
    tab.page.wait_for_selector("#map[data-sites-rendered]", timeout=60_000)
    # every site of the register is a feature of the map's source, drawn in the first view
    assert int(tab.page.get_attribute("#map", "data-sites-served")) == expected
    assert int(tab.page.get_attribute("#map", "data-sites-rendered")) == expected
    n_rows = tab.page.locator(".minelist tbody tr").count()
    assert n_rows == 40
    assert tab.page.get_attribute("#map-status", "data-state") == "ready"
    tab.shot("map-priority")
    tab.page.check("input[name=colour][value=soil]")
    assert tab.page.get_attribute("#map", "data-colour") == "soil"
    assert tab.page.is_visible("#legend-soil")
    tab.page.wait_for_timeout(500)
    tab.shot("map-soil")
    tab.check_clean()


def test_open_a_mine(tab: Tab) -> None:
    tab.sign_in("nr1")
    tab.goto("/map")
    tab.page.click(".minelist tbody tr:first-child a")  # rank 1
    tab.page.wait_for_url(re.compile(r"/mines/QS-M"))
    tab.page.wait_for_selector(".chart[data-drawn]", timeout=60_000)
    tab.page.wait_for_selector("#minimap[data-ready]", timeout=60_000)
    h1 = tab.page.inner_text("h1")
    assert re.search(r"QS-M\d\d", h1)
    for section in ("诊断", "污染梯度分区", "地质灾害", "修复前后的生态系统服务价值"):
        assert tab.page.locator(f"h2:has-text('{section}')").count() == 1, section
    tab.shot("mine-zh")
    tab.check_clean()


def test_switch_language(tab: Tab) -> None:
    tab.sign_in("ee1")
    tab.goto("/mines/QS-M28")
    tab.page.wait_for_selector(".chart[data-drawn]", timeout=60_000)
    assert tab.page.get_attribute("html", "lang") == "zh-CN"
    tab.page.click(".langswitch a[hreflang=en]")
    tab.page.wait_for_selector(".chart[data-drawn]", timeout=60_000)
    assert tab.page.get_attribute("html", "lang") == "en"
    assert tab.page.url.endswith("/mines/QS-M28")
    assert tab.page.locator("h2:has-text('Diagnosis')").count() == 1
    assert tab.page.locator("nav.mainnav >> text=Register map").count() == 1
    tab.page.wait_for_selector("#minimap[data-ready]", timeout=60_000)
    tab.shot("mine-en")
    tab.goto("/map")  # the choice is kept from page to page
    assert tab.page.get_attribute("html", "lang") == "en"
    tab.page.click(".langswitch a[hreflang=zh-CN]")
    assert tab.page.get_attribute("html", "lang") == "zh-CN"
    assert tab.page.locator("nav.mainnav >> text=矿山名录地图").count() == 1
    tab.check_clean()


def test_a_public_complaint_answered_by_the_bureau(
    browser: Any, served: Any, artifacts: Path
) -> None:
    bureau = Tab(
        browser, served.url, served.password, artifacts=artifacts, wait=False, ignore_4xx=False
    )
    public = Tab(
        browser, served.url, served.password, artifacts=artifacts, wait=False, ignore_4xx=False
    )
    try:
        bureau.sign_in("nr1")
        r = bureau.context.request.post(
            served.url + "/api/v1/disclosures",
            data={"subject": "mine", "subject_id": "QS-M09"},
            headers={"X-CSRF-Token": bureau.csrf()},
        )
        assert r.status in (200, 201), r.text()

        public.goto("/public")
        public.page.click("#public-mines a[href='/public/mines/QS-M09']")
        public.page.wait_for_url(re.compile(r"/public/mines/QS-M09"))
        public.shot("public-mine")
        public.page.click("a[href='/public/report?mine=QS-M09']")
        public.page.fill("textarea[name=text]", "塌陷区边坡有裂缝，雨后有滑坡迹象，请尽快查看。")
        assert public.page.input_value("select[name=mine_id]") == "QS-M09"
        public.page.wait_for_timeout(3500)  # a person takes seconds to fill the form in
        public.shot("public-report-form")
        public.page.click("#report-form button[type=submit]")
        public.page.wait_for_url(re.compile(r"/public/track\?receipt="), timeout=30_000)
        receipt = public.page.inner_text("#receipt-number").strip()
        assert receipt
        assert public.page.get_attribute("#complaint-status", "data-status") == "received"
        public.shot("public-receipt")

        bureau.goto("/complaints")
        bureau.page.click(f"text={receipt}")
        bureau.page.wait_for_selector("#answer-form")
        answer = "已派员现场核查，已设置警示标志并安排边坡治理。"
        bureau.page.fill("#answer-form textarea[name=answer]", answer)
        bureau.page.click("#answer-form button[type=submit]")
        bureau.page.wait_for_selector("#answer-text")
        assert answer in bureau.page.inner_text("#answer-text")
        bureau.shot("bureau-answered")

        public.goto(f"/public/track?receipt={receipt}")
        assert public.page.get_attribute("#complaint-status", "data-status") == "answered"
        assert answer in public.page.inner_text("#public-answer")
        public.shot("public-answer")
        bureau.check_clean()
        public.check_clean()
    finally:
        bureau.close()
        public.close()


def test_start_an_appraisal_watch_it_and_download_its_pdf(
    browser: Any, served: Any, artifacts: Path
) -> None:
    from pathlib import Path as P

    t = Tab(browser, served.url, served.password, artifacts=artifacts, wait=False, ignore_4xx=False)
    try:
        t.sign_in("nr1")
        spec = (
            P(__file__).resolve().parents[2] / "examples/demo-projects/QS-M28.yaml"
        ).read_bytes()
        r = t.context.request.post(
            served.url + "/api/v1/projects",
            data=spec,
            headers={"Content-Type": "application/yaml", "X-CSRF-Token": t.csrf()},
        )
        assert r.status == 201, r.text()
        project = r.json()["project_id"]
        t.goto("/projects")
        t.page.click(f"a[href='/projects/{project}']")
        t.page.wait_for_url(re.compile(f"/projects/{project}$"))
        t.shot("project-before")
        t.page.click("#appraise-form button[type=submit]")
        t.page.wait_for_selector("#job-slot .jobbox", timeout=30_000)
        seen: list[tuple[str, int]] = []
        for _ in range(600):  # at most 5 minutes
            box = t.page.locator("#job-slot .jobbox")
            status = box.get_attribute("data-status") or ""
            percent = int(t.page.locator("#job-slot progress").get_attribute("value") or 0)
            if not seen or seen[-1] != (status, percent):
                seen.append((status, percent))
                if status == "running" and 0 < percent < 100 and len(seen) < 4:
                    t.shot("project-job-running")
            if status in ("succeeded", "failed", "cancelled"):
                break
            t.page.wait_for_timeout(500)
        assert seen[-1] == ("succeeded", 100), seen
        # the page showed the job on its way, its progress never going back
        assert any(s == "running" for s, _ in seen), seen
        percents = [p for _, p in seen]
        assert percents == sorted(percents), seen
        t.shot("project-job-done")
        t.page.click("#job-slot a.button")
        t.page.wait_for_url(re.compile(r"\?version=1$"))
        t.page.wait_for_function(
            "() => document.querySelectorAll('.chart[data-drawn]').length === 3", timeout=60_000
        )
        t.shot("project-appraisal")
        with t.page.expect_download() as download:
            t.page.click("#versions a[data-kind=pdf][data-lang=zh]")
        pdf = P(download.value.path()).read_bytes()
        assert pdf[:5] == b"%PDF-" and len(pdf) > 10_000
        (artifacts / "appraisal-report-zh.pdf").write_bytes(pdf)
        t.check_clean()
    finally:
        t.close()


@pytest.mark.parametrize(
    ("role", "paths"),
    [
        ("admin", ["/jobs", "/audit", "/complaints", "/about", "/api/v1/docs"]),
        ("evaluator", ["/audit", "/projects"]),
        ("finance", ["/projects", "/public"]),
    ],
)
def test_staff_pages_render_cleanly(tab: Tab, role: str, paths: list[str]) -> None:
    """Each page a role opens from its navigation renders without a script error or a CSP
    violation (Swagger UI included), and is photographed."""
    tab.sign_in(ROLE_USERS[role])
    for path in paths:
        response = tab.goto(path)
        assert response.status == 200, path
        tab.page.wait_for_load_state("networkidle")
        if path == "/api/v1/docs":
            tab.page.wait_for_selector(".swagger-ui .opblock", timeout=60_000)
        tab.shot(f"{role}{path.replace('/', '-')}")
    tab.check_clean()
