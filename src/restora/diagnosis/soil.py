"""Soil pollution against GB 15618-2018 and GB 36600-2018, with single-factor and Nemerow indices.

The standards' values are read from reference tables (``soil/gb15618-2018/*``,
``soil/gb36600-2018/inorganic``, ``soil/indices/*``), in force on a date for a region, and laid
out as arrays indexed ``[pollutant, land, pH band]`` so that N samples are classified with numpy
fancy indexing and comparisons, never a loop over rows.

Outcome classes (the standards' risk-management classes, GB 15618-2018 clause 5 and GB
36600-2018 clause 4):

``priority_protection``
    every measured pollutant at or below its risk screening value (优先保护类);
``safe_utilization``
    some pollutant above its screening value, none above an intervention value (安全利用类);
``strict_control``
    some pollutant above its risk intervention value (严格管控类).

For construction land (GB 36600) the same three names are used: at or below screening the risk
is negligible; between screening and intervention a detailed risk assessment is due; above
intervention the risk is generally unacceptable and remediation or control is required.
Pollutants without an intervention value (Cu, Ni, Zn in GB 15618) reach ``safe_utilization``
at most.

``indeterminate``
    the data cannot decide between two or three of the classes above: a result below detection
    (``<DL``) whose detection limit DL exceeds the screening value may lie on either side of it.
    The class is the range of classes the true values allow; when that range holds one class,
    the sample has that class (a metal above intervention makes it ``strict_control`` whatever a
    censored result says), otherwise it is ``indeterminate`` and needs a lower detection limit.

Rule codes: ``SOIL-<STD>-<POLLUTANT>-SCREEN`` (the screening comparison) and
``SOIL-<STD>-<POLLUTANT>-INTERVENE`` (the intervention comparison), e.g.
``SOIL-GB15618-CD-SCREEN``, ``SOIL-GB36600-CR6-INTERVENE``; ``SOIL-GB36600-<P>-BACKGROUND``
when a regional background value replaced the screening value; ``SOIL-INDEX-SINGLE`` and
``SOIL-INDEX-NEMEROW`` for the index grades; ``SOIL-CENSORED-DL-ABOVE-SV`` and
``SOIL-CENSORED-DL-ABOVE-IV`` for a result below a detection limit above the screening
(respectively the intervention) value.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from restora import refdata
from restora.errors import InputError, Problem, RestoraError

STANDARDS = ("gb15618", "gb36600")
CLASSES = ("priority_protection", "safe_utilization", "strict_control")
INDETERMINATE = "indeterminate"
#: Codes of ``factor_class`` / ``sample_class``: 0-2 index :data:`CLASSES`, 3 is indeterminate.
CLASS_CODES = (*CLASSES, INDETERMINATE)
INDETERMINATE_CODE = len(CLASSES)
AGRICULTURAL_LAND_USES = ("paddy", "orchard", "other")
CONSTRUCTION_LAND_CLASSES = ("1", "2")

STANDARD_LABELS = {"gb15618": "GB 15618-2018", "gb36600": "GB 36600-2018"}
GB15618_TABLES = {
    "ph_bands": "soil/gb15618-2018/ph-bands",
    "screening": "soil/gb15618-2018/screening",
    "intervention": "soil/gb15618-2018/intervention",
}
GB36600_TABLE = "soil/gb36600-2018/inorganic"
BACKGROUND_TABLE = "soil/background"
SINGLE_GRADES_TABLE = "soil/indices/single-factor-grades"
NEMEROW_GRADES_TABLE = "soil/indices/nemerow-grades"

RULE_SINGLE = "SOIL-INDEX-SINGLE"
RULE_NEMEROW = "SOIL-INDEX-NEMEROW"
RULE_DL_ABOVE_SV = "SOIL-CENSORED-DL-ABOVE-SV"
RULE_DL_ABOVE_IV = "SOIL-CENSORED-DL-ABOVE-IV"


def label(standard: str) -> str:
    """The standard's number as written, e.g. ``GB 15618-2018``."""
    return STANDARD_LABELS.get(standard, standard.upper())


def rule_code(standard: str, pollutant: str, kind: str) -> str:
    """Stable code of a rule, e.g. ``rule_code("gb15618", "Cd", "screen")`` →
    ``"SOIL-GB15618-CD-SCREEN"``.

    ``kind`` is ``screen``, ``intervene`` or ``background``.
    """
    return f"SOIL-{standard.upper()}-{pollutant.upper()}-{kind.upper()}"


@dataclass(frozen=True)
class StandardValues:
    """A standard's values as arrays, as in force on a date for a region.

    ``screening`` and ``intervention`` have shape ``(pollutants, lands, ph_bands)`` [mg/kg];
    ``intervention`` is NaN where the standard has none. For GB 15618 the lands are
    ``paddy, orchard, other`` and the bands those of ``ph_upper``; for GB 36600 the lands are
    land classes ``1, 2`` and there is one band (pH does not enter).
    """

    standard: str
    pollutants: tuple[str, ...]
    lands: tuple[str, ...]
    band_names: tuple[str, ...]
    ph_upper: NDArray[np.float64]
    screening: NDArray[np.float64]
    intervention: NDArray[np.float64]
    background_applied: NDArray[np.bool_]
    tables: tuple[refdata.RefTable, ...]

    def pollutant_index(self, names: Sequence[str]) -> NDArray[np.intp]:
        """Positions of ``names`` in :attr:`pollutants` (``InputError`` for unknown names)."""
        pos = {p: i for i, p in enumerate(self.pollutants)}
        unknown = [n for n in names if n not in pos]
        if unknown:
            raise InputError(
                f"{', '.join(unknown)}: no value in {label(self.standard)} "
                f"(its pollutants are {', '.join(self.pollutants)})"
            )
        return np.array([pos[n] for n in names], dtype=np.intp)


def _rows(table: refdata.RefTable) -> list[dict[str, Any]]:
    data = table.data
    if hasattr(data, "to_dict"):
        return list(data.to_dict("records"))
    if not isinstance(data, list):
        raise RestoraError(f"reference table {table.name} must be a list of rows")
    return data


def _upper_bounds(
    rows: list[dict[str, Any]], table_name: str, what: str, bounds: str
) -> NDArray[np.float64]:
    """Inclusive upper bounds of ordered classes (pH bands, grades), the last class open.

    ``what`` names a class and ``bounds`` the bounds in the error messages.
    """
    uppers = [r["upper_inclusive"] for r in rows]
    if any(u is None for u in uppers[:-1]) or uppers[-1] is not None:
        raise RestoraError(f"{table_name}: only the last {what} may lack an upper bound")
    upper = np.array(uppers[:-1], dtype=np.float64)
    if np.any(np.diff(upper) <= 0):
        raise RestoraError(f"{table_name}: {bounds} must increase")
    return upper


def _gb15618(on: dt.date | str | None, region: str | None) -> StandardValues:
    bands_t = refdata.get(GB15618_TABLES["ph_bands"], on=on, region=region)
    screen_t = refdata.get(GB15618_TABLES["screening"], on=on, region=region)
    inter_t = refdata.get(GB15618_TABLES["intervention"], on=on, region=region)
    bands = _rows(bands_t)
    band_names = tuple(str(b["band"]) for b in bands)
    ph_upper = _upper_bounds(bands, bands_t.name, "band", "band upper bounds")

    screen_rows = _rows(screen_t)
    pollutants = tuple(dict.fromkeys(str(r["pollutant"]) for r in screen_rows))
    lands = AGRICULTURAL_LAND_USES
    shape = (len(pollutants), len(lands), len(band_names))
    screening = np.full(shape, np.nan)
    for r in screen_rows:
        m = pollutants.index(str(r["pollutant"]))
        for land in r["applies_to"]:
            li = lands.index(str(land))
            if not np.isnan(screening[m, li, 0]):
                raise RestoraError(f"{screen_t.name}: {r['pollutant']} on {land} given twice")
            screening[m, li, :] = [float(r[b]) for b in band_names]
    if np.isnan(screening).any():
        raise RestoraError(f"{screen_t.name}: some pollutant and land use has no value")

    intervention = np.full(shape, np.nan)
    for r in _rows(inter_t):
        p = str(r["pollutant"])
        if p not in pollutants:
            raise RestoraError(f"{inter_t.name}: {p} has no screening value")
        intervention[pollutants.index(p), :, :] = [float(r[b]) for b in band_names]
    return StandardValues(
        standard="gb15618",
        pollutants=pollutants,
        lands=lands,
        band_names=band_names,
        ph_upper=ph_upper,
        screening=screening,
        intervention=intervention,
        background_applied=np.zeros(shape, dtype=bool),
        tables=(bands_t, screen_t, inter_t),
    )


def _gb36600(on: dt.date | str | None, region: str | None) -> StandardValues:
    table = refdata.get(GB36600_TABLE, on=on, region=region)
    rows = _rows(table)
    pollutants = tuple(str(r["pollutant"]) for r in rows)
    lands = CONSTRUCTION_LAND_CLASSES
    screening = np.array(
        [[[float(r[f"screening_class{c}"])] for c in lands] for r in rows], dtype=np.float64
    )
    intervention = np.array(
        [[[float(r[f"intervention_class{c}"])] for c in lands] for r in rows], dtype=np.float64
    )
    background_t = refdata.get(BACKGROUND_TABLE, on=on, region=region)
    background = np.full(len(pollutants), np.nan)
    for r in _rows(background_t):
        p = str(r["pollutant"])
        if p not in pollutants:
            raise RestoraError(
                f"{background_t.name} ({background_t.region}, {background_t.version}): "
                f"{p} is not a GB 36600 pollutant ({', '.join(pollutants)})"
            )
        background[pollutants.index(p)] = float(r["value"])
    # GB 36600-2018 clause 4.3: a background above the screening value replaces it.
    raised = background[:, None, None] > screening
    screening = np.where(raised, background[:, None, None], screening)
    return StandardValues(
        standard="gb36600",
        pollutants=pollutants,
        lands=lands,
        band_names=("all",),
        ph_upper=np.empty(0),
        screening=screening,
        intervention=intervention,
        background_applied=raised,
        tables=(table, background_t),
    )


def load_standard(
    standard: str, on: dt.date | str | None = None, region: str | None = None
) -> StandardValues:
    """The values of ``standard`` (``gb15618`` or ``gb36600``) in force on ``on`` for ``region``.

    Parameters
    ----------
    standard : {"gb15618", "gb36600"}
        GB 15618-2018 (agricultural land) or GB 36600-2018 (construction land, inorganic items).
    on : date or ISO string, optional
        Date whose table versions apply [date]; default today.
    region : str, optional
        6-digit GB/T 2260 code; a regional version of a table (or, for GB 36600, of the
        background table ``soil/background``) replaces the national one.

    Returns
    -------
    StandardValues
        Screening and intervention values [mg/kg] as arrays, with the tables used.

    References
    ----------
    GB 15618-2018, Tables 1 and 3; GB 36600-2018, Table 1 and clause 4.3.
    """
    key = standard.lower().replace(" ", "").replace("-", "").replace("_", "")
    key = key.removesuffix("2018")
    if key == "gb15618":
        return _gb15618(on, region)
    if key == "gb36600":
        return _gb36600(on, region)
    raise InputError(f"unknown standard {standard!r}: use gb15618 or gb36600", field="standard")


@dataclass(frozen=True)
class GradeScale:
    """Grades of an index: names and inclusive upper bounds (the last grade is unbounded)."""

    names: tuple[str, ...]
    upper: NDArray[np.float64]
    table: refdata.RefTable

    def grade(self, index: ArrayLike) -> NDArray[np.int8]:
        """Grade position of each index value (-1 for NaN): ``upper[k-1] < P <= upper[k]``."""
        p = np.asarray(index, dtype=np.float64)
        g = np.searchsorted(self.upper, p, side="left").astype(np.int8)
        return np.where(np.isnan(p), np.int8(-1), g).astype(np.int8)


def load_grades(
    name: str, on: dt.date | str | None = None, region: str | None = None
) -> GradeScale:
    """A grade scale (``soil/indices/single-factor-grades`` or ``nemerow-grades``)."""
    table = refdata.get(name, on=on, region=region)
    rows = _rows(table)
    upper = _upper_bounds(rows, table.name, "grade", "grade bounds")
    return GradeScale(tuple(str(r["grade"]) for r in rows), upper, table)


def ph_band(ph: ArrayLike, ph_upper: NDArray[np.float64]) -> NDArray[np.intp]:
    """pH band of each sample: band k holds ``ph_upper[k-1] < pH <= ph_upper[k]``.

    Parameters
    ----------
    ph : array_like
        Soil pH [pH units].
    ph_upper : ndarray
        Inclusive upper edges of all bands but the last [pH units], increasing.

    Examples
    --------
    >>> ph_band([5.5, 5.51, 6.5, 7.5, 7.51], np.array([5.5, 6.5, 7.5])).tolist()
    [0, 1, 1, 2, 3]
    """
    return np.searchsorted(ph_upper, np.asarray(ph, dtype=np.float64), side="left")


def land_index(land: ArrayLike, values: StandardValues) -> NDArray[np.intp]:
    """Position of each sample's land use (GB 15618) or land class (GB 36600) in ``values.lands``.

    Codes are compared as strings (``1`` and ``1.0`` are class 1). ``InputError`` names the
    first unknown code and its 1-based row.
    """
    arr = np.asarray(land)
    if arr.dtype.kind in "iuf":
        if arr.dtype.kind == "f" and np.any(np.isnan(arr)):
            bad = int(np.flatnonzero(np.isnan(arr))[0]) + 1
            raise InputError("land use or class is missing", row=bad)
        if arr.dtype.kind == "f" and np.any(arr != np.round(arr)):
            bad = int(np.flatnonzero(arr != np.round(arr))[0]) + 1
            raise InputError(f"land class {arr[bad - 1]} is not 1 or 2", row=bad)
        arr = arr.astype(np.int64).astype(str)
    # Hash-based factorisation: fast on a million object strings, unlike np.unique's sort.
    inverse, codes = pd.factorize(np.asarray(arr, dtype=object).ravel())
    lookup = {c: i for i, c in enumerate(values.lands)}
    mapped = np.array([lookup.get(str(c), -1) for c in codes], dtype=np.intp)
    if np.any(mapped < 0):
        bad_code = str(codes[mapped < 0][0])
        row = int(np.flatnonzero(mapped[inverse] < 0)[0]) + 1
        what = "land use" if values.standard == "gb15618" else "land class"
        raise InputError(
            f"{what} {bad_code!r} is not one of {', '.join(values.lands)} "
            f"({label(values.standard)})",
            row=row,
        )
    return mapped[inverse]


@dataclass(frozen=True)
class SoilAssessment:
    """Per-sample, per-pollutant results of :func:`classify` (arrays of N samples x M pollutants).

    Codes: ``factor_class`` and ``sample_class`` index :data:`CLASS_CODES` (0-2 the standard's
    classes, 3 :data:`INDETERMINATE`, -1 nothing measured); ``factor_class_max`` is the worst
    class each result allows (its class when determinate) and ``sample_class_min`` /
    ``sample_class_max`` bound the sample's class (equal when it is determinate).
    ``factor_grade`` indexes ``single_grades.names`` and ``nemerow_grade`` ``nemerow_grades.names``
    (-1: not computed). ``detection_limit`` [mg/kg] is NaN where no ``<DL`` limit was stated;
    ``index`` is NaN for an indeterminate result (left out of the Nemerow index, like a metal not
    measured).
    """

    values: StandardValues
    pollutants: tuple[str, ...]
    concentration: NDArray[np.float64]
    screening: NDArray[np.float64]
    intervention: NDArray[np.float64]
    background_applied: NDArray[np.bool_]
    index: NDArray[np.float64]
    factor_class: NDArray[np.int8]
    factor_grade: NDArray[np.int8]
    sample_class: NDArray[np.int8]
    nemerow: NDArray[np.float64]
    nemerow_grade: NDArray[np.int8]
    band: NDArray[np.intp]
    land: NDArray[np.intp]
    single_grades: GradeScale
    nemerow_grades: GradeScale
    censored: NDArray[np.bool_]
    detection_limit: NDArray[np.float64]
    factor_class_max: NDArray[np.int8]
    sample_class_min: NDArray[np.int8]
    sample_class_max: NDArray[np.int8]

    @property
    def tables(self) -> tuple[refdata.RefTable, ...]:
        """Every reference table behind the results."""
        return (*self.values.tables, self.single_grades.table, self.nemerow_grades.table)

    def tables_used(self) -> list[dict[str, Any]]:
        """Provenance of every table used (name, version, dates, region, source, SHA-256)."""
        return [t.provenance() for t in self.tables]

    def class_names(self) -> NDArray[np.str_]:
        """Class name per sample (:data:`CLASS_CODES`; empty string where nothing was measured)."""
        names = np.array([*CLASS_CODES, ""], dtype=object)
        return names[np.where(self.sample_class < 0, len(CLASS_CODES), self.sample_class)]

    @property
    def indeterminate(self) -> NDArray[np.bool_]:
        """(N, M) True where a result below detection cannot be placed against the standard."""
        return self.factor_class == INDETERMINATE_CODE


def _check_inputs(
    conc: NDArray[np.float64],
    names: Sequence[str],
    ph: NDArray[np.float64] | None,
    dl: NDArray[np.float64] | None = None,
) -> None:
    problems = []
    neg_rows, neg_cols = np.nonzero(conc < 0)
    for r, c in zip(neg_rows[:20], neg_cols[:20], strict=True):
        problems.append(
            Problem(f"negative concentration {conc[r, c]}", row=int(r) + 1, field=names[c])
        )
    if dl is not None:
        neg_rows, neg_cols = np.nonzero(dl < 0)
        for r, c in zip(neg_rows[:20], neg_cols[:20], strict=True):
            problems.append(
                Problem(f"negative detection limit {dl[r, c]}", row=int(r) + 1, field=names[c])
            )
    if ph is not None:
        bad = np.flatnonzero(~((ph >= 0) & (ph <= 14)))
        for r in bad[:20]:
            problems.append(Problem(f"pH {ph[r]} is outside 0-14", row=int(r) + 1, field="ph"))
    if problems:
        raise InputError(problems=problems)


def nemerow_index(index: ArrayLike) -> NDArray[np.float64]:
    """Nemerow integrated pollution index of each sample.

    Parameters
    ----------
    index : array_like, shape (N, M)
        Single-factor indices P_i = C_i / S_i [dimensionless]; NaN for pollutants not measured
        (left out of the mean and the maximum).

    Returns
    -------
    ndarray, shape (N,)
        P_N [dimensionless]; NaN where no pollutant was measured.

    Notes
    -----
    .. math:: P_N = \\sqrt{\\frac{\\bar P^2 + P_{max}^2}{2}}

    References
    ----------
    Nemerow N.L. (1974) Scientific Stream Pollution Analysis. HJ/T 166-2004, 11.2.

    Examples
    --------
    >>> round(float(nemerow_index([[0.5, 2.0]])[0]), 4)  # sqrt((1.25**2 + 2**2) / 2)
    1.6677
    """
    p = np.atleast_2d(np.asarray(index, dtype=np.float64))
    count = (~np.isnan(p)).sum(axis=1)
    total = np.nansum(p, axis=1)
    p_max = np.fmax.reduce(p, axis=1) if p.shape[1] else np.full(p.shape[0], np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        p_mean = total / count
        out = np.sqrt((p_mean**2 + p_max**2) / 2.0)
    return np.where(count > 0, out, np.nan)


def classify(
    concentration: ArrayLike,
    pollutants: Sequence[str],
    land: ArrayLike,
    ph: ArrayLike | None = None,
    *,
    standard: str = "gb15618",
    on: dt.date | str | None = None,
    region: str | None = None,
    censored: ArrayLike | None = None,
    detection_limit: ArrayLike | None = None,
    values: StandardValues | None = None,
) -> SoilAssessment:
    """Classify N soil samples against GB 15618-2018 or GB 36600-2018.

    Parameters
    ----------
    concentration : array_like, shape (N, M)
        Total concentration of each pollutant [mg/kg dry soil]; NaN where not measured.
    pollutants : sequence of str, length M
        Pollutant codes of the columns (GB 15618: Cd Hg As Pb Cr Cu Ni Zn; GB 36600: As Cd Cr6
        Cu Pb Hg Ni).
    land : array_like, shape (N,)
        GB 15618: land use ``paddy``, ``orchard`` or ``other``; GB 36600: land class 1 or 2.
    ph : array_like, shape (N,), optional
        Soil pH [pH units], 0-14; required for GB 15618, ignored for GB 36600.
    standard : {"gb15618", "gb36600"}
        The standard.
    on : date or ISO string, optional
        Date whose table versions apply [date]; default today.
    region : str, optional
        6-digit GB/T 2260 code for regional tables (GB 36600: regional background values).
    censored : array_like of bool, shape (N, M), optional
        True where a value was below the limit of detection (``<DL`` or ``ND``); the value given
        in ``concentration`` is the substitute (``soil/indices/non-detect``).
    detection_limit : array_like, shape (N, M), optional
        The stated detection limit DL of each ``<DL`` result [mg/kg]; NaN elsewhere (a finite
        value marks the result censored). A result whose DL exceeds the screening value is
        indeterminate (see Notes).
    values : StandardValues, optional
        Pre-loaded values (skips the table look-up; ``standard``, ``on``, ``region`` ignored).

    Returns
    -------
    SoilAssessment

    Notes
    -----
    With S the screening and I the intervention value for the sample's pollutant, pH band and
    land (regional background B replaces S when B > S, GB 36600 only):

    .. math:: P_i = C_i / S_i,\\quad
              k_i = [C_i > S_i] + [C_i > I_i],\\quad
              k = \\max_i k_i

    k = 0, 1, 2 is priority protection, safe utilization, strict control. Comparisons are
    strict: a value equal to a threshold does not exceed it. P_N is :func:`nemerow_index`.

    A result reported as ``<DL`` lies in [0, DL): it can exceed S only if DL > S and I only if
    DL > I. Its class is therefore known (k_i = 0) when DL <= S, and otherwise lies anywhere in
    [0, k_i^max] with k_i^max = [DL > S] + [DL > I]: the result is *indeterminate*
    (rule ``SOIL-CENSORED-DL-ABOVE-SV``, or ``-IV`` when DL > I). The sample's class lies in

    .. math:: [\\max(k_{det}, 0),\\ \\max(k_{det}, \\max_{ind} k_i^{max})]

    with k_det the worst determinate class; it is that class when the two bounds agree (a
    metal above intervention makes the sample strict control whatever the censored results
    say), and :data:`INDETERMINATE` otherwise. An indeterminate result has no single-factor
    index (NaN) and is left out of P_N, as a metal not measured would be; a determinate
    ``<DL`` result keeps the substituted value (DL/2) in P_i and P_N. ``ND`` without a stated
    limit stays the substitute 0 (its limit is taken to be below the screening value, as the
    standard's analysis methods require).

    References
    ----------
    GB 15618-2018, clauses 4-5, Tables 1 and 3. GB 36600-2018, clause 4, Table 1.
    HJ/T 166-2004, 11.2.
    """
    vals = values if values is not None else load_standard(standard, on, region)
    names = tuple(pollutants)
    cols = vals.pollutant_index(names)
    conc = np.atleast_2d(np.asarray(concentration, dtype=np.float64))
    if conc.shape[1] != len(names):
        raise ValueError(f"concentration has {conc.shape[1]} columns for {len(names)} pollutants")
    n = conc.shape[0]
    ph_arr = None
    if vals.standard == "gb15618":
        if ph is None:
            raise InputError("GB 15618 needs the soil pH of every sample", field="ph")
        ph_arr = np.asarray(ph, dtype=np.float64).reshape(-1)
    dl = (
        None
        if detection_limit is None
        else np.asarray(detection_limit, dtype=np.float64).reshape(conc.shape)
    )
    _check_inputs(conc, names, ph_arr, dl)
    band = ph_band(ph_arr, vals.ph_upper) if ph_arr is not None else np.zeros(n, dtype=np.intp)
    li = land_index(np.asarray(land).reshape(-1), vals)

    # One row per (land, band) combination, one column per pollutant; each sample takes its
    # row with np.take, giving contiguous (N, M) arrays without a loop over samples.
    n_combos = len(vals.lands) * len(vals.band_names)
    key = li * len(vals.band_names) + band
    s = np.take(vals.screening[cols].reshape(len(cols), n_combos).T, key, axis=0)
    i = np.take(vals.intervention[cols].reshape(len(cols), n_combos).T, key, axis=0)
    bg = np.take(vals.background_applied[cols].reshape(len(cols), n_combos).T, key, axis=0)

    index = conc / s
    # NaN compares False, so a missing intervention value never triggers strict control.
    factor_class = np.add(conc > s, conc > i, dtype=np.int8)
    missing = np.isnan(conc)
    factor_class[missing] = -1
    cens = (
        np.zeros_like(missing)
        if censored is None
        else np.asarray(censored, dtype=bool).reshape(conc.shape)
    )
    if dl is None:
        dl = np.full(conc.shape, np.nan)
        factor_max = factor_class.copy()
        sample_min = sample_max = factor_class.max(axis=1, initial=-1).astype(np.int8)
    else:
        factor_max, sample_min, sample_max = _censored_bounds(factor_class, dl, s, i, missing)
        cens = cens | np.isfinite(dl)
        index[factor_class == INDETERMINATE_CODE] = np.nan
    sample_class = np.where(sample_min == sample_max, sample_min, INDETERMINATE_CODE).astype(
        np.int8
    )

    single = load_grades(SINGLE_GRADES_TABLE, on=on, region=region)
    nem = load_grades(NEMEROW_GRADES_TABLE, on=on, region=region)
    pn = nemerow_index(index)
    return SoilAssessment(
        values=vals,
        pollutants=names,
        concentration=conc,
        screening=s,
        intervention=i,
        background_applied=bg,
        index=index,
        factor_class=factor_class,
        factor_grade=single.grade(index),
        sample_class=sample_class,
        nemerow=pn,
        nemerow_grade=nem.grade(pn),
        band=band,
        land=li,
        single_grades=single,
        nemerow_grades=nem,
        censored=cens,
        detection_limit=dl,
        factor_class_max=factor_max,
        sample_class_min=sample_min,
        sample_class_max=sample_max,
    )


def _censored_bounds(
    factor_class: NDArray[np.int8],
    dl: NDArray[np.float64],
    s: NDArray[np.float64],
    i: NDArray[np.float64],
    missing: NDArray[np.bool_],
) -> tuple[NDArray[np.int8], NDArray[np.int8], NDArray[np.int8]]:
    """Mark ``<DL`` results with DL > S indeterminate (in place); return the class bounds.

    Returns the worst class each result allows (N, M) and the lowest and highest class of each
    sample (N,), as in the Notes of :func:`classify`.
    """
    stated = np.isfinite(dl) & ~missing
    # a "<DL" result lies in [0, DL): above S only if DL > S, above I only if DL > I
    worst = np.add(dl > s, dl > i, dtype=np.int8)
    indeterminate = stated & (worst > 0)
    factor_class[stated & (worst == 0)] = 0  # below DL <= S whatever the substitute says
    factor_max = np.where(indeterminate, worst, factor_class).astype(np.int8)
    factor_class[indeterminate] = INDETERMINATE_CODE
    determinate = np.where(indeterminate, np.int8(-1), factor_class)
    low = determinate.max(axis=1, initial=-1)
    low = np.where(indeterminate.any(axis=1), np.maximum(low, 0), low).astype(np.int8)
    high = factor_max.max(axis=1, initial=-1).astype(np.int8)
    return factor_max, low, high


def _num(x: float) -> float | None:
    return None if np.isnan(x) else float(x)


def sample_rules(a: SoilAssessment, row: int) -> list[str]:
    """Rule codes that decided sample ``row``'s class, then the index rules.

    For strict control: the intervention rules of the pollutants above intervention; for safe
    utilization: the screening rules of the pollutants above screening; for priority protection:
    the screening rules of every measured pollutant. For an indeterminate sample: the rules of
    the determinate pollutants at its lowest possible class, then ``SOIL-CENSORED-DL-ABOVE-SV``
    or ``-IV`` for the results below a detection limit that leave the class open. Background
    replacements are listed too.
    """
    return _rules(
        a.values.standard,
        a.pollutants,
        a.factor_class[row].tolist(),
        a.factor_class_max[row].tolist(),
        a.background_applied[row].tolist(),
    )


def _dl_rule(worst: int) -> str:
    return RULE_DL_ABOVE_IV if worst == 2 else RULE_DL_ABOVE_SV


def _rules(
    std: str,
    pollutants: Sequence[str],
    fclass: list[int],
    fmax: list[int],
    background: list[bool],
) -> list[str]:
    indet = [k == INDETERMINATE_CODE for k in fclass]
    determinate = [-1 if x else k for k, x in zip(fclass, indet, strict=True)]
    low = max(determinate, default=-1)
    if any(indet):
        low = max(low, 0)
    high = max(fmax, default=-1)
    kind = "intervene" if low == 2 else "screen"
    out = [
        rule_code(std, p, kind)
        for p, k in zip(pollutants, determinate, strict=True)
        if k == low >= 0
    ]
    if high > low:
        out += list(
            dict.fromkeys(_dl_rule(w) for w, x in zip(fmax, indet, strict=True) if x and w > low)
        )
    out += [
        rule_code(std, p, "background")
        for p, k, b in zip(pollutants, fclass, background, strict=True)
        if b and k >= 0
    ]
    return [*out, RULE_SINGLE, RULE_NEMEROW]


def censored_message(
    pollutant: str, detection_limit: float, screening: float, intervention: float
) -> str:
    """Why a ``<DL`` result is indeterminate, and what to do (English; see docs for zh).

    Examples
    --------
    >>> censored_message("As", 70, 30, 200)  # doctest: +NORMALIZE_WHITESPACE
    'As: the detection limit 70 mg/kg exceeds the screening value 30 mg/kg, so "<70" may lie on
    either side of it (indeterminate between priority_protection and safe_utilization);
    re-analyse with a method whose detection limit is below 30 mg/kg'
    """
    if intervention == intervention and detection_limit > intervention:  # not NaN, above I
        return (
            f"{pollutant}: the detection limit {detection_limit:g} mg/kg exceeds the "
            f"intervention value {intervention:g} mg/kg (screening value {screening:g} mg/kg), "
            f'so "<{detection_limit:g}" may lie in any class (indeterminate between '
            f"{CLASSES[0]} and {CLASSES[2]}); re-analyse with a method whose detection limit "
            f"is below {screening:g} mg/kg"
        )
    return (
        f"{pollutant}: the detection limit {detection_limit:g} mg/kg exceeds the screening "
        f'value {screening:g} mg/kg, so "<{detection_limit:g}" may lie on either side of it '
        f"(indeterminate between {CLASSES[0]} and {CLASSES[1]}); re-analyse with a method "
        f"whose detection limit is below {screening:g} mg/kg"
    )


def to_records(
    a: SoilAssessment,
    sample_ids: Sequence[Any],
    *,
    extra: Mapping[str, Sequence[Any]] | None = None,
) -> list[dict[str, Any]]:
    """The JSON contract of ``restora diagnose soil``: one dict per sample.

    Keys: ``sample_id``, ``class`` (one of :data:`CLASS_CODES`), ``class_range`` [lowest,
    highest class the data allow], ``messages`` (why a class is indeterminate),
    ``nemerow``, ``nemerow_grade``, ``nemerow_excludes`` (indeterminate pollutants left out of
    P_N), ``factors`` {pollutant: {value, screening, intervention, index, class, class_range,
    grade, rule, below_lod, detection_limit; for an indeterminate result also
    index_upper_bound = DL/S and message}}, ``rules``, ``standard``, ``land``, ``ph_band``,
    ``tables_used``; plus any ``extra`` columns.
    """
    tables = a.tables_used()
    std = a.values.standard
    classes = a.class_names().tolist()
    grade_names = [*a.nemerow_grades.names, None]
    single_names = [*a.single_grades.names, None]
    class_names = [*CLASS_CODES, None]
    screen_codes = [rule_code(std, p, "screen") for p in a.pollutants]
    intervene_codes = [rule_code(std, p, "intervene") for p in a.pollutants]

    def nums(x: NDArray[np.float64]) -> list[list[float | None]]:
        obj = x.astype(object)
        obj[np.isnan(x)] = None
        return obj.tolist()  # type: ignore[no-any-return]

    value, screening, intervention, index, dl = (
        nums(x) for x in (a.concentration, a.screening, a.intervention, a.index, a.detection_limit)
    )
    fclass, fgrade, cens = a.factor_class.tolist(), a.factor_grade.tolist(), a.censored.tolist()
    fmax = a.factor_class_max.tolist()
    smin, smax = a.sample_class_min.tolist(), a.sample_class_max.tolist()
    nemerow, ngrade = nums(a.nemerow[:, None]), a.nemerow_grade.tolist()
    lands, bands = a.land.tolist(), a.band.tolist()
    bgs = a.background_applied.tolist()
    out: list[dict[str, Any]] = []
    for r in range(a.concentration.shape[0]):
        factors: dict[str, Any] = {}
        messages: list[str] = []
        excluded: list[str] = []
        for j, p in enumerate(a.pollutants):
            k = fclass[r][j]
            low = 0 if k == INDETERMINATE_CODE else k
            f: dict[str, Any] = {
                "value": value[r][j],
                "screening": screening[r][j],
                "intervention": intervention[r][j],
                "index": index[r][j],
                "class": class_names[k],
                "class_range": [class_names[low], class_names[fmax[r][j]]] if k >= 0 else None,
                "grade": single_names[fgrade[r][j]],
                "rule": (intervene_codes[j] if k == 2 else screen_codes[j]) if k >= 0 else None,
                "below_lod": cens[r][j],
                "detection_limit": dl[r][j],
            }
            if k == INDETERMINATE_CODE:
                limit, sv = float(a.detection_limit[r, j]), float(a.screening[r, j])
                msg = censored_message(p, limit, sv, float(a.intervention[r, j]))
                f.update(rule=_dl_rule(fmax[r][j]), index_upper_bound=limit / sv, message=msg)
                messages.append(msg)
                excluded.append(p)
            factors[p] = f
        rec: dict[str, Any] = {
            "sample_id": sample_ids[r],
            "class": classes[r] or None,
            "class_range": ([class_names[smin[r]], class_names[smax[r]]] if smin[r] >= 0 else None),
            "messages": messages,
            "nemerow": nemerow[r][0],
            "nemerow_grade": grade_names[ngrade[r]],
            "nemerow_excludes": excluded,
            "factors": factors,
            "rules": _rules(std, a.pollutants, fclass[r], fmax[r], bgs[r]),
            "standard": std,
            "land": a.values.lands[lands[r]],
            "ph_band": a.values.band_names[bands[r]] if std == "gb15618" else None,
        }
        if extra:
            for key, col in extra.items():
                rec[key] = col[r]
        rec["tables_used"] = tables
        out.append(rec)
    return out
