"""Benchmark: restora's carbon storage vs InVEST's carbon model (natcap-invest), same inputs.

What it does (all figures printed, and a Markdown section written with ``--results``):

1. Generates a synthetic land cover (default 6000 × 6000, 30 m pixels, UTM 50N, int16, LZW,
   256 × 256 tiles): ten classes in realistic patches (two octaves of value noise), a baseline
   and an alternate (forest cleared, mine land restored, town growth) with small nodata areas
   that differ between the two. Generation is block by block, so any size fits in memory.
2. Times, each in a fresh process (peak memory = the process's max RSS from ``wait4``):
   the I/O floor (rasterio reading every tile of the input, 1 thread and restora's 2-thread
   engine); restora totals (``carbon_storage``), with and without per-pixel maps (ZSTD, and
   once with DEFLATE for comparison), for storage (baseline) and storage + valuation (baseline
   + alternate); InVEST ``carbon.execute`` for the
   same two runs, in its own virtualenv, in a fresh empty workspace each time, ``n_workers=-1``.
   The median of ``--repeats`` runs is reported.
3. Checks that restora's totals (baseline, alternate, change, NPV) equal InVEST's summary table
   to a relative 1e-6.
4. Optionally (``--big 40000``) generates a 40 000 × 40 000 land cover block by block and runs
   restora's totals on it to show bounded memory; the file is deleted afterwards.

InVEST is a peer for this benchmark only, never a dependency of restora. Install it in a
virtual environment of its own (``natcap-invest==3.20.2`` from PyPI, built against Debian's
``libgdal-dev`` with ``GDAL==$(gdal-config --version)`` pinned as a constraint and build
constraint, ``cython<3.3``) and give its Python with ``--invest-python`` or
``RESTORA_INVEST_PYTHON`` (default ``invest-venv/bin/python``); without it the peer is skipped.

Usage::

    .venv/bin/python benchmarks/carbon_invest.py --size 6000 --repeats 3 \\
        --invest-python invest-venv/bin/python --big 40000 \\
        --results benchmarks/results/carbon_invest.md
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve()
RES = 30.0  # pixel size [m]
NODATA = -1
# Synthetic benchmark classes: code, name, c_above, c_below, c_soil, c_dead [Mg C/ha].
# Illustrative magnitudes only (this is test data, not a reference table); no two densities
# differ by exactly 1.0, because InVEST's change raster uses -1.0 as nodata.
POOLS = [
    (1, "cropland", 5.2, 1.3, 62.4, 0.7),
    (2, "forest", 88.6, 21.3, 105.2, 9.8),
    (3, "shrub", 21.4, 9.6, 78.1, 3.3),
    (4, "grassland", 3.1, 8.4, 71.9, 1.2),
    (5, "water", 0.0, 0.0, 0.0, 0.0),
    (6, "built-up", 1.9, 0.4, 25.3, 0.0),
    (7, "mine / bare", 0.3, 0.1, 8.7, 0.0),
    (8, "wetland", 12.7, 5.5, 143.6, 4.1),
    (9, "orchard", 24.8, 6.2, 70.5, 2.4),
    (10, "restored grassland", 2.6, 6.9, 34.2, 0.8),
]
PRICE, DISCOUNT, RATE_CHANGE, BASE_YEAR, ALT_YEAR = 300.0, 7.0, 2.0, 2020, 2035
# InVEST 3.20.2 execute() on an idle machine here, 6000² LZW-tiled input, median of 3, n_workers=-1
# (natcap-invest 3.20.2, measured 2026-11-23): storage, with valuation [s]; peak [GiB].
INVEST_IDLE = {"storage": 7.35, "valuation": 16.55, "peak_gib": 1.15}


# --------------------------------------------------------------------------- synthetic data


def _lattice(rng: np.random.Generator, n_rows: int, n_cols: int, spacing: int) -> np.ndarray:
    return rng.random((n_rows // spacing + 2, n_cols // spacing + 2))


def _noise(lat: np.ndarray, spacing: int, r0: int, c0: int, h: int, w: int) -> np.ndarray:
    """Bilinear value noise on a coarse lattice, for the window at (r0, c0) of size h × w."""
    y = (np.arange(r0, r0 + h) + 0.5) / spacing
    x = (np.arange(c0, c0 + w) + 0.5) / spacing
    iy, ix = y.astype(int), x.astype(int)
    fy, fx = (y - iy)[:, None], (x - ix)[None, :]
    a = lat[np.ix_(iy, ix)]
    b = lat[np.ix_(iy, ix + 1)]
    c = lat[np.ix_(iy + 1, ix)]
    d = lat[np.ix_(iy + 1, ix + 1)]
    return (a * (1 - fx) + b * fx) * (1 - fy) + (c * (1 - fx) + d * fx) * fy


def generate(
    size: int, base_path: Path, alt_path: Path | None, seed: int = 20261123, reuse: int = 0
) -> None:
    """Write baseline (and alternate) land cover, LZW-tiled int16, block by block.

    ``reuse`` > 0 (for very large rasters): compute the noise only on a ``reuse`` × ``reuse``
    patch and fill each 1024² block with a differently offset window of it (same class mix and
    patch texture, a fraction of the generation time).
    """
    import rasterio
    from affine import Affine

    if reuse:
        patch = base_path.with_name("patch.tif")
        generate(reuse, patch, None, seed)
        with rasterio.open(patch) as ds:
            pool = ds.read(1)
        patch.unlink()
        pool[pool == NODATA] = 4  # the patch's own nodata corner becomes grassland
    lat = min(size, 4096) if reuse else size  # lattices are unused when reusing a patch
    rng = np.random.default_rng(seed)
    big, small, change = (
        _lattice(rng, lat, lat, 400),
        _lattice(rng, lat, lat, 53),
        _lattice(rng, lat, lat, 150),
    )
    grain = _lattice(rng, lat, lat, 7)
    # class by quantiles of the noise: more cropland/forest/grassland, fewer wetland/mine
    edges = np.array([0.30, 0.42, 0.50, 0.58, 0.62, 0.66, 0.69, 0.72, 0.78])
    order = np.array([5, 8, 1, 9, 6, 7, 4, 3, 10, 2], dtype=np.int16)
    profile = dict(
        driver="GTiff", width=size, height=size, count=1, dtype="int16", nodata=NODATA,
        crs="EPSG:32650", transform=Affine(RES, 0, 400000.0, 0, -RES, 3300000.0),
        tiled=True, blockxsize=256, blockysize=256, compress="lzw", bigtiff="if_safer",
    )  # fmt: skip
    outs = [rasterio.open(base_path, "w", **profile)]
    if alt_path is not None:
        outs.append(rasterio.open(alt_path, "w", **profile))
    step = 1024
    pix = np.random.default_rng(seed + 1)
    try:
        for r0 in range(0, size, step):
            h = min(step, size - r0)
            for c0 in range(0, size, step):
                w = min(step, size - c0)
                rows = np.arange(r0, r0 + h)[:, None]
                cols = np.arange(c0, c0 + w)[None, :]
                if reuse:
                    i, j = (r0 * 7 + c0 * 3) % (reuse - step), (r0 * 5 + c0 * 11) % (reuse - step)
                    base = pool[i : i + h, j : j + w].copy()
                    base[(rows + cols) < size // 50] = NODATA
                    outs[0].write(base, 1, window=((r0, r0 + h), (c0, c0 + w)))
                    continue
                n = 0.55 * _noise(big, 400, r0, c0, h, w) + 0.3 * _noise(small, 53, r0, c0, h, w)
                n += 0.15 * _noise(grain, 7, r0, c0, h, w)
                n += pix.uniform(-0.015, 0.015, size=n.shape)  # ragged class edges
                lc = order[np.searchsorted(edges, n)]
                base = lc.copy()
                base[(rows + cols) < size // 50] = NODATA  # a nodata corner
                outs[0].write(base, 1, window=((r0, r0 + h), (c0, c0 + w)))
                if alt_path is not None:
                    ch = _noise(change, 150, r0, c0, h, w)
                    alt = lc.copy()
                    alt[(lc == 2) & (ch > 0.75)] = 1  # forest cleared for cropland
                    alt[(lc == 7) & (ch < 0.6)] = 10  # mine land restored to grassland
                    alt[(lc == 1) & (ch < 0.12)] = 6  # town growth on cropland
                    alt[(lc == 4) & (ch > 0.85)] = 3  # grassland to shrub
                    alt[(rows - cols) > size - size // 40] = NODATA  # another nodata corner
                    outs[1].write(alt, 1, window=((r0, r0 + h), (c0, c0 + w)))
    finally:
        for o in outs:
            o.close()


def write_pools(path: Path) -> None:
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["lucode", "lulc_name", "c_above", "c_below", "c_soil", "c_dead"])
        w.writerows(POOLS)


# --------------------------------------------------------------------------- stages (children)


def stage(name: str, work: Path, extra: dict[str, Any]) -> dict[str, Any]:
    """Run one timed stage in this (fresh) process; returns seconds and results."""
    base, alt, pools = work / "lulc_bas.tif", work / "lulc_alt.tif", work / "pools.csv"
    if extra.get("big"):
        base = Path(extra["big"])
    if name.startswith("floor"):
        import rasterio

        from restora.valuation import raster

        paths = [str(base)] + ([str(alt)] if extra.get("alt") else [])
        info = raster.describe(paths[0])
        wins = raster.plan_windows(info.width, info.height, info.block_shape)
        t0, c0 = time.perf_counter(), time.process_time()
        if name == "floor1":  # plain rasterio, one thread, window by window
            with rasterio.Env(GDAL_CACHEMAX=raster.GDAL_CACHE_MB):
                for p in paths:
                    with rasterio.open(p) as ds:
                        for w in wins:
                            ds.read(1, window=w.to_rasterio())
        else:  # restora's engine, 2 threads, nothing computed
            raster.run_blocks(paths, lambda a, w: None, wins, lambda w, r: None, workers=2)
        return {"seconds": time.perf_counter() - t0, "cpu": time.process_time() - c0}
    if name.startswith("restora"):
        import rasterio  # imported before timing, as InVEST's imports are

        from restora.valuation import carbon as cm
        from restora.valuation.io import read_pools

        t_import = time.perf_counter()
        pools_t = read_pools(pools)
        val = (
            cm.Valuation(PRICE, DISCOUNT, RATE_CHANGE, BASE_YEAR, ALT_YEAR)
            if extra.get("alt")
            else None
        )
        out = work / "restora_maps" if extra.get("maps") else None
        if out is not None and out.exists():
            shutil.rmtree(out)
        t0, c0 = time.perf_counter(), time.process_time()
        r = cm.carbon_storage(
            base, pools_t, alt if extra.get("alt") else None, valuation=val, out_dir=out,
            compress=extra.get("compress", "zstd"),
        )  # fmt: skip
        sec, cpu = time.perf_counter() - t0, time.process_time() - c0
        d = r.to_dict()
        return {
            "seconds": sec,
            "cpu": cpu,
            "setup": t0 - t_import,
            **{k: d.get(k) for k in ("total_mg_c", "alt_total_mg_c", "delta_mg_c", "npv_cny")},
        }
    raise SystemExit(f"unknown stage {name}")


INVEST_CHILD = r"""
import json, sys, time, csv
t_import = time.perf_counter()
from natcap.invest import carbon
args = json.loads(sys.argv[1])
t0, c0 = time.perf_counter(), time.process_time()
reg = carbon.execute(args)
sec, cpu = time.perf_counter() - t0, time.process_time() - c0
with open(reg["summary_csv"], newline="") as f:
    rows = list(csv.reader(f))
print(json.dumps({"seconds": sec, "cpu": cpu, "import": t0 - t_import, "summary": rows[1:]}))
"""


def timed_child(cmd: list[str]) -> dict[str, Any]:
    """Run a child process: its JSON result, wall time and peak RSS [GiB] from ``os.wait4``."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # drain pipes in threads so a chatty child cannot block, then wait4 for the rusage
    import threading

    chunks: dict[str, str] = {}

    def drain(name: str, stream: Any) -> None:
        chunks[name] = stream.read()

    ts = [
        threading.Thread(target=drain, args=(n, s))
        for n, s in (("out", proc.stdout), ("err", proc.stderr))
    ]
    for t in ts:
        t.start()
    _, status, usage = os.wait4(proc.pid, 0)
    for t in ts:
        t.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:4])} failed:\n{chunks.get('err', '')[-3000:]}")
    res = json.loads(chunks["out"].strip().splitlines()[-1])
    res["wall"] = wall
    res["peak_gib"] = usage.ru_maxrss / 1024**2  # KiB → GiB
    return res


def restora_run(name: str, work: Path, **extra: Any) -> dict[str, Any]:
    cmd = [
        sys.executable,
        str(HERE),
        "--stage",
        name,
        "--work",
        str(work),
        "--extra",
        json.dumps(extra),
    ]
    return timed_child(cmd)


def invest_run(invest_python: str, work: Path, alt: bool, i: int) -> dict[str, Any]:
    ws = work / f"invest_ws_{'val' if alt else 'sto'}_{i}"
    if ws.exists():
        shutil.rmtree(ws)
    args = {
        "workspace_dir": str(ws),
        "results_suffix": "",
        "lulc_bas_path": str(work / "lulc_bas.tif"),
        "carbon_pools_path": str(work / "pools.csv"),
        "calc_sequestration": alt,
        "lulc_alt_path": str(work / "lulc_alt.tif") if alt else "",
        "do_valuation": alt,
        "lulc_bas_year": BASE_YEAR if alt else "",
        "lulc_alt_year": ALT_YEAR if alt else "",
        "price_per_metric_ton_of_c": PRICE if alt else "",
        "discount_rate": DISCOUNT if alt else "",
        "rate_change": RATE_CHANGE if alt else "",
        "n_workers": -1,
    }
    try:
        return timed_child([invest_python, "-c", INVEST_CHILD, json.dumps(args)])
    finally:
        shutil.rmtree(ws, ignore_errors=True)


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    out = dict(runs[-1])
    out["seconds"] = statistics.median(r["seconds"] for r in runs)
    out["cpu"] = statistics.median(r["cpu"] for r in runs)
    out["wall"] = statistics.median(r["wall"] for r in runs)
    out["peak_gib"] = max(r["peak_gib"] for r in runs)
    out["all_seconds"] = [round(r["seconds"], 3) for r in runs]
    return out


def invest_totals(summary: list[list[str]]) -> dict[str, float]:
    keys = {
        "Baseline Carbon Storage": "total_mg_c",
        "Alternate Carbon Storage": "alt_total_mg_c",
        "Change in Carbon Storage": "delta_mg_c",
        "Net Present Value of Carbon Change": "npv_cny",
    }
    return {keys[row[0]]: float(row[1]) for row in summary if row and row[0] in keys}


def load() -> str:
    la = os.getloadavg()
    return f"load average {la[0]:.1f} / {la[1]:.1f} / {la[2]:.1f} (1/5/15 min) on {os.cpu_count()} cores"


# --------------------------------------------------------------------------- main


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size", type=int, default=6000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument(
        "--invest-python",
        default=os.environ.get("RESTORA_INVEST_PYTHON") or "invest-venv/bin/python",
        help="Python of InVEST's virtual environment (default: RESTORA_INVEST_PYTHON)",
    )
    ap.add_argument("--work", type=Path, default=None, help="scratch folder (default: a temp dir)")
    ap.add_argument("--big", type=int, default=0, help="also run restora on a BIG × BIG raster")
    ap.add_argument("--results", type=Path, default=None, help="write a Markdown section here")
    ap.add_argument(
        "--append", action="store_true", help="append to --results instead of replacing"
    )
    ap.add_argument("--stage", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--extra", default="{}", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.stage:
        print(json.dumps(stage(a.stage, a.work, json.loads(a.extra))))
        return

    work = a.work or Path(tempfile.mkdtemp(prefix="restora-carbon-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    started = dt.datetime.now(dt.UTC)
    load_before = load()
    print(f"work folder {work}; {load_before}", flush=True)
    rows: dict[str, dict[str, Any]] = {}
    checks: list[tuple[str, float, float, float]] = []
    if a.size:
        t0 = time.perf_counter()
        generate(a.size, work / "lulc_bas.tif", work / "lulc_alt.tif")
        write_pools(work / "pools.csv")
        print(f"generated {a.size}×{a.size} baseline + alternate in {time.perf_counter() - t0:.1f} s "
              f"({(work / 'lulc_bas.tif').stat().st_size / 2**20:.1f} MiB each, LZW)", flush=True)  # fmt: skip

        have_invest = Path(a.invest_python).exists()
        if not have_invest:
            print(f"no InVEST at {a.invest_python}; skipping the peer", flush=True)
        stages: list[tuple[str, Any]] = [
            ("floor, 1 raster, rasterio 1 thread", lambda i: restora_run("floor1", work)),
            ("floor, 1 raster, engine 2 threads", lambda i: restora_run("floor2", work)),
            (
                "floor, 2 rasters, rasterio 1 thread",
                lambda i: restora_run("floor1", work, alt=True),
            ),
            ("floor, 2 rasters, engine 2 threads", lambda i: restora_run("floor2", work, alt=True)),
            ("restora storage (totals)", lambda i: restora_run("restora", work)),
            ("restora storage + maps", lambda i: restora_run("restora", work, maps=True)),
            ("restora valuation (totals)", lambda i: restora_run("restora", work, alt=True)),
            (
                "restora valuation + maps",
                lambda i: restora_run("restora", work, alt=True, maps=True),
            ),
            (
                "restora valuation + maps, DEFLATE",
                lambda i: restora_run("restora", work, alt=True, maps=True, compress="deflate"),
            ),
        ]
        if have_invest:
            stages += [
                ("InVEST storage", lambda i: invest_run(a.invest_python, work, False, i)),
                ("InVEST valuation", lambda i: invest_run(a.invest_python, work, True, i)),
            ]
        # rounds interleave all stages, so a change of machine load hits restora and InVEST alike
        runs: dict[str, list[dict[str, Any]]] = {k: [] for k, _ in stages}
        for i in range(a.repeats):
            for key, fn in stages:
                r = fn(i)
                runs[key].append(r)
                print(f"round {i + 1} {key:36s} {r['seconds']:8.3f} s, cpu {r['cpu']:7.3f} s, "
                      f"peak {r['peak_gib']:.3f} GiB  [{load()}]", flush=True)  # fmt: skip
        for key, _ in stages:
            rows[key] = summarise(runs[key])
            r = rows[key]
            print(f"{key:36s} median {r['seconds']:8.3f} s (runs {r['all_seconds']}), cpu {r['cpu']:.3f} s, "
                  f"peak {r['peak_gib']:.3f} GiB", flush=True)  # fmt: skip

        if have_invest:
            inv_s = invest_totals(rows["InVEST storage"]["summary"])
            inv_v = invest_totals(rows["InVEST valuation"]["summary"])
            ours_s, ours_v = rows["restora storage (totals)"], rows["restora valuation (totals)"]
            checks.append(
                ("total_mg_c (storage run)", ours_s["total_mg_c"], inv_s["total_mg_c"], 0)
            )
            for k in ("total_mg_c", "alt_total_mg_c", "delta_mg_c", "npv_cny"):
                checks.append((k + " (valuation run)", ours_v[k], inv_v[k], 0))
            # with maps the counts come from the one-pass block function: the same totals
            ours_m = rows["restora valuation + maps"]
            for k in ("delta_mg_c", "npv_cny"):
                checks.append((k + " (valuation + maps run)", ours_m[k], inv_v[k], 0))
            checks = [(k, o, i, abs(o - i) / abs(i)) for k, o, i, _ in checks]
            for k, o, i, rel in checks:
                print(
                    f"{k:32s} restora {o:22.6f}  InVEST {i:22.6f}  rel diff {rel:.2e}", flush=True
                )

    big_row = None
    if a.big:
        write_pools(work / "pools.csv")
        big_path = work / f"lulc_{a.big}.tif"
        t0 = time.perf_counter()
        generate(a.big, big_path, None, seed=7, reuse=4096)
        gen = time.perf_counter() - t0
        print(
            f"generated {a.big}×{a.big} in {gen:.0f} s ({big_path.stat().st_size / 2**30:.2f} GiB)",
            flush=True,
        )
        try:
            big_row = restora_run("restora", work, big=str(big_path))
            big_floor = restora_run("floor2", work, big=str(big_path))
        finally:
            size_bytes = big_path.stat().st_size
            big_path.unlink()
        for k, r in (
            (f"restora storage {a.big}² (totals)", big_row),
            (f"floor {a.big}², engine 2 threads", big_floor),
        ):
            print(
                f"{k:36s} {r['seconds']:8.3f} s, cpu {r['cpu']:.3f} s, peak {r['peak_gib']:.3f} GiB",
                flush=True,
            )
        big_row = {"run": big_row, "floor": big_floor, "gen": gen, "bytes": size_bytes}

    load_after = load()
    print(load_after)
    if a.results:
        write_results(a, rows, checks, big_row, started, load_before, load_after)
    if a.work is None:
        shutil.rmtree(work, ignore_errors=True)


def write_results(a, rows, checks, big_row, started, load_before, load_after) -> None:
    import rasterio

    from restora import __version__

    inv_ver = ""
    if Path(a.invest_python).exists():
        inv_ver = subprocess.run(
            [a.invest_python, "-c", "import natcap.invest as n; print(n.__version__)"],
            capture_output=True, text=True,
        ).stdout.strip()  # fmt: skip
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    lines = [
        "## Carbon storage on rasters: restora vs InVEST carbon model",
        "",
        f"Run {started:%Y-%m-%d %H:%M} UTC by `benchmarks/carbon_invest.py --size {a.size} --repeats {a.repeats}"
        + (f" --big {a.big}" if a.big else "")
        + "`.",
        f"Machine: {os.cpu_count()} cores, {mem:.0f} GiB RAM, {platform.platform()}; shared with other "
        f"engineers during the run — {load_before} before, {load_after} after, so times are noisy.",
        f"restora {__version__} (rasterio {rasterio.__version__}, GDAL {rasterio.__gdal_version__}, numpy "
        f"{np.__version__}); InVEST natcap-invest {inv_ver or 'not run'} in its own venv with Debian GDAL.",
        "",
        f"Input: synthetic {a.size}×{a.size} land cover, 30 m pixels, EPSG:32650, int16, LZW, 256×256 tiles, "
        "10 classes in patches, baseline + alternate with different nodata corners. Valuation: price "
        f"{PRICE:g} CNY/Mg C, discount {DISCOUNT:g} %, price change {RATE_CHANGE:g} %, {BASE_YEAR}→{ALT_YEAR}.",
        "Times are the median of the runs of the compute call (restora `carbon_storage`, InVEST "
        "`carbon.execute` with `n_workers=-1`, fresh empty workspace each run), excluding interpreter "
        "start and imports; peak memory is the process's max RSS (`wait4`), imports included.",
        "",
        "| run | seconds (median) | runs [s] | CPU seconds (median) | peak RSS GiB |",
        "|---|---:|---|---:|---:|",
    ]
    for k, r in rows.items():
        runs_s = ", ".join(f"{x:.2f}" for x in r["all_seconds"])
        lines.append(
            f"| {k} | {r['seconds']:.3f} | {runs_s} | {r['cpu']:.3f} | {r['peak_gib']:.3f} |"
        )
    lines.append("")

    def ratio(a_: str, b_: str, what: str = "seconds") -> str:
        if a_ in rows and b_ in rows:
            return f"{rows[a_][what] / rows[b_][what]:.1f}×"
        return "n/a"

    def idle(kind: str, ours: str) -> str:
        if ours in rows and a.size == 6000:
            return f"{INVEST_IDLE[kind] / rows[ours]['seconds']:.1f}×"
        return "n/a"

    if not rows:  # a --size 0 run: only the bounded-memory section
        lines = lines[:4]
    lines += (
        []
        if not rows
        else [
            "Ratios (time of the first / time of the second):",
            "",
            f"- InVEST storage / restora storage (totals): **{ratio('InVEST storage', 'restora storage (totals)')}**; "
            f"/ restora storage + maps (InVEST's outputs): **{ratio('InVEST storage', 'restora storage + maps')}**",
            f"- InVEST valuation / restora valuation (totals): **{ratio('InVEST valuation', 'restora valuation (totals)')}**; "
            f"/ restora valuation + maps: **{ratio('InVEST valuation', 'restora valuation + maps')}**",
            f"- restora storage (totals) / I/O floor, 1 raster, 2 threads: {ratio('restora storage (totals)', 'floor, 1 raster, engine 2 threads')}; "
            f"/ 1 thread: {ratio('restora storage (totals)', 'floor, 1 raster, rasterio 1 thread')}",
            f"- restora valuation (totals) / I/O floor, 2 rasters, 2 threads: {ratio('restora valuation (totals)', 'floor, 2 rasters, engine 2 threads')}; "
            f"/ 1 thread: {ratio('restora valuation (totals)', 'floor, 2 rasters, rasterio 1 thread')}",
            f"- restora valuation + maps / I/O floor, 2 rasters, 2 threads: {ratio('restora valuation + maps', 'floor, 2 rasters, engine 2 threads')}; "
            f"/ 1 thread: {ratio('restora valuation + maps', 'floor, 2 rasters, rasterio 1 thread')}; "
            f"restora storage + maps / I/O floor, 1 raster, 2 threads: {ratio('restora storage + maps', 'floor, 1 raster, engine 2 threads')}",
            f"- Maps compressed with DEFLATE level 1 instead of ZSTD level 1: InVEST valuation / restora valuation + maps, DEFLATE "
            f"**{ratio('InVEST valuation', 'restora valuation + maps, DEFLATE')}** (CPU {ratio('InVEST valuation', 'restora valuation + maps, DEFLATE', 'cpu')})",
            f"- Against InVEST's idle-machine times from the peer notes ({INVEST_IDLE['storage']} s storage, "
            f"{INVEST_IDLE['valuation']} s with valuation) — conservative, as restora's times here are "
            f"under load: storage {idle('storage', 'restora storage (totals)')} (totals), "
            f"{idle('storage', 'restora storage + maps')} (+ maps); valuation "
            f"{idle('valuation', 'restora valuation (totals)')} (totals), "
            f"{idle('valuation', 'restora valuation + maps')} (+ maps)",
            f"- CPU time, less sensitive to other users' load: InVEST storage / restora storage (totals) "
            f"{ratio('InVEST storage', 'restora storage (totals)', 'cpu')}, / + maps "
            f"{ratio('InVEST storage', 'restora storage + maps', 'cpu')}; InVEST valuation / restora "
            f"valuation (totals) {ratio('InVEST valuation', 'restora valuation (totals)', 'cpu')}, / + maps "
            f"{ratio('InVEST valuation', 'restora valuation + maps', 'cpu')}",
            "",
        ]
    )
    if checks:
        lines += [
            "Agreement with InVEST (restora sums float64 from exact class counts; InVEST sums float32 "
            "pixel densities in float64):",
            "",
            "| quantity | restora | InVEST | relative difference |",
            "|---|---:|---:|---:|",
        ]
        for k, o, i, rel in checks:
            lines.append(f"| {k} | {o:,.4f} | {i:,.4f} | {rel:.1e} |")
        worst = max(c[3] for c in checks)
        lines += [
            "",
            f"Worst relative difference {worst:.1e} ({'≤' if worst <= 1e-6 else '>'} 1e-6).",
            "",
        ]
    if big_row:
        run, fl = big_row["run"], big_row["floor"]
        lines += [
            f"Bounded memory: {a.big}×{a.big} ({a.big**2 / 1e9:.1f}e9 pixels, {big_row['bytes'] / 2**30:.2f} GiB LZW "
            f"file, generated block by block in {big_row['gen']:.0f} s): restora storage totals "
            f"{run['seconds']:.1f} s, peak RSS {run['peak_gib']:.3f} GiB; engine read-only floor "
            f"{fl['seconds']:.1f} s, peak {fl['peak_gib']:.3f} GiB. Total {run['total_mg_c']:,.1f} Mg C.",
            "",
        ]
    text = "\n".join(lines) + "\n"
    a.results.parent.mkdir(parents=True, exist_ok=True)
    if a.append and a.results.exists():
        text = a.results.read_text(encoding="utf-8") + "\n" + text
    a.results.write_text(text, encoding="utf-8")
    print(f"wrote {a.results}")


if __name__ == "__main__":
    main()
