"""Transfer or lease of the land use right after restoration (修复后土地使用权出让、出租).

A transfer brings a lump sum in the transfer year; a lease brings rent each year of the lease,
possibly escalating (``REV-LANDRIGHT-TRANSFER``, ``REV-LANDRIGHT-LEASE``).
"""

from __future__ import annotations

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


class LandRightsSpec(StreamSpec):
    """Inputs of a land use-right transfer or lease."""

    name: str = "land use right"
    mode: Literal["transfer", "lease"]
    area_mu: float = quantity("area", "mu", gt=0)
    start_year: int = quantity("transfer year or first lease year", "yr")
    price: float = quantity(
        "transfer price (transfer) or first-year rent (lease)", "CNY/mu or CNY/mu/yr", gt=0
    )
    lease_years: int | None = quantity("lease length", "yr", ge=1, le=70, default=None)
    rent_escalation: float = quantity("rent growth", "1/yr", ge=-1, le=1, default=0.0)
    low: float | None = uncertainty_field("low-case")
    high: float | None = uncertainty_field("high-case")

    @model_validator(mode="after")
    def _check(self) -> LandRightsSpec:
        if self.mode == "lease" and self.lease_years is None:
            raise ValueError("a lease needs lease_years")
        return self


def land_rights_stream(spec: LandRightsSpec) -> RevenueStream:
    """Revenue from transferring or leasing the restored land.

    Parameters
    ----------
    spec : LandRightsSpec
        Mode, area [mu], year, price [CNY/mu] or rent [CNY/mu/yr], lease years, escalation.

    Returns
    -------
    RevenueStream
        Area [mu], price [CNY/mu] and revenue [CNY] per year.

    Notes
    -----
    Transfer :math:`R = A p` once; lease :math:`R_y = A\\,r_0 (1+g)^{y-y_0}` for each lease year.
    """
    n = 1 if spec.mode == "transfer" else int(spec.lease_years or 1)
    years = years_from(spec.start_year, n)
    price = price_path(spec.price, years, spec.start_year, spec.rent_escalation)
    code = "REV-LANDRIGHT-TRANSFER" if spec.mode == "transfer" else "REV-LANDRIGHT-LEASE"
    return priced_stream(
        name=spec.name,
        kind="land_rights",
        years=years,
        quantity=np.full(n, spec.area_mu),
        quantity_unit="mu",
        price=price,
        low=spec.low,
        high=spec.high,
        rule_codes=(code,),
    )
