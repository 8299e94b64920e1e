"""Fractional vegetation cover (FVC) by the dimidiate pixel model, per zone and between dates.

Pure functions over numpy arrays; reading rasters and rasterising zones is
:mod:`restora.monitoring.raster_io`'s job.

The dimidiate (two-end-member) pixel model treats a pixel's NDVI as the area-weighted mix of
fully vegetated and bare-soil NDVI, so that

    FVC = (NDVI − NDVI_soil) / (NDVI_veg − NDVI_soil),  clipped to [0, 1]

(Gutman & Ignatov 1998; Carlson & Ripley 1997). NDVI_soil and NDVI_veg are given, or the 5 %
and 95 % cumulative-frequency percentiles of the valid NDVI pixels (李苗苗 等 2004), computed as
numpy.percentile does by default ('linear'). The percentiles and the FVC classes are reference
data (``monitoring/remote-sensing/fvc-endmembers``, ``.../fvc-classes``).

Invalid pixels (nodata, NaN, ±inf) are NaN in every float array here and count in no statistic
except ``pixels`` (the zone's pixels, valid or not).

References
----------
.. [1] Gutman, G. & Ignatov, A. (1998). The derivation of the green vegetation fraction from
   NOAA/AVHRR data for use in numerical weather prediction models. Int. J. Remote Sens. 19(8):
   1533–1543. doi:10.1080/014311698215333
.. [2] Carlson, T. N. & Ripley, D. A. (1997). On the relation between NDVI, fractional
   vegetation cover, and leaf area index. Remote Sens. Environ. 62(3): 241–252.
   doi:10.1016/S0034-4257(97)00104-1
.. [3] 李苗苗, 吴炳方, 颜长珍, 周为峰 (2004). 密云水库上游植被覆盖度的遥感估算. 资源科学 26(4):
   153–159.
.. [4] Hyndman, R. J. & Fan, Y. (1996). Sample quantiles in statistical packages. Am. Stat.
   50(4): 361–365 (type 7 = numpy's 'linear').
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from restora import refdata
from restora.errors import InputError

FloatArray = npt.NDArray[np.float64]

ENDMEMBERS_TABLE = "monitoring/remote-sensing/fvc-endmembers"
CLASSES_TABLE = "monitoring/remote-sensing/fvc-classes"
WATER_TABLE = "monitoring/remote-sensing/water-index"


# --------------------------------------------------------------------------- parameters


@dataclass(frozen=True)
class FvcClass:
    """One FVC class: the half-open interval ``[lower, upper)`` [fraction 0–1] (the last class
    includes 1)."""

    code: str
    lower: float
    upper: float


@dataclass(frozen=True)
class ClassScheme:
    """FVC classes, the bare-soil threshold and the vegetated threshold [fraction 0–1]."""

    classes: tuple[FvcClass, ...]
    bare_below: float
    vegetated_from: float
    source: str = ""

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(c.code for c in self.classes)

    @property
    def edges(self) -> FloatArray:
        """Inner class limits (the ``lower`` of every class but the first)."""
        return np.array([c.lower for c in self.classes[1:]], dtype=np.float64)


def class_scheme(
    on: dt.date | None = None, *, limits: Sequence[float] | None = None
) -> ClassScheme:
    """The FVC classes in force on a date, or classes from user-given limits.

    Parameters
    ----------
    on : datetime.date, optional
        Date of the reference table's version (today by default).
    limits : sequence of float, optional
        Inner class limits [fraction 0–1], increasing (e.g. ``[0.1, 0.3, 0.6]``): classes
        ``c1 … cN``; the bare threshold is the first limit, the vegetated one the last.

    Raises
    ------
    InputError
        Limits not strictly increasing inside (0, 1).
    """
    if limits is not None:
        lims = [float(x) for x in limits]
        if (
            not lims
            or any(not 0.0 < x < 1.0 for x in lims)
            or any(b <= a for a, b in itertools.pairwise(lims))
        ):
            raise InputError(
                f"class limits {lims} must be strictly increasing values between 0 and 1",
                field="classes",
            )
        bounds = [0.0, *lims, 1.0]
        classes = tuple(
            FvcClass(f"c{i + 1}", bounds[i], bounds[i + 1]) for i in range(len(lims) + 1)
        )
        return ClassScheme(classes, lims[0], lims[-1], "user-given limits")
    table = refdata.get(CLASSES_TABLE, on=on)
    classes = tuple(
        FvcClass(c["code"], float(c["lower"]), float(c["upper"])) for c in table.data["classes"]
    )
    return ClassScheme(
        classes,
        float(table.data["bare_below"]),
        float(table.data["vegetated_from"]),
        f"{CLASSES_TABLE} {table.version}",
    )


def default_percentiles(on: dt.date | None = None) -> tuple[float, float]:
    """The cumulative-frequency percentiles [%] taken as NDVI_soil and NDVI_veg (5, 95)."""
    data = refdata.get(ENDMEMBERS_TABLE, on=on).data
    return float(data["soil_percentile"]), float(data["veg_percentile"])


def water_thresholds(on: dt.date | None = None) -> tuple[float, float]:
    """Water where a water index > the first value, or (fallback) NDVI < the second [index]."""
    data = refdata.get(WATER_TABLE, on=on).data
    return float(data["index_above"]), float(data["ndvi_below"])


# --------------------------------------------------------------------------- NDVI and FVC


def to_ndvi(
    raw: npt.ArrayLike,
    *,
    scale: float = 1.0,
    offset: float = 0.0,
    nodata: float | None = None,
) -> FloatArray:
    """Stored values to NDVI, invalid pixels as NaN.

    Parameters
    ----------
    raw : array_like
        Stored values (e.g. int16 NDVI × 10000 of MODIS MOD13 or Sentinel-2 products).
    scale, offset : float
        ``NDVI = raw × scale + offset`` (``scale=1e-4`` for × 10000 products).
    nodata : float, optional
        The stored nodata value (compared before scaling).

    Returns
    -------
    ndarray of float64
        NDVI [index −1…1]; NaN where ``raw`` is nodata, NaN or infinite.
    """
    a = np.asarray(raw)
    out = a.astype(np.float64) * scale + offset
    bad = ~np.isfinite(out)
    if nodata is not None and not math.isnan(nodata):
        bad |= a == nodata
    out[bad] = np.nan
    return out


@dataclass(frozen=True)
class Endmembers:
    """NDVI of bare soil and of full vegetation, and how they were chosen.

    ``method`` is ``"given"`` or ``"percentile"``; for percentiles, ``scope`` names the pixels
    (``"scene"``: all valid pixels of the raster; ``"zones"``: the valid pixels inside the zones),
    ``percentiles`` the two percentiles [%] and ``pixels`` how many values they came from.
    """

    ndvi_soil: float
    ndvi_veg: float
    method: str
    scope: str | None = None
    percentiles: tuple[float, float] | None = None
    pixels: int | None = None

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["percentiles"] = list(self.percentiles) if self.percentiles else None
        return d


def check_endmembers(ndvi_soil: float, ndvi_veg: float, *, where: str = "") -> None:
    """Require finite end-members with NDVI_veg > NDVI_soil (the model's denominator)."""
    if not (math.isfinite(ndvi_soil) and math.isfinite(ndvi_veg)) or ndvi_veg <= ndvi_soil:
        raise InputError(
            f"NDVI_veg ({ndvi_veg:g}) must be greater than NDVI_soil ({ndvi_soil:g}){where}; "
            "give --soil and --veg, or use a scene with both bare and vegetated land",
            field="soil/veg",
        )


def percentile_endmembers(
    ndvi: npt.ArrayLike,
    percentiles: tuple[float, float] = (5.0, 95.0),
    *,
    scope: str = "scene",
) -> Endmembers:
    """NDVI_soil and NDVI_veg as percentiles of the valid NDVI values.

    Parameters
    ----------
    ndvi : array_like
        NDVI [index]; NaN values are left out.
    percentiles : tuple of float
        ``(soil, veg)`` [%], 5 and 95 in 李苗苗 等 (2004).
    scope : str
        Which pixels these are, recorded in the result.

    Returns
    -------
    Endmembers

    Notes
    -----
    Exactly ``numpy.percentile(values, q)`` (method 'linear'): with the ``n`` values sorted,
    the value at rank ``h = (n − 1) q / 100`` interpolated between ranks ⌊h⌋ and ⌊h⌋ + 1.

    Examples
    --------
    >>> e = percentile_endmembers([0.0, 0.1, 0.2, 0.3, 0.4, float("nan")], (25.0, 75.0))
    >>> round(e.ndvi_soil, 6), round(e.ndvi_veg, 6), e.pixels
    (0.1, 0.3, 5)
    """
    a = np.asarray(ndvi, dtype=np.float64).ravel()
    valid = a[np.isfinite(a)]
    if valid.size == 0:
        raise InputError("no valid NDVI pixel to take the percentiles from", field="ndvi")
    soil, veg = np.percentile(valid, list(percentiles))
    check_endmembers(float(soil), float(veg), where=f" (the {percentiles} percentiles)")
    return Endmembers(float(soil), float(veg), "percentile", scope, percentiles, int(valid.size))


def dimidiate_fvc(ndvi: npt.ArrayLike, ndvi_soil: float, ndvi_veg: float) -> FloatArray:
    """Fractional vegetation cover by the dimidiate pixel model.

    Parameters
    ----------
    ndvi : array_like
        NDVI [index −1…1]; NaN for invalid pixels.
    ndvi_soil : float
        NDVI of bare soil [index].
    ndvi_veg : float
        NDVI of full vegetation cover [index], greater than ``ndvi_soil``.

    Returns
    -------
    ndarray of float64
        FVC [fraction 0–1]; NaN where ``ndvi`` is NaN.

    Notes
    -----
    FVC = (NDVI − NDVI_soil) / (NDVI_veg − NDVI_soil), clipped to [0, 1] [1]_ [2]_.

    Examples
    --------
    >>> dimidiate_fvc([0.1, 0.3, 0.5, 0.9], 0.1, 0.7).round(6).tolist()
    [0.0, 0.333333, 0.666667, 1.0]
    """
    check_endmembers(ndvi_soil, ndvi_veg)
    a = np.asarray(ndvi, dtype=np.float64)
    return np.clip((a - ndvi_soil) / (ndvi_veg - ndvi_soil), 0.0, 1.0)


# --------------------------------------------------------------------------- exact percentiles


def exact_percentiles(
    blocks: Callable[[], Iterable[npt.NDArray[Any]]],
    q: Sequence[float],
    *,
    bins: int = 1 << 16,
    max_collect: int = 1 << 22,
) -> tuple[FloatArray, int]:
    """numpy.percentile ('linear') of values that arrive in blocks, in bounded memory.

    Parameters
    ----------
    blocks : callable
        Returns a fresh iterable over the values, block by block (called once per pass; NaN
        and infinite values are left out).
    q : sequence of float
        Percentiles [%].
    bins : int
        Histogram bins of a narrowing pass [count].
    max_collect : int
        Most values held in memory to be sorted [count].

    Returns
    -------
    (ndarray, int)
        The percentiles, equal to ``numpy.percentile(all_values, q)``, and the number of values.

    Notes
    -----
    numpy's 'linear' method [4]_ reads the sorted values at ranks ⌊h⌋ and ⌊h⌋ + 1 with
    h = (n − 1) · q / 100 and interpolates. Those order statistics are found by selection: one
    pass counts the values and their range; while a rank's candidate set is larger than
    ``max_collect``, a pass histograms it over its range and keeps the bin holding the rank (the
    bin index is a monotone function of the value, so a bin is a contiguous range of values, and
    membership is tested by the same arithmetic in later passes); a last pass collects the
    candidates, sorts them and reads the rank off. A candidate set whose values are all equal
    ends the search at once. The interpolation repeats numpy's operations, so the results are
    the same floats.
    """

    def finite(v: npt.NDArray[Any]) -> FloatArray:
        f = np.asarray(v, dtype=np.float64).ravel()
        return f[np.isfinite(f)]

    n, lo, hi = 0, math.inf, -math.inf
    for b in blocks():
        v = finite(b)
        if v.size:
            n += v.size
            lo, hi = min(lo, float(v.min())), max(hi, float(v.max()))
    if n == 0:
        raise InputError("no valid value to take the percentiles from")
    hs = [(n - 1) * (float(p) / 100.0) for p in q]
    wanted = sorted(
        {r for h in hs for r in (min(math.floor(h), n - 1), min(math.floor(h) + 1, n - 1))}
    )
    found: dict[int, float] = {}
    # per rank: the chain of (lo, hi, bin) narrowings selecting its candidates, how many values
    # lie below the candidates, how many candidates, and their range (lo, hi) for the next pass
    Chain = tuple[tuple[float, float, int], ...]
    state: dict[int, tuple[Chain, int, int, float, float]] = {r: ((), 0, n, lo, hi) for r in wanted}

    def member(v: FloatArray, chain: Chain) -> FloatArray:
        for c_lo, c_hi, c_bin in chain:
            v = v[_bin_index(v, c_lo, c_hi, bins) == c_bin]
        return v

    while state:
        to_collect = {s[0] for s in state.values() if s[2] <= max_collect}
        to_split = {(s[0], s[3], s[4]) for s in state.values() if s[2] > max_collect}
        collected: dict[Chain, list[FloatArray]] = {c: [] for c in to_collect}
        hists = {c: np.zeros(bins, dtype=np.int64) for c in to_split}
        ranges = {c: [math.inf, -math.inf] for c in to_split}
        for b in blocks():
            v = finite(b)
            for chain in to_collect:
                collected[chain].append(member(v, chain))
            for key in to_split:
                m = member(v, key[0])
                if m.size:
                    hists[key] += np.bincount(_bin_index(m, key[1], key[2], bins), minlength=bins)
                    ranges[key][0] = min(ranges[key][0], float(m.min()))
                    ranges[key][1] = max(ranges[key][1], float(m.max()))
        for r, (chain, below, count, c_lo, c_hi) in list(state.items()):
            if count <= max_collect:
                values = np.sort(np.concatenate(collected[chain]))
                found[r] = float(values[r - below])
                del state[r]
                continue
            key = (chain, c_lo, c_hi)
            if ranges[key][0] == ranges[key][1]:  # all candidates equal
                found[r] = ranges[key][0]
                del state[r]
                continue
            cum = np.cumsum(hists[key])
            k = int(np.searchsorted(cum, r - below, side="right"))
            before = int(cum[k - 1]) if k else 0
            width = (c_hi - c_lo) / bins
            state[r] = (
                (*chain, (c_lo, c_hi, k)),
                below + before,
                int(cum[k]) - before,
                c_lo + k * width,  # the bin's range, for binning only: membership is exact
                c_lo + (k + 1) * width if k < bins - 1 else c_hi,
            )
    out = []
    for h in hs:
        prev = math.floor(h)
        if h >= n - 1:
            out.append(found[n - 1])
            continue
        out.append(_lerp(found[prev], found[prev + 1], h - prev))
    return np.array(out, dtype=np.float64), n


def _bin_index(v: FloatArray, lo: float, hi: float, bins: int) -> npt.NDArray[np.intp]:
    if hi <= lo:
        return np.zeros(v.shape, dtype=np.intp)
    idx = np.floor((v - lo) / (hi - lo) * bins)
    return np.clip(idx, 0, bins - 1).astype(np.intp)


def _lerp(a: float, b: float, t: float) -> float:
    # numpy.percentile's interpolation (numpy.lib._function_base_impl._lerp), same operations
    diff = b - a
    if t >= 0.5:
        return float(np.float64(b) - np.float64(diff) * (1 - t))
    return float(np.float64(a) + np.float64(diff) * t)


# --------------------------------------------------------------------------- per-zone statistics


@dataclass(frozen=True)
class ZoneCover:
    """FVC statistics of one zone on one date.

    Attributes
    ----------
    zone_id, name : str, str or None
        The zone (a site id, or a feature of a zone layer).
    pixels : int
        Pixels whose centre lies in the zone [count].
    valid_pixels : int
        Of those, pixels with a valid NDVI [count].
    area_m2, valid_area_m2 : float
        ``pixels`` and ``valid_pixels`` times the pixel area [m²].
    fvc_mean, fvc_median : float or None
        Mean and median FVC of the valid pixels [fraction 0–1]; None without valid pixels.
    class_area_m2 : dict
        Area of the valid pixels in each FVC class [m²], by class code.
    class_share : dict
        The same as a share of ``valid_area_m2`` [fraction 0–1] (None without valid pixels).
    bare_area_m2 : float
        Area with FVC below the bare-soil threshold [m²].
    vegetated_area_m2 : float
        Area with FVC at or above the vegetated threshold [m²].
    """

    zone_id: str
    name: str | None
    pixels: int
    valid_pixels: int
    area_m2: float
    valid_area_m2: float
    fvc_mean: float | None
    fvc_median: float | None
    class_area_m2: dict[str, float]
    class_share: dict[str, float | None]
    bare_area_m2: float
    vegetated_area_m2: float

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (the ``zones`` items of a stored ``fvc`` result)."""
        return asdict(self)


def _class_index(fvc: FloatArray, scheme: ClassScheme) -> npt.NDArray[np.intp]:
    # [lower, upper) intervals: the number of inner limits at or below the value
    return np.searchsorted(scheme.edges, fvc, side="right")


def zone_cover(
    zone_id: str,
    fvc: npt.ArrayLike,
    pixel_area_m2: float,
    scheme: ClassScheme,
    *,
    name: str | None = None,
) -> ZoneCover:
    """Statistics of a zone's FVC values.

    Parameters
    ----------
    zone_id : str
        The zone.
    fvc : array_like
        FVC of every pixel of the zone [fraction 0–1], NaN where invalid.
    pixel_area_m2 : float
        Area of one pixel [m²] (from a projected CRS).
    scheme : ClassScheme
        FVC classes and thresholds.
    name : str, optional
        The zone's name.

    Returns
    -------
    ZoneCover

    Examples
    --------
    >>> s = class_scheme(limits=[0.1, 0.3, 0.6])
    >>> z = zone_cover("A", [0.0, 0.2, 0.7, float("nan")], 100.0, s)
    >>> z.valid_area_m2, round(z.fvc_mean, 6), z.class_area_m2["c4"], z.bare_area_m2
    (300.0, 0.3, 100.0, 100.0)
    """
    a = np.asarray(fvc, dtype=np.float64).ravel()
    valid = a[np.isfinite(a)]
    n_valid = int(valid.size)
    counts = np.bincount(_class_index(valid, scheme), minlength=len(scheme.classes))
    class_area = {c.code: float(counts[i]) * pixel_area_m2 for i, c in enumerate(scheme.classes)}
    valid_area = n_valid * pixel_area_m2
    return ZoneCover(
        zone_id=str(zone_id),
        name=name,
        pixels=int(a.size),
        valid_pixels=n_valid,
        area_m2=a.size * pixel_area_m2,
        valid_area_m2=valid_area,
        fvc_mean=float(valid.mean()) if n_valid else None,
        fvc_median=float(np.median(valid)) if n_valid else None,
        class_area_m2=class_area,
        class_share={k: (v / valid_area if n_valid else None) for k, v in class_area.items()},
        bare_area_m2=float((valid < scheme.bare_below).sum()) * pixel_area_m2,
        vegetated_area_m2=float((valid >= scheme.vegetated_from).sum()) * pixel_area_m2,
    )


@dataclass(frozen=True)
class ZoneChange:
    """Change of FVC in one zone between two dates, over the pixels valid on both.

    Attributes
    ----------
    zone_id, name : str, str or None
    paired_pixels : int
        Pixels valid on both dates [count]; ``paired_area_m2`` their area [m²].
    fvc_mean_before, fvc_mean_after, delta_fvc_mean : float or None
        Mean FVC on each date and its change (after − before) [fraction 0–1].
    improved_area_m2, degraded_area_m2 : float
        Area where FVC rose / fell by more than ``min_change`` [m²].
    bare_area_before_m2, bare_area_after_m2, delta_bare_area_m2 : float
        Bare-soil area (FVC below the bare threshold) and its change [m²].
    vegetated_area_before_m2, vegetated_area_after_m2, delta_vegetated_area_m2 : float
        Vegetated area (FVC at or above the vegetated threshold) and its change [m²].
    """

    zone_id: str
    name: str | None
    paired_pixels: int
    paired_area_m2: float
    fvc_mean_before: float | None
    fvc_mean_after: float | None
    delta_fvc_mean: float | None
    improved_area_m2: float
    degraded_area_m2: float
    bare_area_before_m2: float
    bare_area_after_m2: float
    delta_bare_area_m2: float
    vegetated_area_before_m2: float
    vegetated_area_after_m2: float
    delta_vegetated_area_m2: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def fvc_difference(before: npt.ArrayLike, after: npt.ArrayLike) -> FloatArray:
    """Pixel-wise change of FVC, after − before [fraction −1…1]; NaN where either is NaN.

    Raises
    ------
    InputError
        If the arrays differ in shape (they must be on one grid).
    """
    a, b = np.asarray(before, dtype=np.float64), np.asarray(after, dtype=np.float64)
    if a.shape != b.shape:
        raise InputError(f"the two FVC arrays differ in shape ({a.shape} vs {b.shape})")
    return b - a


def zone_change(
    zone_id: str,
    before: npt.ArrayLike,
    after: npt.ArrayLike,
    pixel_area_m2: float,
    scheme: ClassScheme,
    *,
    name: str | None = None,
    min_change: float = 0.0,
) -> ZoneChange:
    """Change of a zone's FVC between two dates, pixel by pixel on one grid.

    Parameters
    ----------
    zone_id : str
    before, after : array_like
        FVC of the zone's pixels on each date, in the same pixel order [fraction 0–1], NaN
        where invalid.
    pixel_area_m2 : float
        Area of one pixel [m²].
    scheme : ClassScheme
        The bare and vegetated thresholds.
    name : str, optional
    min_change : float
        A pixel is improved / degraded when its FVC changes by more than this [fraction].

    Returns
    -------
    ZoneChange

    Examples
    --------
    >>> s = class_scheme(limits=[0.1, 0.3, 0.6])
    >>> c = zone_change("A", [0.05, 0.5, float("nan")], [0.2, 0.7, 0.9], 100.0, s)
    >>> round(c.delta_fvc_mean, 6), c.delta_bare_area_m2, c.delta_vegetated_area_m2
    (0.175, -100.0, 100.0)
    """
    d = fvc_difference(before, after).ravel()
    a = np.asarray(before, dtype=np.float64).ravel()
    b = np.asarray(after, dtype=np.float64).ravel()
    ok = np.isfinite(d)
    a, b, d = a[ok], b[ok], d[ok]
    n = int(ok.sum())
    bare_a = float((a < scheme.bare_below).sum()) * pixel_area_m2
    bare_b = float((b < scheme.bare_below).sum()) * pixel_area_m2
    veg_a = float((a >= scheme.vegetated_from).sum()) * pixel_area_m2
    veg_b = float((b >= scheme.vegetated_from).sum()) * pixel_area_m2
    mean_a = float(a.mean()) if n else None
    mean_b = float(b.mean()) if n else None
    return ZoneChange(
        zone_id=str(zone_id),
        name=name,
        paired_pixels=n,
        paired_area_m2=n * pixel_area_m2,
        fvc_mean_before=mean_a,
        fvc_mean_after=mean_b,
        delta_fvc_mean=float(d.mean()) if n else None,
        improved_area_m2=float((d > min_change).sum()) * pixel_area_m2,
        degraded_area_m2=float((d < -min_change).sum()) * pixel_area_m2,
        bare_area_before_m2=bare_a,
        bare_area_after_m2=bare_b,
        delta_bare_area_m2=bare_b - bare_a,
        vegetated_area_before_m2=veg_a,
        vegetated_area_after_m2=veg_b,
        delta_vegetated_area_m2=veg_b - veg_a,
    )


# --------------------------------------------------------------------------- water


#: Water indices a water raster may hold: water above the threshold, except NDVI (below).
WATER_INDICES = ("ndwi", "mndwi", "ndvi")


def water_mask(values: npt.ArrayLike, index: str, threshold: float) -> npt.NDArray[np.bool_]:
    """Open water pixels from a water index (McFeeters 1996; Xu 2006) or NDVI (fallback).

    Parameters
    ----------
    values : array_like
        The index [index −1…1], NaN where invalid (never water).
    index : {"ndwi", "mndwi", "ndvi"}
        Which index: water where NDWI / MNDWI > threshold, or NDVI < threshold.
    threshold : float
        The threshold [index] (0 in the references).

    Returns
    -------
    ndarray of bool

    Examples
    --------
    >>> water_mask([-0.2, 0.0, 0.3, float("nan")], "mndwi", 0.0).tolist()
    [False, False, True, False]
    >>> water_mask([-0.2, 0.0, 0.3], "ndvi", 0.0).tolist()
    [True, False, False]
    """
    if index not in WATER_INDICES:
        raise InputError(
            f"unknown water index {index!r} (one of {', '.join(WATER_INDICES)})", field="index"
        )
    a = np.asarray(values, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        return (a < threshold) if index == "ndvi" else (a > threshold)


@dataclass(frozen=True)
class ZoneWater:
    """Open-water area of one zone (one date, or the change between two).

    Attributes
    ----------
    zone_id, name : str, str or None
    valid_pixels : int
        Pixels valid (on both dates for a change) [count]; ``valid_area_m2`` their area [m²].
    water_area_m2 : float
        Water area (of the later date for a change) [m²].
    water_area_before_m2, delta_water_area_m2, gained_m2, lost_m2 : float or None
        For a change: water area of the earlier date, its change, and the area that became /
        stopped being water [m²]; None for one date.
    """

    zone_id: str
    name: str | None
    valid_pixels: int
    valid_area_m2: float
    water_area_m2: float
    water_area_before_m2: float | None = None
    delta_water_area_m2: float | None = None
    gained_m2: float | None = None
    lost_m2: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def zone_water(
    zone_id: str,
    values: npt.ArrayLike,
    pixel_area_m2: float,
    *,
    index: str,
    threshold: float,
    before: npt.ArrayLike | None = None,
    name: str | None = None,
) -> ZoneWater:
    """Water area of a zone, and its change when ``before`` (the earlier date) is given.

    Parameters
    ----------
    zone_id : str
    values : array_like
        The water index of the zone's pixels [index], NaN where invalid.
    pixel_area_m2 : float
        Area of one pixel [m²].
    index, threshold
        As :func:`water_mask`.
    before : array_like, optional
        The index on the earlier date, same pixels in the same order.
    name : str, optional

    Examples
    --------
    >>> w = zone_water("A", [0.3, 0.2, -0.1], 100.0, index="ndwi", threshold=0.0,
    ...                before=[0.1, -0.2, 0.2])
    >>> w.water_area_m2, w.water_area_before_m2, w.gained_m2, w.lost_m2
    (200.0, 200.0, 100.0, 100.0)
    """
    now = np.asarray(values, dtype=np.float64).ravel()
    valid = np.isfinite(now)
    if before is None:
        water = water_mask(now[valid], index, threshold)
        return ZoneWater(
            str(zone_id),
            name,
            int(valid.sum()),
            float(valid.sum()) * pixel_area_m2,
            float(water.sum()) * pixel_area_m2,
        )
    then = np.asarray(before, dtype=np.float64).ravel()
    if then.shape != now.shape:
        raise InputError(f"the two water rasters differ in shape ({then.shape} vs {now.shape})")
    valid &= np.isfinite(then)
    w1 = water_mask(now[valid], index, threshold)
    w0 = water_mask(then[valid], index, threshold)
    area = pixel_area_m2
    return ZoneWater(
        zone_id=str(zone_id),
        name=name,
        valid_pixels=int(valid.sum()),
        valid_area_m2=float(valid.sum()) * area,
        water_area_m2=float(w1.sum()) * area,
        water_area_before_m2=float(w0.sum()) * area,
        delta_water_area_m2=float(w1.sum() - w0.sum()) * area,
        gained_m2=float((w1 & ~w0).sum()) * area,
        lost_m2=float((w0 & ~w1).sum()) * area,
    )


def area_weighted_mean(covers: Iterable[Mapping[str, Any] | ZoneCover]) -> float | None:
    """Mean FVC of several zones weighted by their valid area [fraction 0–1].

    Σ fvc_mean_i · valid_area_i / Σ valid_area_i over the zones with valid pixels; None if none.

    Examples
    --------
    >>> area_weighted_mean([{"fvc_mean": 0.5, "valid_area_m2": 300.0},
    ...                     {"fvc_mean": 0.9, "valid_area_m2": 100.0}])
    0.6
    """
    num = den = 0.0
    for c in covers:
        d = c.as_dict() if isinstance(c, ZoneCover) else c
        if d.get("fvc_mean") is None or not d.get("valid_area_m2"):
            continue
        num += float(d["fvc_mean"]) * float(d["valid_area_m2"])
        den += float(d["valid_area_m2"])
    return num / den if den else None
