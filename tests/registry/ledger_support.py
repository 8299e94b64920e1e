"""Helpers of the registry ledger tests, and the worker processes they start.

Not a test module (pytest does not collect it): the tests load it by path, and run it as a
script in worker processes::

    python tests/registry/ledger_support.py ops URL SEED SETUP N  # N random operations
    python tests/registry/ledger_support.py writer URL SEED SETUP   # random operations until killed
    python tests/registry/ledger_support.py sequencer URL SEED [BATCH]  # integrate until killed

(``SETUP`` is a JSON file holding what :func:`build` returned.)

A worker prints one JSON line when it is done (``ops``) or ``ready`` once it has written
(``writer``, ``sequencer``) so the test knows it is under way before it kills it.
"""

from __future__ import annotations

import bisect
import datetime as dt
import hashlib
import importlib.util
import itertools
import json
import random
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

HERE = Path(__file__).resolve()
AT = dt.datetime(2026, 12, 7, 8, 0, tzinfo=dt.UTC)
#: Unit types the random workloads use, and the serials issued of each.
ISSUE = {"CSINK": 5000, "CLQ": 3000}
ATTRS = {"CSINK": {"methodology": "CCER-14-001"}, "CLQ": {"grade": "A"}}


def load() -> Any:
    """This module, loaded by path (the tests' way of importing it)."""
    name = "restora_tests_ledger_support"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, HERE)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


def signing_key(seed: int = 0) -> Ed25519PrivateKey:
    """A deterministic Ed25519 key (the tests' registry key)."""
    return Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"restora-test-%d" % seed).digest())


def public_keys(seed: int = 0) -> dict[str, bytes]:
    """``{key id: raw public key}`` of :func:`signing_key` — the published key."""
    from restora.registry.signing import key_id, public_bytes

    pub = public_bytes(signing_key(seed).public_key())
    return {key_id(pub): pub}


def build(url: str, *, holders: int = 6, issue: dict[str, int] | None = None) -> dict[str, Any]:
    """A registry with ``holders`` holding accounts, a buffer and proceeds account, a policy of
    10 % buffer and 2 % share per unit type, and ``issue`` serials issued of each type to the
    first holder (one verification each). Returns the account ids and what was issued."""
    from restora.store import Store
    from restora.store import registry as R

    issue = dict(ISSUE if issue is None else issue)
    with Store(url) as store:
        accounts = [
            R.open_account(store, kind="holding", name=f"Holder {i}", at=AT)["account"]
            for i in range(holders)
        ]
        buf = R.open_account(store, kind="buffer", name="Buffer", at=AT)["account"]
        sop = R.open_account(store, kind="proceeds", name="Proceeds", at=AT)["account"]
        for ut, n in issue.items():
            R.set_policy(
                store,
                ut,
                at=AT,
                buffer={"account": buf, "pct": 10},
                share={"account": sop, "pct": 2},
            )
            R.record_verification(
                store,
                verification=f"V-{ut}",
                unit_type=ut,
                project_id=f"P-{ut}-01",
                vintage=2026,
                region_code="430524",
                count=n,
                evaluator="eval",
                report_sha256="ab" * 32,
                at=AT,
            )
            R.issue(
                store,
                verification=f"V-{ut}",
                account=accounts[0],
                count=n,
                attrs=ATTRS[ut],
                at=AT,
            )
        # spread the holder's units over the holders in equal whole blocks, so the workers
        # start from many held blocks in many accounts
        for ut, n in issue.items():
            holder_n = n - n // 10 - n // 50
            step = holder_n // holders
            for i in range(1, holders):
                R.operate(
                    store,
                    "transfer",
                    unit_type=ut,
                    start=i * step + 1,
                    end=(i + 1) * step if i < holders - 1 else holder_n,
                    to=accounts[i],
                    at=AT,
                )
    return {"accounts": accounts, "buffer": buf, "proceeds": sop, "issued": issue}


def _block_at(conn: sa.Connection, unit_type: str, serial: int) -> Any:
    from restora.store.registry_tables import registry_blocks as B

    return conn.execute(
        sa.select(B.c.serial_start, B.c.serial_end, B.c.account_id, B.c.status)
        .where(B.c.unit_type == unit_type, B.c.serial_start <= serial)
        .order_by(B.c.serial_start.desc())
        .limit(1)
    ).first()


def random_op(
    store: Any, rng: random.Random, setup: dict[str, Any], *, retire_p: float = 0.1
) -> str:
    """One random transfer (whole or partial block) or retirement; returns what happened."""
    from restora.registry.ledger import LedgerError
    from restora.store import registry as R

    for _ in range(10):  # look for a held block
        ut = rng.choice(sorted(setup["issued"]))
        serial = rng.randint(1, setup["issued"][ut])
        with store.engine.connect().execution_options(restora_read_only=True) as conn:
            row = _block_at(conn, ut, serial)
        if row is not None and row.status == "held":
            break
    else:
        return "skipped"
    start, end = int(row.serial_start), int(row.serial_end)
    retire = rng.random() < retire_p
    if retire or rng.random() < 0.5:  # part of the block (retirements take small parts)
        start = rng.randint(start, end)
        end = rng.randint(start, min(end, start + rng.choice([0, 3, 50])))
    others = [a for a in setup["accounts"] if a != row.account_id]
    try:
        if retire:
            R.operate(
                store, "retire", unit_type=ut, start=start, end=end, at=AT,
                beneficiary="B", purpose="test",
            )  # fmt: skip
            return "retire"
        R.operate(
            store, "transfer", unit_type=ut, start=start, end=end, to=rng.choice(others), at=AT
        )
        return "transfer"
    except LedgerError:
        return "refused"  # a concurrent writer changed the block since it was read


# ------------------------------------------------------------------------------ invariants
def leaf_order_events(store: Any) -> list[dict[str, Any]]:
    """Every event's data, sequenced ones in leaf order then pending ones by id."""
    from restora.store.registry_tables import registry_events as E
    from restora.store.registry_tables import registry_leaves as L
    from restora.store.registry_tables import registry_pending as P

    with store.engine.connect() as conn:
        q1 = sa.select(E.c.id, E.c.data).join(L, L.c.event_id == E.c.id).order_by(L.c.leaf_index)
        q2 = sa.select(E.c.id, E.c.data).join(P, P.c.event_id == E.c.id).order_by(E.c.id)
        return [{"id": int(i), **json.loads(d)} for q in (q1, q2) for i, d in conn.execute(q).all()]


def retired_never_move(events: Iterable[dict[str, Any]]) -> list[str]:
    """Events that touch a serial after it was retired (empty when the rule held)."""
    retired: dict[str, list[tuple[int, int]]] = {}  # sorted disjoint ranges
    bad: list[str] = []
    for e in events:
        if "start" not in e or e.get("kind") == "issue":
            continue
        ut, s, t = e["unit_type"], int(e["start"]), int(e["end"])
        ranges = retired.setdefault(ut, [])
        i = bisect.bisect_right(ranges, (t, sys.maxsize))
        if i and ranges[i - 1][1] >= s:
            bad.append(
                f"event {e['id']} ({e['kind']} {ut} {s}-{t}) touches retired {ranges[i - 1]}"
            )
        if e["kind"] == "retire":
            bisect.insort(ranges, (s, t))
    return bad


def check_ledger(url: str, issued: dict[str, int], *, key_seed: int = 0) -> dict[str, Any]:
    """Assert the ledger's invariants; returns counts. See the concurrency test's docstring."""
    from restora.store import Store
    from restora.store import registry as R

    with Store(url) as store:
        # verify with whatever is pending still unsequenced
        pending = R.verify(store, keys=None)
        assert pending.ok, pending.problem
        blocks = R.stored_blocks(store)
        # 1. serials per unit type are conserved and no serial is in two blocks: the blocks of
        #    a type, by start, tile 1..issued exactly
        for ut, n in issued.items():
            mine = sorted((b for b in blocks.values() if b.unit_type == ut), key=lambda b: b.start)
            assert mine, ut
            assert mine[0].start == 1, (ut, mine[0])
            for a, b in itertools.pairwise(mine):
                assert b.start == a.end + 1, f"{ut}: {a.start}-{a.end} then {b.start}-{b.end}"
            assert mine[-1].end == n, (ut, mine[-1].end, n)
            assert sum(b.count for b in mine) == n
        assert {b.unit_type for b in blocks.values()} == set(issued)
        # 2. the log replays to exactly the stored state
        replayed = R.replay_state(store)
        assert replayed.blocks == blocks
        # 3. nothing retired moved again
        events = leaf_order_events(store)
        assert retired_never_move(events) == []
        # 4. sequenced and signed, verify passes against the published key
        R.integrate_all(store, at=AT, key=signing_key(key_seed))
        report = R.verify(store, keys=public_keys(key_seed))
        assert report.ok, report.problem
        assert report.pending == 0 and report.sequenced == report.events == len(events)
        retired = sum(b.count for b in blocks.values() if b.status == "retired")
        return {"events": len(events), "blocks": len(blocks), "retired": retired}


# ------------------------------------------------------------------------------ workers
def _main(argv: list[str]) -> None:
    from restora.store import Store
    from restora.store import registry as R

    mode, url, seed = argv[0], argv[1], int(argv[2])
    rng = random.Random(seed)
    with Store(url) as store:
        setup = json.loads(Path(argv[3]).read_text()) if mode in ("ops", "writer") else None
        if mode == "ops":
            n = int(argv[4])
            assert setup is not None
            counts: dict[str, int] = {}
            for _ in range(n):
                what = random_op(store, rng, setup)
                counts[what] = counts.get(what, 0) + 1
            print(json.dumps(counts), flush=True)
        elif mode == "writer":
            assert setup is not None
            done = 0
            while True:
                if random_op(store, rng, setup) in ("transfer", "retire"):
                    done += 1
                    if done == 1:
                        print("ready", flush=True)
        elif mode == "sequencer":
            key = signing_key(0)
            first = True
            while True:
                out = R.integrate(
                    store, at=AT, key=key, batch=int(argv[3]) if len(argv) > 3 else 50
                )
                if first and out is not None:
                    print("ready", flush=True)
                    first = False
                time.sleep(0.001)
        else:
            raise SystemExit(f"unknown mode {mode}")


if __name__ == "__main__":
    _main(sys.argv[1:])
