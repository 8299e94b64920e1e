"""Field campaigns: GBK CSV and XLSX with Chinese headers, a bad row named by file, row and
column with nothing stored, the --quarantine-bad-rows mode, a file imported twice."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner

from restora.cli import app as cli_app
from restora.errors import InputError
from restora.store import Store
from restora.store import monitoring as M

NOW = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
CSV_ZH = (
    "采样点,场地,指标,数值,单位,采样时间\n"
    "W1,S1,地表水镉,3,\u03bcg/L,2026-05-10 09:00\n"  # 3 μg/L (Greek mu, as in GBK) = 0.003 mg/L
    "W1,S1,sw_ph,7.4,,2026-05-10 09:00\n"
    "T1,,土壤铅,85,mg/kg,2026-05-11\n"
)


@pytest.fixture
def store(db_url: str):
    with Store(db_url) as s:
        with s.engine.begin() as conn:
            conn.execute(M.MINES.insert().values(mine_id="M1", name="M1", region_code="430000",
                         mineral="lead", status="abandoned"))  # fmt: skip
        yield s


def test_gbk_csv_with_chinese_headers(store, tmp_path: Path):
    path = tmp_path / "campaign.csv"
    path.write_bytes(CSV_ZH.encode("gbk"))
    out = M.import_campaign(store, path, mine_id="M1", name="May", now=NOW)
    assert (out["rows"], out["stored"], out["quarantined"]) == (3, 3, 0)
    assert (
        out["attrs"] == {"format": "csv", "encoding": "gb18030"} or out["attrs"]["format"] == "csv"
    )
    cd = M.series(store, "M1/S1/W1", "sw_cd")
    # 09:00 China Standard Time = 01:00 UTC; 3 µg/L = 0.003 mg/L
    assert (
        cd[0]["value"] == pytest.approx(0.003)
        and cd[0]["measured_at"] == "2026-05-10T01:00:00+00:00"
    )
    assert cd[0]["source"] == "campaign" and cd[0]["campaign_id"] == out["id"]
    pb = M.series(store, "M1/-/T1", "soil_pb")
    assert pb[0]["value"] == 85 and pb[0]["measured_at"] == "2026-05-10T16:00:00+00:00"
    points = {s["id"]: s for s in M.sensors(store, "M1")}
    # sampling points are registered inactive: they raise no offline alerts
    assert set(points) == {"M1/S1/W1", "M1/-/T1"} and not any(s["active"] for s in points.values())
    assert [c["name"] for c in M.campaigns(store, "M1")] == ["May"]
    with pytest.raises(InputError, match="already imported"):
        M.import_campaign(store, path, mine_id="M1", now=NOW)


def test_xlsx_with_chinese_headers(store, tmp_path: Path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["点位", "监测项目", "监测值", "单位", "采样日期"])
    ws.append(["G1", "地下水氨氮", 0.8, "mg/L", dt.datetime(2026, 5, 12, 10, 30)])
    ws.append(["G1", "Groundwater arsenic", "0.012", None, dt.datetime(2026, 5, 12, 10, 30)])
    path = tmp_path / "wells.xlsx"
    wb.save(path)
    out = M.import_campaign(store, path, mine_id="M1", now=NOW)
    assert (out["stored"], out["quarantined"]) == (2, 0)
    latest = {r["indicator"]: r for r in M.latest(store, "M1")}
    # NH3-N 0.8 > 0.50 (class III) but <= 1.50 (class IV): warning; As 0.012 > 0.01: warning
    assert latest["gw_nh3n"]["level"] == "warning" and latest["gw_as"]["value"] == 0.012
    assert latest["gw_nh3n"]["measured_at"] == "2026-05-12T02:30:00+00:00"


def bad_file(tmp_path: Path) -> Path:
    path = tmp_path / "bad.csv"
    path.write_text(
        "point,indicator,value,unit,ts\n"
        "W1,sw_cd,0.002,mg/L,2026-05-10T09:00:00+08:00\n"
        "W1,sw_cd,n.d.,mg/L,2026-05-10T10:00:00+08:00\n"
        "W2,sw_xx,1,mg/L,2026-05-10T10:00:00+08:00\n",
        encoding="utf-8",
    )
    return path


def test_bad_rows_name_file_row_column_and_nothing_is_stored(store, tmp_path: Path):
    with pytest.raises(InputError) as err:
        M.import_campaign(store, bad_file(tmp_path), mine_id="M1", now=NOW)
    text = str(err.value)
    assert "bad.csv, row 2, column \"value\": value 'n.d.' is not a number" in text
    assert "bad.csv, row 3, column \"indicator\": unknown indicator 'sw_xx'" in text
    assert M.counts(store) == {"sensors": 0, "readings": 0, "quarantined": 0}
    assert M.campaigns(store) == []


def test_quarantine_bad_rows(store, tmp_path: Path):
    out = M.import_campaign(store, bad_file(tmp_path), mine_id="M1", quarantine_bad_rows=True,
                            now=NOW)  # fmt: skip
    assert (out["rows"], out["stored"], out["quarantined"]) == (3, 1, 2)
    q = sorted(M.quarantine(store, source="campaign"), key=lambda r: r["row"])
    assert [(r["row"], r["field"], r["origin"]) for r in q] == [
        (2, "value", "bad.csv"), (3, "indicator", "bad.csv")]  # fmt: skip
    assert json.loads(q[0]["payload"])["value"] == "n.d."


def test_missing_column_lists_accepted_headers(store, tmp_path: Path):
    path = tmp_path / "x.csv"
    path.write_text("点位,数值\nW1,1\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"x.csv: missing column\(s\): indicator \(one of 指标"):
        M.import_campaign(store, path, mine_id="M1")


def test_cli_import_and_reads(db_url: str, store, tmp_path: Path):
    path = tmp_path / "c.csv"
    path.write_bytes(CSV_ZH.encode("gbk"))
    runner = CliRunner()
    r = runner.invoke(cli_app, ["monitor", "import", str(path), "--mine", "M1", "--db", db_url,
                                "--format", "json"])  # fmt: skip
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["stored"] == 3
    r = runner.invoke(cli_app, ["monitor", "latest", "M1", "--db", db_url, "--format", "json"])
    assert {x["indicator"] for x in json.loads(r.stdout)} == {"sw_cd", "sw_ph", "soil_pb"}
    r = runner.invoke(cli_app, ["monitor", "readings", "M1", "--indicator", "sw_ph", "--db", db_url,
                                "--format", "csv"])  # fmt: skip
    assert r.exit_code == 0 and "7.4" in r.stdout
    r = runner.invoke(cli_app, ["monitor", "import", str(bad_file(tmp_path)), "--mine", "M1",
                                "--db", db_url])  # fmt: skip
    assert r.exit_code == 2 and "row 2" in r.output
    r = runner.invoke(
        cli_app, ["monitor", "sensors", "add", "M9", "X", "-i", "pm10", "--db", db_url]
    )
    assert r.exit_code == 2 and "unknown mine 'M9'" in r.output
