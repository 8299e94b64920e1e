"""Mode recommendation: invariants over random profiles (hypothesis) and the rule table itself."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from restora import refdata
from restora.errors import InputError
from restora.modes.profile import MODES, MineProfile, profile_fields
from restora.modes.recommend import (
    RIGHTS_STEP,
    RULES_TABLE,
    load_rules,
    recommend,
    rules_from_data,
    score_modes,
)

ON = "2026-06-01"
RULES = load_rules(on=ON)

amount = st.floats(min_value=0, max_value=1e6, allow_nan=False, allow_infinity=False)
level = st.sampled_from(["low", "medium", "high"])
profiles = st.builds(
    MineProfile,
    mineral=st.sampled_from(["coal", "metal", "non_metal", "building_stone", "oil_gas"]),
    area_hm2=amount,
    geohazard_risk=st.sampled_from(["none", "low", "medium", "high"]),
    pollution=st.sampled_from(["none", "mild", "moderate", "severe"]),
    solid_waste_m3=amount,
    water_area_hm2=amount,
    responsible_party=st.sampled_from(["present", "absent"]),
    property_rights_clear=st.booleans(),
    construction_land_potential_hm2=amount,
    farmland_potential_hm2=amount,
    distance_to_city_km=st.floats(min_value=0, max_value=500, allow_nan=False),
    population_within_10km=amount,
    transport_access=st.sampled_from(["poor", "fair", "good"]),
    landscape_cultural_value=level,
    market_maturity=level,
    social_capital_interest=level,
    ecological_redline_overlap=st.booleans(),
)


@settings(max_examples=150, deadline=None)
@given(profiles)
def test_high_geohazard_risk_always_puts_safety_first(p: MineProfile) -> None:
    p = p.model_copy(update={"geohazard_risk": "high"})
    rec = recommend(p, RULES)
    assert rec.sequence[0] == "safety_baseline"
    assert "MODE-GATE-SAFETY" in rec.rule_codes


@settings(max_examples=150, deadline=None)
@given(profiles)
def test_invariants_of_any_recommendation(p: MineProfile) -> None:
    rec = recommend(p, RULES)
    assert set(rec.scores) == set(MODES)
    assert all(0.0 <= s <= 1.0 for s in rec.scores.values())
    # the primary mode has the highest score and is in the sequence
    assert rec.scores[rec.primary_mode] == max(rec.scores.values())
    assert rec.primary_mode in rec.sequence
    # each mode at most once; the only non-mode entry is the rights-confirmation step
    modes_in_seq = [m for m in rec.sequence if m != RIGHTS_STEP]
    assert set(modes_in_seq) <= set(MODES) and len(modes_in_seq) == len(set(modes_in_seq))
    gated = p.geohazard_risk in ("medium", "high") or p.pollution == "severe"
    if gated:
        assert rec.sequence[0] == "safety_baseline"
    elif "safety_baseline" in rec.sequence:
        # without the gate, safety is in only on its own score
        s = rec.scores["safety_baseline"]
        assert s >= RULES.include_min_score or rec.primary_mode == "safety_baseline"
    if p.ecological_redline_overlap:
        assert rec.scores["industry_integration"] <= 0.3 + 1e-12
    if RIGHTS_STEP in rec.sequence:
        assert not p.property_rights_clear
        i = rec.sequence.index(RIGHTS_STEP)
        assert rec.sequence[i + 1] == "property_rights"
    elif "property_rights" in rec.sequence:
        assert p.property_rights_clear
    # every mode scoring at least the threshold is in the sequence
    for m in MODES:
        if rec.scores[m] >= RULES.include_min_score:
            assert m in rec.sequence


@settings(max_examples=200, deadline=None)
@given(profiles, st.sampled_from(["none", "low", "medium"]))
def test_a_worse_geohazard_never_lowers_the_safety_score(p: MineProfile, lower: str) -> None:
    worse = {"none": "low", "low": "medium", "medium": "high"}[lower]
    s_low, _ = score_modes(p.model_copy(update={"geohazard_risk": lower}), RULES.rules)
    s_high, _ = score_modes(p.model_copy(update={"geohazard_risk": worse}), RULES.rules)
    assert s_high["safety_baseline"] >= s_low["safety_baseline"]


@settings(max_examples=100, deadline=None)
@given(profiles)
def test_no_rule_reads_the_mine_name_or_id(p: MineProfile) -> None:
    a = recommend(p.model_copy(update={"name": "Mine A", "mine_id": "A"}), RULES)
    b = recommend(p.model_copy(update={"name": "另一个矿", "mine_id": "Z-99"}), RULES)
    assert a.as_dict() == b.as_dict()


def test_rule_table_codes_fields_and_sources() -> None:
    data = refdata.get(RULES_TABLE, on=ON).data
    fields = set(profile_fields())
    codes = [r["code"] for r in data["rules"]]
    assert len(codes) == len(set(codes))
    for r in data["rules"]:
        assert re.fullmatch(r"MODE-(SAFETY|RESOURCE|RIGHTS|INDUSTRY)-\d{2}", r["code"])
        prefix = {
            "SAFETY": "safety_baseline",
            "RESOURCE": "resource_utilization",
            "RIGHTS": "property_rights",
            "INDUSTRY": "industry_integration",
        }
        assert r["mode"] == prefix[r["code"].split("-")[1]]
        assert r["source_sentence"].strip()
        assert {c["field"] for c in r["when"]} <= fields
    for gate in data["gates"].values():
        assert re.fullmatch(r"MODE-GATE-[A-Z]+", gate["code"]) and gate["source_sentence"]
    t = refdata.get(RULES_TABLE, on=ON)
    assert "10.20103/j.stxb.202507131830" in t.source and t.unit


def _data_with(rule_patch: dict[str, Any]) -> dict[str, Any]:
    data = refdata.get(RULES_TABLE, on=ON).data
    rules = [dict(data["rules"][0], **rule_patch), *data["rules"][1:]]
    return {**data, "rules": rules}


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"when": [{"field": "name", "op": "eq", "value": "Mine A"}]}, "field"),
        ({"when": [{"field": "geohazard_risk", "op": "like", "value": "high"}]}, "op"),
        ({"mode": "mining"}, "mode"),
        ({"code": "MODE-SAFETY-02"}, "code"),
    ],
)
def test_bad_rule_tables_are_rejected(patch: dict[str, Any], field: str) -> None:
    with pytest.raises(InputError) as err:
        rules_from_data(_data_with(patch))
    assert err.value.problems[0].field == field


def test_scores_follow_the_grouped_weighted_sum() -> None:
    # one mode with groups g1 {3, 1} and g2 {2, −4}: attainable 3 + 2 = 5
    data = refdata.get(RULES_TABLE, on=ON).data

    def rule(code: str, group: str, weight: float, risk: str) -> dict[str, Any]:
        return {
            "code": code,
            "name": code,
            "mode": "safety_baseline",
            "group": group,
            "weight": weight,
            "source_sentence": "test",
            "when": [{"field": "geohazard_risk", "op": "in", "value": risk.split(",")}],
        }

    rs = rules_from_data(
        {
            **data,
            "rules": [
                rule("A", "g1", 3, "high"),
                rule("B", "g1", 1, "high,medium"),
                rule("C", "g2", 2, "low"),
                rule("D", "g2", -4, "medium"),
            ],
        }
    )
    base = MineProfile(
        mineral="coal",
        area_hm2=1,
        geohazard_risk="high",
        pollution="none",
        solid_waste_m3=0,
        water_area_hm2=0,
        responsible_party="present",
        property_rights_clear=True,
        construction_land_potential_hm2=0,
        farmland_potential_hm2=0,
        distance_to_city_km=1,
        population_within_10km=0,
        transport_access="good",
        landscape_cultural_value="low",
        market_maturity="low",
        social_capital_interest="low",
        ecological_redline_overlap=False,
    )
    high, counted = score_modes(base, rs.rules)
    assert high["safety_baseline"] == pytest.approx(3 / 5)  # A (3) beats B (1) in g1
    assert [r.code for r in counted] == ["A"]
    medium, _ = score_modes(base.model_copy(update={"geohazard_risk": "medium"}), rs.rules)
    assert medium["safety_baseline"] == 0.0  # B 1 + D −4 = −3 → 0
    low, _ = score_modes(base.model_copy(update={"geohazard_risk": "low"}), rs.rules)
    assert low["safety_baseline"] == pytest.approx(2 / 5)
    assert high["industry_integration"] == 0.0  # no rules: nothing attainable


def test_recommendation_lists_the_table_used() -> None:
    rec = recommend(
        MineProfile(
            mineral="coal",
            area_hm2=1,
            geohazard_risk="none",
            pollution="none",
            solid_waste_m3=0,
            water_area_hm2=0,
            responsible_party="present",
            property_rights_clear=True,
            construction_land_potential_hm2=0,
            farmland_potential_hm2=0,
            distance_to_city_km=100,
            population_within_10km=0,
            transport_access="poor",
            landscape_cultural_value="low",
            market_maturity="medium",
            social_capital_interest="low",
            ecological_redline_overlap=False,
        ),
        RULES,
    )
    # all scores: rights 3 (clear) + 1 (medium market) = 4/12; resource 1 (coal) = 1/10;
    # industry 1 (medium market) = 1/14; safety 0 → primary property_rights
    assert rec.primary_mode == "property_rights"
    assert rec.scores["property_rights"] == pytest.approx(4 / 12, abs=1e-6)
    assert rec.sequence == ("property_rights",)
    assert rec.as_dict()["tables"][0]["name"] == RULES_TABLE


def test_profile_errors_are_the_shared_pydantic_problems() -> None:
    """``parse_profile`` reports bad fields through ``restora.errors.input_error``, like every
    other spec: the same problems, field by field, as ``validation_problems`` gives. Fails on
    the earlier hand-made conversion ("is required", "is not a profile field", no file)."""
    from pydantic import ValidationError

    from restora.errors import validation_problems
    from restora.modes.profile import parse_profile

    data = {k: None for k in profile_fields()} | {"area_hm2": -1, "mineral": "gold", "x": 1}
    del data["pollution"]
    with pytest.raises(InputError) as err:
        parse_profile(data, file="profile.json")
    try:
        MineProfile.model_validate(data)
    except ValidationError as exc:
        expected = validation_problems(exc, file="profile.json")
    got = [(p.field, p.message, p.file) for p in err.value.problems]
    assert got == [(p.field, p.message, p.file) for p in expected]
    assert ("pollution", "required", "profile.json") in got
    assert ("x", "not a known field", "profile.json") in got
