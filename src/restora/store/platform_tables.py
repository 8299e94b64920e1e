"""The platform's tables (revisions 0006–0008), beside the register's (:mod:`restora.store.tables`).

- accounts (0006): ``organisations``, ``users`` (argon2 password hashes), ``sessions`` (web
  sign-ins, hashed tokens, CSRF secret), ``api_tokens`` (hashed bearer tokens for scripts),
  ``sign_in_failures`` (recent failed sign-ins, keyed hashes); and ``changes.request_id`` /
  ``changes.user_id`` so the audit trail names the request and account (``audit.mine_id`` is
  null for records of no mine);
- projects and jobs (0007): ``projects`` (a project file's spec, owner, publication), ``appraisals``
  (every run, versioned per project, with its inputs' hash and its documents), ``jobs`` (the
  background work queue's state: status, progress, attempts, result or error);
- disclosure (0008): ``disclosures`` (what of a mine or project is public), ``complaints``
  (public reports with a receipt number, assignment, answer and deadline), ``complaint_photos``
  and ``complaint_events`` (append-only history of each complaint).

Every timestamp is UTC. Tokens are never stored: only their SHA-256.
"""

from __future__ import annotations

import sqlalchemy as sa

from restora.store.tables import metadata

# ------------------------------------------------------------------------------ 0006 accounts
organisations = sa.Table(
    "organisations",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String, nullable=False, unique=True),
    sa.Column("kind", sa.String, nullable=False),
    sa.Column("region_code", sa.String, nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)
"""An organisation: a bureau, bank, company, evaluator, village collective … (``kind``)."""

users = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("username", sa.String, nullable=False, unique=True),
    sa.Column("display_name", sa.String, nullable=False),
    sa.Column("password_hash", sa.String, nullable=True),
    sa.Column("role", sa.String, nullable=False),
    sa.Column("org_id", sa.ForeignKey("organisations.id"), nullable=True, index=True),
    sa.Column("region_code", sa.String, nullable=True),
    sa.Column("active", sa.Boolean, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True),
)
"""An account: ``role`` (restora.service.permissions.ROLES), ``region_code`` its scope."""

sessions = sa.Table(
    "sessions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("token_sha256", sa.String, nullable=False, unique=True),
    sa.Column("user_id", sa.ForeignKey("users.id"), nullable=False, index=True),
    sa.Column("csrf_secret", sa.String, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
)

api_tokens = sa.Table(
    "api_tokens",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("token_sha256", sa.String, nullable=False, unique=True),
    sa.Column("user_id", sa.ForeignKey("users.id"), nullable=False, index=True),
    sa.Column("name", sa.String, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
)

sign_in_failures = sa.Table(
    "sign_in_failures",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("key_sha256", sa.String, nullable=False, index=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
)
"""Failed sign-ins of the last minutes: ``key_sha256`` a keyed hash (HMAC-SHA256 with the
secret key) of the username and the client address, never either of them."""

# ------------------------------------------------------------------------ 0007 projects, jobs
projects = sa.Table(
    "projects",
    metadata,
    sa.Column("project_id", sa.String, primary_key=True),
    sa.Column("name", sa.String, nullable=False),
    sa.Column("name_en", sa.String, nullable=True),
    sa.Column("region_code", sa.String, nullable=True, index=True),
    sa.Column("spec", sa.JSON, nullable=False),
    sa.Column("owner_org_id", sa.ForeignKey("organisations.id"), nullable=True, index=True),
    sa.Column("created_by", sa.ForeignKey("users.id"), nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("published", sa.Boolean, nullable=False),
    sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
)
"""A project: its file's content (``spec``, restora.appraisal.project.ProjectSpec as JSON),
who owns it, whether it is published to finance (``published``)."""

appraisals = sa.Table(
    "appraisals",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("project_id", sa.ForeignKey("projects.project_id"), nullable=False, index=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("inputs_sha256", sa.String, nullable=False, index=True),
    sa.Column("on_date", sa.String, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("created_by", sa.ForeignKey("users.id"), nullable=True),
    sa.Column("job_id", sa.String, nullable=True),
    sa.Column("document", sa.JSON, nullable=False),
    sa.Column("files", sa.JSON, nullable=False),
    sa.UniqueConstraint("project_id", "version"),
    sa.UniqueConstraint("project_id", "inputs_sha256"),
)
"""One appraisal run: ``version`` counts per project, ``inputs_sha256`` hashes what it was made
from (spec, register records, reference tables, date, Restora version: one version per hash),
``document`` is appraisal.json, ``files`` names the stored files under the data folder
(``{"json": relpath, "zh": {"xlsx", "html", "pdf"}, "en": {…}}``, a language's reports added
when first asked for; restora.store.projects)."""

jobs = sa.Table(
    "jobs",
    metadata,
    sa.Column("id", sa.String, primary_key=True),
    sa.Column("kind", sa.String, nullable=False),
    sa.Column("params", sa.JSON, nullable=False),
    sa.Column("idempotency_key", sa.String, nullable=True, unique=True),
    sa.Column("backend", sa.String, nullable=False),
    sa.Column("status", sa.String, nullable=False, index=True),
    sa.Column("progress", sa.Float, nullable=False),
    sa.Column("stage", sa.String, nullable=True),
    sa.Column("message", sa.String, nullable=True),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("cancel_requested", sa.Boolean, nullable=False),
    sa.Column("result", sa.JSON, nullable=True),
    sa.Column("worker", sa.String, nullable=True),
    sa.Column("created_by", sa.ForeignKey("users.id"), nullable=True, index=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
)
"""Background work: ``status`` queued → running → succeeded | failed | cancelled, ``progress``
0…1 and the current ``stage``, ``message`` the failure's, ``result`` what it made; ``backend``
which queue carries it (``thread`` or ``dramatiq``), ``worker`` the process running its latest
attempt (``host:pid``) and ``heartbeat_at`` when that process last said it was alive
(restora.service.jobs)."""

# --------------------------------------------------------------------------- 0008 disclosure
disclosures = sa.Table(
    "disclosures",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("subject", sa.String, nullable=False),
    sa.Column("subject_id", sa.String, nullable=False),
    sa.Column("fields", sa.JSON, nullable=False),
    sa.Column("disclosed_by", sa.ForeignKey("users.id"), nullable=True),
    sa.Column("disclosed_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("withdrawn_by", sa.ForeignKey("users.id"), nullable=True),
    sa.Index("ix_disclosures_subject", "subject", "subject_id"),
)
"""What is public: ``subject`` (``mine`` or ``project``) and which of its field groups
(``fields``, restora.store.disclosure); live while ``withdrawn_at`` is NULL."""

complaints = sa.Table(
    "complaints",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("receipt", sa.String, nullable=False, unique=True),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("lon", sa.Double, nullable=True),
    sa.Column("lat", sa.Double, nullable=True),
    sa.Column("mine_id", sa.String, nullable=True, index=True),
    sa.Column("project_id", sa.String, nullable=True, index=True),
    sa.Column("region_code", sa.String, nullable=True, index=True),
    sa.Column("status", sa.String, nullable=False, index=True),
    sa.Column("assigned_org_id", sa.ForeignKey("organisations.id"), nullable=True),
    sa.Column("assigned_user_id", sa.ForeignKey("users.id"), nullable=True),
    sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("answer", sa.Text, nullable=True),
    sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("answered_by", sa.ForeignKey("users.id"), nullable=True),
    sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("extension_reason", sa.Text, nullable=True),
    sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("client_sha256", sa.String, nullable=False, index=True),
    sa.Column("token_sha256", sa.String, nullable=True, unique=True),
)
"""A public report or complaint, followed by its ``receipt`` number: received → assigned →
answered (within ``due_at``) → closed; ``client_sha256`` a keyed hash of the address (rate
limits), never the address; ``token_sha256`` the anti-spam token it used (each serves once)."""

complaint_photos = sa.Table(
    "complaint_photos",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("complaint_id", sa.ForeignKey("complaints.id"), nullable=False, index=True),
    sa.Column("content_type", sa.String, nullable=False),
    sa.Column("size_bytes", sa.Integer, nullable=False),
    sa.Column("width", sa.Integer, nullable=False),
    sa.Column("height", sa.Integer, nullable=False),
    sa.Column("sha256", sa.String, nullable=False),
    sa.Column("path", sa.String, nullable=False),
)
"""A complaint's photo as stored: re-encoded without metadata, ``path`` under the data folder."""

complaint_events = sa.Table(
    "complaint_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("complaint_id", sa.ForeignKey("complaints.id"), nullable=False, index=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("action", sa.String, nullable=False),
    sa.Column("user_id", sa.ForeignKey("users.id"), nullable=True),
    sa.Column("note", sa.Text, nullable=True),
    sa.Column("details", sa.JSON, nullable=True),
)
"""A complaint's history, append-only (triggers of revision 0008 refuse UPDATE and DELETE)."""

# ---------------------------------------------------------------------------- 0009 the market
listings = sa.Table(
    "listings",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("project_id", sa.ForeignKey("projects.project_id"), nullable=False, index=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("appraisal_id", sa.ForeignKey("appraisals.id"), nullable=False),
    sa.Column("appraisal_version", sa.Integer, nullable=False),
    sa.Column("inputs_sha256", sa.String, nullable=False),
    sa.Column("figures", sa.JSON, nullable=False),
    sa.Column("amount_cny", sa.Double, nullable=False),
    sa.Column("needed_by", sa.String, nullable=True),
    sa.Column("schedule", sa.JSON, nullable=False),
    sa.Column("instrument", sa.String, nullable=False),
    sa.Column("tenor_years", sa.Double, nullable=True),
    sa.Column("stage", sa.String, nullable=False),
    sa.Column("collateral", sa.JSON, nullable=False),
    sa.Column("region_code", sa.String, nullable=True, index=True),
    sa.Column("mineral", sa.String, nullable=True),
    sa.Column("mode", sa.String, nullable=True),
    sa.Column("note", sa.Text, nullable=True),
    sa.Column("claim_window_hours", sa.Integer, nullable=False),
    sa.Column("access_claims", sa.Integer, nullable=False),
    sa.Column("answer_hours", sa.Integer, nullable=False),
    sa.Column("status", sa.String, nullable=False, index=True),
    sa.Column("owner_org_id", sa.ForeignKey("organisations.id"), nullable=True, index=True),
    sa.Column("created_by", sa.ForeignKey("users.id"), nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("closes_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
    sa.UniqueConstraint("project_id", "version"),
)
"""A project's need in the library, from one stored appraisal version (``figures`` extracted
from its document by restora.matching.library); ``status`` open, withdrawn or superseded (a
newer version published); matched and closed are read from the claims and ``closes_at``."""

products = sa.Table(
    "products",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("org_id", sa.ForeignKey("organisations.id"), nullable=False, index=True),
    sa.Column("name", sa.String, nullable=False),
    sa.Column("instrument", sa.String, nullable=False),
    sa.Column("capacity_cny", sa.Double, nullable=False),
    sa.Column("ticket_min_cny", sa.Double, nullable=False),
    sa.Column("ticket_max_cny", sa.Double, nullable=False),
    sa.Column("tenor_min_years", sa.Double, nullable=True),
    sa.Column("tenor_max_years", sa.Double, nullable=True),
    sa.Column("rate", sa.Double, nullable=True),
    sa.Column("fee_rate", sa.Double, nullable=True),
    sa.Column("premium_rate", sa.Double, nullable=True),
    sa.Column("requirements", sa.JSON, nullable=False),
    sa.Column("preferences", sa.JSON, nullable=False),
    sa.Column("active", sa.Boolean, nullable=False),
    sa.Column("created_by", sa.ForeignKey("users.id"), nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)
"""A provider organisation's finance product (a bank's green loan, a fund, a guarantee …)."""

claims = sa.Table(
    "claims",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("listing_id", sa.ForeignKey("listings.id"), nullable=False, index=True),
    sa.Column("product_id", sa.ForeignKey("products.id"), nullable=False),
    sa.Column("org_id", sa.ForeignKey("organisations.id"), nullable=False, index=True),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("access", sa.Boolean, nullable=False),
    sa.Column("amount_cny", sa.Double, nullable=True),
    sa.Column("note", sa.Text, nullable=True),
    sa.Column("claimed_by", sa.ForeignKey("users.id"), nullable=True),
    sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("chosen_by", sa.ForeignKey("users.id"), nullable=True),
    sa.Column("chosen_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("answer_due_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("answer", sa.String, nullable=True),
    sa.Column("terms", sa.JSON, nullable=True),
    sa.Column("answered_by", sa.ForeignKey("users.id"), nullable=True),
    sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
    sa.UniqueConstraint("listing_id", "org_id"),
    sa.UniqueConstraint("listing_id", "seq"),
)
"""A provider's claim of a listing (``seq``: its place; ``access``: among the first N), the
owner's choice and the provider's answer; a chosen claim unanswered after ``answer_due_at``
has lapsed (read from the timestamps, restora.store.market)."""

market_events = sa.Table(
    "market_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("listing_id", sa.ForeignKey("listings.id"), nullable=False, index=True),
    sa.Column("claim_id", sa.ForeignKey("claims.id"), nullable=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("action", sa.String, nullable=False),
    sa.Column("user_id", sa.ForeignKey("users.id"), nullable=True),
    sa.Column("org_id", sa.ForeignKey("organisations.id"), nullable=True),
    sa.Column("details", sa.JSON, nullable=True),
)
"""Every step of a listing, append-only (triggers of revision 0009)."""

notifications = sa.Table(
    "notifications",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("org_id", sa.ForeignKey("organisations.id"), nullable=False, index=True),
    sa.Column("listing_id", sa.ForeignKey("listings.id"), nullable=False),
    sa.Column("claim_id", sa.ForeignKey("claims.id"), nullable=True),
    sa.Column("product_id", sa.ForeignKey("products.id"), nullable=True),
    sa.Column("kind", sa.String, nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("details", sa.JSON, nullable=True),
)
"""An organisation's inbox, append-only (triggers of revision 0009)."""
