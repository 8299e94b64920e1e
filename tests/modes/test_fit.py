"""The labelled cases, the fitted rule versions and the figures docs/modes.md states about them.

``restora-fit-1`` (in force 2026-12-07, 32 cases of ``restora-cases-1``) did not exist before
issue 11 item 13: on the old code every test of it fails (no table ``modes/cases``, no
``scoring: softmax``, no ``restora.modes.fit``; a ``None`` profile field was rejected).
``restora-fit-2`` (in force from 2026-12-08, 48 cases of ``restora-cases-2``, two profile
fields and seven rules added) fails on the code before it: the profile had no
``funding_source``/``quota_market`` (its rules were rejected as naming unknown fields), the
``fit`` block had no ``prior_weights`` for rules the prior version lacks, and the report had no
comparison with the previous fitted version.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from restora import refdata
from restora.errors import InputError
from restora.modes import fit
from restora.modes.profile import (
    MODES,
    OPTIONAL_FIELDS,
    MineProfile,
    parse_profile,
    profile_fields,
)
from restora.modes.recommend import (
    RULES_TABLE,
    load_rules,
    recommend,
    rules_from_data,
    softmax_scores,
)

FIT1_ON = "2026-12-07"  # restora-fit-1, restora-cases-1 (stays in force for that date)
FITTED_ON = "2026-12-08"  # restora-fit-2, restora-cases-2
FIT3_ON = "2026-12-09"  # restora-fit-3, restora-cases-3 (tests/modes/test_fit3.py)
EXPERT_ON = "2026-06-01"  # wang2026-restora-1
DOCS = Path(__file__).resolve().parents[2] / "docs" / "modes.md"


@pytest.fixture(scope="module")
def report() -> fit.Report:
    return fit.run(on=FITTED_ON)


# --- the case tables ---------------------------------------------------------------------------


@pytest.mark.parametrize("on", [FIT1_ON, FITTED_ON])
def test_every_case_is_well_formed_with_a_source(on: str) -> None:
    table = refdata.get(fit.CASES_TABLE, on=on)
    raw = table.data["cases"]
    cases = fit.load_cases(on=on)
    assert len(cases) == len(raw) >= 30
    assert len({c.case_id for c in cases}) == len(cases)
    fields = set(profile_fields())
    for c in raw:
        src = c["source"]
        assert src["title"] and src["issuer"] and src["url"].startswith("http")
        assert 2000 <= int(src["year"]) <= 2026
        assert c["label"] in MODES and c["label_basis"].strip()
        # every stated field is a profile field and quotes its sentence; nothing else is stated
        assert set(c["profile"]) <= fields
        assert set(c["basis"]) == set(c["profile"]), c["id"]
        assert all(str(v).strip() for v in c["basis"].values())
    # all four modes are represented
    assert {c.label for c in cases} == set(MODES)


def test_cases_2_keeps_the_32_cases_of_cases_1_and_adds_only_stated_fields() -> None:
    """Version 2 may add cases and the two new fields; an earlier case's label, source and
    stated fields are never changed silently."""
    old = {c["id"]: c for c in refdata.get(fit.CASES_TABLE, on=FIT1_ON).data["cases"]}
    new = {c["id"]: c for c in refdata.get(fit.CASES_TABLE, on=FITTED_ON).data["cases"]}
    assert set(old) < set(new)
    for cid, c in old.items():
        n = new[cid]
        assert (n["label"], n["source"], n["label_basis"]) == (
            c["label"],
            c["source"],
            c["label_basis"],
        )
        assert {k: v for k, v in n["profile"].items() if k in c["profile"]} == c["profile"]
        assert set(n["profile"]) - set(c["profile"]) <= set(OPTIONAL_FIELDS), cid
        assert {k: n["basis"][k] for k in c["basis"]} == c["basis"]
    # version 1 never states the fields added with version 2
    assert not any(set(c["profile"]) & set(OPTIONAL_FIELDS) for c in old.values())
    labels = [c["label"] for c in new.values()]
    assert len(new) >= 45
    # 16 added: 6 safety, 5 resource, 1 rights, 4 industry (docs/modes.md, "The labelled cases")
    added = [new[i]["label"] for i in set(new) - set(old)]
    assert sorted(added) == sorted(
        ["safety_baseline"] * 6
        + ["resource_utilization"] * 5
        + ["property_rights"]
        + ["industry_integration"] * 4
    )
    assert {m: labels.count(m) for m in MODES} == {
        "safety_baseline": 11,
        "resource_utilization": 10,
        "property_rights": 5,
        "industry_integration": 22,
    }


def test_quota_market_is_stated_only_for_rights_cases() -> None:
    """The caveat docs/modes.md states: ``quota_market`` is stated (true) only where the text
    describes a rights or quota sale, so its weight cannot be judged against cases that had a
    market and did not use it."""
    cases = fit.load_cases(on=FITTED_ON)
    stated = [c for c in cases if c.profile.quota_market is not None]
    assert len(stated) == 4
    assert all(c.profile.quota_market is True and c.label == "property_rights" for c in stated)


# --- the profile and the scoring ---------------------------------------------------------------


def test_profiles_written_before_fit_2_stay_valid_and_new_fields_are_unknown() -> None:
    """A profile without the two added fields parses; they are unknown and score nothing; an
    old required field is still required."""
    old_style = {k: None for k in profile_fields() if k not in OPTIONAL_FIELDS}
    p = parse_profile(old_style | {"mineral": "coal"})
    assert p.funding_source is None and p.quota_market is None
    rules = load_rules(on=FITTED_ON)
    assert [r.code for r in rules.rules if r.holds(p)] == ["MODE-RESOURCE-06"]
    with pytest.raises(InputError):
        parse_profile({k: v for k, v in old_style.items() if k != "mineral"})
    with pytest.raises(InputError):
        parse_profile(old_style | {"funding_source": "bank"})


def test_unstated_fields_are_unknown_and_score_nothing() -> None:
    """A case profile keeps unstated fields as None; a condition on None never holds."""
    cases = {c.case_id: c for c in fit.load_cases(on=FITTED_ON)}
    suixi = cases["NEWS-suixi-nanping-pv"].profile  # states only the mineral
    assert suixi.mineral == "coal" and suixi.geohazard_risk is None and suixi.area_hm2 is None
    assert suixi.funding_source is None
    rules = load_rules(on=FITTED_ON)
    rec = recommend(suixi, rules)
    # only MODE-RESOURCE-06 (coal) can hold: z = bias + that weight, the others bias alone
    held = [r for r in rules.rules if r.holds(suixi)]
    assert [r.code for r in held] == ["MODE-RESOURCE-06"]
    assert "MODE-GATE-SAFETY" not in rec.rule_codes  # unknown hazard: no gate
    z = dict(rules.bias)
    z["resource_utilization"] += held[0].weight
    assert rec.primary_mode == max(MODES, key=lambda m: z[m])


def test_softmax_scores_by_hand() -> None:
    """z_m = b_m + Σ w; s = softmax(z). A profile where only MODE-SAFETY-01 holds."""
    rules = load_rules(on=FITTED_ON)
    profile = parse_profile({k: None for k in profile_fields()} | {"geohazard_risk": "high"})
    w = {r.code: r.weight for r in rules.rules}["MODE-SAFETY-01"]
    z = dict(rules.bias)
    z["safety_baseline"] += w
    total = sum(math.exp(v) for v in z.values())
    scores, counted = softmax_scores(profile, rules.rules, rules.bias)
    assert [r.code for r in counted] == ["MODE-SAFETY-01"]
    for m in MODES:
        assert scores[m] == pytest.approx(math.exp(z[m]) / total, abs=1e-12)
    assert sum(scores.values()) == pytest.approx(1.0)


def test_the_added_rules_score_by_hand() -> None:
    """Public money and a used quota market: z = bias + MODE-SAFETY-09 (safety),
    + MODE-RESOURCE-10 (resource), + MODE-RIGHTS-10 (rights); industry has its bias alone."""
    rules = load_rules(on=FITTED_ON)
    w = {r.code: r.weight for r in rules.rules}
    profile = parse_profile(
        {k: None for k in profile_fields()} | {"funding_source": "public", "quota_market": True}
    )
    scores, counted = softmax_scores(profile, rules.rules, rules.bias)
    assert {r.code for r in counted} == {"MODE-SAFETY-09", "MODE-RESOURCE-10", "MODE-RIGHTS-10"}
    z = dict(rules.bias)
    z["safety_baseline"] += w["MODE-SAFETY-09"]
    z["resource_utilization"] += w["MODE-RESOURCE-10"]
    z["property_rights"] += w["MODE-RIGHTS-10"]
    total = sum(math.exp(v) for v in z.values())
    for m in MODES:
        assert scores[m] == pytest.approx(math.exp(z[m]) / total, abs=1e-12)
    # the mixed funders' rules of one group are alternatives: only the matched one counts
    mixed = profile.model_copy(update={"funding_source": "mixed", "quota_market": None})
    _, counted = softmax_scores(mixed, rules.rules, rules.bias)
    assert {r.code for r in counted} == {"MODE-RIGHTS-11", "MODE-INDUSTRY-14"}


def test_the_earlier_rule_versions_do_not_read_the_added_fields() -> None:
    """wang2026-restora-1 and restora-fit-1 stay in force for their dates, unchanged: a profile
    that differs only in the added fields gets the same recommendation."""
    base = parse_profile({k: None for k in profile_fields()} | {"geohazard_risk": "medium"})
    other = base.model_copy(update={"funding_source": "social_capital", "quota_market": True})
    for on in (EXPERT_ON, FIT1_ON):
        rules = load_rules(on=on)
        assert recommend(base, rules).as_dict() == recommend(other, rules).as_dict()
    assert refdata.get(RULES_TABLE, on=FIT1_ON).version == "restora-fit-1"
    assert refdata.get(RULES_TABLE, on=FITTED_ON).version == "restora-fit-2"


# --- the fits ----------------------------------------------------------------------------------


def test_the_table_weights_are_what_the_fit_reproduces(report: fit.Report) -> None:
    data = refdata.get(RULES_TABLE, on=FITTED_ON).data
    assert data["scoring"] == "softmax"
    assert report.fitted["bias"] == data["bias"]
    assert [r["weight"] for r in report.fitted["rules"]] == [r["weight"] for r in data["rules"]]


def test_the_earlier_fitted_version_still_reproduces() -> None:
    old = fit.run(on=FIT1_ON, loo=False)
    data = refdata.get(RULES_TABLE, on=FIT1_ON).data
    assert old.fitted["bias"] == data["bias"] and len(old.cases) == 32
    assert [r["weight"] for r in old.fitted["rules"]] == [r["weight"] for r in data["rules"]]
    assert old.loo is None and old.previous is None


def test_prior_weights_of_added_rules_come_from_the_fit_block_only() -> None:
    data = refdata.get(RULES_TABLE, on=FITTED_ON).data
    expert = rules_from_data(refdata.get(RULES_TABLE, on=EXPERT_ON).data)
    added = fit.fit_settings(data).prior_weights
    weights = fit.prior_weights(expert, added)
    assert set(weights) == {r["code"] for r in data["rules"]}
    assert dict(added) == {
        "MODE-SAFETY-09": 2,
        "MODE-SAFETY-10": 1,
        "MODE-RESOURCE-10": 1,
        "MODE-RIGHTS-10": 3,
        "MODE-RIGHTS-11": 1,
        "MODE-INDUSTRY-13": 2,
        "MODE-INDUSTRY-14": 1,
    }
    with pytest.raises(InputError, match="restates"):
        fit.prior_weights(expert, {"MODE-SAFETY-01": 9})
    cases = fit.load_cases(on=FITTED_ON)
    with pytest.raises(InputError, match="missing"):
        fit.fit_weights(cases, data, expert, 2.0)  # the added rules have no expert weight


@pytest.mark.parametrize("on", [FITTED_ON, FIT3_ON])
def test_fitted_weights_keep_signs_and_order(on: str) -> None:
    """Each weight keeps the sign of its expert value; each monotone chain does not rise."""
    data = refdata.get(RULES_TABLE, on=on).data
    expert = fit.prior_weights(
        rules_from_data(refdata.get(RULES_TABLE, on=EXPERT_ON).data),
        fit.fit_settings(data).prior_weights,
    )
    weight = {r["code"]: r["weight"] for r in data["rules"]}
    for code, w0 in expert.items():
        assert weight[code] * w0 >= 0, code
    for chain in data["fit"]["monotone"]:
        ws = [weight[c] for c in chain]
        assert ws == sorted(ws, reverse=True), chain


def _stated(label: str) -> tuple[int, int]:
    text = DOCS.read_text(encoding="utf-8")
    m = re.search(rf"\| {re.escape(label)}[^|]*\| (\d+)/(\d+) = ", text)
    assert m, f"docs/modes.md states no '{label}' row"
    return int(m.group(1)), int(m.group(2))


def test_docs_state_the_accuracies_the_script_computes(report: fit.Report) -> None:
    labels = report.labels
    n = len(labels)
    assert report.loo is not None and report.previous is not None
    prev = report.previous
    assert prev.refit_loo is not None
    new = [i for i, c in enumerate(report.cases) if c.case_id in prev.new_cases]
    assert len(new) == 16

    def hits(pred: list[str], idx: list[int] | None = None) -> int:
        idx = list(range(n)) if idx is None else idx
        return sum(labels[i] == pred[i] for i in idx)

    stated = {
        "expert weights": (hits(report.baseline), n),
        "previous fitted `restora-fit-1`, published weights |": None,
        "previous fitted `restora-fit-1`, published weights, on the 16": (
            hits(prev.published, new),
            16,
        ),
        "rules of `restora-fit-1` refitted": (hits(prev.refit_loo), n),
        "fitted `restora-fit-2`, in sample": (hits(report.in_sample), n),
        "fitted `restora-fit-2`, leave-one-out": (hits(report.loo), n),
    }
    for label, expected in stated.items():
        if expected is not None:
            assert _stated(label) == expected, label
    text = DOCS.read_text(encoding="utf-8")
    row = f"| previous fitted `restora-fit-1`, published weights | {hits(prev.published)}/{n} = "
    assert row in text
    # the confusion matrices printed in the docs are the script's
    assert "\n".join(fit._confusion_md(labels, report.loo)) in text
    assert "\n".join(fit._confusion_md(labels, prev.refit_loo)) in text
    # and the whole generated block is in the page, verbatim
    assert fit.markdown(report) in text


def test_the_fit_beats_the_expert_weights_and_the_majority_class(report: fit.Report) -> None:
    labels = report.labels
    assert report.loo is not None
    loo = fit.accuracy(labels, report.loo)
    assert loo > fit.accuracy(labels, report.baseline)
    assert loo > report.majority[1]


level = st.sampled_from([None, "low", "medium", "high"])
amount = st.one_of(st.none(), st.floats(min_value=0, max_value=1e6, allow_nan=False))
profiles = st.builds(
    MineProfile,
    mineral=st.sampled_from([None, "coal", "metal", "non_metal", "building_stone", "oil_gas"]),
    area_hm2=amount,
    geohazard_risk=st.sampled_from([None, "none", "low", "medium", "high"]),
    pollution=st.sampled_from([None, "none", "mild", "moderate", "severe"]),
    solid_waste_m3=amount,
    water_area_hm2=amount,
    responsible_party=st.sampled_from([None, "present", "absent"]),
    property_rights_clear=st.sampled_from([None, True, False]),
    construction_land_potential_hm2=amount,
    farmland_potential_hm2=amount,
    distance_to_city_km=amount,
    population_within_10km=amount,
    transport_access=st.sampled_from([None, "poor", "fair", "good"]),
    landscape_cultural_value=level,
    market_maturity=level,
    social_capital_interest=level,
    ecological_redline_overlap=st.sampled_from([None, True, False]),
    funding_source=st.sampled_from(
        [None, "public", "responsible_party", "social_capital", "mixed"]
    ),
    quota_market=st.sampled_from([None, True, False]),
)


@pytest.mark.parametrize("on", [FIT1_ON, FITTED_ON, FIT3_ON])
@settings(max_examples=150, deadline=None)
@given(p=profiles)
def test_high_hazard_puts_safety_first_under_the_fitted_weights(on: str, p: MineProfile) -> None:
    """The hard rule: whatever the fitted weights, high geohazard risk ⇒ safety first."""
    rules = load_rules(on=on)
    rec = recommend(p.model_copy(update={"geohazard_risk": "high"}), rules)
    assert rec.sequence[0] == "safety_baseline"
    assert "MODE-GATE-SAFETY" in rec.rule_codes
    # severe pollution alone also puts safety first
    rec = recommend(p.model_copy(update={"pollution": "severe"}), rules)
    assert rec.sequence[0] == "safety_baseline"
    # scores are published rounded to 1e-6 each: four of them sum to 1 within 4 × 5e-7
    rec = recommend(p, rules)
    assert sum(rec.scores.values()) <= 1.0 + 2e-6
    assert rec.primary_mode in rec.sequence
    assert rec.scores[rec.primary_mode] == max(rec.scores.values())
    if p.ecological_redline_overlap:
        assert rec.scores["industry_integration"] <= 0.3 + 1e-12
    if p.geohazard_risk is None and p.pollution is None:
        assert "MODE-GATE-SAFETY" not in rec.rule_codes  # unknown hazard never gates


@pytest.mark.parametrize("on", [FIT1_ON, FITTED_ON, FIT3_ON])
@settings(max_examples=150, deadline=None)
@given(p=profiles, lower=st.sampled_from(["none", "low", "medium"]))
def test_a_worse_geohazard_never_lowers_the_fitted_safety_score(
    on: str, p: MineProfile, lower: str
) -> None:
    worse = {"none": "low", "low": "medium", "medium": "high"}[lower]
    rules = load_rules(on=on)
    lo = recommend(p.model_copy(update={"geohazard_risk": lower}), rules).scores
    hi = recommend(p.model_copy(update={"geohazard_risk": worse}), rules).scores
    assert hi["safety_baseline"] >= lo["safety_baseline"] - 1e-12
