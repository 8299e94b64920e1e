"""The appraisal report (issue 11, items 8, 9, 12, 16): drawn from Jinja2 templates, the demo
banner only on fictional projects, no raw codes in either language, a layout a bank would sign.

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
def test_demo_reports_print_no_raw_codes(demo_docs, tmp_path, lang):
    """The three demo appraisals: every code through the catalogue, no snake_case token in the
    visible text outside the appendix (the old report printed tailings_pond, strict_control …)."""
    for doc in demo_docs:
        html, lab = _render(doc, lang, tmp_path)
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
    "bool", "stage", "method",
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
    heads = re.findall(r"<th[^>]*>(.*?)</th>", html.split('class="appendix"')[0], flags=re.S)
    money = [h for h in heads if "万元" in h]
    assert len(money) > 20
    assert any("2023 年不变价" in h or "年不变价" in h for h in money)
    # cash-flow columns in nominal money, each with its unit
    cf = html.split('id="cashflow"')[1].split("</section>")[0]
    assert "名义值" in cf and cf.count("[万元]") >= 6


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
