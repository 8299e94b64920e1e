"""``restora mines rank``: the register ranked for restoration priority, with component scores.

The ``mines`` group (``restora.cli.mines``) calls :func:`add_commands` to add the command.

JSON contract (stable)::

    {"ranking": [{"rank", "mine_id", "name", "score", "damage", "risk", "potential",
                  "damaged_area_hm2", "damaged_area_weighted_hm2", "hazard_level",
                  "hazard_grade", "pollution_level", "pollution_class", "distance_to_town_m",
                  "distance_to_road_m", "population_10km", "landscape_level"}],
     "method": {"weights": {"components": {...}, "damage": {...}, "risk": {...},
                            "potential": {...}},
                "dropped_indicators": [str], "dropped_components": [str],
                "normalisation": str, "rule_codes": [str], "pollution_source": str},
     "rule_codes": [str], "reference_tables": [provenance]}

Scores are in [0, 1]; rank 1 is the first mine to restore. ``--format xlsx --out FILE`` writes
the ranking, the weights used and the reference tables as sheets.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import typer
import yaml

from restora.cells import Sheet
from restora.cli.diagnose_site import load_register
from restora.cli.output import (
    DbOption,
    Format,
    OnOption,
    SendFormat,
    SendFormatOption,
    WorkbookOption,
    emit,
    handled,
    workbook_target,
    write_workbook,
)
from restora.diagnosis import county, hazard, priority
from restora.diagnosis.context_io import read_context, read_pollution
from restora.errors import InputError
from restora.inventory.model import Register


def add_commands(app: typer.Typer) -> None:
    """Add ``rank`` to the ``mines`` group ``app``."""
    app.command("rank")(rank_command)


def read_weights(
    spec: str | None, on: str | None
) -> tuple[str, tuple[dict[str, Any], dict[str, Any]] | None]:
    """``--weights``: a reference-table name, or a YAML file (a refdata table or a bare mapping)."""
    if not spec:
        return priority.WEIGHTS_TABLE, None
    path = Path(spec)
    if not path.is_file():
        return spec, None  # a table name, e.g. a user's "priority/weights-hunan"
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise InputError(f"cannot read weights: {exc}", file=str(path)) from exc
    if not isinstance(doc, dict):
        raise InputError("weights must be a YAML mapping", file=str(path))
    if "versions" in doc:
        versions = [v for v in doc["versions"] if str(v.get("valid_from", "")) <= (on or "9999")]
        if not versions:
            raise InputError("no version of the weights in force", file=str(path))
        best = max(versions, key=lambda v: str(v["valid_from"]))
        data = best.get("data")
        prov = {
            "name": str(path),
            "version": str(best.get("version", best["valid_from"])),
            "valid_from": str(best["valid_from"]),
            "source": doc.get("source", str(path)),
            "unit": doc.get("unit", "1"),
        }
    else:
        data = doc
        prov = {"name": str(path), "version": "file", "source": str(path), "unit": "1"}
    if not isinstance(data, dict):
        raise InputError("weights data must be a mapping", file=str(path))
    return str(path), (data, prov)


def pollution_by_mine(
    register: Register, pollution_file: str | None, on: str | None
) -> tuple[pd.DataFrame | None, str, list[dict[str, Any]]]:
    """Worst soil class per mine: from ``--pollution`` or by classifying the register's samples.

    Returns the frame (or None), where it came from, and the reference tables used.
    """
    return county.pollution_by_mine(
        register, read_pollution(pollution_file), on, f"file {pollution_file}"
    )


def rank_command(
    db: str | None = DbOption,
    context: str = typer.Option(
        None,
        "--context",
        help="Context GeoPackage: towns (with population) and roads in a projected CRS.",
    ),
    weights: str = typer.Option(
        None,
        "--weights",
        help="Weights: a reference-table name or a YAML file (default priority/weights).",
    ),
    top: int = typer.Option(None, "--top", min=1, help="Print only the first N mines."),
    pollution: str = typer.Option(
        None,
        "--pollution",
        help="CSV of mine_id or site_id with pollution_class; default: classify the register's samples.",
    ),
    on: str | None = OnOption,
    region: str = typer.Option(
        None, "--region", help="6-digit GB/T 2260 code for regional tables."
    ),
    fmt: SendFormat = SendFormatOption,
    out: Path | None = WorkbookOption,
) -> None:
    """Rank the register by damage degree, risk level and potential development value.

    Scores are in [0, 1]; rank 1 is the first mine to restore. xlsx (--out FILE): the
    ranking, the weights used and the reference tables.
    """
    with handled():
        book = workbook_target(fmt, out)
        name, override = read_weights(weights, on)
        tables = priority.load_tables(
            on=on, region=region, weights_table=name, weights_override=override
        )
        htables = hazard.load_tables(on=on, region=region)
        register = load_register(db)
        result = county.rank_register(
            register,
            tables,
            htables,
            read_context(context),
            pollution=read_pollution(pollution),
            pollution_source=f"file {pollution}",
            on=on,
        )
        method, provenance, codes = result.method, result.provenance, result.rule_codes
        records = result.records(top)
        data = {
            "ranking": records,
            "method": method,
            "rule_codes": codes,
            "reference_tables": provenance,
        }
        if fmt == Format.json:
            emit(data, fmt)
            return
        if fmt == Format.csv:
            emit(data, fmt, rows=records)
            return
        if book is not None:
            write_workbook(book, ranking_sheets(records, method, provenance))
            return
        cols = [
            "rank",
            "mine_id",
            "name",
            "score",
            "damage",
            "risk",
            "potential",
            "damaged_area_hm2",
            "hazard_grade",
            "pollution_class",
            "distance_to_town_m",
            "population_10km",
        ]
        emit(data, fmt, rows=records, columns=cols, title="Restoration priority")
        w = method["weights"]
        emit(
            [
                {"level": lvl, "weights": w[lvl]}
                for lvl in ("components", "damage", "risk", "potential")
            ],
            fmt,
            title="Weights used (dropped: "
            + (", ".join(method["dropped_indicators"]) or "none")
            + ")",
        )
        emit(
            provenance,
            fmt,
            columns=["name", "version", "valid_from", "source"],
            title="Reference tables",
        )


def ranking_sheets(
    records: list[dict[str, Any]], method: dict[str, Any], provenance: list[dict[str, Any]]
) -> list[Sheet]:
    """The workbook of a ranking: the ranking (every column of the JSON), the weights used
    (level, indicator, weight) and the reference tables."""
    w = method["weights"]
    weights = [
        {"level": lvl, "indicator": k, "weight": v}
        for lvl in ("components", "damage", "risk", "potential")
        for k, v in w[lvl].items()
    ]
    tables = ["name", "version", "valid_from", "source"]
    return [
        Sheet("ranking", records),
        Sheet("weights", weights, precision={"weight": 4}),
        Sheet("reference tables", provenance, tables),
    ]
