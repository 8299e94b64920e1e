"""restora.monitoring.rules against hand calculations and scipy: threshold levels (a value equal
to a level is within it), hysteresis, rates per hour, Theil-Sen slope (Sen 1968), Mann-Kendall
S, variance, Z and p (Mann 1945; Kendall 1975), rule parameter validation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from restora.errors import InputError
from restora.monitoring import rules as R


def test_threshold_levels_above_below_outside() -> None:
    lv = R.threshold_level([9.9, 10.0, 10.1, 20.0, 20.1], warning=10, alarm=20)
    assert lv.tolist() == [0, 0, 1, 1, 2]  # equal to a level complies
    lv = R.threshold_level([6.1, 6.0, 5.9, 5.0, 4.9], warning=6, alarm=5, direction="below")
    assert lv.tolist() == [0, 0, 1, 1, 2]
    # pH, GB 3838 6-9 warning, Restora alarm 5 / 10
    lv = R.threshold_level(
        [4.9, 5.5, 6.0, 9.0, 9.5, 10.1],
        warning=9,
        alarm=10,
        warning_low=6,
        alarm_low=5,
        direction="outside",
    )
    assert lv.tolist() == [2, 1, 0, 0, 1, 2]
    lv = R.threshold_level([5.0, 25.0], warning=None, alarm=20)  # alarm only
    assert lv.tolist() == [0, 2]


def test_threshold_verdict_and_hysteresis() -> None:
    rule = R.make_rule(
        "R", "threshold", "sw_ph", "warning",
        {"direction": "outside", "warning": 9, "warning_low": 6, "alarm_low": 5, "clear_margin": 0.5},
    )  # fmt: skip
    v = R.evaluate(rule, [0], [5.8])
    assert (v.level, v.threshold, v.clear) == (1, 6.0, False)
    v = R.evaluate(rule, [0], [4.8])
    assert (v.level, v.threshold) == (2, 5.0)
    v = R.evaluate(rule, [0], [9.2])
    assert (v.level, v.threshold) == (1, 9.0)
    # inside [6 + 0.5, 9 - 0.5] = [6.5, 8.5] to clear
    assert [R.evaluate(rule, [0], [x]).clear for x in (6.4, 6.5, 8.5, 8.6)] == [
        False,
        True,
        True,
        False,
    ]
    manual = R.make_rule("R", "threshold", "x", "alarm", {"alarm": 1, "auto_resolve": False})
    assert R.evaluate(manual, [0], [0.0]).clear is False


def test_consecutive_and_window_rates() -> None:
    # 10 -> 11 mm in 30 min = 2 mm/h; 11 -> 14 mm in 60 min = 3 mm/h
    assert R.consecutive_rates([0, 1800, 5400], [10, 11, 14]).tolist() == [2.0, 3.0]
    with pytest.raises(ValueError, match="increase"):
        R.consecutive_rates([0, 0], [1, 2])
    t = [0, 1200, 2400, 3600, 4800]
    v = [0.0, 1.0, 2.0, 3.0, 6.0]
    # window 1 h ending at 4800 s starts at 1200 s: (6 - 1) mm / (3600 s) = 5 mm/h
    assert R.window_rate(t, v, 3600) == pytest.approx(5.0)
    # a window longer than the series uses the oldest reading: 6 mm / 4800 s = 4.5 mm/h
    assert R.window_rate(t, v, 86400) == pytest.approx(4.5)
    assert R.window_rate([0], [1], 60) is None


def test_rate_verdict_direction() -> None:
    up = R.make_rule("R", "rate", "slope_displacement", "warning", {"warning": 2, "alarm": 5})
    down = R.make_rule("R", "rate", "gw_level", "warning", {"warning": 2, "direction": "decrease"})
    both = R.make_rule("R", "rate", "x", "warning", {"warning": 2, "direction": "either"})
    t, v = [0, 3600], [10.0, 7.0]  # -3 per hour
    assert R.evaluate(up, t, v).level == 0
    assert R.evaluate(down, t, v).level == 1 and R.evaluate(down, t, v).value == -3.0
    assert R.evaluate(both, t, v).level == 1
    assert R.evaluate(up, [0, 3600], [0.0, 5.0]).level == 1  # 5 mm/h: equal to the alarm
    assert R.evaluate(up, [0, 3600], [0.0, 5.5]).level == 2
    assert R.evaluate(up, [0], [0.0]).level == 0  # one reading: no rate


def test_theil_sen_by_hand_and_scipy() -> None:
    # t = 0..3 d, v = 0, 1, 5, 3: pairwise slopes 1, 2.5, 1, 4, 1, -2 -> sorted
    # -2, 1, 1, 1, 2.5, 4 -> median 1 per day
    t = np.array([0, 1, 2, 3]) * R.SECONDS_PER_DAY
    slope, intercept = R.theil_sen(t, [0.0, 1.0, 5.0, 3.0])
    assert slope * R.SECONDS_PER_DAY == pytest.approx(1.0)
    assert intercept == pytest.approx(2.0 - 1.0 * 1.5)  # median(v) - slope * median(t) [d]
    rng = np.random.default_rng(16)
    tt = np.sort(rng.uniform(0, 1e5, 40))
    vv = 0.002 * tt + rng.normal(0, 5, 40)
    pairs = [(vv[j] - vv[i]) / (tt[j] - tt[i]) for i in range(40) for j in range(i + 1, 40)]
    assert R.theil_sen(tt, vv)[0] == pytest.approx(float(np.median(pairs)))


def test_mann_kendall_by_hand() -> None:
    # 1.0 1.2 1.1 1.5 1.7 1.6: signs from each value to the later ones:
    # 1.0: +5; 1.2: -1 +3 = +2; 1.1: +3; 1.5: +2; 1.7: -1  -> S = 11
    # Var = 6 * 5 * 17 / 18 = 28.333; Z = (11 - 1) / sqrt(28.333) = 1.8787; p = 0.0603
    mk = R.mann_kendall([1.0, 1.2, 1.1, 1.5, 1.7, 1.6])
    assert mk.s == 11
    assert mk.var_s == pytest.approx(510 / 18)
    assert mk.z == pytest.approx(10 / math.sqrt(510 / 18))
    assert mk.p == pytest.approx(2 * (1 - 0.5 * (1 + math.erf(mk.z / math.sqrt(2)))))
    assert mk.p == pytest.approx(0.0603, abs=5e-4)
    assert mk.tau == pytest.approx(11 / 15)
    # ties: 1 2 2 3 -> S = 3 + 1 + 1 = 5; Var = (4*3*13 - 2*1*9) / 18 = 138 / 18
    mk = R.mann_kendall([1.0, 2.0, 2.0, 3.0])
    assert (mk.s, mk.var_s) == (5, pytest.approx(138 / 18))
    assert R.mann_kendall([3.0, 3.0, 3.0]).p == 1.0


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(-50, 50), min_size=3, max_size=30, unique=True))
def test_mann_kendall_tau_matches_scipy_without_ties(xs: list[int]) -> None:
    mk = R.mann_kendall(xs)
    tau = stats.kendalltau(np.arange(len(xs)), xs).statistic
    assert mk.tau == pytest.approx(tau)


def test_trend_verdict() -> None:
    rule = R.make_rule(
        "R", "trend", "crack_width", "alarm",
        {"window_s": 86400, "min_points": 6, "alpha": 0.05, "min_slope_per_day": 1.0},
    )  # fmt: skip
    t = np.arange(7) * 3 * 3600.0  # every 3 h
    six = [1.0, 1.2, 1.1, 1.5, 1.7, 1.6]
    v = R.evaluate(rule, t[:6], six)
    assert v.level == 0 and v.details["mann_kendall_s"] == 11  # p = 0.060 > 0.05
    # with 2.0 appended: S = 11 + 6 = 17; Var = 7*6*19/18 = 44.33; Z = 16 / 6.658 = 2.403
    v = R.evaluate(rule, t, [*six, 2.0])
    assert v.details["mann_kendall_s"] == 17
    assert v.details["z"] == pytest.approx(16 / math.sqrt(798 / 18))
    assert v.level == 2 and v.clear is False  # trends wait for a person
    assert v.value == pytest.approx(R.theil_sen(t, [*six, 2.0])[0] * R.SECONDS_PER_DAY)
    steep = R.make_rule("R", "trend", "x", "alarm", {"window_s": 86400, "min_points": 6,
                                                     "min_slope_per_day": 5.0})  # fmt: skip
    assert R.evaluate(steep, t, [*six, 2.0]).level == 0  # about 1.2 mm/d < 5
    assert R.evaluate(rule, t[:3], six[:3]).level == 0  # fewer than min_points


def test_params_validation_names_the_field() -> None:
    with pytest.raises(InputError, match=r"params\.window_s"):
        R.parse_params("trend", {})
    with pytest.raises(InputError, match=r"params\.speed"):
        R.parse_params("rate", {"warning": 1, "speed": 2})
    with pytest.raises(InputError, match="warning_low and alarm_low are for direction 'outside'"):
        R.parse_params("threshold", {"warning": 1, "warning_low": 0})
    with pytest.raises(InputError, match=r"alarm level 5\.0 must be below"):
        R.parse_params("threshold", {"direction": "below", "warning": 4, "alarm": 5})
    with pytest.raises(InputError, match="needs an indicator"):
        R.make_rule("R", "rate", None, "warning", {"warning": 1})
    assert R.make_rule("R", "offline", None, "alarm", {"interval_s": 60}).params.interval_s == 60
