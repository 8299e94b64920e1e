"""Sites without boundary (a point register's centre point and declared area) wherever a
boundary matters (issue 12 item 3): zoning and overlays say "no boundary", the map draws a
point, ESV and the plan use the declared area and say so. Before issue 12 such a site could
not exist (a point register imported as mines without sites); the checks below would fail on
a point silently taken as a polygon (zone shares of 1 for a point in a zone, no map entry, no
note in the plan).
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from inventory_fixtures import GK, X0, Y0

from restora.appraisal.mapdata import map_data
from restora.diagnosis.county import site_context
from restora.diagnosis.site_zones import zone_sites
from restora.errors import InputError
from restora.inventory.geometry import reproject
from restora.inventory.io import read_register
from restora.planning.planner import make_plan
from restora.valuation.esv import esv_before_after


@pytest.fixture
def register(tmp_path: Path):
    """M1: a 100 m square polygon site (1 hm²); M2: a point site of 30 亩 (2 hm²) 1 km east."""
    square = shapely.to_wkt(
        reproject([shapely.box(X0, Y0, X0 + 100, Y0 + 100)], GK, "EPSG:4326")[0],
        rounding_precision=-1,
    )
    sites = tmp_path / "sites.csv"
    sites.write_text(
        "mine_id,name,region_code,mineral,status,site_id,kind,declared_area_hm2,wkt,crs\n"
        f'M1,甲矿,430181,coal,abandoned,S1,open_pit,1.0,"{square}",EPSG:4326\n',
        encoding="utf-8",
    )
    lon, lat = reproject([shapely.Point(X0 + 1050, Y0 + 50)], GK, "EPSG:4326")[0].coords[0]
    points = tmp_path / "points.csv"
    points.write_text(
        "矿山编号,矿山名称,行政区代码,矿种,状态,损毁类型,经度,纬度,面积（亩）\n"
        f"M2,乙矿,430181,煤,废弃,采场,{lon!r},{lat!r},30\n",
        encoding="utf-8",
    )
    samples = tmp_path / "samples.csv"
    samples.write_text(
        "sample_id,mine_id,site_id,lon,lat,ph,land_use,Cd\n"
        f"P1,M2,M2-1,{lon!r},{lat!r},6.0,paddy,0.8\n",
        encoding="utf-8",
    )
    reg, _ = read_register([sites, points, samples], lonlat_wgs84=True)
    return reg


def _zone(x0: float, y0: float, size: float) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(geometry=[shapely.box(x0, y0, x0 + size, y0 + size)], crs=GK)


def test_zoning_says_no_boundary(register):
    with pytest.raises(InputError, match="site M2-1: no boundary") as err:
        zone_sites(register.sites, register.samples, strict=True)
    assert err.value.problems[0].field == "geometry"
    assert zone_sites(register.sites, register.samples) == []  # not zoned, not guessed


def test_overlay_flags_are_unknown_without_boundary(register):
    """Both sites lie inside the red-line zone; only the polygon's share is known (1.0)."""
    context = {"crs": GK, "ecological_redline": _zone(X0 - 500, Y0 - 500, 3000)}
    out = site_context(register.sites, context).set_index("site_id")
    assert out.loc["S1", "has_boundary"] and not out.loc["M2-1", "has_boundary"]
    assert out.loc["S1", "in_ecological_redline"] is True
    assert out.loc["S1", "share_ecological_redline"] == pytest.approx(1.0)
    assert out.loc["M2-1", "in_ecological_redline"] is None
    assert pd.isna(out.loc["M2-1", "share_ecological_redline"])


def test_map_draws_a_point_and_names_it(register):
    m = map_data(register.sites, {"crs": GK}, ["M1", "M2"])
    assert m is not None
    by_id = {s["site_id"]: s for s in m["sites"]}
    assert by_id["S1"]["boundary"] and by_id["S1"]["geometry"]["type"] == "Polygon"
    assert not by_id["M2-1"]["boundary"] and by_id["M2-1"]["geometry"]["type"] == "Point"
    x, y = by_id["M2-1"]["geometry"]["coordinates"]
    assert x == pytest.approx(X0 + 1050, abs=1e-3) and y == pytest.approx(Y0 + 50, abs=1e-3)
    assert m["sites_without_boundary"] == ["M2-1"]


def test_esv_uses_the_declared_area_and_says_so(register):
    out = esv_before_after(register.sites, {}).set_index("site_id")
    assert out.loc["M2-1", "area_hm2"] == 2.0  # 30 亩 / 15
    assert out.loc["M2-1", "area_basis"] == "declared"
    assert out.loc["S1", "area_basis"] == "geometry"
    assert out.loc["S1", "area_hm2"] == pytest.approx(1.0, rel=1e-3)  # 100 m × 100 m


def test_plan_sizes_works_on_the_declared_area_and_says_so(register):
    plan = make_plan(register, "M2", price_year=2024, start_year=2026)
    assert plan.notes[0] == (
        "site M2-1 has no boundary (a point register's centre point): its works are sized "
        "on its declared area, 2.0000 hm² (30.00 亩)"
    )
    survey = next(w for w in plan.mine_works if w.item == "topographic_survey")
    assert survey.quantity == 2.0  # hm², the declared area
    assert not make_plan(register, "M1", price_year=2024, start_year=2026).notes


def test_site_area_of_a_point_site_is_declared(register):
    """site_area_hm2 took a finite area_hm2 for the polygon's; a point site's is declared."""
    from restora.inventory.site_area import site_area_hm2

    area, source = site_area_hm2(register.sites.set_index("site_id").loc[["S1", "M2-1"]])
    assert source.tolist() == ["geometry", "declared"]
    assert area[1] == 2.0 and area[0] == pytest.approx(1.0, rel=1e-3)
