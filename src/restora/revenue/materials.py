"""Surplus earth and stone from slope cutting and unloading (削坡减载), sold through the public
resource trading platform, the proceeds earmarked for the mine's restoration.

Under the natural-resources rules on surplus earth and stone from ecological restoration, the
material is sold by the county through the public resource trading platform and the income is
used for the restoration of that mine, never put into the general budget: every stream this
module returns is earmarked to the mine's restoration account (``REV-MATERIALS-EARMARK``) and
:func:`restora.revenue.streams.combine` keeps it apart from free revenue.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field, model_validator

from restora.revenue.streams import (
    RevenueStream,
    StreamSpec,
    price_path,
    priced_stream,
    quantity,
    uncertainty_field,
    years_from,
)


class MaterialsSpec(StreamSpec):
    """Inputs of a surplus earth-and-stone stream."""

    name: str = "surplus earth and stone"
    mine_id: str = Field(min_length=1, description="the mine whose restoration the money funds")
    destination: Literal["restoration_account"] = Field(
        "restoration_account", description="where the proceeds go (only the restoration account)"
    )
    start_year: int = quantity("first year of sales", "yr")
    volume_m3: list[float] = quantity("volume sold per year", "m**3/yr")
    price: float = quantity("platform clearing price in the first year", "CNY/m**3", gt=0)
    price_escalation: float = quantity("price growth", "1/yr", ge=-1, le=1, default=0.0)
    platform_fee_share: float = quantity(
        "trading-platform fees and taxes withheld from the gross", "1", ge=0, lt=1, default=0.0
    )
    low: float | None = uncertainty_field("low-case")
    high: float | None = uncertainty_field("high-case")

    @model_validator(mode="after")
    def _check(self) -> MaterialsSpec:
        if not self.volume_m3 or min(self.volume_m3) < 0:
            raise ValueError("volume_m3 needs non-negative volumes")
        return self


def materials_stream(spec: MaterialsSpec) -> RevenueStream:
    """Net proceeds of surplus earth and stone, earmarked for the mine's restoration.

    Parameters
    ----------
    spec : MaterialsSpec
        Volumes [m³/yr], clearing price [CNY/m³], escalation [1/yr], fee share [1].

    Returns
    -------
    RevenueStream
        Volume [m³], net price [CNY/m³] and net proceeds [CNY] per year, earmarked.

    Notes
    -----
    :math:`R_y = V_y\\,p_y\\,(1 - f)`.

    References
    ----------
    Ministry of Natural Resources (2019), 关于探索利用市场化方式推进矿山生态修复的意见
    (自然资规〔2019〕6号), art. on surplus earth and stone from restoration.
    """
    years = years_from(spec.start_year, len(spec.volume_m3))
    v = np.asarray(spec.volume_m3, dtype=np.float64)
    price = price_path(spec.price, years, spec.start_year, spec.price_escalation) * (
        1.0 - spec.platform_fee_share
    )
    return priced_stream(
        name=spec.name,
        kind="materials",
        years=years,
        quantity=v,
        quantity_unit="m**3",
        price=price,
        low=spec.low,
        high=spec.high,
        earmark=f"restoration account of mine {spec.mine_id}",
        rule_codes=("REV-MATERIALS-EARMARK",),
    )
