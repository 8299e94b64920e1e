"""Priority ranking: a 3-mine example worked by hand, user weights, invariants."""

from __future__ import annotations

import functools
import textwrap

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from restora.diagnosis import priority
from restora.errors import InputError

ON = "2024-06-01"


def _example():
    mines = pd.DataFrame(
        {
            "mine_id": ["A", "B", "C"],
            "name": ["Mine A", "Mine B", "Mine C"],
            "landscape_value": ["high", "low", "medium"],
        }
    )
    sites = pd.DataFrame(
        {
            "mine_id": ["A", "B", "B", "C"],
            "kind": ["open_pit", "tailings_pond", "road", "waste_rock_dump"],
            "area_hm2": [10.0, 4.0, 2.0, 6.0],
        }
    )
    hazards = pd.DataFrame({"mine_id": ["A", "B", "C"], "grade": ["low", "high", "none"]})
    pollution = pd.DataFrame(
        {
            "mine_id": ["A", "B", "C"],
            "pollution_class": ["priority_protection", "strict_control", "safe_utilization"],
        }
    )
    location = pd.DataFrame(
        {
            "mine_id": ["A", "B", "C"],
            "distance_to_town_m": [1000.0, 5000.0, 3000.0],
            "distance_to_road_m": [200.0, 100.0, 800.0],
            "population_10km": [50000.0, 10000.0, 20000.0],
        }
    )
    return mines, sites, hazards, pollution, location


def _rank(tables):
    mines, sites, hazards, pollution, location = _example()
    raw = priority.indicators(mines, sites, tables, hazards, pollution, location)
    return priority.rank(raw, tables)


def test_three_mines_by_hand():
    tables = priority.load_tables(on=ON)
    ranked, method = _rank(tables)
    r = ranked.set_index("mine_id")
    # weighted damaged area: A 10×1.2 = 12; B 4×1.5 + 2×0.5 = 7; C 6×1.0 = 6
    assert r["damaged_area_weighted_hm2"].to_dict() == {"A": 12.0, "B": 7.0, "C": 6.0}
    # damage = (x − 6)/(12 − 6): A 1, B 1/6, C 0
    assert r.loc["A", "damage"] == pytest.approx(1.0)
    assert r.loc["B", "damage"] == pytest.approx(1 / 6)
    assert r.loc["C", "damage"] == pytest.approx(0.0)
    # hazard levels 1, 3, 0 → 1/3, 1, 0; pollution levels 0, 2, 1 → 0, 1, 0.5
    # risk = 0.6 h + 0.4 p: A 0.2, B 1.0, C 0.2
    assert r["risk"].to_dict() == pytest.approx({"A": 0.2, "B": 1.0, "C": 0.2})
    # town (cost) A 1, B 0, C 0.5; road (cost) A 600/700, B 1, C 0;
    # population A 1, B 0, C 0.25; landscape A 1, B 0, C 0.5
    # potential = 0.3 town + 0.2 road + 0.3 pop + 0.2 landscape
    #   A 0.3 + 0.2×6/7 + 0.3 + 0.2 = 0.971429; B 0.2; C 0.15 + 0.075 + 0.1 = 0.325
    assert r["potential"].to_dict() == pytest.approx({"A": 0.8 + 1.2 / 7, "B": 0.2, "C": 0.325})
    # score = 0.40 damage + 0.35 risk + 0.25 potential
    #   A 0.4 + 0.07 + 0.242857 = 0.712857; B 0.066667 + 0.35 + 0.05 = 0.466667;
    #   C 0 + 0.07 + 0.08125 = 0.15125
    assert r["score"].to_dict() == pytest.approx(
        {"A": 0.4 + 0.07 + 0.25 * (0.8 + 1.2 / 7), "B": 0.4 / 6 + 0.35 + 0.05, "C": 0.15125}
    )
    assert list(ranked["mine_id"]) == ["A", "B", "C"]
    assert list(ranked["rank"]) == [1, 2, 3]
    assert method["weights"]["components"] == {"damage": 0.4, "risk": 0.35, "potential": 0.25}
    assert method["dropped_indicators"] == []
    assert tables.provenance[0]["name"] == "priority/weights"


@pytest.fixture
def user_weights(user_refdata):
    d = user_refdata / "priority"
    d.mkdir(parents=True)
    (d / "weights.yaml").write_text(
        textwrap.dedent(
            """
            title: a province's weights
            source: test fixture (a provincial notice)
            unit: "1"
            versions:
              - valid_from: 2024-01-01
                version: province-2024
                data:
                  components: {damage: 0.1, risk: 0.8, potential: 0.1}
                  damage: {damaged_area_weighted_hm2: 1.0}
                  risk: {hazard_level: 0.6, pollution_level: 0.4}
                  potential: {distance_to_town_m: 0.3, distance_to_road_m: 0.2,
                              population_10km: 0.3, landscape_level: 0.2}
                  population_radius_m: 10000.0
            """
        ),
        encoding="utf-8",
    )


def test_user_weights_change_the_order(user_weights):
    tables = priority.load_tables(on=ON)
    assert tables.provenance[0]["version"] == "province-2024"
    ranked, _ = _rank(tables)
    # score = 0.1 damage + 0.8 risk + 0.1 potential
    #   A 0.1 + 0.16 + 0.097143 = 0.357143; B 0.016667 + 0.8 + 0.02 = 0.836667;
    #   C 0 + 0.16 + 0.0325 = 0.1925
    assert list(ranked["mine_id"]) == ["B", "A", "C"]
    assert ranked["score"].tolist() == pytest.approx([0.836667, 0.357143, 0.1925], abs=1e-6)
    # before the user's version takes effect the shipped weights apply
    old, _ = _rank(priority.load_tables(on="2023-06-01"))
    assert list(old["mine_id"]) == ["A", "B", "C"]


def test_weights_override_from_a_file_and_validation():
    tables = priority.load_tables(on=ON)
    w = {**tables.weights, "components": {"damage": 0.0, "risk": 0.0, "potential": 1.0}}
    t2 = priority.load_tables(on=ON, weights_override=(w, {"name": "my.yaml"}))
    ranked, _ = _rank(t2)
    # potential only: A 0.971, C 0.325, B 0.2
    assert list(ranked["mine_id"]) == ["A", "C", "B"]
    bad = {**tables.weights, "risk": {"hazard_level": -1}}
    with pytest.raises(InputError) as err:
        priority.load_tables(on=ON, weights_override=(bad, {"name": "my.yaml"}))
    assert err.value.problems[0].field == "risk.hazard_level"


def test_unknown_indicators_are_dropped_and_reported():
    tables = priority.load_tables(on=ON)
    mines, sites, hazards, _, _ = _example()
    raw = priority.indicators(mines.drop(columns="landscape_value"), sites, tables, hazards)
    ranked, method = priority.rank(raw, tables)
    assert set(method["dropped_indicators"]) == {
        "pollution_level",
        "distance_to_town_m",
        "distance_to_road_m",
        "population_10km",
        "landscape_level",
    }
    assert method["dropped_components"] == ["potential"]
    # score = (0.4 damage + 0.35 hazard) / 0.75: A (0.4 + 0.35/3)/0.75 = 0.688889
    assert ranked.set_index("mine_id").loc["A", "score"] == pytest.approx((0.4 + 0.35 / 3) / 0.75)


def test_minmax():
    assert priority.minmax(np.array([2.0, 4.0, np.nan, 3.0])).tolist() == [0.0, 1.0, 0.0, 0.5]
    assert priority.minmax(np.array([2.0, 4.0, 3.0]), cost=True).tolist() == [1.0, 0.0, 0.5]
    assert priority.minmax(np.array([5.0, 5.0])).tolist() == [0.0, 0.0]


@functools.lru_cache(maxsize=1)
def _tables() -> priority.PriorityTables:
    return priority.load_tables(on=ON)


@settings(max_examples=100, deadline=None)
@given(
    areas=st.lists(st.floats(0, 1000), min_size=2, max_size=6),
    which=st.integers(0, 5),
    extra=st.floats(0, 1000),
    kind=st.sampled_from(["open_pit", "tailings_pond", "road", "subsidence_area"]),
)
def test_larger_damaged_area_never_lowers_the_damage_score(areas, which, extra, kind):
    tables = _tables()
    i = which % len(areas)
    ids = [f"M{k}" for k in range(len(areas))]
    mines = pd.DataFrame({"mine_id": ids, "name": ids})

    def damage(a):
        sites = pd.DataFrame({"mine_id": ids, "kind": [kind] * len(ids), "area_hm2": a})
        ranked, _ = priority.rank(priority.indicators(mines, sites, tables), tables)
        return ranked.set_index("mine_id").loc[ids[i], "damage"]

    bigger = list(areas)
    bigger[i] += extra
    assert damage(bigger) >= damage(areas) - 1e-12
