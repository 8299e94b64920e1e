"""The appraisal pipeline: a project through every stage into one document, ``appraisal.json``.

The stages (:mod:`restora.appraisal.stages`) run in order, each from the project and the typed
results of the stages before it: diagnosis → plan → cost → revenue → value → cash flows →
financing → risk → modes. :func:`run_appraisal` returns an :class:`AppraisalResult` holding
every stage's result (pvlib's ModelChain/ModelChainResult is the model); its
:meth:`~AppraisalResult.document` is ``appraisal.json`` (docs/appraisal.md). A stage without the
inputs it needs is "not assessed", with the reason; nothing is estimated the inputs do not
support.

The county is diagnosed once (:func:`restora.diagnosis.county.diagnose_county`) and shared by
all the projects of a run.

Conventions
-----------
Period 0 of the cash flows is the project's ``start_year``; each flow falls at the end of its
period; money is nominal CNY (costs escalated from their price year by the costing
assumptions). Financing instruments count their year 1 as period 1.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any

from restora import __version__
from restora.appraisal.project import ProjectSpec, with_defaults
from restora.appraisal.stages import (
    cashflow,
    cost,
    diagnosis,
    financing,
    modes,
    plan,
    revenue,
    risk,
    value,
)
from restora.appraisal.stages.base import StageResult, sha256_of, unique_tables
from restora.diagnosis.county import CountyDiagnosis
from restora.inventory.model import Register

SCHEMA = "restora.appraisal/1"
#: The stages in the order they run.
STAGES = ("diagnosis", "plan", "cost", "revenue", "value", "cashflow", "financing", "risk", "modes")

Progress = Callable[[str], None]
"""Called with a stage's name as it starts (e.g. to advance a progress bar)."""


@dataclass(frozen=True)
class AppraisalResult:
    """Every stage's result of one appraisal, in the order they ran."""

    spec: ProjectSpec
    region: str | None
    on: str
    rates: dict[str, Any]
    diagnosis: diagnosis.DiagnosisResult
    plan: plan.PlanResult
    cost: cost.CostResult
    revenue: revenue.RevenueResult
    value: value.ValueResult
    cashflow: cashflow.CashflowResult
    financing: financing.FinancingResult
    risk: risk.RiskResult
    modes: modes.ModesResult

    @property
    def stages(self) -> list[StageResult]:
        """The stage results in the order they ran."""
        return [getattr(self, f.name) for f in fields(self) if f.name in STAGES]

    def _rates_table(self) -> list[dict[str, Any]]:
        return [self.rates["table"]] if "table" in self.rates else []

    def not_assessed(self) -> dict[str, str]:
        """``{stage: reason}`` of what could not be assessed (GEP included)."""
        out = {s.name: str(s.reason) for s in self.stages if not s.assessed}
        if self.value.assessed and self.value.gep.status != "assessed":
            out["gep"] = str(self.value.gep.reason)
        return out

    def document(
        self,
        register: Register,
        *,
        project_input: dict[str, Any] | None = None,
        county_inputs: list[dict[str, Any]] | None = None,
        notes: list[str] | None = None,
        map_data: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """``appraisal.json`` (see docs/appraisal.md)."""
        spec = self.spec
        stage_json = {s.name: s.to_json() for s in self.stages}
        names = dict(zip(register.mines["mine_id"], register.mines["name"], strict=True))
        return {
            "schema": SCHEMA,
            "restora_version": __version__,
            "on": self.on,
            "project": {
                "project_id": spec.project_id,
                "name": spec.name,
                "name_en": spec.name_en,
                "mines": list(spec.mines),
                "mine_names": {m: str(names[m]) for m in spec.mines if m in names},
                "region_code": self.region,
                "start_year": spec.start_year,
                "horizon_years": spec.horizon_years,
                "rates": {k: v for k, v in self.rates.items() if k != "table"},
                "note": spec.note,
                "fictional": spec.fictional,
            },
            "inputs": {
                "project": project_input,
                "county": county_inputs or [],
                "plans": [
                    {"mine_id": p.mine_id, "plan_sha256": self.plan.plan_sha256(p)}
                    for p in self.plan.plans
                ],
                "spec_sha256": sha256_of(spec.model_dump(mode="json")),
            },
            "notes": [*(notes or []), *self.diagnosis.notes],
            "not_assessed": self.not_assessed(),
            "stages": stage_json,
            "map": map_data,
            "rule_codes": sorted({c for s in self.stages for c in s.rule_codes}),
            "reference_tables": [
                dict(t)
                for t in unique_tables(
                    [*(t for s in self.stages for t in s.tables), *self._rates_table()]
                )
            ],
        }


def run_appraisal(
    spec: ProjectSpec,
    register: Register,
    county: CountyDiagnosis,
    *,
    file: str | None = None,
    on: dt.date | str | None = None,
    progress: Progress | None = None,
) -> AppraisalResult:
    """Run every stage of one project.

    Parameters
    ----------
    spec : ProjectSpec
        The project.
    register : Register
        The county's register (the project's mines must be in it).
    county : CountyDiagnosis
        The register diagnosed once (shared by the projects of a run).
    file : str, optional
        The project file, for error messages.
    on : date or str, optional
        Date whose reference tables apply (default today).
    progress : callable, optional
        Called with each stage's name as it starts.

    Returns
    -------
    AppraisalResult
    """
    step = progress or (lambda name: None)
    region = str(register.mines["region_code"].iloc[0]) if len(register.mines) else None
    spec, rates = with_defaults(spec, on=on, region=region)
    step("diagnosis")
    diag = diagnosis.run(spec, register, county, file=file, on=on, region=region)
    step("plan")
    pln = plan.run(spec, register, county, diag, on=on, region=region)
    step("cost")
    cst = cost.run(spec, pln, on=on)
    step("revenue")
    rev = revenue.run(spec, file=file, on=on)
    step("value")
    val = value.run(spec, county, diag, pln, rev, on=on, region=region)
    step("cashflow")
    cf = cashflow.run(spec, cst, rev)
    step("financing")
    fin = financing.run(spec, cst, rev, cf, file=file)
    step("risk")
    rsk = risk.run(spec, cst, cf, fin, file=file, on=on)
    step("modes")
    mds = modes.run(spec, register, county, diag, pln, val, cf, on=on, region=region)
    return AppraisalResult(
        spec=spec,
        region=region,
        on=str(on or dt.date.today().isoformat()),
        rates=rates,
        diagnosis=diag,
        plan=pln,
        cost=cst,
        revenue=rev,
        value=val,
        cashflow=cf,
        financing=fin,
        risk=rsk,
        modes=mds,
    )


def appraise(
    spec: ProjectSpec,
    register: Register,
    county: CountyDiagnosis,
    *,
    project_input: dict[str, Any] | None = None,
    county_inputs: list[dict[str, Any]] | None = None,
    notes: list[str] | None = None,
    map_data: dict[str, Any] | None = None,
    on: dt.date | str | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Run every stage and assemble ``appraisal.json``.

    Parameters
    ----------
    spec, register, county, on, progress
        As :func:`run_appraisal`.
    project_input, county_inputs : dict, list of dict, optional
        ``{"file", "sha256"}`` of the project file and of the county's files.
    notes : list of str, optional
        Caveats from reading the inputs (skipped rows …).
    map_data : dict, optional
        Geometries for the map (:func:`restora.appraisal.mapdata.map_data`).

    Returns
    -------
    dict
        The JSON document (see docs/appraisal.md).
    """
    result = run_appraisal(
        spec,
        register,
        county,
        file=(project_input or {}).get("file"),
        on=on,
        progress=progress,
    )
    return result.document(
        register,
        project_input=project_input,
        county_inputs=county_inputs,
        notes=notes,
        map_data=map_data,
    )
