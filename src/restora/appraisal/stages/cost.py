"""Stage 3 — cost: the plans' life-cycle cost, deterministic and by Monte Carlo.

:func:`restora.costing.report.cost_report` prices every work of the plans with the unit-cost
library (CPI-indexed to the plan's price year), adds the tiered indirect costs, escalates to
nominal money by year, and draws unit costs and quantities (triangular/PERT, Gaussian copula
within kinds). The same draws later scale capex in the risk stage, so the cost simulation is
the one source of unit-cost and quantity uncertainty in the appraisal.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from restora.appraisal.project import ProjectSpec
from restora.appraisal.stages.base import StageResult
from restora.appraisal.stages.plan import PlanResult
from restora.costing.lifecycle import Estimate

#: What the costing Monte Carlo draws (the risk stage adds no second draw of these).
COSTING_UNCERTAINTY = ("unit_cost", "quantity")


@dataclass(frozen=True, kw_only=True)
class CostResult(StageResult):
    """The life-cycle cost of a project's plans.

    Attributes
    ----------
    price_year : int
        Price year of the constant-price figures [yr].
    deterministic_cny, p50_cny, p90_cny : float
        Life-cycle cost, deterministic and simulated percentiles [CNY, price year].
    capex_nominal : mapping
        ``{calendar year: cost}`` deterministic, escalated [CNY, nominal].
    capex_factors : numpy.ndarray
        (draws,) simulated total / deterministic total [1], for the risk stage.
    estimates : tuple of Estimate
        Each plan's deterministic estimate (:func:`restora.costing.lifecycle.estimate`): its
        lines by phase and year, for the financing stage's uses of funds.
    report : mapping
        The ``cost estimate`` document (:func:`restora.costing.report.cost_report`).
    """

    name = "cost"

    price_year: int
    deterministic_cny: float
    p50_cny: float
    p90_cny: float
    capex_nominal: Mapping[int, float]
    capex_factors: np.ndarray
    report: Mapping[str, Any]
    estimates: tuple[Estimate, ...] = ()

    def section(self) -> dict[str, Any]:
        out = {k: v for k, v in self.report.items() if k not in ("by_item", "tables_used")}
        out["tornado"] = list(self.report["tornado"])[:10]
        out["by_item_top"] = sorted(
            (
                {"item": k, **v}
                for k, v in self.report["by_item"].items()
                if v.get("deterministic_cny", 0) > 0
            ),
            key=lambda r: -float(r["deterministic_cny"]),
        )[:12]
        total = self.capex_factors * self.deterministic_cny
        counts, edges = np.histogram(total, bins=30)
        out["histogram"] = {"edges_cny": edges.tolist(), "counts": counts.tolist()}
        out["uncertainty_modelled"] = list(COSTING_UNCERTAINTY)
        out["price_basis"] = {
            "basis": "real",
            "price_year": self.price_year,
            "note": "constant prices of the price year; by_year also gives nominal (escalated) "
            "and present values",
        }
        return out


def run(spec: ProjectSpec, plan: PlanResult, *, on: dt.date | str | None = None) -> CostResult:
    """Life-cycle cost with Monte Carlo percentiles (``spec.risk.draws`` draws, ``spec.risk.seed``).

    Parameters
    ----------
    spec : ProjectSpec
        Draws [1] and seed.
    plan : PlanResult
        The plans.
    on : date or str, optional
        Date whose reference tables apply.

    Returns
    -------
    CostResult
    """
    from restora.costing.report import cost_report

    report, estimates, _, draws = cost_report(
        plan.plans, draws=spec.risk.draws, seed=spec.risk.seed, on=on
    )
    det = float(report["total"]["deterministic_cny"])
    total = draws.total.sum(axis=1)
    factors = total / det if det > 0 else np.ones_like(total)
    return CostResult(
        method="deterministic life-cycle estimate + Monte Carlo on unit costs and "
        "quantities (triangular/PERT, Gaussian copula within kinds), tiered indirect costs",
        price_year=int(report["price_year"]),
        deterministic_cny=det,
        p50_cny=float(report["total"]["p50_cny"]),
        p90_cny=float(report["total"]["p90_cny"]),
        capex_nominal={int(r["year"]): float(r["nominal_cny"]) for r in report["by_year"]},
        capex_factors=factors,
        report=report,
        estimates=tuple(estimates),
        tables=tuple(report["tables_used"]),
    )
