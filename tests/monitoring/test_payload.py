"""MQTT topics and payloads: parsing, unit conversion, range checks and rejections."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from restora.errors import InputError
from restora.monitoring.payload import (
    Reading,
    Rejection,
    convert,
    parse_message,
    parse_record,
    parse_time,
    parse_topic,
)

NOW = dt.datetime(2026, 5, 1, 12, 0, tzinfo=dt.UTC)
TOPIC = "restora/QS-M28/S1/P7/sw_nh3n"


def test_topic_parts_and_sensor_id():
    t = parse_topic(TOPIC)
    assert (t.mine_id, t.site_id, t.sensor_code, t.indicator) == ("QS-M28", "S1", "P7", "sw_nh3n")
    assert t.sensor_id == "QS-M28/S1/P7" and str(t) == TOPIC
    t = parse_topic("restora/QS-M28/-/P7/pm10")
    assert t.site_id is None and t.sensor_id == "QS-M28/-/P7"
    for bad in ("restora/QS-M28/P7/pm10", "other/a/b/c/d", "restora/a//c/d", "restora/a/b/c/d/e"):
        with pytest.raises(InputError, match="is not restora/<mine>"):
            parse_topic(bad)


def test_times():
    # 08:00 at UTC+8 is 00:00 UTC; a time without offset is China Standard Time
    assert parse_time("2026-05-01T08:00:00+08:00") == dt.datetime(2026, 5, 1, tzinfo=dt.UTC)
    assert parse_time("2026-05-01 08:00:00") == dt.datetime(2026, 5, 1, tzinfo=dt.UTC)
    assert parse_time("2026-05-01T00:00:00Z") == dt.datetime(2026, 5, 1, tzinfo=dt.UTC)
    # 1777593600 s = 20574 days (2026-05-01) * 86400 s
    assert parse_time(1777593600) == dt.datetime(2026, 5, 1, tzinfo=dt.UTC)
    with pytest.raises(InputError, match="milliseconds"):
        parse_time(1777593600000)
    with pytest.raises(InputError, match="not an ISO-8601"):
        parse_time("yesterday")
    with pytest.raises(InputError, match="clock is wrong"):
        parse_time("2026-05-01T12:06:00Z", received_at=NOW)
    parse_time("2026-05-01T12:04:00Z", received_at=NOW)  # within 5 minutes: accepted


def test_unit_conversion():
    assert convert(2.5, "cm", "mm") == pytest.approx(25.0)
    assert convert(85, "%", "1") == pytest.approx(0.85)
    assert convert(3.0, "ug/L", "mg/L") == pytest.approx(0.003)
    assert convert(0.15, "mg/m³", "µg/m³") == pytest.approx(150.0)
    assert convert(7.1, "pH", "pH") == 7.1
    with pytest.raises(ValueError, match="cannot be converted"):
        convert(1.0, "mm", "mg/L")
    with pytest.raises(ValueError, match="cannot be converted to pH"):
        convert(7.0, "mol/L", "pH")


def test_single_message():
    [r] = parse_message(TOPIC, b'{"ts": "2026-05-01T19:30:00+08:00", "value": 0.8, "seq": 12}',
                        received_at=NOW)  # fmt: skip
    assert isinstance(r, Reading)
    assert r.value == 0.8 and r.unit == "mg/L" and r.seq == 12 and r.attrs == {}
    assert r.measured_at == dt.datetime(2026, 5, 1, 11, 30, tzinfo=dt.UTC)


def test_converted_message_keeps_what_was_sent():
    [r] = parse_message("restora/M1/-/D1/slope_displacement",
                        json.dumps({"ts": 1777593600, "value": 1.2, "unit": "cm"}),
                        received_at=NOW)  # fmt: skip
    assert isinstance(r, Reading) and r.value == pytest.approx(12.0) and r.unit == "mm"
    assert r.attrs == {"unit_sent": "cm", "value_sent": 1.2}


@pytest.mark.parametrize(
    ("topic", "payload", "field", "reason"),
    [
        ("restora/M1/P7/sw_cd", b'{"ts":1,"value":1}', "topic", "is not restora/"),
        (TOPIC, b"{not json", "payload", "not JSON"),
        (TOPIC, b"[1, 2]", "payload", "JSON object"),
        (TOPIC, b'{"value": 1}', "ts", "ts is missing"),
        (TOPIC, b'{"ts": 1777593600, "value": "high"}', "value", "not a number"),
        (TOPIC, b'{"ts": 1777593600, "value": true}', "value", "not a number"),
        (TOPIC, b'{"ts": 1777593600, "value": 20000}', "value", "outside the valid range"),
        (TOPIC, b'{"ts": 1777593600, "value": 1, "unit": "mm"}', "unit", "cannot be converted"),
        (TOPIC, b'{"ts": 1777593600, "value": 1, "seq": "x"}', "seq", "not an integer"),
        ("restora/M1/-/P7/sw_xx", b'{"ts": 1777593600, "value": 1}', "indicator", "sw_xx"),
        (TOPIC, b'{"readings": []}', "readings", "non-empty list"),
    ],
)
def test_rejections_name_the_field(topic, payload, field, reason):
    [r] = parse_message(topic, payload, received_at=NOW)
    assert isinstance(r, Rejection)
    assert r.field == field and reason in r.reason
    assert r.mine_id == "M1" if topic.startswith("restora/M1") else r.mine_id == "QS-M28"


def test_range_is_checked_after_conversion():
    # 150 % is 1.5: beyond the fraction's valid range 0..1
    [r] = parse_message("restora/M1/-/V1/vegetation_cover",
                        b'{"ts": 1777593600, "value": 150, "unit": "%"}', received_at=NOW)  # fmt: skip
    assert isinstance(r, Rejection) and "1.5 1 is outside the valid range 0 to 1" in r.reason


def test_batch_keeps_good_rejects_bad_with_positions():
    doc = {"readings": [{"ts": 1777593600, "value": 0.4},
                        {"ts": 1777593660, "value": -3},
                        {"ts": 1777593720, "value": 0.5}]}  # fmt: skip
    out = parse_message(TOPIC, json.dumps(doc), received_at=NOW)
    assert [type(r).__name__ for r in out] == ["Reading", "Rejection", "Reading"]
    bad = out[1]
    assert isinstance(bad, Rejection) and bad.row == 2 and json.loads(bad.payload)["value"] == -3


def test_flat_record():
    r = parse_record({"mine": "M1", "site": "-", "sensor": "P1", "indicator": "pm10",
                      "ts": "2026-05-01T08:00:00+08:00", "value": 0.2, "unit": "mg/m3"},
                     received_at=NOW)  # fmt: skip
    assert isinstance(r, Reading) and r.sensor_id == "M1/-/P1" and r.value == pytest.approx(200)
    bad = parse_record({"mine": "M1", "sensor": "a/b", "indicator": "pm10"}, received_at=NOW,
                       row=4)  # fmt: skip
    assert isinstance(bad, Rejection) and bad.field == "sensor" and bad.row == 4
