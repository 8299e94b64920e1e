"""The MQTT ingester: sensor messages from the broker into the store, none lost (docs/monitoring.md,
"Indicators and ingestion").

It subscribes to ``restora/+/+/+/+`` at QoS 1 with a **persistent session** (a fixed client id
and ``clean_session=False``) and **acknowledges manually** (paho-mqtt's ``manual_ack``): the
network thread stamps each message's arrival (``received_at``) and queues it; a writer thread
takes a batch (at most ``batch_size`` messages, or what arrived within ``batch_wait_s`` of the
first), stores it in one transaction (:func:`restora.store.monitoring.ingest`: readings,
quarantine, alerts) and only then sends the PUBACKs. A message whose batch did not commit is
never acknowledged, so the broker delivers it again — after a crash, to the next ingester
with the same client id; the unique key (sensor, indicator, measured time) absorbs what was
stored but not yet acknowledged. Malformed payloads are quarantined, and acknowledged.

Every ``offline_every_s`` (and on start) it calls :func:`restora.store.alerts.check_offline`.
SIGTERM/SIGINT stop it cleanly: the batch in hand is stored and acknowledged, then it
disconnects.

The broker must keep what it holds for an offline persistent session: Mosquitto's
``persistence true`` and a ``max_queued_messages`` above what arrives while the ingester is
down (default 1000: beyond it QoS 1 messages are dropped); ``max_inflight_messages`` (default
20) bounds how many unacknowledged messages it sends at once, hence the batch size.
"""

from __future__ import annotations

import datetime as dt
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

import paho.mqtt.client as mqtt

from restora.errors import InputError
from restora.monitoring.payload import SUBSCRIPTION, parse_message
from restora.store import alerts
from restora.store import monitoring as store_monitoring

DEFAULT_BROKER = "mqtt://127.0.0.1:1883"
DEFAULT_CLIENT_ID = "restora-ingester"
QOS = 1


def broker_address(url: str) -> tuple[str, int]:
    """Host and port of ``mqtt://host[:port]`` (default port 1883).

    >>> broker_address("mqtt://10.0.0.5"), broker_address("127.0.0.1:1884")
    (('10.0.0.5', 1883), ('127.0.0.1', 1884))
    """
    parsed = urlparse(url if "://" in url else f"mqtt://{url}")
    if parsed.scheme not in ("mqtt", "tcp") or not parsed.hostname:
        raise InputError(f"broker {url!r} is not mqtt://host[:port]", field="broker")
    return parsed.hostname, parsed.port or 1883


@dataclass
class Status:
    """Counters of a running ingester (read by the CLI's status line)."""

    connected: bool = False
    subscribed: bool = False
    received: int = 0
    stored: int = 0
    duplicates: int = 0
    quarantined: int = 0
    alerts: int = 0
    batches: int = 0
    acked: int = 0
    errors: int = 0
    last_error: str | None = None
    started_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))

    def as_dict(self) -> dict[str, Any]:
        return {
            k: (v.isoformat() if isinstance(v, dt.datetime) else v) for k, v in vars(self).items()
        }


@dataclass(frozen=True)
class _Message:
    topic: str
    payload: bytes
    mid: int
    qos: int
    received_at: dt.datetime


class Ingester:
    """Subscribe, store in batches, acknowledge after commit (see the module's docstring).

    Parameters
    ----------
    store : Store or sqlalchemy.Engine
    broker : str
        ``mqtt://host[:port]``.
    client_id : str
        Fixed per deployment: the broker keeps this id's session (its subscription and the
        unacknowledged messages) while the ingester is down.
    batch_size : int
        Messages stored per transaction at most.
    batch_wait_s : float
        How long a batch waits for more messages after its first [s].
    offline_every_s : float
        Interval of the offline check [s].
    on_event : callable, optional
        Called with ``(event, status)`` on ``connected``, ``subscribed``, ``batch``, ``error``,
        ``stopped`` (the CLI prints from it).
    """

    def __init__(
        self,
        store: Any,
        *,
        broker: str = DEFAULT_BROKER,
        client_id: str = DEFAULT_CLIENT_ID,
        batch_size: int = 500,
        batch_wait_s: float = 0.02,
        offline_every_s: float = 60.0,
        on_event: Callable[[str, Status], None] | None = None,
    ) -> None:
        self.store = store
        self.host, self.port = broker_address(broker)
        self.client_id = client_id
        self.batch_size = batch_size
        self.batch_wait_s = batch_wait_s
        self.offline_every_s = offline_every_s
        self.on_event = on_event
        self.status = Status()
        self._queue: queue.Queue[_Message] = queue.Queue()
        self._stop = threading.Event()
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=client_id,
            clean_session=False,
            protocol=mqtt.MQTTv311,
            manual_ack=True,
        )
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = self._on_message

    # -- network thread -------------------------------------------------------------------
    def _event(self, name: str) -> None:
        if self.on_event is not None:
            self.on_event(name, self.status)

    def _on_connect(self, client: Any, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        if reason.is_failure:
            self.status.last_error = f"connection refused: {reason}"
            self._event("error")
            return
        self.status.connected = True
        self._event("connected")
        client.subscribe(SUBSCRIPTION, qos=QOS)

    def _on_disconnect(
        self, client: Any, userdata: Any, flags: Any, reason: Any, props: Any
    ) -> None:
        self.status.connected = False
        self.status.subscribed = False

    def _on_subscribe(self, client: Any, userdata: Any, mid: int, reasons: Any, props: Any) -> None:
        self.status.subscribed = True
        self._event("subscribed")

    def _on_message(self, client: Any, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        self.status.received += 1
        self._queue.put(
            _Message(msg.topic, bytes(msg.payload), msg.mid, msg.qos, dt.datetime.now(dt.UTC))
        )

    # -- writer -----------------------------------------------------------------------------
    def _take(self) -> list[_Message]:
        try:
            first = self._queue.get(timeout=0.2)
        except queue.Empty:
            return []
        batch = [first]
        deadline = time.monotonic() + self.batch_wait_s
        while len(batch) < self.batch_size:
            left = deadline - time.monotonic()
            try:
                batch.append(
                    self._queue.get(timeout=left) if left > 0 else self._queue.get_nowait()
                )
            except queue.Empty:
                break
        return batch

    def store_batch(self, batch: list[_Message]) -> store_monitoring.IngestResult:
        """Store one batch in one transaction (raises if it did not commit)."""
        items = []
        for m in batch:
            items.extend(parse_message(m.topic, m.payload, received_at=m.received_at))
        return store_monitoring.ingest(self.store, items, source="mqtt", origin="mqtt")

    def _flush(self, batch: list[_Message]) -> None:
        """Store, then acknowledge; on failure retry (never acknowledge what did not commit)."""
        delay = 0.1
        while True:
            try:
                result = self.store_batch(batch)
                break
            except Exception as exc:  # store busy, connection lost: keep the batch, try again
                self.status.errors += 1
                self.status.last_error = f"{type(exc).__name__}: {exc}"
                self._event("error")
                if self._stop.wait(delay):
                    return  # stopping: unacknowledged, the broker delivers them again
                delay = min(delay * 2, 5.0)
        for m in batch:
            if m.qos > 0:
                self.client.ack(m.mid, m.qos)
        self.status.acked += len(batch)
        self.status.batches += 1
        self.status.stored += result.stored
        self.status.duplicates += result.duplicates
        self.status.quarantined += result.quarantined
        self.status.alerts += len(result.alert_ids)
        self._event("batch")

    def _check_offline(self) -> None:
        try:
            self.status.alerts += len(alerts.check_offline(self.store))
        except Exception as exc:  # an offline check that failed is retried next time
            self.status.errors += 1
            self.status.last_error = f"offline check: {type(exc).__name__}: {exc}"
            self._event("error")

    def run(self) -> Status:
        """Connect and ingest until :meth:`stop` (or a signal handler calling it)."""
        self.client.connect(self.host, self.port, keepalive=30)
        self.client.loop_start()
        next_offline = time.monotonic()
        try:
            while not self._stop.is_set():
                if time.monotonic() >= next_offline:
                    self._check_offline()
                    next_offline = time.monotonic() + self.offline_every_s
                batch = self._take()
                if batch:
                    self._flush(batch)
            # what already arrived is stored and acknowledged before leaving
            while not self._queue.empty():
                batch = self._take()
                if batch:
                    self._flush(batch)
        finally:
            self.client.disconnect()
            self.client.loop_stop()
            self._event("stopped")
        return self.status

    def stop(self, *_: Any) -> None:
        """Ask :meth:`run` to finish (usable as a signal handler)."""
        self._stop.set()
