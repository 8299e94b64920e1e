"""Benchmark: import 100 000 sites from a GeoPackage into a new SQLite store (issue 2).

Target: under 60 s and under 2 GiB peak memory on a 2-core machine.

Usage::

    .venv/bin/python benchmarks/import_gpkg.py [--sites 100000] [--keep]

It writes a synthetic register (irregular polygons in EPSG:4547, ~2.5 sites per mine, Chinese
mine names) to benchmarks/.data/, then runs ``restora mines import`` in a fresh process against a
new SQLite file and reports wall time and the child's peak resident memory (from
``os.wait4``), the rows found in the store afterwards, and the same for a peer that does
no validation: geopandas read + reprojection + area + pandas ``to_sql`` into SQLite.
"""

from __future__ import annotations

import argparse
import os
import platform
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

HERE = Path(__file__).resolve().parent
DATA = HERE / ".data"
KINDS = np.array(
    ["open_pit", "waste_rock_dump", "tailings_pond", "subsidence_area", "industrial_yard", "road"]
)
MINERALS = np.array(["coal", "metal", "non_metal", "building_stone", "oil_gas"])


def make_register(n_sites: int, seed: int = 7) -> pd.DataFrame:
    """Synthetic sites: irregular 12-gons of 0.5–60 hm² spread over a province-sized area."""
    import geopandas as gpd

    rng = np.random.default_rng(seed)
    n_mines = max(1, n_sites * 2 // 5)
    mine_of_site = np.sort(rng.integers(0, n_mines, n_sites))
    mine_of_site[:n_mines] = np.arange(n_mines)  # every mine has a site
    mine_of_site.sort()
    # mine centres on a jittered grid over ~600 km × 600 km around CM 114E (x=500 km)
    cx = 200_000 + rng.uniform(0, 600_000, n_mines)
    cy = 2_800_000 + rng.uniform(0, 600_000, n_mines)
    area_m2 = rng.uniform(5_000, 600_000, n_sites)
    r = np.sqrt(area_m2 / np.pi)
    k = 12
    theta = np.linspace(0, 2 * np.pi, k, endpoint=False)
    radii = r[:, None] * rng.uniform(0.8, 1.2, (n_sites, k))
    sx = cx[mine_of_site] + rng.uniform(-3000, 3000, n_sites)
    sy = cy[mine_of_site] + rng.uniform(-3000, 3000, n_sites)
    xs = sx[:, None] + radii * np.cos(theta)
    ys = sy[:, None] + radii * np.sin(theta)
    coords = np.stack([xs, ys], axis=-1)
    coords = np.concatenate([coords, coords[:, :1, :]], axis=1)  # close rings
    rings = shapely.linearrings(coords)
    polys = shapely.polygons(rings)
    mine_ids = np.char.add("M", np.char.zfill(mine_of_site.astype(str), 6))
    df = gpd.GeoDataFrame(
        {
            "mine_id": mine_ids,
            "name": np.char.add("合成矿山", mine_of_site.astype(str)),
            "region_code": "430500",
            "mineral": MINERALS[mine_of_site % len(MINERALS)],
            "status": "abandoned",
            "responsible_party": "absent",
            "site_id": np.char.add("S", np.char.zfill(np.arange(n_sites).astype(str), 7)),
            "kind": KINDS[rng.integers(0, len(KINDS), n_sites)],
            "slope_deg": np.round(rng.uniform(0, 60, n_sites), 1),
            "water": rng.random(n_sites) < 0.1,
        },
        geometry=polys,
        crs="EPSG:4547",
    )
    return df


PEER = """
import sys, sqlite3, geopandas as gpd, shapely
gdf = gpd.read_file(sys.argv[1], engine="pyogrio").to_crs("EPSG:4326")
area = gdf.geometry.to_crs("+proj=aea +lat_0=0 +lon_0=105 +lat_1=25 +lat_2=47 +ellps=GRS80").area / 1e4
df = gdf.drop(columns="geometry").assign(area_hm2=area, geometry=shapely.to_wkb(gdf.geometry.values))
with sqlite3.connect(sys.argv[2]) as con:
    df.to_sql("sites", con, index=False)
"""


def run_child(
    cmd: list[str], env: dict[str, str]
) -> tuple[float, float, subprocess.CompletedProcess]:
    """Wall time [s] and peak RSS [MiB] of a child process (wait4 rusage of that child alone)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    out = proc.stdout.read() if proc.stdout else ""
    err = proc.stderr.read() if proc.stderr else ""
    done = subprocess.CompletedProcess(cmd, os.waitstatus_to_exitcode(status), out, err)
    return wall, usage.ru_maxrss / 1024, done


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sites", type=int, default=100_000)
    ap.add_argument("--keep", action="store_true", help="keep the generated files")
    args = ap.parse_args()
    DATA.mkdir(parents=True, exist_ok=True)
    gpkg = DATA / f"sites_{args.sites}.gpkg"
    if not gpkg.exists():
        t0 = time.perf_counter()
        make_register(args.sites).to_file(gpkg, layer="sites", driver="GPKG", engine="pyogrio")
        print(f"generated {gpkg.name} in {time.perf_counter() - t0:.1f} s")
    db = DATA / "bench_import.db"
    db.unlink(missing_ok=True)
    restora = Path(sys.executable).with_name("restora")
    env = {**os.environ, "RESTORA_DATABASE_URL": f"sqlite:///{db}"}
    wall, peak_mib, proc = run_child([str(restora), "mines", "import", str(gpkg)], env)
    if proc.returncode != 0:
        print(proc.stdout, proc.stderr)
        raise SystemExit(f"import failed with exit code {proc.returncode}")
    with sqlite3.connect(db) as con:
        n_sites = con.execute("select count(*) from sites").fetchone()[0]
        n_mines = con.execute("select count(*) from mines").fetchone()[0]
    peer_db = DATA / "bench_peer.db"
    peer_db.unlink(missing_ok=True)
    peer_wall, peer_mib, peer = run_child(
        [sys.executable, "-c", PEER, str(gpkg), str(peer_db)], dict(os.environ)
    )
    if peer.returncode != 0:
        raise SystemExit(f"peer failed: {peer.stderr}")
    peer_db.unlink(missing_ok=True)
    load = os.getloadavg()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print(f"load average before/after: {load[0]:.1f} (1 min), {load[1]:.1f} (5 min)")
    print(
        f"restora: imported {n_sites} sites of {n_mines} mines in {wall:.1f} s; peak RSS {peak_mib:.0f} MiB"
    )
    print(
        f"peer (geopandas read + reproject + area + pandas to_sql, no validation): {peer_wall:.1f} s; peak RSS {peer_mib:.0f} MiB"
    )
    print(f"ratio restora / peer: {wall / peer_wall:.2f}")
    print(
        f"target: < 60 s and < 2048 MiB -> {'met' if wall < 60 and peak_mib < 2048 else 'NOT met'}"
    )
    if not args.keep:
        db.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
