"""Monte Carlo risk of a restoration project: NPV and IRR distributions, lenders' and the
guarantee fund's losses, and a tornado sensitivity table.

Drivers (capex, opex and revenue multipliers, a delay of operations) are drawn from triangular
or PERT distributions on low / most-likely / high ranges with the inverse-CDF functions of
:mod:`restora.costing.montecarlo`; capex can instead be scaled by draws of the life-cycle cost
simulation of the costing package (``capex_factors``). Everything is numpy over (scenarios,
periods) arrays, simulated in blocks (memory stays bounded) from ``numpy.random.default_rng(seed)``,
so the same seed gives the same result.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from restora.costing.montecarlo import pert_ppf, triangular_ppf
from restora.finance import metrics
from restora.finance.cashflow import DebtSchedule, ProjectFlows, delay

Target = Literal["capex", "opex", "revenue", "delay"]
TARGETS: tuple[str, ...] = ("capex", "opex", "revenue", "delay")


@dataclass(frozen=True)
class Driver:
    """One uncertain driver of the project's cash flows.

    Attributes
    ----------
    name : str
        Label in reports (e.g. "carbon price").
    target : {"capex", "opex", "revenue", "delay"}
        What it acts on: a multiplier [1] of capex, opex or revenue, or a delay [period] of
        operations (revenue and opex start later; capex is not moved).
    low, mode, high : float
        Range of the driver [1] or [period].
    distribution : {"triangular", "pert"}
        Shape of the distribution on the range.
    periods : tuple of int, optional
        Periods it applies to (default: all).
    """

    name: str
    target: Target
    low: float
    mode: float
    high: float
    distribution: Literal["triangular", "pert"] = "triangular"
    periods: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        if self.target not in TARGETS:
            raise ValueError(f"driver {self.name}: target must be one of {', '.join(TARGETS)}")
        if not self.low <= self.mode <= self.high:
            raise ValueError(f"driver {self.name}: need low <= mode <= high")
        if self.distribution not in ("triangular", "pert"):
            raise ValueError(f"driver {self.name}: distribution must be triangular or pert")
        if self.target == "delay" and self.low < 0:
            raise ValueError(f"driver {self.name}: a delay cannot be negative")
        if self.target != "delay" and self.low < 0:
            raise ValueError(f"driver {self.name}: a multiplier cannot be negative")

    def ppf(self, u: np.ndarray) -> np.ndarray:
        """Values [1] or [period] at the probabilities ``u``."""
        f = triangular_ppf if self.distribution == "triangular" else pert_ppf
        return f(u, self.low, self.mode, self.high)


@dataclass(frozen=True)
class Guarantee:
    """A guarantee fund covering part of the lenders' loss.

    Attributes
    ----------
    share : float
        Share of each loss the fund pays [1], 0..1.
    cap : float
        Most the fund pays per project [CNY] (``inf`` for none).
    """

    share: float
    cap: float = float("inf")

    def __post_init__(self) -> None:
        if not 0.0 <= self.share <= 1.0 or self.cap < 0:
            raise ValueError("guarantee share must be in [0, 1] and cap >= 0")


def apply_drivers(
    base: ProjectFlows, drivers: Sequence[Driver], values: np.ndarray
) -> ProjectFlows:
    """Project flows of each scenario given the drivers' values.

    Parameters
    ----------
    base : ProjectFlows
        The base case, one scenario (1, T) [CNY].
    drivers : sequence of Driver
        The drivers, D of them.
    values : numpy.ndarray
        (N, D) the drivers' values [1] or [period].

    Returns
    -------
    ProjectFlows
        (N, T) flows [CNY].

    Notes
    -----
    :math:`R_{n,t} = R_t \\prod_{d \\in rev} v_{n,d}` (likewise opex and capex) on the periods a
    driver applies to; then revenue and opex are shifted by :math:`\\sum_{d \\in delay} v_{n,d}`
    periods with :func:`restora.finance.cashflow.delay` (what falls past the horizon is lost).
    """
    n = values.shape[0]
    t = base.n_periods
    parts = {
        "revenue": np.repeat(base.revenue[:1], n, axis=0),
        "opex": np.repeat(base.opex[:1], n, axis=0),
        "capex": np.repeat(base.capex[:1], n, axis=0),
    }
    lag = np.zeros(n)
    for j, d in enumerate(drivers):
        if d.target == "delay":
            lag += values[:, j]
            continue
        mask = np.zeros(t, dtype=bool)
        mask[list(d.periods) if d.periods is not None else slice(None)] = True
        parts[d.target] *= np.where(mask[None, :], values[:, j : j + 1], 1.0)
    tax = np.repeat(base.tax[:1], n, axis=0)
    if np.any(lag > 0):
        parts["revenue"] = delay(parts["revenue"], lag)
        parts["opex"] = delay(parts["opex"], lag)
        tax = delay(tax, lag)
    return ProjectFlows(
        revenue=parts["revenue"],
        opex=parts["opex"],
        capex=parts["capex"],
        tax=tax,
        periods_per_year=base.periods_per_year,
    )


def lender_loss(cfads: np.ndarray, debt: DebtSchedule, *, tail: int = 0) -> np.ndarray:
    """Present value of the debt service a project fails to pay, per scenario.

    Parameters
    ----------
    cfads : numpy.ndarray
        (N, T) cash flow available for debt service [CNY].
    debt : DebtSchedule
        The loan, (1, T) or (N, T) [CNY].
    tail : int
        Periods after maturity in which arrears can still be collected [period] (0: what is
        unpaid at maturity is lost; the horizon caps it).

    Returns
    -------
    numpy.ndarray
        (N,) loss [CNY] at period 0, discounted at the loan rate.

    Notes
    -----
    Waterfall without reserves or sponsor support: each period pays
    :math:`p_t = \\min(\\max(CFADS_t, 0), DS_t + A_{t-1}(1+i))`; the arrears
    :math:`A_t = DS_t + A_{t-1}(1+i) - p_t` accrue interest at the loan rate :math:`i`, and
    what is unpaid at :math:`E = \\min(M + tail, T-1)` (:math:`M` the maturity) is lost:
    :math:`L = A_E (1+i)^{-E}`, the PV of scheduled minus paid service.

    References
    ----------
    Yescombe, E. R. (2014). Principles of Project Finance, 2nd ed., §12.3 (cash-flow cascade).
    """
    ds = np.broadcast_to(debt.service, cfads.shape)
    avail = np.maximum(cfads, 0.0)
    growth = 1.0 + debt.rate
    if tail < 0:
        raise ValueError("tail must be >= 0")
    end = min(debt.maturity + tail, cfads.shape[1] - 1)
    arrears = np.zeros(cfads.shape[0])
    for t in range(end + 1):
        due = ds[:, t] + arrears * growth
        arrears = due - np.minimum(avail[:, t], due)
    return arrears * growth**-end


@dataclass(frozen=True)
class RiskResult:
    """Simulated outcomes, one entry per scenario.

    Attributes
    ----------
    values : numpy.ndarray
        (N, D) drawn driver values.
    npv : numpy.ndarray
        (N,) project NPV at the discount rate [CNY].
    irr : numpy.ndarray
        (N,) project IRR [1/yr] (``nan`` where none or several).
    npv_at_hurdle : numpy.ndarray
        (N,) project NPV at the hurdle rate [CNY].
    min_dscr, llcr : numpy.ndarray
        (N,) minimum DSCR and LLCR at the drawdown [1] (``nan`` without a loan).
    lender_loss : numpy.ndarray
        (N,) lenders' loss after the guarantee [CNY].
    guarantee_loss : numpy.ndarray
        (N,) guarantee fund's payment [CNY].
    """

    drivers: tuple[Driver, ...]
    values: np.ndarray
    npv: np.ndarray
    irr: np.ndarray
    npv_at_hurdle: np.ndarray
    min_dscr: np.ndarray
    llcr: np.ndarray
    lender_loss: np.ndarray
    guarantee_loss: np.ndarray
    rate: float
    hurdle: float
    seed: int | None


def draw_values(drivers: Sequence[Driver], n: int, rng: np.random.Generator) -> np.ndarray:
    """Independent draws of the drivers by inverse CDF of uniforms.

    Parameters
    ----------
    drivers : sequence of Driver
        The D drivers.
    n : int
        Draws [1].
    rng : numpy.random.Generator
        Random generator.

    Returns
    -------
    numpy.ndarray
        (n, D) values [1] or [period].
    """
    u = rng.random((n, len(drivers)))
    out = np.empty_like(u)
    for j, d in enumerate(drivers):
        out[:, j] = d.ppf(u[:, j])
    return out


@contextmanager
def _progress(enabled: bool, total: int) -> Iterator[Any]:
    if not enabled:
        yield None
        return
    from rich.progress import Progress

    with Progress(transient=True) as bar:
        task = bar.add_task("Monte Carlo", total=total)
        yield lambda k: bar.advance(task, k)


def simulate(
    base: ProjectFlows,
    drivers: Sequence[Driver],
    *,
    rate: float,
    hurdle: float,
    n: int = 10_000,
    seed: int | None = None,
    debt: DebtSchedule | None = None,
    guarantee: Guarantee | None = None,
    tail: int = 0,
    capex_factors: np.ndarray | None = None,
    block: int = 5_000,
    progress: bool = False,
) -> RiskResult:
    """Monte Carlo over the drivers: project NPV and IRR, coverage ratios, losses.

    Parameters
    ----------
    base : ProjectFlows
        The base case (1, T) [CNY].
    drivers : sequence of Driver
        Uncertain drivers.
    rate : float
        Discount rate for the NPV [1/yr].
    hurdle : float
        Hurdle rate for P(IRR < hurdle) [1/yr].
    n : int
        Scenarios [1].
    seed : int, optional
        Seed of ``numpy.random.default_rng``.
    debt : DebtSchedule, optional
        The senior loan (1, T) [CNY]; gives DSCR, LLCR and lenders' losses.
    guarantee : Guarantee, optional
        The guarantee fund behind the loan.
    tail : int
        Periods after the loan's maturity in which arrears can still be collected [period]
        (see :func:`lender_loss`).
    capex_factors : numpy.ndarray, optional
        (n,) capex multipliers [1], e.g. simulated life-cycle cost / base cost from
        :func:`restora.costing.montecarlo.simulate`; applied on top of the capex drivers.
    block : int
        Scenarios per block [1] (memory bound).
    progress : bool
        Show a rich progress bar.

    Returns
    -------
    RiskResult
        Per-scenario outcomes; see :func:`summary`.

    Notes
    -----
    NPV and IRR are those of the unlevered project flow :math:`CFADS_t - Capex_t`
    (:mod:`restora.finance.metrics`); lenders' loss is :func:`lender_loss`, of which the
    guarantee pays :math:`G = \\min(s L, cap)` and lenders keep :math:`L - G`.
    """
    if n < 1:
        raise ValueError("n must be >= 1")
    if capex_factors is not None and np.shape(capex_factors) != (n,):
        raise ValueError("capex_factors must have one value per scenario")
    rng = np.random.default_rng(seed)
    values = draw_values(drivers, n, rng)
    out = {k: np.empty(n) for k in ("npv", "irr", "hurdle", "dscr", "llcr", "loss", "guar")}
    m = base.periods_per_year
    with _progress(progress, n) as advance:
        for b0 in range(0, n, block):
            b1 = min(b0 + block, n)
            flows = apply_drivers(base, drivers, values[b0:b1])
            if capex_factors is not None:
                flows = replace(flows, capex=flows.capex * capex_factors[b0:b1, None])
            proj = flows.project
            out["npv"][b0:b1] = metrics.npv(rate, proj, periods_per_year=m)
            out["irr"][b0:b1] = metrics.irr(proj, periods_per_year=m)
            out["hurdle"][b0:b1] = metrics.npv(hurdle, proj, periods_per_year=m)
            if debt is not None:
                cf = flows.cfads
                out["dscr"][b0:b1] = metrics.min_dscr(cf, np.broadcast_to(debt.service, cf.shape))
                ll = metrics.llcr(cf, debt.outstanding, debt.rate, debt.maturity)
                first = int(np.argmax(debt.drawdown[0] > 0))
                out["llcr"][b0:b1] = ll[:, first]
                gross = lender_loss(cf, debt, tail=tail)
                paid = np.zeros_like(gross)
                if guarantee is not None:
                    paid = np.minimum(guarantee.share * gross, guarantee.cap)
                out["loss"][b0:b1] = gross - paid
                out["guar"][b0:b1] = paid
            else:
                for k in ("dscr", "llcr", "loss", "guar"):
                    out[k][b0:b1] = np.nan
            if advance is not None:
                advance(b1 - b0)
    return RiskResult(
        drivers=tuple(drivers),
        values=values,
        npv=out["npv"],
        irr=out["irr"],
        npv_at_hurdle=out["hurdle"],
        min_dscr=out["dscr"],
        llcr=out["llcr"],
        lender_loss=out["loss"],
        guarantee_loss=out["guar"],
        rate=rate,
        hurdle=hurdle,
        seed=seed,
    )


def value_at_risk(loss: np.ndarray, level: float) -> float:
    """Loss not exceeded with probability ``level`` (the ``level`` quantile) [CNY].

    Parameters
    ----------
    loss : numpy.ndarray
        (N,) simulated losses [CNY].
    level : float
        Confidence level [1], e.g. 0.95.

    Returns
    -------
    float
        VaR [CNY] (lower empirical quantile, so it is one of the simulated losses).

    References
    ----------
    Jorion, P. (2007). Value at Risk, 3rd ed., McGraw-Hill, ch. 5.

    Examples
    --------
    >>> value_at_risk(np.arange(100.0), 0.95)
    94.0
    """
    return float(np.quantile(loss, level, method="inverted_cdf"))


def expected_shortfall(loss: np.ndarray, level: float) -> float:
    """Mean loss in the worst ``1 - level`` share of scenarios [CNY].

    Parameters
    ----------
    loss : numpy.ndarray
        (N,) simulated losses [CNY].
    level : float
        Confidence level [1].

    Returns
    -------
    float
        Expected shortfall [CNY].

    Examples
    --------
    >>> expected_shortfall(np.arange(100.0), 0.95)  # mean of 95..99
    97.0
    """
    s = np.sort(loss)
    k = int(np.ceil(level * len(s)))
    return float(s[k:].mean()) if k < len(s) else float(s[-1])


def summary(
    res: RiskResult,
    *,
    percentiles: Sequence[float] = (5, 10, 50, 90, 95),
    levels: Sequence[float] = (0.95, 0.99),
) -> dict[str, Any]:
    """Distribution summary of a simulation.

    Parameters
    ----------
    res : RiskResult
        The simulation.
    percentiles : sequence of float
        Percentiles of NPV and IRR [%].
    levels : sequence of float
        Confidence levels of VaR and expected shortfall [1].

    Returns
    -------
    dict
        ``npv`` and ``irr`` percentiles, ``p_irr_below_hurdle``, ``p_npv_negative``,
        ``share_no_unique_irr``, ``min_dscr`` percentiles and ``p_dscr_below_1``, and for
        ``lender`` and ``guarantee_fund``: ``expected_loss``, ``var``, ``es`` by level and
        ``p_loss``.

    Notes
    -----
    "IRR below the hurdle" uses the IRR where it is unique, and otherwise (no IRR, or several)
    whether NPV at the hurdle is negative — the two agree wherever the IRR is unique and the flow
    conventional.
    """
    fail = np.where(np.isfinite(res.irr), res.irr < res.hurdle, res.npv_at_hurdle < 0)
    finite_irr = res.irr[np.isfinite(res.irr)]

    def pct(x: np.ndarray) -> dict[str, float | None]:
        if x.size == 0:
            return {f"p{p:g}": None for p in percentiles}
        q = np.percentile(x, percentiles)
        return {f"p{p:g}": float(v) for p, v in zip(percentiles, q, strict=True)}

    def losses(x: np.ndarray) -> dict[str, Any]:
        if np.all(np.isnan(x)):
            return {}
        return {
            "expected_loss": float(x.mean()),
            "p_loss": float(np.mean(x > 0)),
            "var": {f"{lv:g}": value_at_risk(x, lv) for lv in levels},
            "es": {f"{lv:g}": expected_shortfall(x, lv) for lv in levels},
        }

    out: dict[str, Any] = {
        "scenarios": int(res.npv.size),
        "seed": res.seed,
        "rate": res.rate,
        "hurdle": res.hurdle,
        "npv": {"mean": float(res.npv.mean()), **pct(res.npv)},
        "irr": pct(finite_irr),
        "p_npv_negative": float(np.mean(res.npv < 0)),
        "p_irr_below_hurdle": float(np.mean(fail)),
        "share_no_unique_irr": float(np.mean(~np.isfinite(res.irr))),
    }
    if not np.all(np.isnan(res.min_dscr)):
        d = res.min_dscr[np.isfinite(res.min_dscr)]
        out["min_dscr"] = pct(d)
        out["p_dscr_below_1"] = float(np.mean(res.min_dscr < 1.0))
        out["llcr"] = pct(res.llcr[np.isfinite(res.llcr)])
        out["lender"] = losses(res.lender_loss)
        out["guarantee_fund"] = losses(res.guarantee_loss)
    return out


def tornado(
    base: ProjectFlows,
    drivers: Sequence[Driver],
    *,
    rate: float,
    swing: float = 0.10,
) -> list[dict[str, Any]]:
    """Sensitivity of NPV and IRR to each driver, one at a time, others at their mode.

    Parameters
    ----------
    base : ProjectFlows
        The base case (1, T) [CNY].
    drivers : sequence of Driver
        The drivers.
    rate : float
        Discount rate [1/yr].
    swing : float
        Relative change of each driver [1] (0.10 = ±10 % of its mode; for a delay whose mode is
        0, ± ``swing`` x its range).

    Returns
    -------
    list of dict
        One row per driver, sorted by NPV swing (largest first): ``driver``, ``target``,
        ``minus``/``plus`` values, ``npv_minus``, ``npv_plus``, ``npv_swing``, ``irr_minus``,
        ``irr_plus``, plus ``npv_low``/``npv_high`` at the ends of its range.

    Notes
    -----
    One-at-a-time (tornado) analysis: :math:`\\Delta_d = NPV(v_d^+) - NPV(v_d^-)`, other
    drivers at their modes.

    References
    ----------
    Eschenbach, T. G. (1992). Spiderplots versus tornado diagrams for sensitivity analysis.
    Interfaces 22(6), 40-46. doi:10.1287/inte.22.6.40.
    """
    modes = np.array([d.mode for d in drivers], dtype=np.float64)
    rows: list[np.ndarray] = [modes]
    for j, d in enumerate(drivers):
        step = swing * (abs(d.mode) if d.mode != 0 else (d.high - d.low))
        for v in (max(d.mode - step, 0.0), d.mode + step, d.low, d.high):
            r = modes.copy()
            r[j] = v
            rows.append(r)
    values = np.array(rows)
    flows = apply_drivers(base, drivers, values).project
    m = base.periods_per_year
    npv = metrics.npv(rate, flows, periods_per_year=m)
    irr = metrics.irr(flows, periods_per_year=m)
    out: list[dict[str, Any]] = []
    for j, d in enumerate(drivers):
        k = 1 + 4 * j
        out.append(
            {
                "driver": d.name,
                "target": d.target,
                "minus": float(values[k, j]),
                "plus": float(values[k + 1, j]),
                "npv_base": float(npv[0]),
                "npv_minus": float(npv[k]),
                "npv_plus": float(npv[k + 1]),
                "npv_swing": float(abs(npv[k + 1] - npv[k])),
                "irr_minus": _num(irr[k]),
                "irr_plus": _num(irr[k + 1]),
                "npv_low": float(npv[k + 2]),
                "npv_high": float(npv[k + 3]),
            }
        )
    out.sort(key=lambda r: -r["npv_swing"])
    return out


def _num(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None


# ---------------------------------------------------------------- one spec, one run


class DriverSpec(BaseModel):
    """A driver as given in a risk spec (see :class:`Driver`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    target: Target
    low: float = Field(ge=0)
    mode: float = Field(ge=0)
    high: float = Field(ge=0)
    distribution: Literal["triangular", "pert"] = "triangular"
    periods: tuple[int, ...] | None = None


class LoanSpec(BaseModel):
    """A senior term loan (see :func:`restora.finance.cashflow.loan_schedule`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    principal: float = Field(gt=0, description="[CNY]")
    rate: float = Field(ge=0, description="[1/period]")
    tenor: int = Field(ge=1, description="repayment periods [period]")
    draw_period: int = Field(0, ge=0)
    grace: int = Field(0, ge=0)
    kind: Literal["annuity", "level"] = "annuity"
    tail: int = Field(0, ge=0, description="periods after maturity to collect arrears")


class GuaranteeSpec(BaseModel):
    """A guarantee fund behind the loan (see :class:`Guarantee`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    share: float = Field(ge=0, le=1)
    cap: float | None = Field(None, ge=0, description="[CNY]; none = no cap")


class RiskSpec(BaseModel):
    """Inputs of a project risk run: base flows, drivers, rates, financing.

    Amounts are [CNY] per period (positive numbers; the engine applies signs), ``revenue``
    fixes the number of periods, and ``opex``, ``capex`` and ``tax`` are a number (every period)
    or a list as long as ``revenue``. ``rate`` and ``hurdle`` are [1/yr].
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    revenue: tuple[float, ...] = Field(min_length=2)
    opex: float | tuple[float, ...] = 0.0
    capex: float | tuple[float, ...] = 0.0
    tax: float | tuple[float, ...] = 0.0
    periods_per_year: int = Field(1, ge=1)
    rate: float = Field(gt=-1)
    hurdle: float = Field(gt=-1)
    drivers: tuple[DriverSpec, ...] = ()
    loan: LoanSpec | None = None
    guarantee: GuaranteeSpec | None = None

    @model_validator(mode="after")
    def _check(self) -> RiskSpec:
        n = len(self.revenue)
        for name in ("opex", "capex", "tax"):
            v = getattr(self, name)
            if isinstance(v, tuple) and len(v) != n:
                raise ValueError(f"{name} has {len(v)} periods, revenue has {n}")
        for d in self.drivers:
            if not d.low <= d.mode <= d.high:
                raise ValueError(f"driver {d.name}: need low <= mode <= high")
            if d.periods is not None and any(not 0 <= p < n for p in d.periods):
                raise ValueError(f"driver {d.name}: periods must lie in 0..{n - 1}")
        if self.guarantee is not None and self.loan is None:
            raise ValueError("a guarantee needs a loan")
        if self.loan is not None:
            end = self.loan.draw_period + self.loan.grace + self.loan.tenor
            if end >= n:
                raise ValueError(f"the loan ends in period {end}, after the last period {n - 1}")
        return self


def run(
    spec: RiskSpec,
    *,
    n: int = 10_000,
    seed: int | None = 1,
    swing: float = 0.10,
    progress: bool = False,
) -> dict[str, Any]:
    """Simulate a :class:`RiskSpec`: the :func:`summary` and the :func:`tornado` table.

    Parameters
    ----------
    spec : RiskSpec
        The project.
    n : int
        Scenarios [1].
    seed : int, optional
        Random seed.
    swing : float
        Tornado swing [1].
    progress : bool
        Show a progress bar.

    Returns
    -------
    dict
        ``summary`` (see :func:`summary`) and ``tornado`` (see :func:`tornado`).
    """
    from restora.finance.cashflow import loan_schedule, project_flows

    base = project_flows(
        spec.revenue, spec.opex, spec.capex, spec.tax, periods_per_year=spec.periods_per_year
    )
    drivers = [Driver(**d.model_dump()) for d in spec.drivers]
    debt = guarantee = None
    tail = 0
    if spec.loan is not None:
        ln = spec.loan
        debt = loan_schedule(
            ln.principal, ln.rate, ln.tenor, base.n_periods,
            draw_period=ln.draw_period, grace=ln.grace, kind=ln.kind,
        )  # fmt: skip
        tail = ln.tail
    if spec.guarantee is not None:
        cap = spec.guarantee.cap
        guarantee = Guarantee(spec.guarantee.share, float("inf") if cap is None else cap)
    res = simulate(
        base, drivers, rate=spec.rate, hurdle=spec.hurdle, n=n, seed=seed, debt=debt,
        guarantee=guarantee, tail=tail, progress=progress,
    )  # fmt: skip
    rows = tornado(base, drivers, rate=spec.rate, swing=swing) if drivers else []
    return {"summary": summary(res), "tornado": rows}
