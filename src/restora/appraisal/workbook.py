"""The appraisal's tables as a workbook (``appraisal.xlsx`` beside ``appraisal.json``).

One sheet per main table of ``appraisal.json`` (docs/cli.md, "The appraisal workbook"):

=================  ==================================================================
sheet              rows (from ``appraisal.json``)
=================  ==================================================================
summary            the headline figures (cost P50/P90, ESV, NPV, IRR, payback, risk)
ranking            ``stages.diagnosis.mines``: the project's mines in the county ranking
cost by phase      ``stages.cost.by_phase`` and the total (deterministic, P10 … P90)
cost by item       ``stages.cost.by_item_top``: the largest items with their unit costs
cash flows         ``stages.cashflow.rows``: revenue, opex, capex, CFADS, project flow
sources and uses   ``stages.financing.structure.sources_uses``: one column per year
waterfall          ``stages.financing.structure.waterfall.rows``: the cascade by year
covenants          ``stages.financing.structure.covenants``: each test, year by year
ESV by site        ``stages.value.esv.sites``: ESV before and after per site
=================  ==================================================================

A stage not assessed has no sheet (the summary names it). Headers are in the report's
language (``zh`` from the label catalogue :mod:`restora.labels`, the unit in brackets; ``en``
words with the unit, :func:`restora.cells.header`); codes (phases, site kinds, land uses …)
are shown by their label, ids as they are. Numbers are numbers at full precision, shown to
their unit's precision (:mod:`restora.cells`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from restora.cells import Sheet, header, split_unit, write_xlsx
from restora.labels import label, lookup

#: Units in Chinese headers.
ZH_UNITS = {
    "CNY": "元",
    "CNY/yr": "元/年",
    "CNY/hm²": "元/公顷",
    "CNY/t": "元/吨",
    "10⁴ CNY": "万元",
    "hm²": "公顷",
    "km²": "平方千米",
    "m²": "平方米",
    "mu": "亩",
    "km": "千米",
    "m": "米",
    "t": "吨",
    "yr": "年",
    "mg/kg": "mg/kg",
    "%": "%",
}
#: Chinese names of the workbook's columns that the label catalogue does not name, or names
#: as something else (``risk``: the report's section "风险分布", here the ranking's component).
ZH_COLUMNS = {
    "risk": "风险",
    "mine_id": "矿山编号",
    "site_id": "场地编号",
    "name": "名称",
    "period": "期数",
    "obligation": "债务",
    "damaged_area": "损毁面积",
    "damaged_area_weighted": "加权损毁面积",
    "hazard_level": "地灾危险性等级",
    "pollution_level": "土壤污染等级",
    "pollution_class_max": "土壤污染类别（最不利）",
    "distance_to_town": "距城镇距离",
    "distance_to_road": "距道路距离",
    "population_10km": "10千米内人口",
    "landscape_level": "景观价值等级",
    "n_mines_ranked": "参与排序矿山数",
    "deterministic": "确定性估算",
    "p10": "P10",
    "p50": "P50",
    "p80": "P80",
    "p90": "P90",
    "unit_cost_sourced": "单价有出处",
    "unit_cost_source": "单价出处",
    "unit_cost_region": "单价适用地区",
    "unit_cost_price_year": "单价价格年",
    "project_flow": "项目净现金流",
    "water": "有水体",
    "type_before": "修复前生态系统类型",
    "type_after": "修复后生态系统类型",
    "after_planned": "修复后用途已规划",
    "esv_before": "修复前生态系统服务价值",
    "esv_after": "修复后生态系统服务价值",
    "esv_change": "生态系统服务价值变化",
}
#: Label categories searched for a column's Chinese name, in order.
HEADER_CATEGORIES = ("report", "structure_key", "instrument_key", "su_item")
#: Columns whose values are codes of a label category (shown by their label).
CODE_COLUMNS = {
    "phase": "phase",
    "kind": "site_kind",
    "type_before": "ecosystem_type",
    "type_after": "ecosystem_type",
    "after_use": "after_use",
    "best_use": "after_use",
    "hazard_grade": "hazard_grade",
    "pollution_class": "pollution_class",
    "pollution_class_max": "pollution_class",
    "zone_class": "zone_class",
}
#: Sheet names by language.
SHEET_NAMES = {
    "summary": {"zh": "摘要", "en": "summary"},
    "ranking": {"zh": "修复优先序", "en": "ranking"},
    "cost_by_phase": {"zh": "分阶段成本", "en": "cost by phase"},
    "cost_by_item": {"zh": "分项成本", "en": "cost by item"},
    "cash_flows": {"zh": "现金流", "en": "cash flows"},
    "sources_uses": {"zh": "资金来源与运用", "en": "sources and uses"},
    "waterfall": {"zh": "现金流分配", "en": "waterfall"},
    "covenants": {"zh": "偿债覆盖率检验", "en": "covenants"},
    "esv_by_site": {"zh": "分场地生态系统服务价值", "en": "ESV by site"},
}


def column_header(key: str, lang: str) -> str:
    """A column header in ``lang`` with its unit: ``npv_cny`` → ``净现值 [元]`` / ``npv [CNY]``.

    Chinese names come from :data:`ZH_COLUMNS`, else the label catalogue (the whole key, else
    the key without its unit suffix); a key neither names keeps its English words.
    """
    if lang != "zh":
        return header(key)
    stem, unit = split_unit(key)
    for code in (key, stem):
        found = ZH_COLUMNS.get(code) or next(
            (n for c in HEADER_CATEGORIES if (n := lookup(code, "zh", c))), None
        )
        if found:
            if "[" in found or unit is None:
                return found
            return f"{found} [{ZH_UNITS.get(unit, unit)}]"
    return header(key)


def _labelled(rows: Sequence[Mapping[str, Any]], lang: str) -> list[dict[str, Any]]:
    out = []
    for r in rows:
        row = dict(r)
        for col, category in CODE_COLUMNS.items():
            v = row.get(col)
            if isinstance(v, str) and v:
                row[col] = label(v, lang, category)
        out.append(row)
    return out


def _sheet(key: str, rows: Sequence[Mapping[str, Any]], lang: str, **kw: Any) -> Sheet:
    rows = _labelled(rows, lang)
    cols = kw.pop("columns", None) or list(dict.fromkeys(k for r in rows for k in r))
    heads = {c: column_header(c, lang) for c in cols}
    heads.update(kw.pop("headers", {}))
    return Sheet(SHEET_NAMES[key][lang], rows, cols, headers=heads, **kw)


def _assessed(stage: Mapping[str, Any] | None) -> bool:
    return bool(stage) and stage.get("status") == "assessed"  # type: ignore[union-attr]


def _summary(doc: Mapping[str, Any], lang: str) -> Sheet:
    st, proj = doc["stages"], doc["project"]
    risk = st["risk"].get("summary", {}) if _assessed(st.get("risk")) else {}
    cost = st["cost"] if _assessed(st.get("cost")) else {}
    esv = st["value"].get("esv", {}) if _assessed(st.get("value")) else {}
    cf = st["cashflow"] if _assessed(st.get("cashflow")) else {}
    zh = lang == "zh"
    items: list[tuple[str, str, Any, str]] = [
        ("project", "项目", proj["project_id"], ""),
        ("name", "名称", proj.get("name"), ""),
        ("mines", "矿山", ", ".join(proj.get("mines", [])), ""),
        ("start year", "开始年份", proj.get("start_year"), ""),
        ("cost P50", "成本 P50", cost.get("total_p50_cny"), "CNY"),
        ("cost P90", "成本 P90", cost.get("total_p90_cny"), "CNY"),
        ("ESV before", "修复前生态系统服务价值", esv.get("before_cny_per_yr"), "CNY/yr"),
        ("ESV after", "修复后生态系统服务价值", esv.get("after_cny_per_yr"), "CNY/yr"),
        ("NPV", "净现值", cf.get("npv_cny"), "CNY"),
        ("IRR", "内部收益率", cf.get("irr"), "1/yr"),
        ("payback", "投资回收期", cf.get("payback_years"), "yr"),
        ("P(NPV < 0)", "净现值为负的概率", risk.get("p_npv_negative"), "1"),
    ]
    rows = [
        {
            "item": zh_name if zh else en_name,
            "value": round(v, 2) if isinstance(v, float) and unit.startswith("CNY") else v,
            "unit": ZH_UNITS.get(unit, unit) if zh else unit,
        }
        for en_name, zh_name, v, unit in items
    ]
    for stage, reason in doc.get("not_assessed", {}).items():
        name = label(stage, lang, "stage")
        rows.append({"item": ("未评估：" if zh else "not assessed: ") + name, "value": reason})
    heads = {"item": "项目" if zh else "item", "value": "数值" if zh else "value"}
    heads["unit"] = "单位" if zh else "unit"
    return Sheet(SHEET_NAMES["summary"][lang], rows, ["item", "value", "unit"], headers=heads)


def _sources_uses(su: Mapping[str, Any], lang: str) -> Sheet:
    years = list(su.get("years", []))
    unit = "元" if lang == "zh" else "CNY"
    rows = []
    for side in ("uses", "sources"):
        side_label = {"uses": ("资金运用", "use"), "sources": ("资金来源", "source")}[side]
        for r in su.get(side, []):
            row: dict[str, Any] = {
                "side": side_label[0] if lang == "zh" else side_label[1],
                "item": label(r.get("item", ""), lang, "su_item"),
                "detail": (r.get("phase") and label(r["phase"], lang, "phase"))
                or r.get("obligation")
                or r.get("stream"),
            }
            for y, v in zip(years, r.get("by_year_cny", []), strict=False):
                row[str(y)] = v
            row["total_cny"] = r.get("total_cny")
            rows.append(row)
    cols = ["side", "item", "detail", *(str(y) for y in years), "total_cny"]
    zh = lang == "zh"
    heads = {
        "side": "类别" if zh else "side",
        "item": "项目" if zh else "item",
        "detail": "明细" if zh else "detail",
        **{str(y): f"{y} [{unit}]" for y in years},
        "total_cny": f"{'合计' if zh else 'total'} [{unit}]",
    }
    precision = {**{str(y): 0 for y in years}, "total_cny": 0}
    return Sheet(SHEET_NAMES["sources_uses"][lang], rows, cols, headers=heads, precision=precision)


def _covenants(covenants: Sequence[Mapping[str, Any]], lang: str) -> Sheet:
    rows = []
    for c in covenants:
        for r in c.get("rows", []):
            rows.append(
                {
                    "obligation": c.get("obligation"),
                    "kind": label(c.get("kind", ""), lang, "covenant_kind"),
                    "threshold": c.get("threshold"),
                    **r,
                }
            )
    for r in rows:  # the phase of a period (construction, operation), not a cost phase
        if isinstance(r.get("phase"), str):
            r["phase"] = label(r["phase"], lang, "period_phase")
    return _sheet("covenants", rows, lang)


def appraisal_sheets(doc: Mapping[str, Any], lang: str = "en") -> list[Sheet]:
    """The sheets of an appraisal's workbook (see the module docstring), in ``lang``.

    Parameters
    ----------
    doc : dict
        ``appraisal.json`` (:func:`restora.appraisal.pipeline.appraise`).
    lang : {"zh", "en"}
        Language of the sheet names, headers and code labels.
    """
    st = doc["stages"]
    sheets = [_summary(doc, lang)]
    diag = st.get("diagnosis", {})
    if _assessed(diag) and diag.get("mines"):
        sheets.append(_sheet("ranking", diag["mines"], lang))
    cost = st.get("cost", {})
    if _assessed(cost):
        phases = [{"phase": k, **v} for k, v in cost.get("by_phase", {}).items()]
        total = {"phase": "合计" if lang == "zh" else "TOTAL", **cost.get("total", {})}
        sheets.append(_sheet("cost_by_phase", [*phases, total], lang))
        if cost.get("by_item_top"):
            items = [
                {**r, "item": label(r["item"], lang, "cost_item")} for r in cost["by_item_top"]
            ]
            sheets.append(_sheet("cost_by_item", items, lang))
    cf = st.get("cashflow", {})
    if _assessed(cf) and cf.get("rows"):
        sheets.append(_sheet("cash_flows", cf["rows"], lang))
    structure = st.get("financing", {}).get("structure", {})
    if _assessed(st.get("financing")) and _assessed(structure):
        if structure.get("sources_uses"):
            sheets.append(_sources_uses(structure["sources_uses"], lang))
        water = structure.get("waterfall", {}).get("rows", [])
        if water:
            sheets.append(_sheet("waterfall", water, lang))
        if structure.get("covenants"):
            sheets.append(_covenants(structure["covenants"], lang))
    value = st.get("value", {})
    if _assessed(value) and value.get("esv", {}).get("sites"):
        sheets.append(_sheet("esv_by_site", value["esv"]["sites"], lang))
    return sheets


def write_workbook(doc: Mapping[str, Any], path: str | Path, lang: str = "en") -> Path:
    """Write :func:`appraisal_sheets` of ``doc`` to ``path`` (``appraisal.xlsx``)."""
    return write_xlsx(path, appraisal_sheets(doc, lang))
