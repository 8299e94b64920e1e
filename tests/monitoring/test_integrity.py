"""Integrity scoring (restora.monitoring.integrity): outcomes, time decay, grade bands, listings
and measures, checked by hand against the shipped rules (refdata monitoring/integrity/*:
base 85, half-life 365 d, horizon 1095 d; milestone met +3 / late -5 / missed -15; fund met +2 /
late -5 / missed -20; report (weight 0.5) met +1 / late -3 / missed -8; monitoring gap (weight
0.5) late -4 / missed -10; rectification met +1 / late -4 / missed -10; bands green >= 90,
blue >= 75, yellow >= 60, red below; serious-dishonesty listing caps at red, abnormal at
yellow)."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from restora.errors import InputError
from restora.monitoring import integrity as I

D = dt.date
ON = D(2025, 6, 30)
YEAR_BEFORE = D(2024, 6, 30)  # 365 days before ON: one half-life, decay 0.5


@pytest.fixture(scope="module")
def rules() -> I.IntegrityRules:
    return I.load_rules(ON)


def test_rules_come_from_refdata_with_their_versions(rules: I.IntegrityRules) -> None:
    assert rules.base_score == 85 and rules.half_life_days == 365
    assert rules.version == (
        "monitoring/integrity/scoring@restora-integrity-2024-1;"
        "monitoring/integrity/grades@hfa-2013-150-restora-1;"
        "monitoring/integrity/measures@hfa-2013-150-restora-1"
    )
    assert [g.code for g in rules.grades] == ["green", "blue", "yellow", "red"]
    assert [g.label_zh for g in rules.grades] == [
        "环保诚信企业",
        "环保良好企业",
        "环保警示企业",
        "环保不良企业",
    ]
    codes = [r.code for r in rules.rules]
    assert len(codes) == len(set(codes))  # rules have identities
    assert all(t["sha256"] for t in rules.tables)


@pytest.mark.parametrize(
    ("ob", "expected"),
    [
        (I.Obligation("report", D(2025, 3, 31), D(2025, 3, 31)), "met"),  # on the day: on time
        (I.Obligation("report", D(2025, 3, 31), D(2025, 4, 1)), "late"),
        (I.Obligation("report", D(2025, 3, 31)), "missed"),
        (I.Obligation("report", D(2025, 7, 31)), "pending"),
        # done after the scoring date: not yet done on it
        (I.Obligation("report", D(2025, 3, 31), D(2025, 7, 1)), "missed"),
        (I.Obligation("fund_accrual", D(2025, 3, 31), D(2025, 3, 1), 100.0, 100.0), "met"),
        (I.Obligation("fund_accrual", D(2025, 3, 31), D(2025, 3, 1), 100.0, 99.99), "missed"),
        (I.Obligation("fund_accrual", D(2025, 9, 30), D(2025, 3, 1), 100.0, 50.0), "pending"),
        (I.Obligation("listing", D(2025, 1, 1), listing="serious"), "listed"),
        (I.Obligation("listing", D(2025, 1, 1), D(2025, 5, 1), listing="abnormal"), "lifted"),
        (I.Obligation("listing", D(2025, 1, 1), D(2025, 7, 1), listing="abnormal"), "listed"),
    ],
)
def test_outcome(ob: I.Obligation, expected: str) -> None:
    assert I.outcome(ob, ON) == expected


def test_a_good_company_is_green_with_the_green_credit_discount(rules: I.IntegrityRules) -> None:
    obs = [
        I.Obligation("milestone", ON, ON, id=1),  # met today: +3 * 1 * 1 = 3
        I.Obligation("milestone", D(2025, 6, 1), ON, id=2),  # late today: -5 * 1 * 1 = -5
        I.Obligation("milestone", D(2025, 6, 30), D(2025, 6, 30), id=3),  # +3
        I.Obligation("milestone", D(2025, 6, 30), D(2025, 6, 30), id=4),  # +3
        # fund paid in full a year ago, before its due date: +2 * 1 * 0.5 = 1
        I.Obligation("fund_accrual", D(2024, 12, 31), YEAR_BEFORE, 1e5, 1e5, id=5),
        # report a year ago on time: +1 * 0.5 (weight) * 0.5 (decay) = 0.25
        I.Obligation("report", D(2024, 12, 31), YEAR_BEFORE, id=6),
        I.Obligation("milestone", D(2026, 6, 30), id=7),  # pending: nothing
    ]
    s = I.score(obs, ON, rules)
    # 85 + 3 - 5 + 3 + 3 + 1 + 0.25 = 90.25 -> green (>= 90)
    assert s.score == pytest.approx(90.25)
    assert s.grade == "green" and s.colour == "green" and s.grade_label_zh == "环保诚信企业"
    lines = {b.rule_code: (b.count, b.points) for b in s.breakdown}
    assert lines == {
        "INT-MILESTONE-MET": (3, pytest.approx(9.0)),
        "INT-MILESTONE-LATE": (1, pytest.approx(-5.0)),
        "INT-FUND-MET": (1, pytest.approx(1.0)),
        "INT-REPORT-MET": (1, pytest.approx(0.25)),
    }
    assert {i.id for i in s.items} == {1, 2, 3, 4, 5, 6}  # the pending one is not scored
    measures = {m["code"]: m for m in s.measures}
    assert set(measures) == {"MEAS-GREEN-CREDIT", "MEAS-PRIORITY-APPROVAL"}
    assert measures["MEAS-GREEN-CREDIT"]["rate_discount_bp"] == 20
    assert [m["code"] for m in I.public_measures(s)] == ["MEAS-PRIORITY-APPROVAL"]
    assert "INT-MILESTONE-LATE" in s.rule_codes and "MEAS-GREEN-CREDIT" in s.rule_codes


def test_a_late_and_missing_company_is_yellow(rules: I.IntegrityRules) -> None:
    obs = [
        I.Obligation("milestone", D(2025, 3, 31)),  # missed, not decayed: -15
        # fund due 2024-06-01 paid in full a year ago (late): -5 * 1 * 0.5 = -2.5
        I.Obligation("fund_accrual", D(2024, 6, 1), YEAR_BEFORE, 100.0, 100.0),
        # report due 2024-12-31 never sent: missed, -8 * 0.5 (weight) * 1 = -4
        I.Obligation("report", D(2024, 12, 31)),
        # offline longer than the limit, restored a year ago: -4 * 0.5 * 0.5 = -1
        I.Obligation("monitoring_gap", D(2024, 6, 1), YEAR_BEFORE),
    ]
    s = I.score(obs, ON, rules)
    # 85 - 15 - 2.5 - 4 - 1 = 62.5 -> yellow (60 <= s < 75)
    assert s.score == pytest.approx(62.5)
    assert s.grade == "yellow" and s.grade_label_zh == "环保警示企业"
    assert {m["code"] for m in s.measures} == {"MEAS-MORE-INSPECTION", "MEAS-CREDIT-CAUTION"}
    assert all(m["public"] for m in s.measures)


def test_decay_halves_per_half_life_and_stops_at_the_horizon(rules: I.IntegrityRules) -> None:
    def late_milestone(done: dt.date) -> float:
        return I.score([I.Obligation("milestone", done - dt.timedelta(1), done)], ON, rules).score

    # two half-lives (730 d before ON = 2023-07-01): -5 * 0.25 = -1.25
    assert late_milestone(D(2023, 7, 1)) == pytest.approx(85 - 1.25)
    # 182 days (about half a half-life): -5 * 0.5 ** (182 / 365) = -3.5389
    assert late_milestone(ON - dt.timedelta(days=182)) == pytest.approx(85 - 3.5389, abs=1e-4)
    # 1095 days old: still counted, -5 * 0.125; 1096 days: beyond the horizon, not counted
    assert late_milestone(ON - dt.timedelta(days=1095)) == pytest.approx(85 - 0.625)
    assert late_milestone(ON - dt.timedelta(days=1096)) == 85
    # a missed obligation does not fade: three years overdue still -15
    assert I.score([I.Obligation("milestone", D(2022, 6, 30))], ON, rules).score == 70
    # a shorter half-life (a province's choice) fades faster: 365 d = 2 half-lives -> -1.25
    fast = dataclasses.replace(rules, half_life_days=182.5)
    s = I.score([I.Obligation("milestone", YEAR_BEFORE - dt.timedelta(1), YEAR_BEFORE)], ON, fast)
    assert s.score == pytest.approx(85 - 1.25)


@pytest.mark.parametrize(
    ("base", "grade"),
    [(100, "green"), (90, "green"), (89.99, "blue"), (75, "blue"), (74.99, "yellow"),
     (60, "yellow"), (59.99, "red"), (0, "red")],
)  # fmt: skip
def test_grade_bands_at_their_edges(rules: I.IntegrityRules, base: float, grade: str) -> None:
    s = I.score([], ON, dataclasses.replace(rules, base_score=base))
    assert s.score == base and s.grade == grade


def test_score_is_clamped(rules: I.IntegrityRules) -> None:
    missed = [I.Obligation("fund_accrual", D(2025, 1, 1), amount=1.0) for _ in range(5)]
    s = I.score(missed, ON, rules)
    assert s.raw_score == pytest.approx(85 - 5 * 20)  # -15
    assert s.score == 0 and s.grade == "red"
    met = [I.Obligation("milestone", ON, ON) for _ in range(10)]
    assert I.score(met, ON, rules).score == 100  # 85 + 30 capped at 100


def test_listings_cap_the_grade(rules: I.IntegrityRules) -> None:
    serious = I.Obligation("listing", D(2025, 1, 1), listing="serious")
    lifted = I.Obligation("listing", D(2024, 1, 1), D(2025, 5, 1), listing="abnormal")
    s = I.score([serious, lifted], ON, rules)
    # score 85 (blue) but listed as a serious-dishonesty subject: red (one-vote veto)
    assert (s.score, s.score_grade, s.grade) == (85, "blue", "red")
    assert s.capped_by == ("INT-LIST-SERIOUS",) and s.listings == ("serious",)
    assert {m["code"] for m in s.measures} == {
        "MEAS-MORE-INSPECTION",
        "MEAS-CREDIT-RESTRICT",
        "MEAS-NO-AWARDS",
        "MEAS-UNTRUSTWORTHY",
        "MEAS-KEY-SUPERVISION",
    }
    # the abnormal list caps a green company at yellow, and does nothing to a red one
    abnormal = I.Obligation("listing", D(2025, 1, 1), listing="abnormal")
    green = dataclasses.replace(rules, base_score=95)
    assert I.score([abnormal], ON, green).grade == "yellow"
    red = dataclasses.replace(rules, base_score=10)
    s = I.score([abnormal], ON, red)
    assert s.grade == "red" and s.capped_by == ("INT-LIST-ABNORMAL",)
    # before it was listed, the listing does nothing
    assert I.score([serious], D(2024, 12, 31), rules).grade == "blue"


def test_a_listing_must_name_its_list(rules: I.IntegrityRules) -> None:
    with pytest.raises(InputError, match="names its list"):
        I.score([I.Obligation("listing", D(2025, 1, 1), listing="black")], ON, rules)


def test_as_dict_is_json_ready(rules: I.IntegrityRules) -> None:
    import json

    s = I.score([I.Obligation("report", D(2025, 3, 31), D(2025, 4, 30))], ON, rules)
    out = json.loads(json.dumps(s.as_dict()))
    assert out["on"] == "2025-06-30" and out["items"][0]["done_on"] == "2025-04-30"
    assert out["breakdown"][0]["rule_code"] == "INT-REPORT-LATE"
