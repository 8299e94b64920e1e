"""Comparing two registers: what differs, table by table, row by row (for round-trip checks)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import shapely

from restora.inventory.model import Register

TABLES = ("mines", "sites", "samples", "hazards")
ID_OF = {"mines": "mine_id", "sites": "site_id", "samples": "sample_id", "hazards": "hazard_id"}


def _missing(v: Any) -> bool:
    if v is None or v is pd.NA or v is pd.NaT:
        return True
    return isinstance(v, float) and math.isnan(v)


def _same(a: Any, b: Any, rtol: float) -> bool:
    if _missing(a) or _missing(b):
        return _missing(a) and _missing(b)
    if isinstance(a, (bool, np.bool_)) or isinstance(b, (bool, np.bool_)):
        return bool(a) == bool(b)
    if isinstance(a, (int, float, np.number)) and isinstance(b, (int, float, np.number)):
        if rtol == 0:
            return float(a) == float(b)
        return math.isclose(float(a), float(b), rel_tol=rtol, abs_tol=1e-12)
    return bool(str(a) == str(b))


def register_differences(
    a: Register,
    b: Register,
    *,
    rtol: float = 0.0,
    geometry_tolerance: float = 0.0,
    columns: dict[str, list[str]] | None = None,
    normalize: bool = False,
) -> list[str]:
    """Differences between two registers, as readable lines (empty when equal).

    Rows are matched by id; geometries are compared with ``shapely.equals_exact`` at
    ``geometry_tolerance`` [degree] (0: identical coordinates); numbers with relative
    tolerance ``rtol``. ``columns`` limits the columns compared per table. ``normalize``
    compares geometries in normal form (ring orientation and start vertex ignored).
    """
    out: list[str] = []
    for table in TABLES:
        ta, tb = getattr(a, table), getattr(b, table)
        key = ID_OF[table]
        ida, idb = list(ta[key]), list(tb[key])
        if sorted(map(str, ida)) != sorted(map(str, idb)):
            out.append(f"{table}: ids differ: {sorted(map(str, ida))} vs {sorted(map(str, idb))}")
            continue
        cols = (columns or {}).get(table) or [c for c in ta.columns if c in tb.columns]
        ra = ta.set_index(ta[key].astype(str))
        rb = tb.set_index(tb[key].astype(str))
        for rid in ra.index:
            for col in cols:
                va, vb = ra.at[rid, col], rb.at[rid, col]
                if col == "geometry":
                    if _missing(va) or _missing(vb):
                        ok = _missing(va) and _missing(vb)
                    else:
                        if normalize:
                            va, vb = shapely.normalize(va), shapely.normalize(vb)
                        ok = bool(shapely.equals_exact(va, vb, tolerance=geometry_tolerance))
                else:
                    ok = _same(va, vb, rtol)
                if not ok:
                    out.append(f"{table} {rid!r} {col}: {va!r} != {vb!r}")
    return out
