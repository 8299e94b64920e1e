"""Benchmark: the platform under load — ``restora serve --workers 2`` on the demo county,
SQLite and PostgreSQL, driven by wrk on loopback at 100 concurrent connections.

Issue 13's target: with PostgreSQL and 2 workers, the mine list (a page of 50) at ≥ 1 000
requests/s with p99 under 100 ms; one stored appraisal's JSON measured the same way.

For each store the script

1. makes a store holding the demo county (``examples/demo-county``): a SQLite file, or a fresh
   schema of the PostgreSQL database (dropped afterwards);
2. creates an admin account and an API token with ``restora users create|token`` (the requests
   authenticate with ``Authorization: Bearer``, as a script would);
3. appraises the demo project of QS-M09 with ``restora appraise --db`` (its appraisal.json,
   ~280 kB) and stores it as version 1 of the project through the projects repository
   (``restora.store.projects.create_project`` / ``add_appraisal``);
4. starts ``restora serve --workers 2`` and waits for ``/readyz``;
5. runs wrk (``-t2 -c100 -d<seconds>s --latency``, after a 5 s warm-up) on
   ``GET /api/v1/mines?limit=50`` and on the appraisal's JSON route (found in the OpenAPI
   document: the GET route of one appraisal version of a project), and reads requests/s, the
   50th and 99th latency percentiles and the non-2xx count;
6. times the same request in process (the ASGI app called directly, no socket or HTTP parser,
   3 000 calls after 300 warm-up ones): the app's own wall and CPU time per request.

wrk runs on the same 2-core machine as the server, its workers and PostgreSQL (and other
engineers' jobs): the figures are those of one machine doing everything.

Usage::

    apt-get install wrk
    .venv/bin/python benchmarks/service_load.py [--seconds 20] [--connections 100] \\
        [--workers 2] [--stores sqlite,postgresql] \\
        [--pg-url postgresql+psycopg://postgres@127.0.0.1:5432/test] [--results FILE]
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "examples" / "demo-county"
PROJECT = ROOT / "examples" / "demo-projects" / "QS-M09.yaml"
RESTORA = [sys.executable, "-c", "from restora.cli import main; main()"]
SECRET = "service-load-benchmark-secret"


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------- the store
def pg_schema(pg_url: str) -> tuple[str, str]:
    """A fresh schema of the PostgreSQL database: (its URL, its name)."""
    import sqlalchemy as sa
    from sqlalchemy.engine import make_url

    name = f"restora_bench_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(pg_url)
    with engine.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{name}"')
    engine.dispose()
    url = make_url(pg_url).update_query_dict({"options": f"-csearch_path={name}"})
    return url.render_as_string(hide_password=False), name


def drop_schema(pg_url: str, name: str) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(pg_url)
    with engine.begin() as conn:
        conn.exec_driver_sql(f'DROP SCHEMA "{name}" CASCADE')
    engine.dispose()


def restora(*args: str, stdin: str | None = None, env: dict[str, str] | None = None) -> str:
    r = subprocess.run(
        [*RESTORA, *args], input=stdin, capture_output=True, text=True, env=env, timeout=900
    )
    if r.returncode != 0:
        raise SystemExit(f"restora {' '.join(args)} failed:\n{r.stderr[-3000:]}")
    return r.stdout


def fill_store(url: str, work: Path) -> dict[str, Any]:
    """The demo county, an admin token and one stored appraisal; what the requests need."""
    import yaml

    from restora.appraisal.io import read_county
    from restora.store import Store
    from restora.store import projects as repo

    t0 = time.perf_counter()
    county = read_county(
        [DEMO / f for f in ("register.gpkg", "soil_samples.csv", "hazards.csv")],
        DEMO / "context.gpkg",
    )
    with Store(url) as store:
        store.add_register(county.register, source={"files": county.inputs})
    log(f"demo county imported ({time.perf_counter() - t0:.1f} s)")
    restora(
        "users", "create", "bench-admin", "--role", "admin", "--password-stdin", "--db", url,
        stdin="a long benchmark password 1\n",
    )  # fmt: skip
    out = json.loads(
        restora("users", "token", "bench-admin", "--name", "load", "--format", "json", "--db", url)
    )
    token = out["token"] if isinstance(out, dict) else out[0]["token"]
    t0 = time.perf_counter()
    folder = work / "appraisal"
    restora(
        "appraise", str(PROJECT), "--db", url, "--context", str(DEMO / "context.gpkg"),
        "--out", str(folder), "--no-pdf", "--on", "2026-12-01", "--format", "json",
    )  # fmt: skip
    document = json.loads((folder / "appraisal.json").read_text(encoding="utf-8"))
    spec = yaml.safe_load(PROJECT.read_text(encoding="utf-8"))
    with Store(url) as store:
        project = repo.create_project(store, spec)
        repo.add_appraisal(
            store,
            project["project_id"],
            inputs_sha256=hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest(),
            on_date="2026-12-01",
            document=document,
            place=lambda version: {},
        )
    log(f"appraisal stored ({time.perf_counter() - t0:.1f} s, "
        f"{len(json.dumps(document)) / 1024:.0f} kB)")  # fmt: skip
    return {"token": token, "project_id": project["project_id"], "version": 1}


# ------------------------------------------------------------------------------- the server
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(url: str, port: int, workers: int, work: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RESTORA_")}
    env |= {
        "RESTORA_SECRET_KEY": SECRET,
        "RESTORA_DATA_DIR": str(work / "data"),
        "RESTORA_LOG_LEVEL": "WARNING",  # one access line per request would cost the run
    }
    proc = subprocess.Popen(
        [*RESTORA, "serve", "--workers", str(workers), "--port", str(port), "--db", url,
         "--log-level", "warning"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(work / "serve.log").open("w"),
    )  # fmt: skip
    import httpx

    deadline = time.monotonic() + 120
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise SystemExit(
                "the server did not start:\n" + (work / "serve.log").read_text()[-3000:]
            )
        time.sleep(0.3)


def appraisal_path(base: str, token: str, project_id: str, version: int) -> str | None:
    """The GET route of one appraisal version's JSON, from the OpenAPI document (None if the
    app has no such route)."""
    import httpx

    doc = httpx.get(f"{base}/api/v1/openapi.json", timeout=10).json()
    for path, ops in doc["paths"].items():
        if "get" in ops and "/projects/{" in path and "/appraisals/{" in path:
            tail = path.rsplit("/", 1)[-1]
            if tail.startswith("{"):  # .../appraisals/{version}: the JSON itself
                out = re.sub(r"\{project_id\}", project_id, path)
                return re.sub(r"\{[a-z_]+\}$", str(version), out)
    return None


# ----------------------------------------------------------------------------- in process
def in_process(url: str, work: Path, token: str, path: str, n: int = 3000) -> dict[str, float]:
    """The app's own cost of one request: ``n`` calls of the ASGI app in this process (no
    socket, no HTTP parser, no load generator), after 300 warm-up calls; CPU and wall time per
    request [ms]."""
    import asyncio

    saved = {k: os.environ.get(k) for k in ("RESTORA_DATABASE_URL", "RESTORA_DATA_DIR",
                                            "RESTORA_SECRET_KEY", "RESTORA_LOG_LEVEL")}  # fmt: skip
    os.environ |= {
        "RESTORA_DATABASE_URL": url,
        "RESTORA_DATA_DIR": str(work / "data"),
        "RESTORA_SECRET_KEY": SECRET,
        "RESTORA_LOG_LEVEL": "WARNING",
    }
    try:
        from restora.service.app import create_app

        app = create_app()
        route, _, query = path.partition("?")
        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
            "method": "GET", "scheme": "http", "path": route, "raw_path": route.encode(),
            "root_path": "", "query_string": query.encode(),
            "headers": [(b"host", b"127.0.0.1"), (b"authorization", f"Bearer {token}".encode())],
            "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000),
        }  # fmt: skip

        async def call() -> int:
            status = 0

            async def receive() -> dict[str, Any]:
                return {"type": "http.request", "body": b"", "more_body": False}

            async def send(message: dict[str, Any]) -> None:
                nonlocal status
                if message["type"] == "http.response.start":
                    status = message["status"]

            await app(dict(scope), receive, send)
            return status

        async def run() -> tuple[float, float]:
            async with app.router.lifespan_context(app):
                for _ in range(300):
                    if await call() != 200:
                        raise SystemExit(f"in process: GET {path} did not answer 200")
                w0, c0 = time.perf_counter(), time.process_time()
                for _ in range(n):
                    await call()
                return time.perf_counter() - w0, time.process_time() - c0

        wall, cpu = asyncio.run(run())
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return {"inproc_wall_ms": wall / n * 1e3, "inproc_cpu_ms": cpu / n * 1e3}


# ----------------------------------------------------------------------------------- wrk
_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


def _ms(text: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if not m:
        raise ValueError(text)
    return float(m.group(1)) * _UNITS[m.group(2)]


def wrk(url: str, token: str, seconds: int, connections: int, threads: int = 2) -> dict[str, Any]:
    """One wrk run; requests/s, p50 and p99 latency [ms], non-2xx responses, socket errors."""
    out = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency",
         "-H", f"Authorization: Bearer {token}", url],
        capture_output=True, text=True, check=True, timeout=seconds + 120,
    ).stdout  # fmt: skip
    pct = dict(re.findall(r"^ *(50|75|90|99)%\s+(\S+)\s*$", out, re.M))
    if len(pct) != 4:
        raise SystemExit(f"cannot read wrk's output:\n{out}")
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)$", out, re.M)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
        "requests": int(re.search(r"(\d+) requests in", out).group(1)),  # type: ignore[union-attr]
        "p50_ms": _ms(pct["50"]),
        "p90_ms": _ms(pct["90"]),
        "p99_ms": _ms(pct["99"]),
        "non_2xx": int(non2xx.group(1)) if non2xx else 0,
        "socket_errors": errors.group(1).strip() if errors else "",
        "raw": out,
    }


def run_store(kind: str, args: argparse.Namespace) -> list[dict[str, Any]]:
    work = Path(tempfile.mkdtemp(prefix=f"restora-load-{kind}-"))
    schema = None
    if kind == "sqlite":
        url = f"sqlite:///{work / 'demo.db'}"
    else:
        url, schema = pg_schema(args.pg_url)
    try:
        facts = fill_store(url, work)
        port = free_port()
        proc = serve(url, port, args.workers, work)
        base = f"http://127.0.0.1:{port}"
        try:
            targets = {"mine list (page of 50)": f"{base}/api/v1/mines?limit=50"}
            one = appraisal_path(base, facts["token"], facts["project_id"], facts["version"])
            if one is None:
                log("no GET route of one appraisal in the OpenAPI document: not measured")
            else:
                targets["one appraisal's JSON"] = base + one
            import httpx

            rows = []
            for name, url_ in targets.items():
                r = httpx.get(url_, headers={"Authorization": f"Bearer {facts['token']}"})
                r.raise_for_status()
                size = len(r.content)
                wrk(url_, facts["token"], 5, args.connections)  # warm-up
                load0 = os.getloadavg()[0]
                res = wrk(url_, facts["token"], args.seconds, args.connections)
                res |= {
                    "store": kind,
                    "endpoint": name,
                    "path": url_.removeprefix(base),
                    "bytes": size,
                    "load": max(load0, os.getloadavg()[0]),
                }
                res |= in_process(url, work, facts["token"], res["path"])
                log(f"{kind} {name}: {res['rps']:.0f} req/s, p50 {res['p50_ms']:.1f} ms, "
                    f"p99 {res['p99_ms']:.1f} ms, non-2xx {res['non_2xx']}")  # fmt: skip
                rows.append(res)
            return rows
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    finally:
        if schema:
            drop_schema(args.pg_url, schema)
        shutil.rmtree(work, ignore_errors=True)


def write_results(rows: list[dict[str, Any]], args: argparse.Namespace, path: Path) -> None:
    import psutil

    when = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    mem = psutil.virtual_memory().total / 2**30
    lines = [
        "## Service under load: mine list and appraisal JSON at 100 connections "
        "(`benchmarks/service_load.py`)",
        "",
        "Issue 13's target: with PostgreSQL and 2 workers, `GET /api/v1/mines?limit=50` at "
        "≥ 1 000 requests/s with p99 under 100 ms; one stored appraisal's JSON measured the "
        "same way, on SQLite too.",
        "",
        f"- Date: {when}. Machine: {os.cpu_count()} cores (shared with other engineers' jobs), "
        f"{mem:.0f} GiB, {platform.machine()}, Python {platform.python_version()}; PostgreSQL "
        "on the same machine; wrk on the same machine (loopback).",
        f"- Server: `restora serve --workers {args.workers}` (uvicorn), the demo county (40 "
        "mines), requests with an API token (`Authorization: Bearer`, an admin account), "
        "JSON access logs off (`RESTORA_LOG_LEVEL=WARNING`).",
        f"- Load: `wrk -t2 -c{args.connections} -d{args.seconds}s --latency` after a 5 s "
        "warm-up, one endpoint at a time.",
        "",
        "| store | endpoint | path | response [kB] | requests/s | p50 [ms] | p90 [ms] | "
        "p99 [ms] | non-2xx | in process: wall / CPU per request [ms] | load avg (1 min) |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['store']} | {r['endpoint']} | `{r['path']}` | {r['bytes'] / 1024:.1f} | "
            f"**{r['rps']:,.0f}** | {r['p50_ms']:.1f} | {r['p90_ms']:.1f} | "
            f"**{r['p99_ms']:.1f}** | {r['non_2xx']} | "
            f"{r['inproc_wall_ms']:.2f} / {r['inproc_cpu_ms']:.2f} | {r['load']:.1f} |"
        )
    pg = [r for r in rows if r["store"] == "postgresql" and r["endpoint"].startswith("mine")]
    if pg:
        ok = pg[0]["rps"] >= 1000 and pg[0]["p99_ms"] < 100
        lines += [
            "",
            f"Target (PostgreSQL, mine list: ≥ 1 000 requests/s, p99 < 100 ms): "
            f"**{'met' if ok else 'missed'}** ({pg[0]['rps']:,.0f} requests/s, p99 "
            f"{pg[0]['p99_ms']:.1f} ms).",
        ]
    notes = Path(__file__).with_suffix(".notes.md")
    if notes.exists():
        lines += ["", notes.read_text(encoding="utf-8").strip()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    log(f"wrote {path}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=int, default=20)
    ap.add_argument("--connections", type=int, default=100)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--stores", default="sqlite,postgresql")
    ap.add_argument(
        "--pg-url",
        default=os.environ.get(
            "RESTORA_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
        ),
    )
    ap.add_argument("--results", type=Path, default=None)
    args = ap.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (apt-get install wrk)")
    rows: list[dict[str, Any]] = []
    for kind in args.stores.split(","):
        rows += run_store(kind.strip(), args)
    for r in rows:
        print(json.dumps({k: v for k, v in r.items() if k != "raw"}))
    if args.results:
        write_results(rows, args, args.results)


if __name__ == "__main__":
    main()
