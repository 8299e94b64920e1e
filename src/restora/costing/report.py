"""One call from plans to the cost figures a report states (the ``cost estimate`` contract)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Sequence
from typing import Any

import numpy as np

from restora.costing.indirect import TierSet, load_tiers
from restora.costing.lifecycle import Assumptions, Estimate, estimate, load_assumptions
from restora.costing.montecarlo import (
    PERCENTILES,
    Draws,
    LineArrays,
    build_arrays,
    percentiles,
    simulate,
    tornado,
)
from restora.planning.model import ALL_PHASES, RestorationPlan


def cost_report(
    plans: Sequence[RestorationPlan],
    *,
    draws: int = 10_000,
    seed: int | None = 1,
    tiers: str | TierSet = "cn-default",
    distribution: str | None = None,
    assumptions: Assumptions | None = None,
    on: dt.date | str | None = None,
    where: Sequence[str] | None = None,
) -> tuple[dict[str, Any], list[Estimate], LineArrays, Draws]:
    """Deterministic estimate and Monte Carlo percentiles for one or more plans.

    All plans must share one price year. For several plans (a county) the figures are for the
    sum of the mines; each mine's tiers apply to its own direct cost.

    Returns
    -------
    report : dict
        ``total_p50_cny``, ``total_p90_cny``, ``total`` (P10/P50/P80/P90 and deterministic),
        ``pv`` percentiles, ``by_phase`` and ``by_item`` (deterministic, percentiles and the
        unit cost's provenance), ``unsourced_direct_cny`` / ``unsourced_direct_share`` /
        ``unsourced_items`` (direct cost priced with engineering-judgement unit costs),
        ``by_year`` (deterministic constant-price, nominal and present-value cost per year),
        ``indirect`` lines, ``tornado``, ``price_year``, ``draws``, ``seed``, ``tables_used``, ``inputs`` (plan hashes).
    estimates, arrays, draws
        The pieces, for charts and further use.
    """
    if not plans:
        raise ValueError("no plans")
    years = {p.price_year for p in plans}
    if len(years) != 1:
        raise ValueError(f"plans have different price years {sorted(years)}")
    region = plans[0].region_code
    ts = load_tiers(tiers, on=on, region=region) if isinstance(tiers, str) else tiers
    a = assumptions or load_assumptions(on=on, region=region)
    dist = distribution or a.distribution
    ests = [
        estimate(p, tiers=ts, assumptions=a, on=on, where=(where[i] if where else "<plan>"))
        for i, p in enumerate(plans)
    ]
    arr = build_arrays(
        [e.lines for e in ests],
        start_year=[p.start_year for p in plans],
        price_year=[p.price_year for p in plans],
        escalation=a.escalation_rate,
        discount=a.discount_rate,
    )
    d = simulate(
        arr,
        ts,
        draws,
        np.random.default_rng(seed),
        rho_cost=a.unit_cost_correlation,
        rho_qty=a.quantity_correlation,
        distribution=dist,
    )
    total = d.total.sum(axis=1)
    pv = d.pv.sum(axis=1)
    det_total = sum(e.total for e in ests)
    by_phase = {}
    assert d.by_phase is not None and d.by_item is not None
    for i, ph in enumerate(ALL_PHASES):
        det = sum(e.by_phase.get(ph, 0.0) for e in ests)
        by_phase[ph] = {"deterministic_cny": det, **_cny(percentiles(d.by_phase[:, i]))}
    by_item: dict[str, dict[str, Any]] = {}
    for k, item in enumerate(arr.items):
        its = [ln for e in ests for ln in e.lines if ln.item == item]
        by_item[item] = {
            "deterministic_cny": sum(ln.amount for ln in its),
            **_cny(percentiles(d.by_item[:, k])),
            # provenance of the unit cost (mines in several regions may use several tables)
            "unit_cost_sourced": all(ln.sourced for ln in its),
            "unit_cost_source": " | ".join(dict.fromkeys(ln.source for ln in its)),
            "unit_cost_region": ",".join(dict.fromkeys(ln.source_region for ln in its)),
            "unit_cost_price_year": its[0].source_price_year,
        }
    direct_det = sum(e.direct_total for e in ests)
    unsourced = sum(e.unsourced_direct for e in ests)
    tables: dict[tuple[str, str, str], dict[str, Any]] = {}
    for e in ests:
        for t in e.tables_used:
            tables[(t["name"], t["version"], t["region"])] = t
    per_year: dict[int, dict[str, float]] = {}
    for e in ests:
        for row in e.by_year.to_dict("records"):
            y = per_year.setdefault(
                int(row["year"]), {"real_cny": 0.0, "nominal_cny": 0.0, "pv_cny": 0.0}
            )
            for col in ("real_cny", "nominal_cny", "pv_cny"):
                y[col] += float(row[col])
    pt = percentiles(total)
    report: dict[str, Any] = {
        "mines": [p.mine_id for p in plans],
        "price_year": plans[0].price_year,
        "currency": "CNY",
        "draws": draws,
        "seed": seed,
        "distribution": dist,
        "percentiles": list(PERCENTILES),
        "start_year": min(p.start_year for p in plans),
        "total_p50_cny": pt["p50"],
        "total_p90_cny": pt["p90"],
        "total": {"deterministic_cny": det_total, **_cny(pt)},
        "direct_deterministic_cny": direct_det,
        # share of the direct cost whose most-likely unit cost is engineering judgement, not a
        # published figure: what a provincial quota table should replace first
        "unsourced_direct_cny": unsourced,
        "unsourced_direct_share": unsourced / direct_det if direct_det > 0 else 0.0,
        "unsourced_items": sorted(
            k
            for k, v in by_item.items()
            if not v["unit_cost_sourced"] and v["deterministic_cny"] > 0
        ),
        "indirect_deterministic_cny": sum(e.indirect_total for e in ests),
        "pv": {
            "deterministic_cny": sum(e.pv_total for e in ests),
            **_cny(percentiles(pv)),
        },
        "nominal_deterministic_cny": sum(e.nominal_total for e in ests),
        "by_phase": by_phase,
        "by_item": by_item,
        "by_year": [{"year": y, **v} for y, v in sorted(per_year.items())],
        "indirect": ests[0].indirect if len(ests) == 1 else None,
        "tornado": tornado(arr, ts, d),
        "assumptions": {
            "discount_rate": a.discount_rate,
            "escalation_rate": a.escalation_rate,
            "unit_cost_correlation": a.unit_cost_correlation,
            "quantity_correlation": a.quantity_correlation,
            "tiers": ts.name,
        },
        "tables_used": list(tables.values()),
        "inputs": [
            {
                "mine_id": p.mine_id,
                "plan_sha256": hashlib.sha256(
                    json.dumps(p.model_dump(mode="json"), sort_keys=True).encode()
                ).hexdigest(),
            }
            for p in plans
        ],
    }
    return report, ests, arr, d


def _cny(p: dict[str, float]) -> dict[str, float]:
    return {f"{k}_cny": v for k, v in p.items()}
