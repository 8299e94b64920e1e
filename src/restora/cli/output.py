"""Printing results as table, JSON or CSV, and turning errors into exit codes.

Contract (DESIGN.md): every command that prints results takes ``--format table|json|csv``;
JSON is stable; exit 0 on success, 2 on bad input (the message names file, row and field),
1 on other failures.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from restora.errors import InputError, RestoraError

# Outside a terminal (a pipe, a file, CI logs) rich would wrap tables at 80 columns; a report
# redirected to a file should keep its rows whole. COLUMNS, when set, still wins.
_PIPE_WIDTH = 200
_width = None if sys.stdout.isatty() or "COLUMNS" in os.environ else _PIPE_WIDTH
console = Console(width=_width)
err_console = Console(stderr=True)


class Format(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


FormatOption = typer.Option(
    Format.table, "--format", "-f", help="Output format: table, json or csv."
)


def _check_date(value: str | None) -> str | None:
    """``--on`` must be an ISO date; a bad one is a usage error (exit 2) naming the option."""
    if value is None:
        return None
    import datetime as dt

    try:
        dt.date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)") from None
    return value


#: ``--on DATE``: the date whose reference tables apply (default today); one option for all.
OnOption = typer.Option(
    None,
    "--on",
    callback=_check_date,
    help="Date whose reference tables apply (YYYY-MM-DD); default today.",
)
#: ``--db URL``: the store; one option for all.
DbOption = typer.Option(
    None, "--db", help="Store URL; default RESTORA_DATABASE_URL, else the embedded SQLite file."
)


def _clean(value: Any) -> Any:
    """Make values JSON-safe: NaN → null, numpy scalars → Python."""
    if hasattr(value, "item") and not isinstance(value, (list, dict, str)):
        with suppress(ValueError, AttributeError):
            value = value.item()
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def dumps(data: Any) -> str:
    """Stable JSON: UTF-8 (Chinese stays readable), NaN as null, two-space indent."""
    return json.dumps(_clean(data), ensure_ascii=False, indent=2, default=str)


def emit(
    data: Any,
    fmt: Format,
    *,
    rows: Sequence[dict[str, Any]] | None = None,
    columns: Sequence[str] | None = None,
    title: str | None = None,
) -> None:
    """Print ``data`` as JSON, or ``rows`` (default: ``data`` if it is a list) as a table or CSV."""
    if fmt == Format.json:
        sys.stdout.write(dumps(data) + "\n")
        return
    if rows is None:
        rows = data if isinstance(data, list) else [data]
    rows = [_clean(r) for r in rows]
    cols = list(columns) if columns else list(dict.fromkeys(k for r in rows for k in r))
    if fmt == Format.csv:
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=cols, extrasaction="ignore", lineterminator="\n")
        w.writeheader()
        for r in rows:
            w.writerow(
                {
                    k: (json.dumps(v, ensure_ascii=False) if isinstance(v, (dict, list)) else v)
                    for k, v in r.items()
                }
            )
        sys.stdout.write(buf.getvalue())
        return
    table = Table(title=title, show_lines=False)
    for c in cols:
        table.add_column(c, overflow="fold")
    for r in rows:
        table.add_row(*(_cell(r.get(c)) for c in cols))
    console.print(table)


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:,.4g}" if abs(v) < 1e4 else f"{v:,.0f}"
    if isinstance(v, (dict, list)):
        return json.dumps(v, ensure_ascii=False)
    return str(v)


@contextmanager
def handled() -> Iterator[None]:
    """Run a command body, mapping Restora errors to messages and exit codes 2 / 1."""
    try:
        yield
    except InputError as exc:
        err_console.print(
            f"[bold red]error:[/] {escape(str(exc))}", highlight=False, markup=True, soft_wrap=True
        )
        raise typer.Exit(exc.exit_code) from exc
    except RestoraError as exc:
        err_console.print(
            f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True
        )
        raise typer.Exit(exc.exit_code) from exc


def read_input_text(path: str) -> tuple[str, str]:
    """The text of an input file (UTF-8), or of standard input for ``-``, and its display name.

    Raises
    ------
    InputError
        The file cannot be read (exit 2), naming it.
    """
    name = "<stdin>" if path == "-" else path
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read the file ({exc.strerror})", file=name) from exc
    return text, name


def read_input_json(path: str) -> tuple[Any, str]:
    """The parsed JSON of an input file, or of standard input for ``-``, and its display name.

    Raises
    ------
    InputError
        The file cannot be read, or is not valid JSON (exit 2, naming the file and line).
    """
    text, name = read_input_text(path)
    try:
        return json.loads(text), name
    except json.JSONDecodeError as exc:
        raise InputError(f"not valid JSON: {exc.msg}", file=name, row=f"line {exc.lineno}") from exc
