"""IAD evaluation of the value-realization modes (Ostrom's Institutional Analysis and Development).

For each mode, the framework's dimensions as Wang et al. (2026) fill them in (external variables
of nature, policy and market; the action arena's participants and situation; the interaction
pattern; evaluation criteria; outcomes — table ``modes/iad``, English and Chinese), plus the
measurable evaluation criteria computed from a project's appraisal figures. A criterion whose
inputs are missing, or that the paper names but that has no figure (policy adaptability …), is
``None`` with the reason — never a made-up number.

Appraisal figures (a dict; every key optional; ``by_mode: {mode: {...}}`` overrides per mode):

============================  =========  ======================================================
key                           unit       meaning
============================  =========  ======================================================
hazard_points_total           point      hazard points (隐患点) before the project
hazard_points_eliminated      point      points eliminated
hazard_points_stabilised      point      points stabilised (monitored, no longer dangerous)
people_threatened_before      person     people threatened before the project
people_threatened_after       person     people threatened after it
safety_perception_before      score      community survey: sense of safety before
safety_perception_after       score      the same survey after
gep_before, gep_after         CNY/yr     GEP before and after restoration
gep_years                     yr         years between the two GEP figures
gep_series                    CNY/yr     annual GEP after restoration (list)
transactions                  CNY        list of {price, base_price}: rights traded vs base price
irr                           1/yr       internal rate of return
payback_years                 yr         payback period
cash_flows                    CNY        annual flows, [0] now (IRR / payback computed if absent)
jobs_by_year                  job        jobs in each year of operation (list)
benefit_shares                1 or CNY   {party: share or amount} of the project's benefits
============================  =========  ======================================================
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from restora import refdata
from restora.errors import InputError
from restora.finance import metrics
from restora.modes.profile import MODES

IAD_TABLE = "modes/iad"


@dataclass(frozen=True)
class Criterion:
    """One evaluation criterion: its value [unit] or None with the reason."""

    code: str
    name: str
    unit: str
    value: float | None
    reason: str | None
    inputs: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "name": self.name,
            "unit": self.unit,
            "value": self.value,
            "reason": self.reason,
            "inputs": list(self.inputs),
        }


@dataclass(frozen=True)
class IADEvaluation:
    """A mode seen through the IAD framework: the paper's dimensions and computed criteria."""

    mode: str
    name: dict[str, str]
    dimensions: dict[str, dict[str, str]]
    criteria: tuple[Criterion, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "name": dict(self.name),
            "dimensions": {k: dict(v) for k, v in self.dimensions.items()},
            "criteria": [c.as_dict() for c in self.criteria],
        }


# --- the measurable criteria (pure functions) ------------------------------------------------


def hazard_treated_rate(total: float, eliminated: float, stabilised: float = 0.0) -> float:
    """Share of hazard points eliminated or stabilised [1].

    Notes
    -----
    r = (n_eliminated + n_stabilised) / n_total, n_total > 0.
    """
    return (eliminated + stabilised) / total


def reduction_rate(before: float, after: float) -> float:
    """Relative reduction [1]: (before − after) / before, before > 0."""
    return (before - after) / before


def annual_growth_rate(before: float, after: float, years: float) -> float:
    """Compound annual growth rate [1/yr].

    Notes
    -----
    g = (after / before)^(1 / years) − 1, before > 0, after ≥ 0, years > 0.
    """
    return float((after / before) ** (1.0 / years) - 1.0)


def supply_stability(series: Sequence[float]) -> float:
    """Stability of an annual supply [1]: 1 − coefficient of variation (population s.d. / mean).

    Notes
    -----
    S = 1 − σ/μ; 1 for a constant series; needs μ > 0.
    """
    x = np.asarray(series, dtype=float)
    return float(1.0 - x.std() / x.mean())


def premium_rate(prices: Sequence[float], base_prices: Sequence[float]) -> float:
    """Property transaction premium rate [1]: (Σ price − Σ base) / Σ base.

    References
    ----------
    Wang et al. (2026): pricing = base price (cost or market method) × floating coefficients; the
    premium is what the transaction adds over the base.
    """
    base = float(np.sum(base_prices))
    return (float(np.sum(prices)) - base) / base


def gini(shares: Sequence[float]) -> float:
    """Gini coefficient of benefit shares among parties [1] (0 equal, → 1 concentrated).

    Notes
    -----
    G = Σᵢ Σⱼ |xᵢ − xⱼ| / (2 n² x̄).

    References
    ----------
    Gini C. (1912) Variabilità e mutabilità. The mean-difference form as in Sen A. (1973) On
    Economic Inequality, ch. 2.
    """
    x = np.asarray(shares, dtype=float)
    return float(np.abs(x[:, None] - x[None, :]).sum() / (2.0 * len(x) ** 2 * x.mean()))


def jobs_persistence(jobs_by_year: Sequence[float]) -> float:
    """Persistence of jobs created [1]: jobs in the last year / peak jobs."""
    x = np.asarray(jobs_by_year, dtype=float)
    return float(x[-1] / x.max())


# --- reading appraisal figures ---------------------------------------------------------------


class _Figures:
    """Typed access to the appraisal dict; bad values raise InputError naming the field."""

    def __init__(self, data: Mapping[str, Any], file: str | None) -> None:
        self.data = data
        self.file = file

    def num(self, key: str, positive: bool = False) -> float | None:
        v = self.data.get(key)
        if v is None:
            return None
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise InputError(f"{v!r} is not a number", file=self.file, field=key)
        if v < 0 or (positive and v == 0):
            need = "a positive" if positive else "a non-negative"
            raise InputError(f"{v!r}: must be {need} number", file=self.file, field=key)
        return float(v)

    def signed(self, key: str) -> float | None:
        v = self.data.get(key)
        if v is None:
            return None
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise InputError(f"{v!r} is not a number", file=self.file, field=key)
        return float(v)

    def series(self, key: str, signed: bool = False) -> list[float] | None:
        v = self.data.get(key)
        if v is None:
            return None
        if not isinstance(v, list) or not v:
            raise InputError("must be a non-empty list of numbers", file=self.file, field=key)
        out = []
        for i, x in enumerate(v):
            ok = not isinstance(x, bool) and isinstance(x, (int, float)) and math.isfinite(x)
            if not ok or (not signed and x < 0):
                raise InputError(
                    f"{x!r} is not a {'' if signed else 'non-negative '}number",
                    file=self.file,
                    row=f"{key}[{i}]",
                    field=key,
                )
            out.append(float(x))
        return out


def _missing(keys: Sequence[str]) -> str:
    return "needs appraisal figure(s): " + ", ".join(keys)


def _crit(
    spec: Mapping[str, Any],
    inputs: Sequence[str],
    compute: Callable[[], float | None],
    missing: Sequence[str],
    invalid: str | None = None,
) -> Criterion:
    value: float | None = None
    reason: str | None
    if missing:
        reason = _missing(missing)
    elif invalid:
        reason = invalid
    else:
        value = compute()
        reason = None
        if value is None or not math.isfinite(value):
            value, reason = None, "not defined for these figures"
    return Criterion(
        str(spec["code"]), str(spec["name"]), str(spec["unit"]), value, reason, tuple(inputs)
    )


def _absent(f: _Figures, keys: Sequence[str]) -> list[str]:
    return [k for k in keys if f.data.get(k) is None]


def _criterion(spec: Mapping[str, Any], f: _Figures) -> Criterion:
    """Compute one criterion of the ``modes/iad`` table from the figures."""
    code = str(spec["code"])
    if spec["unit"] == "qualitative":
        return Criterion(
            code,
            str(spec["name"]),
            "qualitative",
            None,
            "qualitative criterion of the paper; judged by the evaluator, not computed",
            (),
        )
    if code == "IAD-SAFETY-HAZARD-RATE":
        keys = ["hazard_points_total", "hazard_points_eliminated"]
        total, elim = f.num(keys[0]), f.num(keys[1])
        stab = f.num("hazard_points_stabilised") or 0.0
        bad = None
        if total == 0:
            bad = "no hazard points before the project"
        elif total is not None and elim is not None and elim + stab > total:
            raise InputError("eliminated + stabilised exceed the total", file=f.file, field=keys[1])
        return _crit(
            spec,
            [*keys, "hazard_points_stabilised"],
            lambda: hazard_treated_rate(total or 0.0, elim or 0.0, stab),
            _absent(f, keys),
            bad,
        )
    if code == "IAD-SAFETY-RISK-REDUCTION":
        keys = ["people_threatened_before", "people_threatened_after"]
        b, a = f.num(keys[0]), f.num(keys[1])
        bad = "no people threatened before the project" if b == 0 else None
        return _crit(spec, keys, lambda: reduction_rate(b or 0.0, a or 0.0), _absent(f, keys), bad)
    if code == "IAD-SAFETY-PERCEPTION":
        keys = ["safety_perception_before", "safety_perception_after"]
        b2, a2 = f.signed(keys[0]), f.signed(keys[1])
        return _crit(spec, keys, lambda: (a2 or 0.0) - (b2 or 0.0), _absent(f, keys))
    if code == "IAD-RESOURCE-GEP-GROWTH":
        keys = ["gep_before", "gep_after", "gep_years"]
        gb, ga, gy = f.num(keys[0], True), f.num(keys[1]), f.num(keys[2], True)
        return _crit(
            spec,
            keys,
            lambda: annual_growth_rate(gb or 1.0, ga or 0.0, gy or 1.0),
            _absent(f, keys),
        )
    if code == "IAD-RIGHTS-GEP-APPRECIATION":
        keys = ["gep_before", "gep_after"]
        gb, ga = f.num(keys[0], True), f.num(keys[1])
        return _crit(spec, keys, lambda: (ga or 0.0) / (gb or 1.0) - 1.0, _absent(f, keys))
    if code == "IAD-RESOURCE-SUPPLY-STABILITY":
        s = f.series("gep_series")
        bad = "GEP series has a zero mean" if s is not None and sum(s) == 0 else None
        return _crit(
            spec,
            ["gep_series"],
            lambda: supply_stability(s or [1.0]),
            _absent(f, ["gep_series"]),
            bad,
        )
    if code == "IAD-RIGHTS-PREMIUM":
        prices, bases = _transactions(f)
        bad = "base prices sum to zero" if bases is not None and sum(bases) == 0 else None
        return _crit(
            spec,
            ["transactions"],
            lambda: premium_rate(prices or [], bases or [1.0]),
            [] if prices is not None else ["transactions"],
            bad,
        )
    if code == "IAD-RIGHTS-FAIRNESS":
        shares = _shares(f)
        bad = "benefit shares sum to zero" if shares is not None and sum(shares) == 0 else None
        return _crit(
            spec,
            ["benefit_shares"],
            lambda: gini(shares or [1.0]),
            [] if shares is not None else ["benefit_shares"],
            bad,
        )
    if code == "IAD-INDUSTRY-IRR":
        irr = f.signed("irr")
        flows = f.series("cash_flows", signed=True)
        if irr is not None:
            return _crit(spec, ["irr"], lambda: irr, [])
        return _crit(
            spec,
            ["irr", "cash_flows"],
            lambda: float(metrics.irr(np.asarray(flows))),
            [] if flows is not None else ["irr or cash_flows"],
        )
    if code == "IAD-INDUSTRY-PAYBACK":
        pb = f.num("payback_years")
        flows = f.series("cash_flows", signed=True)
        if pb is not None:
            return _crit(spec, ["payback_years"], lambda: pb, [])
        return _crit(
            spec,
            ["payback_years", "cash_flows"],
            lambda: float(metrics.payback(np.asarray(flows))),
            [] if flows is not None else ["payback_years or cash_flows"],
        )
    if code in ("IAD-INDUSTRY-JOBS", "IAD-INDUSTRY-JOBS-PERSISTENCE"):
        jobs = f.series("jobs_by_year")
        bad = "no jobs in any year" if jobs is not None and max(jobs) == 0 else None
        fn = (
            (lambda: float(max(jobs or [0.0])))
            if code == "IAD-INDUSTRY-JOBS"
            else (lambda: jobs_persistence(jobs or [1.0]))
        )
        return _crit(spec, ["jobs_by_year"], fn, _absent(f, ["jobs_by_year"]), bad)
    raise InputError(f"no computation for criterion {code!r}", file=IAD_TABLE, field="code")


def _transactions(f: _Figures) -> tuple[list[float] | None, list[float] | None]:
    items = f.data.get("transactions")
    if items is None:
        return None, None
    if not isinstance(items, list) or not items:
        raise InputError(
            "must be a non-empty list of {price, base_price}", file=f.file, field="transactions"
        )
    prices, bases = [], []
    for i, t in enumerate(items):
        sub = _Figures(t if isinstance(t, dict) else {}, f.file)
        p, b = (sub.num("price"), sub.num("base_price")) if isinstance(t, dict) else (None, None)
        if p is None or b is None:
            raise InputError(
                f"{t!r} needs numbers price and base_price [CNY]",
                file=f.file,
                row=f"transactions[{i}]",
                field="transactions",
            )
        prices.append(p)
        bases.append(b)
    return prices, bases


def _shares(f: _Figures) -> list[float] | None:
    v = f.data.get("benefit_shares")
    if v is None:
        return None
    if not isinstance(v, dict) or len(v) < 2:
        raise InputError(
            "must map at least two parties to their share or amount",
            file=f.file,
            field="benefit_shares",
        )
    sub = _Figures(v, f.file)
    return [sub.num(k) or 0.0 for k in v]


# --- evaluation ----------------------------------------------------------------------------


def figures_for(appraisal: Mapping[str, Any] | None, mode: str) -> dict[str, Any]:
    """The appraisal figures that apply to ``mode``: top level, overridden by ``by_mode[mode]``."""
    base = {k: v for k, v in (appraisal or {}).items() if k != "by_mode"}
    by_mode = (appraisal or {}).get("by_mode") or {}
    if not isinstance(by_mode, dict) or any(k not in MODES for k in by_mode):
        raise InputError(f"by_mode keys must be among {list(MODES)}", field="by_mode")
    return {**base, **(by_mode.get(mode) or {})}


def evaluate(
    mode: str,
    appraisal: Mapping[str, Any] | None = None,
    *,
    file: str | None = None,
    on: dt.date | str | None = None,
    region: str | None = None,
) -> IADEvaluation:
    """The IAD view of a project under ``mode``: the paper's dimensions and computed criteria.

    Parameters
    ----------
    mode : str
        One of ``safety_baseline``, ``resource_utilization``, ``property_rights``,
        ``industry_integration``.
    appraisal : mapping, optional
        Appraisal figures (see the module docstring for keys and units [CNY, CNY/yr, yr, 1/yr,
        person, job, point]).
    file : str, optional
        Where the figures came from, for error messages.
    on, region
        Date [date] and 6-digit region code whose ``modes/iad`` table applies.

    Returns
    -------
    IADEvaluation

    Notes
    -----
    hazard rate = (eliminated + stabilised)/total; risk reduction = (P_before − P_after)/P_before;
    GEP growth g = (GEP_after/GEP_before)^(1/years) − 1; GEP appreciation = GEP_after/GEP_before
    − 1; supply stability = 1 − σ/μ of annual GEP; premium = (Σ price − Σ base)/Σ base; fairness
    = Gini of benefit shares; jobs persistence = jobs_last / jobs_peak; IRR and payback from
    :mod:`restora.finance.metrics` when only cash flows are given.

    References
    ----------
    Wang J. et al. (2026) Acta Ecologica Sinica 46(1):184-200, DOI 10.20103/j.stxb.202507131830.
    Ostrom E. (2011) Background on the Institutional Analysis and Development framework. Policy
    Studies Journal 39(1):7-27, DOI 10.1111/j.1541-0072.2010.00394.x.
    """
    if mode not in MODES:
        raise InputError(f"{mode!r} is not a mode ({', '.join(MODES)})", field="mode")
    table = refdata.get(IAD_TABLE, on=on, region=region).data
    texts = table["modes"][mode]
    dims = {
        d["key"]: {"en": texts[d["key"]]["en"], "zh": texts[d["key"]]["zh"]}
        for d in table["dimensions"]
    }
    figs = _Figures(figures_for(appraisal, mode), file)
    crits = tuple(_criterion(spec, figs) for spec in table["criteria"][mode])
    return IADEvaluation(mode=mode, name=dict(texts["name"]), dimensions=dims, criteria=crits)


def dimension_labels(
    on: dt.date | str | None = None, region: str | None = None
) -> dict[str, dict[str, str]]:
    """``{dimension key: {en, zh}}`` of the IAD framework (table ``modes/iad``)."""
    table = refdata.get(IAD_TABLE, on=on, region=region).data
    return {d["key"]: {"en": d["en"], "zh": d["zh"]} for d in table["dimensions"]}


def compare(
    appraisal: Mapping[str, Any] | None = None,
    *,
    file: str | None = None,
    on: dt.date | str | None = None,
    region: str | None = None,
) -> dict[str, IADEvaluation]:
    """All four modes side by side for one mine's project (see :func:`evaluate`)."""
    return {m: evaluate(m, appraisal, file=file, on=on, region=region) for m in MODES}
