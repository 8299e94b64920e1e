"""The appraisal report (issue 11, items 8-12, 16): drawn from Jinja2 templates, the demo
banner only on fictional projects, no raw codes in either language, the price year and basis of
every money figure, the combined financing structure (sources and uses, waterfall, covenants),
a layout a bank would sign.

The demo's three appraisals are made once for the module (``restora demo --top 3 --no-pdf``);
each test renders reports from those documents (or from a synthetic copy) without the pipeline.
"""

from __future__ import annotations

import copy
import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from restora import labels
from restora.appraisal import charts as report_charts
from restora.appraisal import report
from restora.appraisal.report import SECTIONS, Labeller, render_html
from restora.cli import app

ON = "2026-01-01"
SNAKE = re.compile(r"\b[a-z]+(?:_[a-z0-9]+)+\b")


@pytest.fixture(scope="module")
def demo_docs(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    out = tmp_path_factory.mktemp("demo3")
    res = CliRunner().invoke(
        app,
        ["demo", "--out", str(out), "--top", "3", "--no-pdf", "--on", ON, "--format", "json"],
    )
    assert res.exit_code == 0, res.output
    paths = [p["appraisal"] for p in json.loads(res.stdout)["projects"]]
    assert len(paths) == 3
    return [json.loads(Path(p).read_text(encoding="utf-8")) for p in paths]


@pytest.fixture(scope="module")
def demo_html(
    demo_docs: list[dict[str, Any]], tmp_path_factory: pytest.TempPathFactory
) -> dict[tuple[int, str], tuple[str, Labeller]]:
    """The three demo reports in both languages, rendered once: ``{(i, lang): (html, labeller)}``."""
    out = tmp_path_factory.mktemp("html")
    return {
        (i, lang): _render(doc, lang, out)
        for i, doc in enumerate(demo_docs)
        for lang in ("zh", "en")
    }


class _Visible(HTMLParser):
    """The text a reader sees: no style, no title, and (optionally) no appendix."""

    def __init__(self, skip_appendix: bool = True) -> None:
        super().__init__()
        self.stack: list[bool] = []
        self.skipping = 0
        self.text: list[str] = []
        self.skip_appendix = skip_appendix

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("img", "br", "meta", "col"):
            return
        classes = (dict(attrs).get("class") or "").split()
        skip = tag in ("style", "title") or (self.skip_appendix and "appendix" in classes)
        self.stack.append(skip)
        self.skipping += skip

    def handle_endtag(self, tag: str) -> None:
        if tag in ("img", "br", "meta", "col"):
            return
        if self.stack:
            self.skipping -= self.stack.pop()

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.text.append(data)


def visible(html: str, skip_appendix: bool = True) -> str:
    v = _Visible(skip_appendix)
    v.feed(html)
    return " ".join(v.text)


def _render(doc: dict[str, Any], lang: str, tmp_path: Path) -> tuple[str, Labeller]:
    lab = Labeller(lang)
    html = render_html(doc, lang, tmp_path / f"charts-{lang}", None, labeller=lab)
    return html, lab


# --- item 8: the demo banner ------------------------------------------------------------------

BANNERS = ("演示数据，全部虚构，不得用于决策", "Demo data, entirely fictional")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_banner_only_on_a_fictional_project(demo_docs, tmp_path, lang):
    """Fails on the old report, which printed the banner on every project."""
    doc = copy.deepcopy(demo_docs[0])
    banner = BANNERS[0] if lang == "zh" else BANNERS[1]
    doc["project"]["fictional"] = True
    html, _ = _render(doc, lang, tmp_path)
    assert banner in visible(html)  # the banner under the title
    assert re.search(r"@top-center \{ content: \"" + re.escape(banner), html)  # every page
    for value in (False, None):
        doc["project"]["fictional"] = value
        if value is None:
            del doc["project"]["fictional"]  # documents written before the key existed
        html, _ = _render(doc, lang, tmp_path)
        assert all(b not in html for b in BANNERS)
        assert "@top-center" not in html


# --- item 9: no raw codes ---------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_demo_reports_print_no_raw_codes(demo_docs, demo_html, lang):
    """The three demo appraisals: every code through the catalogue, no snake_case token in the
    visible text outside the appendix (the old report printed tailings_pond, strict_control …)."""
    for i, doc in enumerate(demo_docs):
        html, lab = demo_html[i, lang]
        assert not lab.missing, f"codes without a label: {sorted(lab.missing)}"
        body = visible(html)
        assert not SNAKE.findall(body), sorted(set(SNAKE.findall(body)))
        assert "not assessed" not in body or lang == "en"
        if lang == "zh":
            # the body reads as Chinese: Latin words are acronyms, units, ids or user names
            words = set(re.findall(r"\b[a-z]{4,}\b", body))
            names = " ".join(
                [s["name"] for s in doc["stages"]["revenue"].get("streams", [])]
                + [d["name"] for d in doc["stages"]["risk"].get("drivers", [])]
                + [
                    str(e.get(k))
                    for i in doc["stages"]["financing"].get("instruments", [])
                    for e in i["summary"].get("events", [])
                    for k in ("tranche", "tier")
                ]
            )
            assert {w for w in words if w not in names} == set(), words


# the categories the report prints, and how the synthetic document reaches every code of them
PRINTED = (
    "site_kind", "after_use", "phase", "pollution_class", "zone_class", "land_use",
    "zoning_method", "hazard_kind", "hazard_grade", "hazard_scale", "hazard_threat",
    "ecosystem_type", "esv_service", "gep_indicator", "cost_item", "indirect_cost",
    "value_stage", "stream_kind", "driver_target", "distribution", "mode", "mode_rule",
    "iad_criterion", "iad_figure", "instrument", "instrument_key", "bond_action", "ppp_phase",
    "bool", "stage", "method", "su_item", "payment_order", "covenant_kind", "covenant_test",
    "paid_from", "period_phase", "finance_rule", "structure_key",
)  # fmt: skip


def covering(doc: dict[str, Any]) -> dict[str, Any]:
    """A copy of an appraisal whose coded fields take every code of the printed categories."""
    cat = {c: list(labels.codes(c)) for c in labels.catalogue()}

    def cycle(name: str, i: int) -> str:
        return sorted(cat[name])[i % len(cat[name])]

    d = copy.deepcopy(doc)
    st = d["stages"]
    dg = st["diagnosis"]
    n = max(len(cat[c]) for c in ("site_kind", "after_use", "pollution_class"))
    site = dg["sites"][0]
    dg["sites"] = [
        {**site, "site_id": f"S{i}", "kind": cycle("site_kind", i),
         "best_use": cycle("after_use", i), "pollution_class": cycle("pollution_class", i)}
        for i in range(n)
    ]  # fmt: skip
    dg["mines"] = [
        {**dg["mines"][0], "hazard_grade": cycle("hazard_grade", i),
         "pollution_class": cycle("pollution_class", i)}
        for i in range(4)
    ]  # fmt: skip
    haz = dg["hazards"][0] if dg["hazards"] else {"hazard_id": "H", "mine_id": "M"}
    dg["hazards"] = [
        {**haz, "hazard_id": f"H{i}", "kind": cycle("hazard_kind", i),
         "scale": cycle("hazard_scale", i), "threat": cycle("hazard_threat", i),
         "grade": cycle("hazard_grade", i)}
        for i in range(5)
    ]  # fmt: skip
    dg["sample_classes"] = {c: 1 for c in cat["pollution_class"]}
    zs = dg["zones"][0]
    z = zs["zones"][0]
    dg["zones"] = [
        {**zs, "site_id": f"S{i}", "land": cycle("land_use", i),
         "method": cycle("zoning_method", i),
         "zones": [{**z, "zone_id": f"Z{j}", "zone_class": cycle("zone_class", j)} for j in range(4)]}
        for i in range(6)
    ]  # fmt: skip
    for pl in st["plan"]["plans"]:
        pl["sites"] = [
            {**pl["sites"][0], "site_id": f"S{i}", "kind": cycle("site_kind", i),
             "after_use": cycle("after_use", i)}
            for i in range(n)
        ]  # fmt: skip
    cost = st["cost"]
    phase = next(iter(cost["by_phase"].values()))
    cost["by_phase"] = {ph: phase for ph in cat["phase"]}
    cost["by_item_top"] = [{**cost["by_item_top"][0], "item": it} for it in cat["cost_item"]]
    cost["unsourced_items"] = list(cat["cost_item"])
    cost["indirect"] = [{**cost["indirect"][0], "code": c} for c in cat["indirect_cost"]]
    esv = st["value"]["esv"]
    types = sorted(cat["ecosystem_type"])
    esv["sites"] = [
        {**esv["sites"][0], "site_id": f"S{i}", "kind": cycle("site_kind", i),
         "type_before": types[i], "type_after": types[-1 - i]}
        for i in range(len(types))
    ]  # fmt: skip
    esv["by_service_before"] = {s: 1.0 for s in cat["esv_service"]}
    esv["by_service_after"] = {s: 2.0 for s in cat["esv_service"]}
    st["value"]["gep"] = {
        **st["value"]["gep"], "status": "assessed", "before_cny_per_yr": 1.0,
        "after_cny_per_yr": 2.0, "by_indicator_before": {k: 1.0 for k in cat["gep_indicator"]},
        "by_indicator_after": {k: 2.0 for k in cat["gep_indicator"]},
    }  # fmt: skip
    years = st["value"]["stages"]["years"]
    codes = [c for c in cat["value_stage"] if c.startswith("STAGE-")]
    for i, row in enumerate(years):
        row["stage_code"] = codes[i % len(codes)]
    rv = st["revenue"]
    stream = rv["streams"][0]
    rv["streams"] = [{**stream, "name": f"stream {k}", "kind": k} for k in cat["stream_kind"]]
    keys = cat["instrument_key"]
    summary = {k: 1.0 for k in keys if k not in ("events", "year", "phase", "action")}
    summary["covenants_met"] = True
    summary["dscr_breach_years"] = [1, 2]
    summary["means"] = {"lender": 1.0, "fund": 2.0}
    summary["events"] = [
        {"tranche": "soil", "year": 4, "indicator": "vegetation_cover", "value": 0.5,
         "tier": "met", "action": a, "principal_fraction": 1.0}
        for a in cat["bond_action"]
    ]  # fmt: skip
    schedule = [{**dict.fromkeys(sorted(keys)[:30], 1.0), "year": i + 1, "phase": p}
                for i, p in enumerate(sorted(cat["ppp_phase"]))]  # fmt: skip
    for row in schedule:
        row["dscr_breach"] = False
        row.pop("events", None)
        row.pop("action", None)
    st["financing"] = {
        "status": "assessed", "method": "m",
        "instruments": [
            {"instrument": name, "summary": summary, "schedule": schedule, "rule_codes": [],
             "flags": ["a flag"], "tables_used": []}
            for name in cat["instrument"]
        ],
    }  # fmt: skip
    st["financing"]["structure"] = synthetic_structure()
    st["financing"]["instruments"][0]["flags"] = [
        f"{code}: a flag" for code in sorted(cat["finance_rule"]) if "STRUCT" not in code
    ]
    st["risk"]["drivers"] = [
        {"name": f"driver {i}", "target": cycle("driver_target", i),
         "distribution": cycle("distribution", i), "low": 0.9, "mode": 1.0, "high": 1.1}
        for i in range(4)
    ]  # fmt: skip
    md = st["modes"]
    mine = md["mines"][0]
    mine["scores"] = {m: 0.5 for m in cat["mode"]}
    mine["sequence"] = list(cat["mode"])
    mine["reasons"] = [
        {**mine["reasons"][0], "code": c, "mode": cycle("mode", i)}
        for i, c in enumerate(cat["mode_rule"])
    ]
    crit = next(iter(md["iad"].values()))["criteria"][0]
    md["iad"] = {
        m: {**md["iad"].get(m, {}), "criteria": [{**crit, "code": c} for c in cat["iad_criterion"]]}
        for m in cat["mode"]
    }
    md["figure_notes"] = {k: "a note" for k in cat["iad_figure"]}
    d["not_assessed"] = {k: f"not assessed: {k} missing" for k in cat["stage"]}
    d["notes"] = ["a note on the inputs"]
    return d


def synthetic_structure() -> dict[str, Any]:
    """A combined financing structure (``stages.financing.structure``) whose coded fields take
    every code of the structure's categories and whose every optional column carries money."""
    cat = {c: sorted(labels.codes(c)) for c in labels.catalogue()}
    years = [2026, 2027]
    uses = [
        {"item": it, "by_year_cny": [1.0e6, 2.0e6], "total_cny": 3.0e6}
        for it in cat["su_item"]
        if it in ("interest_during_construction", "principal_during_construction", "fees",
                  "operating_deficit", "dsra_funding", "cash_at_completion")
    ]  # fmt: skip
    uses.insert(0, {"item": "lifecycle_cost", "phase": "pollution", "by_year_cny": [1.0e6, 0.0],
                    "total_cny": 1.0e6})  # fmt: skip
    uses[1].update(obligation="senior", instrument="pledge-loan")
    sources = [
        {"item": it, "by_year_cny": [2.0e6, 3.0e6], "total_cny": 5.0e6}
        for it in cat["su_item"]
        if it in ("loan_drawdown", "bond_proceeds", "special_bond_allocation",
                  "investor_payments", "operating_surplus", "sponsor_equity")
    ]  # fmt: skip
    sources.append({"item": "grant", "stream": "grant stream", "certain_cny": 0.0,
                    "contingent": [{"amount_cny": 2.0e6, "probability": 0.5}],
                    "by_year_cny": [0.0, 1.0e6], "total_cny": 1.0e6})  # fmt: skip
    by_year = [
        {"year": y, "period": i, "opening_cash_cny": 1.0e5 * i, "sources_cny": 4.0e6,
         "uses_cny": 4.0e6, "sponsor_equity_cny": 1.0e6, "carried_cash_cny": 1.0e5}
        for i, y in enumerate(years)
    ]  # fmt: skip
    keys = {*report.WATERFALL_IN, *report.WATERFALL_OUT}
    rows = [{**dict.fromkeys(sorted(keys), 1.5e5), "year": 2028 + i, "period": 2 + i,
             "dscr_total": 1.25} for i in range(3)]  # fmt: skip
    ob_keys = ("interest_due_cny", "principal_due_cny", "outcome_due_cny", "arrears_in_cny",
               "interest_paid_cny", "principal_paid_cny", "outcome_paid_cny",
               "investor_payment_cny", "principal_forfeited_cny", "arrears_end_cny")  # fmt: skip
    ob_rows = [
        {"year": 2027 + i, "period": 1 + i, "instrument_year": 1 + i, "paid_from": src,
         **dict.fromkeys(ob_keys, 2.0e5)}
        for i, src in enumerate(cat["paid_from"])
    ]  # fmt: skip
    cov_rows = [
        {"year": 2027 + i, "period": 1 + i, "instrument_year": 1 + i, "phase": ph,
         "cfads_cny": 3.0e5, "debt_service_cny": 2.0e5, "debt_service_ahead_cny": 1.0e5,
         "dscr": 1.5, "dscr_cumulative": 1.0, "below_covenant": i == 1}
        for i, ph in enumerate(cat["period_phase"])
    ]  # fmt: skip
    covenants = [
        {"obligation": "senior", "instrument": "pledge-loan", "kind": kind, "test": test,
         "threshold": 1.2, "rule_code": "FIN-PLEDGE-DSCR", "rows": cov_rows, "min_dscr": 1.0,
         "min_dscr_year": 2028, "average_dscr": 1.2, "min_dscr_operation": 1.0,
         "min_dscr_operation_year": 2028, "average_dscr_operation": 1.2,
         "llcr_at_drawdown": 1.3, "life_coverage": 1.4, "years_below": [2028],
         "construction_years_below": [], "meets": False}
        for kind, test in zip(cat["covenant_kind"], cat["covenant_test"], strict=True)
    ]  # fmt: skip
    obligations = [
        {"name": name, "instrument": ins, "rank": i + 1, "tier": tier, "term_years": 5,
         "proceeds_cny": 2.0e6, "proceeds_period": 0, "interest_cny": 3.0e5,
         "principal_cny": 2.0e6, "outcome_payments_cny": 1.0e5, "principal_forfeited_cny": 1.0e5,
         "fees_cny": 1.0e4, "reserve_months": 6.0, "secured_on": ["grant stream"],
         "covenant": {"kind": "min_dscr", "threshold": 1.2, "rule_code": "FIN-PLEDGE-DSCR"}}
        for i, (name, ins, tier) in enumerate(
            [("senior", "pledge-loan", "senior_debt"), ("bond", "performance-bond", "bonds")]
        )
    ]  # fmt: skip
    return {
        "status": "assessed", "method": "m", "money": "nominal CNY",
        "order_of_payment": ["cfads", "senior_debt", "dsra", "bonds", "benefit_sharing", "equity"],
        "construction": {"first_year": 2026, "last_year": 2027, "end_period": 1, "basis": "b"},
        "horizon_last_year": 2030, "obligations": obligations,
        "contingent_grants": [
            {"stream": "grant stream", "year": 2027, "period": 1, "amount_cny": 2.0e6,
             "probability": 0.5, "expected_cny": 1.0e6, "kind": "subsidy", "condition": "listed",
             "equity_if_not_paid_cny": 1.0e6}
        ],
        "sources_uses": {
            "years": years, "uses": uses, "sources": sources, "total_uses_cny": 1.9e7,
            "total_sources_cny": 1.9e7, "balanced": True, "sponsor_equity_cny": 5.0e6,
            "grants_cny": 1.0e6, "debt_cny": 1.0e7, "equity_share": 0.25,
            "cash_at_completion_cny": 3.0e6, "by_year": by_year,
        },
        "waterfall": {
            "rows": rows,
            "by_obligation": [
                {"name": o["name"], "instrument": o["instrument"], "rank": o["rank"],
                 "total_paid_cny": 1.0e6, "unpaid_at_end_cny": 1.0e5, "rows": ob_rows}
                for o in obligations
            ],
            "totals": {"cfads_cny": 1.0, "earmarked_cny": 1.0, "senior_debt_cny": 1.0,
                       "bonds_cny": 1.0, "village_cny": 1.0, "equity_cny": 1.0,
                       "unpaid_at_end_cny": 1.0e5},
        },
        "covenants": covenants,
        "equity": {"construction_cny": 5.0e6, "operating_injections_cny": 1.0e5,
                   "village_topups_cny": 0.0, "total_paid_in_cny": 5.1e6,
                   "distributions_cny": 2.0e6, "net_cny": -3.1e6, "injection_to_cure_cny": 1.0e5},
        "streams": [
            {"name": f"stream {k}", "kind": k, "earmark": "account" if k == "materials" else None,
             "to_sources_cny": 1.0, "to_cfads_cny": 2.0, "earmarked_cny": 3.0}
            for k in cat["stream_kind"]
        ],
        "not_combined": [{"instrument": "guarantee", "reason": "credit support"}],
        "flags": [f"{code}: a flag" for code in cat["finance_rule"] if "STRUCT" in code],
        "rule_codes": [c for c in cat["finance_rule"] if "STRUCT" in c],
    }  # fmt: skip


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_synthetic_document_with_every_code(demo_docs, tmp_path, lang):
    """Every code of every category the report prints has a label, and none leaks raw."""
    doc = next(d for d in demo_docs if d["stages"]["diagnosis"].get("zones"))
    html, lab = _render(covering(doc), lang, tmp_path)
    assert not lab.missing, sorted(lab.missing)
    for category in PRINTED:
        if category == "stage":  # the not-assessed list names the stages; all are there
            continue
        seen = {code for cat, code in lab.seen if cat == category}
        want = labels.codes(category)
        if category == "value_stage":  # the report names stages by rule code
            want = {c for c in want if c.startswith("STAGE-")}
        if category == "finance_rule" and lang == "en":  # en prints the flags' own text
            continue
        assert seen >= want, (category, sorted(want - seen))
    body = visible(html)
    assert not SNAKE.findall(body), sorted(set(SNAKE.findall(body)))


# --- item 12: layout --------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_no_map_says_why(demo_docs, tmp_path, lang):
    doc = copy.deepcopy(demo_docs[0])
    doc["map"] = None
    html, _ = _render(doc, lang, tmp_path)
    assert "context.gpkg" in visible(html)
    assert 'id="map"' in html and "<img" not in html.split('id="map"')[1].split("</section>")[0]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_location_fallback_is_stated_with_the_missing_inputs(demo_docs, tmp_path, lang):
    """Fails on the old report, which printed coefficient 1.000 without saying why."""
    doc = copy.deepcopy(demo_docs[0])
    row = doc["stages"]["value"]["location"]["rows"][0]
    html, _ = _render(doc, lang, tmp_path)
    assert ("区位系数取 1.0" if lang == "zh" else "falls back to 1.0") not in html
    row.update(town_km=None, main_road_km=None, population_per_km2=None, location_coefficient=1.0)
    html, _ = _render(doc, lang, tmp_path)
    text = visible(html)
    if lang == "zh":
        assert "区位系数取 1.0" in text
        assert all(w in text for w in ("距城镇距离", "距主干道距离", "人口密度"))
    else:
        assert "falls back to 1.0" in text
        assert all(w in text for w in ("nearest town", "main road", "population density"))
    row.update(town_km=3.0)  # one input present: the others are named as neutral
    html, _ = _render(doc, lang, tmp_path)
    assert ("区位系数取 1.0" if lang == "zh" else "falls back to 1.0") not in html
    assert ("该项取中性值" if lang == "zh" else "that term is neutral") in html


def test_number_columns_are_right_aligned(demo_docs, tmp_path):
    html, _ = _render(demo_docs[0], "zh", tmp_path)
    body = html.split('class="appendix"')[0]
    only_number = re.compile(r'^\s*<span class="n"[^>]*>[^<]*</span>(%|\s)*$')
    left = []
    for row in re.findall(r"<tr>(.*?)</tr>", body, flags=re.S):
        cells = re.findall(r"<td([^>]*)>(.*?)</td>", row, flags=re.S)
        for i, (attrs, content) in enumerate(cells):
            if i > 0 and only_number.match(content) and 'class="r"' not in attrs:
                left.append(content)
    assert not left, left[:5]


def test_money_headers_carry_their_unit_and_price_basis(demo_docs, tmp_path):
    html, _ = _render(demo_docs[0], "zh", tmp_path)
    body = [t for t in tables(html) if not t["appendix"]]
    heads = [c["text"] for t in body for c in t["head"]] + [t["caption"] for t in body]
    money = [h for h in heads if "万元" in h]
    assert len(money) > 20
    assert any("2023 年不变价" in h for h in money)
    # the cash-flow table in nominal money: its unit and basis head the table
    cf = html.split('id="cashflow"')[1].split("</section>")[0]
    assert "<caption>金额 [万元, 名义值（含价格上涨）]</caption>" in cf


def test_year_axes_print_whole_years(demo_docs, tmp_path, monkeypatch):
    """Fails on the old charts, whose year axes read 2027.5, 2032.5 …"""
    seen: dict[str, list[str]] = {}

    def keep(fig, path, dpi=110):
        fig.canvas.draw()
        seen[Path(path).stem] = [t.get_text() for t in fig.axes[0].get_xticklabels()]
        import matplotlib.pyplot as plt

        plt.close(fig)
        return Path(path)

    monkeypatch.setattr(report_charts, "save", keep)
    doc = next(d for d in demo_docs if d["stages"]["revenue"]["status"] == "assessed")
    report_charts.stages_chart(doc, "zh", tmp_path / "stages.png")
    report_charts.revenue_chart(doc, "zh", tmp_path / "revenue.png")
    assert set(seen) == {"stages", "revenue"}
    for name, ticks in seen.items():
        ticks = [t for t in ticks if t]
        assert ticks and all(re.fullmatch(r"\d{4}", t) for t in ticks), (name, ticks)


def test_sections_are_template_blocks_and_nothing_forces_a_page_break(demo_docs, tmp_path):
    html, _ = _render(demo_docs[0], "zh", tmp_path)
    for name in SECTIONS:
        assert f'id="{name}"' in html, name
    css = html.split("<style>")[1].split("</style>")[0]
    # only the appendix starts a new page; body sections flow on
    assert "page-break-before: always" not in css
    assert re.findall(r"break-before: page", css) == ["break-before: page"]
    assert "section.appendix { break-before: page; }" in css


@pytest.mark.slow
def test_no_near_empty_pages_in_the_pdf(demo_docs, tmp_path):
    """Every page of the body but its last is at least half full (the old report broke the page
    before every section: pages a third full)."""
    from weasyprint import HTML

    doc = demo_docs[0]
    html, _ = _render(doc, "zh", tmp_path)
    pages = HTML(string=html).render().pages
    assert len(pages) >= 6

    def bottom(box: Any) -> float:
        kids = list(getattr(box, "children", []) or [])
        own = box.position_y + box.margin_height() if hasattr(box, "margin_height") else 0.0
        return max([own if not kids else 0.0, *[bottom(k) for k in kids]])

    fills = []
    for page in pages:
        body = page._page_box.children[0]
        top = body.content_box_y()
        height = page.height - top - 18 / 25.4 * 96  # the bottom margin [px]
        fills.append((bottom(body) - top) / height)
    # the page that holds the appendix's start is where the body ends
    first_appendix = next(
        i for i, p in enumerate(pages) if _has_text(p._page_box, ("附录A", "附录 A"))
    )
    for i in range(first_appendix - 1):
        assert fills[i] > 0.5, (i + 1, [round(x, 2) for x in fills])


def _has_text(box: Any, needles: tuple[str, ...]) -> bool:
    text = getattr(box, "text", None)
    if isinstance(text, str) and any(n in text for n in needles):
        return True
    return any(_has_text(k, needles) for k in getattr(box, "children", []) or [])


# --- items 10 and 11: price basis, financing structure ----------------------------------------


class _Tables(HTMLParser):
    """Every table of a report: id, classes, caption, header cells and rows of cells; a cell has
    its attributes, text and the traceable figures (``span.n``) in it; ``appendix`` says whether
    the table sits in an appendix."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[dict[str, Any]] = []
        self.sections: list[bool] = []
        self.table: dict[str, Any] | None = None
        self.row: dict[str, Any] | None = None
        self.cell: dict[str, Any] | None = None
        self.span: dict[str, Any] | None = None
        self.in_caption = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "section":
            self.sections.append("appendix" in a.get("class", "").split())
        elif tag == "table":
            self.table = {"id": a.get("id"), "class": a.get("class", "").split(), "caption": "",
                          "head": [], "rows": [], "appendix": any(self.sections)}  # fmt: skip
        elif self.table is None:
            return
        elif tag == "caption":
            self.in_caption = True
        elif tag == "tr":
            self.row = {"attrs": a, "cells": []}
        elif tag in ("td", "th"):
            self.cell = {"tag": tag, "attrs": a, "text": "", "spans": []}
        elif tag == "span" and a.get("class") == "n":
            self.span = {"scale": float(a["data-scale"]), "decimals": int(a["data-decimals"]),
                         "text": ""}  # fmt: skip

    def handle_endtag(self, tag: str) -> None:
        if tag == "section" and self.sections:
            self.sections.pop()
        elif self.table is None:
            return
        elif tag == "caption":
            self.in_caption = False
        elif tag == "span" and self.span is not None and self.cell is not None:
            self.cell["spans"].append(self.span)
            self.span = None
        elif tag in ("td", "th") and self.cell is not None and self.row is not None:
            self.row["cells"].append(self.cell)
            self.cell = None
        elif tag == "tr" and self.row is not None:
            cells = self.row["cells"]
            if cells and all(c["tag"] == "th" for c in cells) and not self.table["rows"]:
                self.table["head"] = cells
            else:
                self.table["rows"].append(self.row)
            self.row = None
        elif tag == "table":
            self.tables.append(self.table)
            self.table = None

    def handle_data(self, data: str) -> None:
        if self.in_caption and self.table is not None:
            self.table["caption"] += data
        if self.cell is not None:
            self.cell["text"] += data
        if self.span is not None:
            self.span["text"] += data


def tables(html: str) -> list[dict[str, Any]]:
    t = _Tables()
    t.feed(html)
    return t.tables


def table(html: str, table_id: str) -> dict[str, Any]:
    found = [t for t in tables(html) if t["id"] == table_id]
    assert len(found) == 1, (table_id, len(found))
    return found[0]


def printed(value: float, scale: float, decimals: int) -> str:
    """How the report prints a JSON value (independently of report.Fmt)."""
    text = f"{value * scale:,.{decimals}f}"
    return text[1:] if text.startswith("-") and float(text.replace(",", "")) == 0 else text


BASIS_WORDS = {
    "zh": ("年不变价", "名义值", "来源价格"),
    "en": ("constant", "nominal", "source prices"),
}


def money_without_basis(html: str, lang: str) -> list[str]:
    """Money figures whose table says nowhere at what prices they are: neither the column's
    header, nor the row's first cell, nor the table's caption names a price basis."""
    scale = report.money_scale(lang)
    words = BASIS_WORDS[lang]
    bare = []
    for t in tables(html):
        head = [c["text"] for c in t["head"]]
        for row in t["rows"]:
            cells = row["cells"]
            for i, c in enumerate(cells):
                if not any(s["scale"] == scale for s in c["spans"]):
                    continue
                where = [t["caption"], cells[0]["text"] if i > 0 else "",
                         head[i] if i < len(head) else ""]  # fmt: skip
                if not any(w in x for x in where for w in words):
                    bare.append(
                        f"{t['id'] or t['class']}: {cells[0]['text'].strip()} / {c['text']}"
                    )
    return bare


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_money_table_states_its_price_basis(demo_docs, demo_html, lang):
    """Item 10: every money figure of the three demo reports (body and appendix D) sits under a
    header, a row label or a caption naming its basis (constant prices of a year, nominal, or
    the source's prices). Fails on the old report (risk, instruments, ESV headers said only
    [万元])."""
    for i in range(len(demo_docs)):
        html, _ = demo_html[i, lang]
        assert not money_without_basis(html, lang), money_without_basis(html, lang)[:8]
    # the check itself finds a money table that states no basis
    money = report.Fmt(lang).money(1.0e6)
    bad = f"<table><thead><tr><th>x</th><th>y [万元]</th></tr></thead><tbody><tr><td>a</td><td>{money}</td></tr></tbody></table>"
    assert money_without_basis(bad, lang)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_price_basis_comes_from_the_document(demo_docs, tmp_path, lang):
    """The basis printed is the one the JSON states: the cost price year, the value's
    price_basis (converted: both figures side by side; price_year null: the source's prices,
    not converted) and a stage's own price_basis over the nominal default."""
    doc = copy.deepcopy(demo_docs[0])
    st = doc["stages"]
    esv = st["value"]["esv"]
    # converted by the CPI (the reference table in force from 2026-12-07 states 2010 prices)
    pb = {"basis": "real", "price_year": 2023, "source_price_year": 2010, "cpi_factor": 1.25,
          "note": "ESV unit value of 2010 brought to 2023 prices by the CPI chain"}  # fmt: skip
    st["value"]["price_basis"] = pb
    for when in ("before", "after"):
        esv[f"{when}_source_prices_cny_per_yr"] = esv[f"{when}_cny_per_yr"] / 1.25
    html, _ = _render(doc, lang, tmp_path)
    sec = html.split('id="price_basis"')[1].split("</section>")[0]
    k = report.money_scale(lang)
    d = 1 if lang == "zh" else 2
    for key in ("before_source_prices_cny_per_yr", "before_cny_per_yr",
                "after_source_prices_cny_per_yr", "after_cny_per_yr"):  # fmt: skip
        assert f">{printed(esv[key], k, d)}<" in sec, key
    assert ">1.2500<" in sec
    value = html.split('id="value"')[1].split("</section>")[0]
    assert ("2023 年不变价" if lang == "zh" else "constant 2023 prices") in value
    # not converted: the older reference table states no price year
    st["cost"]["price_year"] = 2020
    st["value"]["price_basis"] = {**pb, "price_year": None, "cpi_factor": 1.0}
    st["cashflow"]["price_basis"] = {"basis": "real", "price_year": 2021}
    html, _ = _render(doc, lang, tmp_path)
    heads = " ".join(c["text"] for t in tables(html) for c in t["head"]) + " ".join(
        t["caption"] for t in tables(html)
    )
    cashflow = html.split('id="cashflow"')[1].split("</section>")[0]
    if lang == "zh":
        assert "2020 年不变价" in heads and "2023 年不变价" not in html.split('id="value"')[1]
        assert "来源价格（2010 年，未换算）" in heads
        assert "<caption>金额 [万元, 2021 年不变价]</caption>" in cashflow
        assert "未换算至成本价格年份" in visible(html)
    else:
        assert "constant 2020 prices" in heads
        assert "source prices of 2010, not converted" in heads
        assert "<caption>Amounts [million CNY, constant 2021 prices]</caption>" in cashflow
        assert "not converted to the cost price year" in visible(html)
    assert money_without_basis(html, lang) == []


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_value_path_by_year_with_the_establishment_note(demo_docs, demo_html, lang):
    """The ESV and GEP paths (value.esv.by_year, value.gep.by_year) at milestone years, each
    figure the JSON's value of that year, with the year each site's works finish."""
    i, doc = next(
        (i, d)
        for i, d in enumerate(demo_docs)
        if d["stages"]["value"]["gep"]["status"] == "assessed"
    )
    val = doc["stages"]["value"]
    html, _ = demo_html[i, lang]
    t = next(t for t in tables(html) if "path" in t["class"])
    years = [int(c["spans"][0]["text"]) for c in t["head"][1:-1]]
    assert years[0] == val["esv"]["by_year"][0]["year"] and len(years) >= 5
    assert max(val["establishment"]["works_end"].values()) in years
    for row, path in zip(t["rows"], (val["esv"]["by_year"], val["gep"]["by_year"]), strict=True):
        by_year = {r["year"]: r["value_cny_per_yr"] for r in path}
        for y, c in zip(years, row["cells"][1:], strict=False):
            s = c["spans"][0]
            assert s["text"] == printed(by_year[y], s["scale"], s["decimals"]), (y, s)
    site, end = next(iter(val["establishment"]["works_end"].items()))
    assert f"{site} {end}" in visible(html)


def _structure(doc: dict[str, Any]) -> dict[str, Any]:
    return doc["stages"]["financing"]["structure"]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_structure_sections_render_from_the_demo(demo_docs, demo_html, lang):
    """Item 11: each demo appraisal's report has the financing structure — sources and uses,
    the waterfall with each covenant, the obligations — and appendix D in full."""
    for i, doc in enumerate(demo_docs):
        html, lab = demo_html[i, lang]
        assert not lab.missing
        for needle in ('id="structure"', 'id="sources-uses"', 'id="waterfall"',
                       'id="appendix-structure"', 'id="waterfall-in"', 'id="waterfall-out"'):  # fmt: skip
            assert needle in html, needle
        s = _structure(doc)
        order = [labels.label(x, lang, "payment_order") for x in s["order_of_payment"]]
        assert " → ".join(order) in visible(html)
        if s["covenants"]:
            assert 'id="covenants"' in html


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_sources_equal_uses_as_printed(demo_docs, demo_html, lang):
    """The printed totals of sources and of uses are the same figure, each the total of the
    JSON, and each year's printed total is the sum of its printed items (to rounding)."""
    for i, doc in enumerate(demo_docs):
        su = _structure(doc)["sources_uses"]
        html, _ = demo_html[i, lang]
        t = table(html, "sources-uses")
        totals = {r["attrs"]["data-key"]: r for r in t["rows"] if "data-key" in r["attrs"]}
        uses, sources = totals["total_uses_cny"], totals["total_sources_cny"]

        def total(row: dict[str, Any]) -> str:
            return next(c for c in row["cells"] if c["attrs"].get("data-key") == "total")["text"]

        assert total(uses) == total(sources)
        s = uses["cells"][-1]["spans"][0]
        assert total(uses) == printed(su["total_uses_cny"], s["scale"], s["decimals"])
        # items between the group rows add up to each year's total
        rows = t["rows"]
        for group, tot in ((uses, "total_uses_cny"), (sources, "total_sources_cny")):
            end = rows.index(group)
            start = max(i for i, r in enumerate(rows[:end]) if "grp" in r["attrs"].get("class", ""))
            items = rows[start + 1 : end]
            for j in range(1, len(su["years"]) + 2):
                col = sum(float(r["cells"][j]["text"].replace(",", "")) for r in items)
                got = float(group["cells"][j]["text"].replace(",", ""))
                assert abs(col - got) <= 0.5 * 10 ** -s["decimals"] * (len(items) + 1), (tot, j)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_printed_waterfall_number_traces_to_its_json_cell(demo_docs, demo_html, lang):
    """Each figure of the waterfall (body and appendix D) is round(value × scale, decimals) of
    the JSON cell its row (year) and column (key) name; the covenant columns are the covenant's
    DSCR of that year."""
    for i, doc in enumerate(demo_docs):
        s = _structure(doc)
        rows = {r["year"]: r for r in s["waterfall"]["rows"]}
        html, _ = demo_html[i, lang]
        n = 0
        for tid in ("waterfall", "waterfall-in", "waterfall-out"):
            for row in table(html, tid)["rows"]:
                year = row["attrs"].get("data-year")
                for c in row["cells"]:
                    key = c["attrs"].get("data-key")
                    if year is None or key is None or not c["spans"]:
                        continue
                    if key.startswith("covenant-"):
                        i = int(key.split("-")[1]) - 1
                        cov = {r["year"]: r for r in s["covenants"][i]["rows"]}
                        value = cov[int(year)]["dscr"]
                    else:
                        value = rows[int(year)][key]
                    sp = c["spans"][0]
                    assert sp["text"] == printed(value, sp["scale"], sp["decimals"]), (
                        tid, year, key, sp)  # fmt: skip
                    n += 1
        assert n > 3 * len(rows)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_covenant_breach_years_appear_in_the_covenant_table(demo_docs, tmp_path, lang):
    """Every year below a covenant tested every year reads as a breach in that covenant's column
    of the waterfall (construction years included), every other year of its term as met, and the
    summary lists the years below; a breach added to the JSON shows in its year."""
    breach, met = ("未达标", "达标") if lang == "zh" else ("breach", "met")
    doc = copy.deepcopy(next(d for d in demo_docs if _structure(d)["covenants"]))
    cov = _structure(doc)["covenants"][0]
    assert cov["test"] == "every_year" and cov["years_below"]
    last = cov["rows"][-1]
    last["below_covenant"] = True  # a breach in the last year of the term
    cov["years_below"] = [*cov["years_below"], last["year"]]
    html, _ = _render(doc, lang, tmp_path)
    results = {
        int(r["attrs"]["data-year"]): c["text"].strip()
        for r in table(html, "waterfall")["rows"]
        if "data-year" in r["attrs"]
        for c in r["cells"]
        if c["attrs"].get("data-key") == "covenant-1-result"
    }
    for r in cov["rows"]:
        assert results[r["year"]] == (breach if r["below_covenant"] else met), r["year"]
    assert results[last["year"]] == breach
    summary = table(html, "covenants")["rows"][0]["cells"]
    for y in cov["years_below"]:
        assert str(y) in summary[7]["text"]


def test_flags_print_through_their_rule_codes_in_chinese(demo_docs, demo_html):
    """The structure's and the instruments' flags read in Chinese by their rule codes, the
    English text cited to appendix B (fails on the old report: "本节有 n 条计算提示")."""
    i, doc = next(
        (i, d) for i, d in enumerate(demo_docs) if "FIN-STRUCT-DSCR" in _structure(d)["rule_codes"]
    )
    html, _ = demo_html[i, "zh"]
    body = visible(html)
    for code in ("FIN-STRUCT-DSCR", "FIN-STRUCT-ARREARS", "FIN-STRUCT-CURE", "FIN-PLEDGE-DSCR"):
        assert labels.label(code, "zh", "finance_rule") in body, code
    assert "FIN-STRUCT" not in body and "DSCR below" not in body
    notes = html.split('id="appendix-notes"')[1].split("</section>")[0]
    for flag in _structure(doc)["flags"]:
        assert str(escape_html(flag)) in notes


def escape_html(text: str) -> str:
    from markupsafe import escape

    return str(escape(text))


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_no_structure_says_so(demo_docs, tmp_path, lang):
    doc = copy.deepcopy(demo_docs[0])
    del doc["stages"]["financing"]["structure"]
    html, lab = _render(doc, lang, tmp_path)
    sec = html.split('id="structure"')[1].split("</section>")[0]
    assert labels.label("structure_none", lang, "report") in sec
    assert 'id="appendix-structure"' not in html and not lab.missing


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_price_years_of_stages_not_assessed(demo_docs, tmp_path, lang):
    """A stage not assessed has no price basis to state: the price-years section says so and the
    report still renders (the old summary failed on a value or cash-flow stage not assessed)."""
    doc = copy.deepcopy(demo_docs[0])
    for k in ("value", "revenue", "cashflow", "financing", "risk"):
        doc["stages"][k] = {"status": "not assessed", "reason": f"not assessed: no {k} inputs"}
    html, lab = _render(doc, lang, tmp_path)
    assert not lab.missing
    rows = [r["cells"] for r in tables(html.split('id="price_basis"')[1])[0]["rows"]]
    na = labels.label("status_na", lang, "report")
    assert [c[1]["text"] for c in rows[1:]] == [na] * 5
    assert "年不变价" in rows[0][1]["text"] or "constant" in rows[0][1]["text"]
    assert money_without_basis(html, lang) == []


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_indeterminate_samples_say_what_to_re_analyse(demo_docs, tmp_path, lang):
    """stages.diagnosis.indeterminate_samples: each open result with its re-analysis advice in
    the report's language (As <70 on paddy at pH 5: screening 30, intervention 200)."""
    doc = copy.deepcopy(demo_docs[0])
    doc["stages"]["diagnosis"]["indeterminate_samples"] = [
        {
            "sample_id": "S-AS-70",
            "mine_id": doc["project"]["mines"][0],
            "site_id": None,
            "class_range": ["priority_protection", "safe_utilization"],
            "metals": ["As"],
            "results": [
                {"metal": "As", "detection_limit_mg_kg": 70.0, "screening_mg_kg": 30.0,
                 "intervention_mg_kg": 200.0, "class_range": ["priority_protection",
                 "safe_utilization"], "rule_code": "SOIL-CENSORED-DL-ABOVE-SV"}
            ],
            "rule_codes": ["SOIL-CENSORED-DL-ABOVE-SV"],
            "messages": ["As: the detection limit 70 mg/kg exceeds the screening value 30 mg/kg"],
        }
    ]  # fmt: skip
    html, lab = _render(doc, lang, tmp_path)
    text = visible(html)
    assert "S-AS-70" in text
    want = "需以检出限低于" if lang == "zh" else "re-analyse with a method whose limit is below"
    assert want in text and ">70" in html and ">30" in html
    assert not lab.missing


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_sites_without_boundary_are_named_under_the_map(demo_docs, tmp_path, lang):
    doc = copy.deepcopy(demo_docs[0])
    if not doc.get("map"):
        pytest.fail("the demo document has a map")
    doc["map"]["sites_without_boundary"] = ["X-1"]
    html, lab = _render(doc, lang, tmp_path)
    want = "无边界" if lang == "zh" else "without a boundary"
    assert want in visible(html) and "X-1" in visible(html) and not lab.missing
