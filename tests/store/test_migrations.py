"""Alembic migrations on SQLite and PostgreSQL: empty → head, head → 0001 → head, the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest
import shapely
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from restora.errors import RestoraError
from restora.inventory.model import Register
from restora.inventory.schema import METALS, TABLES
from restora.store import Store, migrate
from restora.store.engine import create_engine
from restora.store.tables import (
    REGISTER,
    SOFT_DELETE_COLUMNS,
    frame_columns,
    metadata,
    metal_column_name,
)

ROOT = Path(__file__).resolve().parents[2]
REGISTER_TABLES = {"mines", "sites", "samples", "hazards"}

HEAD = ("0012",)
PLATFORM_TABLES = {
    "organisations", "users", "sessions", "api_tokens", "sign_in_failures",  # 0006
    "projects", "appraisals", "jobs",  # 0007
    "disclosures", "complaints", "complaint_photos", "complaint_events",  # 0008
    "listings", "products", "claims", "market_events", "notifications",  # 0009
    "registry_accounts", "registry_policies", "registry_verifications",  # 0010
    "registry_serials", "registry_blocks", "registry_events", "registry_pending",
    "registry_leaves", "registry_nodes", "registry_tree_heads", "registry_keys",
    "registry_requests", "registry_cash", "registry_obligations", "registry_auctions",
    "registry_bids", "registry_orders", "registry_books", "registry_trades",
    "registry_weighbridge", "registry_surplus",
    "monitoring_sensors", "monitoring_campaigns", "monitoring_readings",  # 0011
    "monitoring_quarantine", "monitoring_rules", "monitoring_alerts", "monitoring_alert_events",
    "monitoring_hooks", "monitoring_deliveries", "monitoring_rs_results",
    "monitoring_milestones", "monitoring_signoffs", "finance_tranche_releases",
    "integrity_obligations", "integrity_scores",
    "coordination_meetings", "coordination_followups", "coordination_consultations",  # 0012
}  # fmt: skip


def _tables(url: str) -> set[str]:
    engine = create_engine(url, poolclass=sa.NullPool)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def _columns(url: str, table: str) -> list[str]:
    engine = create_engine(url, poolclass=sa.NullPool)
    try:
        return [c["name"] for c in sa.inspect(engine).get_columns(table)]
    finally:
        engine.dispose()


def test_packaged_revisions() -> None:
    assert migrate.head_revisions() == HEAD == ("0012",)
    assert migrate.known_revisions() == {f"{i:04d}" for i in range(1, 13)}
    script = migrate.script_directory()
    assert script.get_revision("0002").down_revision == "0001"
    assert script.get_revision("0003").down_revision == "0002"
    assert script.get_revision("0004").down_revision == "0003"
    assert script.get_revision("0005").down_revision == "0004"
    assert script.get_revision("0006").down_revision == "0005"  # accounts
    assert script.get_revision("0007").down_revision == "0006"  # projects, appraisals, jobs
    assert script.get_revision("0008").down_revision == "0007"  # disclosure, complaints
    assert script.get_revision("0009").down_revision == "0008"  # library, supply, market
    assert script.get_revision("0010").down_revision == "0009"  # registry
    assert script.get_revision("0011").down_revision == "0010"  # monitoring
    assert script.get_revision("0012").down_revision == "0011"  # coordination record
    assert script.get_revision("0001").down_revision is None


def test_empty_to_head_matches_the_metadata(db_url: str) -> None:
    with Store(db_url) as store:
        assert store.revision() == HEAD
        assert store.at_head()
        with store.engine.connect() as conn:
            # What the migrations built is exactly what tables.py describes: no autogenerate diff.
            diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []
    assert _tables(db_url) == REGISTER_TABLES | PLATFORM_TABLES | {
        "imports",
        "changes",
        "audit",
        "alembic_version",
    }


def test_metadata_covers_the_schema() -> None:
    """Every column of restora.inventory.schema has a column in the store (else: new migration)."""
    for name in REGISTER_TABLES:
        in_schema = [c.name for c in TABLES[name]]
        stored = [col for col, _ in frame_columns(name)]
        assert stored[: len(in_schema)] == in_schema
        table = REGISTER[name]
        assert {c.key for c in table.columns} == set(stored) | {"import_id", *SOFT_DELETE_COLUMNS}
    assert [
        table_col.name for table_col in REGISTER["samples"].columns if table_col.key in METALS
    ] == [metal_column_name(m) for m in METALS]
    assert metal_column_name("Cd") == "cd_mg_per_kg"


def test_head_to_0001_and_back_keeps_the_register(
    db_url: str, sample_register: Register, helpers: SimpleNamespace
) -> None:
    with Store(db_url) as store:
        store.add_register(sample_register, source={"file": "first.csv"})
        before = store.load_register()
        store.downgrade("0001")
        assert store.revision() == ("0001",)
    assert _tables(db_url) == REGISTER_TABLES | {"alembic_version"}
    for name in REGISTER_TABLES:
        assert "import_id" not in _columns(db_url, name)
    # At 0001 the rows are all there, read with plain SQL (this Store expects 0002).
    engine = create_engine(db_url, poolclass=sa.NullPool)
    with engine.connect() as conn:
        counts = {
            name: conn.exec_driver_sql(f"SELECT count(*) FROM {name}").scalar_one()
            for name in REGISTER_TABLES
        }
        wkb = conn.exec_driver_sql("SELECT geometry FROM sites ORDER BY site_id").scalars().all()
    engine.dispose()
    assert counts == {"mines": 2, "sites": 3, "samples": 3, "hazards": 2}
    assert [bytes(b) for b in wkb] == [
        shapely.to_wkb(g, byte_order=1) for g in before.sites["geometry"]
    ]

    with Store(db_url) as store:  # opening migrates back to head
        assert store.revision() == HEAD
        after = store.load_register()
        assert store.imports() == []  # the audit table was dropped with 0001
        with store.engine.connect() as conn:
            assert set(conn.execute(sa.select(REGISTER["mines"].c.import_id)).scalars()) == {None}
            diff = compare_metadata(MigrationContext.configure(conn), metadata)
        assert diff == []
        # Foreign keys still hold after SQLite's table rebuilds: a cascade still cascades.
        with store.engine.begin() as conn:
            mines = REGISTER["mines"]
            conn.execute(sa.delete(mines).where(mines.c.mine_id == "HN-0001"))
        assert store.counts() == {"mines": 1, "sites": 1, "samples": 1, "hazards": 1}
    for name in REGISTER_TABLES:
        g, b = getattr(after, name), getattr(before, name)
        if name == "sites":
            assert [x.wkb for x in g["geometry"]] == [x.wkb for x in b["geometry"]]
            g, b = g.drop(columns="geometry"), b.drop(columns="geometry")
        pd.testing.assert_frame_equal(g, b, check_exact=True)


def test_downgrade_to_base_and_up_again(db_url: str, sample_register: Register) -> None:
    with Store(db_url) as store:
        store.add_register(sample_register)
        store.downgrade("base")
        assert store.revision() == ()
    assert _tables(db_url) == {"alembic_version"}
    with Store(db_url) as store:
        assert store.counts() == {"mines": 0, "sites": 0, "samples": 0, "hazards": 0}
        store.add_register(sample_register)
        assert store.counts()["sites"] == 3


def test_unknown_revision_is_refused(db_url: str) -> None:
    with Store(db_url) as store, store.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '0099'")
    with pytest.raises(RestoraError, match="0099"):
        Store(db_url)


def test_no_migrate_leaves_an_old_database_alone(db_url: str) -> None:
    migrate.upgrade(db_url, "0001")
    store = Store(db_url, migrate_to_head=False)
    try:
        assert store.revision() == ("0001",)
        assert not store.at_head()
    finally:
        store.close()


def test_alembic_command_line(db_url: str) -> None:
    """The shipped alembic.ini works with ``alembic -c`` and RESTORA_DATABASE_URL."""
    ini = ROOT / "src" / "restora" / "store" / "alembic.ini"
    env = {**os.environ, "RESTORA_DATABASE_URL": db_url}

    def alembic(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "alembic", "-c", str(ini), *args],
            env=env,
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT.parent,  # not the project folder: the ini must not depend on it
        )
        return done.stdout + done.stderr

    alembic("upgrade", "head")
    with Store(db_url, migrate_to_head=False) as store:
        assert store.revision() == HEAD
    assert _tables(db_url) == REGISTER_TABLES | PLATFORM_TABLES | {
        "imports",
        "changes",
        "audit",
        "alembic_version",
    }
    alembic("downgrade", "base")
    assert _tables(db_url) == {"alembic_version"}


def test_in_memory_sqlite(sample_register: Register) -> None:
    """``sqlite://`` works (one shared connection) and keeps its rows through a downgrade."""
    with Store("sqlite://") as store:
        store.add_register(sample_register)
        store.downgrade("0001")
        assert store.revision() == ("0001",)
        store.upgrade()
        assert store.counts() == {"mines": 2, "sites": 3, "samples": 3, "hazards": 2}
        with store.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1


# -- revision 0005: soft delete and the audit trail ---------------------------------------


def test_0004_to_0005_keeps_the_register_live_and_back(
    db_url: str, sample_register: Register
) -> None:
    """A register written at 0004 is all live at 0005; 0005 → 0004 → 0005 keeps every row."""
    with Store(db_url) as store:
        store.add_register(sample_register)
        expected = store.load_register()
        store.downgrade("0004")
    assert "changes" not in _tables(db_url) and "audit" not in _tables(db_url)
    assert "deleted_at" not in _columns(db_url, "mines")
    with Store(db_url) as store:  # opening migrates to 0005
        assert store.revision() == HEAD
        assert store.deleted_mines() == [] and store.history() == []
        assert store.counts() == {"mines": 2, "sites": 3, "samples": 3, "hazards": 2}
        got = store.load_register()
        with store.engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), metadata) == []
    for name in REGISTER_TABLES:
        g, e = getattr(got, name), getattr(expected, name)
        if name == "sites":
            assert [x.wkb for x in g["geometry"]] == [x.wkb for x in e["geometry"]]
            g, e = g.drop(columns="geometry"), e.drop(columns="geometry")
        pd.testing.assert_frame_equal(g, e, check_exact=True)


def test_0005_downgrade_refuses_while_records_are_deleted(
    db_url: str, sample_register: Register
) -> None:
    with Store(db_url) as store:
        store.add_register(sample_register)
        store.delete_mine("HN-0002", reason="test", cascade=True)
        with pytest.raises(RuntimeError, match=r"soft-deleted \(1 mines, 1 sites, 1 samples"):
            store.downgrade("0004")
        assert store.revision() == HEAD  # the downgrade's one transaction rolled back
        assert store.counts(include_deleted=True)["mines"] == 2
        store.restore_mine("HN-0002")
        store.downgrade("0004")
        assert store.revision() == ("0004",)
    engine = create_engine(db_url, poolclass=sa.NullPool)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM mines").scalar_one() == 2
    engine.dispose()


def test_0005_triggers_survive_a_round_trip(db_url: str, sample_register: Register) -> None:
    """head → 0004 → head: the append-only triggers are there again (and only once)."""
    with Store(db_url) as store:
        store.add_register(sample_register)
        store.downgrade("0004")
        store.upgrade()
        store.update_mine("HN-0001", {"status": "abandoned"})
        with pytest.raises(sa.exc.DBAPIError, match="append-only"), store.engine.begin() as conn:
            conn.exec_driver_sql("DELETE FROM audit")
        assert len(store.history("HN-0001")) == 1
