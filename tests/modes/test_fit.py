"""The labelled cases, the fitted rule version and the figures docs/modes.md states about them.

The fitted version (``restora-fit-1``, in force from 2026-12-07) did not exist before: on the old
code every test below fails (no table ``modes/cases``, no ``scoring: softmax``, no
``restora.modes.fit``; a ``None`` profile field was rejected).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from restora import refdata
from restora.modes import fit
from restora.modes.profile import MODES, MineProfile, parse_profile, profile_fields
from restora.modes.recommend import RULES_TABLE, load_rules, recommend, softmax_scores

FITTED_ON = "2026-12-07"
DOCS = Path(__file__).resolve().parents[2] / "docs" / "modes.md"


@pytest.fixture(scope="module")
def report() -> fit.Report:
    return fit.run(on=FITTED_ON)


def test_every_case_is_well_formed_with_a_source() -> None:
    table = refdata.get(fit.CASES_TABLE, on=FITTED_ON)
    raw = table.data["cases"]
    cases = fit.load_cases(on=FITTED_ON)
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


def test_unstated_fields_are_unknown_and_score_nothing() -> None:
    """A case profile keeps unstated fields as None; a condition on None never holds."""
    cases = {c.case_id: c for c in fit.load_cases(on=FITTED_ON)}
    suixi = cases["NEWS-suixi-nanping-pv"].profile  # states only the mineral
    assert suixi.mineral == "coal" and suixi.geohazard_risk is None and suixi.area_hm2 is None
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
    import math

    z = dict(rules.bias)
    z["safety_baseline"] += w
    total = sum(math.exp(v) for v in z.values())
    scores, counted = softmax_scores(profile, rules.rules, rules.bias)
    assert [r.code for r in counted] == ["MODE-SAFETY-01"]
    for m in MODES:
        assert scores[m] == pytest.approx(math.exp(z[m]) / total, abs=1e-12)
    assert sum(scores.values()) == pytest.approx(1.0)


def test_the_table_weights_are_what_the_fit_reproduces(report: fit.Report) -> None:
    data = refdata.get(RULES_TABLE, on=FITTED_ON).data
    assert data["scoring"] == "softmax"
    assert report.fitted["bias"] == data["bias"]
    assert [r["weight"] for r in report.fitted["rules"]] == [r["weight"] for r in data["rules"]]


def test_fitted_weights_keep_signs_and_order() -> None:
    """Each weight keeps the sign of its expert value; each monotone chain does not rise."""
    data = refdata.get(RULES_TABLE, on=FITTED_ON).data
    expert = {
        r["code"]: r["weight"] for r in refdata.get(RULES_TABLE, on="2026-06-01").data["rules"]
    }
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
    hits = {
        "expert weights": sum(a == p for a, p in zip(labels, report.baseline, strict=True)),
        "fitted `restora-fit-1`, in sample": sum(
            a == p for a, p in zip(labels, report.in_sample, strict=True)
        ),
        "fitted, leave-one-out": sum(a == p for a, p in zip(labels, report.loo, strict=True)),
    }
    for label, h in hits.items():
        assert _stated(label) == (h, n), label
    # and the confusion matrix printed in the docs is the script's
    text = DOCS.read_text(encoding="utf-8")
    assert "\n".join(fit._confusion_md(labels, report.loo)) in text


def test_the_fit_beats_the_expert_weights_and_the_majority_class(report: fit.Report) -> None:
    labels = report.labels
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
)


@settings(max_examples=200, deadline=None)
@given(profiles)
def test_high_hazard_puts_safety_first_under_the_fitted_weights(p: MineProfile) -> None:
    """The hard rule: whatever the fitted weights, high geohazard risk ⇒ safety first."""
    rec = recommend(p.model_copy(update={"geohazard_risk": "high"}), load_rules(on=FITTED_ON))
    assert rec.sequence[0] == "safety_baseline"
    assert "MODE-GATE-SAFETY" in rec.rule_codes
    # scores are published rounded to 1e-6 each: four of them sum to 1 within 4 × 5e-7
    rec = recommend(p, load_rules(on=FITTED_ON))
    assert sum(rec.scores.values()) <= 1.0 + 2e-6
    assert rec.primary_mode in rec.sequence
    assert rec.scores[rec.primary_mode] == max(rec.scores.values())
    if p.ecological_redline_overlap:
        assert rec.scores["industry_integration"] <= 0.3 + 1e-12
    if p.geohazard_risk is None and p.pollution is None:
        assert "MODE-GATE-SAFETY" not in rec.rule_codes  # unknown hazard never gates


@settings(max_examples=200, deadline=None)
@given(profiles, st.sampled_from(["none", "low", "medium"]))
def test_a_worse_geohazard_never_lowers_the_fitted_safety_score(p: MineProfile, lower: str) -> None:
    worse = {"none": "low", "low": "medium", "medium": "high"}[lower]
    rules = load_rules(on=FITTED_ON)
    lo = recommend(p.model_copy(update={"geohazard_risk": lower}), rules).scores
    hi = recommend(p.model_copy(update={"geohazard_risk": worse}), rules).scores
    assert hi["safety_baseline"] >= lo["safety_baseline"] - 1e-12
