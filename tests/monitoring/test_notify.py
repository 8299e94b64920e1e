"""Delivering the alert outbox: a webhook to a local HTTP server (HMAC checked independently),
an e-mail to a local SMTP server (aiosmtpd), exponential backoff after a failing target and
giving up after the last attempt; claims are not taken twice."""

from __future__ import annotations

import datetime as dt
import email
import hashlib
import hmac
import importlib.util
import json
import socket
import sys
import threading
from collections.abc import Iterator
from email.header import decode_header, make_header
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from restora.service import notify as N
from restora.store import Store
from restora.store import alerts as A
from restora.store import hooks as H


def _support() -> ModuleType:
    name = "restora_tests_alerts_support"
    if name not in sys.modules:
        path = Path(__file__).with_name("alerts_support.py")
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        sys.modules[name] = module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    return sys.modules[name]


S = _support()
T0, add_sensor, ingest, threshold_rule = S.T0, S.add_sensor, S.ingest, S.threshold_rule


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    with Store(db_url) as s:
        yield s


class Receiver(ThreadingHTTPServer):
    status = 200
    received: list[tuple[dict[str, str], bytes]]


class _Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
        self.send_response(self.server.status)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver(("127.0.0.1", 0), _Handler)
    server.received = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _url(server: Receiver) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}/hook"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


SETTINGS = N.NotifySettings(base_url="https://restora.example.cn", timeout_s=5.0)


def test_webhook_signed_document(store: Store, receiver: Receiver) -> None:
    add_sensor(store)
    threshold_rule(store)
    hook = H.add_hook(store, kind="webhook", target=_url(receiver), secret="桥-secret")
    plain = H.add_hook(store, kind="webhook", target=_url(receiver), levels=["warning"])
    assert hook["has_secret"] and "secret" not in hook
    (aid,) = ingest(store, [(0, 12.0)])
    counts = N.deliver_pending(store, T0 + dt.timedelta(minutes=1), settings=SETTINGS)
    assert counts == {"sent": 2, "retry": 0, "failed": 0}
    by_delivery = {}
    for headers, body in receiver.received:
        by_delivery[headers["x-restora-delivery"]] = (headers, body)
    signed = [(h, b) for h, b in by_delivery.values() if "x-restora-signature" in h]
    assert len(signed) == 1
    headers, body = signed[0]
    expected = hmac.new("桥-secret".encode(), body, hashlib.sha256).hexdigest()
    assert headers["x-restora-signature"] == f"sha256={expected}"
    assert headers["x-restora-event"] == "raised"
    doc = json.loads(body)
    assert doc["alert"]["id"] == aid and doc["event"] == "raised"
    assert (doc["mine"], doc["indicator"], doc["value"], doc["threshold"]) == (
        "M001",
        "slope_disp",
        12.0,
        10.0,
    )
    assert doc["alert"]["received_at"] == "2026-05-01T08:00:02Z"  # measured 08:00 + 2 s
    assert doc["links"]["alert"] == f"https://restora.example.cn/api/v1/monitoring/alerts/{aid}"
    assert doc["links"]["mine"] == "https://restora.example.cn/mines/M001/monitoring"
    unsigned = [h for h, _ in by_delivery.values() if "x-restora-signature" not in h]
    assert len(unsigned) == 1
    ds = H.deliveries(store, alert_id=aid)
    assert {d["status"] for d in ds} == {"sent"} and {d["hook_id"] for d in ds} == {
        hook["id"],
        plain["id"],
    }
    # nothing due any more
    assert N.deliver_pending(store, T0 + dt.timedelta(hours=1), settings=SETTINGS)["sent"] == 0


def test_backoff_then_give_up(store: Store, receiver: Receiver) -> None:
    add_sensor(store)
    threshold_rule(store)
    receiver.status = 503
    H.add_hook(store, kind="webhook", target=_url(receiver))
    (aid,) = ingest(store, [(0, 12.0)])
    t = T0 + dt.timedelta(minutes=1)
    assert N.deliver_pending(store, t, settings=SETTINGS) == {"sent": 0, "retry": 1, "failed": 0}
    (d,) = H.deliveries(store, alert_id=aid)
    assert (d["status"], d["attempts"]) == ("pending", 1)
    assert "HTTP 503" in d["last_error"]
    assert d["next_attempt_at"] == t + dt.timedelta(seconds=30)  # BACKOFF_BASE_S * 2**0
    # not due before its time
    assert N.deliver_pending(store, t + dt.timedelta(seconds=29), settings=SETTINGS)["retry"] == 0
    t += dt.timedelta(seconds=30)
    assert N.deliver_pending(store, t, settings=SETTINGS)["retry"] == 1
    (d,) = H.deliveries(store, alert_id=aid)
    assert d["next_attempt_at"] == t + dt.timedelta(seconds=60)  # 30 * 2**1
    for n in range(3, H.MAX_ATTEMPTS + 1):
        t = d["next_attempt_at"]
        counts = N.deliver_pending(store, t, settings=SETTINGS)
        (d,) = H.deliveries(store, alert_id=aid)
        assert d["attempts"] == n
    assert counts == {"sent": 0, "retry": 0, "failed": 1}
    assert d["status"] == "failed"
    assert len(receiver.received) == H.MAX_ATTEMPTS
    # an unreachable target is a failure of the delivery, not of the sender
    H.add_hook(store, kind="webhook", target=f"http://127.0.0.1:{_free_port()}/x")
    A.acknowledge(store, aid, "li", now=t)
    receiver.status = 200
    counts = N.deliver_pending(store, t + dt.timedelta(seconds=1), settings=SETTINGS)
    assert counts == {"sent": 1, "retry": 1, "failed": 0}


def test_claims_are_not_taken_twice(store: Store) -> None:
    add_sensor(store)
    threshold_rule(store)
    H.add_hook(store, kind="webhook", target="http://127.0.0.1:9/x")
    ingest(store, [(0, 12.0)])
    t = T0 + dt.timedelta(minutes=1)
    first = H.claim(store, t)
    assert len(first) == 1 and first[0]["alert"]["value"] == 12.0
    assert H.claim(store, t) == []  # being sent
    # its sender died: taken again after the claim timeout
    again = H.claim(store, t + dt.timedelta(seconds=H.CLAIM_TIMEOUT_S))
    assert [d["id"] for d in again] == [first[0]["id"]] and again[0]["attempts"] == 2


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[_Inbox, int]]:
    inbox = _Inbox()
    port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


def test_email_bilingual(store: Store, smtp: tuple[_Inbox, int]) -> None:
    inbox, port = smtp
    add_sensor(store, "M001/S1/W1")
    H.add_hook(store, kind="email", target="ops@example.org", levels=["alarm"], mine_id="M001")
    # sw_cd (surface water cadmium) by the catalogue's default levels: find an alarm value
    from restora.monitoring import catalogue

    cd = catalogue.indicator("sw_cd")
    assert cd.alarm is not None
    value = cd.alarm * 2
    (aid,) = ingest(store, [(0, value)], sensor_id="M001/S1/W1", indicator="sw_cd", unit="mg/L")
    settings = N.NotifySettings(
        smtp_host="127.0.0.1", smtp_port=port, smtp_from="alerts@restora.example.cn"
    )
    # without a server configured the e-mail waits (retry), then goes out
    assert N.deliver_pending(store, T0 + dt.timedelta(minutes=1), settings=SETTINGS)["retry"] == 1
    (d,) = H.deliveries(store, alert_id=aid)
    assert "RESTORA_SMTP_HOST is not set" in d["last_error"]
    counts = N.deliver_pending(store, T0 + dt.timedelta(minutes=2), settings=settings)
    assert counts == {"sent": 1, "retry": 0, "failed": 0}
    (sender, rcpts, raw) = inbox.messages[0]
    assert (sender, rcpts) == ("alerts@restora.example.cn", ["ops@example.org"])
    msg = email.message_from_bytes(raw)
    subject = str(make_header(decode_header(msg["Subject"])))
    assert subject.startswith("【报警·触发】M001 " + cd.name_zh)
    assert subject.endswith(f"[alarm raised] M001 {cd.name_en}")
    body = msg.get_payload(decode=True).decode("utf-8")  # type: ignore[union-attr]
    assert body.index("矿山：M001") < body.index("Mine: M001")
    assert f"Value: {value:g}    Threshold: {cd.alarm:g}" in body
    assert N.NotifySettings.from_env().smtp_port in (25, 587)


def test_settings_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RESTORA_SMTP_HOST", "mail.example.cn")
    monkeypatch.setenv("RESTORA_SMTP_STARTTLS", "true")
    monkeypatch.delenv("RESTORA_SMTP_PORT", raising=False)
    monkeypatch.setenv("RESTORA_BASE_URL", "https://x.example.cn/")
    s = N.NotifySettings.from_env()
    assert (s.smtp_host, s.smtp_port, s.smtp_starttls, s.base_url) == (
        "mail.example.cn",
        587,
        True,
        "https://x.example.cn",
    )
