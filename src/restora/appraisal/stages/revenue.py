"""Stage 4 — revenue: the project's revenue streams by calendar year.

Each stream of the project file runs through its model in :mod:`restora.revenue` (quotas,
carbon-sink credits, surplus earth and stone, land rights, operations, subsidies);
:func:`restora.revenue.combine` adds them by year and keeps earmarked money apart.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from restora.appraisal.project import ProjectSpec
from restora.appraisal.stages.base import (
    NOMINAL,
    NOT_ASSESSED,
    StageResult,
    not_assessed_reason,
    records,
)
from restora.revenue.streams import RevenueStream


@dataclass(frozen=True, kw_only=True)
class RevenueResult(StageResult):
    """The project's revenue.

    Attributes
    ----------
    streams : tuple of RevenueStream
        Each stream by year: quantity, price, central/low/high revenue [CNY].
    by_year : pandas.DataFrame
        ``year``, ``revenue``, ``revenue_low``, ``revenue_high`` (unrestricted) and
        ``earmarked`` [CNY] (:func:`restora.revenue.combine`).
    flags : tuple of str
        The streams' findings.
    """

    name = "revenue"

    streams: tuple[RevenueStream, ...] = ()
    by_year: pd.DataFrame = field(default_factory=pd.DataFrame)
    flags: tuple[str, ...] = ()

    def section(self) -> dict[str, Any]:
        t = self.by_year
        return {
            "streams": [s.to_dict() for s in self.streams],
            "by_year": records(t),
            "total_unrestricted_cny": float(t["revenue"].sum()),
            "total_unrestricted_low_cny": float(t["revenue_low"].sum()),
            "total_unrestricted_high_cny": float(t["revenue_high"].sum()),
            "total_earmarked_cny": float(t["earmarked"].sum()),
            "flags": list(self.flags),
            "price_basis": dict(NOMINAL),
        }


def run(
    spec: ProjectSpec, *, file: str | None = None, on: dt.date | str | None = None
) -> RevenueResult:
    """Run the project's revenue streams.

    Parameters
    ----------
    spec : ProjectSpec
        ``revenue_streams`` (mappings for :func:`restora.revenue.build`).
    file : str, optional
        The project file, for error messages.
    on : date or str, optional
        Date of the appraisal: the carbon price in force then (a stream's ``price_on`` wins).

    Returns
    -------
    RevenueResult
        Not assessed when the project gives no stream.
    """
    from restora.revenue import build_all, combine

    if not spec.revenue_streams:
        return RevenueResult(
            status=NOT_ASSESSED,
            reason=not_assessed_reason("the project file gives no revenue streams"),
        )
    # a carbon price is read as of the appraisal's date unless the stream fixes its own
    items = [
        {**it, "price_on": on}
        if isinstance(it, dict) and it.get("stream") == "carbon" and "price_on" not in it and on
        else it
        for it in spec.revenue_streams
    ]
    streams = tuple(build_all(items, file=file))
    tables: dict[str, dict[str, Any]] = {}
    for s in streams:
        for t in s.tables_used:
            tables[f"{t.get('name')}@{t.get('version')}"] = dict(t)
    return RevenueResult(
        method="stream models of restora.revenue (quotas, carbon credits, surplus earth "
        "and stone, land rights, operations, subsidies); low/high add as a bound",
        streams=streams,
        by_year=combine(list(streams)),
        flags=tuple(f for s in streams for f in s.flags),
        rule_codes=tuple(sorted({c for s in streams for c in s.rule_codes})),
        tables=tuple(tables.values()),
    )
