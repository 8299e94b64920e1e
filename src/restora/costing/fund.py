"""The mine geological-environment restoration fund (矿山地质环境治理恢复基金).

Since 2017 (国发〔2017〕29号, 财建〔2017〕638号) a producing mine books its estimated restoration
cost and amortises it over the mine life by share of production into a dedicated account,
spent according to the plan. This module projects the account.

Rule ``production_share`` (national, rule code FUND-CN-2017-PRODSHARE):

.. math:: a_t = U_t \\; \\frac{o_t}{R_t}, \\qquad U_t = L_t - B_t

where :math:`o_t` is the year's output [t], :math:`R_t` the reserves remaining at the start of
the year [t], :math:`L_t` the restoration liability still to be spent (estimate minus draws so
far) and :math:`B_t` the account balance at the start of the year, so :math:`U_t` is the
liability not yet provided for ("remaining liability" of the rule). Without draws and with a
fixed estimate :math:`L`, :math:`a_t = L\\,o_t/R_0`: the accruals sum to :math:`L` when the
reserves are exhausted. Rule ``revenue_rate`` (a province's rule): :math:`a_t = r\\,S_t` with
sales revenue :math:`S_t`.

Sufficiency ratio :math:`s_t = B_t / L_t` (P50 and P90 liabilities); a warning when the
projected ratio at the end of the production plan is under 1.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from restora import refdata
from restora.errors import InputError

ACCRUAL_RULES = "costing/fund/accrual-rules"


@dataclass(frozen=True)
class AccrualRule:
    """A fund accrual rule from reference data."""

    method: str
    rule_code: str
    rate: float | None = None
    provenance: dict[str, Any] = field(default_factory=dict)


def load_rule(on: dt.date | str | None = None, region: str | None = None) -> AccrualRule:
    """The accrual rule in force for a region (a province's rule, else the national one)."""
    t = refdata.get(ACCRUAL_RULES, on=on, region=region)
    d = t.data
    method = str(d.get("method"))
    if method not in ("production_share", "revenue_rate"):
        raise InputError(f"unknown accrual method {method!r}", file=t.origin, field="method")
    rate = d.get("rate")
    if method == "revenue_rate" and rate is None:
        raise InputError("revenue_rate needs a rate", file=t.origin, field="rate")
    return AccrualRule(
        method=method,
        rule_code=str(d.get("rule_code", method)),
        rate=None if rate is None else float(rate),
        provenance=t.provenance(),
    )


@dataclass(frozen=True)
class FundProjection:
    """The projected ledger and its verdict."""

    schedule: pd.DataFrame
    liability_p50: float
    liability_p90: float
    final_sufficiency_p50: float
    final_sufficiency_p90: float
    warnings: list[str]
    rule: AccrualRule


def project_fund(
    *,
    years: np.ndarray | list[int],
    output_t: np.ndarray | list[float],
    reserves_t: float,
    liability_p50: float,
    liability_p90: float | None = None,
    opening_balance: float = 0.0,
    spent_to_date: float = 0.0,
    draws: np.ndarray | list[float] | None = None,
    revenue: np.ndarray | list[float] | None = None,
    basis: str = "p50",
    rule: AccrualRule | None = None,
) -> FundProjection:
    """Project the fund account year by year.

    Parameters
    ----------
    years : array of int
        Calendar years of the production plan.
    output_t : array
        Planned output per year [t].
    reserves_t : float
        Recoverable reserves remaining at the start of the first year [t].
    liability_p50, liability_p90 : float
        Estimated restoration cost (total life-cycle, constant CNY) at P50 and P90 [CNY];
        P90 defaults to P50.
    opening_balance : float
        Account balance at the start of the first year [CNY].
    spent_to_date : float
        Restoration already paid from the account before the first year [CNY].
    draws : array, optional
        Planned spending from the account per year [CNY] (restoration works done).
    revenue : array, optional
        Sales revenue per year [CNY] (for the ``revenue_rate`` rule).
    basis : {"p50", "p90"}
        Which liability the company accrues on.
    rule : AccrualRule, optional
        Default: the national production-share rule.

    Returns
    -------
    FundProjection
        ``schedule`` columns: year, output_t, reserves_start_t, liability_remaining_cny,
        unfunded_cny, accrual_cny, draw_cny, paid_from_account_cny, shortfall_cny,
        balance_end_cny, sufficiency_p50, sufficiency_p90 (balance at year end over the
        liability still to be spent). A draw larger than the balance is paid from the account
        as far as it goes; the rest is a shortfall (warning FUND-SHORTFALL).
    """
    yrs = np.asarray(years, dtype=int)
    out = np.asarray(output_t, dtype=float)
    n = len(yrs)
    if len(out) != n:
        raise InputError("output_t must have one value per year", field="output_t")
    if (out < 0).any():
        raise InputError("output cannot be negative", field="output_t")
    if out.sum() > reserves_t * (1 + 1e-9):
        raise InputError(
            f"planned output {out.sum():,.0f} t exceeds the reserves {reserves_t:,.0f} t",
            field="output_t",
        )
    dr = np.zeros(n) if draws is None else np.asarray(draws, dtype=float)
    rule = rule or AccrualRule("production_share", "FUND-CN-2017-PRODSHARE")
    l90 = liability_p50 if liability_p90 is None else liability_p90
    liab = {"p50": liability_p50, "p90": l90}
    if basis not in liab:
        raise InputError("basis must be p50 or p90", field="basis")
    if rule.method == "revenue_rate" and revenue is None:
        raise InputError("the revenue_rate rule needs revenue per year", field="revenue")
    rev = None if revenue is None else np.asarray(revenue, dtype=float)
    bal = opening_balance
    spent = spent_to_date
    reserves = reserves_t
    rows = []
    for i in range(n):
        remaining = max(liab[basis] - spent, 0.0)
        unfunded = max(remaining - bal, 0.0)
        if rule.method == "production_share":
            accrual = unfunded * out[i] / reserves if reserves > 0 else 0.0
        else:
            assert rev is not None and rule.rate is not None
            accrual = rule.rate * rev[i]
        # works are paid from the account as far as it goes; the rest is a shortfall the
        # company pays from other money (the work is done either way)
        paid = min(dr[i], bal + accrual)
        shortfall = dr[i] - paid
        bal = bal + accrual - paid
        spent += dr[i]
        rows.append(
            {
                "year": int(yrs[i]),
                "output_t": out[i],
                "reserves_start_t": reserves,
                "liability_remaining_cny": remaining,
                "unfunded_cny": unfunded,
                "accrual_cny": accrual,
                "draw_cny": dr[i],
                "paid_from_account_cny": paid,
                "shortfall_cny": shortfall,
                "balance_end_cny": bal,
                "sufficiency_p50": _ratio(bal, liab["p50"] - spent),
                "sufficiency_p90": _ratio(bal, l90 - spent),
            }
        )
        reserves -= out[i]
    sched = pd.DataFrame(rows)
    f50 = float(sched["sufficiency_p50"].iloc[-1]) if n else _ratio(bal, liability_p50 - spent)
    f90 = float(sched["sufficiency_p90"].iloc[-1]) if n else _ratio(bal, l90 - spent)
    warnings = []
    short = sched["shortfall_cny"] if n else pd.Series(dtype=float)
    if n and (short > 1e-6).any():
        first = int(sched.loc[short > 1e-6, "year"].iloc[0])
        warnings.append(
            f"FUND-SHORTFALL: planned restoration spending exceeds the account balance by "
            f"{short.sum():,.0f} CNY in total (first in {first})"
        )
    for name, val in (("P50", f50), ("P90", f90)):
        if val < 1.0 - 1e-9:
            warnings.append(
                f"FUND-SUFFICIENCY: at the current production plan the account covers "
                f"{val:.0%} of the {name} remaining liability at the end of the plan "
                f"({yrs[-1] if n else '-'})"
            )
    return FundProjection(sched, liability_p50, l90, f50, f90, warnings, rule)


def plan_draws(
    years: np.ndarray | list[int], by_year_real: dict[int, float], liability: float
) -> np.ndarray:
    """Planned spending per production year [CNY], from a plan's yearly cost profile.

    Parameters
    ----------
    years : array of int
        Calendar years of the production plan.
    by_year_real : mapping year → CNY
        The plan's deterministic constant-price cost per calendar year.
    liability : float
        The liability the account is built for (P50 or P90) [CNY]; the profile is scaled so
        that it sums to it: draw_t = R_t · L / Σ R.

    Returns
    -------
    ndarray
        Draws for the given years (0 for years without works; works after the last
        production year are not drawn within the projection).
    """
    total = sum(by_year_real.values())
    k = liability / total if total > 0 else 0.0
    return np.array([by_year_real.get(int(y), 0.0) * k for y in years])


def _ratio(balance: float, liability: float) -> float:
    if liability <= 0.01:  # nothing (within a cent) left to cover
        return float("inf") if balance > 0.01 else 1.0
    return balance / liability
