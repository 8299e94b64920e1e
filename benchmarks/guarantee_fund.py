"""Benchmark: guarantee fund + insurance Monte Carlo (``restora finance structure -i guarantee``).

A provincial guarantee fund behind N restoration-project loans, with two insured perils and
correlated defaults, run for D draws in bounded blocks. Prints wall and CPU time and peak
memory; checks the Monte Carlo exhaustion probability against the exact binomial answer for a
homogeneous independent portfolio; and times a peer (a plain-Python loop over draws, the
obvious implementation) on a subset of the same homogeneous run.

    .venv/bin/python benchmarks/guarantee_fund.py --loans 500 --draws 1000000 --peer-draws 2000
"""

from __future__ import annotations

import argparse
import random
import resource
import time

import numpy as np

from restora.finance.instruments.guarantee import GuaranteeSpec, exhaustion_binomial, run


def _timed(fn, *a):  # type: ignore[no-untyped-def]
    w0, c0 = time.perf_counter(), time.process_time()
    out = fn(*a)
    return out, time.perf_counter() - w0, time.process_time() - c0


def peer(n: int, pd: float, claim: float, capital: float, draws: int, seed: int) -> float:
    """Plain-Python Monte Carlo of the homogeneous case: loop over draws and loans."""
    rnd = random.Random(seed)
    hit = 0
    for _ in range(draws):
        claims = 0.0
        for _ in range(n):
            if rnd.random() < pd:
                claims += claim
        hit += claims >= capital
    return hit / draws


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--loans", type=int, default=500)
    ap.add_argument("--draws", type=int, default=1_000_000)
    ap.add_argument("--peer-draws", type=int, default=2_000)
    a = ap.parse_args()
    rng = np.random.default_rng(0)
    exposure = rng.lognormal(np.log(2e7), 0.6, a.loans)  # 20 M CNY median loan
    pd = rng.uniform(0.02, 0.08, a.loans)
    loans = [
        {"name": f"P{i:04d}", "exposure": float(e), "pd": float(p), "lgd": 0.45}
        for i, (e, p) in enumerate(zip(exposure, pd, strict=True))
    ]
    perils = [
        {
            "name": "slope failure",
            "kind": "engineering_accident",
            "probability": 0.03,
            "damage": 2e6,
            "deductible": 1e5,
            "limit": 1.5e6,
            "loading": 0.3,
        },
        {
            "name": "rainstorm",
            "kind": "natural_disaster",
            "probability": 0.05,
            "damage": 1e6,
            "deductible": 5e4,
            "limit": 8e5,
            "loading": 0.4,
        },
    ]
    guaranteed = 0.5 * exposure.sum()
    spec = GuaranteeSpec(
        loans=loans,
        perils=perils,
        fund_capital=guaranteed / 10,
        fund_share=0.5,
        correlation=0.2,
        draws=a.draws,
        seed=1,
    )
    res, wall, cpu = _timed(run, spec)
    s = res.summary
    print(f"portfolio: {a.loans} loans x {a.draws} draws, correlation 0.2, 2 perils")
    print(
        f"  wall {wall:.1f} s, CPU {cpu:.1f} s; P(exhausted) {s['p_exhausted']:.5f} "
        f"± {s['p_exhausted_se']:.5f}; leverage {s['leverage']:.1f}; "
        f"E[claims] {s['expected_fund_claims'] / 1e6:.1f} M; p99 {s['fund_claims_p99'] / 1e6:.1f} M"
    )
    # homogeneous, independent: exact binomial check and the peer
    n, p, claim = a.loans, 0.05, 100.0
    capital = 3150.0  # exhausted by 32+ defaults of 500 at 5 % (mean 25)
    hspec = GuaranteeSpec(
        loans=[{"name": f"H{i}", "exposure": 1000.0, "pd": p, "lgd": 0.2} for i in range(n)],
        fund_capital=capital,
        fund_share=0.5,
        draws=a.draws,
        seed=2,
    )
    hres, hwall, hcpu = _timed(run, hspec)
    exact = exhaustion_binomial(n, p, claim, capital)
    hs = hres.summary
    print(
        f"homogeneous: MC {hs['p_exhausted']:.5f} ± {hs['p_exhausted_se']:.5f} vs exact "
        f"binomial {exact:.5f} (diff {abs(hs['p_exhausted'] - exact) / hs['p_exhausted_se']:.2f} se); "
        f"wall {hwall:.1f} s, CPU {hcpu:.1f} s"
    )
    pp, pwall, pcpu = _timed(peer, n, p, claim, capital, a.peer_draws, 3)
    per_restora = hcpu / a.draws
    per_peer = pcpu / a.peer_draws
    print(
        f"peer (plain Python, {a.peer_draws} draws): P {pp:.4f}, wall {pwall:.1f} s, CPU {pcpu:.1f} s; "
        f"CPU per draw {per_peer * 1e6:.0f} us vs {per_restora * 1e6:.2f} us: ratio {per_peer / per_restora:.0f}"
    )
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {rss:.0f} MiB")


if __name__ == "__main__":
    main()
