"""Samples keep the stated detection limit of each ``<x`` result as a number, per metal.

``samples.<metal>_dl_mg_per_kg`` [mg/kg] holds x where the lab wrote ``<x`` (NULL for a measured
value, ``ND`` without a limit or a metal not measured). Until now the limit survived only as
text in ``qualifiers`` (``"Hg=ND; As=<70"``, revision 0003) beside the substitute ½·x, so the
diagnosis of a register could not tell a ``<70`` from a measured 35 (issue 11, item 6: a limit
above the screening value leaves the class indeterminate).

Upgrade fills the new columns from the ``<x`` entries of ``qualifiers``, so a register imported
before keeps its limits. Downgrade writes every limit that ``qualifiers`` does not mention back
into it as ``Metal=<x`` before dropping the columns, so no limit is lost either way.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Written out rather than imported (a migration must keep doing what it did the day it was
# written): the metals of revision 0001 and the grammar of restora.inventory.censored as of now.
METALS = ("Cd", "Hg", "As", "Pb", "Cr", "Cu", "Ni", "Zn")
_ENTRY = re.compile(r"^\s*([^=:：]+?)\s*[=:：]\s*(.+?)\s*$")
_LIMIT = re.compile(r"^[<＜]\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*$")


def _column(metal: str) -> str:
    return f"{metal.lower()}_dl_mg_per_kg"


def _entries(text: str | None) -> dict[str, str]:
    """``{metal in lower case: entry}`` of a qualifiers text (first entry of a name wins)."""
    out: dict[str, str] = {}
    for part in re.split(r"[;；]", text or ""):
        m = _ENTRY.match(part)
        if m:
            out.setdefault(m.group(1).lower(), m.group(2))
    return out


def _samples() -> sa.TableClause:
    return sa.table(
        "samples",
        sa.column("sample_id", sa.String()),
        sa.column("qualifiers", sa.String()),
        *(sa.column(_column(m), sa.Double()) for m in METALS),
    )


def upgrade() -> None:
    with op.batch_alter_table("samples") as batch:
        for m in METALS:
            batch.add_column(sa.Column(_column(m), sa.Double(), nullable=True))
    conn = op.get_bind()
    samples = _samples()
    rows = conn.execute(
        sa.select(samples.c.sample_id, samples.c.qualifiers).where(
            samples.c.qualifiers.is_not(None)
        )
    ).all()
    for sample_id, text in rows:
        entries = _entries(text)
        values = {}
        for m in METALS:
            limit = _LIMIT.match(entries.get(m.lower(), ""))
            if limit:
                values[_column(m)] = float(limit.group(1))
        if values:
            conn.execute(samples.update().where(samples.c.sample_id == sample_id).values(**values))


def _number(x: float) -> str:
    """Shortest exact text of ``x`` without a trailing ``.0`` (``70.0`` → ``70``)."""
    text = repr(float(x))
    return text[:-2] if text.endswith(".0") else text


def downgrade() -> None:
    conn = op.get_bind()
    samples = _samples()
    stated = sa.or_(*(samples.c[_column(m)].is_not(None) for m in METALS))
    rows = conn.execute(sa.select(samples).where(stated)).mappings().all()
    for row in rows:
        text = row["qualifiers"]
        named = _entries(text)
        extra = [
            f"{m}=<{_number(row[_column(m)])}"
            for m in METALS
            if row[_column(m)] is not None and m.lower() not in named
        ]
        if extra:
            new = "; ".join(([text] if text else []) + extra)
            conn.execute(
                samples.update()
                .where(samples.c.sample_id == row["sample_id"])
                .values(qualifiers=new)
            )
    with op.batch_alter_table("samples") as batch:
        for m in METALS:
            batch.drop_column(_column(m))
