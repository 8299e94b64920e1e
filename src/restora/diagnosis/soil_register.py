"""Soil samples between the register's form and the soil standards' form.

The register keeps a sample as a row: ``land_use``, ``ph``, one column per metal of
:data:`restora.inventory.schema.METALS` [mg/kg] (a result below detection holds its substitute,
``soil/indices/non-detect``), the stated limit of each ``<x`` result in the metal's
detection-limit column (:data:`restora.inventory.model.DETECTION_LIMIT_COLUMNS`) and what the
lab wrote in ``qualifiers`` (``"Hg=ND; As=<70"``). A samples CSV read by
:func:`restora.diagnosis.soil_io.read_samples` gives the same facts as arrays
(:class:`~restora.diagnosis.soil_io.SoilSamples`: concentration, below-detection flags, limits).

:func:`soil_samples` turns register rows into the arrays :func:`restora.diagnosis.soil.classify`
takes; :func:`register_rows` turns the arrays of a file into register rows (for
:func:`restora.diagnosis.county.classify_samples` and the zoning). Both ways carry the
substitute, the flag and the stated limit unchanged, so a sample classifies the same from a
file as from the store.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from restora.diagnosis.soil import load_standard
from restora.diagnosis.soil_io import SoilSamples
from restora.errors import InputError
from restora.inventory.censored import limit_text, read_qualifiers, reconcile_limits
from restora.inventory.model import DETECTION_LIMIT_COLUMNS
from restora.inventory.schema import METALS

#: Register land uses of each standard's samples: GB 15618 farmland, GB 36600 construction land.
LAND_USES = {"gb15618": ("paddy", "orchard", "other"), "gb36600": ("construction",)}
#: Land column of the zoning's sample rows, by standard.
LAND_COLUMN = {"gb15618": "land_use", "gb36600": "land_class"}
#: Register columns passed on with a sample (when present).
PASSED_ON = ("mine_id", "site_id", "lon", "lat", "depth_m", "lab", "sampled_on")


def soil_samples(
    samples: pd.DataFrame,
    standard: str = "gb15618",
    *,
    land_class: str | None = None,
    on: dt.date | str | None = None,
    region: str | None = None,
) -> tuple[SoilSamples, list[str]]:
    """The register's samples of one standard's land, as :func:`restora.diagnosis.soil.classify`
    takes them.

    Parameters
    ----------
    samples : pandas.DataFrame
        Register samples: ``sample_id``, ``land_use``, ``ph`` [pH units], the metals [mg/kg],
        ``qualifiers`` and the detection-limit columns [mg/kg] (either may be absent).
    standard : {"gb15618", "gb36600"}
        GB 15618-2018 takes the farmland samples (paddy, orchard, other); GB 36600-2018 the
        construction-land samples.
    land_class : {"1", "2"}, optional
        GB 36600 land class of every construction-land sample (the register has no column
        for it); required for GB 36600.
    on, region : optional
        Date and 6-digit region code of the standard's tables.

    Returns
    -------
    samples : SoilSamples
        The selected samples in register order: concentrations [mg/kg] of the standard's
        pollutants that the register measures (a metal with no value in any selected sample
        is left out), ``censored`` where the result was below detection (``ND`` or ``<x`` in
        ``qualifiers``, or a stated limit), ``detection_limit`` [mg/kg] (x of ``<x``; NaN
        elsewhere) and ``columns`` with ``mine_id``, ``site_id`` … as in the register.
    notes : list of str
        What was left out and why (samples on other land, metals without values).

    Raises
    ------
    InputError
        No sample on the standard's land; GB 36600 without a valid ``land_class``.
    """
    values = load_standard(standard, on, region)
    std = values.standard
    if std == "gb36600" and land_class not in ("1", "2"):
        raise InputError(
            "GB 36600 needs the land class of the construction-land samples: give "
            "--land-class 1 or 2",
            field="--land-class",
        )
    uses = LAND_USES[std]
    land_use = samples["land_use"].astype(object) if len(samples) else pd.Series(dtype=object)
    keep = land_use.isin(list(uses)).to_numpy(dtype=bool)
    notes: list[str] = []
    left = int((~keep).sum())
    if left:
        other = "gb36600 --land-class 1|2" if std == "gb15618" else "gb15618"
        notes.append(
            f"{left} sample(s) on land other than {', '.join(uses)} left out "
            f"(use --standard {other} for them)"
        )
    rows = samples[keep].reset_index(drop=True)
    if not len(rows):
        raise InputError(f"no sample on {', '.join(uses)} land to classify against {std}")
    rows = reconcile_limits(rows, DETECTION_LIMIT_COLUMNS)
    metals = [p for p in values.pollutants if p in METALS and p in rows.columns]
    measured = [p for p in metals if pd.to_numeric(rows[p], errors="coerce").notna().any()]
    absent = [p for p in values.pollutants if p not in measured]
    if absent:
        notes.append(f"no value of {', '.join(absent)} in these samples: not assessed")
    conc = rows.reindex(columns=measured).apply(pd.to_numeric, errors="coerce")
    limit = rows[[DETECTION_LIMIT_COLUMNS[p] for p in measured]].to_numpy(dtype=float)
    flagged, _ = read_qualifiers(rows["qualifiers"].astype(object), measured)
    censored = flagged.to_numpy(dtype=bool) | np.isfinite(limit)
    land = (
        rows["land_use"].to_numpy(dtype=object)
        if std == "gb15618"
        else np.full(len(rows), land_class, dtype=object)
    )
    columns = {
        c: rows[c].to_numpy(dtype=float if c in ("lon", "lat", "depth_m") else object)
        for c in PASSED_ON
        if c in rows.columns
    }
    data = SoilSamples(
        standard=std,
        sample_id=rows["sample_id"].astype(str).to_numpy(dtype=object),
        pollutants=tuple(measured),
        concentration=conc.to_numpy(dtype=float).reshape(len(rows), len(measured)),
        censored=censored,
        land=land,
        ph=pd.to_numeric(rows["ph"], errors="coerce").to_numpy(dtype=float),
        columns=columns,
        detection_limit=limit.reshape(len(rows), len(measured)),
    )
    return data, notes


def register_rows(data: SoilSamples) -> pd.DataFrame:
    """Samples read from a file as register rows (the inverse of :func:`soil_samples`).

    Parameters
    ----------
    data : SoilSamples
        From :func:`restora.diagnosis.soil_io.read_samples`.

    Returns
    -------
    pandas.DataFrame
        ``sample_id``, the columns the file had among ``mine_id, site_id, lon, lat, depth_m,
        lab, sampled_on``, the land (``land_use`` for GB 15618, ``land_class`` for GB 36600),
        ``ph`` [pH units], one column per pollutant [mg/kg] (the substitute of a result below
        detection), the detection-limit column of each metal of the register [mg/kg] and
        ``qualifiers`` (``"Hg=ND; As=<70"``: what the lab wrote for each result below
        detection), in the file's order.
    """
    n = len(data)
    frame = pd.DataFrame({"sample_id": data.sample_id})
    for c in PASSED_ON:
        if c in data.columns:
            frame[c] = data.columns[c]
    frame[LAND_COLUMN[data.standard]] = data.land
    frame["ph"] = data.ph if data.ph is not None else np.full(n, np.nan)
    limits = (
        data.detection_limit
        if data.detection_limit is not None
        else np.full(data.concentration.shape, np.nan)
    )
    notes: list[list[str]] = [[] for _ in range(n)]
    for j, p in enumerate(data.pollutants):
        frame[p] = data.concentration[:, j]
        if p in DETECTION_LIMIT_COLUMNS:
            frame[DETECTION_LIMIT_COLUMNS[p]] = limits[:, j]
        for r in np.flatnonzero(data.censored[:, j]):
            stated = limits[r, j]
            notes[r].append(f"{p}={limit_text(stated) if np.isfinite(stated) else 'ND'}")
    frame["qualifiers"] = pd.Series(["; ".join(x) if x else None for x in notes], dtype=object)
    return frame
