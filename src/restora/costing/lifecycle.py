"""Deterministic life-cycle cost of a restoration plan: direct lines, tiered indirect costs,
and the cost per year in constant, nominal and present-value terms.

Phases: survey and design, closure and hazard treatment, basic restoration, pollution
treatment, revegetation, post-closure maintenance, monitoring, verification (direct works of
the plan), plus contingency and management (indirect lines of the tier set; ED&C falls in
survey and design).

Timing: a work's cost is spread evenly over its ``years`` from ``start_year`` (a ``per_year``
work costs its quantity in each year). Indirect lines in the survey-and-design phase are paid
in year 0; the other indirect lines follow the direct cost's yearly profile.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from restora import refdata
from restora.costing.indirect import TierSet, apply_tiers, indirect_table, load_tiers
from restora.costing.unitcosts import CostLibrary, load_library, load_price_index, price_factor
from restora.errors import InputError
from restora.planning.model import ALL_PHASES, RestorationPlan, Work

ASSUMPTIONS = "costing/assumptions"


@dataclass(frozen=True)
class Assumptions:
    """Financial and uncertainty defaults (``costing/assumptions``)."""

    discount_rate: float
    escalation_rate: float
    unit_cost_correlation: float
    quantity_correlation: float
    distribution: str
    post_closure_years: int
    provenance: dict[str, Any] = field(default_factory=dict)


def load_assumptions(on: dt.date | str | None = None, region: str | None = None) -> Assumptions:
    """The life-cycle defaults in force."""
    t = refdata.get(ASSUMPTIONS, on=on, region=region)
    d = t.data
    return Assumptions(
        discount_rate=float(d["discount_rate"]),
        escalation_rate=float(d["escalation_rate"]),
        unit_cost_correlation=float(d["unit_cost_correlation"]),
        quantity_correlation=float(d["quantity_correlation"]),
        distribution=str(d["distribution"]),
        post_closure_years=int(d["post_closure_years"]),
        provenance=t.provenance(),
    )


_UNIT_NORMAL = (("²", "2"), ("³", "3"), ("**", ""), ("^", ""), ("·", "*"), (" ", ""))


def _norm_unit(u: str) -> str:
    u = u.strip().lower()
    for a, b in _UNIT_NORMAL:
        u = u.replace(a, b)
    u = re.sub(r"^(ha|hectare)", "hm2", u)
    return re.sub(r"(plants|株|trees?)$", "plant", u)


@dataclass(frozen=True)
class CostLine:
    """One direct-cost line: a work priced at the plan's price year."""

    site_id: str | None
    item: str
    kind: str
    phase: str
    unit: str
    quantity: float
    quantity_low: float
    quantity_high: float
    unit_cost: float
    unit_cost_low: float
    unit_cost_high: float
    price_factor: float
    start_year: int
    years: int
    where: str
    source: str = ""
    sourced: bool = False
    source_region: str = ""
    source_price_year: int = 0

    @property
    def amount(self) -> float:
        """Cost at the plan's price year [CNY] = quantity × unit cost."""
        return self.quantity * self.unit_cost

    def year_weights(self) -> dict[int, float]:
        """Share of the line's cost in each year offset (sums to 1)."""
        return {self.start_year + k: 1.0 / self.years for k in range(self.years)}


def direct_lines(
    plan: RestorationPlan, lib: CostLibrary, index: dict[int, float], where: str = "<plan>"
) -> list[CostLine]:
    """Price every work of a plan with the unit-cost library (likely, low, high).

    Raises
    ------
    InputError
        For an unknown item or a quantity unit that differs from the item's unit, naming the
        work's place in the plan (``sites.0.works.2``) and the field.
    """
    lines: list[CostLine] = []
    locs: list[tuple[str | None, Work, str]] = []
    for i, s in enumerate(plan.sites):
        locs.extend((s.site_id, w, f"sites.{i}.works.{j}") for j, w in enumerate(s.works))
    locs.extend((None, w, f"mine_works.{j}") for j, w in enumerate(plan.mine_works))
    for site_id, w, loc in locs:
        if w.item not in lib.items:
            raise InputError(
                f"unknown work item {w.item!r} (not in the unit-cost library)",
                file=where,
                row=loc,
                field="item",
            )
        uc = lib.items[w.item]
        if _norm_unit(w.unit) != _norm_unit(uc.unit):
            raise InputError(
                f"unit {w.unit!r} does not match the unit of item {w.item!r} ({uc.unit})",
                file=where,
                row=loc,
                field="unit",
            )
        f = price_factor(uc.price_year, plan.price_year, index)
        n = w.years if w.per_year else 1
        lines.append(
            CostLine(
                site_id=site_id,
                item=w.item,
                kind=uc.kind,
                phase=w.phase,
                unit=uc.unit,
                quantity=w.quantity * n,
                quantity_low=w.q_low * n,
                quantity_high=w.q_high * n,
                unit_cost=uc.likely * f,
                unit_cost_low=uc.low * f,
                unit_cost_high=uc.high * f,
                price_factor=f,
                start_year=w.start_year,
                years=w.years,
                where=loc,
                source=uc.source,
                sourced=uc.sourced,
                source_region=uc.region,
                source_price_year=uc.price_year,
            )
        )
    return lines


def money_factors(
    years: np.ndarray, start_year: int, price_year: int, escalation: float, discount: float
) -> tuple[np.ndarray, np.ndarray]:
    """Escalation and present-value factors for year offsets.

    Returns
    -------
    nominal : ndarray
        :math:`(1+e)^{S+t-P}` — constant price-year CNY → CNY of year :math:`S+t`.
    pv : ndarray
        :math:`(1+e)^{S+t-P} / (1+d)^t` — constant CNY → present value at the start year.
    """
    t = np.asarray(years, dtype=float)
    nominal = (1.0 + escalation) ** (start_year + t - price_year)
    return nominal, nominal / (1.0 + discount) ** t


@dataclass(frozen=True)
class Estimate:
    """A plan's deterministic life-cycle cost (most-likely quantities and unit costs)."""

    mine_id: str
    price_year: int
    start_year: int
    lines: list[CostLine]
    indirect: list[dict[str, Any]]
    direct_total: float
    indirect_total: float
    total: float
    by_phase: dict[str, float]
    by_year: pd.DataFrame
    nominal_total: float
    pv_total: float
    assumptions: Assumptions
    tiers: TierSet
    tables_used: list[dict[str, Any]]

    def line_rows(self) -> list[dict[str, Any]]:
        """Direct lines as rows (for tables and JSON)."""
        return [
            {
                "site_id": ln.site_id,
                "item": ln.item,
                "phase": ln.phase,
                "unit": ln.unit,
                "quantity": ln.quantity,
                "unit_cost_cny": ln.unit_cost,
                "amount_cny": ln.amount,
                "start_year": ln.start_year,
                "years": ln.years,
                "unit_cost_sourced": ln.sourced,
                "unit_cost_region": ln.source_region,
                "unit_cost_price_year": ln.source_price_year,
            }
            for ln in self.lines
        ]

    @property
    def unsourced_direct(self) -> float:
        """Direct cost [CNY] priced with unit costs marked engineering judgement."""
        return float(sum(ln.amount for ln in self.lines if not ln.sourced))


def yearly_profile(lines: list[CostLine], amounts: np.ndarray | None = None) -> dict[int, float]:
    """Direct cost per year offset [CNY at price year]."""
    out: dict[int, float] = {}
    for k, ln in enumerate(lines):
        amt = ln.amount if amounts is None else float(amounts[k])
        for y, w in ln.year_weights().items():
            out[y] = out.get(y, 0.0) + amt * w
    return dict(sorted(out.items()))


def estimate(
    plan: RestorationPlan,
    *,
    lib: CostLibrary | None = None,
    tiers: TierSet | None = None,
    assumptions: Assumptions | None = None,
    price_index: dict[int, float] | None = None,
    where: str = "<plan>",
    on: dt.date | str | None = None,
) -> Estimate:
    """Deterministic life-cycle cost of a plan.

    Parameters
    ----------
    plan : RestorationPlan
    lib, tiers, assumptions, price_index : optional
        Default: the tables in force on ``on`` for the plan's region (``costing/unit-costs``,
        ``costing/indirect/cn-default``, ``costing/assumptions``, ``prices/cn-cpi``).

    Returns
    -------
    Estimate

    Notes
    -----
    Direct cost :math:`D = \\sum_i q_i c_i f_i` with :math:`f_i` the price-index factor from the
    item's price year to the plan's. Indirect lines :math:`I_k` from the tier set applied to
    :math:`D`; total :math:`T = D + \\sum_k I_k`. Yearly constant-price cost :math:`R_t`; nominal
    :math:`N_t = R_t (1+e)^{S+t-P}`; present value :math:`PV = \\sum_t N_t/(1+d)^t`.
    """
    region = plan.region_code
    lib = lib or load_library(on=on, region=region)
    tiers = tiers or load_tiers("cn-default", on=on, region=region)
    assumptions = assumptions or load_assumptions(on=on, region=region)
    idx_prov: dict[str, Any] | None = None
    if price_index is None:
        price_index, idx_prov = load_price_index(on=on, region=region)
    lines = direct_lines(plan, lib, price_index, where)
    direct = float(sum(ln.amount for ln in lines))
    ind = indirect_table(direct, tiers)
    ind_total = float(sum(r["amount"] for r in ind))
    by_phase = dict.fromkeys(ALL_PHASES, 0.0)
    for ln in lines:
        by_phase[ln.phase] += ln.amount
    for r in ind:
        by_phase[r["phase"]] = by_phase.get(r["phase"], 0.0) + r["amount"]

    profile = yearly_profile(lines)
    years = sorted(set(profile) | {0})
    real = np.array([profile.get(y, 0.0) for y in years])
    share = real / direct if direct > 0 else np.zeros_like(real)
    upfront = sum(r["amount"] for r in ind if r["phase"] == "survey_design")
    spread = ind_total - upfront
    real = real + spread * share
    real[years.index(0)] += upfront
    nom_f, pv_f = money_factors(
        np.array(years),
        plan.start_year,
        plan.price_year,
        assumptions.escalation_rate,
        assumptions.discount_rate,
    )
    by_year = pd.DataFrame(
        {
            "year": [plan.start_year + y for y in years],
            "offset": years,
            "real_cny": real,
            "nominal_cny": real * nom_f,
            "pv_cny": real * pv_f,
        }
    )
    tables = [*lib.tables, tiers.provenance, assumptions.provenance]
    if idx_prov:
        tables.append(idx_prov)
    return Estimate(
        mine_id=plan.mine_id,
        price_year=plan.price_year,
        start_year=plan.start_year,
        lines=lines,
        indirect=ind,
        direct_total=direct,
        indirect_total=ind_total,
        total=direct + ind_total,
        by_phase=by_phase,
        by_year=by_year,
        nominal_total=float(by_year["nominal_cny"].sum()),
        pv_total=float(by_year["pv_cny"].sum()),
        assumptions=assumptions,
        tiers=tiers,
        tables_used=[t for t in tables if t],
    )


def total_for_direct(direct: Any, tiers: TierSet) -> np.ndarray:
    """Total cost [currency] = direct + all tiered indirect lines, vectorised over ``direct``."""
    d = np.asarray(direct, dtype=float)
    return d + sum(apply_tiers(d, tiers).values(), np.zeros_like(d))
