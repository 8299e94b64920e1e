"""Reading NDVI and water-index rasters and the zones to summarise them over (rasterio, geopandas).

The pure models are in :mod:`restora.monitoring.fvc`; this module reads pixels and geometries:

* :func:`raster_info` describes a raster and requires a projected CRS, so that a pixel's area
  comes from the grid (metres), never from degrees.
* :func:`read_zones` reads a zone layer (GeoPackage, GeoJSON, Shapefile …); :func:`zones_from_wkb`
  turns a mine's sites (WKB, EPSG:4326) into zones. Zones are reprojected to the raster's CRS
  (pyproj, through geopandas) before they are rasterised.
* :func:`sample_zones` reads the window that covers the zones block by block and keeps, for each
  zone, the values of the pixels whose centre lies inside its polygon (GDAL's rule,
  ``all_touched=False``). Memory is bounded by the zones' pixels, not the raster's; zones may
  overlap (each is rasterised on its own).
* :func:`iter_values` reads a whole raster block by block (the scene statistics and the
  scene's percentiles, :func:`restora.monitoring.fvc.exact_percentiles`), and
  :func:`write_map` writes a derived map (FVC, ΔFVC) window by window.

Values come back as float64 NDVI (or index) after the scale factor, NaN where invalid.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from restora.errors import InputError
from restora.monitoring import fvc as fvc_model
from restora.valuation.raster import (
    RasterInfo,
    Window,
    check_same_grid,
    describe,
    plan_windows,
)

#: Pixels read per window [count] (4 Mi px: 32 MiB as float64).
WINDOW_PIXELS = 1 << 22


@dataclass(frozen=True)
class Zone:
    """A polygon to summarise a raster over: its id, name and geometry (shapely) in ``crs``."""

    zone_id: str
    name: str | None
    geometry: Any
    crs: Any


@dataclass(frozen=True)
class ZoneSample:
    """A zone's pixels in a raster: their values (float64, NaN where invalid) in raster order."""

    zone: Zone
    values: npt.NDArray[np.float64]


@dataclass(frozen=True)
class Scaling:
    """How stored values become the index: ``value = raw × scale + offset``; ``nodata`` overrides
    the file's nodata value when given."""

    scale: float = 1.0
    offset: float = 0.0
    nodata: float | None = None


def raster_info(path: str | Path) -> RasterInfo:
    """The raster's header; refuses a raster without a projected CRS (pixel area unknown).

    Raises
    ------
    InputError
        Unreadable file, or a geographic / missing CRS.
    """
    info = describe(path)
    if info.pixel_area_m2 is None:
        raise InputError(
            "the raster has no projected coordinate reference system (its pixels are in degrees "
            "or undefined), so a pixel's area is unknown; reproject it to a projected CRS in "
            "metres, preferably equal-area (e.g. gdalwarp -t_srs EPSG:4547 or an Albers "
            "projection)",
            file=info.path,
        )
    return info


def sha256_file(path: str | Path) -> str:
    """SHA-256 of a file (hex), read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# --------------------------------------------------------------------------- zones


def read_zones(
    path: str | Path, *, layer: str | None = None, id_field: str | None = None
) -> list[Zone]:
    """Zones from a GIS file: one per polygon feature.

    Parameters
    ----------
    path : str or Path
        GeoPackage, GeoJSON, Shapefile … (anything pyogrio reads).
    layer : str, optional
        The layer of a multi-layer file.
    id_field : str, optional
        Column with the zone id; by default ``zone_id``, ``site_id``, ``id`` or ``name``
        (the first present), else the feature number (1-based).

    Raises
    ------
    InputError
        Unreadable file, no CRS, a missing id field, duplicate ids, or a feature without a
        polygon (naming the feature).
    """
    import geopandas as gpd

    p = str(path)
    if not Path(p).exists():
        raise InputError("no such file", file=p)
    try:
        gdf = gpd.read_file(p, layer=layer)
    except Exception as exc:  # pyogrio raises its own DataSourceError, DataLayerError …
        raise InputError(f"not a vector file GDAL can read ({exc})", file=p) from exc
    if gdf.crs is None:
        raise InputError("the zone layer has no coordinate reference system", file=p)
    if id_field is None:
        id_field = next((c for c in ("zone_id", "site_id", "id", "name") if c in gdf.columns), None)
    elif id_field not in gdf.columns:
        raise InputError(
            f"no column {id_field!r} (columns: {', '.join(map(str, gdf.columns))})",
            file=p,
            field=id_field,
        )
    ids = [str(v) for v in gdf[id_field]] if id_field else [str(i + 1) for i in range(len(gdf))]
    names = [str(v) for v in gdf["name"]] if "name" in gdf.columns else [None] * len(gdf)
    seen: set[str] = set()
    zones = []
    for i, (zid, name, geom) in enumerate(zip(ids, names, gdf.geometry, strict=True)):
        if geom is None or geom.is_empty or geom.geom_type not in ("Polygon", "MultiPolygon"):
            kind = "no geometry" if geom is None or geom.is_empty else geom.geom_type
            raise InputError(f"zone {zid!r} is not a polygon ({kind})", file=p, row=i + 1)
        if zid in seen:
            raise InputError(f"zone id {zid!r} appears twice", file=p, row=i + 1, field=id_field)
        seen.add(zid)
        zones.append(Zone(zid, name, geom, gdf.crs))
    if not zones:
        raise InputError("the zone layer has no features", file=p)
    return zones


def zones_from_wkb(records: Sequence[dict[str, Any]]) -> list[Zone]:
    """Zones from records with ``zone_id``, ``name`` and ``wkb`` (EPSG:4326), e.g. a mine's
    sites from :func:`restora.store.remote_sensing.mine_zones`."""
    import shapely
    from pyproj import CRS

    wgs84 = CRS.from_epsg(4326)
    return [Zone(r["zone_id"], r.get("name"), shapely.from_wkb(r["wkb"]), wgs84) for r in records]


def _to_crs(zones: Sequence[Zone], crs_wkt: str) -> list[Any]:
    import geopandas as gpd

    out: list[Any] = []
    for z in zones:
        g = gpd.GeoSeries([z.geometry], crs=z.crs).to_crs(crs_wkt)
        out.append(g.iloc[0])
    return out


# --------------------------------------------------------------------------- reading


def _scaled(raw: npt.NDArray[Any], info: RasterInfo, scaling: Scaling) -> npt.NDArray[np.float64]:
    nodata = scaling.nodata if scaling.nodata is not None else info.nodata
    return fvc_model.to_ndvi(raw, scale=scaling.scale, offset=scaling.offset, nodata=nodata)


def _windows_of(info: RasterInfo, bounds: Window | None = None) -> list[Window]:
    if bounds is None:
        return plan_windows(info.width, info.height, info.block_shape, WINDOW_PIXELS)
    inner = plan_windows(bounds.width, bounds.height, info.block_shape, WINDOW_PIXELS)
    return [
        Window(w.row_off + bounds.row_off, w.col_off + bounds.col_off, w.height, w.width)
        for w in inner
    ]


def iter_values(
    path: str | Path,
    scaling: Scaling = Scaling(),
    *,
    progress: Callable[[int], None] | None = None,
) -> Iterator[tuple[Window, npt.NDArray[np.float64]]]:
    """The raster's scaled values window by window (NaN where invalid).

    ``progress`` is called with the number of pixels of each window read.
    """
    import rasterio

    info = raster_info(path)
    with rasterio.open(info.path) as ds:
        for w in _windows_of(info):
            raw = ds.read(1, window=w.to_rasterio())
            yield w, _scaled(raw, info, scaling)
            if progress is not None:
                progress(w.pixels)


def sample_zones(
    path: str | Path,
    zones: Sequence[Zone],
    scaling: Scaling = Scaling(),
    *,
    info: RasterInfo | None = None,
) -> list[ZoneSample]:
    """Each zone's pixel values (pixel centre inside the polygon), read block by block.

    Parameters
    ----------
    path : str or Path
        The raster (projected CRS).
    zones : sequence of Zone
        In any CRS; reprojected to the raster's.
    scaling : Scaling
        Scale factor, offset and nodata.
    info : RasterInfo, optional
        The raster's header if already read.

    Returns
    -------
    list of ZoneSample
        In the order of ``zones``; a zone outside the raster has no values.
    """
    import rasterio
    from rasterio.features import geometry_mask
    from rasterio.transform import Affine, rowcol

    info = info or raster_info(path)
    transform = Affine(*info.transform)
    geoms = _to_crs(zones, info.crs_wkt or "")
    # the window that covers every zone's bounding box, clipped to the raster
    spans = []
    for g in geoms:
        x0, y0, x1, y1 = g.bounds
        rows, cols = rowcol(transform, [x0, x1, x0, x1], [y0, y0, y1, y1], op=np.floor)
        spans.append((int(min(rows)), int(max(rows)), int(min(cols)), int(max(cols))))
    r0 = max(0, min(s[0] for s in spans))
    r1 = min(info.height - 1, max(s[1] for s in spans))
    c0 = max(0, min(s[2] for s in spans))
    c1 = min(info.width - 1, max(s[3] for s in spans))
    parts: list[list[npt.NDArray[np.float64]]] = [[] for _ in zones]
    if r0 <= r1 and c0 <= c1:
        union = Window(r0, c0, r1 - r0 + 1, c1 - c0 + 1)
        with rasterio.open(info.path) as ds:
            for w in _windows_of(info, union):
                values: npt.NDArray[np.float64] | None = None
                w_transform = transform @ Affine.translation(w.col_off, w.row_off)
                for i, (g, s) in enumerate(zip(geoms, spans, strict=True)):
                    if s[1] < w.row_off or s[0] >= w.row_off + w.height:
                        continue
                    if s[3] < w.col_off or s[2] >= w.col_off + w.width:
                        continue
                    inside = geometry_mask(
                        [g], out_shape=(w.height, w.width), transform=w_transform, invert=True
                    )
                    if not inside.any():
                        continue
                    if values is None:
                        values = _scaled(ds.read(1, window=w.to_rasterio()), info, scaling)
                    parts[i].append(values[inside])
    return [
        ZoneSample(z, np.concatenate(p) if p else np.empty(0, dtype=np.float64))
        for z, p in zip(zones, parts, strict=True)
    ]


def check_grids(a: RasterInfo, b: RasterInfo) -> None:
    """Two rasters on the same grid, pixel for pixel (no silent resampling)."""
    check_same_grid(a, b)


def write_map(
    path: str | Path,
    info: RasterInfo,
    windows: Iterator[tuple[Window, npt.NDArray[np.float64]]],
    *,
    description: str,
) -> None:
    """Write a float32 map on ``info``'s grid (NaN as nodata), window by window.

    The file is written under a temporary name and renamed when complete.
    """
    import rasterio
    from rasterio.transform import Affine

    from restora.valuation.raster import COMPRESSIONS, DEFAULT_COMPRESSION, OUTPUT_OPTIONS

    out = Path(path)
    tmp = out.with_name(out.name + ".part")
    profile = dict(
        OUTPUT_OPTIONS,
        **COMPRESSIONS[DEFAULT_COMPRESSION],
        width=info.width,
        height=info.height,
        count=1,
        dtype="float32",
        crs=info.crs_wkt,
        transform=Affine(*info.transform),
        nodata=float("nan"),
    )
    if info.width < 256 or info.height < 256:
        profile["tiled"] = False
        profile.pop("blockxsize")
        profile.pop("blockysize")
    try:
        with rasterio.open(tmp, "w", **profile) as dst:
            dst.set_band_description(1, description)
            for w, values in windows:
                dst.write(values.astype(np.float32), 1, window=w.to_rasterio())
        tmp.replace(out)
    finally:
        tmp.unlink(missing_ok=True)


# --------------------------------------------------------------------------- the analyses

#: Where the percentile end-members come from: all valid pixels of the raster, or of the zones.
SCOPES = ("scene", "zones")


@dataclass(frozen=True)
class FvcRun:
    """An FVC analysis of one raster: the end-members, the per-zone covers, the parameters."""

    path: str
    info: RasterInfo
    endmembers: fvc_model.Endmembers
    covers: list[fvc_model.ZoneCover]
    params: dict[str, Any]


def endmembers_for(
    path: str | Path,
    *,
    scaling: Scaling,
    soil: float | None,
    veg: float | None,
    percentiles: tuple[float, float],
    scope: str,
    samples: Sequence[ZoneSample] | None = None,
) -> fvc_model.Endmembers:
    """NDVI_soil and NDVI_veg: given (both), or percentiles of the scene or of the zones.

    ``scope="scene"`` streams the whole raster (:func:`fvc.exact_percentiles`, bounded memory);
    ``scope="zones"`` uses the valid pixels of ``samples`` (a pixel in two overlapping zones
    counts twice).
    """
    if (soil is None) != (veg is None):
        raise InputError("give both NDVI_soil and NDVI_veg (--soil and --veg), or neither")
    if soil is not None and veg is not None:
        fvc_model.check_endmembers(soil, veg)
        return fvc_model.Endmembers(float(soil), float(veg), "given")
    if scope not in SCOPES:
        raise InputError(f"unknown scope {scope!r} (one of {', '.join(SCOPES)})", field="scope")
    if scope == "zones":
        if not samples:
            raise InputError("scope 'zones' needs zones (--zones or --mine)", field="scope")
        values = np.concatenate([s.values for s in samples])
        return fvc_model.percentile_endmembers(values, percentiles, scope="zones")
    try:
        (soil_v, veg_v), n = fvc_model.exact_percentiles(
            lambda: (v for _, v in iter_values(path, scaling)), percentiles
        )
    except InputError as exc:
        raise InputError("no valid NDVI pixel in the raster", file=str(path)) from exc
    fvc_model.check_endmembers(
        float(soil_v), float(veg_v), where=f" (the {percentiles} percentiles)"
    )
    return fvc_model.Endmembers(float(soil_v), float(veg_v), "percentile", "scene", percentiles, n)


def _params(
    info: RasterInfo, scaling: Scaling, e: fvc_model.Endmembers, scheme: fvc_model.ClassScheme
) -> dict[str, Any]:
    return {
        "method": "dimidiate pixel model (Gutman & Ignatov 1998, doi:10.1080/014311698215333)",
        "endmembers": e.as_dict(),
        "scale": scaling.scale,
        "offset": scaling.offset,
        "nodata": scaling.nodata if scaling.nodata is not None else info.nodata,
        "pixel_area_m2": info.pixel_area_m2,
        "crs": info.crs_wkt,
        "classes": [{"code": c.code, "lower": c.lower, "upper": c.upper} for c in scheme.classes],
        "bare_below": scheme.bare_below,
        "vegetated_from": scheme.vegetated_from,
        "classes_source": scheme.source,
    }


def fvc_zones(
    path: str | Path,
    zones: Sequence[Zone],
    *,
    scaling: Scaling = Scaling(),
    soil: float | None = None,
    veg: float | None = None,
    percentiles: tuple[float, float] = (5.0, 95.0),
    scope: str = "scene",
    scheme: fvc_model.ClassScheme,
) -> FvcRun:
    """FVC statistics of each zone of an NDVI raster (:func:`fvc.zone_cover`)."""
    info = raster_info(path)
    samples = sample_zones(path, zones, scaling, info=info)
    e = endmembers_for(
        path,
        scaling=scaling,
        soil=soil,
        veg=veg,
        percentiles=percentiles,
        scope=scope,
        samples=samples,
    )
    area = float(info.pixel_area_m2 or 0.0)
    covers = [
        fvc_model.zone_cover(
            s.zone.zone_id,
            fvc_model.dimidiate_fvc(s.values, e.ndvi_soil, e.ndvi_veg),
            area,
            scheme,
            name=s.zone.name,
        )
        for s in samples
    ]
    return FvcRun(info.path, info, e, covers, _params(info, scaling, e, scheme))


def fvc_scene(
    path: str | Path,
    *,
    scaling: Scaling = Scaling(),
    soil: float | None = None,
    veg: float | None = None,
    percentiles: tuple[float, float] = (5.0, 95.0),
    scheme: fvc_model.ClassScheme,
    out: str | Path | None = None,
    progress: Callable[[int], None] | None = None,
) -> FvcRun:
    """FVC statistics of the whole raster (one zone, ``"scene"``), in bounded memory; with
    ``out``, the FVC map is written too (float32 GeoTIFF, same grid)."""
    info = raster_info(path)
    e = endmembers_for(
        path, scaling=scaling, soil=soil, veg=veg, percentiles=percentiles, scope="scene"
    )
    area = float(info.pixel_area_m2 or 0.0)

    def fvc_windows() -> Iterator[tuple[Window, npt.NDArray[np.float64]]]:
        for w, v in iter_values(path, scaling, progress=progress):
            yield w, fvc_model.dimidiate_fvc(v, e.ndvi_soil, e.ndvi_veg)

    parts = []
    if out is not None:
        collected: list[fvc_model.ZoneCover] = []

        def tee() -> Iterator[tuple[Window, npt.NDArray[np.float64]]]:
            for w, f in fvc_windows():
                collected.append(fvc_model.zone_cover("scene", f, area, scheme))
                yield w, f

        write_map(out, info, tee(), description="fractional vegetation cover (0-1)")
        parts = collected
    else:
        parts = [fvc_model.zone_cover("scene", f, area, scheme) for _, f in fvc_windows()]
    valid = sum(p.valid_pixels for p in parts)
    median = None
    if valid:
        (median,), _ = fvc_model.exact_percentiles(
            lambda: (f for _, f in fvc_windows_quiet(path, scaling, e)), [50.0]
        )
    cover = combine_covers("scene", None, parts, median=median)
    return FvcRun(info.path, info, e, [cover], _params(info, scaling, e, scheme))


def fvc_windows_quiet(
    path: str | Path, scaling: Scaling, e: fvc_model.Endmembers
) -> Iterator[tuple[Window, npt.NDArray[np.float64]]]:
    """FVC window by window (no progress callback)."""
    for w, v in iter_values(path, scaling):
        yield w, fvc_model.dimidiate_fvc(v, e.ndvi_soil, e.ndvi_veg)


def combine_covers(
    zone_id: str,
    name: str | None,
    parts: Sequence[fvc_model.ZoneCover],
    *,
    median: float | None,
) -> fvc_model.ZoneCover:
    """One zone's cover from the covers of its pieces (windows): counts and areas add up, the
    mean is weighted by valid pixels; the median is given (it does not combine)."""
    valid = sum(p.valid_pixels for p in parts)
    valid_area = sum(p.valid_area_m2 for p in parts)
    codes = list(parts[0].class_area_m2) if parts else []
    class_area = {c: sum(p.class_area_m2[c] for p in parts) for c in codes}
    mean = sum((p.fvc_mean or 0.0) * p.valid_pixels for p in parts) / valid if valid else None
    return fvc_model.ZoneCover(
        zone_id=zone_id,
        name=name,
        pixels=sum(p.pixels for p in parts),
        valid_pixels=valid,
        area_m2=sum(p.area_m2 for p in parts),
        valid_area_m2=valid_area,
        fvc_mean=mean,
        fvc_median=median if valid else None,
        class_area_m2=class_area,
        class_share={c: (a / valid_area if valid else None) for c, a in class_area.items()},
        bare_area_m2=sum(p.bare_area_m2 for p in parts),
        vegetated_area_m2=sum(p.vegetated_area_m2 for p in parts),
    )


@dataclass(frozen=True)
class ChangeRun:
    """FVC change between two rasters on one grid: both runs' end-members and per-zone change."""

    before: str
    after: str
    endmembers_before: fvc_model.Endmembers
    endmembers_after: fvc_model.Endmembers
    changes: list[fvc_model.ZoneChange]
    params: dict[str, Any]


def fvc_change(
    before: str | Path,
    after: str | Path,
    zones: Sequence[Zone] | None,
    *,
    scaling: Scaling = Scaling(),
    soil: float | None = None,
    veg: float | None = None,
    percentiles: tuple[float, float] = (5.0, 95.0),
    scope: str = "scene",
    scheme: fvc_model.ClassScheme,
    min_change: float = 0.0,
    out: str | Path | None = None,
) -> ChangeRun:
    """ΔFVC per zone (or for the scene) between two NDVI rasters on the same grid.

    Each date takes its own percentile end-members unless both are given (one pair for both
    dates). Change is computed pixel by pixel over the pixels valid on both dates; ``out``
    writes the ΔFVC map (after − before).

    Raises
    ------
    InputError
        The grids differ (CRS, pixel size, origin or size): resample explicitly first.
    """
    ia, ib = raster_info(before), raster_info(after)
    check_grids(ia, ib)
    area = float(ia.pixel_area_m2 or 0.0)
    sa_ = sample_zones(before, zones, scaling, info=ia) if zones else None
    sb_ = sample_zones(after, zones, scaling, info=ib) if zones else None
    kw = dict(scaling=scaling, soil=soil, veg=veg, percentiles=percentiles, scope=scope)
    ea = endmembers_for(before, samples=sa_, **kw)  # type: ignore[arg-type]
    eb = endmembers_for(after, samples=sb_, **kw)  # type: ignore[arg-type]
    if zones and sa_ is not None and sb_ is not None:
        changes = [
            fvc_model.zone_change(
                a.zone.zone_id,
                fvc_model.dimidiate_fvc(a.values, ea.ndvi_soil, ea.ndvi_veg),
                fvc_model.dimidiate_fvc(b.values, eb.ndvi_soil, eb.ndvi_veg),
                area,
                scheme,
                name=a.zone.name,
                min_change=min_change,
            )
            for a, b in zip(sa_, sb_, strict=True)
        ]
    else:
        parts = []
        for (_, fa), (_, fb) in zip(
            fvc_windows_quiet(before, scaling, ea),
            fvc_windows_quiet(after, scaling, eb),
            strict=True,
        ):
            parts.append(
                fvc_model.zone_change("scene", fa, fb, area, scheme, min_change=min_change)
            )
        changes = [combine_changes("scene", None, parts)]
    if out is not None:
        write_map(
            out,
            ia,
            (
                (w, fvc_model.fvc_difference(fa, fb))
                for (w, fa), (_, fb) in zip(
                    fvc_windows_quiet(before, scaling, ea),
                    fvc_windows_quiet(after, scaling, eb),
                    strict=True,
                )
            ),
            description="change of fractional vegetation cover (after - before)",
        )
    params = {
        "before": _params(ia, scaling, ea, scheme),
        "after": _params(ib, scaling, eb, scheme),
        "min_change": min_change,
    }
    return ChangeRun(ia.path, ib.path, ea, eb, changes, params)


def combine_changes(
    zone_id: str, name: str | None, parts: Sequence[fvc_model.ZoneChange]
) -> fvc_model.ZoneChange:
    """One zone's change from its pieces: areas add up, means weighted by paired pixels."""
    n = sum(p.paired_pixels for p in parts)

    def mean(attr: str) -> float | None:
        if not n:
            return None
        return sum((getattr(p, attr) or 0.0) * p.paired_pixels for p in parts) / n

    def total(attr: str) -> float:
        return float(sum(getattr(p, attr) for p in parts))

    return fvc_model.ZoneChange(
        zone_id=zone_id,
        name=name,
        paired_pixels=n,
        paired_area_m2=total("paired_area_m2"),
        fvc_mean_before=mean("fvc_mean_before"),
        fvc_mean_after=mean("fvc_mean_after"),
        delta_fvc_mean=mean("delta_fvc_mean"),
        improved_area_m2=total("improved_area_m2"),
        degraded_area_m2=total("degraded_area_m2"),
        bare_area_before_m2=total("bare_area_before_m2"),
        bare_area_after_m2=total("bare_area_after_m2"),
        delta_bare_area_m2=total("delta_bare_area_m2"),
        vegetated_area_before_m2=total("vegetated_area_before_m2"),
        vegetated_area_after_m2=total("vegetated_area_after_m2"),
        delta_vegetated_area_m2=total("delta_vegetated_area_m2"),
    )


def water_zones(
    path: str | Path,
    zones: Sequence[Zone] | None,
    *,
    index: str,
    threshold: float,
    scaling: Scaling = Scaling(),
    before: str | Path | None = None,
) -> list[fvc_model.ZoneWater]:
    """Water area per zone (or for the scene) of a water-index raster, and its change since
    ``before`` (a raster of the same index on the same grid) when given."""
    info = raster_info(path)
    area = float(info.pixel_area_m2 or 0.0)
    info0 = None
    if before is not None:
        info0 = raster_info(before)
        check_grids(info0, info)
    if zones:
        now = sample_zones(path, zones, scaling, info=info)
        then = sample_zones(before, zones, scaling, info=info0) if before is not None else None
        return [
            fvc_model.zone_water(
                s.zone.zone_id,
                s.values,
                area,
                index=index,
                threshold=threshold,
                before=then[i].values if then is not None else None,
                name=s.zone.name,
            )
            for i, s in enumerate(now)
        ]
    parts = []
    then_iter = iter_values(before, scaling) if before is not None else None
    for _, v in iter_values(path, scaling):
        v0 = next(then_iter)[1] if then_iter is not None else None
        parts.append(
            fvc_model.zone_water("scene", v, area, index=index, threshold=threshold, before=v0)
        )
    change = before is not None

    def total(attr: str) -> float | None:
        if not change and attr in (
            "water_area_before_m2",
            "delta_water_area_m2",
            "gained_m2",
            "lost_m2",
        ):
            return None
        return float(sum(getattr(p, attr) or 0.0 for p in parts))

    return [
        fvc_model.ZoneWater(
            zone_id="scene",
            name=None,
            valid_pixels=sum(p.valid_pixels for p in parts),
            valid_area_m2=float(sum(p.valid_area_m2 for p in parts)),
            water_area_m2=float(sum(p.water_area_m2 for p in parts)),
            water_area_before_m2=total("water_area_before_m2"),
            delta_water_area_m2=total("delta_water_area_m2"),
            gained_m2=total("gained_m2"),
            lost_m2=total("lost_m2"),
        )
    ]
