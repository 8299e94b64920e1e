"""Deriving a mode profile from the register and its diagnosis."""

from __future__ import annotations

import pandas as pd
import pytest

from restora.diagnosis.context_io import read_context
from restora.diagnosis.county import diagnose_county
from restora.errors import InputError
from restora.inventory.model import Register
from restora.modes.derive import derive_from_diagnosis, derive_profile, transport_access
from restora.modes.recommend import load_rules, recommend

ON = "2026-06-01"
BANDS = [
    {"max_m": 1000, "access": "good"},
    {"max_m": 5000, "access": "fair"},
    {"max_m": float("inf"), "access": "poor"},
]


def _area(register: Register, *site_ids: str) -> float:
    s = register.sites
    return float(s.loc[s["site_id"].isin(site_ids), "area_hm2"].sum())


def test_from_the_register_alone_grades_hazards_and_lists_defaults(register: Register) -> None:
    d = derive_profile(register, "B", on=ON)
    p = d.profile
    # giant landslide (2e7 m³) threatening 1500 people: high (DZ/T 0286 danger matrix)
    assert p.geohazard_risk == "high" and d.sources["geohazard_risk"] == "diagnosis:hazard"
    assert p.mineral == "coal" and p.responsible_party == "absent"
    assert p.area_hm2 == pytest.approx(4.0, rel=1e-2)  # a 200 m square
    assert p.water_area_hm2 == 0.0
    assert d.sources["area_hm2"] == "register"
    assert set(d.defaults) >= {
        "pollution",
        "distance_to_city_km",
        "market_maturity",
        "property_rights_clear",
        "landscape_cultural_value",
        "solid_waste_m3",
    }
    names = {t["name"] for t in d.tables}
    assert {"modes/profile-derivation", "hazard/danger-matrix"} <= names
    assert recommend(p, load_rules(on=ON)).sequence[0] == "safety_baseline"


def test_from_diagnosis_frames(register: Register) -> None:
    d = derive_profile(
        register,
        "A",
        hazard_grades=pd.DataFrame({"mine_id": ["A"], "grade": ["none"]}),
        pollution=pd.DataFrame({"mine_id": ["A"], "pollution_class": ["strict_control"]}),
        location=pd.DataFrame(
            {
                "mine_id": ["A"],
                "distance_to_town_m": [1000.0],
                "distance_to_road_m": [3000.0],
                "population_10km": [30000.0],
            }
        ),
        best_uses=pd.DataFrame({"site_id": ["A1", "A2"], "use": ["construction", "cultivated"]}),
        site_flags=pd.DataFrame({"site_id": ["A1", "A2"], "in_ecological_redline": [True, False]}),
        on=ON,
    )
    p = d.profile
    assert p.pollution == "severe" and d.sources["pollution"] == "diagnosis:soil"
    assert p.distance_to_city_km == pytest.approx(1.0)
    assert p.population_within_10km == 30000
    assert p.transport_access == "fair"  # 1000 < 3000 ≤ 5000 m
    assert p.construction_land_potential_hm2 == pytest.approx(_area(register, "A1"))
    assert p.farmland_potential_hm2 == pytest.approx(_area(register, "A2"))
    assert p.water_area_hm2 == pytest.approx(_area(register, "A2"))  # the flooded dump
    assert p.area_hm2 == pytest.approx(_area(register, "A1", "A2"))
    assert p.landscape_cultural_value == "high" and p.responsible_party == "present"
    assert p.ecological_redline_overlap is True
    assert d.sources["ecological_redline_overlap"] == "diagnosis:zones"
    assert "pollution" not in d.defaults and "market_maturity" in d.defaults


def test_context_overrides_and_is_validated(register: Register) -> None:
    d = derive_profile(
        register, "C", context={"market_maturity": "high", "geohazard_risk": "medium"}, on=ON
    )
    assert d.profile.market_maturity == "high" and d.sources["market_maturity"] == "context"
    assert d.profile.geohazard_risk == "medium" and d.sources["geohazard_risk"] == "context"
    with pytest.raises(InputError) as err:
        derive_profile(register, "C", context={"market_maturity": "huge"}, on=ON)
    assert err.value.problems[0].field == "market_maturity"
    with pytest.raises(InputError) as err:
        derive_profile(register, "Z", on=ON)
    assert err.value.problems[0].field == "mine_id"


def test_funding_and_quota_market_come_from_the_context_only(register: Register) -> None:
    """The register and diagnosis hold neither field: without context they are unknown (no
    default, no source listed) and score nothing under restora-fit-2; a project file's
    ``modes.context`` states them. Fails before restora-fit-2: the profile had no such fields."""
    d = derive_profile(register, "C", on="2026-12-08")
    assert d.profile.funding_source is None and d.profile.quota_market is None
    assert "funding_source" not in d.sources and "funding_source" not in d.defaults
    stated = derive_profile(
        register, "C", context={"funding_source": "public", "quota_market": True}, on="2026-12-08"
    )
    assert stated.profile.funding_source == "public" and stated.profile.quota_market is True
    assert stated.sources["funding_source"] == stated.sources["quota_market"] == "context"
    rules = load_rules(on="2026-12-08")
    codes = recommend(stated.profile, rules).rule_codes
    assert {"MODE-SAFETY-09", "MODE-RESOURCE-10", "MODE-RIGHTS-10"} <= set(codes)
    assert not {"MODE-SAFETY-09", "MODE-RIGHTS-10"} & set(recommend(d.profile, rules).rule_codes)
    with pytest.raises(InputError) as err:
        derive_profile(register, "C", context={"funding_source": "bank"}, on="2026-12-08")
    assert err.value.problems[0].field == "funding_source"


@pytest.mark.parametrize(
    ("distance", "access"),
    [(0.0, "good"), (1000.0, "good"), (1000.1, "fair"), (5000.0, "fair"), (5000.1, "poor")],
)
def test_transport_bands(distance: float, access: str) -> None:
    assert transport_access(distance, BANDS) == access


def test_from_a_whole_register_diagnosis(register: Register, context_gpkg: str) -> None:
    diag = diagnose_county(register, read_context(context_gpkg), on=ON)
    a = derive_from_diagnosis(register, "A", diag, on=ON)
    # Cd 10 mg/kg > intervention value 2.0 (other farmland, pH 6.0): strict control → severe
    assert a.profile.pollution == "severe"
    # A's centroid, area-weighted over the pit (9 hm², centre (150, 150)) and the dump (1 hm²,
    # centre (450, 50)): (180, 140); the town at (150, 1150): √(30² + 1010²) = 1010.4 m
    assert a.profile.distance_to_city_km == pytest.approx(1.0104, abs=2e-3)
    assert a.profile.population_within_10km == 30000
    assert a.profile.ecological_redline_overlap is True  # the red line covers A1's corner
    b = derive_from_diagnosis(register, "B", diag, {"market_maturity": "medium"}, on=ON)
    assert b.profile.geohazard_risk == "high"
    # B's centre (x0+10100, y0+100) is 600 m from the road at y0−500: good access
    assert b.profile.transport_access == "good"
    assert b.profile.ecological_redline_overlap is False
    assert b.sources["market_maturity"] == "context"
    c = derive_from_diagnosis(register, "C", diag, on=ON)
    assert c.profile.pollution == "none" and c.sources["pollution"] == "diagnosis:soil"
    assert any(t["name"].startswith("soil/") for t in a.tables)
