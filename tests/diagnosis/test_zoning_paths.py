"""One zoning implementation: the same site and samples give the same zones everywhere.

``restora diagnose zones`` (from the store and from files), ``restora plan make`` and
:func:`restora.diagnosis.site_zones.zone_sites` must give identical zones (ids, classes,
areas to 1e-6 hm², governing metal) and honour a result below detection the same way. Before
issue 11 item 15 the CLI zoned in the files' CRS (or a UTM zone) and dropped the
below-detection flags (its JSON had no ``indeterminate_metals``), so these tests failed on it.
"""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from typer.testing import CliRunner

from restora.cli import app
from restora.diagnosis.site_zones import zone_sites
from restora.inventory.censored import substitute_non_detects
from restora.inventory.geometry import CHINA_ALBERS, equal_area_hm2, reproject, transformer
from restora.inventory.model import Register, empty_table

runner = CliRunner()
ON = "2026-01-01"
REGION = "430521"
AX0, AY0 = (round(float(v)) for v in transformer("EPSG:4326", CHINA_ALBERS).transform(112.9, 27.6))
# 200 m x 100 m in Albers: 10 x 5 cells of 20 m
SITE_ALBERS = shapely.box(AX0, AY0, AX0 + 200, AY0 + 100)
SITE_LONLAT = reproject(np.array([SITE_ALBERS], dtype=object), CHINA_ALBERS, "EPSG:4326")[0]
# (x, y) from the site's corner [m], Cd as the lab wrote it; paddy, pH 6: Cd S 0.4, I 2.0
SAMPLES = [
    ("T1", 10, 10, "5.0"),
    ("T2", 10, 90, "5.0"),
    ("T3", 30, 50, "5.0"),
    ("T4", 110, 10, "0.2"),
    ("T5", 110, 90, "0.2"),
    ("T6", 110, 50, "<3"),  # DL 3 mg/kg > S 0.4: cannot tell whether it exceeds screening
    ("T7", 170, 10, "0.1"),
    ("T8", 170, 90, "0.1"),
    ("T9", 190, 50, "0.1"),
]


def _raw_samples() -> pd.DataFrame:
    x = np.array([AX0 + s[1] for s in SAMPLES], dtype=float)
    y = np.array([AY0 + s[2] for s in SAMPLES], dtype=float)
    lon, lat = transformer(CHINA_ALBERS, "EPSG:4326").transform(x, y)
    return pd.DataFrame(
        {
            "sample_id": [s[0] for s in SAMPLES],
            "mine_id": "M1",
            "site_id": "S1",
            "lon": np.asarray(lon),
            "lat": np.asarray(lat),
            "ph": 6.0,
            "land_use": "paddy",
            "Cd": [s[3] for s in SAMPLES],
            "Pb": 20.0,
        }
    )


def _register() -> Register:
    # the register's own reading of below-detection text: a number and the lab's qualifier
    smp, qualifiers = substitute_non_detects(_raw_samples(), ["Cd", "Pb"], on=ON)
    smp = smp.assign(Cd=smp["Cd"].astype(float), qualifiers=qualifiers)
    mines = pd.DataFrame(
        [{"mine_id": "M1", "name": "lead-zinc mine", "region_code": REGION, "mineral": "metal",
          "status": "abandoned", "responsible_party": "absent"}]
    )  # fmt: skip
    sites = pd.DataFrame(
        [{"site_id": "S1", "mine_id": "M1", "kind": "tailings_pond", "slope_deg": 5.0,
          "water": False, "soil_thickness_m": 0.3,
          "area_hm2": float(equal_area_hm2(np.array([SITE_LONLAT]))[0]),
          "geometry": SITE_LONLAT}]
    )  # fmt: skip
    base = Register.empty()
    return Register(
        mines=pd.concat([base.mines, mines], ignore_index=True),
        sites=pd.concat([base.sites, sites], ignore_index=True),
        samples=pd.concat([base.samples, smp], ignore_index=True),
        hazards=empty_table("hazards"),
    )


@pytest.fixture
def store(tmp_path, monkeypatch) -> str:
    from restora.store import Store

    url = f"sqlite:///{tmp_path / 'store.db'}"
    monkeypatch.setenv("RESTORA_DATABASE_URL", url)
    with Store(url) as s:
        s.add_register(_register())
    return url


def _key(zones) -> list[tuple]:
    """What must agree: id, class, area [hm²] to 1e-6, governing metal, flags."""
    return [
        (
            z["zone_id"],
            z["zone_class"],
            round(z["area_hm2"], 6),
            z["governing_metal"],
            tuple(z["indeterminate_metals"]),
            tuple(sorted(z["below_detection"].items())),
        )
        for z in zones
    ]


def _function_zones():
    reg = _register()
    (z,) = zone_sites(reg.sites, reg.samples, on=ON, region=REGION)
    return z


def test_the_censored_sample_is_honoured_by_the_function():
    """T6 ``<3``: left out of the Cd interpolation, its zone flagged; hand IDW at its cell."""
    z = _function_zones()
    res = z.result
    assert res.cells["x"].size == 50  # 10 x 5 whole cells (Albers corner kept exactly)
    # the cell holding T6 (centre 110, 50 from the corner) interpolates the 8 other samples
    k = int(np.argmin((res.cells["x"] - (AX0 + 110)) ** 2 + (res.cells["y"] - (AY0 + 50)) ** 2))
    others = [s for s in SAMPLES if s[0] != "T6"]
    w = np.array([1.0 / ((110 - s[1]) ** 2 + (50 - s[2]) ** 2) for s in others])
    cd = np.array([float(s[3]) for s in others])
    assert res.cells["index_Cd"][k] == pytest.approx(float(w @ cd / w.sum()) / 0.4, rel=1e-9)
    # = 0.9185 / 0.4 = 2.296 (weights 1/d²: T4, T5 at 40 m; T7, T8 at 72.1 m; T3, T9 at 80 m;
    # T1, T2 at 107.7 m). With T6 at its substitute 1.5 the cell, on the sample, would be
    # exactly 1.5 / 0.4 = 3.75 (the old CLI and site zoning)
    assert res.cells["index_Cd"][k] == pytest.approx(2.296979, abs=1e-6)
    at = res.cells["zone_id"][k]
    (zone,) = [zz for zz in z.json["zones"] if zz["zone_id"] == at]
    assert zone["indeterminate_metals"] == ["Cd"] and zone["below_detection"] == {"Cd": 1}
    assert any("T6: Cd below a detection limit of 3 mg/kg" in w for w in z.json["warnings"])
    # every sample is counted once, in the zone it lies in
    assert sum(zz["n_samples"] for zz in z.json["zones"]) == 9


def test_cli_store_cli_files_and_plan_make_give_the_function_zones(store, tmp_path, monkeypatch):
    expected = _function_zones()
    want = _key(expected.json["zones"])
    assert len(want) >= 2 and any(k[4] == ("Cd",) for k in want)

    # 1. diagnose zones --mine (the store; region from the mine, as plan make)
    r = runner.invoke(app, ["diagnose", "zones", "--mine", "M1", "--on", ON, "-f", "json"])
    assert r.exit_code == 0, r.output
    (site,) = json.loads(r.stdout)
    assert _key(site["zones"]) == want
    assert [z["area_hm2"] for z in site["zones"]] == pytest.approx(
        [z["area_hm2"] for z in expected.json["zones"]], abs=1e-6
    )

    # 2. diagnose zones SITES SAMPLES (files: the lab's "<3" read by the samples reader)
    gpkg = tmp_path / "sites.gpkg"
    gpd.GeoDataFrame({"site_id": ["S1"]}, geometry=[SITE_LONLAT], crs="EPSG:4326").to_file(
        gpkg, layer="sites", driver="GPKG"
    )
    csv = tmp_path / "samples.csv"
    _raw_samples().to_csv(csv, index=False)
    r = runner.invoke(
        app,
        ["diagnose", "zones", str(gpkg), str(csv), "--region", REGION, "--on", ON, "-f", "json"],
    )
    assert r.exit_code == 0, r.output
    (site,) = json.loads(r.stdout)
    assert _key(site["zones"]) == want

    # 3. plan make: the planner receives the same zones
    import restora.planning.diagnosed as diagnosed

    seen = {}
    real = diagnosed.make_plan

    def spy(*args, **kwargs):
        seen.update(kwargs["zones"])
        return real(*args, **kwargs)

    monkeypatch.setattr(diagnosed, "make_plan", spy)
    r = runner.invoke(
        app,
        ["plan", "make", "M1", "--db", store, "--price-year", "2023", "--start-year", "2026",
         "--on", ON, "--format", "json"],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    planned = [
        {
            "zone_id": z.zone_id,
            "zone_class": z.zone_class,
            "area_hm2": z.area_hm2,
            "governing_metal": z.governing_metal,
            "indeterminate_metals": list(z.indeterminate_metals),
            "below_detection": z.below_detection,
        }
        for z in seen["S1"]
    ]
    assert _key(planned) == want
