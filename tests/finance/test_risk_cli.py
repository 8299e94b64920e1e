"""``restora finance risk``: a JSON spec in, summary and tornado out; bad specs exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import numpy_financial as npf
import pytest
from typer.testing import CliRunner

from restora.cli import app
from restora.finance import risk

runner = CliRunner()

SPEC = {
    "revenue": [0, 30, 30, 30, 30, 30, 30, 30],
    "opex": 5,
    "capex": [100, 0, 0, 0, 0, 0, 0, 0],
    "rate": 0.06,
    "hurdle": 0.08,
    "drivers": [
        {"name": "price", "target": "revenue", "low": 0.6, "mode": 1.0, "high": 1.2},
        {"name": "late", "target": "delay", "low": 0, "mode": 0, "high": 2},
    ],
    "loan": {"principal": 60, "rate": 0.05, "tenor": 5, "grace": 1},
    "guarantee": {"share": 0.5, "cap": 10},
}


def test_risk_json(tmp_path: Path) -> None:
    f = tmp_path / "spec.json"
    f.write_text(json.dumps(SPEC))
    res = runner.invoke(app, ["finance", "risk", str(f), "--scenarios", "3000", "-f", "json"])
    assert res.exit_code == 0, res.stderr
    out = json.loads(res.stdout)
    s, t = out["summary"], out["tornado"]
    assert s["scenarios"] == 3000 and set(s["lender"]["var"]) == {"0.95", "0.99"}
    assert s["guarantee_fund"]["var"]["0.99"] <= 10.0  # the cap
    # the same spec through the Python API with the same seed gives the same figures
    again = risk.run(risk.RiskSpec.model_validate(SPEC), n=3000, seed=1)
    assert again["summary"]["npv"] == pytest.approx(s["npv"])
    # tornado base: modes (price 1, no delay): -100 + 25 * a7(6 %), opex from year 0 too
    flow = np.array([-100 - 5] + [25] * 7, dtype=float)
    assert t[0]["npv_base"] == pytest.approx(npf.npv(0.06, flow))
    assert t[0]["driver"] == "price"


def test_risk_table_and_csv() -> None:
    res = runner.invoke(
        app, ["finance", "risk", "-", "--scenarios", "500", "-f", "csv"], input=json.dumps(SPEC)
    )
    assert res.exit_code == 0
    assert res.stdout.splitlines()[0] == "metric,value"
    assert any(line.startswith("p_irr_below_hurdle,") for line in res.stdout.splitlines())
    res = runner.invoke(app, ["finance", "risk", "-", "--scenarios", "500"], input=json.dumps(SPEC))
    assert res.exit_code == 0 and "Tornado" in res.stdout


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"revenue": [1]}, 'column "revenue"'),
        ({"opex": [1, 2]}, "opex has 2 periods"),
        ({"rate": -2}, 'column "rate"'),
        (
            {"drivers": [{"name": "x", "target": "price", "low": 1, "mode": 1, "high": 1}]},
            'drivers.0, column "target"',
        ),
        (
            {"drivers": [{"name": "x", "target": "opex", "low": 2, "mode": 1, "high": 3}]},
            "low <= mode <= high",
        ),
        ({"loan": {"principal": 60, "rate": 0.05, "tenor": 9}}, "after the last period"),
        ({"loan": None}, "a guarantee needs a loan"),
        ({"surprise": 1}, 'column "surprise"'),
    ],
)
def test_bad_spec_exit_2(change: dict[str, object], where: str) -> None:
    spec = {**SPEC, **change}
    res = runner.invoke(app, ["finance", "risk", "-"], input=json.dumps(spec))
    assert res.exit_code == 2
    assert "<stdin>" in res.stderr and where in res.stderr
