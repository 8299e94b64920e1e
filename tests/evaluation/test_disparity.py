"""Gini, Theil T, its within/between decomposition and the Lorenz curve
(restora.evaluation.disparity) against hand calculations and independent implementations."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from restora.errors import InputError
from restora.evaluation.disparity import disparity, gini, lorenz, theil

VALUES = st.lists(
    st.floats(min_value=0, max_value=1e6, allow_nan=False, allow_infinity=False),
    min_size=1,
    max_size=40,
)


def _gini_pairs(x: np.ndarray, w: np.ndarray) -> float:
    """The O(n²) definition: Σ_i Σ_j w_i w_j |x_i − x_j| / (2 W² μ)."""
    total_w = w.sum()
    mu = np.dot(w, x) / total_w
    if mu == 0:
        return 0.0
    pairs = np.abs(x[:, None] - x[None, :]) * w[:, None] * w[None, :]
    return float(pairs.sum() / (2 * total_w**2 * mu))


def test_gini_of_1_2_3_4_by_hand():
    # |xi - xj| over ordered pairs: 2 * (1+2+3 + 1+2 + 1) = 20; μ = 2.5, n = 4
    # G = 20 / (2 * 4² * 2.5) = 20 / 80 = 0.25
    assert gini([1, 2, 3, 4]) == pytest.approx(0.25, abs=1e-15)
    # the n/(n-1) corrected Gini: 0.25 * 4/3
    assert gini([1, 2, 3, 4], corrected=True) == pytest.approx(1 / 3, abs=1e-15)


def test_gini_of_one_holder_is_1_minus_1_over_n():
    # x = (0, 0, 0, 4): Σ|xi-xj| = 2 * 3 * 4 = 24; μ = 1; G = 24 / (2 * 16 * 1) = 0.75
    assert gini([0, 0, 0, 4]) == pytest.approx(0.75, abs=1e-15)


def test_theil_of_1_2_3_4_by_hand():
    # μ = 2.5; x/μ = 0.4, 0.8, 1.2, 1.6
    # 0.4 ln 0.4 = -0.366516; 0.8 ln 0.8 = -0.178515; 1.2 ln 1.2 = 0.218786;
    # 1.6 ln 1.6 = 0.752006; sum = 0.425761; T = sum / 4 = 0.106440
    assert theil([1, 2, 3, 4]) == pytest.approx(0.1064401, abs=1e-6)


def test_theil_takes_0_ln_0_as_0():
    # x = (0, 0, 0, 4): μ = 1; T = (1/4) * 4 ln 4 = ln 4
    assert theil([0, 0, 0, 4]) == pytest.approx(math.log(4), abs=1e-15)


def test_decomposition_by_hand():
    # P1 = {1, 2}: μ1 = 1.5, s1 = 3/10 = 0.3; P2 = {3, 4}: μ2 = 3.5, s2 = 0.7; μ = 2.5
    # between = 0.3 ln(1.5/2.5) + 0.7 ln(3.5/2.5) = -0.153248 + 0.235531 = 0.082283
    # T1 = ½ [(1/1.5) ln(1/1.5) + (2/1.5) ln(2/1.5)] = ½ (-0.270310 + 0.383576) = 0.056633
    # T2 = ½ [(3/3.5) ln(3/3.5) + (4/3.5) ln(4/3.5)] = ½ (-0.132124 + 0.152602) = 0.010239
    # within = 0.3 * 0.056633 + 0.7 * 0.010239 = 0.024157; total 0.106440 (as above)
    d = disparity([1, 2, 3, 4], ["P1", "P1", "P2", "P2"])
    assert d.n == 4
    assert d.gini == pytest.approx(0.25)
    assert d.theil_between == pytest.approx(0.082283, abs=1e-6)
    assert d.theil_within == pytest.approx(0.024157, abs=1e-6)
    assert d.theil == pytest.approx(0.106440, abs=1e-6)
    (p1, p2) = d.groups
    assert (p1.group, p1.n, p1.mean, p1.share) == ("P1", 2, 1.5, pytest.approx(0.3))
    assert p1.theil == pytest.approx(0.056633, abs=1e-6)
    assert (p2.group, p2.n, p2.mean, p2.share) == ("P2", 2, 3.5, pytest.approx(0.7))
    assert p2.theil == pytest.approx(0.010239, abs=1e-6)


def test_weighted_by_hand():
    # x = (1, 3) with weights (3, 1): W = 4, μ = (3 + 3)/4 = 1.5
    # G = 2 * 3 * 1 * |1 - 3| / (2 * 16 * 1.5) = 12 / 48 = 0.25
    # T = (1/4) [3 * (1/1.5) ln(1/1.5) + 1 * 2 ln 2] = (1/4)(-0.810930 + 1.386294) = 0.143841
    assert gini([1, 3], [3, 1]) == pytest.approx(0.25, abs=1e-15)
    assert theil([1, 3], [3, 1]) == pytest.approx(0.143841, abs=1e-6)


def test_all_zero_is_perfect_equality_with_weight_shares():
    d = disparity([0, 0, 0], ["a", "a", "b"], [1, 1, 2])
    assert (d.gini, d.theil, d.theil_within, d.theil_between) == (0.0, 0.0, 0.0, 0.0)
    # shares: the weight shares 2/4 and 2/4
    assert [g.share for g in d.groups] == [0.5, 0.5]
    assert lorenz([0, 0]).value_share.tolist() == [0.0, 0.5, 1.0]


def test_a_group_of_zeros_adds_nothing_to_between():
    # a = {0, 0}: s_a = 0, 0 ln 0 = 0; b = {2, 2}: μ_b = 2, μ = 1, s_b = 1
    # between = 1 * ln(2/1) = ln 2; within = 0; T = (1/4) * 2 * 2 ln 2 = ln 2
    d = disparity([0, 0, 2, 2], ["a", "a", "b", "b"])
    assert d.theil_between == pytest.approx(math.log(2))
    assert d.theil_within == pytest.approx(0.0, abs=1e-15)
    assert d.groups[0].share == 0.0 and d.groups[0].theil == 0.0


@pytest.mark.parametrize(
    ("values", "weights", "field"),
    [
        ([1, -1], None, "values"),
        ([1, float("nan")], None, "values"),
        ([], None, "values"),
        ([1, 2], [1, -1], "weights"),
        ([1, 2], [0, 0], "weights"),
        ([1, 2], [1], "weights"),
    ],
)
def test_bad_inputs_are_input_errors(values, weights, field):
    with pytest.raises(InputError) as err:
        disparity(values, ["a"] * len(values), weights)
    assert err.value.problems[0].field == field


def test_lorenz_by_hand():
    # x = (3, 1) sorted (1, 3): p = 0, .5, 1; L = 0, 1/4, 1
    c = lorenz([3, 1])
    assert c.population_share.tolist() == [0.0, 0.5, 1.0]
    assert c.value_share.tolist() == [0.0, 0.25, 1.0]


@settings(max_examples=200, deadline=None)
@given(VALUES, st.data())
def test_decomposition_sums_to_the_total(values, data):
    groups = data.draw(
        st.lists(st.sampled_from("abcd"), min_size=len(values), max_size=len(values))
    )
    weights = data.draw(
        st.one_of(
            st.none(),
            st.lists(st.floats(0.01, 100), min_size=len(values), max_size=len(values)),
        )
    )
    d = disparity(values, groups, weights)
    assert d.theil_within + d.theil_between == pytest.approx(d.theil, rel=1e-9, abs=1e-12)
    assert sum(g.share for g in d.groups) == pytest.approx(1.0)
    assert sum(g.n for g in d.groups) == d.n == len(values)
    assert 0.0 <= d.gini <= 1.0


@settings(max_examples=200, deadline=None)
@given(VALUES, st.data())
def test_weights_equal_repeated_rows(values, data):
    counts = data.draw(st.lists(st.integers(1, 4), min_size=len(values), max_size=len(values)))
    groups = data.draw(st.lists(st.sampled_from("xyz"), min_size=len(values), max_size=len(values)))
    weighted = disparity(values, groups, counts)
    repeated = disparity(np.repeat(values, counts), np.repeat(groups, counts))
    assert weighted.gini == pytest.approx(repeated.gini, rel=1e-9, abs=1e-12)
    assert weighted.theil == pytest.approx(repeated.theil, rel=1e-9, abs=1e-12)
    assert weighted.theil_between == pytest.approx(repeated.theil_between, rel=1e-9, abs=1e-12)
    for a, b in zip(weighted.groups, repeated.groups, strict=True):
        assert (a.group, a.mean, a.share) == (
            b.group,
            pytest.approx(b.mean),
            pytest.approx(b.share),
        )


@settings(max_examples=200, deadline=None)
@given(VALUES, st.data())
def test_gini_by_sorting_equals_the_pairwise_definition(values, data):
    weights = data.draw(st.lists(st.floats(0.01, 100), min_size=len(values), max_size=len(values)))
    x, w = np.asarray(values), np.asarray(weights)
    assert gini(x) == pytest.approx(_gini_pairs(x, np.ones_like(x)), rel=1e-9, abs=1e-12)
    assert gini(x, w) == pytest.approx(_gini_pairs(x, w), rel=1e-9, abs=1e-12)


@settings(max_examples=200, deadline=None)
@given(VALUES)
def test_lorenz_runs_from_0_to_1_and_its_area_gives_the_gini(values):
    c = lorenz(values)
    p, s = c.population_share, c.value_share
    assert (p[0], s[0], p[-1], s[-1]) == (0.0, 0.0, 1.0, 1.0)
    assert np.all(np.diff(p) > 0) and np.all(np.diff(s) >= -1e-12)
    assert np.all(s <= p + 1e-12)  # below the line of equality
    # G = 1 − Σ (p_k − p_{k−1})(L_k + L_{k−1}): the trapezoid area, exact for step data
    area = float(np.sum(np.diff(p) * (s[1:] + s[:-1])))
    assert gini(values) == pytest.approx(1 - area, abs=1e-9)


@settings(max_examples=100, deadline=None)
@given(VALUES, st.floats(0.001, 1000))
def test_indices_do_not_depend_on_the_unit(values, scale):
    assert gini(np.asarray(values) * scale) == pytest.approx(gini(values), rel=1e-9, abs=1e-12)
    assert theil(np.asarray(values) * scale) == pytest.approx(theil(values), rel=1e-9, abs=1e-12)
