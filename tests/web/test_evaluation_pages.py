"""The policy-evaluation dashboard and the coordination record's pages in a real browser (issue
17): Debian's Chromium through Playwright against the app served over the demo county.

The demo's three appraised projects (``restora demo --top 3``: QS-P-M09, QS-P-M10, QS-P-M28)
are stored with their appraisals. The county's natural-resources bureau (nr1) opens
/evaluation: the headline indicators, the disparity table whose Gini equals the API's, the
Lorenz curve drawn on a canvas, the map of social-capital investment by county, the mode mix;
the XLSX link answers a workbook. It records a joint meeting (a follow-up of the bank overdue
by ten days) and a hearing; /coordination shows the overdue follow-up and both records; the
meeting's page names the participants. Anonymous, /public/coordination shows the hearing with
its notice, attendance and answers and never a person's name; the meeting (not public) is not
listed. Pages are photographed into test-artifacts/web/.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
VIEWPORT = {"width": 1400, "height": 900}
PEOPLE = ("张三丰", "李红", "王明", "赵大牛")


@pytest.fixture(scope="module")
def demo_projects(served: Any, tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """The demo's three appraised projects, stored with their appraisal documents."""
    from typer.testing import CliRunner

    from restora.cli import app
    from restora.store.evaluation import add_appraised_project

    out = tmp_path_factory.mktemp("demo-eval")
    res = CliRunner().invoke(
        app, ["demo", "--out", str(out), "--top", "3", "--no-pdf", "--on", "2026-01-01",
              "--format", "json"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    ids = []
    for p in json.loads(res.stdout)["projects"]:
        spec = yaml.safe_load(
            (ROOT / "examples/demo-projects" / f"{p['mines'][0]}.yaml").read_text("utf-8")
        )
        doc = json.loads(Path(p["appraisal"]).read_text("utf-8"))
        add_appraised_project(served.app.state.store, spec, doc)
        ids.append(p["project_id"])
    return ids


def _records(served: Any) -> dict[str, Any]:
    """A meeting with a follow-up of the bank due ten days ago, and a public hearing."""
    from restora.store import coordination as coord

    data = ROOT / "tests/data/coordination"
    today = dt.date.today()
    meeting = yaml.safe_load((data / "meeting.yaml").read_text("utf-8"))
    meeting["held_on"] = today - dt.timedelta(days=40)
    meeting["follow_ups"][0]["due_on"] = today - dt.timedelta(days=10)
    meeting["follow_ups"][1]["due_on"] = today - dt.timedelta(days=20)
    meeting["follow_ups"][1]["done_on"] = today - dt.timedelta(days=25)
    meeting["follow_ups"][2]["due_on"] = today + dt.timedelta(days=60)
    hearing = yaml.safe_load((data / "hearing.yaml").read_text("utf-8"))
    hearing["held_on"] = today - dt.timedelta(days=30)
    hearing["notice"]["published_on"] = today - dt.timedelta(days=45)
    store = served.app.state.store
    return {
        "meeting": coord.add_meeting(store, meeting, recorded_by="nr1"),
        "hearing": coord.add_consultation(store, hearing, recorded_by="nr1"),
    }


def _sign_in(page: Any, served: Any, role: str) -> None:
    page.goto(served.url + "/signin")
    page.fill("input[name=username]", served.usernames[role])
    page.fill("input[name=password]", served.password)
    page.click("#signin-form button[type=submit]")
    page.wait_for_function("() => !location.pathname.startsWith('/signin')")


def test_dashboard_with_the_demo_data(served: Any, browser: Any, artifacts: Any, demo_projects):
    context = browser.new_context(viewport=VIEWPORT, locale="zh-CN")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        _sign_in(page, served, "natural_resources")
        page.goto(served.url + "/evaluation")
        page.wait_for_load_state("networkidle")
        api = page.context.request.get(served.url + "/api/v1/evaluation/indicators").json()
        assert sorted(api["projects"]) == sorted(demo_projects)
        shown = page.locator("#disparity-table tr[data-measure=social_capital_cny] .gini")
        gini = api["disparity"]["social_capital_cny"]["gini"]
        assert shown.inner_text() == f"{gini:.4f}"
        assert page.locator("#lorenz-chart canvas").count() >= 1
        page.wait_for_selector("#lorenz-chart[data-ready=true]")
        page.wait_for_selector("#eval-map[data-ready=true]", timeout=30_000)
        assert page.locator("#eval-map canvas").count() == 1
        assert page.locator("#modes-chart canvas").count() >= 1
        share = page.locator("#headline [data-code=EVAL-INV-SOCIAL-SHARE] .kpi-value").inner_text()
        expected = next(i for i in api["indicators"] if i["code"] == "EVAL-INV-SOCIAL-SHARE")
        assert share == f"{expected['value'] * 100:.1f}\u2009%"
        assert page.locator("#regions tr[data-region='430599']").count() == 1
        assert "社会资本投入" in page.locator("#disparity").inner_text()
        assert page.locator("#indicators tbody tr").count() == len(api["indicators"])
        xlsx = page.context.request.get(served.url + page.locator("#xlsx").get_attribute("href"))
        assert xlsx.status == 200 and xlsx.body()[:2] == b"PK"
        page.screenshot(path=str(artifacts / "evaluation-dashboard.png"), full_page=True)
        # regions by city: the demo county's city 430500
        page.goto(served.url + "/evaluation?by=city")
        assert page.locator("#regions tr[data-region='430500']").count() == 1
    finally:
        context.close()
    assert not [e for e in errors if "GL Driver Message" not in e], errors


def test_coordination_pages_and_their_public_part(served: Any, browser: Any, artifacts: Any):
    made = _records(served)
    context = browser.new_context(viewport=VIEWPORT, locale="zh-CN")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        _sign_in(page, served, "natural_resources")
        page.goto(served.url + "/coordination")
        overdue = page.locator("#overdue tbody tr")
        assert overdue.count() == 1
        assert (
            "青山农商银行" in overdue.inner_text()
            and "10" in overdue.locator("td.num").inner_text()
        )
        assert page.locator(f"#meetings tr[data-id='{made['meeting']['id']}']").count() == 1
        assert page.locator(f"#consultations tr[data-id='{made['hearing']['id']}']").count() == 1
        page.screenshot(path=str(artifacts / "coordination.png"), full_page=True)
        page.goto(served.url + "/coordination?q=光伏")
        assert page.locator("#meetings tbody tr").count() == 0
        assert page.locator("#consultations tbody tr").count() == 1
        page.goto(served.url + f"/coordination/meetings/{made['meeting']['id']}")
        assert "李红" in page.locator("#participants").inner_text()  # staff see who attended
        assert page.locator("#follow-ups tr[data-status=overdue]").count() == 1
        assert "逾期 10 天" in page.locator("#follow-ups").inner_text()
        page.screenshot(path=str(artifacts / "coordination-meeting.png"), full_page=True)
        page.goto(served.url + f"/coordination/consultations/{made['hearing']['id']}")
        assert "赵大牛" in page.locator("#opinions").inner_text()
    finally:
        context.close()

    public = browser.new_context(viewport=VIEWPORT, locale="zh-CN")
    page = public.new_page()
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(served.url + "/public/coordination")
        rows = page.locator("#public-consultations tbody tr")
        assert rows.count() == 1 and "听证会" in rows.inner_text()
        assert page.locator("#public-meetings").count() == 0  # the meeting is not public
        page.click(f"#public-consultations tr[data-id='{made['hearing']['id']}'] a")
        page.wait_for_load_state("networkidle")
        assert page.locator("#attendance-total").inner_text() == "58"  # 46 + 5 + 3 + 4
        assert "黄泥塘村公示栏" in page.locator("#notice-meta").inner_text()
        assert "不作调整" in page.locator("#opinions").inner_text()
        for person in (*PEOPLE, "nr1"):
            assert person not in page.content()
        page.screenshot(path=str(artifacts / "coordination-public.png"), full_page=True)
        response = page.goto(served.url + f"/public/coordination/meetings/{made['meeting']['id']}")
        assert response is not None and response.status == 404
        response = page.goto(served.url + "/coordination")
        assert response is not None and "/signin" in page.url  # staff pages ask to sign in
    finally:
        public.close()
    assert not errors, errors
