"""``restora mines rank`` and ``restora diagnose hazards|suitability`` end to end on a SQLite store."""

from __future__ import annotations

import json
import textwrap

import geopandas as gpd
import numpy as np
import pyproj
import pytest
import shapely
import typer
from typer.testing import CliRunner

from restora.cli.diagnose_site import add_commands as add_diagnose
from restora.cli.mines_rank import add_commands as add_mines
from restora.inventory.geometry import equal_area_hm2
from restora.inventory.model import Register

ON = "2024-06-01"
CRS = "EPSG:4547"
TO_LONLAT = pyproj.Transformer.from_crs(CRS, "EPSG:4326", always_xy=True)


def _app() -> typer.Typer:
    app = typer.Typer()
    mines, diagnose = typer.Typer(), typer.Typer()
    add_mines(mines)
    add_diagnose(diagnose)
    app.add_typer(mines, name="mines")
    app.add_typer(diagnose, name="diagnose")
    return app


def _square_lonlat(x: float, y: float, side: float) -> shapely.Polygon:
    """A square of ``side`` metres at projected (x, y) in EPSG:4547, returned in lon/lat."""
    box = shapely.box(x, y, x + side, y + side)
    return shapely.transform(box, lambda c: np.column_stack(TO_LONLAT.transform(c[:, 0], c[:, 1])))


@pytest.fixture
def county(tmp_path, register_frame):
    """Three mines 10 km apart, one town near A, a road near B; hazards only at B."""
    x0, y0 = 500_000.0, 3_340_000.0  # EPSG:4547: central meridian 114° E, false easting 500 km
    geoms = {
        "A": _square_lonlat(x0, y0, 300.0),  # 9 hm²
        "B": _square_lonlat(x0 + 10_000, y0, 200.0),  # 4 hm²
        "C": _square_lonlat(x0 + 20_000, y0, 100.0),  # 1 hm²
    }
    kinds = {"A": "open_pit", "B": "tailings_pond", "C": "waste_rock_dump"}
    mines = register_frame(
        "mines",
        [
            {
                "mine_id": m,
                "name": f"Mine {m}",
                "region_code": "420100",
                "mineral": "metal",
                "status": "abandoned",
                "closure_year": 2005,
                "landscape_value": lv,
            }
            for m, lv in zip("ABC", ["high", "low", "medium"], strict=True)
        ],
    )
    sites = register_frame(
        "sites",
        [
            {
                "site_id": f"{m}1",
                "mine_id": m,
                "kind": kinds[m],
                "geometry": geoms[m],
                "area_hm2": float(equal_area_hm2(np.array([geoms[m]]))[0]),
                "slope_deg": 5.0,
                "soil_thickness_m": 0.6,
                "water": m == "C",
                "water_depth_m": 1.0 if m == "C" else None,
            }
            for m in "ABC"
        ],
    )
    hazards = register_frame(
        "hazards",
        [
            # giant landslide threatening 1500 people: high
            {
                "hazard_id": "H1",
                "mine_id": "B",
                "kind": "landslide",
                "volume_m3": 2e7,
                "people_threatened": 1500,
            },
            # small collapse threatening nobody: low
            {
                "hazard_id": "H2",
                "mine_id": "B",
                "kind": "collapse",
                "volume_m3": 5e3,
                "people_threatened": 0,
            },
        ],
    )
    # GB 15618-2018, other farmland, pH 6.0: Cd screening 0.3, intervention 2.0 mg/kg
    samples = register_frame(
        "samples",
        [
            {
                "sample_id": "P1",
                "mine_id": "A",
                "site_id": "A1",
                "ph": 6.0,
                "land_use": "other",
                "Cd": 0.1,
            },
            {
                "sample_id": "P2",
                "mine_id": "B",
                "site_id": "B1",
                "ph": 6.0,
                "land_use": "other",
                "Cd": 0.5,
            },
            {
                "sample_id": "P3",
                "mine_id": "B",
                "site_id": "B1",
                "ph": 6.0,
                "land_use": "other",
                "Cd": 10.0,
            },
        ],
    )
    reg = Register(mines=mines, sites=sites, samples=samples, hazards=hazards)
    from restora.store import Store

    url = f"sqlite:///{tmp_path / 'restora.db'}"
    with Store(url) as store:
        store.add_register(reg, source={"test": True})

    ctx = tmp_path / "context.gpkg"
    towns = gpd.GeoDataFrame(
        {"name": ["Town"], "population": [30000]},
        geometry=[shapely.Point(x0 + 150, y0 + 1150)],  # 1 km north of A's centre
        crs=CRS,
    )
    towns.to_file(ctx, layer="towns")
    roads = gpd.GeoDataFrame(
        {"name": ["Road"]},
        geometry=[shapely.LineString([(x0 + 10_000, y0 - 500), (x0 + 10_200, y0 - 500)])],
        crs=CRS,
    )
    roads.to_file(ctx, layer="roads")
    redline = gpd.GeoDataFrame(
        {"name": ["RL"]}, geometry=[shapely.box(x0 - 50, y0 - 50, x0 + 100, y0 + 100)], crs=CRS
    )
    redline.to_file(ctx, layer="ecological_redline")
    return url, str(ctx)


def _json(result) -> dict:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_rank_json_with_context(county):
    url, ctx = county
    res = CliRunner().invoke(
        _app(), ["mines", "rank", "--db", url, "--context", ctx, "--on", ON, "--format", "json"]
    )
    data = _json(res)
    ranking = {r["mine_id"]: r for r in data["ranking"]}
    assert ranking["B"]["hazard_grade"] == "high"
    assert ranking["A"]["hazard_grade"] == "none"
    # A is 1 km from the town (1150 − 150 = 1000 m from the centre of a 300 m square)
    assert ranking["A"]["distance_to_town_m"] == pytest.approx(1000.0, abs=1.0)
    # the only town (30 000 people) is within 10 km of A only (B is ≈ 10.05 km away)
    assert ranking["A"]["population_10km"] == 30000
    assert ranking["C"]["population_10km"] == 0
    # weighted damaged area: A 9×1.2 = 10.8, B 4×1.5 = 6, C 1×1.0 = 1 → damage A 1, B 5/9.8, C 0
    assert ranking["A"]["damage"] == pytest.approx(1.0)
    assert ranking["B"]["damage"] == pytest.approx((6 - 1) / (10.8 - 1), rel=1e-3)
    assert [r["rank"] for r in data["ranking"]] == [1, 2, 3]
    names = {t["name"] for t in data["reference_tables"]}
    assert {"priority/weights", "priority/damage-factors", "hazard/danger-matrix"} <= names
    assert "PRIO-WEIGHTED-SUM" in data["rule_codes"] and "HAZ-MINE-MAX" in data["rule_codes"]
    # pollution from the register's samples: A clean (0.1 ≤ 0.3), B strict (10 > 2.0), C none
    assert data["method"]["dropped_indicators"] == []
    assert data["method"]["pollution_source"] == "register samples (GB 15618-2018)"
    assert [ranking[m]["pollution_class"] for m in "ABC"] == [
        "priority_protection",
        "strict_control",
        None,
    ]
    assert "soil/gb15618-2018/screening" in names or any(n.startswith("soil/") for n in names)


def test_rank_weights_file_changes_order_top_and_csv(county, tmp_path):
    url, _ = county
    base = _json(
        CliRunner().invoke(_app(), ["mines", "rank", "--db", url, "--on", ON, "--format", "json"])
    )
    first = base["ranking"][0]["mine_id"]
    wfile = tmp_path / "weights.yaml"
    wfile.write_text(
        textwrap.dedent(
            """
            components: {damage: 0.0, risk: 1.0, potential: 0.0}
            damage: {damaged_area_weighted_hm2: 1.0}
            risk: {hazard_level: 1.0}
            potential: {landscape_level: 1.0}
            population_radius_m: 10000
            """
        ),
        encoding="utf-8",
    )
    res = CliRunner().invoke(
        _app(),
        [
            "mines",
            "rank",
            "--db",
            url,
            "--weights",
            str(wfile),
            "--top",
            "1",
            "--on",
            ON,
            "--format",
            "json",
        ],
    )
    data = _json(res)
    # risk only: B (the only mine with hazards) comes first, and differs from the default
    assert [r["mine_id"] for r in data["ranking"]] == ["B"]
    assert first != "B"
    assert data["reference_tables"][0]["name"] == str(wfile)
    res = CliRunner().invoke(_app(), ["mines", "rank", "--db", url, "--on", ON, "--format", "csv"])
    assert res.exit_code == 0, res.output
    header = res.stdout.splitlines()[0].split(",")
    assert header[:7] == ["rank", "mine_id", "name", "score", "damage", "risk", "potential"]
    assert len(res.stdout.splitlines()) == 4


def test_rank_bad_weights_exit_2(county, tmp_path):
    url, _ = county
    wfile = tmp_path / "bad.yaml"
    wfile.write_text("components: {damage: -1}\n", encoding="utf-8")
    res = CliRunner().invoke(
        _app(), ["mines", "rank", "--db", url, "--weights", str(wfile), "--on", ON]
    )
    assert res.exit_code == 2
    assert "bad.yaml" in res.output


def test_diagnose_hazards_from_store_and_csv(county, tmp_path):
    url, _ = county
    data = _json(
        CliRunner().invoke(
            _app(), ["diagnose", "hazards", "--all", "--db", url, "--on", ON, "--format", "json"]
        )
    )
    grades = {m["mine_id"]: m["grade"] for m in data["mines"]}
    assert grades == {"A": "none", "B": "high", "C": "none"}
    assert {h["hazard_id"]: h["grade"] for h in data["hazards"]} == {"H1": "high", "H2": "low"}
    assert len(data["reference_tables"]) == 4
    csv = tmp_path / "h.csv"
    csv.write_text(
        "隐患点编号,矿山编号,灾害类型,规模(m3),威胁人数\nX1,M9,滑坡,500000,200\nX2,M9,泥石流,,\n",
        encoding="utf-8",
    )
    data = _json(
        CliRunner().invoke(
            _app(), ["diagnose", "hazards", "--hazards", str(csv), "--on", ON, "--format", "json"]
        )
    )
    # medium landslide × medium threat → medium; debris flow without data: medium × small → low
    assert [h["grade"] for h in data["hazards"]] == ["medium", "low"]
    bad = tmp_path / "bad.csv"
    bad.write_text("hazard_id,mine_id,kind\nX1,M9,volcano\n", encoding="utf-8")
    res = CliRunner().invoke(_app(), ["diagnose", "hazards", "--hazards", str(bad)])
    assert res.exit_code == 2 and "row 1" in res.output and "kind" in res.output


def test_diagnose_suitability_with_context_and_pollution(county, tmp_path):
    url, ctx = county
    pol = tmp_path / "pol.csv"
    pol.write_text("mine_id,pollution_class\nB,strict_control\n", encoding="utf-8")
    res = CliRunner().invoke(
        _app(),
        [
            "diagnose",
            "suitability",
            "--all",
            "--db",
            url,
            "--context",
            ctx,
            "--pollution",
            str(pol),
            "--on",
            ON,
            "--format",
            "json",
        ],
    )
    data = _json(res)
    sites = {s["site_id"]: s for s in data["sites"]}
    # A overlaps the red line: ecology first, no construction
    assert sites["A1"]["inputs"]["in_ecological_redline"] is True
    assert sites["A1"]["best_use"] == "forest"
    assert "construction" in [e["use"] for e in sites["A1"]["excluded"]]
    # B is strict_control: no cultivated land or garden
    assert {"cultivated", "garden"} <= {e["use"] for e in sites["B1"]["excluded"]}
    # C has standing water: water first
    assert sites["C1"]["best_use"] == "water"
    assert data["context"]["ecological_redline"] and not data["context"]["permanent_basic_farmland"]
    res = CliRunner().invoke(
        _app(), ["diagnose", "suitability", "--all", "--db", url, "--on", ON, "--format", "table"]
    )
    assert res.exit_code == 0, res.output


def test_suitability_classifies_register_samples(county):
    url, _ = county
    res = CliRunner().invoke(
        _app(), ["diagnose", "suitability", "--all", "--db", url, "--on", ON, "--format", "json"]
    )
    data = _json(res)
    sites = {s["site_id"]: s for s in data["sites"]}
    # B1's worst sample has Cd 10 mg/kg > 2.0 (intervention, pH 6): strict control
    assert sites["B1"]["inputs"]["pollution_class"] == "strict_control"
    assert "SUIT-POLL-STRICT" in next(
        e["rule_codes"] for e in sites["B1"]["excluded"] if e["use"] == "cultivated"
    )
    assert sites["A1"]["inputs"]["pollution_class"] == "priority_protection"
    assert sites["C1"]["inputs"]["pollution_class"] is None
    assert data["pollution_source"] == "register samples (GB 15618-2018)"
    # without the context, construction is excluded (location unknown) and A farms first
    assert sites["A1"]["best_use"] == "cultivated"


def test_suitability_from_sites_csv(tmp_path):
    csv = tmp_path / "sites.csv"
    csv.write_text(
        "图斑编号,矿山编号,坡度,土层厚度,积水,水深\nS1,M1,30,0.4,false,\nS2,M1,2,1.0,true,1.2\n",
        encoding="utf-8",
    )
    res = CliRunner().invoke(
        _app(), ["diagnose", "suitability", "--sites", str(csv), "--on", ON, "--format", "json"]
    )
    data = _json(res)
    best = {s["site_id"]: s["best_use"] for s in data["sites"]}
    # S1: 30° > 25° and 0.4 m soil: only forest (≤ 35°, ≥ 0.3 m); S2: standing water first
    assert best == {"S1": "forest", "S2": "water"}
