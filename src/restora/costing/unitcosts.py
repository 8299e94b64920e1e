"""The unit-cost library and the price index that moves costs between price years.

Unit costs live in ``refdata/tables/costing/unit-costs.yaml`` (national, indicative) and in
regional versions users add; a regional table overrides the national rows item by item.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

import pandas as pd

from restora import refdata
from restora.errors import InputError, Problem, RestoraError
from restora.planning.model import PHASES

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

    @property
    def newest_price_year(self) -> int:
        """The newest price year of the library's unit costs [yr] (a plan's default)."""
        return max(u.price_year for u in self.items.values())

    def __getitem__(self, item: str) -> UnitCost:
        try:
            return self.items[item]
        except KeyError:
            raise InputError(
                f"unknown work item {item!r} (not in the unit-cost library; "
                "add it to a regional costing/unit-costs table)",
                field="item",
            ) from None


def _blank(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v)) or str(v).strip() == ""


def _rows(t: refdata.RefTable) -> dict[str, UnitCost]:
    """Validate a unit-cost table row by row; every problem names the file, row and column.

    A user's provincial table is checked like the shipped one: numbers must be numbers,
    ``low <= likely <= high`` and not negative, the phase one of the life-cycle phases, the
    price year a year, and the source said (a row with no source would pass for published).
    """
    df = t.frame()
    where = str(t.origin)
    missing = [c for c in _COLUMNS if c not in df.columns]
    if missing:
        raise InputError(f"unit-cost table lacks columns {missing}", file=where)
    problems: list[Problem] = []
    out: dict[str, UnitCost] = {}
    seen: dict[str, int] = {}
    for i, r in enumerate(df.to_dict("records"), start=1):
        item = "" if _blank(r["item"]) else str(r["item"]).strip()
        row = f"row {i} ({item})" if item else i

        def bad(msg: str, col: str, row: int | str = row) -> None:
            problems.append(Problem(msg, file=where, row=row, field=col))

        if not item:
            bad("is empty: every row needs the work-item key used in plans", "item")
        elif item in seen:
            bad(f"appears twice in this table (first at row {seen[item]})", "item")
        else:
            seen[item] = i
        for col in ("kind", "unit"):
            if _blank(r[col]):
                bad("is empty", col)
        if _blank(r["phase"]) or str(r["phase"]).strip() not in PHASES:
            bad(f"{r['phase']!r} is not a phase; one of {', '.join(PHASES)}", "phase")
        nums: dict[str, float] = {}
        for col in ("low", "likely", "high"):
            v = r[col]
            if _blank(v):
                bad("is empty: fill it from the quota, or delete the row to keep the "
                    "national figure", col)  # fmt: skip
                continue
            try:
                x = float(str(v).replace(",", ""))
            except ValueError:
                bad(f"{v!r} is not a number [CNY per {r['unit']}]", col)
                continue
            if not math.isfinite(x) or x < 0:
                bad(f"{v!r} must be a finite cost >= 0", col)
                continue
            nums[col] = x
        if len(nums) == 3 and not nums["low"] <= nums["likely"] <= nums["high"]:
            bad(
                f"needs low <= likely <= high (got {nums['low']:g}, {nums['likely']:g}, "
                f"{nums['high']:g})",
                "likely",
            )
        year = _year(r["price_year"])
        if year is None:
            bad(
                "is empty: the year of the quota's prices (e.g. 2023)"
                if _blank(r["price_year"])
                else f"{r['price_year']!r} is not a price year (e.g. 2023)",
                "price_year",
            )
        if _blank(r["source"]):
            bad(
                "is empty: say where the figures come from (quota, information price, tender), "
                f"or write {UNSOURCED!r}",
                "source",
            )
        if problems or year is None:
            continue
        out[item] = UnitCost(
            item=item,
            name=item if _blank(r.get("name")) else str(r["name"]),
            kind=str(r["kind"]).strip(),
            phase=str(r["phase"]).strip(),
            unit=str(r["unit"]).strip(),
            low=nums["low"],
            likely=nums["likely"],
            high=nums["high"],
            price_year=year,
            source=str(r["source"]).strip(),
            indicative=_flag(r.get("indicative", True)),
            region=t.region,
        )
    if problems:
        raise InputError(problems=problems)
    return out


def _year(v: Any) -> int | None:
    """A price year from a cell (2023, 2023.0 or "2023"), or None."""
    if _blank(v):
        return None
    try:
        x = float(str(v).strip())
    except ValueError:
        return None
    return int(x) if x.is_integer() and 1900 <= x <= 2200 else None


def _flag(v: Any) -> bool:
    """``indicative`` column: blank means True (a user's table says False for a real quota)."""
    if _blank(v):
        return True
    if isinstance(v, bool):
        return v
    return str(v).strip().lower() not in ("false", "0", "no", "n", "否")


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
        except InputError:
            raise  # a user's table that cannot be read must not be skipped silently
        except RestoraError:  # no version in force at this level of the chain
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
    """The library as a table (for display), with ``sourced`` per row."""
    return pd.DataFrame([{**u.__dict__, "sourced": u.sourced} for u in lib.items.values()])


#: Columns a user fills in a provincial template; the ``national_*`` columns are for comparison
#: and are ignored when the table is loaded.
TEMPLATE_FILL = ("low", "likely", "high", "price_year", "source")


def template_frame(lib: CostLibrary, which: str = "all") -> pd.DataFrame:
    """A provincial unit-cost table to fill: one row per item, the cost columns left empty.

    Parameters
    ----------
    lib : CostLibrary
        The library in force (its figures are copied into ``national_*`` columns to compare).
    which : {"all", "unsourced"}
        Every item, or only those whose figures are engineering judgement (replace these first).

    Rows left empty fail to load with a message naming them; delete a row to keep the
    national figure for that item.
    """
    if which not in ("all", "unsourced"):
        raise InputError("must be 'all' or 'unsourced'", field="--items")
    rows = []
    for u in lib.items.values():
        if which == "unsourced" and u.sourced:
            continue
        rows.append(
            {
                "item": u.item,
                "name": u.name,
                "kind": u.kind,
                "phase": u.phase,
                "unit": u.unit,
                **dict.fromkeys(TEMPLATE_FILL, ""),
                "indicative": False,
                "national_low": u.low,
                "national_likely": u.likely,
                "national_high": u.high,
                "national_price_year": u.price_year,
                "national_source": u.source,
            }
        )
    return pd.DataFrame(rows)


def template_meta(region: str, valid_from: str, file_name: str) -> dict[str, Any]:
    """The YAML document that registers a filled template as a regional version."""
    return {
        "title": f"Unit costs of mine-restoration work items, region {region}",
        "source": "FILL IN: the provincial quota (定额) and information prices (信息价) used",
        "unit": "CNY per item unit (column unit), at the row's price_year",
        "versions": [
            {
                "valid_from": valid_from,
                "version": f"{region}-{valid_from[:4]}",
                "region": region,
                ("xlsx" if file_name.endswith(".xlsx") else "csv"): file_name,
            }
        ],
    }
