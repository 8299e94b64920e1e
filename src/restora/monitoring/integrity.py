"""The enterprise integrity record: obligations met, late or missed, a score, a grade, measures.

A company's record is the list of what it owed and when — restoration milestones of its projects,
restoration-fund accruals, periodic reports, monitoring without long gaps, the rectification of
alerts and complaints — and the listings a bureau put it on (the abnormal list, the list of
serious dishonesty). :func:`score` turns that list, on a date, into a score, a grade of the 2013
environmental-credit measures (环保诚信 / 良好 / 警示 / 不良: green, blue, yellow, red) and the
incentives or restrictions the grade triggers. Every point added or deducted carries the code of
the rule that produced it (``INT-MILESTONE-MISSED`` …); the rules, bands and measures are
reference data (``refdata/tables/monitoring/integrity/``), read as in force on the scoring date.

Pure: numbers, dates and frozen dataclasses in, a frozen dataclass out; the store derives and
records the obligations (:mod:`restora.store.integrity`). Method: docs/monitoring.md,
"Integrity records".
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from restora import refdata
from restora.errors import InputError

#: Kinds of obligation (the ``kind`` column of ``integrity_obligations``).
KINDS = ("milestone", "fund_accrual", "report", "monitoring_gap", "rectification", "listing")
#: Kinds a bureau records by hand (the others are derived from milestones and alerts).
RECORDED_KINDS = ("fund_accrual", "report", "rectification", "listing")
#: Kinds derived by :func:`restora.store.integrity.sync_obligations`.
DERIVED_KINDS = ("milestone", "monitoring_gap", "rectification")
#: Outcomes of an obligation on a date (a listing: ``listed``, ``lifted`` or ``pending``).
OUTCOMES = ("met", "late", "missed", "pending", "listed", "lifted")
#: The lists a company can be put on (``details.list`` of a ``listing``).
LISTS = ("abnormal", "serious")

SCORING_TABLE = "monitoring/integrity/scoring"
GRADES_TABLE = "monitoring/integrity/grades"
MEASURES_TABLE = "monitoring/integrity/measures"


@dataclass(frozen=True)
class Obligation:
    """One thing a company owed, as recorded or derived.

    Parameters
    ----------
    kind : str
        One of :data:`KINDS`.
    due_on : date
        When it fell due (a listing: the day it was listed).
    done_on : date, optional
        When it was done (met; a fund accrual: paid; a listing: the day it was lifted).
    amount : float, optional
        [CNY] the amount due (fund accruals).
    done_amount : float, optional
        [CNY] the amount paid.
    listing : str, optional
        For a ``listing``: which list (:data:`LISTS`).
    id, ref, description :
        What identifies it in the store and to a reader.
    """

    kind: str
    due_on: dt.date
    done_on: dt.date | None = None
    amount: float | None = None
    done_amount: float | None = None
    listing: str | None = None
    id: int | None = None
    ref: str | None = None
    description: str = ""


@dataclass(frozen=True)
class Rule:
    """Points for one outcome of one kind of obligation (a row of the scoring table)."""

    code: str
    kind: str
    outcome: str
    points: float
    name: str


@dataclass(frozen=True)
class Grade:
    """A grade band: the lowest score that reaches it, its rank (1 best) and its labels."""

    code: str
    min_score: float
    rank: int
    label_zh: str
    label_en: str
    colour: str
    publish: bool


@dataclass(frozen=True)
class IntegrityRules:
    """The scoring rules, grade bands, listings and measures in force on a date.

    Built from the three reference tables by :func:`load_rules`; tests may build their own.
    """

    base_score: float
    min_score: float
    max_score: float
    half_life_days: float
    horizon_days: float
    weights: Mapping[str, float]
    rules: tuple[Rule, ...]
    grades: tuple[Grade, ...]
    listings: tuple[Mapping[str, Any], ...]
    measures: tuple[Mapping[str, Any], ...]
    version: str
    monitoring_gap_days: int = 7
    rectification_days: int = 30
    tables: tuple[Mapping[str, Any], ...] = ()

    def rule(self, kind: str, outcome: str) -> Rule | None:
        """The rule for ``kind`` and ``outcome``, or None (it scores nothing)."""
        for r in self.rules:
            if r.kind == kind and r.outcome == outcome:
                return r
        return None

    def grade(self, code: str) -> Grade:
        """The band named ``code``."""
        for g in self.grades:
            if g.code == code:
                return g
        raise InputError(f"no integrity grade {code!r} (one of {self._grade_codes()})")

    def _grade_codes(self) -> str:
        return ", ".join(g.code for g in self.grades)


def load_rules(on: dt.date | str | None = None, region: str | None = None) -> IntegrityRules:
    """The integrity rules in force on ``on`` (for ``region``), from the reference tables.

    Parameters
    ----------
    on : date or ISO string, optional
        The scoring date; default today.
    region : str, optional
        6-digit GB/T 2260 code (a province's own version wins over the national one).
    """
    scoring = refdata.get(SCORING_TABLE, on=on, region=region)
    grades = refdata.get(GRADES_TABLE, on=on, region=region)
    measures = refdata.get(MEASURES_TABLE, on=on, region=region)
    s, g, m = scoring.data, grades.data, measures.data
    return IntegrityRules(
        base_score=float(s["base_score"]),
        min_score=float(s["min_score"]),
        max_score=float(s["max_score"]),
        half_life_days=float(s["half_life_days"]),
        horizon_days=float(s["horizon_days"]),
        monitoring_gap_days=int(s["monitoring_gap_days"]),
        rectification_days=int(s["rectification_days"]),
        weights={k: float(v["weight"]) for k, v in s["kinds"].items()},
        rules=tuple(
            Rule(r["code"], r["kind"], r["outcome"], float(r["points"]), r["name"])
            for r in s["rules"]
        ),
        grades=tuple(
            sorted(
                (
                    Grade(
                        x["code"],
                        float(x["min_score"]),
                        int(x["rank"]),
                        x["label_zh"],
                        x["label_en"],
                        x["colour"],
                        bool(x.get("publish", True)),
                    )
                    for x in g["grades"]
                ),
                key=lambda grade: grade.rank,
            )
        ),
        listings=tuple(g.get("listings", ())),
        measures=tuple(m["measures"]),
        version=";".join(f"{t.name}@{t.version}" for t in (scoring, grades, measures)),
        tables=tuple(t.provenance() for t in (scoring, grades, measures)),
    )


# ------------------------------------------------------------------------------ outcomes
def outcome(ob: Obligation, on: dt.date) -> str:
    """What became of ``ob`` as of ``on``: ``met``, ``late``, ``missed`` or ``pending``.

    Done on or before its due date is met; done after it, late; not done and past due, missed;
    not yet due, pending. Something done after ``on`` is not yet done on ``on``. A fund accrual
    is done when paid in full (``done_amount >= amount``). A listing is ``listed`` while it is
    in force (listed on or before ``on`` and not lifted by then), then ``lifted``.

    Examples
    --------
    >>> d = dt.date
    >>> outcome(Obligation("report", d(2024, 12, 31), d(2024, 12, 20)), d(2025, 6, 1))
    'met'
    >>> outcome(Obligation("report", d(2024, 12, 31), d(2025, 2, 1)), d(2025, 6, 1))
    'late'
    >>> outcome(Obligation("report", d(2024, 12, 31)), d(2025, 6, 1))
    'missed'
    >>> outcome(Obligation("fund_accrual", d(2024, 12, 31), d(2024, 12, 1), 100.0, 60.0),
    ...         d(2025, 1, 1))
    'missed'
    """
    if ob.kind == "listing":
        if ob.due_on > on:
            return "pending"
        return "listed" if ob.done_on is None or ob.done_on > on else "lifted"
    done = ob.done_on is not None and ob.done_on <= on
    if done and ob.kind == "fund_accrual" and ob.amount is not None:
        done = (ob.done_amount or 0.0) >= ob.amount
    if done:
        assert ob.done_on is not None
        return "met" if ob.done_on <= ob.due_on else "late"
    return "missed" if on > ob.due_on else "pending"


def decay(ob: Obligation, result: str, on: dt.date, half_life_days: float) -> float:
    """The weight of an old outcome: ``0.5 ** (age / half_life)``, age from the day it was done.

    An obligation missed on ``on`` is not decayed (1.0): it counts in full until made good.

    Examples
    --------
    >>> d = dt.date
    >>> decay(Obligation("report", d(2023, 12, 31), d(2024, 1, 1)), "late", d(2025, 1, 1), 366)
    0.5
    """
    if result == "missed" or ob.done_on is None:
        return 1.0
    age = max((on - ob.done_on).days, 0)
    return float(0.5 ** (age / half_life_days))


# ------------------------------------------------------------------------------ the score
@dataclass(frozen=True)
class ScoredItem:
    """One obligation's part in a score: its outcome, rule, points, decay and contribution."""

    kind: str
    outcome: str
    rule_code: str | None
    points: float
    weight: float
    decay: float
    contribution: float
    due_on: dt.date
    done_on: dt.date | None
    id: int | None = None
    ref: str | None = None
    description: str = ""


@dataclass(frozen=True)
class BreakdownLine:
    """All contributions of one rule: how many obligations, and their total [points]."""

    rule_code: str
    name: str
    kind: str
    outcome: str
    count: int
    points: float


@dataclass(frozen=True)
class IntegrityScore:
    """A company's integrity on a date: score [points], grade, measures and why.

    ``rule_codes`` lists every rule that produced the result (scoring rules, listings);
    ``rules_version`` names the reference tables and their versions.
    """

    on: dt.date
    score: float
    raw_score: float
    grade: str
    grade_rank: int
    grade_label_zh: str
    grade_label_en: str
    colour: str
    public: bool
    score_grade: str
    capped_by: tuple[str, ...]
    listings: tuple[str, ...]
    breakdown: tuple[BreakdownLine, ...]
    measures: tuple[Mapping[str, Any], ...]
    items: tuple[ScoredItem, ...]
    rules_version: str
    rule_codes: tuple[str, ...] = field(default=())

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (dates as ISO strings), the contract of the CLI and API."""
        out = asdict(self)
        out["on"] = self.on.isoformat()
        for item in out["items"]:
            item["due_on"] = item["due_on"].isoformat()
            item["done_on"] = item["done_on"].isoformat() if item["done_on"] else None
        out["measures"] = [dict(m) for m in self.measures]
        return json.loads(json.dumps(out))  # tuples as lists: what the store gives back


def _grade_for(score_value: float, rules: IntegrityRules) -> Grade:
    for g in rules.grades:  # best first
        if score_value >= g.min_score:
            return g
    return rules.grades[-1]


def score(obligations: Iterable[Obligation], on: dt.date, rules: IntegrityRules) -> IntegrityScore:
    """Score a company's obligations on a date; its grade and the measures it triggers.

    Parameters
    ----------
    obligations : iterable of Obligation
        Everything the company owed (any date; those not yet due score nothing).
    on : date
        The scoring date.
    rules : IntegrityRules
        The rules in force on ``on`` (:func:`load_rules`).

    Returns
    -------
    IntegrityScore

    Notes
    -----
    .. math::

        S = \\min(S_{max}, \\max(S_{min}, S_0 + \\sum_i w_{k_i} p_{k_i, o_i}
            0.5^{a_i / h}))

    with :math:`S_0` the base score, :math:`w_k` the weight of kind :math:`k`, :math:`p_{k,o}` the
    points of outcome :math:`o` (met, late, missed), :math:`a_i` the days since obligation
    :math:`i` was done (0 while missed) and :math:`h` the half-life. Obligations done more than
    the horizon ago are left out. The grade is the best band whose minimum :math:`S` reaches,
    capped by any listing in force (a serious-dishonesty listing: the worst grade, the 2013
    measures' one-vote veto). Measures follow the grade and the listings.

    References
    ----------
    企业环境信用评价办法（试行）, 环发〔2013〕150号 (grades, disclosure, incentives and
    restrictions); 矿业权人勘查开采信息管理办法, 自然资源部令第13号 (listings). Points, weights,
    half-life and bands: Restora's choice, in refdata.

    Examples
    --------
    >>> d = dt.date
    >>> r = load_rules(d(2025, 6, 30))
    >>> s = score([Obligation("milestone", d(2025, 3, 31))], d(2025, 6, 30), r)
    >>> s.score, s.grade, [b.rule_code for b in s.breakdown]
    (70.0, 'yellow', ['INT-MILESTONE-MISSED'])
    """
    items: list[ScoredItem] = []
    listed: list[str] = []
    for ob in obligations:
        result = outcome(ob, on)
        if ob.kind == "listing":
            if result == "listed":
                if ob.listing not in LISTS:
                    raise InputError(
                        f"a listing names its list ({' or '.join(LISTS)}), not {ob.listing!r}",
                        field="details.list",
                    )
                listed.append(ob.listing)
            continue
        if result == "pending":
            continue
        too_old = ob.done_on is not None and (on - ob.done_on).days > rules.horizon_days
        if too_old and result != "missed":
            continue
        d = decay(ob, result, on, rules.half_life_days)
        rule = rules.rule(ob.kind, result)
        weight = float(rules.weights.get(ob.kind, 1.0))
        points = rule.points if rule else 0.0
        items.append(
            ScoredItem(
                kind=ob.kind,
                outcome=result,
                rule_code=rule.code if rule else None,
                points=points,
                weight=weight,
                decay=d,
                contribution=weight * points * d,
                due_on=ob.due_on,
                done_on=ob.done_on,
                id=ob.id,
                ref=ob.ref,
                description=ob.description,
            )
        )
    raw = rules.base_score + sum(i.contribution for i in items)
    value = min(rules.max_score, max(rules.min_score, raw))
    by_score = _grade_for(value, rules)
    grade, capped = by_score, []
    for listing in rules.listings:
        if listing["list"] in listed:
            cap = rules.grade(listing["cap"])
            if cap.rank > grade.rank:
                grade = cap
            capped.append(str(listing["code"]))
    lists_in_force = tuple(sorted(set(listed)))
    measures = tuple(
        dict(m)
        for m in rules.measures
        if grade.code in (m.get("grades") or ()) or set(m.get("lists") or ()) & set(listed)
    )
    breakdown = _breakdown(items, rules)
    codes = tuple(
        dict.fromkeys([*(b.rule_code for b in breakdown), *capped, *(m["code"] for m in measures)])
    )
    return IntegrityScore(
        on=on,
        score=round(value, 6),
        raw_score=round(raw, 6),
        grade=grade.code,
        grade_rank=grade.rank,
        grade_label_zh=grade.label_zh,
        grade_label_en=grade.label_en,
        colour=grade.colour,
        public=grade.publish,
        score_grade=by_score.code,
        capped_by=tuple(capped),
        listings=lists_in_force,
        breakdown=breakdown,
        measures=measures,
        items=tuple(items),
        rules_version=rules.version,
        rule_codes=codes,
    )


def _breakdown(items: Sequence[ScoredItem], rules: IntegrityRules) -> tuple[BreakdownLine, ...]:
    lines: dict[str, BreakdownLine] = {}
    for i in items:
        if i.rule_code is None:
            continue
        rule = rules.rule(i.kind, i.outcome)
        assert rule is not None
        prev = lines.get(i.rule_code)
        lines[i.rule_code] = BreakdownLine(
            rule_code=i.rule_code,
            name=rule.name,
            kind=i.kind,
            outcome=i.outcome,
            count=(prev.count if prev else 0) + 1,
            points=(prev.points if prev else 0.0) + i.contribution,
        )
    return tuple(
        BreakdownLine(b.rule_code, b.name, b.kind, b.outcome, b.count, round(b.points, 6))
        for b in sorted(lines.values(), key=lambda b: b.rule_code)
    )


def public_measures(result: IntegrityScore) -> list[dict[str, Any]]:
    """The measures disclosed with the grade (``public: true`` in the measures table)."""
    return [
        {"code": m["code"], "kind": m["kind"], "name_zh": m["name_zh"], "name_en": m["name_en"]}
        for m in result.measures
        if m.get("public")
    ]
