"""The restart test: the ingester is SIGKILLed twice while QoS 1 messages flow and restarted with
the same client id; in the end every message published is stored exactly once.

The publisher waits for the broker's PUBACK of each message, so every message counted as
published is held by the broker. While the ingester is down, the publisher goes on publishing
but at most :data:`DOWN_BUDGET` messages (then it waits for the new ingester to subscribe):
what queues for the dead ingester's session stays under Mosquitto's default
``max_queued_messages`` (1000, beyond which the broker drops QoS 1 messages), however long the
restart takes on a loaded machine. The test is about the ingester's discipline (acknowledge only
after commit), not the broker's queue limit (docs/monitoring.md, "Broker configuration").
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import sqlalchemy as sa

from restora.monitoring.payload import parse_time
from restora.store import Store
from restora.store import monitoring as M

from .mqtt_support import (
    BROKER,
    add_mine,
    forget_session,
    publish,
    publisher,
    require_broker,
    unique,
    wait_until,
)

T0 = 1777593600  # 2026-05-01T00:00:00Z
SENSORS = 10
PER_SENSOR = 300  # 3 000 messages
PACE_S = 1 / 300
#: Messages published while the ingester is down, at most (plus up to 20 in flight to it).
DOWN_BUDGET = 400
RESTORA = str(Path(sys.executable).parent / "restora")


class Proc:
    """The ingester as a subprocess of ``restora monitor ingest``; knows when it subscribed."""

    def __init__(self, db_url: str, client_id: str) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.p = subprocess.Popen(
            [
                RESTORA,
                "monitor",
                "ingest",
                "--broker",
                BROKER,
                "--client-id",
                client_id,
                "--db",
                db_url,
                "--batch-size",
                "50",
                "--offline-every",
                "3600",
            ],
            stderr=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            text=True,
            env=env,
        )
        self.subscribed = threading.Event()
        self.lines: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.p.stderr is not None
        for line in self.p.stderr:
            self.lines.append(line)
            if line.startswith("subscribed"):
                self.subscribed.set()

    def wait_subscribed(self) -> None:
        assert self.subscribed.wait(60), "ingester did not subscribe: " + "".join(self.lines)


def test_sigkill_while_messages_flow_loses_nothing(db_url):
    require_broker()
    mine, client_id = unique("RT"), unique("restora-test-restart-")
    with Store(db_url) as store:
        add_mine(store, mine)
    proc = Proc(db_url, client_id)
    proc.wait_subscribed()

    published: list[tuple[str, int]] = []
    done = threading.Event()
    up = threading.Event()
    up.set()
    killed_at = [0]

    def publish_all() -> None:
        pub = publisher(unique("restora-test-pub-"))
        try:
            for k in range(PER_SENSOR):
                for s in range(SENSORS):
                    ts = T0 + 60 * k
                    publish(pub, f"restora/{mine}/-/S{s}/settlement", ts, k / 10).wait_for_publish(
                        30
                    )
                    published.append((f"{mine}/-/S{s}", ts))
                    time.sleep(PACE_S)
                    if not up.is_set() and len(published) - killed_at[0] >= DOWN_BUDGET:
                        assert up.wait(120), "the ingester did not come back"
        finally:
            pub.disconnect()
            done.set()

    publishing = threading.Thread(target=publish_all)
    publishing.start()
    engine = sa.create_engine(db_url)
    count = sa.select(sa.func.count()).select_from(M.READINGS).where(M.READINGS.c.mine_id == mine)

    def stored() -> int:
        with engine.connect() as conn:
            return int(conn.execute(count).scalar_one())

    try:
        for at in (800, 1800):
            wait_until(lambda at=at: len(published) >= at, 60, f"{at} messages published")
            up.clear()
            killed_at[0] = len(published)
            proc.p.send_signal(signal.SIGKILL)
            proc.p.wait(10)
            assert stored() < SENSORS * PER_SENSOR  # killed mid-stream
            proc = Proc(db_url, client_id)
            proc.wait_subscribed()
            up.set()
        publishing.join(120)
        assert done.is_set()
        wait_until(lambda: stored() >= SENSORS * PER_SENSOR, 60, "every message stored")
        proc.p.send_signal(signal.SIGTERM)
        assert proc.p.wait(30) == 0  # a clean shutdown
    finally:
        if proc.p.poll() is None:
            proc.p.kill()
        forget_session(client_id)

    with Store(db_url) as store:
        rows = []
        for s in range(SENSORS):
            rows += M.series(store, f"{mine}/-/S{s}", "settlement")
        quarantined = M.quarantine(store, mine_id=mine)
    got = [(r["sensor_id"], int(parse_time(r["measured_at"]).timestamp())) for r in rows]
    assert len(published) == SENSORS * PER_SENSOR
    assert len(got) == len(published)  # each stored once (and none missing)
    assert set(got) == set(published)
    assert quarantined == []
    engine.dispose()
