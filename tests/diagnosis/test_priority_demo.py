"""The demo county (青山县, fictional) through hazards, location, suitability and the ranking."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
import typer
from typer.testing import CliRunner

from restora.cli.diagnose_site import add_commands as add_diagnose
from restora.cli.diagnose_site import mine_location, read_context, site_context
from restora.cli.mines_rank import add_commands as add_mines
from restora.diagnosis import hazard, priority, suitability
from restora.inventory.geometry import equal_area_hm2
from restora.inventory.model import Register
from restora.inventory.schema import METALS, MINE_COLUMNS, TABLES

DEMO = Path(__file__).resolve().parents[2] / "examples" / "demo-county"
ON = "2025-06-01"


def _typed(name: str, frame: pd.DataFrame) -> pd.DataFrame:
    """Give a frame the register's dtypes (written here, independently of the readers)."""
    kinds = {c.name: c.kind for c in TABLES[name]}
    out = frame.copy()
    for col in out.columns:
        k = kinds.get(col)
        if k == "float" or col == "area_hm2":
            out[col] = pd.to_numeric(out[col], errors="coerce").astype(float)
        elif k == "int":
            out[col] = pd.to_numeric(out[col], errors="coerce").round().astype("Int64")
        elif k == "bool":
            out[col] = out[col].astype("boolean")
        elif k == "str":
            out[col] = out[col].astype(object).where(out[col].notna(), None)
    return out


@pytest.fixture(scope="module")
def demo() -> tuple[Register, dict]:
    gdf = gpd.read_file(DEMO / "register.gpkg", layer="sites")
    mine_cols = [c.name for c in MINE_COLUMNS]
    mines = _typed("mines", pd.DataFrame(gdf[mine_cols]).drop_duplicates("mine_id"))
    lonlat = gdf.to_crs("EPSG:4326")
    empty = Register.empty()
    sites = pd.DataFrame(gdf.drop(columns="geometry"))
    sites = sites[[c for c in empty.sites.columns if c in sites.columns]]
    sites["geometry"] = lonlat.geometry.to_numpy()
    sites["area_hm2"] = equal_area_hm2(sites["geometry"].to_numpy())
    sites = _typed("sites", sites)
    hazards = _typed("hazards", pd.read_csv(DEMO / "hazards.csv", dtype={"mine_id": str}))
    samples = pd.read_csv(DEMO / "soil_samples.csv")
    samples = _typed("samples", samples[[c for c in empty.samples.columns if c in samples]])
    for metal in METALS:  # "ND" (below detection) → NaN: not measured, for this test
        samples[metal] = pd.to_numeric(samples[metal], errors="coerce").astype(float)
    reg = Register(
        mines=mines.reset_index(drop=True), sites=sites, samples=samples, hazards=hazards
    )
    return reg, read_context(str(DEMO / "context.gpkg"))


def test_demo_location_matches_brute_force(demo):
    reg, ctx = demo
    assert ctx["crs"].endswith("4547") or "4547" in ctx["crs"]
    loc = mine_location(reg.sites, ctx, 10_000.0).set_index("mine_id")
    assert len(loc) == reg.mines["mine_id"].nunique() == 40
    # independent check: project each mine's sites, area-weighted centroid, brute-force distances
    gdf = gpd.read_file(DEMO / "register.gpkg", layer="sites")
    towns = ctx["towns"]
    for mid, group in list(gdf.groupby("mine_id"))[:8]:
        a = group.geometry.area.to_numpy()
        c = group.geometry.centroid
        x = float((a * c.x).sum() / a.sum())
        y = float((a * c.y).sum() / a.sum())
        p = shapely.Point(x, y)
        d_town = min(p.distance(t) for t in towns.geometry)
        d_road = min(p.distance(r) for r in ctx["roads"].geometry)
        pop = sum(
            n
            for t, n in zip(towns.geometry, towns["population"], strict=True)
            if p.distance(t) <= 10_000
        )
        # the register's geometry went to lon/lat and back: centimetres of difference at most
        assert loc.loc[mid, "distance_to_town_m"] == pytest.approx(d_town, abs=0.5)
        assert loc.loc[mid, "distance_to_road_m"] == pytest.approx(d_road, abs=0.5)
        assert loc.loc[mid, "population_10km"] == pop


def test_demo_hazards_and_ranking(demo):
    reg, ctx = demo
    ht = hazard.load_tables(on=ON)
    graded = hazard.grade_hazards(reg.hazards, ht)
    assert len(graded) == len(reg.hazards) == 66
    assert set(graded["grade"]) <= {"low", "medium", "high"}
    mines = hazard.grade_mines(graded, list(reg.mines["mine_id"]))
    assert (mines["grade"] == "none").sum() == 40 - reg.hazards["mine_id"].nunique()
    pt = priority.load_tables(on=ON)
    loc = mine_location(reg.sites, ctx, pt.population_radius_m)
    raw = priority.indicators(reg.mines, reg.sites, pt, mines, None, loc)
    ranked, method = priority.rank(raw, pt)
    assert len(ranked) == 40 and list(ranked["rank"]) == list(range(1, 41))
    for col in ("score", "damage", "risk", "potential"):
        assert ranked[col].between(0, 1).all()
    assert np.all(np.diff(ranked["score"].to_numpy()) <= 0)
    assert method["dropped_indicators"] == ["pollution_level"]


def test_demo_suitability_respects_planning_layers(demo):
    reg, ctx = demo
    inputs = reg.sites.drop(columns="geometry").copy()
    extra = site_context(reg.sites, ctx)
    for col in extra.columns[1:]:
        inputs[col] = extra[col].to_numpy()
    assert inputs["in_ecological_redline"].any()  # the demo has sites in each zone
    r = suitability.assess_sites(inputs, suitability.load_tables(on=ON))
    merged = r.merge(inputs[["site_id", "in_ecological_redline", "water"]], on="site_id")
    ok = merged[merged["status"] == "suitable"]
    assert not ((ok["use"] == "construction") & ok["in_ecological_redline"]).any()
    first = ok[ok["rank"] == 1]
    assert (first.loc[first["water"].astype(bool), "use"] == "water").all()


def test_demo_rank_cli(demo, tmp_path):
    reg, _ = demo
    from restora.store import Store

    url = f"sqlite:///{tmp_path / 'demo.db'}"
    with Store(url) as store:
        store.add_register(reg, source={"demo": "qingshan"})
    app, mines_app, diag = typer.Typer(), typer.Typer(), typer.Typer()
    add_mines(mines_app)
    add_diagnose(diag)
    app.add_typer(mines_app, name="mines")
    app.add_typer(diag, name="diagnose")
    args = ["mines", "rank", "--db", url, "--context", str(DEMO / "context.gpkg"), "--on", ON]
    res = CliRunner().invoke(app, [*args, "--top", "10", "--format", "json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert len(data["ranking"]) == 10
    assert data["method"]["dropped_indicators"] == []  # samples give the pollution classes
    assert {"priority/weights", "hazard/danger-matrix"} <= {
        t["name"] for t in data["reference_tables"]
    }
    res = CliRunner().invoke(app, [*args, "--format", "table"])
    assert res.exit_code == 0, res.output
    assert "Restoration priority" in res.stdout
