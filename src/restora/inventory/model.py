"""The register's domain model (no I/O).

A :class:`Register` holds four pandas tables whose columns are those of
:mod:`restora.inventory.schema`: ``mines``, ``sites`` (with a ``geometry`` column of shapely
polygons in lon/lat, EPSG:4326, and ``area_hm2`` computed from it in an equal-area projection),
``samples`` (metals in mg/kg, one column per metal, and beside them the stated detection limit
of each ``<x`` result, :data:`DETECTION_LIMIT_COLUMNS`) and ``hazards``. Columnar tables keep a
national register of 100 000 mines fast; the pydantic records below are the single-mine view
used by the API and by the other domain packages.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Literal

import pandas as pd
import shapely
from pydantic import BaseModel, ConfigDict, Field, field_validator

from restora.inventory.schema import ABSENT, METALS, TABLES

Mineral = Literal["coal", "metal", "non_metal", "building_stone", "oil_gas"]
Status = Literal["producing", "closed", "abandoned"]
SiteKind = Literal[
    "open_pit", "waste_rock_dump", "tailings_pond", "subsidence_area", "industrial_yard", "road"
]
HazardKind = Literal["collapse", "landslide", "debris_flow", "subsidence", "ground_fissure"]
LandUse = Literal["paddy", "orchard", "other", "construction"]


def detection_limit_column(metal: str) -> str:
    """Register column of the stated detection limit of a metal's ``<x`` result [mg/kg].

    ``x`` of a result the lab wrote ``<x``; empty for a measured value, ``ND`` without a limit or
    a metal not measured. E.g. ``As_detection_limit``.
    """
    return f"{metal}_detection_limit"


#: ``{metal: detection-limit column}`` of the samples table, in the order of ``METALS``.
DETECTION_LIMIT_COLUMNS: dict[str, str] = {m: detection_limit_column(m) for m in METALS}

# GB/T 2260 province-level codes (first two digits of a 6-digit administrative code).
PROVINCE_PREFIXES = frozenset(
    [
        "11",
        "12",
        "13",
        "14",
        "15",
        "21",
        "22",
        "23",
        "31",
        "32",
        "33",
        "34",
        "35",
        "36",
        "37",
        "41",
        "42",
        "43",
        "44",
        "45",
        "46",
        "50",
        "51",
        "52",
        "53",
        "54",
        "61",
        "62",
        "63",
        "64",
        "65",
        "71",
        "81",
        "82",
    ]
)


def valid_region_code(code: str) -> bool:
    """True for a 6-digit GB/T 2260 code with a known province prefix."""
    return len(code) == 6 and code.isdigit() and code[:2] in PROVINCE_PREFIXES


class Mine(BaseModel):
    """A mine in the register."""

    model_config = ConfigDict(frozen=True)

    mine_id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    region_code: str = Field(description="6-digit GB/T 2260 administrative code")
    mineral: Mineral
    status: Status
    responsible_party: str = Field(ABSENT, description=f"responsible party, or '{ABSENT}' (无主)")
    closure_year: int | None = None
    landscape_value: Literal["low", "medium", "high"] | None = None

    @field_validator("region_code")
    @classmethod
    def _region(cls, v: str) -> str:
        if not valid_region_code(v):
            raise ValueError(f"{v!r} is not a 6-digit GB/T 2260 administrative code")
        return v

    @property
    def ownerless(self) -> bool:
        """True for a 无主 mine (no responsible party)."""
        return self.responsible_party == ABSENT


class Site(BaseModel):
    """A damaged site of a mine: its polygon (lon/lat) and area [hm²] from an equal-area projection."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    site_id: str
    mine_id: str
    kind: SiteKind
    geometry: Any = Field(
        description="shapely Polygon/MultiPolygon in EPSG:4326, or the Point of a site without "
        "boundary (a point register's centre point)"
    )
    area_hm2: float = Field(
        ge=0,
        description="[hm²] from the geometry, China Albers equal-area; the declared area for a "
        "site without boundary",
    )
    declared_area_hm2: float | None = Field(None, ge=0)
    slope_deg: float | None = Field(None, ge=0, le=90)
    water: bool = False
    water_depth_m: float | None = Field(None, ge=0)
    soil_thickness_m: float | None = Field(None, ge=0)

    @property
    def has_boundary(self) -> bool:
        """False for a site known only by its centre point and declared area (no polygon).

        See :func:`restora.inventory.geometry.has_boundary`.
        """
        g = self.geometry
        return (
            isinstance(g, shapely.Geometry)
            and shapely.get_type_id(g) in (3, 6)
            and not shapely.is_empty(g)
        )


class SoilSample(BaseModel):
    """A soil sample: point, depth [m], pH, land use, metals [mg/kg]."""

    model_config = ConfigDict(frozen=True)

    sample_id: str
    mine_id: str
    site_id: str | None = None
    lon: float | None = None
    lat: float | None = None
    depth_m: float | None = Field(None, ge=0)
    ph: float = Field(ge=0, le=14)
    land_use: LandUse
    metals_mg_per_kg: dict[str, float | None]
    detection_limits_mg_per_kg: dict[str, float | None] = Field(
        default_factory=dict,
        description="stated detection limit of each '<x' result [mg/kg] (None: not stated)",
    )
    lab: str | None = None
    sampled_on: dt.date | None = None
    qualifiers: str | None = None


class Hazard(BaseModel):
    """A geohazard: kind, scale [m³], people and property [CNY] threatened."""

    model_config = ConfigDict(frozen=True)

    hazard_id: str
    mine_id: str
    site_id: str | None = None
    kind: HazardKind
    volume_m3: float | None = Field(None, ge=0)
    people_threatened: int | None = Field(None, ge=0)
    property_threatened_cny: float | None = Field(None, ge=0)
    distance_to_buildings_m: float | None = Field(None, ge=0)
    lon: float | None = None
    lat: float | None = None


def _none(v: Any) -> Any:
    return (
        None
        if v is None or (isinstance(v, float) and pd.isna(v)) or v is pd.NaT or v is pd.NA
        else v
    )


def empty_table(table: str) -> pd.DataFrame:
    """An empty table with the register's columns for ``table``."""
    cols = [c.name for c in TABLES[table]]
    if table == "sites":
        cols += ["area_hm2", "geometry"]
    if table == "samples":
        cols += [*METALS, *DETECTION_LIMIT_COLUMNS.values()]
    return pd.DataFrame({c: pd.Series(dtype=object) for c in cols})


@dataclass(frozen=True)
class Register:
    """The legacy-mine register as four tables (see module docstring)."""

    mines: pd.DataFrame
    sites: pd.DataFrame
    samples: pd.DataFrame
    hazards: pd.DataFrame

    @classmethod
    def empty(cls) -> Register:
        return cls(*(empty_table(t) for t in ("mines", "sites", "samples", "hazards")))

    def mine(self, mine_id: str) -> Mine:
        row = self.mines.loc[self.mines["mine_id"] == mine_id]
        if row.empty:
            raise KeyError(mine_id)
        rec = {k: _none(v) for k, v in row.iloc[0].items()}
        if rec.get("responsible_party") is None:
            rec["responsible_party"] = ABSENT
        return Mine(**rec)

    def sites_of(self, mine_id: str) -> list[Site]:
        rows = self.sites.loc[self.sites["mine_id"] == mine_id]
        out = []
        for rec in rows.to_dict("records"):
            rec = {k: _none(v) for k, v in rec.items()}
            rec["water"] = bool(rec.get("water") or False)
            out.append(Site(**rec))
        return out

    def samples_of(self, mine_id: str) -> list[SoilSample]:
        rows = self.samples.loc[self.samples["mine_id"] == mine_id]
        out = []
        for rec in rows.to_dict("records"):
            rec = {k: _none(v) for k, v in rec.items()}
            metals = {m: rec.pop(m, None) for m in METALS}
            limits = {m: rec.pop(c, None) for m, c in DETECTION_LIMIT_COLUMNS.items()}
            out.append(
                SoilSample(**rec, metals_mg_per_kg=metals, detection_limits_mg_per_kg=limits)
            )
        return out

    def hazards_of(self, mine_id: str) -> list[Hazard]:
        rows = self.hazards.loc[self.hazards["mine_id"] == mine_id]
        return [Hazard(**{k: _none(v) for k, v in rec.items()}) for rec in rows.to_dict("records")]

    def summary(self) -> dict[str, Any]:
        """Counts and areas for a quick look at the register."""
        sites = self.sites
        area = (
            float(pd.to_numeric(sites.get("area_hm2"), errors="coerce").sum())
            if len(sites)
            else 0.0
        )
        by_mineral = (
            self.mines["mineral"].value_counts().sort_index().to_dict() if len(self.mines) else {}
        )
        by_kind = (
            sites.groupby("kind")["area_hm2"].sum().sort_index().round(2).to_dict()
            if len(sites)
            else {}
        )
        return {
            "mines": len(self.mines),
            "sites": len(sites),
            "samples": len(self.samples),
            "hazards": len(self.hazards),
            "damaged_area_hm2": round(area, 2),
            "damaged_area_mu": round(area * 15.0, 1),
            "ownerless_mines": int((self.mines.get("responsible_party") == ABSENT).sum())
            if len(self.mines)
            else 0,
            "mines_by_mineral": {str(k): int(v) for k, v in by_mineral.items()},
            "area_hm2_by_site_kind": {str(k): float(v) for k, v in by_kind.items()},
        }


def geometry_wkb(geoms: Any) -> list[bytes]:
    """WKB of each geometry (for storage and hashing)."""
    return list(shapely.to_wkb(geoms, output_dimension=2))
