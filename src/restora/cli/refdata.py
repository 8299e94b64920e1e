"""``restora refdata list|show``: the reference tables and their provenance."""

from __future__ import annotations

import datetime as dt

import typer

from restora import refdata
from restora.cli.output import Format, FormatOption, emit, handled

app = typer.Typer(no_args_is_help=True)


@app.command("list")
def list_tables(fmt: Format = FormatOption) -> None:
    """List every reference table with its source, unit and versions."""
    rows = []
    for name, tf in refdata.catalogue().items():
        rows.append(
            {
                "name": name,
                "title": tf.meta.get("title", ""),
                "source": tf.meta.get("source", ""),
                "unit": tf.meta.get("unit"),
                "versions": [
                    {
                        "version": v.version,
                        "valid_from": v.valid_from.isoformat(),
                        "region": v.region,
                    }
                    for v in tf.versions
                ],
            }
        )
    emit(
        rows,
        fmt,
        columns=["name", "title", "unit", "source"] if fmt == Format.table else None,
        title="Reference tables",
    )


@app.command("show")
def show(
    name: str = typer.Argument(..., help="Table name, e.g. soil/gb15618-2018/screening."),
    on: str = typer.Option(None, help="Date whose values apply (YYYY-MM-DD); default today."),
    region: str = typer.Option(None, help="6-digit GB/T 2260 region code; default national."),
    fmt: Format = FormatOption,
) -> None:
    """Show the version of a table in force on a date for a region, with its provenance."""
    with handled():
        t = refdata.get(name, on=on or dt.date.today(), region=region)
        data = t.data.to_dict("records") if hasattr(t.data, "to_dict") else t.data
        if fmt == Format.json:
            emit({"provenance": t.provenance(), "title": t.title, "data": data}, fmt)
            return
        if fmt == Format.table:
            emit(
                t.provenance(),
                Format.table,
                rows=[{"key": k, "value": v} for k, v in t.provenance().items()],
                title=t.title,
            )
        if isinstance(data, list) and data and isinstance(data[0], dict):
            emit(data, fmt)
        elif isinstance(data, dict):
            emit(data, fmt, rows=[{"key": k, "value": v} for k, v in data.items()])
        else:
            emit({"value": data}, fmt)
