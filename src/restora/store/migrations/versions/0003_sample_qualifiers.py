"""Samples keep what the lab wrote for results below the limit of detection.

``samples.qualifiers`` holds text such as ``"Hg=ND; Cd=<0.05"``: the register stores a number per
metal (by the non-detect rule of ``soil/indices/non-detect``) and this column keeps the lab's
original entries, so no user data is lost (see :mod:`restora.inventory.censored`).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("samples") as batch:
        batch.add_column(sa.Column("qualifiers", sa.String(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("samples") as batch:
        batch.drop_column("qualifiers")
