"""The register over the API: mines, sites, samples and hazards on the demo county store.

Writes go through the register import's checks and the store's audited transactions; these
tests check the values the API computes by hand or against an independent implementation,
the audit trail of each write, region scope and the problem details of bad input.
"""

from __future__ import annotations

import json
from collections import Counter

import pytest
import shapely
from typer.testing import CliRunner

from restora import refdata
from restora.inventory.geometry import geodesic_area_hm2
from restora.service.security import Principal
from restora.store import Store

ADMIN = Principal(role="admin", user_id=1, username="admin")
SQUARE = {  # 0.01° × 0.01° at 27° N, lon/lat
    "type": "Polygon",
    "coordinates": [
        [[112.0, 27.0], [112.01, 27.0], [112.01, 27.01], [112.0, 27.01], [112.0, 27.0]]
    ],
}


def _as(principal):
    async def authenticate(request):
        return principal

    return authenticate


@pytest.fixture
def admin(client):
    client.app.state.authenticate = _as(ADMIN)
    yield client
    client.app.state.authenticate = None


@pytest.fixture
def as_role(client):
    def use(principal):
        client.app.state.authenticate = _as(principal)
        return client

    yield use
    client.app.state.authenticate = None


def _history(client, mine_id):
    with Store(str(client.app.state.store.engine.url)) as store:
        return store.history(mine_id)


def _errors(r):
    return {e["field"]: e["message"] for e in r.json()["errors"]}


# -- mines -----------------------------------------------------------------------------------


def test_a_mine_is_created_with_the_imports_codes_updated_and_audited(admin):
    body = {
        "mine_id": "API-M1",
        "name": "测试煤矿",
        "region_code": "430599",
        "mineral": "煤",  # Chinese, as a register file may write it
        "status": "历史遗留",
        "closure_year": 1998,
    }
    r = admin.post("/api/v1/mines", json=body)
    assert r.status_code == 201, r.text
    assert r.headers["location"].endswith("/api/v1/mines/API-M1")
    m = r.json()
    assert (m["mineral"], m["status"], m["responsible_party"]) == ("coal", "abandoned", "absent")
    assert (m["sites"], m["area_hm2"], m["area_mu"]) == (0, 0.0, 0.0)
    assert admin.post("/api/v1/mines", json=body).status_code == 409

    r = admin.patch("/api/v1/mines/API-M1", json={"status": "关闭", "closure_year": None})
    assert r.status_code == 200 and r.json()["status"] == "closed"
    assert r.json()["closure_year"] is None
    trail = _history(admin, "API-M1")
    assert [h["action"] for h in trail] == ["insert", "update"]
    assert trail[0]["command"] == "POST /api/v1/mines" and trail[0]["user"] == "admin"
    # only the given fields changed, nothing else is in the diff
    assert trail[1]["before"] == {"status": "abandoned", "closure_year": 1998}
    assert trail[1]["after"] == {"status": "closed", "closure_year": None}

    # nothing given: nothing written
    assert admin.patch("/api/v1/mines/API-M1", json={}).status_code == 200
    assert len(_history(admin, "API-M1")) == 2


def test_bad_mine_fields_are_problem_details_naming_each_field(admin):
    r = admin.post(
        "/api/v1/mines",
        json={
            "mine_id": "API-BAD",
            "name": "x",
            "region_code": "999999",
            "mineral": "gold",
            "status": "abandoned",
        },
    )
    assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")
    errors = _errors(r)
    # the import's own words: a 6-digit GB/T 2260 code, the accepted mineral values
    assert "GB/T 2260" in errors["region_code"]
    assert "not a known mineral" in errors["mineral"] and "煤" in errors["mineral"]
    r = admin.patch("/api/v1/mines/QS-M01", json={"landscape_value": "very", "colour": "red"})
    assert r.status_code == 422 and "colour" in _errors(r)
    r = admin.patch("/api/v1/mines/QS-M01", json={"landscape_value": "very"})
    assert r.status_code == 422 and "landscape_value" in _errors(r)


def test_a_mine_with_records_is_deleted_only_with_cascade_and_restored_whole(admin):
    mine = "QS-M02"
    before = {
        t: admin.get(f"/api/v1/{t}", params={"mine_id": mine}).json()["total"]
        for t in ("sites", "samples", "hazards")
    }
    r = admin.delete(f"/api/v1/mines/{mine}", params={"reason": "duplicate entry"})
    assert r.status_code == 409 and r.json()["errors"][0]["field"] == "mine_id"
    r = admin.delete(f"/api/v1/mines/{mine}", params={"reason": "duplicate entry", "cascade": True})
    assert r.status_code == 200
    gone = r.json()["deleted"]
    assert {t: len(gone[t]) for t in before} == before
    assert admin.get(f"/api/v1/mines/{mine}").status_code == 404
    assert admin.get("/api/v1/sites", params={"mine_id": mine}).json()["total"] == 0
    assert admin.delete(f"/api/v1/mines/{mine}", params={"reason": "x"}).status_code == 404
    r = admin.post(f"/api/v1/mines/{mine}/restore")
    assert r.status_code == 200 and r.json()["restored"]["sites"] == gone["sites"]
    assert admin.get(f"/api/v1/mines/{mine}").json()["sites"] == before["sites"]
    assert admin.post(f"/api/v1/mines/{mine}/restore").status_code == 409  # not deleted
    assert admin.delete(f"/api/v1/mines/{mine}", params={"reason": " "}).status_code == 422


def test_priority_classes_cut_the_ranking_in_thirds_and_follow_writes(admin, tmp_path):
    everything = admin.get("/api/v1/mines", params={"limit": 500}).json()["items"]
    demo = [m for m in everything if m["mine_id"].startswith("QS-")]
    ranked = sorted(everything, key=lambda m: m["priority_rank"])
    assert [m["priority_rank"] for m in ranked] == list(range(1, len(everything) + 1))
    # the ranking is restora mines rank's over the same store
    cli = CliRunner().invoke(
        __import__("restora.cli", fromlist=["app"]).app,
        ["mines", "rank", "--db", str(admin.app.state.store.engine.url), "--format", "json"],
    )
    assert cli.exit_code == 0, cli.output
    by_cli = {r["mine_id"]: r["rank"] for r in json.loads(cli.stdout)["ranking"]}
    assert {m["mine_id"]: m["priority_rank"] for m in everything} == by_cli
    # n mines: rank r is high while r/n ≤ 1/3, medium while r/n ≤ 2/3 (priority/classes)
    n = len(everything)
    counts = Counter(m["priority_class"] for m in everything)
    high = sum(1 for r in range(1, n + 1) if r / n <= 1 / 3)
    medium = sum(1 for r in range(1, n + 1) if 1 / 3 < r / n <= 2 / 3)
    assert counts == {"high": high, "medium": medium, "low": n - high - medium}
    if n == 40:  # the demo county alone: 13 / 13 / 14 (13/40 = 0.325, 26/40 = 0.65)
        assert (high, medium) == (13, 13)
    page = admin.get("/api/v1/mines", params={"priority_class": "high", "limit": 5}).json()
    assert page["total"] == high and all(m["priority_class"] == "high" for m in page["items"])
    page = admin.get("/api/v1/mines", params={"sort": "-priority_rank", "limit": 3}).json()
    assert [m["priority_rank"] for m in page["items"]] == [n, n - 1, n - 2]
    assert demo

    # a write moves the ranking: the last mine gets a 5 000 hm² open pit and rises
    last = ranked[-1]["mine_id"]
    big = {
        "type": "Polygon",
        "coordinates": [
            [[113.0, 27.0], [113.3, 27.0], [113.3, 27.3], [113.0, 27.3], [113.0, 27.0]]
        ],
    }
    r = admin.post(
        "/api/v1/sites",
        json={"site_id": "API-BIG", "mine_id": last, "kind": "open_pit", "geometry": big},
    )
    assert r.status_code == 201, r.text
    after = admin.get(f"/api/v1/mines/{last}").json()
    assert after["priority_rank"] < n  # the cached ranking was dropped with the write
    admin.delete("/api/v1/sites/API-BIG", params={"reason": "test done"})
    assert admin.get(f"/api/v1/mines/{last}").json()["priority_rank"] == n


def test_a_county_bureau_writes_only_its_county(as_role):
    other = Principal(role="natural_resources", user_id=5, username="bureau", region="430100")
    c = as_role(other)
    body = {"mine_id": "API-OUT", "name": "x", "region_code": "430599", "mineral": "coal",
            "status": "abandoned"}  # fmt: skip
    assert c.post("/api/v1/mines", json=body).status_code == 403
    assert c.patch("/api/v1/mines/QS-M01", json={"name": "y"}).status_code == 404
    assert c.get("/api/v1/sites", params={"mine_id": "QS-M01"}).json()["total"] == 0
    assert c.get("/api/v1/samples/QS-M01-T01").status_code == 404
    finance = as_role(Principal(role="finance", user_id=6, username="bank"))
    assert finance.patch("/api/v1/mines/QS-M01", json={"name": "y"}).status_code == 403
    assert finance.get("/api/v1/mines/QS-M01").status_code == 200


# -- sites -----------------------------------------------------------------------------------


def test_a_sites_area_is_its_polygons_on_the_ellipsoid(admin):
    r = admin.post(
        "/api/v1/sites",
        json={"site_id": "API-S1", "mine_id": "QS-M01", "kind": "采坑", "geometry": SQUARE,
              "slope_deg": 12.5},
    )  # fmt: skip
    assert r.status_code == 201, r.text
    s = r.json()
    assert s["kind"] == "open_pit" and s["area_source"] == "geometry"
    # hand check: 0.01° of longitude at 27.005° N ≈ 111.32 km × cos 27.005° × 0.01 = 0.9918 km,
    # 0.01° of latitude ≈ 1.1087 km: ≈ 1.0996 km² = 109.96 hm² (spherical, 0.1 %)
    assert s["area_hm2"] == pytest.approx(109.96, rel=1e-3)
    # the China Albers equal-area area equals the geodesic one (pyproj.Geod, GRS 80)
    assert s["area_hm2"] == pytest.approx(
        geodesic_area_hm2(shapely.geometry.shape(SQUARE)), rel=1e-6
    )
    assert s["area_mu"] == pytest.approx(15 * s["area_hm2"])
    assert s["geometry"]["type"] == "Polygon"

    r = admin.patch("/api/v1/sites/API-S1", json={"slope_deg": 20, "water": True})
    assert r.status_code == 200 and (r.json()["slope_deg"], r.json()["water"]) == (20.0, True)
    assert r.json()["area_hm2"] == s["area_hm2"]
    update = [h for h in _history(admin, "QS-M01") if h["id"] == "API-S1"][-1]
    # the polygon went back through the import unchanged: only slope and water in the diff
    assert update["action"] == "update"
    assert set(update["after"]) == {"slope_deg", "water"}


def test_a_declared_area_is_checked_against_the_polygon(admin):
    r = admin.post(
        "/api/v1/sites",
        json={"site_id": "API-S2", "mine_id": "QS-M01", "kind": "open_pit", "geometry": SQUARE,
              "declared_area_hm2": 200.0},
    )  # fmt: skip
    assert r.status_code == 422
    message = _errors(r)["declared_area_hm2"]
    tolerance = refdata.get("inventory/declared-area-tolerance").data["relative"]
    assert "200.0000 hm² (3000.00 亩)" in message and f"{tolerance:g}" in message


def test_a_site_without_boundary_takes_its_declared_area(admin):
    r = admin.post(
        "/api/v1/sites",
        json={"site_id": "API-P1", "mine_id": "QS-M01", "kind": "dump", "lon": 112.5, "lat": 27.5,
              "declared_area_hm2": 2.5},
    )  # fmt: skip
    assert r.status_code == 201, r.text
    s = r.json()
    assert (s["kind"], s["area_hm2"], s["area_mu"], s["area_source"]) == (
        "waste_rock_dump",
        2.5,
        37.5,  # 2.5 hm² × 15
        "declared",
    )
    assert s["geometry"] == {"type": "Point", "coordinates": [112.5, 27.5]}
    r = admin.patch("/api/v1/sites/API-P1", json={"declared_area_hm2": 3.0})
    assert r.json()["area_hm2"] == 3.0 and r.json()["area_mu"] == 45.0


def test_bad_sites_name_the_field(admin):
    bowtie = {"type": "Polygon",
              "coordinates": [[[112, 27], [112.01, 27.01], [112.01, 27], [112, 27.01], [112, 27]]]}  # fmt: skip
    r = admin.post(
        "/api/v1/sites",
        json={"site_id": "API-X", "mine_id": "QS-M01", "kind": "open_pit", "geometry": bowtie,
              "slope_deg": 95},
    )  # fmt: skip
    assert r.status_code == 422
    errors = _errors(r)
    assert "Self-intersection" in errors["geometry"] and "outside 0–90" in errors["slope_deg"]
    r = admin.post(
        "/api/v1/sites",
        json={"site_id": "API-X", "mine_id": "QS-M01", "kind": "open_pit",
              "geometry": {"type": "Polygon", "coordinates": [[[1, 2], [3, 4]]]}},
    )  # fmt: skip
    assert r.status_code == 422 and "geometry" in _errors(r)
    r = admin.post(
        "/api/v1/sites",
        json={"site_id": "API-X", "mine_id": "NO-SUCH", "kind": "open_pit", "geometry": SQUARE},
    )
    assert r.status_code == 422 and "mine_id" in _errors(r)


def test_a_site_with_samples_is_deleted_with_cascade_and_restored_with_them(admin):
    site = "QS-M03-S1"
    samples = admin.get("/api/v1/samples", params={"site_id": site}).json()["items"]
    assert samples
    r = admin.delete(f"/api/v1/sites/{site}", params={"reason": "merged"})
    assert r.status_code == 409 and r.json()["errors"][0]["field"] == "site_id"
    r = admin.delete(f"/api/v1/sites/{site}", params={"reason": "merged", "cascade": True})
    assert r.status_code == 200
    assert sorted(r.json()["deleted"]["samples"]) == sorted(s["sample_id"] for s in samples)
    assert admin.get(f"/api/v1/samples/{samples[0]['sample_id']}").status_code == 404
    assert admin.post(f"/api/v1/sites/{site}/restore").status_code == 200
    assert admin.get(f"/api/v1/samples/{samples[0]['sample_id']}").status_code == 200


# -- samples and hazards ----------------------------------------------------------------------


def test_a_result_below_detection_is_kept_as_the_import_keeps_it(admin):
    r = admin.post(
        "/api/v1/samples",
        json={
            "sample_id": "API-T1",
            "mine_id": "QS-M01",
            "site_id": "QS-M01-S2",
            "ph": 6.5,
            "land_use": "水田",
            "sampled_on": "2024年9月10日",
            "metals_mg_per_kg": {"Cd": "<0.05", "Pb": 35, "Hg": "ND"},
        },
    )
    assert r.status_code == 201, r.text
    t = r.json()
    rule = refdata.get("soil/indices/non-detect").data
    assert t["land_use"] == "paddy" and t["sampled_on"] == "2024-09-10"
    assert t["metals_mg_per_kg"]["Cd"] == pytest.approx(float(rule["fraction_of_lod"]) * 0.05)
    assert t["metals_mg_per_kg"]["Hg"] == pytest.approx(float(rule["value_without_lod"]))
    assert t["detection_limits_mg_per_kg"]["Cd"] == 0.05
    assert t["detection_limits_mg_per_kg"]["Hg"] is None
    assert t["qualifiers"] == "Cd=<0.05; Hg=ND"
    # a measured value replaces the '<0.05' (its limit and its qualifier go)
    r = admin.patch("/api/v1/samples/API-T1", json={"metals_mg_per_kg": {"Cd": 0.4}})
    t = r.json()
    assert t["metals_mg_per_kg"]["Cd"] == 0.4 and t["detection_limits_mg_per_kg"]["Cd"] is None
    assert t["qualifiers"] == "Hg=ND" and t["metals_mg_per_kg"]["Pb"] == 35.0


def test_bad_samples_name_each_field_by_its_path(admin):
    r = admin.post(
        "/api/v1/samples",
        json={
            "sample_id": "API-T2",
            "mine_id": "QS-M01",
            "site_id": "QS-M02-S1",
            "ph": 16,
            "land_use": "x",
            "metals_mg_per_kg": {"Cd": "abc"},
        },
    )
    assert r.status_code == 422
    errors = _errors(r)
    assert errors["ph"] == "pH 16 is outside 0–14"
    assert "not a known land_use" in errors["land_use"]
    assert errors["metals_mg_per_kg.Cd"] == '"abc" is not a number'
    assert errors["site_id"] == "site 'QS-M02-S1' belongs to mine 'QS-M02', not 'QS-M01'"
    r = admin.post("/api/v1/samples", json={"sample_id": "API-T3", "mine_id": "QS-M01"})
    assert r.status_code == 422 and {"ph", "land_use"} <= set(_errors(r))
    r = admin.post(
        "/api/v1/samples",
        json={"sample_id": "API-T3", "mine_id": "QS-M01", "ph": 6, "land_use": "paddy",
              "metals_mg_per_kg": {"Au": 1}},
    )  # fmt: skip
    assert r.status_code == 422 and any(f.startswith("metals_mg_per_kg") for f in _errors(r))


def test_a_hazard_is_graded_in_its_mines_diagnosis(admin):
    r = admin.post(
        "/api/v1/hazards",
        json={"hazard_id": "API-H1", "mine_id": "QS-M05", "kind": "滑坡", "volume_m3": 1200,
              "people_threatened": 5},
    )  # fmt: skip
    assert r.status_code == 201, r.text
    assert r.json()["kind"] == "landslide"
    d = admin.get("/api/v1/mines/QS-M05/diagnosis").json()
    graded = {h["hazard_id"]: h for h in d["hazards"]["hazards"]}
    assert graded["API-H1"]["kind"] == "landslide" and graded["API-H1"]["grade"]
    r = admin.patch("/api/v1/hazards/API-H1", json={"people_threatened": -1})
    assert r.status_code == 422 and "people_threatened" in _errors(r)
    r = admin.delete("/api/v1/hazards/API-H1", params={"reason": "entered twice"})
    assert r.status_code == 200 and r.json()["deleted"]["hazards"] == ["API-H1"]
    assert admin.post("/api/v1/hazards/API-H1/restore").json()["restored"]["hazards"] == ["API-H1"]


def test_lists_filter_sort_and_page(admin):
    page = admin.get(
        "/api/v1/samples", params={"mine_id": "QS-M01", "sort": "-ph", "limit": 3}
    ).json()
    ph = [s["ph"] for s in page["items"]]
    assert ph == sorted(ph, reverse=True) and page["limit"] == 3
    assert all(s["mine_id"] == "QS-M01" for s in page["items"])
    kinds = admin.get("/api/v1/hazards", params={"kind": "landslide", "limit": 500}).json()
    assert kinds["total"] and all(h["kind"] == "landslide" for h in kinds["items"])
    r = admin.get("/api/v1/sites", params={"sort": "geometry"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "sort"
    assert admin.get("/api/v1/sites/NOPE").status_code == 404
