"""The cost and finance benchmarks still run against today's reference tables (tiny sizes).

The timed runs are in benchmarks/ and docs/benchmarks.md; these only catch a benchmark that a
change to the tables or the API has broken (as happened when unit costs at 2020 prices came
in and the scripts still asked for the tables as of a date before the 2023 CPI was published).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    "args",
    [
        ["cost_montecarlo.py", "--mines", "60", "--draws", "200", "--chunk", "20", "--county", "4"],
        ["irr.py", "--n", "2000", "--npf-sample", "50", "--multi", "50", "--rounds", "1",
         "--scenarios", "50"],
    ],
    ids=["cost_montecarlo", "irr"],
)  # fmt: skip
def test_benchmark_runs_small(args):
    r = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / args[0]), *args[1:]],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.strip()
