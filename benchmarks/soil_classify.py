"""Benchmark: soil classification of N samples (GB 15618-2018) and gradient zoning of one site.

    .venv/bin/python benchmarks/soil_classify.py [--samples 1000000] [--loop-samples 100000]
        [--repeats 3] [--results benchmarks/results/soil-diagnosis.md]

1. Vectorised: ``restora.diagnosis.soil.classify`` on ``--samples`` synthetic samples (8 metals,
   log-normal concentrations, pH uniform 4-9, land use drawn from paddy/orchard/other), then the
   JSON records of 10 000 of them (``to_records``). Median of ``--repeats`` runs.
2. Peer: the same classification written the obvious way, a Python loop over rows with dict
   look-ups of the same reference values (screening, intervention, band), on
   ``--loop-samples`` samples; its per-sample time is scaled to N for the ratio. Its classes
   are checked equal to the vectorised ones.
3. Zoning: ``restora.diagnosis.zoning.zone_site`` on a 100 hm² square site, 20 m cells
   (2 500 cells), 60 samples, IDW and ordinary kriging.

Peak memory is the process's maximum resident set size (``ru_maxrss``), and the RSS growth
measured with psutil around the vectorised call.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import resource
import statistics
import time
from pathlib import Path

import numpy as np
import psutil
import shapely

from restora.diagnosis import soil, zoning

ON = "2024-01-01"


def synthetic(n: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    scale = np.array([0.3, 0.3, 20, 60, 80, 40, 40, 150])  # typical magnitudes [mg/kg]
    conc = scale * rng.lognormal(0.0, 0.8, (n, 8))
    land = rng.choice(np.array(["paddy", "orchard", "other"], dtype=object), n)
    ph = rng.uniform(4.0, 9.0, n)
    return conc, land, ph


def loop_classify(conc: np.ndarray, land: np.ndarray, ph: np.ndarray) -> list[int]:
    """The peer: one sample at a time, dict look-ups, the same reference values."""
    v = soil.load_standard("gb15618", on=ON)
    screening = {
        (p, lu, b): float(v.screening[m, li, b])
        for m, p in enumerate(v.pollutants)
        for li, lu in enumerate(v.lands)
        for b in range(len(v.band_names))
    }
    intervention = {
        (p, b): float(v.intervention[m, 0, b])
        for m, p in enumerate(v.pollutants)
        for b in range(len(v.band_names))
        if not np.isnan(v.intervention[m, 0, b])
    }
    edges = [float(e) for e in v.ph_upper]
    out = []
    for r in range(conc.shape[0]):
        p_h = float(ph[r])
        band = next((k for k, e in enumerate(edges) if p_h <= e), len(edges))
        worst = 0
        for m, p in enumerate(v.pollutants):
            c = float(conc[r, m])
            k = 0
            if c > screening[(p, land[r], band)]:
                k = 1
                i = intervention.get((p, band))
                if i is not None and c > i:
                    k = 2
            worst = max(worst, k)
        out.append(worst)
    return out


def timed(fn, repeats: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=1_000_000)
    ap.add_argument("--loop-samples", type=int, default=100_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--results", type=Path, default=None)
    args = ap.parse_args()

    proc = psutil.Process()
    conc, land, ph = synthetic(args.samples)
    values = soil.load_standard("gb15618", on=ON)
    rss0 = proc.memory_info().rss
    t_vec, a = timed(
        lambda: soil.classify(conc, values.pollutants, land, ph, values=values, on=ON),
        args.repeats,
    )
    rss_growth = (proc.memory_info().rss - rss0) / 2**20
    counts = np.bincount(a.sample_class, minlength=3)  # type: ignore[attr-defined]
    ids = [f"S{i}" for i in range(10_000)]
    sub = soil.classify(conc[:10_000], values.pollutants, land[:10_000], ph[:10_000], values=values)
    t_rec, _ = timed(lambda: soil.to_records(sub, ids), 1)

    n_loop = min(args.loop_samples, args.samples)
    t_loop, loop_classes = timed(
        lambda: loop_classify(conc[:n_loop], land[:n_loop], ph[:n_loop]), 1
    )
    assert list(a.sample_class[:n_loop]) == loop_classes, "peer disagrees"  # type: ignore[attr-defined]
    t_loop_scaled = t_loop * args.samples / n_loop

    rng = np.random.default_rng(2)
    site = shapely.box(0, 0, 1000, 1000)  # 100 hm²
    xs, ys = rng.uniform(0, 1000, 60), rng.uniform(0, 1000, 60)
    zc, _, zph = synthetic(60, seed=3)
    t_idw, r_idw = timed(
        lambda: zoning.zone_site(
            site, xs, ys, zc, values.pollutants, land="paddy", ph=zph, on=ON, values=values
        ),
        args.repeats,
    )
    t_ok, r_ok = timed(
        lambda: zoning.zone_site(
            site,
            xs,
            ys,
            zc,
            values.pollutants,
            land="paddy",
            ph=zph,
            on=ON,
            values=values,
            method="ordinary_kriging",
        ),
        1,
    )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    lines = [
        f"## Soil diagnosis (GB 15618-2018) and gradient zoning — {dt.date.today().isoformat()}",
        "",
        f"Machine: {os.cpu_count()} cores shared with other jobs, "
        f"{psutil.virtual_memory().total / 2**30:.0f} GiB, {platform.python_version()}, "
        f"numpy {np.__version__}; load average during the run {os.getloadavg()[0]:.1f}. Command: `.venv/bin/python benchmarks/soil_classify.py "
        f"--samples {args.samples} --loop-samples {n_loop} --repeats {args.repeats}`.",
        "",
        "| what | figure |",
        "|---|---|",
        f"| classify {args.samples:,} samples x 8 metals (vectorised, median of {args.repeats}) "
        f"| {t_vec:.2f} s ({args.samples / t_vec / 1e6:.2f} M samples/s) |",
        f"| classes (priority / safe / strict) | {counts[0]:,} / {counts[1]:,} / {counts[2]:,} |",
        f"| peer: Python row loop, {n_loop:,} samples | {t_loop:.2f} s "
        f"(scaled to {args.samples:,}: {t_loop_scaled:.1f} s) |",
        f"| ratio peer / vectorised (same N) | {t_loop_scaled / t_vec:.0f}x |",
        f"| JSON records of 10 000 samples (`to_records`) | {t_rec:.2f} s |",
        f"| RSS growth during classify | {rss_growth:.0f} MiB |",
        f"| zone a 100 hm² site, 20 m cells ({r_idw.cells['x'].size} cells), 60 samples, IDW "  # type: ignore[attr-defined]
        f"| {t_idw:.2f} s, {len(r_idw.zones)} zones |",  # type: ignore[attr-defined]
        f"| same, ordinary kriging (pykrige) | {t_ok:.2f} s, {len(r_ok.zones)} zones, "  # type: ignore[attr-defined]
        f"method {r_ok.as_dict()['method']} |",  # type: ignore[attr-defined]
        f"| peak resident memory of the process | {peak:.0f} MiB |",
        "",
        "The peer is the straightforward per-row implementation over the same reference values "
        "(its classes are asserted equal on the first "
        f"{n_loop:,} samples); its time is measured on {n_loop:,} and scaled linearly.",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    if args.results:
        args.results.parent.mkdir(parents=True, exist_ok=True)
        args.results.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
