"""Pollution gradient zoning of a register's sites from its soil samples: the one entry point.

``restora diagnose zones``, ``restora plan make`` (:func:`restora.planning.diagnosed.plan_mine`)
and the appraisal's diagnosis stage all zone through :func:`zone_sites`, so the same site and
samples give the same zones everywhere. The register stores sites and sample points in WGS 84
(EPSG:4326); zoning needs metres, so both are reprojected to the China Albers equal-area
projection (:data:`restora.inventory.geometry.CHINA_ALBERS`), in which the cells are laid and
zone areas measured (DESIGN: areas from an equal-area projection). Each site with at least one
sample is zoned by :func:`restora.diagnosis.zoning.zone_site` (20 m cells, IDW by default,
minimum zone area of ``remediation/min-zone-area``) against GB 15618-2018 by default, with the
site's land use taken as the most frequent land use of its samples unless one is given.

Results below detection travel in the register as numbers (the substitutes of
``soil/indices/non-detect``) and as the lab's text in the ``qualifiers`` column
(``"Hg=ND; Cd=<0.05"``, :mod:`restora.inventory.censored`); :func:`detection_limits` reads the
flags and stated limits back so that zoning can honour them.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray

from restora.diagnosis import soil, zoning
from restora.diagnosis.techniques import load_catalogue
from restora.errors import InputError
from restora.inventory.censored import read_qualifiers
from restora.inventory.geometry import (
    CHINA_ALBERS,
    NO_BOUNDARY,
    STORAGE_CRS,
    has_boundary,
    reproject,
    transformer,
)

STANDARD = "gb15618"
#: The register column holding each sample's land, by standard.
LAND_COLUMN = {"gb15618": "land_use", "gb36600": "land_class"}
_LAND_WORDS = {"land_use": "land uses", "land_class": "land classes"}


@dataclass(frozen=True)
class SiteZoning:
    """The zoning of one site: the domain result and the JSON record."""

    site_id: str
    mine_id: str
    result: zoning.ZoningResult
    json: dict[str, Any]


def detection_limits(
    samples: pd.DataFrame, pollutants: Sequence[str]
) -> tuple[NDArray[np.bool_], NDArray[np.float64]]:
    """Below-detection flags and stated limits of the samples, from their ``qualifiers``.

    Parameters
    ----------
    samples : DataFrame
        Register samples; ``qualifiers`` holds ``name=text`` entries separated by ``;``
        (e.g. ``"Hg=ND; Cd=<0.05"``), as :func:`restora.inventory.censored.substitute_non_detects`
        writes them. Entries that are not a below-detection result are ignored.
    pollutants : sequence of str
        The metal columns, in order.

    Returns
    -------
    censored : ndarray of bool, shape (N, M)
        True where the lab reported the result below detection (``<x``, ``ND``, ``未检出``...).
    limit : ndarray, shape (N, M)
        The stated detection limit x of a ``<x`` result [mg/kg, the register's unit]; NaN for
        ``ND`` without a limit and for detected results.
    """
    names = list(pollutants)
    if "qualifiers" not in samples.columns or not len(samples):
        return np.zeros((len(samples), len(names)), dtype=bool), np.full(
            (len(samples), len(names)), np.nan
        )
    censored, limit = read_qualifiers(samples["qualifiers"], names)
    return censored.to_numpy(dtype=bool), limit.to_numpy(dtype=float)


def zone_sites(
    sites: pd.DataFrame,
    samples: pd.DataFrame,
    *,
    standard: str = STANDARD,
    land: str | None = None,
    method: str = "idw",
    cell_size: float = zoning.DEFAULT_CELL_SIZE_M,
    min_zone_area_m2: float | None = None,
    land_use_after: str | None = None,
    depth_m: float | None = None,
    strict: bool = False,
    on: dt.date | str | None = None,
    region: str | None = None,
) -> list[SiteZoning]:
    """Zone every site that has soil samples.

    Parameters
    ----------
    sites : DataFrame
        ``site_id``, ``mine_id`` and ``geometry`` (shapely, lon/lat in EPSG:4326 [degree]).
    samples : DataFrame
        The register's samples: ``site_id``, ``lon``, ``lat`` [degree], the land
        (``land_use`` for GB 15618: paddy, orchard, other; ``land_class`` for GB 36600: 1, 2),
        ``ph`` [pH units], metal concentrations [mg/kg] in columns named by the standard's
        pollutant codes, and optionally ``sample_id`` and ``qualifiers`` (below detection).
    standard : {"gb15618", "gb36600"}
        The soil standard (GB 15618-2018 by default, as the county diagnosis).
    land : str, optional
        The land use (GB 15618) or land class (GB 36600) of every site; default: the most
        frequent among each site's samples (a warning says so when they differ).
    method : {"idw", "ordinary_kriging"}
        Interpolation (kriging falls back to IDW with too few samples; the result says so).
    cell_size : float
        Cell side [m].
    min_zone_area_m2 : float, optional
        Minimum zone area [m²]; default from ``remediation/min-zone-area``.
    land_use_after : {"agricultural", "ecological", "construction"}, optional
        Intended land use after treatment (filters techniques).
    depth_m : float, optional
        Depth of contamination to treat [m] (filters techniques).
    strict : bool
        Raise :class:`~restora.errors.InputError` for a site with samples that cannot be
        zoned (no land use, or one the standard does not know) instead of leaving it out.
    on, region
        Date and 6-digit region code of the reference tables.

    Returns
    -------
    list of SiteZoning
        In the order of ``sites``; sites without samples are left out, and so are sites
        without boundary (a point register's centre point: ``strict`` raises, saying "no
        boundary").

    Notes
    -----
    Sample points :math:`(\\lambda, \\varphi)` and site polygons are projected to Albers
    :math:`(x, y)` [m]; see :func:`restora.diagnosis.zoning.zone_site` for the interpolation,
    the handling of results below detection, the classification, the minimum zone area and
    the zone area :math:`A = \\lvert \\bigcup_c c \\cap \\mathrm{site} \\rvert / 10^4` [hm²].

    References
    ----------
    GB 15618-2018 Soil environmental quality — Risk control standard for soil contamination of
    agricultural land. GB 36600-2018 (construction land). HJ 25.1-2019 / HJ 25.2-2019 (site
    investigation, sampling density). TD/T 1055-2019 (minimum mapped patch).
    """
    if samples is None or not len(samples) or "site_id" not in samples or not len(sites):
        return []
    values = soil.load_standard(standard, on, region)
    catalogue = load_catalogue(on, region)
    pollutants = tuple(p for p in values.pollutants if p in samples.columns)
    if not pollutants:
        if strict:
            raise InputError(f"the samples have no {soil.label(values.standard)} pollutant")
        return []
    smp = samples[samples["site_id"].notna()]
    smp = smp[pd.to_numeric(smp["lon"], errors="coerce").notna()]
    smp = smp[pd.to_numeric(smp["lat"], errors="coerce").notna()]
    if not len(smp):
        return []
    x, y = transformer(STORAGE_CRS, CHINA_ALBERS).transform(
        smp["lon"].astype(float).to_numpy(), smp["lat"].astype(float).to_numpy()
    )
    x, y = np.asarray(x), np.asarray(y)
    site_of = smp["site_id"].astype(str).to_numpy()
    conc = smp[list(pollutants)].apply(pd.to_numeric, errors="coerce").to_numpy(float)
    censored, limit = detection_limits(smp, pollutants)
    ph = (
        pd.to_numeric(smp["ph"], errors="coerce").to_numpy(float)
        if "ph" in smp
        else np.full(len(smp), np.nan)
    )
    land_col = LAND_COLUMN[values.standard]
    lands = smp[land_col].to_numpy(dtype=object) if land_col in smp else None
    ids = (
        smp["sample_id"].astype(str).to_numpy(dtype=object)
        if "sample_id" in smp
        else np.array([f"sample {i + 1}" for i in range(len(smp))], dtype=object)
    )
    geoms = reproject(sites["geometry"].to_numpy(dtype=object), STORAGE_CRS, CHINA_ALBERS)
    mine_ids = sites["mine_id"] if "mine_id" in sites else pd.Series([None] * len(sites))
    out = []
    bounded = has_boundary(geoms)
    for sid, mid, geom, bound in zip(sites["site_id"], mine_ids, geoms, bounded, strict=True):
        keep = site_of == str(sid)
        if not keep.any() or geom is None or shapely.is_empty(geom):
            continue
        if not bound:
            if strict:
                raise InputError(
                    f"site {sid}: {NO_BOUNDARY} (the register gives its centre point and "
                    "declared area only): zoning needs the site's polygon; import it "
                    "(a GIS file or a WKT column with this site_id)",
                    field="geometry",
                )
            continue
        uses = Counter(str(v) for v in (lands[keep] if lands is not None else []) if pd.notna(v))
        if land is not None:
            site_land = str(land)
        elif uses:
            site_land = uses.most_common(1)[0][0]
        else:
            if strict:
                raise InputError(
                    f"site {sid}: its samples have no {land_col}: give it "
                    f"(--{land_col.replace('_', '-')})",
                    field=land_col,
                )
            continue
        if site_land not in values.lands:
            if strict:
                raise InputError(
                    f"site {sid}: {land_col} {site_land!r} is not one of "
                    f"{', '.join(values.lands)} ({soil.label(values.standard)})",
                    field=land_col,
                )
            continue
        res = zoning.zone_site(
            geom,
            x[keep],
            y[keep],
            conc[keep],
            pollutants,
            land=site_land,
            ph=ph[keep],
            standard=values.standard,
            cell_size=cell_size,
            method=method,
            crs=CHINA_ALBERS,
            land_use_after=land_use_after,
            depth_m=depth_m,
            censored=censored[keep],
            detection_limit=limit[keep],
            sample_ids=list(ids[keep]),
            min_zone_area_m2=min_zone_area_m2,
            on=on,
            region=region,
            values=values,
            catalogue=catalogue,
        )
        warnings = list(res.warnings)
        if land is None and len(uses) > 1:
            warnings.append(
                f"samples have several {_LAND_WORDS[land_col]} {dict(uses)}; the site is "
                f"zoned as {site_land!r}"
            )
        mid_s = "" if mid is None or (isinstance(mid, float) and np.isnan(mid)) else str(mid)
        out.append(
            SiteZoning(str(sid), mid_s, res, _site_json(str(sid), mid_s, res, keep, warnings))
        )
    return out


def _site_json(
    sid: str, mid: str, res: zoning.ZoningResult, keep: np.ndarray, warnings: list[str]
) -> dict[str, Any]:
    d = res.as_dict()
    return {
        "site_id": sid,
        "mine_id": mid,
        "crs": CHINA_ALBERS,
        "n_samples": int(keep.sum()),
        "standard": d["standard"],
        "land": d["land"],
        "method": d["method"],
        "method_requested": d["method_requested"],
        "method_used": d["method_used"],
        "cell_size_m": d["cell_size_m"],
        "min_zone_area_m2": d["min_zone_area_m2"],
        "site_area_hm2": d["site_area_hm2"],
        "zones": [
            {
                "zone_id": z.zone_id,
                "zone_class": z.zone_class,
                "area_hm2": z.area_hm2,
                "reassigned_hm2": z.reassigned_hm2,
                "standard_class": z.standard_class,
                "governing_metal": z.governing_metal,
                "governing_index": (
                    z.max_index.get(z.governing_metal) if z.governing_metal else None
                ),
                "exceeding_metals": list(z.exceeding_metals),
                "n_samples": z.n_samples,
                "below_detection": dict(z.below_detection),
                "indeterminate_metals": list(z.indeterminate_metals),
                "techniques": [
                    {
                        "code": t.code,
                        "name": t.name,
                        "name_zh": t.name_zh,
                        "unit_cost_key": t.unit_cost_key,
                        "land_use_after": list(t.land_use_after),
                        "max_depth_m": t.max_depth_m,
                    }
                    for t in z.techniques
                ],
                "rule_codes": list(z.rules),
            }
            for z in res.zones
        ],
        "merges": d["merges"],
        "warnings": warnings,
        "tables": list(res.tables_used),
    }
