"""The value-stage chart: value per year coloured by stage (``restora value stages --chart``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from restora.charts import integer_years, pyplot, save
from restora.labels import label

#: Stages from worst to best, with their colours.
STAGE_COLOURS = {
    "net_loss": "#d9534f",
    "zero": "#bbbbbb",
    "capture": "#5cb85c",
    "multiplication": "#2e6da4",
}


def plot_stages(result: Any, path: str | Path, title: str | None = None) -> Path:
    """Write a chart of value per year, coloured by stage (PNG/SVG/PDF by suffix).

    Parameters
    ----------
    result : restora.valuation.stages.StagesResult
        ``years`` (columns ``year``, ``value_cny_per_yr`` [CNY/yr], ``stage``),
        ``zero_band_cny_per_yr`` and ``multiplication_threshold_cny_per_yr`` [CNY/yr],
        ``price_year``.
    path : str or pathlib.Path
        Output file.
    title : str, optional
        Chart title.

    Notes
    -----
    Labels are bilingual (Chinese and English) when a CJK font is installed, English otherwise
    (DejaVu Sans has no Chinese glyphs).
    """
    plt = pyplot(font_size=9)
    cjk = plt.rcParams["font.family"][0] != "DejaVu Sans"

    def both(code: str) -> str:
        en = label(code, "en", "value_stage")
        return f"{label(code, 'zh', 'value_stage')} {en}" if cjk else en

    yrs = result.years
    fig, ax = plt.subplots(figsize=(8, 4.5))
    x = yrs["year"].to_numpy()
    y = yrs["value_cny_per_yr"].to_numpy() / 1e4
    ax.bar(x, y, color=[STAGE_COLOURS[s] for s in yrs["stage"]], width=0.8)
    ax.axhline(0, color="black", linewidth=0.8)
    for level in (result.zero_band_cny_per_yr, -result.zero_band_cny_per_yr):
        ax.axhline(level / 1e4, color="#888888", linewidth=0.6, linestyle="--")
    ax.axhline(
        result.multiplication_threshold_cny_per_yr / 1e4,
        color=STAGE_COLOURS["multiplication"],
        linewidth=0.6,
        linestyle=":",
    )
    handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in STAGE_COLOURS.values()]
    ax.legend(handles, [both(s) for s in STAGE_COLOURS], loc="upper left", fontsize=8)
    unit = "万元/年 (10^4 CNY/yr)" if cjk else "10^4 CNY/yr"
    ax.set_ylabel(unit + (f", {result.price_year} prices" if result.price_year else ""))
    ax.set_xlabel("year")
    integer_years(ax.xaxis)
    ax.set_title(title or ("价值阶段 value stages" if cjk else "value stages"))
    return save(fig, path, dpi=110)
