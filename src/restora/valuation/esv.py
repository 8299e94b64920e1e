"""Equivalent-factor ecosystem-service value (ESV), Xie Gaodi et al. (2015).

ESV of an area is the sum over ecosystem types *t* and services *s* of
``area_t [hm²] × equivalent_factor[t, s] [equivalent/hm²] × E [CNY/equivalent/yr]``, where *E*
is the value of one standard equivalent (the natural grain output of 1 hm² of average farmland
in a year). Factors, *E*, the grain method's share and the regional adjustment rule are
reference data (``valuation/xie2015/*``).

Entry points: :class:`XieInput` (the frozen input spec) and :func:`run`; the array core
:func:`esv_by_type_service`; :func:`standard_equivalent_from_grain`; :func:`adjusted_factors`;
and the register helpers :func:`cover_after` and :func:`esv_before_after`.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from restora import refdata
from restora.errors import InputError, Problem, input_error
from restora.valuation.landcover import KEEP_CURRENT, NO_TYPE, LandCoverMapping
from restora.valuation.prices import PriceIndex

METHOD = "xie2015"
FACTORS_TABLE = "valuation/xie2015/equivalent_factors"
EQUIVALENT_TABLE = "valuation/xie2015/standard_equivalent"
GRAIN_TABLE = "valuation/xie2015/grain_method"
ADJUSTMENT_TABLE = "valuation/xie2015/regional_adjustment"
AFTER_USE_TABLE = "appraisal/after-use-land-class"
RATIO_NAMES = ("npp", "precipitation", "soil_conservation")


@dataclass(frozen=True)
class FactorTable:
    """Equivalent factors [equivalent/hm²] as an array ``(n_types, n_services)``."""

    types: tuple[str, ...]
    services: tuple[str, ...]
    factors: np.ndarray
    provenance: dict[str, Any]

    @classmethod
    def load(cls, on: dt.date | str | None = None, region: str | None = None) -> FactorTable:
        table = refdata.get(FACTORS_TABLE, on=on, region=region)
        frame = table.frame()
        services = tuple(c for c in frame.columns if c not in ("type", "name_zh"))
        return cls(
            types=tuple(frame["type"]),
            services=services,
            factors=frame[list(services)].to_numpy(dtype=float),
            provenance=table.provenance(),
        )


def esv_by_type_service(
    areas_hm2: np.ndarray, factors: np.ndarray, equivalent_value_cny_per_hm2: float | np.ndarray
) -> np.ndarray:
    """ESV of each ecosystem type and service [CNY/yr].

    Parameters
    ----------
    areas_hm2 : numpy.ndarray, shape (..., n_types)
        Area of each ecosystem type [hm²]; leading dimensions (zones, pixels, years) broadcast.
    factors : numpy.ndarray, shape (n_types, n_services)
        Equivalent factors [standard equivalent/hm²].
    equivalent_value_cny_per_hm2 : float or array broadcastable to (...)
        Value of one standard equivalent [CNY/hm²/yr].

    Returns
    -------
    numpy.ndarray, shape (..., n_types, n_services)
        Value [CNY/yr].

    Notes
    -----
    .. math:: ESV_{t,s} = A_t \\cdot VC_{t,s} \\cdot E

    References
    ----------
    Xie G.D. et al. 2015, Journal of Natural Resources 30(8): 1243-1254.

    Examples
    --------
    >>> esv_by_type_service(np.array([2.0]), np.array([[0.5, 1.0]]), 100.0).tolist()
    [[100.0, 200.0]]
    """
    a = np.asarray(areas_hm2, dtype=float)
    e = np.asarray(equivalent_value_cny_per_hm2, dtype=float)
    return a[..., :, None] * np.asarray(factors, dtype=float) * e[..., None, None]


def standard_equivalent_from_grain(
    sown_area_hm2: Sequence[float] | np.ndarray,
    price_cny_per_kg: Sequence[float] | np.ndarray,
    yield_kg_per_hm2: Sequence[float] | np.ndarray,
    natural_output_share: float,
) -> float:
    """Local value of one standard equivalent from grain crops [CNY/hm²/yr].

    Parameters
    ----------
    sown_area_hm2 : array-like
        Sown area of each main grain crop (wheat, maize, rice) [hm²].
    price_cny_per_kg : array-like
        Average price of each crop [CNY/kg].
    yield_kg_per_hm2 : array-like
        Yield of each crop [kg/hm²].
    natural_output_share : float
        Share of the grain output that is natural output [dimensionless]
        (``valuation/xie2015/grain_method``: 1/7).

    Notes
    -----
    .. math:: E = s \\cdot \\frac{\\sum_i m_i p_i q_i}{M}, \\quad M = \\sum_i m_i

    References
    ----------
    Xie G.D. et al. 2015, Journal of Natural Resources 30(8): 1243-1254.

    Examples
    --------
    >>> standard_equivalent_from_grain([1.0, 1.0], [2.0, 3.0], [7000.0, 7000.0], 1 / 7)
    2500.0
    """
    m = np.asarray(sown_area_hm2, dtype=float)
    p = np.asarray(price_cny_per_kg, dtype=float)
    q = np.asarray(yield_kg_per_hm2, dtype=float)
    total = m.sum()
    if total <= 0:
        raise InputError("total sown grain area must be positive", field="sown_area_hm2")
    return float(natural_output_share * (m * p * q).sum() / total)


def adjusted_factors(
    factors: np.ndarray,
    services: Sequence[str],
    ratios: Mapping[str, float],
    rule: Mapping[str, str],
) -> np.ndarray:
    """Equivalent factors with regional adjustment [equivalent/hm²].

    Parameters
    ----------
    factors : numpy.ndarray, shape (n_types, n_services)
        National equivalent factors [equivalent/hm²].
    services : sequence of str
        Service names, the columns of ``factors``.
    ratios : mapping {"npp" | "precipitation" | "soil_conservation": float}
        Regional / national ratio of each driver [dimensionless]; a missing ratio means 1.
    rule : mapping {service: ratio name}
        Which ratio adjusts which service (``valuation/xie2015/regional_adjustment``).

    Notes
    -----
    .. math:: VC'_{t,s} = VC_{t,s} \\cdot r_{k(s)}

    with :math:`k(s)` NPP for most services, precipitation for water supply and hydrological
    regulation, soil conservation capacity for soil conservation (Xie et al. 2015).
    """
    mult = np.array([float(ratios.get(rule[s], 1.0)) for s in services])
    return np.asarray(factors, dtype=float) * mult[None, :]


class GrainCrop(BaseModel):
    """One grain crop for the local standard equivalent."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    crop: str = Field(description="wheat, maize, rice ...")
    sown_area_hm2: float = Field(ge=0, description="[hm²] sown area")
    price_cny_per_kg: float = Field(ge=0, description="[CNY/kg] average price")
    yield_kg_per_hm2: float = Field(ge=0, description="[kg/hm²] yield")


class XieInput(BaseModel):
    """Input spec of the Xie 2015 equivalent-factor method.

    ``areas_hm2`` keys are the 14 ecosystem types (validated against the factor table by
    :func:`parse_input`). The value of one standard equivalent is, in order of precedence,
    ``equivalent_value_cny_per_hm2``, the grain method over ``grain``, or the paper's default.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    areas_hm2: dict[str, float] = Field(description="[hm²] area per ecosystem type")
    equivalent_value_cny_per_hm2: float | None = Field(
        None, gt=0, description="[CNY/hm²/yr] value of one standard equivalent"
    )
    grain: tuple[GrainCrop, ...] | None = Field(
        None, description="grain crops for a local standard equivalent (alternative to the value)"
    )
    price_year: int | None = Field(
        None, ge=1950, le=2100, description="price year of the equivalent value"
    )
    target_price_year: int | None = Field(
        None, ge=1950, le=2100, description="convert results to this price year (CPI table)"
    )
    regional_ratios: dict[str, float] | None = Field(
        None, description="regional/national ratios: npp, precipitation, soil_conservation [-]"
    )


def _number_problems(areas: Any, file: str | None) -> list[Problem]:
    if not isinstance(areas, Mapping):
        return [Problem("must be an object {ecosystem type: hm²}", file=file, field="areas_hm2")]
    out = []
    for key, val in areas.items():
        if isinstance(val, bool) or not isinstance(val, (int, float)):
            out.append(Problem(f"{val!r} is not a number", file=file, field=f"areas_hm2.{key}"))
        elif not math.isfinite(val):
            out.append(Problem(f"{val!r} is not finite", file=file, field=f"areas_hm2.{key}"))
        elif val < 0:
            out.append(Problem(f"negative area {val}", file=file, field=f"areas_hm2.{key}"))
    return out


def parse_input(
    doc: Any,
    *,
    file: str | None = None,
    on: dt.date | str | None = None,
    region: str | None = None,
) -> XieInput:
    """Validate a user's document into :class:`XieInput`, naming every bad key.

    Raises
    ------
    InputError
        Unknown ecosystem-type keys, negative areas, non-numbers, unknown fields.
    """
    if not isinstance(doc, Mapping):
        raise InputError("expected a JSON object with 'areas_hm2'", file=file)
    if "areas_hm2" not in doc:
        raise InputError("missing 'areas_hm2'", file=file, field="areas_hm2")
    problems = _number_problems(doc["areas_hm2"], file)
    if isinstance(doc["areas_hm2"], Mapping):
        types = FactorTable.load(on, region).types
        for key in doc["areas_hm2"]:
            if key not in types:
                problems.append(
                    Problem(
                        f"unknown ecosystem type {key!r}; use one of {', '.join(types)}",
                        file=file,
                        field=f"areas_hm2.{key}",
                    )
                )
    ratios = doc.get("regional_ratios")
    if isinstance(ratios, Mapping):
        for key, val in ratios.items():
            if key not in RATIO_NAMES:
                problems.append(
                    Problem(
                        f"unknown ratio {key!r}; use {', '.join(RATIO_NAMES)}",
                        file=file,
                        field=f"regional_ratios.{key}",
                    )
                )
            elif isinstance(val, bool) or not isinstance(val, (int, float)) or val < 0:
                problems.append(
                    Problem(
                        f"{val!r} is not a non-negative number",
                        file=file,
                        field=f"regional_ratios.{key}",
                    )
                )
    if doc.get("equivalent_value_cny_per_hm2") is not None and doc.get("grain"):
        problems.append(
            Problem(
                "give either equivalent_value_cny_per_hm2 or grain, not both",
                file=file,
                field="grain",
            )
        )
    if problems:
        raise InputError(problems=problems)
    try:
        return XieInput.model_validate(dict(doc))
    except ValidationError as exc:
        raise input_error(exc, file=file) from exc


@dataclass(frozen=True)
class EsvResult:
    """Result of the equivalent-factor method, with what produced it."""

    total_cny_per_yr: float
    by_service: dict[str, float]
    by_type: dict[str, float]
    by_type_service: dict[str, dict[str, float]]
    area_hm2: float
    equivalent_value_cny_per_hm2: float
    price_year: int | None
    equivalent_value_source: str
    tables: list[dict[str, Any]]
    regional_ratios: dict[str, float] = field(default_factory=dict)
    method: str = METHOD

    def to_dict(self) -> dict[str, Any]:
        """The stable JSON contract of ``restora value esv``."""
        return {
            "method": self.method,
            "total_cny_per_yr": self.total_cny_per_yr,
            "by_service": self.by_service,
            "by_type": self.by_type,
            "by_type_service": self.by_type_service,
            "area_hm2": self.area_hm2,
            "equivalent_value_cny_per_hm2": self.equivalent_value_cny_per_hm2,
            "equivalent_value_source": self.equivalent_value_source,
            "price_year": self.price_year,
            "regional_ratios": self.regional_ratios,
            "tables": self.tables,
        }


def resolve_equivalent_value(
    inputs: XieInput, on: dt.date | str | None = None, region: str | None = None
) -> tuple[float, int | None, str, list[dict[str, Any]]]:
    """Value of one standard equivalent [CNY/hm²/yr], its price year, source and tables."""
    if inputs.equivalent_value_cny_per_hm2 is not None:
        return inputs.equivalent_value_cny_per_hm2, inputs.price_year, "user", []
    if inputs.grain:
        t = refdata.get(GRAIN_TABLE, on=on, region=region)
        e = standard_equivalent_from_grain(
            [c.sown_area_hm2 for c in inputs.grain],
            [c.price_cny_per_kg for c in inputs.grain],
            [c.yield_kg_per_hm2 for c in inputs.grain],
            float(t.data["natural_output_share"]),
        )
        return e, inputs.price_year, "grain", [t.provenance()]
    t = refdata.get(EQUIVALENT_TABLE, on=on, region=region)
    year = t.data.get("price_year")
    return (
        float(t.data["value_cny_per_hm2"]),
        int(year) if year is not None else inputs.price_year,
        "default",
        [t.provenance()],
    )


def run(inputs: XieInput, on: dt.date | str | None = None, region: str | None = None) -> EsvResult:
    """Run the equivalent-factor method on one set of areas.

    Parameters
    ----------
    inputs : XieInput
        Areas per ecosystem type [hm²] and the value options.
    on : date, optional
        Date whose reference tables apply (default today).
    region : str, optional
        6-digit GB/T 2260 code for regional table versions.

    Returns
    -------
    EsvResult
        Values [CNY/yr at ``price_year``] by type, service and both, with provenance.

    Notes
    -----
    :math:`ESV = \\sum_t \\sum_s A_t \\cdot VC_{t,s} \\cdot E`, with the factors optionally
    regionally adjusted (:func:`adjusted_factors`) and *E* converted between price years with
    the CPI table (:mod:`restora.valuation.prices`).

    References
    ----------
    Xie G.D., Zhang C.X., Zhang L.M., Su N., Cao S.Y. 2015. Journal of Natural Resources
    30(8): 1243-1254.
    """
    table = FactorTable.load(on, region)
    unknown = [k for k in inputs.areas_hm2 if k not in table.types]
    if unknown:
        raise InputError(
            f"unknown ecosystem type(s) {unknown}; use one of {', '.join(table.types)}",
            field="areas_hm2",
        )
    tables = [table.provenance]
    e, price_year, e_source, e_tables = resolve_equivalent_value(inputs, on, region)
    tables += e_tables
    factors = table.factors
    ratios = dict(inputs.regional_ratios or {})
    if ratios:
        rule_t = refdata.get(ADJUSTMENT_TABLE, on=on, region=region)
        factors = adjusted_factors(factors, table.services, ratios, rule_t.data)
        tables.append(rule_t.provenance())
    if inputs.target_price_year is not None and inputs.target_price_year != price_year:
        if price_year is None:
            raise InputError(
                "the equivalent value has no price year; give price_year to convert to "
                f"{inputs.target_price_year}",
                field="price_year",
            )
        idx = PriceIndex.load()
        e *= idx.factor(price_year, inputs.target_price_year)
        price_year = inputs.target_price_year
        tables.append(dict(idx.provenance or {}))
    areas = np.array([float(inputs.areas_hm2.get(t, 0.0)) for t in table.types])
    values = esv_by_type_service(areas, factors, e)
    return EsvResult(
        total_cny_per_yr=float(values.sum()),
        by_service={s: float(v) for s, v in zip(table.services, values.sum(axis=0), strict=True)},
        by_type={t: float(v) for t, v in zip(table.types, values.sum(axis=1), strict=True)},
        by_type_service={
            t: {s: float(values[i, j]) for j, s in enumerate(table.services)}
            for i, t in enumerate(table.types)
        },
        area_hm2=float(areas.sum()),
        equivalent_value_cny_per_hm2=float(e),
        price_year=price_year,
        equivalent_value_source=e_source,
        tables=tables,
        regional_ratios=ratios,
    )


def cover_after(
    after_use: Mapping[str, str],
    *,
    on: dt.date | str | None = None,
    region: str | None = None,
) -> tuple[dict[str, str | None], list[dict[str, Any]]]:
    """Ecosystem type after restoration of each site, from its planned after-use.

    Parameters
    ----------
    after_use : mapping {site_id: after-use}
        The plan's after-use of each site (``cultivated``, ``garden``, ``forest``, ``grass``,
        ``water``, ``construction``, ``leave_as_is``; the uses of
        ``appraisal/after-use-land-class``).
    on : date, optional
        Date whose reference tables apply.
    region : str, optional
        6-digit GB/T 2260 code for regional table versions.

    Returns
    -------
    cover : dict {site_id: ecosystem type, None or ``KEEP_CURRENT``}
        The ``after_cover`` argument of :func:`esv_before_after`: None for built-up land,
        ``KEEP_CURRENT`` for a site that keeps its current cover (``leave_as_is``).
    tables : list of dict
        Provenance of the two tables read.

    Raises
    ------
    InputError
        An after-use the table does not list (names the site).

    Notes
    -----
    after-use → GB/T 21010-2017 class (``appraisal/after-use-land-class``) → ecosystem type
    (``valuation/landcover/ecosystem_types``, scheme ``gbt21010``). An entry ``current`` in the
    first table means the site keeps its current land cover: no works, no change of value.

    Examples
    --------
    >>> cover, _ = cover_after({"S1": "forest", "S2": "leave_as_is", "S3": "construction"})
    >>> cover
    {'S1': 'mixed_forest', 'S2': 'current', 'S3': None}
    """
    use_table = refdata.get(AFTER_USE_TABLE, on=on, region=region)
    mapping = LandCoverMapping.load(on, region)
    cover: dict[str, str | None] = {}
    for sid, use in after_use.items():
        code = use_table.data.get(use)
        if code is None:
            raise InputError(
                f"site {sid}: after-use {use!r} has no land class in {AFTER_USE_TABLE}; use one "
                f"of {', '.join(use_table.data)}",
                field="after_use",
            )
        cover[sid] = mapping.type_of("gbt21010", str(code))  # KEEP_CURRENT passes through
    return cover, [use_table.provenance(), mapping.provenance]


def esv_before_after(
    sites: pd.DataFrame,
    after_cover: Mapping[str, str | None],
    *,
    equivalent_value_cny_per_hm2: float | None = None,
    price_year: int | None = None,
    on: dt.date | str | None = None,
    region: str | None = None,
) -> pd.DataFrame:
    """ESV of each register site before (damaged) and after (planned land cover) [CNY/yr].

    Parameters
    ----------
    sites : pandas.DataFrame
        The register's sites: ``site_id``, ``kind`` (register site kind), ``water`` (bool,
        standing water; missing = False), ``area_hm2`` [hm²].
    after_cover : mapping {site_id: ecosystem type, None or ``KEEP_CURRENT``}
        Planned land cover after restoration (:func:`cover_after` builds it from after-uses);
        None for built-up after-use; ``KEEP_CURRENT`` (``"current"``) for a site left as is,
        which keeps its damaged-state type (``after_planned`` True). A site absent from the
        mapping also keeps its damaged-state type (``after_planned`` False).
    equivalent_value_cny_per_hm2 : float, optional
        Value of one standard equivalent [CNY/hm²/yr]; default the paper's.
    price_year : int, optional
        Price year of a user-supplied equivalent value.

    Returns
    -------
    pandas.DataFrame
        One row per site: ``site_id, kind, water, area_hm2, type_before, type_after,
        after_planned, esv_before_cny_per_yr, esv_after_cny_per_yr, esv_change_cny_per_yr``,
        and ``area_basis`` (``geometry``, or ``declared`` for a site without boundary, valued
        on its declared area) when ``sites`` has a ``geometry`` or ``area_basis`` column;
        ``attrs`` holds ``method``, ``price_year``, ``equivalent_value_cny_per_hm2`` and
        ``tables`` (provenance).

    Notes
    -----
    Before: the site kind (and water flag) mapped by ``valuation/landcover/ecosystem_types``
    (bare pit, dump, tailings → bare land; water-filled pit or subsidence → water; yard, road →
    no value). After: the planned type; a site left as is keeps its before type, so its ESV
    after equals its ESV before. Each side: :math:`A \\cdot \\sum_s VC_{t,s} \\cdot E`. The
    ``after`` value is the mature one; :mod:`restora.valuation.establishment` ramps it in.
    """
    for col in ("site_id", "kind", "area_hm2"):
        if col not in sites.columns:
            raise InputError(f"sites table lacks column {col!r}", field=col)
    table = FactorTable.load(on, region)
    mapping = LandCoverMapping.load(on, region)
    e, year, _, e_tables = resolve_equivalent_value(
        XieInput.model_validate(
            {
                "areas_hm2": {},
                "equivalent_value_cny_per_hm2": equivalent_value_cny_per_hm2,
                "price_year": price_year,
            }
        ),
        on,
        region,
    )
    site_ids = sites["site_id"].astype(str).tolist()
    area = pd.to_numeric(sites["area_hm2"], errors="coerce").to_numpy(dtype=float)
    for i, a in enumerate(area):
        if not np.isfinite(a) or a < 0:
            raise InputError(
                f"area {sites['area_hm2'].iloc[i]!r} is not a non-negative number",
                row=i + 1,
                field="area_hm2",
            )
    water = (
        sites["water"].astype("boolean").fillna(False).to_numpy(dtype=bool)
        if "water" in sites.columns
        else np.zeros(len(sites), dtype=bool)
    )
    before_idx = mapping.type_index("site_kind", sites["kind"].astype(str).to_numpy(), water)
    pos = {t: i for i, t in enumerate(table.types)}
    unknown_sites = sorted(set(after_cover) - set(site_ids))
    if unknown_sites:
        raise InputError(f"after_cover names unknown site(s) {unknown_sites}", field="site_id")

    def unknown(t: str | None) -> bool:
        return t is not None and t != KEEP_CURRENT and t not in pos

    bad_types = sorted({str(t) for t in after_cover.values() if unknown(t)})
    if bad_types:
        first = next(sid for sid, t in after_cover.items() if unknown(t))
        raise InputError(
            f"unknown ecosystem type(s) {bad_types} (first for site {first}); use one of "
            f"{', '.join(table.types)}",
            row=site_ids.index(first) + 1,
            field="after_cover",
        )
    code_of = {
        sid: (NO_TYPE if t is None else pos[t])
        for sid, t in after_cover.items()
        if t != KEEP_CURRENT
    }
    ids = pd.Series(site_ids)
    planned = ids.isin(list(after_cover)).to_numpy()
    changes = ids.isin(list(code_of)).to_numpy()  # left-as-is sites keep their current type
    after_idx = np.where(
        changes, ids.map(code_of).fillna(NO_TYPE).to_numpy(dtype=np.int64), before_idx
    )
    # Per-hm² value of each type, with a zero row appended for "no type" (index -1).
    per_hm2 = np.append(table.factors.sum(axis=1) * e, 0.0)
    before = area * per_hm2[before_idx]
    after = area * per_hm2[after_idx]

    names = np.array([*table.types, None], dtype=object)  # index NO_TYPE (-1) → None

    out = pd.DataFrame(
        {
            "site_id": site_ids,
            "kind": sites["kind"].astype(str).to_numpy(),
            "water": water,
            "area_hm2": area,
            "type_before": pd.Series(names[before_idx], dtype=object),
            "type_after": pd.Series(names[after_idx], dtype=object),
            "after_planned": planned,
            "esv_before_cny_per_yr": before,
            "esv_after_cny_per_yr": after,
            "esv_change_cny_per_yr": after - before,
        }
    )
    if "geometry" in sites.columns or "area_basis" in sites.columns:
        # a site without boundary (point register) is valued on its declared area; say so
        from restora.inventory.geometry import area_basis

        out["area_basis"] = (
            sites["area_basis"].to_numpy(dtype=object)
            if "area_basis" in sites.columns
            else area_basis(sites)
        )
    out.attrs.update(
        method=METHOD,
        price_year=year,
        equivalent_value_cny_per_hm2=e,
        tables=[table.provenance, mapping.provenance, *e_tables],
    )
    return out
