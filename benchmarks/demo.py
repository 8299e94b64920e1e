"""Benchmark: the whole main job, ``restora demo`` (40 mines, three appraisals, PDFs).

Runs the demo as a user would (a fresh process: ``restora demo --out DIR``) and reports the
wall time, the CPU time and the peak resident memory of the process (``/usr/bin/time -v``),
and the time of each step from the demo's own JSON (``--format json``: ``seconds``).

Usage::

    .venv/bin/python benchmarks/demo.py            # three runs, Chinese reports with PDFs
    .venv/bin/python benchmarks/demo.py --runs 1 --lang en

The target (issue 7): the whole demo in under 60 s on the 2-core development machine.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESTORA = str(Path(sys.executable).with_name("restora"))
TARGET_S = 60.0


def run_once(lang: str, pdf: bool) -> dict[str, float]:
    out = Path(tempfile.mkdtemp(prefix="restora-demo-bench-"))
    cmd = [RESTORA, "demo", "--out", str(out), "--lang", lang, "--format", "json"]
    if not pdf:
        cmd.append("--no-pdf")
    timer = ["/usr/bin/time", "-v"] if Path("/usr/bin/time").exists() else []
    t0 = time.perf_counter()
    res = subprocess.run(timer + cmd, capture_output=True, text=True, cwd=ROOT, check=False)
    wall = time.perf_counter() - t0
    if res.returncode != 0:
        sys.exit(f"demo failed ({res.returncode}):\n{res.stderr[-3000:]}")
    data = json.loads(res.stdout)
    figures = {"wall_s": wall, "demo_s": float(data["seconds"])}
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", res.stderr)
    if m:
        figures["peak_rss_mib"] = int(m.group(1)) / 1024
    for key, pat in (
        ("user_s", r"User time \(seconds\): ([\d.]+)"),
        ("sys_s", r"System time \(seconds\): ([\d.]+)"),
    ):
        m = re.search(pat, res.stderr)
        if m:
            figures[key] = float(m.group(1))
    pdfs = [p["reports"]["pdf"] for p in data["projects"] if p["reports"]["pdf"]]
    figures["projects"] = len(data["projects"])
    figures["pdfs"] = len(pdfs)
    figures["mines"] = data["register"]["mines"]
    figures["draws"] = 10_000
    return figures


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--lang", default="zh", choices=("zh", "en"))
    ap.add_argument("--no-pdf", action="store_true")
    args = ap.parse_args()
    print(f"machine: {os.cpu_count()} cores; load average {os.getloadavg()[0]:.1f}")
    runs = []
    for i in range(args.runs):
        f = run_once(args.lang, not args.no_pdf)
        runs.append(f)
        print(
            f"run {i + 1}: "
            + ", ".join(
                f"{k} {v:.1f}" if isinstance(v, float) else f"{k} {v}" for k, v in f.items()
            )
        )
    walls = [r["wall_s"] for r in runs]
    best, med = min(walls), statistics.median(walls)
    print(
        f"wall time: best {best:.1f} s, median {med:.1f} s (target {TARGET_S:.0f} s; "
        f"ratio median/target {med / TARGET_S:.2f})"
    )
    print(f"peak RSS: {max(r.get('peak_rss_mib', float('nan')) for r in runs):.0f} MiB")


if __name__ == "__main__":
    main()
