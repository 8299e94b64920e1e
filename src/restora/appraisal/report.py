"""The bank-grade report: HTML and PDF (WeasyPrint) from ``appraisal.json`` only.

Every figure printed is a value of the appraisal document, scaled to the report's unit and
rounded; each sits in ``<span class="n" data-scale="…" data-decimals="…">`` so that a reader
(or a test) can trace it back: printed value = round(JSON value × scale, decimals).
Chinese text is set in Noto Sans CJK, loaded with ``@font-face`` from the font file that
fontconfig finds (no web font, no network); WeasyPrint embeds the subset it uses.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path
from typing import Any

from restora.appraisal.charts import draw_all, money_scale
from restora.appraisal.fonts import CJK_FAMILY, font_face_src
from restora.appraisal.labels import label


class Fmt:
    """Number formatting of one report (language decides the money unit)."""

    def __init__(self, lang: str) -> None:
        self.lang = lang
        self.k = money_scale(lang)

    def num(
        self, v: Any, *, scale: float = 1.0, decimals: int = 0, suffix: str = "", sep: bool = True
    ) -> str:
        if v is None or (isinstance(v, float) and v != v):
            return "–"
        x = float(v) * scale
        text = f"{x:,.{decimals}f}" if sep else f"{x:.{decimals}f}"
        if text in ("-0", "-0.0", "-0.00") or (text.startswith("-0.") and float(text) == 0):
            text = text[1:]
        return (
            f'<span class="n" data-scale="{scale:g}" data-decimals="{decimals}">{text}</span>'
            f"{suffix}"
        )

    def money(self, v: Any) -> str:
        return self.num(v, scale=self.k, decimals=1 if self.lang == "zh" else 2)

    def pct(self, v: Any) -> str:
        return self.num(v, scale=100.0, decimals=1, suffix="%")

    def ratio(self, v: Any) -> str:
        return self.num(v, decimals=2)

    def area(self, v: Any) -> str:
        return self.num(v, decimals=2)


def _e(v: Any) -> str:
    return html.escape("" if v is None else str(v))


def _table(head: list[str], rows: list[list[str]], cls: str = "") -> str:
    h = "".join(f"<th>{c}</th>" for c in head)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    return f'<table class="{cls}"><thead><tr>{h}</tr></thead><tbody>{body}</tbody></table>'


def _img(charts: dict[str, Path], name: str, caption: str) -> str:
    p = charts.get(name)
    if p is None:
        return ""
    data = base64.b64encode(p.read_bytes()).decode()
    return (
        f'<figure><img src="data:image/png;base64,{data}" alt="{_e(caption)}"/>'
        f"<figcaption>{_e(caption)}</figcaption></figure>"
    )


def _na(section: dict[str, Any], lang: str) -> str:
    return f'<p class="na">{label("status_na", lang)} — {_e(section.get("reason"))}</p>'


def _css(font_file: str | None) -> str:
    face = f'@font-face {{ font-family: "{CJK_FAMILY}"; src: {font_file}; }}' if font_file else ""
    return f"""{face}
@page {{ size: A4; margin: 16mm 14mm 18mm 14mm;
  @bottom-center {{ content: counter(page) " / " counter(pages); font-size: 8pt;
    font-family: "{CJK_FAMILY}", sans-serif; }} }}
body {{ font-family: "{CJK_FAMILY}", sans-serif; font-size: 9pt; color: #111; }}
h1, h2, h3, th, b, strong {{ font-weight: normal; font-style: normal; }} h2, h3 {{ color: #123c5a; }}
h1 {{ font-size: 17pt; margin: 0 0 4pt 0; }} h2 {{ font-size: 12.5pt; border-bottom: 1px solid #888;
  margin-top: 14pt; page-break-after: avoid; }} h3 {{ font-size: 10pt; page-break-after: avoid; }}
table {{ border-collapse: collapse; width: 100%; margin: 4pt 0 8pt 0; font-size: 8pt; }}
th, td {{ border: 0.5px solid #aaa; padding: 2pt 3pt; text-align: left; vertical-align: top; }}
th {{ background: #eef2f5; }} td .n {{ white-space: nowrap; }}
figure {{ margin: 4pt 0; page-break-inside: avoid; }} img {{ width: 100%; }}
figcaption {{ font-size: 7.5pt; color: #444; }}
.na {{ color: #a33; }} .small {{ font-size: 7pt; color: #444; }}
.summary td:first-child {{ width: 45%; }} section {{ page-break-before: always; }}
section.first {{ page-break-before: avoid; }} .warn {{ color: #a33; }}
"""


def render_html(
    doc: dict[str, Any], lang: str, chart_dir: Path, font_file: str | None = None
) -> str:
    """The report as one self-contained HTML document (charts inlined as PNG data URIs)."""
    f = Fmt(lang)
    L = lambda key: label(key, lang)  # noqa: E731
    charts = draw_all(doc, lang, chart_dir)
    st = doc["stages"]
    p = doc["project"]
    mu = L("money_unit")
    parts: list[str] = []
    title = p["name"] if lang == "zh" else (p.get("name_en") or p["name"])
    parts.append(f"<h1>{_e(title)}</h1>")
    parts.append(
        f"<p>{L('title')} · {_e(p['project_id'])} · {L('mines')}: "
        + ", ".join(f"{_e(m)} {_e(p['mine_names'].get(m, ''))}" for m in p["mines"])
        + f"</p><p class='warn'>{L('fictional')}</p>"
    )
    # --- summary ---
    cost, cf, rsk, val = st["cost"], st["cashflow"], st["risk"], st["value"]
    rows = []
    for m in st["diagnosis"]["mines"]:
        rows.append(
            [
                f"{L('rank')} ({_e(m['mine_id'])})",
                f"{f.num(m['rank'])} / {f.num(m['n_mines_ranked'])}",
            ]
        )
    rows += [
        [f"{L('cost_total')} P50 [{mu}]", f.money(cost["total"]["p50_cny"])],
        [f"{L('cost_total')} P90 [{mu}]", f.money(cost["total"]["p90_cny"])],
        [f"{L('esv_before')} [{L('money_unit_yr')}]", f.money(val["esv"]["before_cny_per_yr"])],
        [f"{L('esv_after')} [{L('money_unit_yr')}]", f.money(val["esv"]["after_cny_per_yr"])],
        [f"{L('npv')} @ {f.pct(cf['discount_rate'])} [{mu}]", f.money(cf["npv_cny"])],
        [L("irr"), f.pct(cf["irr"])],
        [L("payback"), f.num(cf["payback_years"], decimals=1)],
    ]
    if rsk.get("status") == "assessed":
        rows += [
            [
                f"{L('npv')} P5 / P50 / P95 [{mu}]",
                " / ".join(f.money(rsk["summary"]["npv"][k]) for k in ("p5", "p50", "p95")),
            ],
            [L("p_npv_negative"), f.pct(rsk["summary"]["p_npv_negative"])],
        ]
    if st["modes"].get("status") == "assessed":
        for m in st["modes"]["mines"]:
            rows.append(
                [f"{L('primary_mode')} ({_e(m['mine_id'])})", _e(label(m["primary_mode"], lang))]
            )
    parts.append(
        f"<section class='first'><h2>{L('summary')}</h2>"
        + _table([L("item"), L("value_c")], rows, "summary")
    )
    if doc.get("not_assessed"):
        parts.append(
            f"<h3>{L('not_assessed')}</h3><ul>"
            + "".join(f"<li>{_e(k)}: {_e(v)}</li>" for k, v in doc["not_assessed"].items())
            + "</ul>"
        )
    if doc.get("notes"):
        parts.append(
            f"<h3>{L('notes')}</h3><ul>"
            + "".join(f"<li>{_e(n)}</li>" for n in doc["notes"])
            + "</ul>"
        )
    parts.append("</section>")
    # --- map and diagnosis ---
    d = st["diagnosis"]
    parts.append(f"<section><h2>{L('map')}</h2>" + _img(charts, "map", L("fig_map")))
    parts.append(f"<h2>{L('diagnosis')}</h2>")
    parts.append(
        _table(
            [
                L("mine"),
                L("rank"),
                L("score"),
                L("damage"),
                L("risk_c"),
                L("potential"),
                L("hazard_grade"),
                L("pollution_class"),
            ],
            [
                [
                    _e(m["mine_id"]),
                    f.num(m["rank"]),
                    f.ratio(m["score"]),
                    f.ratio(m["damage"]),
                    f.ratio(m["risk"]),
                    f.ratio(m["potential"]),
                    _e(m["hazard_grade"]),
                    _e(m["pollution_class"]),
                ]
                for m in d["mines"]
            ],
        )
    )
    parts.append(
        _table(
            [
                L("site"),
                L("kind"),
                L("area_hm2"),
                L("pollution_class"),
                L("best_use"),
                L("rule_codes"),
            ],
            [
                [
                    _e(s["site_id"]),
                    _e(s["kind"]),
                    f.area(s["area_hm2"]),
                    _e(s["pollution_class"]),
                    _e(s["best_use"]),
                    f"<span class='small'>{_e(', '.join(s['rule_codes']))}</span>",
                ]
                for s in d["sites"]
            ],
        )
    )
    if d["hazards"]:
        parts.append(f"<h3>{L('hazards')}</h3>")
        parts.append(
            _table(
                ["ID", L("kind"), L("scale"), L("threat"), L("grade")],
                [
                    [
                        _e(h["hazard_id"]),
                        _e(h["kind"]),
                        _e(h.get("scale")),
                        _e(h.get("threat")),
                        _e(h["grade"]),
                    ]
                    for h in d["hazards"]
                ],
            )
        )
    if d.get("sample_classes"):
        parts.append(
            f"<p>{L('samples')}: "
            + "; ".join(f"{_e(k)} {f.num(v)}" for k, v in d["sample_classes"].items())
            + "</p>"
        )
    parts.append(f"<h3>{L('zones')}</h3>")
    if d.get("zones"):
        parts.append(f"<p class='small'>{L('method')}: {_e(d.get('zoning_method'))}</p>")
        parts.append(
            _table(
                [
                    L("site"),
                    L("n_samples"),
                    L("zone"),
                    L("zone_class"),
                    L("area_hm2"),
                    L("governing_metal"),
                    L("max_index"),
                    L("method"),
                    L("techniques"),
                    L("rule_codes"),
                ],
                [
                    [
                        _e(zs["site_id"]),
                        f.num(zs["n_samples"]),
                        _e(z["zone_id"]),
                        _e(z["zone_class"]),
                        f.area(z["area_hm2"]),
                        _e(z["governing_metal"]),
                        f.ratio(z["governing_index"]),
                        _e(zs["method"]),
                        "<span class='small'>"
                        + _e(
                            ", ".join(
                                f"{t['code']} ({t['unit_cost_key']})" for t in z["techniques"]
                            )
                            or "–"
                        )
                        + "</span>",
                        f"<span class='small'>{_e(', '.join(z['rule_codes']))}</span>",
                    ]
                    for zs in d["zones"]
                    for z in zs["zones"]
                ],
            )
        )
    else:
        parts.append(f"<p>{L('zoning_none')}</p>")
    parts.append("</section>")
    # --- plan and cost ---
    plan = st["plan"]
    parts.append(f"<section><h2>{L('plan_cost')}</h2>")
    parts.append(
        _table(
            [L("site"), L("kind"), L("area_hm2"), L("after_use")],
            [
                [_e(s["site_id"]), _e(s["kind"]), f.area(s["area_hm2"]), _e(s["after_use"])]
                for pl in plan["plans"]
                for s in pl["sites"]
            ],
        )
    )
    parts.append(
        f"<p>{L('price_year')}: {_e(cost['price_year'])} · {L('draws')}: {f.num(cost['draws'])} · seed {_e(cost['seed'])}</p>"
    )
    phase_rows = [
        [_e(ph), f.money(v["deterministic_cny"]), f.money(v["p50_cny"]), f.money(v["p90_cny"])]
        for ph, v in cost["by_phase"].items()
        if v["deterministic_cny"] > 0
    ]
    phase_rows.append(
        [
            f"<b>{L('total')}</b>",
            f.money(cost["total"]["deterministic_cny"]),
            f.money(cost["total"]["p50_cny"]),
            f.money(cost["total"]["p90_cny"]),
        ]
    )
    parts.append(
        _table(
            [L("phase"), f"{L('deterministic')} [{mu}]", f"P50 [{mu}]", f"P90 [{mu}]"], phase_rows
        )
    )
    items = cost.get("by_item_top") or []
    if items:
        parts.append(f"<h3>{L('top_items')}</h3>")
        parts.append(
            _table(
                [
                    L("item"),
                    f"{L('deterministic')} [{mu}]",
                    f"P50 [{mu}]",
                    f"P90 [{mu}]",
                    L("unit_cost_basis"),
                ],
                [
                    [
                        _e(r["item"]),
                        f.money(r["deterministic_cny"]),
                        f.money(r["p50_cny"]),
                        f.money(r["p90_cny"]),
                        L("basis_published" if r.get("unit_cost_sourced") else "basis_judgement"),
                    ]
                    for r in items
                ],
            )
        )
    if cost.get("unsourced_items"):
        note = (
            _e(L("unsourced_note"))
            .replace("{share}", f.pct(cost["unsourced_direct_share"]))
            .replace("{items}", _e(", ".join(cost["unsourced_items"])))
        )
        parts.append(f"<p class='small unsourced'>{note}</p>")
    parts.append(_img(charts, "cost", L("fig_cost")) + "</section>")
    # --- value ---
    parts.append(f"<section><h2>{L('value')}</h2>")
    parts.append(
        f"<p class='small'>{_e(val['method'])}; {L('price_year')} {_e(val['price_year'])}</p>"
    )
    b, a = val["esv"]["by_service_before"], val["esv"]["by_service_after"]
    srv_rows = [[_e(s), f.money(b.get(s)), f.money(a[s])] for s in a]
    srv_rows.append(
        [
            f"<b>{L('total')}</b>",
            f.money(val["esv"]["before_cny_per_yr"]),
            f.money(val["esv"]["after_cny_per_yr"]),
        ]
    )
    parts.append(
        _table(
            [
                L("service"),
                f"{L('before')} [{L('money_unit_yr')}]",
                f"{L('after')} [{L('money_unit_yr')}]",
            ],
            srv_rows,
        )
    )
    parts.append(_img(charts, "esv", L("fig_esv")))
    g = val["gep"]
    parts.append(f"<h3>{L('gep')}</h3>")
    if g.get("status") == "assessed":
        ib, ia = g.get("by_indicator_before") or {}, g.get("by_indicator_after") or {}
        keys = list(dict.fromkeys([*ib, *ia]))
        parts.append(
            _table(
                [
                    L("indicator"),
                    f"{L('before')} [{L('money_unit_yr')}]",
                    f"{L('after')} [{L('money_unit_yr')}]",
                ],
                [[_e(k), f.money(ib.get(k)), f.money(ia.get(k))] for k in keys]
                + [
                    [
                        f"<b>{L('total')}</b>",
                        f.money(g["before_cny_per_yr"]),
                        f.money(g["after_cny_per_yr"]),
                    ]
                ],
            )
        )
    else:
        parts.append(_na(g, lang))
    parts.append("</section>")
    # --- value stages, location ---
    s2 = val["stages"]
    parts.append(f"<section><h2>{L('stages')}</h2>" + _img(charts, "stages", L("fig_stages")))
    parts.append(
        _table(
            [L("stage_year"), f"{L('value_per_yr')} [{L('money_unit_yr')}]", L("stage")],
            [
                [_e(r["year"]), f.money(r["value_cny_per_yr"]), _e(r["stage_code"])]
                for r in s2["years"]
            ],
        )
    )
    loc = val["location"]
    parts.append(f"<p class='small'>{_e(loc['method'])}</p>")
    parts.append(
        _table(
            [
                L("mine"),
                L("town_km"),
                L("road_km"),
                L("density"),
                L("unadjusted"),
                L("location_coefficient"),
                L("adjusted"),
            ],
            [
                [
                    _e(r["mine_id"]),
                    f.num(r["town_km"], decimals=2),
                    f.num(r["main_road_km"], decimals=2),
                    f.num(r["population_per_km2"], decimals=1),
                    f.money(r["value_unadjusted_cny_per_yr"]),
                    f.num(r["location_coefficient"], decimals=3),
                    f.money(r["value_adjusted_cny_per_yr"]),
                ]
                for r in loc["rows"]
            ],
        )
        + f"<p class='small'>[{L('money_unit_yr')}]</p></section>"
    )
    # --- revenue ---
    rv = st["revenue"]
    parts.append(f"<section><h2>{L('revenue')}</h2>")
    if rv.get("status") == "assessed":
        parts.append(
            _table(
                [
                    L("stream"),
                    L("kind"),
                    f"{L('total')} [{mu}]",
                    f"{L('low')} [{mu}]",
                    f"{L('high')} [{mu}]",
                    L("earmarked"),
                ],
                [
                    [
                        _e(s["name"]),
                        _e(s["kind"]),
                        f.money(s["total_revenue"]),
                        f.money(s["total_revenue_low"]),
                        f.money(s["total_revenue_high"]),
                        _e(s["earmark"] or ""),
                    ]
                    for s in rv["streams"]
                ],
            )
        )
        parts.append(_img(charts, "revenue", L("fig_revenue")))
        if rv.get("flags"):
            parts.append(
                f"<p class='small'>{L('flags')}: " + "; ".join(_e(x) for x in rv["flags"]) + "</p>"
            )
    else:
        parts.append(_na(rv, lang))
    parts.append("</section>")
    # --- cash flows ---
    parts.append(f"<section><h2>{L('cashflow')}</h2><p class='small'>{_e(cf['method'])}</p>")
    parts.append(_img(charts, "waterfall", L("fig_waterfall")))
    parts.append(
        _table(
            [
                L("year"),
                L("revenue_c"),
                L("opex"),
                L("capex"),
                L("net_flow"),
                L("cumulative"),
                L("earmarked"),
            ],
            [
                [
                    _e(r["year"]),
                    f.money(r["revenue_cny"]),
                    f.money(r["opex_cny"]),
                    f.money(r["capex_cny"]),
                    f.money(r["project_flow_cny"]),
                    f.money(r["cumulative_cny"]),
                    f.money(r["earmarked_cny"]),
                ]
                for r in cf["rows"]
            ],
        )
        + f"<p class='small'>[{mu}]</p></section>"
    )
    # --- financing ---
    fin = st["financing"]
    parts.append(f"<section><h2>{L('financing')}</h2>")
    if fin.get("status") == "assessed":
        for ins in fin["instruments"]:
            parts.append(f"<h3>{_e(ins['instrument'])}</h3>")
            srows = [
                [_e(k), _scalar(f, k, v)]
                for k, v in ins["summary"].items()
                if not isinstance(v, (dict, list)) or v == []
            ]
            parts.append(_table([L("item"), L("value_c")], srows))
            sched = ins.get("schedule") or []
            if sched:
                keys = [
                    k
                    for k in sched[0]
                    if all(isinstance(r.get(k), (int, float, type(None))) for r in sched)
                    and not all(isinstance(r.get(k), bool) for r in sched)
                ][:8]
                parts.append(
                    _table(
                        [_e(k) for k in keys],
                        [[_scalar(f, k, r.get(k)) for k in keys] for r in sched[:15]],
                    )
                )
            if ins["flags"]:
                parts.append(
                    "<p class='warn'>" + "<br/>".join(_e(x) for x in ins["flags"]) + "</p>"
                )
            parts.append(
                f"<p class='small'>{L('rule_codes')}: {_e(', '.join(ins['rule_codes']))}</p>"
            )
    else:
        parts.append(_na(fin, lang))
    parts.append("</section>")
    # --- risk ---
    parts.append(f"<section><h2>{L('risk')}</h2>")
    if rsk.get("status") == "assessed":
        sm = rsk["summary"]
        parts.append(_img(charts, "risk", L("fig_risk")))
        rrows = [[f"{L('npv')} {k.upper()} [{mu}]", f.money(v)] for k, v in sm["npv"].items()]
        rrows += [[f"{L('irr')} {k.upper()}", f.pct(v)] for k, v in sm["irr"].items()]
        rrows += [
            [L("p_npv_negative"), f.pct(sm["p_npv_negative"])],
            [L("p_irr_below_hurdle"), f.pct(sm["p_irr_below_hurdle"])],
        ]
        if "p_dscr_below_1" in sm:
            rrows.append(["P(DSCR < 1)", f.pct(sm["p_dscr_below_1"])])
        parts.append(_table([L("item"), L("value_c")], rrows))
        if rsk["drivers"]:
            parts.append(
                _table(
                    ["driver", "target", L("low"), "mode", L("high")],
                    [
                        [
                            _e(x["name"]),
                            _e(x["target"]),
                            f.ratio(x["low"]),
                            f.ratio(x["mode"]),
                            f.ratio(x["high"]),
                        ]
                        for x in rsk["drivers"]
                    ],
                )
            )
    else:
        parts.append(_na(rsk, lang))
    parts.append("</section>")
    # --- modes ---
    md = st["modes"]
    parts.append(f"<section><h2>{L('modes')}</h2>")
    if md.get("status") == "assessed":
        parts.append(_img(charts, "modes", L("fig_modes")))
        for m in md["mines"]:
            parts.append(f"<h3>{_e(m['mine_id'])}: {_e(label(m['primary_mode'], lang))}</h3>")
            parts.append(
                _table(
                    [L("mode"), L("score")],
                    [[_e(label(k, lang)), f.ratio(v)] for k, v in m["scores"].items()],
                )
            )
            parts.append(
                _table(
                    [L("rule_codes"), L("mode"), "", L("reasons")],
                    [
                        [_e(r["code"]), _e(label(r["mode"], lang)), _e(r["effect"]), _e(r["name"])]
                        for r in m["reasons"]
                    ],
                )
            )
        crit_rows = []
        for mode, ev in md["iad"].items():
            for c in ev["criteria"]:
                val_txt = (
                    f.num(c["value"], decimals=3)
                    if c["value"] is not None
                    else f"<span class='small'>{_e(c['reason'])}</span>"
                )
                crit_rows.append([_e(label(mode, lang)), _e(c["code"]), _e(c["name"]), val_txt])
        parts.append(
            "<h3>IAD</h3>"
            + _table([L("mode"), L("rule_codes"), L("criterion"), L("value_c")], crit_rows)
        )
        notes_fig = md.get("figure_notes") or {}
        if notes_fig:
            parts.append(
                "<p class='small'>"
                + "; ".join(f"{_e(k)}: {_e(v)}" for k, v in notes_fig.items())
                + "</p>"
            )
    else:
        parts.append(_na(md, lang))
    parts.append("</section>")
    # --- references ---
    parts.append(f"<section><h2>{L('references')}</h2>")
    parts.append(
        f"<p>{L('generated')} {_e(doc['restora_version'])} · {L('on')} {_e(doc['on'])} · schema {_e(doc['schema'])}</p>"
    )
    parts.append(
        _table(
            [L("table"), L("version"), L("source")],
            [
                [
                    _e(t.get("name")),
                    f"<span class='v'>{_e(t.get('version'))}</span>",
                    f"<span class='small'>{_e(t.get('source'))}</span>",
                ]
                for t in doc["reference_tables"]
            ],
        )
    )
    parts.append(
        f"<p><b>{L('rule_codes')}</b>: <span class='small'>{_e(', '.join(doc['rule_codes']))}</span></p>"
    )
    inp = doc["inputs"]
    irows = [
        [_e(x["file"]), f"<span class='small'>{_e(x['sha256'])}</span>"] for x in inp["county"]
    ]
    if inp.get("project"):
        irows.append(
            [
                _e(inp["project"]["file"]),
                f"<span class='small'>{_e(inp['project']['sha256'])}</span>",
            ]
        )
    irows += [
        [f"plan {_e(x['mine_id'])}", f"<span class='small'>{_e(x['plan_sha256'])}</span>"]
        for x in inp["plans"]
    ]
    parts.append(f"<h3>{L('inputs')}</h3>" + _table([L("file"), "SHA-256"], irows) + "</section>")
    return (
        f'<!DOCTYPE html><html lang="{"zh-CN" if lang == "zh" else "en"}"><head><meta charset="utf-8"/>'
        f"<title>{_e(title)}</title><style>{_css(font_file)}</style></head><body>"
        + "\n".join(parts)
        + "</body></html>"
    )


RATIO_KEYS = (
    "rate", "irr", "ltv", "share", "dscr", "llcr", "ratio", "coverage", "fraction", "coupon",
    "yield", "probability", "multiple",
)  # fmt: skip
MONEY_KEYS = (
    "amount", "principal", "interest", "payment", "cash", "value", "capacity", "cost", "revenue",
    "outstanding", "repaid", "forfeited", "service", "loss", "fund", "total", "price", "cny",
)  # fmt: skip


def _scalar(f: Fmt, key: str, v: Any) -> str:
    """A scalar of an instrument's summary or schedule, formatted by what its key names."""
    if isinstance(v, bool) or v is None or isinstance(v, str):
        return _e(v)
    if isinstance(v, list):
        return "–"
    if isinstance(v, (int, float)):
        k = key.lower()
        if any(t in k for t in RATIO_KEYS):
            return f.num(v, decimals=4)
        if any(t in k for t in MONEY_KEYS):
            return f.money(v) + f" {label('money_unit', f.lang)}"
        if isinstance(v, int):
            return f.num(v, sep="year" not in k)
        return f.num(v, decimals=3)
    return _e(v)


def write_report(
    doc: dict[str, Any], out_dir: Path, lang: str, *, pdf: bool = True
) -> dict[str, Path]:
    """Write ``report-<lang>.html`` (and ``report-<lang>.pdf``) into ``out_dir``.

    Returns
    -------
    dict
        ``{"html": path, "pdf": path}`` (pdf absent when ``pdf`` is false).
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    font = font_face_src()
    text = render_html(doc, lang, out_dir / "charts", font)
    paths = {"html": out_dir / f"report-{lang}.html"}
    paths["html"].write_text(text, encoding="utf-8")
    if pdf:
        import logging

        from weasyprint import HTML

        logging.getLogger("weasyprint").setLevel(logging.ERROR)
        logging.getLogger("fontTools").setLevel(logging.ERROR)
        paths["pdf"] = out_dir / f"report-{lang}.pdf"
        HTML(string=text, base_url=str(out_dir)).write_pdf(paths["pdf"])
    return paths
