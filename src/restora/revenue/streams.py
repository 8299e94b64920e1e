"""The common shape of every revenue stream: timing, quantity, price path, uncertainty.

Each stream model (quotas, carbon credits, surplus earth and stone, land rights, after-use
operations, subsidies) returns a :class:`RevenueStream`: per calendar year the quantity sold,
the price and the revenue, with a low and a high case. :func:`combine` adds streams by year,
keeping earmarked money (surplus earth-and-stone proceeds, which belong to the mine's
restoration account and never to the general budget) apart from unrestricted revenue.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field


class StreamSpec(BaseModel):
    """Base of every stream's input model: frozen, unknown keys rejected."""

    model_config = ConfigDict(frozen=True, extra="forbid")


def quantity(description: str, unit: str, **bounds: Any) -> Any:
    """A pydantic field carrying its unit in ``json_schema_extra["unit"]``."""
    default = bounds.pop("default", ...)
    return Field(default, description=description, json_schema_extra={"unit": unit}, **bounds)


@dataclass(frozen=True)
class ContingentPayment:
    """A payment made in full with probability ``probability``, else not at all.

    The stream counts its expected value :math:`p\\,a` centrally, 0 in its low case and
    :math:`a` in its high case; a Monte Carlo draws it as a Bernoulli event (see
    :func:`restora.finance.risk.simulate`).

    Attributes
    ----------
    name : str
        Label of the payment (e.g. "中央土壤污染防治资金 2027").
    stream : str
        Name of the revenue stream that carries it.
    year : int
        Calendar year paid [yr].
    amount : float
        Amount paid if it is paid [CNY].
    probability : float
        Probability it is paid [1], 0 <= p < 1.
    kind : str
        ``subsidy``, ``ecological_compensation`` or ``outcome_payment``.
    condition : str
        What the payment depends on, as given.
    """

    name: str
    stream: str
    year: int
    amount: float
    probability: float
    kind: str = "subsidy"
    condition: str = ""

    @property
    def expected(self) -> float:
        """Expected amount :math:`p\\,a` [CNY]."""
        return self.probability * self.amount

    def to_dict(self) -> dict[str, Any]:
        """JSON form: name, stream, year, amount, probability, expected, kind, condition."""
        return {
            "name": self.name,
            "stream": self.stream,
            "year": int(self.year),
            "amount": float(self.amount),
            "probability": float(self.probability),
            "expected": float(self.expected),
            "kind": self.kind,
            "condition": self.condition,
        }


@dataclass(frozen=True)
class RevenueStream:
    """One revenue stream by calendar year.

    Attributes
    ----------
    name, kind : str
        Label and model (``land_quota``, ``farmland_quota``, ``carbon``, ``materials``,
        ``land_rights``, ``operations``, ``subsidy``).
    years : numpy.ndarray
        (T,) calendar years [yr].
    quantity : numpy.ndarray
        (T,) quantity sold [``quantity_unit``].
    quantity_unit : str
        Unit of ``quantity`` (亩 as ``mu``, ``tCO2e``, ``m**3`` …).
    price : numpy.ndarray
        (T,) central price [CNY per quantity unit].
    revenue, revenue_low, revenue_high : numpy.ndarray
        (T,) central, low and high revenue [CNY].
    earmark : str or None
        Account the money must go to, when it is not free revenue.
    rule_codes, flags : tuple of str
        Rules applied; findings (indicative prices, ceilings applied …).
    tables_used : tuple of dict
        Provenance of the reference tables read.
    contingent : tuple of ContingentPayment
        Payments of the stream that are made only with some probability (their expected
        value is in ``revenue``, 0 in ``revenue_low``, the full amount in ``revenue_high``).
    """

    name: str
    kind: str
    years: np.ndarray
    quantity: np.ndarray
    quantity_unit: str
    price: np.ndarray
    revenue: np.ndarray
    revenue_low: np.ndarray
    revenue_high: np.ndarray
    earmark: str | None = None
    rule_codes: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()
    tables_used: tuple[dict[str, Any], ...] = field(default_factory=tuple)
    contingent: tuple[ContingentPayment, ...] = ()

    def frame(self) -> pd.DataFrame:
        """The stream as a table, one row per year."""
        return pd.DataFrame(
            {
                "year": self.years.astype(int),
                "stream": self.name,
                "kind": self.kind,
                "quantity": self.quantity,
                "quantity_unit": self.quantity_unit,
                "price": self.price,
                "revenue": self.revenue,
                "revenue_low": self.revenue_low,
                "revenue_high": self.revenue_high,
                "earmark": self.earmark,
            }
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON contract of one stream."""
        return {
            "name": self.name,
            "kind": self.kind,
            "quantity_unit": self.quantity_unit,
            "earmark": self.earmark,
            "total_revenue": float(self.revenue.sum()),
            "total_revenue_low": float(self.revenue_low.sum()),
            "total_revenue_high": float(self.revenue_high.sum()),
            "rule_codes": list(self.rule_codes),
            "flags": list(self.flags),
            "tables_used": list(self.tables_used),
            "contingent_payments": [c.to_dict() for c in self.contingent],
            "by_year": self.frame().drop(columns=["stream", "kind", "earmark"]).to_dict("records"),
        }


def priced_stream(
    *,
    quantity: np.ndarray,
    price: np.ndarray,
    low: float | None,
    high: float | None,
    **attributes: Any,
) -> RevenueStream:
    """A stream whose revenue is quantity times price, its low and high cases scaled.

    Parameters
    ----------
    quantity : numpy.ndarray
        (T,) quantity sold [``quantity_unit``].
    price : numpy.ndarray
        (T,) central price [CNY per quantity unit].
    low, high : float or None
        Multiplicative factors on revenue for the low and high cases [1]; ``None`` is 1.
    **attributes
        The other :class:`RevenueStream` fields (``name``, ``kind``, ``years``,
        ``quantity_unit``, ``earmark``, ``rule_codes``, ``flags``, ``tables_used``).

    Returns
    -------
    RevenueStream

    Notes
    -----
    :math:`R_y = q_y\\,p_y`, :math:`R^{low}_y = f_{low} R_y`, :math:`R^{high}_y = f_{high} R_y`.
    """
    revenue = quantity * price
    return RevenueStream(
        quantity=quantity,
        price=price,
        revenue=revenue,
        revenue_low=revenue * (low or 1.0),
        revenue_high=revenue * (high or 1.0),
        **attributes,
    )


def price_path(base: float, years: Any, base_year: int, escalation: float = 0.0) -> np.ndarray:
    """Price in each year from a base price growing at a constant rate.

    Parameters
    ----------
    base : float
        Price in ``base_year`` [CNY/unit].
    years : array_like
        Calendar years [yr].
    base_year : int
        Year of ``base`` [yr].
    escalation : float
        Growth rate [1/yr] (nominal, or real if ``base`` is a constant-price figure).

    Returns
    -------
    numpy.ndarray
        Price per year [CNY/unit].

    Notes
    -----
    .. math:: p_y = p_0 (1 + g)^{y - y_0}

    Examples
    --------
    >>> price_path(100.0, [2025, 2026, 2027], 2025, 0.1).round(6).tolist()
    [100.0, 110.0, 121.0]
    """
    y = np.asarray(years, dtype=np.float64)
    return base * (1.0 + escalation) ** (y - base_year)


def combine(streams: Sequence[RevenueStream]) -> pd.DataFrame:
    """Revenue of all streams by calendar year, earmarked money kept apart.

    Parameters
    ----------
    streams : sequence of RevenueStream

    Returns
    -------
    pandas.DataFrame
        One row per year: ``revenue``, ``revenue_low``, ``revenue_high`` (unrestricted) and
        ``earmarked`` (money bound to an account, e.g. the mine's restoration account) [CNY].

    Notes
    -----
    Earmarked proceeds are never counted as revenue available to service debt or pay
    dividends; lows and highs add as if the streams were perfectly correlated (a bound).
    """
    cols = ["year", "revenue", "revenue_low", "revenue_high", "earmarked"]
    if not streams:
        return pd.DataFrame(columns=cols)
    frames = []
    for s in streams:
        f = s.frame()
        free = s.earmark is None
        frames.append(
            pd.DataFrame(
                {
                    "year": f["year"],
                    "revenue": f["revenue"] * free,
                    "revenue_low": f["revenue_low"] * free,
                    "revenue_high": f["revenue_high"] * free,
                    "earmarked": f["revenue"] * (not free),
                }
            )
        )
    out = pd.concat(frames).groupby("year", as_index=False).sum()
    return out[cols].sort_values("year").reset_index(drop=True)


def years_from(start: int, n: int) -> np.ndarray:
    """Calendar years ``start, …, start + n - 1``."""
    return np.arange(start, start + n, dtype=np.int64)


def uncertainty_field(what: str) -> Any:
    """A multiplicative low/high factor on a stream's revenue."""
    return Field(
        None, gt=0, description=f"{what} factor on revenue", json_schema_extra={"unit": "1"}
    )
