"""The financing structure combined: sources and uses, the waterfall and the covenant tests.

:func:`build` joins the instruments of a project (as :class:`~restora.finance.waterfall.Obligation`)
over the project's periods: the construction period is funded by the sources and uses
(:mod:`restora.finance.sources_uses`); each later year's CFADS runs down the order of payment
(:func:`restora.finance.waterfall.cascade`); each loan or bond with a cover-ratio covenant is
tested every year of its term (:func:`restora.finance.waterfall.covenant_tests`).

CFADS of the structure
----------------------
The cash-flow stage's CFADS is revenue − operating cost (the life-cycle cost stands beside it).
The structure splits it by who pays: in construction years the grants are sources of funds and
the works are uses, so :math:`CFADS_t = R_t - O_t - G_t`; after construction the care the plan
still needs (maintenance, monitoring, verification) is paid before debt service, so
:math:`CFADS_t = R_t - O_t - C_t`. Earmarked proceeds (surplus earth and stone → the mine's
restoration account) are never in it. Money is nominal CNY.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from restora.finance.sources_uses import Grant, SourcesUses, sources_and_uses
from restora.finance.waterfall import (
    BONDS,
    COMPONENTS,
    SENIOR,
    Cascade,
    CovenantTest,
    Obligation,
    SharingTerms,
    cascade,
    covenant_tests,
    reserve_target,
)

#: The order of payment after construction (docs/finance-instruments.md).
ORDER = ("cfads", "senior_debt", "dsra", "bonds", "benefit_sharing", "equity")
MONEY = "nominal CNY (CNY of the year paid)"


def structure_cfads(cfads: Any, grants: Any, lifecycle: Any, end: int) -> np.ndarray:
    """CFADS of the structure by period [CNY, nominal].

    Parameters
    ----------
    cfads : array_like
        (T,) revenue − operating cost (the cash-flow stage's CFADS) [CNY].
    grants : array_like
        (T,) grants counted in that revenue [CNY].
    lifecycle : array_like
        (T,) life-cycle cost [CNY].
    end : int
        Last construction period.

    Returns
    -------
    numpy.ndarray
        :math:`CFADS_t - G_t` for :math:`t \\le end`, :math:`CFADS_t - C_t` after.

    Examples
    --------
    >>> structure_cfads([0, 200, 500], [0, 200, 0], [1000, 500, 50], 1).tolist()
    [0.0, 0.0, 450.0]
    """
    cf = np.asarray(cfads, dtype=np.float64)
    g = np.asarray(grants, dtype=np.float64)
    c = np.asarray(lifecycle, dtype=np.float64)
    t = np.arange(cf.size)
    return np.where(t <= end, cf - g, cf - c)


@dataclass(frozen=True)
class Structure:
    """The combined financing structure of a project.

    Attributes
    ----------
    years : numpy.ndarray
        (T,) calendar year of each period.
    end : int
        Last construction period.
    construction_basis : str
        How the construction period was found.
    horizon_end : int
        Last period of the project's horizon (later periods have no project cash).
    revenue, opex, lifecycle, grants, earmarked, cfads : numpy.ndarray
        (T,) [CNY, nominal]; ``cfads`` is :func:`structure_cfads`.
    lifecycle_by_phase : mapping
        ``{phase: (T,) life-cycle cost}`` [CNY, nominal].
    grant_items : tuple of Grant
    obligations : tuple of Obligation
    sources_uses : SourcesUses
    cascade : Cascade
    covenants : tuple of CovenantTest
    sharing : SharingTerms or None
    """

    years: np.ndarray
    end: int
    construction_basis: str
    horizon_end: int
    revenue: np.ndarray
    opex: np.ndarray
    lifecycle: np.ndarray
    lifecycle_by_phase: Mapping[str, np.ndarray]
    grants: np.ndarray
    earmarked: np.ndarray
    cfads: np.ndarray
    grant_items: tuple[Grant, ...]
    obligations: tuple[Obligation, ...]
    sources_uses: SourcesUses
    cascade: Cascade
    covenants: tuple[CovenantTest, ...]
    sharing: SharingTerms | None

    # ---- findings ------------------------------------------------------------------------
    def flags(self) -> list[str]:
        """Findings a credit officer must see (covenant breaches, arrears, injections …)."""
        y = self.years
        out: list[str] = []
        for c in self.covenants:
            o, cov = c.obligation, c.covenant
            if cov.kind == "min_dscr" and c.below.any():
                yrs = [int(y[p]) for p in c.periods[c.below] if p < y.size]
                cons = [int(y[p]) for p in c.periods[c.below] if p <= self.end]
                note = (
                    f" (construction years {cons}: interest paid from the sources)" if cons else ""
                )
                out.append(f"FIN-STRUCT-DSCR: {o.name} DSCR below {cov.threshold:g} in {yrs}{note}")
            if cov.kind == "coverage" and not c.meets:
                out.append(
                    f"FIN-STRUCT-COVERAGE: {o.name} coverage over its life "
                    f"{c.life_coverage:.3f} < {cov.threshold:g}"
                )
        cas = self.cascade
        for o in self.obligations:
            a = sum((cas.arrears[o.name][k] for k in COMPONENTS), np.zeros(y.size))
            new = np.maximum(a - np.concatenate([[0.0], a[:-1]]), 0.0)
            if new.sum() > 0.005:
                yrs = [int(y[t]) for t in np.flatnonzero(new > 0.005)]
                out.append(
                    f"FIN-STRUCT-ARREARS: {o.name}: {new.sum():,.0f} CNY of debt service unpaid "
                    f"when due in {yrs}; {a[-1]:,.0f} CNY still unpaid in {int(y[-1])}"
                )
        inj = float(cas.injection_operating.sum())
        top = float(cas.sponsor_topup.sum())
        if inj + top > 0.005:
            out.append(
                f"FIN-STRUCT-INJECTION: after construction the sponsor pays in {inj + top:,.0f} CNY "
                f"({inj:,.0f} operating deficits, {top:,.0f} village guaranteed income)"
            )
        cure = cas.injection_to_cure
        if cure.sum() > 0.005:
            out.append(
                f"FIN-STRUCT-CURE: keeping every payment current needs {cure.sum():,.0f} CNY more "
                f"from the sponsor, in {[int(y[t]) for t in np.flatnonzero(cure > 0.005)]}"
            )
        for g in self.grant_risk():
            out.append(
                f"FIN-STRUCT-GRANT: {g['stream']} {g['year']}: {g['amount_cny']:,.0f} CNY with "
                f"probability {g['probability']:g} counts {g['expected_cny']:,.0f} CNY as a "
                f"source; if it is not paid the sponsor's construction equity rises by "
                f"{g['equity_if_not_paid_cny']:,.0f} CNY"
            )
        locked: dict[int, float] = {}
        for c in self.covenants:
            if c.covenant.kind != "min_dscr":
                continue
            for p in c.periods[c.below]:
                if p > self.end and cas.to_equity[p] > 0.005:
                    locked[int(p)] = float(cas.to_equity[p])
        if locked:
            out.append(
                f"FIN-STRUCT-LOCKUP: equity receives {sum(locked.values()):,.0f} CNY in "
                f"{[int(y[p]) for p in sorted(locked)]}, years whose DSCR is below a covenant; "
                "no distribution lock-up is modelled (a lender's would keep that cash in the "
                "project)"
            )
        for o in self.obligations:
            if o.term > self.horizon_end:
                out.append(
                    f"FIN-STRUCT-HORIZON: {o.name} runs to {int(y[min(o.term, y.size - 1)])}, "
                    f"after the project's horizon ({int(y[self.horizon_end])}); no project cash "
                    "is counted there"
                )
        return out

    def grant_risk(self) -> list[dict[str, Any]]:
        """Each contingent grant of the construction period and the equity it stands for.

        Returns
        -------
        list of dict
            ``{stream, year, period, amount_cny, probability, expected_cny, kind, condition,
            equity_if_not_paid_cny}``: the sources and uses run again without the payment's
            expected value; the difference in the sponsor's equity [CNY, nominal].
        """
        out = []
        base = self.sources_uses.total("source", "sponsor_equity")
        for i, g in enumerate(self.grant_items):
            if g.period > self.end:
                continue
            for p in g.contingent:
                less = replace(g, expected=g.expected - float(p["expected_cny"]), contingent=())
                grants = [*self.grant_items[:i], less, *self.grant_items[i + 1 :]]
                su = sources_and_uses(
                    self.years,
                    self.end,
                    self.lifecycle_by_phase,
                    self.cfads,
                    grants,
                    [o.funding() for o in self.obligations],
                    reserve_funding=float(
                        reserve_target(self.obligations, self.years.size)[self.end]
                    ),
                )
                out.append(
                    {
                        "stream": g.stream,
                        "year": int(self.years[g.period]),
                        "period": g.period,
                        **p,
                        "equity_if_not_paid_cny": su.total("source", "sponsor_equity") - base,
                    }
                )
        return out

    def rule_codes(self) -> list[str]:
        codes = {"FIN-STRUCT-BALANCE", "FIN-STRUCT-CASCADE"}
        codes |= {f.split(":", 1)[0] for f in self.flags()}
        if any(o.reserve_months > 0 for o in self.obligations):
            codes.add("FIN-STRUCT-DSRA")
        return sorted(codes)

    # ---- JSON ------------------------------------------------------------------------------
    def _rows(self) -> list[dict[str, Any]]:
        cas = self.cascade
        total_ds = sum((o.debt_service for o in self.obligations), np.zeros(self.years.size))
        residual = cas.inflows - cas.outflows
        rows = []
        for t in range(cas.first, self.years.size):
            rows.append(
                {
                    "year": int(self.years[t]),
                    "period": t,
                    "revenue_cny": float(self.revenue[t]),
                    "opex_cny": float(self.opex[t]),
                    "lifecycle_cost_cny": float(self.lifecycle[t]),
                    "cfads_cny": float(self.cfads[t]),
                    "earmarked_cny": float(self.earmarked[t]),
                    "cash_from_construction_cny": float(cas.cash_from_construction[t]),
                    "sponsor_injection_operating_cny": float(cas.injection_operating[t]),
                    "senior_due_cny": float(cas.due_by_rank(SENIOR)[t]),
                    "senior_paid_cny": float(cas.paid_by_rank(SENIOR)[t]),
                    "dsra_draw_cny": float(cas.reserve_draw[t]),
                    "dsra_topup_cny": float(cas.reserve_topup[t]),
                    "dsra_release_cny": float(cas.reserve_release[t]),
                    "dsra_balance_cny": float(cas.reserve_balance[t]),
                    "bonds_due_cny": float(cas.due_by_rank(BONDS)[t]),
                    "bonds_paid_cny": float(cas.paid_by_rank(BONDS)[t]),
                    "investor_payments_cny": float(cas.investor_receipts[t]),
                    "distributable_cny": float(cas.distributable[t]),
                    "village_guaranteed_cny": float(cas.village_guaranteed[t]),
                    "village_dividend_cny": float(cas.village_dividend[t]),
                    "sponsor_village_topup_cny": float(cas.sponsor_topup[t]),
                    "sponsor_priority_return_cny": float(cas.priority_paid[t]),
                    "sponsor_dividend_cny": float(cas.sponsor_dividend[t]),
                    "distribution_to_equity_cny": float(cas.to_equity[t]),
                    "arrears_end_cny": float(cas.arrears_total[t]),
                    "sponsor_injection_to_cure_cny": float(cas.injection_to_cure[t]),
                    "dscr_total": float(self.cfads[t] / total_ds[t]) if total_ds[t] > 0 else None,
                    "conservation_residual_cny": float(residual[t]),
                }
            )
        return rows

    def _by_obligation(self) -> list[dict[str, Any]]:
        cas, out = self.cascade, []
        for o in self.obligations:
            rows: list[dict[str, Any]] = []
            for k in range(1, o.term + 1):
                if k >= self.years.size:
                    break
                cons = k <= self.end
                due = {c: float(cas.due[o.name][c][k]) for c in COMPONENTS}
                paid = {c: float(cas.paid[o.name][c][k]) for c in COMPONENTS}
                sched = {
                    "interest": float(o.interest[k]),
                    "principal": float(o.principal[k]),
                    "outcome": float(max(o.outcome[k], 0.0)),
                }
                if cons:  # paid from the sources and uses
                    due, paid = sched, sched
                rows.append(
                    {
                        "year": int(self.years[k]),
                        "period": k,
                        "instrument_year": k,
                        "paid_from": "sources" if cons else "cfads",
                        "interest_due_cny": sched["interest"],
                        "principal_due_cny": sched["principal"],
                        "outcome_due_cny": sched["outcome"],
                        "arrears_in_cny": sum(due.values()) - sum(sched.values()),
                        "interest_paid_cny": paid["interest"],
                        "principal_paid_cny": paid["principal"],
                        "outcome_paid_cny": paid["outcome"],
                        "investor_payment_cny": float(max(-o.outcome[k], 0.0)),
                        "principal_forfeited_cny": float(o.forfeited[k]),
                        "arrears_end_cny": 0.0
                        if cons
                        else float(sum(cas.arrears[o.name][c][k] for c in COMPONENTS)),
                    }
                )
            out.append(
                {
                    "name": o.name,
                    "instrument": o.instrument,
                    "rank": o.rank,
                    "rows": rows,
                    "total_paid_cny": sum(
                        r["interest_paid_cny"] + r["principal_paid_cny"] + r["outcome_paid_cny"]
                        for r in rows
                    ),
                    "unpaid_at_end_cny": float(sum(cas.arrears[o.name][c][-1] for c in COMPONENTS)),
                }
            )
        return out

    def _covenants(self) -> list[dict[str, Any]]:
        out = []
        y = self.years
        for c in self.covenants:
            cov = c.covenant
            has = ~np.isnan(c.dscr)
            op = has & (c.periods > self.end)

            mn, mn_year, avg = _lowest(c, has, y)
            mn_op, mn_op_year, avg_op = _lowest(c, op, y)
            out.append(
                {
                    "obligation": c.obligation.name,
                    "instrument": c.obligation.instrument,
                    "kind": cov.kind,
                    "test": "every_year" if cov.kind == "min_dscr" else "over_life",
                    "threshold": cov.threshold,
                    "rule_code": cov.rule_code,
                    "rows": [
                        {
                            "year": int(y[p]) if p < y.size else None,
                            "period": int(p),
                            "instrument_year": int(p),
                            "phase": "construction" if p <= self.end else "operation",
                            "cfads_cny": float(c.cfads[i]),
                            "debt_service_cny": float(c.debt_service[i]),
                            "debt_service_ahead_cny": float(c.ahead[i]),
                            "dscr": None if np.isnan(c.dscr[i]) else float(c.dscr[i]),
                            "dscr_cumulative": None
                            if np.isnan(c.dscr_cumulative[i])
                            else float(c.dscr_cumulative[i]),
                            "below_covenant": bool(c.below[i]),
                        }
                        for i, p in enumerate(c.periods)
                    ],
                    "min_dscr": mn,
                    "min_dscr_year": mn_year,
                    "average_dscr": avg,
                    "min_dscr_operation": mn_op,
                    "min_dscr_operation_year": mn_op_year,
                    "average_dscr_operation": avg_op,
                    "llcr_at_drawdown": None if np.isnan(c.llcr) else c.llcr,
                    "life_coverage": None if np.isnan(c.life_coverage) else c.life_coverage,
                    "years_below": [int(y[p]) for p in c.periods[c.below] if p < y.size],
                    "construction_years_below": [
                        int(y[p]) for p in c.periods[c.below] if p <= self.end
                    ],
                    "meets": c.meets,
                }
            )
        return out

    def _equity(self) -> dict[str, Any]:
        cas = self.cascade
        construction = self.sources_uses.total("source", "sponsor_equity")
        inj = float(cas.injection_operating.sum())
        top = float(cas.sponsor_topup.sum())
        dist = float(cas.to_equity.sum())
        return {
            "construction_cny": construction,
            "operating_injections_cny": inj,
            "village_topups_cny": top,
            "total_paid_in_cny": construction + inj + top,
            "distributions_cny": dist,
            "net_cny": dist - construction - inj - top,
            "injection_to_cure_cny": float(cas.injection_to_cure.sum()),
        }

    def to_json(self) -> dict[str, Any]:
        """The ``structure`` section of ``stages.financing`` (docs/finance-instruments.md)."""
        cas = self.cascade
        paid = {
            "senior_debt_cny": float(cas.paid_by_rank(SENIOR).sum()),
            "bonds_cny": float(cas.paid_by_rank(BONDS).sum()),
            "village_cny": float((cas.village_guaranteed + cas.village_dividend).sum()),
            "equity_cny": float(cas.to_equity.sum()),
        }
        return {
            "money": MONEY,
            "order_of_payment": list(ORDER),
            "construction": {
                "first_year": int(self.years[0]),
                "last_year": int(self.years[self.end]),
                "end_period": self.end,
                "basis": self.construction_basis,
            },
            "horizon_last_year": int(self.years[self.horizon_end]),
            "obligations": [o.to_json() for o in self.obligations],
            "contingent_grants": self.grant_risk(),
            "sources_uses": self.sources_uses.to_json(),
            "waterfall": {
                "rows": self._rows(),
                "by_obligation": self._by_obligation(),
                "totals": {
                    "cfads_cny": float(cas.cfads.sum()),
                    "earmarked_cny": float(self.earmarked[self.end + 1 :].sum()),
                    **paid,
                    "unpaid_at_end_cny": float(cas.arrears_total[-1]),
                },
            },
            "covenants": self._covenants(),
            "equity": self._equity(),
        }


def _lowest(
    c: CovenantTest, mask: np.ndarray, years: np.ndarray
) -> tuple[float | None, int | None, float | None]:
    """Minimum DSCR, its year and the average DSCR over the years of ``mask``."""
    if not mask.any():
        return None, None, None
    i = int(np.flatnonzero(mask)[np.argmin(c.dscr[mask])])
    return float(c.dscr[i]), int(years[c.periods[i]]), float(c.dscr[mask].mean())


def build(
    years: Any,
    *,
    revenue: Any,
    opex: Any,
    lifecycle: Mapping[str, Any],
    end: int,
    grants: Sequence[Grant],
    earmarked: Any,
    obligations: Sequence[Obligation],
    sharing: SharingTerms | None = None,
    horizon_end: int | None = None,
    construction_basis: str = "",
) -> Structure:
    """Sources and uses, waterfall and covenant tests of a project's instruments.

    Parameters
    ----------
    years : array_like
        (T,) calendar year of each period [yr].
    revenue, opex : array_like
        (T,) unrestricted revenue (grants included) and operating cost [CNY, nominal].
    lifecycle : mapping
        ``{phase: (T,) life-cycle cost}`` [CNY, nominal].
    end : int
        Last construction period.
    grants : sequence of Grant
        Grants in the revenue (those of construction years become sources).
    earmarked : array_like
        (T,) earmarked proceeds (shown, never paid to investors) [CNY].
    obligations : sequence of Obligation
    sharing : SharingTerms, optional
        A benefit-sharing agreement; without ``company_capital`` the sponsor's equity of the
        sources and uses earns the priority return.
    horizon_end : int, optional
        Last period of the project's horizon (default T − 1).
    construction_basis : str
        How ``end`` was found, in words.

    Returns
    -------
    Structure
    """
    yrs = np.asarray(years, dtype=np.int64)
    n = yrs.size
    rev = np.asarray(revenue, dtype=np.float64)
    ox = np.asarray(opex, dtype=np.float64)
    life = {k: np.asarray(v, dtype=np.float64) for k, v in lifecycle.items()}
    life_total = np.sum(list(life.values()), axis=0) if life else np.zeros(n)
    g = np.zeros(n)
    for it in grants:
        if 0 <= it.period < n:
            g[it.period] += it.expected
    cf = structure_cfads(rev - ox, g, life_total, end)
    target = reserve_target(obligations, n)
    su = sources_and_uses(
        yrs,
        end,
        life,
        cf,
        grants,
        [o.funding() for o in obligations],
        reserve_funding=float(target[end]),
    )
    if sharing is not None and sharing.company_capital is None:
        sharing = replace(sharing, company_capital=su.total("source", "sponsor_equity"))
    cas = cascade(
        cf,
        end + 1,
        obligations,
        cash_from_construction=su.cash_at_completion,
        reserve_opening=float(target[end]),
        sharing=sharing,
    )
    return Structure(
        years=yrs,
        end=end,
        construction_basis=construction_basis,
        horizon_end=n - 1 if horizon_end is None else horizon_end,
        revenue=rev,
        opex=ox,
        lifecycle=life_total,
        lifecycle_by_phase=life,
        grants=g,
        earmarked=np.asarray(earmarked, dtype=np.float64),
        cfads=cf,
        grant_items=tuple(grants),
        obligations=tuple(obligations),
        sources_uses=su,
        cascade=cas,
        covenants=tuple(covenant_tests(cf, obligations)),
        sharing=sharing,
    )
