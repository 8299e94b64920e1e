"""``restora appraise PROJECT.yaml``: a project through the whole pipeline, with its report.

The register comes from the store (``--db``) or straight from a county folder (``--county
DIR`` holding ``register.gpkg``, ``soil_samples.csv``, ``hazards.csv`` and ``context.gpkg``);
``--context`` names a context GeoPackage for the store case. Writes into ``--out DIR``
(default ``appraisal-output/<project_id>``): ``appraisal.json``, ``appraisal.xlsx`` (its main
tables, :mod:`restora.appraisal.workbook`, in the report's language), ``report-<lang>.html``
and ``report-<lang>.pdf``. On a terminal each stage is shown as it starts (not with
``--format json``, nor when stdout or stderr is redirected); Ctrl-C stops with exit code 130.

JSON contract (stable)::

    {"project_id": str, "appraisal": path, "workbook": path,
     "reports": {"html": path, "pdf": path|null},
     "not_assessed": {stage: reason}, "cost_p50_cny", "cost_p90_cny", "esv_before_cny_per_yr",
     "esv_after_cny_per_yr", "npv_cny", "irr", "p_npv_negative", "notes": [str]}

The document ``appraisal.json`` itself is described in docs/appraisal.md.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer

from restora.cli.output import (
    DbOption,
    Format,
    FormatOption,
    OnOption,
    dumps,
    emit,
    err_console,
    handled,
    progress_wanted,
    stage_progress,
)
from restora.errors import InputError

COUNTY_FILES = ("register.gpkg", "soil_samples.csv", "hazards.csv")
LANGS = ("zh", "en")
#: Steps of one project after the pipeline's stages (restora.appraisal.pipeline.STAGES).
WRITE_STEPS = ("workbook", "report")


def county_from_folder(folder: Path) -> Any:
    """Read a county folder (the demo county's layout) with :func:`read_county`."""
    from restora.appraisal.io import read_county

    missing = [f for f in COUNTY_FILES if not (folder / f).is_file()]
    if missing:
        raise InputError(f"missing {', '.join(missing)}", file=str(folder))
    ctx = folder / "context.gpkg"
    return read_county(
        [folder / f for f in COUNTY_FILES], ctx if ctx.is_file() else None, lonlat_wgs84=True
    )


def county_from_store(db: str | None, context: str | None) -> Any:
    """The whole register from the store, and a context GeoPackage when given."""
    from restora.appraisal.io import County, sha256_file
    from restora.diagnosis.context_io import MAP_LAYERS, read_context
    from restora.store import Store

    with Store(db) as store:
        reg = store.load_register()
    ctx = read_context(context, extra_layers=MAP_LAYERS) if context else {}
    inputs = [{"file": f"store {db or 'default'}", "sha256": ""}]
    if context:
        inputs.append({"file": context, "sha256": sha256_file(context)})
    return County(register=reg, context=ctx, inputs=inputs)


def write_project(
    spec: Any,
    project_input: dict[str, Any],
    county: Any,
    diagnosis: Any,
    out_dir: Path,
    *,
    lang: str,
    pdf: bool,
    on: str | None,
    progress: Callable[[str], None] | None = None,
) -> tuple[dict[str, Any], dict[str, Path]]:
    """Appraise one project; write appraisal.json, appraisal.xlsx and the report into ``out_dir``.

    ``progress`` is called with ``"<project_id>: <step>"`` as each pipeline stage, the
    workbook and the report start.
    """
    from restora.appraisal.mapdata import map_data
    from restora.appraisal.pipeline import appraise
    from restora.appraisal.report import write_report
    from restora.appraisal.workbook import write_workbook

    def step(name: str) -> None:
        if progress is not None:
            progress(f"{spec.project_id}: {name}")

    doc = appraise(
        spec,
        county.register,
        diagnosis,
        project_input=project_input,
        county_inputs=county.inputs,
        notes=county.notes,
        map_data=map_data(county.register.sites, county.context, spec.mines),
        on=on,
        progress=step,
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "appraisal.json"
    path.write_text(dumps(doc) + "\n", encoding="utf-8")
    step("workbook")
    book = write_workbook(doc, out_dir / "appraisal.xlsx", lang)
    step("report (PDF)" if pdf else "report")
    paths = {"appraisal": path, "workbook": book, **write_report(doc, out_dir, lang, pdf=pdf)}
    return doc, paths


def headline(doc: dict[str, Any], paths: dict[str, Path]) -> dict[str, Any]:
    """The command's JSON summary of one appraisal."""
    st = doc["stages"]
    risk = st["risk"].get("summary", {}) if st["risk"].get("status") == "assessed" else {}
    return {
        "project_id": doc["project"]["project_id"],
        "mines": doc["project"]["mines"],
        "appraisal": str(paths["appraisal"]),
        "workbook": str(paths["workbook"]),
        "reports": {
            "html": str(paths["html"]),
            "pdf": str(paths["pdf"]) if "pdf" in paths else None,
        },
        "not_assessed": doc["not_assessed"],
        "cost_p50_cny": st["cost"]["total"]["p50_cny"],
        "cost_p90_cny": st["cost"]["total"]["p90_cny"],
        "esv_before_cny_per_yr": st["value"]["esv"]["before_cny_per_yr"],
        "esv_after_cny_per_yr": st["value"]["esv"]["after_cny_per_yr"],
        "npv_cny": st["cashflow"]["npv_cny"],
        "irr": st["cashflow"]["irr"],
        "p_npv_negative": risk.get("p_npv_negative"),
        "notes": doc["notes"],
    }


def register(app: typer.Typer) -> None:
    """Add the top-level ``appraise`` command."""

    @app.command("appraise")
    def appraise_command(
        project: Path = typer.Argument(..., help="PROJECT.yaml (see examples/demo-projects)."),
        county: Path = typer.Option(
            None, "--county", help="County folder (register.gpkg, soil_samples.csv, hazards.csv, context.gpkg) instead of the store."
        ),
        db: str | None = DbOption,
        context: str = typer.Option(None, "--context", help="Context GeoPackage (with --db)."),
        out: Path = typer.Option(None, "--out", "-o", help="Output folder (default appraisal-output/<project_id>)."),
        lang: str = typer.Option("zh", "--lang", help="Report language: zh or en."),
        pdf: bool = typer.Option(True, "--pdf/--no-pdf", help="Also write the PDF."),
        on: str | None = OnOption,
        fmt: Format = FormatOption,
    ) -> None:  # fmt: skip
        """Appraise a project: diagnosis, plan, cost, value, revenue, cash flows, financing, risk, modes.

        Writes appraisal.json, appraisal.xlsx (its main tables) and the report into --out.
        """
        from restora.appraisal.io import read_project
        from restora.appraisal.pipeline import STAGES
        from restora.diagnosis.county import diagnose_county

        total = 2 + len(STAGES) + len(WRITE_STEPS)
        with handled():
            if lang not in LANGS:
                raise InputError("must be zh or en", field="--lang")
            with stage_progress(progress_wanted(fmt), total) as step:
                spec, pin = read_project(project)
                step("reading the county" if county else "reading the register from the store")
                cty = county_from_folder(county) if county else county_from_store(db, context)
                for note in cty.notes:
                    err_console.print(f"[yellow]note:[/] {note}", highlight=False)
                step("diagnosing the county")
                diag = diagnose_county(cty.register, cty.context, on=on)
                target = out or Path("appraisal-output") / spec.project_id
                doc, paths = write_project(
                    spec, pin, cty, diag, target, lang=lang, pdf=pdf, on=on, progress=step
                )
            data = headline(doc, paths)
            if fmt == Format.json:
                emit(data, fmt)
                return
            rows = [
                {"item": k, "value": v} for k, v in data.items() if not isinstance(v, (dict, list))
            ]
            rows += [
                {"item": f"not assessed: {k}", "value": v} for k, v in data["not_assessed"].items()
            ]
            rows += [{"item": f"report ({k})", "value": v} for k, v in data["reports"].items() if v]
            emit(rows, fmt, title=f"Appraisal {spec.project_id}")
