"""One pint unit registry for Restora, and parsing of the quantities users type.

Areas: m², hm² (= ha), km², 亩 (mu, 2000/3 m², so 1 hm² = 15 亩). Volumes: m³. Mass: t.
Emissions: t CO2e. Money: CNY (a dimension of its own; price years are handled by refdata
price-index tables, not by the unit). Rates: CNY/yr.

Examples
--------
>>> parse_quantity("1,200 亩").to("hm2").magnitude
80.0
>>> round(parse_quantity("35.5 hm2").to("mu").magnitude, 6)
532.5
>>> parse_quantity("0.8 km²").to("hm2").magnitude
80.0
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import pint


@cache
def registry() -> pint.UnitRegistry:
    """The registry, built on first use (building it takes about a second)."""
    reg: pint.UnitRegistry = pint.UnitRegistry(cache_folder=None)
    # 1 亩 = 10 000 / 15 m² = 666.67 m² (exactly 2000/3 m²).
    reg.define("mu = 10000 / 15 * meter ** 2 = 亩")
    reg.define("hm2 = hectare")
    reg.define("CNY = [currency] = yuan = 元 = RMB")
    reg.define("wan_CNY = 10000 * CNY = 万元")
    reg.define("yi_CNY = 100000000 * CNY = 亿元")
    reg.define("tCO2e = metric_ton = t_CO2e")
    reg.define("Mg_C = metric_ton = MgC")
    return reg


def __getattr__(name: str) -> Any:
    # ``units.ureg`` and ``units.Quantity`` stay importable names, built when first read
    if name == "ureg":
        return registry()
    if name == "Quantity":
        return registry().Quantity
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


_REPLACEMENTS: tuple[tuple[str, str], ...] = (
    ("平方公里", " km**2"),
    ("平方千米", " km**2"),
    ("平方米", " m**2"),
    ("立方米", " m**3"),
    ("公顷", " hectare"),
    ("hm²", " hectare"),
    ("hm^2", " hectare"),
    ("km²", " km**2"),
    ("m²", " m**2"),
    ("m³", " m**3"),
    ("²", "**2"),
    ("³", "**3"),
    ("亩", " mu"),
    ("万元", " wan_CNY"),
    ("亿元", " yi_CNY"),
    ("吨", " t"),
    ("元", " CNY"),
    ("t CO2e", " tCO2e"),
    ("tCO2-e", " tCO2e"),
    ("/年", "/yr"),
    ("/a", "/yr"),
)

_NUMBER_WITH_COMMAS = re.compile(r"(?<=\d),(?=\d{3}\b)")
# "m2", "km2", "m3": a unit name directly followed by its power
_POWER_SUFFIX = re.compile(r"\b(m|km|cm|mm|hm)([23])\b")


def parse_quantity(text: str | float | int, default_unit: str | None = None) -> pint.Quantity:
    """Parse a user's quantity such as ``"1,200 亩"``, ``"35.5 hm2"`` or ``"0.8 km²"``.

    Parameters
    ----------
    text : str or number
        The quantity as typed. Thousands separators (``1,200``) and Chinese unit names
        (亩, 公顷, 平方米, 平方公里, 立方米, 吨, 元) are accepted.
    default_unit : str, optional
        Unit for a bare number; without it a bare number is an error.

    Returns
    -------
    pint.Quantity

    Raises
    ------
    ValueError
        When the text is not a number followed by a known unit.
    """
    if isinstance(text, (int, float)):
        if default_unit is None:
            raise ValueError(f"{text!r} has no unit")
        return registry().Quantity(float(text), default_unit)
    raw = str(text).strip()
    if not raw:
        raise ValueError("empty quantity")
    s = _NUMBER_WITH_COMMAS.sub("", raw).replace("，", "")
    for old, new in _REPLACEMENTS:
        s = s.replace(old, new)
    s = _POWER_SUFFIX.sub(r"\1**\2", s)
    s = s.strip()
    m = re.fullmatch(r"([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*(.*)", s)
    if not m:
        raise ValueError(
            f"{raw!r} is not a number followed by a unit (e.g. '1,200 亩', '35.5 hm2')"
        )
    value, unit = float(m.group(1)), m.group(2).strip()
    if not unit:
        if default_unit is None:
            raise ValueError(f"{raw!r} has no unit (e.g. '1,200 亩', '35.5 hm2', '0.8 km²')")
        unit = default_unit
    try:
        return registry().Quantity(value, registry().parse_units(unit))
    except (pint.errors.UndefinedUnitError, pint.errors.DefinitionSyntaxError, ValueError) as exc:
        raise ValueError(f"{raw!r}: unknown unit {unit!r}") from exc
    except Exception as exc:  # pint raises assorted tokenizer errors on garbage
        raise ValueError(f"{raw!r}: cannot read the unit {unit!r}") from exc


def to_hm2(text: str | float, default_unit: str | None = None) -> float:
    """Area in hm² [hm²] from a user's string (see :func:`parse_quantity`).

    >>> to_hm2("15 亩")
    1.0
    """
    q = parse_quantity(text, default_unit)
    if not q.check("[length]**2"):
        raise ValueError(f"{text!r} is not an area")
    return float(q.to("hectare").magnitude)


M2_PER_HM2 = 10_000.0
MU_PER_HM2 = 15.0


def field_units(model_cls: Any) -> dict[str, str]:
    """Unit of each field of a pydantic spec that declares one (``json_schema_extra={"unit": …}``).

    Specs drive docs, CLI help and API schemas; this is where their units are read.
    """
    out = {}
    for name, info in model_cls.model_fields.items():
        extra = info.json_schema_extra
        if isinstance(extra, dict) and "unit" in extra:
            out[name] = str(extra["unit"])
    return out
