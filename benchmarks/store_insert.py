"""Benchmark: add 100 000 synthetic square sites (and their mines) to the store, load them back.

Each measurement runs in a fresh Python process, so its peak memory is its own; the peak RSS is
sampled with psutil every 5 ms (and cross-checked with the kernel's ``ru_maxrss``).

Variants (the same register every time: ``--sites`` square sites of 100 m × 100 m spread over
south China, one mine per ``--sites-per-mine`` sites, every optional column filled):

- ``restora-sqlite``: ``Store.add_register`` into a fresh SQLite file (migrated first, not
  timed), then ``Store.load_register``. The add includes the checks against the store (ids,
  mines and sites referred to), the conversion of every cell, the WKB encoding, the audit row
  and the one transaction.
- ``pandas-to_sql-sqlite`` (the peer): ``DataFrame.to_sql`` of the same two tables (geometry as
  WKB bytes) into the same migrated schema in one transaction, without any checks; then
  ``pandas.read_sql_table`` of both tables. This is what a script would do by hand.
- ``restora-postgresql``: as the first, into a fresh schema of ``--pg-url`` (if given).

Usage::

    .venv/bin/python benchmarks/store_insert.py --sites 100000 \\
        --pg-url postgresql+psycopg://postgres@127.0.0.1:5432/test \\
        --results benchmarks/results/store_insert.md
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve()


def synthetic_register(n_sites: int, sites_per_mine: int, seed: int = 20261123) -> Any:
    """A register of ``n_sites`` square sites [100 m side] and their mines."""
    import pandas as pd
    import shapely

    from restora.inventory.model import Register
    from restora.inventory.schema import METALS, SITE_KINDS

    rng = np.random.default_rng(seed)
    n_mines = -(-n_sites // sites_per_mine)
    mine_ids = np.array([f"M{i:07d}" for i in range(n_mines)], dtype=object)
    mines = pd.DataFrame(
        {
            "mine_id": mine_ids,
            "name": [f"废弃矿山 {i}" for i in range(n_mines)],
            "region_code": rng.choice(["430726", "431381", "520102", "450100"], n_mines),
            "mineral": rng.choice(["coal", "metal", "building_stone"], n_mines),
            "status": "abandoned",
            "responsible_party": "absent",
            "closure_year": pd.array(rng.integers(1960, 2020, n_mines), dtype="Int64"),
            "landscape_value": rng.choice(["low", "medium", "high"], n_mines),
        }
    )
    lon = rng.uniform(105.0, 118.0, n_sites)
    lat = rng.uniform(22.0, 30.0, n_sites)
    side_deg = 100.0 / 111_320.0  # about 100 m of latitude
    geometry = shapely.box(lon, lat, lon + side_deg, lat + side_deg)
    sites = pd.DataFrame(
        {
            "site_id": [f"S{i:07d}" for i in range(n_sites)],
            "mine_id": mine_ids[np.arange(n_sites) // sites_per_mine],
            "kind": rng.choice(SITE_KINDS, n_sites),
            "declared_area_hm2": rng.uniform(0.5, 2.0, n_sites),
            "slope_deg": rng.uniform(0.0, 45.0, n_sites),
            "water": pd.array(rng.random(n_sites) < 0.2, dtype="boolean"),
            "water_depth_m": rng.uniform(0.0, 5.0, n_sites),
            "soil_thickness_m": rng.uniform(0.0, 1.0, n_sites),
            "area_hm2": np.full(n_sites, 1.0),
            "geometry": geometry,
        }
    )
    empty = Register.empty()
    assert set(METALS) <= set(empty.samples.columns)
    return Register(mines, sites, empty.samples, empty.hazards)


class PeakRSS:
    """Peak resident set size of this process [bytes], sampled with psutil."""

    def __init__(self, interval_s: float = 0.005) -> None:
        import psutil

        self._proc = psutil.Process()
        self.peak = self._proc.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(interval_s,), daemon=True)
        self._thread.start()

    def _run(self, interval_s: float) -> None:
        while not self._stop.wait(interval_s):
            self.peak = max(self.peak, self._proc.memory_info().rss)

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._proc.memory_info().rss)
        return self.peak


def _pg_schema(base: str) -> tuple[str, Any]:
    import sqlalchemy as sa
    from sqlalchemy.engine import make_url

    schema = f"restora_bench_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(base, poolclass=sa.NullPool)
    with admin.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')

    def drop() -> None:
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()

    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False), drop


def child(variant: str, n_sites: int, sites_per_mine: int, pg_url: str | None) -> dict[str, Any]:
    """One measurement, in this (fresh) process."""
    import pandas as pd
    import shapely

    from restora.store import Store

    register = synthetic_register(n_sites, sites_per_mine)
    workdir = Path(tempfile.mkdtemp(prefix="restora-bench-"))
    cleanup = None
    if variant == "restora-postgresql":
        assert pg_url, "--pg-url is required for restora-postgresql"
        url, cleanup = _pg_schema(pg_url)
    else:
        url = f"sqlite:///{workdir / 'restora.db'}"
    store = Store(url)  # migrate (not timed)
    out: dict[str, Any] = {"variant": variant, "mines": len(register.mines), "sites": n_sites}
    meter = PeakRSS()
    out["rss_before_mib"] = meter.peak / 2**20  # the register built, the store open
    try:
        if variant.startswith("restora"):
            t0, c0 = time.perf_counter(), time.process_time()
            counts = store.add_register(register, source={"benchmark": "store_insert"})
            out["add_s"], out["add_cpu_s"] = time.perf_counter() - t0, time.process_time() - c0
            assert counts["sites"] == n_sites
            t0, c0 = time.perf_counter(), time.process_time()
            loaded = store.load_register()
            out["load_s"], out["load_cpu_s"] = time.perf_counter() - t0, time.process_time() - c0
            assert len(loaded.sites) == n_sites
            assert loaded.sites["geometry"].iloc[0].equals(register.sites["geometry"].iloc[0])
        else:
            mines = register.mines
            sites = register.sites.assign(
                geometry=list(shapely.to_wkb(register.sites["geometry"].to_numpy(), byte_order=1))
            )
            t0, c0 = time.perf_counter(), time.process_time()
            with store.engine.begin() as conn:
                mines.to_sql("mines", conn, if_exists="append", index=False)
                sites.to_sql("sites", conn, if_exists="append", index=False)
            out["add_s"], out["add_cpu_s"] = time.perf_counter() - t0, time.process_time() - c0
            t0, c0 = time.perf_counter(), time.process_time()
            with store.engine.connect() as conn:
                back = pd.read_sql_table("sites", conn)
                pd.read_sql_table("mines", conn)
            out["load_s"], out["load_cpu_s"] = time.perf_counter() - t0, time.process_time() - c0
            assert len(back) == n_sites
        out["peak_rss_mib"] = meter.stop() / 2**20
        out["ru_maxrss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        if url.startswith("sqlite"):
            out["file_mib"] = (workdir / "restora.db").stat().st_size / 2**20
    finally:
        meter.stop()
        store.close()
        if cleanup is not None:
            cleanup()
        for p in workdir.iterdir():
            p.unlink()
        workdir.rmdir()
    return out


def run(variant: str, args: argparse.Namespace) -> dict[str, Any]:
    cmd = [sys.executable, str(HERE), "--child", variant, "--sites", str(args.sites)]
    cmd += ["--sites-per-mine", str(args.sites_per_mine)]
    if args.pg_url:
        cmd += ["--pg-url", args.pg_url]
    done = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def markdown(results: list[dict[str, Any]], args: argparse.Namespace) -> str:
    by = {r["variant"]: r for r in results}
    rows = [
        "| variant | mines | sites | add [s] | add, CPU [s] | load [s] | load, CPU [s] "
        "| RSS before [MiB] | peak RSS [MiB] | SQLite file [MiB] |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        rows.append(
            f"| {r['variant']} | {r['mines']:,} | {r['sites']:,} | {r['add_s']:.2f} | "
            f"{r['add_cpu_s']:.2f} | {r['load_s']:.2f} | {r['load_cpu_s']:.2f} | "
            f"{r['rss_before_mib']:.0f} | {r['peak_rss_mib']:.0f} | "
            + (f"{r['file_mib']:.1f} |" if "file_mib" in r else "– |")
        )
    ours, peer = by.get("restora-sqlite"), by.get("pandas-to_sql-sqlite")
    ratio = ""
    if ours and peer:
        ratio = (
            f"\nRatio restora / pandas `to_sql` on SQLite (wall; CPU): add "
            f"{ours['add_s'] / peer['add_s']:.2f}×; {ours['add_cpu_s'] / peer['add_cpu_s']:.2f}×, "
            f"load {ours['load_s'] / peer['load_s']:.2f}×; "
            f"{ours['load_cpu_s'] / peer['load_cpu_s']:.2f}×, "
            f"peak RSS {ours['peak_rss_mib'] / peer['peak_rss_mib']:.2f}×.\n"
        )
    return (
        "## Store: add_register of 100 000 sites\n\n"
        f"Machine: {os.cpu_count()} cores (shared with other jobs, so timings are noisy), "
        f"24 GiB; Python {platform.python_version()}; run {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC; "
        f"load average at the end {os.getloadavg()[0]:.1f} (other engineers' jobs). "
        "CPU = process time of the timed call, a steadier figure than wall time on a busy machine.\n"
        f"Command: `.venv/bin/python benchmarks/store_insert.py --sites {args.sites} "
        f"--sites-per-mine {args.sites_per_mine}"
        + (" --pg-url <url>" if args.pg_url else "")
        + "` (median of "
        f"{args.repeats} fresh-process runs each; RSS before = the process with the synthetic "
        "register built and the store open; peak RSS = psutil sampling of that process during "
        "add and load).\n\n"
        + "\n".join(rows)
        + "\n"
        + ratio
        + "\nrestora's add includes what the peer does not do: converting and checking every "
        "cell, the id and reference checks against the store, the audit row; the peer writes the "
        "same rows into the same schema in one transaction with pandas' executemany.\n"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, default=100_000)
    parser.add_argument("--sites-per-mine", type=int, default=1)
    parser.add_argument("--pg-url", default=None, help="also measure PostgreSQL (fresh schema)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--results", type=Path, default=None, help="write a Markdown section")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.sites, args.sites_per_mine, args.pg_url)))
        return
    variants = ["restora-sqlite", "pandas-to_sql-sqlite"]
    if args.pg_url:
        variants.append("restora-postgresql")
    results = []
    for variant in variants:
        runs = [run(variant, args) for _ in range(args.repeats)]
        for r in runs:
            print(json.dumps(r), flush=True)
        median = {
            k: (float(np.median([r[k] for r in runs])) if isinstance(v, float) else v)
            for k, v in runs[0].items()
        }
        results.append(median)
    text = markdown(results, args)
    print(text)
    if args.results:
        args.results.parent.mkdir(parents=True, exist_ok=True)
        args.results.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
