"""Land-quota revenue: construction-land quota (城乡建设用地增减挂钩节余指标) released by
reclaiming mine land, and the farmland supplement quota (补充耕地指标), both in 亩.

Timing: the quota is confirmed when the reclaimed land passes acceptance; it sells
``sale_lag_years`` later, all at once or in instalments (``sale_shares``). Price: the price the
user gives, else the regional reference price (construction land: ``revenue/prices/land-ticket``;
farmland: the ceiling of the quota's type in ``revenue/prices/farmland-quota``, an upper bound,
flagged). A farmland-quota price above the ceiling is cut to it (``REV-QUOTA-CEILING``).
Cross-province transfers need the user's price: no cross-province price is shipped.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

import numpy as np
from pydantic import Field, model_validator

from restora import refdata
from restora.errors import InputError
from restora.revenue.streams import (
    RevenueStream,
    StreamSpec,
    price_path,
    priced_stream,
    quantity,
    uncertainty_field,
    years_from,
)
from restora.units import registry

LAND_TICKET = "revenue/prices/land-ticket"
FARMLAND_QUOTA = "revenue/prices/farmland-quota"


class QuotaSpec(StreamSpec):
    """Inputs of a land-quota stream."""

    name: str = "land quota"
    kind: Literal["construction_land", "farmland_supplement"]
    area_mu: float = quantity("quota area", "mu", gt=0)
    farmland_type: Literal["paddy", "dry_land", "standard_farmland"] | None = None
    scope: Literal["within_province", "cross_province"] = "within_province"
    region: str = Field("000000", description="6-digit region code of the seller")
    acceptance_year: int = quantity("year the reclaimed land passes acceptance", "yr")
    sale_lag_years: int = quantity("years from acceptance to sale", "yr", ge=0, default=0)
    sale_shares: list[float] = quantity(
        "share of the quota sold in each year from the first sale", "1", default=[1.0]
    )
    price: float | None = quantity("price in the first sale year", "CNY/mu", gt=0, default=None)
    price_escalation: float = quantity("price growth", "1/yr", ge=-1, le=1, default=0.0)
    price_on: dt.date | None = Field(None, description="date whose reference price applies")
    low: float | None = uncertainty_field("low-case")
    high: float | None = uncertainty_field("high-case")

    @model_validator(mode="after")
    def _check(self) -> QuotaSpec:
        if abs(sum(self.sale_shares) - 1.0) > 1e-9 or min(self.sale_shares) < 0:
            raise ValueError("sale_shares must be non-negative and sum to 1")
        if self.kind == "farmland_supplement" and self.farmland_type is None:
            raise ValueError("a farmland supplement quota needs farmland_type")
        if self.scope == "cross_province" and self.price is None:
            raise ValueError("a cross-province quota needs its price (none is shipped)")
        return self


def mu_from_hm2(area_hm2: float) -> float:
    """Area in 亩 from hectares (1 hm² = 15 亩) [mu].

    Examples
    --------
    >>> round(mu_from_hm2(2.0), 9)
    30.0
    """
    return float(registry().Quantity(area_hm2, "hm2").to("mu").magnitude)


def quota_stream(spec: QuotaSpec) -> RevenueStream:
    """Revenue from selling a land quota.

    Parameters
    ----------
    spec : QuotaSpec
        Area [mu], acceptance year, sale lag [yr] and shares [1], price [CNY/mu] or the
        regional reference price, escalation [1/yr], low/high factors [1].

    Returns
    -------
    RevenueStream
        Quantity [mu], price [CNY/mu] and revenue [CNY] per sale year.

    Notes
    -----
    :math:`R_y = A\\,s_y\\,p_y`, :math:`p_y = p_0 (1+g)^{y-y_1}` from the first sale year
    :math:`y_1`; farmland quota :math:`p_0 = \\min(p, \\bar p_{type})` with the ceiling
    :math:`\\bar p_{type}` of its region.

    References
    ----------
    State Council, 国发〔2004〕28号 and MLR 国土资发〔2008〕138号 (增减挂钩); Zhoushan 2016 farmland
    quota ceilings; Chongqing land-ticket market (see the reference tables' sources).
    """
    first = spec.acceptance_year + spec.sale_lag_years
    years = years_from(first, len(spec.sale_shares))
    codes = ["REV-QUOTA-TIMING"]
    flags: list[str] = []
    tables = []
    p0 = spec.price
    if spec.kind == "construction_land":
        if p0 is None:
            t = _table(LAND_TICKET, spec)
            tables.append(t.provenance())
            p0 = float(t.data["price"])
            codes.append("REV-QUOTA-REFPRICE")
            if t.data.get("indicative"):
                flags.append(f"indicative price from {t.name} ({t.data.get('basis', '')})")
    else:
        t = _table(FARMLAND_QUOTA, spec)
        tables.append(t.provenance())
        ceiling = float(t.data[spec.farmland_type])
        if p0 is None:
            p0 = ceiling
            codes.append("REV-QUOTA-REFPRICE")
            flags.append(f"price is the {spec.farmland_type} ceiling of {t.name}: an upper bound")
        elif p0 > ceiling:
            flags.append(f"price {p0:,.0f} cut to the {spec.farmland_type} ceiling {ceiling:,.0f}")
            p0 = ceiling
            codes.append("REV-QUOTA-CEILING")
    price = price_path(p0, years, first, spec.price_escalation)
    return priced_stream(
        name=spec.name,
        kind="land_quota" if spec.kind == "construction_land" else "farmland_quota",
        years=years,
        quantity=spec.area_mu * np.asarray(spec.sale_shares, dtype=np.float64),
        quantity_unit="mu",
        price=price,
        low=spec.low,
        high=spec.high,
        rule_codes=tuple(codes),
        flags=tuple(flags),
        tables_used=tuple(tables),
    )


def _table(name: str, spec: QuotaSpec) -> refdata.RefTable:
    from restora.errors import RestoraError

    try:
        return refdata.get(
            name, on=spec.price_on or dt.date(spec.acceptance_year, 12, 31), region=spec.region
        )
    except InputError:
        raise  # a user's price table that cannot be read: its own message names the file
    except RestoraError as exc:
        raise InputError(
            f"no reference price for region {spec.region}: give `price` ({exc})", field="price"
        ) from exc
