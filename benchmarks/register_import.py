"""Benchmark: import a 100 000-site GeoPackage with ``read_register`` (and export it again).

Builds a synthetic register (20 000 mines × 5 rectangular sites in EPSG:4547, mine columns on
every row), then times:

- ``read_register`` (read, header mapping, typing, every validation, reprojection to
  EPSG:4326, equal-area areas);
- the peer floor: ``geopandas.read_file`` + ``to_crs(4326)`` + the same area computation, no
  validation (what any reader must at least do);
- ``write_register`` back to GeoPackage.

Usage: ``.venv/bin/python benchmarks/register_import.py [n_sites]``. Prints seconds and peak
resident memory (psutil, sampled every 50 ms).
"""

from __future__ import annotations

import sys
import tempfile
import threading
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import psutil
import pyogrio
import shapely

from restora.inventory.geometry import equal_area_hm2
from restora.inventory.io import read_register, write_register


def build(path: Path, n_sites: int) -> None:
    rng = np.random.default_rng(42)
    i = np.arange(n_sites)
    mine = i // 5
    x0 = 400_000 + (mine % 400) * 500.0 + (i % 5) * 90.0
    y0 = 3_000_000 + (mine // 400) * 500.0
    w = rng.uniform(20, 80, n_sites)
    h = rng.uniform(20, 80, n_sites)
    geoms = shapely.box(x0, y0, x0 + w, y0 + h)
    area = w * h / 10_000.0
    frame = pd.DataFrame(
        {
            "矿山编号": [f"M{m:06d}" for m in mine],
            "矿山名称": [f"矿山{m}" for m in mine],
            "行政区划代码": "430181",
            "矿种": np.where(mine % 2 == 0, "煤", "金属矿"),
            "状态": "废弃",
            "责任主体": "无主",
            "图斑编号": [f"S{k:07d}" for k in i],
            "场地类型": "露天采场",
            "面积(公顷)": np.round(area, 4),
            "坡度": rng.uniform(0, 45, n_sites).round(1),
        }
    )
    gdf = gpd.GeoDataFrame(frame, geometry=geoms, crs="EPSG:4547")
    pyogrio.write_dataframe(gdf, path, layer="sites", driver="GPKG")


class Peak:
    """Peak RSS of this process [bytes], sampled in a thread."""

    def __init__(self) -> None:
        self.proc = psutil.Process()
        self.peak = 0
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.proc.memory_info().rss)
            time.sleep(0.05)

    def __enter__(self) -> Peak:
        self.peak = self.proc.memory_info().rss
        self._t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._t.join()


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "sites.gpkg"
        t = time.perf_counter()
        build(src, n)
        print(
            f"built {n} sites in {time.perf_counter() - t:.1f} s ({src.stat().st_size / 1e6:.1f} MB)"
        )

        with Peak() as mem:
            t = time.perf_counter()
            gdf = gpd.read_file(src).to_crs("EPSG:4326")
            peer_area = equal_area_hm2(gdf.geometry.to_numpy())
            peer = time.perf_counter() - t
        print(
            f"peer floor (geopandas.read_file + to_crs + area): {peer:.2f} s, peak RSS {mem.peak / 2**20:.0f} MiB"
        )

        with Peak() as mem:
            t = time.perf_counter()
            reg, report = read_register([src])
            ours = time.perf_counter() - t
        print(
            f"read_register: {ours:.2f} s, peak RSS {mem.peak / 2**20:.0f} MiB; "
            f"{len(reg.mines)} mines, {len(reg.sites)} sites, {len(report.problems)} problems"
        )
        print(f"ratio read_register / peer floor: {ours / peer:.2f}")
        assert np.allclose(np.sort(reg.sites["area_hm2"]), np.sort(peer_area), rtol=1e-9)

        t = time.perf_counter()
        write_register(reg, Path(tmp) / "out.gpkg", "gpkg")
        print(f"write_register gpkg: {time.perf_counter() - t:.2f} s")


if __name__ == "__main__":
    main()
