"""Reading the register from every format, validation messages, and lossless round trips."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyproj
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from inventory_fixtures import GK, MINES, SITES, X0, Y0, gk_polygons, site_rows

from restora.errors import InputError
from restora.inventory.compare import register_differences
from restora.inventory.geometry import equal_area_hm2, geodesic_area_hm2, reproject
from restora.inventory.io import read_register, write_register
from restora.inventory.schema import ABSENT


def _problems(paths, **kw) -> list[str]:
    with pytest.raises(InputError) as err:
        read_register(paths, **kw)
    # messages name files as given; drop the temporary folder for readable assertions
    return [re.sub(r"(?<!\w)/\S*/", "", str(p)) for p in err.value.problems]


# --- every format reads to the same register ------------------------------------------


def test_all_formats_give_the_same_register(fixture_files):
    xlsx = fixture_files["xlsx"]
    reference, _ = read_register([fixture_files["geojson"], xlsx], lonlat_wgs84=True)
    assert len(reference.mines) == 3 and len(reference.sites) == 4
    assert len(reference.samples) == 4 and len(reference.hazards) == 2
    # the register holds exactly the fixture's mines (absent party spelled "absent")
    m1 = reference.mine("M1")
    assert m1.name == "铅锌矿甲" and m1.ownerless and m1.closure_year == 2005
    for key, kw in (
        ("gpkg", {}),
        ("shpzip", {}),
        ("csv", {"crs": GK}),
    ):
        reg, report = read_register([fixture_files[key], xlsx], lonlat_wgs84=True, **kw)
        diffs = register_differences(
            reference, reg, rtol=1e-3, geometry_tolerance=1e-7, normalize=True
        )
        assert diffs == [], (key, diffs)
        assert report.rejects.empty
    # each file records its hash and the encoding it was read with
    _, report = read_register([fixture_files["csv"]], crs=GK)
    assert report.files[0].encoding == "gb18030"
    _, report = read_register([fixture_files["shpzip"]])
    assert report.files[0].encoding == "GB18030"


def test_areas_match_the_rectangles(fixture_files):
    reg, _ = read_register([fixture_files["gpkg"]])
    # S1 is 300 m × 200 m = 60 000 m² = 6.0 hm² in EPSG:4547 at the central meridian, where
    # the Gauss–Krüger scale factor is 1 (distortion ~(Δx/R)²/2 < 1e-8 at 1 km from the CM)
    areas = dict(zip(reg.sites["site_id"], reg.sites["area_hm2"], strict=True))
    expected = {"S1": 6.0, "S2": 6.25, "S3": 6.0, "S4": 2.7}  # w*h/10 000
    for sid, hm2 in expected.items():
        assert areas[sid] == pytest.approx(hm2, rel=1e-3)


def test_square_km_at_central_meridian_is_100_hm2():
    square = shapely.box(X0 - 500, Y0, X0 + 500, Y0 + 1000)  # 1000 m × 1000 m = 100 hm²
    area = equal_area_hm2(np.array([square], dtype=object), GK)[0]
    assert area == pytest.approx(100.0, rel=1e-3)
    # independent check: geodesic area on the GRS 80 ellipsoid (pyproj.Geod)
    lonlat = reproject(np.array([square], dtype=object), GK, "EPSG:4326")[0]
    geod = pyproj.Geod(ellps="GRS80")
    geodesic = abs(geod.geometry_area_perimeter(shapely.segmentize(lonlat, 1e-4))[0]) / 1e4
    assert area == pytest.approx(geodesic, rel=1e-5)
    assert geodesic_area_hm2(lonlat) == pytest.approx(100.0, rel=1e-3)


# --- encodings, headers, units --------------------------------------------------------


def _csv(tmp_path: Path, text: str, name: str = "t.csv", encoding: str = "utf-8") -> Path:
    p = tmp_path / name
    p.write_bytes(text.encode(encoding))
    return p


HEAD = "矿山编号,矿山名称,行政区划代码,矿种,状态,责任主体,图斑编号,场地类型,{area},wkt\n"
ROW = 'M9,测试矿,430181,煤,废弃,{party},S9,采坑,{value},"{wkt}"\n'
SQUARE = shapely.to_wkt(shapely.box(X0, Y0, X0 + 100, Y0 + 100))  # 1 hm² = 15 亩


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_encodings_are_detected(tmp_path, encoding):
    text = HEAD.format(area="面积（亩）") + ROW.format(party="无主", value="15", wkt=SQUARE)
    reg, _ = read_register([_csv(tmp_path, text, encoding=encoding)], crs=GK)
    assert reg.mines.loc[0, "name"] == "测试矿"
    assert reg.mines.loc[0, "responsible_party"] == ABSENT
    assert reg.mines.loc[0, "mineral"] == "coal" and reg.sites.loc[0, "kind"] == "open_pit"
    # 15 亩 = 1 hm² (1 hm² = 15 亩); the geometry is 100 m × 100 m = 1 hm²
    assert reg.sites.loc[0, "declared_area_hm2"] == pytest.approx(1.0, abs=1e-12)
    assert reg.sites.loc[0, "area_hm2"] == pytest.approx(1.0, rel=1e-3)


def test_encoding_option_overrides(tmp_path):
    text = HEAD.format(area="area_m2") + ROW.format(party="", value="10000", wkt=SQUARE)
    path = _csv(tmp_path, text, encoding="gbk")
    reg, _ = read_register([path], crs=GK, encoding="gbk")
    assert reg.sites.loc[0, "declared_area_hm2"] == pytest.approx(1.0)  # 10 000 m² = 1 hm²
    with pytest.raises(InputError):  # GBK bytes are not UTF-8
        read_register([path], crs=GK, encoding="utf-8")


def test_shapefile_with_cpg_and_plain_shp(tmp_path):
    from inventory_fixtures import write_shapefile_zip

    z = write_shapefile_zip(tmp_path / "with_cpg.zip", cpg=True)
    reg, _ = read_register([z])
    assert set(reg.mines["name"]) == {m["name"] for m in MINES}
    plain = tmp_path / "with_cpg_shp" / "sites.shp"
    reg2, _ = read_register([plain])
    assert register_differences(reg, reg2) == []


# --- bad files --------------------------------------------------------------------------

BOWTIE = (
    "POLYGON ((500000 3320000, 500100 3320100, 500100 3320000, 500000 3320100, 500000 3320000))"
)


def _sites_csv(tmp_path, rows: list[str], header: str | None = None) -> Path:
    head = header or (
        "mine_id,name,region_code,mineral,status,site_id,kind,declared_area_hm2,slope_deg,wkt"
    )
    return _csv(tmp_path, head + "\n" + "\n".join(rows) + "\n", name="bad.csv")


def _good_row(site: str = "S1", mine: str = "M1", dx: int = 0) -> str:
    wkt = shapely.to_wkt(shapely.box(X0 + dx, Y0, X0 + dx + 100, Y0 + 100))
    return f'{mine},甲矿,430181,coal,abandoned,{site},open_pit,1.0,20,"{wkt}"'


def test_bowtie_is_reported_with_feature_and_reason(tmp_path):
    path = _sites_csv(
        tmp_path, [_good_row(), f'M1,甲矿,430181,coal,abandoned,S2,open_pit,,,"{BOWTIE}"']
    )
    probs = _problems([path], crs=GK)
    assert len(probs) == 1
    assert 'bad.csv, row 2, column "wkt"' in probs[0] and "Self-intersection" in probs[0]


def test_repair_fixes_the_bowtie_and_reports_areas(tmp_path):
    path = _sites_csv(tmp_path, [f'M1,甲矿,430181,coal,abandoned,S2,open_pit,,,"{BOWTIE}"'])
    reg, report = read_register([path], crs=GK, repair=True)
    assert shapely.is_valid(reg.sites.loc[0, "geometry"])
    (rep,) = report.repairs
    # the bow-tie's two triangles are each 100 × 50 / 2 = 2 500 m²: 0.5 hm² in all; the
    # self-crossing ring's signed area cancels to 0 before the repair
    assert rep.area_before_hm2 == pytest.approx(0.0, abs=1e-6)
    assert rep.area_after_hm2 == pytest.approx(0.5, rel=1e-3)
    assert reg.sites.loc[0, "area_hm2"] == pytest.approx(0.5, rel=1e-3)
    assert "Self-intersection" in str(rep) and "S2" in str(rep)


def test_text_in_number_column(tmp_path):
    row = _good_row().replace(",20,", ",steep,")
    probs = _problems([_sites_csv(tmp_path, [row])], crs=GK)
    assert probs == ['bad.csv, row 1, column "slope_deg": "steep" is not a number']


def test_missing_required_column_lists_aliases(tmp_path):
    header = "mine_id,name,region_code,status,site_id,kind,declared_area_hm2,slope_deg,wkt"
    row = _good_row().replace("coal,", "", 1)
    probs = _problems([_sites_csv(tmp_path, [row], header)], crs=GK)
    assert len(probs) == 1
    assert 'column "mineral": missing required column' in probs[0] and '"矿种"' in probs[0]


def test_unknown_crs_and_missing_crs(tmp_path):
    path = _sites_csv(tmp_path, [_good_row()])
    assert "unknown CRS 'EPSG:999999'" in _problems([path], crs="EPSG:999999")[0]
    assert "no CRS" in _problems([path])[0]


def test_collects_every_problem(tmp_path):
    rows = [
        _good_row("S1"),
        _good_row("S1", dx=200),  # duplicate site id
        _good_row("S3", dx=400).replace("coal", "gold ore"),  # unknown mineral
        _good_row("S4", "M4", dx=600).replace("430181", "999999"),  # bad region code
        _good_row("S5", "M5", dx=800).replace(",1.0,", ",2.0,"),  # declared 2 vs 1 hm²
        'M6,丁矿,430181,coal,abandoned,S6,open_pit,,,"POLYGON ((0 0, 1 0, 1 1))"',  # unclosed
        _good_row("S7", "M1", dx=1000).replace("甲矿", "乙矿"),  # conflicting mine name
    ]
    probs = _problems([_sites_csv(tmp_path, rows)], crs=GK)
    text = "\n".join(probs)
    assert "row 1, column \"site_id\": site_id 'S1' appears more than once (1, 2)" in text
    assert (
        'row 3, column "mineral": "gold ore" is not a known mineral (accepted: coal, metal' in text
    )
    assert 'row 4, column "region_code": "999999" is not a 6-digit GB/T 2260' in text
    # both areas in hm² and 亩 (× 15): 2 hm² = 30 亩, 1 hm² = 15 亩
    assert (
        "declared area 2.0000 hm² (30.00 亩) differs from the geometry's area 1.0000 hm² "
        "(15.00 亩) by 100.0% (more than the tolerance 0.05 = 5%" in text
    )
    assert 'row 6, column "wkt": cannot read the polygon: ring not closed' in text
    assert (
        "mine 'M1' has conflicting name: '甲矿' (bad.csv, row 1); '乙矿' (bad.csv, row 7)" in text
    )


def test_sample_file_checks(tmp_path):
    sites = _sites_csv(tmp_path, [_good_row()])
    samples = _csv(
        tmp_path,
        "sample_id,mine_id,lon,lat,ph,land_use,Cd,铅\n"
        "P1,M1,114.0,30.0,15,paddy,0.3,20\n"
        "P2,M1,114.0,30.0,6,paddy,-0.1,20\n"
        "P3,M9,114.0,30.0,6,rice,n.d.,trace\n",
        name="samples.csv",
    )
    probs = _problems([sites, samples], crs=GK, lonlat_wgs84=True)
    assert 'samples.csv, row 1, column "ph": pH 15 is outside 0–14' in probs
    assert 'samples.csv, row 2, column "Cd": -0.1 mg/kg is negative' in probs
    # "n.d." is a below-detection entry (kept in `qualifiers`), "trace" is not a number
    assert not any('column "Cd"' in p and "row 3" in p for p in probs)
    assert any('samples.csv, row 3, column "铅": "trace" is not a number' in p for p in probs)
    assert any('row 3, column "land_use": "rice" is not a known land_use' in p for p in probs)
    assert "samples.csv, row 3, column \"mine_id\": mine 'M9' is not in the imported files" in probs


def test_lonlat_needs_a_crs_unless_declared(tmp_path):
    sites = _sites_csv(tmp_path, [_good_row()])
    samples = _csv(
        tmp_path, "sample_id,mine_id,经度,纬度,ph,land_use\nP1,M1,114,30,6,paddy\n", "s.csv"
    )
    assert any("no CRS" in p for p in _problems([sites, samples], crs=None))
    reg, _ = read_register([sites, samples], crs=GK, lonlat_wgs84=True)
    assert reg.samples.loc[0, "lon"] == 114.0 and reg.samples.loc[0, "lat"] == 30.0


def test_duplicates_across_files(tmp_path):
    a = _sites_csv(tmp_path, [_good_row()])
    b = tmp_path / "other.csv"
    b.write_bytes(a.read_bytes())
    probs = _problems([a, b], crs=GK)
    assert "bad.csv, row 1, column \"site_id\": site_id 'S1' is also in " in probs[0]


def test_geojson_unclosed_ring_names_the_feature(tmp_path):
    gdf = site_rows("EPSG:4326")
    doc = json.loads(gdf.to_json())
    doc["features"][1]["geometry"]["coordinates"][0].pop()  # ring no longer closed
    path = tmp_path / "open.geojson"
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    probs = _problems([path])
    assert len(probs) == 1
    assert 'open.geojson, feature 2, column "geometry": cannot read the polygon' in probs[0]


# --- skipping invalid records -----------------------------------------------------------


def test_skip_invalid_keeps_good_records(tmp_path):
    rows = [
        _good_row("S1", "M1"),
        f'M1,甲矿,430181,coal,abandoned,S2,open_pit,,,"{BOWTIE}"',  # M1 keeps S1
        _good_row("S3", "M2", dx=300).replace("coal", "gold ore"),  # M2 rejected
        _good_row("S4", "M3", dx=600).replace(",20,", ",x,"),  # M3 loses its only site
    ]
    sites = _sites_csv(tmp_path, rows)
    samples = _csv(
        tmp_path,
        "sample_id,mine_id,site_id,ph,land_use\nP1,M1,S1,6,paddy\nP2,M2,,6,paddy\n"
        "P3,M1,S2,6,paddy\n",
        "s.csv",
    )
    reg, report = read_register([sites, samples], crs=GK, skip_invalid=True)
    assert list(reg.mines["mine_id"]) == ["M1"]
    assert list(reg.sites["site_id"]) == ["S1"]
    assert list(reg.samples["sample_id"]) == ["P1"]
    rej = report.rejects.set_index(["table", "id"])["reason"]
    assert "Self-intersection" in rej[("sites", "S2")]
    assert "gold ore" in rej[("mines", "M2")]
    assert rej[("mines", "M3")] == "all its sites were rejected"
    assert rej[("samples", "P2")] == "mine 'M2' rejected"
    assert rej[("samples", "P3")] == "site 'S2' rejected"


def test_mines_only_file_keeps_mines_without_sites(tmp_path):
    mines = _csv(tmp_path, "mine_id,name,region_code,mineral,status\nM7,戊矿,140202,coal,closed\n")
    reg, _ = read_register([mines])
    assert list(reg.mines["mine_id"]) == ["M7"] and reg.sites.empty


# --- round trips ---------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["geojson", "gpkg", "csv", "xlsx"])
def test_round_trip_is_lossless(fixture_files, tmp_path, fmt):
    reg, _ = read_register([fixture_files["shpzip"], fixture_files["xlsx"]], lonlat_wgs84=True)
    extra, _ = read_register(
        [_csv(tmp_path, "mine_id,name,region_code,mineral,status\nM7,戊矿,140202,coal,closed\n")]
    )
    reg = type(reg)(
        pd.concat([reg.mines, extra.mines], ignore_index=True), reg.sites, reg.samples, reg.hazards
    )
    reg.samples.loc[0, "sampled_on"] = pd.Timestamp("2024-05-01").date()
    reg.samples.loc[0, "lab"] = "省地质实验测试中心"
    out = tmp_path / f"export.{fmt}"
    files = write_register(reg, out, fmt)
    back, report = read_register(files)
    assert register_differences(reg, back) == []
    assert report.rejects.empty


@settings(max_examples=10, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.floats(73.0, 135.0, allow_nan=False),
            st.floats(18.0, 53.0, allow_nan=False),
            st.floats(1e-4, 1e-2),
        ),
        min_size=1,
        max_size=4,
    ),
    st.sampled_from(["geojson", "csv"]),
)
def test_coordinates_survive_round_trip_exactly(tmp_path_factory, boxes, fmt):
    """Any lon/lat doubles come back bit for bit (shortest round-trip text)."""
    tmp = tmp_path_factory.mktemp("rt")
    rows = []
    for i, (x, y, d) in enumerate(boxes):
        poly = shapely.Polygon([(x, y), (x + d, y + d / 3), (x + d / 7, y + d)])
        rows.append(
            f'M1,甲矿,430181,coal,abandoned,S{i},open_pit,,,"{shapely.to_wkt(poly, rounding_precision=-1)}"'
        )
    reg, _ = read_register([_sites_csv(tmp, rows)], crs="EPSG:4326")
    back, _ = read_register(write_register(reg, tmp / f"x.{fmt}", fmt))
    assert register_differences(reg, back) == []


def test_sites_fixture_covers_every_site():
    assert len(gk_polygons()) == len(SITES)


def test_docs_list_the_schema_headers_and_codes():
    from restora.inventory.headers import codes_markdown, columns_markdown

    doc = (Path(__file__).resolve().parents[2] / "docs" / "register.md").read_text("utf-8")
    cols = doc.split("<!-- columns:start -->\n")[1].split("<!-- columns:end -->")[0]
    codes = doc.split("<!-- codes:start -->\n")[1].split("<!-- codes:end -->")[0]
    assert cols == columns_markdown() and codes == codes_markdown()


def test_headers_are_normalised():
    from restora.inventory.headers import canonical, detect_kind

    assert canonical(" Mine ID ", "sites") == "mine_id"
    assert canonical("面积（亩）", "sites") == "declared_area_mu"
    assert canonical("ＰＨ", "samples") == "ph"  # full-width letters
    assert canonical("铅(mg/kg)", "samples") == "Pb"
    assert detect_kind(["样品编号", "矿山编号", "pH"]) == "samples"
    assert detect_kind(["隐患点编号", "矿山编号"]) == "hazards"
    assert detect_kind(["矿山编号", "矿山名称"]) == "mines"
    assert detect_kind(["矿山编号", "wkt"]) == "sites"


def test_unparseable_prj_is_an_unknown_crs(tmp_path):
    import zipfile

    from inventory_fixtures import write_shapefile_zip

    write_shapefile_zip(tmp_path / "x.zip")
    folder = tmp_path / "x_shp"
    (folder / "sites.prj").write_text("GEOGCS[nonsense", encoding="ascii")
    broken = tmp_path / "broken.zip"
    with zipfile.ZipFile(broken, "w") as zf:
        for f in sorted(folder.iterdir()):
            zf.write(f, f.name)
    (msg,) = _problems([broken])
    assert msg.startswith('broken.zip, column "crs": unknown CRS: the .prj file cannot be parsed')


def test_xlsx_problems_name_sheet_and_row(tmp_path):
    sites = _sites_csv(tmp_path, [_good_row()])
    book = tmp_path / "book.xlsx"
    frame = pd.DataFrame(
        {
            "样品编号": ["P1", "P2"],
            "矿山编号": ["M1", "M1"],
            "pH": [6.5, "酸性"],
            "土地利用": ["水田", "水田"],
        }
    )
    frame.to_excel(book, sheet_name="样品", index=False)
    assert _problems([sites, book], crs=GK) == [
        'book.xlsx (sheet 样品), row 2, column "pH": "酸性" is not a number'
    ]


@settings(max_examples=10, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["coal", "煤", "gold ore"]),  # last one is not a mineral
            st.sampled_from(["20", "", "steep", "95"]),  # steep: text; 95: slope above 90
            st.sampled_from(["M1", "M2", "M3"]),
            st.booleans(),  # bow-tie instead of a square
        ),
        min_size=1,
        max_size=8,
    )
)
def test_skip_invalid_partitions_every_record(tmp_path_factory, rows):
    """Every site row is either imported or rejected, never both; no kept row has a problem."""
    tmp = tmp_path_factory.mktemp("skip")
    lines = []
    for i, (mineral, slope, mine, bowtie) in enumerate(rows):
        geom = (
            BOWTIE
            if bowtie
            else shapely.to_wkt(shapely.box(X0 + 200 * i, Y0, X0 + 200 * i + 100, Y0 + 100))
        )
        lines.append(f'{mine},甲矿,430181,{mineral},abandoned,S{i},open_pit,,{slope},"{geom}"')
    reg, report = read_register([_sites_csv(tmp, lines)], crs=GK, skip_invalid=True)
    rejected = set(report.rejects.loc[report.rejects["table"] == "sites", "id"])
    kept = set(reg.sites["site_id"])
    assert kept.isdisjoint(rejected) and kept | rejected == {f"S{i}" for i in range(len(rows))}
    # a site is kept when its own row is clean and its mine's columns are clean on every row
    mine_ok = {mine: True for _, _, mine, _ in rows}
    for mineral, _, mine, _ in rows:
        mine_ok[mine] &= mineral != "gold ore"
    site_ok = [
        mine_ok[mine] and slope in ("20", "") and not bowtie for _, slope, mine, bowtie in rows
    ]
    assert kept == {f"S{i}" for i, ok in enumerate(site_ok) if ok}
