"""Land suitability: the after-use of each damaged site, ranked, with the rules that decided it.

Principle: farm where fit for farming, forest where fit for forest, grass, water or building
where fit for those (宜耕则耕、宜林则林、宜草则草、宜水则水、宜建则建). For each site the uses
``cultivated``, ``garden``, ``forest``, ``grass``, ``water``, ``construction`` and
``leave_as_is`` are first tested against hard limits — slope and effective soil thickness
(table ``suitability/limits``, TD/T 1036-2013), the soil pollution class (no food crops on
``strict_control`` soil), standing water, and planning constraints (ecological red line,
permanent basic farmland, urban development boundary) — and the uses that pass are ranked: the
base order of the principle (farming first), then promotions by water, planning zone and
location (table ``suitability/rules``). Every accepted or excluded use carries its rule codes.

A site whose soil class is ``indeterminate`` (a result below a detection limit above the
screening value, :func:`restora.diagnosis.soil.classify`) may be any class up to strict control
for all the register says, and no food use is planned on an unknown: ``cultivated`` and
``garden`` are excluded as on ``strict_control`` soil (rule ``SUIT-POLL-INDETERMINATE``) until a
re-analysis with a lower detection limit decides the class. Non-food uses are unaffected.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from restora import refdata
from restora.errors import InputError

USES = ("cultivated", "garden", "forest", "grass", "water", "construction", "leave_as_is")
LAND_USES = ("cultivated", "garden", "forest", "grass", "construction")
POLLUTION_CLASSES = ("priority_protection", "safe_utilization", "strict_control", "indeterminate")
"""The soil classes a site may carry (GB 15618-2018's three and ``indeterminate``); not an order:
the worst of several is :func:`restora.diagnosis.county.worst_of`."""
INDETERMINATE = "indeterminate"
TABLE_NAMES = ("suitability/limits", "suitability/rules")
_SHORT = {
    "cultivated": "CULT",
    "garden": "GARD",
    "forest": "FOR",
    "grass": "GRASS",
    "construction": "CONS",
}


@dataclass(frozen=True)
class SuitabilityTables:
    """The reference tables the suitability rules read."""

    limits: pd.DataFrame  # indexed by use
    rules: dict[str, Any]
    provenance: tuple[dict[str, Any], ...]


def load_tables(on: dt.date | str | None = None, region: str | None = None) -> SuitabilityTables:
    """Read the suitability reference tables in force on ``on`` for ``region``."""
    lim, rules = (refdata.get(n, on=on, region=region) for n in TABLE_NAMES)
    frame = lim.frame().set_index("use")
    unknown = set(frame.index) - set(LAND_USES)
    if unknown:
        raise InputError(f"unknown uses {sorted(unknown)}", file=lim.origin, field="use")
    order = list(rules.data["base_order"])
    if sorted(order) != sorted(USES):
        raise InputError(f"base_order must list each of {USES}", file=rules.origin)
    return SuitabilityTables(
        limits=frame,
        rules=dict(rules.data),
        provenance=(lim.provenance(), rules.provenance()),
    )


def _col(sites: pd.DataFrame, name: str) -> np.ndarray:
    if name not in sites.columns:
        return np.full(len(sites), np.nan)
    values = pd.to_numeric(sites[name], errors="coerce").astype(float).to_numpy()
    bad = sites[name].notna().to_numpy() & ~np.isfinite(values)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(f"{sites[name].iloc[i]!r} is not a number", row=i + 1, field=name)
    return values


def _flag(sites: pd.DataFrame, name: str) -> np.ndarray:
    """A tri-state flag column: 1 true, 0 false, -1 unknown (layer not given)."""
    if name not in sites.columns:
        return np.full(len(sites), -1, dtype=int)
    values = sites[name].to_numpy(dtype=object)
    known = pd.notna(values)
    truth = np.where(known, values, False).astype(bool)
    return np.where(known, truth.astype(int), -1)


def assess_sites(sites: pd.DataFrame, tables: SuitabilityTables) -> pd.DataFrame:
    """Rank the after-uses of each site, with the rule codes that decided each one.

    Parameters
    ----------
    sites : DataFrame
        One row per site: ``site_id``; optional ``slope_deg`` [degree], ``soil_thickness_m``
        [m], ``water`` [bool], ``water_depth_m`` [m], ``pollution_class`` (one of
        ``priority_protection``, ``safe_utilization``, ``strict_control``, ``indeterminate``;
        empty when unknown),
        ``in_ecological_redline``, ``in_permanent_basic_farmland``,
        ``in_urban_development_boundary`` [bool; empty when the layer was not given],
        ``distance_to_town_m`` and ``distance_to_road_m`` [m].
    tables : SuitabilityTables
        From :func:`load_tables`.

    Returns
    -------
    DataFrame
        One row per site and use: ``site_id``, ``use``, ``status`` (``suitable`` or
        ``excluded``), ``rank`` (1 = first choice; empty when excluded) and ``rule_codes``.

    Notes
    -----
    A use is excluded when any hard rule fails: slope > max_slope_deg(use) (SUIT-SLOPE-*),
    soil thickness < min_soil_thickness_m(use) where the table marks the soil limit hard
    (SUIT-SOIL-*; otherwise cover soil is noted, SUIT-SOIL-COVER-*), strict_control soil for food uses
    (SUIT-POLL-STRICT), indeterminate soil for food uses — treated as the worst class it may
    be, strict control, until re-analysed (SUIT-POLL-INDETERMINATE), no standing water for
    ``water`` (SUIT-WATER-NONE), water at least deep_water_m deep for land uses (SUIT-WATER-DEEP), construction inside the ecological red
    line (SUIT-REDLINE), construction, garden or forest on permanent basic farmland (SUIT-PBF),
    construction outside the urban development boundary (SUIT-UDB-OUT) or, without that layer,
    beyond the location limits (SUIT-CONS-REMOTE). The accepted uses are ordered by
    ``base_order`` (SUIT-BASE-ORDER) and then moved to the front, in this sequence so that the
    last applies on top: construction inside the boundary (SUIT-UDB-IN), ecological uses inside
    the red line (SUIT-REDLINE-ECO), cultivated on permanent basic farmland (SUIT-PBF-CULT),
    water on a site with standing water (SUIT-WATER-FIRST). ``leave_as_is`` is always suitable
    and always last (SUIT-LEAVE).

    References
    ----------
    TD/T 1036-2013 土地复垦质量控制标准; 土地复垦条例 (2011) Art. 4; 土壤污染防治法 (2018);
    GB 15618-2018; 土地管理法 (2019) Art. 35; see tables ``suitability/limits`` and
    ``suitability/rules`` for the sources and which values are verified.
    """
    if "site_id" not in sites.columns:
        raise InputError("the sites table has no column 'site_id'", field="site_id")
    rules = tables.rules
    slope = _col(sites, "slope_deg")
    soil = _col(sites, "soil_thickness_m")
    depth = _col(sites, "water_depth_m")
    d_town = _col(sites, "distance_to_town_m")
    d_road = _col(sites, "distance_to_road_m")
    water = _flag(sites, "water") == 1
    redline = _flag(sites, "in_ecological_redline")
    pbf = _flag(sites, "in_permanent_basic_farmland")
    udb = _flag(sites, "in_urban_development_boundary")
    pollution = _pollution(sites)
    no_food = set(rules["no_food_crops_classes"])
    food_uses = set(rules["food_uses"])

    # excluded[use] -> boolean array; codes[use][i] -> list of rule codes
    n = len(sites)
    excluded = {u: np.zeros(n, dtype=bool) for u in USES}
    # rule codes of each use as a bit set per site (bit j = code_names[use][j])
    code_names: dict[str, list[str]] = {u: [] for u in USES}
    bits: dict[str, np.ndarray] = {u: np.zeros(n, dtype=np.int64) for u in USES}

    def hit(use: str, mask: np.ndarray, code: str, exclude: bool) -> None:
        bits[use] |= mask.astype(np.int64) << len(code_names[use])
        code_names[use].append(code)
        if exclude:
            excluded[use] |= mask

    for use in LAND_USES:
        short = _SHORT[use]
        lim = tables.limits.loc[use] if use in tables.limits.index else None
        max_slope = _limit(lim, "max_slope_deg")
        pref_slope = _limit(lim, "preferred_max_slope_deg")
        min_soil = _limit(lim, "min_soil_thickness_m")
        if np.isfinite(max_slope):
            hit(use, np.isfinite(slope) & (slope > max_slope), f"SUIT-SLOPE-{short}", True)
            hit(use, ~np.isfinite(slope), "SUIT-SLOPE-UNKNOWN", False)
        if np.isfinite(pref_slope):
            steep = np.isfinite(slope) & (slope > pref_slope) & (slope <= max_slope)
            hit(use, steep, f"SUIT-TERRACE-{short}", False)
        if np.isfinite(min_soil):
            thin = np.isfinite(soil) & (soil < min_soil)
            if _soil_hard(lim):
                hit(use, thin, f"SUIT-SOIL-{short}", True)
            else:  # met by cover soil (客土覆土) brought to the minimum thickness
                hit(use, thin, f"SUIT-SOIL-COVER-{short}", False)
            hit(use, ~np.isfinite(soil), "SUIT-SOIL-UNKNOWN", False)
        fit_slope = ~np.isfinite(max_slope) | (np.isfinite(slope) & (slope <= max_slope))
        fit_soil = ~np.isfinite(min_soil) | (np.isfinite(soil) & (soil >= min_soil))
        hit(use, fit_slope & fit_soil, f"SUIT-FIT-{short}", False)
        deep = water & np.isfinite(depth) & (depth >= float(rules["deep_water_m"]))
        hit(use, deep, "SUIT-WATER-DEEP", True)
        hit(use, water & ~deep, "SUIT-WATER-FILL", False)

    for use in food_uses:
        hit(use, np.isin(pollution, list(no_food)), "SUIT-POLL-STRICT", True)
        hit(use, pollution == INDETERMINATE, "SUIT-POLL-INDETERMINATE", True)
        hit(use, pollution == "safe_utilization", "SUIT-POLL-SAFE", False)
        hit(use, pollution == "priority_protection", "SUIT-POLL-CLEAN", False)
        hit(use, pollution == "", "SUIT-POLL-UNKNOWN", False)

    hit("water", ~water, "SUIT-WATER-NONE", True)
    hit("construction", redline == 1, "SUIT-REDLINE", True)
    for use in ("construction", "garden", "forest"):
        hit(use, pbf == 1, "SUIT-PBF", True)
    hit("construction", udb == 0, "SUIT-UDB-OUT", True)
    near = (
        np.isfinite(d_town)
        & np.isfinite(d_road)
        & (d_town <= float(rules["construction_max_distance_to_town_m"]))
        & (d_road <= float(rules["construction_max_distance_to_road_m"]))
    )
    hit("construction", (udb == -1) & ~near, "SUIT-CONS-REMOTE", True)
    hit("construction", (udb == -1) & near, "SUIT-CONS-LOCATION", False)

    # ranking: the base order, then the promotions applied in sequence (the last ends on top)
    base = [u for u in rules["base_order"] if u != "leave_as_is"]
    promotions = (
        (udb == 1, ["construction"], "SUIT-UDB-IN"),
        (redline == 1, list(rules["ecological_order"]), "SUIT-REDLINE-ECO"),
        (pbf == 1, ["cultivated"], "SUIT-PBF-CULT"),
        (water, ["water"], "SUIT-WATER-FIRST"),
    )
    # at most 2**4 distinct orders: compute each once, then index the sites by their key
    key = sum(flag.astype(int) << k for k, (flag, _, _) in enumerate(promotions))
    n_uses = len(USES)
    pos_of_key = np.zeros((1 << len(promotions), n_uses), dtype=int)
    lead_of_key = np.empty((1 << len(promotions), n_uses), dtype=object)
    for k in range(1 << len(promotions)):
        order = list(base)
        promoted: dict[str, str] = {}
        for bit, (_, first, code) in enumerate(promotions):
            if k >> bit & 1:
                order, promoted = _front(order, first, code, promoted)
        order.append("leave_as_is")
        for u_i, use in enumerate(USES):
            pos_of_key[k, u_i] = order.index(use)
            lead_of_key[k, u_i] = promoted.get(use, "SUIT-BASE-ORDER")
    pos = pos_of_key[key]  # (n, uses): position of each use in the site's order
    ok = np.column_stack([~excluded[u] for u in USES]) if n else np.zeros((0, n_uses), bool)
    # rank of use u = number of suitable uses at or before u's position
    rank = (ok[:, None, :] & (pos[:, None, :] <= pos[:, :, None])).sum(axis=2)
    leads = ["SUIT-BASE-ORDER", *(code for _, _, code in promotions)]
    lead = np.vectorize(leads.index, otypes=[int])(lead_of_key)[key] if n else pos * 0
    lead = np.where(ok, lead, -1)
    lead[:, USES.index("leave_as_is")] = -1
    # one key per (site, use): use, leading code and bit set; each distinct key decoded once
    use_idx = np.broadcast_to(np.arange(n_uses), (n, n_uses))
    bit_mat = np.column_stack([bits[u] for u in USES]) if n else np.zeros((0, n_uses), np.int64)
    composite = ((use_idx.astype(np.int64) * 8 + lead + 1) << 32) | bit_mat
    # one row per site and use, the uses of a site in their ranked order
    site_idx = np.repeat(np.arange(n), n_uses)
    flat_pos = pos.reshape(-1)
    sort = np.lexsort((flat_pos, site_idx))
    use_names = np.tile(np.array(USES, dtype=object), n)[sort]
    ok_flat = ok.reshape(-1)[sort]
    rank_flat = rank.reshape(-1)[sort]
    frame = pd.DataFrame(
        {
            "site_id": sites["site_id"].to_numpy(dtype=object)[site_idx[sort]],
            "use": use_names,
            "status": np.where(ok_flat, "suitable", "excluded"),
            "rank": pd.array(np.where(ok_flat, rank_flat, 0), dtype="Int64"),
            "rule_codes": _decode_codes(composite.reshape(-1)[sort], code_names, leads),
        }
    )
    frame.loc[~ok_flat, "rank"] = pd.NA
    return frame


def _decode_codes(
    composite: np.ndarray, code_names: dict[str, list[str]], leads: list[str]
) -> list[list[str]]:
    """Rule-code lists from (use, leading code, bit set) keys; every row gets its own list."""
    inverse, uniques = pd.factorize(composite)
    decoded = []
    for key in uniques.tolist():
        use = USES[(key >> 32) // 8]
        lead = (key >> 32) % 8 - 1
        names = code_names[use]
        codes = [leads[lead]] if lead >= 0 else []
        codes += [names[j] for j in range(len(names)) if key >> j & 1]
        if use == "leave_as_is":
            codes.append("SUIT-LEAVE")
        decoded.append(codes)
    return [list(decoded[i]) for i in inverse]


def _front(
    order: list[str], first: list[str], code: str, promoted: dict[str, str]
) -> tuple[list[str], dict[str, str]]:
    head = [u for u in first if u in order]
    new = {**promoted, **{u: code for u in head}}
    return head + [u for u in order if u not in head], new


def _soil_hard(row: pd.Series | None) -> bool:
    """Whether thin soil excludes the use (True) or is made up with cover soil (False)."""
    if row is None or "soil_limit" not in row.index or pd.isna(row["soil_limit"]):
        return True
    return str(row["soil_limit"]) == "hard"


def _limit(row: pd.Series | None, key: str) -> float:
    if row is None or key not in row.index or row[key] is None or pd.isna(row[key]):
        return float("nan")
    return float(row[key])


def _pollution(sites: pd.DataFrame) -> np.ndarray:
    if "pollution_class" not in sites.columns:
        return np.full(len(sites), "", dtype=object)
    out = np.full(len(sites), "", dtype=object)
    for i, v in enumerate(sites["pollution_class"].to_numpy(dtype=object)):
        if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA or v == "":
            continue
        if v not in POLLUTION_CLASSES:
            raise InputError(
                f"{v!r} is not a pollution class ({', '.join(POLLUTION_CLASSES)})",
                row=i + 1,
                field="pollution_class",
            )
        out[i] = v
    return out


def best_uses(assessed: pd.DataFrame) -> pd.DataFrame:
    """The first-ranked use of each site with its rule codes (from :func:`assess_sites`)."""
    first = assessed[assessed["rank"] == 1]
    return first[["site_id", "use", "rule_codes"]].reset_index(drop=True)
