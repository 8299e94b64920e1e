"""The report's charts, drawn with matplotlib from ``appraisal.json`` only.

Every function takes the appraisal document (a dict as written to ``appraisal.json``), the
language and an output path, writes a PNG and returns the path, or returns None when the
stage it shows was not assessed. Money is drawn in the report's unit (10⁴ CNY in Chinese,
10⁶ CNY in English).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from restora.charts import integer_years, pyplot, save
from restora.labels import label as _label


def label(key: str, lang: str, category: str = "report") -> str:
    """A label of the catalogue (the report's phrases by default)."""
    return _label(key, lang, category)


KIND_COLOURS = {
    "open_pit": "#8c564b",
    "waste_rock_dump": "#7f7f7f",
    "tailings_pond": "#d62728",
    "subsidence_area": "#1f77b4",
    "industrial_yard": "#ff7f0e",
    "road": "#2ca02c",
}
DPI = 110


def money_scale(lang: str) -> float:
    """Report money unit per CNY: 10⁻⁴ (万元) in Chinese, 10⁻⁶ (million CNY) in English."""
    return 1e-4 if lang == "zh" else 1e-6


def _plt() -> Any:
    return pyplot(font_size=8)


def _save(fig: Any, path: Path) -> Path:
    return save(fig, path, dpi=DPI)


def _rings(geom: dict[str, Any]) -> list[np.ndarray]:
    t = geom.get("type")
    coords = geom.get("coordinates") or []
    if t == "Polygon":
        return [np.asarray(r) for r in coords]
    if t == "MultiPolygon":
        return [np.asarray(r) for poly in coords for r in poly]
    return []


def map_chart(doc: dict[str, Any], lang: str, path: Path) -> Path | None:
    """Project sites (by kind), other mines, the county boundary and towns (projected)."""
    m = doc.get("map")
    if not m:
        return None
    plt = _plt()
    from matplotlib.ticker import FuncFormatter

    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(7.2, 3.6))
    if m.get("county_boundary"):
        for r in _rings(m["county_boundary"]):
            ax0.plot(r[:, 0], r[:, 1], color="black", lw=0.8)
    for t in m.get("towns", []):
        ax0.plot(t["x"], t["y"], "s", color="#444", ms=3)
        ax0.annotate(
            t["name"], (t["x"], t["y"]), fontsize=6, xytext=(2, 2), textcoords="offset points"
        )
    if m.get("other_mines"):
        ax0.plot(
            [o["x"] for o in m["other_mines"]],
            [o["y"] for o in m["other_mines"]],
            ".",
            color="#bbb",
            ms=4,
        )
    seen: set[str] = set()
    for ax in (ax0, ax1):
        for s in m["sites"]:
            colour = KIND_COLOURS.get(s["kind"], "#9467bd")
            if s["geometry"].get("type") == "Point":  # no boundary: a hollow marker
                x, y = s["geometry"]["coordinates"][:2]
                ax.plot(x, y, "o", mfc="none", mec=colour, ms=5, mew=1.0)
            for r in _rings(s["geometry"]):
                first = ax is ax1 and s["kind"] not in seen
                lab = label(s["kind"], lang, "site_kind") if first else None
                ax.fill(r[:, 0], r[:, 1], color=colour, alpha=0.8, lw=0.3, label=lab)
                if first:
                    seen.add(s["kind"])
        ax.set_aspect("equal")
        ax.tick_params(labelsize=6)
        for axis in (ax.xaxis, ax.yaxis):  # projected metres, printed as km
            axis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v / 1000:.0f}"))
        ax.set_xlabel("km", fontsize=6)
    ax1.legend(fontsize=6, loc="best")
    ax0.set_title(f"{label('map', lang)} ({m['crs']})", fontsize=8)
    ax1.set_title(", ".join(doc["project"]["mines"]), fontsize=8)
    return _save(fig, path)


def cost_chart(doc: dict[str, Any], lang: str, path: Path) -> Path | None:
    """Histogram of the simulated life-cycle cost with P50 and P90."""
    c = doc["stages"]["cost"]
    if c.get("status") != "assessed":
        return None
    plt = _plt()
    k = money_scale(lang)
    edges = np.asarray(c["histogram"]["edges_cny"]) * k
    counts = np.asarray(c["histogram"]["counts"])
    fig, ax = plt.subplots(figsize=(6, 2.3))
    ax.bar(edges[:-1], counts, width=np.diff(edges), align="edge", color="#7aa6c2")
    for key, style in (("p50_cny", "-"), ("p90_cny", "--")):
        ax.axvline(c["total"][key] * k, color="black", ls=style, lw=1, label=key[:3].upper())
    ax.set_ylabel(label("draws", lang))
    ax.axvline(
        c["total"]["deterministic_cny"] * k,
        color="#d62728",
        lw=1,
        label=label("deterministic", lang),
    )
    ax.set_xlabel(f"{label('cost_total', lang)} [{label('money_unit', lang)}]")
    ax.legend(fontsize=7)
    return _save(fig, path)


def esv_chart(doc: dict[str, Any], lang: str, path: Path) -> Path | None:
    """ESV by service before and after restoration."""
    v = doc["stages"]["value"]
    if v.get("status") != "assessed":
        return None
    plt = _plt()
    k = money_scale(lang)
    before = v["esv"]["by_service_before"]
    after = v["esv"]["by_service_after"]
    services = list(after)
    y = np.arange(len(services))
    fig, ax = plt.subplots(figsize=(6, 2.8))
    ax.barh(
        y - 0.2,
        [before.get(s, 0) * k for s in services],
        0.4,
        label=label("before", lang),
        color="#bbb",
    )
    ax.barh(
        y + 0.2, [after[s] * k for s in services], 0.4, label=label("after", lang), color="#2ca02c"
    )
    ax.set_yticks(y, [label(x, lang, "esv_service") for x in services], fontsize=7)
    ax.set_xlabel(label("money_unit_yr", lang))
    ax.legend(fontsize=7)
    return _save(fig, path)


def stages_chart(doc: dict[str, Any], lang: str, path: Path) -> Path | None:
    """Value per year coloured by value stage, with the zero band and multiplication threshold."""
    v = doc["stages"]["value"]
    if v.get("status") != "assessed":
        return None
    plt = _plt()
    k = money_scale(lang)
    st = v["stages"]
    years = [r["year"] for r in st["years"]]
    vals = np.asarray([r["value_cny_per_yr"] for r in st["years"]]) * k
    colours = {
        "STAGE-NET-LOSS": "#d62728",
        "STAGE-ZERO": "#7f7f7f",
        "STAGE-CAPTURE": "#1f77b4",
        "STAGE-MULTIPLICATION": "#2ca02c",
    }
    fig, ax = plt.subplots(figsize=(6, 2.1))
    ax.plot(years, vals, color="black", lw=0.8)
    for code, colour in colours.items():
        idx = [i for i, r in enumerate(st["years"]) if r["stage_code"] == code]
        if idx:
            ax.scatter(
                [years[i] for i in idx],
                vals[idx],
                color=colour,
                s=14,
                label=label(code, lang, "value_stage"),
                zorder=3,
            )
    z = st["zero_band_cny_per_yr"] * k
    ax.axhspan(-z, z, color="#ddd", alpha=0.6)
    ax.axhline(st["multiplication_threshold_cny_per_yr"] * k, ls="--", color="#2ca02c", lw=0.8)
    ax.set_ylabel(label("money_unit_yr", lang))
    integer_years(ax.xaxis)
    ax.legend(fontsize=6)
    return _save(fig, path)


def revenue_chart(doc: dict[str, Any], lang: str, path: Path) -> Path | None:
    """Revenue per year, stacked by stream (earmarked streams hatched)."""
    r = doc["stages"]["revenue"]
    if r.get("status") != "assessed":
        return None
    plt = _plt()
    k = money_scale(lang)
    years = sorted({int(row["year"]) for s in r["streams"] for row in s["by_year"]})
    fig, ax = plt.subplots(figsize=(6, 2.3))
    bottom = np.zeros(len(years))
    for s in r["streams"]:
        by = {int(row["year"]): row["revenue"] for row in s["by_year"]}
        vals = np.asarray([by.get(y, 0.0) for y in years]) * k
        ax.bar(years, vals, bottom=bottom, label=s["name"], hatch="//" if s["earmark"] else None)
        bottom += vals
    ax.set_ylabel(label("money_unit", lang))
    integer_years(ax.xaxis)
    ax.legend(fontsize=6)
    return _save(fig, path)


def waterfall_chart(doc: dict[str, Any], lang: str, path: Path) -> Path | None:
    """Waterfall of the nominal totals: revenue − opex − capex = net flow."""
    c = doc["stages"]["cashflow"]
    if c.get("status") != "assessed":
        return None
    plt = _plt()
    k = money_scale(lang)
    rev = sum(r["revenue_cny"] for r in c["rows"]) * k
    opex = sum(r["opex_cny"] for r in c["rows"]) * k
    capex = sum(r["capex_cny"] for r in c["rows"]) * k
    steps = [
        (label("revenue_c", lang), rev),
        (label("opex", lang), -opex),
        (label("capex", lang), -capex),
    ]
    fig, ax = plt.subplots(figsize=(6, 2.0))
    level = 0.0
    for i, (_name, v) in enumerate(steps):
        ax.bar(i, v, bottom=level, color="#2ca02c" if v >= 0 else "#d62728")
        level += v
    ax.bar(len(steps), level, color="#1f77b4")
    ax.set_xticks(range(len(steps) + 1), [s[0] for s in steps] + [label("net_flow", lang)])
    ax.axhline(0, color="black", lw=0.6)
    ax.set_ylabel(label("money_unit", lang))
    return _save(fig, path)


def risk_chart(doc: dict[str, Any], lang: str, path: Path) -> Path | None:
    """Histogram of the simulated NPV with P5, P50 and P95."""
    r = doc["stages"]["risk"]
    if r.get("status") != "assessed":
        return None
    plt = _plt()
    k = money_scale(lang)
    edges = np.asarray(r["npv_histogram"]["edges_cny"]) * k
    counts = np.asarray(r["npv_histogram"]["counts"])
    fig, ax = plt.subplots(figsize=(6, 2.3))
    ax.bar(edges[:-1], counts, width=np.diff(edges), align="edge", color="#9ecae1")
    for key, style in (("p5", ":"), ("p50", "-"), ("p95", ":")):
        ax.axvline(r["summary"]["npv"][key] * k, color="black", ls=style, lw=1, label=key.upper())
    ax.axvline(0, color="#d62728", lw=0.8)
    ax.set_xlabel(f"{label('npv', lang)} [{label('money_unit', lang)}]")
    ax.legend(fontsize=7)
    return _save(fig, path)


def modes_chart(doc: dict[str, Any], lang: str, path: Path) -> Path | None:
    """Mode scores of each mine."""
    m = doc["stages"]["modes"]
    if m.get("status") != "assessed" or not m.get("mines"):
        return None
    plt = _plt()
    modes = list(m["mines"][0]["scores"])
    fig, ax = plt.subplots(figsize=(6, 1.9))
    width = 0.8 / len(m["mines"])
    for i, mine in enumerate(m["mines"]):
        ax.bar(
            np.arange(len(modes)) + i * width,
            [mine["scores"][x] for x in modes],
            width,
            label=mine["mine_id"],
        )
    ax.set_xticks(np.arange(len(modes)) + 0.4 - width / 2, [label(x, lang, "mode") for x in modes])
    ax.set_ylim(0, 1)
    ax.legend(fontsize=7)
    return _save(fig, path)


CHARTS = {
    "map": map_chart,
    "cost": cost_chart,
    "esv": esv_chart,
    "stages": stages_chart,
    "revenue": revenue_chart,
    "waterfall": waterfall_chart,
    "risk": risk_chart,
    "modes": modes_chart,
}


def draw_all(doc: dict[str, Any], lang: str, folder: Path) -> dict[str, Path]:
    """Every chart into ``folder`` (``<name>.png``); charts of unassessed stages are absent."""
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for name, fn in CHARTS.items():
        p = fn(doc, lang, folder / f"{name}.png")
        if p is not None:
            out[name] = p
    return out
