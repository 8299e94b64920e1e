"""Monte Carlo risk of a restoration project: NPV and IRR distributions, lenders' and the
guarantee fund's losses, and a tornado sensitivity table.

Drivers (capex, opex and revenue multipliers, a delay of operations) are drawn from triangular
or PERT distributions on low / most-likely / high ranges with the inverse-CDF functions of
:mod:`restora.costing.montecarlo`. Revenue is carried stream by stream: a revenue driver scales
the streams it names (and, optionally, some periods only), in the simulation and in the tornado
alike. Contingent payments (a subsidy or an outcome payment made with probability ``p``) are drawn
as Bernoulli events. Capex is scaled by the draws of the life-cycle cost simulation of the costing
package (``capex_factors``), which owns unit-cost and quantity uncertainty; a capex driver then
may only add what costing does not model, and says which (reference table
``finance/risk/capex-uncertainty-sources``). Everything is numpy over (scenarios, periods)
arrays, simulated in blocks (memory stays bounded) from seeded generators, so the same seed gives
the same result.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from restora import refdata
from restora.costing.montecarlo import pert_ppf, triangular_ppf
from restora.finance import metrics
from restora.finance.cashflow import DebtSchedule, ProjectFlows, delay
from restora.revenue.streams import RevenueStream

Target = Literal["capex", "opex", "revenue", "delay"]
TARGETS: tuple[str, ...] = ("capex", "opex", "revenue", "delay")
CAPEX_SOURCES_TABLE = "finance/risk/capex-uncertainty-sources"
# share of a stream's largest amount within which the named streams must add up to revenue
# (float rounding of a sum, not a coefficient)
_SUM_TOL = 1e-9


@dataclass(frozen=True)
class Driver:
    """One uncertain driver of the project's cash flows.

    Attributes
    ----------
    name : str
        Label in reports (e.g. "carbon price").
    target : {"capex", "opex", "revenue", "delay"}
        What it acts on: a multiplier [1] of capex, opex or revenue, or a delay [period] of
        operations (revenue and opex start later; capex is not moved).
    low, mode, high : float
        Range of the driver [1] or [period].
    distribution : {"triangular", "pert"}
        Shape of the distribution on the range.
    periods : tuple of int, optional
        Periods it applies to (default: all).
    streams : tuple of str, optional
        Revenue drivers: the named revenue streams it scales. Required when the base case gives
        revenue by stream; without a breakdown (``revenue_streams=None``) a revenue driver
        naming no stream scales all revenue.
    covers : tuple of str, optional
        Capex drivers: the sources of capex uncertainty it adds, codes of the table
        ``finance/risk/capex-uncertainty-sources`` (``scope_change``,
        ``escalation_above_index``, ``force_majeure``). Required when capex is also scaled by
        the costing Monte Carlo (``capex_factors``), which owns unit costs and quantities.
    """

    name: str
    target: Target
    low: float
    mode: float
    high: float
    distribution: Literal["triangular", "pert"] = "triangular"
    periods: tuple[int, ...] | None = None
    streams: tuple[str, ...] | None = None
    covers: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if self.target not in TARGETS:
            raise ValueError(f"driver {self.name}: target must be one of {', '.join(TARGETS)}")
        if not self.low <= self.mode <= self.high:
            raise ValueError(f"driver {self.name}: need low <= mode <= high")
        if self.distribution not in ("triangular", "pert"):
            raise ValueError(f"driver {self.name}: distribution must be triangular or pert")
        if self.target == "delay" and self.low < 0:
            raise ValueError(f"driver {self.name}: a delay cannot be negative")
        if self.target != "delay" and self.low < 0:
            raise ValueError(f"driver {self.name}: a multiplier cannot be negative")
        if self.streams is not None and (self.target != "revenue" or not self.streams):
            raise ValueError(
                f"driver {self.name}: only a revenue driver names streams, and at least one"
            )
        if self.covers is not None and (self.target != "capex" or not self.covers):
            raise ValueError(
                f"driver {self.name}: only a capex driver says what it covers, at least one source"
            )

    def ppf(self, u: np.ndarray) -> np.ndarray:
        """Values [1] or [period] at the probabilities ``u``."""
        f = triangular_ppf if self.distribution == "triangular" else pert_ppf
        return f(u, self.low, self.mode, self.high)


@dataclass(frozen=True)
class Guarantee:
    """A guarantee fund covering part of the lenders' loss.

    Attributes
    ----------
    share : float
        Share of each loss the fund pays [1], 0..1.
    cap : float
        Most the fund pays per project [CNY] (``inf`` for none).
    """

    share: float
    cap: float = float("inf")

    def __post_init__(self) -> None:
        if not 0.0 <= self.share <= 1.0 or self.cap < 0:
            raise ValueError("guarantee share must be in [0, 1] and cap >= 0")


@dataclass(frozen=True)
class ContingentFlow:
    """A payment made in full with probability ``probability``, else not at all.

    The base case carries its expected value :math:`p\\,a` in period ``period`` (of stream
    ``stream``); :func:`simulate` draws it as a Bernoulli event.

    Attributes
    ----------
    name : str
        Label in reports.
    stream : str or None
        Revenue stream that carries it (``None`` when the base case gives no breakdown).
    period : int
        Period paid [period index].
    amount : float
        Amount if paid [CNY].
    probability : float
        Probability it is paid [1], 0..1.
    """

    name: str
    stream: str | None
    period: int
    amount: float
    probability: float

    def __post_init__(self) -> None:
        if not 0.0 <= self.probability <= 1.0 or self.amount < 0 or self.period < 0:
            raise ValueError(
                f"contingent payment {self.name}: need 0 <= probability <= 1, amount >= 0 and "
                "period >= 0"
            )

    @property
    def expected(self) -> float:
        """:math:`p\\,a` [CNY]."""
        return self.probability * self.amount


def revenue_by_stream(
    streams: Sequence[RevenueStream], first_year: int, n_periods: int
) -> tuple[dict[str, np.ndarray], tuple[ContingentFlow, ...]]:
    """The risk engine's revenue breakdown from revenue streams.

    Parameters
    ----------
    streams : sequence of RevenueStream
        The project's streams (:mod:`restora.revenue`).
    first_year : int
        Calendar year of period 0 [yr].
    n_periods : int
        Periods of the base case [1].

    Returns
    -------
    revenue : dict of str to numpy.ndarray
        Central revenue [CNY] per period, (T,) for each unrestricted stream by name (streams of
        the same name add up). Earmarked streams are left out, as from the project's revenue;
        years outside the horizon are dropped.
    contingent : tuple of ContingentFlow
        The streams' contingent payments within the horizon, period = year - ``first_year``.

    Notes
    -----
    The arrays add up to the unrestricted central revenue of
    :func:`restora.revenue.streams.combine` on the horizon, i.e. the project's revenue.
    """
    out: dict[str, np.ndarray] = {}
    flows: list[ContingentFlow] = []
    for s in streams:
        if s.earmark is not None:
            continue
        r = out.setdefault(s.name, np.zeros(n_periods))
        t = np.asarray(s.years, dtype=np.int64) - first_year
        inside = (t >= 0) & (t < n_periods)
        np.add.at(r, t[inside], np.asarray(s.revenue, dtype=np.float64)[inside])
        for c in s.contingent:
            if 0 <= c.year - first_year < n_periods:
                flows.append(
                    ContingentFlow(c.name, s.name, c.year - first_year, c.amount, c.probability)
                )
    return out, tuple(flows)


def check_drivers(drivers: Sequence[Driver], streams: Sequence[str] | None) -> None:
    """Check each revenue driver's stream scope against the streams of the base case.

    Parameters
    ----------
    drivers : sequence of Driver
        The drivers.
    streams : sequence of str or None
        Names of the base case's revenue streams; ``None`` when revenue is given as a total.

    Raises
    ------
    ValueError
        A revenue driver names no stream although the base case gives streams, names an
        unknown stream (the message lists the known ones), or names streams although the base
        case gives only total revenue.
    """
    for d in drivers:
        if d.target != "revenue":
            continue
        if streams is None:
            if d.streams:
                raise ValueError(
                    f"driver {d.name!r} names the revenue streams {', '.join(d.streams)}, but "
                    "the base case gives only total revenue: give revenue by stream"
                )
            continue
        known = ", ".join(repr(k) for k in streams) or "none"
        if not d.streams:
            raise ValueError(
                f"driver {d.name!r}: a revenue driver must name the streams it applies to "
                f"(streams: {known})"
            )
        for name in d.streams:
            if name not in streams:
                raise ValueError(
                    f"driver {d.name!r}: unknown revenue stream {name!r} (streams: {known})"
                )


def _stream_matrix(
    base: ProjectFlows, revenue_streams: Mapping[str, Any] | None
) -> tuple[tuple[str, ...] | None, np.ndarray]:
    """Names and (S, T) revenue of the streams, checked to add up to the base revenue."""
    total = base.revenue[0]
    if revenue_streams is None:
        return None, total[None, :]
    names = tuple(revenue_streams)
    if not names:
        raise ValueError("revenue_streams is empty: give at least one stream, or None")
    parts = np.array(
        [
            np.broadcast_to(np.asarray(revenue_streams[k], dtype=np.float64), total.shape)
            for k in names
        ]
    )
    if not np.all(np.isfinite(parts)):
        raise ValueError("revenue streams must be finite numbers")
    gap = np.abs(parts.sum(axis=0) - total)
    scale = max(float(np.abs(parts).max()), float(np.abs(total).max()), 1.0)
    if np.any(gap > _SUM_TOL * scale):
        t = int(np.argmax(gap))
        raise ValueError(
            f"the revenue streams add up to {parts.sum(axis=0)[t]:,.2f} in period {t}, but "
            f"revenue is {total[t]:,.2f}: the streams must add up to total revenue"
        )
    return names, parts


def _check_contingent(
    contingent: Sequence[ContingentFlow], names: tuple[str, ...] | None, parts: np.ndarray
) -> np.ndarray:
    """Row of ``parts`` of each contingent payment; checks period, stream and base amount."""
    rows = np.zeros(len(contingent), dtype=np.intp)
    t_max = parts.shape[1]
    for k, c in enumerate(contingent):
        if not 0 <= c.period < t_max:
            raise ValueError(
                f"contingent payment {c.name!r}: period {c.period} outside 0..{t_max - 1}"
            )
        if names is not None:
            if c.stream not in names:
                known = ", ".join(repr(n) for n in names)
                raise ValueError(
                    f"contingent payment {c.name!r}: unknown revenue stream {c.stream!r} "
                    f"(streams: {known})"
                )
            rows[k] = names.index(c.stream)
    carried = np.zeros_like(parts)
    for k, c in enumerate(contingent):
        carried[rows[k], c.period] += c.expected
    short = carried > parts + _SUM_TOL * max(float(np.abs(parts).max()), 1.0)
    if np.any(short):
        r, t = (int(i[0]) for i in np.nonzero(short))
        where = f"stream {names[r]!r}" if names is not None else "revenue"
        raise ValueError(
            f"{where} carries {parts[r, t]:,.2f} in period {t}, less than the expected value "
            f"{carried[r, t]:,.2f} of its contingent payments: the base case must carry p x a"
        )
    return rows


def apply_drivers(
    base: ProjectFlows,
    drivers: Sequence[Driver],
    values: np.ndarray,
    *,
    revenue_streams: Mapping[str, Any] | None = None,
    contingent: Sequence[ContingentFlow] = (),
    paid: np.ndarray | None = None,
) -> ProjectFlows:
    """Project flows of each scenario given the drivers' values.

    Parameters
    ----------
    base : ProjectFlows
        The base case, one scenario (1, T) [CNY].
    drivers : sequence of Driver
        The drivers, D of them.
    values : numpy.ndarray
        (N, D) the drivers' values [1] or [period].
    revenue_streams : mapping of str to array_like, optional
        (T,) revenue [CNY] of each named stream, adding up to ``base.revenue``; revenue drivers
        then scale the streams they name. ``None``: revenue is one total, scaled by revenue
        drivers that name no stream.
    contingent : sequence of ContingentFlow
        Payments the base case carries at their expected value :math:`p\\,a`.
    paid : numpy.ndarray, optional
        (N, K) bool, whether each contingent payment is paid in each scenario (default: the
        base case's expected values are kept).

    Returns
    -------
    ProjectFlows
        (N, T) flows [CNY].

    Notes
    -----
    Per stream :math:`s`: :math:`R_{n,s,t} = (R_{s,t} + \\sum_{k \\in s, t_k = t}
    (B_{n,k} - p_k) a_k) \\prod_{d \\ni s} v_{n,d}`, the product over the revenue drivers that
    name :math:`s` and apply to period :math:`t`, :math:`B_{n,k} \\in \\{0, 1\\}` whether
    contingent payment :math:`k` is paid; :math:`R_{n,t} = \\sum_s R_{n,s,t}`. Opex and capex
    are multiplied likewise by their drivers; then revenue, opex and tax are shifted by
    :math:`\\sum_{d \\in delay} v_{n,d}` periods with :func:`restora.finance.cashflow.delay`
    (what falls past the horizon is lost).
    """
    n = values.shape[0]
    t = base.n_periods
    names, base_parts = _stream_matrix(base, revenue_streams)
    check_drivers(drivers, names)
    rows = _check_contingent(contingent, names, base_parts)
    streams = np.repeat(base_parts[None, :, :], n, axis=0)  # (N, S, T)
    if paid is not None and len(contingent):
        if paid.shape != (n, len(contingent)):
            raise ValueError("paid must have one row per scenario and one column per payment")
        for k, c in enumerate(contingent):
            streams[:, rows[k], c.period] += (paid[:, k] - c.probability) * c.amount
    parts = {
        "opex": np.repeat(base.opex[:1], n, axis=0),
        "capex": np.repeat(base.capex[:1], n, axis=0),
    }
    lag = np.zeros(n)
    for j, d in enumerate(drivers):
        if d.target == "delay":
            lag += values[:, j]
            continue
        mask = np.zeros(t, dtype=bool)
        mask[list(d.periods) if d.periods is not None else slice(None)] = True
        factor = np.where(mask[None, :], values[:, j : j + 1], 1.0)
        if d.target == "revenue":
            idx = [names.index(k) for k in d.streams] if names and d.streams else [0]
            streams[:, idx, :] *= factor[:, None, :]
        else:
            parts[d.target] *= factor
    parts["revenue"] = streams.sum(axis=1)
    tax = np.repeat(base.tax[:1], n, axis=0)
    if np.any(lag > 0):
        parts["revenue"] = delay(parts["revenue"], lag)
        parts["opex"] = delay(parts["opex"], lag)
        tax = delay(tax, lag)
    return ProjectFlows(
        revenue=parts["revenue"],
        opex=parts["opex"],
        capex=parts["capex"],
        tax=tax,
        periods_per_year=base.periods_per_year,
    )


def capex_sources(
    drivers: Sequence[Driver], *, costing: bool, on: dt.date | str | None = None
) -> tuple[tuple[dict[str, Any], ...], dict[str, Any]]:
    """Check what each capex driver adds, and list the sources of capex uncertainty.

    One source per uncertainty: the costing Monte Carlo (``capex_factors``) owns unit-cost and
    quantity uncertainty; a capex driver may only add what costing does not model.

    Parameters
    ----------
    drivers : sequence of Driver
        The drivers (only capex drivers are looked at).
    costing : bool
        Whether capex is also scaled by the costing Monte Carlo's draws.
    on : date or ISO str, optional
        Date of the reference table in force (default today).

    Returns
    -------
    sources : tuple of dict
        ``source`` (``costing_monte_carlo`` or ``driver``), ``driver`` (its name or ``None``),
        ``covers`` (codes) and ``covers_en`` / ``covers_zh`` (their descriptions).
    table : dict
        Provenance of ``finance/risk/capex-uncertainty-sources``.

    Raises
    ------
    ValueError
        With ``costing``: a capex driver that does not say what it adds (``covers``), or claims
        a source costing already draws; in any case a code not in the table.

    Notes
    -----
    Without ``costing`` a capex driver that names no source stands for all capex uncertainty
    (every code of the table).

    References
    ----------
    AACE International Recommended Practice 10S-90, Cost Engineering Terminology (2019),
    "contingency" (what an estimate's uncertainty excludes: scope changes, extraordinary events,
    escalation).
    """
    table = refdata.get(CAPEX_SOURCES_TABLE, on=on)
    rows = {str(r["code"]): r for r in table.data}
    owned = tuple(c for c, r in rows.items() if r["owner"] == "costing")
    addable = tuple(c for c, r in rows.items() if r["owner"] == "driver")
    menu = "; ".join(f"{c} ({rows[c]['en']})" for c in addable)

    def entry(source: str, driver: str | None, codes: Sequence[str]) -> dict[str, Any]:
        return {
            "source": source,
            "driver": driver,
            "covers": list(codes),
            "covers_en": [str(rows[c]["en"]) for c in codes],
            "covers_zh": [str(rows[c]["zh"]) for c in codes],
        }

    out = [entry("costing_monte_carlo", None, owned)] if costing else []
    for d in drivers:
        if d.target != "capex":
            continue
        for c in d.covers or ():
            if c not in rows:
                raise ValueError(
                    f"capex driver {d.name!r}: unknown source of capex uncertainty {c!r} "
                    f"(known: {', '.join(rows)})"
                )
        if costing and not d.covers:
            raise ValueError(
                f"capex driver {d.name!r}: the costing Monte Carlo (capex_factors) already draws "
                f"{' and '.join(owned)}; a capex driver may only add what costing does not "
                f"model, and must say which in 'covers': {menu}"
            )
        claimed = [c for c in d.covers or () if c in owned]
        if costing and claimed:
            raise ValueError(
                f"capex driver {d.name!r} covers {', '.join(claimed)}, which the costing Monte "
                f"Carlo already draws (that would count it twice); it may add: {menu}"
            )
        out.append(entry("driver", d.name, d.covers or tuple(rows)))
    return tuple(out), table.provenance()


def lender_loss(cfads: np.ndarray, debt: DebtSchedule, *, tail: int = 0) -> np.ndarray:
    """Present value of the debt service a project fails to pay, per scenario.

    Parameters
    ----------
    cfads : numpy.ndarray
        (N, T) cash flow available for debt service [CNY].
    debt : DebtSchedule
        The loan, (1, T) or (N, T) [CNY].
    tail : int
        Periods after maturity in which arrears can still be collected [period] (0: what is
        unpaid at maturity is lost; the horizon caps it).

    Returns
    -------
    numpy.ndarray
        (N,) loss [CNY] at period 0, discounted at the loan rate.

    Notes
    -----
    Waterfall without reserves or sponsor support: each period pays
    :math:`p_t = \\min(\\max(CFADS_t, 0), DS_t + A_{t-1}(1+i))`; the arrears
    :math:`A_t = DS_t + A_{t-1}(1+i) - p_t` accrue interest at the loan rate :math:`i`, and
    what is unpaid at :math:`E = \\min(M + tail, T-1)` (:math:`M` the maturity) is lost:
    :math:`L = A_E (1+i)^{-E}`, the PV of scheduled minus paid service.

    References
    ----------
    Yescombe, E. R. (2014). Principles of Project Finance, 2nd ed., §12.3 (cash-flow cascade).
    """
    ds = np.broadcast_to(debt.service, cfads.shape)
    avail = np.maximum(cfads, 0.0)
    growth = 1.0 + debt.rate
    if tail < 0:
        raise ValueError("tail must be >= 0")
    end = min(debt.maturity + tail, cfads.shape[1] - 1)
    arrears = np.zeros(cfads.shape[0])
    for t in range(end + 1):
        due = ds[:, t] + arrears * growth
        arrears = due - np.minimum(avail[:, t], due)
    return arrears * growth**-end


@dataclass(frozen=True)
class RiskResult:
    """Simulated outcomes, one entry per scenario.

    Attributes
    ----------
    values : numpy.ndarray
        (N, D) drawn driver values.
    npv : numpy.ndarray
        (N,) project NPV at the discount rate [CNY].
    irr : numpy.ndarray
        (N,) project IRR [1/yr] (``nan`` where none or several).
    npv_at_hurdle : numpy.ndarray
        (N,) project NPV at the hurdle rate [CNY].
    min_dscr, llcr : numpy.ndarray
        (N,) minimum DSCR and LLCR at the drawdown [1] (``nan`` without a loan).
    lender_loss : numpy.ndarray
        (N,) lenders' loss after the guarantee [CNY].
    guarantee_loss : numpy.ndarray
        (N,) guarantee fund's payment [CNY].
    contingent : tuple of ContingentFlow
        Contingent payments drawn as Bernoulli events.
    paid : numpy.ndarray
        (N, K) bool, whether each contingent payment was paid in each scenario.
    stream_names : tuple of str or None
        The base case's revenue streams (``None``: revenue given as a total).
    capex_sources : tuple of dict
        Sources of capex uncertainty (see :func:`capex_sources`).
    tables : tuple of dict
        Provenance of the reference tables read.
    """

    drivers: tuple[Driver, ...]
    values: np.ndarray
    npv: np.ndarray
    irr: np.ndarray
    npv_at_hurdle: np.ndarray
    min_dscr: np.ndarray
    llcr: np.ndarray
    lender_loss: np.ndarray
    guarantee_loss: np.ndarray
    rate: float
    hurdle: float
    seed: int | None
    contingent: tuple[ContingentFlow, ...] = ()
    paid: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=bool))
    stream_names: tuple[str, ...] | None = None
    capex_sources: tuple[dict[str, Any], ...] = ()
    tables: tuple[dict[str, Any], ...] = ()


def draw_values(drivers: Sequence[Driver], n: int, rng: np.random.Generator) -> np.ndarray:
    """Independent draws of the drivers by inverse CDF of uniforms.

    Parameters
    ----------
    drivers : sequence of Driver
        The D drivers.
    n : int
        Draws [1].
    rng : numpy.random.Generator
        Random generator.

    Returns
    -------
    numpy.ndarray
        (n, D) values [1] or [period].
    """
    u = rng.random((n, len(drivers)))
    out = np.empty_like(u)
    for j, d in enumerate(drivers):
        out[:, j] = d.ppf(u[:, j])
    return out


def draw_paid(
    contingent: Sequence[ContingentFlow], n: int, seed: np.random.SeedSequence
) -> np.ndarray:
    """Bernoulli draws of the contingent payments: paid in full with probability p, else not.

    Parameters
    ----------
    contingent : sequence of ContingentFlow
        The K payments.
    n : int
        Draws [1].
    seed : numpy.random.SeedSequence
        Seed of the run; payment ``k`` draws from its ``k``-th spawned child, so its draws do
        not depend on the drivers (their number or order) nor on the payments after it.

    Returns
    -------
    numpy.ndarray
        (n, K) bool, True where paid.

    Notes
    -----
    :math:`B_{n,k} = [U_{n,k} < p_k]`, :math:`U \\sim U(0, 1)`: :math:`P(B = 1) = p_k`.
    """
    children = seed.spawn(len(contingent))
    out = np.empty((n, len(contingent)), dtype=bool)
    for k, (c, child) in enumerate(zip(contingent, children, strict=True)):
        out[:, k] = np.random.default_rng(child).random(n) < c.probability
    return out


@contextmanager
def _progress(enabled: bool, total: int) -> Iterator[Any]:
    if not enabled:
        yield None
        return
    from rich.progress import Progress

    with Progress(transient=True) as bar:
        task = bar.add_task("Monte Carlo", total=total)
        yield lambda k: bar.advance(task, k)


def simulate(
    base: ProjectFlows,
    drivers: Sequence[Driver],
    *,
    rate: float,
    hurdle: float,
    n: int = 10_000,
    seed: int | None = None,
    debt: DebtSchedule | None = None,
    guarantee: Guarantee | None = None,
    tail: int = 0,
    capex_factors: np.ndarray | None = None,
    revenue_streams: Mapping[str, Any] | None = None,
    contingent: Sequence[ContingentFlow] = (),
    on: dt.date | str | None = None,
    block: int = 5_000,
    progress: bool = False,
) -> RiskResult:
    """Monte Carlo over the drivers: project NPV and IRR, coverage ratios, losses.

    Parameters
    ----------
    base : ProjectFlows
        The base case (1, T) [CNY].
    drivers : sequence of Driver
        Uncertain drivers.
    rate : float
        Discount rate for the NPV [1/yr].
    hurdle : float
        Hurdle rate for P(IRR < hurdle) [1/yr].
    n : int
        Scenarios [1].
    seed : int, optional
        Seed of ``numpy.random.default_rng``.
    debt : DebtSchedule, optional
        The senior loan (1, T) [CNY]; gives DSCR, LLCR and lenders' losses.
    guarantee : Guarantee, optional
        The guarantee fund behind the loan.
    tail : int
        Periods after the loan's maturity in which arrears can still be collected [period]
        (see :func:`lender_loss`).
    capex_factors : numpy.ndarray, optional
        (n,) capex multipliers [1], e.g. simulated life-cycle cost / base cost from
        :func:`restora.costing.montecarlo.simulate`: the one source of unit-cost and quantity
        uncertainty. Capex drivers then must say what else they add (``Driver.covers``, see
        :func:`capex_sources`); both multiply capex.
    revenue_streams : mapping of str to array_like, optional
        (T,) central revenue [CNY] of each named stream, adding up to ``base.revenue`` (see
        :func:`revenue_by_stream`). Revenue drivers must then name their streams. ``None``: old
        behaviour, a revenue driver (naming no stream) scales all revenue.
    contingent : sequence of ContingentFlow
        Payments carried in the base case at :math:`p\\,a`, drawn here as Bernoulli events.
    on : date or ISO str, optional
        Date of the reference tables in force (default today).
    block : int
        Scenarios per block [1] (memory bound).
    progress : bool
        Show a rich progress bar.

    Returns
    -------
    RiskResult
        Per-scenario outcomes; see :func:`summary`.

    Notes
    -----
    Flows of scenario :math:`n` are :func:`apply_drivers` with the drawn values and payments,
    capex times ``capex_factors[n]``. NPV and IRR are those of the unlevered project flow
    :math:`CFADS_t - Capex_t` (:mod:`restora.finance.metrics`); lenders' loss is
    :func:`lender_loss`, of which the guarantee pays :math:`G = \\min(s L, cap)` and lenders
    keep :math:`L - G`. Driver values come from ``default_rng(SeedSequence(seed))`` (as
    before), contingent payments from children spawned from the same seed sequence
    (:func:`draw_paid`): the same seed gives the same result.
    """
    if n < 1:
        raise ValueError("n must be >= 1")
    if capex_factors is not None and np.shape(capex_factors) != (n,):
        raise ValueError("capex_factors must have one value per scenario")
    sources, table = capex_sources(drivers, costing=capex_factors is not None, on=on)
    names, parts = _stream_matrix(base, revenue_streams)
    check_drivers(drivers, names)
    _check_contingent(contingent, names, parts)
    seq = np.random.SeedSequence(seed)
    rng = np.random.default_rng(seq)
    values = draw_values(drivers, n, rng)
    paid = draw_paid(contingent, n, seq)
    out = {k: np.empty(n) for k in ("npv", "irr", "hurdle", "dscr", "llcr", "loss", "guar")}
    m = base.periods_per_year
    with _progress(progress, n) as advance:
        for b0 in range(0, n, block):
            b1 = min(b0 + block, n)
            flows = apply_drivers(
                base,
                drivers,
                values[b0:b1],
                revenue_streams=revenue_streams,
                contingent=contingent,
                paid=paid[b0:b1],
            )
            if capex_factors is not None:
                flows = replace(flows, capex=flows.capex * capex_factors[b0:b1, None])
            proj = flows.project
            out["npv"][b0:b1] = metrics.npv(rate, proj, periods_per_year=m)
            out["irr"][b0:b1] = metrics.irr(proj, periods_per_year=m)
            out["hurdle"][b0:b1] = metrics.npv(hurdle, proj, periods_per_year=m)
            if debt is not None:
                cf = flows.cfads
                out["dscr"][b0:b1] = metrics.min_dscr(cf, np.broadcast_to(debt.service, cf.shape))
                ll = metrics.llcr(cf, debt.outstanding, debt.rate, debt.maturity)
                first = int(np.argmax(debt.drawdown[0] > 0))
                out["llcr"][b0:b1] = ll[:, first]
                gross = lender_loss(cf, debt, tail=tail)
                covered = np.zeros_like(gross)
                if guarantee is not None:
                    covered = np.minimum(guarantee.share * gross, guarantee.cap)
                out["loss"][b0:b1] = gross - covered
                out["guar"][b0:b1] = covered
            else:
                for k in ("dscr", "llcr", "loss", "guar"):
                    out[k][b0:b1] = np.nan
            if advance is not None:
                advance(b1 - b0)
    return RiskResult(
        drivers=tuple(drivers),
        values=values,
        npv=out["npv"],
        irr=out["irr"],
        npv_at_hurdle=out["hurdle"],
        min_dscr=out["dscr"],
        llcr=out["llcr"],
        lender_loss=out["loss"],
        guarantee_loss=out["guar"],
        rate=rate,
        hurdle=hurdle,
        seed=seed,
        contingent=tuple(contingent),
        paid=paid,
        stream_names=names,
        capex_sources=sources,
        tables=(table,),
    )


def value_at_risk(loss: np.ndarray, level: float) -> float:
    """Loss not exceeded with probability ``level`` (the ``level`` quantile) [CNY].

    Parameters
    ----------
    loss : numpy.ndarray
        (N,) simulated losses [CNY].
    level : float
        Confidence level [1], e.g. 0.95.

    Returns
    -------
    float
        VaR [CNY] (lower empirical quantile, so it is one of the simulated losses).

    References
    ----------
    Jorion, P. (2007). Value at Risk, 3rd ed., McGraw-Hill, ch. 5.

    Examples
    --------
    >>> value_at_risk(np.arange(100.0), 0.95)
    94.0
    """
    return float(np.quantile(loss, level, method="inverted_cdf"))


def expected_shortfall(loss: np.ndarray, level: float) -> float:
    """Mean loss in the worst ``1 - level`` share of scenarios [CNY].

    Parameters
    ----------
    loss : numpy.ndarray
        (N,) simulated losses [CNY].
    level : float
        Confidence level [1].

    Returns
    -------
    float
        Expected shortfall [CNY].

    Examples
    --------
    >>> expected_shortfall(np.arange(100.0), 0.95)  # mean of 95..99
    97.0
    """
    s = np.sort(loss)
    k = int(np.ceil(level * len(s)))
    return float(s[k:].mean()) if k < len(s) else float(s[-1])


def summary(
    res: RiskResult,
    *,
    percentiles: Sequence[float] = (5, 10, 50, 90, 95),
    levels: Sequence[float] = (0.95, 0.99),
) -> dict[str, Any]:
    """Distribution summary of a simulation.

    Parameters
    ----------
    res : RiskResult
        The simulation.
    percentiles : sequence of float
        Percentiles of NPV and IRR [%].
    levels : sequence of float
        Confidence levels of VaR and expected shortfall [1].

    Returns
    -------
    dict
        ``npv`` and ``irr`` percentiles, ``p_irr_below_hurdle``, ``p_npv_negative``,
        ``share_no_unique_irr``, ``min_dscr`` percentiles and ``p_dscr_below_1``, and for
        ``lender`` and ``guarantee_fund``: ``expected_loss``, ``var``, ``es`` by level and
        ``p_loss``. Also ``revenue_streams`` (names, or ``None`` for one total),
        ``driver_scope`` (per driver: ``driver``, ``target``, ``streams`` — ``None`` meaning all
        revenue when no streams are given — ``periods``, ``covers``),
        ``contingent_payments`` (per payment: ``name``, ``stream``, ``period``, ``amount``,
        ``probability``, ``expected``, ``share_paid`` — the simulated frequency),
        ``capex_uncertainty`` (:func:`capex_sources`) and ``tables``.

    Notes
    -----
    "IRR below the hurdle" uses the IRR where it is unique, and otherwise (no IRR, or several)
    whether NPV at the hurdle is negative — the two agree wherever the IRR is unique and the flow
    conventional.
    """
    fail = np.where(np.isfinite(res.irr), res.irr < res.hurdle, res.npv_at_hurdle < 0)
    finite_irr = res.irr[np.isfinite(res.irr)]

    def pct(x: np.ndarray) -> dict[str, float | None]:
        if x.size == 0:
            return {f"p{p:g}": None for p in percentiles}
        q = np.percentile(x, percentiles)
        return {f"p{p:g}": float(v) for p, v in zip(percentiles, q, strict=True)}

    def losses(x: np.ndarray) -> dict[str, Any]:
        if np.all(np.isnan(x)):
            return {}
        return {
            "expected_loss": float(x.mean()),
            "p_loss": float(np.mean(x > 0)),
            "var": {f"{lv:g}": value_at_risk(x, lv) for lv in levels},
            "es": {f"{lv:g}": expected_shortfall(x, lv) for lv in levels},
        }

    out: dict[str, Any] = {
        "scenarios": int(res.npv.size),
        "seed": res.seed,
        "rate": res.rate,
        "hurdle": res.hurdle,
        "npv": {"mean": float(res.npv.mean()), **pct(res.npv)},
        "irr": pct(finite_irr),
        "p_npv_negative": float(np.mean(res.npv < 0)),
        "p_irr_below_hurdle": float(np.mean(fail)),
        "share_no_unique_irr": float(np.mean(~np.isfinite(res.irr))),
        "revenue_streams": None if res.stream_names is None else list(res.stream_names),
        "driver_scope": [_scope(d) for d in res.drivers],
        "contingent_payments": [
            {
                "name": c.name,
                "stream": c.stream,
                "period": c.period,
                "amount": c.amount,
                "probability": c.probability,
                "expected": c.expected,
                "share_paid": float(res.paid[:, k].mean()),
            }
            for k, c in enumerate(res.contingent)
        ],
        "capex_uncertainty": [dict(x) for x in res.capex_sources],
        "tables": [dict(t) for t in res.tables],
    }
    if not np.all(np.isnan(res.min_dscr)):
        d = res.min_dscr[np.isfinite(res.min_dscr)]
        out["min_dscr"] = pct(d)
        out["p_dscr_below_1"] = float(np.mean(res.min_dscr < 1.0))
        out["llcr"] = pct(res.llcr[np.isfinite(res.llcr)])
        out["lender"] = losses(res.lender_loss)
        out["guarantee_fund"] = losses(res.guarantee_loss)
    return out


def _scope(d: Driver) -> dict[str, Any]:
    """What a driver acts on, for reports: target, streams, periods, capex sources."""
    return {
        "driver": d.name,
        "target": d.target,
        "streams": None if d.streams is None else list(d.streams),
        "periods": None if d.periods is None else list(d.periods),
        "covers": None if d.covers is None else list(d.covers),
    }


def tornado(
    base: ProjectFlows,
    drivers: Sequence[Driver],
    *,
    rate: float,
    swing: float = 0.10,
    revenue_streams: Mapping[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """Sensitivity of NPV and IRR to each driver, one at a time, others at their mode.

    Parameters
    ----------
    base : ProjectFlows
        The base case (1, T) [CNY].
    drivers : sequence of Driver
        The drivers.
    rate : float
        Discount rate [1/yr].
    swing : float
        Relative change of each driver [1] (0.10 = ±10 % of its mode; for a delay whose mode is
        0, ± ``swing`` x its range), clipped to the driver's range ``[low, high]``.
    revenue_streams : mapping of str to array_like, optional
        Revenue [CNY] by named stream, as given to :func:`simulate`: a revenue driver moves only
        the streams it names, exactly as in the simulation.

    Returns
    -------
    list of dict
        One row per driver, sorted by NPV swing (largest first): ``driver``, ``target``,
        ``streams``, ``periods``, ``minus``/``plus`` values, ``npv_minus``, ``npv_plus``,
        ``npv_swing``, ``irr_minus``, ``irr_plus``, plus ``npv_low``/``npv_high`` at the ends of
        its range.

    Notes
    -----
    One-at-a-time (tornado) analysis: :math:`\\Delta_d = NPV(v_d^+) - NPV(v_d^-)`, other
    drivers at their modes, through :func:`apply_drivers` as in :func:`simulate` (contingent
    payments at their expected values, as in the base case). For a revenue driver on streams
    :math:`S` (others at mode 1) the swing is
    :math:`2\\,\\mathrm{swing}\\,m_d \\sum_{s \\in S} PV(R_s)` over its periods.

    References
    ----------
    Eschenbach, T. G. (1992). Spiderplots versus tornado diagrams for sensitivity analysis.
    Interfaces 22(6), 40-46. doi:10.1287/inte.22.6.40.
    """
    modes = np.array([d.mode for d in drivers], dtype=np.float64)
    rows: list[np.ndarray] = [modes]
    for j, d in enumerate(drivers):
        step = swing * (abs(d.mode) if d.mode != 0 else (d.high - d.low))
        # ± swing around the mode, never outside the driver's own range (a sponsor who gives
        # 1.0 – 1.1 has excluded 0.9)
        minus, plus = max(d.mode - step, d.low, 0.0), min(d.mode + step, d.high)
        for v in (minus, plus, d.low, d.high):
            r = modes.copy()
            r[j] = v
            rows.append(r)
    values = np.array(rows)
    flows = apply_drivers(base, drivers, values, revenue_streams=revenue_streams).project
    m = base.periods_per_year
    npv = metrics.npv(rate, flows, periods_per_year=m)
    irr = metrics.irr(flows, periods_per_year=m)
    out: list[dict[str, Any]] = []
    for j, d in enumerate(drivers):
        k = 1 + 4 * j
        out.append(
            {
                "driver": d.name,
                "target": d.target,
                "streams": None if d.streams is None else list(d.streams),
                "periods": None if d.periods is None else list(d.periods),
                "minus": float(values[k, j]),
                "plus": float(values[k + 1, j]),
                "npv_base": float(npv[0]),
                "npv_minus": float(npv[k]),
                "npv_plus": float(npv[k + 1]),
                "npv_swing": float(abs(npv[k + 1] - npv[k])),
                "irr_minus": _num(irr[k]),
                "irr_plus": _num(irr[k + 1]),
                "npv_low": float(npv[k + 2]),
                "npv_high": float(npv[k + 3]),
            }
        )
    out.sort(key=lambda r: -r["npv_swing"])
    return out


def _num(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None


# ---------------------------------------------------------------- one spec, one run


class DriverSpec(BaseModel):
    """A driver as given in a risk spec (see :class:`Driver`).

    ``streams``: the revenue streams a revenue driver scales (required when the spec gives
    ``revenue_streams``); ``covers``: what a capex driver adds, codes of the table
    ``finance/risk/capex-uncertainty-sources``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    target: Target
    low: float = Field(ge=0)
    mode: float = Field(ge=0)
    high: float = Field(ge=0)
    distribution: Literal["triangular", "pert"] = "triangular"
    periods: tuple[int, ...] | None = None
    streams: tuple[str, ...] | None = Field(None, min_length=1)
    covers: tuple[str, ...] | None = Field(None, min_length=1)

    def driver(self) -> Driver:
        """The engine's :class:`Driver`."""
        return Driver(**self.model_dump())


class ContingentSpec(BaseModel):
    """A contingent payment as given in a risk spec (see :class:`ContingentFlow`).

    Its expected value ``probability x amount`` must be in the base revenue (of ``stream``).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1)
    stream: str | None = None
    period: int = Field(ge=0, description="[period index]")
    amount: float = Field(ge=0, description="[CNY]")
    probability: float = Field(ge=0, le=1, description="[1]")

    def flow(self) -> ContingentFlow:
        """The engine's :class:`ContingentFlow`."""
        return ContingentFlow(**self.model_dump())


class LoanSpec(BaseModel):
    """A senior term loan (see :func:`restora.finance.cashflow.loan_schedule`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    principal: float = Field(gt=0, description="[CNY]")
    rate: float = Field(ge=0, description="[1/period]")
    tenor: int = Field(ge=1, description="repayment periods [period]")
    draw_period: int = Field(0, ge=0)
    grace: int = Field(0, ge=0)
    kind: Literal["annuity", "level"] = "annuity"
    tail: int = Field(0, ge=0, description="periods after maturity to collect arrears")


class GuaranteeSpec(BaseModel):
    """A guarantee fund behind the loan (see :class:`Guarantee`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    share: float = Field(ge=0, le=1)
    cap: float | None = Field(None, ge=0, description="[CNY]; none = no cap")


class RiskSpec(BaseModel):
    """Inputs of a project risk run: base flows, drivers, rates, financing.

    Amounts are [CNY] per period (positive numbers; the engine applies signs). Revenue is
    ``revenue`` (a total per period) or ``revenue_streams`` (per period by named stream; then
    every revenue driver names its ``streams``, and ``revenue``, if also given, must be their
    sum); it fixes the number of periods, and ``opex``, ``capex`` and ``tax`` are a number
    (every period) or a list as long as it. ``contingent`` lists payments carried at their
    expected value and drawn as Bernoulli events. ``rate`` and ``hurdle`` are [1/yr].
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    revenue: tuple[float, ...] | None = Field(None, min_length=2)
    revenue_streams: dict[str, tuple[float, ...]] | None = Field(None, min_length=1)
    contingent: tuple[ContingentSpec, ...] = ()
    opex: float | tuple[float, ...] = 0.0
    capex: float | tuple[float, ...] = 0.0
    tax: float | tuple[float, ...] = 0.0
    periods_per_year: int = Field(1, ge=1)
    rate: float = Field(gt=-1)
    hurdle: float = Field(gt=-1)
    drivers: tuple[DriverSpec, ...] = ()
    loan: LoanSpec | None = None
    guarantee: GuaranteeSpec | None = None

    @property
    def total_revenue(self) -> tuple[float, ...]:
        """Revenue per period [CNY]: ``revenue``, else the sum of the streams."""
        if self.revenue is not None:
            return self.revenue
        streams = self.revenue_streams or {}
        return tuple(float(x) for x in np.sum(list(streams.values()), axis=0))

    @model_validator(mode="after")
    def _check(self) -> RiskSpec:
        if self.revenue is None and self.revenue_streams is None:
            raise ValueError("give revenue (a total per period) or revenue_streams (by stream)")
        streams = self.revenue_streams or {}
        n = len(self.revenue) if self.revenue is not None else len(next(iter(streams.values())))
        for key, v in streams.items():
            if len(v) != n:
                raise ValueError(f"revenue stream {key!r} has {len(v)} periods, not {n}")
        if n < 2:
            raise ValueError("revenue needs at least 2 periods")
        for name in ("opex", "capex", "tax"):
            v = getattr(self, name)
            if isinstance(v, tuple) and len(v) != n:
                raise ValueError(f"{name} has {len(v)} periods, revenue has {n}")
        for d in self.drivers:
            if not d.low <= d.mode <= d.high:
                raise ValueError(f"driver {d.name}: need low <= mode <= high")
            if d.periods is not None and any(not 0 <= p < n for p in d.periods):
                raise ValueError(f"driver {d.name}: periods must lie in 0..{n - 1}")
        drivers = [d.driver() for d in self.drivers]
        check_drivers(drivers, list(streams) if streams else None)
        capex_sources(drivers, costing=False)  # codes of `covers` in the table
        base = ProjectFlows(
            revenue=np.array([self.total_revenue]),
            opex=np.zeros((1, n)),
            capex=np.zeros((1, n)),
            tax=np.zeros((1, n)),
        )
        names, parts = _stream_matrix(base, self.revenue_streams)
        _check_contingent([c.flow() for c in self.contingent], names, parts)
        if self.guarantee is not None and self.loan is None:
            raise ValueError("a guarantee needs a loan")
        if self.loan is not None:
            end = self.loan.draw_period + self.loan.grace + self.loan.tenor
            if end >= n:
                raise ValueError(f"the loan ends in period {end}, after the last period {n - 1}")
        return self


def run(
    spec: RiskSpec,
    *,
    n: int = 10_000,
    seed: int | None = 1,
    swing: float = 0.10,
    progress: bool = False,
) -> dict[str, Any]:
    """Simulate a :class:`RiskSpec`: the :func:`summary` and the :func:`tornado` table.

    Parameters
    ----------
    spec : RiskSpec
        The project.
    n : int
        Scenarios [1].
    seed : int, optional
        Random seed.
    swing : float
        Tornado swing [1].
    progress : bool
        Show a progress bar.

    Returns
    -------
    dict
        ``summary`` (see :func:`summary`) and ``tornado`` (see :func:`tornado`).
    """
    from restora.finance.cashflow import loan_schedule, project_flows

    base = project_flows(
        spec.total_revenue,
        spec.opex,
        spec.capex,
        spec.tax,
        periods_per_year=spec.periods_per_year,
    )
    drivers = [d.driver() for d in spec.drivers]
    contingent = [c.flow() for c in spec.contingent]
    debt = guarantee = None
    tail = 0
    if spec.loan is not None:
        ln = spec.loan
        debt = loan_schedule(
            ln.principal, ln.rate, ln.tenor, base.n_periods,
            draw_period=ln.draw_period, grace=ln.grace, kind=ln.kind,
        )  # fmt: skip
        tail = ln.tail
    if spec.guarantee is not None:
        cap = spec.guarantee.cap
        guarantee = Guarantee(spec.guarantee.share, float("inf") if cap is None else cap)
    res = simulate(
        base, drivers, rate=spec.rate, hurdle=spec.hurdle, n=n, seed=seed, debt=debt,
        guarantee=guarantee, tail=tail, revenue_streams=spec.revenue_streams,
        contingent=contingent, progress=progress,
    )  # fmt: skip
    rows = (
        tornado(base, drivers, rate=spec.rate, swing=swing, revenue_streams=spec.revenue_streams)
        if drivers
        else []
    )
    return {"summary": summary(res), "tornado": rows}
