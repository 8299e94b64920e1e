"""Minimum zone area: slivers join a neighbour, and polluted ground never gets a cleaner class.

Synthetic sites in planar metres with a sample at every 20 m cell centre (IDW is exact there,
so each cell has its sample's class). A site 40.5 m tall has a top row of 20 m x 0.5 m cells
(10 m² each): the 50 m² strip is the kind of sliver the appraisal used to report (22 m², 0.2 m²
on the demo's QS-M23-S4). Minimum: 400 m² (remediation/min-zone-area, TD/T 1055-2019
agricultural land). Paddy, pH 6: Cd screening 0.4, intervention 2.0 mg/kg.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely

from restora.diagnosis import zoning
from restora.diagnosis.site_zones import zone_sites
from restora.diagnosis.techniques import ZONE_CLASSES

ON = "2024-01-01"
ROOT = Path(__file__).resolve().parents[2]
STRIP_SITE = shapely.box(0, 0, 100, 40.5)  # rows at y 0-20, 20-40 and the 0.5 m strip 40-40.5


def _zone(site, cd_by_cell: dict[tuple[int, int], float], **kw):
    """Zone ``site`` with one sample per cell centre (col, row) -> Cd [mg/kg]."""
    cells = sorted(cd_by_cell)
    x = [10.0 + 20.0 * c for c, _ in cells]
    y = [10.0 + 20.0 * r for _, r in cells]
    cd = np.array([[cd_by_cell[k]] for k in cells])
    return zoning.zone_site(
        site, x, y, cd, ["Cd"], land="paddy", ph=[6.0] * len(cells), on=ON, **kw
    )


def _grid(rows: list[list[float]]) -> dict[tuple[int, int], float]:
    """Rows listed bottom (row 0) to top."""
    return {(c, r): v for r, row in enumerate(rows) for c, v in enumerate(row)}


def _got(res):
    return [(z.zone_class, round(z.area_hm2, 6)) for z in res.zones]


def test_clean_sliver_joins_its_polluted_neighbour():
    # rows 0-1 Cd 0.5 (P 1.25, P_N 1.25: mild); the strip Cd 0.1 (clean)
    cd = _grid([[0.5] * 5, [0.5] * 5, [0.1] * 5])
    raw = _zone(STRIP_SITE, cd, min_zone_area_m2=0)
    # the sliver as zoned without a minimum: 100 m x 0.5 m = 50 m² = 0.005 hm²
    assert _got(raw) == [("mild", 0.4), ("clean", 0.005)]
    res = _zone(STRIP_SITE, cd)
    assert res.min_zone_area_m2 == 400.0
    (z,) = res.zones
    assert (z.zone_class, round(z.area_hm2, 6), z.n_cells) == ("mild", 0.405, 15)
    assert z.reassigned_hm2 == pytest.approx(0.005)  # the strip, now treated as mild
    # its own rule first, then the minimum-area rule and the rule the strip had on its own
    assert z.rules == ("ZONE-MILD", "ZONE-MIN-AREA", "ZONE-CLEAN", "SOIL-GB15618-CD-SCREEN")
    assert z.geometry.symmetric_difference(STRIP_SITE).area == pytest.approx(0.0, abs=1e-9)
    assert [(m["kind"], m["area_m2"], m["from_class"], m["into_class"]) for m in res.merges] == [
        ("merged", pytest.approx(50.0), "clean", "mild")
    ]
    assert any("1 zone(s) below it (50.0 m² in all) joined" in w for w in res.warnings)


def test_polluted_sliver_with_only_cleaner_neighbours_is_enlarged_not_lowered():
    # strip Cd 5 (> intervention: severe); below all clean (Cd 0.1) but cell (2, 1) Cd 0.3,
    # the most polluted ground next to the strip (P_N 0.75 against 0.25)
    cd = _grid([[0.1] * 5, [0.1, 0.1, 0.3, 0.1, 0.1], [5.0] * 5])
    assert _got(_zone(STRIP_SITE, cd, min_zone_area_m2=0)) == [("severe", 0.005), ("clean", 0.4)]
    res = _zone(STRIP_SITE, cd)
    # the strip (50 m²) takes cell (2, 1) (400 m²): 450 m² >= 400 m²; the rest stays clean
    assert _got(res) == [("severe", 0.045), ("clean", 0.36)]
    severe = res.zones[0]
    expect = shapely.union_all([shapely.box(0, 40, 100, 40.5), shapely.box(40, 20, 60, 40)])
    assert severe.geometry.symmetric_difference(expect).area == pytest.approx(0.0, abs=1e-9)
    assert severe.reassigned_hm2 == pytest.approx(0.04)
    assert severe.rules[:3] == ("ZONE-SEVERE-INTERVENE", "ZONE-MIN-AREA", "ZONE-CLEAN")
    assert severe.techniques
    assert [(m["kind"], m["area_m2"]) for m in res.merges] == [("enlarged", pytest.approx(400.0))]


def test_polluted_sliver_joins_the_worse_neighbour_even_with_a_shorter_boundary():
    # strip Cd 1.0 (P 2.5: safe utilization, moderate grade: moderate zone); below it clean
    # cells share 80 m and one severe cell (Cd 5, 400 m²) shares 20 m
    cd = _grid([[0.1] * 5, [0.1, 0.1, 0.1, 0.1, 5.0], [1.0] * 5])
    raw = _zone(STRIP_SITE, cd, min_zone_area_m2=0)
    assert _got(raw) == [("severe", 0.04), ("moderate", 0.005), ("clean", 0.36)]
    res = _zone(STRIP_SITE, cd)
    # joining the clean zone (longest boundary) would lower the strip to clean: it joins severe
    assert _got(res) == [("severe", 0.045), ("clean", 0.36)]
    assert res.merges[0]["from_class"] == "moderate" and res.merges[0]["into_class"] == "severe"


def test_a_site_smaller_than_the_minimum_is_one_zone():
    # 30 m x 10 m = 300 m²: cells 20 x 10 (Cd 5, severe) and 10 x 10 (Cd 0.1, clean)
    site = shapely.box(0, 0, 30, 10)
    res = zoning.zone_site(
        site, [10.0, 30.0], [10.0, 10.0], [[5.0], [0.1]], ["Cd"], land="paddy",
        ph=[6.0, 6.0], on=ON,
    )  # fmt: skip
    # the clean 100 m² joins severe; the 300 m² left is the whole site: kept, and said so
    assert _got(res) == [("severe", 0.03)]
    assert [m["kind"] for m in res.merges] == ["merged", "kept"]
    assert any("kept" in w for w in res.warnings)


def test_a_detached_part_joins_the_nearest_zone_of_equal_or_worse_class():
    # 40 m x 40 m (Cd 0.5: mild) and a detached 10 m x 10 m part 60 m away (Cd 0.1: clean)
    site = shapely.union(shapely.box(0, 0, 40, 40), shapely.box(100, 0, 110, 10))
    cd = {(0, 0): 0.5, (1, 0): 0.5, (0, 1): 0.5, (1, 1): 0.5, (5, 0): 0.1}
    (z,) = _zone(site, cd).zones
    assert (z.zone_class, round(z.area_hm2, 6)) == ("mild", 0.17)  # 1600 + 100 m²
    assert z.geometry.geom_type == "MultiPolygon"
    # a detached part more polluted than every other zone is kept (never lowered) and flagged
    cd[(5, 0)] = 5.0
    res = _zone(site, cd)
    assert _got(res) == [("severe", 0.01), ("mild", 0.16)]
    assert [m["kind"] for m in res.merges] == ["kept"]


def test_dissolve_prefers_the_longest_boundary_among_equal_or_worse_neighbours():
    # cells in a row: 0 and 1 mild (class 1), 2 a 10 m² mild sliver touching cell 3 (severe,
    # 4 m shared) and cell 1 (mild, 10 m shared) -> joins mild
    cls = [1, 1, 1, 3]
    area = [400.0, 400.0, 10.0, 400.0]
    pairs = (np.array([0, 1, 2]), np.array([1, 2, 3]), np.array([20.0, 10.0, 4.0]))
    out = zoning.dissolve_cells(cls, area, pairs, min_area=400.0)
    assert out.label[2] == out.label[1] == out.label[0] != out.label[3]
    assert out.zone_class[out.label].tolist() == [1, 1, 1, 3]
    # with 0 as the minimum nothing is merged
    out0 = zoning.dissolve_cells(cls, area, pairs, min_area=0.0)
    assert out0.events == () and len(set(out0.label.tolist())) == 2


@pytest.mark.parametrize("seed", range(8))
def test_merging_never_lowers_a_cell_and_leaves_no_small_zone(seed):
    """Random concave sites and samples: invariants of the minimum zone area."""
    rng = np.random.default_rng(seed)
    outer = shapely.MultiPoint(rng.uniform(0, 260, (12, 2))).convex_hull
    site = outer.difference(shapely.Point(130, 130).buffer(rng.uniform(15, 60)))
    x, y = rng.uniform(0, 260, 25), rng.uniform(0, 260, 25)
    cd = rng.lognormal(-0.7, 1.2, (25, 1))
    res = zoning.zone_site(site, x, y, cd, ["Cd"], land="paddy", ph=[6.0] * 25, on=ON)
    own = np.array([ZONE_CLASSES.index(c) for c in res.cells["cell_class"]])
    final = np.array([ZONE_CLASSES.index(c) for c in res.cells["zone_class"]])
    assert (final >= own).all()
    assert sum(z.area_hm2 for z in res.zones) == pytest.approx(site.area / 10_000)
    kept = sum(m["kind"] == "kept" for m in res.merges)
    assert sum(z.area_hm2 * 10_000 < 400 * (1 - 1e-9) for z in res.zones) == kept
    assert kept == 0 or len(res.zones) == 1 or site.geom_type == "MultiPolygon"
    # reassigned ground is exactly the cells whose class was raised
    raised = res.cells["area_m2"][final != own].sum() / 10_000
    assert sum(z.reassigned_hm2 for z in res.zones) == pytest.approx(raised, abs=1e-12)


def test_demo_county_sites_have_no_sliver_zones():
    """QS-M23-S4 had zones of 0.2-155 m² (QS-M08-S3, QS-M34-S1 too) before the minimum."""
    import geopandas as gpd

    demo = ROOT / "examples" / "demo-county"
    sites = gpd.read_file(demo / "register.gpkg", layer="sites").to_crs("EPSG:4326")
    sites = pd.DataFrame(sites[sites["site_id"].isin(["QS-M23-S4", "QS-M08-S3", "QS-M34-S1"])])
    samples = pd.read_csv(demo / "soil_samples.csv")
    zoned = zone_sites(sites, samples, on=ON)
    assert {z.site_id for z in zoned} == {"QS-M23-S4", "QS-M08-S3", "QS-M34-S1"}
    for z in zoned:
        areas = [zz.area_hm2 for zz in z.result.zones]
        assert min(areas) * 10_000 >= 400 * (1 - 1e-9), (z.site_id, areas)
        assert sum(areas) == pytest.approx(z.result.site_area_hm2, rel=1e-9)
        own = np.array([ZONE_CLASSES.index(c) for c in z.result.cells["cell_class"]])
        final = np.array([ZONE_CLASSES.index(c) for c in z.result.cells["zone_class"]])
        assert (final >= own).all()
