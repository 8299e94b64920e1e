"""Provincial unit-cost tables: the template, filling it (CSV in GBK, or Excel), and bad rows."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from restora import refdata
from restora.cli import app
from restora.costing.unitcosts import UNSOURCED, load_library
from restora.errors import InputError

runner = CliRunner()
QUOTA = "湖南省土地整治项目预算定额 (test figures)"


def _template(out, *extra):
    r = runner.invoke(
        app, ["cost", "template", "--region", "430000", "--out", str(out),
              "--valid-from", "2024-01-01", *extra],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    refdata.reload()
    return out / "costing"


def _fill(df: pd.DataFrame) -> pd.DataFrame:
    df = df.copy()
    for col in ("low", "likely", "high"):
        df[col] = df[f"national_{col}"] * 1.1
    df["price_year"] = 2022
    df["source"] = QUOTA
    return df


def test_template_lists_the_judgement_rows_and_loads_once_filled(user_path):
    folder = _template(user_path, "--items", "unsourced")
    csv = folder / "unit-costs-430000.csv"
    assert csv.read_bytes().startswith(b"\xef\xbb\xbf")  # BOM, so Excel shows 中文
    df = pd.read_csv(csv, encoding="utf-8-sig")
    national = load_library(on="2024-06-01")
    judgement = {k for k, u in national.items.items() if not u.sourced}
    assert set(df["item"]) == judgement and len(judgement) == 23
    assert df[["low", "likely", "high", "price_year", "source"]].isna().all().all()
    # an unfilled template is refused, naming the CSV, the row and the column
    with pytest.raises(InputError) as ei:
        load_library(on="2024-06-01", region="430521")
    p = ei.value.problems[0]
    assert (p.file, p.row, p.field) == (str(csv), f"row 1 ({df['item'][0]})", "low")
    # filled and saved as GBK, as Excel on a Chinese Windows does
    filled = _fill(df.drop(index=[0]))  # the first item is deleted: its national row stays
    csv.write_bytes(filled.to_csv(index=False).encode("gbk"))
    refdata.reload()
    lib = load_library(on="2024-06-01", region="430521")
    slope = lib["slope_cutting"]
    assert slope.region == "430000" and slope.source == QUOTA and slope.sourced
    assert slope.likely == pytest.approx(25 * 1.1) and slope.price_year == 2022
    assert not slope.indicative  # the template marks a quota as not indicative
    first = df["item"][0]
    assert lib[first].region == "000000" and lib[first].source == UNSOURCED
    assert lib["topsoil_cover"].region == "000000"  # sourced nationally, not in the template
    r = runner.invoke(app, ["cost", "library", "--region", "430521", "--on", "2024-06-01",
                            "-f", "json"])  # fmt: skip
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    rows = {x["item"]: x for x in doc["items"]}
    assert rows["slope_cutting"]["region"] == "430000" and rows["slope_cutting"]["sourced"]
    assert [t["region"] for t in doc["tables_used"]] == ["000000", "430000"]
    assert sum(not x["sourced"] for x in doc["items"]) == 1  # only the deleted row is left


def test_excel_template(user_path):
    folder = _template(user_path, "--excel")
    xlsx = folder / "unit-costs-430000.xlsx"
    df = pd.read_excel(xlsx)
    assert len(df) == 31
    _fill(df).to_excel(xlsx, index=False)
    refdata.reload()
    lib = load_library(on="2024-06-01", region="430000")
    assert lib["pit_filling"].likely == pytest.approx(15.74 * 1.1)
    assert {u.region for u in lib.items.values()} == {"430000"}


def test_template_never_overwrites(user_path):
    folder = _template(user_path)
    before = (folder / "unit-costs.yaml").read_bytes()
    r = runner.invoke(app, ["cost", "template", "--region", "430000", "--out", str(user_path)])
    assert r.exit_code == 2 and "not overwritten" in r.output
    assert (folder / "unit-costs.yaml").read_bytes() == before


def test_regional_table_overrides_items(unit_cost_table):
    unit_cost_table("slope_cutting,earthwork,closure_hazard,m3,20,30,40,2023,Hunan quota\n")
    lib = load_library(on="2024-06-01", region="430521")
    assert lib["slope_cutting"].likely == 30 and lib["slope_cutting"].region == "430000"
    assert lib["anchoring"].likely == 250  # national row kept
    assert [t["region"] for t in lib.tables] == ["000000", "430000"]


def test_bad_rows_are_named_by_file_row_and_column(unit_cost_table):
    path = unit_cost_table(
        "slope_cutting,earthwork,closure_hazard,m3,20,abc,40,2023,quota\n"
        "anchoring,geotech,closure_hazard,m,300,250,450,2023,quota\n"
        "retaining_wall,masonry,nowhere,m3,1,2,3,2023,quota\n"
        "drainage_ditch,masonry,closure_hazard,m,1,2,3,2023,\n"
        "slope_cutting,earthwork,closure_hazard,m3,1,2,3,23.5,quota\n",
    )
    with pytest.raises(InputError) as ei:
        load_library(on="2024-06-01", region="430000")
    got = {(p.row, p.field) for p in ei.value.problems}
    assert {p.file for p in ei.value.problems} == {path}
    assert got == {
        ("row 1 (slope_cutting)", "likely"),  # not a number
        ("row 2 (anchoring)", "likely"),  # low > likely
        ("row 3 (retaining_wall)", "phase"),
        ("row 4 (drainage_ditch)", "source"),  # a row without a source would pass as published
        ("row 5 (slope_cutting)", "item"),  # twice
        ("row 5 (slope_cutting)", "price_year"),
    }
    assert "'abc' is not a number" in str(ei.value)


def test_missing_data_file_and_undecodable_text(unit_cost_table):
    path = unit_cost_table(None, csv="nothere.csv")
    with pytest.raises(InputError, match=r"nothere\.csv") as ei:
        load_library(on="2024-06-01", region="430000")
    assert "unit-costs.yaml (version 1)" in str(ei.value.problems[0].file)
    Path(path).write_bytes(b"item,kind\n\xff\xfe\xfa,x\n")
    refdata.reload()
    with pytest.raises(InputError, match="neither UTF-8 nor GBK"):
        load_library(on="2024-06-01", region="430000")
