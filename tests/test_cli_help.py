"""Help text people read: no type labels on flags, no reST markup, units on quantities; and
``restora --help`` lists every command without importing any command module (issue 12, items
9 and 13)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from restora.cli import COMMAND_HELP, COMMANDS, GROUPS, _build, app

NAMES = [g for _, g, _ in GROUPS] + [c for _, cs in COMMANDS for c in cs]


def _walk(cmd: Any, path: list[str]) -> Iterator[tuple[list[str], Any]]:
    yield path, cmd
    if hasattr(cmd, "list_commands"):
        ctx = cmd.context_class(cmd, info_name=path[-1])
        for name in cmd.list_commands(ctx):
            yield from _walk(cmd.get_command(ctx, name), [*path, name])


def _commands() -> list[tuple[list[str], Any]]:
    return [item for name in NAMES for item in _walk(_build(name), [name])]


def _float_param(p: Any) -> bool:
    desc = getattr(p, "type_descriptor", None)
    return desc is not None and getattr(desc, "annotation", None) is float


def test_help_texts_have_no_rest_markup_and_floats_state_units():
    """Every command and option help of every module (cli/mines.py included: its edits go to
    its owner): no ``double`` or `single` backticks; every float option states a unit in
    [brackets] (a rate [1/yr], a fraction [-] …). Fails on the old texts (``cost estimate``'s
    JSON keys in double backticks, ``finance risk --swing`` without a unit)."""
    bad = []
    for path, cmd in _commands():
        if "`" in (cmd.help or ""):
            bad.append(f"{' '.join(path)}: help has backticks")
        for p in cmd.params:
            text = getattr(p, "help", None) or ""
            if "`" in text:
                bad.append(f"{' '.join(path)} {p.name}: help has backticks")
            if _float_param(p) and not re.search(r"\[[^\]]+\]", text):
                bad.append(f"{' '.join(path)} {p.name}: float option without a [unit]")
    assert bad == []


@pytest.mark.parametrize("args", [["--help"], ["demo", "--help"], ["mines", "import", "--help"]])
def test_flags_show_no_bool_label(args):
    """Typer labels boolean flags ``<bool>``; restora.cli turns that off (old: ``--version
    <bool>``, ``--pdf/--no-pdf <bool>``)."""
    res = CliRunner().invoke(app, args, env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    assert "<bool>" not in res.output
    assert "--help" in res.output


def test_csv_commands_take_bom_and_exports_do_not():
    """Every command with the shared --format option has --bom/--no-bom; mines export (files,
    always with a BOM) has not."""
    with_format = []
    for path, cmd in _commands():
        opts = {o for p in cmd.params for o in (*p.opts, *p.secondary_opts)}
        if "--format" in opts and path != ["mines", "export"]:
            with_format.append(path)
            assert {"--bom", "--no-bom"} <= opts, path
    assert len(with_format) > 30
    export = next(cmd for path, cmd in _commands() if path == ["mines", "export"])
    assert not any("--bom" in p.opts for p in export.params)


def test_root_help_stand_ins_match_the_commands():
    """The root help lists top-level commands from COMMAND_HELP without importing them; the
    text must be the first paragraph of each command's own help."""
    for _, names in COMMANDS:
        for name in names:
            root = typer.main.get_command(app)
            ctx = root.context_class(root, info_name="restora")
            real = root.get_command(ctx, name)
            assert real.help.split("\n\n")[0].replace("\n", " ") == COMMAND_HELP[name]


PROBE = """
import json, sys
from restora.cli import main
sys.argv = ["restora", "--help"]
try:
    main()
except SystemExit as exc:
    code = exc.code
mods = sorted(m for m in sys.modules if m.startswith("restora.") and m != "restora.cli")
heavy = sorted(
    m
    for m in ("pandas", "numpy", "importlib.metadata", "yaml", "typer.rich_utils", "rich.markdown")
    if m in sys.modules
)
print(json.dumps({"exit": code, "restora": mods, "heavy": heavy}))
"""


def test_root_help_imports_no_command_module():
    """``restora --help`` used to import every command module (pandas, geopandas, the register
    and the report stacks: 2-3 s); now none, nor Typer's Markdown-capable help renderer
    (benchmarks/cli_startup.py times it)."""
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True)
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got == {"exit": 0, "restora": [], "heavy": []}
    assert all(n in out.stdout for n in NAMES)
