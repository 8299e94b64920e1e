"""Raster engine: windows, block histograms, lookups, input checks, threads, Ctrl-C, dask."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rasterio.transform import from_origin

from restora.errors import InputError
from restora.valuation import raster


def write_tif(
    path, arr, *, nodata=None, crs="EPSG:32650", res=30.0, origin=(500000.0, 3000000.0), tile=None
):
    """A single-band GeoTIFF; ``tile`` makes it tiled with square tiles of that size."""
    opts = {"tiled": True, "blockxsize": tile, "blockysize": tile} if tile else {}
    with rasterio.open(
        path, "w", driver="GTiff", width=arr.shape[1], height=arr.shape[0], count=1,
        dtype=arr.dtype, crs=crs, transform=from_origin(*origin, res, res), nodata=nodata, **opts,
    ) as ds:  # fmt: skip
        ds.write(arr, 1)
    return str(path)


# --------------------------------------------------------------------------- windows


@given(
    width=st.integers(1, 300),
    height=st.integers(1, 300),
    bh=st.sampled_from([1, 16, 32, 256]),
    bw=st.sampled_from([16, 32, 256, 300]),
    target=st.integers(1, 20_000),
)
def test_windows_cover_every_pixel_exactly_once(width, height, bh, bw, target):
    cover = np.zeros((height, width), dtype=np.int32)
    for w in raster.plan_windows(width, height, (bh, bw), target):
        assert w.height > 0 and w.width > 0
        cover[w.row_off : w.row_off + w.height, w.col_off : w.col_off + w.width] += 1
    assert (cover == 1).all()


def test_windows_are_block_aligned_and_near_target():
    # 1000×1000 px in 256×256 tiles, target 4·256² px: windows of 4 tiles side by side
    ws = raster.plan_windows(1000, 1000, (256, 256), 4 * 256 * 256)
    assert all(w.row_off % 256 == 0 and w.col_off % 256 == 0 for w in ws)
    assert ws[0].height == 256 and ws[0].width == 1000  # 1000 < 4·256 = 1024 columns
    assert len(ws) == 4  # ceil(1000 / 256) block rows


# --------------------------------------------------------------------------- block functions


def test_block_histogram_hand_counted():
    # codes 3, 3, 5, 9 with range 3..5: bins [3, 4, 5] = [2, 0, 1]; 9 is outside → overflow 1
    b = np.array([[3, 3], [5, 9]], dtype=np.int32)
    assert raster.block_histogram(b, 3, 3).tolist() == [2, 0, 1, 1]
    # only where the mask is true: 3 and 9 → [1, 0, 0] + overflow 1
    mask = np.array([[True, False], [False, True]])
    assert raster.block_histogram(b, 3, 3, where=mask).tolist() == [1, 0, 0, 1]


@pytest.mark.parametrize("dtype", ["int8", "uint8", "int16", "uint16", "int32", "uint32", "int64"])
def test_block_histogram_matches_unique_counts(dtype):
    rng = np.random.default_rng(1)
    info = np.iinfo(dtype)
    if info.bits <= 16:  # the whole type range is covered
        codes = np.array([info.min, 0, 1, 7, info.max // 2], dtype=dtype)
    else:  # the span of the table's codes is covered
        codes = np.array([0 if info.min == 0 else -9999, 0, 1, 7, 123_456], dtype=dtype)
    block = rng.choice(codes, size=(37, 41))
    offset, size = raster.histogram_span(dtype, codes.tolist())
    h = raster.block_histogram(block, offset, size)
    values, counts = np.unique(block, return_counts=True)
    for v, n in zip(values.tolist(), counts.tolist(), strict=True):
        assert h[v - offset] == n
    assert h.sum() == block.size and h[-1] == 0


def test_histogram_span_refuses_huge_code_ranges():
    with pytest.raises(InputError, match="too wide"):
        raster.histogram_span("int32", [0, 1 << 30])


def test_lookup_with_negative_codes_and_nodata():
    # int16 codes -5 and 2; table over the whole int16 range; nodata -1 → fill
    table = np.zeros(65536)
    table[-5 + 32768] = 1.5
    table[2 + 32768] = 4.0
    b = np.array([[-5, 2], [-1, 2]], dtype=np.int16)
    out = raster.lookup(b, -32768, table, nodata=-1, fill=np.nan)
    assert out[0, 0] == 1.5 and out[0, 1] == 4.0 and out[1, 1] == 4.0 and np.isnan(out[1, 0])
    b32 = b.astype(np.int32)
    t2 = np.array([1.5, 0, 0, 0, 0, 0, 0, 4.0])  # codes -5..2
    out2 = raster.lookup(b32, -5, t2, nodata=-1, fill=-9.0)
    assert out2.tolist() == [[1.5, 4.0], [-9.0, 4.0]]


# --------------------------------------------------------------------------- input checks


def test_describe_reads_pixel_area(tmp_path):
    p = write_tif(tmp_path / "a.tif", np.ones((3, 4), dtype=np.int16), res=30.0)
    info = raster.describe(p)
    assert (info.width, info.height) == (4, 3)
    assert info.pixel_area_m2 == pytest.approx(900.0)  # 30 m × 30 m
    assert info.pixel_area_ha == pytest.approx(0.09)


def test_pixel_area_in_feet_is_converted(tmp_path):
    # EPSG:2227 (California zone 3, US survey feet): 100 ft = 30.48006096 m
    p = write_tif(
        tmp_path / "ft.tif",
        np.ones((2, 2), dtype=np.int16),
        crs="EPSG:2227",
        res=100.0,
        origin=(6e6, 2e6),
    )
    assert raster.describe(p).pixel_area_m2 == pytest.approx(30.48006096**2, rel=1e-9)


def test_geographic_crs_has_no_pixel_area(tmp_path):
    p = write_tif(
        tmp_path / "g.tif",
        np.ones((2, 2), dtype=np.int16),
        crs="EPSG:4326",
        res=0.001,
        origin=(110.0, 28.0),
    )
    with pytest.raises(InputError, match="projected"):
        _ = raster.describe(p).pixel_area_ha


def test_missing_file_and_non_raster(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        raster.describe(tmp_path / "nope.tif")
    bad = tmp_path / "bad.tif"
    bad.write_text("not a tiff")
    with pytest.raises(InputError, match="GDAL"):
        raster.describe(bad)


def test_non_integer_land_cover_is_refused(tmp_path):
    p = write_tif(tmp_path / "f.tif", np.ones((2, 2), dtype=np.float32))
    with pytest.raises(InputError, match="integer class codes") as e:
        raster.check_integer(raster.describe(p))
    assert e.value.problems[0].file == p


def test_fractional_nodata_on_integer_band_is_refused(tmp_path):
    p = write_tif(tmp_path / "i.tif", np.ones((2, 2), dtype=np.int16))
    info = raster.describe(p)
    bad = raster.RasterInfo(**{**info.__dict__, "nodata": 1.5})
    with pytest.raises(InputError, match="nodata"):
        raster.check_integer(bad)
    big = raster.RasterInfo(**{**info.__dict__, "nodata": 1e9})
    with pytest.raises(InputError, match="nodata"):
        raster.check_integer(big)


@pytest.mark.parametrize(
    ("kwargs", "what"),
    [
        ({"crs": "EPSG:32649"}, "coordinate reference system"),
        ({"res": 10.0}, "pixel size"),
        ({"origin": (500030.0, 3000000.0)}, "origin"),
        ({"shape": (4, 5)}, "size"),
    ],
)
def test_mismatched_grids_are_refused(tmp_path, kwargs, what):
    base = write_tif(tmp_path / "b.tif", np.ones((4, 4), dtype=np.int16))
    shape = kwargs.pop("shape", (4, 4))
    other = write_tif(tmp_path / "o.tif", np.ones(shape, dtype=np.int16), **kwargs)
    with pytest.raises(InputError, match=what) as e:
        raster.check_same_grid(raster.describe(base), raster.describe(other))
    assert e.value.problems[0].file == other


def test_same_grid_passes(tmp_path):
    a = write_tif(tmp_path / "a.tif", np.ones((4, 4), dtype=np.int16))
    b = write_tif(tmp_path / "b.tif", np.zeros((4, 4), dtype=np.uint8))
    raster.check_same_grid(raster.describe(a), raster.describe(b))


# --------------------------------------------------------------------------- engine


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    data=st.data(),
    shape=st.tuples(st.integers(1, 70), st.integers(1, 70)),
    target=st.integers(16, 3000),
    workers=st.sampled_from([1, 2]),
)
def test_file_histogram_independent_of_blocks_and_threads(
    tmp_path_factory, data, shape, target, workers
):
    codes = data.draw(st.lists(st.integers(-300, 300), min_size=1, max_size=6, unique=True))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    arr = rng.choice(np.array(codes, dtype=np.int16), size=shape)
    p = write_tif(tmp_path_factory.mktemp("h") / "h.tif", arr, tile=16)
    info = raster.describe(p)
    offset, size = raster.histogram_span(info.dtype)
    ws = raster.plan_windows(info.width, info.height, info.block_shape, target)
    h = raster.class_histogram([p], offset, size, windows=ws, workers=workers)[0]
    assert np.array_equal(h, raster.block_histogram(arr, offset, size))


def test_progress_reports_every_pixel(tmp_path):
    arr = np.arange(64 * 48, dtype=np.int16).reshape(64, 48) % 5
    p = write_tif(tmp_path / "p.tif", arr, tile=16)
    ws = raster.plan_windows(48, 64, (16, 16), 16 * 16)
    seen = []
    assert raster.read_blocks(p, ws, progress=lambda d, t: seen.append((d, t))) == 64 * 48
    assert len(seen) == len(ws) == 12 and seen[-1] == (3072, 3072)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)


@pytest.mark.parametrize("workers", [1, 2])
def test_interrupt_stops_cleanly(tmp_path, workers):
    p = write_tif(tmp_path / "k.tif", np.zeros((256, 256), dtype=np.int16), tile=16)
    ws = raster.plan_windows(256, 256, (16, 16), 16 * 16)  # 256 windows
    calls = []

    def fn(arrays, w):
        calls.append(w)
        return 0

    def consume(w, _r):
        if len(calls) >= 3:
            raise KeyboardInterrupt  # as Ctrl-C in the main thread

    with pytest.raises(KeyboardInterrupt):
        raster.run_blocks([p], fn, ws, consume, workers=workers)
    # stopped long before the end: at most the windows already in flight ran
    assert len(calls) <= 3 + 2 * workers < len(ws)


def test_worker_errors_propagate(tmp_path):
    p = write_tif(tmp_path / "e.tif", np.zeros((64, 64), dtype=np.int16), tile=16)
    ws = raster.plan_windows(64, 64, (16, 16), 256)

    def fn(arrays, w):
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        raster.run_blocks([p], fn, ws, lambda w, r: None, workers=2)


def test_dask_histogram_equals_file_histogram(tmp_path):
    rng = np.random.default_rng(7)
    arr = rng.choice(np.array([-3, 0, 11, 12, 500], dtype=np.int16), size=(90, 70))
    p = write_tif(tmp_path / "d.tif", arr, tile=16)
    offset, size = raster.histogram_span("int16")
    ws = raster.plan_windows(70, 90, (16, 16), 512)
    from_file = raster.class_histogram([p], offset, size, windows=ws)[0]
    lazy = raster.open_dask(p, chunks=(32, 24))
    assert lazy.data.npartitions > 1  # really chunked
    assert np.array_equal(raster.dask_histogram(lazy, offset, size), from_file)
    assert np.array_equal(raster.dask_histogram(arr, offset, size), from_file)


def test_written_maps_are_tiled_and_compressed(tmp_path):
    p = write_tif(tmp_path / "g.tif", np.zeros((10, 10), dtype=np.int16))
    info = raster.describe(p)
    with raster.open_writer(
        tmp_path / "o.tif", info, nodata=-1.0, description="x", unit="Mg C/pixel"
    ) as ds:
        ds.write(np.ones((10, 10), dtype=np.float32), 1)
    with rasterio.open(tmp_path / "o.tif") as ds:
        assert ds.profile["tiled"] and ds.compression.value == "ZSTD"
        assert ds.units[0] == "Mg C/pixel" and ds.crs == rasterio.crs.CRS.from_epsg(32650)


@given(
    values=st.lists(st.integers(-40, 40), min_size=0, max_size=200),
    expected=st.lists(st.integers(-40, 40), min_size=1, max_size=20, unique=True),
    dtype=st.sampled_from(["int16", "int32"]),
)
def test_counting_by_comparison_equals_bincount(values, expected, dtype):
    # with or without the expected codes (even when some pixels hold others), same histogram
    block = np.array(values, dtype=dtype)
    offset, size = raster.histogram_span(dtype, [-40, 40])
    full = raster.block_histogram(block, offset, size)
    assert np.array_equal(raster.block_histogram(block, offset, size, codes=expected), full)
    mask = block % 2 == 0
    assert np.array_equal(
        raster.block_histogram(block, offset, size, where=mask, codes=expected),
        raster.block_histogram(block, offset, size, where=mask),
    )


def test_map_set_commits_atomically_and_reports_writer_errors(tmp_path):
    p = write_tif(tmp_path / "g.tif", np.zeros((40, 30), dtype=np.int16), tile=16)
    info = raster.describe(p)
    meta = {"a": ("map a", "Mg C/pixel"), "b": ("map b", "CNY/pixel")}
    out = tmp_path / "out"
    ms = raster.MapSet(out, info, meta, nodata=-9.0)
    wins = raster.plan_windows(30, 40, (16, 16), 256)
    assert len(wins) > 2  # more windows than the two held at once by the writer threads
    for w in wins:
        vals = np.full((w.height, w.width), w.row_off * 100 + w.col_off, dtype=np.float32)
        ms.write(w, {"a": vals, "b": -vals})
    assert sorted(f.name for f in out.iterdir()) == [".a.tif.partial", ".b.tif.partial"]
    paths = ms.commit()
    assert sorted(f.name for f in out.iterdir()) == ["a.tif", "b.tif"]
    with rasterio.open(paths["a"]) as a, rasterio.open(paths["b"]) as b:
        # pixel (row 17, col 20) is in the window starting at (16, 16): 16·100 + 16 = 1616
        assert a.read(1)[17, 20] == 1616.0 and b.read(1)[17, 20] == -1616.0
        assert a.compression.value == "ZSTD" and b.units[0] == "CNY/pixel"
    # a write that fails in its writer thread surfaces at commit; nothing is moved into place
    ms = raster.MapSet(tmp_path / "bad", info, meta, nodata=-9.0)

    def disk_full(name, arr, rw):
        raise OSError("No space left on device")

    ms._write_one = disk_full  # type: ignore[method-assign]
    z = np.zeros((wins[0].height, wins[0].width), np.float32)
    ms.write(wins[0], {"a": z, "b": z})
    with pytest.raises(OSError, match="No space"):
        ms.commit()
    ms.discard()
    assert not (tmp_path / "bad").exists()
