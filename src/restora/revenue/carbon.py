"""Carbon-sink credits from the modelled sequestration increment of restored vegetation.

Each year of the crediting period the project earns its sequestration above the baseline; a
share goes to the buffer pool against reversal (``REV-CARBON-BUFFER``); credits are issued at
each verification for the years since the previous one (``REV-CARBON-VERIFY``) and sold
``issuance_lag_years`` later at the market's price path: the national carbon market (CEA,
``revenue/prices/cea``) or the voluntary CCER market (``revenue/prices/ccer``, whose low-high
range gives the uncertainty band), or the user's own price. The increment can come from the
valuation's carbon-stock change (:func:`increment_from_stock_change`).
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

import numpy as np
from pydantic import Field, model_validator

from restora import refdata
from restora.revenue.streams import RevenueStream, StreamSpec, price_path, quantity, years_from
from restora.valuation.co2 import co2_per_carbon

TABLES = {"cea": "revenue/prices/cea", "ccer": "revenue/prices/ccer"}


class CarbonCreditSpec(StreamSpec):
    """Inputs of a carbon-sink credit stream."""

    name: str = "carbon-sink credits"
    start_year: int = quantity("calendar year of the first sequestration value", "yr")
    sequestration: list[float] = quantity(
        "modelled sequestration of the restored vegetation per year", "tCO2e/yr"
    )
    baseline: list[float] = quantity(
        "baseline sequestration per year (one value: every year)", "tCO2e/yr", default=[0.0]
    )
    buffer_share: float = quantity("share of net removals put in the buffer pool", "1", ge=0, lt=1)
    crediting_start_year: int | None = quantity(
        "first year of the crediting period (default start_year)", "yr", default=None
    )
    crediting_years: int = quantity("length of the crediting period", "yr", ge=1, le=100)
    verification_interval_years: int = quantity("years between verifications", "yr", ge=1)
    issuance_lag_years: int = quantity("years from verification to sale", "yr", ge=0, default=0)
    market: Literal["cea", "ccer", "custom"] = "ccer"
    price: float | None = quantity(
        "price in the price year (custom market)", "CNY/tCO2e", gt=0, default=None
    )
    price_low: float | None = quantity("low-case price", "CNY/tCO2e", gt=0, default=None)
    price_high: float | None = quantity("high-case price", "CNY/tCO2e", gt=0, default=None)
    price_year: int | None = quantity("year of the price (default: first sale)", "yr", default=None)
    price_escalation: float = quantity("price growth", "1/yr", ge=-1, le=1, default=0.0)
    price_on: dt.date | None = Field(None, description="date whose reference price applies")

    @model_validator(mode="after")
    def _check(self) -> CarbonCreditSpec:
        if not self.sequestration:
            raise ValueError("sequestration needs at least one year")
        if len(self.baseline) not in (1, len(self.sequestration)):
            raise ValueError("baseline must have 1 value or one per sequestration year")
        if self.market == "custom" and self.price is None:
            raise ValueError("a custom market needs price")
        return self


def increment_from_stock_change(
    delta_mg_c: float, years: int, on: dt.date | str | None = None
) -> np.ndarray:
    """Annual sequestration [tCO2e/yr] accruing a carbon-stock change linearly over ``years``.

    Parameters
    ----------
    delta_mg_c : float
        Carbon-stock change after restoration minus before [Mg C] (valuation's ``delta_mg_c``).
    years : int
        Years over which the vegetation reaches the after-restoration stock [yr].
    on : date, optional
        Date whose CO2/C ratio table applies.

    Notes
    -----
    :math:`q_t = \\Delta C \\cdot (44/12) / n`, IPCC (2006) Vol. 4 ch. 2.

    Examples
    --------
    >>> increment_from_stock_change(120.0, 10).round(6).tolist()[:2]  # 120 * 44/12 / 10
    [44.0, 44.0]
    """
    ratio, _ = co2_per_carbon(on=on or "2020-01-01")
    return np.full(years, delta_mg_c * ratio / years)


def credit_schedule(spec: CarbonCreditSpec) -> dict[str, np.ndarray]:
    """Net removals, buffer, and credits issued per verification.

    Returns
    -------
    dict
        ``years`` (T,), ``net`` and ``buffer`` (T,) [tCO2e/yr] by sequestration year;
        ``verification_years`` and ``issued`` [tCO2e] per verification.

    Notes
    -----
    :math:`N_t = \\max(S_t - B_t, 0)` in the crediting period, buffer :math:`b N_t`, issued at
    verification :math:`v`: :math:`\\sum_{t \\in (v_{prev}, v]} (1-b) N_t`.
    """
    n = len(spec.sequestration)
    years = years_from(spec.start_year, n)
    s = np.asarray(spec.sequestration, dtype=np.float64)
    b = np.broadcast_to(np.asarray(spec.baseline, dtype=np.float64), (n,))
    c0 = spec.crediting_start_year or spec.start_year
    in_period = (years >= c0) & (years < c0 + spec.crediting_years)
    net = np.where(in_period, np.maximum(s - b, 0.0), 0.0)
    buffer = spec.buffer_share * net
    creditable = net - buffer
    last = min(int(years[-1]), c0 + spec.crediting_years - 1)
    ver = list(
        range(c0 + spec.verification_interval_years - 1, last + 1, spec.verification_interval_years)
    )
    if not ver or ver[-1] != last:
        ver.append(last)  # a final verification closes the crediting period
    issued = []
    prev = c0 - 1
    for v in ver:
        sel = (years > prev) & (years <= v)
        issued.append(float(creditable[sel].sum()))
        prev = v
    return {
        "years": years,
        "net": net,
        "buffer": buffer,
        "verification_years": np.asarray(ver, dtype=np.int64),
        "issued": np.asarray(issued),
    }


def carbon_stream(spec: CarbonCreditSpec) -> RevenueStream:
    """Revenue from carbon-sink credits.

    Parameters
    ----------
    spec : CarbonCreditSpec
        Sequestration and baseline [tCO2e/yr], buffer share [1], crediting period and
        verification interval [yr], market and price path [CNY/tCO2e].

    Returns
    -------
    RevenueStream
        Credits sold [tCO2e], price [CNY/tCO2e] and revenue [CNY] per sale year.

    Notes
    -----
    Sale year :math:`v + \\ell`; revenue :math:`R = Q_v\\,p_{v+\\ell}`, low and high at the low and
    high price (CCER: the table's range).

    References
    ----------
    MEE (2023), 温室气体自愿减排交易管理办法（试行） and the CCER methodology for afforestation
    carbon sinks (CCER-14-001-V01): crediting period, verification, buffer against reversal.
    """
    sch = credit_schedule(spec)
    sale_years = sch["verification_years"] + spec.issuance_lag_years
    codes = ["REV-CARBON-BASELINE", "REV-CARBON-BUFFER", "REV-CARBON-VERIFY", "REV-CARBON-PRICE"]
    flags: list[str] = []
    tables = []
    p0, lo, hi = spec.price, spec.price_low, spec.price_high
    if spec.market != "custom":
        t = refdata.get(TABLES[spec.market], on=spec.price_on, region=None)
        tables.append(t.provenance())
        if p0 is None:
            p0 = float(t.data["price"])
        lo = lo if lo is not None else t.data.get("low")
        hi = hi if hi is not None else t.data.get("high")
        if t.data.get("indicative"):
            flags.append(f"indicative price from {t.name} ({t.data.get('basis', '')})")
        if spec.market == "cea":
            flags.append("CEA is a compliance allowance price: forestry sinks sell as CCER offsets")
    assert p0 is not None
    y0 = spec.price_year or int(sale_years[0])
    price = price_path(p0, sale_years, y0, spec.price_escalation)
    q = sch["issued"]
    rev = q * price
    low = q * price_path(float(lo), sale_years, y0, spec.price_escalation) if lo else rev
    high = q * price_path(float(hi), sale_years, y0, spec.price_escalation) if hi else rev
    return RevenueStream(
        name=spec.name,
        kind="carbon",
        years=sale_years,
        quantity=q,
        quantity_unit="tCO2e",
        price=price,
        revenue=rev,
        revenue_low=np.minimum(low, rev),
        revenue_high=np.maximum(high, rev),
        rule_codes=tuple(codes),
        flags=tuple(flags),
        tables_used=tuple(tables),
    )
