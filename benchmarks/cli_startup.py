"""Benchmark: ``restora --help`` start-up (issue 12, item 13: under 0.5 s).

Times fresh processes, as a user's shell starts them: ``restora --help``, ``restora --version``
and ``restora cost --help`` (a group: imports its own module), beside the floor (``python -c
pass``), the bare import of the command package, and the same ``--help`` of an earlier commit
(``--before REV``: the source of that commit extracted with ``git archive`` and put first on
``PYTHONPATH``). Each command runs interleaved with the others, ``--runs`` times; wall time by
``time.perf_counter`` around the process, CPU time (user + system) of the child from
``os.wait4``, so that a busy machine's slower wall clock can be told apart from the work done.

Writes ``benchmarks/results/cli_startup.md`` (then ``python benchmarks/assemble.py`` joins it
into docs/benchmarks.md)::

    .venv/bin/python benchmarks/cli_startup.py --runs 20 --before 309586c
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import subprocess
import sys
import tarfile
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULT = ROOT / "benchmarks" / "results" / "cli_startup.md"
PY = sys.executable
RESTORA = str(Path(PY).with_name("restora"))
TARGET_S = 0.5
HELP_VIA_PYTHON = (
    "import sys; sys.argv = ['restora', '--help']; from restora.cli import main; main()"
)


def run(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU (user + system) seconds of one process; its output discarded."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} exited {proc.returncode}")
    return wall, usage.ru_utime + usage.ru_stime


def old_source(rev: str, into: Path) -> Path:
    """The ``src`` folder of commit ``rev``, extracted under ``into``."""
    archive = into / "src.tar"
    with archive.open("wb") as f:
        subprocess.run(["git", "archive", rev, "src"], cwd=ROOT, stdout=f, check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(into, filter="data")
    return into / "src"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--before", help="an earlier commit whose --help to time beside")
    ap.add_argument("--no-write", action="store_true", help="print only")
    args = ap.parse_args()

    env = {**os.environ, "COLUMNS": "100"}
    cases: dict[str, tuple[list[str], dict[str, str]]] = {
        "`restora --help`": ([RESTORA, "--help"], env),
        "`restora --version`": ([RESTORA, "--version"], env),
        "`restora cost --help` (a group: imports its module)": ([RESTORA, "cost", "--help"], env),
        "`python -c 'import restora.cli'`": ([PY, "-c", "import restora.cli"], env),
        "`python -c pass` (the floor)": ([PY, "-c", "pass"], env),
    }
    tmp = None
    if args.before:
        tmp = tempfile.TemporaryDirectory(prefix="restora-cli-before-")
        src = old_source(args.before, Path(tmp.name))
        old_env = {**env, "PYTHONPATH": str(src)}
        cases[f"`restora --help` at {args.before} (before)"] = (
            [PY, "-c", HELP_VIA_PYTHON],
            old_env,
        )
    load = os.getloadavg()
    for cmd, e in cases.values():  # warm the file cache
        run(cmd, e)
    times: dict[str, list[tuple[float, float]]] = {k: [] for k in cases}
    for _ in range(args.runs):
        for name, (cmd, e) in cases.items():
            times[name].append(run(cmd, e))
    load_after = os.getloadavg()
    if tmp is not None:
        tmp.cleanup()

    rows = []
    for name, ts in times.items():
        walls = [w for w, _ in ts]
        cpus = [c for _, c in ts]
        rows.append(
            (name, statistics.median(walls), min(walls), max(walls), statistics.median(cpus))
        )
        print(f"{name}: median {rows[-1][1]:.3f} s, min {rows[-1][2]:.3f} s, "
              f"max {rows[-1][3]:.3f} s, CPU {rows[-1][4]:.3f} s")  # fmt: skip
    help_row = rows[0]

    def para(text: str) -> list[str]:
        return [*textwrap.wrap(text, width=96, break_on_hyphens=False), ""]

    lines = [
        "## `restora --help` start-up (issue 12, item 13)",
        "",
        *para(
            f"Machine: {os.cpu_count()} cores, shared with other engineers' jobs (load average "
            f"{load[0]:.1f} at the start, {load_after[0]:.1f} at the end); "
            f"{dt.date.today().isoformat()}; Python {platform.python_version()}. Command: "
            f"`.venv/bin/python benchmarks/cli_startup.py --runs {args.runs}"
            + (f" --before {args.before}" if args.before else "")
            + f"`: fresh processes, each command run {args.runs} times interleaved with the "
            "others; wall time around the process, CPU time (user + system) of the process "
            "from `os.wait4`. On a machine this busy a process waits for a core: the CPU time "
            "is what the wall time comes down to on an idle one."
        ),
        "| command | wall, median [s] | wall, min [s] | wall, max [s] | CPU, median [s] |",
        "|---|---|---|---|---|",
        *(f"| {n} | {m:.3f} | {lo:.3f} | {hi:.3f} | {c:.3f} |" for n, m, lo, hi, c in rows),
        "",
    ]
    verdict = (
        f"Target: `restora --help` under {TARGET_S} s. Median wall {help_row[1]:.3f} s (ratio "
        f"{help_row[1] / TARGET_S:.2f} of the target), fastest {help_row[2]:.3f} s, CPU "
        f"{help_row[4]:.3f} s (ratio {help_row[4] / TARGET_S:.2f})."
    )
    if args.before:
        before = rows[-1]
        verdict += (
            f" The peer is the same command at {args.before}, which built every command group "
            f"to list them: median {before[1]:.3f} s, CPU {before[4]:.3f} s; now "
            f"{before[1] / help_row[1]:.1f}× faster (wall), {before[4] / help_row[4]:.1f}× (CPU)."
        )
    lines += para(verdict)
    lines += para(
        "What the help path no longer pays for: importing every command module to read its "
        "one-line help (pandas, geopandas, pyogrio, scipy, the register, diagnosis and report "
        "stacks; `restora.cli` lists them from `GROUPS` and `COMMAND_HELP`); Typer's help "
        "renderer (rich's Markdown, traceback and pretty-printing modules; the root page is "
        "drawn with rich's console, table and panel only); `importlib.metadata` for the "
        "version (looked up when `--version` asks). What remains: the interpreter, Typer and "
        "rich's console (`python -X importtime -c 'import restora.cli'`)."
    )
    text = "\n".join(lines)
    print(text)
    if not args.no_write:
        RESULT.write_text(text, encoding="utf-8")
        print(f"wrote {RESULT}")


if __name__ == "__main__":
    main()
