"""The store's tables (SQLAlchemy Core), as the latest migration leaves them.

The register's four tables mirror :data:`restora.inventory.schema.TABLES`: one database column per
schema column, plus ``area_hm2`` and ``geometry`` (WKB, EPSG:4326) for sites, one column per
metal of :data:`restora.inventory.schema.METALS` [mg/kg] and one per metal for the stated
detection limit of a ``<x`` result [mg/kg] (:data:`restora.inventory.model.DETECTION_LIMIT_COLUMNS`)
for samples, ``import_id`` (the ``imports`` row of the import that last wrote the record), and
the soft-delete marks :data:`SOFT_DELETE_COLUMNS` (``deleted_at`` NULL for a live record).
The audit trail is two append-only tables: ``changes`` (one row per transaction: who, when, which
command, which files with their SHA-256) and ``audit`` (one row per record inserted, updated,
deleted or restored, with the fields before and after). Migrations under
``migrations/versions`` create exactly these tables; a test compares this metadata with a
migrated database.

Metal columns are named ``<metal>_mg_per_kg`` in the database (lower case, so PostgreSQL needs
no quoting) and keyed by the metal symbol (``"Cd"``) in Python, so rows are dicts keyed like the
register's DataFrame columns; detection limits are ``<metal>_dl_mg_per_kg``, keyed
``<Metal>_detection_limit`` (``as_dl_mg_per_kg`` / ``As_detection_limit``).
"""

from __future__ import annotations

import sqlalchemy as sa

from restora.inventory.model import DETECTION_LIMIT_COLUMNS
from restora.inventory.schema import METALS, TABLES, Kind

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)

REGISTER_TABLES = ("mines", "sites", "samples", "hazards")
"""The register's tables, parents first (the order of inserts)."""

ID_COLUMNS = {
    "mines": "mine_id",
    "sites": "site_id",
    "samples": "sample_id",
    "hazards": "hazard_id",
}


def metal_column_name(metal: str) -> str:
    """Database column of a metal concentration [mg/kg], e.g. ``cd_mg_per_kg`` for ``Cd``."""
    return f"{metal.lower()}_mg_per_kg"


def detection_limit_column_name(metal: str) -> str:
    """Database column of a metal's stated detection limit [mg/kg], e.g. ``as_dl_mg_per_kg``."""
    return f"{metal.lower()}_dl_mg_per_kg"


def frame_columns(table: str) -> list[tuple[str, Kind | str]]:
    """The register DataFrame columns of ``table`` and their kinds, in the store's order.

    Kinds are those of :class:`restora.inventory.schema.Column` plus ``"geometry"``.
    """
    cols: list[tuple[str, Kind | str]] = [(c.name, c.kind) for c in TABLES[table]]
    if table == "sites":
        cols += [("area_hm2", "float"), ("geometry", "geometry")]
    if table == "samples":
        cols += [(m, "float") for m in METALS]
        cols += [(DETECTION_LIMIT_COLUMNS[m], "float") for m in METALS]
    return cols


imports = sa.Table(
    "imports",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("source", sa.JSON, nullable=False),
    sa.Column("counts", sa.JSON, nullable=False),
)


changes = sa.Table(
    "changes",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("user_name", sa.String, nullable=False),
    sa.Column("command", sa.String, nullable=False),
    sa.Column("files", sa.JSON, nullable=False),
    sa.Column("options", sa.JSON, nullable=False),
    sa.Column("import_id", sa.ForeignKey("imports.id"), nullable=True),
    sa.Column("user_id", sa.Integer, nullable=True, index=True),
    sa.Column("request_id", sa.String, nullable=True),
    sa.Index("ix_changes_changed_at", "changed_at"),
)
"""One row per change of the register (one transaction): who (``user_name``), when
(``changed_at``, UTC), ``command`` (e.g. ``mines import``), ``files`` (``[{"path",
"sha256"}]``), ``options`` and, for an import, its ``imports`` row; through the platform also the
account (``user_id``) and the request (``request_id``, revision 0006)."""

audit = sa.Table(
    "audit",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("change_id", sa.ForeignKey("changes.id"), nullable=False, index=True),
    sa.Column("table_name", sa.String, nullable=False),
    sa.Column("record_id", sa.String, nullable=False),
    sa.Column("mine_id", sa.String, nullable=True, index=True),
    sa.Column("action", sa.String, nullable=False),
    sa.Column("before", sa.JSON, nullable=True),
    sa.Column("after", sa.JSON, nullable=True),
    sa.Index("ix_audit_table_name_record_id", "table_name", "record_id"),
)
"""One row per record changed: ``table_name``, ``record_id``, the record's ``mine_id`` (null
for a record of no mine: an account, a project, a complaint; revision 0006), ``action``
(:data:`AUDIT_ACTIONS`) and the changed fields ``before`` and ``after`` (JSON objects;
``before`` NULL for an insert, ``after`` NULL for a purge)."""

AUDIT_ACTIONS = ("insert", "update", "delete", "restore", "purge")
APPEND_ONLY = ("imports", "changes", "audit")
"""Tables whose rows are never updated or deleted (database triggers refuse it, revision 0005)."""

MINE_DEPENDENTS = ("sites", "samples", "hazards")
"""Tables whose rows depend on a mine (they name it in ``mine_id``), children last. Deleting a
mine names its live rows in each and, without ``cascade``, is refused while there are any. A
table added later that refers to a mine (plans, appraisals) joins this tuple and carries
:data:`SOFT_DELETE_COLUMNS`, so that a deleted mine's rows are deleted (and restored) with it."""

SOFT_DELETE_COLUMNS = ("deleted_at", "deleted_by", "deleted_reason", "deleted_change_id")
"""Soft-delete marks of every register row: when (UTC), by whom, why, and the change."""


def _import_id() -> sa.Column:
    return sa.Column("import_id", sa.ForeignKey("imports.id"), nullable=True, index=True)


def _soft_delete() -> list[sa.Column]:
    return [
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deleted_by", sa.String, nullable=True),
        sa.Column("deleted_reason", sa.String, nullable=True),
        sa.Column("deleted_change_id", sa.ForeignKey("changes.id"), nullable=True, index=True),
    ]


def _fk(target: str) -> sa.ForeignKey:
    return sa.ForeignKey(target, ondelete="CASCADE")


mines = sa.Table(
    "mines",
    metadata,
    sa.Column("mine_id", sa.String, primary_key=True),
    sa.Column("name", sa.String, nullable=False),
    sa.Column("region_code", sa.String, nullable=False, index=True),
    sa.Column("mineral", sa.String, nullable=False),
    sa.Column("status", sa.String, nullable=False),
    sa.Column("responsible_party", sa.String),
    sa.Column("closure_year", sa.Integer),
    sa.Column("landscape_value", sa.String),
    _import_id(),
    *_soft_delete(),
)

sites = sa.Table(
    "sites",
    metadata,
    sa.Column("site_id", sa.String, primary_key=True),
    sa.Column("mine_id", sa.String, _fk("mines.mine_id"), nullable=False, index=True),
    sa.Column("kind", sa.String, nullable=False),
    sa.Column("declared_area_hm2", sa.Double),
    sa.Column("slope_deg", sa.Double),
    sa.Column("water", sa.Boolean),
    sa.Column("water_depth_m", sa.Double),
    sa.Column("soil_thickness_m", sa.Double),
    sa.Column("area_hm2", sa.Double),
    sa.Column("geometry", sa.LargeBinary),
    _import_id(),
    *_soft_delete(),
)

samples = sa.Table(
    "samples",
    metadata,
    sa.Column("sample_id", sa.String, primary_key=True),
    sa.Column("mine_id", sa.String, _fk("mines.mine_id"), nullable=False, index=True),
    sa.Column("site_id", sa.String, _fk("sites.site_id"), index=True),
    sa.Column("lon", sa.Double),
    sa.Column("lat", sa.Double),
    sa.Column("depth_m", sa.Double),
    sa.Column("ph", sa.Double, nullable=False),
    sa.Column("land_use", sa.String, nullable=False),
    sa.Column("lab", sa.String),
    sa.Column("sampled_on", sa.Date),
    *(sa.Column(metal_column_name(m), sa.Double, key=m) for m in METALS),
    _import_id(),
    sa.Column("qualifiers", sa.String),
    *(
        sa.Column(detection_limit_column_name(m), sa.Double, key=DETECTION_LIMIT_COLUMNS[m])
        for m in METALS
    ),
    *_soft_delete(),
)

hazards = sa.Table(
    "hazards",
    metadata,
    sa.Column("hazard_id", sa.String, primary_key=True),
    sa.Column("mine_id", sa.String, _fk("mines.mine_id"), nullable=False, index=True),
    sa.Column("site_id", sa.String, _fk("sites.site_id"), index=True),
    sa.Column("kind", sa.String, nullable=False),
    sa.Column("volume_m3", sa.Double),
    sa.Column("people_threatened", sa.Integer),
    sa.Column("property_threatened_cny", sa.Double),
    sa.Column("distance_to_buildings_m", sa.Double),
    sa.Column("lon", sa.Double),
    sa.Column("lat", sa.Double),
    _import_id(),
    *_soft_delete(),
)

REGISTER: dict[str, sa.Table] = {
    "mines": mines,
    "sites": sites,
    "samples": samples,
    "hazards": hazards,
}

# the platform's tables share this metadata (revisions 0006-0012)
from restora.store import coordination_tables as _coordination_tables  # noqa: E402, F401
from restora.store import monitoring_tables as _monitoring_tables  # noqa: E402, F401
from restora.store import platform_tables as _platform_tables  # noqa: E402, F401
from restora.store import registry_tables as _registry_tables  # noqa: E402, F401
