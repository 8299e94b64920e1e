"""Carbon storage on rasters (InVEST definitions): hand-worked totals, valuation, errors, CLI.

Independent of natcap-invest; benchmarks/carbon_invest.py compares with InVEST itself.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import numpy as np
import pytest
import rasterio
import typer
from affine import Affine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from restora.cli.value_carbon import add_commands
from restora.errors import InputError
from restora.valuation import carbon as cm
from restora.valuation import raster
from restora.valuation.io import read_pools

# Two classes. Densities [Mg C/ha]: class 1: 10 + 2 + 50 + 1 = 63; class 2: 100 + 20 + 80 + 5 = 205.
POOLS_CSV = textwrap.dedent(
    """\
    LULC_Name, LUCode ,C_Above,c_below,c_soil,c_dead
    grass,1,10,2,50,1
    forest,2,100,20,80,5
    """
)
BASE = np.array([[1, 1, 2], [2, 2, 1], [1, 2, -1]], dtype=np.int16)
ALT = np.array([[2, 2, 2], [2, 2, 1], [1, 2, 1]], dtype=np.int16)


def write_tif(path, arr, *, nodata=None, crs="EPSG:32650", res=30.0, x0=500000.0, tile=None):
    opts = {"tiled": True, "blockxsize": tile, "blockysize": tile} if tile else {}
    with rasterio.open(
        path, "w", driver="GTiff", width=arr.shape[1], height=arr.shape[0], count=1,
        dtype=arr.dtype, crs=crs, transform=Affine(res, 0, x0, 0, -res, 3000000.0),
        nodata=nodata, **opts,
    ) as ds:  # fmt: skip
        ds.write(arr, 1)
    return str(path)


@pytest.fixture
def pools(tmp_path):
    p = tmp_path / "pools.csv"
    p.write_text(POOLS_CSV, encoding="utf-8")
    return p


@pytest.fixture
def pair(tmp_path):
    return (
        write_tif(tmp_path / "bas.tif", BASE, nodata=-1),
        write_tif(tmp_path / "alt.tif", ALT, nodata=-1),
    )


# --------------------------------------------------------------------------- pools table


def test_read_pools_matches_headers_like_invest(pools):
    t = read_pools(pools)
    assert t.lucode.tolist() == [1, 2]
    assert t.density.tolist() == [63.0, 205.0]


@pytest.mark.parametrize(
    ("body", "row", "field", "match"),
    [
        ("lucode,c_above,c_below,c_soil\n1,1,1,1\n", None, "c_dead", "missing column"),
        ("lucode,c_above,c_below,c_soil,c_dead\n1.5,1,1,1,1\n", 1, "lucode", "not an integer"),
        (
            "lucode,c_above,c_below,c_soil,c_dead\n1,1,1,1,1\n1,2,2,2,2\n",
            2,
            "lucode",
            "repeats row 1",
        ),
        ("lucode,c_above,c_below,c_soil,c_dead\n1,1,,1,1\n", 1, "c_below", "not a number"),
        ("lucode,c_above,c_below,c_soil,c_dead\n1,1,1,n.d.,1\n", 1, "c_soil", "not a number"),
        ("lucode,c_above,c_below,c_soil,c_dead\n1,-3,1,1,1\n", 1, "c_above", "negative"),
        ("lucode,c_above,c_below,c_soil,c_dead\n", None, None, "no rows"),
    ],
)
def test_bad_pools_name_row_and_column(tmp_path, body, row, field, match):
    p = tmp_path / "bad.csv"
    p.write_text(body)
    with pytest.raises(InputError, match=match) as e:
        read_pools(p)
    prob = e.value.problems[0]
    assert prob.file == str(p) and prob.row == row and prob.field == field


# --------------------------------------------------------------------------- totals


def test_hand_worked_totals_with_nodata(pools, pair):
    # 30 m pixels: 0.09 ha. Baseline: 4 px of class 1 (63), 4 px of class 2 (205), 1 nodata.
    #   total = (4·63 + 4·205)·0.09 = 1072·0.09 = 96.48 Mg C
    # Alternate: 3 px of class 1, 6 px of class 2: (3·63 + 6·205)·0.09 = 1419·0.09 = 127.71 Mg C
    # Change only where both have data: the corner pixel (baseline nodata, alternate class 1)
    #   is left out: (127.71 − 63·0.09) − 96.48 = 122.04 − 96.48 = 25.56 Mg C
    r = cm.carbon_storage(pair[0], read_pools(pools), pair[1])
    assert r.total_mg_c == pytest.approx(96.48, rel=1e-12)
    assert r.alt_total_mg_c == pytest.approx(127.71, rel=1e-12)
    assert r.delta_mg_c == pytest.approx(25.56, rel=1e-12)
    assert r.pixel_area_ha == pytest.approx(0.09)
    assert [c["pixels_bas"] for c in r.classes] == [4, 4]
    assert [c["pixels_alt"] for c in r.classes] == [3, 6]


def test_baseline_only(pools, pair):
    r = cm.carbon_storage(pair[0], read_pools(pools))
    d = r.to_dict()
    assert d["total_mg_c"] == pytest.approx(96.48) and d["alt_total_mg_c"] is None
    assert d["delta_mg_c"] is None and "npv_cny" not in d


def test_negative_and_wide_codes(tmp_path):
    # int32 codes −7 and 100 000, nodata −2**31 outside the table's span; 10 m pixels = 0.01 ha
    # 2 px × 3 + 1 px × 5 = 11 Mg C/ha·px → 0.11 Mg C
    arr = np.array([[-7, -7], [100_000, -(2**31)]], dtype=np.int32)
    p = write_tif(tmp_path / "w.tif", arr, nodata=-(2**31), res=10.0)
    t = cm.CarbonPools.from_rows(
        [
            {"lucode": -7, "c_above": 1, "c_below": 0, "c_soil": 2, "c_dead": 0},
            {"lucode": 100_000, "c_above": 0, "c_below": 0, "c_soil": 5, "c_dead": 0},
        ]
    )
    assert cm.carbon_storage(p, t).total_mg_c == pytest.approx(0.11, rel=1e-12)


def test_missing_class_is_an_error_and_writes_nothing(tmp_path, pools):
    arr = BASE.copy()
    arr[0, 0] = 7  # not in the pools table
    p = write_tif(tmp_path / "m.tif", arr, nodata=-1)
    out = tmp_path / "maps"
    with pytest.raises(InputError, match=r"code\(s\) 7 \(1 px\)") as e:
        cm.carbon_storage(p, read_pools(pools), out_dir=out)
    assert e.value.problems[0].file == p and e.value.problems[0].field == "lucode"
    assert not out.exists()


def test_missing_class_keeps_earlier_maps(tmp_path, pools, pair):
    # maps and counts are made in one pass; a code missing from the table (found only once
    # every window is counted) deletes the new maps, and the previous run's maps stay valid
    out = tmp_path / "maps"
    good = cm.carbon_storage(pair[0], read_pools(pools), pair[1], out_dir=out)
    before = {n: Path(f).read_bytes() for n, f in good.outputs.items()}
    bad = BASE.copy()
    bad[2, 0] = 7  # not in the pools table, in the last window of 1-pixel-row windows
    p = write_tif(tmp_path / "m.tif", bad, nodata=-1)
    with pytest.raises(InputError, match=r"code\(s\) 7 \(1 px\)"):
        cm.carbon_storage(p, read_pools(pools), pair[1], out_dir=out, target_pixels=4)
    assert sorted(f.name for f in out.iterdir()) == sorted(f"{n}.tif" for n in before)
    assert all(Path(good.outputs[n]).read_bytes() == b for n, b in before.items())


@pytest.mark.parametrize("compress", ["zstd", "deflate", "lzw"])
def test_maps_identical_whatever_the_compression(tmp_path, pools, pair, compress):
    v = cm.Valuation(100, 10, 0, 2020, 2022)
    r = cm.carbon_storage(
        pair[0], read_pools(pools), pair[1], valuation=v, out_dir=tmp_path / compress,
        compress=compress.upper(),
    )  # fmt: skip
    ref = cm.pixel_maps(
        BASE, ALT, -32768, read_pools(pools).density_table(-32768, 65536) * 0.09, -1, -1,
        cm.valuation_constant(100, 10, 0, 2),
    )  # fmt: skip
    for name, f in r.outputs.items():
        with rasterio.open(f) as ds:
            assert ds.compression.value == compress.upper() and ds.profile["tiled"]
            assert np.array_equal(ds.read(1), ref[name]), name


def test_unknown_compression_is_an_input_error(tmp_path, pools, pair):
    with pytest.raises(InputError, match="unknown compression"):
        cm.carbon_storage(pair[0], read_pools(pools), out_dir=tmp_path / "o", compress="jpeg")
    assert not (tmp_path / "o").exists()


def test_missing_wide_code_is_an_error(tmp_path, pools):
    arr = np.array([[1, 2], [70_000, 2]], dtype=np.int32)  # outside the table's span 1..2
    p = write_tif(tmp_path / "m32.tif", arr)
    with pytest.raises(InputError, match=r"beyond 1\.\.2"):
        cm.carbon_storage(p, read_pools(pools))


def test_input_errors_before_any_pixel_is_read(tmp_path, pools, pair, monkeypatch):
    def no_reading(*a, **k):
        raise AssertionError("pixels were read before the inputs were checked")

    monkeypatch.setattr(raster, "run_blocks", no_reading)
    t = read_pools(pools)
    f = write_tif(tmp_path / "f.tif", BASE.astype(np.float32))
    with pytest.raises(InputError, match="integer class codes"):
        cm.carbon_storage(f, t)
    shifted = write_tif(tmp_path / "s.tif", ALT, nodata=-1, x0=500030.0)
    with pytest.raises(InputError, match="origin differs"):
        cm.carbon_storage(pair[0], t, shifted)
    other_crs = write_tif(tmp_path / "c.tif", ALT, nodata=-1, crs="EPSG:3857")
    with pytest.raises(InputError, match="coordinate reference system"):
        cm.carbon_storage(pair[0], t, other_crs)
    geo = write_tif(tmp_path / "g.tif", BASE, crs="EPSG:4326", res=0.0003, x0=110.0)
    with pytest.raises(InputError, match="projected"):
        cm.carbon_storage(geo, t)
    as_u8 = write_tif(tmp_path / "u8.tif", ALT.clip(0).astype(np.uint8))
    with pytest.raises(InputError, match="same integer type"):
        cm.carbon_storage(pair[0], t, as_u8)
    with pytest.raises(InputError, match="alternate land cover"):
        cm.carbon_storage(pair[0], t, valuation=cm.Valuation(10, 0, 0, 2020, 2030))
    with pytest.raises(InputError, match="after the baseline year"):
        cm.carbon_storage(pair[0], t, pair[1], valuation=cm.Valuation(10, 0, 0, 2030, 2030))


# --------------------------------------------------------------------------- valuation


def test_valuation_constant_hand_worked():
    # p = 100, d = 10 %, r = 0, n = 2: K = 100/2 · (1 + 1/1.1) = 50 · 1.909090… = 95.454545…
    assert cm.valuation_constant(100, 10, 0, 2) == pytest.approx(95.45454545, rel=1e-9)
    # p = 10, d = 5 %, r = 5 %, n = 3: q = 1/1.05² = 0.9070294785; Σ q^t = 1 + q + q² =
    #   1 + 0.9070294785 + 0.8227024749 = 2.7297319534; K = 10/3 · 2.7297319534 = 9.0991065
    assert cm.valuation_constant(10, 5, 5, 3) == pytest.approx(9.0991065113, rel=1e-9)
    # no discounting: K = price (the whole change valued at today's price)
    assert cm.valuation_constant(42.0, 0, 0, 17) == pytest.approx(42.0, rel=1e-12)
    # one year: K = price whatever the rates (t = 0 only)
    assert cm.valuation_constant(42.0, 9, 3, 1) == pytest.approx(42.0, rel=1e-12)


@given(
    price=st.floats(1, 1000),
    d1=st.floats(0, 20),
    d2=st.floats(0, 20),
    n=st.integers(1, 100),
)
def test_valuation_falls_as_discount_rate_rises(price, d1, d2, n):
    lo, hi = sorted((d1, d2))
    assert cm.valuation_constant(price, hi, 0, n) <= cm.valuation_constant(price, lo, 0, n) * (
        1 + 1e-12
    )


def test_npv_is_constant_times_change(pools, pair):
    v = cm.Valuation(
        price_per_mg_c=100, discount_rate_pct=10, rate_change_pct=0, base_year=2020, alt_year=2022
    )
    r = cm.carbon_storage(pair[0], read_pools(pools), pair[1], valuation=v)
    # K = 95.454545… (above); NPV = 95.454545… × 25.56 = 2439.818181…
    assert r.npv_cny == pytest.approx(2439.8181818, rel=1e-9)
    assert r.to_dict()["valuation_constant_cny_per_mg_c"] == pytest.approx(95.4545454545)


# --------------------------------------------------------------------------- maps


def test_maps_per_pixel(tmp_path, pools, pair):
    v = cm.Valuation(100, 10, 0, 2020, 2022)
    r = cm.carbon_storage(pair[0], read_pools(pools), pair[1], valuation=v, out_dir=tmp_path / "o")
    assert set(r.outputs) == {"c_storage_bas", "c_storage_alt", "c_change_bas_alt", "npv_alt"}
    with rasterio.open(r.outputs["c_storage_bas"]) as ds:
        bas = ds.read(1, masked=True)
        assert ds.dtypes[0] == "float32" and ds.profile["tiled"] and ds.units[0] == "Mg C/pixel"
    # class 1 pixel: 63 Mg C/ha × 0.09 ha = 5.67 Mg C; class 2: 205 × 0.09 = 18.45 Mg C
    assert bas[0, 0] == np.float32(5.67) and bas[0, 2] == np.float32(18.45)
    assert bas.mask[2, 2] and bas.count() == 8
    assert float(bas.sum(dtype=np.float64)) == pytest.approx(r.total_mg_c, rel=1e-6)
    with rasterio.open(r.outputs["c_change_bas_alt"]) as ds:
        change = ds.read(1, masked=True)
    assert change.mask[2, 2] and float(change.sum(dtype=np.float64)) == pytest.approx(
        25.56, rel=1e-6
    )
    assert change[0, 0] == np.float32(18.45 - 5.67)
    with rasterio.open(r.outputs["npv_alt"]) as ds:
        npv = ds.read(1, masked=True)
    assert float(npv.sum(dtype=np.float64)) == pytest.approx(r.npv_cny, rel=1e-6)


# --------------------------------------------------------------------------- invariants


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    data=st.data(),
    shape=st.tuples(st.integers(1, 60), st.integers(1, 60)),
    target=st.integers(16, 4000),
    workers=st.sampled_from([1, 2]),
)
def test_totals_independent_of_block_size_and_match_pixel_sum(
    tmp_path_factory, data, shape, target, workers
):
    codes = data.draw(st.lists(st.integers(-50, 50), min_size=2, max_size=6, unique=True))
    dens = data.draw(
        st.lists(st.floats(0, 500, allow_subnormal=False), min_size=len(codes), max_size=len(codes))
    )
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    nodata = codes[0]  # the first code is nodata; the others are classes
    base = rng.choice(np.array(codes, dtype=np.int16), size=shape)
    alt = rng.choice(np.array(codes, dtype=np.int16), size=shape)
    d = tmp_path_factory.mktemp("c")
    pb, pa = (
        write_tif(d / "b.tif", base, nodata=nodata, tile=16),
        write_tif(d / "a.tif", alt, nodata=nodata, tile=16),
    )
    t = cm.CarbonPools.from_rows(
        [
            {"lucode": c, "c_above": x, "c_below": 0, "c_soil": 0, "c_dead": 0}
            for c, x in zip(codes[1:], dens[1:], strict=True)
        ]
    )
    one = cm.carbon_storage(pb, t, pa, workers=1, target_pixels=shape[0] * shape[1])
    many = cm.carbon_storage(pb, t, pa, workers=workers, target_pixels=target)
    # with maps the counts come from the class-pair index (one pass): the same totals
    mapped = cm.carbon_storage(pb, t, pa, workers=workers, target_pixels=target, out_dir=d / "o")
    # integer class counts: the totals are identical whatever the windows and threads
    for other in (many, mapped):
        assert (one.total_mg_c, one.alt_total_mg_c, one.delta_mg_c) == (
            other.total_mg_c,
            other.alt_total_mg_c,
            other.delta_mg_c,
        )
    # and equal the brute-force per-pixel float64 sum (InVEST's definition)
    lut = dict(zip(codes[1:], dens[1:], strict=True))
    db = np.vectorize(lambda c: lut.get(c, np.nan))(base).astype(float) * 0.09
    da_ = np.vectorize(lambda c: lut.get(c, np.nan))(alt).astype(float) * 0.09
    assert one.total_mg_c == pytest.approx(np.nansum(db), rel=1e-12, abs=1e-9)
    assert one.alt_total_mg_c == pytest.approx(np.nansum(da_), rel=1e-12, abs=1e-9)
    assert one.delta_mg_c == pytest.approx(np.nansum(da_ - db), rel=1e-9, abs=1e-9)


def test_dask_path_equals_file_path(tmp_path, pools):
    rng = np.random.default_rng(3)
    base = rng.choice(np.array([1, 2, -1], dtype=np.int16), size=(130, 90))
    alt = rng.choice(np.array([1, 2, -1], dtype=np.int16), size=(130, 90))
    pb = write_tif(tmp_path / "b.tif", base, nodata=-1, tile=32)
    pa = write_tif(tmp_path / "a.tif", alt, nodata=-1, tile=32)
    t = read_pools(pools)
    v = cm.Valuation(80, 5, 1, 2020, 2035)
    f = cm.carbon_storage(pb, t, pa, valuation=v, target_pixels=1024)
    lazy_b = raster.open_dask(pb, chunks=(40, 50))
    lazy_a = raster.open_dask(pa, chunks=(64, 64))  # different chunks: rechunked like the baseline
    d = cm.carbon_storage_dask(
        lazy_b, t, lazy_a, pixel_area_ha=0.09, nodata=-1, alt_nodata=-1, valuation=v
    )
    assert (d.total_mg_c, d.alt_total_mg_c, d.delta_mg_c, d.npv_cny) == (
        f.total_mg_c, f.alt_total_mg_c, f.delta_mg_c, f.npv_cny,
    )  # fmt: skip
    # plain dask arrays and plain numpy arrays go through the same block function
    import dask.array as da

    for b_, a_ in (
        (da.from_array(base, chunks=(50, 37)), da.from_array(alt, chunks=(64, 64))),
        (base, alt),
    ):
        e = cm.carbon_storage_dask(
            b_, t, a_, pixel_area_ha=0.09, nodata=-1, alt_nodata=-1, valuation=v
        )
        assert (e.total_mg_c, e.delta_mg_c, e.npv_cny) == (f.total_mg_c, f.delta_mg_c, f.npv_cny)


# --------------------------------------------------------------------------- CLI


@pytest.fixture
def cli():
    app = typer.Typer()
    add_commands(app)

    @app.callback()
    def _group() -> None:
        """The value group, as restora.cli.value builds it."""

    return app


def test_cli_json_contract(cli, pools, pair, tmp_path):
    res = CliRunner().invoke(
        cli,
        ["carbon", "--lulc", pair[0], "--lulc-alt", pair[1], "--pools", str(pools), "--format", "json",
         "--price", "100", "--discount-rate", "10", "--base-year", "2020", "--alt-year", "2022",
         "--out", str(tmp_path / "maps")],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    d = json.loads(res.stdout)
    assert d["total_mg_c"] == pytest.approx(96.48) and d["alt_total_mg_c"] == pytest.approx(127.71)
    assert d["delta_mg_c"] == pytest.approx(25.56) and d["npv_cny"] == pytest.approx(2439.8181818)
    assert (tmp_path / "maps" / "npv_alt.tif").exists()
    with rasterio.open(tmp_path / "maps" / "npv_alt.tif") as ds:
        assert ds.compression.value == "ZSTD"
    res = CliRunner().invoke(
        cli,
        ["carbon", "--lulc", pair[0], "--pools", str(pools), "-f", "json", "--compress", "deflate",
         "--out", str(tmp_path / "deflate")],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    with rasterio.open(tmp_path / "deflate" / "c_storage_bas.tif") as ds:
        assert ds.compression.value == "DEFLATE"
    res = CliRunner().invoke(
        cli,
        ["carbon", "--lulc", pair[0], "--pools", str(pools), "--compress", "webp",
         "--out", str(tmp_path / "webp")],
    )  # fmt: skip
    assert res.exit_code == 2 and "unknown compression" in res.output


def test_cli_baseline_only_has_nulls(cli, pools, pair):
    res = CliRunner().invoke(
        cli, ["carbon", "--lulc", pair[0], "--pools", str(pools), "-f", "json"]
    )
    assert res.exit_code == 0, res.output
    d = json.loads(res.stdout)
    assert d["alt_total_mg_c"] is None and d["delta_mg_c"] is None


def test_cli_table_and_csv(cli, pools, pair):
    res = CliRunner().invoke(cli, ["carbon", "--lulc", pair[0], "--pools", str(pools), "-f", "csv"])
    assert res.exit_code == 0
    assert res.stdout.splitlines()[0].startswith("lucode,density_mg_c_per_ha,pixels_bas")
    res = CliRunner().invoke(cli, ["carbon", "--lulc", pair[0], "--pools", str(pools)])
    assert res.exit_code == 0 and "total_mg_c" in res.stdout


def test_cli_exit_codes(cli, pools, pair, tmp_path):
    arr = BASE.copy()
    arr[1, 1] = 9
    missing = write_tif(tmp_path / "m.tif", arr, nodata=-1)
    res = CliRunner().invoke(
        cli, ["carbon", "--lulc", missing, "--pools", str(pools), "-f", "json"]
    )
    assert res.exit_code == 2 and "9 (1 px)" in res.output
    res = CliRunner().invoke(
        cli, ["carbon", "--lulc", pair[0], "--pools", str(pools), "--price", "5"]
    )
    assert res.exit_code == 2 and "--base-year" in res.output
    res = CliRunner().invoke(
        cli, ["carbon", "--lulc", pair[0], "--pools", str(tmp_path / "none.csv")]
    )
    assert res.exit_code == 2 and "no such file" in res.output


def test_price_per_t_co2_converted_by_molecular_weights():
    # IPCC 44/12: 60 CNY/t CO2 × 44/12 = 220 CNY/Mg C
    price, prov = cm.price_per_mg_c(60.0, on="2024-01-01")
    assert price == pytest.approx(220.0, rel=1e-12)
    assert prov["name"] == "valuation/carbon/co2-per-c" and "IPCC" in prov["source"]


def test_cli_price_per_t_co2(cli, pools, pair):
    res = CliRunner().invoke(
        cli,
        ["carbon", "--lulc", pair[0], "--lulc-alt", pair[1], "--pools", str(pools), "-f", "json",
         "--price", "30", "--price-unit", "CNY/tCO2", "--discount-rate", "10",
         "--base-year", "2020", "--alt-year", "2022"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    d = json.loads(res.stdout)
    # 30 × 44/12 = 110 CNY/Mg C; K = 110/2 · (1 + 1/1.1) = 105; NPV = 105 × 25.56 = 2683.8
    assert d["price_cny_per_mg_c"] == pytest.approx(110.0)
    assert d["npv_cny"] == pytest.approx(2683.8, rel=1e-9)
    assert d["price_input"]["unit"] == "CNY/tCO2"
    bad = CliRunner().invoke(cli, ["carbon", "--lulc", pair[0], "--lulc-alt", pair[1], "--pools", str(pools),
                                   "--price", "30", "--price-unit", "USD/oz", "--base-year", "2020", "--alt-year", "2022"])  # fmt: skip
    assert bad.exit_code == 2 and "unknown price unit" in bad.output


def test_interrupted_map_writing_leaves_no_partial_maps(tmp_path, pools, monkeypatch):
    base = write_tif(tmp_path / "b.tif", np.tile(BASE, (20, 20)), nodata=-1, tile=16)  # 60×60
    alt = write_tif(tmp_path / "a.tif", np.tile(ALT, (20, 20)), nodata=-1, tile=16)
    calls = []

    def interrupted(*args, **kwargs):
        calls.append(1)
        if len(calls) > 1:  # the second window with maps: as if Ctrl-C was pressed
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    real = cm.maps_and_counts
    monkeypatch.setattr(cm, "maps_and_counts", interrupted)
    out = tmp_path / "maps"
    with pytest.raises(KeyboardInterrupt):
        cm.carbon_storage(base, read_pools(pools), alt, out_dir=out, target_pixels=256, workers=1)
    # the folder did not exist before the run: it is removed with the partial maps
    assert len(calls) == 2 and not out.exists()
    # an existing folder stays, with its earlier maps unchanged and no partial file left
    out.mkdir()
    (out / "c_storage_bas.tif").write_bytes(b"earlier run")
    calls.clear()
    with pytest.raises(KeyboardInterrupt):
        cm.carbon_storage(base, read_pools(pools), alt, out_dir=out, target_pixels=256, workers=2)
    assert [f.name for f in out.iterdir()] == ["c_storage_bas.tif"]
    assert (out / "c_storage_bas.tif").read_bytes() == b"earlier run"


def test_cli_interrupt_exits_130_and_progress_bar_runs(cli, pools, pair, monkeypatch):
    res = CliRunner().invoke(
        cli, ["carbon", "--lulc", pair[0], "--pools", str(pools), "--progress", "-f", "json"]
    )
    assert res.exit_code == 0, res.output

    def interrupted(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(cm, "carbon_storage", interrupted)
    res = CliRunner().invoke(cli, ["carbon", "--lulc", pair[0], "--pools", str(pools)])
    assert res.exit_code == 130 and "interrupted" in res.output


@given(
    data=st.data(),
    n_codes=st.integers(2, 12),
    with_k=st.booleans(),
)
def test_class_table_maps_equal_pixel_by_pixel_float64(data, n_codes, with_k):
    # the fast path (class indices and per-pair tables) gives exactly the float64-then-float32
    # values of the pixel-by-pixel path, nodata included
    codes = data.draw(
        st.lists(st.integers(-60, 60), min_size=n_codes, max_size=n_codes, unique=True)
    )
    dens = data.draw(
        st.lists(st.floats(0, 400, allow_subnormal=False), min_size=n_codes, max_size=n_codes)
    )
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    base = rng.choice(np.array(codes, dtype=np.int16), size=(9, 7))
    alt = rng.choice(np.array(codes, dtype=np.int16), size=(9, 7))
    table = np.full(65536, np.nan)
    table[np.array(codes) + 32768] = np.array(dens) * 0.09
    nd_b = data.draw(st.one_of(st.none(), st.sampled_from(codes)))
    nd_a = data.draw(st.one_of(st.none(), st.sampled_from(codes)))
    k = 37.25 if with_k else None
    fast = cm.pixel_maps(base, alt, -32768, table, nd_b, nd_a, k)
    slow = cm._pixel_maps_float64(base, alt, -32768, table, nd_b, nd_a, k)
    assert fast.keys() == slow.keys()
    for name in fast:
        assert fast[name].dtype == np.float32 and np.array_equal(fast[name], slow[name]), name


@given(
    data=st.data(),
    n_codes=st.integers(2, 12),
    with_alt=st.booleans(),
    with_k=st.booleans(),
    unknown=st.booleans(),
)
def test_counts_from_pair_index_equal_pair_histograms(data, n_codes, with_alt, with_k, unknown):
    # the one-pass block function gives exactly pair_histograms' counts (built from the joint
    # histogram of class pairs) and pixel_maps' maps, with nodata and codes missing from the
    # table; a block with a missing code gets no maps
    codes = data.draw(
        st.lists(st.integers(-60, 60), min_size=n_codes, max_size=n_codes, unique=True)
    )
    dens = data.draw(
        st.lists(st.floats(0, 400, allow_subnormal=False), min_size=n_codes, max_size=n_codes)
    )
    in_table = codes[1:] if unknown else codes  # with `unknown`, codes[0] is not a class
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    shape = data.draw(st.tuples(st.integers(1, 9), st.integers(1, 9)))
    base = rng.choice(np.array(codes, dtype=np.int16), size=shape)
    alt = rng.choice(np.array(codes, dtype=np.int16), size=shape) if with_alt else None
    offset, size = raster.histogram_span("int16")
    table = np.full(size, np.nan)
    table[np.array(in_table) - offset] = np.array(dens[: len(in_table)]) * 0.09
    nd_b = data.draw(st.one_of(st.none(), st.sampled_from(codes)))
    nd_a = data.draw(st.one_of(st.none(), st.sampled_from(codes)))
    k = 37.25 if with_k and with_alt else None
    lucode = np.array(in_table, dtype=np.int64)
    hist, maps = cm.maps_and_counts(base, alt, offset, size, table, nd_b, nd_a, k, lucode)
    expected = cm.pair_histograms(base, alt, offset, size, nd_b, nd_a, lucode)
    assert np.array_equal(hist, expected)
    missing = (base != nd_b) & np.isin(base, in_table, invert=True)
    if alt is not None:
        missing |= (alt != nd_a) & np.isin(alt, in_table, invert=True)
    if missing.any():
        assert maps is None
    else:
        ref = cm._pixel_maps_float64(base, alt, offset, table, nd_b, nd_a, k)
        assert maps is not None and maps.keys() == ref.keys()
        assert all(np.array_equal(maps[n], ref[n]) for n in ref)


def test_counts_from_pair_index_hand_worked():
    # BASE/ALT above; classes 1 and 2, nodata -1. Joint counts of (baseline, alternate) pairs:
    # (1,2): 2, (1,1): 2, (2,2): 4, (2,1): 0, (-1,1): 1 → baseline class 1: 2 + 2 = 4,
    # class 2: 4, nodata 1; alternate class 1: 2 + 1 = 3, class 2: 2 + 4 = 6; alternate where
    # the baseline is nodata: class 1: 1; nothing where the alternate is nodata
    offset, size = raster.histogram_span("int16")
    table = np.full(size, np.nan)
    table[[1 - offset, 2 - offset]] = [5.67, 18.45]
    hist, maps = cm.maps_and_counts(BASE, ALT, offset, size, table, -1, -1, None)
    assert maps is not None
    assert hist[0, 1 - offset] == 4 and hist[0, 2 - offset] == 4 and hist[0, -1 - offset] == 1
    assert hist[1, 1 - offset] == 3 and hist[1, 2 - offset] == 6 and hist[1].sum() == 9
    assert hist[2].sum() == 0 and hist[3, 1 - offset] == 1 and hist[3].sum() == 1
    assert maps["c_change_bas_alt"][0, 0] == np.float32(18.45 - 5.67)
