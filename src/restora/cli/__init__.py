"""The ``restora`` command: one sub-command group per domain package.

Each group lives in its own module ``restora.cli.<module>`` exposing a Typer ``app`` (or, for
single commands, a ``register(app)`` function), so groups are developed independently.

``restora --help`` imports none of them (it lists the groups from :data:`GROUPS` and
:data:`COMMAND_HELP`): the help comes up in a fraction of a second (benchmarks/cli_startup.py).
Every command that takes the shared ``--format`` option also gets ``--bom/--no-bom``
(:func:`restora.cli.output.bom_wanted`). Ctrl-C ends any command with exit code 130 and a
one-line message, never a traceback.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import sys
from typing import Any

import typer
from typer.core import TyperCommand, TyperGroup, TyperOption

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
    ("match", "match", "Projects matched to finance products: eligibility, optimal allocation."),
    ("users", "users", "Platform accounts: create, token, list, deactivate."),
    ("registry", "registry", "Credits and quotas: the tamper-evident ledger."),
    ("monitor", "monitor", "Sensors, alerts, remote sensing, milestone sign-off, integrity."),
    ("evaluate", "evaluate", "Policy evaluation: indicators, disparity, effects, coordination."),
)
# Modules that add top-level commands (``register(app)``): (module, command names).
COMMANDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("demo", ("demo",)),
    ("appraise", ("appraise",)),
    ("serve", ("serve",)),
    ("worker", ("worker",)),
)
# The first line of each top-level command's help, for ``restora --help`` without importing
# the command's module (tests/test_cli_help.py checks it against the command's own help).
COMMAND_HELP: dict[str, str] = {
    "demo": "Import the demo county, rank it, appraise the three highest-priority mines, "
    "write reports.",
    "appraise": "Appraise a project: diagnosis, plan, cost, value, revenue, cash flows, "
    "financing, risk, modes.",
    "serve": "Serve the REST API (/api/v1) and the web pages.",
    "worker": "Run background jobs (appraisals) from the queue at RESTORA_BROKER_URL.",
}


def _flag_type_rich(self: TyperOption, ctx: Any) -> str | None:
    """No type label for a boolean flag (``--pdf/--no-pdf``, not ``--pdf <bool>``)."""
    if self.metavar is None and getattr(self, "is_bool_flag", False):
        return None
    return _typed_display(self, ctx)


# Typer labels every option with its type, boolean flags as ``<bool>``; a flag takes no value,
# so its label only misleads. One override here applies to every command.
_typed_display = TyperOption.display_type_rich
TyperOption.display_type_rich = _flag_type_rich  # type: ignore[method-assign]


def _load(module: str) -> Any:
    return importlib.import_module(f"{__name__}.{module}")


class _LazyGroup(TyperGroup):
    """The root group: a sub-command's module is imported only when that command is used.

    ``restora cost estimate`` imports :mod:`restora.cli.cost` and what it needs, not the
    register, raster and report stacks of the other groups; ``restora --help`` still lists all.
    """

    _listing = False  # True while the root help is written: list names, import nothing

    def list_commands(self, ctx: Any) -> list[str]:
        lazy = [g for _, g, _ in GROUPS] + [c for _, names in COMMANDS for c in names]
        return list(dict.fromkeys([*super().list_commands(ctx), *lazy]))

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name not in self.commands:
            if self._listing:
                return _listed(cmd_name)
            built = _build(cmd_name)
            if built is None:
                return None
            self.commands[cmd_name] = built
        return super().get_command(ctx, cmd_name)

    def format_help(self, ctx: Any, formatter: Any) -> None:
        self._listing = True
        try:
            if self.rich_markup_mode is None:
                super().format_help(ctx, formatter)
            else:
                _root_help(self, ctx)
        finally:
            self._listing = False

    def invoke(self, ctx: Any) -> Any:
        from restora.cli.output import interrupted, watch_interrupts

        watch_interrupts()
        try:
            result = super().invoke(ctx)
        except KeyboardInterrupt:
            sys.stderr.write("\ninterrupted\n")
            raise typer.Exit(130) from None
        if interrupted():  # a Ctrl-C that a library swallowed after the last step
            sys.stderr.write("\ninterrupted\n")
            raise typer.Exit(130)
        return result


def _root_help(group: _LazyGroup, ctx: Any) -> None:
    """``restora --help`` in Typer's layout (usage, help, Options and Commands panels).

    Written with rich's console, table and panel only: Typer's own help renderer imports
    rich's Markdown, traceback and pretty-printing modules (≈ 0.1 s of a 0.3 s start) for a
    page that needs none of them (benchmarks/cli_startup.py).
    """
    import os

    from rich.console import Console
    from rich.padding import Padding
    from rich.panel import Panel
    from rich.table import Table
    from rich.text import Text

    width = os.environ.get("TERMINAL_WIDTH")
    console = Console(highlight=False, width=int(width) if width else None)
    console.print(Padding(Text(group.get_usage(ctx), style="bold"), 1))
    console.print(Padding(Text(group.help or ""), (0, 1, 1, 1)))

    def panel(title: str, rows: list[tuple[str, ...]]) -> None:
        table = Table(highlight=False, show_header=False, expand=True, box=None,
                      pad_edge=False, padding=(0, 1))  # fmt: skip
        table.add_column(style="bold cyan", no_wrap=True)
        if len(rows[0]) == 3:
            table.add_column(style="bold green", no_wrap=True)
        table.add_column(ratio=10)
        for row in rows:
            table.add_row(*row)
        console.print(Panel(table, border_style="dim", title=title, title_align="left"))

    options: list[tuple[str, ...]] = []
    for param in group.get_params(ctx):
        if getattr(param, "hidden", False):
            continue
        names = [*param.opts, *param.secondary_opts]
        longs = ",".join(n for n in names if n.startswith("--"))
        shorts = ",".join(n for n in names if not n.startswith("--"))
        options.append((longs, shorts, getattr(param, "help", None) or ""))
    panel("Options", options)
    commands: list[tuple[str, ...]] = []
    for name in group.list_commands(ctx):
        cmd = group.get_command(ctx, name)
        if cmd is not None and not cmd.hidden:
            commands.append((name, (cmd.help or "").split("\n\n")[0].replace("\n", " ")))
    panel("Commands", commands)


def _listed(cmd_name: str) -> Any:
    """A stand-in for a command in the root help: its name and help, its module not imported."""
    for _, group, help_text in GROUPS:
        if group == cmd_name:
            return TyperGroup(name=group, help=help_text)
    if cmd_name in COMMAND_HELP:
        return TyperCommand(name=cmd_name, help=COMMAND_HELP[cmd_name])
    return None


def _with_bom(fn: Any) -> Any:
    """``fn`` with a ``--bom/--no-bom`` option when it takes the shared ``--format`` option."""
    from restora.cli.output import BomOption, FormatOption, SendFormatOption, set_bom

    sig = inspect.signature(fn, eval_str=True)
    if "bom" in sig.parameters or not any(
        p.default is FormatOption or p.default is SendFormatOption for p in sig.parameters.values()
    ):
        return fn

    @functools.wraps(fn)
    def command(*args: Any, bom: bool | None = None, **kwargs: Any) -> Any:
        set_bom(bom)
        try:
            return fn(*args, **kwargs)
        finally:
            set_bom(None)  # the next command in this process (tests) starts afresh

    extra = inspect.Parameter(
        "bom", inspect.Parameter.KEYWORD_ONLY, default=BomOption, annotation=bool | None
    )
    params = list(sig.parameters.values())
    tail = next((i for i, p in enumerate(params) if p.kind is p.VAR_KEYWORD), len(params))
    command.__signature__ = sig.replace(  # type: ignore[attr-defined]
        parameters=[*params[:tail], extra, *params[tail:]]
    )
    command.__annotations__ = {
        **{p.name: p.annotation for p in params if p.annotation is not p.empty},
        "bom": bool | None,
    }
    return command


def _add_bom(app: typer.Typer) -> None:
    """Give every command of ``app`` (and of its sub-groups, and a group's own callback when
    it lists, as ``monitor alerts`` does) that prints CSV a ``--bom``."""
    own = app.registered_callback
    if own is not None and own.callback is not None:
        own.callback = _with_bom(own.callback)
    for info in app.registered_commands:
        if info.callback is not None:
            info.callback = _with_bom(info.callback)
    for group in app.registered_groups:
        if group.typer_instance is not None:
            _add_bom(group.typer_instance)


def _build(cmd_name: str) -> Any:
    """The click command of one group or top-level command, built from its module."""
    holder = typer.Typer()

    @holder.callback()
    def _holder() -> None:  # a callback keeps the holder a group even with one command
        pass

    for module, group, help_text in GROUPS:
        if group == cmd_name:
            sub = _load(module).app
            _add_bom(sub)
            holder.add_typer(sub, name=group, help=help_text)
            break
    else:
        for module, names in COMMANDS:
            if cmd_name in names:
                _load(module).register(holder)
                break
        else:
            return None
    _add_bom(holder)
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
        from restora import __version__

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
    try:
        app()
    except Exception as exc:  # the last resort: no traceback reaches a user
        from restora.cli.output import report_unexpected

        report_unexpected(exc)
