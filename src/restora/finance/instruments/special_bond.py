"""Pooled local-government special bond (专项债) bundling several mines' projects.

A special bond must balance itself: the revenue of the projects it finances must cover its
principal and interest over its life, a coverage ratio of at least 1.0 nationally; provinces or
underwriters may ask 1.1-1.3 (reference table ``finance/instruments/special-bond-coverage``, by
region). Pooling lets strong projects carry weak ones; this module computes each project's and
the pool's coverage, flags the pool below the national floor (``FIN-SBOND-NATIONAL``) or the
regional threshold (``FIN-SBOND-REGIONAL``), and names the projects that drag it down.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
from pydantic import Field, model_validator

from restora import refdata
from restora.finance.instruments._amortise import Amortisation, schedule
from restora.finance.instruments._spec import InstrumentResult, Spec, quantity

NAME = "special-bond"
TABLE = "finance/instruments/special-bond-coverage"


class PooledProject(Spec):
    """One mine's project in the pool: its share of the bond and its revenue."""

    name: str
    principal: float = quantity("bond principal allotted to the project", "currency", gt=0)
    revenue: list[float] = quantity("project revenue per year, year 1 first", "currency/yr")


class SpecialBondSpec(Spec):
    """Inputs of a pooled special bond."""

    projects: list[PooledProject] = Field(min_length=1)
    coupon_rate: float = quantity("bond coupon", "1/yr", ge=0, le=1)
    term_years: int = quantity("bond term", "yr", ge=1, le=50)
    repayment: Amortisation = "bullet"
    grace_years: int = quantity(
        "interest-only years (equal_principal, annuity)", "yr", ge=0, default=0
    )
    region: str = Field("000000", description="6-digit region code for the threshold")
    on: dt.date | None = Field(None, description="date whose threshold applies (default today)")
    threshold: float | None = quantity(
        "coverage threshold overriding the table", "1", gt=0, default=None
    )
    currency: str = "CNY"

    @model_validator(mode="after")
    def _names(self) -> SpecialBondSpec:
        names = [p.name for p in self.projects]
        if len(set(names)) != len(names):
            raise ValueError("project names must be unique")
        if self.repayment == "bullet" and self.grace_years:
            raise ValueError("grace years do not apply to a bullet bond")
        if self.grace_years >= self.term_years:
            raise ValueError("grace years must be fewer than the term")
        return self


def coverage(revenue: Any, debt_service: Any) -> Any:
    """Coverage ratio of project revenue to principal plus interest over the bond's life.

    Parameters
    ----------
    revenue : array_like
        (..., T) revenue per year over the bond's life [currency/yr].
    debt_service : array_like
        (..., T) principal plus interest per year [currency/yr].

    Returns
    -------
    float or numpy.ndarray
        Coverage [1].

    Notes
    -----
    .. math:: C = \\sum_t R_t / \\sum_t (P_t + I_t)

    undiscounted, as special-bond issuance documents state it (本息覆盖倍数).

    Examples
    --------
    >>> coverage([60.0, 60.0], [5.0, 105.0])
    1.0909090909090908
    """
    r = np.asarray(revenue, dtype=np.float64).sum(axis=-1)
    d = np.asarray(debt_service, dtype=np.float64).sum(axis=-1)
    out = r / d
    return float(out) if np.ndim(out) == 0 else out


def debt_service(spec: SpecialBondSpec) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Each pooled project's interest and principal by bond year.

    Parameters
    ----------
    spec : SpecialBondSpec
        The pool: each project's principal [currency], the coupon [1/yr], term [yr] and
        repayment profile.

    Returns
    -------
    dict
        ``{project name: (interest, principal)}``, each (term,) [currency], year 1 first.

    Notes
    -----
    Each project's allotment is repaid on the bond's profile
    (:func:`restora.finance.instruments._amortise.schedule`), so the pool's debt service is the
    sum of its projects'.

    Examples
    --------
    >>> s = SpecialBondSpec(projects=[{"name": "A", "principal": 100.0, "revenue": [60.0, 60.0]}],
    ...                     coupon_rate=0.05, term_years=2, threshold=1.0)
    >>> i, p = debt_service(s)["A"]
    >>> i.tolist(), p.tolist()
    ([5.0, 5.0], [0.0, 100.0])
    """
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for p in spec.projects:
        it, pr, _ = schedule(
            p.principal, spec.coupon_rate, spec.term_years, spec.repayment, spec.grace_years
        )
        out[p.name] = (it, pr)
    return out


def run(spec: SpecialBondSpec) -> InstrumentResult:
    """Project and pool coverage ratios, the threshold test and the dragging projects.

    Parameters
    ----------
    spec : SpecialBondSpec
        Projects (principal [currency], revenue [currency/yr]), coupon [1/yr], term [yr],
        repayment profile, region and date of the threshold.

    Returns
    -------
    InstrumentResult
        ``schedule``: one row per project and one for the pool: revenue, principal, interest,
        debt service, coverage, surplus over the threshold, coverage of the pool without it;
        ``summary``: thresholds, pool coverage, pass/fail, dragging projects (worst first).

    Notes
    -----
    Project :math:`i` surplus at threshold :math:`k`: :math:`S_i = R_i - k\\,DS_i`. The pool
    meets :math:`k` iff :math:`\\sum_i S_i \\ge 0`; projects with :math:`S_i < 0` drag it, the
    most negative first.

    References
    ----------
    Ministry of Finance, 财预〔2017〕89号 (project-revenue special bonds: revenue and financing
    self-balancing: 关于试点发展项目收益与融资自求平衡的地方政府专项债券品种的通知).
    """
    n = spec.term_years
    national = refdata.get(TABLE, on=spec.on, region=None)
    regional = refdata.get(TABLE, on=spec.on, region=spec.region)
    floor = float(national.data["threshold"])
    k = float(spec.threshold if spec.threshold is not None else regional.data["threshold"])
    k = max(k, floor)
    rev = np.zeros((len(spec.projects), n))
    ds = np.zeros((len(spec.projects), n))
    interest = np.zeros_like(ds)
    service = debt_service(spec)
    for i, p in enumerate(spec.projects):
        r = np.asarray(p.revenue[:n], dtype=np.float64)
        rev[i, : r.size] = r
        it, pr = service[p.name]
        interest[i] = it
        ds[i] = it + pr
    cov = coverage(rev, ds)
    surplus = rev.sum(axis=1) - k * ds.sum(axis=1)
    pool_rev, pool_ds = rev.sum(), ds.sum()
    pool_cov = float(pool_rev / pool_ds)
    rows: list[dict[str, Any]] = []
    for i, p in enumerate(spec.projects):
        rest_r, rest_d = pool_rev - rev[i].sum(), pool_ds - ds[i].sum()
        rows.append(
            {
                "project": p.name,
                "revenue": float(rev[i].sum()),
                "principal": p.principal,
                "interest": float(interest[i].sum()),
                "debt_service": float(ds[i].sum()),
                "coverage": float(cov[i]),
                "surplus_at_threshold": float(surplus[i]),
                "pool_coverage_without": float(rest_r / rest_d) if rest_d > 0 else None,
            }
        )
    rows.append(
        {
            "project": "POOL",
            "revenue": float(pool_rev),
            "principal": float(sum(p.principal for p in spec.projects)),
            "interest": float(interest.sum()),
            "debt_service": float(pool_ds),
            "coverage": pool_cov,
            "surplus_at_threshold": float(surplus.sum()),
            "pool_coverage_without": None,
        }
    )
    order = np.argsort(surplus, kind="stable")
    dragging = [spec.projects[i].name for i in order if surplus[i] < 0]
    flags = []
    meets_floor = pool_cov >= floor
    meets = pool_cov >= k
    if not meets_floor:
        flags.append(f"FIN-SBOND-NATIONAL: pool coverage {pool_cov:.3f} < national floor {floor}")
    if not meets:
        flags.append(
            f"FIN-SBOND-REGIONAL: pool coverage {pool_cov:.3f} < threshold {k} "
            f"(region {spec.region}); dragged by {', '.join(dragging)}"
        )
    yearly = rev.sum(axis=0) - ds.sum(axis=0)
    summary = {
        "currency": spec.currency,
        "national_floor": floor,
        "threshold": k,
        "threshold_region": regional.region,
        "pool_coverage": pool_cov,
        "meets_national_floor": meets_floor,
        "meets_threshold": meets,
        "dragging_projects": dragging,
        "main_drag": dragging[0] if dragging else None,
        "pool_net_by_year": [float(x) for x in yearly],
        "pool_cumulative_min": float(np.cumsum(yearly).min()),
    }
    tables = (national.provenance(),) + (
        (regional.provenance(),) if regional.region != national.region else ()
    )
    return InstrumentResult(
        NAME, summary, rows, ("FIN-SBOND-NATIONAL", "FIN-SBOND-REGIONAL"), tuple(flags), tables
    )
