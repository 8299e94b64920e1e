"""``restora finance structure``: every instrument through the CLI, formats and exit codes."""

from __future__ import annotations

import json

import pytest
import yaml
from typer.testing import CliRunner

from restora.cli import app

runner = CliRunner()

PROJECTS = {
    "performance-bond": {
        "principal": 1000,
        "coupon_rate": 0.05,
        "term_years": 3,
        "tranches": [
            {
                "name": "hazards",
                "share": 1.0,
                "indicator": "hazard_points_eliminated",
                "verification_year": 3,
                "tiers": [{"lower": None, "principal_fraction": 0.5}, {"lower": 0.9}],
            }
        ],
        "outcomes": {"hazard_points_eliminated": {3: 0.95}},
    },
    "pledge-loan": {
        "rights": [{"name": "quota", "kind": "land_quota", "revenue": [110, 121]}],
        "valuation_rate": 0.1,
        "ltv": 0.5,
        "interest_rate": 0.1,
        "tenor_years": 2,
        "min_dscr": 1.2,
    },
    "special-bond": {
        "projects": [
            {"name": "A", "principal": 100, "revenue": [30] * 5},
            {"name": "B", "principal": 100, "revenue": [20] * 5},
        ],
        "coupon_rate": 0.04,
        "term_years": 5,
        "threshold": 1.1,
    },
    "guarantee": {
        "loans": [{"name": f"L{i}", "exposure": 1000, "pd": 0.1, "lgd": 0.5} for i in range(10)],
        "fund_capital": 250,
        "fund_share": 0.2,
        "draws": 5000,
    },
    "ppp": {
        "capex": [500, 500],
        "operation_years": 10,
        "om_cost": [50],
        "user_fees": [20],
        "profit_rate": 0.06,
        "discount_rate": 0.05,
    },
    "benefit-sharing": {
        "distributable_income": [100, 10, 200],
        "company_capital": 500,
        "priority_rate": 0.06,
        "village_minimum": 20,
        "village_land_share": 0.2,
        "village_labour_share": 0.1,
    },
}


def _write(tmp_path, name, data, suffix=".yaml"):
    p = tmp_path / f"{name}{suffix}"
    p.write_text(
        yaml.safe_dump(data, allow_unicode=True) if suffix == ".yaml" else json.dumps(data)
    )
    return str(p)


@pytest.mark.parametrize("instrument", sorted(PROJECTS))
def test_every_instrument_runs_with_the_json_contract(tmp_path, instrument):
    path = _write(tmp_path, instrument, {"project": "demo", instrument: PROJECTS[instrument]})
    res = runner.invoke(
        app, ["finance", "structure", path, "--instrument", instrument, "-f", "json"]
    )
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert set(out) == {
        "project",
        "instrument",
        "summary",
        "schedule",
        "rule_codes",
        "flags",
        "tables_used",
        "revenue",
    }
    assert out["instrument"] == instrument and out["project"] == "demo"
    assert out["schedule"] and out["rule_codes"]


def test_values_through_the_cli(tmp_path):
    # special bond at 1.1: pool 250 / 240 = 1.0417 < 1.1, dragged by B (100 - 132 = -32)
    path = _write(tmp_path, "sb", PROJECTS["special-bond"], suffix=".json")
    res = runner.invoke(app, ["finance", "structure", path, "-i", "special-bond", "-f", "json"])
    out = json.loads(res.stdout)
    assert out["summary"]["pool_coverage"] == pytest.approx(250 / 240)
    assert out["summary"]["main_drag"] == "B" and not out["summary"]["meets_threshold"]
    # the performance bond: hazards 0.95 >= 0.9, principal repaid, 3 * 50 interest
    path = _write(tmp_path, "pb", PROJECTS["performance-bond"])
    out = json.loads(
        runner.invoke(
            app, ["finance", "structure", path, "-i", "performance-bond", "-f", "json"]
        ).stdout
    )
    assert out["summary"]["total_to_investors"] == pytest.approx(1150.0)


def test_csv_and_table_formats(tmp_path):
    path = _write(tmp_path, "bs", PROJECTS["benefit-sharing"])
    res = runner.invoke(app, ["finance", "structure", path, "-i", "benefit-sharing", "-f", "csv"])
    assert res.exit_code == 0
    lines = res.stdout.strip().splitlines()
    assert lines[0].startswith("year,distributable_income,priority_due")
    assert len(lines) == 4
    res = runner.invoke(app, ["finance", "structure", path, "-i", "benefit-sharing"])
    assert res.exit_code == 0 and "summary" in res.stdout


def test_stdin(tmp_path):
    res = runner.invoke(
        app,
        ["finance", "structure", "-", "-i", "ppp", "-f", "json"],
        input=json.dumps(PROJECTS["ppp"]),
    )
    assert res.exit_code == 0
    assert json.loads(res.stdout)["summary"]["operation_years"] == 10


def test_revenue_streams_feed_the_pledged_rights(tmp_path):
    data = {
        "start_year": 2027,
        "revenue_streams": [
            {
                "stream": "land_rights",
                "mode": "lease",
                "area_mu": 10,
                "start_year": 2027,
                "price": 11,
                "lease_years": 2,
                "rent_escalation": 0.1,
            },
            {
                "stream": "materials",
                "mine_id": "M1",
                "start_year": 2027,
                "volume_m3": [1000],
                "price": 30,
            },
        ],
        "pledge-loan": {k: v for k, v in PROJECTS["pledge-loan"].items() if k != "rights"},
    }
    path = _write(tmp_path, "pl", data)
    out = json.loads(
        runner.invoke(app, ["finance", "structure", path, "-i", "pledge-loan", "-f", "json"]).stdout
    )
    # lease 110, 121 -> value 200 as in the hand example; earmarked materials excluded
    assert out["summary"]["rights_value"] == pytest.approx(200.0)
    assert out["revenue"]["by_year"][0]["earmarked"] == pytest.approx(30_000)


def test_bad_input_exits_2_naming_file_and_field(tmp_path):
    bad = dict(PROJECTS["pledge-loan"], ltv=1.5)
    path = _write(tmp_path, "bad", bad)
    res = runner.invoke(app, ["finance", "structure", path, "-i", "pledge-loan"])
    assert res.exit_code == 2
    assert "bad.yaml" in res.stderr and '"ltv"' in res.stderr


def test_unknown_instrument_and_mismatch_exit_2(tmp_path):
    path = _write(tmp_path, "x", {"instrument": "ppp", **PROJECTS["ppp"]})
    assert runner.invoke(app, ["finance", "structure", path, "-i", "swap"]).exit_code == 2
    res = runner.invoke(app, ["finance", "structure", path, "-i", "guarantee"])
    assert res.exit_code == 2 and "for 'ppp'" in res.stderr
    assert runner.invoke(app, ["finance", "structure", path, "-i", "ppp"]).exit_code == 0


def test_unreadable_and_malformed_files_exit_2(tmp_path):
    res = runner.invoke(app, ["finance", "structure", str(tmp_path / "none.yaml"), "-i", "ppp"])
    assert res.exit_code == 2
    p = tmp_path / "broken.yaml"
    p.write_text("capex: [1, 2\n")
    res = runner.invoke(app, ["finance", "structure", str(p), "-i", "ppp"])
    assert res.exit_code == 2 and "broken.yaml" in res.stderr
