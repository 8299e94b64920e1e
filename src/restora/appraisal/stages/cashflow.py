"""Stage 6 — cash flows: the project's flows by period, NPV, IRR and payback.

Period 0 is the project's ``start_year``; each flow falls at the end of its period; money is
nominal CNY (costs escalated from their price year by the costing assumptions). Earmarked
proceeds (surplus earth and stone → the mine's restoration account) are shown beside the flows,
not in them; tax is not modelled.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from restora.appraisal.project import ProjectSpec
from restora.appraisal.stages.base import NOMINAL, StageResult
from restora.appraisal.stages.cost import CostResult
from restora.appraisal.stages.revenue import RevenueResult
from restora.finance.cashflow import ProjectFlows
from restora.finance.risk import ContingentFlow


@dataclass(frozen=True, kw_only=True)
class CashflowResult(StageResult):
    """The project's cash flows (one scenario, the base case).

    Attributes
    ----------
    years : numpy.ndarray
        (T,) calendar year of each period [yr].
    flows : ProjectFlows
        (1, T) revenue, opex, capex [CNY, nominal] (:func:`restora.finance.cashflow.project_flows`).
    revenue_by_stream : mapping
        ``{stream name: (T,) unrestricted revenue [CNY]}``; sums to ``flows.revenue``
        (:func:`restora.finance.risk.revenue_by_stream`).
    contingent : tuple of ContingentFlow
        Payments made only with a probability (in the flows at their expected value).
    earmarked : numpy.ndarray
        (T,) earmarked proceeds [CNY], outside the flows.
    discount_rate, hurdle_rate : float
        [1/yr].
    npv_cny : float
        NPV at the discount rate [CNY] (:func:`restora.finance.metrics.npv`).
    irr, payback_years, discounted_payback_years : float or None
        [1/yr], [yr], [yr]; ``None`` where not defined (IRR: none or several).
    revenue_outside_horizon_cny, capex_outside_horizon_cny : float
        Money that falls outside periods 0 … H [CNY].
    """

    name = "cashflow"

    years: np.ndarray
    flows: ProjectFlows
    revenue_by_stream: Mapping[str, np.ndarray]
    contingent: tuple[ContingentFlow, ...]
    earmarked: np.ndarray
    discount_rate: float
    hurdle_rate: float
    npv_cny: float
    irr: float | None
    payback_years: float | None
    discounted_payback_years: float | None
    revenue_outside_horizon_cny: float
    capex_outside_horizon_cny: float

    @property
    def project_flow(self) -> np.ndarray:
        """(T,) unlevered project flow [CNY]."""
        return self.flows.project[0]  # type: ignore[no-any-return]

    def section(self) -> dict[str, Any]:
        f = self.flows
        proj = self.project_flow
        cum = np.cumsum(proj)
        rows = [
            {
                "period": t,
                "year": int(self.years[t]),
                "revenue_cny": float(f.revenue[0, t]),
                "opex_cny": float(f.opex[0, t]),
                "capex_cny": float(f.capex[0, t]),
                "cfads_cny": float(f.cfads[0, t]),
                "project_flow_cny": float(proj[t]),
                "cumulative_cny": float(cum[t]),
                "earmarked_cny": float(self.earmarked[t]),
            }
            for t in range(self.years.size)
        ]
        return {
            "discount_rate": self.discount_rate,
            "hurdle_rate": self.hurdle_rate,
            "npv_cny": self.npv_cny,
            "irr": self.irr,
            "payback_years": self.payback_years,
            "discounted_payback_years": self.discounted_payback_years,
            "total_capex_cny": float(f.capex.sum()),
            "total_revenue_cny": float(f.revenue.sum()),
            "revenue_outside_horizon_cny": self.revenue_outside_horizon_cny,
            "capex_outside_horizon_cny": self.capex_outside_horizon_cny,
            "rows": rows,
            "price_basis": dict(NOMINAL),
        }


def _finite(x: float) -> float | None:
    return None if math.isnan(x) else float(x)


def run(spec: ProjectSpec, cost: CostResult, revenue: RevenueResult) -> CashflowResult:
    """Project cash flows by year (period 0 = start year), NPV, IRR, payback.

    Parameters
    ----------
    spec : ProjectSpec
        ``start_year``, ``horizon_years`` [yr], ``discount_rate`` and ``hurdle_rate`` [1/yr],
        ``opex_cny_per_yr`` [CNY/yr] (from the first year with income of the after-use:
        revenue of a stream other than a subsidy).
    cost : CostResult
        ``capex_nominal`` {year: CNY}.
    revenue : RevenueResult
        The streams by year [CNY].

    Returns
    -------
    CashflowResult

    Notes
    -----
    :math:`CF_t = R_t - O_t - C_t`, :math:`NPV = \\sum_{t=0}^{H} CF_t / (1 + r)^t`.
    """
    from restora.finance import metrics
    from restora.finance.cashflow import project_flows
    from restora.finance.risk import revenue_by_stream

    rate, hurdle = spec.rates
    n = spec.horizon_years + 1
    y0 = spec.start_year
    years = np.arange(y0, y0 + n)
    capex = np.zeros(n)
    capex_outside = 0.0
    for year, v in cost.capex_nominal.items():
        if y0 <= year < y0 + n:
            capex[year - y0] += v
        else:
            capex_outside += v
    by_stream, contingent = revenue_by_stream(revenue.streams, y0, n)
    earmarked = np.zeros(n)
    outside = 0.0
    for s in revenue.streams:
        sy = s.years.astype(int)
        inside = (sy >= y0) & (sy < y0 + n)
        if s.earmark is not None:
            np.add.at(earmarked, sy[inside] - y0, s.revenue[inside])
        else:
            outside += float(s.revenue[~inside].sum())
    rev = np.sum(list(by_stream.values()), axis=0) if by_stream else np.zeros(n)
    kinds = {st.name: st.kind for st in revenue.streams}
    opex = np.zeros(n)
    if spec.opex_cny_per_yr > 0:
        # operating cost starts with the after-use's own income, not with a grant for the works
        earned = sum(
            (v for name, v in by_stream.items() if kinds.get(name) != "subsidy"), np.zeros(n)
        )
        first = int(np.flatnonzero(earned > 0)[0]) if np.any(earned > 0) else n
        opex[first:] = spec.opex_cny_per_yr
    flows = project_flows(rev, opex, capex)
    proj = flows.project[0]
    return CashflowResult(
        method="nominal project flows: unrestricted revenue − opex − life-cycle cost "
        "(escalated); earmarked proceeds shown apart (restoration account), tax not modelled",
        years=years,
        flows=flows,
        revenue_by_stream=by_stream,
        contingent=contingent,
        earmarked=earmarked,
        discount_rate=rate,
        hurdle_rate=hurdle,
        npv_cny=float(metrics.npv(rate, proj)),
        irr=_finite(float(metrics.irr(proj))),
        payback_years=_finite(float(metrics.payback(proj))),
        discounted_payback_years=_finite(float(metrics.discounted_payback(rate, proj))),
        revenue_outside_horizon_cny=outside,
        capex_outside_horizon_cny=capex_outside,
    )
