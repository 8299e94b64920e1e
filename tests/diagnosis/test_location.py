"""Mine location from context layers: centroids, nearest distances, population, overlaps."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyproj
import pytest
import shapely

from restora.diagnosis import location as loc


def test_area_weighted_centroid_in_projected_crs():
    # A: 10 m × 10 m square, centroid (5, 5), area 100; B: 20 m × 10 m, centroid (30, 5), area 200
    sites = pd.DataFrame(
        {
            "mine_id": ["M1", "M1", "M2"],
            "geometry": [
                shapely.box(0, 0, 10, 10),
                shapely.box(20, 0, 40, 10),
                shapely.box(0, 0, 2, 2),
            ],
        }
    )
    pts = loc.mine_points(sites, crs="EPSG:4547", sites_crs="EPSG:4547").set_index("mine_id")
    # x̄ = (100×5 + 200×30)/300 = 21.667
    assert pts.loc["M1", "x"] == pytest.approx(6500 / 300)
    assert pts.loc["M1", "y"] == pytest.approx(5.0)
    assert (pts.loc["M2", "x"], pts.loc["M2", "y"]) == pytest.approx((1.0, 1.0))


def test_centroid_reprojected_from_lon_lat():
    # a small square around 114.1° E, 30.2° N, projected with pyproj independently
    square = shapely.box(114.099, 30.199, 114.101, 30.201)
    sites = pd.DataFrame({"mine_id": ["M1"], "geometry": [square]})
    pts = loc.mine_points(sites, crs="EPSG:4547")
    tr = pyproj.Transformer.from_crs("EPSG:4326", "EPSG:4547", always_xy=True)
    x, y = tr.transform(114.1, 30.2)
    # the projected centroid and the projected centre differ by far less than a metre
    assert pts.loc[0, "x"] == pytest.approx(x, abs=0.5)
    assert pts.loc[0, "y"] == pytest.approx(y, abs=0.5)


def test_nearest_distance_to_points_and_lines():
    points = shapely.points([[0.0, 0.0], [10.0, 10.0]])
    roads = np.array([shapely.LineString([(3, 4), (10, 4)])])
    # (0,0) → nearest road point (3,4): 5 m; (10,10) → (10,4): 6 m
    assert loc.nearest_distance_m(points, roads).tolist() == pytest.approx([5.0, 6.0])
    assert np.isnan(loc.nearest_distance_m(points, np.array([], dtype=object))).all()


def test_population_within_radius():
    points = shapely.points([[0.0, 0.0]])
    towns = shapely.points([[50.0, 0.0], [0.0, 100.0], [-59.0, 0.0]])
    pop = np.array([10.0, 20.0, 5.0])
    # within 60 m: the towns at 50 m and 59 m → 10 + 5 = 15
    assert loc.population_within_m(points, towns, pop, 60.0).tolist() == [15.0]
    # within 100 m all three → 35
    assert loc.population_within_m(points, towns, pop, 100.0).tolist() == [35.0]


def test_overlap_share():
    sites = np.array([shapely.box(0, 0, 10, 10), shapely.box(50, 50, 60, 60)])
    zones = np.array([shapely.box(5, 0, 15, 10), shapely.box(0, 5, 10, 20)])
    # site 1: union of zones covers x ≥ 5 or y ≥ 5 → 100 − 25 = 75 of 100 → 0.75; site 2 outside
    assert loc.overlap_share(sites, zones).tolist() == pytest.approx([0.75, 0.0])
