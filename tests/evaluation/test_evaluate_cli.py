"""``restora evaluate disparity | lorenz | did | before-after``: the JSON contract (exactly its
keys, values worked by hand), Chinese GBK and XLSX inputs, standard input, exit 2 naming file,
row and column."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from restora.cli import app

DATA = Path(__file__).resolve().parents[1] / "data" / "evaluation"
COUNTIES = DATA / "counties.csv"


def _run(*args: str, stdin: str | bytes | None = None):
    return CliRunner().invoke(app, ["evaluate", *args], input=stdin)


def _disparity(path: Path | str, *extra: str, stdin: str | bytes | None = None):
    return _run(
        "disparity",
        str(path),
        "--value",
        "social_capital",
        "--group",
        "province",
        *extra,
        "--format",
        "json",
        stdin=stdin,
    )


def test_the_json_contract_exactly():
    r = _disparity(COUNTIES)
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert list(out) == ["n", "gini", "theil", "theil_within", "theil_between", "groups"]
    assert [list(g) for g in out["groups"]] == [["group", "n", "mean", "theil", "share"]] * 2
    # values 1, 2 | 3, 4 (see test_disparity.py for the arithmetic)
    assert out["n"] == 4
    assert out["gini"] == pytest.approx(0.25)
    assert out["theil"] == pytest.approx(0.106440, abs=1e-6)
    assert out["theil_between"] == pytest.approx(0.082283, abs=1e-6)
    assert out["theil_within"] + out["theil_between"] == pytest.approx(out["theil"])
    assert out["groups"][0] == {
        "group": "P1",
        "n": 2,
        "mean": 1.5,
        "theil": pytest.approx(0.056633, abs=1e-6),
        "share": pytest.approx(0.3),
    }


def test_weighted_by_population():
    # per-capita values 1, 2, 3, 4 with populations 10, 10, 20, 5: W = 45,
    # Σ w x = 10 + 20 + 60 + 20 = 110, μ = 110/45 = 2.4444
    # Σ_i Σ_j w_i w_j |x_i − x_j| = 2 * (100·1 + 200·2 + 50·3 + 200·1 + 50·2 + 100·1) = 2100
    # G = 2100 / (2 * 45² * 2.4444) = 2100 / 9900 = 0.212121
    r = _disparity(COUNTIES, "--weight", "population")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["gini"] == pytest.approx(2100 / 9900)
    # P2: Σ w x = 60 + 20 = 80 of 110; mean 80 / 25 = 3.2
    assert out["groups"][1]["share"] == pytest.approx(80 / 110)
    assert out["groups"][1]["mean"] == pytest.approx(3.2)


def test_chinese_gbk_headers_and_aliases_give_the_same_result():
    english = json.loads(_disparity(COUNTIES).stdout)
    r = _disparity(DATA / "counties_zh_gbk.csv")  # social_capital → 社会资本投资, province → 省份
    assert r.exit_code == 0, r.output
    chinese = json.loads(r.stdout)
    assert [g["group"] for g in chinese["groups"]] == ["四川省", "贵州省"]
    for key in ("n", "gini", "theil", "theil_within", "theil_between"):
        assert chinese[key] == pytest.approx(english[key])
    r = _run(
        "disparity",
        str(DATA / "counties_zh_gbk.csv"),
        "--value",
        "社会资本投资",
        "--group",
        "省份",
        "--weight",
        "常住人口",
        "--format",
        "json",
    )
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["gini"] == pytest.approx(2100 / 9900)


def test_xlsx_and_stdin(tmp_path):
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    for row in csv.reader(COUNTIES.read_text().splitlines()):
        sheet.append([int(c) if c.isdigit() else c for c in row])
    book.save(tmp_path / "counties.xlsx")
    english = json.loads(_disparity(COUNTIES).stdout)
    r = _disparity(tmp_path / "counties.xlsx")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout) == english
    r = _disparity("-", stdin=COUNTIES.read_bytes())
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout) == english


def test_csv_and_table_formats():
    r = _run(
        "disparity",
        str(COUNTIES),
        "--value",
        "social_capital",
        "--group",
        "province",
        "--format",
        "csv",
        "--no-bom",
    )
    assert r.exit_code == 0, r.output
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    assert [row["group"] for row in rows] == ["(all)", "P1", "P2"]
    assert float(rows[0]["gini"]) == pytest.approx(0.25, abs=1e-4)
    r = _run("disparity", str(COUNTIES), "--value", "social_capital", "--group", "province")
    assert r.exit_code == 0 and "theil_between" in r.stdout


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("county,province,social_capital\nA,P1,1\nB,P1,-2\n", 'row 2, column "social_capital"'),
        ("county,province,social_capital\nA,P1,1\nB,P1,n.d.\n", 'row 2, column "social_capital"'),
        ("county,province,social_capital\nA,,1\n", 'row 1, column "province"'),
        ("county,region,social_capital\nA,P1,1\n", 'header, column "province"'),
    ],
    ids=["negative", "not-a-number", "empty-group", "missing-column"],
)
def test_bad_input_exits_2_naming_file_row_and_column(tmp_path, text, where):
    path = tmp_path / "units.csv"
    path.write_text(text)
    r = _disparity(path)
    assert r.exit_code == 2
    assert f"{path}, {where}" in r.stderr
    assert "Traceback" not in r.output


def test_missing_weight_column_and_missing_file_exit_2(tmp_path):
    r = _disparity(COUNTIES, "--weight", "households")
    assert r.exit_code == 2 and 'column "households": no such column' in r.stderr
    r = _disparity(tmp_path / "none.csv")
    assert r.exit_code == 2 and "no such file" in r.stderr


def test_lorenz_points():
    r = _run("lorenz", str(COUNTIES), "--value", "social_capital", "--format", "json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    # sorted 1, 2, 3, 4 of 10: 0, .1, .3, .6, 1
    assert [p["value_share"] for p in out["points"]] == pytest.approx([0, 0.1, 0.3, 0.6, 1])
    assert out["gini"] == pytest.approx(0.25)


def test_did_and_before_after_json():
    args = ["--outcome", "share", "--region", "region", "--period", "year", "--start", "2019"]
    r = _run("did", str(DATA / "panel_2x2.csv"), *args, "--treated", "treated", "-f", "json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["estimate"]["effect"] == pytest.approx(0.20)  # (0.45 − 0.15) − (0.30 − 0.20)
    assert out["did_2x2"]["effect"] == pytest.approx(0.20)
    assert {w["code"] for w in out["warnings"]} >= {"DID-FEW-CLUSTERS", "DID-FEW-TREATED"}
    assert out["n_treated_regions"] == 2 and out["n_control_regions"] == 2
    r = _run(
        "before-after", str(DATA / "panel_2x2.csv"), *args, "--treated", "treated", "-f", "json"
    )
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["estimate"]["effect"] == pytest.approx(0.30)
    r = _run("did", str(DATA / "panel_2x2.csv"), *args, "--treated", "treated")
    assert r.exit_code == 0 and "DID-A-PARALLEL" in r.stdout


def test_did_refuses_a_repeated_region_year(tmp_path):
    path = tmp_path / "panel.csv"
    path.write_text("region,year,treated,share\nA,2018,1,0.1\nA,2018,1,0.2\nB,2019,0,0.3\n")
    r = _run(
        "did",
        str(path),
        "--outcome",
        "share",
        "--region",
        "region",
        "--period",
        "year",
        "--treated",
        "treated",
        "--start",
        "2019",
    )
    assert r.exit_code == 2
    assert f"{path}, row 2" in r.stderr and "first at row 1" in r.stderr
