"""``restora plan make MINE`` from a register in the store, then re-costed from the file."""

from __future__ import annotations

import json

import pandas as pd
import shapely
from typer.testing import CliRunner

from restora.cli import app
from restora.inventory.model import Register, empty_table

runner = CliRunner()


def _store(tmp_path) -> str:
    from restora.store import Store

    url = f"sqlite:///{tmp_path / 'r.db'}"
    mines = pd.DataFrame(
        [{"mine_id": "M1", "name": "quarry", "region_code": "430521", "mineral": "building_stone",
          "status": "abandoned", "responsible_party": "absent"}]
    )  # fmt: skip
    box = shapely.box(111.0, 27.0, 111.002, 27.002)
    sites = empty_table("sites")
    sites = pd.DataFrame(
        [{"site_id": "P", "mine_id": "M1", "kind": "open_pit", "declared_area_hm2": None,
          "slope_deg": 35.0, "water": False, "water_depth_m": None, "soil_thickness_m": 0.0,
          "area_hm2": 4.4, "geometry": box}]
    )  # fmt: skip
    hazards = pd.DataFrame(
        [{"hazard_id": "H1", "mine_id": "M1", "site_id": "P", "kind": "collapse",
          "volume_m3": 800.0, "people_threatened": 12, "distance_to_buildings_m": 80.0}]
    )  # fmt: skip
    with Store(url) as s:
        s.add_register(Register(mines, sites, empty_table("samples"), hazards))
    return url


def test_plan_make_then_cost(tmp_path):
    url = _store(tmp_path)
    out = tmp_path / "M1.yaml"
    r = runner.invoke(
        app,
        ["plan", "make", "M1", "--db", url, "--price-year", "2023", "--start-year", "2026",
         "--out", str(out), "--format", "json"],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["mine_id"] == "M1" and doc["region_code"] == "430521"
    works = doc["sites"][0]["works"]
    hazard = [w for w in works if w["note"].startswith("hazard H1")]
    assert hazard and hazard[0]["quantity"] == 800  # collapse: 1 m³ cut per m³
    assert "grade" in hazard[0]["note"]
    assert out.is_file()
    r = runner.invoke(app, ["cost", "estimate", str(out), "--draws", "200", "-f", "json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["mines"] == ["M1"]


def test_plan_make_unknown_mine_exits_2(tmp_path):
    url = _store(tmp_path)
    r = runner.invoke(app, ["plan", "make", "NOPE", "--db", url])
    assert r.exit_code == 2
    assert "NOPE" in r.output


def test_plan_make_with_diagnosis_zones(tmp_path):
    url = _store(tmp_path)
    zones = tmp_path / "zones.json"
    doc = [
        {
            "site_id": "P",
            "zones": [
                {"zone_id": "P-z1", "zone_class": "severe", "area_hm2": 0.2,
                 "techniques": [{"code": "TECH-STAB-SOLID", "unit_cost_key":
                                 "stabilization_solidification", "land_use_after":
                                 ["ecological", "construction"], "max_depth_m": 10}]},
                {"zone_id": "P-z2", "zone_class": "clean", "area_hm2": 4.2, "techniques": []},
            ],
        }
    ]  # fmt: skip
    zones.write_text(json.dumps(doc), encoding="utf-8")
    r = runner.invoke(
        app,
        ["plan", "make", "M1", "--db", url, "--price-year", "2023", "--zones", str(zones),
         "-f", "json"],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    works = json.loads(r.stdout)["sites"][0]["works"]
    ss = [w for w in works if w["item"] == "stabilization_solidification"]
    # 0.2 hm² × 10 000 m² × min(0.5 m planner depth, 10 m) = 1000 m³; the clean zone: nothing
    assert [w["quantity"] for w in ss] == [1000] and ss[0]["phase"] == "pollution"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"site_id": "P", "zones": [{"zone_id": "z"}]}]), encoding="utf-8")
    r = runner.invoke(app, ["plan", "make", "M1", "--db", url, "--zones", str(bad)])
    assert r.exit_code == 2 and "site 1, zone 1" in r.output and "zone_class" in r.output


def test_cost_estimate_of_a_mine_id_plans_it_from_the_store(tmp_path):
    url = _store(tmp_path)
    r = runner.invoke(
        app,
        ["cost", "estimate", "--mine", "M1", "--db", url, "--price-year", "2023", "--start-year", "2026",
         "--draws", "200", "-f", "json"],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["mines"] == ["M1"] and doc["price_year"] == 2023
    assert doc["by_phase"]["closure_hazard"]["deterministic_cny"] > 0
    assert doc["total_p50_cny"] <= doc["total_p90_cny"]
