"""The registry ledger in the store (restora.store.registry), on SQLite and PostgreSQL.

Flows of issue 15 (issue, whole and partial transfers, retirement, pledge and its enforcement,
freeze), idempotency keys, the stored state against the replayed log, verify, inclusion and
consistency proofs checked with restora.registry.merkle against signed tree heads, and the
account statement. Block ranges below are worked out by hand from the operations.
"""

from __future__ import annotations

import base64
import datetime as dt
import importlib.util
import sys
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from restora.registry import merkle
from restora.registry.ledger import LedgerError
from restora.registry.signing import TreeHead, verify_head
from restora.store import Store
from restora.store import registry as R
from restora.store.registry_tables import registry_events


def _support() -> Any:
    """tests/registry/ledger_support.py, loaded by path (test folders are not packages)."""
    name = "restora_tests_ledger_support"
    if name not in sys.modules:
        path = Path(__file__).with_name("ledger_support.py")
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        sys.modules[name] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(sys.modules[name])
    return sys.modules[name]


S = _support()

AT = dt.datetime(2026, 12, 7, 9, 30, tzinfo=dt.UTC)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database: a SQLite file, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'registry.db'}"
    return str(request.getfixturevalue("pg_schema_url"))


def event_count(store: Any) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(registry_events)).scalar())


def spans(store: Any, unit_type: str = "CSINK") -> list[tuple[int, int, int, str]]:
    """(start, end, account, status) of every block of a unit type, in serial order."""
    return sorted(
        (b.start, b.end, b.account, b.status)
        for b in R.stored_blocks(store).values()
        if b.unit_type == unit_type
    )


@pytest.fixture
def reg(db_url: str) -> Any:
    """Holders A and B, a buffer, proceeds and a lender account; CSINK policy 10 % / 2 %;
    verification V1 of 1000; nothing issued yet."""
    with Store(db_url) as store:
        ids = {
            name: R.open_account(store, kind=kind, name=name, at=AT)["account"]
            for name, kind in (
                ("A", "holding"),
                ("B", "holding"),
                ("buffer", "buffer"),
                ("proceeds", "proceeds"),
                ("bank", "holding"),
            )
        }
        R.set_policy(
            store,
            "CSINK",
            at=AT,
            buffer={"account": ids["buffer"], "pct": 10},
            share={"account": ids["proceeds"], "pct": 2},
        )
        R.record_verification(
            store,
            verification="V1",
            unit_type="CSINK",
            project_id="P-HN-01",
            vintage=2026,
            region_code="430524",
            count=1000,
            evaluator="eval",
            report_sha256="ab" * 32,
            at=AT,
        )
        yield store, ids


def do_issue(store: Any, ids: dict[str, int], count: int = 1000, **kw: Any) -> dict[str, Any]:
    return R.issue(
        store,
        verification="V1",
        account=ids["A"],
        count=count,
        attrs={"methodology": "CCER-14-001"},
        at=AT,
        **kw,
    )


def test_issue_splits_off_buffer_and_share(reg: Any) -> None:
    store, ids = reg
    out = do_issue(store, ids)
    assert [e["kind"] for e in out["events"]] == ["issue"]
    assert [(b["start"], b["end"], b["account"], b["status"]) for b in out["blocks"]] == [
        (1, 880, ids["A"], "held"),
        (881, 980, ids["buffer"], "buffer"),
        (981, 1000, ids["proceeds"], "held"),
    ]
    assert out["blocks"][0]["serial"] == "CN-CSINK-430524-P-HN-01-2026-1-880"
    with pytest.raises(LedgerError, match="leaves 0"):
        do_issue(store, ids, 1)
    [t] = R.totals(store)
    assert (t["issued"], t["retired"], t["outstanding"]) == (1000, 0, 1000)


def test_transfer_flows(reg: Any) -> None:
    store, ids = reg
    A, B, bank = ids["A"], ids["B"], ids["bank"]
    do_issue(store, ids)
    # whole block: one event, no split
    out = R.operate(store, "transfer", unit_type="CSINK", start=1, end=880, to=B, at=AT)
    assert [e["kind"] for e in out["events"]] == ["transfer"]
    # partial from the middle: cut at 101 and at 201, then the transfer
    out = R.operate(store, "transfer", unit_type="CSINK", start=101, end=200, to=A, at=AT)
    assert [(e["kind"], e["data"].get("at_serial")) for e in out["events"]] == [
        ("split", 101),
        ("split", 201),
        ("transfer", None),
    ]
    # the blocks the write left: both cut-off parts and the transferred one
    assert [(b["start"], b["end"], b["account"]) for b in out["blocks"]] == [
        (1, 100, B),
        (101, 200, A),
        (201, 880, B),
    ]
    # partial at the start of a block: one cut only
    out = R.operate(store, "transfer", unit_type="CSINK", start=1, end=50, to=A, at=AT)
    assert [(e["kind"], e["data"].get("at_serial")) for e in out["events"]] == [
        ("split", 51),
        ("transfer", None),
    ]
    # partial at the end of a block (201-880 is B's): one cut
    out = R.operate(store, "transfer", unit_type="CSINK", start=801, end=880, to=bank, at=AT)
    assert [e["data"].get("at_serial") for e in out["events"]] == [801, None]
    assert spans(store) == [
        (1, 50, A, "held"),
        (51, 100, B, "held"),
        (101, 200, A, "held"),
        (201, 800, B, "held"),
        (801, 880, bank, "held"),
        (881, 980, ids["buffer"], "buffer"),
        (981, 1000, ids["proceeds"], "held"),
    ]
    # a range across two blocks is refused, and writes nothing
    n = event_count(store)
    with pytest.raises(LedgerError, match="not in one block"):
        R.operate(store, "transfer", unit_type="CSINK", start=40, end=60, to=bank, at=AT)
    with pytest.raises(LedgerError, match="no account"):
        R.operate(store, "transfer", unit_type="CSINK", start=51, end=60, to=999, at=AT)
    with pytest.raises(LedgerError):
        R.operate(store, "transfer", unit_type="CSINK", start=1001, end=1001, to=B, at=AT)
    assert event_count(store) == n
    check_state(store)


def test_retire_is_final(reg: Any) -> None:
    store, ids = reg
    A, B = ids["A"], ids["B"]
    do_issue(store, ids)
    out = R.operate(
        store, "retire", unit_type="CSINK", start=150, end=160, beneficiary="Acme",
        purpose="2026 offset", at=AT,
    )  # fmt: skip
    assert [e["kind"] for e in out["events"]] == ["split", "split", "retire"]
    assert [(b["start"], b["end"]) for b in out["blocks"]] == [(1, 149), (150, 160), (161, 880)]
    b = out["blocks"][1]
    assert (b["start"], b["end"], b["status"], b["count"]) == (150, 160, "retired", 11)
    assert b["retirement"]["beneficiary"] == "Acme"
    n = event_count(store)
    for kind, extra in (
        ("transfer", {"to": B}),
        ("retire", {"beneficiary": "x", "purpose": "y"}),
        ("cancel", {"reason": "x"}),
        ("freeze", {"reason": "x"}),
        ("pledge", {"lender": ids["bank"], "pledge": "P"}),
    ):
        with pytest.raises(LedgerError, match="retired"):
            R.operate(store, kind, unit_type="CSINK", start=150, end=160, at=AT, **extra)
        with pytest.raises(LedgerError):  # a part of it: no split of a retired block either
            R.operate(store, kind, unit_type="CSINK", start=152, end=155, at=AT, **extra)
    with pytest.raises(LedgerError, match="not in one block"):
        R.operate(store, "transfer", unit_type="CSINK", start=140, end=155, to=B, at=AT)
    assert event_count(store) == n
    assert spans(store)[:3] == [
        (1, 149, A, "held"),
        (150, 160, A, "retired"),
        (161, 880, A, "held"),
    ]
    [t] = R.totals(store)
    assert (t["issued"], t["retired"], t["outstanding"]) == (1000, 11, 989)
    check_state(store)


def test_pledge_enforce_and_freeze(reg: Any) -> None:
    store, ids = reg
    A, B, bank = ids["A"], ids["B"], ids["bank"]
    do_issue(store, ids)
    R.operate(
        store, "pledge", unit_type="CSINK", start=201, end=300, lender=bank, pledge="L-1", at=AT
    )
    with pytest.raises(LedgerError, match="pledged"):
        R.operate(store, "transfer", unit_type="CSINK", start=201, end=300, to=B, at=AT)
    out = R.operate(store, "enforce_pledge", unit_type="CSINK", start=201, end=300, at=AT)
    [b] = out["blocks"]
    assert (b["account"], b["status"], b["lender"]) == (bank, "held", None)
    assert out["events"][0]["kind"] == "enforce_pledge"
    # a second pledge, released
    R.operate(
        store, "pledge", unit_type="CSINK", start=301, end=350, lender=bank, pledge="L-2", at=AT
    )
    R.operate(store, "release_pledge", unit_type="CSINK", start=301, end=350, at=AT)
    # freeze: nothing moves until unfrozen
    R.operate(store, "freeze", unit_type="CSINK", start=401, end=500, reason="court", at=AT)
    with pytest.raises(LedgerError, match="frozen"):
        R.operate(store, "transfer", unit_type="CSINK", start=401, end=500, to=B, at=AT)
    with pytest.raises(LedgerError, match="frozen"):
        R.operate(store, "transfer", unit_type="CSINK", start=401, end=450, to=B, at=AT)
    R.operate(store, "unfreeze", unit_type="CSINK", start=401, end=500, at=AT)
    R.operate(store, "transfer", unit_type="CSINK", start=401, end=500, to=B, at=AT)
    # the buffer can be frozen and cancelled
    R.operate(store, "freeze", unit_type="CSINK", start=881, end=980, reason="review", at=AT)
    R.operate(store, "unfreeze", unit_type="CSINK", start=881, end=980, at=AT)
    R.operate(store, "cancel", unit_type="CSINK", start=881, end=900, reason="reversal", at=AT)
    assert spans(store) == [
        (1, 200, A, "held"),
        (201, 300, bank, "held"),
        (301, 350, A, "held"),
        (351, 400, A, "held"),
        (401, 500, B, "held"),
        (501, 880, A, "held"),
        (881, 900, ids["buffer"], "cancelled"),
        (901, 980, ids["buffer"], "buffer"),
        (981, 1000, ids["proceeds"], "held"),
    ]
    check_state(store)


def test_idempotency_keys(reg: Any) -> None:
    store, ids = reg
    first = do_issue(store, ids, key="issue-1")
    again = do_issue(store, ids, key="issue-1")
    assert first["replayed"] is False and again["replayed"] is True
    assert again["events"] == first["events"]
    assert again["blocks"] == first["blocks"]
    t1 = R.operate(
        store, "transfer", unit_type="CSINK", start=11, end=20, to=ids["B"], at=AT, key="t-1"
    )
    n = event_count(store)
    t2 = R.operate(
        store, "transfer", unit_type="CSINK", start=11, end=20, to=ids["B"], at=AT, key="t-1"
    )
    assert t2["replayed"] is True
    assert [e["id"] for e in t2["events"]] == [e["id"] for e in t1["events"]]
    assert len(t1["events"]) == 3 and event_count(store) == n
    # the same key for another request is refused and writes nothing
    with pytest.raises(R.RequestConflict, match="t-1"):
        R.operate(
            store, "transfer", unit_type="CSINK", start=11, end=20, to=ids["bank"], at=AT,
            key="t-1",
        )  # fmt: skip
    with pytest.raises(R.RequestConflict):
        R.operate(
            store, "retire", unit_type="CSINK", start=21, end=30, beneficiary="x", purpose="y",
            at=AT, key="t-1",
        )  # fmt: skip
    with pytest.raises(R.RequestConflict):
        do_issue(store, ids, count=5, key="issue-1")
    assert event_count(store) == n
    # a refused request does not use up its key
    with pytest.raises(LedgerError):
        R.operate(store, "transfer", unit_type="CSINK", start=11, end=20, to=999, at=AT, key="k")
    ok = R.operate(store, "transfer", unit_type="CSINK", start=31, end=40, to=ids["B"], at=AT,
                   key="k")  # fmt: skip
    assert ok["replayed"] is False
    assert spans(store)[:4] == [
        (1, 10, ids["A"], "held"),
        (11, 20, ids["B"], "held"),
        (21, 30, ids["A"], "held"),
        (31, 40, ids["B"], "held"),
    ]
    check_state(store)


def check_state(store: Any) -> None:
    """The stored blocks equal the replayed log's, and verify finds nothing (pending events)."""
    assert R.replay_state(store).blocks == R.stored_blocks(store)
    report = R.verify(store)
    assert report.ok, report.problem
    assert report.events == event_count(store)


def build_log(store: Any, ids: dict[str, int]) -> list[int]:
    """A log with every kind of flow; returns the ids of all events written."""
    A, B, bank = ids["A"], ids["B"], ids["bank"]
    out = [do_issue(store, ids, count=600)]
    for i in range(5):
        out.append(
            R.operate(
                store, "transfer", unit_type="CSINK", start=10 * i + 1, end=10 * i + 5, to=B, at=AT
            )
        )
    out.append(
        R.operate(
            store,
            "retire",
            unit_type="CSINK",
            start=100,
            end=120,
            beneficiary="x",
            purpose="y",
            at=AT,
        )
    )
    out.append(
        R.operate(
            store, "pledge", unit_type="CSINK", start=200, end=210, lender=bank, pledge="P", at=AT
        )
    )
    out.append(R.operate(store, "enforce_pledge", unit_type="CSINK", start=200, end=210, at=AT))
    out.append(R.operate(store, "transfer", unit_type="CSINK", start=201, end=205, to=A, at=AT))
    return [e["id"] for o in out for e in o["events"]]


def test_state_replays_verifies_and_proves(reg: Any) -> None:
    store, ids = reg
    key = S.signing_key(3)
    keys = S.public_keys(3)
    [pub] = keys.values()
    first = build_log(store, ids)
    check_state(store)
    with pytest.raises(LedgerError, match="not sequenced yet"):
        R.inclusion(store, first[-1])
    h1 = R.integrate(store, at=AT, key=key)
    assert h1 is not None and h1["sequenced"] == 7 + len(first)  # 5 accounts, policy, V1
    second = [
        e["id"]
        for e in R.operate(
            store, "transfer", unit_type="CSINK", start=301, end=310, to=ids["B"], at=AT
        )["events"]
    ]
    h2 = R.integrate(store, at=AT, key=key)
    h3 = R.integrate(store, at=AT, key=key)  # nothing pending: the same head
    assert h2["size"] == h1["size"] + len(second) == h3["size"]
    assert h3["sequenced"] == 0
    heads = [h1["head"], h2["head"]]
    for h in heads:
        assert verify_head(h, pub)
    assert R.latest_head(store) == h2["head"]
    assert R.latest_head(store, h1["size"]) == h1["head"]
    # the root of the head is the RFC 9162 root of the leaves, recomputed here from the bytes
    events = S.leaf_order_events(store)
    assert len(events) == h2["size"]
    with store.engine.connect() as conn:
        data = {
            int(i): d.encode()
            for i, d in conn.execute(sa.select(registry_events.c.id, registry_events.c.data))
        }
    leaves = [data[e["id"]] for e in events]
    assert merkle.tree_hash(leaves) == h2["head"].root
    assert merkle.tree_hash(leaves[: h1["size"]]) == h1["head"].root
    # inclusion of every event in the latest head, and of the first ones in the first head
    for i, e in enumerate(events):
        p = R.inclusion(store, e["id"])
        head = TreeHead.from_json(p["head"])
        assert verify_head(head, pub) and head.size == h2["size"]
        assert p["leaf_index"] == i and p["event"].encode() == leaves[i]
        proof = [base64.b64decode(x) for x in p["proof"]]
        assert len(proof) <= max(1, (h2["size"] - 1).bit_length())
        assert merkle.verify_inclusion(i, head.size, merkle.leaf_hash(leaves[i]), proof, head.root)
        # and not for another position or another event's bytes
        assert (
            not merkle.verify_inclusion(
                (i + 1) % head.size, head.size, merkle.leaf_hash(leaves[i]), proof, head.root
            )
            or leaves[i] == leaves[(i + 1) % head.size]
        )
        if i < h1["size"]:
            p1 = R.inclusion(store, e["id"], h1["size"])
            proof1 = [base64.b64decode(x) for x in p1["proof"]]
            assert merkle.verify_inclusion(
                i, h1["size"], merkle.leaf_hash(leaves[i]), proof1, h1["head"].root
            )
    # consistency between successive heads (and every earlier size to the latest)
    c = R.consistency(store, h1["size"], h2["size"])
    proof = [base64.b64decode(x) for x in c["proof"]]
    assert merkle.verify_consistency(h1["size"], h2["size"], proof, h1["root"], h2["root"])
    assert not merkle.verify_consistency(h1["size"], h2["size"], proof, h2["root"], h2["root"])
    for m in range(1, h2["size"] + 1):
        c = R.consistency(store, m, h2["size"])
        proof = [base64.b64decode(x) for x in c["proof"]]
        root_m = merkle.tree_hash(leaves[:m])
        assert merkle.verify_consistency(m, h2["size"], proof, root_m, h2["root"]), m
    report = R.verify(store, keys=keys)
    assert report.ok, report.problem
    assert (report.heads, report.sequenced, report.pending) == (2, h2["size"], 0)
    assert report.trusted_keys == "given"
    # a head signed by a key other than the published one is reported
    wrong = R.verify(store, keys=S.public_keys(4))
    assert wrong.problem is not None and "unknown key" in wrong.problem
    check_state(store)


def test_statement_names_block_and_event(reg: Any) -> None:
    store, ids = reg
    A, B = ids["A"], ids["B"]
    do_issue(store, ids)
    t = R.operate(store, "transfer", unit_type="CSINK", start=101, end=200, to=B, at=AT)
    back = R.operate(store, "transfer", unit_type="CSINK", start=151, end=160, to=A, at=AT)
    r = R.operate(
        store, "retire", unit_type="CSINK", start=101, end=110, beneficiary="Acme", purpose="p",
        at=AT,
    )  # fmt: skip
    st = R.statement(store, B)
    assert st["account"]["id"] == B and st["account"]["name"] == "B"
    moves = [
        (ln["event_id"], ln["kind"], ln["start"], ln["end"], ln["count"], ln["direction"],
         ln["other_account"])
        for ln in st["lines"] if ln["kind"] not in ("split", "open_account")
    ]  # fmt: skip
    assert st["lines"][0]["kind"] == "open_account" and st["lines"][0]["data"]["name"] == "B"
    assert moves == [
        (t["events"][-1]["id"], "transfer", 101, 200, 100, "in", A),
        (back["events"][-1]["id"], "transfer", 151, 160, 10, "out", A),
        (r["events"][-1]["id"], "retire", 101, 110, 10, "", None),
    ]
    assert [(b["start"], b["end"], b["status"]) for b in st["blocks"]] == [
        (101, 110, "retired"),
        (111, 150, "held"),
        (161, 200, "held"),
    ]
    assert st["blocks"][0]["serial"] == "CN-CSINK-430524-P-HN-01-2026-101-110"
    # A's statement has the issue line and both transfers
    kinds = [ln["kind"] for ln in R.statement(store, A)["lines"] if ln["kind"] != "split"]
    assert kinds == ["open_account", "issue", "transfer", "transfer"]
    with pytest.raises(LedgerError):
        R.statement(store, 999)
