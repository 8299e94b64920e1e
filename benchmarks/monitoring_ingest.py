"""Benchmark of the MQTT ingestion (issue 16): 10 000 sensors at one message a minute, the peak
rate the ingester holds, and the latency from publish to stored reading and to stored alert.

What runs, per store (SQLite file; PostgreSQL schema):

1. A fresh store with ``--mines`` mines and ``--sensors`` sensors (``sw_nh3n``, surface-water
   ammonia nitrogen: the catalogue's warning 1.0 mg/L, alarm 2.0 mg/L), registered as the
   ingestion registers a new sensor (a warm-up reading each, an hour before the run).
2. The ingester as a separate process, as deployed: ``restora monitor ingest --db URL --broker
   URL --client-id ...`` (QoS 1, persistent session, acknowledgement after commit).
3. Publisher processes (``--publishers``) send QoS 1 messages ``{"ts": <publish time>,
   "value": ...}`` on ``restora/<mine>/-/<sensor>/sw_nh3n``, paced to the target rate, each
   publisher going round its sensors in turn (across phases); a message carries 2.5 mg/L
   (above the alarm level) with probability 1/``--alert-every``, else 0.3-0.8 mg/L: an alarm
   value raises an alert unless the sensor's alert is still open (its next normal value
   resolves it).
4. Phases: (a) *sustained*: every sensor once a minute (``sensors / 60`` messages/s) for
   ``--sustain`` seconds; (b) *peak*: steps at ``--peak-rates`` for ``--peak-seconds`` each.
   After each phase the script waits until every message published is stored, then reads the
   stored rows: publish → stored latency is ``stored_at - measured_at`` (the payload's ``ts``
   is the publish time; one clock: same machine), publish → alert latency ``raised_at -
   measured_at`` of each alert raised, arrival → alert ``raised_at - received_at``.
   A rate is *held* when the phase's p99 publish → stored latency is under 1 s and the backlog
   drained within 1 s of the last publish.

By default the script starts its own Mosquitto (``mosquitto`` on PATH) on ``--port`` with the
settings docs/monitoring.md asks of a production broker (``max_queued_messages 0`` and
``max_inflight_messages 1000``); ``--broker mqtt://host:port`` uses a running broker instead.

    .venv/bin/python benchmarks/monitoring_ingest.py                      # both stores
    .venv/bin/python benchmarks/monitoring_ingest.py --stores sqlite --sustain 60 \\
        --peak-rates 500,1000 --results benchmarks/results/monitoring_ingest.md
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
INDICATOR = "sw_nh3n"
ALARM_VALUE = 2.5  # mg/L, above the catalogue's alarm level (2.0)


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- publisher role
def role_publisher(args: argparse.Namespace) -> None:
    """Publish this process's share of the sensors at ``rate`` messages/s for ``seconds``."""
    import paho.mqtt.client as mqtt

    spec = json.loads(sys.stdin.readline())
    host, port = spec["host"], spec["port"]
    topics = spec["topics"]
    rate, seconds, start_at = spec["rate"], spec["seconds"], spec["start_at"]
    alert_every = spec["alert_every"]
    rng = np.random.default_rng(spec["seed"])
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=spec["client_id"])
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)
    client.connect(host, port)
    client.loop_start()
    n = round(rate * seconds)
    interval = 1.0 / rate if rate > 0 else 0.0
    time.sleep(max(0.0, start_at - time.time()))
    t0 = time.time()
    infos = []
    alerts = 0
    for i in range(n):
        due = t0 + i * interval
        lag = due - time.time()
        if lag > 0:
            time.sleep(lag)
        topic = topics[(spec["offset"] + i) % len(topics)]
        if alert_every and rng.random() < 1.0 / alert_every:
            value = ALARM_VALUE
            alerts += 1
        else:
            value = round(float(rng.uniform(0.3, 0.8)), 3)
        payload = json.dumps({"ts": round(time.time(), 6), "value": value})
        infos.append(client.publish(topic, payload, qos=1))
    t_last = time.time()
    for info in infos:
        info.wait_for_publish(timeout=300)
    acked = sum(1 for info in infos if info.is_published())
    client.disconnect()
    client.loop_stop()
    print(
        json.dumps(
            {"published": n, "acked": acked, "alerts": alerts, "t0": t0, "t_last": t_last,
             "t_acked": time.time()}
        ),
        flush=True,
    )  # fmt: skip


# --------------------------------------------------------------------------- the run
class Broker:
    """A Mosquitto of our own, configured as docs/monitoring.md asks (or a given one)."""

    def __init__(self, url: str | None, port: int, workdir: Path) -> None:
        self.proc: subprocess.Popen[bytes] | None = None
        if url:
            from restora.service.mqtt_ingest import broker_address

            self.host, self.port = broker_address(url)
            self.config = f"the broker at {url} (its own settings)"
            return
        exe = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        conf = workdir / "mosquitto.conf"
        conf.write_text(
            f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
            "max_queued_messages 0\nmax_inflight_messages 1000\n",
            encoding="utf-8",
        )
        self.proc = subprocess.Popen([exe, "-c", str(conf)], stderr=subprocess.DEVNULL)
        self.host, self.port = "127.0.0.1", port
        self.config = (
            f"Mosquitto {mosquitto_version(exe)} started by the script: max_queued_messages 0 "
            "(unlimited), max_inflight_messages 1000, persistence false"
        )
        time.sleep(0.5)

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


def mosquitto_version(exe: str) -> str:
    try:
        out = subprocess.run([exe, "-h"], capture_output=True, text=True, timeout=5)
        first = (out.stdout or out.stderr).splitlines()[0]
        return first.split("version")[-1].strip()
    except (OSError, IndexError, subprocess.TimeoutExpired):
        return "?"


def fresh_store(kind: str, pg_url: str, workdir: Path) -> tuple[str, Any]:
    """A new empty store URL (and a clean-up callable)."""
    import sqlalchemy as sa

    if kind == "sqlite":
        path = workdir / f"bench-{uuid.uuid4().hex[:8]}.db"
        return f"sqlite:///{path}", lambda: path.unlink(missing_ok=True)
    schema = f"bench_mon_{uuid.uuid4().hex[:8]}"
    engine = sa.create_engine(pg_url, poolclass=sa.NullPool)
    with engine.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    sep = "&" if "?" in pg_url else "?"
    url = f"{pg_url}{sep}options=-csearch_path%3D{schema}"

    def drop() -> None:
        with engine.begin() as conn:
            conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        engine.dispose()

    return url, drop


def populate(url: str, mines: int, sensors: int) -> list[str]:
    """Mines, and the sensors registered as the ingestion does on a sensor's first message
    (one warm-up reading each, an hour before the run, through
    :func:`restora.store.monitoring.ingest` in one transaction); returns one topic per sensor."""
    from restora.monitoring.payload import make_reading
    from restora.store import Store
    from restora.store import monitoring as M

    per_mine = -(-sensors // mines)
    topics, readings = [], []
    warm = time.time() - 3600
    for s in range(sensors):
        mine, code = f"BM{s // per_mine:04d}", f"S{s:05d}"
        topics.append(f"restora/{mine}/-/{code}/{INDICATOR}")
        readings.append(
            make_reading(mine_id=mine, site_id=None, sensor_code=code, indicator=INDICATOR,
                         ts=warm, value=0.5)
        )  # fmt: skip
    with Store(url) as store:
        with store.engine.begin() as conn:
            conn.execute(
                M.MINES.insert(),
                [
                    {"mine_id": f"BM{m:04d}", "name": f"基准矿山{m:04d}", "region_code": "430000",
                     "mineral": "coal", "status": "abandoned"}
                    for m in range(mines)
                ],
            )  # fmt: skip
        out = M.ingest(store, readings, source="mqtt")
        assert out.stored == sensors, out
    return topics


def start_ingester(url: str, broker: str, client_id: str, workdir: Path) -> subprocess.Popen:
    err = open(workdir / f"{client_id}.log", "w", encoding="utf-8")  # noqa: SIM115
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "restora"), "monitor", "ingest", "--db", url, "--broker", broker,
         "--client-id", client_id],
        stdout=subprocess.DEVNULL, stderr=err, cwd=ROOT,
    )  # fmt: skip
    deadline = time.time() + 60
    logfile = workdir / f"{client_id}.log"
    while "subscribed" not in logfile.read_text(encoding="utf-8"):
        if proc.poll() is not None or time.time() > deadline:
            raise SystemExit(f"the ingester did not start:\n{logfile.read_text()}")
        time.sleep(0.1)
    return proc


def stored_count(url: str, since: dt.datetime) -> int:
    import sqlalchemy as sa

    from restora.store import monitoring as M

    engine = sa.create_engine(url, poolclass=sa.NullPool)
    try:
        with engine.connect() as conn:
            q = sa.select(sa.func.count()).where(M.READINGS.c.measured_at >= since)
            return int(conn.execute(q).scalar_one())
    finally:
        engine.dispose()


def phase_rows(url: str, since: dt.datetime) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Publish → stored latencies [s] of the phase's readings, publish → alert and arrival →
    alert latencies [s] of its alerts, and the last stored time (epoch s)."""
    import sqlalchemy as sa

    from restora.store import monitoring as M
    from restora.store.monitoring_tables import monitoring_alerts as ALERTS

    def secs(t: dt.datetime) -> float:
        return (t if t.tzinfo else t.replace(tzinfo=dt.UTC)).timestamp()

    engine = sa.create_engine(url, poolclass=sa.NullPool)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.select(M.READINGS.c.measured_at, M.READINGS.c.stored_at).where(
                    M.READINGS.c.measured_at >= since
                )
            ).all()
            alerts = conn.execute(
                sa.select(ALERTS.c.measured_at, ALERTS.c.received_at, ALERTS.c.raised_at).where(
                    ALERTS.c.measured_at >= since, ALERTS.c.kind == "threshold"
                )
            ).all()
    finally:
        engine.dispose()
    stored = np.array([secs(s) - secs(m) for m, s in rows])
    last = max((secs(s) for _, s in rows), default=float("nan"))
    to_alert = np.array([secs(r) - secs(m) for m, _, r in alerts])
    arrival = np.array([secs(r) - secs(a) for _, a, r in alerts])
    return (
        stored,
        to_alert,
        np.stack([to_alert, arrival]) if len(alerts) else np.zeros((2, 0)),
        last,
    )


def cpu_of(pid: int) -> float:
    import psutil

    try:
        t = psutil.Process(pid).cpu_times()
        return t.user + t.system
    except psutil.NoSuchProcess:
        return float("nan")


def pg_server_cpu() -> float:
    import psutil

    for p in psutil.process_iter(["cmdline"]):
        cmd = p.info["cmdline"] or []
        if cmd and cmd[0].endswith("/postgres") and "-D" in cmd:
            t = p.cpu_times()
            total = t.user + t.system + t.children_user + t.children_system
            for c in p.children():
                try:
                    ct = c.cpu_times()
                except psutil.NoSuchProcess:
                    continue
                total += ct.user + ct.system
            return total
    return float("nan")


def run_phase(
    args: argparse.Namespace,
    name: str,
    url: str,
    broker: Broker,
    topics: list[str],
    rate: float,
    seconds: float,
    ingester: subprocess.Popen,
    kind: str,
    offsets: list[int],
) -> dict[str, Any]:
    since = dt.datetime.now(dt.UTC)
    start_at = time.time() + 1.0
    n_pub = max(1, args.publishers)
    share = -(-len(topics) // n_pub)
    cpu0, pg0 = cpu_of(ingester.pid), pg_server_cpu() if kind == "postgresql" else 0.0
    procs = []
    for k in range(n_pub):
        mine = topics[k * share : (k + 1) * share]
        spec = {
            "host": broker.host, "port": broker.port, "topics": mine, "rate": rate / n_pub,
            "seconds": seconds, "start_at": start_at, "alert_every": args.alert_every,
            "seed": int(offsets[k]) * 1000 + k, "client_id": f"bench-pub-{uuid.uuid4().hex[:8]}",
            "offset": int(offsets[k]),
        }  # fmt: skip
        p = subprocess.Popen(
            [sys.executable, __file__, "--role", "publisher"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert p.stdin is not None
        p.stdin.write(json.dumps(spec) + "\n")
        p.stdin.flush()
        procs.append(p)
    outs = []
    for k, p in enumerate(procs):
        out, _ = p.communicate(timeout=seconds + 600)
        if p.returncode != 0:
            raise SystemExit(f"a publisher failed (exit {p.returncode})")
        outs.append(json.loads(out.strip().splitlines()[-1]))
        offsets[k] += outs[-1]["published"]  # the next phase goes on round the sensors
    published = sum(o["published"] for o in outs)
    t0 = min(o["t0"] for o in outs)
    t_last = max(o["t_last"] for o in outs)
    deadline = time.time() + args.drain_timeout
    count = stored_count(url, since)
    while count < published and time.time() < deadline:
        time.sleep(0.2)
        count = stored_count(url, since)
    cpu = cpu_of(ingester.pid) - cpu0
    pg = (pg_server_cpu() - pg0) if kind == "postgresql" else 0.0
    lat, to_alert, both, last_stored = phase_rows(url, since)
    arrival = both[1]
    q = lambda a, p: float(np.percentile(a, p)) if len(a) else float("nan")  # noqa: E731
    drain = last_stored - t_last
    res = {
        "phase": name, "store": kind, "rate": rate, "seconds": seconds,
        "published": published, "acked_by_broker": sum(o["acked"] for o in outs),
        "publish_rate": published / max(1e-9, t_last - t0), "stored": count,
        "lost": published - count, "alerts_published": sum(o["alerts"] for o in outs),
        "alerts": len(to_alert), "p50": q(lat, 50), "p99": q(lat, 99), "max": q(lat, 100),
        "alert_p50": q(to_alert, 50), "alert_p99": q(to_alert, 99), "alert_max": q(to_alert, 100),
        "arrival_alert_p99": q(arrival, 99), "drain_s": drain,
        "ingester_cpu_ms": 1000 * cpu / max(1, count), "pg_cpu_ms": 1000 * pg / max(1, count),
        "load": os.getloadavg(),
    }  # fmt: skip
    res["held"] = bool(res["lost"] == 0 and res["p99"] < 1.0 and drain < 1.0)
    log(
        f"{kind} {name} {rate:,.0f}/s: published {published:,} ({res['publish_rate']:,.0f}/s), "
        f"stored {count:,}, p50/p99 {res['p50'] * 1000:.0f}/{res['p99'] * 1000:.0f} ms, alerts "
        f"{res['alerts']} p99 {res['alert_p99'] * 1000:.0f} ms, drain {drain:.2f} s, "
        f"held={res['held']}, load {res['load'][0]:.1f}"
    )
    return res


def run_store(args: argparse.Namespace, kind: str, broker: Broker, workdir: Path) -> list[dict]:
    url, drop = fresh_store(kind, args.pg_url, workdir)
    try:
        t = time.perf_counter()
        topics = populate(url, args.mines, args.sensors)
        log(
            f"{kind}: {args.mines} mines and {len(topics):,} sensors in {time.perf_counter() - t:.1f} s"
        )
        client_id = f"bench-ingester-{uuid.uuid4().hex[:8]}"
        ingester = start_ingester(url, broker.url, client_id, workdir)
        results = []
        offsets = [0] * max(1, args.publishers)  # each publisher goes round its sensors in turn
        try:
            if args.sustain > 0:
                results.append(
                    run_phase(args, "sustained", url, broker, topics, len(topics) / 60.0,
                              args.sustain, ingester, kind, offsets)
                )  # fmt: skip
            for rate in (float(r) for r in args.peak_rates.split(",") if r):
                r = run_phase(
                    args,
                    "peak",
                    url,
                    broker,
                    topics,
                    rate,
                    args.peak_seconds,
                    ingester,
                    kind,
                    offsets,
                )
                results.append(r)
                if not r["held"] and args.stop_when_behind:
                    break
        finally:
            ingester.send_signal(signal.SIGTERM)
            try:
                ingester.wait(timeout=60)
            except subprocess.TimeoutExpired:
                ingester.kill()
        return results
    finally:
        drop()


def report(args: argparse.Namespace, broker: Broker, runs: list[dict], load0: tuple) -> str:
    import sqlalchemy as sa

    versions = [f"Python {platform.python_version()}", f"SQLite {sqlite3.sqlite_version}"]
    if "postgresql" in args.stores:
        engine = sa.create_engine(args.pg_url, poolclass=sa.NullPool)
        with engine.connect() as conn:
            versions.append(conn.execute(sa.text("SELECT version()")).scalar_one().split(" on ")[0])
        engine.dispose()
    lines = [
        "## Monitoring: MQTT ingestion of 10 000 sensors, peak rate, publish → alert latency "
        "(`benchmarks/monitoring_ingest.py`)",
        "",
        f"Machine: {os.cpu_count()} cores, shared with other engineers' jobs (load average "
        f"{load0[0]:.1f} at the start); {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC; "
        f"{', '.join(versions)}; {broker.config}. {args.sensors:,} sensors of {args.mines} mines, "
        f"{args.publishers} publisher process(es), one alarm value in {args.alert_every} "
        f"messages. Command: `.venv/bin/python benchmarks/monitoring_ingest.py "
        f"{' '.join(sys.argv[1:])}`.",
        "",
        "| store | phase | target msg/s | published (rate achieved) | stored | publish → stored "
        "p50 / p99 / max [ms] | alerts | publish → alert p50 / p99 / max [ms] | arrival → alert "
        "p99 [ms] | drain [s] | CPU per message: ingester / PostgreSQL [ms] | held | load |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|:-:|---:|",
    ]
    for r in runs:
        lines.append(
            f"| {r['store']} | {r['phase']} | {r['rate']:,.0f} | {r['published']:,} "
            f"({r['publish_rate']:,.0f}/s) | {r['stored']:,} | {r['p50'] * 1000:,.0f} / "
            f"{r['p99'] * 1000:,.0f} / {r['max'] * 1000:,.0f} | {r['alerts']} of "
            f"{r['alerts_published']} | {r['alert_p50'] * 1000:,.0f} / {r['alert_p99'] * 1000:,.0f}"
            f" / {r['alert_max'] * 1000:,.0f} | {r['arrival_alert_p99'] * 1000:,.0f} | "
            f"{r['drain_s']:.2f} | {r['ingester_cpu_ms']:.2f} / {r['pg_cpu_ms']:.2f} | "
            f"{'yes' if r['held'] else 'no'} | {r['load'][0]:.1f} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--role", choices=["publisher"], default=None)
    ap.add_argument("--stores", default="sqlite,postgresql")
    ap.add_argument("--sensors", type=int, default=10_000)
    ap.add_argument("--mines", type=int, default=100)
    ap.add_argument("--sustain", type=float, default=180.0, help="seconds at sensors/60 msg/s")
    ap.add_argument("--peak-rates", default="500,1000,2000,3000,4000")
    ap.add_argument("--peak-seconds", type=float, default=20.0)
    ap.add_argument("--stop-when-behind", action="store_true", default=True)
    ap.add_argument("--publishers", type=int, default=2)
    ap.add_argument("--alert-every", type=int, default=200)
    ap.add_argument("--drain-timeout", type=float, default=120.0)
    ap.add_argument("--broker", default=None, help="use this broker (default: start one)")
    ap.add_argument("--port", type=int, default=18831)
    ap.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    ap.add_argument("--results", type=Path, default=None)
    args = ap.parse_args()
    if args.role == "publisher":
        role_publisher(args)
        return
    args.stores = [s for s in args.stores.split(",") if s]
    load0 = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="restora-bench-mon-") as tmp:
        workdir = Path(tmp)
        broker = Broker(args.broker, args.port, workdir)
        try:
            runs = []
            for kind in args.stores:
                runs += run_store(args, kind, broker, workdir)
        finally:
            broker.stop()
    text = report(args, broker, runs, load0)
    print(text)
    if args.results:
        args.results.write_text(text, encoding="utf-8")
        log(f"wrote {args.results}")


if __name__ == "__main__":
    main()
