"""The coordination record's tables (revision 0012; docs/evaluation.md "The coordination record").

- ``coordination_meetings``: a joint meeting of natural-resources departments and financial
  institutions: when and where, who convened it, the agenda, the participants (organisation,
  role, person), the decisions, the projects and mines it concerns, the attachments' SHA-256,
  whether it is public (not unless marked), the regions it concerns (its own and its projects'
  and mines', for the region scope) and the text it is searched by;
- ``coordination_followups``: each follow-up a meeting decided: the action, its owner
  (organisation, person), due date and the date it was done (its status — open, done,
  overdue — follows from these and the day asked about);
- ``coordination_consultations``: a community consultation or hearing on a project: the notice
  (published date, channel, content), attendance by group, the opinions raised (by group; the
  speaker's name is kept for the record, never disclosed) with the answers and whether they
  were adopted; public by default.

Every write is audited in its transaction (:mod:`restora.store.coordination`).
"""

from __future__ import annotations

import sqlalchemy as sa

from restora.store.tables import metadata

_TS = sa.DateTime(timezone=True)

coordination_meetings = sa.Table(
    "coordination_meetings",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("held_on", sa.Date, nullable=False, index=True),
    sa.Column("title", sa.String, nullable=False),
    sa.Column("place", sa.String, nullable=True),
    sa.Column("convener", sa.String, nullable=False),
    sa.Column("region_code", sa.String, nullable=True, index=True),
    sa.Column("regions", sa.JSON, nullable=False),
    sa.Column("agenda", sa.JSON, nullable=False),
    sa.Column("participants", sa.JSON, nullable=False),
    sa.Column("decisions", sa.JSON, nullable=False),
    sa.Column("projects", sa.JSON, nullable=False),
    sa.Column("mines", sa.JSON, nullable=False),
    sa.Column("attachments", sa.JSON, nullable=False),
    sa.Column("public", sa.Boolean, nullable=False),
    sa.Column("search_text", sa.String, nullable=False),
    sa.Column("recorded_at", _TS, nullable=False),
    sa.Column("recorded_by", sa.String, nullable=True),
)
coordination_followups = sa.Table(
    "coordination_followups",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "meeting_id",
        sa.Integer,
        sa.ForeignKey("coordination_meetings.id"),
        nullable=False,
        index=True,
    ),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("action", sa.String, nullable=False),
    sa.Column("owner_organisation", sa.String, nullable=False),
    sa.Column("owner_person", sa.String, nullable=True),
    sa.Column("due_on", sa.Date, nullable=False, index=True),
    sa.Column("done_on", sa.Date, nullable=True),
    sa.Column("note", sa.String, nullable=True),
    sa.Column("updated_at", _TS, nullable=False),
    sa.UniqueConstraint("meeting_id", "seq", name="uq_coordination_followups_seq"),
)
coordination_consultations = sa.Table(
    "coordination_consultations",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("kind", sa.String, nullable=False),
    sa.Column("held_on", sa.Date, nullable=False, index=True),
    sa.Column("title", sa.String, nullable=False),
    sa.Column("place", sa.String, nullable=True),
    sa.Column("organiser", sa.String, nullable=False),
    sa.Column("project_id", sa.String, nullable=True, index=True),
    sa.Column("mine_id", sa.String, nullable=True),
    sa.Column("region_code", sa.String, nullable=True, index=True),
    sa.Column("notice", sa.JSON, nullable=False),
    sa.Column("attendance", sa.JSON, nullable=False),
    sa.Column("opinions", sa.JSON, nullable=False),
    sa.Column("attachments", sa.JSON, nullable=False),
    sa.Column("public", sa.Boolean, nullable=False),
    sa.Column("search_text", sa.String, nullable=False),
    sa.Column("recorded_at", _TS, nullable=False),
    sa.Column("recorded_by", sa.String, nullable=True),
)
