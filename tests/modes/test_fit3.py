"""Third attempt at the mode recommender: the cases of ``restora-cases-3`` (in force from
2026-12-09).

``restora-cases-3`` did not exist before this test: on the code before it every test here fails
(no version of table ``modes/cases`` in force on 2026-12-09 beyond ``restora-cases-2``'s 48
cases, no ``revisions``). The table keeps every earlier case as it was except for corrections
declared case by case, and adds 20 cases (docs/modes.md, "Third attempt").
"""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path

import pytest

from restora import labels, refdata
from restora.modes import fit
from restora.modes.profile import MODES, parse_profile, profile_fields
from restora.modes.recommend import (
    RULES_TABLE,
    load_rules,
    recommend,
    rules_from_data,
    softmax_scores,
)

FITTED_ON = "2026-12-08"  # restora-fit-2, restora-cases-2
FIT3_ON = "2026-12-09"  # restora-fit-3, restora-cases-3


def _cases(on: str) -> dict[str, dict]:
    return {c["id"]: c for c in refdata.get(fit.CASES_TABLE, on=on).data["cases"]}


def test_cases_3_is_the_version_in_force_and_well_formed() -> None:
    table = refdata.get(fit.CASES_TABLE, on=FIT3_ON)
    assert table.version == "restora-cases-3"
    assert refdata.get(fit.CASES_TABLE, on=FITTED_ON).version == "restora-cases-2"
    cases = fit.load_cases(on=FIT3_ON)
    assert len(cases) == len(table.data["cases"]) == 68
    fields = set(profile_fields())
    for c in table.data["cases"]:
        src = c["source"]
        assert src["title"] and src["issuer"] and src["url"].startswith("http"), c["id"]
        assert 2000 <= int(src["year"]) <= 2026
        assert c["label"] in MODES and c["label_basis"].strip()
        assert set(c["profile"]) <= fields
        assert set(c["basis"]) == set(c["profile"]), c["id"]
        assert all(str(v).strip() for v in c["basis"].values())


def test_cases_3_changes_earlier_cases_only_as_declared() -> None:
    """Every difference between a restora-cases-2 case and its restora-cases-3 copy is a field
    listed in ``revisions`` (from → to, with a reason); label, source and label basis never
    change; a case without ``revisions`` is unchanged."""
    old, new = _cases(FITTED_ON), _cases(FIT3_ON)
    assert set(old) < set(new)
    revised = []
    for cid, c in old.items():
        n = new[cid]
        assert (n["label"], n["source"], n["label_basis"]) == (
            c["label"],
            c["source"],
            c["label_basis"],
        )
        revs = n.get("revisions", [])
        changed = {
            f
            for f in set(c["profile"]) | set(n["profile"])
            if c["profile"].get(f) != n["profile"].get(f)
        }
        assert changed == {r["field"] for r in revs}, cid
        for r in revs:
            assert c["profile"].get(r["field"]) == r["from"], (cid, r)
            assert n["profile"][r["field"]] == r["to"], (cid, r)
            assert r["reason"].strip()
        # quotes of unchanged fields stay as they were; a revised field quotes its sentence
        assert {k: v for k, v in n["basis"].items() if k not in changed} == {
            k: v for k, v in c["basis"].items() if k not in changed
        }, cid
        if revs:
            revised.append(cid)
        assert {k: v for k, v in n.items() if k != "revisions"}.keys() == c.keys()
    assert sorted(revised) == sorted(
        [
            "MNR-EPVR1-07-weihai-huaxiacheng",
            "MNR-EPVR2-tangshan-nanhu",
            "NEWS-lengshuijiang-xikuangshan",
            "NEWS-cili-dahu",
            "NEWS-shimen-realgar",
        ]
    )


def test_cases_3_adds_20_cases_with_the_stated_labels() -> None:
    old, new = _cases(FITTED_ON), _cases(FIT3_ON)
    added = Counter(new[i]["label"] for i in set(new) - set(old))
    # docs/modes.md, "Cases added": 1 rights, 5 resource, 3 safety, 11 industry
    assert added == {
        "property_rights": 1,
        "resource_utilization": 5,
        "safety_baseline": 3,
        "industry_integration": 11,
    }
    assert Counter(c["label"] for c in new.values()) == {
        "safety_baseline": 14,
        "resource_utilization": 15,
        "property_rights": 6,
        "industry_integration": 33,
    }
    assert not any("revisions" in new[i] for i in set(new) - set(old))


def test_quota_market_is_still_stated_only_for_rights_cases() -> None:
    cases = fit.load_cases(on=FIT3_ON)
    stated = [c for c in cases if c.profile.quota_market is not None]
    assert len(stated) == 5
    assert all(c.profile.quota_market is True and c.label == "property_rights" for c in stated)


@pytest.mark.parametrize("cid", ["NEWS-binchuan-shizikou", "NEWS-yongcheng-riyuehu"])
def test_added_case_profiles_read_as_stated(cid: str) -> None:
    """Two added cases by hand: areas at 15 mu = 1 hm², km² × 100 = hm²."""
    p = {c.case_id: c.profile for c in fit.load_cases(on=FIT3_ON)}[cid]
    if cid == "NEWS-binchuan-shizikou":
        # 114.3 hm² to restore; 9.8864 hm² of new paddy; at the county town's edge
        assert (p.area_hm2, p.farmland_potential_hm2, p.distance_to_city_km) == (114.3, 9.8864, 0)
        assert p.quota_market is True and p.funding_source is None
    else:
        # 3.15 km² of standing water = 315 hm²; over 20 km² of subsidence = 2000 hm²
        assert (p.water_area_hm2, p.area_hm2, p.funding_source) == (315, 2000, "mixed")


# --- the fitted version restora-fit-3 ----------------------------------------------------------

EXPERT_ON = "2026-06-01"  # wang2026-restora-1
DOCS = Path(__file__).resolve().parents[2] / "docs" / "modes.md"


@pytest.fixture(scope="module")
def report3() -> fit.Report:
    return fit.run(on=FIT3_ON)


def test_fit_3_is_in_force_from_2026_12_09_and_fit_2_stays_for_its_date() -> None:
    assert refdata.get(RULES_TABLE, on=FIT3_ON).version == "restora-fit-3"
    assert refdata.get(RULES_TABLE, on="2026-12-31").version == "restora-fit-3"
    assert refdata.get(RULES_TABLE, on=FITTED_ON).version == "restora-fit-2"


def test_fit_3_keeps_fit_2s_rules_and_adds_two_conjunctive_ones() -> None:
    """Same codes, groups, conditions, gates and order as restora-fit-2, plus MODE-INDUSTRY-15
    and -16, each with two conditions in a group of its own."""
    old = refdata.get(RULES_TABLE, on=FITTED_ON).data
    new = refdata.get(RULES_TABLE, on=FIT3_ON).data
    strip = lambda rs: [{k: v for k, v in r.items() if k != "weight"} for r in rs]  # noqa: E731
    assert strip(new["rules"][: len(old["rules"])]) == strip(old["rules"])
    added = new["rules"][len(old["rules"]) :]
    assert [r["code"] for r in added] == ["MODE-INDUSTRY-15", "MODE-INDUSTRY-16"]
    assert all(len(r["when"]) == 2 for r in added)
    groups = {(r["mode"], r["group"]) for r in new["rules"]}
    assert len(groups) == len({(r["mode"], r["group"]) for r in old["rules"]}) + 2
    assert new["gates"] == old["gates"]
    assert new["sequence_order"] == old["sequence_order"]
    settings = fit.fit_settings(new)
    assert (settings.prior_sd, settings.monotone) == (2.0, fit.fit_settings(old).monotone)
    assert dict(settings.prior_weights) == dict(fit.fit_settings(old).prior_weights) | {
        "MODE-INDUSTRY-15": 2,
        "MODE-INDUSTRY-16": 1.5,
    }


@pytest.mark.parametrize(
    ("update", "holds"),
    [
        # both conditions met exactly at the thresholds: 5 hm² of water, 30 km / 10 km
        ({"water_area_hm2": 5, "distance_to_city_km": 30}, {"MODE-INDUSTRY-15"}),
        ({"water_area_hm2": 4.9, "distance_to_city_km": 30}, set()),
        ({"water_area_hm2": 5, "distance_to_city_km": 30.1}, set()),
        ({"water_area_hm2": 5}, set()),  # distance unknown: the conjunction does not hold
        ({"mineral": "building_stone", "distance_to_city_km": 10}, {"MODE-INDUSTRY-16"}),
        ({"mineral": "non_metal", "distance_to_city_km": 0}, {"MODE-INDUSTRY-16"}),
        ({"mineral": "metal", "distance_to_city_km": 0}, set()),
        ({"mineral": "building_stone", "distance_to_city_km": 10.5}, set()),
    ],
)
def test_the_conjunctive_rules_need_both_conditions(update: dict, holds: set) -> None:
    rules = load_rules(on=FIT3_ON)
    p = parse_profile({k: None for k in profile_fields()} | update)
    got = {r.code for r in rules.rules if r.holds(p)} & {"MODE-INDUSTRY-15", "MODE-INDUSTRY-16"}
    assert got == holds


def test_a_wetland_near_a_town_scores_by_hand() -> None:
    """Water 466.7 hm² at 18 km (Pan'an's profile without hazard): z_resource = b + w(RESOURCE-03),
    z_industry = b + w(INDUSTRY-02) + w(INDUSTRY-15); safety and rights keep their biases."""
    rules = load_rules(on=FIT3_ON)
    w = {r.code: r.weight for r in rules.rules}
    p = parse_profile(
        {k: None for k in profile_fields()} | {"water_area_hm2": 466.7, "distance_to_city_km": 18}
    )
    scores, counted = softmax_scores(p, rules.rules, rules.bias)
    assert {r.code for r in counted} == {
        "MODE-RESOURCE-03",
        "MODE-INDUSTRY-02",
        "MODE-INDUSTRY-15",
    }
    z = dict(rules.bias)
    z["resource_utilization"] += w["MODE-RESOURCE-03"]
    z["industry_integration"] += w["MODE-INDUSTRY-02"] + w["MODE-INDUSTRY-15"]
    total = sum(math.exp(v) for v in z.values())
    for m in MODES:
        assert scores[m] == pytest.approx(math.exp(z[m]) / total, abs=1e-12)
    assert recommend(p, rules).primary_mode == max(MODES, key=lambda m: z[m])


def test_the_table_weights_of_fit_3_are_what_the_fit_reproduces(report3: fit.Report) -> None:
    data = refdata.get(RULES_TABLE, on=FIT3_ON).data
    assert report3.fitted["bias"] == data["bias"]
    assert [r["weight"] for r in report3.fitted["rules"]] == [r["weight"] for r in data["rules"]]
    assert len(report3.cases) == 68


def test_signature_ceiling_by_hand() -> None:
    """Three cases with the same rules holding (labels a, a, b) and one alone: 2 + 1 = 3 of 4."""
    rules = load_rules(on=FIT3_ON)
    blank = {k: None for k in profile_fields()}
    same = parse_profile(blank | {"geohazard_risk": "high"})
    other = parse_profile(blank | {"quota_market": True})
    cases = [
        fit.Case("a", "safety_baseline", same, {}),
        fit.Case("b", "safety_baseline", same, {}),
        fit.Case("c", "industry_integration", same, {}),
        fit.Case("d", "property_rights", other, {}),
    ]
    assert fit.signature_ceiling(cases, rules) == 3


def test_docs_state_the_fit_3_figures_the_script_computes(report3: fit.Report) -> None:
    text = DOCS.read_text(encoding="utf-8")
    block = fit.markdown(report3)
    assert block in text
    assert report3.loo is not None and report3.previous is not None
    assert report3.capacity is not None and report3.ceiling is not None
    n, labels_ = len(report3.cases), report3.labels
    hits = sum(a == b for a, b in zip(labels_, report3.loo, strict=True))
    row = f"| fitted `restora-fit-3`, leave-one-out (σ = 2) | {hits}/{n} = {hits / n:.1%} |"
    assert row in block and row in text
    # the in-sample capacity with the prior removed is stated, and is what limits the fit
    cap = sum(a == b for a, b in zip(labels_, report3.capacity, strict=True))
    assert f"signs and order kept) | {cap}/{n} = " in text
    assert report3.ceiling >= cap
    # "the two added rules change no prediction against the ablation" (docs/modes.md)
    assert report3.loo == report3.previous.refit_loo


def test_every_rule_code_of_every_version_has_a_bilingual_label() -> None:
    """The report prints rule codes with their names: every version's codes are catalogued
    (tests/test_labels.py checks only the version in force today)."""
    for on in (EXPERT_ON, "2026-12-07", FITTED_ON, FIT3_ON):
        for r in refdata.get(RULES_TABLE, on=on).data["rules"]:
            assert labels.lookup(r["code"], "zh", "mode_rule"), (on, r["code"])
            assert labels.lookup(r["code"], "en", "mode_rule"), (on, r["code"])


def test_fit_3_rules_build_and_gates_are_fit_2s() -> None:
    rs = rules_from_data(refdata.get(RULES_TABLE, on=FIT3_ON).data)
    assert rs.scoring == "softmax" and rs.safety.code == "MODE-GATE-SAFETY"
