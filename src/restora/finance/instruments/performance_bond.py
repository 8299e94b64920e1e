"""Outcome-based performance bond (生态修复绩效债券): principal repaid in tranches, each settled by
the tier a verified indicator reaches.

The tiered structure generalises the environmental impact bonds (EIB) of DC Water (2016) and
Atlanta (2019): there, one verified outcome at one date chooses among two or three tiers, each
with a contingent outcome payment (positive: the issuer pays investors; negative: investors pay
the issuer a risk share). Here a bond has any number of principal tranches, each with its own
indicator (share of soil zones below screening values, vegetation cover, hazard points
eliminated …), verification year and ladder of tiers. A tier can

- repay all or part of the tranche (``principal_fraction``; with ``interpolate`` the fraction
  rises linearly between this tier's threshold and the next one's: partial payment), the
  unpaid part being forfeited by investors (rule ``FIN-PBOND-PARTIAL``);
- defer the tranche to a re-verification ``deferral_years`` later, at most ``max_deferrals``
  times, after which the tier's own fraction applies (``FIN-PBOND-DEFER``);
- step the coupon up or down from the next year on (``FIN-PBOND-STEP``);
- carry an outcome payment (``FIN-PBOND-TIER``).
"""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

import numpy as np
from pydantic import Field, model_validator

from restora import refdata
from restora.finance import metrics
from restora.finance.instruments._spec import InstrumentResult, Spec, quantity

NAME = "performance-bond"
PUBLISHED = {
    "dc-water": "finance/instruments/dc-water-eib",
    "atlanta": "finance/instruments/atlanta-eib",
}


class Tier(Spec):
    """One rung of a tranche's ladder, chosen when the indicator passes ``lower``."""

    name: str = ""
    lower: float | None = quantity(
        "threshold the indicator must pass (None: the bottom tier)", "indicator unit", default=None
    )
    lower_inclusive: bool = True
    principal_fraction: float = quantity(
        "share of the tranche's principal repaid", "1", ge=0, le=1, default=1.0
    )
    interpolate: bool = Field(
        False, description="fraction rises linearly to the next tier's at the next threshold"
    )
    outcome_payment: float = quantity(
        "contingent payment, + issuer to investors, − investors to issuer", "currency", default=0.0
    )
    coupon_step: float = quantity(
        "change of the coupon rate from the next year on (+ step-up, − step-down)",
        "1/yr",
        ge=-1,
        le=1,
        default=0.0,
    )
    defer: bool = Field(False, description="re-verify later instead of settling")


class Tranche(Spec):
    """A share of principal whose repayment depends on one verified indicator."""

    name: str
    share: float = quantity("share of the bond's principal", "1", gt=0, le=1)
    indicator: str
    verification_year: int = quantity("year of verification (1 = end of first year)", "yr", ge=1)
    repayment_year: int | None = quantity(
        "year the principal is repaid (default: the verification year)", "yr", ge=1, default=None
    )
    tiers: list[Tier] = Field(min_length=1)
    max_deferrals: int = quantity("re-verifications allowed", "1", ge=0, default=0)
    deferral_years: int = quantity("years between re-verifications", "yr", ge=1, default=1)

    @model_validator(mode="after")
    def _ladder(self) -> Tranche:
        if self.tiers[0].lower is not None:
            raise ValueError("the first tier must be the bottom tier (lower: null)")
        lows = [t.lower for t in self.tiers[1:] if t.lower is not None]
        if len(lows) != len(self.tiers) - 1:
            raise ValueError("only the first tier may have lower: null")
        if any(b <= a for a, b in itertools.pairwise(lows)):
            raise ValueError("tier thresholds must rise strictly")
        if self.tiers[-1].interpolate:
            raise ValueError("the top tier has no next tier to interpolate to")
        return self


class PerformanceBondSpec(Spec):
    """Inputs of an outcome-based performance bond."""

    principal: float = quantity("face value", "currency", gt=0)
    coupon_rate: float = quantity("base coupon on outstanding principal", "1/yr", ge=0, le=1)
    term_years: int = quantity("final maturity", "yr", ge=1, le=100)
    issuance_cost_rate: float = quantity(
        "issuance costs paid at issue, share of the principal", "1", ge=0, le=0.1, default=0.0
    )
    currency: str = "CNY"
    tranches: list[Tranche] = Field(min_length=1)
    outcomes: dict[str, dict[int, float]] = Field(
        description="verified indicator values: indicator → {year: value}"
    )

    @model_validator(mode="after")
    def _consistent(self) -> PerformanceBondSpec:
        total = sum(t.share for t in self.tranches)
        if abs(total - 1.0) > 1e-9:
            raise ValueError(f"tranche shares must sum to 1 (they sum to {total:g})")
        for t in self.tranches:
            last = max(t.verification_year, t.repayment_year or 0)
            if last > self.term_years:
                raise ValueError(f"tranche {t.name!r} settles after the term ({last} > term)")
        return self


def _tier_index(tiers: list[Tier], value: float) -> int:
    k = 0
    for i, t in enumerate(tiers[1:], start=1):
        assert t.lower is not None
        if value > t.lower or (t.lower_inclusive and value == t.lower):
            k = i
    return k


def tier_fraction(tiers: list[Tier], value: float) -> tuple[int, float]:
    """The tier an indicator value reaches and the principal fraction it repays.

    Parameters
    ----------
    tiers : list of Tier
        The ladder, bottom tier first.
    value : float
        Verified indicator value [indicator unit].

    Returns
    -------
    (int, float)
        Tier index and principal fraction [1].

    Notes
    -----
    With ``interpolate`` on tier :math:`k` (threshold :math:`L_k`, fraction :math:`f_k`), the
    fraction is :math:`f_k + (f_{k+1}-f_k)\\,(x-L_k)/(L_{k+1}-L_k)` for :math:`L_k \\le x <
    L_{k+1}`; the bottom tier interpolates from the value 0.
    """
    k = _tier_index(tiers, value)
    t = tiers[k]
    f = t.principal_fraction
    if t.interpolate:
        lo = t.lower if t.lower is not None else 0.0
        hi = tiers[k + 1].lower
        assert hi is not None
        w = float(np.clip((value - lo) / (hi - lo), 0.0, 1.0))
        f = f + (tiers[k + 1].principal_fraction - f) * w
    return k, f


def run(spec: PerformanceBondSpec) -> InstrumentResult:
    """Cash flows between issuer and investors under the verified outcomes.

    Parameters
    ----------
    spec : PerformanceBondSpec
        Principal [currency], base coupon [1/yr], term [yr], tranches with tier ladders, and the
        verified outcomes [indicator unit] by year.

    Returns
    -------
    InstrumentResult
        ``schedule``: per year, outstanding principal at the start, coupon rate, interest,
        principal repaid and forfeited, outcome payment, and the investors' net cash flow
        (all [currency]); ``summary``: totals, investors' IRR and the events of verification.

    Notes
    -----
    Interest of year :math:`t` is :math:`B_{t-1} (c + \\sum s)` on the principal outstanding at
    the start of the year, with the coupon steps :math:`s` of verifications before year
    :math:`t`. A tranche of principal :math:`P_j` settled with fraction :math:`f` repays
    :math:`f P_j` in its repayment year and writes off :math:`(1-f) P_j`. Investors receive
    interest + principal + outcome payments.

    References
    ----------
    US EPA Water Infrastructure and Resiliency Finance Center (2017), *DC Water Environmental
    Impact Bond* fact sheet; Atlanta Department of Watershed Management (2019), Environmental
    Impact Bond offering.
    """
    from restora.errors import InputError

    n = spec.term_years
    repaid = np.zeros(n + 1)
    forfeited = np.zeros(n + 1)
    outcome = np.zeros(n + 1)
    step = np.zeros(n + 2)  # step[t]: coupon change taking effect in year t
    events: list[dict[str, Any]] = []
    codes: set[str] = {"FIN-PBOND-TIER"}
    for tr in spec.tranches:
        p = spec.principal * tr.share
        year, deferrals = tr.verification_year, 0
        pay_year = tr.repayment_year or year
        while True:
            series = spec.outcomes.get(tr.indicator, {})
            if year not in series:
                raise InputError(
                    f"no verified value of {tr.indicator!r} for year {year}",
                    field=f"outcomes.{tr.indicator}.{year}",
                )
            value = float(series[year])
            k, f = tier_fraction(tr.tiers, value)
            tier = tr.tiers[k]
            if tier.coupon_step:
                step[year + 1] += tier.coupon_step
                codes.add("FIN-PBOND-STEP")
            can_defer = deferrals < tr.max_deferrals and year + tr.deferral_years <= n
            if tier.defer and can_defer:
                events.append(_event(tr, year, value, tier, k, "deferred", 0.0, tier.coupon_step))
                codes.add("FIN-PBOND-DEFER")
                deferrals += 1
                year += tr.deferral_years
                pay_year = max(pay_year, year)
                continue
            action = "repaid" if f >= 1.0 else ("forfeited" if f <= 0.0 else "partial")
            if 0.0 < f < 1.0:
                codes.add("FIN-PBOND-PARTIAL")
            if f < 1.0:
                codes.add("FIN-PBOND-FORFEIT")
            events.append(_event(tr, year, value, tier, k, action, f, tier.coupon_step))
            repaid[pay_year] += f * p
            forfeited[pay_year] += (1.0 - f) * p
            outcome[year] += tier.outcome_payment
            break
    rate = spec.coupon_rate + np.cumsum(step)[: n + 1]
    rows: list[dict[str, Any]] = []
    outstanding = spec.principal
    flows = [-spec.principal]
    for t in range(1, n + 1):
        r = max(float(rate[t]), 0.0)
        interest = float(outstanding * r)
        cash = float(interest + repaid[t] + outcome[t])
        rows.append(
            {
                "year": t,
                "outstanding_start": outstanding,
                "coupon_rate": r,
                "interest": interest,
                "principal_repaid": float(repaid[t]),
                "principal_forfeited": float(forfeited[t]),
                "outcome_payment": float(outcome[t]),
                "investor_cash_flow": cash,
            }
        )
        flows.append(cash)
        outstanding = float(outstanding - repaid[t] - forfeited[t])
    irr = metrics.irr(np.asarray(flows))
    summary = {
        "currency": spec.currency,
        "principal": spec.principal,
        "total_interest": sum(r["interest"] for r in rows),
        "total_principal_repaid": float(repaid.sum()),
        "total_principal_forfeited": float(forfeited.sum()),
        "total_outcome_payments": float(outcome.sum()),
        "total_to_investors": sum(r["investor_cash_flow"] for r in rows),
        "investor_irr": None if np.isnan(irr) else float(irr),
        "events": events,
    }
    return InstrumentResult(NAME, summary, rows, tuple(sorted(codes)))


def _event(
    tr: Tranche, year: int, value: float, tier: Tier, k: int, action: str, f: float, s: float
) -> dict[str, Any]:
    return {
        "tranche": tr.name,
        "year": year,
        "indicator": tr.indicator,
        "value": value,
        "tier": tier.name or str(k),
        "action": action,
        "principal_fraction": f,
        "outcome_payment": 0.0 if action == "deferred" else tier.outcome_payment,
        "coupon_step": s,
    }


def published_spec(
    which: str, outcome: float, on: dt.date | str | None = None
) -> tuple[PerformanceBondSpec, dict[str, Any]]:
    """The spec of a published EIB (``"dc-water"`` or ``"atlanta"``) for one outcome value.

    Parameters
    ----------
    which : str
        ``"dc-water"`` or ``"atlanta"``.
    outcome : float
        The verified outcome [percent runoff reduction for DC Water; million gallons for
        Atlanta].
    on : date, optional
        Date whose table version applies.

    Returns
    -------
    (PerformanceBondSpec, dict)
        The spec and the table's provenance.
    """
    table = refdata.get(PUBLISHED[which], on=on)
    d = table.data
    verify = int(d.get("outcome_year", d["term_years"]))
    spec = PerformanceBondSpec(
        principal=d["principal"],
        coupon_rate=d["coupon_rate"],
        term_years=d["term_years"],
        currency=d["currency"],
        tranches=[
            Tranche(
                name="principal",
                share=1.0,
                indicator=d["indicator"],
                verification_year=verify,
                repayment_year=d["term_years"],
                tiers=[Tier(**t) for t in d["tiers"]],
            )
        ],
        outcomes={d["indicator"]: {verify: outcome}},
    )
    return spec, table.provenance()
