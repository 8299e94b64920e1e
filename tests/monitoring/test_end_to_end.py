"""Issue 16, end to end: sensor messages published to the real Mosquitto broker at
127.0.0.1:1883 are stored by the MQTT ingester; a crack-width reading above the catalogue's alarm
level raises an alert, a reading back in range resolves it; an evaluator's sign-off (through the
CLI) releases the soil tranche of the project's performance bond, and a sign-off on the plant
survival the sensors reported issues the credits it earns; ``restora registry verify`` passes.

SQLite store; unique mine, project and client ids per run.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pytest


def _load(name: str, file: str) -> Any:
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name(file))
        assert spec is not None and spec.loader is not None
        sys.modules[name] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(sys.modules[name])
    return sys.modules[name]


S = _load("restora_tests_verification_support", "verification_support.py")
Q = _load("restora_tests_mqtt_support_e2e", "mqtt_support.py")
RESTORA = str(Path(sys.executable).with_name("restora"))


def test_sensor_messages_to_alert_to_sign_off_tranche_and_credits(tmp_path: Path) -> None:
    Q.require_broker()
    from restora.service.mqtt_ingest import Ingester
    from restora.store import Store
    from restora.store import alerts as A
    from restora.store import monitoring as M
    from restora.store import registry as R
    from restora.store import verification as V

    url = f"sqlite:///{tmp_path / 'e2e.db'}"
    tag = uuid.uuid4().hex[:10]
    client_id = f"restora-test-e2e-{tag}"
    with Store(url) as store:
        s = S.setup_project(store, tag)
        mine, p = s["mine"], s["project"]
        ingester = Ingester(store, broker=Q.BROKER, client_id=client_id, offline_every_s=3600)
        ready = threading.Event()
        ingester.on_event = lambda event, status: event == "subscribed" and ready.set()
        thread = threading.Thread(target=ingester.run)
        thread.start()
        try:
            assert ready.wait(10), "the ingester did not subscribe"
            pub = Q.publisher(f"restora-test-e2e-pub-{tag}")
            t0 = time.time() - 3600
            crack = f"restora/{mine}/{mine}-S1/CW1/crack_width"
            # crack width 2, 3, 4 mm; then 25 mm: above the catalogue's alarm level 20 mm
            for i, v in enumerate([2.0, 3.0, 4.0, 25.0]):
                Q.publish(pub, crack, t0 + 60 * i, v).wait_for_publish(10)
            Q.wait_until(
                lambda: any(a["state"] == "raised" for a in A.alerts(store, mine_id=mine)),
                20, "the alarm raised",
            )  # fmt: skip
            raised = A.alerts(store, mine_id=mine)
            assert [(a["level"], a["indicator"], a["value"]) for a in raised] == [
                ("alarm", "crack_width", 25.0)
            ]
            assert raised[0]["received_at"] <= raised[0]["raised_at"]
            # back in range (4 mm, inside the warning level 10): the alert resolves itself
            Q.publish(pub, crack, t0 + 240, 4.0).wait_for_publish(10)
            Q.wait_until(
                lambda: A.alerts(store, mine_id=mine)[0]["state"] == "resolved",
                20, "the alarm resolved by a value back in range",
            )  # fmt: skip
            # plant survival of three plots, reported by the field sensors: 0.92, 0.88, 0.90
            for k, v in enumerate([0.92, 0.88, 0.90]):
                topic = f"restora/{mine}/{mine}-S1/PLOT{k}/plant_survival"
                Q.publish(pub, topic, t0 + 300, v).wait_for_publish(10)
            pub.disconnect()
            Q.wait_until(lambda: M.counts(store, mine)["readings"] == 8, 20, "8 readings stored")
        finally:
            ingester.stop()
            thread.join(10)
            Q.forget_session(client_id)
        series = M.series(store, f"{mine}/{mine}-S1/CW1", "crack_width")
        assert [r["value"] for r in series] == [2.0, 3.0, 4.0, 25.0, 4.0]
        assert all(r["source"] == "mqtt" for r in series)

        # the evaluator reviews and signs off the soil milestone through the CLI
        V.milestones_from_project(store, p)
        report = tmp_path / "report.pdf"
        report.write_bytes(b"%PDF-1.4 evaluation report " + tag.encode())
        out = subprocess.run(
            [RESTORA, "monitor", "sign-off", f"{p}/soil", "--evaluator", s["evaluator"],
             "--decision", "accepted", "--report", str(report), "--db", url, "--format", "json"],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert out.returncode == 0, out.stderr
        signed = json.loads(out.stdout)
        # 17 of 20 samples below screening: 0.85 -> tier partial, fraction
        # 0.5 + (0.85 - 0.5)/(0.9 - 0.5) * 0.5 = 0.9375, amount 20 000 000 * 0.6 * 0.9375
        assert signed["value"] == 0.85
        assert signed["report_sha256"] == hashlib.sha256(report.read_bytes()).hexdigest()
        assert signed["release"]["tier"] == "partial"
        assert signed["release"]["amount_cny"] == pytest.approx(11_250_000.0)
        assert [r["tranche"] for r in V.tranche_releases(store, p)] == ["soil"]

        # a survival milestone earning 50 t CO2e of carbon-sink credits, signed on the sensors'
        # values: mean (0.92 + 0.88 + 0.90) / 3 = 0.90 >= 0.85
        m = V.add_milestone(
            store, project_id=p, name="survival", indicator="plant_survival", target=0.85,
            credits={"unit_type": "CSINK", "count": 50, "vintage": 2030,
                     "attrs": {"methodology": "CCER-14-001"}},
        )  # fmt: skip
        ev = V.evidence(store, m["id"])
        assert ev["value"] == pytest.approx(0.90) and ev["meets"] is True
        assert sorted(i["sensor_id"] for i in ev["items"]) == [
            f"{mine}/{mine}-S1/PLOT{k}" for k in range(3)
        ]
        row = V.sign_off(
            store, m["id"], evaluator=s["evaluator"], decision="accepted",
            report_sha256=S.REPORT,
        )  # fmt: skip
        assert row["issued"]["count"] == 50
        blocks = R.list_blocks(store, project_id=p)
        assert sum(b["count"] for b in blocks) == 50
        assert {b["status"] for b in blocks} == {"held"}
        kinds = [e["kind"] for e in R.iter_events(store)]
        assert kinds.count("sign_off") == 2 and kinds.count("issue") == 1
    out = subprocess.run(
        [RESTORA, "registry", "verify", "--db", url, "--format", "json"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr
    assert json.loads(out.stdout)["ok"] is True
