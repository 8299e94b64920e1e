"""Results below the limit of detection in a register's soil samples.

Labs write results below the limit of detection as ``ND``, ``<LOD``, ``未检出`` (no limit given)
or ``<0.05`` (the limit). The register keeps a number per metal so that every method can use it,
and keeps what the lab wrote in the sample's ``qualifiers`` column (e.g. ``"Hg=ND; Cd=<0.05"``),
so nothing a user supplied is lost or silently changed. The number follows the reference table
``soil/indices/non-detect`` (US EPA QA/G-9S §4.7): ``<x`` becomes ``fraction_of_lod × x``; a
result without a limit becomes ``value_without_lod``.

A stated limit ``x`` is also kept as a number, in the sample's detection-limit column of that
metal (:data:`restora.inventory.model.DETECTION_LIMIT_COLUMNS`, e.g. ``As_detection_limit``
[mg/kg]): a limit above the screening value leaves the class open
(:func:`restora.diagnosis.soil.classify`, ``detection_limit=``). :func:`reconcile_limits` keeps
the numbers and the ``qualifiers`` text in step.
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


_ENTRY = re.compile(r"^\s*([^=:：]+?)\s*[=:：]\s*(.+?)\s*$")


def _is_blank(text: object) -> bool:
    return text is None or text is pd.NA or (isinstance(text, float) and np.isnan(text))


def qualifier_entries(text: object) -> dict[str, str]:
    """The ``name=entry`` pairs of one ``qualifiers`` cell, keyed by the name in lower case.

    Entries are separated by ``;`` (or ``；``); ``=``, ``:`` and ``：`` separate name and entry.
    Parts that are not such a pair are left out.

    Examples
    --------
    >>> qualifier_entries("Hg=ND; As=<70")
    {'hg': 'ND', 'as': '<70'}
    """
    if _is_blank(text):
        return {}
    out: dict[str, str] = {}
    for part in re.split(r"[;；]", str(text)):
        m = _ENTRY.match(part)
        if m:
            out.setdefault(m.group(1).lower(), m.group(2))
    return out


def read_qualifiers(qualifiers: pd.Series, columns: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Below-detection flags and stated limits [mg/kg] that ``qualifiers`` cells give per metal.

    Parameters
    ----------
    qualifiers : Series
        ``qualifiers`` cells (``"Hg=ND; Cd=<0.05"``; None or NaN where none).
    columns : list of str
        The metals, in order.

    Returns
    -------
    (DataFrame, DataFrame)
        ``censored`` (bool: ``ND``, ``<LOD`` … or ``<x`` for that metal) and ``limit`` (x of a
        ``<x`` entry [mg/kg]; NaN elsewhere), both indexed like ``qualifiers`` with ``columns``.
    """
    n, names = len(qualifiers), list(columns)
    censored = np.zeros((n, len(names)), dtype=bool)
    limit = np.full((n, len(names)), np.nan)
    by_name = {c.lower(): j for j, c in enumerate(names)}
    texts = qualifiers.to_numpy(dtype=object)
    present = ~pd.isna(texts)
    if present.any():
        # registers repeat a few texts on many rows: read each distinct text once
        codes, uniques = pd.factorize(pd.Series(texts[present], dtype=object).astype(str))
        rows = np.flatnonzero(present)
        for k, text in enumerate(uniques.tolist()):
            hits = rows[codes == k]
            for name, entry in qualifier_entries(text).items():
                j = by_name.get(name)
                if j is None:
                    continue
                if entry.lower() in ND_TOKENS:
                    censored[hits, j] = True
                    continue
                lt = LESS_THAN.match(entry)
                if lt and not lt.group(2).strip():
                    censored[hits, j] = True
                    limit[hits, j] = float(lt.group(1))
    return (
        pd.DataFrame(censored, index=qualifiers.index, columns=names),
        pd.DataFrame(limit, index=qualifiers.index, columns=names),
    )


def number_text(x: float) -> str:
    """Shortest text that reads back to ``x`` exactly, without exponent or trailing ``.0``.

    >>> number_text(70.0), number_text(0.1 + 0.2)
    ('70', '0.30000000000000004')
    """
    return str(np.format_float_positional(x, trim="-"))


def limit_text(limit: float) -> str:
    """The lab's ``<x`` entry of a stated detection limit [mg/kg], e.g. ``"<70"``."""
    return f"<{number_text(float(limit))}"


def merge_qualifiers(given: pd.Series, written: pd.Series) -> pd.Series:
    """Each row's ``qualifiers``: the text given, plus the written entries of other metals.

    ``given`` is a ``qualifiers`` column of the file (None where empty), ``written`` what
    :func:`substitute_non_detects` wrote from the cells. An entry of ``written`` for a metal the
    given text already names is left out (the given text is kept as the user wrote it).
    """
    out = []
    for g, w in zip(given.to_numpy(dtype=object), written.to_numpy(dtype=object), strict=True):
        named = qualifier_entries(g)
        extra = [
            part.strip()
            for part in ([] if _is_blank(w) else str(w).split(";"))
            if part.strip() and next(iter(qualifier_entries(part)), None) not in named
        ]
        parts = ([] if _is_blank(g) else [str(g).strip()]) + extra
        out.append("; ".join(parts) if parts else None)
    return pd.Series(out, index=given.index, dtype=object)


def reconcile_limits(samples: pd.DataFrame, columns: dict[str, str]) -> pd.DataFrame:
    """The samples with each stated detection limit both as a number and in ``qualifiers``.

    Parameters
    ----------
    samples : DataFrame
        Register samples: ``qualifiers`` (optional) and the limit columns named in ``columns``
        (optional) [mg/kg].
    columns : dict
        ``{metal: its detection-limit column}``.

    Returns
    -------
    DataFrame
        A copy where a limit column left empty takes the ``<x`` of the metal's ``qualifiers``
        entry (a register written before the limits had columns), and ``qualifiers`` gains
        ``metal=<x`` for each stated limit it does not mention (an entry already naming the
        metal is kept as the lab wrote it). So both readers of the register — the numbers for
        :func:`restora.diagnosis.soil.classify`, the text for zoning — see the same limits.
    """
    out = samples.copy()
    metals = list(columns)
    given = (
        out["qualifiers"].astype(object)
        if "qualifiers" in out.columns
        else pd.Series(None, index=out.index, dtype=object)
    )
    _, from_text = read_qualifiers(given, metals)
    texts = [None if _is_blank(t) else str(t) for t in given.to_numpy(dtype=object)]
    for metal, col in columns.items():
        given_col = out[col] if col in out.columns else pd.Series(np.nan, index=out.index)
        filled = given_col.where(given_col.notna(), from_text[metal])
        numbers = (
            pd.to_numeric(filled, errors="coerce")
            if not pd.api.types.is_bool_dtype(filled)
            else pd.Series(np.nan, index=out.index)
        )
        # a cell that is not a number is left as it is, for the caller's checks to name it
        all_numbers = bool((numbers.notna() == filled.notna()).all())
        out[col] = numbers.astype(float) if all_numbers else filled
        stated = pd.to_numeric(given_col, errors="coerce").astype(float)
        for i in np.flatnonzero(stated.notna().to_numpy()):
            if metal.lower() in qualifier_entries(texts[i]):
                continue
            entry = f"{metal}={limit_text(float(stated.iloc[i]))}"
            texts[i] = entry if texts[i] is None else f"{texts[i]}; {entry}"
    out["qualifiers"] = pd.Series(texts, index=out.index, dtype=object)
    return out
