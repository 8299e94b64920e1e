"""Quantities for the revenue streams, read from a restoration plan.

The plan (``restora.planning``) says which land each site ends as and which works move earth:
the area restored to cultivated land is what a land quota sells (in 亩), and the slope-cutting
and unloading volume is the surplus earth and stone the county sells for the mine's
restoration account.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from restora.planning.model import RestorationPlan, Work
from restora.revenue.materials import MaterialsSpec
from restora.revenue.quotas import mu_from_hm2


def area_by_after_use_mu(plan: RestorationPlan) -> dict[str, float]:
    """Area of the plan's sites by land cover after restoration [mu].

    Examples
    --------
    >>> from restora.planning.model import RestorationPlan
    >>> p = RestorationPlan(mine_id="M", price_year=2024, start_year=2025, sites=[
    ...     {"site_id": "a", "kind": "open_pit", "area_hm2": 2.0, "after_use": "cultivated"}])
    >>> round(area_by_after_use_mu(p)["cultivated"], 9)
    30.0
    """
    out: dict[str, float] = {}
    for s in plan.sites:
        out[s.after_use] = out.get(s.after_use, 0.0) + mu_from_hm2(s.area_hm2)
    return out


def _works(plan: RestorationPlan) -> Iterable[Work]:
    for s in plan.sites:
        yield from s.works
    yield from plan.mine_works


def volume_by_year(
    plan: RestorationPlan, items: Iterable[str] = ("slope_cutting",)
) -> tuple[np.ndarray, np.ndarray]:
    """Volume of earth-moving works by calendar year [m³/yr].

    Parameters
    ----------
    plan : RestorationPlan
    items : iterable of str
        Unit-cost item keys whose works yield saleable material (default slope cutting and
        unloading, 削坡减载); only works in m³ count.

    Returns
    -------
    (years, volume) : tuple of numpy.ndarray
        Calendar years [yr] and volume [m³] each year, consecutive from the first; empty if
        the plan has no such works.

    Notes
    -----
    A work spread over n years yields q/n a year (q each year when ``per_year``), from
    ``plan.start_year + work.start_year``.
    """
    keys = set(items)
    acc: dict[int, float] = {}
    for w in _works(plan):
        if w.item not in keys or w.unit.replace("³", "3") not in ("m3", "m**3"):
            continue
        per = w.quantity if w.per_year else w.quantity / w.years
        for k in range(w.years):
            y = plan.start_year + w.start_year + k
            acc[y] = acc.get(y, 0.0) + per
    if not acc:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    years = np.arange(min(acc), max(acc) + 1, dtype=np.int64)
    return years, np.array([acc.get(int(y), 0.0) for y in years])


def materials_spec(plan: RestorationPlan, **terms: Any) -> MaterialsSpec:
    """A surplus earth-and-stone spec for the plan's slope-cutting volume.

    ``terms`` are the sale terms (``price`` [CNY/m³], ``platform_fee_share``,
    ``price_escalation``, ``low``, ``high``, ``items``).
    """
    items = terms.pop("items", ("slope_cutting",))
    years, vol = volume_by_year(plan, items)
    if not years.size:
        raise ValueError(f"plan of mine {plan.mine_id} has no earth-moving works in m³")
    return MaterialsSpec(
        mine_id=plan.mine_id, start_year=int(years[0]), volume_m3=vol.tolist(), **terms
    )
