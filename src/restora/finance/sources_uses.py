"""Sources and uses of funds (资金来源与运用) over the construction period.

The construction period runs from period 0 to the last year with cost in a works phase
(:data:`WORKS_PHASES`); what the plan spends after it (maintenance, monitoring, verification:
:data:`AFTERCARE_PHASES`) is paid from the operating cash flow, before debt service.

Uses, year by year: the life-cycle cost by phase (nominal), interest and coupons falling due in
construction years (interest during construction, IDC), principal falling due then, fees paid at
drawdown or issue, any operating deficit of those years and the initial funding of a
debt-service reserve in the last construction year. Sources: each instrument's proceeds, the
grants (subsidy streams paid in construction years, at their expected value, their probability
stated), any operating surplus of those years, and the sponsor's equity, which balances each
year: it pays what the other sources, and the cash carried from earlier years, leave unpaid.
Debt and bond proceeds arrive when the instruments raise them (period 0); cash not yet spent is
carried to the next year, and what is left at completion goes to the operating account (a use
of the last construction year). So every year, and in total, sources equal uses.

Money is nominal CNY (CNY of the year it is paid). All arrays are (T,) over periods 0 … T-1.

References
----------
Yescombe, E. R. (2014). *Principles of Project Finance*, 2nd ed., Academic Press: the
construction budget ("project costs") and its funding by debt and equity.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from restora.costing.lifecycle import Estimate, money_factors

#: Phases of the works themselves: the construction period ends with the last of them.
WORKS_PHASES: tuple[str, ...] = (
    "survey_design",
    "closure_hazard",
    "basic_restoration",
    "pollution",
    "revegetation",
)
#: Phases of the care after the works, paid from operating cash once construction is over.
AFTERCARE_PHASES: tuple[str, ...] = ("maintenance", "monitoring", "verification")
#: Label of life-cycle cost whose phase is not known (a cost result without estimates).
UNPHASED = "lifecycle_cost"


def lifecycle_by_phase(estimates: Sequence[Estimate]) -> dict[int, dict[str, float]]:
    """The life-cycle cost of the estimates by calendar year and phase, in nominal CNY.

    Parameters
    ----------
    estimates : sequence of Estimate
        Deterministic estimates (:func:`restora.costing.lifecycle.estimate`), one per plan.

    Returns
    -------
    dict
        ``{calendar year: {phase: cost}}`` [CNY, nominal]; each year's phases add up to the
        estimates' nominal cost of that year (``Estimate.by_year["nominal_cny"]``).

    Notes
    -----
    The allocation is :func:`~restora.costing.lifecycle.estimate`'s: a direct line's cost
    :math:`a_i` falls on its years by its weights; indirect lines of the survey-design phase
    fall in year 0; other indirect lines :math:`I_k` are spread as the direct cost,
    :math:`I_k D_y / D`. Year :math:`y` is escalated by :math:`(1+e)^{S+y-P}`.
    """
    out: dict[int, dict[str, float]] = {}
    for e in estimates:
        real: dict[int, dict[str, float]] = {}
        direct_by_year: dict[int, float] = {}
        for ln in e.lines:
            for y, w in ln.year_weights().items():
                d = real.setdefault(y, {})
                d[ln.phase] = d.get(ln.phase, 0.0) + ln.amount * w
                direct_by_year[y] = direct_by_year.get(y, 0.0) + ln.amount * w
        real.setdefault(0, {})
        for r in e.indirect:
            ph, amount = str(r["phase"]), float(r["amount"])
            if ph == "survey_design":
                real[0][ph] = real[0].get(ph, 0.0) + amount
            elif e.direct_total > 0:
                for y, direct in direct_by_year.items():
                    real[y][ph] = real[y].get(ph, 0.0) + amount * direct / e.direct_total
        offsets = np.array(sorted(real))
        nominal, _ = money_factors(
            offsets,
            e.start_year,
            e.price_year,
            e.assumptions.escalation_rate,
            e.assumptions.discount_rate,
        )
        for y, k in zip(offsets.tolist(), nominal.tolist(), strict=True):
            year = out.setdefault(e.start_year + int(y), {})
            for ph, v in real[int(y)].items():
                year[ph] = year.get(ph, 0.0) + v * k
    return {y: out[y] for y in sorted(out)}


def construction_end_year(by_phase: Mapping[int, Mapping[str, float]]) -> int | None:
    """The last calendar year with cost in a works phase (``None`` if there is none).

    Without a phase breakdown (only :data:`UNPHASED` cost), the last year with any cost.
    """
    phased = any(ph != UNPHASED for v in by_phase.values() for ph in v)
    keys = WORKS_PHASES if phased else (UNPHASED,)
    years = [y for y, v in by_phase.items() if any(v.get(ph, 0.0) > 0 for ph in keys)]
    return max(years) if years else None


@dataclass(frozen=True)
class Grant:
    """A grant or subsidy paid in a construction year, at its expected value.

    Attributes
    ----------
    stream : str
        The subsidy stream that carries it.
    period : int
        Period paid [period index].
    expected : float
        Expected value counted as a source [CNY]: the certain part plus
        :math:`\\sum p_j a_j` over its contingent payments.
    contingent : tuple of dict
        ``{"amount_cny", "probability", "expected_cny", "kind", "condition"}`` of each payment
        made only with a probability; if one is not paid, the sponsor's equity must replace
        its expected value.
    """

    stream: str
    period: int
    expected: float
    contingent: tuple[dict[str, Any], ...] = ()

    @property
    def certain(self) -> float:
        """The part paid for certain [CNY]."""
        return self.expected - sum(float(c["expected_cny"]) for c in self.contingent)


@dataclass(frozen=True)
class Funding:
    """One instrument's money flows in the construction period, (T,) [CNY].

    Attributes
    ----------
    name, instrument : str
        The obligation's name and its instrument.
    proceeds : numpy.ndarray
        Money raised (loan drawdown, bond issue, special-bond allocation).
    financing_cost : numpy.ndarray
        Interest, coupons and positive outcome payments falling due.
    principal : numpy.ndarray
        Principal falling due.
    fees : numpy.ndarray
        Arrangement fees and issuance costs.
    receipts : numpy.ndarray
        Money investors pay the issuer (a negative outcome payment).
    """

    name: str
    instrument: str
    proceeds: np.ndarray
    financing_cost: np.ndarray
    principal: np.ndarray
    fees: np.ndarray
    receipts: np.ndarray


@dataclass(frozen=True)
class Line:
    """One line of the sources-and-uses table: an amount per construction year [CNY]."""

    side: str  # "source" or "use"
    item: str
    by_year: np.ndarray
    phase: str | None = None
    obligation: str | None = None
    instrument: str | None = None
    stream: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def total(self) -> float:
        return float(self.by_year.sum())


@dataclass(frozen=True)
class SourcesUses:
    """Sources and uses of funds over the construction period (periods 0 … ``end``).

    Attributes
    ----------
    years : numpy.ndarray
        (C,) calendar years of the construction period.
    end : int
        Last construction period [period index].
    uses, sources : tuple of Line
        The lines, each with its amount per construction year [CNY, nominal].
    opening_cash, carried_cash : numpy.ndarray
        (C,) cash brought from the year before and carried to the next [CNY]; the last
        year's is 0 (what is left is the use ``cash_at_completion``).
    """

    years: np.ndarray
    end: int
    uses: tuple[Line, ...]
    sources: tuple[Line, ...]
    opening_cash: np.ndarray
    carried_cash: np.ndarray

    def total(self, side: str, item: str | None = None) -> float:
        """Sum of a side's lines (of one item when given) over the period [CNY]."""
        lines = self.uses if side == "use" else self.sources
        return float(sum(ln.total for ln in lines if item is None or ln.item == item))

    @property
    def equity(self) -> np.ndarray:
        """(C,) sponsor equity paid in each construction year [CNY]."""
        return next(ln.by_year for ln in self.sources if ln.item == "sponsor_equity")

    @property
    def cash_at_completion(self) -> float:
        """Cash left at the end of construction, carried to the operating account [CNY]."""
        return self.total("use", "cash_at_completion")

    def to_json(self) -> dict[str, Any]:
        """``{years, uses, sources, totals, by_year}`` (amounts in nominal CNY)."""
        years = [int(y) for y in self.years]

        def line(ln: Line) -> dict[str, Any]:
            out: dict[str, Any] = {"item": ln.item}
            for k in ("phase", "obligation", "instrument", "stream"):
                if getattr(ln, k) is not None:
                    out[k] = getattr(ln, k)
            out.update(ln.detail)
            out["by_year_cny"] = [float(v) for v in ln.by_year]
            out["total_cny"] = ln.total
            return out

        uses_t = np.sum([ln.by_year for ln in self.uses], axis=0)
        sources_t = np.sum([ln.by_year for ln in self.sources], axis=0)
        total_sources, total_uses = self.total("source"), self.total("use")
        debt = sum(
            ln.total
            for ln in self.sources
            if ln.item in ("loan_drawdown", "bond_proceeds", "special_bond_allocation")
        )
        return {
            "years": years,
            "uses": [line(ln) for ln in self.uses],
            "sources": [line(ln) for ln in self.sources],
            "total_uses_cny": total_uses,
            "total_sources_cny": total_sources,
            "balanced": bool(abs(total_sources - total_uses) <= 1e-6 * max(1.0, total_uses)),
            "sponsor_equity_cny": self.total("source", "sponsor_equity"),
            "grants_cny": self.total("source", "grant"),
            "debt_cny": debt,
            "equity_share": self.total("source", "sponsor_equity") / total_sources
            if total_sources > 0
            else None,
            "cash_at_completion_cny": self.cash_at_completion,
            "by_year": [
                {
                    "year": years[i],
                    "period": i,
                    "opening_cash_cny": float(self.opening_cash[i]),
                    "sources_cny": float(sources_t[i]),
                    "uses_cny": float(uses_t[i]),
                    "sponsor_equity_cny": float(self.equity[i]),
                    "carried_cash_cny": float(self.carried_cash[i]),
                }
                for i in range(len(years))
            ],
        }


def sources_and_uses(
    years: Any,
    end: int,
    lifecycle: Mapping[str, Any],
    operating_cash: Any,
    grants: Sequence[Grant],
    funding: Sequence[Funding],
    reserve_funding: float = 0.0,
) -> SourcesUses:
    """Sources and uses of funds, year by year over periods 0 … ``end``, balanced by equity.

    Parameters
    ----------
    years : array_like
        (T,) calendar year of each period [yr].
    end : int
        Last construction period [period index], ``0 <= end < T``.
    lifecycle : mapping
        ``{phase: (T,) life-cycle cost}`` [CNY, nominal].
    operating_cash : array_like
        (T,) revenue less operating cost, grants left out [CNY]; a deficit in a construction
        year is a use, a surplus a source.
    grants : sequence of Grant
        Grants; those paid in construction years are sources.
    funding : sequence of Funding
        Each instrument's proceeds and what falls due [CNY].
    reserve_funding : float
        Debt-service reserve to fund by the end of construction [CNY].

    Returns
    -------
    SourcesUses

    Notes
    -----
    With :math:`K_t` the cash brought into year :math:`t` (:math:`K_0 = 0`), :math:`S_t` the
    sources other than equity and :math:`U_t` the uses, the sponsor pays
    :math:`E_t = \\max(U_t - K_t - S_t, 0)` and :math:`K_{t+1} = K_t + S_t + E_t - U_t`; in the
    last year :math:`K_{end+1}` is the use "cash at completion". Hence
    :math:`\\sum_t (S_t + E_t) = \\sum_t U_t` including it.

    Examples
    --------
    >>> f = Funding("loan", "pledge-loan", np.array([80.0, 0]), np.array([0, 8.0]),
    ...             np.zeros(2), np.zeros(2), np.zeros(2))
    >>> su = sources_and_uses([2026, 2027], 1, {"pollution": [60.0, 40.0]}, [0, 0], [], [f])
    >>> su.equity.tolist(), su.total("source"), su.total("use")  # 80 - 60 = 20 carried; 48 - 20
    ([0.0, 28.0], 108.0, 108.0)
    """
    yrs = np.asarray(years, dtype=np.int64)
    c = end + 1
    if not 0 <= end < yrs.size:
        raise ValueError("the construction period must end within the periods")

    def first(a: Any) -> np.ndarray:
        return np.asarray(a, dtype=np.float64)[:c].copy()

    uses: list[Line] = [
        Line("use", "lifecycle_cost", first(v), phase=ph)
        for ph, v in lifecycle.items()
        if np.any(first(v) != 0)
    ]
    for f in funding:
        for item, arr in (
            ("interest_during_construction", f.financing_cost),
            ("principal_during_construction", f.principal),
            ("fees", f.fees),
        ):
            if np.any(first(arr) != 0):
                uses.append(
                    Line("use", item, first(arr), obligation=f.name, instrument=f.instrument)
                )
    op = first(operating_cash)
    if np.any(op < 0):
        uses.append(Line("use", "operating_deficit", np.maximum(-op, 0.0)))
    if reserve_funding > 0:
        r = np.zeros(c)
        r[end] = reserve_funding
        uses.append(Line("use", "dsra_funding", r))
    sources: list[Line] = []
    for f in funding:
        if np.any(first(f.proceeds) != 0):
            item = {"pledge-loan": "loan_drawdown", "special-bond": "special_bond_allocation"}.get(
                f.instrument, "bond_proceeds"
            )
            sources.append(
                Line("source", item, first(f.proceeds), obligation=f.name, instrument=f.instrument)
            )
        if np.any(first(f.receipts) != 0):
            sources.append(
                Line(
                    "source",
                    "investor_payments",
                    first(f.receipts),
                    obligation=f.name,
                    instrument=f.instrument,
                )
            )
    for g in grants:
        if g.period < c:
            a = np.zeros(c)
            a[g.period] = g.expected
            sources.append(
                Line(
                    "source",
                    "grant",
                    a,
                    stream=g.stream,
                    detail={"certain_cny": g.certain, "contingent": list(g.contingent)},
                )
            )
    if np.any(op > 0):
        sources.append(Line("source", "operating_surplus", np.maximum(op, 0.0)))
    u = np.sum([ln.by_year for ln in uses], axis=0) if uses else np.zeros(c)
    s = np.sum([ln.by_year for ln in sources], axis=0) if sources else np.zeros(c)
    equity, opening, carried = np.zeros(c), np.zeros(c), np.zeros(c)
    cash = 0.0
    for t in range(c):
        opening[t] = cash
        equity[t] = max(u[t] - cash - s[t], 0.0)
        cash = cash + s[t] + equity[t] - u[t]
        carried[t] = cash
    completion = np.zeros(c)
    completion[end] = carried[end]
    carried[end] = 0.0
    uses.append(Line("use", "cash_at_completion", completion))
    sources.append(Line("source", "sponsor_equity", equity))
    return SourcesUses(yrs[:c], end, tuple(uses), tuple(sources), opening, carried)
