"""Benchmark: the optimal allocation of 1 000 finance products to 100 000 restoration projects.

    .venv/bin/python benchmarks/matching_allocate.py [--projects 100000] [--products 1000]
        [--seed 1] [--gap 0.01] [--time-limit 120] [--out benchmarks/results/matching_allocate.md]

A seeded, ILLUSTRATIVE instance (not published figures; shapes chosen to look like the
market): projects in the 31 provinces (more in the mining provinces), ten minerals, six
value-realization modes, minimum DSCR lognormal around 1.25, IRR around 6 % (one in ten
unknown), P90 overruns of 5–45 %, needs lognormal around 30 million CNY, ecological value per
yuan varying by mode; products of provincial banks (one province, or a few neighbouring ones),
national green-loan products and bond investors (restricted by mineral or mode), funds and
subsidy programmes, each eligible to a few % of the projects, with capacities adding up to
about half of the total need (so the choice matters).

The instance is written to a temporary PROBLEM.json; the whole process is timed by running
``restora match allocate FILE --format json`` in a subprocess (its peak RSS read with psutil),
and the in-process time by calling :func:`restora.matching.allocate.allocate` on the parsed
instance; the first-come :func:`restora.matching.greedy.greedy` runs on the same instance.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]

# the 31 provinces (GB/T 2260)
PROVINCES = ("110000", "120000", "130000", "140000", "150000", "210000", "220000", "230000", "310000", "320000", "330000", "340000", "350000", "360000", "370000", "410000", "420000", "430000", "440000", "450000", "460000", "500000", "510000", "520000", "530000", "540000", "610000", "620000", "630000", "640000", "650000")  # fmt: skip
# mining provinces carry more legacy mines (Shanxi, Inner Mongolia, Hebei, Liaoning, Anhui,
# Jiangxi, Shandong, Henan, Hunan, Sichuan, Guizhou, Yunnan, Shaanxi, Gansu, Xinjiang)
HEAVY = {"140000", "150000", "130000", "210000", "340000", "360000", "370000", "410000",
         "430000", "510000", "520000", "530000", "610000", "620000", "650000"}  # fmt: skip
MINERALS = ("coal", "iron", "copper", "lead-zinc", "gold", "rare-earth", "limestone",
            "phosphate", "bauxite", "manganese")  # fmt: skip
MODES = ("ecological", "industrial", "tourism", "agriculture", "land-quota", "carbon-sink")
COLLATERAL = ("carbon_sink_rights", "quota_rights", "charging_rights", "land_use_rights")


def make_instance(n_projects: int, n_products: int, seed: int) -> dict[str, Any]:
    """A PROBLEM.json document (see the module's docstring)."""
    rng = np.random.default_rng(seed)
    w = np.array([3.0 if p in HEAVY else 1.0 for p in PROVINCES])
    region = rng.choice(len(PROVINCES), n_projects, p=w / w.sum())
    mineral = rng.choice(len(MINERALS), n_projects, p=np.linspace(3, 1, len(MINERALS)) / 20)
    mode = rng.choice(len(MODES), n_projects)
    need = np.round(np.clip(rng.lognormal(np.log(3e7), 0.9, n_projects), 2e6, 8e8), -4)
    eco_per_mcny = np.array([3.0, 1.2, 2.0, 2.5, 1.8, 3.5])[mode]  # ecological value per 1e6 CNY
    eco = np.round(need / 1e6 * eco_per_mcny * rng.lognormal(0.0, 0.5, n_projects), 2)
    dscr = np.round(rng.lognormal(np.log(1.25), 0.18, n_projects), 2)
    irr = np.round(rng.normal(0.06, 0.03, n_projects), 4)
    irr_known = rng.random(n_projects) > 0.1
    overrun = np.round(rng.uniform(0.05, 0.45, n_projects), 3)
    pledges = rng.random((n_projects, len(COLLATERAL))) < np.array([0.35, 0.3, 0.15, 0.4])
    projects = [
        {
            "id": f"P{j:06d}",
            "need_cny": float(need[j]),
            "ecological_value": float(eco[j]),
            "region": PROVINCES[region[j]],
            "mineral": MINERALS[mineral[j]],
            "mode": MODES[mode[j]],
            "min_dscr": float(dscr[j]),
            "irr": float(irr[j]) if irr_known[j] else None,
            "p90_overrun": float(overrun[j]),
            "collateral": [COLLATERAL[c] for c in np.flatnonzero(pledges[j])],
        }
        for j in range(n_projects)
    ]
    total_need = float(need.sum())
    kinds = rng.choice(5, n_products, p=[0.55, 0.15, 0.1, 0.1, 0.1])
    raw_capacity = rng.lognormal(0.0, 0.7, n_products)
    capacity = raw_capacity / raw_capacity.sum() * 0.5 * total_need
    products = []
    for k in range(n_products):
        kind = kinds[k]
        requires: dict[str, Any] = {}
        if kind == 0:  # provincial bank's green loan: one province or two neighbours
            requires["regions"] = [
                PROVINCES[i]
                for i in rng.choice(
                    len(PROVINCES), rng.choice([1, 1, 2]), p=w / w.sum(), replace=False
                )
            ]
            requires["min_dscr"] = float(rng.choice([1.1, 1.2, 1.25, 1.3]))
            requires["collateral_any"] = list(rng.choice(COLLATERAL, 2, replace=False))
            tmin, tmax = 2e6, float(rng.choice([1e8, 2e8, 3e8]))
        elif kind == 1:  # national green-loan product: a few minerals, strict DSCR
            requires["minerals"] = list(rng.choice(MINERALS, 1, replace=False))
            requires["min_dscr"] = float(rng.choice([1.3, 1.4]))
            requires["max_p90_overrun"] = 0.25
            tmin, tmax = 1e7, 5e8
        elif kind == 2:  # bond investor: returns and size
            requires["min_irr"] = float(rng.choice([0.07, 0.08]))
            requires["minerals"] = list(rng.choice(MINERALS, 2, replace=False))
            requires["regions"] = list(rng.choice(PROVINCES, 3, replace=False))
            tmin, tmax = 5e7, 8e8
        elif kind == 3:  # fund: a mode, some return
            requires["modes"] = [str(rng.choice(MODES))]
            requires["regions"] = list(rng.choice(PROVINCES, 4, replace=False))
            requires["min_irr"] = 0.04
            tmin, tmax = 5e6, 1e8
        else:  # subsidy programme: one province, ecological modes, no returns needed
            requires["regions"] = [str(rng.choice(PROVINCES))]
            requires["modes"] = list(
                rng.choice(["ecological", "carbon-sink", "agriculture"], 2, replace=False)
            )
            tmin, tmax = 0.0, 5e7
        products.append(
            {
                "id": f"K{k:04d}",
                "capacity_cny": float(np.round(max(capacity[k], tmin), -4)),
                "ticket_min_cny": tmin,
                "ticket_max_cny": tmax,
                "requires": requires,
            }
        )
    return {"projects": projects, "products": products, "limits": {}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--projects", type=int, default=100_000)
    ap.add_argument("--products", type=int, default=1_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--gap", type=float, default=0.01)
    ap.add_argument("--time-limit", type=float, default=None)
    ap.add_argument("--skip-cli", action="store_true", help="Only the in-process run.")
    ap.add_argument("--out", type=Path, default=None, help="Write the figures as Markdown.")
    args = ap.parse_args()

    import psutil
    from rich.progress import Progress

    from restora.matching.allocate import allocate
    from restora.matching.greedy import greedy
    from restora.matching.pairs import eligible_pairs, project_arrays
    from restora.matching.problem import parse_problem

    load_start = os.getloadavg()
    figures: dict[str, Any] = {}
    with Progress(transient=True) as bar:
        task = bar.add_task("instance", total=5)
        doc = make_instance(args.projects, args.products, args.seed)
        tmp = Path(tempfile.mkdtemp()) / "PROBLEM.json"
        tmp.write_text(json.dumps(doc))
        bar.update(task, advance=1, description="parse and pairs")
        t = time.perf_counter()
        problem = parse_problem(doc)
        figures["parse_s"] = time.perf_counter() - t
        t = time.perf_counter()
        arrays = project_arrays(problem.projects)
        pairs = eligible_pairs(problem, arrays)
        figures["pairs_s"] = time.perf_counter() - t
        figures["pairs"] = len(pairs)
        per_product = np.bincount(pairs.product, minlength=args.products) / args.projects
        figures["eligible_share_median"] = float(np.median(per_product))
        bar.update(task, advance=1, description="allocate (in process)")
        t, cpu = time.perf_counter(), time.process_time()
        res = allocate(
            problem, gap=args.gap, time_limit=args.time_limit, pairs=pairs, arrays=arrays
        )
        figures["allocate_s"] = time.perf_counter() - t
        figures["allocate_cpu_s"] = time.process_time() - cpu
        bar.update(task, advance=1, description="greedy")
        t = time.perf_counter()
        g = greedy(problem, pairs=pairs, arrays=arrays)
        figures["greedy_s"] = time.perf_counter() - t
        figures["rss_in_process_mib"] = psutil.Process().memory_info().rss / 2**20
        bar.update(task, advance=1, description="restora match allocate (subprocess)")
        if not args.skip_cli:
            # the restora of the interpreter running this script (CI runs it from a clone)
            cmd = [str(Path(sys.executable).with_name("restora")), "match", "allocate", str(tmp), "--format", "json",
                   "--gap", str(args.gap)]  # fmt: skip
            t = time.perf_counter()
            out_path = tmp.with_name("out.json")
            # stdout to a file: a pipe that nobody reads would block the command at 64 KiB
            with out_path.open("wb") as out_file:
                proc = psutil.Popen(cmd, stdout=out_file, stderr=subprocess.PIPE)
                peak = 0
                while proc.poll() is None:
                    try:
                        peak = max(peak, proc.memory_info().rss)
                    except psutil.NoSuchProcess:
                        break
                    time.sleep(0.05)
                err = proc.stderr.read() if proc.stderr else b""
            figures["cli_s"] = time.perf_counter() - t
            figures["cli_peak_rss_mib"] = peak / 2**20
            if proc.returncode != 0:
                sys.exit(f"restora match allocate failed: {err.decode()[-2000:]}")
            out = out_path.read_bytes()
            cli = json.loads(out)
            figures["cli_objective"] = cli["objective"]
            figures["cli_gap"] = cli["mip_gap"]
        bar.update(task, advance=1)
    figures.update(
        status=res.status,
        objective=res.objective,
        dual_bound=res.dual_bound,
        mip_gap=res.mip_gap,
        components=res.components,
        funded=len(res.funded),
        money_cny=res.money_cny,
        greedy_objective=g.objective,
        greedy_funded=len(g.funded),
        greedy_money_cny=g.money_cny,
        seconds=dict(res.seconds),
        load_start=load_start,
        load_end=os.getloadavg(),
    )
    for key, value in figures.items():
        print(f"{key}: {value}")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(report(args, figures))
        print(f"wrote {args.out}")


def report(args: argparse.Namespace, f: dict[str, Any]) -> str:
    """The figures as a Markdown section of docs/benchmarks.md."""
    import scipy

    ratio = f["objective"] / f["greedy_objective"] if f["greedy_objective"] else float("nan")
    lines = [
        f"## Optimal allocation, {args.projects:,} projects × {args.products:,} products (issue 14)",
        "",
        f"Machine: 2 cores shared with other engineers' jobs (load average {f['load_start'][0]:.1f} "
        f"at the start, {f['load_end'][0]:.1f} at the end); {dt.date.today().isoformat()}; Python "
        f"{platform.python_version()}, scipy {scipy.__version__} (HiGHS inside). Command: "
        f"`.venv/bin/python benchmarks/matching_allocate.py --projects {args.projects} --products "
        f"{args.products} --seed {args.seed} --gap {args.gap}`.",
        "",
        "| figure | value |",
        "|---|---|",
        f"| eligible pairs (of {args.projects * args.products:,}) | {f['pairs']:,} "
        f"(median product eligible to {100 * f['eligible_share_median']:.1f} % of projects) |",
        f"| parse PROBLEM.json (in process) | {f['parse_s']:.1f} s |",
        f"| eligible pairs, vectorised | {f['pairs_s']:.1f} s |",
        f"| `allocate` in process (wall / CPU) | {f['allocate_s']:.1f} s / {f['allocate_cpu_s']:.1f} s |",
        f"| of which solve / shadow prices | {f['seconds'].get('solve', 0):.1f} s / "
        f"{f['seconds'].get('shadow_prices', 0):.1f} s |",
    ]
    if "cli_s" in f:
        lines += [
            f"| `restora match allocate --format json`, whole process | {f['cli_s']:.1f} s |",
            f"| its peak RSS (psutil) | {f['cli_peak_rss_mib']:.0f} MiB |",
        ]
    lines += [
        f"| RSS of the benchmark process after allocate and greedy | {f['rss_in_process_mib']:.0f} MiB |",
        f"| status; MIP gap proven | {f['status']}; {100 * f['mip_gap']:.3f} % |",
        f"| blocks solved | {f['components']} |",
        f"| ecological value funded: allocate / greedy | {f['objective']:,.0f} / {f['greedy_objective']:,.0f} "
        f"({ratio:.3f}×) |",
        f"| projects funded: allocate / greedy | {f['funded']:,} / {f['greedy_funded']:,} |",
        f"| money allocated: allocate / greedy | {f['money_cny'] / 1e9:,.1f} / {f['greedy_money_cny'] / 1e9:,.1f} bn CNY |",
        f"| greedy time | {f['greedy_s']:.1f} s |",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
