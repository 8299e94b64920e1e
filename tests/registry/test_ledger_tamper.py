"""Tampering: a malicious operator edits the stored log; verify (and a saved head) catch it.

A log is built through the API and sequenced under two signed tree heads; the auditor keeps
the first head (its JSON) and the published public key. The operator then drops the
append-only triggers (SQLite: ``DROP TRIGGER``; PostgreSQL: ``ALTER TABLE … DISABLE TRIGGER
USER``) and edits rows. Each case asserts that the problem verify reports names the event,
leaf, node, head or block that was changed — not only that something is wrong.
"""

from __future__ import annotations

import base64
import datetime as dt
import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from restora.registry import merkle
from restora.registry.ledger import encode, serial_id
from restora.registry.signing import TreeHead, verify_head
from restora.store import Store
from restora.store import registry as R
from restora.store.registry_tables import registry_blocks as BLOCKS
from restora.store.registry_tables import registry_events as EVENTS
from restora.store.registry_tables import registry_leaves as LEAVES
from restora.store.registry_tables import registry_nodes as NODES
from restora.store.registry_tables import registry_tree_heads as HEADS


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
AT = dt.datetime(2026, 12, 7, 11, 0, tzinfo=dt.UTC)
APPEND_ONLY = ("registry_events", "registry_leaves", "registry_nodes", "registry_tree_heads")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database: a SQLite file, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'registry.db'}"
    return str(request.getfixturevalue("pg_schema_url"))


class Log:
    """The built log: the store, the leaves (event id, data) in order and the saved heads."""

    def __init__(self, store: Any, h1: dict[str, Any], h2: dict[str, Any]) -> None:
        self.store = store
        self.h1, self.h2 = h1, h2  # heads as the auditor saved them (JSON)
        with store.engine.connect() as conn:
            self.leaves = [
                (int(i), d)
                for i, d in conn.execute(
                    sa.select(EVENTS.c.id, EVENTS.c.data)
                    .join(LEAVES, LEAVES.c.event_id == EVENTS.c.id)
                    .order_by(LEAVES.c.leaf_index)
                )
            ]

    def execute(self, *statements: Any) -> None:
        """Run the operator's edits, with the append-only triggers out of the way."""
        with self.store.engine.begin() as conn:
            for t in APPEND_ONLY:
                if conn.dialect.name == "postgresql":
                    conn.exec_driver_sql(f"ALTER TABLE {t} DISABLE TRIGGER USER")
                else:
                    conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {t}_append_only_update")
                    conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {t}_append_only_delete")
            for s in statements:
                conn.execute(s)

    def problem(self) -> str:
        report = R.verify(self.store, keys=S.public_keys())
        assert report.problem is not None, "verify found nothing"
        return report.problem


@pytest.fixture
def log(db_url: str) -> Any:
    with Store(db_url) as store:
        A, B, buf = (
            R.open_account(store, kind=k, name=n, at=AT)["account"]
            for k, n in (("holding", "A"), ("holding", "B"), ("buffer", "Buffer"))
        )
        R.set_policy(store, "CSINK", at=AT, buffer={"account": buf, "pct": 10})
        R.record_verification(
            store, verification="V1", unit_type="CSINK", project_id="P-1", vintage=2026,
            region_code="430524", count=500, evaluator="e", report_sha256="ab" * 32, at=AT,
        )  # fmt: skip
        R.issue(store, verification="V1", account=A, count=500,
                attrs={"methodology": "CCER-14-001"}, at=AT)  # fmt: skip
        R.operate(store, "transfer", unit_type="CSINK", start=11, end=20, to=B, at=AT)
        R.operate(store, "retire", unit_type="CSINK", start=31, end=40, beneficiary="Acme",
                  purpose="offset", at=AT)  # fmt: skip
        R.operate(store, "transfer", unit_type="CSINK", start=101, end=450, to=B, at=AT)
        h1 = R.integrate(store, at=AT, key=S.signing_key())["head"].as_json()
        R.operate(store, "transfer", unit_type="CSINK", start=201, end=250, to=A, at=AT)
        R.operate(store, "retire", unit_type="CSINK", start=301, end=310, beneficiary="Beta",
                  purpose="offset", at=AT)  # fmt: skip
        h2 = R.integrate(store, at=AT, key=S.signing_key())["head"].as_json()
        built = Log(store, h1, h2)
        assert len(built.leaves) == h2["size"] > h1["size"] > 10
        report = R.verify(store, keys=S.public_keys())
        assert report.ok and report.pending == 0, report.problem
        yield built


def leaf_at(log: Log, where: str) -> int:
    return {"first": 0, "middle": len(log.leaves) // 2, "last": len(log.leaves) - 1}[where]


# ------------------------------------------------------------------------------ (a) one byte
@pytest.mark.parametrize("where", ["first", "middle", "last"])
@pytest.mark.parametrize("pos", [0, 9, "mid", -1])
def test_one_changed_byte_names_the_event(log: Log, where: str, pos: Any) -> None:
    i = leaf_at(log, where)
    event_id, data = log.leaves[i]
    k = len(data) // 2 if pos == "mid" else pos % len(data)
    new = data[:k] + ("x" if data[k] != "x" else "y") + data[k + 1 :]
    assert len(new.encode()) == len(data.encode()) and new != data
    log.execute(sa.update(EVENTS).where(EVENTS.c.id == event_id).values(data=new))
    problem = log.problem()
    assert problem.startswith(f"event {event_id} (leaf {i}): its bytes do not hash"), problem


def test_a_changed_pending_event_is_refused_by_the_rules(log: Log) -> None:
    """Pending events have no leaf hash yet: the rules and the look-up columns guard them."""
    out = R.operate(log.store, "transfer", unit_type="CSINK", start=41, end=50, to=2, at=AT)
    [(event_id, data)] = [(e["id"], encode(e["data"]).decode()) for e in out["events"][-1:]]
    assert '"to":2' in data
    # to A, which holds 41-50 already (the bytes stay canonical)
    log.execute(
        sa.update(EVENTS)
        .where(EVENTS.c.id == event_id)
        .values(data=data.replace('"to":2', '"to":1'))
    )
    problem = log.problem()
    assert problem.startswith(f"pending event {event_id}: the registry's rules refuse it"), problem


# ------------------------------------------------------------------------------ (b) deletions
def test_a_deleted_event_is_named(log: Log) -> None:
    i = leaf_at(log, "middle")
    event_id = log.leaves[i][0]
    log.execute(sa.delete(EVENTS).where(EVENTS.c.id == event_id))
    assert log.problem() == f"leaf {i}: its event {event_id} is missing"


def test_a_deleted_leaf_is_named(log: Log) -> None:
    i = leaf_at(log, "middle")
    log.execute(sa.delete(LEAVES).where(LEAVES.c.leaf_index == i))
    assert log.problem() == f"leaf {i} is missing (the next stored leaf is {i + 1})"


def test_a_deleted_last_leaf_leaves_its_event_outside_the_log(log: Log) -> None:
    i = leaf_at(log, "last")
    event_id = log.leaves[i][0]
    log.execute(sa.delete(LEAVES).where(LEAVES.c.leaf_index == i))
    assert log.problem() == f"event {event_id} is neither in the Merkle tree nor pending"


def test_a_deleted_node_is_found(log: Log) -> None:
    log.execute(sa.delete(NODES).where(NODES.c.level == 1, NODES.c.idx == 0))
    assert log.problem() == "1 node hashes of the tree are missing"


# ------------------------------------------------------------------------------ (c) reorder
def test_two_events_swapped_are_named(log: Log) -> None:
    i, j = 3, leaf_at(log, "last") - 1
    (id_i, data_i), (id_j, data_j) = log.leaves[i], log.leaves[j]
    assert data_i != data_j
    log.execute(
        sa.update(EVENTS).where(EVENTS.c.id == id_i).values(data=data_j),
        sa.update(EVENTS).where(EVENTS.c.id == id_j).values(data=data_i),
    )
    problem = log.problem()
    assert problem.startswith(f"event {id_i} (leaf {i}): its bytes do not hash"), problem


def test_two_leaves_reordered_are_named(log: Log) -> None:
    i, j = 2, 5
    id_i, id_j = log.leaves[i][0], log.leaves[j][0]
    log.execute(
        sa.update(LEAVES).where(LEAVES.c.leaf_index == i).values(event_id=-1),
        sa.update(LEAVES).where(LEAVES.c.leaf_index == j).values(event_id=id_i),
        sa.update(LEAVES).where(LEAVES.c.leaf_index == i).values(event_id=id_j),
    )
    problem = log.problem()
    assert problem.startswith(f"event {id_j} (leaf {i}): its bytes do not hash"), problem


# ------------------------------------------------------------------------------ (d) smart attacker
def rewrite_history(log: Log) -> tuple[int, int, str]:
    """Change the first retirement's beneficiary everywhere a careless check would look: the
    event's bytes (still canonical), its leaf hash, every node hash above it, and the block.
    Returns (leaf index, event id, the new data)."""
    i, (event_id, data) = next(
        (i, x) for i, x in enumerate(log.leaves) if json.loads(x[1])["kind"] == "retire"
    )
    event = json.loads(data)
    event["beneficiary"] = "Mallory"
    new = encode(event).decode("utf-8")
    datas = [new if k == i else d for k, (_, d) in enumerate(log.leaves)]
    levels = [[merkle.leaf_hash(d.encode()) for d in datas]]
    while len(levels[-1]) > 1:
        prev = levels[-1]
        levels.append([merkle.node_hash(prev[k], prev[k + 1]) for k in range(0, len(prev) - 1, 2)])
    with log.store.engine.connect() as conn:
        block = conn.execute(
            sa.select(BLOCKS.c.id, BLOCKS.c.retirement).where(
                BLOCKS.c.serial_start == event["start"]
            )
        ).one()
    retirement = dict(block.retirement)
    retirement["beneficiary"] = "Mallory"
    stmts: list[Any] = [
        sa.update(EVENTS).where(EVENTS.c.id == event_id).values(data=new),
        sa.update(LEAVES).where(LEAVES.c.leaf_index == i).values(leaf_hash=levels[0][i]),
        sa.update(BLOCKS).where(BLOCKS.c.id == block.id).values(retirement=retirement),
    ]
    for lv in range(1, len(levels)):
        stmts.append(
            sa.update(NODES)
            .where(NODES.c.level == lv, NODES.c.idx == i >> lv)
            .values(hash=levels[lv][i >> lv])
        )
    log.execute(*stmts)
    return i, event_id, new


def test_a_consistent_rewrite_is_caught_by_the_signed_head(log: Log) -> None:
    i, event_id, new = rewrite_history(log)
    assert i < log.h1["size"]
    stored = R.get_event(log.store, event_id)
    assert stored is not None and stored["bytes"] == new and stored["leaf_index"] == i
    # every hash in the store agrees with the new bytes; only the signed heads do not
    problem = log.problem()
    assert problem == (
        f"the signed tree head of {log.h1['size']} events does not match the log's root"
    )
    # and with the keys stored in the registry too
    assert R.verify(log.store).problem == problem


def test_a_consistent_rewrite_fails_the_proofs_against_the_saved_head(log: Log) -> None:
    saved1 = TreeHead.from_json(log.h1)
    saved2 = TreeHead.from_json(log.h2)
    [pub] = S.public_keys().values()
    assert verify_head(saved1, pub) and verify_head(saved2, pub)
    i, event_id, new = rewrite_history(log)
    # the operator's tree, as it now serves it
    with log.store.engine.connect() as conn:
        root1, root2 = R._root(conn, saved1.size), R._root(conn, saved2.size)
    assert root1 != saved1.root and root2 != saved2.root
    # consistency from the saved first head to the log now: the proof fits the operator's
    # tree, not the head the auditor saved
    c = R.consistency(log.store, saved1.size, saved2.size)
    proof = [base64.b64decode(x) for x in c["proof"]]
    assert merkle.verify_consistency(saved1.size, saved2.size, proof, root1, root2)
    assert not merkle.verify_consistency(saved1.size, saved2.size, proof, saved1.root, root2)
    # inclusion of the rewritten event in the tree of the saved head
    p = R.inclusion(log.store, event_id, saved1.size)
    assert p["event"] == new
    proof = [base64.b64decode(x) for x in p["proof"]]
    leaf = merkle.leaf_hash(p["event"].encode())
    assert merkle.verify_inclusion(i, saved1.size, leaf, proof, root1)
    assert not merkle.verify_inclusion(i, saved1.size, leaf, proof, saved1.root)
    # the siblings on the path are untouched, so the same path proves the original bytes
    # against the saved head: the saved head commits to what was logged, not to the rewrite
    original = merkle.leaf_hash(log.leaves[i][1].encode())
    assert merkle.verify_inclusion(i, saved1.size, original, proof, saved1.root)


def test_heads_re_signed_with_another_key_are_refused(log: Log) -> None:
    rewrite_history(log)
    log.execute(sa.delete(HEADS))
    with log.store.engine.connect() as conn:
        size = R._log_size(conn)
    R.integrate(log.store, at=AT, key=S.signing_key(666))  # the operator's own key
    assert R.verify(log.store).ok  # against the keys stored in the database: passes
    assert log.problem() == (
        f"the tree head of {size} events is signed by unknown key {next(iter(S.public_keys(666)))}"
    )


# ------------------------------------------------------------------------------ (e) the state
@pytest.mark.parametrize(
    ("start", "change", "field"),
    [
        (11, {"account_id": 1}, "account"),  # B's block 11-20 handed back to A
        (31, {"status": "held", "retirement": None}, "status, retirement"),  # un-retire
        (451, {"serial_end": 452}, None),  # the range changed
    ],
)
def test_a_changed_block_is_named(log: Log, start: int, change: dict[str, Any], field: Any) -> None:
    with log.store.engine.connect() as conn:
        row = conn.execute(sa.select(BLOCKS).where(BLOCKS.c.serial_start == start)).mappings().one()
    before = R.block_dict(row)
    log.execute(sa.update(BLOCKS).where(BLOCKS.c.id == row["id"]).values(**change))
    problem = log.problem()
    if field is None:
        after = {**before, "end": change["serial_end"]}
        assert problem.startswith(f"stored block {serial_id(after)} differs from the log in end")
    else:
        assert problem.startswith(
            f"stored block {serial_id(before)} differs from the log in {field} "
        ), problem


def test_a_deleted_block_is_named(log: Log) -> None:
    with log.store.engine.connect() as conn:
        row = conn.execute(sa.select(BLOCKS).where(BLOCKS.c.serial_start == 11)).mappings().one()
    log.execute(sa.delete(BLOCKS).where(BLOCKS.c.id == row["id"]))
    assert log.problem() == (
        f"block {serial_id(R.block_dict(row))} of the log is missing from the stored state"
    )
