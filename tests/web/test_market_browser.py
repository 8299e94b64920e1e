"""The project library and the market in a real browser (issue 14, "Done when": a browser test
walks it as an enterprise and as a bank): Debian's Chromium through Playwright against the app
served by uvicorn over the demo county.

The enterprise adds the demo project QS-M09 and appraises it (through the API, as the project
page's button does); the bank creates a product on its products page; the enterprise publishes
a listing from the stored appraisal on the library's form; the bank finds it in its inbox and
in the library with its product eligible, claims it; the enterprise sees the claim and chooses
it; the bank accepts with its terms; both see the listing matched and its history. Every page
is checked for script errors and CSP violations and photographed into test-artifacts/web/.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest
from browser_support import Tab

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


def _appraised_project(ent: Tab, base: str) -> str:
    """The demo project QS-M09 added by the enterprise and appraised (a background job)."""
    spec = (ROOT / "examples/demo-projects/QS-M09.yaml").read_bytes()
    headers = {"X-CSRF-Token": ent.csrf()}
    r = ent.context.request.post(
        base + "/api/v1/projects",
        data=spec,
        headers={**headers, "Content-Type": "application/yaml"},
    )
    assert r.status == 201, r.text()
    project = str(r.json()["project_id"])
    r = ent.context.request.post(
        f"{base}/api/v1/projects/{project}/appraisals",
        data={"lang": "zh", "pdf": False},
        headers=headers,
    )
    assert r.status == 202, r.text()
    job_url = base + r.json()["job_url"]
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        job = ent.context.request.get(job_url).json()
        if job["status"] in ("succeeded", "failed", "cancelled"):
            break
        time.sleep(0.5)
    assert job["status"] == "succeeded", job
    return project


def test_an_enterprise_lists_a_bank_claims_the_enterprise_chooses_the_bank_accepts(
    browser: Any, served: Any, artifacts: Path
) -> None:
    ent = Tab(browser, served.url, served.password, artifacts=artifacts)
    bank = Tab(browser, served.url, served.password, artifacts=artifacts)
    try:
        ent.sign_in("ent1")
        bank.sign_in("bank1")
        project = _appraised_project(ent, served.url)

        # the bank publishes a green pledge loan on its products page
        bank.goto("/products")
        assert bank.page.locator("nav.mainnav a[href='/products']").count() == 1
        form = "#product-form"
        bank.page.fill(f"{form} input[name=name]", "青山绿色修复质押贷")
        bank.page.select_option(f"{form} select[name=instrument]", "pledge_loan")
        bank.page.fill(f"{form} input[name=capacity_cny]", "200000000")
        bank.page.fill(f"{form} input[name=ticket_min_cny]", "5000000")
        bank.page.fill(f"{form} input[name=ticket_max_cny]", "50000000")
        bank.page.fill(f"{form} input[name=tenor_min_years]", "3")
        bank.page.fill(f"{form} input[name=tenor_max_years]", "15")
        bank.page.fill(f"{form} input[name=rate]", "0.039")
        bank.page.fill(f"{form} input[name='requirements.regions']", "430000")
        bank.page.check(f"{form} input[name='requirements.collateral_any'][value=land_use_rights]")
        bank.shot("market-bank-product-form")
        bank.submit(form)
        assert re.search(r"/products/\d+$", bank.page.url), bank.page.url
        assert "青山绿色修复质押贷" in bank.page.inner_text("h1")
        bank.shot("market-bank-product")

        # the enterprise publishes its need from the stored appraisal
        ent.goto("/library")
        ent.page.click("#publish-link")
        ent.page.wait_for_url(re.compile(r"/library/new"))
        form = "#listing-form"
        assert ent.page.input_value(f"{form} select[name=project_id]") == project
        assert ent.page.input_value(f"{form} select[name=appraisal_version]") == "1"
        ent.page.fill(f"{form} input[name=amount_cny]", "12000000")
        ent.page.fill(f"{form} input[name=needed_by]", "2027-06-30")
        ent.page.select_option(f"{form} select[name=instrument]", "pledge_loan")
        ent.page.fill(f"{form} input[name=tenor_years]", "10")
        ent.page.select_option(f"{form} select[name=stage]", "preparation")
        ent.page.check(f"{form} input[name=collateral][value=land_use_rights]")
        ent.page.fill(f"{form} input[name='settings.access_claims']", "2")
        ent.shot("market-enterprise-publish-form")
        ent.submit(form)
        assert re.search(r"/library/\d+$", ent.page.url), ent.page.url
        listing_url = ent.page.url[len(served.url) :]
        assert ent.page.get_attribute("#listing-state", "data-state") == "open"
        row = ent.page.locator("#verdicts tr[data-eligible=yes]")
        assert row.count() == 1 and "青山绿色修复质押贷" in row.inner_text()
        ent.shot("market-enterprise-listing")

        # the bank was told, sees the listing with its product eligible, and claims it
        bank.goto("/offers")
        assert bank.page.locator("#inbox tr[data-kind=eligible_listing]").count() == 1
        bank.shot("market-bank-inbox")
        bank.goto("/library")
        assert bank.page.inner_text("#listings tbody tr .eligible-count").strip() == "1"
        bank.shot("market-bank-library")
        bank.page.click(f"#listings a[href='{listing_url}']")
        bank.page.wait_for_url(re.compile(re.escape(listing_url) + "$"))
        bank.page.wait_for_load_state("networkidle")
        assert bank.page.locator("#verdicts tr[data-eligible=yes]").count() == 1
        bank.page.fill("#claim-form input[name=amount_cny]", "12000000")
        bank.page.fill("#claim-form textarea[name=note]", "可于两周内完成尽职调查。")
        bank.submit("#claim-form")
        claim = bank.page.locator("#claims tr[data-state=claimed]")
        assert claim.count() == 1 and "青山农商银行" in claim.inner_text()
        assert bank.page.locator("#appraisal-link").count() == 1  # among the first 2
        bank.shot("market-bank-claimed")
        bank.page.click("#appraisal-link")
        bank.page.wait_for_url(re.compile(r"/library/\d+/appraisal$"))
        bank.page.wait_for_function(
            "() => document.querySelectorAll('.chart[data-drawn]').length === 3", timeout=60_000
        )
        bank.shot("market-bank-full-appraisal")

        # the enterprise sees the claim and chooses it
        ent.goto(listing_url)
        assert ent.page.locator("#claims tr[data-state=claimed]").count() == 1
        ent.submit("#claims .choose-form")
        assert ent.page.locator("#claims tr[data-state=chosen]").count() == 1
        ent.shot("market-enterprise-chosen")

        # the bank is told it was chosen and accepts with its terms before the deadline
        bank.goto("/offers")
        assert bank.page.locator("#inbox tr[data-kind=chosen]").count() == 1
        assert bank.page.locator("#claim-list tr[data-state=chosen]").count() == 1
        bank.shot("market-bank-offers-chosen")
        bank.goto(listing_url)
        bank.page.fill("#answer-form input[name='terms.rate']", "0.039")
        bank.page.fill(
            "#answer-form textarea[name='terms.conditions']", "以土地经营权质押，按季付息。"
        )
        bank.shot("market-bank-answer-form")
        bank.submit("#answer-form", "button[value=accept]")
        assert bank.page.locator("#claims tr[data-state=accepted]").count() == 1
        assert bank.page.get_attribute("#listing-state", "data-state") == "matched"
        bank.shot("market-bank-accepted")
        bank.page.click(".langswitch a[hreflang=en]")
        bank.page.wait_for_load_state("networkidle")
        assert bank.page.inner_text("#listing-state").strip() == "Matched"
        assert "no unique IRR" in bank.page.inner_text("#missing")
        bank.shot("market-bank-accepted-en")

        # both sides see the match and the history
        ent.goto(listing_url)
        assert ent.page.get_attribute("#listing-state", "data-state") == "matched"
        history = ent.page.inner_text("#history")
        for word in ("发布", "认领", "选定认领", "接受"):
            assert word in history, word
        ent.shot("market-enterprise-matched")
        ent.goto("/offers")
        assert ent.page.locator("#inbox tr[data-kind=accepted]").count() == 1
        ent.shot("market-enterprise-offers")
        ent.check_clean()
        bank.check_clean()
    finally:
        ent.context.close()
        bank.context.close()
