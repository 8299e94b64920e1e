"""Policy effect (restora.evaluation.policy): a synthetic panel with a known effect is
recovered within its interval, a placebo's interval covers 0, the 2×2 DiD by hand, the
two-way fixed effects against statsmodels' full dummy regression, the pre-trend and
few-clusters warnings, bad panels refused."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from restora.errors import InputError
from restora.evaluation.policy import Panel, before_after, did


def _synthetic(
    effect: float,
    *,
    regions: int = 40,
    treated: int = 20,
    years: range = range(2014, 2024),
    start: int = 2019,
    pre_trend: float = 0.0,
    seed: int = 7,
) -> Panel:
    """share_rt = a_r + 0.01·(t − 2014) + effect·D_rt + pre_trend·T_r·(t − 2014) + e_rt,
    a_r ~ N(0.2, 0.05), e ~ N(0, 0.02)."""
    rng = np.random.default_rng(seed)
    rows = []
    for r in range(regions):
        level = rng.normal(0.2, 0.05)
        adopting = r < treated
        for t in years:
            y = level + 0.01 * (t - 2014) + rng.normal(0, 0.02)
            y += effect * (adopting and t >= start) + pre_trend * adopting * (t - 2014)
            rows.append((f"R{r:02d}", t, adopting, y))
    region, period, flag, share = zip(*rows, strict=True)
    return Panel.build(share, region, period, flag)


def test_a_known_effect_is_recovered_within_its_interval():
    effect = did(_synthetic(0.05), 2019)
    e = effect.estimate
    assert e.ci_low < 0.05 < e.ci_high
    assert e.ci_low > 0  # and the effect is told from zero
    assert e.df == 39  # t with G − 1 = 40 − 1 degrees of freedom
    assert effect.did_2x2 is not None and effect.did_2x2.ci_low < 0.05 < effect.did_2x2.ci_high
    codes = {w.code for w in effect.warnings}
    assert "DID-PRETREND" not in codes and "DID-FEW-CLUSTERS" not in codes
    assert {a.code for a in effect.assumptions} >= {
        "DID-A-PARALLEL",
        "DID-A-NO-ANTICIPATION",
        "DID-A-SUTVA",
    }
    assert [lead.event_time for lead in effect.leads] == [-5, -4, -3, -2]


def test_a_placebo_interval_covers_zero():
    e = did(_synthetic(0.0, seed=11), 2019).estimate
    assert e.ci_low < 0 < e.ci_high


def test_two_by_two_by_hand(tmp_path):
    # treated A 0.1 -> 0.4, B 0.2 -> 0.5: means 0.15 -> 0.45, change 0.30
    # control C 0.1 -> 0.2, D 0.3 -> 0.4: means 0.20 -> 0.30, change 0.10
    # DiD = 0.30 - 0.10 = 0.20; with two years the TWFE δ is the same
    frame = pd.read_csv(_data("panel_2x2.csv"))
    panel = Panel.build(frame.share, frame.region, frame.year, frame.treated.astype(bool))
    effect = did(panel, 2019)
    assert effect.did_2x2 is not None
    assert effect.did_2x2.effect == pytest.approx(0.20, abs=1e-12)
    assert effect.estimate.effect == pytest.approx(0.20, abs=1e-12)
    assert effect.means == pytest.approx(
        {"treated_before": 0.15, "treated_after": 0.45, "control_before": 0.2, "control_after": 0.3}
    )
    codes = {w.code for w in effect.warnings}
    assert {"DID-FEW-CLUSTERS", "DID-FEW-TREATED", "DID-NO-PRETREND-TEST"} <= codes


def test_twfe_equals_the_full_dummy_regression():
    import statsmodels.formula.api as smf

    panel = _synthetic(0.05, regions=12, treated=5, years=range(2016, 2022), seed=3)
    frame = pd.DataFrame(
        {
            "y": panel.outcome,
            "region": panel.region.astype(str),
            "year": panel.period,
            "d": ((panel.treated) & (panel.period >= 2019)).astype(float),
        }
    )
    codes = pd.factorize(frame.region)[0]
    full = smf.ols("y ~ d + C(region) + C(year)", frame).fit(
        cov_type="cluster", cov_kwds={"groups": codes}, use_t=True
    )
    ours = did(panel, 2019).estimate
    assert ours.effect == pytest.approx(full.params["d"], rel=1e-10)
    # same CR1 sandwich; the dummy regression counts the 12 region effects in K (N − K
    # smaller), ours does not (nested in the clusters): SE ratio sqrt((N − K_full)/(N − K_ours))
    n = len(frame)
    k_full, k_ours = 1 + 12 + 5, 1 + 5  # d, regions (with the constant), years − 1
    ratio = np.sqrt((n - k_full) / (n - k_ours))
    assert ours.std_error == pytest.approx(full.bse["d"] * ratio, rel=1e-9)


def test_the_bootstrap_agrees_on_a_strong_effect_and_a_placebo():
    strong = did(_synthetic(0.05, regions=16, treated=8), 2019, bootstrap=999, seed=1)
    assert strong.bootstrap is not None
    assert strong.bootstrap.p_value < 0.01
    assert strong.bootstrap.ci_low < 0.05 < strong.bootstrap.ci_high
    assert "Rademacher" in strong.bootstrap.inference
    placebo = did(_synthetic(0.0, regions=10, treated=5, seed=5), 2019, bootstrap=999, seed=1)
    assert placebo.bootstrap is not None
    assert placebo.bootstrap.ci_low < 0 < placebo.bootstrap.ci_high
    assert "Webb six-point" in placebo.bootstrap.inference
    assert "DID-FEW-CLUSTERS" in {w.code for w in placebo.warnings}


def test_a_pre_trend_is_flagged():
    effect = did(_synthetic(0.0, pre_trend=0.01), 2019)
    assert effect.pretrend_test is not None and effect.pretrend_test["p_value"] < 0.05
    assert "DID-PRETREND" in {w.code for w in effect.warnings}


def test_before_after_on_a_balanced_panel_is_the_difference_of_means():
    # adopting A, B only: before mean 0.15, after mean 0.45 -> 0.30
    frame = pd.read_csv(_data("panel_2x2.csv"))
    panel = Panel.build(frame.share, frame.region, frame.year, frame.treated.astype(bool))
    effect = before_after(panel, 2019)
    assert effect.estimate.effect == pytest.approx(0.30, abs=1e-12)
    assert effect.means == pytest.approx({"before": 0.15, "after": 0.45})
    assert effect.n_regions == 2 and effect.n_control_regions == 0
    assert "BA-NO-CONTROL" in {w.code for w in effect.warnings}


def test_bad_panels_are_refused():
    with pytest.raises(InputError, match="again"):
        Panel.build([1, 2], ["A", "A"], [2019, 2019], [True, True])
    with pytest.raises(InputError, match="per region") as err:
        Panel.build([1, 2], ["A", "A"], [2018, 2019], [True, False])
    assert err.value.problems[0].row == 2
    panel = Panel.build([1, 2, 3, 4], ["A", "A", "B", "B"], [2018, 2019] * 2, [1, 1, 1, 1])
    with pytest.raises(InputError, match="non-adopting"):
        did(panel, 2019)
    with pytest.raises(InputError, match="no year before"):
        did(panel, 2018)
    with pytest.raises(InputError, match="no year from"):
        did(panel, 2020)
    nobody = Panel.build([1, 2, 3, 4], ["A", "A", "B", "B"], [2018, 2019] * 2, [0, 0, 0, 0])
    with pytest.raises(InputError, match="no adopting region"):
        before_after(nobody, 2019)


def _data(name: str):
    from pathlib import Path

    return Path(__file__).resolve().parents[1] / "data" / "evaluation" / name
