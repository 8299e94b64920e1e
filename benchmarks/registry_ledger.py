"""Benchmark: the registry ledger (issue 15) — durable transfers per second with concurrent
writer processes and a sequencer, time to verify a 1 000 000-event log, proof size and time.

Targets of issue 15: ≥ 1 000 durable transfers/s on PostgreSQL; verify of a 1 M-event log in
under 60 s.

(a) **Transfers.** For each store (a SQLite file with its default rollback journal; a fresh
    schema of the PostgreSQL database with its default ``synchronous_commit = on``) and each
    number N of writers: a registry with 2 accounts per writer and 4 blocks of 100 serials per
    writer (carved by partial transfers); N writer processes (this script, ``--role writer``)
    each move their own blocks between their two accounts — one whole-block ``transfer`` per
    transaction, through ``restora.store.registry.operate`` — and one sequencer process
    (``--role sequencer``) runs ``integrate`` with an Ed25519 key in a loop. All start at the
    same instant and stop after ``--seconds``. Whole-process figure: transfers committed in the
    window / window. In-process figures, from the same run: each writer's wall time per
    transaction (p50, p99) and CPU time per transaction. Afterwards ``integrate_all`` and
    ``verify`` must pass (checked, not timed as a figure).
(b) **Verify 1 M events.** A log of ``--events`` events is generated with the registry's rules
    (``Ledger.apply``: issuance, whole and partial transfers with their splits, retirements
    on random blocks), its rows (events, pending queue, blocks, accounts, verification, serial
    counter) inserted in bulk, then sequenced by the store's own ``integrate_all`` (leaf and
    node hashes, signed head) and checked by ``verify`` with the published key — the whole
    check: bytes, hashes, rules, look-up columns, every node, the head, the state.
(c) **Proofs at 1 M events.** ``inclusion`` and ``consistency`` served from the store (random
    events and sizes), their size in bytes (log2 n hashes of 32 bytes) and the time to check
    them with ``restora.registry.merkle``.

The machine has 2 cores, shared by the writers, the sequencer, PostgreSQL and other engineers'
jobs: the load average is recorded.

Usage::

    .venv/bin/python benchmarks/registry_ledger.py [--stores sqlite,postgresql] \\
        [--writers 1,4,8,16] [--sqlite-writers 1,4] [--seconds 15] [--events 1000000] \\
        [--pg-url postgresql+psycopg://postgres@127.0.0.1:5432/test] [--results FILE]
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import hashlib
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
AT = dt.datetime(2026, 12, 7, 8, 0, tzinfo=dt.UTC)
BLOCKS_PER_WRITER = 4
SERIALS_PER_BLOCK = 100


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def signing_key() -> Any:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    return Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"registry-benchmark").digest())


def published_keys() -> dict[str, bytes]:
    from restora.registry.signing import key_id, public_bytes

    pub = public_bytes(signing_key().public_key())
    return {key_id(pub): pub}


# ------------------------------------------------------------------------------- stores
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
        conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
    engine.dispose()


class Fresh:
    """A fresh store: a SQLite file in a temporary folder, or a PostgreSQL schema."""

    def __init__(self, kind: str, pg_url: str) -> None:
        self.kind, self.pg_url, self.schema = kind, pg_url, ""
        if kind == "sqlite":
            self.dir = tempfile.mkdtemp(prefix="registry-bench-")
            self.url = f"sqlite:///{self.dir}/registry.db"
        else:
            self.url, self.schema = pg_schema(pg_url)

    def close(self) -> None:
        if self.kind == "sqlite":
            import shutil

            shutil.rmtree(self.dir, ignore_errors=True)
        else:
            drop_schema(self.pg_url, self.schema)


def setup_writers(url: str, writers: int) -> list[dict[str, Any]]:
    """Accounts and blocks of each writer; returns ``[{"a", "b", "blocks": [[s, e], …]}, …]``."""
    from restora.store import Store
    from restora.store import registry as R

    n = writers * BLOCKS_PER_WRITER * SERIALS_PER_BLOCK + 1  # one serial left to the issuer
    with Store(url) as store:
        issuer = R.open_account(store, kind="holding", name="Issuer", at=AT)["account"]
        R.record_verification(
            store, verification="V-BENCH", unit_type="CSINK", project_id="P-BENCH",
            vintage=2026, region_code="430524", count=n, evaluator="bench",
            report_sha256="ab" * 32, at=AT,
        )  # fmt: skip
        R.issue(
            store, verification="V-BENCH", account=issuer, count=n,
            attrs={"methodology": "CCER-14-001"}, at=AT,
        )  # fmt: skip
        out = []
        for w in range(writers):
            a = R.open_account(store, kind="holding", name=f"W{w}a", at=AT)["account"]
            b = R.open_account(store, kind="holding", name=f"W{w}b", at=AT)["account"]
            blocks = []
            for k in range(BLOCKS_PER_WRITER):
                s = (w * BLOCKS_PER_WRITER + k) * SERIALS_PER_BLOCK + 1
                e = s + SERIALS_PER_BLOCK - 1
                R.operate(store, "transfer", unit_type="CSINK", start=s, end=e, to=a, at=AT)
                blocks.append([s, e])
            out.append({"a": a, "b": b, "blocks": blocks})
        R.integrate_all(store, at=AT, key=signing_key())
    return out


# ------------------------------------------------------------------------------- roles
def role_writer(url: str, spec: dict[str, Any]) -> None:
    """Whole-block transfers of this writer's blocks, back and forth, from the start time to
    the stop time read from stdin (after this writer printed ``ready``)."""
    from restora.store import Store
    from restora.store import registry as R

    with Store(url) as store:
        holder = {tuple(b): spec["a"] for b in spec["blocks"]}
        other = {spec["a"]: spec["b"], spec["b"]: spec["a"]}
        keys = list(holder)
        # warm up: one transfer per block (connection, prepared statements), not counted
        for k in keys:
            R.operate(store, "transfer", unit_type="CSINK", start=k[0], end=k[1],
                      to=other[holder[k]], at=AT)  # fmt: skip
            holder[k] = other[holder[k]]
        print("ready", flush=True)
        start_at, stop_at = (float(x) for x in sys.stdin.readline().split())
        time.sleep(max(0.0, start_at - time.time()))
        lat: list[float] = []
        cpu0 = time.process_time()
        i = 0
        while True:
            k = keys[i % len(keys)]
            t0 = time.perf_counter()
            if time.time() >= stop_at:
                break
            R.operate(store, "transfer", unit_type="CSINK", start=k[0], end=k[1],
                      to=other[holder[k]], at=AT)  # fmt: skip
            lat.append(time.perf_counter() - t0)
            holder[k] = other[holder[k]]
            i += 1
        cpu = time.process_time() - cpu0
    print(json.dumps({"count": len(lat), "lat": lat, "cpu": cpu}), flush=True)


def role_sequencer(url: str, stop_at: float, interval: float) -> None:
    """``integrate`` in a loop with the key until ``stop_at``; reports batches and backlog."""
    from restora.store import Store
    from restora.store import registry as R

    key = signing_key()
    batches, sequenced, times = 0, 0, []
    cpu0 = time.process_time()
    with Store(url) as store:
        while time.time() < stop_at:
            t0 = time.perf_counter()
            out = R.integrate(store, at=AT, key=key)
            if out is not None and out["sequenced"]:
                batches += 1
                sequenced += out["sequenced"]
                times.append(time.perf_counter() - t0)
            # a batch per interval (as a CT log's sequencer runs): an integrate per few events
            # would cost as much CPU as the writers
            time.sleep(interval)
    cpu = time.process_time() - cpu0
    print(
        json.dumps({"batches": batches, "sequenced": sequenced, "times": times, "cpu": cpu}),
        flush=True,
    )


def server_cpu(kind: str) -> float:
    """CPU seconds used so far by the PostgreSQL server: the postmaster, its live children
    (backends, WAL writer, ...) and its children that have exited (0 for SQLite)."""
    if kind != "postgresql":
        return 0.0
    import psutil

    for p in psutil.process_iter(["cmdline"]):
        cmd = p.info["cmdline"] or []
        if cmd and cmd[0].endswith("/postgres") and "-D" in cmd:
            master = p
            break
    else:
        return float("nan")  # not on this machine (or not visible)
    t = master.cpu_times()
    total = t.user + t.system + t.children_user + t.children_system
    for child in master.children():
        try:
            c = child.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += c.user + c.system
    return total


def throughput(
    kind: str, pg_url: str, writers: int, seconds: float, seq_interval: float = 0.05
) -> dict[str, Any]:
    """One run of (a): N writers and a sequencer on a fresh store."""
    from restora.store import Store
    from restora.store import registry as R

    fresh = Fresh(kind, pg_url)
    try:
        specs = setup_writers(fresh.url, writers)
        me = str(Path(__file__).resolve())
        writer = [sys.executable, me, "--role", "writer", "--url", fresh.url, "--spec"]
        procs = [
            subprocess.Popen(
                [*writer, json.dumps(spec)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            for spec in specs
        ]
        for p in procs:  # every writer has started, opened the store and warmed up
            assert p.stdout is not None and p.stdout.readline().strip() == "ready"
        start_at = time.time() + 1.0
        stop_at = start_at + seconds
        for p in procs:
            assert p.stdin is not None
            p.stdin.write(f"{start_at} {stop_at}\n")
            p.stdin.flush()
        time.sleep(max(0.0, start_at - time.time()))
        server0 = server_cpu(kind)
        seq = subprocess.Popen(
            [sys.executable, me, "--role", "sequencer", "--url", fresh.url,
             "--stop-at", str(stop_at), "--seq-interval", str(seq_interval)],
            stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        outs = []
        for p in procs:
            assert p.stdout is not None
            out = p.stdout.read()
            p.wait(timeout=600)
            if p.returncode != 0:
                raise SystemExit(f"a writer failed (exit {p.returncode})")
            outs.append(json.loads(out.strip().splitlines()[-1]))
        server = server_cpu(kind) - server0
        seq_out, _ = seq.communicate(timeout=seconds + 600)
        seq_res = json.loads(seq_out.strip().splitlines()[-1])
        load = os.getloadavg()
        with Store(fresh.url) as store:
            with store.engine.connect() as conn:
                import sqlalchemy as sa

                from restora.store.registry_tables import registry_pending

                backlog = int(
                    conn.execute(
                        sa.select(sa.func.count()).select_from(registry_pending)
                    ).scalar_one()
                )
            t0 = time.perf_counter()
            R.integrate_all(store, at=AT, key=signing_key())
            drain_s = time.perf_counter() - t0
            report = R.verify(store, keys=published_keys())
            if not report.ok:
                raise SystemExit(f"verify failed after the run: {report.problem}")
        lat = sorted(x for o in outs for x in o["lat"])
        count = sum(o["count"] for o in outs)
        q = statistics.quantiles(lat, n=100) if len(lat) > 1 else [lat[0]] * 99
        return {
            "store": kind,
            "writers": writers,
            "seconds": seconds,
            "transfers": count,
            "per_s": count / seconds,
            "p50_ms": 1000 * q[49],
            "p99_ms": 1000 * q[98],
            "cpu_ms": 1000 * sum(o["cpu"] for o in outs) / max(1, count),
            "seq_cpu_ms": 1000 * seq_res["cpu"] / max(1, count),
            "server_cpu_ms": 1000 * server / max(1, count),
            "sequenced": seq_res["sequenced"],
            "seq_batches": seq_res["batches"],
            "seq_batch_ms": 1000 * statistics.median(seq_res["times"]) if seq_res["times"] else 0,
            "backlog": backlog,
            "drain_s": drain_s,
            "events": report.events,
            "load": load,
        }
    finally:
        fresh.close()


# ------------------------------------------------------------------------------- (b) 1 M log
def generate(n_events: int, seed: int = 1) -> tuple[Any, list[tuple[dict[str, Any], Any]]]:
    """A log of about ``n_events`` events made with the registry's rules.

    Returns the final :class:`Ledger` and the events with the block each acted on (before).
    """
    from restora.registry.ledger import Ledger

    rng = random.Random(seed)
    led = Ledger()
    out: list[tuple[dict[str, Any], Any]] = []
    stamp = "2026-12-07T08:00:00.000000Z"

    def apply(e: dict[str, Any], before: Any = None) -> list[Any]:
        e["at"] = stamp
        written = led.apply(e)
        out.append((e, before))
        return written

    accounts = 1000
    for i in range(1, accounts + 1):
        apply({"kind": "open_account", "account": i, "account_kind": "holding", "name": f"H{i}"})
    serials = 10_000_000
    apply(
        {"kind": "verify_outcome", "verification": "V1", "unit_type": "CSINK",
         "project_id": "P-1", "vintage": 2026, "region_code": "430524", "count": serials,
         "evaluator": "bench", "report_sha256": "ab" * 32}
    )  # fmt: skip
    apply(
        {"kind": "issue", "verification": "V1", "unit_type": "CSINK", "account": 1,
         "count": serials, "start": 1, "end": serials, "attrs": {"methodology": "CCER-14-001"}}
    )  # fmt: skip
    held = [("CSINK", 1)]  # keys of held blocks (may be stale: checked on use)
    while len(out) < n_events:
        key = held[rng.randrange(len(held))]
        b = led.blocks.get(key)
        if b is None or b.status != "held":
            continue
        to = rng.randint(1, accounts)
        if to == b.account:
            continue
        if b.count > 2 and rng.random() < 0.7:  # partial: split off a part first
            cut = rng.randint(b.start + 1, b.end)
            left, right = apply(
                {"kind": "split", "unit_type": "CSINK", "start": b.start, "end": b.end,
                 "at_serial": cut}, b,
            )  # fmt: skip
            held.append(right.key)
            b = left
        if rng.random() < 0.03:
            apply(
                {"kind": "retire", "unit_type": "CSINK", "start": b.start, "end": b.end,
                 "beneficiary": "B", "purpose": "bench"}, b,
            )  # fmt: skip
        else:
            apply(
                {"kind": "transfer", "unit_type": "CSINK", "start": b.start, "end": b.end,
                 "to": to}, b,
            )  # fmt: skip
    return led, out


def write_log(url: str, led: Any, events: list[tuple[dict[str, Any], Any]]) -> None:
    """Insert the generated log's rows in bulk (events, pending queue, state)."""
    import sqlalchemy as sa

    from restora.registry.ledger import encode
    from restora.store import Store
    from restora.store import registry as R
    from restora.store import registry_tables as T

    now = AT
    with Store(url) as store:
        engine = store.engine
        last_event: dict[tuple[str, int], int] = {}
        rows = []
        for i, (e, before) in enumerate(events, start=1):
            cols = R._event_columns(e, before, led)
            rows.append(
                (i, cols["kind"], encode(e).decode("utf-8"), now, cols["unit_type"],
                 cols["serial_start"], cols["serial_end"], cols["account_id"],
                 cols["to_account_id"], cols["project_id"])
            )  # fmt: skip
            if e.get("start") is not None:  # the blocks this event wrote
                last_event[(e["unit_type"], e["start"])] = i
                if e["kind"] == "split":
                    last_event[(e["unit_type"], e["at_serial"])] = i
        cols_e = ("id", "kind", "data", "at", "unit_type", "serial_start", "serial_end",
                  "account_id", "to_account_id", "project_id")  # fmt: skip
        blocks = []
        for key, b in led.blocks.items():
            v = R._block_values(b)
            v["event_id"] = last_event.get(key, len(events))
            blocks.append(v)
        if engine.dialect.name == "postgresql":
            raw = engine.raw_connection()
            try:
                cur = raw.cursor()
                with cur.copy(f"COPY registry_events ({', '.join(cols_e)}) FROM STDIN") as cp:
                    for r in rows:
                        cp.write_row(r)
                with cur.copy("COPY registry_pending (event_id) FROM STDIN") as cp:
                    for r in rows:
                        cp.write_row((r[0],))
                cur.execute(
                    f"SELECT setval(pg_get_serial_sequence('registry_events', 'id'), {len(rows)})"
                )
                raw.commit()
            finally:
                raw.close()
        else:
            with engine.begin() as conn:
                conn.execute(
                    sa.insert(T.registry_events), [dict(zip(cols_e, r, strict=True)) for r in rows]
                )
                conn.execute(sa.insert(T.registry_pending), [{"event_id": r[0]} for r in rows])
        with engine.begin() as conn:
            conn.execute(
                sa.insert(T.registry_accounts),
                [{"id": a.id, "kind": a.kind, "name": a.name, "created_at": now}
                 for a in led.accounts.values()],
            )  # fmt: skip
            for vid, v in led.verifications.items():
                record = {k: x for k, x in v.items() if k not in ("kind", "at")}
                conn.execute(
                    sa.insert(T.registry_verifications).values(
                        id=vid, unit_type=v["unit_type"], project_id=v["project_id"],
                        vintage=v["vintage"], region_code=v["region_code"], count=v["count"],
                        issued=led.issued[vid], record=record,
                    )
                )  # fmt: skip
            for ut, nxt in led.next_serial.items():
                conn.execute(sa.insert(T.registry_serials).values(unit_type=ut, next_start=nxt))
            conn.execute(sa.insert(T.registry_blocks), blocks)
        if engine.dialect.name == "postgresql":
            with engine.begin() as conn:
                conn.exec_driver_sql(
                    "SELECT setval(pg_get_serial_sequence('registry_accounts', 'id'), "
                    f"{max(led.accounts)})"
                )
                conn.exec_driver_sql("ANALYZE")


def big_log(kind: str, pg_url: str, n_events: int, proofs: int) -> dict[str, Any]:
    """(b) and (c) on one store."""
    from rich.progress import Progress

    from restora.registry import merkle
    from restora.store import Store
    from restora.store import registry as R

    fresh = Fresh(kind, pg_url)
    f: dict[str, Any] = {"store": kind}
    try:
        t0 = time.perf_counter()
        led, events = generate(n_events)
        f["generate_s"] = time.perf_counter() - t0
        f["events"] = len(events)
        log(f"{kind}: generated {len(events):,} events in {f['generate_s']:.1f} s")
        t0 = time.perf_counter()
        write_log(fresh.url, led, events)
        f["write_s"] = time.perf_counter() - t0
        log(f"{kind}: wrote them in {f['write_s']:.1f} s")
        del events
        with Store(fresh.url) as store:
            t0, c0 = time.perf_counter(), time.process_time()
            head = R.integrate_all(store, at=AT, key=signing_key())
            f["integrate_s"] = time.perf_counter() - t0
            f["integrate_cpu_s"] = time.process_time() - c0
            f["size"] = head["size"]
            log(f"{kind}: sequenced {head['size']:,} in {f['integrate_s']:.1f} s")
            with Progress(transient=True) as bar:
                task = bar.add_task(f"verify ({kind})", total=head["size"])
                t0, c0 = time.perf_counter(), time.process_time()
                report = R.verify(
                    store,
                    keys=published_keys(),
                    progress=lambda done, total: bar.update(task, completed=done),
                )
                f["verify_s"] = time.perf_counter() - t0
                f["verify_cpu_s"] = time.process_time() - c0
            f["verify"] = report.as_json()
            if not report.ok:
                raise SystemExit(f"verify failed: {report.problem}")
            log(f"{kind}: verify {f['verify_s']:.1f} s ({report.as_json()})")
            f["load_after_verify"] = os.getloadavg()
            # (c) proofs
            size = head["size"]
            root = head["root"]
            rng = random.Random(7)
            serve, check, nbytes = [], [], []
            for _ in range(proofs):
                eid = rng.randint(1, size)
                t0 = time.perf_counter()
                p = R.inclusion(store, eid)
                serve.append(time.perf_counter() - t0)
                proof = [base64.b64decode(x) for x in p["proof"]]
                leaf = merkle.leaf_hash(p["event"].encode("utf-8"))
                t0 = time.perf_counter()
                ok = merkle.verify_inclusion(p["leaf_index"], size, leaf, proof, root)
                check.append(time.perf_counter() - t0)
                nbytes.append(32 * len(proof))
                assert ok
            f["incl_serve_ms"] = 1000 * statistics.median(serve)
            f["incl_serve_p99_ms"] = 1000 * sorted(serve)[int(0.99 * len(serve))]
            f["incl_check_us"] = 1e6 * statistics.median(check)
            f["incl_bytes"] = (min(nbytes), max(nbytes))
            serve, check, nbytes = [], [], []
            for _ in range(proofs):
                m = rng.randint(1, size - 1)
                t0 = time.perf_counter()
                c = R.consistency(store, m, size)
                serve.append(time.perf_counter() - t0)
                proof = [base64.b64decode(x) for x in c["proof"]]
                with store.engine.connect() as conn:
                    root_m = R._root(conn, m)  # the earlier root, as an auditor saved it
                t0 = time.perf_counter()
                ok = merkle.verify_consistency(m, size, proof, root_m, root)
                check.append(time.perf_counter() - t0)
                nbytes.append(32 * len(proof))
                assert ok
            f["cons_serve_ms"] = 1000 * statistics.median(serve)
            f["cons_serve_p99_ms"] = 1000 * sorted(serve)[int(0.99 * len(serve))]
            f["cons_check_us"] = 1e6 * statistics.median(check)
            f["cons_bytes"] = (min(nbytes), max(nbytes))
            f["log2n"] = size.bit_length()
        return f
    finally:
        fresh.close()


# ------------------------------------------------------------------------------- report
def report(args: argparse.Namespace, runs: list[dict[str, Any]], big: list[dict[str, Any]],
           load_start: tuple[float, ...]) -> str:  # fmt: skip
    import psutil
    import sqlalchemy as sa

    pg_version = ""
    if "postgresql" in args.stores:
        engine = sa.create_engine(args.pg_url)
        with engine.connect() as conn:
            pg_version = conn.exec_driver_sql("SHOW server_version").scalar()
            sync = conn.exec_driver_sql("SHOW synchronous_commit").scalar()
            fsync = conn.exec_driver_sql("SHOW fsync").scalar()
        engine.dispose()
        pg_version = f"PostgreSQL {pg_version} (synchronous_commit {sync}, fsync {fsync})"
    import sqlite3

    when = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "## Registry ledger: durable transfers, verify of 1 M events, proofs (`benchmarks/registry_ledger.py`)",
        "",
        f"Machine: {os.cpu_count()} cores, {psutil.virtual_memory().total / 2**30:.0f} GiB, "
        f"shared with other engineers' jobs (load average {load_start[0]:.1f} at the start); "
        f"{when}; Python {platform.python_version()}, SQLite {sqlite3.sqlite_version} "
        f"(default rollback journal, synchronous FULL){', ' + pg_version if pg_version else ''}. "
        f"Command: `.venv/bin/python benchmarks/registry_ledger.py {' '.join(sys.argv[1:])}`.",
        "",
    ]
    cores = os.cpu_count() or 1
    if runs:
        lines += [
            f"### (a) Durable transfers, {args.seconds:.0f} s per run (one whole-block transfer per "
            "transaction, each writer on its own blocks, a sequencer signing heads meanwhile)",
            "",
            "| store | writers | transfers/s (whole processes) | p50 / p99 per transaction [ms] "
            "(in process) | CPU per transfer: writer / sequencer / PostgreSQL server [ms] | "
            "transfers/s that much CPU allows on the idle cores | sequenced during the run | "
            "backlog at the end | drain [s] | load average at the end |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for r in runs:
            lines.append(
                f"| {r['store']} | {r['writers']} | {r['per_s']:,.0f} | {r['p50_ms']:.1f} / "
                f"{r['p99_ms']:.1f} | {r['cpu_ms']:.2f} / {r.get('seq_cpu_ms', 0):.2f} / "
                f"{r.get('server_cpu_ms', 0):.2f} | "
                f"{cores / ((r['cpu_ms'] + r.get('seq_cpu_ms', 0) + r.get('server_cpu_ms', 0)) / 1000):,.0f} | "
                f"{r['sequenced']:,} in "
                f"{r['seq_batches']} batches (median {r['seq_batch_ms']:.0f} ms incl. lock wait) | "
                f"{r['backlog']:,} | {r['drain_s']:.2f} | {r['load'][0]:.1f} |"
            )
        lines.append("")
    for f in big:
        v = f["verify"]
        lines += [
            f"### (b), (c) A log of {f['size']:,} events on {f['store']}",
            "",
            "| figure | value |",
            "|---|---|",
            f"| generate with `Ledger.apply` (in process) | {f['generate_s']:.1f} s |",
            f"| bulk insert of the rows | {f['write_s']:.1f} s |",
            f"| `integrate_all` (sequence, hash, sign) wall / CPU | {f['integrate_s']:.1f} s / "
            f"{f['integrate_cpu_s']:.1f} s |",
            f"| **`verify`** wall / CPU | **{f['verify_s']:.1f} s** / {f['verify_cpu_s']:.1f} s |",
            f"| verify found | {v['events']:,} events, {v['nodes']:,} nodes, {v['heads']} head, "
            f"{v['blocks']:,} blocks, ok = {v['ok']} |",
            f"| inclusion proof: size | {f['incl_bytes'][0]}–{f['incl_bytes'][1]} bytes "
            f"(≤ {f['log2n']} hashes of 32 bytes) |",
            f"| inclusion proof: serve from the store, median / p99 | {f['incl_serve_ms']:.2f} / "
            f"{f['incl_serve_p99_ms']:.2f} ms |",
            f"| inclusion proof: check (`merkle.verify_inclusion`) | {f['incl_check_us']:.0f} µs |",
            f"| consistency proof: size | {f['cons_bytes'][0]}–{f['cons_bytes'][1]} bytes |",
            f"| consistency proof: serve, median / p99 | {f['cons_serve_ms']:.2f} / "
            f"{f['cons_serve_p99_ms']:.2f} ms |",
            f"| consistency proof: check (`merkle.verify_consistency`) | {f['cons_check_us']:.0f} µs |",
            f"| load average after verify | {f['load_after_verify'][0]:.1f} |",
            "",
        ]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--role", choices=["writer", "sequencer"], default=None)
    ap.add_argument("--url")
    ap.add_argument("--spec")
    ap.add_argument("--stop-at", type=float)
    ap.add_argument("--stores", default="sqlite,postgresql")
    ap.add_argument(
        "--seq-interval", type=float, default=0.05, help="sequencer pause between batches [s]"
    )
    ap.add_argument("--writers", default="1,4,8,16", help="writer counts on PostgreSQL")
    ap.add_argument("--sqlite-writers", default="1,4")
    ap.add_argument("--seconds", type=float, default=15.0)
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--big-stores", default=None, help="stores for (b)/(c); default --stores")
    ap.add_argument("--proofs", type=int, default=200)
    ap.add_argument("--skip-throughput", action="store_true")
    ap.add_argument("--skip-big", action="store_true")
    ap.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    ap.add_argument("--results", type=Path, default=None)
    args = ap.parse_args()
    if args.role == "writer":
        role_writer(args.url, json.loads(args.spec))
        return
    if args.role == "sequencer":
        role_sequencer(args.url, args.stop_at, args.seq_interval)
        return
    args.stores = [s for s in args.stores.split(",") if s]
    load_start = os.getloadavg()
    runs: list[dict[str, Any]] = []
    if not args.skip_throughput:
        for kind in args.stores:
            counts = args.writers if kind == "postgresql" else args.sqlite_writers
            for w in (int(x) for x in counts.split(",") if x):
                log(f"{kind}: {w} writers for {args.seconds:.0f} s")
                r = throughput(kind, args.pg_url, w, args.seconds, args.seq_interval)
                log(
                    f"{kind}: {w} writers: {r['per_s']:,.0f} transfers/s, p50 {r['p50_ms']:.1f} ms, "
                    f"p99 {r['p99_ms']:.1f} ms, CPU {r['cpu_ms']:.2f} ms/transfer, "
                    f"backlog {r['backlog']}, load {r['load'][0]:.1f}"
                )
                runs.append(r)
    big: list[dict[str, Any]] = []
    if not args.skip_big:
        stores = args.big_stores.split(",") if args.big_stores else args.stores
        for kind in stores:
            big.append(big_log(kind, args.pg_url, args.events, args.proofs))
    text = report(args, runs, big, load_start)
    print(text)
    if args.results:
        args.results.parent.mkdir(parents=True, exist_ok=True)
        args.results.write_text(text + "\n")
        log(f"wrote {args.results}")


if __name__ == "__main__":
    main()
