"""Stated detection limits in the store (migration 0004), on SQLite and PostgreSQL.

Issue 11, item 6: a sample's ``<70`` must reach the diagnosis as a limit, not only as its
substitute 35. Before revision 0004 the store had no column for it (these tests failed: no
revision 0004, no ``As_detection_limit``); a database at 0003 kept the limit only as text in
``qualifiers``, which the upgrade reads into the new columns.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import sqlalchemy as sa

from restora.diagnosis.county import classify_samples
from restora.diagnosis.site_zones import detection_limits as zoning_limits
from restora.inventory.schema import METALS
from restora.store import Store, migrate
from restora.store.engine import create_engine
from restora.store.tables import REGISTER, detection_limit_column_name

ON = "2026-12-07"
MINE = {"mine_id": "M1", "name": "砷矿", "region_code": "430181", "mineral": "metal",
        "status": "abandoned"}  # fmt: skip
# GB 15618-2018, paddy, pH 5 (band ≤ 5.5): As screening 30, intervention 200 mg/kg
PADDY = {"mine_id": "M1", "ph": 5.0, "land_use": "paddy", "Cd": 0.2, "Pb": 50.0}


def test_limits_round_trip_exactly(db_url: str, helpers: SimpleNamespace) -> None:
    reg = helpers.make_register(
        [MINE],
        samples=[
            {**PADDY, "sample_id": "T1", "As": 35.0, "As_detection_limit": 70.0,
             "qualifiers": "As=<70"},
            {**PADDY, "sample_id": "T2", "As": 20.0, "Cd_detection_limit": 0.1 + 0.2,
             "qualifiers": "Cd=<0.30000000000000004"},
        ],
    )  # fmt: skip
    with Store(db_url) as store:
        store.add_register(reg)
        back = store.load_register()
        with store.engine.connect() as conn:
            column = REGISTER["samples"].c["As_detection_limit"]
            assert column.name == detection_limit_column_name("As") == "as_dl_mg_per_kg"
            stored = conn.execute(sa.select(column).order_by(REGISTER["samples"].c.sample_id))
            assert [v for (v,) in stored] == [70.0, None]
    pd.testing.assert_frame_equal(back.samples, reg.samples, check_exact=True)


def test_a_limit_given_one_way_is_stored_both_ways(db_url: str, helpers: SimpleNamespace):
    """Numbers for the classification, ``qualifiers`` text for zoning: the same limits."""
    reg = helpers.make_register(
        [MINE],
        samples=[
            {**PADDY, "sample_id": "T1", "As": 35.0, "As_detection_limit": 70.0},  # number only
            {**PADDY, "sample_id": "T2", "As": 35.0, "qualifiers": "Hg=ND; As=<70"},  # text only
        ],
    )
    with Store(db_url) as store:
        store.add_register(reg)
        s = store.load_register().samples.set_index("sample_id")
    assert s.loc["T1", "qualifiers"] == "As=<70"
    assert s.loc["T2", "As_detection_limit"] == 70.0
    censored, limit = zoning_limits(s.reset_index(), list(METALS))
    j = list(METALS).index("As")
    assert limit[:, j].tolist() == [70.0, 70.0] and censored[:, j].all()
    # and the county's classification sees them: both As "<70" > 30 → indeterminate
    classes, _, _ = classify_samples(s.reset_index(), ON)
    assert classes["pollution_class"].tolist() == ["indeterminate", "indeterminate"]


def _insert_0003_rows(url: str) -> None:
    """A mine and three samples written as Restora wrote them at revision 0003."""
    engine = create_engine(url, poolclass=sa.NullPool)
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO mines (mine_id, name, region_code, mineral, status) "
                "VALUES ('M1', '砷矿', '430181', 'metal', 'abandoned')"
            )
        )
        rows = [
            # As "<70": the substitute 35 and the lab's text
            ("T1", 35.0, 0.0, "Hg=ND; As=<70"),
            # a measured value, nothing below detection
            ("T2", 20.0, 0.3, None),
            # "<0.05" in another spelling of the separators
            ("T3", 20.0, 0.3, "cd：<0.05"),
        ]
        for sid, as_, hg, q in rows:
            conn.execute(
                sa.text(
                    "INSERT INTO samples (sample_id, mine_id, ph, land_use, as_mg_per_kg, "
                    "hg_mg_per_kg, cd_mg_per_kg, qualifiers) "
                    "VALUES (:sid, 'M1', 5.0, 'paddy', :as_, :hg, 0.025, :q)"
                ),
                {"sid": sid, "as_": as_, "hg": hg, "q": q},
            )
    engine.dispose()


def test_upgrade_from_0003_reads_the_limits_out_of_qualifiers(db_url: str) -> None:
    migrate.upgrade(db_url, "0003")
    _insert_0003_rows(db_url)
    with Store(db_url) as store:  # opening migrates to head
        assert store.revision() == migrate.head_revisions()
        s = store.load_register().samples.set_index("sample_id")
    assert s.loc["T1", "As_detection_limit"] == 70.0
    assert np.isnan(s.loc["T1", "Hg_detection_limit"])  # ND states no limit
    assert s.loc["T3", "Cd_detection_limit"] == 0.05
    assert s[[f"{m}_detection_limit" for m in METALS]].notna().sum().sum() == 2
    assert s.loc["T1", "qualifiers"] == "Hg=ND; As=<70"  # the lab's text untouched
    # before 0004 the As 35 of T1 was read as a measured 35 > 30: safe_utilization
    classes, _, _ = classify_samples(s.reset_index(), ON)
    got = dict(zip(classes["sample_id"], classes["pollution_class"], strict=True))
    assert got == {"T1": "indeterminate", "T2": "priority_protection", "T3": "priority_protection"}


def test_downgrade_keeps_every_limit_in_qualifiers(db_url: str, helpers: SimpleNamespace):
    reg = helpers.make_register(
        [MINE],
        samples=[
            {**PADDY, "sample_id": "T1", "As": 35.0, "As_detection_limit": 70.0,
             "Cd_detection_limit": 1e-05, "qualifiers": "Hg=ND; As=<70"},
        ],
    )  # fmt: skip
    with Store(db_url) as store:
        store.add_register(reg)
        with store.engine.begin() as conn:  # a limit written by another tool, without text
            conn.execute(sa.text("UPDATE samples SET pb_dl_mg_per_kg = 90"))
        before = store.load_register().samples
        store.downgrade("0003")
    engine = create_engine(db_url, poolclass=sa.NullPool)
    with engine.connect() as conn:
        cols = [c["name"] for c in sa.inspect(conn).get_columns("samples")]
        (text,) = conn.execute(sa.text("SELECT qualifiers FROM samples")).scalars()
    engine.dispose()
    assert not any(c.endswith("_dl_mg_per_kg") for c in cols)
    # at add_register the Cd limit was written into qualifiers too (reconcile_limits); the
    # downgrade wrote the Pb limit, which only the column held
    assert text == "Hg=ND; As=<70; Cd=<0.00001; Pb=<90"
    assert before.loc[0, "Pb_detection_limit"] == 90.0
    with Store(db_url) as store:  # back to 0004: the limits come back from the text
        after = store.load_register().samples
    assert after.loc[0, "qualifiers"] == text
    pd.testing.assert_frame_equal(
        after.drop(columns="qualifiers"), before.drop(columns="qualifiers"), check_exact=True
    )
