"""Cells people open in a spreadsheet: formula-injection escaping, precision, units, workbooks.

Three conventions shared by ``--format table|csv|xlsx`` (:mod:`restora.cli.output`), the
register exports (:mod:`restora.inventory.export`) and the appraisal workbook
(:mod:`restora.appraisal.workbook`); docs/cli.md states them for users.

**Formula injection** (OWASP, "CSV Injection"): a text cell that begins with ``=``, ``+``,
``-``, ``@``, a tab or a carriage return is a formula to Excel, LibreOffice and WPS. Text from
a county's files (a site name ``=HYPERLINK(...)``) must never run when the reader opens our
output. In CSV such a text cell is written with a single quote in front (``'=HYPERLINK(...)``),
OWASP's rule; in ``.xlsx`` it is stored as a text cell (``t="inlineStr"``, never a formula)
with Excel's quote prefix, so the text itself is unchanged. Only text is escaped: numbers,
negative ones included, stay numbers. :func:`csv_untext` undoes the CSV escape for readers.

**Precision**: a number is shown to the precision of its unit, read from the column name's
suffix (:func:`decimals`): areas 4 decimals, coordinates 6, money to the yuan. JSON keeps full
precision.

**Headers**: :func:`header` turns a column key into English words with the unit in brackets
(``npv_cny`` → ``npv [CNY]``).

>>> csv_text("=1+2"), csv_text(-3.5), csv_text("Cd")
("'=1+2", -3.5, 'Cd')
>>> csv_untext("'=1+2")
'=1+2'
>>> decimals("damaged_area_hm2"), decimals("lon"), decimals("p50_cny"), decimals("irr")
(4, 6, 0, None)
>>> header("esv_before_cny_per_yr")
'esv before [CNY/yr]'
"""

from __future__ import annotations

import json
import math
import unicodedata
from collections.abc import Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: First characters that make a spreadsheet read a cell as a formula (OWASP).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def formula_like(value: Any) -> bool:
    """True for text a spreadsheet would take as a formula (first character a trigger)."""
    return isinstance(value, str) and value[:1] in FORMULA_TRIGGERS


def csv_text(value: Any) -> Any:
    """A CSV cell safe to open: formula-like text gets a leading ``'``; anything else as is."""
    return "'" + value if formula_like(value) else value


def csv_untext(value: Any) -> Any:
    """Undo :func:`csv_text`: ``'=x`` → ``=x`` (only a quote before a trigger is removed)."""
    if isinstance(value, str) and value[:1] == "'" and value[1:2] in FORMULA_TRIGGERS:
        return value[1:]
    return value


def escape_frame(frame: Any) -> Any:
    """A copy of a pandas DataFrame with :func:`csv_text` applied to its text cells."""
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object:
            values = out[col].to_numpy(dtype=object)
            if any(formula_like(v) for v in values):
                out[col] = [csv_text(v) for v in values]
    return out


def protect_sheet(sheet: Any) -> int:
    """Store every formula-like text cell of an openpyxl worksheet as text; the count fixed.

    openpyxl takes a value beginning with ``=`` for a formula (``data_type == "f"``); the cell
    is turned back into a text cell and, like every other formula-like text, given Excel's
    quote prefix so that editing it in Excel keeps it text.
    """
    fixed = 0
    for row in sheet.iter_rows():
        for cell in row:
            if formula_like(cell.value):
                cell.data_type = "s"
                cell.quotePrefix = True
                fixed += 1
    return fixed


# --- precision ---------------------------------------------------------------------------

#: Column names that hold coordinates (degrees or projected metres): 6 decimals.
COORDINATE_COLUMNS = frozenset(
    {
        "lon",
        "lat",
        "longitude",
        "latitude",
        "x",
        "y",
        "经度",
        "纬度",
        "centroid_lon",
        "centroid_lat",
    }
)
#: (name suffixes, decimals), first match wins. Money to the yuan; a price per unit to the
#: fen; 万元 to the yuan; areas to 1 m² in hm² (4 decimals) and the same order in 亩, km², ha.
_SUFFIX_DECIMALS: tuple[tuple[tuple[str, ...], int], ...] = (
    (("_wan_cny", "_wan_yuan", "_万元"), 4),
    (("_cny", "_cny_per_yr", "_cny_per_year", "_yuan", "_元"), 0),
    (("_hm2", "_ha", "_mu", "_km2", "_亩", "_公顷"), 4),
    (("_m2",), 2),
    (("_lon", "_lat"), 6),
    (("_km",), 3),
    (("_m",), 2),
)


def decimals(column: str) -> int | None:
    """Decimal places for a number in ``column``, from its unit suffix; None: no rule.

    ``*_cny_per_<unit>`` other than a year (a unit price, an ESV per hm²) keeps 2 decimals.
    """
    c = str(column).lower()
    if c in COORDINATE_COLUMNS:
        return 6
    if "_cny_per_" in c and not c.endswith(("_cny_per_yr", "_cny_per_year")):
        return 2
    if c in ("area", "area_hm2", "hm2", "area_mu"):
        return 4
    for suffixes, places in _SUFFIX_DECIMALS:
        if c.endswith(suffixes):
            return places
    return None


def is_number(value: Any) -> bool:
    """A finite int or float that is not a bool."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return math.isfinite(value)


def rounded(column: str, value: Any) -> Any:
    """``value`` rounded to the column's precision (:func:`decimals`); ints and text as they are.

    A float of a column with no rule keeps 10 significant digits (binary noise such as
    ``0.30000000000000004`` goes, precision stays).
    """
    if not isinstance(value, float) or not math.isfinite(value):
        return value
    places = decimals(column)
    if places is None:
        return float(f"{value:.10g}")
    out = round(value, places)
    return 0.0 if out == 0 else out  # no "-0"


# --- headers ------------------------------------------------------------------------------

#: (key suffix, unit shown), first match wins.
UNIT_SUFFIXES: tuple[tuple[str, str], ...] = (
    ("_wan_cny", "10⁴ CNY"),
    ("_cny_per_yr", "CNY/yr"),
    ("_cny_per_year", "CNY/yr"),
    ("_cny_per_hm2", "CNY/hm²"),
    ("_cny_per_t", "CNY/t"),
    ("_cny", "CNY"),
    ("_hm2", "hm²"),
    ("_km2", "km²"),
    ("_m2", "m²"),
    ("_mu", "mu"),
    ("_km", "km"),
    ("_m", "m"),
    ("_t", "t"),
    ("_years", "yr"),
    ("_yr", "yr"),
    ("_mg_kg", "mg/kg"),
    ("_mg_per_kg", "mg/kg"),
    ("_pct", "%"),
)


def split_unit(key: str) -> tuple[str, str | None]:
    """``("npv", "CNY")`` for ``npv_cny``; ``(key, None)`` when the key names no unit."""
    for suffix, unit in UNIT_SUFFIXES:
        if key.endswith(suffix) and len(key) > len(suffix):
            return key[: -len(suffix)], unit
    return key, None


def header(key: str) -> str:
    """An English column header with the unit in brackets: ``p50_cny`` → ``p50 [CNY]``."""
    stem, unit = split_unit(str(key))
    words = stem.replace("_", " ")
    return f"{words} [{unit}]" if unit else words


# --- workbooks ----------------------------------------------------------------------------

#: Excel's limit on a sheet name, and the characters it refuses in one.
_SHEET_NAME_MAX = 31
_SHEET_NAME_BAD = str.maketrans({c: "_" for c in "[]:*?/\\"})
_WIDTH_MIN, _WIDTH_MAX = 8, 60


@dataclass
class Sheet:
    """One table of a workbook: rows of mappings, the columns (keys) and their headers.

    ``headers`` maps a key to its header (default :func:`header`). ``precision`` maps a key to
    the decimals its number format shows (default :func:`decimals`); values keep full
    precision.
    """

    name: str
    rows: Sequence[Mapping[str, Any]]
    columns: Sequence[str] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    precision: Mapping[str, int] = field(default_factory=dict)


def _excel_value(value: Any) -> Any:
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        with suppress(ValueError, AttributeError):
            value = value.item()
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return None
    if isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


def _display_width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _number_format(places: int | None) -> str:
    if places is None:
        return "General"
    return "#,##0" if places == 0 else "#,##0." + "0" * places


def write_xlsx(path: str | Path, sheets: Sequence[Sheet]) -> Path:
    """Write tables to an ``.xlsx`` workbook, one sheet each; a missing folder is created.

    Numbers are stored as numbers (full precision) with a number format of their column's
    precision; text that a spreadsheet would take for a formula is stored as text with a quote
    prefix (:func:`protect_sheet`); the header row is bold and frozen; columns are as wide as
    their longest cell (CJK characters count double, capped at 60).

    Returns
    -------
    Path
        The file written.
    """
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    book = Workbook()
    book.remove(book.active)
    used: set[str] = set()
    bold = Font(bold=True)
    for spec in sheets:
        name = spec.name.translate(_SHEET_NAME_BAD)[:_SHEET_NAME_MAX] or "sheet"
        base, n = name, 2
        while name.lower() in used:
            name = f"{base[: _SHEET_NAME_MAX - 3]}~{n}"
            n += 1
        used.add(name.lower())
        ws = book.create_sheet(name)
        cols = list(spec.columns or dict.fromkeys(k for r in spec.rows for k in r))
        heads = [spec.headers.get(c, header(c)) for c in cols]
        ws.append(heads)
        for cell in ws[1]:
            cell.font = bold
        widths = [_display_width(h) for h in heads]
        places = [spec.precision[c] if c in spec.precision else decimals(c) for c in cols]
        formats = [_number_format(p) for p in places]
        for r in spec.rows:
            values = [_excel_value(r.get(c)) for c in cols]
            ws.append(values)
            row_cells = ws[ws.max_row]
            for i, (cell, v) in enumerate(zip(row_cells, values, strict=True)):
                p = places[i]
                if is_number(v) and p is not None:
                    cell.number_format = formats[i]
                    shown = f"{v:,.{p}f}"
                else:
                    shown = "" if v is None else str(v)
                widths[i] = max(widths[i], _display_width(shown))
        protect_sheet(ws)
        ws.freeze_panes = "A2"
        for i, w in enumerate(widths, start=1):
            ws.column_dimensions[get_column_letter(i)].width = min(
                max(w + 2, _WIDTH_MIN), _WIDTH_MAX
            )
    if not book.sheetnames:
        book.create_sheet("empty")
    book.save(target)
    return target
