"""``GET /api/v1/mines/{mine_id}/diagnosis``: the mine diagnosed as the CLI and the appraisal do.

Soil: each farmland sample against GB 15618-2018 (``diagnose soil --mine``: factors, indices,
classes; a result below a detection limit above the screening value leaves the class open,
``class_range``) and the class range of each sample with its open results
(:func:`restora.diagnosis.county.classify_samples`). Zones: the pollution-gradient treatment
zones of each site with samples (``diagnose zones``), each zone's polygon as GeoJSON lon/lat.
Hazards: each geohazard's DZ/T 0286-2015 danger grade and the mine's. Suitability: each site's
after-uses (TD/T 1036-2013 rules), best first. Computed on demand
(:mod:`restora.service.computed`).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from restora.service import computed
from restora.service.api.mines import MineId
from restora.service.db import StoreDep
from restora.service.security import Principal, authorize

router = APIRouter(prefix="/mines", tags=["diagnosis"])
CanRead = Annotated[Principal, Depends(authorize("diagnosis.read"))]
OnDate = Annotated[
    dt.date | None,
    Query(description="date whose reference tables apply (default today), YYYY-MM-DD"),
]


class SoilDiagnosis(BaseModel):
    standard: str = Field(description="gb15618 (farmland samples)")
    label: str
    samples: list[dict[str, Any]] = Field(
        description="per sample: sample_id, class, class_range, nemerow, nemerow_grade, "
        "factors {metal: value, screening, intervention [mg/kg], index, class, detection_limit "
        "[mg/kg], below_lod, rule}, messages, warnings"
    )
    classes: list[dict[str, Any]] = Field(
        description="per sample: pollution_class (indeterminate when open), "
        "pollution_class_min/max, open_metals, open_results (metal, detection_limit_mg_kg, "
        "screening_mg_kg, intervention_mg_kg, class_range, rule_code), rule_codes, messages"
    )
    notes: list[str]


class HazardDiagnosis(BaseModel):
    grade: str = Field(description="the mine's danger grade: high, medium, low or none")
    hazards: list[dict[str, Any]] = Field(
        description="per hazard: hazard_id, kind, scale, threat, threat_adjusted, grade, rule_codes"
    )
    rule_codes: list[str]


class UseOption(BaseModel):
    use: str
    rank: int = Field(description="1 = best [1]")
    rule_codes: list[str]


class UseExcluded(BaseModel):
    use: str
    rule_codes: list[str]


class SiteSuitability(BaseModel):
    site_id: str
    best_use: str | None
    options: list[UseOption]
    excluded: list[UseExcluded]
    pollution_class: str | None = None


class MineDiagnosis(BaseModel):
    """A mine's diagnosis."""

    mine_id: str
    region_code: str
    on: str = Field(description="date of the reference tables (ISO 8601)")
    soil: SoilDiagnosis
    zones: list[dict[str, Any]] = Field(
        description="per site with samples: method, cell_size_m [m], min_zone_area_m2 [m²], "
        "zones [{zone_id, zone_class, area_hm2 [hm²], standard_class, governing_metal, "
        "max_index, techniques, geometry (GeoJSON lon/lat)}], merges, warnings, tables_used"
    )
    hazards: HazardDiagnosis
    suitability: list[SiteSuitability]
    rule_codes: list[str]
    reference_tables: list[dict[str, Any]]


@router.get(
    "/{mine_id}/diagnosis",
    response_model=MineDiagnosis,
    summary="A mine's diagnosis: soil classes, zones, hazard grades, suitability",
)
def get_diagnosis(
    request: Request, mine_id: MineId, store: StoreDep, principal: CanRead, on: OnDate = None
) -> Any:
    register = computed.mine_register(store, principal, mine_id)
    day = on or dt.date.today()
    return computed.cached(
        request,
        ("diagnosis", mine_id, day),
        lambda: computed.diagnosis(register, mine_id, day),
    )
