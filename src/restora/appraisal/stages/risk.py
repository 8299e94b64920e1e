"""Stage 8 — risk: Monte Carlo of NPV and IRR, and of the pledge loan's cover and losses.

Capex in scenario ``n`` is scaled by the cost simulation's draw ``n`` (same draws, same seed):
the costing Monte Carlo is the one source of unit-cost and quantity uncertainty. The project's
drivers act on what it does not model (revenue streams, opex, delays, and capex risks outside
the costed plan).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from restora.appraisal.project import ProjectSpec
from restora.appraisal.stages.base import NOMINAL, StageResult
from restora.appraisal.stages.cashflow import CashflowResult
from restora.appraisal.stages.cost import CostResult
from restora.appraisal.stages.financing import FinancingResult


@dataclass(frozen=True, kw_only=True)
class RiskResult(StageResult):
    """The simulated distribution of the project's outcomes.

    Attributes
    ----------
    draws : int
        Scenarios [1].
    summary : mapping
        NPV [CNY] and IRR [1/yr] percentiles, P(NPV < 0), P(IRR < hurdle), DSCR [1] and
        lenders' loss [CNY] where there is a loan (:func:`restora.finance.risk.summary`).
    npv : numpy.ndarray
        (draws,) NPV of each scenario [CNY].
    tornado : tuple of mapping
        One-at-a-time sensitivity of NPV [CNY] to each driver (:func:`restora.finance.risk.tornado`).
    drivers : tuple of mapping
        The drivers as given in the project file.
    uncertainty_sources : tuple of mapping
        The sources of capex uncertainty and the model that draws each
        (:func:`restora.finance.risk.capex_sources`).
    contingent : tuple of mapping
        The payments drawn as Bernoulli events: name, stream, year, amount [CNY], probability.
    """

    name = "risk"

    draws: int
    summary: Mapping[str, Any]
    npv: np.ndarray
    tornado: tuple[Mapping[str, Any], ...] = ()
    drivers: tuple[Mapping[str, Any], ...] = ()
    uncertainty_sources: tuple[Mapping[str, Any], ...] = ()
    contingent: tuple[Mapping[str, Any], ...] = ()

    def section(self) -> dict[str, Any]:
        counts, edges = np.histogram(self.npv, bins=40)
        return {
            "draws": self.draws,
            "drivers": [dict(d) for d in self.drivers],
            "summary": dict(self.summary),
            "npv_histogram": {"edges_cny": edges.tolist(), "counts": counts.tolist()},
            "tornado": [dict(t) for t in self.tornado],
            "uncertainty_sources": [dict(u) for u in self.uncertainty_sources],
            "contingent": [dict(c) for c in self.contingent],
            "price_basis": dict(NOMINAL),
        }


def risk_seed(seed: int) -> int:
    """The seed of the cash-flow draws: a child of the project's seed, the cost draws' sibling.

    The cost simulation draws from ``default_rng(seed)``; drawing the drivers from the same
    stream would tie each scenario's driver values to its cost draw. The project's one seed is
    split (``numpy.random.SeedSequence.spawn``) so the two are independent and still
    reproducible.

    Examples
    --------
    >>> risk_seed(28) == risk_seed(28) != risk_seed(29)
    True
    """
    child = np.random.SeedSequence(seed).spawn(2)[1]
    return int(child.generate_state(1)[0])


def run(
    spec: ProjectSpec,
    cost: CostResult,
    cashflow: CashflowResult,
    financing: FinancingResult,
    *,
    file: str | None = None,
    on: dt.date | str | None = None,
) -> RiskResult:
    """Monte Carlo of NPV/IRR (and the pledge loan's DSCR and lenders' loss where there is one).

    Parameters
    ----------
    spec : ProjectSpec
        ``risk``: draws [1], seed, drivers; ``discount_rate``, ``hurdle_rate`` [1/yr].
    cost : CostResult
        ``capex_factors`` (draws,) [1].
    cashflow : CashflowResult
        The base case flows [CNY].
    financing : FinancingResult
        The pledge loan's schedule, if any.
    file : str, optional
        The project file, for error messages.
    on : date or str, optional
        Date whose reference tables apply.

    Returns
    -------
    RiskResult
    """
    from restora.errors import InputError
    from restora.finance import risk

    rate, hurdle = spec.rates
    years = {int(y): t for t, y in enumerate(cashflow.years)}
    drivers = [
        risk.Driver(
            d.name,
            d.target,
            d.low,
            d.mode,
            d.high,
            d.distribution,
            periods=tuple(years[y] for y in d.years) if d.years else None,
            streams=tuple(d.streams) if d.streams else None,
            covers=tuple(d.covers) if d.covers else None,
        )
        for d in spec.risk.drivers
    ]
    streams = dict(cashflow.revenue_by_stream) or None  # None: a project without revenue
    try:
        sources, table = risk.capex_sources(drivers, costing=True, on=on)
        res = risk.simulate(
            cashflow.flows,
            drivers,
            rate=rate,
            hurdle=hurdle,
            n=spec.risk.draws,
            seed=risk_seed(spec.risk.seed),
            debt=financing.debt if financing.assessed else None,
            capex_factors=cost.capex_factors,
            revenue_streams=streams,
            contingent=cashflow.contingent,
            on=on,
        )
    except ValueError as exc:
        raise InputError(str(exc), file=file, field="risk.drivers") from exc
    tor = (
        risk.tornado(cashflow.flows, drivers, rate=rate, revenue_streams=streams) if drivers else []
    )
    return RiskResult(
        method="Monte Carlo: capex scaled by the life-cycle cost draws (unit costs and "
        "quantities) and by capex drivers only for what costing does not model; revenue "
        "drivers scale the streams they name; payments with a probability drawn as Bernoulli "
        "events; NPV at the discount rate, IRR, DSCR and lenders' loss",
        draws=spec.risk.draws,
        summary=risk.summary(res),
        npv=res.npv,
        tornado=tuple(tor),
        drivers=tuple(d.model_dump() for d in spec.risk.drivers),
        uncertainty_sources=tuple(sources),
        contingent=tuple(
            {
                "name": c.name,
                "stream": c.stream,
                "year": int(cashflow.years[c.period]),
                "amount_cny": c.amount,
                "probability": c.probability,
            }
            for c in cashflow.contingent
        ),
        tables=(table,),
    )
