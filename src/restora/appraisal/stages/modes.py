"""Stage 9 — modes: the value-realization mode of each mine and the IAD evaluation.

Each mine's profile is derived from the county diagnosis (:mod:`restora.modes.derive`) and
scored by the mode rules (:mod:`restora.modes.recommend`); the IAD criteria
(:mod:`restora.modes.iad`) are computed from this appraisal's own figures.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from restora.appraisal.project import ProjectSpec
from restora.appraisal.stages.base import StageResult, unique_tables
from restora.appraisal.stages.cashflow import CashflowResult
from restora.appraisal.stages.diagnosis import DiagnosisResult
from restora.appraisal.stages.plan import PlanResult
from restora.appraisal.stages.value import ValueResult
from restora.diagnosis.county import CountyDiagnosis
from restora.inventory.model import Register
from restora.modes import compare, load_rules, recommend
from restora.modes.derive import derive_from_diagnosis


@dataclass(frozen=True, kw_only=True)
class ModesResult(StageResult):
    """Modes recommended per mine and the IAD evaluation of the project.

    Attributes
    ----------
    mines : tuple of mapping
        Per mine: scores [1], primary mode, sequence, reasons (rule codes), derived profile.
    iad : mapping
        ``{mode: evaluation}`` with each criterion's value and reason (:func:`restora.modes.iad.compare`).
    figures : mapping
        The appraisal's figures the criteria used (hazard points [1], cash flows [CNY],
        IRR [1/yr], payback [yr], GEP [CNY/yr]).
    figure_notes : mapping
        How a figure was obtained where it is not a measurement.
    """

    name = "modes"

    mines: tuple[Mapping[str, Any], ...]
    iad: Mapping[str, Any]
    figures: Mapping[str, Any]
    figure_notes: Mapping[str, str] = field(default_factory=dict)

    def primary_mode(self, mine_id: str) -> str | None:
        return next((m["primary_mode"] for m in self.mines if m["mine_id"] == mine_id), None)

    def section(self) -> dict[str, Any]:
        return {
            "mines": [dict(m) for m in self.mines],
            "iad": dict(self.iad),
            "figures": dict(self.figures),
            "figure_notes": dict(self.figure_notes),
        }


def run(
    spec: ProjectSpec,
    register: Register,
    county: CountyDiagnosis,
    diagnosis: DiagnosisResult,
    plan: PlanResult,
    value: ValueResult,
    cashflow: CashflowResult,
    *,
    on: dt.date | str | None = None,
    region: str | None = None,
) -> ModesResult:
    """Recommended value-realization mode of each mine, and the IAD evaluation of the project.

    The IAD figures come from this appraisal: hazard points (registered hazards of the
    project's mines), hazard points with treatment works in the plan (planned, to be verified:
    noted in ``figure_notes``), the cash flows, IRR, payback and, when assessed, GEP before and
    after basic restoration; the project file's ``modes.figures`` add or override figures.

    Parameters
    ----------
    spec : ProjectSpec
        ``modes``: optional ``context`` and ``figures``.
    register, county, diagnosis, plan, value, cashflow
        The register and the earlier stages.
    on, region : optional
        Date and region code of the reference tables.

    Returns
    -------
    ModesResult
    """
    user = spec.modes or {}
    rules = load_rules(on=on, region=region)
    tables: list[Any] = (
        [*rules.provenance] if isinstance(rules.provenance, list) else [rules.provenance]
    )
    mines = []
    codes: set[str] = set()
    for mid in diagnosis.mines:
        prof = derive_from_diagnosis(
            register, mid, county, user.get("context"), on=on, region=region
        )
        rec = recommend(prof.profile, rules)
        mines.append({"mine_id": mid, **rec.as_dict(), "profile": prof.as_dict()})
        codes.update(rec.rule_codes)
        tables += list(prof.tables)
    hazard_ids = (
        set(diagnosis.hazards["hazard_id"].astype(str)) if len(diagnosis.hazards) else set()
    )
    treated = {w.hazard_id for p in plan.plans for _, w in p.works() if w.hazard_id in hazard_ids}
    figures: dict[str, Any] = {
        "hazard_points_total": len(hazard_ids),
        "cash_flows": cashflow.project_flow.tolist(),
        "hazard_points_eliminated": len(treated),
    }
    notes = {
        "hazard_points_eliminated": "hazards with treatment works in the plan (planned, to be "
        "verified on completion)"
    }
    if cashflow.irr is not None:
        figures["irr"] = cashflow.irr
    if cashflow.payback_years is not None:
        figures["payback_years"] = cashflow.payback_years
    if value.gep.status == "assessed":
        figures["gep_before"] = value.gep.before_cny_per_yr
        figures["gep_after"] = value.gep.after_cny_per_yr
        # GEP before = now; after = once vegetation has established (valuation ramps)
        if value.gep_maturity_years is not None:
            figures["gep_years"] = value.gep_maturity_years
        if value.gep_by_year is not None:
            figures["gep_series"] = value.gep_by_year.tolist()
    figures.update(user.get("figures", {}))
    evals = compare(figures, on=on, region=region)
    return ModesResult(
        method="mode rules of Wang et al. (2026) scored on each mine's derived profile "
        "(modes/rules); IAD evaluation with criteria computed from this appraisal",
        mines=tuple(mines),
        iad={k: v.as_dict() for k, v in evals.items()},
        figures=figures,
        figure_notes=notes,
        rule_codes=tuple(sorted(codes)),
        tables=unique_tables(tables),
    )
