"""Concurrency and properties of the registry ledger.

1. Several OS processes (``tests/registry/ledger_support.py ops``) make random whole and
   partial transfers and retirements against one store at once — a SQLite file and a
   PostgreSQL schema — while a sequencer process integrates in a loop. Afterwards
   (``ledger_support.check_ledger``): the serials of each unit type are conserved (the blocks,
   by start, tile 1..issued exactly: none lost, none in two blocks), nothing retired was
   touched by a later event, the replayed log equals the stored blocks exactly, and verify
   passes before and after ``integrate_all``.
2. Hypothesis drives random operation sequences in process and compares the store with an
   independent model written here: one (account, status) per serial number and the set of
   block boundaries — no blocks, no ledger code.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from restora.registry.ledger import LedgerError
from restora.store import Store
from restora.store import registry as R


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
AT = dt.datetime(2026, 12, 7, 10, 0, tzinfo=dt.UTC)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database: a SQLite file, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'registry.db'}"
    return str(request.getfixturevalue("pg_schema_url"))


def run_workers(url: str, tmp_path: Path, processes: int, ops: int) -> dict[str, int]:
    """``processes`` workers of ``ops`` random operations each, and a sequencer meanwhile."""
    setup = S.build(url)
    spec = tmp_path / "setup.json"
    spec.write_text(json.dumps(setup))
    script = str(S.HERE)
    seq = subprocess.Popen(
        [sys.executable, script, "sequencer", url, "0"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    workers = [
        subprocess.Popen(
            [sys.executable, script, "ops", url, str(seed), str(spec), str(ops)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for seed in range(1, processes + 1)
    ]
    counts: dict[str, int] = {}
    try:
        for w in workers:
            out, err = w.communicate(timeout=300)
            assert w.returncode == 0, err[-3000:]
            for k, v in json.loads(out.strip().splitlines()[-1]).items():
                counts[k] = counts.get(k, 0) + v
    finally:
        seq.kill()
        seq.wait()
        for w in workers:
            if w.poll() is None:
                w.kill()
    assert counts.get("transfer", 0) > 0 and counts.get("retire", 0) > 0, counts
    result = S.check_ledger(url, setup["issued"])
    assert result["retired"] > 0
    return counts


def test_concurrent_processes_keep_the_ledger_whole(db_url: str, tmp_path: Path) -> None:
    processes, ops = (3, 100) if db_url.startswith("sqlite") else (4, 150)
    counts = run_workers(db_url, tmp_path, processes, ops)
    assert sum(counts.values()) == processes * ops


@pytest.mark.slow
def test_concurrent_processes_keep_the_ledger_whole_long(db_url: str, tmp_path: Path) -> None:
    processes, ops = (6, 400) if db_url.startswith("sqlite") else (8, 800)
    counts = run_workers(db_url, tmp_path, processes, ops)
    assert sum(counts.values()) == processes * ops


def test_retired_never_move_detects_a_violation() -> None:
    """The invariant check itself can fail: a transfer after the retirement of its serials."""
    events = [
        {"id": 1, "kind": "retire", "unit_type": "CSINK", "start": 10, "end": 20},
        {"id": 2, "kind": "transfer", "unit_type": "CSINK", "start": 21, "end": 30},
        {"id": 3, "kind": "transfer", "unit_type": "CLQ", "start": 10, "end": 20},
        {"id": 4, "kind": "split", "unit_type": "CSINK", "start": 1, "end": 10},
    ]
    [bad] = S.retired_never_move(events)
    assert bad.startswith("event 4 (split CSINK 1-10)")


# ------------------------------------------------------------------------------ properties
N = 40  # serials issued in the property test
HOLDERS = (1, 2, 3)
LENDER = 4


class Model:
    """Per serial: (account, status, lender, status before a freeze); and the block starts."""

    def __init__(self) -> None:
        self.state = {s: (1, "held", None, None) for s in range(1, N + 1)}
        self.starts = {1}

    def block(self, s: int) -> tuple[int, int]:
        start = max(x for x in self.starts if x <= s)
        later = [x for x in self.starts if x > s]
        return start, (min(later) - 1 if later else N)

    def apply(self, kind: str, s: int, e: int, to: int) -> bool:
        """Whether the operation is accepted, and its effect when it is."""
        bs, be = self.block(s)
        if e > be:
            return False  # not in one block
        account, status, lender, before = self.state[s]
        if (s > bs or e < be) and status not in ("held", "buffer"):
            return False  # only held or buffer blocks are split
        allowed = {
            "transfer": {"held"},
            "retire": {"held"},
            "pledge": {"held"},
            "enforce_pledge": {"pledged"},
            "release_pledge": {"pledged"},
            "freeze": {"held", "listed", "pending_transfer", "buffer", "pledged"},
            "unfreeze": {"frozen"},
        }[kind]
        if status not in allowed:
            return False
        if kind == "transfer" and to == account:
            return False
        new = {
            "transfer": (to, "held", None, None),
            "retire": (account, "retired", None, None),
            "pledge": (account, "pledged", LENDER, None),
            "enforce_pledge": (lender, "held", None, None),
            "release_pledge": (account, "held", None, None),
            "freeze": (account, "frozen", lender, status),
            "unfreeze": (account, before, lender, None),
        }[kind]
        for x in range(s, e + 1):
            self.state[x] = new
        self.starts.add(s)
        if e < N:
            self.starts.add(e + 1)  # a new cut when e < be, else the next block's start
        return True


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite store with accounts 1-3 (holders), 4 (lender) and [1, N] held by account 1."""
    path = tmp_path_factory.mktemp("ledger-template") / "registry.db"
    with Store(f"sqlite:///{path}") as store:
        for name in ("A", "B", "C", "Lender"):
            R.open_account(store, kind="holding", name=name, at=AT)
        R.record_verification(
            store, verification="V1", unit_type="CSINK", project_id="P-1", vintage=2026,
            region_code="430524", count=N, evaluator="e", report_sha256="ab" * 32, at=AT,
        )  # fmt: skip
        R.issue(store, verification="V1", account=1, count=N,
                attrs={"methodology": "CCER-14-001"}, at=AT)  # fmt: skip
    return path


KINDS = ["transfer", "transfer", "retire", "pledge", "enforce_pledge", "release_pledge",
         "freeze", "unfreeze"]  # fmt: skip


@st.composite
def operations(draw: Any) -> list[tuple[str, int, int, int]]:
    out = []
    for _ in range(draw(st.integers(1, 14))):
        kind = draw(st.sampled_from(KINDS))
        s = draw(st.integers(1, N))
        e = draw(st.integers(s, min(N, s + draw(st.sampled_from([0, 2, 10, N])))))
        out.append((kind, s, e, draw(st.sampled_from(HOLDERS))))
    return out


_counter = iter(range(10**9))


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=operations())
def test_random_sequences_match_a_per_serial_model(
    template: Path, tmp_path: Path, ops: list[tuple[str, int, int, int]]
) -> None:
    path = tmp_path / f"run-{next(_counter)}.db"
    shutil.copy(template, path)
    model = Model()
    with Store(f"sqlite:///{path}") as store:
        for kind, s, e, to in ops:
            fields: dict[str, Any] = {
                "transfer": {"to": to},
                "retire": {"beneficiary": "B", "purpose": "P"},
                "pledge": {"lender": LENDER, "pledge": "L"},
                "freeze": {"reason": "r"},
            }.get(kind, {})
            expected = model.apply(kind, s, e, to)
            try:
                R.operate(store, kind, unit_type="CSINK", start=s, end=e, at=AT, **fields)
                accepted = True
            except LedgerError:
                accepted = False
            assert accepted == expected, (kind, s, e, to)
        blocks = R.stored_blocks(store)
        assert sorted(b.start for b in blocks.values()) == sorted(model.starts)
        for b in blocks.values():
            for x in range(b.start, b.end + 1):
                account, status, lender, before = model.state[x]
                assert (b.account, b.status, b.lender, b.before_freeze) == (
                    account,
                    status,
                    lender,
                    before,
                ), x
        assert R.replay_state(store).blocks == blocks
        assert S.retired_never_move(S.leaf_order_events(store)) == []
        R.integrate_all(store, at=AT, key=S.signing_key())
        report = R.verify(store, keys=S.public_keys())
        assert report.ok, report.problem
    path.unlink()
