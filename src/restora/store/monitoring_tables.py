"""The monitoring tables (revision 0011): sensors and their readings, alerts, remote-sensing
results, milestones and their sign-off, tranche releases and integrity records
(docs/monitoring.md).

Ingestion (:mod:`restora.store.monitoring`):

- ``monitoring_sensors``: a sensor of a mine (and site), ``id`` = ``<mine>/<site>/<sensor>``
  as in the MQTT topic ``restora/<mine>/<site>/<sensor>/<indicator>``; the interval at which
  it is expected to report (default 900 s) and when it last did;
- ``monitoring_readings``: one value of one indicator at one time, unique per (sensor,
  indicator, measured time), so a message delivered twice is stored once; where it came from
  (``mqtt``, ``http``, ``campaign``), when it arrived and when it was stored;
- ``monitoring_quarantine``: what could not be stored (malformed, out of the indicator's
  valid range, unknown mine), with the reason, the field and where it came from;
- ``monitoring_campaigns``: field campaigns imported from CSV/XLSX files (file, sha256, rows).

Alerts (:mod:`restora.store.alerts`):

- ``monitoring_rules``: alert rules as data (threshold, rate of change, trend, offline), per
  indicator, scoped to a mine, a site or a sensor (or everywhere), each with a level
  (``warning``, ``alarm``) and its parameters;
- ``monitoring_alerts``: raised alerts and their state (``raised``, ``acknowledged``,
  ``resolved``), the value that raised them and when its message arrived (the latency of an
  alert is ``raised_at - received_at``);
- ``monitoring_alert_events``: the lifecycle of each alert (append-only);
- ``monitoring_hooks``, ``monitoring_deliveries``: notification hooks (webhook, email) and
  the outbox of their deliveries.

Remote sensing: ``monitoring_rs_results`` (fractional vegetation cover and land-cover change
per zone from an NDVI raster: parameters and per-zone statistics).

Verification: ``monitoring_milestones`` (a project's milestones: indicator, target, due date,
the performance-bond tranche it settles and the credits it earns), ``monitoring_signoffs``
(an evaluator's sign-off with its evidence, the registry event that records it, the
verification and serials it issued) and ``finance_tranche_releases`` (the bond tranche each
sign-off released: tier, fraction, amount).

Integrity: ``integrity_obligations`` (what a company owed and when: milestones, fund accruals,
monitoring reports; met, late or missed) and ``integrity_scores`` (each scoring: score, grade,
the measures it triggers, the rules' version).
"""

from __future__ import annotations

import sqlalchemy as sa

from restora.store.tables import metadata

BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TS = sa.DateTime(timezone=True)

monitoring_sensors = sa.Table(
    "monitoring_sensors",
    metadata,
    sa.Column("id", sa.String, primary_key=True),
    sa.Column("mine_id", sa.String, nullable=False, index=True),
    sa.Column("site_id", sa.String, nullable=True),
    sa.Column("code", sa.String, nullable=False),
    sa.Column("name", sa.String, nullable=True),
    sa.Column("indicators", sa.JSON, nullable=False),
    sa.Column("expected_interval_s", sa.Integer, nullable=False),
    sa.Column("lon", sa.Float, nullable=True),
    sa.Column("lat", sa.Float, nullable=True),
    sa.Column("active", sa.Boolean, nullable=False),
    sa.Column("created_at", _TS, nullable=False),
    sa.Column("last_seen_at", _TS, nullable=True),
    sa.Column("last_measured_at", _TS, nullable=True),
    sa.Column("attrs", sa.JSON, nullable=False),
)
monitoring_campaigns = sa.Table(
    "monitoring_campaigns",
    metadata,
    sa.Column("id", sa.String, primary_key=True),
    sa.Column("mine_id", sa.String, nullable=True, index=True),
    sa.Column("name", sa.String, nullable=False),
    sa.Column("kind", sa.String, nullable=False),
    sa.Column("file_name", sa.String, nullable=True),
    sa.Column("sha256", sa.String, nullable=True),
    sa.Column("rows", sa.Integer, nullable=False),
    sa.Column("imported_at", _TS, nullable=False),
    sa.Column("imported_by", sa.String, nullable=True),
    sa.Column("attrs", sa.JSON, nullable=False),
)
monitoring_readings = sa.Table(
    "monitoring_readings",
    metadata,
    sa.Column("id", BIGINT, primary_key=True, autoincrement=True),
    sa.Column("sensor_id", sa.String, nullable=False),
    sa.Column("mine_id", sa.String, nullable=False),
    sa.Column("site_id", sa.String, nullable=True),
    sa.Column("indicator", sa.String, nullable=False),
    sa.Column("measured_at", _TS, nullable=False),
    sa.Column("value", sa.Float, nullable=False),
    sa.Column("unit", sa.String, nullable=False),
    sa.Column("source", sa.String, nullable=False),
    sa.Column("campaign_id", sa.String, nullable=True),
    sa.Column("received_at", _TS, nullable=False),
    sa.Column("stored_at", _TS, nullable=False),
    sa.Column("attrs", sa.JSON, nullable=True),
    sa.UniqueConstraint(
        "sensor_id", "indicator", "measured_at", name="uq_monitoring_readings_measurement"
    ),
    sa.Index("ix_monitoring_readings_mine", "mine_id", "indicator", "measured_at"),
)
monitoring_quarantine = sa.Table(
    "monitoring_quarantine",
    metadata,
    sa.Column("id", BIGINT, primary_key=True, autoincrement=True),
    sa.Column("received_at", _TS, nullable=False),
    sa.Column("source", sa.String, nullable=False),
    sa.Column("origin", sa.String, nullable=True),
    sa.Column("row", sa.Integer, nullable=True),
    sa.Column("field", sa.String, nullable=True),
    sa.Column("reason", sa.String, nullable=False),
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("mine_id", sa.String, nullable=True, index=True),
)
monitoring_rules = sa.Table(
    "monitoring_rules",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String, nullable=False),
    sa.Column("kind", sa.String, nullable=False),
    sa.Column("indicator", sa.String, nullable=True),
    sa.Column("level", sa.String, nullable=False),
    sa.Column("mine_id", sa.String, nullable=True, index=True),
    sa.Column("site_id", sa.String, nullable=True),
    sa.Column("sensor_id", sa.String, nullable=True),
    sa.Column("params", sa.JSON, nullable=False),
    sa.Column("active", sa.Boolean, nullable=False),
    sa.Column("created_at", _TS, nullable=False),
    sa.Column("created_by", sa.String, nullable=True),
)
monitoring_alerts = sa.Table(
    "monitoring_alerts",
    metadata,
    sa.Column("id", BIGINT, primary_key=True, autoincrement=True),
    sa.Column("rule_id", sa.Integer, nullable=True),
    sa.Column("kind", sa.String, nullable=False),
    sa.Column("level", sa.String, nullable=False),
    sa.Column("mine_id", sa.String, nullable=False, index=True),
    sa.Column("site_id", sa.String, nullable=True),
    sa.Column("sensor_id", sa.String, nullable=True, index=True),
    sa.Column("indicator", sa.String, nullable=True),
    sa.Column("state", sa.String, nullable=False, index=True),
    sa.Column("value", sa.Float, nullable=True),
    sa.Column("threshold", sa.Float, nullable=True),
    sa.Column("message", sa.String, nullable=False),
    sa.Column("reading_id", BIGINT, nullable=True),
    sa.Column("measured_at", _TS, nullable=True),
    sa.Column("received_at", _TS, nullable=True),
    sa.Column("raised_at", _TS, nullable=False),
    sa.Column("acknowledged_at", _TS, nullable=True),
    sa.Column("acknowledged_by", sa.String, nullable=True),
    sa.Column("resolved_at", _TS, nullable=True),
    sa.Column("resolved_by", sa.String, nullable=True),
    sa.Column("details", sa.JSON, nullable=False),
)
monitoring_alert_events = sa.Table(
    "monitoring_alert_events",
    metadata,
    sa.Column("id", BIGINT, primary_key=True, autoincrement=True),
    sa.Column("alert_id", BIGINT, nullable=False, index=True),
    sa.Column("at", _TS, nullable=False),
    sa.Column("state", sa.String, nullable=False),
    sa.Column("by", sa.String, nullable=True),
    sa.Column("note", sa.String, nullable=True),
)
monitoring_hooks = sa.Table(
    "monitoring_hooks",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("kind", sa.String, nullable=False),
    sa.Column("target", sa.String, nullable=False),
    sa.Column("levels", sa.JSON, nullable=False),
    sa.Column("mine_id", sa.String, nullable=True),
    sa.Column("secret", sa.String, nullable=True),
    sa.Column("active", sa.Boolean, nullable=False),
    sa.Column("created_at", _TS, nullable=False),
    sa.Column("created_by", sa.String, nullable=True),
)
monitoring_deliveries = sa.Table(
    "monitoring_deliveries",
    metadata,
    sa.Column("id", BIGINT, primary_key=True, autoincrement=True),
    sa.Column("hook_id", sa.Integer, nullable=False, index=True),
    sa.Column("alert_id", BIGINT, nullable=False),
    sa.Column("event", sa.String, nullable=False),
    sa.Column("status", sa.String, nullable=False, index=True),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("last_error", sa.String, nullable=True),
    sa.Column("created_at", _TS, nullable=False),
    sa.Column("next_attempt_at", _TS, nullable=False),
    sa.Column("sent_at", _TS, nullable=True),
)
monitoring_rs_results = sa.Table(
    "monitoring_rs_results",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("mine_id", sa.String, nullable=False, index=True),
    sa.Column("kind", sa.String, nullable=False),
    sa.Column("acquired_on", sa.Date, nullable=False),
    sa.Column("file_name", sa.String, nullable=True),
    sa.Column("sha256", sa.String, nullable=False),
    sa.Column("params", sa.JSON, nullable=False),
    sa.Column("zones", sa.JSON, nullable=False),
    sa.Column("created_at", _TS, nullable=False),
    sa.Column("created_by", sa.String, nullable=True),
)
monitoring_milestones = sa.Table(
    "monitoring_milestones",
    metadata,
    sa.Column("id", sa.String, primary_key=True),
    sa.Column("project_id", sa.String, nullable=False, index=True),
    sa.Column("name", sa.String, nullable=False),
    sa.Column("indicator", sa.String, nullable=False),
    sa.Column("comparison", sa.String, nullable=False),
    sa.Column("target", sa.Float, nullable=False),
    sa.Column("due_on", sa.Date, nullable=True),
    sa.Column("tranche", sa.String, nullable=True),
    sa.Column("credits", sa.JSON, nullable=True),
    sa.Column("params", sa.JSON, nullable=False),
    sa.Column("status", sa.String, nullable=False),
    sa.Column("created_at", _TS, nullable=False),
    sa.Column("created_by", sa.String, nullable=True),
)
monitoring_signoffs = sa.Table(
    "monitoring_signoffs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("milestone_id", sa.String, nullable=False, index=True),
    sa.Column("project_id", sa.String, nullable=False, index=True),
    sa.Column("decision", sa.String, nullable=False),
    sa.Column("value", sa.Float, nullable=True),
    sa.Column("evidence", sa.JSON, nullable=False),
    sa.Column("report_sha256", sa.String, nullable=False),
    sa.Column("evaluator", sa.String, nullable=False),
    sa.Column("evaluator_org_id", sa.Integer, nullable=True),
    sa.Column("note", sa.String, nullable=True),
    sa.Column("signed_at", _TS, nullable=False),
    sa.Column("event_id", BIGINT, nullable=True),
    sa.Column("verification_id", sa.String, nullable=True),
    sa.Column("issued", sa.JSON, nullable=True),
)
finance_tranche_releases = sa.Table(
    "finance_tranche_releases",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("project_id", sa.String, nullable=False, index=True),
    sa.Column("instrument", sa.String, nullable=False),
    sa.Column("tranche", sa.String, nullable=False),
    sa.Column("indicator", sa.String, nullable=False),
    sa.Column("value", sa.Float, nullable=False),
    sa.Column("tier", sa.String, nullable=True),
    sa.Column("principal_fraction", sa.Float, nullable=False),
    sa.Column("amount_cny", sa.Float, nullable=False),
    sa.Column("signoff_id", sa.Integer, nullable=False),
    sa.Column("released_at", _TS, nullable=False),
    sa.Column("details", sa.JSON, nullable=False),
    sa.UniqueConstraint(
        "project_id", "instrument", "tranche", name="uq_finance_tranche_releases_tranche"
    ),
)
integrity_obligations = sa.Table(
    "integrity_obligations",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("org_id", sa.Integer, nullable=False, index=True),
    sa.Column("kind", sa.String, nullable=False),
    sa.Column("ref", sa.String, nullable=True),
    sa.Column("mine_id", sa.String, nullable=True),
    sa.Column("project_id", sa.String, nullable=True),
    sa.Column("description", sa.String, nullable=False),
    sa.Column("due_on", sa.Date, nullable=False),
    sa.Column("amount", sa.Float, nullable=True),
    sa.Column("done_on", sa.Date, nullable=True),
    sa.Column("done_amount", sa.Float, nullable=True),
    sa.Column("status", sa.String, nullable=False),
    sa.Column("source", sa.String, nullable=False),
    sa.Column("recorded_at", _TS, nullable=False),
    sa.Column("recorded_by", sa.String, nullable=True),
    sa.Column("details", sa.JSON, nullable=False),
)
integrity_scores = sa.Table(
    "integrity_scores",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("org_id", sa.Integer, nullable=False, index=True),
    sa.Column("as_of", sa.Date, nullable=False),
    sa.Column("score", sa.Float, nullable=False),
    sa.Column("grade", sa.String, nullable=False),
    sa.Column("measures", sa.JSON, nullable=False),
    sa.Column("breakdown", sa.JSON, nullable=False),
    sa.Column("rules", sa.String, nullable=False),
    sa.Column("public", sa.Boolean, nullable=False),
    sa.Column("computed_at", _TS, nullable=False),
)

#: Tables whose rows are never changed or deleted (triggers of revision 0011).
APPEND_ONLY = ("monitoring_alert_events", "monitoring_signoffs", "finance_tranche_releases")
