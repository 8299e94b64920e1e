"""Equivalent-factor ESV (Xie et al. 2015) of a land-cover raster, block by block.

The raster engine (:mod:`restora.valuation.raster`) counts the pixels of each land-cover code in
one pass over the GeoTIFF (bounded memory, both cores); the codes are mapped to the 14 ecosystem
types through the editable reference table ``valuation/landcover/ecosystem_types`` (schemes
``esa_worldcover``, ``clcd``, ``gbt21010``), the areas per type go through the same
:func:`restora.valuation.esv.run` as ``restora value esv``, and, on request, a second pass writes
the per-pixel value map [CNY/yr per pixel] (float32, tiled, compressed). A code missing from the
mapping is an error naming the code and its pixel count before any map is written.

Notes
-----
:math:`A_t = n_t \\cdot a_{px}` with :math:`n_t` the pixels mapped to type *t* and
:math:`a_{px}` the pixel area [hm²]; :math:`ESV = \\sum_t \\sum_s A_t VC_{t,s} E`.

References
----------
Xie G.D., Zhang C.X., Zhang L.M., Su N., Cao S.Y. 2015. Journal of Natural Resources
30(8): 1243-1254.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from restora import refdata
from restora.errors import InputError
from restora.valuation import esv, location, raster
from restora.valuation.landcover import NO_TYPE, LandCoverMapping

RASTER_SCHEMES = ("esa_worldcover", "clcd", "gbt21010")
MAP_NAME = "esv"
ADJUSTED_NAME = "esv_location_adjusted"
MAP_NODATA = -1.0
DENSITY_KEY = "population_per_km2"
LOCATION_KEYS = ("town", "ecological_function_area", "main_road", DENSITY_KEY)


@dataclass(frozen=True)
class EsvRasterResult:
    """ESV of a land-cover raster: the ``restora value esv`` result plus the raster's counts."""

    esv: esv.EsvResult
    scheme: str
    pixel_area_hm2: float
    pixels_by_code: dict[int, int]
    outputs: dict[str, str] = field(default_factory=dict)
    location_adjusted_total_cny_per_yr: float | None = None

    def to_dict(self) -> dict[str, Any]:
        out = self.esv.to_dict()
        out.update(
            {
                "scheme": self.scheme,
                "pixel_area_hm2": self.pixel_area_hm2,
                "pixels_by_code": {str(k): v for k, v in self.pixels_by_code.items()},
                "outputs": self.outputs,
                "location_adjusted_total_cny_per_yr": self.location_adjusted_total_cny_per_yr,
            }
        )
        out["tables"] = [*out["tables"]]
        return out


def _check_scheme(scheme: str) -> None:
    if scheme not in RASTER_SCHEMES:
        raise InputError(
            f"unknown raster land-cover scheme {scheme!r}; use one of {', '.join(RASTER_SCHEMES)}",
            field="scheme",
        )


def _known_codes(mapping: LandCoverMapping, scheme: str) -> list[int]:
    codes = mapping.rows.loc[mapping.rows["scheme"] == scheme, "code"]
    return [int(c) for c in codes if str(c).isdigit()]


def _code_text(scheme: str, code: int) -> str:
    # GB/T 21010 codes are written with a leading zero ("0101"); a raster stores 101
    return str(code).zfill(4) if scheme == "gbt21010" else str(code)


def esv_of_raster(
    lulc: str | Path,
    scheme: str,
    *,
    equivalent_value_cny_per_hm2: float | None = None,
    price_year: int | None = None,
    out_dir: str | Path | None = None,
    workers: int = 2,
    on: dt.date | str | None = None,
    region: str | None = None,
    progress: raster.ProgressCallback | None = None,
    compress: str = raster.DEFAULT_COMPRESSION,
    location_rasters: Mapping[str, str | Path] | None = None,
) -> EsvRasterResult:
    """Equivalent-factor ESV of a land-cover GeoTIFF.

    Parameters
    ----------
    lulc : str or Path
        Land cover: integer codes of ``scheme``, projected CRS (pixel area from the grid).
    scheme : {"esa_worldcover", "clcd", "gbt21010"}
        Classification of the codes (mapped by ``valuation/landcover/ecosystem_types``).
    equivalent_value_cny_per_hm2 : float, optional
        Value of one standard equivalent [CNY/hm²/yr]; default the paper's (reference table).
    price_year : int, optional
        Price year of a user-given equivalent value.
    out_dir : str or Path, optional
        Write ``esv.tif`` [CNY/yr per pixel] here.
    workers : int
        Threads [count].
    on, region
        Date and GB/T 2260 region whose reference tables apply.
    location_rasters : mapping, optional
        Rasters on the land cover's grid for the location adjustment
        (:func:`restora.valuation.location.location_coefficient`): ``town``,
        ``ecological_function_area``, ``main_road`` (distances [km]) and ``population_per_km2``
        [persons/km²]. A pixel where one of them is nodata takes that factor as neutral (1).
        The adjusted total is reported beside the unadjusted one, and with ``out_dir`` the
        adjusted map ``esv_location_adjusted.tif`` is written too.

    Returns
    -------
    EsvRasterResult
    """
    _check_scheme(scheme)
    info = raster.describe(lulc)
    raster.check_integer(info, "land cover")
    pixel_ha = info.pixel_area_ha
    if out_dir is not None:
        raster.compression_options(compress)  # an unknown name fails before any pixel is read
    loc_infos = _check_location_rasters(info, location_rasters or {})
    mapping = LandCoverMapping.load(on, region)
    offset, size = raster.histogram_span(info.dtype, _known_codes(mapping, scheme))
    windows = raster.plan_windows(info.width, info.height, info.block_shape)
    counts = raster.class_histogram(
        [info.path], offset, size, windows=windows, workers=workers, progress=progress
    )[0]
    nodata = None if info.nodata is None else int(info.nodata)
    result, type_of_code, areas, present = _esv_from_counts(
        counts, offset, nodata, scheme, pixel_ha, mapping, info.path,
        equivalent_value_cny_per_hm2, price_year, on, region,
    )  # fmt: skip
    outputs: dict[str, str] = {}
    adjusted: float | None = None
    if out_dir is not None or loc_infos:
        per_hm2 = {
            t: (result.by_type[t] / areas[t] if areas[t] > 0 else 0.0) for t in mapping.types
        }
        table = np.full(size, np.nan)
        for code, t in type_of_code.items():
            table[code - offset] = 0.0 if t == NO_TYPE else per_hm2[mapping.types[t]] * pixel_ha
        params = None
        if loc_infos:
            loc_table = refdata.get(location.TABLE, on=on, region=region)
            params = loc_table.data
            result.tables.append(loc_table.provenance())
        outputs, adjusted = _value_pass(
            info, table, offset, nodata, loc_infos, params,
            Path(out_dir) if out_dir is not None else None, workers, compress,
        )  # fmt: skip
    return EsvRasterResult(
        esv=result,
        scheme=scheme,
        pixel_area_hm2=pixel_ha,
        pixels_by_code=present,
        outputs=outputs,
        location_adjusted_total_cny_per_yr=adjusted,
    )


def _check_location_rasters(
    info: raster.RasterInfo, paths: Mapping[str, str | Path]
) -> dict[str, raster.RasterInfo]:
    """Describe the location rasters and require the land cover's grid (before any read)."""
    unknown = sorted(set(paths) - set(LOCATION_KEYS))
    if unknown:
        raise InputError(
            f"unknown location raster(s) {unknown}; use {', '.join(LOCATION_KEYS)}",
            field="location",
        )
    out = {}
    for key, path in paths.items():
        other = raster.describe(path)
        raster.check_same_grid(info, other)
        out[key] = other
    return out


def _esv_from_counts(
    counts: npt.NDArray[np.int64],
    offset: int,
    nodata: int | None,
    scheme: str,
    pixel_ha: float,
    mapping: LandCoverMapping,
    file: str | None,
    equivalent_value_cny_per_hm2: float | None,
    price_year: int | None,
    on: dt.date | str | None,
    region: str | None,
) -> tuple[esv.EsvResult, dict[int, int], dict[str, float], dict[int, int]]:
    """ESV from pixel counts per code: the result, type index per code, areas [hm²], counts."""
    if counts[-1]:
        raise InputError(
            f"{counts[-1]} pixel(s) have codes outside the {scheme} mapping "
            f"(add them to valuation/landcover/ecosystem_types)",
            file=file,
        )
    present = {
        int(offset + i): int(n)
        for i, n in enumerate(counts[:-1])
        if n and (nodata is None or offset + i != nodata)
    }
    missing = []
    type_of_code: dict[int, int] = {}
    for code in present:
        try:
            type_of_code[code] = int(mapping.type_index(scheme, [_code_text(scheme, code)])[0])
        except InputError:
            missing.append(f"{code} ({present[code]} pixels)")
    if missing:
        raise InputError(
            f"land-cover code(s) not in the {scheme} mapping: {', '.join(missing)} "
            "(add them to valuation/landcover/ecosystem_types)",
            file=file,
        )
    areas = dict.fromkeys(mapping.types, 0.0)
    for code, n in present.items():
        t = type_of_code[code]
        if t != NO_TYPE:
            areas[mapping.types[t]] += n * pixel_ha
    result = esv.run(
        esv.XieInput.model_validate(
            {
                "areas_hm2": areas,
                "equivalent_value_cny_per_hm2": equivalent_value_cny_per_hm2,
                "price_year": price_year,
            }
        ),
        on=on,
        region=region,
    )
    result.tables.append(mapping.provenance)
    return result, type_of_code, areas, present


def esv_of_dask(
    lulc: Any,
    scheme: str,
    *,
    pixel_area_hm2: float,
    nodata: int | None = None,
    equivalent_value_cny_per_hm2: float | None = None,
    price_year: int | None = None,
    on: dt.date | str | None = None,
    region: str | None = None,
) -> EsvRasterResult:
    """The same ESV of land cover held as a dask array (xarray/rioxarray), e.g. on a cluster.

    Each chunk is counted where it lives (:func:`restora.valuation.raster.dask_histogram`);
    only the counts travel. ``pixel_area_hm2`` [hm²] is the area of one pixel.
    """
    mapping = LandCoverMapping.load(on, region)
    known = [
        int(c)
        for c in mapping.rows.loc[mapping.rows["scheme"] == scheme, "code"]
        if str(c).isdigit()
    ]
    data = lulc.data if hasattr(lulc, "dims") else lulc
    offset, size = raster.histogram_span(data.dtype, known)
    counts = raster.dask_histogram(lulc, offset, size)
    result, _, _, present = _esv_from_counts(
        counts, offset, nodata, scheme, pixel_area_hm2, mapping, None,
        equivalent_value_cny_per_hm2, price_year, on, region,
    )  # fmt: skip
    return EsvRasterResult(
        esv=result, scheme=scheme, pixel_area_hm2=pixel_area_hm2, pixels_by_code=present
    )


def _value_pass(
    info: raster.RasterInfo,
    table: npt.NDArray[np.float64],
    offset: int,
    nodata: int | None,
    loc_infos: Mapping[str, raster.RasterInfo],
    params: Mapping[str, Any] | None,
    out_dir: Path | None,
    workers: int,
    compress: str,
) -> tuple[dict[str, str], float | None]:
    """Second pass: per-pixel values [CNY/yr per pixel], location-adjusted where asked.

    Returns the maps written (if ``out_dir``) and the location-adjusted total [CNY/yr] (if
    location rasters are given).
    """
    keys = list(loc_infos)
    meta = {}
    if out_dir is not None:
        meta[MAP_NAME] = ("ecosystem-service value, Xie et al. 2015", "CNY/yr per pixel")
        if keys:
            meta[ADJUSTED_NAME] = ("ESV, location-adjusted", "CNY/yr per pixel")
    maps = (
        raster.MapSet(out_dir, info, meta, nodata=MAP_NODATA, compress=compress)
        if out_dir is not None
        else None
    )
    total = [0.0]

    def fn(arrays: list[npt.NDArray[Any]], _w: raster.Window) -> tuple[float, dict[str, Any]]:
        values = raster.lookup(arrays[0], offset, table, nodata, fill=np.nan)
        blocks: dict[str, Any] = {}
        adjusted_sum = 0.0
        if keys and params is not None:
            k = location.location_coefficient(
                *_location_inputs(keys, arrays[1:], [loc_infos[x].nodata for x in keys], params),
                params,
            )
            adj = values * k
            adjusted_sum = float(np.nansum(adj))
            blocks[ADJUSTED_NAME] = np.where(np.isnan(adj), MAP_NODATA, adj).astype(np.float32)
        blocks[MAP_NAME] = np.where(np.isnan(values), MAP_NODATA, values).astype(np.float32)
        return adjusted_sum, blocks

    def consume(w: raster.Window, res: tuple[float, dict[str, Any]]) -> None:
        total[0] += res[0]
        if maps is not None:
            maps.write(w, {n: res[1][n] for n in meta})

    paths = [info.path] + [loc_infos[x].path for x in keys]
    windows = raster.plan_windows(info.width, info.height, info.block_shape)
    try:
        raster.run_blocks(paths, fn, windows, consume, workers=workers)
        outputs = maps.commit() if maps is not None else {}
    except BaseException:
        if maps is not None:
            maps.discard()
        raise
    return outputs, (total[0] if keys else None)


def _location_inputs(
    keys: list[str],
    arrays: list[npt.NDArray[Any]],
    nodatas: list[float | None],
    params: Mapping[str, Any],
) -> tuple[dict[str, npt.NDArray[np.float64]], npt.NDArray[np.float64] | None]:
    """Distances [km] and density [persons/km²]; nodata pixels take the neutral value."""
    distances: dict[str, npt.NDArray[np.float64]] = {}
    density = None
    for key, arr, nd in zip(keys, arrays, nodatas, strict=True):
        a = np.asarray(arr, dtype=np.float64)
        missing = ~np.isfinite(a) if nd is None else (~np.isfinite(a) | (a == nd))
        if key == DENSITY_KEY:
            neutral = float(params["population_density"]["reference_persons_per_km2"])
            density = np.where(missing, neutral, a)
        else:
            neutral = float(params["factors"][key]["neutral_km"])
            distances[key] = np.where(missing, neutral, a)
    return distances, density
