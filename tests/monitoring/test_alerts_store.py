"""The alert engine in the store, on SQLite and PostgreSQL: threshold raise, escalation,
auto-resolution with hysteresis, acknowledgement and resolution by people, one open alert per
rule x sensor x indicator, offline alerts raised once and resolved by new data, rate and trend
rules, deliveries queued in the transaction of each transition.

Readings are inserted with SQLAlchemy Core into the 0011 tables and judged by
``evaluate_stored`` in the same transaction, as restora.store.monitoring.ingest does.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import sqlalchemy as sa

from restora.errors import InputError
from restora.store import Store
from restora.store import alerts as A
from restora.store import hooks as H
from restora.store.engine import begin_write
from restora.store.monitoring_tables import monitoring_alerts as ALERTS
from restora.store.monitoring_tables import monitoring_deliveries as DELIVERIES
from restora.store.monitoring_tables import monitoring_readings as READINGS


def _support() -> ModuleType:
    """tests/monitoring/alerts_support.py, loaded by path (test folders are not packages)."""
    name = "restora_tests_alerts_support"
    if name not in sys.modules:
        path = Path(__file__).with_name("alerts_support.py")
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        sys.modules[name] = module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    return sys.modules[name]


S = _support()
T0, MINE, SENSOR = S.T0, S.MINE, S.SENSOR
add_sensor, ingest, events, threshold_rule = S.add_sensor, S.ingest, S.events, S.threshold_rule


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    with Store(db_url) as s:
        yield s


def test_threshold_raise_escalate_autoresolve(store: Store) -> None:
    add_sensor(store)
    rule = threshold_rule(store)
    assert ingest(store, [(0, 5.0)]) == []  # 5 < 10: nothing
    (aid,) = ingest(store, [(1, 12.0)])  # 12 >= 10: warning
    a = A.alert(store, aid)
    assert (a["level"], a["state"], a["value"], a["threshold"]) == ("warning", "raised", 12.0, 10.0)
    assert a["rule_id"] == rule["id"] and a["details"]["rule"] == f"ALERT-THRESHOLD-{rule['id']}"
    # latency: received 08:01:02, judged 5 ms later
    assert a["latency_s"] == pytest.approx(0.005)
    assert ingest(store, [(2, 15.0)]) == []  # still a warning: no second alert, nothing changes
    assert A.alert(store, aid)["value"] == 12.0
    assert ingest(store, [(3, 25.0)]) == []  # 25 >= 20: the same alert escalates
    a = A.alert(store, aid)
    assert (a["level"], a["value"], a["threshold"]) == ("alarm", 25.0, 20.0)
    assert ingest(store, [(4, 9.5)]) == []  # 9.5 > 10 - 1: inside, but not by the margin
    assert A.alert(store, aid)["state"] == "raised"
    ingest(store, [(5, 9.0)])  # 9.0 <= 9.0: back inside by the margin
    a = A.alert(store, aid)
    assert (a["state"], a["resolved_by"]) == ("resolved", A.SYSTEM)
    assert events(store, aid) == ["raised", "escalated", "resolved"]
    (aid2,) = ingest(store, [(6, 11.0)])  # a new breach after resolution: a new alert
    assert aid2 != aid
    assert len(A.alerts(store, mine_id=MINE, state="open")) == 1


def test_below_direction_and_batch_in_measured_order(store: Store) -> None:
    add_sensor(store, "M001/S1/W1")
    A.add_rule(
        store,
        kind="threshold",
        level="warning",
        indicator="water_ph",
        sensor_id="M001/S1/W1",
        params={"direction": "below", "warning": 6.0, "alarm": 5.0},
    )
    # one batch, out of order: measured order is 6.5 (t0), 5.5 (t1), 7.0 (t2)
    ids = ingest(
        store, [(2, 7.0), (0, 6.5), (1, 5.5)], sensor_id="M001/S1/W1", indicator="water_ph"
    )
    assert len(ids) == 1
    a = A.alert(store, ids[0])
    # raised by 5.5 (<= 6 warning), resolved by 7.0 (>= 6 + margin 0) measured later
    assert (a["value"], a["state"]) == (5.5, "resolved")


def test_late_reading_does_not_resolve(store: Store) -> None:
    add_sensor(store)
    threshold_rule(store)
    (aid,) = ingest(store, [(10, 12.0)])
    ingest(store, [(5, 3.0)])  # measured before the breach, arriving late
    assert A.alert(store, aid)["state"] == "raised"


def test_people_acknowledge_then_resolve(store: Store) -> None:
    add_sensor(store)
    threshold_rule(store, auto_resolve=False)
    (aid,) = ingest(store, [(0, 12.0)])
    a = A.acknowledge(store, aid, "engineer.li", "going to site", now=T0 + dt.timedelta(hours=1))
    assert (a["state"], a["acknowledged_by"]) == ("acknowledged", "engineer.li")
    with pytest.raises(InputError, match="not raised"):
        A.acknowledge(store, aid, "engineer.li")
    ingest(store, [(70, 2.0)])  # auto_resolve false: only a person closes it
    assert A.alert(store, aid)["state"] == "acknowledged"
    assert ingest(store, [(71, 13.0)]) == []  # one open alert per rule x sensor x indicator
    a = A.resolve(store, aid, "engineer.li", "anchors installed")
    assert (a["state"], a["resolved_by"]) == ("resolved", "engineer.li")
    with pytest.raises(InputError, match="already resolved"):
        A.resolve(store, aid, "x")
    with pytest.raises(InputError, match="no alert 999"):
        A.acknowledge(store, 999, "x")
    assert [e["state"] for e in A.alert(store, aid)["events"]] == [
        "raised",
        "acknowledged",
        "resolved",
    ]
    assert A.alert(store, aid)["events"][1]["note"] == "going to site"


def test_most_specific_scope_wins(store: Store) -> None:
    add_sensor(store)
    add_sensor(store, "M001/S2/P2")
    threshold_rule(store)  # mine: warning 10
    A.add_rule(
        store,
        kind="threshold",
        level="warning",
        indicator="slope_disp",
        sensor_id=SENSOR,
        params={"warning": 30.0},
    )
    assert ingest(store, [(0, 12.0)]) == []  # P1's own rule: 12 < 30
    assert len(ingest(store, [(0, 12.0)], sensor_id="M001/S2/P2")) == 1  # P2: the mine's rule


def test_rate_rule_mm_per_hour(store: Store) -> None:
    add_sensor(store)
    A.add_rule(
        store,
        kind="rate",
        level="warning",
        indicator="slope_disp",
        mine_id=MINE,
        params={"warning": 2.0, "alarm": 5.0, "clear_margin": 0.5},
    )
    assert ingest(store, [(0, 10.0)]) == []  # one reading: no rate
    assert ingest(store, [(30, 10.5)]) == []  # 0.5 mm in 30 min = 1 mm/h < 2
    (aid,) = ingest(store, [(60, 12.0)])  # 1.5 mm in 30 min = 3 mm/h >= 2: warning
    a = A.alert(store, aid)
    assert (a["level"], a["value"], a["threshold"]) == ("warning", pytest.approx(3.0), 2.0)
    ingest(store, [(75, 14.0)])  # 2 mm in 15 min = 8 mm/h >= 5: alarm
    assert A.alert(store, aid)["level"] == "alarm"
    ingest(store, [(135, 15.6)])  # 1.6 mm/h > 2 - 0.5 = 1.5: not cleared
    assert A.alert(store, aid)["state"] == "raised"
    ingest(store, [(195, 17.0)])  # 1.4 mm/h <= 1.5: cleared
    assert A.alert(store, aid)["state"] == "resolved"


def test_rate_rule_over_window(store: Store) -> None:
    add_sensor(store)
    A.add_rule(
        store,
        kind="rate",
        level="alarm",
        indicator="slope_disp",
        mine_id=MINE,
        params={"alarm": 4.0, "window_s": 3600},
    )
    # every 20 min: 0, 1, 2, 3, then 6 at 80 min; window from 20 min (value 1):
    # (6 - 1) / (80 - 20) min = 5 mm/h >= 4; consecutive would be 9 mm/h
    for m, v in [(0, 0.0), (20, 1.0), (40, 2.0), (60, 3.0)]:
        assert ingest(store, [(m, v)]) == []  # 3 mm/h at most
    (aid,) = ingest(store, [(80, 6.0)])
    assert A.alert(store, aid)["value"] == pytest.approx(5.0)


def test_trend_rule(store: Store) -> None:
    add_sensor(store, "M001/S1/C1")
    A.add_rule(
        store,
        kind="trend",
        level="warning",
        indicator="crack_width",
        sensor_id="M001/S1/C1",
        params={"window_s": 86400, "min_points": 6, "alpha": 0.05, "min_slope_per_day": 1.0},
    )
    values = [1.0, 1.2, 1.1, 1.5, 1.7, 1.6, 2.0, 2.2]  # every 3 h
    raised: list[int] = []
    for i, v in enumerate(values):
        raised += ingest(store, [(180 * i, v)], sensor_id="M001/S1/C1", indicator="crack_width")
    # the first verdict with 6 points: S = 11 (15 pairs, 2 decreasing: 1.2>1.1, 1.7>1.6 ... )
    # is checked in test_rules; here: raised once, not resolved by itself (trend)
    assert len(raised) == 1
    a = A.alert(store, raised[0])
    assert a["kind"] == "trend" and a["state"] == "raised"
    assert a["details"]["p"] < 0.05 and a["value"] >= 1.0


def test_offline_raised_once_and_resolved_by_data(store: Store) -> None:
    add_sensor(store, last_seen_at=T0)
    add_sensor(store, "M001/S1/P9", interval_s=3600, last_seen_at=T0)
    assert A.check_offline(store, T0 + dt.timedelta(seconds=900)) == []  # 900 s: not more than
    (aid,) = A.check_offline(store, T0 + dt.timedelta(seconds=901))
    a = A.alert(store, aid)
    assert (a["kind"], a["sensor_id"], a["value"], a["threshold"]) == (
        "offline",
        SENSOR,
        901.0,
        900.0,
    )
    assert A.check_offline(store, T0 + dt.timedelta(seconds=2000)) == []  # once, not per check
    later = A.check_offline(store, T0 + dt.timedelta(seconds=3601))
    assert [A.alert(store, i)["sensor_id"] for i in later] == ["M001/S1/P9"]
    ingest(store, [(40, 1.0)])
    assert A.alert(store, aid)["state"] == "resolved"
    assert A.alert(store, aid)["resolved_by"] == A.SYSTEM


def test_offline_rule_interval_and_level(store: Store) -> None:
    add_sensor(store, last_seen_at=T0)
    A.add_rule(store, kind="offline", level="alarm", mine_id=MINE, params={"interval_s": 300})
    (aid,) = A.check_offline(store, T0 + dt.timedelta(seconds=301))
    assert A.alert(store, aid)["level"] == "alarm"


def test_deliveries_queued_in_the_transaction(store: Store) -> None:
    add_sensor(store)
    threshold_rule(store)
    alarm_only = H.add_hook(store, kind="webhook", target="http://127.0.0.1:9/x", levels=["alarm"])
    this_mine = H.add_hook(store, kind="email", target="ops@example.org", mine_id=MINE)
    H.add_hook(store, kind="email", target="other@example.org", mine_id="M999")
    off = H.add_hook(store, kind="email", target="off@example.org")
    H.deactivate_hook(store, off["id"])
    (aid,) = ingest(store, [(0, 12.0)])  # warning: only this_mine's hook
    ingest(store, [(1, 25.0)])  # escalated to alarm: both
    ds = sorted((d["event"], d["hook_id"]) for d in H.deliveries(store, alert_id=aid))
    assert ds == sorted(
        [
            ("raised", this_mine["id"]),
            ("escalated", this_mine["id"]),
            ("escalated", alarm_only["id"]),
        ]
    )
    # a transaction that fails after evaluate_stored leaves no alert and no delivery
    with pytest.raises(RuntimeError), begin_write(store.engine) as conn:
        row = {
            "sensor_id": "M001/S1/P2",
            "mine_id": MINE,
            "site_id": "S1",
            "indicator": "slope_disp",
            "measured_at": T0,
            "value": 50.0,
            "unit": "mm",
            "received_at": T0,
        }
        rid = conn.execute(
            sa.insert(READINGS).values(**row, source="mqtt", stored_at=T0).returning(READINGS.c.id)
        ).scalar_one()
        assert A.evaluate_stored(conn, [{**row, "id": rid}], T0)
        raise RuntimeError("ingestion failed later")
    with store.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(ALERTS)).scalar_one() == 1
        assert conn.execute(sa.select(sa.func.count()).select_from(DELIVERIES)).scalar_one() == 3


def test_rules_crud_and_validation(store: Store) -> None:
    r = threshold_rule(store)
    assert r["code"] == f"ALERT-THRESHOLD-{r['id']}" and r["params"]["warning"] == 10.0
    assert [x["id"] for x in A.rules(store, mine_id=MINE)] == [r["id"]]
    A.deactivate_rule(store, r["id"])
    assert A.rules(store) == []
    assert len(A.rules(store, active=None)) == 1
    with pytest.raises(InputError, match=r"alarm level 5\.0 must be above"):
        A.add_rule(
            store,
            kind="threshold",
            level="warning",
            indicator="x",
            params={"warning": 10, "alarm": 5},
        )
    with pytest.raises(InputError, match=r"params\.window_s"):
        A.add_rule(store, kind="trend", level="warning", indicator="x", params={})
    with pytest.raises(InputError, match="not a rule kind"):
        A.add_rule(store, kind="spike", level="warning", indicator="x", params={})
    with pytest.raises(InputError, match="not a level"):
        A.add_rule(store, kind="rate", level="red", indicator="x", params={"warning": 1})


def test_catalogue_levels_by_default_and_overridden(store: Store) -> None:
    # sw_ph in the catalogue: outside 6-9 (GB 3838-2002 Table 1) warning, 5 / 10 alarm
    add_sensor(store, "M001/S1/W1")
    w = "M001/S1/W1"
    assert ingest(store, [(0, 7.2)], sensor_id=w, indicator="sw_ph", unit="pH") == []
    (aid,) = ingest(store, [(1, 5.8)], sensor_id=w, indicator="sw_ph", unit="pH")
    a = A.alert(store, aid)
    assert (a["level"], a["threshold"], a["rule_id"]) == ("warning", 6.0, None)
    assert a["details"]["rule"] == "ALERT-THRESHOLD-sw_ph"
    ingest(store, [(2, 4.9)], sensor_id=w, indicator="sw_ph", unit="pH")
    assert A.alert(store, aid)["level"] == "alarm"
    ingest(store, [(3, 6.0)], sensor_id=w, indicator="sw_ph", unit="pH")  # 6.0 complies
    assert A.alert(store, aid)["state"] == "resolved"
    A.add_rule(
        store,
        kind="threshold",
        level="alarm",
        indicator="sw_ph",
        mine_id=MINE,
        params={"direction": "outside", "alarm_low": 5.5, "alarm": 9.5},
    )
    assert ingest(store, [(4, 5.8)], sensor_id=w, indicator="sw_ph", unit="pH") == []
    (aid,) = ingest(store, [(5, 5.4)], sensor_id=w, indicator="sw_ph", unit="pH")
    assert A.alert(store, aid)["level"] == "alarm"


def test_threshold_rules_in_force_as_the_engine_applies_them(store: Store) -> None:
    w, p = ("M001/S1/W1", "S1", MINE, "sw_ph"), ("M001/S1/P1", "S1", MINE, "sw_ph")
    # no stored rule: the catalogue's levels (GB 3838-2002 Table 1: outside 6-9 a warning)
    found = A.threshold_rules_in_force(store, [w])[w]
    assert [ar.rule.code for ar in found] == ["ALERT-THRESHOLD-sw_ph"]
    assert (found[0].rule.params.warning_low, found[0].rule.params.warning) == (6.0, 9.0)
    # a rule of sensor W1 wins over the catalogue for W1 only
    A.add_rule(store, kind="threshold", level="alarm", indicator="sw_ph", sensor_id=w[0],
               params={"direction": "outside", "alarm_low": 5.5, "alarm": 9.5})  # fmt: skip
    got = A.threshold_rules_in_force(store, [w, p])
    assert got[w][0].rule.params.alarm_low == 5.5 and got[w][0].rule.code != "ALERT-THRESHOLD-sw_ph"
    assert [ar.rule.code for ar in got[p]] == ["ALERT-THRESHOLD-sw_ph"]
    # an indicator the catalogue does not know: no rule, no error
    x = ("M001/S1/P1", "S1", MINE, "no_such_indicator")
    assert A.threshold_rules_in_force(store, [x]) == {x: []}


def test_cli_rules_alerts_hooks(db_url: str) -> None:
    from typer.testing import CliRunner

    from restora.cli import app

    def run(*args: str) -> Any:
        return CliRunner().invoke(app, ["monitor", *args, "--db", db_url])

    r = run("rules", "add", "threshold", "-i", "slope_disp", "--mine", MINE,
            "-p", '{"warning": 10, "alarm": 20}', "--by", "li", "-f", "json")  # fmt: skip
    assert r.exit_code == 0, r.output
    rule = json.loads(r.stdout)
    assert (rule["code"], rule["params"]) == (
        f"ALERT-THRESHOLD-{rule['id']}",
        {"auto_resolve": True, "direction": "above", "warning": 10.0, "alarm": 20.0,
         "clear_margin": 0.0},
    )  # fmt: skip
    r = run("rules", "add", "threshold", "-i", "x", "-p", '{"warning": 30, "alarm": 20}')
    assert r.exit_code == 2 and '"params": the alarm level 20.0 must be above' in r.stderr
    r = run("hooks", "add", "email", "not-an-address")
    assert r.exit_code == 2 and 'column "target"' in r.stderr
    with Store(db_url) as store:
        add_sensor(store)
        (aid,) = ingest(store, [(0, 25.0)])
    r = run("alerts", "--state", "open", "-f", "json")
    assert [a["id"] for a in json.loads(r.stdout)] == [aid]
    r = run("alerts", "ack", str(aid), "--note", "on site", "--by", "li", "-f", "json")
    assert r.exit_code == 0 and json.loads(r.stdout)["state"] == "acknowledged"
    r = run("alerts", "resolve", str(aid), "--by", "li", "-f", "csv")
    assert r.exit_code == 0 and ",resolved,alarm," in r.stdout
    r = run("alerts", "resolve", str(aid))
    assert r.exit_code == 2 and "already resolved" in r.stderr
    r = run("alerts", "show", str(aid), "-f", "json")
    assert [e["state"] for e in json.loads(r.stdout)["events"]] == [
        "raised",
        "acknowledged",
        "resolved",
    ]
    r = run("rules", "off", str(rule["id"]))
    assert r.exit_code == 0
    assert json.loads(run("rules", "list", "-f", "json").stdout) == []
    r = run("notify", "-f", "json")
    assert json.loads(r.stdout) == {"sent": 0, "retry": 0, "failed": 0}
