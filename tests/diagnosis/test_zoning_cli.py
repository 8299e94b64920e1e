"""`restora diagnose zones`: site files, the demo county, the store, and bad input (exit 2).

The CLI zones through restora.diagnosis.site_zones.zone_sites, in China Albers: the synthetic
site below is laid out in Albers metres (then written in EPSG:4547 and lon/lat), so that its
20 m cells fall on the samples and the zone areas can be checked by hand.
"""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from typer.testing import CliRunner

from restora.cli import app
from restora.inventory.geometry import CHINA_ALBERS, reproject, transformer

runner = CliRunner()
ON = "2024-01-01"
ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "examples" / "demo-county"
GK = "EPSG:4547"  # CGCS2000 / 3-degree GK CM 114E, valid 112.5-115.5 E
# a point near 112.9 E, 27.6 N in China Albers, rounded to the metre
AX0, AY0 = (round(float(v)) for v in transformer("EPSG:4326", CHINA_ALBERS).transform(112.9, 27.6))
SITE = shapely.box(AX0, AY0, AX0 + 100, AY0 + 40)  # Albers [m]: 5 x 2 cells of 20 m


def albers_to(geoms, crs):
    return reproject(np.asarray(geoms, dtype=object), CHINA_ALBERS, crs)


@pytest.fixture
def site_files(tmp_path: Path) -> tuple[Path, Path]:
    """A 100 m x 40 m site (Albers) and a sample at each 20 m cell centre, in EPSG:4547."""
    gpkg = tmp_path / "sites.gpkg"
    gdf = gpd.GeoDataFrame({"site_id": ["T-S1"]}, geometry=albers_to([SITE], GK), crs=GK)
    gdf.to_file(gpkg, layer="sites", driver="GPKG")
    rows = ["sample_id,site_id,x,y,ph,land_use,Cd"]
    # paddy pH 6: Cd S 0.4, I 2.0 -> columns 1-2 severe (5 > 2), column 3 mild (P 1.25), 4-5 clean
    for col, cd in enumerate([5.0, 5.0, 0.5, 0.1, 0.1]):
        for row in range(2):
            ax, ay = AX0 + 10 + 20 * col, AY0 + 10 + 20 * row
            x, y = transformer(CHINA_ALBERS, GK).transform(ax, ay)
            rows.append(f"P{col}{row},T-S1,{x!r},{y!r},6.0,paddy,{cd}")
    csv = tmp_path / "samples.csv"
    csv.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return gpkg, csv


def zones(*args: str):
    return runner.invoke(app, ["diagnose", "zones", *args, "--on", ON])


def test_zones_json_from_files(site_files):
    gpkg, csv = site_files
    r = zones(str(gpkg), str(csv), "--layer", "sites", "--site-id", "T-S1", "-f", "json")
    assert r.exit_code == 0, r.output
    (site,) = json.loads(r.stdout)
    assert site["site_id"] == "T-S1" and site["method"] == "idw"
    assert site["method_used"] == {"Cd": "idw", "ph": "idw"}
    assert site["crs"] == CHINA_ALBERS and site["n_samples"] == 10
    got = [(z["zone_class"], round(z["area_hm2"], 6), z["governing_metal"]) for z in site["zones"]]
    # cells laid in Albers on the samples: 40 m x 40 m, 20 m x 40 m, 40 m x 40 m (to 1e-6 hm²)
    assert got == [("severe", 0.16, "Cd"), ("mild", 0.08, "Cd"), ("clean", 0.16, "Cd")]
    assert site["min_zone_area_m2"] == 400.0  # TD/T 1055-2019, agricultural land
    assert site["zones"][0]["max_index"]["Cd"] == pytest.approx(12.5)  # 5 / 0.4
    assert [t["code"] for t in site["zones"][1]["techniques"]] == ["TECH-NATURAL-ATTENUATION"]
    assert site["zones"][0]["techniques"][0]["unit_cost_key"] == "soil_washing"
    names = {t["name"] for t in site["tables_used"]}
    assert {
        "remediation/techniques",
        "remediation/zone-classes",
        "remediation/min-zone-area",
    } <= names


def test_zones_table_and_csv_output(site_files):
    gpkg, csv = site_files
    r = zones(str(gpkg), str(csv), "--cell-size", "20")
    assert r.exit_code == 0, r.output
    assert "Treatment zones" in r.stdout
    r = zones(str(gpkg), str(csv), "-f", "csv")
    assert r.exit_code == 0, r.output
    lines = r.stdout.splitlines()
    assert lines[0].startswith("site_id,zone_id,zone_class,area_hm2")
    first = lines[1].split(",")
    assert first[:3] == ["T-S1", "Z01", "severe"]
    assert float(first[3]) == pytest.approx(0.16, abs=1e-6)
    assert lines[1].endswith("TECH-SOIL-WASHING TECH-ELECTROKINETIC TECH-STAB-SOLID TECH-ISOLATION")


def test_kriging_request_reports_the_method_used(site_files):
    gpkg, csv = site_files
    r = zones(str(gpkg), str(csv), "--method", "ordinary_kriging", "-f", "json")
    assert r.exit_code == 0, r.output
    (site,) = json.loads(r.stdout)
    assert site["method_requested"] == "ordinary_kriging"
    # the ph values are all equal: no variogram, IDW used for pH and said so
    assert site["method_used"]["ph"] == "idw"
    assert any("ph" in w for w in site["warnings"])


def test_demo_county_metal_site_through_the_cli():
    sites = gpd.read_file(DEMO / "register.gpkg", layer="sites")
    metal = sites.loc[sites["mineral"] == "metal", "site_id"].iloc[0]
    r = zones(
        str(DEMO / "register.gpkg"),
        str(DEMO / "soil_samples.csv"),
        "--layer",
        "sites",
        "--site-id",
        metal,
        "-f",
        "json",
    )
    assert r.exit_code == 0, r.output
    (site,) = json.loads(r.stdout)
    assert site["crs"] == CHINA_ALBERS and site["site_id"] == metal
    area = sum(z["area_hm2"] for z in site["zones"])
    assert area == pytest.approx(site["site_area_hm2"], rel=1e-6)


BAD = [
    (["--site-id", "NOPE"], ["sites.gpkg", "no site 'NOPE'"]),
    (["--method", "spline"], ["unknown method 'spline'"]),
    (["--cell-size", "0"], ["cell size"]),
    (["--land-use-after", "mars"], ["land use after 'mars'"]),
    (["--min-zone-area", "-1"], ["minimum zone area"]),
    (["--land-use", "meadow"], ["site T-S1", "'meadow' is not one of paddy, orchard, other"]),
]


@pytest.mark.parametrize(("extra", "fragments"), BAD)
def test_bad_options_exit_2(site_files, extra, fragments):
    gpkg, csv = site_files
    r = zones(str(gpkg), str(csv), *extra)
    assert r.exit_code == 2, r.output
    for f in fragments:
        assert f in r.stderr, (f, r.stderr)


def test_bad_samples_exit_2_naming_row_and_column(site_files, tmp_path):
    gpkg, _ = site_files
    bad = tmp_path / "bad.csv"
    bad.write_text(
        f"sample_id,x,y,ph,land_use,Cd\nA,{AX0},{AY0},6,paddy,0.1\nB,{AX0},oops,6,paddy,0.2\n",
        encoding="utf-8",
    )
    r = zones(str(gpkg), str(bad))
    assert r.exit_code == 2
    assert 'bad.csv, row 2, column "y"' in r.stderr
    nocoords = tmp_path / "nocoords.csv"
    nocoords.write_text("sample_id,ph,land_use,Cd\nA,6,paddy,0.1\n", encoding="utf-8")
    r = zones(str(gpkg), str(nocoords))
    assert r.exit_code == 2 and "nocoords.csv" in r.stderr and "coordinates" in r.stderr
    r = zones(str(tmp_path / "missing.gpkg"), str(nocoords))
    assert r.exit_code == 2 and "missing.gpkg" in r.stderr


def test_zones_of_a_mine_from_the_store(tmp_path, monkeypatch, site_files):
    """--mine reads the sites and samples of a mine from the store (SQLite here).

    The store keeps lon/lat; the zones are the Albers ones of the files (same areas to 1e-6 hm²).
    Before zoning moved to China Albers the store path zoned in the --crs (or a UTM zone) and
    these areas only held to 0.01 hm².
    """
    from restora.inventory.geometry import equal_area_hm2
    from restora.inventory.model import Register, empty_table
    from restora.store import Store

    url = f"sqlite:///{tmp_path / 'store.db'}"
    monkeypatch.setenv("RESTORA_DATABASE_URL", url)
    poly = albers_to([SITE], "EPSG:4326")
    mines = pd.DataFrame(
        [
            {
                "mine_id": "M1",
                "name": "test mine",
                "region_code": "430521",
                "mineral": "metal",
                "status": "abandoned",
            }
        ]
    )
    sites = pd.DataFrame(
        [
            {
                "site_id": "M1-S1",
                "mine_id": "M1",
                "kind": "tailings_pond",
                "area_hm2": float(equal_area_hm2(poly)[0]),
                "geometry": poly[0],
            }
        ]
    )
    smp = pd.read_csv(site_files[1])
    lon, lat = transformer(GK, "EPSG:4326").transform(smp["x"], smp["y"])
    samples = pd.DataFrame(
        {
            "sample_id": smp["sample_id"],
            "mine_id": "M1",
            "site_id": "M1-S1",
            "lon": lon,
            "lat": lat,
            "ph": smp["ph"],
            "land_use": smp["land_use"],
            "Cd": smp["Cd"],
        }
    )
    base = Register.empty()
    reg = Register(
        mines=pd.concat([base.mines, mines], ignore_index=True),
        sites=pd.concat([base.sites, sites], ignore_index=True),
        samples=pd.concat([base.samples, samples], ignore_index=True),
        hazards=empty_table("hazards"),
    )
    with Store(url) as store:
        store.add_register(reg)
    r = zones("--mine", "M1", "--crs", GK, "-f", "json")
    assert r.exit_code == 0, r.output
    (site,) = json.loads(r.stdout)
    assert site["site_id"] == "M1-S1" and site["mine_id"] == "M1"
    got = [(z["zone_class"], round(z["area_hm2"], 6)) for z in site["zones"]]
    assert got == [("severe", 0.16), ("mild", 0.08), ("clean", 0.16)]
    r = zones("--mine", "NOPE")
    assert r.exit_code == 2 and "NOPE" in r.stderr
