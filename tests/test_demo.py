"""The main job: ``restora demo`` on the demo county, and the traceability of its report.

One demo run (the highest-priority mine only, ``--top 1``, Chinese report with PDF) is shared
by the tests of this module; the full three-project run is timed by benchmarks/demo.py.
"""

from __future__ import annotations

import bisect
import json
import math
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from restora.cli import app

DEMO = Path(__file__).resolve().parents[1] / "examples" / "demo-county"
ON = "2026-01-01"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("demo")
    res = CliRunner().invoke(
        app, ["demo", "--out", str(out), "--top", "1", "--on", ON, "--format", "json"]
    )
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    proj = data["projects"][0]
    doc = json.loads(Path(proj["appraisal"]).read_text(encoding="utf-8"))
    return {"out": out, "data": data, "project": proj, "doc": doc}


def test_demo_imports_into_a_new_store_and_summarises(demo):
    data = demo["data"]
    reg = data["register"]
    # examples/demo-county/README.md: 133 sites of 40 mines, 66 hazards
    assert (reg["mines"], reg["sites"], reg["hazards"]) == (40, 133, 66)
    assert sum(reg["by_mineral"].values()) == 40 and sum(reg["by_status"].values()) == 40
    from restora.store import Store

    with Store(f"sqlite:///{data['database']}") as store:
        counts = store.counts()
    assert counts["mines"] == 40 and counts["sites"] == 133 and counts["hazards"] == 66
    assert counts["samples"] == reg["samples"]


def test_top_ten_with_reasons(demo):
    top = demo["data"]["ranking_top10"]
    assert [r["rank"] for r in top] == list(range(1, 11))
    scores = [r["score"] for r in top]
    assert scores == sorted(scores, reverse=True)
    for r in top:
        assert r["reasons"][0].startswith("driven by ")
        lead = r["reasons"][0].split()[2]
        # the named driver is the largest weighted component
        assert r["contributions"][lead] == max(r["contributions"].values())
        assert any(c.startswith("HAZ") for c in r["rule_codes"]) or r["risk"] is not None


def test_project_outputs_exist(demo):
    p = demo["project"]
    assert p["mines"] == [demo["data"]["ranking_top10"][0]["mine_id"]]
    for path in (p["appraisal"], p["reports"]["html"], p["reports"]["pdf"]):
        assert Path(path).is_file() and Path(path).stat().st_size > 1000


def _json_numbers(obj: Any, out: list[float]) -> None:
    if isinstance(obj, bool) or obj is None:
        return
    if isinstance(obj, (int, float)):
        if math.isfinite(obj):
            out.append(float(obj))
    elif isinstance(obj, dict):
        for v in obj.values():
            _json_numbers(v, out)
    elif isinstance(obj, list):
        for v in obj:
            _json_numbers(v, out)


SPAN = re.compile(r'<span class="n" data-scale="([^"]+)" data-decimals="(\d+)">([^<]*)</span>')


def test_every_number_in_the_report_is_in_the_json(demo):
    html = Path(demo["project"]["reports"]["html"]).read_text(encoding="utf-8")
    values: list[float] = []
    _json_numbers(demo["doc"], values)
    values.sort()
    spans = SPAN.findall(html)
    assert len(spans) > 100
    missing = []
    for scale_s, dec_s, text in spans:
        if text == "–":
            continue
        printed = float(text.replace(",", ""))
        scale, dec = float(scale_s), int(dec_s)
        # printed = round(v * scale, dec)  ⇔  v within half a unit of the last digit
        half = 0.5 * 10.0**-dec / scale
        target = printed / scale
        lo = bisect.bisect_left(values, target - half * (1 + 1e-9) - 1e-12)
        if not (lo < len(values) and values[lo] <= target + half * (1 + 1e-9) + 1e-12):
            missing.append(text)
    assert not missing, f"numbers in the report not traceable to appraisal.json: {missing[:10]}"


def test_numeric_cells_are_traceable_figures(demo):
    html = Path(demo["project"]["reports"]["html"]).read_text(encoding="utf-8")
    cells = re.findall(r"<td>(.*?)</td>", html)
    number = re.compile(r"^-?[\d,]+(\.\d+)?%?$")
    bare = [c for c in cells if number.match(c.strip())]
    # site ids, years and codes are text; every computed figure sits in a span.n
    assert all(re.fullmatch(r"(19|20)\d\d", c) for c in bare), bare[:10]


def test_pdf_has_chinese_text_and_embedded_noto_cjk(demo):
    pdf = demo["project"]["reports"]["pdf"]
    assert shutil.which("pdftotext"), "poppler-utils missing: run scripts/system-deps.sh"
    text = subprocess.run(["pdftotext", pdf, "-"], capture_output=True, text=True, check=True)
    name = demo["doc"]["project"]["name"]
    flat = re.sub(r"\s+", "", text.stdout)
    assert "摘要" in flat and "诊断" in flat and "风险分布" in flat
    assert re.sub(r"\s+", "", name) in flat
    fonts = subprocess.run(["pdffonts", pdf], capture_output=True, text=True, check=True).stdout
    rows = [ln for ln in fonts.splitlines()[2:] if ln.strip()]
    cjk = [ln for ln in rows if "Noto" in ln and "CJK" in ln]
    assert cjk, fonts
    assert all(" yes " in ln.split("Identity-H", 1)[1] for ln in cjk)  # emb / sub / uni


def test_cash_flows_add_up(demo):
    cf = demo["doc"]["stages"]["cashflow"]
    r = cf["discount_rate"]
    npv = 0.0
    for t, row in enumerate(cf["rows"]):
        assert row["period"] == t
        flow = row["revenue_cny"] - row["opex_cny"] - row["capex_cny"]
        assert row["project_flow_cny"] == pytest.approx(flow, abs=1e-6)
        npv += flow / (1 + r) ** t  # NPV = Σ CF_t / (1 + r)^t, end-of-period flows
    assert cf["npv_cny"] == pytest.approx(npv, rel=1e-9)
    assert cf["rows"][-1]["cumulative_cny"] == pytest.approx(
        sum(x["project_flow_cny"] for x in cf["rows"])
    )
    if cf["irr"] is not None:
        at_irr = sum(x["project_flow_cny"] / (1 + cf["irr"]) ** t for t, x in enumerate(cf["rows"]))
        assert abs(at_irr) < 1e-3 * max(abs(x["project_flow_cny"]) for x in cf["rows"])


def test_capex_is_the_costed_plan(demo):
    doc = demo["doc"]
    start = doc["project"]["start_year"]
    end = start + doc["project"]["horizon_years"]
    by_year = doc["stages"]["cost"]["by_year"]
    within = sum(y["nominal_cny"] for y in by_year if start <= y["year"] <= end)
    assert doc["stages"]["cashflow"]["total_capex_cny"] == pytest.approx(within)


def test_esv_totals_agree_by_site_and_by_service(demo):
    esv = demo["doc"]["stages"]["value"]["esv"]
    sites_before = sum(s["esv_before_cny_per_yr"] for s in esv["sites"])
    sites_after = sum(s["esv_after_cny_per_yr"] for s in esv["sites"])
    assert esv["before_cny_per_yr"] == pytest.approx(sites_before)
    # two paths: per-site values vs ecosystem-type areas through the service table
    assert sum(esv["by_service_before"].values()) == pytest.approx(sites_before, rel=1e-9)
    assert sum(esv["by_service_after"].values()) == pytest.approx(sites_after, rel=1e-9)


def test_plan_follows_the_diagnosis_and_location_adjusts(demo):
    st = demo["doc"]["stages"]
    best = {s["site_id"]: s["best_use"] for s in st["diagnosis"]["sites"]}
    planned = {s["site_id"]: s["after_use"] for p in st["plan"]["plans"] for s in p["sites"]}
    assert planned == best
    for row in st["value"]["location"]["rows"]:
        assert row["value_adjusted_cny_per_yr"] == pytest.approx(
            row["value_unadjusted_cny_per_yr"] * row["location_coefficient"]
        )


def test_stages_say_what_was_not_assessed(demo):
    doc = demo["doc"]
    for name, stage in doc["stages"].items():
        assert stage["status"] in ("assessed", "not assessed"), name
        if stage["status"] == "not assessed":
            assert stage["reason"].startswith("not assessed: ")
    # QS-M09's project file gives GEP zones (illustrative) covering its sites
    gep = doc["stages"]["value"]["gep"]
    assert "gep" not in doc["not_assessed"] and gep["status"] == "assessed"
    assert gep["after_cny_per_yr"] > gep["before_cny_per_yr"] > 0
    assert doc["stages"]["risk"]["summary"]["scenarios"] == 10_000
    assert doc["inputs"]["project"]["sha256"] and len(doc["inputs"]["county"]) == 4


@pytest.fixture(scope="module")
def appraised_en(demo) -> dict[str, Any]:
    """QS-M28 (GEP zones, a performance bond, earmarked proceeds) from the demo's store, in English."""
    out = demo["out"] / "qs-m28-en"
    project = Path(__file__).resolve().parents[1] / "examples" / "demo-projects" / "QS-M28.yaml"
    res = CliRunner().invoke(
        app,
        [
            "appraise", str(project), "--db", f"sqlite:///{demo['data']['database']}",
            "--context", str(DEMO / "context.gpkg"), "--out", str(out), "--lang", "en",
            "--no-pdf", "--on", ON, "--format", "json",
        ],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    doc = json.loads(Path(data["appraisal"]).read_text(encoding="utf-8"))
    return {"data": data, "doc": doc, "html": Path(data["reports"]["html"])}


def test_english_report_from_the_store_is_traceable_too(appraised_en):
    doc = appraised_en["doc"]
    assert appraised_en["data"]["reports"]["pdf"] is None
    assert doc["stages"]["value"]["gep"]["status"] == "assessed"
    assert "gep" not in doc["not_assessed"]
    assert doc["stages"]["financing"]["instruments"][0]["instrument"] == "performance-bond"
    html = appraised_en["html"].read_text(encoding="utf-8")
    assert "million CNY" in html and "Risk distribution" in html
    values: list[float] = []
    _json_numbers(doc, values)
    values.sort()
    spans = SPAN.findall(html)
    for scale_s, dec_s, text in spans:
        if text == "–":
            continue
        scale, dec = float(scale_s), int(dec_s)
        target, half = float(text.replace(",", "")) / scale, 0.5 * 10.0**-dec / scale
        lo = bisect.bisect_left(values, target - half * (1 + 1e-9) - 1e-12)
        assert lo < len(values) and values[lo] <= target + half * (1 + 1e-9) + 1e-12, text


def test_earmarked_proceeds_stay_out_of_the_flows(appraised_en):
    st = appraised_en["doc"]["stages"]
    rev = st["revenue"]
    earmarked = sum(s["total_revenue"] for s in rev["streams"] if s["earmark"])
    assert earmarked > 0 and rev["total_earmarked_cny"] == pytest.approx(earmarked)
    rows = st["cashflow"]["rows"]
    assert sum(r["earmarked_cny"] for r in rows) == pytest.approx(earmarked)
    free = sum(s["total_revenue"] for s in rev["streams"] if not s["earmark"])
    assert sum(r["revenue_cny"] for r in rows) + st["cashflow"]["revenue_outside_horizon_cny"] == (
        pytest.approx(free)
    )


def test_zones_of_a_metal_mine_with_samples(appraised_en):
    """QS-M28: every site with samples is zoned; zones partition the site; techniques listed."""
    d = appraised_en["doc"]["stages"]["diagnosis"]
    zoned = {z["site_id"]: z for z in d["zones"]}
    # examples/demo-county/soil_samples.csv: QS-M28 samples lie in sites S2, S3 and S5
    assert set(zoned) == {"QS-M28-S2", "QS-M28-S3", "QS-M28-S5"}
    area = {s["site_id"]: s["area_hm2"] for s in d["sites"]}
    for sid, z in zoned.items():
        assert z["method"] == "idw" and z["n_samples"] >= 1 and z["zones"]
        # zones are clipped cells of the site: their areas add up to the site's (Albers) area,
        # which is the register's equal-area figure
        assert sum(x["area_hm2"] for x in z["zones"]) == pytest.approx(z["site_area_hm2"], rel=1e-6)
        assert z["site_area_hm2"] == pytest.approx(area[sid], rel=1e-3)
        for x in z["zones"]:
            assert x["zone_class"] in ("severe", "moderate", "mild", "clean")
            assert bool(x["techniques"]) == (x["zone_class"] != "clean")
            assert all(c in d["rule_codes"] for c in x["rule_codes"])
    classes = {x["zone_class"] for z in zoned.values() for x in z["zones"]}
    assert "severe" in classes  # the tailings-polluted paddy of S2 (Cd above intervention)


def test_pollution_works_are_planned_and_costed_from_the_zones(appraised_en):
    from restora import refdata
    from restora.costing.unitcosts import load_library

    st = appraised_en["doc"]["stages"]
    zones = {
        (z["site_id"], x["zone_id"]): x
        for z in st["diagnosis"]["zones"]
        for x in z["zones"]
        if x["techniques"]
    }
    assert zones
    works = [
        w
        for p in st["plan"]["plans"]
        for w in p["works"]
        if w["phase"] == "pollution" and (w["note"] or "").startswith("zone ")
    ]
    assert {(w["site_id"], w["note"].split()[1]) for w in works} == set(zones)
    cap = refdata.get("planning/site-works", on=ON).data["pollution_treatment_depth_m"]
    for w in works:
        z = zones[(w["site_id"], w["note"].split()[1])]
        code = w["note"].split()[-1]
        tech = next(t for t in z["techniques"] if t["code"] == code)
        assert w["item"] == tech["unit_cost_key"]
        assert f"PLAN-POLL-{code}" in st["plan"]["rule_codes"]
        # quantity: area [hm²] × 10⁴ m²/hm² (× treated depth [m] for volume-priced techniques)
        expect = z["area_hm2"] * 1e4
        if w["unit"].startswith("m3"):
            expect *= min(cap, tech["max_depth_m"])
        assert w["quantity"] == pytest.approx(expect, rel=1e-6)
    # the cost stage prices them: deterministic cost of an item = Σ quantity × likely unit cost
    lib = load_library(on=ON, region=appraised_en["doc"]["project"]["region_code"])
    top = {r["item"]: r for r in st["cost"]["by_item_top"]}
    all_works = [w for p in st["plan"]["plans"] for w in p["works"]]
    for item in {w["item"] for w in works} & set(top):
        qty = sum(w["quantity"] for w in all_works if w["item"] == item)
        assert top[item]["deterministic_cny"] == pytest.approx(qty * lib[item].likely, rel=1e-9)


def test_demo_lists_hazards_best_uses_and_zones(demo, appraised_en):
    from restora.cli.demo import _print_project, diagnosis_summary
    from restora.cli.output import Format, console

    item = demo["project"]
    assert {h["hazard_id"] for h in item["hazards"]} == {
        h["hazard_id"] for h in demo["doc"]["stages"]["diagnosis"]["hazards"]
    }
    assert {s["site_id"]: s["best_use"] for s in item["suitability"]} == {
        s["site_id"]: s["best_use"] for s in demo["doc"]["stages"]["diagnosis"]["sites"]
    }
    summary = diagnosis_summary(appraised_en["doc"])
    planned = [z for z in summary["zones"] if z["planned"] != "-"]
    assert planned and all(z["planned"].split(" → ")[0] in z["techniques"] for z in planned)
    width = console.width
    console.width = 240  # no wrapping inside the table cells
    try:
        with console.capture() as cap:
            _print_project({**appraised_en["data"], **summary, **_rest(item)}, Format.table)
    finally:
        console.width = width
    text = cap.get()
    assert "pollution gradient zones (idw) and techniques" in text and "best use per site" in text
    assert "geohazard danger grades" in text
    for z in summary["zones"]:
        assert f"{z['site_id']}/{z['zone_id']}" in text
        for t in z["techniques"].split():
            assert t in text
    # the planned technique is starred: QS-M28-S2's severe zone is treated by soil washing
    assert "TECH-SOIL-WASHING*" in text


def _rest(item: dict[str, Any]) -> dict[str, Any]:
    return {k: item[k] for k in ("sites", "gep", "stages", "location")}


def test_report_says_which_costs_rest_on_judgement(demo):
    cost = demo["doc"]["stages"]["cost"]
    assert 0 < cost["unsourced_direct_cny"] <= cost["direct_deterministic_cny"]
    assert cost["unsourced_direct_share"] == pytest.approx(
        cost["unsourced_direct_cny"] / cost["direct_deterministic_cny"]
    )
    for row in cost["by_item_top"]:
        assert row["unit_cost_sourced"] == (row["item"] not in cost["unsourced_items"])
    html = Path(demo["project"]["reports"]["html"]).read_text(encoding="utf-8")
    note = re.search(r'<p class="[^"]*\bunsourced">(.*?)</p>', html)
    assert note and "定额" in note.group(1)
    # the items by their Chinese names (the label catalogue), never their keys
    from restora.labels import label

    assert all(label(item, "zh", "cost_item") in note.group(1) for item in cost["unsourced_items"])
    assert not any(item in note.group(1) for item in cost["unsourced_items"] if "_" in item)
    assert "经验判断" in html and ("公开来源" in html) == any(
        r["unit_cost_sourced"] for r in cost["by_item_top"]
    )


def test_plan_make_follows_the_same_diagnosis_as_the_appraisal(demo, appraised_en):
    """`restora plan make` zones the mine's samples and plans as the appraisal does."""
    app_plan = appraised_en["doc"]["stages"]["plan"]["plans"][0]
    r = CliRunner().invoke(
        app,
        [
            "plan", "make", "QS-M28", "--db", f"sqlite:///{demo['data']['database']}",
            "--context", str(DEMO / "context.gpkg"),
            "--price-year", str(app_plan["price_year"]),
            "--start-year", str(app_plan["start_year"]),
            "--post-closure-years", str(app_plan["post_closure_years"]),
            "--on", ON, "--format", "json",
        ],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    after = {s["site_id"]: s["after_use"] for s in doc["sites"]}
    assert after == {s["site_id"]: s["after_use"] for s in app_plan["sites"]}
    works = sorted(
        (s["site_id"], w["item"], round(w["quantity"], 6), w["note"] or "")
        for s in doc["sites"]
        for w in s["works"]
    )
    expected = sorted(
        (w["site_id"], w["item"], round(w["quantity"], 6), w["note"] or "")
        for w in app_plan["works"]
        if w["site_id"]
    )
    assert works == expected
    # the pollution works of the zoned sites are there (S2's severe paddy among them)
    poll = {w[0] for w in works if w[3].startswith("zone ")}
    assert poll and poll <= {"QS-M28-S2", "QS-M28-S3", "QS-M28-S5"}
