"""The mine profile that the mode recommendation reads (one frozen pydantic spec).

The profile's fields are the conditions under which Wang et al. (2026) say each value-realization
mode fits: safety risk, natural-resource endowment and market environment. Units are in each
field's description; :func:`parse_profile` turns a user's JSON into a :class:`MineProfile` or
raises :class:`restora.errors.InputError` naming the field.

Every rule field must be given, but it may be ``null``: *unknown* (not stated by the source). A
rule condition on an unknown field does not hold (:mod:`restora.modes.recommend`), so an unknown
field adds no points to any mode and never triggers a gate. The fields added with the rule version
``restora-fit-2`` (:data:`OPTIONAL_FIELDS`: who finances the restoration, whether a market for
the restored land's quotas or rights is used) may also be left out: they are then unknown, so
profiles written for the earlier versions stay valid.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from restora.errors import InputError, input_error

Mineral = Literal["coal", "metal", "non_metal", "building_stone", "oil_gas"]
Risk = Literal["none", "low", "medium", "high"]
Pollution = Literal["none", "mild", "moderate", "severe"]
Level = Literal["low", "medium", "high"]
Access = Literal["poor", "fair", "good"]

Funding = Literal["public", "responsible_party", "social_capital", "mixed"]

MODES = ("safety_baseline", "resource_utilization", "property_rights", "industry_integration")
# fields added after the first rule versions: they default to unknown when a profile omits them
OPTIONAL_FIELDS = ("funding_source", "quota_market")


class MineProfile(BaseModel):
    """What the mode rules need to know about one mine (Wang et al. 2026).

    Each rule field is required but may be ``None`` (unknown: not stated by the source); the
    fields of :data:`OPTIONAL_FIELDS` may be omitted (unknown).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    mine_id: str | None = Field(
        default=None, description="register id (informative; no rule reads it)"
    )
    name: str | None = Field(default=None, description="mine name (informative; no rule reads it)")
    mineral: Mineral | None = Field(description="mineral type of the mine")
    area_hm2: float | None = Field(ge=0, description="[hm²] damaged area of the mine")
    geohazard_risk: Risk | None = Field(
        description="geohazard danger grade of the mine (DZ/T 0286-2015)"
    )
    pollution: Pollution | None = Field(description="soil / water pollution level")
    solid_waste_m3: float | None = Field(
        ge=0, description="[m³] waste rock, tailings, gangue, fly ash"
    )
    water_area_hm2: float | None = Field(ge=0, description="[hm²] pit and subsidence water surface")
    responsible_party: Literal["present", "absent"] | None = Field(
        description="whether a responsible party exists ('absent' = 无主 ownerless mine)"
    )
    property_rights_clear: bool | None = Field(
        description="restoration, use and income rights confirmed and registered"
    )
    construction_land_potential_hm2: float | None = Field(
        ge=0, description="[hm²] area that can become construction land (quota potential)"
    )
    farmland_potential_hm2: float | None = Field(
        ge=0, description="[hm²] area that can become farmland or gardens (quota potential)"
    )
    distance_to_city_km: float | None = Field(ge=0, description="[km] distance to the nearest town")
    population_within_10km: float | None = Field(ge=0, description="[person] people within 10 km")
    transport_access: Access | None = Field(description="road access to the mine")
    landscape_cultural_value: Level | None = Field(
        description="landscape, heritage and cultural value"
    )
    market_maturity: Level | None = Field(
        description="maturity of the local rights and product market"
    )
    social_capital_interest: Level | None = Field(description="interest shown by social capital")
    ecological_redline_overlap: bool | None = Field(
        description="whether the mine overlaps an ecological protection red line"
    )
    funding_source: Funding | None = Field(
        default=None,
        description="who finances the restoration: 'public' (central or local budget, a "
        "government platform), 'responsible_party' (the mining company), 'social_capital' "
        "(private or other enterprise investment), 'mixed' (public and non-public funders)",
    )
    quota_market: bool | None = Field(
        default=None,
        description="a market for the restored land's quotas or rights is used: construction-"
        "land or farmland quota trading, collective construction land entering the market, "
        "carbon-sink trading",
    )


def profile_fields() -> tuple[str, ...]:
    """Names of the profile fields the rules may read (all but the informative ids)."""
    return tuple(k for k in MineProfile.model_fields if k not in ("mine_id", "name"))


def parse_profile(data: Any, file: str | None = None) -> MineProfile:
    """Validate a profile from parsed JSON.

    Parameters
    ----------
    data : dict
        The profile's fields (see :class:`MineProfile`; units in the field descriptions).
    file : str, optional
        Where it came from, for error messages.

    Returns
    -------
    MineProfile

    Raises
    ------
    InputError
        One problem per bad field: missing, wrong type, not one of the allowed values, negative
        (:func:`restora.errors.input_error`, the messages every pydantic spec gives).
    """
    if not isinstance(data, dict):
        raise InputError("a profile must be a JSON object", file=file)
    try:
        return MineProfile.model_validate(data)
    except ValidationError as exc:
        raise input_error(exc, file=file) from exc
