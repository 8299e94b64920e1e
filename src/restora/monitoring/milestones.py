"""Milestone indicators from evidence, and what a verified value settles.

Pure functions: plain numbers and numpy arrays in, numbers and frozen dataclasses out. The
store (:mod:`restora.store.verification`) gathers the evidence — soil samples and campaign
readings, remote-sensing results per zone, displacement series — and calls these.

Indicators (``INDICATORS``):

``soil_share_below_screening`` [1]
    share of the soil samples (or zones: a zone counts when all its samples do) whose class
    under GB 15618-2018 / GB 36600-2018 is *priority protection* (every measured pollutant at
    or below its risk screening value, :func:`restora.diagnosis.soil.classify`); a sample the
    data cannot place (``indeterminate``) does not count as below.
``vegetation_cover`` [1]
    area-weighted mean fractional vegetation cover of the zones (weights: the zones' valid
    pixel areas), from the dimidiate pixel model (:mod:`restora.monitoring.fvc`).
``hazards_stabilised`` [1]
    share of hazard points whose displacement rate over the window — the least-squares slope
    of displacement against time — is at most the milestone's limit [mm/d] in absolute value.
``plant_survival`` [1]
    plants alive / plants planted, summed over the plots (GB/T 15776-2016 counts survival per
    plot; the project's rate is the pooled ratio), or the mean of plot survival rates when
    only rates are recorded.

A milestone compares the value with its ``target`` (``COMPARISONS``); the tranche of a
performance bond it settles is paid by :func:`restora.finance.instruments.performance_bond.
tier_fraction`, and the credits it earns are a fixed count or ``per_value`` serials per unit
of the value above a ``baseline`` (:func:`credit_count`).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from restora.errors import InputError

INDICATORS = (
    "soil_share_below_screening",
    "vegetation_cover",
    "hazards_stabilised",
    "plant_survival",
)
COMPARISONS = {
    "ge": lambda v, t: v >= t,
    "gt": lambda v, t: v > t,
    "le": lambda v, t: v <= t,
    "lt": lambda v, t: v < t,
}
SECONDS_PER_DAY = 86_400.0


def check_indicator(indicator: str) -> str:
    """The indicator, or an :class:`InputError` naming the known ones."""
    if indicator not in INDICATORS:
        raise InputError(
            f"unknown milestone indicator {indicator!r} (one of {', '.join(INDICATORS)})",
            field="indicator",
        )
    return indicator


def meets(value: float, comparison: str, target: float) -> bool:
    """Whether ``value`` meets ``target`` under ``comparison`` (``ge``, ``gt``, ``le``, ``lt``).

    >>> meets(0.7, "ge", 0.6), meets(0.5, "ge", 0.6)
    (True, False)
    """
    if comparison not in COMPARISONS:
        raise InputError(
            f"comparison {comparison!r} is not one of {', '.join(COMPARISONS)}",
            field="comparison",
        )
    return bool(COMPARISONS[comparison](value, target))


@dataclass(frozen=True)
class ShareResult:
    """A share of items meeting a condition: ``value`` = ``met`` / ``counted`` [1]."""

    value: float | None
    met: int
    counted: int


def share_below_screening(sample_class: ArrayLike, zone: ArrayLike | None = None) -> ShareResult:
    """Share of samples (or zones) below the screening values.

    Parameters
    ----------
    sample_class : array_like of int, shape (N,)
        Class codes of :data:`restora.diagnosis.soil.CLASS_CODES` (0 priority protection, 1
        safe utilization, 2 strict control, 3 indeterminate; -1 nothing measured, left out).
    zone : array_like, shape (N,), optional
        Zone of each sample: the share is then of zones, a zone below when every one of its
        counted samples is.

    Returns
    -------
    ShareResult
        ``value`` [1] (None when nothing was counted), ``met`` and ``counted``.

    Examples
    --------
    >>> share_below_screening([0, 0, 1, 3, -1]).value  # 2 of the 4 classified samples
    0.5
    >>> share_below_screening([0, 0, 1, 0], zone=["a", "a", "b", "b"]).value  # zone a only
    0.5
    """
    codes = np.asarray(sample_class, dtype=np.int64).reshape(-1)
    counted = codes >= 0
    below = codes == 0
    if zone is None:
        n = int(counted.sum())
        met = int(below.sum())
    else:
        z = np.asarray(zone, dtype=object).reshape(-1)[counted]
        _, inverse = np.unique(z.astype(str), return_inverse=True)
        n = int(inverse.max() + 1) if inverse.size else 0
        # a zone is below when it has no counted sample that is not below
        not_below = np.bincount(inverse, weights=~below[counted], minlength=n)
        met = int((not_below == 0).sum())
    return ShareResult(met / n if n else None, met, n)


def area_weighted_cover(fvc_mean: ArrayLike, weight_m2: ArrayLike) -> float | None:
    """Area-weighted mean fractional vegetation cover of zones.

    Parameters
    ----------
    fvc_mean : array_like, shape (Z,)
        Mean FVC of each zone [1]; NaN where the zone had no valid pixel (left out).
    weight_m2 : array_like, shape (Z,)
        Area of each zone's valid pixels [m²].

    Returns
    -------
    float or None
        :math:`\\sum_z A_z \\bar f_z / \\sum_z A_z` [1]; None when no zone has a weight.

    >>> area_weighted_cover([0.5, 0.8], [100.0, 300.0])  # (50 + 240) / 400
    0.725
    """
    f = np.asarray(fvc_mean, dtype=np.float64).reshape(-1)
    a = np.asarray(weight_m2, dtype=np.float64).reshape(-1)
    ok = np.isfinite(f) & np.isfinite(a) & (a > 0)
    total = float(a[ok].sum())
    if total <= 0:
        return None
    return float((f[ok] * a[ok]).sum() / total)


def displacement_rate(t_s: ArrayLike, displacement_mm: ArrayLike) -> float | None:
    """Least-squares displacement rate of one hazard point [mm/d].

    Parameters
    ----------
    t_s : array_like, shape (K,)
        Times of the readings [s] (any origin).
    displacement_mm : array_like, shape (K,)
        Displacement (cumulative), crack width or settlement [mm].

    Returns
    -------
    float or None
        Slope of the ordinary least-squares line through the readings [mm/d]; None with
        fewer than two readings at distinct times.

    >>> displacement_rate([0, 86400, 172800], [1.0, 1.5, 2.0])
    0.5
    """
    t = np.asarray(t_s, dtype=np.float64).reshape(-1) / SECONDS_PER_DAY
    d = np.asarray(displacement_mm, dtype=np.float64).reshape(-1)
    if t.size < 2 or np.ptp(t) == 0:
        return None
    tc = t - t.mean()
    return float((tc * (d - d.mean())).sum() / (tc * tc).sum())


def share_stabilised(
    rates_mm_per_day: Sequence[float | None], limit_mm_per_day: float
) -> ShareResult:
    """Share of hazard points whose |displacement rate| is at most the limit.

    A point without a rate (fewer than two readings in the window) counts as not stabilised:
    missing monitoring does not prove stability.

    >>> share_stabilised([0.05, -0.2, None, 0.1], 0.1)  # 0.05 and 0.1 of 4 points
    ShareResult(value=0.5, met=2, counted=4)
    """
    if not (isinstance(limit_mm_per_day, int | float) and limit_mm_per_day >= 0):
        raise InputError(
            f"the rate limit {limit_mm_per_day!r} must be a number ≥ 0 [mm/d]",
            field="params.rate_limit_mm_per_day",
        )
    n = len(rates_mm_per_day)
    met = sum(1 for r in rates_mm_per_day if r is not None and abs(r) <= limit_mm_per_day)
    return ShareResult(met / n if n else None, met, n)


def survival_rate(
    alive: ArrayLike | None = None,
    planted: ArrayLike | None = None,
    rates: ArrayLike | None = None,
) -> float | None:
    """Plant survival rate [1]: pooled alive / planted, else the mean of plot rates.

    >>> survival_rate(alive=[90, 40], planted=[100, 50])  # 130 / 150
    0.8666666666666667
    >>> survival_rate(rates=[1.0, 0.5])
    0.75
    """
    if alive is not None and planted is not None:
        a = np.asarray(alive, dtype=np.float64).reshape(-1)
        p = np.asarray(planted, dtype=np.float64).reshape(-1)
        if p.sum() > 0:
            return float(a.sum() / p.sum())
    if rates is not None:
        r = np.asarray(rates, dtype=np.float64).reshape(-1)
        r = r[np.isfinite(r)]
        if r.size:
            return float(r.mean())
    return None


def credit_count(credits: Mapping[str, Any], value: float) -> int:
    """Serial numbers a verified value earns under a milestone's ``credits``.

    ``count`` (a fixed number), or ``per_value`` serials per unit of the value above
    ``baseline`` (default 0), rounded down: :math:`\\lfloor k (x - b) \\rfloor`, never below 0.

    >>> credit_count({"unit_type": "CSINK", "count": 120}, 0.7)
    120
    >>> credit_count({"unit_type": "CSINK", "per_value": 3.6667, "baseline": 5}, 65.0)
    220
    """
    if credits.get("count") is not None:
        return int(credits["count"])
    k = float(credits["per_value"])
    base = float(credits.get("baseline") or 0.0)
    return max(math.floor(k * (value - base) + 1e-9), 0)


def check_credits(credits: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A milestone's ``credits`` checked: ``unit_type``, one of ``count`` or ``per_value``,
    ``vintage`` (int), optional ``region_code``, ``baseline``, ``attrs``."""
    if credits is None:
        return None
    from restora.registry.ledger import UNIT_TYPES

    c = dict(credits)
    if c.get("unit_type") not in UNIT_TYPES:
        raise InputError(
            f"credits.unit_type {c.get('unit_type')!r} is not one of {', '.join(UNIT_TYPES)}",
            field="credits.unit_type",
        )
    has_count = c.get("count") is not None
    if has_count == (c.get("per_value") is not None):
        raise InputError(
            "credits need either count (a fixed number) or per_value (serials per unit of "
            "the verified value)",
            field="credits.count",
        )
    if has_count and not (isinstance(c["count"], int) and c["count"] >= 1):
        raise InputError(
            f"credits.count {c['count']!r} must be an integer ≥ 1", field="credits.count"
        )
    if not has_count and not (isinstance(c["per_value"], int | float) and c["per_value"] > 0):
        raise InputError("credits.per_value must be a number > 0", field="credits.per_value")
    if not isinstance(c.get("vintage"), int):
        raise InputError("credits.vintage must be a year", field="credits.vintage")
    if c.get("attrs") is not None and not isinstance(c["attrs"], dict):
        raise InputError("credits.attrs must be an object", field="credits.attrs")
    return c


@dataclass(frozen=True)
class TrancheRelease:
    """What a verified value releases of one tranche of a performance bond."""

    tranche: str
    tier_index: int
    tier: str
    principal_fraction: float
    """Share of the tranche's principal repaid [1]."""
    tranche_principal: float
    """Principal of the tranche: bond principal × tranche share [currency]."""
    amount: float
    """Principal released: tranche principal × fraction [currency]."""
    defer: bool
    """The tier defers the tranche to a re-verification (the fraction is then the tier's own
    at the last allowed verification)."""


def tranche_release(tranche: Any, principal: float, value: float) -> TrancheRelease:
    """The tier a verified value reaches on a tranche, and the principal it releases.

    Parameters
    ----------
    tranche : restora.finance.instruments.performance_bond.Tranche
        The tranche (share, tiers).
    principal : float
        The bond's principal [currency].
    value : float
        The verified indicator value [indicator unit].

    Notes
    -----
    Amount :math:`= P \\cdot s_j \\cdot f(x)` with :math:`f` from :func:`~restora.finance.
    instruments.performance_bond.tier_fraction` (rule ``FIN-PBOND-TIER``, interpolated
    between tiers under ``FIN-PBOND-PARTIAL``).
    """
    from restora.finance.instruments.performance_bond import tier_fraction

    k, f = tier_fraction(list(tranche.tiers), float(value))
    tier = tranche.tiers[k]
    p = float(principal) * float(tranche.share)
    return TrancheRelease(
        tranche=str(tranche.name),
        tier_index=k,
        tier=tier.name or str(k),
        principal_fraction=float(f),
        tranche_principal=p,
        amount=p * float(f),
        defer=bool(tier.defer),
    )


def digest(evidence: Any) -> str:
    """SHA-256 of the evidence's canonical JSON (sorted keys, no spaces, UTF-8)."""
    text = json.dumps(
        evidence, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
