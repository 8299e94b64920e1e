"""The indicator catalogue: what can be monitored, in which unit, within which range, how often,
and the default warning and alarm levels (docs/monitoring.md, "Indicators and ingestion").

The catalogue is reference data (``refdata`` table ``monitoring/indicators``): soil heavy
metals and pH (GB 15618-2018), surface water (GB 3838-2002) and groundwater (GB/T 14848-2017)
quality, slope displacement, crack width, settlement, vegetation cover, plant survival (GB/T
15776-2016) and dust (GB 3095-2012). Site- or sensor-specific thresholds are alert rules
(``monitoring_rules``); the catalogue gives the defaults.

Examples
--------
>>> cd = indicator("sw_cd")
>>> cd.unit, cd.warning, cd.alarm, cd.direction
('mg/L', 0.005, 0.01, 'above')
>>> cd.level(0.004), cd.level(0.006), cd.level(0.02)
('ok', 'warning', 'alarm')
>>> indicator("gw_ph").level(6.0)
'warning'
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any, Literal

from restora import refdata
from restora.errors import InputError

TABLE = "monitoring/indicators"
DIRECTIONS = ("above", "below", "outside")
#: The level of a value against an indicator's thresholds, from best to worst.
LEVELS = ("ok", "warning", "alarm")

Level = Literal["ok", "warning", "alarm"]


@dataclass(frozen=True)
class Indicator:
    """One monitored quantity.

    Attributes
    ----------
    code : str
        The code of MQTT topics and campaign files (``sw_cd``, ``slope_displacement``).
    group : str
        ``soil``, ``surface_water``, ``groundwater``, ``geotechnical``, ``vegetation``, ``air``.
    unit : str
        The unit readings are stored in (``mg/L``, ``mm``, ``µg/m³``; ``pH`` and ``1`` are
        dimensionless).
    valid_min, valid_max : float
        The physically possible range [unit]; outside it a reading is quarantined.
    interval_s : int
        Default expected reporting interval of a sensor [s].
    direction : str
        ``above`` (higher is worse), ``below`` (lower is worse) or ``outside`` (bad below
        ``warning_low``/``alarm_low`` or above ``warning``/``alarm``).
    warning, alarm : float or None
        Default levels [unit]: the upper levels for ``above`` and ``outside``, the lower ones
        for ``below``. None where no default is given.
    warning_low, alarm_low : float or None
        Lower levels of an ``outside`` indicator [unit].
    threshold_basis : str
        Where the levels come from (standard, table, class) or "Restora default".
    """

    code: str
    group: str
    name_zh: str
    name_en: str
    unit: str
    valid_min: float
    valid_max: float
    interval_s: int
    direction: str
    warning: float | None
    alarm: float | None
    warning_low: float | None
    alarm_low: float | None
    threshold_basis: str

    def is_valid(self, value: float) -> bool:
        """Whether ``value`` [unit] is a finite number within the physically possible range."""
        return math.isfinite(value) and self.valid_min <= value <= self.valid_max

    def level(self, value: float) -> Level:
        """``ok``, ``warning`` or ``alarm`` for ``value`` [unit] against the default levels.

        A value equal to a level is within it (the standards' limits are "≤" for ``above``,
        "≥" for ``below``).
        """
        if self._beyond(value, self.alarm, self.alarm_low):
            return "alarm"
        if self._beyond(value, self.warning, self.warning_low):
            return "warning"
        return "ok"

    def _beyond(self, value: float, level: float | None, low: float | None) -> bool:
        if self.direction == "below":
            return level is not None and value < level
        if low is not None and value < low:
            return True
        return level is not None and value > level

    def as_dict(self) -> dict[str, Any]:
        """The indicator as the API and ``--format json`` show it."""
        return {
            "code": self.code,
            "group": self.group,
            "name_zh": self.name_zh,
            "name_en": self.name_en,
            "unit": self.unit,
            "valid_min": self.valid_min,
            "valid_max": self.valid_max,
            "interval_s": self.interval_s,
            "direction": self.direction,
            "warning": self.warning,
            "alarm": self.alarm,
            "warning_low": self.warning_low,
            "alarm_low": self.alarm_low,
            "threshold_basis": self.threshold_basis,
        }


def _number(row: dict[str, Any], key: str) -> float | None:
    value = row.get(key)
    return None if value is None else float(value)


def _indicator(row: dict[str, Any], where: str) -> Indicator:
    direction = str(row.get("direction", ""))
    if direction not in DIRECTIONS:
        raise InputError(
            f"direction {direction!r} is not one of {', '.join(DIRECTIONS)}",
            file=where,
            row=str(row.get("code")),
            field="direction",
        )
    return Indicator(
        code=str(row["code"]),
        group=str(row["group"]),
        name_zh=str(row["name_zh"]),
        name_en=str(row["name_en"]),
        unit=str(row["unit"]),
        valid_min=float(row["valid_min"]),
        valid_max=float(row["valid_max"]),
        interval_s=int(row["interval_s"]),
        direction=direction,
        warning=_number(row, "warning"),
        alarm=_number(row, "alarm"),
        warning_low=_number(row, "warning_low"),
        alarm_low=_number(row, "alarm_low"),
        threshold_basis=str(row.get("threshold_basis", "")),
    )


_BUILT: dict[tuple[str, str, int], dict[str, Indicator]] = {}


def _table(on: dt.date | None) -> dict[str, Indicator]:
    table = refdata.get(TABLE, on=on)
    # built once per loaded version (ingestion looks indicators up for every reading)
    key = (table.origin, table.version, id(table.data))
    if key not in _BUILT:
        _BUILT[key] = {str(r["code"]): _indicator(r, table.origin) for r in table.data}
    return _BUILT[key]


def indicators(on: dt.date | None = None) -> list[Indicator]:
    """Every indicator of the catalogue in force on ``on`` (default today), in table order."""
    return list(_table(on).values())


def indicator(code: str, on: dt.date | None = None) -> Indicator:
    """The indicator ``code``.

    Raises
    ------
    InputError
        If the catalogue has no such indicator (the message lists the known codes).
    """
    table = _table(on)
    try:
        return table[code]
    except KeyError:
        raise InputError(
            f"unknown indicator {code!r} (known: {', '.join(table)})", field="indicator"
        ) from None


def lookup(text: str, on: dt.date | None = None) -> Indicator:
    """The indicator a person wrote: its code, Chinese name or English name (any case).

    >>> lookup("地表水镉").code, lookup("Slope displacement (cumulative)").code
    ('sw_cd', 'slope_displacement')
    """
    table = _table(on)
    key = str(text).strip()
    if key in table:
        return table[key]
    folded = key.casefold()
    for ind in table.values():
        if folded in (ind.code.casefold(), ind.name_zh.casefold(), ind.name_en.casefold()):
            return ind
    return indicator(key, on)


def provenance(on: dt.date | None = None) -> dict[str, Any]:
    """The catalogue table's name, version, source and hash (for reports and the API)."""
    return refdata.get(TABLE, on=on).provenance()
