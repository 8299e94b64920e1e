"""Spreadsheets and text tables as counties keep them.

A county's register is rarely a clean table: a title row or two sits above the header
(``某县历史遗留矿山图斑登记表``), a header cell is merged over two columns with the units below
it (``面积`` over ``亩 | 公顷``), the workbook is an ``.xls`` from an old office suite, the text
file is Excel's "Unicode text" (UTF-16, tab-separated). This module turns each sheet or text
file into a plain table of raw cells under one header row:

- the header row is the row, among the first :data:`HEADER_SCAN_ROWS`, that names the most
  register columns (:func:`restora.inventory.headers.is_known`); rows above it are dropped;
- a second header row below it is taken in when it names units or parts of the cells above
  (``面积`` + ``亩`` → ``面积(亩)``) and holds no numbers;
- merged cells (``.xlsx``: the sheet's ``mergeCells``; ``.xls``: xlrd's ``merged_cells``) give
  their value to every cell they cover in the header; in a text file an empty header cell over
  a sub-header takes the cell to its left (what a merged cell saved as text leaves);
- fully empty rows and columns are dropped.

Cells keep their types (numbers, dates from ``.xls``/``.xlsx``, text); typing and checks are
:mod:`restora.inventory.validate`'s.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zipfile
from dataclasses import dataclass
from typing import Any
from xml.etree import ElementTree

import pandas as pd

from restora.errors import InputError
from restora.inventory.headers import header_key, is_known

#: How many rows at the top of a sheet are searched for the header.
HEADER_SCAN_ROWS = 20

Merge = tuple[
    int, int, int, int
]  # first row, last row + 1, first column, last column + 1 (0-based)
_NUMBER = re.compile(r"^[-+]?(\d[\d,]*\.?\d*|\.\d+)(e[-+]?\d+)?$", re.IGNORECASE)


@dataclass(frozen=True)
class Header:
    """Where the header is: its first row (0-based), how many rows it spans, its names."""

    row: int
    rows: int
    names: list[str]


@dataclass(frozen=True)
class Sheet:
    """A table read from a sheet or text file: its cells under the header, and where the header was."""

    name: str
    frame: pd.DataFrame
    header: Header | None  # None for a sheet without any cell


def _text(v: Any) -> str:
    if v is None or (isinstance(v, float) and v != v):
        return ""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v).strip()


def _score(cells: list[str]) -> int:
    """How many distinct register columns a row names."""
    return len({header_key(c) for c in cells if c and is_known(c)})


def _looks_numeric(cells: list[Any]) -> bool:
    for v in cells:
        if isinstance(v, (int, float, dt.date)) and not isinstance(v, bool):
            return True
        if isinstance(v, str) and _NUMBER.match(v.strip().replace("，", ",")):
            return True
    return False


def _combine(upper: str, lower: str) -> str:
    """One header from a cell and the cell below it (``面积`` + ``亩`` → ``面积(亩)``)."""
    if not lower or lower == upper:
        return upper
    if not upper:
        return lower
    for candidate in (f"{upper}({lower})", f"{upper}{lower}", lower, upper):
        if is_known(candidate):
            return candidate
    return f"{upper}({lower})"


def _fill_merges(row: list[str], r: int, merges: list[Merge], rows: list[list[str]]) -> list[str]:
    """Row ``r`` with every merged range's value written into the cells it covers."""
    out = list(row)
    for r0, r1, c0, c1 in merges:
        if r0 <= r < r1:
            value = rows[r0][c0] if c0 < len(rows[r0]) else ""
            for c in range(c0, min(c1, len(out))):
                out[c] = value
    return out


def _fill_left(upper: list[str], lower: list[str]) -> list[str]:
    """Empty cells over a sub-header take the upper cell to their left (a merge saved as text)."""
    out = list(upper)
    for c in range(1, len(out)):
        if not out[c] and lower[c] and out[c - 1] and (c == 1 or lower[c - 1]):
            out[c] = out[c - 1]
    return out


def find_header(rows: list[list[Any]], merges: list[Merge] | None = None) -> Header | None:
    """The header of a sheet given its first rows (see the module docstring), or None if empty.

    ``merges`` are the sheet's merged ranges; None for a text file (no merge information).
    """
    width = max((len(r) for r in rows[:HEADER_SCAN_ROWS]), default=0)
    texts = [[*(_text(v) for v in r), *[""] * (width - len(r))] for r in rows]
    filled = [
        _fill_merges(texts[r], r, merges, texts) if merges else texts[r]
        for r in range(min(len(texts), HEADER_SCAN_ROWS + 1))
    ]
    non_empty = [i for i, r in enumerate(filled[:HEADER_SCAN_ROWS]) if any(r)]
    if not non_empty:
        return None
    # each row alone, and with the row below it as the second row of a two-row header
    best: tuple[int, int, list[str]] | None = None  # score, rows, names
    h = non_empty[0]
    for r in non_empty:
        one = (_score(filled[r]), 1, filled[r])
        two = _two_rows(filled, rows, r, merges)
        cand = two if two is not None and two[0] > one[0] else one
        if cand[0] > 0 and (best is None or cand[0] > best[0]):
            best, h = cand, r
    if best is None:
        return Header(h, 1, filled[h])
    return Header(h, best[1], best[2])


def _two_rows(
    filled: list[list[str]], rows: list[list[Any]], r: int, merges: list[Merge] | None
) -> tuple[int, int, list[str]] | None:
    """Score and names of rows ``r`` and ``r + 1`` read as one header, if the second can be one."""
    if r + 1 >= len(filled) or not any(filled[r + 1]) or _looks_numeric(rows[r + 1]):
        return None
    lower = filled[r + 1]
    upper = filled[r] if merges is not None else _fill_left(filled[r], lower)
    combined = [_combine(u, lo) for u, lo in zip(upper, lower, strict=True)]
    score = _score(combined)
    if score <= _score(lower):  # the upper row adds nothing: a title above the header
        return None
    return score, 2, combined


def _unique(names: list[str]) -> list[str]:
    """Column labels: empty headers named by position, repeated ones numbered."""
    seen: dict[str, int] = {}
    out = []
    for i, n in enumerate(names):
        label = n or f"(column {i + 1})"
        seen[label] = seen.get(label, 0) + 1
        out.append(label if seen[label] == 1 else f"{label} ({seen[label]})")
    return out


def _blank(col: pd.Series) -> pd.Series:
    """Missing cells and cells of blanks only."""
    out = col.isna()
    if pd.api.types.infer_dtype(col, skipna=True) in ("string", "mixed", "mixed-integer"):
        out |= col.str.strip().eq("").fillna(False).astype(bool)
    return out


def _frame(body: list[list[Any]] | pd.DataFrame, names: list[str]) -> pd.DataFrame:
    """The cells under the header as a frame (object cells); empty rows and columns dropped."""
    width = len(names)
    if isinstance(body, pd.DataFrame):
        frame = body.iloc[:, :width] if body.shape[1] > width else body
    else:
        frame = pd.DataFrame([list(r[:width]) for r in body], dtype=object)
    frame = frame.reindex(columns=range(width)).astype(object)
    blank = pd.DataFrame({c: _blank(frame[c]) for c in frame.columns}, index=frame.index)
    frame = frame[~blank.all(axis=1)]
    keep = [c for c in range(width) if names[c] or not blank[c].loc[frame.index].all()]
    labels = _unique(names)
    frame = frame[keep].reset_index(drop=True)
    frame.columns = [labels[c] for c in keep]
    return frame


def sheet_from_rows(name: str, rows: list[list[Any]], merges: list[Merge] | None) -> Sheet:
    """A :class:`Sheet` from a sheet's rows of cells and merged ranges."""
    header = find_header(rows[: HEADER_SCAN_ROWS + 1], merges)
    if header is None:
        return Sheet(name, pd.DataFrame(), None)
    return Sheet(name, _frame(rows[header.row + header.rows :], header.names), header)


# --- text files ----------------------------------------------------------------------------


def delimiter(text: str, name: str = "") -> str:
    """``\\t`` for a tab-separated file (``.tsv``, or more tabs than commas on top), else ``,``."""
    if name.lower().endswith(".tsv"):
        return "\t"
    head = text[:20_000]
    return "\t" if head.count("\t") > head.count(",") else ","


def read_text_table(text: str, name: str) -> Sheet:
    """A CSV or tab-separated text as a :class:`Sheet` (title rows, two-row headers)."""
    sep = delimiter(text, name)
    reader = csv.reader(io.StringIO(text), delimiter=sep, skipinitialspace=True)
    top: list[list[str]] = []
    lines_after: list[int] = []
    try:
        for record in reader:
            top.append(record)
            lines_after.append(reader.line_num)
            if len(top) > HEADER_SCAN_ROWS:
                break
    except csv.Error as exc:
        raise InputError(f"cannot read the text table: {exc}", file=name) from exc
    header = find_header(top, None)
    if header is None:
        return Sheet(name, pd.DataFrame(), None)
    consumed = lines_after[header.row + header.rows - 1]
    offset = 0
    for _ in range(consumed):
        nl = text.find("\n", offset)
        offset = len(text) if nl < 0 else nl + 1
    body_text = text[offset:]
    try:
        body = pd.read_csv(
            io.StringIO(body_text),
            sep=sep,
            header=None,
            names=list(range(len(header.names))),
            dtype=str,
            keep_default_na=False,
            na_values=[],
            skipinitialspace=True,
            index_col=False,
        )
    except pd.errors.EmptyDataError:
        body = pd.DataFrame(columns=range(len(header.names)))
    except pd.errors.ParserError as exc:
        raise InputError(f"cannot read the text table: {exc}", file=name) from exc
    return Sheet(name, _frame(body, header.names), header)


# --- workbooks -----------------------------------------------------------------------------

_NS_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
_MERGE = re.compile(rb'<(?:\w+:)?mergeCell\b[^>]*?\bref="([A-Z]+\d+)(?::([A-Z]+\d+))?"')


def _xlsx_merges(data: bytes) -> dict[str, list[Merge]]:
    """Merged ranges of each sheet of an ``.xlsx`` (openpyxl's read-only mode does not give them)."""
    from openpyxl.utils.cell import coordinate_to_tuple

    out: dict[str, list[Merge]] = {}
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        names = set(zf.namelist())
        if "xl/workbook.xml" not in names or "xl/_rels/workbook.xml.rels" not in names:
            return out
        rels = {
            r.get("Id"): r.get("Target", "")
            for r in ElementTree.fromstring(zf.read("xl/_rels/workbook.xml.rels"))
        }
        book = ElementTree.fromstring(zf.read("xl/workbook.xml"))
        for sheet in book.iter():
            if not sheet.tag.endswith("}sheet"):
                continue
            target = rels.get(sheet.get(_NS_REL), "")
            path = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
            if path not in names:
                continue
            xml = zf.read(path)
            start = xml.rfind(b"mergeCells")
            ranges: list[Merge] = []
            if start >= 0:
                for m in _MERGE.finditer(xml, max(xml.rfind(b"</sheetData>"), 0)):
                    r0, c0 = coordinate_to_tuple(m.group(1).decode())
                    r1, c1 = coordinate_to_tuple((m.group(2) or m.group(1)).decode())
                    ranges.append((r0 - 1, r1, c0 - 1, c1))
            out[str(sheet.get("name"))] = ranges
    return out


def read_xlsx(data: bytes, name: str) -> list[Sheet]:
    """Every sheet of an ``.xlsx``/``.xlsm`` workbook (openpyxl, read-only)."""
    import openpyxl

    try:
        wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises assorted errors on broken files
        raise InputError(f"cannot read the workbook: {exc}", file=name) from exc
    try:
        merges = _xlsx_merges(data)
        sheets = []
        for ws in wb.worksheets:
            ws.reset_dimensions()  # some writers state wrong dimensions; read every cell
            rows = [list(r) for r in ws.iter_rows(values_only=True)]
            label = f"{name} (sheet {ws.title})"
            sheets.append(sheet_from_rows(label, rows, merges.get(ws.title, [])))
    finally:
        wb.close()
    return sheets


def read_xls(data: bytes, name: str) -> list[Sheet]:
    """Every sheet of an Excel 97–2003 ``.xls`` workbook (xlrd), merged ranges included."""
    import xlrd

    try:
        try:
            book = xlrd.open_workbook(file_contents=data, formatting_info=True)
        except NotImplementedError:  # formatting of some BIFF versions is not read
            book = xlrd.open_workbook(file_contents=data)
    except xlrd.XLRDError as exc:
        hint = ""
        if data.lstrip()[:1] == b"<" or data[:3] == b"\xef\xbb\xbf":
            hint = " (the file is a web page or text saved with an .xls name: open it and save it as .xlsx or .csv)"
        raise InputError(f"cannot read the .xls workbook: {exc}{hint}", file=name) from exc
    except Exception as exc:  # xlrd raises assorted errors on damaged files
        raise InputError(f"cannot read the .xls workbook: {exc}", file=name) from exc
    sheets = []
    for sh in book.sheets():
        rows = []
        for r in range(sh.nrows):
            row: list[Any] = []
            for kind, value in zip(sh.row_types(r), sh.row_values(r), strict=True):
                if kind in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK):
                    row.append(None)
                elif kind == xlrd.XL_CELL_DATE:
                    row.append(xlrd.xldate.xldate_as_datetime(value, book.datemode))
                elif kind == xlrd.XL_CELL_BOOLEAN:
                    row.append(bool(value))
                elif kind == xlrd.XL_CELL_ERROR:
                    row.append(xlrd.error_text_from_code.get(value, "#ERROR"))
                else:
                    row.append(value)
            rows.append(row)
        merges = [tuple(m) for m in getattr(sh, "merged_cells", [])]
        sheets.append(sheet_from_rows(f"{name} (sheet {sh.name})", rows, merges))  # type: ignore[arg-type]
    return sheets


def workbook_kind(data: bytes) -> str | None:
    """``"xlsx"`` (a zip), ``"xls"`` (an OLE2 compound file) or None, from the first bytes."""
    if data[:4] == b"PK\x03\x04":
        return "xlsx"
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        return "xls"
    return None
