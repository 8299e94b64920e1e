"""Stage 7 — financing: each structure of the project file, and all of them combined.

Each instrument runs by its own method (:mod:`restora.finance.instruments`, year 1 = period 1
of the project). Then the loans, bonds and the benefit-sharing agreement are combined over the
project's periods (:func:`restora.finance.structure.build`): sources and uses of funds over
the construction period, the cash-flow waterfall after it, and each covenant tested every
year of its term.

Defaults the stage fills from the project's own figures:

- the construction period ends with the last year of cost in a works phase (the cost stage's
  estimates, :func:`restora.finance.sources_uses.construction_end_year`);
- the CFADS of the structure is the cash-flow stage's revenue − opex, less the grants of
  construction years (sources of funds) and less the life-cycle cost after construction
  (:func:`restora.finance.structure.structure_cfads`), never floored: a deficit shows;
- a pledge loan without ``rights`` pledges the unrestricted streams from period 1, and
  without ``cfads`` is tested against the structure's CFADS;
- a special-bond project without ``revenue`` is this project's allocation and takes the
  structure's CFADS (so does a pooled project named like the project or one of its mines);
- a benefit-sharing agreement without ``distributable_income`` shares the cash left after
  debt service in each operating year, and without ``company_capital`` the sponsor's
  construction equity earns the priority return.
"""

from __future__ import annotations

import copy
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np

from restora.appraisal.project import ProjectSpec
from restora.appraisal.stages.base import (
    NOMINAL,
    NOT_ASSESSED,
    StageResult,
    not_assessed_reason,
    unique_tables,
)
from restora.appraisal.stages.cashflow import CashflowResult
from restora.appraisal.stages.cost import CostResult
from restora.appraisal.stages.revenue import RevenueResult
from restora.errors import InputError
from restora.finance.cashflow import DebtSchedule
from restora.finance.instruments import InstrumentResult
from restora.finance.sources_uses import Grant
from restora.finance.structure import Structure
from restora.finance.waterfall import Obligation, SharingTerms

#: Instruments the combined structure pays from the project's cash.
COMBINED = ("pledge-loan", "performance-bond", "special-bond", "benefit-sharing")
#: Why the others are shown on their own.
NOT_COMBINED = {
    "guarantee": "credit support: the guarantee fund and insurance pay only on a default or a "
    "peril, not in the base case",
    "ppp": "a concession's availability payments and subsidy are the project's revenue; give "
    "them as revenue streams to combine them (adding them here would count them twice)",
}
TERM_KEYS = {
    "pledge-loan": "tenor_years",
    "performance-bond": "term_years",
    "special-bond": "term_years",
}


@dataclass(frozen=True, kw_only=True)
class FinancingResult(StageResult):
    """The financing structures tested.

    Attributes
    ----------
    instruments : tuple of InstrumentResult
        Each instrument's result (:func:`restora.finance.instruments.run_instrument`):
        summary, schedule, rule codes, flags, tables.
    debt : DebtSchedule or None
        The first pledge loan's own schedule (the instrument's interest and principal, drawn in
        period 0) over the project's periods [CNY], for the risk stage.
    structure : Structure or None
        The instruments combined (:func:`restora.finance.structure.build`): sources and uses,
        waterfall and covenant tests [CNY, nominal].
    streams : tuple of dict
        Which cash each revenue stream is: ``{name, kind, earmark, to_sources_cny,
        to_cfads_cny, earmarked_cny}`` [CNY, nominal].
    not_combined : tuple of dict
        ``{instrument, reason}`` of the instruments shown only on their own.
    notes : tuple of str
        Findings of the combination itself (``FIN-STRUCT-SHARE-INPUT`` …).
    """

    name = "financing"

    instruments: tuple[InstrumentResult, ...] = ()
    debt: DebtSchedule | None = None
    structure: Structure | None = None
    streams: tuple[dict[str, Any], ...] = ()
    not_combined: tuple[dict[str, str], ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def structure_flags(self) -> list[str]:
        """The combined structure's findings, with the stage's own notes."""
        return [] if self.structure is None else [*self.structure.flags(), *self.notes]

    @property
    def flags(self) -> list[str]:
        return [f for r in self.instruments for f in r.flags] + self.structure_flags

    def section(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "instruments": [r.to_dict() for r in self.instruments],
            "price_basis": dict(NOMINAL),
        }
        if self.structure is not None:
            s = self.structure
            out["structure"] = {
                "status": "assessed",
                "method": "sources and uses over the construction period, balanced by the "
                "sponsor's equity; cash-flow cascade after it (senior debt, debt-service "
                "reserve, bonds, benefit sharing, equity; Yescombe 2014); DSCR and LLCR of "
                "each covenant every year of its term",
                **s.to_json(),
                "streams": list(self.streams),
                "not_combined": list(self.not_combined),
                "flags": self.structure_flags,
                "rule_codes": sorted({*s.rule_codes(), *(f.split(":", 1)[0] for f in self.notes)}),
            }
        out["flags"] = self.flags
        return out


def _grants(revenue: RevenueResult, y0: int, n: int) -> list[Grant]:
    """Each subsidy stream's payment per year within periods 0 … n-1, with its probability."""
    out: list[Grant] = []
    for s in revenue.streams:
        if s.kind != "subsidy" or s.earmark is not None:
            continue
        for y, v in zip(s.years.astype(int), s.revenue, strict=True):
            if not 0 <= y - y0 < n or v == 0:
                continue
            cont = tuple(
                {
                    "amount_cny": float(c.amount),
                    "probability": float(c.probability),
                    "expected_cny": float(c.amount * c.probability),
                    "kind": c.kind,
                    "condition": c.condition,
                }
                for c in s.contingent
                if int(c.year) == int(y)
            )
            out.append(Grant(s.name, int(y - y0), float(v), cont))
    return out


def _stream_roles(
    revenue: RevenueResult, y0: int, end: int, horizon: int
) -> tuple[dict[str, Any], ...]:
    """What each stream pays for: sources (construction grants), CFADS, or its own account."""
    out = []
    for s in revenue.streams:
        t = s.years.astype(int) - y0
        inside = (t >= 0) & (t <= horizon)
        v = np.where(inside, s.revenue, 0.0)
        grant = s.kind == "subsidy" and s.earmark is None
        to_sources = float(v[(t <= end)].sum()) if grant else 0.0
        out.append(
            {
                "name": s.name,
                "kind": s.kind,
                "earmark": s.earmark,
                "to_sources_cny": to_sources,
                "to_cfads_cny": 0.0 if s.earmark is not None else float(v.sum()) - to_sources,
                "earmarked_cny": float(v.sum()) if s.earmark is not None else 0.0,
            }
        )
    return tuple(out)


def _lifecycle(
    cost: CostResult, y0: int, n_h: int, n: int
) -> tuple[dict[str, np.ndarray], int, str]:
    """Life-cycle cost by phase over periods (T,) [CNY], the last construction period, basis."""
    from restora.finance.sources_uses import UNPHASED, construction_end_year, lifecycle_by_phase

    if cost.estimates:
        by = lifecycle_by_phase(cost.estimates)
        basis = "last year with cost in a works phase (survey and design, closure and hazard, "
        basis += "basic restoration, pollution, revegetation) of the cost estimate"
    else:
        by = {int(y): {UNPHASED: float(v)} for y, v in cost.capex_nominal.items()}
        basis = "last year with life-cycle cost (the cost result gives no phases)"
    life: dict[str, np.ndarray] = {}
    for year, phases in by.items():
        t = year - y0
        if not 0 <= t < n_h:  # as the cash-flow stage: cost outside the horizon is reported there
            continue
        for ph, v in phases.items():
            life.setdefault(ph, np.zeros(n))[t] += v
    last = construction_end_year(by)
    end = 0 if last is None else int(np.clip(last - y0, 0, n_h - 1))
    return life, end, basis


def _debt_schedule(loan: Obligation, rate: float, n: int) -> DebtSchedule:
    """The loan's own schedule over the project's periods 0 … n-1, as the risk stage reads it.

    Drawdown, interest and principal are the instrument's (grace and amortisation included);
    a loan running past the horizon is cut at its last period.
    """
    drawn = loan.proceeds[:n]
    interest = loan.interest[:n]
    repaid = loan.principal[:n]
    paid_by = np.flatnonzero(interest + repaid > 0)
    return DebtSchedule(
        drawdown=drawn[None, :].copy(),
        interest=interest[None, :].copy(),
        repayment=repaid[None, :].copy(),
        outstanding=np.cumsum(drawn - repaid)[None, :],
        rate=rate,
        maturity=int(paid_by[-1]) if paid_by.size else 0,
    )


def _as_int(v: Any) -> int:
    """A term in years as given, 0 when it is not a number (the instrument's spec says why)."""
    try:
        return int(v)
    except (TypeError, ValueError):
        return 0


def _pad(a: np.ndarray, n: int) -> np.ndarray:
    out = np.zeros(n)
    out[: min(n, a.size)] = a[:n]
    return out


def run(
    spec: ProjectSpec,
    cost: CostResult,
    revenue: RevenueResult,
    cashflow: CashflowResult,
    *,
    file: str | None = None,
) -> FinancingResult:
    """Run each financing structure of the project and combine them.

    Parameters
    ----------
    spec : ProjectSpec
        ``financing`` items (instrument name and inputs, money in CNY, rates in [1/yr]).
    cost : CostResult
        The life-cycle cost by phase and year [CNY, nominal] (uses of funds).
    revenue : RevenueResult
        The streams (pledged rights, grants).
    cashflow : CashflowResult
        Revenue, opex [CNY, nominal] per period.
    file : str, optional
        The project file, for error messages.

    Returns
    -------
    FinancingResult
        Not assessed when the project names no structure.
    """
    from restora.finance import structure as fs
    from restora.finance import waterfall as wf
    from restora.finance.instruments import run_instrument
    from restora.finance.instruments._spec import parse
    from restora.finance.instruments.benefit_sharing import BenefitSharingSpec
    from restora.finance.instruments.pledge_loan import rights_from_streams
    from restora.finance.instruments.special_bond import SpecialBondSpec, debt_service

    if not spec.financing:
        return FinancingResult(
            status=NOT_ASSESSED,
            reason=not_assessed_reason("the project file names no financing structure"),
        )
    horizon = spec.horizon_years
    n_h = horizon + 1
    y0 = spec.start_year
    terms = [
        _as_int(item.inputs.get(TERM_KEYS[item.instrument]))
        for item in spec.financing
        if item.instrument in TERM_KEYS
    ]
    n = max(n_h, 1 + max(terms, default=0))
    years = np.arange(y0, y0 + n)
    life, end, basis = _lifecycle(cost, y0, n_h, n)
    rev = _pad(cashflow.flows.revenue[0], n)
    opex = _pad(cashflow.flows.opex[0], n)
    grants = _grants(revenue, y0, n_h) if revenue.assessed else []
    g = np.zeros(n)
    for it in grants:
        g[it.period] += it.expected
    life_total = np.sum(list(life.values()), axis=0) if life else np.zeros(n)
    cfads = fs.structure_cfads(rev - opex, g, life_total, end)

    counts = Counter(item.instrument for item in spec.financing)
    seen: Counter[str] = Counter()
    results: dict[int, InstrumentResult] = {}
    obligations: list[Obligation] = []
    sharing: SharingTerms | None = None
    sharing_index: int | None = None
    not_combined: list[dict[str, str]] = []
    notes: list[str] = []
    debt = None
    own_names = {spec.project_id, *spec.mines}
    for i, item in enumerate(spec.financing):
        seen[item.instrument] += 1
        label = (
            item.instrument
            if counts[item.instrument] == 1
            else f"{item.instrument} {seen[item.instrument]}"
        )
        inputs = copy.deepcopy(dict(item.inputs))
        mine: set[str] = set()
        if item.instrument == "pledge-loan":
            tenor = int(inputs.get("tenor_years", horizon))
            if "rights" not in inputs:
                if not revenue.assessed:
                    raise InputError(
                        "a pledge loan needs rights or the project's revenue streams",
                        file=file,
                        field=f"financing.{i}.inputs.rights",
                    )
                inputs["rights"] = rights_from_streams(revenue.streams, y0 + 1, tenor)
            if "cfads" not in inputs:
                inputs["cfads"] = _pad(cfads[1:], tenor).tolist()
            else:
                notes.append(
                    f"FIN-STRUCT-CFADS-INPUT: {label} is tested by the instrument against the "
                    "file's cfads; the structure's covenant table uses the project's CFADS"
                )
        if item.instrument == "special-bond":
            for p in inputs.get("projects", []):
                if isinstance(p, dict):
                    if "revenue" not in p:
                        p["revenue"] = cfads[1:n_h].tolist()
                        mine.add(str(p.get("name")))
                    elif p.get("name") in own_names:
                        mine.add(str(p["name"]))
        if item.instrument == "benefit-sharing":
            if sharing_index is None:
                # validate now; the income and the capital may come from the structure
                terms_in = parse(
                    BenefitSharingSpec,
                    {"distributable_income": [0.0], "company_capital": 0.0, **inputs},
                    file=file,
                    prefix=f"financing.{i}.inputs",
                )
                sharing_index = i
                sharing = SharingTerms(
                    village_minimum=terms_in.village_minimum,
                    company_capital=float(inputs["company_capital"])
                    if "company_capital" in inputs
                    else None,
                    priority_rate=terms_in.priority_rate,
                    cumulative_priority=terms_in.cumulative_priority,
                    land_share=terms_in.village_land_share,
                    labour_share=terms_in.village_labour_share,
                    years=max(horizon - end, 0),
                )
                continue
            not_combined.append(
                {
                    "instrument": label,
                    "reason": "one benefit-sharing agreement is combined (the first of the file)",
                }
            )
        res = run_instrument(item.instrument, inputs, file=file, prefix=f"financing.{i}.inputs")
        results[i] = res
        if item.instrument == "pledge-loan":
            obligations.append(wf.from_pledge_loan(res, inputs, n, name=label))
            if debt is None and res.summary.get("amount"):
                debt = _debt_schedule(obligations[-1], float(inputs["interest_rate"]), n_h)
        elif item.instrument == "performance-bond":
            obligations.append(
                wf.from_performance_bond(
                    res,
                    n,
                    name=label,
                    issuance_cost_rate=float(inputs.get("issuance_cost_rate", 0.0)),
                )
            )
        elif item.instrument == "special-bond":
            sb = parse(SpecialBondSpec, inputs, file=file, prefix=f"financing.{i}.inputs")
            allotted = {p.name: p.principal for p in sb.projects if p.name in mine}
            if allotted:
                obligations.append(
                    wf.from_special_bond(
                        res, debt_service(sb), allotted, sb.coupon_rate, n, name=label
                    )
                )
            else:
                not_combined.append(
                    {
                        "instrument": label,
                        "reason": "no project of the pool is this project's (each gives its own "
                        "revenue and none is named after the project or its mines)",
                    }
                )
        elif item.instrument in NOT_COMBINED:
            not_combined.append({"instrument": label, "reason": NOT_COMBINED[item.instrument]})

    structure = fs.build(
        years,
        revenue=rev,
        opex=opex,
        lifecycle=life,
        end=end,
        grants=grants,
        earmarked=_pad(cashflow.earmarked, n),
        obligations=obligations,
        sharing=sharing,
        horizon_end=horizon,
        construction_basis=basis,
    )
    if sharing_index is not None:
        inputs = copy.deepcopy(dict(spec.financing[sharing_index].inputs))
        used = structure.sharing
        assert used is not None and used.company_capital is not None
        inputs.setdefault("company_capital", used.company_capital)
        if "distributable_income" in inputs:
            notes.append(
                "FIN-STRUCT-SHARE-INPUT: the benefit-sharing instrument shares the file's "
                "distributable_income; the combined structure shares the cash left after debt "
                "service, year by year"
            )
        else:
            inputs["distributable_income"] = structure.cascade.distributable[
                end + 1 : horizon + 1
            ].tolist() or [0.0]
        results[sharing_index] = run_instrument(
            "benefit-sharing", inputs, file=file, prefix=f"financing.{sharing_index}.inputs"
        )
    ordered = tuple(results[i] for i in sorted(results))
    return FinancingResult(
        method="restora.finance.instruments (each instrument's own method; year 1 = "
        "period 1 of the project), combined by restora.finance.structure",
        instruments=ordered,
        debt=debt,
        structure=structure,
        streams=_stream_roles(revenue, y0, end, horizon) if revenue.assessed else (),
        not_combined=tuple(not_combined),
        notes=tuple(notes),
        rule_codes=tuple(
            sorted(
                {c for r in ordered for c in r.rule_codes}
                | set(structure.rule_codes())
                | {f.split(":", 1)[0] for f in notes}
            )
        ),
        tables=unique_tables([t for r in ordered for t in r.tables_used]),
    )
