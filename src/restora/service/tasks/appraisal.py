"""The appraisal job: a stored project through the pipeline into a stored, versioned appraisal.

From the project's spec (``projects.spec``) and the register in the store, the job runs
:func:`restora.appraisal.pipeline.appraise` (the county diagnosed from the register by
:func:`restora.diagnosis.county.diagnose_county`; no context layers), writes
``appraisal.json``, the workbook ``appraisal-<lang>.xlsx`` (:mod:`restora.appraisal.workbook`)
and the report ``report-<lang>.html`` / ``.pdf`` (:func:`restora.appraisal.report.write_report`)
into ``<data dir>/appraisals/<project>/v<version>/`` and inserts the ``appraisals`` row
(:func:`restora.store.projects.add_appraisal`).

The register read is the project's mines and every other live mine of their county (region
code): the priority ranking of the diagnosis compares a mine with the county's others.

Idempotency
-----------
Before anything is computed the job hashes its inputs (:func:`appraisal_inputs`): the
project's spec as stored, the register rows read (every field of every live mine, site, sample
and hazard, polygons by the SHA-256 of their WKB), the name, version, region and data hash of
every reference table in force on the date for the region, the date and the Restora version.
The appraisal is deterministic in these (seeded Monte Carlo), so when the project has a
version with this ``inputs_sha256`` it is reused — never a second version of the same hash —
and only a report language not made yet is rendered from its stored document. A job re-run
after its worker died therefore ends with the same single version.

Parameters (``jobs.submit(app, "appraisal", params, …)``)
----------------------------------------------------------
``project_id`` (required), ``lang`` (``zh`` or ``en``, default ``zh``), ``pdf`` (default true),
``on`` (ISO date whose reference tables apply; default the day of submission, fixed then).

Result
------
``{"project_id", "version", "appraisal_id", "inputs_sha256", "on", "lang", "reused",
"files": {"json", "xlsx", "html", "pdf"}, "summary": {…}}`` — paths relative to the data folder
(:func:`stored_file` resolves them).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import shutil
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from restora.appraisal.pipeline import STAGES
from restora.errors import InputError, RestoraError
from restora.store import projects as repo

LANGS = ("zh", "en")
FILE_KINDS = ("json", "xlsx", "html", "pdf")
#: The job's stages: the register read, its inputs hashed, the county diagnosed, the
#: pipeline's nine stages, the workbook, the report (HTML, PDF), the version stored.
STEPS = ("register", "inputs", "county", *STAGES, "workbook", "report", "store")
INPUTS_SCHEMA = "restora.appraisal-inputs/1"
_SAFE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


# ------------------------------------------------------------------------------- parameters


def prepare(store: Any, params: dict[str, Any]) -> dict[str, Any]:
    """Check an appraisal job's parameters and fix its date (see the module's docstring)."""
    known = {"project_id", "lang", "pdf", "on"}
    for key in params:
        if key not in known:
            raise InputError(
                f"not a parameter of an appraisal (parameters: {', '.join(sorted(known))})",
                field=str(key),
            )
    pid = params.get("project_id")
    if not isinstance(pid, str) or not pid:
        raise InputError("required: the id of a stored project", field="project_id")
    if repo.get_project(store, pid) is None:
        raise InputError(f"no project {pid!r}", field="project_id")
    lang = params.get("lang", "zh")
    if lang not in LANGS:
        raise InputError("must be zh or en", field="lang")
    pdf = params.get("pdf", True)
    if not isinstance(pdf, bool):
        raise InputError("must be true or false", field="pdf")
    on = params.get("on") or dt.date.today().isoformat()
    try:
        on = dt.date.fromisoformat(str(on)).isoformat()
    except ValueError:
        raise InputError(f"{on!r} is not a date (YYYY-MM-DD)", field="on") from None
    return {"project_id": pid, "lang": lang, "pdf": pdf, "on": on}


# ----------------------------------------------------------------------------------- inputs


def _canonical(value: Any) -> bytes:
    return json.dumps(
        value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str
    ).encode("utf-8")


def sha256_json(value: Any) -> str:
    """SHA-256 of a JSON value in canonical form (sorted keys, no spaces, UTF-8)."""
    return hashlib.sha256(_canonical(value)).hexdigest()


def county_mines(store: Any, mine_ids: list[str]) -> list[str]:
    """The live mines of the counties of ``mine_ids`` (the register the appraisal reads).

    Raises
    ------
    InputError
        A project's mine is not live in the register (``mines.<i>``).
    """
    from restora.store.tables import mines

    with store.engine.connect() as conn:
        conn.execution_options(restora_read_only=True)
        regions = dict(
            conn.execute(
                sa.select(mines.c.mine_id, mines.c.region_code).where(
                    mines.c.mine_id.in_(mine_ids), mines.c.deleted_at.is_(None)
                )
            ).all()
        )
        for i, mid in enumerate(mine_ids):
            if mid not in regions:
                raise InputError(
                    f"mine {mid!r} of the project is not in the register (or is deleted)",
                    field=f"mines.{i}",
                )
        ids = conn.execute(
            sa.select(mines.c.mine_id)
            .where(
                mines.c.region_code.in_(sorted(set(regions.values()))),
                mines.c.deleted_at.is_(None),
            )
            .order_by(mines.c.mine_id)
        ).scalars()
        return [str(m) for m in ids]


def register_sha256(store: Any, mine_ids: list[str]) -> str:
    """SHA-256 of the live register rows of ``mine_ids``, as stored.

    Every field of each mine, site, sample and hazard, in id order, as the audit trail writes
    a record (:func:`restora.store.repository.record_json`; a polygon by the SHA-256 of its
    WKB), table after table.
    """
    from restora.store.bulk import chunks
    from restora.store.repository import record_json
    from restora.store.tables import ID_COLUMNS, REGISTER, REGISTER_TABLES, frame_columns

    h = hashlib.sha256()
    with store.engine.connect() as conn:
        conn.execution_options(restora_read_only=True)
        for name in REGISTER_TABLES:
            table = REGISTER[name]
            keys = [k for k, _ in frame_columns(name)]
            rows: list[Any] = []
            for chunk in chunks(list(mine_ids), 900):
                rows += conn.execute(
                    sa.select(*(table.c[k] for k in keys)).where(
                        table.c.mine_id.in_(chunk), table.c.deleted_at.is_(None)
                    )
                ).all()
            rows.sort(key=lambda r: str(r[keys.index(ID_COLUMNS[name])]))
            columns = {k: [r[i] for r in rows] for i, k in enumerate(keys)}
            records = record_json(name, columns, geometry="geometry_digest")
            h.update(_canonical({"table": name, "records": records}))
    return h.hexdigest()


def read_register(
    store: Any, project_mines: list[str], tries: int = 3
) -> tuple[list[str], Any, str]:
    """The county's register and the hash of its rows, read as one state of the store.

    The rows are hashed before and after they are loaded; an import that changed them in
    between makes the read start again (up to ``tries`` times), so the hash is always that of
    the register the appraisal used.

    Returns
    -------
    ids : list of str
        The mines read (:func:`county_mines`).
    register : restora.inventory.model.Register
    sha256 : str
        :func:`register_sha256` of those rows.
    """
    for _ in range(tries):
        ids = county_mines(store, project_mines)
        before = register_sha256(store, ids)
        register = store.load_register(ids)
        if register_sha256(store, ids) == before and county_mines(store, project_mines) == ids:
            return ids, register, before
    raise RestoraError(
        f"the register kept changing while it was read ({tries} tries); run the appraisal again"
    )


def reference_tables(on: str, region: str | None) -> list[dict[str, Any]]:
    """Name, version, region and data SHA-256 of every reference table in force on ``on``."""
    from restora import refdata

    out = []
    for name in sorted(refdata.names()):
        try:
            t = refdata.get(name, on=on, region=region)
        except RestoraError:  # not in force on that date
            continue
        out.append({"name": name, "version": t.version, "region": t.region, "sha256": t.digest})
    return out


def appraisal_inputs(
    spec_json: dict[str, Any],
    mine_ids: list[str],
    register_hash: str,
    *,
    on: str,
    region: str | None,
) -> dict[str, Any]:
    """What an appraisal is made from; its :func:`sha256_json` is the ``inputs_sha256``."""
    from restora import __version__

    return {
        "schema": INPUTS_SCHEMA,
        "project": spec_json,
        "register": {"mines": list(mine_ids), "sha256": register_hash},
        "reference_tables": reference_tables(on, region),
        "on": on,
        "restora_version": __version__,
    }


# ------------------------------------------------------------------------------------ files


def project_folder(project_id: str) -> str:
    """The folder name of a project's appraisals (its id when safe as a name, else a hash)."""
    if _SAFE.fullmatch(project_id) and project_id not in (".", ".."):
        return project_id
    return "p-" + hashlib.sha256(project_id.encode("utf-8")).hexdigest()[:20]


def _render(doc: dict[str, Any], folder: Path, lang: str, pdf: bool, ctx: Any) -> dict[str, Path]:
    from restora.appraisal.report import write_report
    from restora.appraisal.workbook import write_workbook

    ctx.stage("workbook")
    paths = {"xlsx": write_workbook(doc, folder / f"appraisal-{lang}.xlsx", lang)}
    ctx.stage("report")
    paths.update(write_report(doc, folder, lang, pdf=pdf))
    shutil.rmtree(folder / "charts", ignore_errors=True)  # the HTML holds its charts
    return paths


def _relative(data_dir: Path, paths: dict[str, Path]) -> dict[str, str]:
    return {k: p.relative_to(data_dir).as_posix() for k, p in paths.items()}


def stored_file(data_dir: Path, appraisal: dict[str, Any], kind: str, lang: str) -> Path | None:
    """The path of a stored appraisal's file (None if it was not made), inside ``data_dir``.

    Parameters
    ----------
    data_dir : Path
        The data folder (``settings.data_dir``).
    appraisal : dict
        A row of :func:`restora.store.projects.get_appraisal`.
    kind : str
        ``json``, ``xlsx``, ``html`` or ``pdf``.
    lang : str
        ``zh`` or ``en`` (not used for ``json``).
    """
    if kind not in FILE_KINDS:
        raise InputError(f"one of {', '.join(FILE_KINDS)}", field="kind")
    files = appraisal.get("files") or {}
    rel = files.get("json") if kind == "json" else (files.get(lang) or {}).get(kind)
    if not rel:
        return None
    root = Path(data_dir).resolve()
    path = (root / rel).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        return None
    return path


def _result_files(files: dict[str, Any], lang: str) -> dict[str, str | None]:
    per_lang = files.get(lang) or {}
    return {
        "json": files.get("json"),
        "xlsx": per_lang.get("xlsx"),
        "html": per_lang.get("html"),
        "pdf": per_lang.get("pdf"),
    }


def summary(doc: dict[str, Any]) -> dict[str, Any]:
    """Headline figures of an appraisal document (for the job page)."""
    st = doc.get("stages", {})
    risk = st.get("risk", {})
    risk_summary = risk.get("summary", {}) if risk.get("status") == "assessed" else {}
    return {
        "cost_p50_cny": st.get("cost", {}).get("total", {}).get("p50_cny"),
        "npv_cny": st.get("cashflow", {}).get("npv_cny"),
        "irr": st.get("cashflow", {}).get("irr"),
        "p_npv_negative": risk_summary.get("p_npv_negative"),
        "not_assessed": doc.get("not_assessed", {}),
    }


# -------------------------------------------------------------------------------------- run


def _user_name(store: Any, user_id: int | None) -> str:
    from restora.store.platform_tables import users

    if user_id is None:
        return "restora worker"
    with store.engine.connect() as conn:
        name = conn.execute(sa.select(users.c.username).where(users.c.id == user_id)).scalar()
    return str(name) if name else f"user {user_id}"


def _reuse(ctx: Any, found: dict[str, Any], params: dict[str, Any], folder: Path) -> dict[str, Any]:
    """A version of the same inputs exists: render the language's files if they are missing."""
    lang, pdf = params["lang"], params["pdf"]
    have = (found.get("files") or {}).get(lang) or {}
    full = repo.get_appraisal(ctx.store, found["project_id"], found["version"])
    assert full is not None
    if not {"xlsx", "html"} <= set(have) or (pdf and "pdf" not in have):
        scratch = folder / f".job-{ctx.job_id}-{ctx.attempt}"
        shutil.rmtree(scratch, ignore_errors=True)
        scratch.mkdir(parents=True)
        try:
            paths = _render(full["document"], scratch, lang, pdf, ctx)
            ctx.stage("store")
            final = folder / f"v{found['version']}"
            final.mkdir(parents=True, exist_ok=True)
            moved = {k: Path(shutil.move(str(p), final / p.name)) for k, p in paths.items()}
            found = repo.add_appraisal_files(
                ctx.store, found["id"], lang, _relative(ctx.data_dir, moved)
            )
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    return _result(found, params, full["document"], reused=True)


def _result(
    row: dict[str, Any], params: dict[str, Any], doc: dict[str, Any], *, reused: bool
) -> dict[str, Any]:
    return {
        "project_id": row["project_id"],
        "version": row["version"],
        "appraisal_id": row["id"],
        "inputs_sha256": row["inputs_sha256"],
        "on": row["on_date"],
        "lang": params["lang"],
        "reused": reused,
        "files": _result_files(row.get("files") or {}, params["lang"]),
        "summary": summary(doc),
    }


def run(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    """Appraise the project (or reuse its version of the same inputs); the job's result."""
    from restora.appraisal.io import parse_project
    from restora.appraisal.mapdata import map_data
    from restora.appraisal.pipeline import appraise
    from restora.cli.output import dumps
    from restora.diagnosis.county import diagnose_county
    from restora.store.audit import Change

    pid, lang, on = params["project_id"], params["lang"], params["on"]
    ctx.stage("register")
    project = repo.get_project(ctx.store, pid)
    if project is None:
        raise InputError(f"no project {pid!r} (deleted?)", field="project_id")
    spec = parse_project(project["spec"], f"project {pid}")
    ids, register, register_hash = read_register(ctx.store, list(spec.mines))
    region = str(register.mines["region_code"].iloc[0]) if len(register.mines) else None

    ctx.stage("inputs")
    inputs = appraisal_inputs(project["spec"], ids, register_hash, on=on, region=region)
    inputs_hash = sha256_json(inputs)
    folder = Path(ctx.data_dir) / "appraisals" / project_folder(pid)
    found = repo.find_appraisal(ctx.store, pid, inputs_hash)
    if found is not None:
        return _reuse(ctx, found, params, folder)

    ctx.stage("county")
    register_name = f"store: register of {len(ids)} mine(s), region {region}"
    diagnosis = diagnose_county(register, {}, on=on)
    doc = appraise(
        spec,
        register,
        diagnosis,
        project_input={"file": f"store: project {pid}", "sha256": sha256_json(project["spec"])},
        county_inputs=[{"file": register_name, "sha256": register_hash}],
        map_data=map_data(register.sites, {}, spec.mines),
        on=on,
        progress=ctx.stage,
    )
    text = dumps(doc) + "\n"
    document = json.loads(text)  # NaN → null: what appraisal.json holds
    scratch = folder / f".job-{ctx.job_id}-{ctx.attempt}"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    try:
        (scratch / "appraisal.json").write_text(text, encoding="utf-8")
        paths = {
            "json": scratch / "appraisal.json",
            **_render(doc, scratch, lang, params["pdf"], ctx),
        }
        ctx.stage("store")

        def place(version: int) -> dict[str, Any]:
            final = folder / f"v{version}"
            if final.exists():  # left by an attempt whose transaction did not commit
                shutil.rmtree(final)
            scratch.rename(final)
            moved = {k: final / p.name for k, p in paths.items()}
            rel = _relative(ctx.data_dir, moved)
            return {"json": rel.pop("json"), lang: rel}

        row, created = repo.add_appraisal(
            ctx.store,
            pid,
            inputs_sha256=inputs_hash,
            on_date=on,
            document=document,
            place=place,
            created_by=ctx.created_by,
            job_id=ctx.job_id,
            change=Change(
                f"appraisal job {ctx.job_id}",
                user=_user_name(ctx.store, ctx.created_by),
                user_id=ctx.created_by,
                options={"project_id": pid, "on": on, "lang": lang, "attempt": ctx.attempt},
            ),
        )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    if not created:  # a concurrent run of the same inputs stored it first
        return _reuse(ctx, row, params, folder)
    return _result(row, params, document, reused=False)
