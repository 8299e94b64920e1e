"""The restoration plan: per site (and zone) the works, their quantities and the after-use.

A plan is a plain, editable document (YAML or JSON, see :mod:`restora.planning.io`). Each
:class:`Work` names a unit-cost item of the cost library (``costing/unit-costs``), a quantity
in the item's unit, the life-cycle phase it belongs to and when it happens (years after the
plan's start). Costing reads the plan; it never changes it.
"""

from __future__ import annotations

from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, model_validator

Phase = Literal[
    "survey_design",
    "closure_hazard",
    "basic_restoration",
    "pollution",
    "revegetation",
    "maintenance",
    "monitoring",
    "verification",
]
PHASES: tuple[str, ...] = get_args(Phase)
#: Phases that only indirect-cost lines fill (see ``costing/indirect/*`` tables).
INDIRECT_PHASES: tuple[str, ...] = ("contingency", "management")
ALL_PHASES: tuple[str, ...] = PHASES + INDIRECT_PHASES


class Work(BaseModel):
    """One work item: what, how much, in which phase, when.

    ``quantity`` is in the unit of the cost item (m³, m, m², hm², plant, sensor, ...). With
    ``per_year`` the quantity recurs in each of ``years`` years (e.g. irrigation of 3 hm² a
    year for 3 years); otherwise the quantity is spread evenly over the ``years``.
    ``quantity_low`` / ``quantity_high`` give the quantity's uncertainty range (default: the
    quantity itself, i.e. only the unit cost is uncertain).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    item: str = Field(min_length=1, description="unit-cost item key")
    quantity: float = Field(ge=0, description="[item unit] most-likely quantity")
    unit: str = Field(min_length=1, description="unit of the quantity; must match the item's")
    phase: Phase
    start_year: int = Field(0, ge=0, description="[yr] after the plan's start year")
    years: int = Field(1, ge=1, description="[yr] duration")
    per_year: bool = False
    quantity_low: float | None = Field(None, ge=0)
    quantity_high: float | None = Field(None, ge=0)
    hazard_id: str | None = Field(None, description="the registered hazard this work treats")
    zone_id: str | None = Field(None, description="the pollution zone of the site it treats")
    zone_class: str | None = Field(None, description="that zone's class (remediation/zone-classes)")
    technique: str | None = Field(None, description="remediation technique code (TECH-…)")
    note: str = Field("", description="free text for people; nothing reads it back")

    @model_validator(mode="after")
    def _range(self) -> Work:
        lo = self.quantity if self.quantity_low is None else self.quantity_low
        hi = self.quantity if self.quantity_high is None else self.quantity_high
        if not lo <= self.quantity <= hi:
            raise ValueError(
                f"quantity range must satisfy low <= quantity <= high, got {lo}, {self.quantity}, {hi}"
            )
        return self

    @property
    def q_low(self) -> float:
        return self.quantity if self.quantity_low is None else self.quantity_low

    @property
    def q_high(self) -> float:
        return self.quantity if self.quantity_high is None else self.quantity_high

    @property
    def total_quantity(self) -> float:
        """Quantity over the whole duration [item unit]."""
        return self.quantity * (self.years if self.per_year else 1)


class SitePlan(BaseModel):
    """The works on one site (or one zone of a site) and the land cover it ends as."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    site_id: str = Field(min_length=1)
    kind: str = Field(min_length=1, description="site kind (open_pit, subsidence_area, ...)")
    area_hm2: float = Field(ge=0, description="[hm²]")
    zone_id: str | None = None
    after_use: str = Field(min_length=1, description="land cover after restoration")
    topsoil_m: float | None = Field(None, ge=0, description="[m] target topsoil depth")
    cover: dict[str, float] = Field(
        default_factory=dict, description="[1] target cover fraction per layer (tree/shrub/grass)"
    )
    works: list[Work] = Field(default_factory=list)


class RestorationPlan(BaseModel):
    """A mine's restoration plan."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    mine_id: str = Field(min_length=1)
    region_code: str = Field("000000", description="6-digit GB/T 2260 code for unit costs")
    price_year: int = Field(ge=1990, le=2100, description="price year of the estimate")
    start_year: int = Field(ge=1990, le=2100, description="calendar year of year 0")
    post_closure_years: int = Field(3, ge=0, description="[yr] care after the works")
    sites: list[SitePlan] = Field(default_factory=list)
    mine_works: list[Work] = Field(
        default_factory=list, description="works for the mine as a whole (monitoring, ...)"
    )
    rules: list[str] = Field(default_factory=list, description="rule codes that made the plan")
    notes: list[str] = Field(default_factory=list)

    def works(self) -> list[tuple[str | None, Work]]:
        """All works with their site id (``None`` for mine-level works)."""
        out: list[tuple[str | None, Work]] = []
        for s in self.sites:
            out.extend((s.site_id, w) for w in s.works)
        out.extend((None, w) for w in self.mine_works)
        return out

    def after_use_hm2(self) -> dict[str, float]:
        """Area per after-use land cover [hm²] (what valuation uses)."""
        out: dict[str, float] = {}
        for s in self.sites:
            out[s.after_use] = out.get(s.after_use, 0.0) + s.area_hm2
        return out

    @property
    def end_year(self) -> int:
        """Last year offset with any work."""
        return max((w.start_year + w.years - 1 for _, w in self.works()), default=0)
