"""Fit the mode-rule weights to the labelled published cases, and measure how well they agree.

``python -m restora.modes.fit`` reproduces the fit that produced the weights of the rule table's
``scoring: softmax`` version and prints, in Markdown, the weights, the leave-one-out (LOO) table,
the confusion matrix and the accuracies that ``docs/modes.md`` states. Everything it needs is
data: the cases (table ``modes/cases``), the rule structure and the expert weights the fit is
pulled towards (the table version named in the fitted version's ``fit`` block), and the
regularisation strength (same block). It reads nothing outside the package.

The model is the recommender itself: per mode, a bias plus, per rule group, the largest weight
among the rules that hold, turned into shares by a softmax (:func:`restora.modes.recommend.
softmax_scores`). The weights minimise the mean cross-entropy of the cases' labels plus an L2
penalty that pulls each rule weight towards its expert value and each bias towards 0.
Accuracy is always measured by :func:`restora.modes.recommend.recommend` on rules rebuilt from
the fitted data (rounded as published), so the figures are those of the engine users run.
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import minimize

from restora import refdata
from restora.errors import InputError
from restora.modes.profile import MODES, MineProfile, parse_profile, profile_fields
from restora.modes.recommend import RULES_TABLE, RuleSet, recommend, rules_from_data

CASES_TABLE = "modes/cases"
DECIMALS = 2  # weights are published rounded to 0.01 point


@dataclass(frozen=True)
class Case:
    """One labelled published case: its id, the mode its source describes, and its profile."""

    case_id: str
    label: str
    profile: MineProfile
    source: dict[str, Any]


@dataclass(frozen=True)
class FitSettings:
    """What the fitted table version says about how it was fitted (its ``fit`` block).

    ``prior_weights`` are the expert weights [point] of rules that the prior version does not
    have (rules added with the fitted version, each with its source sentence in the table);
    ``previous_on`` names the date of an earlier fitted version to compare with (its published
    weights, and its rules refitted on these cases); ``capacity_sd`` [point], when set, asks the
    report for the in-sample agreement of the same rules with a prior so wide it no longer binds
    (what the rules could fit at best) and for the agreement any function of the rules that hold
    could reach (:func:`signature_ceiling`).
    """

    prior_on: dt.date
    prior_sd: float
    cases_on: dt.date
    monotone: tuple[tuple[str, ...], ...] = ()
    prior_weights: tuple[tuple[str, float], ...] = ()
    previous_on: dt.date | None = None
    capacity_sd: float | None = None


def load_cases(on: dt.date | str | None = None) -> list[Case]:
    """The labelled cases of table ``modes/cases`` in force on ``on``.

    A profile field the source does not state is ``null`` in the table (or absent) and
    ``None`` in the profile: unknown.

    Raises
    ------
    InputError
        A case without a source address, with an unknown label, or with a bad profile field.
    """
    table = refdata.get(CASES_TABLE, on=on)
    fields = profile_fields()
    out = []
    seen: set[str] = set()
    for i, c in enumerate(table.data["cases"], start=1):
        where = f"{table.name} (case {i})"
        if c["id"] in seen:
            raise InputError(f"duplicate case id {c['id']!r}", file=where, field="id")
        seen.add(c["id"])
        if c["label"] not in MODES:
            raise InputError(f"unknown label {c['label']!r}", file=where, field="label")
        src = c.get("source") or {}
        if not (src.get("title") and src.get("issuer") and src.get("year") and src.get("url")):
            raise InputError("needs source title, issuer, year and url", file=where, field="source")
        known = dict(c.get("profile") or {})
        profile = parse_profile({k: known.get(k) for k in fields} | {"mine_id": c["id"]}, where)
        out.append(Case(str(c["id"]), str(c["label"]), profile, dict(src)))
    return out


def _date(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def fit_settings(data: Mapping[str, Any]) -> FitSettings:
    """The ``fit`` block of a fitted rule-table version."""
    f = data["fit"]
    return FitSettings(
        prior_on=_date(f["prior_on"]),
        prior_sd=float(f["prior_sd"]),
        cases_on=_date(f["cases_on"]),
        monotone=tuple(tuple(str(c) for c in chain) for chain in f.get("monotone", [])),
        prior_weights=tuple((str(k), float(v)) for k, v in (f.get("prior_weights") or {}).items()),
        previous_on=_date(f["previous_on"]) if f.get("previous_on") else None,
        capacity_sd=float(f["capacity_sd"]) if f.get("capacity_sd") else None,
    )


def prior_weights(
    prior: RuleSet, extra: Mapping[str, float] | Sequence[tuple[str, float]] = ()
) -> dict[str, float]:
    """Expert weights [point] the fit is pulled towards: the prior version's, plus ``extra``.

    Raises
    ------
    InputError
        ``extra`` names a rule the prior version already weighs (its expert weight is the prior
        version's, never restated).
    """
    out = {r.code: r.weight for r in prior.rules}
    items = dict(extra.items()) if isinstance(extra, Mapping) else dict(extra)
    clash = sorted(set(items) & set(out))
    if clash:
        raise InputError(f"fit.prior_weights restates rules of the prior version: {clash}")
    return out | {k: float(v) for k, v in items.items()}


@dataclass(frozen=True)
class _Design:
    """The cases as arrays: which rule holds for which case, rule modes and groups, labels."""

    holds: np.ndarray  # (n_cases, n_rules) bool
    rule_mode: np.ndarray  # (n_rules,) mode index
    groups: tuple[np.ndarray, ...]  # rule indices of each (mode, group)
    group_mode: np.ndarray  # (n_groups,) mode index
    labels: np.ndarray  # (n_cases,) mode index


def _design(cases: Sequence[Case], rules: RuleSet) -> _Design:
    holds = np.array([[r.holds(c.profile) for r in rules.rules] for c in cases], dtype=bool)
    rule_mode = np.array([MODES.index(r.mode) for r in rules.rules])
    keys: dict[tuple[str, str], list[int]] = {}
    for j, r in enumerate(rules.rules):
        keys.setdefault((r.mode, r.group), []).append(j)
    groups = tuple(np.array(v) for v in keys.values())
    group_mode = np.array([MODES.index(k[0]) for k in keys])
    labels = np.array([MODES.index(c.label) for c in cases])
    return _Design(
        holds.reshape(len(cases), len(rules.rules)), rule_mode, groups, group_mode, labels
    )


def _points(d: _Design, w: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """z (n, 4) and, per case and group, the index of the counted rule (−1 when none holds)."""
    n = d.holds.shape[0]
    z = np.tile(b, (n, 1))
    chosen = np.full((n, len(d.groups)), -1)
    for g, idx in enumerate(d.groups):
        held = d.holds[:, idx]
        vals = np.where(held, w[idx][None, :], -np.inf)
        arg = np.argmax(vals, axis=1)
        any_held = held.any(axis=1)
        z[any_held, d.group_mode[g]] += vals[any_held, arg[any_held]]
        chosen[any_held, g] = idx[arg[any_held]]
    return z, chosen


def _objective(
    theta: np.ndarray, d: _Design, w0: np.ndarray, lam: float
) -> tuple[float, np.ndarray]:
    """Mean cross-entropy + λ(Σ(w − w0)² + Σb²), and its (sub)gradient."""
    k = len(w0)
    w, b = theta[:k], theta[k:]
    z, chosen = _points(d, w, b)
    z = z - z.max(axis=1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(axis=1, keepdims=True)
    n = len(d.labels)
    y = np.zeros_like(p)
    y[np.arange(n), d.labels] = 1.0
    loss = -np.log(p[np.arange(n), d.labels]).mean()
    loss += lam * (np.sum((w - w0) ** 2) + np.sum(b**2))
    dz = (p - y) / n  # ∂loss/∂z
    gw = np.zeros(k)
    for g in range(len(d.groups)):
        rows = chosen[:, g] >= 0
        np.add.at(gw, chosen[rows, g], dz[rows, d.group_mode[g]])
    gw += 2 * lam * (w - w0)
    gb = dz.sum(axis=0) + 2 * lam * b
    return float(loss), np.concatenate([gw, gb])


def penalty(prior_sd: float, n_cases: int) -> float:
    """L2 strength λ [1/point²] of a Gaussian prior of sd σ [point] on each weight and bias.

    Notes
    -----
    The MAP estimate under :math:`w_r \\sim N(w_r^0, σ^2)`, :math:`b_m \\sim N(0, σ^2)` minimises the
    mean cross-entropy plus :math:`λ[\\sum (w-w^0)^2 + \\sum b^2]` with :math:`λ = 1/(2σ^2 n)`.
    """
    return 1.0 / (2.0 * prior_sd**2 * n_cases)


def _reparametrisation(
    codes: Sequence[str], w0: np.ndarray, monotone: Sequence[Sequence[str]]
) -> tuple[np.ndarray, list[tuple[float | None, float | None]], np.ndarray]:
    """``w = A @ u`` with bounds on ``u`` that keep each weight's expert sign and each chain's order.

    A chain lists rule codes from the strongest condition to the weakest (high, medium, low): its
    weakest weight is a free parameter with the sign bound, each stronger one adds a
    non-negative increment to the next weaker. Returns A, the bounds of u and u at ``w0``.
    """
    k = len(codes)
    index = {c: i for i, c in enumerate(codes)}
    a = np.eye(k)
    bounds: list[tuple[float | None, float | None]] = [
        (0.0, None) if w0[i] > 0 else (None, 0.0) if w0[i] < 0 else (None, None) for i in range(k)
    ]
    for chain in monotone:
        idx = [index[c] for c in chain]  # strongest first
        for pos, i in enumerate(idx[:-1]):
            a[i, :] = 0.0
            a[i, idx[pos:]] = 1.0  # w_i = u_i + u_(weaker) + … + u_weakest
            bounds[i] = (0.0, None)
    u0 = np.linalg.solve(a, w0)
    return a, bounds, u0


def fit_weights(
    cases: Sequence[Case],
    template: Mapping[str, Any],
    prior: RuleSet | Mapping[str, float],
    prior_sd: float,
    monotone: Sequence[Sequence[str]] = (),
) -> dict[str, Any]:
    """Rule-table data with weights and biases fitted to ``cases``.

    Parameters
    ----------
    cases : sequence of Case
        Labelled cases.
    template : mapping
        Rule-table data whose rules (codes, groups, conditions), gates and order are kept.
    prior : RuleSet or mapping
        The expert rules the weights are pulled towards, or ``{code: expert weight}`` [point]
        (:func:`prior_weights`); same rule codes as ``template``.
    prior_sd : float
        σ [point]: sd of the Gaussian prior on each weight (around its expert value) and bias
        (around 0); λ = :func:`penalty` (σ, number of cases).
    monotone : sequence of sequence of str
        Chains of rule codes, strongest condition first, whose weights must not increase along
        the chain (a worse hazard never scores less). Every weight also keeps the sign of its
        expert value (a rule never argues against the sentence it encodes).

    Returns
    -------
    dict
        ``template`` with ``scoring: softmax``, fitted ``weight`` of each rule and ``bias``
        of each mode, rounded to 0.01.

    Notes
    -----
    Minimises :math:`-\\frac{1}{n}\\sum_i \\ln s_{i,y_i} + λ[\\sum_r (w_r-w_r^0)^2 +
    \\sum_m b_m^2]` by L-BFGS-B from :math:`w = w^0, b = 0`; the group maximum makes the loss
    piecewise smooth and its gradient a subgradient at ties.
    """
    data = copy.deepcopy(dict(template))
    structure = rules_from_data({**data, "scoring": "softmax"})
    codes = [r.code for r in structure.rules]
    w_prior = dict(prior) if isinstance(prior, Mapping) else {r.code: r.weight for r in prior.rules}
    if set(codes) != set(w_prior):
        raise InputError(
            "the prior weights must name the same rules as the template "
            f"(missing {sorted(set(codes) - set(w_prior))}, extra {sorted(set(w_prior) - set(codes))})"
        )
    w0 = np.array([w_prior[c] for c in codes])
    d = _design(cases, structure)
    a, bounds, u0 = _reparametrisation(codes, w0, monotone)
    k = len(codes)

    def objective(v: np.ndarray) -> tuple[float, np.ndarray]:
        theta = np.concatenate([a @ v[:k], v[k:]])
        loss, grad = _objective(theta, d, w0, lam)
        return loss, np.concatenate([a.T @ grad[:k], grad[k:]])

    lam = penalty(prior_sd, len(cases))
    v0 = np.concatenate([u0, np.zeros(len(MODES))])
    all_bounds = bounds + [(None, None)] * len(MODES)
    res = minimize(objective, v0, jac=True, method="L-BFGS-B", bounds=all_bounds)
    theta = np.round(np.concatenate([a @ res.x[:k], res.x[k:]]), DECIMALS) + 0.0  # −0.0 → 0.0
    fitted = dict(zip(codes, theta[: len(codes)].tolist(), strict=True))
    data["rules"] = [{**r, "weight": fitted[r["code"]]} for r in data["rules"]]
    data["bias"] = dict(zip(MODES, theta[len(codes) :].tolist(), strict=True))
    data["scoring"] = "softmax"
    return data


def predict(cases: Sequence[Case], rules: RuleSet) -> list[str]:
    """The primary mode :func:`recommend` gives each case."""
    return [recommend(c.profile, rules).primary_mode for c in cases]


def leave_one_out(
    cases: Sequence[Case],
    template: Mapping[str, Any],
    prior: RuleSet | Mapping[str, float],
    prior_sd: float,
    monotone: Sequence[Sequence[str]] = (),
) -> list[str]:
    """For each case, the primary mode from weights fitted on all the other cases."""
    out = []
    for i in range(len(cases)):
        rest = [c for j, c in enumerate(cases) if j != i]
        rules = rules_from_data(fit_weights(rest, template, prior, prior_sd, monotone))
        out.append(predict([cases[i]], rules)[0])
    return out


def confusion(labels: Sequence[str], predicted: Sequence[str]) -> dict[str, dict[str, int]]:
    """``{label: {predicted: count}}`` over the four modes."""
    m = {a: dict.fromkeys(MODES, 0) for a in MODES}
    for a, p in zip(labels, predicted, strict=True):
        m[a][p] += 1
    return m


def accuracy(labels: Sequence[str], predicted: Sequence[str]) -> float:
    """Share of cases whose predicted primary mode is the label [1]."""
    return sum(a == p for a, p in zip(labels, predicted, strict=True)) / len(labels)


def signature_ceiling(cases: Sequence[Case], rules: RuleSet) -> int:
    """The most cases any recommender reading only these rules could agree with [case].

    Cases on which the same set of rules holds are indistinguishable to the rules, whatever
    their weights or gates: the best any function of that set can do is the commonest label of
    each such group.

    Notes
    -----
    :math:`\\sum_S \\max_m n_{S,m}`, with :math:`n_{S,m}` the number of cases labelled
    :math:`m` on which exactly the set :math:`S` of rules holds.
    """
    groups: dict[tuple[str, ...], list[str]] = {}
    for c in cases:
        key = tuple(r.code for r in rules.rules if r.holds(c.profile))
        groups.setdefault(key, []).append(c.label)
    return sum(max(labels.count(m) for m in set(labels)) for labels in groups.values())


@dataclass(frozen=True)
class Previous:
    """An earlier fitted version, measured on the current cases.

    ``published``: what its published weights predict for every current case; ``new_cases``:
    the ids of the cases it was not fitted on (added since); ``refit_loo``: leave-one-out of its
    rules (without the rules added since) refitted on the current cases, same σ and constraints.
    """

    version: str
    published: list[str]
    new_cases: frozenset[str]
    refit_loo: list[str] | None


@dataclass(frozen=True)
class Report:
    """Everything ``docs/modes.md`` states about the fit."""

    cases: list[Case]
    fitted: dict[str, Any]
    prior_weights: dict[str, float]
    prior_version: str
    fitted_version: str
    prior_sd: float
    baseline: list[str]
    in_sample: list[str]
    loo: list[str] | None
    previous: Previous | None = None
    capacity: list[str] | None = None  # in sample, prior no longer binding (capacity_sd)
    capacity_sd: float | None = None
    ceiling: int | None = None  # signature_ceiling of the fitted rules

    @property
    def labels(self) -> list[str]:
        return [c.label for c in self.cases]

    @property
    def majority(self) -> tuple[str, float]:
        counts = {m: self.labels.count(m) for m in MODES}
        top = max(MODES, key=lambda m: counts[m])
        return top, counts[top] / len(self.labels)


def _previous(on: dt.date, cases: Sequence[Case], prior_sd: float, with_loo: bool) -> Previous:
    """The earlier fitted version in force on ``on``, measured on ``cases``."""
    table = refdata.get(RULES_TABLE, on=on)
    settings = fit_settings(table.data)
    prior = prior_weights(
        rules_from_data(refdata.get(RULES_TABLE, on=settings.prior_on).data),
        settings.prior_weights,
    )
    old_ids = {c.case_id for c in load_cases(on=settings.cases_on)}
    return Previous(
        version=table.version,
        published=predict(cases, rules_from_data(table.data, table.name)),
        new_cases=frozenset(c.case_id for c in cases if c.case_id not in old_ids),
        refit_loo=(
            leave_one_out(cases, table.data, prior, prior_sd, settings.monotone)
            if with_loo
            else None
        ),
    )


def run(on: dt.date | str | None = None, *, loo: bool = True) -> Report:
    """Reproduce the fit of the ``scoring: softmax`` rule version in force on ``on``.

    Returns the cases, the refitted data (its weights must equal the table's), the predictions of
    the expert weights (``baseline``), of the fitted weights on their own training cases
    (``in_sample``) and leave-one-out (``loo``; ``None`` when ``loo`` is false), and, when the
    version's ``fit`` block names a ``previous_on`` version, that version measured on the same
    cases (:class:`Previous`).
    """
    table = refdata.get(RULES_TABLE, on=on)
    if table.data.get("scoring") != "softmax" or "fit" not in table.data:
        raise InputError(f"{table.name} {table.version} is not a fitted (softmax) version")
    settings = fit_settings(table.data)
    prior_table = refdata.get(RULES_TABLE, on=settings.prior_on)
    prior = rules_from_data(prior_table.data, prior_table.name)
    weights0 = prior_weights(prior, settings.prior_weights)
    cases = load_cases(on=settings.cases_on)
    fitted = fit_weights(cases, table.data, weights0, settings.prior_sd, settings.monotone)
    capacity = None
    if settings.capacity_sd is not None:
        wide = fit_weights(cases, table.data, weights0, settings.capacity_sd, settings.monotone)
        capacity = predict(cases, rules_from_data(wide))
    return Report(
        cases=cases,
        fitted=fitted,
        prior_weights=weights0,
        prior_version=prior_table.version,
        fitted_version=table.version,
        prior_sd=settings.prior_sd,
        baseline=predict(cases, prior),
        in_sample=predict(cases, rules_from_data(fitted)),
        loo=(
            leave_one_out(cases, table.data, weights0, settings.prior_sd, settings.monotone)
            if loo
            else None
        ),
        previous=(
            _previous(settings.previous_on, cases, settings.prior_sd, loo)
            if settings.previous_on is not None
            else None
        ),
        capacity=capacity,
        capacity_sd=settings.capacity_sd,
        ceiling=(
            signature_ceiling(cases, rules_from_data(fitted))
            if settings.capacity_sd is not None
            else None
        ),
    )


SHORT = {
    "safety_baseline": "safety",
    "resource_utilization": "resource",
    "property_rights": "rights",
    "industry_integration": "industry",
}


def _confusion_md(labels: Sequence[str], predicted: Sequence[str]) -> list[str]:
    m = confusion(labels, predicted)
    head = "| label ↓ / predicted → | " + " | ".join(SHORT[p] for p in MODES) + " | n |"
    lines = [head, "|---|" + "---:|" * (len(MODES) + 1)]
    for a in MODES:
        row = " | ".join(str(m[a][p]) for p in MODES)
        lines.append(f"| {SHORT[a]} | {row} | {sum(m[a].values())} |")
    return lines


def _hits(labels: Sequence[str], predicted: Sequence[str]) -> int:
    return sum(a == p for a, p in zip(labels, predicted, strict=True))


def _row(what: str, hits: int, n: int) -> str:
    return f"| {what} | {hits}/{n} = {hits / n:.1%} |"


def markdown(report: Report) -> str:
    """The report as Markdown (what ``docs/modes.md`` quotes); needs the leave-one-out run."""
    if report.loo is None:
        raise InputError("markdown() needs the leave-one-out predictions (run with loo=True)")
    n = len(report.cases)
    labels = report.labels
    top, share = report.majority
    prev = report.previous
    lines = [
        f"cases: {n}; labels: " + ", ".join(f"{SHORT[m]} {labels.count(m)}" for m in MODES),
        "",
        "| weights | accuracy on the cases |",
        "|---|---|",
        _row(f"always '{SHORT[top]}' (majority class)", round(share * n), n),
        _row(f"expert weights `{report.prior_version}`", _hits(labels, report.baseline), n),
    ]
    if prev is not None:
        new = [i for i, c in enumerate(report.cases) if c.case_id in prev.new_cases]
        lines.append(
            _row(
                f"previous fitted `{prev.version}`, published weights",
                _hits(labels, prev.published),
                n,
            )
        )
        if new:
            lines.append(
                _row(
                    f"previous fitted `{prev.version}`, published weights, on the "
                    f"{len(new)} cases added since (out of sample)",
                    _hits([labels[i] for i in new], [prev.published[i] for i in new]),
                    len(new),
                )
            )
        if prev.refit_loo is not None:
            lines.append(
                _row(
                    f"rules of `{prev.version}` refitted on these cases, leave-one-out",
                    _hits(labels, prev.refit_loo),
                    n,
                )
            )
    lines.append(
        _row(f"fitted `{report.fitted_version}`, in sample", _hits(labels, report.in_sample), n)
    )
    if report.capacity is not None:
        lines.append(
            _row(
                f"rules of `{report.fitted_version}`, in sample, prior removed "
                f"(σ = {report.capacity_sd:g}; signs and order kept)",
                _hits(labels, report.capacity),
                n,
            )
        )
    if report.ceiling is not None:
        lines.append(
            _row(
                f"any recommender reading only the rules of `{report.fitted_version}` "
                "(best label per set of rules that hold)",
                report.ceiling,
                n,
            )
        )
    lines += [
        _row(
            f"fitted `{report.fitted_version}`, leave-one-out (σ = {report.prior_sd:g})",
            _hits(labels, report.loo),
            n,
        ),
        "",
        f"Leave-one-out confusion matrix, `{report.fitted_version}`:",
        "",
        *_confusion_md(labels, report.loo),
        "",
    ]
    if prev is not None and prev.refit_loo is not None:
        lines += [
            f"Leave-one-out confusion matrix, rules of `{prev.version}` refitted on these cases:",
            "",
            *_confusion_md(labels, prev.refit_loo),
            "",
        ]
    lines += [
        "Expert weights, confusion matrix:",
        "",
        *_confusion_md(labels, report.baseline),
        "",
    ]
    if prev is not None:
        lines += [
            f"| case | label | expert | `{prev.version}` published | fitted (LOO) | added |",
            "|---|---|---|---|---|---|",
        ]
        for c, b, q, p in zip(
            report.cases, report.baseline, prev.published, report.loo, strict=True
        ):
            added = "yes" if c.case_id in prev.new_cases else ""
            lines.append(
                f"| {c.case_id} | {SHORT[c.label]} | {SHORT[b]} | {SHORT[q]} | {SHORT[p]} | {added} |"
            )
    else:
        lines += ["| case | label | expert | fitted (LOO) |", "|---|---|---|---|"]
        for c, b, p in zip(report.cases, report.baseline, report.loo, strict=True):
            lines.append(f"| {c.case_id} | {SHORT[c.label]} | {SHORT[b]} | {SHORT[p]} |")
    lines += ["", "| mode | bias |", "|---|---:|"]
    lines += [f"| {SHORT[m]} | {report.fitted['bias'][m]:+.2f} |" for m in MODES]
    lines += ["", "| rule | expert weight | fitted weight |", "|---|---:|---:|"]
    for r in report.fitted["rules"]:
        w0 = report.prior_weights[r["code"]]
        lines.append(f"| {r['code']} {r['name']} | {w0:g} | {r['weight']:+.2f} |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m restora.modes.fit [--on DATE] [--weights]``: print the fit report."""
    parser = argparse.ArgumentParser(prog="python -m restora.modes.fit", description=__doc__)
    parser.add_argument("--on", help="date whose fitted rule version to reproduce (YYYY-MM-DD)")
    parser.add_argument(
        "--weights", action="store_true", help="print the refitted rules and biases as YAML"
    )
    args = parser.parse_args(argv)
    report = run(on=args.on, loo=not args.weights)
    if args.weights:
        import yaml

        out = {
            "bias": report.fitted["bias"],
            "weights": {r["code"]: r["weight"] for r in report.fitted["rules"]},
        }
        sys.stdout.write(yaml.safe_dump(out, sort_keys=False, allow_unicode=True))
    else:
        sys.stdout.write(markdown(report) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
