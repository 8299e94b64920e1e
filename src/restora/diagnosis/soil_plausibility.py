"""Plausibility of soil concentrations: flag magnitudes that suggest a unit or sampling error.

A Pb result of 80 000 mg/kg, Cd of 300 mg/kg or a ``Pb (g/kg)`` column filled with mg/kg
numbers is more often a mistake (a unit off by a factor of 1000, ore or slag sampled instead of
soil) than a soil. The limits live in the reference table ``soil/plausible-ranges``, each with
its basis (a published maximum or a judgement) and evidence. A value above its limit gives a
warning naming the file, row, column and value; the warning does not block the diagnosis.

Rule code: ``SOIL-PLAUSIBILITY-MAX``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from restora import refdata
from restora.errors import RestoraError

PLAUSIBLE_TABLE = "soil/plausible-ranges"
RULE_PLAUSIBILITY = "SOIL-PLAUSIBILITY-MAX"
BASES = ("published_maximum", "judgement")
#: The factor of the unit mix-ups the warning looks for (µg/kg vs mg/kg, mg/kg vs g/kg); a
#: property of the metric prefixes, not a coefficient.
UNIT_STEP = 1000.0


@dataclass(frozen=True)
class PlausibleRanges:
    """Plausibility limits per pollutant [mg/kg], with basis and evidence."""

    warn_above: Mapping[str, float]
    basis: Mapping[str, str]
    published_max: Mapping[str, float | None]
    evidence: Mapping[str, str]
    table: refdata.RefTable


def load_ranges(on: dt.date | str | None = None, region: str | None = None) -> PlausibleRanges:
    """The limits of ``soil/plausible-ranges`` in force on ``on`` for ``region``."""
    table = refdata.get(PLAUSIBLE_TABLE, on=on, region=region)
    rows = table.data
    if not isinstance(rows, list):
        raise RestoraError(f"reference table {table.name} must be a list of rows")
    warn: dict[str, float] = {}
    basis: dict[str, str] = {}
    pmax: dict[str, float | None] = {}
    evidence: dict[str, str] = {}
    for r in rows:
        p = str(r["pollutant"])
        if r["basis"] not in BASES:
            raise RestoraError(f"{table.name}: {p}: basis must be one of {', '.join(BASES)}")
        warn[p] = float(r["warn_above"])
        basis[p] = str(r["basis"])
        pmax[p] = None if r.get("published_max") is None else float(r["published_max"])
        evidence[p] = str(r.get("evidence", ""))
    return PlausibleRanges(warn, basis, pmax, evidence, table)


def _fmt(x: float) -> str:
    return f"{x:,.6g}" if abs(x) < 1e6 else f"{x:,.0f}"


def check(
    concentration: ArrayLike,
    pollutants: Sequence[str],
    ranges: PlausibleRanges,
    *,
    file: str | None = None,
    columns: Sequence[str] | None = None,
    units: Sequence[str] | None = None,
    rows: ArrayLike | None = None,
    sample_ids: Sequence[Any] | None = None,
) -> list[dict[str, Any]]:
    """Warnings for concentrations above their plausibility limit.

    Parameters
    ----------
    concentration : array_like, shape (N, M)
        Concentrations [mg/kg] (NaN: not measured).
    pollutants : sequence of str, length M
        Pollutant codes of the columns (no limit: never flagged).
    ranges : PlausibleRanges
        From :func:`load_ranges`.
    file : str, optional
        File name for the messages.
    columns : sequence of str, optional
        The column headers as written (default: the pollutant codes).
    units : sequence of str, optional
        The unit each column was given in (default mg/kg), to name the likely mix-up.
    rows : array_like of int, optional
        1-based data row of each sample (default 1..N).
    sample_ids : sequence, optional
        Sample identifiers, copied into the warnings.

    Returns
    -------
    list of dict
        One per flagged value, in row order: ``code`` (``SOIL-PLAUSIBILITY-MAX``), ``file``,
        ``row``, ``column``, ``sample_id``, ``pollutant``, ``value_mg_kg``, ``limit_mg_kg``,
        ``basis``, ``published_max_mg_kg``, ``value_if_unit_1000x_smaller_mg_kg`` (the value
        divided by 1000 when that would be plausible, else None), ``message``.

    Notes
    -----
    A value C is flagged when C > L (L the limit). The unit mix-up is suggested when
    C / 1000 <= L: the same number in a unit 1000 times smaller would be a plausible soil.
    """
    conc = np.atleast_2d(np.asarray(concentration, dtype=np.float64))
    names = tuple(pollutants)
    limit = np.array([ranges.warn_above.get(p, np.nan) for p in names], dtype=np.float64)
    with np.errstate(invalid="ignore"):
        flagged: NDArray[np.bool_] = conc > limit  # NaN (no value, no limit) never flags
    row_no = np.arange(1, conc.shape[0] + 1) if rows is None else np.asarray(rows)
    headers = list(names) if columns is None else list(columns)
    col_units = ["mg/kg"] * len(names) if units is None else list(units)
    out: list[dict[str, Any]] = []
    for r, j in zip(*np.nonzero(flagged), strict=True):
        p, value, lim = names[j], float(conc[r, j]), float(limit[j])
        pmax = ranges.published_max.get(p)
        smaller = value / UNIT_STEP
        suggest = smaller if smaller <= lim else None
        where = ", ".join(
            x for x in (file, f"row {int(row_no[r])}", f'column "{headers[j]}"') if x is not None
        )
        basis = ranges.basis[p]
        if pmax is not None and value > pmax:
            why = (
                f"above every published soil value ({_fmt(pmax)} mg/kg is the highest found) "
                f"and the plausibility limit {_fmt(lim)} mg/kg ({basis})"
            )
        else:
            why = f"above the plausibility limit {_fmt(lim)} mg/kg ({basis})"
        msg = f"{where}: {p} {_fmt(value)} mg/kg is {why}"
        if suggest is not None:
            msg += (
                f"; in a unit 1000 times smaller it would be {_fmt(suggest)} mg/kg: "
                f"{_mixup_hint(col_units[j])} Otherwise check"
            )
        else:
            msg += "; check the value and"
        msg += " whether ore, slag or tailings were sampled rather than soil"
        out.append(
            {
                "code": RULE_PLAUSIBILITY,
                "file": file,
                "row": int(row_no[r]),
                "column": headers[j],
                "sample_id": None if sample_ids is None else sample_ids[r],
                "pollutant": p,
                "value_mg_kg": value,
                "limit_mg_kg": lim,
                "basis": basis,
                "published_max_mg_kg": pmax,
                "value_if_unit_1000x_smaller_mg_kg": suggest,
                "message": msg,
            }
        )
    return out


def _mixup_hint(unit: str) -> str:
    """What the likely mix-up is, given the unit the column was read in."""
    u = unit.strip().lower().replace("µ", "u").replace("μ", "u").replace(" ", "")
    if u in {"g/kg", "mg/g"}:
        return f"are the numbers mg/kg under a {unit} header?"
    if u in {"mg/kg", "ug/g", "ppmw"}:
        return "are the numbers µg/kg written as mg/kg?"
    return "check the unit"
