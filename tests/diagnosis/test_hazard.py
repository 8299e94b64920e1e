"""Geohazard danger grading: scale and threat classes, every matrix cell, mine grade, invariants."""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from restora.diagnosis import hazard
from restora.errors import InputError

ON = "2024-01-01"


@pytest.fixture(scope="module")
def tables() -> hazard.HazardTables:
    return hazard.load_tables(on=ON)


def _frame(**cols) -> pd.DataFrame:
    n = len(next(iter(cols.values())))
    base = {"hazard_id": [f"H{i}" for i in range(n)], "mine_id": ["M1"] * n}
    base.update(cols)
    return pd.DataFrame(base)


# --- scale classes (volume limits from the table: landslide 1e5/1e6/1e7, collapse 1e4/1e5/1e6)
@pytest.mark.parametrize(
    ("kind", "volume", "expected"),
    [
        ("landslide", 9.99e4, "small"),  # < 10万 m³
        ("landslide", 1.0e5, "medium"),  # a limit belongs to the class above
        ("landslide", 9.99e5, "medium"),
        ("landslide", 1.0e6, "large"),
        ("landslide", 1.0e7, "giant"),  # ≥ 1000万 m³
        ("collapse", 9.0e3, "small"),  # < 1万 m³
        ("collapse", 1.0e4, "medium"),
        ("collapse", 2.0e5, "large"),
        ("collapse", 1.0e6, "giant"),
        ("debris_flow", 1.0e4, "small"),  # < 2万 m³
        ("debris_flow", 3.0e5, "large"),  # 20万–50万 m³
        ("debris_flow", 5.0e5, "giant"),
    ],
)
def test_scale_class_from_volume(tables, kind, volume, expected):
    idx, known = hazard.scale_class(np.array([kind], dtype=object), np.array([volume]), tables)
    assert hazard.SCALES[idx[0]] == expected
    assert known[0]


def test_scale_unknown_for_missing_volume_and_area_classed_kinds(tables):
    kinds = np.array(["landslide", "subsidence", "ground_fissure"], dtype=object)
    idx, known = hazard.scale_class(kinds, np.array([np.nan, 5e6, 1e3]), tables)
    # subsidence and fissures are classed by area/length, not volume: the table's default
    assert [hazard.SCALES[i] for i in idx] == [tables.unknown_volume_class] * 3 == ["medium"] * 3
    assert not known.any()


# --- threat classes (险情: 100/500/1000 people; 500万/5000万/1亿 CNY)
@pytest.mark.parametrize(
    ("people", "loss", "expected"),
    [
        (0, 0, "none"),
        (1, 0, "small"),
        (99, 4.99e6, "small"),
        (100, 0, "medium"),
        (0, 5.0e6, "medium"),
        (499, 4.99e7, "medium"),
        (500, 0, "large"),
        (0, 5.0e7, "large"),
        (999, 0, "large"),
        (1000, 0, "special_large"),
        (0, 1.0e8, "special_large"),
        (10, 2.0e8, "special_large"),  # the higher of the two classes
        (np.nan, np.nan, "small"),  # unknown is not "nothing threatened"
    ],
)
def test_threat_class(tables, people, loss, expected):
    idx, _ = hazard.threat_class(np.array([people], float), np.array([loss], float), tables)
    assert hazard.THREATS[idx[0]] == expected


# --- every cell of the danger matrix, worked out from DZ/T 0286-2015's table:
# development strong = large/giant scale, moderate = medium, weak = small;
# harm big = large/special_large threat, medium = medium, small = small; none → low.
EXPECTED_MATRIX = {
    # scale: [none, small, medium, large, special_large]
    "small": ["low", "low", "medium", "medium", "medium"],  # weak × (small, medium, big, big)
    "medium": ["low", "low", "medium", "high", "high"],  # moderate
    "large": ["low", "medium", "high", "high", "high"],  # strong
    "giant": ["low", "medium", "high", "high", "high"],  # strong
}
# one (volume, people) pair per class, landslides, distance to buildings 100 m (no modifier)
VOLUME = {"small": 5e4, "medium": 5e5, "large": 5e6, "giant": 2e7}
PEOPLE = {"none": 0, "small": 50, "medium": 200, "large": 700, "special_large": 1500}


@pytest.mark.parametrize("scale", hazard.SCALES)
@pytest.mark.parametrize("threat", hazard.THREATS)
def test_every_matrix_cell(tables, scale, threat):
    df = _frame(
        kind=["landslide"],
        volume_m3=[VOLUME[scale]],
        people_threatened=[PEOPLE[threat]],
        property_threatened_cny=[0.0],
        distance_to_buildings_m=[100.0],
    )
    g = hazard.grade_hazards(df, tables).iloc[0]
    assert (g["scale"], g["threat_adjusted"]) == (scale, threat)
    assert g["grade"] == EXPECTED_MATRIX[scale][hazard.THREATS.index(threat)]
    code = f"HAZ-M-S{hazard.SCALES.index(scale) + 1}-T{hazard.THREATS.index(threat)}"
    assert code in g["rule_codes"]


def test_distance_modifies_threat(tables):
    # medium landslide (5e5 m³), 200 people (medium threat):
    # 30 m ≤ 50 m → large threat → high; 300 m → medium → medium; 800 m > 500 m → small → low
    df = _frame(
        kind=["landslide"] * 4,
        volume_m3=[5e5] * 4,
        people_threatened=[200, 200, 200, 50],
        distance_to_buildings_m=[30.0, 300.0, 800.0, 900.0],
    )
    g = hazard.grade_hazards(df, tables)
    assert list(g["threat_adjusted"]) == ["large", "medium", "small", "small"]
    assert list(g["grade"]) == ["high", "medium", "low", "low"]
    assert "HAZ-DIST-NEAR" in g["rule_codes"][0]
    assert "HAZ-DIST-FAR" in g["rule_codes"][2]
    # small threat is the floor while anything is threatened: no FAR code when nothing moved
    assert "HAZ-DIST-FAR" not in g["rule_codes"][3]


def test_mine_grade_is_max_and_none_without_hazards(tables):
    df = pd.DataFrame(
        {
            "hazard_id": ["a", "b", "c"],
            "mine_id": ["M1", "M1", "M2"],
            "kind": ["collapse", "landslide", "collapse"],
            "volume_m3": [5e3, 2e7, 5e3],  # small collapse, giant landslide
            "people_threatened": [0, 1500, 20],
        }
    )
    g = hazard.grade_hazards(df, tables)
    assert list(g["grade"]) == ["low", "high", "low"]  # S1-T0, S4-T4, S1-T1
    mines = hazard.grade_mines(g, ["M1", "M2", "M3"])
    assert list(mines["grade"]) == ["high", "low", "none"]
    assert list(mines["hazards"]) == [2, 1, 0]
    assert mines["rule_codes"][2] == ["HAZ-MINE-NONE"]
    assert "HAZ-MINE-MAX" in mines["rule_codes"][0]


def test_bad_number_names_row_and_column(tables):
    df = _frame(kind=["collapse", "collapse"], volume_m3=[1.0, -5.0])
    with pytest.raises(InputError) as err:
        hazard.grade_hazards(df, tables)
    assert err.value.problems[0].row == 2
    assert err.value.problems[0].field == "volume_m3"


def test_provenance_lists_the_four_tables(tables):
    assert [p["name"] for p in tables.provenance] == list(hazard.TABLE_NAMES)


@functools.lru_cache(maxsize=1)
def _tables() -> hazard.HazardTables:
    return hazard.load_tables(on=ON)


_kind = st.sampled_from(["collapse", "landslide", "debris_flow", "subsidence", "ground_fissure"])
_opt = st.one_of(st.none(), st.floats(0, 1e9))


@settings(max_examples=150, deadline=None)
@given(
    kind=_kind,
    volume=_opt,
    people=st.integers(0, 5000),
    extra=st.integers(0, 5000),
    loss=_opt,
    extra_loss=st.floats(0, 1e9),
    dist=st.one_of(st.none(), st.floats(0, 5000)),
)
def test_more_people_or_property_never_lowers_the_grade(
    kind, volume, people, extra, loss, extra_loss, dist
):
    tables = _tables()
    # an unknown loss stays unknown; a known one only grows
    more_loss = None if loss is None else loss + extra_loss
    df = _frame(
        kind=[kind] * 2,
        volume_m3=[volume] * 2,
        people_threatened=[people, people + extra],
        property_threatened_cny=[loss, more_loss],
        distance_to_buildings_m=[dist] * 2,
    )
    g = hazard.grade_hazards(df, tables)["grade"].map(hazard.GRADES.index).to_numpy()
    assert g[1] >= g[0]


@settings(max_examples=100, deadline=None)
@given(
    volume=st.floats(0, 1e8),
    people=st.integers(0, 3000),
    d=st.floats(0, 2000),
    closer=st.floats(0, 2000),
)
def test_closer_buildings_never_lower_the_grade(volume, people, d, closer):
    tables = _tables()
    df = _frame(
        kind=["landslide"] * 2,
        volume_m3=[volume] * 2,
        people_threatened=[people] * 2,
        distance_to_buildings_m=[d, max(d - closer, 0.0)],
    )
    g = hazard.grade_hazards(df, tables)["grade"].map(hazard.GRADES.index).to_numpy()
    assert g[1] >= g[0]


@pytest.fixture
def user_tables(user_refdata):
    d = user_refdata / "hazard"
    d.mkdir(parents=True)
    (d / "distance-modifier.yaml").write_text(
        "title: a county's reach\nsource: test fixture\nunit: m\nversions:\n"
        "  - valid_from: 2024-01-01\n    version: county-2024\n    data: {near_m: 200.0, far_m: 1000.0}\n",
        encoding="utf-8",
    )
    (d / "danger-matrix.yaml").write_text(
        "title: broken\nsource: test fixture\nunit: '1'\nversions:\n"
        "  - valid_from: 2025-01-01\n    version: broken\n"
        "    data: [{scale: small, threat: none, grade: low, code: X}]\n",
        encoding="utf-8",
    )


def test_user_tables_change_the_rules_and_are_checked(user_tables):
    # medium landslide, 200 people (medium threat), buildings 150 m away:
    # shipped near_m 50 → medium × medium → medium; county near_m 200 → large threat → high
    df = _frame(
        kind=["landslide"],
        volume_m3=[5e5],
        people_threatened=[200],
        distance_to_buildings_m=[150.0],
    )
    assert hazard.grade_hazards(df, hazard.load_tables(on="2023-06-01"))["grade"][0] == "medium"
    county = hazard.load_tables(on="2024-06-01")
    assert county.provenance[2]["version"] == "county-2024"
    assert hazard.grade_hazards(df, county)["grade"][0] == "high"
    with pytest.raises(InputError, match="lacks the cells"):
        hazard.load_tables(on="2025-06-01")
