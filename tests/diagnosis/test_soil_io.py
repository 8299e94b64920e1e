"""Reading soil-sample CSVs and the `restora diagnose soil` command: units, non-detects, errors.

Bad input goes through the CLI: exit code 2 and a message naming the file, row and column.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from restora.cli import app
from restora.diagnosis import soil_io
from restora.errors import InputError

runner = CliRunner()
ON = "2024-01-01"


def write(tmp_path: Path, text: str, name: str = "samples.csv") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def run(*args: str):
    return runner.invoke(app, ["diagnose", *args])


GOOD = (
    "sample_id,ph,land_use,Cd,Hg,As,Pb,Cr,Cu,Ni,Zn\n"
    # S1: everything at the pH ≤ 5.5 paddy screening values -> priority protection, all P = 1
    "S1,5.5,paddy,0.3,0.5,30,80,250,50,60,200\n"
    # S2: pH 6.5 other land: Cd 0.31 > 0.3 -> safe utilization
    "S2,6.5,其他,0.31,1.0,20,50,100,40,50,100\n"
    # S3: pH 8 orchard: Cd 4.1 > 4.0 intervention -> strict control
    "S3,8,果园,4.1,1,20,100,100,150,100,100\n"
)


def test_cli_json_contract(tmp_path):
    f = write(tmp_path, GOOD)
    r = run("soil", str(f), "--standard", "gb15618", "--format", "json", "--on", ON)
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert [d["sample_id"] for d in data] == ["S1", "S2", "S3"]
    assert [d["class"] for d in data] == [
        "priority_protection",
        "safe_utilization",
        "strict_control",
    ]
    s1 = data[0]
    assert set(s1) >= {"sample_id", "class", "nemerow", "nemerow_grade", "factors", "rules"}
    assert s1["nemerow"] == pytest.approx(1.0)  # all P = 1: sqrt((1 + 1)/2)
    assert s1["nemerow_grade"] == "warning"  # (0.7, 1]
    assert set(s1["factors"]) == {"Cd", "Hg", "As", "Pb", "Cr", "Cu", "Ni", "Zn"}
    cd = s1["factors"]["Cd"]
    assert cd == {**cd, "value": 0.3, "screening": 0.3, "intervention": 1.5, "index": 1.0}
    assert s1["factors"]["Zn"]["intervention"] is None
    assert data[2]["rules"][0] == "SOIL-GB15618-CD-INTERVENE"
    assert data[2]["factors"]["Cu"]["screening"] == 200.0  # orchard Cu at pH > 7.5
    assert any(t["name"] == "soil/gb15618-2018/screening" for t in s1["tables_used"])


def test_cli_table_and_csv(tmp_path):
    f = write(tmp_path, GOOD)
    r = run("soil", str(f), "--on", ON)
    assert r.exit_code == 0 and "strict_control" in r.stdout.replace("\n", "").replace("│", "")
    r = run("soil", str(f), "--format", "csv", "--on", ON)
    assert r.exit_code == 0
    header, first = r.stdout.splitlines()[:2]
    assert header.startswith("sample_id,class,nemerow,nemerow_grade")
    assert first.startswith("S1,priority_protection,1.0,warning")


def test_chinese_headers_units_and_non_detects(tmp_path):
    f = write(
        tmp_path,
        "样品编号,pH,土地利用,镉(µg/kg),汞 (mg/kg),砷,备注\n"
        "A,6.0,水田,350,ND,<10,fine\n"
        "B,6.0,paddy,410,0.2,,\n",
    )
    samples, meta = soil_io.read_samples(f, "gb15618", on=ON)
    assert samples.pollutants == ("Cd", "Hg", "As")
    # 350 µg/kg = 0.35 mg/kg; ND -> 0 (no limit given); <10 -> 10 x 0.5 = 5; empty -> NaN
    np.testing.assert_allclose(samples.concentration[0], [0.35, 0.0, 5.0])
    assert samples.concentration[1, 0] == pytest.approx(0.41)
    assert np.isnan(samples.concentration[1, 2])
    assert samples.censored[0].tolist() == [False, True, True]
    assert samples.land.tolist() == ["paddy", "paddy"]
    text = " ".join(meta["warnings"])
    assert "converted from µg/kg to mg/kg" in text
    assert "below detection" in text and "empty cell" in text
    assert "no column for Pb, Cr, Cu, Ni, Zn" in text


def test_cli_warns_on_unit_conversion_and_flags_below_lod(tmp_path):
    f = write(tmp_path, "sample_id,ph,land_use,Cd (ug/g),Pb\nA,6.0,paddy,0.45,<20\n")
    r = run("soil", str(f), "-f", "json", "--on", ON)
    assert r.exit_code == 0
    assert "converted from ug/g to mg/kg" in r.stderr
    rec = json.loads(r.stdout)[0]
    assert rec["factors"]["Cd"]["value"] == pytest.approx(0.45)  # µg/g = mg/kg
    assert (
        rec["factors"]["Pb"]["value"] == pytest.approx(10.0) and rec["factors"]["Pb"]["below_lod"]
    )


def test_gb36600_columns(tmp_path):
    f = write(
        tmp_path,
        "sample_id,land_class,As,Cr(VI),Pb,Zn\n"
        "C1,1,21,2.9,390,5000\n"
        "C2,第二类用地,21,5.8,390,5000\n",
    )
    r = run("soil", str(f), "--standard", "gb36600", "-f", "json", "--on", ON)
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    # C1 class 1: As 21 > 20 -> SU. C2 class 2: Cr6 5.8 > 5.7 -> SU (As 21 < 60)
    assert [x["class"] for x in d] == ["safe_utilization", "safe_utilization"]
    assert set(d[0]["factors"]) == {"As", "Cr6", "Pb"}
    assert d[1]["factors"]["Cr6"]["screening"] == 5.7
    assert "Zn" in r.stderr and "ignored" in r.stderr


BAD_CASES = [
    # (csv text, expected fragments of the message)
    (
        "sample_id,ph,land_use,Cd\nA,6.0,paddy,0.2\nB,6.0,paddy,n.a.x\n",
        ["row 2", 'column "Cd"', "'n.a.x' is not a number"],
    ),
    ("sample_id,ph,land_use,Cd\nA,6.0,paddy,-0.2\n", ["row 1", 'column "Cd"', "negative"]),
    ("sample_id,ph,land_use,Cd\nA,14.2,paddy,0.2\n", ["row 1", 'column "ph"', "outside 0-14"]),
    ("sample_id,ph,land_use,Cd\nA,-1,paddy,0.2\n", ["row 1", 'column "ph"', "outside 0-14"]),
    ("sample_id,ph,land_use,Cd\nA,,paddy,0.2\n", ["row 1", 'column "ph"', "pH is missing"]),
    ("sample_id,ph,land_use,Cd\nA,abc,paddy,0.2\n", ["row 1", 'column "ph"', "not a number"]),
    (
        "sample_id,ph,land_use,Cd\nA,6,paddy,0.2\nB,6,forest,0.2\n",
        ["row 2", 'column "land_use"', "'forest'"],
    ),
    (
        "sample_id,ph,land_use,Cd\nA,6,建设用地,0.2\n",
        ["row 1", 'column "land_use"', "gb36600"],
    ),
    ("sample_id,ph,land_use,Cd,Sb\nA,6,paddy,0.2,3\n", ['column "Sb"', "unknown column 'Sb'"]),
    ("sample_id,ph,land_use,Cd (ppm)\nA,6,paddy,0.2\n", ['column "Cd (ppm)"', "unknown basis"]),
    ("sample_id,ph,land_use,Cd (mg/L)\nA,6,paddy,0.2\n", ['column "Cd (mg/L)"', "mass fraction"]),
    ("sample_id,ph,Cd\nA,6,0.2\n", ['column "land_use"', "missing"]),
    ("ph,land_use,Cd\n6,paddy,0.2\n", ['column "sample_id"', "missing"]),
    ("sample_id,ph,land_use,Cd\n,6,paddy,0.2\n", ["row 1", 'column "sample_id"', "empty"]),
    ("sample_id,ph,land_use\nA,6,paddy\n", ["no pollutant column"]),
    ("sample_id,ph,land_use,Cd,Hg\nA,6,paddy,,\n", ["row 1", "no pollutant"]),
    ("sample_id,ph,land_use,Cd\nA,6,paddy,0.2 ppm\n", ["row 1", 'column "Cd"', "unknown basis"]),
]


@pytest.mark.parametrize(("text", "fragments"), BAD_CASES)
def test_bad_input_exits_2_naming_file_row_column(tmp_path, text, fragments):
    f = write(tmp_path, text, "bad_samples.csv")
    r = run("soil", str(f), "--on", ON)
    assert r.exit_code == 2, r.output
    msg = r.stderr
    assert "bad_samples.csv" in msg
    for frag in fragments:
        assert frag in msg, (frag, msg)


def test_bad_gb36600_land_class(tmp_path):
    f = write(tmp_path, "sample_id,land_class,As\nA,3,10\n", "c.csv")
    r = run("soil", str(f), "--standard", "gb36600", "--on", ON)
    assert r.exit_code == 2
    assert 'c.csv, row 1, column "land_class"' in r.stderr and "not 1 or 2" in r.stderr


def test_missing_file_and_bad_standard(tmp_path):
    r = run("soil", str(tmp_path / "nope.csv"), "--on", ON)
    assert r.exit_code == 2 and "nope.csv" in r.stderr
    f = write(tmp_path, GOOD)
    r = run("soil", str(f), "--standard", "gb1", "--on", ON)
    assert r.exit_code == 2 and "unknown standard" in r.stderr


def test_stdin(tmp_path):
    r = runner.invoke(app, ["diagnose", "soil", "-", "-f", "json", "--on", ON], input=GOOD)
    assert r.exit_code == 0, r.output
    assert len(json.loads(r.stdout)) == 3


def test_unit_helpers():
    assert soil_io.to_mg_per_kg("µg/kg") == pytest.approx(1e-3)
    assert soil_io.to_mg_per_kg("μg/g") == pytest.approx(1.0)
    assert soil_io.to_mg_per_kg("g/kg") == pytest.approx(1e3)
    assert soil_io.to_mg_per_kg("mg·kg-1") == pytest.approx(1.0)
    assert soil_io.to_mg_per_kg("mg/kg DW") == pytest.approx(1.0)
    assert soil_io.to_mg_per_kg("ppmw") == pytest.approx(1.0)
    for bad in ("ppm", "ppb", "mg/L", "parsec"):
        with pytest.raises(ValueError):
            soil_io.to_mg_per_kg(bad)


def test_reader_raises_input_error_with_problems(tmp_path):
    f = write(tmp_path, "sample_id,ph,land_use,Cd\nA,20,paddy,-1\nB,x,forest,y\n", "m.csv")
    with pytest.raises(InputError) as exc:
        soil_io.read_samples(f, "gb15618", on=ON)
    where = {(p.row, p.field) for p in exc.value.problems}
    assert {(1, "ph"), (2, "ph"), (2, "land_use"), (2, "Cd"), (1, "Cd")} <= where
    assert all(p.file == str(f) for p in exc.value.problems)


def test_bracketed_units_survive_in_messages(tmp_path):
    """Headers like "Pb [g/kg]" must not be eaten by the console's markup."""
    f = write(tmp_path, "sample_id,ph,land_use,Pb [g/kg]\nA,6,paddy,x\n", "b.csv")
    r = run("soil", str(f), "--on", ON)
    assert r.exit_code == 2
    assert 'b.csv, row 1, column "Pb [g/kg]"' in r.stderr
    f = write(tmp_path, "sample_id,ph,land_use,Pb [g/kg]\nA,6,paddy,0.12\n", "c.csv")
    r = run("soil", str(f), "-f", "json", "--on", ON)
    assert r.exit_code == 0 and "'Pb [g/kg]': converted from g/kg" in r.stderr
    assert json.loads(r.stdout)[0]["factors"]["Pb"]["value"] == pytest.approx(120.0)
