"""The root command imports a group's module only when that group is used."""

from __future__ import annotations

import json
import subprocess
import sys

from typer.testing import CliRunner

from restora.cli import COMMANDS, GROUPS, app

PROBE = """
import json, sys
from typer.testing import CliRunner
from restora.cli import app
r = CliRunner().invoke(app, sys.argv[1:])
mods = [m for m in ("restora.cli.mines", "restora.cli.value", "restora.cli.demo",
                    "restora.inventory.io", "restora.appraisal.report", "matplotlib")
        if m in sys.modules]
print(json.dumps({"exit": r.exit_code, "loaded": mods}))
"""


def _probe(*args: str) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", PROBE, *args], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_a_command_loads_only_its_group():
    got = _probe("refdata", "show", "prices/cn-cpi", "-f", "json")
    assert got == {"exit": 0, "loaded": []}
    got = _probe("cost", "tiers", "234415", "--tiers", "colorado-drms-m1977410")
    assert got["exit"] == 0 and "restora.cli.mines" not in got["loaded"]


def test_help_lists_every_group_and_command():
    r = CliRunner().invoke(app, ["--help"])
    assert r.exit_code == 0
    names = [g for _, g, _ in GROUPS] + [c for _, cs in COMMANDS for c in cs]
    assert all(n in r.stdout for n in names)
    bad = CliRunner().invoke(app, ["nosuch"])
    assert bad.exit_code == 2 and "No such command" in bad.output
