"""The alert engine in the store: rules as rows, alerts and their lifecycle (docs/monitoring.md,
"Alerts and notifications").

**Evaluation.** :func:`evaluate_stored` runs inside the ingestion's transaction
(restora.store.monitoring.ingest) over the readings it just stored: for each (sensor,
indicator) it applies the rules in force and raises, escalates or resolves alerts — the alert
and the readings commit together, and ``raised_at - received_at`` of an alert is the latency
from the message's arrival to its alert. :func:`check_offline` raises one ``offline`` alert per
silent sensor (the ingester calls it every minute).

**Which rules apply.** Rules (``monitoring_rules``) are scoped to a sensor, a site, a mine or
everywhere. For one sensor, indicator and kind, the rules of the *most specific* scope apply
(a sensor's rule overrides its site's, which overrides the mine's, which overrides a global
rule); with no threshold rule at any scope, the indicator catalogue's warning and alarm
levels (restora.monitoring.catalogue) apply as rule ``ALERT-THRESHOLD-<indicator>``.

**Lifecycle.** ``raised`` → ``acknowledged`` (a person: :func:`acknowledge`) → ``resolved``
(a person: :func:`resolve`; or the rule, when the value is back inside by the rule's margin —
restora.monitoring.rules). At most one alert per (rule, sensor, indicator) is open (not
resolved) at a time: a new breach while it is open changes nothing, except a breach of a
higher level, which *escalates* it (warning → alarm: its level, value and threshold are
updated, an ``escalated`` event is appended); after it is resolved, a new breach raises a new
alert. A reading older than the one that raised an alert (out of order) never resolves it.
Every transition appends a row to ``monitoring_alert_events`` and queues one delivery per
matching hook (restora.store.hooks.enqueue) in the same transaction.

Offline alerts: a sensor whose last message (``last_seen_at``; ``created_at`` if it never
reported) is older than its interval — the most specific ``offline`` rule's ``interval_s``,
else the sensor's ``expected_interval_s`` (default 900 s) — gets one ``offline`` alert (level
of that rule, else ``warning``) until data arrive again, which resolves it.

One open alert per key relies on writers being serialised (SQLite's write lock; the schema
advisory lock of restora.store.engine.begin_write on PostgreSQL), as ingestion is.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import sqlalchemy as sa

from restora.errors import InputError
from restora.monitoring import rules as R
from restora.store.engine import begin_write
from restora.store.hooks import HookCache, enqueue
from restora.store.monitoring_tables import monitoring_alert_events as EVENTS
from restora.store.monitoring_tables import monitoring_alerts as ALERTS
from restora.store.monitoring_tables import monitoring_readings as READINGS
from restora.store.monitoring_tables import monitoring_rules as RULES
from restora.store.monitoring_tables import monitoring_sensors as SENSORS

STATES = ("raised", "acknowledged", "resolved")
OPEN_STATES = ("raised", "acknowledged")
#: ``by`` of the transitions the rules make themselves.
SYSTEM = "system"
#: Level of an offline alert when no offline rule names one.
OFFLINE_LEVEL = "warning"
#: Readings of a series read back for a rate or trend rule at most.
SERIES_LIMIT = 5000


def _engine(store: Any) -> sa.Engine:
    return store if isinstance(store, sa.Engine) else store.engine  # type: ignore[no-any-return]


def _utc(t: dt.datetime | None) -> dt.datetime | None:
    if t is None:
        return None
    return t.replace(tzinfo=dt.UTC) if t.tzinfo is None else t.astimezone(dt.UTC)


def _aware(t: dt.datetime) -> dt.datetime:
    return t.replace(tzinfo=dt.UTC) if t.tzinfo is None else t.astimezone(dt.UTC)


def _now(now: dt.datetime | None) -> dt.datetime:
    return _utc(now) or dt.datetime.now(dt.UTC)  # type: ignore[return-value]


# ------------------------------------------------------------------------------- rules
@dataclass(frozen=True)
class ActiveRule:
    """A rule in force: its row's id (None for a catalogue default), scope and the rule."""

    id: int | None
    mine_id: str | None
    site_id: str | None
    sensor_id: str | None
    rule: R.Rule

    def scope_rank(self) -> int:
        """3 sensor, 2 site, 1 mine, 0 everywhere (-1: the catalogue's default)."""
        if self.id is None:
            return -1
        if self.sensor_id:
            return 3
        if self.site_id:
            return 2
        return 1 if self.mine_id else 0

    def applies(self, sensor_id: str, site_id: str | None, mine_id: str) -> bool:
        if self.sensor_id is not None:
            return self.sensor_id == sensor_id
        return (self.site_id is None or self.site_id == site_id) and (
            self.mine_id is None or self.mine_id == mine_id
        )


def rule_code(kind: str, rule_id: int | None, indicator: str | None = None) -> str:
    """A rule's stable code: ``ALERT-RATE-12`` for stored rule 12, ``ALERT-THRESHOLD-cd``
    for the catalogue's default of indicator ``cd``."""
    suffix = str(rule_id) if rule_id is not None else str(indicator)
    return f"{R.KIND_CODES[kind]}-{suffix}"


def _active_rule(row: Mapping[Any, Any]) -> ActiveRule:
    rule = R.Rule(
        rule_code(row["kind"], row["id"]),
        row["kind"],
        row["indicator"],
        row["level"],
        R.parse_params(row["kind"], row["params"]),
    )
    return ActiveRule(row["id"], row["mine_id"], row["site_id"], row["sensor_id"], rule)


def catalogue_rule(indicator: str, on: dt.date | None = None) -> ActiveRule | None:
    """The catalogue's default threshold rule of an indicator, as in force on ``on`` (None if
    the catalogue does not know the indicator or gives it no levels)."""
    from restora.monitoring import catalogue

    try:
        ind = catalogue.indicator(indicator, on=on)
    except InputError:
        return None
    return _default_rule(ind)


@functools.lru_cache(maxsize=1024)
def _default_rule(ind: Any) -> ActiveRule | None:
    # one per indicator version (the catalogue's Indicator is frozen, hence hashable)
    indicator = ind.code
    levels = {
        k: getattr(ind, k)
        for k in ("warning", "alarm", "warning_low", "alarm_low")
        if getattr(ind, k) is not None
    }
    if not levels:
        return None
    params = {"direction": ind.direction, **levels}
    level = "warning" if ("warning" in levels or "warning_low" in levels) else "alarm"
    rule = R.Rule(
        rule_code("threshold", None, indicator),
        "threshold",
        indicator,
        level,
        R.parse_params("threshold", params),
    )
    return ActiveRule(None, None, None, None, rule)


def _load_rules(
    conn: sa.Connection, *, kinds: Iterable[str], indicators: Iterable[str] | None = None
) -> list[ActiveRule]:
    q = sa.select(RULES).where(RULES.c.active, RULES.c.kind.in_(list(kinds)))
    if indicators is not None:
        q = q.where(RULES.c.indicator.in_(sorted(set(indicators))))
    return [_active_rule(r) for r in conn.execute(q).mappings()]


def _in_force(
    loaded: Sequence[ActiveRule],
    sensor_id: str,
    site_id: str | None,
    mine_id: str,
    indicator: str,
    on: dt.date | None = None,
) -> list[ActiveRule]:
    """The rules of the most specific scope per kind, for one sensor and indicator."""
    by_kind: dict[str, list[ActiveRule]] = defaultdict(list)
    for ar in loaded:
        if ar.rule.indicator == indicator and ar.applies(sensor_id, site_id, mine_id):
            by_kind[ar.rule.kind].append(ar)
    if "threshold" not in by_kind:
        default = catalogue_rule(indicator, on)
        if default is not None:
            by_kind["threshold"].append(default)
    out: list[ActiveRule] = []
    for kind in sorted(by_kind):
        top = max(ar.scope_rank() for ar in by_kind[kind])
        out.extend(ar for ar in by_kind[kind] if ar.scope_rank() == top)
    return out


def threshold_rules_in_force(
    store: Any, keys: Iterable[tuple[str, str | None, str, str]], on: dt.date | None = None
) -> dict[tuple[str, str | None, str, str], list[ActiveRule]]:
    """The threshold rules in force per (sensor, site, mine, indicator), as
    :func:`evaluate_stored` applies them: the stored rules of the most specific scope, else the
    catalogue's default levels (on ``on``). A key whose catalogue default cannot be read maps to
    no rule."""
    keys = list(keys)
    with _engine(store).connect() as conn:
        loaded = _load_rules(conn, kinds=["threshold"], indicators={k[3] for k in keys})
    out: dict[tuple[str, str | None, str, str], list[ActiveRule]] = {}
    for key in keys:
        sensor_id, site_id, mine_id, indicator = key
        try:
            found = _in_force(loaded, sensor_id, site_id, mine_id, indicator, on)
        except InputError:
            found = []
        out[key] = [ar for ar in found if ar.rule.kind == "threshold"]
    return out


# ------------------------------------------------------------------------------- lifecycle
class _Tx:
    """One transaction's alert writes: events and deliveries go with each transition."""

    def __init__(self, conn: sa.Connection, now: dt.datetime) -> None:
        self.conn = conn
        self.now = now
        self.hooks = HookCache()

    def event(self, alert: Mapping[str, Any], state: str, by: str | None, note: str | None) -> None:
        self.conn.execute(
            sa.insert(EVENTS).values(
                alert_id=alert["id"], at=self.now, state=state, by=by, note=note
            )
        )
        enqueue(
            self.conn,
            alert_id=alert["id"],
            level=alert["level"],
            mine_id=alert["mine_id"],
            event=state,
            now=self.now,
            cache=self.hooks,
        )

    def raise_alert(self, values: dict[str, Any]) -> int:
        values = {
            "state": "raised",
            "raised_at": self.now,
            "acknowledged_at": None,
            "acknowledged_by": None,
            "resolved_at": None,
            "resolved_by": None,
            **values,
        }
        alert_id = int(
            self.conn.execute(
                sa.insert(ALERTS).values(**values).returning(ALERTS.c.id)
            ).scalar_one()
        )
        self.event({**values, "id": alert_id}, "raised", SYSTEM, values["message"])
        return alert_id

    def escalate(self, alert: Mapping[str, Any], changes: dict[str, Any]) -> None:
        self.conn.execute(sa.update(ALERTS).where(ALERTS.c.id == alert["id"]).values(**changes))
        self.event({**alert, **changes}, "escalated", SYSTEM, changes.get("message"))

    def resolve(self, alert: Mapping[str, Any], by: str, note: str | None) -> None:
        self.conn.execute(
            sa.update(ALERTS)
            .where(ALERTS.c.id == alert["id"])
            .values(state="resolved", resolved_at=self.now, resolved_by=by)
        )
        self.event(alert, "resolved", by, note)

    def acknowledge(self, alert: Mapping[str, Any], by: str, note: str | None) -> None:
        self.conn.execute(
            sa.update(ALERTS)
            .where(ALERTS.c.id == alert["id"])
            .values(state="acknowledged", acknowledged_at=self.now, acknowledged_by=by)
        )
        self.event(alert, "acknowledged", by, note)


def _open_alerts(
    conn: sa.Connection, sensor_ids: Iterable[str], kinds: Iterable[str]
) -> list[dict[str, Any]]:
    ids = sorted(set(sensor_ids))
    out: list[dict[str, Any]] = []
    for i in range(0, len(ids), 500):
        q = sa.select(ALERTS).where(
            ALERTS.c.state.in_(OPEN_STATES),
            ALERTS.c.kind.in_(list(kinds)),
            ALERTS.c.sensor_id.in_(ids[i : i + 500]),
        )
        out.extend(dict(r) for r in conn.execute(q).mappings())
    return out


def _key(
    rule_id: int | None, kind: str, sensor_id: str | None, indicator: str | None
) -> tuple[Any, ...]:
    return (rule_id, kind, sensor_id, indicator)


def _ts(t: dt.datetime) -> float:
    return _aware(t).timestamp()


def _message(ar: ActiveRule, verdict: R.Verdict, indicator: str, unit: str) -> str:
    level = R.LEVEL_NAMES[verdict.level]
    p = ar.rule.params
    if ar.rule.kind == "threshold":
        sign = ">" if (verdict.value or 0.0) > (verdict.threshold or 0.0) else "<"
        what = f"{indicator} {verdict.value:g} {unit} {sign} {level} level {verdict.threshold:g} {unit}"
    elif ar.rule.kind == "rate":
        what = (
            f"{indicator} changing {verdict.value:+g} {unit}/h, beyond the {level} limit "
            f"{verdict.threshold:g} {unit}/h"
        )
    else:
        what = (
            f"{indicator} trend {verdict.value:+.4g} {unit}/d (Mann-Kendall p = "
            f"{verdict.details['p']:.3g} < {p.alpha:g})"
        )
    return f"{what} [{ar.rule.code}]"


def _series(
    conn: sa.Connection,
    sensor_id: str,
    indicator: str,
    until: dt.datetime,
    since: dt.datetime | None,
) -> tuple[np.ndarray, np.ndarray]:
    """Times [s] and values of a series up to ``until``: from ``since`` (and the reading just
    before it), or the two newest readings when ``since`` is None."""
    base = sa.select(READINGS.c.measured_at, READINGS.c.value).where(
        READINGS.c.sensor_id == sensor_id,
        READINGS.c.indicator == indicator,
        READINGS.c.measured_at <= until,
    )
    rows: list[Any] = []
    if since is not None:
        rows = list(
            conn.execute(
                base.where(READINGS.c.measured_at >= since)
                .order_by(READINGS.c.measured_at.desc())
                .limit(SERIES_LIMIT)
            )
        )
        before = conn.execute(
            base.where(READINGS.c.measured_at < since)
            .order_by(READINGS.c.measured_at.desc())
            .limit(1)
        ).first()
        if before is not None:
            rows.append(before)
    else:
        rows = list(conn.execute(base.order_by(READINGS.c.measured_at.desc()).limit(2)))
    rows.reverse()
    return (
        np.array([_ts(r[0]) for r in rows], dtype=float),
        np.array([r[1] for r in rows], dtype=float),
    )


def evaluate_stored(conn: sa.Connection, rows: list[dict[str, Any]], now: dt.datetime) -> list[int]:
    """Judge freshly stored readings by the rules in force, in the caller's transaction.

    Parameters
    ----------
    conn : sqlalchemy.Connection
        The ingestion's open transaction (the readings are already inserted in it).
    rows : list of dict
        The readings stored: ``id``, ``sensor_id``, ``mine_id``, ``site_id``, ``indicator``,
        ``measured_at``, ``value`` [catalogue unit], ``unit``, ``received_at``.
    now : datetime
        The time of the transaction (``raised_at`` of the alerts; pass the wall clock so that
        ``raised_at - received_at`` is the real latency).

    Returns
    -------
    list of int
        The ids of the alerts raised (escalations and resolutions are not listed).
    """
    if not rows:
        return []
    now = _now(now)
    tx = _Tx(conn, now)
    sensor_ids = {r["sensor_id"] for r in rows}

    # Data arrived: the sensor is online again.
    for alert in _open_alerts(conn, sensor_ids, ["offline"]):
        tx.resolve(alert, SYSTEM, "data arrived again")

    series: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        series[(r["sensor_id"], r["indicator"])].append(r)
    loaded = _load_rules(
        conn, kinds=("threshold", "rate", "trend"), indicators={k[1] for k in series}
    )
    open_by_key = {
        _key(a["rule_id"], a["kind"], a["sensor_id"], a["indicator"]): a
        for a in _open_alerts(conn, sensor_ids, ("threshold", "rate", "trend"))
    }
    raised: list[int] = []
    for (sensor_id, indicator), batch in series.items():
        batch.sort(key=lambda r: _ts(r["measured_at"]))
        first = batch[0]
        on = _aware(batch[-1]["measured_at"]).date()
        for ar in _in_force(
            loaded, sensor_id, first.get("site_id"), first["mine_id"], indicator, on
        ):
            key = _key(ar.id, ar.rule.kind, sensor_id, indicator)
            if ar.rule.kind == "threshold":
                judged = [(r, R.evaluate(ar.rule, [0.0], [r["value"]])) for r in batch]
            else:
                newest = batch[-1]
                p = ar.rule.params
                window = getattr(p, "window_s", None)
                newest_at = _aware(newest["measured_at"])
                since = None if window is None else newest_at - dt.timedelta(seconds=window)
                t, v = _series(conn, sensor_id, indicator, newest["measured_at"], since)
                judged = [(newest, R.evaluate(ar.rule, t, v))]
            for reading, verdict in judged:
                alert_id = _apply(tx, ar, key, verdict, reading, open_by_key)
                if alert_id is not None:
                    raised.append(alert_id)
    return raised


def _apply(
    tx: _Tx,
    ar: ActiveRule,
    key: tuple[Any, ...],
    verdict: R.Verdict,
    reading: Mapping[str, Any],
    open_by_key: dict[tuple[Any, ...], dict[str, Any]],
) -> int | None:
    current = open_by_key.get(key)
    indicator = reading["indicator"]
    if verdict.level > 0:
        level = R.LEVEL_NAMES[verdict.level]
        values = {
            "level": level,
            "value": verdict.value,
            "threshold": verdict.threshold,
            "message": _message(ar, verdict, indicator, reading.get("unit") or ""),
            "reading_id": reading.get("id"),
            "measured_at": reading["measured_at"],
            "received_at": reading.get("received_at"),
            "details": {"rule": ar.rule.code, **verdict.details},
        }
        if current is None:
            values.update(
                rule_id=ar.id,
                kind=ar.rule.kind,
                mine_id=reading["mine_id"],
                site_id=reading.get("site_id"),
                sensor_id=reading["sensor_id"],
                indicator=indicator,
            )
            alert_id = tx.raise_alert(values)
            open_by_key[key] = {**values, "id": alert_id, "state": "raised"}
            return alert_id
        if verdict.level > R.LEVELS[current["level"]]:
            tx.escalate(current, values)
            current.update(values)
        return None
    if current is not None and verdict.clear:
        if _ts(reading["measured_at"]) < _ts(current["measured_at"]):
            return None  # an older reading, out of order, does not clear a newer breach
        value = "" if verdict.value is None else f"{verdict.value:g}"
        tx.resolve(current, SYSTEM, f"back inside: {value} [{ar.rule.code}]")
        del open_by_key[key]
    return None


# ------------------------------------------------------------------------------- offline
def check_offline(store: Any, now: dt.datetime | None = None) -> list[int]:
    """Raise one ``offline`` alert for each active sensor silent longer than its interval.

    A sensor that already has an open offline alert gets no second one; its alert resolves
    when its data arrive again (:func:`evaluate_stored`). Returns the ids of the alerts raised.
    """
    now = _now(now)
    with begin_write(_engine(store)) as conn:
        return offline_in(conn, now)


def offline_in(conn: sa.Connection, now: dt.datetime) -> list[int]:
    """:func:`check_offline` in the caller's transaction."""
    tx = _Tx(conn, now)
    rules = _load_rules(conn, kinds=("offline",))
    open_ids = {
        a.sensor_id
        for a in conn.execute(
            sa.select(ALERTS.c.sensor_id).where(
                ALERTS.c.kind == "offline", ALERTS.c.state.in_(OPEN_STATES)
            )
        )
    }
    raised: list[int] = []
    q = sa.select(SENSORS).where(SENSORS.c.active).order_by(SENSORS.c.id)
    for s in conn.execute(q).mappings():
        if s["id"] in open_ids:
            continue
        mine = [ar for ar in rules if ar.applies(s["id"], s["site_id"], s["mine_id"])]
        top = max((ar.scope_rank() for ar in mine), default=None)
        rule = next((ar for ar in mine if ar.scope_rank() == top), None)
        interval = (rule.rule.params.interval_s if rule else None) or s["expected_interval_s"]
        last = _utc(s["last_seen_at"]) or _utc(s["created_at"])
        silent = (now - last).total_seconds()  # type: ignore[operator]
        if silent <= interval:
            continue
        code = rule.rule.code if rule else R.KIND_CODES["offline"]
        since = (
            "never reported"
            if s["last_seen_at"] is None
            else f"last seen {last:%Y-%m-%d %H:%M:%S}Z"
        )
        raised.append(
            tx.raise_alert(
                {
                    "rule_id": rule.id if rule else None,
                    "kind": "offline",
                    "level": rule.rule.level if rule else OFFLINE_LEVEL,
                    "mine_id": s["mine_id"],
                    "site_id": s["site_id"],
                    "sensor_id": s["id"],
                    "indicator": None,
                    "value": silent,
                    "threshold": float(interval),
                    "message": f"sensor {s['id']} silent for {silent:.0f} s > {interval:g} s, {since} [{code}]",
                    "reading_id": None,
                    "measured_at": s["last_measured_at"],
                    "received_at": s["last_seen_at"],
                    "details": {"rule": code, "silent_s": silent, "interval_s": float(interval)},
                }
            )
        )
    return raised


# ------------------------------------------------------------------------------- people
def _alert_dict(row: Mapping[Any, Any]) -> dict[str, Any]:
    d = dict(row)
    for k in ("measured_at", "received_at", "raised_at", "acknowledged_at", "resolved_at"):
        d[k] = _utc(d[k])
    d["latency_s"] = (
        (d["raised_at"] - d["received_at"]).total_seconds() if d["received_at"] else None
    )
    return d


def _locked(conn: sa.Connection, alert_id: int) -> dict[str, Any]:
    q = sa.select(ALERTS).where(ALERTS.c.id == alert_id)
    if conn.dialect.name == "postgresql":
        q = q.with_for_update()
    row = conn.execute(q).mappings().first()
    if row is None:
        raise InputError(f"no alert {alert_id}", field="alert_id")
    return dict(row)


def acknowledge(
    store: Any, alert_id: int, by: str, note: str | None = None, *, now: dt.datetime | None = None
) -> dict[str, Any]:
    """A person has seen a raised alert and is on it; returns the alert.

    :class:`InputError` if there is no such alert or it is not ``raised``.
    """
    with begin_write(_engine(store)) as conn:
        alert = _locked(conn, alert_id)
        if alert["state"] != "raised":
            raise InputError(f"alert {alert_id} is {alert['state']}, not raised", field="alert_id")
        _Tx(conn, _now(now)).acknowledge(alert, by, note)
        return _alert_dict(
            conn.execute(sa.select(ALERTS).where(ALERTS.c.id == alert_id)).mappings().one()
        )


def resolve(
    store: Any, alert_id: int, by: str, note: str | None = None, *, now: dt.datetime | None = None
) -> dict[str, Any]:
    """A person closes an open (raised or acknowledged) alert; returns it.

    :class:`InputError` if there is no such alert or it is already resolved.
    """
    with begin_write(_engine(store)) as conn:
        alert = _locked(conn, alert_id)
        if alert["state"] == "resolved":
            raise InputError(f"alert {alert_id} is already resolved", field="alert_id")
        _Tx(conn, _now(now)).resolve(alert, by, note)
        return _alert_dict(
            conn.execute(sa.select(ALERTS).where(ALERTS.c.id == alert_id)).mappings().one()
        )


def alerts(
    store: Any,
    *,
    mine_id: str | None = None,
    mine_ids: Sequence[str] | None = None,
    state: str | None = None,
    level: str | None = None,
    kind: str | None = None,
    sensor_id: str | None = None,
    since: dt.datetime | None = None,
    limit: int = 500,
) -> list[dict[str, Any]]:
    """Alerts, newest first. ``state`` is one of :data:`STATES` or ``open`` (raised or
    acknowledged); ``mine_ids`` limits to several mines (a user's region); ``since`` on
    ``raised_at``. Each alert has ``latency_s`` = raised_at − received_at [s]."""
    q = sa.select(ALERTS).order_by(ALERTS.c.raised_at.desc(), ALERTS.c.id.desc()).limit(limit)
    if state == "open":
        q = q.where(ALERTS.c.state.in_(OPEN_STATES))
    elif state is not None:
        if state not in STATES:
            raise InputError(f"{state!r} is not a state (open, {', '.join(STATES)})", field="state")
        q = q.where(ALERTS.c.state == state)
    if mine_id is not None:
        q = q.where(ALERTS.c.mine_id == mine_id)
    if mine_ids is not None:
        q = q.where(ALERTS.c.mine_id.in_(list(mine_ids)))
    if level is not None:
        q = q.where(ALERTS.c.level == level)
    if kind is not None:
        q = q.where(ALERTS.c.kind == kind)
    if sensor_id is not None:
        q = q.where(ALERTS.c.sensor_id == sensor_id)
    if since is not None:
        q = q.where(ALERTS.c.raised_at >= since)
    with _engine(store).connect() as conn:
        return [_alert_dict(r) for r in conn.execute(q).mappings()]


def alert(store: Any, alert_id: int) -> dict[str, Any]:
    """One alert with its lifecycle (``events``: state, at, by, note, oldest first)."""
    with _engine(store).connect() as conn:
        row = conn.execute(sa.select(ALERTS).where(ALERTS.c.id == alert_id)).mappings().first()
        if row is None:
            raise InputError(f"no alert {alert_id}", field="alert_id")
        out = _alert_dict(row)
        out["events"] = [
            {**dict(e), "at": _utc(e["at"])}
            for e in conn.execute(
                sa.select(EVENTS.c.state, EVENTS.c.at, EVENTS.c.by, EVENTS.c.note)
                .where(EVENTS.c.alert_id == alert_id)
                .order_by(EVENTS.c.id)
            ).mappings()
        ]
    return out


# ------------------------------------------------------------------------------- rules CRUD
def _rule_dict(row: Mapping[Any, Any]) -> dict[str, Any]:
    d = dict(row)
    d["created_at"] = _utc(d["created_at"])
    d["code"] = rule_code(d["kind"], d["id"])
    return d


def add_rule(
    store: Any,
    *,
    kind: str,
    level: str,
    params: dict[str, Any],
    indicator: str | None = None,
    name: str | None = None,
    mine_id: str | None = None,
    site_id: str | None = None,
    sensor_id: str | None = None,
    by: str | None = None,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """Add an alert rule (parameters validated by restora.monitoring.rules); returns it with
    its ``code``. A site scope needs its mine; a sensor id ``<mine>/<site>/<sensor>`` gives
    its mine and site."""
    rule = R.make_rule("new", kind, indicator, level, params)
    if sensor_id:
        parts = sensor_id.split("/")
        if len(parts) != 3:
            raise InputError(
                f"{sensor_id!r} is not a sensor id <mine>/<site>/<sensor>", field="sensor_id"
            )
        mine_id = mine_id or parts[0]
        site_id = site_id or (None if parts[1] == "-" else parts[1])
    if site_id and not mine_id:
        raise InputError("a site's rule needs its mine", field="mine_id")
    scope = sensor_id or (f"{mine_id}/{site_id}" if site_id else mine_id) or "all"
    values = {
        "name": name or f"{kind} {indicator or ''} {scope}".replace("  ", " "),
        "kind": kind,
        "indicator": indicator,
        "level": level,
        "mine_id": mine_id,
        "site_id": site_id,
        "sensor_id": sensor_id,
        "params": rule.params.model_dump(exclude_none=True),
        "active": True,
        "created_at": _now(now),
        "created_by": by,
    }
    with begin_write(_engine(store)) as conn:
        rule_id = conn.execute(sa.insert(RULES).values(**values).returning(RULES.c.id)).scalar_one()
        row = conn.execute(sa.select(RULES).where(RULES.c.id == rule_id)).mappings().one()
    return _rule_dict(row)


def rules(
    store: Any,
    *,
    mine_id: str | None = None,
    indicator: str | None = None,
    active: bool | None = True,
) -> list[dict[str, Any]]:
    """Stored rules by id (active ones by default; ``active=None``: all). ``mine_id``: that
    mine's rules and the global ones."""
    q = sa.select(RULES).order_by(RULES.c.id)
    if active is not None:
        q = q.where(RULES.c.active == active)
    if mine_id is not None:
        q = q.where(sa.or_(RULES.c.mine_id == mine_id, RULES.c.mine_id.is_(None)))
    if indicator is not None:
        q = q.where(RULES.c.indicator == indicator)
    with _engine(store).connect() as conn:
        return [_rule_dict(r) for r in conn.execute(q).mappings()]


def deactivate_rule(store: Any, rule_id: int) -> dict[str, Any]:
    """Switch a rule off. Its open alerts stay open until resolved by a person."""
    with begin_write(_engine(store)) as conn:
        n = conn.execute(
            sa.update(RULES).where(RULES.c.id == rule_id).values(active=False)
        ).rowcount
        if not n:
            raise InputError(f"no rule {rule_id}", field="rule_id")
        row = conn.execute(sa.select(RULES).where(RULES.c.id == rule_id)).mappings().one()
    return _rule_dict(row)
