"""The cash-flow waterfall (现金流分配顺序) after construction, and the DSCR against each covenant.

Each operating year the cash available for debt service (CFADS: revenue − operating cost −
life-cycle cost after construction; earmarked proceeds never enter it) is paid out in this
order, each level only from what the levels above leave:

1. senior debt (the pledge loans, pro rata): interest, then principal; a shortfall is drawn
   from the debt-service reserve (DSRA);
2. the DSRA: topped up to its target (``months/12`` of next year's senior debt service), or
   the excess over the target released to the levels below;
3. bonds (performance bonds, this project's special-bond allocation, pro rata): coupons, then
   principal as each instrument schedules it (a performance bond's tiers decide its
   repayment), then outcome payments;
4. the benefit-sharing agreement: the village collective's guaranteed income first — the
   sponsor tops it up when the cash falls short — then the sponsor's priority return, then
   dividends shared by the agreed shares (:func:`restora.finance.instruments.benefit_sharing.waterfall_year`);
5. distributions to equity: the rest.

Debt service that cannot be paid is carried as arrears, due the next year before that year's
schedule (no default interest: a convention); the sponsor's injection that would keep every
payment current is reported, not assumed. An operating deficit (negative CFADS) is paid by the
sponsor. Distributions are never negative.

References
----------
Yescombe, E. R. (2014). *Principles of Project Finance*, 2nd ed., Academic Press: control of
cash flow — the cash-flow cascade, reserve accounts and cover ratios (§13.5.1 "The cash flow
cascade" in the 1st ed., 2002).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from restora.finance import metrics
from restora.finance.instruments import InstrumentResult
from restora.finance.instruments.benefit_sharing import waterfall_year
from restora.finance.sources_uses import Funding

SENIOR = 1
BONDS = 2
COMPONENTS = ("interest", "principal", "outcome")


@dataclass(frozen=True)
class Covenant:
    """A cover-ratio covenant of an obligation.

    Attributes
    ----------
    kind : str
        ``"min_dscr"`` (tested every year: :math:`DSCR_t \\ge k`) or ``"coverage"`` (tested
        over the life: :math:`\\sum CFADS / \\sum DS \\ge k`, the special bond's 本息覆盖倍数).
    threshold : float
        :math:`k` [1].
    rule_code : str
        The instrument's rule that states it.
    rate : float
        Interest rate discounting the LLCR [1/yr].
    """

    kind: str
    threshold: float
    rule_code: str
    rate: float


@dataclass(frozen=True)
class Obligation:
    """An instrument's claims on the project's cash by period, (T,) arrays [CNY, nominal].

    Attributes
    ----------
    name, instrument : str
        Label and instrument (CLI name).
    rank : int
        Order of payment: :data:`SENIOR` (1) before :data:`BONDS` (2).
    term : int
        Years of the instrument (year ``k`` is period ``k``) [yr].
    proceeds, interest, principal, outcome, fees, forfeited : numpy.ndarray
        Money raised; interest or coupon due; principal due; outcome payment due (+ to
        investors, − investors to the issuer); fees paid at drawdown; principal written off
        (no cash).
    reserve_months : float
        Debt-service reserve the lender requires [month of debt service].
    covenant : Covenant or None
    secured_on : tuple of str
        Pledged rights (revenue streams).
    """

    name: str
    instrument: str
    rank: int
    term: int
    proceeds: np.ndarray
    interest: np.ndarray
    principal: np.ndarray
    outcome: np.ndarray
    fees: np.ndarray
    forfeited: np.ndarray
    reserve_months: float = 0.0
    covenant: Covenant | None = None
    secured_on: tuple[str, ...] = ()

    @property
    def debt_service(self) -> np.ndarray:
        """Scheduled interest + principal + positive outcome payments [CNY]."""
        return self.interest + self.principal + np.maximum(self.outcome, 0.0)

    @property
    def outstanding(self) -> np.ndarray:
        """Principal outstanding at the end of each period [CNY]."""
        return np.cumsum(self.proceeds - self.principal - self.forfeited)

    def funding(self) -> Funding:
        """The obligation's flows as :class:`~restora.finance.sources_uses.Funding`."""
        return Funding(
            self.name,
            self.instrument,
            self.proceeds,
            self.interest + np.maximum(self.outcome, 0.0),
            self.principal,
            self.fees,
            np.maximum(-self.outcome, 0.0),
        )

    def to_json(self) -> dict[str, Any]:
        first = int(np.flatnonzero(self.proceeds)[0]) if np.any(self.proceeds) else None
        return {
            "name": self.name,
            "instrument": self.instrument,
            "rank": self.rank,
            "tier": "senior_debt" if self.rank == SENIOR else "bonds",
            "term_years": self.term,
            "proceeds_cny": float(self.proceeds.sum()),
            "proceeds_period": first,
            "interest_cny": float(self.interest.sum()),
            "principal_cny": float(self.principal.sum()),
            "outcome_payments_cny": float(self.outcome.sum()),
            "principal_forfeited_cny": float(self.forfeited.sum()),
            "fees_cny": float(self.fees.sum()),
            "reserve_months": self.reserve_months,
            "secured_on": list(self.secured_on),
            "covenant": None
            if self.covenant is None
            else {
                "kind": self.covenant.kind,
                "threshold": self.covenant.threshold,
                "rule_code": self.covenant.rule_code,
            },
        }


def _pad(values: Any, n: int, start: int = 1) -> np.ndarray:
    out = np.zeros(n)
    v = np.asarray(values, dtype=np.float64)[: max(n - start, 0)]
    out[start : start + v.size] = v
    return out


def from_pledge_loan(
    result: InstrumentResult, inputs: dict[str, Any], n: int, *, name: str | None = None
) -> Obligation:
    """A pledge loan's claims from its instrument result (drawn in period 0, year k = period k).

    Parameters
    ----------
    result : InstrumentResult
        :func:`restora.finance.instruments.pledge_loan.run`'s result.
    inputs : dict
        Its inputs (``PledgeLoanSpec`` fields): the DSCR floor, rate, reserve months and
        arrangement fee rate.
    n : int
        Number of periods T.
    name : str, optional
        Label (default the instrument's name).
    """
    rows = result.schedule
    proceeds = np.zeros(n)
    proceeds[0] = float(result.summary["amount"])
    fees = np.zeros(n)
    fees[0] = proceeds[0] * float(inputs.get("arrangement_fee_rate", 0.0))
    return Obligation(
        name=name or result.instrument,
        instrument=result.instrument,
        rank=SENIOR,
        term=len(rows),
        proceeds=proceeds,
        interest=_pad([r["interest"] for r in rows], n),
        principal=_pad([r["principal"] for r in rows], n),
        outcome=np.zeros(n),
        fees=fees,
        forfeited=np.zeros(n),
        reserve_months=float(inputs.get("dsra_months", 0.0)),
        covenant=Covenant(
            "min_dscr",
            float(inputs["min_dscr"]),
            "FIN-PLEDGE-DSCR",
            float(inputs["interest_rate"]),
        ),
        secured_on=tuple(str(r["name"]) for r in inputs.get("rights", [])),
    )


def from_performance_bond(
    result: InstrumentResult,
    n: int,
    *,
    name: str | None = None,
    issuance_cost_rate: float = 0.0,
) -> Obligation:
    """A performance bond's claims: issued in period 0, its tiers' repayments as computed.

    Parameters
    ----------
    result : InstrumentResult
        :func:`restora.finance.instruments.performance_bond.run`'s result.
    n : int
        Number of periods T.
    name : str, optional
        Label (default the instrument's name).
    issuance_cost_rate : float
        Issuance costs paid at issue, share of the principal [1].
    """
    rows = result.schedule
    proceeds = np.zeros(n)
    proceeds[0] = float(result.summary["principal"])
    fees = np.zeros(n)
    fees[0] = proceeds[0] * issuance_cost_rate
    return Obligation(
        name=name or result.instrument,
        instrument=result.instrument,
        rank=BONDS,
        term=len(rows),
        proceeds=proceeds,
        interest=_pad([r["interest"] for r in rows], n),
        principal=_pad([r["principal_repaid"] for r in rows], n),
        outcome=_pad([r["outcome_payment"] for r in rows], n),
        fees=fees,
        forfeited=_pad([r["principal_forfeited"] for r in rows], n),
    )


def from_special_bond(
    result: InstrumentResult,
    service: dict[str, tuple[np.ndarray, np.ndarray]],
    allotted: dict[str, float],
    coupon_rate: float,
    n: int,
    *,
    name: str | None = None,
) -> Obligation:
    """This project's allocation of a pooled special bond (issued in period 0).

    Parameters
    ----------
    result : InstrumentResult
        The pool's result (its ``threshold`` is the covenant).
    service : dict
        ``{project: (interest, principal)}`` by bond year
        (:func:`restora.finance.instruments.special_bond.debt_service`).
    allotted : dict
        ``{project: principal}`` of the pool's projects that are this project's [CNY].
    coupon_rate : float
        [1/yr].
    n : int
        Number of periods T.
    """
    interest = sum((_pad(service[k][0], n) for k in allotted), np.zeros(n))
    principal = sum((_pad(service[k][1], n) for k in allotted), np.zeros(n))
    proceeds = np.zeros(n)
    proceeds[0] = float(sum(allotted.values()))
    term = max((len(service[k][0]) for k in allotted), default=0)
    return Obligation(
        name=name or result.instrument,
        instrument=result.instrument,
        rank=BONDS,
        term=term,
        proceeds=proceeds,
        interest=interest,
        principal=principal,
        outcome=np.zeros(n),
        fees=np.zeros(n),
        forfeited=np.zeros(n),
        covenant=Covenant(
            "coverage", float(result.summary["threshold"]), "FIN-SBOND-REGIONAL", coupon_rate
        ),
    )


def reserve_target(obligations: Sequence[Obligation], n: int) -> np.ndarray:
    """Target balance of the debt-service reserve at the end of each period [CNY].

    Notes
    -----
    :math:`R_t = \\sum_i (m_i / 12)\\, DS_{i,t+1}` over the senior obligations with a reserve
    of :math:`m_i` months; 0 in the last period.
    """
    out = np.zeros(n)
    for o in obligations:
        if o.rank == SENIOR and o.reserve_months > 0:
            out[:-1] += o.reserve_months / 12.0 * (o.interest + o.principal)[1:]
    return out


@dataclass(frozen=True)
class SharingTerms:
    """Terms of a benefit-sharing agreement paid from the cash left after debt service.

    Attributes
    ----------
    village_minimum : float
        Village collective's guaranteed income [CNY/yr].
    company_capital : float or None
        Sponsor capital earning the priority return [CNY]; ``None``: the sponsor's equity of
        the sources and uses (:func:`restora.finance.structure.build` sets it).
    priority_rate : float
        [1/yr].
    cumulative_priority : bool
        Unpaid priority return carried forward.
    land_share, labour_share : float
        Village's dividend shares [1].
    years : int or None
        Operating years the agreement runs (None: to the end).
    """

    village_minimum: float
    company_capital: float | None
    priority_rate: float
    cumulative_priority: bool
    land_share: float
    labour_share: float
    years: int | None = None


@dataclass(frozen=True)
class Cascade:
    """The waterfall over the operating periods ``first … T-1`` (arrays (T,) [CNY]).

    ``paid[name][component]`` and ``arrears[name][component]`` per obligation; the other
    arrays are per period and 0 outside the operating periods.
    """

    first: int
    cfads: np.ndarray
    cash_from_construction: np.ndarray
    injection_operating: np.ndarray
    reserve_balance: np.ndarray
    reserve_draw: np.ndarray
    reserve_topup: np.ndarray
    reserve_release: np.ndarray
    investor_receipts: np.ndarray
    due: dict[str, dict[str, np.ndarray]]
    paid: dict[str, dict[str, np.ndarray]]
    arrears: dict[str, dict[str, np.ndarray]]
    distributable: np.ndarray
    village_guaranteed: np.ndarray
    village_dividend: np.ndarray
    sponsor_topup: np.ndarray
    priority_paid: np.ndarray
    priority_arrears: np.ndarray
    sponsor_dividend: np.ndarray
    to_equity: np.ndarray
    ranks: dict[str, int] = field(default_factory=dict)

    def paid_by_rank(self, rank: int) -> np.ndarray:
        """(T,) paid to the obligations of one rank [CNY]."""
        names = [k for k, r in self.ranks.items() if r == rank]
        return sum((self.paid[k][c] for k in names for c in COMPONENTS), np.zeros_like(self.cfads))

    def due_by_rank(self, rank: int) -> np.ndarray:
        """(T,) due (scheduled + arrears brought in) from the obligations of one rank [CNY]."""
        names = [k for k, r in self.ranks.items() if r == rank]
        return sum((self.due[k][c] for k in names for c in COMPONENTS), np.zeros_like(self.cfads))

    @property
    def arrears_total(self) -> np.ndarray:
        """(T,) debt service unpaid at the end of each period, all obligations [CNY]."""
        return sum(
            (a[c] for a in self.arrears.values() for c in COMPONENTS), np.zeros_like(self.cfads)
        )

    @property
    def injection_to_cure(self) -> np.ndarray:
        """(T,) sponsor injection that would keep every payment current: new arrears [CNY]."""
        a = self.arrears_total
        prev = np.concatenate([[0.0], a[:-1]])
        out = np.maximum(a - prev, 0.0)
        out[: self.first] = 0.0
        return out

    @property
    def inflows(self) -> np.ndarray:
        """(T,) every inflow of the cascade [CNY]."""
        return (
            self.cfads
            + self.cash_from_construction
            + self.injection_operating
            + self.reserve_draw
            + self.reserve_release
            + self.investor_receipts
            + self.sponsor_topup
        )

    @property
    def outflows(self) -> np.ndarray:
        """(T,) every payment of the cascade [CNY]."""
        debt = sum(
            (self.paid_by_rank(r) for r in set(self.ranks.values())), np.zeros_like(self.cfads)
        )
        return (
            debt
            + self.reserve_topup
            + self.village_guaranteed
            + self.village_dividend
            + self.to_equity
        )


def _pay(cash: float, due: dict[str, float]) -> tuple[float, dict[str, float]]:
    """Pay ``due`` pro rata from ``cash``; returns (cash left, paid)."""
    total = sum(due.values())
    if total <= 0:
        return cash, dict.fromkeys(due, 0.0)
    pay = min(cash, total)
    if pay >= total:
        return cash - total, dict(due)
    return cash - pay, {k: v * pay / total for k, v in due.items()}


def cascade(
    cfads: Any,
    first: int,
    obligations: Sequence[Obligation],
    *,
    cash_from_construction: float = 0.0,
    reserve_opening: float = 0.0,
    sharing: SharingTerms | None = None,
) -> Cascade:
    """Pay each operating year's cash down the order of payment.

    Parameters
    ----------
    cfads : array_like
        (T,) cash flow available for debt service [CNY]; only periods ``first …`` are used.
    first : int
        First operating period (the one after construction) [period index].
    obligations : sequence of Obligation
        Debt and bonds; construction-period amounts were paid from the sources.
    cash_from_construction : float
        Cash left at completion, available in period ``first`` [CNY].
    reserve_opening : float
        DSRA balance funded at completion [CNY].
    sharing : SharingTerms, optional
        The benefit-sharing agreement.

    Returns
    -------
    Cascade

    Notes
    -----
    Each period, the inflows (CFADS, cash from construction, the sponsor's operating and
    village top-ups, reserve draws and releases, investors' payments) equal the payments (debt,
    reserve top-up, village, equity) — the conservation the tests check.
    """
    cf = np.asarray(cfads, dtype=np.float64)
    n = cf.size
    z = np.zeros
    target = reserve_target(obligations, n)
    due = {o.name: {c: z(n) for c in COMPONENTS} for o in obligations}
    paid = {o.name: {c: z(n) for c in COMPONENTS} for o in obligations}
    arrears = {o.name: {c: z(n) for c in COMPONENTS} for o in obligations}
    out = {
        k: z(n)
        for k in (
            "cfads",
            "cash_from_construction",
            "injection_operating",
            "reserve_balance",
            "reserve_draw",
            "reserve_topup",
            "reserve_release",
            "investor_receipts",
            "distributable",
            "village_guaranteed",
            "village_dividend",
            "sponsor_topup",
            "priority_paid",
            "priority_arrears",
            "sponsor_dividend",
            "to_equity",
        )
    }
    carried = {o.name: dict.fromkeys(COMPONENTS, 0.0) for o in obligations}
    reserve = reserve_opening
    priority_arrears = 0.0
    ranks = sorted({o.rank for o in obligations})
    for t in range(first, n):
        cash = float(cf[t])
        out["cfads"][t] = cash
        if t == first:
            cash += cash_from_construction
            out["cash_from_construction"][t] = cash_from_construction
        inject = max(-cash, 0.0)
        cash += inject
        out["injection_operating"][t] = inject
        for rank in ranks:
            obs = [o for o in obligations if o.rank == rank]
            receipts = float(sum(max(-o.outcome[t], 0.0) for o in obs))
            cash += receipts
            out["investor_receipts"][t] += receipts
            for comp in COMPONENTS:
                sched = {
                    o.name: float(
                        o.interest[t]
                        if comp == "interest"
                        else o.principal[t]
                        if comp == "principal"
                        else max(o.outcome[t], 0.0)
                    )
                    for o in obs
                }
                d = {k: sched[k] + carried[k][comp] for k in sched}
                cash, p = _pay(cash, d)
                if rank == SENIOR and reserve > 0:
                    short = {k: d[k] - p[k] for k in d}
                    reserve, drawn = _pay(reserve, short)
                    out["reserve_draw"][t] += sum(drawn.values())
                    p = {k: p[k] + drawn[k] for k in p}
                for k in d:
                    due[k][comp][t] = d[k]
                    paid[k][comp][t] = p[k]
                    carried[k][comp] = d[k] - p[k]
                    arrears[k][comp][t] = d[k] - p[k]
            if rank == SENIOR:
                if reserve < target[t]:
                    top = min(cash, target[t] - reserve)
                    cash -= top
                    reserve += top
                    out["reserve_topup"][t] = top
                elif reserve > target[t]:
                    out["reserve_release"][t] = reserve - target[t]
                    cash += reserve - target[t]
                    reserve = target[t]
        out["reserve_balance"][t] = reserve
        out["distributable"][t] = cash
        year = t - first + 1
        if sharing is not None and (sharing.years is None or year <= sharing.years):
            if sharing.company_capital is None:
                raise ValueError("the sharing terms need the company's capital")
            p_due = sharing.company_capital * sharing.priority_rate + priority_arrears
            w = waterfall_year(
                cash,
                minimum=sharing.village_minimum,
                priority_due=p_due,
                land_share=sharing.land_share,
                labour_share=sharing.labour_share,
            )
            priority_arrears = w["priority_unpaid"] if sharing.cumulative_priority else 0.0
            out["village_guaranteed"][t] = w["village_minimum"]
            out["village_dividend"][t] = w["village_land_dividend"] + w["village_labour_dividend"]
            out["sponsor_topup"][t] = w["company_topup"]
            out["priority_paid"][t] = w["priority_paid"]
            out["priority_arrears"][t] = priority_arrears
            out["sponsor_dividend"][t] = w["company_dividend"]
            out["to_equity"][t] = w["priority_paid"] + w["company_dividend"]
        else:
            out["to_equity"][t] = cash
    return Cascade(
        first=first,
        due=due,
        paid=paid,
        arrears=arrears,
        ranks={o.name: o.rank for o in obligations},
        **out,
    )


@dataclass(frozen=True)
class CovenantTest:
    """An obligation's cover ratios year by year against its covenant.

    Attributes
    ----------
    obligation : Obligation
    periods : numpy.ndarray
        (K,) periods of the instrument's years 1 … term.
    cfads, debt_service, ahead : numpy.ndarray
        (K,) CFADS, the obligation's scheduled debt service, and that of the obligations paid
        before or with it [CNY].
    dscr, dscr_cumulative : numpy.ndarray
        (K,) :math:`CFADS_t / DS_t` and :math:`CFADS_t / (DS_t + DS^{ahead}_t)` [1]; ``nan``
        where nothing is due.
    below : numpy.ndarray
        (K,) DSCR below the covenant's threshold.
    llcr : float
        Loan-life cover ratio at drawdown (period 0) [1].
    life_coverage : float
        :math:`\\sum_t CFADS_t / \\sum_t DS_t` over the term [1].
    """

    obligation: Obligation
    periods: np.ndarray
    cfads: np.ndarray
    debt_service: np.ndarray
    ahead: np.ndarray
    dscr: np.ndarray
    dscr_cumulative: np.ndarray
    below: np.ndarray
    llcr: float
    life_coverage: float

    @property
    def covenant(self) -> Covenant:
        assert self.obligation.covenant is not None
        return self.obligation.covenant

    @property
    def meets(self) -> bool:
        """The covenant holds: every year (``min_dscr``) or over the life (``coverage``)."""
        if self.covenant.kind == "coverage":
            return bool(self.life_coverage >= self.covenant.threshold)
        return not bool(self.below.any())


def covenant_tests(cfads: Any, obligations: Sequence[Obligation]) -> list[CovenantTest]:
    """DSCR, LLCR and life coverage of each obligation with a covenant, every year of its term.

    Parameters
    ----------
    cfads : array_like
        (T,) cash flow available for debt service [CNY], construction years included.
    obligations : sequence of Obligation

    Returns
    -------
    list of CovenantTest

    Notes
    -----
    :math:`DSCR_t = CFADS_t / DS_t` for the instrument's years :math:`t = 1 … n` (the basis
    of the instrument's own covenant); :math:`LLCR_0 = \\sum_{t=1}^{n} CFADS_t (1+i)^{-t} / D_0`
    (:func:`restora.finance.metrics.llcr`).

    References
    ----------
    Yescombe, E. R. (2014). *Principles of Project Finance*, 2nd ed., cover ratios.
    """
    cf = np.asarray(cfads, dtype=np.float64)
    out = []
    for o in obligations:
        if o.covenant is None or o.term < 1:
            continue
        if o.term >= cf.size:
            raise ValueError(f"{o.name}: its term needs periods 0 … {o.term}")
        k = np.arange(1, o.term + 1)
        c = cf[k]
        ds = o.debt_service[k]
        ahead = sum(
            (p.debt_service[k] for p in obligations if p is not o and p.rank <= o.rank),
            np.zeros(k.size),
        )
        dscr = metrics.dscr(c, ds)
        cum = metrics.dscr(c, ds + ahead)
        below = ~np.isnan(dscr) & (dscr < o.covenant.threshold)
        cf0 = np.concatenate([[0.0], c])
        llcr = metrics.llcr(cf0, o.outstanding[: o.term + 1], o.covenant.rate, o.term)
        llcr0 = float(np.asarray(llcr).reshape(-1)[0])
        total_ds = float(ds.sum())
        out.append(
            CovenantTest(
                obligation=o,
                periods=k,
                cfads=c,
                debt_service=ds,
                ahead=ahead,
                dscr=dscr,
                dscr_cumulative=cum,
                below=below,
                llcr=llcr0,
                life_coverage=float(c.sum() / total_ds) if total_ds > 0 else float("nan"),
            )
        )
    return out
