"""``restora finance metrics``: the JSON contract, dated flows, stdin, exit codes."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy_financial as npf
import pytest
import pyxirr
from typer.testing import CliRunner

from restora.cli import app

runner = CliRunner()
KEYS = {"npv", "irr", "irr_all", "irr_status", "mirr", "payback_years", "discounted_payback_years"}


def _run(args: list[str], stdin: str | None = None) -> tuple[int, str, str]:
    res = runner.invoke(app, ["finance", "metrics", *args], input=stdin)
    return res.exit_code, res.stdout, res.stderr


def test_periodic_flows_json_contract(tmp_path: Path) -> None:
    f = tmp_path / "flows.json"
    flows = [-100, 20, 30, 40, 50]
    f.write_text(json.dumps({"flows": flows}))
    code, out, _ = _run([str(f), "--rate", "0.06", "--format", "json"])
    assert code == 0
    data = json.loads(out)
    assert set(data) == KEYS
    assert data["npv"] == pytest.approx(npf.npv(0.06, flows), rel=1e-12)
    assert data["irr"] == pytest.approx(pyxirr.irr(flows), abs=1e-10)
    assert data["irr_all"] == pytest.approx([data["irr"]])
    assert data["irr_status"] == "unique"
    assert data["mirr"] == pytest.approx(npf.mirr(flows, 0.06, 0.06), abs=1e-12)
    # cumulative -100, -80, -50, -10, 40: 3 + 10/50 = 3.2
    assert data["payback_years"] == pytest.approx(3.2)
    assert 3.2 < data["discounted_payback_years"] < 4


def test_several_irrs_give_null_and_the_list_and_mirr_rates() -> None:
    code, out, _ = _run(
        ["-", "--rate", "0.06", "--finance-rate", "0.1", "--reinvest-rate", "0.1", "-f", "json"],
        stdin=json.dumps({"flows": [-100, 230, -132]}),
    )
    assert code == 0
    data = json.loads(out)
    assert data["irr"] is None
    assert data["irr_all"] == pytest.approx([0.1, 0.2], abs=1e-12)
    assert data["irr_status"] == "multiple"
    assert data["mirr"] == pytest.approx(0.1, abs=1e-12)  # see test_metrics: (253/209.09)^0.5-1
    assert data["payback_years"] is None  # cumulative ends at -2


def test_no_sign_change_gives_null() -> None:
    code, out, _ = _run(["-", "--rate", "0.05", "-f", "json"], stdin='{"flows": [10, 20]}')
    data = json.loads(out)
    assert code == 0 and data["irr"] is None and data["irr_all"] == [] and data["mirr"] is None
    assert data["irr_status"] == "none"
    assert data["payback_years"] == 0.0


def test_dated_flows_use_xnpv_and_xirr() -> None:
    dated = [["2026-01-01", -100], ["2026-07-01", 30], ["2027-03-15", 90]]
    code, out, _ = _run(
        ["-", "--rate", "0.06", "-f", "json"], stdin=json.dumps({"dated_flows": dated})
    )
    assert code == 0
    data = json.loads(out)
    dates = [dt.date.fromisoformat(str(d)) for d, _ in dated]
    amounts = [float(str(a)) for _, a in dated]
    assert data["npv"] == pytest.approx(pyxirr.xnpv(0.06, dates, amounts), rel=1e-12)
    assert data["irr"] == pytest.approx(pyxirr.xirr(dates, amounts), abs=1e-10)
    # cumulative -100, -70, +20 on 2027-03-15: 438 days / 365
    assert data["payback_years"] == pytest.approx(438 / 365)


def test_dated_flows_with_two_close_irrs_list_both_with_their_status() -> None:
    """Issue 11 item 5: yearly dated flows whose IRRs are 10 % and 10.1 %
    ((y - 1.1)(y - 1.101) = y^2 - 2.201 y + 1.2111, flow -1, 2.201, -1.2111) printed
    "irr_all": [] before; now both rates and "irr_status": "multiple", as for the periodic flow.
    A double root prints its candidate with "undetermined", never an empty list."""
    flows = [-1.0, 2.201, -1.2111]
    dated = [[f"{2025 + k}-01-01", a] for k, a in enumerate(flows)]
    code, out, _ = _run(
        ["-", "--rate", "0.06", "-f", "json"], stdin=json.dumps({"dated_flows": dated})
    )
    assert code == 0
    x = json.loads(out)
    code, out, _ = _run(["-", "--rate", "0.06", "-f", "json"], stdin=json.dumps({"flows": flows}))
    p = json.loads(out)
    assert x["irr_all"] == pytest.approx([0.10, 0.101], abs=1e-9)
    assert p["irr_all"] == pytest.approx([0.10, 0.101], abs=1e-9)
    assert x["irr_status"] == p["irr_status"] == "multiple"
    assert x["irr"] is None and p["irr"] is None
    dated = [["2025-01-01", 1], ["2026-01-01", -2], ["2027-01-01", 1]]
    code, out, _ = _run(
        ["-", "--rate", "0.06", "-f", "json"], stdin=json.dumps({"dated_flows": dated})
    )
    d = json.loads(out)
    assert d["irr_status"] == "undetermined" and d["irr_all"] == pytest.approx([0.0], abs=1e-7)
    assert d["irr"] is None


def test_table_and_csv() -> None:
    code, out, _ = _run(["-", "--rate", "0.06", "-f", "csv"], stdin='{"flows": [-100, 110]}')
    assert code == 0
    header, row = out.strip().splitlines()
    assert header == "npv,irr,irr_all,irr_status,mirr,payback_years,discounted_payback_years"
    assert float(row.split(",")[1]) == pytest.approx(0.1)
    code, out, _ = _run(["-", "--rate", "0.06"], stdin='{"flows": [-100, 110]}')
    assert code == 0 and "npv" in out


@pytest.mark.parametrize(
    ("payload", "where"),
    [
        ('{"flows": [-100, "x", 10]}', 'flows[1], column "flows"'),
        ('{"flows": []}', 'column "flows"'),
        ('{"flows": [-100, true]}', "flows[1]"),
        ('{"flows": [-100, NaN]}', "flows[1]"),
        (
            '{"dated_flows": [["2026-01-01", -100], ["2026-13-01", 5]]}',
            'dated_flows[1], column "date"',
        ),
        ('{"dated_flows": [["2026-01-01", -100], [5]]}', "dated_flows[1]"),
        ('{"cash": [1]}', 'column "flows"'),
        ('{"flows": [1], "dated_flows": []}', 'column "flows"'),
        ("[1, 2", "line 1"),
    ],
)
def test_bad_input_exit_2_names_the_entry(payload: str, where: str) -> None:
    code, _, err = _run(["-", "--rate", "0.06"], stdin=payload)
    assert code == 2
    assert "<stdin>" in err and where in err


def test_bad_rate_and_missing_file(tmp_path: Path) -> None:
    code, _, err = _run(["-", "--rate", "-1.5"], stdin='{"flows": [-1, 2]}')
    assert code == 2 and "--rate" in err
    code, _, err = _run([str(tmp_path / "nope.json"), "--rate", "0.06"])
    assert code == 2 and "nope.json" in err
