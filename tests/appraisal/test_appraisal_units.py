"""Units of the appraisal pipeline: cash flows by hand, rights alignment, formatting, inputs."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from restora import refdata
from restora.appraisal.io import parse_project, read_project
from restora.appraisal.mapdata import map_data
from restora.appraisal.report import Fmt
from restora.appraisal.stages import cashflow, diagnosis
from restora.appraisal.stages.cost import CostResult
from restora.appraisal.stages.revenue import RevenueResult
from restora.cli import app
from restora.diagnosis.suitability import USES
from restora.errors import InputError
from restora.finance.instruments.pledge_loan import rights_from_streams
from restora.inventory.model import Register
from restora.revenue.streams import RevenueStream

PROJECTS = Path(__file__).resolve().parents[2] / "examples" / "demo-projects"
BASE = {
    "project_id": "P1",
    "name": "测试项目",
    "mines": ["M1"],
    "start_year": 2026,
    "horizon_years": 3,
    "discount_rate": 0.1,
    "hurdle_rate": 0.08,
}


def _spec(**kw: Any) -> Any:
    return parse_project({**BASE, **kw}, "<test>")


def _cost(capex: dict[int, float]) -> CostResult:
    """A cost result that carries only the nominal capex by year [CNY]."""
    return CostResult(
        price_year=2024,
        deterministic_cny=sum(capex.values()),
        p50_cny=0.0,
        p90_cny=0.0,
        capex_nominal=capex,
        capex_factors=np.ones(1),
        report={},
    )


def _revenue(rows: list[tuple[int, float, float]]) -> RevenueResult:
    """(year, unrestricted revenue, earmarked) rows as two streams [CNY]."""
    free = _stream("free", "operations", [y for y, _, _ in rows], [r for _, r, _ in rows])
    ear = _stream("ear", "materials", [y for y, _, _ in rows], [e for _, _, e in rows], "fund")
    return RevenueResult(streams=(free, ear))


def test_cash_flows_by_hand():
    spec = _spec()
    cost = _cost({2026: 100.0, 2031: 7.0})
    revenue = _revenue(
        [
            (2027, 60.0, 5.0),
            (2028, 60.0, 0.0),
            (2029, 60.0, 0.0),
            (2030, 9.0, 0.0),  # after the horizon
        ]
    )
    cf = cashflow.run(spec, cost, revenue).to_json()
    assert [r["project_flow_cny"] for r in cf["rows"]] == [-100.0, 60.0, 60.0, 60.0]
    # NPV = -100 + 60/1.1 + 60/1.21 + 60/1.331 = -100 + 54.5455 + 49.5868 + 45.0789 = 49.2111
    assert cf["npv_cny"] == pytest.approx(49.2111, abs=1e-4)
    irr = cf["irr"]
    assert sum(f / (1 + irr) ** t for t, f in enumerate([-100, 60, 60, 60])) == pytest.approx(
        0, abs=1e-8
    )
    assert cf["payback_years"] == pytest.approx(1 + 40 / 60)  # 100 repaid 1⅔ years in
    assert cf["rows"][1]["earmarked_cny"] == 5.0  # shown apart, not in the flow
    assert cf["revenue_outside_horizon_cny"] == 9.0
    assert cf["total_capex_cny"] == 100.0  # the 2031 cost falls after the horizon
    assert cf["capex_outside_horizon_cny"] == 7.0


def test_opex_starts_with_revenue():
    spec = _spec(opex_cny_per_yr=10.0)
    rows = cashflow.run(spec, _cost({2026: 50.0}), _revenue([(2028, 40.0, 0.0)])).to_json()["rows"]
    assert [r["opex_cny"] for r in rows] == [0.0, 0.0, 10.0, 10.0]
    assert [r["project_flow_cny"] for r in rows] == [-50.0, 0.0, 30.0, -10.0]


def _stream(
    name: str, kind: str, years: list[int], rev: list[float], earmark: str | None = None
) -> RevenueStream:
    y = np.asarray(years)
    r = np.asarray(rev, dtype=float)
    return RevenueStream(name, kind, y, np.ones_like(r), "1", r, r, r, r, earmark)


def test_pledged_rights_align_to_instrument_years():
    streams = [
        _stream("carbon", "carbon", [2027, 2029, 2040], [10.0, 20.0, 99.0]),
        _stream("rent", "land_rights", [2026, 2027], [5.0, 6.0]),
        _stream("stone", "materials", [2027], [50.0], earmark="restoration_account"),
        _stream("grant", "subsidy", [2027], [80.0]),  # fiscal funds for the works: not pledgeable
    ]
    rights = rights_from_streams(streams, 2027, 3)
    # year 1 = 2027: carbon [10, 0, 20] (2040 beyond the tenor); rent [6, 0, 0]; stone earmarked
    assert rights == [
        {"name": "carbon", "kind": "carbon_sink", "revenue": [10.0, 0.0, 20.0]},
        {"name": "rent", "kind": "other", "revenue": [6.0, 0.0, 0.0]},
    ]


def test_every_after_use_has_a_land_class_and_ecosystem_type():
    from restora.valuation.esv import AFTER_USE_TABLE, cover_after
    from restora.valuation.landcover import KEEP_CURRENT

    table = refdata.get(AFTER_USE_TABLE)
    assert table.source and table.unit
    types, _ = cover_after({u: u for u in USES})
    assert types["forest"] == "mixed_forest" and types["water"] == "water"
    assert types["construction"] is None  # built-up: no equivalent factor
    assert types["leave_as_is"] == KEEP_CURRENT  # keeps its current cover
    assert all(t is not None for u, t in types.items() if u != "construction")


@settings(max_examples=200, deadline=None)
@given(
    st.floats(-1e12, 1e12, allow_nan=False),
    st.sampled_from([1.0, 100.0, 1e-4, 1e-6]),
    st.integers(0, 3),
)
def test_printed_figures_round_trip(value, scale, decimals):
    html = Fmt("zh").num(value, scale=scale, decimals=decimals)
    m = re.fullmatch(
        r'<span class="n" data-scale="([^"]+)" data-decimals="(\d)">([^<]+)</span>', html
    )
    assert m and float(m.group(1)) == scale and int(m.group(2)) == decimals
    printed = float(m.group(3).replace(",", ""))
    assert (
        abs(printed - value * scale)
        <= 0.5 * 10**-decimals * (1 + 1e-9) + 1e-6 * abs(value * scale) * 1e-9
    )


def test_money_units_by_language():
    assert ">1,234.6<" in Fmt("zh").money(12_345_678)  # 万元: 12 345 678 / 10⁴
    assert ">12.35<" in Fmt("en").money(12_345_678)  # million CNY
    assert Fmt("en").num(None) == "–"
    assert ">0.0<" in Fmt("zh").money(-1.0)  # no "-0.0"


def test_project_errors_name_the_field(tmp_path):
    with pytest.raises(InputError) as e:
        parse_project({**BASE, "mines": []}, "p.yaml")
    assert e.value.problems[0].field == "mines" and e.value.problems[0].file == "p.yaml"
    bad = {
        **BASE,
        "risk": {"drivers": [{"name": "x", "target": "capex", "low": 2, "mode": 1, "high": 3}]},
    }
    with pytest.raises(InputError) as e:
        parse_project(bad, "p.yaml")
    assert e.value.problems[0].field.startswith("risk.drivers.0")
    f = tmp_path / "p.yaml"
    f.write_text("project_id: [unclosed\n", encoding="utf-8")
    with pytest.raises(InputError) as e:
        read_project(f)
    assert e.value.problems[0].file == str(f)


def test_demo_projects_are_valid():
    files = sorted(PROJECTS.glob("*.yaml"))
    assert len(files) >= 3
    for f in files:
        spec, meta = read_project(f)
        assert spec.mines and meta["sha256"]


def test_unknown_mine_is_an_input_error():
    reg = Register.empty()
    mines = pd.DataFrame({c: [None] for c in reg.mines.columns})
    mines["mine_id"] = ["M1"]
    reg = Register(mines, reg.sites, reg.samples, reg.hazards)
    with pytest.raises(InputError) as e:
        diagnosis.run(_spec(mines=["M1", "M9"]), reg, None, file="p.yaml")  # type: ignore[arg-type]
    p = e.value.problems[0]
    assert (p.file, p.field) == ("p.yaml", "mines.1") and "M9" in p.message


def test_appraise_cli_bad_inputs_exit_2(tmp_path):
    runner = CliRunner()
    f = tmp_path / "p.yaml"
    f.write_text("project_id: P\nmines: []\n", encoding="utf-8")
    res = runner.invoke(app, ["appraise", str(f), "--county", str(tmp_path)])
    assert res.exit_code == 2 and "p.yaml" in res.output
    res = runner.invoke(app, ["appraise", str(tmp_path / "none.yaml")])
    assert res.exit_code == 2
    good = PROJECTS / "QS-M28.yaml"
    res = runner.invoke(app, ["appraise", str(good), "--county", str(tmp_path), "--lang", "fr"])
    assert res.exit_code == 2 and "--lang" in res.output
    res = runner.invoke(app, ["appraise", str(good), "--county", str(tmp_path)])
    assert res.exit_code == 2 and "register.gpkg" in res.output  # missing county files


def test_map_data_projects_sites_and_keeps_other_mines():
    # two 0.01° squares near 112.9°E 27.6°N (lon/lat storage CRS)
    sq = [shapely.box(112.90, 27.60, 112.91, 27.61), shapely.box(112.95, 27.60, 112.96, 27.61)]
    sites = pd.DataFrame(
        {
            "site_id": ["A-S1", "B-S1"],
            "mine_id": ["A", "B"],
            "kind": ["open_pit", "road"],
            "geometry": sq,
        }
    )
    ctx = {"crs": "EPSG:4547"}
    m = map_data(sites, ctx, ["A"])
    assert m is not None and [s["site_id"] for s in m["sites"]] == ["A-S1"]
    ring = np.asarray(m["sites"][0]["geometry"]["coordinates"][0])
    # ≈ 0.01° × 0.01° at 27.6°N: ≈ 987 m × 1 108 m in metres (Gauss-Krüger)
    assert 900 < np.ptp(ring[:, 0]) < 1100 and 1000 < np.ptp(ring[:, 1]) < 1200
    assert [o["mine_id"] for o in m["other_mines"]] == ["B"]
    assert map_data(sites, {}, ["A"]) is None


@settings(max_examples=60, deadline=None)
@given(
    capex=st.dictionaries(st.integers(2020, 2040), st.floats(0, 1e9), max_size=6),
    revenue=st.dictionaries(
        st.integers(2020, 2040), st.tuples(st.floats(0, 1e9), st.floats(0, 1e8)), max_size=6
    ),
    rate=st.floats(0, 0.3),
)
def test_cash_flows_conserve_money(capex, revenue, rate):
    """Inside the horizon every yuan of capex and free revenue is in the flows, once; earmarked
    money never is; what falls outside is reported, not dropped silently."""
    spec = _spec(horizon_years=10, discount_rate=rate)
    rev = _revenue([(y, r, e) for y, (r, e) in revenue.items()])
    cf = cashflow.run(spec, _cost(capex), rev).to_json()
    inside = range(2026, 2037)
    flows = [r["project_flow_cny"] for r in cf["rows"]]
    exp_rev = sum(r for y, (r, _) in revenue.items() if y in inside)
    exp_cap = sum(v for y, v in capex.items() if y in inside)
    assert sum(flows) == pytest.approx(exp_rev - exp_cap, rel=1e-9, abs=1e-3)
    assert sum(r["earmarked_cny"] for r in cf["rows"]) == pytest.approx(
        sum(e for y, (_, e) in revenue.items() if y in inside), abs=1e-3
    )
    assert cf["revenue_outside_horizon_cny"] == pytest.approx(
        sum(r for y, (r, _) in revenue.items() if y not in inside), abs=1e-3
    )
    npv = sum(f / (1 + rate) ** t for t, f in enumerate(flows))
    assert cf["npv_cny"] == pytest.approx(npv, rel=1e-9, abs=1e-3)
    assert cf["capex_outside_horizon_cny"] == pytest.approx(
        sum(v for y, v in capex.items() if y not in inside), abs=1e-3
    )


def test_read_county_skips_rejected_rows_only_when_allowed_and_says_so(tmp_path):
    import shutil

    from restora.appraisal.io import read_county

    demo = PROJECTS.parent / "demo-county"
    for name in ("register.gpkg", "hazards.csv", "context.gpkg"):
        shutil.copy(demo / name, tmp_path / name)
    samples = pd.read_csv(demo / "soil_samples.csv", dtype=str, keep_default_na=False)
    samples.loc[4, "Cd"] = "n.a."  # not a number, and not a non-detect marker
    samples.to_csv(tmp_path / "soil_samples.csv", index=False)
    files = [tmp_path / f for f in ("register.gpkg", "soil_samples.csv", "hazards.csv")]
    with pytest.raises(InputError):
        read_county(files, None, allow_skip=False)
    county = read_county(files, tmp_path / "context.gpkg")
    assert len(county.skipped_rows) == 1
    row = county.skipped_rows[0]
    assert (row["row"], row["field"]) == (5, "Cd") and "soil_samples.csv" in row["file"]
    assert "skipped" in county.notes[0]
    assert len(county.register.samples) == len(samples) - 1
    assert {"towns", "county_boundary", "crs"} <= set(county.context)
    assert [len(i["sha256"]) for i in county.inputs] == [64] * 4


def test_rates_default_from_the_reference_table_and_say_so():
    """A project without rates takes them from appraisal/project-defaults (SL 72-2013 6 %,
    《建设项目经济评价方法与参数》 8 %) and says so; a project's own rates win."""
    from restora.appraisal.project import DEFAULTS_TABLE, with_defaults

    bare = parse_project({k: v for k, v in BASE.items() if not k.endswith("_rate")}, "<t>")
    assert bare.discount_rate is None
    with pytest.raises(ValueError, match="with_defaults"):
        _ = bare.rates
    spec, rates = with_defaults(bare, on="2026-01-01")
    table = refdata.get(DEFAULTS_TABLE, on="2026-01-01")
    assert spec.rates == (table.data["discount_rate"], table.data["hurdle_rate"]) == (0.06, 0.08)
    assert rates["discount_rate"]["source"].startswith(DEFAULTS_TABLE)
    assert rates["table"]["name"] == DEFAULTS_TABLE
    own, rates = with_defaults(_spec(), on="2026-01-01")
    assert own.rates == (0.1, 0.08) and rates["discount_rate"]["source"] == "project file"
    assert "table" not in rates


def test_sites_with_samples_that_cannot_be_zoned_are_named_with_the_reason():
    """Before, the appraisal dropped such sites from zoning without a word."""
    from restora.appraisal.stages.diagnosis import _unzoned

    sites = pd.DataFrame({"site_id": ["S1", "S2", "S3", "S4"]})
    samples = pd.DataFrame(
        {
            "site_id": ["S1", "S2", "S3"],
            "lon": [112.9, None, 112.9],
            "lat": [27.6, None, 27.6],
            "land_use": ["paddy", "paddy", None],
        }
    )
    out = _unzoned(sites, samples, zoned={"S1"})
    assert out == (
        {"site_id": "S2", "reason": "its samples have no coordinates"},
        {
            "site_id": "S3",
            "reason": "its samples give no GB 15618-2018 land use (paddy, orchard, other)",
        },
    )


def test_revenue_reads_the_carbon_price_in_force_on_the_appraisal_date():
    """The revenue stage used today's tables whatever the appraisal's date: an appraisal dated
    2025-06-01 priced carbon with the CCER table published 2026-01-01."""
    from restora.appraisal.stages import revenue
    from restora.errors import RestoraError

    spec = _spec(
        revenue_streams=[
            {"stream": "carbon", "name": "c", "start_year": 2027, "sequestration": [100, 100],
             "baseline": [0], "buffer_share": 0.1, "crediting_years": 2,
             "verification_interval_years": 1,
             "issuance_lag_years": 0, "market": "ccer"}
        ]
    )  # fmt: skip
    ok = revenue.run(spec, on="2026-06-01")
    assert ok.streams[0].price[0] == pytest.approx(70.76)  # revenue/prices/ccer 2026-01-01
    with pytest.raises(RestoraError, match="revenue/prices/ccer"):
        revenue.run(spec, on="2025-06-01")


def test_cost_and_cash_flow_draws_come_from_independent_streams():
    """The cost report draws from default_rng(seed) and the risk engine drew its drivers from
    default_rng(SeedSequence(seed)) — the very same numbers; the risk stage now draws from a
    spawned child of the project's seed."""
    from restora.appraisal.stages.risk import risk_seed

    seed = 18
    cost_u = np.random.default_rng(seed).random(1000)
    same = np.random.default_rng(np.random.SeedSequence(seed)).random(1000)
    assert np.array_equal(cost_u, same)  # what the two runs shared before
    drivers_u = np.random.default_rng(np.random.SeedSequence(risk_seed(seed))).random(1000)
    assert not np.array_equal(cost_u, drivers_u)
    assert abs(np.corrcoef(cost_u, drivers_u)[0, 1]) < 0.1  # 1000 draws: sd of r ≈ 0.03
