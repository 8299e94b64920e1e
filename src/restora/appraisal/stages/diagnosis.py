"""Stage 1 — diagnosis: the project's mines as diagnosed in their county.

Rank, hazard grades, soil classes, suitability and pollution-gradient zones, read from the
county diagnosis (:func:`restora.diagnosis.county.diagnose_county`, once per county) and the
site zoning (:func:`restora.diagnosis.site_zones.zone_sites`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from restora.appraisal.project import ProjectSpec
from restora.appraisal.stages.base import StageResult, plain, records, unique_tables
from restora.diagnosis import zoning
from restora.diagnosis.county import CountyDiagnosis
from restora.diagnosis.site_zones import SiteZoning, zone_sites
from restora.errors import InputError
from restora.inventory.model import Register


@dataclass(frozen=True)
class SiteDiagnosis:
    """One site as diagnosed.

    Attributes
    ----------
    site_id, mine_id, kind : str
    area_hm2 : float
        Site area [hm²] (register).
    water : bool
        Water-filled (register).
    pollution_class : str or None
        Worst GB 15618-2018 class of its samples (``None``: no samples).
    in_ecological_redline, in_permanent_basic_farmland : bool or None
        Context flags (``None``: layer not given).
    best_use : str or None
        First-ranked suitable after-use (:func:`restora.diagnosis.suitability.assess_sites`).
    suitable_uses : tuple of str
        Every suitable after-use, best first.
    rule_codes : tuple of str
        Suitability rule codes that fired.
    """

    site_id: str
    mine_id: str
    kind: str
    area_hm2: float
    water: bool
    pollution_class: str | None
    in_ecological_redline: bool | None
    in_permanent_basic_farmland: bool | None
    best_use: str | None
    suitable_uses: tuple[str, ...]
    rule_codes: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "site_id": self.site_id,
            "mine_id": self.mine_id,
            "kind": self.kind,
            "area_hm2": self.area_hm2,
            "water": self.water,
            "pollution_class": self.pollution_class,
            "in_ecological_redline": self.in_ecological_redline,
            "in_permanent_basic_farmland": self.in_permanent_basic_farmland,
            "best_use": self.best_use,
            "suitable_uses": list(self.suitable_uses),
            "rule_codes": list(self.rule_codes),
        }


@dataclass(frozen=True, kw_only=True)
class DiagnosisResult(StageResult):
    """The diagnosis of a project's mines.

    Attributes
    ----------
    mines : tuple of str
        The project's mine ids.
    sites : pandas.DataFrame
        The register's rows of the project's sites (``area_hm2`` [hm²], geometry in WGS 84).
    ranking : pandas.DataFrame
        The project's mines in the county ranking: rank, score and component scores [0, 1],
        indicators (:func:`restora.diagnosis.county.rank_register`).
    n_mines_ranked : int
        Mines in the county ranking [1].
    site_diagnoses : tuple of SiteDiagnosis
        Each site's classes and suitability.
    hazards : pandas.DataFrame
        The mines' hazards with scale, threat and danger grade (DZ/T 0286-2015).
    hazard_grades : mapping
        ``{hazard_id: grade}``.
    sample_classes : mapping
        Number of samples per GB 15618-2018 class [1] (``indeterminate`` included: a result
        below a detection limit above the screening value).
    indeterminate_samples : tuple of dict
        The samples whose class is indeterminate: ``sample_id``, ``mine_id``, ``site_id``,
        ``class_range`` [lowest, highest class the data allow], ``metals`` (the open
        results), ``results`` (per open result: ``metal``, ``detection_limit_mg_kg``,
        ``screening_mg_kg``, ``intervention_mg_kg``, ``class_range``, ``rule_code``: what a
        report needs to say "re-analyse with a limit below the screening value" in any
        language), ``rule_codes`` (``SOIL-CENSORED-DL-ABOVE-SV`` / ``-IV``) and ``messages``
        (the same in English) (:func:`restora.diagnosis.county.classify_samples`).
    zonings : tuple of SiteZoning
        Pollution-gradient zones of each site with samples (:func:`zone_sites`).
    weights : mapping
        Priority weights used.
    pollution_source : str or None
        Where the mines' pollution classes came from.
    """

    name = "diagnosis"

    mines: tuple[str, ...]
    sites: pd.DataFrame
    ranking: pd.DataFrame
    n_mines_ranked: int
    site_diagnoses: tuple[SiteDiagnosis, ...]
    hazards: pd.DataFrame
    hazard_grades: Mapping[str, str]
    sample_classes: Mapping[str, int]
    zonings: tuple[SiteZoning, ...]
    weights: Mapping[str, Any] = field(default_factory=dict)
    pollution_source: str | None = None
    indeterminate_samples: tuple[dict[str, Any], ...] = ()
    zoning_skipped: tuple[Mapping[str, str], ...] = ()

    @property
    def notes(self) -> list[str]:
        """Caveats for the report: sites with samples that could not be zoned, and why."""
        return [f"site {z['site_id']} not zoned: {z['reason']}" for z in self.zoning_skipped]

    @property
    def zones(self) -> dict[str, Any]:
        """``{site_id: (Zone, ...)}`` for the planner."""
        return {z.site_id: z.result.zones for z in self.zonings}

    def section(self) -> dict[str, Any]:
        mines = records(self.ranking)
        for m in mines:
            m["n_mines_ranked"] = self.n_mines_ranked
        cols = [c for c in ("hazard_id", "mine_id", "kind", "scale", "threat", "grade")]
        return {
            "mines": mines,
            "sites": [s.to_json() for s in self.site_diagnoses],
            "hazards": records(self.hazards[[c for c in cols if c in self.hazards]]),
            "sample_classes": dict(self.sample_classes),
            "indeterminate_samples": [dict(x) for x in self.indeterminate_samples],
            "zones": [{k: v for k, v in z.json.items() if k != "tables"} for z in self.zonings],
            "zoning_method": "pollution gradient zoning (restora.diagnosis.zoning.zone_site) of "
            "each site with samples: sites and samples projected to China Albers, IDW to "
            f"{zoning.DEFAULT_CELL_SIZE_M:g} m cells, GB 15618-2018 classes, zone classes "
            "(remediation/zone-classes), candidate techniques (remediation/techniques); zones "
            "below the minimum zone area (remediation/min-zone-area, TD/T 1055-2019) join a "
            "neighbour of equal or worse class; '<DL' results with DL above the screening "
            "value are left out of the interpolation and flag their zone",
            "zoning_skipped": [dict(z) for z in self.zoning_skipped],
            "pollution_source": self.pollution_source,
            "weights": dict(self.weights),
        }


def run(
    spec: ProjectSpec,
    register: Register,
    county: CountyDiagnosis,
    *,
    file: str | None = None,
    on: dt.date | str | None = None,
    region: str | None = None,
) -> DiagnosisResult:
    """Diagnose the project's mines from the county diagnosis, and zone their sites.

    Parameters
    ----------
    spec : ProjectSpec
        The project (its ``mines``).
    register : Register
        The county's register; site areas in [hm²].
    county : CountyDiagnosis
        The whole register diagnosed once.
    file : str, optional
        The project file, for error messages.
    on, region : optional
        Date and 6-digit region code of the reference tables (zoning).

    Returns
    -------
    DiagnosisResult

    Raises
    ------
    InputError
        A mine of the project is not in the register (naming the project file and field).
    """
    known = set(register.mines["mine_id"])
    for i, mid in enumerate(spec.mines):
        if mid not in known:
            raise InputError(f"mine {mid!r} is not in the register", file=file, field=f"mines.{i}")
    mines = tuple(spec.mines)
    ranking = county.ranking.ranking
    ranked = ranking[ranking["mine_id"].isin(mines)].reset_index(drop=True)
    sites = register.sites[register.sites["mine_id"].isin(mines)].reset_index(drop=True)
    inputs = county.site_inputs.set_index("site_id")
    assessed = county.suitability[county.suitability["mine_id"].isin(mines)]
    site_diagnoses = []
    for sid, mid, kind, area, water in zip(
        sites["site_id"], sites["mine_id"], sites["kind"], sites["area_hm2"], sites["water"],
        strict=True,
    ):  # fmt: skip
        g = assessed[assessed["site_id"] == sid]
        ok = g[g["status"] == "suitable"].sort_values("rank")
        row = inputs.loc[sid] if sid in inputs.index else pd.Series(dtype=object)
        site_diagnoses.append(
            SiteDiagnosis(
                site_id=str(sid),
                mine_id=str(mid),
                kind=str(kind),
                area_hm2=float(area),
                water=bool(water) if pd.notna(water) else False,
                pollution_class=plain(row.get("pollution_class")),
                in_ecological_redline=plain(row.get("in_ecological_redline")),
                in_permanent_basic_farmland=plain(row.get("in_permanent_basic_farmland")),
                best_use=county.best_use.get(sid),
                suitable_uses=tuple(ok["use"]),
                rule_codes=tuple(sorted({c for cs in g["rule_codes"] for c in cs})),
            )
        )
    graded = county.ranking.graded_hazards
    hazards = graded[graded["mine_id"].isin(mines)].reset_index(drop=True)
    counts: dict[str, int] = {}
    open_samples: list[dict[str, Any]] = []
    if county.sample_classes is not None:
        s = county.sample_classes[county.sample_classes["mine_id"].isin(mines)]
        counts = {str(k): int(v) for k, v in s["pollution_class"].value_counts().items()}
        for r in s[s["pollution_class"] == "indeterminate"].to_dict("records"):
            open_samples.append(
                {
                    "sample_id": str(r["sample_id"]),
                    "mine_id": str(r["mine_id"]),
                    "site_id": plain(r.get("site_id")),
                    "class_range": [r["pollution_class_min"], r["pollution_class_max"]],
                    "metals": list(r["open_metals"]),
                    "results": [dict(x) for x in r["open_results"]],
                    "rule_codes": list(r["rule_codes"]),
                    "messages": list(r["messages"]),
                }
            )
    mine_grades = county.ranking.hazard_grades
    zonings = tuple(zone_sites(sites, register.samples, on=on, region=region))
    skipped = _unzoned(sites, register.samples, {z.site_id for z in zonings})
    rule_codes = {
        *(c for s in site_diagnoses for c in s.rule_codes),
        *(c for cs in mine_grades[mine_grades["mine_id"].isin(mines)]["rule_codes"] for c in cs),
        *county.ranking.method.get("rule_codes", []),
        *(c for z in zonings for zz in z.json["zones"] for c in zz["rule_codes"]),
        *(c for x in open_samples for c in x["rule_codes"]),
    }
    return DiagnosisResult(
        method="GB 15618-2018 soil classes; DZ/T 0286-2015 danger matrix; TD/T 1036-2013 "
        "suitability; priority = weighted min-max scores of damage, risk, potential",
        mines=mines,
        sites=sites,
        ranking=ranked,
        n_mines_ranked=len(ranking),
        site_diagnoses=tuple(site_diagnoses),
        hazards=hazards,
        hazard_grades={
            str(h): str(g) for h, g in zip(graded["hazard_id"], graded["grade"], strict=True)
        },
        sample_classes=counts,
        indeterminate_samples=tuple(open_samples),
        zonings=zonings,
        weights=county.ranking.method.get("weights") or {},
        pollution_source=county.ranking.method.get("pollution_source"),
        zoning_skipped=skipped,
        rule_codes=tuple(sorted(rule_codes)),
        tables=unique_tables([*county.provenance, *(t for z in zonings for t in z.json["tables"])]),
    )


def _unzoned(
    sites: pd.DataFrame, samples: pd.DataFrame | None, zoned: set[str]
) -> tuple[dict[str, str], ...]:
    """Sites that have samples but no zoning, each with the reason (never dropped silently)."""
    if samples is None or not len(samples) or "site_id" not in samples:
        return ()
    out = []
    for sid in sites["site_id"].astype(str):
        mine = samples[samples["site_id"].astype(str) == sid]
        if not len(mine) or sid in zoned:
            continue
        lon = pd.to_numeric(mine.get("lon"), errors="coerce")
        lat = pd.to_numeric(mine.get("lat"), errors="coerce")
        land = mine["land_use"] if "land_use" in mine else pd.Series([], dtype=object)
        if lon is None or lat is None or not (lon.notna() & lat.notna()).any():
            reason = "its samples have no coordinates"
        elif not land.notna().any():
            reason = "its samples give no GB 15618-2018 land use (paddy, orchard, other)"
        else:
            reason = "its samples give no usable pollutant, land use or location inside the site"
        out.append({"site_id": sid, "reason": reason})
    return tuple(out)
