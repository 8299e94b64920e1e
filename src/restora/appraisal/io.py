"""Reading a project file and a county's files for the appraisal (I/O at the edge)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from restora.appraisal.project import ProjectSpec
from restora.errors import InputError, input_error
from restora.inventory.model import Register
from restora.textio import decode_text


def sha256_file(path: str | Path) -> str:
    """SHA-256 of a file's bytes (hex)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def parse_project(doc: Any, name: str) -> ProjectSpec:
    """Validate a project mapping; errors name the file and the field."""
    if not isinstance(doc, dict):
        raise InputError("expected a mapping (the project's fields)", file=name)
    try:
        return ProjectSpec.model_validate(doc)
    except ValidationError as exc:
        raise input_error(exc, file=name) from exc


def read_project(path: str | Path) -> tuple[ProjectSpec, dict[str, Any]]:
    """A ``PROJECT.yaml`` (or JSON) file: the spec and ``{"file", "sha256"}``.

    The file may be UTF-8 (with or without BOM), UTF-16 with BOM or GBK/GB18030, as Chinese
    editors save it (:func:`restora.textio.decode_text`); ``sha256`` is of the file's bytes.
    """
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read the project file ({exc.strerror})", file=str(p)) from exc
    return parse_project_bytes(data, str(p))


def parse_project_bytes(data: bytes, name: str) -> tuple[ProjectSpec, dict[str, Any]]:
    """A project file's bytes (YAML or JSON; UTF-8, UTF-16 with BOM or GBK/GB18030), named
    ``name`` in messages: the spec and ``{"file", "sha256"}`` (e.g. an uploaded file)."""
    text, _ = decode_text(data, name, hint="save it as UTF-8")
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise InputError(
            f"not valid YAML: {exc}",
            file=name,
            row=(mark.line + 1) if mark is not None else None,
        ) from exc
    spec = parse_project(doc, name)
    return spec, {"file": name, "sha256": hashlib.sha256(data).hexdigest()}


@dataclass(frozen=True)
class County:
    """A county's register and context, read once for ranking and appraisals.

    ``notes`` says what the reader skipped and why; ``inputs`` holds each file's hash.
    """

    register: Register
    context: dict[str, Any]
    inputs: list[dict[str, Any]]
    notes: list[str] = field(default_factory=list)
    skipped_rows: list[dict[str, Any]] = field(default_factory=list)


def read_county(
    register_files: Sequence[str | Path],
    context_file: str | Path | None,
    *,
    lonlat_wgs84: bool = True,
    allow_skip: bool = True,
) -> County:
    """Read the register files and the context GeoPackage.

    When the strict reader rejects rows (e.g. the demo's literal ``ND`` cells before the
    non-detect rule lands in the reader) and ``allow_skip`` is true, the rows are skipped and
    listed in ``notes`` / ``skipped_rows`` rather than guessed.
    """
    from restora.diagnosis.context_io import MAP_LAYERS, read_context
    from restora.inventory.io import read_register

    paths = [str(p) for p in register_files]
    notes: list[str] = []
    skipped: list[dict[str, Any]] = []
    try:
        reg, _ = read_register(paths, lonlat_wgs84=lonlat_wgs84)
    except InputError as exc:
        if not allow_skip:
            raise
        reg, report = read_register(paths, lonlat_wgs84=lonlat_wgs84, skip_invalid=True)
        skipped = [
            {"file": p.file, "row": p.row, "field": p.field, "message": p.message}
            for p in exc.problems
        ]
        notes.append(
            f"the register reader rejected {len(skipped)} row(s) "
            f"({'; '.join(sorted({s['message'] for s in skipped}))}); they were skipped "
            f"(skip_invalid), {len(report.rejects)} rejected record(s) in all"
        )
    ctx = read_context(str(context_file), extra_layers=MAP_LAYERS) if context_file else {}
    files = [*paths, *([str(context_file)] if context_file else [])]
    return County(
        register=reg,
        context=ctx,
        inputs=[{"file": f, "sha256": sha256_file(f)} for f in files],
        notes=notes,
        skipped_rows=skipped,
    )
