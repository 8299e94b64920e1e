"""Monte Carlo: collapsed ranges reproduce the deterministic cost; ordering; reproducibility."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from restora.costing.indirect import load_tiers, parse_tiers
from restora.costing.lifecycle import CostLine, estimate
from restora.costing.montecarlo import (
    build_arrays,
    correlated_uniforms,
    deterministic_totals,
    pert_ppf,
    simulate,
    triangular_ppf,
)
from restora.costing.report import cost_report
from restora.costing.unitcosts import CostLibrary, load_library


def _collapsed_library() -> CostLibrary:
    # 2024-06-01: after NBS published the 2023 CPI, which the 2020-price rows need to reach 2023
    lib = load_library(on="2024-06-01")
    items = {k: dataclasses.replace(u, low=u.likely, high=u.likely) for k, u in lib.items.items()}
    return CostLibrary(items, lib.tables)


def test_collapsed_ranges_give_the_deterministic_cost(hand_plan):
    lib = _collapsed_library()
    e = estimate(hand_plan, lib=lib, on="2024-06-01")
    tiers = load_tiers("cn-default")
    arr = build_arrays([e.lines], start_year=2025, price_year=2023, escalation=0.018, discount=0.08)
    d = simulate(arr, tiers, 500, 7, rho_cost=0.6, rho_qty=0.3)
    for q in (10, 50, 80, 90):
        assert np.percentile(d.total[:, 0], q) == pytest.approx(e.total, rel=1e-12)
        assert np.percentile(d.pv[:, 0], q) == pytest.approx(e.pv_total, rel=1e-9)
    assert d.by_phase is not None
    from restora.planning.model import ALL_PHASES

    for i, ph in enumerate(ALL_PHASES):
        assert np.percentile(d.by_phase[:, i], 50) == pytest.approx(e.by_phase[ph], rel=1e-12)


def test_collapsed_pert_too(hand_plan):
    e = estimate(hand_plan, lib=_collapsed_library(), on="2024-06-01")
    arr = build_arrays([e.lines], start_year=2025, price_year=2023, escalation=0, discount=0)
    d = simulate(
        arr, load_tiers("cn-default"), 200, 3, rho_cost=0.5, rho_qty=0.0, distribution="pert"
    )
    assert np.ptp(d.total) == pytest.approx(0, abs=1e-6)
    assert d.total[0, 0] == pytest.approx(e.total, rel=1e-12)


def test_same_seed_same_result_and_report_contract(hand_plan):
    r1, *_ = cost_report([hand_plan], draws=2000, seed=1, on="2024-06-01")
    r2, *_ = cost_report([hand_plan], draws=2000, seed=1, on="2024-06-01")
    r3, *_ = cost_report([hand_plan], draws=2000, seed=2, on="2024-06-01")
    assert r1["total"] == r2["total"] and r1["by_item"] == r2["by_item"]
    assert r1["total_p50_cny"] != r3["total_p50_cny"]
    for key in (
        "total_p50_cny",
        "total_p90_cny",
        "by_phase",
        "by_item",
        "price_year",
        "tables_used",
    ):
        assert key in r1
    t = r1["total"]
    assert t["p10_cny"] <= t["p50_cny"] <= t["p80_cny"] <= t["p90_cny"]
    # 2,668,744.594 = direct 1,892,725.594 + indirect 776,019, worked by hand in
    # test_lifecycle.py::test_hand_worked_quarry_and_subsidence
    assert r1["total"]["deterministic_cny"] == pytest.approx(2_668_744.594, abs=0.001)
    assert r1["inputs"][0]["mine_id"] == "HAND-1" and len(r1["inputs"][0]["plan_sha256"]) == 64
    assert [y["year"] for y in r1["by_year"]] == [2025, 2026, 2027, 2028, 2029]
    assert sum(y["real_cny"] for y in r1["by_year"]) == pytest.approx(2_668_744.594)
    assert sum(y["pv_cny"] for y in r1["by_year"]) == pytest.approx(r1["pv"]["deterministic_cny"])
    # ranges are skewed right (high − likely > likely − low for most items): P50 above the
    # all-likely cost, and the tornado lists the subsidence lake excavation near the top
    assert r1["total_p50_cny"] > 2_668_744.594
    assert sum(row["variance_share"] for row in r1["tornado"]) == pytest.approx(1.0)
    assert r1["tornado"][0]["swing"] >= r1["tornado"][-1]["swing"]


def test_triangular_and_pert_means():
    u = (np.arange(50_000) + 0.5) / 50_000  # a fine quantile grid: mean of ppf = mean
    # triangular mean (a + c + b) / 3 = (10 + 20 + 60) / 3 = 30
    assert triangular_ppf(u, 10, 20, 60).mean() == pytest.approx(30, rel=1e-4)
    # PERT mean (a + 4c + b) / 6 = (10 + 80 + 60) / 6 = 25
    assert pert_ppf(u, 10, 20, 60).mean() == pytest.approx(25, rel=1e-4)
    assert triangular_ppf(np.array([0.0, 1.0]), 10, 20, 60).tolist() == [10, 60]


def test_gaussian_copula_correlation():
    rng = np.random.default_rng(0)
    u = correlated_uniforms(rng, 40_000, np.array([0, 0, 1]), 0.6)
    rs = np.corrcoef(u.T)  # Pearson of uniforms = Spearman of the Gaussians
    # Spearman of a bivariate normal with ρ = 0.6: (6/π)·asin(0.3) = 0.5819
    assert rs[0, 1] == pytest.approx(6 / np.pi * np.arcsin(0.3), abs=0.015)
    assert abs(rs[0, 2]) < 0.02  # different kinds are independent


def _line(item: str, kind: str, q: tuple[float, float, float], c: tuple[float, float, float]):
    return CostLine(
        None, item, kind, "closure_hazard", "m3", q[1], q[0], q[2], c[1], c[0], c[2], 1.0, 0, 1, "t"
    )


_rng3 = st.tuples(st.floats(0, 1e4), st.floats(0, 1e4), st.floats(0, 1e4)).map(
    lambda t: tuple(sorted(t))
)


@settings(max_examples=25, deadline=None)
@given(
    st.lists(
        st.tuples(_rng3, _rng3, st.sampled_from(["earthwork", "masonry"])), min_size=1, max_size=6
    ),
    st.integers(0, 2**32 - 1),
    st.sampled_from(["triangular", "pert"]),
)
def test_percentiles_ordered_and_within_low_high(rows, seed, dist):
    lines = [_line(f"i{k}", kind, q, c) for k, (q, c, kind) in enumerate(rows)]
    arr = build_arrays([lines], start_year=2025, price_year=2025, escalation=0, discount=0)
    # marginal tiers keep the total monotone in the direct cost
    tiers = parse_tiers(
        {
            "method": "marginal",
            "lines": [
                {
                    "code": "c",
                    "base": "direct",
                    "bands": [{"up_to": 5e7, "rate": 0.1}, {"up_to": None, "rate": 0.05}],
                },
                {"code": "g", "base": "c", "rate": 0.21},
            ],
        },
        "t",
        {},
    )
    d = simulate(arr, tiers, 300, seed, rho_cost=0.6, rho_qty=0.3, distribution=dist)
    p10, p50, p90 = np.percentile(d.total[:, 0], [10, 50, 90])
    assert p10 <= p50 <= p90
    lo = deterministic_totals(arr, tiers, "low")[0]
    hi = deterministic_totals(arr, tiers, "high")[0]
    assert lo * (1 - 1e-9) - 1e-6 <= d.total.min() and d.total.max() <= hi * (1 + 1e-9) + 1e-6


def test_county_shares_unit_costs_and_sums_mines(hand_plan):
    other = hand_plan.model_copy(update={"mine_id": "HAND-2"})
    r, ests, arr, d = cost_report([hand_plan, other], draws=1000, seed=5, on="2024-06-01")
    assert d.total.shape == (1000, 2)
    assert r["total"]["deterministic_cny"] == pytest.approx(2 * 2_668_744.594, abs=0.002)
    # identical plans, one market: the unit costs are shared; totals differ only by quantities
    assert arr.items == tuple(dict.fromkeys(ln.item for ln in ests[0].lines))


def test_sorted_percentiles_match_numpy():
    from restora.costing.montecarlo import sorted_percentiles

    x = np.random.default_rng(3).lognormal(size=(7, 1001))
    got = sorted_percentiles(np.sort(x, axis=1), (10, 50, 80, 90))
    assert got == pytest.approx(np.percentile(x, (10, 50, 80, 90), axis=1).T, rel=1e-12)


def test_run_chunked_equals_one_batch_for_fixed_quantities(hand_plan):
    # with fixed quantities the chunks only share the unit-cost draws: chunk size cannot matter
    from restora.costing.montecarlo import run_chunked

    e = estimate(hand_plan, on="2024-06-01")
    arr = build_arrays([e.lines] * 5, start_year=2025, price_year=2023, escalation=0, discount=0)
    tiers = load_tiers("cn-default")

    def sub(a, b):
        return dataclasses.replace(
            arr,
            mine=arr.mine[(arr.mine >= a) & (arr.mine < b)] - a,
            n_mines=b - a,
            **{k: getattr(arr, k)[(arr.mine >= a) & (arr.mine < b)]
               for k in ("item", "q_low", "q_mode", "q_high", "q_group", "phase", "pv")},
            ind_pv_upfront=arr.ind_pv_upfront[a:b],
            ind_pv_spread=arr.ind_pv_spread[a:b],
        )  # fmt: skip

    kw = dict(items=arr.items, c_low=arr.c_low, c_mode=arr.c_mode, c_high=arr.c_high,
              c_group=arr.c_group, rho_cost=0.6, rho_qty=0.3, dtype=np.float64)  # fmt: skip
    r1 = run_chunked(sub, 5, tiers, 400, 9, chunk=2, **kw)
    r2 = run_chunked(sub, 5, tiers, 400, 9, chunk=5, **kw)
    assert r1.total_draws == pytest.approx(r2.total_draws, rel=1e-12)
    assert r1.mine_percentiles == pytest.approx(r2.mine_percentiles, rel=1e-12)
    # five identical mines, one market: each mine's P50 is a fifth of the county's P50
    assert r1.mine_percentiles[1, 0] == pytest.approx(np.percentile(r1.total_draws, 50) / 5)


def test_mine_quantity_mode_matches_line_mode_for_one_line():
    # one line per mine: the mine factor is the line's own relative range, so both modes
    # draw from the same distribution (quantity triangular 80 / 100 / 130 m³ × 25 CNY/m³)
    lines = [_line("slope_cutting", "earthwork", (80, 100, 130), (25, 25, 25))]
    arr = build_arrays([lines] * 3, start_year=2025, price_year=2025, escalation=0, discount=0)
    none = parse_tiers({"lines": []}, "none", {})
    kw = dict(rho_cost=0.0, rho_qty=0.0, detail=False)
    a = simulate(arr, none, 20_000, 1, **kw).total
    b = simulate(arr, none, 20_000, 2, quantity_mode="mine", **kw).total
    for q in (10, 50, 90):
        assert np.percentile(b, q) == pytest.approx(np.percentile(a, q), rel=0.01)
    # triangular(80, 100, 130) median: F(100) = 20/50 = 0.4 < 0.5 →
    # 130 − √(0.5 × 50 × 30) = 102.61 m³ → 2,565.3 CNY
    assert np.percentile(b, 50) == pytest.approx((130 - np.sqrt(750)) * 25, rel=0.01)
    assert b.min() >= 80 * 25 - 1e-6 and b.max() <= 130 * 25 + 1e-6
    with pytest.raises(ValueError):
        simulate(arr, none, 10, 1, rho_cost=0, rho_qty=0, quantity_mode="mine")
