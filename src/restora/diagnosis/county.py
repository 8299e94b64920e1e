"""Diagnose a whole register: hazard grades, pollution classes, location, suitability, ranking.

This is the orchestration that ``restora diagnose hazards|suitability``, ``restora mines rank``,
the appraisal pipeline and ``restora demo`` share. Every function is pure: it takes the
register (:class:`~restora.inventory.model.Register`), context layers already read
(:func:`restora.diagnosis.context_io.read_context`) and loaded reference tables, and returns
frames or a frozen :class:`CountyDiagnosis`.

A site's pollution class is the worst class of its farmland samples against GB 15618-2018; a
mine's is the worst of its samples; a site or mine without samples is unknown (None).

Results below a detection limit are classed with their stated limits (the register's
detection-limit columns, :data:`restora.inventory.model.DETECTION_LIMIT_COLUMNS`, or the ``<x``
entries of ``qualifiers``), so a ``<DL`` above the screening value leaves a sample
``indeterminate`` (:func:`restora.diagnosis.soil.classify`). Each class is carried with its
range (``pollution_class_min`` / ``pollution_class_max``: the lowest and highest class the data
allow), and the worst of several samples is taken on the ranges (:func:`worst_of`): an
indeterminate sample is never dropped, nor read as clean.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from restora.diagnosis import hazard, location, priority, soil, soil_plausibility, suitability
from restora.errors import InputError, RestoraError
from restora.inventory.censored import read_qualifiers, reconcile_limits
from restora.inventory.model import DETECTION_LIMIT_COLUMNS, Register
from restora.inventory.schema import METALS

ZONE_FLAGS = {
    "ecological_redline": "in_ecological_redline",
    "permanent_basic_farmland": "in_permanent_basic_farmland",
    "urban_development_boundary": "in_urban_development_boundary",
}
POPULATION_ALIASES = ("population", "pop", "人口", "人口数")
FARMLAND_USES = ("paddy", "orchard", "other")
#: The standard's classes, best first (GB 15618-2018); ``INDETERMINATE`` is a range of them.
CLASSES = soil.CLASSES
INDETERMINATE = soil.INDETERMINATE
#: The ranking's pollution indicator of an indeterminate mine is the worst class it may be.
RULE_RANK_INDETERMINATE = "PRIO-POLL-INDETERMINATE"
RANGE_COLUMNS = ("pollution_class_min", "pollution_class_max")


def classify_samples(
    samples: pd.DataFrame, on: dt.date | str | None
) -> tuple[pd.DataFrame | None, str, list[dict[str, Any]]]:
    """Each farmland sample's class against GB 15618-2018 (:mod:`restora.diagnosis.soil`).

    Parameters
    ----------
    samples : pandas.DataFrame
        The register's samples: ``sample_id, mine_id, site_id, land_use, ph``, the metals of
        :data:`restora.inventory.schema.METALS` [mg/kg] and, for results below detection, their
        stated limits [mg/kg] (detection-limit columns, or ``<x`` entries of ``qualifiers``).
    on : date or str, optional
        Date whose reference tables apply.

    Returns
    -------
    frame : pandas.DataFrame or None
        ``sample_id, mine_id, site_id, pollution_class`` (a class of
        :data:`restora.diagnosis.soil.CLASS_CODES`, ``indeterminate`` included),
        ``pollution_class_min`` and ``pollution_class_max`` (the lowest and highest class the
        data allow; equal when decided), ``open_metals`` (metals whose ``<DL`` leaves the class
        open), ``open_results`` (per open result: ``metal``, ``detection_limit_mg_kg``,
        ``screening_mg_kg``, ``intervention_mg_kg``, ``class_range``, ``rule_code``),
        ``rule_codes`` (``SOIL-CENSORED-DL-ABOVE-SV`` / ``-IV`` of those results) and
        ``messages`` (why, and what to do; English); None without farmland samples (land use
        paddy, orchard or other).
    source : str
        Where the classes came from (for reports).
    tables : list of dict
        Provenance of the reference tables used.

    Notes
    -----
    A ``<DL`` result with DL above the screening value lies on either side of it, so the
    sample's class is the range [max(k_det, 0), max(k_det, k_DL)] of
    :func:`restora.diagnosis.soil.classify`; it is ``indeterminate`` when the two differ.
    """
    if not len(samples):
        return None, "none (no samples)", []
    farm = samples[samples["land_use"].isin(list(FARMLAND_USES))].reset_index(drop=True)
    if not len(farm):
        return None, "none (no farmland samples)", []
    conc = farm.reindex(columns=list(METALS)).apply(pd.to_numeric, errors="coerce")
    limits = reconcile_limits(farm, DETECTION_LIMIT_COLUMNS)[list(DETECTION_LIMIT_COLUMNS.values())]
    result = soil.classify(
        conc.to_numpy(float),
        list(METALS),
        farm["land_use"].to_numpy(dtype=object),
        pd.to_numeric(farm["ph"], errors="coerce").to_numpy(float),
        standard="gb15618",
        on=on,
        detection_limit=limits.to_numpy(dtype=float),
    )
    names = [c or None for c in result.class_names().tolist()]
    open_metals, open_results, codes, messages = _open_results(result)
    frame = pd.DataFrame(
        {
            "sample_id": farm["sample_id"].to_numpy(dtype=object),
            "mine_id": farm["mine_id"].to_numpy(dtype=object),
            "site_id": farm["site_id"].to_numpy(dtype=object) if "site_id" in farm else None,
            "pollution_class": pd.Series(names, dtype=object),
            "pollution_class_min": _class_names(result.sample_class_min),
            "pollution_class_max": _class_names(result.sample_class_max),
            "open_metals": open_metals,
            "open_results": open_results,
            "rule_codes": codes,
            "messages": messages,
        }
    )
    return frame, "register samples (GB 15618-2018)", result.tables_used()


def _class_names(codes: np.ndarray) -> pd.Series:
    names = [CLASSES[k] if 0 <= k < len(CLASSES) else None for k in codes.tolist()]
    return pd.Series(names, dtype=object)


def _open_results(
    result: soil.SoilAssessment,
) -> tuple[list[list[str]], list[list[dict[str, Any]]], list[list[str]], list[list[str]]]:
    """Per sample: the metals whose ``<DL`` leaves the class open, those results (metal, limits
    [mg/kg], rule code), their rule codes and messages."""
    n = len(result.sample_class)
    metals: list[list[str]] = [[] for _ in range(n)]
    results: list[list[dict[str, Any]]] = [[] for _ in range(n)]
    codes: list[list[str]] = [[] for _ in range(n)]
    messages: list[list[str]] = [[] for _ in range(n)]
    open_rows = result.sample_class == soil.INDETERMINATE_CODE
    for r, j in zip(*np.nonzero(result.indeterminate & open_rows[:, None]), strict=True):
        p = result.pollutants[j]
        dl, sv, iv = (
            float(x[r, j]) for x in (result.detection_limit, result.screening, result.intervention)
        )
        code = (
            soil.RULE_DL_ABOVE_IV if result.factor_class_max[r, j] == 2 else soil.RULE_DL_ABOVE_SV
        )
        metals[r].append(p)
        results[r].append(
            {
                "metal": p,
                "detection_limit_mg_kg": dl,
                "screening_mg_kg": sv,
                "intervention_mg_kg": None if np.isnan(iv) else iv,
                "class_range": [soil.CLASSES[0], soil.CLASSES[int(result.factor_class_max[r, j])]],
                "rule_code": code,
            }
        )
        if code not in codes[r]:
            codes[r].append(code)
        messages[r].append(soil.censored_message(p, dl, sv, iv))
    return metals, results, codes, messages


def _range_codes(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Lowest and highest class code (0-2; -1 unknown) of each row of ``frame``.

    From ``pollution_class_min`` / ``pollution_class_max`` where given; otherwise from the
    class: a decided class is its own range, ``indeterminate`` without a range may be any class
    (0-2), anything else (None, empty) is unknown.
    """
    code = {c: k for k, c in enumerate(CLASSES)}
    labels = frame["pollution_class"].to_numpy(dtype=object)
    low = np.array([code.get(c, 0 if c == INDETERMINATE else -1) for c in labels], dtype=int)
    high = np.array(
        [code.get(c, len(CLASSES) - 1 if c == INDETERMINATE else -1) for c in labels], dtype=int
    )
    if set(RANGE_COLUMNS) <= set(frame.columns):
        lo_given = np.array([code.get(c, -1) for c in frame[RANGE_COLUMNS[0]]], dtype=int)
        hi_given = np.array([code.get(c, -1) for c in frame[RANGE_COLUMNS[1]]], dtype=int)
        has = (lo_given >= 0) & (hi_given >= 0)
        low, high = np.where(has, lo_given, low), np.where(has, hi_given, high)
    return low, high


def _label(low: int, high: int) -> str | None:
    if high < 0:
        return None
    return CLASSES[low] if low == high else INDETERMINATE


def worst_of(frame: pd.DataFrame, by: str) -> pd.DataFrame:
    """The worst class of the rows of each ``by`` group, on the class ranges.

    Parameters
    ----------
    frame : pandas.DataFrame
        ``by``, ``pollution_class`` and optionally ``pollution_class_min`` /
        ``pollution_class_max`` (e.g. :func:`classify_samples`).
    by : str
        The grouping column (``mine_id`` or ``site_id``); rows without one are left out.

    Returns
    -------
    pandas.DataFrame
        ``by, pollution_class, pollution_class_min, pollution_class_max``, one row per group.

    Notes
    -----
    The group's class lies in [max_i low_i, max_i high_i] over its rows i with a known class
    (the worst of several is as bad as the worst lower bound, and may be as bad as the worst
    upper bound); it is that class when the two agree, else ``indeterminate``. So:
    strict_control with anything is strict_control; an indeterminate [priority_protection,
    safe_utilization] sample beside a safe_utilization one gives safe_utilization; an
    indeterminate sample beside clean ones gives indeterminate, never priority_protection.
    A bare ``indeterminate`` (no range given) may be any class.
    """
    rows = frame.dropna(subset=[by])
    low, high = _range_codes(rows)
    known = high >= 0
    codes = pd.DataFrame(
        {by: rows[by].to_numpy(dtype=object)[known], "low": low[known], "high": high[known]}
    )
    groups = codes.groupby(by, sort=True)[["low", "high"]].max()
    keys = pd.unique(rows[by].to_numpy(dtype=object))
    out: list[tuple[Any, str | None, str | None, str | None]] = []
    for key in sorted(keys, key=str):
        if key in groups.index:
            lo, hi = int(groups.at[key, "low"]), int(groups.at[key, "high"])
            out.append((key, _label(lo, hi), CLASSES[lo], CLASSES[hi]))
        else:
            out.append((key, None, None, None))
    return pd.DataFrame(out, columns=[by, "pollution_class", *RANGE_COLUMNS], dtype=object)


def worst_class(classes: pd.Series) -> str | None:
    """The worst pollution class in ``classes`` (labels only; see :func:`worst_of`).

    ``strict_control`` > ``safe_utilization`` > ``priority_protection`` for decided classes;
    an ``indeterminate`` may be any class, so it is the result unless a ``strict_control`` is
    present (then strict control) — never dropped, never read as clean.
    """
    frame = pd.DataFrame({"g": 0, "pollution_class": classes.to_numpy(dtype=object)})
    worst = worst_of(frame, "g")
    return None if worst.empty else worst["pollution_class"].iloc[0]


def sample_plausibility(
    samples: pd.DataFrame,
    origins: pd.DataFrame | None = None,
    *,
    on: dt.date | str | None = None,
    region: str | None = None,
) -> list[dict[str, Any]]:
    """Plausibility warnings on a register's sample values (``soil/plausible-ranges``).

    Parameters
    ----------
    samples : pandas.DataFrame
        Register samples: ``sample_id``, the metals [mg/kg], ``qualifiers`` and the
        detection-limit columns (results below detection are not checked: their number is a
        substitute).
    origins : pandas.DataFrame, optional
        Where each sample was read: ``sample_id, file, row, columns`` ({metal: header}), as
        :attr:`restora.inventory.io.ImportReport.sample_origins`; default: no file, the
        samples' positions as rows.
    on, region : optional
        Date and 6-digit region code of the table.

    Returns
    -------
    list of dict
        The warnings of :func:`restora.diagnosis.soil_plausibility.check` (rule
        ``SOIL-PLAUSIBILITY-MAX``), file by file in row order. They never block anything.
    """
    if not len(samples):
        return []
    ranges = soil_plausibility.load_ranges(on=on, region=region)
    metals = list(METALS)
    frame = reconcile_limits(samples.reset_index(drop=True), DETECTION_LIMIT_COLUMNS)
    conc = (
        frame.reindex(columns=metals)
        .apply(pd.to_numeric, errors="coerce")
        .to_numpy(dtype=float, copy=True)
    )
    censored, _ = read_qualifiers(frame["qualifiers"].astype(object), metals)
    limits = frame[list(DETECTION_LIMIT_COLUMNS.values())].to_numpy(dtype=float)
    conc[censored.to_numpy(dtype=bool) | np.isfinite(limits)] = np.nan
    ids = frame["sample_id"].to_numpy(dtype=object)
    if origins is None or not len(origins):
        return soil_plausibility.check(conc, metals, ranges, sample_ids=list(ids))
    where = origins.drop_duplicates("sample_id").set_index("sample_id")
    files = [where["file"].get(i) for i in ids]
    out: list[dict[str, Any]] = []
    for file in dict.fromkeys(files):
        rows = np.array([i for i, f in enumerate(files) if f == file], dtype=int)
        row_no = [int(where.at[ids[i], "row"]) if ids[i] in where.index else i + 1 for i in rows]
        order = np.argsort(row_no, kind="stable")
        rows, row_no = rows[order], [row_no[k] for k in order]
        heads = (
            next((where.at[ids[i], "columns"] for i in rows if ids[i] in where.index), None) or {}
        )
        out += soil_plausibility.check(
            conc[rows],
            metals,
            ranges,
            file=None if file is None or pd.isna(file) else str(file),
            columns=[heads.get(m, m) for m in metals],
            rows=row_no,
            sample_ids=list(ids[rows]),
        )
    return out


def pollution_by_mine(
    register: Register,
    pollution: pd.DataFrame | None,
    on: dt.date | str | None,
    source: str = "file",
) -> tuple[pd.DataFrame | None, str, list[dict[str, Any]]]:
    """Worst soil class per mine: from a given table, else by classifying the register's samples.

    Parameters
    ----------
    register : Register
        The register (its sites map ``site_id`` to ``mine_id``; its samples are classified).
    pollution : pandas.DataFrame, optional
        ``site_id`` or ``mine_id`` with ``pollution_class`` (e.g. read by
        :func:`restora.diagnosis.context_io.read_pollution`).
    on : date or str, optional
        Date whose reference tables apply.
    source : str
        How to describe a given table in the result.

    Returns
    -------
    frame, source, tables
        ``mine_id, pollution_class, pollution_class_min, pollution_class_max`` (or None), where
        it came from, the tables used. The class is the worst of the mine's rows on their
        ranges (:func:`worst_of`): it may be ``indeterminate``.
    """
    pol = pollution
    if pol is not None:
        if "mine_id" not in pol.columns:
            site_mine = dict(zip(register.sites["site_id"], register.sites["mine_id"], strict=True))
            pol = pol.assign(mine_id=pol["site_id"].map(site_mine))
        return worst_of(pol, "mine_id"), source, []
    classes, src, provenance = classify_samples(register.samples, on)
    if classes is None:
        return None, src, []
    return worst_of(classes, "mine_id"), src, provenance


def pollution_for_sites(inputs: pd.DataFrame, pol: pd.DataFrame) -> list[str | None]:
    """Each site's class: the worst of its own rows in ``pol``, else the worst of its mine's.

    The worst is taken on the class ranges (:func:`worst_of`), so a site with an indeterminate
    sample is ``indeterminate`` unless another sample decides it.
    """
    by_site, by_mine = (
        worst_of(pol, key).set_index(key)["pollution_class"]
        if key in pol.columns
        else pd.Series(dtype=object)
        for key in ("site_id", "mine_id")
    )
    out: list[str | None] = []
    for sid, mid in zip(inputs["site_id"], inputs["mine_id"], strict=True):
        value = by_site.get(sid) if sid in by_site.index else by_mine.get(mid)
        out.append(None if value is None or pd.isna(value) else str(value))
    return out


def town_population(towns: Any, path_hint: str = "towns") -> np.ndarray:
    """The towns layer's population column [persons] (English or Chinese header)."""
    for name in towns.columns:
        if str(name).strip().lower() in POPULATION_ALIASES:
            return pd.to_numeric(towns[name], errors="coerce").to_numpy(float)
    raise InputError(
        "the towns layer has no 'population' column", file=path_hint, field="population"
    )


def mine_location(sites: pd.DataFrame, context: dict[str, Any], radius_m: float) -> pd.DataFrame:
    """Distance to town and road [m] and population within ``radius_m`` [m] of each mine.

    A mine is at the area-weighted centroid of its sites (:func:`location.mine_points`).
    Returns ``mine_id, distance_to_town_m, population_10km, distance_to_road_m`` (columns
    only for the layers present).
    """
    if "crs" not in context or not len(sites):
        return pd.DataFrame(columns=["mine_id"])
    pts = location.mine_points(sites, crs=context["crs"])
    out = pd.DataFrame({"mine_id": pts["mine_id"]})
    g = pts["geometry"].to_numpy(dtype=object)
    if "towns" in context:
        towns = context["towns"]
        tg = towns.geometry.to_numpy()
        out["distance_to_town_m"] = location.nearest_distance_m(g, tg)
        out["population_10km"] = location.population_within_m(
            g, tg, town_population(towns), radius_m
        )
    if "roads" in context:
        out["distance_to_road_m"] = location.nearest_distance_m(
            g, context["roads"].geometry.to_numpy()
        )
    return out


def site_context(sites: pd.DataFrame, context: dict[str, Any]) -> pd.DataFrame:
    """Planning-zone flags, overlap shares [1] and distances [m] of each site.

    NaN/None where a layer is absent; sites are in lon/lat (the register's storage CRS).
    ``has_boundary`` is False for a site known by its centre point only (a point register):
    its zone flags and shares are None/NaN (no boundary, so no overlap), its distances are
    measured from the point.
    """
    out = pd.DataFrame({"site_id": sites["site_id"].to_numpy(dtype=object)})
    if "crs" not in context or "geometry" not in sites.columns:
        return out
    import shapely

    from restora.inventory.geometry import STORAGE_CRS, has_boundary, reproject

    geoms = reproject(sites["geometry"].to_numpy(dtype=object), STORAGE_CRS, context["crs"])
    # a site without boundary (a point register's centre point): its overlap with a zone is
    # not known, so its zone flags stay empty (as for a layer not given)
    bounded = has_boundary(geoms)
    out["has_boundary"] = bounded
    for layer, flag in ZONE_FLAGS.items():
        if layer in context:
            share = location.overlap_share(geoms, context[layer].geometry.to_numpy())
            out[flag] = pd.Series(share > 0, dtype=object).where(bounded, None)
            out[flag.replace("in_", "share_")] = np.where(bounded, share, np.nan)
    cent = shapely.centroid(geoms)
    if "towns" in context:
        out["distance_to_town_m"] = location.nearest_distance_m(
            cent, context["towns"].geometry.to_numpy()
        )
    if "roads" in context:
        out["distance_to_road_m"] = location.nearest_distance_m(
            cent, context["roads"].geometry.to_numpy()
        )
    return out


def suitability_inputs(
    sites: pd.DataFrame, context: dict[str, Any], pollution: pd.DataFrame | None
) -> pd.DataFrame:
    """The sites' suitability inputs: register columns, context flags and pollution class."""
    inputs = sites.drop(columns=[c for c in ("geometry",) if c in sites.columns]).copy()
    extra = site_context(sites, context)
    for col in extra.columns:
        if col != "site_id":
            inputs[col] = extra[col].to_numpy()
    if pollution is not None:
        inputs["pollution_class"] = pollution_for_sites(inputs, pollution)
    return inputs


@dataclass(frozen=True)
class Ranking:
    """A register ranked for restoration priority (the ``mines rank`` JSON, as objects).

    Attributes
    ----------
    ranking : pandas.DataFrame
        One row per mine, rank 1 first: component scores [0, 1] and indicators.
    method : dict
        Weights used, dropped indicators, normalisation, rule codes, pollution source.
    rule_codes : list of str
        Priority and hazard rule codes.
    provenance : list of dict
        Reference tables used.
    hazard_grades : pandas.DataFrame
        ``mine_id, grade, hazards, rule_codes`` (:func:`hazard.grade_mines`).
    graded_hazards : pandas.DataFrame
        Every hazard with its scale, threat and grade.
    pollution : pandas.DataFrame or None
        ``mine_id, pollution_class, pollution_class_min, pollution_class_max``
        (:func:`pollution_by_mine`).
    location : pandas.DataFrame or None
        ``mine_id`` with distances [m] and population within the radius.
    """

    ranking: pd.DataFrame
    method: dict[str, Any]
    rule_codes: list[str]
    provenance: list[dict[str, Any]]
    hazard_grades: pd.DataFrame
    graded_hazards: pd.DataFrame
    pollution: pd.DataFrame | None
    location: pd.DataFrame | None

    def records(self, top: int | None = None) -> list[dict[str, Any]]:
        """The ranking as JSON-ready rows (NaN → None)."""
        frame = self.ranking.head(top) if top else self.ranking
        return frame.replace({np.nan: None}).to_dict("records")  # type: ignore[no-any-return]

    def reasons(self, top: int = 10) -> list[dict[str, Any]]:
        """The first ``top`` mines with why they rank where they do.

        Returns
        -------
        list of dict
            ``rank, mine_id, name, score, damage, risk, potential`` [0, 1],
            ``contributions`` (weight × component score [1] per component), ``driver`` (the
            component contributing most), ``reasons`` (sentences naming the indicators behind
            each component) and the mine's geohazard ``rule_codes``.

        Notes
        -----
        :math:`S = \\sum_c w_c s_c`; the driver is :math:`\\arg\\max_c w_c s_c`.
        """
        w = self.method["weights"]["components"]
        grades = self.hazard_grades.set_index("mine_id")
        out = []
        for row in self.records(top):
            contrib = {
                c: float(w.get(c, 0.0)) * float(row[c] or 0.0)
                for c in ("damage", "risk", "potential")
            }
            lead = max(contrib, key=lambda c: contrib[c])
            mid = row["mine_id"]
            codes = list(grades.loc[mid, "rule_codes"]) if mid in grades.index else []
            soil_text = row["pollution_class"] or "unknown"
            if soil_text == INDETERMINATE:
                soil_text += (
                    f" (a detection limit above the screening value; scored as "
                    f"{row.get('pollution_class_max')}, the worst class it may be)"
                )
            reasons = [
                f"driven by {lead} (weight {w.get(lead, 0):g} × score {row[lead]:.2f})",
                f"damage: {row['damaged_area_hm2']:.1f} hm² damaged",
                f"risk: geohazard {row['hazard_grade']}, soil {soil_text}",
            ]
            if row.get("distance_to_town_m") is not None:
                reasons.append(
                    f"potential: town {row['distance_to_town_m'] / 1000:.1f} km, "
                    f"{(row.get('population_10km') or 0):,.0f} people within 10 km, "
                    f"landscape level {row.get('landscape_level')}"
                )
            out.append(
                {
                    "rank": row["rank"],
                    "mine_id": mid,
                    "name": row["name"],
                    "score": row["score"],
                    "damage": row["damage"],
                    "risk": row["risk"],
                    "potential": row["potential"],
                    "contributions": contrib,
                    "driver": lead,
                    "reasons": reasons,
                    "rule_codes": sorted(set(codes)),
                }
            )
        return out


def rank_register(
    register: Register,
    tables: priority.PriorityTables,
    htables: hazard.HazardTables,
    context: dict[str, Any],
    *,
    pollution: pd.DataFrame | None = None,
    pollution_source: str = "file",
    on: dt.date | str | None = None,
) -> Ranking:
    """Rank the register by damage degree, risk level and potential development value.

    Parameters
    ----------
    register : Register
        Mines, sites, samples and hazards.
    tables, htables : PriorityTables, HazardTables
        Loaded priority and hazard reference tables.
    context : dict
        Context layers (:func:`restora.diagnosis.context_io.read_context`); ``{}`` for none.
    pollution : pandas.DataFrame, optional
        Given pollution classes; default classify the register's samples.
    pollution_source : str
        Description of a given pollution table.
    on : date or str, optional
        Date whose soil reference tables apply.

    Returns
    -------
    Ranking

    Notes
    -----
    Each component is a weighted mean of min-max normalised indicators and the score a
    weighted mean of the components (:func:`restora.diagnosis.priority.rank`). The pollution
    indicator of a mine whose class is indeterminate is the level of the worst class it may be
    (``pollution_class_max``; rule ``PRIO-POLL-INDETERMINATE``): a ranking for restoration
    errs on the side of the risk it cannot rule out.
    """
    if not len(register.mines):
        raise RestoraError("the register is empty: import mines first (`restora mines import`)")
    graded = hazard.grade_hazards(register.hazards.reset_index(drop=True), htables)
    grades = hazard.grade_mines(graded, list(register.mines["mine_id"]))
    pol, pol_source, pol_tables = pollution_by_mine(register, pollution, on, pollution_source)
    loc = mine_location(register.sites, context, tables.population_radius_m) if context else None
    # an indeterminate mine is scored at the worst class it may be (precaution), said by a rule
    scored = pol.assign(pollution_class=pol["pollution_class_max"]) if pol is not None else None
    raw = priority.indicators(register.mines, register.sites, tables, grades, scored, loc)
    ranked, method = priority.rank(raw, tables)
    open_mines = (
        sorted(pol.loc[pol["pollution_class"] == INDETERMINATE, "mine_id"].astype(str))
        if pol is not None
        else []
    )
    if open_mines:
        method["rule_codes"] = [*method.get("rule_codes", []), RULE_RANK_INDETERMINATE]
        method["indeterminate_pollution"] = (
            "mines whose soil class is indeterminate (a result below a detection limit above "
            "the screening value) score the pollution level of the worst class they may be "
            f"(pollution_class_max): {', '.join(open_mines)}"
        )
    ranked.insert(
        ranked.columns.get_loc("hazard_level") + 1,
        "hazard_grade",
        ranked["mine_id"].map(dict(zip(grades["mine_id"], grades["grade"], strict=True))),
    )
    for offset, col in enumerate(("pollution_class", "pollution_class_max"), start=1):
        pol_map = dict(zip(pol["mine_id"], pol[col], strict=True)) if pol is not None else {}
        ranked.insert(
            ranked.columns.get_loc("pollution_level") + offset,
            col,
            ranked["mine_id"].map(pol_map),
        )
    method["pollution_source"] = pol_source
    provenance = [*tables.provenance, *htables.provenance, *pol_tables]
    codes = sorted({*method["rule_codes"], *(c for cs in grades["rule_codes"] for c in cs)})
    return Ranking(ranked, method, codes, provenance, grades, graded, pol, loc)


@dataclass(frozen=True)
class CountyDiagnosis:
    """A whole register diagnosed once, for ranking, planning and appraisal.

    Attributes
    ----------
    ranking : Ranking
        Priority ranking with hazard grades, mine pollution classes and location.
    sample_classes : pandas.DataFrame or None
        Each farmland sample's GB 15618-2018 class, with its range, open metals, rule codes and
        messages (:func:`classify_samples`).
    site_inputs : pandas.DataFrame
        Each site's suitability inputs (register columns, context flags, distances [m],
        pollution class).
    suitability : pandas.DataFrame
        Every (site, use) with status, rank and rule codes (:func:`suitability.assess_sites`).
    best_use : dict
        ``{site_id: first-ranked after-use}``.
    provenance : list of dict
        Every reference table used.
    rule_codes : list of str
        Every rule code that fired.
    context_layers : dict
        ``{layer: present}``.
    """

    ranking: Ranking
    sample_classes: pd.DataFrame | None
    site_inputs: pd.DataFrame
    suitability: pd.DataFrame
    best_use: dict[str, str]
    provenance: list[dict[str, Any]]
    rule_codes: list[str]
    context_layers: dict[str, bool] = field(default_factory=dict)


def diagnose_county(
    register: Register,
    context: dict[str, Any],
    *,
    on: dt.date | str | None = None,
    region: str | None = None,
) -> CountyDiagnosis:
    """Hazard grades, pollution classes, site suitability and priority ranking of a register.

    Parameters
    ----------
    register : Register
        The register to diagnose.
    context : dict
        Context layers in one projected CRS [m] (``{}`` for none).
    on : date or str, optional
        Date whose reference tables apply.
    region : str, optional
        6-digit GB/T 2260 code for regional tables.

    Returns
    -------
    CountyDiagnosis
    """
    from restora.diagnosis.context_io import CONTEXT_LAYERS

    ptables = priority.load_tables(on=on, region=region)
    htables = hazard.load_tables(on=on, region=region)
    stables = suitability.load_tables(on=on, region=region)
    classes, _, soil_tables = classify_samples(register.samples, on)
    ranking = rank_register(register, ptables, htables, context, on=on)
    pol = (
        classes.drop(columns="mine_id").dropna(subset=["site_id"]) if classes is not None else None
    )
    inputs = suitability_inputs(register.sites.reset_index(drop=True), context, pol)
    assessed = suitability.assess_sites(inputs, stables)
    mine_of = dict(zip(inputs["site_id"], inputs["mine_id"], strict=True))
    assessed.insert(1, "mine_id", assessed["site_id"].map(mine_of))
    best = suitability.best_uses(assessed)
    best_use = dict(zip(best["site_id"], best["use"], strict=True))
    seen: dict[tuple[str, str], dict[str, Any]] = {}
    for t in [*ranking.provenance, *stables.provenance, *soil_tables]:
        seen.setdefault((str(t.get("name")), str(t.get("version"))), t)
    sample_codes = {c for cs in classes["rule_codes"] for c in cs} if classes is not None else set()
    codes = sorted(
        {*ranking.rule_codes, *(c for cs in assessed["rule_codes"] for c in cs), *sample_codes}
    )
    return CountyDiagnosis(
        ranking=ranking,
        sample_classes=classes,
        site_inputs=inputs,
        suitability=assessed,
        best_use=best_use,
        provenance=list(seen.values()),
        rule_codes=codes,
        context_layers={layer: layer in context for layer in CONTEXT_LAYERS},
    )
