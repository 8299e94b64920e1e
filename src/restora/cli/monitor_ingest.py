"""``restora monitor`` commands of ingestion (docs/monitoring.md, "Indicators and ingestion").

- ``indicators``: the indicator catalogue;
- ``sensors add|list``: register a sensor, list a mine's sensors;
- ``ingest``: run the MQTT ingester (until SIGTERM or Ctrl-C);
- ``readings MINE``, ``latest MINE``: stored readings, the latest per sensor and indicator;
- ``import FILE --mine M``: a field campaign (CSV/XLSX);
- ``quarantine``: what could not be stored, and why;
- ``publish FILE``: publish a CSV of readings to the broker (a test publisher for demos).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import signal
import sys
import time
from pathlib import Path
from typing import Any

import typer

from restora.cli.output import DbOption, Format, FormatOption, OnOption, emit, handled
from restora.errors import InputError

sensors_app = typer.Typer(no_args_is_help=True, help="Sensors of mines.")

SENSOR_COLUMNS = ("id", "name", "indicators", "expected_interval_s", "active", "last_seen_at")
READING_COLUMNS = ("sensor_id", "indicator", "measured_at", "value", "unit", "source")
LATEST_COLUMNS = ("sensor_id", "indicator", "measured_at", "value", "unit", "level")
QUARANTINE_COLUMNS = ("id", "received_at", "source", "origin", "row", "field", "reason")
INDICATOR_COLUMNS = ("code", "name_zh", "unit", "valid_min", "valid_max", "interval_s",
                     "direction", "warning", "alarm")  # fmt: skip
BrokerOption = typer.Option("mqtt://127.0.0.1:1883", "--broker", help="mqtt://host[:port].")


def register(parent: typer.Typer) -> None:
    """Add the ingestion commands to ``restora monitor``."""
    parent.add_typer(sensors_app, name="sensors")
    parent.command("indicators")(indicators_command)
    parent.command("ingest")(ingest_command)
    parent.command("readings")(readings_command)
    parent.command("latest")(latest_command)
    parent.command("import")(import_command)
    parent.command("quarantine")(quarantine_command)
    parent.command("publish")(publish_command)


def _store(db: str | None) -> Any:
    from restora.store import Store, default_url

    return Store(db or default_url())


def _time(value: str | None, name: str) -> dt.datetime | None:
    if value is None:
        return None
    from restora.monitoring.payload import parse_time

    try:
        return parse_time(value)
    except InputError as exc:
        raise InputError(exc.problems[0].message, field=name) from None


def indicators_command(on: str | None = OnOption, fmt: Format = FormatOption) -> None:
    """The indicator catalogue: units, valid ranges, intervals, default levels."""
    from restora.monitoring import catalogue

    with handled():
        when = dt.date.fromisoformat(on) if on else None
        rows = [i.as_dict() for i in catalogue.indicators(when)]
    emit(rows, fmt, columns=INDICATOR_COLUMNS)


@sensors_app.command("add")
def sensors_add(
    mine: str = typer.Argument(..., help="Mine id."),
    code: str = typer.Argument(..., help="Sensor code (unique within the mine and site)."),
    indicator: list[str] = typer.Option(..., "--indicator", "-i", help="Indicator code(s)."),
    site: str | None = typer.Option(None, "--site", help="Site id (none: not attached)."),
    name: str | None = typer.Option(None, "--name", help="A readable name."),
    interval: int | None = typer.Option(
        None, "--interval", help="Expected reporting interval [s]; default the catalogue's."
    ),
    lon: float | None = typer.Option(None, "--lon", help="Longitude [°]."),
    lat: float | None = typer.Option(None, "--lat", help="Latitude [°]."),
    inactive: bool = typer.Option(False, "--inactive", help="Out of service: no offline alerts."),
    db: str | None = DbOption,
    fmt: Format = FormatOption,
) -> None:
    """Register a sensor (or update it)."""
    from restora.store import monitoring

    with handled(), _store(db) as store:
        row = monitoring.register_sensor(
            store,
            mine_id=mine,
            site_id=site,
            code=code,
            indicators=indicator,
            name=name,
            interval_s=interval,
            lon=lon,
            lat=lat,
            active=not inactive,
        )
    emit(row, fmt, columns=SENSOR_COLUMNS)


@sensors_app.command("list")
def sensors_list(
    mine: str | None = typer.Argument(None, help="Mine id (default: all mines)."),
    db: str | None = DbOption,
    fmt: Format = FormatOption,
) -> None:
    """Sensors, with when they last reported."""
    from restora.store import monitoring

    with handled(), _store(db) as store:
        rows = monitoring.sensors(store, mine)
    emit(rows, fmt, columns=SENSOR_COLUMNS)


def ingest_command(
    broker: str = BrokerOption,
    client_id: str = typer.Option(
        "restora-ingester",
        "--client-id",
        help="Fixed per deployment (the broker keeps its session).",
    ),
    batch_size: int = typer.Option(500, "--batch-size", help="Messages per transaction at most."),
    offline_every: float = typer.Option(
        60.0, "--offline-every", help="Offline check interval [s]."
    ),
    db: str | None = DbOption,
) -> None:
    """Run the MQTT ingester: store sensor messages, acknowledge after commit (Ctrl-C stops)."""
    from rich.console import Console

    from restora.service.mqtt_ingest import Ingester, Status

    err = Console(stderr=True)
    live = err.is_terminal

    def on_event(event: str, status: Status) -> None:
        if event == "batch" and live:
            err.print(
                f"received {status.received}  stored {status.stored}  duplicates "
                f"{status.duplicates}  quarantined {status.quarantined}  alerts {status.alerts}",
                end="\r",
                highlight=False,
            )
        elif event == "subscribed":
            sys.stderr.write(f"subscribed to restora/+/+/+/+ at {broker} as {client_id}\n")
            sys.stderr.flush()
        elif event == "error":
            sys.stderr.write(f"error: {status.last_error}\n")
            sys.stderr.flush()

    with handled(), _store(db) as store:
        ingester = Ingester(
            store,
            broker=broker,
            client_id=client_id,
            batch_size=batch_size,
            offline_every_s=offline_every,
            on_event=on_event,
        )
        signal.signal(signal.SIGTERM, ingester.stop)
        signal.signal(signal.SIGINT, ingester.stop)
        status = ingester.run()
    sys.stderr.write(
        f"\nstopped: received {status.received}, stored {status.stored}, duplicates "
        f"{status.duplicates}, quarantined {status.quarantined}, alerts {status.alerts}\n"
    )


def readings_command(
    mine: str = typer.Argument(..., help="Mine id."),
    sensor: str | None = typer.Option(None, "--sensor", help="Sensor id or code."),
    indicator: str | None = typer.Option(None, "--indicator", help="Indicator code."),
    since: str | None = typer.Option(None, "--since", help="From this time (ISO-8601)."),
    until: str | None = typer.Option(None, "--until", help="Before this time (ISO-8601)."),
    limit: int | None = typer.Option(None, "--limit", help="The newest N readings per series."),
    db: str | None = DbOption,
    fmt: Format = FormatOption,
) -> None:
    """Stored readings of a mine's sensors, oldest first."""
    from restora.store import monitoring

    with handled(), _store(db) as store:
        start, end = _time(since, "--since"), _time(until, "--until")
        chosen = [
            s
            for s in monitoring.sensors(store, mine)
            if sensor is None or sensor in (s["id"], s["code"])
        ]
        if sensor is not None and not chosen:
            raise InputError(f"mine {mine} has no sensor {sensor!r}", field="--sensor")
        rows = []
        for s in chosen:
            for ind in s["indicators"]:
                if indicator is None or ind == indicator:
                    rows += monitoring.series(store, s["id"], ind, start, end, limit=limit)
    emit(rows, fmt, columns=READING_COLUMNS)


def latest_command(
    mine: str = typer.Argument(..., help="Mine id."),
    db: str | None = DbOption,
    fmt: Format = FormatOption,
) -> None:
    """The latest value of each sensor and indicator of a mine, with its level."""
    from restora.store import monitoring

    with handled(), _store(db) as store:
        rows = monitoring.latest(store, mine)
    emit(rows, fmt, columns=LATEST_COLUMNS)


def import_command(
    file: Path = typer.Argument(..., help="Campaign file: CSV (UTF-8 or GBK) or XLSX."),
    mine: str = typer.Option(..., "--mine", help="Mine id the campaign sampled."),
    name: str | None = typer.Option(None, "--name", help="Campaign name (default: file name)."),
    quarantine_bad_rows: bool = typer.Option(
        False,
        "--quarantine-bad-rows",
        help="Store the good rows and quarantine the bad ones (default: a bad row stops all).",
    ),
    db: str | None = DbOption,
    fmt: Format = FormatOption,
) -> None:
    """Import a field campaign: one measurement per row (point, indicator, value, unit, time)."""
    from restora.store import monitoring

    with handled(), _store(db) as store:
        if str(file) == "-":
            data, shown = sys.stdin.buffer.read(), "stdin.csv"
        else:
            data, shown = file.read_bytes(), file.name
        row = monitoring.import_campaign(
            store,
            file,
            mine_id=mine,
            name=name,
            quarantine_bad_rows=quarantine_bad_rows,
            data=data,
            file_name=shown,
            imported_by="cli",
        )
    emit(row, fmt, columns=("id", "name", "rows", "stored", "duplicates", "quarantined"))


def quarantine_command(
    mine: str | None = typer.Option(None, "--mine", help="Only this mine."),
    source: str | None = typer.Option(None, "--source", help="mqtt, http or campaign."),
    limit: int = typer.Option(100, "--limit", help="The newest N."),
    db: str | None = DbOption,
    fmt: Format = FormatOption,
) -> None:
    """Payloads that could not be stored, with the field at fault and the reason."""
    from restora.store import monitoring

    with handled(), _store(db) as store:
        rows = monitoring.quarantine(store, mine_id=mine, source=source, limit=limit)
    emit(rows, fmt, columns=QUARANTINE_COLUMNS)


def publish_command(
    file: Path = typer.Argument(
        ..., help="CSV with columns mine, site, sensor, indicator, ts, value[, unit] ('-': stdin)."
    ),
    broker: str = BrokerOption,
    rate: float = typer.Option(
        0.0, "--rate", help="Publishing rate [messages/s]; 0: as fast as it can."
    ),
    client_id: str = typer.Option("restora-publisher", "--client-id", help="MQTT client id."),
) -> None:
    """Publish readings to the broker at QoS 1, one message per row (a test publisher)."""
    import paho.mqtt.client as mqtt

    from restora.service.mqtt_ingest import broker_address
    from restora.textio import decode_text

    with handled():
        raw = sys.stdin.buffer.read() if str(file) == "-" else file.read_bytes()
        text, _ = decode_text(raw, str(file))
        rows = list(csv.DictReader(io.StringIO(text)))
        need = ("mine", "sensor", "indicator", "ts", "value")
        missing = [c for c in need if rows and c not in rows[0]]
        if not rows or missing:
            raise InputError(f"needs a header with {', '.join(need)}", file=str(file))
        host, port = broker_address(broker)
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id)
        client.connect(host, port)
        client.loop_start()
        try:
            for i, r in enumerate(rows, start=1):
                topic = "/".join(
                    ("restora", r["mine"], r.get("site") or "-", r["sensor"], r["indicator"])
                )
                try:
                    ts: Any = float(r["ts"])
                except ValueError:
                    ts = r["ts"]
                try:
                    value = float(r["value"])
                except ValueError:
                    raise InputError("not a number", file=str(file), row=i, field="value") from None
                body: dict[str, Any] = {"ts": ts, "value": value}
                if r.get("unit"):
                    body["unit"] = r["unit"]
                client.publish(topic, json.dumps(body), qos=1).wait_for_publish(10)
                if rate > 0:
                    time.sleep(1 / rate)
        finally:
            client.disconnect()
            client.loop_stop()
    sys.stderr.write(f"published {len(rows)} messages to {broker}\n")
