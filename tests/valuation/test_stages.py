"""Value stages: trajectory, thresholds, classification, chart, CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from restora import refdata
from restora.cli import app
from restora.valuation import stages

runner = CliRunner()
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


def test_thresholds_are_reference_data():
    d = refdata.get("valuation/stages/thresholds").data
    assert d == {"zero_band_equivalents_per_hm2": 0.5, "multiplication_ratio": 2.0}


def test_project_years_and_stages_hand_worked():
    r = stages.run(stages.StagesInput(**PROJECT))
    # damaged: 700 − 200 000 = −199 300; band = 0.5 × 10 hm² × 3406.5 = 17 032.5 CNY/yr
    # y0 −199 300 (loss); y1 −199 300 + 299 300 × 1/2 = −49 650 (loss); y2, y3 100 000 (capture);
    # y4 100 000 + 200 000 × 1/3 = 166 666.7 (< 2 × 100 000: capture); y5 233 333 (mult.) …
    assert r.damaged_cny_per_yr == -199_300
    assert r.zero_band_cny_per_yr == pytest.approx(17_032.5)
    assert r.multiplication_threshold_cny_per_yr == pytest.approx(200_000)
    v = r.years["value_cny_per_yr"].to_numpy()
    assert v[:6] == pytest.approx([-199_300, -49_650, 100_000, 100_000, 166_666.6667, 233_333.3333])
    assert r.years["stage"].tolist() == ["net_loss"] * 2 + ["capture"] * 3 + ["multiplication"] * 5
    assert r.years["year"].iloc[0] == 2026
    assert set(r.to_dict()["rule_codes"]) == {
        "STAGE-NET-LOSS",
        "STAGE-CAPTURE",
        "STAGE-MULTIPLICATION",
    }


def test_zero_stage_for_made_safe_bare_land():
    # 10 hm² bare land: 0.20 eq/hm² × 10 × 3406.5 = 6813 CNY/yr < band 17 032.5 → zero
    s = stages.classify_stages(np.array([6813.0]), 10, 3406.5, 6813.0, 0.5, 2.0)
    assert s.tolist() == ["zero"]


def test_development_may_not_precede_basic_restoration():
    with pytest.raises(ValueError, match="development_start"):
        stages.StagesInput(**{**PROJECT, "development_start": 2})


@settings(deadline=None)
@given(a=st.floats(-1e7, 1e7), b=st.floats(-1e7, 1e7), ref=st.floats(-1e6, 1e7))
def test_a_higher_value_never_gives_a_lower_stage(a, b, ref):
    lo, hi = sorted((a, b))
    s = stages.classify_stages(np.array([lo, hi]), 5.0, 3406.5, ref, 0.5, 2.0)
    order = {name: i for i, name in enumerate(stages.STAGES)}
    assert order[s[0]] <= order[s[1]]


def test_chart_written_with_fallback_font(tmp_path):
    r = stages.run(stages.StagesInput(**PROJECT))
    out = stages.plot_stages(r, tmp_path / "stages.png")
    assert out.stat().st_size > 5000
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    from restora.fonts import CJK_FAMILIES, system_font_file

    # with Noto CJK installed (scripts/system-deps.sh) the chart uses it, else DejaVu
    expected = CJK_FAMILIES if system_font_file() else ("DejaVu Sans",)
    assert stages.chart_font() in expected


def test_cli(tmp_path):
    f = tmp_path / "p.json"
    f.write_text(json.dumps(PROJECT), encoding="utf-8")
    chart = tmp_path / "c.svg"
    res = runner.invoke(app, ["value", "stages", str(f), "--chart", str(chart), "-f", "json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert [y["stage"] for y in data["years"]][:3] == ["net_loss", "net_loss", "capture"]
    assert chart.read_text(encoding="utf-8").lstrip().startswith("<?xml")
    f.write_text(json.dumps({**PROJECT, "area_hm2": 0}), encoding="utf-8")
    res = runner.invoke(app, ["value", "stages", str(f)])
    assert res.exit_code == 2 and "area_hm2" in res.output
