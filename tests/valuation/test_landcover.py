"""Land-cover codes → ecosystem types: every scheme, mine site rules, vectorised lookup."""

from __future__ import annotations

import numpy as np
import pytest

from restora.errors import InputError
from restora.inventory.schema import SITE_KINDS
from restora.valuation.landcover import NO_TYPE, SCHEMES, LandCoverMapping, ecosystem_types

M = LandCoverMapping.load()


def test_every_target_is_one_of_the_14_types_or_null():
    types = set(ecosystem_types())
    assert len(types) == 14
    assert set(M.rows["ecosystem_type"].dropna()) <= types
    assert set(M.rows["scheme"]) == set(SCHEMES)


def test_every_register_site_kind_is_mapped_for_both_water_states():
    for kind in SITE_KINDS:
        for wet in (False, True):
            M.type_of("site_kind", kind, wet)  # raises if missing


@pytest.mark.parametrize(
    "kind, water, expected",
    [
        ("open_pit", False, "bare_land"),
        ("open_pit", True, "water"),
        ("waste_rock_dump", False, "bare_land"),
        ("tailings_pond", True, "bare_land"),
        ("subsidence_area", True, "water"),
        ("subsidence_area", False, "dry_land"),
        ("industrial_yard", False, None),
        ("road", True, None),
    ],
)
def test_mine_site_rules(kind, water, expected):
    assert M.type_of("site_kind", kind, water) == expected


@pytest.mark.parametrize(
    "scheme, code, expected",
    [
        ("gbt21010", "0101", "paddy"),
        ("gbt21010", "0103", "dry_land"),
        ("gbt21010", "0602", "bare_land"),
        ("gbt21010", "1104", "water"),
        ("gbt21010", "1110", "glacier_snow"),
        ("clcd", 2, "mixed_forest"),
        ("clcd", "9", "wetland"),
        ("clcd", 8, None),
        ("esa_worldcover", 80, "water"),
        ("esa_worldcover", 60, "bare_land"),
    ],
)
def test_national_and_global_classes(scheme, code, expected):
    assert M.type_of(scheme, code) == expected


def test_vectorised_lookup_keeps_shape():
    types = M.types
    codes = np.array([[10, 80], [50, 40]])
    idx = M.type_index("esa_worldcover", codes)
    assert idx.shape == (2, 2)
    assert types[idx[0, 1]] == "water"
    assert idx[1, 0] == NO_TYPE
    assert types[idx[1, 1]] == "dry_land"


def test_unknown_code_or_scheme_is_an_input_error():
    with pytest.raises(InputError, match="'999' is not in the clcd mapping"):
        M.type_index("clcd", [1, 999])
    with pytest.raises(InputError, match="unknown land-cover scheme"):
        M.type_of("corine", "311")


def test_integer_paths_with_small_dtypes_and_water_flags():
    types = M.types
    codes = np.array([5, 7, 8, 7], dtype=np.uint8)
    idx = M.type_index("clcd", codes, water=[True, False, False, True])
    assert idx.dtype == np.int8
    assert [None if i == NO_TYPE else types[i] for i in idx] == [
        "water",
        "bare_land",
        None,
        "bare_land",
    ]
    # the string path gives the same answer
    assert M.type_index("clcd", codes.astype(str)).tolist() == M.type_index("clcd", codes).tolist()
