"""Exports of the indicators: the XLSX workbook read back with openpyxl (sheets, bilingual
headers with units, values, the sources sheet) and the charts written as PNG and PDF, the PNG
rendered (not blank, Chinese labels drawn with a CJK font); over the synthetic store of
tests/evaluation/indicators_support.py (SQLite) and through ``restora evaluate indicators``.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from restora.cli import app
from restora.store import Store
from restora.store import evaluation as ev


def _support() -> Any:
    path = Path(__file__).with_name("indicators_support.py")
    spec = importlib.util.spec_from_file_location("restora_tests_indicators_support_", path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.load()


S = _support()


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('export') / 'restora.db'}"
    with Store(url) as store:
        S.build(store)
    return url


@pytest.fixture(scope="module")
def result(db: str) -> dict[str, Any]:
    with Store(db) as store:
        return ev.evaluate(store, on=S.ON)


def test_workbook_read_back(result: dict[str, Any], tmp_path: Path) -> None:
    from openpyxl import load_workbook

    from restora.evaluation.export import write_workbook

    path = write_workbook(result, tmp_path / "out" / "indicators.xlsx")
    book = load_workbook(path)
    assert book.sheetnames == [
        "指标 Indicators", "投资来源 Investment", "地区 Regions", "差异 Disparity",
        "差异分组 Groups", "模式 Modes", "周期 Cycle", "指标与碳汇 Units", "土石料 Earth-stone",
        "来源 Sources",
    ]  # fmt: skip
    rows = list(book["指标 Indicators"].iter_rows(values_only=True))
    assert rows[0][:5] == ("代码 / code", "指标 / indicator (zh)", "指标 / indicator (en)",
                           "数值 / value", "单位 / unit")  # fmt: skip
    by_code = {r[0]: r for r in rows[1:]}
    assert len(by_code) == len(result["indicators"])
    assert by_code["EVAL-INV-SOCIAL"][1:5] == ("社会资本投入", "social capital", 700.0, "CNY")
    assert by_code["EVAL-INV-SOCIAL-SHARE"][3] == pytest.approx(0.4375)
    jobs = by_code["EVAL-JOBS"]
    assert jobs[3] is None and jobs[5] is False and "jobs" in jobs[6]
    inv = list(book["投资来源 Investment"].iter_rows(values_only=True))
    assert "社会资本 / social capital [CNY]" in inv[0]
    col = inv[0].index("社会资本 / social capital [CNY]")
    assert {r[0]: r[col] for r in inv[1:]} == {"P1": 700.0, "P2": 0.0}
    disp = list(book["差异 Disparity"].iter_rows(values_only=True))
    head = disp[0]
    row = next(r for r in disp[1:] if r[0] == "social_capital_cny")
    assert row[head.index("基尼系数 / Gini [1]")] == pytest.approx(2 / 3)
    src = {r[0]: r for r in book["来源 Sources"].iter_rows(values_only=True)}
    assert src["on"][1] == "2026-03-01"
    assert src["table evaluation/funding-sources"][3] == "restora-1"
    assert len(src["table evaluation/indicators"][4]) == 64  # the table's SHA-256


def test_charts_png_and_pdf(result: dict[str, Any], tmp_path: Path) -> None:
    from PIL import Image

    from restora.evaluation.export import write_charts

    paths = write_charts(result, tmp_path / "charts")
    names = sorted(p.name for p in paths)
    assert names == sorted(
        f"{n}.{f}" for n in ("investment-by-source", "lorenz", "mode-mix") for f in ("png", "pdf")
    )
    for p in paths:
        data = p.read_bytes()
        assert data[:4] == (b"%PDF" if p.suffix == ".pdf" else b"\x89PNG")
    png = Image.open(tmp_path / "charts" / "investment-by-source.png").convert("L")
    # rendered, not blank: a good share of the pixels is not the white background
    hist = png.histogram()
    assert sum(hist[:200]) > 0.05 * png.width * png.height
    # the Chinese labels were drawn with a CJK font, not as missing-glyph boxes
    pdf = (tmp_path / "charts" / "lorenz.pdf").read_bytes()
    assert b"NotoSansCJK" in pdf or b"Noto Sans CJK" in pdf


def test_cli_json_xlsx_and_charts(db: str, tmp_path: Path) -> None:
    xlsx, charts = tmp_path / "t" / "ind.xlsx", tmp_path / "charts"
    res = CliRunner().invoke(
        app,
        ["evaluate", "indicators", "--db", db, "--on", "2026-03-01", "--region", "4305",
         "--by", "city", "--xlsx", str(xlsx), "--charts", str(charts), "--format", "json"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["projects"] == ["P1", "P2"] and out["level"] == "city"
    assert [r["region_code"] for r in out["regions"]] == ["430500"]
    assert xlsx.is_file() and (charts / "lorenz.png").is_file()
    assert str(xlsx) in out["files"]


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["--mode", "tourism"], "--mode"),
        (["--from", "2026", "--to", "2024"], "--from"),
        (["--region", "hunan"], "--region"),
    ],
)
def test_cli_bad_input_exits_2(db: str, args: list[str], field: str) -> None:
    res = CliRunner().invoke(app, ["evaluate", "indicators", "--db", db, *args])
    assert res.exit_code == 2
    assert field in res.output


def test_cli_csv(db: str) -> None:
    res = CliRunner().invoke(
        app, ["evaluate", "indicators", "--db", db, "--on", "2026-03-01", "--format", "csv"]
    )
    assert res.exit_code == 0, res.output
    lines = res.stdout.lstrip("\ufeff").splitlines()
    assert lines[0] == "code,name_zh,name_en,value,unit,n,reason"
    assert any(line.startswith("EVAL-LEVERAGE,") and ",1.75" in line for line in lines)
