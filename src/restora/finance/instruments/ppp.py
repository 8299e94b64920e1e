"""PPP / concession (build-operate-maintain-transfer): who pays what, when.

The company builds (construction years, capex partly contributed by the government), operates
and maintains for the concession, then transfers the restored site at no cost. The government
pays an availability payment for the construction cost, scaled by the year's performance
(availability deductions, ``FIN-PPP-AVAIL``), and a usage-linked operating subsidy: operating
cost plus a reasonable profit, less what users paid (``FIN-PPP-USAGE``), following the formula
of the Ministry of Finance's fiscal affordability guideline (财金〔2015〕21号, art. 20).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import model_validator

from restora.finance import metrics
from restora.finance.instruments._spec import InstrumentResult, Spec, quantity

NAME = "ppp"


class PPPSpec(Spec):
    """Inputs of a PPP / concession."""

    capex: list[float] = quantity("construction cost per construction year", "currency/yr")
    government_capex_share: float = quantity(
        "share of capex the government contributes", "1", ge=0, le=1, default=0.0
    )
    operation_years: int = quantity(
        "operation and maintenance years (subsidy period)", "yr", ge=1, le=60
    )
    om_cost: list[float] = quantity(
        "operation and maintenance cost per operation year (one value: every year)", "currency/yr"
    )
    user_fees: list[float] = quantity(
        "fees users pay per operation year (one value: every year)", "currency/yr", default=[0.0]
    )
    performance: list[float] = quantity(
        "availability performance per operation year, 1 = fully available (one value: every year)",
        "1",
        default=[1.0],
    )
    profit_rate: float = quantity("reasonable profit rate (合理利润率)", "1/yr", ge=0, le=1)
    discount_rate: float = quantity("annual discount rate (年度折现率)", "1/yr", ge=0, le=1)
    currency: str = "CNY"

    @model_validator(mode="after")
    def _lengths(self) -> PPPSpec:
        if not self.capex:
            raise ValueError("capex needs at least one construction year")
        for name in ("om_cost", "user_fees", "performance"):
            v = getattr(self, name)
            if len(v) not in (1, self.operation_years):
                raise ValueError(f"{name} must have 1 or operation_years values")
        if any(p < 0 or p > 1 for p in self.performance):
            raise ValueError("performance must lie in [0, 1]")
        return self


def _per_year(v: list[float], n: int) -> np.ndarray:
    a = np.asarray(v, dtype=np.float64)
    return np.full(n, a[0]) if a.size == 1 else a


def availability_payment(
    construction_cost: float, profit_rate: float, discount_rate: float, year: Any, period: int
) -> Any:
    """Availability payment of operation year ``year`` (1-based) [currency/yr].

    Parameters
    ----------
    construction_cost : float
        Construction cost the company financed [currency].
    profit_rate : float
        Reasonable profit rate [1/yr].
    discount_rate : float
        Annual discount rate [1/yr].
    year : int or array_like
        Operation year, 1 first.
    period : int
        Subsidy period [yr].

    Notes
    -----
    .. math:: A_n = C (1 + r) (1 + i)^n / T

    References
    ----------
    Ministry of Finance (2015), 政府和社会资本合作项目财政承受能力论证指引, 财金〔2015〕21号,
    第二十条 (运营补贴支出).

    Examples
    --------
    >>> round(availability_payment(1000.0, 0.06, 0.05, 1, 10), 6)  # 1000*1.06*1.05/10
    111.3
    """
    n = np.asarray(year, dtype=np.float64)
    out = construction_cost * (1.0 + profit_rate) * (1.0 + discount_rate) ** n / period
    return float(out) if np.ndim(out) == 0 else out


def run(spec: PPPSpec) -> InstrumentResult:
    """Year-by-year payments of government, users and company over the concession.

    Parameters
    ----------
    spec : PPPSpec
        Capex [currency/yr], government share [1], operation years, O&M cost and user fees
        [currency/yr], availability performance [1], profit and discount rates [1/yr].

    Returns
    -------
    InstrumentResult
        ``schedule`` per year: phase, capex by payer, availability payment, usage subsidy,
        user fees, O&M cost, what the government and users pay and the company's net flow;
        ``summary``: totals, the government's fiscal commitment in present value, company IRR.

    Notes
    -----
    Operation year :math:`n`: availability :math:`q_n A_n` with performance :math:`q_n`; usage
    subsidy :math:`S_n = \\max(O_n (1 + r) - U_n, 0)`; the company nets
    :math:`q_n A_n + S_n + U_n - O_n` (and pays its share of capex while building).

    References
    ----------
    Ministry of Finance (2015), 财金〔2015〕21号, 第二十条.
    """
    nb, no = len(spec.capex), spec.operation_years
    capex = np.asarray(spec.capex, dtype=np.float64)
    gov_capex = capex * spec.government_capex_share
    co_capex = capex - gov_capex
    om = _per_year(spec.om_cost, no)
    fees = _per_year(spec.user_fees, no)
    perf = _per_year(spec.performance, no)
    years_op = np.arange(1, no + 1)
    avail_full = availability_payment(
        float(co_capex.sum()), spec.profit_rate, spec.discount_rate, years_op, no
    )
    avail = perf * avail_full
    subsidy = np.maximum(om * (1.0 + spec.profit_rate) - fees, 0.0)
    rows: list[dict[str, Any]] = []
    gov: list[float] = []
    users: list[float] = []
    company: list[float] = []
    for t in range(nb + no):
        op = t - nb
        building = op < 0
        c_capex = float(co_capex[t]) if building else 0.0
        g_capex = float(gov_capex[t]) if building else 0.0
        a_pay = 0.0 if building else float(avail[op])
        a_cut = 0.0 if building else float(avail_full[op] - avail[op])
        u_sub = 0.0 if building else float(subsidy[op])
        u_fee = 0.0 if building else float(fees[op])
        o_cost = 0.0 if building else float(om[op])
        g_pays = g_capex + a_pay + u_sub
        c_net = a_pay + u_sub + u_fee - o_cost - c_capex
        rows.append(
            {
                "year": t + 1,
                "phase": "construction"
                if building
                else ("operation" if op < no - 1 else "transfer"),
                "company_capex": c_capex,
                "government_capex": g_capex,
                "availability_payment": a_pay,
                "availability_deduction": a_cut,
                "usage_subsidy": u_sub,
                "user_fees": u_fee,
                "om_cost": o_cost,
                "government_pays": g_pays,
                "users_pay": u_fee,
                "company_net": c_net,
            }
        )
        gov.append(g_pays)
        users.append(u_fee)
        company.append(c_net)
    cflow = np.asarray(company)
    irr = metrics.irr(cflow)
    deductions = float((avail_full - avail).sum())
    flags = []
    if deductions > 0:
        flags.append(f"FIN-PPP-AVAIL: availability deductions of {deductions:,.0f}")
    if np.any(fees > om * (1.0 + spec.profit_rate)):
        flags.append("FIN-PPP-USAGE: user fees exceed cost plus profit in some years (no subsidy)")
    summary = {
        "currency": spec.currency,
        "construction_years": nb,
        "operation_years": no,
        "government_total": float(sum(gov)),
        "government_pv": float(metrics.npv(spec.discount_rate, [0.0, *gov])),
        "users_total": float(sum(users)),
        "company_capex": float(co_capex.sum()),
        "company_net_total": float(cflow.sum()),
        "company_irr": None if np.isnan(irr) else float(irr),
        "availability_deductions": deductions,
        "transfer_year": nb + no,
    }
    return InstrumentResult(NAME, summary, rows, ("FIN-PPP-AVAIL", "FIN-PPP-USAGE"), tuple(flags))
