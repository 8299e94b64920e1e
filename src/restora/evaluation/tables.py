"""Tables of units for the disparity and policy-effect commands: one unit (a county, a province,
a region × year) per row, CSV (UTF-8, GBK/GB18030, UTF-16 from Excel's "Unicode text"; comma
or tab separated) or XLSX (the first sheet), the header on the first row, Chinese or English
column names (docs/evaluation.md).

A column named on the command line is found by its header (case and surrounding spaces
ignored), else through :data:`ALIASES`: ``--value social_capital`` finds a column headed
``社会资本投资`` and ``--group 省份`` one headed ``province``. Rows are numbered as
:class:`restora.errors.Problem` counts them: the first data row is row 1.
"""

from __future__ import annotations

import io
import math
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from restora.errors import InputError, Problem
from restora.inventory.sheets import delimiter
from restora.textio import decode_text

#: Names that mean the same column (our name first). A name given on the command line and a
#: header in the file match when both are in one of these groups.
ALIASES: dict[str, tuple[str, ...]] = {
    "region": ("region", "地区", "区域", "行政区", "行政区划", "region_code", "行政区划代码"),
    "province": ("province", "省", "省份", "省级", "province_code"),
    "city": ("city", "市", "地市", "地级市", "city_code"),
    "county": ("county", "县", "区县", "县区", "县(市、区)", "county_code"),
    "year": ("year", "period", "年", "年份", "年度"),
    "population": ("population", "人口", "常住人口", "人口(万人)"),
    "social_capital": (
        "social_capital",
        "社会资本",
        "社会资本投资",
        "社会资本投资额",
        "社会资本投入",
        "social_capital_cny",
    ),
    "social_capital_share": ("social_capital_share", "社会资本占比", "社会资本投资占比"),
    "investment": ("investment", "total_investment", "总投资", "投资总额", "投资"),
    "restored_area": ("restored_area", "修复面积", "已修复面积", "restored_area_hm2"),
    "damaged_area": ("damaged_area", "损毁面积", "损毁土地面积", "damaged_area_hm2"),
    "treated": ("treated", "adopting", "试点", "是否试点", "实施政策", "政策地区"),
}
_ALIAS = {a.casefold(): key for key, names in ALIASES.items() for a in names}

_TRUE = frozenset({"1", "true", "yes", "y", "t", "是", "有", "试点"})
_FALSE = frozenset({"0", "false", "no", "n", "f", "否", "无", "非试点"})
_YEAR = re.compile(r"^\s*(\d{4})(?:\.0+)?\s*年?\s*$")


@dataclass(frozen=True)
class UnitsTable:
    """The cells of a units table (text as written, numbers from a workbook as numbers)."""

    name: str
    frame: pd.DataFrame
    meta: dict[str, Any]

    def column(self, wanted: str) -> str:
        """The header of the column ``wanted`` names (see the module docstring).

        Raises
        ------
        InputError
            No such column (exit 2), naming the file and the headers it has.
        """
        headers = [str(h) for h in self.frame.columns]
        key = wanted.strip().casefold()
        for h in headers:
            if h.strip().casefold() == key:
                return h
        alias = _ALIAS.get(key)
        if alias is not None:
            for h in headers:
                if _ALIAS.get(h.strip().casefold()) == alias:
                    return h
        raise InputError(
            f"no such column (the file has: {', '.join(headers) or 'no columns'})",
            file=self.name,
            row="header",
            field=wanted,
        )

    def _cells(self, column: str) -> list[tuple[int, Any]]:
        return list(enumerate(self.frame[column].tolist(), start=1))

    def numbers(self, wanted: str, *, nonnegative: bool = False) -> npt.NDArray[np.float64]:
        """The numbers of a column; every bad cell is a problem naming its row (exit 2).

        Thousands separators (``1,234.5``) are accepted. ``nonnegative``: a negative value is
        a problem too.
        """
        column = self.column(wanted)
        out = np.empty(len(self.frame), dtype=np.float64)
        problems = []
        for row, cell in self._cells(column):
            value = _number(cell)
            if value is None:
                text = "" if _blank(cell) else str(cell).strip()
                why = (
                    "empty (every unit needs a value)" if not text else f"{text!r} is not a number"
                )
                problems.append(Problem(why, file=self.name, row=row, field=column))
            elif nonnegative and value < 0:
                problems.append(
                    Problem(
                        f"{value:g} is negative (Gini and Theil need values >= 0)",
                        file=self.name,
                        row=row,
                        field=column,
                    )
                )
            else:
                out[row - 1] = value
        if problems:
            raise InputError(problems=problems)
        return out

    def labels(self, wanted: str) -> list[str]:
        """The text of a column (a group, a region); an empty cell is a problem (exit 2)."""
        column = self.column(wanted)
        out, problems = [], []
        for row, cell in self._cells(column):
            if _blank(cell):
                problems.append(Problem("empty", file=self.name, row=row, field=column))
            out.append(_label(cell))
        if problems:
            raise InputError(problems=problems)
        return out

    def years(self, wanted: str) -> npt.NDArray[np.int64]:
        """A column of years (``2019``, ``2019.0``, ``2019年``, a date's year)."""
        column = self.column(wanted)
        out = np.empty(len(self.frame), dtype=np.int64)
        problems = []
        for row, cell in self._cells(column):
            year = _year(cell)
            if year is None:
                text = "" if _blank(cell) else str(cell).strip()
                problems.append(
                    Problem(
                        f"{text!r} is not a year" if text else "empty",
                        file=self.name,
                        row=row,
                        field=column,
                    )
                )
            else:
                out[row - 1] = year
        if problems:
            raise InputError(problems=problems)
        return out

    def flags(self, wanted: str) -> npt.NDArray[np.bool_]:
        """A yes/no column: 1/0, true/false, yes/no, 是/否 (case ignored)."""
        column = self.column(wanted)
        out = np.zeros(len(self.frame), dtype=bool)
        problems = []
        for row, cell in self._cells(column):
            text = _label(cell).casefold()
            if text in _TRUE:
                out[row - 1] = True
            elif text not in _FALSE:
                problems.append(
                    Problem(
                        f"{text!r} is not yes/no (use 1 or 0, true or false, 是 or 否)",
                        file=self.name,
                        row=row,
                        field=column,
                    )
                )
        if problems:
            raise InputError(problems=problems)
        return out


def _blank(cell: Any) -> bool:
    return cell is None or (isinstance(cell, float) and math.isnan(cell)) or not str(cell).strip()


def _label(cell: Any) -> str:
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))  # a code typed as a number in a workbook: 110000, not 110000.0
    return "" if _blank(cell) else str(cell).strip()


def _number(cell: Any) -> float | None:
    if isinstance(cell, bool):
        return None
    if isinstance(cell, (int, float)):
        value = float(cell)
    else:
        text = str(cell).strip().replace(",", "").replace("，", "")
        try:
            value = float(text)
        except ValueError:
            return None
    return value if math.isfinite(value) else None


def _year(cell: Any) -> int | None:
    if hasattr(cell, "year") and not isinstance(cell, (int, float, str)):
        return int(cell.year)
    if isinstance(cell, float) and cell.is_integer():
        cell = int(cell)
    if isinstance(cell, int) and not isinstance(cell, bool):
        return cell if 1000 <= cell <= 9999 else None
    m = _YEAR.match(str(cell))
    return int(m.group(1)) if m else None


def read_units(raw: bytes, name: str, encoding: str | None = None) -> UnitsTable:
    """A units table from a file's bytes.

    Parameters
    ----------
    raw : bytes
        The file's content.
    name : str
        Its name as messages show it; ``.xlsx``/``.xlsm`` is read as a workbook (first sheet),
        anything else as CSV or tab-separated text.
    encoding : str, optional
        The text's encoding; default told by :func:`restora.textio.decode_text`.

    Returns
    -------
    UnitsTable
        ``meta``: ``format``, ``encoding`` (text), ``rows``.

    Raises
    ------
    InputError
        Unreadable file, or a file without data rows.
    """
    try:
        if name.lower().endswith((".xlsx", ".xlsm")):
            frame = pd.read_excel(io.BytesIO(raw), dtype=object, sheet_name=0)
            meta: dict[str, Any] = {"format": "xlsx"}
        else:
            text, used = decode_text(
                raw, name, encoding, hint="save it as UTF-8 or GBK CSV, or as .xlsx"
            )
            frame = pd.read_csv(
                io.StringIO(text),
                sep=delimiter(text, name),
                dtype=str,
                keep_default_na=False,
                skipinitialspace=True,
            )
            meta = {"format": "csv", "encoding": used}
    except InputError:
        raise
    except pd.errors.EmptyDataError as exc:
        raise InputError("the file is empty", file=name) from exc
    except Exception as exc:  # pandas/openpyxl parse errors: name the file, keep the reason
        raise InputError(f"cannot read the table: {exc}", file=name) from exc
    frame.columns = [str(c).strip() for c in frame.columns]
    # an empty line at the end of a sheet is not a unit; rows inside keep their numbers
    filled = ~frame.map(_blank).all(axis=1)
    last = int(np.flatnonzero(filled.to_numpy())[-1]) + 1 if filled.any() else 0
    frame = frame.iloc[:last].reset_index(drop=True)
    if frame.empty:
        raise InputError("the table has no rows under its header", file=name)
    return UnitsTable(name=name, frame=frame, meta={**meta, "rows": len(frame)})
