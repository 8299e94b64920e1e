"""``restora evaluate indicators``: the policy indicators over a set of projects, their figures
by region and the disparity across regions, exported to XLSX and charts (docs/evaluation.md).
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Any

import typer

from restora.cli.output import DbOption, Format, FormatOption, OnOption, console, emit, handled


class Level(StrEnum):
    county = "county"
    city = "city"
    province = "province"


def register(app: typer.Typer) -> None:
    """Add ``indicators`` to ``restora evaluate``."""

    @app.command("indicators")
    def indicators_command(
        region: str | None = typer.Option(
            None, "--region", help="Region code or prefix: 43 a province, 4305 a city, 430599."
        ),
        year_from: int | None = typer.Option(
            None, "--from", help="First start year of the projects [yr]."
        ),
        year_to: int | None = typer.Option(
            None, "--to", help="Last start year of the projects [yr]."
        ),
        mineral: str | None = typer.Option(
            None, "--mineral", help="Only projects with a mine of this mineral (register)."
        ),
        mode: str | None = typer.Option(
            None,
            "--mode",
            help="Only projects of this primary mode: safety_baseline, resource_utilization, "
            "property_rights, industry_integration.",
        ),
        by: Level = typer.Option(
            Level.county, "--by", help="Regions of the by-region table and the disparity."
        ),
        xlsx: Path | None = typer.Option(
            None, "--xlsx", help="Also write the tables to this XLSX workbook."
        ),
        charts: Path | None = typer.Option(
            None, "--charts", help="Also draw the charts (PNG and PDF) into this folder."
        ),
        on: str | None = OnOption,
        db: str | None = DbOption,
        fmt: Format = FormatOption,
    ) -> None:
        """Indicators of market-oriented restoration policy over the projects in the store.

        Social capital attracted and its share beside public budgets and enterprises' own funds,
        leverage of public money, quotas and credits issued, used and traded, earth and stone,
        modes adopted, management cycle, restored area, ESV/GEP per yuan, jobs, fund
        sufficiency, milestones on time — each with its code and unit, or why it is not
        available. JSON: the whole result (indicators, tables, regions, disparity).
        """
        import datetime as dt

        from restora.errors import InputError
        from restora.evaluation import export
        from restora.evaluation.indicators import MODES, Filters
        from restora.store import Store, default_url
        from restora.store import evaluation as ev

        with handled():
            if mode is not None and mode not in MODES:
                raise InputError(f"{mode!r} is not one of {', '.join(MODES)}", field="--mode")
            if year_from is not None and year_to is not None and year_from > year_to:
                raise InputError(f"--from {year_from} is after --to {year_to}", field="--from")
            if region is not None and not (region.isdigit() and len(region) <= 6):
                raise InputError(f"{region!r} is not a region code (digits)", field="--region")
            filters = Filters(region, year_from, year_to, mineral, mode)
            day = dt.date.fromisoformat(on) if on else None
            with Store(db or default_url()) as store:
                result = ev.evaluate(store, filters=filters, on=day, level=by.value)
            written: list[str] = []
            if xlsx is not None:
                written.append(str(export.write_workbook(result, xlsx)))
            if charts is not None:
                written += [str(p) for p in export.write_charts(result, charts)]
        if fmt == Format.json:
            emit({**result, "files": written}, fmt)
            return
        emit(_rows(result), fmt, columns=_COLUMNS, title="Policy indicators")
        if fmt == Format.table:
            for path in written:
                console.print(f"written: {path}", highlight=False)


_COLUMNS = ["code", "name_zh", "name_en", "value", "unit", "n", "reason"]


def _rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    return [{k: i[k] for k in _COLUMNS} for i in result["indicators"]]
