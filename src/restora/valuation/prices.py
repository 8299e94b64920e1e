"""Price-year conversion of money values through an annual price-index table.

Money in Restora is CNY with its price year (DESIGN.md, "Units and money"). Values move between
price years by chaining an annual index with the previous year = 100, read from reference data
(default ``prices/cn-cpi``, China's CPI as published by the NBS) or supplied by
the user as a mapping ``{year: index}``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from restora import refdata
from restora.errors import RestoraError

DEFAULT_INDEX = "prices/cn-cpi"


@dataclass(frozen=True)
class PriceIndex:
    """An annual chain index: ``index[y]`` is year ``y`` with the previous year = 100."""

    name: str
    index: Mapping[int, float]
    provenance: Mapping[str, Any] | None = None

    @classmethod
    def load(
        cls, name: str = DEFAULT_INDEX, on: dt.date | str | None = None, region: str | None = None
    ) -> PriceIndex:
        """Read an index table (rows ``year``, ``index``) from reference data."""
        table = refdata.get(name, on=on, region=region)
        rows = table.frame()
        return cls(
            name=name,
            index={int(y): float(v) for y, v in zip(rows["year"], rows["index"], strict=True)},
            provenance=table.provenance(),
        )

    def factor(self, from_year: int, to_year: int) -> float:
        """Multiplier turning CNY of ``from_year`` into CNY of ``to_year`` [dimensionless].

        Notes
        -----
        For ``to_year > from_year``: :math:`f = \\prod_{y=from+1}^{to} I_y / 100`; for
        ``to_year < from_year`` the reciprocal of the forward factor; 1 for the same year.

        Raises
        ------
        RestoraError
            When a year the chain needs is missing from the index (a gap), naming it.
        """
        if from_year == to_year:
            return 1.0
        lo, hi = sorted((int(from_year), int(to_year)))
        missing = [y for y in range(lo + 1, hi + 1) if y not in self.index]
        if missing:
            raise RestoraError(
                f"price index {self.name} has no value for year(s) "
                f"{', '.join(map(str, missing))}, needed to convert {from_year} CNY to "
                f"{to_year} CNY; add them in a user table or pass your own index"
            )
        f = 1.0
        for y in range(lo + 1, hi + 1):
            f *= self.index[y] / 100.0
        return f if to_year > from_year else 1.0 / f


def convert(
    value: float,
    from_year: int | None,
    to_year: int | None,
    index: PriceIndex | Mapping[int, float] | None = None,
) -> float:
    """Convert a money value between price years [CNY of ``to_year``].

    Parameters
    ----------
    value : float
        Money value [CNY of ``from_year``].
    from_year, to_year : int or None
        Price years; when either is None the value is returned unchanged.
    index : PriceIndex or mapping {year: index (previous year = 100)}, optional
        Default: the CPI table ``prices/cn-cpi``.

    Examples
    --------
    >>> round(convert(100.0, 2022, 2024, {2023: 100.2, 2024: 100.2}), 4)
    100.4004
    """
    if from_year is None or to_year is None or from_year == to_year:
        return float(value)
    if index is None:
        idx = PriceIndex.load()
    elif isinstance(index, PriceIndex):
        idx = index
    else:
        idx = PriceIndex(name="user index", index={int(k): float(v) for k, v in index.items()})
    return float(value) * idx.factor(from_year, to_year)
