"""Operating income of the after-use (agriculture, forestry, fishery, tourism, photovoltaics,
culture), ramping up to maturity (``REV-OPS-RAMPUP``).

The mature net operating income is the user's figure (from the business plan); it is reached
after a ramp-up, linear over ``ramp_years`` or following explicit ``ramp_shares``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from pydantic import model_validator

from restora.revenue.streams import (
    RevenueStream,
    StreamSpec,
    price_path,
    priced_stream,
    quantity,
    uncertainty_field,
    years_from,
)

AfterUse = Literal["agriculture", "forestry", "fishery", "tourism", "photovoltaics", "culture"]


class OperationsSpec(StreamSpec):
    """Inputs of an after-use operating income stream."""

    name: str = "operations"
    after_use: AfterUse
    start_year: int = quantity("first operating year", "yr")
    years: int = quantity("operating years", "yr", ge=1, le=100)
    mature_income: float = quantity("net operating income at maturity", "CNY/yr", ge=0)
    ramp_years: int = quantity("years to reach maturity, linear", "yr", ge=0, default=0)
    ramp_shares: list[float] | None = quantity(
        "share of mature income in each early year (overrides ramp_years)", "1", default=None
    )
    escalation: float = quantity("income growth", "1/yr", ge=-1, le=1, default=0.0)
    low: float | None = uncertainty_field("low-case")
    high: float | None = uncertainty_field("high-case")

    @model_validator(mode="after")
    def _check(self) -> OperationsSpec:
        if self.ramp_shares is not None and any(s < 0 or s > 1 for s in self.ramp_shares):
            raise ValueError("ramp_shares must lie in [0, 1]")
        return self


def ramp(n: int, ramp_years: int, shares: list[float] | None = None) -> np.ndarray:
    """Share of mature output in each operating year [1].

    Notes
    -----
    Linear: :math:`s_k = \\min((k+1)/(m+1), 1)` for year :math:`k = 0, 1, …` and ramp-up
    :math:`m` years, so full output comes in year :math:`m + 1`.

    Examples
    --------
    >>> ramp(5, 3).tolist()
    [0.25, 0.5, 0.75, 1.0, 1.0]
    """
    if shares is not None:
        s = np.ones(n)
        m = min(n, len(shares))
        s[:m] = shares[:m]
        return s
    k = np.arange(n, dtype=np.float64)
    return np.minimum((k + 1.0) / (ramp_years + 1.0), 1.0)


def operations_stream(spec: OperationsSpec) -> RevenueStream:
    """Net operating income of the after-use by year.

    Parameters
    ----------
    spec : OperationsSpec
        After-use, start year, operating years, mature income [CNY/yr], ramp-up, escalation.

    Returns
    -------
    RevenueStream
        Ramp share [1] as quantity, mature income path [CNY/yr] as price, income [CNY].

    Notes
    -----
    :math:`R_y = s_y\\,I (1+g)^{y-y_0}`.
    """
    years = years_from(spec.start_year, spec.years)
    share = ramp(spec.years, spec.ramp_years, spec.ramp_shares)
    income = price_path(spec.mature_income, years, spec.start_year, spec.escalation)
    return priced_stream(
        name=spec.name,
        kind="operations",
        years=years,
        quantity=share,
        quantity_unit="1",
        price=income,
        low=spec.low,
        high=spec.high,
        rule_codes=("REV-OPS-RAMPUP",),
        flags=(f"after-use: {spec.after_use}",),
    )


@dataclass(frozen=True)
class Development:
    """When the after-use operations of a project develop its value, and how much.

    Attributes
    ----------
    first_year : int
        Calendar year the first operations stream starts [yr].
    years_to_mature : int
        Years from its start until the slowest stream reaches its full share [yr].
    mature_income_cny_per_yr : float
        Sum of the streams' income in the year each first reaches its full share [CNY/yr,
        nominal: CNY of that year].
    mature_year : int
        Calendar year the slowest stream reaches its full share [yr].
    """

    first_year: int
    years_to_mature: int
    mature_income_cny_per_yr: float
    mature_year: int = 0


def development(streams: Sequence[RevenueStream]) -> Development | None:
    """The development phase the operations streams describe (``None`` without any).

    Parameters
    ----------
    streams : sequence of RevenueStream
        A project's streams; only ``kind == "operations"`` ones count.

    Returns
    -------
    Development or None

    Notes
    -----
    Each stream :math:`k` reaches its full share in year :math:`m_k = \\arg\\max_y s_{k,y}`
    (counted from its start); mature income :math:`I = \\sum_k R_{k, m_k}` (nominal, before any
    later escalation); the first year is the earliest start; years to maturity
    :math:`\\max_k m_k`, the ramp of the slowest stream.

    Examples
    --------
    >>> s = operations_stream(OperationsSpec(after_use="tourism", start_year=2030, years=6,
    ...     mature_income=100.0, ramp_years=2))
    >>> development([s])
    Development(first_year=2030, years_to_mature=2, mature_income_cny_per_yr=100.0, mature_year=2032)
    """
    ops = [s for s in streams if s.kind == "operations" and s.years.size]
    if not ops:
        return None
    full = [int(np.argmax(s.quantity)) for s in ops]  # first year of the full share
    return Development(
        first_year=min(int(s.years.min()) for s in ops),
        years_to_mature=max(full),
        mature_income_cny_per_yr=float(
            sum(float(s.revenue[k]) for s, k in zip(ops, full, strict=True))
        ),
        mature_year=max(int(s.years[k]) for s, k in zip(ops, full, strict=True)),
    )
