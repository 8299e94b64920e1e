"""Results below the limit of detection in a register's soil samples.

Labs write results below the limit of detection as ``ND``, ``<LOD``, ``未检出`` (no limit given)
or ``<0.05`` (the limit). The register keeps a number per metal so that every method can use it,
and keeps what the lab wrote in the sample's ``qualifiers`` column (e.g. ``"Hg=ND; Cd=<0.05"``),
so nothing a user supplied is lost or silently changed. The number follows the reference table
``soil/indices/non-detect`` (US EPA QA/G-9S §4.7): ``<x`` becomes ``fraction_of_lod × x``; a
result without a limit becomes ``value_without_lod``.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from restora import refdata

NON_DETECT_TABLE = "soil/indices/non-detect"
ND_TOKENS = frozenset(
    {"nd", "n.d.", "n.d", "<lod", "<dl", "<mdl", "bdl", "<检出限", "未检出", "低于检出限"}
)
_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
LESS_THAN = re.compile(rf"^[<＜]\s*({_NUMBER})\s*(.*)$")


def substitute_non_detects(
    frame: pd.DataFrame, columns: list[str], on: str | None = None
) -> tuple[pd.DataFrame, pd.Series]:
    """Replace below-detection entries of ``columns`` by numbers; return them and the qualifiers.

    Parameters
    ----------
    frame : DataFrame
        Raw sample rows (cells as read, text or numbers) [mg/kg].
    columns : list of str
        The metal columns to look at.
    on : str, optional
        Date whose non-detect rule applies (default today).

    Returns
    -------
    (DataFrame, Series)
        A copy of ``frame`` with below-detection cells replaced by numbers [mg/kg], and per row
        the qualifiers text (``None`` where every cell was a plain number or empty).
    """
    rule = refdata.get(NON_DETECT_TABLE, on=on).data
    fraction, without = float(rule["fraction_of_lod"]), float(rule["value_without_lod"])
    out = frame.copy()
    notes: list[list[str]] = [[] for _ in range(len(frame))]
    for col in columns:
        if col not in frame.columns or frame[col].dtype.kind in "fiub":
            continue
        text = frame[col].astype("string").str.strip()
        low = text.str.lower()
        is_nd = low.isin(ND_TOKENS).fillna(False).to_numpy(dtype=bool)
        limit = text.str.extract(LESS_THAN)[0]
        unit_after = text.str.extract(LESS_THAN)[1].fillna("").str.strip()
        # only "<x" with no trailing unit (units are the column's, mg/kg) is read as a limit
        is_lt = (limit.notna() & (unit_after == "")).fillna(False).to_numpy(dtype=bool) & ~is_nd
        if not (is_nd.any() or is_lt.any()):
            continue
        values = out[col].astype(object).to_numpy(copy=True)
        values[is_nd] = without
        values[is_lt] = pd.to_numeric(limit[is_lt]).to_numpy(dtype=float) * fraction
        out[col] = values
        for i in np.flatnonzero(is_nd | is_lt):
            notes[i].append(f"{col}={text.iloc[i]}")
    qualifiers = pd.Series(
        ["; ".join(n) if n else None for n in notes], index=frame.index, dtype=object
    )
    return out, qualifiers


def detection_limits(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """The stated detection limit of each ``<x`` cell of ``columns`` [mg/kg]; NaN elsewhere.

    Reads the raw cells (before :func:`substitute_non_detects`), so that the limit travels as a
    number beside the substitute, for :func:`restora.diagnosis.soil.classify`
    (``detection_limit=``): a limit above the screening value makes the class indeterminate.
    ``ND`` without a limit, plain numbers and empty cells give NaN; a column absent from
    ``frame`` is all NaN.

    Examples
    --------
    >>> raw = pd.DataFrame({"As": ["<70", "12", "ND"], "Cd": [0.2, 0.3, 0.1]})
    >>> detection_limits(raw, ["As", "Cd", "Pb"]).to_numpy().tolist()
    [[70.0, nan, nan], [nan, nan, nan], [nan, nan, nan]]
    """
    out = pd.DataFrame(np.nan, index=frame.index, columns=list(columns), dtype=float)
    for col in columns:
        if col not in frame.columns or frame[col].dtype.kind in "fiub":
            continue
        parts = frame[col].astype("string").str.strip().str.extract(LESS_THAN)
        # only "<x" with no trailing unit (the column's unit, mg/kg) is a limit, as above
        stated = (parts[0].notna() & (parts[1].fillna("").str.strip() == "")).fillna(False)
        out.loc[stated.to_numpy(dtype=bool), col] = pd.to_numeric(parts[0][stated]).to_numpy()
    return out
