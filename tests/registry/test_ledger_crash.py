"""Crashes: a writer (and a sequencer) killed with SIGKILL at random moments, several rounds.

A killed process leaves at most an open transaction, which the database rolls back (SQLite:
the hot journal; PostgreSQL: the aborted backend). After each kill the ledger must be whole:
verify passes with whatever is pending still unsequenced, the replayed log equals the stored
state, serials are conserved, and after ``integrate_all`` with the key verify passes against
the published key (``ledger_support.check_ledger``).
"""

from __future__ import annotations

import importlib.util
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from restora.store import Store
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
SEED = int(os.environ.get("RESTORA_CRASH_SEED", "20261207"))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database: a SQLite file, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'registry.db'}"
    return str(request.getfixturevalue("pg_schema_url"))


def start(mode: str, url: str, seed: int, setup: Path | None = None) -> subprocess.Popen[str]:
    args = [sys.executable, str(S.HERE), mode, url, str(seed)]
    if setup is not None:
        args.append(str(setup))
    if mode == "sequencer":
        args.append("3")  # small batches: many sequencer transactions to die in
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_ready(proc: subprocess.Popen[str]) -> None:
    """Until the process has written something (it prints ``ready``)."""
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if line.strip() != "ready":
        proc.kill()
        _, err = proc.communicate()
        pytest.fail(f"worker did not start: {line!r} {err[-3000:]}")


def kill(proc: subprocess.Popen[str]) -> None:
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL  # it was still running: killed, not finished


def events(url: str) -> int:
    with Store(url) as store, store.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(registry_events)).scalar())


def check_unsequenced(url: str, issued: dict[str, int]) -> None:
    """Verify with the pending events as they are, and the replayed state = the stored one."""
    from restora.store import registry as R

    with Store(url) as store:
        report = R.verify(store, keys=S.public_keys())
        assert report.ok, report.problem
        assert R.replay_state(store).blocks == R.stored_blocks(store)
        blocks = R.stored_blocks(store)
        for ut, n in issued.items():
            assert sum(b.count for b in blocks.values() if b.unit_type == ut) == n


def test_writers_killed_at_random_times(db_url: str, tmp_path: Path) -> None:
    rng = random.Random(SEED)
    setup = S.build(db_url, holders=4, issue={"CSINK": 2000})
    spec = tmp_path / "setup.json"
    spec.write_text(json.dumps(setup))
    before = events(db_url)
    rounds = 4
    for r in range(rounds):
        writers = [start("writer", db_url, 100 * r + i, spec) for i in range(2)]
        for w in writers:
            wait_ready(w)
        time.sleep(rng.uniform(0.05, 0.8))
        for w in writers:
            kill(w)
        check_unsequenced(db_url, setup["issued"])
        if r % 2:  # sequence and verify with the key every other round
            S.check_ledger(db_url, setup["issued"])
    assert events(db_url) > before + rounds  # the writers did write between the kills
    S.check_ledger(db_url, setup["issued"])


def test_sequencer_killed_mid_run(db_url: str, tmp_path: Path) -> None:
    rng = random.Random(SEED + 1)
    setup = S.build(db_url, holders=4, issue={"CSINK": 2000})
    spec = tmp_path / "setup.json"
    spec.write_text(json.dumps(setup))
    for r in range(3):
        writer = start("writer", db_url, 500 + r, spec)
        wait_ready(writer)
        seq = start("sequencer", db_url, 0)
        wait_ready(seq)
        time.sleep(rng.uniform(0.05, 0.6))
        kill(seq)
        time.sleep(rng.uniform(0.0, 0.2))
        kill(writer)
        check_unsequenced(db_url, setup["issued"])
    S.check_ledger(db_url, setup["issued"])
