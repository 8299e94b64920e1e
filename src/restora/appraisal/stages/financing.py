"""Stage 7 — financing: each structure of the project file over the project's own figures.

A pledge loan without ``rights`` pledges the project's unrestricted streams from period 1, and
without ``cfads`` is tested against the project's CFADS (floored at 0); a special-bond
project without ``revenue`` takes the project's CFADS. Instrument year 1 is period 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from restora.appraisal.project import ProjectSpec
from restora.appraisal.stages.base import (
    NOT_ASSESSED,
    StageResult,
    not_assessed_reason,
    unique_tables,
)
from restora.appraisal.stages.cashflow import CashflowResult
from restora.appraisal.stages.revenue import RevenueResult
from restora.errors import InputError
from restora.finance.cashflow import DebtSchedule
from restora.finance.instruments import InstrumentResult


@dataclass(frozen=True, kw_only=True)
class FinancingResult(StageResult):
    """The financing structures tested.

    Attributes
    ----------
    instruments : tuple of InstrumentResult
        Each instrument's result (:func:`restora.finance.instruments.run_instrument`):
        summary, schedule, rule codes, flags, tables.
    debt : DebtSchedule or None
        The first pledge loan's schedule over the project's periods [CNY], for the risk stage.
    """

    name = "financing"

    instruments: tuple[InstrumentResult, ...] = ()
    debt: DebtSchedule | None = None

    @property
    def flags(self) -> list[str]:
        return [f for r in self.instruments for f in r.flags]

    def section(self) -> dict[str, Any]:
        return {
            "instruments": [r.to_dict() for r in self.instruments],
            "flags": self.flags,
        }


def run(
    spec: ProjectSpec,
    revenue: RevenueResult,
    cashflow: CashflowResult,
    *,
    file: str | None = None,
) -> FinancingResult:
    """Run each financing structure of the project over its revenue and cash flows.

    Parameters
    ----------
    spec : ProjectSpec
        ``financing`` items (instrument name and inputs, money in CNY, rates in [1/yr]).
    revenue : RevenueResult
        The streams (pledged rights).
    cashflow : CashflowResult
        The CFADS [CNY] per period.
    file : str, optional
        The project file, for error messages.

    Returns
    -------
    FinancingResult
        Not assessed when the project names no structure.
    """
    from restora.finance.cashflow import loan_schedule
    from restora.finance.instruments import run_instrument
    from restora.finance.instruments.pledge_loan import rights_from_streams

    if not spec.financing:
        return FinancingResult(
            status=NOT_ASSESSED,
            reason=not_assessed_reason("the project file names no financing structure"),
        )
    n = spec.horizon_years
    cfads = cashflow.flows.cfads[0, 1:]
    results: list[InstrumentResult] = []
    debt = None
    for i, item in enumerate(spec.financing):
        inputs = dict(item.inputs)
        if item.instrument == "pledge-loan":
            tenor = int(inputs.get("tenor_years", n))
            if "rights" not in inputs:
                if not revenue.assessed:
                    raise InputError(
                        "a pledge loan needs rights or the project's revenue streams",
                        file=file,
                        field=f"financing.{i}.inputs.rights",
                    )
                inputs["rights"] = rights_from_streams(revenue.streams, spec.start_year + 1, tenor)
            if "cfads" not in inputs:
                c = np.zeros(tenor)
                c[: min(tenor, cfads.size)] = cfads[:tenor]
                inputs["cfads"] = np.maximum(c, 0.0).tolist()
        if item.instrument == "special-bond" and revenue.assessed:
            for p in inputs.get("projects", []):
                if isinstance(p, dict) and "revenue" not in p:
                    p["revenue"] = np.maximum(cfads, 0.0).tolist()
        res = run_instrument(item.instrument, inputs, file=file)
        results.append(res)
        if item.instrument == "pledge-loan" and debt is None and res.summary.get("amount"):
            debt = loan_schedule(
                float(res.summary["amount"]),
                float(inputs["interest_rate"]),
                int(inputs["tenor_years"]),
                n + 1,
                draw_period=0,
                grace=int(inputs.get("grace_years", 0)),
                kind="level" if inputs.get("amortisation") == "level" else "annuity",
            )
    return FinancingResult(
        method="restora.finance.instruments (each instrument's own method; year 1 = "
        "period 1 of the project)",
        instruments=tuple(results),
        debt=debt,
        rule_codes=tuple(sorted({c for r in results for c in r.rule_codes})),
        tables=unique_tables([t for r in results for t in r.tables_used]),
    )
