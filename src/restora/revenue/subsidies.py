"""Subsidies, ecological compensation and outcome payments.

A payment certain to be made (probability 1: a subsidy already granted) counts in full in every
case (``REV-SUBSIDY-CERTAIN``). A payment made only with probability :math:`p < 1` — a subsidy
applied for but not granted, an outcome payment due only if a verified outcome is reached — is
contingent (``REV-SUBSIDY-CONTINGENT``): its central value is the expected value :math:`p\\,a`,
its low case 0 and its high case the full amount :math:`a`; the stream lists it in
``contingent`` so that a Monte Carlo draws it as a Bernoulli event (paid in full with
probability :math:`p`, else nothing) rather than as :math:`p\\,a` every time.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field, model_validator

from restora.revenue.streams import ContingentPayment, RevenueStream, StreamSpec, quantity

CERTAIN = "REV-SUBSIDY-CERTAIN"
CONTINGENT = "REV-SUBSIDY-CONTINGENT"


class Payment(StreamSpec):
    """One payment.

    ``probability`` is the probability the payment is made [1]; a subsidy or compensation
    without one is certain (1), an outcome payment must state it.
    """

    year: int = quantity("year paid", "yr")
    amount: float = quantity("amount", "CNY", ge=0)
    kind: Literal["subsidy", "ecological_compensation", "outcome_payment"] = "subsidy"
    probability: float | None = quantity(
        "probability the payment is made (required for an outcome payment; default 1)",
        "1",
        ge=0,
        le=1,
        default=None,
    )
    name: str = ""
    condition: str = ""

    @model_validator(mode="after")
    def _outcome_needs_probability(self) -> Payment:
        if self.kind == "outcome_payment" and self.probability is None:
            raise ValueError(
                "an outcome payment needs its probability (the chance the outcome is verified), "
                "e.g. probability: 0.7; give 1 only if it is certain"
            )
        return self

    @property
    def p(self) -> float:
        """Probability the payment is made [1] (1 when not given)."""
        return 1.0 if self.probability is None else self.probability


class SubsidySpec(StreamSpec):
    """Inputs of a subsidy / compensation / outcome-payment stream."""

    name: str = "subsidies"
    payments: list[Payment] = Field(min_length=1)


def subsidy_stream(spec: SubsidySpec) -> RevenueStream:
    """Subsidies and outcome payments by year.

    Parameters
    ----------
    spec : SubsidySpec
        Payments: year [yr], amount [CNY], kind, probability [1].

    Returns
    -------
    RevenueStream
        Revenue [CNY] per year: central (expected), low and high; ``contingent`` lists the
        payments with :math:`p < 1`.

    Notes
    -----
    Payment :math:`a` with probability :math:`p`:

    * :math:`p = 1` (``REV-SUBSIDY-CERTAIN``): :math:`R = R^{low} = R^{high} = a`;
    * :math:`p < 1` (``REV-SUBSIDY-CONTINGENT``): :math:`R = p\\,a` (the expected value),
      :math:`R^{low} = 0`, :math:`R^{high} = a`; in a Monte Carlo it is :math:`a\\,B`,
      :math:`B \\sim \\mathrm{Bernoulli}(p)`, whose mean is :math:`p\\,a` and whose variance
      :math:`p(1-p)a^2` a fixed :math:`p\\,a` would hide.

    Examples
    --------
    >>> s = subsidy_stream(SubsidySpec(payments=[
    ...     {"year": 2027, "amount": 15e6, "probability": 0.8},
    ...     {"year": 2028, "amount": 1e6}]))
    >>> s.revenue.tolist(), s.revenue_low.tolist(), s.revenue_high.tolist()
    ([12000000.0, 1000000.0], [0.0, 1000000.0], [15000000.0, 1000000.0])
    """
    years = np.array(sorted({p.year for p in spec.payments}), dtype=np.int64)
    idx = {int(y): i for i, y in enumerate(years)}
    central = np.zeros(years.size)
    low = np.zeros(years.size)
    high = np.zeros(years.size)
    codes: set[str] = set()
    contingent: list[ContingentPayment] = []
    flags: list[str] = []
    for p in spec.payments:
        i = idx[p.year]
        high[i] += p.amount
        if p.p >= 1.0:
            codes.add(CERTAIN)
            central[i] += p.amount
            low[i] += p.amount
            continue
        codes.add(CONTINGENT)
        central[i] += p.p * p.amount
        c = ContingentPayment(
            name=p.name or f"{spec.name} {p.year} ({p.kind})",
            stream=spec.name,
            year=p.year,
            amount=p.amount,
            probability=p.p,
            kind=p.kind,
            condition=p.condition,
        )
        contingent.append(c)
        flags.append(
            f"contingent payment {c.name}: {p.amount:,.0f} CNY in {p.year} with probability "
            f"{p.p:g} counts {c.expected:,.0f} CNY centrally, 0 in the low case"
        )
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
        flags=tuple(flags),
        contingent=tuple(contingent),
    )
