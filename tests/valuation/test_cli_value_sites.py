"""``restora value sites`` from the store (``--mine`` / ``--all``), tables and register files.

Issue 12 item 2: the store feeds ``value sites``, and what ``mines export`` writes reads back
into ``value sites`` and ``mines import`` in each export format. Before, ``value sites`` took
only a CSV/JSON table with ``area_hm2`` (an export has ``declared_area_hm2`` and
``geometry_area_hm2``: "sites table lacks column 'area_hm2'"), had no ``--mine``/``--all``, and
did not say which area it used; these tests failed on it.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import shapely
from typer.testing import CliRunner

from restora.cli import app

runner = CliRunner()
ON = "2026-01-01"
DEMO = Path(__file__).resolve().parents[2] / "examples" / "demo-county"
E = 3406.50  # CNY/hm²/yr, one standard equivalent (Xie et al. 2015, price year 2010)
# equivalents per hm² summed over the 11 services (Xie et al. 2015, table 1; see test_esv.py)
BARE, BROADLEAF = 0.20, 22.95
# dry land: 0.85 + 0.40 + 0.02 + 0.67 + 0.36 + 0.10 + 0.27 + 1.03 + 0.12 + 0.13 + 0.06
DRY_LAND = 4.01
FORMATS = ("csv", "xlsx", "gpkg", "geojson")


@pytest.fixture(scope="module")
def county(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The demo county imported into a SQLite store, exported in every format, and a cover."""
    from restora.inventory.io import read_register
    from restora.store import Store

    folder = tmp_path_factory.mktemp("county")
    url = f"sqlite:///{folder / 'store.db'}"
    files = [DEMO / "register.gpkg", DEMO / "soil_samples.csv", DEMO / "hazards.csv"]
    register, _ = read_register(files, lonlat_wgs84=True)
    with Store(url) as store:
        store.add_register(register)
    exports = {}
    for fmt in FORMATS:
        r = runner.invoke(
            app, ["mines", "export", "-f", fmt, "--out", str(folder / f"export.{fmt}"), "--db", url]
        )
        assert r.exit_code == 0, r.output
        exports[fmt] = json.loads(r.stdout)["files"]
    after = folder / "after.json"
    after.write_text(
        json.dumps({"QS-M01-S1": "broadleaf", "QS-M02-S1": None, "QS-M03-S1": "current"}),
        encoding="utf-8",
    )
    return {"url": url, "exports": exports, "after": str(after), "folder": folder}


def value(*args: str) -> dict:
    r = runner.invoke(app, ["value", "sites", *args, "--on", ON, "-f", "json"])
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


def test_store_and_county_file_give_the_same_values(county):
    from_file = value(str(DEMO / "register.gpkg"), "--after", county["after"])
    from_store = value("--all", "--db", county["url"], "--after", county["after"])
    assert from_store == from_file
    assert len(from_file["sites"]) == 133
    # every demo site has a polygon: its area is the polygon's, not the declared one
    assert from_file["area_sources"] == {"geometry": 133, "declared": 0}
    s1 = from_file["sites"][0]
    assert s1["site_id"] == "QS-M01-S1" and s1["area_source"] == "geometry"
    # a dry subsidence area: dry land before, broadleaf after (E × equivalents × A)
    assert s1["type_before"] == "dry_land"
    assert s1["esv_before_cny_per_yr"] == pytest.approx(DRY_LAND * E * s1["area_hm2"])
    assert s1["esv_after_cny_per_yr"] == pytest.approx(BROADLEAF * E * s1["area_hm2"])
    # the mines' own sites only: a cover naming another mine's site is refused (typo or not)
    r = runner.invoke(app, ["value", "sites", "--mine", "QS-M01", "--db", county["url"],
                            "--after", county["after"]])  # fmt: skip
    assert r.exit_code == 2 and "QS-M02-S1" in r.stderr
    cover = county["folder"] / "cover-m01-m02.json"
    cover.write_text(json.dumps({"QS-M01-S1": "broadleaf", "QS-M02-S1": None}), "utf-8")
    two = value("--mine", "QS-M01", "--mine", "QS-M02", "--db", county["url"],
                "--after", str(cover))  # fmt: skip
    by_id = {s["site_id"]: s for s in from_store["sites"]}
    assert two["sites"] and all(s == by_id[s["site_id"]] for s in two["sites"])
    assert two["total_after_cny_per_yr"] == pytest.approx(
        sum(s["esv_after_cny_per_yr"] for s in two["sites"])
    )


@pytest.mark.parametrize("fmt", FORMATS)
def test_an_export_reads_back_into_value_sites(county, fmt):
    """The first file of an export holds the sites (declared_area_hm2, geometry_area_hm2)."""
    first = county["exports"][fmt][0]
    from_export = value(first, "--after", county["after"])
    assert from_export == value("--all", "--db", county["url"], "--after", county["after"])


@pytest.mark.parametrize("fmt", FORMATS)
def test_an_export_reads_back_into_mines_import(county, fmt, tmp_path):
    from restora.inventory.compare import register_differences
    from restora.store import Store

    url = f"sqlite:///{tmp_path / 'again.db'}"
    r = runner.invoke(app, ["mines", "import", *county["exports"][fmt], "--db", url])
    assert r.exit_code == 0, r.output
    with Store(county["url"]) as a, Store(url) as b:
        first, second = a.load_register(), b.load_register()
    assert register_differences(first, second) == []
    assert len(second.sites) == 133 and len(second.samples) == 454


def test_a_site_without_polygon_is_valued_on_its_declared_area(tmp_path, register_frame):
    """Site A: a 100 m × 100 m polygon (1 hm², declared 1.2 hm²); site B: no polygon, declared
    2 hm². A is valued on its polygon's area, B on the declared one, and the JSON says so."""
    from restora.inventory.geometry import CHINA_ALBERS, equal_area_hm2, reproject, transformer
    from restora.inventory.model import Register
    from restora.store import Store

    x0, y0 = transformer("EPSG:4326", CHINA_ALBERS).transform(112.9, 27.6)
    box = reproject(np.array([shapely.box(x0, y0, x0 + 100, y0 + 100)]), CHINA_ALBERS, "EPSG:4326")
    polygon_area = float(equal_area_hm2(box)[0])
    assert polygon_area == pytest.approx(1.0, rel=1e-9)
    mines = register_frame(
        "mines",
        [{"mine_id": "M1", "name": "m", "region_code": "430521", "mineral": "coal",
          "status": "abandoned"}],
    )  # fmt: skip
    sites = register_frame(
        "sites",
        [{"site_id": "A", "mine_id": "M1", "kind": "open_pit", "declared_area_hm2": 1.2,
          "geometry": box[0], "area_hm2": polygon_area},
         {"site_id": "B", "mine_id": "M1", "kind": "open_pit", "declared_area_hm2": 2.0}],
    )  # fmt: skip
    empty = Register.empty()
    url = f"sqlite:///{tmp_path / 's.db'}"
    with Store(url) as store:
        store.add_register(Register(mines, sites, empty.samples, empty.hazards))
    after = tmp_path / "after.json"
    after.write_text('{"A": "broadleaf", "B": "broadleaf"}', encoding="utf-8")
    got = value("--mine", "M1", "--db", url, "--after", str(after))
    a, b = got["sites"]
    assert (a["area_source"], b["area_source"]) == ("geometry", "declared")
    assert (a["area_hm2"], b["area_hm2"]) == (polygon_area, 2.0)
    assert got["area_sources"] == {"geometry": 1, "declared": 1}
    # (1 + 2) hm² × 22.95 equivalents × 3406.50 CNY = 234 537.53 CNY/yr after
    assert got["total_after_cny_per_yr"] == pytest.approx((polygon_area + 2.0) * BROADLEAF * E)
    assert got["total_before_cny_per_yr"] == pytest.approx((polygon_area + 2.0) * BARE * E)


def test_a_table_names_its_area_as_the_register_does(tmp_path):
    """亩 and m² convert to hm² (15 亩 = 10 000 m² = 1 hm²); geometry_area_hm2 is the polygon's."""
    after = tmp_path / "after.json"
    after.write_text("{}", encoding="utf-8")
    zh = tmp_path / "zh.csv"
    zh.write_text("图斑编号,场地类型,积水,面积（亩）\np1,采坑,否,30\ns1,塌陷区,是,45\n", "utf-8")
    got = value(str(zh), "--after", str(after))
    assert [(s["kind"], s["area_hm2"], s["area_source"]) for s in got["sites"]] == [
        ("open_pit", 2.0, "declared"),
        ("subsidence_area", 3.0, "declared"),
    ]
    m2 = tmp_path / "m2.csv"
    m2.write_text("site_id,kind,area_m2\np1,open_pit,20000\n", "utf-8")
    assert value(str(m2), "--after", str(after))["sites"][0]["area_hm2"] == 2.0
    both = tmp_path / "both.csv"
    both.write_text(
        "site_id,kind,declared_area_hm2,geometry_area_hm2\np1,open_pit,2.1,2.0\n", "utf-8"
    )
    (p1,) = value(str(both), "--after", str(after))["sites"]
    assert (p1["area_hm2"], p1["area_source"]) == (2.0, "geometry")


BAD = [
    ([], "nothing to read: give SITES, or --mine ID"),
    (["SITES", "--all"], "not SITES and --all"),
    (["--mine", "NOPE"], "not in the register of the store"),
    (["SITES", "--db", "sqlite:///x.db"], "--db names the store"),
]


@pytest.mark.parametrize(("args", "message"), BAD)
def test_bad_sources_exit_2(county, args, message):
    args = [str(DEMO / "register.gpkg") if a == "SITES" else a for a in args]
    r = runner.invoke(
        app,
        ["value", "sites", *args, "--after", county["after"]],
        env={"RESTORA_DATABASE_URL": county["url"]},
    )
    assert r.exit_code == 2, r.output
    assert message in r.stderr


def test_bad_tables_exit_2_naming_site_and_column(tmp_path):
    after = tmp_path / "after.json"
    after.write_text('{"zz": "broadleaf"}', encoding="utf-8")
    ok = tmp_path / "ok.csv"
    ok.write_text("site_id,kind,area_hm2\np1,open_pit,2\n", "utf-8")
    r = runner.invoke(app, ["value", "sites", str(ok), "--after", str(after)])
    assert r.exit_code == 2 and "after.json" in r.stderr and "zz" in r.stderr
    after.write_text("{}", encoding="utf-8")
    cases = {
        "site_id,kind,area_hm2\np1,open_pit,\n": "site 'p1' has no polygon and no declared area",
        "site_id,kind,area_hm2\np1,open_pit,abc\n": "row 1, column \"area_hm2\": 'abc' is not",
        "site_id,kind,area_hm2,面积(公顷)\np1,open_pit,1,1\n": "both give declared_area_hm2",
        "site_id,area_hm2\np1,1\n": 'column "kind"',
    }
    for text, message in cases.items():
        bad = tmp_path / "bad.csv"
        bad.write_text(text, "utf-8")
        r = runner.invoke(app, ["value", "sites", str(bad), "--after", str(after)])
        assert r.exit_code == 2, (text, r.output)
        assert message in r.stderr, (text, r.stderr)
