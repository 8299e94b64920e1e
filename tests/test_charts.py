"""Charts at the reporting edge (restora.charts): the CLI's cost tornado and value-stage chart,
moved out of costing.montecarlo and valuation.stages (issue 11, item 16)."""

from __future__ import annotations

import re

import pytest

from restora import charts
from restora.charts.cost import tornado_chart
from restora.charts.stages import plot_stages
from restora.valuation import stages

# valuation/stages tests' project: 10 hm², restoration from year 1 over 2 years, development
# from year 4 over 3 years
PROJECT = {
    "area_hm2": 10,
    "esv_damaged_cny_per_yr": 700,
    "hazard_cost_cny_per_yr": 200_000,
    "value_basic_cny_per_yr": 100_000,
    "value_developed_cny_per_yr": 300_000,
    "horizon_years": 10,
    "start_year": 2026,
    "restoration_start": 1,
    "restoration_years": 2,
    "development_start": 4,
    "development_years": 3,
}
PNG = b"\x89PNG\r\n\x1a\n"


def test_stage_chart_written_with_the_cjk_font_or_the_fallback(tmp_path):
    from restora.fonts import CJK_FAMILIES, system_font_file

    r = stages.run(stages.StagesInput(**PROJECT))
    out = plot_stages(r, tmp_path / "stages.png")
    assert out.stat().st_size > 5000 and out.read_bytes()[:8] == PNG
    # with Noto CJK installed (scripts/system-deps.sh) the chart uses it, else DejaVu
    expected = CJK_FAMILIES if system_font_file() else ("DejaVu Sans",)
    plt = charts.pyplot()
    assert plt.rcParams["font.family"][0] in expected


def test_tornado_chart_labels_items(tmp_path):
    rows = [
        {"item": "soil_washing", "total_low": 80.0, "total_base": 100.0, "total_high": 130.0},
        {"item": "my_own_item", "total_low": 95.0, "total_base": 100.0, "total_high": 104.0},
    ]
    out = tornado_chart(rows, tmp_path / "t.png", lang="zh")
    assert (tmp_path / "t.png").read_bytes()[:8] == PNG and out.endswith("t.png")


@pytest.mark.parametrize("lo,hi", [(2026, 2046), (2027, 2031), (2030, 2031)])
def test_integer_years_ticks_whole_years(lo, hi):
    """Without the helper matplotlib ticks a short year axis at 2027.5, 2028.0 …"""
    plt = charts.pyplot()
    fig, ax = plt.subplots()
    ax.plot([lo, hi], [0, 1])
    charts.integer_years(ax.xaxis)
    fig.canvas.draw()
    ticks = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
    plt.close(fig)
    assert ticks and all(re.fullmatch(r"\d{4}", t) for t in ticks), ticks
