"""The project file (``PROJECT.yaml``): which mines, when, and the project's own assumptions.

A project is one or several mines of the register appraised together. The file names the
mines and the project's own figures — its timing, its financial discount and hurdle rates,
its revenue streams (in the format of :func:`restora.revenue.build`), the financing
structures to test (:mod:`restora.finance.instruments`), the risk drivers and, optionally,
the biophysical inputs of GEP zones. Published coefficients never go here: they come from the
reference tables.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from restora import refdata

DEFAULTS_TABLE = "appraisal/project-defaults"


class FinancingItem(BaseModel):
    """One financing structure to test: an instrument and its inputs.

    A ``pledge-loan`` without ``rights`` pledges the project's unrestricted revenue streams;
    without ``cfads`` it is tested against the project's cash flow available for debt
    service. A ``special-bond`` project without ``revenue`` takes the project's unrestricted
    revenue.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    instrument: str = Field(min_length=1, description="performance-bond, pledge-loan, ...")
    inputs: dict[str, Any] = Field(default_factory=dict, description="the instrument's spec")


class DriverSpec(BaseModel):
    """A risk driver on a low / most-likely / high range ([1] multiplier or [yr] delay).

    A ``revenue`` driver names the revenue streams it scales (``streams``: the ``name`` of
    streams of the project file) and may be limited to some calendar ``years``; a ``capex``
    driver must say in ``covers`` what it adds to the costing Monte Carlo, which already draws
    unit costs and quantities (codes of ``finance/risk/capex-uncertainty-sources``:
    ``scope_change``, ``escalation_above_index``, ``force_majeure``).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1)
    target: Literal["capex", "opex", "revenue", "delay"]
    low: float
    mode: float
    high: float
    distribution: Literal["triangular", "pert"] = "triangular"
    streams: list[str] | None = Field(
        None, min_length=1, description="revenue streams it scales (their names)"
    )
    years: list[int] | None = Field(
        None, min_length=1, description="calendar years it applies to [yr] (default all)"
    )
    covers: list[str] | None = Field(
        None, min_length=1, description="what a capex driver adds beyond the costing Monte Carlo"
    )

    @model_validator(mode="after")
    def _order(self) -> DriverSpec:
        if not self.low <= self.mode <= self.high:
            raise ValueError("need low <= mode <= high")
        if self.target == "revenue" and not self.streams:
            raise ValueError(
                "a revenue driver names the revenue streams it scales (streams: [name, ...])"
            )
        if self.streams is not None and self.target != "revenue":
            raise ValueError("only a revenue driver names streams")
        if self.covers is not None and self.target != "capex":
            raise ValueError("only a capex driver says what it covers")
        if self.target == "capex" and not self.covers:
            raise ValueError(
                "a capex driver says what it adds to the costing Monte Carlo, which already "
                "draws unit costs and quantities (covers: [scope_change | "
                "escalation_above_index | force_majeure])"
            )
        return self


class RiskSpec(BaseModel):
    """Monte Carlo settings: the same draws price the cost and the cash-flow risk."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    draws: int = Field(10_000, ge=100, le=1_000_000, description="[1]")
    seed: int = Field(1, description="random seed (same seed, same result)")
    drivers: list[DriverSpec] = Field(default_factory=list)


class GepSpec(BaseModel):
    """GEP zones before and after restoration (rows of :class:`restora.valuation.gep.ZoneInput`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    before: list[dict[str, Any]] = Field(min_length=1)
    after: list[dict[str, Any]] = Field(min_length=1)
    input_price_year: int | None = None
    note: str = ""


class ProjectSpec(BaseModel):
    """A project to appraise (the validated content of ``PROJECT.yaml``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    project_id: str = Field(min_length=1)
    name: str = Field(min_length=1, description="project name (Chinese or English)")
    name_en: str | None = None
    mines: list[str] = Field(min_length=1, description="mine ids in the register")
    start_year: int = Field(ge=1990, le=2200, description="calendar year of period 0 [yr]")
    price_year: int | None = Field(None, description="price year of costs (default: library's)")
    horizon_years: int = Field(20, ge=1, le=100, description="periods after period 0 [yr]")
    post_closure_years: int | None = Field(None, ge=0, le=50, description="care [yr]")
    discount_rate: float | None = Field(
        None,
        ge=0,
        le=1,
        description="project discount rate [1/yr] (default: appraisal/project-defaults)",
    )
    hurdle_rate: float | None = Field(
        None,
        ge=0,
        le=1,
        description="hurdle rate of the IRR [1/yr] (default: appraisal/project-defaults)",
    )
    opex_cny_per_yr: float = Field(0.0, ge=0, description="operating cost after works [CNY/yr]")
    hazard_cost_cny_per_yr: float = Field(
        0.0, ge=0, description="annual cost of the hazards in the damaged state [CNY/yr]"
    )
    pollution_cost_cny_per_yr: float = Field(
        0.0, ge=0, description="annual cost of the pollution in the damaged state [CNY/yr]"
    )
    revenue_streams: list[dict[str, Any]] = Field(default_factory=list)
    financing: list[FinancingItem] = Field(default_factory=list)
    risk: RiskSpec = Field(default_factory=lambda: RiskSpec.model_validate({}))
    gep: GepSpec | None = None
    modes: dict[str, Any] | None = Field(None, description="inputs of the mode evaluation")
    note: str = ""
    fictional: bool = Field(
        False,
        description="the project's data are fictional (the demo): the report then says so on "
        "every page; a real project leaves it false",
    )

    @model_validator(mode="after")
    def _driver_streams(self) -> ProjectSpec:
        known = stream_names(self.revenue_streams)
        for i, d in enumerate(self.risk.drivers):
            for name in d.streams or ():
                if name not in known:
                    raise ValueError(
                        f"risk.drivers.{i}.streams: no revenue stream named {name!r} (the "
                        f"project's streams: {', '.join(repr(k) for k in known) or 'none'})"
                    )
            for y in d.years or ():
                if not self.start_year <= y <= self.start_year + self.horizon_years:
                    raise ValueError(
                        f"risk.drivers.{i}.years: {y} is outside the project's years "
                        f"{self.start_year}–{self.start_year + self.horizon_years}"
                    )
        return self

    @property
    def rates(self) -> tuple[float, float]:
        """``(discount_rate, hurdle_rate)`` [1/yr], once :func:`with_defaults` has set them."""
        if self.discount_rate is None or self.hurdle_rate is None:
            raise ValueError("rates not set: run restora.appraisal.project.with_defaults first")
        return self.discount_rate, self.hurdle_rate


def with_defaults(
    spec: ProjectSpec, *, on: dt.date | str | None = None, region: str | None = None
) -> tuple[ProjectSpec, dict[str, Any]]:
    """The project with its unset rates taken from ``appraisal/project-defaults``.

    Parameters
    ----------
    spec : ProjectSpec
        The project as read; ``discount_rate`` and ``hurdle_rate`` [1/yr] may be ``None``.
    on, region : optional
        Date and region code of the table.

    Returns
    -------
    spec : ProjectSpec
        Every rate set.
    rates : dict
        ``{"discount_rate": {"value", "source"}, "hurdle_rate": {...}}``: ``source`` is
        ``"project file"`` or the table's name and version, and the table's provenance under
        ``"table"`` when a default was used.
    """
    missing = [k for k in ("discount_rate", "hurdle_rate") if getattr(spec, k) is None]
    out: dict[str, Any] = {}
    table = refdata.get(DEFAULTS_TABLE, on=on, region=region) if missing else None
    for k in ("discount_rate", "hurdle_rate"):
        if k in missing and table is not None:
            out[k] = {"value": float(table.data[k]), "source": f"{table.name} {table.version}"}
        else:
            out[k] = {"value": float(getattr(spec, k)), "source": "project file"}
    if table is not None:
        out["table"] = table.provenance()
    resolved = spec.model_copy(update={k: out[k]["value"] for k in missing})
    return resolved, out


def stream_names(items: list[dict[str, Any]]) -> list[str]:
    """Names of the revenue streams of a project file (a stream's default name if it gives none)."""
    from restora.revenue import STREAMS

    out = []
    for it in items:
        if not isinstance(it, dict):
            continue
        if "name" in it:
            out.append(str(it["name"]))
        elif it.get("stream") in STREAMS:
            out.append(str(STREAMS[it["stream"]][0].model_fields["name"].default))
    return out
