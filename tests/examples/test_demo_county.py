"""The demo county (examples/demo-county): reproducible, and realistic in the ways others rely on.

The committed files are regenerated into a temporary folder and compared cell by cell and
geometry by geometry (GeoPackage bytes differ by their timestamps, so content is compared).
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pandas as pd
import pyogrio
import pyproj
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from restora.inventory.geometry import equal_area_hm2, geodesic_area_hm2, reproject
from restora.inventory.model import valid_region_code
from restora.inventory.schema import (
    ABSENT,
    HAZARD_COLUMNS,
    HAZARD_KINDS,
    LAND_USES,
    METALS,
    MINE_COLUMNS,
    MINERALS,
    SAMPLE_COLUMNS,
    SITE_COLUMNS,
    SITE_KINDS,
    STATUSES,
)

DEMO = Path(__file__).resolve().parents[2] / "examples" / "demo-county"
CRS = "EPSG:4547"
CONTEXT_LAYERS = (
    "county_boundary",
    "towns",
    "roads",
    "ecological_redline",
    "permanent_basic_farmland",
    "urban_development_boundary",
)


def load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("demo_county_generate", DEMO / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it loads
    spec.loader.exec_module(module)
    return module


GEN = load_generator()


def read_csv(path: Path) -> pd.DataFrame:
    """Every cell as the literal text written (so "ND" and empty cells stay visible)."""
    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")


def layer(path: Path, name: str) -> pd.DataFrame:
    return pyogrio.read_dataframe(path, layer=name)


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo-county")
    subprocess.run(
        [sys.executable, str(DEMO / "generate.py"), str(out)], check=True, capture_output=True
    )
    return out


@pytest.fixture(scope="module")
def sites() -> pd.DataFrame:
    return layer(DEMO / "register.gpkg", "sites")


@pytest.fixture(scope="module")
def samples() -> pd.DataFrame:
    return read_csv(DEMO / "soil_samples.csv")


@pytest.fixture(scope="module")
def hazards() -> pd.DataFrame:
    return read_csv(DEMO / "hazards.csv")


# ----------------------------------------------------------------------------- reproducibility


def assert_same_layer(a: pd.DataFrame, b: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(
        pd.DataFrame(a.drop(columns="geometry")), pd.DataFrame(b.drop(columns="geometry"))
    )
    assert a.crs == b.crs
    wkb_a = shapely.to_wkb(a.geometry.to_numpy())
    wkb_b = shapely.to_wkb(b.geometry.to_numpy())
    assert list(wkb_a) == list(wkb_b)  # identical coordinates, bit for bit


@pytest.mark.parametrize(
    ("file", "name"),
    [("register.gpkg", "sites")] + [("context.gpkg", n) for n in CONTEXT_LAYERS],
)
def test_regenerated_layers_equal_committed(regenerated: Path, file: str, name: str) -> None:
    assert_same_layer(layer(DEMO / file, name), layer(regenerated / file, name))


@pytest.mark.parametrize("file", ["soil_samples.csv", "hazards.csv"])
def test_regenerated_csv_equal_committed(regenerated: Path, file: str) -> None:
    assert (regenerated / file).read_text(encoding="utf-8") == (DEMO / file).read_text(
        encoding="utf-8"
    )


def test_layers_listed_and_in_gauss_kruger() -> None:
    assert [n for n, _ in pyogrio.list_layers(DEMO / "register.gpkg")] == ["sites"]
    assert sorted(n for n, _ in pyogrio.list_layers(DEMO / "context.gpkg")) == sorted(
        CONTEXT_LAYERS
    )
    for file, names in (("register.gpkg", ["sites"]), ("context.gpkg", CONTEXT_LAYERS)):
        for n in names:
            crs = pyproj.CRS.from_user_input(pyogrio.read_info(DEMO / file, layer=n)["crs"])
            assert crs == pyproj.CRS.from_epsg(4547)


# ----------------------------------------------------------------------------- register


def test_columns_are_canonical(sites: pd.DataFrame, samples: pd.DataFrame, hazards: pd.DataFrame):
    mine_cols = {c.name for c in MINE_COLUMNS}
    site_cols = {c.name for c in SITE_COLUMNS}
    assert set(sites.columns) - {"geometry"} == mine_cols | site_cols
    # `qualifiers` is filled by the reader from the lab's "ND" / "<x" entries, not written here
    assert set(samples.columns) == ({c.name for c in SAMPLE_COLUMNS} - {"qualifiers"}) | set(METALS)
    assert set(hazards.columns) == {c.name for c in HAZARD_COLUMNS}


def test_mines_counts_codes_and_status(sites: pd.DataFrame) -> None:
    mines = sites.drop_duplicates("mine_id").set_index("mine_id")
    # the mine columns are repeated identically on every site row of a mine
    mine_cols = [c.name for c in MINE_COLUMNS if c.name != "mine_id"]
    assert (sites.groupby("mine_id")[mine_cols].nunique(dropna=False) == 1).all().all()
    assert 35 <= len(mines) <= 45
    assert set(mines["mineral"]) <= set(MINERALS)
    assert {"coal", "metal", "non_metal", "building_stone"} <= set(mines["mineral"])
    assert set(mines["status"]) <= set(STATUSES)
    assert (mines["region_code"] == "430599").all()
    assert valid_region_code("430599")
    assert set(sites["kind"]) == set(SITE_KINDS)
    assert sites["site_id"].is_unique

    producing = mines[mines["status"] == "producing"]
    assert len(producing) == 6
    assert producing["closure_year"].isna().all()
    assert (producing["responsible_party"] != ABSENT).all()
    closed = mines[mines["status"] != "producing"]
    assert closed["closure_year"].between(1985, 2020).all()
    abandoned = mines[mines["status"] == "abandoned"]
    assert (abandoned["responsible_party"] == ABSENT).mean() > 0.5  # most are 无主
    assert set(mines["landscape_value"]) <= {"low", "medium", "high"}


def test_site_magnitudes(sites: pd.DataFrame) -> None:
    area = sites.set_index("kind")["declared_area_hm2"]
    mineral = sites.set_index("kind")["mineral"]
    pits = area.loc["open_pit"]
    assert pits.between(2.0, 80.0).all()
    subsidence = area.loc["subsidence_area"]
    assert subsidence.between(50.0, 600.0).all()
    assert (mineral.loc["subsidence_area"] == "coal").all()
    assert area.loc["tailings_pond"].between(3.0, 40.0).all()
    assert (mineral.loc["tailings_pond"].isin(["metal", "non_metal"])).all()

    quarry_pits = sites[(sites["kind"] == "open_pit") & (sites["mineral"] == "building_stone")]
    assert quarry_pits["slope_deg"].between(45.0, 75.0).all()
    sub = sites[sites["kind"] == "subsidence_area"]
    wet = sub[sub["water"]]
    assert 0 < len(wet) < len(sub)
    assert wet["water_depth_m"].between(1.0, 6.0).all()
    # depth is given exactly where there is standing water
    assert (sites["water"] == sites["water_depth_m"].notna()).all()
    assert sites["soil_thickness_m"].between(0.0, 1.0).all()
    assert sites["slope_deg"].between(0.0, 90.0).all()


def test_site_polygons_valid_and_disjoint(sites: pd.DataFrame) -> None:
    geoms = sites.geometry.to_numpy()
    assert shapely.is_valid(geoms).all()
    assert (shapely.get_type_id(geoms) == 3).all()  # Polygon
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="intersects")
    assert (left == right).all(), "two site polygons overlap"


def test_sites_of_a_mine_are_clustered(sites: pd.DataFrame) -> None:
    for _, group in sites.groupby("mine_id"):
        hull = shapely.union_all(group.geometry.to_numpy()).convex_hull
        x0, y0, x1, y1 = hull.bounds
        assert max(x1 - x0, y1 - y0) < 8000.0  # within a few km


def test_declared_area_agrees_with_equal_area(sites: pd.DataFrame) -> None:
    lonlat = reproject(sites.geometry.to_numpy(), CRS, "EPSG:4326")
    ea = equal_area_hm2(lonlat)
    declared = sites["declared_area_hm2"].to_numpy()
    assert np.all(np.abs(declared - ea) / ea < 0.01)
    # independent check on the ellipsoid for the largest site
    big = int(np.argmax(declared))
    geod = geodesic_area_hm2(lonlat[big])
    assert abs(declared[big] - geod) / geod < 0.01


def test_sites_inside_county(sites: pd.DataFrame) -> None:
    county = layer(DEMO / "context.gpkg", "county_boundary").geometry.iloc[0]
    assert shapely.contains(county, sites.geometry.to_numpy()).all()
    x0, y0, x1, y1 = county.bounds
    assert 35_000 < x1 - x0 < 55_000 and 35_000 < y1 - y0 < 55_000  # ~40 km x 40 km
    centre = reproject(np.array([county.centroid]), CRS, "EPSG:4326")[0]
    assert abs(centre.x - 112.9) < 0.1 and abs(centre.y - 27.6) < 0.1


# ----------------------------------------------------------------------------- soil samples


def test_samples_refer_to_existing_mines_and_sites(sites: pd.DataFrame, samples: pd.DataFrame):
    pairs = set(zip(sites["mine_id"], sites["site_id"], strict=True))
    assert set(zip(samples["mine_id"], samples["site_id"], strict=True)) <= pairs
    assert samples["sample_id"].is_unique
    per_mine = samples.groupby("mine_id").size()
    assert set(per_mine.index) == set(sites["mine_id"])
    assert per_mine.between(8, 15).all()


def test_sample_values(samples: pd.DataFrame) -> None:
    assert set(samples["land_use"]) <= set(LAND_USES)
    assert (samples["depth_m"] == "0.2").all()
    assert pd.to_numeric(samples["ph"]).between(4.5, 8.5).all()
    dates = pd.to_datetime(samples["sampled_on"], format="%Y-%m-%d")
    assert (dates.dt.year == 2025).all()
    lon, lat = pd.to_numeric(samples["lon"]), pd.to_numeric(samples["lat"])
    assert lon.between(112.6, 113.2).all() and lat.between(27.3, 27.9).all()
    assert samples["lon"].str.fullmatch(r"\d+\.\d{6}").all()

    assert (samples["Hg"] == "ND").sum() >= 3
    assert (samples["Ni"] == "").sum() == 1
    ranges = {
        "Cd": (0.1, 8.0),
        "Hg": (0.05, 3.0),
        "As": (8.0, 250.0),
        "Pb": (30.0, 1500.0),
        "Cr": (40.0, 300.0),
        "Cu": (15.0, 400.0),
        "Ni": (15.0, 120.0),
        "Zn": (80.0, 2500.0),
    }
    for metal, (lo, hi) in ranges.items():
        cells = samples[metal][~samples[metal].isin(["ND", ""])]
        values = pd.to_numeric(cells)  # every other cell is a number
        assert values.between(lo, hi).all(), metal


def test_pollution_where_expected(sites: pd.DataFrame, samples: pd.DataFrame) -> None:
    mineral = sites.drop_duplicates("mine_id").set_index("mine_id")["mineral"]
    cd = pd.to_numeric(samples["Cd"])
    kind = samples["mine_id"].map(mineral)
    assert cd[kind == "coal"].between(0.1, 0.5).all()
    assert cd[kind == "metal"].between(0.2, 8.0).all()
    # metal mines carry the heavy-metal soils: GB 15618-2018 screening value for Cd is
    # 0.3-0.8 mg/kg, intervention value 1.5-4.0 mg/kg; some metal-mine samples exceed 1.5
    assert (cd[kind == "metal"] > 1.5).sum() >= 10
    assert cd[kind == "metal"].median() > 2 * cd[kind == "coal"].median()
    pb = pd.to_numeric(samples["Pb"])
    assert pb[kind == "metal"].max() > 400.0  # above the paddy intervention value at pH<=5.5


def test_gradient_decays_away_from_tailings_and_dumps(
    sites: pd.DataFrame, samples: pd.DataFrame
) -> None:
    """Within metal mines, Cd falls with distance from the nearest tailings pond or dump."""
    to_xy = pyproj.Transformer.from_crs("EPSG:4326", CRS, always_xy=True)
    x, y = to_xy.transform(pd.to_numeric(samples["lon"]), pd.to_numeric(samples["lat"]))
    points = shapely.points(x, y)
    metal_mines = set(sites.loc[sites["mineral"] == "metal", "mine_id"])
    sources = sites[sites["kind"].isin(["tailings_pond", "waste_rock_dump"])]
    distance, cd = [], []
    for i, row in samples.iterrows():
        if row["mine_id"] not in metal_mines:
            continue
        own = sources.loc[sources["mine_id"] == row["mine_id"]].geometry.to_numpy()
        distance.append(float(shapely.distance(own, points[i]).min()))
        cd.append(float(row["Cd"]))
    rho, p_value = stats.spearmanr(distance, cd)
    assert rho < -0.5 and p_value < 1e-6
    near = np.array(cd)[np.array(distance) < 100.0]
    far = np.array(cd)[np.array(distance) > 600.0]
    assert np.median(near) > 3 * np.median(far)


def test_samples_lie_inside_or_around_their_site(sites: pd.DataFrame, samples: pd.DataFrame):
    to_xy = pyproj.Transformer.from_crs("EPSG:4326", CRS, always_xy=True)
    x, y = to_xy.transform(pd.to_numeric(samples["lon"]), pd.to_numeric(samples["lat"]))
    geom = sites.set_index("site_id").geometry
    own = geom.loc[samples["site_id"]].to_numpy()
    d = shapely.distance(own, shapely.points(x, y))
    assert d.max() < 1000.0  # generated within 900 m; lon/lat rounding adds < 0.1 m
    inside = d == 0.0
    assert (samples.loc[inside, "land_use"] == "other").all()
    assert 0 < inside.sum() < len(samples)


# ----------------------------------------------------------------------------- hazards


def test_hazards(sites: pd.DataFrame, hazards: pd.DataFrame) -> None:
    assert 50 <= len(hazards) <= 70
    assert hazards["hazard_id"].is_unique
    pairs = set(zip(sites["mine_id"], sites["site_id"], strict=True))
    assert set(zip(hazards["mine_id"], hazards["site_id"], strict=True)) <= pairs
    assert set(hazards["kind"]) == set(HAZARD_KINDS)
    site_kind = sites.set_index("site_id")["kind"]
    mineral = sites.set_index("site_id")["mineral"]
    kind_of_site = hazards["site_id"].map(site_kind)
    volume = pd.to_numeric(hazards["volume_m3"].replace("", np.nan))
    expected_site = {
        "collapse": {"open_pit"},
        "landslide": {"waste_rock_dump"},
        "debris_flow": {"waste_rock_dump", "tailings_pond"},
        "subsidence": {"subsidence_area"},
        "ground_fissure": {"subsidence_area"},
    }
    volume_range = {
        "collapse": (1e2, 1e5),
        "landslide": (1e3, 1e6),
        "debris_flow": (1e4, 1e6),
    }
    for kind, site_kinds in expected_site.items():
        mask = hazards["kind"] == kind
        assert set(kind_of_site[mask]) <= site_kinds, kind
        if kind in volume_range:
            lo, hi = volume_range[kind]
            assert volume[mask].between(lo, hi).all(), kind
    coal_kinds = hazards.loc[hazards["site_id"].map(mineral) == "coal", "kind"]
    assert set(coal_kinds) >= {"subsidence", "ground_fissure"}
    assert volume[hazards["kind"] == "ground_fissure"].isna().all()  # measured by length
    people = pd.to_numeric(hazards["people_threatened"])
    assert people.between(0, 800).all()
    assert pd.to_numeric(hazards["property_threatened_cny"]).between(0, 5e7).all()
    assert (pd.to_numeric(hazards["distance_to_buildings_m"]) >= 0).all()


def test_hazard_points_on_their_site(sites: pd.DataFrame, hazards: pd.DataFrame) -> None:
    to_xy = pyproj.Transformer.from_crs("EPSG:4326", CRS, always_xy=True)
    x, y = to_xy.transform(pd.to_numeric(hazards["lon"]), pd.to_numeric(hazards["lat"]))
    own = sites.set_index("site_id").geometry.loc[hazards["site_id"]].to_numpy()
    # on the face or toe (boundary) or inside; 6-decimal lon/lat is within ~0.1 m
    assert shapely.distance(own, shapely.points(x, y)).max() < 0.2


# ----------------------------------------------------------------------------- context


def test_context_layers(sites: pd.DataFrame) -> None:
    ctx = DEMO / "context.gpkg"
    towns = layer(ctx, "towns")
    seat = towns[towns["kind"] == "county_seat"]
    assert len(seat) == 1 and seat["population"].iloc[0] == 120_000
    townships = towns[towns["kind"] == "township"]
    assert 6 <= len(townships) <= 8
    assert townships["population"].between(5_000, 30_000).all()

    roads = layer(ctx, "roads")
    assert set(roads["class"]) == {"national", "provincial", "county"}
    assert (shapely.length(roads.geometry.to_numpy()) > 1000.0).all()

    urban = layer(ctx, "urban_development_boundary").geometry.iloc[0]
    assert urban.contains(seat.geometry.iloc[0])
    assert not shapely.intersects(urban, sites.geometry.to_numpy()).any()

    redline = layer(ctx, "ecological_redline")
    assert 2 <= len(redline) <= 6
    hit = sites.loc[shapely.intersects(redline.union_all(), sites.geometry.to_numpy()), "mine_id"]
    assert 2 <= hit.nunique() <= 6  # a couple of mines lie partly in the red line

    farmland = layer(ctx, "permanent_basic_farmland")
    assert len(farmland) > 3
    fg = farmland.union_all()
    assert not fg.intersects(urban)
    assert fg.intersection(redline.union_all()).area < 1.0  # [m²] only shared edges
    county = layer(ctx, "county_boundary").geometry.iloc[0]
    for name in CONTEXT_LAYERS:
        geoms = layer(ctx, name).geometry.to_numpy()
        assert shapely.is_valid(geoms).all(), name
        assert shapely.intersects(county, geoms).all(), name


# ----------------------------------------------------------------------------- generator helpers


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    area_m2=st.floats(1.0e4, 6.0e6),
    aspect=st.floats(1.0, 2.5),
)
def test_blob_is_a_valid_polygon_of_the_requested_area(seed: int, area_m2: float, aspect: float):
    first = GEN.blob(np.random.default_rng(seed), 391_000.0, 3_054_000.0, area_m2, aspect)
    again = GEN.blob(np.random.default_rng(seed), 391_000.0, 3_054_000.0, area_m2, aspect)
    assert first.geom_type == "Polygon" and first.is_valid
    # snapping to 1 cm moves each vertex by <= 0.71 cm: |dA| <= perimeter x 0.0071 m
    assert abs(first.area - area_m2) <= first.length * 0.0071
    assert first.contains(shapely.Point(391_000.0, 3_054_000.0))  # star-shaped about its centre
    assert shapely.to_wkb(first) == shapely.to_wkb(again)  # same seed, same polygon
    coords = shapely.get_coordinates(first)
    assert np.array_equal(np.round(coords, 2), coords)  # on the 1 cm grid


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    heading=st.floats(0.0, 6.28),
    length=st.floats(2000.0, 4000.0),
    width=st.floats(6.0, 9.0),
)
def test_road_strip_is_valid_and_about_length_times_width(
    seed: int, heading: float, length: float, width: float
):
    road = GEN.road_strip(np.random.default_rng(seed), 0.0, 0.0, heading, length, width)
    assert road.is_valid and road.geom_type == "Polygon"
    # a gently winding strip: area close to length x width (joins add or remove a little)
    assert 0.9 * length * width < road.area < 1.1 * length * width
