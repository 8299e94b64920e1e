"""The restoration fund: accruals by share of production, ledger, sufficiency."""

from __future__ import annotations

import textwrap

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from restora import refdata
from restora.costing.fund import load_rule, project_fund
from restora.costing.io import read_production
from restora.errors import InputError


def test_hand_worked_three_years():
    # L = 1.2 M CNY, reserves 600 kt, output 100 / 200 / 300 kt:
    # a1 = 1.2 M × 100/600 = 200,000; a2 = (1.2 M − 0.2 M) × 200/500 = 400,000;
    # a3 = (1.2 M − 0.6 M) × 300/300 = 600,000; balances 0.2 / 0.6 / 1.2 M
    p = project_fund(
        years=[2025, 2026, 2027],
        output_t=[100_000, 200_000, 300_000],
        reserves_t=600_000,
        liability_p50=1_200_000,
        liability_p90=1_500_000,
    )
    s = p.schedule
    assert s["accrual_cny"].tolist() == pytest.approx([200_000, 400_000, 600_000])
    assert s["balance_end_cny"].tolist() == pytest.approx([200_000, 600_000, 1_200_000])
    assert s["sufficiency_p50"].tolist() == pytest.approx([1 / 6, 0.5, 1.0])
    assert p.final_sufficiency_p90 == pytest.approx(0.8)  # 1.2 / 1.5
    assert len(p.warnings) == 1 and "P90" in p.warnings[0]


def test_draws_against_the_plan():
    # same mine, 300,000 spent on works in 2026: a2 = (1.2 M − 0.2 M) × 200/500 = 400,000,
    # balance 0.2 + 0.4 − 0.3 = 0.3 M; a3 = (0.9 M − 0.3 M) × 300/300 = 600,000 → 0.9 M
    # = the 0.9 M still to spend
    p = project_fund(
        years=[2025, 2026, 2027],
        output_t=[100_000, 200_000, 300_000],
        reserves_t=600_000,
        liability_p50=1_200_000,
        draws=[0, 300_000, 0],
    )
    s = p.schedule
    assert s["accrual_cny"].tolist() == pytest.approx([200_000, 400_000, 600_000])
    assert s["balance_end_cny"].tolist() == pytest.approx([200_000, 300_000, 900_000])
    assert p.final_sufficiency_p50 == pytest.approx(1.0)
    assert p.warnings == []


def test_warning_when_production_plan_leaves_reserves():
    # 300 kt of 600 kt mined: accruals 200,000 × 3 → balance 0.6 M of 1.2 M
    p = project_fund(
        years=[2025, 2026, 2027],
        output_t=[100_000] * 3,
        reserves_t=600_000,
        liability_p50=1_200_000,
    )
    assert p.final_sufficiency_p50 == pytest.approx(0.5)
    assert any("P50" in w and "50%" in w for w in p.warnings)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(1, 1e7), min_size=1, max_size=30),
    st.floats(1e3, 1e10),
    st.floats(0, 1),
)
def test_accruals_sum_to_liability_at_end_of_reserves(outputs, liability, opening_share):
    opening = liability * opening_share
    p = project_fund(
        years=list(range(2025, 2025 + len(outputs))),
        output_t=outputs,
        reserves_t=float(np.sum(outputs)),
        liability_p50=liability,
        opening_balance=opening,
    )
    assert opening + p.schedule["accrual_cny"].sum() == pytest.approx(liability, rel=1e-9)
    assert p.final_sufficiency_p50 == pytest.approx(1.0, rel=1e-9)


def test_output_beyond_reserves_is_an_input_error():
    with pytest.raises(InputError, match="exceeds the reserves"):
        project_fund(years=[1, 2], output_t=[5, 6], reserves_t=10, liability_p50=1)


def test_national_rule_and_a_provincial_revenue_rule(tmp_path, monkeypatch):
    assert load_rule(on="2024-01-01").method == "production_share"
    d = tmp_path / "costing" / "fund"
    d.mkdir(parents=True)
    (d / "accrual-rules.yaml").write_text(
        textwrap.dedent(
            """
            title: test province rule
            source: test fixture
            unit: "rate: 1"
            versions:
              - valid_from: 2020-01-01
                region: "140000"
                data: {method: revenue_rate, rate: 0.03, rule_code: FUND-TEST-REV}
            """
        ),
        encoding="utf-8",
    )
    monkeypatch.setenv("RESTORA_REFDATA_PATH", str(tmp_path))
    refdata.reload()
    try:
        rule = load_rule(on="2024-01-01", region="140105")
        assert (rule.method, rule.rate) == ("revenue_rate", 0.03)
        p = project_fund(
            years=[2025, 2026],
            output_t=[1, 1],
            reserves_t=2,
            liability_p50=100_000,
            revenue=[1_000_000, 2_000_000],
            rule=rule,
        )
        # 3 % of 1 M and 2 M
        assert p.schedule["accrual_cny"].tolist() == pytest.approx([30_000, 60_000])
        assert p.final_sufficiency_p50 == pytest.approx(0.9)
    finally:
        monkeypatch.delenv("RESTORA_REFDATA_PATH")
        refdata.reload()


def test_read_production_names_bad_cells(tmp_path):
    f = tmp_path / "prod.csv"
    f.write_text("年份,产量(t)\n2025,100\n2026,n/a\n", encoding="utf-8")
    with pytest.raises(InputError) as ei:
        read_production(str(f))
    p = ei.value.problems[0]
    assert (p.row, p.field) == (2, "output_t")


def test_draw_beyond_the_balance_is_a_shortfall():
    # year 1: accrual 1.2 M × 100/600 = 200,000; works of 500,000 that year: 200,000 paid
    # from the account, 300,000 shortfall; liability left 700,000, unfunded 700,000 →
    # year 2: 700,000 × 500/500 = 700,000 → balance 700,000 = liability left
    p = project_fund(
        years=[2025, 2026],
        output_t=[100_000, 500_000],
        reserves_t=600_000,
        liability_p50=1_200_000,
        draws=[500_000, 0],
    )
    s = p.schedule
    assert s["paid_from_account_cny"].tolist() == pytest.approx([200_000, 0])
    assert s["shortfall_cny"].tolist() == pytest.approx([300_000, 0])
    assert s["accrual_cny"].tolist() == pytest.approx([200_000, 700_000])
    assert p.final_sufficiency_p50 == pytest.approx(1.0)
    assert any(w.startswith("FUND-SHORTFALL") and "2025" in w for w in p.warnings)


def test_plan_draws_scale_the_profile_to_the_liability():
    from restora.costing.fund import plan_draws

    # profile 100 / 300 (sum 400) scaled to a liability of 800 → 200 / 600; 2027 has no works
    got = plan_draws([2025, 2026, 2027], {2025: 100.0, 2026: 300.0}, 800.0)
    assert got.tolist() == [200.0, 600.0, 0.0]
