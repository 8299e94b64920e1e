"""The ``restora`` command: one sub-command group per domain package.

Each group lives in its own module ``restora.cli.<module>`` exposing a Typer ``app`` (or, for
single commands, a ``register(app)`` function), so groups are developed independently.
"""

from __future__ import annotations

import importlib
from typing import Any

import typer
from typer.core import TyperGroup

from restora import __version__

# (module, group name, help).
GROUPS: tuple[tuple[str, str, str], ...] = (
    ("refdata", "refdata", "Reference tables: list and show, with sources."),
    ("mines", "mines", "The legacy-mine register: import, export, list, show, rank."),
    ("diagnose", "diagnose", "Soil pollution, gradient zoning, geohazard risk, land suitability."),
    ("value", "value", "Ecosystem-service value, GEP, carbon storage on rasters."),
    ("plan", "plan", "Restoration plans."),
    ("cost", "cost", "Life-cycle cost with uncertainty."),
    ("fund", "fund", "The mine restoration fund."),
    ("finance", "finance", "Cash-flow metrics and financing instruments."),
    ("modes", "modes", "Value-realization modes and IAD evaluation."),
)
# Modules that add top-level commands (``register(app)``): (module, command names).
COMMANDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("demo", ("demo",)),
    ("appraise", ("appraise",)),
)


def _load(module: str) -> Any:
    return importlib.import_module(f"{__name__}.{module}")


class _LazyGroup(TyperGroup):
    """The root group: a sub-command's module is imported only when that command is used.

    ``restora cost estimate`` imports :mod:`restora.cli.cost` and what it needs, not the
    register, raster and report stacks of the other groups; ``restora --help`` still lists all.
    """

    def list_commands(self, ctx: Any) -> list[str]:
        lazy = [g for _, g, _ in GROUPS] + [c for _, names in COMMANDS for c in names]
        return list(dict.fromkeys([*super().list_commands(ctx), *lazy]))

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name not in self.commands:
            built = _build(cmd_name)
            if built is None:
                return None
            self.commands[cmd_name] = built
        return super().get_command(ctx, cmd_name)


def _build(cmd_name: str) -> Any:
    """The click command of one group or top-level command, built from its module."""
    holder = typer.Typer()

    @holder.callback()
    def _holder() -> None:  # a callback keeps the holder a group even with one command
        pass

    for module, group, help_text in GROUPS:
        if group == cmd_name:
            holder.add_typer(_load(module).app, name=group, help=help_text)
            break
    else:
        for module, names in COMMANDS:
            if cmd_name in names:
                _load(module).register(holder)
                break
        else:
            return None
    root = typer.main.get_command(holder)
    assert isinstance(root, TyperGroup)
    return root.commands.get(cmd_name)


app = typer.Typer(
    name="restora",
    help="Restora: legacy-mine register, diagnosis, valuation, costing, finance and appraisal.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    cls=_LazyGroup,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"restora {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version."
    ),
) -> None:
    """Restora command line."""


def main() -> None:
    app()
