"""The total cost never falls as the direct cost grows, and has no jump at a bracket edge.

Issue 11 item 7: with SRCE's whole-base band rates, direct 1,000,000 gave a total of 1,160,000
and 1,000,001 gave 1,140,001. Property tests over every shipped tier set and over random tier
sets (brackets, non-negative rates, lines based on earlier lines); each fails on the code
before the fix (the shipped sets were band-method, and hypothesis finds the drop at a limit).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from restora.costing.indirect import apply_tiers, load_tiers, parse_tiers
from restora.refdata import get

SHIPPED = ("srce-nevada", "colorado-drms-m1977410", "cn-default")
ON = "2024-06-01"


def total(direct, tiers) -> np.ndarray:
    d = np.asarray(direct, dtype=float)
    return d + sum(apply_tiers(d, tiers).values())


def _unrounded(name: str):
    t = get(f"costing/indirect/{name}", on=ON)
    return parse_tiers({**t.data, "rounding": None}, t.name, {})


def _edges(tiers) -> list[float]:
    return sorted({u for ln in tiers.lines for u in ln.upper if np.isfinite(u)})


direct_st = st.floats(min_value=0.0, max_value=2e9, allow_nan=False)
# the band limits of the shipped sets (USD and CNY), where a whole-base rate would drop
EDGES = sorted(
    {u for n in SHIPPED for ln in load_tiers(n, on=ON).lines for u in ln.upper if np.isfinite(u)}
)
# direct costs anywhere, and at or just below a band limit
near_edge_st = st.one_of(
    direct_st,
    st.builds(lambda e, back: max(e - back, 0.0), st.sampled_from(EDGES), st.floats(0, 5e4)),
)


@pytest.mark.parametrize("name", SHIPPED)
@settings(max_examples=300, deadline=None)
@given(d1=near_edge_st, step=st.floats(min_value=0.01, max_value=1e8))
def test_total_is_monotone_in_the_direct_cost(name, d1, step):
    tiers = load_tiers(name, on=ON)
    d2 = d1 + step
    assume(d2 > d1)
    t1, t2 = total([d1, d2], tiers)
    assert t2 >= t1
    # and the total rises at least as fast as the direct cost (indirect lines never fall)
    assert t2 - t1 >= d2 - d1 - len(tiers.lines)  # less at most one rounding unit per line


@pytest.mark.parametrize("name", SHIPPED)
def test_total_is_continuous_at_every_bracket_edge(name):
    exact = _unrounded(name)
    rounded = load_tiers(name, on=ON)
    for edge in _edges(exact):
        eps = edge * 1e-9
        below, at, above = total([edge - eps, edge, edge + eps], exact)
        # unrounded: the total moves by at most 2·eps·slope, slope = 1 + the sum of the
        # rates ≤ 1.431 (Colorado: 1 + .08 + .10 + .03 + .10 + .10 + .21 × .10); a whole-base
        # band step would jump by (r_j − r_j+1)·edge, e.g. 0.02 × 1 M = 20,000
        assert 0 <= above - below <= 2 * eps * 1.5 + 1e-9 * edge, (name, edge)
        assert below <= at <= above
        # rounded to whole units: at most one unit per line apart
        lo, hi = total([edge - 1.0, edge + 1.0], rounded)
        assert 0 <= hi - lo <= 2.0 + len(rounded.lines), (name, edge)


@st.composite
def tier_sets(draw):
    n_lines = draw(st.integers(1, 4))
    lines = []
    for k in range(n_lines):
        base = draw(st.sampled_from(["direct", *[f"l{j}" for j in range(k)]]))
        n_bands = draw(st.integers(1, 4))
        limits = sorted(
            draw(
                st.lists(
                    st.floats(min_value=1.0, max_value=1e9),
                    min_size=n_bands - 1,
                    max_size=n_bands - 1,
                    unique=True,
                )
            )
        )
        rates = draw(
            st.lists(st.floats(min_value=0.0, max_value=0.5), min_size=n_bands, max_size=n_bands)
        )
        bands = [{"up_to": u, "rate": r} for u, r in zip([*limits, None], rates, strict=True)]
        lines.append({"code": f"l{k}", "base": base, "bands": bands})
    rounding = draw(st.sampled_from([None, 1.0, 100.0]))
    return parse_tiers({"lines": lines, "rounding": rounding}, "random", {})


@settings(max_examples=300, deadline=None)
@given(tiers=tier_sets(), d1=near_edge_st, step=st.floats(min_value=1e-3, max_value=1e8))
def test_any_tier_set_gives_a_monotone_total(tiers, d1, step):
    d2 = d1 + step
    assume(d2 > d1)
    t1, t2 = total([d1, d2], tiers)
    assert t2 >= t1


@settings(max_examples=200, deadline=None)
@given(tiers=tier_sets())
def test_any_tier_set_is_continuous_at_its_edges(tiers):
    assume(tiers.rounding is None)
    for edge in _edges(tiers):
        eps = edge * 1e-10
        below, above = total([edge - eps, edge + eps], tiers)
        # slope ≤ (1 + 0.5)^4 per unit of direct cost: the gap is O(eps), no jump
        assert 0 <= above - below <= 2 * eps * 1.5**4 + 1e-6 * edge
