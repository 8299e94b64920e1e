"""Land suitability: one hand-worked case per rule, and invariants of the hard rules."""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from restora.diagnosis import suitability as suit
from restora.errors import InputError

ON = "2024-01-01"


@pytest.fixture(scope="module")
def tables() -> suit.SuitabilityTables:
    return suit.load_tables(on=ON)


def _site(**kw) -> pd.DataFrame:
    base = {
        "site_id": "S1",
        "slope_deg": 5.0,
        "soil_thickness_m": 0.8,
        "water": False,
        "water_depth_m": None,
        "pollution_class": "priority_protection",
        "distance_to_town_m": 1000.0,
        "distance_to_road_m": 200.0,
    }
    base.update(kw)
    return pd.DataFrame([base])


def _ranked(result: pd.DataFrame) -> list[str]:
    ok = result[result["status"] == "suitable"].sort_values("rank")
    return list(ok["use"])


def _codes(result: pd.DataFrame, use: str) -> list[str]:
    return list(result.loc[result["use"] == use, "rule_codes"].iloc[0])


def test_good_land_follows_the_principle_farming_first(tables):
    # slope 5° ≤ 15°, soil 0.8 m ≥ 0.5 m, clean soil, 1 km from town and 200 m from road
    r = suit.assess_sites(_site(), tables)
    assert _ranked(r) == ["cultivated", "garden", "forest", "grass", "construction", "leave_as_is"]
    assert _codes(r, "cultivated") == ["SUIT-BASE-ORDER", "SUIT-FIT-CULT", "SUIT-POLL-CLEAN"]
    assert "SUIT-CONS-LOCATION" in _codes(r, "construction")
    assert _codes(r, "water") == ["SUIT-WATER-NONE"]
    assert list(r.loc[r["use"] == "water", "status"]) == ["excluded"]


@pytest.mark.parametrize(
    ("slope", "excluded", "terrace"),
    [
        # 15° < 20° ≤ 25°: terraces for farming and grass; construction needs ≤ 15°
        (20.0, {"construction"}, {"cultivated", "garden", "grass"}),
        (26.0, {"cultivated", "garden", "grass", "construction"}, set()),  # > 25°; forest ≤ 35°
        (36.0, {"cultivated", "garden", "grass", "construction", "forest"}, set()),
        (15.0, set(), set()),  # 15° is within every limit
    ],
)
def test_slope_limits(tables, slope, excluded, terrace):
    r = suit.assess_sites(_site(slope_deg=slope), tables)
    out = set(r.loc[r["status"] == "excluded", "use"]) - {"water"}
    assert out == excluded
    for use in excluded:
        short = {
            "cultivated": "CULT",
            "garden": "GARD",
            "grass": "GRASS",
            "forest": "FOR",
            "construction": "CONS",
        }[use]
        assert f"SUIT-SLOPE-{short}" in _codes(r, use)
    for use in terrace:
        assert any(c.startswith("SUIT-TERRACE-") for c in _codes(r, use))


@pytest.mark.parametrize(
    ("soil", "excluded", "cover"),
    [
        (0.5, set(), set()),  # = cropland minimum 0.5 m
        (0.45, {"cultivated"}, set()),  # garden needs 0.4 m
        (0.35, {"cultivated", "garden"}, set()),  # forest and grass need 0.3 m
        # below 0.3 m: farmland is excluded (hard limit); forest and grass need cover soil
        (0.2, {"cultivated", "garden"}, {"forest", "grass"}),
    ],
)
def test_soil_thickness_limits(tables, soil, excluded, cover):
    r = suit.assess_sites(_site(soil_thickness_m=soil), tables)
    out = set(r.loc[r["status"] == "excluded", "use"]) - {"water"}
    assert out == excluded
    for use, short in (("forest", "FOR"), ("grass", "GRASS")):
        assert (f"SUIT-SOIL-COVER-{short}" in _codes(r, use)) == (use in cover)
        assert (f"SUIT-FIT-{short}" in _codes(r, use)) == (use not in cover)


def test_bare_steep_dump_goes_to_forest_with_cover_soil(tables):
    # waste-rock dump: 32° (> 25°, ≤ 35°), 0.05 m of soil → forest with cover soil
    r = suit.assess_sites(_site(slope_deg=32.0, soil_thickness_m=0.05), tables)
    assert _ranked(r) == ["forest", "leave_as_is"]
    assert _codes(r, "forest") == ["SUIT-BASE-ORDER", "SUIT-SOIL-COVER-FOR"]


def test_strict_control_soil_never_gives_food_crops(tables):
    r = suit.assess_sites(_site(pollution_class="strict_control"), tables)
    assert _ranked(r) == ["forest", "grass", "construction", "leave_as_is"]
    assert "SUIT-POLL-STRICT" in _codes(r, "cultivated")
    assert "SUIT-POLL-STRICT" in _codes(r, "garden")


def test_safe_utilization_and_unknown_pollution_are_noted_not_excluded(tables):
    r = suit.assess_sites(_site(pollution_class="safe_utilization"), tables)
    assert _ranked(r)[0] == "cultivated"
    assert "SUIT-POLL-SAFE" in _codes(r, "cultivated")
    r = suit.assess_sites(_site(pollution_class=None), tables)
    assert "SUIT-POLL-UNKNOWN" in _codes(r, "garden")


def test_ecological_red_line_forbids_construction_and_puts_ecology_first(tables):
    r = suit.assess_sites(_site(in_ecological_redline=True), tables)
    assert _ranked(r) == ["forest", "grass", "cultivated", "garden", "leave_as_is"]
    assert "SUIT-REDLINE" in _codes(r, "construction")
    assert _codes(r, "forest")[0] == "SUIT-REDLINE-ECO"


def test_waterlogged_subsidence_gives_water_first(tables):
    # shallow water (1 m < 3 m): water first, land uses still possible after filling
    r = suit.assess_sites(_site(water=True, water_depth_m=1.0), tables)
    assert _ranked(r)[:2] == ["water", "cultivated"]
    assert _codes(r, "water")[0] == "SUIT-WATER-FIRST"
    assert "SUIT-WATER-FILL" in _codes(r, "cultivated")
    # deep water (3.5 m ≥ 3 m): only water, or leave as is
    r = suit.assess_sites(_site(water=True, water_depth_m=3.5), tables)
    assert _ranked(r) == ["water", "leave_as_is"]
    assert "SUIT-WATER-DEEP" in _codes(r, "forest")


def test_permanent_basic_farmland(tables):
    r = suit.assess_sites(_site(slope_deg=20.0, in_permanent_basic_farmland=True), tables)
    assert _ranked(r) == ["cultivated", "grass", "leave_as_is"]
    assert _codes(r, "cultivated")[0] == "SUIT-PBF-CULT"
    for use in ("garden", "forest", "construction"):
        assert "SUIT-PBF" in _codes(r, use)


def test_urban_development_boundary(tables):
    r = suit.assess_sites(_site(in_urban_development_boundary=True), tables)
    assert _ranked(r)[0] == "construction"
    assert _codes(r, "construction")[0] == "SUIT-UDB-IN"
    r = suit.assess_sites(_site(in_urban_development_boundary=False), tables)
    assert "construction" not in _ranked(r)
    assert "SUIT-UDB-OUT" in _codes(r, "construction")


def test_construction_without_boundary_layer_needs_location(tables):
    # 5 km from town > 3 km limit
    r = suit.assess_sites(_site(distance_to_town_m=5000.0), tables)
    assert "SUIT-CONS-REMOTE" in _codes(r, "construction")
    r = suit.assess_sites(_site(distance_to_town_m=None, distance_to_road_m=None), tables)
    assert "construction" not in _ranked(r)


def test_unknown_slope_and_soil_are_noted(tables):
    r = suit.assess_sites(_site(slope_deg=None, soil_thickness_m=None), tables)
    assert {"SUIT-SLOPE-UNKNOWN", "SUIT-SOIL-UNKNOWN"} <= set(_codes(r, "cultivated"))
    assert _ranked(r)[0] == "cultivated"


def test_best_use_and_leave_as_is_always_last(tables):
    sites = pd.concat([_site(site_id="A"), _site(site_id="B", slope_deg=50.0)], ignore_index=True)
    r = suit.assess_sites(sites, tables)
    best = suit.best_uses(r)
    assert list(best["use"]) == ["cultivated", "leave_as_is"]  # B: 50° fails every land use
    assert list(best["rule_codes"][1]) == ["SUIT-LEAVE"]


def test_bad_pollution_class_names_row_and_column(tables):
    sites = pd.concat([_site(), _site(site_id="S2", pollution_class="dirty")], ignore_index=True)
    with pytest.raises(InputError) as err:
        suit.assess_sites(sites, tables)
    p = err.value.problems[0]
    assert (p.row, p.field) == (2, "pollution_class")


@functools.lru_cache(maxsize=1)
def _tables() -> suit.SuitabilityTables:
    return suit.load_tables(on=ON)


_site_strategy = st.fixed_dictionaries(
    {
        "slope_deg": st.one_of(st.none(), st.floats(0, 60)),
        "soil_thickness_m": st.one_of(st.none(), st.floats(0, 2)),
        "water": st.booleans(),
        "water_depth_m": st.one_of(st.none(), st.floats(0, 10)),
        "pollution_class": st.sampled_from([None, *suit.POLLUTION_CLASSES]),
        "in_ecological_redline": st.sampled_from([None, True, False]),
        "in_permanent_basic_farmland": st.sampled_from([None, True, False]),
        "in_urban_development_boundary": st.sampled_from([None, True, False]),
        "distance_to_town_m": st.one_of(st.none(), st.floats(0, 20000)),
        "distance_to_road_m": st.one_of(st.none(), st.floats(0, 5000)),
    }
)


@settings(max_examples=150, deadline=None)
@given(site=_site_strategy)
def test_hard_rules_hold_for_any_site(site):
    tables = _tables()
    r = suit.assess_sites(pd.DataFrame([{"site_id": "X", **site}]), tables)
    ranked = _ranked(r)
    if site["pollution_class"] == "strict_control":
        assert "cultivated" not in ranked and "garden" not in ranked
    if site["in_ecological_redline"]:
        assert "construction" not in ranked
    if site["water"]:
        assert ranked[0] == "water"
    else:
        assert "water" not in ranked
    assert ranked[-1] == "leave_as_is"
    ranks = r["rank"].dropna().astype(int).tolist()
    assert sorted(ranks) == list(range(1, len(ranks) + 1))
    assert np.all(r["rule_codes"].map(len) > 0)
