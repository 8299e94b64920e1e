"""Register DataFrames to database rows and back.

Writing, each cell is turned into the Python value its column's kind calls for (``str``,
``int``, ``float``, ``bool``, ``datetime.date``, WKB ``bytes``); NaN, NaT, ``pd.NA`` and None all
become NULL. A cell that cannot be converted is reported with its table, id and column.

Reading, each column gets one dtype whatever the rows hold, so code that reads the register can
rely on it:

========  ==============================================  ==============
kind      dtype                                           missing value
========  ==============================================  ==============
str       pandas' default string dtype (``str``)          NaN
float     ``float64``                                     NaN
int       ``Int64`` (nullable integer)                    ``pd.NA``
bool      ``boolean`` (nullable boolean)                  ``pd.NA``
date      ``object`` holding :class:`datetime.date`       None
geometry  ``object`` holding shapely geometries           None
========  ==============================================  ==============

Rows come back ordered by their id (code-point order, the same on every database).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd
import shapely

from restora.errors import Problem
from restora.store.tables import ID_COLUMNS, frame_columns

INT_MIN, INT_MAX = -(2**31), 2**31 - 1  # INTEGER columns are 32-bit on PostgreSQL
# pandas >= 3 infers its string dtype for text; older pandas keeps text in object columns.
STR_DTYPE: Any = "str" if int(pd.__version__.split(".")[0]) >= 3 else object


def is_missing(value: Any) -> bool:
    """True for None, NaN, NaT and ``pd.NA`` (and False for anything array-like)."""
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _convert_str(value: Any) -> str:
    text = str(value)
    if "\x00" in text:
        raise ValueError("text contains a NUL character")
    text.encode("utf-8")  # lone surrogates cannot be stored (UnicodeEncodeError is a ValueError)
    return text


def _convert_float(value: Any) -> float:
    if isinstance(value, bool | np.bool_):
        raise ValueError("a yes/no value is not a number")
    return float(value)


def _convert_int(value: Any) -> int:
    if isinstance(value, bool | np.bool_):
        raise ValueError("a yes/no value is not a whole number")
    number = float(value) if isinstance(value, str) else value
    as_int = int(number)
    if as_int != number:
        raise ValueError("not a whole number")
    if not INT_MIN <= as_int <= INT_MAX:
        raise ValueError("out of range for a 32-bit integer column")
    return as_int


def _convert_bool(value: Any) -> bool:
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer | float | np.floating) and value in (0, 1):
        return bool(value)
    raise ValueError("not a yes/no value (True/False)")


def _convert_date(value: Any) -> dt.date:
    if isinstance(value, pd.Timestamp | dt.datetime):
        if (value.hour, value.minute, value.second, value.microsecond) != (0, 0, 0, 0):
            raise ValueError("a date was expected, not a date and time")
        return dt.date(value.year, value.month, value.day)
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        return dt.date.fromisoformat(value.strip())
    raise ValueError("not a date (YYYY-MM-DD)")


def _convert_geometry(value: Any) -> bytes:
    if not isinstance(value, shapely.Geometry):
        raise ValueError("not a shapely geometry")
    # Little-endian WKB, with Z if the geometry has it: loading gives back the same geometry.
    return bytes(shapely.to_wkb(value, byte_order=1))


CONVERTERS = {
    "str": _convert_str,
    "float": _convert_float,
    "int": _convert_int,
    "bool": _convert_bool,
    "date": _convert_date,
    "geometry": _convert_geometry,
}

WHAT = {
    "str": "text",
    "float": "a number",
    "int": "a whole number",
    "bool": "True or False",
    "date": "a date",
    "geometry": "a polygon",
}


def _float_column(values: pd.Series) -> list[Any] | None:
    """Fast path for numeric columns: a list of floats and None, or None if it does not apply."""
    if not (pd.api.types.is_float_dtype(values) or pd.api.types.is_integer_dtype(values)):
        return None
    if pd.api.types.is_bool_dtype(values):
        return None
    arr = values.to_numpy(dtype=float, na_value=np.nan)
    out = arr.astype(object)
    out[np.isnan(arr)] = None
    return list(out.tolist())


def _fast_column(series: pd.Series, kind: str, missing: np.ndarray) -> list[Any] | None:
    """The converted column without a per-cell Python call, or None where that does not apply."""
    if kind == "float":
        return _float_column(series)
    if kind == "str" and pd.api.types.infer_dtype(series, skipna=True) in ("string", "empty"):
        values = series.to_numpy(dtype=object, copy=True)
        values[missing] = None
        present = values[~missing].tolist()
        text = "".join(present)
        if "\x00" in text:
            return None
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return None
        return list(values.tolist())
    if kind == "int" and pd.api.types.is_integer_dtype(series):
        present = series.dropna()
        if len(present) and (present.min() < INT_MIN or present.max() > INT_MAX):
            return None
        values = series.to_numpy(dtype=object, na_value=None)
        return [None if v is None else int(v) for v in values.tolist()]
    if kind == "bool" and pd.api.types.is_bool_dtype(series):
        values = series.to_numpy(dtype=object, na_value=None)
        return [None if v is None else bool(v) for v in values.tolist()]
    if kind == "geometry":
        values = series.to_numpy(dtype=object)
        is_geom = shapely.is_geometry(values)
        if not np.array_equal(is_geom, ~missing):
            return None
        out = np.full(len(values), None, dtype=object)
        if is_geom.any():
            out[is_geom] = shapely.to_wkb(values[is_geom], byte_order=1)
        return list(out.tolist())
    return None


def _convert_column(
    series: pd.Series,
    kind: str,
    required: bool,
    table: str,
    name: str,
    where: Any,
    problems: list[Problem],
) -> list[Any]:
    """One column's values converted for the database; problems appended to ``problems``."""
    missing = np.asarray(pd.isna(series), dtype=bool)
    if not (required and missing.any()):
        fast = _fast_column(series, kind, missing)
        if fast is not None:
            return fast
    convert = CONVERTERS[kind]
    out: list[Any] = []
    for i, (value, absent) in enumerate(zip(series.tolist(), missing.tolist(), strict=True)):
        if absent:
            if required:
                problems.append(Problem("a value is required", table, where(i), name))
            out.append(None)
            continue
        try:
            converted_value = convert(value)
            # e.g. the text "nan" in a number column: missing, like NaN itself
            out.append(None if is_missing(converted_value) else converted_value)
        except (TypeError, ValueError, OverflowError) as exc:
            problems.append(
                Problem(f"{value!r} is not {WHAT[kind]} ({exc})", table, where(i), name)
            )
            out.append(None)
    return out


Columns = dict[str, list[Any]]
"""A table as one list of database values per column (all lists of the same length)."""


def to_columns(table: str, frame: pd.DataFrame) -> tuple[Columns, list[Problem]]:
    """One register table as database values, column by column, and the problems found.

    Parameters
    ----------
    table : str
        ``"mines"``, ``"sites"``, ``"samples"`` or ``"hazards"``.
    frame : pandas.DataFrame
        The register table; optional columns may be absent (stored as NULL).

    Returns
    -------
    columns : dict of str to list
        Every store column of the table (keyed as in the DataFrame), one value per row.
    problems : list of Problem
        Missing required columns, unknown columns, duplicate or missing ids, cells that cannot
        be converted; each names the table (as ``file``), the row's id and the column.
    """
    from restora.inventory.schema import TABLES

    columns = frame_columns(table)
    known = {name for name, _ in columns}
    required = {c.name for c in TABLES[table] if c.required}
    id_col = ID_COLUMNS[table]
    problems: list[Problem] = []

    for col in frame.columns:
        if col not in known:
            problems.append(
                Problem(
                    f"column {col!r} is not a register column; the store has no place for it",
                    file=table,
                    field=str(col),
                )
            )
    missing_cols = sorted(required - set(frame.columns))
    for col in missing_cols:
        problems.append(Problem("required column is missing", file=table, field=col))
    if problems:
        return {}, problems

    n = len(frame)
    ids: list[Any] = frame[id_col].tolist()

    def where(i: int) -> str:
        return f"row {i + 1}" if is_missing(ids[i]) else f"id {ids[i]!r}"

    converted: dict[str, list[Any]] = {}
    for name, kind in columns:
        if name not in frame.columns:
            converted[name] = [None] * n
            continue
        converted[name] = _convert_column(
            frame[name], kind, name in required, table, name, where, problems
        )

    seen: set[str] = set()
    for i, value in enumerate(converted[id_col]):
        if value is None:
            continue
        if value in seen:
            problems.append(Problem("appears more than once", table, where(i), id_col))
        seen.add(value)

    return converted, problems


def to_frame(table: str, rows: Sequence[Sequence[Any]] | Iterable[Sequence[Any]]) -> pd.DataFrame:
    """A register table from database rows whose values are in :func:`frame_columns` order."""
    columns = frame_columns(table)
    records = list(rows)
    transposed = list(zip(*records, strict=True)) if records else [()] * len(columns)
    data: dict[str, Any] = {}
    for j, (name, kind) in enumerate(columns):
        values = list(transposed[j])
        if kind == "str":
            data[name] = pd.Series(values, dtype=STR_DTYPE)
        elif kind == "float":
            data[name] = pd.Series(values, dtype="float64")
        elif kind == "int":
            data[name] = pd.Series(values, dtype="Int64")
        elif kind == "bool":
            data[name] = pd.Series(values, dtype="boolean")
        elif kind == "date":
            data[name] = pd.Series(values, dtype=object)
        else:  # geometry
            wkb = np.empty(len(values), dtype=object)
            wkb[:] = [bytes(v) if v is not None else None for v in values]
            data[name] = pd.Series(shapely.from_wkb(wkb), dtype=object)
    frame = pd.DataFrame(data, columns=[name for name, _ in columns])
    id_col = ID_COLUMNS[table]
    if len(frame):
        # Code-point order, independent of the database's collation.
        order = np.argsort(
            np.asarray(frame[id_col].to_numpy(dtype=object), dtype=str), kind="stable"
        )
        frame = frame.iloc[order].reset_index(drop=True)
    return frame
