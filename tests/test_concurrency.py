"""Concurrent imports through the real command line: each lands whole or says why (issue 12, 8).

Eight ``restora mines import`` processes start together against one store — a SQLite file, and a
PostgreSQL schema — each with a register of its own ids (20 mines, 40 sites, 20 samples); then
two processes import the same ids. Every process must either land its whole register (exit 0,
its counts in the JSON) or exit 1/2 with one-line messages and no traceback; the store must end
consistent: its counts are the sum of the landed imports, every landed mine has all its records,
no record of a failed import is there, and there is one ``imports`` audit row per landed import
with that import's counts.

On the code before this change, on a new SQLite file 7 of the 8 imports failed ("cannot open the
store: database is locked", the migrations racing), and on a migrated file some failed mid-write
with a traceback (``sqlite3.OperationalError: database is locked``: a deferred transaction that
had read could not take the write lock); on a new PostgreSQL schema the migrations raced
(``UniqueViolation`` tracebacks), and two imports of the same ids failed on the unique key
instead of saying the ids are in the store.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from restora.store import Store

RESTORA = str(Path(sys.executable).with_name("restora"))
N_PROCESSES = 8
MINES_PER_FILE = 20
X0, Y0 = 500_000.0, 3_320_000.0  # EPSG:4547 (CGCS2000 / 3-degree GK CM 114E), ~30° N


def _register_files(folder: Path, prefix: str) -> tuple[list[str], dict[str, int]]:
    """A sites CSV (WKT) and a samples CSV (x, y) in EPSG:4547 of MINES_PER_FILE mines ``prefix``.

    Each mine has two 100 m × 100 m sites (1 hm² each) and one sample.
    """
    folder.mkdir(parents=True, exist_ok=True)
    sites = ["mine_id,name,region_code,mineral,status,site_id,kind,wkt"]
    samples = ["sample_id,mine_id,site_id,x,y,depth_m,ph,land_use,Cd,Pb"]
    for m in range(MINES_PER_FILE):
        mine = f"{prefix}-{m:03d}"
        for s in range(2):
            x, y = X0 + 300 * s, Y0 + 300 * m
            ring = f"{x} {y},{x + 100} {y},{x + 100} {y + 100},{x} {y + 100},{x} {y}"
            sites.append(
                f'{mine},矿{mine},430181,metal,abandoned,{mine}-S{s},open_pit,"POLYGON(({ring}))"'
            )
        x, y = X0 + 50, Y0 + 300 * m + 50  # inside site S0
        samples.append(f"{mine}-P0,{mine},{mine}-S0,{x},{y},0.2,6.5,paddy,0.2,50")
    (folder / "sites.csv").write_text("\n".join(sites) + "\n", encoding="utf-8")
    (folder / "samples.csv").write_text("\n".join(samples) + "\n", encoding="utf-8")
    counts = {"mines": MINES_PER_FILE, "sites": 2 * MINES_PER_FILE, "samples": MINES_PER_FILE}
    return [str(folder / "sites.csv"), str(folder / "samples.csv")], counts


def _start(files: list[str], url: str, env: dict[str, str]) -> subprocess.Popen[str]:
    cmd = [RESTORA, "mines", "import", *files, "--crs", "EPSG:4547", "--db", url, "-f", "json"]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def _env(**extra: str) -> dict[str, str]:
    env = {**os.environ, "COLUMNS": "200", **extra}
    env.pop("RESTORA_DEBUG", None)
    return env


def _finish(proc: subprocess.Popen[str]) -> dict[str, Any]:
    out, err = proc.communicate(timeout=600)
    return {"rc": proc.returncode, "out": out, "err": err}


def _assert_landed_or_said_why(run: dict[str, Any], counts: dict[str, int]) -> bool:
    """True if the import landed whole; else it exited 1 or 2 with messages, no traceback."""
    assert "Traceback" not in run["err"], run["err"]
    if run["rc"] == 0:
        got = json.loads(run["out"])["counts"]
        assert {k: got[k] for k in counts} == counts, got
        return True
    assert run["rc"] in (1, 2), run
    lines = [line for line in run["err"].splitlines() if line.strip()]
    assert lines and lines[0].startswith("error: "), run["err"]
    return False


def _check_store(url: str, landed: list[tuple[str, dict[str, int]]], failed: list[str]) -> None:
    store = Store(url)
    try:
        total = {k: sum(c[k] for _, c in landed) for k in ("mines", "sites", "samples")}
        counts = store.counts()
        assert {k: counts[k] for k in total} == total
        assert counts["hazards"] == 0
        register = store.load_register()
        ids = set(register.mines["mine_id"])
        for prefix, _ in landed:  # every landed mine with all its records
            mines = {f"{prefix}-{m:03d}" for m in range(MINES_PER_FILE)}
            assert mines <= ids
            sites = register.sites[register.sites["mine_id"].isin(mines)]
            assert len(sites) == 2 * MINES_PER_FILE
            assert (register.samples["mine_id"].isin(mines)).sum() == MINES_PER_FILE
        for prefix in failed:  # nothing of a failed import
            assert not any(str(m).startswith(prefix + "-") for m in ids)
        audit = store.imports()
        assert len(audit) == len(landed)
        assert sorted(
            json.dumps({k: row["counts"][k] for k in total}, sort_keys=True) for row in audit
        ) == sorted(json.dumps(c, sort_keys=True) for _, c in landed)
    finally:
        store.close()


def _eight_imports(tmp_path: Path, url: str) -> None:
    jobs = [(f"C{i}", *_register_files(tmp_path / f"c{i}", f"C{i}")) for i in range(N_PROCESSES)]
    procs = [_start(files, url, _env()) for _, files, _ in jobs]
    runs = [_finish(p) for p in procs]
    landed, failed = [], []
    for (prefix, _, counts), run in zip(jobs, runs, strict=True):
        if _assert_landed_or_said_why(run, counts):
            landed.append((prefix, counts))
        else:
            failed.append(prefix)
    # with the busy timeout (60 s) every one of these small imports waits its turn and lands
    assert not failed, [r["err"] for r in runs if r["rc"]]
    _check_store(url, landed, failed)


def _same_ids_twice(tmp_path: Path, url: str) -> None:
    Store(url).close()  # migrated first: this variant is about the ids, not the migrations
    files, counts = _register_files(tmp_path / "same", "S")
    runs = [_finish(p) for p in [_start(files, url, _env()) for _ in range(2)]]
    outcomes = [_assert_landed_or_said_why(run, counts) for run in runs]
    assert sorted(outcomes) == [False, True], runs
    loser = runs[outcomes.index(False)]
    assert loser["rc"] == 2
    assert "S-000" in loser["err"] and "already" in loser["err"], loser["err"]
    _check_store(url, [("S", counts)], [])


def test_eight_concurrent_imports_into_one_new_sqlite_file(tmp_path):
    _eight_imports(tmp_path, f"sqlite:///{tmp_path / 'db' / 'restora.db'}")


def test_two_imports_of_the_same_ids_into_sqlite_one_lands(tmp_path):
    _same_ids_twice(tmp_path, f"sqlite:///{tmp_path / 'db' / 'restora.db'}")


def test_eight_concurrent_imports_into_one_new_postgresql_schema(tmp_path, pg_schema_url):
    _eight_imports(tmp_path, pg_schema_url)


def test_two_imports_of_the_same_ids_into_postgresql_one_lands(tmp_path, pg_schema_url):
    _same_ids_twice(tmp_path, pg_schema_url)


# -- a writer that holds the lock longer than the busy timeout ----------------------------------


def _import_while_locked(tmp_path: Path, url: str, hold: Any) -> dict[str, Any]:
    Store(url).close()
    files, _ = _register_files(tmp_path / "late", "L")
    with hold():
        start = time.monotonic()
        run = _finish(_start(files, url, _env(RESTORA_DB_BUSY_TIMEOUT="1.5")))
        run["waited"] = time.monotonic() - start
    return run


def _assert_busy_message(run: dict[str, Any], url: str) -> None:
    assert run["rc"] == 1, run
    assert "Traceback" not in run["err"]
    lines = [line for line in run["err"].splitlines() if line.strip()]
    assert len(lines) == 1, run["err"]
    assert lines[0].startswith("error: the store ")
    assert "locked by another writer" in lines[0] and "1.5 s" in lines[0]
    assert "RESTORA_DB_BUSY_TIMEOUT" in lines[0] and "nothing was written" in lines[0]
    assert run["waited"] >= 1.5  # it waited for the lock before giving up
    store = Store(url)
    try:
        assert store.counts()["mines"] == 0 and store.imports() == []
    finally:
        store.close()


def test_a_sqlite_store_locked_longer_than_the_busy_timeout_is_one_clear_line(tmp_path):
    """Another process holds the write lock (BEGIN IMMEDIATE) for longer than the timeout."""
    path = tmp_path / "db" / "restora.db"
    url = f"sqlite:///{path}"

    class hold:
        def __enter__(self) -> None:
            self.conn = sqlite3.connect(path, isolation_level=None)
            self.conn.execute("BEGIN IMMEDIATE")

        def __exit__(self, *exc: object) -> None:
            self.conn.execute("ROLLBACK")
            self.conn.close()

    _assert_busy_message(_import_while_locked(tmp_path, url, hold), url)


def test_a_postgresql_store_locked_longer_than_the_busy_timeout_is_one_clear_line(
    tmp_path, pg_schema_url
):
    """Another writer holds the schema's write lock (``begin_write``) and locks ``mines``."""
    from restora.store.engine import begin_write, create_engine

    engine = create_engine(pg_schema_url, poolclass=sa.NullPool)

    class hold:
        def __enter__(self) -> None:
            self.cm = begin_write(engine)
            conn = self.cm.__enter__()
            conn.exec_driver_sql("LOCK TABLE mines IN EXCLUSIVE MODE")  # as a migration would

        def __exit__(self, *exc: object) -> None:
            self.cm.__exit__(None, None, None)

    try:
        _assert_busy_message(_import_while_locked(tmp_path, pg_schema_url, hold), pg_schema_url)
    finally:
        engine.dispose()


def test_a_read_only_store_is_one_clear_line(tmp_path):
    """A store the user cannot write: one line naming it, exit 1, nothing written.

    SQLite opened read-only (``mode=ro``) stands for a file this user may not write (the tests
    run as root, who may write any file).
    """
    path = tmp_path / "db" / "restora.db"
    Store(f"sqlite:///{path}").close()
    url = f"sqlite:///file:{path}?mode=ro&uri=true"
    files, _ = _register_files(tmp_path / "ro", "R")
    run = _finish(_start(files, url, _env()))
    assert run["rc"] == 1, run
    assert "Traceback" not in run["err"]
    lines = [line for line in run["err"].splitlines() if line.strip()]
    assert len(lines) == 1 and "is read-only" in lines[0], run["err"]
    assert "nothing was written" in lines[0]
    store = Store(f"sqlite:///{path}")
    try:
        assert store.counts()["mines"] == 0
    finally:
        store.close()
