"""Subsidies, ecological compensation and outcome payments.

Scheduled payments (a central or provincial restoration subsidy, ecological compensation) are
certain once granted; an outcome payment is paid only if a verified outcome is reached, so its
central value is amount × probability, its low case 0 and its high case the full amount
(``REV-SUBSIDY-OUTCOME``).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field

from restora.revenue.streams import RevenueStream, StreamSpec, quantity


class Payment(StreamSpec):
    """One payment."""

    year: int = quantity("year paid", "yr")
    amount: float = quantity("amount", "CNY", ge=0)
    kind: Literal["subsidy", "ecological_compensation", "outcome_payment"] = "subsidy"
    probability: float = quantity(
        "probability the outcome is reached (outcome payments)", "1", ge=0, le=1, default=1.0
    )
    condition: str = ""


class SubsidySpec(StreamSpec):
    """Inputs of a subsidy / compensation / outcome-payment stream."""

    name: str = "subsidies"
    payments: list[Payment] = Field(min_length=1)


def subsidy_stream(spec: SubsidySpec) -> RevenueStream:
    """Subsidies and outcome payments by year.

    Parameters
    ----------
    spec : SubsidySpec
        Payments: year, amount [CNY], kind, probability [1].

    Returns
    -------
    RevenueStream
        Revenue [CNY] per year: central (expected), low and high.

    Notes
    -----
    Scheduled: :math:`R = a` in every case; outcome payment: central :math:`p\\,a`, low 0,
    high :math:`a`.
    """
    years = np.array(sorted({p.year for p in spec.payments}), dtype=np.int64)
    idx = {int(y): i for i, y in enumerate(years)}
    central = np.zeros(years.size)
    low = np.zeros(years.size)
    high = np.zeros(years.size)
    codes = {"REV-SUBSIDY-SCHEDULED"}
    for p in spec.payments:
        i = idx[p.year]
        if p.kind == "outcome_payment":
            codes.add("REV-SUBSIDY-OUTCOME")
            central[i] += p.amount * p.probability
            high[i] += p.amount
        else:
            central[i] += p.amount
            low[i] += p.amount
            high[i] += p.amount
    return RevenueStream(
        name=spec.name,
        kind="subsidy",
        years=years,
        quantity=central,
        quantity_unit="CNY",
        price=np.ones(years.size),
        revenue=central,
        revenue_low=low,
        revenue_high=high,
        rule_codes=tuple(sorted(codes)),
    )
