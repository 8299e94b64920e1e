"""``restora mines import|update|delete|restore|history|export|list|show``: the register in the store.

JSON contracts (stable)::

    import  {"counts": {"mines", "sites", "samples", "hazards"}, "rejected": int,
             "rejects_file": str | null, "repairs": [str], "files": [{"path", "format",
             "sha256", "encoding"}], "ignored_columns": [str],
             "warnings": [{"code": "SOIL-PLAUSIBILITY-MAX", "file", "row", "column",
                           "sample_id", "pollutant", "value_mg_kg", "limit_mg_kg", "basis",
                           "published_max_mg_kg", "value_if_unit_1000x_smaller_mg_kg",
                           "message"}],
             "mode": "add" | "upsert", "dry_run": bool,
             "added": {"mines", "sites", "samples", "hazards"},
             "updated": [{"table", "id", "changes": {field: [old, new]}}],
             "unchanged": int, "change_id": int | null}
            ("counts" equals "added"; "change_id" is null for a dry run or when nothing changed)
    update  {"mine_id", "updated": [{"table", "id", "changes": {field: [old, new]}}],
             "change_id": int | null}
    delete  {"mine_id", "deleted": {"mines", "sites", "samples", "hazards": [id]}, "reason",
             "at", "by", "change_id"}
    restore {"mine_id", "restored": {"mines", "sites", "samples", "hazards": [id]},
             "change_id"}
    history [{"change_id", "at", "user", "command", "files": [{"path", "sha256"}], "table",
              "id", "mine_id", "action", "before", "after"}]
    export  {"format": str, "files": [str], "counts": {"mines", "sites", "samples", "hazards"}}
    list    [{"id", "name", "region", "mineral", "status", "party", "sites", "area_hm2",
              "area_mu"}]  (with --include-deleted also "deleted_at", "deleted_by",
              "deleted_reason")
    show    {"mine": {mine columns}, "sites": [{site columns, "area_hm2", "area_mu",
             "geometry": GeoJSON}], "samples": [{sample columns}], "hazards": [{...}]}

Plausibility warnings (``soil/plausible-ranges``, :func:`restora.diagnosis.county.
sample_plausibility`) never block an import; with ``--format table`` they go to stderr.
Columns an import did not use are printed on stderr too (``not used: FILE: HEADER``).

Deleted mines (``mines delete``, a soft delete) and their deleted records are left out of
every read of the store (list, show, export, rank, the appraisal) unless ``--include-deleted``.

Exit codes: 0 success, 2 bad input (the message names file, row and column; nothing is
written), 1 other failures.
"""

from __future__ import annotations

import math
from enum import StrEnum
from pathlib import Path
from typing import Any

import pandas as pd
import shapely
import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from restora.cells import escape_frame
from restora.cli.output import (
    DbOption,
    Format,
    FormatOption,
    console,
    emit,
    err_console,
    handled,
)
from restora.errors import InputError, Problem, RestoraError
from restora.inventory.io import write_register
from restora.inventory.model import Register
from restora.inventory.schema import MINE_COLUMNS
from restora.store.importing import ImportOptions, import_files
from restora.units import MU_PER_HM2

app = typer.Typer(no_args_is_help=True)


class ExportFormat(StrEnum):
    geojson = "geojson"
    gpkg = "gpkg"
    csv = "csv"
    xlsx = "xlsx"


class ImportMode(StrEnum):
    add = "add"
    upsert = "upsert"


UserOption = typer.Option(
    None,
    "--user",
    help="Who makes the change, for the audit trail (default: the operating-system user).",
)
IncludeDeletedOption = typer.Option(
    False, "--include-deleted", help="Also show mines that were deleted (soft delete)."
)


def _store(db: str | None) -> Any:
    from restora.store import Store, default_url

    return Store(db or default_url())


def _dry_run_store(db: str | None) -> Any:
    """The store to compare a dry run with, opened without writing anything to it.

    A SQLite file that does not exist yet is not created: the dry run compares with an empty
    store in memory. A store behind the latest migration cannot be compared without migrating
    it, which would be a write: that is an error saying how to migrate it.
    """
    from restora.store import Store, default_url
    from restora.store.engine import sqlite_path

    url = db or default_url()
    path = sqlite_path(url)
    if path is not None and not path.exists():
        return Store("sqlite://")
    store = Store(url, migrate_to_head=False)
    if not store.at_head():
        store.close()
        raise RestoraError(
            f"the store {store!r} is at an older migration; a dry run writes nothing, so it "
            "cannot migrate it: run any other command once (e.g. restora mines list) first"
        )
    return store


def _change(command: str, user: str | None, files: list[Any], options: dict[str, Any]) -> Any:
    from restora.store.audit import Change, current_user

    return Change(command, user=user or current_user(), files=files, options=options)


def _load_register(
    db: str | None, mine_ids: list[str] | None = None, *, include_deleted: bool = False
) -> Register:
    """The register (or the given mines) of the store at ``db``, the store closed afterwards."""
    store = _store(db)
    try:
        return store.load_register(mine_ids, include_deleted=include_deleted)
    finally:
        store.close()


def _shown(value: Any, width: int = 60) -> str:
    """A value of a diff on one line of text (a long text such as a WKT cut to ``width``)."""
    text = "∅" if value is None else str(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def _print_changes(updated: list[dict[str, Any]]) -> None:
    """One line per changed field, ``sites S1  slope_deg: 20.0 → 25.0`` (quick for 100 000)."""
    lines = [
        f"{u['table']} {u['id']}  {name}: {_shown(old)} → {_shown(new)}\n"
        for u in updated
        for name, (old, new) in u["changes"].items()
    ]
    console.file.writelines(lines)
    console.file.flush()


def _default_rejects(files: list[str]) -> Path:
    first = next((Path(f) for f in files if f != "-"), None)
    if first is None:
        return Path("rejects.csv")
    return first.with_name(first.stem + "_rejects.csv")


@app.command("import")
def import_command(
    files: list[str] = typer.Argument(
        ..., help="Register files (GeoJSON, GPKG, SHP/ZIP, CSV/TSV, XLSX, XLS; - is CSV on stdin)."
    ),
    db: str | None = DbOption,
    repair: bool = typer.Option(False, "--repair", help="Fix invalid polygons (make_valid)."),
    skip_invalid: bool = typer.Option(
        False, "--skip-invalid", help="Import the good records; write the bad ones to --rejects."
    ),
    rejects: Path | None = typer.Option(
        None, "--rejects", help="CSV of rejected records (default: <first file>_rejects.csv)."
    ),
    crs: str | None = typer.Option(None, "--crs", help="CRS of the coordinates, e.g. EPSG:4547."),
    encoding: str | None = typer.Option(
        None, "--encoding", help="Text encoding of CSV / DBF (default: UTF-8, else GB18030)."
    ),
    lonlat_wgs84: bool = typer.Option(
        False, "--lonlat-wgs84", help="lon/lat (经度/纬度) columns are WGS 84 degrees."
    ),
    area_unit: str | None = typer.Option(
        None,
        "--area-unit",
        help="Unit of an area column whose header names none (面积): mu (亩), hm2 or m2.",
    ),
    area_tolerance: float | None = typer.Option(
        None,
        "--area-tolerance",
        help="Accepted relative difference of declared and polygon areas [1], e.g. 0.05 (5 %); "
        "default: reference table inventory/declared-area-tolerance.",
    ),
    mode: ImportMode = typer.Option(
        ImportMode.add,
        "--mode",
        help="add: new records only (an id already in the store is an error); upsert: new "
        "records are added and the changed fields of stored records updated, with a diff.",
    ),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Check the files and show what would change; write nothing."
    ),
    user: str | None = UserOption,
    fmt: Format = FormatOption,
) -> None:
    """Import register files into the store in one transaction (all or nothing).

    Records may belong to mines already in the store. Every change is written to the audit
    trail (restora mines history).
    """
    with handled():
        with Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            console=err_console,
            transient=True,
        ) as progress:
            task = progress.add_task("reading", total=None)

            def step(name: str) -> None:
                progress.update(task, description=f"reading {name}")

            store = _dry_run_store(db) if dry_run else _store(db)
            try:
                outcome = import_files(
                    store,
                    files,
                    ImportOptions(
                        mode=mode.value,
                        dry_run=dry_run,
                        repair=repair,
                        skip_invalid=skip_invalid,
                        crs=crs,
                        encoding=encoding,
                        lonlat_wgs84=lonlat_wgs84,
                        area_unit=area_unit,
                        area_tolerance=area_tolerance,
                    ),
                    _change("mines import", user, [], {}),
                    progress=step,
                )
            finally:
                store.close()
        report, plan = outcome.report, outcome.plan
        rejects_file = None
        if skip_invalid and len(report.rejects) and not dry_run:
            rejects_file = rejects or _default_rejects(files)
            escape_frame(report.rejects).to_csv(rejects_file, index=False, encoding="utf-8-sig")
        for r in report.repairs:
            err_console.print(f"repaired: {r}", highlight=False, markup=False)
        for col in report.ignored_columns:
            err_console.print(f"not used: {col}", highlight=False, markup=False, soft_wrap=True)
        for w in outcome.warnings:
            err_console.print(
                f"warning: {w['message']}", highlight=False, markup=False, soft_wrap=True
            )
        if len(report.rejects):
            err_console.print(
                f"{len(report.rejects)} record(s) rejected"
                + (f", written to {rejects_file}" if rejects_file else " (dry run: not written)"),
                highlight=False,
                markup=False,
            )
        result = outcome.to_json(str(rejects_file) if rejects_file else None)
        summary = [
            {
                "table": name,
                "added": part.added,
                "updated": len(part.updated_ids),
                "unchanged": part.unchanged,
            }
            for name, part in plan.tables.items()
        ]
        title = "Dry run, nothing written: the import would give" if dry_run else "Imported"
        emit(result, fmt, rows=summary, title=f"{title} (mode {mode.value})")
        if fmt == Format.table and plan.updated:
            _print_changes(plan.updated)


@app.command("export")
def export_command(
    export_format: ExportFormat = typer.Option(
        ..., "--format", "-f", help="geojson, gpkg, csv or xlsx."
    ),
    out: Path = typer.Option(..., "--out", "-o", help="File to write (siblings for csv/geojson)."),
    db: str | None = DbOption,
) -> None:
    """Export the whole register; importing the files gives the same register back."""
    with handled():
        register = _load_register(db)
        try:
            written = write_register(register, out, export_format.value)
        except OSError as exc:
            raise RestoraError(f"cannot write {out}: {exc.strerror or exc}") from exc
        result = {
            "format": export_format.value,
            "files": [str(p) for p in written],
            "counts": {
                t: len(getattr(register, t)) for t in ("mines", "sites", "samples", "hazards")
            },
        }
        emit(result, Format.json)


def mine_rows(register: Register) -> list[dict[str, Any]]:
    """One row per mine: id, name, region, mineral, status, party, sites, area [hm², 亩]."""
    sites = register.sites
    per = (
        sites.groupby("mine_id")["area_hm2"].agg(["size", "sum"])
        if len(sites)
        else pd.DataFrame(columns=["size", "sum"])
    )
    rows = []
    for m in register.mines.to_dict("records"):
        n = int(per["size"].get(m["mine_id"], 0)) if len(per) else 0
        area = float(per["sum"].get(m["mine_id"], 0.0)) if len(per) else 0.0
        rows.append(
            {
                "id": m["mine_id"],
                "name": m["name"],
                "region": m["region_code"],
                "mineral": m["mineral"],
                "status": m["status"],
                "party": m["responsible_party"],
                "sites": n,
                "area_hm2": round(area, 4),
                "area_mu": round(area * MU_PER_HM2, 2),
            }
        )
    return rows


def _deleted_marks(db: str | None) -> dict[str, dict[str, Any]]:
    """``{mine_id: {"deleted_at", "deleted_by", "deleted_reason"}}`` of the deleted mines."""
    store = _store(db)
    try:
        return {
            d["mine_id"]: {
                "deleted_at": d["deleted_at"].isoformat(),
                "deleted_by": d["deleted_by"],
                "deleted_reason": d["deleted_reason"],
            }
            for d in store.deleted_mines()
        }
    finally:
        store.close()


@app.command("list")
def list_command(
    db: str | None = DbOption,
    include_deleted: bool = IncludeDeletedOption,
    fmt: Format = FormatOption,
) -> None:
    """List the mines in the register with their site count and damaged area."""
    with handled():
        register = _load_register(db, include_deleted=include_deleted)
        rows = mine_rows(register)
        if include_deleted:
            marks = _deleted_marks(db)
            empty = dict.fromkeys(("deleted_at", "deleted_by", "deleted_reason"))
            rows = [{**r, **marks.get(r["id"], empty)} for r in rows]
        emit(rows, fmt, title="Mines")


def _record(rec: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in rec.items():
        if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
            out[k] = None
        elif k == "geometry":
            out[k] = shapely.geometry.mapping(v)
        elif hasattr(v, "isoformat"):
            out[k] = v.isoformat()
        else:
            out[k] = v
    return out


@app.command("show")
def show_command(
    mine_id: str = typer.Argument(..., help="Mine id."),
    db: str | None = DbOption,
    include_deleted: bool = IncludeDeletedOption,
    fmt: Format = FormatOption,
) -> None:
    """Show a mine with its sites, samples and hazards."""
    with handled():
        register = _load_register(db, [mine_id], include_deleted=include_deleted)
        marks = _deleted_marks(db)
        if not (register.mines["mine_id"] == mine_id).any():
            if mine_id in marks:
                m = marks[mine_id]
                raise InputError(
                    f"mine {mine_id!r} was deleted on {m['deleted_at']} by {m['deleted_by']} "
                    f"({m['deleted_reason']}); see it with --include-deleted, bring it back "
                    f"with restora mines restore {mine_id}",
                    field="mine_id",
                )
            raise InputError(f"mine {mine_id!r} is not in the register", field="mine_id")
        mine = _record(register.mines.iloc[0].to_dict())
        if include_deleted:
            empty = dict.fromkeys(("deleted_at", "deleted_by", "deleted_reason"))
            mine.update(marks.get(mine_id, empty))
        sites = []
        for rec in register.sites.to_dict("records"):
            r = _record(rec)
            r["area_mu"] = None if r["area_hm2"] is None else r["area_hm2"] * MU_PER_HM2
            sites.append(r)
        samples = [_record(r) for r in register.samples.to_dict("records")]
        hazards = [_record(r) for r in register.hazards.to_dict("records")]
        data = {"mine": mine, "sites": sites, "samples": samples, "hazards": hazards}
        if fmt == Format.json:
            emit(data, fmt)
            return
        emit(mine, fmt, rows=[mine], title=f"Mine {mine_id}")
        site_rows = [{k: v for k, v in s.items() if k != "geometry"} for s in sites]
        for title, rows in (("Sites", site_rows), ("Samples", samples), ("Hazards", hazards)):
            if not rows:
                continue
            columns = list(rows[0])
            if fmt == Format.table:  # leave out columns empty on every row (e.g. unmeasured metals)
                columns = [c for c in columns if any(r.get(c) is not None for r in rows)]
            emit(rows, fmt, columns=columns, title=title)


# -- keeping the register up to date -------------------------------------------------------


def _option_help(name: str) -> str:
    """Help of an update option, from the register schema (description, unit, values)."""
    from rich.markup import escape

    from restora.inventory.validate import accepted_values

    col = next(c for c in MINE_COLUMNS if c.name == name)
    if col.choices:
        text = f"{name.replace('_', ' ').capitalize()}: one of {accepted_values(col)}"
    else:
        text = col.description[:1].upper() + col.description[1:]
    if col.unit:
        text += f" [{col.unit}]"
    if name == "responsible_party":
        text += '; "" or 无主: none (absent)'
    elif not col.required:
        text += '; "" clears it'
    return escape(text + ".")


def _update_option(name: str) -> Any:
    return typer.Option(None, "--" + name.replace("_", "-"), help=_option_help(name))


def _typed_mine_values(given: dict[str, str]) -> dict[str, Any]:
    """The options' texts typed and checked as an import's cells are (register schema)."""
    from restora.inventory.validate import Issues, coerce_columns

    columns = tuple(c for c in MINE_COLUMNS if c.name in given)
    heads = {name: "--" + name.replace("_", "-") for name in given}
    issues = Issues("", lambda pos: None)  # type: ignore[arg-type,return-value]
    typed = coerce_columns(
        pd.DataFrame({k: [v] for k, v in given.items()}, dtype=object), columns, issues, heads
    )
    if issues.problems:  # named by option: '--status: "gold" is not a known status (…)'
        raise InputError(problems=[Problem(f"{p.field}: {p.message}") for p in issues.problems])
    out: dict[str, Any] = {}
    for name in given:
        value = typed[name].iloc[0]
        out[name] = None if value is None or value is pd.NA or value != value else value
        if hasattr(out[name], "item"):
            out[name] = out[name].item()
    return out


@app.command("update")
def update_command(
    mine_id: str = typer.Argument(..., help="Mine id."),
    name: str | None = _update_option("name"),
    region_code: str | None = _update_option("region_code"),
    mineral: str | None = _update_option("mineral"),
    status: str | None = _update_option("status"),
    responsible_party: str | None = _update_option("responsible_party"),
    closure_year: str | None = _update_option("closure_year"),
    landscape_value: str | None = _update_option("landscape_value"),
    user: str | None = UserOption,
    db: str | None = DbOption,
    fmt: Format = FormatOption,
) -> None:
    """Change columns of a mine, e.g. --status closed --responsible-party 某公司.

    Values are checked as in an import (codes in Chinese or English, a 6-digit region code);
    the change and the fields before and after go to the audit trail.
    """
    with handled():
        texts = {
            "name": name,
            "region_code": region_code,
            "mineral": mineral,
            "status": status,
            "responsible_party": responsible_party,
            "closure_year": closure_year,
            "landscape_value": landscape_value,
        }
        given = {k: v for k, v in texts.items() if v is not None}
        if not given:
            options = ", ".join("--" + k.replace("_", "-") for k in texts)
            raise InputError(f"nothing to change: give at least one of {options}")
        values = _typed_mine_values(given)
        store = _store(db)
        try:
            change = _change("mines update", user, [], {"mine_id": mine_id, "values": given})
            plan = store.update_mine(mine_id, values, change=change)
        finally:
            store.close()
        result = {"mine_id": mine_id, "updated": plan.updated, "change_id": plan.change_id}
        if fmt == Format.json:
            emit(result, fmt)
            return
        rows = [
            {"table": u["table"], "id": u["id"], "field": k, "old": old, "new": new}
            for u in plan.updated
            for k, (old, new) in u["changes"].items()
        ]
        if not rows:
            err_console.print(f"mine {mine_id}: nothing changed", highlight=False, markup=False)
        emit(rows, fmt, columns=["table", "id", "field", "old", "new"], title=f"Updated {mine_id}")


@app.command("delete")
def delete_command(
    mine_id: str = typer.Argument(..., help="Mine id."),
    reason: str = typer.Option(..., "--reason", help="Why the mine is deleted (audit trail)."),
    cascade: bool = typer.Option(
        False,
        "--cascade",
        help="Also delete the mine's sites, samples and hazards; without it a mine that has "
        "any is not deleted.",
    ),
    user: str | None = UserOption,
    db: str | None = DbOption,
    fmt: Format = FormatOption,
) -> None:
    """Delete a mine (soft delete: kept with who, when and why; restora mines restore ID)."""
    with handled():
        store = _store(db)
        try:
            change = _change(
                "mines delete", user, [], {"mine_id": mine_id, "reason": reason, "cascade": cascade}
            )
            result = store.delete_mine(mine_id, reason=reason, cascade=cascade, change=change)
        finally:
            store.close()
        rows = [
            {"table": table, "deleted": len(ids), "ids": ", ".join(ids)}
            for table, ids in result["deleted"].items()
        ]
        emit(result, fmt, rows=rows, title=f"Deleted {mine_id} ({reason})")


@app.command("restore")
def restore_command(
    mine_id: str = typer.Argument(..., help="Mine id."),
    user: str | None = UserOption,
    db: str | None = DbOption,
    fmt: Format = FormatOption,
) -> None:
    """Bring back a deleted mine with the records deleted with it."""
    with handled():
        store = _store(db)
        try:
            change = _change("mines restore", user, [], {"mine_id": mine_id})
            result = store.restore_mine(mine_id, change=change)
        finally:
            store.close()
        rows = [
            {"table": table, "restored": len(ids), "ids": ", ".join(ids)}
            for table, ids in result["restored"].items()
        ]
        emit(result, fmt, rows=rows, title=f"Restored {mine_id}")


def _fields(values: dict[str, Any] | None) -> str:
    return "; ".join(f"{k}={_shown(v, 40)}" for k, v in (values or {}).items())


@app.command("history")
def history_command(
    mine_id: str | None = typer.Argument(None, help="Mine id (default: the whole register)."),
    db: str | None = DbOption,
    fmt: Format = FormatOption,
) -> None:
    """The audit trail of a mine's records: who changed what, when, with which file."""
    with handled():
        store = _store(db)
        try:
            rows = store.history(mine_id)
        finally:
            store.close()
        if mine_id is not None and not rows:
            raise InputError(f"mine {mine_id!r} has no history: it was never in the store")
        if fmt == Format.json:
            emit(rows, fmt)
            return
        flat = []
        for r in rows:
            if r["action"] == "update":
                what = "; ".join(
                    f"{k}: {_shown(r['before'].get(k), 40)} → {_shown(v, 40)}"
                    for k, v in r["after"].items()
                )
            elif r["action"] in ("insert", "restore"):
                what = _fields(r["after"]) if r["action"] == "insert" else "restored"
            else:
                what = _fields(r["after"]) if r["action"] == "delete" else "purged"
            flat.append(
                {
                    "change": r["change_id"],
                    "at": r["at"],
                    "user": r["user"],
                    "command": r["command"],
                    "files": ", ".join(
                        f"{f['path']} (sha256 {f['sha256'][:12]}…)" for f in r["files"]
                    ),
                    "table": r["table"],
                    "id": r["id"],
                    "action": r["action"],
                    "changes": what,
                }
            )
        emit(flat, fmt, title=f"History of {mine_id}" if mine_id else "History")


# Optional commands of other modules (each adds itself to this group when present).
from restora.cli import mines_rank  # noqa: E402  (its commands join this group)

mines_rank.add_commands(app)
