"""The evaluator's pages in a real browser (issue 16): Debian's Chromium through Playwright
against the app served by uvicorn over the demo county.

A project on the QS-M28 performance bond (principal 20 000 000 CNY; tranche 'soil' 60 %, tiers
miss / partial from 0.5 interpolated to 0.5…1.0 / met from 0.9) on a mine with 20 soil samples,
17 below the GB 15618-2018 screening values; a hazards milestone with two displacement series;
a plant-survival milestone earning 120 carbon-sink credits. The evaluator opens the project's
milestones, reviews the soil evidence (value 85 %, the chart, the tranche it would release),
previews an entered value, signs off with a report file and sees the tranche released and the
ledger event, follows it to its public record (the evaluator's organisation, never the person)
and its inclusion proof; signs off the credits milestone and follows the verified outcome and
the serial block to their public records;
sees the refusals (no evidence, signed already) in Chinese. The natural-resources bureau reads
the pages without a form; the project page shows the tranche released. Screens go to
test-artifacts/web/.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from browser_support import Tab

pytestmark = pytest.mark.slow

HERE = Path(__file__).resolve()
sys.path.insert(0, str(HERE.parents[1] / "monitoring"))
import verification_support as vs  # noqa: E402

sys.path.pop(0)

API = "/api/v1/monitoring"
REPORT = b"%PDF-1.4 evaluation report of the soil milestone (test)"


def _org(engine: Any, name: str) -> int:
    from restora.store.platform_tables import organisations as ORGS

    with engine.connect() as conn:
        return int(conn.execute(sa.select(ORGS.c.id).where(ORGS.c.name == name)).scalar_one())


@pytest.fixture(scope="module", autouse=True)
def signing_key(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The registry's key: sign-offs are sequenced into a signed log (their proofs)."""
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


def _person_and_org(engine: Any, username: str) -> tuple[str, str]:
    """A user's display name and the name of its organisation."""
    from restora.store.platform_tables import organisations as ORGS
    from restora.store.platform_tables import users as USERS

    q = (
        sa.select(USERS.c.display_name, ORGS.c.name)
        .join(ORGS, ORGS.c.id == USERS.c.org_id)
        .where(USERS.c.username == username)
    )
    with engine.connect() as conn:
        person, org = conn.execute(q).one()
    return str(person), str(org)


def _readings(store: Any, mine: str) -> None:
    """30 daily displacement readings of two GNSS points in May 2025 (GNSS-1 creeping 0.1
    mm/day, GNSS-2 moving 1.0 mm/day) and the survival rate of two plots (0.90, 0.88)."""
    from restora.monitoring.payload import Reading
    from restora.store.monitoring import ingest

    t0 = dt.datetime(2025, 5, 1, 12, tzinfo=dt.UTC)
    rows = []
    for d in range(30):
        t = t0 + dt.timedelta(days=d)
        rows.append(
            Reading(mine, f"{mine}-S1", "GNSS-1", "slope_displacement", t, 10 + 0.1 * d, "mm")
        )
        rows.append(
            Reading(mine, f"{mine}-S1", "GNSS-2", "slope_displacement", t, 20 + 1.0 * d, "mm")
        )
    for code, rate in (("PLOT-1", 0.90), ("PLOT-2", 0.88)):
        rows.append(Reading(mine, f"{mine}-S1", code, "plant_survival", t0, rate, "1"))
    result = ingest(store, rows, source="http", received_at=t0 + dt.timedelta(days=31))
    assert result.stored == 62, result


@pytest.fixture(scope="module")
def project(served: Any) -> dict[str, Any]:
    from restora.store import verification as V
    from restora.store.projects import create_project

    store = served.app.state.store
    mine, pid = "VP-M1", "VP-P1"
    vs.add_mine(store, mine)
    vs.add_samples(store, mine, [0.2] * 17 + [0.5] * 3)
    owner = _org(store.engine, "青山修复工程有限公司")  # ent1's organisation
    create_project(store, vs.qs_m28_spec(pid, mine), owner_org_id=owner)
    V.milestones_from_project(store, pid)  # soil (2029-12-31) and vegetation (2030-12-31)
    _readings(store, mine)
    V.add_milestone(
        store, project_id=pid, name="hazards", indicator="hazards_stabilised", target=1.0,
        params={"window_days": 30, "rate_limit_mm_per_day": 0.5, "on": "2025-05-31"},
        due_on=dt.date(2025, 6, 30),
    )  # fmt: skip
    V.add_milestone(
        store, project_id=pid, name="carbon", indicator="plant_survival", target=0.85,
        credits={"unit_type": "CSINK", "count": 120, "vintage": 2025,
                 "attrs": {"methodology": "CCER-14-001"}},
        due_on=dt.date(2025, 12, 31),
    )  # fmt: skip
    return {"mine": mine, "project": pid, "store": store}


def test_the_evaluator_reviews_the_evidence_and_signs_off(
    browser: Any, served: Any, artifacts: Path, project: dict[str, Any]
) -> None:
    from restora.store import verification as V

    pid, store = project["project"], project["store"]
    ev = Tab(browser, served.url, served.password)
    ev.sign_in("eval1")

    # the project's milestones, one link per milestone
    ev.goto(f"/projects/{pid}/milestones")
    rows = ev.page.locator("#milestones tbody tr")
    assert {rows.nth(i).get_attribute("data-milestone") for i in range(rows.count())} == {
        f"{pid}/soil",
        f"{pid}/vegetation",
        f"{pid}/hazards",
        f"{pid}/carbon",
    }
    assert ev.page.locator("#no-releases").count() == 1
    ev.page.screenshot(path=str(artifacts / "verification-milestones-zh.png"), full_page=True)

    # the soil review: 17 of 20 samples below the screening values = 0.85; the tranche tier
    # 'partial', fraction 0.5 + (0.85 - 0.5) / (0.9 - 0.5) × 0.5 = 0.9375 of the tranche's
    # 20 000 000 × 0.6 = 12 000 000 CNY: 11 250 000 CNY
    ev.page.click(f"#milestones tr[data-milestone='{pid}/soil'] a >> nth=0")
    ev.page.wait_for_load_state("networkidle")
    page = ev.page
    assert page.url.endswith(f"/monitoring/milestones/{pid}/soil")
    assert page.locator("#value").get_attribute("data-value") == "0.85"
    assert page.locator("#value").inner_text().replace("\u2009", " ") == "85.0 %"
    page.wait_for_selector("#vp-chart[data-state=drawn] canvas")
    preview = page.locator("#tranche-preview")
    assert preview.get_attribute("data-tier") == "partial"
    assert float(preview.get_attribute("data-fraction") or 0) == pytest.approx(0.9375)
    assert float(preview.get_attribute("data-amount") or 0) == pytest.approx(11_250_000)
    assert "11\u2009250\u2009000" in preview.inner_text()
    assert page.locator("#evidence-items tbody tr").count() == 20
    assert page.locator("#evidence-items tr[data-below=no]").count() == 3
    digest = V.evidence(store, f"{pid}/soil")["digest"]
    assert page.locator("#digest").inner_text() == digest
    page.screenshot(path=str(artifacts / "verification-review-zh.png"), full_page=True)

    # a preview of an entered value 0.95 (tier 'met': fraction 1.0, 12 000 000 CNY) writes nothing
    before = vs.counts(store)
    page.fill("#preview input[name=value]", "0.95")
    page.click("#preview button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert page.locator("#preview-result [data-tier]").get_attribute("data-tier") == "met"
    assert "12\u2009000\u2009000" in page.locator("#preview-result").inner_text()
    assert vs.counts(store) == before

    # sign off with the report file: its SHA-256 is what the store keeps
    page.locator("#signoff-form input[name=report]").set_input_files(
        {"name": "report.pdf", "mimeType": "application/pdf", "buffer": REPORT}
    )
    page.fill("#signoff-form textarea[name=note]", "现场复核 3 个点位")
    page.click("#signoff-form button[type=submit]")
    page.wait_for_selector("#signed-notice")
    assert "?signed=" in page.url
    assert page.locator("#milestone-status").get_attribute("data-status") == "accepted"
    released = page.locator(".vp-just .vp-released")
    assert released.get_attribute("data-tier") == "partial"
    assert float(released.get_attribute("data-amount") or 0) == pytest.approx(11_250_000)
    assert page.locator("#signoff-form").count() == 0
    done = V.signoffs(store, milestone_id=f"{pid}/soil")
    assert len(done) == 1 and done[0]["report_sha256"] == hashlib.sha256(REPORT).hexdigest()
    assert done[0]["note"] == "现场复核 3 个点位" and done[0]["evaluator"] == "eval1"
    assert f"#{done[0]['event_id']}" in page.locator(".vp-just .vp-event").inner_text()
    releases = V.tranche_releases(store, pid)
    assert [(r["tranche"], r["tier"], r["amount_cny"]) for r in releases] == [
        ("soil", "partial", pytest.approx(11_250_000))
    ]
    page.screenshot(path=str(artifacts / "verification-signed-zh.png"), full_page=True)

    # the sign-off's ledger event links to its public record: the evaluator's organisation,
    # never the person, and its inclusion proof
    person, org_name = _person_and_org(store.engine, "eval1")
    page.click(".vp-just .vp-event-link")
    page.wait_for_load_state("networkidle")
    assert page.url.endswith(f"/public/registry/events/{done[0]['event_id']}")
    assert page.locator("#record-kind").get_attribute("data-kind") == "sign_off"
    assert page.locator("#record-evaluator").inner_text() == org_name
    assert page.locator("#record-decision").get_attribute("data-decision") == "accepted"
    assert page.locator("#record-value").inner_text().replace("\u2009", " ") == "85.0 %"
    assert page.locator("#record-evidence").inner_text() == digest
    shown = page.locator("#record-sentence").inner_text() + page.locator("#record").inner_text()
    assert org_name in shown and "eval1" not in shown and person not in shown
    proof = ev.context.request.get(served.url + (page.get_attribute("#proof-link", "href") or ""))
    assert proof.status == 200 and proof.json()["event_id"] == done[0]["event_id"]
    assert "eval1" not in proof.json()["event"] and person not in proof.json()["event"]
    page.screenshot(path=str(artifacts / "verification-public-signoff-zh.png"), full_page=True)

    # the credits milestone: survival (0.90 + 0.88) / 2 = 0.89 ≥ 0.85, 120 CSINK serials into the
    # owner's holding account; the serial block links to its public record
    ev.goto(f"/monitoring/milestones/{pid}/carbon")
    assert ev.page.locator("#value").get_attribute("data-value") == "0.89"
    assert ev.page.locator("#credits-preview").get_attribute("data-count") == "120"
    ev.page.fill("#signoff-form input[name=report_sha256]", "ab" * 32)
    ev.page.click("#signoff-form button[type=submit]")
    ev.page.wait_for_selector("#signed-notice")
    issued = ev.page.locator(".vp-just .vp-issued")
    assert issued.get_attribute("data-count") == "120"
    ev.page.screenshot(path=str(artifacts / "verification-credits-zh.png"), full_page=True)
    issued.locator("a.vp-verification-link").click()
    ev.page.wait_for_load_state("networkidle")
    assert ev.page.locator("#record-kind").get_attribute("data-kind") == "verify_outcome"
    assert ev.page.locator("#record-verification").inner_text() == f"MS:{pid}/carbon"
    assert "120" in ev.page.locator("#record-sentence").inner_text()
    ev.page.go_back()
    ev.page.wait_for_load_state("networkidle")
    ev.page.locator(".vp-just .vp-serials a").first.click()
    ev.page.wait_for_load_state("networkidle")
    assert ev.page.locator("#record-kind").get_attribute("data-kind") == "issue"
    assert "120" in ev.page.locator("#record").inner_text()

    # refusals in the page's language: the hazards milestone's readings are all in May 2025
    # (GNSS-1 0.1 mm/day stable, GNSS-2 1.0 mm/day not: value 1 / 2 = 0.5); the vegetation
    # milestone has no remote-sensing result at all: nothing to sign off
    ev.goto(f"/monitoring/milestones/{pid}/hazards")
    assert ev.page.locator("#value").get_attribute("data-value") == "0.5"
    ev.page.wait_for_selector("#vp-chart[data-state=drawn] canvas")
    ev.page.screenshot(path=str(artifacts / "verification-hazards-zh.png"), full_page=True)
    ev.goto(f"/monitoring/milestones/{pid}/vegetation")
    assert ev.page.locator("#no-evidence").count() == 1
    before = vs.counts(store)
    ev.page.fill("#signoff-form input[name=report_sha256]", "cd" * 32)
    ev.page.click("#signoff-form button[type=submit]")
    ev.page.wait_for_selector("#refusal")
    assert "没有证据" in ev.page.locator("#refusal").inner_text()
    assert vs.counts(store) == before

    # signed already: a form opened before another sign-off of the same milestone
    ev.goto(f"/monitoring/milestones/{pid}/hazards")
    token = ev.context.request.get(served.url + "/auth/session").json()["csrf_token"]
    r = ev.context.request.post(
        served.url + f"{API}/milestones/{pid}/hazards/sign-off",
        data={"decision": "accepted", "report_sha256": "ef" * 32},
        headers={"X-CSRF-Token": token},
    )
    assert r.status == 200, r.text()
    before = vs.counts(store)
    ev.page.fill("#signoff-form input[name=report_sha256]", "ef" * 32)
    ev.page.click("#signoff-form button[type=submit]")
    ev.page.wait_for_selector("#refusal")
    assert "已签署" in ev.page.locator("#refusal").inner_text()
    assert vs.counts(store) == before
    ev.page.screenshot(path=str(artifacts / "verification-refused-zh.png"), full_page=True)
    assert not [e for e in ev.errors if "GL Driver" not in e], ev.errors
    ev.context.close()


def test_others_read_the_pages_without_the_form(
    browser: Any, served: Any, artifacts: Path, project: dict[str, Any]
) -> None:
    pid = project["project"]
    nr = Tab(browser, served.url, served.password, locale="en")
    nr.sign_in("nr1")
    nr.goto(f"/monitoring/milestones/{pid}/soil")
    assert nr.page.locator("h1").inner_text().startswith("Evidence review")
    assert nr.page.locator("#signoff-form").count() == 0
    assert nr.page.locator("#evaluators-only").count() == 1
    nr.page.wait_for_selector("#vp-chart[data-state=drawn] canvas")
    nr.page.screenshot(path=str(artifacts / "verification-review-en.png"), full_page=True)
    # the form's route refuses a role without verification.write (a 403 page, nothing written)
    token = nr.context.request.get(served.url + "/auth/session").json()["csrf_token"]
    r = nr.context.request.post(
        served.url + f"/monitoring/milestones/{pid}/vegetation/sign-off",
        multipart={"decision": "accepted", "report_sha256": "ab" * 32, "csrf_token": token},
    )
    assert r.status == 403
    # without the CSRF token even an evaluator's post is refused
    ev = Tab(browser, served.url, served.password)
    ev.sign_in("eval1")
    r = ev.context.request.post(
        served.url + f"/monitoring/milestones/{pid}/vegetation/sign-off",
        multipart={"decision": "accepted", "report_sha256": "ab" * 32},
    )
    assert r.status == 403
    ev.context.close()

    # the project page's financing: the milestones and the tranche released, linked
    nr.goto(f"/projects/{pid}")
    fin = nr.page.locator("#financing")
    assert fin.locator("#project-milestones tbody tr").count() == 4
    tranche = fin.locator(".vp-releases tr[data-tranche=soil]")
    assert tranche.get_attribute("data-tier") == "partial"
    assert "93.75" in tranche.locator(".vp-fraction").inner_text()
    assert tranche.locator(".vp-amount").inner_text() == "11\u2009250\u2009000"
    nr.page.locator("#financing").screenshot(path=str(artifacts / "verification-project-en.png"))
    nr.page.click("#milestones-link")
    nr.page.wait_for_load_state("networkidle")
    assert nr.page.url.endswith(f"/projects/{pid}/milestones")
    assert nr.page.locator("#released-total").inner_text() == "11\u2009250\u2009000"
    nr.page.screenshot(path=str(artifacts / "verification-milestones-en.png"), full_page=True)
    assert not [e for e in nr.errors if "GL Driver" not in e], nr.errors
    nr.context.close()
