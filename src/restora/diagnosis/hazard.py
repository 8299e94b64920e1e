"""Geohazard danger grading of each hazard and of each mine (high / medium / low / none).

The grade of a hazard combines two classes, following the logic of DZ/T 0286-2015 (danger from
the development of the hazard and the harm it threatens):

1. its **scale class** (small < medium < large < giant) from its volume and kind
   (table ``hazard/scale-classes``) — the likelihood proxy;
2. its **threat class** (none < small < medium < large < special_large) from the people and the
   property it threatens (table ``hazard/threat-classes``, the 险情 grades of the national
   emergency plan for geohazards), moved one step up when buildings are close and one step down
   when they are far (table ``hazard/distance-modifier``);

and reads the grade and its rule code from the danger matrix (table ``hazard/danger-matrix``).
A mine's grade is the highest grade of its hazards; a mine without hazards is ``none``.
All thresholds are reference data; the functions here are pure and vectorised.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from restora import refdata
from restora.errors import InputError

SCALES = ("small", "medium", "large", "giant")
THREATS = ("none", "small", "medium", "large", "special_large")
GRADES = ("none", "low", "medium", "high")  # "none" only for a mine without hazards
TABLE_NAMES = (
    "hazard/scale-classes",
    "hazard/threat-classes",
    "hazard/distance-modifier",
    "hazard/danger-matrix",
)


@dataclass(frozen=True)
class HazardTables:
    """The reference tables the grading reads, as in force on one date for one region."""

    scale_rows: pd.DataFrame  # kind, scale, min_m3, max_m3
    unknown_volume_class: str
    threat_rows: pd.DataFrame  # threat, min_people, min_loss_cny (ascending)
    near_m: float
    far_m: float
    matrix: pd.DataFrame  # scale, threat, grade, code
    provenance: tuple[dict[str, Any], ...]


def load_tables(on: dt.date | str | None = None, region: str | None = None) -> HazardTables:
    """Read the hazard reference tables in force on ``on`` for ``region``."""
    scale, threat, dist, matrix = (refdata.get(n, on=on, region=region) for n in TABLE_NAMES)
    rows = pd.DataFrame(scale.data["rows"])
    unknown = str(scale.data["unknown_volume_class"])
    _check_choice(unknown, SCALES, scale.name, "unknown_volume_class")
    for v in rows["scale"]:
        _check_choice(v, SCALES, scale.name, "scale")
    trows = threat.frame().sort_values("min_people", kind="stable").reset_index(drop=True)
    if tuple(trows["threat"]) != THREATS[1:] or not trows["min_loss_cny"].is_monotonic_increasing:
        raise InputError(
            f"threat classes must be {', '.join(THREATS[1:])} with rising lower limits",
            file=threat.origin,
            field="threat",
        )
    mx = matrix.frame()
    for v in mx["grade"]:
        _check_choice(v, GRADES[1:], matrix.name, "grade")
    missing = {(s, t) for s in SCALES for t in THREATS} - set(
        zip(mx["scale"], mx["threat"], strict=True)
    )
    if missing:
        raise InputError(f"the danger matrix lacks the cells {sorted(missing)}", file=matrix.origin)
    return HazardTables(
        scale_rows=rows,
        unknown_volume_class=unknown,
        threat_rows=trows,
        near_m=float(dist.data["near_m"]),
        far_m=float(dist.data["far_m"]),
        matrix=mx,
        provenance=tuple(t.provenance() for t in (scale, threat, dist, matrix)),
    )


def _check_choice(value: Any, choices: tuple[str, ...], where: str, field: str) -> None:
    if value not in choices:
        raise InputError(f"{value!r} is not one of {', '.join(choices)}", file=where, field=field)


def scale_class(
    kind: np.ndarray, volume_m3: np.ndarray, tables: HazardTables
) -> tuple[np.ndarray, np.ndarray]:
    """Scale class index (0 small … 3 giant) of each hazard from its kind and volume.

    Parameters
    ----------
    kind : array of str
        Hazard kind (``collapse``, ``landslide``, ``debris_flow``, ``subsidence``,
        ``ground_fissure``).
    volume_m3 : array of float
        Volume [m³]; NaN when unknown.
    tables : HazardTables
        Reference tables (``hazard/scale-classes``).

    Returns
    -------
    index : ndarray of int
        Index into :data:`SCALES`.
    known : ndarray of bool
        False where the class is the table's ``unknown_volume_class`` (no volume, or a kind
        classed by area or length rather than volume).

    Notes
    -----
    A hazard of kind *k* with volume *V* is in class *c* when ``min_m3(k, c) <= V < max_m3(k, c)``.

    References
    ----------
    DZ/T 0218-2006 and the county geohazard survey rules (scale tables of landslides, collapses
    and debris flows); see the table's ``source`` and ``notes`` for which limits are verified.
    """
    kind = np.asarray(kind, dtype=object)
    vol = np.asarray(volume_m3, dtype=float)
    out = np.full(kind.shape, SCALES.index(tables.unknown_volume_class), dtype=int)
    known = np.zeros(kind.shape, dtype=bool)
    for k, rows in tables.scale_rows.groupby("kind", sort=False):
        rows = rows.sort_values("min_m3")
        sel = (kind == k) & np.isfinite(vol)
        if not sel.any():
            continue
        # upper limits of the classes: a volume equal to a limit belongs to the class above
        idx = np.searchsorted(rows["max_m3"].to_numpy(float), vol[sel], side="right")
        idx = np.minimum(idx, len(rows) - 1)
        out[sel] = [SCALES.index(s) for s in rows["scale"].to_numpy()[idx]]
        known[sel] = True
    return out, known


def threat_class(
    people: np.ndarray, loss_cny: np.ndarray, tables: HazardTables
) -> tuple[np.ndarray, np.ndarray]:
    """Threat (险情) class index (0 none … 4 special_large) from people and property threatened.

    Parameters
    ----------
    people : array of float
        People threatened [person]; NaN when unknown.
    loss_cny : array of float
        Potential economic loss, property threatened [CNY]; NaN when unknown.
    tables : HazardTables
        Reference tables (``hazard/threat-classes``).

    Returns
    -------
    index : ndarray of int
        Index into :data:`THREATS`.
    known : ndarray of bool
        False where both inputs are unknown (the class is then ``small``, not ``none``).

    Notes
    -----
    class = max(class by people, class by loss): the highest class whose lower limit
    ``min_people`` or ``min_loss_cny`` is reached. ``none`` when both are zero.

    References
    ----------
    国家突发地质灾害应急预案 (2006) §4 险情分级, under 地质灾害防治条例 (2003).
    """
    p = np.asarray(people, dtype=float)
    m = np.asarray(loss_cny, dtype=float)
    known = np.isfinite(p) | np.isfinite(m)
    pz = np.where(np.isfinite(p), p, 0.0)
    mz = np.where(np.isfinite(m), m, 0.0)
    rows = tables.threat_rows
    offset = THREATS.index(str(rows["threat"].iloc[0]))
    by_people = np.searchsorted(rows["min_people"].to_numpy(float), pz, side="right") - 1
    by_loss = np.searchsorted(rows["min_loss_cny"].to_numpy(float), mz, side="right") - 1
    idx = np.maximum(by_people, by_loss) + offset
    nothing = known & (pz <= 0) & (mz <= 0)
    return np.where(nothing, THREATS.index("none"), idx), known


def distance_shift(distance_m: np.ndarray, tables: HazardTables) -> np.ndarray:
    """Steps (+1, 0, −1) by which the distance to buildings [m] moves the threat class."""
    d = np.asarray(distance_m, dtype=float)
    shift = np.zeros(d.shape, dtype=int)
    shift[np.isfinite(d) & (d <= tables.near_m)] = 1
    shift[np.isfinite(d) & (d > tables.far_m)] = -1
    return shift


def grade_hazards(hazards: pd.DataFrame, tables: HazardTables) -> pd.DataFrame:
    """Grade each hazard high / medium / low with the rule codes that decided it.

    Parameters
    ----------
    hazards : DataFrame
        The register's ``hazards`` table: ``hazard_id``, ``mine_id``, ``kind``, ``volume_m3``
        [m³], ``people_threatened`` [person], ``property_threatened_cny`` [CNY],
        ``distance_to_buildings_m`` [m].
    tables : HazardTables
        From :func:`load_tables`.

    Returns
    -------
    DataFrame
        ``hazard_id``, ``mine_id``, ``kind``, ``scale``, ``threat``, ``threat_adjusted``,
        ``grade`` and ``rule_codes`` (list of str), one row per hazard in input order.

    Notes
    -----
    threat_adjusted = threat (unchanged if none), else clip(threat + shift, small, special_large),
    shift = +1 if distance ≤ near_m, −1 if distance > far_m; grade = matrix[scale, threat_adjusted].
    The grade never falls when people or property threatened rise, nor when buildings come closer.

    References
    ----------
    DZ/T 0286-2015 Specification of risk assessment for geological hazard, §4.4, danger grading.
    """
    for col in ("hazard_id", "mine_id", "kind"):
        if col not in hazards.columns:
            raise InputError(f"the hazards table has no column {col!r}", field=col)
    num = {c: _numeric(hazards, c) for c in _NUMERIC}
    kind = hazards["kind"].to_numpy(dtype=object)
    s_idx, s_known = scale_class(kind, num["volume_m3"], tables)
    t_idx, t_known = threat_class(num["people_threatened"], num["property_threatened_cny"], tables)
    shift = distance_shift(num["distance_to_buildings_m"], tables)
    t_adj = np.where(t_idx == 0, 0, np.clip(t_idx + shift, 1, len(THREATS) - 1))

    # the matrix as two (scale × threat) lookup arrays, indexed with the class indices
    grade_of = np.empty((len(SCALES), len(THREATS)), dtype=object)
    code_of = np.empty((len(SCALES), len(THREATS)), dtype=object)
    for row in tables.matrix.itertuples(index=False):
        i, j = SCALES.index(str(row.scale)), THREATS.index(str(row.threat))
        grade_of[i, j], code_of[i, j] = str(row.grade), str(row.code)
    scale_code = np.where(s_known, "HAZ-SCALE-VOLUME", "HAZ-SCALE-UNKNOWN")
    threat_code = np.where(
        ~t_known,
        "HAZ-THREAT-UNKNOWN",
        np.where(t_idx == 0, "HAZ-THREAT-NONE", "HAZ-THREAT-PEOPLE-LOSS"),
    )
    dist_code = np.where(
        t_adj > t_idx, "HAZ-DIST-NEAR", np.where(t_adj < t_idx, "HAZ-DIST-FAR", "")
    )
    cell_code = code_of[s_idx, t_adj]
    codes = [
        [a, b, c, d] if c else [a, b, d]
        for a, b, c, d in zip(
            scale_code.tolist(), threat_code.tolist(), dist_code.tolist(), cell_code, strict=True
        )
    ]
    scales, threats = np.array(SCALES, dtype=object), np.array(THREATS, dtype=object)
    return pd.DataFrame(
        {
            "hazard_id": hazards["hazard_id"].to_numpy(dtype=object),
            "mine_id": hazards["mine_id"].to_numpy(dtype=object),
            "kind": kind,
            "scale": scales[s_idx],
            "threat": threats[t_idx],
            "threat_adjusted": threats[t_adj],
            "grade": grade_of[s_idx, t_adj],
            "rule_codes": codes,
        }
    )


_NUMERIC = ("volume_m3", "people_threatened", "property_threatened_cny", "distance_to_buildings_m")


def _numeric(frame: pd.DataFrame, column: str) -> np.ndarray:
    if column not in frame.columns:
        return np.full(len(frame), np.nan)
    values = pd.to_numeric(frame[column], errors="coerce").astype(float).to_numpy()
    bad = frame[column].notna().to_numpy() & ~np.isfinite(values)
    neg = np.isfinite(values) & (values < 0)
    if bad.any() or neg.any():
        i = int(np.flatnonzero(bad | neg)[0])
        raise InputError(
            f"{frame[column].iloc[i]!r} is not a non-negative number",
            row=i + 1,
            field=column,
        )
    return values


def grade_mines(graded: pd.DataFrame, mine_ids: pd.Series | list[str]) -> pd.DataFrame:
    """Grade each mine as the highest grade of its hazards (``none`` when it has none).

    Parameters
    ----------
    graded : DataFrame
        Output of :func:`grade_hazards`.
    mine_ids : sequence of str
        The mines to grade (the register's ``mines.mine_id``), in output order.

    Returns
    -------
    DataFrame
        ``mine_id``, ``grade``, ``hazards`` (count), ``rule_codes`` (sorted union of the
        hazards' codes, plus ``HAZ-MINE-MAX`` or ``HAZ-MINE-NONE``).

    Notes
    -----
    grade(mine) = max over its hazards of grade(hazard), in the order none < low < medium < high.
    """
    levels = {g: i for i, g in enumerate(GRADES)}
    top: dict[Any, int] = {}
    count: dict[Any, int] = {}
    code_sets: dict[Any, set[str]] = {}
    for mid, grade, codes in zip(
        graded["mine_id"].astype(object).tolist(),
        graded["grade"].tolist(),
        graded["rule_codes"].tolist(),
        strict=True,
    ):
        top[mid] = max(top.get(mid, 0), levels[grade])
        count[mid] = count.get(mid, 0) + 1
        code_sets.setdefault(mid, set()).update(codes)
    rows = [
        {
            "mine_id": mid,
            "grade": GRADES[top[mid]],
            "hazards": count[mid],
            "rule_codes": [*sorted(code_sets[mid]), "HAZ-MINE-MAX"],
        }
        if mid in top
        else {"mine_id": mid, "grade": "none", "hazards": 0, "rule_codes": ["HAZ-MINE-NONE"]}
        for mid in pd.Series(mine_ids, dtype=object).tolist()
    ]
    return pd.DataFrame(rows, columns=["mine_id", "grade", "hazards", "rule_codes"])
