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

Scores are in [0, 1]; rank 1 is the first mine to restore.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import typer
import yaml

from restora.cli.diagnose_site import (
    classify_samples,
    load_register,
    mine_location,
    read_context,
    read_pollution,
    worst_class,
)
from restora.cli.output import Format, FormatOption, emit, handled
from restora.diagnosis import hazard, priority
from restora.errors import InputError, RestoraError
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
    pol = read_pollution(pollution_file)
    if pol is not None:
        if "mine_id" not in pol.columns:
            site_mine = dict(zip(register.sites["site_id"], register.sites["mine_id"], strict=True))
            pol = pol.assign(mine_id=pol["site_id"].map(site_mine))
        worst = (
            pol.dropna(subset=["mine_id"]).groupby("mine_id")["pollution_class"].agg(worst_class)
        )
        return worst.rename("pollution_class").reset_index(), f"file {pollution_file}", []
    classes, source, provenance = classify_samples(register.samples, on)
    if classes is None:
        return None, source, []
    worst = (
        classes.dropna(subset=["mine_id"]).groupby("mine_id")["pollution_class"].agg(worst_class)
    )
    return worst.rename("pollution_class").reset_index(), source, provenance


def rank_command(
    db: str = typer.Option(
        None, "--db", help="Store URL; default RESTORA_DATABASE_URL or the embedded SQLite file."
    ),
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
    on: str = typer.Option(
        None, "--on", help="Date whose reference tables apply (YYYY-MM-DD); default today."
    ),
    region: str = typer.Option(
        None, "--region", help="6-digit GB/T 2260 code for regional tables."
    ),
    fmt: Format = FormatOption,
) -> None:
    """Rank the register by damage degree, risk level and potential development value."""
    with handled():
        name, override = read_weights(weights, on)
        tables = priority.load_tables(
            on=on, region=region, weights_table=name, weights_override=override
        )
        htables = hazard.load_tables(on=on, region=region)
        register = load_register(db)
        if not len(register.mines):
            raise RestoraError("the register is empty: import mines first (`restora mines import`)")
        graded = hazard.grade_hazards(register.hazards.reset_index(drop=True), htables)
        grades = hazard.grade_mines(graded, list(register.mines["mine_id"]))
        pol, pol_source, pol_tables = pollution_by_mine(register, pollution, on)
        ctx = read_context(context)
        loc = mine_location(register.sites, ctx, tables.population_radius_m) if ctx else None
        raw = priority.indicators(register.mines, register.sites, tables, grades, pol, loc)
        ranked, method = priority.rank(raw, tables)
        ranked.insert(
            ranked.columns.get_loc("hazard_level") + 1,
            "hazard_grade",
            ranked["mine_id"].map(dict(zip(grades["mine_id"], grades["grade"], strict=True))),
        )
        pol_map = (
            dict(zip(pol["mine_id"], pol["pollution_class"], strict=True))
            if pol is not None
            else {}
        )
        ranked.insert(
            ranked.columns.get_loc("pollution_level") + 1,
            "pollution_class",
            ranked["mine_id"].map(pol_map),
        )
        if top:
            ranked = ranked.head(top)
        method["pollution_source"] = pol_source
        provenance = [*tables.provenance, *htables.provenance, *pol_tables]
        codes = sorted({*method["rule_codes"], *(c for cs in grades["rule_codes"] for c in cs)})
        records = ranked.replace({np.nan: None}).to_dict("records")
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
