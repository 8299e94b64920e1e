"""Monitoring over HTTP (issue 16): the batch upload stores readings and counts duplicates, a
bad reading is a 422 naming its field and nothing is stored, the quarantine keeps what a
gateway sent wrong, a field campaign's file, the latest values with their status against the
thresholds in force, series, the alert lifecycle through the API, rules and hooks, and who may
do what (public and village refused, evaluators read, the ecology bureau writes its region,
an enterprise reads its own mines only) — on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from restora.service import credentials
from restora.store import accounts
from restora.store.audit import Change

API = "/api/v1/monitoring"
PASSWORD = "correct horse battery staple"
COUNTY = "430599"
#: the app's clock in these tests (readings are stamped before it)
NOW = dt.datetime(2026, 5, 1, 4, 0, tzinfo=dt.UTC)


@dataclass
class World:
    client: TestClient
    h: dict[str, dict[str, str]]
    engine: sa.Engine


def _bearer(engine: Any, username: str, role: str, **kw: Any) -> dict[str, str]:
    account = credentials.new_account(
        engine, username=username, role=role, password=PASSWORD, change=Change("t"), **kw
    )
    token, sha = credentials.new_token(credentials.TOKEN_PREFIX)
    accounts.create_token(
        engine, account.id, name="t", token_sha256=sha, expires_at=None, change=Change("t")
    )
    return {"Authorization": f"Bearer {token}"}


def _mines_and_project(engine: sa.Engine, firm: int) -> None:
    from restora.store.platform_tables import projects
    from restora.store.tables import mines

    with engine.begin() as conn:
        conn.execute(
            mines.insert(),
            [
                {"mine_id": "QS-M01", "name": "青山一号矿", "region_code": COUNTY,
                 "mineral": "coal", "status": "abandoned"},
                {"mine_id": "QS-M02", "name": "青山二号矿", "region_code": COUNTY,
                 "mineral": "coal", "status": "abandoned"},
                {"mine_id": "GZ-M01", "name": "外市矿", "region_code": "440105",
                 "mineral": "limestone", "status": "abandoned"},
            ],
        )  # fmt: skip
        conn.execute(
            projects.insert().values(
                project_id="QS-P1", name="一号矿修复", region_code=COUNTY,
                spec={"project_id": "QS-P1", "mines": ["QS-M01"]}, owner_org_id=firm,
                created_at=NOW, updated_at=NOW, published=False,
            )
        )  # fmt: skip


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def w(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    from restora.service.app import create_app
    from restora.service.settings import Settings

    url = (
        f"sqlite:///{tmp_path / 'm.db'}"
        if request.param == "sqlite"
        else str(request.getfixturevalue("pg_schema_url"))
    )
    app = create_app(
        Settings(
            database_url=url,
            secret_key="test-secret-key",
            secret_key_from_env=True,
            data_dir=tmp_path / "data",
        )
    )
    app.state.clock = lambda: NOW
    engine = app.state.store.engine
    firm = accounts.create_organisation(engine, "青山修复", "enterprise", change=Change("t"))["id"]
    other = accounts.create_organisation(engine, "另一家", "enterprise", change=Change("t"))["id"]
    _mines_and_project(engine, firm)
    h = {
        "eco": _bearer(engine, "m-eco", "ecology_environment", region_code=COUNTY),
        "eco_away": _bearer(engine, "m-eco-away", "ecology_environment", region_code="999900"),
        "nr": _bearer(engine, "m-nr", "natural_resources", region_code=COUNTY),
        "eval": _bearer(engine, "m-eval", "evaluator"),
        "firm": _bearer(engine, "m-firm", "enterprise", org_id=firm, region_code=COUNTY),
        "other": _bearer(engine, "m-other", "enterprise", org_id=other, region_code=COUNTY),
        "village": _bearer(engine, "m-village", "village", region_code=COUNTY),
        "admin": _bearer(engine, "m-admin", "admin"),
        "public": {},
    }
    with TestClient(app, raise_server_exceptions=False) as c:
        yield World(c, h, engine)


def reading(sensor: str, indicator: str, ts: str, value: float, **kw: Any) -> dict[str, Any]:
    return {"mine_id": "QS-M01", "sensor": sensor, "indicator": indicator, "ts": ts,
            "value": value, **kw}  # fmt: skip


def upload(w: World, readings: list[dict[str, Any]], who: str = "eco", **params: Any) -> Any:
    return w.client.post(f"{API}/readings", json={"readings": readings}, headers=w.h[who],
                         params=params)  # fmt: skip


def test_batch_upload_stores_counts_duplicates_and_refuses_a_bad_reading(w: World) -> None:
    batch = [
        reading("GNSS-1", "slope_displacement", "2026-05-01T09:00:00+08:00", 4.0),
        reading("GNSS-1", "slope_displacement", "2026-05-01T10:00:00+08:00", 6.5),
        # 0.6 cm is 6 mm (converted to the catalogue's unit)
        reading("GNSS-2", "slope_displacement", "2026-05-01T10:00:00+08:00", 0.6, unit="cm"),
    ]
    r = upload(w, batch)
    assert r.status_code == 200, r.text
    assert r.json() == {"stored": 3, "duplicates": 0, "quarantined": 0, "alert_ids": [],
                        "campaign_id": None}  # fmt: skip
    # the same messages again (a gateway's retry): counted, not stored twice
    r = upload(w, batch[1:])
    assert (r.json()["stored"], r.json()["duplicates"]) == (0, 2)

    latest = w.client.get(f"{API}/mines/QS-M01/latest", headers=w.h["eval"]).json()
    got = {(x["sensor_id"], x["value"], x["unit"], x["measured_at"][:19]) for x in latest}
    assert got == {
        ("QS-M01/-/GNSS-1", 6.5, "mm", "2026-05-01T02:00:00"),  # 10:00 UTC+8 = 02:00 UTC
        ("QS-M01/-/GNSS-2", 6.0, "mm", "2026-05-01T02:00:00"),
    }

    # a value outside the indicator's valid range (-10 000 … 10 000 mm): 422 naming it
    bad = [
        reading("GNSS-1", "slope_displacement", "2026-05-01T11:00:00+08:00", 7.0),
        reading("GNSS-1", "slope_displacement", "2026-05-01T11:30:00+08:00", 99999.0),
    ]
    r = upload(w, bad)
    assert r.status_code == 422, r.text
    problem = r.json()
    assert [e["field"] for e in problem["errors"]] == ["readings.1.value"]
    assert "outside the valid range" in problem["errors"][0]["message"]
    assert "nothing was stored" in problem["detail"]
    series = w.client.get(
        f"{API}/mines/QS-M01/readings",
        params={"sensor": "GNSS-1", "indicator": "slope_displacement"},
        headers=w.h["eco"],
    ).json()
    assert [p["value"] for p in series] == [4.0, 6.5]  # the 7.0 of the refused batch is not there

    # a malformed body (no value): FastAPI's 422 names the field too
    r = upload(w, [{"mine_id": "QS-M01", "sensor": "X", "indicator": "pm10", "ts": 1}])
    assert r.status_code == 422
    assert any(e["field"].endswith("readings.0.value") for e in r.json()["errors"])
    # an unknown indicator and an unknown mine
    r = upload(w, [reading("X", "radon", "2026-05-01T09:00:00+08:00", 1.0)])
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "readings.0.indicator"
    r = upload(w, [{**bad[0], "mine_id": "NO-SUCH"}])
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "readings.0.mine_id"

    # a gateway's mode: the good one stored, the bad one quarantined with its reason
    r = upload(w, bad, on_error="quarantine")
    assert r.status_code == 200, r.text
    assert (r.json()["stored"], r.json()["quarantined"]) == (1, 1)
    q = w.client.get(f"{API}/quarantine", params={"mine_id": "QS-M01"}, headers=w.h["eco"])
    assert q.status_code == 200
    [entry] = q.json()
    assert entry["field"] == "value" and entry["source"] == "http"
    assert "99999" in entry["payload"]

    # every write is in the audit trail with its account
    from restora.store.tables import changes

    with w.engine.connect() as conn:
        commands = conn.execute(
            sa.select(changes.c.command).where(changes.c.command.like("POST /api/v1/monitoring%"))
        ).scalars().all()  # fmt: skip
    # the batch, its repeat (duplicates still move the sensors' last_seen_at), the gateway's
    assert commands.count("POST /api/v1/monitoring/readings") == 3


def test_who_may_read_and_write(w: World) -> None:
    one = [reading("GNSS-1", "slope_displacement", "2026-05-01T09:00:00+08:00", 4.0)]
    assert upload(w, one).status_code == 200
    mine = f"{API}/mines/QS-M01"
    status = {who: w.client.get(mine, headers=w.h[who]).status_code for who in w.h}
    assert status == {
        "eco": 200, "eco_away": 404, "nr": 200, "eval": 200, "firm": 200, "other": 404,
        "village": 403, "admin": 200, "public": 401,
    }  # fmt: skip
    # the enterprise sees its own mine only, in lists too
    assert w.client.get(f"{API}/mines/QS-M02", headers=w.h["firm"]).status_code == 404
    sensors = w.client.get(f"{API}/sensors", headers=w.h["other"]).json()
    assert sensors == []
    assert [s["id"] for s in w.client.get(f"{API}/sensors", headers=w.h["firm"]).json()] == [
        "QS-M01/-/GNSS-1"
    ]
    # writes: the ecology bureau of the region only
    writes = {who: upload(w, one, who).status_code for who in w.h}
    assert writes == {
        "eco": 200, "eco_away": 403, "nr": 403, "eval": 403, "firm": 403, "other": 403,
        "village": 403, "admin": 200, "public": 401,
    }  # fmt: skip
    # a county bureau cannot write another city's mine
    away = [{**one[0], "mine_id": "GZ-M01"}]
    assert upload(w, away).status_code == 403


def test_status_against_thresholds_series_and_the_alert_lifecycle(w: World) -> None:
    # catalogue defaults of slope_displacement: warning 30 mm, alarm 50 mm (above is bad)
    r = upload(
        w,
        [
            reading("GNSS-1", "slope_displacement", "2026-05-01T09:00:00+08:00", 12.0),
            reading("GNSS-2", "slope_displacement", "2026-05-01T09:00:00+08:00", 35.0),
            reading("GNSS-3", "slope_displacement", "2026-05-01T09:00:00+08:00", 55.0),
        ],
    )
    assert r.status_code == 200, r.text
    raised = r.json()["alert_ids"]
    assert len(raised) == 2  # GNSS-2 warning, GNSS-3 alarm
    view = w.client.get(f"{API}/mines/QS-M01", headers=w.h["eval"]).json()
    status = {x["sensor_id"].split("/")[-1]: x["status"] for x in view["latest"]}
    assert status == {"GNSS-1": "ok", "GNSS-2": "warning", "GNSS-3": "alarm"}
    assert view["latest"][0]["thresholds"]["warning"] == 30.0
    # pH of surface water is bad on both sides (catalogue: warning below 6 or above 9, GB 3838)
    r = upload(w, [reading("W9", "sw_ph", "2026-05-01T09:00:00+08:00", 5.5)])
    [ph] = [x for x in w.client.get(f"{API}/mines/QS-M01/latest", headers=w.h["eco"]).json()
            if x["indicator"] == "sw_ph"]  # fmt: skip
    assert (ph["status"], ph["thresholds"]["direction"]) == ("warning", "outside")
    assert (ph["thresholds"]["warning_low"], ph["thresholds"]["alarm_low"]) == (6.0, 5.0)
    raised += r.json()["alert_ids"]
    view = w.client.get(f"{API}/mines/QS-M01", headers=w.h["eval"]).json()
    assert view["counts"]["alerts_open"] == 3 and view["counts"]["alarm"] == 1
    assert {a["level"] for a in view["alerts"]} == {"warning", "alarm"}

    # the mine's own rule overrides the catalogue: warning 10 mm, alarm 20 mm
    rule = {"kind": "threshold", "level": "warning", "indicator": "slope_displacement",
            "mine_id": "QS-M01", "params": {"direction": "above", "warning": 10, "alarm": 20}}  # fmt: skip
    assert w.client.post(f"{API}/rules", json=rule, headers=w.h["eval"]).status_code == 403
    r = w.client.post(f"{API}/rules", json=rule, headers=w.h["eco"])
    assert r.status_code == 201, r.text
    assert r.json()["code"] == f"ALERT-THRESHOLD-{r.json()['id']}"
    view = w.client.get(f"{API}/mines/QS-M01", headers=w.h["eco"]).json()
    status = {x["sensor_id"].split("/")[-1]: x["status"] for x in view["latest"]}
    assert status == {"GNSS-1": "warning", "GNSS-2": "alarm", "GNSS-3": "alarm", "W9": "warning"}
    series = w.client.get(f"{API}/mines/QS-M01/series", headers=w.h["eco"]).json()
    [s] = [x for x in series if x["indicator"] != "sw_ph"]
    assert (s["indicator"], s["unit"]) == ("slope_displacement", "mm")
    assert (s["thresholds"]["warning"], s["thresholds"]["alarm"]) == (10.0, 20.0)
    assert sorted(x["sensor_id"] for x in s["sensors"]) == [
        "QS-M01/-/GNSS-1", "QS-M01/-/GNSS-2", "QS-M01/-/GNSS-3"
    ]  # fmt: skip
    # a bad rule: the field named
    r = w.client.post(
        f"{API}/rules", json={**rule, "params": {"warning": 30, "alarm": 10}}, headers=w.h["eco"]
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"].startswith("params")

    # acknowledge, then resolve, the alarm
    alarm = next(a for a in view["alerts"] if a["level"] == "alarm")
    ack = f"{API}/alerts/{alarm['id']}/acknowledge"
    assert w.client.post(ack, json={"note": "x"}, headers=w.h["eval"]).status_code == 403
    assert w.client.post(ack, json={"note": "x"}, headers=w.h["eco_away"]).status_code == 404
    r = w.client.post(ack, json={"note": "已派人现场核查"}, headers=w.h["eco"])
    assert r.status_code == 200, r.text
    assert (r.json()["state"], r.json()["acknowledged_by"]) == ("acknowledged", "m-eco")
    assert w.client.post(ack, headers=w.h["eco"]).status_code == 409  # not raised any more
    r = w.client.post(f"{API}/alerts/{alarm['id']}/resolve", headers=w.h["eco"])
    assert r.status_code == 200 and r.json()["state"] == "resolved"
    states = [e["state"] for e in r.json()["events"]]
    assert states == ["raised", "acknowledged", "resolved"]
    assert r.json()["latency_s"] is not None and r.json()["latency_s"] >= 0
    opened = w.client.get(f"{API}/alerts", params={"state": "open"}, headers=w.h["eval"]).json()
    assert alarm["id"] not in {a["id"] for a in opened} and len(opened) >= 1
    # the enterprise sees its mine's alerts; the other enterprise none
    assert w.client.get(f"{API}/alerts", headers=w.h["other"]).json() == []
    assert len(w.client.get(f"{API}/alerts", headers=w.h["firm"]).json()) >= 2

    # rule switched off
    rule_id = w.client.get(f"{API}/rules", headers=w.h["eco"]).json()[0]["id"]
    r = w.client.delete(f"{API}/rules/{rule_id}", headers=w.h["eco"])
    assert r.status_code == 200 and r.json()["active"] is False


def test_hooks_and_campaign_file(w: World) -> None:
    hook = {"kind": "webhook", "target": "https://alerts.example.org/h", "levels": ["alarm"],
            "mine_id": "QS-M01", "secret": "s" * 32}  # fmt: skip
    r = w.client.post(f"{API}/hooks", json=hook, headers=w.h["eco"])
    assert r.status_code == 201, r.text
    assert r.json()["has_secret"] is True and "secret" not in r.json()
    assert w.client.get(f"{API}/hooks", headers=w.h["eval"]).status_code == 403
    assert [h["target"] for h in w.client.get(f"{API}/hooks", headers=w.h["eco"]).json()] == [
        hook["target"]
    ]
    # a county bureau may not add a hook of every mine
    r = w.client.post(f"{API}/hooks", json={**hook, "mine_id": None}, headers=w.h["eco"])
    assert r.status_code == 403
    r = w.client.post(f"{API}/hooks", json={**hook, "target": "ftp://x"}, headers=w.h["eco"])
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "target"

    csv = (
        "点位,指标,数值,单位,采样时间\n"
        "W1,sw_cd,0.002,mg/L,2026-04-20 10:00\n"
        "W2,sw_cd,3,ug/L,2026-04-20 10:30\n"
    ).encode("gbk")
    files = {"file": ("水质.csv", csv, "text/csv")}
    r = w.client.post(f"{API}/mines/QS-M01/campaigns", files=files, headers=w.h["eco"])
    assert r.status_code == 201, r.text
    assert (r.json()["stored"], r.json()["duplicates"]) == (2, 0)
    assert r.json()["campaign_id"].startswith("QS-M01/")
    latest = w.client.get(f"{API}/mines/QS-M01/latest", headers=w.h["eco"]).json()
    # 3 µg/L = 0.003 mg/L; both below the warning level 0.005 mg/L (GB 3838-2002 class III)
    assert sorted((x["value"], x["status"]) for x in latest) == [(0.002, "ok"), (0.003, "ok")]
    bad = csv.replace(b"0.002", "未检出".encode("gbk"))
    files = {"file": ("水质2.csv", bad, "text/csv")}
    r = w.client.post(f"{API}/mines/QS-M01/campaigns", files=files, headers=w.h["eco"])
    assert r.status_code == 422, r.text
    err = r.json()["errors"][0]
    assert (err["file"], err["row"]) == ("水质2.csv", 1)  # the first data row (header not counted)
    assert (
        w.client.post(f"{API}/mines/QS-M01/campaigns", files=files, headers=w.h["eval"]).status_code
        == 403
    )
