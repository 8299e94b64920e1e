"""Outputs people open (issue 12, items 7, 9 and 10): no formula ever reaches a spreadsheet,
CSV with a byte-order mark under the documented rule, numbers to their precision, and the
``--format xlsx --out FILE`` workbooks.

Each test fails on the code before these items: cells beginning with ``=`` were written as
formulas by openpyxl and as bare text in CSV; CSV on stdout had no BOM and printed numbers at
full precision (``0.30000000000000004``); ``--format xlsx`` did not exist.
"""

from __future__ import annotations

import csv
import importlib.util
import io
import json
from pathlib import Path

import openpyxl
import pytest
import shapely
from typer.testing import CliRunner

from restora.cells import csv_text, csv_untext, decimals, formula_like, header, rounded
from restora.cli import app
from restora.cli.output import Format, bom_wanted, chinese_ansi_locale, emit
from restora.inventory.export import write_register
from restora.inventory.io import read_register

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()

# Texts a county file may hold that a spreadsheet would run (OWASP's examples and ours).
ATTACKS = ['=HYPERLINK("http://x","y")', "@SUM(1)", "-2+3", "+1", "\t=1", "\r=1"]


def _register(tmp_path: Path, slope: float | None = None):
    """Three mines named by attack texts, one site each, in EPSG:4326; ``slope`` (a negative
    number must stay a number) set after reading, as the reader refuses negative slopes."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["mine_id", "name", "region_code", "mineral", "status", "site_id", "kind", "wkt"])
    for i, name in enumerate(ATTACKS[:3]):
        box = shapely.box(114.0 + i / 100, 30.0, 114.001 + i / 100, 30.001)
        w.writerow([f"M{i}", name, "430181", "coal", "abandoned", f"S{i}", "open_pit", box.wkt])
    src = tmp_path / "sites.csv"
    src.write_text(buf.getvalue(), encoding="utf-8")
    reg, _ = read_register([src], crs="EPSG:4326")
    if slope is not None:
        reg.sites["slope_deg"] = slope
    return reg


def test_cells_rule():
    """OWASP's triggers, only on text; a quote only before a trigger is undone."""
    assert all(formula_like(t) for t in ATTACKS)
    assert not any(formula_like(v) for v in ("Cd", "<70", "'=x", -3.5, 0, None, ""))
    assert [csv_text(v) for v in ("=1", -2.0, "a-b")] == ["'=1", -2.0, "a-b"]
    assert csv_untext("'=1") == "=1" and csv_untext("'quoted") == "'quoted"
    assert csv_untext(csv_text("@SUM(1)")) == "@SUM(1)"


def test_register_export_writes_no_formula(tmp_path):
    """mines export: xlsx cells stay the same text, stored as text with a quote prefix (never a
    formula, data_type "f"); CSV cells carry the leading quote; -2.5 stays a number in both."""
    plain = tmp_path / "plain.xlsx"
    write_register(_register(tmp_path), plain, "xlsx")
    back, _ = read_register([plain])  # the text itself is unchanged: xlsx reads back equal
    assert sorted(back.mines["name"]) == sorted(ATTACKS[:3])

    reg = _register(tmp_path, slope=-2.5)
    xlsx = tmp_path / "out.xlsx"
    write_register(reg, xlsx, "xlsx")
    book = openpyxl.load_workbook(xlsx)
    cells = [c for ws in book for row in ws.iter_rows() for c in row]
    assert not any(c.data_type == "f" for c in cells)
    names = {c.value: c for c in cells if c.value in ATTACKS}
    assert set(names) == set(ATTACKS[:3])
    assert all(c.data_type == "s" and c.quotePrefix for c in names.values())
    slopes = [c for c in cells if c.value == -2.5]
    assert len(slopes) == 3 and all(c.data_type == "n" for c in slopes)

    out = tmp_path / "out.csv"
    write_register(reg, out, "csv")
    rows = list(csv.DictReader(out.read_text(encoding="utf-8-sig").splitlines()))
    assert sorted(r["name"] for r in rows) == sorted("'" + t for t in ATTACKS[:3])
    assert {r["slope_deg"] for r in rows} == {"-2.5"}
    assert all(r["wkt"].startswith("POLYGON") for r in rows)
    # and the register reads its own CSV back as it was: the quote is taken off again
    plain_csv = tmp_path / "plain.csv"
    write_register(_register(tmp_path), plain_csv, "csv")
    back, _ = read_register([plain_csv])
    assert sorted(back.mines["name"]) == sorted(ATTACKS[:3])


def test_format_csv_escapes_text_and_rounds_numbers(capsys):
    """--format csv (emit): text escaped, numbers not; each number to its column's precision;
    JSON keeps full precision."""
    rows = [
        {
            "name": '=HYPERLINK("http://x","y")',
            "note": "-2+3",
            "delta": -2.0,
            "area_hm2": 1.234567891,  # 4 decimals
            "lon": 114.123456789,  # 6 decimals
            "npv_cny": -1234.56,  # to the yuan
            "unit_cost_cny_per_t": 12.346,  # a price per unit: to the fen
            "share": 0.1 + 0.2,  # no rule: 10 significant digits
        }
    ]
    emit(rows, Format.csv)
    got = next(csv.DictReader(capsys.readouterr().out.splitlines()))
    assert got == {
        "name": '\'=HYPERLINK("http://x","y")',
        "note": "'-2+3",
        "delta": "-2.0",
        "area_hm2": "1.2346",
        "lon": "114.123457",
        "npv_cny": "-1235",
        "unit_cost_cny_per_t": "12.35",
        "share": "0.3",
    }
    emit(rows, Format.json)
    assert json.loads(capsys.readouterr().out)[0]["share"] == 0.1 + 0.2
    emit(rows, Format.table)
    table = capsys.readouterr().out
    assert "1.2346" in table and "114.123457" in table and "-1,235" in table


def test_precision_and_headers():
    assert [decimals(c) for c in ("area_hm2", "lat", "p50_cny", "esv_cny_per_yr")] == [4, 6, 0, 0]
    assert decimals("min_zone_area_m2") == 2 and decimals("distance_to_town_m") == 2
    assert decimals("score") is None and rounded("x", -0.0000001) == 0.0
    assert rounded("npv_cny", -0.4) == 0.0  # no "-0"
    assert header("esv_after_cny_per_yr") == "esv after [CNY/yr]"
    assert header("damaged_area_hm2") == "damaged area [hm²]" and header("rank") == "rank"


@pytest.mark.parametrize(
    ("flag", "env", "platform", "want"),
    [
        (True, {}, "linux", True),
        (False, {"LANG": "zh_CN.GB18030"}, "linux", False),  # --no-bom wins
        (None, {"RESTORA_CSV_BOM": "1"}, "linux", True),
        (None, {"RESTORA_CSV_BOM": "no", "LANG": "zh_CN.GBK"}, "linux", False),
        (None, {"LANG": "zh_CN.GB18030"}, "linux", True),
        (None, {"LANG": "zh_CN.gbk"}, "linux", True),
        (None, {"LC_ALL": "zh_TW.cp936"}, "linux", True),
        (None, {"LANG": "zh_CN.UTF-8"}, "linux", False),  # UTF-8 terminals need none
        (None, {"LANG": "en_US.ISO-8859-1"}, "linux", False),
        (None, {"LC_ALL": "en_US.UTF-8", "LANG": "zh_CN.GBK"}, "linux", False),  # LC_ALL first
        # Python sets LC_CTYPE=C.UTF-8 for a locale the system lacks: it names no language
        (None, {"LC_CTYPE": "C.UTF-8", "LANG": "zh_CN.GB18030"}, "linux", True),
        (None, {}, "linux", False),
    ],
)
def test_bom_rule(flag, env, platform, want):
    assert bom_wanted(flag, env, platform) is want


def test_windows_code_page_936(monkeypatch):
    import locale

    monkeypatch.setattr(locale, "getpreferredencoding", lambda do_setlocale=True: "cp936")
    assert chinese_ansi_locale({}, "win32") and not chinese_ansi_locale({}, "linux")


def _flows(tmp_path: Path) -> Path:
    f = tmp_path / "flows.json"
    f.write_text(json.dumps({"flows": [-100, 30, 40, 50]}), encoding="utf-8")
    return f


def test_csv_on_stdout_carries_a_bom_by_the_rule(tmp_path):
    """CLI: --bom, RESTORA_CSV_BOM and a GB18030 locale each give b'\\xef\\xbb\\xbf' first; none
    of them, --no-bom or JSON give none. Only once, at the start of stdout."""
    base = ["finance", "metrics", str(_flows(tmp_path)), "--rate", "0.06"]
    bom = b"\xef\xbb\xbf"
    env = {"RESTORA_CSV_BOM": "", "LANG": "C.UTF-8", "LC_ALL": "", "LC_CTYPE": ""}
    cases = [
        ([*base, "-f", "csv", "--bom"], env, True),
        ([*base, "-f", "csv"], env, False),
        ([*base, "-f", "csv"], {**env, "RESTORA_CSV_BOM": "1"}, True),
        ([*base, "-f", "csv"], {**env, "LANG": "zh_CN.GB18030"}, True),
        ([*base, "-f", "csv", "--no-bom"], {**env, "LANG": "zh_CN.GB18030"}, False),
        ([*base, "-f", "json", "--bom"], env, False),
    ]
    for args, e, want in cases:
        res = runner.invoke(app, args, env=e)
        assert res.exit_code == 0, res.output
        assert res.stdout_bytes.startswith(bom) is want, (args, e)
        assert res.stdout_bytes.count(bom) == (1 if want else 0)
    text = runner.invoke(app, [*base, "-f", "csv", "--bom"], env=env).stdout_bytes.decode()
    row = next(csv.DictReader(text.lstrip("\ufeff").splitlines()))
    # -100 + 30/1.06 + 40/1.06² + 50/1.06³ = 5.8827085446375…: 10 significant digits in CSV
    assert row["npv"] == "5.882708545"


def _load_costing_fixture():
    spec = importlib.util.spec_from_file_location(
        "costing_conftest", ROOT / "tests" / "costing" / "conftest.py"
    )
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.quarry_and_subsidence()


def _workbook(path: Path) -> dict[str, list[tuple]]:
    book = openpyxl.load_workbook(path)
    for ws in book:
        assert ws.freeze_panes == "A2"  # the header row stays in view
        assert all(ws.column_dimensions[c.column_letter].width >= 8 for c in ws[1])
        assert not any(c.data_type == "f" for row in ws.iter_rows() for c in row)
    return {ws.title: list(ws.iter_rows(values_only=True)) for ws in book}


def test_cost_estimate_workbook(tmp_path):
    """cost estimate --out FILE (a missing folder is created): sheets with English headers and
    units; the by-phase figures equal the JSON's, as numbers."""
    from restora.planning.io import write_plan

    plan = tmp_path / "plan.yaml"
    write_plan(_load_costing_fixture(), plan)
    args = ["cost", "estimate", str(plan), "--draws", "200", "--seed", "3"]
    doc = json.loads(runner.invoke(app, [*args, "-f", "json"]).stdout)
    out = tmp_path / "new" / "folder" / "cost.xlsx"
    res = runner.invoke(app, [*args, "-f", "xlsx", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert res.stdout == "" and "wrote" in res.stderr
    book = _workbook(out)
    assert list(book) == ["summary", "by phase", "by item", "by year", "indirect", "tornado"]
    head, *rows = book["by phase"]
    assert head == ("phase", "deterministic [CNY]", "p10 [CNY]", "p50 [CNY]", "p80 [CNY]",
                    "p90 [CNY]")  # fmt: skip
    total = dict(zip(head, rows[-1], strict=True))
    assert total["phase"] == "TOTAL"
    assert total["p50 [CNY]"] == pytest.approx(doc["total"]["p50_cny"], rel=1e-12)
    # direct 1,892,725.594 + indirect 776,019 (hand-worked in tests/costing/test_lifecycle.py)
    assert total["deterministic [CNY]"] == pytest.approx(2_668_744.594, abs=0.001)
    # --out alone means xlsx; xlsx without --out, or --out with csv, is refused (exit 2)
    assert runner.invoke(app, [*args, "--out", str(tmp_path / "b.xlsx")]).exit_code == 0
    assert (tmp_path / "b.xlsx").is_file()
    assert runner.invoke(app, [*args, "-f", "xlsx"]).exit_code == 2
    assert runner.invoke(app, [*args, "-f", "csv", "--out", str(out)]).exit_code == 2
    assert runner.invoke(app, [*args, "--out", str(tmp_path / "c.csv")]).exit_code == 2


def test_finance_workbooks(tmp_path):
    """finance metrics and finance risk --format xlsx: metrics with units and the flows; the
    risk summary and tornado. NPV of -100, 30, 40, 50 at 6 %: 30/1.06 + 40/1.06² + 50/1.06³
    - 100 = 28.3019 + 35.5999 + 41.9810 - 100 = 5.8827."""
    out = tmp_path / "m" / "metrics.xlsx"
    res = runner.invoke(
        app, ["finance", "metrics", str(_flows(tmp_path)), "--rate", "0.06", "-f", "xlsx",
              "--out", str(out)],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    book = _workbook(out)
    metrics = {r[0]: r[1:] for r in book["metrics"][1:]}
    assert metrics["npv"][0] == pytest.approx(5.8827, abs=1e-4)
    assert metrics["irr"][1] == "1/yr" and metrics["payback_years"][1] == "yr"
    assert book["flows"][0] == ("period", "year", "flow [currency of the flows]")
    assert [r[2] for r in book["flows"][1:]] == [-100, 30, 40, 50]

    spec = {
        "revenue": [0, 30, 30, 30, 30, 30],
        "opex": 5,
        "capex": [100, 0, 0, 0, 0, 0],
        "rate": 0.06,
        "hurdle": 0.08,
        "drivers": [{"name": "price", "target": "revenue", "low": 0.6, "mode": 1, "high": 1.2}],
    }
    f = tmp_path / "risk.json"
    f.write_text(json.dumps(spec), encoding="utf-8")
    out = tmp_path / "r" / "risk.xlsx"
    args = ["finance", "risk", str(f), "--scenarios", "300"]
    res = runner.invoke(app, [*args, "--out", str(out)])
    assert res.exit_code == 0, res.output
    book = _workbook(out)
    doc = json.loads(runner.invoke(app, [*args, "-f", "json"]).stdout)
    summary = {r[0]: r[1] for r in book["summary"][1:]}
    assert summary["npv.p50"] == pytest.approx(doc["summary"]["npv"]["p50"], rel=1e-12)
    assert book["tornado"][1][0] == "price"


def test_fund_project_workbook(tmp_path):
    """fund project --out: the schedule year by year (numbers) and a summary."""
    from restora.planning.io import write_plan

    plan = tmp_path / "plan.yaml"
    write_plan(_load_costing_fixture(), plan)
    prod = tmp_path / "prod.csv"
    prod.write_text("year,output_t\n2025,100000\n2026,100000\n2027,100000\n", encoding="utf-8")
    out = tmp_path / "f" / "fund.xlsx"
    res = runner.invoke(
        app, ["fund", "project", str(plan), "--production", str(prod), "--liability-p50",
              "1200000", "--liability-p90", "1500000", "--out", str(out)],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    book = _workbook(out)
    head, *rows = book["schedule"]
    assert head[0] == "year" and [r[0] for r in rows] == [2025, 2026, 2027]
    summary = {r[0]: r[1] for r in book["summary"][1:]}
    assert summary["liability P50"] == 1_200_000 and summary["liability P90"] == 1_500_000


def test_mines_rank_workbook(tmp_path):
    """mines rank --out: ranking (every JSON column, units in headers), weights, tables."""
    from restora.store import Store

    url = f"sqlite:///{tmp_path / 'r.db'}"
    with Store(url) as store:
        store.add_register(_register(tmp_path), source={"files": []})
    out = tmp_path / "k" / "rank.xlsx"
    on = "2026-01-01"
    res = runner.invoke(app, ["mines", "rank", "--db", url, "--on", on, "--out", str(out)])
    assert res.exit_code == 0, res.output
    doc = json.loads(runner.invoke(app, ["mines", "rank", "--db", url, "--on", on, "-f", "json"])
                     .stdout)  # fmt: skip
    book = _workbook(out)
    head, *rows = book["ranking"]
    assert "damaged area [hm²]" in head and "distance to town [m]" in head
    assert [r[head.index("mine id")] for r in rows] == [r["mine_id"] for r in doc["ranking"]]
    # the attack texts as names are text in the ranking sheet too
    assert {r[head.index("name")] for r in rows} == set(ATTACKS[:3])
    levels = [r[0] for r in book["weights"][1:]]  # potential dropped: no context layers
    assert {"components", "damage", "risk"} <= set(levels)
    csv_out = runner.invoke(app, ["mines", "rank", "--db", url, "--on", on, "-f", "csv"]).stdout
    names = {r["name"] for r in csv.DictReader(csv_out.splitlines())}
    assert names == {"'" + t for t in ATTACKS[:3]}


def test_bom_flag_ends_with_its_command(tmp_path, capsys, monkeypatch):
    """--bom applies to its own command only: CSV printed afterwards in the same process (a
    module's app run directly, as some tests do) follows the rule again."""
    for name in ("RESTORA_CSV_BOM", "LC_ALL", "LC_CTYPE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LANG", "C.UTF-8")
    args = ["finance", "metrics", str(_flows(tmp_path)), "--rate", "0.06", "-f", "csv", "--bom"]
    assert runner.invoke(app, args).stdout_bytes.startswith(b"\xef\xbb\xbf")
    monkeypatch.setenv("LANG", "zh_CN.GB18030")  # before the reset: the BOM counted as written
    emit([{"a": 1}], Format.csv)
    assert capsys.readouterr().out == "\ufeffa\n1\n"
    emit([{"a": 1}], Format.csv)  # once: a second table of the same output has none
    assert capsys.readouterr().out == "a\n1\n"
