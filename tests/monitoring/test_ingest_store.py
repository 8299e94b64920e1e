"""Ingestion in the store (SQLite and PostgreSQL): duplicates, out-of-order readings, the
quarantine and its reasons, unknown mines and sensors, one transaction."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from restora.errors import InputError
from restora.monitoring.payload import parse_message
from restora.store import Store
from restora.store import monitoring as M

T0 = 1777593600  # 2026-05-01T00:00:00Z
NOW = dt.datetime(2026, 5, 1, 1, 0, tzinfo=dt.UTC)


def add_mines(store: Store, *mine_ids: str) -> None:
    with store.engine.begin() as conn:
        for mine_id in mine_ids:
            conn.execute(M.MINES.insert().values(mine_id=mine_id, name=mine_id,
                         region_code="430000", mineral="coal", status="abandoned"))  # fmt: skip


@pytest.fixture
def store(db_url: str):
    with Store(db_url) as s:
        add_mines(s, "M1", "M2")
        yield s


def msg(topic: str, ts: int, value: float, at: dt.datetime = NOW) -> list:
    return parse_message(topic, f'{{"ts": {ts}, "value": {value}}}', received_at=at)


def test_duplicates_and_out_of_order(store):
    topic = "restora/M1/S1/P1/slope_displacement"
    late = NOW + dt.timedelta(minutes=1)
    # minute 3, then 1, then 2 (out of order), then minute 2 again (a redelivery)
    batch1 = msg(topic, T0 + 180, 3.0) + msg(topic, T0 + 60, 1.0)
    r1 = M.ingest(store, batch1, source="mqtt", now=NOW)
    assert (r1.stored, r1.duplicates, r1.quarantined) == (2, 0, 0)
    assert r1.registered == ["M1/S1/P1"]
    r2 = M.ingest(store, msg(topic, T0 + 120, 2.0, late) * 2 + msg(topic, T0 + 60, 1.0, late),
                  source="mqtt", now=late)  # fmt: skip
    assert (r2.stored, r2.duplicates) == (1, 2)  # twice in the batch + once already stored
    s = M.series(store, "M1/S1/P1", "slope_displacement")
    assert [r["value"] for r in s] == [1.0, 2.0, 3.0]  # stored at their measured times
    sensor = M.sensor(store, "M1/S1/P1")
    assert sensor is not None
    # the late reading moved last_seen_at forward but not last_measured_at back (minute 3)
    assert sensor["last_measured_at"] == "2026-05-01T00:03:00+00:00"
    assert sensor["last_seen_at"] == late.isoformat()
    assert sensor["site_id"] == "S1" and sensor["expected_interval_s"] == 900
    # since/until and limit
    assert [r["value"] for r in M.series(store, "M1/S1/P1", "slope_displacement",
            since=dt.datetime(2026, 5, 1, 0, 2, tzinfo=dt.UTC))] == [2.0, 3.0]  # fmt: skip
    assert [r["value"] for r in M.series(store, "M1/S1/P1", "slope_displacement", limit=2)] == [
        2.0, 3.0]  # fmt: skip


def test_quarantine_reasons(store):
    items = (
        msg("restora/M9/-/P1/pm10", T0, 80)  # unknown mine
        + msg("restora/M1/-/P1/pm10", T0, -5)  # outside the valid range
        + parse_message("restora/M1/-/P1/pm10", b"{oops", received_at=NOW)
        + parse_message("restora/M1/-/P1/pm10", b'{"ts": "soon", "value": 1}', received_at=NOW)
        + msg("restora/M1/-/P1/pm10", T0, 80)  # good
    )
    r = M.ingest(store, items, source="mqtt", origin="test", now=NOW)
    assert (r.stored, r.quarantined) == (1, 4)
    q = {row["field"]: row for row in M.quarantine(store)}
    assert q["mine"]["reason"] == "unknown mine 'M9'" and q["mine"]["mine_id"] == "M9"
    assert "outside the valid range" in q["value"]["reason"]
    assert "not an ISO-8601 time" in q["ts"]["reason"]
    assert "not JSON" in q["payload"]["reason"] and q["payload"]["payload"] == "{oops"
    assert all(row["origin"] == "test" and row["source"] == "mqtt" for row in q.values())
    assert M.quarantine(store, mine_id="M9")[0]["field"] == "mine"
    # of a set of mines (a region's): M1's three, none of M9's
    assert sorted(row["field"] for row in M.quarantine(store, mine_ids=["M1", "M2"])) == [
        "payload", "ts", "value"]  # fmt: skip
    assert M.quarantine(store, mine_ids=[]) == []


def test_unknown_sensor_without_auto_register(store):
    r = M.ingest(store, msg("restora/M1/-/X1/pm10", T0, 80), source="http", auto_register=False,
                 now=NOW)  # fmt: skip
    assert (r.stored, r.quarantined) == (0, 1)
    assert M.quarantine(store)[0]["reason"] == "unknown sensor 'M1/-/X1'"
    M.register_sensor(store, mine_id="M1", code="X1", indicators=["pm10", "tsp"], name="dust")
    r = M.ingest(store, msg("restora/M1/-/X1/pm10", T0, 80), source="http", auto_register=False,
                 now=NOW)  # fmt: skip
    assert r.stored == 1


def test_a_failure_leaves_the_store_as_it_was(store, monkeypatch):
    def boom(conn, rows, now):
        raise RuntimeError("alert engine failed")

    monkeypatch.setattr(M.alerts, "evaluate_stored", boom)
    items = msg("restora/M1/-/P1/pm10", T0, 80) + msg("restora/M9/-/P1/pm10", T0, 80)
    with pytest.raises(RuntimeError):
        M.ingest(store, items, source="mqtt", now=NOW)
    assert M.counts(store) == {"sensors": 0, "readings": 0, "quarantined": 0}


def test_known_sensor_learns_indicators_and_latest(store):
    M.register_sensor(store, mine_id="M2", site_id="-", code="W1", indicators=["sw_ph"],
                      interval_s=600, lon=112.9, lat=28.2)  # fmt: skip
    items = (msg("restora/M2/-/W1/sw_ph", T0, 7.2) + msg("restora/M2/-/W1/sw_ph", T0 + 600, 5.5)
             + msg("restora/M2/-/W1/sw_cd", T0, 0.02))  # fmt: skip
    M.ingest(store, items, source="mqtt", now=NOW)
    s = M.sensor(store, "M2/-/W1")
    assert (
        s is not None and s["indicators"] == ["sw_ph", "sw_cd"] and s["expected_interval_s"] == 600
    )
    latest = {r["indicator"]: r for r in M.latest(store, "M2")}
    # pH 5.5 is below 6 (GB 3838 warning) but not below 5 (alarm); Cd 0.02 > 0.01 (class V)
    assert latest["sw_ph"]["value"] == 5.5 and latest["sw_ph"]["level"] == "warning"
    assert latest["sw_cd"]["level"] == "alarm"


def test_register_sensor_checks(store):
    with pytest.raises(InputError, match="unknown mine 'M9'"):
        M.register_sensor(store, mine_id="M9", code="A", indicators=["pm10"])
    with pytest.raises(InputError, match="unknown indicator"):
        M.register_sensor(store, mine_id="M1", code="A", indicators=["pm11"])
    s = M.register_sensor(store, mine_id="M1", code="A", indicators=["pm10", "soil_cd"])
    assert s["expected_interval_s"] == 900  # the shortest of 900 s and one year
    s = M.register_sensor(store, mine_id="M1", code="A", indicators=["pm10"], active=False)
    assert s["active"] is False and [x["id"] for x in M.sensors(store, "M1")] == ["M1/-/A"]


def test_deleted_mine_is_unknown(store):
    with store.engine.begin() as conn:
        conn.execute(sa.update(M.MINES).where(M.MINES.c.mine_id == "M2")
                     .values(deleted_at=NOW, deleted_by="t"))  # fmt: skip
    r = M.ingest(store, msg("restora/M2/-/P/pm10", T0, 1), source="mqtt", now=NOW)
    assert (r.stored, r.quarantined) == (0, 1)
