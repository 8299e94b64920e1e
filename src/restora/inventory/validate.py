"""Checking and typing the register's tables: every problem is collected, none stops the check.

Each check is vectorised over a whole column (pandas, shapely array functions); only the rows
that fail are visited one by one to word their messages. A :class:`Issues` collects the
:class:`restora.errors.Problem` s of one table with the row (or feature) they belong to, so the
reader can either raise them all at once or drop the bad rows and report them as rejects.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import shapely

from restora.errors import Problem
from restora.inventory.geometry import equal_area_hm2
from restora.inventory.model import valid_region_code
from restora.inventory.schema import ABSENT, METALS, Column
from restora.units import MU_PER_HM2

# Physical and model ranges (inclusive); a value outside is a problem.
RANGES: dict[str, tuple[float | None, float | None]] = {
    "declared_area_hm2": (0.0, None),
    "declared_area_mu": (0.0, None),
    "declared_area_m2": (0.0, None),
    "declared_area": (0.0, None),
    "slope_deg": (0.0, 90.0),
    "water_depth_m": (0.0, None),
    "soil_thickness_m": (0.0, None),
    "depth_m": (0.0, None),
    "ph": (0.0, 14.0),
    "volume_m3": (0.0, None),
    "people_threatened": (0.0, None),
    "property_threatened_cny": (0.0, None),
    "distance_to_buildings_m": (0.0, None),
    **{m: (0.0, None) for m in METALS},
}
# Reference table of the declared-area tolerance (a setting; see docs/register.md).
AREA_TOLERANCE_TABLE = "inventory/declared-area-tolerance"
ABSENT_SPELLINGS = frozenset({"无主", "无", "none", "absent", "n/a", "na", "-", "—", "无责任主体"})
_TRUE = frozenset({"true", "t", "1", "yes", "y", "是", "有", "√"})
_FALSE = frozenset({"false", "f", "0", "no", "n", "否", "无", "×"})
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?:\D|$))")
# Minus signs NFKC leaves alone (U+2212 minus, U+2013 en dash as typed in Word)
_MINUS = str.maketrans({"\u2212": "-", "\u2013": "-"})
# 2024年9月10日, 2024.9.10, 2024/9/10, 2024-09-10 (a time after the date is allowed)
_YMD = re.compile(
    r"^(\d{4})\s*[年./\-]\s*(\d{1,2})\s*[月./\-]\s*(\d{1,2})\s*[日号]?"
    r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$"
)
# Excel's serial day numbers (1900 date system): day 1 is 1900-01-01, and Excel counts a
# 29 February 1900 that never was (day 60), so from day 61 on, day n is 1899-12-30 + n.
# The largest serial Excel accepts is 2958465 (9999-12-31).
_EXCEL_EPOCH = dt.date(1899, 12, 30)
_EXCEL_MAX_SERIAL = 2_958_465
_POLYGONAL = (shapely.GeometryType.POLYGON, shapely.GeometryType.MULTIPOLYGON)


@dataclass
class Issues:
    """The problems of one table, keyed by row position (0-based) in the table.

    ``label(pos)`` is what users see: the 1-based data row of a table, or ``"feature N"``.
    A problem with no row (a missing column, an unknown CRS) makes the whole table bad.
    """

    file: str
    label: Callable[[int], int | str]
    problems: list[Problem] = field(default_factory=list)
    bad: dict[int, list[str]] = field(default_factory=dict)
    fatal: list[str] = field(default_factory=list)

    def add(self, pos: int | None, column: str | None, message: str) -> None:
        row = None if pos is None else self.label(pos)
        self.problems.append(Problem(message, file=self.file, row=row, field=column))
        text = f"{column}: {message}" if column else message
        if pos is None:
            self.fatal.append(text)
        else:
            self.bad.setdefault(pos, []).append(text)

    def add_rows(
        self, mask: np.ndarray | pd.Series, column: str | None, message: Callable[[int], str]
    ) -> None:
        """Add a problem for each row position where ``mask`` is true."""
        for pos in np.flatnonzero(np.asarray(mask, dtype=bool)):
            self.add(int(pos), column, message(int(pos)))


# --- typing columns -----------------------------------------------------------------------


def _one_text(v: Any) -> str | None:
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, float):
        if np.isnan(v):
            return None
        return str(int(v)) if v.is_integer() and abs(v) < 1e15 else repr(v)
    if isinstance(v, (bytes, bytearray)):
        v = v.decode("utf-8", "replace")
    s = str(v).strip()
    return s or None


def as_text(s: pd.Series) -> pd.Series:
    """Values as trimmed strings; empty → None. Integral floats lose their ``.0`` (ids)."""
    if pd.api.types.infer_dtype(s, skipna=True) in ("string", "empty"):
        text = s.astype(object).str.strip()
        return text.astype(object).where(text.notna() & (text != ""), None)
    return pd.Series([_one_text(v) for v in s.to_numpy(dtype=object)], index=s.index, dtype=object)


def _unique_map(s: pd.Series, func: Callable[[Any], Any]) -> dict[Any, Any]:
    """``func`` of each distinct non-missing value (registers repeat codes on many rows)."""
    return {v: func(v) for v in pd.unique(s.dropna().to_numpy(dtype=object))}


def number_text(t: str) -> str:
    """A number as typed, made readable: full-width digits and signs (``６.５``, ``－３``) as
    ASCII (Unicode NFKC), ``，`` and ``,`` thousands separators dropped, ``−`` as ``-``.

    >>> number_text("１，２３４．５")
    '1234.5'
    """
    if not t.isascii():
        t = unicodedata.normalize("NFKC", t).translate(_MINUS).strip()
    return _THOUSANDS.sub("", t) if "," in t else t


def as_float(s: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Numbers [as given] and a mask of non-empty cells that are not numbers.

    Text cells are read by :func:`number_text` (full-width digits, thousands separators).
    """
    if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
        num = s.astype(float)
        return num, ~np.isfinite(num.to_numpy()) & num.notna().to_numpy()
    text = as_text(s)
    cleaned = text.map(_unique_map(text, number_text))
    num = pd.to_numeric(cleaned, errors="coerce").astype(float)
    bad = text.notna().to_numpy() & ~np.isfinite(num.to_numpy())
    return num.where(~bad, np.nan), bad


def as_int(s: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Whole numbers (nullable Int64) and a mask of cells that are not whole numbers."""
    num, bad = as_float(s)
    frac = num.notna().to_numpy() & (np.mod(num.fillna(0).to_numpy(), 1.0) != 0)
    bad = bad | frac
    return num.where(~bad).round().astype("Int64"), bad


def as_bool(s: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Yes/no values (missing → False) and a mask of cells that are neither."""
    if pd.api.types.is_bool_dtype(s):
        return s.fillna(False).astype(bool), np.zeros(len(s), dtype=bool)
    text = as_text(s).map(lambda t: t.lower() if isinstance(t, str) else t)
    yes = text.isin(_TRUE).to_numpy()
    no = text.isin(_FALSE).to_numpy()
    bad = text.notna().to_numpy() & ~yes & ~no
    return pd.Series(yes, index=s.index, dtype=bool), bad


def excel_serial_date(serial: float) -> dt.date | None:
    """The date of an Excel serial day number (1900 date system), or None if out of range.

    >>> excel_serial_date(45545)
    datetime.date(2024, 9, 10)
    """
    if not (1 <= serial <= _EXCEL_MAX_SERIAL) or serial != int(serial):
        return None
    n = int(serial)
    if n == 60:  # 1900-02-29 does not exist
        return None
    return _EXCEL_EPOCH + dt.timedelta(days=n if n > 60 else n + 1)


def parse_date(v: Any) -> dt.date | None:
    """A date from a cell, or None when the cell is not a date.

    Accepts dates and datetimes; ``2024-09-10``, ``2024年9月10日``, ``2024.9.10``,
    ``2024/9/10`` (full-width digits too); ``20240910``; Excel serial day numbers (``45545``,
    a number or its text); other forms pandas reads (``10 Sep 2024``).

    >>> parse_date("2024年9月10日")
    datetime.date(2024, 9, 10)
    """
    if isinstance(v, dt.datetime):
        return v.date()
    if isinstance(v, dt.date):
        return v
    if isinstance(v, (bool, np.bool_)):
        return None
    if isinstance(v, (int, float, np.integer, np.floating)):
        num = float(v)
        if not np.isfinite(num):
            return None
        if num == int(num) and 19000101 <= num <= 29991231:
            return parse_date(str(int(num)))
        return excel_serial_date(num)
    text = unicodedata.normalize("NFKC", str(v)).strip()
    m = _YMD.match(text)
    try:
        if m:
            return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        if re.fullmatch(r"\d{8}", text):
            return dt.date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:  # 2024-02-30
        return None
    if re.fullmatch(r"\d+(?:\.0+)?", text):
        return excel_serial_date(float(text))
    ts = pd.to_datetime(text, errors="coerce")
    return None if pd.isna(ts) else ts.date()


def as_date(s: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Dates (``datetime.date`` or None) and a mask of cells that are not dates.

    Each distinct cell is read once by :func:`parse_date`.
    """
    if pd.api.types.is_datetime64_any_dtype(s):
        out = [None if pd.isna(t) else t.date() for t in s]
        return pd.Series(out, index=s.index, dtype=object), np.zeros(len(s), dtype=bool)
    present = s.notna() & ~s.astype(object).map(lambda v: isinstance(v, str) and not v.strip())
    values = s.where(present)
    dates = values.map(_unique_map(values, parse_date)).astype(object)
    dates = dates.where(dates.notna(), None)
    bad = present.to_numpy() & dates.isna().to_numpy()
    return pd.Series(dates.to_numpy(dtype=object), index=s.index, dtype=object), bad


def _value_key(v: str) -> str:
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", v).strip().lower())


def accepted_values(col: Column) -> str:
    """The accepted values of a coded column, canonical first, for messages and docs."""
    canon = list(dict.fromkeys(col.choices.values()))
    chinese = [k for k in col.choices if any("\u4e00" <= ch <= "\u9fff" for ch in k)]
    return ", ".join(canon) + (" (or " + ", ".join(chinese) + ")" if chinese else "")


def coerce_columns(
    frame: pd.DataFrame,
    columns: tuple[Column, ...],
    issues: Issues,
    headers: dict[str, str],
    *,
    skip: np.ndarray | None = None,
) -> pd.DataFrame:
    """Type each column of ``frame`` (canonical names) per the schema, recording problems.

    ``headers`` maps canonical names to the header the user wrote (used in messages).
    ``skip`` marks rows whose values are not checked for required-ness (mine-only rows).
    Absent optional columns are filled with missing values; bad cells become missing.
    """
    n = len(frame)
    out: dict[str, pd.Series] = {}
    index = frame.index
    for col in columns:
        head = headers.get(col.name, col.name)
        if col.name not in frame.columns:
            out[col.name] = _missing(col, n, index)
            continue
        raw = frame[col.name]
        text = as_text(raw) if col.kind in ("str",) else None
        if col.kind == "str":
            assert text is not None
            values, bad_mask, describe = _typed_text(col, text)
        elif col.kind == "float":
            values, bad_mask = as_float(raw)
            describe = _not_a("number")
        elif col.kind == "int":
            values, bad_mask = as_int(raw)
            describe = _not_a("whole number")
        elif col.kind == "bool":
            values, bad_mask = as_bool(raw)
            describe = _not_a("yes/no value (true/false, 是/否)")
        else:
            values, bad_mask = as_date(raw)
            describe = _not_a("date (YYYY-MM-DD)")
        if bad_mask.any():
            shown = raw.to_numpy(dtype=object)

            def _message(p: int, d: Callable[[Any], str] = describe, v: Any = shown) -> str:
                return d(v[p])

            issues.add_rows(bad_mask, head, _message)
        if col.name in RANGES:
            _check_range(values, col.name, head, issues)
        if col.required and col.name != "responsible_party":
            empty = values.isna().to_numpy() & ~bad_mask
            if skip is not None:
                empty &= ~skip
            issues.add_rows(empty, head, lambda p: "is empty (a value is required)")
        out[col.name] = values
    return pd.DataFrame(out, index=index)


def _missing(col: Column, n: int, index: pd.Index) -> pd.Series:
    if col.name == "responsible_party":
        return pd.Series([ABSENT] * n, index=index, dtype=object)
    if col.kind == "float":
        return pd.Series(np.full(n, np.nan), index=index)
    if col.kind == "int":
        return pd.Series(pd.array([pd.NA] * n, dtype="Int64"), index=index)
    if col.kind == "bool":
        return pd.Series(np.zeros(n, dtype=bool), index=index)
    return pd.Series([None] * n, index=index, dtype=object)


def _not_a(what: str) -> Callable[[Any], str]:
    return lambda v: f"{_quote(v)} is not a {what}"


def _quote(v: Any) -> str:
    return '"' + str(v) + '"' if isinstance(v, str) else repr(v)


def _typed_text(col: Column, text: pd.Series) -> tuple[pd.Series, np.ndarray, Callable[[Any], str]]:
    if col.choices:
        keys = text.map(_unique_map(text, _value_key))
        values = keys.map(col.choices)
        values = values.where(values.notna(), None).astype(object)
        bad = text.notna().to_numpy() & values.isna().to_numpy()
        acc = accepted_values(col)
        return values, bad, lambda v: f"{_quote(v)} is not a known {col.name} (accepted: {acc})"
    if col.name == "responsible_party":
        keys = text.map(_unique_map(text, _value_key))
        absent = text.isna().to_numpy() | keys.isin(ABSENT_SPELLINGS).to_numpy()
        values = text.where(~absent, ABSENT).astype(object)
        return values, np.zeros(len(text), dtype=bool), _not_a("name")
    if col.name == "region_code":
        valid = _unique_map(text, lambda t: valid_region_code(str(t)))
        ok = text.map(valid).astype("boolean").fillna(False).to_numpy(dtype=bool)
        bad = text.notna().to_numpy() & ~ok
        return (
            text,
            bad,
            lambda v: f"{_quote(v)} is not a 6-digit GB/T 2260 administrative code",
        )
    return text, np.zeros(len(text), dtype=bool), _not_a("text")


def _check_range(values: pd.Series, name: str, head: str, issues: Issues) -> None:
    lo, hi = RANGES[name]
    num = pd.to_numeric(values, errors="coerce").astype(float).to_numpy()
    unit = " mg/kg" if name in METALS else ""
    if lo is not None:
        below = num < lo
        word = "negative" if lo == 0 else f"below {lo:g}"
        label = "pH " if name == "ph" else ""
        issues.add_rows(below, head, lambda p: f"{label}{num[p]:g}{unit} is {word}")
    if hi is not None:
        above = num > hi
        label = "pH " if name == "ph" else ""
        issues.add_rows(above, head, lambda p: f"{label}{num[p]:g}{unit} is outside {lo:g}–{hi:g}")


# --- duplicate ids -------------------------------------------------------------------------


def check_duplicates(ids: pd.Series, issues: Issues, head: str, what: str) -> None:
    """A problem for every row whose id appears more than once in the table."""
    dup = ids.notna() & ids.duplicated(keep=False)
    if not dup.any():
        return
    positions = pd.Series(np.arange(len(ids)), index=ids.index)[dup]
    groups = positions.groupby(ids[dup].to_numpy()).agg(list)
    for key, plist in groups.items():
        rows = ", ".join(str(issues.label(p)) for p in plist)
        for p in plist:
            issues.add(int(p), head, f"{what} {key!r} appears more than once ({rows})")


# --- geometry ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Repair:
    """A geometry fixed by ``make_valid``: what was wrong and the area before and after [hm²]."""

    file: str
    row: int | str
    site_id: str | None
    reason: str
    area_before_hm2: float
    area_after_hm2: float

    def __str__(self) -> str:
        return (
            f"{self.file}, {_where(self.row)}: site {self.site_id!r} repaired ({self.reason}); "
            f"area {self.area_before_hm2:.4f} hm² → {self.area_after_hm2:.4f} hm²"
        )


def _where(row: int | str) -> str:
    return f"row {row}" if isinstance(row, int) else str(row)


def polygonal_part(geom: shapely.Geometry) -> shapely.Geometry:
    """The polygons of a geometry (a collection from ``make_valid`` keeps only those)."""
    if shapely.get_type_id(geom) in (3, 6):
        return geom
    parts = shapely.get_parts(geom)
    polys = [p for p in parts if shapely.get_type_id(p) in (3, 6)]
    flat: list[shapely.Geometry] = []
    for p in polys:
        flat.extend(shapely.get_parts(p))
    if not flat:
        return shapely.Polygon()
    return flat[0] if len(flat) == 1 else shapely.MultiPolygon(flat)


def check_site_geometries(
    geoms: np.ndarray,
    crs: str,
    issues: Issues,
    head: str,
    site_ids: pd.Series,
    *,
    repair: bool,
    active: np.ndarray,
) -> tuple[np.ndarray, list[Repair]]:
    """Check site polygons in their CRS; repair invalid ones when asked.

    Returns the (possibly repaired) geometries and the repairs made. Rows not ``active``
    (mine-only rows) are not checked.
    """
    geoms = np.asarray(geoms, dtype=object).copy()
    missing = active & shapely.is_missing(geoms)
    issues.add_rows(
        missing,
        head,
        lambda p: (
            "has no geometry (a site needs a polygon, or a centre point with its declared area)"
        ),
    )
    present = active & ~missing
    empty = present & shapely.is_empty(geoms)
    issues.add_rows(empty, head, lambda p: "geometry is empty")
    present &= ~empty
    types = shapely.get_type_id(geoms)
    wrong = present & ~np.isin(types, [3, 6])
    issues.add_rows(
        wrong,
        head,
        lambda p: f"geometry is a {geoms[p].geom_type}, not a polygon",
    )
    present &= ~wrong
    invalid = present & ~shapely.is_valid(geoms)
    repairs: list[Repair] = []
    for pos in np.flatnonzero(invalid):
        reason = shapely.is_valid_reason(geoms[pos])
        if not repair:
            issues.add(
                int(pos),
                head,
                f"invalid polygon: {reason} (use --repair to fix it with make_valid)",
            )
            continue
        fixed = polygonal_part(shapely.make_valid(geoms[pos]))
        if shapely.is_empty(fixed):
            issues.add(int(pos), head, f"invalid polygon: {reason}; repair leaves no area")
            continue
        before, after = equal_area_hm2(np.array([geoms[pos], fixed], dtype=object), crs)
        repairs.append(
            Repair(
                issues.file,
                issues.label(int(pos)),
                site_ids.iloc[pos],
                reason,
                float(before),
                float(after),
            )
        )
        geoms[pos] = fixed
    return geoms, repairs


def area_tolerance(on: dt.date | str | None = None) -> float:
    """The declared-area tolerance in force [1] (reference table ``inventory/declared-area-tolerance``)."""
    from restora import refdata

    return float(refdata.get(AREA_TOLERANCE_TABLE, on=on).data["relative"])


def check_declared_area(
    declared: pd.Series,
    area: np.ndarray,
    issues: Issues,
    head: str,
    tolerance: float,
) -> None:
    """A problem where the declared area differs from the geometry's by more than ``tolerance``.

    Parameters
    ----------
    declared, area : array-like
        The declared and the geometry's areas [hm²].
    tolerance : float
        Largest accepted relative difference |declared − area| / area [1].

    The message gives both areas in hm² and in 亩 (1 hm² = 15 亩).
    """
    d = declared.to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.abs(d - area) / area
    off = (
        np.isfinite(d) & np.isfinite(area) & (d >= 0) & ((rel > tolerance) | (area == 0) & (d > 0))
    )

    def both(hm2: float) -> str:
        return f"{hm2:.4f} hm² ({hm2 * MU_PER_HM2:.2f} 亩)"

    issues.add_rows(
        off,
        head,
        lambda p: (
            f"declared area {both(d[p])} differs from the geometry's area {both(area[p])} "
            f"by {rel[p]:.1%} (more than the tolerance {tolerance:g} = {tolerance:.0%}; "
            "set it with --area-tolerance)"
        ),
    )


def text_date(v: dt.date | None) -> str | None:
    """ISO text of a date (for exports)."""
    return None if v is None else v.isoformat()
