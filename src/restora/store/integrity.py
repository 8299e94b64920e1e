"""The enterprise integrity archive in the store: obligations, their derivation, scores.

``integrity_obligations`` holds what each company (an organisation) owed:

- **recorded** by a bureau (``source = "recorded"``, :func:`add_obligation`): restoration-fund
  accruals (amount and due date; :func:`settle_obligation` records the payment), periodic
  reports (土地复垦条例 第十七条: before 31 December each year), the rectification of a
  complaint, and listings on the abnormal list or the list of serious dishonesty;
- **derived** (``source = "derived"``, :func:`sync_obligations`, idempotent): each milestone of a
  project the company owns (due date; done by its first accepted sign-off), each offline alert
  of one of its mines that lasted longer than the rules' ``monitoring_gap_days`` (a monitoring
  gap), and each alarm-level alert of its mines to be rectified (resolved) within
  ``rectification_days``. A company's mines are those of the projects its organisation owns
  (the rule of :func:`restora.service.permissions.mine_monitoring_visible`).

``integrity_scores`` keeps every scoring (:func:`score_org`): the score, grade, measures, the
breakdown by rule code and the rules' version, so that a grade shown years later can be traced.
Scoring itself is pure (:func:`restora.monitoring.integrity.score`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from restora.errors import InputError
from restora.monitoring import integrity as I
from restora.store.audit import Change, log_change
from restora.store.engine import begin_write
from restora.store.monitoring_tables import integrity_obligations as OBLIGATIONS
from restora.store.monitoring_tables import integrity_scores as SCORES
from restora.store.monitoring_tables import monitoring_alerts as ALERTS
from restora.store.monitoring_tables import monitoring_milestones as MILESTONES
from restora.store.monitoring_tables import monitoring_signoffs as SIGNOFFS
from restora.store.platform_tables import organisations as ORGS
from restora.store.platform_tables import projects as PROJECTS


def _engine(store: Any) -> sa.Engine:
    return store if isinstance(store, sa.Engine) else store.engine  # type: ignore[no-any-return]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _date(value: Any, name: str) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise InputError(f"{value!r} is not a date (YYYY-MM-DD)", field=name) from None


def _as_utc(value: dt.datetime | None) -> dt.datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _org(conn: sa.Connection, org_id: int) -> Mapping[Any, Any]:
    row = conn.execute(sa.select(ORGS).where(ORGS.c.id == org_id)).mappings().first()
    if row is None:
        raise InputError(f"no organisation {org_id}", field="org_id")
    return row


# ------------------------------------------------------------------------------ obligations
def _obligation(row: Mapping[Any, Any]) -> I.Obligation:
    details = row["details"] or {}
    return I.Obligation(
        kind=row["kind"],
        due_on=row["due_on"],
        done_on=row["done_on"],
        amount=row["amount"],
        done_amount=row["done_amount"],
        listing=details.get("list"),
        id=row["id"],
        ref=row["ref"],
        description=row["description"],
    )


def _row_dict(row: Mapping[Any, Any], on: dt.date) -> dict[str, Any]:
    out = dict(row)
    for k in ("due_on", "done_on"):
        out[k] = out[k].isoformat() if out[k] else None
    out["recorded_at"] = _as_utc(out["recorded_at"])
    out["outcome"] = I.outcome(_obligation(row), on)
    return out


def _audit(row: Mapping[str, Any]) -> dict[str, Any]:
    return {k: (str(v) if isinstance(v, dt.datetime) else v) for k, v in row.items()}


def add_obligation(
    store: Any,
    *,
    org_id: int,
    kind: str,
    due_on: dt.date | str,
    description: str,
    amount: float | None = None,
    done_on: dt.date | str | None = None,
    done_amount: float | None = None,
    listing: str | None = None,
    mine_id: str | None = None,
    project_id: str | None = None,
    ref: str | None = None,
    recorded_by: str | None = None,
    details: Mapping[str, Any] | None = None,
    at: dt.datetime | None = None,
    change: Change | None = None,
) -> dict[str, Any]:
    """Record an obligation of a company (a bureau's record); its row, with its outcome today.

    Parameters
    ----------
    kind : str
        ``fund_accrual``, ``report``, ``rectification`` or ``listing``
        (:data:`restora.monitoring.integrity.RECORDED_KINDS`).
    due_on : date
        When it falls due (a listing: the day the company was listed).
    amount, done_amount : float, optional
        [CNY] due and paid (fund accruals: ``amount`` is required).
    done_on : date, optional
        When it was done (paid, submitted, rectified; a listing: lifted).
    listing : str, optional
        For a listing: ``abnormal`` or ``serious``.

    Raises
    ------
    InputError
        An unknown organisation or kind, a missing amount or list, a negative amount; the field
        is named.
    """
    if kind not in I.RECORDED_KINDS:
        raise InputError(
            f"{kind!r} is not a kind a bureau records (one of {', '.join(I.RECORDED_KINDS)}; "
            "milestones and monitoring gaps are derived by sync)",
            field="kind",
        )
    description = (description or "").strip()
    if not description:
        raise InputError("an obligation needs a description", field="description")
    due = _date(due_on, "due_on")
    if due is None:
        raise InputError("an obligation needs its due date", field="due_on")
    done = _date(done_on, "done_on")
    if kind == "fund_accrual" and amount is None:
        raise InputError("a fund accrual needs the amount due [CNY]", field="amount")
    for name, value in (("amount", amount), ("done_amount", done_amount)):
        if value is not None and not value >= 0:
            raise InputError(f"{value!r} is not an amount (CNY, 0 or more)", field=name)
    if kind == "listing" and listing not in I.LISTS:
        raise InputError(
            f"a listing names its list ({' or '.join(I.LISTS)}), not {listing!r}", field="list"
        )
    if kind != "listing" and listing is not None:
        raise InputError("only a listing names a list", field="list")
    now = at or _now()
    body = dict(details or {})
    if listing is not None:
        body["list"] = listing
    ob = I.Obligation(kind, due, done, amount, done_amount, listing)
    values = {
        "org_id": int(org_id),
        "kind": kind,
        "ref": ref,
        "mine_id": mine_id,
        "project_id": project_id,
        "description": description,
        "due_on": due,
        "amount": amount,
        "done_on": done,
        "done_amount": done_amount,
        "status": I.outcome(ob, now.date()),
        "source": "recorded",
        "recorded_at": now,
        "recorded_by": recorded_by,
        "details": body,
    }
    with begin_write(_engine(store)) as conn:
        _org(conn, int(org_id))
        new_id = conn.execute(
            OBLIGATIONS.insert().values(**values).returning(OBLIGATIONS.c.id)
        ).scalar_one()
        row = conn.execute(sa.select(OBLIGATIONS).where(OBLIGATIONS.c.id == new_id)).mappings()
        out = _row_dict(row.one(), now.date())
        if change is not None:
            log_change(
                conn,
                change,
                table="integrity_obligations",
                record_id=new_id,
                action="insert",
                after=_audit(out),
                mine_id=mine_id,
            )
        return out


def settle_obligation(
    store: Any,
    obligation_id: int,
    *,
    done_on: dt.date | str,
    done_amount: float | None = None,
    by: str | None = None,
    at: dt.datetime | None = None,
    change: Change | None = None,
) -> dict[str, Any]:
    """Record that a recorded obligation was done (paid, submitted, rectified, lifted).

    A fund accrual's payments add up (``done_amount`` is added to what was paid before). Derived
    obligations are settled by their source (a sign-off, an alert resolved), not here.
    """
    done = _date(done_on, "done_on")
    if done is None:
        raise InputError("the date it was done is required", field="done_on")
    if done_amount is not None and not done_amount >= 0:
        raise InputError(f"{done_amount!r} is not an amount (CNY, 0 or more)", field="done_amount")
    now = at or _now()
    with begin_write(_engine(store)) as conn:
        row = (
            conn.execute(sa.select(OBLIGATIONS).where(OBLIGATIONS.c.id == obligation_id))
            .mappings()
            .first()
        )
        if row is None:
            raise InputError(f"no obligation {obligation_id}", field="id")
        if row["source"] != "recorded":
            raise InputError(
                f"obligation {obligation_id} is derived ({row['kind']}): it is settled by its "
                "sign-off or alert, not by hand",
                field="id",
            )
        paid = row["done_amount"]
        if done_amount is not None:
            paid = (paid or 0.0) + done_amount
        details = dict(row["details"] or {})
        details.setdefault("settlements", []).append(
            {"done_on": done.isoformat(), "done_amount": done_amount, "by": by, "at": str(now)}
        )
        ob = _obligation({**row, "done_on": done, "done_amount": paid})
        conn.execute(
            OBLIGATIONS.update()
            .where(OBLIGATIONS.c.id == obligation_id)
            .values(
                done_on=done,
                done_amount=paid,
                status=I.outcome(ob, now.date()),
                details=details,
            )
        )
        fresh = conn.execute(sa.select(OBLIGATIONS).where(OBLIGATIONS.c.id == obligation_id))
        out = _row_dict(fresh.mappings().one(), now.date())
        if change is not None:
            log_change(
                conn,
                change,
                table="integrity_obligations",
                record_id=obligation_id,
                action="update",
                before=_audit(_row_dict(row, now.date())),
                after=_audit(out),
                mine_id=row["mine_id"],
            )
        return out


def obligations(
    store: Any,
    org_id: int | None = None,
    *,
    kind: str | None = None,
    on: dt.date | str | None = None,
) -> list[dict[str, Any]]:
    """A company's obligations (or everyone's), each with its ``outcome`` as of ``on``."""
    when = _date(on, "on") or _now().date()
    q = sa.select(OBLIGATIONS).order_by(OBLIGATIONS.c.due_on, OBLIGATIONS.c.id)
    if org_id is not None:
        q = q.where(OBLIGATIONS.c.org_id == org_id)
    if kind is not None:
        if kind not in I.KINDS:
            raise InputError(f"{kind!r} is not a kind of obligation", field="kind")
        q = q.where(OBLIGATIONS.c.kind == kind)
    with _engine(store).connect() as conn:
        return [_row_dict(r, when) for r in conn.execute(q).mappings()]


def obligation(
    store: Any, obligation_id: int, on: dt.date | str | None = None
) -> dict[str, Any] | None:
    """One obligation with its outcome as of ``on`` (default today), or None."""
    when = _date(on, "on") or _now().date()
    with _engine(store).connect() as conn:
        row = (
            conn.execute(sa.select(OBLIGATIONS).where(OBLIGATIONS.c.id == obligation_id))
            .mappings()
            .first()
        )
    return None if row is None else _row_dict(row, when)


# ------------------------------------------------------------------------------ derivation
def _org_mines(conn: sa.Connection, org_ids: Iterable[int] | None) -> dict[int, list[str]]:
    """Organisation → the mines of the live projects it owns."""
    q = sa.select(PROJECTS.c.owner_org_id, PROJECTS.c.spec).where(
        PROJECTS.c.deleted_at.is_(None), PROJECTS.c.owner_org_id.is_not(None)
    )
    if org_ids is not None:
        q = q.where(PROJECTS.c.owner_org_id.in_(list(org_ids)))
    out: dict[int, list[str]] = {}
    for r in conn.execute(q):
        mines = out.setdefault(int(r.owner_org_id), [])
        for m in (r.spec or {}).get("mines") or []:
            if str(m) not in mines:
                mines.append(str(m))
    return out


def _derive(
    conn: sa.Connection, on: dt.date, rules: I.IntegrityRules, org_ids: Sequence[int] | None
) -> dict[tuple[int, str, str], dict[str, Any]]:
    """Every derived obligation as of ``on``, keyed by (org, kind, ref)."""
    out: dict[tuple[int, str, str], dict[str, Any]] = {}
    # milestones of the projects each company owns; done by the first accepted sign-off
    q = (
        sa.select(
            MILESTONES,
            PROJECTS.c.owner_org_id,
            PROJECTS.c.name.label("project_name"),
            PROJECTS.c.spec,
        )
        .join(PROJECTS, PROJECTS.c.project_id == MILESTONES.c.project_id)
        .where(
            PROJECTS.c.deleted_at.is_(None),
            PROJECTS.c.owner_org_id.is_not(None),
            MILESTONES.c.due_on.is_not(None),
        )
    )
    if org_ids is not None:
        q = q.where(PROJECTS.c.owner_org_id.in_(list(org_ids)))
    milestones = list(conn.execute(q).mappings())
    signed: dict[str, tuple[dt.date, int]] = {}
    if milestones:
        rows = conn.execute(
            sa.select(SIGNOFFS.c.id, SIGNOFFS.c.milestone_id, SIGNOFFS.c.signed_at)
            .where(
                SIGNOFFS.c.milestone_id.in_([m["id"] for m in milestones]),
                SIGNOFFS.c.decision == "accepted",
            )
            .order_by(SIGNOFFS.c.signed_at, SIGNOFFS.c.id)
        )
        for s in rows:
            day = _as_utc(s.signed_at).date()  # type: ignore[union-attr]
            if day <= on:
                signed.setdefault(s.milestone_id, (day, s.id))
    for m in milestones:
        done = signed.get(m["id"])
        mines = (m["spec"] or {}).get("mines") or []
        out[(int(m["owner_org_id"]), "milestone", f"milestone:{m['id']}")] = {
            "project_id": m["project_id"],
            "mine_id": str(mines[0]) if mines else None,
            "description": f"{m['project_name']}: {m['name']}",
            "due_on": m["due_on"],
            "done_on": done[0] if done else None,
            "details": {
                "milestone_id": m["id"],
                "indicator": m["indicator"],
                "comparison": m["comparison"],
                "target": m["target"],
                "signoff_id": done[1] if done else None,
            },
        }
    # alerts of the companies' mines: long monitoring gaps, rectification of alarms
    by_org = _org_mines(conn, org_ids)
    owners: dict[str, list[int]] = {}
    for org, mines in by_org.items():
        for mine in mines:
            owners.setdefault(mine, []).append(org)
    if not owners:
        return out
    end_of_day = dt.datetime.combine(on, dt.time.max, tzinfo=dt.UTC)
    alerts = conn.execute(
        sa.select(ALERTS).where(
            ALERTS.c.mine_id.in_(list(owners)),
            ALERTS.c.raised_at <= end_of_day,
            sa.or_(ALERTS.c.kind == "offline", ALERTS.c.level == "alarm"),
        )
    ).mappings()
    gap = dt.timedelta(days=rules.monitoring_gap_days)
    for a in alerts:
        raised = _as_utc(a["raised_at"])
        assert raised is not None
        resolved = _as_utc(a["resolved_at"])
        if resolved is not None and resolved > end_of_day:
            resolved = None
        base = {
            "mine_id": a["mine_id"],
            "project_id": None,
            "details": {
                "alert_id": a["id"],
                "alert_kind": a["kind"],
                "level": a["level"],
                "sensor_id": a["sensor_id"],
                "indicator": a["indicator"],
                "raised_at": raised.isoformat(),
                "resolved_at": resolved.isoformat() if resolved else None,
            },
        }
        if a["kind"] == "offline":
            if ((resolved or end_of_day) - raised) <= gap:
                continue  # a short outage: no obligation missed
            item = {
                **base,
                "kind": "monitoring_gap",
                "description": f"{a['sensor_id'] or a['mine_id']}: monitoring data interrupted "
                f"more than {rules.monitoring_gap_days} d",
                "due_on": (raised + gap).date(),
                "done_on": resolved.date() if resolved else None,
            }
        else:
            item = {
                **base,
                "kind": "rectification",
                "description": f"{a['mine_id']}: rectify alarm {a['id']} ({a['message']})",
                "due_on": raised.date() + dt.timedelta(days=rules.rectification_days),
                "done_on": resolved.date() if resolved else None,
            }
        for org in owners[a["mine_id"]]:
            out[(org, str(item["kind"]), f"alert:{a['id']}")] = item
    return out


def sync_obligations(
    store: Any,
    on: dt.date | str | None = None,
    *,
    org_id: int | None = None,
    change: Change | None = None,
) -> dict[str, int]:
    """Derive the milestone, monitoring-gap and rectification obligations as of ``on``.

    Idempotent: a derived obligation is keyed by (organisation, kind, ``ref`` —
    ``milestone:<id>`` or ``alert:<id>``); it is inserted once, updated when its source changed
    (a sign-off, an alert resolved, a project given to another company) and deleted when its
    source no longer makes it one. Recorded obligations are never touched. One transaction.

    Returns
    -------
    dict
        ``created``, ``updated``, ``deleted``, ``unchanged`` counts.
    """
    when = _date(on, "on") or _now().date()
    rules = I.load_rules(when)
    now = _now()
    counts = {"created": 0, "updated": 0, "deleted": 0, "unchanged": 0}
    with begin_write(_engine(store)) as conn:
        if org_id is not None:
            _org(conn, org_id)
        derived = _derive(conn, when, rules, None if org_id is None else [org_id])
        q = sa.select(OBLIGATIONS).where(OBLIGATIONS.c.source == "derived")
        if org_id is not None:
            q = q.where(OBLIGATIONS.c.org_id == org_id)
        existing = {(r["org_id"], r["kind"], r["ref"]): r for r in conn.execute(q).mappings()}
        for key, item in derived.items():
            org, kind, ref = key
            ob = I.Obligation(kind, item["due_on"], item["done_on"])
            values = {
                "mine_id": item["mine_id"],
                "project_id": item["project_id"],
                "description": item["description"],
                "due_on": item["due_on"],
                "done_on": item["done_on"],
                "status": I.outcome(ob, when),
                "details": item["details"],
            }
            old = existing.pop(key, None)
            if old is None:
                conn.execute(
                    OBLIGATIONS.insert().values(
                        org_id=org,
                        kind=kind,
                        ref=ref,
                        source="derived",
                        recorded_at=now,
                        recorded_by=None,
                        amount=None,
                        done_amount=None,
                        **values,
                    )
                )
                counts["created"] += 1
            elif any(old[k] != v for k, v in values.items()):
                conn.execute(
                    OBLIGATIONS.update().where(OBLIGATIONS.c.id == old["id"]).values(**values)
                )
                counts["updated"] += 1
            else:
                counts["unchanged"] += 1
        if existing:
            stale = [r["id"] for r in existing.values()]
            conn.execute(OBLIGATIONS.delete().where(OBLIGATIONS.c.id.in_(stale)))
            counts["deleted"] += len(stale)
        if change is not None and (counts["created"] or counts["updated"] or counts["deleted"]):
            log_change(
                conn,
                change,
                table="integrity_obligations",
                record_id=f"sync:{org_id or 'all'}:{when.isoformat()}",
                action="update",
                after={k: v for k, v in counts.items()},
            )
    return counts


# ------------------------------------------------------------------------------ scores
def _score_dict(row: Mapping[Any, Any], org: Mapping[Any, Any] | None = None) -> dict[str, Any]:
    out = {
        "id": row["id"],
        "org_id": row["org_id"],
        "as_of": row["as_of"].isoformat(),
        "score": row["score"],
        "grade": row["grade"],
        "measures": row["measures"],
        "breakdown": row["breakdown"],
        "rules": row["rules"],
        "public": row["public"],
        "computed_at": _as_utc(row["computed_at"]),
    }
    if org is not None:
        out.update(name=org["name"], region_code=org["region_code"], org_kind=org["kind"])
    return out


def score_org(
    store: Any,
    org_id: int,
    on: dt.date | str | None = None,
    *,
    rules: I.IntegrityRules | None = None,
    sync: bool = True,
    at: dt.datetime | None = None,
    change: Change | None = None,
) -> dict[str, Any]:
    """Score a company on ``on`` (default today) and keep the scoring; the stored row.

    With ``sync`` (default) its derived obligations are brought up to date first. The rules are
    those in force on ``on`` for the organisation's region unless given.
    """
    when = _date(on, "on") or _now().date()
    if sync:
        sync_obligations(store, when, org_id=org_id, change=change)
    now = at or _now()
    with begin_write(_engine(store)) as conn:
        org = _org(conn, org_id)
        used = rules or I.load_rules(when, region=org["region_code"])
        rows = conn.execute(sa.select(OBLIGATIONS).where(OBLIGATIONS.c.org_id == org_id)).mappings()
        result = I.score([_obligation(r) for r in rows], when, used)
        full = result.as_dict()
        breakdown = {
            k: full[k]
            for k in (
                "breakdown",
                "items",
                "raw_score",
                "score_grade",
                "capped_by",
                "listings",
                "rule_codes",
                "grade_rank",
                "grade_label_zh",
                "grade_label_en",
                "colour",
            )
        }
        breakdown["tables"] = [dict(t) for t in used.tables]
        values = {
            "org_id": org_id,
            "as_of": when,
            "score": result.score,
            "grade": result.grade,
            "measures": full["measures"],
            "breakdown": breakdown,
            "rules": used.version,
            "public": result.public,
            "computed_at": now,
        }
        new_id = conn.execute(SCORES.insert().values(**values).returning(SCORES.c.id)).scalar_one()
        if change is not None:
            log_change(
                conn,
                change,
                table="integrity_scores",
                record_id=new_id,
                action="insert",
                after={
                    "org_id": org_id,
                    "as_of": when.isoformat(),
                    "score": result.score,
                    "grade": result.grade,
                    "rules": used.version,
                },
            )
    return _score_dict({"id": new_id, **values}, org)


def scores(
    store: Any,
    *,
    org_id: int | None = None,
    public_only: bool = False,
    latest: bool = True,
) -> list[dict[str, Any]]:
    """Stored scorings with their organisation's name: the latest per organisation (default),
    or every one (``latest=False``), newest first; ``public_only``: those whose grade is
    disclosed."""
    q = sa.select(SCORES, ORGS.c.name, ORGS.c.region_code, ORGS.c.kind).join(
        ORGS, ORGS.c.id == SCORES.c.org_id
    )
    if org_id is not None:
        q = q.where(SCORES.c.org_id == org_id)
    if public_only:
        q = q.where(SCORES.c.public.is_(True))
    q = q.order_by(SCORES.c.as_of.desc(), SCORES.c.id.desc())
    out: list[dict[str, Any]] = []
    seen: set[int] = set()
    with _engine(store).connect() as conn:
        for r in conn.execute(q).mappings():
            if latest and r["org_id"] in seen:
                continue
            seen.add(r["org_id"])
            out.append(_score_dict(r, r))
    if latest:
        out.sort(key=lambda s: (s["breakdown"].get("grade_rank", 0), s["name"]))
    return out


def public_grade(row: Mapping[Any, Any]) -> dict[str, Any]:
    """What the public sees of a scoring: the organisation's name and region, the grade, its
    labels and colour, the date, the lists in force and the disclosed measures — never the
    score, its breakdown or the obligations (docs/monitoring.md, "Integrity records")."""
    b = row["breakdown"] or {}
    return {
        "name": row["name"],
        "region_code": row["region_code"],
        "grade": row["grade"],
        "label_zh": b.get("grade_label_zh"),
        "label_en": b.get("grade_label_en"),
        "colour": b.get("colour"),
        "as_of": row["as_of"],
        "listed": list(b.get("listings") or []),
        "measures": [
            {"code": m["code"], "kind": m["kind"], "name_zh": m["name_zh"], "name_en": m["name_en"]}
            for m in row["measures"] or []
            if m.get("public")
        ],
    }


def record(store: Any, org_id: int, on: dt.date | str | None = None) -> dict[str, Any]:
    """A company's integrity record: the organisation, its obligations with their outcome as of
    ``on``, a count per kind and outcome, its latest scoring and the history of its grades."""
    when = _date(on, "on") or _now().date()
    with _engine(store).connect() as conn:
        org = dict(_org(conn, org_id))
    obs = obligations(store, org_id, on=when)
    summary: dict[str, dict[str, int]] = {}
    for o in obs:
        by = summary.setdefault(o["kind"], {})
        by[o["outcome"]] = by.get(o["outcome"], 0) + 1
    history = scores(store, org_id=org_id, latest=False)
    return {
        "organisation": {
            "id": org["id"],
            "name": org["name"],
            "kind": org["kind"],
            "region_code": org["region_code"],
        },
        "on": when.isoformat(),
        "obligations": obs,
        "summary": summary,
        "latest": history[0] if history else None,
        "history": [
            {k: s[k] for k in ("id", "as_of", "score", "grade", "rules", "computed_at")}
            for s in history
        ],
    }


def org_regions(store: Any, org_id: int) -> list[str]:
    """A company's regions: its organisation's region code and those of the live projects it
    owns (for region-scoped reads); empty for an unknown organisation."""
    with _engine(store).connect() as conn:
        own = conn.execute(sa.select(ORGS.c.region_code).where(ORGS.c.id == org_id)).scalar()
        projects = conn.execute(
            sa.select(PROJECTS.c.region_code).where(
                PROJECTS.c.owner_org_id == org_id, PROJECTS.c.deleted_at.is_(None)
            )
        ).scalars()
        found = [own, *projects]
    return sorted({str(r) for r in found if r})
