"""A mine's page: the record, its rank, the diagnosis of its sites (GB 15618-2018 soil classes,
land suitability), the pollution-gradient zones, the geohazards (DZ/T 0286-2015 grades) and its
ecosystem-service value before and after restoration (Xie et al. 2015 equivalent factors).

The figures are the appraisal's own stages run on this one mine — :func:`diagnosis.run`,
:func:`plan.run` and :func:`value.run` of :mod:`restora.appraisal.stages` over the county
diagnosed once (:func:`restora.diagnosis.county.diagnose_county`, cached per state of the
register) — with the default plan of each site's best after-use and no project revenue; a
project's appraisal (its page) is the figure of record.
"""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import sqlalchemy as sa
from fastapi import Request

from restora.service.problems import Problem
from restora.service.security import Principal, check_region
from restora.service.web.geo import _plain, _state
from restora.store import platform_tables as PT
from restora.store.tables import hazards as HAZARDS
from restora.store.tables import mines as MINES
from restora.store.tables import samples as SAMPLES
from restora.store.tables import sites as SITES

_lock = threading.Lock()
_county: dict[tuple[Any, ...], Any] = {}
_mines: dict[tuple[Any, ...], dict[str, Any]] = {}


def _county_diagnosis(request: Request) -> tuple[tuple[Any, ...], Any, Any]:
    """``(key, register, CountyDiagnosis)`` of the app's store (cached per register state)."""
    from restora.diagnosis.county import diagnose_county

    store = request.app.state.store
    key = (str(store.engine.url), _state(store.engine))
    with _lock:
        hit = _county.get(key)
        if hit is None:
            register = store.load_register()
            # no context layers, as the platform's ranking (service.ranking) and the appraisal
            # job (service.tasks.appraisal): the mine's rank here is the one the API gives
            hit = (register, diagnose_county(register, {}))
            _county.clear()
            _mines.clear()
            _county[key] = hit
    return key, hit[0], hit[1]


def mine_stages(request: Request, mine_id: str, name: str, region: str) -> dict[str, Any]:
    """Diagnosis, zones, hazards and ESV of one mine (the appraisal's stages, cached)."""
    from restora.appraisal.pipeline import with_defaults
    from restora.appraisal.project import ProjectSpec
    from restora.appraisal.stages import diagnosis, plan, revenue, value

    key, register, county = _county_diagnosis(request)
    with _lock:
        hit = _mines.get((*key, mine_id))
    if hit is not None:
        return hit
    spec = ProjectSpec.model_validate(
        {
            "project_id": mine_id,
            "name": name,
            "mines": [mine_id],
            "start_year": dt.date.today().year,
        }
    )
    spec, _rates = with_defaults(spec, region=region)
    diag = diagnosis.run(spec, register, county, region=region)
    pln = plan.run(spec, register, county, diag, region=region)
    rev = revenue.run(spec)
    val = value.run(spec, county, diag, pln, rev, region=region)
    d = diag.to_json()
    v = val.to_json()
    out = {
        "mine": (d.get("mines") or [{}])[0],
        "sites": d.get("sites", []),
        "zones": d.get("zones", []),
        "hazards": d.get("hazards", []),
        "sample_classes": d.get("sample_classes", {}),
        "pollution_source": d.get("pollution_source"),
        "esv": v.get("esv") or {},
        "value_method": v.get("method"),
        "diagnosis_method": d.get("method"),
    }
    with _lock:
        _mines[(*key, mine_id)] = out
    return out


SERVICES = (
    "food_production",
    "raw_materials",
    "water_supply",
    "gas_regulation",
    "climate_regulation",
    "environmental_purification",
    "hydrological_regulation",
    "soil_conservation",
    "nutrient_cycling",
    "biodiversity",
    "aesthetic_landscape",
)


def mine_context(request: Request, who: Principal, mine_id: str) -> dict[str, Any]:
    """Everything the mine page shows (404 outside the caller's scope)."""
    engine = request.app.state.store.engine
    with engine.connect() as conn:
        conn.execution_options(restora_read_only=True)
        row = conn.execute(
            sa.select(MINES).where(MINES.c.mine_id == mine_id, MINES.c.deleted_at.is_(None))
        ).first()
        if row is None:
            raise Problem(404, f"no mine {mine_id!r}", kind="not-found")
        check_region(who, row.region_code, write=False)
        sites = conn.execute(
            sa.select(SITES.c.site_id, SITES.c.kind, SITES.c.area_hm2, SITES.c.slope_deg)
            .where(SITES.c.mine_id == mine_id, SITES.c.deleted_at.is_(None))
            .order_by(SITES.c.site_id)
        ).all()
        n_samples = conn.execute(
            sa.select(sa.func.count()).where(
                SAMPLES.c.mine_id == mine_id, SAMPLES.c.deleted_at.is_(None)
            )
        ).scalar_one()
        n_hazards = conn.execute(
            sa.select(sa.func.count()).where(
                HAZARDS.c.mine_id == mine_id, HAZARDS.c.deleted_at.is_(None)
            )
        ).scalar_one()
        projects = [
            dict(r._mapping)
            for r in conn.execute(
                sa.select(PT.projects.c.project_id, PT.projects.c.name, PT.projects.c.spec)
                .where(PT.projects.c.deleted_at.is_(None))
                .order_by(PT.projects.c.project_id)
            ).all()
            if mine_id in ((r.spec or {}).get("mines") or [])
        ]
    from restora.service.ranking import priorities

    mine = dict(row._mapping)
    priority = priorities(request).get(mine_id)
    stages = mine_stages(request, mine_id, mine["name"], str(mine["region_code"]))
    esv = stages["esv"]
    before = esv.get("by_service_before") or {}
    after = esv.get("by_service_after") or {}
    chart = {
        "services": [s for s in SERVICES if s in before or s in after],
        "before": [_plain(before.get(s)) for s in SERVICES if s in before or s in after],
        "after": [_plain(after.get(s)) for s in SERVICES if s in before or s in after],
    }
    zones = [
        {**z, "site_id": site["site_id"]}
        for site in stages["zones"]
        for z in (site.get("zones") or [])
    ]
    return {
        "mine": mine,
        "rank": stages["mine"],
        "priority_class": priority.priority_class if priority else None,
        "site_rows": [dict(s._mapping) for s in sites],
        "diag_sites": {s["site_id"]: s for s in stages["sites"]},
        "zones": zones,
        "hazards": stages["hazards"],
        "sample_classes": stages["sample_classes"],
        "n_samples": n_samples,
        "n_hazards": n_hazards,
        "esv": esv,
        "esv_chart": chart,
        "methods": {
            "diagnosis": stages["diagnosis_method"],
            "value": stages["value_method"],
            "pollution": stages["pollution_source"],
        },
        "projects": [{"project_id": p["project_id"], "name": p["name"]} for p in projects],
    }
