"""The files counties have (issue 12 items 3-5): point registers, .xls, title rows, merged and
two-row headers, UTF-16 tab-separated text, full-width digits, Chinese and Excel dates,
header-only files, coordinates in the wrong CRS and the declared-area tolerance.

Each test fails on the reader before issue 12 (which read a point register as mines without
sites, took a title row for the header, did not read .xls or UTF-16, and reported degrees under
a projected CRS as an area off by 10¹² %); the comment of each says what it checks.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import numpy as np
import openpyxl
import pytest
import shapely
from inventory_fixtures import GK, X0, Y0
from typer.testing import CliRunner

from restora.cli import app
from restora.errors import InputError
from restora.inventory.compare import register_differences
from restora.inventory.geometry import AREA_DECLARED, area_basis, has_boundary
from restora.inventory.io import read_register, write_register
from restora.inventory.parse import crs_mismatch, units_per_hm2
from restora.inventory.validate import excel_serial_date, number_text, parse_date
from restora.store import Store

DATA = Path(__file__).resolve().parents[1] / "data" / "register"
XLS = DATA / "county_points.xls"
runner = CliRunner()

POINT_HEAD = "矿山编号,矿山名称,行政区代码,矿种,状态,损毁类型,经度,纬度,{area},备注\n"
POINT_ROWS = (
    "GY-001,甲煤矿,430181,煤,废弃,采场,113.5012,28.1234,{a1},无\n"
    "GY-002,乙石料场,430181,建筑石料,废弃,排土场,113.6021,28.2045,{a2},\n"
)


def _write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    p = tmp_path / name
    p.write_bytes(text.encode(encoding))
    return p


def _problems(paths, **kw) -> list[str]:
    with pytest.raises(InputError) as err:
        read_register(paths, **kw)
    return [re.sub(r"(?<!\w)/\S*/", "", str(p)) for p in err.value.problems]


def _points_csv(tmp_path: Path, area: str = "损毁面积（亩）", a1: str = "300", a2: str = "45"):
    text = POINT_HEAD.format(area=area) + POINT_ROWS.format(a1=a1, a2=a2)
    return _write(tmp_path, "points.csv", text)


# --- item 3: point registers --------------------------------------------------------------


def test_point_register_imports_sites_without_boundary(tmp_path):
    """Before: a table of mines with 经度/纬度 and 面积（亩） was a mines table: 0 sites, 0 hm²."""
    reg, report = read_register([_points_csv(tmp_path)], lonlat_wgs84=True)
    sites = reg.sites.set_index("site_id")
    assert list(sites.index) == ["GY-001-1", "GY-002-1"]  # <mine_id>-<n>: no site id given
    # 300 亩 / 15 = 20 hm²; 45 亩 / 15 = 3 hm²: the declared area is the site's area
    assert sites["declared_area_hm2"].tolist() == [20.0, 3.0]
    assert sites["area_hm2"].tolist() == [20.0, 3.0]
    assert sites.loc["GY-001-1", "geometry"].equals(shapely.Point(113.5012, 28.1234))
    assert not has_boundary(reg.sites["geometry"]).any()
    assert list(area_basis(reg.sites)) == [AREA_DECLARED, AREA_DECLARED]
    assert sites.loc["GY-002-1", "kind"] == "waste_rock_dump"
    assert report.ignored_columns == [f"{tmp_path / 'points.csv'}: 备注"]
    # the single-mine view says so too
    (site,) = reg.sites_of("GY-001")
    assert not site.has_boundary and site.area_hm2 == 20.0


@pytest.mark.parametrize(
    "header, unit, expected",
    [
        ("面积（亩）", None, [20.0, 3.0]),  # 300 / 15, 45 / 15
        ("损毁面积(公顷)", None, [300.0, 45.0]),
        ("面积(hm²)", None, [300.0, 45.0]),
        ("占地面积（平方米）", None, [0.03, 0.0045]),  # 300 / 10 000, 45 / 10 000
        ("面积", "mu", [20.0, 3.0]),
        ("area", "m2", [0.03, 0.0045]),
    ],
)
def test_area_units_from_the_header_or_the_option(tmp_path, header, unit, expected):
    reg, _ = read_register([_points_csv(tmp_path, area=header)], lonlat_wgs84=True, area_unit=unit)
    assert reg.sites["declared_area_hm2"].tolist() == pytest.approx(expected, rel=1e-12)


def test_plain_area_without_unit_is_an_error(tmp_path):
    probs = _problems([_points_csv(tmp_path, area="面积")], lonlat_wgs84=True)
    assert probs == [
        'points.csv, column "面积": the area column names no unit: write it in the header '
        "(面积（亩）, 面积（公顷）, 面积（平方米）) or pass --area-unit mu|hm2|m2"
    ]
    with pytest.raises(InputError, match="--area-unit"):
        read_register([_points_csv(tmp_path)], lonlat_wgs84=True, area_unit="bananas")


def test_point_rows_need_their_area(tmp_path):
    """A centre point without an area would be a site of 0 hm²: never silently."""
    probs = _problems([_points_csv(tmp_path, a2="")], lonlat_wgs84=True)
    assert probs == [
        'points.csv, row 2, column "损毁面积（亩）": is empty: a site given by its centre point '
        "(no boundary) needs its declared area"
    ]
    no_area = "矿山编号,矿山名称,行政区代码,矿种,状态,损毁类型,经度,纬度\nGY-1,甲,430181,煤,废弃,采场,113.5,28.1\n"
    probs = _problems([_write(tmp_path, "a.csv", no_area)], lonlat_wgs84=True)
    assert len(probs) == 1 and "needs its declared area" in probs[0]


def test_areas_without_location_are_an_error(tmp_path):
    """Before: 面积 beside the mine columns was ignored and the mines imported with 0 sites."""
    text = "矿山编号,矿山名称,行政区代码,矿种,状态,损毁类型,面积（亩）\nGY-1,甲,430181,煤,废弃,采场,30\n"
    probs = _problems([_write(tmp_path, "a.csv", text)], lonlat_wgs84=True)
    assert any("missing the site polygons or centre points" in p for p in probs)


def test_two_area_units_must_agree(tmp_path):
    head = "矿山编号,矿山名称,行政区代码,矿种,状态,损毁类型,经度,纬度,面积（公顷）,面积（亩）\n"
    ok = "GY-1,甲,430181,煤,废弃,采场,113.5,28.1,2,30\n"  # 30 亩 = 2 hm²
    off = "GY-2,乙,430181,煤,废弃,采场,113.6,28.2,2,45\n"  # 45 亩 = 3 hm² ≠ 2 hm²
    reg, _ = read_register([_write(tmp_path, "a.csv", head + ok)], lonlat_wgs84=True)
    assert reg.sites["declared_area_hm2"].tolist() == [2.0]
    probs = _problems([_write(tmp_path, "b.csv", head + ok + off)], lonlat_wgs84=True)
    assert probs == [
        'b.csv, row 2, column "面积（亩）": the declared areas disagree: 3.0000 hm² (45.00 亩) '
        'here, 2.0000 hm² (30.00 亩) under "面积（公顷）"'
    ]


def test_point_sites_round_trip_through_every_export(tmp_path):
    reg, _ = read_register([_points_csv(tmp_path)], lonlat_wgs84=True)
    for fmt, suffix in (("csv", "csv"), ("gpkg", "gpkg"), ("geojson", "geojson"), ("xlsx", "xlsx")):
        files = write_register(reg, tmp_path / f"out.{suffix}", fmt)
        back, _ = read_register(files)
        assert register_differences(reg, back) == [], fmt


def test_projected_xy_points(tmp_path):
    """X/Y in a projected CRS: a 1 km offset east of the CM at 30° N, reprojected to lon/lat."""
    head = "矿山编号,矿山名称,行政区代码,矿种,状态,损毁类型,X,Y,面积（亩）\n"
    row = f"GY-1,甲,430181,煤,废弃,采场,{X0 + 1000},{Y0},15\n"
    reg, _ = read_register([_write(tmp_path, "xy.csv", head + row)], crs=GK)
    p = reg.sites.loc[0, "geometry"]
    assert p.geom_type == "Point" and reg.sites.loc[0, "area_hm2"] == 1.0  # 15 亩 = 1 hm²
    # EPSG:4547 is centred on 114° E: 1 km east at 30° N is 114° + 1/(111.3 cos 30°) ≈ 114.0104
    assert p.x == pytest.approx(114.0104, abs=1e-4) and 29.99 < p.y < 30.0


# --- item 4: real spreadsheets ------------------------------------------------------------


def test_xls_with_title_rows(tmp_path):
    """county_points.xls (tests/data/register/make_county_points_xls.py): two title lines
    (one merged across the table), the header on row 3, a region code as a number cell and a
    date cell."""
    reg, report = read_register([XLS], lonlat_wgs84=True)
    assert list(reg.mines["mine_id"]) == ["GY-001", "GY-002", "GY-003"]
    assert list(reg.mines["region_code"]) == ["430181"] * 3  # number cell 430181.0 → code
    # 300, 45 and 1200 亩 / 15
    assert reg.sites["area_hm2"].tolist() == [20.0, 3.0, 80.0]
    (table,) = report.files[0].tables
    assert table["header_row"] == 3 and table["header_rows"] == 1
    assert [c.split(": ")[1] for c in report.ignored_columns] == ["调查日期", "备注"]


def test_xls_bad_cell_names_sheet_row_and_column(tmp_path):
    """A workbook with the .xls name but an .xlsx inside is read as what it is; a bad cell
    names the file, the sheet, the data row (header not counted) and the column."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "样品"
    ws.append(["某县土壤样品检测结果"])
    ws.append(["样品编号", "矿山编号", "经度", "纬度", "pH", "土地利用", "镉"])
    ws.append(["P1", "M1", 113.5, 28.1, 6.5, "水田", 0.3])
    ws.append(["P2", "M1", 113.5, 28.1, "微酸", "水田", 0.3])
    path = tmp_path / "样品.xls"
    wb.save(path)
    probs = _problems([path], lonlat_wgs84=True)
    assert '样品.xls (sheet 样品), row 2, column "pH": "微酸" is not a number' in probs


def test_xlsx_title_row_and_merged_two_row_header(tmp_path):
    """面积 merged over 亩 | 公顷, 矿山编号 merged down over two header rows, a title above."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["某县历史遗留矿山登记表"])
    ws.merge_cells("A1:I1")
    ws.append(
        [
            "矿山编号",
            "矿山名称",
            "行政区代码",
            "矿种",
            "状态",
            "损毁类型",
            "中心点坐标",
            None,
            "面积",
        ]
    )
    ws.append([None, None, None, None, None, None, "经度", "纬度", "亩"])
    for col in "ABCDEF":
        ws.merge_cells(f"{col}2:{col}3")
    ws.merge_cells("G2:H2")
    ws.append(["GY-1", "甲", "430181", "煤", "废弃", "采场", 113.5, 28.1, 30])
    ws.append(["GY-2", "乙", "430181", "煤", "废弃", "采场", 113.6, 28.2, 45])
    path = tmp_path / "merged.xlsx"
    wb.save(path)
    reg, report = read_register([path], lonlat_wgs84=True)
    assert reg.sites["area_hm2"].tolist() == [2.0, 3.0]  # 30 / 15, 45 / 15
    assert reg.sites.loc[1, "geometry"].equals(shapely.Point(113.6, 28.2))
    (table,) = report.files[0].tables
    assert table["header_row"] == 2 and table["header_rows"] == 2


def test_csv_two_row_header_saved_as_text(tmp_path):
    """The same header saved as CSV: the merged cell leaves its value in the first column only."""
    text = (
        "某县历史遗留矿山登记表,,,,,,,,,\n"
        "矿山编号,矿山名称,行政区代码,矿种,状态,损毁类型,经度,纬度,面积,\n"
        ",,,,,,,,亩,公顷\n"
        "GY-1,甲,430181,煤,废弃,采场,113.5,28.1,30,2\n"
    )
    reg, _ = read_register([_write(tmp_path, "two.csv", text)], lonlat_wgs84=True)
    assert reg.sites["declared_area_hm2"].tolist() == [2.0]


def test_utf16_tab_separated_text(tmp_path):
    """Excel's "Unicode text": UTF-16 LE with BOM, tab-separated."""
    text = POINT_HEAD.format(area="面积（亩）").replace(",", "\t") + POINT_ROWS.format(
        a1="300", a2="45"
    ).replace(",", "\t")
    path = _write(tmp_path, "points.txt", text, encoding="utf-16")
    assert path.read_bytes()[:2] == b"\xff\xfe"
    reg, report = read_register([path], lonlat_wgs84=True)
    assert reg.sites["area_hm2"].tolist() == [20.0, 3.0]
    assert report.files[0].encoding == "utf-16"


def test_full_width_digits_and_separators(tmp_path):
    """６.５ and １，２３４．５ (full width), 1,234.5 (thousands separator)."""
    assert number_text("６．５") == "6.5"
    assert number_text("１，２３４．５") == "1234.5"
    reg, _ = read_register(
        [_points_csv(tmp_path, a1='"１，２００"', a2="４５．０")], lonlat_wgs84=True
    )
    assert reg.sites["declared_area_hm2"].tolist() == [80.0, 3.0]  # 1200 / 15, 45 / 15


@pytest.mark.parametrize(
    "cell, expected",
    [
        ("2024年9月10日", dt.date(2024, 9, 10)),
        ("２０２４年９月１０日", dt.date(2024, 9, 10)),
        ("2024.9.10", dt.date(2024, 9, 10)),
        ("2024/9/10", dt.date(2024, 9, 10)),
        ("2024-09-10", dt.date(2024, 9, 10)),
        ("20240910", dt.date(2024, 9, 10)),
        # Excel serial: 45292 is 2024-01-01 (1899-12-30 + 45292 days); + 253 days = 10 Sep
        (45545, dt.date(2024, 9, 10)),
        ("45545", dt.date(2024, 9, 10)),
        (61, dt.date(1900, 3, 1)),  # the first day after Excel's phantom 1900-02-29
        ("2024年2月30日", None),
        ("昨天", None),
    ],
)
def test_dates(cell, expected):
    assert parse_date(cell) == expected


def test_excel_serial_dates_edges():
    assert excel_serial_date(1) == dt.date(1900, 1, 1)
    assert excel_serial_date(60) is None  # 1900-02-29 never was
    assert excel_serial_date(2_958_465) == dt.date(9999, 12, 31)
    assert excel_serial_date(2_958_466) is None


def test_gbk_samples_with_chinese_dates(tmp_path):
    text = (
        "样品编号,矿山编号,经度,纬度,pH,土地利用,采样日期,镉\n"
        "S1,GY-001,113.5013,28.1235,６.５,水田,2024年9月12日,0.3\n"
        "S2,GY-001,113.5014,28.1236,7.0,旱地,45547,0.2\n"
        "S3,GY-001,113.5015,28.1237,7.0,旱地,2024年13月1日,0.2\n"
    )
    samples = _write(tmp_path, "样品.csv", text, encoding="gbk")
    probs = _problems([XLS, samples], lonlat_wgs84=True)
    assert probs == [
        '样品.csv, row 3, column "采样日期": "2024年13月1日" is not a date (YYYY-MM-DD)'
    ]
    samples.write_bytes("\n".join(text.splitlines()[:3]).encode("gbk") + b"\n")
    reg, report = read_register([XLS, samples], lonlat_wgs84=True)
    assert reg.samples["sampled_on"].tolist() == [dt.date(2024, 9, 12), dt.date(2024, 9, 12)]
    assert reg.samples["ph"].tolist() == [6.5, 7.0]
    assert report.files[1].encoding == "gb18030"


@pytest.mark.parametrize("suffix", ["csv", "xlsx"])
def test_header_only_file_is_an_error(tmp_path, suffix):
    """Before: "Imported 0" with exit 0."""
    head = ["矿山编号", "矿山名称", "行政区代码", "矿种", "状态"]
    if suffix == "csv":
        path = _write(tmp_path, "empty.csv", ",".join(head) + "\n")
    else:
        wb = openpyxl.Workbook()
        wb.active.append(["某县登记表"])
        wb.active.append(head)
        path = tmp_path / "empty.xlsx"
        wb.save(path)
    probs = _problems([path])
    assert probs == [
        f"empty.{suffix}: has a header (矿山编号, 矿山名称, 行政区代码, 矿种, 状态) but no data rows: "
        "nothing to import"
    ]


# --- item 5: coordinates that are obviously wrong -----------------------------------------


def test_degrees_under_a_projected_crs_say_so(tmp_path):
    """Before: 'declared area … differs … by 1118856886838.6 %'."""
    wkt = shapely.to_wkt(shapely.box(114.0, 30.0, 114.001, 30.001))
    text = (
        "mine_id,name,region_code,mineral,status,site_id,kind,declared_area_hm2,wkt\n"
        f'M1,甲矿,430181,coal,abandoned,S1,open_pit,1.0,"{wkt}"\n'
    )
    probs = _problems([_write(tmp_path, "deg.csv", text)], crs=GK)
    assert len(probs) == 1
    assert probs[0].startswith(
        'deg.csv, column "wkt": these look like longitude/latitude degrees (x 114…114.001, '
        "y 30…30.001), but CGCS2000 / 3-degree Gauss-Kruger CM 114E is a projected CRS"
    )
    assert "use --crs EPSG:4326" in probs[0]
    # point registers and samples too
    probs = _problems([_points_csv(tmp_path)], crs=GK)
    assert len(probs) == 1 and "these look like longitude/latitude degrees" in probs[0]


def test_metres_under_degrees_say_so(tmp_path):
    head = "矿山编号,矿山名称,行政区代码,矿种,状态,损毁类型,经度,纬度,面积（亩）\n"
    row = f"GY-1,甲,430181,煤,废弃,采场,{X0},{Y0},15\n"
    probs = _problems([_write(tmp_path, "m.csv", head + row)], lonlat_wgs84=True)
    assert len(probs) == 1
    assert "these look like projected coordinates in metres (x 500000…500000" in probs[0]
    assert "pass the projected CRS of the survey with --crs" in probs[0]


def test_zone_prefix_and_swapped_axes():
    x, y = np.array([38_500_000.0, 38_500_100.0]), np.array([3_320_000.0, 3_320_100.0])
    why = crs_mismatch(GK, x, y)
    assert why is not None and "zone number (38)" in why
    # the EPSG database's name for the CRS of 3-degree zone 38
    assert "EPSG:4526 (CGCS2000 / 3-degree Gauss-Kruger zone 38)" in why
    why = crs_mismatch(GK, y, x - 38_000_000)
    assert why is not None and why.startswith("x and y look swapped")
    assert crs_mismatch(GK, x - 38_000_000, y) is None  # right as given


def test_declared_area_tolerance_is_a_setting(tmp_path):
    """100 m × 100 m = 1 hm² in EPSG:4547 declared as 1.2 hm²: 20 % off."""
    wkt = shapely.to_wkt(shapely.box(X0, Y0, X0 + 100, Y0 + 100))
    text = (
        "mine_id,name,region_code,mineral,status,site_id,kind,declared_area_hm2,wkt\n"
        f'M1,甲矿,430181,coal,abandoned,S1,open_pit,1.2,"{wkt}"\n'
    )
    path = _write(tmp_path, "t.csv", text)
    probs = _problems([path], crs=GK)  # default 5 % (refdata inventory/declared-area-tolerance)
    assert len(probs) == 1
    assert (
        "declared area 1.2000 hm² (18.00 亩) differs from the geometry's area 1.0000 hm² (15.00 亩)"
        in probs[0]
    )
    assert "more than the tolerance 0.05 = 5%" in probs[0]
    reg, _ = read_register([path], crs=GK, area_tolerance=0.25)
    assert reg.sites.loc[0, "declared_area_hm2"] == 1.2
    with pytest.raises(InputError, match="--area-tolerance"):
        read_register([path], crs=GK, area_tolerance=-1)


def test_units_per_hm2():
    # 1 hm² = 15 亩 = 10 000 m² = 1 公顷 = 0.01 km²
    assert units_per_hm2("亩") == 15.0 and units_per_hm2("mu") == 15.0
    assert units_per_hm2("平方米") == 10_000.0 and units_per_hm2("公顷") == 1.0
    assert units_per_hm2("km2") == 0.01
    with pytest.raises(ValueError):
        units_per_hm2("m")


# --- the Done-when scenario, end to end ---------------------------------------------------


def test_county_files_import_and_rank(tmp_path):
    """A point register in an .xls with title rows and a GBK CSV of samples import through
    `restora mines import`; `restora mines rank` ranks by their declared areas.

    Weighted damage = area × factor(kind) (refdata priority/damage-factors: open pit 1.2,
    waste-rock dump 1.0): GY-003 80 × 1.2 = 96, GY-001 20 × 1.2 = 24, GY-002 3 × 1.0 = 3; the
    samples are alike (clean), so the damage orders the ranking.
    """
    url = f"sqlite:///{tmp_path / 'county.db'}"
    Store(url).close()
    samples = _write(
        tmp_path,
        "新增样品.csv",
        "样品编号,矿山编号,经度,纬度,pH,土地利用,采样日期,镉,铅\n"
        + "".join(
            f"{m}-S1,{m},113.5,28.1,６.５,旱地,2024年9月{12 + i}日,0.1,20\n"
            for i, m in enumerate(("GY-001", "GY-002", "GY-003"))
        ),
        encoding="gbk",
    )
    res = runner.invoke(
        app, ["mines", "import", str(XLS), str(samples), "--db", url, "--lonlat-wgs84"]
    )
    assert res.exit_code == 0, res.output
    assert "not used: " in res.stderr and "调查日期" in res.stderr  # unused columns, stderr
    res = runner.invoke(app, ["mines", "rank", "--db", url, "--format", "json"])
    assert res.exit_code == 0, res.output
    ranking = json.loads(res.stdout)["ranking"]
    assert [r["mine_id"] for r in ranking] == ["GY-003", "GY-001", "GY-002"]
    area = {r["mine_id"]: r["damaged_area_hm2"] for r in ranking}
    assert area == pytest.approx({"GY-001": 20.0, "GY-002": 3.0, "GY-003": 80.0})
    weighted = {r["mine_id"]: r["damaged_area_weighted_hm2"] for r in ranking}
    assert weighted == pytest.approx({"GY-001": 24.0, "GY-002": 3.0, "GY-003": 96.0})


def test_gbk_samples_for_mines_already_in_the_store(tmp_path):
    """The Done-when order: the .xls point register first, then a GBK CSV of new samples for
    those mines with ``--mode add``; the ranking keeps the declared areas (20, 3, 80 hm²)."""
    url = f"sqlite:///{tmp_path / 'county.db'}"
    Store(url).close()
    res = runner.invoke(app, ["mines", "import", str(XLS), "--db", url, "--lonlat-wgs84"])
    assert res.exit_code == 0, res.output
    samples = _write(
        tmp_path,
        "新增样品.csv",
        "样品编号,矿山编号,经度,纬度,pH,土地利用,采样日期,镉,铅\n"
        "GY-001-S1,GY-001,113.5013,28.1235,６.５,旱地,2024年9月12日,0.1,20\n"
        "GY-003-S1,GY-003,113.7034,28.3057,7.0,旱地,45548,0.2,25\n",
        encoding="gbk",
    )
    res = runner.invoke(
        app,
        [
            "mines",
            "import",
            str(samples),
            "--db",
            url,
            "--lonlat-wgs84",
            "--mode",
            "add",
            "--format",
            "json",
        ],
    )
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["added"]["samples"] == 2
    store = Store(url)
    try:
        reg = store.load_register()
    finally:
        store.close()
    dates = dict(zip(reg.samples["sample_id"], reg.samples["sampled_on"], strict=True))
    # 45548 = 45545 (2024-09-10) + 3 days
    assert dates == {"GY-001-S1": dt.date(2024, 9, 12), "GY-003-S1": dt.date(2024, 9, 13)}
    res = runner.invoke(app, ["mines", "rank", "--db", url, "--format", "json"])
    assert res.exit_code == 0, res.output
    ranking = json.loads(res.stdout)["ranking"]
    assert {r["mine_id"]: r["damaged_area_hm2"] for r in ranking} == pytest.approx(
        {"GY-001": 20.0, "GY-002": 3.0, "GY-003": 80.0}
    )
