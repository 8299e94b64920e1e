"""Helpers of the alert tests (loaded by path: test folders are not packages): a sensor, and
readings stored and judged in one transaction as restora.store.monitoring.ingest does."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from restora.store import Store
from restora.store import alerts as A
from restora.store.engine import begin_write
from restora.store.monitoring_tables import monitoring_alert_events as EVENTS
from restora.store.monitoring_tables import monitoring_readings as READINGS
from restora.store.monitoring_tables import monitoring_sensors as SENSORS

T0 = dt.datetime(2026, 5, 1, 8, 0, tzinfo=dt.UTC)
MINE = "M001"
SENSOR = "M001/S1/P1"


def add_sensor(store: Store, sensor_id: str = SENSOR, *, interval_s: int = 900, **kw: Any) -> None:
    mine, site, code = sensor_id.split("/")
    with begin_write(store.engine) as conn:
        conn.execute(
            sa.insert(SENSORS).values(
                id=sensor_id,
                mine_id=mine,
                site_id=site,
                code=code,
                name=None,
                indicators=["slope_disp"],
                expected_interval_s=interval_s,
                active=True,
                created_at=kw.get("created_at", T0),
                last_seen_at=kw.get("last_seen_at"),
                last_measured_at=None,
                attrs={},
            )
        )


def ingest(
    store: Store,
    values: list[tuple[float, float]],
    *,
    sensor_id: str = SENSOR,
    indicator: str = "slope_disp",
    unit: str = "mm",
    now: dt.datetime | None = None,
) -> list[int]:
    """Store readings ``(minutes after T0, value)`` and judge them in one transaction, as
    ingestion does; received 2 s after measurement. Returns the ids of the alerts raised."""
    mine, site, _ = sensor_id.split("/")
    rows = []
    with begin_write(store.engine) as conn:
        for minutes, value in values:
            measured = T0 + dt.timedelta(minutes=minutes)
            row = {
                "sensor_id": sensor_id,
                "mine_id": mine,
                "site_id": site,
                "indicator": indicator,
                "measured_at": measured,
                "value": value,
                "unit": unit,
                "received_at": measured + dt.timedelta(seconds=2),
            }
            rid = conn.execute(
                sa.insert(READINGS)
                .values(**row, source="mqtt", stored_at=row["received_at"])
                .returning(READINGS.c.id)
            ).scalar_one()
            rows.append({**row, "id": rid})
        conn.execute(
            sa.update(SENSORS)
            .where(SENSORS.c.id == sensor_id)
            .values(last_seen_at=max(r["received_at"] for r in rows))
        )
        when = now or max(r["received_at"] for r in rows) + dt.timedelta(milliseconds=5)
        return A.evaluate_stored(conn, rows, when)


def events(store: Store, alert_id: int) -> list[str]:
    with store.engine.connect() as conn:
        q = sa.select(EVENTS.c.state).where(EVENTS.c.alert_id == alert_id).order_by(EVENTS.c.id)
        return list(conn.execute(q).scalars())


def threshold_rule(store: Store, **params: Any) -> dict[str, Any]:
    p = {"warning": 10.0, "alarm": 20.0, "clear_margin": 1.0, **params}
    return A.add_rule(
        store, kind="threshold", level="warning", indicator="slope_disp", mine_id=MINE, params=p
    )
