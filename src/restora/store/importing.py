"""Importing register files into the store: one function for ``restora mines import`` and the API.

:func:`import_files` reads the files (:func:`restora.inventory.io.read_register`, against the
mines and sites already in the store), writes them in one audited transaction
(:meth:`restora.store.Store.import_register`, ``add`` or ``upsert``, or only plans it for a dry
run), and checks the samples' values against the published ranges
(:func:`restora.diagnosis.county.sample_plausibility`, warnings that never block an import).
:meth:`ImportOutcome.to_json` is the command's JSON contract (``restora mines import --format
json``), which the API's ``POST /api/v1/imports`` returns as it is.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from restora.store.audit import Change

if TYPE_CHECKING:
    import pandas as pd

    from restora.inventory.io import ImportReport
    from restora.inventory.model import Register
    from restora.store.plan import RegisterPlan
    from restora.store.repository import Store


@dataclass(frozen=True)
class ImportOptions:
    """How to read the files (the options of ``restora mines import``).

    Attributes
    ----------
    mode : {"add", "upsert"}
        ``add``: new records only; ``upsert``: new records added, changed fields updated.
    dry_run : bool
        Check everything and say what would change; write nothing.
    repair, skip_invalid, crs, encoding, lonlat_wgs84, area_unit, area_tolerance
        As :func:`restora.inventory.io.read_register` (``area_tolerance`` [1]).
    """

    mode: str = "add"
    dry_run: bool = False
    repair: bool = False
    skip_invalid: bool = False
    crs: str | None = None
    encoding: str | None = None
    lonlat_wgs84: bool = False
    area_unit: str | None = None
    area_tolerance: float | None = None

    def recorded(self) -> dict[str, Any]:
        """The options as the import's ``source`` and the audit trail record them."""
        return {
            "repair": self.repair,
            "skip_invalid": self.skip_invalid,
            "crs": self.crs,
            "encoding": self.encoding,
            "lonlat_wgs84": self.lonlat_wgs84,
            "area_unit": self.area_unit,
            "area_tolerance": self.area_tolerance,
            "mode": self.mode,
        }


@dataclass(frozen=True)
class ImportOutcome:
    """What an import read, wrote (or, for a dry run, would write) and warned about."""

    register: Register
    report: ImportReport
    plan: RegisterPlan
    warnings: list[dict[str, Any]]

    @property
    def rejects(self) -> pd.DataFrame:
        """The rejected records (``file, row, table, id, reason``), with ``skip_invalid``."""
        return self.report.rejects

    def to_json(self, rejects_file: str | None = None) -> dict[str, Any]:
        """The JSON of ``restora mines import --format json`` (see :mod:`restora.cli.mines`)."""
        report = self.report
        return {
            "counts": self.plan.added,
            "rejected": len(report.rejects),
            "rejects_file": rejects_file,
            "repairs": [str(r) for r in report.repairs],
            "files": [
                {"path": f.path, "format": f.format, "sha256": f.sha256, "encoding": f.encoding}
                for f in report.files
            ],
            "ignored_columns": report.ignored_columns,
            "warnings": self.warnings,
            **self.plan.to_json(),
        }


def import_files(
    store: Store,
    files: Sequence[str | Path],
    options: ImportOptions,
    change: Change,
    *,
    names: Sequence[str] | None = None,
    progress: Callable[[str], None] | None = None,
    before_write: Callable[[Register], None] | None = None,
) -> ImportOutcome:
    """Read register files and import them into ``store`` in one transaction (all or nothing).

    Parameters
    ----------
    store : Store
        The store to write to (or, for a dry run, to compare with).
    files : sequence of str or Path
        Register files (GeoJSON, GeoPackage, Shapefile or a zip of one, CSV/TSV, XLSX, XLS;
        ``-`` is CSV on standard input).
    options : ImportOptions
        Mode, dry run and reading options.
    change : Change
        Who makes the change with which command (``files`` and ``options`` are filled in here
        from what was read: each file's name and SHA-256, the options).
    names : sequence of str, optional
        Each file as messages, the report and the audit trail name it (default its path).
    progress : callable, optional
        Called with each file name as it is read.
    before_write : callable, optional
        Called with the register read, before anything is written (e.g. the API's check that
        every mine lies in the caller's region); what it raises stops the import.

    Returns
    -------
    ImportOutcome

    Raises
    ------
    InputError
        A file cannot be read or holds bad records (naming file, row and column), unless
        ``skip_invalid``; a record conflicts with the store. Nothing is written then.
    """
    from restora.diagnosis.county import sample_plausibility
    from restora.inventory.io import read_register

    register, report = read_register(
        files,
        crs=options.crs,
        encoding=options.encoding,
        repair=options.repair,
        skip_invalid=options.skip_invalid,
        lonlat_wgs84=options.lonlat_wgs84,
        area_unit=options.area_unit,
        area_tolerance=options.area_tolerance,
        progress=progress,
        store_mines=store.mine_ids(),
        store_sites=store.site_owners(),
        names=names,
    )
    if before_write is not None:
        before_write(register)
    recorded = options.recorded()
    change = dataclasses.replace(
        change,
        files=[{"path": f.path, "sha256": f.sha256} for f in report.files],
        options={**change.options, **recorded},
    )
    plan = store.import_register(
        register,
        mode=options.mode,
        source=report.source(recorded),
        change=change,
        origins=report.origins,
        dry_run=options.dry_run,
    )
    warnings = sample_plausibility(register.samples, report.sample_origins)
    return ImportOutcome(register, report, plan, warnings)
