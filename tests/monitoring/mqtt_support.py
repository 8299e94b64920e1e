"""Helpers of the MQTT tests: the broker on this machine, unique ids, a QoS 1 publisher."""

from __future__ import annotations

import json
import socket
import time
import uuid
from collections.abc import Callable

import paho.mqtt.client as mqtt
import pytest

from restora.store import Store
from restora.store import monitoring as M

BROKER_HOST, BROKER_PORT = "127.0.0.1", 1883
BROKER = f"mqtt://{BROKER_HOST}:{BROKER_PORT}"


def require_broker() -> None:
    try:
        socket.create_connection((BROKER_HOST, BROKER_PORT), timeout=1).close()
    except OSError:
        pytest.fail(
            f"no MQTT broker at {BROKER}: the MQTT tests need Mosquitto running there "
            "(as on CI and the project's machines)"
        )


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


def add_mine(store: Store, mine_id: str) -> None:
    with store.engine.begin() as conn:
        conn.execute(M.MINES.insert().values(mine_id=mine_id, name=mine_id,
                     region_code="430000", mineral="coal", status="abandoned"))  # fmt: skip


def publisher(client_id: str) -> mqtt.Client:
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id)
    client.max_inflight_messages_set(100)
    client.connect(BROKER_HOST, BROKER_PORT)
    client.loop_start()
    return client


def publish(client: mqtt.Client, topic: str, ts: float, value: float) -> mqtt.MQTTMessageInfo:
    return client.publish(topic, json.dumps({"ts": ts, "value": value}), qos=1)


def forget_session(client_id: str) -> None:
    """Connect once with a clean session: the broker drops the persistent one of the test."""
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=True)
    c.connect(BROKER_HOST, BROKER_PORT)
    c.loop_start()
    time.sleep(0.2)
    c.disconnect()
    c.loop_stop()


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll ``condition`` until true; fail naming ``what`` after ``timeout`` seconds (a
    deadline against hanging, not a measured time)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.1)
