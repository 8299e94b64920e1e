"""Raster engine: per-pixel valuation block by block over GeoTIFFs, or on dask arrays.

Any per-pixel valuation (equivalent factor by land-cover class, carbon pools, location-adjusted
values) is a *block function* of the land-cover codes in a window. This module runs such a
function over rasters of any size in bounded memory:

* :func:`describe` and the ``check_*`` functions validate inputs (integer land cover, a defined
  grid in a projected CRS, identical grids for baseline and alternate rasters) **before** any
  pixel is read, and raise :class:`~restora.errors.InputError` naming the file.
* :func:`plan_windows` cuts the grid into tile-aligned windows of about ``target_pixels``.
* :func:`run_blocks` reads the windows with rasterio on a pool of threads (one dataset handle per
  thread; rasterio releases the GIL while GDAL reads and decompresses), calls the block function
  in the worker, and hands each result to a consumer on the calling thread (accumulation, and
  handing output windows to their writers, happen there, in one place). At most ``2 × workers`` windows are in flight, so
  memory is bounded whatever the raster size. Ctrl-C cancels the windows not yet started, waits
  for the running ones, closes every handle and re-raises :class:`KeyboardInterrupt`.
* :func:`block_histogram` is the block function for class counting (``np.bincount`` over the
  codes, offset so negative codes work); :func:`class_histogram` and :func:`dask_histogram` run
  it over a file or over a dask/xarray array (the distributed path).
* :func:`lookup` maps codes to per-class values through a table (for per-pixel maps), and
  :func:`open_writer` creates tiled, compressed (ZSTD by default) GeoTIFF outputs on the
  input's grid, and :class:`MapSet` writes a set of them atomically (temporary names, renamed
  only when every map is complete).

Land-cover codes are integers; the per-class values and all sums are float64.
"""

from __future__ import annotations

import contextlib
import math
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from restora.errors import InputError

R = TypeVar("R")

#: Windows of about this many pixels (4 Mi px: 8 MiB of int16, 32 MiB once widened to intp).
DEFAULT_TARGET_PIXELS = 1 << 22
#: GDAL's block cache [MiB] while the engine runs; windows are tile aligned, so little is reused.
GDAL_CACHE_MB = 64
#: Widest span of codes [count] that a histogram covers with one dense ``np.bincount``.
MAX_DENSE_SPAN = 1 << 24
#: Compression of output maps: GDAL creation options per name. ZSTD level 1 is the default:
#: measured on the 6000² benchmark's carbon maps (float32, 256² tiles, one thread), it took
#: 0.30 s of CPU for a storage map and 0.12–0.14 s for a change map, against 0.52–0.54 s with
#: DEFLATE level 1 and 0.63–1.04 s with LZW, for files as small or smaller (8.5 and 1.5 MiB vs
#: 8.6 and 1.8 MiB). DEFLATE (readable by any TIFF reader, e.g. older ArcGIS) and LZW remain
#: available. No predictor: per-class maps are runs of a few repeated values, and the
#: horizontal (2) or floating-point (3) predictor made the files larger and slower to write.
COMPRESSIONS: dict[str, dict[str, Any]] = {
    "zstd": {"compress": "zstd", "zstd_level": 1},
    "deflate": {"compress": "deflate", "zlevel": 1},
    "lzw": {"compress": "lzw"},
}
DEFAULT_COMPRESSION = "zstd"
#: Creation options of output maps (plus one entry of :data:`COMPRESSIONS`): tiled 256 × 256.
#: No ``NUM_THREADS``: GDAL's threaded tile compression cost more CPU than it saved here.
OUTPUT_OPTIONS: dict[str, Any] = {
    "driver": "GTiff",
    "tiled": True,
    "blockxsize": 256,
    "blockysize": 256,
    "bigtiff": "if_safer",
}


# --------------------------------------------------------------------------- grids and checks


@dataclass(frozen=True)
class RasterInfo:
    """What the engine needs to know about a single-band raster before reading it.

    Attributes
    ----------
    path : str
        The file.
    width, height : int
        Size [pixels].
    dtype : str
        Band 1 data type (numpy name).
    nodata : float or None
        Band 1 nodata value, or ``None`` if none is set.
    crs_wkt : str or None
        The coordinate reference system as WKT, ``None`` if the file has none.
    transform : tuple of float
        Affine geotransform ``(a, b, c, d, e, f)`` [CRS units].
    block_shape : tuple of int
        Band 1 internal block ``(rows, cols)`` [pixels].
    pixel_area_m2 : float or None
        Area of one pixel [m²], ``None`` without a projected CRS.
    """

    path: str
    width: int
    height: int
    dtype: str
    nodata: float | None
    crs_wkt: str | None
    transform: tuple[float, float, float, float, float, float]
    block_shape: tuple[int, int]
    pixel_area_m2: float | None

    @property
    def pixels(self) -> int:
        """Number of pixels [count]."""
        return self.width * self.height

    @property
    def pixel_area_ha(self) -> float:
        """Area of one pixel [ha]; raises :class:`InputError` without a projected CRS."""
        if self.pixel_area_m2 is None:
            raise InputError(
                "the raster has no projected coordinate reference system, so its pixel area "
                "is unknown; reproject it to a projected (preferably equal-area) CRS in metres",
                file=self.path,
            )
        return self.pixel_area_m2 / 10_000.0


def describe(path: str | Path) -> RasterInfo:
    """Read a raster's header (no pixels): size, type, nodata, grid, block shape, pixel area.

    Parameters
    ----------
    path : str or Path
        A raster GDAL can open (GeoTIFF, COG, VRT ...).

    Returns
    -------
    RasterInfo

    Raises
    ------
    InputError
        If the file does not exist or GDAL cannot open it.
    """
    import rasterio
    from rasterio.errors import RasterioIOError

    p = str(path)
    if not Path(p).exists() and "://" not in p:
        raise InputError("no such file", file=p)
    try:
        with rasterio.open(p) as ds:
            t = ds.transform
            area = None
            if ds.crs is not None and ds.crs.is_projected:
                _, to_metre = ds.crs.linear_units_factor
                area = abs(t.a * t.e - t.b * t.d) * to_metre * to_metre
            return RasterInfo(
                path=p,
                width=ds.width,
                height=ds.height,
                dtype=str(ds.dtypes[0]),
                nodata=ds.nodatavals[0],
                crs_wkt=ds.crs.to_wkt() if ds.crs is not None else None,
                transform=(t.a, t.b, t.c, t.d, t.e, t.f),
                block_shape=tuple(ds.block_shapes[0]),  # type: ignore[arg-type]
                pixel_area_m2=area,
            )
    except RasterioIOError as exc:
        raise InputError(f"not a raster GDAL can read ({exc})", file=p) from exc


def check_integer(info: RasterInfo, role: str = "land cover") -> None:
    """Require integer codes and a usable nodata value.

    Parameters
    ----------
    info : RasterInfo
        The raster.
    role : str
        What the raster is, for the message.

    Raises
    ------
    InputError
        If band 1 is not an integer type, or its nodata value is not an integer representable
        in that type (a NaN or fractional nodata on an integer band is a broken file).
    """
    dtype = np.dtype(info.dtype)
    if not np.issubdtype(dtype, np.integer):
        raise InputError(
            f"{role} must hold integer class codes, but band 1 is {info.dtype}; convert it "
            f"to an integer type (e.g. gdal_translate -ot Int16) after checking the codes",
            file=info.path,
        )
    if info.nodata is not None:
        nd = info.nodata
        lim = np.iinfo(dtype)
        if not math.isfinite(nd) or nd != int(nd) or not (lim.min <= nd <= lim.max):
            raise InputError(
                f"nodata value {nd!r} is not a valid {info.dtype} code; set an integer nodata "
                f"value in [{lim.min}, {lim.max}] (gdal_edit.py -a_nodata)",
                file=info.path,
            )


def check_same_grid(base: RasterInfo, other: RasterInfo) -> None:
    """Require two rasters to share CRS, pixel size, extent and size, pixel for pixel.

    Parameters
    ----------
    base, other : RasterInfo
        The baseline and the raster compared with it.

    Raises
    ------
    InputError
        Naming ``other`` and what differs; the engine never resamples silently.
    """
    problems = []
    if (base.crs_wkt is None) != (other.crs_wkt is None) or (
        base.crs_wkt is not None and not _same_crs(base.crs_wkt, other.crs_wkt)
    ):
        problems.append("coordinate reference system differs")
    bt, ot = np.array(base.transform), np.array(other.transform)
    scale = max(abs(base.transform[0]), abs(base.transform[4]), 1e-12)
    if not np.allclose(bt[[0, 1, 3, 4]], ot[[0, 1, 3, 4]], rtol=1e-9, atol=0):
        problems.append(
            f"pixel size differs ({base.transform[0]:g} × {base.transform[4]:g} vs "
            f"{other.transform[0]:g} × {other.transform[4]:g})"
        )
    if not np.allclose(bt[[2, 5]], ot[[2, 5]], rtol=0, atol=1e-6 * scale):
        problems.append(
            f"origin differs (({base.transform[2]:.3f}, {base.transform[5]:.3f}) vs "
            f"({other.transform[2]:.3f}, {other.transform[5]:.3f}))"
        )
    if (base.width, base.height) != (other.width, other.height):
        problems.append(
            f"size differs ({base.width}×{base.height} vs {other.width}×{other.height} pixels)"
        )
    if problems:
        raise InputError(
            "grid does not match " + base.path + ": " + "; ".join(problems) + " — resample it "
            "onto the same grid first (e.g. gdalwarp -tr/-te/-t_srs with -r near)",
            file=other.path,
        )


def _same_crs(a: str, b: str | None) -> bool:
    if a == b:
        return True
    from rasterio.crs import CRS

    return bool(CRS.from_wkt(a) == CRS.from_wkt(b or ""))


# --------------------------------------------------------------------------- windows


@dataclass(frozen=True)
class Window:
    """A rectangle of pixels: ``row_off, col_off, height, width`` [pixels]."""

    row_off: int
    col_off: int
    height: int
    width: int

    @property
    def pixels(self) -> int:
        return self.height * self.width

    def to_rasterio(self) -> Any:
        from rasterio.windows import Window as RioWindow

        return RioWindow(self.col_off, self.row_off, self.width, self.height)  # type: ignore[call-arg]


def plan_windows(
    width: int,
    height: int,
    block_shape: tuple[int, int] = (256, 256),
    target_pixels: int = DEFAULT_TARGET_PIXELS,
) -> list[Window]:
    """Cut a ``height × width`` grid into windows aligned on its internal blocks.

    Parameters
    ----------
    width, height : int
        Raster size [pixels].
    block_shape : tuple of int
        Internal block ``(rows, cols)`` [pixels]; windows are whole multiples of it (except at
        the right and bottom edges) so no block is decompressed twice.
    target_pixels : int
        Approximate size of one window [pixels]; it bounds the memory of each worker.

    Returns
    -------
    list of Window
        Row-major, covering every pixel exactly once.
    """
    bh, bw = max(1, block_shape[0]), max(1, block_shape[1])
    bw = min(bw, width)
    # widest run of whole blocks that fits the target in one block row, then stack block rows
    cols_blocks = max(1, min(math.ceil(width / bw), target_pixels // (bh * bw)))
    win_w = min(width, cols_blocks * bw)
    rows_blocks = max(1, target_pixels // (bh * win_w))
    win_h = min(height, rows_blocks * bh)
    out = []
    for r in range(0, height, win_h):
        for c in range(0, width, win_w):
            out.append(Window(r, c, min(win_h, height - r), min(win_w, width - c)))
    return out


# --------------------------------------------------------------------------- block functions


def histogram_span(dtype: npt.DTypeLike, codes: Sequence[int] = ()) -> tuple[int, int]:
    """The code range ``(offset, size)`` a dense histogram of this dtype covers.

    For 8- and 16-bit integers the whole type range (at most 65 536 bins, so no code can fall
    outside). For wider types the range spanned by ``codes`` (the table's codes and nodata);
    pixels outside it are counted in an overflow bin.

    Parameters
    ----------
    dtype : numpy dtype
        Integer type of the land-cover band.
    codes : sequence of int
        Codes that must be inside the range.
    """
    dt = np.dtype(dtype)
    if not np.issubdtype(dt, np.integer):
        raise TypeError(f"class codes must be integers, not {dt}")
    if dt.itemsize <= 2:
        info = np.iinfo(dt)
        return int(info.min), int(info.max) - int(info.min) + 1
    if not len(codes):
        return 0, 1
    lo, hi = int(min(codes)), int(max(codes))
    if hi - lo + 1 > MAX_DENSE_SPAN:
        raise InputError(
            f"class codes span {lo}..{hi}, too wide for a dense lookup ({MAX_DENSE_SPAN} codes "
            f"at most); renumber the classes"
        )
    return lo, hi - lo + 1


#: Up to this many expected codes, counting compares the block with each code (one vectorised
#: pass per code) instead of ``np.bincount`` (which widens every pixel to intp first); measured
#: on a 2048² int16 window: 11 codes 11.9 ms of CPU against 17.4 ms for bincount.
MAX_COMPARE_CODES = 16


def block_histogram(
    block: npt.NDArray[np.integer[Any]],
    offset: int,
    size: int,
    where: npt.NDArray[np.bool_] | None = None,
    codes: Sequence[int] | None = None,
) -> npt.NDArray[np.int64]:
    """Count the pixels of each code in a block: the block function of class counting.

    Parameters
    ----------
    block : ndarray of int
        Land-cover codes [-], any shape.
    offset, size : int
        Bin ``i`` counts code ``offset + i`` for ``0 <= i < size`` (see :func:`histogram_span`).
    where : ndarray of bool, optional
        Count only these pixels (same shape as ``block``).
    codes : sequence of int, optional
        The codes expected (table codes and nodata). With at most :data:`MAX_COMPARE_CODES` of
        them, each is counted by comparison; if any pixel holds another code the block is
        counted again in full, so the result is always the complete histogram.

    Returns
    -------
    ndarray of int64, shape (size + 1,)
        Counts per code [pixels]; the last bin counts pixels whose code is outside the range.

    Notes
    -----
    ``np.bincount`` on the codes shifted by ``-offset``; 16-bit signed codes are shifted by
    flipping the sign bit of their unsigned view (``v ^ 0x8000 == v + 32768``), which needs no
    wider temporary. Exact integer counts, so totals built on them do not depend on block size.

    Examples
    --------
    >>> block_histogram(np.array([[3, 3], [5, 9]], dtype=np.int32), 3, 3).tolist()
    [2, 0, 1, 1]
    """
    a = np.asarray(block)
    if where is not None:
        a = a[np.asarray(where)]
    a = a.ravel()
    out = np.zeros(size + 1, dtype=np.int64)
    if a.size == 0:
        return out
    if codes is not None and 0 < len(codes) <= MAX_COMPARE_CODES:
        expected = [c for c in dict.fromkeys(int(c) for c in codes) if 0 <= c - offset < size]
        if len(expected) == len(set(codes)):
            for c in expected:
                out[c - offset] = np.count_nonzero(a == c)
            if int(out.sum()) == a.size:
                return out
            out[:] = 0  # some pixel holds an unexpected code: count everything
    if a.dtype == np.int16 and offset == -32768:
        shifted: npt.NDArray[Any] = a.view(np.uint16) ^ np.uint16(0x8000)
    elif a.dtype == np.int8 and offset == -128:
        shifted = a.view(np.uint8) ^ np.uint8(0x80)
    elif offset == 0 and a.dtype.kind == "u" and a.dtype.itemsize <= 2:
        shifted = a
    else:
        wide = a.astype(np.int64, copy=False) - offset
        inside = (wide >= 0) & (wide < size)
        out[size] = int(a.size - np.count_nonzero(inside))
        shifted = wide[inside] if out[size] else wide
    counts = np.bincount(shifted, minlength=size)
    out[:size] += counts[:size]
    out[size] += int(counts[size:].sum())
    return out


def lookup(
    block: npt.NDArray[np.integer[Any]],
    offset: int,
    table: npt.NDArray[np.floating[Any]],
    nodata: int | None = None,
    fill: float = np.nan,
) -> npt.NDArray[np.floating[Any]]:
    """Map codes to per-class values: ``table[code - offset]``, ``fill`` where nodata.

    Parameters
    ----------
    block : ndarray of int
        Land-cover codes [-].
    offset : int
        Code of ``table[0]``.
    table : ndarray of float
        Value per code [unit of the result]; every code in ``block`` (except nodata) must be
        inside the table (the caller has checked the histogram).
    nodata : int, optional
        Code of missing pixels.
    fill : float
        Result where ``block == nodata`` [unit of the result].

    Returns
    -------
    ndarray of float, same shape as ``block`` and dtype as ``table``.
    """
    a = np.asarray(block)
    if a.dtype == np.int16 and offset == -32768:
        out = table[a.view(np.uint16) ^ np.uint16(0x8000)]
    elif offset == 0 and a.dtype.kind == "u" and a.dtype.itemsize <= 2:
        out = table[a]
    else:
        idx = a.astype(np.int64) - offset
        if nodata is not None:
            idx[a == nodata] = 0
        out = table[idx]
    if nodata is not None:
        out[a == nodata] = fill
    return out


# --------------------------------------------------------------------------- the file engine


ProgressCallback = Callable[[int, int], None]
"""Called as ``progress(pixels_done, pixels_total)`` after each window."""


def run_blocks(
    paths: Sequence[str],
    block_fn: Callable[[list[npt.NDArray[Any]], Window], R],
    windows: Sequence[Window],
    consume: Callable[[Window, R], None],
    *,
    workers: int = 2,
    progress: ProgressCallback | None = None,
) -> None:
    """Run ``block_fn`` over ``windows`` of the rasters ``paths`` on a pool of threads.

    Parameters
    ----------
    paths : sequence of str
        Rasters on the same grid; band 1 of each is read for every window.
    block_fn : callable
        ``block_fn(arrays, window) -> result``, run in a worker thread; ``arrays`` holds one
        2-D array per path. It must not keep references to the arrays.
    windows : sequence of Window
        From :func:`plan_windows`.
    consume : callable
        ``consume(window, result)``, run on the calling thread in completion order (accumulate
        sums, write output windows).
    workers : int
        Threads [count]; each opens its own dataset handles. 1 runs inline.
    progress : callable, optional
        ``progress(pixels_done, pixels_total)``.

    Notes
    -----
    Memory is bounded: at most ``2 × workers`` windows are read or held at once. GDAL's block
    cache is limited to :data:`GDAL_CACHE_MB` while the engine runs. On ``KeyboardInterrupt``
    (Ctrl-C) windows not yet started are cancelled, running ones finish, all handles close and
    the interrupt propagates.
    """
    import rasterio

    total = sum(w.pixels for w in windows)
    done = 0
    local = threading.local()
    handles: list[Any] = []
    lock = threading.Lock()
    stop = threading.Event()

    def datasets() -> list[Any]:
        ds = getattr(local, "ds", None)
        if ds is None:
            ds = [rasterio.open(p) for p in paths]
            local.ds = ds
            with lock:
                handles.extend(ds)
        return ds

    def task(w: Window) -> R | None:
        if stop.is_set():
            return None
        rw = w.to_rasterio()
        arrays = [d.read(1, window=rw) for d in datasets()]
        return block_fn(arrays, w)

    with rasterio.Env(GDAL_CACHEMAX=GDAL_CACHE_MB):
        try:
            if workers <= 1:
                for w in windows:
                    r = task(w)
                    consume(w, r)  # type: ignore[arg-type]
                    done += w.pixels
                    if progress:
                        progress(done, total)
                return
            pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="restora-raster")
            pending: dict[Future[R | None], Window] = {}
            it: Iterator[Window] = iter(windows)
            try:
                for w in it:
                    pending[pool.submit(task, w)] = w
                    if len(pending) >= 2 * workers:
                        break
                while pending:
                    finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                    for fut in finished:
                        w = pending.pop(fut)
                        consume(w, fut.result())  # type: ignore[arg-type]
                        done += w.pixels
                        if progress:
                            progress(done, total)
                        nxt = next(it, None)
                        if nxt is not None:
                            pending[pool.submit(task, nxt)] = nxt
            except BaseException:
                stop.set()
                for fut in pending:
                    fut.cancel()
                raise
            finally:
                pool.shutdown(wait=True, cancel_futures=True)
        finally:
            for d in handles:
                d.close()


def read_blocks(
    path: str,
    windows: Sequence[Window],
    *,
    workers: int = 2,
    progress: ProgressCallback | None = None,
) -> int:
    """Only read every window of ``path`` (the I/O floor of any valuation).

    Returns
    -------
    int
        Pixels read [count].
    """
    seen = [0]

    def consume(_w: Window, n: int) -> None:
        seen[0] += n

    run_blocks([path], lambda arrays, _w: int(arrays[0].size), windows, consume,
               workers=workers, progress=progress)  # fmt: skip
    return seen[0]


def class_histogram(
    paths: Sequence[str],
    offset: int,
    size: int,
    *,
    windows: Sequence[Window],
    workers: int = 2,
    progress: ProgressCallback | None = None,
) -> npt.NDArray[np.int64]:
    """Histograms of the codes of each raster, one pass over all of them.

    Parameters
    ----------
    paths : sequence of str
        Land-cover rasters on the same grid.
    offset, size : int
        Histogram range (see :func:`histogram_span`).
    windows, workers, progress
        As for :func:`run_blocks`.

    Returns
    -------
    ndarray of int64, shape (len(paths), size + 1)
        Pixel counts per code; the last column counts codes outside the range.
    """
    acc = np.zeros((len(paths), size + 1), dtype=np.int64)

    def fn(arrays: list[npt.NDArray[Any]], _w: Window) -> npt.NDArray[np.int64]:
        return np.stack([block_histogram(a, offset, size) for a in arrays])

    def consume(_w: Window, h: npt.NDArray[np.int64]) -> None:
        acc[...] += h

    run_blocks(paths, fn, windows, consume, workers=workers, progress=progress)
    return acc


# --------------------------------------------------------------------------- output


def open_writer(
    path: str | Path,
    info: RasterInfo,
    *,
    nodata: float,
    description: str,
    unit: str,
    compress: str = DEFAULT_COMPRESSION,
) -> Any:
    """Create a float32, tiled, compressed (BigTIFF if needed) GeoTIFF on ``info``'s grid.

    Parameters
    ----------
    path : str or Path
        Output file (overwritten).
    info : RasterInfo
        Grid to copy (CRS, transform, size).
    nodata : float
        Nodata value of the output.
    description, unit : str
        Band description and unit, stored in the file.
    compress : str
        A key of :data:`COMPRESSIONS`: ``zstd`` (default), ``deflate`` or ``lzw``.

    Returns
    -------
    rasterio dataset open for writing (the caller closes it).
    """
    import rasterio
    from affine import Affine

    ds = rasterio.open(
        str(path),
        "w",
        width=info.width,
        height=info.height,
        count=1,
        dtype="float32",
        crs=info.crs_wkt,
        transform=Affine(*info.transform),
        nodata=nodata,
        **OUTPUT_OPTIONS,
        **compression_options(compress),
    )
    ds.set_band_description(1, description)
    ds.set_band_unit(1, unit)
    return ds


def compression_options(name: str) -> dict[str, Any]:
    """GDAL creation options of an output compression; :class:`InputError` if unknown."""
    key = name.strip().lower()
    if key not in COMPRESSIONS:
        raise InputError(
            f"unknown compression {name!r}; use one of " + ", ".join(COMPRESSIONS),
            field="compress",
        )
    return COMPRESSIONS[key]


class MapSet:
    """Output maps written under temporary names, moved into place only when all succeed.

    Each map is created as ``.<name>.tif.partial`` in ``out_dir`` (made if missing). On
    :meth:`commit` every map is closed and renamed to ``<name>.tif`` (replacing an older map of
    that name); on :meth:`discard` (an error, Ctrl-C, a class missing from a table) the partial
    files are deleted, and so is ``out_dir`` if this set created it and it is empty, so a failed
    run leaves earlier results untouched and nothing half-written.

    Parameters
    ----------
    out_dir : str or Path
        Output folder.
    info : RasterInfo
        Grid of the maps.
    meta : dict
        ``{name: (description, unit)}`` of each map, in writing order.
    nodata : float
        Nodata value of the maps.
    compress : str
        See :func:`open_writer`.
    """

    def __init__(
        self,
        out_dir: str | Path,
        info: RasterInfo,
        meta: dict[str, tuple[str, str]],
        *,
        nodata: float,
        compress: str = DEFAULT_COMPRESSION,
    ) -> None:
        compression_options(compress)  # unknown names fail before anything is created
        self.out_dir = Path(out_dir)
        self._created = not self.out_dir.exists()
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.final = {n: self.out_dir / f"{n}.tif" for n in meta}
        self.partial = {n: self.out_dir / f".{n}.tif.partial" for n in meta}
        self.writers: dict[str, Any] = {}
        self._pool: dict[str, ThreadPoolExecutor] | None = None
        self._pending: list[list[Future[None]]] = []
        try:
            for n, (description, unit) in meta.items():
                self.writers[n] = open_writer(
                    self.partial[n], info, nodata=nodata, description=description,
                    unit=unit, compress=compress,
                )  # fmt: skip
        except BaseException:
            self.discard()
            raise

    def write(self, window: Window, maps: dict[str, npt.NDArray[Any]]) -> None:
        """Write one window of each map in ``maps`` (float32 arrays of the window's shape).

        Each map has its own writer thread (GDAL compresses a map's tiles in the thread that
        writes them, with the GIL released; one thread per dataset, as GDAL requires), so the
        maps of a window are compressed in parallel with each other and with the reading and
        computing of the next windows. At most two windows of maps are held: this waits for
        the writes of the window before last.
        """
        if self._pool is None:
            self._pool = {
                n: ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"restora-{n}")
                for n in self.writers
            }
        while len(self._pending) >= 2:
            for fut in self._pending.pop(0):
                fut.result()
        rw = window.to_rasterio()
        self._pending.append(
            [self._pool[n].submit(self._write_one, n, arr, rw) for n, arr in maps.items()]
        )

    def _write_one(self, name: str, arr: npt.NDArray[Any], rw: Any) -> None:
        # as a (1, rows, cols) view: a 2-D array is first copied by np.stack in rasterio
        self.writers[name].write(arr[np.newaxis], indexes=[1], window=rw)

    def _close(self) -> None:
        try:
            pending, self._pending = self._pending, []
            for futs in pending:
                for fut in futs:
                    fut.result()
        finally:
            pool, self._pool = self._pool, None
            for ex in (pool or {}).values():
                ex.shutdown(wait=True, cancel_futures=True)
            writers, self.writers = self.writers, {}
            for w in writers.values():
                w.close()

    def commit(self) -> dict[str, str]:
        """Close the maps and move them to their final names; returns ``{name: path}``."""
        self._close()
        for n, p in self.partial.items():
            p.replace(self.final[n])
        return {n: str(p) for n, p in self.final.items()}

    def discard(self) -> None:
        """Close and delete the partial maps (and ``out_dir`` if created here and empty)."""
        try:
            for futs in self._pending:
                for fut in futs:
                    fut.cancel()
            with contextlib.suppress(Exception):  # the first error is already propagating
                self._close()
        finally:
            for p in self.partial.values():
                p.unlink(missing_ok=True)
            if self._created:
                with contextlib.suppress(OSError):  # something else was put there: leave it
                    self.out_dir.rmdir()


# --------------------------------------------------------------------------- dask / xarray


def dask_histogram(array: Any, offset: int, size: int) -> npt.NDArray[np.int64]:
    """:func:`block_histogram` over a dask array (or an xarray DataArray backed by one).

    Each chunk is counted where it lives (a local scheduler or a distributed cluster) and
    only the ``size + 1`` counts travel; numpy input is counted directly.

    Parameters
    ----------
    array : dask.array.Array, xarray.DataArray or ndarray
        Land-cover codes [-]; a 3-D (band, y, x) array from ``rioxarray.open_rasterio`` must
        have one band.
    offset, size : int
        Histogram range (see :func:`histogram_span`).

    Returns
    -------
    ndarray of int64, shape (size + 1,)
    """
    data = array.data if hasattr(array, "dims") else array  # xarray → its dask or numpy array
    if data.ndim == 3:
        if data.shape[0] != 1:
            raise InputError(f"expected one band, got {data.shape[0]}")
        data = data[0]
    if isinstance(data, np.ndarray):
        return block_histogram(data, offset, size)
    import dask
    import dask.array as da

    darr = da.asarray(data)
    parts = [dask.delayed(block_histogram)(blk, offset, size) for blk in darr.to_delayed().ravel()]
    total = dask.delayed(_sum_arrays)(parts)
    return np.asarray(total.compute(), dtype=np.int64)


def _sum_arrays(parts: list[npt.NDArray[np.int64]]) -> npt.NDArray[np.int64]:
    return np.sum(np.stack(parts), axis=0)


def open_dask(path: str | Path, chunks: int | tuple[int, int] = 2048) -> Any:
    """Open band 1 of a raster lazily as an xarray DataArray of dask chunks (rioxarray).

    Parameters
    ----------
    path : str or Path
        The raster.
    chunks : int or (int, int)
        Chunk size [pixels].

    Returns
    -------
    xarray.DataArray, dims ``(y, x)``, in the file's dtype (nodata not masked).
    """
    import rioxarray

    ch = (chunks, chunks) if isinstance(chunks, int) else chunks
    da = rioxarray.open_rasterio(
        str(path), chunks={"band": 1, "y": ch[0], "x": ch[1]}, masked=False, lock=False
    )
    return da.sel(band=1, drop=True)  # type: ignore[union-attr]
