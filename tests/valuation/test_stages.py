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
from restora.errors import InputError
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


def test_stage_curve_follows_the_establishment_ramp():
    """Issue 11 item 4: the stage curve ramped linearly to full value in restoration_years;
    with ``restoration_after_use`` it follows the after-use's establishment ramp (fails on the
    old StagesInput, which forbids the field)."""
    r = stages.run(stages.StagesInput(**PROJECT, restoration_after_use="grass"))
    # works in project years 1-2 (restoration_start 1, restoration_years 2): works_end = 2.
    # y0-y2: damaged 700 - 200 000 = -199 300 (costs stop only once the works finish)
    # grass f(a) = (1 - e^(-0.3a))/(1 - e^-3): f(1) 0.272762, f(2) 0.474829, f(3) 0.624523,
    # f(4) 0.735421; ESV = 700 + 99 300 f
    # y3: 700 + 99 300 × 0.272762 = 27 785.25 (capture: > band 17 032.5)
    # y4: 700 + 99 300 × 0.474829 + 200 000 × 1/3 = 47 850.49 + 66 666.67 = 114 517.16
    # y5: 62 715.19 + 133 333.33 = 196 048.52 (< 2 × 100 000: still capture; linear: mult.)
    # y6: 73 727.23 + 200 000 = 273 727.23 (multiplication)
    v = r.years["value_cny_per_yr"].to_numpy()
    assert v[:7] == pytest.approx(
        [-199_300, -199_300, -199_300, 27_785.246, 114_517.156, 196_048.520, 273_727.226],
        rel=1e-6,
    )
    assert r.years["stage"].tolist()[:7] == ["net_loss"] * 3 + ["capture"] * 3 + ["multiplication"]
    d = r.to_dict()
    assert d["restoration_path"] == "ramp:grass"
    assert "valuation/establishment/ramps" in {t["name"] for t in d["tables"]}
    assert stages.run(stages.StagesInput(**PROJECT)).to_dict()["restoration_path"] == "linear"


def test_stage_curve_from_an_explicit_basic_path():
    # the pipeline's form: ESV by year along the sites' ramps, less damage costs until the
    # works finish (basic_path), development added on top
    esv_t = [700.0, 700.0, 700.0, 30_700.0, 60_700.0, 80_700.0, 100_000.0, 100_000.0]
    path = stages.basic_path(esv_t + [100_000.0] * 2, 200_000.0, 0.0, works_end=2)
    assert path[:4].tolist() == [-199_300.0, -199_300.0, -199_300.0, 30_700.0]
    r = stages.run(stages.StagesInput(**PROJECT, value_basic_path_cny_per_yr=path.tolist()))
    # y4: 60 700 + 200 000/3 = 127 366.67; y7: 100 000 + 200 000 = 300 000
    v = r.years["value_cny_per_yr"].to_numpy()
    assert v[3:8] == pytest.approx([30_700.0, 127_366.667, 214_033.333, 300_000.0, 300_000.0])
    assert r.to_dict()["restoration_path"] == "series"
    with pytest.raises(ValueError, match="horizon_years is 10"):
        stages.StagesInput(**PROJECT, value_basic_path_cny_per_yr=[0.0] * 3)
    with pytest.raises(ValueError, match="not both"):
        stages.StagesInput(
            **PROJECT, value_basic_path_cny_per_yr=path.tolist(), restoration_after_use="grass"
        )
    with pytest.raises(InputError) as exc:
        stages.run(stages.StagesInput(**PROJECT, restoration_after_use="orchard"))
    assert exc.value.problems[0].field == "restoration_after_use"
