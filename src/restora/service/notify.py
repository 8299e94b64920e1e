"""Sending the alert outbox: webhooks (HTTP POST, HMAC-signed) and e-mail (SMTP)
(docs/monitoring.md, "Alerts and notifications").

:func:`deliver_pending` claims the due deliveries of ``monitoring_deliveries``
(restora.store.hooks.claim), sends each, and marks it sent, or failed with an exponential
backoff until the hook's attempts run out. It runs apart from ingestion (``restora monitor
notify [--loop]``, or a job), so a slow or broken target never delays storing readings or
raising alerts.

**Webhook**: ``POST <target>`` with ``Content-Type: application/json`` and the document of
:func:`document` (UTF-8 JSON); headers ``X-Restora-Event`` (raised, escalated, acknowledged,
resolved), ``X-Restora-Delivery`` (the delivery id: a receiver drops repeats by it — a
delivery whose answer was lost is sent again) and, when the hook has a secret,
``X-Restora-Signature: sha256=<hex HMAC-SHA256 of the body with the secret>`` (the GitHub
webhook convention). Any 2xx answer is success; anything else, or no answer within the
timeout, is a failure.

**E-mail**: a plain-text message, subject and body in Chinese first then English, through the
SMTP server of the environment:

=========================  ===================================================  ===============
variable                   meaning                                              default
=========================  ===================================================  ===============
RESTORA_SMTP_HOST          SMTP server (e-mail hooks fail until it is set)      none
RESTORA_SMTP_PORT          its port                                             587 with
                                                                                STARTTLS, else 25
RESTORA_SMTP_USER          login user (none: no login)                          none
RESTORA_SMTP_PASSWORD      login password                                       none
RESTORA_SMTP_FROM          sender address                                       restora@localhost
RESTORA_SMTP_STARTTLS      upgrade the connection with STARTTLS (1/true)        false
RESTORA_NOTIFY_TIMEOUT     seconds to wait for a webhook or the SMTP server     10
RESTORA_BASE_URL           the service's address, for the links in messages     http://127.0.0.1:8000
=========================  ===================================================  ===============
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import os
import smtplib
import threading
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

import httpx

from restora.store import hooks as H

log = logging.getLogger(__name__)

LEVEL_ZH = {"warning": "预警", "alarm": "报警"}
EVENT_ZH = {"raised": "触发", "escalated": "升级", "acknowledged": "已确认", "resolved": "已解除"}
KIND_ZH = {"threshold": "超阈值", "rate": "变化速率", "trend": "趋势", "offline": "传感器离线"}


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class NotifySettings:
    """Where and how to send (see the module's table)."""

    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_from: str = "restora@localhost"
    smtp_starttls: bool = False
    timeout_s: float = 10.0
    base_url: str = "http://127.0.0.1:8000"

    @classmethod
    def from_env(cls) -> NotifySettings:
        """Settings from the ``RESTORA_SMTP_*``, ``RESTORA_NOTIFY_TIMEOUT`` and
        ``RESTORA_BASE_URL`` variables."""
        starttls = _flag("RESTORA_SMTP_STARTTLS")
        port = os.environ.get("RESTORA_SMTP_PORT", "").strip()
        return cls(
            smtp_host=os.environ.get("RESTORA_SMTP_HOST") or None,
            smtp_port=int(port) if port else (587 if starttls else 25),
            smtp_user=os.environ.get("RESTORA_SMTP_USER") or None,
            smtp_password=os.environ.get("RESTORA_SMTP_PASSWORD") or None,
            smtp_from=os.environ.get("RESTORA_SMTP_FROM") or "restora@localhost",
            smtp_starttls=starttls,
            timeout_s=float(os.environ.get("RESTORA_NOTIFY_TIMEOUT") or 10.0),
            base_url=(os.environ.get("RESTORA_BASE_URL") or "http://127.0.0.1:8000").rstrip("/"),
        )


def _iso(t: Any) -> str | None:
    if t is None:
        return None
    if isinstance(t, dt.datetime):
        t = t.replace(tzinfo=dt.UTC) if t.tzinfo is None else t.astimezone(dt.UTC)
        return t.isoformat().replace("+00:00", "Z")
    return str(t)


def _indicator_names(code: str | None) -> tuple[str, str]:
    if not code:
        return "", ""
    from restora.errors import InputError
    from restora.monitoring import catalogue

    try:
        ind = catalogue.indicator(code)
    except InputError:
        return code, code
    return ind.name_zh, ind.name_en


def document(delivery: dict[str, Any], base_url: str, now: dt.datetime) -> dict[str, Any]:
    """The JSON document of a delivery (the webhook's body; the e-mail is written from it).

    Keys: ``delivery`` (id), ``event``, ``sent_at``, ``alert`` (id, kind, level, state, rule,
    mine_id, site_id, sensor_id, indicator, value, threshold, message, measured_at,
    received_at, raised_at, acknowledged_at/by, resolved_at/by), and at the top level
    ``mine``, ``indicator``, ``value``, ``threshold`` (the alert's) and ``links`` (``alert``:
    the API's alert, ``mine``: the mine's live monitoring page).
    """
    a = delivery["alert"] or {}
    alert = {
        "id": a.get("id"),
        "kind": a.get("kind"),
        "level": a.get("level"),
        "state": a.get("state"),
        "rule": (a.get("details") or {}).get("rule"),
        "mine_id": a.get("mine_id"),
        "site_id": a.get("site_id"),
        "sensor_id": a.get("sensor_id"),
        "indicator": a.get("indicator"),
        "value": a.get("value"),
        "threshold": a.get("threshold"),
        "message": a.get("message"),
        **{
            k: _iso(a.get(k))
            for k in ("measured_at", "received_at", "raised_at", "acknowledged_at", "resolved_at")
        },
        "acknowledged_by": a.get("acknowledged_by"),
        "resolved_by": a.get("resolved_by"),
    }
    return {
        "delivery": delivery["id"],
        "event": delivery["event"],
        "sent_at": _iso(now),
        "alert": alert,
        "mine": alert["mine_id"],
        "indicator": alert["indicator"],
        "value": alert["value"],
        "threshold": alert["threshold"],
        "links": {
            "alert": f"{base_url}/api/v1/monitoring/alerts/{alert['id']}",
            "mine": f"{base_url}/mines/{alert['mine_id']}/monitoring",
        },
    }


def signature(secret: str, body: bytes) -> str:
    """``sha256=<hex>``: HMAC-SHA256 of the body with the hook's secret.

    >>> signature("s3cret", b'{"a":1}')
    'sha256=5910e62016ef5034272c926c27071992a465c2335cecf41851bda071577f4f6d'
    """
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def send_webhook(
    delivery: dict[str, Any], doc: dict[str, Any], client: httpx.Client, settings: NotifySettings
) -> None:
    """POST the document; raises on anything but a 2xx answer."""
    body = json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": "Restora-Alerts",
        "X-Restora-Event": str(doc["event"]),
        "X-Restora-Delivery": str(delivery["id"]),
    }
    if delivery.get("hook_secret"):
        headers["X-Restora-Signature"] = signature(delivery["hook_secret"], body)
    answer = client.post(
        delivery["hook_target"], content=body, headers=headers, timeout=settings.timeout_s
    )
    if not 200 <= answer.status_code < 300:
        raise RuntimeError(f"HTTP {answer.status_code} from {delivery['hook_target']}")


def email_message(doc: dict[str, Any], sender: str, to: str) -> EmailMessage:
    """The bilingual e-mail of a delivery document (Chinese first)."""
    a = doc["alert"]
    zh_name, en_name = _indicator_names(a["indicator"])
    level, event, kind = a["level"], doc["event"], a["kind"]
    where = a["sensor_id"] or a["mine_id"]
    zh_what = zh_name or KIND_ZH.get(kind, kind)
    en_what = en_name or kind
    subject = (
        f"【{LEVEL_ZH.get(level, level)}·{EVENT_ZH.get(event, event)}】{a['mine_id']} {zh_what}"
        f" / [{level} {event}] {a['mine_id']} {en_what}"
    )

    def figure(v: Any) -> str:
        return "-" if v is None else f"{v:g}"

    body = "\n".join(
        [
            f"矿山：{a['mine_id']}    传感器：{where}",
            f"指标：{zh_what}    类型：{KIND_ZH.get(kind, kind)}",
            f"级别：{LEVEL_ZH.get(level, level)}    事件：{EVENT_ZH.get(event, event)}",
            f"数值：{figure(a['value'])}    阈值：{figure(a['threshold'])}",
            f"测量时间：{a['measured_at'] or '-'}    告警时间：{a['raised_at']}",
            f"详情：{doc['links']['mine']}",
            "",
            f"Mine: {a['mine_id']}    Sensor: {where}",
            f"Indicator: {en_what}    Rule: {a['rule'] or kind}",
            f"Level: {level}    Event: {event}",
            f"Value: {figure(a['value'])}    Threshold: {figure(a['threshold'])}",
            f"Measured: {a['measured_at'] or '-'}    Raised: {a['raised_at']}",
            f"{a['message']}",
            f"Details: {doc['links']['mine']}",
            f"API: {doc['links']['alert']}",
        ]
    )
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = sender
    msg["To"] = to
    msg["X-Restora-Delivery"] = str(doc["delivery"])
    msg.set_content(body, charset="utf-8")
    return msg


def send_email(delivery: dict[str, Any], doc: dict[str, Any], settings: NotifySettings) -> None:
    """Send the e-mail through the SMTP server of the settings; raises on failure."""
    if not settings.smtp_host:
        raise RuntimeError("RESTORA_SMTP_HOST is not set")
    msg = email_message(doc, settings.smtp_from, delivery["hook_target"])
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=settings.timeout_s) as smtp:
        if settings.smtp_starttls:
            smtp.starttls()
        if settings.smtp_user:
            smtp.login(settings.smtp_user, settings.smtp_password or "")
        smtp.send_message(msg)


def deliver_pending(
    store: Any,
    now: dt.datetime | None = None,
    *,
    settings: NotifySettings | None = None,
    client: httpx.Client | None = None,
    limit: int = 100,
) -> dict[str, int]:
    """Send the due deliveries once; returns counts ``sent``, ``retry`` (failed, due again
    after a backoff) and ``failed`` (given up after restora.store.hooks.MAX_ATTEMPTS).

    ``now`` (default: the clock) decides what is due; when given, it is also the time the
    deliveries are marked with (tests), else each is marked when its sending ended.
    """
    settings = settings or NotifySettings.from_env()
    fixed = now is not None
    now = now or dt.datetime.now(dt.UTC)
    counts = {"sent": 0, "retry": 0, "failed": 0}
    claimed = H.claim(store, now, limit=limit)
    if not claimed:
        return counts
    own = client is None
    http = client or httpx.Client(follow_redirects=False)
    try:
        for d in claimed:
            try:
                if d["alert"] is None:
                    raise RuntimeError(f"alert {d['alert_id']} not found")
                doc = document(d, settings.base_url, now)
                if d["hook_kind"] == "webhook":
                    send_webhook(d, doc, http, settings)
                else:
                    send_email(d, doc, settings)
            except Exception as exc:  # any failure of a target is the delivery's, not ours
                error = f"{type(exc).__name__}: {exc}"
                at = now if fixed else dt.datetime.now(dt.UTC)
                status = H.mark_failed(store, d["id"], at, error)
                counts["failed" if status == "failed" else "retry"] += 1
                log.warning("delivery %s to %s failed: %s", d["id"], d["hook_target"], error)
            else:
                H.mark_sent(store, d["id"], now if fixed else dt.datetime.now(dt.UTC))
                counts["sent"] += 1
    finally:
        if own:
            http.close()
    return counts


def run(
    store: Any,
    *,
    interval_s: float = 5.0,
    stop: threading.Event | None = None,
    settings: NotifySettings | None = None,
) -> dict[str, int]:
    """:func:`deliver_pending` every ``interval_s`` [s] until ``stop`` is set; the totals."""
    stop = stop or threading.Event()
    settings = settings or NotifySettings.from_env()
    totals = {"sent": 0, "retry": 0, "failed": 0}
    with httpx.Client(follow_redirects=False) as client:
        while not stop.is_set():
            counts = deliver_pending(store, settings=settings, client=client)
            for k, v in counts.items():
                totals[k] += v
            if not any(counts.values()):
                stop.wait(interval_s)
    return totals
