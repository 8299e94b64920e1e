"""The register store on SQLite and PostgreSQL: round trip, counts, deletes, audit, rejections."""

from __future__ import annotations

import datetime as dt
import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import shapely
import sqlalchemy as sa

from restora.errors import InputError, RestoraError
from restora.inventory.model import Register
from restora.store import Store, default_url
from restora.store import plan as plan_module
from restora.store.tables import REGISTER, changes, frame_columns, imports

TABLES = ("mines", "sites", "samples", "hazards")


def assert_same_register(got: Register, expected: Register) -> None:
    """Equal tables: same columns, dtypes and values; geometries WKB-identical."""
    for name in TABLES:
        g, e = getattr(got, name), getattr(expected, name)
        assert list(g.columns) == list(e.columns), name
        if name == "sites":
            assert [shapely.to_wkb(x) for x in g["geometry"]] == [
                shapely.to_wkb(x) for x in e["geometry"]
            ]
            g, e = g.drop(columns="geometry"), e.drop(columns="geometry")
        pd.testing.assert_frame_equal(g, e, check_exact=True, obj=name)


# -- round trip ------------------------------------------------------------------------------


def test_round_trip(db_url: str, sample_register: Register, helpers: SimpleNamespace) -> None:
    with Store(db_url) as store:
        written = store.add_register(sample_register, source={"files": ["mines.xlsx"]})
        # sample_register: 2 mines, 3 sites, 3 samples, 2 hazards
        assert written == {"mines": 2, "sites": 3, "samples": 3, "hazards": 2}
        got = store.load_register()
    expected = helpers.sorted_by_id(sample_register)
    assert_same_register(got, expected)
    # Spot checks of what "exactly" means, cell by cell.
    assert got.mines["mine_id"].tolist() == ["HN-0001", "HN-0002"]
    assert got.samples["sample_id"].tolist() == ["P-1", "P-10", "P-2"]  # code-point order
    p2 = got.samples.iloc[2]
    assert p2["sampled_on"] == dt.date(2024, 4, 30) and type(p2["sampled_on"]) is dt.date
    assert p2["Pb"] == 0.1 + 0.2 and p2["Pb"] != 0.3
    assert got.samples.iloc[0]["sampled_on"] is None
    assert math.isnan(got.samples.iloc[0]["Cd"])  # not measured
    assert got.mines.iloc[0]["closure_year"] is pd.NA
    assert pd.isna(got.mines.iloc[0]["responsible_party"])
    assert got.sites["site_id"].tolist() == ["S-1", "S-2", "S-3"]
    assert got.sites["water"].iloc[0] is False or got.sites["water"].iloc[0] == False  # noqa: E712
    assert got.sites["water"].iloc[1] is pd.NA
    assert got.sites["water"].iloc[2]
    assert got.sites.iloc[0]["area_hm2"] == 1.0 / 3.0
    assert got.sites.iloc[1]["area_hm2"] == 0.5
    assert got.sites.iloc[0]["geometry"].geom_type == "MultiPolygon"
    assert len(got.sites.iloc[2]["geometry"].interiors) == 1
    # The domain model reads what the store returns.
    assert got.mine("HN-0001").responsible_party == "absent"
    assert got.sites_of("HN-0001")[0].water is False
    assert got.samples_of("HN-0002")[0].metals_mg_per_kg["Cd"] == 1.8


def test_load_subset(db_url: str, sample_register: Register, helpers: SimpleNamespace) -> None:
    with Store(db_url) as store:
        store.add_register(sample_register)
        got = store.load_register(["HN-0002", "no-such-mine"])
    assert got.mines["mine_id"].tolist() == ["HN-0002"]
    assert got.sites["site_id"].tolist() == ["S-3"]
    assert got.samples["sample_id"].tolist() == ["P-2"]
    assert got.hazards["hazard_id"].tolist() == ["H-1"]


def test_empty_store_loads_empty_register(db_url: str) -> None:
    with Store(db_url) as store:
        got = store.load_register()
        assert store.mine_ids() == []
        assert store.counts() == {"mines": 0, "sites": 0, "samples": 0, "hazards": 0}
    for name in TABLES:
        assert len(getattr(got, name)) == 0
        assert list(getattr(got, name).columns) == list(getattr(Register.empty(), name).columns)


def test_counts_and_ids(db_url: str, sample_register: Register, helpers: SimpleNamespace) -> None:
    extra = helpers.make_register(
        [
            {
                "mine_id": "GZ-7",
                "name": "x",
                "region_code": "520102",
                "mineral": "coal",
                "status": "closed",
            }
        ],
        [
            {
                "site_id": "S-9",
                "mine_id": "HN-0001",
                "kind": "road",
                "geometry": helpers.square(1, 1),
            }
        ],
    )
    with Store(db_url) as store:
        store.add_register(sample_register)
        # A second import may add sites to a mine already in the store.
        assert store.add_register(extra) == {"mines": 1, "sites": 1, "samples": 0, "hazards": 0}
        # 2 + 1 mines, 3 + 1 sites, 3 samples, 2 hazards
        assert store.counts() == {"mines": 3, "sites": 4, "samples": 3, "hazards": 2}
        assert store.mine_ids() == ["GZ-7", "HN-0001", "HN-0002"]


# -- delete ----------------------------------------------------------------------------------


def test_delete_cascades(db_url: str, sample_register: Register, helpers: SimpleNamespace) -> None:
    with Store(db_url) as store:
        store.add_register(sample_register)
        # HN-0001 has sites S-1, S-2, samples P-1, P-10 and hazard H-2.
        assert store.purge_mines(["HN-0001", "not-there"]) == 1
        # left: 1 mine, 3 - 2 sites, 3 - 2 samples, 2 - 1 hazards
        assert store.counts() == {"mines": 1, "sites": 1, "samples": 1, "hazards": 1}
        assert store.purge_mines(["HN-0001"]) == 0
        got = store.load_register()
    expected = helpers.sorted_by_id(sample_register)
    only = Register(
        **{name: getattr(expected, name).query("mine_id == 'HN-0002'") for name in TABLES}
    )
    only = Register(**{n: getattr(only, n).reset_index(drop=True) for n in TABLES})
    assert_same_register(got, only)


def test_database_cascade_alone(db_url: str, sample_register: Register) -> None:
    """The schema's ON DELETE CASCADE works on its own (foreign keys are enforced on SQLite)."""
    with Store(db_url) as store:
        store.add_register(sample_register)
        with store.engine.begin() as conn:
            conn.execute(
                sa.delete(REGISTER["mines"]).where(REGISTER["mines"].c.mine_id == "HN-0002")
            )
        # HN-0002 had S-3, P-2, H-1
        assert store.counts() == {"mines": 1, "sites": 2, "samples": 2, "hazards": 1}


# -- audit -----------------------------------------------------------------------------------


def test_audit_row(db_url: str, sample_register: Register) -> None:
    source = {"files": {"mines.xlsx": "9f86d081884c7d65" * 4}, "options": {"crs": "EPSG:4490"}}
    before = dt.datetime.now(dt.UTC)
    with Store(db_url) as store:
        store.add_register(sample_register, source=source)
        after = dt.datetime.now(dt.UTC)
        (audit,) = store.imports()
        with store.engine.connect() as conn:
            import_ids = {
                name: set(conn.execute(sa.select(REGISTER[name].c.import_id)).scalars())
                for name in TABLES
            }
            raw = conn.execute(sa.select(imports.c.source, imports.c.counts)).one()
    assert audit["id"] >= 1
    assert audit["source"] == source and raw.source == source
    assert audit["counts"] == {"mines": 2, "sites": 3, "samples": 3, "hazards": 2}
    assert audit["imported_at"].tzinfo is not None
    # SQLite keeps microseconds, PostgreSQL too; the stamp is taken inside the call.
    assert before <= audit["imported_at"] <= after
    assert import_ids == {name: {audit["id"]} for name in TABLES}


def test_audit_row_without_source(db_url: str, sample_register: Register) -> None:
    with Store(db_url) as store:
        store.add_register(sample_register)
        store.purge_mines(store.mine_ids())
        store.add_register(sample_register, source={"path": __import__("pathlib").Path("/x/y")})
        audits = store.imports()
    assert [a["source"] for a in audits] == [{}, {"path": "/x/y"}]
    assert audits[0]["id"] < audits[1]["id"]


# -- rejections: nothing is written ----------------------------------------------------------


def _snapshot(store: Store) -> tuple[dict[str, int], int]:
    return store.counts(), len(store.imports())


def _problems(exc: InputError) -> list[tuple[str | None, str | int | None, str | None]]:
    return [(p.file, p.row, p.field) for p in exc.problems]


def _reject(
    db_url: str, first: Register | None, bad: Register, helpers: SimpleNamespace
) -> InputError:
    """Add ``first``, then check that adding ``bad`` raises and changes nothing at all."""
    with Store(db_url) as store:
        if first is not None:
            store.add_register(first)
        before = _snapshot(store)
    digest = helpers.file_digest(db_url) if db_url.startswith("sqlite") else None
    with Store(db_url) as store:
        with pytest.raises(InputError) as info:
            store.add_register(bad, source={"file": "bad.csv"})
        assert _snapshot(store) == before
    if digest is not None:
        assert helpers.file_digest(db_url) == digest
    return info.value


def _mine(mine_id: str) -> dict[str, object]:
    return {
        "mine_id": mine_id,
        "name": f"mine {mine_id}",
        "region_code": "430726",
        "mineral": "coal",
        "status": "abandoned",
    }


def test_reject_duplicate_of_stored_id(
    db_url: str, sample_register: Register, helpers: SimpleNamespace
) -> None:
    bad = helpers.make_register(
        [_mine("NEW-1"), _mine("HN-0002")],
        [{"site_id": "S-1", "mine_id": "NEW-1", "kind": "road", "geometry": helpers.square(1, 1)}],
    )
    err = _reject(db_url, sample_register, bad, helpers)
    assert _problems(err) == [
        ("mines", "id 'HN-0002'", "mine_id"),
        ("sites", "id 'S-1'", "site_id"),
    ]
    assert "already in the store" in str(err)


def test_reject_orphan_site(
    db_url: str, sample_register: Register, helpers: SimpleNamespace
) -> None:
    bad = helpers.make_register(
        [_mine("NEW-1")],
        [
            {
                "site_id": "S-8",
                "mine_id": "NEW-1",
                "kind": "road",
                "geometry": helpers.square(1, 1),
            },
            {
                "site_id": "S-9",
                "mine_id": "GHOST",
                "kind": "road",
                "geometry": helpers.square(2, 2),
            },
        ],
    )
    err = _reject(db_url, sample_register, bad, helpers)
    assert _problems(err) == [("sites", "id 'S-9'", "mine_id")]
    assert "'GHOST' is neither in the register nor in the store" in str(err)


def test_reject_into_empty_store(db_url: str, helpers: SimpleNamespace) -> None:
    """Rejected before any import: the freshly migrated file stays as it is too."""
    bad = helpers.make_register(
        [_mine("A"), _mine("A")],
        samples=[{"sample_id": "P", "mine_id": "A", "ph": 7.0, "land_use": "paddy"}],
    )
    err = _reject(db_url, None, bad, helpers)
    assert _problems(err) == [("mines", "id 'A'", "mine_id")]
    assert "appears more than once" in str(err)


def test_reject_bad_site_references(
    db_url: str, sample_register: Register, helpers: SimpleNamespace
) -> None:
    bad = helpers.make_register(
        [_mine("NEW-1")],
        samples=[
            # S-3 belongs to HN-0002 (in the store), not NEW-1
            {
                "sample_id": "Q-1",
                "mine_id": "NEW-1",
                "site_id": "S-3",
                "ph": 7.0,
                "land_use": "paddy",
            },
            {
                "sample_id": "Q-2",
                "mine_id": "NEW-1",
                "site_id": "S-404",
                "ph": 7.0,
                "land_use": "paddy",
            },
            {
                "sample_id": "Q-3",
                "mine_id": "HN-0002",
                "site_id": "S-3",
                "ph": 7.0,
                "land_use": "paddy",
            },
        ],
        hazards=[{"hazard_id": "H-9", "mine_id": "NEW-1", "site_id": "S-1", "kind": "collapse"}],
    )
    err = _reject(db_url, sample_register, bad, helpers)
    assert _problems(err) == [
        ("samples", "id 'Q-1'", "site_id"),
        ("samples", "id 'Q-2'", "site_id"),
        ("hazards", "id 'H-9'", "site_id"),
    ]
    assert "site 'S-3' belongs to mine 'HN-0002', not 'NEW-1'" in str(err)


def test_reject_bad_cells(db_url: str, helpers: SimpleNamespace) -> None:
    mines = pd.DataFrame(
        {
            "mine_id": ["A", "B", None],
            "name": ["a", None, "c"],
            "region_code": ["430726"] * 3,
            "mineral": ["coal"] * 3,
            "status": ["closed"] * 3,
            "closure_year": [1999.0, 2001.5, np.nan],
        }
    )
    empty = Register.empty()
    samples = pd.DataFrame(
        {
            "sample_id": ["P"],
            "mine_id": ["A"],
            "ph": ["acid"],
            "land_use": ["paddy"],
            "sampled_on": ["2024-13-01"],
        }
    )
    sites = pd.DataFrame(
        {
            "site_id": ["S"],
            "mine_id": ["A"],
            "kind": ["road"],
            "water": ["yes"],
            "geometry": ["POLYGON ((0 0, 1 0, 1 1, 0 0))"],
        }
    )
    bad = Register(mines, sites, samples, empty.hazards)
    err = _reject(db_url, None, bad, helpers)
    assert _problems(err) == [
        ("mines", "row 3", "mine_id"),
        ("mines", "id 'B'", "name"),
        ("mines", "id 'B'", "closure_year"),
        ("sites", "id 'S'", "water"),
        ("sites", "id 'S'", "geometry"),
        ("samples", "id 'P'", "ph"),
        ("samples", "id 'P'", "sampled_on"),
    ]


def test_reject_unknown_and_missing_columns(db_url: str, helpers: SimpleNamespace) -> None:
    empty = Register.empty()
    mines = pd.DataFrame(
        {"mine_id": ["A"], "name": ["a"], "mineral": ["coal"], "status": ["closed"]}
    )
    sites = empty.sites.assign(colour=pd.Series(dtype=object))
    err = _reject(db_url, None, Register(mines, sites, empty.samples, empty.hazards), helpers)
    assert _problems(err) == [("mines", None, "region_code"), ("sites", None, "colour")]


def test_failed_write_rolls_back_everything(
    db_url: str,
    sample_register: Register,
    helpers: SimpleNamespace,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """If the database itself refuses a row mid-write, the audit row and earlier rows go too."""
    clash = helpers.make_register(
        [_mine("NEW-1"), _mine("NEW-2")],
        [{"site_id": "S-1", "mine_id": "NEW-1", "kind": "road", "geometry": helpers.square(1, 1)}],
    )
    # Blind the up-front checks (the store seems to hold none of the incoming ids) so that the
    # site's primary key clashes inside the transaction, after the imports and changes rows
    # and both mines have been inserted.
    with Store(db_url) as store:
        store.add_register(sample_register)
        audit_before = len(store.history())

    def blind(conn, table, ids, chunk):
        nothing = np.array([], dtype=object)
        columns = {key: nothing for key, _ in frame_columns(table)}
        return plan_module.Stored([], columns, nothing, nothing)

    monkeypatch.setattr(plan_module, "fetch", blind)
    err = _reject(db_url, None, clash, helpers)
    assert "the database refused the register" in str(err)
    with Store(db_url) as store:
        assert store.mine_ids() == ["HN-0001", "HN-0002"]
        # no audit row, no change, no imports row of the failed import
        assert len(store.history()) == audit_before
        assert len(store.imports()) == 1
        with store.engine.connect() as conn:
            assert conn.execute(sa.select(sa.func.count()).select_from(changes)).scalar_one() == 1


# -- opening a store -------------------------------------------------------------------------


def test_reopen_up_to_date_store_writes_nothing(
    tmp_path, sample_register: Register, helpers: SimpleNamespace
) -> None:
    url = f"sqlite:///{tmp_path / 'deep' / 'er' / 'restora.db'}"
    with Store(url) as store:  # creates the folders and the file
        store.add_register(sample_register)
    path = tmp_path / "deep" / "er" / "restora.db"
    digest, mtime = helpers.file_digest(url), path.stat().st_mtime_ns
    with Store(url) as store:
        store.load_register()
        store.counts()
        store.mine_ids()
        store.imports()
    assert helpers.file_digest(url) == digest
    assert path.stat().st_mtime_ns == mtime
    assert sorted(p.name for p in path.parent.iterdir()) == ["restora.db"]  # no journal left


def test_default_url(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setenv("RESTORA_DATABASE_URL", "postgresql+psycopg://u@h/db")
    assert default_url() == "postgresql+psycopg://u@h/db"
    monkeypatch.delenv("RESTORA_DATABASE_URL")
    monkeypatch.setattr("platformdirs.user_data_dir", lambda app: str(tmp_path / app))
    assert default_url() == f"sqlite:///{tmp_path / 'restora' / 'restora.db'}"
    with Store() as store:
        assert store.counts()["mines"] == 0
    assert (tmp_path / "restora" / "restora.db").is_file()


def test_unreachable_database_is_a_restora_error(tmp_path) -> None:
    with pytest.raises(RestoraError, match="cannot open the store") as info:
        Store("postgresql+psycopg://nobody:secret@127.0.0.1:9/none?connect_timeout=5")
    assert "secret" not in str(info.value)  # the password is masked
    # A folder where the SQLite file should be: SQLite cannot open it.
    (tmp_path / "restora.db").mkdir()
    with pytest.raises(RestoraError, match="cannot open the store"):
        Store(f"sqlite:///{tmp_path / 'restora.db'}")
