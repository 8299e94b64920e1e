"""A mine's diagnosis, plan, cost estimate and valuation over the API against the command line.

Each route computes what the CLI computes for a mine of the same store; the tests run both on
the demo county store with the same date and compare, and check the valuation's totals against
an independent path (``restora value esv`` on the sites' areas per ecosystem type).
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict

import pytest
from typer.testing import CliRunner

from restora.cli import app as cli
from restora.service.security import Principal

MINE = "QS-M30"  # tailings pond, dump, pits: samples, zones and high-grade hazards
ON = dt.date.today().isoformat()
START = str(dt.date.today().year + 1)


def _as(principal):
    async def authenticate(request):
        return principal

    return authenticate


@pytest.fixture
def admin(client):
    before = getattr(client.app.state, "authenticate", None)
    client.app.state.authenticate = _as(Principal(role="admin", user_id=1, username="admin"))
    yield client
    client.app.state.authenticate = before


def _cli(client, *args: str) -> dict | list:
    db = str(client.app.state.store.engine.url)
    r = CliRunner().invoke(cli, [*args, "--db", db, "--on", ON, "--format", "json"])
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


def test_the_diagnosis_is_the_clis(admin):
    r = admin.get(f"/api/v1/mines/{MINE}/diagnosis", params={"on": ON})
    assert r.status_code == 200, r.text
    d = r.json()
    hazards = _cli(admin, "diagnose", "hazards", "--mine", MINE)
    assert d["hazards"]["grade"] == hazards["mines"][0]["grade"]
    assert {h["hazard_id"]: h["grade"] for h in d["hazards"]["hazards"]} == {
        h["hazard_id"]: h["grade"] for h in hazards["hazards"]
    }
    soil = _cli(admin, "diagnose", "soil", "--mine", MINE)
    assert [(s["sample_id"], s["class"], s["nemerow"]) for s in d["soil"]["samples"]] == [
        (s["sample_id"], s["class"], s["nemerow"]) for s in soil
    ]
    # every factor carries its screening value and the stated detection limit (null: measured)
    factor = d["soil"]["samples"][0]["factors"]["Cd"]
    assert {"screening", "intervention", "detection_limit", "below_lod"} <= set(factor)
    zones = _cli(admin, "diagnose", "zones", "--mine", MINE)
    assert [(z["site_id"], [(x["zone_id"], x["zone_class"], x["area_hm2"]) for x in z["zones"]])
            for z in d["zones"]] == [
        (z["site_id"], [(x["zone_id"], x["zone_class"], x["area_hm2"]) for x in z["zones"]])
        for z in zones
    ]  # fmt: skip
    assert all(
        x["geometry"]["type"] in ("Polygon", "MultiPolygon") for z in d["zones"] for x in z["zones"]
    )
    suit = _cli(admin, "diagnose", "suitability", "--mine", MINE)
    assert {s["site_id"]: s["best_use"] for s in d["suitability"]} == {
        s["site_id"]: s["best_use"] for s in suit["sites"]
    }


def test_the_plan_and_its_cost_are_the_clis(admin):
    plan = admin.get(f"/api/v1/mines/{MINE}/plan", params={"on": ON, "start_year": START})
    assert plan.status_code == 200, plan.text
    assert plan.json() == _cli(admin, "plan", "make", MINE, "--start-year", START)
    params = {"on": ON, "start_year": START, "draws": 500, "seed": 3}
    cost = admin.get(f"/api/v1/mines/{MINE}/cost", params=params)
    assert cost.status_code == 200, cost.text
    by_cli = _cli(
        admin, "cost", "estimate", "--mine", MINE, "--draws", "500", "--seed", "3",
        "--start-year", START,
    )  # fmt: skip
    assert cost.json() == by_cli
    assert cost.json()["draws"] == 500
    r = admin.get(f"/api/v1/mines/{MINE}/cost", params={"draws": 20_001})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "draws"


def test_the_valuation_totals_agree_with_the_equivalent_factor_method(admin, tmp_path):
    v = admin.get(f"/api/v1/mines/{MINE}/valuation", params={"on": ON, "start_year": START})
    assert v.status_code == 200, v.text
    v = v.json()
    sites = {
        s["site_id"]: s
        for s in admin.get("/api/v1/sites", params={"mine_id": MINE}).json()["items"]
    }
    plan = admin.get(f"/api/v1/mines/{MINE}/plan", params={"on": ON, "start_year": START}).json()
    after_use = {s["site_id"]: s["after_use"] for s in plan["sites"]}
    areas: dict[str, float] = defaultdict(float)
    for s in v["sites"]:
        assert s["area_hm2"] == pytest.approx(sites[s["site_id"]]["area_hm2"])
        assert s["after_use"] == after_use[s["site_id"]]
        change = s["esv_after_cny_per_yr"] - s["esv_before_cny_per_yr"]
        assert s["esv_change_cny_per_yr"] == pytest.approx(change)
        areas[s["type_before"]] += s["area_hm2"]
    assert v["total_before_cny_per_yr"] == pytest.approx(
        sum(s["esv_before_cny_per_yr"] for s in v["sites"])
    )
    # independently: Xie et al. (2015) on the areas per damaged-state type (restora value esv)
    doc = tmp_path / "areas.json"
    doc.write_text(json.dumps({"areas_hm2": {k: a for k, a in areas.items() if k}}))
    r = CliRunner().invoke(cli, ["value", "esv", str(doc), "--on", ON, "--format", "json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["total_cny_per_yr"] == pytest.approx(v["total_before_cny_per_yr"])


def test_computed_reads_keep_to_the_region_and_the_matrix(client):
    before = getattr(client.app.state, "authenticate", None)
    try:
        client.app.state.authenticate = _as(
            Principal(role="natural_resources", user_id=2, username="b", region="430100")
        )
        assert client.get(f"/api/v1/mines/{MINE}/plan").status_code == 404
        client.app.state.authenticate = _as(Principal(role="finance", user_id=3, username="f"))
        assert client.get(f"/api/v1/mines/{MINE}/cost").status_code == 403
        assert client.get(f"/api/v1/mines/{MINE}/diagnosis").status_code == 403
    finally:
        client.app.state.authenticate = before
