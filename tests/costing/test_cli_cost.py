"""``restora cost estimate`` / ``cost tiers`` / ``fund project`` end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from restora.cli import app
from restora.planning.io import write_plan

runner = CliRunner()


def test_cost_estimate_json_contract(tmp_path, hand_plan):
    f = tmp_path / "plan.yaml"
    write_plan(hand_plan, f)
    chart = tmp_path / "tornado.png"
    args = ["cost", "estimate", str(f), "--draws", "300", "--seed", "1", "--format", "json"]
    r = runner.invoke(app, [*args, "--chart", str(chart)])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    for key in (
        "total_p50_cny",
        "total_p90_cny",
        "by_phase",
        "by_item",
        "price_year",
        "tables_used",
    ):
        assert key in doc
    assert doc["price_year"] == 2023
    # direct 1,892,725.594 + indirect 776,019 (hand-worked in test_lifecycle.py)
    assert doc["total"]["deterministic_cny"] == pytest.approx(2_668_744.594, abs=0.001)
    assert doc["total_p50_cny"] <= doc["total_p90_cny"]
    assert chart.stat().st_size > 1000
    again = json.loads(runner.invoke(app, args).stdout)
    assert again["total_p90_cny"] == doc["total_p90_cny"]  # same seed, same result
    # provenance: 1,396,000 of the 1,892,725.594 direct cost is priced with judgement rows
    assert doc["unsourced_direct_cny"] == pytest.approx(1_396_000)
    assert doc["unsourced_direct_share"] == pytest.approx(1_396_000 / 1_892_725.594)
    assert "slope_cutting" in doc["unsourced_items"] and "pit_filling" not in doc["unsourced_items"]
    pit, slope = doc["by_item"]["pit_filling"], doc["by_item"]["slope_cutting"]
    assert pit["unit_cost_sourced"] and pit["unit_cost_price_year"] == 2020
    assert "压实" in pit["unit_cost_source"] and pit["unit_cost_region"] == "000000"
    assert not slope["unit_cost_sourced"]


def test_cost_estimate_table_names_the_judgement_items(tmp_path, hand_plan):
    f = tmp_path / "plan.yaml"
    write_plan(hand_plan, f)
    r = runner.invoke(app, ["cost", "estimate", str(f), "--draws", "50"])
    assert r.exit_code == 0, r.output
    # 1,396,000 / 1,892,725.594 = 73.8 %
    assert "74% of the direct cost" in r.stderr and "slope_cutting" in r.stderr
    assert "TOTAL" in r.stdout


def test_cost_estimate_bad_plan_exits_2(tmp_path):
    f = tmp_path / "plan.yaml"
    f.write_text("mine_id: X\nprice_year: 2023\nstart_year: 2025\nmine_works:\n"
                 "  - {item: nope, quantity: 1, unit: m3, phase: monitoring}\n", encoding="utf-8")  # fmt: skip
    r = runner.invoke(app, ["cost", "estimate", str(f), "--draws", "10"])
    assert r.exit_code == 2
    assert "mine_works.0" in r.output and "item" in r.output


def test_cost_tiers_colorado():
    r = runner.invoke(
        app,
        ["cost", "tiers", "234415", "--tiers", "colorado-drms-m1977410", "--on", "2021-06-01",
         "--format", "json"],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["grand_total"] == 336_799


def test_fund_project(tmp_path, hand_plan):
    f = tmp_path / "plan.yaml"
    write_plan(hand_plan, f)
    prod = tmp_path / "prod.csv"
    prod.write_text("year,output_t\n2025,100000\n2026,200000\n2027,300000\n", encoding="utf-8")
    r = runner.invoke(
        app,
        ["fund", "project", str(f), "--production", str(prod), "--liability-p50", "1200000",
         "--liability-p90", "1500000", "--format", "json"],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert [row["accrual_cny"] for row in doc["schedule"]] == [200_000, 400_000, 600_000]
    assert doc["final_sufficiency_p90"] == 0.8
    assert doc["warnings"] and doc["rule"]["rule_code"] == "FUND-CN-2017-PRODSHARE"
    # liabilities from the Monte Carlo when not given: accruals sum to the P50
    r = runner.invoke(
        app, ["fund", "project", str(f), "--production", str(prod), "--draws", "500", "-f", "json"]
    )
    doc = json.loads(r.stdout)
    assert sum(row["accrual_cny"] for row in doc["schedule"]) == pytest.approx(
        doc["liability_p50_cny"]
    )


def test_fund_bad_production_exits_2(tmp_path, hand_plan):
    f = tmp_path / "plan.yaml"
    write_plan(hand_plan, f)
    prod = tmp_path / "prod.csv"
    prod.write_text("year,output_t\n2025,abc\n", encoding="utf-8")
    r = runner.invoke(app, ["fund", "project", str(f), "--production", str(prod)])
    assert r.exit_code == 2
    assert "row 1" in r.output and "output_t" in r.output


def test_fund_draws_from_plan(tmp_path, hand_plan):
    f = tmp_path / "plan.yaml"
    write_plan(hand_plan, f)
    prod = tmp_path / "prod.csv"
    rows = ["year,output_t", "2025,100000", "2026,200000", "2027,300000", "2028,0", "2029,0"]
    prod.write_text("\n".join(rows) + "\n", encoding="utf-8")
    args = ["fund", "project", str(f), "--production", str(prod), "--draws-from-plan"]
    r = runner.invoke(app, [*args, "--liability-p50", "2701786", "--liability-p90", "3000000",
                            "-f", "json"])  # fmt: skip
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    # the plan's works span 2025-2029: all of the P50 liability is drawn in the projection
    assert sum(row["draw_cny"] for row in doc["schedule"]) == pytest.approx(2_701_786)
    assert doc["final_sufficiency_p50"] == 1.0
    assert any(w.startswith("FUND-SHORTFALL") for w in doc["warnings"])


# --------------------------------------------------- the store feeds cost estimate (issue 12)
DEMO = Path(__file__).resolve().parents[2] / "examples" / "demo-county"
PLAN_ARGS = ["--price-year", "2023", "--start-year", "2027", "--on", "2026-01-01"]
TWO = ("QS-M01", "QS-M09")


@pytest.fixture(scope="module")
def two_mines(tmp_path_factory):
    """Two demo-county mines with their sites, samples and hazards in a SQLite store."""
    from restora.inventory.io import read_register
    from restora.inventory.model import Register
    from restora.store import Store

    files = [DEMO / "register.gpkg", DEMO / "soil_samples.csv", DEMO / "hazards.csv"]
    county, _ = read_register(files, lonlat_wgs84=True)
    tables = (county.mines, county.sites, county.samples, county.hazards)
    two = Register(*(t[t["mine_id"].isin(TWO)].reset_index(drop=True) for t in tables))
    url = f"sqlite:///{tmp_path_factory.mktemp('two') / 'store.db'}"
    with Store(url) as store:
        store.add_register(two)
    return url


def test_cost_of_mines_from_the_store_equals_the_cost_of_their_plan_files(two_mines, tmp_path):
    """`cost estimate --mine` plans as `plan make` does: the same figures as costing the plan
    files `plan make --out` wrote (before, mines were positional ids and there was no --all)."""
    files = []
    for m in TWO:
        out = tmp_path / f"{m}.yaml"
        r = runner.invoke(app, ["plan", "make", m, "--db", two_mines, "--out", str(out),
                                *PLAN_ARGS, "-f", "json"])  # fmt: skip
        assert r.exit_code == 0, r.output
        files.append(str(out))
    cost = ["cost", "estimate", "--draws", "200", "-f", "json", *PLAN_ARGS]
    r = runner.invoke(app, [*cost, *files])
    assert r.exit_code == 0, r.output
    from_files = json.loads(r.stdout)
    by_mine = [a for m in TWO for a in ("--mine", m)]
    r = runner.invoke(app, [*cost, *by_mine, "--db", two_mines])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout) == from_files
    r = runner.invoke(app, [*cost, "--all", "--db", two_mines])
    assert r.exit_code == 0, r.output
    every = json.loads(r.stdout)
    assert every == from_files and every["mines"] == list(TWO)
    assert every["total"]["deterministic_cny"] > 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["QS-M01"], "no such plan file; to plan mine 'QS-M01' from the store give --mine QS-M01"),
        (["missing.yaml"], "missing.yaml: no such plan file"),
        ([], "nothing to read: give PLANS, or --mine ID"),
        (["PLAN", "--mine", "QS-M01"], "not PLANS and --mine"),
        (["--mine", "QS-M01", "--all"], "not --mine and --all"),
        (["--mine", "QS-M02"], "not in the register of the store"),
    ],
)
def test_cost_estimate_sources_exit_2(two_mines, tmp_path, hand_plan, args, message):
    plan = tmp_path / "plan.yaml"
    write_plan(hand_plan, plan)
    args = [str(plan) if a == "PLAN" else a for a in args]
    r = runner.invoke(app, ["cost", "estimate", *args], env={"RESTORA_DATABASE_URL": two_mines})
    assert r.exit_code == 2, r.output
    assert message in r.stderr
