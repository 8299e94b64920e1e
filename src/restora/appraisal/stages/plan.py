"""Stage 2 — plan: a first restoration plan of each mine from its diagnosis.

Each site's after-use is the diagnosis's first-ranked suitable use; hazards are treated by
grade and pollution zones by the technique that fits the after-use
(:func:`restora.planning.planner.make_plan`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from restora.appraisal.project import ProjectSpec
from restora.appraisal.stages.base import StageResult, sha256_of
from restora.appraisal.stages.diagnosis import DiagnosisResult
from restora.diagnosis.county import CountyDiagnosis
from restora.inventory.model import Register
from restora.planning.model import RestorationPlan


@dataclass(frozen=True, kw_only=True)
class PlanResult(StageResult):
    """The restoration plans of a project's mines.

    Attributes
    ----------
    plans : tuple of RestorationPlan
        One per mine (:func:`restora.planning.planner.make_plan`); quantities in the cost
        items' units, years as offsets from ``start_year``.
    price_year : int
        Price year of the cost estimate [yr].
    """

    name = "plan"

    plans: tuple[RestorationPlan, ...]
    price_year: int

    def plan_sha256(self, plan: RestorationPlan) -> str:
        """SHA-256 of a plan's document (:func:`restora.planning.io.plan_to_dict`)."""
        from restora.planning.io import plan_to_dict

        return sha256_of(plan_to_dict(plan))

    def section(self) -> dict[str, Any]:
        return {
            "plans": [_plan_json(p, self.plan_sha256(p)) for p in self.plans],
            "price_year": self.price_year,
        }


def _plan_json(p: RestorationPlan, sha: str) -> dict[str, Any]:
    return {
        "mine_id": p.mine_id,
        "start_year": p.start_year,
        "end_year": p.end_year,
        "price_year": p.price_year,
        "post_closure_years": p.post_closure_years,
        "after_use_hm2": p.after_use_hm2(),
        "sites": [
            {
                "site_id": s.site_id,
                "kind": s.kind,
                "area_hm2": s.area_hm2,
                "after_use": s.after_use,
                "works": len(s.works),
            }
            for s in p.sites
        ],
        "works": [
            {
                "site_id": sid,
                "item": w.item,
                "quantity": w.quantity,
                "unit": w.unit,
                "phase": w.phase,
                "start_year": w.start_year,
                "years": w.years,
                "hazard_id": w.hazard_id,
                "zone_id": w.zone_id,
                "zone_class": w.zone_class,
                "technique": w.technique,
                "note": w.note,
            }
            for sid, w in p.works()
        ],
        "rules": list(p.rules),
        "notes": list(p.notes),
        "plan_sha256": sha,
    }


def run(
    spec: ProjectSpec,
    register: Register,
    county: CountyDiagnosis,
    diagnosis: DiagnosisResult,
    *,
    on: dt.date | str | None = None,
    region: str | None = None,
) -> PlanResult:
    """Plan each mine of the project.

    Parameters
    ----------
    spec : ProjectSpec
        ``start_year`` [yr], ``price_year`` [yr] (default: the cost library's newest), and
        ``post_closure_years`` [yr] (default: the costing assumptions').
    register : Register
        The county's register.
    county : CountyDiagnosis
        Best uses per site.
    diagnosis : DiagnosisResult
        Hazard grades and pollution zones of the project's sites.
    on, region : optional
        Date and region code of the reference tables.

    Returns
    -------
    PlanResult
    """
    from restora.costing.lifecycle import load_assumptions
    from restora.costing.unitcosts import load_library
    from restora.planning.planner import load_tables, make_plan

    lib = load_library(on=on, region=region)
    price_year = spec.price_year or lib.newest_price_year
    care = (
        spec.post_closure_years
        if spec.post_closure_years is not None
        else load_assumptions(on=on, region=region).post_closure_years
    )
    tables = load_tables(on=on, region=region)
    plans = tuple(
        make_plan(
            register,
            mid,
            price_year=price_year,
            start_year=spec.start_year,
            post_closure_years=care,
            after_uses=county.best_use,
            zones=diagnosis.zones,
            hazard_grades=diagnosis.hazard_grades,
            units={k: u.unit for k, u in lib.items.items()},
            tables=tables,
            on=on,
        )
        for mid in diagnosis.mines
    )
    return PlanResult(
        method="planner templates by site kind (planning/site-works), revegetation by "
        "after-use (planning/revegetation), hazard treatment per registered hazard, "
        "monitoring programme (planning/monitoring)",
        plans=plans,
        price_year=price_year,
        rule_codes=tuple(sorted({r for p in plans for r in p.rules})),
        tables=tuple(tables.provenance),
    )
