"""Which value-realization mode fits a mine: rule scores, gates and the order to apply them.

The rules are data (table ``modes/rules``): each has a stable code (``MODE-SAFETY-01`` …), the
mode it scores, a weight, a group, conditions on profile fields as ``(field, op, value)``, and
the sentence of Wang et al. (2026) it encodes. Nothing here is keyed to a mine's name or id.

A table version says how points become scores: ``scoring: normalised`` (points over attainable
points, version ``wang2026-restora-1``) or ``scoring: softmax`` (a per-mode ``bias`` plus the
points, turned into shares that sum to 1; the weights of version ``restora-fit-1`` were fitted to
the labelled cases of table ``modes/cases`` by :mod:`restora.modes.fit`). A condition on an
unknown (``None``) profile field never holds.
"""

from __future__ import annotations

import datetime as dt
import math
import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from restora import refdata
from restora.errors import InputError
from restora.modes.profile import MODES, MineProfile, profile_fields

RULES_TABLE = "modes/rules"
RIGHTS_STEP = "rights_confirmation"
SCORINGS = ("normalised", "softmax")

OPS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": operator.eq,
    "ne": operator.ne,
    "lt": operator.lt,
    "le": operator.le,
    "gt": operator.gt,
    "ge": operator.ge,
    "in": lambda a, b: a in b,
    "not_in": lambda a, b: a not in b,
}


@dataclass(frozen=True)
class Condition:
    """``profile.field <op> value``; never holds when the field is unknown (``None``)."""

    field: str
    op: str
    value: Any

    def holds(self, profile: MineProfile) -> bool:
        actual = getattr(profile, self.field)
        if actual is None:  # unknown: neither evidence for nor against any mode
            return False
        return bool(OPS[self.op](actual, self.value))


@dataclass(frozen=True)
class Rule:
    """A scoring rule: when all conditions hold, ``weight`` points go to ``mode``."""

    code: str
    name: str
    mode: str
    group: str
    weight: float
    when: tuple[Condition, ...]
    source_sentence: str

    def holds(self, profile: MineProfile) -> bool:
        return all(c.holds(profile) for c in self.when)


@dataclass(frozen=True)
class Gate:
    """A gating rule: it applies when any of its conditions holds."""

    code: str
    name: str
    any: tuple[Condition, ...]
    source_sentence: str
    mode: str | None = None
    score_cap: float | None = None
    step: str | None = None

    def holds(self, profile: MineProfile) -> bool:
        return any(c.holds(profile) for c in self.any)


@dataclass(frozen=True)
class RuleSet:
    """The rules and gates in force, with the table's provenance."""

    rules: tuple[Rule, ...]
    safety: Gate
    redline: Gate
    rights: Gate
    sequence_order: tuple[str, ...]
    include_min_score: float
    provenance: dict[str, Any] = field(repr=False)
    scoring: str = "normalised"
    bias: dict[str, float] = field(default_factory=dict)


def _conditions(items: Any, where: str) -> tuple[Condition, ...]:
    if not isinstance(items, list) or not items:
        raise InputError("needs a non-empty list of conditions", file=where)
    fields = profile_fields()
    out = []
    for c in items:
        if not isinstance(c, dict) or set(c) != {"field", "op", "value"}:
            raise InputError(f"{c!r} is not a {{field, op, value}} condition", file=where)
        if c["field"] not in fields:
            raise InputError(f"{c['field']!r} is not a profile field", file=where, field="field")
        if c["op"] not in OPS:
            raise InputError(f"unknown op {c['op']!r} (use {sorted(OPS)})", file=where, field="op")
        value = tuple(c["value"]) if isinstance(c["value"], list) else c["value"]
        out.append(Condition(str(c["field"]), str(c["op"]), value))
    return tuple(out)


def _gate(doc: Mapping[str, Any], where: str) -> Gate:
    return Gate(
        code=str(doc["code"]),
        name=str(doc["name"]),
        any=_conditions(doc["any"], where),
        source_sentence=str(doc["source_sentence"]),
        mode=doc.get("mode"),
        score_cap=float(doc["score_cap"]) if "score_cap" in doc else None,
        step=doc.get("step"),
    )


def rules_from_data(data: Mapping[str, Any], where: str = RULES_TABLE) -> RuleSet:
    """Build a :class:`RuleSet` from the table's data, checking codes, modes and fields."""
    rules = []
    seen: set[str] = set()
    for i, r in enumerate(data["rules"], start=1):
        here = f"{where} (rule {i})"
        if r["mode"] not in MODES:
            raise InputError(f"unknown mode {r['mode']!r}", file=here, field="mode")
        if r["code"] in seen:
            raise InputError(f"duplicate rule code {r['code']!r}", file=here, field="code")
        seen.add(r["code"])
        rules.append(
            Rule(
                code=str(r["code"]),
                name=str(r["name"]),
                mode=str(r["mode"]),
                group=str(r.get("group", r["code"])),
                weight=float(r["weight"]),
                when=_conditions(r["when"], here),
                source_sentence=str(r["source_sentence"]),
            )
        )
    gates = data["gates"]
    order = tuple(data["sequence_order"])
    if sorted(order) != sorted(MODES):
        raise InputError("sequence_order must list the four modes once each", file=where)
    scoring = str(data.get("scoring", "normalised"))
    if scoring not in SCORINGS:
        raise InputError(f"unknown scoring {scoring!r} (use {list(SCORINGS)})", file=where)
    bias = {str(k): float(v) for k, v in (data.get("bias") or {}).items()}
    if set(bias) - set(MODES):
        raise InputError(f"bias names unknown modes {sorted(set(bias) - set(MODES))}", file=where)
    return RuleSet(
        rules=tuple(rules),
        safety=_gate(gates["safety_precondition"], where),
        redline=_gate(gates["redline_threshold"], where),
        rights=_gate(gates["rights_confirmation"], where),
        sequence_order=order,
        include_min_score=float(data["include_min_score"]),
        provenance={},
        scoring=scoring,
        bias={m: bias.get(m, 0.0) for m in MODES},
    )


def load_rules(on: dt.date | str | None = None, region: str | None = None) -> RuleSet:
    """The mode rules in force on ``on`` for ``region`` (table ``modes/rules``)."""
    table = refdata.get(RULES_TABLE, on=on, region=region)
    rs = rules_from_data(table.data, table.name)
    return RuleSet(**{**rs.__dict__, "provenance": table.provenance()})


@dataclass(frozen=True)
class Reason:
    """A rule that fired, what it did, and why (its source sentence)."""

    code: str
    mode: str
    effect: str
    name: str
    source: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "mode": self.mode,
            "effect": self.effect,
            "name": self.name,
            "source": self.source,
        }


@dataclass(frozen=True)
class Recommendation:
    """The recommended modes of one mine."""

    primary_mode: str
    sequence: tuple[str, ...]
    scores: dict[str, float]
    reasons: tuple[Reason, ...]
    tables: tuple[dict[str, Any], ...]

    @property
    def rule_codes(self) -> list[str]:
        return [r.code for r in self.reasons]

    def as_dict(self) -> dict[str, Any]:
        """The stable JSON contract of ``restora modes recommend``."""
        return {
            "primary_mode": self.primary_mode,
            "sequence": list(self.sequence),
            "scores": dict(self.scores),
            "reasons": [r.as_dict() for r in self.reasons],
            "rule_codes": self.rule_codes,
            "tables": list(self.tables),
        }


def mode_points(
    profile: MineProfile, rules: Sequence[Rule]
) -> tuple[dict[str, float], dict[str, float], list[Rule]]:
    """Points of each mode from the rules that hold, and the points each mode could attain.

    Parameters
    ----------
    profile : MineProfile
        The mine (units in its field descriptions; ``None`` = unknown).
    rules : sequence of Rule
        Scoring rules (from :func:`load_rules`).

    Returns
    -------
    points : dict
        ``{mode: Σ_g w_g}`` [point]: per group, the largest weight among the rules that hold.
    attainable : dict
        ``{mode: Σ_g W_g}`` [point]: per group, the largest positive weight (0 if none).
    counted : list of Rule
        The rules whose weight entered the points (one per group at most).

    Notes
    -----
    Rules of one mode that share a group are alternatives: of those that hold, only the one with
    the largest weight counts (:math:`w_g`, 0 when none holds).
    """
    best: dict[tuple[str, str], Rule] = {}
    top: dict[tuple[str, str], float] = {}
    for r in rules:
        key = (r.mode, r.group)
        top[key] = max(top.get(key, 0.0), r.weight)
        if r.holds(profile) and (key not in best or r.weight > best[key].weight):
            best[key] = r
    points = {m: sum(r.weight for (mode, _), r in best.items() if mode == m) for m in MODES}
    attainable = {m: sum(w for (mode, _), w in top.items() if mode == m) for m in MODES}
    counted = [r for r in rules if best.get((r.mode, r.group)) is r]
    return points, attainable, counted


def score_modes(profile: MineProfile, rules: Sequence[Rule]) -> tuple[dict[str, float], list[Rule]]:
    """Score each mode 0–1 as its points over its attainable points (``scoring: normalised``).

    Parameters
    ----------
    profile : MineProfile
        The mine (units in its field descriptions).
    rules : sequence of Rule
        Scoring rules (from :func:`load_rules`).

    Returns
    -------
    scores : dict
        ``{mode: score}`` [1], 0 ≤ score ≤ 1.
    counted : list of Rule
        The rules whose weight entered a score (one per group at most).

    Notes
    -----
    With :math:`w_g` the counted weight of group :math:`g` (0 if none holds) and :math:`W_g` the
    largest positive weight of the group (0 if none is positive):

    .. math:: s_m = \\max(0, \\sum_g w_g) / \\sum_g W_g

    References
    ----------
    Wang J. et al. (2026) Acta Ecologica Sinica 46(1):184-200, DOI 10.20103/j.stxb.202507131830.
    """
    points, attainable, counted = mode_points(profile, rules)
    scores = {m: max(0.0, points[m]) / attainable[m] if attainable[m] > 0 else 0.0 for m in MODES}
    return scores, counted


def softmax_scores(
    profile: MineProfile, rules: Sequence[Rule], bias: Mapping[str, float]
) -> tuple[dict[str, float], list[Rule]]:
    """Score each mode as its share of the exponentiated points (``scoring: softmax``).

    Parameters
    ----------
    profile : MineProfile
        The mine (units in its field descriptions; ``None`` = unknown).
    rules : sequence of Rule
        Scoring rules (from :func:`load_rules`).
    bias : mapping
        ``{mode: b_m}`` [point]: the points a mode has before any rule (its base rate).

    Returns
    -------
    scores : dict
        ``{mode: s_m}`` [1], 0 < s_m < 1, Σ s_m = 1.
    counted : list of Rule
        The rules whose weight entered the points.

    Notes
    -----
    A multinomial-logistic model whose features are the rule groups (McFadden 1974):

    .. math:: z_m = b_m + \\sum_g w_g, \\qquad s_m = e^{z_m} / \\sum_k e^{z_k}

    References
    ----------
    McFadden D. (1974) Conditional logit analysis of qualitative choice behavior. In Zarembka P.
    (ed.) Frontiers in Econometrics, Academic Press, 105-142.
    """
    points, _, counted = mode_points(profile, rules)
    z = {m: float(bias.get(m, 0.0)) + points[m] for m in MODES}
    top = max(z.values())
    expz = {m: math.exp(z[m] - top) for m in MODES}
    total = sum(expz.values())
    return {m: expz[m] / total for m in MODES}, counted


def recommend(profile: MineProfile, rules: RuleSet) -> Recommendation:
    """Recommend the primary mode and the order of modes for a mine.

    Parameters
    ----------
    profile : MineProfile
        The mine's profile.
    rules : RuleSet
        From :func:`load_rules`.

    Returns
    -------
    Recommendation
        ``primary_mode``, ``sequence``, ``scores`` (0–1 per mode, after gates) and ``reasons``
        (every rule and gate that fired, with its code and source sentence).

    Notes
    -----
    1. Scores from :func:`score_modes` (``scoring: normalised``) or :func:`softmax_scores`
       (``scoring: softmax``); unknown profile fields add no points.
    2. Red-line gate (MODE-GATE-REDLINE): when it holds, the score of its mode (industry
       integration) is capped at ``score_cap`` — development stays under the
       restoration-development threshold.
    3. Primary mode: the highest score; ties go to the earlier mode of ``sequence_order``.
    4. Sequence: the modes scoring at least ``include_min_score`` and the primary mode, in
       ``sequence_order`` (the paper's path basic restoration → value realization → value
       derivation). Safety gate (MODE-GATE-SAFETY): when it holds, ``safety_baseline`` is in the
       sequence and first. Rights gate (MODE-GATE-RIGHTS): when rights are not clear, the step
       ``rights_confirmation`` comes right before ``property_rights``.

    References
    ----------
    Wang J. et al. (2026) Acta Ecologica Sinica 46(1):184-200, DOI 10.20103/j.stxb.202507131830.
    """
    if rules.scoring == "softmax":
        scores, counted = softmax_scores(profile, rules.rules, rules.bias)
    else:
        scores, counted = score_modes(profile, rules.rules)
    reasons = [
        Reason(r.code, r.mode, f"{r.weight:+g} points", r.name, r.source_sentence) for r in counted
    ]
    red = rules.redline
    if red.holds(profile) and red.mode is not None and red.score_cap is not None:
        if scores[red.mode] > red.score_cap:
            scores[red.mode] = red.score_cap
        reasons.append(
            Reason(
                red.code,
                red.mode,
                f"score capped at {red.score_cap:g}",
                red.name,
                red.source_sentence,
            )
        )
    order = rules.sequence_order
    primary = max(order, key=lambda m: (scores[m], -order.index(m)))
    chosen = {m for m in order if scores[m] >= rules.include_min_score} | {primary}
    safety_first = rules.safety.holds(profile)
    if safety_first:
        chosen.add("safety_baseline")
        reasons.append(
            Reason(
                rules.safety.code,
                "safety_baseline",
                "safety baseline first in the sequence",
                rules.safety.name,
                rules.safety.source_sentence,
            )
        )
    sequence = [m for m in order if m in chosen]
    if safety_first:
        sequence.remove("safety_baseline")
        sequence.insert(0, "safety_baseline")
    gate = rules.rights
    if gate.mode in sequence and gate.step and gate.holds(profile):
        sequence.insert(sequence.index(gate.mode), gate.step)
        reasons.append(
            Reason(gate.code, gate.mode, f"step {gate.step} added", gate.name, gate.source_sentence)
        )
    return Recommendation(
        primary_mode=primary,
        sequence=tuple(sequence),
        scores={m: round(scores[m], 6) for m in MODES},
        reasons=tuple(reasons),
        tables=(rules.provenance,) if rules.provenance else (),
    )
