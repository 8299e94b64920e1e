"""The cash-flow engine: project flows by period, loans, equity flows, delays, monthly/annual.

Every array has shape ``(N, T)``: ``N`` scenarios by ``T`` periods, period 0 being financial
close ("now"), each flow at the end of its period. Annual periods by default; an instrument that
pays monthly works on monthly arrays (:func:`to_monthly`) and :mod:`restora.finance.metrics`
takes ``periods_per_year=12``. Amounts are CNY of the year they fall in (nominal) unless the
caller says otherwise.

Sign convention: money into the project is positive; revenue, opex, capex, tax and debt service
are given as positive amounts and the engine applies their signs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

MONTHS_PER_YEAR = 12  # calendar fact, not a coefficient


def as_scenarios(x: Any, n: int | None = None, t: int | None = None) -> np.ndarray:
    """Broadcast an amount to an (N, T) float array.

    Parameters
    ----------
    x : float or array_like
        Scalar, (T,) or (N, T) amounts [CNY].
    n : int, optional
        Number of scenarios [1] (default: from ``x``, else 1).
    t : int, optional
        Number of periods [1] (default: from ``x``).

    Returns
    -------
    numpy.ndarray
        (N, T) amounts [CNY] (a read-only view when broadcast).
    """
    a = np.asarray(x, dtype=np.float64)
    if a.ndim > 2:
        raise ValueError("amounts must be scalars, (T,) or (N, T) arrays")
    a2 = np.atleast_2d(a)
    rows = n if n is not None else a2.shape[0]
    cols = t if t is not None else a2.shape[1]
    return np.broadcast_to(a2, (rows, cols))


@dataclass(frozen=True)
class ProjectFlows:
    """A project's cash flows by period for ``N`` scenarios.

    Attributes
    ----------
    revenue, opex, capex, tax : numpy.ndarray
        (N, T) positive amounts [CNY] per period.
    periods_per_year : int
        Periods per year [1/yr].
    """

    revenue: np.ndarray
    opex: np.ndarray
    capex: np.ndarray
    tax: np.ndarray
    periods_per_year: int = 1

    @property
    def n_scenarios(self) -> int:
        return int(self.revenue.shape[0])

    @property
    def n_periods(self) -> int:
        return int(self.revenue.shape[1])

    @property
    def cfads(self) -> np.ndarray:
        """Cash flow available for debt service [CNY]: revenue - opex - tax."""
        return self.revenue - self.opex - self.tax

    @property
    def project(self) -> np.ndarray:
        """Unlevered project flow [CNY]: CFADS - capex."""
        return self.cfads - self.capex


def project_flows(
    revenue: Any,
    opex: Any = 0.0,
    capex: Any = 0.0,
    tax: Any = 0.0,
    *,
    periods_per_year: int = 1,
) -> ProjectFlows:
    """Assemble project flows, broadcasting scalars and (T,) profiles to (N, T).

    Parameters
    ----------
    revenue : array_like
        Revenue [CNY] per period, (T,) or (N, T).
    opex : float or array_like
        Operating and maintenance cost [CNY] per period.
    capex : float or array_like
        Capital (restoration works) cost [CNY] per period.
    tax : float or array_like
        Taxes paid [CNY] per period.
    periods_per_year : int
        Periods per year [1/yr].

    Returns
    -------
    ProjectFlows
        The flows as (N, T) arrays [CNY].

    Examples
    --------
    >>> pf = project_flows([0, 50, 50], opex=[0, 10, 10], capex=[80, 0, 0])
    >>> pf.project.tolist()
    [[-80.0, 40.0, 40.0]]
    """
    parts = [np.asarray(x, dtype=np.float64) for x in (revenue, opex, capex, tax)]
    n = max(np.atleast_2d(p).shape[0] for p in parts)
    t = max(p.shape[-1] for p in parts if p.ndim > 0)
    for name, p in zip(("revenue", "opex", "capex", "tax"), parts, strict=True):
        if not np.all(np.isfinite(p)):
            raise ValueError(f"{name} must be finite numbers")
    r, o, c, x = (np.array(as_scenarios(p, n, t)) for p in parts)
    return ProjectFlows(revenue=r, opex=o, capex=c, tax=x, periods_per_year=periods_per_year)


@dataclass(frozen=True)
class DebtSchedule:
    """A loan's schedule by period for ``N`` scenarios (all (N, T) [CNY]).

    Attributes
    ----------
    drawdown : numpy.ndarray
        Principal drawn [CNY].
    interest : numpy.ndarray
        Interest due [CNY].
    repayment : numpy.ndarray
        Principal repaid [CNY].
    outstanding : numpy.ndarray
        Balance at the end of the period, after repayment [CNY].
    rate : float
        Interest rate [1/period].
    maturity : int
        Last period with debt service [period index].
    """

    drawdown: np.ndarray
    interest: np.ndarray
    repayment: np.ndarray
    outstanding: np.ndarray
    rate: float
    maturity: int

    @property
    def service(self) -> np.ndarray:
        """Debt service due [CNY]: interest + repayment."""
        return self.interest + self.repayment


def loan_schedule(
    principal: Any,
    rate: float,
    tenor: int,
    n_periods: int,
    *,
    draw_period: int = 0,
    grace: int = 0,
    kind: Literal["annuity", "level"] = "annuity",
) -> DebtSchedule:
    """Schedule of a term loan drawn in one period and repaid in equal instalments.

    Parameters
    ----------
    principal : float or array_like
        Amount drawn [CNY]; an (N,) array gives one loan per scenario.
    rate : float
        Interest rate [1/period].
    tenor : int
        Number of repayment periods after the grace period [period].
    n_periods : int
        Length of the schedule [period]; must cover the loan.
    draw_period : int
        Period of the drawdown [period index].
    grace : int
        Interest-only periods after the drawdown [period].
    kind : {"annuity", "level"}
        Equal debt service (annuity) or equal principal repayments (level).

    Returns
    -------
    DebtSchedule
        Drawdown, interest, repayment and outstanding balance [CNY].

    Notes
    -----
    Interest of period :math:`t` is :math:`i D_{t-1}` on the balance at the end of the previous
    period. Annuity: service :math:`P\\,i / (1 - (1+i)^{-n})` for :math:`n` periods; level:
    repayment :math:`P / n`.

    References
    ----------
    Yescombe, E. R. (2014). Principles of Project Finance, 2nd ed., Academic Press, §10.5.

    Examples
    --------
    >>> s = loan_schedule(100.0, 0.1, 2, 3)  # 100 * 0.1 / (1 - 1.1**-2) = 57.619 a year
    >>> s.service[0].round(3).tolist()
    [0.0, 57.619, 57.619]
    """
    p = np.atleast_1d(np.asarray(principal, dtype=np.float64))
    first_pay = draw_period + grace + 1
    maturity = draw_period + grace + tenor
    if tenor < 1 or maturity >= n_periods:
        raise ValueError("the loan must be repaid within the schedule (tenor >= 1)")
    n = p.shape[0]
    draw = np.zeros((n, n_periods))
    interest = np.zeros((n, n_periods))
    repay = np.zeros((n, n_periods))
    out = np.zeros((n, n_periods))
    draw[:, draw_period] = p
    balance = p.copy()
    out[:, draw_period] = balance
    if kind not in ("annuity", "level"):
        raise ValueError("kind must be 'annuity' or 'level'")
    payment = p * rate / (1.0 - (1.0 + rate) ** -tenor) if rate != 0 else p / tenor
    for t in range(draw_period + 1, maturity + 1):
        interest[:, t] = rate * balance
        if t >= first_pay:
            principal_t = payment - interest[:, t] if kind == "annuity" else p / tenor
            principal_t = np.minimum(principal_t, balance) if t < maturity else balance
            repay[:, t] = principal_t
            balance = balance - principal_t
        out[:, t] = balance
    return DebtSchedule(
        drawdown=draw,
        interest=interest,
        repayment=repay,
        outstanding=out,
        rate=float(rate),
        maturity=maturity,
    )


def equity_flows(flows: ProjectFlows, debt: DebtSchedule) -> np.ndarray:
    """Flows to equity: project flow plus loan drawdowns minus debt service.

    Parameters
    ----------
    flows : ProjectFlows
        Project flows, (N, T) [CNY].
    debt : DebtSchedule
        The loan, (N, T) or (1, T) [CNY].

    Returns
    -------
    numpy.ndarray
        (N, T) equity flows [CNY].

    Notes
    -----
    :math:`E_t = CFADS_t - Capex_t + Draw_t - (Interest_t + Repayment_t)`.
    """
    return flows.project + debt.drawdown - debt.service


def delay(x: Any, periods: Any) -> np.ndarray:
    """Shift flows later by a (possibly fractional, per-scenario) number of periods.

    Parameters
    ----------
    x : array_like
        (T,) or (N, T) flows [CNY].
    periods : float or array_like
        Delay [period], >= 0; an (N,) array gives one delay per scenario.

    Returns
    -------
    numpy.ndarray
        (N, T) delayed flows [CNY]; what is pushed beyond the last period is dropped (the
        horizon, e.g. a concession, does not move).

    Notes
    -----
    With :math:`d = k + f`, :math:`0 \\le f < 1`:
    :math:`y_t = (1-f)\\,x_{t-k} + f\\,x_{t-k-1}` (linear interpolation between whole shifts).

    Examples
    --------
    >>> delay([0, 10, 10, 10], 1).tolist()
    [[0.0, 0.0, 10.0, 10.0]]
    >>> delay([0, 10, 10, 10], 0.5).tolist()
    [[0.0, 5.0, 10.0, 10.0]]
    """
    a = np.atleast_2d(np.asarray(x, dtype=np.float64))
    d = np.asarray(periods, dtype=np.float64)
    if np.any(d < 0) or not np.all(np.isfinite(d)):
        raise ValueError("delays must be finite and >= 0")
    n = max(a.shape[0], d.size if d.ndim else 1)
    a = np.broadcast_to(a, (n, a.shape[1]))
    d = np.broadcast_to(d.reshape(-1) if d.ndim else d, (n,))
    k = np.floor(d).astype(np.int64)
    f = (d - k)[:, None]
    t = np.arange(a.shape[1])

    def shifted(by: np.ndarray) -> np.ndarray:
        src = t[None, :] - by[:, None]
        ok = src >= 0
        return np.where(ok, np.take_along_axis(a, np.clip(src, 0, None), axis=1), 0.0)

    return (1.0 - f) * shifted(k) + f * shifted(k + 1)


def escalate(x: Any, rate: float, *, periods_per_year: int = 1) -> np.ndarray:
    """Escalate constant-price amounts to nominal ones: :math:`x_t (1+g)^{t/m}`.

    Parameters
    ----------
    x : array_like
        (T,) or (N, T) amounts in period-0 prices [CNY].
    rate : float
        Escalation rate [1/yr].
    periods_per_year : int
        Periods per year [1/yr].

    Returns
    -------
    numpy.ndarray
        (N, T) nominal amounts [CNY].

    Examples
    --------
    >>> escalate([100, 100], 0.02).round(6).tolist()
    [[100.0, 102.0]]
    """
    a = np.atleast_2d(np.asarray(x, dtype=np.float64))
    t = np.arange(a.shape[1]) / periods_per_year
    return a * np.exp(t * np.log1p(rate))


def to_monthly(annual: Any, profile: Any = None) -> np.ndarray:
    """Spread annual amounts over months.

    Parameters
    ----------
    annual : array_like
        (Y,) or (N, Y) amounts per year [CNY].
    profile : array_like, optional
        (12,) weights of the months (normalised to sum 1); default even.

    Returns
    -------
    numpy.ndarray
        (N, 12 Y) amounts per month [CNY]; year ``y`` falls in months ``12y .. 12y+11``.

    Notes
    -----
    Period 0 of an annual array is "now"; the months of year 0 therefore describe the first
    year of the monthly schedule. Totals are preserved: ``to_annual(to_monthly(x)) == x``.
    """
    a = np.atleast_2d(np.asarray(annual, dtype=np.float64))
    w = np.full(MONTHS_PER_YEAR, 1.0 / MONTHS_PER_YEAR) if profile is None else np.asarray(profile)
    if w.shape != (MONTHS_PER_YEAR,) or np.any(w < 0) or w.sum() <= 0:
        raise ValueError("profile must hold 12 non-negative weights")
    w = w / w.sum()
    return (a[:, :, None] * w[None, None, :]).reshape(a.shape[0], -1)


def to_annual(monthly: Any) -> np.ndarray:
    """Sum monthly amounts into years (a short last year is padded with zeros).

    Parameters
    ----------
    monthly : array_like
        (M,) or (N, M) amounts per month [CNY].

    Returns
    -------
    numpy.ndarray
        (N, ceil(M/12)) amounts per year [CNY].
    """
    a = np.atleast_2d(np.asarray(monthly, dtype=np.float64))
    pad = (-a.shape[1]) % MONTHS_PER_YEAR
    if pad:
        a = np.concatenate([a, np.zeros((a.shape[0], pad))], axis=1)
    return a.reshape(a.shape[0], -1, MONTHS_PER_YEAR).sum(axis=2)
