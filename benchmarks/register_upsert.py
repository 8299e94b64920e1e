"""Benchmark: ``restora mines import --mode upsert`` of 100 000 sites over a 100 000-site register.

Issue 12's target: under 60 s on SQLite (2-core machine); also run on PostgreSQL.

The script writes two GeoPackages of the same synthetic register (irregular 12-gon sites in
EPSG:4547, ~2.5 sites per mine, Chinese mine names, as ``benchmarks/import_gpkg.py``): the
register as it is, and the register a county sends back a year later, in which half of the sites
(every even one) changed — slope for all of them, site kind for one in four of those, the
polygon (moved 10 m east, so its area is recomputed too) for one in ten. It imports the first
into a fresh store (not timed), then measures:

- whole process: ``restora mines import edited.gpkg --mode upsert --format json`` in a fresh
  process — wall time and that process's own peak RSS (``os.wait4``), and the changes found
  in its JSON (50 000 updated sites are asserted);
- in process: the same steps called from Python in a fresh process — the store's ids, reading
  the file (``read_register``), the plan (a dry run: every comparison, nothing written), and
  the upsert itself (the plan again, then the bulk update and the audit rows) — with
  ``psutil`` sampling the process's RSS every 5 ms;
- the peer floor: geopandas reads and reprojects the same file, computes the areas, and the
  database's own upsert (``INSERT ... ON CONFLICT (site_id) DO UPDATE``) rewrites all 100 000
  rows — no checks, no diff, no audit trail.

Usage::

    .venv/bin/python benchmarks/register_upsert.py [--sites 100000] \\
        [--pg-url postgresql+psycopg://postgres@127.0.0.1:5432/test] [--results FILE]
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
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve()
sys.path.insert(0, str(HERE.parent))

from import_gpkg import make_register  # noqa: E402  (the same synthetic register)


def edited_register(frame: Any) -> Any:
    """The register a year later: every even site changed (slope; kind, polygon for some)."""
    import shapely

    out = frame.copy()
    n = len(out)
    i = np.arange(n)
    even = i % 2 == 0
    out.loc[even, "slope_deg"] = np.round(out.loc[even, "slope_deg"] + 1.5, 1)
    kinds = out["kind"].to_numpy(dtype=object)
    recoded = (i % 8 == 0) & (kinds != "road")
    kinds[recoded] = "road"
    out["kind"] = kinds
    moved = i % 20 == 0
    geoms = out.geometry.to_numpy()
    geoms[moved] = shapely.transform(geoms[moved], lambda xy: xy + np.array([10.0, 0.0]))
    out = out.set_geometry(geoms)
    return out, int(even.sum())


def write_files(n_sites: int, folder: Path) -> tuple[Path, Path, int]:
    """The two GeoPackages (cached in ``folder``) and the number of sites changed."""
    folder.mkdir(parents=True, exist_ok=True)
    first = folder / f"upsert_{n_sites}_first.gpkg"
    edited = folder / f"upsert_{n_sites}_edited.gpkg"
    frame = make_register(n_sites)
    changed_frame, changed = edited_register(frame)
    if not first.exists():
        frame.to_file(first, layer="sites", driver="GPKG", engine="pyogrio")
    if not edited.exists():
        changed_frame.to_file(edited, layer="sites", driver="GPKG", engine="pyogrio")
    return first, edited, changed


class PeakRSS:
    """Peak resident set size of this process [bytes], sampled with psutil every 5 ms."""

    def __init__(self) -> None:
        import psutil

        self._proc = psutil.Process()
        self.peak = self._proc.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, self._proc.memory_info().rss)

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return max(self.peak, self._proc.memory_info().rss)


def run_child(cmd: list[str], env: dict[str, str]) -> tuple[float, float, str, str, int]:
    """Wall time [s], peak RSS [MiB] (wait4: that child alone), stdout, stderr, exit code."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        out.seek(0)
        err.seek(0)
        return (
            wall,
            usage.ru_maxrss / 1024,
            out.read(),
            err.read(),
            os.waitstatus_to_exitcode(status),
        )


def fresh_store(kind: str, pg_url: str | None, folder: Path) -> tuple[str, Any]:
    """URL of an empty store and a function that removes it."""
    if kind == "sqlite":
        db = folder / f"upsert_{uuid.uuid4().hex[:8]}.db"
        return f"sqlite:///{db}", lambda: db.unlink(missing_ok=True)
    import sqlalchemy as sa
    from sqlalchemy.engine import make_url

    assert pg_url, "--pg-url is required for PostgreSQL"
    schema = f"restora_bench_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(pg_url, poolclass=sa.NullPool)
    with admin.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')

    def drop() -> None:
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()

    url = make_url(pg_url).update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False), drop


def restora(*args: str, env: dict[str, str]) -> tuple[float, float, str, str, int]:
    exe = Path(sys.executable).with_name("restora")
    return run_child([str(exe), *args], env)


def in_process(url: str, edited: Path) -> dict[str, Any]:
    """The upsert's steps timed from Python, in this (fresh) process."""
    from restora.inventory.io import read_register
    from restora.store import Store
    from restora.store.audit import Change

    meter = PeakRSS()
    out: dict[str, Any] = {"rss_start_mib": meter.peak / 2**20}
    t0 = time.perf_counter()
    store = Store(url)
    mines, sites = store.mine_ids(), store.site_owners()
    out["ids_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    register, report = read_register([edited], store_mines=mines, store_sites=sites)
    out["read_s"] = time.perf_counter() - t0
    out["rss_after_read_mib"] = meter.peak / 2**20
    change = Change("benchmark", files=[{"path": f.path, "sha256": f.sha256} for f in report.files])
    t0 = time.perf_counter()
    dry = store.import_register(
        register, mode="upsert", origins=report.origins, change=change, dry_run=True
    )
    out["plan_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    plan = store.import_register(
        register, mode="upsert", origins=report.origins, change=change, source={}
    )
    out["upsert_s"] = time.perf_counter() - t0
    out["peak_rss_mib"] = meter.stop() / 2**20
    out["updated"] = len(plan.updated)
    out["changed_fields"] = sum(len(u["changes"]) for u in plan.updated)
    assert len(dry.updated) == len(plan.updated)
    store.close()
    return out


PEER = """
import sys, time, geopandas as gpd, shapely, sqlalchemy as sa
t0 = time.perf_counter()
gdf = gpd.read_file(sys.argv[1], engine="pyogrio").to_crs("EPSG:4326")
area = gdf.geometry.to_crs("+proj=aea +lat_0=0 +lon_0=105 +lat_1=25 +lat_2=47 +ellps=GRS80").area / 1e4
rows = list(zip(gdf["site_id"], gdf["mine_id"], gdf["kind"], gdf["slope_deg"].astype(float),
                gdf["water"].astype(bool), area.astype(float),
                shapely.to_wkb(gdf.geometry.values, byte_order=1)))
engine = sa.create_engine(sys.argv[2])
sql = ("INSERT INTO sites (site_id, mine_id, kind, slope_deg, water, area_hm2, geometry) "
       "VALUES ({p}) ON CONFLICT (site_id) DO UPDATE SET mine_id = excluded.mine_id, "
       "kind = excluded.kind, slope_deg = excluded.slope_deg, water = excluded.water, "
       "area_hm2 = excluded.area_hm2, geometry = excluded.geometry")
with engine.begin() as conn:
    p = ", ".join(["?"] * 7) if engine.dialect.name == "sqlite" else ", ".join(["%s"] * 7)
    conn.exec_driver_sql(sql.format(p=p), rows)
print(time.perf_counter() - t0)
"""


def measure(kind: str, args: argparse.Namespace, first: Path, edited: Path) -> dict[str, Any]:
    folder = args.data
    result: dict[str, Any] = {"store": kind}
    for what in ("cli", "in_process", "peer"):
        url, drop = fresh_store(kind, args.pg_url, folder)
        env = {**os.environ, "RESTORA_DATABASE_URL": url}
        try:
            wall, rss, _, err, code = restora(
                "mines", "import", str(first), "--format", "json", env=env
            )
            if code != 0:
                raise SystemExit(f"initial import failed: {err}")
            result["initial_import_s"] = wall
            if what == "cli":
                wall, rss, out, err, code = restora(
                    "mines", "import", str(edited), "--mode", "upsert", "--format", "json", env=env
                )
                if code != 0:
                    raise SystemExit(f"upsert failed: {err}")
                found = json.loads(out)
                result.update(
                    cli_s=wall,
                    cli_rss_mib=rss,
                    updated=len(found["updated"]),
                    unchanged=found["unchanged"],
                    changed_fields=sum(len(u["changes"]) for u in found["updated"]),
                )
            elif what == "in_process":
                cmd = [sys.executable, str(HERE), "--child", url, str(edited)]
                wall, rss, out, err, code = run_child(cmd, dict(os.environ))
                if code != 0:
                    raise SystemExit(f"in-process run failed: {err}")
                result["steps"] = json.loads(out.strip().splitlines()[-1])
                result["steps"]["process_rss_mib"] = rss
            else:
                wall, rss, out, err, code = run_child(
                    [sys.executable, "-c", PEER, str(edited), url], dict(os.environ)
                )
                if code != 0:
                    raise SystemExit(f"peer failed: {err}")
                result.update(peer_s=wall, peer_rss_mib=rss)
        finally:
            drop()
    result["load_average"] = os.getloadavg()
    return result


def markdown(results: list[dict[str, Any]], args: argparse.Namespace, changed: int) -> str:
    rows = [
        "| store | whole process: `mines import --mode upsert` [s] | its peak RSS [MiB] | "
        "in process: ids [s] | read file [s] | plan (dry run) [s] | upsert [s] | "
        "peak RSS, sampled [MiB] | peer floor [s] | peer RSS [MiB] | ratio | load avg (1 min) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        s = r["steps"]
        rows.append(
            f"| {r['store']} | **{r['cli_s']:.1f}** | {r['cli_rss_mib']:.0f} | {s['ids_s']:.1f} | "
            f"{s['read_s']:.1f} | {s['plan_s']:.1f} | {s['upsert_s']:.1f} | "
            f"{s['peak_rss_mib']:.0f} | {r['peer_s']:.1f} | {r['peer_rss_mib']:.0f} | "
            f"{r['cli_s'] / r['peer_s']:.1f} | {r['load_average'][0]:.1f} |"
        )
    sqlite = next((r for r in results if r["store"] == "sqlite"), None)
    verdict = ""
    if sqlite:
        met = "met" if sqlite["cli_s"] < 60 else "NOT met"
        verdict = f"Target (under 60 s on SQLite): **{met}** ({sqlite['cli_s']:.1f} s).\n\n"
    first = results[0]
    return (
        f"## Register upsert: 100 000 sites over a 100 000-site register "
        f"(`benchmarks/register_upsert.py`)\n\n"
        "Issue 12's target: `restora mines import --mode upsert` of 100 000 sites over an "
        "existing 100 000-site register with half of them changed, under 60 s on SQLite.\n\n"
        f"- Date: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC. Machine: {os.cpu_count()} cores "
        f"(shared with other engineers' jobs), 24 GiB, {platform.machine()}, Python "
        f"{platform.python_version()}; PostgreSQL 15 on the same machine.\n"
        f"- Input: {args.sites:,} irregular 12-gon sites of {int(args.sites * 2 // 5):,} mines "
        "in EPSG:4547 (the register of `benchmarks/import_gpkg.py`), imported first (not "
        f"timed: {first['initial_import_s']:.1f} s); then the same register with every even "
        f"site changed ({changed:,} sites): slope for all of them, site kind for one in four of "
        "those, the polygon moved 10 m (and so its area) for one in ten.\n"
        f"- Found: {first['updated']:,} sites updated ({first['changed_fields']:,} changed "
        f"fields, each with old and new value in the JSON and the audit trail), "
        f"{first['unchanged']:,} records unchanged (the other sites and every mine).\n"
        "- Command: `.venv/bin/python benchmarks/register_upsert.py --sites "
        f"{args.sites}" + (" --pg-url <url>" if args.pg_url else "") + "`. Whole process: a "
        "fresh `restora` process (JSON to a file), wall time and its own peak RSS (`os.wait4`). "
        "In process: the same steps timed from Python in a fresh process, RSS sampled every "
        "5 ms; the upsert column includes its own plan (the dry run is measured apart to show "
        "the split). Peer floor: geopandas read + reprojection + area and the database's "
        "`INSERT … ON CONFLICT DO UPDATE` of all rows, no checks, no diff, no audit.\n\n"
        + "\n".join(rows)
        + "\n\n"
        + verdict
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, default=100_000)
    parser.add_argument("--pg-url", default=None, help="also measure PostgreSQL (fresh schema)")
    parser.add_argument("--data", type=Path, default=HERE.parent / ".data")
    parser.add_argument("--results", type=Path, default=None, help="write a Markdown section")
    parser.add_argument("--child", nargs=2, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(in_process(args.child[0], Path(args.child[1]))))
        return
    t0 = time.perf_counter()
    first, edited, changed = write_files(args.sites, args.data)
    print(f"files ready in {time.perf_counter() - t0:.1f} s: {first.name}, {edited.name}")
    results = []
    for kind in ["sqlite"] + (["postgresql"] if args.pg_url else []):
        r = measure(kind, args, first, edited)
        print(json.dumps(r), flush=True)
        assert r["updated"] == changed, (r["updated"], changed)
        results.append(r)
    text = markdown(results, args, changed)
    print(text)
    if args.results:
        args.results.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
