"""Benchmark: equivalent-factor ESV on a land-cover grid and on zones, GEP on zones, sites.

What it does (figures printed; a Markdown section written with ``--results``):

1. ``esv_grid``: a synthetic ESA WorldCover grid (default 4000 × 4000 = 16 M pixels of 10 m,
   fixed seed) mapped to the 14 ecosystem types (:class:`LandCoverMapping.type_index`); pixels
   per type by ``bincount``, × pixel area × CNY/hm² per type = ESV per type and total.
   Peer ``esv_grid_peer``: the common pandas recipe, ``Series.map`` of a code → CNY/pixel dict.
2. ``esv_zones``: 100 000 zones × 14 type areas → (zones, 14, 11) values with
   :func:`esv_by_type_service`. Peer ``esv_zones_peer``: a plain Python loop over zones, types
   and services with dicts.
3. ``gep_zones``: :func:`restora.valuation.gep.run_zones` on 100 000 zones with every
   indicator's inputs. Peer ``gep_zones_peer``: a row-by-row Python implementation of the same
   formulas with ``math``.
4. ``sites``: :func:`esv_before_after` for 100 000 register sites.

Each stage runs in a fresh process (peak RSS from ``resource.getrusage``); the median wall time
of ``--repeats`` runs is reported. Results of the fast path and its peer are checked equal.

Usage::

    .venv/bin/python benchmarks/valuation_esv_gep.py --repeats 3 \\
        --results benchmarks/results/valuation_esv_gep.md
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve()
STAGES = (
    "esv_grid",
    "esv_grid_peer",
    "esv_zones",
    "esv_zones_peer",
    "gep_zones",
    "gep_zones_peer",
    "sites",
)
ESA = np.array([10, 20, 30, 40, 50, 60, 80, 90], dtype=np.uint8)  # WorldCover GeoTIFFs are uint8
PIXEL_HM2 = 0.01  # 10 m × 10 m


def _grid(side: int) -> np.ndarray:
    rng = np.random.default_rng(7)
    return ESA[rng.integers(0, len(ESA), size=(side, side))]


def _zones(n: int) -> pd.DataFrame:
    rng = np.random.default_rng(11)
    return pd.DataFrame(
        {
            "zone_id": [f"z{i}" for i in range(n)],
            "area_hm2": rng.uniform(1, 100, n),
            "npp_t_dm_per_hm2": rng.uniform(0, 15, n),
            "precipitation_mm": rng.uniform(400, 1600, n),
            "runoff_mm": rng.uniform(50, 300, n),
            "evapotranspiration_mm": rng.uniform(200, 700, n),
            "rusle_r": rng.uniform(100, 5000, n),
            "rusle_k": rng.uniform(0.005, 0.05, n),
            "rusle_ls": rng.uniform(0.1, 20, n),
            "rusle_c": rng.uniform(0, 1, n),
            "rusle_p": rng.uniform(0, 1, n),
            "bulk_density_t_per_m3": rng.uniform(1.1, 1.6, n),
            "soil_n_fraction": rng.uniform(0.0005, 0.003, n),
            "soil_p_fraction": rng.uniform(0.0002, 0.001, n),
            "so2_t_per_hm2": rng.uniform(0, 0.2, n),
            "reservoir_storage_m3": rng.uniform(0, 1e6, n),
            "visitors_per_yr": rng.uniform(0, 1e4, n),
            "spend_cny_per_visitor": rng.uniform(10, 200, n),
        }
    )


def run_stage(stage: str, side: int, zones: int) -> dict[str, Any]:
    from restora import refdata
    from restora.valuation import esv, gep
    from restora.valuation.landcover import LandCoverMapping

    table = esv.FactorTable.load()
    e = float(refdata.get(esv.EQUIVALENT_TABLE).data["value_cny_per_hm2"])
    per_hm2 = table.factors.sum(axis=1) * e
    out: dict[str, Any] = {}
    if stage in ("esv_grid", "esv_grid_peer"):
        grid = _grid(side)
        t0 = time.perf_counter()
        mapping = LandCoverMapping.load()
        if stage == "esv_grid":
            idx = mapping.type_index("esa_worldcover", grid)
            # pixels per type (NO_TYPE = -1 goes to the last bin), × pixel area × CNY/hm²
            pixels = np.bincount(idx.ravel() % (len(per_hm2) + 1), minlength=len(per_hm2) + 1)
            by_type = pixels[: len(per_hm2)] * PIXEL_HM2 * per_hm2
            total = float(by_type.sum())
        else:
            lut = {}
            for code in ESA:
                t = mapping.type_of("esa_worldcover", int(code))
                lut[int(code)] = 0.0 if t is None else per_hm2[table.types.index(t)] * PIXEL_HM2
            total = float(pd.Series(grid.ravel()).map(lut).sum())
        out["seconds"] = time.perf_counter() - t0
        out["check"] = total
        out["size"] = f"{side}×{side} = {side * side / 1e6:.0f} M pixels"
    elif stage in ("esv_zones", "esv_zones_peer"):
        rng = np.random.default_rng(3)
        areas = rng.uniform(0, 10, size=(zones, len(table.types)))
        t0 = time.perf_counter()
        if stage == "esv_zones":
            vals = esv.esv_by_type_service(areas, table.factors, e)
            total = float(vals.sum())
        else:
            fac = {t: dict(zip(table.services, row, strict=True))
                   for t, row in zip(table.types, table.factors.tolist(), strict=True)}  # fmt: skip
            total = 0.0
            for z in areas.tolist():
                res = {t: {s: a * f * e for s, f in fac[t].items()}
                       for t, a in zip(table.types, z, strict=True)}  # fmt: skip
                total += sum(sum(d.values()) for d in res.values())
        out["seconds"] = time.perf_counter() - t0
        out["check"] = total
        out["size"] = f"{zones} zones × 14 types × 11 services"
    elif stage in ("gep_zones", "gep_zones_peer"):
        frame = _zones(zones)
        t0 = time.perf_counter()
        if stage == "gep_zones":
            total = float(
                gep.run_zones(frame, input_price_year=2010).rows["value_cny_per_yr"].sum()
            )
        else:
            pr = {r["item"]: float(r["price"]) for r in refdata.get(gep.PRICES_TABLE).data}
            st = refdata.get(gep.STOICHIOMETRY_TABLE).data
            lam = refdata.get(gep.SOIL_TABLE).data["sediment_deposition_share"]
            share = refdata.get(gep.FLOOD_TABLE).data["reservoir_share_of_total_storage"]
            total = 0.0
            for z in frame.to_dict("records"):
                a = z["area_hm2"]
                co2 = 1.0 * st["co2_per_dry_matter"] * z["npp_t_dm_per_hm2"] * a
                total += co2 * pr["carbon_afforestation"] / st["co2_per_carbon"]
                total += (
                    st["o2_per_dry_matter"] * z["npp_t_dm_per_hm2"] * a * pr["oxygen_industrial"]
                )
                w = (
                    (z["precipitation_mm"] - z["runoff_mm"] - z["evapotranspiration_mm"])
                    / 1000
                    * a
                    * 1e4
                )
                total += w * pr["reservoir_storage"]
                ac = (
                    z["rusle_r"]
                    * z["rusle_k"]
                    * z["rusle_ls"]
                    * (1 - z["rusle_c"] * z["rusle_p"])
                    * a
                )
                total += lam * ac / z["bulk_density_t_per_m3"] * pr["dredging"]
                total += ac * (z["soil_n_fraction"] * pr["nitrogen_removal"]
                               + z["soil_p_fraction"] * pr["phosphorus_removal"])  # fmt: skip
                total += a * z["so2_t_per_hm2"] * pr["so2_treatment"]
                total += share * z["reservoir_storage_m3"] * pr["reservoir_storage"]
                total += z["visitors_per_yr"] * z["spend_cny_per_visitor"]
                assert math.isfinite(total)
        out["seconds"] = time.perf_counter() - t0
        out["check"] = total
        out["size"] = f"{zones} zones, 9 indicators"
    elif stage == "sites":
        rng = np.random.default_rng(5)
        kinds = np.array(["open_pit", "waste_rock_dump", "tailings_pond", "subsidence_area",
                          "industrial_yard", "road"])  # fmt: skip
        sites = pd.DataFrame(
            {
                "site_id": [f"s{i}" for i in range(zones)],
                "kind": kinds[rng.integers(0, len(kinds), zones)],
                "water": rng.random(zones) < 0.3,
                "area_hm2": rng.uniform(0.1, 50, zones),
            }
        )
        after = {f"s{i}": "broadleaf" for i in range(0, zones, 2)}
        t0 = time.perf_counter()
        res = esv.esv_before_after(sites, after)
        out["seconds"] = time.perf_counter() - t0
        out["check"] = float(res["esv_after_cny_per_yr"].sum())
        out["size"] = f"{zones} sites"
    out["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--side", type=int, default=4000, help="grid side [pixels]")
    ap.add_argument("--zones", type=int, default=100_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--stage", choices=STAGES, help=argparse.SUPPRESS)
    ap.add_argument("--results", type=Path, help="write a Markdown section here")
    args = ap.parse_args()
    if args.stage:
        print(json.dumps(run_stage(args.stage, args.side, args.zones)))
        return
    figures: dict[str, dict[str, Any]] = {}
    for stage in STAGES:
        runs = []
        for _ in range(args.repeats):
            cmd = [sys.executable, str(HERE), "--stage", stage, "--side", str(args.side),
                   "--zones", str(args.zones)]  # fmt: skip
            runs.append(
                json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
            )
        figures[stage] = {
            "seconds": statistics.median(r["seconds"] for r in runs),
            "peak_rss_mib": max(r["peak_rss_mib"] for r in runs),
            "check": runs[0]["check"],
            "size": runs[0]["size"],
        }
        f = figures[stage]
        print(
            f"{stage:16s} {f['size']:40s} {f['seconds']:8.3f} s  peak {f['peak_rss_mib']:7.0f} MiB"
        )
    for fast in ("esv_grid", "esv_zones", "gep_zones"):
        a, b = figures[fast]["check"], figures[fast + "_peer"]["check"]
        assert math.isclose(a, b, rel_tol=1e-9), (fast, a, b)
    lines = [
        "## Valuation: equivalent-factor ESV and GEP (restora.valuation.esv / gep)",
        "",
        f"Machine: 2 cores / 24 GiB (shared with other jobs), {platform.python_version()}; "
        f"date {dt.date.today().isoformat()}; median of {args.repeats} runs, each stage in a "
        "fresh process; peak = max RSS of the process (includes the synthetic inputs).",
        "",
        "| stage | size | Restora [s] | peak [MiB] | peer | peer [s] | peer peak [MiB] | ratio peer/Restora |",
        "|---|---|---|---|---|---|---|---|",
    ]
    peers = {
        "esv_grid": "pandas Series.map of code → CNY",
        "esv_zones": "plain Python loops with dicts",
        "gep_zones": "row-by-row Python with math",
    }
    for fast, peer in peers.items():
        a, b = figures[fast], figures[fast + "_peer"]
        lines.append(
            f"| {fast} | {a['size']} | {a['seconds']:.3f} | {a['peak_rss_mib']:.0f} | {peer} | "
            f"{b['seconds']:.3f} | {b['peak_rss_mib']:.0f} | {b['seconds'] / a['seconds']:.1f} |"
        )
    s = figures["sites"]
    lines.append(
        f"| sites (esv_before_after) | {s['size']} | {s['seconds']:.3f} | {s['peak_rss_mib']:.0f} | "
        "— | — | — | — |"
    )
    lines += [
        "",
        "Totals of each fast path and its peer agree to 1e-9 (checked by the script).",
        "Reproduce: `.venv/bin/python benchmarks/valuation_esv_gep.py --repeats 3 "
        "--results benchmarks/results/valuation_esv_gep.md`.",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    if args.results:
        args.results.parent.mkdir(parents=True, exist_ok=True)
        args.results.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
