"""The register keeps each stated detection limit (issue 11, item 6).

A lab's ``<70`` becomes the substitute ½ × 70 = 35 mg/kg (soil/indices/non-detect, US EPA
QA/G-9S) *and* the limit 70 in the sample's ``As_detection_limit`` column; the export writes
``<70`` back, so export → import keeps both. ``restora mines import`` warns about implausible
values (soil/plausible-ranges) without blocking the import. Before this change the register had
no limit columns, the export wrote 35, a ``qualifiers`` column of the file hid the limits of
other metals, and the import printed no warning: every test here failed.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from restora import refdata
from restora.cli import app
from restora.inventory.io import read_register, write_register
from restora.inventory.model import DETECTION_LIMIT_COLUMNS
from restora.store import Store

runner = CliRunner()
SITES_CSV = (
    "mine_id,name,region_code,mineral,status,site_id,kind,wkt,crs\n"
    'M1,砷矿,430181,metal,abandoned,S1,waste_rock_dump,"POLYGON ((112 27, 112.002 27, '
    '112.002 27.002, 112 27.002, 112 27))",EPSG:4326\n'
)
SAMPLES_CSV = (
    "sample_id,mine_id,site_id,lon,lat,ph,land_use,Cd,Hg,As,Pb,qualifiers\n"
    "T1,M1,S1,112.0005,27.0005,5.0,paddy,0.2,ND,<70,50,\n"
    "T2,M1,S1,112.0015,27.0015,5.0,paddy,<0.1,0.3,20,50,Pb=ND\n"
    "T3,M1,S1,112.0010,27.0010,5.0,paddy,0.2,0.3,12.5,50,\n"
)


def _files(tmp_path: Path, samples: str = SAMPLES_CSV) -> list[Path]:
    (tmp_path / "sites.csv").write_text(SITES_CSV, encoding="utf-8")
    (tmp_path / "samples.csv").write_text(samples, encoding="utf-8")
    return [tmp_path / "sites.csv", tmp_path / "samples.csv"]


def test_import_keeps_the_limit_beside_the_substitute(tmp_path):
    reg, _ = read_register(_files(tmp_path), lonlat_wgs84=True)
    s = reg.samples.set_index("sample_id")
    fraction = refdata.get("soil/indices/non-detect").data["fraction_of_lod"]
    assert s.loc["T1", "As"] == fraction * 70 == 35.0
    assert s.loc["T1", "As_detection_limit"] == 70.0
    assert s.loc["T2", "Cd_detection_limit"] == 0.1
    # ND without a limit, a measured value, a metal not measured: no limit
    assert np.isnan(s.loc["T1", "Hg_detection_limit"])
    assert np.isnan(s.loc["T3", "As_detection_limit"])
    assert np.isnan(s.loc["T1", "Zn_detection_limit"])
    assert list(DETECTION_LIMIT_COLUMNS.values()) == [
        f"{m}_detection_limit" for m in ("Cd", "Hg", "As", "Pb", "Cr", "Cu", "Ni", "Zn")
    ]
    assert s["As_detection_limit"].dtype == np.float64


def test_a_qualifiers_column_no_longer_hides_the_other_limits(tmp_path):
    reg, _ = read_register(_files(tmp_path), lonlat_wgs84=True)
    s = reg.samples.set_index("sample_id")
    # T2's file says "Pb=ND" and its Cd cell "<0.1": both are kept (before: "Pb=ND" only)
    assert s.loc["T2", "qualifiers"] == "Pb=ND; Cd=<0.1"
    assert s.loc["T1", "qualifiers"] == "Hg=ND; As=<70"


def test_single_sample_model_carries_the_limits(tmp_path):
    reg, _ = read_register(_files(tmp_path), lonlat_wgs84=True)
    (t1,) = [x for x in reg.samples_of("M1") if x.sample_id == "T1"]
    assert t1.detection_limits_mg_per_kg["As"] == 70.0
    assert t1.detection_limits_mg_per_kg["Cd"] is None
    assert t1.qualifiers == "Hg=ND; As=<70"


@pytest.mark.parametrize("fmt", ["csv", "gpkg", "geojson", "xlsx"])
def test_export_writes_the_limit_back_and_a_round_trip_keeps_it(tmp_path, fmt):
    reg, _ = read_register(_files(tmp_path), lonlat_wgs84=True)
    out = tmp_path / "out"
    out.mkdir()
    files = write_register(reg, out / f"register.{fmt}", fmt)
    back, _ = read_register(files)
    pd.testing.assert_frame_equal(back.samples, reg.samples, check_exact=True)
    b = back.samples.set_index("sample_id")
    assert (b.loc["T1", "As"], b.loc["T1", "As_detection_limit"]) == (35.0, 70.0)
    if fmt == "csv":
        written = pd.read_csv(out / "register_samples.csv", dtype=str, encoding="utf-8-sig")
        w = written.set_index("sample_id")
        assert (w.loc["T1", "As"], w.loc["T2", "Cd"], w.loc["T3", "As"]) == ("<70", "<0.1", "12.5")
        assert not any(c.endswith("_detection_limit") for c in written.columns)


def test_export_of_an_older_store_with_limits_in_qualifiers_only(tmp_path):
    """A register written before the limit columns: As 35 and "As=<70" in qualifiers."""
    old = SAMPLES_CSV.replace("paddy,0.2,ND,<70,50,\n", 'paddy,0.2,0,35,50,"Hg=ND; As=<70"\n')
    reg, _ = read_register(_files(tmp_path, old), lonlat_wgs84=True)
    s = reg.samples.set_index("sample_id")
    assert s.loc["T1", "As"] == 35.0 and s.loc["T1", "As_detection_limit"] == 70.0


def test_cli_round_trip_through_the_store_keeps_the_limit(tmp_path):
    url = f"sqlite:///{tmp_path / 'a.db'}"
    res = runner.invoke(app, ["mines", "import", *map(str, _files(tmp_path)), "--db", url,
                              "--lonlat-wgs84"])  # fmt: skip
    assert res.exit_code == 0, res.output
    out = tmp_path / "export.gpkg"
    res = runner.invoke(app, ["mines", "export", "-f", "gpkg", "--out", str(out), "--db", url])
    assert res.exit_code == 0, res.output
    url2 = f"sqlite:///{tmp_path / 'b.db'}"
    res = runner.invoke(app, ["mines", "import", str(out), "--db", url2])
    assert res.exit_code == 0, res.output
    with Store(url) as a, Store(url2) as b:
        first, second = a.load_register().samples, b.load_register().samples
    pd.testing.assert_frame_equal(second, first, check_exact=True)
    assert second.set_index("sample_id").loc["T1", "As_detection_limit"] == 70.0


# ------------------------------------------------------------------------- plausibility
PLAUSIBILITY_CSV = (
    "sample_id,mine_id,site_id,lon,lat,ph,land_use,Cd,铅,As\n"
    "T1,M1,S1,112.0005,27.0005,6.0,other,0.2,80000,20\n"
    "T2,M1,S1,112.0015,27.0015,6.0,other,300,50,20\n"
    "T3,M1,S1,112.0010,27.0010,6.0,other,0.2,<90000,20\n"
)


def test_import_warns_about_implausible_values_without_blocking(tmp_path):
    url = f"sqlite:///{tmp_path / 'p.db'}"
    files = _files(tmp_path, PLAUSIBILITY_CSV)
    res = runner.invoke(
        app,
        ["mines", "import", *map(str, files), "--db", url, "--lonlat-wgs84", "--format", "json"],
    )
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["counts"]["samples"] == 3  # nothing blocked
    warned = [(w["row"], w["column"], w["pollutant"], w["value_mg_kg"]) for w in doc["warnings"]]
    # soil/plausible-ranges: Pb warn above 50 000 mg/kg, Cd above 200 mg/kg; T3's "<90000" is
    # below detection (its number is a substitute) and is not checked
    limits = {r["pollutant"]: r["warn_above"] for r in refdata.get("soil/plausible-ranges").data}
    assert limits["Pb"] < 80_000 and limits["Cd"] < 300 and 0.5 * 90_000 < 80_000
    assert warned == [(1, "铅", "Pb", 80_000.0), (2, "Cd", "Cd", 300.0)]
    first = doc["warnings"][0]
    assert first["code"] == "SOIL-PLAUSIBILITY-MAX"
    assert first["file"] == str(files[1]) and first["sample_id"] == "T1"
    assert first["value_if_unit_1000x_smaller_mg_kg"] == 80.0  # 80 000 / 1000
    assert f'{files[1]}, row 1, column "铅": Pb 80,000 mg/kg' in first["message"]
    assert "warning:" in res.stderr and "80,000 mg/kg" in res.stderr
    with Store(url) as store:
        assert store.counts()["samples"] == 3


def test_table_output_puts_the_warnings_on_stderr(tmp_path):
    url = f"sqlite:///{tmp_path / 'p.db'}"
    res = runner.invoke(
        app, ["mines", "import", *map(str, _files(tmp_path, PLAUSIBILITY_CSV)), "--db", url,
              "--lonlat-wgs84"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    lines = [x for x in res.stderr.splitlines() if x.startswith("warning:")]
    assert len(lines) == 2  # one line per warning (not wrapped), Pb of T1 and Cd of T2
    assert 'row 1, column "铅": Pb 80,000 mg/kg' in lines[0]
    assert 'row 2, column "Cd": Cd 300 mg/kg' in lines[1]
    assert "warning:" not in res.stdout
