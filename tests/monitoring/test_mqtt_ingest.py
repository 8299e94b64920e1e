"""The MQTT ingester against the real Mosquitto broker: messages published are stored once,
malformed ones quarantined, an alert raised by a reading beyond the catalogue's level."""

from __future__ import annotations

import threading

import pytest

from restora.service.mqtt_ingest import Ingester, broker_address
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


def test_broker_address():
    assert broker_address("mqtt://h:1884") == ("h", 1884)
    with pytest.raises(Exception, match="is not mqtt://"):
        broker_address("http://h")


@pytest.mark.parametrize("batch_size", [1, 50])
def test_publish_store_quarantine_alert(db_url, batch_size):
    require_broker()
    mine, client_id = unique("MQ"), unique("restora-test-ingest-")
    with Store(db_url) as store:
        add_mine(store, mine)
        ingester = Ingester(store, broker=BROKER, client_id=client_id, batch_size=batch_size,
                            offline_every_s=3600)  # fmt: skip
        ready = threading.Event()
        ingester.on_event = lambda event, status: event == "subscribed" and ready.set()
        thread = threading.Thread(target=ingester.run)
        thread.start()
        try:
            assert ready.wait(10), "the ingester did not subscribe"
            pub = publisher(unique("restora-test-pub-"))
            topic = f"restora/{mine}/S1/P1/sw_cd"
            # 20 readings, the last one 0.02 mg/L: beyond the class V limit 0.01 (alarm)
            infos = [publish(pub, topic, T0 + 60 * i, 0.001) for i in range(19)]
            infos.append(publish(pub, topic, T0 + 60 * 19, 0.02))
            infos.append(publish(pub, topic, T0, 0.001))  # a repeat of the first
            infos.append(pub.publish(topic, b"not json", qos=1))
            for info in infos:
                info.wait_for_publish(10)
            pub.disconnect()
            wait_until(lambda: M.counts(store, mine)["readings"] == 20
                       and M.counts(store, mine)["quarantined"] == 1, 20, "20 stored, 1 quarantined")  # fmt: skip
            wait_until(lambda: ingester.status.acked == 22, 10, "22 acknowledged")
        finally:
            ingester.stop()
            thread.join(10)
            forget_session(client_id)
        status = ingester.status
        assert (status.stored, status.duplicates, status.quarantined) == (20, 1, 1)
        series = M.series(store, f"{mine}/S1/P1", "sw_cd")
        assert len(series) == 20 and series[-1]["value"] == 0.02
        assert all(r["source"] == "mqtt" for r in series)
        assert M.quarantine(store, mine_id=mine)[0]["field"] == "payload"
        from restora.store import alerts

        open_alerts = [a for a in alerts.alerts(store, mine_id=mine)]
        assert [a["level"] for a in open_alerts] == ["alarm"] and open_alerts[0]["value"] == 0.02
