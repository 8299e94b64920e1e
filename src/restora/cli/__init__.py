"""The ``restora`` command: one sub-command group per domain package.

Each group lives in its own module ``restora.cli.<module>`` exposing a Typer ``app`` (or, for
single commands, a ``register(app)`` function), so groups are developed independently.
"""

from __future__ import annotations

import importlib
import importlib.util

import typer

from restora import __version__

app = typer.Typer(
    name="restora",
    help="Restora: legacy-mine register, diagnosis, valuation, costing, finance and appraisal.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

# (module, group name, help). A group whose module is not present yet is simply absent.
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
# Modules that add top-level commands (``register(app)``).
COMMANDS: tuple[str, ...] = ("demo", "appraise")


def _load(module: str) -> object | None:
    name = f"{__name__}.{module}"
    if importlib.util.find_spec(name) is None:
        return None
    return importlib.import_module(name)


for _module, _group, _help in GROUPS:
    _mod = _load(_module)
    if _mod is not None:
        app.add_typer(_mod.app, name=_group, help=_help)  # type: ignore[attr-defined]
for _module in COMMANDS:
    _mod = _load(_module)
    if _mod is not None:
        _mod.register(app)  # type: ignore[attr-defined]


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
