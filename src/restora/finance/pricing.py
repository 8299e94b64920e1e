"""Pricing of ecological products: a base price times bounded floating coefficients.

Wang et al. (2026) propose pricing mine ecological products as a base price, from the cost
method (unit cost plus a reasonable profit) or the market method (comparable transactions,
adjusted), times floating coefficients for supply and demand, ecological benefit and policy
guidance. Each coefficient is clipped to its agreed bounds (``PRICE-COEF-BOUND``) and the price
to a floor and ceiling (``PRICE-FLOOR``, ``PRICE-CEILING``), for instance a published quota
price ceiling read from reference data (``revenue/prices/farmland-quota``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from pydantic import Field, model_validator

from restora import refdata
from restora.finance.instruments._spec import Spec, quantity


class Comparable(Spec):
    """A comparable transaction for the market method."""

    price: float = quantity("transaction price", "CNY/unit", gt=0)
    adjustment: float = quantity(
        "adjustment factor for differences in location, quality, date", "1", gt=0, default=1.0
    )
    weight: float = quantity("weight of this comparable", "1", gt=0, default=1.0)


class Coefficient(Spec):
    """A floating coefficient with its agreed bounds."""

    name: Literal["supply_demand", "ecological_benefit", "policy"]
    value: float = quantity("coefficient", "1", gt=0)
    lower: float | None = quantity("lowest value allowed", "1", gt=0, default=None)
    upper: float | None = quantity("highest value allowed", "1", gt=0, default=None)

    @model_validator(mode="after")
    def _bounds(self) -> Coefficient:
        if self.lower is not None and self.upper is not None and self.lower > self.upper:
            raise ValueError("lower bound above upper bound")
        return self


class TableBound(Spec):
    """A price bound read from a reference table: ``data[key]`` of ``name``."""

    name: str
    key: str = "price"
    region: str | None = None
    on: dt.date | None = None


class PricingSpec(Spec):
    """Inputs of the pricing of one ecological product."""

    method: Literal["cost", "market"]
    unit_cost: float | None = quantity("full cost per unit", "CNY/unit", gt=0, default=None)
    profit_rate: float | None = quantity(
        "reasonable profit on cost", "1", ge=0, le=10, default=None
    )
    comparables: list[Comparable] = Field(default_factory=list)
    coefficients: list[Coefficient] = Field(default_factory=list)
    floor: float | None = quantity("lowest price", "CNY/unit", ge=0, default=None)
    ceiling: float | None = quantity("highest price", "CNY/unit", gt=0, default=None)
    ceiling_table: TableBound | None = None

    @model_validator(mode="after")
    def _method_inputs(self) -> PricingSpec:
        if self.method == "cost" and (self.unit_cost is None or self.profit_rate is None):
            raise ValueError("the cost method needs unit_cost and profit_rate")
        if self.method == "market" and not self.comparables:
            raise ValueError("the market method needs at least one comparable")
        names = [c.name for c in self.coefficients]
        if len(set(names)) != len(names):
            raise ValueError("each coefficient may appear once")
        return self


@dataclass(frozen=True)
class PriceResult:
    """A price with how it was formed."""

    price: float
    base_price: float
    coefficients: dict[str, float]
    clipped: dict[str, bool]
    unbounded_price: float
    floor: float | None
    ceiling: float | None
    rule_codes: tuple[str, ...]
    tables_used: tuple[dict[str, Any], ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form."""
        return {
            "price": self.price,
            "base_price": self.base_price,
            "coefficients": self.coefficients,
            "clipped": self.clipped,
            "unbounded_price": self.unbounded_price,
            "floor": self.floor,
            "ceiling": self.ceiling,
            "rule_codes": list(self.rule_codes),
            "tables_used": list(self.tables_used),
        }


def base_price(spec: PricingSpec) -> float:
    """Base price [CNY/unit] by the cost or the market method.

    Notes
    -----
    Cost method :math:`P_0 = c (1 + m)`; market method
    :math:`P_0 = \\sum_i w_i a_i p_i / \\sum_i w_i`.

    References
    ----------
    Wang J. et al. (2026), Acta Ecologica Sinica 46(1): 184-200, doi:10.20103/j.stxb.202507131830.
    """
    if spec.method == "cost":
        assert spec.unit_cost is not None and spec.profit_rate is not None
        return spec.unit_cost * (1.0 + spec.profit_rate)
    w = np.array([c.weight for c in spec.comparables])
    p = np.array([c.price * c.adjustment for c in spec.comparables])
    return float((w * p).sum() / w.sum())


def price(spec: PricingSpec) -> PriceResult:
    """Price of an ecological product: base × bounded coefficients, within floor and ceiling.

    Parameters
    ----------
    spec : PricingSpec
        Method and its inputs [CNY/unit], coefficients [1] with bounds, price bounds
        [CNY/unit] (a ceiling may come from a reference table).

    Returns
    -------
    PriceResult
        Price [CNY/unit] and its formation.

    Notes
    -----
    .. math:: P = \\min(\\max(P_0 \\prod_j \\mathrm{clip}(k_j, l_j, u_j), F), C)

    with the lower of the given and the table ceiling.

    References
    ----------
    Wang J. et al. (2026), Acta Ecologica Sinica 46(1): 184-200, doi:10.20103/j.stxb.202507131830.

    Examples
    --------
    >>> s = PricingSpec(method="cost", unit_cost=100.0, profit_rate=0.1,
    ...                 coefficients=[{"name": "policy", "value": 1.5, "upper": 1.2}])
    >>> round(price(s).price, 6)  # 100 * 1.1 * 1.2
    132.0
    """
    codes = ["PRICE-BASE-COST" if spec.method == "cost" else "PRICE-BASE-MARKET"]
    p0 = base_price(spec)
    used: dict[str, float] = {}
    clipped: dict[str, bool] = {}
    factor = 1.0
    for c in spec.coefficients:
        lo = c.lower if c.lower is not None else -np.inf
        hi = c.upper if c.upper is not None else np.inf
        k = float(np.clip(c.value, lo, hi))
        clipped[c.name] = k != c.value
        used[c.name] = k
        factor *= k
    if any(clipped.values()):
        codes.append("PRICE-COEF-BOUND")
    raw = p0 * factor
    ceiling = spec.ceiling
    tables: list[dict[str, Any]] = []
    if spec.ceiling_table is not None:
        tb = spec.ceiling_table
        t = refdata.get(tb.name, on=tb.on, region=tb.region)
        tables.append(t.provenance())
        tv = float(t.data[tb.key])
        ceiling = tv if ceiling is None else min(ceiling, tv)
    out = raw
    if spec.floor is not None and out < spec.floor:
        out = spec.floor
        codes.append("PRICE-FLOOR")
    if ceiling is not None and out > ceiling:
        out = ceiling
        codes.append("PRICE-CEILING")
    return PriceResult(
        price=float(out),
        base_price=float(p0),
        coefficients=used,
        clipped=clipped,
        unbounded_price=float(raw),
        floor=spec.floor,
        ceiling=ceiling,
        rule_codes=tuple(codes),
        tables_used=tuple(tables),
    )
