"""``restora appraise`` and ``restora demo``: progress stage by stage, the appraisal workbook,
and Ctrl-C (issue 12, items 10 and 11).

Fails on the code before: appraise called the pipeline without ``progress=``, wrote no
``appraisal.xlsx``, and an interrupt ended in click's "Aborted!" (exit 1) or a traceback.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import openpyxl
import pytest
from rich.console import Console
from typer.testing import CliRunner

import restora.cli.appraise as appraise_cli
import restora.cli.output as output
from restora.appraisal.pipeline import STAGES
from restora.appraisal.workbook import appraisal_sheets
from restora.cli import app

ROOT = Path(__file__).resolve().parents[1]
COUNTY = ROOT / "examples" / "demo-county"
PROJECT = ROOT / "examples" / "demo-projects" / "QS-M09.yaml"
ON = "2026-01-01"
runner = CliRunner()


def test_progress_only_for_people_watching(monkeypatch):
    """No progress for --format json, nor when stdout or stderr is not a terminal."""
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True, raising=False)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    assert output.progress_wanted("table") and output.progress_wanted("csv")
    assert not output.progress_wanted("json")
    monkeypatch.setattr(sys.stderr, "isatty", lambda: False, raising=False)
    assert not output.progress_wanted("table")


def test_stage_progress_shows_each_stage(monkeypatch):
    buf = io.StringIO()
    monkeypatch.setattr(output, "err_console", Console(file=buf, force_terminal=True, width=100))
    with output.stage_progress(True, total=2) as step:
        step("diagnosis")
        step("plan")
    shown = buf.getvalue()
    assert "diagnosis" in shown and "plan" in shown
    with output.stage_progress(False) as step:
        step("nothing")  # disabled: a no-op


@pytest.fixture(scope="module")
def appraised(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """One appraisal (zh, no PDF) with the progress callback recorded."""
    out = tmp_path_factory.mktemp("appraise")
    calls: dict = {"steps": []}

    @contextmanager
    def recorder(enabled: bool, total: int | None = None) -> Iterator:
        calls["enabled"], calls["total"] = enabled, total
        yield calls["steps"].append

    mp = pytest.MonkeyPatch()
    mp.setattr(appraise_cli, "stage_progress", recorder)
    mp.setattr(appraise_cli, "progress_wanted", lambda fmt: fmt != "json")
    try:
        res = runner.invoke(
            app,
            ["appraise", str(PROJECT), "--county", str(COUNTY), "--out", str(out), "--no-pdf",
             "--lang", "zh", "--on", ON],
            env={"COLUMNS": "200"},
        )  # fmt: skip
    finally:
        mp.undo()
    assert res.exit_code == 0, res.output
    doc = json.loads((out / "appraisal.json").read_text(encoding="utf-8"))
    return {"out": out, "calls": calls, "doc": doc, "stdout": res.stdout}


def test_appraise_reports_each_stage_as_it_starts(appraised):
    calls = appraised["calls"]
    pid = appraised["doc"]["project"]["project_id"]
    assert calls["enabled"] is True
    assert calls["steps"] == [
        "reading the county",
        "diagnosing the county",
        *(f"{pid}: {s}" for s in STAGES),
        f"{pid}: workbook",
        f"{pid}: report",
    ]
    assert calls["total"] == len(calls["steps"])
    assert "appraisal.xlsx" in appraised["stdout"]


def test_appraisal_workbook_holds_the_json_tables(appraised):
    """appraisal.xlsx beside appraisal.json: one sheet per main table, in the report's language
    (zh), numbers equal to the JSON's, header row frozen, no formula."""
    doc = appraised["doc"]
    book = openpyxl.load_workbook(appraised["out"] / "appraisal.xlsx")
    assert book.sheetnames == [
        "摘要",
        "修复优先序",
        "分阶段成本",
        "分项成本",
        "现金流",
        "资金来源与运用",
        "现金流分配",
        "偿债覆盖率检验",
        "分场地生态系统服务价值",
    ]
    for ws in book:
        assert ws.freeze_panes == "A2"
        assert not any(c.data_type == "f" for row in ws.iter_rows() for c in row)
    st = doc["stages"]
    phases = list(book["分阶段成本"].iter_rows(values_only=True))
    head = phases[0]
    assert head[0] == "阶段" and "P50 [元]" in head
    total = phases[-1]
    assert total[0] == "合计"
    assert total[head.index("P50 [元]")] == pytest.approx(st["cost"]["total"]["p50_cny"])
    flows = list(book["现金流"].iter_rows(values_only=True))
    assert len(flows) - 1 == len(st["cashflow"]["rows"])
    col = flows[0].index("可偿债现金流 [元]")
    assert [r[col] for r in flows[1:]] == pytest.approx(
        [r["cfads_cny"] for r in st["cashflow"]["rows"]]
    )
    su = st["financing"]["structure"]["sources_uses"]
    su_rows = list(book["资金来源与运用"].iter_rows(values_only=True))
    assert len(su_rows) - 1 == len(su["uses"]) + len(su["sources"])
    assert sum(r[-1] for r in su_rows[1:] if r[0] == "资金运用") == pytest.approx(
        sum(r["total_cny"] for r in su["uses"])
    )
    sites = list(book["分场地生态系统服务价值"].iter_rows(values_only=True))
    assert len(sites) - 1 == len(st["value"]["esv"]["sites"])
    summary = {r[0]: r[1] for r in book["摘要"].iter_rows(values_only=True)}
    assert summary["净现值"] == pytest.approx(st["cashflow"]["npv_cny"], abs=0.005)


def test_appraisal_sheets_in_english(appraised):
    sheets = appraisal_sheets(appraised["doc"], "en")
    names = [s.name for s in sheets]
    assert names[:3] == ["summary", "ranking", "cost by phase"] and "ESV by site" in names
    esv = next(s for s in sheets if s.name == "ESV by site")
    assert esv.headers["esv_before_cny_per_yr"] == "esv before [CNY/yr]"


def test_ctrl_c_in_process_exits_130(monkeypatch):
    """A KeyboardInterrupt anywhere in a command ends it with exit code 130, a one-line
    message and no traceback (appraise and demo)."""

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(appraise_cli, "county_from_folder", interrupt)
    for args in (
        ["appraise", str(PROJECT), "--county", str(COUNTY), "--no-pdf"],
        ["demo", "--out", "unused-demo-output", "--no-pdf"],
    ):
        res = runner.invoke(app, args)
        assert res.exit_code == 130, res.output
        assert "interrupted" in res.stderr and "Traceback" not in res.output
    assert not Path("unused-demo-output").exists()


def test_ctrl_c_on_a_running_demo(tmp_path):
    """SIGINT to a real ``restora demo`` once it is working (the database is being written):
    exit code 130, no traceback."""
    out = tmp_path / "demo"
    restora = Path(sys.executable).with_name("restora")
    proc = subprocess.Popen(
        [str(restora), "demo", "--out", str(out), "--no-pdf", "--format", "json", "--on", ON],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
        env={**os.environ, "COLUMNS": "120"},
    )
    deadline = time.monotonic() + 300
    while not (out / "restora.db").exists() and proc.poll() is None:
        assert time.monotonic() < deadline, "the demo never started writing"
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 130, err.decode()[-2000:]
    assert b"Traceback" not in err and b"interrupted" in err


def test_a_ctrl_c_a_library_swallows_still_stops_at_the_next_step():
    """Python ignores an exception raised in a garbage-collection callback (SQLAlchemy has
    some): the run went on to exit 0. The handler keeps the interrupt and the next step, or
    the end of the command, raises it again."""
    import signal as sig

    from restora.cli import output

    old = sig.getsignal(sig.SIGINT)
    try:
        output.watch_interrupts()
        with contextlib.suppress(KeyboardInterrupt):  # a library swallows what the handler raises
            sig.raise_signal(sig.SIGINT)
        assert output.interrupted()
        with output.stage_progress(False) as step, pytest.raises(KeyboardInterrupt):
            step("next stage")
    finally:
        sig.signal(sig.SIGINT, old)
        output._interrupted = False
