"""The register: mines, sites, samples, hazards.

One row per mine, per site polygon (WKB, EPSG:4326), per soil sample (metals in mg/kg, one column
per metal) and per geohazard. Children reference their mine (ON DELETE CASCADE); samples and
hazards may reference a site of the same mine.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Written out rather than imported from restora.inventory.schema: a migration must keep creating
# the tables it created on the day it was written.
METALS = ("cd", "hg", "as", "pb", "cr", "cu", "ni", "zn")


def _mine_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["mine_id"], ["mines.mine_id"], name=f"fk_{table}_mine_id_mines", ondelete="CASCADE"
    )


def _site_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["site_id"], ["sites.site_id"], name=f"fk_{table}_site_id_sites", ondelete="CASCADE"
    )


def upgrade() -> None:
    op.create_table(
        "mines",
        sa.Column("mine_id", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("region_code", sa.String(), nullable=False),
        sa.Column("mineral", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("responsible_party", sa.String(), nullable=True),
        sa.Column("closure_year", sa.Integer(), nullable=True),
        sa.Column("landscape_value", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("mine_id", name="pk_mines"),
    )
    op.create_index("ix_mines_region_code", "mines", ["region_code"])

    op.create_table(
        "sites",
        sa.Column("site_id", sa.String(), nullable=False),
        sa.Column("mine_id", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("declared_area_hm2", sa.Double(), nullable=True),
        sa.Column("slope_deg", sa.Double(), nullable=True),
        sa.Column("water", sa.Boolean(), nullable=True),
        sa.Column("water_depth_m", sa.Double(), nullable=True),
        sa.Column("soil_thickness_m", sa.Double(), nullable=True),
        sa.Column("area_hm2", sa.Double(), nullable=True),
        sa.Column("geometry", sa.LargeBinary(), nullable=True),
        sa.PrimaryKeyConstraint("site_id", name="pk_sites"),
        _mine_fk("sites"),
    )
    op.create_index("ix_sites_mine_id", "sites", ["mine_id"])

    op.create_table(
        "samples",
        sa.Column("sample_id", sa.String(), nullable=False),
        sa.Column("mine_id", sa.String(), nullable=False),
        sa.Column("site_id", sa.String(), nullable=True),
        sa.Column("lon", sa.Double(), nullable=True),
        sa.Column("lat", sa.Double(), nullable=True),
        sa.Column("depth_m", sa.Double(), nullable=True),
        sa.Column("ph", sa.Double(), nullable=False),
        sa.Column("land_use", sa.String(), nullable=False),
        sa.Column("lab", sa.String(), nullable=True),
        sa.Column("sampled_on", sa.Date(), nullable=True),
        *(sa.Column(f"{m}_mg_per_kg", sa.Double(), nullable=True) for m in METALS),
        sa.PrimaryKeyConstraint("sample_id", name="pk_samples"),
        _mine_fk("samples"),
        _site_fk("samples"),
    )
    op.create_index("ix_samples_mine_id", "samples", ["mine_id"])
    op.create_index("ix_samples_site_id", "samples", ["site_id"])

    op.create_table(
        "hazards",
        sa.Column("hazard_id", sa.String(), nullable=False),
        sa.Column("mine_id", sa.String(), nullable=False),
        sa.Column("site_id", sa.String(), nullable=True),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("volume_m3", sa.Double(), nullable=True),
        sa.Column("people_threatened", sa.Integer(), nullable=True),
        sa.Column("property_threatened_cny", sa.Double(), nullable=True),
        sa.Column("distance_to_buildings_m", sa.Double(), nullable=True),
        sa.Column("lon", sa.Double(), nullable=True),
        sa.Column("lat", sa.Double(), nullable=True),
        sa.PrimaryKeyConstraint("hazard_id", name="pk_hazards"),
        _mine_fk("hazards"),
        _site_fk("hazards"),
    )
    op.create_index("ix_hazards_mine_id", "hazards", ["mine_id"])
    op.create_index("ix_hazards_site_id", "hazards", ["site_id"])


def downgrade() -> None:
    for table in ("hazards", "samples", "sites", "mines"):
        op.drop_table(table)
