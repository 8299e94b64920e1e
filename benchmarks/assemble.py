"""Assemble docs/benchmarks.md from the per-benchmark result files in benchmarks/results/.

Each benchmark script prints its figures; its owner records them (machine, date, figures, the
peer's figure from the same run and the ratio) in ``benchmarks/results/<name>.md``. This script
joins them, in a fixed order, under one page so the figures are in one place::

    .venv/bin/python benchmarks/assemble.py
"""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent
ORDER = (
    "import_gpkg",
    "register_import",
    "store_insert",
    "register_upsert",
    "soil-diagnosis",
    "diagnosis_priority",
    "valuation_esv_gep",
    "carbon_invest",
    "esv_raster",
    "cost_montecarlo",
    "irr",
    "guarantee_fund",
    "demo",
)

HEADER = """# Benchmarks

Speed and memory figures the issues ask for, each measured by a script in `benchmarks/` that
anyone can re-run (the command is given in each section), on this project's machine kind:
2 cores, 24 GiB, no GPU (Debian 12, Python 3.11). Each section states its date, the load on the
machine when it ran, and the named peer's figure from the same run with the ratio.

This page is assembled from `benchmarks/results/*.md` by `benchmarks/assemble.py`.
"""


def main() -> None:
    files = {p.stem: p for p in sorted((HERE / "results").glob("*.md"))}
    names = [n for n in ORDER if n in files] + sorted(set(files) - set(ORDER))
    parts = [HEADER]
    for name in names:
        parts.append(files[name].read_text(encoding="utf-8").strip() + "\n")
    out = HERE.parent / "docs" / "benchmarks.md"
    out.write_text("\n".join(parts), encoding="utf-8")
    print(f"wrote {out} from {len(names)} result file(s)")


if __name__ == "__main__":
    main()
