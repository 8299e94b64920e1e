"""Suitability of a site whose soil class is indeterminate (issue 11, item 6).

A ``<DL`` result above the screening value leaves the class open; the site may be as bad as
strict control for all the register says, so no food use (``cultivated``, ``garden``) is planned
on it (SUIT-POLL-INDETERMINATE) until a re-analysis decides the class; non-food uses are as on
any other soil. Before, ``indeterminate`` was not a pollution class: ``assess_sites`` refused it
(InputError) and every test here failed.
"""

from __future__ import annotations

import functools

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from restora.diagnosis import suitability as suit

ON = "2024-01-01"


@functools.lru_cache(maxsize=1)
def _tables() -> suit.SuitabilityTables:
    return suit.load_tables(on=ON)


def _site(**kw: object) -> pd.DataFrame:
    base = {
        "site_id": "S1",
        "slope_deg": 5.0,
        "soil_thickness_m": 0.8,
        "water": False,
        "pollution_class": "indeterminate",
        "distance_to_town_m": 1000.0,
        "distance_to_road_m": 200.0,
    }
    return pd.DataFrame([{**base, **kw}])


def _status(result: pd.DataFrame) -> dict[str, tuple[str, list[str]]]:
    return {
        u: (s, list(c))
        for u, s, c in zip(result["use"], result["status"], result["rule_codes"], strict=True)
    }


def test_indeterminate_is_a_pollution_class():
    assert "indeterminate" in suit.POLLUTION_CLASSES


def test_good_land_with_an_open_result_is_not_farmed():
    # slope 5° and 0.8 m of soil fit every land use (suitability/limits); clean soil would rank
    # cultivated first (test_suitability.test_good_land_follows_the_principle_farming_first)
    got = _status(suit.assess_sites(_site(), _tables()))
    for use in ("cultivated", "garden"):
        status, codes = got[use]
        assert status == "excluded"
        assert "SUIT-POLL-INDETERMINATE" in codes
        assert "SUIT-POLL-STRICT" not in codes  # said as what it is, not as strict control
    assert got["forest"][0] == "suitable" and got["grass"][0] == "suitable"
    best = suit.best_uses(suit.assess_sites(_site(), _tables()))
    assert best["use"].iloc[0] == "forest"  # suitability/rules base_order after the food uses


def test_permanent_basic_farmland_does_not_bring_farming_back():
    # on permanent basic farmland SUIT-PBF-CULT promotes cultivated; it is excluded all the same
    got = _status(suit.assess_sites(_site(in_permanent_basic_farmland=True), _tables()))
    assert got["cultivated"][0] == "excluded"


@pytest.mark.parametrize("cls", ["priority_protection", "safe_utilization"])
def test_decided_classes_keep_farming(cls):
    got = _status(suit.assess_sites(_site(pollution_class=cls), _tables()))
    assert got["cultivated"][0] == "suitable"
    assert "SUIT-POLL-INDETERMINATE" not in got["cultivated"][1]


@settings(max_examples=150, deadline=None)
@given(
    slope=st.one_of(st.none(), st.floats(0, 60)),
    soil=st.one_of(st.none(), st.floats(0, 2)),
    water=st.booleans(),
    depth=st.one_of(st.none(), st.floats(0, 10)),
    pbf=st.sampled_from([None, True, False]),
    udb=st.sampled_from([None, True, False]),
    redline=st.sampled_from([None, True, False]),
)
def test_never_cultivated_on_an_indeterminate_site(slope, soil, water, depth, pbf, udb, redline):
    site = _site(
        slope_deg=slope,
        soil_thickness_m=soil,
        water=water,
        water_depth_m=depth,
        in_permanent_basic_farmland=pbf,
        in_urban_development_boundary=udb,
        in_ecological_redline=redline,
    )
    got = _status(suit.assess_sites(site, _tables()))
    assert got["cultivated"][0] == "excluded" and got["garden"][0] == "excluded"
    assert got["leave_as_is"][0] == "suitable"
