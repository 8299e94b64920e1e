"""``restora demo``: the main job on the demo county (青山县, fictional).

1. imports the demo county (``examples/demo-county``: register.gpkg, soil_samples.csv,
   hazards.csv with lon/lat in WGS 84) into a NEW SQLite database (``--out DIR``, default
   ``demo-output``; the database is ``DIR/restora.db``) and reads it back;
2. prints a summary of the register;
3. diagnoses the whole county once (hazard grades, soil classes, suitability, location) and
   prints the top ten of the priority ranking with the reasons (component scores, and the
   indicators and rule codes that drove them);
4. appraises the three (``--top N``) highest-priority mines as projects (``examples/demo-projects/<mine>.yaml``;
   a mine without a project file is appraised with the register alone, its revenue and
   financing then "not assessed"), 10 000-draw risk runs, and writes each project's
   appraisal.json, appraisal.xlsx (its main tables) and report (HTML and PDF) under
   ``DIR/<project_id>/``;
5. shows the sites' ESV before/after, GEP, value stages and location-adjusted values, and says
   where the reports are.

On a terminal each step is shown as it starts (a transient rich progress bar on stderr; not
with ``--format json``, nor when stdout or stderr is redirected). Ctrl-C stops the demo with
exit code 130 and no traceback.

JSON (``--format json``)::

    {"database": str, "register": {...counts...}, "ranking_top10": [{rank, mine_id, name,
     score, damage, risk, potential, reasons: [str], rule_codes: [str]}],
     "projects": [{...`restora appraise` JSON..., "sites": [...], "stages": {...},
                   "location": [...]}], "seconds": float}
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import typer

from restora.cli.output import (
    Format,
    FormatOption,
    OnOption,
    console,
    emit,
    err_console,
    handled,
    progress_wanted,
    stage_progress,
)

ROOT = Path(__file__).resolve().parents[3]
DEMO_COUNTY = ROOT / "examples" / "demo-county"
DEMO_PROJECTS = ROOT / "examples" / "demo-projects"
TOP_N = 3


def register_summary(reg: Any) -> dict[str, Any]:
    """Counts of the register: mines by mineral and status, sites by kind, area [hm²]."""
    mines, sites = reg.mines, reg.sites
    return {
        "mines": len(mines),
        "sites": len(sites),
        "samples": len(reg.samples),
        "hazards": len(reg.hazards),
        "damaged_area_hm2": float(sites["area_hm2"].sum()),
        "by_mineral": {str(k): int(v) for k, v in mines["mineral"].value_counts().items()},
        "by_status": {str(k): int(v) for k, v in mines["status"].value_counts().items()},
        "sites_by_kind": {str(k): int(v) for k, v in sites["kind"].value_counts().items()},
    }


def project_for(mine_id: str, start_year: int) -> tuple[Any, dict[str, Any]]:
    """The demo project file of a mine, or a project of the register alone."""
    from restora.appraisal.io import parse_project, read_project

    path = DEMO_PROJECTS / f"{mine_id}.yaml"
    if path.is_file():
        return read_project(path)
    spec = parse_project(
        {
            "project_id": f"QS-P-{mine_id.split('-')[-1]}",
            "name": f"{mine_id} 生态修复项目",
            "mines": [mine_id],
            "start_year": start_year,
            "note": "no project file: revenue and financing not assessed",
            "fictional": True,
        },
        f"<generated for {mine_id}>",
    )
    return spec, {"file": f"<generated for {mine_id}>", "sha256": None}


def register(app: typer.Typer) -> None:
    """Add the top-level ``demo`` command."""

    @app.command("demo")
    def demo_command(
        out: Path = typer.Option(Path("demo-output"), "--out", "-o", help="Output folder (database and reports)."),
        county: Path = typer.Option(DEMO_COUNTY, "--county", help="County folder (default: the demo county)."),
        top: int = typer.Option(TOP_N, "--top", min=1, max=10, help="Mines to appraise (highest priority first)."),
        lang: str = typer.Option("zh", "--lang", help="Report language: zh or en."),
        pdf: bool = typer.Option(True, "--pdf/--no-pdf", help="Write PDF reports too."),
        on: str | None = OnOption,
        fmt: Format = FormatOption,
    ) -> None:  # fmt: skip
        """Import the demo county, rank it, appraise the three highest-priority mines, write reports."""
        from restora.appraisal.io import County
        from restora.appraisal.pipeline import STAGES
        from restora.cli.appraise import WRITE_STEPS, county_from_folder, headline, write_project
        from restora.diagnosis.county import diagnose_county
        from restora.errors import InputError
        from restora.store import Store

        t0 = time.perf_counter()
        total = 3 + top * (len(STAGES) + len(WRITE_STEPS))
        with handled(), stage_progress(progress_wanted(fmt), total) as step:
            if lang not in ("zh", "en"):
                raise InputError("must be zh or en", field="--lang")
            table = fmt == Format.table
            step("reading the county files")
            read = county_from_folder(county)
            out.mkdir(parents=True, exist_ok=True)
            db = out / "restora.db"
            if db.exists():
                db.unlink()
            url = f"sqlite:///{db.resolve()}"
            step("writing the register to a new SQLite database")
            with Store(url) as store:
                store.add_register(read.register, source={"files": read.inputs})
                reg = store.load_register()
            cty = County(register=reg, context=read.context, inputs=read.inputs, notes=read.notes)
            summary = register_summary(reg)
            if table:
                console.print(f"[bold]Register imported into a new SQLite database:[/] {db}")
                for note in cty.notes:
                    err_console.print(f"[yellow]note:[/] {note}", highlight=False)
                emit([{"item": k, "value": v} for k, v in summary.items()], fmt, title="Register")
            step("diagnosing and ranking the county")
            diag = diagnose_county(reg, cty.context, on=on)
            top10 = diag.ranking.reasons(10)
            if table:
                cols = ("rank", "mine_id", "name", "score", "damage", "risk", "potential")
                emit(
                    [{k: r[k] for k in cols} for r in top10],
                    fmt,
                    title="Restoration priority: top ten (scores in [0, 1])",
                )
                console.print(
                    "[bold]Why[/] (the weighted component that drove the score; indicators; "
                    "rule codes):"
                )
                for r in top10:
                    console.print(
                        f"  {r['rank']:>2}. {r['mine_id']} {r['name']}: " + "; ".join(r["reasons"]),
                        highlight=False,
                    )
                    console.print(
                        f"      rule codes: {', '.join(r['rule_codes']) or '-'}", highlight=False
                    )
            projects = []
            start_year = int((on or time.strftime("%Y-%m-%d"))[:4])
            for row in top10[:top]:
                spec, pin = project_for(row["mine_id"], start_year)
                doc, paths = write_project(
                    spec,
                    pin,
                    cty,
                    diag,
                    out / spec.project_id,
                    lang=lang,
                    pdf=pdf,
                    on=on,
                    progress=step,
                )
                val = doc["stages"]["value"]
                item = headline(doc, paths)
                item["sites"] = [
                    {
                        k: s[k]
                        for k in (
                            "site_id",
                            "kind",
                            "area_hm2",
                            "type_before",
                            "type_after",
                            "esv_before_cny_per_yr",
                            "esv_after_cny_per_yr",
                        )
                    }
                    for s in val["esv"]["sites"]
                ]
                item.update(diagnosis_summary(doc))
                item["gep"] = val["gep"]
                item["stages"] = [
                    {
                        "year": y["year"],
                        "value_cny_per_yr": y["value_cny_per_yr"],
                        "stage": y["stage_code"],
                    }
                    for y in val["stages"]["years"]
                ]
                item["location"] = val["location"]["rows"]
                projects.append(item)
                if table:
                    _print_project(item, fmt)
            data = {
                "database": str(db),
                "register": summary,
                "ranking_top10": top10,
                "projects": projects,
                "seconds": time.perf_counter() - t0,
            }
            if fmt == Format.json:
                emit(data, fmt)
                return
            if fmt == Format.csv:
                emit(
                    data,
                    fmt,
                    rows=[{k: v for k, v in r.items() if k != "contributions"} for r in top10],
                )
                return
            console.print(f"\n[bold]Reports ({time.perf_counter() - t0:.1f} s):[/]")
            for p in projects:
                console.print(f"  {p['project_id']}: {p['reports']['pdf'] or p['reports']['html']}")
                console.print(
                    f"      {p['reports']['html']}  ·  {p['appraisal']}  ·  {p['workbook']}"
                )


def diagnosis_summary(doc: dict[str, Any]) -> dict[str, Any]:
    """A project's hazard grades, best use per site and treatment zones, from appraisal.json.

    ``zones`` rows: site_id, zone_id, zone_class, area_hm2 [hm²], governing_metal, method,
    techniques (candidate technique codes), planned (the technique the plan costs, if any).
    """
    d = doc["stages"]["diagnosis"]
    planned: dict[tuple[str, str], str] = {}
    for p in doc["stages"]["plan"]["plans"]:
        for w in p["works"]:
            if w.get("zone_id") and w.get("technique"):
                planned[(w["site_id"], w["zone_id"])] = f"{w['technique']} → {w['item']}"
    return {
        "hazards": [
            {k: h.get(k) for k in ("hazard_id", "mine_id", "kind", "scale", "threat", "grade")}
            for h in d["hazards"]
        ],
        "suitability": [
            {
                "site_id": s["site_id"],
                "kind": s["kind"],
                "area_hm2": s["area_hm2"],
                "pollution_class": s["pollution_class"],
                "best_use": s["best_use"],
                "suitable_uses": ", ".join(s["suitable_uses"]),
            }
            for s in d["sites"]
        ],
        "zones": [
            {
                "site_id": zs["site_id"],
                "zone_id": z["zone_id"],
                "zone_class": z["zone_class"],
                "area_hm2": z["area_hm2"],
                "governing_metal": z["governing_metal"],
                "method": zs["method"],
                "techniques": " ".join(t["code"] for t in z["techniques"]) or "-",
                "planned": planned.get((zs["site_id"], z["zone_id"]), "-"),
            }
            for zs in d.get("zones", [])
            for z in zs["zones"]
        ],
    }


def _print_project(item: dict[str, Any], fmt: Format) -> None:
    title = f"{item['project_id']} ({', '.join(item['mines'])})"
    if item["hazards"]:
        emit(item["hazards"], fmt, title=f"{title}: geohazard danger grades (DZ/T 0286-2015)")
    else:
        console.print(f"{title}: no registered geohazard")
    emit(
        [
            {k: r[k] for k in ("site_id", "kind", "area_hm2", "best_use")}
            for r in item["suitability"]
        ],
        fmt,
        title=f"{title}: land suitability (TD/T 1036-2013), best use per site",
    )
    if item["zones"]:
        methods = sorted({z["method"] for z in item["zones"]})
        emit(
            [
                {
                    "site/zone": f"{z['site_id']}/{z['zone_id']}",
                    "class": z["zone_class"],
                    "area_hm2": z["area_hm2"],
                    "metal": z["governing_metal"],
                    "techniques (* planned)": " ".join(
                        f"{t}*" if z["planned"].startswith(f"{t} ") else t
                        for t in z["techniques"].split()
                    ),
                }
                for z in item["zones"]
            ],
            fmt,
            title=f"{title}: pollution gradient zones ({', '.join(methods)}) and techniques",
        )
    else:
        console.print(f"{title}: no site with soil samples: not zoned")
    emit(
        item["sites"],
        fmt,
        title=f"{item['project_id']} ({', '.join(item['mines'])}): ESV before / after [CNY/yr]",
    )
    gep = item["gep"]
    if gep.get("status") != "assessed":
        console.print(f"GEP: {gep['reason']}")
    else:
        console.print(
            f"GEP before {gep['before_cny_per_yr']:,.0f} → after {gep['after_cny_per_yr']:,.0f} CNY/yr"
        )
    stages = item["stages"]
    changes = [s for i, s in enumerate(stages) if i == 0 or s["stage"] != stages[i - 1]["stage"]]
    emit(changes, fmt, title="Value stages (years where the stage changes)")
    emit(item["location"], fmt, title="Location-adjusted value of the restored land [CNY/yr]")
