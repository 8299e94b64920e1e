"""The matching benchmark still runs (tiny size); the timed run is in docs/benchmarks.md."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_benchmark_runs_small() -> None:
    r = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "matching_allocate.py"),
         "--projects", "1500", "--products", "15"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr[-2000:]
    figures = dict(line.split(": ", 1) for line in r.stdout.splitlines() if ": " in line)
    assert float(figures["objective"]) >= float(figures["greedy_objective"])
    assert float(figures["cli_objective"]) == float(figures["objective"])
