"""Pollution gradient zoning of a register's sites from its soil samples.

The register stores sites and sample points in WGS 84 (EPSG:4326); zoning needs metres, so both
are reprojected to the China Albers equal-area projection
(:data:`restora.inventory.geometry.CHINA_ALBERS`), in which zone areas are also measured. Each
site with at least one sample is zoned by :func:`restora.diagnosis.zoning.zone_site` against
GB 15618-2018 (the standard the county diagnosis uses), with the site's land use taken as the
most frequent land use of its samples.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import shapely

from restora.diagnosis import soil, zoning
from restora.diagnosis.techniques import load_catalogue
from restora.inventory.geometry import CHINA_ALBERS, STORAGE_CRS, reproject, transformer

STANDARD = "gb15618"


@dataclass(frozen=True)
class SiteZoning:
    """The zoning of one site: the domain result and the JSON record."""

    site_id: str
    mine_id: str
    result: zoning.ZoningResult
    json: dict[str, Any]


def zone_sites(
    sites: pd.DataFrame,
    samples: pd.DataFrame,
    *,
    method: str = "idw",
    cell_size: float = zoning.DEFAULT_CELL_SIZE_M,
    on: dt.date | str | None = None,
    region: str | None = None,
) -> list[SiteZoning]:
    """Zone every site that has soil samples.

    Parameters
    ----------
    sites : DataFrame
        ``site_id``, ``mine_id`` and ``geometry`` (shapely, lon/lat in EPSG:4326 [degree]).
    samples : DataFrame
        The register's samples: ``site_id``, ``lon``, ``lat`` [degree], ``land_use``
        (GB 15618: paddy, orchard, other), ``ph`` [pH units] and metal concentrations
        [mg/kg] in columns named by the standard's pollutant codes.
    method : {"idw", "ordinary_kriging"}
        Interpolation (kriging falls back to IDW with too few samples; the result says so).
    cell_size : float
        Cell side [m].
    on, region
        Date and 6-digit region code of the reference tables.

    Returns
    -------
    list of SiteZoning
        In the order of ``sites``; sites without samples are left out.

    Notes
    -----
    Sample points :math:`(\\lambda, \\varphi)` are projected to Albers :math:`(x, y)` [m]; see
    :func:`restora.diagnosis.zoning.zone_site` for the interpolation, classification and the
    zone area :math:`A = \\lvert \\bigcup_c c \\cap \\mathrm{site} \\rvert / 10^4` [hm²].

    References
    ----------
    GB 15618-2018 Soil environmental quality — Risk control standard for soil contamination of
    agricultural land. HJ 25.1-2019 / HJ 25.2-2019 (site investigation, sampling density).
    """
    if samples is None or not len(samples) or "site_id" not in samples or not len(sites):
        return []
    values = soil.load_standard(STANDARD, on, region)
    catalogue = load_catalogue(on, region)
    pollutants = tuple(p for p in values.pollutants if p in samples.columns)
    if not pollutants:
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
    ph = (
        pd.to_numeric(smp["ph"], errors="coerce").to_numpy(float)
        if "ph" in smp
        else np.full(len(smp), np.nan)
    )
    land = smp["land_use"].to_numpy(dtype=object) if "land_use" in smp else None
    geoms = reproject(sites["geometry"].to_numpy(dtype=object), STORAGE_CRS, CHINA_ALBERS)
    out = []
    for sid, mid, geom in zip(sites["site_id"], sites["mine_id"], geoms, strict=True):
        keep = site_of == str(sid)
        if not keep.any() or geom is None or shapely.is_empty(geom):
            continue
        uses = Counter(str(v) for v in (land[keep] if land is not None else []) if pd.notna(v))
        if not uses:
            continue
        site_land = uses.most_common(1)[0][0]
        if site_land not in values.lands:
            continue
        res = zoning.zone_site(
            geom,
            x[keep],
            y[keep],
            conc[keep],
            pollutants,
            land=site_land,
            ph=ph[keep],
            standard=STANDARD,
            cell_size=cell_size,
            method=method,
            crs=CHINA_ALBERS,
            on=on,
            region=region,
            values=values,
            catalogue=catalogue,
        )
        warnings = list(res.warnings)
        if len(uses) > 1:
            warnings.append(
                f"samples have several land uses {dict(uses)}; the site is zoned as {site_land!r}"
            )
        out.append(
            SiteZoning(str(sid), str(mid), res, _site_json(str(sid), str(mid), res, keep, warnings))
        )
    return out


def _site_json(
    sid: str, mid: str, res: zoning.ZoningResult, keep: np.ndarray, warnings: list[str]
) -> dict[str, Any]:
    d = res.as_dict()
    return {
        "site_id": sid,
        "mine_id": mid,
        "crs": "China Albers equal-area (restora.inventory.geometry.CHINA_ALBERS)",
        "n_samples": int(keep.sum()),
        "standard": d["standard"],
        "land": d["land"],
        "method": d["method"],
        "method_requested": d["method_requested"],
        "method_used": d["method_used"],
        "cell_size_m": d["cell_size_m"],
        "site_area_hm2": d["site_area_hm2"],
        "zones": [
            {
                "zone_id": z.zone_id,
                "zone_class": z.zone_class,
                "area_hm2": z.area_hm2,
                "standard_class": z.standard_class,
                "governing_metal": z.governing_metal,
                "governing_index": (
                    z.max_index.get(z.governing_metal) if z.governing_metal else None
                ),
                "exceeding_metals": list(z.exceeding_metals),
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
        "warnings": warnings,
        "tables": list(res.tables_used),
    }
