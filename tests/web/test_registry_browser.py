"""The registry in a real browser (issue 15): Debian's Chromium through Playwright against the
app served by uvicorn over the demo county, with the registry's signing key configured.

The bureau opens the accounts of the enterprise and of the bank (through the API, as a script
would), an evaluator records a verified outcome and the bureau issues 1 000 t CO2e of
carbon-sink credits and 120.5 亩 of construction-land quota to the enterprise. The enterprise
signs in, finds "登记簿" in its navigation, sees its blocks with their serial ids, retires the
first 100 t of its carbon-sink block on the block's retire form, sees the block split (retired
and held), opens its statement, follows the retirement's public URL — without signing in — and
sees the record (account name, beneficiary, purpose, leaf index) whose inclusion proof verifies
against the signed tree head with the published key. The public registry page shows the
totals per project in t CO2e and 亩. Pages are photographed into test-artifacts/web/.
"""

from __future__ import annotations

import base64
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser_support import Tab

pytestmark = pytest.mark.slow

API = "/api/v1/registry"


@pytest.fixture(scope="module", autouse=True)
def signing_key(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    from restora.registry.signing import ENV_KEY, generate_key

    path = tmp_path_factory.mktemp("registry-key") / "registry.pem"
    generate_key(path)
    old = os.environ.get(ENV_KEY)
    os.environ[ENV_KEY] = str(path)
    try:
        yield path
    finally:
        if old is None:
            os.environ.pop(ENV_KEY, None)
        else:
            os.environ[ENV_KEY] = old


def _call(tab: Tab, method: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    r = tab.context.request.fetch(
        tab.base + path, method=method, data=body, headers={"X-CSRF-Token": tab.csrf()}
    )
    assert r.status in (200, 201), r.text()
    return dict(r.json())


def _orgs(served: Any) -> dict[str, int]:
    from restora.store import accounts

    engine = served.app.state.store.engine
    return {o["name"]: o["id"] for o in accounts.list_organisations(engine)}


def test_an_enterprise_retires_part_of_a_block_and_the_public_sees_the_retirement(
    browser: Any, served: Any, artifacts: Path
) -> None:
    nr = Tab(browser, served.url, served.password, artifacts=artifacts)
    ev = Tab(browser, served.url, served.password, artifacts=artifacts)
    ent = Tab(browser, served.url, served.password, artifacts=artifacts)
    public = Tab(browser, served.url, served.password, artifacts=artifacts)
    try:
        nr.sign_in("nr1")
        ev.sign_in("eval1")
        orgs = _orgs(served)
        firm = _call(nr, "POST", f"{API}/accounts",
                     {"kind": "holding", "org_id": orgs["青山修复工程有限公司"]})["account"]  # fmt: skip
        _call(nr, "POST", f"{API}/accounts", {"kind": "holding", "org_id": orgs["青山农商银行"]})
        for vid, unit, amount in (("V-CS-1", "CSINK", 1000), ("V-CLQ-1", "CLQ", 120.5)):
            _call(ev, "POST", f"{API}/verifications", {
                "verification": vid, "unit_type": unit, "project_id": "QS-P-M09",
                "vintage": 2026, "region_code": "430599", "amount": amount,
                "report_sha256": "ab" * 32,
            })  # fmt: skip
            attrs = {"methodology": "CCER-14-001-V01"} if unit == "CSINK" else {"grade": "水田"}
            _call(nr, "POST", f"{API}/issue",
                  {"verification": vid, "account": firm, "amount": amount, "attrs": attrs})  # fmt: skip

        # the enterprise sees its blocks in the registry
        ent.sign_in("ent1")
        ent.goto("/registry")
        assert ent.page.locator("nav.mainnav a[href='/registry']").inner_text() == "登记簿"
        serial = "CN-CSINK-430599-QS-P-M09-2026-1-1000"
        row = ent.page.locator(f"tr[data-serial='{serial}']")
        assert row.count() == 1 and row.get_attribute("data-status") == "held"
        assert "1\u2009000 吨二氧化碳当量" in row.inner_text()
        quota = ent.page.locator("tr[data-serial='CN-CLQ-430599-QS-P-M09-2026-1-12050']")
        assert "120.50 亩" in quota.inner_text()
        ent.shot("registry-enterprise-blocks")

        # it retires the block's first 100 t on the block's form
        row.locator("details.operate summary").click()
        form = f"tr[data-serial='{serial}'] .retire-form"
        ent.page.fill(f"{form} input[name=count]", "100")
        ent.page.fill(f"{form} input[name=purpose]", "2026 年度碳中和")
        ent.shot("registry-enterprise-retire-form")
        ent.submit(form)
        retired = ent.page.locator("tr[data-serial='CN-CSINK-430599-QS-P-M09-2026-1-100']")
        assert retired.get_attribute("data-status") == "retired"
        assert "2026 年度碳中和" in retired.inner_text()
        held = ent.page.locator("tr[data-serial='CN-CSINK-430599-QS-P-M09-2026-101-1000']")
        assert held.get_attribute("data-status") == "held"
        ent.shot("registry-enterprise-retired")

        # the statement names the split and the retirement, with the public URL
        ent.goto(f"/registry/accounts/{firm}")
        line = ent.page.locator("#statement tr[data-kind=retire]")
        assert line.count() == 1 and "注销" in line.inner_text()
        link = line.locator("a").get_attribute("href")
        assert link and re.fullmatch(r"/public/registry/events/\d+", link), link
        assert ent.page.locator("#statement tr[data-kind=split]").count() == 1
        ent.shot("registry-enterprise-statement")

        # the public (not signed in) reads the retirement's record
        public.goto(link)
        assert public.page.get_attribute("#record-kind", "data-kind") == "retire"
        assert public.page.inner_text("#record-serial") == "CN-CSINK-430599-QS-P-M09-2026-1-100"
        assert public.page.inner_text("#record-from") == "青山修复工程有限公司"
        assert public.page.inner_text("#record-beneficiary") == "青山修复工程有限公司"
        assert public.page.inner_text("#record-purpose") == "2026 年度碳中和"
        leaf = int(public.page.inner_text("#record-leaf"))
        public.shot("registry-public-retirement")
        proof_url = public.page.get_attribute("#proof-link", "href")
        assert proof_url is not None
        proof = public.context.request.get(served.url + proof_url).json()
        head = public.context.request.get(served.url + f"{API}/head").json()
        (key,) = public.context.request.get(served.url + f"{API}/keys").json()
        from restora.registry import merkle
        from restora.registry.signing import TreeHead, verify_head

        th = TreeHead.from_json({k: v for k, v in head.items() if k != "checkpoint"})
        assert verify_head(th, base64.b64decode(key["public_key"]))
        assert proof["leaf_index"] == leaf and proof["tree_size"] == th.size
        assert merkle.verify_inclusion(
            leaf,
            th.size,
            merkle.leaf_hash(proof["event"].encode()),
            [base64.b64decode(p) for p in proof["proof"]],
            th.root,
        )
        for secret in ("ent1", "nr1", "eval1"):  # usernames: never on public pages
            assert secret not in public.page.content() and secret not in proof["event"]

        # the public registry: totals per project in the units' measures, the signed head
        public.goto("/public")
        public.page.click("#public-registry-link")
        public.page.wait_for_url(re.compile(r"/public/registry$"))
        public.page.wait_for_load_state("networkidle")
        cs = public.page.locator("#totals tr[data-unit=CSINK]")
        assert "1\u2009000" in cs.inner_text() and cs.locator(".retired").inner_text() == "100"
        assert "亩" in public.page.inner_text("#totals tr[data-unit=CLQ]")
        assert public.page.inner_text("#head-size") == str(th.size)
        public.shot("registry-public-index")
        public.page.click(".langswitch a[hreflang=en]")
        public.page.wait_for_load_state("networkidle")
        assert "t CO2e" in public.page.inner_text("#totals")
        public.shot("registry-public-index-en")
        for tab in (nr, ev, ent, public):
            tab.check_clean()
    finally:
        for tab in (nr, ev, ent, public):
            tab.context.close()
