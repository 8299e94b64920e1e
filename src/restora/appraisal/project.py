"""The project file (``PROJECT.yaml``): which mines, when, and the project's own assumptions.

A project is one or several mines of the register appraised together. The file names the
mines and the project's own figures — its timing, its financial discount and hurdle rates,
its revenue streams (in the format of :func:`restora.revenue.build`), the financing
structures to test (:mod:`restora.finance.instruments`), the risk drivers and, optionally,
the biophysical inputs of GEP zones. Published coefficients never go here: they come from the
reference tables.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


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
    """A risk driver on a low / most-likely / high range ([1] multiplier or [yr] delay)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1)
    target: Literal["capex", "opex", "revenue", "delay"]
    low: float
    mode: float
    high: float
    distribution: Literal["triangular", "pert"] = "triangular"

    @model_validator(mode="after")
    def _order(self) -> DriverSpec:
        if not self.low <= self.mode <= self.high:
            raise ValueError("need low <= mode <= high")
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
    discount_rate: float = Field(ge=0, le=1, description="project discount rate [1/yr]")
    hurdle_rate: float = Field(ge=0, le=1, description="equity hurdle rate [1/yr]")
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
