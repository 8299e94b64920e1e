"""Implausible magnitudes get a warning naming file, row, column and value (issue 11, item 6b).

Limits from ``soil/plausible-ranges`` (version restora-1): Pb 50,000 mg/kg, Cd 200 mg/kg, both
judgements; Pb's highest published soil value 312,452 mg/kg (Lei et al. 2016). Each test fails
on the code before the fix: no such table, no ``warnings`` in the JSON, no message on stderr.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from restora.cli import app
from restora.diagnosis import soil_io, soil_plausibility

ON = "2024-01-01"
runner = CliRunner()


def _write(tmp_path: Path, text: str) -> Path:
    f = tmp_path / "samples.csv"
    f.write_text(text, encoding="utf-8")
    return f


def _json(f: Path) -> tuple[list[dict], str]:
    r = runner.invoke(app, ["diagnose", "soil", str(f), "-f", "json", "--on", ON])
    assert r.exit_code == 0, r.output  # a warning never blocks the import
    return json.loads(r.stdout), r.stderr


def test_pb_80000_mg_per_kg_is_flagged_with_the_likely_unit_mixup(tmp_path):
    f = _write(tmp_path, "sample_id,ph,land_use,Pb,Cd\nA,6,paddy,120,0.2\nB,6,paddy,80000,0.2\n")
    data, err = _json(f)
    assert data[0]["warnings"] == []
    (w,) = data[1]["warnings"]
    assert w == {
        **w,
        "code": "SOIL-PLAUSIBILITY-MAX",
        "file": str(f),
        "row": 2,
        "column": "Pb",
        "sample_id": "B",
        "pollutant": "Pb",
        "value_mg_kg": 80000.0,
        "limit_mg_kg": 50000.0,
        "basis": "judgement",
        "published_max_mg_kg": 312452.0,
        # 80,000 / 1000 = 80 mg/kg <= 50,000: plausible in a unit 1000 times smaller
        "value_if_unit_1000x_smaller_mg_kg": 80.0,
    }
    assert f'{f}, row 2, column "Pb": Pb 80,000 mg/kg' in w["message"]
    assert "µg/kg written as mg/kg" in w["message"]
    assert w["message"] in err  # also on stderr
    # the sample is still classified (Pb 80,000 > I 500 at pH 6: strict control)
    assert data[1]["class"] == "strict_control"


def test_cd_300_mg_per_kg_is_flagged(tmp_path):
    f = _write(tmp_path, "sample_id,ph,land_use,Cd\nA,6,paddy,300\nB,6,paddy,150\n")
    data, err = _json(f)
    (w,) = data[0]["warnings"]
    # 300 > 200 (judgement); 300 / 1000 = 0.3 mg/kg would be plausible
    assert (w["row"], w["column"], w["value_mg_kg"], w["limit_mg_kg"]) == (1, "Cd", 300.0, 200.0)
    assert w["value_if_unit_1000x_smaller_mg_kg"] == pytest.approx(0.3)
    assert data[1]["warnings"] == []  # 150 is high but below the limit
    assert 'row 1, column "Cd": Cd 300 mg/kg is above the plausibility limit 200' in err


def test_a_g_per_kg_column_of_mg_per_kg_numbers(tmp_path):
    # "Pb (g/kg)" holding mg/kg numbers: 120 g/kg = 120,000 mg/kg > 50,000;
    # 350 g/kg = 350,000 mg/kg is above even the highest published Pb, 312,452 mg/kg
    f = _write(
        tmp_path, "sample_id,ph,land_use,Pb (g/kg)\nA,7,other,120\nB,7,other,350\nC,7,other,0.03\n"
    )
    data, err = _json(f)
    (a,) = data[0]["warnings"]
    assert a["column"] == "Pb (g/kg)" and a["value_mg_kg"] == pytest.approx(120_000)
    assert a["value_if_unit_1000x_smaller_mg_kg"] == pytest.approx(120.0)
    assert "are the numbers mg/kg under a g/kg header?" in a["message"]
    (b,) = data[1]["warnings"]
    assert "above every published soil value (312,452 mg/kg" in b["message"]
    assert data[2]["warnings"] == []  # 0.03 g/kg = 30 mg/kg
    assert "converted from g/kg to mg/kg" in err and a["message"] in err


def test_no_unit_mixup_is_suggested_when_a_thousandth_is_still_implausible():
    ranges = soil_plausibility.load_ranges(on=ON)
    # Cd 300,000 mg/kg: / 1000 = 300 > 200, still implausible
    (w,) = soil_plausibility.check([[3.0e5]], ["Cd"], ranges, file="f.csv", rows=[7])
    assert w["value_if_unit_1000x_smaller_mg_kg"] is None
    assert w["message"].startswith('f.csv, row 7, column "Cd": Cd 300,000 mg/kg')
    assert "1000 times smaller" not in w["message"]


def test_results_below_detection_and_values_at_the_limit_are_not_flagged(tmp_path):
    # "<200000" is a limit, not a measured magnitude; 50,000 is at the limit, not above it
    f = _write(tmp_path, "sample_id,ph,land_use,Pb\nA,6,paddy,<200000\nB,6,paddy,50000\n")
    samples, meta = soil_io.read_samples(f, on=ON)
    assert meta["plausibility"] == []
    assert meta["plausible_ranges"]["name"] == "soil/plausible-ranges"
    np.testing.assert_allclose(samples.detection_limit[:, 0], [200000.0, np.nan])
