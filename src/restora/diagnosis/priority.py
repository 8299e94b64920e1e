"""Priority ranking of legacy mines: damage degree, risk level, potential development value.

A county or province ranks its register by three components, each a weighted mean of min-max
normalised indicators:

- **damage**: damaged area weighted by the kind of damaged land (``priority/damage-factors``);
- **risk**: the mine's geohazard grade and its worst soil-pollution class;
- **potential**: distance to the nearest town and road (closer is better), population within
  10 km and landscape value (more is better).

The weights live in reference data (``priority/weights``) so that they are shown in every output
and can be changed with a user table; ordinal grades map to scores by ``priority/level-scores``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from restora import refdata
from restora.errors import InputError

COMPONENTS = ("damage", "risk", "potential")
INDICATORS: dict[str, tuple[str, ...]] = {
    "damage": ("damaged_area_weighted_hm2",),
    "risk": ("hazard_level", "pollution_level"),
    "potential": ("distance_to_town_m", "distance_to_road_m", "population_10km", "landscape_level"),
}
# indicators where a smaller value means a higher priority
COST_INDICATORS = frozenset({"distance_to_town_m", "distance_to_road_m"})
WEIGHTS_TABLE = "priority/weights"


@dataclass(frozen=True)
class PriorityTables:
    """Weights, damage factors and ordinal level scores for the ranking."""

    weights: dict[str, Any]
    damage_factors: dict[str, float]
    level_scores: dict[str, dict[str, float]]
    provenance: tuple[dict[str, Any], ...]

    @property
    def population_radius_m(self) -> float:
        return float(self.weights["population_radius_m"])


def load_tables(
    on: dt.date | str | None = None,
    region: str | None = None,
    weights_table: str = WEIGHTS_TABLE,
    weights_override: tuple[Mapping[str, Any], dict[str, Any]] | None = None,
) -> PriorityTables:
    """Read the ranking's reference tables in force on ``on`` for ``region``.

    ``weights_table`` names another weights table (a user's, under ``RESTORA_REFDATA_PATH``);
    ``weights_override`` is ``(data, provenance)`` for weights read from a file by the caller.
    """
    factors = refdata.get("priority/damage-factors", on=on, region=region)
    levels = refdata.get("priority/level-scores", on=on, region=region)
    if weights_override is not None:
        wdata, wprov = dict(weights_override[0]), weights_override[1]
    else:
        wt = refdata.get(weights_table, on=on, region=region)
        wdata, wprov = dict(wt.data), wt.provenance()
    check_weights(wdata, str(wprov.get("name", weights_table)))
    return PriorityTables(
        weights=wdata,
        damage_factors={str(k): float(v) for k, v in factors.data.items()},
        level_scores={str(k): dict(v) for k, v in levels.data.items()},
        provenance=(wprov, factors.provenance(), levels.provenance()),
    )


def check_weights(data: Mapping[str, Any], where: str) -> None:
    """Raise :class:`InputError` unless ``data`` has non-negative weights for every level."""
    levels = {"components": COMPONENTS, **INDICATORS}
    for level, keys in levels.items():
        w = data.get(level)
        if not isinstance(w, Mapping):
            raise InputError(f"weights need a mapping {level!r}", file=where, field=level)
        for k, v in w.items():
            if k not in keys:
                raise InputError(
                    f"unknown weight {k!r} (use {', '.join(keys)})",
                    file=where,
                    field=f"{level}.{k}",
                )
            if not isinstance(v, (int, float)) or not np.isfinite(v) or v < 0:
                raise InputError(
                    f"weight {v!r} is not a non-negative number", file=where, field=f"{level}.{k}"
                )
    r = data.get("population_radius_m")
    if not isinstance(r, (int, float)) or r <= 0:
        raise InputError(
            "population_radius_m must be a positive number [m]",
            file=where,
            field="population_radius_m",
        )


def indicators(
    mines: pd.DataFrame,
    sites: pd.DataFrame,
    tables: PriorityTables,
    hazard_grades: pd.DataFrame | None = None,
    pollution: pd.DataFrame | None = None,
    location: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Raw indicators of each mine, before normalisation.

    Parameters
    ----------
    mines : DataFrame
        ``mine_id``, ``name``, optional ``landscape_value`` (low/medium/high).
    sites : DataFrame
        ``mine_id``, ``kind``, ``area_hm2`` [hm²].
    tables : PriorityTables
        From :func:`load_tables`.
    hazard_grades : DataFrame, optional
        ``mine_id``, ``grade`` (from :func:`restora.diagnosis.hazard.grade_mines`).
    pollution : DataFrame, optional
        ``mine_id``, ``pollution_class`` (worst class of the mine's samples).
    location : DataFrame, optional
        ``mine_id``, ``distance_to_town_m`` [m], ``distance_to_road_m`` [m],
        ``population_10km`` [person].

    Returns
    -------
    DataFrame
        ``mine_id``, ``name``, ``damaged_area_hm2``, and one column per indicator of
        :data:`INDICATORS` (NaN where unknown).

    Notes
    -----
    damaged_area_weighted_hm2 = Σ area_hm2(site) × factor(kind(site)) over the mine's sites.
    """
    out = pd.DataFrame({"mine_id": mines["mine_id"].astype(str).to_numpy(dtype=object)})
    out["name"] = mines["name"].to_numpy(dtype=object) if "name" in mines.columns else None
    area = pd.to_numeric(sites.get("area_hm2"), errors="coerce").astype(float)
    kinds = sites["kind"].astype(str) if len(sites) else pd.Series([], dtype=object)
    unknown = sorted(set(kinds) - set(tables.damage_factors))
    if unknown:
        raise InputError(f"no damage factor for site kind(s) {unknown}", field="kind")
    factor = kinds.map(tables.damage_factors).astype(float)
    per = pd.DataFrame(
        {
            "mine_id": sites["mine_id"].astype(str),
            "a": area.fillna(0.0),
            "w": (area * factor).fillna(0.0),
        }
    )
    sums = per.groupby("mine_id")[["a", "w"]].sum()
    out["damaged_area_hm2"] = out["mine_id"].map(sums["a"]).fillna(0.0).astype(float)
    out["damaged_area_weighted_hm2"] = out["mine_id"].map(sums["w"]).fillna(0.0).astype(float)

    scores = tables.level_scores
    out["hazard_level"] = _levels(out, hazard_grades, "grade", scores["hazard_level"])
    out["pollution_level"] = _levels(out, pollution, "pollution_class", scores["pollution_level"])
    land = (
        mines["landscape_value"].astype(object).map(scores["landscape_level"])
        if "landscape_value" in mines.columns
        else pd.Series(np.nan, index=mines.index)
    )
    out["landscape_level"] = land.astype(float).to_numpy()
    for col in ("distance_to_town_m", "distance_to_road_m", "population_10km"):
        if location is not None and col in location.columns:
            m = location.set_index(location["mine_id"].astype(str))[col]
            out[col] = out["mine_id"].map(m).astype(float)
        else:
            out[col] = np.nan
    return out


def _levels(
    out: pd.DataFrame, frame: pd.DataFrame | None, column: str, scores: Mapping[str, float]
) -> np.ndarray:
    if frame is None or column not in frame.columns:
        return np.full(len(out), np.nan)
    bad = sorted({v for v in frame[column].dropna() if v not in scores})
    if bad:
        raise InputError(f"{bad[0]!r} is not one of {', '.join(scores)}", field=column)
    m = frame.set_index(frame["mine_id"].astype(str))[column].map(scores)
    return out["mine_id"].map(m).astype(float).to_numpy()


def minmax(values: np.ndarray, cost: bool = False) -> np.ndarray:
    """Min-max normalise to [0, 1] (1 = highest priority); NaN → 0; a constant column → 0.

    Notes
    -----
    benefit: s = (x − min) / (max − min); cost: s = (max − x) / (max − min).
    """
    x = np.asarray(values, dtype=float)
    ok = np.isfinite(x)
    out = np.zeros(x.shape)
    if not ok.any():
        return out
    lo, hi = x[ok].min(), x[ok].max()
    if hi <= lo:
        return out
    out[ok] = (hi - x[ok]) / (hi - lo) if cost else (x[ok] - lo) / (hi - lo)
    return out


def rank(raw: pd.DataFrame, tables: PriorityTables) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Rank the mines by the weighted sum of their component scores.

    Parameters
    ----------
    raw : DataFrame
        From :func:`indicators`.
    tables : PriorityTables
        From :func:`load_tables` (weights).

    Returns
    -------
    ranked : DataFrame
        ``rank`` (1 = first to restore), ``mine_id``, ``name``, ``score``, ``damage``,
        ``risk``, ``potential`` (each in [0, 1]) and the raw indicators, sorted by rank.
    method : dict
        The weights used (after dropping indicators unknown for every mine), the dropped
        indicators and components.

    Notes
    -----
    sᵢⱼ = min-max normalised indicator j of mine i (cost indicators reversed);
    Cᵢ = Σⱼ wⱼ sᵢⱼ / Σⱼ wⱼ over the indicators j of component C present in the register;
    scoreᵢ = Σ_C W_C Cᵢ / Σ_C W_C over the components present. Ties are broken by mine_id.
    Indicators unknown for every mine are dropped; a mine missing an indicator others have
    scores 0 on it.
    """
    w = tables.weights
    frame = raw.copy()
    used: dict[str, dict[str, float]] = {}
    dropped: list[str] = []
    for comp in COMPONENTS:
        num = np.zeros(len(frame))
        den = 0.0
        used[comp] = {}
        for ind in INDICATORS[comp]:
            wi = float(w[comp].get(ind, 0.0))
            col = frame[ind].to_numpy(dtype=float)
            if wi <= 0:
                continue
            if not np.isfinite(col).any():
                dropped.append(ind)
                continue
            num += wi * minmax(col, cost=ind in COST_INDICATORS)
            den += wi
            used[comp][ind] = wi
        frame[comp] = num / den if den > 0 else np.nan
    total = np.zeros(len(frame))
    den = 0.0
    comp_used: dict[str, float] = {}
    dropped_comp: list[str] = []
    for comp in COMPONENTS:
        wc = float(w["components"].get(comp, 0.0))
        if wc <= 0:
            continue
        if not used[comp]:
            dropped_comp.append(comp)
            continue
        total += wc * frame[comp].to_numpy(dtype=float)
        den += wc
        comp_used[comp] = wc
    frame["score"] = total / den if den > 0 else 0.0
    frame = frame.sort_values(["score", "mine_id"], ascending=[False, True], kind="stable")
    frame.insert(0, "rank", np.arange(1, len(frame) + 1))
    cols = ["rank", "mine_id", "name", "score", *COMPONENTS, "damaged_area_hm2"]
    cols += [i for c in COMPONENTS for i in INDICATORS[c]]
    method = {
        "weights": {"components": comp_used, **used},
        "dropped_indicators": dropped,
        "dropped_components": dropped_comp,
        "normalisation": "min-max over the register (cost indicators reversed)",
        "rule_codes": ["PRIO-MINMAX", "PRIO-WEIGHTED-SUM"],
    }
    return frame[cols].reset_index(drop=True), method


CLASSES_TABLE = "priority/classes"
#: Rule code of a mine's priority class, cut from its rank (``priority/classes``).
RULE_PRIORITY_CLASS = "PRIO-CLASS-SHARE"


def priority_classes(
    ranks: np.ndarray | pd.Series,
    *,
    on: dt.date | str | None = None,
    region: str | None = None,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Each ranked mine's priority class, by its share of the ranking (``priority/classes``).

    Parameters
    ----------
    ranks : array of int
        Ranks 1 … n of the mines ranked together (:func:`rank`) [1].
    on : date or str, optional
        Date whose table applies.
    region : str, optional
        6-digit GB/T 2260 code for a regional table.

    Returns
    -------
    classes : ndarray of str
        The first class of the table whose ``up_to_share`` is ≥ r / n, per mine.
    provenance : dict
        The table used.

    Notes
    -----
    A mine of rank :math:`r` among :math:`n` takes class :math:`k` for the smallest
    :math:`k` with :math:`r / n \\le s_k` (cumulative shares :math:`s_k`, the last one 1);
    rule ``PRIO-CLASS-SHARE``.

    Examples
    --------
    >>> classes, _ = priority_classes(np.arange(1, 7), on="2024-01-01")
    >>> classes.tolist()
    ['high', 'high', 'medium', 'medium', 'low', 'low']
    """
    table = refdata.get(CLASSES_TABLE, on=on, region=region)
    rows = list(table.data["classes"])
    names = np.array([str(c["name"]) for c in rows], dtype=object)
    bounds = np.array([float(c["up_to_share"]) for c in rows])
    if not (np.all(np.diff(bounds) > 0) and bounds[-1] == 1.0):
        raise InputError(
            "the shares must grow to 1 (the last class takes every remaining mine)",
            file=CLASSES_TABLE,
            field="up_to_share",
        )
    r = np.asarray(ranks, dtype=float)
    if not len(r):
        return np.array([], dtype=object), table.provenance()
    share = r / len(r)
    # a rounding margin: r / n exactly on a bound (e.g. 2/6 = 0.333…) is in the lower class
    k = np.searchsorted(bounds, share - 1e-12, side="left")
    return names[np.minimum(k, len(names) - 1)], table.provenance()
