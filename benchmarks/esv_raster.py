"""Benchmark: equivalent-factor ESV of a land-cover raster through the raster engine.

    .venv/bin/python benchmarks/esv_raster.py [--size 6000] [--repeats 3]

Writes a synthetic ESA WorldCover-coded land cover (uint8, LZW, 256² tiles, 30 m pixels,
patches from an upsampled random grid, a nodata margin) to a temporary folder, then times, each
in a fresh process (compute time excluding imports; process CPU and peak RSS from ``os.wait4``):

- the I/O floor: reading every window of the raster with rasterio, nothing else;
- restora ``esv_of_raster`` totals (one counting pass, 2 threads);
- restora totals + the per-pixel map (second pass, ZSTD);
- a peer doing the same totals the plain way: read the whole raster into memory with rasterio,
  ``np.unique`` counts, the same mapping and factors (checks that both totals agree).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

CODES = np.array([10, 20, 30, 40, 50, 60, 80, 90], dtype=np.uint8)

CHILD = r"""
import json, sys, time, numpy as np
stage, path, out = sys.argv[1], sys.argv[2], sys.argv[3]
import rasterio
from restora import refdata
from restora.valuation import esv
from restora.valuation.esv_raster import esv_of_raster
from restora.valuation.landcover import LandCoverMapping, NO_TYPE
t0 = time.perf_counter()  # imports excluded, as in the carbon benchmark
res = {}
if stage == "floor":
    with rasterio.open(path) as ds:
        for _, w in ds.block_windows(1):
            ds.read(1, window=w)
elif stage in ("totals", "map"):
    r = esv_of_raster(path, "esa_worldcover", on="2025-06-01", out_dir=out if stage == "map" else None)
    res["total"] = r.esv.total_cny_per_yr
elif stage == "peer":
    with rasterio.open(path) as ds:
        a = ds.read(1)
        px_ha = abs(ds.transform.a * ds.transform.e) / 1e4
        nodata = ds.nodata
    codes, counts = np.unique(a[a != nodata], return_counts=True)
    m = LandCoverMapping.load("2025-06-01")
    idx = m.type_index("esa_worldcover", [str(c) for c in codes])
    areas = dict.fromkeys(m.types, 0.0)
    for i, n in zip(idx, counts):
        if i != NO_TYPE:
            areas[m.types[i]] += n * px_ha
    r = esv.run(esv.XieInput.model_validate({"areas_hm2": areas}), on="2025-06-01")
    res["total"] = r.total_cny_per_yr
res["seconds"] = time.perf_counter() - t0
print(json.dumps(res))
"""


def generate(path: Path, size: int, seed: int = 7) -> None:
    import rasterio
    from affine import Affine

    rng = np.random.default_rng(seed)
    coarse = rng.integers(0, len(CODES), (size // 100 + 1, size // 100 + 1))
    with rasterio.open(
        path, "w", driver="GTiff", width=size, height=size, count=1, dtype="uint8",
        crs="EPSG:32650", transform=Affine(30, 0, 400_000, 0, -30, 3_300_000), nodata=255,
        tiled=True, blockxsize=256, blockysize=256, compress="LZW",
    ) as ds:  # fmt: skip
        for r0 in range(0, size, 1024):
            h = min(1024, size - r0)
            rows = (np.arange(r0, r0 + h) // 100)[:, None]
            cols = (np.arange(size) // 100)[None, :]
            block = CODES[coarse[rows, cols]]
            noise = rng.random((h, size)) < 0.05  # speckle of cropland in every patch
            block = np.where(noise, np.uint8(40), block)
            block[:, :50] = 255  # nodata margin
            ds.write(block, 1, window=rasterio.windows.Window(0, r0, size, h))


def run(stage: str, path: Path, out: Path) -> dict:
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, stage, str(path), str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    out_text = proc.stdout.read() if proc.stdout else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{stage} failed: {proc.stderr.read() if proc.stderr else ''}")
    res = json.loads(out_text.strip().splitlines()[-1])
    res.update(cpu=usage.ru_utime + usage.ru_stime, peak_mib=usage.ru_maxrss / 1024, wall=wall)
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=6000)
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "lc.tif"
        generate(path, a.size)
        print(f"{a.size}×{a.size} land cover, load average {os.getloadavg()[0]:.1f}")
        results = {}
        for stage in ("floor", "totals", "map", "peer"):
            runs = [run(stage, path, Path(d) / f"out{i}") for i in range(a.repeats)]
            med = statistics.median(r["seconds"] for r in runs)
            cpu = statistics.median(r["cpu"] for r in runs)
            peak = max(r["peak_mib"] for r in runs)
            results[stage] = (med, runs)
            print(
                f"{stage:7s} median {med:6.3f} s (compute), CPU {cpu:6.2f} s (process), peak {peak:5.0f} MiB"
            )
        t_total, t_peer = results["totals"][1][0]["total"], results["peer"][1][0]["total"]
        print(
            f"totals agree: restora {t_total:,.2f} vs peer {t_peer:,.2f} CNY/yr (rel diff {abs(t_total - t_peer) / t_peer:.1e})"
        )
        print(f"ratios: peer / restora totals {results['peer'][0] / results['totals'][0]:.1f}×; "
              f"restora totals / I/O floor {results['totals'][0] / results['floor'][0]:.2f}×")  # fmt: skip
        print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
