"""The mass ratio of CO2 to carbon, from the reference table of molecular weights.

One function for every package that turns carbon [t C] into CO2 [t CO2] or a price per t CO2
into a price per t C: GEP carbon fixation from stock change, carbon-sink credits, and the
InVEST-comparable carbon valuation.
"""

from __future__ import annotations

from typing import Any

from restora import refdata

CO2_PER_C_TABLE = "valuation/carbon/co2-per-c"


def co2_per_carbon(on: Any = None, region: str | None = None) -> tuple[float, dict[str, Any]]:
    """Mass of CO2 per mass of carbon [t CO2 / t C] and the provenance of its table.

    Notes
    -----
    :math:`r = M_{CO_2} / M_C = 44 / 12`, the molecular weights of the reference table
    ``valuation/carbon/co2-per-c``.

    References
    ----------
    2006 IPCC Guidelines for National Greenhouse Gas Inventories, Vol. 4, Ch. 2.

    Examples
    --------
    >>> round(co2_per_carbon(on="2024-01-01")[0], 6)
    3.666667
    """
    t = refdata.get(CO2_PER_C_TABLE, on=on, region=region)
    ratio = float(t.data["co2_molecular_weight"]) / float(t.data["c_molecular_weight"])
    return ratio, t.provenance()
