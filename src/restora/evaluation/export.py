"""Exports of the policy indicators for reports to higher authorities (docs/evaluation.md).

:func:`write_workbook` writes the indicator tables to one XLSX workbook — one sheet per table,
Chinese and English headers with the unit in brackets, and a sheet of sources (the selection,
the date, the reference tables and their versions, Restora's version) — and
:func:`write_charts` draws the charts (PNG and PDF): investment by kind of money per region,
the Lorenz curves of the disparity across regions, and the mode mix, with Chinese labels
(Noto Sans CJK through :mod:`restora.charts`).

Both take the JSON of :func:`restora.store.evaluation.evaluate` (the same document the CLI
prints and the API serves), so an export shows exactly the figures on screen.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from restora.cells import Sheet, write_xlsx
from restora.evaluation.indicators import CATEGORIES, MODES
from restora.labels import label

#: Bilingual headers (中文 / English [unit]) of the workbook's columns.
HEADERS: dict[str, str] = {
    "code": "代码 / code",
    "name_zh": "指标 / indicator (zh)",
    "name_en": "指标 / indicator (en)",
    "value": "数值 / value",
    "unit": "单位 / unit",
    "available": "可得 / available",
    "reason": "不可得原因 / why not available",
    "n": "依据数 / based on (n)",
    "definition": "定义 / definition",
    "inputs": "数据来源 / inputs",
    "project_id": "项目编号 / project",
    "name": "名称 / name",
    "region_code": "行政区划代码 / region code",
    "total_cny": "总投资 / total [CNY]",
    "public_cny": "财政资金 / public budgets [CNY]",
    "social_capital_cny": "社会资本 / social capital [CNY]",
    "enterprise_cny": "企业自有资金 / enterprises' own funds [CNY]",
    "project_revenue_cny": "项目自身收益 / project revenue [CNY]",
    "unattributed_cny": "未归类 / unattributed [CNY]",
    "rules": "归类规则 / rule codes",
    "projects": "项目数 / projects",
    "damaged_area_hm2": "损毁面积 / damaged area [hm²]",
    "project_area_hm2": "项目面积 / area under projects [hm²]",
    "restored_area_hm2": "已修复面积 / restored area [hm²]",
    "investment_cny": "总投资 / investment [CNY]",
    "social_capital_share": "社会资本占比 / social capital share [1]",
    "measure": "度量 / measure",
    "gini": "基尼系数 / Gini [1]",
    "theil": "泰尔指数 / Theil T [1]",
    "theil_within": "组内 / within [1]",
    "theil_between": "组间 / between [1]",
    "group": "组 / group",
    "mean": "均值 / mean",
    "share": "份额 / share [1]",
    "group_level": "分组层级 / groups",
    "mode": "模式 / mode",
    "stage": "阶段 / stage",
    "median_days": "中位天数 / median [d]",
    "max_days": "最长天数 / longest [d]",
    "median_step_days": "本阶段中位用时 / median step [d]",
    "slowest_step": "最慢环节 / slowest step",
    "unit_type": "类型 / unit type",
    "measure_unit": "计量单位 / measure",
    "issued": "签发 / issued",
    "retired": "注销(使用) / retired (used)",
    "traded": "交易 / traded",
    "traded_value_cny": "交易额 / value traded [CNY]",
    "mine_id": "矿山编号 / mine",
    "approved_m3": "核定量 / approved [m³]",
    "sold_m3": "出让量 / sold [m³]",
    "hauled_m3": "运出量 / hauled [m³]",
    "proceeds_cny": "收益 / proceeds [CNY]",
    "alerts": "合规预警 / alerts",
    "item": "项目 / item",
    "source": "来源 / source",
    "version": "版本 / version",
    "sha256": "SHA-256",
}
#: Chinese names of the kinds of money, the modes and the stages (charts and sheets).
CATEGORY_ZH = {
    "public": "财政资金",
    "social_capital": "社会资本",
    "enterprise": "企业自有资金",
    "project_revenue": "项目自身收益",
    "unattributed": "未归类",
}
STAGE_ZH = {
    "appraised": "完成评估",
    "listed": "入库发布",
    "financed": "落实融资",
    "first_signoff": "首个节点验收",
    "completed": "全部验收",
}
MEASURE_ZH = {
    "social_capital_cny": "社会资本投入",
    "restored_area_hm2": "已修复面积",
    "investment_cny": "总投资",
    "project_area_hm2": "项目面积",
}
_COLORS = {
    "public": "#4c72b0",
    "social_capital": "#dd8452",
    "enterprise": "#55a868",
    "project_revenue": "#8172b3",
    "unattributed": "#b0b0b0",
}


def mode_name(mode: str | None, lang: str = "zh") -> str:
    """A mode's name (restora.labels, category ``mode``); 未评估 / not appraised for None."""
    if mode is None:
        return "未评估" if lang == "zh" else "not appraised"
    return label(mode, lang, "mode")


def _sheet(name: str, rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> Sheet:
    return Sheet(name, rows, columns, headers={c: HEADERS.get(c, c) for c in columns})


def sheets(result: Mapping[str, Any]) -> list[Sheet]:
    """The workbook's sheets of an :func:`restora.store.evaluation.evaluate` result."""
    money = ["total_cny", *(f"{c}_cny" for c in CATEGORIES)]
    out = [
        _sheet(
            "指标 Indicators",
            result["indicators"],
            [
                "code",
                "name_zh",
                "name_en",
                "value",
                "unit",
                "available",
                "reason",
                "n",
                "definition",
                "inputs",
            ],
        ),
        _sheet(
            "投资来源 Investment",
            result.get("investment", []),
            ["project_id", "name", "region_code", *money, "rules"],
        ),
        _sheet(
            "地区 Regions",
            result.get("regions", []),
            [
                "region_code",
                "projects",
                "damaged_area_hm2",
                "project_area_hm2",
                "restored_area_hm2",
                "investment_cny",
                *(f"{c}_cny" for c in CATEGORIES),
                "social_capital_share",
            ],
        ),
    ]
    disp_rows, group_rows = [], []
    for measure, d in (result.get("disparity") or {}).items():
        disp_rows.append({"measure": measure, **{k: d.get(k) for k in _DISP_COLS[1:]}})
        for g in d.get("groups", []):
            group_rows.append({"measure": measure, **g})
    out += [
        _sheet("差异 Disparity", disp_rows, _DISP_COLS),
        _sheet("差异分组 Groups", group_rows, ["measure", "group", "n", "mean", "theil", "share"]),
        _sheet(
            "模式 Modes",
            [{**r, "name_zh": mode_name(r["mode"])} for r in result.get("modes", [])],
            ["mode", "name_zh", "projects", "share", "investment_cny", "social_capital_cny"],
        ),
        _sheet(
            "周期 Cycle",
            [{**r, "name_zh": STAGE_ZH.get(r["stage"])} for r in result.get("cycle", [])],
            [
                "stage",
                "name_zh",
                "projects",
                "median_days",
                "max_days",
                "median_step_days",
                "slowest_step",
            ],
        ),
        _sheet(
            "指标与碳汇 Units",
            [{**r, "measure_unit": r.get("measure")} for r in result.get("units", [])],
            [
                "unit_type",
                "measure_unit",
                "projects",
                "issued",
                "retired",
                "traded",
                "traded_value_cny",
            ],
        ),
        _sheet(
            "土石料 Earth-stone",
            result.get("earth_stone", []),
            ["mine_id", "approved_m3", "sold_m3", "hauled_m3", "proceeds_cny", "alerts"],
        ),
        _sheet(
            "来源 Sources", sources_rows(result), ["item", "value", "source", "version", "sha256"]
        ),
    ]
    return out


_DISP_COLS = ["measure", "n", "gini", "theil", "theil_within", "theil_between", "group_level"]


def sources_rows(result: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Where the figures come from: the selection, the date, Restora's version, the tables."""
    from restora import __version__

    rows: list[dict[str, Any]] = [
        {"item": "restora", "value": __version__},
        {"item": "on", "value": result.get("on")},
        {"item": "level", "value": result.get("level")},
    ]
    rows += [{"item": f"filter {k}", "value": v} for k, v in (result.get("filters") or {}).items()]
    rows.append({"item": "projects", "value": ", ".join(result.get("projects", []))})
    for t in result.get("tables", []):
        rows.append(
            {
                "item": f"table {t.get('name')}",
                "value": t.get("valid_from"),
                "source": t.get("source"),
                "version": t.get("version"),
                "sha256": t.get("sha256"),
            }
        )
    return rows


def write_workbook(result: Mapping[str, Any], path: str | Path) -> Path:
    """Write the indicator tables of ``result`` to an XLSX workbook; returns the path."""
    return write_xlsx(path, sheets(result))


# ------------------------------------------------------------------------------ charts
def write_charts(
    result: Mapping[str, Any], folder: str | Path, *, formats: Sequence[str] = ("png", "pdf")
) -> list[Path]:
    """Draw the investment, Lorenz and mode-mix charts of ``result`` into ``folder``.

    Returns the files written: ``investment-by-source.<fmt>``, ``lorenz.<fmt>`` and
    ``mode-mix.<fmt>`` for each format (PNG, PDF or SVG).
    """
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for fmt in formats:
        written.append(investment_chart(result, out / f"investment-by-source.{fmt}"))
        written.append(lorenz_chart(result, out / f"lorenz.{fmt}"))
        written.append(mode_chart(result, out / f"mode-mix.{fmt}"))
    return written


def investment_chart(result: Mapping[str, Any], path: str | Path) -> Path:
    """Stacked bars: each region's investment by kind of money [万元]."""
    from restora.charts import pyplot, save

    plt = pyplot(font_size=9)
    regions = result.get("regions", [])
    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    labels = [str(r["region_code"]) for r in regions]
    bottom = [0.0] * len(regions)
    for c in CATEGORIES:
        vals = [float(r.get(f"{c}_cny") or 0.0) / 1e4 for r in regions]
        if not any(vals):
            continue
        ax.bar(
            labels,
            vals,
            bottom=bottom,
            color=_COLORS[c],
            label=f"{CATEGORY_ZH[c]} {c.replace('_', ' ')}",
        )
        bottom = [b + v for b, v in zip(bottom, vals, strict=True)]
    ax.set_ylabel("投资 investment [万元 10⁴ CNY]")
    ax.set_xlabel("行政区 region")
    ax.set_title("各地区修复投资来源 Investment by source and region")
    if any(bottom):
        ax.legend(fontsize=8)
    else:
        ax.text(0.5, 0.5, "无投资数据 no investment data", ha="center", transform=ax.transAxes)
    return save(fig, path, dpi=130)


def lorenz_chart(result: Mapping[str, Any], path: str | Path) -> Path:
    """Lorenz curves of the measures of ``result["disparity"]`` with their Gini."""
    from restora.charts import pyplot, save

    plt = pyplot(font_size=9)
    fig, ax = plt.subplots(figsize=(5.2, 5.0))
    ax.plot([0, 1], [0, 1], color="#888888", lw=0.8, ls="--", label="绝对平均 equality")
    for measure, d in (result.get("disparity") or {}).items():
        curve = d.get("lorenz")
        if not curve:
            continue
        ax.plot(
            curve["population_share"],
            curve["value_share"],
            marker="o",
            ms=3,
            label=f"{MEASURE_ZH.get(measure, measure)} {measure} (Gini {d['gini']:.3f})",
        )
    level = result.get("level", "county")
    ax.set_xlabel(f"地区累计占比 cumulative share of regions ({level})")
    ax.set_ylabel("累计份额 cumulative share of the total")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_title("洛伦兹曲线 Lorenz curves")
    ax.legend(fontsize=7, loc="upper left")
    return save(fig, path, dpi=130)


def mode_chart(result: Mapping[str, Any], path: str | Path) -> Path:
    """Horizontal bars: projects by value-realization ("restoration +") mode."""
    from restora.charts import pyplot, save

    plt = pyplot(font_size=9)
    rows = [r for r in result.get("modes", []) if r["mode"] in MODES or r["projects"]]
    fig, ax = plt.subplots(figsize=(6.5, 3.2))
    names = [f"{mode_name(r['mode'])}\n{mode_name(r['mode'], 'en')}" for r in rows]
    ax.barh(names[::-1], [r["projects"] for r in rows][::-1], color="#4c72b0")
    ax.set_xlabel("项目数 projects")
    ax.set_title("“修复+”模式构成 Mode mix")
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    return save(fig, path, dpi=130)
