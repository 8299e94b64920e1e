"""Build a mine's mode profile from the register and its diagnosis, saying where each field came from.

Sources, in order of precedence: ``context`` (what the user states: market, social capital,
rights, red line …), the diagnosis (hazard grade, soil class, location, suitability), the
register (mineral, areas, water, responsible party, landscape value), and last the defaults of
table ``modes/profile-derivation`` — every defaulted field is listed, so a reader knows which
parts of the recommendation rest on assumptions.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from restora import refdata
from restora.diagnosis import hazard
from restora.diagnosis.county import CountyDiagnosis
from restora.errors import InputError
from restora.inventory.model import Register
from restora.inventory.schema import ABSENT
from restora.modes.profile import MineProfile, parse_profile, profile_fields

DERIVATION_TABLE = "modes/profile-derivation"


@dataclass(frozen=True)
class DerivedProfile:
    """A profile with the source of each field (``context``, ``register``, ``diagnosis:…``,
    ``default``) and the reference tables used."""

    profile: MineProfile
    sources: dict[str, str]
    tables: tuple[dict[str, Any], ...]

    @property
    def defaults(self) -> list[str]:
        """The fields that came from defaults."""
        return [k for k, v in self.sources.items() if v == "default"]

    def as_dict(self) -> dict[str, Any]:
        return {
            "profile": self.profile.model_dump(),
            "sources": dict(self.sources),
            "defaults": self.defaults,
            "tables": list(self.tables),
        }


def _row(frame: pd.DataFrame | None, mine_id: str, name: str) -> dict[str, Any] | None:
    if frame is None or not len(frame):
        return None
    if "mine_id" not in frame.columns:
        raise InputError(f"the {name} table has no column 'mine_id'", field="mine_id")
    rows = frame.loc[frame["mine_id"].astype(str) == str(mine_id)]
    return None if rows.empty else dict(rows.iloc[0])


def _finite(v: Any) -> bool:
    try:
        return v is not None and math.isfinite(float(v))
    except (TypeError, ValueError):
        return False


def transport_access(distance_to_road_m: float, bands: Sequence[Mapping[str, Any]]) -> str:
    """Road access class from the distance to the nearest road [m] (first band with max_m ≥ d)."""
    for band in bands:
        if distance_to_road_m <= float(band["max_m"]):
            return str(band["access"])
    return str(bands[-1]["access"])


def derive_profile(
    register: Register,
    mine_id: str,
    *,
    hazard_grades: pd.DataFrame | None = None,
    pollution: pd.DataFrame | None = None,
    location: pd.DataFrame | None = None,
    best_uses: pd.DataFrame | None = None,
    site_flags: pd.DataFrame | None = None,
    context: Mapping[str, Any] | None = None,
    on: dt.date | str | None = None,
    region: str | None = None,
) -> DerivedProfile:
    """A mine's mode profile from the register, its diagnosis and the user's context.

    Parameters
    ----------
    register : Register
        The legacy-mine register (sites with ``kind``, ``area_hm2`` [hm²], ``water``; hazards).
    mine_id : str
        The mine.
    hazard_grades : DataFrame, optional
        ``mine_id``, ``grade`` (from :func:`restora.diagnosis.hazard.grade_mines`); default: grade
        the register's hazards of the mine with the hazard tables in force on ``on``.
    pollution : DataFrame, optional
        ``mine_id``, ``pollution_class`` (worst GB 15618 class of the mine's samples; an
        ``indeterminate`` class is profiled as ``pollution_class_max``, the worst class it may
        be, or strict control when that is not given).
    location : DataFrame, optional
        ``mine_id``, ``distance_to_town_m`` [m], ``distance_to_road_m`` [m], ``population_10km``
        [person] (from :mod:`restora.diagnosis.location`).
    best_uses : DataFrame, optional
        ``site_id``, ``use`` (from :func:`restora.diagnosis.suitability.best_uses`).
    site_flags : DataFrame, optional
        ``site_id``, ``in_ecological_redline`` (bool; from
        :func:`restora.diagnosis.county.site_context`).
    context : mapping, optional
        Profile fields stated by the user; they override everything else.
    on : date or ISO string, optional
        Date whose reference tables apply [date].
    region : str, optional
        6-digit GB/T 2260 code for regional tables.

    Returns
    -------
    DerivedProfile

    Raises
    ------
    InputError
        Unknown mine, or a context / derived field that is not valid (named).

    Notes
    -----
    area_hm2 = Σ area of the mine's sites; water_area_hm2 = Σ area of its sites with water;
    construction_land_potential_hm2 (farmland_potential_hm2) = Σ area of its sites whose best
    use is in ``construction_uses`` (``farmland_uses``); distance_to_city_km = distance_to_town_m
    / 1000; transport_access from distance_to_road_m by the table's bands; pollution from the
    worst soil class by the table's mapping.
    """
    table = refdata.get(DERIVATION_TABLE, on=on, region=region)
    spec = table.data
    tables = [table.provenance()]
    try:
        mine = register.mine(mine_id)
    except KeyError:
        raise InputError(f"no mine {mine_id!r} in the register", field="mine_id") from None
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}

    def put(key: str, value: Any, source: str) -> None:
        values[key] = value
        sources[key] = source

    put("mineral", mine.mineral, "register")
    put(
        "responsible_party", "absent" if mine.responsible_party == ABSENT else "present", "register"
    )
    if mine.landscape_value is not None:
        put("landscape_cultural_value", mine.landscape_value, "register")

    sites = register.sites.loc[register.sites["mine_id"].astype(str) == str(mine_id)]
    area = pd.to_numeric(sites.get("area_hm2"), errors="coerce").fillna(0.0).astype(float)
    put("area_hm2", float(area.sum()), "register")
    water = sites["water"].fillna(False).astype(bool) if "water" in sites.columns else None
    put("water_area_hm2", float(area[water].sum()) if water is not None else 0.0, "register")

    grades = hazard_grades
    if grades is None:
        hz = register.hazards.loc[register.hazards["mine_id"].astype(str) == str(mine_id)]
        htables = hazard.load_tables(on=on, region=region)
        graded = hazard.grade_hazards(hz.reset_index(drop=True), htables)
        grades = hazard.grade_mines(graded, [mine_id])
        tables.extend(htables.provenance)
    g = _row(grades, mine_id, "hazard grades")
    if g is not None:
        put("geohazard_risk", str(g["grade"]), "diagnosis:hazard")

    p = _row(pollution, mine_id, "pollution")
    if p is not None and isinstance(p.get("pollution_class"), str):
        mapping = spec["pollution_from_soil_class"]
        soil_class, source = p["pollution_class"], "diagnosis:soil"
        if soil_class == "indeterminate":
            # a <DL above the screening value leaves the class open: profile the worst it may be
            worst = p.get("pollution_class_max")
            soil_class = worst if isinstance(worst, str) else "strict_control"
            source = "diagnosis:soil (indeterminate: worst class it may be)"
        if soil_class not in mapping:
            raise InputError(
                f"{soil_class!r} is not a soil class ({sorted(mapping)})",
                field="pollution_class",
            )
        put("pollution", mapping[soil_class], source)

    loc = _row(location, mine_id, "location")
    if loc is not None:
        if _finite(loc.get("distance_to_town_m")):
            put(
                "distance_to_city_km",
                float(loc["distance_to_town_m"]) / 1000.0,
                "diagnosis:location",
            )
        if _finite(loc.get("population_10km")):
            put("population_within_10km", float(loc["population_10km"]), "diagnosis:location")
        if _finite(loc.get("distance_to_road_m")):
            access = transport_access(
                float(loc["distance_to_road_m"]), spec["transport_from_road_distance_m"]
            )
            put("transport_access", access, "diagnosis:location")

    if best_uses is not None and len(sites):
        use_of = dict(zip(best_uses["site_id"].astype(str), best_uses["use"], strict=True))
        site_use = sites["site_id"].astype(str).map(use_of)
        for key, uses in (
            ("construction_land_potential_hm2", spec["construction_uses"]),
            ("farmland_potential_hm2", spec["farmland_uses"]),
        ):
            put(
                key,
                float(area[site_use.isin(list(uses)).to_numpy()].sum()),
                "diagnosis:suitability",
            )

    if site_flags is not None and "in_ecological_redline" in site_flags.columns and len(sites):
        flags = site_flags.loc[
            site_flags["site_id"].astype(str).isin(sites["site_id"].astype(str))
        ]["in_ecological_redline"]
        if len(flags) and flags.notna().all():
            put("ecological_redline_overlap", bool(flags.astype(bool).any()), "diagnosis:zones")

    for key, value in (context or {}).items():
        put(key, value, "context")
    for key in profile_fields():
        if key not in values and key in spec["defaults"]:
            put(key, spec["defaults"][key], "default")
    values.setdefault("mine_id", str(mine_id))
    values.setdefault("name", mine.name)
    profile = parse_profile(values, file=f"profile of mine {mine_id}")
    ordered = {k: sources[k] for k in profile_fields() if k in sources}
    return DerivedProfile(profile=profile, sources=ordered, tables=tuple(tables))


def derive_from_diagnosis(
    register: Register,
    mine_id: str,
    diagnosis: CountyDiagnosis,
    context: Mapping[str, Any] | None = None,
    *,
    on: dt.date | str | None = None,
    region: str | None = None,
) -> DerivedProfile:
    """A mine's profile from a whole-register diagnosis (:func:`restora.diagnosis.county.diagnose_county`).

    Parameters
    ----------
    register : Register
        The register that was diagnosed.
    mine_id : str
        The mine.
    diagnosis : CountyDiagnosis
        Hazard grades, pollution classes, location [m, person], best uses, zone flags.
    context : mapping, optional
        Profile fields stated by the user (they override the derived ones).
    on, region
        Date [date] and 6-digit region code of the reference tables.

    Returns
    -------
    DerivedProfile
    """
    best = pd.DataFrame(
        {"site_id": list(diagnosis.best_use), "use": list(diagnosis.best_use.values())}
    )
    derived = derive_profile(
        register,
        mine_id,
        hazard_grades=diagnosis.ranking.hazard_grades,
        pollution=diagnosis.ranking.pollution,
        location=diagnosis.ranking.location,
        best_uses=best,
        site_flags=diagnosis.site_inputs,
        context=context,
        on=on,
        region=region,
    )
    seen = {(str(t.get("name")), str(t.get("version"))) for t in derived.tables}
    extra = tuple(
        t for t in diagnosis.provenance if (str(t.get("name")), str(t.get("version"))) not in seen
    )
    return DerivedProfile(derived.profile, derived.sources, derived.tables + extra)
