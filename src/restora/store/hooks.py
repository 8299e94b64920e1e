"""Notification hooks and their outbox (docs/monitoring.md, "Alerts and notifications").

A hook (``monitoring_hooks``) sends an alert's transitions somewhere: ``webhook`` (an HTTP
POST to a URL, signed with HMAC-SHA256 when it has a secret) or ``email`` (an address, by the
SMTP settings of the environment). It watches some levels (``warning``, ``alarm``) and one
mine or all of them.

Every transition of an alert (raised, escalated, acknowledged, resolved) puts one row in
``monitoring_deliveries`` per active matching hook, **in the transaction of the transition**
(:func:`enqueue`; restora.store.alerts calls it): the outbox. Sending happens later, outside
that transaction (restora.service.notify.deliver_pending): a webhook that hangs or an SMTP
server that is down never slows or fails ingestion. A sender claims due deliveries
(:func:`claim`: ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so several senders never take the
same row; SQLite's write lock serialises them), then marks each :func:`mark_sent` or
:func:`mark_failed` — which retries after an exponential backoff (:func:`backoff_s`) until
:data:`MAX_ATTEMPTS`, then gives up (``status = 'failed'``).

Delivery states: ``pending`` (due at ``next_attempt_at``), ``sending`` (claimed; a claim older
than :data:`CLAIM_TIMEOUT_S` is taken again — its sender died), ``sent``, ``failed``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from restora.errors import InputError
from restora.monitoring.rules import LEVELS
from restora.store.engine import begin_write
from restora.store.monitoring_tables import monitoring_alerts as ALERTS
from restora.store.monitoring_tables import monitoring_deliveries as DELIVERIES
from restora.store.monitoring_tables import monitoring_hooks as HOOKS

HOOK_KINDS = ("webhook", "email")
#: Attempts before a delivery is given up (status ``failed``).
MAX_ATTEMPTS = 8
#: First retry delay [s]; each further attempt doubles it, up to :data:`BACKOFF_MAX_S`.
BACKOFF_BASE_S = 30.0
BACKOFF_MAX_S = 3600.0
#: A delivery claimed (``sending``) this long ago by a sender that never answered is due again.
CLAIM_TIMEOUT_S = 300.0


def _engine(store: Any) -> sa.Engine:
    return store if isinstance(store, sa.Engine) else store.engine  # type: ignore[no-any-return]


def _utc(t: dt.datetime | None) -> dt.datetime | None:
    if t is None:
        return None
    return t.replace(tzinfo=dt.UTC) if t.tzinfo is None else t.astimezone(dt.UTC)


def backoff_s(attempts: int) -> float:
    """Delay [s] before the next attempt after ``attempts`` failed ones:
    ``min(BACKOFF_BASE_S * 2**(attempts - 1), BACKOFF_MAX_S)``.

    >>> [backoff_s(n) for n in (1, 2, 3, 9)]
    [30.0, 60.0, 120.0, 3600.0]
    """
    return float(min(BACKOFF_BASE_S * 2.0 ** max(attempts - 1, 0), BACKOFF_MAX_S))


# ---------------------------------------------------------------------------------- hooks
def _hook_dict(row: Mapping[Any, Any]) -> dict[str, Any]:
    d = dict(row)
    d["created_at"] = _utc(d["created_at"])
    d["has_secret"] = bool(d.pop("secret", None))
    return d


def add_hook(
    store: Any,
    *,
    kind: str,
    target: str,
    levels: Sequence[str] = ("warning", "alarm"),
    mine_id: str | None = None,
    secret: str | None = None,
    by: str | None = None,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """Add a hook; returns it (without its secret: ``has_secret``).

    ``kind`` ``webhook`` needs an ``http(s)://`` URL, ``email`` an address. :class:`InputError`
    names the field that is wrong.
    """
    if kind not in HOOK_KINDS:
        raise InputError(f"{kind!r} is not a hook kind (webhook or email)", field="kind")
    if kind == "webhook" and not target.startswith(("http://", "https://")):
        raise InputError(f"{target!r} is not an http(s) URL", field="target")
    if kind == "email" and ("@" not in target or " " in target.strip()):
        raise InputError(f"{target!r} is not an e-mail address", field="target")
    levels = list(dict.fromkeys(levels))
    bad = [lv for lv in levels if lv not in LEVELS]
    if bad or not levels:
        raise InputError(f"levels {bad or levels}: use warning and/or alarm", field="levels")
    values = {
        "kind": kind,
        "target": target.strip(),
        "levels": levels,
        "mine_id": mine_id or None,
        "secret": secret or None,
        "active": True,
        "created_at": now or dt.datetime.now(dt.UTC),
        "created_by": by,
    }
    with begin_write(_engine(store)) as conn:
        hook_id = conn.execute(sa.insert(HOOKS).values(**values).returning(HOOKS.c.id)).scalar_one()
        row = conn.execute(sa.select(HOOKS).where(HOOKS.c.id == hook_id)).mappings().one()
    return _hook_dict(row)


def hooks(store: Any, *, active: bool | None = True) -> list[dict[str, Any]]:
    """The hooks (active ones by default; ``active=None``: all), by id."""
    q = sa.select(HOOKS).order_by(HOOKS.c.id)
    if active is not None:
        q = q.where(HOOKS.c.active == active)
    with _engine(store).connect() as conn:
        return [_hook_dict(r) for r in conn.execute(q).mappings()]


def deactivate_hook(store: Any, hook_id: int) -> dict[str, Any]:
    """Switch a hook off (kept for the deliveries that name it); pending deliveries stay."""
    with begin_write(_engine(store)) as conn:
        n = conn.execute(
            sa.update(HOOKS).where(HOOKS.c.id == hook_id).values(active=False)
        ).rowcount
        if not n:
            raise InputError(f"no hook {hook_id}", field="hook_id")
        row = conn.execute(sa.select(HOOKS).where(HOOKS.c.id == hook_id)).mappings().one()
    return _hook_dict(row)


def hook_secret(conn: sa.Connection, hook_id: int) -> str | None:
    """A hook's secret (for the sender only)."""
    return conn.execute(sa.select(HOOKS.c.secret).where(HOOKS.c.id == hook_id)).scalar()


# ---------------------------------------------------------------------------------- outbox
class HookCache:
    """The active hooks, read once per transaction that enqueues deliveries."""

    def __init__(self) -> None:
        self._rows: list[dict[str, Any]] | None = None

    def matching(self, conn: sa.Connection, level: str, mine_id: str) -> list[int]:
        if self._rows is None:
            q = sa.select(HOOKS.c.id, HOOKS.c.levels, HOOKS.c.mine_id).where(HOOKS.c.active)
            self._rows = [dict(r) for r in conn.execute(q).mappings()]
        return [
            h["id"]
            for h in self._rows
            if level in (h["levels"] or []) and (h["mine_id"] is None or h["mine_id"] == mine_id)
        ]


def enqueue(
    conn: sa.Connection,
    *,
    alert_id: int,
    level: str,
    mine_id: str,
    event: str,
    now: dt.datetime,
    cache: HookCache | None = None,
) -> int:
    """Queue one delivery of ``event`` of an alert per active hook that watches its level and
    mine, in the caller's transaction; returns how many."""
    ids = (cache or HookCache()).matching(conn, level, mine_id)
    if ids:
        conn.execute(
            sa.insert(DELIVERIES),
            [
                {
                    "hook_id": h,
                    "alert_id": alert_id,
                    "event": event,
                    "status": "pending",
                    "attempts": 0,
                    "last_error": None,
                    "created_at": now,
                    "next_attempt_at": now,
                    "sent_at": None,
                }
                for h in ids
            ],
        )
    return len(ids)


def claim(store: Any, now: dt.datetime, *, limit: int = 100) -> list[dict[str, Any]]:
    """Take up to ``limit`` due deliveries (pending and due, or claimed too long ago): mark them
    ``sending`` and count the attempt; returns them with their hook and alert.

    PostgreSQL: ``FOR UPDATE SKIP LOCKED``, so concurrent senders take disjoint rows.
    """
    stale = now - dt.timedelta(seconds=CLAIM_TIMEOUT_S)
    due = sa.or_(
        sa.and_(DELIVERIES.c.status == "pending", DELIVERIES.c.next_attempt_at <= now),
        sa.and_(DELIVERIES.c.status == "sending", DELIVERIES.c.next_attempt_at <= stale),
    )
    q = (
        sa.select(DELIVERIES.c.id)
        .where(due)
        .order_by(DELIVERIES.c.next_attempt_at, DELIVERIES.c.id)
        .limit(limit)
    )
    engine = _engine(store)
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            q = q.with_for_update(skip_locked=True)
        ids = list(conn.execute(q).scalars())
        if not ids:
            return []
        conn.execute(
            sa.update(DELIVERIES)
            .where(DELIVERIES.c.id.in_(ids))
            .values(status="sending", attempts=DELIVERIES.c.attempts + 1, next_attempt_at=now)
        )
        rows = conn.execute(
            sa.select(
                DELIVERIES,
                HOOKS.c.kind.label("hook_kind"),
                HOOKS.c.target.label("hook_target"),
                HOOKS.c.secret.label("hook_secret"),
            )
            .join(HOOKS, HOOKS.c.id == DELIVERIES.c.hook_id)
            .where(DELIVERIES.c.id.in_(ids))
            .order_by(DELIVERIES.c.id)
        ).mappings()
        out = [dict(r) for r in rows]
        alert_ids = {d["alert_id"] for d in out}
        alerts = {
            a["id"]: dict(a)
            for a in conn.execute(sa.select(ALERTS).where(ALERTS.c.id.in_(alert_ids))).mappings()
        }
    for d in out:
        d["alert"] = alerts.get(d["alert_id"])
    return out


def mark_sent(store: Any, delivery_id: int, now: dt.datetime) -> None:
    """A delivery went through."""
    with _engine(store).begin() as conn:
        conn.execute(
            sa.update(DELIVERIES)
            .where(DELIVERIES.c.id == delivery_id)
            .values(status="sent", sent_at=now, last_error=None)
        )


def mark_failed(store: Any, delivery_id: int, now: dt.datetime, error: str) -> str:
    """A delivery failed: due again after :func:`backoff_s` of its attempts, or ``failed`` for
    good after :data:`MAX_ATTEMPTS`; returns the new status."""
    with _engine(store).begin() as conn:
        attempts = conn.execute(
            sa.select(DELIVERIES.c.attempts).where(DELIVERIES.c.id == delivery_id)
        ).scalar_one()
        status = "failed" if attempts >= MAX_ATTEMPTS else "pending"
        conn.execute(
            sa.update(DELIVERIES)
            .where(DELIVERIES.c.id == delivery_id)
            .values(
                status=status,
                last_error=error[:500],
                next_attempt_at=now + dt.timedelta(seconds=backoff_s(attempts)),
            )
        )
    return status


def deliveries(
    store: Any,
    *,
    alert_id: int | None = None,
    status: str | None = None,
    limit: int = 1000,
) -> list[dict[str, Any]]:
    """Deliveries, newest first, filtered by alert and status."""
    q = sa.select(DELIVERIES).order_by(DELIVERIES.c.id.desc()).limit(limit)
    if alert_id is not None:
        q = q.where(DELIVERIES.c.alert_id == alert_id)
    if status is not None:
        q = q.where(DELIVERIES.c.status == status)
    with _engine(store).connect() as conn:
        out = []
        for r in conn.execute(q).mappings():
            d = dict(r)
            for k in ("created_at", "next_attempt_at", "sent_at"):
                d[k] = _utc(d[k])
            out.append(d)
    return out
