"""The unit-cost library and the price index that moves costs between price years.

Unit costs live in ``refdata/tables/costing/unit-costs.yaml`` (national, indicative) and in
regional versions users add; a regional table overrides the national rows item by item.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pandas as pd

from restora import refdata
from restora.errors import InputError, RestoraError

UNIT_COSTS = "costing/unit-costs"
PRICE_INDEX = "prices/cn-cpi"
_COLUMNS = ("item", "kind", "phase", "unit", "low", "likely", "high", "price_year", "source")
#: How a row whose figures rest on no publication says so in its ``source`` column.
UNSOURCED = "unsourced (engineering judgement)"


@dataclass(frozen=True)
class UnitCost:
    """One item's unit cost range [CNY/unit] at ``price_year``."""

    item: str
    name: str
    kind: str
    phase: str
    unit: str
    low: float
    likely: float
    high: float
    price_year: int
    source: str
    indicative: bool
    region: str

    @property
    def sourced(self) -> bool:
        """True when the most-likely figure comes from a named document (not judgement)."""
        return not self.source.strip().lower().startswith("unsourced")


@dataclass(frozen=True)
class CostLibrary:
    """Unit costs by item, with the tables (provenance) they came from."""

    items: dict[str, UnitCost]
    tables: tuple[dict[str, Any], ...]

    def __getitem__(self, item: str) -> UnitCost:
        try:
            return self.items[item]
        except KeyError:
            raise InputError(
                f"unknown work item {item!r} (not in the unit-cost library; "
                "add it to a regional costing/unit-costs table)",
                field="item",
            ) from None


def _rows(t: refdata.RefTable) -> dict[str, UnitCost]:
    df = t.frame()
    missing = [c for c in _COLUMNS if c not in df.columns]
    if missing:
        raise InputError(f"unit-cost table lacks columns {missing}", file=t.origin)
    out = {}
    for i, r in enumerate(df.to_dict("records"), start=1):
        lo, ml, hi = float(r["low"]), float(r["likely"]), float(r["high"])
        if not lo <= ml <= hi:
            raise InputError("needs low <= likely <= high", file=t.origin, row=i, field="likely")
        out[str(r["item"])] = UnitCost(
            item=str(r["item"]),
            name=str(r.get("name", r["item"])),
            kind=str(r["kind"]),
            phase=str(r["phase"]),
            unit=str(r["unit"]),
            low=lo,
            likely=ml,
            high=hi,
            price_year=int(r["price_year"]),
            source=str(r["source"]),
            indicative=bool(r.get("indicative", True)),
            region=t.region,
        )
    return out


def load_library(on: dt.date | str | None = None, region: str | None = None) -> CostLibrary:
    """The unit costs in force on ``on`` for ``region``: national rows, overridden by regional.

    Parameters
    ----------
    on : date, optional
        Date whose tables apply (default today).
    region : str, optional
        6-digit GB/T 2260 code; the county, prefecture and province versions override the
        national rows item by item (most specific wins).
    """
    chain = refdata.region_chain(region)
    items: dict[str, UnitCost] = {}
    tables: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    for code in reversed(chain):  # national first, most specific last
        try:
            t = refdata.get(UNIT_COSTS, on=on, region=code)
        except RestoraError:
            continue
        if (t.region, t.version) in seen:  # fell back to a less specific version
            continue
        seen.add((t.region, t.version))
        items.update(_rows(t))
        tables.append(t.provenance())
    if not items:
        raise RestoraError(f"no unit-cost table in force for region {region or '000000'}")
    return CostLibrary(items=items, tables=tuple(tables))


def price_factor(from_year: int, to_year: int, index: dict[Any, Any]) -> float:
    """Factor that moves a price from ``from_year`` to ``to_year`` prices.

    Parameters
    ----------
    from_year, to_year : int
        Price years.
    index : mapping
        Annual index, preceding year = 100, keyed by year.

    Returns
    -------
    float
        ``prod(index[y] / 100 for y in (from_year, to_year])`` when moving forward, its inverse
        when moving back; 1 when the years are equal.

    Notes
    -----
    .. math:: f = \\prod_{y=a+1}^{b} I_y / 100
    """
    idx = {int(k): float(v) for k, v in index.items()}
    a, b = sorted((from_year, to_year))
    f = 1.0
    for y in range(a + 1, b + 1):
        if y not in idx:
            raise RestoraError(
                f"price index has no value for {y} (needed to move prices {from_year}→{to_year}); "
                f"add it to {PRICE_INDEX}"
            )
        f *= idx[y] / 100.0
    return f if to_year >= from_year else 1.0 / f


def load_price_index(
    on: dt.date | str | None = None, region: str | None = None
) -> tuple[dict[int, float], dict[str, Any]]:
    """The price index in force and its provenance."""
    t = refdata.get(PRICE_INDEX, on=on, region=region)
    return {int(r["year"]): float(r["index"]) for r in t.data}, t.provenance()


def library_frame(lib: CostLibrary) -> pd.DataFrame:
    """The library as a table (for display)."""
    return pd.DataFrame([u.__dict__ for u in lib.items.values()])
