"""Sensor messages: the MQTT topic, the JSON payload, unit conversion and range checks (pure).

Topic layout ``restora/<mine>/<site>/<sensor>/<indicator>`` (``<site>`` is ``-`` for a sensor
not attached to a site). Payload: one reading ``{"ts": ..., "value": ..., "unit": ..., "seq":
...}`` or a batch ``{"readings": [{...}, ...]}``:

- ``ts``: ISO-8601 text (``2026-05-01T08:00:00+08:00``, ``...Z``) or epoch seconds. A time
  without a UTC offset is China Standard Time (UTC+08:00), the time of the field.
- ``value``: a JSON number.
- ``unit`` (optional): converted to the catalogue's unit when it differs (``µg/L`` → ``mg/L``,
  ``cm`` → ``mm``, ``%`` → fraction); absent means the catalogue's unit.
- ``seq`` (optional): the sensor's message counter, kept with the reading.

Each reading becomes a :class:`Reading` (value in the catalogue unit, time in UTC) or a
:class:`Rejection` naming the field and the reason; rejections are quarantined by the store.

Examples
--------
>>> import datetime as dt
>>> now = dt.datetime(2026, 5, 1, 1, 0, tzinfo=dt.UTC)
>>> [r] = parse_message("restora/QS-M28/-/P1/sw_cd", b'{"ts": 1777597200, "value": 3.0, '
...                     b'"unit": "ug/L"}', received_at=now)
>>> r.sensor_id, r.site_id, r.value, r.unit, r.measured_at.isoformat()
('QS-M28/-/P1', None, 0.003, 'mg/L', '2026-05-01T01:00:00+00:00')
>>> [bad] = parse_message("restora/QS-M28/-/P1/sw_cd", b'{"ts": 1777597200, "value": -1}',
...                       received_at=now)
>>> bad.field, bad.reason
('value', 'value -1 mg/L is outside the valid range 0 to 10000 mg/L of sw_cd')
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
import re
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from restora.errors import InputError
from restora.monitoring import catalogue

#: First segment of every topic.
TOPIC_ROOT = "restora"
#: The subscription that covers every sensor of every mine.
SUBSCRIPTION = "restora/+/+/+/+"
#: ``<site>`` of a sensor that belongs to no site.
NO_SITE = "-"
#: A reading stamped later than its arrival by more than this is refused (a wrong clock).
FUTURE_TOLERANCE = dt.timedelta(minutes=5)
#: Times written without an offset are China Standard Time.
FIELD_TIMEZONE = dt.timezone(dt.timedelta(hours=8), "CST")
#: Epoch seconds beyond this (year 5138) are taken to be milliseconds by mistake.
_EPOCH_SECONDS_MAX = 1e11
_SEGMENT = re.compile(r"[^/+#\s]+")
_DIMENSIONLESS = {"", "1", "fraction", "dimensionless", "ratio"}


@dataclass(frozen=True)
class Topic:
    """The parts of ``restora/<mine>/<site>/<sensor>/<indicator>``."""

    mine_id: str
    site_id: str | None
    sensor_code: str
    indicator: str

    @property
    def sensor_id(self) -> str:
        """The sensor's id in the store: ``<mine>/<site>/<sensor>`` (site ``-`` when none)."""
        return sensor_id(self.mine_id, self.site_id, self.sensor_code)

    def __str__(self) -> str:
        return "/".join(
            (TOPIC_ROOT, self.mine_id, self.site_id or NO_SITE, self.sensor_code, self.indicator)
        )


@dataclass(frozen=True)
class Reading:
    """One valid measurement, in the catalogue's unit, at a time in UTC.

    ``value`` is in ``unit`` [the indicator's catalogue unit]; ``measured_at`` is timezone-aware
    (UTC); ``attrs`` keeps what was converted (``{"unit_sent": "ug/L", "value_sent": 3.0}``).
    """

    mine_id: str
    site_id: str | None
    sensor_code: str
    indicator: str
    measured_at: dt.datetime
    value: float
    unit: str
    seq: int | None = None
    attrs: dict[str, Any] = field(default_factory=dict, compare=False)
    #: When the message arrived (set by :func:`parse_message`; the store's default otherwise).
    received_at: dt.datetime | None = field(default=None, compare=False)

    @property
    def sensor_id(self) -> str:
        return sensor_id(self.mine_id, self.site_id, self.sensor_code)


@dataclass(frozen=True)
class Rejection:
    """What could not be read and why: ``field`` names the part at fault (``topic``, ``ts``,
    ``value``, ``unit``, ``indicator``, ``payload``); ``payload`` is the text received."""

    reason: str
    field: str
    payload: str
    mine_id: str | None = None
    row: int | None = None
    received_at: dt.datetime | None = dataclasses.field(default=None, compare=False)


def sensor_id(mine_id: str, site_id: str | None, sensor_code: str) -> str:
    """``<mine>/<site>/<sensor>``, the id of ``monitoring_sensors`` (site ``-`` when none)."""
    return f"{mine_id}/{site_id or NO_SITE}/{sensor_code}"


def parse_topic(topic: str) -> Topic:
    """The parts of an MQTT topic.

    Raises
    ------
    InputError
        (field ``topic``) when it is not ``restora/<mine>/<site>/<sensor>/<indicator>``.
    """
    parts = topic.split("/")
    if len(parts) != 5 or parts[0] != TOPIC_ROOT or not all(_SEGMENT.fullmatch(p) for p in parts):
        raise InputError(
            f"topic {topic!r} is not restora/<mine>/<site>/<sensor>/<indicator>", field="topic"
        )
    _, mine, site, sensor, indicator = parts
    return Topic(mine, None if site == NO_SITE else site, sensor, indicator)


def parse_time(value: Any, *, received_at: dt.datetime | None = None) -> dt.datetime:
    """A reading's time in UTC from ISO-8601 text or epoch seconds.

    Raises
    ------
    InputError
        (field ``ts``) when it is missing, unreadable, in milliseconds, or more than
        :data:`FUTURE_TOLERANCE` after ``received_at``.
    """
    if value is None:
        raise InputError("ts is missing (ISO-8601 time or epoch seconds)", field="ts")
    if isinstance(value, bool):
        raise InputError(f"ts {value!r} is not a time", field="ts")
    if isinstance(value, (int, float)):
        if not math.isfinite(value) or value < 0:
            raise InputError(f"ts {value!r} is not a time", field="ts")
        if value > _EPOCH_SECONDS_MAX:
            raise InputError(
                f"ts {value!r} looks like epoch milliseconds; send seconds", field="ts"
            )
        when = dt.datetime.fromtimestamp(float(value), tz=dt.UTC)
    elif isinstance(value, dt.datetime):
        when = value
    else:
        text = str(value).strip()
        try:
            when = dt.datetime.fromisoformat(text.replace("Z", "+00:00").replace(" ", "T", 1))
        except ValueError:
            raise InputError(
                f"ts {text!r} is not an ISO-8601 time (e.g. 2026-05-01T08:00:00+08:00)",
                field="ts",
            ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=FIELD_TIMEZONE)
    when = when.astimezone(dt.UTC)
    if received_at is not None and when > received_at + FUTURE_TOLERANCE:
        raise InputError(
            f"ts {when.isoformat()} is later than its arrival {received_at.isoformat()} "
            "(the sensor's clock is wrong)",
            field="ts",
        )
    return when


@cache
def _factor(unit_sent: str, unit: str) -> float:
    """The factor from ``unit_sent`` to the catalogue ``unit`` (raises ValueError)."""
    from restora.units import registry  # building pint's registry takes a second: only if used

    def parse(text: str) -> Any:
        t = text.strip().replace("³", "**3").replace("²", "**2").replace("μ", "µ")
        t = "percent" if t == "%" else t
        return registry().parse_units("dimensionless" if t in _DIMENSIONLESS else t)

    try:
        return float(registry().Quantity(1.0, parse(unit_sent)).to(parse(unit)).magnitude)
    except Exception as exc:  # pint: undefined unit, dimensionality, syntax
        raise ValueError(f"unit {unit_sent!r} cannot be converted to {unit!r}") from exc


def convert(value: float, unit_sent: str | None, unit: str) -> float:
    """``value`` [``unit_sent``] in ``unit``; pH is only pH (no conversion).

    >>> convert(2.5, "cm", "mm"), convert(85, "%", "1"), convert(0.2, "mg/m3", "µg/m³")
    (25.0, 0.85, 200.0)
    """
    if unit_sent is None or unit_sent.strip() in ("", unit):
        return value
    if unit == "pH":
        raise ValueError(f"unit {unit_sent!r} cannot be converted to pH")
    return value * _factor(_m3(unit_sent), _m3(unit))


def _m3(unit: str) -> str:
    # "mg/m3" as people type it: a unit name followed by its power
    return re.sub(r"\b(m|cm|mm|km|dm)([23])\b", r"\1**\2", unit)


def make_reading(
    *,
    mine_id: str,
    site_id: str | None,
    sensor_code: str,
    indicator: str,
    ts: Any,
    value: Any,
    unit: str | None = None,
    seq: Any = None,
    received_at: dt.datetime | None = None,
    on: dt.date | None = None,
) -> Reading:
    """A checked :class:`Reading` from its parts (MQTT, HTTP batch and campaign files).

    Raises
    ------
    InputError
        Naming the field at fault (``indicator``, ``ts``, ``value``, ``unit``, ``seq``).
    """
    for name, part in (("mine", mine_id), ("sensor", sensor_code), ("site", site_id)):
        if (part is not None or name != "site") and not (
            isinstance(part, str) and _SEGMENT.fullmatch(part)
        ):
            raise InputError(
                f"{name} {part!r} is not an id (no '/', '+', '#' or spaces)", field=name
            )
    ind = catalogue.indicator(indicator, on=on)
    measured_at = parse_time(ts, received_at=received_at)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError(f"value {value!r} is not a number", field="value")
    if unit is not None and not isinstance(unit, str):
        raise InputError(f"unit {unit!r} is not text", field="unit")
    try:
        converted = convert(float(value), unit, ind.unit)
    except ValueError as exc:
        raise InputError(str(exc), field="unit") from None
    if not ind.is_valid(converted):
        raise InputError(
            f"value {_g(converted)} {ind.unit} is outside the valid range "
            f"{_g(ind.valid_min)} to {_g(ind.valid_max)} {ind.unit} of {indicator}",
            field="value",
        )
    if seq is not None and (isinstance(seq, bool) or not isinstance(seq, int)):
        raise InputError(f"seq {seq!r} is not an integer", field="seq")
    attrs: dict[str, Any] = {}
    if unit is not None and unit.strip() not in ("", ind.unit):
        attrs = {"unit_sent": unit, "value_sent": float(value)}
    return Reading(
        mine_id=mine_id,
        site_id=site_id,
        sensor_code=sensor_code,
        indicator=indicator,
        measured_at=measured_at,
        value=converted,
        unit=ind.unit,
        seq=seq,
        attrs=attrs,
        received_at=received_at,
    )


def _g(x: float) -> str:
    return f"{x:g}"


def parse_message(
    topic: str, payload: bytes | str, *, received_at: dt.datetime, on: dt.date | None = None
) -> list[Reading | Rejection]:
    """The readings of one MQTT message (one, or several for a batch payload).

    Never raises on bad input: a message that cannot be read at all gives one
    :class:`Rejection`; in a batch, each bad element gives its own (``row`` = its 1-based
    position) and the good ones are kept.
    """
    text = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else payload
    try:
        t = parse_topic(topic)
    except InputError as exc:
        return [
            Rejection(_reason(exc), "topic", f"{topic} {text}", _mine_of(topic), None, received_at)
        ]
    try:
        doc = json.loads(text)
    except ValueError as exc:
        return [
            Rejection(f"payload is not JSON: {exc}", "payload", text, t.mine_id, None, received_at)
        ]
    if isinstance(doc, dict) and "readings" in doc:
        items = doc["readings"]
        if not isinstance(items, list) or not items:
            return [Rejection("readings must be a non-empty list", "readings", text, t.mine_id)]
        return [
            _one(t, item, text, received_at, on, row=i) for i, item in enumerate(items, start=1)
        ]
    return [_one(t, doc, text, received_at, on, row=None)]


def _one(
    t: Topic, item: Any, text: str, received_at: dt.datetime, on: dt.date | None, row: int | None
) -> Reading | Rejection:
    shown = text if row is None else json.dumps(item, ensure_ascii=False, default=str)
    if not isinstance(item, dict):
        reason = "a reading must be a JSON object"
        return Rejection(reason, "payload", shown, t.mine_id, row, received_at)
    try:
        return make_reading(
            mine_id=t.mine_id,
            site_id=t.site_id,
            sensor_code=t.sensor_code,
            indicator=t.indicator,
            ts=item.get("ts"),
            value=item.get("value"),
            unit=item.get("unit"),
            seq=item.get("seq"),
            received_at=received_at,
            on=on,
        )
    except InputError as exc:
        return Rejection(_reason(exc), _field(exc), shown, t.mine_id, row, received_at)


def parse_record(
    record: dict[str, Any], *, received_at: dt.datetime, row: int | None = None
) -> Reading | Rejection:
    """A reading from a flat record (HTTP batch upload): ``mine``, ``site`` (optional, ``-`` or
    null for none), ``sensor``, ``indicator``, ``ts``, ``value``, ``unit``, ``seq``."""
    shown = json.dumps(record, ensure_ascii=False, default=str)
    mine = record.get("mine") or record.get("mine_id")
    sensor = record.get("sensor") or record.get("sensor_code")
    for name, part in (("mine", mine), ("sensor", sensor)):
        if not isinstance(part, str) or not _SEGMENT.fullmatch(part):
            return Rejection(f"{name} {part!r} is not an id", name, shown, None, row, received_at)
    site = record.get("site", record.get("site_id"))
    site = None if site in (None, "", NO_SITE) else str(site)
    if site is not None and not _SEGMENT.fullmatch(site):
        reason = f"site {site!r} is not an id"
        return Rejection(reason, "site", shown, str(mine), row, received_at)
    try:
        return make_reading(
            mine_id=str(mine),
            site_id=site,
            sensor_code=str(sensor),
            indicator=str(record.get("indicator")),
            ts=record.get("ts"),
            value=record.get("value"),
            unit=record.get("unit"),
            seq=record.get("seq"),
            received_at=received_at,
        )
    except InputError as exc:
        return Rejection(_reason(exc), _field(exc), shown, str(mine), row, received_at)


def _reason(exc: InputError) -> str:
    return "; ".join(p.message for p in exc.problems)


def _field(exc: InputError) -> str:
    return exc.problems[0].field or "payload"


def _mine_of(topic: str) -> str | None:
    parts = topic.split("/")
    return parts[1] if len(parts) > 1 and parts[0] == TOPIC_ROOT and parts[1] else None
