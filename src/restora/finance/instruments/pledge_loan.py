"""Loan pledged on environmental or expected-revenue rights (碳汇增量、指标收益权质押贷款).

The rights (a carbon-sink increment, land-quota income …) are valued as the present value of
their expected revenue; the bank lends at most that value times a loan-to-value haircut
(``FIN-PLEDGE-CAPACITY``). Over the tenor two covenants are tested each year: the debt-service
coverage ratio against a floor (``FIN-PLEDGE-DSCR``) and the loan-to-value ratio, outstanding
debt over the remaining value of the rights, against a ceiling (``FIN-PLEDGE-LTV``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from pydantic import Field, model_validator

from restora.finance import metrics
from restora.finance.instruments._amortise import Amortisation, schedule
from restora.finance.instruments._spec import InstrumentResult, Spec, quantity
from restora.revenue.streams import RevenueStream

NAME = "pledge-loan"
#: The right a lender takes over each kind of revenue stream (others pledge as "other").
#: Stream kinds whose money cannot be pledged (fiscal funds granted for the works).
NOT_PLEDGEABLE = ("subsidy",)
RIGHT_OF_STREAM = {
    "carbon": "carbon_sink",
    "land_quota": "land_quota",
    "farmland_quota": "land_quota",
}


class PledgedRight(Spec):
    """One pledged right and the revenue expected from it, year 1 first."""

    name: str
    kind: str = Field("other", description="carbon_sink, land_quota or other")
    revenue: list[float] = quantity("expected revenue per year, year 1 first", "currency/yr")


class PledgeLoanSpec(Spec):
    """Inputs of a pledge loan."""

    rights: list[PledgedRight] = Field(min_length=1)
    valuation_rate: float = quantity("discount rate valuing the rights", "1/yr", ge=0, le=1)
    ltv: float = quantity("loan-to-value haircut at origination", "1", gt=0, le=1)
    requested: float | None = quantity("amount asked for", "currency", gt=0, default=None)
    interest_rate: float = quantity("loan interest rate", "1/yr", ge=0, le=1)
    tenor_years: int = quantity("tenor", "yr", ge=1, le=50)
    grace_years: int = quantity("interest-only years at the start", "yr", ge=0, default=0)
    amortisation: Amortisation = "annuity"
    cfads: list[float] | None = quantity(
        "cash flow available for debt service per year (default: the rights' revenue)",
        "currency/yr",
        default=None,
    )
    min_dscr: float = quantity("DSCR covenant floor", "1", gt=0)
    max_ltv: float | None = quantity(
        "LTV covenant ceiling during the tenor (default: the origination LTV)",
        "1",
        gt=0,
        default=None,
    )
    dsra_months: float = quantity(
        "debt-service reserve the lender requires: months of the next year's debt service",
        "month",
        ge=0,
        le=24,
        default=0.0,
    )
    arrangement_fee_rate: float = quantity(
        "arrangement fee paid at drawdown, share of the amount lent", "1", ge=0, le=0.1, default=0.0
    )
    currency: str = "CNY"

    @model_validator(mode="after")
    def _lengths(self) -> PledgeLoanSpec:
        if self.grace_years >= self.tenor_years:
            raise ValueError("grace years must be fewer than the tenor")
        if self.cfads is not None and len(self.cfads) < self.tenor_years:
            raise ValueError("cfads must cover every year of the tenor")
        return self


def rights_value(revenue: Any, rate: float) -> np.ndarray:
    """Value of the pledged rights at the end of each year: PV of the revenue still to come.

    Parameters
    ----------
    revenue : array_like
        (T,) expected revenue, year 1 first [currency/yr].
    rate : float
        Valuation discount rate [1/yr].

    Returns
    -------
    numpy.ndarray
        (T + 1,) value at the end of years 0..T [currency]; the last is 0.

    Notes
    -----
    .. math:: V_t = \\sum_{u=t+1}^{T} R_u (1+d)^{-(u-t)}.

    Examples
    --------
    >>> rights_value([110.0, 121.0], 0.1).round(6).tolist()  # V0 = 100 + 100, V1 = 110
    [200.0, 110.0, 0.0]
    """
    r = np.asarray(revenue, dtype=np.float64)
    out = np.zeros(r.size + 1)
    for t in range(r.size - 1, -1, -1):
        out[t] = (out[t + 1] + r[t]) / (1.0 + rate)
    return out


def run(spec: PledgeLoanSpec) -> InstrumentResult:
    """Loan capacity, amortisation schedule and covenant tests of a pledge loan.

    Parameters
    ----------
    spec : PledgeLoanSpec
        Rights and their revenue [currency/yr], valuation rate [1/yr], LTV [1], loan terms,
        CFADS [currency/yr] and covenants [1].

    Returns
    -------
    InstrumentResult
        ``summary``: rights value, capacity, amount lent, minimum DSCR, maximum LTV, breaches;
        ``schedule``: per year interest, principal, debt service, CFADS, DSCR, remaining rights
        value, LTV and breach flags.

    Notes
    -----
    Capacity :math:`L_{max} = \\lambda V_0`; amount :math:`L = \\min(L_{req}, L_{max})`.
    :math:`DSCR_t = CFADS_t / (I_t + P_t)`, breach when below the floor;
    :math:`LTV_t = D_t / V_t`, breach when above the ceiling (with :math:`D_t > 0`).

    References
    ----------
    Yescombe, E. R. (2014). *Principles of Project Finance*, 2nd ed., §12.3 (cover ratios);
    People's Bank of China and CBIRC practice on pledges of carbon-emission and
    income rights (loan = appraised value × pledge rate).
    """
    horizon = max(spec.tenor_years, max(len(r.revenue) for r in spec.rights))
    revenue = np.zeros(horizon)
    for r in spec.rights:
        revenue[: len(r.revenue)] += np.asarray(r.revenue, dtype=np.float64)
    value = rights_value(revenue, spec.valuation_rate)
    capacity = spec.ltv * value[0]
    amount = capacity if spec.requested is None else min(spec.requested, capacity)
    codes = ["FIN-PLEDGE-CAPACITY", "FIN-PLEDGE-DSCR", "FIN-PLEDGE-LTV"]
    flags: list[str] = []
    if spec.requested is not None and spec.requested > capacity:
        flags.append(
            f"FIN-PLEDGE-CAPACITY: requested {spec.requested:,.0f} exceeds capacity "
            f"{capacity:,.0f}; lent {amount:,.0f}"
        )
    n = spec.tenor_years
    interest, principal, outstanding = schedule(
        amount, spec.interest_rate, n, spec.amortisation, spec.grace_years
    )
    debt_service = interest + principal
    cfads = np.asarray(spec.cfads[:n] if spec.cfads is not None else revenue[:n], dtype=float)
    dscr = metrics.dscr(cfads, debt_service)
    v_end = value[1 : n + 1]
    with np.errstate(divide="ignore", invalid="ignore"):
        ltv = np.where(outstanding > 0, outstanding / np.where(v_end > 0, v_end, np.nan), np.nan)
    ltv = np.where((outstanding > 0) & (v_end <= 0), np.inf, ltv)
    ceiling = spec.max_ltv if spec.max_ltv is not None else spec.ltv
    dscr_breach = ~np.isnan(dscr) & (dscr < spec.min_dscr)
    ltv_breach = ~np.isnan(ltv) & (ltv > ceiling)
    rows = []
    for t in range(n):
        rows.append(
            {
                "year": t + 1,
                "interest": float(interest[t]),
                "principal": float(principal[t]),
                "debt_service": float(debt_service[t]),
                "outstanding_end": float(outstanding[t]),
                "cfads": float(cfads[t]),
                "dscr": None if np.isnan(dscr[t]) else float(dscr[t]),
                "rights_value_end": float(v_end[t]),
                "ltv": None if np.isnan(ltv[t]) else float(ltv[t]),
                "dscr_breach": bool(dscr_breach[t]),
                "ltv_breach": bool(ltv_breach[t]),
            }
        )
        if dscr_breach[t]:
            flags.append(f"FIN-PLEDGE-DSCR: year {t + 1} DSCR {dscr[t]:.3f} < {spec.min_dscr}")
        if ltv_breach[t]:
            flags.append(f"FIN-PLEDGE-LTV: year {t + 1} LTV {ltv[t]:.3f} > {ceiling}")
    summary = {
        "currency": spec.currency,
        "rights_value": float(value[0]),
        "capacity": float(capacity),
        "amount": float(amount),
        "total_interest": float(interest.sum()),
        "min_dscr": metrics.min_dscr(cfads, debt_service),
        "max_ltv": float(np.nanmax(ltv)) if np.any(~np.isnan(ltv)) else None,
        "dscr_breach_years": [int(t) + 1 for t in np.flatnonzero(dscr_breach)],
        "ltv_breach_years": [int(t) + 1 for t in np.flatnonzero(ltv_breach)],
        "covenants_met": not (dscr_breach.any() or ltv_breach.any()),
    }
    return InstrumentResult(NAME, summary, rows, tuple(codes), tuple(flags))


def rights_from_streams(
    streams: Sequence[RevenueStream], first_year: int, years: int
) -> list[dict[str, Any]]:
    """The pledgeable rights of a project's streams, as :class:`PledgedRight` mappings.

    Only unrestricted income of the project can be pledged: earmarked money belongs to its
    account, and subsidies (:data:`NOT_PLEDGEABLE`) are fiscal funds granted for the works, not
    income a lender can take over (财政资金不得用于质押担保); each
    stream's revenue of calendar years ``first_year … first_year + years - 1`` becomes the
    right's revenue of loan years 1 … ``years``; streams with no revenue in that window are
    left out.

    Parameters
    ----------
    streams : sequence of RevenueStream
        The project's streams (revenue [CNY] by calendar year).
    first_year : int
        Calendar year of loan year 1 [yr].
    years : int
        Loan years to cover [yr].

    Returns
    -------
    list of dict
        ``{"name", "kind", "revenue": [CNY per loan year]}``; ``kind`` from
        :data:`RIGHT_OF_STREAM`.

    Examples
    --------
    >>> s = RevenueStream("碳汇", "carbon", np.array([2027, 2028]), np.ones(2), "tCO2e",
    ...     np.ones(2), np.array([5.0, 6.0]), np.zeros(2), np.zeros(2))
    >>> rights_from_streams([s], 2028, 2)
    [{'name': '碳汇', 'kind': 'carbon_sink', 'revenue': [6.0, 0.0]}]
    """
    out: dict[str, np.ndarray] = {}
    kind: dict[str, str] = {}
    for s in streams:
        if s.earmark is not None or s.kind in NOT_PLEDGEABLE:
            continue
        v = out.setdefault(s.name, np.zeros(years))
        kind[s.name] = RIGHT_OF_STREAM.get(s.kind, "other")
        for y, r in zip(s.years, s.revenue, strict=True):
            if first_year <= int(y) < first_year + years:
                v[int(y) - first_year] += float(r)
    return [
        {"name": k, "kind": kind[k], "revenue": v.tolist()} for k, v in out.items() if np.any(v > 0)
    ]


def rights_from_registry(
    pledged: Sequence[Mapping[str, Any]],
    prices: Mapping[str, float],
    sale_year: int,
    years: int,
) -> list[dict[str, Any]]:
    """Pledge-loan rights of blocks pledged on the registry, valued at a price per unit.

    Each pledged block (restora.store.registry.collateral's ``pledged``: ``serial``,
    ``unit_type``, ``right``, ``amount`` in the unit's measure) becomes a right whose revenue
    is its amount × the price of its unit type [CNY per t CO2e, per 亩 …], received in loan
    year ``sale_year`` (1-based) — the year the lender can sell the block if it enforces the
    pledge — and nothing in the other years of ``years``.

    Raises
    ------
    InputError
        A unit type without a price (``prices``), or a sale year outside the loan.

    Examples
    --------
    >>> b = {"serial": "CN-CLQ-430524-P-1-2026-1-1235", "unit_type": "CLQ",
    ...      "right": "land_quota", "amount": 12.35}
    >>> rights_from_registry([b], {"CLQ": 200000.0}, 2, 3)[0]["revenue"]
    [0.0, 2470000.0, 0.0]
    """
    from restora.errors import InputError

    if not 1 <= sale_year <= years:
        raise InputError(f"loan year {sale_year} is not within 1-{years}", field="sale_year")
    out = []
    for b in pledged:
        price = prices.get(str(b["unit_type"]))
        if price is None:
            raise InputError(f"no price for {b['unit_type']}", field="prices")
        revenue = [0.0] * years
        revenue[sale_year - 1] = float(b["amount"]) * float(price)
        out.append({"name": str(b["serial"]), "kind": str(b["right"]), "revenue": revenue})
    return out
