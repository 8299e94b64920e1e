"""The contract of ``restora match allocate`` (issue 14) and ``restora match check``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from restora.cli import app

runner = CliRunner()

PROBLEM: dict[str, Any] = {
    "projects": [
        {"id": "a", "need_cny": 6e7, "ecological_value": 6, "region": "430000", "mineral": "coal",
         "mode": "ecological", "min_dscr": 1.5, "irr": 0.08, "p90_overrun": 0.1, "collateral": []},
        {"id": "b", "need_cny": 6e7, "ecological_value": 9, "region": "430000", "mineral": "coal",
         "mode": "ecological", "min_dscr": 1.5, "irr": None, "p90_overrun": 0.1,
         "collateral": ["carbon_sink_rights"]},
        {"id": "c", "need_cny": 3e7, "ecological_value": 2, "region": "520000", "mineral": "gold",
         "mode": "tourism", "min_dscr": 1.0, "irr": 0.05, "p90_overrun": 0.3, "collateral": []},
    ],
    "products": [
        {"id": "K", "capacity_cny": 1e8, "ticket_min_cny": 1e6, "ticket_max_cny": 1e8,
         "requires": {"min_dscr": 1.2, "regions": [], "collateral_any": []}},
    ],
    "limits": {"max_region_share": 1.0},
}  # fmt: skip


def _write(tmp_path: Path, doc: Any) -> str:
    path = tmp_path / "PROBLEM.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return str(path)


def test_allocate_json_contract(tmp_path: Path) -> None:
    r = runner.invoke(app, ["match", "allocate", _write(tmp_path, PROBLEM), "--format", "json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    for key in ("status", "objective", "funded", "allocations", "unfunded", "binding",
                "shadow_prices"):  # fmt: skip
        assert key in doc
    assert doc["status"] == "optimal" and doc["objective"] == 9 and doc["funded"] == ["b"]
    assert doc["allocations"] == [{"project": "b", "product": "K", "amount_cny": 6e7}]
    unfunded = {u["project"]: u["reasons"] for u in doc["unfunded"]}
    assert unfunded["a"][1].startswith("capacity:")
    assert unfunded["c"] == [
        "no eligible product among 1",
        "min_dscr fails for 1 product(s), e.g. K: DSCR 1.00 below the product's 1.20",
    ]
    # 40 million CNY left, a needs 60: another yuan funds 1/60e6 of a's value 6
    assert doc["shadow_prices"]["K"] == 6 / 6e7
    assert doc["binding"] == []


def test_allocate_greedy_and_table(tmp_path: Path) -> None:
    path = _write(tmp_path, PROBLEM)
    r = runner.invoke(app, ["match", "allocate", path, "--format", "json", "--greedy"])
    assert r.exit_code == 0
    assert json.loads(r.stdout)["greedy"]["objective"] == 6  # first come: a
    r = runner.invoke(app, ["match", "allocate", path, "--greedy", "--gap", "0"])
    assert r.exit_code == 0 and "Allocations" in r.stdout and "greedy" in r.stdout


def test_malformed_file_exit_2_names_the_field(tmp_path: Path) -> None:
    bad = json.loads(json.dumps(PROBLEM))
    bad["projects"][1]["need_cny"] = "sixty million"
    r = runner.invoke(app, ["match", "allocate", _write(tmp_path, bad), "--format", "json"])
    assert r.exit_code == 2
    assert 'column "projects[1].need_cny": must be a number ≥ 0' in r.stderr
    assert r.stdout == ""
    (tmp_path / "x.json").write_text("{not json")
    r = runner.invoke(app, ["match", "allocate", str(tmp_path / "x.json")])
    assert r.exit_code == 2 and "not valid JSON" in r.stderr
    r = runner.invoke(app, ["match", "allocate", str(tmp_path / "missing.json")])
    assert r.exit_code == 2 and "cannot read" in r.stderr


def test_check_lists_every_pair(tmp_path: Path) -> None:
    r = runner.invoke(app, ["match", "check", _write(tmp_path, PROBLEM), "--format", "json"])
    assert r.exit_code == 0
    doc = json.loads(r.stdout)
    assert [(v["project"], v["eligible"]) for v in doc] == [("a", True), ("b", True), ("c", False)]
    assert doc[2]["failures"][0]["smallest_change"] == {
        "parameter": "min_dscr", "from": 1.0, "to": 1.2}  # fmt: skip


def test_solver_prints_go_to_stderr() -> None:
    # HiGHS sometimes printf()s a diagnostic on fd 1; the JSON on stdout must stay clean
    import subprocess
    import sys

    code = (
        "import os, sys\n"
        "from restora.cli.match import solver_output_to_stderr\n"
        "print('before', flush=True)\n"
        "with solver_output_to_stderr():\n"
        "    os.write(1, b'solver noise\\n')\n"
        "print('after')\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "before\nafter\n"
    assert "solver noise" in r.stderr


def test_allocate_by_default_gives_the_optimum_of_the_brute_force(tmp_path: Path) -> None:
    """Without --gap the command proves the optimum of small components (status optimal means
    optimal there), as an independent enumeration finds it, on seeded random instances."""
    import random
    from dataclasses import asdict

    from .bruteforce import brute_force
    from .test_allocate import random_problem

    rng = random.Random(7)
    for i in range(40):
        problem = random_problem(rng)
        value, money, _optimal, _ = brute_force(problem)
        doc = {
            "projects": [{**asdict(p), "collateral": list(p.collateral)} for p in problem.projects],
            "products": [
                {
                    "id": k.id,
                    "capacity_cny": k.capacity_cny,
                    "ticket_min_cny": k.ticket_min_cny,
                    "ticket_max_cny": k.ticket_max_cny,
                    "requires": {
                        key: (list(v) if isinstance(v, tuple) else v)
                        for key, v in asdict(k.requires).items()
                    },
                }
                for k in problem.products
            ],
            "limits": {"max_region_share": problem.limits.max_region_share},
        }
        path = tmp_path / f"p{i}.json"
        path.write_text(json.dumps(doc), encoding="utf-8")
        r = runner.invoke(app, ["match", "allocate", str(path), "--format", "json"])
        assert r.exit_code == 0, r.output
        out = json.loads(r.stdout)
        assert out["status"] == "optimal"
        assert abs(out["objective"] - value) < 1e-9, (i, doc)
        assert abs(out["money_cny"] - money) < 1e-6, (i, doc)  # ties: less money


def test_the_default_gap_by_block_size() -> None:
    from restora.matching.allocate import EXACT_PAIRS, block_gap

    assert block_gap(None, EXACT_PAIRS, large=False) == 0.0
    assert block_gap(None, EXACT_PAIRS + 1, large=False) == 0.001
    assert block_gap(None, 60_000, large=True) == 0.01
    assert block_gap(0.05, 10, large=False) == 0.05  # an explicit --gap wins
