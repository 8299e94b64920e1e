"""``restora modes recommend | compare | profile``: JSON contracts and exit codes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from restora.cli import app
from restora.inventory.model import Register

ON = "2026-06-01"
PROFILE: dict[str, Any] = {
    "mineral": "coal",
    "area_hm2": 120,
    "geohazard_risk": "high",
    "pollution": "mild",
    "solid_waste_m3": 200000,
    "water_area_hm2": 30,
    "responsible_party": "absent",
    "property_rights_clear": False,
    "construction_land_potential_hm2": 5,
    "farmland_potential_hm2": 40,
    "distance_to_city_km": 8,
    "population_within_10km": 80000,
    "transport_access": "good",
    "landscape_cultural_value": "high",
    "market_maturity": "high",
    "social_capital_interest": "high",
    "ecological_redline_overlap": False,
}


def _write(tmp_path: Path, data: Any, name: str = "profile.json") -> str:
    path = tmp_path / name
    path.write_text(json.dumps(data), encoding="utf-8")
    return str(path)


def _run(args: list[str], stdin: str | None = None) -> Any:
    return CliRunner().invoke(app, ["modes", *args], input=stdin)


def test_recommend_json_contract(tmp_path: Path) -> None:
    res = _run(["recommend", _write(tmp_path, PROFILE), "--on", ON, "--format", "json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert set(data) == {
        "primary_mode",
        "sequence",
        "scores",
        "reasons",
        "rule_codes",
        "tables",
        "profile",
    }
    # industry 3+3+2+2+2+1+1 = 14/14; resource 3+2+2+1 = 8/10; rights 3+1+2+1+1+1 = 9/12;
    # safety 5 (high) + 2 (80 000 people) = 7/13
    assert data["primary_mode"] == "industry_integration"
    assert data["scores"] == pytest.approx(
        {
            "safety_baseline": 7 / 13,
            "resource_utilization": 0.8,
            "property_rights": 0.75,
            "industry_integration": 1.0,
        },
        abs=1e-6,
    )
    assert data["sequence"] == [
        "safety_baseline",
        "resource_utilization",
        "rights_confirmation",
        "property_rights",
        "industry_integration",
    ]
    assert {"code", "mode", "effect", "name", "source"} == set(data["reasons"][0])
    assert "MODE-GATE-SAFETY" in data["rule_codes"]
    assert data["tables"][0]["name"] == "modes/rules"


def test_recommend_reads_stdin_and_a_wrapped_profile_table_and_csv(tmp_path: Path) -> None:
    res = _run(["recommend", "-", "--on", ON, "-f", "json"], stdin=json.dumps({"profile": PROFILE}))
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["primary_mode"] == "industry_integration"
    res = _run(["recommend", _write(tmp_path, PROFILE), "--on", ON, "-f", "csv"])
    assert res.exit_code == 0, res.output
    lines = res.stdout.strip().splitlines()
    assert lines[0] == "mode,score,primary,order,rule_codes" and len(lines) == 5
    res = _run(["recommend", _write(tmp_path, PROFILE), "--on", ON])
    assert res.exit_code == 0 and "industry_integration" in res.stdout


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"mineral": None}, "mineral"),  # missing (key removed below)
        ({"geohazard_risk": "extreme"}, "geohazard_risk"),
        ({"area_hm2": -3}, "area_hm2"),
        ({"pollution": 2}, "pollution"),
        ({"market_maturity": "booming"}, "market_maturity"),
        ({"color": "red"}, "color"),
    ],
)
def test_bad_profiles_exit_2_naming_the_field(
    tmp_path: Path, patch: dict[str, Any], field: str
) -> None:
    prof = {**PROFILE, **patch}
    prof = {k: v for k, v in prof.items() if v is not None}
    path = _write(tmp_path, prof)
    for command in ("recommend", "compare"):
        res = _run([command, path, "--on", ON, "-f", "json"])
        assert res.exit_code == 2, res.output
        assert f'column "{field}"' in res.stderr and "profile.json" in res.stderr


def test_unreadable_and_invalid_json_exit_2(tmp_path: Path) -> None:
    res = _run(["recommend", str(tmp_path / "nope.json")])
    assert res.exit_code == 2 and "nope.json" in res.stderr
    bad = tmp_path / "bad.json"
    bad.write_text("{", encoding="utf-8")
    res = _run(["recommend", str(bad)])
    assert res.exit_code == 2 and "not valid JSON" in res.stderr


def test_compare_json_contract(tmp_path: Path) -> None:
    appraisal = {
        "hazard_points_total": 10,
        "hazard_points_eliminated": 8,
        "irr": 0.07,
        "jobs_by_year": [20, 25],
    }
    res = _run(
        [
            "compare",
            _write(tmp_path, PROFILE),
            "--appraisal",
            _write(tmp_path, appraisal, "appraisal.json"),
            "--on",
            ON,
            "-f",
            "json",
        ]
    )
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert set(data) == {"profile", "recommendation", "dimensions", "modes"}
    assert list(data["modes"]) == [
        "safety_baseline",
        "resource_utilization",
        "property_rights",
        "industry_integration",
    ]
    safety = data["modes"]["safety_baseline"]
    assert set(safety) == {"mode", "name", "score", "dimensions", "criteria"}
    crit = {c["code"]: c for m in data["modes"].values() for c in m["criteria"]}
    assert crit["IAD-SAFETY-HAZARD-RATE"]["value"] == pytest.approx(0.8)  # 8/10
    assert crit["IAD-INDUSTRY-IRR"]["value"] == 0.07
    assert crit["IAD-INDUSTRY-JOBS-PERSISTENCE"]["value"] == 1.0  # 25/25
    assert crit["IAD-RIGHTS-PREMIUM"]["value"] is None
    assert "transactions" in crit["IAD-RIGHTS-PREMIUM"]["reason"]
    assert data["recommendation"]["primary_mode"] == "industry_integration"
    assert data["dimensions"]["participants"]["zh"] == "行动舞台：参与者"


def test_compare_table_in_chinese_and_bad_appraisal(tmp_path: Path) -> None:
    path = _write(tmp_path, PROFILE)
    res = _run(["compare", path, "--on", ON, "--lang", "zh"])
    assert res.exit_code == 0, res.output
    assert "外部变量" in res.stdout
    bad = _write(tmp_path, {"gep_before": "lots"}, "appraisal.json")
    res = _run(["compare", path, "--appraisal", bad, "--on", ON])
    assert res.exit_code == 2
    assert 'column "gep_before"' in res.stderr and "appraisal.json" in res.stderr


def test_profile_from_the_store_pipes_into_recommend(
    register: Register, context_gpkg: str, tmp_path: Path
) -> None:
    from restora.store import Store

    url = f"sqlite:///{tmp_path / 'restora.db'}"
    with Store(url) as store:
        store.add_register(register, source={"test": True})
    args = ["profile", "--mine", "B", "--db", url, "--context", context_gpkg, "--on", ON]
    res = _run(
        [*args, "--set", "market_maturity=medium", "--set", "solid_waste_m3=50000", "-f", "json"]
    )
    assert res.exit_code == 0, res.output
    derived = json.loads(res.stdout)
    assert set(derived) == {"profile", "sources", "defaults", "tables"}
    assert derived["profile"]["geohazard_risk"] == "high"
    assert derived["sources"]["solid_waste_m3"] == "context"
    assert derived["profile"]["solid_waste_m3"] == 50000
    assert "social_capital_interest" in derived["defaults"]
    rec = _run(["recommend", "-", "--on", ON, "-f", "json"], stdin=res.stdout)
    assert rec.exit_code == 0, rec.output
    assert json.loads(rec.stdout)["sequence"][0] == "safety_baseline"
    res = _run(["profile", "--mine", "nope", "--db", url, "--on", ON])
    assert res.exit_code == 2 and "--mine" in res.stderr
    res = _run([*args, "--set", "transport_access=teleport"])
    assert res.exit_code == 2 and 'column "transport_access"' in res.stderr
