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
    assert doc["not_assessed"]["gep"].startswith("not assessed: ")
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
