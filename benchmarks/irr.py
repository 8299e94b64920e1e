"""Benchmark: IRR of a million 30-year flows, and a 10 000-scenario risk run for the demo county.

    .venv/bin/python benchmarks/irr.py [--n 1000000] [--years 30] [--npf-sample 10000]
        [--multi 10000] [--rounds 2] [--scenarios 10000] [--seed 1] [--skip-risk]

1. IRR. ``--n`` seeded conventional project flows (outlays in years 0-2, inflows after, 31
   periods) through :func:`restora.finance.metrics.irr` (vectorised) and through ``pyxirr.irr``
   in a Python loop over the same rows, interleaved ``--rounds`` times (wall and CPU time; the
   machine is shared, so the best round is the fairest figure). numpy-financial's ``irr`` is
   timed on the first ``--npf-sample`` rows and extrapolated linearly to ``--n`` (it is
   row-by-row, so its time is linear in rows). Agreement: largest |ours - pyxirr| over rows where
   both give an IRR. Then ``--multi`` flows with a closure cost at the end (two sign changes,
   0 or 2 IRRs) through :func:`restora.finance.metrics.irr_detail` (all roots) vs pyxirr (one).
2. Risk. The demo county (examples/demo-county, 40 mines) is planned and costed (10 000-draw
   life-cycle cost, :func:`restora.costing.report.cost_report`); its capex profile and cost draws
   feed :func:`restora.finance.risk.simulate` for ``--scenarios`` scenarios with revenue, opex and
   delay drivers, a senior loan and a guarantee fund. Revenue, loan and guarantee terms below are
   ILLUSTRATIVE benchmark inputs (a plausible EOD-style bundle), not published figures.

Prints figures and the process's peak resident memory (``ru_maxrss``).
"""

from __future__ import annotations

import argparse
import platform
import resource
import time
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np
import numpy_financial as npf
import pyxirr

from restora.finance import metrics

# Reference tables as of a date after the NBS published the 2023 CPI (17 January 2024): some
# unit costs are at 2020 prices and are moved to the plans' 2023 price year.
ON = "2024-06-01"

ROOT = Path(__file__).resolve().parents[1]


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def project_flows(n: int, years: int, seed: int) -> np.ndarray:
    """Conventional flows: outlays in years 0..k-1 (k = 1..3), inflows ramping up after."""
    rng = np.random.default_rng(seed)
    t = np.arange(years + 1)
    k = rng.integers(1, 4, n)
    capex = rng.lognormal(np.log(100.0), 0.6, n)
    share = rng.dirichlet(np.ones(3), n)  # split of capex over up to three years
    share = np.where(np.arange(3)[None, :] < k[:, None], share, 0.0)
    share /= share.sum(axis=1, keepdims=True)
    c = np.zeros((n, years + 1))
    c[:, :3] = -capex[:, None] * share
    level = capex * rng.uniform(0.04, 0.30, n)  # steady inflow a year
    ramp = np.clip((t[None, :] - k[:, None] + 1) / 3.0, 0, 1)
    noise = rng.lognormal(0.0, 0.25, (n, years + 1))
    c += np.where(t[None, :] >= k[:, None], level[:, None] * ramp * noise, 0.0)
    return c


def timed(fn: Any) -> tuple[Any, float, float]:
    w, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - w, time.process_time() - cpu


def bench_irr(args: argparse.Namespace) -> dict[str, Any]:
    c = project_flows(args.n, args.years, args.seed)
    print(f"flows: {c.shape[0]:,} x {c.shape[1]} periods ({c.nbytes / 2**20:.0f} MiB)")
    ours_w, ours_c, py_w, py_c = [], [], [], []
    ours = theirs = None
    for r in range(args.rounds):
        ours, w, cpu = timed(lambda: metrics.irr(c))
        ours_w.append(w)
        ours_c.append(cpu)
        print(f"  round {r + 1}: restora {w:.3f} s wall ({cpu:.3f} s CPU)", flush=True)
        theirs, w, cpu = timed(
            lambda: np.array([pyxirr.irr(row, silent=True) for row in c], dtype=float)
        )
        py_w.append(w)
        py_c.append(cpu)
        print(f"  round {r + 1}: pyxirr  {w:.3f} s wall ({cpu:.3f} s CPU)", flush=True)
    assert ours is not None and theirs is not None
    tracemalloc.start()  # extra memory of one restora call (numpy reports to tracemalloc)
    metrics.irr(c)
    irr_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    sub = c[: args.npf_sample]
    npf_out, npf_w, npf_c = timed(lambda: np.array([npf.irr(row) for row in sub]))
    both = np.isfinite(ours) & np.isfinite(theirs)
    diff = np.abs(ours[both] - theirs[both])
    npf_ok = np.isfinite(npf_out) & np.isfinite(ours[: len(sub)])
    res = {
        "n": c.shape[0],
        "periods": c.shape[1],
        "restora_wall_best": min(ours_w),
        "restora_cpu_best": min(ours_c),
        "pyxirr_wall_best": min(py_w),
        "pyxirr_cpu_best": min(py_c),
        "restora_wall_all": ours_w,
        "pyxirr_wall_all": py_w,
        "restora_peak_extra_mib": irr_peak / 2**20,
        "npf_rows": len(sub),
        "npf_wall": npf_w,
        "npf_cpu": npf_c,
        "npf_wall_extrapolated": npf_w * c.shape[0] / len(sub),
        "rows_compared": int(both.sum()),
        "max_abs_diff_vs_pyxirr": float(diff.max()) if diff.size else float("nan"),
        "rows_no_irr_restora": int((~np.isfinite(ours)).sum()),
        "rows_no_irr_pyxirr": int((~np.isfinite(theirs)).sum()),
        "max_abs_diff_vs_npf": float(np.abs(npf_out[npf_ok] - ours[: len(sub)][npf_ok]).max()),
    }
    # several sign changes: add a closure cost at the end
    m = project_flows(args.multi, args.years, args.seed + 1)
    rng = np.random.default_rng(args.seed + 2)
    m[:, -1] -= rng.uniform(0.5, 3.0, args.multi) * np.abs(m[:, :3].sum(axis=1))
    det, w_multi, _ = timed(lambda: metrics.irr_detail(m))
    th_m, w_multi_py, _ = timed(
        lambda: np.array([pyxirr.irr(row, silent=True) for row in m], dtype=float)
    )
    found = 0
    for roots, t in zip(det.all, th_m, strict=True):
        if np.isfinite(t) and any(abs(t - r) <= 1e-8 * max(1.0, abs(r)) for r in roots):
            found += 1
    res.update(
        multi_rows=args.multi,
        multi_sign_changes=np.bincount(det.sign_changes).tolist(),
        multi_n_irr=np.bincount(det.n_irr).tolist(),
        multi_restora_wall=w_multi,
        multi_pyxirr_wall=w_multi_py,
        multi_pyxirr_answers=int(np.isfinite(th_m).sum()),
        multi_pyxirr_answer_among_restora_roots=found,
    )
    return res


def demo_county_project(draws: int, seed: int) -> tuple[Any, np.ndarray, dict[str, Any]]:
    """Capex profile and cost draws of the demo county from planning + costing."""
    from restora.costing.report import cost_report
    from restora.costing.unitcosts import load_library
    from restora.finance.cashflow import project_flows as assemble
    from restora.inventory.io import read_register
    from restora.planning.planner import make_plan

    reg, _ = read_register([ROOT / "examples" / "demo-county" / "register.gpkg"])
    lib = load_library(on=ON)
    units = {k: u.unit for k, u in lib.items.items()}
    plans = [
        make_plan(reg, mid, price_year=2023, start_year=2026, units=units, on=ON)
        for mid in reg.mines["mine_id"]
    ]
    report, _, _, sim = cost_report(plans, draws=draws, seed=seed, on=ON)
    years = 26  # 2026 .. 2051: works, care, then operations
    capex = np.zeros(years)
    for row in report["by_year"]:
        capex[row["year"] - 2026] += row["nominal_cny"]
    base_total = capex.sum()
    draws_total = sim.total.sum(axis=1)
    # ILLUSTRATIVE revenue (shares of the cost; see the module docstring):
    t = np.arange(years)
    quota = np.where((t >= 2) & (t <= 4), 0.40 * base_total / 3, 0.0)  # land-quota sales
    stone = np.where((t >= 1) & (t <= 3), 0.10 * base_total / 3, 0.0)  # surplus earth and stone
    ops = np.where(t >= 3, 0.10 * base_total * np.clip((t - 2) / 4, 0, 1), 0.0)  # operations
    carbon = np.where(t >= 5, 0.01 * base_total, 0.0)  # carbon-sink credits
    opex = np.where(t >= 3, 0.02 * base_total, 0.0)
    base = assemble(quota + stone + ops + carbon, opex=opex, capex=capex)
    meta = {
        "mines": len(plans),
        "capex_deterministic_cny": float(base_total),
        "capex_p50_cny": float(np.median(draws_total)),
        "capex_p90_cny": float(np.percentile(draws_total, 90)),
    }
    # capex of each draw relative to the deterministic estimate whose profile is ``capex``
    factors = draws_total / float(report["total"]["deterministic_cny"])  # both constant-price
    return base, factors, meta


def bench_risk(args: argparse.Namespace) -> dict[str, Any]:
    from restora.finance import risk
    from restora.finance.cashflow import loan_schedule

    t0 = time.perf_counter()
    base, factors, meta = demo_county_project(args.scenarios, args.seed)
    t_cost = time.perf_counter() - t0
    loan_amount = 0.6 * meta["capex_deterministic_cny"]
    debt = loan_schedule(loan_amount, 0.042, 15, base.n_periods, draw_period=1, grace=2)
    drivers = [
        risk.Driver("land-quota price", "revenue", 0.6, 1.0, 1.2, "pert", periods=(2, 3, 4)),
        risk.Driver("operations revenue", "revenue", 0.5, 1.0, 1.3, "pert"),
        risk.Driver("opex", "opex", 0.9, 1.0, 1.4),
        risk.Driver("delay of operations", "delay", 0.0, 0.5, 3.0),
    ]
    guarantee = risk.Guarantee(share=0.5, cap=0.2 * loan_amount)
    t1 = time.perf_counter()
    res = risk.simulate(
        base,
        drivers,
        rate=0.06,
        hurdle=0.08,
        n=args.scenarios,
        seed=args.seed,
        debt=debt,
        guarantee=guarantee,
        capex_factors=factors,
    )
    summ = risk.summary(res)
    t_sim = time.perf_counter() - t1
    t2 = time.perf_counter()
    torn = risk.tornado(base, drivers, rate=0.06, swing=0.10)
    t_tornado = time.perf_counter() - t2
    return {
        **meta,
        "scenarios": args.scenarios,
        "periods": base.n_periods,
        "cost_simulation_s": t_cost,
        "risk_simulation_s": t_sim,
        "tornado_s": t_tornado,
        "summary": summ,
        "tornado": torn,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--years", type=int, default=30)
    ap.add_argument("--npf-sample", type=int, default=10_000)
    ap.add_argument("--multi", type=int, default=10_000)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--scenarios", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--skip-risk", action="store_true")
    ap.add_argument("--skip-irr", action="store_true")
    args = ap.parse_args()
    print(
        f"python {platform.python_version()}, numpy {np.__version__}, pyxirr {pyxirr.__version__},"
        f" numpy-financial {npf.__version__}, {platform.machine()}"
    )
    if not args.skip_irr:
        r = bench_irr(args)
        print(
            f"IRR of {r['n']:,} flows x {r['periods']} periods:\n"
            f"  restora (vectorised)  best {r['restora_wall_best']:.3f} s wall, "
            f"{r['restora_cpu_best']:.3f} s CPU; rounds {[round(x, 3) for x in r['restora_wall_all']]}\n"
            f"  pyxirr (Python loop)  best {r['pyxirr_wall_best']:.3f} s wall, "
            f"{r['pyxirr_cpu_best']:.3f} s CPU; rounds {[round(x, 3) for x in r['pyxirr_wall_all']]}\n"
            f"  ratio pyxirr / restora (best wall): {r['pyxirr_wall_best'] / r['restora_wall_best']:.2f}"
            f" (best CPU: {r['pyxirr_cpu_best'] / r['restora_cpu_best']:.2f}); restora's extra "
            f"memory {r['restora_peak_extra_mib']:.0f} MiB (tracemalloc peak)\n"
            f"  numpy-financial: {r['npf_wall']:.2f} s for {r['npf_rows']:,} rows -> "
            f"~{r['npf_wall_extrapolated']:.0f} s for {r['n']:,} (linear extrapolation)\n"
            f"  agreement: max |restora - pyxirr| = {r['max_abs_diff_vs_pyxirr']:.2e} over "
            f"{r['rows_compared']:,} rows; max |restora - npf| = {r['max_abs_diff_vs_npf']:.2e}\n"
            f"  rows without IRR: restora {r['rows_no_irr_restora']}, pyxirr {r['rows_no_irr_pyxirr']}\n"
            f"  closure-cost flows ({r['multi_rows']:,}): sign changes {r['multi_sign_changes']}, "
            f"IRR counts {r['multi_n_irr']}; restora all roots {r['multi_restora_wall']:.3f} s, "
            f"pyxirr one root {r['multi_pyxirr_wall']:.3f} s; pyxirr answers "
            f"{r['multi_pyxirr_answers']}, of which among restora's roots "
            f"{r['multi_pyxirr_answer_among_restora_roots']}",
            flush=True,
        )
        print(f"  peak RSS so far: {peak_mib():.0f} MiB", flush=True)
    if not args.skip_risk:
        k = bench_risk(args)
        s = k["summary"]
        print(
            f"Risk, demo county ({k['mines']} mines, capex P50 {k['capex_p50_cny'] / 1e6:.0f} M CNY,"
            f" P90 {k['capex_p90_cny'] / 1e6:.0f} M), {k['scenarios']:,} scenarios x "
            f"{k['periods']} years:\n"
            f"  cost simulation (planning + costing, {k['scenarios']:,} draws) "
            f"{k['cost_simulation_s']:.2f} s; risk simulation + summary "
            f"{k['risk_simulation_s']:.3f} s; tornado {k['tornado_s']:.3f} s\n"
            f"  NPV@6% P5/P50/P95 {s['npv']['p5'] / 1e6:.0f} / {s['npv']['p50'] / 1e6:.0f} / "
            f"{s['npv']['p95'] / 1e6:.0f} M CNY; IRR P50 {s['irr']['p50']:.4f}; "
            f"P(IRR < 8 %) {s['p_irr_below_hurdle']:.3f}\n"
            f"  lenders EL {s['lender']['expected_loss'] / 1e6:.2f} M, VaR95 "
            f"{s['lender']['var']['0.95'] / 1e6:.2f} M, VaR99 {s['lender']['var']['0.99'] / 1e6:.2f} M;"
            f" guarantee fund EL {s['guarantee_fund']['expected_loss'] / 1e6:.2f} M, VaR99 "
            f"{s['guarantee_fund']['var']['0.99'] / 1e6:.2f} M; P(min DSCR < 1) "
            f"{s['p_dscr_below_1']:.3f}\n"
            f"  tornado (NPV swing, ±10 %): "
            + ", ".join(f"{r['driver']} {r['npv_swing'] / 1e6:.1f} M" for r in k["tornado"]),
            flush=True,
        )
    print(f"peak RSS: {peak_mib():.0f} MiB")


if __name__ == "__main__":
    main()
