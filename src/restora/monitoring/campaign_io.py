"""Field-campaign files: one measurement per row, CSV (UTF-8 or GBK) or XLSX, Chinese or English
headers (docs/monitoring.md, "Field campaigns").

Columns (any of the names; case and surrounding spaces ignored):

=============  ==================================================================
``point``      采样点, 点位, 采样点位, 点位编号, 监测点, point, sample_point, sensor
``site``       场地, 地块, 场地编号, site, site_id (optional; empty = none)
``indicator``  指标, 监测指标, 监测项目, 项目, indicator, parameter — a catalogue code,
               or its Chinese or English name (地表水镉, Surface water cadmium)
``value``      数值, 监测值, 测定值, 结果, value, result
``unit``       单位, unit (optional; empty = the catalogue's unit)
``ts``         采样时间, 采样日期, 监测时间, 时间, 日期, sampled_at, time, date, ts
=============  ==================================================================

:func:`read_campaign` only reads and renames; the checks of each value (number, unit, range,
time) are :func:`restora.monitoring.payload.make_reading`'s.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import math
from dataclasses import dataclass
from typing import Any

import pandas as pd

from restora.errors import InputError
from restora.monitoring import catalogue
from restora.textio import decode_text

HEADERS: dict[str, tuple[str, ...]] = {
    "point": (
        "采样点",
        "点位",
        "采样点位",
        "点位编号",
        "监测点",
        "point",
        "sample_point",
        "sensor",
    ),
    "site": ("场地", "地块", "场地编号", "site", "site_id"),
    "indicator": ("指标", "监测指标", "监测项目", "项目", "indicator", "parameter"),
    "value": ("数值", "监测值", "测定值", "结果", "value", "result"),
    "unit": ("单位", "unit"),
    "ts": ("采样时间", "采样日期", "监测时间", "时间", "日期", "sampled_at", "time", "date", "ts"),
}
REQUIRED = ("point", "indicator", "value", "ts")


@dataclass(frozen=True)
class CampaignRecord:
    """One row of a campaign file, renamed (values as written; ``row`` 1-based, header not
    counted; ``text``: the row as JSON, for the quarantine)."""

    row: int
    point: str
    site: str | None
    indicator: str
    value: Any
    unit: str | None
    ts: Any
    text: str


def _blank(x: Any) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x)) or str(x).strip() == ""


def _number(x: Any) -> Any:
    """A cell as a float when it reads as one, else as written (make_reading names it)."""
    if isinstance(x, (int, float)) and not isinstance(x, bool):
        return float(x)
    try:
        return float(str(x).strip().replace(",", ""))
    except ValueError:
        return None if _blank(x) else str(x).strip()


def _time(x: Any) -> Any:
    if isinstance(x, pd.Timestamp):
        return x.to_pydatetime()
    if isinstance(x, dt.date) and not isinstance(x, dt.datetime):
        return dt.datetime(x.year, x.month, x.day)
    return None if _blank(x) else x


def _frame(raw: bytes, name: str) -> tuple[pd.DataFrame, dict[str, Any]]:
    try:
        if name.lower().endswith((".xlsx", ".xlsm")):
            frame = pd.read_excel(io.BytesIO(raw), dtype=object)
            return frame, {"format": "xlsx"}
        text, encoding = decode_text(raw, name, hint="save it as UTF-8 or GBK CSV, or as .xlsx")
        frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
        return frame, {"format": "csv", "encoding": encoding}
    except InputError:
        raise
    except Exception as exc:  # pandas/openpyxl parse errors: name the file, keep the reason
        raise InputError(f"cannot read the campaign file: {exc}", file=name) from exc


def read_campaign(raw: bytes, name: str) -> tuple[list[CampaignRecord], dict[str, Any]]:
    """The rows of a campaign file and its metadata.

    Parameters
    ----------
    raw : bytes
        The file's content.
    name : str
        Its name (``.xlsx``/``.xlsm`` is read as Excel, anything else as CSV).

    Returns
    -------
    (list of CampaignRecord, dict)
        The metadata: ``format``, ``encoding`` (CSV), ``columns`` (our name → the header as
        written, for error messages).

    Raises
    ------
    InputError
        Unreadable file, a required column missing (listing the accepted headers), no rows.
    """
    frame, meta = _frame(raw, name)
    aliases = {a.casefold(): key for key, names in HEADERS.items() for a in names}
    columns: dict[str, str] = {}
    for header in frame.columns:
        key = aliases.get(str(header).strip().casefold())
        if key and key not in columns:
            columns[key] = str(header)
    missing = [k for k in REQUIRED if k not in columns]
    if missing:
        raise InputError(
            "missing column(s): "
            + "; ".join(f"{k} (one of {', '.join(HEADERS[k])})" for k in missing),
            file=name,
        )
    if frame.empty:
        raise InputError("the campaign file has no rows", file=name)
    records = []
    for i, cells in enumerate(frame.to_dict("records"), start=1):
        get = {k: cells[h] for k, h in columns.items()}
        if all(_blank(v) for v in get.values()):
            continue  # an empty line at the end of a sheet
        indicator = "" if _blank(get["indicator"]) else str(get["indicator"]).strip()
        with contextlib.suppress(InputError):  # else kept as written: make_reading names it
            indicator = catalogue.lookup(indicator).code
        records.append(
            CampaignRecord(
                row=i,
                point="" if _blank(get["point"]) else str(get["point"]).strip(),
                site=None if _blank(get.get("site")) else str(get["site"]).strip(),
                indicator=indicator,
                value=_number(get["value"]),
                unit=None if _blank(get.get("unit")) else str(get["unit"]).strip(),
                ts=_time(get["ts"]),
                text=json.dumps(
                    {columns[k]: (None if _blank(v) else str(v)) for k, v in get.items()},
                    ensure_ascii=False,
                ),
            )
        )
    return records, {**meta, "columns": columns}
