"""Policy effect: before/after and difference-in-differences of an outcome (e.g. the
social-capital share of restoration investment) around a policy's start year, on a region ×
year panel (docs/evaluation.md, "Policy effect").

- :func:`did`: two-way fixed effects ``y_rt = α_r + λ_t + δ·D_rt + ε_rt`` with
  ``D_rt = 1`` for adopting regions from the start year on, standard errors clustered by
  region (CR1, t with G − 1 degrees of freedom; statsmodels); the 2×2 DiD of cell means with
  its clustered interval; event-study leads and their joint Wald test as the pre-trend check;
  optionally the wild-cluster bootstrap (Cameron, Gelbach & Miller 2008).
- :func:`before_after`: ``y_rt = α_r + β·after_t + ε_rt`` in the (adopting) regions.

Each result states its assumptions and carries warnings with stable codes (``DID-…``,
``BA-…``); the thresholds they use are the reference table ``evaluation/inference``.

References
----------
Angrist, J. D. & Pischke, J.-S. (2009). *Mostly Harmless Econometrics*, ch. 5. Princeton UP.
Bertrand, M., Duflo, E. & Mullainathan, S. (2004). How much should we trust
differences-in-differences estimates? *QJE* 119(1), 249-275.
https://doi.org/10.1162/003355304772839588
Cameron, A. C., Gelbach, J. B. & Miller, D. L. (2008), doi:10.1162/rest.90.3.414.
Cameron, A. C. & Miller, D. L. (2015), doi:10.3368/jhr.50.2.317.
Goodman-Bacon, A. (2021). Difference-in-differences with variation in treatment timing.
*Journal of Econometrics* 225(2), 254-277. https://doi.org/10.1016/j.jeconom.2021.03.014
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from restora import refdata
from restora.errors import InputError, Problem

FloatArray = npt.NDArray[np.float64]
INFERENCE_TABLE = "evaluation/inference"
_CHUNK = 500  # bootstrap replications computed together

REFERENCES = (
    "Angrist & Pischke (2009), Mostly Harmless Econometrics, ch. 5",
    "Bertrand, Duflo & Mullainathan (2004), doi:10.1162/003355304772839588",
    "Cameron, Gelbach & Miller (2008), doi:10.1162/rest.90.3.414",
    "Cameron & Miller (2015), doi:10.3368/jhr.50.2.317",
    "Webb (2023), doi:10.1111/caje.12661",
)


@dataclass(frozen=True)
class Panel:
    """A region × year panel: one row per region and year.

    ``outcome`` [unit of the outcome]; ``region``: the region of each row (the cluster);
    ``period`` [year]; ``treated``: whether the row's region adopted the policy (constant
    within a region), None when not given. ``source``: the file, for messages.
    """

    outcome: FloatArray
    region: npt.NDArray[np.object_]
    period: npt.NDArray[np.int64]
    treated: npt.NDArray[np.bool_] | None
    source: str | None = None

    @classmethod
    def build(
        cls,
        outcome: npt.ArrayLike,
        region: Sequence[Any] | npt.ArrayLike,
        period: npt.ArrayLike,
        treated: npt.ArrayLike | None = None,
        source: str | None = None,
    ) -> Panel:
        """A checked panel: equal lengths, finite outcomes, one row per region and year,
        ``treated`` constant within each region (problems name the rows, 1-based)."""
        y = np.asarray(outcome, dtype=np.float64).ravel()
        r = np.asarray([str(v) for v in np.asarray(region, dtype=object).ravel()], dtype=object)
        t = np.asarray(period).astype(np.int64).ravel()
        d = None if treated is None else np.asarray(treated, dtype=bool).ravel()
        sizes = {y.size, r.size, t.size} | ({d.size} if d is not None else set())
        if len(sizes) != 1:
            raise InputError("outcome, region, period and treated differ in length", file=source)
        if y.size == 0:
            raise InputError("the panel has no rows", file=source)
        problems = [
            Problem("not a finite number", file=source, row=int(i) + 1, field="outcome")
            for i in np.flatnonzero(~np.isfinite(y))
        ]
        seen: dict[tuple[str, int], int] = {}
        for i, key in enumerate(zip(r.tolist(), t.tolist(), strict=True), start=1):
            if key in seen:
                problems.append(
                    Problem(
                        f"region {key[0]} year {key[1]} again (first at row {seen[key]}): one row "
                        "per region and year",
                        file=source,
                        row=i,
                    )
                )
            else:
                seen[key] = i
        if d is not None:
            first: dict[str, tuple[int, bool]] = {}
            for i, (reg, flag) in enumerate(zip(r.tolist(), d.tolist(), strict=True), start=1):
                if reg not in first:
                    first[reg] = (i, flag)
                elif first[reg][1] != flag:
                    problems.append(
                        Problem(
                            f"region {reg} is {'adopting' if flag else 'not adopting'} here but "
                            f"not at row {first[reg][0]}: the treated flag is per region",
                            file=source,
                            row=i,
                            field="treated",
                        )
                    )
        if problems:
            raise InputError(problems=problems)
        return cls(outcome=y, region=r, period=t, treated=d, source=source)


@dataclass(frozen=True)
class Estimate:
    """One estimated effect with its interval.

    ``effect`` and ``std_error`` [unit of the outcome]; ``ci_low``/``ci_high``: the interval
    at the result's level; ``p_value`` of effect = 0; ``df``: degrees of freedom of the t
    distribution (None for a bootstrap); ``inference``: how the interval was obtained.
    """

    effect: float
    std_error: float
    ci_low: float
    ci_high: float
    p_value: float
    df: int | None
    inference: str

    def as_json(self) -> dict[str, Any]:
        return {
            "effect": self.effect,
            "std_error": self.std_error,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "p_value": self.p_value,
            "df": self.df,
            "inference": self.inference,
        }


@dataclass(frozen=True)
class Lead:
    """An event-study coefficient ``k`` years before the start (k <= −2; k = −1 is the
    reference year), [unit of the outcome]."""

    event_time: int
    effect: float
    std_error: float
    ci_low: float
    ci_high: float

    def as_json(self) -> dict[str, Any]:
        return {
            "event_time": self.event_time,
            "effect": self.effect,
            "std_error": self.std_error,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
        }


@dataclass(frozen=True)
class Finding:
    """A warning or note with a stable rule code (``DID-FEW-CLUSTERS`` …)."""

    code: str
    level: str  # "warning" or "info"
    message: str

    def as_json(self) -> dict[str, Any]:
        return {"code": self.code, "level": self.level, "message": self.message}


@dataclass(frozen=True)
class Assumption:
    """An identifying assumption the estimate rests on (code and statement)."""

    code: str
    text: str

    def as_json(self) -> dict[str, Any]:
        return {"code": self.code, "text": self.text}


ASSUMPTIONS = {
    "PARALLEL": Assumption(
        "DID-A-PARALLEL",
        "Parallel trends: without the policy, the outcome of adopting regions would have "
        "moved like that of non-adopting regions.",
    ),
    "ANTICIPATION": Assumption(
        "DID-A-NO-ANTICIPATION",
        "No anticipation: the outcome did not react before the start year.",
    ),
    "SUTVA": Assumption(
        "DID-A-SUTVA",
        "SUTVA: the policy of one region does not change the outcome of another (no capital "
        "drawn from non-adopting regions), and the treatment is the same everywhere.",
    ),
    "COMMON-START": Assumption(
        "DID-A-COMMON-START",
        "One start year for all adopting regions (with staggered adoption, two-way fixed "
        "effects mixes comparisons: Goodman-Bacon 2021).",
    ),
    "NO-OTHER-CHANGE": Assumption(
        "BA-A-NO-OTHER-CHANGE",
        "Nothing but the policy changed the outcome between the periods (no common trend, "
        "no other policy, no shock): a before/after comparison has no control group.",
    ),
}


@dataclass(frozen=True)
class PolicyEffect:
    """The estimated effect of a policy and what it rests on.

    ``method``: ``did-twfe`` or ``before-after``; ``estimate``: the main estimate;
    ``did_2x2``: the 2×2 DiD of means (DiD only); ``bootstrap``: the wild-cluster bootstrap
    of the main estimate when asked; ``means``: the cell means; ``leads`` and
    ``pretrend_test`` (``statistic``, ``df_num``, ``df_den``, ``p_value``): the pre-trend
    check; ``warnings`` and ``assumptions`` with their codes.
    """

    method: str
    outcome: str
    start: int
    level: float
    n_obs: int
    n_regions: int
    n_treated_regions: int
    n_control_regions: int
    periods: tuple[int, int]
    estimate: Estimate
    did_2x2: Estimate | None
    bootstrap: Estimate | None
    means: dict[str, float]
    leads: tuple[Lead, ...]
    pretrend_test: dict[str, float] | None
    warnings: tuple[Finding, ...]
    assumptions: tuple[Assumption, ...]

    def other_estimates(self) -> dict[str, Estimate]:
        out = {}
        if self.did_2x2 is not None:
            out["did-2x2"] = self.did_2x2
        if self.bootstrap is not None:
            out[f"{self.method} (wild-cluster bootstrap)"] = self.bootstrap
        return out

    def title(self) -> str:
        return (
            f"{self.method}: effect on {self.outcome} of the policy starting {self.start} "
            f"({self.n_obs} rows, {self.n_regions} regions, {self.level:.0%} intervals)"
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "outcome": self.outcome,
            "start": self.start,
            "level": self.level,
            "n_obs": self.n_obs,
            "n_regions": self.n_regions,
            "n_treated_regions": self.n_treated_regions,
            "n_control_regions": self.n_control_regions,
            "periods": list(self.periods),
            "estimate": self.estimate.as_json(),
            "did_2x2": None if self.did_2x2 is None else self.did_2x2.as_json(),
            "bootstrap": None if self.bootstrap is None else self.bootstrap.as_json(),
            "means": self.means,
            "pretrend": {
                "leads": [lead.as_json() for lead in self.leads],
                "joint_test": self.pretrend_test,
            },
            "warnings": [w.as_json() for w in self.warnings],
            "assumptions": [a.as_json() for a in self.assumptions],
            "references": list(REFERENCES),
        }


# ----------------------------------------------------------------------------- estimation
@dataclass(frozen=True)
class _Fit:
    """OLS on region-demeaned data with CR1 standard errors clustered by region."""

    params: FloatArray
    cov: npt.NDArray[np.float64]
    df: int
    x: npt.NDArray[np.float64]
    y: FloatArray
    clusters: npt.NDArray[np.int64]
    k: int


def _demean(a: npt.NDArray[np.float64], codes: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
    """Columns of ``a`` minus their region means (absorbs the region fixed effects exactly)."""
    a2 = a.reshape(len(codes), -1)
    g = int(codes.max()) + 1
    counts = np.bincount(codes, minlength=g).astype(np.float64)
    sums = np.stack(
        [np.bincount(codes, weights=a2[:, j], minlength=g) for j in range(a2.shape[1])], 1
    )
    out = a2 - (sums / counts[:, None])[codes]
    return out.reshape(a.shape)


def _fit(
    y: FloatArray, x: npt.NDArray[np.float64], codes: npt.NDArray[np.int64], absorb: bool
) -> _Fit:
    """OLS of y on x (region fixed effects absorbed by demeaning when ``absorb``), clustered
    by region: statsmodels' CR1, ``G/(G−1)·(N−1)/(N−K)``, t with G − 1 degrees of freedom.

    The region effects are nested in the clusters and not counted in K (as Stata's ``xtreg,
    fe vce(cluster)`` and ``reghdfe`` do; Cameron & Miller 2015, section IV.C)."""
    import statsmodels.api as sm

    yy, xx = (_demean(y, codes), _demean(x, codes)) if absorb else (y, x)
    result = sm.OLS(yy, xx).fit(cov_type="cluster", cov_kwds={"groups": codes}, use_t=True)
    return _Fit(
        params=np.asarray(result.params, dtype=np.float64),
        cov=np.asarray(result.cov_params(), dtype=np.float64),
        df=int(codes.max()),  # G − 1
        x=xx,
        y=yy,
        clusters=codes,
        k=xx.shape[1],
    )


def _estimate(fit: _Fit, j: int, level: float, inference: str) -> Estimate:
    from scipy import stats

    effect = float(fit.params[j])
    se = float(np.sqrt(fit.cov[j, j]))
    q = float(stats.t.ppf(0.5 + level / 2, fit.df))
    p = float(2 * stats.t.sf(abs(effect / se), fit.df)) if se > 0 else float("nan")
    return Estimate(effect, se, effect - q * se, effect + q * se, p, fit.df, inference)


def _wild_bootstrap(
    fit: _Fit, j: int, level: float, replications: int, seed: int, webb_below: int
) -> Estimate:
    """Wild-cluster bootstrap of coefficient ``j``: the p-value from the restricted bootstrap
    (WCR, the null δ = 0 imposed) and the symmetric percentile-t interval from the
    unrestricted one (WCU); Rademacher weights, Webb's six-point weights with few clusters
    (Cameron, Gelbach & Miller 2008; Webb 2023)."""
    x, y, codes = fit.x, fit.y, fit.clusters
    n, k = x.shape
    g = int(codes.max()) + 1
    rng = np.random.default_rng(seed)
    if g < webb_below:
        points = np.array([-np.sqrt(1.5), -1.0, -np.sqrt(0.5), np.sqrt(0.5), 1.0, np.sqrt(1.5)])
        v = rng.choice(points, size=(g, replications))
        weights = f"Webb six-point weights ({g} clusters)"
    else:
        v = rng.choice(np.array([-1.0, 1.0]), size=(g, replications))
        weights = "Rademacher weights"
    pinv = np.linalg.pinv(x)  # (k, n): β = pinv · y
    a = pinv[j]
    scale = g / (g - 1) * (n - 1) / (n - k)

    order = np.argsort(codes, kind="stable")
    starts = np.searchsorted(codes[order], np.arange(g))

    def t_stats(fitted: FloatArray, resid: FloatArray, centre: float) -> FloatArray:
        out = np.empty(replications)
        for lo in range(0, replications, _CHUNK):  # bounded memory: n × _CHUNK at a time
            vb = v[:, lo : lo + _CHUNK]
            ystar = fitted[:, None] + resid[:, None] * vb[codes]
            beta = pinv @ ystar
            e = ystar - x @ beta
            # the score of each cluster, Σ_{i∈g} a_i e_i, for every replication at once
            s = np.add.reduceat((a[:, None] * e)[order], starts, axis=0)
            se = np.sqrt(scale * (s**2).sum(axis=0))
            out[lo : lo + vb.shape[1]] = (beta[j] - centre) / se
        return out

    beta_hat = pinv @ y
    resid_u = y - x @ beta_hat
    keep = [c for c in range(k) if c != j]
    xr = x[:, keep]
    beta_r = np.linalg.lstsq(xr, y, rcond=None)[0] if keep else np.zeros(0)
    fitted_r = xr @ beta_r if keep else np.zeros(n)
    t_hat = float(fit.params[j] / np.sqrt(fit.cov[j, j]))
    t_null = t_stats(fitted_r, y - fitted_r, 0.0)
    p = float(np.mean(np.abs(t_null) >= abs(t_hat)))
    t_unres = t_stats(x @ beta_hat, resid_u, float(beta_hat[j]))
    q = float(np.quantile(np.abs(t_unres), level))
    effect, se = float(fit.params[j]), float(np.sqrt(fit.cov[j, j]))
    return Estimate(
        effect,
        se,
        effect - q * se,
        effect + q * se,
        p,
        None,
        f"wild-cluster bootstrap-t, {replications} replications, {weights}; p-value with "
        "the null imposed (WCR), interval symmetric percentile-t (WCU)",
    )


def _codes(labels: npt.NDArray[np.object_]) -> tuple[npt.NDArray[np.str_], npt.NDArray[np.int64]]:
    names, codes = np.unique(labels.astype(str), return_inverse=True)
    return names, codes.astype(np.int64)


def _year_dummies(period: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
    """One column per year but the first (the year effects λ_t)."""
    years = np.unique(period)
    return (period[:, None] == years[None, 1:]).astype(np.float64)


def _thresholds() -> dict[str, int]:
    data = refdata.get(INFERENCE_TABLE).data
    return {k: int(v) for k, v in data.items()}


def _cluster_warnings(n_regions: int, n_treated: int, n_control: int, boot: int) -> list[Finding]:
    limits = _thresholds()
    out = []
    if n_regions < limits["min_clusters"]:
        advice = (
            "the wild-cluster bootstrap is reported beside them"
            if boot
            else "run with --bootstrap 9999 for the wild-cluster bootstrap, or read the "
            "interval as indicative"
        )
        out.append(
            Finding(
                "DID-FEW-CLUSTERS",
                "warning",
                f"{n_regions} regions: cluster-robust standard errors are unreliable with fewer "
                f"than about {limits['min_clusters']} clusters (Cameron & Miller 2015); {advice}.",
            )
        )
    few = min(n_treated, n_control)
    if n_control and few < limits["min_treated_clusters"]:
        which = "adopting" if n_treated <= n_control else "non-adopting"
        out.append(
            Finding(
                "DID-FEW-TREATED",
                "warning",
                f"only {few} {which} region(s): with fewer than "
                f"{limits['min_treated_clusters']} on one side, cluster-robust tests over-reject "
                "and even the bootstrap is unreliable (MacKinnon & Webb 2017).",
            )
        )
    return out


def _balance(panel: Panel) -> Finding | None:
    regions = np.unique(panel.region).size
    years = np.unique(panel.period).size
    if panel.outcome.size == regions * years:
        return None
    return Finding(
        "DID-UNBALANCED",
        "info",
        f"unbalanced panel: {panel.outcome.size} rows for {regions} regions × {years} years; "
        "the fixed effects absorb the differences in composition.",
    )


def did(
    panel: Panel,
    start: int,
    *,
    level: float = 0.95,
    bootstrap: int = 0,
    seed: int = 20240601,
    outcome: str = "outcome",
) -> PolicyEffect:
    """Difference-in-differences of a policy starting in year ``start``.

    Parameters
    ----------
    panel : Panel
        Region × year rows with ``treated`` (adopting regions).
    start : int
        First year under the policy [year].
    level : float
        Confidence level of the intervals [1].
    bootstrap : int
        Wild-cluster bootstrap replications (0: none).
    seed : int
        Seed of the bootstrap draws.
    outcome : str
        The outcome's name, for the result.

    Returns
    -------
    PolicyEffect
        ``estimate``: δ of the two-way fixed-effects regression; ``did_2x2``:
        ``(ȳ_T,after − ȳ_T,before) − (ȳ_C,after − ȳ_C,before)`` over rows, with the interval of
        the saturated regression ``y = a + b·T + c·after + δ·T·after``, clustered by region;
        ``leads``: event-study coefficients ``β_k`` (k <= −2) of
        ``y = α_r + λ_t + Σ_k β_k·T_r·1[t − start = k] + δ·D_rt + ε`` and their joint Wald test.

    Raises
    ------
    InputError
        No ``treated`` column, no adopting or no non-adopting region, no year before or none
        from the start on.
    """
    if panel.treated is None:
        raise InputError("a difference-in-differences needs the treated column", field="treated")
    src = panel.source
    y, period, treated = panel.outcome, panel.period, panel.treated
    after = period >= start
    _need(after, start, src)
    names, codes = _codes(panel.region)
    n_treated = np.unique(codes[treated]).size
    n_control = np.unique(codes[~treated]).size
    if n_treated == 0 or n_control == 0:
        raise InputError(
            "needs adopting and non-adopting regions (treated 1 and 0); for adopting regions "
            "only use before-after",
            file=src,
            field="treated",
        )
    d = (treated & after).astype(np.float64)
    years = _year_dummies(period)
    main = _fit(y, np.column_stack([d, years]), codes, absorb=True)
    estimate = _estimate(
        main, 0, level, "two-way fixed effects OLS, CR1 clustered by region, t(G-1)"
    )

    t = treated.astype(np.float64)
    a = after.astype(np.float64)
    sat = _fit(y, np.column_stack([np.ones_like(y), t, a, t * a]), codes, absorb=False)
    did2 = _estimate(sat, 3, level, "2x2 difference of cell means; CR1 clustered by region, t(G-1)")
    means = {
        "treated_before": float(y[treated & ~after].mean()),
        "treated_after": float(y[treated & after].mean()),
        "control_before": float(y[~treated & ~after].mean()),
        "control_after": float(y[~treated & after].mean()),
    }

    findings = _cluster_warnings(names.size, n_treated, n_control, bootstrap)
    leads, joint = _pretrend(y, period, treated, d, years, codes, start, level)
    if joint is None:
        findings.append(
            Finding(
                "DID-NO-PRETREND-TEST",
                "warning",
                "fewer than two years before the start: parallel pre-trends cannot be checked.",
            )
        )
    elif joint["p_value"] < 1 - level:
        findings.append(
            Finding(
                "DID-PRETREND",
                "warning",
                f"the event-study leads differ from zero (joint test p = {joint['p_value']:.3g}): "
                "adopting regions were already diverging before the start; parallel trends are "
                "doubtful.",
            )
        )
    balance = _balance(panel)
    if balance is not None:
        findings.append(balance)
    boot = (
        _wild_bootstrap(main, 0, level, bootstrap, seed, _thresholds()["webb_below_clusters"])
        if bootstrap
        else None
    )
    return PolicyEffect(
        method="did-twfe",
        outcome=outcome,
        start=int(start),
        level=level,
        n_obs=int(y.size),
        n_regions=int(names.size),
        n_treated_regions=int(n_treated),
        n_control_regions=int(n_control),
        periods=(int(period.min()), int(period.max())),
        estimate=estimate,
        did_2x2=did2,
        bootstrap=boot,
        means=means,
        leads=leads,
        pretrend_test=joint,
        warnings=tuple(findings),
        assumptions=tuple(
            ASSUMPTIONS[k] for k in ("PARALLEL", "ANTICIPATION", "SUTVA", "COMMON-START")
        ),
    )


def _need(after: npt.NDArray[np.bool_], start: int, src: str | None) -> None:
    if after.all():
        raise InputError(f"no year before the start year {start}", file=src, field="period")
    if not after.any():
        raise InputError(f"no year from the start year {start} on", file=src, field="period")


def _pretrend(
    y: FloatArray,
    period: npt.NDArray[np.int64],
    treated: npt.NDArray[np.bool_],
    d: FloatArray,
    years: npt.NDArray[np.float64],
    codes: npt.NDArray[np.int64],
    start: int,
    level: float,
) -> tuple[tuple[Lead, ...], dict[str, float] | None]:
    """Event-study leads k <= −2 (k = −1 the reference) and the joint Wald F test of β_k = 0
    with the clustered covariance, F(q, G − 1)."""
    from scipy import stats

    ks = sorted({int(p - start) for p in period[treated] if p - start <= -2})
    if not ks:
        return (), None
    event = period - start
    cols = [(treated & (event == k)).astype(np.float64) for k in ks]
    fit = _fit(y, np.column_stack([*cols, d, years]), codes, absorb=True)
    q = len(ks)
    tq = float(stats.t.ppf(0.5 + level / 2, fit.df))
    leads = []
    for i, k in enumerate(ks):
        b, se = float(fit.params[i]), float(np.sqrt(fit.cov[i, i]))
        leads.append(Lead(k, b, se, b - tq * se, b + tq * se))
    coef = fit.params[:q]
    wald = float(coef @ np.linalg.pinv(fit.cov[:q, :q]) @ coef) / q
    p = float(stats.f.sf(wald, q, fit.df)) if fit.df > 0 else float("nan")
    return tuple(leads), {
        "statistic": wald,
        "df_num": float(q),
        "df_den": float(fit.df),
        "p_value": p,
    }


def before_after(
    panel: Panel, start: int, *, level: float = 0.95, outcome: str = "outcome"
) -> PolicyEffect:
    """Before/after comparison within regions: ``y_rt = α_r + β·after_t + ε_rt``.

    Only the adopting regions when ``panel.treated`` is given, else every row. β is the mean
    within-region change [unit of the outcome]; on a balanced panel it equals
    ``ȳ_after − ȳ_before``. Standard errors clustered by region, t(G − 1).

    Raises
    ------
    InputError
        No year before or none from the start on; fewer than two regions (no clustering).
    """
    src = panel.source
    keep = panel.treated if panel.treated is not None else np.ones(panel.outcome.size, bool)
    if not keep.any():
        raise InputError("no adopting region (treated 1)", file=src, field="treated")
    y, period = panel.outcome[keep], panel.period[keep]
    after = period >= start
    _need(after, start, src)
    names, codes = _codes(panel.region[keep])
    if names.size < 2:
        raise InputError(
            "a before/after comparison clustered by region needs at least two regions",
            file=src,
            field="region",
        )
    fit = _fit(y, after.astype(np.float64)[:, None], codes, absorb=True)
    estimate = _estimate(
        fit, 0, level, "within-region before/after OLS, CR1 clustered by region, t(G-1)"
    )
    findings = [
        Finding(
            "BA-NO-CONTROL",
            "warning",
            "no control group: any change common to all regions over the period (a trend, "
            "another policy, the economy) is counted as the policy's effect; prefer `did`.",
        ),
        *_cluster_warnings(names.size, names.size, 0, 0),
    ]
    sub = Panel(y, panel.region[keep], period, None, src)
    balance = _balance(sub)
    if balance is not None:
        findings.append(balance)
    return PolicyEffect(
        method="before-after",
        outcome=outcome,
        start=int(start),
        level=level,
        n_obs=int(y.size),
        n_regions=int(names.size),
        n_treated_regions=int(names.size),
        n_control_regions=0,
        periods=(int(period.min()), int(period.max())),
        estimate=estimate,
        did_2x2=None,
        bootstrap=None,
        means={"before": float(y[~after].mean()), "after": float(y[after].mean())},
        leads=(),
        pretrend_test=None,
        warnings=tuple(findings),
        assumptions=(ASSUMPTIONS["NO-OTHER-CHANGE"], ASSUMPTIONS["SUTVA"]),
    )
