"""Readers of valuation inputs (files → typed values); the valuation modules stay pure."""

from __future__ import annotations

import csv
from pathlib import Path

from restora.errors import InputError
from restora.valuation.carbon import POOL_COLUMNS, CarbonPools


def read_pools(path: str | Path) -> CarbonPools:
    """Read an InVEST carbon pools CSV: ``lucode, c_above, c_below, c_soil, c_dead`` [Mg C/ha].

    Column names are matched without regard to case or surrounding spaces (as InVEST does);
    other columns (e.g. ``lulc_name``) are ignored. ``-`` reads standard input.

    Parameters
    ----------
    path : str or Path
        The CSV file (UTF-8, optionally with a byte-order mark).

    Returns
    -------
    CarbonPools

    Raises
    ------
    InputError
        Naming file, row and column: a missing column, a code that is not an integer or is
        repeated, a density that is empty, not a number, or negative.
    """
    import sys

    name = str(path)
    try:
        text = sys.stdin.read() if name == "-" else Path(path).read_text(encoding="utf-8-sig")
    except FileNotFoundError as exc:
        raise InputError("no such file", file=name) from exc
    except UnicodeDecodeError as exc:
        raise InputError("not a UTF-8 text file", file=name) from exc
    reader = csv.DictReader(text.splitlines())
    if reader.fieldnames is None:
        raise InputError(
            "empty file; expected columns lucode, " + ", ".join(POOL_COLUMNS), file=name
        )
    rename = {f: f.strip().lower() for f in reader.fieldnames if f is not None}
    rows = [{rename.get(k, k): v for k, v in r.items() if k is not None} for r in reader]
    missing = [c for c in ("lucode", *POOL_COLUMNS) if c not in rename.values()]
    if missing:
        raise InputError(
            "missing column(s) " + ", ".join(missing) + " (InVEST carbon pools table: "
            "lucode, c_above, c_below, c_soil, c_dead in Mg C/ha)",
            file=name,
            field=missing[0],
        )
    return CarbonPools.from_rows(rows, name, header_row=True)
