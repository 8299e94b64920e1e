"""Benchmark: vectorised Monte Carlo life-cycle cost for a county and for the national register.

    .venv/bin/python benchmarks/cost_montecarlo.py [--mines 100000] [--draws 10000]
        [--chunk 250] [--county 40] [--fixed-quantities] [--seed 1]

1. County: a synthetic register of ``--county`` mines (seeded) is planned with
   ``restora.planning.planner.make_plan`` and costed with ``restora.costing.report.cost_report``
   (10 000 draws: totals, phases, items, tornado).
2. National: ``--mines`` mines, each a copy of one of the county plans (drawn at random) with
   its quantities scaled by a log-normal area factor; simulated chunk by chunk over mines with
   ``run_chunked``. Reported: every mine's own P10/P50/P80/P90 (a 4 × mines array) and the
   distribution of the national total (sum over mines per draw, one market of unit costs).
   Quantities carry the planner's ranges unless ``--fixed-quantities``; ``--quantity-mode
   mine`` (default) draws one quantity factor per mine, ``line`` one per cost line.

Prints wall times and the process's peak resident memory (``ru_maxrss``).
"""

from __future__ import annotations

import argparse
import platform
import resource
import time

import numpy as np
import pandas as pd
import shapely

from restora.costing.indirect import load_tiers
from restora.costing.lifecycle import load_assumptions
from restora.costing.montecarlo import LineArrays, build_arrays, run_chunked
from restora.costing.report import cost_report
from restora.costing.unitcosts import load_library
from restora.inventory.model import Register, empty_table
from restora.planning.planner import make_plan

# Reference tables as of a date after the NBS published the 2023 CPI (17 January 2024): some
# unit costs are at 2020 prices and are moved to the plans' 2023 price year.
ON = "2024-06-01"

KINDS = ("open_pit", "waste_rock_dump", "tailings_pond", "subsidence_area", "industrial_yard")
HAZ = ("collapse", "landslide", "debris_flow", "subsidence", "ground_fissure")


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def county_register(n: int, seed: int) -> Register:
    rng = np.random.default_rng(seed)
    mines, sites, hazards = [], [], []
    box = shapely.box(111.0, 27.0, 111.001, 27.001)
    for i in range(n):
        mid = f"M{i:03d}"
        mines.append(
            {
                "mine_id": mid,
                "name": mid,
                "region_code": "430521",
                "mineral": "metal",
                "status": "abandoned",
                "responsible_party": "absent",
            }
        )
        for j in range(int(rng.integers(1, 5))):
            kind = KINDS[int(rng.integers(len(KINDS)))]
            sid = f"{mid}-S{j}"
            sites.append(
                {
                    "site_id": sid,
                    "mine_id": mid,
                    "kind": kind,
                    "area_hm2": float(rng.uniform(0.5, 20)),
                    "slope_deg": float(rng.uniform(0, 60)),
                    "water": bool(kind == "subsidence_area" and rng.random() < 0.5),
                    "soil_thickness_m": float(rng.uniform(0, 0.3)),
                    "geometry": box,
                }
            )
            if rng.random() < 0.4:
                hazards.append(
                    {
                        "hazard_id": f"{sid}-H",
                        "mine_id": mid,
                        "site_id": sid,
                        "kind": HAZ[int(rng.integers(len(HAZ)))],
                        "volume_m3": float(rng.uniform(100, 20000)),
                    }
                )
    return Register(pd.DataFrame(mines), pd.DataFrame(sites), empty_table("samples"),
                    pd.DataFrame(hazards))  # fmt: skip


def tiler(base: LineArrays, archetype: np.ndarray, scale: np.ndarray, n_kinds: int):
    """``chunk_arrays(a, b)``: mines a..b as scaled copies of the base mines."""
    order = np.argsort(base.mine, kind="stable")
    assert (order == np.arange(len(order))).all()
    counts = np.bincount(base.mine, minlength=base.n_mines)
    first = np.concatenate(([0], np.cumsum(counts)[:-1]))
    kind_of_line = base.c_group[base.item]

    def chunk_arrays(a: int, b: int) -> LineArrays:
        arch = archetype[a:b]
        cnt = counts[arch]
        mine = np.repeat(np.arange(b - a), cnt)
        offs = np.arange(cnt.sum()) - np.repeat(np.cumsum(cnt) - cnt, cnt)
        idx = np.repeat(first[arch], cnt) + offs
        s = scale[a:b][mine]
        return LineArrays(
            mine=mine, n_mines=b - a, item=base.item[idx], items=base.items,
            c_low=base.c_low, c_mode=base.c_mode, c_high=base.c_high, c_group=base.c_group,
            q_low=base.q_low[idx] * s, q_mode=base.q_mode[idx] * s, q_high=base.q_high[idx] * s,
            q_group=mine * n_kinds + kind_of_line[idx], phase=base.phase[idx], pv=base.pv[idx],
            ind_pv_upfront=base.ind_pv_upfront[arch], ind_pv_spread=base.ind_pv_spread[arch],
        )  # fmt: skip

    return chunk_arrays


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mines", type=int, default=100_000)
    ap.add_argument("--draws", type=int, default=10_000)
    ap.add_argument("--chunk", type=int, default=250)
    ap.add_argument("--county", type=int, default=40)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--fixed-quantities", action="store_true")
    ap.add_argument("--quantity-mode", choices=("mine", "line"), default="mine")
    ap.add_argument(
        "--peer-mines",
        type=int,
        default=1000,
        help="mines for the peer run (a draw per cost line), 0 to skip",
    )
    args = ap.parse_args()
    print(f"python {platform.python_version()}, numpy {np.__version__}, {platform.machine()}")

    lib = load_library(on=ON)
    units = {k: u.unit for k, u in lib.items.items()}
    reg = county_register(args.county, args.seed)
    t0 = time.perf_counter()
    plans = [
        make_plan(reg, m, price_year=2023, start_year=2025, units=units, on=ON)
        for m in reg.mines["mine_id"]
    ]
    if args.fixed_quantities:
        plans = [_fixed(p) for p in plans]
    t_plan = time.perf_counter() - t0
    t0 = time.perf_counter()
    report, ests, _arr, _ = cost_report(plans, draws=args.draws, seed=args.seed, on=ON)
    t_county = time.perf_counter() - t0
    n_lines = sum(len(e.lines) for e in ests)
    print(f"county: {args.county} mines, {n_lines} cost lines; planning {t_plan:.2f} s")
    print(f"county: {args.draws} draws in {t_county:.2f} s (totals, phases, items, tornado); "
          f"P50 {report['total_p50_cny']:,.0f} CNY, P90 {report['total_p90_cny']:,.0f} CNY; "
          f"peak RSS so far {peak_mib():.0f} MiB")  # fmt: skip

    a = load_assumptions(on=ON)
    tiers = load_tiers("cn-default", on=ON)
    rng = np.random.default_rng(args.seed + 1)
    archetype = rng.integers(0, args.county, args.mines)
    scale = rng.lognormal(0.0, 0.5, args.mines)
    base = build_arrays([e.lines for e in ests], start_year=2025, price_year=2023,
                        escalation=a.escalation_rate, discount=a.discount_rate)  # fmt: skip
    chunk_arrays = tiler(base, archetype, scale, int(base.c_group.max()) + 1)
    lines_total = int(np.bincount(base.mine)[archetype].sum())
    uncertain = float(np.mean(base.q_low != base.q_high))
    t0 = time.perf_counter()
    c0 = time.process_time()
    res = run_chunked(
        chunk_arrays, args.mines, tiers, args.draws, args.seed, chunk=args.chunk,
        items=base.items, c_low=base.c_low, c_mode=base.c_mode, c_high=base.c_high,
        c_group=base.c_group, rho_cost=a.unit_cost_correlation, rho_qty=a.quantity_correlation,
        quantity_mode=args.quantity_mode,
    )  # fmt: skip
    t_nat = time.perf_counter() - t0
    c_nat = time.process_time() - c0
    tot = np.percentile(res.total_draws, res.q)
    print(f"national: {args.mines} mines, {lines_total} cost lines "
          f"({uncertain:.0%} with a quantity range, quantity mode {args.quantity_mode}), {args.draws} draws, chunk {args.chunk} "
          f"mines ({res.chunks} chunks): wall {t_nat:.1f} s, CPU {c_nat:.1f} s; peak RSS {peak_mib():.0f} MiB")  # fmt: skip
    print("national total P10/P50/P80/P90 [CNY bn]: "
          + " / ".join(f"{v / 1e9:,.2f}" for v in tot))  # fmt: skip
    print(f"per-mine P50 median {np.median(res.mine_percentiles[1]):,.0f} CNY; "
          f"sum of per-mine P50 {res.mine_percentiles[1].sum() / 1e9:,.2f} bn "
          f"(≠ national P50: percentiles do not add)")  # fmt: skip
    if args.peer_mines:
        kw = dict(items=base.items, c_low=base.c_low, c_mode=base.c_mode, c_high=base.c_high,
                  c_group=base.c_group, rho_cost=a.unit_cost_correlation,
                  rho_qty=a.quantity_correlation)  # fmt: skip
        n = min(args.peer_mines, args.mines)
        runs = {}
        for mode in ("line", args.quantity_mode):
            w0, c0 = time.perf_counter(), time.process_time()
            r = run_chunked(chunk_arrays, n, tiers, args.draws, args.seed, chunk=args.chunk,
                            quantity_mode=mode, **kw)  # fmt: skip
            runs[mode] = (time.perf_counter() - w0, time.process_time() - c0, r)
        (lw, lc, lr), (mw, mc, mr) = runs["line"], runs[args.quantity_mode]
        lt = np.percentile(lr.total_draws, lr.q)
        mt = np.percentile(mr.total_draws, mr.q)
        print(f"peer (a draw per cost line) on the first {n} mines: wall {lw:.1f} s, CPU {lc:.1f} s;"
              f" {args.quantity_mode} mode on the same mines: wall {mw:.1f} s, CPU {mc:.1f} s;"
              f" CPU ratio {lc / mc:.1f}; extrapolated line-mode CPU for {args.mines} mines "
              f"{lc * args.mines / n:.0f} s")  # fmt: skip
        print("  total P10/P50/P80/P90 line vs mine mode [CNY bn]: "
              + " / ".join(f"{x / 1e9:.3f} vs {y / 1e9:.3f}" for x, y in zip(lt, mt, strict=True))
              + f"; per-mine P90 median {np.median(lr.mine_percentiles[3]):,.0f} vs "
              f"{np.median(mr.mine_percentiles[3]):,.0f} CNY")  # fmt: skip


def _fixed(plan):
    sites = [
        s.model_copy(update={"works": [w.model_copy(update={"quantity_low": None,
                                                            "quantity_high": None})
                                       for w in s.works]})
        for s in plan.sites
    ]  # fmt: skip
    return plan.model_copy(update={"sites": sites})


if __name__ == "__main__":
    main()
