"""Gradient zoning: interpolation checked by hand, dissolved zones, rules and techniques."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from restora.diagnosis import soil, zoning
from restora.diagnosis.techniques import ZONE_CLASSES, load_catalogue, load_zone_rules

ON = "2024-01-01"
CORNERS_X = [0.0, 100.0, 0.0, 100.0]
CORNERS_Y = [0.0, 0.0, 100.0, 100.0]
ROOT = Path(__file__).resolve().parents[2]


def test_idw_at_the_centre_of_four_corners_is_their_mean():
    est = zoning.idw(CORNERS_X, CORNERS_Y, [1.0, 2.0, 3.0, 6.0], [50.0], [50.0])
    assert est[0] == pytest.approx(3.0)  # (1 + 2 + 3 + 6) / 4


def test_idw_off_centre_by_hand():
    # at (25, 25): d² = 1250, 6250, 6250, 11250 -> weights ∝ 45 : 9 : 9 : 5 (x 56250)
    # (45*1 + 9*2 + 9*3 + 5*6) / (45 + 9 + 9 + 5) = 120 / 68 = 30/17
    est = zoning.idw(CORNERS_X, CORNERS_Y, [1.0, 2.0, 3.0, 6.0], [25.0], [25.0])
    assert est[0] == pytest.approx(30.0 / 17.0)
    # power 1: weights ∝ 1/d: 1/35.355, 1/79.057, 1/79.057, 1/106.066
    w = np.array([1 / math.sqrt(1250), 1 / math.sqrt(6250), 1 / math.sqrt(6250), 1 / 106.0660172])
    by_hand = float(w @ [1, 2, 3, 6] / w.sum())
    est1 = zoning.idw(CORNERS_X, CORNERS_Y, [1.0, 2.0, 3.0, 6.0], [25.0], [25.0], power=1.0)
    assert est1[0] == pytest.approx(by_hand)


def test_idw_is_exact_at_samples():
    est = zoning.idw(CORNERS_X, CORNERS_Y, [1.0, 2.0, 3.0, 6.0], CORNERS_X, CORNERS_Y)
    assert est.tolist() == [1.0, 2.0, 3.0, 6.0]


@settings(max_examples=100, deadline=None)
@given(
    z=st.lists(st.floats(0, 1000), min_size=1, max_size=12),
    q=st.tuples(st.floats(-500, 500), st.floats(-500, 500)),
    seed=st.integers(0, 10_000),
)
def test_idw_stays_within_the_sample_range(z, q, seed):
    rng = np.random.default_rng(seed)
    x, y = rng.uniform(-300, 300, len(z)), rng.uniform(-300, 300, len(z))
    est = zoning.idw(x, y, z, [q[0]], [q[1]])[0]
    assert min(z) - 1e-9 * max(1, max(z)) <= est <= max(z) + 1e-9 * max(1, max(z))


def test_single_cell_site_moderate_zone_with_matched_hyperaccumulators():
    site = shapely.box(0, 0, 100, 100)
    # corners: Cd 0.2, 0.4, 0.6, 3.0 -> centre mean 1.05; As 20, 40, 40, 40 -> 35
    conc = np.array([[0.2, 20.0], [0.4, 40.0], [0.6, 40.0], [3.0, 40.0]])
    res = zoning.zone_site(
        site, CORNERS_X, CORNERS_Y, conc, ["Cd", "As"], land="paddy", ph=[6.0] * 4,
        cell_size=100.0, on=ON,
    )  # fmt: skip
    assert res.method_used == {"Cd": "idw", "As": "idw", "ph": "idw"}
    (z,) = res.zones
    # paddy, pH 6: Cd S 0.4, I 2.0 -> P 1.05/0.4 = 2.625 (1.05 ≤ 2.0: safe utilization)
    #              As S 30, I 150  -> P 35/30 = 1.166667
    # P_N = sqrt((((2.625 + 1.166667)/2)² + 2.625²)/2) = sqrt((3.594184 + 6.890625)/2) = 2.289630
    assert z.max_index["Cd"] == pytest.approx(2.625)
    assert z.max_index["As"] == pytest.approx(35 / 30)
    assert z.nemerow_max == pytest.approx(2.289630, abs=1e-6)
    assert z.standard_class == "safe_utilization"
    assert z.zone_class == "moderate" and z.rules == (
        "ZONE-MODERATE",
        "SOIL-GB15618-CD-SCREEN",
        "SOIL-GB15618-AS-SCREEN",
    )
    assert z.governing_metal == "Cd"
    assert z.exceeding_metals == ("Cd", "As")
    assert z.area_hm2 == pytest.approx(1.0)  # 100 m x 100 m
    codes = [t.code for t in z.techniques]
    assert codes == ["TECH-PHYTO-PTERIS", "TECH-PHYTO-SEDUM", "TECH-STAB-AMENDMENT"]
    assert next(t for t in z.techniques if t.code == "TECH-PHYTO-PTERIS").hyperaccumulator == (
        "Pteris vittata"
    )
    # construction afterwards rules out phytoextraction; a 0.4 m depth rules out Sedum (0.3 m)
    res2 = zoning.zone_site(
        site, CORNERS_X, CORNERS_Y, conc, ["Cd", "As"], land="paddy", ph=[6.0] * 4,
        cell_size=100.0, on=ON, land_use_after="construction",
    )  # fmt: skip
    assert [t.code for t in res2.zones[0].techniques] == ["TECH-STAB-AMENDMENT"]
    res3 = zoning.zone_site(
        site, CORNERS_X, CORNERS_Y, conc, ["Cd", "As"], land="paddy", ph=[6.0] * 4,
        cell_size=100.0, on=ON, depth_m=0.4,
    )  # fmt: skip
    assert [t.code for t in res3.zones[0].techniques] == [
        "TECH-PHYTO-PTERIS",
        "TECH-STAB-AMENDMENT",
    ]


def _grid_samples(values_by_column: list[float]) -> tuple[list[float], list[float], np.ndarray]:
    """One sample at each cell centre of a 100 m x 40 m site with 20 m cells (5 x 2 cells)."""
    xs, ys, cd = [], [], []
    for col, v in enumerate(values_by_column):
        for row in range(2):
            xs.append(10.0 + 20.0 * col)
            ys.append(10.0 + 20.0 * row)
            cd.append(v)
    return xs, ys, np.array(cd)[:, None]


def test_adjacent_cells_dissolve_into_zones_with_areas():
    # paddy pH 6: Cd S 0.4, I 2.0. Columns: 5 (> I: severe), 5, 0.5 (P 1.25: mild), 0.1, 0.1 (clean)
    xs, ys, cd = _grid_samples([5.0, 5.0, 0.5, 0.1, 0.1])
    site = shapely.box(0, 0, 100, 40)
    res = zoning.zone_site(site, xs, ys, cd, ["Cd"], land="paddy", ph=[6.0] * 10, on=ON)
    got = [(z.zone_id, z.zone_class, round(z.area_hm2, 6), z.n_cells) for z in res.zones]
    # IDW is exact at the cell centres, so each column keeps its sample's class
    assert got == [
        ("Z01", "severe", 0.16, 4),  # 40 m x 40 m = 1600 m²
        ("Z02", "mild", 0.08, 2),  # 20 m x 40 m
        ("Z03", "clean", 0.16, 4),
    ]
    assert res.zones[0].geometry.equals(shapely.box(0, 0, 40, 40))
    assert res.zones[0].rules == ("ZONE-SEVERE-INTERVENE", "SOIL-GB15618-CD-INTERVENE")
    assert res.zones[1].rules == ("ZONE-MILD", "SOIL-GB15618-CD-SCREEN")
    assert res.zones[2].rules == ("ZONE-CLEAN",)
    assert res.zones[0].max_index["Cd"] == pytest.approx(12.5)  # 5 / 0.4
    assert [t.code for t in res.zones[0].techniques] == [
        "TECH-SOIL-WASHING",
        "TECH-ELECTROKINETIC",
        "TECH-STAB-SOLID",
        "TECH-ISOLATION",
    ]
    assert [t.code for t in res.zones[1].techniques] == ["TECH-NATURAL-ATTENUATION"]
    assert res.zones[2].techniques == ()
    assert res.as_dict()["method"] == "idw"


def test_separate_patches_of_one_class_are_separate_zones():
    xs, ys, cd = _grid_samples([5.0, 0.1, 0.1, 0.1, 5.0])
    res = zoning.zone_site(
        shapely.box(0, 0, 100, 40), xs, ys, cd, ["Cd"], land="paddy", ph=[6.0] * 10, on=ON
    )
    severe = [z for z in res.zones if z.zone_class == "severe"]
    assert len(severe) == 2
    assert sorted(round(z.area_hm2, 6) for z in severe) == [0.08, 0.08]


def test_zones_are_clipped_to_the_site_and_cover_it():
    site = shapely.Polygon([(0, 0), (230, 0), (0, 170)])  # not aligned with the grid
    rng = np.random.default_rng(3)
    x, y = rng.uniform(0, 150, 15), rng.uniform(0, 100, 15)
    cd = rng.lognormal(-0.5, 1.0, (15, 1))
    res = zoning.zone_site(site, x, y, cd, ["Cd"], land="other", ph=rng.uniform(5, 8, 15), on=ON)
    total = sum(z.area_hm2 for z in res.zones)
    assert total == pytest.approx(site.area / 10_000)  # 0.5 * 230 * 170 = 19 550 m²
    assert sum(z.n_cells for z in res.zones) == res.cells["x"].size
    for z in res.zones:
        assert z.geometry.difference(site).area < 1e-6


def test_kriging_falls_back_to_idw_with_few_samples():
    site = shapely.box(0, 0, 100, 100)
    res = zoning.zone_site(
        site, CORNERS_X, CORNERS_Y, [[0.1], [0.2], [0.3], [0.4]], ["Cd"], land="paddy",
        ph=[6.0, 6.2, 6.4, 6.6], method="ordinary_kriging", cell_size=100.0, on=ON,
    )  # fmt: skip
    assert res.method_requested == "ordinary_kriging"
    assert res.method_used == {"Cd": "idw", "ph": "idw"}
    assert any("4 sample(s) < 6" in w for w in res.warnings)
    assert res.zones[0].max_index["Cd"] == pytest.approx(0.25 / 0.4)  # mean 0.25, S 0.4


def test_kriging_falls_back_when_the_variogram_cannot_be_fitted():
    x = np.array([0, 50, 100, 0, 50, 100, 0, 50.0])
    y = np.array([0, 0, 0, 50, 50, 50, 100, 100.0])
    out, used, warn = zoning.interpolate(x, y, np.full(8, 0.3), [25.0], [25.0], "ordinary_kriging")
    assert used == "idw" and "ordinary kriging failed" in warn
    assert out[0] == pytest.approx(0.3)


def test_kriging_runs_with_enough_samples():
    rng = np.random.default_rng(7)
    x, y = rng.uniform(0, 200, 30), rng.uniform(0, 200, 30)
    z = 0.2 + 0.004 * x + rng.normal(0, 0.02, 30)  # a smooth trend
    est, used, warn = zoning.interpolate(
        x + 500_000, y + 3_000_000, z, [600_100.0 - 100_000], [3_000_100.0], "ordinary_kriging"
    )
    assert used == "ordinary_kriging" and warn is None
    assert 0.4 < est[0] < 0.8  # trend value at x = 100 is 0.6


def test_zone_rules_cover_every_class_and_grade_and_are_monotone():
    grades = soil.load_grades(soil.NEMEROW_GRADES_TABLE, on=ON).names
    rules = load_zone_rules(grades, on=ON)
    assert rules.zone.shape == (3, 5)
    # rows: priority protection, safe utilization, strict control; columns: Nemerow grades
    names = np.array(ZONE_CLASSES, dtype=object)[rules.zone]
    assert names.tolist() == [
        ["clean"] * 5,
        ["mild", "mild", "mild", "moderate", "severe"],
        ["severe"] * 5,
    ]
    assert (np.diff(rules.zone, axis=0) >= 0).all() and (np.diff(rules.zone, axis=1) >= 0).all()
    assert rules.rule[2, 0] == "ZONE-SEVERE-INTERVENE"
    assert rules.rule[1, 4] == "ZONE-SEVERE-NEMEROW"


def test_catalogue_entries_carry_applicability_and_cost_keys():
    cat = load_catalogue(on=ON)
    by_class = {zc: [t.code for t in cat.candidates(zc, ["Cd", "As", "Zn"])] for zc in ZONE_CLASSES}
    assert by_class["severe"] == [
        "TECH-SOIL-WASHING",
        "TECH-ELECTROKINETIC",
        "TECH-STAB-SOLID",
        "TECH-ISOLATION",
    ]
    assert by_class["mild"] == ["TECH-NATURAL-ATTENUATION"]
    assert by_class["clean"] == []
    assert [t.code for t in cat.candidates("moderate", ["As"])] == [
        "TECH-PHYTO-PTERIS",
        "TECH-STAB-AMENDMENT",
    ]
    assert [t.code for t in cat.candidates("moderate", ["Pb"])] == ["TECH-STAB-AMENDMENT"]
    for t in cat.techniques:
        assert t.unit_cost_key and t.metals and t.land_use_after and t.max_depth_m > 0


def test_demo_county_metal_mine_site():
    """Zone a metal-mine site of examples/demo-county and check it against a hand IDW."""
    import geopandas as gpd

    demo = ROOT / "examples" / "demo-county"
    sites = gpd.read_file(demo / "register.gpkg", layer="sites")
    assert sites.crs.to_epsg() == 4547
    samples = pd.read_csv(demo / "soil_samples.csv")
    metal_sites = set(sites.loc[sites["mineral"] == "metal", "site_id"])
    counts = samples[samples["site_id"].isin(metal_sites)].groupby("site_id").size()
    site_id = counts.sort_values(kind="stable").index[-1]  # the best-sampled metal site
    site = sites.loc[sites["site_id"] == site_id].iloc[0]
    smp = samples[samples["site_id"] == site_id].reset_index(drop=True)
    from restora.inventory.geometry import transformer

    x, y = transformer("EPSG:4326", "EPSG:4547").transform(smp["lon"], smp["lat"])
    metals = ["Cd", "Pb", "As", "Zn"]
    conc = smp[metals].apply(pd.to_numeric, errors="coerce").to_numpy()
    res = zoning.zone_site(
        site.geometry, x, y, conc, metals, land="other", ph=smp["ph"].to_numpy(),
        crs="EPSG:4547", on=ON,
    )  # fmt: skip
    assert res.method_used["Cd"] == "idw"
    # areas: zones add up to the site (both equal-area) and cells are all assigned
    assert sum(z.area_hm2 for z in res.zones) == pytest.approx(res.site_area_hm2, rel=1e-6)
    assert sum(z.n_cells for z in res.zones) == res.cells["x"].size
    # an independent, loop-based IDW at five cells reproduces the Cd index there
    s_cd = {"ph_le_5.5": 0.3, "ph_5.5_6.5": 0.3, "ph_6.5_7.5": 0.3, "ph_gt_7.5": 0.6}
    for k in np.linspace(0, res.cells["x"].size - 1, 5).astype(int):
        cx, cy = res.cells["x"][k], res.cells["y"][k]
        num = den = ph_num = 0.0
        for xi, yi, ci, phi in zip(x, y, conc[:, 0], smp["ph"], strict=True):
            w = 1.0 / ((cx - xi) ** 2 + (cy - yi) ** 2)
            num, den, ph_num = num + w * ci, den + w, ph_num + w * phi
        ph_c = ph_num / den
        band = (
            "ph_le_5.5"
            if ph_c <= 5.5
            else "ph_5.5_6.5"
            if ph_c <= 6.5
            else "ph_6.5_7.5"
            if ph_c <= 7.5
            else "ph_gt_7.5"
        )
        assert res.cells["index_Cd"][k] == pytest.approx(num / den / s_cd[band])
    # zone classes follow from the cells' standard classes
    for z in res.zones:
        if z.zone_class == "severe":
            assert z.standard_class == "strict_control" or z.nemerow_max > 3
        if z.zone_class == "clean":
            assert z.standard_class == "priority_protection"


def test_a_grid_square_cut_in_two_by_the_site_gives_two_cells():
    # a 2 m gap (x 29..31) splits the 60 m x 20 m site, and the grid square 20..40, in two
    site = shapely.box(0, 0, 60, 20).difference(shapely.box(29, -1, 31, 21))
    cells, cx, cy = zoning.grid_cells(site, 20.0)
    # squares 0..20 and 40..60 whole (400 m²); square 20..40 as 20..29 and 31..40 (180 m² each)
    assert [round(float(a), 9) for a in shapely.area(cells)] == [400.0, 180.0, 180.0, 400.0]
    assert all(c.geom_type == "Polygon" for c in cells)
    assert cx.tolist() == [10.0, 30.0, 30.0, 50.0] and cy.tolist() == [10.0] * 4  # same centre
    i, j, length = zoning.cell_adjacency(cells)
    # 0..20 | 20..29 and 31..40 | 40..60 share 20 m each; the two halves do not touch
    mid = shapely.get_x(shapely.centroid(cells))  # 10, 24.5, 35.5, 50 in some order
    got = sorted(
        (float(mid[a]), float(mid[b]), float(d)) if mid[a] < mid[b] else (mid[b], mid[a], d)
        for a, b, d in zip(i, j, length, strict=True)
    )
    assert got == [(10.0, 24.5, 20.0), (35.5, 50.0, 20.0)]


@pytest.mark.parametrize("seed", range(6))
def test_grid_adjacency_matches_the_geometric_one(seed):
    """The fast grid-neighbour adjacency equals measuring every intersecting pair of cells."""
    rng = np.random.default_rng(seed)
    outer = shapely.MultiPoint(rng.uniform(0, 300, (12, 2))).convex_hull
    site = outer.difference(shapely.Point(150, 150).buffer(rng.uniform(10, 80)))
    cells, _, _, col, row = zoning._grid(site, 20.0)
    slow = zoning.cell_adjacency(cells)
    fast = zoning.cell_adjacency(cells, col, row, 20.0)
    as_set = lambda p: {(int(a), int(b), round(float(c), 9)) for a, b, c in zip(*p, strict=True)}  # noqa: E731
    assert as_set(fast) == as_set(slow) and len(as_set(fast)) > 10
