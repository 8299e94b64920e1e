"""Keeping the register up to date (issue 12, item 1), on SQLite and PostgreSQL.

Add and upsert imports into a store that already holds the mines, updates of a mine, soft
delete and restore, and the audit trail every change writes. Before this revision the store
could only add whole new mines (``add_register``: "already in the store"), had no update,
only a hard delete, and no record of who changed what: every test here failed then.
"""

from __future__ import annotations

import ast
import datetime as dt
import hashlib
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import shapely
import sqlalchemy as sa

from restora.errors import InputError
from restora.inventory.model import Register
from restora.store import Store
from restora.store import audit as audit_module
from restora.store.audit import Change
from restora.store.tables import APPEND_ONLY, audit, changes

SRC = Path(__file__).resolve().parents[2] / "src" / "restora"
TABLES = ("mines", "sites", "samples", "hazards")
ALICE = Change("test", user="alice", files=[{"path": "a.csv", "sha256": "ab" * 32}])


def _copy(register: Register) -> Register:
    return Register(*(getattr(register, t).copy() for t in TABLES))


def _mine(mine_id: str) -> dict[str, object]:
    return {
        "mine_id": mine_id,
        "name": f"mine {mine_id}",
        "region_code": "430726",
        "mineral": "coal",
        "status": "abandoned",
    }


def _origins(table: str, ids: list[str], file: str, given: set[str]) -> dict[str, pd.DataFrame]:
    return {
        table: pd.DataFrame(
            {
                "id": ids,
                "file": file,
                "row": list(range(1, len(ids) + 1)),
                "given": [frozenset(given)] * len(ids),
            }
        )
    }


def _digest(db_url: str, helpers: SimpleNamespace) -> str | None:
    return helpers.file_digest(db_url) if db_url.startswith("sqlite") else None


def _n_audit(store: Store) -> tuple[int, int]:
    with store.engine.connect() as conn:
        return (
            conn.execute(sa.select(sa.func.count()).select_from(changes)).scalar_one(),
            conn.execute(sa.select(sa.func.count()).select_from(audit)).scalar_one(),
        )


# -- add: new records of mines already in the store ----------------------------------------


def test_add_samples_sites_hazards_to_stored_mines(
    db_url: str, sample_register: Register, helpers: SimpleNamespace
) -> None:
    new = helpers.make_register(
        # HN-0001 repeated as in the store (a sites file carries its mine's columns): a parent
        [sample_register.mines.iloc[1].to_dict()],
        [
            {
                "site_id": "S-4",
                "mine_id": "HN-0001",
                "kind": "road",
                "geometry": helpers.square(5, 5),
            }
        ],
        [
            {
                "sample_id": "P-3",
                "mine_id": "HN-0002",
                "site_id": "S-3",
                "ph": 6.0,
                "land_use": "paddy",
            },
            {
                "sample_id": "P-4",
                "mine_id": "HN-0001",
                "site_id": "S-4",
                "ph": 6.1,
                "land_use": "other",
            },
        ],
        [{"hazard_id": "H-3", "mine_id": "HN-0002", "kind": "landslide"}],
    )
    with Store(db_url) as store:
        store.add_register(sample_register)
        plan = store.import_register(new, mode="add", change=ALICE)
        assert plan.added == {"mines": 0, "sites": 1, "samples": 2, "hazards": 1}
        assert plan.updated == [] and plan.unchanged == 1  # the parent mine
        # 2 + 0 mines, 3 + 1 sites, 3 + 2 samples, 2 + 1 hazards
        assert store.counts() == {"mines": 2, "sites": 4, "samples": 5, "hazards": 3}
        rows = [r for r in store.history() if r["change_id"] == plan.change_id]
    assert [(r["table"], r["id"], r["action"]) for r in rows] == [
        ("sites", "S-4", "insert"),
        ("samples", "P-3", "insert"),
        ("samples", "P-4", "insert"),
        ("hazards", "H-3", "insert"),
    ]
    assert {r["user"] for r in rows} == {"alice"}
    assert rows[0]["files"] == [{"path": "a.csv", "sha256": "ab" * 32}]
    assert rows[1]["after"] == {
        "sample_id": "P-3",
        "mine_id": "HN-0002",
        "site_id": "S-3",
        "ph": 6.0,
        "land_use": "paddy",
    }
    assert rows[0]["before"] is None
    # the inserted polygon by the SHA-256 of its WKB as stored (little-endian)
    wkb = shapely.to_wkb(helpers.square(5, 5), byte_order=1)
    assert rows[0]["after"]["geometry"] == "sha256:" + hashlib.sha256(wkb).hexdigest()


def test_add_refuses_stored_ids_naming_file_row_and_id(
    db_url: str, sample_register: Register, helpers: SimpleNamespace
) -> None:
    changed = sample_register.mines.iloc[0].to_dict() | {"name": "另一个名字"}  # HN-0002
    bad = helpers.make_register(
        [changed],
        samples=[{"sample_id": "P-2", "mine_id": "HN-0002", "ph": 7.0, "land_use": "paddy"}],
    )
    origins = _origins("samples", ["P-2"], "new_samples.csv", {"sample_id", "mine_id", "ph"})
    with Store(db_url) as store:
        store.add_register(sample_register)
        before = (store.counts(), _n_audit(store))
    digest = _digest(db_url, helpers)
    with Store(db_url) as store:
        with pytest.raises(InputError) as info:
            store.import_register(bad, mode="add", origins=origins)
        assert (store.counts(), _n_audit(store)) == before
    assert _digest(db_url, helpers) == digest
    problems = [(p.file, p.row, p.field, p.message) for p in info.value.problems]
    assert problems == [
        (
            "mines",
            "id 'HN-0002'",
            "mine_id",
            "mine 'HN-0002' is already in the store with other values (name: '石门雄黄矿' in "
            "the store, '另一个名字' here); use --mode upsert to change it",
        ),
        (
            "new_samples.csv",
            1,
            "sample_id",
            "sample 'P-2' is already in the store (use --mode upsert to update it)",
        ),
    ]


# -- upsert ------------------------------------------------------------------------------


def test_upsert_updates_changed_fields_with_a_diff(
    db_url: str, sample_register: Register, helpers: SimpleNamespace
) -> None:
    with Store(db_url) as store:
        store.add_register(sample_register)
        edited = _copy(store.load_register())
        # rows in id order: mines HN-0001, HN-0002; sites S-1, S-2, S-3
        edited.mines.loc[1, "status"] = "closed"
        edited.mines.loc[0, "closure_year"] = 2015
        edited.sites.loc[1, "slope_deg"] = 12.5  # was empty
        edited.sites.loc[0, "soil_thickness_m"] = np.nan  # was 0.3: an empty cell clears it
        edited.samples.loc[2, "Pb"] = 0.3  # was 0.1 + 0.2, one ulp away
        new_hazard = helpers.make_register(
            [], hazards=[{"hazard_id": "H-9", "mine_id": "HN-0001", "kind": "collapse"}]
        ).hazards
        edited = Register(
            edited.mines,
            edited.sites,
            edited.samples,
            pd.concat([edited.hazards, new_hazard], ignore_index=True),
        )
        plan = store.import_register(edited, mode="upsert", change=ALICE)
        got = store.load_register()
    assert plan.added == {"mines": 0, "sites": 0, "samples": 0, "hazards": 1}
    assert plan.updated == [
        {"table": "mines", "id": "HN-0001", "changes": {"closure_year": [None, 2015]}},
        {"table": "mines", "id": "HN-0002", "changes": {"status": ["abandoned", "closed"]}},
        {"table": "sites", "id": "S-1", "changes": {"soil_thickness_m": [0.3, None]}},
        {"table": "sites", "id": "S-2", "changes": {"slope_deg": [None, 12.5]}},
        {"table": "samples", "id": "P-2", "changes": {"Pb": [0.1 + 0.2, 0.3]}},
    ]
    # 2 + 3 + 3 + 2 stored records, 5 of them changed
    assert plan.unchanged == 5 and plan.change_id is not None
    assert got.mines["status"].tolist() == ["closed", "closed"]
    assert got.mines["closure_year"].tolist() == [2015, 2011]
    assert got.sites["slope_deg"].tolist()[1] == 12.5
    assert pd.isna(got.sites["soil_thickness_m"].iloc[0])
    assert got.samples["Pb"].iloc[2] == 0.3
    assert got.hazards["hazard_id"].tolist() == ["H-1", "H-2", "H-9"]
    # untouched values stay bit for bit, geometries WKB-identical
    assert got.sites["area_hm2"].iloc[0] == 1.0 / 3.0
    assert [g.wkb for g in got.sites["geometry"]] == [
        g.wkb for g in helpers.sorted_by_id(sample_register).sites["geometry"]
    ]
    with Store(db_url) as store:
        rows = [r for r in store.history("HN-0002") if r["change_id"] == plan.change_id]
    assert [(r["table"], r["id"], r["action"], r["before"], r["after"]) for r in rows] == [
        ("mines", "HN-0002", "update", {"status": "abandoned"}, {"status": "closed"}),
        ("samples", "P-2", "update", {"Pb": 0.1 + 0.2}, {"Pb": 0.3}),
    ]


def test_an_update_records_both_polygons_whole(
    db_url: str, sample_register: Register, helpers: SimpleNamespace
) -> None:
    with Store(db_url) as store:
        store.add_register(sample_register)
        edited = _copy(store.load_register())
        edited.sites.loc[1, "geometry"] = helpers.square(111.3, 31.3)  # S-2, was (111.2, 31.2)
        edited.sites.loc[1, "area_hm2"] = 0.75
        plan = store.import_register(edited, mode="upsert")
        (row,) = [r for r in store.history("HN-0001") if r["action"] == "update"]
    (update,) = plan.updated
    assert sorted(update["changes"]) == ["area_hm2", "geometry"]
    assert row["before"]["area_hm2"] == 0.5 and row["after"]["area_hm2"] == 0.75
    # WKT at full precision: reading it back gives the very polygons
    assert shapely.from_wkt(row["before"]["geometry"]).equals_exact(helpers.square(111.2, 31.2), 0)
    assert shapely.from_wkt(row["after"]["geometry"]).equals_exact(helpers.square(111.3, 31.3), 0)


def test_upsert_of_the_same_register_writes_nothing(
    db_url: str, sample_register: Register, helpers: SimpleNamespace
) -> None:
    with Store(db_url) as store:
        store.add_register(sample_register)
        before = _n_audit(store)
    digest = _digest(db_url, helpers)
    with Store(db_url) as store:
        plan = store.import_register(store.load_register(), mode="upsert")
        assert plan.updated == [] and plan.unchanged == 10 and plan.change_id is None
        assert _n_audit(store) == before
    assert _digest(db_url, helpers) == digest


def test_upsert_leaves_columns_the_file_did_not_give(
    db_url: str, sample_register: Register, helpers: SimpleNamespace
) -> None:
    """A sites file without slope or water columns: the reader fills them (NaN, False) but the
    stored values stay; its declared area is given and updates."""
    with Store(db_url) as store:
        store.add_register(sample_register)
        edited = _copy(store.load_register())
        edited.sites["slope_deg"] = np.nan
        edited.sites["water"] = pd.array([False] * 3, dtype="boolean")
        edited.sites.loc[2, "declared_area_hm2"] = 13.0  # S-3, was 12.5
        given = {"site_id", "mine_id", "kind", "declared_area_hm2", "geometry"}
        origins = _origins("sites", edited.sites["site_id"].tolist(), "s.gpkg", given)
        plan = store.import_register(edited, mode="upsert", origins=origins)
        got = store.load_register()
    assert plan.updated == [
        {"table": "sites", "id": "S-3", "changes": {"declared_area_hm2": [12.5, 13.0]}}
    ]
    assert got.sites["slope_deg"].iloc[0] == 35.5
    assert got.sites["water"].iloc[2]


def test_upsert_of_some_metals_keeps_the_others_qualifiers(
    db_url: str, helpers: SimpleNamespace
) -> None:
    """A lab's file of Pb results only: the stored Hg=ND and As=<70 stay, Pb's limit is new."""
    reg = helpers.make_register(
        [_mine("M")],
        samples=[
            {
                "sample_id": "T1",
                "mine_id": "M",
                "ph": 5.0,
                "land_use": "paddy",
                "Hg": 0.0,
                "As": 35.0,
                "As_detection_limit": 70.0,
                "Pb": 40.0,
                "qualifiers": "Hg=ND",
            }
        ],
    )
    with Store(db_url) as store:
        store.add_register(reg)
        lab = _copy(reg)
        lab.samples["Hg"] = np.nan  # not in the lab's file
        lab.samples["As"] = np.nan
        lab.samples["As_detection_limit"] = np.nan
        lab.samples["Pb"] = 2.5  # <5 → ½·5 (soil/indices/non-detect)
        lab.samples["Pb_detection_limit"] = 5.0
        lab.samples["qualifiers"] = "Pb=<5"
        given = {"sample_id", "mine_id", "ph", "land_use", "Pb"}
        origins = _origins("samples", ["T1"], "lab.csv", given)
        plan = store.import_register(lab, mode="upsert", origins=origins)
        got = store.load_register().samples.iloc[0]
    assert plan.updated == [
        {
            "table": "samples",
            "id": "T1",
            "changes": {
                "qualifiers": ["Hg=ND; As=<70", "Hg=ND; As=<70; Pb=<5"],
                "Pb": [40.0, 2.5],
                "Pb_detection_limit": [None, 5.0],
            },
        }
    ]
    assert (got["Hg"], got["As"], got["As_detection_limit"]) == (0.0, 35.0, 70.0)


def test_dry_run_shows_the_plan_and_writes_nothing(
    db_url: str, sample_register: Register, helpers: SimpleNamespace
) -> None:
    with Store(db_url) as store:
        store.add_register(sample_register)
        edited = _copy(store.load_register())
        edited.mines.loc[1, "status"] = "closed"
        before = (store.counts(), _n_audit(store), len(store.imports()))
    digest = _digest(db_url, helpers)
    with Store(db_url) as store:
        dry = store.import_register(edited, mode="upsert", dry_run=True)
        assert (store.counts(), _n_audit(store), len(store.imports())) == before
        assert store.load_register().mines["status"].tolist() == ["closed", "abandoned"]
    assert _digest(db_url, helpers) == digest  # byte for byte
    assert dry.dry_run and dry.change_id is None
    with Store(db_url) as store:
        real = store.import_register(edited, mode="upsert")
    assert (dry.added, dry.updated, dry.unchanged) == (real.added, real.updated, real.unchanged)
    assert dry.updated == [
        {"table": "mines", "id": "HN-0002", "changes": {"status": ["abandoned", "closed"]}}
    ]


def test_dry_run_reports_the_same_problems(
    db_url: str, sample_register: Register, helpers: SimpleNamespace
) -> None:
    bad = helpers.make_register(
        [], samples=[{"sample_id": "Q", "mine_id": "GHOST", "ph": 7.0, "land_use": "paddy"}]
    )
    with Store(db_url) as store:
        store.add_register(sample_register)
        with pytest.raises(InputError, match="'GHOST' is neither in the register nor in the store"):
            store.import_register(bad, dry_run=True)


def test_site_moved_to_another_mine_takes_its_samples(
    db_url: str, sample_register: Register, helpers: SimpleNamespace
) -> None:
    with Store(db_url) as store:
        store.add_register(sample_register)
        stored = store.load_register()
        # S-1 (HN-0001) has sample P-10 and hazard H-2 in the store
        moved = Register(
            stored.mines.iloc[:0],
            stored.sites[stored.sites["site_id"] == "S-1"].assign(mine_id="HN-0002"),
            stored.samples.iloc[:0],
            stored.hazards.iloc[:0],
        )
        with pytest.raises(InputError) as info:
            store.import_register(moved, mode="upsert")
        assert str(info.value) == (
            "sites, id 'S-1', column \"mine_id\": site 'S-1' moves to mine 'HN-0002', but "
            "sample 'P-10', hazard 'H-2' of the store stay with its old mine; move them in "
            "the same import"
        )
        along = Register(
            moved.mines,
            moved.sites,
            stored.samples[stored.samples["sample_id"] == "P-10"].assign(mine_id="HN-0002"),
            stored.hazards[stored.hazards["hazard_id"] == "H-2"].assign(mine_id="HN-0002"),
        )
        plan = store.import_register(along, mode="upsert")
        assert [(u["table"], u["id"]) for u in plan.updated] == [
            ("sites", "S-1"),
            ("samples", "P-10"),
            ("hazards", "H-2"),
        ]
        assert store.load_register(["HN-0002"]).sites["site_id"].tolist() == ["S-1", "S-3"]


# -- update, delete, restore ---------------------------------------------------------------


def test_update_mine(db_url: str, sample_register: Register, helpers: SimpleNamespace) -> None:
    with Store(db_url) as store:
        store.add_register(sample_register)
        plan = store.update_mine(
            "HN-0001", {"status": "abandoned", "responsible_party": "某公司"}, change=ALICE
        )
        assert plan.updated == [
            {
                "table": "mines",
                "id": "HN-0001",
                "changes": {
                    "status": ["closed", "abandoned"],
                    "responsible_party": [None, "某公司"],
                },
            }
        ]
        mine = store.load_register(["HN-0001"]).mines.iloc[0]
        assert (mine["status"], mine["responsible_party"]) == ("abandoned", "某公司")
        before = _n_audit(store)
        assert store.update_mine("HN-0001", {"status": "abandoned"}).change_id is None
        assert _n_audit(store) == before  # nothing changed, nothing written
        for values, message in (
            ({"name": None}, "a value is required"),
            ({"colour": "red"}, "not a mine column that can be changed: colour"),
            ({"mine_id": "X"}, "not a mine column that can be changed: mine_id"),
        ):
            with pytest.raises(InputError, match=message):
                store.update_mine("HN-0001", values)
        with pytest.raises(InputError, match="'NOPE' is not in the register"):
            store.update_mine("NOPE", {"status": "closed"})
        assert _n_audit(store) == before


def test_delete_is_refused_while_records_depend_on_the_mine(
    db_url: str, sample_register: Register, helpers: SimpleNamespace
) -> None:
    with Store(db_url) as store:
        store.add_register(sample_register)
        before = _n_audit(store)
        with pytest.raises(InputError) as info:
            store.delete_mine("HN-0001", reason="duplicate of HN-0002")
        assert str(info.value) == (
            "column \"mine_id\": mine 'HN-0001' has 2 sites (S-1, S-2), 2 samples (P-1, P-10) "
            "and 1 hazard (H-2); delete them with it (--cascade) or move them to another mine "
            "first"
        )
        with pytest.raises(InputError, match="a reason is required"):
            store.delete_mine("HN-0001", reason="  ", cascade=True)
        assert _n_audit(store) == before
        assert store.counts()["mines"] == 2


def test_delete_cascade_hides_the_mine_and_restore_brings_it_back(
    db_url: str, sample_register: Register, helpers: SimpleNamespace
) -> None:
    start = dt.datetime.now(dt.UTC)
    with Store(db_url) as store:
        store.add_register(sample_register)
        everything = store.load_register()
        result = store.delete_mine(
            "HN-0001", reason="duplicate of HN-0002", cascade=True, change=ALICE
        )
        assert result["deleted"] == {
            "mines": ["HN-0001"],
            "sites": ["S-1", "S-2"],
            "samples": ["P-1", "P-10"],
            "hazards": ["H-2"],
        }
        # every read leaves the deleted records out
        assert store.mine_ids() == ["HN-0002"]
        assert store.counts() == {"mines": 1, "sites": 1, "samples": 1, "hazards": 1}
        live = store.load_register()
        assert live.sites["site_id"].tolist() == ["S-3"]
        assert len(store.load_register(["HN-0001"]).mines) == 0
        assert "S-1" not in store.site_owners()
        # ... unless asked
        assert store.mine_ids(include_deleted=True) == ["HN-0001", "HN-0002"]
        assert store.counts(include_deleted=True) == {
            "mines": 2,
            "sites": 3,
            "samples": 3,
            "hazards": 2,
        }
        (deleted,) = store.deleted_mines()
        assert deleted["mine_id"] == "HN-0001" and deleted["deleted_by"] == "alice"
        assert deleted["deleted_reason"] == "duplicate of HN-0002"
        assert start <= deleted["deleted_at"] <= dt.datetime.now(dt.UTC)
        # a deleted record is neither changed nor added again, nor a parent
        again = helpers.make_register(
            [], samples=[{"sample_id": "P-9", "mine_id": "HN-0001", "ph": 7.0, "land_use": "paddy"}]
        )
        with pytest.raises(InputError, match="mine 'HN-0001' is deleted in the store"):
            store.import_register(again)
        with pytest.raises(InputError, match="was deleted from the store"):
            store.import_register(everything, mode="upsert")
        with pytest.raises(InputError, match="restore it first"):
            store.update_mine("HN-0001", {"status": "closed"})
        with pytest.raises(InputError, match="already deleted"):
            store.delete_mine("HN-0001", reason="again", cascade=True)
        restored = store.restore_mine("HN-0001")
        assert restored["restored"] == result["deleted"]
        with pytest.raises(InputError, match="'HN-0001' is not deleted"):
            store.restore_mine("HN-0001")
        back = store.load_register()
        history = store.history("HN-0001")
    for name in TABLES:
        pd.testing.assert_frame_equal(
            getattr(back, name).drop(columns="geometry", errors="ignore"),
            getattr(everything, name).drop(columns="geometry", errors="ignore"),
            check_exact=True,
        )
    actions = [(r["action"], r["table"], r["id"]) for r in history if r["action"] != "insert"]
    assert actions == [
        ("delete", "sites", "S-1"),
        ("delete", "sites", "S-2"),
        ("delete", "samples", "P-1"),
        ("delete", "samples", "P-10"),
        ("delete", "hazards", "H-2"),
        ("delete", "mines", "HN-0001"),
        ("restore", "mines", "HN-0001"),
        ("restore", "sites", "S-1"),
        ("restore", "sites", "S-2"),
        ("restore", "samples", "P-1"),
        ("restore", "samples", "P-10"),
        ("restore", "hazards", "H-2"),
    ]
    delete_row = next(r for r in history if r["action"] == "delete")
    assert delete_row["before"] == {"deleted_at": None, "deleted_by": None, "deleted_reason": None}
    assert delete_row["after"]["deleted_by"] == "alice"
    assert delete_row["after"]["deleted_reason"] == "duplicate of HN-0002"
    assert delete_row["after"]["deleted_at"] == deleted["deleted_at"].isoformat()


def test_a_mine_without_records_is_deleted_without_cascade(
    db_url: str, helpers: SimpleNamespace
) -> None:
    with Store(db_url) as store:
        store.add_register(helpers.make_register([_mine("EMPTY"), _mine("OTHER")]))
        result = store.delete_mine("EMPTY", reason="entered twice")
        assert result["deleted"]["mines"] == ["EMPTY"] and store.mine_ids() == ["OTHER"]


def test_purge_is_audited_with_the_whole_record(
    db_url: str, sample_register: Register, helpers: SimpleNamespace
) -> None:
    with Store(db_url) as store:
        store.add_register(sample_register)
        assert store.purge_mines(["HN-0002", "none"]) == 1
        rows = [r for r in store.history("HN-0002") if r["action"] == "purge"]
    assert [(r["table"], r["id"]) for r in rows] == [
        ("sites", "S-3"),
        ("samples", "P-2"),
        ("hazards", "H-1"),
        ("mines", "HN-0002"),
    ]
    assert rows[-1]["before"]["name"] == "石门雄黄矿" and rows[-1]["after"] is None


# -- the audit trail is append-only -------------------------------------------------------


@pytest.mark.parametrize("table", APPEND_ONLY)
def test_the_database_refuses_to_change_audit_rows(
    db_url: str, sample_register: Register, table: str
) -> None:
    with Store(db_url) as store:
        store.add_register(sample_register)
        store.update_mine("HN-0001", {"status": "abandoned"})
        before = _n_audit(store), len(store.imports())
        for sql in (f"UPDATE {table} SET id = id + 100", f"DELETE FROM {table}"):
            with (
                pytest.raises(sa.exc.DBAPIError, match="append-only"),
                store.engine.begin() as conn,
            ):
                conn.exec_driver_sql(sql)
        if db_url.startswith("postgresql"):
            with (
                pytest.raises(sa.exc.DBAPIError, match="append-only"),
                store.engine.begin() as conn,
            ):
                conn.exec_driver_sql(f"TRUNCATE {table} CASCADE")
        assert (_n_audit(store), len(store.imports())) == before


def _writes_to(tree: ast.AST, names: set[str]) -> list[str]:
    """Calls that update or delete rows of the tables ``names`` in a module's syntax tree."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            # audit.update(), changes.delete(...), sa.update(audit), sa.delete(changes)
            if isinstance(func, ast.Attribute) and func.attr in ("update", "delete"):
                target = func.value
                if isinstance(target, ast.Name) and target.id in names:
                    found.append(f"{target.id}.{func.attr}()")
                if (
                    isinstance(target, ast.Name)
                    and target.id in ("sa", "sqlalchemy")
                    and node.args
                    and isinstance(node.args[0], ast.Name)
                    and node.args[0].id in names
                ):
                    found.append(f"sa.{func.attr}({node.args[0].id})")
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = " ".join(node.value.upper().split())
            for name in names:
                for verb in ("UPDATE ", "DELETE FROM ", "TRUNCATE "):
                    if f"{verb}{name.upper()} " in text + " " or f'{verb}{name.upper()}"' in text:
                        found.append(f"SQL text {node.value[:60]!r}")
    return found


def test_no_code_path_updates_or_deletes_audit_rows() -> None:
    """Every module of the package, read as source: no UPDATE or DELETE of the audit tables.

    The migration 0005 is the only place that names them in SQL text, to create (and on
    downgrade drop) the triggers that refuse such statements; it is left out.
    """
    names = set(APPEND_ONLY)
    offenders = {}
    for path in sorted(SRC.rglob("*.py")):
        if path.name.startswith("0005_"):
            continue
        found = _writes_to(ast.parse(path.read_text(encoding="utf-8")), names)
        if found:
            offenders[str(path.relative_to(SRC))] = found
    assert offenders == {}
    # the scan does find such code
    bad = ast.parse("audit.update().values(x=1)\nsa.delete(changes)\nq = 'DELETE FROM audit'")
    assert sorted(_writes_to(bad, names)) == [
        "SQL text 'DELETE FROM audit'",
        "audit.update()",
        "sa.delete(changes)",
    ]


def test_a_failed_change_leaves_no_audit_row_and_no_data(
    db_url: str,
    sample_register: Register,
    helpers: SimpleNamespace,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The audit rows fail to write after the records were: the records go too."""
    with Store(db_url) as store:
        store.add_register(sample_register)
        before = (store.counts(), _n_audit(store), len(store.imports()))
    digest = _digest(db_url, helpers)

    def broken(self, conn, change_id):
        raise sa.exc.IntegrityError("INSERT INTO audit", None, Exception("disk full"))

    monkeypatch.setattr(audit_module.AuditRows, "write", broken)
    new = helpers.make_register(
        [_mine("NEW")],
        [{"site_id": "S-9", "mine_id": "NEW", "kind": "road", "geometry": helpers.square(3, 3)}],
    )
    with Store(db_url) as store:
        with pytest.raises(InputError, match="the database refused"):
            store.import_register(new)
        with pytest.raises(sa.exc.IntegrityError):
            store.update_mine("HN-0001", {"status": "abandoned"})
        with pytest.raises(sa.exc.IntegrityError):
            store.delete_mine("HN-0002", reason="x", cascade=True)
        assert (store.counts(), _n_audit(store), len(store.imports())) == before
        assert store.load_register(["HN-0001"]).mines["status"].iloc[0] == "closed"
    assert _digest(db_url, helpers) == digest


# -- the upsert is vectorised ---------------------------------------------------------------


def test_upsert_sends_a_few_statements_whatever_the_number_of_rows(
    db_url: str, helpers: SimpleNamespace
) -> None:
    """3 000 sites, half of them changed: the statements sent do not grow with the rows."""
    n = 3000
    sites = [
        {
            "site_id": f"S{i:05d}",
            "mine_id": f"M{i % 10}",
            "kind": "road",
            "slope_deg": float(i % 40),
            "geometry": helpers.square(100 + i * 0.01, 30),
        }
        for i in range(n)
    ]
    reg = helpers.make_register([_mine(f"M{i}") for i in range(10)], sites)
    with Store(db_url) as store:
        store.add_register(reg)
        edited = _copy(store.load_register())
        half = np.arange(n) % 2 == 0
        edited.sites.loc[half, "slope_deg"] = edited.sites.loc[half, "slope_deg"] + 1.0
        statements: list[str] = []

        def count(conn, cursor, statement, parameters, context, executemany):
            statements.append(statement)

        sa.event.listen(store.engine, "before_cursor_execute", count)
        plan = store.import_register(edited, mode="upsert")
        sa.event.remove(store.engine, "before_cursor_execute", count)
        got = store.load_register().sites["slope_deg"].to_numpy()
    assert len(plan.updated) == n // 2 and plan.unchanged == n // 2 + 10
    assert np.array_equal(got, edited.sites["slope_deg"].to_numpy())
    # reads of the 4 tables, the lookups, one imports, changes, UPDATE (+ temporary table on
    # PostgreSQL) and audit statement: far fewer than one per row
    assert len(statements) < 40, statements
